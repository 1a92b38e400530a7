#!/bin/bash
# svrelayd restarted in the middle of an episode (SIGTERM, then SIGKILL, and
# SIGKILL again between the FATAL event and its message): each FATAL is
# sent once, and the recovery after it still arrives, in its thread.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/policy_lib.sh"

prog() {	# prog NAME: fails to start until $T/fixed_NAME exists
	cat <<PROG
[program:$1]
command=/bin/sh -c 'if [ -e $T/fixed_$1 ]; then exec sleep 3600; fi; sleep 0.3; exit 1'
startsecs=3
startretries=2
autostart=false
autorestart=true
PROG
}
start_fake
policy_start api 'level = "problems"; settle_ms = 2000;' "
$(prog p1)

$(prog p2)

$(prog p3)
"

LOGN=1
restart_relayd() {	# restart_relayd SIGNAL
	kill -"$1" "$RELAYD_PID"
	wait "$RELAYD_PID" 2>/dev/null
	LOGN=$((LOGN + 1))
	start_relayd "$T/svrelay.conf" "$T/svrelayd$LOGN.log" || bail "svrelayd did not restart"
}
fatal_posts() {	# fatal_posts NAME: messages saying NAME is FATAL
	posts "e['path'] == '/api/chat.postMessage' and 'grp:$1 FATAL' in e['body'].replace('$1:$1', 'grp:$1')"
}
one_fatal() { [ "$(fatal_posts "$1")" -ge 1 ]; }
recovered() {
	has_posts 1 "'$1:$1 RUNNING on test-host — recovered' in e['body']"
}
# round NAME SIGNAL WHEN: kill when NAME's first BACKOFF ("backoff") or
# its FATAL ("fatal") is in events.jsonl, start again, then fix NAME.
round() {
	local name=$1 sig=$2 when=$3 ev
	sv "$T/sd.conf" start "$name" >/dev/null 2>&1 &
	[ "$when" = backoff ] && ev=PROCESS_STATE_BACKOFF || ev=PROCESS_STATE_FATAL
	wait_for 20 has_event "$ev" "$name" || bail "$name: no $ev"
	restart_relayd "$sig"
	check "$name ($sig at its $when): the FATAL message came" wait_for 30 one_fatal "$name"
	touch "$T/fixed_$name"
	sv "$T/sd.conf" start "$name" >/dev/null 2>&1
	check "$name: the recovery came" wait_for 20 recovered "$name"
	check "$name: the FATAL was sent once" test "$(fatal_posts "$name")" -eq 1
	check "$name: the recovery is in the FATAL message's thread" "$PYTHON" - "$FAKE_LOG" "$name" <<'PY'
import json, sys
log, name = sys.argv[1:]
r = [json.loads(l) for l in open(log)]
posts = [(e, json.loads(e["body"])) for e in r
         if e["path"] == "/api/chat.postMessage" and e["answer"] == 200]
fatal = [e for e, b in posts if b["text"].startswith(name + ":" + name + " FATAL")]
rec = [b for e, b in posts if b["text"].startswith(name + ":" + name + " RUNNING")]
sys.exit(not (fatal and rec and
              rec[0].get("thread_ts") == json.loads(fatal[0]["reply"])["ts"]))
PY
}
round p1 TERM backoff
round p2 KILL backoff
round p3 KILL fatal
sleep 2		# time enough for a late duplicate: none may come
check "three messages and three recoveries in all" test "$(posts)" -eq 6
texts | while read -r l; do diag "  $l"; done
check "the restarts fed the policy what it had missed" \
    grep -q "fed again" "$T"/svrelayd[2-4].log
done_testing

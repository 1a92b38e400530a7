#!/bin/bash
# What a message says, in both modes: host, group:process, state, how it
# got there (the episode's story), pid; at level problems an episode that
# ends in FATAL and one whose process exited unexpectedly are sent, an
# expected exit inside the first is not a message of its own.  Then
# svrelayctl test prints Slack's answer.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"

events() {	# events SUFFIX: the processes are api:api_00SUFFIX, jobs:w_1SUFFIX
	printf '%s\n' \
	    "PROCESS_STATE_RUNNING processname:api_00$1 groupname:api from_state:STARTING pid:11" \
	    "PROCESS_STATE_EXITED processname:api_00$1 groupname:api from_state:RUNNING expected:1 pid:11" \
	    "PROCESS_STATE_BACKOFF processname:api_00$1 groupname:api from_state:STARTING tries:1" \
	    "PROCESS_STATE_FATAL processname:api_00$1 groupname:api from_state:BACKOFF" \
	    "PROCESS_STATE_EXITED processname:w_1$1 groupname:jobs from_state:RUNNING expected:0 pid:4321"
}

# check_content MODE PATHPREFIX SUFFIX
check_content() {
	local mode=$1 prefix=$2 sfx=$3
	check "$mode: two messages" wait_for 15 has_requests 2 "e['path'].startswith('$prefix')"
	sleep 2
	check "$mode: one for the FATAL episode, one for the unexpected exit" \
	    test "$(requests "e['path'].startswith('$prefix')")" -eq 2
	check "$mode: what the messages say" "$PYTHON" - "$FAKE_LOG" "$prefix" "$mode" "$sfx" <<'PY'
import json, sys
log, prefix, mode, sfx = sys.argv[1:]
r = [json.loads(l) for l in open(log) if json.loads(l)["path"].startswith(prefix)]
msgs = [json.loads(e["body"]) for e in r]
fatal = [m for m in msgs if "FATAL" in m["text"]][0]
exited = [m for m in msgs if "jobs:w_1" in m["text"]][0]
def has(m, *words, blob_only=()):
    blob = json.dumps(m, ensure_ascii=False)
    bad = [w for w in words if w not in m["text"] or w not in blob]
    bad += [w for w in blob_only if w not in blob]
    if bad:
        print("# missing %s in %s" % (bad, m["text"]), file=sys.stderr)
    return not bad
good = has(fatal, "test-host", "api:api_00" + sfx, "FATAL",
           "RUNNING → EXITED → BACKOFF → FATAL")
good &= has(exited, "test-host", "jobs:w_1" + sfx, "EXITED",
            "RUNNING → EXITED", "exited unexpectedly",
            blob_only=["pid 4321", "(unexpected)"])
good &= fatal["attachments"][0]["color"] == "#d00000"
good &= fatal["attachments"][0]["fallback"] == fatal["text"]
if mode == "api":
    good &= fatal.get("channel") == "#ops"
    good &= all(e["headers"].get("Authorization", "").startswith("Bearer ")
                for e in r)
else:
    good &= "channel" not in fatal
    good &= all("Authorization" not in e["headers"] for e in r)
sys.exit(not good)
PY
}

start_fake
slack_conf "$T/svrelay.conf" webhook
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
events "" | send_events "$(relayd_sock)" || bail "could not send events"
check_content webhook /services/ ""

"$SVRELAYCTL" -c "$T/svrelay.conf" test >"$T/ctl-test.out" 2>&1
check "svrelayctl test (webhook) prints Slack's answer" \
    grep -q '"http_status": *200' "$T/ctl-test.out"
check "svrelayctl test shows no secret" sh -c "! grep -q 'B000/XXXX' '$T/ctl-test.out'"

# The Web API: same svrelayd, reloaded.
slack_conf "$T/svrelay.conf" api
kill -HUP "$RELAYD_PID"
wait_for 10 grep -q "configuration reloaded" "$T/svrelayd.log"
events _b | SERIAL_BASE=100 send_events "$(relayd_sock)" || bail "could not send events"
check_content api /api/chat.postMessage _b

"$SVRELAYCTL" -c "$T/svrelay.conf" test >"$T/ctl-test.out" 2>&1
check "svrelayctl test (api) prints Slack's answer" \
    grep -q '"ok": *true' "$T/ctl-test.out"
check "the sent line keeps Slack's ts" test \
    "$(json_lines "$T/spool/notifications.jsonl" "e.get('ts')" | grep -c '^1700000000')" -ge 2
check "the token is in no log or spool file" no_secrets
done_testing

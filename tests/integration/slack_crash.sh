#!/bin/bash
# SIGKILL while a post is in flight: after the restart everything queued is
# delivered, with at most one duplicate (the one in flight).
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"

start_fake
SLACK_TIMEOUT_MS=60000 slack_conf "$T/svrelay.conf" api
# The first post is answered, the second hangs: svrelayd dies meanwhile.
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
echo "PROCESS_STATE_FATAL processname:p1 groupname:grp from_state:BACKOFF" |
    send_events "$(relayd_sock)" || bail "could not send events"
wait_for 10 has_requests 1 "e['answer'] == 200" || bail "first post not delivered"
fake_ctl '{"fault":"hang","count":1,"hang_seconds":30}'
printf '%s\n' "PROCESS_STATE_FATAL processname:p2 groupname:grp from_state:BACKOFF" \
    "PROCESS_STATE_FATAL processname:p3 groupname:grp from_state:BACKOFF" \
    "PROCESS_STATE_EXITED processname:p4 groupname:grp from_state:RUNNING expected:0 pid:99" |
    SERIAL_BASE=10 send_events "$(relayd_sock)" || bail "could not send events"
check "the second post is in flight" wait_for 10 has_requests 1 "e['answer'] == 'hang'"
# p4's unexpected exit is a message once its episode settles (1 s).
queued4() { [ "$(json_lines "$T/spool/notifications.jsonl" "e['state']" | grep -c queued)" -eq 4 ]; }
wait_for 10 queued4
kill -KILL "$RELAYD_PID"
wait "$RELAYD_PID" 2>/dev/null
check "notifications.jsonl holds them as queued" test \
    "$(json_lines "$T/spool/notifications.jsonl" "e['state']" | grep -c queued)" -eq 4

start_relayd "$T/svrelay.conf" "$T/svrelayd2.log" || bail "svrelayd did not restart"
check "all four delivered after the restart" \
    wait_for 30 has_requests 4 "e['answer'] == 200"
sleep 2
check "each process posted, at most one duplicate in all" "$PYTHON" - "$FAKE_LOG" <<'PY'
import json, sys, collections
r = [json.loads(l) for l in open(sys.argv[1])]
# Every request Slack received counts: a hung one may have been posted.
c = collections.Counter(json.loads(e["body"])["text"] for e in r)
ok = collections.Counter(json.loads(e["body"])["text"] for e in r
                         if e["answer"] == 200)
procs = ["grp:p1", "grp:p2", "grp:p3", "grp:p4"]
each = all(sum(v for k, v in ok.items() if p + " " in k) == 1 for p in procs)
dups = sum(c.values()) - len(c)
print("# requests per text:", dict(c.most_common()), file=sys.stderr)
sys.exit(not (each and len(c) == 4 and dups <= 1))
PY
check "the restart said what it re-queued" grep -q "still to send" "$T/svrelayd2.log"
check "the token is in no log or spool file" no_secrets
done_testing

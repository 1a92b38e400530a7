#!/bin/bash
# Slack takes the request and never answers: svrelayd times out
# (slack.timeout_ms) and tries again.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"

start_fake
slack_conf "$T/svrelay.conf" webhook
fake_ctl '{"fault":"hang","count":1}'
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
echo "PROCESS_STATE_FATAL processname:w groupname:jobs from_state:BACKOFF" |
    send_events "$(relayd_sock)" || bail "could not send the event"

check "delivered after the hang" wait_for 30 has_requests 1 "e['answer'] == 200"
sleep 1
check "two requests: the hung one and the retry" test "$(requests)" -eq 2
check "the retry came after the 2 s timeout" "$PYTHON" - "$FAKE_LOG" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
sys.exit(not (r[0]["answer"] == "hang" and r[1]["time"] - r[0]["time"] >= 2.0))
PY
check "the timeout is in the log" grep -qi "timed out\|timeout" "$T/svrelayd.log"

# A closed connection and a garbage answer are retried too.
fake_ctl '[{"fault":"close","count":1},{"fault":"garbage","count":1}]'
echo "PROCESS_STATE_FATAL processname:w2 groupname:jobs from_state:BACKOFF" |
    SERIAL_BASE=10 send_events "$(relayd_sock)" || bail "could not send the event"
check "delivered after a close and a garbage answer" \
    wait_for 30 has_requests 2 "e['answer'] == 200"
sleep 1
check "w2 tried three times, posted once" test "$(requests "'jobs:w2' in e['body']")" -eq 3
check "the webhook's secret is in no log or spool file" no_secrets
done_testing

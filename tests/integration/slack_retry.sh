#!/bin/bash
# 500s for 25 s, then Slack recovers: the message is delivered exactly once,
# after retries with backoff.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"

start_fake
slack_conf "$T/svrelay.conf" webhook
fake_ctl '{"fault":"status","status":500,"body":"rollup_error","seconds":25}'
fault_start=$(date +%s.%N)
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
echo "PROCESS_STATE_FATAL processname:api_00 groupname:api from_state:BACKOFF" |
    send_events "$(relayd_sock)" || bail "could not send the event"

check "delivered after the 500s end" \
    wait_for 60 has_requests 1 "e['answer'] == 200"
sleep 3
check "retried while Slack answered 500" \
    test "$(requests "e['answer'] == 500")" -ge 3
check "delivered exactly once" test "$(requests "e['answer'] == 200")" -eq 1
check "no request after the delivery" test "$(requests)" -eq \
    "$(( $(requests "e['answer'] == 500") + 1 ))"
ok_time=$(json_lines "$FAKE_LOG" "e['time'] if e['answer'] == 200 else None")
check "the delivery came after the 25 s of 500s" \
    "$PYTHON" -c "import sys; sys.exit(not float('$ok_time') >= float('$fault_start') + 25)"
# Backoff: never two tries closer than retry_min_ms.
check "tries are at least retry_min_ms apart" "$PYTHON" - "$FAKE_LOG" <<'PY'
import json, sys
t = [json.loads(l)["time"] for l in open(sys.argv[1])]
sys.exit(not all(b - a >= 0.45 for a, b in zip(t, t[1:])))
PY
check "notifications.jsonl: queued then sent" \
    test "$(json_lines "$T/spool/notifications.jsonl" "e['state']" | tr '\n' ' ')" = "queued sent "
check "status counts the retries" test "$(delivery_field \
    "d['sent'] == 1 and d['retries'] >= 3 and d['queued'] == 0")" = True
check "the webhook's secret is in no log or spool file" no_secrets
done_testing

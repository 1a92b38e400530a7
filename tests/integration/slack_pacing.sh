#!/bin/bash
# 100 messages queued at once: posts to the channel never exceed
# burst + rate·t (rate_per_minute = 60, burst = 3), from the fake's times.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"

start_fake
slack_conf "$T/svrelay.conf" webhook "rate_per_minute = 60; burst = 3;"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
fatal_events 100 | send_events "$(relayd_sock)" || bail "could not send events"
check "the rest wait in the queue" test "$(delivery_field "d['queued'] >= 80")" = True
check "posting goes on" wait_for 30 has_requests 15
check "never more than burst + rate·t" "$PYTHON" - "$FAKE_LOG" <<'PY'
import json, sys
t = sorted(json.loads(l)["time"] for l in open(sys.argv[1]))
burst, rate = 3, 60 / 60.0
worst = 0
for i in range(len(t)):
    for j in range(i, len(t)):
        n = j - i + 1
        allowed = burst + rate * (t[j] - t[i]) + 0.05
        worst = max(worst, n - allowed)
print("# %d posts in %.1f s, worst excess %.2f" % (len(t), t[-1] - t[0], worst),
      file=sys.stderr)
sys.exit(not worst <= 0)
PY
check "connections are reused" test \
    "$(json_lines "$FAKE_LOG" "e['client_port']" | sort -u | wc -l)" -lt \
    "$(requests)"
check "all answered ok" test "$(requests "e['answer'] != 200")" -eq 0
check "outbox holds all 100" test \
    "$(json_lines "$T/spool/notifications.jsonl" "e['state']" | grep -c queued)" -eq 100
done_testing

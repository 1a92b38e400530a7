#!/bin/bash
# The fake Slack misbehaves: a post hangs (no answer until svrelayd's
# timeout), connections are dropped unanswered, answers are garbage (200
# with an HTML body), and 500s.  Meanwhile svrelayd keeps acknowledging
# a stream of events; afterwards every queued notification is delivered
# exactly once (none of these faults posts anything), none is dead.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/fault_lib.sh"

start_fake
SLACK_TIMEOUT_MS=10000 slack_conf "$T/svrelay.conf" webhook \
    "rate_per_minute = 6000; burst = 100;"
set_notify "$T/svrelay.conf" "settle_ms = 300; episode_max_ms = 5000; group_window_ms = 100; group_max_ms = 500;"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
SOCK=$T/svrelay.sock
NOTIF=$T/spool/notifications.jsonl

# 1. A post that hangs: events are acknowledged all the while.
fake_ctl '{"fault":"hang","count":1,"hang_seconds":60}'
echo "PROCESS_STATE_FATAL processname:p0 groupname:grp from_state:BACKOFF" |
    SERIAL_BASE=1 send_events "$SOCK" || bail "could not send events"
check "the first post hangs" wait_for 10 has_requests 1 "e['answer'] == 'hang'"
$FCHECK stream "$SOCK" hang 3000 "$T/acked" 60 2>>"$T/client.err"
check "3000 events acknowledged while the post hangs" test $? -eq 0
check "... and it was still hanging then (nothing delivered yet)" \
	test "$(requests "e['answer'] == 200")" -eq 0
status_ok() { "$SVRELAYCTL" -c "$T/svrelay.conf" status >/dev/null; }
check "svrelayctl status answers meanwhile" status_ok
check "the hung post is retried after the timeout and delivered" \
	wait_for 30 has_requests 1 "e['answer'] == 200"

# 2. Dropped connections, garbage, 500s, while events keep coming.
fake_ctl '[{"fault":"close","count":4},{"fault":"garbage","count":4},
  {"fault":"status","status":500,"body":"rollup_error","count":4}]'
for i in $(seq 10); do
	echo "PROCESS_STATE_FATAL processname:q$i groupname:grp from_state:BACKOFF"
done | SERIAL_BASE=100 send_events "$SOCK" || bail "could not send events"
$FCHECK stream "$SOCK" faults 3000 "$T/acked" 60 2>>"$T/client.err"
check "3000 more acknowledged while posts fail" test $? -eq 0
faulted() { [ "$(requests "e['answer'] in ('close', 500) or 'html' in e.get('reply', '')")" -ge 12 ]; }
check "every scripted fault was met" wait_for 60 faulted
delivered() { $FCHECK notif "$T/spool" "$FAKE_LOG" 0 > "$T/notif.out"; }
check "every queued notification delivered exactly once" wait_for 60 delivered
while IFS= read -r l; do diag "${l#\# }"; done < "$T/notif.out"
check "each queued notification has a sent line" "$PYTHON" - "$NOTIF" <<'PY'
import json, sys
st = {}
for l in open(sys.argv[1]):
    e = json.loads(l)
    st.setdefault(e["id"], set()).add(e["state"])
bad = [i for i, s in st.items() if "sent" not in s]
print("# %d notifications, %d not sent" % (len(st), len(bad)))
sys.exit(1 if bad or len(st) < 2 else 0)
PY
check "no dead letters" test ! -s "$T/spool/dead.jsonl"
check "every acknowledged event is stored exactly once" stored_once "$T/acked"
check "svrelayd is still running" kill -0 "$RELAYD_PID"
check "the webhook's secret is in no log or spool file" no_secrets
check "svrelayd exits 0 on SIGTERM" stop_relayd
done_testing

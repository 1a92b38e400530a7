#!/bin/bash
# With the Alertmanager down, an alert waits in the outbox (its lines say
# sink "alertmanager"), svrelayd retries with backoff, and the alert goes
# out once Alertmanager is back.  A restart of svrelayd in between loses
# nothing: the queued entry and the firing alert (alerts.json) come back.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/fleet_lib.sh"

[ -x "$ALERTMANAGER" ] || bail "$ALERTMANAGER is missing: apt-get install prometheus-alertmanager"

start_fake
W1=$(free_port); C1=$(free_port)
am_conf "$T/am1.yml" "$FAKE_URL$WEBHOOK_PATH"
am_conf_svrelay "$T/svrelay.conf" web-1 "\"http://127.0.0.1:$W1/\""
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"

# No Alertmanager yet: a FATAL comes.
SERIAL_BASE=1 send_events "$T/svrelay.sock" <<EV
PROCESS_STATE_STARTING processname:api groupname:api from_state:STOPPED tries:0
PROCESS_STATE_BACKOFF processname:api groupname:api from_state:STARTING tries:1
PROCESS_STATE_FATAL processname:api groupname:api from_state:BACKOFF
EV
queued() {
	json_lines "$T/spool/notifications.jsonl" "1 if e['state'] == '$1' and e.get('sink') == 'alertmanager' else None" | wc -l
}
check "the alert is queued in the outbox for the alertmanager sink" \
    wait_for 10 eval '[ "$(queued queued)" -ge 1 ]'
check "svrelayd retries (Connection refused)" wait_for 10 eval \
    '[ "$(delivery_field "d[\"sinks\"][\"alertmanager\"][\"failed\"]")" -ge 2 ]'
check "it waits: queued, not sent" test "$(queued sent)" -eq 0
check "status: one alert firing" \
    test "$(delivery_field "d['sinks']['alertmanager']['firing']")" -eq 1

# svrelayd restarts while Alertmanager is still away.
stop_relayd
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start again"
check "after a restart it is queued again" \
    test "$(delivery_field "d['sinks']['alertmanager']['queued']")" -ge 1
check "and still firing (alerts.json)" \
    test "$(delivery_field "d['sinks']['alertmanager']['firing']")" -eq 1

t0=$(date +%s%N)
am_start am1 "$W1" "$C1" || bail "Alertmanager did not start"
check "the alert reaches Alertmanager once it is back" wait_for 20 eval \
    '[ "$(am_alerts "$W1" "a[\"labels\"][\"alertname\"] + \" \" + a[\"labels\"][\"host\"]")" = "SupervisorProcessFatal test-host" ]'
diag "in Alertmanager $(( ($(date +%s%N) - t0) / 1000000 )) ms after it answered"
check "the outbox records it sent" wait_for 10 eval '[ "$(queued sent)" -ge 1 ]'
check "no dead letter" test ! -s "$T/spool/dead.jsonl"
state=$(am_alerts "$W1" "a['status']['state']")
check "active in Alertmanager" test "$state" = active

# Resent while firing: Alertmanager's updatedAt moves.
u1=$(am_alerts "$W1" "a['updatedAt']")
check "sent again while it fires (resend_ms 3 s)" wait_for 10 eval \
    '[ "$(am_alerts "$W1" "a[\"updatedAt\"]")" != "$u1" ]'

# Recovery: resolved in Alertmanager.
SERIAL_BASE=10 send_events "$T/svrelay.sock" <<EV
PROCESS_STATE_STARTING processname:api groupname:api from_state:FATAL tries:0
PROCESS_STATE_RUNNING processname:api groupname:api from_state:STARTING pid:4242
EV
check "the recovery resolves it (Alertmanager lists no alert)" \
    wait_for 20 eval '[ -z "$(am_alerts "$W1" "a[\"labels\"][\"alertname\"]")" ]'
check "nothing fires" test "$(delivery_field "d['sinks']['alertmanager']['firing']")" -eq 0
done_testing

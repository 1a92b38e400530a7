#!/bin/bash
# A fleet: the same program breaks on two hosts, each with its own
# supervisord and svrelayd, both feeding two clustered Alertmanagers.
# Slack (the fake) gets one grouped message that names both hosts, not
# two; when the programs recover, one resolution.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/fleet_lib.sh"

[ -x "$ALERTMANAGER" ] || bail "$ALERTMANAGER is missing: apt-get install prometheus-alertmanager"

start_fake
W1=$(free_port); C1=$(free_port); W2=$(free_port); C2=$(free_port)
am_conf "$T/am1.yml" "$FAKE_URL$WEBHOOK_PATH"
am_conf "$T/am2.yml" "$FAKE_URL$WEBHOOK_PATH"
am_start am1 "$W1" "$C1" || bail "Alertmanager 1 did not start"
am_start am2 "$W2" "$C2" "$C1" || bail "Alertmanager 2 did not start"
URLS="\"http://127.0.0.1:$W1/\", \"http://127.0.0.1:$W2\""

# The program fails until $T/fixed exists; it is started by hand.
PROG="
[program:worker]
command=/bin/sh -c 'if [ -e $T/fixed ]; then exec sleep 3600; fi; echo worker: cannot open queue >&2; exit 3'
autostart=false
startsecs=1
startretries=1
"
host_up() {	# host_up HOST: svrelayd and supervisord in $T
	am_conf_svrelay "$T/svrelay.conf" "$1" "$URLS"
	start_relayd "$T/svrelay.conf" || return 1
	write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf" "$PROG"
	start_supervisord "$T/sd.conf"
}
host_up web-1 || bail "web-1 did not start"
in_subdir b host_up web-2 || bail "web-2 did not start"

# Slack's messages from Alertmanager: title holds [FIRING:n] or [RESOLVED].
AM_POSTS="e['answer'] == 200 and e['path'] == '$WEBHOOK_PATH'"
am_texts() {	# am_texts WORD: the texts of the messages whose title has WORD
	json_lines "$FAKE_LOG" "(lambda a: a['title'] + ' | ' + a['text'].replace('\n', ' '))(json.loads(e['body'])['attachments'][0]) if ($AM_POSTS) and '$1' in json.loads(e['body'])['attachments'][0]['title'] else None"
}
n_msgs() { am_texts "$1" | wc -l; }
has_msgs() { [ "$(n_msgs "$1")" -ge "$2" ]; }

# Let the cluster settle before anything fires (Alertmanager holds its
# notifications until it has).
sleep 3
t0=$(date +%s.%N)
sv "$T/sd.conf" start worker >/dev/null 2>&1 &
sv "$T/b/sd.conf" start worker >/dev/null 2>&1 &
check "web-1: worker is FATAL" wait_for 30 eval 'sv "$T/sd.conf" status worker | grep -q FATAL'
check "web-2: worker is FATAL" wait_for 30 eval 'sv "$T/b/sd.conf" status worker | grep -q FATAL'
check "both Alertmanagers hold both hosts' alerts" wait_for 20 eval \
    '[ "$(am_alerts "$W1" "a[\"labels\"][\"host\"]" | sort -u | wc -l)" -eq 2 ] &&
     [ "$(am_alerts "$W2" "a[\"labels\"][\"host\"]" | sort -u | wc -l)" -eq 2 ]'
labels=$(am_alerts "$W1" "sorted(a['labels'].items())" | head -n 1)
diag "labels: $labels"
check "labels: alertname SupervisorProcessFatal" grep -q "'alertname', 'SupervisorProcessFatal'" <<<"$labels"
check "labels: group, process, server, severity" \
    grep -qE "'group', 'worker'.*'process', 'worker'.*'server', 'sv-test'.*'severity', 'critical'" <<<"$labels"
ann=$(am_alerts "$W1" "a['annotations']" | head -n 1)
check "annotations: the stderr tail" grep -q "cannot open queue" <<<"$ann"
check "annotations: the exit status" grep -q "exit_status" <<<"$ann"

check "Slack got a FIRING message" wait_for 40 has_msgs FIRING 1
t1=$(date +%s.%N)
diag "first message $(echo "$t1 - $t0" | bc 2>/dev/null || echo '?') s after the start"
sleep 8		# the other Alertmanager's turn (peer timeout 3 s) and more
firing=$(am_texts FIRING)
diag "firing: $firing"
check "exactly one FIRING message, not one per host or per Alertmanager" \
    test "$(n_msgs FIRING)" -eq 1
check "it names web-1" grep -q "host=web-1" <<<"$firing"
check "and web-2" grep -q "host=web-2" <<<"$firing"
check "it is grouped: [FIRING:2]" grep -q "FIRING:2" <<<"$firing"

# Both svrelayds: one outbox entry per URL, each line says its sink.
check "web-1's outbox: sent to both URLs, as the alertmanager sink" test \
    "$(json_lines "$T/spool/notifications.jsonl" "1 if e['state'] == 'sent' and e.get('sink') == 'alertmanager' else None" | wc -l)" -ge 2
check "alerts.json holds the firing alert" \
    grep -q SupervisorProcessFatal "$T/b/spool/alerts.json"

# Recovery on both hosts: one resolution.
touch "$T/fixed"
sv "$T/sd.conf" start worker >/dev/null 2>&1 &
sv "$T/b/sd.conf" start worker >/dev/null 2>&1 &
check "Slack got the RESOLVED message" wait_for 40 has_msgs RESOLVED 1
sleep 8
resolved=$(am_texts RESOLVED)
diag "resolved: $resolved"
check "exactly one RESOLVED message" test "$(n_msgs RESOLVED)" -eq 1
check "it names both hosts" eval 'grep -q "host=web-1" <<<"$resolved" && grep -q "host=web-2" <<<"$resolved"'
check "nothing fires any more (alerts.json)" eval \
    '! grep -q SupervisorProcessFatal "$T/spool/alerts.json"'
check "no second FIRING message" test "$(n_msgs FIRING)" -eq 1
check "and it is grouped too: [RESOLVED:2]" grep -q "RESOLVED:2" <<<"$resolved"
done_testing

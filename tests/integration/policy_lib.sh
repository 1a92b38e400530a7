# Shared by the policy_*.sh scripts (after lib.sh and slack_lib.sh): the
# real supervisord with svrelay-listener, svrelayd under the notification
# policy, the fake Slack, and what Slack was sent.

# policy_start MODE NOTIFY PROGRAMS: svrelayd (slack MODE against the fake
# Slack, which must be started; notify = { NOTIFY }) and supervisord with
# PROGRAMS ([program:x] sections).
policy_start() {
	SLACK_NOTIFY=$2 slack_conf "$T/svrelay.conf" "$1"
	start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
	write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf" "$3"
	start_supervisord "$T/sd.conf" || bail "supervisord did not start"
}

# A message: a post Slack took (not a chat.update).
POSTS="e['answer'] == 200 and not e['path'].endswith('/chat.update')"
posts() {	# posts [EXPR]: how many messages (matching EXPR over e)
	requests "$POSTS${1:+ and ($1)}"
}
has_posts() {	# has_posts N [EXPR]: at least N (for wait_for)
	[ "$(posts "${2:-}")" -ge "$1" ]
}
texts() {	# texts [EXPR]: each message's top-level text, one a line
	json_lines "$FAKE_LOG" "json.loads(e['body'])['text'].replace('\n', ' ') if ($POSTS${1:+ and ($1)}) else None"
}

# has_event EVENT PROCESS: is there such an event in events.jsonl?
has_event() {
	json_lines "$T/spool/events.jsonl" "1 if e['event'] == '$1' and e['payload'].get('processname') == '$2' else None" | grep -q 1
}
# event_time EVENT PROCESS: Unix time of the last such event.
event_time() {
	json_lines "$T/spool/events.jsonl" "__import__('calendar').timegm(__import__('time').strptime(e['time'][:19], '%Y-%m-%dT%H:%M:%S')) + int(e['time'][20:23]) / 1000.0 if e['event'] == '$1' and e['payload'].get('processname') == '$2' else None" | tail -n 1
}

# policy_field EXPR: EXPR over p, the status's "policy" object.
policy_field() {
	ctl status | "$PYTHON" -c "import json,sys; p=json.load(sys.stdin)['status']['policy']; print($1)"
}
# policy_quiet: no episode open and nothing waiting in a group.
policy_quiet() {
	[ "$(policy_field "p['open_episodes'] == 0 and p['pending_reports'] == 0")" = True ]
}
# proc_state NAME: the state svrelayd tracks for group:name NAME.
proc_state() {
	policy_field "[x['state'] for x in p['processes'] if x['process'] == '$1'][0] if [x for x in p['processes'] if x['process'] == '$1'] else '-'"
}
state_is() { [ "$(proc_state "$1")" = "$2" ]; }

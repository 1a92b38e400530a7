#!/bin/bash
# A boot crash, as supervisord reports it, reaches events.jsonl through the
# real svrelay-listener and svrelayd: a program that exits 1 s after it
# starts, with startsecs=3 and startretries=2, is STARTING(0), BACKOFF(1),
# STARTING, BACKOFF(2), STARTING, BACKOFF(3), FATAL, and never EXITED.
. "$SVRELAY_TESTDIR/integration/lib.sh"

write_conf "$T/svrelay.conf"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf" "
[program:crash]
command=/bin/sh -c 'sleep 1; exit 1'
startsecs=3
startretries=2
autorestart=true
"
start_supervisord "$T/sd.conf" || bail "supervisord did not start"

EV=$T/spool/events.jsonl
crash() {	# crash EXPR: EXPR over crash's process state events
	json_lines "$EV" "($1) if e['event'].startswith('PROCESS_STATE_') and e['payload'].get('processname') == 'crash' else None"
}
fatal_seen() { crash "e['event']" | grep '^PROCESS_STATE_FATAL$' >/dev/null; }
check "crash's FATAL reaches events.jsonl" wait_for 40 fatal_seen

seq=$(crash "e['event'][14:] + ':' + e['payload']['from_state'] + ':' + e['payload'].get('tries', '-')" | tr '\n' ' ')
want="STARTING:STOPPED:0 BACKOFF:STARTING:1 STARTING:BACKOFF:1 BACKOFF:STARTING:2 STARTING:BACKOFF:2 BACKOFF:STARTING:3 FATAL:BACKOFF:- "
if [ "$seq" = "$want" ]; then ok "state sequence, from_state and tries as supervisord reports them"
else not_ok "state sequence: got '$seq', want '$want'"; fi

check "no EXITED event for a death before startsecs" \
	test -z "$(crash "e['event']" | grep EXITED)"
check "every crash event names its group" \
	test -z "$(crash "e['payload']['groupname']" | grep -vx crash)"
check "host, server and pool come from the config and the header" \
	test -z "$(crash "'%s %s %s' % (e['host'], e['server'], e['pool'])" | grep -vx 'test-host sv-test svrelay')"

sdpid=$(cat "$T/sd.conf.pid")
bad_ids=$(crash "None if e['id'] == 'test-host:sv-test:$sdpid:%d' % e['serial'] else e['id']")
check "ids are host:server:supervisord pid:serial" test -z "$bad_ids"
check "ids are unique" \
	test "$(json_lines "$EV" "e['id']" | sort | uniq -d | wc -l)" -eq 0
serials=$(crash "e['serial']" | tr '\n' ' ')
check "serials increase ($serials)" "$PYTHON" -c '
import sys; s = [int(x) for x in sys.argv[1].split()]
sys.exit(0 if s == sorted(s) and len(set(s)) == len(s) else 1)' "$serials"
check "times are RFC 3339 UTC with milliseconds" \
	test -z "$(crash "e['time']" | grep -Ev '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$')"
check "supervisord start events arrived too (SUPERVISOR_STATE_CHANGE_RUNNING)" \
	grep -q '"event":"SUPERVISOR_STATE_CHANGE_RUNNING"' "$EV"
check "the listener stayed in the protocol (no UNKNOWN state)" \
	bash -c "! grep -q 'UNKNOWN state' '$T/supervisord.log'"
check "the listener wrote nothing to the hand-off directory" \
	test -z "$(ls -A "$T/spool/handoff/new" 2>/dev/null)"
done_testing

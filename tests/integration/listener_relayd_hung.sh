#!/bin/bash
# svrelayd hung (SIGSTOP): the listener waits ack_timeout_ms for a reply,
# then hands the event off, closes the connection (a late reply must not
# be taken for the next event's) and sends the next events straight to
# the hand-off directory for a while instead of waiting again.  After
# SIGCONT every event is in events.jsonl exactly once.
. "$SVRELAY_TESTDIR/integration/lib.sh"

write_conf "$T/svrelay.conf"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf" "
[program:p]
command=/bin/sleep 1000
startsecs=0
autostart=false
"
start_supervisord "$T/sd.conf" || bail "supervisord did not start"
EV=$T/spool/events.jsonl
NEW=$T/spool/handoff/new
running() { grep -q '"event":"SUPERVISOR_STATE_CHANGE_RUNNING"' "$EV"; }
check "svrelayd takes events" wait_for 20 running

kill -STOP "$RELAYD_PID"
sv "$T/sd.conf" start p >/dev/null
p_files() { grep -l '"processname":"p"' "$NEW"/*.json 2>/dev/null | wc -l; }
two() { [ "$(p_files)" -ge 2 ]; }
check "STARTING and RUNNING are handed off while svrelayd hangs" wait_for 20 two
check "the listener says it timed out" \
	grep -q 'no reply from svrelayd within 2000 ms' "$T/listener.log"
n=$(grep -c '(no reply from svrelayd within' "$T/listener.log")
check "it waited once, not once per event ($n)" test "$n" -eq 1
check "supervisord saw no FAIL, no overflow, no protocol error" \
	bash -c "! grep -Eq 'rejected|buffer overflowed|UNKNOWN|bad result' '$T/supervisord.log'"

kill -CONT "$RELAYD_PID"
both() { [ "$(json_lines "$EV" "e['event'] if e['payload'].get('processname') == 'p' else None" | sort -u | wc -l)" -ge 2 ]; }
check "after SIGCONT both events are in events.jsonl" wait_for 30 both
# Events keep coming (a restart of p each poll) until the hold-off ends.
back() {
	grep -q ']: forwarding to svrelayd (was: writing' "$T/listener.log" ||
	    { sv "$T/sd.conf" restart p >/dev/null; return 1; }
}
check "the listener goes back to svrelayd after its hold-off" wait_for 30 back
sv "$T/sd.conf" stop p >/dev/null
stopped() { grep -q '"event":"PROCESS_STATE_STOPPED".*"processname":"p"' "$EV"; }
check "later events arrive (p STOPPED)" wait_for 30 stopped
emptied() { [ -z "$(ls -A "$NEW")" ]; }
check "svrelayd emptied new/" wait_for 20 emptied
dups=$(json_lines "$EV" "e['id']" | sort | uniq -d)
check "every event is in events.jsonl once" test -z "$dups"
done_testing

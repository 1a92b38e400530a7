#!/bin/bash
# A listener SIGKILLed while it holds an event: svrelayd is stopped
# (SIGSTOP), so the listener has sent the event and waits for the ack
# when it dies.  supervisord re-sends the event to the listener it
# restarts, and the event is stored once: (1) when svrelayd goes on while
# the new listener waits (it gets the dead listener's line and then the
# same id again), (2) when the new listener times out and hands the event
# off first (svrelayd then has the line and the hand-off file).
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/fault_lib.sh"

write_conf "$T/svrelay.conf"
sed -i 's/ack_timeout_ms = 2000/ack_timeout_ms = 4000/' "$T/svrelay.conf"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf" "
[program:p]
command=/bin/sleep 1000
startsecs=0
autostart=false
"
start_supervisord "$T/sd.conf" || bail "supervisord did not start"
EV=$T/spool/events.jsonl
running() { grep -q '"event":"SUPERVISOR_STATE_CHANGE_RUNNING"' "$EV"; }
check "svrelayd takes events" wait_for 20 running
# Nothing in flight before we start.
idle() { [ -z "$($FCHECK pending "$T/supervisord.log")" ]; }
wait_for 20 idle || bail "the listener does not go idle"

pid_of_sd=$(cat "$T/sd.conf.pid")
held=""
holding() { held=$($FCHECK pending "$T/supervisord.log"); [ -n "$held" ]; }
# blocked_in_poll PID: the listener waits in poll(2) (syscall 7).
blocked_in_poll() { [ "$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)" = 7 ]; }
resent() { [ "$($FCHECK resends "$T/supervisord.log" "$held")" -ge 2 ]; }
new_listener() { local p; p=$(listener_pid "$T/sd.conf"); [ -n "$p" ] && [ "$p" != "$lp" ]; }
id_count() { grep -c "\"id\":\"test-host:sv-test:$pid_of_sd:$1\"" "$EV" 2>/dev/null || echo 0; }
stored() { [ "$(id_count "$held")" -ge 1 ]; }

for round in 1 2; do
	lp=$(listener_pid "$T/sd.conf")
	kill -STOP "$RELAYD_PID"
	if [ $round = 1 ]; then sv "$T/sd.conf" start p >/dev/null
	else sv "$T/sd.conf" stop p >/dev/null; fi
	check "round $round: supervisord sent an event to the listener" wait_for 20 holding
	check "round $round: the listener waits for svrelayd's ack (in poll)" \
		wait_for 10 blocked_in_poll "$lp"
	diag "round $round: the listener ($lp) holds serial $held"
	kill -KILL "$lp"
	check "round $round: supervisord restarts the listener" wait_for 20 new_listener
	check "round $round: supervisord re-sends serial $held to it" wait_for 20 resent
	if [ $round = 2 ]; then
		handed() { grep -lq "\"id\":\"test-host:sv-test:$pid_of_sd:$held\"" "$T"/spool/handoff/new/*.json 2>/dev/null; }
		check "round 2: the new listener hands it off after its ack timeout" \
			wait_for 20 handed
	fi
	kill -CONT "$RELAYD_PID"
	check "round $round: the event is stored" wait_for 30 stored
	processed() { [ -z "$($FCHECK pending "$T/supervisord.log")" ]; }
	check "round $round: supervisord got OK for it" wait_for 30 processed
	emptied() { [ -z "$(ls -A "$T/spool/handoff/new")" ]; }
	wait_for 20 emptied
	check "round $round: serial $held is in events.jsonl once ($(id_count "$held"))" \
		test "$(id_count "$held")" -eq 1
done

sv "$T/sd.conf" start p >/dev/null
last() { [ "$(grep -c '"event":"PROCESS_STATE_RUNNING".*"processname":"p"' "$EV")" -ge 2 ]; }
check "later events arrive" wait_for 20 last
check "hand-off new/ is empty" test -z "$(ls -A "$T/spool/handoff/new")"
sv_acked "$T/acked.ids" > "$T/acked.sum"
diag "$(cat "$T/acked.sum")"
check "every event supervisord got OK for is stored exactly once" \
	stored_once "$T/acked.ids"
check "supervisord saw no protocol error, no overflow" \
	bash -c "! grep -Eq 'buffer overflowed|UNKNOWN|bad result' '$T/supervisord.log'"
check "svrelayd exits 0 on SIGTERM" stop_relayd
done_testing

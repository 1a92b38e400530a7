#!/bin/bash
# svrelayd SIGKILLed at random points during a mixed stream, and
# restarted: under the real supervisord a program logs a line every 20 ms
# (log events), ten programs are sent to FATAL over and over (state events
# and notifications to the fake Slack), and a socket client streams 8,000
# events of its own.  Every event acknowledged (to supervisord, or to the
# client) is stored exactly once; every notification queued is delivered
# at least once, and at most once more per kill in all.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/fault_lib.sh"

KILLS=${KILLS:-5}
SEED=${SEED:-$RANDOM}
RANDOM=$SEED
diag "seed $SEED (SEED=$SEED to replay the kill points)"

start_fake
slack_conf "$T/svrelay.conf" webhook "rate_per_minute = 6000; burst = 100;"
set_notify "$T/svrelay.conf" "settle_ms = 300; episode_max_ms = 5000; group_window_ms = 100; group_max_ms = 500; flap_threshold = 64;"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf" "
[program:chatty]
command=/bin/bash -c 'for i in \$(seq 100000); do echo \"line \$i ünï\"; sleep 0.02; done; sleep 1000'
stdout_events_enabled=true
stdout_logfile=NONE
startsecs=0

[program:bad]
command=/bin/false
process_name=%(program_name)s_%(process_num)02d
numprocs=10
startsecs=1
startretries=0
autostart=false
autorestart=false
"
start_supervisord "$T/sd.conf" || bail "supervisord did not start"
EV=$T/spool/events.jsonl
running() { grep -q '"event":"SUPERVISOR_STATE_CHANGE_RUNNING"' "$EV"; }
check "events arrive" wait_for 20 running

# FATALs, two programs at a time, until told to stop.
BAD_PIDS=""
for half in 0 1; do
	( for i in $(seq 200); do
		[ -f "$T/stop-bad" ] && break
		sv "$T/sd.conf" start "bad:bad_0$((i % 5 * 2 + half))" >/dev/null 2>&1
	  done ) &
	BAD_PIDS="$BAD_PIDS $!"
done
PIDS="$PIDS $BAD_PIDS"
$FCHECK stream "$T/svrelay.sock" kc 8000 "$T/client.acked" 120 \
    2>"$T/client.err" &
CLIENT_PID=$!
PIDS="$PIDS $CLIENT_PID"

for k in $(seq "$KILLS"); do
	ms=$((300 + RANDOM % 1500))
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	kill -KILL "$RELAYD_PID"
	wait "$RELAYD_PID" 2>/dev/null
	diag "kill $k after $ms ms: $(count_lines "$T/client.acked") client acks," \
	    "$(requests "e['answer'] == 200") posts"
	# Down a little while: the listener hands off meanwhile.
	sleep "0.$((RANDOM % 5))"
	start_relayd "$T/svrelay.conf" "$T/svrelayd.$k.log" ||
	    bail "svrelayd did not restart"
done

check "the client got all 8000 events acknowledged" wait "$CLIENT_PID"
touch "$T/stop-bad"
wait $BAD_PIDS
sv "$T/sd.conf" stop chatty >/dev/null
stopped() { grep -q '"event":"PROCESS_STATE_STOPPED".*"processname":"chatty"' "$EV"; }
check "the last event arrives" wait_for 30 stopped
emptied() { [ -z "$(ls -A "$T/spool/handoff/new")" ]; }
check "the hand-off directory is emptied" wait_for 30 emptied

sv_acked "$T/acked.sv" > "$T/acked.sum"
diag "supervisord: $(cat "$T/acked.sum")"
n=$(grep -c '"event":"PROCESS_STATE_FATAL"' "$EV")
diag "$n FATAL events, $(grep -c '"event":"PROCESS_LOG_STDOUT"' "$EV") log events stored"
check "every event supervisord got OK for is stored exactly once" \
	stored_once "$T/acked.sv"
check "every event the client got an ack for is stored exactly once" \
	stored_once "$T/client.acked"
delivered() { $FCHECK notif "$T/spool" "$FAKE_LOG" "$KILLS" > "$T/notif.out"; }
wait_for 60 delivered
while IFS= read -r l; do diag "${l#\# }"; done < "$T/notif.out"
check "notifications were queued during the kills" \
	test "$(grep -c '"state":"queued"' "$T/spool/notifications.jsonl")" -ge "$KILLS"
check "every queued notification delivered, at most $KILLS extra" delivered
check "svrelayd exits 0 on SIGTERM" stop_relayd
done_testing

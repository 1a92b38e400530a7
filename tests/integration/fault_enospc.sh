#!/bin/bash
# Disk full under the spool, with the real supervisord, listener and
# svrelayd: a small tmpfs holds the spool (events.jsonl and the hand-off
# directory both), a program logs a line every 50 ms, and the tmpfs is
# filled.  svrelayd refuses (temporary), the listener cannot hand off
# either and answers FAIL, backing off (supervisord re-sends the head
# event only a few times, no hot loop); each says so once.  When space
# returns both recover by themselves, and every event supervisord was told
# OK for is in events.jsonl exactly once.  Needs root (mount).
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/fault_lib.sh"

SPOOL=$T/spool
mount_tmpfs "$SPOOL" 2m || bail "cannot mount a tmpfs for the full-disk test: run the tests as root (scripts/check does)"
write_conf "$T/svrelay.conf"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf" "
[program:chatty]
command=/bin/bash -c 'for i in \$(seq 20000); do echo \"chatty line \$i ✓\"; sleep 0.05; done; sleep 1000'
stdout_events_enabled=true
stdout_logfile=NONE
startsecs=0
autostart=false
"
start_supervisord "$T/sd.conf" || bail "supervisord did not start"
EV=$SPOOL/events.jsonl
running() { grep -q '"event":"SUPERVISOR_STATE_CHANGE_RUNNING"' "$EV"; }
check "events arrive before the disk fills" wait_for 20 running

sv "$T/sd.conf" start chatty >/dev/null
chatty_n() { grep -c '"processname":"chatty".*chatty line' "$EV" 2>/dev/null || echo 0; }
some() { [ "$(chatty_n)" -ge 10 ]; }
check "log events flow" wait_for 20 some

fill_fs "$SPOOL"
t_full=$(date +%s%N)
diag "spool full: $(df -k --output=avail "$SPOOL" | tail -1) kB free"
relayd_says() { grep -q 'not acknowledging events until it works again' "$T/svrelayd.log"; }
listener_says() { grep -q ']: failing (was' "$T/listener.log"; }
check "svrelayd says it stopped acknowledging" wait_for 20 relayd_says
check "the listener says it is failing" wait_for 20 listener_says
check "... naming the cause (ENOSPC) in svrelayd's log" \
	grep -q 'No space left on device; not acknowledging' "$T/svrelayd.log"
check "... and in the listener's" \
	grep -q ']: failing (was.*No space left' "$T/listener.log"

# Let time pass with the disk full: the FAILs must be backed off.
sleep 6
check "svrelayd is still running while the disk is full" kill -0 "$RELAYD_PID"
lp=$(listener_pid "$T/sd.conf")
check "the listener is still the same process" test -n "$lp"
sv_acked "$T/acked.full" > "$T/acked.full.sum"
diag "while full: $(cat "$T/acked.full.sum")"
maxsends=$(sed -n 's/.*maxsends \([0-9]*\).*/\1/p' "$T/acked.full.sum")
secs=$(( ($(date +%s%N) - t_full) / 1000000000 + 1 ))
check "supervisord re-sent the head event $maxsends times in ${secs} s (backed off: <= secs + 10)" \
	test "$maxsends" -ge 3 -a "$maxsends" -le $((secs + 10))

rm -f "$SPOOL/filler" "$SPOOL/filler2"
relayd_back() { grep -q 'writes work again' "$T/svrelayd.log"; }
listener_back() { grep -q ']: forwarding to svrelayd (was: failing' "$T/listener.log"; }
check "svrelayd recovers by itself when space returns" wait_for 30 relayd_back
check "the listener recovers by itself" wait_for 30 listener_back
n0=$(chatty_n)
more() { [ "$(chatty_n)" -ge $((n0 + 20)) ]; }
check "log events flow again" wait_for 30 more
sv "$T/sd.conf" stop chatty >/dev/null
stopped() { grep -q '"event":"PROCESS_STATE_STOPPED".*"processname":"chatty"' "$EV"; }
check "the stop of the program arrives" wait_for 30 stopped

n=$(in_log "$T/svrelayd.log" 'not acknowledging events until it works again')
check "svrelayd logged the failure once ($n)" test "$n" -eq 1
n=$(in_log "$T/listener.log" ']: failing \(was')
check "the listener logged the failure once ($n)" test "$n" -eq 1
n=$(in_log "$T/listener.log" 'No space left')
check "the listener did not log ENOSPC per event ($n lines)" test "$n" -le 2
check "supervisord's buffer never overflowed" \
	bash -c "! grep -q 'buffer overflowed' '$T/supervisord.log'"
sv_acked "$T/acked.ids" > "$T/acked.sum"
diag "in all: $(cat "$T/acked.sum")"
check "every event supervisord got OK for is stored exactly once" \
	stored_once "$T/acked.ids"
check "no temp file is left in handoff/tmp" \
	test -z "$(ls -A "$SPOOL/handoff/tmp" 2>/dev/null)"
check "the listener was never restarted" \
	test "$(listener_pid "$T/sd.conf")" = "$lp"
check "svrelayd exits 0 on SIGTERM" stop_relayd
done_testing

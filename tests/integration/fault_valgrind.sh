#!/bin/bash
# svrelayd and the listener under valgrind (memcheck, full leak check,
# definite leaks are errors) through a short stream: hand-off files at
# start (one bad), events with non-ASCII and large payloads from the
# listener, notifications to the fake Slack (one after a 500), hostile
# lines, svrelayctl status, SIGHUP; then the listener again with svrelayd
# gone (hand-off writes), and a clean SIGTERM.  Any memcheck error or
# definite leak fails (valgrind exits 99).
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/fault_lib.sh"

# Not run in an ASan build (valgrind cannot run it): fault.mk leaves it
# out there.  scripts/deps installs valgrind.
VALGRIND=$(command -v valgrind) || bail "valgrind is not installed (scripts/deps installs it)"
VG="$VALGRIND --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --track-fds=no --num-callers=30"

start_fake
slack_conf "$T/svrelay.conf" webhook "rate_per_minute = 6000; burst = 100;"
set_notify "$T/svrelay.conf" "settle_ms = 200; episode_max_ms = 5000; group_window_ms = 100; group_max_ms = 500;"
SOCK=$T/svrelay.sock
HO=$T/spool/handoff
mkdir -p "$HO/tmp" "$HO/new"
for i in 1 2 3; do
	$PYTHON "$SVRELAY_TESTDIR/integration/relayd_client.py" event "ho-$i" \
	    > "$HO/new/000000000000$i.1.$i.json"
done
echo '{"id": broken' > "$HO/new/0000000000009.1.9.json"

$VG --log-file="$T/vg.svrelayd.log" "$SVRELAYD" -c "$T/svrelay.conf" \
    >>"$T/svrelayd.log" 2>&1 &
RELAYD_PID=$!
PIDS="$PIDS $RELAYD_PID"
check "svrelayd starts under valgrind" wait_for 60 sock_accepts "$SOCK"
imported() { [ -z "$(ls -A "$HO/new")" ]; }
check "hand-off files imported" wait_for 30 imported

fake_ctl '{"fault":"status","status":500,"body":"rollup_error","count":1}'
$FCHECK drive 60 "$T/acked" -- $VG --log-file="$T/vg.listener.log" \
    "$LISTENER" -c "$T/svrelay.conf" > "$T/drive.out" 2>>"$T/drive.err"
check "60 events driven through the listener" test $? -eq 0
check "... all acknowledged" test "$(count_lines "$T/acked")" -eq 60
check "... the listener exits 0 on SIGTERM, no valgrind error" \
	grep -qx 'listener exit 0' "$T/drive.out"
check "every acknowledged event is stored exactly once" stored_once "$T/acked"

$PYTHON - "$SOCK" <<'PY'
import socket, sys
for data in (b"\x00\xffgarbage\n", b'{"id": 1}\n', b"x" * 1100000 + b"\n",
             b'{"half'):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(20)
    s.connect(sys.argv[1])
    try:
        s.sendall(data)
        s.recv(4096)
    except OSError:
        pass
    s.close()
PY
status_ok() { $VG --log-file="$T/vg.svrelayctl.log" "$SVRELAYCTL" -c "$T/svrelay.conf" status >/dev/null 2>>"$T/ctl.err"; }
check "svrelayctl status under valgrind, no error" status_ok
kill -HUP "$RELAYD_PID"
reloaded() { grep -q 'configuration reloaded' "$T/svrelayd.log"; }
check "SIGHUP reloads" wait_for 30 reloaded
delivered() { $FCHECK notif "$T/spool" "$FAKE_LOG" 0 > "$T/notif.out"; }
check "the notifications are delivered (one after a 500)" wait_for 60 delivered
check "and the 500 was met" test "$(requests "e['answer'] == 500")" -eq 1

kill -TERM "$RELAYD_PID"
wait "$RELAYD_PID"
rc=$?
check "svrelayd exits 0 on SIGTERM under valgrind ($rc; 99: memcheck errors)" test "$rc" -eq 0

# svrelayd gone: the listener writes to the hand-off directory.
$FCHECK drive 12 "$T/acked2" -- $VG --log-file="$T/vg.listener2.log" \
    "$LISTENER" -c "$T/svrelay.conf" > "$T/drive2.out" 2>>"$T/drive.err"
check "with svrelayd gone, 12 events handed off" \
	test "$(ls "$HO/new" | wc -l)" -eq 12
check "... the listener exits 0, no valgrind error" \
	grep -qx 'listener exit 0' "$T/drive2.out"

for f in "$T"/vg.*.log; do
	n=$(basename "$f" .log)
	check "$n: ERROR SUMMARY: 0 errors" grep -q 'ERROR SUMMARY: 0 errors' "$f"
	check "$n: nothing definitely lost" \
		bash -c "! grep -E 'definitely lost: [1-9]' '$f'"
done
done_testing

#!/bin/bash
# systemd's notify protocol: READY=1 once serving, RELOADING=1 and READY=1
# around a SIGHUP, STOPPING=1 on SIGTERM, WATCHDOG=1 at half WATCHDOG_USEC.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/relayd_lib.sh"

CONF=$T/svrelay.conf
relayd_conf "$CONF"
"$PYTHON" - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        msg = s.recv(4096).decode()
        out.write(msg + "\n")
PY
PIDS="$PIDS $!"
wait_for 10 test -S "$T/notify.sock" || bail "no notify socket"

NOTIFY_SOCKET=$T/notify.sock WATCHDOG_USEC=400000 start_relayd "$CONF" ||
    bail "svrelayd did not start"
check "READY=1 once the socket serves" wait_for 10 grep -qx READY=1 "$T/notify.log"
check "WATCHDOG=1 keeps coming (3 pings)" \
    wait_for 10 bash -c "[ \$(grep -c WATCHDOG=1 '$T/notify.log') -ge 3 ]"
kill -HUP "$RELAYD_PID"
check "RELOADING=1 on SIGHUP" wait_for 10 grep -qx RELOADING=1 "$T/notify.log"
check "READY=1 again after the reload" \
    wait_for 10 bash -c "[ \$(grep -cx READY=1 '$T/notify.log') -ge 2 ]"
kill -TERM "$RELAYD_PID"
wait "$RELAYD_PID"; rc=$?
check "SIGTERM exits 0" [ "$rc" -eq 0 ]
check "STOPPING=1 on SIGTERM" grep -qx STOPPING=1 "$T/notify.log"
done_testing

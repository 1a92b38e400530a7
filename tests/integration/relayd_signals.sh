#!/bin/bash
# SIGTERM exits 0 promptly with everything acknowledged on disk; SIGHUP
# reloads a good config and keeps the old one on a bad config.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relayd_lib.sh"

CONF=$T/svrelay.conf
LOG=$T/svrelayd.log
relayd_conf "$CONF"
start_relayd "$CONF" "$LOG" || bail "svrelayd did not start"

# An idle connection must not hold up the exit.
"$PYTHON" -c 'import socket,sys,time
s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(60)' "$SOCK" &
IDLE=$!
PIDS="$PIDS $IDLE"
# Two clients pipelining 20,000 events each, TERM in the middle.
$CLIENT pipeline "$SOCK" p1 20000 "$T/acked.1" &
P1=$!
$CLIENT pipeline "$SOCK" p2 20000 "$T/acked.2" &
P2=$!
some_acked() { [ "$(cat "$T"/acked.* 2>/dev/null | wc -l)" -ge 2000 ]; }
wait_for 30 some_acked || diag "few events acknowledged before TERM"
t0=$(date +%s%N)
kill -TERM "$RELAYD_PID"
wait "$RELAYD_PID"
rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
diag "exit after ${ms} ms"
check "SIGTERM: exit status 0" [ "$rc" -eq 0 ]
check "SIGTERM: exit within 2 s (${ms} ms)" [ "$ms" -lt 2000 ]
wait "$P1" "$P2"
cat "$T"/acked.* > "$T/acked.all"
diag "$(wc -l < "$T/acked.all") acknowledged before the exit"
check "every acknowledged event is in the spool exactly once" \
	exactly_once "$T/acked.all"
check "the socket file is removed on exit" [ ! -e "$SOCK" ]
check "the last line is whole" [ "$(tail -c 1 "$SPOOL/events.jsonl" | od -An -c | tr -d ' ')" = '\n' ]
kill "$IDLE" 2>/dev/null

start_relayd "$CONF" "$LOG" || bail "svrelayd did not restart"
reloads() { grep -c "$1" "$LOG"; }
echo 'this is not libconfig' >> "$CONF"
kill -HUP "$RELAYD_PID"
kept() { [ "$(reloads 'keeping the running configuration')" -ge 1 ]; }
check "SIGHUP with a bad config: keeps the old one" wait_for 10 kept
check "... and keeps serving" \
	grep -q '"ok":true' <<<"$($CLIENT event h1 | $CLIENT ask "$SOCK")"
cat > "$CONF" <<CONF
socket = "$SOCK";
spool_dir = "$SPOOL";
host = "test-host";
log = { level = "debug"; };
relayd = { max_line = 4096; };
CONF
kill -HUP "$RELAYD_PID"
good() { [ "$(reloads 'configuration reloaded')" -ge 1 ]; }
check "SIGHUP with a good config: reloaded" wait_for 10 good
r=$("$PYTHON" -c 'print("x" * 5000)' | $CLIENT ask "$SOCK")
check "the new max_line applies" grep -q 'max_line (4096' <<<"$r"
check "SIGPIPE does not kill it (a client gone before its reply)" bash -c "
	for i in \$(seq 50); do $CLIENT event sp\$i | timeout 0.01 $CLIENT ask '$SOCK' >/dev/null 2>&1; done; true"
check "still running" relayd_alive
check "SIGINT: exit status 0" bash -c "kill -INT $RELAYD_PID"
wait "$RELAYD_PID"
check "... and it exited 0" [ $? -eq 0 ]
done_testing

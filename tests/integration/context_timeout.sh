#!/bin/bash
# Crash context never holds up the ack beyond context.timeout_ms:
#  1. supervisord's RPC server accepts and never answers (a fake server on
#     a Unix socket, handed to the listener as SUPERVISOR_SERVER_URL): the
#     helper gives up in time, the event is acked, context.error says
#     timeout;
#  2. the helper itself hangs: the listener kills and reaps it at the
#     deadline, the event is acked, context.error says timeout;
#  3. the server URL names a dead socket: context.error says so at once.
# Each outcome is logged once.
. "$SVRELAY_TESTDIR/integration/lib.sh"
HELPER=${SVRELAY_LIBEXECDIR:-$(dirname "$SVRELAY_BINDIR")/libexec}/svrelay/svrelay-context
TIMEOUT=1000

# The fake RPC server: accepts, records when, never answers.
"$PYTHON" - "$T/hang.sock" "$T/accepts" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(16)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    with open(sys.argv[2], "a") as f:
        f.write("%.3f\n" % time.time())
PY
PIDS="$PIDS $!"
wait_for 10 test -S "$T/hang.sock" || bail "fake server did not start"

# A helper that never answers (and ignores nothing: SIGKILL ends it).
cat > "$T/hung-helper" <<EOF2
#!/bin/sh
echo \$\$ > "$T/hung-helper.pid"
exec sleep 60
EOF2
chmod +x "$T/hung-helper"

programs="
[program:crash]
command=/bin/sh -c 'echo crash >&2; exit 1'
startsecs=1
startretries=0
"
EV=$T/spool/events.jsonl
fatal_count() { json_lines "$EV" "1 if e['event'] == 'PROCESS_STATE_FATAL' else None" | wc -l; }
last_ctx() { json_lines "$EV" "e['context'].get('error') if e['event'] == 'PROCESS_STATE_FATAL' else None" | tail -n 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# run_phase N SVRELAY_CONF URL: a supervisord whose listener uses URL for
# its RPC; waits for the Nth FATAL and records when it landed.
run_phase() {
	local n=$1 conf=$2 url=$3
	write_supervisord_conf "$T/sd$n.conf" "$conf" "$programs"
	sed -i -e "s|^command=$LISTENER|command=/usr/bin/env SUPERVISOR_SERVER_URL=$url $LISTENER|" \
	    -e "s|stderr_logfile=$T/listener.log|stderr_logfile=$T/listener$n.log|" \
	    -e "s|logfile=$T/supervisord.log|logfile=$T/supervisord$n.log|" "$T/sd$n.conf"
	start_supervisord "$T/sd$n.conf" || bail "supervisord $n did not start"
	have() { [ "$(fatal_count)" -ge "$n" ]; }
	wait_for 20 have
	LANDED=$(now_ms)
	kill -TERM "$(cat "$T/sd$n.conf.pid")"
	wait_for 20 bash -c "! kill -0 $(cat "$T/sd$n.conf.pid") 2>/dev/null"
}

write_conf "$T/svrelay.conf" "context = { helper = \"$HELPER\"; timeout_ms = $TIMEOUT; };"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"

# 1. An RPC server that never answers.
run_phase 1 "$T/svrelay.conf" "unix://$T/hang.sock"
check "1: the FATAL event was acked and stored" test "$(fatal_count)" -eq 1
err=$(last_ctx)
case $err in
*"within $TIMEOUT ms (timeout)"*) ok "1: context.error says timeout: $err" ;;
*) not_ok "1: context.error is '$err'" ;;
esac
acc=$(head -n 1 "$T/accepts" 2>/dev/null)
if [ -n "$acc" ]; then
	d=$(( LANDED - ${acc/./} ))
	diag "1: stored $d ms after the fake server's accept (timeout $TIMEOUT ms)"
	check "1: stored within the timeout (+ 500 ms polling slack): $d ms" test "$d" -lt $((TIMEOUT + 500))
else
	not_ok "1: the helper never connected to the fake server"
fi
check "1: one log line about it" test "$(grep -c 'crash context for' "$T/listener1.log")" -eq 1

# 2. A helper that hangs: killed and reaped at the deadline.
write_conf "$T/hung.conf" "context = { helper = \"$T/hung-helper\"; timeout_ms = $TIMEOUT; };"
start=$(now_ms)
run_phase 2 "$T/hung.conf" "unix://$T/hang.sock"
check "2: the FATAL event was acked and stored" test "$(fatal_count)" -eq 2
err=$(last_ctx)
case $err in
*"no answer within $TIMEOUT ms (timeout)"*) ok "2: context.error: $err" ;;
*) not_ok "2: context.error is '$err'" ;;
esac
hp=$(cat "$T/hung-helper.pid" 2>/dev/null)
check "2: the hung helper was killed and reaped" \
	bash -c "[ -n '$hp' ] && ! kill -0 '$hp' 2>/dev/null"

# 3. A dead socket.
run_phase 3 "$T/svrelay.conf" "unix://$T/dead.sock"
err=$(last_ctx)
check "3: context.error names the dead socket ($err)" \
	test "$err" = "cannot connect to supervisord at unix://$T/dead.sock"
check "no listener left supervisord's protocol" \
	bash -c "! grep -q 'UNKNOWN state' '$T'/supervisord*.log"
done_testing

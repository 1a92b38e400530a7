#!/bin/bash
# Four listeners stream 3,000 events while svrelayd is SIGKILLed three
# times and restarted; every acknowledged event is in the spool exactly
# once, and (since clients resend what was not acknowledged) all of them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relayd_lib.sh"

CONF=$T/svrelay.conf
relayd_conf "$CONF"
start_relayd "$CONF" || bail "svrelayd did not start"

acked_count() { cat "$T"/acked.* 2>/dev/null | wc -l; }
at_least() { [ "$(acked_count)" -ge "$1" ]; }

CLIENT_PIDS=""
for c in 1 2 3 4; do
	$CLIENT stream "$SOCK" "c$c" 750 "$T/acked.$c" 180 2>>"$T/client.log" &
	CLIENT_PIDS="$CLIENT_PIDS $!"
done

for k in 1 2 3; do
	if wait_for 60 at_least $((k * 600)); then
		kill -KILL "$RELAYD_PID"
		wait "$RELAYD_PID" 2>/dev/null
		diag "SIGKILL $k at $(acked_count) acknowledged"
		start_relayd "$CONF" || bail "svrelayd did not restart"
	else
		not_ok "clients made progress before kill $k"
	fi
done

failed=0
for p in $CLIENT_PIDS; do wait "$p" || failed=$((failed + 1)); done
check "all four clients finished" [ "$failed" -eq 0 ]
check "3000 events acknowledged" [ "$(acked_count)" -eq 3000 ]
cat "$T"/acked.* > "$T/acked.all"
check "every acknowledged id is in events.jsonl exactly once" \
	exactly_once "$T/acked.all"
check "no torn line left behind" \
	"$PYTHON" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' \
	"$SPOOL/events.jsonl"
check "svrelayd is serving after the crashes" sock_accepts "$SOCK"
check "svrelayd exits 0 on SIGTERM" stop_relayd
done_testing

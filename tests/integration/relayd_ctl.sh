#!/bin/bash
# svrelayctl status (readable and --json) shows the counters this test
# produced; svrelayd -t on a good and a bad config; svrelayctl with no
# svrelayd running.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relayd_lib.sh"

CONF=$T/svrelay.conf
relayd_conf "$CONF"

out=$("$SVRELAYD" -t -c "$CONF" 2>&1)
check "svrelayd -t on a good config: exit 0" [ $? -eq 0 ]
check "... prints 'configuration OK'" [ "$out" = "configuration OK" ]
cp "$CONF" "$T/bad.conf"
echo 'spool = { fsync = "sometimes"; };' >> "$T/bad.conf"
out=$("$SVRELAYD" -t -c "$T/bad.conf" 2>&1)
rc=$?
diag "$out"
check "svrelayd -t on a bad config: exit 1" [ "$rc" -eq 1 ]
check "... naming the file, line and key" grep -q "bad.conf:[0-9]*:.*fsync" <<<"$out"
out=$("$SVRELAYCTL" -c "$CONF" status 2>&1)
rc=$?
check "svrelayctl status without svrelayd: exit 1" [ "$rc" -eq 1 ]
check "... saying svrelayd is not running" grep -q "not running" <<<"$out"

start_relayd "$CONF" || bail "svrelayd did not start"
{
	for i in 1 2 3 4 5; do $CLIENT event "ctl-$i"; done
	$CLIENT event ctl-1
	$CLIENT event ctl-2
	echo 'not json'
	echo '{"id":"x"}'
	echo '{"cmd":"no-such-command"}'
} | $CLIENT ask "$SOCK" > "$T/replies"
check "unknown command: ok false" \
	grep -q '"ok":false,"error":"unknown command' "$T/replies"

"$SVRELAYCTL" -c "$CONF" status --json > "$T/status.json"
check "status --json: exit 0" [ $? -eq 0 ]
field() { "$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"][sys.argv[2]])' "$T/status.json" "$1"; }
check "--json: events_accepted 5" [ "$(field events_accepted)" = 5 ]
check "--json: duplicates 2" [ "$(field duplicates)" = 2 ]
check "--json: refused_lines 2" [ "$(field refused_lines)" = 2 ]
check "--json: pid is svrelayd's" [ "$(field pid)" = "$RELAYD_PID" ]
check "--json: spool_file" [ "$(field spool_file)" = "$SPOOL/events.jsonl" ]
check "--json: spool_bytes is the file's size" \
	[ "$(field spool_bytes)" = "$(stat -c %s "$SPOOL/events.jsonl")" ]
check "--json: last_write is set" [ "$(field last_write)" != None ]
check "--json: last_error is null" [ "$(field last_error)" = None ]
for k in uptime version connections handoff_imported last_error_time; do
	check "--json: has $k" grep -q "\"$k\":" "$T/status.json"
done

"$SVRELAYCTL" -c "$CONF" status > "$T/status.txt"
check "status: exit 0" [ $? -eq 0 ]
check "status: events accepted 5" grep -Eq '^events accepted +5$' "$T/status.txt"
check "status: duplicates 2" grep -Eq '^duplicates +2$' "$T/status.txt"
check "status: refused lines 2" grep -Eq '^refused lines +2$' "$T/status.txt"
check "status: spool file" grep -Eq "^spool file +$SPOOL/events.jsonl$" "$T/status.txt"
check "status: uptime" grep -Eq '^uptime +[0-9]{2}:[0-9]{2}:[0-9]{2}$' "$T/status.txt"

"$SVRELAYCTL" -c "$CONF" no-such >/dev/null 2>&1
check "svrelayctl with an unknown subcommand: exit 1" [ $? -eq 1 ]
"$SVRELAYCTL" -c "$CONF" dead > "$T/dead.out" 2>&1
diag "svrelayctl dead: $(cat "$T/dead.out")"
check "svrelayctl dead gets an answer" [ -s "$T/dead.out" ]
check "svrelayd exits 0 on SIGTERM" stop_relayd
done_testing

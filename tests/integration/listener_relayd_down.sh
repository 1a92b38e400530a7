#!/bin/bash
# svrelayd stopped: the listener still acks every event at once, by
# writing it to the spool's hand-off directory (supervisord never
# overflows its buffer or sees a FAIL); when svrelayd starts again it
# imports them all into events.jsonl.  The change of outcome is logged
# once each way, not once per event.
. "$SVRELAY_TESTDIR/integration/lib.sh"

write_conf "$T/svrelay.conf"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf" "
[program:w]
command=/bin/sleep 1000
process_name=%(program_name)s_%(process_num)02d
numprocs=25
startsecs=0
autostart=false
"
start_supervisord "$T/sd.conf" || bail "supervisord did not start"
EV=$T/spool/events.jsonl
NEW=$T/spool/handoff/new
running() { grep -q '"event":"SUPERVISOR_STATE_CHANGE_RUNNING"' "$EV"; }
check "svrelayd takes events while it runs" wait_for 20 running

stop_relayd
refusing() { ! sock_accepts "$T/svrelay.sock"; }
check "svrelayd stopped" refusing

# 25 processes: STARTING and RUNNING each, 50 events.
sv "$T/sd.conf" start 'w:*' >/dev/null
w_files() { grep -l '"processname":"w_' "$NEW"/*.json 2>/dev/null | wc -l; }
fifty() { [ "$(w_files)" -ge 50 ]; }
check "50 events acked into the hand-off directory" wait_for 30 fifty
check "exactly 50 (no event written twice)" test "$(w_files)" -eq 50
check "supervisord saw no FAIL, no overflow, no protocol error" \
	bash -c "! grep -Eq 'rejected|buffer overflowed|UNKNOWN|bad result' '$T/supervisord.log'"
names_bad=$(ls "$NEW" | grep -Ev '^[0-9]{13}\.[0-9]+\.[0-9]{6}\.json$')
check "hand-off names are <13-digit ms>.<pid>.<counter>.json" test -z "$names_bad"
check "hand-off files are mode 0640" \
	test -z "$(find "$NEW" -type f ! -perm 0640)"
check "nothing is left in tmp/" test -z "$(ls -A "$T/spool/handoff/tmp")"
check "each file is one JSON line ending in a newline" "$PYTHON" -c '
import glob, json, sys
for f in glob.glob(sys.argv[1] + "/*.json"):
    b = open(f, "rb").read()
    assert b.endswith(b"\n") and b.count(b"\n") == 1, f
    json.loads(b)' "$NEW"
n=$(grep -c ']: writing to the hand-off directory' "$T/listener.log")
check "the switch to the hand-off directory is logged once ($n)" test "$n" -eq 1

start_relayd "$T/svrelay.conf" || bail "svrelayd did not start again"
in_spool() { [ "$(json_lines "$EV" "e['id'] if e['payload'].get('processname', '').startswith('w_') else None" | sort -u | wc -l)" -ge 50 ]; }
check "after svrelayd starts, all 50 are in events.jsonl" wait_for 30 in_spool
emptied() { [ -z "$(ls -A "$NEW")" ]; }
check "svrelayd emptied new/" wait_for 10 emptied
check "each of the 50 is in events.jsonl once" \
	test "$(json_lines "$EV" "e['id'] if e['payload'].get('processname', '').startswith('w_') else None" | wc -l)" -eq 50

sv "$T/sd.conf" stop w:w_00 >/dev/null
stopped() { grep -q '"event":"PROCESS_STATE_STOPPED".*"processname":"w_00"' "$EV"; }
check "the next event goes to svrelayd directly" wait_for 20 stopped
n=$(grep -c ']: forwarding to svrelayd' "$T/listener.log")
check "the switch back is logged once ($n in all, with the first)" test "$n" -eq 2
done_testing

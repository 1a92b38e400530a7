#!/bin/bash
# Non-ASCII log output keeps the listener in sync with supervisord, whose
# len counts code points, not bytes: text with 2-, 3- and 4-byte
# characters, a character split across two writes (supervisord sends that
# chunk as "Undecodable: b'...'"), and a 150 kB chunk that reaches the
# listener in several reads, split inside characters.  supervisord never
# marks the listener UNKNOWN, and later events still arrive.
. "$SVRELAY_TESTDIR/integration/lib.sh"

cat > "$T/talker.py" <<'PY'
import os, time
os.write(2, "ünïcödé ✓ 日本 😀\n".encode()); time.sleep(0.4)
snow = "☃".encode()
os.write(2, b"split " + snow[:2]); time.sleep(0.4)
os.write(2, snow[2:] + b" joined\n"); time.sleep(0.4)
os.write(2, ("ü✓" * 30000 + "\n").encode()); time.sleep(0.4)
os.write(2, "the end ✓\n".encode())
time.sleep(1000)
PY

write_conf "$T/svrelay.conf"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf" "
[program:talker]
command=$PYTHON $T/talker.py
stderr_events_enabled=true
startsecs=0
autostart=false

[program:idle]
command=/bin/sleep 1000
startsecs=0
"
start_supervisord "$T/sd.conf" || bail "supervisord did not start"
sv "$T/sd.conf" start talker >/dev/null

EV=$T/spool/events.jsonl
logs() {	# logs EXPR: EXPR over talker's PROCESS_LOG_STDERR events
	json_lines "$EV" "($1) if e['event'] == 'PROCESS_LOG_STDERR' and e['payload']['processname'] == 'talker' else None"
}
end_seen() { logs "e['data']" | grep '^the end ✓$' >/dev/null; }
check "the last line of output arrives" wait_for 30 end_seen

check "2-, 3- and 4-byte characters arrive as written" \
	bash -c "grep -qF '\"data\":\"ünïcödé ✓ 日本 😀\\n\"' '$EV'"
check "a character split across writes arrives as supervisord's Undecodable" \
	grep -qF "Undecodable: b'split \\\\xe2\\\\x98'" "$EV"
total=$(logs "e['data'].count('ü✓') if not e['data'].startswith('Undecodable') else None" | awk '{ s += $1 } END { print s + 0 }')
undecodable=$(logs "len(e['data']) if e['data'].startswith('Undecodable') else None" | wc -l)
diag "big chunk: $total pairs decoded, $undecodable Undecodable events"
check "the 150 kB chunk arrived (in one or more events)" \
	test "$(logs "len(e['data'])" | awk '{ s += $1 } END { print s + 0 }')" -ge 60000
check "each log event has the pid and channel tokens" \
	test -z "$(logs "None if e['payload']['channel'] == 'stderr' and e['payload']['pid'].isdigit() else e['id']")"

sv "$T/sd.conf" stop idle >/dev/null
stopped() { grep -q '"event":"PROCESS_STATE_STOPPED".*"processname":"idle"' "$EV"; }
check "a later event still arrives (idle STOPPED)" wait_for 20 stopped
check "supervisord never marked the listener UNKNOWN" \
	bash -c "! grep -q 'UNKNOWN' '$T/supervisord.log'"
check "no event was rejected or discarded" \
	bash -c "! grep -Eq 'rejected|bad result line|buffer overflowed' '$T/supervisord.log'"
check "the listener logged no bad input" \
	bash -c "! grep -q 'bad input' '$T/listener.log'"
done_testing

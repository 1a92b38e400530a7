#!/bin/bash
# Input the listener cannot parse, fed to the installed svrelay-listener
# on stdin: it exits non-zero at once with one clear line on stderr, and
# stdout holds nothing but the READY it wrote (and RESULTs for the good
# events before).  End of input while waiting for a header is supervisord
# going away: exit 0, quietly.
. "$SVRELAY_TESTDIR/integration/lib.sh"

write_conf "$T/svrelay.conf"	# no svrelayd: good events are handed off

H='ver:3.0 server:sv serial:1 pool:svrelay poolserial:1'
GOOD_PAYLOAD='processname:a groupname:a from_state:STARTING pid:12'
GOOD="$H eventname:PROCESS_STATE_RUNNING len:52
$GOOD_PAYLOAD"

# run NAME: the listener on $T/NAME.in; sets RC, and OUT/ERR files.
run() {
	OUT=$T/$1.out ERR=$T/$1.err
	timeout 10 "$LISTENER" -c "$T/svrelay.conf" <"$T/$1.in" >"$OUT" 2>"$ERR"
	RC=$?
}

# bad NAME WHY: input $T/NAME.in must fail, saying WHY.
bad() {
	local name=$1 why=$2 want=${3:-READY\\n}
	run "$name"
	if [ "$RC" -eq 124 ]; then not_ok "$name: hung (killed by timeout)"; return; fi
	check "$name: exits non-zero ($RC)" test "$RC" -ne 0
	check "$name: stderr says '$why'" grep -qF -- "$why" "$ERR"
	check "$name: stderr has one bad input line" \
	    test "$(grep -c 'bad input from supervisord: ' "$ERR")" -eq 1
	printf "$want" > "$T/want.out"
	check "$name: stdout is exactly the protocol tokens" cmp -s "$T/want.out" "$OUT"
}

printf '%s eventname:TICK_5\nwhen:1' "$H" > "$T/no-len.in"
bad no-len "header lacks token 'len'"
printf '%s eventname:TICK_5 len:abc\nwhen:1' "$H" > "$T/len-abc.in"
bad len-abc "header token 'len' is not a number: 'abc'"
printf '%s eventname:TICK_5 len:-6\nwhen:1' "$H" > "$T/len-negative.in"
bad len-negative "header token 'len' is not a number: '-6'"
printf '%s eventname:TICK_5 len:99999999999\n' "$H" > "$T/len-absurd.in"
bad len-absurd "header token 'len' is too large: '99999999999' (at most 16777216)"
head -c 10000 /dev/zero | tr '\0' x > "$T/overlong.in"
bad overlong "header line longer than 8192 bytes"
printf 'ver:3.0 serial:1 pool:p poolserial:1 eventname:TICK_5 len:6\nwhen:1' > "$T/no-server.in"
bad no-server "header lacks token 'server'"
printf '%s eventname:TICK_5 len:6' "$H" > "$T/eof-header.in"
bad eof-header "end of input in the middle of a header, after 75 bytes"
printf '%s eventname:PROCESS_STATE_RUNNING len:52\nprocessname:a' "$H" > "$T/eof-payload.in"
bad eof-payload "end of input in the middle of a payload, after 13 of 52 code points"
printf '%s eventname:PROCESS_STATE_RUNNING len:38\nprocessname:a groupname:a from_state:X' "$H" > "$T/refused.in"
bad refused "PROCESS_STATE_RUNNING payload lacks token 'pid'"
printf '%s eventname:TICK_5 len:6\nwhen:\377' "$H" > "$T/not-utf8.in"
bad not-utf8 "payload is not UTF-8: byte 0xff at offset 5"
printf '\n' > "$T/empty-header.in"
bad empty-header "empty header line"
printf '%s%s eventname:TICK_5 len:1\n' "$GOOD" "$H" > "$T/good-then-bad.in"
bad good-then-bad "end of input in the middle of a payload, after 0 of 1" 'READY\nRESULT 2\nOKREADY\n'
check "good-then-bad: the good event was kept (hand-off)" \
	test "$(ls "$T/spool/handoff/new" | wc -l)" -eq 1
modes=$(stat -c %a "$T/spool/handoff" "$T/spool/handoff/tmp" "$T/spool/handoff/new" "$T/spool/handoff/bad" | tr '\n' ' ')
check "the listener made the hand-off directories mode 2770 ($modes)" \
	test "$modes" = "2770 2770 2770 2770 "

: > "$T/empty.in"
# At log level warn: a quiet exit writes nothing at all.
sed 's/level = "debug"/level = "warn"/' "$T/svrelay.conf" > "$T/quiet.conf"
OUT=$T/empty.out ERR=$T/empty.err
timeout 10 "$LISTENER" -c "$T/quiet.conf" <"$T/empty.in" >"$OUT" 2>"$ERR"
RC=$?
check "EOF while waiting for a header: exit 0 ($RC)" test "$RC" -eq 0
printf 'READY\n' > "$T/want.out"
check "EOF while waiting for a header: stdout is READY only" cmp -s "$T/want.out" "$OUT"
check "EOF while waiting for a header: nothing on stderr" test ! -s "$ERR"

run_usage() { "$LISTENER" -x >"$T/usage.out" 2>&1; test $? -ne 0; }
check "an unknown option is refused" run_usage
check "-h prints the usage and exits 0" bash -c "'$LISTENER' -h 2>&1 >/dev/null | grep -q 'usage: svrelay-listener'"

printf 'bogus = 1;\n' > "$T/bad.conf"
timeout 10 "$LISTENER" -c "$T/bad.conf" </dev/null >"$T/badconf.out" 2>"$T/badconf.err"
RC=$?
check "a bad config file: exit 1 ($RC)" test "$RC" -eq 1
check "a bad config file: stderr names file, line and key" \
	grep -qF "$T/bad.conf:1: unknown key 'bogus'" "$T/badconf.err"
check "a bad config file: nothing on stdout" test ! -s "$T/badconf.out"
done_testing

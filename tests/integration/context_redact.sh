#!/bin/bash
# Redaction: context.redact patterns replace secrets in the log tails with
# [redacted] before they leave the helper, so that no spool file ever holds
# them.  A pattern that does not compile is a config error with FILE:LINE.
. "$SVRELAY_TESTDIR/integration/lib.sh"
HELPER=${SVRELAY_LIBEXECDIR:-$(dirname "$SVRELAY_BINDIR")/libexec}/svrelay/svrelay-context

write_conf "$T/svrelay.conf" "context = {
  helper = \"$HELPER\";
  redact = [ \"xox[abpr]-[A-Za-z0-9-]+\", \"(password|passwd|pwd)=[^ &]+\",
             \"postgres(ql)?://[^ ]+\" ];
};"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf" "
[program:leaky]
command=/bin/sh -c 'echo \"using token xoxb-1111-SECRETTOKEN\" >&2; echo \"db postgresql://app:SECRETPW@db:5432/app unreachable, password=SECRETPASS\" >&2; exit 1'
startsecs=1
startretries=0
"
start_supervisord "$T/sd.conf" || bail "supervisord did not start"

EV=$T/spool/events.jsonl
tail_of() { json_lines "$EV" "e['context'].get('stderr_tail') if e['event'] == 'PROCESS_STATE_FATAL' else None"; }
seen() { [ -n "$(tail_of)" ]; }
check "leaky's FATAL with a tail reaches events.jsonl" wait_for 20 seen
want="using token [redacted]
db [redacted] unreachable, [redacted]"
check "the tail is redacted" test "$(tail_of)" = "$want"
check "no secret in any spool file" \
	bash -c "! grep -rq SECRET '$T/spool'"

# A bad pattern: the listener refuses the config, naming file, line, key.
cat > "$T/bad.conf" <<CONF
spool_dir = "$T/spool";
context = {
  redact = [ "ok", "bad(" ];
};
CONF
"$LISTENER" -c "$T/bad.conf" </dev/null >"$T/bad.out" 2>"$T/bad.err"
rc=$?
check "a bad pattern: exit 1" test $rc -eq 1
check "a bad pattern: FILE:LINE: key 'context.redact'" \
	grep -q "$T/bad.conf:3: key 'context.redact': element 2: 'bad(' is not a POSIX extended regular expression" "$T/bad.err"
check "a bad pattern: nothing on stdout" test ! -s "$T/bad.out"
done_testing

#!/bin/bash
# Crash context for a boot crash: a program that prints a traceback on
# stderr and dies before startsecs goes BACKOFF, BACKOFF, FATAL.  The FATAL
# event in events.jsonl carries the traceback's last line, the spawn error
# and the exit status (from supervisord's own log), with no
# stderr_events_enabled on the program.  BACKOFF gets no context by default.
. "$SVRELAY_TESTDIR/integration/lib.sh"
HELPER=${SVRELAY_LIBEXECDIR:-$(dirname "$SVRELAY_BINDIR")/libexec}/svrelay/svrelay-context
[ -x "$HELPER" ] || bail "no helper at $HELPER"

write_conf "$T/svrelay.conf" "context = { helper = \"$HELPER\"; };"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf" "
[program:boot]
command=$PYTHON -c 'import time; time.sleep(0.3); open(\"/nonexistent/app.yaml\")'
startsecs=2
startretries=1
"
start_supervisord "$T/sd.conf" || bail "supervisord did not start"

EV=$T/spool/events.jsonl
fatal() {	# fatal EXPR: EXPR over boot's FATAL events
	json_lines "$EV" "($1) if e['event'] == 'PROCESS_STATE_FATAL' and e['payload'].get('processname') == 'boot' else None"
}
fatal_seen() { [ -n "$(fatal "e['id']")" ]; }
check "boot's FATAL reaches events.jsonl" wait_for 30 fatal_seen

want="FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent/app.yaml'"
tail=$(fatal "e.get('context', {}).get('stderr_tail', '')")
if printf '%s' "$tail" | grep -qF "$want"; then ok "context.stderr_tail holds the traceback's last line"
else not_ok "context.stderr_tail: got '$tail'"; fi
check "the tail starts at a whole line (Traceback)" \
	test "$(printf '%s' "$tail" | head -n 1)" = "Traceback (most recent call last):"
check "context.spawnerr says it exited too quickly" \
	test "$(fatal "e['context'].get('spawnerr')")" = "Exited too quickly (process log may have details)"
check "context.exitstatus is the last exit's status (1)" \
	test "$(fatal "e['context'].get('exitstatus')")" = 1
check "no context.error" test "$(fatal "str(e['context'].get('error'))")" = None
check "no stdout_tail when stderr had something" \
	test "$(fatal "'stdout_tail' in e['context']")" = False
check "BACKOFF events carry no context (context.backoff is off)" \
	test -z "$(json_lines "$EV" "e['id'] if e['event'] == 'PROCESS_STATE_BACKOFF' and 'context' in e else None")"
check "the listener stayed in the protocol" \
	bash -c "! grep -q 'UNKNOWN state' '$T/supervisord.log'"
check "the listener logged no context problem" \
	bash -c "! grep -q 'crash context for' '$T/listener.log'"
done_testing

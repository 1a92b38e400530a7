#!/bin/bash
# Crash context for an unexpected exit: a program that runs past startsecs,
# writes to stderr and exits 7.  supervisord restarts it at once
# (autorestart=unexpected), so getProcessInfo has already forgotten the
# status by the time we ask: the EXITED event must still say exitstatus 7
# (from supervisord's log) and carry the stderr tail.  An expected exit
# gets no context; a program with redirect_stderr gets its stdout tail.
# (The restart also clears spawnerr: it is not asserted for worker.)
. "$SVRELAY_TESTDIR/integration/lib.sh"
HELPER=${SVRELAY_LIBEXECDIR:-$(dirname "$SVRELAY_BINDIR")/libexec}/svrelay/svrelay-context

write_conf "$T/svrelay.conf" "context = { helper = \"$HELPER\"; };"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf" "
[program:worker]
command=/bin/sh -c 'echo \"worker: started\"; echo \"worker: lost connection to queue: broken pipe\" >&2; sleep 1.5; exit 7'
startsecs=1
startretries=100

[program:clean]
command=/bin/sh -c 'sleep 1.5; exit 0'
startsecs=1
autorestart=false

[program:merged]
command=/bin/sh -c 'echo \"merged: out of memory\" >&2; sleep 1.5; exit 3'
startsecs=1
autorestart=false
redirect_stderr=true
"
start_supervisord "$T/sd.conf" || bail "supervisord did not start"

EV=$T/spool/events.jsonl
exited() {	# exited NAME EXPR
	json_lines "$EV" "($2) if e['event'] == 'PROCESS_STATE_EXITED' and e['payload'].get('processname') == '$1' else None"
}
seen() { [ -n "$(exited "$1" "e['id']")" ]; }
check "worker's EXITED reaches events.jsonl" wait_for 20 seen worker
check "clean's EXITED reaches events.jsonl" wait_for 20 seen clean
check "merged's EXITED reaches events.jsonl" wait_for 20 seen merged

first() { exited "$1" "$2" | head -n 1; }
check "worker: expected:0" test "$(first worker "e['payload']['expected']")" = 0
check "worker: context.exitstatus is 7 although it was restarted" \
	test "$(first worker "e['context'].get('exitstatus')")" = 7
# The restarted worker may have written its line again by then: the tail
# is the log's end, whatever run wrote it.
check "worker: context.stderr_tail holds its stderr" \
	test "$(first worker "e['context'].get('stderr_tail').splitlines()[0]")" = "worker: lost connection to queue: broken pipe"
check "worker: no context.error" test "$(first worker "str(e['context'].get('error'))")" = None
check "clean: an expected exit gets no context" \
	test "$(first clean "'context' in e")" = False
check "merged: redirected stderr comes as stdout_tail" \
	test "$(first merged "e['context'].get('stdout_tail')")" = "merged: out of memory"
check "merged: context.exitstatus 3 (still EXITED: from getProcessInfo)" \
	test "$(first merged "e['context'].get('exitstatus')")" = 3
check "the listener stayed in the protocol" \
	bash -c "! grep -q 'UNKNOWN state' '$T/supervisord.log'"
done_testing

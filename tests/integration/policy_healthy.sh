#!/bin/bash
# At level "problems" a healthy start is no message.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/policy_lib.sh"

start_fake
policy_start webhook 'level = "problems";' "
[program:web]
command=/bin/sleep 3600
startsecs=1

[program:worker]
command=/bin/sh -c 'exec sleep 3600'
startsecs=2
numprocs=3
process_name=%(program_name)s_%(process_num)d
"
four_running() {
	[ "$(policy_field "sum(1 for x in p['processes'] if x['state'] == 'RUNNING' and x['process'] != 'svrelay:svrelay')")" = 4 ]
}
check "svrelayd saw the four start" wait_for 30 four_running
check "their episodes settled" wait_for 30 policy_quiet
sleep 2		# a message would be on its way by now
check "no message" test "$(requests)" -eq 0
check "notifications.jsonl is empty" test "$(count_lines "$T/spool/notifications.jsonl")" -eq 0
"$SVRELAYCTL" -c "$T/svrelay.conf" status >"$T/status.out" 2>&1
check "svrelayctl status shows every tracked process" \
    test "$(grep -cE 'web:web|worker:worker_[0-2]' "$T/status.out")" -ge 4
done_testing

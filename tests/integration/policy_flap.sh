#!/bin/bash
# A crash loop (a program that dies every 1.5 s under autorestart) for
# 40 s: at most 4 messages, one of which says it is flapping, with a count.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/policy_lib.sh"

start_fake
policy_start webhook 'level = "problems";' "
[program:loop]
command=/bin/sh -c 'sleep 1.5; exit 1'
startsecs=1
startretries=100
autorestart=true
"
check "the first unexpected exit" wait_for 20 has_event PROCESS_STATE_EXITED loop
start=$(date +%s)
check "a message came" wait_for 20 has_posts 1
sleep $((40 - ($(date +%s) - start)))	# the loop goes on for 40 s
exits=$(json_lines "$T/spool/events.jsonl" "1 if e['event'] in ('PROCESS_STATE_EXITED', 'PROCESS_STATE_BACKOFF') else None" | wc -l)
diag "$exits deaths (EXITED or BACKOFF) in 40 s; $(posts) messages:"
texts | while read -r l; do diag "  $l"; done
check "it died over and over ($exits times)" test "$exits" -ge 15
check "at most 4 messages" test "$(posts)" -le 4
check "one says it is flapping, with a count" \
    test "$(texts | grep -cE 'loop:loop is flapping on test-host — [0-9]+ unexpected exits')" -eq 1
check "status: loop:loop is flapping" \
    test "$(policy_field "[x['flapping'] for x in p['processes'] if x['process'] == 'loop:loop'][0]")" = yes
check "status counts one flapping process" test "$(policy_field "p['flapping']")" = 1
done_testing

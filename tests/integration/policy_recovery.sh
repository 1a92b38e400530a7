#!/bin/bash
# A crash and then a recovery (a program that exits unexpectedly once,
# after startsecs, and runs once restarted) is one message that says both.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/policy_lib.sh"

start_fake
policy_start webhook 'level = "problems";' "
[program:api]
command=/bin/sh -c 'if [ -e $T/crashed ]; then exec sleep 3600; fi; touch $T/crashed; sleep 2.5; exit 3'
startsecs=1
autorestart=unexpected
"
check "it exited unexpectedly" wait_for 20 has_event PROCESS_STATE_EXITED api
check "and runs again" wait_for 20 state_is api:api RUNNING
check "a message came" wait_for 20 has_posts 1
sleep 4		# time enough for a second message: none may come
check "exactly one message" test "$(posts)" -eq 1
text=$(texts)
diag "text: $text"
check "it says it crashed" grep -q "exited unexpectedly" <<<"$text"
check "and that it runs again" grep -qE "RUNNING on test-host — .*restarted" <<<"$text"
check "and how: RUNNING → EXITED → STARTING → RUNNING" \
    grep -q "RUNNING → EXITED → STARTING → RUNNING" <<<"$text"
done_testing

#!/bin/bash
# A boot crash (a program that exits after 1 s, startsecs=3, startretries=2)
# is one message, saying FATAL and naming the host and the process, within
# 3 s of supervisord's FATAL event, and no second message follows.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/policy_lib.sh"

start_fake
policy_start webhook 'level = "problems";' "
[program:crash]
command=/bin/sh -c 'sleep 1; exit 1'
startsecs=3
startretries=2
autorestart=true
"
check "supervisord gave up (FATAL)" wait_for 40 has_event PROCESS_STATE_FATAL crash
check "a message came" wait_for 10 has_posts 1
sleep 6		# time enough for a second message: none may come
check "exactly one message" test "$(posts)" -eq 1
text=$(texts)
diag "text: $text"
check "it says FATAL" grep -q "FATAL" <<<"$text"
check "it names the host" grep -q "test-host" <<<"$text"
check "it names the process (group:name)" grep -q "crash:crash" <<<"$text"
check "it tells the story: three tries" grep -q "STARTING → BACKOFF ×3 → FATAL" <<<"$text"
fatal_t=$(event_time PROCESS_STATE_FATAL crash)
post_t=$(json_lines "$FAKE_LOG" "e['time'] if ($POSTS) else None" | head -n 1)
lat=$("$PYTHON" -c "print('%.3f' % ($post_t - $fatal_t))")
diag "latency from the FATAL event to the POST: $lat s"
check "it arrived within 3 s of the FATAL event ($lat s)" \
    "$PYTHON" -c "import sys; sys.exit(not 0 <= $lat <= 3.0)"
check "status tracks crash:crash as FATAL" state_is crash:crash FATAL
check "the policy's state is saved" test -s "$T/spool/policy.json"
done_testing

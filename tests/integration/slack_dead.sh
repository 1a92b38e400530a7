#!/bin/bash
# invalid_auth is permanent: each message is tried once and goes to
# dead.jsonl, logged once, counted in status; no retry storm.  With the
# right token (SIGHUP), retry-dead sends them.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"

start_fake
slack_conf "$T/svrelay.conf" api-badtoken
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
fatal_events 3 | send_events "$(relayd_sock)" || bail "could not send events"

dead_lines() { count_lines "$T/spool/dead.jsonl"; }
three_dead() { [ "$(dead_lines)" -eq 3 ]; }
check "three dead letters" wait_for 20 three_dead
sleep 4
check "one request a message, no retries" test "$(requests)" -eq 3
check "each answered invalid_auth" \
    test "$(requests "'invalid_auth' in e['reply']")" -eq 3
check "logged once, not once per message" \
    test "$(grep -c "invalid_auth (permanent)" "$T/svrelayd.log")" -eq 1
check "status counts them" test "$(delivery_field \
    "d['dead_letters'] == 3 and d['failed'] == 3 and d['last_error'] == 'invalid_auth'")" = True
status_has_no_token() { ctl status >"$T/status.json" && ! grep -q S3CRET "$T/status.json"; }
check "status shows no token" status_has_no_token
check "dead lists them" test "$(ctl dead | "$PYTHON" -c \
    "import json,sys; r=json.load(sys.stdin); print(r['count'], len(r['dead']), r['dead'][0]['error'])")" = "3 3 invalid_auth"
check "notifications.jsonl: three queued, three failed" test \
    "$(json_lines "$T/spool/notifications.jsonl" "e['state']" | sort | uniq -c | awk '{printf "%s %s,", $1, $2}')" = "3 failed,3 queued,"

# The right token, then retry-dead.
slack_conf "$T/svrelay.conf" api
kill -HUP "$RELAYD_PID"
wait_for 10 grep -q "configuration reloaded" "$T/svrelayd.log"
check "retry-dead re-queues three" test "$(ctl retry-dead | "$PYTHON" -c \
    "import json,sys; print(json.load(sys.stdin)['requeued'])")" = 3
check "dead.jsonl is empty" test "$(dead_lines)" -eq 0
check "all three delivered" wait_for 20 has_requests 3 "e['answer'] == 200"
check "status: none dead any more" test "$(delivery_field "d['dead_letters']")" = 0
check "the token is in no log or spool file" no_secrets
done_testing

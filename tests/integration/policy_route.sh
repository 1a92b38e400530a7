#!/bin/bash
# notify.routes: a rule { match = "api:*"; webhook_url = "…/API"; } sends
# api's messages to that webhook and the rest to the default one.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/policy_lib.sh"

API_PATH=/services/T/B/API
start_fake --webhook "$API_PATH"
crasher="command=/bin/sh -c 'sleep 0.3; exit 1'
startsecs=3
startretries=1
autorestart=true"
policy_start webhook "level = \"problems\";
  routes = ( { match = \"api:*\"; webhook_url = \"$FAKE_URL$API_PATH\"; } );" "
[program:api_00]
$crasher

[group:api]
programs=api_00

[program:w]
$crasher

[group:jobs]
programs=w
"
fatal_both() { has_event PROCESS_STATE_FATAL api_00 && has_event PROCESS_STATE_FATAL w; }
check "both gave up (FATAL)" wait_for 30 fatal_both
check "two messages" wait_for 15 has_posts 2
sleep 3		# time enough for a third: none may come
check "no more than two" test "$(posts)" -eq 2
check "api's went to the api route's webhook" test \
    "$(texts "e['path'] == '$API_PATH'" | grep -c '^api:api_00 FATAL on test-host')" -eq 1
check "and only api's" test "$(posts "e['path'] == '$API_PATH'")" -eq 1
check "jobs' went to the default webhook" test \
    "$(texts "e['path'] == '$WEBHOOK_PATH'" | grep -c '^jobs:w FATAL on test-host')" -eq 1
check "the outbox names the route" test \
    "$(json_lines "$T/spool/notifications.jsonl" "e.get('route') if e['state'] == 'queued' else None")" = "webhook:1"
check "neither webhook's path is in a log or spool file" sh -c \
    "! grep -rlE 'S3CRET|B000/XXXX|T/B/API' '$T' --exclude-dir=fake --exclude='*.conf'"
done_testing

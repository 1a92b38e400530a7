#!/bin/bash
# A 429 with Retry-After: 4 holds everything queued for that channel: the
# next try comes no sooner than 4 s later.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"

start_fake
slack_conf "$T/svrelay.conf" api
fake_ctl '{"fault":"ratelimit","retry_after":4,"count":1}'
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
fatal_events 3 | send_events "$(relayd_sock)" || bail "could not send events"

check "all three delivered" wait_for 30 has_requests 3 "e['answer'] == 200"
sleep 2
check "one 429" test "$(requests "e['answer'] == 429")" -eq 1
check "four requests in all: the 429 and three posts" test "$(requests)" -eq 4
check "nothing went out sooner than Retry-After" "$PYTHON" - "$FAKE_LOG" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
t429 = [e["time"] for e in r if e["answer"] == 429][0]
later = [e["time"] for e in r if e["time"] > t429]
# Every request after the 429 came at least 4 s after it.
sys.exit(not (len(later) == 3 and min(later) - t429 >= 4.0 - 0.01))
PY
check "each message posted once" "$PYTHON" - "$FAKE_LOG" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
texts = [json.loads(e["body"])["text"] for e in r if e["answer"] == 200]
sys.exit(not (len(texts) == 3 and len(set(texts)) == 3))
PY
check "svrelayd logged the rate limit" grep -q "rate limited" "$T/svrelayd.log"
check "the token is in no log or spool file" no_secrets
done_testing

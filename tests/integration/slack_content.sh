#!/bin/bash
# What a message says, in both modes: host, group:process, state, how it
# got there, pid and expected; only FATAL and EXITED expected:0 are sent.
# Then svrelayctl test prints Slack's answer.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"

events() {
	printf '%s\n' \
	    "PROCESS_STATE_RUNNING processname:api_00 groupname:api from_state:STARTING pid:11" \
	    "PROCESS_STATE_EXITED processname:api_00 groupname:api from_state:RUNNING expected:1 pid:11" \
	    "PROCESS_STATE_BACKOFF processname:api_00 groupname:api from_state:STARTING tries:1" \
	    "PROCESS_STATE_FATAL processname:api_00 groupname:api from_state:BACKOFF" \
	    "PROCESS_STATE_EXITED processname:w_1 groupname:jobs from_state:RUNNING expected:0 pid:4321"
}

# check_content MODE PATHPREFIX
check_content() {
	local mode=$1 prefix=$2
	check "$mode: two messages" wait_for 15 has_requests 2 "e['path'].startswith('$prefix')"
	sleep 1
	check "$mode: only FATAL and EXITED expected:0" \
	    test "$(requests "e['path'].startswith('$prefix')")" -eq 2
	check "$mode: what the messages say" "$PYTHON" - "$FAKE_LOG" "$prefix" "$mode" <<'PY'
import json, sys
log, prefix, mode = sys.argv[1:]
r = [json.loads(l) for l in open(log) if json.loads(l)["path"].startswith(prefix)]
fatal, exited = (json.loads(e["body"]) for e in r)
def has(m, *words):
    blob = json.dumps(m, ensure_ascii=False)
    bad = [w for w in words if w not in m["text"] or w not in blob]
    if bad:
        print("# missing %s in %s" % (bad, m["text"]), file=sys.stderr)
    return not bad
good = has(fatal, "test-host", "api:api_00", "FATAL", "BACKOFF → FATAL")
good &= has(exited, "test-host", "jobs:w_1", "EXITED", "RUNNING → EXITED",
            "pid 4321", "expected 0")
good &= fatal["attachments"][0]["color"] != exited["attachments"][0]["color"]
if mode == "api":
    good &= fatal.get("channel") == "#ops"
    good &= all(e["headers"].get("Authorization", "").startswith("Bearer ")
                for e in r)
else:
    good &= "channel" not in fatal
    good &= all("Authorization" not in e["headers"] for e in r)
sys.exit(not good)
PY
}

start_fake
slack_conf "$T/svrelay.conf" webhook
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
events | send_events "$(relayd_sock)" || bail "could not send events"
check_content webhook /services/

"$SVRELAYCTL" -c "$T/svrelay.conf" test >"$T/ctl-test.out" 2>&1
check "svrelayctl test (webhook) prints Slack's answer" \
    grep -q '"http_status": *200' "$T/ctl-test.out"
check "svrelayctl test shows no secret" sh -c "! grep -q 'B000/XXXX' '$T/ctl-test.out'"

# The Web API: same svrelayd, reloaded.
slack_conf "$T/svrelay.conf" api
kill -HUP "$RELAYD_PID"
wait_for 10 grep -q "configuration reloaded" "$T/svrelayd.log"
events | SERIAL_BASE=100 send_events "$(relayd_sock)" || bail "could not send events"
check_content api /api/chat.postMessage

"$SVRELAYCTL" -c "$T/svrelay.conf" test >"$T/ctl-test.out" 2>&1
check "svrelayctl test (api) prints Slack's answer" \
    grep -q '"ok": *true' "$T/ctl-test.out"
check "the sent line keeps Slack's ts" test \
    "$(json_lines "$T/spool/notifications.jsonl" "e.get('ts')" | grep -c '^1700000000')" -ge 2
check "the token is in no log or spool file" no_secrets
done_testing

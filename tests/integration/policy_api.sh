#!/bin/bash
# The Web API (token and channel, against the fake's chat.postMessage and
# chat.update): the flapping message is edited in place (chat.update with
# its ts) as its counts grow, and the recovery after a FATAL is posted in
# the FATAL message's thread (thread_ts).
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/policy_lib.sh"

start_fake
policy_start api 'level = "problems"; flap_update_ms = 3000; settle_ms = 3000;' "
[program:loop]
command=/bin/sh -c 'sleep 1.5; exit 1'
startsecs=1
startretries=100
autorestart=true

[program:fixme]
command=/bin/sh -c 'if [ -e $T/fixed ]; then exec sleep 3600; fi; sleep 0.3; exit 1'
startsecs=3
startretries=2
autorestart=true
"
POST="e['path'] == '/api/chat.postMessage'"
UPDATE="e['path'] == '/api/chat.update' and e['answer'] == 200"
updates() { requests "$UPDATE"; }
has_updates() { [ "$(updates)" -ge "$1" ]; }

# fixme gives up; then it is fixed and started by hand.
check "fixme gave up (FATAL)" wait_for 30 has_event PROCESS_STATE_FATAL fixme
check "its message came" wait_for 10 has_posts 1 "$POST and 'fixme:fixme FATAL' in e['body']"
touch "$T/fixed"
sv "$T/sd.conf" start fixme >"$T/start.out" 2>&1
check "the flapping message came" wait_for 30 has_posts 1 "$POST and 'loop:loop is flapping' in e['body']"
check "it was edited twice" wait_for 20 has_updates 2
check "the recovery came" wait_for 20 has_posts 1 "$POST and 'fixme:fixme RUNNING' in e['body']"
sv "$T/sd.conf" stop loop >/dev/null 2>&1

check "the edits are chat.update of the flapping message's ts, with growing counts" \
    "$PYTHON" - "$FAKE_LOG" <<'PY'
import json, re, sys
r = [json.loads(l) for l in open(sys.argv[1])]
flap = [e for e in r if e["path"] == "/api/chat.postMessage" and
        "loop:loop is flapping" in json.loads(e["body"])["text"]]
ups = [e for e in r if e["path"] == "/api/chat.update"]
others = [e for e in ups if "loop:loop" not in json.loads(e["body"])["text"]]
ts = json.loads(flap[0]["reply"])["ts"]
counts = [int(re.search(r"(\d+) unexpected exits",
          json.loads(e["body"])["text"]).group(1)) for e in flap + ups]
bodies = [json.loads(e["body"]) for e in ups]
print("# flapping message ts %s; counts %s" % (ts, counts), file=sys.stderr)
ok = len(flap) == 1 and not others and len(ups) >= 2
ok &= all(b["ts"] == ts and b["channel"] == "C0FAKE" for b in bodies)
ok &= all(a < b for a, b in zip(counts, counts[1:]))
ok &= all(e["answer"] == 200 for e in ups)
sys.exit(not ok)
PY
check "the recovery is in the FATAL message's thread" "$PYTHON" - "$FAKE_LOG" <<'PY'
import json, sys
r = [json.loads(l) for l in open(sys.argv[1])]
posts = [(e, json.loads(e["body"])) for e in r
         if e["path"] == "/api/chat.postMessage" and e["answer"] == 200]
fatal = [(e, b) for e, b in posts if "fixme:fixme FATAL" in b["text"]]
rec = [(e, b) for e, b in posts if "fixme:fixme RUNNING" in b["text"]]
ts = json.loads(fatal[0][0]["reply"])["ts"]
print("# FATAL ts %s; recovery: %s" % (ts, rec[0][1]["text"]), file=sys.stderr)
sys.exit(not (len(fatal) == 1 and len(rec) == 1 and
              rec[0][1].get("thread_ts") == ts and
              "recovered" in rec[0][1]["text"]))
PY
check "the token is in no log or spool file" no_secrets
done_testing

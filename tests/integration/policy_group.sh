#!/bin/bash
# At level "changes", restarting a group of 20 programs is at most 2
# messages, which together account for all 20.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/policy_lib.sh"

progs=""
names=""
for i in $(seq -w 0 19); do
	progs="$progs
[program:api_$i]
command=/bin/sleep 3600
startsecs=1
stopwaitsecs=2"
	names="$names${names:+,}api_$i"
done
progs="$progs

[group:api]
programs=$names
"
start_fake
policy_start webhook 'level = "changes";' "$progs"
all_running() {
	[ "$(policy_field "sum(1 for x in p['processes'] if x['process'].startswith('api:') and x['state'] == 'RUNNING')")" = 20 ]
}
check "svrelayd tracks all 20 RUNNING" wait_for 30 all_running
check "the start is told and settled" wait_for 30 policy_quiet
sleep 1
before=$(posts)
diag "$before message(s) for the start"

sv "$T/sd.conf" restart 'api:*' >"$T/restart.out" 2>&1 || diag "restart: $(cat "$T/restart.out")"
check "the restart is told" wait_for 30 has_posts $((before + 1))
check "and its episodes are over" wait_for 30 policy_quiet
sleep 3		# time enough for a late message
n=$(($(posts) - before))
diag "$n message(s) for the restart:"
texts | tail -n +$((before + 1)) | while read -r l; do diag "  $l"; done
check "at most 2 messages for the restart ($n)" test "$n" -le 2
check "together they account for all 20" "$PYTHON" - "$FAKE_LOG" "$before" <<'PY'
import json, re, sys
log, before = sys.argv[1], int(sys.argv[2])
r = [json.loads(l) for l in open(log)]
msgs = [json.loads(e["body"]) for e in r
        if e["answer"] == 200][before:]
count, names = 0, set()
for m in msgs:
    t = m["text"]
    g = re.match(r"(\d+) processes restarted on test-host", t)
    if g:
        count += int(g.group(1))
    elif re.match(r"api:api_\d\d RUNNING on test-host — restarted", t):
        count += 1
    blob = json.dumps(m, ensure_ascii=False)
    names |= set(re.findall(r"api:api_\d\d", blob))
print("# counted %d, named %d" % (count, len(names)), file=sys.stderr)
sys.exit(not (count == 20 and len(names) == 20))
PY
done_testing

#!/bin/bash
# svrelayctl status lists the tracked processes one a line (process,
# server, state, since, flapping) under the real supervisord and listener:
# one program RUNNING, one FATAL.  --json keeps the raw list.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/policy_lib.sh"

start_fake
policy_start webhook 'level = "problems";' "
[program:up]
command=/bin/sleep 600
startsecs=1

[program:down]
command=/bin/sh -c 'exit 1'
startsecs=1
startretries=0
"
check "svrelayd tracks up:up as RUNNING" wait_for 30 state_is up:up RUNNING
check "svrelayd tracks down:down as FATAL" wait_for 30 state_is down:down FATAL

"$SVRELAYCTL" -c "$T/svrelay.conf" status > "$T/status.txt"
check "status: exit 0" [ $? -eq 0 ]
diag "$(grep -A3 ' processes ' "$T/status.txt")"
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
check "status: processes 3 (the listener's own eventlistener too)" grep -Eq '^ +processes +3$' "$T/status.txt"
check "status: a header line" grep -Eq '^ +PROCESS +SERVER +STATE +SINCE +FLAPPING$' "$T/status.txt"
check "status: up:up RUNNING on one line" \
	grep -Eq "^ +up:up +sv-test +RUNNING +$ts +no$" "$T/status.txt"
check "status: down:down FATAL on one line" \
	grep -Eq "^ +down:down +sv-test +FATAL +$ts +no$" "$T/status.txt"
check "status: no nested key/value list of processes" \
	bash -c "! grep -Eq '^ +process +(up|down):' '$T/status.txt'"

"$SVRELAYCTL" -c "$T/svrelay.conf" status --json > "$T/status.json"
check "status --json: the raw list" "$PYTHON" -c '
import json, sys
p = json.load(open(sys.argv[1]))["status"]["policy"]["processes"]
s = {x["process"]: x["state"] for x in p}
sys.exit(not (s.get("up:up") == "RUNNING" and s.get("down:down") == "FATAL"))' "$T/status.json"
done_testing

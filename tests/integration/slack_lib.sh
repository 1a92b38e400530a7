# Shared by the slack_*.sh scripts (after lib.sh): the fake Slack, a
# svrelay.conf pointing at it, and a real socket client for svrelayd.

FAKE=$SVRELAY_TESTDIR/integration/fake_slack.py
FAKE_TOKEN=xoxb-test-token-S3CRETVALUE
WEBHOOK_PATH=/services/T000/B000/XXXX

[ -x "$SVRELAYD" ] || bail "svrelayd is not installed at $SVRELAYD"

# start_fake [ARGS...]: start the fake Slack; sets FAKE_PORT, FAKE_URL and
# FAKE_LOG (its request log, outside what the secret grep looks at).
start_fake() {
	mkdir -p "$T/fake"
	FAKE_LOG=$T/fake/requests.jsonl
	"$PYTHON" "$FAKE" --port-file "$T/fake/port" --log "$FAKE_LOG" \
	    --token "$FAKE_TOKEN" --hang-max 120 "$@" \
	    >"$T/fake/out" 2>"$T/fake/err" &
	PIDS="$PIDS $!"
	wait_for 10 test -s "$T/fake/port" || bail "fake Slack did not start"
	FAKE_PORT=$(cat "$T/fake/port")
	FAKE_URL=http://127.0.0.1:$FAKE_PORT
}

# fake_ctl JSON: script faults (see fake_slack.py); fake_ctl reset.
fake_ctl() {
	local path=/_control data=$1
	[ "$1" = reset ] && { path=/_control/reset; data='{}'; }
	"$PYTHON" - "$FAKE_URL$path" "$data" <<'PY'
import sys, urllib.request
urllib.request.urlopen(urllib.request.Request(sys.argv[1],
    data=sys.argv[2].encode(), method="POST"), timeout=10).read()
PY
}

# slack_conf FILE MODE [EXTRA]: MODE webhook, api or api-badtoken; EXTRA
# goes inside slack = { … }.  Timeouts and retries are short for tests.
# SLACK_NOTIFY goes inside notify = { … }: by default no grouping window
# and a 1 s settle time, so that each FATAL is one message at once and an
# unexpected EXITED one a second later (the delivery tests count them).
SLACK_NOTIFY_DEFAULT='settle_ms = 1000; group_window_ms = 0; group_max_ms = 0;'
slack_conf() {
	local f=$1 mode=$2 extra=${3:-} dest
	case $mode in
	webhook) dest="webhook_url = \"$FAKE_URL$WEBHOOK_PATH\";" ;;
	api) dest="token = \"$FAKE_TOKEN\"; channel = \"#ops\"; api_url = \"$FAKE_URL/api/\";" ;;
	api-badtoken) dest="token = \"xoxb-wrong-S3CRETWRONG\"; channel = \"#ops\"; api_url = \"$FAKE_URL/api/\";" ;;
	esac
	write_conf "$f" "slack = {
  $dest
  connect_timeout_ms = 1000;
  timeout_ms = ${SLACK_TIMEOUT_MS:-2000};
  retry_min_ms = 500;
  retry_max_ms = 4000;
  $extra
};
notify = { ${SLACK_NOTIFY:-$SLACK_NOTIFY_DEFAULT} };"
}

# send_events SOCKET < LINES: each input line "EVENT key:value key:value…"
# becomes an event JSON line sent to svrelayd (one connection, each
# acknowledged before the next).  Serials go on from $SERIAL_BASE.
send_events() {
	"$PYTHON" -c "$SEND_EVENTS_PY" "$1" "${SERIAL_BASE:-1}"
}
SEND_EVENTS_PY='
import json, socket, sys, datetime
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rwb")
serial = int(sys.argv[2])
for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    name, toks = parts[0], dict(p.split(":", 1) for p in parts[1:])
    now = datetime.datetime.now(datetime.timezone.utc)
    ev = {"id": "test-host:sv-test:%d:%d" % (serial, serial),
          "host": "test-host", "server": "sv-test", "pool": "svrelay",
          "serial": serial, "poolserial": serial, "event": name,
          "time": now.strftime("%Y-%m-%dT%H:%M:%S.") +
                  "%03dZ" % (now.microsecond // 1000),
          "payload": toks}
    f.write((json.dumps(ev) + "\n").encode())
    f.flush()
    reply = json.loads(f.readline())
    if not reply.get("ok"):
        sys.exit("svrelayd refused %s: %s" % (name, reply))
    serial += 1
'

# fatal_events N: N PROCESS_STATE_FATAL lines for processes p1…pN.
fatal_events() {
	local i
	for i in $(seq "$1"); do
		echo "PROCESS_STATE_FATAL processname:p$i groupname:grp from_state:BACKOFF"
	done
}

# requests [EXPR]: how many requests the fake logged (matching EXPR, a
# Python expression over e).
requests() {
	json_lines "$FAKE_LOG" "1 if (${1:-True}) else None" | wc -l
}

# has_requests N [EXPR]: at least N requests (for wait_for).
has_requests() { [ "$(requests "${2:-True}")" -ge "$1" ]; }

# no_secrets: neither the token nor the webhook's secret path is in any
# file under the test dir but the fake's own request log and the config.
no_secrets() {
	! grep -rlE "S3CRET|B000/XXXX" "$T" --exclude-dir=fake \
	    --exclude='*.conf' >"$T/secret-hits" 2>/dev/null
}

relayd_sock() { echo "$T/svrelay.sock"; }

# ctl CMD: send {"cmd":CMD} on svrelayd's socket, print the reply line.
ctl() {
	"$PYTHON" - "$(relayd_sock)" "$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
s.sendall((json.dumps({"cmd": sys.argv[2]}) + "\n").encode())
print(s.makefile("rb").readline().decode(), end="")
PY
}

# delivery_field EXPR: EXPR over d, the status's "delivery" object.
delivery_field() {
	ctl status | "$PYTHON" -c "import json,sys; d=json.load(sys.stdin)['status']['delivery']; print($1)"
}

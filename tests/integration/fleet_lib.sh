# Shared by the fleet_*.sh and metrics_*.sh scripts (after lib.sh and
# slack_lib.sh): the real Prometheus Alertmanager (Debian's
# prometheus-alertmanager), run on loopback ports with its own storage and
# config in the test's dir, and a second svrelayd + supervisord pair.

ALERTMANAGER=/usr/bin/prometheus-alertmanager
# The installed crash-context helper (the listener's default path is the
# final prefix's, not tests/inst's).
AM_CONTEXT_HELPER=${SVRELAY_LIBEXECDIR:-$(dirname "$SVRELAY_BINDIR")/libexec}/svrelay/svrelay-context

# free_port: a TCP port on 127.0.0.1 nobody listens on (now).
free_port() {
	"$PYTHON" -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# am_conf FILE SLACK_URL: an Alertmanager config that groups by
# alertname, group and process (across hosts) and sends to SLACK_URL
# (a webhook), with its resolutions; short waits for tests.
am_conf() {
	cat > "$1" <<YML
route:
  receiver: slack
  group_by: [alertname, group, process]
  group_wait: ${AM_GROUP_WAIT:-4s}
  group_interval: ${AM_GROUP_INTERVAL:-5s}
  repeat_interval: 1h
receivers:
- name: slack
  slack_configs:
  - api_url: $2
    channel: '#ops'
    send_resolved: true
    title: '[{{ .Status | toUpper }}:{{ .Alerts | len }}] {{ .CommonLabels.alertname }} {{ .CommonLabels.group }}:{{ .CommonLabels.process }}'
    text: '{{ range .Alerts }}{{ .Status }} host={{ .Labels.host }}: {{ .Annotations.summary }}
      {{ end }}'
YML
}

# am_start NAME WEBPORT CLUSTERPORT [PEERPORT]: start an Alertmanager
# (clustered with the one at PEERPORT, if given) with $T/NAME.yml and
# storage $T/NAME.data; waits until it is ready.  Sets AM_PID_NAME.
am_start() {
	local name=$1 web=$2 cport=$3 peer=${4:-} pid
	mkdir -p "$T/$name.data"
	"$ALERTMANAGER" --config.file="$T/$name.yml" \
	    --storage.path="$T/$name.data" \
	    --web.listen-address="127.0.0.1:$web" \
	    --cluster.listen-address="127.0.0.1:$cport" \
	    ${peer:+--cluster.peer=127.0.0.1:$peer} \
	    --cluster.peer-timeout=3s --cluster.settle-timeout=10s \
	    --cluster.pushpull-interval=2s --cluster.reconnect-interval=1s \
	    --log.level=debug >>"$T/$name.log" 2>&1 &
	pid=$!
	PIDS="$PIDS $pid"
	eval "AM_PID_$name=$pid"
	wait_for 30 am_ready "$web"
}

# am_ready WEBPORT: does that Alertmanager answer /-/ready?
am_ready() {
	"$PYTHON" - "$1" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen("http://127.0.0.1:%s/-/ready" % sys.argv[1],
                           timeout=2).read()
except Exception:
    sys.exit(1)
PY
}

# am_stop NAME: SIGTERM that Alertmanager and wait for it.
am_stop() {
	local pid
	eval "pid=\$AM_PID_$1"
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null
}

# am_alerts WEBPORT EXPR: EXPR (Python, over a: one alert of GET
# /api/v2/alerts) for each alert Alertmanager holds, one a line.
am_alerts() {
	"$PYTHON" - "$1" "$2" <<'PY'
import json, sys, urllib.request
alerts = json.load(urllib.request.urlopen(
    "http://127.0.0.1:%s/api/v2/alerts" % sys.argv[1], timeout=5))
for a in alerts:
    r = eval(sys.argv[2])
    if r is not None:
        print(r)
PY
}

# am_conf_svrelay FILE HOST URLS [EXTRA]: a svrelay.conf (write_conf) with
# host HOST, no Slack, alertmanager.urls = URLS (a libconfig list body)
# and short retries; notify as the policy tests have it.
am_conf_svrelay() {
	local f=$1 host=$2 urls=$3 extra=${4:-}
	write_conf "$f" "alertmanager = {
  urls = [ $urls ];
  resend_ms = ${AM_RESEND_MS:-3000};
  timeout_ms = 2000;
  retry_min_ms = 200;
  retry_max_ms = 1000;
};
notify = { settle_ms = 1000; group_window_ms = 0; group_max_ms = 0; };
context = { helper = \"$AM_CONTEXT_HELPER\"; };
$extra"
	sed -i "s/^host = \"test-host\";/host = \"$host\";/" "$f"
}

# in_subdir DIR COMMAND...: run COMMAND with T set to $T/DIR (made), so
# that lib.sh's helpers put a second svrelayd and supervisord there.
in_subdir() {
	local top=$T rc
	T=$top/$1
	mkdir -p "$T"
	chmod 755 "$T"
	shift
	"$@"
	rc=$?
	T=$top
	return $rc
}

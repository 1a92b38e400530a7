# Shared by the integration scripts: TAP output, a temp dir per test, and
# starting the real supervisord and the installed svrelay binaries.
#
# Environment (set by make check, see tests/local.mk):
#   SVRELAY_BINDIR, SVRELAY_SBINDIR  the installed layout under tests/inst
#   SVRELAY_TESTDIR                  the source tests/ directory
#   SVRELAY_TMPDIR                   where each test makes its own dir

set -u

PYTHON=/usr/bin/python3		# Debian's: supervisor lives there
SUPERVISORD=/usr/bin/supervisord
SUPERVISORCTL=/usr/bin/supervisorctl
: "${SVRELAY_BINDIR:?run through make check}"
: "${SVRELAY_SBINDIR:?run through make check}"
: "${SVRELAY_TESTDIR:?run through make check}"
: "${SVRELAY_TMPDIR:=/tmp}"
LISTENER=$SVRELAY_BINDIR/svrelay-listener
SVRELAYD=$SVRELAY_SBINDIR/svrelayd
SVRELAYCTL=$SVRELAY_BINDIR/svrelayctl

# --- TAP --------------------------------------------------------------
TAP_N=0
TAP_FAILED=0
ok() {		# ok DESCRIPTION: a passed test point
	TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"
}
not_ok() {	# not_ok DESCRIPTION: a failed test point
	TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1))
	echo "not ok $TAP_N - $*"
}
check() {	# check DESCRIPTION COMMAND...: a test point from a command
	local desc=$1; shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
diag() { printf '# %s\n' "$*"; }
bail() { echo "Bail out! $*"; exit 1; }
done_testing() { echo "1..$TAP_N"; }

# --- temp dir and cleanup --------------------------------------------
mkdir -p "$SVRELAY_TMPDIR"
T=$(mktemp -d "$SVRELAY_TMPDIR/$(basename "$0" .sh).XXXXXX")
chmod 755 "$T"
PIDS=""
SUPERVISORD_CONFS=""
cleanup() {
	local c p
	for c in $SUPERVISORD_CONFS; do
		[ -f "$c.pid" ] && kill -TERM "$(cat "$c.pid")" 2>/dev/null
	done
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $PIDS; do
		for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
		kill -KILL "$p" 2>/dev/null
	done
	for c in $SUPERVISORD_CONFS; do
		[ -f "$c.pid" ] && kill -KILL "$(cat "$c.pid")" 2>/dev/null
	done
	wait 2>/dev/null
	if [ "$TAP_FAILED" -eq 0 ] && [ -z "${KEEP_TMP:-}" ]; then
		rm -rf "$T"
	else
		diag "kept $T"
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			diag "--- $f (last 20 lines)"
			tail -n 20 "$f" | sed 's/^/#   /'
		done
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# wait_for SECONDS COMMAND...: poll until COMMAND succeeds; 1 on timeout.
wait_for() {
	local limit=$1; shift
	local end=$(( $(date +%s%N) / 1000000 + limit * 1000 ))
	while ! "$@"; do
		[ $(( $(date +%s%N) / 1000000 )) -ge "$end" ] && return 1
		sleep 0.05
	done
	return 0
}

# count_lines FILE: lines in FILE, 0 if absent.
count_lines() { if [ -f "$1" ]; then wc -l < "$1"; else echo 0; fi; }

# jq-free JSON: json_field FILE EXPR runs a Python expression over each line
# (bound to e) and prints the results, one a line.
json_lines() {
	"$PYTHON" - "$@" <<'PY'
import json, sys
path, expr = sys.argv[1], sys.argv[2]
try:
    f = open(path, encoding="utf-8")
except FileNotFoundError:
    sys.exit(0)
for line in f:
    if line.strip():
        e = json.loads(line)
        r = eval(expr)
        if r is not None:
            print(r)
PY
}

# --- svrelay ----------------------------------------------------------
# write_conf FILE [EXTRA]: a svrelay.conf for this test's dir; EXTRA is
# appended verbatim (libconfig).
write_conf() {
	local f=$1; shift
	mkdir -p "$T/spool"
	cat > "$f" <<CONF
socket = "$T/svrelay.sock";
spool_dir = "$T/spool";
host = "test-host";
log = { level = "debug"; };
listener = { ack_timeout_ms = 2000; backoff_min_ms = 50; backoff_max_ms = 1000; };
${1:-}
CONF
}

# start_relayd CONF [LOG]: start svrelayd in the foreground (backgrounded
# here) and wait until its socket accepts.  Sets RELAYD_PID.
start_relayd() {
	local conf=$1 log=${2:-$T/svrelayd.log}
	local sock
	sock=$(sed -n 's/^socket *= *"\(.*\)";/\1/p' "$conf")
	"$SVRELAYD" -c "$conf" >>"$log" 2>&1 &
	RELAYD_PID=$!
	PIDS="$PIDS $RELAYD_PID"
	wait_for 10 sock_accepts "$sock" || { diag "svrelayd did not start"; return 1; }
}

# sock_accepts PATH: does a Unix socket at PATH accept a connection?
sock_accepts() {
	[ -S "$1" ] && "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError:
    sys.exit(1)' "$1"
}

stop_relayd() {	# SIGTERM and wait; returns svrelayd's exit status
	kill -TERM "$RELAYD_PID" 2>/dev/null
	wait "$RELAYD_PID"
}

# --- supervisord ------------------------------------------------------
# write_supervisord_conf FILE SVRELAY_CONF [EXTRA]: a supervisord config with
# the svrelay eventlistener; EXTRA holds [program:x] sections.
write_supervisord_conf() {
	local f=$1 svconf=$2 extra=${3:-}
	cat > "$f" <<CONF
[supervisord]
nodaemon=true
logfile=$T/supervisord.log
loglevel=debug
pidfile=$f.pid
childlogdir=$T
identifier=sv-test

[unix_http_server]
file=$T/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$T/supervisor.sock

[eventlistener:svrelay]
command=$LISTENER -c $svconf
events=PROCESS_STATE,PROCESS_LOG,SUPERVISOR_STATE_CHANGE,TICK_60
buffer_size=1024
autorestart=true
startsecs=0
stderr_logfile=$T/listener.log
; the protocol tokens on stdout are not worth a log file
stdout_logfile=NONE

$extra
CONF
}

# start_supervisord CONF: start it and wait until the listener is RUNNING.
start_supervisord() {
	local conf=$1
	SUPERVISORD_CONFS="$SUPERVISORD_CONFS $conf"
	"$PYTHON" "$SUPERVISORD" -c "$conf" >>"$T/supervisord.out" 2>&1 &
	PIDS="$PIDS $!"
	SUPERVISORD_PID=$!
	wait_for 20 sv_running "$conf" svrelay
}

sv() {		# sv CONF ARGS...: supervisorctl against that supervisord
	local conf=$1; shift
	"$PYTHON" "$SUPERVISORCTL" -c "$conf" "$@"
}

# sv_running CONF NAME: is NAME (or group:NAME) RUNNING?
sv_running() {
	sv "$1" status "$2" 2>/dev/null | grep -q RUNNING
}

#!/bin/bash
# Record what the real supervisord sends an eventlistener (capture.py), for
# svrelay's unit tests and fuzz corpus.  Usage: capture.sh OUTDIR
# Provokes: boot crash (STARTING/BACKOFF/FATAL, FATAL re-delivered after a
# FAIL), RUNNING/EXITED, STOPPING/STOPPED, non-ASCII and Undecodable log
# output, a 150 kB log chunk (split reads), PROCESS_COMMUNICATION,
# REMOTE_COMMUNICATION, TICK_5, PROCESS_GROUP_REMOVED/ADDED and
# SUPERVISOR_STATE_CHANGE_RUNNING/STOPPING.
set -eu
out=$(realpath "$1")
here=$(dirname "$(realpath "$0")")
T=$(mktemp -d)
trap 'kill $(cat $T/sd.pid 2>/dev/null) 2>/dev/null; rm -rf $T' EXIT
mkdir -p "$out"
rm -f "$out"/*.bin "$out"/reads.txt "$out"/results.txt

cat > "$T/logger.py" <<'PY'
import os, sys, time
time.sleep(1.5)
os.write(1, "héllo wörld ✓ 日本 😀\n".encode())
os.write(2, "stderr: ünïcödé ✗\n".encode())
snow = "☃".encode()			# 3 bytes, split across two writes
os.write(2, b"split:" + snow[:1]); time.sleep(0.3)
os.write(2, snow[1:] + b" done\n"); time.sleep(0.3)
os.write(2, b"bad byte \xff here\n"); time.sleep(0.3)
os.write(1, ("é" * 75000 + "\n").encode()); time.sleep(0.5)
os.write(1, "<!--XSUPERVISOR:BEGIN-->comm ça va\nline2<!--XSUPERVISOR:END-->".encode())
time.sleep(1000)
PY

cat > "$T/sd.conf" <<CONF
[supervisord]
nodaemon=true
logfile=$T/sd.log
loglevel=debug
pidfile=$T/sd.pid
identifier=sv-capture
[unix_http_server]
file=$T/s.sock
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
[supervisorctl]
serverurl=unix://$T/s.sock
[eventlistener:capture]
command=/usr/bin/python3 $here/capture.py $out
events=EVENT
buffer_size=1024
startsecs=0
stderr_logfile=$T/capture.err
[program:crash]
command=/bin/sh -c "sleep 1; exit 1"
startsecs=3
startretries=2
[program:worker]
command=/bin/sh -c "sleep 2; exit 3"
startsecs=1
autorestart=false
[program:stopper]
command=/bin/sleep 1000
[program:logger]
command=/usr/bin/python3 $T/logger.py
stdout_events_enabled=true
stderr_events_enabled=true
stdout_capture_maxbytes=1MB
CONF

ctl() { /usr/bin/python3 /usr/bin/supervisorctl -c "$T/sd.conf" "$@"; }
/usr/bin/python3 /usr/bin/supervisord -c "$T/sd.conf" &
for _ in $(seq 100); do ctl status >/dev/null 2>&1 && break; sleep 0.1; done
sleep 8				# crash reaches FATAL, worker exits, TICK_5
ctl stop stopper
ctl remove stopper
ctl update
/usr/bin/python3 - "$T/s.sock" <<'PY'
import sys
from supervisor.xmlrpc import SupervisorTransport
import xmlrpc.client
t = SupervisorTransport(None, None, "unix://" + sys.argv[1])
p = xmlrpc.client.ServerProxy("http://127.0.0.1", transport=t)
p.supervisor.sendRemoteCommEvent("note", "déploiement terminé ✓")
PY
sleep 2
kill -TERM "$(cat "$T/sd.pid")"
for _ in $(seq 100); do [ -f "$T/sd.pid" ] || break; sleep 0.1; done
sleep 1
grep -E 'UNKNOWN|overflow' "$T/sd.log" || true
cat "$out/results.txt"

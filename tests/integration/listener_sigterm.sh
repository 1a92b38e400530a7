#!/bin/bash
# SIGTERM: an event in hand is finished (stored, acked) before the
# listener exits 0; while it waits for a header, or backs off after a
# FAIL, it exits 0 at once.  The test plays supervisord's side on the
# installed listener's stdin/stdout, and watches /proc for where the
# listener is blocked; then it stops the listener under the real
# supervisord.
. "$SVRELAY_TESTDIR/integration/lib.sh"

write_conf "$T/svrelay.conf"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"

# The Python below prints "PASS desc" or "FAIL desc" per test point.
while read -r verdict desc; do
	case $verdict in
	PASS) ok "$desc" ;;
	FAIL) not_ok "$desc" ;;
	*) diag "$verdict $desc" ;;
	esac
done < <("$PYTHON" - "$LISTENER" "$T" 2>&1 <<'PY'

import os, signal, subprocess, sys, time
listener, T = sys.argv[1], sys.argv[2]
def ok(cond, desc):
    print("%s %s" % ("PASS" if cond else "FAIL", desc), flush=True)
def wait_for(pred, limit=10):
    end = time.time() + limit
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.01)
    return False
def syscall(p):		# the syscall p is blocked in: 0 read, 271 ppoll
    try:
        return open("/proc/%d/syscall" % p.pid).read().split()[0]
    except (OSError, IndexError):
        return ""
def term_pending(p):
    for line in open("/proc/%d/status" % p.pid):
        if line.startswith(("SigPnd:", "ShdPnd:")) and int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)):
            return True
    return False
def start(conf):
    return subprocess.Popen([listener, "-c", conf], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE,
                            stderr=open(T + "/listener.log", "ab"))
def finish(p):
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = "hung"
    return rc, p.stdout.read()

payload = "processname:hëld groupname:hëld from_state:STARTING pid:77"
hdr = ("ver:3.0 server:sv-term serial:7 pool:svrelay poolserial:7 "
       "eventname:PROCESS_STATE_RUNNING len:%d\n" % len(payload))
data = (hdr + payload).encode()

# 1. TERM while the event is in hand (half its payload read).
p = start(T + "/svrelay.conf")
ok(p.stdout.read(6) == b"READY\n", "held: READY first")
p.stdin.write(data[:len(hdr) + 20]); p.stdin.flush()
ok(wait_for(lambda: syscall(p) == "0"), "held: the listener is reading the payload")
p.send_signal(signal.SIGTERM)
ok(wait_for(lambda: term_pending(p)), "held: TERM is pending, the listener keeps going")
p.stdin.write(data[len(hdr) + 20:]); p.stdin.flush()
rc, out = finish(p)
ok(out == b"RESULT 2\nOK", "held: the event is acked and no READY follows (%r)" % out)
ok(rc == 0, "held: exit 0 (%s)" % rc)
ev = open(T + "/spool/events.jsonl", encoding="utf-8").read()
ok('"processname":"hëld"' in ev, "held: the event is in events.jsonl")

# 2. TERM while waiting for a header: exit 0 at once.
p = start(T + "/svrelay.conf")
ok(p.stdout.read(6) == b"READY\n", "idle: READY first")
ok(wait_for(lambda: syscall(p) == "271"), "idle: the listener waits in ppoll")
t0 = time.time()
p.send_signal(signal.SIGTERM)
rc, out = finish(p)
ok(rc == 0 and out == b"", "idle: exit 0 with nothing more on stdout (%s, %r)" % (rc, out))
ok(time.time() - t0 < 2, "idle: at once (%.3f s)" % (time.time() - t0))

# 3. Nowhere to put an event (svrelayd unreachable, hand-off directory
#    a file): FAIL, back off before the next READY; TERM ends the backoff.
os.makedirs(T + "/broken", exist_ok=True)
open(T + "/broken/handoff", "w").close()
conf = open(T + "/svrelay.conf").read()
conf = conf.replace('socket = "%s/svrelay.sock"' % T, 'socket = "%s/nobody.sock"' % T)
conf = conf.replace('spool_dir = "%s/spool"' % T, 'spool_dir = "%s/broken"' % T)
conf = conf.replace("backoff_min_ms = 50", "backoff_min_ms = 400").replace("backoff_max_ms = 1000", "backoff_max_ms = 60000")
open(T + "/broken.conf", "w").write(conf)
p = start(T + "/broken.conf")
p.stdout.read(6)
p.stdin.write(data); p.stdin.flush()
out = p.stdout.read(13)
t0 = time.time()
ok(out == b"RESULT 4\nFAIL", "fail: FAIL when nothing can store the event (%r)" % out)
p.stdin.write(data); p.stdin.flush()	# as supervisord would, at once
ok(p.stdout.read(6) == b"READY\n", "fail: READY again")
ok(time.time() - t0 >= 0.35, "fail: only after the backoff (%.3f s)" % (time.time() - t0))
out = p.stdout.read(13)
ok(out == b"RESULT 4\nFAIL", "fail: the re-sent event fails too")
ok(wait_for(lambda: syscall(p) == "271"), "fail: backing off (ppoll)")
t0 = time.time()
p.send_signal(signal.SIGTERM)
rc, out = finish(p)
ok(rc == 0 and out == b"", "fail: TERM during the backoff exits 0 at once (%s, %r, %.3f s)" % (rc, out, time.time() - t0))
log = open(T + "/listener.log").read()
ok(log.count("]: failing (was") == 1, "fail: 'failing' is logged once")
PY
)

# Under the real supervisord: stopping the listener is a clean exit.
write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf"
start_supervisord "$T/sd.conf" || bail "supervisord did not start"
sv_started() { grep -q '"event":"SUPERVISOR_STATE_CHANGE_RUNNING"' "$T/spool/events.jsonl"; }
check "under supervisord: events arrive" wait_for 20 sv_started
sv "$T/sd.conf" stop svrelay >/dev/null
stopped0() { grep -q 'stopped: svrelay (exit status 0)' "$T/supervisord.log"; }
check "under supervisord: supervisorctl stop gives exit status 0" wait_for 20 stopped0
done_testing

#!/bin/bash
# Garbage, an oversize line, invalid JSON, wrong-schema lines, a client
# that never reads, and 300 idle connections leave svrelayd running and
# serving a good client, with the right error replies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relayd_lib.sh"

CONF=$T/svrelay.conf
relayd_conf "$CONF" 'relayd = { max_connections = 320; max_line = 4096; };'
start_relayd "$CONF" || bail "svrelayd did not start"

py_checks "$SOCK" "$SVRELAY_TESTDIR/integration" <<'PY'
import json, os, socket, sys, time
sys.path.insert(0, sys.argv[2])
from relayd_client import event, connect, Lines
path = sys.argv[1]

def check(cond, what, detail=""):
    print(("PASS " if cond else "FAIL ") + what + ("" if cond else ": " + str(detail)))

def ask(sock, lines, data):
    sock.sendall(data)
    return json.loads(lines.readline())

def good_client(tag):
    s = connect(path, 5)
    r = ask(s, Lines(s), (event("good-" + tag) + "\n").encode())
    s.close()
    return r

idle = []
for i in range(300):
    idle.append(connect(path))
r = good_client("idle")
check(r == {"ok": True, "id": "good-idle"}, "served with 300 idle connections open", r)

s = connect(path); L = Lines(s)
r = ask(s, L, b"\x00\x01\x02garbage\xff\xfe\n")
check(r.get("ok") is False and r.get("temporary") is False and r.get("error"),
      "binary garbage: error, temporary false", r)
r = ask(s, L, b"{\"id\": \n")
check(r.get("ok") is False and "JSON" in r.get("error", ""),
      "invalid JSON: error naming JSON", r)
r = ask(s, L, b'{"id":"x","host":"h"}\n')
check(r.get("ok") is False and "missing field" in r.get("error", ""),
      "wrong schema: error naming the field", r)
r = ask(s, L, b'[1,2,3]\n')
check(r.get("ok") is False and r.get("temporary") is False, "a JSON array: refused", r)
bad = json.loads(event("bad-serial")); bad["serial"] = "12"
r = ask(s, L, (json.dumps(bad) + "\n").encode())
check(r.get("ok") is False and "serial" in r.get("error", ""), "string serial: refused", r)
r = ask(s, L, b"\n")
check(r.get("ok") is False, "empty line: refused", r)
r = ask(s, L, (event("after-bad") + "\n").encode())
check(r == {"ok": True, "id": "after-bad"},
      "the connection stays open after bad lines and takes a good one", r)
s.close()

s = connect(path); L = Lines(s)
s.sendall(b"x" * 10000 + b"\n")
r = json.loads(L.readline())
check(r.get("ok") is False and "max_line" in r.get("error", ""), "oversize line: error naming max_line", r)
try:
    more = s.recv(100)
except OSError:
    more = b""
check(more == b"", "oversize line: connection closed", more)
s.close()

# A line exactly max_line long (4096 bytes) is not too long.
ev = json.loads(event("pad")); ev["event"] = "PROCESS_LOG_STDOUT"
ev["payload"] = {"processname": "a", "groupname": "a", "pid": "1", "channel": "stdout"}
ev["data"] = ""
base = len(json.dumps(ev, separators=(",", ":")))
ev["data"] = "p" * (4096 - base)
line = json.dumps(ev, separators=(",", ":"))
s = connect(path); L = Lines(s)
r = ask(s, L, (line + "\n").encode())
check(len(line) == 4096 and r.get("ok") is True, "a line of exactly max_line is accepted", (len(line), r))
s.close()

# A client that sends a lot and never reads its replies.
hog = connect(path)
hog.setblocking(False)
sent = 0
data = "".join(event("hog-%d" % i) + "\n" for i in range(20000)).encode()
t0 = time.time()
while sent < len(data) and time.time() - t0 < 5:
    try:
        sent += hog.send(data[sent:sent + 65536])
    except BlockingIOError:
        break
t0 = time.time()
r = good_client("hog")
dt = time.time() - t0
check(r.get("ok") is True and dt < 2, "a client that never reads does not stall others (%.3f s)" % dt, r)

# A partial line, then a hang-up; a hang-up right after sending.
s = connect(path); s.sendall(b'{"id":"half'); s.close()
s = connect(path); s.sendall((event("hangup") + "\n").encode()); s.close()

# Over max_connections: refused at once with a temporary error.
extra, refused = [], 0
for i in range(30):
    c = connect(path)
    extra.append(c)
time.sleep(0.2)
for c in extra:
    c.setblocking(False)
    try:
        d = c.recv(1000)
        if d and b"too many connections" in d:
            refused += 1
    except BlockingIOError:
        pass
check(refused > 0, "over max_connections: refused with an error (%d)" % refused)
for c in extra:
    c.close()
hog.close()
for c in idle:
    c.close()
time.sleep(0.1)
r = good_client("end")
check(r == {"ok": True, "id": "good-end"}, "still serving at the end", r)
PY

check "svrelayd is still running" relayd_alive
check "hangup event was stored (sent in full before the hang-up)" \
	grep -q '"id":"hangup"' "$SPOOL/events.jsonl"
conns_zero() { [ "$(status_field connections)" = 1 ]; }
check "all those connections were closed" wait_for 10 conns_zero
check "refused_lines counted" [ "$(status_field refused_lines)" -ge 6 ]
check "svrelayd exits 0 on SIGTERM" stop_relayd
done_testing

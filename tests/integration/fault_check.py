#!/usr/bin/python3
"""Checks and drivers for the fault_*.sh integration tests (stdlib only).

  fault_check.py acked SVLOG HOST SERVER OUT
        read supervisord's debug log (several runs appended, each starting
        with "supervisord started with pid N") and write to OUT the id of
        every event supervisord was told OK for, as the listener builds
        it (HOST:SERVER:PID:SERIAL).  Prints "sent N acked N maxsends N
        maxserial S" (maxsends: the most times one serial was sent).
  fault_check.py resends SVLOG SERIAL
        how many times that serial (of the last run that sent it) was
        sent to the listener.
  fault_check.py pending SVLOG
        the serial of the event the listener holds (sent, no result yet),
        or nothing.
  fault_check.py once IDS SPOOL
        every id in IDS is in SPOOL's events.jsonl* or handoff/new exactly
        once, and no id is in events.jsonl* twice.  Prints what is wrong;
        exit 1 if anything is.
  fault_check.py notif SPOOL FAKELOG KILLS
        every notification queued in notifications.jsonl was answered 200
        by the fake Slack at least once (matched by text; a 200 with a body
        that is not Slack's does not count), and the extra deliveries are
        at most KILLS in all.
  fault_check.py load SOCK OUTDIR CLIENTS EVENTS HOSTILE SECONDS
        CLIENTS processes each send EVENTS events one at a time, as the
        listener does (reconnect and resend on errors and temporary
        refusals), appending each acked id to OUTDIR/acked.N; meanwhile
        HOSTILE hostile connections (garbage, slowloris, connect floods,
        oversize lines) run until the good clients are done.  Prints a
        summary; exit 1 if a client did not finish within SECONDS.
  fault_check.py stream SOCK PREFIX COUNT ACKED SECONDS
        one such client alone (log and RUNNING events, which the
        notification policy does not report).
  fault_check.py hostile SOCK N SECONDS
        only the hostile connections, for SECONDS (reconnecting when
        svrelayd restarts).
  fault_check.py drive N OUT -- COMMAND...
        play supervisord's side of the eventlistener protocol: run
        COMMAND, deliver N varied events (state, log with non-ASCII text,
        a large payload), record the acknowledged ids (HOST test-host,
        server sv-valgrind) in OUT; then close stdin and wait.
"""
import collections
import glob
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time


# --- supervisord's log ------------------------------------------------
def parse_svlog(path, listener="svrelay"):
    """Yield (pid, serial, what) for each send and result, in order."""
    pid = None
    pending = None
    sent_re = re.compile(r"event (\d+) sent to listener %s$" % listener)
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        m = re.search(r"supervisord started with pid (\d+)", line)
        if m:
            pid = int(m.group(1))
            pending = None
            continue
        m = sent_re.search(line)
        if m:
            pending = int(m.group(1))
            yield pid, pending, "sent"
            continue
        if line.endswith("%s: event was processed" % listener):
            if pending is not None:
                yield pid, pending, "ok"
            pending = None
        elif line.endswith("%s: event was rejected" % listener) or \
                line.endswith("%s: event caused an error" % listener):
            if pending is not None:
                yield pid, pending, "fail"
            pending = None


def cmd_acked(svlog, host, server, out):
    sends = collections.Counter()
    acked = []
    nsent = 0
    for pid, serial, what in parse_svlog(svlog):
        if what == "sent":
            nsent += 1
            sends[(pid, serial)] += 1
        elif what == "ok":
            acked.append("%s:%s:%d:%d" % (host, server, pid, serial))
    with open(out, "w") as f:
        for i in acked:
            f.write(i + "\n")
    top = sends.most_common(1)
    print("sent %d acked %d maxsends %d maxserial %s" % (
        nsent, len(acked), top[0][1] if top else 0,
        top[0][0][1] if top else "-"))
    return 0


def cmd_resends(svlog, serial):
    last = collections.Counter()
    for pid, s, what in parse_svlog(svlog):
        if what == "sent" and s == serial:
            last[pid] += 1
    print(max(last.values()) if last else 0)
    return 0


def cmd_pending(svlog):
    held = None
    for pid, s, what in parse_svlog(svlog):
        held = s if what == "sent" else None
    if held is not None:
        print(held)
    return 0


# --- the spool --------------------------------------------------------
def spool_ids(spool):
    seen = collections.Counter()
    torn = 0
    for f in glob.glob(os.path.join(spool, "events.jsonl*")):
        for line in open(f, encoding="utf-8", errors="replace"):
            try:
                seen[json.loads(line)["id"]] += 1
            except ValueError:
                torn += 1
    handed = collections.Counter()
    for f in glob.glob(os.path.join(spool, "handoff", "new", "*.json")):
        try:
            handed[json.loads(open(f, encoding="utf-8").read())["id"]] += 1
        except (ValueError, OSError):
            pass
    return seen, handed, torn


def cmd_once(ids_path, spool):
    want = [l.strip() for l in open(ids_path) if l.strip()]
    seen, handed, torn = spool_ids(spool)
    bad = 0
    missing = [i for i in want if seen[i] + handed[i] == 0]
    twice = [i for i in set(want) if seen[i] + handed[i] > 1]
    dups = [i for i, n in seen.items() if n > 1]
    for i in missing[:10]:
        print("# lost: %s" % i)
    for i in sorted(twice)[:10]:
        print("# %s stored %d times (+%d handed off)" % (i, seen[i],
              handed[i]))
    for i in sorted(dups)[:10]:
        print("# %s is in events.jsonl %d times" % (i, seen[i]))
    if torn:
        print("# %d lines of events.jsonl are not JSON" % torn)
    print("# %d acked ids: %d in events.jsonl, %d only in handoff/new, "
          "%d lost, %d stored twice; %d ids in events.jsonl" % (
              len(want), sum(1 for i in want if seen[i]),
              sum(1 for i in want if handed[i] and not seen[i]),
              len(missing), len(twice), len(seen)))
    bad = missing or twice or dups or torn
    return 1 if bad else 0


def cmd_notif(spool, fakelog, kills):
    queued = collections.Counter()
    ids = {}
    for line in open(os.path.join(spool, "notifications.jsonl"),
                     encoding="utf-8", errors="replace"):
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("state") == "queued" and e["id"] not in ids:
            ids[e["id"]] = e["text"]
            queued[e["text"]] += 1
    got = collections.Counter()
    for line in open(fakelog, encoding="utf-8"):
        e = json.loads(line)
        if e.get("answer") != 200:
            continue
        reply = e.get("reply", "")
        if reply != "ok" and not reply.startswith('{"ok": true'):
            continue	# a garbage answer: not a delivery
        try:
            got[json.loads(e["body"])["text"]] += 1
        except (ValueError, KeyError):
            pass
    lost = {t: n - got[t] for t, n in queued.items() if got[t] < n}
    extra = sum(max(0, got[t] - n) for t, n in queued.items())
    stray = {t: n for t, n in got.items() if t not in queued}
    print("# %d notifications queued, %d posts answered 200, %d extra, "
          "%d never delivered" % (sum(queued.values()), sum(got.values()),
                                  extra, sum(lost.values())))
    for t, n in list(lost.items())[:5]:
        print("# never delivered (%d): %s" % (n, t[:120]))
    for t, n in list(stray.items())[:5]:
        print("# posted but not in notifications.jsonl (%d): %s" % (
            n, t[:120]))
    return 1 if lost or extra > kills or stray else 0


# --- load -------------------------------------------------------------
def event_line(eid, serial, kind):
    ev = {"id": eid, "host": "test-host", "server": "sv-load",
          "pool": "svrelay", "serial": serial, "poolserial": serial,
          "time": "2026-01-02T03:04:05.678Z"}
    if kind == 0:
        ev["event"] = "PROCESS_LOG_STDOUT"
        ev["payload"] = {"processname": "w", "groupname": "w",
                         "pid": "42", "channel": "stdout"}
        ev["data"] = "line %d: héllo wörld\n" % serial
    else:
        ev["event"] = "PROCESS_STATE_RUNNING"
        ev["payload"] = {"processname": "p%d" % (serial % 50),
                         "groupname": "g", "from_state": "STARTING",
                         "pid": str(1000 + serial)}
    return (json.dumps(ev, separators=(",", ":")) + "\n").encode()


def good_client(path, prefix, count, acked_path, deadline):
    acked = open(acked_path, "a")
    i = 0
    sock = None
    buf = b""
    refused = reconnects = 0
    pace = float(os.environ.get("FAULT_PACE_MS", "0")) / 1000.0
    tried = 0
    while i < count:
        if time.time() > deadline:
            print("client %s: timed out at %d/%d" % (prefix, i, count),
                  file=sys.stderr)
            print("client %s: sent %d acked %d" % (prefix, tried, i),
                  file=sys.stderr)
            return 1
        try:
            if sock is None:
                sock = socket.socket(socket.AF_UNIX)
                sock.settimeout(10)
                sock.connect(path)
                buf = b""
            eid = "%s-%d" % (prefix, i)
            tried = i + 1
            sock.sendall(event_line(eid, i, i % 2))
            while b"\n" not in buf:
                d = sock.recv(65536)
                if not d:
                    raise ConnectionError("closed")
                buf += d
            line, buf = buf.split(b"\n", 1)
            r = json.loads(line)
            if r.get("ok") and r.get("id") == eid:
                acked.write(eid + "\n")
                acked.flush()
                i += 1
                if pace:
                    time.sleep(pace)
            elif r.get("ok") or not r.get("temporary"):
                print("client %s: bad reply %r" % (prefix, r),
                      file=sys.stderr)
                return 1
            else:
                refused += 1
                time.sleep(0.01)
        except (OSError, ValueError):
            reconnects += 1
            if sock is not None:
                sock.close()
            sock = None
            time.sleep(0.01)
    if reconnects or refused:
        print("client %s: %d reconnects, %d temporary refusals" % (
            prefix, reconnects, refused), file=sys.stderr)
    return 0


class Hostile:
    """HOSTILE misbehaving connections in one thread (selectors)."""

    def __init__(self, path, n, stop):
        self.path = path
        self.n = n
        self.stop = stop
        self.counts = collections.Counter()

    def conn(self, blocking=False):
        s = socket.socket(socket.AF_UNIX)
        s.setblocking(blocking)
        try:
            s.connect(self.path)
        except (BlockingIOError, InterruptedError):
            pass
        return s

    def run(self):
        rnd = random.Random(7)
        kinds = ["slowloris", "garbage", "flood", "oversize", "silent"]
        # Shares of the HOSTILE connections: slowloris and idle ones
        # are held open for the whole run; garbage, floods and oversize
        # lines reconnect when svrelayd closes them.
        share = {"slowloris": 0.3, "silent": 0.2, "garbage": 0.2,
                 "flood": 0.2, "oversize": 0.1}
        plan = []
        for k in kinds:
            plan += [k] * int(round(self.n * share[k]))
        plan = plan[:self.n]
        socks = {}

        def open_one(k):
            try:
                s = self.conn()
            except OSError:
                self.counts[k + "_connect_errors"] += 1
                return None
            self.counts[k + "_connects"] += 1
            return s

        for idx, k in enumerate(plan):
            socks[idx] = open_one(k)
        big = b"A" * (1 << 20) + b"B" * 65536	# over max_line (1 MiB)
        garbage = bytes(rnd.getrandbits(8) for _ in range(4096))
        sent_off = collections.defaultdict(int)
        while not self.stop.is_set():
            for idx, k in enumerate(plan):
                s = socks.get(idx)
                if s is None:
                    socks[idx] = open_one(k)
                    continue
                try:
                    if k == "slowloris":
                        # One byte of a line that never ends, now and
                        # then (past max_line it would be closed).
                        s.send(b"{" if sent_off[idx] == 0 else b"x")
                        sent_off[idx] += 1
                    elif k == "garbage":
                        s.send(garbage[:rnd.randrange(1, 4096)] + b"\n")
                        try:
                            s.recv(65536)
                        except BlockingIOError:
                            pass
                    elif k == "flood":
                        s.close()
                        socks[idx] = open_one(k)
                    elif k == "oversize":
                        off = sent_off[idx]
                        n = s.send(big[off:off + 262144])
                        sent_off[idx] = off + n
                        if sent_off[idx] >= len(big):
                            sent_off[idx] = 0
                            s.close()
                            socks[idx] = open_one(k)
                    elif k == "silent":
                        pass
                except BlockingIOError:
                    pass
                except OSError:
                    self.counts[k + "_closed_by_peer"] += 1
                    try:
                        s.close()
                    except OSError:
                        pass
                    socks[idx] = None
                    sent_off[idx] = 0
            time.sleep(0.02)
        for s in socks.values():
            if s is not None:
                s.close()


def cmd_load(path, outdir, clients, events, hostile, seconds):
    deadline = time.time() + seconds
    stop = threading.Event()
    h = Hostile(path, hostile, stop)
    ht = threading.Thread(target=h.run, daemon=True)
    ht.start()
    time.sleep(0.5)		# the hostile connections are in place first
    procs = []
    for c in range(clients):
        pid = os.fork()
        if pid == 0:
            rc = 1
            try:
                rc = good_client(path, "load%d" % c, events,
                                 os.path.join(outdir, "acked.%d" % c),
                                 deadline)
            finally:
                os._exit(rc)
        procs.append(pid)
    failed = 0
    for pid in procs:
        _, st = os.waitpid(pid, 0)
        if st != 0:
            failed += 1
    stop.set()
    ht.join(10)
    print("# hostile: %s" % ", ".join("%s %d" % kv for kv in
                                      sorted(h.counts.items())))
    print("# %d of %d clients finished" % (clients - failed, clients))
    return 1 if failed else 0


# --- supervisord's side of the protocol ------------------------------
def cmd_drive(n, out, argv):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    acked = open(out, "w")
    rnd = random.Random(3)
    names = ["PROCESS_STATE_RUNNING", "PROCESS_STATE_EXITED",
             "PROCESS_STATE_FATAL", "PROCESS_LOG_STDERR", "TICK_60",
             "SUPERVISOR_STATE_CHANGE_RUNNING"]
    rc = 0
    for serial in range(1, n + 1):
        name = names[serial % len(names)]
        if name == "PROCESS_STATE_RUNNING":
            payload = "processname:wörker groupname:g from_state:STARTING " \
                      "pid:%d" % (100 + serial)
        elif name == "PROCESS_STATE_EXITED":
            payload = "processname:w groupname:g from_state:RUNNING " \
                      "expected:0 pid:%d" % (100 + serial)
        elif name == "PROCESS_STATE_FATAL":
            payload = "processname:w groupname:g from_state:BACKOFF"
        elif name == "PROCESS_LOG_STDERR":
            data = "ünïcødé ✓ line %d\n" % serial
            if serial % 7 == 0:
                data = "x" * rnd.randrange(20000, 70000) + "\n"
            payload = "processname:w groupname:g pid:7 channel:stderr\n" \
                      + data
        elif name == "TICK_60":
            payload = "when:%d" % (1700000000 + serial)
        else:
            payload = ""
        hdr = "ver:3.0 server:sv-valgrind serial:%d pool:svrelay " \
              "poolserial:%d eventname:%s len:%d\n" % (
                  serial, serial, name, len(payload))
        ready = p.stdout.read(6)
        if ready != b"READY\n":
            print("driver: expected READY, got %r" % ready, file=sys.stderr)
            rc = 1
            break
        p.stdin.write((hdr + payload).encode())
        p.stdin.flush()
        head = b""
        while not head.endswith(b"\n"):
            c = p.stdout.read(1)
            if not c:
                break
            head += c
        if not head.startswith(b"RESULT "):
            print("driver: expected RESULT, got %r" % head, file=sys.stderr)
            rc = 1
            break
        res = p.stdout.read(int(head[7:]))
        if res == b"OK":
            acked.write("test-host:sv-valgrind:%d:%d\n" % (os.getpid(),
                                                            serial))
            acked.flush()
        else:
            print("driver: event %d: %r" % (serial, res), file=sys.stderr)
            rc = 1
    p.stdout.read(6)		# the next READY
    p.send_signal(signal.SIGTERM)
    p.stdin.close()
    try:
        prc = p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        prc = "hung"
    print("listener exit %s" % prc)
    return rc


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "acked" and len(argv) == 6:
        return cmd_acked(*argv[2:])
    if cmd == "resends" and len(argv) == 4:
        return cmd_resends(argv[2], int(argv[3]))
    if cmd == "pending" and len(argv) == 3:
        return cmd_pending(argv[2])
    if cmd == "once" and len(argv) == 4:
        return cmd_once(argv[2], argv[3])
    if cmd == "notif" and len(argv) == 5:
        return cmd_notif(argv[2], argv[3], int(argv[4]))
    if cmd == "load" and len(argv) == 8:
        return cmd_load(argv[2], argv[3], int(argv[4]), int(argv[5]),
                        int(argv[6]), float(argv[7]))
    if cmd == "stream" and len(argv) == 7:
        return good_client(argv[2], argv[3], int(argv[4]), argv[5],
                           time.time() + float(argv[6]))
    if cmd == "hostile" and len(argv) == 5:
        stop = threading.Event()
        h = Hostile(argv[2], int(argv[3]), stop)
        t = threading.Thread(target=h.run, daemon=True)
        t.start()
        time.sleep(float(argv[4]))
        stop.set()
        t.join(10)
        print("# hostile: %s" % ", ".join("%s %d" % kv for kv in
                                          sorted(h.counts.items())))
        return 0
    if cmd == "drive" and len(argv) > 5 and argv[4] == "--":
        return cmd_drive(int(argv[2]), argv[3], argv[5:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

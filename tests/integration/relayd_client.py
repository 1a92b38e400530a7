#!/usr/bin/python3
"""A client of svrelayd's socket for the relayd_*.sh integration tests.

  relayd_client.py event ID             print one valid event line
  relayd_client.py stream SOCK PREFIX COUNT ACKED [SECONDS]
        send PREFIX-0 .. PREFIX-(COUNT-1) one at a time, waiting for each
        acknowledgement as the listener does; on any error reconnect and
        resend what was not acknowledged.  Every acknowledged id is
        appended (and flushed) to ACKED as soon as its reply is read.
  relayd_client.py pipeline SOCK PREFIX COUNT ACKED
        send COUNT events without waiting, then read replies until the
        connection ends; record acknowledged ids.
  relayd_client.py ask SOCK             send each stdin line, print each reply
"""
import json
import os
import socket
import sys
import threading
import time


def event(eid, serial=1):
    return json.dumps({
        "id": eid, "host": "test-host", "server": "sv-test", "pool": "svrelay",
        "serial": serial, "poolserial": serial,
        "event": "PROCESS_STATE_EXITED",
        "time": "2026-01-02T03:04:05.678Z",
        "payload": {"processname": "api_00", "groupname": "api",
                    "from_state": "RUNNING", "expected": "0", "pid": "4242"},
    }, separators=(",", ":"))


def connect(path, timeout=10.0):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(path)
    return s


class Lines:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def readline(self):
        while b"\n" not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise ConnectionError("closed by svrelayd")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()


def stream(path, prefix, count, acked_path, seconds=120):
    deadline = time.time() + seconds
    acked = open(acked_path, "a")
    i = 0
    sock = lines = None
    retries = 0
    while i < count:
        if time.time() > deadline:
            print("stream %s: timed out at %d/%d" % (prefix, i, count),
                  file=sys.stderr)
            return 1
        try:
            if sock is None:
                sock = connect(path)
                lines = Lines(sock)
            eid = "%s-%d" % (prefix, i)
            sock.sendall((event(eid, i) + "\n").encode())
            r = json.loads(lines.readline())
            if r.get("ok") and r.get("id") == eid:
                acked.write(eid + "\n")
                acked.flush()
                i += 1
            elif r.get("ok"):
                print("stream %s: ack for the wrong id: %r" % (prefix, r),
                      file=sys.stderr)
                return 1
            elif not r.get("temporary"):
                print("stream %s: refused: %r" % (prefix, r),
                      file=sys.stderr)
                return 1
            else:
                time.sleep(0.02)
        except (OSError, ValueError):
            retries += 1
            if sock is not None:
                sock.close()
            sock = None
            time.sleep(0.02)
    return 0


def pipeline(path, prefix, count, acked_path):
    acked = open(acked_path, "a")
    sock = connect(path)
    lines = Lines(sock)
    data = "".join(event("%s-%d" % (prefix, i), i) + "\n"
                   for i in range(count))
    def writer():
        try:
            sock.sendall(data.encode())
        except OSError:
            pass
    # Read while writing: svrelayd stops reading from a client that does
    # not take its replies.
    threading.Thread(target=writer, daemon=True).start()
    try:
        for _ in range(count):
            r = json.loads(lines.readline())
            if r.get("ok"):
                acked.write(r["id"] + "\n")
                acked.flush()
    except (OSError, ValueError):
        pass
    return 0


def ask(path):
    sock = connect(path)
    lines = Lines(sock)
    for line in sys.stdin:
        try:
            sock.sendall(line.encode())
        except BrokenPipeError:
            pass	# refused: the reply is waiting to be read
        try:
            print(lines.readline(), flush=True)
        except ConnectionError as e:
            print("closed: %s" % e, flush=True)
            return 1
    return 0


def main(argv):
    if len(argv) >= 2 and argv[1] == "event":
        print(event(argv[2]))
        return 0
    if len(argv) >= 6 and argv[1] == "stream":
        secs = float(argv[6]) if len(argv) > 6 else 120
        return stream(argv[2], argv[3], int(argv[4]), argv[5], secs)
    if len(argv) == 6 and argv[1] == "pipeline":
        return pipeline(argv[2], argv[3], int(argv[4]), argv[5])
    if len(argv) == 3 and argv[1] == "ask":
        return ask(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

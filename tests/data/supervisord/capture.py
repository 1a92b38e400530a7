#!/usr/bin/python3
"""A capture eventlistener: speaks supervisord's protocol on stdin/stdout
and records exactly what supervisord sent, for svrelay's unit tests.

Run by capture.sh under the real supervisord.  Writes into OUTDIR:
  stream.bin   every byte read from stdin, in order
  reads.txt    the size of each read(2), one a line (split reads)
  NNN-EVENTNAME.bin  each delivery (header line + payload) on its own
  results.txt  "NNN serial eventname OK|FAIL" per delivery
The first PROCESS_STATE_FATAL is answered FAIL once, to record its
re-delivery.
"""
import os
import sys

out = sys.argv[1]
stream = open(os.path.join(out, "stream.bin"), "ab", buffering=0)
reads = open(os.path.join(out, "reads.txt"), "a", buffering=1)
results = open(os.path.join(out, "results.txt"), "a", buffering=1)
buf = b""
failed_once = False
n = len([f for f in os.listdir(out) if f.endswith(".bin")]) - 1


def fill():
    global buf
    chunk = os.read(0, 65536)
    if not chunk:
        sys.exit(0)
    stream.write(chunk)
    reads.write("%d\n" % len(chunk))
    buf += chunk


while True:
    os.write(1, b"READY\n")
    while b"\n" not in buf:
        fill()
    hdr, _, buf = buf.partition(b"\n")
    h = dict(t.split(":", 1) for t in hdr.decode().split())
    need = int(h["len"])
    while True:
        try:
            text = buf.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is not None and len(text) >= need:
            break
        fill()
    payload = text[:need].encode("utf-8")
    buf = buf[len(payload):]
    n += 1
    name = "%03d-%s.bin" % (n, h["eventname"])
    with open(os.path.join(out, name), "wb") as f:
        f.write(hdr + b"\n" + payload)
    answer = b"OK"
    if h["eventname"] == "PROCESS_STATE_FATAL" and not failed_once:
        failed_once = True
        answer = b"FAIL"
    results.write("%03d %s %s %s\n" % (n, h["serial"], h["eventname"],
                                       answer.decode()))
    os.write(1, b"RESULT %d\n%s" % (len(answer), answer))

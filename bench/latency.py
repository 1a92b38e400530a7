#!/usr/bin/python3
"""bench/latency.py: event-to-Slack latency from the fake Slack's log.

  latency.py match SENDS LOG [SKIP]
      SENDS: "lat_<i> <unix time>" lines (listener_driver latency: when
      each FATAL was written to the listener); LOG: fake_slack.py's
      request log.  An event's latency is the time of the first POST
      whose body names its process, minus its send time.
  latency.py post URL N LOG
      the floor: N POSTs of {"text":"base_<i>"} to URL over one
      keep-alive connection (as svrelayd reuses its connections), each
      measured the same way, from just before the request to the fake's
      log time.
SKIP: ignore the log's first SKIP lines (an earlier run's).

Prints "n <matched> of <sent> p50_ms <ms> p99_ms <ms> max_ms <ms>".
Speed is not what is measured here: the times come from the fake's log.
"""
import http.client
import json
import re
import sys
import time
import urllib.parse


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[k]


def first_seen(log, pattern, skip=0):
    seen = {}
    with open(log, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i < skip:
                continue
            try:
                e = json.loads(line)
            except ValueError:
                continue
            for name in set(re.findall(pattern, e.get("body", ""))):
                if name not in seen or e["time"] < seen[name]:
                    seen[name] = e["time"]
    return seen


def report(sent, seen):
    lat = [(seen[n] - t) * 1000 for n, t in sent.items() if n in seen]
    print("n %d of %d p50_ms %.1f p99_ms %.1f max_ms %.1f" % (
        len(lat), len(sent), pct(lat, 50), pct(lat, 99),
        max(lat) if lat else float("nan")))


def main():
    if len(sys.argv) in (4, 5) and sys.argv[1] == "match":
        sent = {}
        with open(sys.argv[2]) as f:
            for line in f:
                p = line.split()
                if len(p) == 2 and p[0].startswith("lat_"):
                    sent[p[0]] = float(p[1])
        skip = int(sys.argv[4]) if len(sys.argv) == 5 else 0
        report(sent, first_seen(sys.argv[3], r"\blat_\d+\b", skip))
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "post":
        u = urllib.parse.urlsplit(sys.argv[2])
        c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        sent = {}
        for i in range(int(sys.argv[3])):
            name = "base_%d" % i
            body = json.dumps({"text": name})
            sent[name] = time.time()
            c.request("POST", u.path, body,
                      {"Content-Type": "application/json"})
            c.getresponse().read()
            time.sleep(0.005)
        report(sent, first_seen(sys.argv[4], r"\bbase_\d+\b"))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())

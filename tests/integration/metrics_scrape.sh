#!/bin/bash
# GET /metrics on metrics.listen: a valid Prometheus text exposition
# (every line parsed: HELP, TYPE, samples; no series twice) whose counters
# are what this test sent: events accepted, duplicates, refused lines.
# A non-loopback metrics.listen is refused unless metrics.allow_remote.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/fleet_lib.sh"

start_fake
MP=$(free_port)
slack_conf "$T/svrelay.conf" webhook
echo "metrics = { listen = \"127.0.0.1:$MP\"; };" >> "$T/svrelay.conf"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"

# scrape: the exposition, checked line by line; prints "series value".
scrape() {
	"$PYTHON" - "$MP" <<'PY'
import re, sys, urllib.request
r = urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=5)
ctype = r.headers.get("Content-Type")
assert ctype.startswith("text/plain; version=0.0.4"), ctype
text = r.read().decode("utf-8")
assert text.endswith("\n"), "no final newline"
name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
label_re = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample_re = re.compile(r"^(%s)(\{(?:%s)(?:,%s)*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)( -?[0-9]+)?$"
                       % (name_re, label_re, label_re))
helps, types, seen, current = {}, {}, set(), None
for line in text.split("\n")[:-1]:
    m = re.match(r"^# HELP (%s) (.+)$" % name_re, line)
    if m:
        assert m.group(1) not in helps, "HELP twice: " + line
        helps[m.group(1)] = m.group(2); current = m.group(1); continue
    m = re.match(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % name_re, line)
    if m:
        assert m.group(1) == current and m.group(1) not in types, "TYPE: " + line
        types[m.group(1)] = m.group(2); continue
    assert not line.startswith("#"), "stray comment: " + line
    m = sample_re.match(line)
    assert m, "not a sample: " + line
    name = m.group(1)
    assert name == current and name in types, "sample outside its family: " + line
    assert name.startswith("svrelay_"), "not svrelay_: " + line
    assert (types[name] == "counter") == name.endswith("_total"), "counter naming: " + line
    series = name + (m.group(2) or "")
    assert series not in seen, "series twice: " + series
    seen.add(series)
    float(m.group(3))
    print(series, m.group(3))
assert set(helps) == set(types)
PY
}
metric() { scrape | awk -v s="$1" '$1 == s { print $2 }'; }

check "a scrape parses (HELP, TYPE, samples, no series twice)" eval 'scrape > "$T/scrape1" 2>"$T/scrape1.err"'
[ -s "$T/scrape1.err" ] && diag "$(cat "$T/scrape1.err")"
check "events accepted: 0 at first" test "$(metric svrelay_events_accepted_total)" = 0
check "start time is now" eval '[ $(( $(date +%s) - $(metric svrelay_start_time_seconds | cut -d. -f1) )) -lt 60 ]'

# 5 events, then 2 of them again (duplicates), then 3 lines that are not events.
N=5
for i in $(seq $N); do echo "PROCESS_STATE_STARTING processname:p$i groupname:g from_state:STOPPED tries:0"; done |
    SERIAL_BASE=100 send_events "$T/svrelay.sock"
for i in 1 2; do echo "PROCESS_STATE_STARTING processname:p$i groupname:g from_state:STOPPED tries:0"; done |
    SERIAL_BASE=100 send_events "$T/svrelay.sock"
"$PYTHON" - "$T/svrelay.sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rwb")
for bad in (b"not json at all\n", b'{"id":"x"}\n', b"[1,2,3]\n"):
    f.write(bad); f.flush(); f.readline()
PY
check "a second scrape parses" eval 'scrape > "$T/scrape2"'
val() { awk -v s="$1" '$1 == s { print $2 }' "$T/scrape2"; }
check "events accepted = $N sent" test "$(val svrelay_events_accepted_total)" = "$N"
check "duplicates = 2 sent again" test "$(val svrelay_events_duplicate_total)" = 2
check "refused lines = 3 bad ones" test "$(val svrelay_lines_refused_total)" = 3
check "spool bytes = the size of events.jsonl" \
    test "$(val svrelay_spool_bytes)" = "$(stat -c %s "$T/spool/events.jsonl")"
check "5 processes STARTING" test "$(val 'svrelay_processes{state="STARTING"}')" = 5
check "svrelayctl status agrees (events_accepted)" \
    test "$(ctl status | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["status"]["events_accepted"])')" = "$N"

# A notification: sent, counted by sink and outcome, its time.
echo "PROCESS_STATE_FATAL processname:p1 groupname:g from_state:BACKOFF" |
    SERIAL_BASE=200 send_events "$T/svrelay.sock"
check "Slack got the FATAL" wait_for 10 has_requests 1
check "notifications sent (slack) = 1" wait_for 5 eval \
    '[ "$(metric "svrelay_notifications_total{sink=\"slack\",outcome=\"sent\"}")" = 1 ]'
check "last delivery time is set" eval '[ "$(metric svrelay_last_delivery_timestamp_seconds)" != 0 ]'
check "nothing queued" test "$(metric 'svrelay_notifications_queued{sink="slack"}')" = 0
check "a path other than /metrics is 404" eval '! "$PYTHON" -c "import urllib.request; urllib.request.urlopen(\"http://127.0.0.1:$MP/\", timeout=5)" 2>/dev/null'

# Loopback only, unless allow_remote.
write_conf "$T/remote.conf" 'metrics = { listen = "0.0.0.0:9187"; };'
out=$("$SVRELAYD" -t -c "$T/remote.conf" 2>&1)
diag "$out"
check "a non-loopback metrics.listen is refused" grep -q "remote.conf:[0-9]*: key 'metrics.listen': '0.0.0.0:9187' is not a loopback address" <<<"$out"
write_conf "$T/remote2.conf" 'metrics = { listen = "0.0.0.0:9187"; allow_remote = true; };'
check "unless metrics.allow_remote = true" eval '"$SVRELAYD" -t -c "$T/remote2.conf" >/dev/null 2>&1'
done_testing

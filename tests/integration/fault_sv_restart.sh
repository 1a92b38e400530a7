#!/bin/bash
# supervisord restarted mid-stream, while a program logs a line every
# 50 ms: first "supervisorctl reload" (same process, serials go on), then
# SIGTERM and a new start (a new pid, serials from 0 again).  Events from
# before and after each restart arrive, ids differ across the restarts
# (they carry supervisord's pid), and every event supervisord got OK for
# is stored exactly once.  (Events supervisord queues while it shuts
# down, after it has signalled the listener, are never sent: supervisord
# drops them itself; they were never acknowledged.)
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/fault_lib.sh"

write_conf "$T/svrelay.conf"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf" "
[program:chatty]
command=/bin/bash -c 'for i in \$(seq 20000); do echo \"chatty \$i\"; sleep 0.05; done; sleep 1000'
stdout_events_enabled=true
stdout_logfile=NONE
startsecs=0
"
start_supervisord "$T/sd.conf" || bail "supervisord did not start"
EV=$T/spool/events.jsonl
runs() { [ "$(grep -c '"event":"SUPERVISOR_STATE_CHANGE_RUNNING"' "$EV" 2>/dev/null)" -ge "$1" ]; }
logs() { [ "$(grep -c '"event":"PROCESS_LOG_STDOUT"' "$EV" 2>/dev/null)" -ge "$1" ]; }
nlogs() { grep -c '"event":"PROCESS_LOG_STDOUT"' "$EV" 2>/dev/null || echo 0; }
check "events arrive" wait_for 20 runs 1
check "log events flow" wait_for 20 logs 20
pid1=$(cat "$T/sd.conf.pid")

sv "$T/sd.conf" reload >/dev/null
check "after supervisorctl reload supervisord runs again" wait_for 30 runs 2
n=$(nlogs)
check "log events flow after the reload" wait_for 20 logs $((n + 20))
check "the reload kept supervisord's pid" test "$(cat "$T/sd.conf.pid")" = "$pid1"

kill -TERM "$SUPERVISORD_PID"
wait "$SUPERVISORD_PID"
diag "supervisord ($pid1) exited with $?"
stopping() { grep -q '"event":"SUPERVISOR_STATE_CHANGE_STOPPING"' "$EV"; }
check "its SUPERVISOR_STATE_CHANGE_STOPPING arrived" stopping
start_supervisord "$T/sd.conf" || bail "supervisord did not start again"
pid2=$(cat "$T/sd.conf.pid")
check "after SIGTERM and a new start it runs again" wait_for 30 runs 3
n=$(nlogs)
check "log events flow after the new start" wait_for 20 logs $((n + 20))
sv "$T/sd.conf" stop chatty >/dev/null
stopped() { grep -q "\"id\":\"test-host:sv-test:$pid2:[0-9]*\".*\"event\":\"PROCESS_STATE_STOPPED\".*\"processname\":\"chatty\"" "$EV"; }
check "the last event arrives" wait_for 30 stopped

check "the new supervisord has a new pid ($pid1, $pid2)" test "$pid1" != "$pid2"
check "ids carry each supervisord's pid, serials overlap, ids do not" \
	"$PYTHON" - "$EV" "$pid1" "$pid2" <<'PY'
import collections, json, sys
ev, p1, p2 = sys.argv[1], sys.argv[2], sys.argv[3]
by = collections.defaultdict(set)
ids = collections.Counter()
for l in open(ev):
    e = json.loads(l)
    if e.get("server") != "sv-test":
        continue
    ids[e["id"]] += 1
    host, server, pid, serial = e["id"].split(":")
    assert int(serial) == e["serial"], e["id"]
    by[pid].add(e["serial"])
print("# events per supervisord pid: %s" % {k: len(v) for k, v in by.items()})
overlap = by[p1] & by[p2]
print("# serials used by both: %d" % len(overlap))
sys.exit(0 if set(by) == {p1, p2} and overlap and
         max(ids.values()) == 1 else 1)
PY
sv_acked "$T/acked.ids" > "$T/acked.sum"
diag "$(cat "$T/acked.sum")"
check "every event supervisord got OK for is stored exactly once" \
	stored_once "$T/acked.ids"
check "supervisord's buffer never overflowed" \
	bash -c "! grep -q 'buffer overflowed' '$T/supervisord.log'"
check "svrelayd exits 0 on SIGTERM" stop_relayd
done_testing

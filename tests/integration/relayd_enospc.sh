#!/bin/bash
# A full disk: svrelayd answers temporary errors (never a false ack),
# stays up, and recovers by itself when space returns.  Needs to mount a
# small tmpfs (root).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relayd_lib.sh"

CONF=$T/svrelay.conf
relayd_conf "$CONF"
mkdir -p "$SPOOL"
if ! mount -t tmpfs -o size=512k svrelay-test "$SPOOL" 2>/dev/null; then
	bail "cannot mount a tmpfs for the full-disk test: run the tests as root (scripts/check does)"
fi
umount_spool() { umount "$SPOOL" 2>/dev/null; }
trap 'stop_relayd >/dev/null 2>&1; umount_spool; cleanup' EXIT

start_relayd "$CONF" || bail "svrelayd did not start"
# Leave about 20 KiB free.
dd if=/dev/zero of="$SPOOL/filler" bs=1k count=$(( $(df -k --output=avail "$SPOOL" | tail -1) - 20 )) 2>/dev/null

py_checks "$SOCK" "$SVRELAY_TESTDIR/integration" "$T/acked" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
from relayd_client import event, connect, Lines
s = connect(sys.argv[1]); L = Lines(s)
acked = open(sys.argv[3], "w")
full = None
for i in range(2000):
    s.sendall((event("full-%d" % i) + "\n").encode())
    r = json.loads(L.readline())
    if r.get("ok"):
        acked.write(r["id"] + "\n"); acked.flush()
    else:
        full = r
        break
print(("PASS" if full and full.get("temporary") is True else "FAIL") +
      " a full disk gives a temporary error: %r" % (full,))
print(("PASS" if full and "No space left" in full.get("error", "") else "FAIL") +
      " ... naming ENOSPC")
print(("PASS" if full and full.get("id") == "full-%d" % i else "FAIL") +
      " ... with the event's id")
# Still full: still refused, same connection.
s.sendall((event("full-%d" % i) + "\n").encode())
r = json.loads(L.readline())
print(("PASS" if r.get("ok") is False else "FAIL") + " still refused while full")
print("# stopped at event %d" % i)
open(sys.argv[3] + ".next", "w").write(str(i))
PY
check "svrelayd is still running" relayd_alive
check "status shows the spool failing" [ "$(status_field spool_failing)" = True ]
check "status shows the error" grep -q "No space left" <<<"$(status_field last_error)"
check "the failure is logged once" \
	[ "$(grep -c 'not acknowledging events until it works again' "$T/svrelayd.log")" -eq 1 ]
check "no partial line is left in the file" \
	[ "$(tail -c 1 "$SPOOL/events.jsonl" | od -An -c | tr -d ' ')" = '\n' ]

rm -f "$SPOOL/filler"
next=$(cat "$T/acked.next")
r=$($CLIENT event "full-$next" | $CLIENT ask "$SOCK")
check "when space returns the same event is stored" grep -q "\"ok\":true,\"id\":\"full-$next\"}" <<<"$r"
echo "full-$next" >> "$T/acked"
check "status: no longer failing" [ "$(status_field spool_failing)" = False ]
check "the recovery is logged" grep -q "writes work again" "$T/svrelayd.log"
check "every acknowledged event is in the spool exactly once" exactly_once "$T/acked"
check "svrelayd exits 0 on SIGTERM" stop_relayd
done_testing

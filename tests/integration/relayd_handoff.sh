#!/bin/bash
# Hand-off import: files the listener left in new/ (tmp -> rename) before
# svrelayd starts and while it runs end up in events.jsonl exactly once,
# and the files are gone; a bad file goes to bad/.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relayd_lib.sh"

CONF=$T/svrelay.conf
relayd_conf "$CONF"
HO=$SPOOL/handoff

# drop PREFIX N: N events written the way the listener does.
drop() {
	"$PYTHON" - "$SVRELAY_TESTDIR/integration" "$HO" "$1" "$2" <<'PY'
import os, sys, time
sys.path.insert(0, sys.argv[1])
from relayd_client import event
ho, prefix, n = sys.argv[2], sys.argv[3], int(sys.argv[4])
for i in range(n):
    name = "%013d.%d.%d.json" % (int(time.time() * 1000), os.getpid(), i)
    tmp = os.path.join(ho, "tmp", name)
    with open(tmp, "w") as f:
        f.write(event("%s-%d" % (prefix, i)) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, os.path.join(ho, "new", name))
    print("%s-%d" % (prefix, i))
PY
}
new_empty() { [ -z "$(ls -A "$HO/new")" ]; }

mkdir -p "$HO/tmp" "$HO/new" "$HO/bad"
drop before 50 > "$T/ids.before"
echo 'half a line {' > "$HO/new/0000000000001.1.1.json"
echo '{"id":"in-tmp"}' > "$HO/tmp/0000000000002.1.1.json"
start_relayd "$CONF" || bail "svrelayd did not start"
check "files there before the start are imported" wait_for 20 new_empty
check "... exactly once each" exactly_once "$T/ids.before"
check "the bad file is in bad/" [ -f "$HO/bad/0000000000001.1.1.json" ]
check "tmp/ is left alone" [ -f "$HO/tmp/0000000000002.1.1.json" ]

drop during 300 > "$T/ids.during"
check "files dropped while running are imported" wait_for 20 new_empty
check "... exactly once each" exactly_once "$T/ids.during"

# The hand-off copy of an event svrelayd also got on the socket.
$CLIENT event dup-1 | $CLIENT ask "$SOCK" >/dev/null
name=$(date +%s%3N).1.1.json
$CLIENT event dup-1 > "$HO/tmp/$name"
mv "$HO/tmp/$name" "$HO/new/$name"
check "a duplicate hand-off file is removed" wait_for 20 new_empty
echo dup-1 > "$T/ids.dup"
check "... and not written twice" exactly_once "$T/ids.dup"
check "status counts the imports" [ "$(status_field handoff_imported)" -eq 350 ]
check "status counts the bad file" [ "$(status_field handoff_bad)" -eq 1 ]

# Across a restart: files left while svrelayd was down.
check "svrelayd exits 0 on SIGTERM" stop_relayd
drop down 40 > "$T/ids.down"
start_relayd "$CONF" || bail "svrelayd did not restart"
check "files left while it was down are imported at start" wait_for 20 new_empty
cat "$T"/ids.* > "$T/ids.all"
check "every hand-off event is in the spool exactly once" exactly_once "$T/ids.all"
check "svrelayd exits 0 on SIGTERM" stop_relayd
done_testing

#!/bin/bash
# The socket: its directory is created, a stale socket file is replaced,
# a live svrelayd is not displaced, and a non-socket file is left alone.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relayd_lib.sh"

CONF=$T/svrelay.conf
relayd_conf "$CONF"

# A stale socket: bound by a process that is gone.
mkdir -p "$T/run"
"$PYTHON" -c 'import socket,sys
s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()' "$SOCK"
check "a stale socket file is there" [ -S "$SOCK" ]
start_relayd "$CONF" || bail "svrelayd did not start over a stale socket"
ok "svrelayd replaced the stale socket"
check "the socket is mode 0660" [ "$(stat -c %a "$SOCK")" = 660 ]
check "svrelayd logged the replacement" grep -q "replacing a stale socket" "$T/svrelayd.log"

out=$("$SVRELAYD" -c "$CONF" 2>&1)
rc=$?
check "a second svrelayd exits 1" [ "$rc" -eq 1 ]
check "... saying another svrelayd is serving" \
	grep -q "another svrelayd is serving $SOCK" <<<"$out"
check "the first one still serves" \
	grep -q '"ok":true' <<<"$($CLIENT event s1 | $CLIENT ask "$SOCK")"
check "svrelayd exits 0 on SIGTERM" stop_relayd

# SIGKILL leaves the socket file behind: the next start replaces it.
start_relayd "$CONF" || bail "svrelayd did not start"
kill -KILL "$RELAYD_PID"; wait "$RELAYD_PID" 2>/dev/null
check "SIGKILL leaves a socket file" [ -S "$SOCK" ]
start_relayd "$CONF" || bail "svrelayd did not start after SIGKILL"
ok "the next start replaces it"
check "and serves" grep -q '"ok":true' <<<"$($CLIENT event s2 | $CLIENT ask "$SOCK")"
check "svrelayd exits 0 on SIGTERM" stop_relayd

echo "not a socket" > "$SOCK"
"$SVRELAYD" -c "$CONF" > "$T/notsock.log" 2>&1
check "a regular file at the socket path: refuse to start" [ $? -eq 1 ]
check "... and leave it alone" grep -q "not a socket" "$SOCK"
rm -f "$SOCK"

# The directory is created (0755) when missing.
rm -rf "$T/run"
start_relayd "$CONF" || bail "svrelayd did not start without its directory"
check "the socket's directory is created 0755" [ "$(stat -c %a "$T/run")" = 755 ]
check "spool_dir is 0750" [ "$(stat -c %a "$SPOOL")" = 750 ]
for d in handoff handoff/tmp handoff/new handoff/bad; do
	check "$d is 2770" [ "$(stat -c %a "$SPOOL/$d")" = 2770 ]
done
check "events.jsonl is 0640" [ "$(stat -c %a "$SPOOL/events.jsonl")" = 640 ]
check "svrelayd exits 0 on SIGTERM" stop_relayd
done_testing

#!/bin/bash
# svrelayd started as root with `user` set: it makes its socket directory
# and spool for that user, becomes that user for good, and works as before.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/relayd_lib.sh"

[ "$(id -u)" -eq 0 ] || bail "this test starts svrelayd as root"
chmod 755 "$T"
CONF=$T/svrelay.conf
relayd_conf "$CONF" 'user = "nobody";'
rmdir "$SPOOL" 2>/dev/null

check "svrelayd -t accepts user = nobody" bash -c "\"$SVRELAYD\" -t -c \"$CONF\" >/dev/null"
relayd_conf "$T/bad.conf" 'user = "no-such-user-here";'
out=$("$SVRELAYD" -t -c "$T/bad.conf" 2>&1); rc=$?
check "svrelayd -t refuses an unknown user" [ "$rc" -eq 1 ]
check "... naming the file and the key" \
    grep -q "$T/bad.conf: key 'user': no such user 'no-such-user-here'" <<<"$out"

start_relayd "$CONF" || bail "svrelayd did not start"
uid=$(awk '/^Uid:/{print $2, $3, $4, $5}' /proc/$RELAYD_PID/status)
check "runs as nobody (real, effective, saved, fs uid all 65534)" \
    [ "$uid" = "65534 65534 65534 65534" ]
check "gid is nobody's group" \
    [ "$(awk '/^Gid:/{print $2}' /proc/$RELAYD_PID/status)" = "$(id -g nobody)" ]
check "no supplementary root group left" \
    bash -c "! awk '/^Groups:/' /proc/$RELAYD_PID/status | grep -qw 0"
check "the spool it created belongs to nobody" \
    [ "$(stat -c %U "$SPOOL")" = nobody ]
check "the socket directory it created belongs to nobody" \
    [ "$(stat -c %U "$(dirname "$SOCK")")" = nobody ]
check "the socket is not world-writable" \
    [ "$(stat -c %a "$SOCK")" = 660 ]

# root (this test) is always allowed; the event lands in the spool.
reply=$($CLIENT event priv-1 | $CLIENT ask "$SOCK")
check "root's event is acknowledged" grep -q '"ok":true' <<<"$reply"
check "events.jsonl is owned by nobody" [ "$(stat -c %U "$SPOOL/events.jsonl")" = nobody ]
check "the event is in events.jsonl" grep -q '"id":"priv-1"' "$SPOOL/events.jsonl"
check "svrelayctl status works as root" bash -c "\"$SVRELAYCTL\" -c \"$CONF\" status >/dev/null"

check "SIGTERM exits 0" stop_relayd
done_testing

#!/bin/bash
# SIGHUP: a good config is swapped in, a new socket path is served and the
# old one goes; a bad config is refused and the running one kept.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/relayd_lib.sh"

CONF=$T/svrelay.conf
relayd_conf "$CONF"
start_relayd "$CONF" || bail "svrelayd did not start"
reply=$($CLIENT event before-1 | $CLIENT ask "$SOCK")
check "an event before the reload is stored" grep -q '"ok":true' <<<"$reply"

# A connection open across the reload keeps working.
exec 3> >($CLIENT ask "$SOCK" > "$T/held.out")
# Wait until svrelayd has it (the status query is the other connection).
held_connected() { [ "$(status_field connections)" -ge 2 ]; }
wait_for 10 held_connected || bail "the held connection never arrived"

# A bad config: kept the old one.
cp "$CONF" "$T/good.conf"
printf 'socket = "%s";\nspool_dir = "%s";\nsocket_mdoe = "0660";\n' \
    "$T/other.sock" "$SPOOL" > "$CONF"
kill -HUP "$RELAYD_PID"
wait_for 10 grep -q "keeping the running configuration" "$T/svrelayd.log"
check "a bad config is refused, naming file, line and key" \
    grep -q "$CONF:3: unknown key 'socket_mdoe'" "$T/svrelayd.log"
check "the old socket still serves" sock_accepts "$SOCK"
check "the bad config's socket was not made" [ ! -e "$T/other.sock" ]

# A good config with a new socket path and mode.
NEW=$T/run2/new.sock
sed -e "s|^socket = .*|socket = \"$NEW\";|" "$T/good.conf" > "$CONF"
printf 'socket_mode = "0600";\n' >> "$CONF"
kill -HUP "$RELAYD_PID"
check "the new socket accepts after SIGHUP" wait_for 10 sock_accepts "$NEW"
check "the new socket has the new mode" [ "$(stat -c %a "$NEW")" = 600 ]
check "the old socket file is gone" wait_for 5 test ! -e "$SOCK"
reply=$($CLIENT event after-1 | $CLIENT ask "$NEW")
check "an event through the new socket is stored" grep -q '"ok":true' <<<"$reply"
$CLIENT event held-1 >&3
exec 3>&-
wait_for 10 grep -q held-1 "$T/held.out"
check "a connection opened before the move still works" grep -q '"ok":true' "$T/held.out"
check "all three events are in the spool" \
    [ "$(grep -c -E '"id":"(before-1|after-1|held-1)"' "$SPOOL/events.jsonl")" -eq 3 ]
check "svrelayd is still running" relayd_alive
check "SIGTERM exits 0" stop_relayd
done_testing

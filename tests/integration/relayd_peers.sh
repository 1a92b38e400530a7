#!/bin/bash
# A client whose uid is not allowed is refused with one error line; the
# refusal is logged once; allow_users / allow_groups (by SIGHUP) let it in.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/relayd_lib.sh"

CONF=$T/svrelay.conf
LOG=$T/svrelayd.log
# The socket is group nogroup, 0660: nobody (primary group nogroup) can
# connect(2) to it, so only SO_PEERCRED stands in the way.
relayd_conf "$CONF" 'socket_group = "nogroup";'
start_relayd "$CONF" "$LOG" || bail "svrelayd did not start"
chmod 755 "$T/run"

as_nobody() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}
ask_nobody() {	# ask_nobody ID: one event as nobody; prints the reply
	$CLIENT event "$1" | as_nobody $CLIENT ask "$SOCK" 2>&1
}

check "socket is group nogroup, mode 0660" \
	[ "$(stat -c '%G %a' "$SOCK")" = "nogroup 660" ]
r=$(ask_nobody n1)
diag "reply: $r"
check "nobody is refused with an error naming its uid" \
	grep -q '"ok":false.*uid 65534 is not allowed' <<<"$r"
r=$(ask_nobody n2)
check "refused again" grep -q '"ok":false' <<<"$r"
check "the refusal is logged once" \
	[ "$(grep -c 'refused a connection from uid 65534' "$LOG")" -eq 1 ]
check "nothing from nobody was stored" \
	bash -c "! grep -q '\"id\":\"n[12]\"' '$SPOOL/events.jsonl'"
r=$(echo '{"cmd":"status"}' | as_nobody $CLIENT ask "$SOCK" 2>&1)
check "nobody gets no status either" grep -q '"ok":false' <<<"$r"
check "root is always allowed" \
	grep -q '"ok":true' <<<"$($CLIENT event r1 | $CLIENT ask "$SOCK")"

reloaded() { [ "$(grep -c 'configuration reloaded' "$LOG")" -ge "$1" ]; }
relayd_conf "$CONF" 'socket_group = "nogroup"; allow_users = [ "nobody" ];'
kill -HUP "$RELAYD_PID"
wait_for 10 reloaded 1
r=$(ask_nobody n3)
check "allow_users = [\"nobody\"] after SIGHUP lets it in" \
	grep -q '"ok":true,"id":"n3"' <<<"$r"

relayd_conf "$CONF" 'socket_group = "nogroup"; allow_groups = [ "nogroup" ];'
kill -HUP "$RELAYD_PID"
wait_for 10 reloaded 2
r=$(ask_nobody n4)
check "allow_groups = [\"nogroup\"] lets it in by group" \
	grep -q '"ok":true,"id":"n4"' <<<"$r"

relayd_conf "$CONF" 'socket_group = "nogroup"; allow_users = [ "no-such-user-x" ];'
check "svrelayd -t refuses an unknown user" \
	bash -c "! '$SVRELAYD' -t -c '$CONF' 2>'$T/t.err'"
check "... naming it" grep -q 'no-such-user-x' "$T/t.err"
kill -HUP "$RELAYD_PID"
kept() { grep -q 'keeping the running configuration' "$LOG"; }
check "a SIGHUP with an unknown user keeps the old config" wait_for 10 kept
r=$(ask_nobody n5)
check "... so nogroup is still allowed" grep -q '"ok":true,"id":"n5"' <<<"$r"
check "svrelayd exits 0 on SIGTERM" stop_relayd

relayd_conf "$CONF" 'allow_groups = [ "no-such-group-x" ];'
"$SVRELAYD" -c "$CONF" >>"$T/start.log" 2>&1
check "svrelayd refuses to start with an unknown group" [ $? -eq 1 ]
done_testing

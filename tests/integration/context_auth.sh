#!/bin/bash
# Crash context from a supervisord whose RPC server wants a username and
# password.  With context.username/password the FATAL event carries the
# context; a second supervisord whose listener has no credentials still
# gets its events through, with context.error saying why, and its log says
# so once (not once per event) -- and never the password.
. "$SVRELAY_TESTDIR/integration/lib.sh"
HELPER=${SVRELAY_LIBEXECDIR:-$(dirname "$SVRELAY_BINDIR")/libexec}/svrelay/svrelay-context
PW='pw-Zq81-not-in-logs'

# with_auth SDCONF: add the credentials to supervisord's HTTP server and
# to supervisorctl (so that sv_running works).
with_auth() {
	sed -i -e "/^file=.*\.sock$/a username=svuser\npassword=$PW" \
	    -e "/^serverurl=/a username=svuser\npassword=$PW" "$1"
}
programs="
[program:crash1]
command=/bin/sh -c 'echo \"crash1: bad config\" >&2; exit 2'
startsecs=1
startretries=0

[program:crash2]
command=/bin/sh -c 'echo \"crash2: bad config\" >&2; exit 2'
startsecs=1
startretries=0
"

printf '%s\n' "$PW" > "$T/pw"
chmod 600 "$T/pw"
write_conf "$T/svrelay.conf" "context = { helper = \"$HELPER\"; username = \"svuser\"; password_file = \"$T/pw\"; };"
write_conf "$T/noauth.conf" "context = { helper = \"$HELPER\"; };"
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"

write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf" "$programs"
with_auth "$T/sd.conf"
# The second supervisord: its own identifier, socket, logs; no credentials.
sed -e "s|$T/supervisor.sock|$T/sup2.sock|" -e "s|identifier=sv-test|identifier=sv-noauth|" \
    -e "s|logfile=$T/supervisord.log|logfile=$T/supervisord2.log|" \
    -e "s|stderr_logfile=$T/listener.log|stderr_logfile=$T/listener2.log|" \
    -e "s|-c $T/svrelay.conf|-c $T/noauth.conf|" \
    -e "s|childlogdir=$T|childlogdir=$T/logs2|" "$T/sd.conf" > "$T/sd2.conf"
mkdir -p "$T/logs2"
start_supervisord "$T/sd.conf" || bail "supervisord did not start"
start_supervisord "$T/sd2.conf" || bail "the second supervisord did not start"

EV=$T/spool/events.jsonl
fatal() {	# fatal SERVER NAME EXPR
	json_lines "$EV" "($3) if e['event'] == 'PROCESS_STATE_FATAL' and e['server'] == '$1' and e['payload'].get('processname') == '$2' else None"
}
nfatal() { json_lines "$EV" "1 if e['event'] == 'PROCESS_STATE_FATAL' else None" | wc -l; }
all_fatal() { [ "$(nfatal)" -ge 4 ]; }
check "four FATAL events reach events.jsonl" wait_for 30 all_fatal

check "with credentials: context.stderr_tail" \
	test "$(fatal sv-test crash1 "e['context'].get('stderr_tail')")" = "crash1: bad config"
check "with credentials: no context.error" \
	test "$(fatal sv-test crash2 "str(e['context'].get('error'))")" = None
for p in crash1 crash2; do
	err=$(fatal sv-noauth $p "e['context'].get('error')")
	case $err in
	*"HTTP 401"*context.username*) ok "without credentials: $p's event went through, context.error: $err" ;;
	*) not_ok "without credentials: $p context.error is '$err'" ;;
	esac
	check "without credentials: $p has no tail" \
		test "$(fatal sv-noauth $p "'stderr_tail' in e['context']")" = False
done
n=$(grep -c 'crash context for' "$T/listener2.log")
check "one log line for two failed fetches (got $n)" test "$n" -eq 1
grep 'crash context for' "$T/listener2.log" | sed 's/^/# /'
check "the password is in no log and no spool file" \
	bash -c "! grep -rqF -- '$PW' '$T/spool' '$T/listener.log' '$T/listener2.log' '$T/svrelayd.log'"
done_testing

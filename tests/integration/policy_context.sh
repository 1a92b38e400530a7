#!/bin/bash
# Crash context in Slack, end to end: the real supervisord, the listener
# and its helper, svrelayd and the fake Slack, and no stderr_events_enabled
# anywhere.  A boot crash that prints a Python traceback is one FATAL
# message saying it never stayed up for startsecs, with the traceback's
# last line; a program that exits 7 after startsecs (autorestart=false) is
# a message saying "exit status 7" with its stderr tail; a secret matched
# by context.redact reaches no Slack request.
. "$SVRELAY_TESTDIR/integration/lib.sh"
. "$SVRELAY_TESTDIR/integration/slack_lib.sh"
. "$SVRELAY_TESTDIR/integration/policy_lib.sh"
HELPER=${SVRELAY_LIBEXECDIR:-$(dirname "$SVRELAY_BINDIR")/libexec}/svrelay/svrelay-context
[ -x "$HELPER" ] || bail "no helper at $HELPER"

start_fake
slack_conf "$T/svrelay.conf" webhook
cat >> "$T/svrelay.conf" <<CONF
context = {
  helper = "$HELPER";
  redact = [ "xox[abpr]-[A-Za-z0-9-]+" ];
};
CONF
start_relayd "$T/svrelay.conf" || bail "svrelayd did not start"
write_supervisord_conf "$T/sd.conf" "$T/svrelay.conf" "
[program:boot]
command=$PYTHON -c 'import time; time.sleep(0.3); open(\"/nonexistent/app.yaml\")'
startsecs=2
startretries=1

[program:worker]
command=/bin/sh -c 'echo \"worker: connecting to <queue> & co\" >&2; echo \"worker: lost connection to queue: broken pipe\" >&2; sleep 1.5; exit 7'
startsecs=1
autorestart=false

[program:leaky]
command=/bin/sh -c 'echo \"using token xoxb-1111-LEAKEDTOKEN\" >&2; exit 1'
startsecs=1
startretries=0
"
start_supervisord "$T/sd.conf" || bail "supervisord did not start"

# msg NAME EXPR: EXPR over m (the JSON body) of each message about NAME.
msg() {
	json_lines "$FAKE_LOG" "(lambda m: ($2) if '$1' in m['text'] else None)(json.loads(e['body'])) if ($POSTS) else None"
}
has_msg() { [ -n "$(msg "$1" "1")" ]; }
# blocks NAME: all the block texts of NAME's messages.
blocks() { msg "$1" "json.dumps(m['attachments'], ensure_ascii=False)"; }

check "a message about boot:boot" wait_for 40 has_msg boot:boot
check "a message about worker:worker" wait_for 20 has_msg worker:worker
check "a message about leaky:leaky" wait_for 20 has_msg leaky:leaky
sleep 3		# time for a second message about boot: none may come

boot_text=$(msg boot:boot "m['text']")
diag "boot: $boot_text"
check "boot: exactly one message" test "$(msg boot:boot 1 | wc -l)" -eq 1
check "boot: it is the FATAL" grep -q "boot:boot FATAL on test-host" <<<"$boot_text"
check "boot: exited too quickly: never stayed up for startsecs" \
	grep -qF "exited too quickly: never stayed up for startsecs" <<<"$boot_text"
check "boot: with the last exit status (1)" grep -qF "(last exit status 1)" <<<"$boot_text"
last="FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent/app.yaml'"
check "boot: the blocks carry the traceback's last line" grep -qF "$last" <<<"$(blocks boot:boot)"
check "boot: in a labelled tail" grep -qF '*stderr (last lines)*\n```\nTraceback (most recent call last):' <<<"$(blocks boot:boot)"
check "boot: the text has the last line, not the whole traceback" \
	bash -c 'grep -qF "$1" <<<"$2" && ! grep -q Traceback <<<"$2"' _ "$last" "$boot_text"

worker_text=$(msg worker:worker "m['text']")
diag "worker: $worker_text"
check "worker: exit status 7" grep -qF "exit status 7" <<<"$worker_text"
check "worker: exited unexpectedly and was not restarted" \
	grep -qF "exited unexpectedly (exit status 7) and was not restarted" <<<"$worker_text"
check "worker: its stderr tail, escaped, in the blocks" \
	grep -qF 'worker: connecting to &lt;queue&gt; &amp; co\nworker: lost connection to queue: broken pipe\n```' <<<"$(blocks worker:worker)"

check "leaky: the redacted tail is in its message" grep -qF "using token [redacted]" <<<"$(blocks leaky:leaky)"
check "the secret is in no Slack request" bash -c "! grep -q LEAKEDTOKEN '$FAKE_LOG'"
check "no crash context unavailable" bash -c "! grep -q 'crash context unavailable' '$FAKE_LOG'"
check "no stderr_events_enabled anywhere" bash -c "! grep -q stderr_events_enabled '$T/sd.conf'"
done_testing

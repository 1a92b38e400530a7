# Helpers shared by the relayd_*.sh scripts, on top of lib.sh.

CLIENT="$PYTHON $SVRELAY_TESTDIR/integration/relayd_client.py"
SOCK=$T/run/svrelay.sock
SPOOL=$T/spool

# relayd_conf FILE [EXTRA]: a config with the socket in a directory that
# svrelayd has to create, debug logs, and EXTRA (libconfig) appended.
relayd_conf() {
	local f=$1 extra=${2:-}
	cat > "$f" <<CONF
socket = "$SOCK";
spool_dir = "$SPOOL";
host = "test-host";
log = { level = "debug"; };
$extra
CONF
}

# py_checks: run Python from stdin (with extra args); lines it prints as
# "PASS text" / "FAIL text" become TAP points, anything else a diag.
py_checks() {
	local line
	while IFS= read -r line; do
		case $line in
		PASS\ *) ok "${line#PASS }" ;;
		FAIL\ *) not_ok "${line#FAIL }" ;;
		*) diag "$line" ;;
		esac
	done < <("$PYTHON" - "$@" 2>&1)
}

# exactly_once IDFILE: is every id listed in IDFILE in the spool (all
# events.jsonl* files) exactly once?  Prints what is wrong.
exactly_once() {
	"$PYTHON" - "$1" "$SPOOL" <<'PY'
import glob, json, sys, collections
want = [l.strip() for l in open(sys.argv[1]) if l.strip()]
seen = collections.Counter()
for f in glob.glob(sys.argv[2] + "/events.jsonl*"):
    for line in open(f, encoding="utf-8"):
        seen[json.loads(line)["id"]] += 1
bad = [i for i in set(want) if seen[i] != 1]
for i in sorted(bad)[:10]:
    print("# %s is in the spool %d times" % (i, seen[i]))
dups = [i for i, n in seen.items() if n > 1]
for i in sorted(dups)[:10]:
    print("# %s is in the spool %d times" % (i, seen[i]))
sys.exit(1 if bad or dups else 0)
PY
}

# status_field NAME: one member of svrelayctl status --json.
status_field() {
	"$SVRELAYCTL" -c "$CONF" status --json | "$PYTHON" -c '
import json, sys
print(json.load(sys.stdin)["status"][sys.argv[1]])' "$1"
}

relayd_alive() { kill -0 "$RELAYD_PID" 2>/dev/null; }
relayd_gone() { ! kill -0 "$RELAYD_PID" 2>/dev/null; }

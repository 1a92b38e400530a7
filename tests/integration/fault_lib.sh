# Shared by the fault_*.sh scripts, after lib.sh: the checks of
# fault_check.py as shell functions, and mounts that are always undone.

FCHECK="$PYTHON $SVRELAY_TESTDIR/integration/fault_check.py"
MOUNTS=""

# At exit: lib.sh's cleanup (stops every process), then the mounts go,
# then what the first pass could not remove under them.
fault_exit() {
	local m
	cleanup 2>/dev/null
	for m in $MOUNTS; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	if [ "$TAP_FAILED" -eq 0 ] && [ -z "${KEEP_TMP:-}" ]; then
		rm -rf "$T"
	fi
}
trap fault_exit EXIT

# mount_tmpfs DIR SIZE: a small tmpfs on DIR, unmounted at exit.  1 if it
# cannot be mounted (not root).
mount_tmpfs() {
	mkdir -p "$1"
	mount -t tmpfs -o "size=$2,mode=0755" svrelay-fault "$1" 2>/dev/null ||
	    return 1
	MOUNTS="$1 $MOUNTS"
}

# fill_fs DIR: fill the file system under DIR (a file DIR/filler).
fill_fs() {
	dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null
	dd if=/dev/zero of="$1/filler2" bs=64 2>/dev/null
	sync "$1/filler" 2>/dev/null
	return 0
}

# sv_acked OUT: the ids of the events supervisord got OK for (from its
# debug log), one a line, in OUT; prints fault_check.py's summary.
sv_acked() {
	$FCHECK acked "$T/supervisord.log" test-host sv-test "$1"
}

# stored_once IDS: each id in IDS in events.jsonl or handoff/new once.
stored_once() {
	$FCHECK once "$1" "$T/spool" > "$T/once.out"
	local rc=$?
	while IFS= read -r l; do diag "${l#\# }"; done < "$T/once.out"
	return $rc
}

# listener_pid SDCONF: the listener's pid, as supervisord reports it.
listener_pid() {
	sv "$1" pid svrelay 2>/dev/null | grep -E '^[0-9]+$' | grep -v '^0$'
}

# vm_kb PID FIELD: a Vm* line of /proc/PID/status in kB (0 if gone).
vm_kb() {
	awk -v f="$2:" '$1 == f { print $2; found = 1 } END { if (!found) print 0 }' \
	    "/proc/$1/status" 2>/dev/null || echo 0
}

# in_log FILE REGEX: how many lines of FILE match REGEX (0 if absent).
in_log() { grep -Ec "$2" "$1" 2>/dev/null || true; }

# set_notify CONF TEXT: replace the notify group of CONF (if any) with
# "notify = { TEXT };".
set_notify() {
	"$PYTHON" - "$1" "$2" <<'PY'
import re, sys
path, body = sys.argv[1], sys.argv[2]
s = re.sub(r"(?ms)^notify\s*=\s*\{.*?\};\n?", "", open(path).read())
open(path, "w").write(s + "notify = { %s };\n" % body)
PY
}

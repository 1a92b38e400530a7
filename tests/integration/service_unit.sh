#!/bin/bash
# The installed systemd unit passes systemd-analyze verify, with its paths
# pointing at the installed binaries and man pages.
. "$SVRELAY_TESTDIR/integration/lib.sh"

prefix=${SVRELAY_PREFIX:?}
inst=${SVRELAY_DESTDIR:?}$prefix
unit=$inst/lib/systemd/system/svrelayd.service
check "the unit is installed" test -f "$unit"
# Its paths are the configured prefix; under the test install they live
# below the DESTDIR, so point them there for the check.
sed "s|$prefix/|$inst/|g" "$unit" > "$T/svrelayd.service"
check "ExecStart names the installed svrelayd" \
    grep -q "^ExecStart=$inst/sbin/svrelayd -c " "$T/svrelayd.service"
out=$(MANPATH=$inst/share/man systemd-analyze verify "$T/svrelayd.service" 2>&1); rc=$?
[ -n "$out" ] && diag "$out"
check "systemd-analyze verify passes" [ "$rc" -eq 0 ]
check "Type=notify" grep -qx "Type=notify" "$unit"
check "runs as User=svrelay" grep -qx "User=svrelay" "$unit"
check "hardened: ProtectSystem=strict, NoNewPrivileges" \
    bash -c "grep -qx ProtectSystem=strict '$unit' && grep -qx NoNewPrivileges=yes '$unit'"
check "sysusers.d and tmpfiles.d snippets are installed" \
    test -f "$inst/lib/sysusers.d/svrelay.conf" -a -f "$inst/lib/tmpfiles.d/svrelay.conf"
done_testing

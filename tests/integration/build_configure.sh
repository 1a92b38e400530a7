#!/bin/bash
# configure refuses to go on without a library it needs, and names the
# Debian package that provides it.
. "$SVRELAY_TESTDIR/integration/lib.sh"

srcdir=$(cd "$SVRELAY_TESTDIR/.." && pwd)
# Every .pc file the machine has, in a directory of our own, so that one
# at a time can be taken away.
mkdir -p "$T/pc"
for d in $(pkg-config --variable pc_path pkg-config | tr : ' '); do
	[ -d "$d" ] && cp -n "$d"/*.pc "$T/pc/" 2>/dev/null
done
check "the build's libraries are found in the copy" \
    env PKG_CONFIG_LIBDIR="$T/pc" pkg-config --exists libevent libcurl json-c libconfig expat check

while read -r pc pkg; do
	mkdir -p "$T/b-$pc"
	mv "$T/pc/$pc.pc" "$T/$pc.pc.away"
	out=$(cd "$T/b-$pc" && PKG_CONFIG_LIBDIR="$T/pc" "$srcdir/configure" -q 2>&1); rc=$?
	mv "$T/$pc.pc.away" "$T/pc/$pc.pc"
	check "without $pc.pc configure fails" [ "$rc" -ne 0 ]
	check "... and says: install the Debian package $pkg" \
	    grep -q "install the Debian package $pkg (apt-get install $pkg)" <<<"$out"
	[ "$rc" -ne 0 ] || diag "$out"
done <<'LIST'
libevent libevent-dev
libcurl libcurl4-openssl-dev
json-c libjson-c-dev
libconfig libconfig-dev
expat libexpat1-dev
check check
LIST
done_testing

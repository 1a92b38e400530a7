#!/bin/bash
# Docs are part of the feature: every key conf.c accepts is documented in
# svrelay.conf(5) and in the installed svrelay.conf.sample, and the sample
# itself is a valid config.
. "$SVRELAY_TESTDIR/integration/lib.sh"

inst=${SVRELAY_DESTDIR:?}${SVRELAY_PREFIX:?}
sample=$(find "$inst" -name svrelay.conf.sample | head -n 1)
man5=$(find "$inst" -name svrelay.conf.5 | head -n 1)
check "svrelay.conf.sample is installed" test -f "$sample"
check "svrelay.conf(5) is installed" test -f "$man5"
out=$("$SVRELAYD" -t -c "$sample" 2>&1); rc=$?
check "the sample passes svrelayd -t" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || diag "$out"

# The keys, group by group, from conf.c's tables (keys_top, keys_slack, …).
"$PYTHON" - "$SVRELAY_TESTDIR/../common/conf.c" > "$T/keys" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
for m in re.finditer(r'static const char \*keys_(\w+)\[\]\s*=\s*\{(.*?)\};', src, re.S):
    for k in re.findall(r'"([a-z_]+)"', m.group(2)):
        print(m.group(1), k)
PY
check "conf.c's key tables were found" [ "$(wc -l < "$T/keys")" -gt 30 ]
missing_man=""
missing_sample=""
while read -r group key; do
	grep -Eq "^\.It Ic ([a-z_]+ , )*$key( |$)|Ic $key\b|^\.Ss $key$" "$man5" ||
	    missing_man="$missing_man $group.$key"
	grep -Eq "(^|[ #{(])$key *=" "$sample" ||
	    missing_sample="$missing_sample $group.$key"
done < "$T/keys"
[ -n "$missing_man" ] && diag "not in svrelay.conf(5):$missing_man"
[ -n "$missing_sample" ] && diag "not in svrelay.conf.sample:$missing_sample"
check "every key is documented in svrelay.conf(5)" [ -z "$missing_man" ]
check "every key is in svrelay.conf.sample" [ -z "$missing_sample" ]
done_testing

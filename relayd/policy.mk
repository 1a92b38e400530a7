# The notification policy (relayd/policy.c) and its unit tests.  Pure
# logic: it links json-c and common/ only, never libevent or libcurl.
noinst_LIBRARIES += relayd/libpolicy.a
relayd_libpolicy_a_SOURCES = relayd/policy.c relayd/policy.h
relayd_libpolicy_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)

check_PROGRAMS += tests/check_policy
tests_check_policy_SOURCES = tests/check_policy.c tests/check_util.h
tests_check_policy_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/relayd
tests_check_policy_CFLAGS = $(UNIT_CFLAGS)
tests_check_policy_LDADD = relayd/libpolicy.a $(UNIT_LIBS)
TESTS += tests/check_policy

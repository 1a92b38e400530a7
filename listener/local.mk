# svrelay-listener: main() alone in svrelay-listener.c; everything else in
# a convenience library the unit tests and benchmarks link too.
noinst_LIBRARIES += listener/libsvlistener.a
listener_libsvlistener_a_SOURCES = \
	listener/listener.h \
	listener/proto.c \
	listener/forward.c \
	listener/handoff.c \
	listener/loop.c
listener_libsvlistener_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)

bin_PROGRAMS += listener/svrelay-listener
listener_svrelay_listener_SOURCES = listener/svrelay-listener.c
listener_svrelay_listener_LDADD = listener/libsvlistener.a $(SVCOMMON_LIBS)

check_PROGRAMS += tests/check_proto
tests_check_proto_SOURCES = tests/check_proto.c tests/check_util.h
tests_check_proto_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/listener
tests_check_proto_LDADD = listener/libsvlistener.a $(UNIT_LIBS)
TESTS += tests/check_proto

# The benchmark (bench/listener) compiles its own small helpers.
EXTRA_DIST += bench/listener bench/listener_ack_only.c \
	bench/listener_driver.c fuzz/fuzz_proto.c fuzz/corpus/proto

INTEGRATION_TESTS += \
	tests/integration/listener_bootcrash.sh \
	tests/integration/listener_unicode.sh \
	tests/integration/listener_relayd_down.sh \
	tests/integration/listener_relayd_hung.sh \
	tests/integration/listener_badinput.sh \
	tests/integration/listener_sigterm.sh

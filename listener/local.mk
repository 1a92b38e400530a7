# svrelay-listener: main() alone in svrelay-listener.c; everything else in
# a convenience library the unit tests and benchmarks link too.
noinst_LIBRARIES += listener/libsvlistener.a
listener_libsvlistener_a_SOURCES = \
	listener/listener.h \
	listener/proto.c \
	listener/forward.c \
	listener/handoff.c \
	listener/context.c \
	listener/loop.c
listener_libsvlistener_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) \
	-DSVRELAY_CONTEXT_HELPER='"$(svrelaylibexecdir)/svrelay-context"'

bin_PROGRAMS += listener/svrelay-listener
listener_svrelay_listener_SOURCES = listener/svrelay-listener.c
listener_svrelay_listener_LDADD = listener/libsvlistener.a $(SVCOMMON_LIBS)

# svrelay-context: the crash-context helper the listener runs for FATAL
# and unexpected exits.  It alone links libcurl and expat, so that the
# listener stays small.
svrelaylibexecdir = $(libexecdir)/svrelay
svrelaylibexec_PROGRAMS = listener/svrelay-context
noinst_LIBRARIES += listener/libsvcontext.a
listener_libsvcontext_a_SOURCES = \
	listener/listener.h \
	listener/xmlrpc.c \
	listener/rpc.c \
	listener/tail.c
listener_libsvcontext_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) \
	$(LIBCURL_CFLAGS) $(EXPAT_CFLAGS)
listener_svrelay_context_SOURCES = listener/svrelay-context.c
listener_svrelay_context_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) \
	$(LIBCURL_CFLAGS)
listener_svrelay_context_LDADD = listener/libsvcontext.a $(SVCOMMON_LIBS) \
	$(LIBCURL_LIBS) $(EXPAT_LIBS)

# The integration tests run the installed layout: install the helper too.
tests/inst.stamp: $(svrelaylibexec_PROGRAMS)

check_PROGRAMS += tests/check_proto tests/check_context
tests_check_proto_SOURCES = tests/check_proto.c tests/check_util.h
tests_check_proto_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/listener
tests_check_proto_LDADD = listener/libsvlistener.a $(UNIT_LIBS)
tests_check_context_SOURCES = tests/check_context.c tests/check_util.h
tests_check_context_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/listener
tests_check_context_LDADD = listener/libsvcontext.a $(UNIT_LIBS) \
	$(EXPAT_LIBS)
TESTS += tests/check_proto tests/check_context

# The benchmark (bench/listener) compiles its own small helpers.
EXTRA_DIST += bench/listener bench/listener_ack_only.c \
	bench/listener_driver.c fuzz/fuzz_proto.c fuzz/corpus/proto \
	fuzz/fuzz_xmlrpc.c fuzz/corpus/xmlrpc

INTEGRATION_TESTS += \
	tests/integration/listener_bootcrash.sh \
	tests/integration/listener_unicode.sh \
	tests/integration/listener_relayd_down.sh \
	tests/integration/listener_relayd_hung.sh \
	tests/integration/listener_badinput.sh \
	tests/integration/listener_sigterm.sh \
	tests/integration/context_bootcrash.sh \
	tests/integration/context_exit.sh \
	tests/integration/context_auth.sh \
	tests/integration/context_redact.sh \
	tests/integration/context_timeout.sh

# svrelayd (ingest: socket, spool, hand-off import, control) and svrelayctl.
# Everything but the two mains is in librelayd.a, so that tests link it.
RELAYD_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) $(JSONC_CFLAGS) \
	$(LIBCONFIG_CFLAGS) $(LIBCURL_CFLAGS)

noinst_LIBRARIES += relayd/librelayd.a
relayd_librelayd_a_SOURCES = \
	relayd/relayd.h \
	relayd/control.c \
	relayd/handoff.c \
	relayd/idset.c \
	relayd/sdnotify.c \
	relayd/server.c \
	relayd/spool.c
relayd_librelayd_a_CFLAGS = $(RELAYD_CFLAGS)

sbin_PROGRAMS += relayd/svrelayd
relayd_svrelayd_SOURCES = relayd/svrelayd.c $(DELIVERY_FILES)
relayd_svrelayd_CFLAGS = $(RELAYD_CFLAGS)
relayd_svrelayd_LDADD = relayd/librelayd.a $(DELIVERY_LINK) \
	$(SVCOMMON_LIBS) $(LIBEVENT_LIBS)

bin_PROGRAMS += relayd/svrelayctl
relayd_svrelayctl_SOURCES = relayd/svrelayctl.c relayd/relayd.h
relayd_svrelayctl_CFLAGS = $(RELAYD_CFLAGS)
relayd_svrelayctl_LDADD = $(SVCOMMON_LIBS) $(LIBCURL_LIBS) $(LIBEVENT_LIBS)

# Unit tests of the spool, the id set and the hand-off import.
check_PROGRAMS += tests/check_spool
tests_check_spool_SOURCES = tests/check_spool.c tests/check_util.h
tests_check_spool_CFLAGS = $(UNIT_CFLAGS) $(LIBEVENT_CFLAGS) \
	-I$(top_srcdir)/relayd
tests_check_spool_LDADD = relayd/librelayd.a $(UNIT_LIBS) $(LIBEVENT_LIBS)
TESTS += tests/check_spool

# Integration: each script one behaviour of the installed svrelayd.
INTEGRATION_TESTS += \
	tests/integration/relayd_crash.sh \
	tests/integration/relayd_hostile.sh \
	tests/integration/relayd_peers.sh \
	tests/integration/relayd_signals.sh \
	tests/integration/relayd_ctl.sh \
	tests/integration/relayd_socket.sh \
	tests/integration/relayd_handoff.sh \
	tests/integration/relayd_enospc.sh
dist_check_SCRIPTS += tests/integration/relayd_client.py
dist_check_DATA += tests/integration/relayd_lib.sh

EXTRA_DIST += bench/ingest bench/ingest_client.c bench/ingest_disk.c

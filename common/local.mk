noinst_LIBRARIES += common/libsvcommon.a
common_libsvcommon_a_SOURCES = \
	common/conf.c common/conf.h \
	common/log.c common/log.h \
	common/svevent.c common/svevent.h \
	common/urlcheck.c common/urlcheck.h \
	common/wire.c common/wire.h \
	common/xmalloc.c common/xmalloc.h
common_libsvcommon_a_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(LIBCONFIG_CFLAGS) $(LIBCURL_CFLAGS)

# What every program and test links for common/.  urlcheck.o (libcurl's URL
# parser for conf.c) is pulled in only by programs that call it; they add
# $(LIBCURL_LIBS) themselves, so the listener does not load libcurl.
SVCOMMON_LIBS = common/libsvcommon.a $(JSONC_LIBS) $(LIBCONFIG_LIBS)

# Unit tests: Check suites, one binary per module, TAP on stdout.
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JSONC_CFLAGS) $(LIBCONFIG_CFLAGS) \
	-DTEST_DATADIR='"$(abs_top_srcdir)/tests/data"'
UNIT_LIBS = $(SVCOMMON_LIBS) $(LIBCURL_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/check_conf tests/check_svevent tests/check_wire
tests_check_conf_SOURCES = tests/check_conf.c tests/check_util.h
tests_check_conf_CFLAGS = $(UNIT_CFLAGS)
tests_check_conf_LDADD = $(UNIT_LIBS)
tests_check_svevent_SOURCES = tests/check_svevent.c tests/check_util.h
tests_check_svevent_CFLAGS = $(UNIT_CFLAGS)
tests_check_svevent_LDADD = $(UNIT_LIBS)
tests_check_wire_SOURCES = tests/check_wire.c tests/check_util.h
tests_check_wire_CFLAGS = $(UNIT_CFLAGS)
tests_check_wire_LDADD = $(UNIT_LIBS)
TESTS += tests/check_conf tests/check_svevent tests/check_wire

# Integration tests drive the installed layout (make install into
# tests/inst) under the real supervisord.  Each script prints TAP.
include tests/integration/local.mk
include tests/integration/fault.mk
TESTS += $(INTEGRATION_TESTS)
dist_check_SCRIPTS += $(INTEGRATION_TESTS)
dist_check_DATA += tests/integration/lib.sh tests/integration/fake_slack.py
EXTRA_DIST += tests/data

SVRELAY_INST = $(abs_top_builddir)/tests/inst
check_DATA += tests/inst.stamp
tests/inst.stamp: $(bin_PROGRAMS) $(sbin_PROGRAMS) $(dist_man_MANS) \
		$(dist_svrelayconf_DATA) $(svrelaydoc_DATA) $(systemdunit_DATA) \
		$(sysusers_DATA) $(tmpfiles_DATA)
	@rm -rf $(SVRELAY_INST)
	$(AM_V_GEN)$(MAKE) $(AM_MAKEFLAGS) install DESTDIR=$(SVRELAY_INST) >/dev/null
	@touch $@
clean-local: clean-inst
clean-inst:
	rm -rf $(SVRELAY_INST) tests/inst.stamp tests/tmp
.PHONY: clean-inst

AM_TESTS_ENVIRONMENT = \
	SVRELAY_BINDIR='$(SVRELAY_INST)$(bindir)'; \
	SVRELAY_SBINDIR='$(SVRELAY_INST)$(sbindir)'; \
	SVRELAY_TESTDIR='$(abs_top_srcdir)/tests'; \
	SVRELAY_TMPDIR='$(abs_top_builddir)/tests/tmp'; \
	SVRELAY_PREFIX='$(prefix)'; \
	SVRELAY_LIBEXECDIR='$(SVRELAY_INST)$(libexecdir)'; \
	SVRELAY_DESTDIR='$(SVRELAY_INST)'; \
	export SVRELAY_BINDIR SVRELAY_SBINDIR SVRELAY_TESTDIR SVRELAY_TMPDIR \
	    SVRELAY_PREFIX SVRELAY_DESTDIR SVRELAY_LIBEXECDIR;

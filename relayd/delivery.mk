# The delivery engine svrelayd links (see relayd/delivery.h).  relayd/local.mk
# adds these to svrelayd and to the tests that link relayd code; their
# objects need DELIVERY_CFLAGS.  The notification policy it runs is
# relayd/libpolicy.a (relayd/policy.mk), linked through DELIVERY_LINK.
DELIVERY_SOURCES = relayd/delivery.h relayd/delivery_int.h \
	relayd/delivery.c relayd/http.c relayd/slack.c relayd/outbox.c \
	relayd/pace.c relayd/sink.h relayd/sink_slack.c \
	relayd/alertmanager.c relayd/metrics.c
DELIVERY_FILES = $(DELIVERY_SOURCES)
DELIVERY_CFLAGS = $(LIBCURL_CFLAGS) $(LIBEVENT_CFLAGS) $(JSONC_CFLAGS)
DELIVERY_LINK = relayd/libpolicy.a $(LIBCURL_LIBS) $(LIBEVENT_LIBS) \
	$(JSONC_LIBS)
EXTRA_DIST += $(DELIVERY_SOURCES) relayd/delivery_stub.c

# Unit tests of the delivery engine.
DELIVERY_TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(DELIVERY_CFLAGS) \
	-I$(top_srcdir)/relayd
DELIVERY_TEST_LIBS = relayd/libpolicy.a $(SVCOMMON_LIBS) $(DELIVERY_LINK) \
	$(CHECK_LIBS)

check_PROGRAMS += tests/check_slack tests/check_outbox tests/check_http
tests_check_slack_SOURCES = tests/check_slack.c tests/check_util.h \
	relayd/delivery_int.h relayd/slack.c relayd/pace.c
tests_check_slack_CFLAGS = $(DELIVERY_TEST_CFLAGS)
tests_check_slack_LDADD = $(DELIVERY_TEST_LIBS)
tests_check_outbox_SOURCES = tests/check_outbox.c tests/check_util.h \
	relayd/delivery_int.h relayd/outbox.c
tests_check_outbox_CFLAGS = $(DELIVERY_TEST_CFLAGS)
tests_check_outbox_LDADD = $(DELIVERY_TEST_LIBS)
tests_check_http_SOURCES = tests/check_http.c tests/check_util.h \
	$(DELIVERY_SOURCES)
tests_check_http_CFLAGS = $(DELIVERY_TEST_CFLAGS)
tests_check_http_LDADD = $(DELIVERY_TEST_LIBS)
TESTS += tests/check_slack tests/check_outbox tests/check_http


# Integration: the installed svrelayd against tests/integration/fake_slack.py.
INTEGRATION_TESTS += tests/integration/slack_retry.sh \
	tests/integration/slack_ratelimit.sh tests/integration/slack_hang.sh \
	tests/integration/slack_dead.sh tests/integration/slack_crash.sh \
	tests/integration/slack_pacing.sh tests/integration/slack_content.sh
dist_check_DATA += tests/integration/slack_lib.sh

# Integration: the notification policy under the real supervisord, through
# svrelay-listener and svrelayd to the fake Slack.
INTEGRATION_TESTS += tests/integration/policy_bootcrash.sh \
	tests/integration/policy_flap.sh tests/integration/policy_group.sh \
	tests/integration/policy_healthy.sh \
	tests/integration/policy_recovery.sh tests/integration/policy_api.sh \
	tests/integration/policy_restart.sh tests/integration/policy_route.sh
INTEGRATION_TESTS += tests/integration/policy_context.sh tests/integration/ctl_processes.sh
dist_check_DATA += tests/integration/policy_lib.sh

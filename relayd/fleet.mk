# Alertmanager sink and Prometheus metrics (issue: beyond one host).
# Their sources are in DELIVERY_SOURCES (relayd/delivery.mk).

# Unit tests: the alerts a note makes, and the metrics text.
check_PROGRAMS += tests/check_alertmanager tests/check_metrics
tests_check_alertmanager_SOURCES = tests/check_alertmanager.c \
	tests/check_util.h relayd/delivery_int.h relayd/sink.h \
	relayd/alertmanager.c relayd/sink_slack.c relayd/slack.c relayd/pace.c \
	relayd/outbox.c
tests_check_alertmanager_CFLAGS = $(DELIVERY_TEST_CFLAGS)
tests_check_alertmanager_LDADD = $(DELIVERY_TEST_LIBS)
tests_check_metrics_SOURCES = tests/check_metrics.c tests/check_util.h \
	relayd/delivery.h relayd/metrics.c
tests_check_metrics_CFLAGS = $(DELIVERY_TEST_CFLAGS)
tests_check_metrics_LDADD = $(DELIVERY_TEST_LIBS)
TESTS += tests/check_alertmanager tests/check_metrics

# Integration: the installed svrelayd against the real Alertmanager
# (Debian's prometheus-alertmanager, on loopback ports) and the fake Slack.
INTEGRATION_TESTS += tests/integration/fleet_cluster.sh \
	tests/integration/fleet_outage.sh tests/integration/metrics_scrape.sh
dist_check_DATA += tests/integration/fleet_lib.sh

# etc/alertmanager-svrelay.yml is installed (and distributed) by
# etc/local.mk, as dist_svrelaydoc_DATA.

/*
 * The metrics text: every family has HELP and TYPE, every sample line is
 * well formed, no series twice, and the values are those of the status
 * object svrelayctl status shows.
 */
#include "config.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "check_util.h"
#include "delivery.h"
#include "xmalloc.h"

/* A status object as control_status() makes it (the parts metrics use). */
static struct json_object *
status(void)
{
	const char	*s =
	    "{\"started\":\"2023-11-14T22:13:20.500Z\","
	    "\"events_accepted\":12,\"duplicates\":3,\"refused_lines\":2,"
	    "\"long_lines\":0,\"write_failures\":0,\"spool_bytes\":4096,"
	    "\"handoff_imported\":5,\"handoff_duplicates\":1,"
	    "\"handoff_bad\":0,\"connections\":1,\"connections_total\":7,"
	    "\"refused_peers\":0,"
	    "\"delivery\":{\"retries\":4,\"dead_letters\":1,"
	    "\"last_sent\":\"2023-11-14T22:15:00.250Z\","
	    "\"sinks\":{\"slack\":{\"queued_total\":6,\"sent\":5,"
	    "\"failed\":4,\"dead\":1,\"queued\":0},"
	    "\"alertmanager\":{\"queued_total\":2,\"sent\":2,\"failed\":0,"
	    "\"dead\":0,\"queued\":0,\"firing\":1}}},"
	    "\"policy\":{\"notes\":6,\"flapping\":0,"
	    "\"states\":{\"RUNNING\":3,\"FATAL\":1}}}";

	return (json_tokener_parse(s));
}

static char *
text(void)
{
	struct json_object	*st = status();
	struct evbuffer		*b = evbuffer_new();
	char			*s;
	size_t			 len;

	metrics_text(st, b);
	len = evbuffer_get_length(b);
	s = xmalloc(len + 1);
	evbuffer_remove(b, s, len);
	s[len] = '\0';
	evbuffer_free(b);
	json_object_put(st);
	return (s);
}

/* The value of the sample line that starts with series + ' ', or -1. */
static double
value(const char *t, const char *series)
{
	const char	*p = t;
	size_t		 len = strlen(series);

	while ((p = strstr(p, series)) != NULL) {
		if ((p == t || p[-1] == '\n') && p[len] == ' ')
			return (strtod(p + len + 1, NULL));
		p += len;
	}
	return (-1);
}

START_TEST(test_metrics_values_are_the_status)
{
	char	*t = text();

	ck_assert(value(t, "svrelay_events_accepted_total") == 12);
	ck_assert(value(t, "svrelay_events_duplicate_total") == 3);
	ck_assert(value(t, "svrelay_lines_refused_total") == 2);
	ck_assert(value(t, "svrelay_spool_bytes") == 4096);
	ck_assert(value(t, "svrelay_handoff_imported_total") == 5);
	ck_assert(value(t, "svrelay_start_time_seconds") == 1700000000.5);
	ck_assert(value(t, "svrelay_last_delivery_timestamp_seconds") ==
	    1700000100.25);
	ck_assert(value(t, "svrelay_notifications_total{sink=\"slack\","
	    "outcome=\"sent\"}") == 5);
	ck_assert(value(t, "svrelay_notifications_total{sink=\"slack\","
	    "outcome=\"queued\"}") == 6);
	ck_assert(value(t, "svrelay_notifications_total{sink=\"alertmanager\","
	    "outcome=\"dead\"}") == 0);
	ck_assert(value(t, "svrelay_delivery_retries_total") == 4);
	ck_assert(value(t, "svrelay_alerts_firing") == 1);
	ck_assert(value(t, "svrelay_processes{state=\"RUNNING\"}") == 3);
	ck_assert(value(t, "svrelay_processes{state=\"FATAL\"}") == 1);
	ck_assert(value(t, "svrelay_processes{state=\"STOPPED\"}") == 0);
	free(t);
}
END_TEST

START_TEST(test_metrics_exposition_is_well_formed)
{
	regex_t		 help, type, sample;
	char		*t = text(), *line, *save = NULL, name[128];
	char		 fam[128] = "", *series[256];
	size_t		 nseries = 0, i;
	int		 typed = 0;
	regmatch_t	 m[3];

	ck_assert_int_eq(regcomp(&help, "^# HELP (svrelay_[a-z_]+) [^\n]+$",
	    REG_EXTENDED), 0);
	ck_assert_int_eq(regcomp(&type, "^# TYPE (svrelay_[a-z_]+) "
	    "(counter|gauge)$", REG_EXTENDED), 0);
	ck_assert_int_eq(regcomp(&sample, "^(svrelay_[a-z_]+)"
	    "(\\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\\})? "
	    "-?[0-9]+(\\.[0-9]+)?$", REG_EXTENDED), 0);
	ck_assert(t[strlen(t) - 1] == '\n');
	for (line = strtok_r(t, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (regexec(&help, line, 2, m, 0) == 0) {
			snprintf(fam, sizeof fam, "%.*s",
			    (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
			typed = 0;
			continue;
		}
		if (regexec(&type, line, 3, m, 0) == 0) {
			snprintf(name, sizeof name, "%.*s",
			    (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
			ck_assert_str_eq(name, fam);
			/* Counters, and only they, end in _total. */
			ck_assert_int_eq(strncmp(line + m[2].rm_so, "counter",
			    7) == 0, strlen(fam) > 6 &&
			    strcmp(fam + strlen(fam) - 6, "_total") == 0);
			typed = 1;
			continue;
		}
		ck_assert_msg(regexec(&sample, line, 2, m, 0) == 0,
		    "not a sample: %s", line);
		snprintf(name, sizeof name, "%.*s",
		    (int)(m[1].rm_eo - m[1].rm_so), line + m[1].rm_so);
		ck_assert_msg(typed && strcmp(name, fam) == 0,
		    "%s outside its family", line);
		*strrchr(line, ' ') = '\0';
		for (i = 0; i < nseries; i++)
			ck_assert_str_ne(series[i], line);
		ck_assert(nseries < 256);
		series[nseries++] = line;
	}
	ck_assert(nseries > 20);
	regfree(&help);
	regfree(&type);
	regfree(&sample);
	free(t);
}
END_TEST

START_TEST(test_metrics_empty_status_is_zero)
{
	struct json_object	*st = json_object_new_object();
	struct evbuffer		*b = evbuffer_new();

	metrics_text(st, b);
	ck_assert(evbuffer_get_length(b) > 0);
	ck_assert_ptr_nonnull(evbuffer_search(b,
	    "\nsvrelay_events_accepted_total 0\n", 33, NULL).pos >= 0 ?
	    (void *)1 : NULL);
	evbuffer_free(b);
	json_object_put(st);
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite	*s = suite_create("metrics");
	TCase	*tc = tcase_create("text");

	tcase_add_test(tc, test_metrics_values_are_the_status);
	tcase_add_test(tc, test_metrics_exposition_is_well_formed);
	tcase_add_test(tc, test_metrics_empty_status_is_zero);
	suite_add_tcase(s, tc);
	return (s);
}

CHECK_MAIN(metrics_suite)

/*
 * The Alertmanager sink: the alerts a policy note makes (labels,
 * annotations, startsAt/endsAt), what stays firing across a restart, and
 * how Alertmanager's answers are read.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "check_util.h"
#include "delivery_int.h"
#include "policy.h"
#include "sink.h"
#include "svevent.h"
#include "xmalloc.h"

static char	tmpdir[64];

static void
setup(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/check_am.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(alertmanager_open(tmpdir), 0);
}

static void
teardown(void)
{
	char	*cmd;

	alertmanager_close();
	xasprintf(&cmd, "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	free(cmd);
}

/* A note for processes (NULL-ended "group:name"), each alert what. */
static struct policy_note *
note(enum policy_note_kind kind, int what, int64_t t, const char **procs)
{
	struct policy_note	*n;
	size_t			 i;

	n = xcalloc(1, sizeof *n);
	n->id = xstrdup("ep:x");
	n->kind = kind;
	n->severity = POLICY_SEV_ERROR;
	n->route = xstrdup("");
	n->key = xstrdup("ep:x");
	n->update_key = xstrdup("");
	n->thread_key = xstrdup("");
	n->host = xstrdup("web-1");
	n->server = xstrdup("sv");
	n->text = xstrdup("api:api_00 FATAL on web-1 — exited too quickly");
	n->detail = xstrdup("STARTING → BACKOFF → FATAL");
	n->reason = xstrdup("exit status 7");
	n->time_ms = t;
	for (i = 0; procs[i] != NULL; i++)
		;
	n->nprocesses = i;
	n->processes = xcalloc(i + 1, sizeof *n->processes);
	n->alerts = xcalloc(i + 1, sizeof *n->alerts);
	for (i = 0; procs[i] != NULL; i++) {
		n->processes[i] = xstrdup(procs[i]);
		n->alerts[i] = what;
	}
	n->tails = xcalloc(1, sizeof *n->tails);
	n->tails[0].process = xstrdup(procs[0]);
	n->tails[0].label = xstrdup("stderr (last lines)");
	n->tails[0].text = xstrdup("Traceback\nValueError: boom");
	n->ntails = 1;
	return (n);
}

static const char *
get(struct json_object *a, const char *obj, const char *key)
{
	struct json_object	*o, *v;

	if (obj != NULL) {
		if (!json_object_object_get_ex(a, obj, &o))
			return (NULL);
	} else
		o = a;
	if (!json_object_object_get_ex(o, key, &v))
		return (NULL);
	return (json_object_get_string(v));
}

static const char *one[] = { "api:api_00", NULL };
#define T0	1700000000000LL		/* 2023-11-14T22:13:20.000Z */

START_TEST(test_alertmanager_fatal_labels_annotations)
{
	struct policy_note	*n;
	struct json_object	*out, *a;

	n = note(POLICY_NOTE_NEW, POLICY_ALERT_FATAL, T0, one);
	out = alertmanager_note(n, "default-host", 300000);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(json_object_array_length(out), 1);
	a = json_object_array_get_idx(out, 0);
	ck_assert_str_eq(get(a, "labels", "alertname"),
	    "SupervisorProcessFatal");
	ck_assert_str_eq(get(a, "labels", "host"), "web-1");
	ck_assert_str_eq(get(a, "labels", "server"), "sv");
	ck_assert_str_eq(get(a, "labels", "group"), "api");
	ck_assert_str_eq(get(a, "labels", "process"), "api_00");
	ck_assert_str_eq(get(a, "labels", "severity"), "critical");
	ck_assert_str_eq(get(a, "annotations", "summary"), n->text);
	ck_assert_str_eq(get(a, "annotations", "description"), n->detail);
	ck_assert_str_eq(get(a, "annotations", "exit_status"),
	    "exit status 7");
	ck_assert_str_eq(get(a, "annotations", "stderr_tail"),
	    "Traceback\nValueError: boom");
	ck_assert_str_eq(get(a, NULL, "startsAt"), "2023-11-14T22:13:20.000Z");
	ck_assert_ptr_null(get(a, NULL, "endsAt"));
	ck_assert_int_eq(alertmanager_nfiring(), 1);
	json_object_put(out);
	policy_note_free(n);
}
END_TEST

START_TEST(test_alertmanager_recovery_resolves_same_labels)
{
	struct policy_note	*n, *r;
	struct json_object	*fired, *out, *a, *la, *lb;

	n = note(POLICY_NOTE_NEW, POLICY_ALERT_FATAL, T0, one);
	fired = alertmanager_note(n, "h", 300000);
	r = note(POLICY_NOTE_REPLY, POLICY_ALERT_RESOLVED, T0 + 61000, one);
	out = alertmanager_note(r, "h", 300000);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(json_object_array_length(out), 1);
	a = json_object_array_get_idx(out, 0);
	json_object_object_get_ex(a, "labels", &la);
	json_object_object_get_ex(json_object_array_get_idx(fired, 0),
	    "labels", &lb);
	ck_assert(json_object_equal(la, lb));
	ck_assert_str_eq(get(a, NULL, "startsAt"), "2023-11-14T22:13:20.000Z");
	ck_assert_str_eq(get(a, NULL, "endsAt"), "2023-11-14T22:14:21.000Z");
	ck_assert_int_eq(alertmanager_nfiring(), 0);
	ck_assert_ptr_null(alertmanager_firing());
	/* Nothing fires: a second recovery says nothing. */
	json_object_put(out);
	ck_assert_ptr_null(alertmanager_note(r, "h", 300000));
	json_object_put(fired);
	policy_note_free(n);
	policy_note_free(r);
}
END_TEST

START_TEST(test_alertmanager_over_already_ends_by_itself)
{
	struct policy_note	*n;
	struct json_object	*out, *a;

	n = note(POLICY_NOTE_NEW, POLICY_ALERT_CRASHED, T0, one);
	out = alertmanager_note(n, "h", 300000);
	a = json_object_array_get_idx(out, 0);
	ck_assert_str_eq(get(a, "labels", "alertname"),
	    "SupervisorProcessExited");
	ck_assert_str_eq(get(a, "labels", "severity"), "warning");
	ck_assert_str_eq(get(a, NULL, "endsAt"), "2023-11-14T22:18:20.000Z");
	ck_assert_int_eq(alertmanager_nfiring(), 0);
	json_object_put(out);
	policy_note_free(n);
}
END_TEST

START_TEST(test_alertmanager_group_note_one_alert_per_process)
{
	static const char	*two[] = { "api:api_00", "api:api_01", NULL };
	struct policy_note	*n;
	struct json_object	*out, *a, *b;

	n = note(POLICY_NOTE_NEW, POLICY_ALERT_FATAL, T0, two);
	out = alertmanager_note(n, "h", 300000);
	ck_assert_int_eq(json_object_array_length(out), 2);
	a = json_object_array_get_idx(out, 0);
	b = json_object_array_get_idx(out, 1);
	ck_assert_str_eq(get(a, "labels", "process"), "api_00");
	ck_assert_str_eq(get(b, "labels", "process"), "api_01");
	/* Each its own summary; the tail only where it belongs. */
	ck_assert_ptr_nonnull(strstr(get(b, "annotations", "summary"),
	    "api:api_01 gave up (FATAL) on web-1"));
	ck_assert_ptr_nonnull(get(a, "annotations", "stderr_tail"));
	ck_assert_ptr_null(get(b, "annotations", "stderr_tail"));
	ck_assert_int_eq(alertmanager_nfiring(), 2);
	json_object_put(out);
	policy_note_free(n);
}
END_TEST

START_TEST(test_alertmanager_flapping_then_fatal_replaces)
{
	struct policy_note	*f, *u, *x;
	struct json_object	*out;

	f = note(POLICY_NOTE_NEW, POLICY_ALERT_FLAPPING, T0, one);
	out = alertmanager_note(f, "h", 300000);
	ck_assert_int_eq(json_object_array_length(out), 1);
	json_object_put(out);
	/* An update of what fires: carried by the next resend. */
	u = note(POLICY_NOTE_UPDATE, POLICY_ALERT_FLAPPING, T0 + 5000, one);
	ck_assert_ptr_null(alertmanager_note(u, "h", 300000));
	ck_assert_int_eq(alertmanager_nfiring(), 1);
	/* Gave up: FATAL fires, flapping is resolved. */
	x = note(POLICY_NOTE_NEW, POLICY_ALERT_FATAL, T0 + 9000, one);
	out = alertmanager_note(x, "h", 300000);
	ck_assert_int_eq(json_object_array_length(out), 2);
	ck_assert_str_eq(get(json_object_array_get_idx(out, 0), "labels",
	    "alertname"), "SupervisorProcessFlapping");
	ck_assert_ptr_nonnull(get(json_object_array_get_idx(out, 0), NULL,
	    "endsAt"));
	ck_assert_str_eq(get(json_object_array_get_idx(out, 1), "labels",
	    "alertname"), "SupervisorProcessFatal");
	ck_assert_int_eq(alertmanager_nfiring(), 1);
	json_object_put(out);
	policy_note_free(f);
	policy_note_free(u);
	policy_note_free(x);
}
END_TEST

START_TEST(test_alertmanager_firing_survives_restart)
{
	struct policy_note	*n;
	struct json_object	*out, *fire;

	n = note(POLICY_NOTE_NEW, POLICY_ALERT_EXITED, T0, one);
	out = alertmanager_note(n, "h", 300000);
	json_object_put(out);
	alertmanager_close();
	ck_assert_int_eq(alertmanager_open(tmpdir), 0);
	ck_assert_int_eq(alertmanager_nfiring(), 1);
	fire = alertmanager_firing();
	ck_assert_str_eq(get(json_object_array_get_idx(fire, 0), "labels",
	    "alertname"), "SupervisorProcessExited");
	json_object_put(fire);
	policy_note_free(n);
}
END_TEST

START_TEST(test_alertmanager_none_and_plain_notes)
{
	struct policy_note	*n;

	n = note(POLICY_NOTE_NEW, POLICY_ALERT_NONE, T0, one);
	ck_assert_ptr_null(alertmanager_note(n, "h", 300000));
	free(n->alerts);
	n->alerts = NULL;	/* a note made by hand */
	ck_assert_ptr_null(alertmanager_note(n, "h", 300000));
	policy_note_free(n);
}
END_TEST

START_TEST(test_alertmanager_request_and_classify)
{
	struct sink_target	t;
	struct sink_request	rq;
	struct sink_answer	a;
	struct http_result	r;
	struct outbox_entry	e;

	memset(&t, 0, sizeof t);
	memset(&e, 0, sizeof e);
	t.url = "http://127.0.0.1:9093/";
	t.shown = "alertmanager http://127.0.0.1:9093/…";
	e.message = "{\"alerts\":[{\"labels\":{\"alertname\":\"X\"}}]}";
	memset(&rq, 0, sizeof rq);
	sink_alertmanager.request(&t, &e, &rq);
	ck_assert_str_eq(rq.url, "http://127.0.0.1:9093/api/v2/alerts");
	ck_assert_str_eq(rq.body, "[{\"labels\":{\"alertname\":\"X\"}}]");
	ck_assert_ptr_null(rq.bearer);
	sink_request_clear(&rq);

	memset(&r, 0, sizeof r);
	r.body = "";
	r.status = 200;
	sink_alertmanager.classify(&t, &r, &a);
	ck_assert_int_eq(a.verdict, SINK_OK);
	r.status = 400;
	r.body = "{\"code\":400,\"message\":\"bad alert\"}";
	sink_alertmanager.classify(&t, &r, &a);
	ck_assert_int_eq(a.verdict, SINK_PERMANENT);
	ck_assert_ptr_nonnull(strstr(a.error, "http 400"));
	r.status = 503;
	sink_alertmanager.classify(&t, &r, &a);
	ck_assert_int_eq(a.verdict, SINK_TRANSIENT);
	r.status = 0;
	r.error = "Connection refused";
	sink_alertmanager.classify(&t, &r, &a);
	ck_assert_int_eq(a.verdict, SINK_TRANSIENT);
	ck_assert_str_eq(a.error, "Connection refused");
	r.status = 429;
	sink_alertmanager.classify(&t, &r, &a);
	ck_assert_int_eq(a.verdict, SINK_RATELIMITED);
}
END_TEST

static Suite *
alertmanager_suite(void)
{
	Suite	*s = suite_create("alertmanager");
	TCase	*tc = tcase_create("alerts");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_alertmanager_fatal_labels_annotations);
	tcase_add_test(tc, test_alertmanager_recovery_resolves_same_labels);
	tcase_add_test(tc, test_alertmanager_over_already_ends_by_itself);
	tcase_add_test(tc, test_alertmanager_group_note_one_alert_per_process);
	tcase_add_test(tc, test_alertmanager_flapping_then_fatal_replaces);
	tcase_add_test(tc, test_alertmanager_firing_survives_restart);
	tcase_add_test(tc, test_alertmanager_none_and_plain_notes);
	tcase_add_test(tc, test_alertmanager_request_and_classify);
	suite_add_tcase(s, tc);
	return (s);
}

CHECK_MAIN(alertmanager_suite)

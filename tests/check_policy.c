/*
 * relayd/policy.c under a fake clock: events built with svevent_new and
 * svevent_set_payload, fed at chosen times, policy_tick called at every
 * deadline the policy reports (and each of those checked never to be in
 * the past).  Plus the notify keys of common/conf.c.
 */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "check_util.h"
#include "conf.h"
#include "policy.h"
#include "svevent.h"
#include "xmalloc.h"

#define T0	INT64_C(1700000000000)	/* 2023-11-14 22:13:20 UTC */
#define MAXN	512

struct nlist {
	struct policy_note	*v[MAXN];
	size_t			 n;
};

struct step {
	int64_t		 t;	/* ms after T0 */
	const char	*name;
	char		*payload;
	const char	*ctx;	/* the event's context (JSON), or NULL */
};

struct scen {
	struct step	*s;
	size_t		 n;
};

static int	ids;	/* event ids, reset per run */

static void
nl_take(struct policy *p, struct nlist *nl)
{
	struct policy_note	*n;

	while ((n = policy_take(p)) != NULL) {
		ck_assert_uint_lt(nl->n, MAXN);
		nl->v[nl->n++] = n;
	}
}

static void
nl_free(struct nlist *nl)
{
	size_t	i;

	for (i = 0; i < nl->n; i++)
		policy_note_free(nl->v[i]);
	nl->n = 0;
}

/* Notes whose text holds s. */
static size_t
nl_count(const struct nlist *nl, const char *s)
{
	size_t	i, c = 0;

	for (i = 0; i < nl->n; i++) {
		if (strstr(nl->v[i]->text, s) != NULL)
			c++;
	}
	return (c);
}

static struct policy_note *
nl_find(const struct nlist *nl, const char *s)
{
	size_t	i;

	for (i = 0; i < nl->n; i++) {
		if (strstr(nl->v[i]->text, s) != NULL)
			return (nl->v[i]);
	}
	return (NULL);
}

static struct svevent *
mkev(const char *name, const char *payload)
{
	struct svevent	*ev;
	char		 err[256];

	ev = svevent_new();
	xasprintf(&ev->id, "ev%d", ++ids);
	ev->host = xstrdup("web-1");
	ev->server = xstrdup("supervisor");
	ev->pool = xstrdup("svrelay");
	ev->name = xstrdup(name);
	ck_assert_msg(svevent_set_payload(ev, payload, strlen(payload), err,
	    sizeof err) == 0, "%s: %s", payload, err);
	return (ev);
}

/* Tick at every deadline up to t, checking none is ever in the past. */
static void
run_until(struct policy *p, int64_t t, struct nlist *nl)
{
	int64_t	d, next;

	while ((d = policy_next_deadline(p)) != -1 && d <= t) {
		policy_tick(p, d);
		nl_take(p, nl);
		next = policy_next_deadline(p);
		ck_assert_msg(next == -1 || next > d, "deadline %" PRId64
		    " after a tick at %" PRId64, next, d);
	}
	d = policy_next_deadline(p);
	ck_assert(d == -1 || d > t);
}

/* Feed an event with crash context ctx (a JSON object, or NULL). */
static void
feed_ctx_at(struct policy *p, int64_t t, const char *name,
    const char *payload, const char *ctx, struct nlist *nl)
{
	struct svevent	*ev;
	int64_t		 d;

	run_until(p, t, nl);
	ev = mkev(name, payload);
	if (ctx != NULL) {
		ev->context = json_tokener_parse(ctx);
		ck_assert_msg(ev->context != NULL, "bad JSON: %s", ctx);
	}
	policy_feed(p, ev, t);
	svevent_free(ev);
	nl_take(p, nl);
	d = policy_next_deadline(p);
	ck_assert_msg(d == -1 || d > t, "deadline %" PRId64 " after feed at %"
	    PRId64, d, t);
}

static void
feed_at(struct policy *p, int64_t t, const char *name, const char *payload,
    struct nlist *nl)
{
	feed_ctx_at(p, t, name, payload, NULL, nl);
}

/* A PROCESS_STATE_<state> of group:name. */
static void
st(struct policy *p, int64_t t, const char *group, const char *name,
    const char *state, const char *from, const char *extra,
    struct nlist *nl)
{
	char	*payload, *ename;

	xasprintf(&payload, "processname:%s groupname:%s from_state:%s%s%s",
	    name, group, from, extra != NULL ? " " : "", extra != NULL ?
	    extra : "");
	xasprintf(&ename, "PROCESS_STATE_%s", state);
	feed_at(p, t, ename, payload, nl);
	free(ename);
	free(payload);
}

static void
scen_add(struct scen *sc, int64_t t, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
scen_add(struct scen *sc, int64_t t, const char *name, const char *fmt, ...)
{
	va_list	ap;

	sc->s = xreallocarray(sc->s, sc->n + 1, sizeof *sc->s);
	sc->s[sc->n].t = t;
	sc->s[sc->n].name = name;
	sc->s[sc->n].ctx = NULL;
	va_start(ap, fmt);
	ck_assert(vasprintf(&sc->s[sc->n].payload, fmt, ap) >= 0);
	va_end(ap);
	sc->n++;
}

static void
scen_state(struct scen *sc, int64_t t, const char *label, const char *state,
    const char *from, const char *extra)
{
	static const char *names[] = {
		"STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING",
		"EXITED", "FATAL", "UNKNOWN"
	};
	static const char *evnames[] = {
		"PROCESS_STATE_STOPPED", "PROCESS_STATE_STARTING",
		"PROCESS_STATE_RUNNING", "PROCESS_STATE_BACKOFF",
		"PROCESS_STATE_STOPPING", "PROCESS_STATE_EXITED",
		"PROCESS_STATE_FATAL", "PROCESS_STATE_UNKNOWN"
	};
	char	group[64], *colon;
	size_t	i;

	snprintf(group, sizeof group, "%s", label);
	colon = strchr(group, ':');
	ck_assert_ptr_nonnull(colon);
	*colon = '\0';
	for (i = 0; i < 8; i++) {
		if (strcmp(names[i], state) == 0)
			break;
	}
	ck_assert_uint_lt(i, 8);
	scen_add(sc, t, evnames[i], "processname:%s groupname:%s "
	    "from_state:%s%s%s", colon + 1, group, from, extra != NULL ? " " :
	    "", extra != NULL ? extra : "");
}

/* The last step's crash context (a JSON object; static). */
static void
scen_ctx(struct scen *sc, const char *ctx)
{
	ck_assert_uint_gt(sc->n, 0);
	sc->s[sc->n - 1].ctx = ctx;
}

static void
scen_free(struct scen *sc)
{
	size_t	i;

	for (i = 0; i < sc->n; i++)
		free(sc->s[i].payload);
	free(sc->s);
	sc->s = NULL;
	sc->n = 0;
}

static void
scen_run(struct policy *p, const struct scen *sc, size_t from, size_t to,
    struct nlist *nl)
{
	size_t	i;

	for (i = from; i < to && i < sc->n; i++)
		feed_ctx_at(p, T0 + sc->s[i].t, sc->s[i].name,
		    sc->s[i].payload, sc->s[i].ctx, nl);
}

/* The boot crash of notes/supervisord.md, starting at t (ms after T0). */
static void
scen_boot_crash_from(struct scen *sc, int64_t t, const char *label,
    const char *from)
{
	scen_state(sc, t, label, "STARTING", from, "tries:0");
	scen_state(sc, t + 1000, label, "BACKOFF", "STARTING", "tries:1");
	scen_state(sc, t + 1000, label, "STARTING", "BACKOFF", "tries:1");
	scen_state(sc, t + 2000, label, "BACKOFF", "STARTING", "tries:2");
	scen_state(sc, t + 2000, label, "STARTING", "BACKOFF", "tries:2");
	scen_state(sc, t + 3000, label, "BACKOFF", "STARTING", "tries:3");
	scen_state(sc, t + 3000, label, "FATAL", "BACKOFF", NULL);
}

static void
scen_boot_crash(struct scen *sc, int64_t t, const char *label)
{
	scen_boot_crash_from(sc, t, label, "STOPPED");
}

static void
scen_healthy_start(struct scen *sc, int64_t t, const char *label)
{
	scen_state(sc, t, label, "STARTING", "STOPPED", "tries:0");
	scen_state(sc, t + 1000, label, "RUNNING", "STARTING", "pid:100");
}

/* RUNNING → EXITED expected:0 → STARTING → RUNNING every 1.5 s. */
static void
scen_crash_loop(struct scen *sc, int64_t t, int64_t len, const char *label)
{
	int64_t	x;
	int	pid = 200;

	for (x = t; x < t + len; x += 1500) {
		scen_state(sc, x, label, "EXITED", "RUNNING", "expected:0 pid:1");
		scen_state(sc, x + 10, label, "STARTING", "EXITED", "tries:0");
		scen_state(sc, x + 1010, label, "RUNNING", "STARTING", "pid:2");
		pid++;
	}
}

static struct policy *
mkpolicy(int level)
{
	struct policy_conf	 pc;
	struct policy		*p;

	policy_conf_default(&pc);
	pc.level = level;
	p = policy_new(&pc);
	policy_conf_clear(&pc);
	return (p);
}

START_TEST(test_policy_boot_crash_one_note)
{
	struct policy	*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct scen	 sc = { NULL, 0 };
	struct nlist	 nl = { .n = 0 };

	ids = 0;
	scen_boot_crash(&sc, 0, "api:api_00");
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 3000 + 3000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_int_le(nl.v[0]->time_ms, T0 + 3000 + 3000);
	ck_assert_int_eq(nl.v[0]->kind, POLICY_NOTE_NEW);
	ck_assert_int_eq(nl.v[0]->severity, POLICY_SEV_ERROR);
	ck_assert_str_eq(nl.v[0]->text, "api:api_00 FATAL on web-1 — exited "
	    "too quickly, gave up after 3 tries: STARTING → BACKOFF ×3 → "
	    "FATAL");
	ck_assert_str_eq(nl.v[0]->route, "");
	ck_assert_str_eq(nl.v[0]->host, "web-1");
	ck_assert_uint_eq(nl.v[0]->nprocesses, 1);
	ck_assert_str_eq(nl.v[0]->processes[0], "api:api_00");
	ck_assert_ptr_nonnull(strstr(nl.v[0]->detail, "try 3"));
	ck_assert_ptr_nonnull(strstr(nl.v[0]->key, "api:api_00"));
	ck_assert_str_eq(nl.v[0]->id, nl.v[0]->key);
	run_until(p, T0 + 3600000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_int_eq(policy_next_deadline(p), -1);
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_healthy_start_silent_at_problems)
{
	struct policy	*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct scen	 sc = { NULL, 0 };
	struct nlist	 nl = { .n = 0 };
	char		 label[32];
	int		 i;

	ids = 0;
	for (i = 0; i < 5; i++) {
		snprintf(label, sizeof label, "api:api_%02d", i);
		scen_healthy_start(&sc, i * 100, label);
	}
	scen_run(p, &sc, 0, sc.n, &nl);
	ck_assert_int_ne(policy_next_deadline(p), -1);
	run_until(p, T0 + 3600000, &nl);
	ck_assert_uint_eq(nl.n, 0);
	ck_assert_int_eq(policy_next_deadline(p), -1);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_healthy_start_grouped_at_changes)
{
	struct policy	*p = mkpolicy(POLICY_LEVEL_CHANGES);
	struct scen	 sc = { NULL, 0 };
	struct nlist	 nl = { .n = 0 };

	ids = 0;
	scen_healthy_start(&sc, 0, "api:api_00");
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 60000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_int_eq(nl.v[0]->severity, POLICY_SEV_INFO);
	ck_assert_str_eq(nl.v[0]->text, "api:api_00 RUNNING on web-1 — "
	    "started: STARTING → RUNNING");
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_crash_and_recovery_one_note)
{
	struct policy	*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct scen	 sc = { NULL, 0 };
	struct nlist	 nl = { .n = 0 };

	ids = 0;
	scen_healthy_start(&sc, 0, "api:api_00");
	scen_state(&sc, 60000, "api:api_00", "EXITED", "RUNNING",
	    "expected:0 pid:100");
	scen_state(&sc, 60010, "api:api_00", "STARTING", "EXITED", "tries:0");
	scen_state(&sc, 61010, "api:api_00", "RUNNING", "STARTING", "pid:101");
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 3600000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_int_eq(nl.v[0]->severity, POLICY_SEV_WARNING);
	ck_assert_str_eq(nl.v[0]->text, "api:api_00 RUNNING on web-1 — exited "
	    "unexpectedly, restarted: RUNNING → EXITED → STARTING → RUNNING");
	ck_assert_ptr_nonnull(strstr(nl.v[0]->detail, "(unexpected)"));
	ck_assert_ptr_nonnull(strstr(nl.v[0]->detail, "pid 101"));
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_fatal_then_manual_start_recovers_in_thread)
{
	struct policy		*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct scen		 sc = { NULL, 0 };
	struct nlist		 nl = { .n = 0 };

	ids = 0;
	scen_boot_crash(&sc, 0, "api:api_00");
	scen_state(&sc, 600000, "api:api_00", "STARTING", "FATAL", "tries:0");
	scen_state(&sc, 601000, "api:api_00", "RUNNING", "STARTING", "pid:7");
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 3600000, &nl);
	ck_assert_uint_eq(nl.n, 2);
	ck_assert_int_eq(nl.v[1]->kind, POLICY_NOTE_REPLY);
	ck_assert_int_eq(nl.v[1]->severity, POLICY_SEV_OK);
	ck_assert_str_eq(nl.v[1]->thread_key, nl.v[0]->key);
	ck_assert_str_ne(nl.v[1]->id, nl.v[0]->id);
	ck_assert_ptr_nonnull(strstr(nl.v[1]->text, "api:api_00 RUNNING on "
	    "web-1 — recovered (FATAL since"));
	ck_assert_ptr_nonnull(strstr(nl.v[1]->text, "FATAL → STARTING → "
	    "RUNNING"));
	/* A further healthy restart is news at changes only. */
	st(p, T0 + 900000, "api", "api_00", "STOPPING", "RUNNING", "pid:7", &nl);
	st(p, T0 + 900100, "api", "api_00", "STOPPED", "STOPPING", "pid:7",
	    &nl);
	run_until(p, T0 + 3600000, &nl);
	ck_assert_uint_eq(nl.n, 2);
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_crash_loop_flapping)
{
	struct policy		*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct scen		 sc = { NULL, 0 };
	struct nlist		 nl = { .n = 0 };
	struct policy_note	*f, *u, *s;
	size_t			 i;

	ids = 0;
	scen_healthy_start(&sc, 0, "worker:w_00");
	scen_crash_loop(&sc, 10000, 40000, "worker:w_00");
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 50000, &nl);
	ck_assert_uint_le(nl.n, 4);
	ck_assert_uint_ge(nl.n, 1);
	ck_assert_uint_eq(nl_count(&nl, "is flapping on web-1"), 1);
	f = nl_find(&nl, "is flapping");
	ck_assert_int_eq(f->kind, POLICY_NOTE_NEW);
	ck_assert_ptr_nonnull(strstr(f->text, "worker:w_00 is flapping on "
	    "web-1 — 3 unexpected exits and 2 restarts since"));
	/* Entered at the third crash, at once. */
	ck_assert_int_eq(f->time_ms, T0 + 13000);

	/* Calm: one UPDATE with the totals, then "stable again". */
	run_until(p, T0 + 3600000, &nl);
	u = NULL;
	s = NULL;
	for (i = 0; i < nl.n; i++) {
		if (nl.v[i]->kind == POLICY_NOTE_UPDATE)
			u = nl.v[i];
		if (strstr(nl.v[i]->text, "stable again") != NULL)
			s = nl.v[i];
	}
	ck_assert_ptr_nonnull(u);
	ck_assert_str_eq(u->update_key, f->key);
	ck_assert_ptr_nonnull(strstr(u->text, "27 unexpected exits and 27 "
	    "restarts"));
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(s->kind, POLICY_NOTE_REPLY);
	ck_assert_int_eq(s->severity, POLICY_SEV_OK);
	ck_assert_str_eq(s->thread_key, f->key);
	ck_assert_ptr_nonnull(strstr(s->text, "27 unexpected exits"));
	ck_assert_int_ge(s->time_ms, T0 + 10000 + 39000 + 300000);
	ck_assert_uint_eq(nl_count(&nl, "is flapping"), 2);	/* NEW, UPDATE */
	ck_assert_uint_eq(nl.n, 3);
	ck_assert_int_eq(policy_next_deadline(p), -1);
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_flapping_updates_paced_and_hysteresis)
{
	struct policy		*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct scen		 sc = { NULL, 0 };
	struct nlist		 nl = { .n = 0 };
	int64_t			 last = 0, t;
	size_t			 i, nupd = 0;

	ids = 0;
	scen_healthy_start(&sc, 0, "worker:w_00");
	/* One crash every 20 s for 10 minutes: flapping all along. */
	for (t = 10000; t < 610000; t += 20000) {
		scen_state(&sc, t, "worker:w_00", "EXITED", "RUNNING",
		    "expected:0 pid:5");
		scen_state(&sc, t + 10, "worker:w_00", "STARTING", "EXITED",
		    "tries:0");
		scen_state(&sc, t + 1010, "worker:w_00", "RUNNING",
		    "STARTING", "pid:6");
	}
	scen_run(p, &sc, 0, sc.n, &nl);
	for (i = 0; i < nl.n; i++) {
		if (nl.v[i]->kind != POLICY_NOTE_UPDATE)
			continue;
		if (nupd++ > 0)
			ck_assert_int_ge(nl.v[i]->time_ms - last, 60000);
		last = nl.v[i]->time_ms;
	}
	ck_assert_uint_ge(nupd, 8);
	ck_assert_uint_eq(nl_count(&nl, "stable again"), 0);
	/* Calm 4 minutes, then two crashes: still flapping, no new NEW. */
	run_until(p, T0 + 590000 + 1010 + 240000, &nl);
	ck_assert_uint_eq(nl_count(&nl, "stable again"), 0);
	st(p, T0 + 840000, "worker", "w_00", "EXITED", "RUNNING",
	    "expected:0 pid:6", &nl);
	st(p, T0 + 840010, "worker", "w_00", "STARTING", "EXITED", "tries:0",
	    &nl);
	st(p, T0 + 841010, "worker", "w_00", "RUNNING", "STARTING", "pid:7",
	    &nl);
	run_until(p, T0 + 840000 + 299000, &nl);
	ck_assert_uint_eq(nl_count(&nl, "stable again"), 0);
	run_until(p, T0 + 840000 + 300000, &nl);
	ck_assert_uint_eq(nl_count(&nl, "stable again"), 1);
	ck_assert_uint_eq(nl_count(&nl, "is flapping on web-1 — 3 "), 1);

	/* After leaving, two crashes do not make it flap again. */
	nl_free(&nl);
	t = 1200000;
	st(p, T0 + t, "worker", "w_00", "EXITED", "RUNNING", "expected:0 pid:7",
	    &nl);
	st(p, T0 + t + 10, "worker", "w_00", "STARTING", "EXITED", "tries:0",
	    &nl);
	st(p, T0 + t + 1010, "worker", "w_00", "RUNNING", "STARTING", "pid:8",
	    &nl);
	st(p, T0 + t + 2500, "worker", "w_00", "EXITED", "RUNNING",
	    "expected:0 pid:8", &nl);
	st(p, T0 + t + 2510, "worker", "w_00", "STARTING", "EXITED",
	    "tries:0", &nl);
	st(p, T0 + t + 3510, "worker", "w_00", "RUNNING", "STARTING", "pid:9",
	    &nl);
	run_until(p, T0 + t + 60000, &nl);
	ck_assert_uint_eq(nl_count(&nl, "flapping"), 0);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_ptr_nonnull(strstr(nl.v[0]->text, "exited unexpectedly 2 "
	    "times, restarted"));
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_flapping_then_fatal)
{
	struct policy		*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct scen		 sc = { NULL, 0 };
	struct nlist		 nl = { .n = 0 };
	struct policy_note	*n;

	ids = 0;
	scen_healthy_start(&sc, 0, "worker:w_00");
	scen_crash_loop(&sc, 10000, 9000, "worker:w_00");
	scen_state(&sc, 19000, "worker:w_00", "EXITED", "RUNNING",
	    "expected:0 pid:3");
	scen_boot_crash_from(&sc, 19010, "worker:w_00", "EXITED");
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 3600000, &nl);
	ck_assert_uint_eq(nl_count(&nl, "is flapping"), 1);
	n = nl_find(&nl, "FATAL on web-1");
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(n->kind, POLICY_NOTE_NEW);
	ck_assert_int_eq(n->severity, POLICY_SEV_ERROR);
	ck_assert_msg(strstr(n->text, "gave up after flapping (7 "
	    "unexpected exits since") != NULL, "%s", n->text);
	ck_assert_msg(strstr(n->text, ": (RUNNING → EXITED → STARTING) ×7 → "
	    "(BACKOFF → STARTING) ×2 → BACKOFF → FATAL") != NULL, "%s",
	    n->text);
	ck_assert_ptr_nonnull(strstr(n->detail, "Flapping ended"));
	ck_assert_uint_eq(nl_count(&nl, "stable again"), 0);
	ck_assert_uint_eq(nl.n, 2);
	ck_assert_int_eq(policy_next_deadline(p), -1);
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_group_restart_of_20)
{
	struct policy	*p = mkpolicy(POLICY_LEVEL_CHANGES);
	struct scen	 sc = { NULL, 0 };
	struct nlist	 nl = { .n = 0 };
	char		 label[32], seen[20];
	size_t		 i, j;
	int		 k, total = 0;

	ids = 0;
	for (k = 0; k < 20; k++) {
		snprintf(label, sizeof label, "api:api_%02d", k);
		scen_healthy_start(&sc, k * 20, label);
	}
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 60000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_ptr_nonnull(strstr(nl.v[0]->text, "20 processes started on "
	    "web-1: all RUNNING"));
	nl_free(&nl);
	scen_free(&sc);

	for (k = 0; k < 20; k++) {
		snprintf(label, sizeof label, "api:api_%02d", k);
		scen_state(&sc, 100000 + k * 50, label, "STOPPING", "RUNNING",
		    "pid:100");
	}
	for (k = 0; k < 20; k++) {
		snprintf(label, sizeof label, "api:api_%02d", k);
		scen_state(&sc, 100500 + k * 50, label, "STOPPED", "STOPPING",
		    "pid:100");
	}
	for (k = 0; k < 20; k++) {
		snprintf(label, sizeof label, "api:api_%02d", k);
		scen_state(&sc, 101600 + k * 10, label, "STARTING", "STOPPED",
		    "tries:0");
	}
	for (k = 0; k < 20; k++) {
		snprintf(label, sizeof label, "api:api_%02d", k);
		scen_state(&sc, 102600 + k * 60, label, "RUNNING", "STARTING",
		    "pid:200");
	}
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 200000, &nl);
	ck_assert_uint_ge(nl.n, 1);
	ck_assert_uint_le(nl.n, 2);
	memset(seen, 0, sizeof seen);
	for (i = 0; i < nl.n; i++) {
		for (j = 0; j < nl.v[i]->nprocesses; j++) {
			ck_assert_int_eq(sscanf(nl.v[i]->processes[j],
			    "api:api_%d", &k), 1);
			ck_assert(k >= 0 && k < 20 && !seen[k]);
			seen[k] = 1;
			total++;
		}
	}
	ck_assert_int_eq(total, 20);
	ck_assert_ptr_nonnull(nl_find(&nl, "processes restarted on web-1: all "
	    "RUNNING"));
	ck_assert_ptr_nonnull(strstr(nl.v[0]->detail, "and 5 more"));
	ck_assert_ptr_nonnull(strstr(nl.v[0]->detail, "• `api:api_00` RUNNING "
	    "— restarted: RUNNING → STOPPING → STOPPED → STARTING → "
	    "RUNNING\n"));
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_recovery_threads_on_group_note)
{
	struct policy_conf	 pc;
	struct policy		*p;
	struct scen		 sc = { NULL, 0 };
	struct nlist		 nl = { .n = 0 };

	ids = 0;
	policy_conf_default(&pc);
	pc.settle_ms = 100;
	p = policy_new(&pc);
	policy_conf_clear(&pc);
	scen_boot_crash(&sc, 0, "api:a");
	scen_boot_crash(&sc, 0, "api:b");
	/* a is started at once and settles before the group flushes. */
	scen_state(&sc, 3100, "api:a", "STARTING", "FATAL", "tries:0");
	scen_state(&sc, 3200, "api:a", "RUNNING", "STARTING", "pid:3");
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 60000, &nl);
	ck_assert_uint_eq(nl.n, 2);
	ck_assert_int_eq(nl.v[0]->kind, POLICY_NOTE_NEW);
	ck_assert_ptr_nonnull(strstr(nl.v[0]->text, "2 processes gave up "
	    "(FATAL) on web-1: all FATAL (api:a, api:b)"));
	ck_assert_int_le(nl.v[0]->time_ms, T0 + 3000 + 3000);
	ck_assert_int_eq(nl.v[1]->kind, POLICY_NOTE_REPLY);
	ck_assert_str_eq(nl.v[1]->thread_key, nl.v[0]->key);
	/* b's recovery later threads there too. */
	st(p, T0 + 90000, "api", "b", "STARTING", "FATAL", "tries:0", &nl);
	st(p, T0 + 91000, "api", "b", "RUNNING", "STARTING", "pid:4", &nl);
	run_until(p, T0 + 120000, &nl);
	ck_assert_uint_eq(nl.n, 3);
	ck_assert_str_eq(nl.v[2]->thread_key, nl.v[0]->key);
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_fatal_within_3s_amid_busy_group)
{
	struct policy		*p = mkpolicy(POLICY_LEVEL_CHANGES);
	struct scen		 sc = { NULL, 0 };
	struct nlist		 nl = { .n = 0 };
	struct policy_note	*n;
	char			 label[32];
	int			 k;

	ids = 0;
	/* A start every 1.5 s for 30 s keeps the group busy. */
	for (k = 0; k < 20; k++) {
		snprintf(label, sizeof label, "web:web_%02d", k);
		scen_healthy_start(&sc, k * 1500, label);
	}
	scen_boot_crash(&sc, 8000, "api:api_00");
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 120000, &nl);
	n = nl_find(&nl, "FATAL");
	ck_assert_ptr_nonnull(n);
	ck_assert_int_le(n->time_ms, T0 + 11000 + 3000);
	ck_assert_int_eq(n->severity, POLICY_SEV_ERROR);
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_never_settles)
{
	struct policy	*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct nlist	 nl = { .n = 0 };

	ids = 0;
	st(p, T0, "db", "db_00", "STARTING", "STOPPED", "tries:0", &nl);
	st(p, T0 + 1000, "db", "db_00", "RUNNING", "STARTING", "pid:1", &nl);
	run_until(p, T0 + 60000, &nl);
	ck_assert_uint_eq(nl.n, 0);
	st(p, T0 + 100000, "db", "db_00", "STOPPING", "RUNNING", "pid:1", &nl);
	run_until(p, T0 + 100000 + 299999, &nl);
	ck_assert_uint_eq(nl.n, 0);
	run_until(p, T0 + 100000 + 300000, &nl);
	ck_assert_uint_eq(nl.n, 0);	/* closed, waiting in its group */
	run_until(p, T0 + 100000 + 310000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_int_eq(nl.v[0]->severity, POLICY_SEV_WARNING);
	ck_assert_str_eq(nl.v[0]->text, "db:db_00 STOPPING on web-1 — has not "
	    "settled after 5m 0s: RUNNING → STOPPING");
	/* When it finally stops, that is a change, not a problem. */
	st(p, T0 + 500000, "db", "db_00", "STOPPED", "STOPPING", "pid:1", &nl);
	run_until(p, T0 + 600000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_int_eq(policy_next_deadline(p), -1);
	nl_free(&nl);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_unexpected_exit_not_restarted)
{
	struct policy	*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct nlist	 nl = { .n = 0 };

	ids = 0;
	st(p, T0, "db", "db_00", "STARTING", "STOPPED", "tries:0", &nl);
	st(p, T0 + 1000, "db", "db_00", "RUNNING", "STARTING", "pid:1", &nl);
	st(p, T0 + 60000, "db", "db_00", "EXITED", "RUNNING",
	    "expected:0 pid:1", &nl);
	run_until(p, T0 + 120000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_int_eq(nl.v[0]->severity, POLICY_SEV_ERROR);
	ck_assert_str_eq(nl.v[0]->text, "db:db_00 EXITED on web-1 — exited "
	    "unexpectedly and was not restarted: RUNNING → EXITED");
	/* An expected exit is only a change. */
	st(p, T0 + 200000, "db", "db_00", "STARTING", "EXITED", "tries:0", &nl);
	st(p, T0 + 201000, "db", "db_00", "RUNNING", "STARTING", "pid:2", &nl);
	st(p, T0 + 260000, "db", "db_00", "EXITED", "RUNNING",
	    "expected:1 pid:2", &nl);
	run_until(p, T0 + 400000, &nl);
	ck_assert_uint_eq(nl.n, 2);	/* the recovery, not the exit */
	ck_assert_int_eq(nl.v[1]->kind, POLICY_NOTE_REPLY);
	nl_free(&nl);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_report_and_ignore_states)
{
	struct policy_conf	 pc;
	struct policy		*p;
	struct scen		 sc = { NULL, 0 };
	struct nlist		 nl = { .n = 0 };

	ids = 0;
	policy_conf_default(&pc);
	pc.report_states = POLICY_STATE_BIT(POLICY_STATE_STOPPED);
	pc.ignore_states = POLICY_STATE_BIT(POLICY_STATE_FATAL);
	p = policy_new(&pc);
	policy_conf_clear(&pc);
	scen_healthy_start(&sc, 0, "api:api_00");
	scen_state(&sc, 60000, "api:api_00", "STOPPING", "RUNNING", "pid:100");
	scen_state(&sc, 60500, "api:api_00", "STOPPED", "STOPPING", "pid:100");
	scen_boot_crash(&sc, 120000, "api:api_01");
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 3600000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_str_eq(nl.v[0]->text, "api:api_00 STOPPED on web-1 — "
	    "stopped: RUNNING → STOPPING → STOPPED");
	ck_assert_int_eq(nl.v[0]->severity, POLICY_SEV_INFO);
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_routes_glob_first_match_default)
{
	struct policy_conf	 pc;
	struct policy		*p;
	struct scen		 sc = { NULL, 0 };
	struct nlist		 nl = { .n = 0 };
	struct policy_note	*n;

	ids = 0;
	policy_conf_default(&pc);
	policy_conf_add_route(&pc, "api:api_0[0-4]", "#api-low");
	policy_conf_add_route(&pc, "api:*", "#api");
	policy_conf_add_route(&pc, "db:*", "webhook:3");
	p = policy_new(&pc);
	policy_conf_clear(&pc);
	scen_boot_crash(&sc, 0, "api:api_01");
	scen_boot_crash(&sc, 0, "api:api_07");
	scen_boot_crash(&sc, 0, "db:main");
	scen_boot_crash(&sc, 0, "worker:w");
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 60000, &nl);
	ck_assert_uint_eq(nl.n, 4);
	n = nl_find(&nl, "api:api_01");
	ck_assert_str_eq(n->route, "#api-low");
	n = nl_find(&nl, "api:api_07");
	ck_assert_str_eq(n->route, "#api");
	n = nl_find(&nl, "db:main");
	ck_assert_str_eq(n->route, "webhook:3");
	n = nl_find(&nl, "worker:w");
	ck_assert_str_eq(n->route, "");
	nl_free(&nl);

	/* reconf re-routes known processes. */
	policy_conf_default(&pc);
	policy_conf_add_route(&pc, "*", "#all");
	policy_reconf(p, &pc);
	policy_conf_clear(&pc);
	st(p, T0 + 600000, "worker", "w", "STARTING", "FATAL", "tries:0", &nl);
	st(p, T0 + 601000, "worker", "w", "RUNNING", "STARTING", "pid:1", &nl);
	run_until(p, T0 + 700000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_str_eq(nl.v[0]->route, "#all");
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_silence_and_back)
{
	struct policy	*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct nlist	 nl = { .n = 0 };

	ids = 0;
	/* No TICK_60 yet: no watch. */
	feed_at(p, T0, "SUPERVISOR_STATE_CHANGE_RUNNING", "", &nl);
	ck_assert_int_eq(policy_next_deadline(p), -1);
	feed_at(p, T0 + 60000, "TICK_60", "when:1700000060", &nl);
	ck_assert_int_eq(policy_next_deadline(p), T0 + 60000 + 180000);
	feed_at(p, T0 + 120000, "TICK_60", "when:1700000120", &nl);
	run_until(p, T0 + 120000 + 179999, &nl);
	ck_assert_uint_eq(nl.n, 0);
	run_until(p, T0 + 120000 + 180000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_int_eq(nl.v[0]->severity, POLICY_SEV_WARNING);
	ck_assert_ptr_nonnull(strstr(nl.v[0]->text, "supervisord supervisor "
	    "on web-1 has been silent since 22:15:20 UTC"));
	ck_assert_int_eq(policy_next_deadline(p), -1);
	run_until(p, T0 + 3600000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	feed_at(p, T0 + 3600000, "TICK_60", "when:1700003600", &nl);
	ck_assert_uint_eq(nl.n, 2);
	ck_assert_int_eq(nl.v[1]->kind, POLICY_NOTE_REPLY);
	ck_assert_str_eq(nl.v[1]->thread_key, nl.v[0]->key);
	ck_assert_ptr_nonnull(strstr(nl.v[1]->text, "is back"));
	ck_assert_int_eq(policy_next_deadline(p), T0 + 3600000 + 180000);
	nl_free(&nl);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_supervisord_stopping_changes_only)
{
	struct policy	*p;
	struct nlist	 nl = { .n = 0 };
	int		 lvl;

	for (lvl = POLICY_LEVEL_PROBLEMS; lvl <= POLICY_LEVEL_CHANGES; lvl++) {
		ids = 0;
		p = mkpolicy(lvl);
		feed_at(p, T0, "TICK_60", "when:1700000000", &nl);
		feed_at(p, T0 + 1000, "SUPERVISOR_STATE_CHANGE_STOPPING", "",
		    &nl);
		ck_assert_int_eq(policy_next_deadline(p), -1);
		run_until(p, T0 + 3600000, &nl);
		ck_assert_uint_eq(nl.n, lvl == POLICY_LEVEL_CHANGES ? 1 : 0);
		if (lvl == POLICY_LEVEL_CHANGES) {
			ck_assert_str_eq(nl.v[0]->text, "supervisord "
			    "supervisor on web-1 is stopping");
			ck_assert_int_eq(nl.v[0]->severity, POLICY_SEV_INFO);
		}
		/* A new supervisord re-arms the watch. */
		feed_at(p, T0 + 3700000, "SUPERVISOR_STATE_CHANGE_RUNNING", "",
		    &nl);
		ck_assert_int_eq(policy_next_deadline(p), T0 + 3700000 +
		    180000);
		nl_free(&nl);
		policy_free(p);
	}
}
END_TEST

static void
stderr_chunk(struct policy *p, int64_t t, const char *name, const char *data,
    struct nlist *nl)
{
	char	*payload;

	xasprintf(&payload, "processname:%s groupname:api pid:5 "
	    "channel:stderr\n%s", name, data);
	feed_at(p, t, "PROCESS_LOG_STDERR", payload, nl);
	free(payload);
}

static int
valid_utf8(const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	int			 n, k;

	while (*u != '\0') {
		if (*u < 0x80)
			n = 0;
		else if ((*u & 0xe0) == 0xc0)
			n = 1;
		else if ((*u & 0xf0) == 0xe0)
			n = 2;
		else if ((*u & 0xf8) == 0xf0)
			n = 3;
		else
			return (0);
		for (k = 1; k <= n; k++) {
			if ((u[k] & 0xc0) != 0x80)
				return (0);
		}
		u += n + 1;
	}
	return (1);
}

START_TEST(test_policy_stderr_tail_bounded_and_attached)
{
	struct policy	*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct scen	 sc = { NULL, 0 };
	struct nlist	 nl = { .n = 0 };
	char		 line[128], *big;
	size_t		 nlines;
	const char	*c;
	int		 i;

	ids = 0;
	for (i = 0; i < 30; i++) {
		snprintf(line, sizeof line, "error %02d: café\n", i);
		stderr_chunk(p, T0 + i, "api_00", line, &nl);
	}
	/* A line in two chunks, and an invalid byte. */
	stderr_chunk(p, T0 + 40, "api_00", "Traceback: conn", &nl);
	stderr_chunk(p, T0 + 41, "api_00", "ection refused \xff!\nlast words",
	    &nl);
	scen_boot_crash(&sc, 100, "api:api_00");
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 60000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_ptr_nonnull(nl.v[0]->tail);
	ck_assert(valid_utf8(nl.v[0]->tail));
	for (nlines = 1, c = nl.v[0]->tail; *c != '\0'; c++)
		nlines += *c == '\n';
	ck_assert_uint_le(nlines, 21);	/* 20 lines and the partial one */
	ck_assert_ptr_nonnull(strstr(nl.v[0]->tail, "Traceback: connection "
	    "refused "));
	ck_assert_ptr_nonnull(strstr(nl.v[0]->tail, "!\nlast words"));
	ck_assert_ptr_null(strstr(nl.v[0]->tail, "error 00"));
	ck_assert_ptr_nonnull(strstr(nl.v[0]->tail, "error 29: café"));
	nl_free(&nl);

	/* Bytes bound: long lines are cut on a character boundary. */
	big = xmalloc(10000);
	for (i = 0; i < 9998; i += 2)
		memcpy(big + i, "é", 2);
	big[9998] = '\n';
	big[9999] = '\0';
	stderr_chunk(p, T0 + 200000, "api_01", big, &nl);
	stderr_chunk(p, T0 + 200001, "api_01", "after\n", &nl);
	scen_free(&sc);
	scen_boot_crash(&sc, 200100, "api:api_01");
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 300000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_ptr_nonnull(nl.v[0]->tail);
	ck_assert_uint_le(strlen(nl.v[0]->tail), 4096);
	ck_assert(valid_utf8(nl.v[0]->tail));
	ck_assert_str_eq(nl.v[0]->tail + strlen(nl.v[0]->tail) - 5, "after");
	nl_free(&nl);
	free(big);

	/* An unexpected exit carries the lines since; an info note none. */
	st(p, T0 + 400000, "api", "api_01", "STARTING", "FATAL", "tries:0",
	    &nl);
	st(p, T0 + 401000, "api", "api_01", "RUNNING", "STARTING", "pid:5",
	    &nl);
	stderr_chunk(p, T0 + 459000, "api_01", "panic: out of cheese\n", &nl);
	st(p, T0 + 460000, "api", "api_01", "EXITED", "RUNNING",
	    "expected:0 pid:5", &nl);
	st(p, T0 + 460010, "api", "api_01", "STARTING", "EXITED", "tries:0",
	    &nl);
	st(p, T0 + 461010, "api", "api_01", "RUNNING", "STARTING", "pid:6",
	    &nl);
	run_until(p, T0 + 500000, &nl);
	ck_assert_uint_eq(nl.n, 2);
	ck_assert_int_eq(nl.v[0]->kind, POLICY_NOTE_REPLY);	/* recovery */
	ck_assert_ptr_null(nl.v[0]->tail);
	ck_assert_ptr_nonnull(nl.v[1]->tail);
	ck_assert_str_eq(nl.v[1]->tail, "panic: out of cheese");
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

/* A boot crash's context as the listener's helper gives it. */
#define CTX_TOO_QUICKLY	"{\"exitstatus\": 1, \"spawnerr\": \"Exited too " \
	"quickly (process log may have details)\", \"description\": " \
	"\"Exited too quickly (process log may have details)\", " \
	"\"stderr_tail\": \"Traceback (most recent call last):\\n  File " \
	"\\\"app.py\\\", line 1\\nFileNotFoundError: app.yaml\\n\"}"

/* A scenario with a bit of everything, for save/load. */
static void
scen_mixed(struct scen *sc)
{
	char	label[32];
	int	k;

	scen_add(sc, 0, "TICK_60", "when:1700000000");
	for (k = 0; k < 4; k++) {
		snprintf(label, sizeof label, "api:api_%02d", k);
		scen_healthy_start(sc, k * 100, label);
	}
	scen_healthy_start(sc, 0, "worker:w_00");
	scen_add(sc, 500, "PROCESS_LOG_STDERR", "processname:db groupname:db "
	    "pid:5 channel:stderr\nFATAL: role \"app\" does not exist\n");
	scen_boot_crash(sc, 1000, "db:db");
	scen_ctx(sc, CTX_TOO_QUICKLY);
	scen_crash_loop(sc, 10000, 30000, "worker:w_00");
	scen_ctx(sc, "{\"error\": \"no answer from supervisord\"}");
	for (k = 0; k < 4; k++) {
		snprintf(label, sizeof label, "api:api_%02d", k);
		scen_state(sc, 20000 + k * 100, label, "EXITED", "RUNNING",
		    "expected:0 pid:1");
		if (k % 2 == 0)
			scen_ctx(sc, "{\"exitstatus\": 7, \"stderr_tail\": "
			    "\"panic: queue gone\\nexit 7\\n\"}");
		else
			scen_ctx(sc, "{\"signal\": \"SIGKILL\", "
			    "\"stdout_tail\": \"oom\"}");
		scen_state(sc, 20010 + k * 100, label, "STARTING", "EXITED",
		    "tries:0");
		scen_state(sc, 21010 + k * 100, label, "RUNNING", "STARTING",
		    "pid:2");
	}
	scen_add(sc, 60000, "TICK_60", "when:1700000060");
	scen_add(sc, 120000, "TICK_60", "when:1700000120");
	scen_state(sc, 200000, "db:db", "STARTING", "FATAL", "tries:0");
	scen_state(sc, 201000, "db:db", "RUNNING", "STARTING", "pid:9");
	scen_add(sc, 900000, "TICK_60", "when:1700000900");
}

/* Both NULL, or the same string. */
static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a == b);
	return (strcmp(a, b) == 0);
}

static int
note_eq(const struct policy_note *a, const struct policy_note *b)
{
	size_t	i;

	if (a->kind != b->kind || a->severity != b->severity ||
	    a->time_ms != b->time_ms || a->nprocesses != b->nprocesses)
		return (0);
	if (strcmp(a->id, b->id) != 0 || strcmp(a->route, b->route) != 0 ||
	    strcmp(a->key, b->key) != 0 ||
	    strcmp(a->update_key, b->update_key) != 0 ||
	    strcmp(a->thread_key, b->thread_key) != 0 ||
	    strcmp(a->text, b->text) != 0 ||
	    strcmp(a->detail, b->detail) != 0 ||
	    strcmp(a->host, b->host) != 0 ||
	    strcmp(a->server, b->server) != 0)
		return (0);
	if (!str_eq(a->tail, b->tail) ||
	    !str_eq(a->tail_label, b->tail_label) ||
	    !str_eq(a->reason, b->reason) ||
	    !str_eq(a->context_error, b->context_error) ||
	    a->ntails != b->ntails || a->tails_omitted != b->tails_omitted)
		return (0);
	for (i = 0; i < a->ntails; i++) {
		if (strcmp(a->tails[i].process, b->tails[i].process) != 0 ||
		    strcmp(a->tails[i].label, b->tails[i].label) != 0 ||
		    strcmp(a->tails[i].text, b->tails[i].text) != 0)
			return (0);
	}
	for (i = 0; i < a->nprocesses; i++) {
		if (strcmp(a->processes[i], b->processes[i]) != 0)
			return (0);
	}
	return (1);
}

/* Save, serialise, parse and load into a fresh policy. */
static struct policy *
reload(struct policy *p, int level)
{
	struct json_object	*o, *o2;
	struct policy		*q;
	char			 err[256];
	const char		*s;

	o = policy_save(p);
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	o2 = json_tokener_parse(s);
	ck_assert_ptr_nonnull(o2);
	json_object_put(o);
	q = mkpolicy(level);
	ck_assert_msg(policy_load(q, o2, err, sizeof err) == 0, "%s", err);
	json_object_put(o2);
	policy_free(p);
	return (q);
}

/* group:name goes RUNNING, then exits unexpectedly at +60 s with ctx. */
static void
run_exit_ctx(struct policy *p, const char *name, const char *ctx,
    struct nlist *nl)
{
	st(p, T0, "api", name, "STARTING", "STOPPED", "tries:0", nl);
	st(p, T0 + 1000, "api", name, "RUNNING", "STARTING", "pid:5", nl);
	run_until(p, T0 + 59000, nl);
	feed_ctx_at(p, T0 + 60000, "PROCESS_STATE_EXITED", "processname:api_00 "
	    "groupname:api from_state:RUNNING expected:0 pid:5", ctx, nl);
	run_until(p, T0 + 3600000, nl);
}

START_TEST(test_policy_context_exit_status)
{
	struct policy	*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct nlist	 nl = { .n = 0 };
	struct policy_note *n;

	ids = 0;
	run_exit_ctx(p, "api_00", "{\"exitstatus\": 7, \"stderr_tail\": "
	    "\"connecting\\npanic: lost the queue\\n\", \"spawnerr\": \"\", "
	    "\"description\": \"Jan 1 12:00 AM\"}", &nl);
	ck_assert_uint_eq(nl.n, 1);
	n = nl.v[0];
	ck_assert_str_eq(n->text, "api:api_00 EXITED on web-1 — exited "
	    "unexpectedly (exit status 7) and was not restarted: RUNNING → "
	    "EXITED — panic: lost the queue");
	ck_assert_str_eq(n->reason, "exit status 7");
	ck_assert_str_eq(n->tail, "connecting\npanic: lost the queue");
	ck_assert_str_eq(n->tail_label, "stderr (last lines)");
	ck_assert_uint_eq(n->ntails, 1);
	ck_assert_str_eq(n->tails[0].process, "api:api_00");
	ck_assert_str_eq(n->tails[0].text, n->tail);
	ck_assert_ptr_null(n->context_error);
	/* The description is for FATAL and BACKOFF only. */
	ck_assert_ptr_null(strstr(n->text, "Jan 1"));
	nl_free(&nl);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_context_signal)
{
	struct policy	*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct nlist	 nl = { .n = 0 };

	ids = 0;
	run_exit_ctx(p, "api_00", "{\"signal\": \"SIGKILL (core dumped)\", "
	    "\"exitstatus\": 0, \"stdout_tail\": \"serving\\n\"}", &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_str_eq(nl.v[0]->reason, "killed by SIGKILL (core dumped)");
	ck_assert_ptr_nonnull(strstr(nl.v[0]->text, "exited unexpectedly "
	    "(killed by SIGKILL (core dumped)) and was not restarted"));
	/* No stderr: stdout, labelled so. */
	ck_assert_str_eq(nl.v[0]->tail, "serving");
	ck_assert_str_eq(nl.v[0]->tail_label, "stdout (last lines)");
	nl_free(&nl);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_context_too_quickly)
{
	struct policy	*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct scen	 sc = { NULL, 0 };
	struct nlist	 nl = { .n = 0 };
	struct policy_note *n;

	ids = 0;
	scen_boot_crash(&sc, 0, "api:api_00");
	scen_ctx(&sc, CTX_TOO_QUICKLY);
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 3600000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	n = nl.v[0];
	ck_assert_str_eq(n->text, "api:api_00 FATAL on web-1 — exited too "
	    "quickly: never stayed up for startsecs (last exit status 1); "
	    "gave up after 3 tries: STARTING → BACKOFF ×3 → FATAL — "
	    "FileNotFoundError: app.yaml");
	ck_assert_str_eq(n->reason, "exited too quickly: never stayed up for "
	    "startsecs (last exit status 1)");
	/* Never the whole tail in the text. */
	ck_assert_ptr_null(strstr(n->text, "Traceback"));
	ck_assert_str_eq(n->tail, "Traceback (most recent call last):\n  File "
	    "\"app.py\", line 1\nFileNotFoundError: app.yaml");
	nl_free(&nl);
	scen_free(&sc);

	/* Without an exit status, and for a BACKOFF's context too. */
	scen_boot_crash(&sc, 0, "api:api_01");
	sc.s[5].ctx = "{\"spawnerr\": \"Exited too quickly (process log may "
	    "have details)\", \"description\": \"Exited too quickly (process "
	    "log may have details)\"}";
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 3600000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_str_eq(nl.v[0]->reason, "exited too quickly: never stayed "
	    "up for startsecs");
	ck_assert_ptr_null(nl.v[0]->tail);
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_context_spawn_error)
{
	struct policy	*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct nlist	 nl = { .n = 0 };

	ids = 0;
	st(p, T0, "api", "api_00", "STARTING", "STOPPED", "tries:0", &nl);
	feed_ctx_at(p, T0 + 10, "PROCESS_STATE_FATAL", "processname:api_00 "
	    "groupname:api from_state:STARTING", "{\"spawnerr\": \"can't find "
	    "command '/x'\", \"description\": \"can't find command '/x'\"}",
	    &nl);
	run_until(p, T0 + 3600000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_str_eq(nl.v[0]->text, "api:api_00 FATAL on web-1 — could not "
	    "be started; spawn error: can't find command '/x': STARTING → "
	    "FATAL");
	ck_assert_str_eq(nl.v[0]->reason, "spawn error: can't find command "
	    "'/x'");
	nl_free(&nl);

	/* A description that says more is added; control bytes go. */
	st(p, T0 + 4000000, "api", "api_01", "STARTING", "STOPPED", "tries:0",
	    &nl);
	feed_ctx_at(p, T0 + 4000010, "PROCESS_STATE_FATAL", "processname:api_01 "
	    "groupname:api from_state:STARTING", "{\"spawnerr\": \"bad "
	    "user\\nroot\", \"description\": \"user nobody2 unknown\"}", &nl);
	run_until(p, T0 + 8000000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_str_eq(nl.v[0]->reason, "spawn error: bad user root; user "
	    "nobody2 unknown");
	nl_free(&nl);
	policy_free(p);
}
END_TEST

/*
 * The ring of PROCESS_LOG_STDERR lines when the context has no tail, has
 * an error, or is absent; the error is told.
 */
START_TEST(test_policy_context_falls_back_to_ring)
{
	static const char *ctxs[] = {
		"{\"exitstatus\": 3}",
		"{\"error\": \"no answer from supervisord at unix:///x within "
		    "1500 ms (timeout)\"}",
		NULL
	};
	struct policy	*p;
	struct nlist	 nl = { .n = 0 };
	size_t		 i;

	for (i = 0; i < 3; i++) {
		ids = 0;
		p = mkpolicy(POLICY_LEVEL_PROBLEMS);
		stderr_chunk(p, T0 + 500, "api_00", "ring line\n", &nl);
		run_exit_ctx(p, "api_00", ctxs[i], &nl);
		ck_assert_uint_eq(nl.n, 1);
		ck_assert_str_eq(nl.v[0]->tail, "ring line");
		ck_assert_str_eq(nl.v[0]->tail_label, "stderr (last lines)");
		if (i == 1)
			ck_assert_str_eq(nl.v[0]->context_error, "no answer "
			    "from supervisord at unix:///x within 1500 ms "
			    "(timeout)");
		else
			ck_assert_ptr_null(nl.v[0]->context_error);
		if (i == 0)
			ck_assert_str_eq(nl.v[0]->reason, "exit status 3");
		else
			ck_assert_ptr_null(nl.v[0]->reason);
		nl_free(&nl);
		policy_free(p);
	}

	/* A context tail wins; the ring's lines are not shown later. */
	ids = 0;
	p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	stderr_chunk(p, T0 + 500, "api_00", "ring line\n", &nl);
	run_exit_ctx(p, "api_00", "{\"stderr_tail\": \"ctx line\"}", &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_str_eq(nl.v[0]->tail, "ctx line");
	nl_free(&nl);
	st(p, T0 + 4000000, "api", "api_00", "STARTING", "EXITED", "tries:0",
	    &nl);
	st(p, T0 + 4001000, "api", "api_00", "RUNNING", "STARTING", "pid:6",
	    &nl);
	feed_at(p, T0 + 4100000, "PROCESS_STATE_EXITED", "processname:api_00 "
	    "groupname:api from_state:RUNNING expected:0 pid:6", &nl);
	run_until(p, T0 + 8000000, &nl);
	ck_assert_uint_eq(nl.n, 2);	/* recovery, then the exit */
	ck_assert_ptr_null(nl.v[1]->tail);
	ck_assert_ptr_null(nl.v[1]->reason);	/* the old context is gone */
	nl_free(&nl);
	policy_free(p);
}
END_TEST

/* At most the tail's last line, 200 characters, in the text. */
START_TEST(test_policy_context_last_line_in_text)
{
	struct policy	*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct nlist	 nl = { .n = 0 };
	char		 ctx[2048], *dash;
	size_t		 i, n;

	ids = 0;
	n = snprintf(ctx, sizeof ctx, "{\"exitstatus\": 2, \"stderr_tail\": "
	    "\"first line\\n");
	for (i = 0; i < 300; i++)
		ctx[n++] = i % 10 == 0 ? 'x' : 'e';
	snprintf(ctx + n, sizeof ctx - n, "\\n\\n\"}");
	run_exit_ctx(p, "api_00", ctx, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_ptr_null(strstr(nl.v[0]->text, "first line"));
	dash = strstr(nl.v[0]->text, "EXITED — ");
	ck_assert_ptr_nonnull(dash);
	dash += strlen("EXITED — ");
	ck_assert_str_eq(dash + strlen(dash) - strlen("…"), "…");
	/* 199 characters and the "…" */
	ck_assert_uint_eq(strlen(dash), 199 + strlen("…"));
	ck_assert(strncmp(dash, "xeeeeeeeeex", 11) == 0);
	nl_free(&nl);
	policy_free(p);
}
END_TEST

/* Five FATALs in one group: five reasons, three tails, two counted. */
START_TEST(test_policy_context_grouped)
{
	struct policy		*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct nlist		 nl = { .n = 0 };
	struct policy_note	*n;
	char			 pl[128], ctx[256], want[128];
	int			 i;

	ids = 0;
	for (i = 0; i < 5; i++) {
		snprintf(pl, sizeof pl, "processname:api_%02d groupname:api "
		    "from_state:STOPPED tries:0", i);
		feed_at(p, T0 + i * 10, "PROCESS_STATE_STARTING", pl, &nl);
	}
	for (i = 0; i < 5; i++) {
		snprintf(pl, sizeof pl, "processname:api_%02d groupname:api "
		    "from_state:STARTING", i);
		snprintf(ctx, sizeof ctx, "{\"spawnerr\": \"can't find "
		    "command 'api%d'\", \"stderr_tail\": \"tail of %d\"%s}", i,
		    i, i == 4 ? ", \"error\": \"readLog failed\"" : "");
		feed_ctx_at(p, T0 + 100 + i * 10, "PROCESS_STATE_FATAL", pl,
		    ctx, &nl);
	}
	run_until(p, T0 + 3600000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	n = nl.v[0];
	ck_assert_ptr_nonnull(strstr(n->text, "5 processes gave up (FATAL)"));
	for (i = 0; i < 5; i++) {
		snprintf(want, sizeof want, "• `api:api_%02d` FATAL — could not "
		    "be started; spawn error: can't find command 'api%d'", i,
		    i);
		ck_assert_msg(strstr(n->detail, want) != NULL, "no %s in %s",
		    want, n->detail);
	}
	ck_assert_uint_eq(n->ntails, POLICY_NOTE_TAILS);
	ck_assert_uint_eq(n->tails_omitted, 2);
	ck_assert_str_eq(n->tails[0].process, "api:api_00");
	ck_assert_str_eq(n->tails[0].text, "tail of 0");
	ck_assert_str_eq(n->tails[2].process, "api:api_02");
	ck_assert_str_eq(n->tail, "tail of 0");
	ck_assert_ptr_null(n->reason);
	ck_assert_str_eq(n->context_error, "api:api_04: readLog failed");
	nl_free(&nl);
	policy_free(p);
}
END_TEST

/*
 * The cached earliest deadline is the one a fresh policy (loaded from the
 * saved state, which recomputes it from every process, server and group)
 * finds, after every event and every tick.
 */
static int64_t
fresh_deadline(struct policy *p)
{
	struct json_object	*o;
	struct policy		*q;
	char			 err[256];
	int64_t			 d;

	o = policy_save(p);
	q = mkpolicy(POLICY_LEVEL_PROBLEMS);
	ck_assert_msg(policy_load(q, o, err, sizeof err) == 0, "%s", err);
	d = policy_next_deadline(q);
	json_object_put(o);
	policy_free(q);
	return (d);
}

START_TEST(test_policy_deadline_cache_matches_full_scan)
{
	struct policy	*p;
	struct scen	 sc = { NULL, 0 };
	struct nlist	 nl = { .n = 0 };
	size_t		 i;
	int64_t		 d;

	scen_mixed(&sc);
	ids = 0;
	p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	for (i = 0; i < sc.n; i++) {
		while ((d = policy_next_deadline(p)) != -1 &&
		    d <= T0 + sc.s[i].t) {
			policy_tick(p, d);
			nl_take(p, &nl);
			ck_assert_int_eq(policy_next_deadline(p),
			    fresh_deadline(p));
		}
		feed_ctx_at(p, T0 + sc.s[i].t, sc.s[i].name, sc.s[i].payload,
		    sc.s[i].ctx, &nl);
		ck_assert_msg(policy_next_deadline(p) == fresh_deadline(p),
		    "after event %zu (%s): %" PRId64 ", not %" PRId64, i,
		    sc.s[i].name, policy_next_deadline(p), fresh_deadline(p));
	}
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

/* Crash context survives a restart mid-episode. */
START_TEST(test_policy_context_survives_reload)
{
	struct policy	*p;
	struct scen	 sc = { NULL, 0 };
	struct nlist	 nl = { .n = 0 };

	ids = 0;
	p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	scen_boot_crash(&sc, 0, "api:api_00");
	/* The BACKOFF before last brings the context; FATAL has none. */
	sc.s[5].ctx = CTX_TOO_QUICKLY;
	scen_run(p, &sc, 0, 6, &nl);
	p = reload(p, POLICY_LEVEL_PROBLEMS);
	scen_run(p, &sc, 6, sc.n, &nl);
	run_until(p, T0 + 3600000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_str_eq(nl.v[0]->reason, "exited too quickly: never stayed "
	    "up for startsecs (last exit status 1)");
	ck_assert_ptr_nonnull(strstr(nl.v[0]->tail, "FileNotFoundError"));
	ck_assert_ptr_nonnull(strstr(nl.v[0]->text, "— FileNotFoundError: "
	    "app.yaml"));
	nl_free(&nl);

	/* And a note not yet taken keeps its tails and reason. */
	scen_free(&sc);
	scen_boot_crash(&sc, 4000000, "api:api_01");
	scen_ctx(&sc, CTX_TOO_QUICKLY);
	scen_run(p, &sc, 0, sc.n, &nl);
	run_until(p, T0 + 4500000, &nl);
	ck_assert_uint_eq(nl.n, 1);
	nl_free(&nl);
	feed_ctx_at(p, T0 + 5000000, "PROCESS_STATE_STARTING",
	    "processname:api_02 groupname:api from_state:STOPPED tries:0",
	    NULL, &nl);
	feed_ctx_at(p, T0 + 5000010, "PROCESS_STATE_FATAL", "processname:api_02 "
	    "groupname:api from_state:STARTING", CTX_TOO_QUICKLY, &nl);
	policy_tick(p, T0 + 5010000);
	p = reload(p, POLICY_LEVEL_PROBLEMS);
	nl_take(p, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_uint_eq(nl.v[0]->ntails, 1);
	ck_assert_str_eq(nl.v[0]->tails[0].process, "api:api_02");
	ck_assert_str_eq(nl.v[0]->tail_label, "stderr (last lines)");
	ck_assert_ptr_nonnull(nl.v[0]->reason);
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_save_load_mid_episode_same_notes)
{
	struct policy	*p;
	struct scen	 sc = { NULL, 0 };
	struct nlist	 ref = { .n = 0 }, got = { .n = 0 };
	size_t		 cut, i;
	int		 lvl = _i;

	scen_mixed(&sc);
	ids = 0;
	p = mkpolicy(lvl);
	scen_run(p, &sc, 0, sc.n, &ref);
	run_until(p, T0 + 3600000, &ref);
	policy_free(p);
	ck_assert_uint_ge(ref.n, 5);
	ck_assert_ptr_nonnull(nl_find(&ref, "FATAL"));
	ck_assert_ptr_nonnull(nl_find(&ref, "is flapping"));
	ck_assert_ptr_nonnull(nl_find(&ref, "recovered"));
	ck_assert_ptr_nonnull(nl_find(&ref, "stable again"));
	ck_assert_ptr_nonnull(nl_find(&ref, "silent since"));

	/* Restart after every event, and once with notes not yet taken. */
	for (cut = 1; cut < sc.n; cut++) {
		ids = 0;
		p = mkpolicy(lvl);
		scen_run(p, &sc, 0, cut, &got);
		p = reload(p, lvl);
		scen_run(p, &sc, cut, sc.n, &got);
		run_until(p, T0 + 3600000, &got);
		ck_assert_msg(got.n == ref.n, "cut %zu: %zu notes, not %zu",
		    cut, got.n, ref.n);
		for (i = 0; i < ref.n; i++)
			ck_assert_msg(note_eq(ref.v[i], got.v[i]), "cut %zu: "
			    "note %zu differs: %s / %s", cut, i,
			    ref.v[i]->text, got.v[i]->text);
		nl_free(&got);
		policy_free(p);
	}
	nl_free(&ref);
	scen_free(&sc);
}
END_TEST

START_TEST(test_policy_save_load_untaken_notes)
{
	struct policy		*p;
	struct nlist		 nl = { .n = 0 };
	struct scen		 sc = { NULL, 0 };
	struct svevent		*ev;
	size_t			 i;

	ids = 0;
	p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	scen_boot_crash(&sc, 0, "api:api_00");
	for (i = 0; i < sc.n; i++) {
		ev = mkev(sc.s[i].name, sc.s[i].payload);
		policy_feed(p, ev, T0 + sc.s[i].t);
		svevent_free(ev);
	}
	policy_tick(p, T0 + 10000);
	p = reload(p, POLICY_LEVEL_PROBLEMS);
	nl_take(p, &nl);
	ck_assert_uint_eq(nl.n, 1);
	ck_assert_ptr_nonnull(strstr(nl.v[0]->text, "FATAL"));
	ck_assert_int_eq(policy_next_deadline(p), -1);
	nl_free(&nl);
	scen_free(&sc);
	policy_free(p);
}
END_TEST

START_TEST(test_policy_load_rejects_garbage)
{
	struct policy		*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct json_object	*o;
	char			 err[256];
	struct nlist		 nl = { .n = 0 };
	static const char	*bad[] = {
		"[]",
		"{}",
		"{\"version\": 99}",
		"{\"version\": 1, \"seq\": 0, \"procs\": [{\"host\": 1}], "
		    "\"servers\": [], \"groups\": [], \"notes\": []}",
		"{\"version\": 1, \"seq\": 0, \"procs\": [], \"servers\": [], "
		    "\"groups\": [{\"route\": \"\", \"first\": 0, \"last\": 0, "
		    "\"urgent\": -1, \"reports\": [{\"cls\": \"nope\"}]}], "
		    "\"notes\": []}",
	};
	size_t			 i;

	ids = 0;
	st(p, T0, "api", "a", "STARTING", "STOPPED", "tries:0", &nl);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		o = json_tokener_parse(bad[i]);
		ck_assert_ptr_nonnull(o);
		err[0] = '\0';
		ck_assert_int_eq(policy_load(p, o, err, sizeof err), -1);
		ck_assert_msg(err[0] != '\0', "no reason for %s", bad[i]);
		ck_assert_int_eq(policy_next_deadline(p), -1);
		json_object_put(o);
	}
	policy_free(p);
}
END_TEST

START_TEST(test_policy_deadline_idle_and_ignored_events)
{
	struct policy	*p = mkpolicy(POLICY_LEVEL_PROBLEMS);
	struct nlist	 nl = { .n = 0 };

	ids = 0;
	ck_assert_int_eq(policy_next_deadline(p), -1);
	policy_tick(p, T0);
	ck_assert_ptr_null(policy_take(p));
	feed_at(p, T0, "PROCESS_GROUP_ADDED", "groupname:api\n", &nl);
	feed_at(p, T0, "PROCESS_LOG_STDOUT", "processname:a groupname:api "
	    "pid:1 channel:stdout\nhello\n", &nl);
	feed_at(p, T0, "TICK_5", "when:1700000000", &nl);
	ck_assert_int_eq(policy_next_deadline(p), -1);
	/* A repeated state event opens nothing. */
	st(p, T0, "api", "a", "STARTING", "STOPPED", "tries:0", &nl);
	st(p, T0 + 1000, "api", "a", "RUNNING", "STARTING", "pid:1", &nl);
	ck_assert_int_eq(policy_next_deadline(p), T0 + 1000 + 5000);
	run_until(p, T0 + 10000, &nl);
	ck_assert_int_eq(policy_next_deadline(p), -1);
	st(p, T0 + 20000, "api", "a", "RUNNING", "STARTING", "pid:1", &nl);
	ck_assert_int_eq(policy_next_deadline(p), -1);
	/* Feeding late runs what was due first. */
	st(p, T0 + 30000, "api", "a", "STOPPING", "RUNNING", "pid:1", &nl);
	st(p, T0 + 30100, "api", "a", "STOPPED", "STOPPING", "pid:1", &nl);
	ck_assert_int_eq(policy_next_deadline(p), T0 + 30100 + 5000);
	feed_at(p, T0 + 90000, "TICK_5", "when:1700000090", &nl);
	ck_assert_int_eq(policy_next_deadline(p), -1);
	ck_assert_uint_eq(nl.n, 0);
	policy_free(p);
}
END_TEST

/* The capture file NNN-<EVENT>.bin, opened, or NULL. */
static FILE *
open_capture(int k, char *path, size_t len)
{
	static const char *names[] = {
		"PROCESS_GROUP_ADDED", "PROCESS_GROUP_REMOVED",
		"SUPERVISOR_STATE_CHANGE_RUNNING",
		"SUPERVISOR_STATE_CHANGE_STOPPING", "PROCESS_STATE_STARTING",
		"PROCESS_STATE_RUNNING", "PROCESS_STATE_BACKOFF",
		"PROCESS_STATE_STOPPING", "PROCESS_STATE_STOPPED",
		"PROCESS_STATE_EXITED", "PROCESS_STATE_FATAL",
		"PROCESS_STATE_UNKNOWN", "PROCESS_LOG_STDOUT",
		"PROCESS_LOG_STDERR", "PROCESS_COMMUNICATION_STDOUT",
		"PROCESS_COMMUNICATION_STDERR", "REMOTE_COMMUNICATION",
		"TICK_5", "TICK_60", "TICK_3600", NULL
	};
	FILE	*f;
	int	 j;

	for (j = 0; names[j] != NULL; j++) {
		snprintf(path, len, "%s/supervisord/%03d-%s.bin", TEST_DATADIR,
		    k, names[j]);
		if ((f = fopen(path, "rb")) != NULL)
			return (f);
	}
	return (NULL);
}

/*
 * The events the real supervisord 4.2.5 sent (tests/data/supervisord), one
 * a second: header tokens and payload as they came.
 */
START_TEST(test_policy_real_supervisord_capture)
{
	struct policy		*p = mkpolicy(POLICY_LEVEL_CHANGES);
	struct nlist		 nl = { .n = 0 };
	struct svevent		*ev;
	struct policy_note	*n;
	char			 path[4096], line[1024], err[256], *tok, *v;
	char			*payload;
	FILE			*f;
	size_t			 len, i;
	int			 k, fed = 0;

	for (k = 1; k < 1000; k++) {
		if ((f = open_capture(k, path, sizeof path)) == NULL)
			continue;
		if (fgets(line, sizeof line, f) == NULL) {
			fclose(f);	/* cut short by the capture's end */
			continue;
		}
		line[strcspn(line, "\n")] = '\0';
		ev = svevent_new();
		ev->host = xstrdup("web-1");
		len = 0;
		for (tok = strtok(line, " "); tok != NULL;
		    tok = strtok(NULL, " ")) {
			if ((v = strchr(tok, ':')) == NULL)
				continue;
			*v++ = '\0';
			if (strcmp(tok, "server") == 0)
				ev->server = xstrdup(v);
			else if (strcmp(tok, "eventname") == 0)
				ev->name = xstrdup(v);
			else if (strcmp(tok, "serial") == 0) {
				ev->serial = strtoll(v, NULL, 10);
				xasprintf(&ev->id, "cap-%s", v);
			} else if (strcmp(tok, "len") == 0)
				len = strtoul(v, NULL, 10);
		}
		ck_assert_ptr_nonnull(ev->name);
		payload = xmalloc(len + 1);
		ck_assert_uint_eq(fread(payload, 1, len, f), len);
		fclose(f);
		ck_assert_msg(svevent_set_payload(ev, payload, len, err,
		    sizeof err) == 0, "%s: %s", path, err);
		free(payload);
		run_until(p, T0 + k * 1000, &nl);
		policy_feed(p, ev, T0 + k * 1000);
		nl_take(p, &nl);
		svevent_free(ev);
		fed++;
	}
	ck_assert_int_ge(fed, 40);
	run_until(p, T0 + 3600000, &nl);
	ck_assert_uint_ge(nl.n, 2);
	for (i = 0; i < nl.n; i++) {
		n = nl.v[i];
		ck_assert_ptr_nonnull(strstr(n->text, " on web-1"));
		ck_assert_str_eq(n->host, "web-1");
	}
	/* "crash" exits too quickly: it gives up, and the note says so. */
	ck_assert_ptr_nonnull(nl_find(&nl, "crash:crash FATAL on web-1"));
	ck_assert_ptr_nonnull(nl_find(&nl, "supervisord sv-capture on web-1 "
	    "is stopping"));
	nl_free(&nl);
	policy_free(p);
}
END_TEST

/* Config */

static char *
write_conf(const char *text)
{
	char	*path;
	int	 fd;

	path = xstrdup("/tmp/check_policy.XXXXXX");
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return (path);
}

static struct conf *
load_text(const char *text, char **err, char **pathp)
{
	struct conf	*c;
	char		*path;

	path = write_conf(text);
	c = conf_load(path, err);
	if (pathp != NULL)
		*pathp = path;
	else {
		unlink(path);
		free(path);
	}
	return (c);
}

START_TEST(test_policy_conf_defaults)
{
	struct conf		*c;
	struct policy_conf	 pc, def;
	char			*err = NULL;

	c = load_text("host = \"web-1\";\n", &err, NULL);
	ck_assert_ptr_nonnull(c);
	ck_assert_int_eq(c->notify.settle_ms, 5000);
	ck_assert_int_eq(c->notify.episode_max_ms, 300000);
	ck_assert_int_eq(c->notify.group_window_ms, 2000);
	ck_assert_int_eq(c->notify.group_max_ms, 6000);
	ck_assert_int_eq(c->notify.flap_threshold, 3);
	ck_assert_int_eq(c->notify.flap_window_ms, 600000);
	ck_assert_int_eq(c->notify.flap_calm_ms, 300000);
	ck_assert_int_eq(c->notify.flap_update_ms, 60000);
	ck_assert_int_eq(c->notify.silence_ms, 180000);
	ck_assert_ptr_null(c->notify.report_states[0]);
	ck_assert_ptr_null(c->notify.ignore_states[0]);
	ck_assert_uint_eq(c->notify.nroutes, 0);
	policy_conf_from(&pc, c);
	policy_conf_default(&def);
	ck_assert_str_eq(pc.host, "web-1");
	ck_assert_int_eq(pc.level, POLICY_LEVEL_PROBLEMS);
	ck_assert_int_eq(pc.settle_ms, def.settle_ms);
	ck_assert_int_eq(pc.episode_max_ms, def.episode_max_ms);
	ck_assert_int_eq(pc.group_window_ms, def.group_window_ms);
	ck_assert_int_eq(pc.group_max_ms, def.group_max_ms);
	ck_assert_int_eq(pc.flap_threshold, def.flap_threshold);
	ck_assert_int_eq(pc.flap_window_ms, def.flap_window_ms);
	ck_assert_int_eq(pc.flap_calm_ms, def.flap_calm_ms);
	ck_assert_int_eq(pc.flap_update_ms, def.flap_update_ms);
	ck_assert_int_eq(pc.silence_ms, def.silence_ms);
	policy_conf_clear(&pc);
	conf_free(c);
}
END_TEST

START_TEST(test_policy_conf_all_keys)
{
	struct conf		*c;
	struct policy_conf	 pc;
	char			*err = NULL;

	c = load_text(
	    "slack = { token = \"xoxb-1\"; channel = \"#ops\"; };\n"
	    "notify = {\n"
	    "  level = \"changes\";\n"
	    "  settle_ms = 3000; episode_max_ms = 600000;\n"
	    "  group_window_ms = 1000; group_max_ms = 4000;\n"
	    "  flap_threshold = 5; flap_window_ms = 300000;\n"
	    "  flap_calm_ms = 120000; flap_update_ms = 30000;\n"
	    "  silence_ms = 240000;\n"
	    "  report_states = [ \"STOPPED\" ];\n"
	    "  ignore_states = [ \"EXITED\", \"UNKNOWN\" ];\n"
	    "  routes = (\n"
	    "    { match = \"api:*\"; channel = \"#api\"; },\n"
	    "    { match = \"db:*\";\n"
	    "      webhook_url = \"https://hooks.slack.com/services/T/B/x\"; }\n"
	    "  );\n"
	    "};\n", &err, NULL);
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_int_eq(c->notify.settle_ms, 3000);
	ck_assert_int_eq(c->notify.flap_threshold, 5);
	ck_assert_str_eq(c->notify.report_states[0], "STOPPED");
	ck_assert_str_eq(c->notify.ignore_states[1], "UNKNOWN");
	ck_assert_uint_eq(c->notify.nroutes, 2);
	ck_assert_str_eq(c->notify.routes[0].match, "api:*");
	ck_assert_str_eq(c->notify.routes[0].channel, "#api");
	ck_assert_ptr_null(c->notify.routes[0].webhook_url);
	ck_assert_str_eq(c->notify.routes[1].webhook_url,
	    "https://hooks.slack.com/services/T/B/x");
	policy_conf_from(&pc, c);
	ck_assert_int_eq(pc.level, POLICY_LEVEL_CHANGES);
	ck_assert_int_eq(pc.settle_ms, 3000);
	ck_assert_int_eq(pc.episode_max_ms, 600000);
	ck_assert_int_eq(pc.group_window_ms, 1000);
	ck_assert_int_eq(pc.group_max_ms, 4000);
	ck_assert_int_eq(pc.flap_window_ms, 300000);
	ck_assert_int_eq(pc.flap_calm_ms, 120000);
	ck_assert_int_eq(pc.flap_update_ms, 30000);
	ck_assert_int_eq(pc.silence_ms, 240000);
	ck_assert_uint_eq(pc.report_states,
	    POLICY_STATE_BIT(POLICY_STATE_STOPPED));
	ck_assert_uint_eq(pc.ignore_states,
	    POLICY_STATE_BIT(POLICY_STATE_EXITED) |
	    POLICY_STATE_BIT(POLICY_STATE_UNKNOWN));
	ck_assert_uint_eq(pc.nroutes, 2);
	ck_assert_str_eq(pc.routes[0].name, "#api");
	ck_assert_str_eq(pc.routes[1].match, "db:*");
	ck_assert_str_eq(pc.routes[1].name, "webhook:2");
	ck_assert_ptr_null(c->warnings);
	policy_conf_clear(&pc);
	conf_free(c);
}
END_TEST

struct bad_conf {
	const char	*text;
	int		 line;
	const char	*want;
};

static const struct bad_conf bad_confs[] = {
	{ "notify = {\n settle_ms = -1;\n};\n", 2,
	    "key 'notify.settle_ms': -1 is out of range (0 to 600000)" },
	{ "notify = {\n flap_threshold = \"3\";\n};\n", 2,
	    "key 'notify.flap_threshold': expected an integer, got a string" },
	{ "notify = {\n flap_threshold = 1;\n};\n", 2,
	    "key 'notify.flap_threshold': 1 is out of range (2 to 64)" },
	{ "notify = {\n silence_ms = 10;\n};\n", 2,
	    "key 'notify.silence_ms': 10 is out of range" },
	{ "notify = {\n group_window_ms = 7000;\n};\n", 1,
	    "key 'notify.group_window_ms': larger than notify.group_max_ms" },
	{ "notify = {\n settle_ms = 300000;\n};\n", 1,
	    "key 'notify.settle_ms': not smaller than notify.episode_max_ms" },
	{ "notify = {\n report_states = [ \"STOPPED\", \"SLEEPING\" ];\n};\n",
	    2, "key 'notify.report_states': element 2: 'SLEEPING' is not a "
	    "process state" },
	{ "notify = {\n ignore_states = \"FATAL\";\n};\n", 2,
	    "key 'notify.ignore_states': expected a list of strings" },
	{ "notify = {\n report_states = [\"FATAL\"];\n"
	    " ignore_states = [\"FATAL\"];\n};\n", 3,
	    "key 'notify.ignore_states': 'FATAL' is also in "
	    "notify.report_states" },
	{ "notify = {\n flap_windw_ms = 1000;\n};\n", 2,
	    "unknown key 'notify.flap_windw_ms'" },
	{ "notify = {\n routes = { match = \"*\"; channel = \"#a\"; };\n};\n",
	    2, "key 'notify.routes': expected a list of groups" },
	{ "notify = {\n routes = (\n  { channel = \"#a\"; }\n );\n};\n", 3,
	    "key 'notify.routes': element 1: 'match' is required" },
	{ "notify = {\n routes = (\n  { match = \"*\"; }\n );\n};\n", 3,
	    "key 'notify.routes': element 1: set exactly one of 'channel' and "
	    "'webhook_url'" },
	{ "notify = {\n routes = ( { match = \"*\"; channel = \"#a\"; },\n"
	    "  { match = \"x\"; channel = \"#b\";\n"
	    "    webhook_url = \"https://h.example/x\"; } );\n};\n", 3,
	    "key 'notify.routes': element 2: set exactly one of" },
	{ "notify = {\n routes = (\n  { match = \"*\"; channel = \"#a b\"; }\n"
	    " );\n};\n", 3, "key 'notify.routes': element 1: 'channel' must be" },
	{ "notify = {\n routes = (\n  { match = \"*\"; chanel = \"#a\"; }\n"
	    " );\n};\n", 3, "key 'notify.routes': element 1: unknown key "
	    "'chanel'" },
	{ "notify = {\n routes = ( \"#a\" );\n};\n", 2,
	    "key 'notify.routes': element 1: expected a group" },
	{ "notify = {\n routes = ( { match = \"*\";\n"
	    "  webhook_url = \"ftp://secret.example/T0/B0/hunter2\"; } );\n"
	    "};\n", 3, "key 'notify.routes': element 1: 'webhook_url': the URL "
	    "must start with http:// or https://" },
	{ "notify = {\n routes = ( { match = \"\"; channel = \"#a\"; } );\n"
	    "};\n", 2, "key 'notify.routes': element 1: 'match' must be a "
	    "non-empty string" },
};

START_TEST(test_policy_conf_errors_name_file_line_key)
{
	const struct bad_conf	*b = &bad_confs[_i];
	struct conf		*c;
	char			*err = NULL, *path, *want;

	c = load_text(b->text, &err, &path);
	ck_assert_msg(c == NULL, "accepted: %s", b->text);
	ck_assert_ptr_nonnull(err);
	xasprintf(&want, "%s:%d: %s", path, b->line, b->want);
	ck_assert_msg(strstr(err, want) != NULL, "got '%s', want '%s'", err,
	    want);
	ck_assert_ptr_null(strstr(err, "hunter2"));
	ck_assert_ptr_null(strstr(err, "secret.example"));
	unlink(path);
	free(path);
	free(want);
	free(err);
}
END_TEST

START_TEST(test_policy_conf_channel_route_without_token_warns)
{
	struct conf	*c;
	char		*err = NULL;

	c = load_text("slack = { webhook_url = \"https://h.example/T/B/x\"; };\n"
	    "notify = { routes = ( { match = \"*\"; channel = \"#a\"; } ); };\n",
	    &err, NULL);
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_ptr_nonnull(c->warnings);
	ck_assert_ptr_nonnull(strstr(c->warnings, "needs slack.token"));
	ck_assert_ptr_null(strstr(c->warnings, "h.example"));
	conf_free(c);
}
END_TEST

START_TEST(test_policy_state_names)
{
	int	s;

	for (s = 0; s < POLICY_NSTATES; s++)
		ck_assert_int_eq(policy_state_parse(policy_state_name(s)), s);
	ck_assert_int_eq(policy_state_parse("running"), -1);
	ck_assert_int_eq(policy_state_parse(""), -1);
	ck_assert_str_eq(policy_state_name(POLICY_STATE_BACKOFF), "BACKOFF");
}
END_TEST

static Suite *
policy_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("policy");

	tc = tcase_create("episodes");
	tcase_add_test(tc, test_policy_boot_crash_one_note);
	tcase_add_test(tc, test_policy_healthy_start_silent_at_problems);
	tcase_add_test(tc, test_policy_healthy_start_grouped_at_changes);
	tcase_add_test(tc, test_policy_crash_and_recovery_one_note);
	tcase_add_test(tc,
	    test_policy_fatal_then_manual_start_recovers_in_thread);
	tcase_add_test(tc, test_policy_never_settles);
	tcase_add_test(tc, test_policy_unexpected_exit_not_restarted);
	tcase_add_test(tc, test_policy_report_and_ignore_states);
	tcase_add_test(tc, test_policy_stderr_tail_bounded_and_attached);
	tcase_add_test(tc, test_policy_deadline_idle_and_ignored_events);
	tcase_add_test(tc, test_policy_state_names);
	tcase_add_test(tc, test_policy_real_supervisord_capture);
	suite_add_tcase(s, tc);

	tc = tcase_create("flapping");
	tcase_add_test(tc, test_policy_crash_loop_flapping);
	tcase_add_test(tc, test_policy_flapping_updates_paced_and_hysteresis);
	tcase_add_test(tc, test_policy_flapping_then_fatal);
	suite_add_tcase(s, tc);

	tc = tcase_create("grouping");
	tcase_add_test(tc, test_policy_group_restart_of_20);
	tcase_add_test(tc, test_policy_fatal_within_3s_amid_busy_group);
	tcase_add_test(tc, test_policy_recovery_threads_on_group_note);
	tcase_add_test(tc, test_policy_routes_glob_first_match_default);
	suite_add_tcase(s, tc);

	tc = tcase_create("supervisord");
	tcase_add_test(tc, test_policy_silence_and_back);
	tcase_add_test(tc, test_policy_supervisord_stopping_changes_only);
	suite_add_tcase(s, tc);

	tc = tcase_create("state");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_policy_save_load_mid_episode_same_notes,
	    POLICY_LEVEL_PROBLEMS, POLICY_LEVEL_CHANGES + 1);
	tcase_add_test(tc, test_policy_save_load_untaken_notes);
	tcase_add_test(tc, test_policy_load_rejects_garbage);
	tcase_add_test(tc, test_policy_deadline_cache_matches_full_scan);
	suite_add_tcase(s, tc);

	tc = tcase_create("context");
	tcase_add_test(tc, test_policy_context_exit_status);
	tcase_add_test(tc, test_policy_context_signal);
	tcase_add_test(tc, test_policy_context_too_quickly);
	tcase_add_test(tc, test_policy_context_spawn_error);
	tcase_add_test(tc, test_policy_context_falls_back_to_ring);
	tcase_add_test(tc, test_policy_context_last_line_in_text);
	tcase_add_test(tc, test_policy_context_grouped);
	tcase_add_test(tc, test_policy_context_survives_reload);
	suite_add_tcase(s, tc);

	tc = tcase_create("conf");
	tcase_add_test(tc, test_policy_conf_defaults);
	tcase_add_test(tc, test_policy_conf_all_keys);
	tcase_add_loop_test(tc, test_policy_conf_errors_name_file_line_key, 0,
	    sizeof bad_confs / sizeof bad_confs[0]);
	tcase_add_test(tc, test_policy_conf_channel_route_without_token_warns);
	suite_add_tcase(s, tc);
	return (s);
}

CHECK_MAIN(policy_suite)

/*
 * The Alertmanager sink.  A fleet runs one svrelayd per host; when one
 * deploy breaks a program on fifty hosts, Prometheus Alertmanager (which
 * such teams already run, clustered) groups the fifty alerts into one
 * message.  svrelayd feeds it through its v2 API:
 *
 *   POST URL/api/v2/alerts   [{"labels":{…},"annotations":{…},
 *                              "startsAt":…[,"endsAt":…]}, …]
 *
 * Each process a note fires for is one alert, labelled alertname
 * (SupervisorProcessFatal, …), host, server, group, process and
 * severity; its annotations tell the story (summary, description) and
 * carry the stderr tail and the exit status.  A recovery resolves it: the
 * same labels with endsAt set.  What fires is kept in spool_dir/alerts.json
 * (tmp, fsync, rename) and sent again periodically by delivery.c, so
 * that Alertmanager never resolves it by itself (resolve_timeout), not
 * even across a restart.  An alert for what is already over (a crash
 * after which the process runs again) fires with an endsAt in the future
 * and is not kept.
 *
 * Answers: 2xx taken; 429 wait; 5xx and no answer: retry with backoff;
 * 400 (an alert it refuses) and other 4xx: a dead letter.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "delivery_int.h"
#include "log.h"
#include "policy.h"
#include "sink.h"
#include "svevent.h"
#include "xmalloc.h"

/* The longest annotation value sent (bytes, cut on a UTF-8 boundary). */
#define AM_MAX_ANNOTATION	8192

static struct {
	char			*path;		/* alerts.json */
	char			*dir;
	struct json_object	*firing;	/* array of alerts */
	int			 save_failing;
} am;

/* Per POLICY_ALERT_*: alertname, severity, kept until resolved, phrase. */
static const struct {
	const char	*name;
	const char	*severity;
	int		 kept;
	const char	*phrase;
} am_kinds[] = {
	[POLICY_ALERT_NONE] = { NULL, NULL, 0, NULL },
	[POLICY_ALERT_FATAL] = { "SupervisorProcessFatal", "critical", 1,
	    "gave up (FATAL)" },
	[POLICY_ALERT_UNKNOWN] = { "SupervisorProcessUnknown", "critical", 1,
	    "became UNKNOWN" },
	[POLICY_ALERT_EXITED] = { "SupervisorProcessExited", "critical", 1,
	    "exited unexpectedly and stayed down" },
	[POLICY_ALERT_CRASHED] = { "SupervisorProcessExited", "warning", 0,
	    "exited unexpectedly and was restarted" },
	[POLICY_ALERT_START_FAILED] = { "SupervisorProcessStartFailed",
	    "warning", 0, "started after failed tries" },
	[POLICY_ALERT_UNSETTLED] = { "SupervisorProcessUnsettled", "warning",
	    1, "has not settled" },
	[POLICY_ALERT_FLAPPING] = { "SupervisorProcessFlapping", "warning", 1,
	    "is flapping" },
	[POLICY_ALERT_RESOLVED] = { NULL, NULL, 0, "recovered" },
};

/* ------------------------------------------------------------------ */
/* alerts.json */

/* Write what fires (tmp, fsync, rename, fsync the directory). */
static void
am_save(void)
{
	struct json_object	*o;

	if (am.path == NULL)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "firing", json_object_get(am.firing));
	if (outbox_write_file(am.dir, ALERTMANAGER_FILE, o) == -1) {
		/* Written again at the next change; said once. */
		if (!am.save_failing)
			log_warn("alertmanager: cannot write %s", am.path);
		am.save_failing = 1;
	} else {
		if (am.save_failing)
			log_info("alertmanager: %s written again", am.path);
		am.save_failing = 0;
	}
	json_object_put(o);
}

int
alertmanager_open(const char *spool_dir)
{
	struct json_object	*o, *a, *v;
	char			*bad;
	size_t			 i;

	alertmanager_close();
	am.dir = xstrdup(spool_dir);
	xasprintf(&am.path, "%s/%s", spool_dir, ALERTMANAGER_FILE);
	am.firing = json_object_new_array();
	if (access(am.path, F_OK) == -1) {
		if (errno == ENOENT)
			return (0);
		log_warn("alertmanager: %s", am.path);
		return (-1);
	}
	if ((o = json_object_from_file(am.path)) == NULL ||
	    !json_object_object_get_ex(o, "version", &v) ||
	    json_object_get_int(v) != 1 ||
	    !json_object_object_get_ex(o, "firing", &a) ||
	    !json_object_is_type(a, json_type_array)) {
		xasprintf(&bad, "%s.bad", am.path);
		log_warnx("alertmanager: %s is not a list of firing alerts: "
		    "moved aside to %s", am.path, bad);
		if (rename(am.path, bad) == -1)
			log_warn("alertmanager: rename %s", am.path);
		free(bad);
		if (o != NULL)
			json_object_put(o);
		return (0);
	}
	for (i = 0; i < json_object_array_length(a); i++) {
		v = json_object_array_get_idx(a, i);
		if (json_object_is_type(v, json_type_object) &&
		    json_object_object_get_ex(v, "labels", NULL))
			json_object_array_add(am.firing, json_object_get(v));
	}
	json_object_put(o);
	if (json_object_array_length(am.firing) > 0)
		log_info("alertmanager: %zu alert%s still firing (%s)",
		    json_object_array_length(am.firing),
		    json_object_array_length(am.firing) == 1 ? "" : "s",
		    am.path);
	return (0);
}

void
alertmanager_close(void)
{
	if (am.firing != NULL)
		json_object_put(am.firing);
	free(am.path);
	free(am.dir);
	memset(&am, 0, sizeof am);
}

size_t
alertmanager_nfiring(void)
{
	return (am.firing != NULL ? json_object_array_length(am.firing) : 0);
}

struct json_object *
alertmanager_firing(void)
{
	struct json_object	*copy = NULL;

	if (alertmanager_nfiring() == 0)
		return (NULL);
	if (json_object_deep_copy(am.firing, &copy, NULL) != 0)
		fatalx("json_object_deep_copy");
	return (copy);
}

/* ------------------------------------------------------------------ */
/* Alerts */

static const char *
am_label(struct json_object *alert, const char *name)
{
	struct json_object	*l, *v;

	if (!json_object_object_get_ex(alert, "labels", &l) ||
	    !json_object_object_get_ex(l, name, &v))
		return ("");
	return (json_object_get_string(v));
}

/* Labels with an empty value are left out: Alertmanager drops them. */
static void
am_addlabel(struct json_object *labels, const char *name, const char *v)
{
	if (v != NULL && v[0] != '\0')
		json_object_object_add(labels, name,
		    json_object_new_string(v));
}

/* At most AM_MAX_ANNOTATION bytes of v, cut on a UTF-8 boundary. */
static void
am_annotate(struct json_object *ann, const char *name, const char *v)
{
	size_t	len;

	if (v == NULL || v[0] == '\0')
		return;
	len = strlen(v);
	if (len > AM_MAX_ANNOTATION) {
		/* Keep the end: the last lines of a tail say most. */
		v += len - AM_MAX_ANNOTATION;
		while ((*v & 0xc0) == 0x80)
			v++;
	}
	json_object_object_add(ann, name, json_object_new_string(v));
}

/* Do two alerts have the same labels (the same alert)? */
static int
am_same(struct json_object *a, struct json_object *b)
{
	struct json_object	*la, *lb;

	if (!json_object_object_get_ex(a, "labels", &la) ||
	    !json_object_object_get_ex(b, "labels", &lb))
		return (0);
	return (json_object_equal(la, lb));
}

/* Is alert about process host/server/group/name (server "": any)? */
static int
am_about(struct json_object *alert, const char *host, const char *server,
    const char *group, const char *name)
{
	return (strcmp(am_label(alert, "host"), host) == 0 &&
	    (server[0] == '\0' ||
	    strcmp(am_label(alert, "server"), server) == 0) &&
	    strcmp(am_label(alert, "group"), group) == 0 &&
	    strcmp(am_label(alert, "process"), name) == 0);
}

/* A copy of alert, ended at t (never before it started). */
static struct json_object *
am_ended(struct json_object *alert, int64_t t, const char *why)
{
	struct json_object	*copy = NULL, *v, *ann;
	char			 tb[SVEVENT_TIME_LEN];

	if (json_object_deep_copy(alert, &copy, NULL) != 0)
		fatalx("json_object_deep_copy");
	svevent_format_time(t, tb, sizeof tb);
	if (json_object_object_get_ex(copy, "startsAt", &v) &&
	    strcmp(json_object_get_string(v), tb) > 0)
		snprintf(tb, sizeof tb, "%s", json_object_get_string(v));
	json_object_object_add(copy, "endsAt", json_object_new_string(tb));
	if (why != NULL && json_object_object_get_ex(copy, "annotations",
	    &ann))
		am_annotate(ann, "resolution", why);
	return (copy);
}

/*
 * End every kept alert about a process (except one with keep's labels),
 * onto out; returns how many.
 */
static int
am_resolve(struct json_object *out, const char *host, const char *server,
    const char *group, const char *name, struct json_object *keep,
    int64_t t, const char *why)
{
	struct json_object	*a;
	size_t			 i;
	int			 n = 0;

	for (i = json_object_array_length(am.firing); i-- > 0;) {
		a = json_object_array_get_idx(am.firing, i);
		if (!am_about(a, host, server, group, name) ||
		    (keep != NULL && am_same(a, keep)))
			continue;
		json_object_array_add(out, am_ended(a, t, why));
		json_object_array_del_idx(am.firing, i, 1);
		n++;
	}
	return (n);
}

/* The tail a note carries for process label, or NULL. */
static const struct policy_tail *
am_tail(const struct policy_note *n, const char *label)
{
	size_t	i;

	for (i = 0; i < n->ntails; i++) {
		if (strcmp(n->tails[i].process, label) == 0)
			return (&n->tails[i]);
	}
	return (NULL);
}

/* A new alert for process label (group:name) of note n. */
static struct json_object *
am_alert(const struct policy_note *n, int kind, const char *host,
    const char *group, const char *name, const char *label)
{
	struct json_object		*a, *labels, *ann;
	const struct policy_tail	*tail;
	char				*summary, tb[SVEVENT_TIME_LEN];

	labels = json_object_new_object();
	am_addlabel(labels, "alertname", am_kinds[kind].name);
	am_addlabel(labels, "host", host);
	am_addlabel(labels, "server", n->server);
	am_addlabel(labels, "group", group);
	am_addlabel(labels, "process", name);
	am_addlabel(labels, "severity", am_kinds[kind].severity);

	ann = json_object_new_object();
	if (n->nprocesses == 1)
		summary = xstrdup(n->text);
	else
		xasprintf(&summary, "%s %s on %s (one of %zu: %s)", label,
		    am_kinds[kind].phrase, host, n->nprocesses, n->text);
	am_annotate(ann, "summary", summary);
	free(summary);
	am_annotate(ann, "description", n->detail);
	if (n->nprocesses == 1)
		am_annotate(ann, "exit_status", n->reason);
	if ((tail = am_tail(n, label)) != NULL) {
		am_annotate(ann, "stderr_tail", tail->text);
		am_annotate(ann, "tail_label", tail->label);
	}
	if (n->nprocesses == 1)
		am_annotate(ann, "context_error", n->context_error);

	a = json_object_new_object();
	json_object_object_add(a, "labels", labels);
	json_object_object_add(a, "annotations", ann);
	svevent_format_time(n->time_ms, tb, sizeof tb);
	json_object_object_add(a, "startsAt", json_object_new_string(tb));
	return (a);
}

/* The kept alert with alert's labels, or NULL. */
static struct json_object *
am_kept(struct json_object *alert, size_t *idx)
{
	struct json_object	*a;
	size_t			 i;

	for (i = 0; i < json_object_array_length(am.firing); i++) {
		a = json_object_array_get_idx(am.firing, i);
		if (am_same(a, alert)) {
			if (idx != NULL)
				*idx = i;
			return (a);
		}
	}
	return (NULL);
}

struct json_object *
alertmanager_note(const struct policy_note *n, const char *host,
    int64_t resolve_ms)
{
	struct json_object	*out, *a, *old, *v;
	const char		*h, *colon;
	char			*group, tb[SVEVENT_TIME_LEN];
	size_t			 i;
	int			 kind, changed = 0;

	if (n->alerts == NULL || n->nprocesses == 0 || am.firing == NULL)
		return (NULL);
	h = n->host != NULL && n->host[0] != '\0' ? n->host : host;
	out = json_object_new_array();
	for (i = 0; i < n->nprocesses; i++) {
		kind = n->alerts[i];
		if (kind <= POLICY_ALERT_NONE || kind > POLICY_ALERT_RESOLVED)
			continue;
		if ((colon = strchr(n->processes[i], ':')) != NULL)
			group = xstrndup(n->processes[i],
			    colon - n->processes[i]);
		else
			group = xstrdup(n->processes[i]);
		colon = colon != NULL ? colon + 1 : n->processes[i];

		if (kind == POLICY_ALERT_RESOLVED) {
			if (am_resolve(out, h, n->server, group, colon, NULL,
			    n->time_ms, n->text) > 0)
				changed = 1;
			free(group);
			continue;
		}
		a = am_alert(n, kind, h, group, colon, n->processes[i]);
		if (!am_kinds[kind].kept) {
			/* Over already: it ends by itself. */
			svevent_format_time(n->time_ms + resolve_ms, tb,
			    sizeof tb);
			json_object_object_add(a, "endsAt",
			    json_object_new_string(tb));
			json_object_array_add(out, a);
			free(group);
			continue;
		}
		/* One problem a process: the new one ends the others. */
		if (am_resolve(out, h, n->server, group, colon, a, n->time_ms,
		    am_kinds[kind].phrase) > 0)
			changed = 1;
		if ((old = am_kept(a, NULL)) != NULL) {
			/* Firing already: the story grows, it started then. */
			if (json_object_object_get_ex(old, "startsAt", &v))
				json_object_object_add(a, "startsAt",
				    json_object_get(v));
			json_object_object_add(old, "annotations",
			    json_object_get(json_object_object_get(a,
			    "annotations")));
			changed = 1;
			/* An update is carried by the next resend. */
			if (n->kind == POLICY_NOTE_UPDATE) {
				json_object_put(a);
				free(group);
				continue;
			}
		} else {
			json_object_array_add(am.firing, json_object_get(a));
			changed = 1;
		}
		json_object_array_add(out, a);
		free(group);
	}
	if (changed)
		am_save();
	if (json_object_array_length(out) == 0) {
		json_object_put(out);
		return (NULL);
	}
	return (out);
}

/* ------------------------------------------------------------------ */
/* The sink */

static void
am_request(const struct sink_target *t, const struct outbox_entry *e,
    struct sink_request *rq)
{
	struct json_object	*m, *alerts = NULL;

	if ((m = json_tokener_parse(e->message)) != NULL)
		json_object_object_get_ex(m, "alerts", &alerts);
	rq->body = xstrdup(alerts != NULL ? json_object_to_json_string_ext(
	    alerts, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE) :
	    "[]");
	if (m != NULL)
		json_object_put(m);
	xasprintf(&rq->url, "%s%s", t->url, ALERTMANAGER_PATH);
	rq->logname = xstrdup(t->shown);
	rq->bearer = NULL;
}

/* The first line of Alertmanager's answer, for the error. */
static void
am_error(struct sink_answer *a, const struct http_result *r)
{
	char	body[80];
	size_t	i;

	snprintf(body, sizeof body, "%s", r->body != NULL ? r->body : "");
	for (i = 0; body[i] != '\0'; i++) {
		if (body[i] == '\n' || body[i] == '\r') {
			body[i] = '\0';
			break;
		}
	}
	snprintf(a->error, sizeof a->error, "http %ld%s%s", r->status,
	    body[0] != '\0' ? ": " : "", body);
}

static void
am_classify(const struct sink_target *t, const struct http_result *r,
    struct sink_answer *a)
{
	memset(a, 0, sizeof *a);
	if (r->status == 0) {
		a->verdict = SINK_TRANSIENT;
		snprintf(a->error, sizeof a->error, "%s", r->timed_out ?
		    "timed out" : r->error != NULL && r->error[0] != '\0' ?
		    r->error : "no answer");
		return;
	}
	if (r->status >= 200 && r->status < 300) {
		a->verdict = SINK_OK;
		return;
	}
	am_error(a, r);
	if (r->status == 429)
		a->verdict = SINK_RATELIMITED;
	else if (r->status >= 500 || r->status == 408)
		a->verdict = SINK_TRANSIENT;
	else {
		/* 400: an alert it refuses; 404: not an Alertmanager v2. */
		a->verdict = SINK_PERMANENT;
		a->unknown = r->status != 400;
	}
}

static char *
am_key(const struct sink_target *t)
{
	char	*key;

	xasprintf(&key, "alertmanager %s", t->url);
	return (key);
}

const struct sink sink_alertmanager = {
	.name = SINK_AM_NAME,
	.request = am_request,
	.classify = am_classify,
	.key = am_key,
};

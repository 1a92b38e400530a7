/*
 * Prometheus metrics: GET /metrics on metrics.listen (loopback unless
 * metrics.allow_remote), in the text exposition format 0.0.4, served by
 * libevent's evhttp on svrelayd's event_base.  Off by default.
 *
 * Nothing is counted twice: each scrape turns the object `svrelayctl
 * status` shows (control_status, passed in by main: server, spool,
 * hand-off, delivery and policy counters) into metric families, so the
 * two always agree.
 * Names start with svrelay_; counters end in _total; every family has
 * its HELP and TYPE lines.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "conf.h"
#include "delivery.h"
#include "log.h"
#include "policy.h"
#include "xmalloc.h"

#define METRICS_TIMEOUT_SEC	10
#define METRICS_CONTENT_TYPE	"text/plain; version=0.0.4; charset=utf-8"

static struct {
	struct event_base	*base;
	struct evhttp		*http;
	char			*listen;	/* as bound */
	struct json_object	*(*status)(void);
} mx;

/* ------------------------------------------------------------------ */
/* The exposition */

/* A member of o (an object or nested objects: "a.b"), or NULL. */
static struct json_object *
metrics_get(struct json_object *o, const char *path)
{
	char	 key[64];
	const char *dot;
	size_t	 len;

	while (o != NULL && (dot = strchr(path, '.')) != NULL) {
		len = dot - path;
		if (len >= sizeof key)
			return (NULL);
		memcpy(key, path, len);
		key[len] = '\0';
		if (!json_object_object_get_ex(o, key, &o))
			return (NULL);
		path = dot + 1;
	}
	if (o == NULL || !json_object_object_get_ex(o, path, &o))
		return (NULL);
	return (o);
}

static double
metrics_num(struct json_object *o, const char *path)
{
	struct json_object	*v;

	if ((v = metrics_get(o, path)) == NULL)
		return (0);
	return (json_object_get_double(v));
}

/* Seconds since the epoch of an RFC 3339 UTC time; 0 if none. */
static double
metrics_time(struct json_object *o, const char *path)
{
	struct json_object	*v;
	struct tm		 tm;
	int			 ms = 0;
	const char		*s;

	if ((v = metrics_get(o, path)) == NULL ||
	    !json_object_is_type(v, json_type_string))
		return (0);
	s = json_object_get_string(v);
	memset(&tm, 0, sizeof tm);
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms) < 6)
		return (0);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return ((double)timegm(&tm) + ms / 1000.0);
}

static void
metrics_family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* A label value, escaped as the format says (\\, \", \n). */
static void
metrics_escape(struct evbuffer *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\')
			evbuffer_add(b, "\\\\", 2);
		else if (*v == '"')
			evbuffer_add(b, "\\\"", 2);
		else if (*v == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, v, 1);
	}
}

/* One sample; labels: NULL, or name/value pairs ending with NULL. */
static void
metrics_sample(struct evbuffer *b, const char *name, const char **labels,
    double v)
{
	size_t	i;

	evbuffer_add_printf(b, "%s", name);
	if (labels != NULL && labels[0] != NULL) {
		evbuffer_add(b, "{", 1);
		for (i = 0; labels[i] != NULL; i += 2) {
			evbuffer_add_printf(b, "%s%s=\"", i > 0 ? "," : "",
			    labels[i]);
			metrics_escape(b, labels[i + 1]);
			evbuffer_add(b, "\"", 1);
		}
		evbuffer_add(b, "}", 1);
	}
	if (v == (double)(int64_t)v && v < 9e15 && v > -9e15)
		evbuffer_add_printf(b, " %lld\n", (long long)v);
	else
		evbuffer_add_printf(b, " %.3f\n", v);
}

/* A family with one sample taken from the status object. */
static void
metrics_one(struct evbuffer *b, struct json_object *st, const char *name,
    const char *type, const char *help, const char *path)
{
	metrics_family(b, name, type, help);
	metrics_sample(b, name, NULL, metrics_num(st, path));
}

void
metrics_text(struct json_object *st, struct evbuffer *b)
{
	static const char	*sinks[] = { "slack", "alertmanager", NULL };
	static const char	*outcomes[][2] = {
		{ "queued", "queued_total" }, { "sent", "sent" },
		{ "failed", "failed" }, { "dead", "dead" }, { NULL, NULL }
	};
	const char		*l[5];
	char			 path[128];
	int			 i, j;

	metrics_family(b, "svrelay_start_time_seconds", "gauge",
	    "Start time of svrelayd since the Unix epoch in seconds.");
	metrics_sample(b, "svrelay_start_time_seconds", NULL,
	    metrics_time(st, "started"));
	metrics_one(b, st, "svrelay_events_accepted_total", "counter",
	    "Events stored in the spool for the first time (socket and "
	    "hand-off).", "events_accepted");
	metrics_one(b, st, "svrelay_events_duplicate_total", "counter",
	    "Events received again and not stored twice.", "duplicates");
	metrics_one(b, st, "svrelay_lines_refused_total", "counter",
	    "Lines refused on the socket: not an event svrelayd can store.",
	    "refused_lines");
	metrics_one(b, st, "svrelay_lines_too_long_total", "counter",
	    "Lines refused for being longer than relayd.max_line.",
	    "long_lines");
	metrics_one(b, st, "svrelay_spool_write_failures_total", "counter",
	    "Events whose spool write failed (told to try again).",
	    "write_failures");
	metrics_one(b, st, "svrelay_spool_bytes", "gauge",
	    "Size of the spool's events.jsonl in bytes.", "spool_bytes");
	metrics_one(b, st, "svrelay_handoff_imported_total", "counter",
	    "Events imported from the hand-off directory: written there by "
	    "a listener that could not reach svrelayd (listener fallbacks).",
	    "handoff_imported");
	metrics_one(b, st, "svrelay_handoff_duplicates_total", "counter",
	    "Events in the hand-off directory that were already stored.",
	    "handoff_duplicates");
	metrics_one(b, st, "svrelay_handoff_bad_total", "counter",
	    "Hand-off files moved aside to bad/.", "handoff_bad");
	metrics_one(b, st, "svrelay_connections", "gauge",
	    "Open connections on svrelayd's socket.", "connections");
	metrics_one(b, st, "svrelay_connections_total", "counter",
	    "Connections accepted on svrelayd's socket.", "connections_total");
	metrics_one(b, st, "svrelay_peers_refused_total", "counter",
	    "Connections refused: a peer not allowed, or too many.",
	    "refused_peers");

	metrics_family(b, "svrelay_notifications_total", "counter",
	    "Notifications by sink and outcome: queued, sent, failed (a try "
	    "to be retried) and dead (given up on: dead.jsonl).");
	for (i = 0; sinks[i] != NULL; i++) {
		for (j = 0; outcomes[j][0] != NULL; j++) {
			l[0] = "sink";
			l[1] = sinks[i];
			l[2] = "outcome";
			l[3] = outcomes[j][0];
			l[4] = NULL;
			snprintf(path, sizeof path, "delivery.sinks.%s.%s",
			    sinks[i], outcomes[j][1]);
			metrics_sample(b, "svrelay_notifications_total", l,
			    metrics_num(st, path));
		}
	}
	metrics_family(b, "svrelay_notifications_queued", "gauge",
	    "Notifications waiting to be sent, by sink (the queue depth).");
	for (i = 0; sinks[i] != NULL; i++) {
		l[0] = "sink";
		l[1] = sinks[i];
		l[2] = NULL;
		snprintf(path, sizeof path, "delivery.sinks.%s.queued",
		    sinks[i]);
		metrics_sample(b, "svrelay_notifications_queued", l,
		    metrics_num(st, path));
	}
	metrics_one(b, st, "svrelay_delivery_retries_total", "counter",
	    "Delivery tries that failed and are retried.", "delivery.retries");
	metrics_one(b, st, "svrelay_dead_letters", "gauge",
	    "Notifications in dead.jsonl (svrelayctl dead).",
	    "delivery.dead_letters");
	metrics_family(b, "svrelay_last_delivery_timestamp_seconds", "gauge",
	    "When a notification was last delivered, since the Unix epoch in "
	    "seconds; 0 if none was since the start.");
	metrics_sample(b, "svrelay_last_delivery_timestamp_seconds", NULL,
	    metrics_time(st, "delivery.last_sent"));
	metrics_one(b, st, "svrelay_alerts_firing", "gauge",
	    "Alerts firing in Alertmanager for this svrelayd.",
	    "delivery.sinks.alertmanager.firing");
	metrics_one(b, st, "svrelay_policy_notes_total", "counter",
	    "Notes the notification policy made.", "policy.notes");

	metrics_family(b, "svrelay_processes", "gauge",
	    "Processes svrelayd tracks, by supervisord state.");
	for (i = 0; i < POLICY_NSTATES; i++) {
		l[0] = "state";
		l[1] = policy_state_name(i);
		l[2] = NULL;
		snprintf(path, sizeof path, "policy.states.%s",
		    policy_state_name(i));
		metrics_sample(b, "svrelay_processes", l,
		    metrics_num(st, path));
	}
	metrics_one(b, st, "svrelay_processes_flapping", "gauge",
	    "Processes flapping now.", "policy.flapping");
}

/* ------------------------------------------------------------------ */
/* The server */

static void
metrics_request(struct evhttp_request *req, void *arg)
{
	struct evbuffer		*b;
	struct json_object	*st;
	const char		*path;

	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, "try /metrics");
		return;
	}
	if ((b = evbuffer_new()) == NULL)
		fatalx("evbuffer_new");
	st = mx.status();
	metrics_text(st, b);
	json_object_put(st);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", METRICS_CONTENT_TYPE);
	evhttp_send_reply(req, HTTP_OK, "OK", b);
	evbuffer_free(b);
}

/* Split "ADDRESS:PORT" ("[::1]:9187" too); conf.c checked it. */
static int
metrics_split(const char *listen, char **addr, unsigned short *port)
{
	const char	*colon;
	size_t		 len;

	if ((colon = strrchr(listen, ':')) == NULL)
		return (-1);
	len = colon - listen;
	if (len >= 2 && listen[0] == '[' && listen[len - 1] == ']') {
		listen++;
		len -= 2;
	}
	*addr = xstrndup(listen, len);
	*port = (unsigned short)strtol(colon + 1, NULL, 10);
	return (0);
}

static struct evhttp *
metrics_bind(const char *listen)
{
	struct evhttp	*http;
	char		*addr;
	unsigned short	 port;

	if (metrics_split(listen, &addr, &port) == -1) {
		log_warnx("metrics: bad metrics.listen %s", listen);
		return (NULL);
	}
	if ((http = evhttp_new(mx.base)) == NULL)
		fatalx("evhttp_new");
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_timeout(http, METRICS_TIMEOUT_SEC);
	evhttp_set_max_headers_size(http, 16 * 1024);
	evhttp_set_max_body_size(http, 0);
	evhttp_set_gencb(http, metrics_request, NULL);
	if (evhttp_bind_socket(http, addr, port) == -1) {
		log_warn("metrics: cannot listen on %s", listen);
		evhttp_free(http);
		free(addr);
		return (NULL);
	}
	free(addr);
	log_info("metrics: serving http://%s/metrics", listen);
	return (http);
}

int
metrics_init(struct event_base *base, const struct conf *conf,
    struct json_object *(*status)(void))
{
	mx.base = base;
	mx.status = status;
	if (conf->metrics_listen == NULL)
		return (0);
	if ((mx.http = metrics_bind(conf->metrics_listen)) == NULL)
		return (-1);
	mx.listen = xstrdup(conf->metrics_listen);
	return (0);
}

void
metrics_reconf(const struct conf *conf)
{
	struct evhttp	*http;

	if (conf->metrics_listen != NULL && mx.listen != NULL &&
	    strcmp(conf->metrics_listen, mx.listen) == 0)
		return;
	if (conf->metrics_listen == NULL) {
		if (mx.http != NULL)
			log_info("metrics: no longer served");
		metrics_free();
		return;
	}
	/* The old one goes first: the new address may be the same port. */
	metrics_free();
	if ((http = metrics_bind(conf->metrics_listen)) == NULL)
		return;
	mx.http = http;
	mx.listen = xstrdup(conf->metrics_listen);
}

void
metrics_free(void)
{
	if (mx.http != NULL)
		evhttp_free(mx.http);
	mx.http = NULL;
	free(mx.listen);
	mx.listen = NULL;
}

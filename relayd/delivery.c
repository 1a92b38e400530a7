/*
 * The delivery engine behind delivery.h.  Each notification is durably
 * queued in the outbox, then goes through its destination's queue:
 *
 *   QUEUED ─▶ IN_FLIGHT ─▶ SENT
 *      ▲          │  └───▶ DEAD     (permanent error: dead.jsonl)
 *      │          ▼
 *      └──── WAITING                (429, 5xx, timeout: backoff)
 *
 * A destination (a channel through the Web API, or a webhook) sends one
 * message at a time, in order, paced by a token bucket; a 429 or a retry
 * holds everything queued behind it.  Timers run only while there is work.
 *
 * What is sent is what the notification policy (policy.h) says: every
 * stored event is fed to it, a timer runs it at its next deadline, and
 * each note it makes is rendered (slack.c) and queued under the note's own
 * id, which is stable: a note made again after a restart is found in the
 * outbox and not queued twice.  The policy's state is saved to
 * spool_dir/policy.json; at start it is loaded and the events stored after
 * the last one it saw are fed again from the spool.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "conf.h"
#include "delivery.h"
#include "delivery_int.h"
#include "log.h"
#include "policy.h"
#include "sink.h"
#include "svevent.h"
#include "xmalloc.h"

/* The longest Retry-After honoured, and the shortest 429 wait. */
#define DELIVERY_MAX_RETRY_AFTER	3600
#define DELIVERY_MIN_RATELIMIT_MS	1000
/* The most dead letters "dead" lists. */
#define DELIVERY_DEAD_LIST		100
/* The most of Slack's answer body a test reply shows. */
#define DELIVERY_TEST_BODY		2000

enum notif_state {
	N_QUEUED,
	N_IN_FLIGHT,
	N_WAITING,
	N_SENT,
	N_DEAD
};

static const char *notif_states[] = {
	[N_QUEUED] = "queued",
	[N_IN_FLIGHT] = "in flight",
	[N_WAITING] = "waiting",
	[N_SENT] = "sent",
	[N_DEAD] = "dead",
};

struct dest;

/* Someone waiting for Slack's first answer to a notification (test). */
struct waiter {
	void	(*done)(void *, struct json_object *);
	void	 *arg;
};

struct notif {
	struct outbox_entry	*e;
	enum notif_state	 state;
	int			 attempts;	/* answers so far */
	int			 resend;	/* firing alerts again: no outbox */
	struct dest		*dest;
	struct http_req		*req;
	struct waiter		*waiter;
	TAILQ_ENTRY(notif)	 entry;
};
TAILQ_HEAD(notif_q, notif);

struct dest {
	struct sink_target	 t;	/* its sink, key, URL, timeouts */
	struct notif_q		 queue;
	size_t			 nqueued;
	struct notif		*inflight;
	struct pace_bucket	 bucket;
	struct event		*timer;
	int			 routed;	/* a route of this config */
	int			 configured;	/* alertmanager.urls has it */
	int64_t			 hold_until;	/* monotonic ms */
	char			 lasterr[128];	/* permanent error last logged */
	TAILQ_ENTRY(dest)	 entry;
};
TAILQ_HEAD(dest_list, dest);

/* Notifications of one sink, by outcome, for status and metrics. */
struct sink_stats {
	uint64_t	queued;
	uint64_t	sent;
	uint64_t	failed;		/* attempts to be retried */
	uint64_t	dead;
};

static struct {
	struct event_base	*base;
	int			 running;
	char			*host;
	int			 connect_timeout_ms;
	int			 timeout_ms;
	int			 retry_min_ms;
	int			 retry_max_ms;
	int			 rate_per_minute;
	int			 burst;

	struct dest_list	 dests;
	struct dest		*cur;		/* route "": the default */
	struct notif_q		 orphans;	/* queued with no destination */

	/* What routes need: the token and the routes' webhooks. */
	char			*token;
	char			*api_url;
	char			**route_urls;	/* NULL for a channel route */
	size_t			 nroutes;
	struct json_object	*warned;	/* fallbacks already logged */

	/* The notification policy. */
	struct policy		*policy;
	struct event		*policy_timer;	/* at its next deadline */
	struct event		*save_timer;	/* only while dirty */
	int			 dirty;
	char			*policy_path;
	char			*spool_dir;
	char			*last_event;	/* id of the last event fed */
	char			*last_evtime;	/* and its time */
	int64_t			 fed_ms;	/* the clock it was fed at */
	char			*since;		/* when the policy began */
	int			 save_failing;
	uint64_t		 notes;
	uint64_t		 notes_again;	/* already in the outbox */
	uint64_t		 notes_dropped;	/* updates for a webhook */

	uint64_t		 sent;
	uint64_t		 failed;
	uint64_t		 retries;
	struct sink_stats	 stats[2];	/* Slack, Alertmanager */
	int64_t			 last_sent_ms;	/* Unix ms; 0: never */

	/* Alertmanager: its settings, and the resend of what fires. */
	int			 am_connect_timeout_ms;
	int			 am_timeout_ms;
	int			 am_retry_min_ms;
	int			 am_retry_max_ms;
	int64_t			 am_resend_ms;
	int64_t			 am_resolve_ms;
	int			 am_open;
	struct event		*am_timer;	/* only while alerts fire */
	char			 last_time[40];
	char			 last_result[32];
	long			 last_status;
	char			 last_error[160];
} dl;

static void	dest_kick(struct dest *);

static struct sink_stats *
delivery_stats(const struct dest *d)
{
	return (&dl.stats[d->t.sink == &sink_alertmanager]);
}

static void
dest_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	dest_kick(arg);
}

static void
notif_set_state(struct notif *n, enum notif_state s)
{
	if (n->state != s)
		log_debug("notification %s: %s -> %s", n->e->id,
		    notif_states[n->state], notif_states[s]);
	n->state = s;
}

static void
delivery_now(char *buf, size_t len)
{
	struct timespec	ts;
	struct tm	tm;
	size_t		n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)(ts.tv_nsec / 1000000));
}

/* ------------------------------------------------------------------ */
/* Destinations */

/*
 * A webhook as shown: label, its scheme, host and port, never its path
 * ("webhook:2 https://hooks.slack.com/…").
 */
static char *
dest_webhook_shown(const char *url, const char *label)
{
	CURLU	*u;
	char	*scheme = NULL, *host = NULL, *port = NULL, *s;

	if ((u = curl_url()) == NULL)
		fatalx("curl_url");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		s = xstrdup(label);
	else {
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		xasprintf(&s, "%s %s://%s%s%s/…", label, scheme, host,
		    port != NULL ? ":" : "", port != NULL ? port : "");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return (s);
}

/* The key of a Slack destination: what makes two the same place. */
static char *
dest_key(enum slack_mode mode, const char *url, const char *channel)
{
	struct sink_target	t;

	memset(&t, 0, sizeof t);
	t.mode = mode;
	t.url = (char *)url;
	t.channel = (char *)channel;
	return (sink_slack.key(&t));
}

/* A target's timeouts and backoff: its sink's settings in conf. */
static void
dest_settings(struct dest *d)
{
	if (d->t.sink == &sink_alertmanager) {
		d->t.connect_ms = dl.am_connect_timeout_ms;
		d->t.total_ms = dl.am_timeout_ms;
		d->t.retry_min_ms = dl.am_retry_min_ms;
		d->t.retry_max_ms = dl.am_retry_max_ms;
	} else {
		d->t.connect_ms = dl.connect_timeout_ms;
		d->t.total_ms = dl.timeout_ms;
		d->t.retry_min_ms = dl.retry_min_ms;
		d->t.retry_max_ms = dl.retry_max_ms;
	}
}

/* A new destination (not on dl.dests yet). */
static struct dest *
dest_make(enum slack_mode mode, const char *url, const char *token,
    const char *channel, const char *label)
{
	struct dest	*d;

	d = xcalloc(1, sizeof *d);
	TAILQ_INIT(&d->queue);
	d->t.sink = &sink_slack;
	d->t.mode = mode;
	d->t.url = xstrdup(url);
	d->t.key = dest_key(mode, url, channel);
	dest_settings(d);
	if (mode == SLACK_WEBHOOK)
		d->t.shown = dest_webhook_shown(url, label);
	else {
		d->t.token = xstrdup(token);
		d->t.channel = xstrdup(channel);
		d->t.shown = xstrdup(channel);
	}
	pace_init(&d->bucket, dl.rate_per_minute, dl.burst, pace_now_ms());
	if ((d->timer = evtimer_new(dl.base, dest_timer_cb, d)) == NULL)
		fatalx("evtimer_new");
	return (d);
}

/* The default destination conf names, as a new struct (NULL if none). */
static struct dest *
dest_new(const struct conf_slack *s)
{
	if (s->webhook_url != NULL)
		return (dest_make(SLACK_WEBHOOK, s->webhook_url, NULL, NULL,
		    "webhook"));
	if (s->token != NULL)
		return (dest_make(SLACK_API, s->api_url, s->token,
		    s->channel != NULL ? s->channel : "", NULL));
	return (NULL);
}

/* The destination of an Alertmanager URL (not on dl.dests yet). */
static struct dest *
dest_am(const char *url)
{
	struct dest	*d;

	d = xcalloc(1, sizeof *d);
	TAILQ_INIT(&d->queue);
	d->t.sink = &sink_alertmanager;
	d->t.url = xstrdup(url);
	d->t.key = sink_alertmanager.key(&d->t);
	d->t.shown = dest_webhook_shown(url, SINK_AM_NAME);
	dest_settings(d);
	/* Alertmanager takes batches: no pacing, only backoff. */
	pace_init(&d->bucket, 0, 0, pace_now_ms());
	if ((d->timer = evtimer_new(dl.base, dest_timer_cb, d)) == NULL)
		fatalx("evtimer_new");
	return (d);
}

/* The destination of Alertmanager URL url, made if need be. */
static struct dest *
dest_am_find(const char *url)
{
	struct dest	*d;
	char		*key;
	struct sink_target t;

	memset(&t, 0, sizeof t);
	t.url = (char *)url;
	key = sink_alertmanager.key(&t);
	TAILQ_FOREACH(d, &dl.dests, entry) {
		if (strcmp(d->t.key, key) == 0)
			break;
	}
	free(key);
	if (d == NULL) {
		d = dest_am(url);
		TAILQ_INSERT_TAIL(&dl.dests, d, entry);
	}
	return (d);
}

static void
dest_free(struct dest *d)
{
	if (d->t.token != NULL)
		explicit_bzero(d->t.token, strlen(d->t.token));
	free(d->t.token);
	free(d->t.key);
	free(d->t.shown);
	free(d->t.url);
	free(d->t.channel);
	event_free(d->timer);
	free(d);
}

/* Scrub every destination's secrets from libcurl's messages. */
static void
dest_secrets(void)
{
	struct dest	*d;
	const char	*p;

	http_secrets_clear();
	TAILQ_FOREACH(d, &dl.dests, entry) {
		http_secret(d->t.token);
		if (d->t.mode == SLACK_WEBHOOK) {
			http_secret(d->t.url);
			if ((p = strstr(d->t.url, "://")) != NULL &&
			    (p = strchr(p + 3, '/')) != NULL && p[1] != '\0')
				http_secret(p);
		}
	}
}

/* An old destination goes once it has nothing left to send. */
static int
dest_reap(struct dest *d)
{
	if (d == dl.cur || d->routed || d->configured ||
	    !TAILQ_EMPTY(&d->queue) ||
	    d->inflight != NULL)
		return (0);
	TAILQ_REMOVE(&dl.dests, d, entry);
	dest_free(d);
	dest_secrets();
	return (1);
}

static void
dest_timer(struct dest *d, int64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(d->timer, &tv);
}

/* Say once per route (until a reload) why its notes go elsewhere. */
static void
route_warn(const char *route, const char *why)
{
	if (dl.warned == NULL)
		dl.warned = json_object_new_object();
	if (json_object_object_get_ex(dl.warned, route, NULL))
		return;
	json_object_object_add(dl.warned, route, NULL);
	log_warnx("notify route %s: %s: its notifications go to the default "
	    "destination", route, why);
}

/*
 * The destination of a policy route: "" is the default, "webhook:N" the
 * Nth notify.routes rule's webhook, anything else a channel through the
 * Web API.  NULL if there is no destination at all.
 */
static struct dest *
dest_route(const char *route)
{
	struct dest	*d;
	const char	*url, *channel = NULL;
	enum slack_mode	 mode;
	char		*key, *end;
	long long	 n;

	if (route == NULL || route[0] == '\0')
		return (dl.cur);
	if (strncmp(route, "webhook:", 8) == 0) {
		n = strtoll(route + 8, &end, 10);
		if (end == route + 8 || *end != '\0' || n < 1 ||
		    n > (long long)dl.nroutes || dl.route_urls[n - 1] == NULL) {
			route_warn(route, "no such webhook rule in "
			    "notify.routes");
			return (dl.cur);
		}
		mode = SLACK_WEBHOOK;
		url = dl.route_urls[n - 1];
	} else {
		if (dl.token == NULL) {
			route_warn(route, "a channel route needs slack.token");
			return (dl.cur);
		}
		mode = SLACK_API;
		url = dl.api_url;
		channel = route;
	}
	key = dest_key(mode, url, channel);
	TAILQ_FOREACH(d, &dl.dests, entry) {
		if (strcmp(d->t.key, key) == 0)
			break;
	}
	free(key);
	if (d == NULL) {
		d = dest_make(mode, url, dl.token, channel, route);
		TAILQ_INSERT_TAIL(&dl.dests, d, entry);
		dest_secrets();
		log_info("slack: notifications routed to %s go to %s", route,
		    d->t.shown);
	}
	d->routed = 1;
	return (d);
}

/* Where an entry of the outbox goes: its sink's destination. */
static struct dest *
dest_for(const struct outbox_entry *e)
{
	const struct sink	*sk;

	if ((sk = sink_find(e->sink)) == NULL)
		return (NULL);
	if (sk == &sink_alertmanager)
		return (e->route != NULL ? dest_am_find(e->route) : NULL);
	return (dest_route(e->route));
}

/* The routes of conf: the token, the API and each rule's webhook. */
static void
delivery_routes(const struct conf *conf)
{
	struct dest	*d;
	size_t		 i;

	if (dl.token != NULL)
		explicit_bzero(dl.token, strlen(dl.token));
	free(dl.token);
	free(dl.api_url);
	for (i = 0; i < dl.nroutes; i++) {
		if (dl.route_urls[i] != NULL)
			explicit_bzero(dl.route_urls[i],
			    strlen(dl.route_urls[i]));
		free(dl.route_urls[i]);
	}
	free(dl.route_urls);
	dl.token = conf->slack.token != NULL ? xstrdup(conf->slack.token) :
	    NULL;
	dl.api_url = xstrdup(conf->slack.api_url != NULL ?
	    conf->slack.api_url : CONF_DEFAULT_API_URL);
	dl.nroutes = conf->notify.nroutes;
	dl.route_urls = xcalloc(dl.nroutes + 1, sizeof *dl.route_urls);
	for (i = 0; i < dl.nroutes; i++) {
		if (conf->notify.routes[i].webhook_url != NULL)
			dl.route_urls[i] =
			    xstrdup(conf->notify.routes[i].webhook_url);
	}
	if (dl.warned != NULL)
		json_object_put(dl.warned);
	dl.warned = NULL;
	/* Found again by the next note routed there. */
	TAILQ_FOREACH(d, &dl.dests, entry)
		d->routed = 0;
}

/* ------------------------------------------------------------------ */
/* Notifications */

static struct notif *
notif_new(struct outbox_entry *e)
{
	struct notif	*n;

	n = xcalloc(1, sizeof *n);
	n->e = e;
	n->state = N_QUEUED;
	return (n);
}

static void
notif_free(struct notif *n)
{
	outbox_entry_free(n->e);
	free(n->waiter);
	free(n);
}

static void
notif_attach(struct notif *n, struct dest *d)
{
	n->dest = d;
	free(n->e->dest);
	n->e->dest = xstrdup(d->t.shown);
	TAILQ_INSERT_TAIL(&d->queue, n, entry);
	d->nqueued++;
}

static void
notif_detach(struct notif *n)
{
	TAILQ_REMOVE(&n->dest->queue, n, entry);
	n->dest->nqueued--;
}

/* Everything still queued, for the outbox's compaction. */
static void
delivery_compact(void)
{
	const struct outbox_entry	**v;
	struct dest			 *d;
	struct notif			 *n;
	size_t				  len = 0, i = 0;

	if (!outbox_needs_compact())
		return;
	TAILQ_FOREACH(d, &dl.dests, entry)
		len += d->nqueued;
	TAILQ_FOREACH(n, &dl.orphans, entry)
		len++;
	v = xreallocarray(NULL, len + 1, sizeof *v);
	TAILQ_FOREACH(n, &dl.orphans, entry)
		v[i++] = n->e;
	TAILQ_FOREACH(d, &dl.dests, entry) {
		TAILQ_FOREACH(n, &d->queue, entry) {
			/* alerts.json holds what a resend carries. */
			if (!n->resend)
				v[i++] = n->e;
		}
	}
	outbox_compact(v, i);
	free(v);
}

/*
 * Tell a test's waiter what Slack said; it is told once.  svrelayctl shows
 * "message" (or "error") as is: it says what Slack answered, then what
 * svrelayd does about it.
 */
static void
notif_answer(struct notif *n, const char *result,
    const struct http_result *r, const char *error)
{
	struct json_object	*o;
	char			*body = NULL, *said, *msg;
	const char		*what;
	int			 ok = strcmp(result, "sent") == 0;

	if (n->waiter == NULL)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "result", json_object_new_string(result));
	json_object_object_add(o, "id", json_object_new_string(n->e->id));
	json_object_object_add(o, "destination",
	    json_object_new_string(n->dest != NULL ? n->dest->t.shown : ""));
	if (r != NULL) {
		body = slack_truncate(r->body != NULL ? r->body : "",
		    DELIVERY_TEST_BODY);
		http_scrub(body, strlen(body) + 1);
		json_object_object_add(o, "http_status",
		    json_object_new_int64(r->status));
		json_object_object_add(o, "body",
		    json_object_new_string(body));
		if (r->status != 0)
			xasprintf(&said, "Slack answered HTTP %ld: %s",
			    r->status, body);
		else
			xasprintf(&said, "no answer from Slack (%s)", error);
	} else
		said = xstrdup("no answer from Slack yet");
	if (ok)
		what = "sent";
	else if (strcmp(result, "dead") == 0)
		what = "a permanent error: the message is a dead letter "
		    "(svrelayctl dead)";
	else if (strcmp(result, "rate-limited") == 0)
		what = "rate limited: svrelayd waits as told, then retries";
	else if (strcmp(result, "retrying") == 0)
		what = "a temporary error: svrelayd retries";
	else
		what = error;
	xasprintf(&msg, "%s — %s", said, what);
	json_object_object_add(o, ok ? "message" : "error",
	    json_object_new_string(msg));
	if (!ok && error != NULL && error[0] != '\0')
		json_object_object_add(o, "slack_error",
		    json_object_new_string(error));
	n->waiter->done(n->waiter->arg, o);
	free(n->waiter);
	n->waiter = NULL;
	free(msg);
	free(said);
	free(body);
}

static void	delivery_answer(const struct http_result *, void *);

/* Send n, the head of its destination's queue, as its sink says. */
static void
notif_send(struct notif *n)
{
	struct dest		*d = n->dest;
	struct sink_request	 rq;

	memset(&rq, 0, sizeof rq);
	d->t.sink->request(&d->t, n->e, &rq);
	notif_set_state(n, N_IN_FLIGHT);
	d->inflight = n;
	n->req = http_post(rq.url, rq.bearer, rq.body, strlen(rq.body),
	    d->t.connect_ms, d->t.total_ms, rq.logname, delivery_answer, n);
	sink_request_clear(&rq);
	if (n->req == NULL) {
		/* Could not even start: a retry later. */
		d->inflight = NULL;
		n->attempts++;
		dl.retries++;
		delivery_stats(d)->failed++;
		d->hold_until = pace_now_ms() + pace_backoff(n->attempts,
		    d->t.retry_min_ms, d->t.retry_max_ms);
		notif_set_state(n, N_WAITING);
		dest_kick(d);
	}
}

/* Send the next message of d if it may go now, or set a timer for when. */
static void
dest_kick(struct dest *d)
{
	int64_t	now, wait;

	if (!dl.running || d->inflight != NULL || TAILQ_EMPTY(&d->queue))
		return;
	evtimer_del(d->timer);
	now = pace_now_ms();
	if (now < d->hold_until) {
		dest_timer(d, d->hold_until - now);
		return;
	}
	if ((wait = pace_take(&d->bucket, now)) > 0) {
		dest_timer(d, wait);
		return;
	}
	notif_send(TAILQ_FIRST(&d->queue));
}

static void
delivery_record(const char *result, long status, const char *error)
{
	delivery_now(dl.last_time, sizeof dl.last_time);
	snprintf(dl.last_result, sizeof dl.last_result, "%s", result);
	dl.last_status = status;
	if (error != NULL && error[0] != '\0')
		snprintf(dl.last_error, sizeof dl.last_error, "%s", error);
}

/* The sink answered (or did not): what now for n and its destination. */
static void
delivery_answer(const struct http_result *r, void *arg)
{
	struct notif		*n = arg;
	struct dest		*d = n->dest;
	struct sink_answer	 a;
	const char		*sk = d->t.sink->name;
	int64_t			 wait;

	n->req = NULL;
	d->inflight = NULL;
	d->t.sink->classify(&d->t, r, &a);
	http_scrub(a.error, sizeof a.error);

	switch (a.verdict) {
	case SINK_OK:
		notif_set_state(n, N_SENT);
		delivery_record("sent", r->status, NULL);
		notif_answer(n, "sent", r, "");
		if (!n->resend && outbox_sent(n->e, r->status,
		    a.ts[0] ? a.ts : NULL, a.channel[0] ? a.channel : NULL) ==
		    -1)
			log_warnx("outbox: notification %s was sent but not "
			    "recorded: it may go out again after a restart",
			    n->e->id);
		if (d->lasterr[0] != '\0')
			log_info("%s: %s: delivering again", sk, d->t.shown);
		d->lasterr[0] = '\0';
		dl.sent++;
		delivery_stats(d)->sent++;
		dl.last_sent_ms = svevent_now_ms();
		if (n->resend)
			log_debug("%s: %s: firing alerts sent again", sk,
			    d->t.shown);
		else
			log_info("%s: %s: sent notification %s%s%s", sk,
			    d->t.shown, n->e->id, a.ts[0] ? " ts " : "", a.ts);
		notif_detach(n);
		notif_free(n);
		break;
	case SINK_RATELIMITED:
	case SINK_TRANSIENT:
		n->attempts++;
		dl.retries++;
		delivery_stats(d)->failed++;
		if (a.verdict == SINK_RATELIMITED) {
			if (r->retry_after > 0)
				wait = (int64_t)(r->retry_after >
				    DELIVERY_MAX_RETRY_AFTER ?
				    DELIVERY_MAX_RETRY_AFTER :
				    r->retry_after) * 1000;
			else
				wait = pace_backoff(n->attempts,
				    d->t.retry_min_ms, d->t.retry_max_ms);
			if (wait < DELIVERY_MIN_RATELIMIT_MS)
				wait = DELIVERY_MIN_RATELIMIT_MS;
			log_warnx("%s: %s: rate limited (%s): waiting %lld "
			    "ms before sending anything more", sk, d->t.shown,
			    a.error, (long long)wait);
			delivery_record("rate-limited", r->status, a.error);
			notif_answer(n, "rate-limited", r, a.error);
		} else {
			wait = pace_backoff(n->attempts, d->t.retry_min_ms,
			    d->t.retry_max_ms);
			log_warnx("%s: %s: notification %s: %s; retry %d "
			    "in %lld ms", sk, d->t.shown, n->e->id, a.error,
			    n->attempts, (long long)wait);
			delivery_record("retrying", r->status, a.error);
			notif_answer(n, "retrying", r, a.error);
		}
		d->hold_until = pace_now_ms() + wait;
		notif_set_state(n, N_WAITING);
		break;
	case SINK_PERMANENT:
		notif_set_state(n, N_DEAD);
		delivery_record("dead", r->status, a.error);
		notif_answer(n, "dead", r, a.error);
		if (n->resend) {
			/* What fires is sent again at the next round. */
			log_warnx("%s: %s: %s: the firing alerts were not "
			    "taken", sk, d->t.shown, a.error);
		} else {
			if (strcmp(d->lasterr, a.error) != 0) {
				log_warnx("%s: %s: %s%s: notification %s and "
				    "the next ones failing alike go to %s "
				    "(see svrelayctl dead)", sk, d->t.shown,
				    a.error, a.unknown ? " (an error svrelay "
				    "does not know: taken as permanent)" :
				    " (permanent)", n->e->id,
				    OUTBOX_DEAD_FILE);
				snprintf(d->lasterr, sizeof d->lasterr, "%s",
				    a.error);
			} else
				log_debug("%s: %s: %s: notification %s is a "
				    "dead letter", sk, d->t.shown, a.error,
				    n->e->id);
			if (outbox_failed(n->e, a.error) == -1)
				log_warnx("outbox: could not record dead "
				    "letter %s", n->e->id);
			dl.failed++;
			delivery_stats(d)->dead++;
		}
		notif_detach(n);
		notif_free(n);
		break;
	}
	delivery_compact();
	if (!dest_reap(d))
		dest_kick(d);
}

/*
 * Queue a message durably for d and start it on its way.  Takes e; w (may
 * be NULL) is told Slack's first answer.  Returns the notification.
 */
static struct notif *
delivery_queue(struct outbox_entry *e, struct waiter *w, struct dest *d)
{
	struct notif	*n;
	char		 now[40];

	if (e->id == NULL)
		e->id = outbox_newid();
	if (e->time == NULL) {
		delivery_now(now, sizeof now);
		e->time = xstrdup(now);
	}
	free(e->dest);
	e->dest = xstrdup(d->t.shown);
	if (outbox_queued(e) == -1)
		log_warnx("outbox: notification %s could not be queued "
		    "durably: sending it anyway", e->id);
	n = notif_new(e);
	n->waiter = w;
	notif_attach(n, d);
	delivery_stats(d)->queued++;
	log_debug("notification %s queued for %s: %s", e->id, d->t.shown,
	    e->text);
	dest_kick(d);
	return (n);
}

static struct outbox_entry *
delivery_entry(struct json_object *message, enum outbox_kind kind)
{
	struct outbox_entry	*e;
	struct json_object	*t;

	e = outbox_entry_new();
	e->kind = kind;
	if (json_object_object_get_ex(message, "text", &t) &&
	    json_object_is_type(t, json_type_string))
		e->text = xstrdup(json_object_get_string(t));
	else
		e->text = xstrdup("");
	e->message = xstrdup(json_object_to_json_string_ext(message,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	return (e);
}

/* ------------------------------------------------------------------ */
/* Alertmanager: every alert to every URL, and what fires sent again */

/* The entry that carries alerts (borrowed) to an Alertmanager. */
static struct outbox_entry *
delivery_am_entry(struct json_object *alerts, const char *text)
{
	struct outbox_entry	*e;
	struct json_object	*m;

	m = json_object_new_object();
	json_object_object_add(m, "alerts", json_object_get(alerts));
	e = outbox_entry_new();
	e->kind = OUTBOX_POST;
	e->sink = xstrdup(SINK_AM_NAME);
	e->text = xstrdup(text);
	e->message = xstrdup(json_object_to_json_string_ext(m,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(m);
	return (e);
}

/* Is there an Alertmanager to send to? */
static int
delivery_am_any(void)
{
	struct dest	*d;

	TAILQ_FOREACH(d, &dl.dests, entry) {
		if (d->configured)
			return (1);
	}
	return (0);
}

static void	delivery_am_arm(void);

/*
 * Send every firing alert again to each Alertmanager that has nothing
 * queued (what is queued goes anyway; the next round catches up), so
 * that Alertmanager does not resolve them by itself.  Not in the outbox:
 * alerts.json holds what fires.
 */
static void
delivery_am_resend(void)
{
	struct json_object	*alerts;
	struct outbox_entry	*e;
	struct notif		*n;
	struct dest		*d;
	char			*text;
	size_t			 nf;

	if (!dl.running || (alerts = alertmanager_firing()) == NULL) {
		delivery_am_arm();
		return;
	}
	nf = alertmanager_nfiring();
	xasprintf(&text, "%zu firing alert%s sent again", nf,
	    nf == 1 ? "" : "s");
	TAILQ_FOREACH(d, &dl.dests, entry) {
		if (!d->configured || d->inflight != NULL ||
		    !TAILQ_EMPTY(&d->queue))
			continue;
		e = delivery_am_entry(alerts, text);
		e->id = outbox_newid();
		e->route = xstrdup(d->t.url);
		e->dest = xstrdup(d->t.shown);
		n = notif_new(e);
		n->resend = 1;
		notif_attach(n, d);
		dest_kick(d);
	}
	free(text);
	json_object_put(alerts);
	delivery_am_arm();
}

static void
delivery_am_cb(evutil_socket_t fd, short what, void *arg)
{
	delivery_am_resend();
}

/* One timer for all firing alerts, and only while some fire. */
static void
delivery_am_arm(void)
{
	struct timeval	tv;

	if (dl.am_timer == NULL)
		return;
	if (!dl.running || alertmanager_nfiring() == 0 || !delivery_am_any()) {
		evtimer_del(dl.am_timer);
		return;
	}
	if (evtimer_pending(dl.am_timer, NULL))
		return;
	tv.tv_sec = dl.am_resend_ms / 1000;
	tv.tv_usec = (dl.am_resend_ms % 1000) * 1000;
	evtimer_add(dl.am_timer, &tv);
}

/*
 * The alerts of a note, queued for every Alertmanager: one outbox entry
 * per URL ("am:" and the note's id, then "/2", "/3" … for the others).  A
 * note already in the outbox (made again after a restart) changes
 * nothing.
 */
static void
delivery_alerts(const struct policy_note *n)
{
	struct json_object	*alerts;
	struct outbox_entry	*e;
	struct dest		*d;
	char			*id, *text;
	int			 i = 0;

	if (!dl.am_open || !delivery_am_any())
		return;
	xasprintf(&id, "am:%s", n->id);
	if (outbox_known(id)) {
		log_debug("alerts of note %s are already in the outbox", n->id);
		free(id);
		return;
	}
	if ((alerts = alertmanager_note(n, dl.host, dl.am_resolve_ms)) ==
	    NULL) {
		free(id);
		delivery_am_arm();
		return;
	}
	xasprintf(&text, "%zu alert%s: %s",
	    json_object_array_length(alerts),
	    json_object_array_length(alerts) == 1 ? "" : "s", n->text);
	TAILQ_FOREACH(d, &dl.dests, entry) {
		if (!d->configured)
			continue;
		e = delivery_am_entry(alerts, text);
		if (i++ == 0)
			e->id = xstrdup(id);
		else
			xasprintf(&e->id, "%s/%d", id, i);
		e->route = xstrdup(d->t.url);
		delivery_queue(e, NULL, d);
	}
	free(text);
	free(id);
	json_object_put(alerts);
	delivery_am_arm();
}

/* alertmanager.urls of conf, as the configured destinations. */
static void
delivery_am_urls(const struct conf *conf)
{
	struct dest	*d, *next;
	size_t		 i;

	TAILQ_FOREACH(d, &dl.dests, entry)
		d->configured = 0;
	for (i = 0; conf->alertmanager_urls[i] != NULL; i++) {
		d = dest_am_find(conf->alertmanager_urls[i]);
		if (!d->configured)
			log_info("alertmanager: alerts go to %s", d->t.shown);
		d->configured = 1;
	}
	for (d = TAILQ_FIRST(&dl.dests); d != NULL; d = next) {
		next = TAILQ_NEXT(d, entry);
		dest_settings(d);
		if (d->t.sink == &sink_alertmanager)
			dest_reap(d);
	}
}

/*
 * One note of the policy, on its way: a NEW note is posted, an UPDATE
 * edits update_key's message (chat.update; dropped on a webhook, which
 * cannot edit), a REPLY goes in thread_key's thread (plainly on a
 * webhook).  The note's id is the notification's: one already in the
 * outbox (made again after a restart) is not queued twice.
 */
static void
delivery_note(const struct policy_note *n)
{
	struct json_object	*msg;
	struct outbox_entry	*e;
	struct dest		*d;

	dl.notes++;
	delivery_alerts(n);
	if (outbox_known(n->id)) {
		dl.notes_again++;
		log_debug("notification %s is already in the outbox: not "
		    "queued again", n->id);
		return;
	}
	if ((d = dest_route(n->route)) == NULL) {
		log_debug("slack: no destination: not sent: %s", n->text);
		return;
	}
	if (n->kind == POLICY_NOTE_UPDATE && d->t.mode == SLACK_WEBHOOK) {
		dl.notes_dropped++;
		log_debug("slack: %s: a webhook cannot edit a message: update "
		    "%s dropped", d->t.shown, n->id);
		return;
	}
	msg = slack_note_message(n);
	e = delivery_entry(msg, n->kind == POLICY_NOTE_UPDATE ?
	    OUTBOX_UPDATE : OUTBOX_POST);
	json_object_put(msg);
	e->id = xstrdup(n->id);
	if (n->route[0] != '\0')
		e->route = xstrdup(n->route);
	if (n->kind == POLICY_NOTE_UPDATE && n->update_key[0] != '\0')
		e->update_of = xstrdup(n->update_key);
	if (n->kind == POLICY_NOTE_REPLY && n->thread_key[0] != '\0')
		e->thread_of = xstrdup(n->thread_key);
	delivery_queue(e, NULL, d);
}

/* ------------------------------------------------------------------ */
/* The policy: feeding, its timer, its saved state */

static void	delivery_save(void);

static void
delivery_save_cb(evutil_socket_t fd, short what, void *arg)
{
	delivery_save();
}

/* Save once DELIVERY_SAVE_MS from the first change not saved. */
static void
delivery_save_later(void)
{
	struct timeval	tv;

	if (dl.save_timer == NULL || evtimer_pending(dl.save_timer, NULL))
		return;
	tv.tv_sec = DELIVERY_SAVE_MS / 1000;
	tv.tv_usec = (DELIVERY_SAVE_MS % 1000) * 1000;
	evtimer_add(dl.save_timer, &tv);
}

/*
 * Write policy.json: the policy's state, the last event it was fed and
 * when the policy began (tmp, fsync, rename, fsync the directory).
 */
static void
delivery_save(void)
{
	struct json_object	*o;

	if (dl.policy == NULL)
		return;
	if (dl.save_timer != NULL)
		evtimer_del(dl.save_timer);
	o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "since", json_object_new_string(dl.since));
	json_object_object_add(o, "last_event", dl.last_event != NULL ?
	    json_object_new_string(dl.last_event) : NULL);
	json_object_object_add(o, "last_time", dl.last_evtime != NULL ?
	    json_object_new_string(dl.last_evtime) : NULL);
	json_object_object_add(o, "policy", policy_save(dl.policy));
	if (outbox_write_file(dl.spool_dir, DELIVERY_POLICY_FILE, o) == -1) {
		/* Tried again later; said once. */
		if (!dl.save_failing)
			log_warn("policy: cannot write %s", dl.policy_path);
		dl.save_failing = 1;
		json_object_put(o);
		dl.dirty = 1;
		delivery_save_later();
		return;
	}
	json_object_put(o);
	if (dl.save_failing)
		log_info("policy: %s written again", dl.policy_path);
	dl.save_failing = 0;
	dl.dirty = 0;
}

/* Run the policy at its next deadline; no timer when it has none. */
static void
delivery_arm(void)
{
	struct timeval	tv;
	int64_t		d, now, ms;

	if (dl.policy == NULL || dl.policy_timer == NULL)
		return;
	if ((d = policy_next_deadline(dl.policy)) == -1) {
		evtimer_del(dl.policy_timer);
		return;
	}
	now = svevent_now_ms();
	ms = d >= now ? d - now + 1 : 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(dl.policy_timer, &tv);
}

/*
 * Queue what the policy made, then save its state: at once if it made
 * notes (they are in the outbox now), a little later otherwise.
 */
static void
delivery_drain(void)
{
	struct policy_note	*n;
	int			 made = 0;

	while ((n = policy_take(dl.policy)) != NULL) {
		log_debug("policy: note %s (%s): %s", n->id,
		    n->kind == POLICY_NOTE_NEW ? "new" :
		    n->kind == POLICY_NOTE_UPDATE ? "update" : "reply",
		    n->text);
		delivery_note(n);
		policy_note_free(n);
		made++;
	}
	dl.dirty = 1;
	if (made > 0)
		delivery_save();
	else
		delivery_save_later();
	delivery_arm();
}

static void
delivery_policy_cb(evutil_socket_t fd, short what, void *arg)
{
	policy_tick(dl.policy, svevent_now_ms());
	delivery_drain();
}

static void
delivery_feed(const struct svevent *ev, int64_t now)
{
	policy_feed(dl.policy, ev, now);
	if (ev->id != NULL) {
		free(dl.last_event);
		dl.last_event = xstrdup(ev->id);
		free(dl.last_evtime);
		dl.last_evtime = ev->time != NULL ? xstrdup(ev->time) : NULL;
	}
	dl.fed_ms = now;
}

/* Load policy.json if there is one; a bad one is moved aside. */
static void
delivery_load(void)
{
	struct json_object	*o = NULL, *v, *st;
	struct stat		 sb;
	char			*buf = NULL, *bad, err[256];
	ssize_t			 n;
	size_t			 off = 0;
	int			 fd;

	if ((fd = open(dl.policy_path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("policy: %s", dl.policy_path);
		return;
	}
	if (fstat(fd, &sb) == -1) {
		snprintf(err, sizeof err, "fstat: %s", strerror(errno));
		goto bad;
	}
	buf = xmalloc(sb.st_size + 1);
	while (off < (size_t)sb.st_size) {
		if ((n = read(fd, buf + off, sb.st_size - off)) == -1 &&
		    errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += n;
	}
	buf[off] = '\0';
	if ((o = json_tokener_parse(buf)) == NULL ||
	    !json_object_is_type(o, json_type_object)) {
		snprintf(err, sizeof err, "not a JSON object");
		goto bad;
	}
	if (!json_object_object_get_ex(o, "version", &v) ||
	    json_object_get_int(v) != 1 ||
	    !json_object_object_get_ex(o, "policy", &st) ||
	    !json_object_object_get_ex(o, "since", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, sizeof err, "not a saved policy of version 1");
		goto bad;
	}
	if (policy_load(dl.policy, st, err, sizeof err) == -1)
		goto bad;
	free(dl.since);
	dl.since = xstrdup(json_object_get_string(v));
	if (json_object_object_get_ex(o, "last_event", &v) &&
	    json_object_is_type(v, json_type_string))
		dl.last_event = xstrdup(json_object_get_string(v));
	if (json_object_object_get_ex(o, "last_time", &v) &&
	    json_object_is_type(v, json_type_string))
		dl.last_evtime = xstrdup(json_object_get_string(v));
	log_info("policy: state loaded from %s", dl.policy_path);
	json_object_put(o);
	free(buf);
	close(fd);
	return;
bad:
	xasprintf(&bad, "%s/%s", dl.spool_dir, DELIVERY_POLICY_BAD);
	log_warnx("policy: %s: %s: moved aside to %s; the policy starts "
	    "empty", dl.policy_path, err, bad);
	if (rename(dl.policy_path, bad) == -1)
		log_warn("policy: rename %s", dl.policy_path);
	free(bad);
	if (o != NULL)
		json_object_put(o);
	free(buf);
	close(fd);
}

/*
 * The last max bytes of path (from a line start), malloc'd, or NULL if
 * there is no such file.  *whole: the file was read from its start.
 */
static char *
delivery_read_tail(const char *path, size_t max, size_t *lenp, int *whole)
{
	struct stat	 sb;
	char		*buf, *nl;
	off_t		 from;
	size_t		 len, off = 0;
	ssize_t		 n;
	int		 fd;

	*lenp = 0;
	*whole = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("policy: %s", path);
		return (NULL);
	}
	if (fstat(fd, &sb) == -1) {
		log_warn("policy: %s", path);
		close(fd);
		return (NULL);
	}
	from = sb.st_size > (off_t)max ? sb.st_size - (off_t)max : 0;
	len = sb.st_size - from;
	buf = xmalloc(len + 1);
	while (off < len) {
		n = pread(fd, buf + off, len - off, from + off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += n;
	}
	close(fd);
	buf[off] = '\0';
	*lenp = off;
	*whole = from == 0;
	if (from > 0 && (nl = memchr(buf, '\n', off)) != NULL) {
		memmove(buf, nl + 1, off - (nl + 1 - buf) + 1);
		*lenp = off - (nl + 1 - buf);
	}
	return (buf);
}

/* Milliseconds of an RFC 3339 UTC time with milliseconds; -1 if not. */
static int64_t
delivery_parse_time(const char *s)
{
	struct tm	tm;
	int		ms;
	char		z;

	memset(&tm, 0, sizeof tm);
	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c",
	    &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
	    &tm.tm_sec, &ms, &z) != 8 || z != 'Z')
		return (-1);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return ((int64_t)timegm(&tm) * 1000 + ms);
}

struct replay {
	const char	*after;		/* feed what follows this id */
	const char	*from_time;	/* or, if not found, from this time */
	int		 found;
	size_t		 fed;
};

/*
 * Feed the events of buf (lines of events.jsonl): with pass 0, only look
 * for r->after; with pass 1, feed those after it, or, if it was never
 * found, those not older than r->from_time.
 */
static void
delivery_replay_buf(char *buf, size_t len, struct replay *r, int pass)
{
	struct svevent	*ev;
	char		*line, *nl, err[128];
	int64_t		 t, now = svevent_now_ms();
	int		 feeding = 0;

	for (line = buf; line < buf + len; line = nl + 1) {
		if ((nl = memchr(line, '\n', buf + len - line)) == NULL)
			break;		/* torn last line: not stored */
		/* Looking for r->after: only lines that hold it. */
		if ((pass == 0 || (r->found && !feeding)) &&
		    (r->after == NULL || memmem(line, nl - line, r->after,
		    strlen(r->after)) == NULL))
			continue;
		if ((ev = svevent_from_json(line, nl - line, err,
		    sizeof err)) == NULL)
			continue;
		if (pass == 0) {
			if (ev->id != NULL && strcmp(ev->id, r->after) == 0)
				r->found = 1;
		} else if (ev->id != NULL && r->after != NULL &&
		    strcmp(ev->id, r->after) == 0)
			feeding = 1;	/* the last one seen: what follows */
		else if (feeding || (!r->found && r->from_time != NULL &&
		    ev->time != NULL && strcmp(ev->time, r->from_time) >= 0)) {
			/* When it happened, in order, and never ahead. */
			t = delivery_parse_time(ev->time);
			if (t < dl.fed_ms)
				t = dl.fed_ms;
			if (t > now)
				t = now;
			delivery_feed(ev, t);
			r->fed++;
		}
		svevent_free(ev);
	}
}

/*
 * Feed again the events stored after the last one the saved policy saw:
 * svrelayd was killed before it saved, or they came while it stopped.
 */
static void
delivery_replay(void)
{
	struct replay	 r;
	char		*cur, *old = NULL, *path, *oldpath, *after, *from;
	size_t		 curlen, oldlen = 0;
	int		 curwhole, oldwhole;

	/* Copies: feeding replaces dl.last_event. */
	after = dl.last_event != NULL ? xstrdup(dl.last_event) : NULL;
	from = dl.last_event != NULL ? dl.last_evtime : dl.since;
	from = from != NULL ? xstrdup(from) : NULL;
	memset(&r, 0, sizeof r);
	r.after = after;
	r.from_time = from;
	xasprintf(&path, "%s/%s", dl.spool_dir, DELIVERY_EVENTS_FILE);
	xasprintf(&oldpath, "%s.1", path);
	cur = delivery_read_tail(path, DELIVERY_REPLAY_BYTES, &curlen,
	    &curwhole);
	if (cur != NULL)
		delivery_replay_buf(cur, curlen, &r, 0);
	if (!r.found && (cur == NULL || curwhole)) {
		/* Rotated since? */
		old = delivery_read_tail(oldpath, DELIVERY_REPLAY_BYTES,
		    &oldlen, &oldwhole);
		if (old != NULL) {
			delivery_replay_buf(old, oldlen, &r, 0);
			if (r.found || r.from_time != NULL)
				delivery_replay_buf(old, oldlen, &r, 1);
			if (r.found)
				r.found = 2;	/* feed all of cur */
		}
	}
	if (cur != NULL) {
		if (r.found == 2) {
			r.after = NULL;
			r.from_time = "";
			r.found = 0;
		}
		delivery_replay_buf(cur, curlen, &r, 1);
	}
	if (r.fed > 0)
		log_info("policy: fed again %zu event%s stored after the last "
		    "it had seen", r.fed, r.fed == 1 ? "" : "s");
	else if (after != NULL && !r.found && r.from_time == NULL)
		log_warnx("policy: the last event it saw (%s) is not in the "
		    "spool: none fed again", after);
	free(after);
	free(from);
	free(cur);
	free(old);
	free(path);
	free(oldpath);
}

/* ------------------------------------------------------------------ */
/* delivery.h */

static void
delivery_settings(const struct conf *conf)
{
	free(dl.host);
	dl.host = xstrdup(conf->host);
	dl.connect_timeout_ms = conf->slack.connect_timeout_ms;
	dl.timeout_ms = conf->slack.timeout_ms;
	dl.retry_min_ms = conf->slack.retry_min_ms;
	dl.retry_max_ms = conf->slack.retry_max_ms;
	dl.rate_per_minute = conf->slack.rate_per_minute;
	dl.burst = conf->slack.burst;
	dl.am_timeout_ms = conf->alertmanager_timeout_ms;
	dl.am_connect_timeout_ms = conf->alertmanager_timeout_ms < 5000 ?
	    conf->alertmanager_timeout_ms : 5000;
	dl.am_retry_min_ms = conf->alertmanager_retry_min_ms;
	dl.am_retry_max_ms = conf->alertmanager_retry_max_ms;
	dl.am_resend_ms = conf->alertmanager_resend_ms;
	dl.am_resolve_ms = conf->alertmanager_resolve_ms;
}

/* Give the orphans (queued with no destination) to their destination. */
static void
delivery_adopt(void)
{
	struct notif	*n, *next;
	struct dest	*d;

	for (n = TAILQ_FIRST(&dl.orphans); n != NULL; n = next) {
		next = TAILQ_NEXT(n, entry);
		if ((d = dest_for(n->e)) == NULL)
			continue;
		TAILQ_REMOVE(&dl.orphans, n, entry);
		notif_attach(n, d);
	}
	TAILQ_FOREACH(d, &dl.dests, entry)
		dest_kick(d);
}

int
delivery_init(struct event_base *base, const struct conf *conf)
{
	struct outbox_list	 pending;
	struct outbox_entry	*e;
	struct notif		*n;
	struct policy_conf	 pc;
	char			 now[40];

	memset(&dl, 0, sizeof dl);
	dl.base = base;
	TAILQ_INIT(&dl.dests);
	TAILQ_INIT(&dl.orphans);
	delivery_settings(conf);
	srandom((unsigned int)(time(NULL) ^ getpid()));

	if (http_init(base) == -1)
		return (-1);
	TAILQ_INIT(&pending);
	if (outbox_open(conf->spool_dir, conf->rotate_size, conf->rotate_keep,
	    &pending) == -1) {
		http_shutdown();
		return (-1);
	}
	if ((dl.cur = dest_new(&conf->slack)) != NULL) {
		TAILQ_INSERT_TAIL(&dl.dests, dl.cur, entry);
		log_info("slack: notifications go to %s (%s)", dl.cur->t.shown,
		    dl.cur->t.mode == SLACK_API ? "Web API" :
		    "incoming webhook");
	} else if (conf->alertmanager_urls[0] == NULL)
		log_warnx("slack: neither slack.webhook_url nor slack.token "
		    "is set: no notifications are sent");
	if (alertmanager_open(conf->spool_dir) == -1) {
		outbox_close();
		http_shutdown();
		return (-1);
	}
	dl.am_open = 1;
	if ((dl.am_timer = evtimer_new(base, delivery_am_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	delivery_am_urls(conf);
	delivery_routes(conf);
	dest_secrets();
	dl.running = 1;
	while ((e = TAILQ_FIRST(&pending)) != NULL) {
		TAILQ_REMOVE(&pending, e, entry);
		n = notif_new(e);
		TAILQ_INSERT_TAIL(&dl.orphans, n, entry);
	}
	delivery_adopt();

	/* The policy, as it was, and the events it has not seen yet. */
	dl.spool_dir = xstrdup(conf->spool_dir);
	xasprintf(&dl.policy_path, "%s/%s", conf->spool_dir,
	    DELIVERY_POLICY_FILE);
	policy_conf_from(&pc, conf);
	dl.policy = policy_new(&pc);
	policy_conf_clear(&pc);
	if ((dl.policy_timer = evtimer_new(base, delivery_policy_cb,
	    NULL)) == NULL || (dl.save_timer = evtimer_new(base,
	    delivery_save_cb, NULL)) == NULL)
		fatalx("evtimer_new");
	delivery_load();
	if (dl.since == NULL) {
		delivery_now(now, sizeof now);
		dl.since = xstrdup(now);
	}
	dl.fed_ms = 0;
	if (dl.last_evtime != NULL)
		dl.fed_ms = delivery_parse_time(dl.last_evtime);
	delivery_replay();
	policy_tick(dl.policy, svevent_now_ms());
	delivery_drain();
	delivery_save();
	/* What fired when svrelayd stopped fires on, at once. */
	delivery_am_resend();
	return (0);
}

void
delivery_event(const struct svevent *ev)
{
	/* After delivery_shutdown: fed from the spool at the next start. */
	if (!dl.running || dl.policy == NULL)
		return;
	delivery_feed(ev, svevent_now_ms());
	delivery_drain();
}

void
delivery_reconf(const struct conf *conf)
{
	struct dest		*d, *nd, *next;
	struct policy_conf	 pc;
	int64_t			 now = pace_now_ms();

	delivery_settings(conf);
	delivery_routes(conf);
	nd = dest_new(&conf->slack);
	if (nd != NULL) {
		TAILQ_FOREACH(d, &dl.dests, entry) {
			if (strcmp(d->t.key, nd->t.key) == 0)
				break;
		}
		if (d != NULL) {
			dest_free(nd);
			nd = d;
		} else {
			TAILQ_INSERT_TAIL(&dl.dests, nd, entry);
			log_info("slack: new notifications go to %s",
			    nd->t.shown);
		}
	} else if (dl.cur != NULL)
		log_warnx("slack: no destination any more: new notifications "
		    "are not sent");
	dl.cur = nd;
	delivery_am_urls(conf);
	/* New credentials for what is queued too; the rest goes when idle. */
	for (d = TAILQ_FIRST(&dl.dests); d != NULL; d = next) {
		next = TAILQ_NEXT(d, entry);
		if (d->t.mode == SLACK_API && dl.token != NULL) {
			explicit_bzero(d->t.token, strlen(d->t.token));
			free(d->t.token);
			d->t.token = xstrdup(dl.token);
		}
		d->lasterr[0] = '\0';
		if (dest_reap(d))
			continue;
		pace_setrate(&d->bucket, dl.rate_per_minute, dl.burst, now);
	}
	dest_secrets();
	delivery_adopt();
	delivery_am_arm();
	if (dl.policy != NULL) {
		policy_conf_from(&pc, conf);
		policy_reconf(dl.policy, &pc);
		policy_conf_clear(&pc);
		delivery_drain();
	}
}

void
delivery_shutdown(void)
{
	struct dest	*d;
	struct notif	*n;
	size_t		 left = 0, i;

	if (!dl.running)
		return;
	/* What the policy knows, for the next start. */
	if (dl.policy != NULL) {
		delivery_save();
		policy_free(dl.policy);
		dl.policy = NULL;
	}
	if (dl.policy_timer != NULL)
		event_free(dl.policy_timer);
	if (dl.save_timer != NULL)
		event_free(dl.save_timer);
	if (dl.am_timer != NULL)
		event_free(dl.am_timer);
	dl.policy_timer = dl.save_timer = dl.am_timer = NULL;
	if (dl.am_open)
		alertmanager_close();
	dl.am_open = 0;
	dl.running = 0;
	while ((d = TAILQ_FIRST(&dl.dests)) != NULL) {
		TAILQ_REMOVE(&dl.dests, d, entry);
		/* What is in flight stays queued in the outbox. */
		if (d->inflight != NULL && d->inflight->req != NULL)
			http_cancel(d->inflight->req);
		while ((n = TAILQ_FIRST(&d->queue)) != NULL) {
			TAILQ_REMOVE(&d->queue, n, entry);
			if (n->waiter != NULL) {
				n->dest = d;
				notif_answer(n, "queued", NULL,
				    "svrelayd is stopping: the message stays "
				    "queued and goes after a restart");
			}
			if (!n->resend)
				left++;
			notif_free(n);
		}
		dest_free(d);
	}
	while ((n = TAILQ_FIRST(&dl.orphans)) != NULL) {
		TAILQ_REMOVE(&dl.orphans, n, entry);
		left++;
		notif_free(n);
	}
	dl.cur = NULL;
	if (left > 0)
		log_info("delivery: %zu notification%s left queued for the "
		    "next start", left, left == 1 ? "" : "s");
	http_shutdown();
	if (dl.token != NULL)
		explicit_bzero(dl.token, strlen(dl.token));
	free(dl.token);
	free(dl.api_url);
	for (i = 0; i < dl.nroutes; i++) {
		if (dl.route_urls[i] != NULL)
			explicit_bzero(dl.route_urls[i],
			    strlen(dl.route_urls[i]));
		free(dl.route_urls[i]);
	}
	free(dl.route_urls);
	if (dl.warned != NULL)
		json_object_put(dl.warned);
	free(dl.host);
	dl.host = NULL;
	free(dl.spool_dir);
	free(dl.policy_path);
	free(dl.last_event);
	free(dl.last_evtime);
	free(dl.since);
	dl.token = dl.api_url = dl.spool_dir = dl.policy_path = NULL;
	dl.last_event = dl.last_evtime = dl.since = NULL;
	dl.route_urls = NULL;
	dl.nroutes = 0;
	dl.warned = NULL;
	/* The outbox stays open for the dead letters' commands. */
}

/*
 * Per sink: notifications queued, sent, failed (tries to be retried) and
 * dead, and how many wait now; the Alertmanagers and what fires.
 */
static struct json_object *
delivery_sinks_status(void)
{
	static const struct sink	*sinks[] = { &sink_slack,
					    &sink_alertmanager };
	struct json_object		*a, *s, *urls;
	struct dest			*d;
	struct notif			*n;
	size_t				 i;
	int64_t				 waiting;

	a = json_object_new_object();
	for (i = 0; i < 2; i++) {
		s = json_object_new_object();
		waiting = 0;
		TAILQ_FOREACH(d, &dl.dests, entry) {
			if (d->t.sink == sinks[i])
				waiting += d->nqueued;
		}
		TAILQ_FOREACH(n, &dl.orphans, entry) {
			if (sink_find(n->e->sink) == sinks[i])
				waiting++;
		}
		json_object_object_add(s, "queued_total",
		    json_object_new_int64(dl.stats[i].queued));
		json_object_object_add(s, "sent",
		    json_object_new_int64(dl.stats[i].sent));
		json_object_object_add(s, "failed",
		    json_object_new_int64(dl.stats[i].failed));
		json_object_object_add(s, "dead",
		    json_object_new_int64(dl.stats[i].dead));
		json_object_object_add(s, "queued",
		    json_object_new_int64(waiting));
		if (sinks[i] == &sink_alertmanager) {
			urls = json_object_new_array();
			TAILQ_FOREACH(d, &dl.dests, entry) {
				if (d->configured)
					json_object_array_add(urls,
					    json_object_new_string(
					    d->t.shown));
			}
			json_object_object_add(s, "destinations", urls);
			json_object_object_add(s, "firing",
			    json_object_new_int64(dl.am_open ?
			    (int64_t)alertmanager_nfiring() : 0));
		}
		json_object_object_add(a, sinks[i]->name, s);
	}
	return (a);
}

void
delivery_status(struct json_object *o)
{
	struct json_object	*s, *last, *p;
	struct dest		*d;
	struct notif		*n;
	size_t			 queued = 0, inflight = 0;
	char			 tb[SVEVENT_TIME_LEN];

	TAILQ_FOREACH(d, &dl.dests, entry) {
		queued += d->nqueued;
		if (d->inflight != NULL)
			inflight++;
	}
	TAILQ_FOREACH(n, &dl.orphans, entry)
		queued++;
	s = json_object_new_object();
	json_object_object_add(s, "mode", json_object_new_string(
	    dl.cur == NULL ? "none" : dl.cur->t.mode == SLACK_API ? "api" :
	    "webhook"));
	if (dl.cur != NULL)
		json_object_object_add(s, "destination",
		    json_object_new_string(dl.cur->t.shown));
	json_object_object_add(s, "queued", json_object_new_int64(queued));
	json_object_object_add(s, "in_flight",
	    json_object_new_int64(inflight));
	json_object_object_add(s, "sent", json_object_new_int64(dl.sent));
	json_object_object_add(s, "failed", json_object_new_int64(dl.failed));
	json_object_object_add(s, "dead_letters",
	    json_object_new_int64(outbox_dead_count()));
	json_object_object_add(s, "retries",
	    json_object_new_int64(dl.retries));
	if (dl.last_time[0] != '\0') {
		last = json_object_new_object();
		json_object_object_add(last, "time",
		    json_object_new_string(dl.last_time));
		json_object_object_add(last, "result",
		    json_object_new_string(dl.last_result));
		json_object_object_add(last, "http_status",
		    json_object_new_int64(dl.last_status));
		json_object_object_add(s, "last_delivery", last);
	}
	if (dl.last_error[0] != '\0')
		json_object_object_add(s, "last_error",
		    json_object_new_string(dl.last_error));
	if (dl.last_sent_ms > 0) {
		svevent_format_time(dl.last_sent_ms, tb, sizeof tb);
		json_object_object_add(s, "last_sent",
		    json_object_new_string(tb));
	}
	json_object_object_add(s, "sinks", delivery_sinks_status());
	json_object_object_add(o, "delivery", s);

	if (dl.policy == NULL)
		return;
	p = policy_status(dl.policy);
	json_object_object_add(p, "notes", json_object_new_int64(dl.notes));
	json_object_object_add(p, "notes_already_queued",
	    json_object_new_int64(dl.notes_again));
	json_object_object_add(p, "updates_dropped",
	    json_object_new_int64(dl.notes_dropped));
	json_object_object_add(p, "state_file",
	    json_object_new_string(dl.policy_path));
	json_object_object_add(o, "policy", p);
}

static struct json_object *
delivery_error(const char *error)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(error));
	return (o);
}

static void
delivery_cmd_dead(void (*done)(void *, struct json_object *), void *arg)
{
	struct outbox_list	 l;
	struct outbox_entry	*e;
	struct json_object	*o, *a, *x;
	int			 n, skip;

	TAILQ_INIT(&l);
	if ((n = outbox_dead(&l)) == -1) {
		done(arg, delivery_error("cannot read " OUTBOX_DEAD_FILE));
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "count", json_object_new_int64(n));
	a = json_object_new_array();
	skip = n > DELIVERY_DEAD_LIST ? n - DELIVERY_DEAD_LIST : 0;
	TAILQ_FOREACH(e, &l, entry) {
		if (skip-- > 0)
			continue;
		x = json_object_new_object();
		json_object_object_add(x, "id", json_object_new_string(e->id));
		json_object_object_add(x, "time", json_object_new_string(
		    e->time != NULL ? e->time : ""));
		json_object_object_add(x, "destination", json_object_new_string(
		    e->dest != NULL ? e->dest : ""));
		json_object_object_add(x, "error", json_object_new_string(
		    e->error != NULL ? e->error : ""));
		json_object_object_add(x, "text",
		    json_object_new_string(e->text));
		json_object_array_add(a, x);
	}
	json_object_object_add(o, "dead", a);
	if (n > DELIVERY_DEAD_LIST)
		json_object_object_add(o, "note", json_object_new_string(
		    "only the newest 100 are listed; all are in "
		    OUTBOX_DEAD_FILE));
	outbox_list_free(&l);
	done(arg, o);
}

static void
delivery_cmd_retry_dead(void (*done)(void *, struct json_object *),
    void *arg)
{
	struct outbox_list	 l;
	struct outbox_entry	*e;
	struct json_object	*o;
	struct dest		*d;
	int			 n = 0;

	if (dl.cur == NULL && !delivery_am_any()) {
		done(arg, delivery_error("no Slack destination and no "
		    "Alertmanager is configured"));
		return;
	}
	TAILQ_INIT(&l);
	if (outbox_dead(&l) == -1) {
		done(arg, delivery_error("cannot read " OUTBOX_DEAD_FILE));
		return;
	}
	/* Each must have somewhere to go, or none is touched. */
	TAILQ_FOREACH(e, &l, entry) {
		if (dest_for(e) == NULL &&
		    (e->sink != NULL || dl.cur == NULL)) {
			outbox_list_free(&l);
			done(arg, delivery_error("a dead letter has no "
			    "destination in this configuration (no Slack, or "
			    "a sink svrelayd does not know)"));
			return;
		}
	}
	/* Queued durably first, then dead.jsonl emptied. */
	while ((e = TAILQ_FIRST(&l)) != NULL) {
		TAILQ_REMOVE(&l, e, entry);
		free(e->error);
		e->error = NULL;
		if ((d = dest_for(e)) == NULL)
			d = dl.cur;
		delivery_queue(e, NULL, d);
		n++;
	}
	if (outbox_dead_clear() == -1) {
		done(arg, delivery_error("re-queued the dead letters but could "
		    "not empty " OUTBOX_DEAD_FILE));
		return;
	}
	log_info("delivery: %d dead letter%s queued again", n,
	    n == 1 ? "" : "s");
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "requeued", json_object_new_int64(n));
	json_object_object_add(o, "destination", json_object_new_string(
	    dl.cur != NULL ? dl.cur->t.shown : SINK_AM_NAME));
	done(arg, o);
}

int
delivery_command(const char *cmd, struct json_object *req,
    void (*done)(void *, struct json_object *), void *arg)
{
	struct policy_note	 note;
	struct json_object	*msg;
	struct outbox_entry	*e;
	struct waiter		*w;
	char			*text;

	if (strcmp(cmd, "test") == 0) {
		if (!dl.running || dl.cur == NULL) {
			done(arg, delivery_error(dl.running ?
			    "no Slack destination is configured (set "
			    "slack.webhook_url or slack.token)" :
			    "svrelayd is stopping"));
			return (0);
		}
		w = xcalloc(1, sizeof *w);
		w->done = done;
		w->arg = arg;
		memset(&note, 0, sizeof note);
		note.kind = POLICY_NOTE_NEW;
		note.severity = POLICY_SEV_INFO;
		note.host = dl.host;
		note.server = "";
		xasprintf(&text, "svrelay test message from %s: delivery to "
		    "Slack works", dl.host);
		note.text = text;
		note.detail = "Sent by `svrelayctl test`.";
		note.time_ms = svevent_now_ms();
		msg = slack_note_message(&note);
		e = delivery_entry(msg, OUTBOX_POST);
		json_object_put(msg);
		free(text);
		delivery_queue(e, w, dl.cur);
		return (0);
	}
	if (strcmp(cmd, "dead") == 0) {
		delivery_cmd_dead(done, arg);
		return (0);
	}
	if (strcmp(cmd, "retry-dead") == 0) {
		delivery_cmd_retry_dead(done, arg);
		return (0);
	}
	return (-1);
}

char *
delivery_post(struct json_object *message, const char *thread_of)
{
	struct outbox_entry	*e;
	struct notif		*n;

	if (!dl.running || dl.cur == NULL)
		return (NULL);
	e = delivery_entry(message, OUTBOX_POST);
	if (thread_of != NULL)
		e->thread_of = xstrdup(thread_of);
	n = delivery_queue(e, NULL, dl.cur);
	return (xstrdup(n->e->id));
}

char *
delivery_update(const char *id, struct json_object *message)
{
	struct outbox_entry	*e;
	struct notif		*n;

	if (!dl.running || dl.cur == NULL)
		return (NULL);
	e = delivery_entry(message, OUTBOX_UPDATE);
	e->update_of = xstrdup(id);
	n = delivery_queue(e, NULL, dl.cur);
	return (xstrdup(n->e->id));
}

const char *
delivery_ts(const char *id)
{
	return (outbox_ts(id, NULL));
}

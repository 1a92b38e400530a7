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
 */
#include "config.h"

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
	struct dest		*dest;
	struct http_req		*req;
	struct waiter		*waiter;
	TAILQ_ENTRY(notif)	 entry;
};
TAILQ_HEAD(notif_q, notif);

struct dest {
	char			*key;	/* identity; holds secrets: never log */
	char			*shown;	/* "#ops", "webhook https://host/…" */
	enum slack_mode		 mode;
	char			*url;	/* webhook URL or API base */
	char			*token;
	char			*channel;
	struct notif_q		 queue;
	size_t			 nqueued;
	struct notif		*inflight;
	struct pace_bucket	 bucket;
	struct event		*timer;
	int64_t			 hold_until;	/* monotonic ms */
	char			 lasterr[128];	/* permanent error last logged */
	TAILQ_ENTRY(dest)	 entry;
};
TAILQ_HEAD(dest_list, dest);

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
	struct dest		*cur;		/* where new messages go */
	struct notif_q		 orphans;	/* queued with no destination */
	char			*stopped_dest;	/* after shutdown: dest shown */

	uint64_t		 sent;
	uint64_t		 failed;
	uint64_t		 retries;
	char			 last_time[40];
	char			 last_result[32];
	long			 last_status;
	char			 last_error[160];
} dl;

static void	dest_kick(struct dest *);

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

/* A webhook as shown: its scheme, host and port, never its path. */
static char *
dest_webhook_shown(const char *url)
{
	CURLU	*u;
	char	*scheme = NULL, *host = NULL, *port = NULL, *s;

	if ((u = curl_url()) == NULL)
		fatalx("curl_url");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		s = xstrdup("webhook");
	else {
		curl_url_get(u, CURLUPART_PORT, &port, 0);
		xasprintf(&s, "webhook %s://%s%s%s/…", scheme, host,
		    port != NULL ? ":" : "", port != NULL ? port : "");
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return (s);
}

/* The destination conf names, as a new struct (NULL if none). */
static struct dest *
dest_new(const struct conf_slack *s)
{
	struct dest	*d;

	if (s->webhook_url == NULL && s->token == NULL)
		return (NULL);
	d = xcalloc(1, sizeof *d);
	TAILQ_INIT(&d->queue);
	if (s->webhook_url != NULL) {
		d->mode = SLACK_WEBHOOK;
		d->url = xstrdup(s->webhook_url);
		xasprintf(&d->key, "webhook %s", s->webhook_url);
		d->shown = dest_webhook_shown(s->webhook_url);
	} else {
		d->mode = SLACK_API;
		d->url = xstrdup(s->api_url);
		d->token = xstrdup(s->token);
		d->channel = xstrdup(s->channel != NULL ? s->channel : "");
		xasprintf(&d->key, "api %s %s", s->api_url, d->channel);
		d->shown = xstrdup(d->channel);
	}
	pace_init(&d->bucket, dl.rate_per_minute, dl.burst, pace_now_ms());
	if ((d->timer = evtimer_new(dl.base, dest_timer_cb, d)) == NULL)
		fatalx("evtimer_new");
	return (d);
}

static void
dest_free(struct dest *d)
{
	if (d->token != NULL)
		explicit_bzero(d->token, strlen(d->token));
	free(d->token);
	free(d->key);
	free(d->shown);
	free(d->url);
	free(d->channel);
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
		http_secret(d->token);
		if (d->mode == SLACK_WEBHOOK) {
			http_secret(d->url);
			if ((p = strstr(d->url, "://")) != NULL &&
			    (p = strchr(p + 3, '/')) != NULL && p[1] != '\0')
				http_secret(p);
		}
	}
}

/* An old destination goes once it has nothing left to send. */
static int
dest_reap(struct dest *d)
{
	if (d == dl.cur || !TAILQ_EMPTY(&d->queue) || d->inflight != NULL)
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
	n->e->dest = xstrdup(d->shown);
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
		TAILQ_FOREACH(n, &d->queue, entry)
			v[i++] = n->e;
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
	    json_object_new_string(n->dest != NULL ? n->dest->shown : ""));
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

/* Post n, the head of its destination's queue. */
static void
notif_send(struct notif *n)
{
	struct dest		*d = n->dest;
	struct json_object	*msg;
	const char		*thread_ts = NULL, *update_ts = NULL;
	const char		*channel, *method = "chat.postMessage";
	char			*body, *url, *logname;

	channel = d->channel;
	if (d->mode == SLACK_API && n->e->update_of != NULL &&
	    n->e->kind == OUTBOX_UPDATE) {
		update_ts = outbox_ts(n->e->update_of, &channel);
		if (update_ts != NULL)
			method = "chat.update";
		else
			channel = d->channel;
	}
	if (d->mode == SLACK_API && n->e->thread_of != NULL)
		thread_ts = outbox_ts(n->e->thread_of, NULL);
	if ((msg = json_tokener_parse(n->e->message)) == NULL) {
		msg = json_object_new_object();
		json_object_object_add(msg, "text",
		    json_object_new_string(n->e->text));
	}
	body = slack_body(msg, d->mode, channel, thread_ts, update_ts);
	json_object_put(msg);
	if (d->mode == SLACK_API) {
		xasprintf(&url, "%s%s", d->url, method);
		logname = xstrdup(url);
	} else {
		url = xstrdup(d->url);
		logname = xstrdup(d->shown);
	}
	notif_set_state(n, N_IN_FLIGHT);
	d->inflight = n;
	n->req = http_post(url, d->mode == SLACK_API ? d->token : NULL, body,
	    strlen(body), dl.connect_timeout_ms, dl.timeout_ms, logname,
	    delivery_answer, n);
	free(logname);
	explicit_bzero(url, strlen(url));
	free(url);
	free(body);
	if (n->req == NULL) {
		/* Could not even start: a retry later. */
		d->inflight = NULL;
		n->attempts++;
		dl.retries++;
		d->hold_until = pace_now_ms() + pace_backoff(n->attempts,
		    dl.retry_min_ms, dl.retry_max_ms);
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

/* Slack answered (or did not): what now for n and its destination. */
static void
delivery_answer(const struct http_result *r, void *arg)
{
	struct notif		*n = arg;
	struct dest		*d = n->dest;
	struct slack_answer	 a;
	int64_t			 wait;

	n->req = NULL;
	d->inflight = NULL;
	slack_classify(d->mode, r, &a);
	http_scrub(a.error, sizeof a.error);

	switch (a.verdict) {
	case SLACK_OK:
		notif_set_state(n, N_SENT);
		delivery_record("sent", r->status, NULL);
		notif_answer(n, "sent", r, "");
		if (outbox_sent(n->e, r->status, a.ts[0] ? a.ts : NULL,
		    a.channel[0] ? a.channel : NULL) == -1)
			log_warnx("outbox: notification %s was sent but not "
			    "recorded: it may go out again after a restart",
			    n->e->id);
		if (d->lasterr[0] != '\0')
			log_info("slack: %s: delivering again", d->shown);
		d->lasterr[0] = '\0';
		dl.sent++;
		log_info("slack: %s: sent notification %s%s%s", d->shown,
		    n->e->id, a.ts[0] ? " ts " : "", a.ts);
		notif_detach(n);
		notif_free(n);
		break;
	case SLACK_RATELIMITED:
	case SLACK_TRANSIENT:
		n->attempts++;
		dl.retries++;
		if (a.verdict == SLACK_RATELIMITED) {
			if (r->retry_after > 0)
				wait = (int64_t)(r->retry_after >
				    DELIVERY_MAX_RETRY_AFTER ?
				    DELIVERY_MAX_RETRY_AFTER :
				    r->retry_after) * 1000;
			else
				wait = pace_backoff(n->attempts,
				    dl.retry_min_ms, dl.retry_max_ms);
			if (wait < DELIVERY_MIN_RATELIMIT_MS)
				wait = DELIVERY_MIN_RATELIMIT_MS;
			log_warnx("slack: %s: rate limited (%s): waiting %lld "
			    "ms before sending anything more", d->shown,
			    a.error, (long long)wait);
			delivery_record("rate-limited", r->status, a.error);
			notif_answer(n, "rate-limited", r, a.error);
		} else {
			wait = pace_backoff(n->attempts, dl.retry_min_ms,
			    dl.retry_max_ms);
			log_warnx("slack: %s: notification %s: %s; retry %d "
			    "in %lld ms", d->shown, n->e->id, a.error,
			    n->attempts, (long long)wait);
			delivery_record("retrying", r->status, a.error);
			notif_answer(n, "retrying", r, a.error);
		}
		d->hold_until = pace_now_ms() + wait;
		notif_set_state(n, N_WAITING);
		break;
	case SLACK_PERMANENT:
		notif_set_state(n, N_DEAD);
		delivery_record("dead", r->status, a.error);
		notif_answer(n, "dead", r, a.error);
		if (strcmp(d->lasterr, a.error) != 0) {
			log_warnx("slack: %s: %s%s: notification %s and the "
			    "next ones failing alike go to %s (see "
			    "svrelayctl dead)", d->shown, a.error, a.unknown ?
			    " (an error svrelay does not know: taken as "
			    "permanent)" : " (permanent)", n->e->id,
			    OUTBOX_DEAD_FILE);
			snprintf(d->lasterr, sizeof d->lasterr, "%s", a.error);
		} else
			log_debug("slack: %s: %s: notification %s is a dead "
			    "letter", d->shown, a.error, n->e->id);
		if (outbox_failed(n->e, a.error) == -1)
			log_warnx("outbox: could not record dead letter %s",
			    n->e->id);
		dl.failed++;
		notif_detach(n);
		notif_free(n);
		break;
	}
	delivery_compact();
	if (!dest_reap(d))
		dest_kick(d);
}

/*
 * Queue a message durably and start it on its way.  Takes e; w (may be
 * NULL) is told Slack's first answer.  Returns the notification.
 */
static struct notif *
delivery_queue(struct outbox_entry *e, struct waiter *w)
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
	e->dest = xstrdup(dl.cur->shown);
	if (outbox_queued(e) == -1)
		log_warnx("outbox: notification %s could not be queued "
		    "durably: sending it anyway", e->id);
	n = notif_new(e);
	n->waiter = w;
	notif_attach(n, dl.cur);
	log_debug("notification %s queued for %s: %s", e->id, dl.cur->shown,
	    e->text);
	dest_kick(dl.cur);
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

static struct notif *
delivery_msg(const struct notify_msg *m, struct waiter *w)
{
	struct json_object	*msg;
	struct outbox_entry	*e;

	msg = slack_message(m);
	e = delivery_entry(msg, OUTBOX_POST);
	json_object_put(msg);
	return (delivery_queue(e, w));
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
}

/* Give the orphans (queued when there was no destination) to dl.cur. */
static void
delivery_adopt(void)
{
	struct notif	*n;

	if (dl.cur == NULL)
		return;
	while ((n = TAILQ_FIRST(&dl.orphans)) != NULL) {
		TAILQ_REMOVE(&dl.orphans, n, entry);
		notif_attach(n, dl.cur);
	}
	dest_kick(dl.cur);
}

int
delivery_init(struct event_base *base, const struct conf *conf)
{
	struct outbox_list	 pending;
	struct outbox_entry	*e;
	struct notif		*n;

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
		log_info("slack: notifications go to %s (%s)", dl.cur->shown,
		    dl.cur->mode == SLACK_API ? "Web API" : "incoming webhook");
	} else
		log_warnx("slack: neither slack.webhook_url nor slack.token "
		    "is set: no notifications are sent");
	dest_secrets();
	dl.running = 1;
	while ((e = TAILQ_FIRST(&pending)) != NULL) {
		TAILQ_REMOVE(&pending, e, entry);
		n = notif_new(e);
		TAILQ_INSERT_TAIL(&dl.orphans, n, entry);
	}
	delivery_adopt();
	return (0);
}

/*
 * After delivery_shutdown, ingest may still store events while it drains
 * its connections: their notifications are queued in the outbox, to go
 * after the restart.
 */
static void
delivery_event_late(const struct notify_msg *m)
{
	struct json_object	*msg;
	struct outbox_entry	*e;

	msg = slack_message(m);
	e = delivery_entry(msg, OUTBOX_POST);
	json_object_put(msg);
	e->id = outbox_newid();
	e->dest = xstrdup(dl.stopped_dest);
	if (outbox_queued(e) == 0)
		log_info("notification %s queued for after the restart",
		    e->id);
	outbox_entry_free(e);
}

void
delivery_event(const struct svevent *ev)
{
	struct notify_msg	*m;

	if (!dl.running && dl.stopped_dest == NULL)
		return;
	if ((m = notify_event(ev, dl.host)) == NULL)
		return;
	if (!dl.running)
		delivery_event_late(m);
	else if (dl.cur == NULL)
		log_debug("slack: no destination: %s not notified", ev->name);
	else
		delivery_msg(m, NULL);
	notify_msg_free(m);
}

void
delivery_reconf(const struct conf *conf)
{
	struct dest	*d, *nd;
	int64_t		 now = pace_now_ms();

	delivery_settings(conf);
	nd = dest_new(&conf->slack);
	if (nd != NULL) {
		TAILQ_FOREACH(d, &dl.dests, entry) {
			if (strcmp(d->key, nd->key) == 0)
				break;
		}
		if (d != NULL) {
			/* Same place: new credentials for what is queued too. */
			if (d->token != NULL)
				explicit_bzero(d->token, strlen(d->token));
			free(d->token);
			d->token = nd->token != NULL ? xstrdup(nd->token) :
			    NULL;
			d->lasterr[0] = '\0';
			dest_free(nd);
			nd = d;
		} else {
			TAILQ_INSERT_TAIL(&dl.dests, nd, entry);
			log_info("slack: new notifications go to %s",
			    nd->shown);
		}
	} else if (dl.cur != NULL)
		log_warnx("slack: no destination any more: new notifications "
		    "are not sent");
	d = dl.cur;
	dl.cur = nd;
	if (d != NULL && d != nd)
		dest_reap(d);
	TAILQ_FOREACH(d, &dl.dests, entry)
		pace_setrate(&d->bucket, dl.rate_per_minute, dl.burst, now);
	dest_secrets();
	delivery_adopt();
}

void
delivery_shutdown(void)
{
	struct dest	*d;
	struct notif	*n;
	size_t		 left = 0;

	if (!dl.running)
		return;
	dl.running = 0;
	while ((d = TAILQ_FIRST(&dl.dests)) != NULL) {
		TAILQ_REMOVE(&dl.dests, d, entry);
		if (d == dl.cur)
			dl.stopped_dest = xstrdup(d->shown);
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
		log_info("slack: %zu notification%s left queued for the next "
		    "start", left, left == 1 ? "" : "s");
	http_shutdown();
	/* The outbox stays open for delivery_event_late. */
}

void
delivery_status(struct json_object *o)
{
	struct json_object	*s, *last;
	struct dest		*d;
	struct notif		*n;
	size_t			 queued = 0, inflight = 0;

	TAILQ_FOREACH(d, &dl.dests, entry) {
		queued += d->nqueued;
		if (d->inflight != NULL)
			inflight++;
	}
	TAILQ_FOREACH(n, &dl.orphans, entry)
		queued++;
	s = json_object_new_object();
	json_object_object_add(s, "mode", json_object_new_string(
	    dl.cur == NULL ? "none" : dl.cur->mode == SLACK_API ? "api" :
	    "webhook"));
	if (dl.cur != NULL)
		json_object_object_add(s, "destination",
		    json_object_new_string(dl.cur->shown));
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
	json_object_object_add(o, "delivery", s);
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
	int			 n = 0;

	if (dl.cur == NULL) {
		done(arg, delivery_error("no Slack destination is configured"));
		return;
	}
	TAILQ_INIT(&l);
	if (outbox_dead(&l) == -1) {
		done(arg, delivery_error("cannot read " OUTBOX_DEAD_FILE));
		return;
	}
	/* Queued durably first, then dead.jsonl emptied. */
	while ((e = TAILQ_FIRST(&l)) != NULL) {
		TAILQ_REMOVE(&l, e, entry);
		free(e->error);
		e->error = NULL;
		delivery_queue(e, NULL);
		n++;
	}
	if (outbox_dead_clear() == -1) {
		done(arg, delivery_error("re-queued the dead letters but could "
		    "not empty " OUTBOX_DEAD_FILE));
		return;
	}
	log_info("slack: %d dead letter%s queued again for %s", n,
	    n == 1 ? "" : "s", dl.cur->shown);
	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "requeued", json_object_new_int64(n));
	json_object_object_add(o, "destination",
	    json_object_new_string(dl.cur->shown));
	done(arg, o);
}

int
delivery_command(const char *cmd, struct json_object *req,
    void (*done)(void *, struct json_object *), void *arg)
{
	struct notify_msg	*m;
	struct waiter		*w;

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
		m = notify_test(dl.host);
		delivery_msg(m, w);
		notify_msg_free(m);
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
	n = delivery_queue(e, NULL);
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
	n = delivery_queue(e, NULL);
	return (xstrdup(n->e->id));
}

const char *
delivery_ts(const char *id)
{
	return (outbox_ts(id, NULL));
}

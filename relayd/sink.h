/*
 * A sink is where notifications go: Slack (sink_slack.c, over slack.c) or
 * Prometheus Alertmanager (alertmanager.c).  delivery.c's queues, outbox,
 * pacing, retries and dead letters drive every sink through the same few
 * operations: make the HTTP request for an outbox entry, classify the
 * answer, and name the destination (its key paces and orders what goes
 * there).  Each outbox line says which sink it is for ("sink"; none:
 * Slack).
 */
#ifndef SVRELAY_SINK_H
#define SVRELAY_SINK_H

struct http_result;
struct outbox_entry;
struct sink;

#define SINK_SLACK_NAME		"slack"
#define SINK_AM_NAME		"alertmanager"

/* One destination of a sink, as the sink's operations see it. */
struct sink_target {
	const struct sink	*sink;
	char			*key;	/* identity; may hold secrets: never log */
	char			*shown;	/* "#ops", "webhook https://host/…" */
	int			 mode;	/* Slack: enum slack_mode */
	char			*url;	/* webhook, API base, Alertmanager */
	char			*token;	/* Slack API; NULL */
	char			*channel;	/* Slack API; NULL */
	long			 connect_ms;	/* timeouts of a request */
	long			 total_ms;
	int			 retry_min_ms;	/* backoff after a failure */
	int			 retry_max_ms;
};

enum sink_verdict {
	SINK_OK,
	SINK_RATELIMITED,	/* wait for Retry-After */
	SINK_TRANSIENT,		/* retry with backoff */
	SINK_PERMANENT		/* dead letter */
};

struct sink_answer {
	enum sink_verdict	 verdict;
	int			 unknown;	/* a permanent error we do not know */
	char			 error[128];	/* "invalid_auth", "http 503", … */
	char			 ts[64];	/* Slack API: the message's ts */
	char			 channel[64];	/* Slack API: the channel id */
};

/* What a sink's request operation fills in; the caller frees it. */
struct sink_request {
	char		*url;		/* malloc'd; may hold secrets */
	const char	*bearer;	/* borrowed from the target, or NULL */
	char		*body;		/* malloc'd */
	char		*logname;	/* malloc'd: the URL as logged */
};

struct sink {
	const char	*name;		/* as in the outbox: "slack", … */
	/* The request that sends e to t. */
	void		(*request)(const struct sink_target *,
			    const struct outbox_entry *, struct sink_request *);
	/* What the answer means. */
	void		(*classify)(const struct sink_target *,
			    const struct http_result *, struct sink_answer *);
	/* t's key (malloc'd): two targets with one key are one place. */
	char		*(*key)(const struct sink_target *);
};

extern const struct sink sink_slack;		/* sink_slack.c */
extern const struct sink sink_alertmanager;	/* alertmanager.c */

/* The sink named name ("slack" if NULL), or NULL if there is none. */
const struct sink	*sink_find(const char *name);
/* Free a sink_request's members. */
void			 sink_request_clear(struct sink_request *);

#endif

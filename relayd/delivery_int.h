/*
 * The delivery engine's own modules (delivery.h is its seam with ingest):
 * http.c drives libcurl's multi socket interface from svrelayd's event_base,
 * slack.c knows Slack (message JSON, answers, limits), pace.c paces and
 * backs off, outbox.c keeps notifications.jsonl and dead.jsonl, and
 * delivery.c runs the notification policy (policy.h: which events become
 * which message) and the queues for every sink (sink.h: Slack through
 * sink_slack.c, Alertmanager through alertmanager.c).
 */
#ifndef SVRELAY_DELIVERY_INT_H
#define SVRELAY_DELIVERY_INT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct json_object;
struct policy_note;
struct svevent;

/* Slack's limits (counted in characters, i.e. code points). */
#define SLACK_MAX_TEXT		40000
#define SLACK_MAX_SECTION	3000
#define SLACK_MAX_FIELD		2000
#define SLACK_MAX_BLOCKS	50
#define SLACK_TRUNC_MARKER	"… [truncated]"

/* The longest answer body kept from Slack. */
#define HTTP_MAX_BODY		(64 * 1024)

/* notifications.jsonl is compacted past this many bytes by default. */
#define OUTBOX_FILE		"notifications.jsonl"
#define OUTBOX_DEAD_FILE	"dead.jsonl"
#define OUTBOX_COMPACT_SIZE	(16LL * 1024 * 1024)

/* ts of the last sent messages kept for chat.update and thread_ts. */
#define OUTBOX_KEEP_TS		256

/*
 * The policy's saved state, written when a feed or tick made notes and
 * otherwise at most every DELIVERY_SAVE_MS while it changed.  At start,
 * the events stored after the last one it saw are fed again from the
 * spool's events.jsonl (and events.jsonl.1), read up to this much of each.
 */
#define DELIVERY_POLICY_FILE	"policy.json"
#define DELIVERY_POLICY_BAD	"policy.json.bad"
#define DELIVERY_SAVE_MS	3000
#define DELIVERY_EVENTS_FILE	"events.jsonl"
#define DELIVERY_REPLAY_BYTES	(16 * 1024 * 1024)

/* ------------------------------------------------------------------ */
/* http.c */

struct http_req;

struct http_result {
	long		 status;	/* HTTP status, 0 if none came */
	int		 curlcode;	/* CURLE_*, 0 if the transfer worked */
	const char	*error;		/* scrubbed error text, "" if none */
	const char	*body;		/* NUL-terminated, at most HTTP_MAX_BODY */
	size_t		 bodylen;
	long		 retry_after;	/* seconds, -1 if no Retry-After */
	int		 timed_out;
};

typedef void	(*http_cb)(const struct http_result *, void *);

int		 http_init(struct event_base *);
void		 http_shutdown(void);
/*
 * Texts to scrub from libcurl's error messages before they reach the log
 * (the token, a webhook URL and its path): http_secret adds a copy of one,
 * http_secrets_clear forgets them all.
 */
void		 http_secret(const char *);
void		 http_secrets_clear(void);
/*
 * POST body (copied) to url with a JSON content type, and, if bearer is not
 * NULL, an Authorization header.  cb is called exactly once, from the event
 * loop, unless the request is cancelled first.  logname names the URL in
 * logs (never a secret).
 */
struct http_req	*http_post(const char *url, const char *bearer,
		    const char *body, size_t len, long connect_ms, long total_ms,
		    const char *logname, http_cb cb, void *arg);
void		 http_cancel(struct http_req *);
/* Replace every secret in s (in place, by "…"). */
void		 http_scrub(char *s, size_t size);

/* ------------------------------------------------------------------ */
/* slack.c */

enum slack_mode {
	SLACK_WEBHOOK,
	SLACK_API
};

enum slack_verdict {
	SLACK_OK,
	SLACK_RATELIMITED,	/* 429: wait for Retry-After */
	SLACK_TRANSIENT,	/* retry with backoff */
	SLACK_PERMANENT		/* dead letter */
};

struct slack_answer {
	enum slack_verdict	 verdict;
	int			 unknown;	/* a permanent error we do not know */
	char			 error[128];	/* "invalid_auth", "http 503", … */
	char			 ts[64];	/* API: the message's ts */
	char			 channel[64];	/* API: the channel id */
};

/*
 * The message for a policy note, without a channel: a new json-c reference
 * the caller puts.  The top-level text is the note's text; an attachment
 * in the severity's colour holds Block Kit blocks: the text, the detail
 * (mrkdwn), the hosts and processes, and the stderr tail as a code block,
 * each within Slack's limits.
 */
struct json_object	*slack_note_message(const struct policy_note *);
/* The top-level text of a note as sent: escaped and within the limit. */
char			*slack_note_text(const struct policy_note *);
/*
 * The request body for message: a copy with the channel (API), thread_ts
 * (API, may be NULL) and, for chat.update, ts (may be NULL).  malloc'd.
 */
char			*slack_body(struct json_object *message,
			    enum slack_mode, const char *channel,
			    const char *thread_ts, const char *update_ts);
/* Classify Slack's answer to a post. */
void			 slack_classify(enum slack_mode,
			    const struct http_result *, struct slack_answer *);
/*
 * Copy at most max characters of s (UTF-8) into a new string, cutting on a
 * character boundary and ending with SLACK_TRUNC_MARKER if it had to cut.
 */
char			*slack_truncate(const char *s, size_t max);
/* Characters (code points) in s. */
size_t			 slack_strlen(const char *s);
/* Escape &, < and > for Slack's mrkdwn; malloc'd. */
char			*slack_escape(const char *s);

/* ------------------------------------------------------------------ */
/* pace.c */

/* A token bucket: rate tokens a minute, at most burst saved up. */
struct pace_bucket {
	double		tokens;
	int64_t		last_ms;
	int		rate_per_minute;	/* 0: no limit */
	int		burst;
};

void		pace_init(struct pace_bucket *, int rate_per_minute, int burst,
		    int64_t now_ms);
void		pace_setrate(struct pace_bucket *, int rate_per_minute,
		    int burst, int64_t now_ms);
/* Take a token: 0 if one was there, else ms until one will be (none taken). */
int64_t		pace_take(struct pace_bucket *, int64_t now_ms);
/*
 * The delay before retry number attempt (1 = first retry): exponential from
 * min_ms, capped at max_ms, with jitter, always within [min_ms, max_ms].
 */
int64_t		pace_backoff(int attempt, int min_ms, int max_ms);
/* Milliseconds on a monotonic clock. */
int64_t		pace_now_ms(void);

/* ------------------------------------------------------------------ */
/* alertmanager.c: the Alertmanager sink (sink_alertmanager in sink.h) */

/* Firing alerts, kept across restarts. */
#define ALERTMANAGER_FILE	"alerts.json"
/* Alertmanager's v2 API, after a configured URL (which ends with '/'). */
#define ALERTMANAGER_PATH	"api/v2/alerts"

/*
 * Load spool_dir/alerts.json (the alerts still firing); a bad one is moved
 * aside to alerts.json.bad.  Returns 0 or -1 (logged).
 */
int		 alertmanager_open(const char *spool_dir);
void		 alertmanager_close(void);
/*
 * The alerts a note makes (an array, a new reference), or NULL if none:
 * one per process the note fires or resolves.  A firing alert is kept
 * (alerts.json) until a recovery resolves it; an alert for what is
 * already over (a crash after which the process runs again) fires with
 * endsAt resolve_ms after the note.  host: when the note has none.
 */
struct json_object *alertmanager_note(const struct policy_note *,
		    const char *host, int64_t resolve_ms);
/* Every firing alert (a new array), or NULL if none fires. */
struct json_object *alertmanager_firing(void);
size_t		 alertmanager_nfiring(void);

/* ------------------------------------------------------------------ */
/* outbox.c */
int		 outbox_write_file(const char *, const char *,
		    struct json_object *);

enum outbox_kind {
	OUTBOX_POST,		/* chat.postMessage or webhook */
	OUTBOX_UPDATE		/* chat.update of an earlier notification */
};

/* One notification as outbox.c knows it. */
struct outbox_entry {
	char			*id;
	enum outbox_kind	 kind;
	char			*text;		/* top-level text */
	char			*message;	/* JSON: text + attachments */
	char			*dest;		/* as shown: "#ops", "webhook …" */
	char			*thread_of;	/* id to reply under, or NULL */
	char			*update_of;	/* id to edit, or NULL */
	char			*route;		/* route; NULL: the default */
	char			*sink;		/* "alertmanager"; NULL: Slack */
	char			*time;		/* when first queued */
	char			*error;		/* dead letters: why */
	TAILQ_ENTRY(outbox_entry) entry;
};
TAILQ_HEAD(outbox_list, outbox_entry);

/*
 * Open spool_dir/notifications.jsonl, and put on pending every notification
 * whose last line there is "queued", in order.  compact_size: rewrite past
 * this many bytes, keeping keep old files.  Returns 0 or -1 (logged).
 */
int		 outbox_open(const char *spool_dir, int64_t compact_size,
		    int keep, struct outbox_list *pending);
void		 outbox_close(void);
/* Durably append a "queued" line (fsync'd).  0 or -1 (logged). */
int		 outbox_queued(const struct outbox_entry *);
/* Append a "sent" line; ts/channel may be NULL.  Remembers the ts. */
int		 outbox_sent(const struct outbox_entry *, long status,
		    const char *ts, const char *channel);
/* Append a "failed" line and a line in dead.jsonl. */
int		 outbox_failed(const struct outbox_entry *, const char *error);
/*
 * Has notification id been queued before (it is in notifications.jsonl,
 * or was queued since outbox_open)?
 */
int		 outbox_known(const char *id);
/* The ts (and channel) a sent notification got, or NULL. */
const char	*outbox_ts(const char *id, const char **channel);
/*
 * The dead letters, oldest first, onto list (the caller frees them with
 * outbox_entry_free).  Returns how many, or -1.
 */
int		 outbox_dead(struct outbox_list *);
/* Lines in dead.jsonl. */
int64_t		 outbox_dead_count(void);
/* Empty dead.jsonl (tmp, fsync, rename).  0 or -1. */
int		 outbox_dead_clear(void);
/* Is notifications.jsonl past its compaction size? */
int		 outbox_needs_compact(void);
/*
 * Rewrite notifications.jsonl with only the n notifications still queued
 * (and the remembered ts of recent ones); the old file becomes
 * notifications.jsonl.1 (up to keep old files).  0 or -1 (logged).
 */
int		 outbox_compact(const struct outbox_entry **pending, size_t n);
struct outbox_entry *outbox_entry_new(void);
void		 outbox_entry_free(struct outbox_entry *);
void		 outbox_list_free(struct outbox_list *);
/* A new notification id: time, pid and a counter; malloc'd. */
char		*outbox_newid(void);

#endif

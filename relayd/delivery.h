/*
 * The seam between svrelayd's ingest (server, spool, control) and its
 * delivery engine (notification rules, outbox, Slack over libcurl multi).
 * Ingest calls these; delivery implements them.  relayd/delivery_stub.c is
 * a do-nothing implementation used until the real one is linked.
 */
#ifndef SVRELAY_DELIVERY_H
#define SVRELAY_DELIVERY_H

struct event_base;
struct json_object;
struct conf;
struct svevent;

/*
 * Called once by main() after the spool is open, on svrelayd's event_base.
 * Returns 0, or -1 after logging why.
 */
int	delivery_init(struct event_base *, const struct conf *);

/*
 * An event was durably stored for the first time (duplicates are not
 * passed).  Called for events from the socket and from the hand-off
 * import.  The event is only borrowed.
 */
void	delivery_event(const struct svevent *);

/* SIGHUP brought a new, validated config. */
void	delivery_reconf(const struct conf *);

/* SIGTERM: stop taking work and finish what can finish quickly. */
void	delivery_shutdown(void);

/* Add delivery's members to svrelayctl status's object. */
void	delivery_status(struct json_object *);

/*
 * A control command ingest does not know ("test", "retry-dead", …).
 * Returns -1 if delivery does not know it either.  Otherwise returns 0 and
 * calls done(arg, reply) exactly once, now or later, with a reply object
 * that done takes ownership of.
 */
int	delivery_command(const char *cmd, struct json_object *req,
	    void (*done)(void *, struct json_object *), void *arg);

/*
 * For the notification policy: queue message (a Slack message object with
 * a top-level "text", and blocks or attachments; borrowed) as a new post,
 * in the thread of notification thread_of if that is not NULL and its ts is
 * known (Web API only).  Returns the new notification's id (malloc'd, the
 * caller frees it), or NULL if there is no destination.
 */
char	*delivery_post(struct json_object *message, const char *thread_of);

/*
 * Edit notification id in place (chat.update, Web API) with message; where
 * its ts is not known (a webhook, or not sent), the message is posted as a
 * new one.  Returns the update's own id (malloc'd) or NULL.
 */
char	*delivery_update(const char *id, struct json_object *message);

/* The ts Slack gave notification id (one of the last sent), or NULL. */
const char *delivery_ts(const char *id);

/*
 * metrics.c: Prometheus metrics on metrics.listen (nothing if unset),
 * made at each scrape from status() (control_status: a new object).
 * metrics_init returns 0, or -1 after logging why; metrics_reconf
 * rebinds if metrics.listen changed.
 */
struct evbuffer;
int	metrics_init(struct event_base *, const struct conf *,
	    struct json_object *(*status)(void));
void	metrics_reconf(const struct conf *);
void	metrics_free(void);
/* The exposition of a status object (borrowed) onto buf. */
void	metrics_text(struct json_object *status, struct evbuffer *buf);

#endif

/*
 * The notification policy (design.md, "Notification policy: one incident,
 * one message"): supervisord events in, notes out.  Pure logic: the clock
 * is passed in, nothing here touches a file, a socket, a timer or time(3),
 * so every rule runs under a fake clock in tests/check_policy.c.
 *
 * The delivery engine feeds every newly stored event (policy_feed), calls
 * policy_tick at policy_next_deadline(), takes the notes (policy_take) and
 * renders them for Slack.  Feeding also runs whatever was due at now, so a
 * caller that ticks late loses nothing.
 */
#ifndef SVRELAY_POLICY_H
#define SVRELAY_POLICY_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

struct conf;
struct json_object;
struct svevent;

/* supervisord's process states, for report_states/ignore_states masks. */
#define POLICY_STATE_STOPPED	0
#define POLICY_STATE_STARTING	1
#define POLICY_STATE_RUNNING	2
#define POLICY_STATE_BACKOFF	3
#define POLICY_STATE_STOPPING	4
#define POLICY_STATE_EXITED	5
#define POLICY_STATE_FATAL	6
#define POLICY_STATE_UNKNOWN	7
#define POLICY_NSTATES		8
#define POLICY_STATE_BIT(s)	(1U << (s))

/* notify.level; the same values as CONF_LEVEL_* in conf.h. */
#define POLICY_LEVEL_PROBLEMS	0
#define POLICY_LEVEL_CHANGES	1

struct policy_route {
	char		*match;		/* fnmatch(3) glob on "group:name" */
	char		*name;		/* channel, or "webhook:N" (N from 1) */
};

/*
 * Everything the policy reads.  policy_conf_default fills defaults and
 * allocates nothing; policy_conf_from and policy_conf_add_route allocate
 * (host, routes), freed by policy_conf_clear.  policy_new and
 * policy_reconf copy what they need: the caller keeps and clears its own.
 */
struct policy_conf {
	int		 level;		/* POLICY_LEVEL_* */
	char		*host;		/* if an event has none; or NULL */
	int64_t		 settle_ms;	/* stable this long: episode closes */
	int64_t		 episode_max_ms;	/* then "has not settled" */
	int64_t		 group_window_ms;	/* quiet this long: flush */
	int64_t		 group_max_ms;	/* flush this long after the first */
	int		 flap_threshold;	/* crashes in flap_window_ms */
	int64_t		 flap_window_ms;
	int64_t		 flap_calm_ms;	/* no crash this long: stable */
	int64_t		 flap_update_ms;	/* UPDATE at most this often */
	int64_t		 silence_ms;	/* a ticking supervisord is silent */
	unsigned int	 report_states;	/* POLICY_STATE_BIT mask */
	unsigned int	 ignore_states;
	struct policy_route *routes;	/* first match wins; none: route "" */
	size_t		 nroutes;
	size_t		 tail_lines;	/* stderr lines kept per process */
	size_t		 tail_bytes;	/* and bytes */
};

void	policy_conf_default(struct policy_conf *);
/* Defaults, then the notify keys, host and routes of conf. */
void	policy_conf_from(struct policy_conf *, const struct conf *);
void	policy_conf_add_route(struct policy_conf *, const char *match,
	    const char *name);
void	policy_conf_clear(struct policy_conf *);

/* "RUNNING" → POLICY_STATE_RUNNING; -1 if not a process state. */
int		 policy_state_parse(const char *);
const char	*policy_state_name(int);

enum policy_note_kind {
	POLICY_NOTE_NEW,	/* a new top-level message */
	POLICY_NOTE_UPDATE,	/* edit update_key's message (chat.update) */
	POLICY_NOTE_REPLY	/* a reply in the thread of thread_key */
};

enum policy_severity {
	POLICY_SEV_OK,
	POLICY_SEV_INFO,
	POLICY_SEV_WARNING,
	POLICY_SEV_ERROR
};

/*
 * The end of one process's log, for a note: from the crash context the
 * listener attached to the event (context.stderr_tail, else stdout_tail),
 * or else from the PROCESS_LOG_STDERR lines the policy kept.
 */
struct policy_tail {
	char		*process;	/* "group:name" */
	char		*label;		/* "stderr (last lines)", "stdout …" */
	char		*text;		/* newline-separated, never empty */
};

/* Tails a note carries at most; the others are counted. */
#define POLICY_NOTE_TAILS	3

/*
 * What a note means for each of its processes, for an alert router
 * (relayd/alertmanager.c): alerts[i] goes with processes[i].
 */
enum policy_alert {
	POLICY_ALERT_NONE,		/* nothing to fire or resolve */
	POLICY_ALERT_FATAL,		/* gave up: FATAL */
	POLICY_ALERT_UNKNOWN,
	POLICY_ALERT_EXITED,		/* exited unexpectedly, stayed down */
	POLICY_ALERT_CRASHED,		/* exited unexpectedly, restarted */
	POLICY_ALERT_START_FAILED,	/* started after failed tries */
	POLICY_ALERT_UNSETTLED,
	POLICY_ALERT_FLAPPING,
	POLICY_ALERT_RESOLVED		/* recovered, or stable again */
};

/*
 * One notification, already as text.  Every string is owned by the note;
 * tail, tail_label, reason and context_error may be NULL, and a note made
 * by hand may leave tails NULL with ntails 0.  UPDATE notes can only be honoured with a Web API
 * token (chat.update needs the message's ts): the delivery engine drops
 * them for webhooks.  A webhook cannot thread either, so a REPLY should
 * go out as a plain message there; its text stands on its own.  The folded
 * counts are also in the final "stable again" REPLY, so a webhook user
 * still learns them.
 */
struct policy_note {
	char			*id;	/* stable: same origin, same id */
	enum policy_note_kind	 kind;
	enum policy_severity	 severity;
	char			*route;	/* "" = default destination */
	char			*key;	/* incident key of this note */
	char			*update_key;	/* UPDATE: note to edit; "" */
	char			*thread_key;	/* REPLY: thread's note; "" */
	char			*host;
	char			*server;	/* "" for a group of several */
	char			*text;	/* host, group:name, state, how */
	char			*detail;	/* mrkdwn lines: the story */
	char			*tail;	/* recent stderr lines, or NULL */
	char			*tail_label;	/* tail's label, or NULL */
	char			*reason;	/* one process: "exit status 7" */
	char			*context_error;	/* crash context unavailable */
	struct policy_tail	*tails;	/* tails[0] is tail and tail_label */
	size_t			 ntails;
	size_t			 tails_omitted;	/* tails not in tails */
	char			**processes;	/* "group:name"…, NULL */
	size_t			 nprocesses;
	int			*alerts;	/* POLICY_ALERT_* of each */
	int64_t			 time_ms;	/* when it was produced */
	TAILQ_ENTRY(policy_note) entry;
};

struct policy;

/* A new policy with a copy of conf.  Free with policy_free. */
struct policy	*policy_new(const struct policy_conf *);
/* Frees the policy and every note not yet taken. */
void		 policy_free(struct policy *);
/* SIGHUP: copy the new conf; routes of known processes are re-matched. */
void		 policy_reconf(struct policy *, const struct policy_conf *);

/*
 * Feed one event (borrowed) at now_ms.  Runs what was due first.  Events
 * must come in the order supervisord sent them, once each.
 */
void		 policy_feed(struct policy *, const struct svevent *,
		    int64_t now_ms);
/* Run everything due at or before now_ms. */
void		 policy_tick(struct policy *, int64_t now_ms);
/*
 * When policy_tick next has work, in ms; -1 if nothing is pending.  After
 * policy_tick(p, t) it is never <= t.  Kept up to date as events come, so
 * asking costs nothing.
 */
int64_t		 policy_next_deadline(const struct policy *);

/*
 * For svrelayctl status: how many processes are in each state, open
 * episodes, flapping processes, pending groups, and every tracked
 * process ("process" group:name, "host", "server", "state", "since" in
 * RFC 3339 UTC, "flapping" yes/no), as a new JSON object the caller puts.
 */
struct json_object *policy_status(const struct policy *);

/* The oldest note not yet taken, or NULL; free with policy_note_free. */
struct policy_note *policy_take(struct policy *);
void		 policy_note_free(struct policy_note *);

/*
 * The whole state (processes, open episodes, flapping, pending groups,
 * notes not yet taken) as a new JSON object the caller puts.
 */
struct json_object *policy_save(const struct policy *);
/*
 * Replace the state of p (conf is kept) with a saved one.  Returns 0, or
 * -1 with a reason in err (p is then empty, as if new).  o is borrowed.
 */
int		 policy_load(struct policy *, struct json_object *, char *err,
		    size_t errlen);

#endif

/*
 * The notification policy: one incident, one message (design.md).
 *
 * Per process (host, server, group, name) we keep its state, the open
 * episode (its transitions), the crash history for flapping, whether its
 * last reported episode left a problem open (for the recovery reply), and
 * a bounded ring of recent stderr lines, and the crash context the
 * listener attached to its last FATAL, unexpected EXITED or BACKOFF
 * (context: exit status, signal, spawn error, log tail), which says why
 * it went down and is preferred to the ring.  A closed episode is classified,
 * filtered by level and the state overrides, and queued in the pending
 * group of its route; a group flushes into notes when no episode has
 * joined it for group_window_ms, group_max_ms after its first, or
 * group_window_ms after an error joined.  Flapping and silence notes do
 * not wait for a group.
 *
 * Time is only what callers pass in: no clock, no timers, no I/O.
 * Processes are few (one svrelayd per host), so they live in a TAILQ
 * searched linearly; the earliest deadline is kept as entities change
 * (dl_moved), and only recomputed when the entity holding it moved later.
 */
#include "config.h"

#include <sys/queue.h>

#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "conf.h"
#include "svevent.h"
#include "xmalloc.h"
#include "policy.h"

#define POLICY_SAVE_VERSION	1
#define EP_MAX_TRANS	64	/* transitions kept per episode */
#define STORY_LINES	12	/* transitions listed in a note's detail */
#define GROUP_LIST_MAX	15	/* processes listed in a group note */
#define GROUP_TEXT_NAMES 3	/* and named in its text */
#define FLAP_MAX	64	/* crash and start times kept */
#define CTX_TAIL_MAX	65536	/* bytes of a context tail kept (its end) */
#define CTX_TEXT_MAX	512	/* bytes of a spawn error, description… */
#define TEXT_LINE_MAX	200	/* characters of a tail's last line in text */
#define LABEL_STDERR	"stderr (last lines)"
#define LABEL_STDOUT	"stdout (last lines)"

static const char *policy_states[POLICY_NSTATES] = {
	"STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED",
	"FATAL", "UNKNOWN"
};

/* How an episode closed. */
enum close_how {
	CLOSE_SETTLED,		/* stable for settle_ms */
	CLOSE_TERMINAL,		/* FATAL or UNKNOWN */
	CLOSE_MAX		/* open longer than episode_max_ms */
};

/* What a closed episode was. */
enum ep_class {
	CLS_FATAL,
	CLS_UNKNOWN,
	CLS_UNSETTLED,
	CLS_CRASH_RESTARTED,	/* EXITED expected:0, back to RUNNING */
	CLS_START_RETRIED,	/* BACKOFF then RUNNING */
	CLS_CRASH_DOWN,		/* EXITED expected:0, not restarted */
	CLS_RECOVERED,
	CLS_STARTED,
	CLS_RESTARTED,
	CLS_STOPPED,
	CLS_EXITED,		/* expected exit */
	CLS_OTHER,
	CLS_N
};

static const char *cls_names[CLS_N] = {
	"fatal", "unknown", "unsettled", "crash_restarted", "start_retried",
	"crash_down", "recovered", "started", "restarted", "stopped",
	"exited", "other"
};

/* The verb of a group note whose members all share a class. */
static const char *cls_verbs[CLS_N] = {
	"gave up (FATAL)", "became UNKNOWN", "have not settled",
	"exited unexpectedly and were restarted", "started after failed tries",
	"exited unexpectedly and stayed down", "recovered", "started",
	"restarted", "stopped", "exited", "changed state"
};

struct trans {
	int		 from;
	int		 to;
	int64_t		 at;
	int		 tries;		/* -1: not given */
	int64_t		 pid;		/* -1: not given */
	int		 expected;	/* -1: not given */
};

struct episode {
	int		 open;
	char		*first_id;
	int64_t		 start_ms;
	int		 from;		/* state before its first transition */
	struct trans	 t[EP_MAX_TRANS];
	size_t		 nt;
	size_t		 ndropped;	/* transitions not kept (the middle) */
	int		 crashes;	/* EXITED expected:0 */
	int		 backoffs;
	int		 maxtries;
	int		 stops;		/* STOPPING */
	int		 starts;	/* STARTING */
	int		 restarted;	/* STARTING after the last crash */
	int		 stopped_after_crash;
};

struct tline {
	TAILQ_ENTRY(tline) entry;
	int64_t		 seq;
	char		*text;
};
TAILQ_HEAD(tlines, tline);

struct proc {
	TAILQ_ENTRY(proc) entry;
	char		*host;
	char		*server;
	char		*group;
	char		*name;
	char		*label;		/* group:name */
	char		*ident;		/* host/server/group:name */
	char		*route;

	int		 state;		/* -1: not known yet */
	int64_t		 state_ms;
	struct episode	 ep;

	int64_t		 crash_t[FLAP_MAX];	/* in the flap window */
	size_t		 ncrash;
	int64_t		 start_t[FLAP_MAX];
	size_t		 nstart;

	int		 flapping;
	char		*flap_key;
	int64_t		 flap_since;
	int64_t		 flap_last_crash;
	int64_t		 flap_last_note;
	int		 flap_crashes;
	int		 flap_restarts;
	int		 flap_folded;	/* episodes folded */
	int		 flap_updates;
	int		 flap_dirty;	/* counts changed since the last note */

	char		*problem_key;	/* open problem's note, or NULL */
	char		*problem_what;
	int64_t		 problem_ms;

	struct tlines	 tail;
	size_t		 ntail;
	size_t		 tailbytes;
	char		*partial;	/* stderr after the last newline */
	int64_t		 tail_seq;
	int64_t		 tail_shown;	/* lines up to this seq were sent */

	/* Crash context of the episode, until it closes; each may be NULL. */
	char		*ctx_reason;	/* "exit status 7" */
	char		*ctx_tail;	/* until a note takes it */
	char		*ctx_label;	/* LABEL_STDERR or LABEL_STDOUT */
	char		*ctx_error;	/* context.error */
};
TAILQ_HEAD(procs, proc);

struct server {
	TAILQ_ENTRY(server) entry;
	char		*host;
	char		*server;
	int		 ticking;	/* has sent TICK_60 */
	int		 stopped;	/* SUPERVISOR_STATE_CHANGE_STOPPING */
	int64_t		 last_ms;
	char		*silent_key;	/* silence reported, or NULL */
	int64_t		 silent_since;
};
TAILQ_HEAD(servers, server);

/* A closed episode waiting in a group. */
struct report {
	TAILQ_ENTRY(report) entry;
	char		*ident;
	char		*label;
	char		*host;
	char		*server;
	char		*key;
	int		 cls;
	int		 sev;
	int		 final;
	char		*text;
	char		*brief;		/* "started: STARTING → RUNNING" */
	char		*detail;
	char		*tail;		/* may be NULL */
	char		*tail_label;	/* tail's, or NULL */
	char		*reason;	/* crash context's, or NULL */
	char		*ctx_error;	/* context.error, or NULL */
	char		*thread_key;	/* recovery: reply there; else NULL */
	int		 problem;	/* leaves a problem open */
};
TAILQ_HEAD(reports, report);

struct group {
	TAILQ_ENTRY(group) entry;
	char		*route;
	int64_t		 first;
	int64_t		 last;
	int64_t		 urgent;	/* -1, or flush by then (an error) */
	struct reports	 reports;
};
TAILQ_HEAD(groups, group);

TAILQ_HEAD(notes, policy_note);

struct policy {
	struct policy_conf conf;
	struct procs	 procs;
	struct servers	 servers;
	struct groups	 groups;
	struct notes	 notes;
	int64_t		 seq;		/* events fed: ids for id-less ones */
	int64_t		 dl_min;	/* the earliest deadline, or -1 */
	int		 dl_stale;	/* dl_min must be recomputed */
};

static void	policy_run(struct policy *, int64_t);
static int64_t	proc_deadline(const struct policy *, const struct proc *);
static int64_t	server_deadline(const struct policy *,
		    const struct server *);
static void	dl_moved(struct policy *, int64_t, int64_t);
static int64_t	dl_get(struct policy *);

/* Helpers. */

static void __attribute__((format(printf, 2, 3)))
appendf(char **dst, const char *fmt, ...)
{
	va_list	 ap;
	char	*s, *n;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	if (s == NULL)
		s = xstrdup("");
	if (*dst == NULL) {
		*dst = s;
		return;
	}
	xasprintf(&n, "%s%s", *dst, s);
	free(*dst);
	free(s);
	*dst = n;
}

static void
setstr(char **dst, const char *s)
{
	char	*n;

	n = s != NULL ? xstrdup(s) : NULL;
	free(*dst);
	*dst = n;
}

static const char *
nz(const char *s)
{
	return (s != NULL ? s : "");
}

/* "12:04:05" (UTC) */
static void
fmt_time(int64_t ms, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t = (time_t)(ms / 1000);

	if (gmtime_r(&t, &tm) == NULL)
		snprintf(buf, len, "?");
	else
		strftime(buf, len, "%H:%M:%S", &tm);
}

/* "3s", "4m 12s", "2h 5m", "3d 4h" */
static void
fmt_dur(int64_t ms, char *buf, size_t len)
{
	int64_t	s = ms / 1000;

	if (s < 0)
		s = 0;
	if (s < 60)
		snprintf(buf, len, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, len, "%" PRId64 "m %" PRId64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRId64 "h %" PRId64 "m", s / 3600,
		    (s % 3600) / 60);
	else
		snprintf(buf, len, "%" PRId64 "d %" PRId64 "h", s / 86400,
		    (s % 86400) / 3600);
}

static const char *
plural(int64_t n, const char *one, const char *many)
{
	return (n == 1 ? one : many);
}

/* Length of the longest prefix of s[0..len) that is valid UTF-8. */
static size_t
utf8_valid_len(const unsigned char *s, size_t len)
{
	size_t	i = 0, n, k;

	while (i < len) {
		if (s[i] < 0x80)
			n = 1;
		else if (s[i] >= 0xc2 && s[i] <= 0xdf)
			n = 2;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			n = 3;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			n = 4;
		else
			return (i);
		if (i + n > len)
			return (i);
		for (k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (i);
		}
		if (n == 3 && ((s[i] == 0xe0 && s[i + 1] < 0xa0) ||
		    (s[i] == 0xed && s[i + 1] > 0x9f)))
			return (i);
		if (n == 4 && ((s[i] == 0xf0 && s[i + 1] < 0x90) ||
		    (s[i] == 0xf4 && s[i + 1] > 0x8f)))
			return (i);
		i += n;
	}
	return (i);
}

/*
 * A copy of s[0..len) as valid UTF-8 of at most max bytes: invalid bytes
 * become '?', control characters but tab become ' ', and a cut never
 * splits a character.
 */
static char *
utf8_clean(const char *s, size_t len, size_t max)
{
	const unsigned char	*u = (const unsigned char *)s;
	char			*out;
	size_t			 i = 0, o = 0, v, k;

	out = xmalloc(len + 1);
	while (i < len) {
		v = utf8_valid_len(u + i, len - i);
		if (v == 0) {
			out[o++] = '?';
			i++;
			continue;
		}
		for (k = 0; k < v; k++) {
			if (u[i + k] < 0x20 && u[i + k] != '\t')
				out[o++] = ' ';
			else if (u[i + k] == 0x7f)
				out[o++] = ' ';
			else
				out[o++] = (char)u[i + k];
		}
		i += v;
	}
	out[o] = '\0';
	if (o > max) {
		o = max;
		while (o > 0 && ((unsigned char)out[o] & 0xc0) == 0x80)
			o--;
		out[o] = '\0';
	}
	return (out);
}

static int
state_stable(int s)
{
	return (s == POLICY_STATE_RUNNING || s == POLICY_STATE_STOPPED ||
	    s == POLICY_STATE_EXITED);
}

static int
state_terminal(int s)
{
	return (s == POLICY_STATE_FATAL || s == POLICY_STATE_UNKNOWN);
}

static const char *
sname(int s)
{
	if (s < 0 || s >= POLICY_NSTATES)
		return ("?");
	return (policy_states[s]);
}

static int
token_int(const struct svevent *ev, const char *key, int64_t *v)
{
	const char	*s;
	char		*end;
	long long	 n;

	if ((s = svevent_token(ev, key)) == NULL || *s == '\0')
		return (-1);
	n = strtoll(s, &end, 10);
	if (*end != '\0')
		return (-1);
	*v = n;
	return (0);
}

/* Configuration. */

int
policy_state_parse(const char *s)
{
	int	i;

	for (i = 0; i < POLICY_NSTATES; i++) {
		if (strcmp(policy_states[i], s) == 0)
			return (i);
	}
	return (-1);
}

const char *
policy_state_name(int s)
{
	return (sname(s));
}

void
policy_conf_default(struct policy_conf *pc)
{
	memset(pc, 0, sizeof *pc);
	pc->level = POLICY_LEVEL_PROBLEMS;
	pc->settle_ms = 5000;
	pc->episode_max_ms = 300000;
	pc->group_window_ms = 2000;
	pc->group_max_ms = 6000;
	pc->flap_threshold = 3;
	pc->flap_window_ms = 600000;
	pc->flap_calm_ms = 300000;
	pc->flap_update_ms = 60000;
	pc->silence_ms = 180000;
	pc->tail_lines = 20;
	pc->tail_bytes = 4096;
}

void
policy_conf_add_route(struct policy_conf *pc, const char *match,
    const char *name)
{
	pc->routes = xreallocarray(pc->routes, pc->nroutes + 1,
	    sizeof *pc->routes);
	pc->routes[pc->nroutes].match = xstrdup(match);
	pc->routes[pc->nroutes].name = xstrdup(name);
	pc->nroutes++;
}

static unsigned int
states_mask(char **v)
{
	unsigned int	m = 0;
	int		s;
	size_t		i;

	for (i = 0; v != NULL && v[i] != NULL; i++) {
		if ((s = policy_state_parse(v[i])) != -1)
			m |= POLICY_STATE_BIT(s);
	}
	return (m);
}

void
policy_conf_from(struct policy_conf *pc, const struct conf *c)
{
	const struct conf_notify	*n = &c->notify;
	char				*name;
	size_t				 i;

	policy_conf_default(pc);
	pc->level = c->notify_level == CONF_LEVEL_CHANGES ?
	    POLICY_LEVEL_CHANGES : POLICY_LEVEL_PROBLEMS;
	pc->host = c->host != NULL ? xstrdup(c->host) : NULL;
	pc->settle_ms = n->settle_ms;
	pc->episode_max_ms = n->episode_max_ms;
	pc->group_window_ms = n->group_window_ms;
	pc->group_max_ms = n->group_max_ms;
	pc->flap_threshold = n->flap_threshold;
	pc->flap_window_ms = n->flap_window_ms;
	pc->flap_calm_ms = n->flap_calm_ms;
	pc->flap_update_ms = n->flap_update_ms;
	pc->silence_ms = n->silence_ms;
	pc->report_states = states_mask(n->report_states);
	pc->ignore_states = states_mask(n->ignore_states);
	for (i = 0; i < n->nroutes; i++) {
		if (n->routes[i].match == NULL)
			continue;
		if (n->routes[i].channel != NULL)
			policy_conf_add_route(pc, n->routes[i].match,
			    n->routes[i].channel);
		else {
			xasprintf(&name, "webhook:%zu", i + 1);
			policy_conf_add_route(pc, n->routes[i].match, name);
			free(name);
		}
	}
}

void
policy_conf_clear(struct policy_conf *pc)
{
	size_t	i;

	for (i = 0; i < pc->nroutes; i++) {
		free(pc->routes[i].match);
		free(pc->routes[i].name);
	}
	free(pc->routes);
	free(pc->host);
	pc->routes = NULL;
	pc->nroutes = 0;
	pc->host = NULL;
}

static void
conf_copy(struct policy_conf *dst, const struct policy_conf *src)
{
	size_t	i;

	*dst = *src;
	dst->host = src->host != NULL ? xstrdup(src->host) : NULL;
	dst->routes = NULL;
	dst->nroutes = 0;
	for (i = 0; i < src->nroutes; i++)
		policy_conf_add_route(dst, src->routes[i].match,
		    src->routes[i].name);
	if (dst->flap_threshold < 1)
		dst->flap_threshold = 1;
	if (dst->flap_threshold > FLAP_MAX)
		dst->flap_threshold = FLAP_MAX;
	if (dst->tail_bytes < 16)
		dst->tail_bytes = 16;
}

static const char *
route_for(const struct policy *p, const char *label)
{
	size_t	i;

	for (i = 0; i < p->conf.nroutes; i++) {
		if (fnmatch(p->conf.routes[i].match, label, 0) == 0)
			return (p->conf.routes[i].name);
	}
	return ("");
}

/* Notes. */

void
policy_note_free(struct policy_note *n)
{
	size_t	i;

	if (n == NULL)
		return;
	free(n->id);
	free(n->route);
	free(n->key);
	free(n->update_key);
	free(n->thread_key);
	free(n->host);
	free(n->server);
	free(n->text);
	free(n->detail);
	free(n->tail);
	free(n->tail_label);
	free(n->reason);
	free(n->context_error);
	for (i = 0; i < n->ntails; i++) {
		free(n->tails[i].process);
		free(n->tails[i].label);
		free(n->tails[i].text);
	}
	free(n->tails);
	for (i = 0; i < n->nprocesses; i++)
		free(n->processes[i]);
	free(n->processes);
	free(n->alerts);
	free(n);
}

static struct policy_note *
note_new(enum policy_note_kind kind, int sev, const char *route,
    const char *key, const char *id, int64_t now)
{
	struct policy_note	*n;

	n = xcalloc(1, sizeof *n);
	n->kind = kind;
	n->severity = sev;
	n->route = xstrdup(nz(route));
	n->key = xstrdup(key);
	n->id = xstrdup(id);
	n->update_key = xstrdup("");
	n->thread_key = xstrdup("");
	n->processes = xcalloc(1, sizeof *n->processes);
	n->time_ms = now;
	return (n);
}

static void
note_add_process(struct policy_note *n, const char *label)
{
	n->processes = xreallocarray(n->processes, n->nprocesses + 2,
	    sizeof *n->processes);
	n->alerts = xreallocarray(n->alerts, n->nprocesses + 1,
	    sizeof *n->alerts);
	n->alerts[n->nprocesses] = POLICY_ALERT_NONE;
	n->processes[n->nprocesses++] = xstrdup(label);
	n->processes[n->nprocesses] = NULL;
}

/* What the last process added to n means for an alert router. */
static void
note_alert(struct policy_note *n, int what)
{
	if (n->nprocesses > 0)
		n->alerts[n->nprocesses - 1] = what;
}

/*
 * Add process's tail (text, borrowed; NULL or "" adds nothing) to n; the
 * first one is also n->tail.  label NULL: the stderr ring's.
 */
static void
note_add_tail(struct policy_note *n, const char *process, const char *label,
    const char *text)
{
	struct policy_tail	*t;

	if (text == NULL || text[0] == '\0')
		return;
	if (label == NULL)
		label = LABEL_STDERR;
	if (n->ntails >= POLICY_NOTE_TAILS) {
		n->tails_omitted++;
		return;
	}
	n->tails = xreallocarray(n->tails, n->ntails + 1, sizeof *n->tails);
	t = &n->tails[n->ntails++];
	t->process = xstrdup(process);
	t->label = xstrdup(label);
	t->text = xstrdup(text);
	if (n->ntails == 1) {
		setstr(&n->tail, text);
		setstr(&n->tail_label, label);
	}
}

static void
note_push(struct policy *p, struct policy_note *n)
{
	if (n->host == NULL)
		n->host = xstrdup("");
	if (n->server == NULL)
		n->server = xstrdup("");
	if (n->text == NULL)
		n->text = xstrdup("");
	if (n->detail == NULL)
		n->detail = xstrdup("");
	TAILQ_INSERT_TAIL(&p->notes, n, entry);
}

struct policy_note *
policy_take(struct policy *p)
{
	struct policy_note	*n;

	if ((n = TAILQ_FIRST(&p->notes)) != NULL)
		TAILQ_REMOVE(&p->notes, n, entry);
	return (n);
}

/* Processes and servers. */

static void
tail_clear(struct proc *pr)
{
	struct tline	*l;

	while ((l = TAILQ_FIRST(&pr->tail)) != NULL) {
		TAILQ_REMOVE(&pr->tail, l, entry);
		free(l->text);
		free(l);
	}
	pr->ntail = 0;
	pr->tailbytes = 0;
	free(pr->partial);
	pr->partial = NULL;
}

static void
ep_reset(struct episode *ep)
{
	free(ep->first_id);
	memset(ep, 0, sizeof *ep);
}

static void
ctx_clear(struct proc *pr)
{
	free(pr->ctx_reason);
	free(pr->ctx_tail);
	free(pr->ctx_label);
	free(pr->ctx_error);
	pr->ctx_reason = pr->ctx_tail = pr->ctx_label = pr->ctx_error = NULL;
}

static void
proc_free(struct proc *pr)
{
	free(pr->host);
	free(pr->server);
	free(pr->group);
	free(pr->name);
	free(pr->label);
	free(pr->ident);
	free(pr->route);
	ep_reset(&pr->ep);
	free(pr->flap_key);
	free(pr->problem_key);
	free(pr->problem_what);
	tail_clear(pr);
	ctx_clear(pr);
	free(pr);
}

static struct proc *
proc_find(struct policy *p, const char *host, const char *server,
    const char *group, const char *name)
{
	struct proc	*pr;

	TAILQ_FOREACH(pr, &p->procs, entry) {
		if (strcmp(pr->name, name) == 0 &&
		    strcmp(pr->group, group) == 0 &&
		    strcmp(pr->server, server) == 0 &&
		    strcmp(pr->host, host) == 0)
			return (pr);
	}
	return (NULL);
}

static struct proc *
proc_get(struct policy *p, const char *host, const char *server,
    const char *group, const char *name)
{
	struct proc	*pr;

	if ((pr = proc_find(p, host, server, group, name)) != NULL)
		return (pr);
	pr = xcalloc(1, sizeof *pr);
	pr->host = xstrdup(host);
	pr->server = xstrdup(server);
	pr->group = xstrdup(group);
	pr->name = xstrdup(name);
	xasprintf(&pr->label, "%s:%s", group, name);
	xasprintf(&pr->ident, "%s/%s/%s", host, server, pr->label);
	pr->route = xstrdup(route_for(p, pr->label));
	pr->state = -1;
	TAILQ_INIT(&pr->tail);
	TAILQ_INSERT_TAIL(&p->procs, pr, entry);
	return (pr);
}

static void
server_free(struct server *sv)
{
	free(sv->host);
	free(sv->server);
	free(sv->silent_key);
	free(sv);
}

static struct server *
server_get(struct policy *p, const char *host, const char *server)
{
	struct server	*sv;

	TAILQ_FOREACH(sv, &p->servers, entry) {
		if (strcmp(sv->host, host) == 0 &&
		    strcmp(sv->server, server) == 0)
			return (sv);
	}
	sv = xcalloc(1, sizeof *sv);
	sv->host = xstrdup(host);
	sv->server = xstrdup(server);
	TAILQ_INSERT_TAIL(&p->servers, sv, entry);
	return (sv);
}

static void
report_free(struct report *r)
{
	free(r->ident);
	free(r->label);
	free(r->host);
	free(r->server);
	free(r->key);
	free(r->text);
	free(r->brief);
	free(r->detail);
	free(r->tail);
	free(r->tail_label);
	free(r->reason);
	free(r->ctx_error);
	free(r->thread_key);
	free(r);
}

static void
group_free(struct group *g)
{
	struct report	*r;

	while ((r = TAILQ_FIRST(&g->reports)) != NULL) {
		TAILQ_REMOVE(&g->reports, r, entry);
		report_free(r);
	}
	free(g->route);
	free(g);
}

/* stderr tail */

static void
tail_push(struct policy *p, struct proc *pr, const char *s, size_t len)
{
	struct tline	*l;

	if (len > 0 && s[len - 1] == '\r')
		len--;
	l = xcalloc(1, sizeof *l);
	l->text = utf8_clean(s, len, p->conf.tail_bytes);
	l->seq = ++pr->tail_seq;
	TAILQ_INSERT_TAIL(&pr->tail, l, entry);
	pr->ntail++;
	pr->tailbytes += strlen(l->text) + 1;
	while ((pr->ntail > p->conf.tail_lines ||
	    pr->tailbytes > p->conf.tail_bytes) &&
	    (l = TAILQ_FIRST(&pr->tail)) != NULL) {
		TAILQ_REMOVE(&pr->tail, l, entry);
		pr->ntail--;
		pr->tailbytes -= strlen(l->text) + 1;
		free(l->text);
		free(l);
	}
}

/* A PROCESS_LOG_STDERR chunk: may hold several lines or part of one. */
static void
tail_feed(struct policy *p, struct proc *pr, const char *data, size_t len)
{
	char	*buf, *nl, *s;
	size_t	 blen;

	if (data == NULL || len == 0)
		return;
	blen = (pr->partial != NULL ? strlen(pr->partial) : 0) + len;
	buf = xmalloc(blen + 1);
	if (pr->partial != NULL)
		memcpy(buf, pr->partial, strlen(pr->partial));
	memcpy(buf + blen - len, data, len);
	buf[blen] = '\0';
	free(pr->partial);
	pr->partial = NULL;

	s = buf;
	while ((nl = memchr(s, '\n', blen - (s - buf))) != NULL) {
		tail_push(p, pr, s, nl - s);
		s = nl + 1;
	}
	if (s < buf + blen) {
		if ((size_t)(buf + blen - s) > p->conf.tail_bytes)
			tail_push(p, pr, s, buf + blen - s);
		else
			pr->partial = xstrndup(s, buf + blen - s);
	}
	free(buf);
}

/* Lines not yet sent, newline-separated, or NULL; marks them sent. */
static char *
tail_take(struct proc *pr)
{
	struct tline	*l;
	char		*out = NULL, *part;

	TAILQ_FOREACH(l, &pr->tail, entry) {
		if (l->seq > pr->tail_shown)
			appendf(&out, "%s%s", out != NULL ? "\n" : "", l->text);
	}
	if (pr->partial != NULL && pr->partial[0] != '\0') {
		/* Shown once: the rest of the line becomes a line. */
		part = utf8_clean(pr->partial, strlen(pr->partial),
		    strlen(pr->partial));
		appendf(&out, "%s%s", out != NULL ? "\n" : "", part);
		free(part);
		free(pr->partial);
		pr->partial = NULL;
	}
	pr->tail_shown = pr->tail_seq;
	return (out);
}

/* Crash context */

/* A string member of o, or NULL. */
static const char *
ctx_string(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) == 0)
		return (NULL);
	return (json_object_get_string(v));
}

/* One line of text from s: clean UTF-8, no control characters. */
static char *
ctx_line(const char *s)
{
	return (utf8_clean(s, strlen(s), CTX_TEXT_MAX));
}

/*
 * A log tail as kept: its last CTX_TAIL_MAX bytes from a line start, each
 * line clean UTF-8 (tabs kept), without trailing newlines; NULL if empty.
 */
static char *
ctx_tail(const char *s)
{
	const char	*e, *nl;
	char		*out = NULL, *l;
	size_t		 len = strlen(s);

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (len > CTX_TAIL_MAX) {
		s += len - CTX_TAIL_MAX;
		len = CTX_TAIL_MAX;
		if ((nl = memchr(s, '\n', len)) != NULL) {
			len -= nl + 1 - s;
			s = nl + 1;
		}
	}
	for (e = s + len; s < e; s = nl + 1) {
		if ((nl = memchr(s, '\n', e - s)) == NULL)
			nl = e;
		l = utf8_clean(s, nl - s - (nl > s && nl[-1] == '\r'),
		    CTX_TAIL_MAX);
		appendf(&out, "%s%s", out != NULL ? "\n" : "", l);
		free(l);
	}
	return (out);
}

/*
 * Why a process went down, in words, from the context of a state event
 * (ctx.c's rules, agreed with the listener's helper): "exit status 7",
 * "killed by SIGKILL (core dumped)", "exited too quickly: never stayed up
 * for startsecs (last exit status 1)", "spawn error: can't find command
 * '/x'"; and supervisord's description of a FATAL or BACKOFF when it
 * says more than the spawn error.  NULL if the context says nothing.
 */
static char *
ctx_reason(struct json_object *o, int state)
{
	struct json_object	*v;
	const char		*sig, *se, *desc;
	char			*out = NULL, *a, *b;
	int			 early, has_es = 0;
	int64_t			 es = 0;

	if (json_object_object_get_ex(o, "exitstatus", &v) &&
	    json_object_is_type(v, json_type_int)) {
		has_es = 1;
		es = json_object_get_int64(v);
	}
	sig = ctx_string(o, "signal");
	se = ctx_string(o, "spawnerr");
	desc = ctx_string(o, "description");
	early = state == POLICY_STATE_FATAL || state == POLICY_STATE_BACKOFF;
	a = sig != NULL ? ctx_line(sig) : NULL;
	if (early && se != NULL && strncmp(se, "Exited too quickly", 18) == 0) {
		out = xstrdup("exited too quickly: never stayed up for "
		    "startsecs");
		if (has_es)
			appendf(&out, " (last exit status %" PRId64 ")", es);
		else if (a != NULL)
			appendf(&out, " (last killed by %s)", a);
	} else if (a != NULL)
		xasprintf(&out, "killed by %s", a);
	else if (has_es)
		xasprintf(&out, "exit status %" PRId64, es);
	else if (se != NULL) {
		b = ctx_line(se);
		xasprintf(&out, "spawn error: %s", b);
		free(b);
	}
	if (early && desc != NULL && (se == NULL || strcmp(desc, se) != 0)) {
		b = ctx_line(desc);
		appendf(&out, "%s%s", out != NULL ? "; " : "", b);
		free(b);
	}
	free(a);
	return (out);
}

/* Keep the context of a state event (to: its state) for pr's episode. */
static void
ctx_set(struct proc *pr, struct json_object *o, int to)
{
	const char	*s;

	if (o == NULL || !json_object_is_type(o, json_type_object))
		return;
	ctx_clear(pr);
	pr->ctx_reason = ctx_reason(o, to);
	if ((s = ctx_string(o, "error")) != NULL)
		pr->ctx_error = ctx_line(s);
	if ((s = ctx_string(o, "stderr_tail")) != NULL &&
	    (pr->ctx_tail = ctx_tail(s)) != NULL)
		pr->ctx_label = xstrdup(LABEL_STDERR);
	else if ((s = ctx_string(o, "stdout_tail")) != NULL &&
	    (pr->ctx_tail = ctx_tail(s)) != NULL)
		pr->ctx_label = xstrdup(LABEL_STDOUT);
}

/*
 * The tail a note about pr shows, or NULL; *label gets its label (both
 * malloc'd).  The context's, taken once; else the stderr ring's lines not
 * yet shown.  Either way the ring's lines count as shown.
 */
static char *
proc_tail(struct proc *pr, char **label)
{
	char	*ring;

	ring = tail_take(pr);
	*label = NULL;
	if (pr->ctx_tail != NULL) {
		free(ring);
		ring = pr->ctx_tail;
		*label = pr->ctx_label;
		pr->ctx_tail = pr->ctx_label = NULL;
		return (ring);
	}
	if (ring != NULL)
		*label = xstrdup(LABEL_STDERR);
	return (ring);
}

/* The last non-empty line of a tail, at most TEXT_LINE_MAX characters. */
static char *
tail_last_line(const char *tail)
{
	const char	*e, *b;
	char		*out, *t;
	size_t		 n, i;

	e = tail + strlen(tail);
	while (e > tail && (e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\t'))
		e--;
	for (b = e; b > tail && b[-1] != '\n'; b--)
		;
	while (b < e && (*b == ' ' || *b == '\t'))
		b++;
	if (b == e)
		return (NULL);
	out = xstrndup(b, e - b);
	for (i = 0, n = 0, t = out; *t != '\0'; t++) {
		if (((unsigned char)*t & 0xc0) != 0x80 && n++ == TEXT_LINE_MAX - 1)
			i = t - out;
	}
	if (n > TEXT_LINE_MAX) {
		out[i] = '\0';
		t = out;
		xasprintf(&out, "%s…", t);
		free(t);
	}
	return (out);
}

/* Stories */

/*
 * "STARTING → BACKOFF ×3 → FATAL": the states, repeated runs folded.  The
 * first from_state is left out when it is STOPPED (a start), kept
 * otherwise ("RUNNING → EXITED → …").
 */
static char *
ep_story(const struct episode *ep)
{
	int	 seq[EP_MAX_TRANS + 1];
	size_t	 n = 0, i, k, per, reps, best, bestreps, j;
	char	*out = NULL;

	if (ep->from != -1 && ep->from != POLICY_STATE_STOPPED)
		seq[n++] = ep->from;
	for (i = 0; i < ep->nt; i++)
		seq[n++] = ep->t[i].to;
	if (ep->ndropped > 0)
		n--;		/* the last one, after the "…" */
	i = 0;
	while (i < n) {
		best = 1;
		bestreps = 1;
		for (per = 1; per <= 3; per++) {
			for (reps = 1; i + (reps + 1) * per <= n; reps++) {
				for (k = 0; k < per; k++) {
					if (seq[i + reps * per + k] !=
					    seq[i + k])
						break;
				}
				if (k < per)
					break;
			}
			if (reps >= 2 && per * reps > best * bestreps) {
				best = per;
				bestreps = reps;
			}
		}
		if (out != NULL)
			appendf(&out, " → ");
		if (bestreps == 1)
			appendf(&out, "%s", sname(seq[i]));
		else if (best == 1)
			appendf(&out, "%s ×%zu", sname(seq[i]), bestreps);
		else if (best == 2 && seq[i] == POLICY_STATE_STARTING &&
		    seq[i + 1] == POLICY_STATE_BACKOFF)
			appendf(&out, "%s → %s ×%zu", sname(seq[i]),
			    sname(seq[i + 1]), bestreps);
		else {
			appendf(&out, "(");
			for (j = 0; j < best; j++)
				appendf(&out, "%s%s", j > 0 ? " → " : "",
				    sname(seq[i + j]));
			appendf(&out, ") ×%zu", bestreps);
		}
		i += best * bestreps;
	}
	if (ep->ndropped > 0)
		appendf(&out, "%s… (%zu more) → %s", out != NULL ? " → " : "",
		    ep->ndropped, sname(seq[n]));
	if (out == NULL)
		out = xstrdup("?");
	return (out);
}

static void
story_line(char **out, const struct trans *t)
{
	char	tb[16];

	fmt_time(t->at, tb, sizeof tb);
	appendf(out, "• %s %s → %s", tb, sname(t->from), sname(t->to));
	if (t->to == POLICY_STATE_EXITED && t->expected == 0)
		appendf(out, " (unexpected)");
	else if (t->to == POLICY_STATE_EXITED && t->expected == 1)
		appendf(out, " (expected)");
	if ((t->to == POLICY_STATE_BACKOFF || t->to == POLICY_STATE_STARTING) &&
	    t->tries > 0)
		appendf(out, ", try %d", t->tries);
	if (t->pid > 0)
		appendf(out, ", pid %" PRId64, t->pid);
	appendf(out, "\n");
}

/* The detail of a single episode: its transitions with times. */
static char *
ep_detail(const struct proc *pr, const struct episode *ep, int64_t now,
    const char *extra)
{
	char	*out = NULL, tb[16], db[32];
	size_t	 i;

	if (extra != NULL)
		appendf(&out, "%s\n", extra);
	if (ep->nt + ep->ndropped <= STORY_LINES) {
		for (i = 0; i < ep->nt; i++)
			story_line(&out, &ep->t[i]);
	} else {
		for (i = 0; i < 5; i++)
			story_line(&out, &ep->t[i]);
		appendf(&out, "• … %zu more transitions\n",
		    ep->nt + ep->ndropped - 11);
		for (i = ep->nt - 6; i < ep->nt; i++)
			story_line(&out, &ep->t[i]);
	}
	fmt_time(ep->start_ms, tb, sizeof tb);
	fmt_dur(now - ep->start_ms, db, sizeof db);
	appendf(&out, "server `%s` · since %s UTC · %s", pr->server, tb, db);
	if (ep->crashes > 0)
		appendf(&out, " · %d unexpected %s", ep->crashes,
		    plural(ep->crashes, "exit", "exits"));
	if (ep->maxtries > 0)
		appendf(&out, " · %d %s", ep->maxtries,
		    plural(ep->maxtries, "try", "tries"));
	return (out);
}

/* Episodes */

static void
ep_open(struct policy *p, struct proc *pr, const char *id, int from,
    int64_t now)
{
	ep_reset(&pr->ep);
	pr->ep.open = 1;
	pr->ep.first_id = xstrdup(id);
	pr->ep.start_ms = now;
	pr->ep.from = from;
}

static void
ep_add(struct episode *ep, const struct trans *t)
{
	if (ep->nt < EP_MAX_TRANS)
		ep->t[ep->nt++] = *t;
	else {
		ep->t[EP_MAX_TRANS - 1] = *t;
		ep->ndropped++;
	}
	switch (t->to) {
	case POLICY_STATE_EXITED:
		if (t->expected == 0) {
			ep->crashes++;
			ep->restarted = 0;
			ep->stopped_after_crash = 0;
		}
		break;
	case POLICY_STATE_BACKOFF:
		ep->backoffs++;
		break;
	case POLICY_STATE_STARTING:
		ep->starts++;
		if (ep->crashes > 0)
			ep->restarted = 1;
		break;
	case POLICY_STATE_STOPPING:
		ep->stops++;
		break;
	case POLICY_STATE_STOPPED:
		if (ep->crashes > 0 && !ep->restarted)
			ep->stopped_after_crash = 1;
		break;
	}
	if (t->tries > ep->maxtries)
		ep->maxtries = t->tries;
}

struct verdict {
	int	 cls;
	int	 sev;
	int	 problem;	/* counts as a crash / leaves a problem open */
	char	*how;		/* "exited too quickly, gave up after 3 …" */
};

/*
 * What the episode was and how it went, in words; reason (the crash
 * context's, or NULL) says why it went down and is woven in.
 */
static void
ep_classify(const struct proc *pr, const struct episode *ep, int final,
    enum close_how how, int64_t now, const char *reason, struct verdict *v)
{
	char	db[32], tb[16], *r = NULL;

	memset(v, 0, sizeof *v);
	if (how == CLOSE_MAX) {
		fmt_dur(now - ep->start_ms, db, sizeof db);
		v->cls = CLS_UNSETTLED;
		v->sev = POLICY_SEV_WARNING;
		v->problem = 1;
		xasprintf(&v->how, "has not settled after %s", db);
	} else if (final == POLICY_STATE_FATAL) {
		v->cls = CLS_FATAL;
		v->sev = POLICY_SEV_ERROR;
		v->problem = 1;
		if (pr->flapping) {
			fmt_time(pr->flap_since, tb, sizeof tb);
			xasprintf(&v->how, "gave up after flapping (%d "
			    "unexpected %s since %s UTC)", pr->flap_crashes,
			    plural(pr->flap_crashes, "exit", "exits"), tb);
		} else if (ep->crashes > 0 && ep->backoffs > 0)
			xasprintf(&v->how, "exited unexpectedly, then gave up "
			    "after %d %s to restart it", ep->maxtries,
			    plural(ep->maxtries, "try", "tries"));
		else if (ep->backoffs > 0 && reason != NULL) {
			xasprintf(&v->how, "%s; gave up after %d %s", reason,
			    ep->maxtries, plural(ep->maxtries, "try", "tries"));
			reason = NULL;
		} else if (ep->backoffs > 0)
			xasprintf(&v->how, "exited too quickly, gave up after "
			    "%d %s", ep->maxtries,
			    plural(ep->maxtries, "try", "tries"));
		else
			v->how = xstrdup("could not be started");
		if (reason != NULL)
			appendf(&v->how, "; %s", reason);
	} else if (final == POLICY_STATE_UNKNOWN) {
		v->cls = CLS_UNKNOWN;
		v->sev = POLICY_SEV_ERROR;
		v->problem = 1;
		v->how = xstrdup("supervisord lost track of its state");
	} else if (final == POLICY_STATE_RUNNING && ep->crashes > 0) {
		v->cls = CLS_CRASH_RESTARTED;
		v->sev = POLICY_SEV_WARNING;
		v->problem = 1;
		if (reason != NULL)
			xasprintf(&r, " (%s%s)", ep->crashes > 1 ? "last: " :
			    "", reason);
		if (ep->crashes == 1)
			xasprintf(&v->how, "exited unexpectedly%s, restarted",
			    nz(r));
		else
			xasprintf(&v->how, "exited unexpectedly %d times%s, "
			    "restarted", ep->crashes, nz(r));
	} else if (final == POLICY_STATE_RUNNING && ep->backoffs > 0) {
		v->cls = CLS_START_RETRIED;
		v->sev = POLICY_SEV_WARNING;
		v->problem = 1;
		xasprintf(&v->how, "started after %d failed %s", ep->backoffs,
		    plural(ep->backoffs, "try", "tries"));
		if (reason != NULL)
			appendf(&v->how, " (last: %s)", reason);
	} else if ((final == POLICY_STATE_STOPPED ||
	    final == POLICY_STATE_EXITED) && ep->crashes > 0 &&
	    !ep->restarted) {
		v->cls = CLS_CRASH_DOWN;
		v->sev = POLICY_SEV_ERROR;
		v->problem = 1;
		if (reason != NULL)
			xasprintf(&r, " (%s)", reason);
		xasprintf(&v->how, "exited unexpectedly%s and was not "
		    "restarted", nz(r));
	} else if (final == POLICY_STATE_STOPPED && ep->crashes > 0) {
		v->cls = CLS_CRASH_DOWN;
		v->sev = POLICY_SEV_WARNING;
		v->problem = 1;
		if (reason != NULL)
			xasprintf(&r, " (%s)", reason);
		xasprintf(&v->how, "exited unexpectedly%s, was restarted, "
		    "then stopped", nz(r));
	} else if (final == POLICY_STATE_RUNNING) {
		if (ep->stops > 0) {
			v->cls = CLS_RESTARTED;
			v->how = xstrdup("restarted");
		} else {
			v->cls = CLS_STARTED;
			v->how = xstrdup("started");
		}
		v->sev = POLICY_SEV_INFO;
	} else if (final == POLICY_STATE_STOPPED) {
		v->cls = CLS_STOPPED;
		v->sev = POLICY_SEV_INFO;
		v->how = xstrdup("stopped");
	} else if (final == POLICY_STATE_EXITED) {
		v->cls = CLS_EXITED;
		v->sev = POLICY_SEV_INFO;
		v->how = xstrdup("exited as expected");
	} else {
		v->cls = CLS_OTHER;
		v->sev = POLICY_SEV_INFO;
		xasprintf(&v->how, "now %s", sname(final));
	}
	free(r);
}

/* Crash history */

static void
times_push(int64_t *v, size_t *n, int64_t t)
{
	if (*n == FLAP_MAX) {
		memmove(v, v + 1, (FLAP_MAX - 1) * sizeof *v);
		(*n)--;
	}
	v[(*n)++] = t;
}

static void
times_prune(int64_t *v, size_t *n, int64_t since)
{
	size_t	i = 0;

	while (i < *n && v[i] < since)
		i++;
	memmove(v, v + i, (*n - i) * sizeof *v);
	*n -= i;
}

/* pr's tail (proc_tail) into n. */
static void
note_proc_tail(struct policy_note *n, struct proc *pr)
{
	char	*tail, *label;

	tail = proc_tail(pr, &label);
	note_add_tail(n, pr->label, label, tail);
	free(tail);
	free(label);
}

static void
flap_text(const struct proc *pr, char **text, const char *lead)
{
	char	tb[16];

	fmt_time(pr->flap_since, tb, sizeof tb);
	xasprintf(text, "%s is flapping on %s — %d unexpected %s and %d "
	    "%s since %s UTC, now %s%s", pr->label, pr->host,
	    pr->flap_crashes, plural(pr->flap_crashes, "exit", "exits"),
	    pr->flap_restarts, plural(pr->flap_restarts, "restart", "restarts"),
	    tb, sname(pr->state), nz(lead));
}

static char *
flap_detail(const struct policy *p, const struct proc *pr, int64_t now)
{
	char	*out = NULL, db[32], wb[32];

	fmt_dur(now - pr->flap_since, db, sizeof db);
	fmt_dur(p->conf.flap_window_ms, wb, sizeof wb);
	appendf(&out, "%d unexpected %s (EXITED unexpectedly or failed "
	    "episodes), %d %s in %s; threshold %d in %s.\n",
	    pr->flap_crashes, plural(pr->flap_crashes, "exit", "exits"),
	    pr->flap_restarts, plural(pr->flap_restarts, "restart", "restarts"),
	    db, p->conf.flap_threshold, wb);
	appendf(&out, "%d %s folded into this message", pr->flap_folded,
	    plural(pr->flap_folded, "episode", "episodes"));
	fmt_dur(p->conf.flap_calm_ms, db, sizeof db);
	appendf(&out, "; stable again after %s without a crash.\n", db);
	appendf(&out, "server `%s`", pr->server);
	return (out);
}

static void
flap_enter(struct policy *p, struct proc *pr, const char *origin,
    int64_t now, int folded)
{
	struct policy_note	*n;
	char			*key;
	size_t			 i;

	pr->flapping = 1;
	pr->flap_since = pr->ncrash > 0 ? pr->crash_t[0] : now;
	pr->flap_crashes = (int)pr->ncrash;
	pr->flap_restarts = 0;
	for (i = 0; i < pr->nstart; i++) {
		if (pr->start_t[i] >= pr->flap_since)
			pr->flap_restarts++;
	}
	pr->flap_folded = folded;
	pr->flap_updates = 0;
	pr->flap_dirty = 0;
	pr->flap_last_crash = now;
	pr->flap_last_note = now;
	xasprintf(&key, "flap:%s@%s", pr->ident, origin);
	setstr(&pr->flap_key, key);
	setstr(&pr->problem_key, key);
	setstr(&pr->problem_what, "flapping");
	pr->problem_ms = now;

	n = note_new(POLICY_NOTE_NEW, POLICY_SEV_WARNING, pr->route, key, key,
	    now);
	flap_text(pr, &n->text, "");
	n->detail = flap_detail(p, pr, now);
	note_proc_tail(n, pr);
	n->host = xstrdup(pr->host);
	n->server = xstrdup(pr->server);
	note_add_process(n, pr->label);
	note_alert(n, POLICY_ALERT_FLAPPING);
	note_push(p, n);
	free(key);
}

static void
flap_update(struct policy *p, struct proc *pr, int64_t now)
{
	struct policy_note	*n;
	char			*id, tb[16], *lead;

	pr->flap_updates++;
	xasprintf(&id, "%s#u%d", pr->flap_key, pr->flap_updates);
	n = note_new(POLICY_NOTE_UPDATE, POLICY_SEV_WARNING, pr->route,
	    pr->flap_key, id, now);
	setstr(&n->update_key, pr->flap_key);
	fmt_time(now, tb, sizeof tb);
	xasprintf(&lead, " (updated %s UTC)", tb);
	flap_text(pr, &n->text, lead);
	n->detail = flap_detail(p, pr, now);
	note_proc_tail(n, pr);
	n->host = xstrdup(pr->host);
	n->server = xstrdup(pr->server);
	note_add_process(n, pr->label);
	note_alert(n, POLICY_ALERT_FLAPPING);
	note_push(p, n);
	pr->flap_last_note = now;
	pr->flap_dirty = 0;
	free(lead);
	free(id);
}

static void
flap_clear(struct proc *pr)
{
	pr->flapping = 0;
	pr->flap_dirty = 0;
	pr->ncrash = 0;
	pr->nstart = 0;
}

/* Calm for flap_calm_ms: one REPLY "stable again" with the totals. */
static void
flap_calm(struct policy *p, struct proc *pr, int64_t now)
{
	struct policy_note	*n;
	char			*id, tb[16], te[16], db[32];

	if (pr->flap_dirty)
		flap_update(p, pr, now);
	xasprintf(&id, "%s#stable", pr->flap_key);
	n = note_new(POLICY_NOTE_REPLY, pr->state == POLICY_STATE_RUNNING ?
	    POLICY_SEV_OK : POLICY_SEV_INFO, pr->route, id, id, now);
	setstr(&n->thread_key, pr->flap_key);
	fmt_time(pr->flap_since, tb, sizeof tb);
	fmt_time(pr->flap_last_crash, te, sizeof te);
	fmt_dur(now - pr->flap_last_crash, db, sizeof db);
	xasprintf(&n->text, "%s is stable again on %s — %s, calm for %s "
	    "after flapping: %d unexpected %s and %d %s from %s to %s UTC",
	    pr->label, pr->host, sname(pr->state), db, pr->flap_crashes,
	    plural(pr->flap_crashes, "exit", "exits"), pr->flap_restarts,
	    plural(pr->flap_restarts, "restart", "restarts"), tb, te);
	n->detail = flap_detail(p, pr, now);
	n->host = xstrdup(pr->host);
	n->server = xstrdup(pr->server);
	note_add_process(n, pr->label);
	note_alert(n, POLICY_ALERT_RESOLVED);
	note_push(p, n);
	free(id);
	flap_clear(pr);
	if (pr->problem_key != NULL &&
	    strcmp(pr->problem_key, pr->flap_key) == 0) {
		free(pr->problem_key);
		pr->problem_key = NULL;
	}
}

/*
 * Count a crash.  Returns 1 if this made the process start flapping
 * (the caller's episode is then folded into it).
 */
static int
crash(struct policy *p, struct proc *pr, const char *origin, int64_t now,
    int can_flap, int folded)
{
	if (pr->flapping) {
		pr->flap_crashes++;
		pr->flap_last_crash = now;
		pr->flap_dirty = 1;
		return (0);
	}
	times_push(pr->crash_t, &pr->ncrash, now);
	times_prune(pr->crash_t, &pr->ncrash, now - p->conf.flap_window_ms);
	times_prune(pr->start_t, &pr->nstart, now - p->conf.flap_window_ms);
	if (can_flap && (int)pr->ncrash >= p->conf.flap_threshold) {
		flap_enter(p, pr, origin, now, folded);
		return (1);
	}
	return (0);
}

/* Groups */

static int64_t
group_deadline(const struct policy *p, const struct group *g)
{
	int64_t	d;

	d = g->last + p->conf.group_window_ms;
	if (g->first + p->conf.group_max_ms < d)
		d = g->first + p->conf.group_max_ms;
	if (g->urgent != -1 && g->urgent < d)
		d = g->urgent;
	return (d);
}

static void
group_add(struct policy *p, const char *route, struct report *r,
    int64_t now)
{
	struct group	*g;
	int64_t		 old = -1;

	TAILQ_FOREACH(g, &p->groups, entry) {
		if (strcmp(g->route, route) == 0)
			break;
	}
	if (g != NULL)
		old = group_deadline(p, g);
	else {
		g = xcalloc(1, sizeof *g);
		g->route = xstrdup(route);
		g->first = now;
		g->urgent = -1;
		TAILQ_INIT(&g->reports);
		TAILQ_INSERT_TAIL(&p->groups, g, entry);
	}
	TAILQ_INSERT_TAIL(&g->reports, r, entry);
	g->last = now;
	if (r->sev == POLICY_SEV_ERROR && g->urgent == -1)
		g->urgent = now + p->conf.group_window_ms;
	dl_moved(p, old, group_deadline(p, g));
}

static void
rekey_reports(struct reports *rs, const char *from, const char *to)
{
	struct report	*r;

	TAILQ_FOREACH(r, rs, entry) {
		if (r->thread_key != NULL && strcmp(r->thread_key, from) == 0)
			setstr(&r->thread_key, to);
	}
}

/*
 * Rename a provisional incident key (an episode's) to the key of the
 * group note that reported it, in processes and in pending recoveries
 * (those of the group being flushed, cur, included).
 */
static void
rekey(struct policy *p, struct group *cur, const char *from, const char *to)
{
	struct proc	*pr;
	struct group	*g;

	TAILQ_FOREACH(pr, &p->procs, entry) {
		if (pr->problem_key != NULL &&
		    strcmp(pr->problem_key, from) == 0)
			setstr(&pr->problem_key, to);
	}
	TAILQ_FOREACH(g, &p->groups, entry)
		rekey_reports(&g->reports, from, to);
	rekey_reports(&cur->reports, from, to);
}

static int
sev_rank(int sev)
{
	switch (sev) {
	case POLICY_SEV_ERROR:
		return (3);
	case POLICY_SEV_WARNING:
		return (2);
	case POLICY_SEV_OK:
		return (1);
	default:
		return (0);
	}
}

/* A report's POLICY_ALERT_*: a recovery resolves, a problem fires. */
static int
report_alert(const struct report *r)
{
	if (r->thread_key != NULL || r->cls == CLS_RECOVERED)
		return (POLICY_ALERT_RESOLVED);
	switch (r->cls) {
	case CLS_FATAL:
		return (POLICY_ALERT_FATAL);
	case CLS_UNKNOWN:
		return (POLICY_ALERT_UNKNOWN);
	case CLS_UNSETTLED:
		return (POLICY_ALERT_UNSETTLED);
	case CLS_CRASH_DOWN:
		return (POLICY_ALERT_EXITED);
	case CLS_CRASH_RESTARTED:
		return (POLICY_ALERT_CRASHED);
	case CLS_START_RETRIED:
		return (POLICY_ALERT_START_FAILED);
	default:
		return (POLICY_ALERT_NONE);
	}
}

/* A note for several reports of one group ("20 processes restarted"). */
static struct policy_note *
group_note(struct policy *p, struct report **rv, size_t n,
    enum policy_note_kind kind, const char *key, const char *id,
    const char *route, int64_t now)
{
	struct policy_note	*note;
	int			 counts[POLICY_NSTATES], cls, sev, s, order[4];
	size_t			 i, listed, hosts;
	char			*states = NULL, *names = NULL, *hostlist = NULL;
	const char		*errof = NULL, *err = NULL;
	size_t			 nerr = 0;
	int			 o, rank;

	memset(counts, 0, sizeof counts);
	cls = rv[0]->cls;
	sev = rv[0]->sev;
	hosts = 1;
	for (i = 0; i < n; i++) {
		counts[rv[i]->final]++;
		if (rv[i]->cls != cls)
			cls = CLS_OTHER;
		if (sev_rank(rv[i]->sev) > sev_rank(sev))
			sev = rv[i]->sev;
		if (i > 0 && strcmp(rv[i]->host, rv[0]->host) != 0 &&
		    (hostlist == NULL || strstr(hostlist, rv[i]->host) ==
		    NULL)) {
			appendf(&hostlist, ", %s", rv[i]->host);
			hosts++;
		}
	}
	note = note_new(kind, sev, route, key, id, now);

	/* "all RUNNING" or "3 FATAL, 17 RUNNING", worst states first. */
	order[0] = POLICY_SEV_ERROR;
	order[1] = POLICY_SEV_WARNING;
	order[2] = POLICY_SEV_OK;
	order[3] = POLICY_SEV_INFO;
	for (s = 0; s < POLICY_NSTATES; s++) {
		if (counts[s] == (int)n)
			xasprintf(&states, "all %s", sname(s));
	}
	if (states == NULL) {
		static const int bad[POLICY_NSTATES] = {
			POLICY_STATE_FATAL, POLICY_STATE_UNKNOWN,
			POLICY_STATE_EXITED, POLICY_STATE_BACKOFF,
			POLICY_STATE_STOPPING, POLICY_STATE_STARTING,
			POLICY_STATE_STOPPED, POLICY_STATE_RUNNING
		};
		for (s = 0; s < POLICY_NSTATES; s++) {
			if (counts[bad[s]] > 0)
				appendf(&states, "%s%d %s", states != NULL ?
				    ", " : "", counts[bad[s]], sname(bad[s]));
		}
	}
	listed = 0;
	for (o = 0; o < 4; o++) {
		for (i = 0; i < n; i++) {
			if (rv[i]->sev != order[o])
				continue;
			if (listed++ < GROUP_TEXT_NAMES)
				appendf(&names, "%s%s", listed > 1 ? ", " : "",
				    rv[i]->label);
		}
	}
	if (n > GROUP_TEXT_NAMES)
		appendf(&names, ", …");
	xasprintf(&note->text, "%zu processes %s on %s%s: %s (%s)", n,
	    cls_verbs[cls], rv[0]->host, nz(hostlist), states, names);

	/* Detail: per severity, each process with its final state. */
	listed = 0;
	for (o = 0; o < 4; o++) {
		rank = order[o];
		for (i = 0; i < n; i++) {
			if (rv[i]->sev != rank)
				continue;
			if (listed < GROUP_LIST_MAX)
				appendf(&note->detail, "• `%s` %s — %s\n",
				    rv[i]->label, sname(rv[i]->final),
				    rv[i]->brief);
			listed++;
			/* The worst first: their tails, their errors. */
			note_add_tail(note, rv[i]->label, rv[i]->tail_label,
			    rv[i]->tail);
			if (rv[i]->ctx_error != NULL && nerr++ == 0) {
				errof = rv[i]->label;
				err = rv[i]->ctx_error;
			}
		}
	}
	if (nerr == 1)
		xasprintf(&note->context_error, "%s: %s", errof, err);
	else if (nerr > 1)
		xasprintf(&note->context_error, "%s: %s (and %zu more)", errof,
		    err, nerr - 1);
	if (listed > GROUP_LIST_MAX)
		appendf(&note->detail, "and %zu more\n",
		    listed - GROUP_LIST_MAX);
	appendf(&note->detail, "%zu processes: %s", n, states);
	for (i = 0; i < n; i++) {
		note_add_process(note, rv[i]->label);
		note_alert(note, report_alert(rv[i]));
	}
	note->host = xstrdup(rv[0]->host);
	note->server = xstrdup(rv[0]->server);
	for (i = 1; i < n; i++) {
		if (strcmp(rv[i]->server, rv[0]->server) != 0 ||
		    strcmp(rv[i]->host, rv[0]->host) != 0)
			setstr(&note->server, "");
	}
	free(states);
	free(names);
	free(hostlist);
	return (note);
}

static struct policy_note *
single_note(struct report *r, enum policy_note_kind kind, const char *route,
    int64_t now)
{
	struct policy_note	*n;

	n = note_new(kind, r->sev, route, r->key, r->key, now);
	n->text = xstrdup(r->text);
	n->detail = xstrdup(r->detail);
	note_add_tail(n, r->label, r->tail_label, r->tail);
	if (r->reason != NULL)
		n->reason = xstrdup(r->reason);
	if (r->ctx_error != NULL)
		n->context_error = xstrdup(r->ctx_error);
	n->host = xstrdup(r->host);
	n->server = xstrdup(r->server);
	note_add_process(n, r->label);
	note_alert(n, report_alert(r));
	return (n);
}

static void
group_flush(struct policy *p, struct group *g, int64_t now)
{
	struct report		*r, **rv, **rec;
	struct policy_note	*n;
	size_t			 nr = 0, nrec = 0, i, j, k;
	char			*key, *id;
	const char		*thread;

	TAILQ_REMOVE(&p->groups, g, entry);
	TAILQ_FOREACH(r, &g->reports, entry)
		nr++;
	rv = xcalloc(nr + 1, sizeof *rv);
	rec = xcalloc(nr + 1, sizeof *rec);
	i = 0;
	TAILQ_FOREACH(r, &g->reports, entry) {
		if (r->thread_key == NULL)
			rv[i++] = r;
		else
			rec[nrec++] = r;
	}
	if (i == 1)
		note_push(p, single_note(rv[0], POLICY_NOTE_NEW, g->route,
		    now));
	else if (i > 1) {
		xasprintf(&key, "grp:%s", rv[0]->key);
		n = group_note(p, rv, i, POLICY_NOTE_NEW, key, key, g->route,
		    now);
		note_push(p, n);
		for (j = 0; j < i; j++) {
			if (rv[j]->problem)
				rekey(p, g, rv[j]->key, key);
		}
		free(key);
	}

	/* Recoveries: one REPLY per thread. */
	for (j = 0; j < nrec; j++) {
		if (rec[j] == NULL)
			continue;
		thread = rec[j]->thread_key;
		i = 0;
		for (k = j; k < nrec; k++) {
			if (rec[k] != NULL &&
			    strcmp(rec[k]->thread_key, thread) == 0) {
				rv[i++] = rec[k];
				if (k != j)
					rec[k] = NULL;
			}
		}
		if (i == 1)
			n = single_note(rv[0], POLICY_NOTE_REPLY, g->route,
			    now);
		else {
			xasprintf(&id, "grp:%s", rv[0]->key);
			n = group_note(p, rv, i, POLICY_NOTE_REPLY, id, id,
			    g->route, now);
			free(id);
		}
		setstr(&n->thread_key, thread);
		note_push(p, n);
		rec[j] = NULL;
	}
	free(rv);
	free(rec);
	group_free(g);
}

/* Closing an episode */

static int
want_report(const struct policy *p, int final, int sev, int recovery)
{
	if (p->conf.ignore_states & POLICY_STATE_BIT(final))
		return (0);
	if (recovery || sev == POLICY_SEV_WARNING || sev == POLICY_SEV_ERROR)
		return (1);
	if (p->conf.level == POLICY_LEVEL_CHANGES)
		return (1);
	return ((p->conf.report_states & POLICY_STATE_BIT(final)) != 0);
}

static void
ep_close(struct policy *p, struct proc *pr, enum close_how how, int64_t now)
{
	struct episode	*ep = &pr->ep;
	struct verdict	 v;
	struct report	*r;
	char		*key, *story, *extra = NULL, *last, tb[16], db[32];
	int		 final = pr->state, recovery, was_flapping;

	ep_classify(pr, ep, final, how, now, pr->ctx_reason, &v);
	xasprintf(&key, "ep:%s@%s", pr->ident, ep->first_id);
	was_flapping = pr->flapping;

	if (pr->flapping && !state_terminal(final)) {
		/* Folded; a failed episode without an exit is a crash. */
		pr->flap_folded++;
		pr->flap_dirty = 1;
		if (v.problem && ep->crashes == 0)
			crash(p, pr, ep->first_id, now, 1, 0);
		goto done;
	}
	if (pr->flapping)
		flap_clear(pr);		/* FATAL or UNKNOWN: gave up */
	else if (v.problem && ep->crashes == 0 &&
	    crash(p, pr, ep->first_id, now, !state_terminal(final), 1))
		goto done;		/* now flapping: folded into it */

	recovery = final == POLICY_STATE_RUNNING && pr->problem_key != NULL;
	if (!want_report(p, final, v.sev, recovery)) {
		if (recovery) {
			free(pr->problem_key);
			pr->problem_key = NULL;
		}
		goto done;
	}

	r = xcalloc(1, sizeof *r);
	r->ident = xstrdup(pr->ident);
	r->label = xstrdup(pr->label);
	r->host = xstrdup(pr->host);
	r->server = xstrdup(pr->server);
	r->key = key;
	key = NULL;
	r->final = final;
	story = ep_story(ep);
	if (recovery) {
		fmt_time(pr->problem_ms, tb, sizeof tb);
		fmt_dur(now - pr->problem_ms, db, sizeof db);
		r->cls = CLS_RECOVERED;
		r->sev = POLICY_SEV_OK;
		r->thread_key = xstrdup(pr->problem_key);
		xasprintf(&r->brief, "recovered (%s since %s UTC, %s ago)%s%s: "
		    "%s", pr->problem_what, tb, db, v.sev >= POLICY_SEV_WARNING ?
		    "; this time it " : "", v.sev >= POLICY_SEV_WARNING ?
		    v.how : "", story);
		xasprintf(&r->text, "%s RUNNING on %s — %s", pr->label,
		    pr->host, r->brief);
		free(pr->problem_key);
		pr->problem_key = NULL;
	} else {
		r->cls = v.cls;
		r->sev = v.sev;
		xasprintf(&r->brief, "%s: %s", v.how, story);
		xasprintf(&r->text, "%s %s on %s — %s", pr->label,
		    sname(final), pr->host, r->brief);
		if (v.problem && final != POLICY_STATE_RUNNING) {
			r->problem = 1;
			setstr(&pr->problem_key, r->key);
			setstr(&pr->problem_what, sname(final));
			pr->problem_ms = now;
		}
	}
	if (was_flapping)
		xasprintf(&extra, "Flapping ended: %d unexpected %s, %d %s, "
		    "%d %s folded.", pr->flap_crashes,
		    plural(pr->flap_crashes, "exit", "exits"),
		    pr->flap_restarts,
		    plural(pr->flap_restarts, "restart", "restarts"),
		    pr->flap_folded, plural(pr->flap_folded, "episode",
		    "episodes"));
	r->detail = ep_detail(pr, ep, now, extra);
	if (v.sev >= POLICY_SEV_WARNING) {
		r->tail = proc_tail(pr, &r->tail_label);
		if (pr->ctx_reason != NULL)
			r->reason = xstrdup(pr->ctx_reason);
		if (pr->ctx_error != NULL)
			r->ctx_error = xstrdup(pr->ctx_error);
		/* The tail's last line, for a glance at the notification. */
		if (r->tail != NULL && (last = tail_last_line(r->tail)) !=
		    NULL) {
			appendf(&r->text, " — %s", last);
			free(last);
		}
	}
	free(story);
	free(extra);
	group_add(p, pr->route, r, now);
done:
	free(v.how);
	free(key);
	ep_reset(ep);
	ctx_clear(pr);
}

/* Events */

static void
state_event(struct policy *p, const struct svevent *ev, const char *host,
    const char *server, const char *id, int64_t now)
{
	struct proc	*pr;
	struct trans	 t;
	const char	*group, *name, *fs;
	int64_t		 v, old;
	int		 to, from;

	if ((to = policy_state_parse(ev->name + strlen("PROCESS_STATE_"))) ==
	    -1)
		return;
	if ((group = svevent_token(ev, "groupname")) == NULL ||
	    (name = svevent_token(ev, "processname")) == NULL)
		return;
	pr = proc_get(p, host, server, group, name);
	from = -1;
	if ((fs = svevent_token(ev, "from_state")) != NULL)
		from = policy_state_parse(fs);
	if (from == -1)
		from = pr->state;
	if (pr->state == to)
		return;			/* already there: a repeat */
	old = proc_deadline(p, pr);

	memset(&t, 0, sizeof t);
	t.from = from;
	t.to = to;
	t.at = now;
	t.tries = token_int(ev, "tries", &v) == 0 ? (int)v : -1;
	t.pid = token_int(ev, "pid", &v) == 0 ? v : -1;
	t.expected = token_int(ev, "expected", &v) == 0 ? (int)v : -1;

	if (ev->context != NULL && (to == POLICY_STATE_FATAL ||
	    to == POLICY_STATE_BACKOFF || (to == POLICY_STATE_EXITED &&
	    t.expected == 0)))
		ctx_set(pr, ev->context, to);
	if (!pr->ep.open)
		ep_open(p, pr, id, from, now);
	ep_add(&pr->ep, &t);
	pr->state = to;
	pr->state_ms = now;

	if (to == POLICY_STATE_STARTING) {
		times_push(pr->start_t, &pr->nstart, now);
		if (pr->flapping) {
			pr->flap_restarts++;
			pr->flap_dirty = 1;
		}
	}
	if (to == POLICY_STATE_EXITED && t.expected == 0)
		crash(p, pr, id, now, 1, 0);
	if (state_terminal(to))
		ep_close(p, pr, CLOSE_TERMINAL, now);
	dl_moved(p, old, proc_deadline(p, pr));
}

/* What an event says about its supervisord: ticking, stopping, back. */
static void
server_change(struct policy *p, struct server *sv, const struct svevent *ev,
    const char *host, const char *server, const char *id, int64_t now)
{
	struct policy_note	*n;
	char			*nid, tb[16], db[32];

	if (sv->silent_key != NULL) {
		xasprintf(&nid, "%s#back", sv->silent_key);
		n = note_new(POLICY_NOTE_REPLY, POLICY_SEV_OK, "", nid, nid,
		    now);
		setstr(&n->thread_key, sv->silent_key);
		fmt_time(sv->silent_since, tb, sizeof tb);
		fmt_dur(now - sv->silent_since, db, sizeof db);
		xasprintf(&n->text, "supervisord %s on %s is back — events "
		    "again after %s of silence (since %s UTC)", server, host,
		    db, tb);
		xasprintf(&n->detail, "first event back: %s", ev->name);
		n->host = xstrdup(host);
		n->server = xstrdup(server);
		note_push(p, n);
		free(nid);
		free(sv->silent_key);
		sv->silent_key = NULL;
	}
	sv->last_ms = now;
	if (strcmp(ev->name, "TICK_60") == 0) {
		sv->ticking = 1;
		sv->stopped = 0;
	} else if (strcmp(ev->name, "SUPERVISOR_STATE_CHANGE_RUNNING") == 0)
		sv->stopped = 0;
	else if (strcmp(ev->name, "SUPERVISOR_STATE_CHANGE_STOPPING") == 0) {
		sv->stopped = 1;
		if (p->conf.level != POLICY_LEVEL_CHANGES)
			return;
		xasprintf(&nid, "stopping:%s/%s@%s", host, server, id);
		n = note_new(POLICY_NOTE_NEW, POLICY_SEV_INFO, "", nid, nid,
		    now);
		xasprintf(&n->text, "supervisord %s on %s is stopping", server,
		    host);
		fmt_time(now, tb, sizeof tb);
		xasprintf(&n->detail, "SUPERVISOR_STATE_CHANGE_STOPPING at %s "
		    "UTC; its processes stop with it", tb);
		n->host = xstrdup(host);
		n->server = xstrdup(server);
		note_push(p, n);
		free(nid);
	}
}

static void
server_event(struct policy *p, const struct svevent *ev, const char *host,
    const char *server, const char *id, int64_t now)
{
	struct server	*sv;
	int64_t		 old;

	sv = server_get(p, host, server);
	old = server_deadline(p, sv);
	server_change(p, sv, ev, host, server, id, now);
	dl_moved(p, old, server_deadline(p, sv));
}

static void
silence(struct policy *p, struct server *sv, int64_t now)
{
	struct policy_note	*n;
	char			 tb[16], db[32];

	xasprintf(&sv->silent_key, "silence:%s/%s@%" PRId64, sv->host,
	    sv->server, sv->last_ms);
	sv->silent_since = sv->last_ms;
	n = note_new(POLICY_NOTE_NEW, POLICY_SEV_WARNING, "", sv->silent_key,
	    sv->silent_key, now);
	fmt_time(sv->last_ms, tb, sizeof tb);
	fmt_dur(now - sv->last_ms, db, sizeof db);
	xasprintf(&n->text, "supervisord %s on %s has been silent since %s "
	    "UTC (%s): no events, not even TICK_60", sv->server, sv->host, tb,
	    db);
	xasprintf(&n->detail, "It sent TICK_60 before.  Is supervisord or "
	    "svrelay-listener stuck, or did the listener's event buffer "
	    "overflow?");
	n->host = xstrdup(sv->host);
	n->server = xstrdup(sv->server);
	note_push(p, n);
}

/* The policy */

struct policy *
policy_new(const struct policy_conf *pc)
{
	struct policy	*p;

	p = xcalloc(1, sizeof *p);
	conf_copy(&p->conf, pc);
	TAILQ_INIT(&p->procs);
	TAILQ_INIT(&p->servers);
	TAILQ_INIT(&p->groups);
	TAILQ_INIT(&p->notes);
	p->dl_min = -1;
	return (p);
}

static void
policy_clear_state(struct policy *p)
{
	struct proc		*pr;
	struct server		*sv;
	struct group		*g;
	struct policy_note	*n;

	while ((pr = TAILQ_FIRST(&p->procs)) != NULL) {
		TAILQ_REMOVE(&p->procs, pr, entry);
		proc_free(pr);
	}
	while ((sv = TAILQ_FIRST(&p->servers)) != NULL) {
		TAILQ_REMOVE(&p->servers, sv, entry);
		server_free(sv);
	}
	while ((g = TAILQ_FIRST(&p->groups)) != NULL) {
		TAILQ_REMOVE(&p->groups, g, entry);
		group_free(g);
	}
	while ((n = TAILQ_FIRST(&p->notes)) != NULL) {
		TAILQ_REMOVE(&p->notes, n, entry);
		policy_note_free(n);
	}
	p->seq = 0;
	p->dl_min = -1;
	p->dl_stale = 0;
}

void
policy_free(struct policy *p)
{
	if (p == NULL)
		return;
	policy_clear_state(p);
	policy_conf_clear(&p->conf);
	free(p);
}

void
policy_reconf(struct policy *p, const struct policy_conf *pc)
{
	struct proc	*pr;

	policy_conf_clear(&p->conf);
	conf_copy(&p->conf, pc);
	TAILQ_FOREACH(pr, &p->procs, entry)
		setstr(&pr->route, route_for(p, pr->label));
	p->dl_stale = 1;	/* settle_ms and the others may have changed */
	(void)dl_get(p);
}

void
policy_feed(struct policy *p, const struct svevent *ev, int64_t now)
{
	struct proc	*pr;
	const char	*host, *server, *group, *name;
	char		*id = NULL;

	if (ev == NULL || ev->name == NULL)
		return;
	policy_run(p, now);
	p->seq++;
	host = ev->host != NULL && ev->host[0] != '\0' ? ev->host :
	    p->conf.host != NULL ? p->conf.host : "localhost";
	server = ev->server != NULL && ev->server[0] != '\0' ? ev->server :
	    "supervisor";
	if (ev->id != NULL && ev->id[0] != '\0')
		id = xstrdup(ev->id);
	else
		xasprintf(&id, "#%" PRId64, p->seq);

	server_event(p, ev, host, server, id, now);
	if (strncmp(ev->name, "PROCESS_STATE_", 14) == 0)
		state_event(p, ev, host, server, id, now);
	else if (strcmp(ev->name, "PROCESS_LOG_STDERR") == 0 &&
	    (group = svevent_token(ev, "groupname")) != NULL &&
	    (name = svevent_token(ev, "processname")) != NULL) {
		pr = proc_get(p, host, server, group, name);
		tail_feed(p, pr, ev->data, ev->datalen);
	}
	free(id);
	policy_run(p, now);
}

/* Deadlines */

static int64_t
dmin(int64_t a, int64_t b)
{
	if (a == -1)
		return (b);
	if (b == -1)
		return (a);
	return (a < b ? a : b);
}

static int64_t
proc_deadline(const struct policy *p, const struct proc *pr)
{
	int64_t	d = -1;

	if (pr->ep.open) {
		if (state_stable(pr->state))
			d = dmin(d, pr->state_ms + p->conf.settle_ms);
		d = dmin(d, pr->ep.start_ms + p->conf.episode_max_ms);
	}
	if (pr->flapping) {
		d = dmin(d, pr->flap_last_crash + p->conf.flap_calm_ms);
		if (pr->flap_dirty)
			d = dmin(d, pr->flap_last_note +
			    p->conf.flap_update_ms);
	}
	return (d);
}

static int64_t
server_deadline(const struct policy *p, const struct server *sv)
{
	if (!sv->ticking || sv->stopped || sv->silent_key != NULL)
		return (-1);
	return (sv->last_ms + p->conf.silence_ms);
}

/* Every process, server and group: only when the cache went stale. */
static int64_t
dl_compute(const struct policy *p)
{
	const struct proc	*pr;
	const struct server	*sv;
	const struct group	*g;
	int64_t			 d = -1;

	TAILQ_FOREACH(pr, &p->procs, entry)
		d = dmin(d, proc_deadline(p, pr));
	TAILQ_FOREACH(sv, &p->servers, entry)
		d = dmin(d, server_deadline(p, sv));
	TAILQ_FOREACH(g, &p->groups, entry)
		d = dmin(d, group_deadline(p, g));
	return (d);
}

/*
 * One entity's deadline moved from old to new (-1: none).  An earlier one
 * is the new minimum; the minimum's holder moving later or going away
 * makes the cache stale.
 */
static void
dl_moved(struct policy *p, int64_t old, int64_t new)
{
	if (p->dl_stale || old == new)
		return;
	if (new != -1 && (p->dl_min == -1 || new < p->dl_min))
		p->dl_min = new;
	else if (old != -1 && old <= p->dl_min)
		p->dl_stale = 1;
}

static int64_t
dl_get(struct policy *p)
{
	if (p->dl_stale) {
		p->dl_min = dl_compute(p);
		p->dl_stale = 0;
	}
	return (p->dl_min);
}

/*
 * Every exported function that changes the state ends with dl_get, so the
 * cache is fresh here.
 */
int64_t
policy_next_deadline(const struct policy *p)
{
	if (p->dl_stale)
		return (dl_compute(p));
	return (p->dl_min);
}

/* Everything due at now, once. */
static void
policy_step(struct policy *p, int64_t now)
{
	struct proc	*pr;
	struct server	*sv;
	struct group	*g, *gn;

	TAILQ_FOREACH(pr, &p->procs, entry) {
		if (pr->ep.open && state_stable(pr->state) &&
		    pr->state_ms + p->conf.settle_ms <= now)
			ep_close(p, pr, CLOSE_SETTLED, now);
		else if (pr->ep.open &&
		    pr->ep.start_ms + p->conf.episode_max_ms <= now)
			ep_close(p, pr, CLOSE_MAX, now);
		if (!pr->flapping)
			continue;
		if (pr->flap_last_crash + p->conf.flap_calm_ms <= now)
			flap_calm(p, pr, now);
		else if (pr->flap_dirty &&
		    pr->flap_last_note + p->conf.flap_update_ms <= now)
			flap_update(p, pr, now);
	}
	TAILQ_FOREACH(sv, &p->servers, entry) {
		if (server_deadline(p, sv) != -1 &&
		    server_deadline(p, sv) <= now)
			silence(p, sv, now);
	}
	for (g = TAILQ_FIRST(&p->groups); g != NULL; g = gn) {
		gn = TAILQ_NEXT(g, entry);
		if (group_deadline(p, g) <= now)
			group_flush(p, g, now);
	}
	p->dl_stale = 1;	/* what was due is done: all moved later */
}

static void
policy_run(struct policy *p, int64_t now)
{
	int64_t	d;
	int	i;

	/* Each step resolves what is due; the bound is only a safeguard. */
	for (i = 0; i < 16; i++) {
		if ((d = dl_get(p)) == -1 || d > now)
			break;
		policy_step(p, now);
	}
	(void)dl_get(p);
}

void
policy_tick(struct policy *p, int64_t now)
{
	policy_run(p, now);
}

/* Save and load */

static void
jstr(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v != NULL ? json_object_new_string(v) :
	    NULL);
}

static void
jint(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static struct json_object *
jtimes(const int64_t *v, size_t n)
{
	struct json_object	*a;
	size_t			 i;

	a = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_int64(v[i]));
	return (a);
}

/* Status */

struct json_object *
policy_status(const struct policy *p)
{
	struct json_object	*o, *states, *list, *e, *flap;
	const struct proc	*pr;
	const struct group	*g;
	const struct report	*r;
	int			 counts[POLICY_NSTATES], s;
	int64_t			 open = 0, nflap = 0, tracked = 0;
	int64_t			 pending = 0, d;
	char			 tb[40];

	memset(counts, 0, sizeof counts);
	list = json_object_new_array();
	flap = json_object_new_array();
	TAILQ_FOREACH(pr, &p->procs, entry) {
		if (pr->ep.open)
			open++;
		if (pr->flapping) {
			nflap++;
			json_object_array_add(flap,
			    json_object_new_string(pr->label));
		}
		if (pr->state < 0 || pr->state >= POLICY_NSTATES)
			continue;	/* only its stderr seen so far */
		tracked++;
		counts[pr->state]++;
		e = json_object_new_object();
		jstr(e, "process", pr->label);
		jstr(e, "host", pr->host);
		jstr(e, "server", pr->server);
		jstr(e, "state", sname(pr->state));
		svevent_format_time(pr->state_ms, tb, sizeof tb);
		jstr(e, "since", tb);
		jstr(e, "flapping", pr->flapping ? "yes" : "no");
		json_object_array_add(list, e);
	}
	TAILQ_FOREACH(g, &p->groups, entry) {
		TAILQ_FOREACH(r, &g->reports, entry)
			pending++;
	}
	states = json_object_new_object();
	for (s = 0; s < POLICY_NSTATES; s++) {
		if (counts[s] > 0)
			jint(states, sname(s), counts[s]);
	}
	o = json_object_new_object();
	jint(o, "tracked", tracked);
	json_object_object_add(o, "states", states);
	jint(o, "open_episodes", open);
	jint(o, "flapping", nflap);
	json_object_object_add(o, "flapping_processes", flap);
	jint(o, "pending_reports", pending);
	if ((d = policy_next_deadline(p)) != -1) {
		svevent_format_time(d, tb, sizeof tb);
		jstr(o, "next_deadline", tb);
	}
	json_object_object_add(o, "processes", list);
	return (o);
}

static struct json_object *
save_episode(const struct episode *ep)
{
	struct json_object	*o, *a, *t;
	size_t			 i;

	if (!ep->open)
		return (NULL);
	o = json_object_new_object();
	jstr(o, "first_id", ep->first_id);
	jint(o, "start_ms", ep->start_ms);
	jint(o, "from", ep->from);
	jint(o, "ndropped", (int64_t)ep->ndropped);
	jint(o, "crashes", ep->crashes);
	jint(o, "backoffs", ep->backoffs);
	jint(o, "maxtries", ep->maxtries);
	jint(o, "stops", ep->stops);
	jint(o, "starts", ep->starts);
	jint(o, "restarted", ep->restarted);
	jint(o, "stopped_after_crash", ep->stopped_after_crash);
	a = json_object_new_array();
	for (i = 0; i < ep->nt; i++) {
		t = json_object_new_array();
		json_object_array_add(t, json_object_new_int64(ep->t[i].from));
		json_object_array_add(t, json_object_new_int64(ep->t[i].to));
		json_object_array_add(t, json_object_new_int64(ep->t[i].at));
		json_object_array_add(t, json_object_new_int64(ep->t[i].tries));
		json_object_array_add(t, json_object_new_int64(ep->t[i].pid));
		json_object_array_add(t,
		    json_object_new_int64(ep->t[i].expected));
		json_object_array_add(a, t);
	}
	json_object_object_add(o, "t", a);
	return (o);
}

static struct json_object *
save_proc(const struct proc *pr)
{
	struct json_object	*o, *f, *a, *l;
	const struct tline	*tl;

	o = json_object_new_object();
	jstr(o, "host", pr->host);
	jstr(o, "server", pr->server);
	jstr(o, "group", pr->group);
	jstr(o, "name", pr->name);
	jint(o, "state", pr->state);
	jint(o, "state_ms", pr->state_ms);
	json_object_object_add(o, "ep", save_episode(&pr->ep));
	json_object_object_add(o, "crash_t", jtimes(pr->crash_t, pr->ncrash));
	json_object_object_add(o, "start_t", jtimes(pr->start_t, pr->nstart));
	f = NULL;
	if (pr->flapping) {
		f = json_object_new_object();
		jstr(f, "key", pr->flap_key);
		jint(f, "since", pr->flap_since);
		jint(f, "last_crash", pr->flap_last_crash);
		jint(f, "last_note", pr->flap_last_note);
		jint(f, "crashes", pr->flap_crashes);
		jint(f, "restarts", pr->flap_restarts);
		jint(f, "folded", pr->flap_folded);
		jint(f, "updates", pr->flap_updates);
		jint(f, "dirty", pr->flap_dirty);
	}
	json_object_object_add(o, "flap", f);
	f = NULL;
	if (pr->problem_key != NULL) {
		f = json_object_new_object();
		jstr(f, "key", pr->problem_key);
		jstr(f, "what", nz(pr->problem_what));
		jint(f, "ms", pr->problem_ms);
	}
	json_object_object_add(o, "problem", f);
	a = json_object_new_array();
	TAILQ_FOREACH(tl, &pr->tail, entry) {
		l = json_object_new_array();
		json_object_array_add(l, json_object_new_int64(tl->seq));
		json_object_array_add(l, json_object_new_string(tl->text));
		json_object_array_add(a, l);
	}
	json_object_object_add(o, "tail", a);
	jstr(o, "partial", pr->partial);
	jint(o, "tail_seq", pr->tail_seq);
	jint(o, "tail_shown", pr->tail_shown);
	f = NULL;
	if (pr->ctx_reason != NULL || pr->ctx_tail != NULL ||
	    pr->ctx_error != NULL) {
		f = json_object_new_object();
		jstr(f, "reason", pr->ctx_reason);
		jstr(f, "tail", pr->ctx_tail);
		jstr(f, "label", pr->ctx_label);
		jstr(f, "error", pr->ctx_error);
	}
	json_object_object_add(o, "ctx", f);
	return (o);
}

static struct json_object *
save_note(const struct policy_note *n)
{
	struct json_object	*o, *a, *t;
	size_t			 i;

	o = json_object_new_object();
	jstr(o, "id", n->id);
	jint(o, "kind", n->kind);
	jint(o, "severity", n->severity);
	jstr(o, "route", n->route);
	jstr(o, "key", n->key);
	jstr(o, "update_key", n->update_key);
	jstr(o, "thread_key", n->thread_key);
	jstr(o, "host", n->host);
	jstr(o, "server", n->server);
	jstr(o, "text", n->text);
	jstr(o, "detail", n->detail);
	jstr(o, "tail", n->tail);
	jstr(o, "tail_label", n->tail_label);
	jstr(o, "reason", n->reason);
	jstr(o, "context_error", n->context_error);
	a = json_object_new_array();
	for (i = 0; i < n->ntails; i++) {
		t = json_object_new_array();
		json_object_array_add(t,
		    json_object_new_string(n->tails[i].process));
		json_object_array_add(t,
		    json_object_new_string(n->tails[i].label));
		json_object_array_add(t,
		    json_object_new_string(n->tails[i].text));
		json_object_array_add(a, t);
	}
	json_object_object_add(o, "tails", a);
	jint(o, "tails_omitted", (int64_t)n->tails_omitted);
	jint(o, "time_ms", n->time_ms);
	a = json_object_new_array();
	for (i = 0; i < n->nprocesses; i++)
		json_object_array_add(a,
		    json_object_new_string(n->processes[i]));
	json_object_object_add(o, "processes", a);
	a = json_object_new_array();
	for (i = 0; i < n->nprocesses; i++)
		json_object_array_add(a, json_object_new_int(n->alerts[i]));
	json_object_object_add(o, "alerts", a);
	return (o);
}

struct json_object *
policy_save(const struct policy *p)
{
	struct json_object	*o, *a, *s, *ra, *r;
	const struct proc	*pr;
	const struct server	*sv;
	const struct group	*g;
	const struct report	*rp;
	const struct policy_note *n;

	o = json_object_new_object();
	jint(o, "version", POLICY_SAVE_VERSION);
	jint(o, "seq", p->seq);
	a = json_object_new_array();
	TAILQ_FOREACH(pr, &p->procs, entry)
		json_object_array_add(a, save_proc(pr));
	json_object_object_add(o, "procs", a);

	a = json_object_new_array();
	TAILQ_FOREACH(sv, &p->servers, entry) {
		s = json_object_new_object();
		jstr(s, "host", sv->host);
		jstr(s, "server", sv->server);
		jint(s, "ticking", sv->ticking);
		jint(s, "stopped", sv->stopped);
		jint(s, "last_ms", sv->last_ms);
		jstr(s, "silent_key", sv->silent_key);
		jint(s, "silent_since", sv->silent_since);
		json_object_array_add(a, s);
	}
	json_object_object_add(o, "servers", a);

	a = json_object_new_array();
	TAILQ_FOREACH(g, &p->groups, entry) {
		s = json_object_new_object();
		jstr(s, "route", g->route);
		jint(s, "first", g->first);
		jint(s, "last", g->last);
		jint(s, "urgent", g->urgent);
		ra = json_object_new_array();
		TAILQ_FOREACH(rp, &g->reports, entry) {
			r = json_object_new_object();
			jstr(r, "ident", rp->ident);
			jstr(r, "label", rp->label);
			jstr(r, "host", rp->host);
			jstr(r, "server", rp->server);
			jstr(r, "key", rp->key);
			jstr(r, "cls", cls_names[rp->cls]);
			jint(r, "sev", rp->sev);
			jint(r, "final", rp->final);
			jstr(r, "text", rp->text);
			jstr(r, "brief", rp->brief);
			jstr(r, "detail", rp->detail);
			jstr(r, "tail", rp->tail);
			jstr(r, "tail_label", rp->tail_label);
			jstr(r, "reason", rp->reason);
			jstr(r, "ctx_error", rp->ctx_error);
			jstr(r, "thread_key", rp->thread_key);
			jint(r, "problem", rp->problem);
			json_object_array_add(ra, r);
		}
		json_object_object_add(s, "reports", ra);
		json_object_array_add(a, s);
	}
	json_object_object_add(o, "groups", a);

	a = json_object_new_array();
	TAILQ_FOREACH(n, &p->notes, entry)
		json_object_array_add(a, save_note(n));
	json_object_object_add(o, "notes", a);
	return (o);
}

/* Loading: the first problem is kept in err and every later get fails. */
struct lctx {
	char	*err;
	size_t	 errlen;
	int	 failed;
};

static void __attribute__((format(printf, 2, 3)))
lfail(struct lctx *c, const char *fmt, ...)
{
	va_list	ap;

	if (c->failed)
		return;
	c->failed = 1;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
}

static struct json_object *
lget(struct lctx *c, struct json_object *o, const char *k, json_type type,
    int nullable)
{
	struct json_object	*v;

	if (c->failed)
		return (NULL);
	if (!json_object_is_type(o, json_type_object)) {
		lfail(c, "'%s': parent is not an object", k);
		return (NULL);
	}
	if (!json_object_object_get_ex(o, k, &v)) {
		if (!nullable)
			lfail(c, "'%s' is missing", k);
		return (NULL);
	}
	if (v == NULL) {
		if (!nullable)
			lfail(c, "'%s' is null", k);
		return (NULL);
	}
	if (!json_object_is_type(v, type)) {
		lfail(c, "'%s' has the wrong type", k);
		return (NULL);
	}
	return (v);
}

static char *
lstr(struct lctx *c, struct json_object *o, const char *k, int nullable)
{
	struct json_object	*v;

	if ((v = lget(c, o, k, json_type_string, nullable)) == NULL)
		return (nullable || c->failed ? NULL : xstrdup(""));
	return (xstrdup(json_object_get_string(v)));
}

static int64_t
lint(struct lctx *c, struct json_object *o, const char *k, int64_t min,
    int64_t max)
{
	struct json_object	*v;
	int64_t			 n;

	if ((v = lget(c, o, k, json_type_int, 0)) == NULL)
		return (min);
	n = json_object_get_int64(v);
	if (n < min || n > max) {
		lfail(c, "'%s' is out of range", k);
		return (min);
	}
	return (n);
}

static size_t
ltimes(struct lctx *c, struct json_object *o, const char *k, int64_t *v)
{
	struct json_object	*a, *e;
	size_t			 i, n;

	if ((a = lget(c, o, k, json_type_array, 0)) == NULL)
		return (0);
	n = json_object_array_length(a);
	if (n > FLAP_MAX) {
		lfail(c, "'%s' has too many elements", k);
		return (0);
	}
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_int)) {
			lfail(c, "'%s' holds a non-integer", k);
			return (0);
		}
		v[i] = json_object_get_int64(e);
	}
	return (n);
}

#define T_MAX	INT64_MAX
#define T_MIN	INT64_MIN

static void
load_episode(struct lctx *c, struct json_object *o, struct episode *ep)
{
	struct json_object	*a, *t, *e;
	size_t			 i, k, n;
	int64_t			 v[6];

	ep->open = 1;
	ep->first_id = lstr(c, o, "first_id", 0);
	ep->start_ms = lint(c, o, "start_ms", T_MIN, T_MAX);
	ep->from = (int)lint(c, o, "from", -1, POLICY_NSTATES - 1);
	ep->ndropped = (size_t)lint(c, o, "ndropped", 0, T_MAX);
	ep->crashes = (int)lint(c, o, "crashes", 0, INT32_MAX);
	ep->backoffs = (int)lint(c, o, "backoffs", 0, INT32_MAX);
	ep->maxtries = (int)lint(c, o, "maxtries", -1, INT32_MAX);
	ep->stops = (int)lint(c, o, "stops", 0, INT32_MAX);
	ep->starts = (int)lint(c, o, "starts", 0, INT32_MAX);
	ep->restarted = (int)lint(c, o, "restarted", 0, 1);
	ep->stopped_after_crash = (int)lint(c, o, "stopped_after_crash", 0, 1);
	if ((a = lget(c, o, "t", json_type_array, 0)) == NULL)
		return;
	n = json_object_array_length(a);
	if (n > EP_MAX_TRANS) {
		lfail(c, "episode has too many transitions");
		return;
	}
	for (i = 0; i < n; i++) {
		t = json_object_array_get_idx(a, i);
		if (!json_object_is_type(t, json_type_array) ||
		    json_object_array_length(t) != 6) {
			lfail(c, "a transition is not [from, to, at, tries, "
			    "pid, expected]");
			return;
		}
		for (k = 0; k < 6; k++) {
			e = json_object_array_get_idx(t, k);
			if (!json_object_is_type(e, json_type_int)) {
				lfail(c, "a transition holds a non-integer");
				return;
			}
			v[k] = json_object_get_int64(e);
		}
		if (v[0] < -1 || v[0] >= POLICY_NSTATES || v[1] < 0 ||
		    v[1] >= POLICY_NSTATES) {
			lfail(c, "a transition has an unknown state");
			return;
		}
		ep->t[i].from = (int)v[0];
		ep->t[i].to = (int)v[1];
		ep->t[i].at = v[2];
		ep->t[i].tries = (int)v[3];
		ep->t[i].pid = v[4];
		ep->t[i].expected = (int)v[5];
	}
	ep->nt = n;
}

static void
load_proc(struct lctx *c, struct policy *p, struct json_object *o)
{
	struct proc		*pr;
	struct json_object	*e, *f, *a, *l;
	struct tline		*tl;
	char			*host, *server, *group, *name;
	size_t			 i;

	host = lstr(c, o, "host", 0);
	server = lstr(c, o, "server", 0);
	group = lstr(c, o, "group", 0);
	name = lstr(c, o, "name", 0);
	if (c->failed) {
		free(host);
		free(server);
		free(group);
		free(name);
		return;
	}
	pr = proc_get(p, host, server, group, name);
	free(host);
	free(server);
	free(group);
	free(name);
	pr->state = (int)lint(c, o, "state", -1, POLICY_NSTATES - 1);
	pr->state_ms = lint(c, o, "state_ms", T_MIN, T_MAX);
	if ((e = lget(c, o, "ep", json_type_object, 1)) != NULL)
		load_episode(c, e, &pr->ep);
	pr->ncrash = ltimes(c, o, "crash_t", pr->crash_t);
	pr->nstart = ltimes(c, o, "start_t", pr->start_t);
	if ((f = lget(c, o, "flap", json_type_object, 1)) != NULL) {
		pr->flapping = 1;
		pr->flap_key = lstr(c, f, "key", 0);
		pr->flap_since = lint(c, f, "since", T_MIN, T_MAX);
		pr->flap_last_crash = lint(c, f, "last_crash", T_MIN, T_MAX);
		pr->flap_last_note = lint(c, f, "last_note", T_MIN, T_MAX);
		pr->flap_crashes = (int)lint(c, f, "crashes", 0, INT32_MAX);
		pr->flap_restarts = (int)lint(c, f, "restarts", 0, INT32_MAX);
		pr->flap_folded = (int)lint(c, f, "folded", 0, INT32_MAX);
		pr->flap_updates = (int)lint(c, f, "updates", 0, INT32_MAX);
		pr->flap_dirty = (int)lint(c, f, "dirty", 0, 1);
	}
	if ((f = lget(c, o, "problem", json_type_object, 1)) != NULL) {
		pr->problem_key = lstr(c, f, "key", 0);
		pr->problem_what = lstr(c, f, "what", 0);
		pr->problem_ms = lint(c, f, "ms", T_MIN, T_MAX);
	}
	if ((a = lget(c, o, "tail", json_type_array, 0)) != NULL) {
		for (i = 0; i < json_object_array_length(a); i++) {
			l = json_object_array_get_idx(a, i);
			if (!json_object_is_type(l, json_type_array) ||
			    json_object_array_length(l) != 2 ||
			    !json_object_is_type(json_object_array_get_idx(l,
			    0), json_type_int) ||
			    !json_object_is_type(json_object_array_get_idx(l,
			    1), json_type_string)) {
				lfail(c, "a tail line is not [seq, text]");
				break;
			}
			tl = xcalloc(1, sizeof *tl);
			tl->seq = json_object_get_int64(
			    json_object_array_get_idx(l, 0));
			tl->text = xstrdup(json_object_get_string(
			    json_object_array_get_idx(l, 1)));
			TAILQ_INSERT_TAIL(&pr->tail, tl, entry);
			pr->ntail++;
			pr->tailbytes += strlen(tl->text) + 1;
		}
	}
	pr->partial = lstr(c, o, "partial", 1);
	pr->tail_seq = lint(c, o, "tail_seq", 0, T_MAX);
	pr->tail_shown = lint(c, o, "tail_shown", 0, T_MAX);
	/* Absent from a state saved before crash context: none. */
	if ((f = lget(c, o, "ctx", json_type_object, 1)) != NULL) {
		pr->ctx_reason = lstr(c, f, "reason", 1);
		pr->ctx_tail = lstr(c, f, "tail", 1);
		pr->ctx_label = lstr(c, f, "label", 1);
		pr->ctx_error = lstr(c, f, "error", 1);
		if (pr->ctx_tail != NULL && pr->ctx_label == NULL)
			pr->ctx_label = xstrdup(LABEL_STDERR);
	}
}

static int
cls_parse(const char *s)
{
	int	i;

	for (i = 0; i < CLS_N; i++) {
		if (strcmp(cls_names[i], s) == 0)
			return (i);
	}
	return (-1);
}

static void
load_group(struct lctx *c, struct policy *p, struct json_object *o)
{
	struct group		*g;
	struct report		*r;
	struct json_object	*a, *e;
	char			*cls;
	size_t			 i;

	g = xcalloc(1, sizeof *g);
	TAILQ_INIT(&g->reports);
	TAILQ_INSERT_TAIL(&p->groups, g, entry);
	g->route = lstr(c, o, "route", 0);
	g->first = lint(c, o, "first", T_MIN, T_MAX);
	g->last = lint(c, o, "last", T_MIN, T_MAX);
	g->urgent = lint(c, o, "urgent", T_MIN, T_MAX);
	if (g->route == NULL)
		g->route = xstrdup("");
	if ((a = lget(c, o, "reports", json_type_array, 0)) == NULL)
		return;
	for (i = 0; i < json_object_array_length(a) && !c->failed; i++) {
		e = json_object_array_get_idx(a, i);
		r = xcalloc(1, sizeof *r);
		TAILQ_INSERT_TAIL(&g->reports, r, entry);
		r->ident = lstr(c, e, "ident", 0);
		r->label = lstr(c, e, "label", 0);
		r->host = lstr(c, e, "host", 0);
		r->server = lstr(c, e, "server", 0);
		r->key = lstr(c, e, "key", 0);
		cls = lstr(c, e, "cls", 0);
		if (cls != NULL && (r->cls = cls_parse(cls)) == -1) {
			lfail(c, "unknown class '%s'", cls);
			r->cls = CLS_OTHER;
		}
		free(cls);
		r->sev = (int)lint(c, e, "sev", POLICY_SEV_OK,
		    POLICY_SEV_ERROR);
		r->final = (int)lint(c, e, "final", 0, POLICY_NSTATES - 1);
		r->text = lstr(c, e, "text", 0);
		r->brief = lstr(c, e, "brief", 0);
		r->detail = lstr(c, e, "detail", 0);
		r->tail = lstr(c, e, "tail", 1);
		r->tail_label = lstr(c, e, "tail_label", 1);
		r->reason = lstr(c, e, "reason", 1);
		r->ctx_error = lstr(c, e, "ctx_error", 1);
		r->thread_key = lstr(c, e, "thread_key", 1);
		r->problem = (int)lint(c, e, "problem", 0, 1);
	}
}

/* A note's tails: [[process, label, text]…], absent in older states. */
static void
load_note_tails(struct lctx *c, struct policy_note *n, struct json_object *o)
{
	struct json_object	*a, *t, *e;
	const char		*v[3];
	size_t			 i, k;

	if ((e = lget(c, o, "tails_omitted", json_type_int, 1)) != NULL &&
	    json_object_get_int64(e) >= 0)
		n->tails_omitted = (size_t)json_object_get_int64(e);
	if ((a = lget(c, o, "tails", json_type_array, 1)) == NULL)
		return;
	if (json_object_array_length(a) > POLICY_NOTE_TAILS) {
		lfail(c, "a note has too many tails");
		return;
	}
	for (i = 0; i < json_object_array_length(a); i++) {
		t = json_object_array_get_idx(a, i);
		if (!json_object_is_type(t, json_type_array) ||
		    json_object_array_length(t) != 3) {
			lfail(c, "a tail is not [process, label, text]");
			return;
		}
		for (k = 0; k < 3; k++) {
			e = json_object_array_get_idx(t, k);
			if (!json_object_is_type(e, json_type_string)) {
				lfail(c, "a tail holds a non-string");
				return;
			}
			v[k] = json_object_get_string(e);
		}
		n->tails = xreallocarray(n->tails, n->ntails + 1,
		    sizeof *n->tails);
		n->tails[n->ntails].process = xstrdup(v[0]);
		n->tails[n->ntails].label = xstrdup(v[1]);
		n->tails[n->ntails].text = xstrdup(v[2]);
		n->ntails++;
	}
}

static void
load_note(struct lctx *c, struct policy *p, struct json_object *o)
{
	struct policy_note	*n;
	struct json_object	*a, *e;
	size_t			 i;

	n = xcalloc(1, sizeof *n);
	n->processes = xcalloc(1, sizeof *n->processes);
	n->id = lstr(c, o, "id", 0);
	n->kind = (int)lint(c, o, "kind", POLICY_NOTE_NEW, POLICY_NOTE_REPLY);
	n->severity = (int)lint(c, o, "severity", POLICY_SEV_OK,
	    POLICY_SEV_ERROR);
	n->route = lstr(c, o, "route", 0);
	n->key = lstr(c, o, "key", 0);
	n->update_key = lstr(c, o, "update_key", 0);
	n->thread_key = lstr(c, o, "thread_key", 0);
	n->host = lstr(c, o, "host", 0);
	n->server = lstr(c, o, "server", 0);
	n->text = lstr(c, o, "text", 0);
	n->detail = lstr(c, o, "detail", 0);
	n->tail = lstr(c, o, "tail", 1);
	n->tail_label = lstr(c, o, "tail_label", 1);
	n->reason = lstr(c, o, "reason", 1);
	n->context_error = lstr(c, o, "context_error", 1);
	load_note_tails(c, n, o);
	n->time_ms = lint(c, o, "time_ms", T_MIN, T_MAX);
	if ((a = lget(c, o, "processes", json_type_array, 0)) != NULL) {
		for (i = 0; i < json_object_array_length(a); i++) {
			e = json_object_array_get_idx(a, i);
			if (!json_object_is_type(e, json_type_string)) {
				lfail(c, "a note's process is not a string");
				break;
			}
			note_add_process(n, json_object_get_string(e));
		}
	}
	/* Optional: older saved notes have none. */
	if (json_object_object_get_ex(o, "alerts", &a) &&
	    json_object_is_type(a, json_type_array)) {
		for (i = 0; i < json_object_array_length(a) &&
		    i < n->nprocesses; i++) {
			e = json_object_array_get_idx(a, i);
			n->alerts[i] = json_object_get_int(e);
			if (n->alerts[i] < POLICY_ALERT_NONE ||
			    n->alerts[i] > POLICY_ALERT_RESOLVED)
				n->alerts[i] = POLICY_ALERT_NONE;
		}
	}
	TAILQ_INSERT_TAIL(&p->notes, n, entry);
}

int
policy_load(struct policy *p, struct json_object *o, char *err,
    size_t errlen)
{
	struct lctx		 c;
	struct json_object	*a, *s;
	struct server		*sv;
	struct policy_note	*n;
	char			*host, *server;
	size_t			 i;

	memset(&c, 0, sizeof c);
	c.err = err;
	c.errlen = errlen;
	policy_clear_state(p);
	if (lint(&c, o, "version", POLICY_SAVE_VERSION,
	    POLICY_SAVE_VERSION) != POLICY_SAVE_VERSION || c.failed) {
		lfail(&c, "not a saved policy of version %d",
		    POLICY_SAVE_VERSION);
		goto fail;
	}
	p->seq = lint(&c, o, "seq", 0, T_MAX);
	if ((a = lget(&c, o, "procs", json_type_array, 0)) != NULL) {
		for (i = 0; i < json_object_array_length(a) && !c.failed; i++)
			load_proc(&c, p, json_object_array_get_idx(a, i));
	}
	if ((a = lget(&c, o, "servers", json_type_array, 0)) != NULL) {
		for (i = 0; i < json_object_array_length(a) && !c.failed;
		    i++) {
			s = json_object_array_get_idx(a, i);
			host = lstr(&c, s, "host", 0);
			server = lstr(&c, s, "server", 0);
			if (c.failed) {
				free(host);
				free(server);
				break;
			}
			sv = server_get(p, host, server);
			free(host);
			free(server);
			sv->ticking = (int)lint(&c, s, "ticking", 0, 1);
			sv->stopped = (int)lint(&c, s, "stopped", 0, 1);
			sv->last_ms = lint(&c, s, "last_ms", T_MIN, T_MAX);
			sv->silent_key = lstr(&c, s, "silent_key", 1);
			sv->silent_since = lint(&c, s, "silent_since", T_MIN,
			    T_MAX);
		}
	}
	if ((a = lget(&c, o, "groups", json_type_array, 0)) != NULL) {
		for (i = 0; i < json_object_array_length(a) && !c.failed; i++)
			load_group(&c, p, json_object_array_get_idx(a, i));
	}
	if ((a = lget(&c, o, "notes", json_type_array, 0)) != NULL) {
		for (i = 0; i < json_object_array_length(a) && !c.failed; i++)
			load_note(&c, p, json_object_array_get_idx(a, i));
	}
	if (c.failed)
		goto fail;
	TAILQ_FOREACH(n, &p->notes, entry) {
		if (n->host == NULL || n->text == NULL)
			goto fail;
	}
	p->dl_stale = 1;
	(void)dl_get(p);
	return (0);
fail:
	if (!c.failed)
		snprintf(err, errlen, "incomplete saved policy");
	policy_clear_state(p);
	return (-1);
}

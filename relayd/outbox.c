/*
 * The outbox: spool_dir/notifications.jsonl holds one line when a
 * notification is queued (fsync'd before its first try) and one when it
 * was sent or given up on; spool_dir/dead.jsonl holds the ones given up on.
 * At start, every notification whose last line is "queued" is queued again:
 * at most the one in flight when svrelayd died goes out twice.
 *
 * Lines (json-c, one object each):
 *   {"state":"queued","id":…,"time":…,"kind":"post","dest":"#ops",
 *    "text":…,"message":{…}[,"thread_of":…][,"update_of":…][,"route":…]
 *    [,"sink":"alertmanager"]}
 * (every line of an Alertmanager notification has "sink"; the message is
 * {"alerts":[…]}, its route the Alertmanager's URL)
 *   {"state":"sent","id":…,"time":…,"dest":…,"text":…,"status":200
 *    [,"ts":…,"channel":…]}
 *   {"state":"failed","id":…,"time":…,"dest":…,"text":…,"error":…}
 * The token is never in any of them; a webhook is shown without its path.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "delivery_int.h"
#include "log.h"
#include "svevent.h"
#include "xmalloc.h"

/* A sent notification's ts, kept for chat.update and thread_ts. */
struct outbox_ts {
	char			*id;
	char			*ts;
	char			*channel;
	char			*dest;
	char			*text;
	TAILQ_ENTRY(outbox_ts)	 entry;
};
TAILQ_HEAD(outbox_tslist, outbox_ts);

static struct {
	char			*dir;
	char			*path;		/* notifications.jsonl */
	char			*deadpath;	/* dead.jsonl */
	int			 fd;
	int64_t			 size;
	int64_t			 compact_size;
	int			 keep;
	int64_t			 ndead;
	struct outbox_tslist	 ts;
	size_t			 nts;
	struct json_object	*known;		/* ids queued: a set */
} ob = { .fd = -1 };

static const char *outbox_kinds[] = {
	[OUTBOX_POST] = "post",
	[OUTBOX_UPDATE] = "update",
};

struct outbox_entry *
outbox_entry_new(void)
{
	return (xcalloc(1, sizeof(struct outbox_entry)));
}

void
outbox_entry_free(struct outbox_entry *e)
{
	if (e == NULL)
		return;
	free(e->id);
	free(e->text);
	free(e->message);
	free(e->dest);
	free(e->thread_of);
	free(e->update_of);
	free(e->route);
	free(e->sink);
	free(e->time);
	free(e->error);
	free(e);
}

void
outbox_list_free(struct outbox_list *l)
{
	struct outbox_entry	*e;

	while ((e = TAILQ_FIRST(l)) != NULL) {
		TAILQ_REMOVE(l, e, entry);
		outbox_entry_free(e);
	}
}

/* Now, RFC 3339 UTC with milliseconds, into buf. */
static void
outbox_now(char *buf, size_t len)
{
	struct timespec	ts;
	struct tm	tm;
	size_t		n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03dZ", (int)(ts.tv_nsec / 1000000));
}

char *
outbox_newid(void)
{
	static unsigned int	 counter;
	struct timespec		 ts;
	char			*id;

	clock_gettime(CLOCK_REALTIME, &ts);
	xasprintf(&id, "n-%lld%03ld-%ld-%u", (long long)ts.tv_sec,
	    ts.tv_nsec / 1000000, (long)getpid(), counter++);
	return (id);
}

static void
outbox_addstr(struct json_object *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_object_add(o, key, json_object_new_string(v));
}

/* The fields every line of e carries. */
static struct json_object *
outbox_object(const struct outbox_entry *e, const char *state)
{
	struct json_object	*o;
	char			 now[40];

	outbox_now(now, sizeof now);
	o = json_object_new_object();
	outbox_addstr(o, "state", state);
	outbox_addstr(o, "id", e->id);
	outbox_addstr(o, "time", now);
	outbox_addstr(o, "dest", e->dest);
	outbox_addstr(o, "sink", e->sink);
	outbox_addstr(o, "text", e->text);
	return (o);
}

/* Add e's message (a JSON text) as an object, and what re-queuing needs. */
static void
outbox_addmessage(struct json_object *o, const struct outbox_entry *e)
{
	struct json_object	*m;

	outbox_addstr(o, "kind", outbox_kinds[e->kind]);
	outbox_addstr(o, "queued", e->time);
	if (e->message != NULL &&
	    (m = json_tokener_parse(e->message)) != NULL)
		json_object_object_add(o, "message", m);
	outbox_addstr(o, "thread_of", e->thread_of);
	outbox_addstr(o, "update_of", e->update_of);
	outbox_addstr(o, "route", e->route);
}

/*
 * Append o as one line to fd and fdatasync it; on failure, cut the file
 * back so that no torn line stays behind.  Puts o.
 */
static int
outbox_write(int fd, struct json_object *o, int64_t *sizep, const char *what)
{
	const char	*s;
	char		*line;
	size_t		 len, off = 0;
	ssize_t		 n;
	struct stat	 st;
	off_t		 start = -1;

	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	xasprintf(&line, "%s\n", s);
	json_object_put(o);
	len = strlen(line);
	if (fstat(fd, &st) == 0)
		start = st.st_size;
	while (off < len) {
		if ((n = write(fd, line + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			log_warn("%s: write", what);
			if (off > 0 && start >= 0 && ftruncate(fd, start) == -1)
				log_warn("%s: ftruncate", what);
			free(line);
			return (-1);
		}
		off += n;
	}
	free(line);
	if (fdatasync(fd) == -1) {
		log_warn("%s: fdatasync", what);
		return (-1);
	}
	if (sizep != NULL)
		*sizep += len;
	return (0);
}

static int
outbox_fsync_dir(const char *dir)
{
	int	fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	if (fsync(fd) == -1) {
		close(fd);
		return (-1);
	}
	return (close(fd));
}

/*
 * Replace dir/name with o as one JSON line, durably: write dir/.name.tmp,
 * fsync, rename, fsync dir.  Returns 0, or -1 (errno set, the temporary
 * file removed).  A failed fsync of the directory after the rename is only
 * logged: the new file is in place.
 */
int
outbox_write_file(const char *dir, const char *name, struct json_object *o)
{
	char	*tmp, *path, *line;
	size_t	 len, off = 0;
	ssize_t	 n;
	int	 fd, rc = -1, saved;

	line = svevent_json_line(o, &len);
	xasprintf(&tmp, "%s/.%s.tmp", dir, name);
	xasprintf(&path, "%s/%s", dir, name);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640)) == -1)
		goto out;
	while (off < len) {
		if ((n = write(fd, line + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += n;
	}
	if (off < len || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		goto out;
	}
	close(fd);
	if (rename(tmp, path) == -1)
		goto out;
	if (outbox_fsync_dir(dir) == -1)
		log_warn("%s: fsync", dir);
	rc = 0;
out:
	if (rc == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
	}
	free(line);
	free(tmp);
	free(path);
	return (rc);
}

/*
 * Call fn for every complete line of path (a torn last line is cut off the
 * file when fix is set).  Returns the number of lines, or -1 (logged).
 */
static int64_t
outbox_scan(const char *path, int fix, void (*fn)(struct json_object *,
    int64_t, void *), void *arg)
{
	struct evbuffer		*buf;
	struct json_object	*o;
	char			*line;
	size_t			 len;
	int64_t			 lineno = 0, good = 0;
	int			 fd, n;

	if ((fd = open(path, (fix ? O_RDWR : O_RDONLY) | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return (0);
		log_warn("%s", path);
		return (-1);
	}
	buf = evbuffer_new();
	for (;;) {
		n = evbuffer_read(buf, fd, 65536);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			log_warn("%s: read", path);
			evbuffer_free(buf);
			close(fd);
			return (-1);
		}
		while ((line = evbuffer_readln(buf, &len,
		    EVBUFFER_EOL_LF)) != NULL) {
			good += len + 1;
			if (len > 0 && (o = json_tokener_parse(line)) != NULL) {
				if (json_object_is_type(o, json_type_object))
					fn(o, lineno, arg);
				json_object_put(o);
			} else if (len > 0)
				log_warnx("%s: line %lld is not JSON, skipped",
				    path, (long long)lineno + 1);
			lineno++;
			free(line);
		}
		if (n == 0)
			break;
	}
	if (evbuffer_get_length(buf) > 0) {
		log_warnx("%s: torn last line (%zu bytes) %s", path,
		    evbuffer_get_length(buf), fix ? "cut off" : "skipped");
		if (fix && ftruncate(fd, good) == -1)
			log_warn("%s: ftruncate", path);
	}
	evbuffer_free(buf);
	close(fd);
	return (lineno);
}

static const char *
outbox_getstr(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return (json_object_get_string(v));
	return (NULL);
}

static char *
outbox_dupstr(struct json_object *o, const char *key)
{
	const char	*v = outbox_getstr(o, key);

	return (v != NULL ? xstrdup(v) : NULL);
}

/* An entry from a queued line or a dead letter. */
static struct outbox_entry *
outbox_parse_entry(struct json_object *o)
{
	struct outbox_entry	*e;
	struct json_object	*m;
	const char		*kind;

	if (outbox_getstr(o, "id") == NULL || outbox_getstr(o, "text") == NULL)
		return (NULL);
	e = outbox_entry_new();
	e->id = outbox_dupstr(o, "id");
	e->text = outbox_dupstr(o, "text");
	e->dest = outbox_dupstr(o, "dest");
	e->thread_of = outbox_dupstr(o, "thread_of");
	e->update_of = outbox_dupstr(o, "update_of");
	e->route = outbox_dupstr(o, "route");
	e->sink = outbox_dupstr(o, "sink");
	e->error = outbox_dupstr(o, "error");
	if ((e->time = outbox_dupstr(o, "queued")) == NULL)
		e->time = outbox_dupstr(o, "time");
	kind = outbox_getstr(o, "kind");
	e->kind = (kind != NULL && strcmp(kind, "update") == 0) ?
	    OUTBOX_UPDATE : OUTBOX_POST;
	if (json_object_object_get_ex(o, "message", &m) &&
	    json_object_is_type(m, json_type_object))
		e->message = xstrdup(json_object_to_json_string_ext(m,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	else {
		/* No message: post the text alone. */
		m = json_object_new_object();
		json_object_object_add(m, "text",
		    json_object_new_string(e->text));
		e->message = xstrdup(json_object_to_json_string_ext(m,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(m);
	}
	return (e);
}

static void
outbox_know(const char *id)
{
	if (ob.known == NULL)
		ob.known = json_object_new_object();
	if (!json_object_object_get_ex(ob.known, id, NULL))
		json_object_object_add(ob.known, id, NULL);
}

int
outbox_known(const char *id)
{
	return (ob.known != NULL &&
	    json_object_object_get_ex(ob.known, id, NULL));
}

static void
outbox_remember(const char *id, const char *ts, const char *channel,
    const char *dest, const char *text)
{
	struct outbox_ts	*t;

	TAILQ_FOREACH(t, &ob.ts, entry) {
		if (strcmp(t->id, id) == 0)
			break;
	}
	if (t != NULL) {
		TAILQ_REMOVE(&ob.ts, t, entry);
		ob.nts--;
		free(t->id);
		free(t->ts);
		free(t->channel);
		free(t->dest);
		free(t->text);
		free(t);
	}
	t = xcalloc(1, sizeof *t);
	t->id = xstrdup(id);
	t->ts = xstrdup(ts);
	t->channel = xstrdup(channel != NULL ? channel : "");
	t->dest = xstrdup(dest != NULL ? dest : "");
	t->text = xstrdup(text != NULL ? text : "");
	TAILQ_INSERT_TAIL(&ob.ts, t, entry);
	if (++ob.nts > OUTBOX_KEEP_TS) {
		t = TAILQ_FIRST(&ob.ts);
		TAILQ_REMOVE(&ob.ts, t, entry);
		ob.nts--;
		free(t->id);
		free(t->ts);
		free(t->channel);
		free(t->dest);
		free(t->text);
		free(t);
	}
}

/* Replay, pass 1: for every id, the number of its last line. */
struct outbox_replay {
	struct json_object	*last;		/* id -> line number */
	struct outbox_list	*pending;
	int64_t			 nsent, nfailed;
};

static void
outbox_pass1(struct json_object *o, int64_t lineno, void *arg)
{
	struct outbox_replay	*r = arg;
	const char		*id, *state, *ts;

	if ((id = outbox_getstr(o, "id")) == NULL ||
	    (state = outbox_getstr(o, "state")) == NULL)
		return;
	json_object_object_add(r->last, id, json_object_new_int64(lineno));
	outbox_know(id);
	if (strcmp(state, "sent") == 0 &&
	    (ts = outbox_getstr(o, "ts")) != NULL)
		outbox_remember(id, ts, outbox_getstr(o, "channel"),
		    outbox_getstr(o, "dest"), outbox_getstr(o, "text"));
}

/* Pass 2: every queued line that is its id's last line is pending. */
static void
outbox_pass2(struct json_object *o, int64_t lineno, void *arg)
{
	struct outbox_replay	*r = arg;
	struct json_object	*v;
	struct outbox_entry	*e;
	const char		*id, *state;

	if ((id = outbox_getstr(o, "id")) == NULL ||
	    (state = outbox_getstr(o, "state")) == NULL ||
	    strcmp(state, "queued") != 0)
		return;
	if (!json_object_object_get_ex(r->last, id, &v) ||
	    json_object_get_int64(v) != lineno)
		return;
	if ((e = outbox_parse_entry(o)) != NULL)
		TAILQ_INSERT_TAIL(r->pending, e, entry);
}

static void
outbox_countdead(struct json_object *o, int64_t lineno, void *arg)
{
	(*(int64_t *)arg)++;
}

int
outbox_open(const char *spool_dir, int64_t compact_size, int keep,
    struct outbox_list *pending)
{
	struct outbox_replay	 r;
	struct outbox_entry	*e;
	struct stat		 st;
	int64_t			 n;
	size_t			 npending = 0;

	if (ob.dir != NULL)
		outbox_close();
	TAILQ_INIT(&ob.ts);
	ob.nts = 0;
	ob.dir = xstrdup(spool_dir);
	xasprintf(&ob.path, "%s/%s", spool_dir, OUTBOX_FILE);
	xasprintf(&ob.deadpath, "%s/%s", spool_dir, OUTBOX_DEAD_FILE);
	ob.compact_size = compact_size > 0 ? compact_size :
	    OUTBOX_COMPACT_SIZE;
	ob.keep = keep;

	memset(&r, 0, sizeof r);
	r.last = json_object_new_object();
	r.pending = pending;
	n = outbox_scan(ob.path, 1, outbox_pass1, &r);
	if (n > 0)
		n = outbox_scan(ob.path, 0, outbox_pass2, &r);
	json_object_put(r.last);
	if (n < 0)
		return (-1);
	TAILQ_FOREACH(e, pending, entry)
		npending++;

	ob.ndead = 0;
	if (outbox_scan(ob.deadpath, 1, outbox_countdead, &ob.ndead) < 0)
		return (-1);

	if ((ob.fd = open(ob.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1) {
		log_warn("%s", ob.path);
		return (-1);
	}
	ob.size = fstat(ob.fd, &st) == 0 ? st.st_size : 0;
	if (npending > 0)
		log_info("outbox: %zu notification%s from before the restart "
		    "still to send", npending, npending == 1 ? "" : "s");
	log_debug("outbox: %s: %lld lines, %lld bytes; %lld dead letters",
	    ob.path, (long long)n, (long long)ob.size, (long long)ob.ndead);
	return (0);
}

void
outbox_close(void)
{
	struct outbox_ts	*t;

	if (ob.fd != -1)
		close(ob.fd);
	ob.fd = -1;
	while ((t = TAILQ_FIRST(&ob.ts)) != NULL) {
		TAILQ_REMOVE(&ob.ts, t, entry);
		free(t->id);
		free(t->ts);
		free(t->channel);
		free(t->dest);
		free(t->text);
		free(t);
	}
	ob.nts = 0;
	if (ob.known != NULL)
		json_object_put(ob.known);
	ob.known = NULL;
	free(ob.dir);
	free(ob.path);
	free(ob.deadpath);
	ob.dir = ob.path = ob.deadpath = NULL;
}

int
outbox_queued(const struct outbox_entry *e)
{
	struct json_object	*o;

	if (e->id != NULL)
		outbox_know(e->id);
	if (ob.fd == -1)
		return (-1);
	o = outbox_object(e, "queued");
	outbox_addmessage(o, e);
	return (outbox_write(ob.fd, o, &ob.size, ob.path));
}

int
outbox_sent(const struct outbox_entry *e, long status, const char *ts,
    const char *channel)
{
	struct json_object	*o;

	if (ts != NULL && ts[0] != '\0')
		outbox_remember(e->id, ts, channel, e->dest, e->text);
	if (ob.fd == -1)
		return (-1);
	o = outbox_object(e, "sent");
	json_object_object_add(o, "status", json_object_new_int64(status));
	if (ts != NULL && ts[0] != '\0')
		outbox_addstr(o, "ts", ts);
	if (channel != NULL && channel[0] != '\0')
		outbox_addstr(o, "channel", channel);
	return (outbox_write(ob.fd, o, &ob.size, ob.path));
}

int
outbox_failed(const struct outbox_entry *e, const char *error)
{
	struct json_object	*o;
	int			 fd, rv = 0;

	if (ob.fd == -1)
		return (-1);
	/* The dead letter first: a crash between the two re-sends it. */
	if ((fd = open(ob.deadpath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1) {
		log_warn("%s", ob.deadpath);
		rv = -1;
	} else {
		o = outbox_object(e, NULL);
		outbox_addstr(o, "error", error);
		outbox_addmessage(o, e);
		if (outbox_write(fd, o, NULL, ob.deadpath) == 0)
			ob.ndead++;
		else
			rv = -1;
		close(fd);
	}
	o = outbox_object(e, "failed");
	outbox_addstr(o, "error", error);
	if (outbox_write(ob.fd, o, &ob.size, ob.path) == -1)
		rv = -1;
	return (rv);
}

const char *
outbox_ts(const char *id, const char **channel)
{
	struct outbox_ts	*t;

	TAILQ_FOREACH_REVERSE(t, &ob.ts, outbox_tslist, entry) {
		if (strcmp(t->id, id) == 0) {
			if (channel != NULL)
				*channel = t->channel;
			return (t->ts);
		}
	}
	return (NULL);
}

static void
outbox_deadentry(struct json_object *o, int64_t lineno, void *arg)
{
	struct outbox_list	*l = arg;
	struct outbox_entry	*e;

	if ((e = outbox_parse_entry(o)) != NULL)
		TAILQ_INSERT_TAIL(l, e, entry);
}

int
outbox_dead(struct outbox_list *l)
{
	struct outbox_entry	*e;
	int			 n = 0;

	if (ob.deadpath == NULL ||
	    outbox_scan(ob.deadpath, 0, outbox_deadentry, l) < 0)
		return (-1);
	TAILQ_FOREACH(e, l, entry)
		n++;
	return (n);
}

int64_t
outbox_dead_count(void)
{
	return (ob.ndead);
}

/* Write lines (each ending in '\n') to path via a temp file and rename. */
static int
outbox_replace(const char *path, struct evbuffer *lines)
{
	char	*tmp, *base;
	int	 fd;

	base = strrchr(path, '/');
	xasprintf(&tmp, "%.*s/.%s.tmp", (int)(base - path), path, base + 1);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640)) == -1) {
		log_warn("%s", tmp);
		free(tmp);
		return (-1);
	}
	while (evbuffer_get_length(lines) > 0) {
		if (evbuffer_write(lines, fd) == -1 && errno != EINTR) {
			log_warn("%s: write", tmp);
			goto fail;
		}
	}
	if (fsync(fd) == -1) {
		log_warn("%s: fsync", tmp);
		goto fail;
	}
	close(fd);
	if (rename(tmp, path) == -1) {
		log_warn("rename %s", tmp);
		unlink(tmp);
		free(tmp);
		return (-1);
	}
	if (outbox_fsync_dir(ob.dir) == -1)
		log_warn("%s: fsync", ob.dir);
	free(tmp);
	return (0);
fail:
	close(fd);
	unlink(tmp);
	free(tmp);
	return (-1);
}

int
outbox_dead_clear(void)
{
	struct evbuffer	*empty;
	int		 rv;

	if (ob.deadpath == NULL)
		return (-1);
	empty = evbuffer_new();
	rv = outbox_replace(ob.deadpath, empty);
	evbuffer_free(empty);
	if (rv == 0)
		ob.ndead = 0;
	return (rv);
}

int
outbox_needs_compact(void)
{
	return (ob.fd != -1 && ob.size > ob.compact_size);
}

static void
outbox_addline(struct evbuffer *b, struct json_object *o)
{
	evbuffer_add_printf(b, "%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
}

int
outbox_compact(const struct outbox_entry **pending, size_t n)
{
	struct evbuffer		*b;
	struct outbox_ts	*t;
	struct outbox_entry	 fake;
	struct json_object	*o;
	struct stat		 st;
	char			*from, *to;
	int			 i, rv;
	size_t			 j;

	if (ob.fd == -1)
		return (-1);
	/* Keep the old file as history: .1 … .keep. */
	for (i = ob.keep - 1; i >= 1; i--) {
		xasprintf(&from, "%s.%d", ob.path, i);
		xasprintf(&to, "%s.%d", ob.path, i + 1);
		if (rename(from, to) == -1 && errno != ENOENT)
			log_warn("rename %s", from);
		free(from);
		free(to);
	}
	if (ob.keep > 0) {
		xasprintf(&to, "%s.1", ob.path);
		unlink(to);
		if (link(ob.path, to) == -1)
			log_warn("link %s", to);
		free(to);
	}

	b = evbuffer_new();
	TAILQ_FOREACH(t, &ob.ts, entry) {
		memset(&fake, 0, sizeof fake);
		fake.id = t->id;
		fake.dest = t->dest;
		fake.text = t->text;
		o = outbox_object(&fake, "sent");
		outbox_addstr(o, "ts", t->ts);
		outbox_addstr(o, "channel", t->channel);
		outbox_addline(b, o);
	}
	for (j = 0; j < n; j++) {
		o = outbox_object(pending[j], "queued");
		outbox_addmessage(o, pending[j]);
		outbox_addline(b, o);
	}
	rv = outbox_replace(ob.path, b);
	evbuffer_free(b);
	if (rv == -1)
		return (-1);
	close(ob.fd);
	if ((ob.fd = open(ob.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) == -1) {
		log_warn("%s", ob.path);
		return (-1);
	}
	ob.size = fstat(ob.fd, &st) == 0 ? st.st_size : 0;
	log_info("outbox: compacted %s: %zu still queued, %lld bytes",
	    ob.path, n, (long long)ob.size);
	return (0);
}

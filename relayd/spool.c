/*
 * The spool: <spool_dir>/events.jsonl, one accepted event a line.
 *
 * Events are added to a batch; at the end of the loop iteration in which
 * they arrived (a "commit" event made active by the first add) the whole
 * batch goes out in one write(2), is covered by one fdatasync(2), and only
 * then is every caller told its result: group commit.  A write or sync
 * that fails truncates the file back to the last good offset and fails the
 * whole batch as temporary, so nothing acknowledged is ever lost and
 * nothing unacknowledged stays behind to be written twice.  The next batch
 * simply tries again: when space returns, writes succeed without help.
 *
 * fsync modes: "always" syncs before any result is given; "interval"
 * gives results after the write and syncs on a timer (weaker: a power cut
 * loses up to an interval of acknowledged events, a crash of svrelayd
 * alone loses nothing); "never" leaves it to the kernel.
 *
 * Duplicates (same id) are answered SPOOL_DUPLICATE and not written: the
 * ids of recent events are kept in an idset, rebuilt at open from at most
 * RELAYD_TAIL_BYTES at the end of the spool, so start-up time does not
 * grow with the spool.  A torn last line (no '\n' after a crash) is cut
 * off at open.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "conf.h"
#include "log.h"
#include "relayd.h"
#include "svevent.h"
#include "xmalloc.h"

struct spool_entry {
	TAILQ_ENTRY(spool_entry) entry;
	struct svevent	*ev;
	int		 dup;
	spool_cb	 cb;
	void		*arg;
};
TAILQ_HEAD(spool_entries, spool_entry);

struct spool {
	struct event_base	*base;	/* NULL: the caller commits */
	char			*dir;
	char			*path;
	int			 dirfd;	/* flock'd: one svrelayd a spool */
	int			 fd;
	off_t			 size;	/* end of the last good line */

	int			 fsync_mode;
	int			 fsync_interval_ms;
	int64_t			 rotate_size;
	int			 rotate_keep;

	struct idset		*ids;
	struct spool_entries	 batch;
	size_t			 nbatch;
	size_t			 batch_new;	/* ids added to ids by it */
	struct evbuffer		*buf;	/* the batch's lines */
	struct event		*commit_ev;
	struct event		*sync_ev;
	int			 dirty;	/* written, not yet synced */

	ssize_t			(*write_fn)(int, const void *, size_t);
	int			(*sync_fn)(int);
	void			(*stored_fn)(const struct svevent *);

	struct spool_stats	 st;
};

static void	spool_commit_cb(int, short, void *);
static void	spool_sync_cb(int, short, void *);

static int64_t
spool_now_ms(void)
{
	return (svevent_now_ms());
}

/* Sync data only; fall back to fsync where fdatasync is refused. */
static int
spool_fdatasync(int fd)
{
	if (fdatasync(fd) == 0)
		return (0);
	if (errno == EINVAL)
		return (fsync(fd));
	return (-1);
}

/*
 * Cut a torn last line (a crash in the middle of a write leaves no '\n'):
 * scan back from the end for the last '\n' and truncate after it.  Reads
 * only the tail.  Returns 0 or -1 (errno set).
 */
static int
spool_repair(struct spool *sp)
{
	char	 buf[65536];
	off_t	 end, pos;
	ssize_t	 n, i;

	if ((end = lseek(sp->fd, 0, SEEK_END)) == -1)
		return (-1);
	sp->size = end;
	if (end == 0)
		return (0);
	if (pread(sp->fd, buf, 1, end - 1) != 1)
		return (-1);
	if (buf[0] == '\n')
		return (0);
	pos = end;
	while (pos > 0) {
		n = pos > (off_t)sizeof buf ? (ssize_t)sizeof buf : pos;
		if (pread(sp->fd, buf, n, pos - n) != n)
			return (-1);
		pos -= n;
		for (i = n - 1; i >= 0; i--) {
			if (buf[i] == '\n')
				break;
		}
		if (i >= 0) {
			pos += i + 1;
			break;
		}
	}
	log_warnx("%s: cutting a torn last line (%lld bytes without a "
	    "newline, from a crash)", sp->path, (long long)(end - pos));
	if (ftruncate(sp->fd, pos) == -1 || spool_fdatasync(sp->fd) == -1)
		return (-1);
	sp->size = pos;
	return (0);
}

/* Remember the id of one spool line, if it has one. */
static void
spool_learn_line(struct spool *sp, const char *line, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*o, *v;

	if (len == 0 || line[0] != '{')
		return;
	if ((tok = json_tokener_new_ex(16)) == NULL)
		return;
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, "id", &v) &&
	    json_object_is_type(v, json_type_string))
		idset_add(sp->ids, json_object_get_string(v));
	if (o != NULL)
		json_object_put(o);
	json_tokener_free(tok);
}

/*
 * Learn the ids in the last budget bytes of the file at fd (size bytes
 * long), oldest first.  The first, probably partial, line is skipped
 * unless the read starts at the beginning of the file.  Returns the
 * bytes read.
 */
static off_t
spool_learn_tail(struct spool *sp, int fd, off_t size, off_t budget)
{
	struct evbuffer	*b;
	char		 chunk[65536], *line;
	off_t		 pos, start;
	ssize_t		 n;
	size_t		 len;
	int		 skip;

	start = size > budget ? size - budget : 0;
	skip = start > 0;
	b = evbuffer_new();
	for (pos = start; pos < size; pos += n) {
		n = size - pos > (off_t)sizeof chunk ? (ssize_t)sizeof chunk :
		    (ssize_t)(size - pos);
		if ((n = pread(fd, chunk, n, pos)) <= 0)
			break;
		evbuffer_add(b, chunk, n);
		while ((line = evbuffer_readln(b, &len, EVBUFFER_EOL_LF)) !=
		    NULL) {
			if (!skip)
				spool_learn_line(sp, line, len);
			skip = 0;
			free(line);
		}
	}
	evbuffer_free(b);
	return (size - start);
}

static void
spool_learn(struct spool *sp)
{
	struct stat	 st;
	char		*old;
	off_t		 budget = RELAYD_TAIL_BYTES;
	int		 fd;

	/* Right after a rotation the recent ids are in events.jsonl.1. */
	if (sp->size < budget) {
		xasprintf(&old, "%s.1", RELAYD_EVENTS_FILE);
		fd = openat(sp->dirfd, old, O_RDONLY | O_CLOEXEC);
		if (fd != -1) {
			if (fstat(fd, &st) == 0)
				spool_learn_tail(sp, fd, st.st_size,
				    budget - sp->size);
			close(fd);
		}
		free(old);
	}
	spool_learn_tail(sp, sp->fd, sp->size, budget);
	log_debug("%s: %zu recent ids remembered", sp->path,
	    idset_count(sp->ids));
}

/* Open (creating if needed) events.jsonl in sp->dirfd. */
static int
spool_open_file(struct spool *sp)
{
	int	fd, created = 0;

	fd = openat(sp->dirfd, RELAYD_EVENTS_FILE, O_RDWR | O_APPEND |
	    O_CREAT | O_EXCL | O_CLOEXEC, RELAYD_FILE_MODE);
	if (fd != -1)
		created = 1;
	else if (errno == EEXIST)
		fd = openat(sp->dirfd, RELAYD_EVENTS_FILE, O_RDWR | O_APPEND |
		    O_CLOEXEC);
	if (fd == -1)
		return (-1);
	if (created) {
		/* The mode, whatever the umask; the name, durably. */
		(void)fchmod(fd, RELAYD_FILE_MODE);
		(void)fsync(sp->dirfd);
	}
	sp->fd = fd;
	return (0);
}

/*
 * Open the spool in dir (created 0750 if missing), repair its tail and
 * remember its recent ids.  With a base, batches commit by themselves at
 * the end of each loop iteration; without one the caller calls
 * spool_commit.  Returns NULL after logging why.  Close with spool_close.
 */
struct spool *
spool_open(struct event_base *base, const char *dir, const struct conf *conf)
{
	struct spool	*sp;

	sp = xcalloc(1, sizeof *sp);
	sp->base = base;
	sp->dir = xstrdup(dir);
	xasprintf(&sp->path, "%s/%s", dir, RELAYD_EVENTS_FILE);
	sp->dirfd = sp->fd = -1;
	sp->write_fn = write;
	sp->sync_fn = spool_fdatasync;
	TAILQ_INIT(&sp->batch);
	sp->buf = evbuffer_new();
	spool_configure(sp, conf);

	if (mkdir(dir, RELAYD_SPOOL_MODE) == 0)
		(void)chmod(dir, RELAYD_SPOOL_MODE);
	else if (errno != EEXIST) {
		log_warn("spool directory %s", dir);
		goto fail;
	}
	if ((sp->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		log_warn("spool directory %s", dir);
		goto fail;
	}
	if (flock(sp->dirfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			log_warnx("spool directory %s is in use by another "
			    "svrelayd", dir);
		else
			log_warn("lock %s", dir);
		goto fail;
	}
	if (spool_open_file(sp) == -1) {
		log_warn("%s", sp->path);
		goto fail;
	}
	if (spool_repair(sp) == -1) {
		log_warn("%s: repair", sp->path);
		goto fail;
	}
	sp->ids = idset_new(RELAYD_IDSET_SIZE);
	spool_learn(sp);
	if (base != NULL) {
		sp->commit_ev = event_new(base, -1, 0, spool_commit_cb, sp);
		sp->sync_ev = evtimer_new(base, spool_sync_cb, sp);
	}
	log_info("spool %s open (%lld bytes)", sp->path, (long long)sp->size);
	return (sp);

fail:
	spool_close(sp);
	return (NULL);
}

/* Take fsync and rotation settings from conf (at open, and on SIGHUP). */
void
spool_configure(struct spool *sp, const struct conf *conf)
{
	sp->fsync_mode = conf->fsync_mode;
	sp->fsync_interval_ms = conf->fsync_interval_ms;
	sp->rotate_size = conf->rotate_size;
	sp->rotate_keep = conf->rotate_keep;
}

/* Commit what is pending, sync, and free everything. */
void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->fd != -1) {
		spool_commit(sp);
		if (sp->fsync_mode != CONF_FSYNC_NEVER)
			spool_sync(sp);
		close(sp->fd);
	}
	if (sp->dirfd != -1)
		close(sp->dirfd);
	if (sp->commit_ev != NULL)
		event_free(sp->commit_ev);
	if (sp->sync_ev != NULL)
		event_free(sp->sync_ev);
	evbuffer_free(sp->buf);
	idset_free(sp->ids);
	free(sp->dir);
	free(sp->path);
	free(sp);
}

/* Tests: replace write(2) and fdatasync(2) to provoke errors. */
void
spool_set_io(struct spool *sp, ssize_t (*wfn)(int, const void *, size_t),
    int (*sfn)(int))
{
	sp->write_fn = wfn != NULL ? wfn : write;
	sp->sync_fn = sfn != NULL ? sfn : spool_fdatasync;
}

/* Called for each event stored for the first time (delivery_event). */
void
spool_set_stored_hook(struct spool *sp, void (*fn)(const struct svevent *))
{
	sp->stored_fn = fn;
}

/*
 * Queue ev (the spool takes it) for the next commit.  cb(arg, ev, result,
 * error) is called exactly once, from spool_commit, with ev borrowed.
 */
void
spool_add(struct spool *sp, struct svevent *ev, spool_cb cb, void *arg)
{
	struct spool_entry	*e;
	char			*line;
	size_t			 len;

	e = xcalloc(1, sizeof *e);
	e->ev = ev;
	e->cb = cb;
	e->arg = arg;
	if (idset_has(sp->ids, ev->id))
		e->dup = 1;	/* stored, or in this batch */
	else {
		line = svevent_to_line(ev, &len);
		evbuffer_add(sp->buf, line, len);
		free(line);
		idset_add(sp->ids, ev->id);
		sp->batch_new++;
	}
	TAILQ_INSERT_TAIL(&sp->batch, e, entry);
	if (sp->nbatch++ == 0 && sp->commit_ev != NULL)
		event_active(sp->commit_ev, EV_TIMEOUT, 0);
}

static void
spool_commit_cb(int fd, short what, void *arg)
{
	spool_commit(arg);
}

static void
spool_fail(struct spool *sp, const char *what)
{
	int	saved = errno;

	snprintf(sp->st.last_error, sizeof sp->st.last_error, "%s %s: %s",
	    what, sp->path, strerror(saved));
	sp->st.last_error_ms = spool_now_ms();
	if (!sp->st.failing)
		log_warnx("%s; not acknowledging events until it works again",
		    sp->st.last_error);
	else
		log_debug("%s (still)", sp->st.last_error);
	sp->st.failing = 1;
	errno = saved;
}

/*
 * Cut the file back to the last good offset after a failed write or sync.
 * Returns 0, or -1 if even that failed (the bytes may then stay).
 */
static int
spool_truncate(struct spool *sp)
{
	struct stat	st;

	if (ftruncate(sp->fd, sp->size) == 0)
		return (0);
	log_warn("%s: cannot cut a failed write back to %lld bytes",
	    sp->path, (long long)sp->size);
	if (fstat(sp->fd, &st) == 0)
		sp->size = st.st_size;
	return (-1);
}

/* Write the batch's bytes; 0, or -1 after truncating back. */
static int
spool_write(struct spool *sp)
{
	const char	*p;
	size_t		 len, off = 0;
	ssize_t		 n;

	len = evbuffer_get_length(sp->buf);
	p = (const char *)evbuffer_pullup(sp->buf, -1);
	while (off < len) {
		n = sp->write_fn(sp->fd, p + off, len - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n == 0)
				errno = ENOSPC;
			spool_fail(sp, "write");
			return (spool_truncate(sp) == 0 ? -1 : -2);
		}
		off += n;
	}
	if (sp->fsync_mode == CONF_FSYNC_ALWAYS &&
	    sp->sync_fn(sp->fd) == -1) {
		spool_fail(sp, "fdatasync");
		return (spool_truncate(sp) == 0 ? -1 : -2);
	}
	sp->size += len;
	return (0);
}

static void
spool_rotate(struct spool *sp)
{
	char	 from[64], to[64];
	int	 i, oldfd = sp->fd;

	if (sp->fsync_mode != CONF_FSYNC_NEVER && spool_sync(sp) == -1)
		return;		/* try again after the next batch */
	if (sp->rotate_keep == 0) {
		if (unlinkat(sp->dirfd, RELAYD_EVENTS_FILE, 0) == -1) {
			log_warn("rotate: unlink %s", sp->path);
			return;
		}
	} else {
		for (i = sp->rotate_keep; i >= 1; i--) {
			if (i == 1)
				snprintf(from, sizeof from, "%s",
				    RELAYD_EVENTS_FILE);
			else
				snprintf(from, sizeof from, "%s.%d",
				    RELAYD_EVENTS_FILE, i - 1);
			snprintf(to, sizeof to, "%s.%d", RELAYD_EVENTS_FILE, i);
			if (renameat(sp->dirfd, from, sp->dirfd, to) == -1 &&
			    errno != ENOENT) {
				log_warn("rotate: rename %s/%s to %s", sp->dir,
				    from, to);
				if (i == 1)
					return;
			}
		}
	}
	if (spool_open_file(sp) == -1) {
		/* Keep writing to the renamed file; try again later. */
		log_warn("rotate: open a new %s", sp->path);
		sp->fd = oldfd;
		return;
	}
	close(oldfd);
	(void)fsync(sp->dirfd);
	log_info("rotated %s at %lld bytes (keeping %d)", sp->path,
	    (long long)sp->size, sp->rotate_keep);
	sp->size = 0;
	sp->dirty = 0;
}

/*
 * Write the pending batch with one write, sync it (fsync "always"), then
 * give every entry its result, in order.  Returns 0, or -1 if the batch
 * failed (each entry got SPOOL_FAILED with the reason).
 */
int
spool_commit(struct spool *sp)
{
	struct spool_entries	 done;
	struct spool_entry	*e;
	enum spool_result	 res;
	size_t			 nnew, len;
	int			 rc = 0;

	if (TAILQ_EMPTY(&sp->batch))
		return (0);
	TAILQ_INIT(&done);
	TAILQ_CONCAT(&done, &sp->batch, entry);
	nnew = sp->batch_new;
	sp->batch_new = 0;
	sp->nbatch = 0;

	len = evbuffer_get_length(sp->buf);
	if (len > 0) {
		rc = spool_write(sp);
		evbuffer_drain(sp->buf, len);
		if (rc == -1)
			idset_pop(sp->ids, nnew);
		/*
		 * rc -2: the failed bytes could not be cut off and may be in
		 * the file, so their ids stay known: a resend is answered
		 * duplicate rather than written twice.
		 */
	}
	if (rc == 0) {
		if (sp->st.failing)
			log_info("%s: writes work again", sp->path);
		sp->st.failing = 0;
		sp->st.batches++;
		if (len > 0) {
			sp->st.last_write_ms = spool_now_ms();
			if (sp->fsync_mode == CONF_FSYNC_INTERVAL) {
				sp->dirty = 1;
				if (sp->sync_ev != NULL &&
				    !evtimer_pending(sp->sync_ev, NULL)) {
					struct timeval	tv;

					tv.tv_sec = sp->fsync_interval_ms /
					    1000;
					tv.tv_usec = (sp->fsync_interval_ms %
					    1000) * 1000;
					evtimer_add(sp->sync_ev, &tv);
				}
			}
		}
	}

	while ((e = TAILQ_FIRST(&done)) != NULL) {
		TAILQ_REMOVE(&done, e, entry);
		if (rc != 0)
			res = SPOOL_FAILED;
		else if (e->dup)
			res = SPOOL_DUPLICATE;
		else
			res = SPOOL_STORED;
		switch (res) {
		case SPOOL_STORED:
			sp->st.stored++;
			if (sp->stored_fn != NULL)
				sp->stored_fn(e->ev);
			break;
		case SPOOL_DUPLICATE:
			sp->st.duplicates++;
			break;
		case SPOOL_FAILED:
			sp->st.failed++;
			break;
		}
		if (e->cb != NULL)
			e->cb(e->arg, e->ev, res, rc != 0 ?
			    sp->st.last_error : NULL);
		svevent_free(e->ev);
		free(e);
	}

	if (rc == 0 && sp->rotate_size > 0 && sp->size >= sp->rotate_size)
		spool_rotate(sp);
	return (rc == 0 ? 0 : -1);
}

/* Sync what was written (interval mode, rotation, shutdown). */
int
spool_sync(struct spool *sp)
{
	if (sp->sync_fn(sp->fd) == -1) {
		spool_fail(sp, "fdatasync");
		return (-1);
	}
	sp->dirty = 0;
	return (0);
}

static void
spool_sync_cb(int fd, short what, void *arg)
{
	struct spool	*sp = arg;

	if (sp->dirty)
		spool_sync(sp);
}

const char *
spool_path(const struct spool *sp)
{
	return (sp->path);
}

off_t
spool_size(const struct spool *sp)
{
	return (sp->size);
}

size_t
spool_pending(const struct spool *sp)
{
	return (sp->nbatch);
}

const struct spool_stats *
spool_stats(const struct spool *sp)
{
	return (&sp->st);
}

static struct json_object *
spool_time(int64_t ms)
{
	struct svevent	ev;
	struct json_object *o;

	if (ms == 0)
		return (NULL);
	memset(&ev, 0, sizeof ev);
	svevent_set_time(&ev, ms);
	o = json_object_new_string(ev.time);
	free(ev.time);
	return (o);
}

/* Add the spool's members to a status object. */
void
spool_status(const struct spool *sp, struct json_object *o)
{
	static const char	*modes[] = { "always", "interval", "never" };
	const struct spool_stats *st = &sp->st;

	json_object_object_add(o, "events_accepted",
	    json_object_new_int64((int64_t)st->stored));
	json_object_object_add(o, "duplicates",
	    json_object_new_int64((int64_t)st->duplicates));
	json_object_object_add(o, "write_failures",
	    json_object_new_int64((int64_t)st->failed));
	json_object_object_add(o, "spool_file",
	    json_object_new_string(sp->path));
	json_object_object_add(o, "spool_bytes",
	    json_object_new_int64((int64_t)sp->size));
	json_object_object_add(o, "spool_fsync", json_object_new_string(
	    sp->fsync_mode >= 0 && sp->fsync_mode <= 2 ?
	    modes[sp->fsync_mode] : "?"));
	json_object_object_add(o, "last_write", spool_time(st->last_write_ms));
	json_object_object_add(o, "spool_failing",
	    json_object_new_boolean(st->failing));
	json_object_object_add(o, "last_error", st->last_error_ms == 0 ?
	    NULL : json_object_new_string(st->last_error));
	json_object_object_add(o, "last_error_time",
	    spool_time(st->last_error_ms));
}

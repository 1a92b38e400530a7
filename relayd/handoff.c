/*
 * Import of the listener's hand-off directory, <spool_dir>/handoff.
 *
 * When svrelayd cannot be reached the listener writes each event
 * maildir-style: into tmp/, fsync, rename into new/ as
 * <13-digit unix ms>.<pid>.<counter>.json, one JSON event line a file, so
 * sorting by name is oldest first.  We never look at tmp/.  Files in new/
 * go through the spool like events from the socket (dedup, append, sync)
 * and are unlinked only once their line is synced in events.jsonl; a file
 * that does not parse moves to bad/ with a log line.
 *
 * new/ is read at start, when inotify reports a rename into it, and every
 * RELAYD_RESCAN_SEC as a safety net.  One scan is worked through in chunks
 * of RELAYD_HANDOFF_CHUNK files, one spool batch each, so that a large
 * backlog never keeps the socket waiting.  After a failed write the import
 * pauses RELAYD_RETRY_SEC and starts over.
 */
#include "config.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "conf.h"
#include "log.h"
#include "relayd.h"
#include "svevent.h"
#include "xmalloc.h"

struct handoff {
	struct event_base	*base;
	struct spool		*spool;
	char			*dir;		/* <spool_dir>/handoff */
	int			 newfd;
	int			 badfd;
	size_t			 max_line;

	int			 ifd;		/* inotify, -1 if none */
	struct event		*inotify_ev;
	struct event		*rescan_ev;	/* every RELAYD_RESCAN_SEC */
	struct event		*step_ev;	/* made active: work */
	struct event		*retry_ev;	/* after a failed write */

	char			**names;	/* the current scan, sorted */
	size_t			 nnames;
	size_t			 next;
	size_t			 inflight;	/* files in the spool's batch */
	int			 dirty;		/* new/ needs a scan */
	int			 failed;	/* the last batch failed */

	uint64_t		 imported;
	uint64_t		 duplicates;
	uint64_t		 bad;
};

struct handoff_file {
	struct handoff	*h;
	char		*name;
};

static void	handoff_step_cb(int, short, void *);

static int
handoff_mkdir(const char *path, mode_t mode, gid_t gid)
{
	if (mkdir(path, mode) == -1) {
		if (errno == EEXIST)
			return (0);
		log_warn("mkdir %s", path);
		return (-1);
	}
	if (chown(path, (uid_t)-1, gid) == -1)
		log_warn("chown %s to group %ld", path, (long)gid);
	/* After chown, which may clear the set-group-id bit. */
	if (chmod(path, mode) == -1)
		log_warn("chmod %s", path);
	return (0);
}

/*
 * Create what is missing of spool_dir (0750) and its hand-off dir with
 * tmp/ new/ bad/ (02770), group gid so that a listener in that group can
 * write there.  Existing directories are left as the admin made them.
 */
int
handoff_mkdirs(const char *spool_dir, gid_t gid)
{
	static const char	*subs[] = { RELAYD_HANDOFF_TMP,
	    RELAYD_HANDOFF_NEW, RELAYD_HANDOFF_BAD, NULL };
	char			 path[PATH_MAX];
	int			 i;

	if (handoff_mkdir(spool_dir, RELAYD_SPOOL_MODE, gid) == -1)
		return (-1);
	snprintf(path, sizeof path, "%s/%s", spool_dir, CONF_HANDOFF_DIR);
	if (handoff_mkdir(path, RELAYD_HANDOFF_MODE, gid) == -1)
		return (-1);
	for (i = 0; subs[i] != NULL; i++) {
		if ((size_t)snprintf(path, sizeof path, "%s/%s/%s", spool_dir,
		    CONF_HANDOFF_DIR, subs[i]) >= sizeof path) {
			log_warnx("%s: path too long", spool_dir);
			return (-1);
		}
		if (handoff_mkdir(path, RELAYD_HANDOFF_MODE, gid) == -1)
			return (-1);
	}
	return (0);
}

static void
handoff_inotify_cb(int fd, short what, void *arg)
{
	struct handoff	*h = arg;
	char		 buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));

	/* Which files does not matter: any rename means scan. */
	while (read(fd, buf, sizeof buf) > 0)
		;
	handoff_kick(h);
}

static void
handoff_rescan_cb(int fd, short what, void *arg)
{
	handoff_kick(arg);
}

static void
handoff_retry_cb(int fd, short what, void *arg)
{
	struct handoff	*h = arg;

	h->failed = 0;
	handoff_kick(h);
}

/*
 * Watch and import <spool_dir>/handoff/new (the directories must exist:
 * handoff_mkdirs).  With a NULL base nothing runs by itself: the caller
 * calls handoff_import.  Returns NULL after logging why.
 */
struct handoff *
handoff_new(struct event_base *base, struct spool *spool,
    const char *spool_dir, size_t max_line)
{
	struct handoff	*h;
	struct timeval	 tv = { RELAYD_RESCAN_SEC, 0 };
	char		*path;

	h = xcalloc(1, sizeof *h);
	h->base = base;
	h->spool = spool;
	h->max_line = max_line;
	h->newfd = h->badfd = h->ifd = -1;
	xasprintf(&h->dir, "%s/%s", spool_dir, CONF_HANDOFF_DIR);

	xasprintf(&path, "%s/%s", h->dir, RELAYD_HANDOFF_NEW);
	h->newfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->newfd == -1) {
		log_warn("%s", path);
		free(path);
		goto fail;
	}
	if (base != NULL) {
		h->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (h->ifd == -1 || inotify_add_watch(h->ifd, path,
		    IN_MOVED_TO) == -1) {
			log_warn("inotify on %s (new files will be seen by "
			    "the %d s rescan)", path, RELAYD_RESCAN_SEC);
			if (h->ifd != -1)
				close(h->ifd);
			h->ifd = -1;
		}
	}
	free(path);
	xasprintf(&path, "%s/%s", h->dir, RELAYD_HANDOFF_BAD);
	h->badfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (h->badfd == -1) {
		log_warn("%s", path);
		free(path);
		goto fail;
	}
	free(path);

	if (base != NULL) {
		if (h->ifd != -1) {
			h->inotify_ev = event_new(base, h->ifd,
			    EV_READ | EV_PERSIST, handoff_inotify_cb, h);
			event_add(h->inotify_ev, NULL);
		}
		h->rescan_ev = event_new(base, -1, EV_PERSIST,
		    handoff_rescan_cb, h);
		event_add(h->rescan_ev, &tv);
		h->step_ev = event_new(base, -1, 0, handoff_step_cb, h);
		h->retry_ev = evtimer_new(base, handoff_retry_cb, h);
	}
	h->dirty = 1;
	if (h->step_ev != NULL)
		event_active(h->step_ev, EV_TIMEOUT, 0);
	return (h);

fail:
	handoff_free(h);
	return (NULL);
}

static void
handoff_free_names(struct handoff *h)
{
	size_t	i;

	for (i = 0; i < h->nnames; i++)
		free(h->names[i]);
	free(h->names);
	h->names = NULL;
	h->nnames = h->next = 0;
}

/*
 * Stop watching.  Files still in the spool's batch keep a pointer to h:
 * commit the spool first (spool_commit) so that none is in flight.
 */
void
handoff_free(struct handoff *h)
{
	if (h == NULL)
		return;
	if (h->inotify_ev != NULL)
		event_free(h->inotify_ev);
	if (h->rescan_ev != NULL)
		event_free(h->rescan_ev);
	if (h->step_ev != NULL)
		event_free(h->step_ev);
	if (h->retry_ev != NULL)
		event_free(h->retry_ev);
	if (h->ifd != -1)
		close(h->ifd);
	if (h->newfd != -1)
		close(h->newfd);
	if (h->badfd != -1)
		close(h->badfd);
	handoff_free_names(h);
	free(h->dir);
	free(h);
}

/* Something may have arrived in new/: scan when the current work ends. */
void
handoff_kick(struct handoff *h)
{
	h->dirty = 1;
	if (h->step_ev != NULL && h->inflight == 0 && !h->failed)
		event_active(h->step_ev, EV_TIMEOUT, 0);
}

static int
handoff_cmp(const void *a, const void *b)
{
	return (strcmp(*(char * const *)a, *(char * const *)b));
}

/* Read new/ into h->names, sorted: oldest first. */
static void
handoff_scan(struct handoff *h)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 cap = 0;
	int		 fd;

	handoff_free_names(h);
	h->dirty = 0;
	if ((fd = dup(h->newfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		log_warn("%s/%s", h->dir, RELAYD_HANDOFF_NEW);
		if (fd != -1)
			close(fd);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (h->nnames == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			h->names = xreallocarray(h->names, cap,
			    sizeof *h->names);
		}
		h->names[h->nnames++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (h->nnames > 0)
		qsort(h->names, h->nnames, sizeof *h->names, handoff_cmp);
}

static void
handoff_bad(struct handoff *h, const char *name, const char *why)
{
	h->bad++;
	log_warnx("%s/%s/%s: %s; moved to %s/", h->dir, RELAYD_HANDOFF_NEW,
	    name, why, RELAYD_HANDOFF_BAD);
	if (renameat(h->newfd, name, h->badfd, name) == -1)
		log_warn("move %s to %s/%s", name, h->dir, RELAYD_HANDOFF_BAD);
}

/*
 * Read one file of new/.  Returns the event, or NULL: gone (someone else
 * took it) or bad (moved to bad/).
 */
static struct svevent *
handoff_read(struct handoff *h, const char *name)
{
	struct svevent	*ev = NULL;
	struct stat	 st;
	char		*buf = NULL, err[512];
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd;

	fd = openat(h->newfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd == -1) {
		if (errno != ENOENT)
			handoff_bad(h, name, strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		handoff_bad(h, name, "not a regular file");
		goto out;
	}
	if ((size_t)st.st_size > h->max_line + 1) {
		snprintf(err, sizeof err, "larger than max_line (%zu bytes)",
		    h->max_line);
		handoff_bad(h, name, err);
		goto out;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (len < (size_t)st.st_size) {
		n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	if ((ev = svevent_from_json(buf, len, err, sizeof err)) == NULL)
		handoff_bad(h, name, err);
out:
	free(buf);
	close(fd);
	return (ev);
}

static void
handoff_done(void *arg, const struct svevent *ev, enum spool_result res,
    const char *error)
{
	struct handoff_file	*f = arg;
	struct handoff		*h = f->h;

	switch (res) {
	case SPOOL_STORED:
	case SPOOL_DUPLICATE:
		if (res == SPOOL_STORED)
			h->imported++;
		else
			h->duplicates++;
		log_debug("hand-off %s: %s", f->name, res == SPOOL_STORED ?
		    "imported" : "duplicate");
		if (unlinkat(h->newfd, f->name, 0) == -1 && errno != ENOENT)
			log_warn("unlink %s/%s/%s", h->dir,
			    RELAYD_HANDOFF_NEW, f->name);
		break;
	case SPOOL_FAILED:
		/* Keep the file; start over after a pause. */
		if (h->retry_ev == NULL) {
			/* No loop: the caller drives the retries. */
			handoff_free_names(h);
			h->dirty = 1;
		} else if (!h->failed) {
			h->failed = 1;
			handoff_free_names(h);
			h->dirty = 1;
			if (h->retry_ev != NULL) {
				struct timeval	tv = { RELAYD_RETRY_SEC, 0 };

				evtimer_add(h->retry_ev, &tv);
			}
		}
		break;
	}
	free(f->name);
	free(f);
	if (--h->inflight == 0 && !h->failed && h->step_ev != NULL &&
	    (h->next < h->nnames || h->dirty))
		event_active(h->step_ev, EV_TIMEOUT, 0);
}

/*
 * Queue the next chunk of new/ (scanning again first when the last scan
 * is used up and something changed) into the spool.  Returns how many
 * files were queued; they are unlinked when the batch commits.
 */
int
handoff_import(struct handoff *h)
{
	struct handoff_file	*f;
	struct svevent		*ev;
	size_t			 queued = 0;
	const char		*name;

	if (h->inflight > 0 || h->failed)
		return (0);
	if (h->next >= h->nnames) {
		if (!h->dirty)
			return (0);
		handoff_scan(h);
	}
	while (h->next < h->nnames && queued < RELAYD_HANDOFF_CHUNK) {
		name = h->names[h->next++];
		if ((ev = handoff_read(h, name)) == NULL)
			continue;
		f = xcalloc(1, sizeof *f);
		f->h = h;
		f->name = xstrdup(name);
		h->inflight++;
		queued++;
		spool_add(h->spool, ev, handoff_done, f);
	}
	if (h->next >= h->nnames)
		handoff_free_names(h);
	/* Only bad files in this chunk: go on without waiting for a batch. */
	if (queued == 0 && h->step_ev != NULL && (h->nnames > 0 || h->dirty))
		event_active(h->step_ev, EV_TIMEOUT, 0);
	return ((int)queued);
}

static void
handoff_step_cb(int fd, short what, void *arg)
{
	handoff_import(arg);
}

size_t
handoff_inflight(const struct handoff *h)
{
	return (h->inflight);
}

void
handoff_status(const struct handoff *h, struct json_object *o)
{
	json_object_object_add(o, "handoff_imported",
	    json_object_new_int64((int64_t)h->imported));
	json_object_object_add(o, "handoff_duplicates",
	    json_object_new_int64((int64_t)h->duplicates));
	json_object_object_add(o, "handoff_bad",
	    json_object_new_int64((int64_t)h->bad));
}

/*
 * The hand-off directory, maildir style: when svrelayd cannot take an
 * event, the listener writes its JSON line to
 * <spool_dir>/handoff/tmp/<name>, fsyncs it, renames it into new/ and
 * fsyncs new/; svrelayd imports new/ oldest first.  Lines svrelayd
 * refused as bad go to bad/ the same way, for an admin to look at.
 * Names are <unix ms, 13 digits>.<pid>.<counter>.json: sorting by name is
 * oldest first.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "svevent.h"
#include "xmalloc.h"
#include "listener.h"

struct handoff {
	char		*spool;		/* spool_dir */
	char		*top;		/* spool_dir/handoff */
	char		*tmp;
	char		*new;
	char		*bad;
	unsigned long	 counter;
	int		 ready;		/* directories checked */
};

/* A writer into spool_dir/handoff; nothing is touched yet. */
struct handoff *
handoff_new(const char *spool_dir)
{
	struct handoff	*h;

	h = xcalloc(1, sizeof *h);
	h->spool = xstrdup(spool_dir);
	xasprintf(&h->top, "%s/%s", spool_dir, CONF_HANDOFF_DIR);
	xasprintf(&h->tmp, "%s/%s", h->top, HANDOFF_TMP);
	xasprintf(&h->new, "%s/%s", h->top, HANDOFF_NEW);
	xasprintf(&h->bad, "%s/%s", h->top, HANDOFF_BAD);
	return (h);
}

void
handoff_free(struct handoff *h)
{
	if (h == NULL)
		return;
	free(h->spool);
	free(h->top);
	free(h->tmp);
	free(h->new);
	free(h->bad);
	free(h);
}

static int
handoff_fsync_dir(const char *path)
{
	int	fd, rc;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	rc = fsync(fd);
	close(fd);
	return (rc);
}

/*
 * Make dir if it is missing: mode 02770, group that of gid (the spool's,
 * so svrelayd can read what root writes).  0 or -1 with errno.
 */
static int
handoff_mkdir(const char *dir, const char *parent, gid_t gid)
{
	struct stat	st;

	if (mkdir(dir, 0700) == -1) {
		if (errno != EEXIST)
			return (-1);
		if (stat(dir, &st) == -1)
			return (-1);
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return (-1);
		}
		return (0);
	}
	if (chown(dir, (uid_t)-1, gid) == -1 && errno != EPERM)
		return (-1);
	if (chmod(dir, HANDOFF_DIR_MODE) == -1)
		return (-1);
	return (handoff_fsync_dir(parent));
}

static int
handoff_prepare(struct handoff *h, char *err, size_t errlen)
{
	struct stat	st;
	const char	*dirs[3];
	size_t		 i;

	if (stat(h->spool, &st) == -1) {
		snprintf(err, errlen, "spool directory %s: %s", h->spool,
		    strerror(errno));
		return (-1);
	}
	if (handoff_mkdir(h->top, h->spool, st.st_gid) == -1) {
		snprintf(err, errlen, "%s: %s", h->top, strerror(errno));
		return (-1);
	}
	dirs[0] = h->tmp;
	dirs[1] = h->new;
	dirs[2] = h->bad;
	for (i = 0; i < 3; i++) {
		if (handoff_mkdir(dirs[i], h->top, st.st_gid) == -1) {
			snprintf(err, errlen, "%s: %s", dirs[i],
			    strerror(errno));
			return (-1);
		}
	}
	h->ready = 1;
	return (0);
}

/* Write all of line to fd; 0 or -1 with errno. */
static int
handoff_write_all(int fd, const char *line, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, line, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		line += n;
		len -= n;
	}
	return (0);
}

static int
handoff_try(struct handoff *h, const char *line, size_t len, int bad,
    char *path, size_t pathlen, char *err, size_t errlen)
{
	char		 name[96], *tmp = NULL;
	const char	*dir = bad ? h->bad : h->new, *step;
	int		 fd = -1, saved;

	snprintf(name, sizeof name, "%013" PRId64 ".%ld.%06lu.json",
	    svevent_now_ms(), (long)getpid(), h->counter++);
	xasprintf(&tmp, "%s/%s", h->tmp, name);
	snprintf(path, pathlen, "%s/%s", dir, name);

	step = "create";
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    HANDOFF_FILE_MODE);
	if (fd == -1)
		goto fail;
	step = "chmod";
	if (fchmod(fd, HANDOFF_FILE_MODE) == -1)	/* whatever the umask */
		goto fail;
	step = "write";
	if (handoff_write_all(fd, line, len) == -1)
		goto fail;
	step = "fsync";
	if (fsync(fd) == -1)
		goto fail;
	step = "close";
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	step = "rename";
	if (rename(tmp, path) == -1)
		goto fail;
	free(tmp);
	tmp = NULL;
	step = "fsync the directory";
	if (handoff_fsync_dir(dir) == -1) {
		snprintf(err, errlen, "%s %s: %s", step, dir,
		    strerror(errno));
		return (-1);
	}
	return (0);

fail:
	saved = errno;
	snprintf(err, errlen, "%s %s: %s", step, tmp, strerror(errno));
	if (fd != -1)
		close(fd);
	(void)unlink(tmp);
	free(tmp);
	errno = saved;
	return (-1);
}

/*
 * Write one event line (with its '\n') into new/ (or bad/ when bad is
 * set), durably.  Returns 0 with the file's path in path, or -1 with the
 * reason in err (disk full, permissions: nothing was left behind).
 */
int
handoff_write(struct handoff *h, const char *line, size_t len, int bad,
    char *path, size_t pathlen, char *err, size_t errlen)
{
	if (!h->ready && handoff_prepare(h, err, errlen) == -1)
		return (-1);
	if (handoff_try(h, line, len, bad, path, pathlen, err, errlen) == 0)
		return (0);
	if (errno != ENOENT)
		return (-1);
	/* Someone removed a directory: make it again, once. */
	h->ready = 0;
	if (handoff_prepare(h, err, errlen) == -1)
		return (-1);
	return (handoff_try(h, line, len, bad, path, pathlen, err, errlen));
}

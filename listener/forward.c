/*
 * The connection to svrelayd: one Unix socket kept open across events.
 * Send a JSON line, wait (at most the ack timeout) for its reply line,
 * and say what svrelayd made of it.  A connection that timed out or
 * answered nonsense is closed, so that a late reply is never taken for
 * the next event's.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wire.h"
#include "xmalloc.h"
#include "listener.h"

struct forward {
	char		*path;
	int		 fd;		/* -1: not connected */
	int		 timeout_ms;
	int64_t		 holdoff_until;	/* monotonic ms; 0: none */
	char		 rbuf[FORWARD_MAX_REPLY];
	size_t		 rlen;
};

static int64_t
forward_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* A forwarder to the socket at path; nothing is connected yet. */
struct forward *
forward_new(const char *path, int timeout_ms)
{
	struct forward	*f;

	f = xcalloc(1, sizeof *f);
	f->path = xstrdup(path);
	f->fd = -1;
	f->timeout_ms = timeout_ms;
	return (f);
}

void
forward_free(struct forward *f)
{
	if (f == NULL)
		return;
	forward_close(f);
	free(f->path);
	free(f);
}

void
forward_close(struct forward *f)
{
	if (f->fd != -1)
		close(f->fd);
	f->fd = -1;
	f->rlen = 0;
}

static int
forward_connect(struct forward *f, char *err, size_t errlen)
{
	struct sockaddr_un	sun;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(f->path) >= sizeof sun.sun_path) {
		snprintf(err, errlen, "socket path %s is too long", f->path);
		return (-1);
	}
	memcpy(sun.sun_path, f->path, strlen(f->path));
	f->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (f->fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return (-1);
	}
	/* AF_UNIX connects at once or fails (EAGAIN: backlog full). */
	if (connect(f->fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		snprintf(err, errlen, "connect %s: %s", f->path,
		    strerror(errno));
		forward_close(f);
		return (-1);
	}
	f->rlen = 0;
	return (0);
}

/* Wait for events on f->fd until deadline; 0, or -1 on timeout. */
static int
forward_poll(struct forward *f, short events, int64_t deadline)
{
	struct pollfd	pfd;
	int64_t		left;
	int		n;

	for (;;) {
		if ((left = deadline - forward_now()) <= 0)
			return (-1);
		pfd.fd = f->fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return (0);
		if (n == -1 && errno != EINTR)
			return (0);	/* the next I/O call says why */
	}
}

/*
 * One attempt on the current connection.  Returns FORWARD_* or -1 when
 * the connection broke before any reply byte came (worth one retry on a
 * fresh connection when it was an old one).
 */
static int
forward_try(struct forward *f, const char *line, size_t len, const char *id,
    int64_t deadline, char *err, size_t errlen)
{
	struct wire_reply	 r;
	const char		*p = line;
	char			*nl, why[256];
	size_t			 left = len;
	ssize_t			 n;

	while (left > 0) {
		n = send(f->fd, p, left, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (forward_poll(f, POLLOUT, deadline) == -1)
					goto timeout;
				continue;
			}
			snprintf(err, errlen, "send to svrelayd: %s",
			    strerror(errno));
			forward_close(f);
			return (-1);
		}
		p += n;
		left -= n;
	}

	while ((nl = memchr(f->rbuf, '\n', f->rlen)) == NULL) {
		if (f->rlen == sizeof f->rbuf) {
			snprintf(err, errlen, "svrelayd's reply is longer than "
			    "%d bytes", FORWARD_MAX_REPLY);
			forward_close(f);
			return (FORWARD_UNAVAILABLE);
		}
		n = recv(f->fd, f->rbuf + f->rlen, sizeof f->rbuf - f->rlen, 0);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				if (forward_poll(f, POLLIN, deadline) == -1)
					goto timeout;
				continue;
			}
			snprintf(err, errlen, "read from svrelayd: %s",
			    strerror(errno));
		} else if (n == 0)
			snprintf(err, errlen, "svrelayd closed the connection");
		if (n <= 0) {
			n = f->rlen == 0 ? -1 : FORWARD_UNAVAILABLE;
			forward_close(f);
			return ((int)n);
		}
		f->rlen += n;
	}

	if ((size_t)(nl - f->rbuf) + 1 != f->rlen) {
		snprintf(err, errlen, "svrelayd sent more than one reply line");
		forward_close(f);
		return (FORWARD_UNAVAILABLE);
	}
	if (wire_parse_reply(f->rbuf, f->rlen, &r, why, sizeof why) != 0) {
		snprintf(err, errlen, "bad reply from svrelayd: %s", why);
		forward_close(f);
		return (FORWARD_UNAVAILABLE);
	}
	f->rlen = 0;
	if (r.id[0] != '\0' && strncmp(r.id, id, sizeof r.id - 1) != 0) {
		snprintf(err, errlen, "svrelayd answered for event %s, not %s",
		    r.id, id);
		forward_close(f);
		return (FORWARD_UNAVAILABLE);
	}
	if (r.ok)
		return (FORWARD_OK);
	snprintf(err, errlen, "%s", r.error[0] != '\0' ? r.error :
	    "no reason given");
	return (r.temporary ? FORWARD_UNAVAILABLE : FORWARD_REFUSED);

timeout:
	snprintf(err, errlen, "no reply from svrelayd within %d ms",
	    f->timeout_ms);
	forward_close(f);
	f->holdoff_until = forward_now() + FORWARD_HOLDOFF_MS;
	return (FORWARD_UNAVAILABLE);
}

/*
 * Send one event line (with its '\n') and wait for svrelayd's answer.
 * Returns FORWARD_OK when it is stored (or was already), FORWARD_REFUSED
 * when svrelayd says the line is bad, FORWARD_UNAVAILABLE when it is not
 * stored now (not running, busy, timed out, disk full); err says why.
 * After a timeout svrelayd is not tried again for FORWARD_HOLDOFF_MS, so
 * that a hung svrelayd costs one timeout, not one per event.
 */
int
forward_send(struct forward *f, const char *line, size_t len, const char *id,
    char *err, size_t errlen)
{
	int64_t	deadline;
	int	fresh, rc;

	if (f->holdoff_until != 0) {
		if (forward_now() < f->holdoff_until) {
			snprintf(err, errlen, "svrelayd did not answer in time "
			    "lately; not trying it for %d ms",
			    FORWARD_HOLDOFF_MS);
			return (FORWARD_UNAVAILABLE);
		}
		f->holdoff_until = 0;
	}
	deadline = forward_now() + f->timeout_ms;
	fresh = f->fd == -1;
	if (fresh && forward_connect(f, err, errlen) == -1)
		return (FORWARD_UNAVAILABLE);
	rc = forward_try(f, line, len, id, deadline, err, errlen);
	if (rc == -1 && !fresh) {
		/* svrelayd restarted since the last event: once more. */
		if (forward_connect(f, err, errlen) == -1)
			return (FORWARD_UNAVAILABLE);
		rc = forward_try(f, line, len, id, deadline, err, errlen);
	}
	return (rc == -1 ? FORWARD_UNAVAILABLE : rc);
}

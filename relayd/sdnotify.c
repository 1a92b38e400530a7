/*
 * systemd's readiness protocol without libsystemd: one datagram per state
 * change to $NOTIFY_SOCKET (READY=1, RELOADING=1, STOPPING=1, WATCHDOG=1).
 * Without NOTIFY_SOCKET every call does nothing.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "relayd.h"

/* Send state (e.g. "READY=1") to systemd.  Returns 0, or -1 if it failed. */
int
sdnotify(const char *state)
{
	struct sockaddr_un	 sun;
	const char		*path;
	socklen_t		 len;
	int			 fd, rc;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || path[0] == '\0')
		return (0);
	if ((path[0] != '/' && path[0] != '@') ||
	    strlen(path) >= sizeof sun.sun_path) {
		log_warnx("NOTIFY_SOCKET is not a socket path; not notifying");
		return (-1);
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, strlen(path));
	if (path[0] == '@')
		sun.sun_path[0] = '\0';		/* abstract namespace */
	len = offsetof(struct sockaddr_un, sun_path) + strlen(path);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("sdnotify: socket");
		return (-1);
	}
	rc = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, len);
	close(fd);
	if (rc == -1) {
		log_warn("sdnotify: %s", state);
		return (-1);
	}
	log_debug("sdnotify: %s", state);
	return (0);
}

/*
 * The watchdog interval systemd asks for ($WATCHDOG_USEC, for this pid), in
 * microseconds, or 0 if none.
 */
long long
sdnotify_watchdog_usec(void)
{
	const char	*s, *p;
	char		*end;
	long long	 usec;

	if ((s = getenv("WATCHDOG_USEC")) == NULL)
		return (0);
	if ((p = getenv("WATCHDOG_PID")) != NULL &&
	    strtoll(p, NULL, 10) != (long long)getpid())
		return (0);
	errno = 0;
	usec = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || usec <= 0)
		return (0);
	return (usec);
}

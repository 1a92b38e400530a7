#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_ident = "svrelay";
static int		 log_syslog;
static int		 log_level = LOG_LEVEL_INFO;

void
log_init(const char *ident, int to_syslog, int level)
{
	log_ident = ident;
	log_syslog = to_syslog;
	log_level = level;
	if (log_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setlevel(int level)
{
	log_level = level;
}

int
log_getlevel(void)
{
	return (log_level);
}

int
log_parselevel(const char *name)
{
	if (strcmp(name, "warn") == 0)
		return (LOG_LEVEL_WARN);
	if (strcmp(name, "info") == 0)
		return (LOG_LEVEL_INFO);
	if (strcmp(name, "debug") == 0)
		return (LOG_LEVEL_DEBUG);
	return (-1);
}

/*
 * Write one line.  On stderr each line carries a UTC timestamp and the
 * program name, so a listener's log file (supervisord's stderr_logfile)
 * reads well on its own.
 */
static void
vlog(int pri, const char *fmt, va_list ap, const char *suffix)
{
	char		 msg[2048], stamp[32];
	struct timespec	 ts;
	struct tm	 tm;
	int		 saved = errno;

	vsnprintf(msg, sizeof msg, fmt, ap);
	if (log_syslog) {
		if (suffix != NULL)
			syslog(pri, "%s: %s", msg, suffix);
		else
			syslog(pri, "%s", msg);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
		if (suffix != NULL)
			fprintf(stderr, "%s.%03ldZ %s[%ld]: %s: %s\n", stamp,
			    ts.tv_nsec / 1000000, log_ident, (long)getpid(),
			    msg, suffix);
		else
			fprintf(stderr, "%s.%03ldZ %s[%ld]: %s\n", stamp,
			    ts.tv_nsec / 1000000, log_ident, (long)getpid(),
			    msg);
		fflush(stderr);
	}
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	char	err[256];

	snprintf(err, sizeof err, "%s", strerror(errno));
	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, err);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	if (log_level < LOG_LEVEL_INFO)
		return;
	va_start(ap, fmt);
	vlog(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_level < LOG_LEVEL_DEBUG)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	char	err[256];

	snprintf(err, sizeof err, "%s", strerror(errno));
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, err);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

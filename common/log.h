/*
 * Logging the OpenBSD way: log_warn appends strerror(errno), log_warnx does
 * not, fatal/fatalx log and exit(1).  Messages go to stderr or to syslog,
 * never to stdout (the listener's stdout belongs to supervisord).
 */
#ifndef SVRELAY_LOG_H
#define SVRELAY_LOG_H

#include <stdarg.h>

#define LOG_LEVEL_WARN	0
#define LOG_LEVEL_INFO	1
#define LOG_LEVEL_DEBUG	2

/* ident: program name; to_syslog: 0 = stderr; level: LOG_LEVEL_*. */
void	log_init(const char *ident, int to_syslog, int level);
void	log_setlevel(int level);
int	log_getlevel(void);
/* Parse "warn", "info" or "debug"; returns -1 on anything else. */
int	log_parselevel(const char *name);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif

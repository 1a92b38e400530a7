/*
 * svrelay.conf: one libconfig file read by all three programs.  conf_load
 * parses the whole file into a struct conf, with defaults for what is not
 * set; nothing past start-up reads the file again.
 */
#ifndef SVRELAY_CONF_H
#define SVRELAY_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef SVRELAY_SYSCONFDIR
#define SVRELAY_SYSCONFDIR	"/etc"
#endif
#define CONF_DEFAULT_PATH	SVRELAY_SYSCONFDIR "/svrelay/svrelay.conf"
#define CONF_DEFAULT_SOCKET	"/run/svrelay/svrelay.sock"
#define CONF_DEFAULT_SPOOL	"/var/spool/svrelay"
#define CONF_DEFAULT_API_URL	"https://slack.com/api/"

/* spool.fsync */
#define CONF_FSYNC_ALWAYS	0	/* before every acknowledgement */
#define CONF_FSYNC_INTERVAL	1	/* every fsync_interval_ms */
#define CONF_FSYNC_NEVER	2	/* leave it to the kernel */

/* notify.level */
#define CONF_LEVEL_PROBLEMS	0
#define CONF_LEVEL_CHANGES	1

struct conf_slack {
	char		*webhook_url;	/* NULL unless set */
	char		*token;		/* from token or token_file; never log */
	char		*token_file;
	char		*channel;
	char		*api_url;	/* ends with '/' */
	int		 connect_timeout_ms;
	int		 timeout_ms;
	int		 retry_min_ms;
	int		 retry_max_ms;
	int		 rate_per_minute;	/* pacing per channel */
	int		 burst;
};

/* notify.routes: one rule; exactly one of channel and webhook_url. */
struct conf_route {
	char		*match;		/* fnmatch(3) glob on "group:name" */
	char		*channel;
	char		*webhook_url;	/* secret: never log */
};

/* The notify group beyond level: the notification policy's knobs. */
struct conf_notify {
	int		 settle_ms;
	int		 episode_max_ms;
	int		 group_window_ms;
	int		 group_max_ms;
	int		 flap_threshold;
	int		 flap_window_ms;
	int		 flap_calm_ms;
	int		 flap_update_ms;
	int		 silence_ms;
	char		**report_states;	/* state names, NULL-ended */
	char		**ignore_states;
	struct conf_route *routes;
	size_t		 nroutes;
};

/*
 * The context group: crash context (exit status, spawn error, log tails)
 * that the listener fetches from supervisord's XML-RPC interface through
 * the svrelay-context helper.
 */
struct conf_context {
	int		 enabled;
	int		 timeout_ms;	/* helper start + every call */
	int		 tail_bytes;	/* cap per log tail; 0: no tails */
	int		 backoff;	/* fetch on BACKOFF too */
	int		 backoff_interval_ms;	/* per process */
	char		*username;	/* NULL: no HTTP authentication */
	char		*password;	/* from password or password_file; never log */
	char		*password_file;
	char		**redact;	/* POSIX EREs, NULL-terminated */
	char		*helper;	/* NULL: the compiled-in path */
};

struct conf {
	char		*path;		/* the file this came from */

	char		*socket;
	int		 socket_mode;
	char		*socket_group;	/* NULL: svrelayd's own group */
	char		*spool_dir;
	char		*host;		/* default: gethostname() */
	char		*user;		/* NULL: do not drop privileges */

	char		**allow_users;	/* NULL-terminated, may be empty */
	char		**allow_groups;

	int		 log_level;	/* LOG_LEVEL_* */
	int		 log_syslog;

	int		 fsync_mode;	/* CONF_FSYNC_* */
	int		 fsync_interval_ms;
	int64_t		 rotate_size;	/* bytes; 0 = never rotate */
	int		 rotate_keep;

	int		 ack_timeout_ms;	/* listener: wait for svrelayd */
	int		 backoff_min_ms;	/* listener: after FAIL */
	int		 backoff_max_ms;

	int		 max_connections;	/* svrelayd */
	size_t		 max_line;

	struct conf_slack slack;

	int		 notify_level;	/* CONF_LEVEL_* */
	struct conf_notify notify;

	char		**alertmanager_urls;	/* NULL-terminated */
	int		 alertmanager_resend_ms;	/* firing: sent again */
	int		 alertmanager_resolve_ms;	/* an alert already over */
	int		 alertmanager_timeout_ms;
	int		 alertmanager_retry_min_ms;
	int		 alertmanager_retry_max_ms;
	char		*metrics_listen;	/* NULL: off */
	int		 metrics_allow_remote;	/* may listen beyond loopback */

	struct conf_context context;

	char		*warnings;	/* NULL, or lines for the caller to log */
};

/*
 * Load and validate path.  On success returns a new struct conf (free with
 * conf_free).  On failure returns NULL and sets *errstr to a malloc'd text
 * with one "FILE:LINE: message" line per problem found; the caller frees it.
 * No message ever contains the value of slack.token.
 */
struct conf	*conf_load(const char *path, char **errstr);
void		 conf_free(struct conf *);

/*
 * URLs get a basic check (http or https, a host, no white space) in every
 * program.  A program that links libcurl installs urlcheck_problem
 * (common/urlcheck.h) here for a full parse; a checker returns why a URL is
 * bad, or NULL.
 */
typedef const char *(*conf_url_checker)(const char *);
void		 conf_set_url_checker(conf_url_checker);

/* Handoff directory inside the spool: spool_dir/handoff/{tmp,new}. */
#define CONF_HANDOFF_DIR	"handoff"

#endif

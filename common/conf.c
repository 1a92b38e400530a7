#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libconfig.h>

#include "conf.h"
#include "log.h"
#include "xmalloc.h"

/*
 * Every key svrelay.conf may hold, group by group.  A key not listed is an
 * error: a typo must never be silently ignored.
 */
static const char *keys_top[] = {
	"socket", "socket_mode", "socket_group", "spool_dir", "host", "user",
	"allow_users", "allow_groups", "log", "spool", "listener", "relayd",
	"slack", "notify", "alertmanager", "metrics", "context", NULL
};
static const char *keys_log[] = { "level", "syslog", NULL };
static const char *keys_spool[] = {
	"fsync", "rotate_size", "rotate_keep", NULL
};
static const char *keys_listener[] = {
	"ack_timeout_ms", "backoff_min_ms", "backoff_max_ms", NULL
};
static const char *keys_relayd[] = { "max_connections", "max_line", NULL };
static const char *keys_slack[] = {
	"webhook_url", "token", "token_file", "channel", "api_url",
	"connect_timeout_ms", "timeout_ms", "retry_min_ms", "retry_max_ms",
	"rate_per_minute", "burst", NULL
};
static const char *keys_notify[] = {
	"level", "settle_ms", "episode_max_ms", "group_window_ms",
	"group_max_ms", "flap_threshold", "flap_window_ms", "flap_calm_ms",
	"flap_update_ms", "silence_ms", "report_states", "ignore_states",
	"routes", NULL
};
static const char *keys_route[] = { "match", "channel", "webhook_url", NULL };
static const char *conf_states[] = {
	"STOPPED", "STARTING", "RUNNING", "BACKOFF", "STOPPING", "EXITED",
	"FATAL", "UNKNOWN", NULL
};
static const char *keys_alertmanager[] = {
	"urls", "resend_ms", "resolve_ms", "timeout_ms", "retry_min_ms",
	"retry_max_ms", NULL
};
static const char *keys_metrics[] = { "listen", "allow_remote", NULL };
static const char *keys_context[] = {
	"enabled", "timeout_ms", "tail_bytes", "backoff", "backoff_interval_ms",
	"username", "password", "password_file", "redact", "helper", NULL
};

struct conf_ctx {
	const char	*path;
	char		*errors;	/* accumulated "FILE:LINE: msg\n" */
	size_t		 nerrors;
	struct conf	*conf;
};

static void
conf_append(char **dst, const char *line)
{
	char	*n;

	if (*dst == NULL)
		xasprintf(&n, "%s", line);
	else
		xasprintf(&n, "%s\n%s", *dst, line);
	free(*dst);
	*dst = n;
}

/* Record an error at setting s (NULL: the file as a whole). */
static void __attribute__((format(printf, 3, 4)))
conf_error(struct conf_ctx *ctx, const config_setting_t *s, const char *fmt,
    ...)
{
	va_list		 ap;
	char		*msg, *line;
	const char	*file = NULL;
	unsigned int	 lineno = 0;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatalx("conf_error: out of memory");
	va_end(ap);
	if (s != NULL) {
		file = config_setting_source_file(s);
		lineno = config_setting_source_line(s);
	}
	if (file == NULL)
		file = ctx->path;
	if (lineno > 0)
		xasprintf(&line, "%s:%u: %s", file, lineno, msg);
	else
		xasprintf(&line, "%s: %s", file, msg);
	conf_append(&ctx->errors, line);
	ctx->nerrors++;
	free(line);
	free(msg);
}

static void __attribute__((format(printf, 3, 4)))
conf_warning(struct conf_ctx *ctx, const config_setting_t *s,
    const char *fmt, ...)
{
	va_list		 ap;
	char		*msg, *line;
	const char	*file = NULL;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatalx("conf_warning: out of memory");
	va_end(ap);
	if (s != NULL)
		file = config_setting_source_file(s);
	xasprintf(&line, "%s:%u: %s", file != NULL ? file : ctx->path,
	    s != NULL ? config_setting_source_line(s) : 0, msg);
	conf_append(&ctx->conf->warnings, line);
	free(line);
	free(msg);
}

/* "slack.channel" for a member of a group, "socket" at the top. */
static void
conf_keyname(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t	*p = config_setting_parent(s);

	if (p != NULL && config_setting_name(p) != NULL)
		snprintf(buf, len, "%s.%s", config_setting_name(p),
		    config_setting_name(s));
	else
		snprintf(buf, len, "%s", config_setting_name(s));
}

static const char *
conf_typename(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_GROUP:
		return ("a group");
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return ("an integer");
	case CONFIG_TYPE_FLOAT:
		return ("a float");
	case CONFIG_TYPE_STRING:
		return ("a string");
	case CONFIG_TYPE_BOOL:
		return ("a boolean");
	case CONFIG_TYPE_ARRAY:
		return ("an array");
	case CONFIG_TYPE_LIST:
		return ("a list");
	default:
		return ("something else");
	}
}

/* Report every member of group g whose name is not in keys. */
static void
conf_check_keys(struct conf_ctx *ctx, const config_setting_t *g,
    const char **keys)
{
	config_setting_t	*s;
	char			 name[256];
	int			 i, j;

	for (i = 0; (s = config_setting_get_elem(g, i)) != NULL; i++) {
		for (j = 0; keys[j] != NULL; j++) {
			if (strcmp(keys[j], config_setting_name(s)) == 0)
				break;
		}
		if (keys[j] == NULL) {
			conf_keyname(s, name, sizeof name);
			conf_error(ctx, s, "unknown key '%s'", name);
		}
	}
}

/* Look up group name in parent; NULL if absent or (with an error) not a
 * group. */
static config_setting_t *
conf_group(struct conf_ctx *ctx, const config_setting_t *parent,
    const char *name, const char **keys)
{
	config_setting_t	*g;

	if ((g = config_setting_get_member(parent, name)) == NULL)
		return (NULL);
	if (!config_setting_is_group(g)) {
		conf_error(ctx, g, "key '%s': expected a group { … }, got %s",
		    name, conf_typename(g));
		return (NULL);
	}
	conf_check_keys(ctx, g, keys);
	return (g);
}

/*
 * Fetch a string member.  Returns 1 and sets *dst (replacing the default)
 * if present and a string, 0 if absent, -1 after reporting a type error.
 * secret: never quote the value (not that we do anyway).
 */
static int
conf_string(struct conf_ctx *ctx, const config_setting_t *g, const char *name,
    char **dst, config_setting_t **sp)
{
	config_setting_t	*s;
	char			 key[256];
	const char		*v;

	if (g == NULL || (s = config_setting_get_member(g, name)) == NULL)
		return (0);
	if (sp != NULL)
		*sp = s;
	conf_keyname(s, key, sizeof key);
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		conf_error(ctx, s, "key '%s': expected a string, got %s", key,
		    conf_typename(s));
		return (-1);
	}
	v = config_setting_get_string(s);
	if (v[0] == '\0') {
		conf_error(ctx, s, "key '%s': must not be empty", key);
		return (-1);
	}
	free(*dst);
	*dst = xstrdup(v);
	return (1);
}

static int
conf_int(struct conf_ctx *ctx, const config_setting_t *g, const char *name,
    long long min, long long max, long long *dst)
{
	config_setting_t	*s;
	char			 key[256];
	long long		 v;

	if (g == NULL || (s = config_setting_get_member(g, name)) == NULL)
		return (0);
	conf_keyname(s, key, sizeof key);
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		conf_error(ctx, s, "key '%s': expected an integer, got %s", key,
		    conf_typename(s));
		return (-1);
	}
	v = config_setting_get_int64(s);
	if (v < min || v > max) {
		conf_error(ctx, s, "key '%s': %lld is out of range (%lld to "
		    "%lld)", key, v, min, max);
		return (-1);
	}
	*dst = v;
	return (1);
}

static void
conf_int_into(struct conf_ctx *ctx, const config_setting_t *g,
    const char *name, long long min, long long max, int *dst)
{
	long long	v;

	if (conf_int(ctx, g, name, min, max, &v) == 1)
		*dst = (int)v;
}

static void
conf_bool(struct conf_ctx *ctx, const config_setting_t *g, const char *name,
    int *dst)
{
	config_setting_t	*s;
	char			 key[256];

	if (g == NULL || (s = config_setting_get_member(g, name)) == NULL)
		return;
	conf_keyname(s, key, sizeof key);
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		conf_error(ctx, s, "key '%s': expected true or false, got %s",
		    key, conf_typename(s));
		return;
	}
	*dst = config_setting_get_bool(s);
}

/* A list or array of non-empty strings, into a NULL-terminated vector. */
static void
conf_strlist(struct conf_ctx *ctx, const config_setting_t *g,
    const char *name, char ***dst)
{
	config_setting_t	*s, *e;
	char			 key[256];
	char			**v;
	int			 i, n;

	if (g == NULL || (s = config_setting_get_member(g, name)) == NULL)
		return;
	conf_keyname(s, key, sizeof key);
	if (!config_setting_is_aggregate(s) || config_setting_is_group(s)) {
		conf_error(ctx, s, "key '%s': expected a list of strings "
		    "[ \"…\", … ], got %s", key, conf_typename(s));
		return;
	}
	n = config_setting_length(s);
	v = xcalloc(n + 1, sizeof *v);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING ||
		    config_setting_get_string(e)[0] == '\0') {
			conf_error(ctx, e, "key '%s': element %d is not a "
			    "non-empty string", key, i + 1);
			while (i-- > 0)
				free(v[i]);
			free(v);
			return;
		}
		v[i] = xstrdup(config_setting_get_string(e));
	}
	if (*dst != NULL) {
		for (i = 0; (*dst)[i] != NULL; i++)
			free((*dst)[i]);
		free(*dst);
	}
	*dst = v;
}

static void
conf_path(struct conf_ctx *ctx, const config_setting_t *g, const char *name,
    char **dst)
{
	config_setting_t	*s = NULL;
	char			 key[256];

	if (conf_string(ctx, g, name, dst, &s) != 1)
		return;
	conf_keyname(s, key, sizeof key);
	if ((*dst)[0] != '/')
		conf_error(ctx, s, "key '%s': '%s' is not an absolute path",
		    key, *dst);
	else if (strlen(*dst) >= 108 && strcmp(name, "socket") == 0)
		conf_error(ctx, s, "key '%s': path is longer than a Unix "
		    "socket address allows (107 bytes)", key);
	else if (strlen(*dst) >= PATH_MAX)
		conf_error(ctx, s, "key '%s': path is too long", key);
}

/*
 * Why url is not an http(s) URL with a host, or NULL if it is one.  This
 * is the check every program gets; svrelayd and svrelayctl install libcurl's
 * full parser on top (urlcheck.c), so that the listener, which never makes
 * an HTTP request, does not load libcurl and its TLS stack.
 */
static const char *
conf_url_basic(const char *url)
{
	const char	*host, *end;
	const unsigned char *p;

	for (p = (const unsigned char *)url; *p != '\0'; p++) {
		if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			return ("contains white space");
		if (*p < 0x20 || *p == 0x7f)
			return ("is not a valid URL");
	}
	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strstr(url, "://") == NULL)
		return ("is not a valid URL");
	else
		return ("must start with http:// or https://");
	end = host + strcspn(host, "/?#");
	if ((p = memchr(host, '@', end - host)) != NULL)
		host = (const char *)p + 1;
	if (host == end || *host == ':')
		return ("is not a valid URL");	/* as libcurl says it */
	return (NULL);
}

static conf_url_checker	conf_url_check_fn;

void
conf_set_url_checker(conf_url_checker fn)
{
	conf_url_check_fn = fn;
}

static const char *
conf_url_problem(const char *url)
{
	const char	*why;

	if ((why = conf_url_basic(url)) != NULL)
		return (why);
	if (conf_url_check_fn != NULL)
		return (conf_url_check_fn(url));
	return (NULL);
}

/* Make sure a base URL ends with '/', so that paths append to it. */
static void
conf_url_slash(char **url)
{
	char	*fixed;

	if ((*url)[strlen(*url) - 1] == '/')
		return;
	xasprintf(&fixed, "%s/", *url);
	free(*url);
	*url = fixed;
}

/*
 * An http or https URL with a host.  Secret URLs (a webhook holds its
 * credential in the path) are never quoted in the message.
 */
static void
conf_url(struct conf_ctx *ctx, const config_setting_t *g, const char *name,
    char **dst, int secret, int need_slash)
{
	config_setting_t	*s = NULL;
	char			 key[256];
	const char		*why;

	if (conf_string(ctx, g, name, dst, &s) != 1)
		return;
	conf_keyname(s, key, sizeof key);
	if ((why = conf_url_problem(*dst)) != NULL) {
		if (secret)
			conf_error(ctx, s, "key '%s': the URL %s", key, why);
		else
			conf_error(ctx, s, "key '%s': '%s' %s", key, *dst, why);
	} else if (need_slash)
		conf_url_slash(dst);
}

/* A Slack token: printable, no white space.  Never quoted. */
static int
conf_valid_token(const char *t)
{
	const unsigned char	*p;

	if (*t == '\0' || strlen(t) > 512)
		return (0);
	for (p = (const unsigned char *)t; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f)
			return (0);
	}
	return (1);
}

static void
conf_token_file(struct conf_ctx *ctx, const config_setting_t *s)
{
	struct conf	*c = ctx->conf;
	struct stat	 st;
	char		 buf[1024];
	ssize_t		 n;
	int		 fd;

	if ((fd = open(c->slack.token_file, O_RDONLY | O_CLOEXEC |
	    O_NONBLOCK | O_NOCTTY)) == -1) {
		conf_error(ctx, s, "key 'slack.token_file': cannot open %s: %s",
		    c->slack.token_file, strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		conf_error(ctx, s, "key 'slack.token_file': %s is not a "
		    "regular file", c->slack.token_file);
		close(fd);
		return;
	}
	if (st.st_mode & S_IROTH)
		conf_warning(ctx, s, "slack.token_file %s is readable by every "
		    "user: chmod o-r it", c->slack.token_file);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		conf_error(ctx, s, "key 'slack.token_file': cannot read %s: %s",
		    c->slack.token_file, strerror(errno));
		return;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' ||
	    buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = '\0';
	if (!conf_valid_token(buf)) {
		conf_error(ctx, s, "key 'slack.token_file': %s does not hold "
		    "one token (printable, no spaces)", c->slack.token_file);
		explicit_bzero(buf, sizeof buf);
		return;
	}
	c->slack.token = xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
}

static void
conf_slack(struct conf_ctx *ctx, const config_setting_t *root)
{
	struct conf		*c = ctx->conf;
	config_setting_t	*g, *ts = NULL, *tfs = NULL, *ws = NULL;

	if ((g = conf_group(ctx, root, "slack", keys_slack)) == NULL)
		return;
	conf_url(ctx, g, "webhook_url", &c->slack.webhook_url, 1, 0);
	ws = config_setting_get_member(g, "webhook_url");
	if (conf_string(ctx, g, "token", &c->slack.token, &ts) == 1 &&
	    !conf_valid_token(c->slack.token))
		conf_error(ctx, ts, "key 'slack.token': not a token "
		    "(printable, no spaces)");
	conf_path(ctx, g, "token_file", &c->slack.token_file);
	tfs = config_setting_get_member(g, "token_file");
	conf_string(ctx, g, "channel", &c->slack.channel, NULL);
	conf_url(ctx, g, "api_url", &c->slack.api_url, 0, 1);
	conf_int_into(ctx, g, "connect_timeout_ms", 100, 600000,
	    &c->slack.connect_timeout_ms);
	conf_int_into(ctx, g, "timeout_ms", 100, 600000, &c->slack.timeout_ms);
	conf_int_into(ctx, g, "retry_min_ms", 10, 3600000,
	    &c->slack.retry_min_ms);
	conf_int_into(ctx, g, "retry_max_ms", 10, 86400000,
	    &c->slack.retry_max_ms);
	conf_int_into(ctx, g, "rate_per_minute", 0, 6000,
	    &c->slack.rate_per_minute);
	conf_int_into(ctx, g, "burst", 1, 1000, &c->slack.burst);

	if (ts != NULL && tfs != NULL)
		conf_error(ctx, tfs, "key 'slack.token_file': set slack.token "
		    "or slack.token_file, not both");
	else if (tfs != NULL && c->slack.token_file != NULL &&
	    c->slack.token_file[0] == '/')
		conf_token_file(ctx, tfs);
	if (ws != NULL && (ts != NULL || tfs != NULL))
		conf_error(ctx, ws, "key 'slack.webhook_url': use either a "
		    "webhook or a token (Web API), not both");
	if ((ts != NULL || tfs != NULL) && c->slack.channel == NULL)
		conf_error(ctx, ts != NULL ? ts : tfs, "key 'slack.channel': "
		    "required with a token (the Web API posts to a channel)");
	if (c->slack.retry_min_ms > c->slack.retry_max_ms)
		conf_error(ctx, g, "key 'slack.retry_min_ms': larger than "
		    "slack.retry_max_ms");
}

static void
conf_level(struct conf_ctx *ctx, const config_setting_t *root)
{
	config_setting_t	*g, *s = NULL;
	char			*v = NULL;
	int			 lvl;

	if ((g = conf_group(ctx, root, "log", keys_log)) != NULL) {
		if (conf_string(ctx, g, "level", &v, &s) == 1) {
			if ((lvl = log_parselevel(v)) == -1)
				conf_error(ctx, s, "key 'log.level': '%s' is "
				    "not one of warn, info, debug", v);
			else
				ctx->conf->log_level = lvl;
		}
		conf_bool(ctx, g, "syslog", &ctx->conf->log_syslog);
	}
	free(v);
	v = NULL;
	if ((g = conf_group(ctx, root, "notify", keys_notify)) != NULL &&
	    conf_string(ctx, g, "level", &v, &s) == 1) {
		if (strcmp(v, "problems") == 0)
			ctx->conf->notify_level = CONF_LEVEL_PROBLEMS;
		else if (strcmp(v, "changes") == 0)
			ctx->conf->notify_level = CONF_LEVEL_CHANGES;
		else
			conf_error(ctx, s, "key 'notify.level': '%s' is not "
			    "\"problems\" or \"changes\"", v);
	}
	free(v);
}

/* notify.report_states or notify.ignore_states: supervisord state names. */
static void
conf_notify_states(struct conf_ctx *ctx, const config_setting_t *g,
    const char *name, char ***dst)
{
	config_setting_t	*s;
	int			 i, j;

	conf_strlist(ctx, g, name, dst);
	if ((s = config_setting_get_member(g, name)) == NULL)
		return;
	for (i = 0; (*dst)[i] != NULL; i++) {
		for (j = 0; conf_states[j] != NULL; j++) {
			if (strcmp((*dst)[i], conf_states[j]) == 0)
				break;
		}
		if (conf_states[j] == NULL)
			conf_error(ctx, config_setting_get_elem(s, i),
			    "key 'notify.%s': element %d: '%s' is not a "
			    "process state (STOPPED, STARTING, RUNNING, "
			    "BACKOFF, STOPPING, EXITED, FATAL, UNKNOWN)", name,
			    i + 1, (*dst)[i]);
	}
}

/* One element of notify.routes: { match = "…"; channel = "…"; }. */
static void
conf_notify_route(struct conf_ctx *ctx, const config_setting_t *r, int i,
    struct conf_route *rt)
{
	config_setting_t	*s, *m, *ch, *wh;
	const char		*why;
	int			 j, k;

	if (!config_setting_is_group(r)) {
		conf_error(ctx, r, "key 'notify.routes': element %d: expected "
		    "a group { match = \"…\"; channel = \"…\"; }, got %s",
		    i + 1, conf_typename(r));
		return;
	}
	for (j = 0; (s = config_setting_get_elem(r, j)) != NULL; j++) {
		for (k = 0; keys_route[k] != NULL; k++) {
			if (strcmp(keys_route[k], config_setting_name(s)) == 0)
				break;
		}
		if (keys_route[k] == NULL)
			conf_error(ctx, s, "key 'notify.routes': element %d: "
			    "unknown key '%s'", i + 1, config_setting_name(s));
	}
	m = config_setting_get_member(r, "match");
	ch = config_setting_get_member(r, "channel");
	wh = config_setting_get_member(r, "webhook_url");
	if (m == NULL)
		conf_error(ctx, r, "key 'notify.routes': element %d: 'match' "
		    "is required", i + 1);
	else if (config_setting_type(m) != CONFIG_TYPE_STRING ||
	    config_setting_get_string(m)[0] == '\0')
		conf_error(ctx, m, "key 'notify.routes': element %d: 'match' "
		    "must be a non-empty string", i + 1);
	else
		rt->match = xstrdup(config_setting_get_string(m));
	if ((ch == NULL) == (wh == NULL)) {
		conf_error(ctx, r, "key 'notify.routes': element %d: set "
		    "exactly one of 'channel' and 'webhook_url'", i + 1);
		return;
	}
	if (ch != NULL) {
		if (config_setting_type(ch) != CONFIG_TYPE_STRING ||
		    config_setting_get_string(ch)[0] == '\0' ||
		    strpbrk(config_setting_get_string(ch), " \t\r\n") != NULL)
			conf_error(ctx, ch, "key 'notify.routes': element %d: "
			    "'channel' must be a channel name or ID without "
			    "spaces", i + 1);
		else
			rt->channel = xstrdup(config_setting_get_string(ch));
		return;
	}
	if (config_setting_type(wh) != CONFIG_TYPE_STRING)
		conf_error(ctx, wh, "key 'notify.routes': element %d: "
		    "'webhook_url' must be a string, got %s", i + 1,
		    conf_typename(wh));
	else if ((why = conf_url_problem(config_setting_get_string(wh))) !=
	    NULL)
		conf_error(ctx, wh, "key 'notify.routes': element %d: "
		    "'webhook_url': the URL %s", i + 1, why);
	else
		rt->webhook_url = xstrdup(config_setting_get_string(wh));
}

/*
 * The notification policy's keys in the notify group (level is read by
 * conf_level, which also reports unknown keys and a notify that is not a
 * group).
 */
static void
conf_notify(struct conf_ctx *ctx, const config_setting_t *root)
{
	struct conf_notify	*n = &ctx->conf->notify;
	config_setting_t	*g, *s;
	int			 i, j, k, len;

	if ((g = config_setting_get_member(root, "notify")) == NULL ||
	    !config_setting_is_group(g))
		return;
	conf_int_into(ctx, g, "settle_ms", 0, 600000, &n->settle_ms);
	conf_int_into(ctx, g, "episode_max_ms", 1000, 86400000,
	    &n->episode_max_ms);
	conf_int_into(ctx, g, "group_window_ms", 0, 600000,
	    &n->group_window_ms);
	conf_int_into(ctx, g, "group_max_ms", 0, 3600000, &n->group_max_ms);
	conf_int_into(ctx, g, "flap_threshold", 2, 64, &n->flap_threshold);
	conf_int_into(ctx, g, "flap_window_ms", 1000, 86400000,
	    &n->flap_window_ms);
	conf_int_into(ctx, g, "flap_calm_ms", 1000, 86400000,
	    &n->flap_calm_ms);
	conf_int_into(ctx, g, "flap_update_ms", 1000, 86400000,
	    &n->flap_update_ms);
	conf_int_into(ctx, g, "silence_ms", 1000, 86400000, &n->silence_ms);
	conf_notify_states(ctx, g, "report_states", &n->report_states);
	conf_notify_states(ctx, g, "ignore_states", &n->ignore_states);
	if (n->group_window_ms > n->group_max_ms)
		conf_error(ctx, g, "key 'notify.group_window_ms': larger than "
		    "notify.group_max_ms");
	if (n->settle_ms >= n->episode_max_ms)
		conf_error(ctx, g, "key 'notify.settle_ms': not smaller than "
		    "notify.episode_max_ms");
	for (i = 0; n->report_states[i] != NULL; i++) {
		for (j = 0; n->ignore_states[j] != NULL; j++) {
			if (strcmp(n->report_states[i], n->ignore_states[j]) ==
			    0)
				conf_error(ctx, config_setting_get_member(g,
				    "ignore_states"), "key "
				    "'notify.ignore_states': '%s' is also in "
				    "notify.report_states",
				    n->ignore_states[j]);
		}
	}

	if ((s = config_setting_get_member(g, "routes")) == NULL)
		return;
	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		conf_error(ctx, s, "key 'notify.routes': expected a list of "
		    "groups ( { match = \"…\"; channel = \"…\"; }, … ), got %s",
		    conf_typename(s));
		return;
	}
	len = config_setting_length(s);
	n->routes = xcalloc(len > 0 ? len : 1, sizeof *n->routes);
	n->nroutes = len;
	for (k = 0; k < len; k++)
		conf_notify_route(ctx, config_setting_get_elem(s, k), k,
		    &n->routes[k]);
	for (k = 0; k < len; k++) {
		if (n->routes[k].channel != NULL && ctx->conf->slack.token ==
		    NULL && ctx->conf->slack.token_file == NULL)
			conf_warning(ctx, config_setting_get_elem(s, k),
			    "notify.routes: element %d: a channel route needs "
			    "slack.token; without one its notes go to the "
			    "default destination", k + 1);
	}
}

static void
conf_spool(struct conf_ctx *ctx, const config_setting_t *root)
{
	struct conf		*c = ctx->conf;
	config_setting_t	*g, *s;
	long long		 v;

	if ((g = conf_group(ctx, root, "spool", keys_spool)) == NULL)
		return;
	if ((s = config_setting_get_member(g, "fsync")) != NULL) {
		if (config_setting_type(s) == CONFIG_TYPE_STRING) {
			const char *f = config_setting_get_string(s);
			if (strcmp(f, "always") == 0)
				c->fsync_mode = CONF_FSYNC_ALWAYS;
			else if (strcmp(f, "never") == 0)
				c->fsync_mode = CONF_FSYNC_NEVER;
			else
				conf_error(ctx, s, "key 'spool.fsync': '%s' is "
				    "not \"always\", \"never\" or a number of "
				    "milliseconds", f);
		} else if (config_setting_type(s) == CONFIG_TYPE_INT ||
		    config_setting_type(s) == CONFIG_TYPE_INT64) {
			v = config_setting_get_int64(s);
			if (v < 1 || v > 60000)
				conf_error(ctx, s, "key 'spool.fsync': %lld ms is "
				    "out of range (1 to 60000)", v);
			else {
				c->fsync_mode = CONF_FSYNC_INTERVAL;
				c->fsync_interval_ms = (int)v;
			}
		} else
			conf_error(ctx, s, "key 'spool.fsync': expected "
			    "\"always\", \"never\" or milliseconds, got %s",
			    conf_typename(s));
	}
	if (conf_int(ctx, g, "rotate_size", 0, (long long)1 << 40, &v) == 1) {
		if (v != 0 && v < 4096)
			conf_error(ctx, config_setting_get_member(g,
			    "rotate_size"), "key 'spool.rotate_size': %lld "
			    "bytes is too small (0 = never, or at least 4096)",
			    v);
		else
			c->rotate_size = v;
	}
	conf_int_into(ctx, g, "rotate_keep", 0, 1000, &c->rotate_keep);
}

static void
conf_mode(struct conf_ctx *ctx, const config_setting_t *root)
{
	config_setting_t	*s = NULL;
	char			*v = NULL, *end;
	long			 m;

	if (conf_string(ctx, root, "socket_mode", &v, &s) != 1) {
		free(v);
		return;
	}
	errno = 0;
	m = strtol(v, &end, 8);
	if (strspn(v, "01234567") != strlen(v) || errno != 0 ||
	    *end != '\0' || m < 0 || m > 0777)
		conf_error(ctx, s, "key 'socket_mode': '%s' is not an octal mode "
		    "such as \"0660\"", v);
	else if (m & 0002)
		conf_error(ctx, s, "key 'socket_mode': %s would let every user "
		    "write to the socket", v);
	else
		ctx->conf->socket_mode = (int)m;
	free(v);
}

static void
conf_defaults(struct conf *c)
{
	char	host[256];

	c->socket = xstrdup(CONF_DEFAULT_SOCKET);
	c->socket_mode = 0660;
	c->spool_dir = xstrdup(CONF_DEFAULT_SPOOL);
	if (gethostname(host, sizeof host) != 0 || host[0] == '\0')
		snprintf(host, sizeof host, "localhost");
	host[sizeof host - 1] = '\0';
	c->host = xstrdup(host);
	c->allow_users = xcalloc(1, sizeof(char *));
	c->allow_groups = xcalloc(1, sizeof(char *));
	c->log_level = LOG_LEVEL_INFO;
	c->fsync_mode = CONF_FSYNC_ALWAYS;
	c->fsync_interval_ms = 0;
	c->rotate_size = 64LL * 1024 * 1024;
	c->rotate_keep = 5;
	c->ack_timeout_ms = 5000;
	c->backoff_min_ms = 500;
	c->backoff_max_ms = 30000;
	c->max_connections = 256;
	c->max_line = 1024 * 1024;
	c->slack.api_url = xstrdup(CONF_DEFAULT_API_URL);
	c->slack.connect_timeout_ms = 5000;
	c->slack.timeout_ms = 15000;
	c->slack.retry_min_ms = 1000;
	c->slack.retry_max_ms = 300000;
	c->slack.rate_per_minute = 60;
	c->slack.burst = 3;
	c->notify_level = CONF_LEVEL_PROBLEMS;
	c->notify.settle_ms = 5000;
	c->notify.episode_max_ms = 300000;
	c->notify.group_window_ms = 2000;
	c->notify.group_max_ms = 6000;
	c->notify.flap_threshold = 3;
	c->notify.flap_window_ms = 600000;
	c->notify.flap_calm_ms = 300000;
	c->notify.flap_update_ms = 60000;
	c->notify.silence_ms = 180000;
	c->notify.report_states = xcalloc(1, sizeof(char *));
	c->notify.ignore_states = xcalloc(1, sizeof(char *));
	c->alertmanager_urls = xcalloc(1, sizeof(char *));
	c->alertmanager_resend_ms = 60000;
	c->alertmanager_resolve_ms = 300000;
	c->alertmanager_timeout_ms = 10000;
	c->alertmanager_retry_min_ms = 1000;
	c->alertmanager_retry_max_ms = 60000;
	c->context.enabled = 1;
	c->context.timeout_ms = 1500;
	c->context.tail_bytes = 4096;
	c->context.backoff_interval_ms = 60000;
	c->context.redact = xcalloc(1, sizeof(char *));
}

static void
conf_validate_host(struct conf_ctx *ctx, const config_setting_t *root)
{
	config_setting_t	*s;
	const unsigned char	*p;

	if ((s = config_setting_get_member(root, "host")) == NULL)
		return;
	for (p = (const unsigned char *)ctx->conf->host; *p != '\0'; p++) {
		if (*p <= 0x20 || *p == 0x7f || *p == '/') {
			conf_error(ctx, s, "key 'host': '%s' has a space, a "
			    "slash or a control character", ctx->conf->host);
			return;
		}
	}
	if (strlen(ctx->conf->host) > 255)
		conf_error(ctx, s, "key 'host': longer than 255 bytes");
}

/* Is the address before colon (a name, an IPv4 or an [IPv6]) loopback? */
static int
conf_loopback(const char *listen, const char *colon)
{
	char		 host[256];
	size_t		 len = colon - listen;
	unsigned char	 a[16];

	if (len >= 2 && listen[0] == '[' && listen[len - 1] == ']') {
		listen++;
		len -= 2;
	}
	if (len >= sizeof host)
		return (0);
	memcpy(host, listen, len);
	host[len] = '\0';
	if (strcmp(host, "localhost") == 0)
		return (1);
	if (inet_pton(AF_INET, host, a) == 1)
		return (a[0] == 127);
	if (inet_pton(AF_INET6, host, a) == 1)
		return (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16) ==
		    0);
	return (0);
}

static void
conf_metrics(struct conf_ctx *ctx, const config_setting_t *root)
{
	config_setting_t	*g, *s = NULL;
	char			*colon, *end;
	long			 port;

	if ((g = conf_group(ctx, root, "metrics", keys_metrics)) == NULL)
		return;
	conf_bool(ctx, g, "allow_remote", &ctx->conf->metrics_allow_remote);
	if (conf_string(ctx, g, "listen", &ctx->conf->metrics_listen, &s) != 1)
		return;
	colon = strrchr(ctx->conf->metrics_listen, ':');
	port = colon != NULL ? strtol(colon + 1, &end, 10) : 0;
	if (colon == NULL || colon == ctx->conf->metrics_listen ||
	    *end != '\0' || port < 1 || port > 65535) {
		conf_error(ctx, s, "key 'metrics.listen': '%s' is not "
		    "ADDRESS:PORT", ctx->conf->metrics_listen);
		return;
	}
	/* Metrics say what runs and fails here: loopback unless told. */
	if (!ctx->conf->metrics_allow_remote &&
	    !conf_loopback(ctx->conf->metrics_listen, colon))
		conf_error(ctx, s, "key 'metrics.listen': '%s' is not a "
		    "loopback address (127.0.0.0/8, ::1, localhost); set "
		    "metrics.allow_remote = true to serve metrics there",
		    ctx->conf->metrics_listen);
}

static void
conf_alertmanager(struct conf_ctx *ctx, const config_setting_t *root)
{
	config_setting_t	*g, *s;
	char			**u;
	const char		*why;
	int			 i;

	if ((g = conf_group(ctx, root, "alertmanager", keys_alertmanager)) ==
	    NULL)
		return;
	conf_strlist(ctx, g, "urls", &ctx->conf->alertmanager_urls);
	conf_int_into(ctx, g, "resend_ms", 1000, 3600000,
	    &ctx->conf->alertmanager_resend_ms);
	conf_int_into(ctx, g, "resolve_ms", 1000, 86400000,
	    &ctx->conf->alertmanager_resolve_ms);
	conf_int_into(ctx, g, "timeout_ms", 100, 600000,
	    &ctx->conf->alertmanager_timeout_ms);
	conf_int_into(ctx, g, "retry_min_ms", 10, 3600000,
	    &ctx->conf->alertmanager_retry_min_ms);
	conf_int_into(ctx, g, "retry_max_ms", 10, 3600000,
	    &ctx->conf->alertmanager_retry_max_ms);
	if (ctx->conf->alertmanager_retry_max_ms <
	    ctx->conf->alertmanager_retry_min_ms)
		conf_error(ctx, config_setting_get_member(g, "retry_max_ms"),
		    "key 'alertmanager.retry_max_ms': %d is less than "
		    "alertmanager.retry_min_ms (%d)",
		    ctx->conf->alertmanager_retry_max_ms,
		    ctx->conf->alertmanager_retry_min_ms);
	if ((s = config_setting_get_member(g, "urls")) == NULL)
		return;
	u = ctx->conf->alertmanager_urls;
	for (i = 0; u[i] != NULL; i++) {
		if ((why = conf_url_problem(u[i])) != NULL)
			conf_error(ctx, config_setting_get_elem(s, i),
			    "key 'alertmanager.urls': element %d: '%s' %s",
			    i + 1, u[i], why);
		else
			conf_url_slash(&u[i]);
	}
}

/*
 * context.password_file: one line, the password for supervisord's HTTP
 * server.  Never quoted in a message.
 */
static void
conf_context_password_file(struct conf_ctx *ctx, const config_setting_t *s)
{
	struct conf	*c = ctx->conf;
	struct stat	 st;
	char		 buf[1024];
	ssize_t		 n;
	int		 fd;

	if ((fd = open(c->context.password_file, O_RDONLY | O_CLOEXEC |
	    O_NONBLOCK | O_NOCTTY)) == -1) {
		conf_error(ctx, s, "key 'context.password_file': cannot open "
		    "%s: %s", c->context.password_file, strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		conf_error(ctx, s, "key 'context.password_file': %s is not a "
		    "regular file", c->context.password_file);
		close(fd);
		return;
	}
	if (st.st_mode & S_IROTH)
		conf_warning(ctx, s, "context.password_file %s is readable by "
		    "every user: chmod o-r it", c->context.password_file);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		conf_error(ctx, s, "key 'context.password_file': cannot read "
		    "%s: %s", c->context.password_file, strerror(errno));
		return;
	}
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (n == 0 || memchr(buf, '\n', n) != NULL ||
	    strlen(buf) != (size_t)n) {
		conf_error(ctx, s, "key 'context.password_file': %s does not "
		    "hold one line of text", c->context.password_file);
		explicit_bzero(buf, sizeof buf);
		return;
	}
	c->context.password = xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
}

/*
 * The context group: what the listener fetches from supervisord's RPC
 * interface for a crash.  Redaction patterns are compiled here, so that a
 * bad one is an error with its file and line; the helper compiles them
 * again.
 */
static void
conf_context(struct conf_ctx *ctx, const config_setting_t *root)
{
	struct conf_context	*x = &ctx->conf->context;
	config_setting_t	*g, *s, *ps = NULL, *pfs = NULL;
	regex_t			 re;
	char			 msg[256];
	int			 i, rc;

	if ((g = conf_group(ctx, root, "context", keys_context)) == NULL)
		return;
	conf_bool(ctx, g, "enabled", &x->enabled);
	conf_int_into(ctx, g, "timeout_ms", 100, 60000, &x->timeout_ms);
	conf_int_into(ctx, g, "tail_bytes", 0, 65536, &x->tail_bytes);
	conf_bool(ctx, g, "backoff", &x->backoff);
	conf_int_into(ctx, g, "backoff_interval_ms", 0, 86400000,
	    &x->backoff_interval_ms);
	if (conf_string(ctx, g, "username", &x->username, &s) == 1 &&
	    strchr(x->username, ':') != NULL)
		conf_error(ctx, s, "key 'context.username': must not contain "
		    "':' (HTTP basic authentication)");
	conf_string(ctx, g, "password", &x->password, &ps);
	conf_path(ctx, g, "password_file", &x->password_file);
	pfs = config_setting_get_member(g, "password_file");
	if (ps != NULL && pfs != NULL)
		conf_error(ctx, pfs, "key 'context.password_file': set "
		    "context.password or context.password_file, not both");
	else if (pfs != NULL && x->password_file != NULL &&
	    x->password_file[0] == '/')
		conf_context_password_file(ctx, pfs);
	if ((ps != NULL || pfs != NULL) && x->username == NULL)
		conf_error(ctx, ps != NULL ? ps : pfs, "key 'context.username': "
		    "required with a password");
	conf_path(ctx, g, "helper", &x->helper);

	conf_strlist(ctx, g, "redact", &x->redact);
	if ((s = config_setting_get_member(g, "redact")) == NULL)
		return;
	for (i = 0; x->redact[i] != NULL; i++) {
		if ((rc = regcomp(&re, x->redact[i], REG_EXTENDED |
		    REG_NEWLINE)) != 0) {
			regerror(rc, &re, msg, sizeof msg);
			conf_error(ctx, config_setting_get_elem(s, i), "key "
			    "'context.redact': element %d: '%s' is not a POSIX "
			    "extended regular expression: %s", i + 1,
			    x->redact[i], msg);
			continue;
		}
		if (regexec(&re, "", 0, NULL, 0) == 0)
			conf_error(ctx, config_setting_get_elem(s, i), "key "
			    "'context.redact': element %d: '%s' matches the "
			    "empty string", i + 1, x->redact[i]);
		regfree(&re);
	}
}

struct conf *
conf_load(const char *path, char **errstr)
{
	config_t		 cf;
	config_setting_t	*root, *g;
	struct conf_ctx		 ctx;
	struct conf		*c;
	const char		*efile;

	*errstr = NULL;
	c = xcalloc(1, sizeof *c);
	c->path = xstrdup(path);
	conf_defaults(c);
	memset(&ctx, 0, sizeof ctx);
	ctx.path = path;
	ctx.conf = c;

	config_init(&cf);
	if (config_read_file(&cf, path) != CONFIG_TRUE) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			xasprintf(errstr, "%s: cannot read: %s", path,
			    strerror(errno != 0 ? errno : EIO));
		else {
			efile = config_error_file(&cf);
			xasprintf(errstr, "%s:%d: syntax error: %s",
			    efile != NULL ? efile : path,
			    config_error_line(&cf), config_error_text(&cf));
		}
		config_destroy(&cf);
		conf_free(c);
		return (NULL);
	}
	root = config_root_setting(&cf);
	conf_check_keys(&ctx, root, keys_top);

	conf_path(&ctx, root, "socket", &c->socket);
	conf_mode(&ctx, root);
	conf_string(&ctx, root, "socket_group", &c->socket_group, NULL);
	conf_path(&ctx, root, "spool_dir", &c->spool_dir);
	conf_string(&ctx, root, "host", &c->host, NULL);
	conf_validate_host(&ctx, root);
	conf_string(&ctx, root, "user", &c->user, NULL);
	conf_strlist(&ctx, root, "allow_users", &c->allow_users);
	conf_strlist(&ctx, root, "allow_groups", &c->allow_groups);
	conf_level(&ctx, root);
	conf_spool(&ctx, root);

	if ((g = conf_group(&ctx, root, "listener", keys_listener)) != NULL) {
		conf_int_into(&ctx, g, "ack_timeout_ms", 10, 600000,
		    &c->ack_timeout_ms);
		conf_int_into(&ctx, g, "backoff_min_ms", 1, 600000,
		    &c->backoff_min_ms);
		conf_int_into(&ctx, g, "backoff_max_ms", 1, 3600000,
		    &c->backoff_max_ms);
		if (c->backoff_min_ms > c->backoff_max_ms)
			conf_error(&ctx, g, "key 'listener.backoff_min_ms': "
			    "larger than listener.backoff_max_ms");
	}
	if ((g = conf_group(&ctx, root, "relayd", keys_relayd)) != NULL) {
		long long	v;

		conf_int_into(&ctx, g, "max_connections", 1, 65536,
		    &c->max_connections);
		if (conf_int(&ctx, g, "max_line", 4096, 64LL * 1024 * 1024,
		    &v) == 1)
			c->max_line = (size_t)v;
	}
	conf_slack(&ctx, root);
	conf_notify(&ctx, root);
	conf_alertmanager(&ctx, root);
	conf_metrics(&ctx, root);
	conf_context(&ctx, root);

	config_destroy(&cf);
	if (ctx.nerrors > 0) {
		*errstr = ctx.errors;
		conf_free(c);
		return (NULL);
	}
	return (c);
}

static void
conf_free_vec(char **v)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
conf_free(struct conf *c)
{
	size_t	i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->socket);
	free(c->socket_group);
	free(c->spool_dir);
	free(c->host);
	free(c->user);
	conf_free_vec(c->allow_users);
	conf_free_vec(c->allow_groups);
	free(c->slack.webhook_url);
	if (c->slack.token != NULL) {
		explicit_bzero(c->slack.token, strlen(c->slack.token));
		free(c->slack.token);
	}
	free(c->slack.token_file);
	free(c->slack.channel);
	free(c->slack.api_url);
	conf_free_vec(c->notify.report_states);
	conf_free_vec(c->notify.ignore_states);
	for (i = 0; i < c->notify.nroutes; i++) {
		free(c->notify.routes[i].match);
		free(c->notify.routes[i].channel);
		free(c->notify.routes[i].webhook_url);
	}
	free(c->notify.routes);
	conf_free_vec(c->alertmanager_urls);
	free(c->metrics_listen);
	free(c->context.username);
	if (c->context.password != NULL) {
		explicit_bzero(c->context.password, strlen(c->context.password));
		free(c->context.password);
	}
	free(c->context.password_file);
	conf_free_vec(c->context.redact);
	free(c->context.helper);
	free(c->warnings);
	free(c);
}

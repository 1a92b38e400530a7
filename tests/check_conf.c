/*
 * conf_load: every key with its default and a set value, and every way a
 * file can be wrong, with the exact "FILE:LINE: message" the admin sees.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "conf.h"
#include "log.h"
#include "urlcheck.h"

#define TOKEN	"xoxb-4242-SECRET-t0ken"
#define WEBHOOK	"https://hooks.slack.com/services/T000/B000/HOOKSECRET"

static char	tmpdir[128];
static char	cpath[160];	/* tmpdir/svrelay.conf */
static char	tpath[160];	/* tmpdir/token */

static void
setup(void)
{
	const char	*base = getenv("TMPDIR");

	snprintf(tmpdir, sizeof tmpdir, "%s/check_conf.XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	snprintf(cpath, sizeof cpath, "%s/svrelay.conf", tmpdir);
	snprintf(tpath, sizeof tpath, "%s/token", tmpdir);
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return (remove(path));
}

static void
teardown(void)
{
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE	*f;

	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fputs(text, f) >= 0, 1);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* Write text as tmpdir/svrelay.conf and load it. */
static struct conf *
load(const char *text, char **err)
{
	write_file(cpath, text, 0644);
	return (conf_load(cpath, err));
}

/* Load text, which must fail; returns the error text (caller frees). */
static char *
load_bad(const char *text)
{
	struct conf	*c;
	char		*err = NULL;

	c = load(text, &err);
	if (c != NULL)
		ck_abort_msg("config was accepted:\n%s", text);
	ck_assert_ptr_nonnull(err);
	return (err);
}

/* Load text, which must succeed. */
static struct conf *
load_ok(const char *text)
{
	struct conf	*c;
	char		*err = NULL;

	c = load(text, &err);
	if (c == NULL)
		ck_abort_msg("config refused: %s", err);
	ck_assert_ptr_null(err);
	return (c);
}

/* How many lines err has. */
static int
nlines(const char *err)
{
	int	n = 1;

	for (; *err != '\0'; err++) {
		if (*err == '\n')
			n++;
	}
	return (n);
}

/* Does err hold exactly the line "FILE:LINE: msg"? */
static void
assert_line(const char *err, const char *file, int line, const char *fmt,
    ...)
{
	va_list		 ap;
	char		 msg[1024], want[2048];
	const char	*p, *nl;
	size_t		 len;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(want, sizeof want, "%s:%d: %s", file, line, msg);
	len = strlen(want);
	for (p = err; p != NULL; p = nl != NULL ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if ((size_t)(nl != NULL ? nl - p : (long)strlen(p)) == len &&
		    strncmp(p, want, len) == 0)
			return;
	}
	ck_abort_msg("expected line\n  %s\nin\n  %s", want, err);
}

/* The only error is "cpath:LINE: msg". */
static void
assert_only(const char *text, int line, const char *msg)
{
	char	*err;

	err = load_bad(text);
	assert_line(err, cpath, line, "%s", msg);
	ck_assert_int_eq(nlines(err), 1);
	free(err);
}

START_TEST(test_conf_defaults)
{
	struct conf	*c;
	char		*err = NULL, host[256];

	c = conf_load(TEST_DATADIR "/conf/empty.conf", &err);
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(err);
	ck_assert_str_eq(c->path, TEST_DATADIR "/conf/empty.conf");
	ck_assert_str_eq(c->socket, "/run/svrelay/svrelay.sock");
	ck_assert_int_eq(c->socket_mode, 0660);
	ck_assert_ptr_null(c->socket_group);
	ck_assert_str_eq(c->spool_dir, "/var/spool/svrelay");
	ck_assert_int_eq(gethostname(host, sizeof host), 0);
	host[sizeof host - 1] = '\0';
	ck_assert_str_eq(c->host, host);
	ck_assert_ptr_null(c->user);
	ck_assert_ptr_nonnull(c->allow_users);
	ck_assert_ptr_null(c->allow_users[0]);
	ck_assert_ptr_nonnull(c->allow_groups);
	ck_assert_ptr_null(c->allow_groups[0]);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_INFO);
	ck_assert_int_eq(c->log_syslog, 0);
	ck_assert_int_eq(c->fsync_mode, CONF_FSYNC_ALWAYS);
	ck_assert_int_eq(c->rotate_size, 64LL * 1024 * 1024);
	ck_assert_int_eq(c->rotate_keep, 5);
	ck_assert_int_eq(c->ack_timeout_ms, 5000);
	ck_assert_int_eq(c->backoff_min_ms, 500);
	ck_assert_int_eq(c->backoff_max_ms, 30000);
	ck_assert_int_eq(c->max_connections, 256);
	ck_assert_uint_eq(c->max_line, 1024 * 1024);
	ck_assert_ptr_null(c->slack.webhook_url);
	ck_assert_ptr_null(c->slack.token);
	ck_assert_ptr_null(c->slack.token_file);
	ck_assert_ptr_null(c->slack.channel);
	ck_assert_str_eq(c->slack.api_url, "https://slack.com/api/");
	ck_assert_int_eq(c->slack.connect_timeout_ms, 5000);
	ck_assert_int_eq(c->slack.timeout_ms, 15000);
	ck_assert_int_eq(c->slack.retry_min_ms, 1000);
	ck_assert_int_eq(c->slack.retry_max_ms, 300000);
	ck_assert_int_eq(c->slack.rate_per_minute, 60);
	ck_assert_int_eq(c->slack.burst, 3);
	ck_assert_int_eq(c->notify_level, CONF_LEVEL_PROBLEMS);
	ck_assert_ptr_nonnull(c->alertmanager_urls);
	ck_assert_ptr_null(c->alertmanager_urls[0]);
	ck_assert_ptr_null(c->metrics_listen);
	ck_assert_ptr_null(c->warnings);
	conf_free(c);
}
END_TEST

START_TEST(test_conf_every_key_set)
{
	struct conf	*c;
	char		*err = NULL;

	c = conf_load(TEST_DATADIR "/conf/full.conf", &err);
	if (c == NULL)
		ck_abort_msg("full.conf refused: %s", err);
	ck_assert_str_eq(c->socket, "/tmp/svrelay-test/relay.sock");
	ck_assert_int_eq(c->socket_mode, 0640);
	ck_assert_str_eq(c->socket_group, "svrelay");
	ck_assert_str_eq(c->spool_dir, "/tmp/svrelay-test/spool");
	ck_assert_str_eq(c->host, "web-1");
	ck_assert_str_eq(c->user, "svrelay");
	ck_assert_str_eq(c->allow_users[0], "root");
	ck_assert_str_eq(c->allow_users[1], "deploy");
	ck_assert_ptr_null(c->allow_users[2]);
	ck_assert_str_eq(c->allow_groups[0], "adm");
	ck_assert_str_eq(c->allow_groups[1], "wheel");
	ck_assert_ptr_null(c->allow_groups[2]);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_DEBUG);
	ck_assert_int_eq(c->log_syslog, 1);
	ck_assert_int_eq(c->fsync_mode, CONF_FSYNC_INTERVAL);
	ck_assert_int_eq(c->fsync_interval_ms, 250);
	ck_assert_int_eq(c->rotate_size, 1048576);
	ck_assert_int_eq(c->rotate_keep, 9);
	ck_assert_int_eq(c->ack_timeout_ms, 2500);
	ck_assert_int_eq(c->backoff_min_ms, 100);
	ck_assert_int_eq(c->backoff_max_ms, 9000);
	ck_assert_int_eq(c->max_connections, 32);
	ck_assert_uint_eq(c->max_line, 65536);
	ck_assert_ptr_null(c->slack.webhook_url);
	ck_assert_str_eq(c->slack.token, "xoxb-1111-2222-abcdef");
	ck_assert_str_eq(c->slack.channel, "#deploys");
	/* A base URL gains its '/', so that method names append. */
	ck_assert_str_eq(c->slack.api_url, "http://127.0.0.1:8080/api/");
	ck_assert_int_eq(c->slack.connect_timeout_ms, 1500);
	ck_assert_int_eq(c->slack.timeout_ms, 2500);
	ck_assert_int_eq(c->slack.retry_min_ms, 50);
	ck_assert_int_eq(c->slack.retry_max_ms, 60000);
	ck_assert_int_eq(c->slack.rate_per_minute, 30);
	ck_assert_int_eq(c->slack.burst, 7);
	ck_assert_int_eq(c->notify_level, CONF_LEVEL_CHANGES);
	ck_assert_str_eq(c->alertmanager_urls[0], "http://127.0.0.1:9093/");
	ck_assert_str_eq(c->alertmanager_urls[1], "https://am.example.org/");
	ck_assert_ptr_null(c->alertmanager_urls[2]);
	ck_assert_str_eq(c->metrics_listen, "127.0.0.1:9877");
	ck_assert_ptr_null(c->warnings);
	conf_free(c);
}
END_TEST

START_TEST(test_conf_webhook_and_fsync_words)
{
	struct conf	*c;
	char		*err = NULL;

	c = conf_load(TEST_DATADIR "/conf/webhook.conf", &err);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->slack.webhook_url,
	    "https://hooks.slack.com/services/T000/B000/SECRETSECRET");
	ck_assert_ptr_null(c->slack.token);
	ck_assert_int_eq(c->fsync_mode, CONF_FSYNC_NEVER);
	conf_free(c);

	c = load_ok("spool = { fsync = \"always\"; };\n");
	ck_assert_int_eq(c->fsync_mode, CONF_FSYNC_ALWAYS);
	conf_free(c);
	c = load_ok("spool = { fsync = 1; rotate_size = 0; rotate_keep = 0; "
	    "};\n");
	ck_assert_int_eq(c->fsync_mode, CONF_FSYNC_INTERVAL);
	ck_assert_int_eq(c->fsync_interval_ms, 1);
	ck_assert_int_eq(c->rotate_size, 0);
	ck_assert_int_eq(c->rotate_keep, 0);
	conf_free(c);
	c = load_ok("log = { level = \"warn\"; syslog = false; };\n"
	    "notify = { level = \"problems\"; };\n");
	ck_assert_int_eq(c->log_level, LOG_LEVEL_WARN);
	ck_assert_int_eq(c->notify_level, CONF_LEVEL_PROBLEMS);
	conf_free(c);
}
END_TEST

START_TEST(test_conf_missing_file)
{
	char	*err = NULL;
	char	 want[1024];

	ck_assert_ptr_null(conf_load("/nonexistent/svrelay.conf", &err));
	ck_assert_str_eq(err, "/nonexistent/svrelay.conf: cannot read: "
	    "No such file or directory");
	free(err);
	err = NULL;
	ck_assert_ptr_null(conf_load(tmpdir, &err));	/* a directory */
	snprintf(want, sizeof want, "%s: cannot read: ", tmpdir);
	ck_assert_int_eq(strncmp(err, want, strlen(want)), 0);
	free(err);
}
END_TEST

START_TEST(test_conf_syntax_error)
{
	char	*err = NULL;

	/* A missing ';' shows up on the next line. */
	ck_assert_ptr_null(conf_load(TEST_DATADIR "/conf/syntax.conf", &err));
	ck_assert_str_eq(err, TEST_DATADIR "/conf/syntax.conf:4: syntax "
	    "error: syntax error");
	free(err);

	err = load_bad("\n\n\nsocket = ;\n");
	assert_line(err, cpath, 4, "syntax error: syntax error");
	free(err);
}
END_TEST

START_TEST(test_conf_unknown_keys)
{
	char	*err = NULL;

	ck_assert_ptr_null(conf_load(TEST_DATADIR "/conf/typo.conf", &err));
	assert_line(err, TEST_DATADIR "/conf/typo.conf", 3,
	    "unknown key 'slack.chanel'");
	assert_line(err, TEST_DATADIR "/conf/typo.conf", 5,
	    "unknown key 'spool_directory'");
	ck_assert_int_eq(nlines(err), 2);
	free(err);
}
END_TEST

/* An unknown key in each group names the group. */
START_TEST(test_conf_unknown_key_in_each_group)
{
	static const char	*groups[] = { "log", "spool", "listener",
	    "relayd", "slack", "notify", "alertmanager", "metrics", NULL };
	char			 text[256], msg[128];
	int			 i;

	for (i = 0; groups[i] != NULL; i++) {
		snprintf(text, sizeof text, "# %s\n%s = {\n  bogus = 1;\n};\n",
		    groups[i], groups[i]);
		snprintf(msg, sizeof msg, "unknown key '%s.bogus'", groups[i]);
		assert_only(text, 3, msg);
	}
	assert_only("\nfoo = 1;\n", 2, "unknown key 'foo'");
}
END_TEST

START_TEST(test_conf_wrong_types)
{
	/* string */
	assert_only("socket = 5;\n", 1,
	    "key 'socket': expected a string, got an integer");
	assert_only("slack = {\n channel = true;\n};\n", 2,
	    "key 'slack.channel': expected a string, got a boolean");
	assert_only("host = 1.5;\n", 1,
	    "key 'host': expected a string, got a float");
	/* int */
	assert_only("listener = {\n  ack_timeout_ms = \"5000\";\n};\n", 2,
	    "key 'listener.ack_timeout_ms': expected an integer, got a "
	    "string");
	assert_only("relayd = { max_line = 1.0; };\n", 1,
	    "key 'relayd.max_line': expected an integer, got a float");
	/* bool */
	assert_only("log = { syslog = 1; };\n", 1,
	    "key 'log.syslog': expected true or false, got an integer");
	assert_only("log = { syslog = \"yes\"; };\n", 1,
	    "key 'log.syslog': expected true or false, got a string");
	/* list */
	assert_only("allow_users = \"root\";\n", 1,
	    "key 'allow_users': expected a list of strings [ \"…\", … ], "
	    "got a string");
	assert_only("allow_groups = { a = \"b\"; };\n", 1,
	    "key 'allow_groups': expected a list of strings [ \"…\", … ], "
	    "got a group");
	assert_only("allow_users = ( \"root\",\n 3 );\n", 2,
	    "key 'allow_users': element 2 is not a non-empty string");
	assert_only("allow_users = [ \"\" ];\n", 1,
	    "key 'allow_users': element 1 is not a non-empty string");
	assert_only("alertmanager = { urls = \"http://a/\"; };\n", 1,
	    "key 'alertmanager.urls': expected a list of strings [ \"…\", "
	    "… ], got a string");
	/* group */
	assert_only("slack = \"https://hooks.slack.com/x\";\n", 1,
	    "key 'slack': expected a group { … }, got a string");
	assert_only("\nlog = [ \"debug\" ];\n", 2,
	    "key 'log': expected a group { … }, got an array");
	assert_only("metrics = ( \"x\" );\n", 1,
	    "key 'metrics': expected a group { … }, got a list");
	/* empty strings */
	assert_only("socket_group = \"\";\n", 1,
	    "key 'socket_group': must not be empty");
}
END_TEST

/* Each integer key, one below its minimum and one above its maximum. */
START_TEST(test_conf_int_ranges)
{
	static const struct {
		const char	*group, *key;
		long long	 min, max;
	} k[] = {
		{ "spool", "rotate_keep", 0, 1000 },
		{ "listener", "ack_timeout_ms", 10, 600000 },
		{ "listener", "backoff_min_ms", 1, 600000 },
		{ "listener", "backoff_max_ms", 1, 3600000 },
		{ "relayd", "max_connections", 1, 65536 },
		{ "relayd", "max_line", 4096, 64LL * 1024 * 1024 },
		{ "slack", "connect_timeout_ms", 100, 600000 },
		{ "slack", "timeout_ms", 100, 600000 },
		{ "slack", "retry_min_ms", 10, 3600000 },
		{ "slack", "retry_max_ms", 10, 86400000 },
		{ "slack", "rate_per_minute", 0, 6000 },
		{ "slack", "burst", 1, 1000 },
		{ "spool", "rotate_size", 0, 1LL << 40 },
	};
	char	text[256], msg[256];
	size_t	i;
	int	j;

	for (i = 0; i < sizeof k / sizeof k[0]; i++) {
		for (j = 0; j < 2; j++) {
			long long v = j == 0 ? k[i].min - 1 : k[i].max + 1;

			snprintf(text, sizeof text, "%s = {\n  %s = %lldL;\n"
			    "};\n", k[i].group, k[i].key, v);
			snprintf(msg, sizeof msg, "key '%s.%s': %lld is out of "
			    "range (%lld to %lld)", k[i].group, k[i].key, v,
			    k[i].min, k[i].max);
			assert_only(text, 2, msg);
		}
	}
	assert_only("spool = {\n rotate_size = 4095;\n};\n", 2,
	    "key 'spool.rotate_size': 4095 bytes is too small (0 = never, "
	    "or at least 4096)");
	assert_only("listener = {\n  backoff_min_ms = 5000;\n"
	    "  backoff_max_ms = 4000;\n};\n", 1,
	    "key 'listener.backoff_min_ms': larger than "
	    "listener.backoff_max_ms");
	assert_only("slack = {\n  retry_min_ms = 5000;\n"
	    "  retry_max_ms = 4000;\n};\n", 1,
	    "key 'slack.retry_min_ms': larger than slack.retry_max_ms");
}
END_TEST

START_TEST(test_conf_relative_paths)
{
	assert_only("socket = \"run/svrelay.sock\";\n", 1,
	    "key 'socket': 'run/svrelay.sock' is not an absolute path");
	assert_only("\nspool_dir = \"spool\";\n", 2,
	    "key 'spool_dir': 'spool' is not an absolute path");
	assert_only("slack = {\n  token_file = \"token\";\n"
	    "  channel = \"#c\";\n};\n", 2,
	    "key 'slack.token_file': 'token' is not an absolute path");
	assert_only("socket = \"/run/svrelay/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock\";\n", 1,
	    "key 'socket': path is longer than a Unix socket address allows "
	    "(107 bytes)");
}
END_TEST

/* The checks every program makes, with or without libcurl's parser. */
static void
bad_urls(void)
{
	assert_only("slack = {\n  api_url = \"ftp://slack.com/api/\";\n};\n", 2,
	    "key 'slack.api_url': 'ftp://slack.com/api/' must start with "
	    "http:// or https://");
	assert_only("slack = { api_url = \"slack.com/api\"; };\n", 1,
	    "key 'slack.api_url': 'slack.com/api' is not a valid URL");
	assert_only("slack = { api_url = \"http://slack.com/a pi\"; };\n", 1,
	    "key 'slack.api_url': 'http://slack.com/a pi' contains white "
	    "space");
	/* The webhook URL is a credential: never quoted. */
	assert_only("slack = {\n\n  webhook_url = \"gopher://x/SECRET\";\n};\n",
	    3, "key 'slack.webhook_url': the URL must start with http:// or "
	    "https://");
	/* An element's own line. */
	assert_only("alertmanager = {\n  urls = [ \"http://ok:9093/\",\n"
	    "    \"ftp://am/\" ];\n};\n", 3,
	    "key 'alertmanager.urls': element 2: 'ftp://am/' must start "
	    "with http:// or https://");
	assert_only("alertmanager = {\n  urls = ( \"http://\" );\n};\n", 2,
	    "key 'alertmanager.urls': element 1: 'http://' is not a valid "
	    "URL");
	assert_only("metrics = { listen = \"127.0.0.1\"; };\n", 1,
	    "key 'metrics.listen': '127.0.0.1' is not ADDRESS:PORT");
	assert_only("metrics = { listen = \":9877\"; };\n", 1,
	    "key 'metrics.listen': ':9877' is not ADDRESS:PORT");
	assert_only("metrics = { listen = \"[::1]:65536\"; };\n", 1,
	    "key 'metrics.listen': '[::1]:65536' is not ADDRESS:PORT");
}

START_TEST(test_conf_bad_urls)
{
	conf_set_url_checker(NULL);
	bad_urls();
	/* Only libcurl's parser sees that this host is not an address. */
	conf_free(load_ok("slack = { api_url = \"http://[::1/api/\"; };\n"));
	conf_set_url_checker(urlcheck_problem);
	bad_urls();
	assert_only("slack = { api_url = \"http://[::1/api/\"; };\n", 1,
	    "key 'slack.api_url': 'http://[::1/api/' is not a valid URL");
	conf_set_url_checker(NULL);
}
END_TEST

START_TEST(test_conf_socket_mode)
{
	struct conf	*c;

	c = load_ok("socket_mode = \"0600\";\n");
	ck_assert_int_eq(c->socket_mode, 0600);
	conf_free(c);
	c = load_ok("socket_mode = \"770\";\n");
	ck_assert_int_eq(c->socket_mode, 0770);
	conf_free(c);
	assert_only("\nsocket_mode = \"0666\";\n", 2,
	    "key 'socket_mode': 0666 would let every user write to the socket");
	assert_only("socket_mode = \"0777\";\n", 1,
	    "key 'socket_mode': 0777 would let every user write to the socket");
	assert_only("socket_mode = \"0689\";\n", 1,
	    "key 'socket_mode': '0689' is not an octal mode such as \"0660\"");
	assert_only("socket_mode = \"rw-rw----\";\n", 1,
	    "key 'socket_mode': 'rw-rw----' is not an octal mode such as "
	    "\"0660\"");
	assert_only("socket_mode = \"01660\";\n", 1,
	    "key 'socket_mode': '01660' is not an octal mode such as \"0660\"");
	assert_only("socket_mode = \"-0660\";\n", 1,
	    "key 'socket_mode': '-0660' is not an octal mode such as \"0660\"");
	assert_only("socket_mode = \" 0660\";\n", 1,
	    "key 'socket_mode': ' 0660' is not an octal mode such as \"0660\"");
	assert_only("socket_mode = 660;\n", 1,
	    "key 'socket_mode': expected a string, got an integer");
}
END_TEST

START_TEST(test_conf_fsync)
{
	assert_only("spool = {\n  fsync = \"sometimes\";\n};\n", 2,
	    "key 'spool.fsync': 'sometimes' is not \"always\", \"never\" or a "
	    "number of milliseconds");
	assert_only("spool = { fsync = 0; };\n", 1,
	    "key 'spool.fsync': 0 ms is out of range (1 to 60000)");
	assert_only("spool = { fsync = 60001; };\n", 1,
	    "key 'spool.fsync': 60001 ms is out of range (1 to 60000)");
	assert_only("spool = { fsync = 99999999999L; };\n", 1,
	    "key 'spool.fsync': 99999999999 ms is out of range (1 to 60000)");
	assert_only("spool = { fsync = true; };\n", 1,
	    "key 'spool.fsync': expected \"always\", \"never\" or "
	    "milliseconds, got a boolean");
	assert_only("spool = { fsync = 2.5; };\n", 1,
	    "key 'spool.fsync': expected \"always\", \"never\" or "
	    "milliseconds, got a float");
}
END_TEST

START_TEST(test_conf_fsync_int64)
{
	struct conf	*c;

	/* 100L is an integer too. */
	c = load_ok("spool = { fsync = 100L; };\n");
	ck_assert_int_eq(c->fsync_mode, CONF_FSYNC_INTERVAL);
	ck_assert_int_eq(c->fsync_interval_ms, 100);
	conf_free(c);
}
END_TEST

START_TEST(test_conf_levels)
{
	assert_only("log = {\n  level = \"trace\";\n};\n", 2,
	    "key 'log.level': 'trace' is not one of warn, info, debug");
	assert_only("notify = { level = \"all\"; };\n", 1,
	    "key 'notify.level': 'all' is not \"problems\" or \"changes\"");
	assert_only("notify = { level = 1; };\n", 1,
	    "key 'notify.level': expected a string, got an integer");
}
END_TEST

START_TEST(test_conf_host)
{
	assert_only("host = \"web 1\";\n", 1,
	    "key 'host': 'web 1' has a space, a slash or a control character");
	assert_only("host = \"a/b\";\n", 1,
	    "key 'host': 'a/b' has a space, a slash or a control character");
	assert_only("host = \"\";\n", 1, "key 'host': must not be empty");
}
END_TEST

START_TEST(test_conf_token_and_token_file)
{
	char	text[1024];

	write_file(tpath, TOKEN "\n", 0600);
	snprintf(text, sizeof text, "slack = {\n  token = \"%s\";\n"
	    "  token_file = \"%s\";\n  channel = \"#c\";\n};\n", TOKEN, tpath);
	assert_only(text, 3, "key 'slack.token_file': set slack.token or "
	    "slack.token_file, not both");
}
END_TEST

START_TEST(test_conf_webhook_and_token)
{
	char	*err;

	assert_only("slack = {\n  webhook_url = \"" WEBHOOK "\";\n"
	    "  token = \"" TOKEN "\";\n  channel = \"#c\";\n};\n", 2,
	    "key 'slack.webhook_url': use either a webhook or a token (Web "
	    "API), not both");
	/* With a token_file instead of a token. */
	write_file(tpath, TOKEN, 0600);
	{
		char	text[1024];

		snprintf(text, sizeof text, "slack = {\n  token_file = \"%s\";"
		    "\n  channel = \"#c\";\n  webhook_url = \"" WEBHOOK "\";\n"
		    "};\n", tpath);
		err = load_bad(text);
		assert_line(err, cpath, 4, "key 'slack.webhook_url': use "
		    "either a webhook or a token (Web API), not both");
		ck_assert_int_eq(nlines(err), 1);
		free(err);
	}
}
END_TEST

START_TEST(test_conf_token_needs_channel)
{
	char	text[1024];

	assert_only("slack = {\n  token = \"" TOKEN "\";\n};\n", 2,
	    "key 'slack.channel': required with a token (the Web API posts to "
	    "a channel)");
	write_file(tpath, TOKEN, 0600);
	snprintf(text, sizeof text, "slack = {\n\n  token_file = \"%s\";\n};\n",
	    tpath);
	assert_only(text, 3, "key 'slack.channel': required with a token (the "
	    "Web API posts to a channel)");
}
END_TEST

START_TEST(test_conf_token_invalid)
{
	assert_only("slack = {\n  token = \"xoxb-1 2\";\n channel = \"#c\";\n"
	    "};\n", 2, "key 'slack.token': not a token (printable, no spaces)");
	assert_only("slack = {\n  token = \"\";\n channel = \"#c\";\n};\n", 2,
	    "key 'slack.token': must not be empty");
}
END_TEST

START_TEST(test_conf_token_file_read)
{
	struct conf	*c;
	char		 text[1024];

	/* Trailing white space (an editor's newline) is not the token. */
	write_file(tpath, TOKEN " \r\n\n", 0600);
	snprintf(text, sizeof text, "slack = { token_file = \"%s\"; "
	    "channel = \"#c\"; };\n", tpath);
	c = load_ok(text);
	ck_assert_str_eq(c->slack.token, TOKEN);
	ck_assert_str_eq(c->slack.token_file, tpath);
	ck_assert_ptr_null(c->warnings);
	conf_free(c);
}
END_TEST

START_TEST(test_conf_token_file_missing)
{
	char	text[1024], msg[1024];

	snprintf(text, sizeof text, "slack = {\n  channel = \"#c\";\n"
	    "  token_file = \"%s\";\n};\n", tpath);
	snprintf(msg, sizeof msg, "key 'slack.token_file': cannot open %s: No "
	    "such file or directory", tpath);
	assert_only(text, 3, msg);
}
END_TEST

START_TEST(test_conf_token_file_unreadable)
{
	char	text[1024], msg[1024], *err;

	write_file(tpath, TOKEN, 0000);
	snprintf(text, sizeof text, "slack = {\n  channel = \"#c\";\n"
	    "  token_file = \"%s\";\n};\n", tpath);
	write_file(cpath, text, 0644);
	/* root reads anything: be someone else while loading. */
	if (geteuid() == 0)
		ck_assert_int_eq(seteuid(65534), 0);
	err = NULL;
	ck_assert_ptr_null(conf_load(cpath, &err));
	if (getuid() == 0)
		ck_assert_int_eq(seteuid(0), 0);
	snprintf(msg, sizeof msg, "key 'slack.token_file': cannot open %s: "
	    "Permission denied", tpath);
	assert_line(err, cpath, 3, "%s", msg);
	ck_assert_int_eq(nlines(err), 1);
	free(err);
}
END_TEST

START_TEST(test_conf_token_file_not_a_file)
{
	char	text[1024], msg[1024];

	/* A directory, and a device that would hand out an endless token. */
	snprintf(text, sizeof text, "slack = {\n  channel = \"#c\";\n"
	    "  token_file = \"%s\";\n};\n", tmpdir);
	snprintf(msg, sizeof msg, "key 'slack.token_file': %s is not a regular "
	    "file", tmpdir);
	assert_only(text, 3, msg);
	assert_only("slack = {\n  channel = \"#c\";\n"
	    "  token_file = \"/dev/zero\";\n};\n", 3,
	    "key 'slack.token_file': /dev/zero is not a regular file");
}
END_TEST

START_TEST(test_conf_token_file_fifo)
{
	char	text[1024], msg[1024];

	/* Nobody writes to it: opening it must not hang. */
	ck_assert_int_eq(mkfifo(tpath, 0600), 0);
	snprintf(text, sizeof text, "slack = {\n  channel = \"#c\";\n"
	    "  token_file = \"%s\";\n};\n", tpath);
	snprintf(msg, sizeof msg, "key 'slack.token_file': %s is not a regular "
	    "file", tpath);
	assert_only(text, 3, msg);
}
END_TEST

START_TEST(test_conf_token_file_bad_contents)
{
	char	text[1024], msg[1024];

	write_file(tpath, "xoxb-1\nxoxb-2\n", 0600);
	snprintf(text, sizeof text, "slack = {\n  channel = \"#c\";\n"
	    "  token_file = \"%s\";\n};\n", tpath);
	snprintf(msg, sizeof msg, "key 'slack.token_file': %s does not hold "
	    "one token (printable, no spaces)", tpath);
	assert_only(text, 3, msg);
	write_file(tpath, "", 0600);
	assert_only(text, 3, msg);
}
END_TEST

START_TEST(test_conf_token_file_world_readable)
{
	struct conf	*c;
	char		 text[1024], want[1024];

	write_file(tpath, TOKEN "\n", 0644);
	snprintf(text, sizeof text, "slack = {\n  channel = \"#c\";\n"
	    "  token_file = \"%s\";\n};\n", tpath);
	c = load_ok(text);
	ck_assert_str_eq(c->slack.token, TOKEN);
	ck_assert_ptr_nonnull(c->warnings);
	snprintf(want, sizeof want, "%s:3: slack.token_file %s is readable by "
	    "every user: chmod o-r it", cpath, tpath);
	ck_assert_str_eq(c->warnings, want);
	ck_assert_ptr_null(strstr(c->warnings, TOKEN));
	conf_free(c);
}
END_TEST

START_TEST(test_conf_many_errors)
{
	char	*err;

	err = load_bad(
	    "socket = \"relative\";\n"			/* 1 */
	    "socket_mode = \"0666\";\n"			/* 2 */
	    "slack = {\n"				/* 3 */
	    "  chanel = \"#x\";\n"			/* 4 */
	    "  burst = 0;\n"				/* 5 */
	    "};\n"					/* 6 */
	    "log = { level = \"loud\"; };\n"		/* 7 */
	    "spool = {\n"				/* 8 */
	    "  fsync = \"maybe\";\n"			/* 9 */
	    "};\n"					/* 10 */
	    "bogus = true;\n");				/* 11 */
	assert_line(err, cpath, 1,
	    "key 'socket': 'relative' is not an absolute path");
	assert_line(err, cpath, 2,
	    "key 'socket_mode': 0666 would let every user write to the socket");
	assert_line(err, cpath, 4, "unknown key 'slack.chanel'");
	assert_line(err, cpath, 5,
	    "key 'slack.burst': 0 is out of range (1 to 1000)");
	assert_line(err, cpath, 7,
	    "key 'log.level': 'loud' is not one of warn, info, debug");
	assert_line(err, cpath, 9, "key 'spool.fsync': 'maybe' is not "
	    "\"always\", \"never\" or a number of milliseconds");
	assert_line(err, cpath, 11, "unknown key 'bogus'");
	ck_assert_int_eq(nlines(err), 7);
	ck_assert_int_ne(err[strlen(err) - 1], '\n');
	free(err);
}
END_TEST

/* Neither the token nor the webhook URL ever reaches a message. */
START_TEST(test_conf_secrets_never_in_messages)
{
	static const char	*texts[] = {
		/* every error in the slack group at once */
		"slack = {\n  webhook_url = \"" WEBHOOK "\";\n"
		"  token = \"" TOKEN "\";\n  tokn = \"" TOKEN "\";\n};\n",
		/* an invalid token */
		"slack = { token = \"" TOKEN " x\"; channel = \"#c\"; };\n",
		"slack = { token = \"" TOKEN "\x01\"; channel = \"#c\"; };\n",
		/* an invalid webhook URL, in every way it can be invalid */
		"slack = { webhook_url = \"" WEBHOOK " \"; };\n",
		"slack = { webhook_url = \"ftp" WEBHOOK "\"; };\n",
		"slack = { webhook_url = \"https://:HOOKSECRET@\"; };\n",
		"slack = { webhook_url = \"HOOKSECRET\"; };\n",
		/* secrets in the wrong place or of the wrong type */
		"slack = { token = [ \"" TOKEN "\" ]; };\n",
		"token = \"" TOKEN "\";\nwebhook_url = \"" WEBHOOK "\";\n",
		/* a syntax error right after them */
		"slack = {\n  token = \"" TOKEN "\";\n  webhook_url = \""
		WEBHOOK "\"\n  channel = 1;\n};\n",
		"slack = { token = \"" TOKEN "; };\n",
		"slack = { webhook_url = \"" WEBHOOK "\" @; };\n",
		NULL
	};
	char			*err;
	int			 i;

	for (i = 0; texts[i] != NULL; i++) {
		err = load_bad(texts[i]);
		if (strstr(err, "SECRET") != NULL ||
		    strstr(err, "hooks.slack.com") != NULL)
			ck_abort_msg("secret in message: %s", err);
		free(err);
	}

	/* token_file holding something that is not a token */
	{
		char	text[1024];

		write_file(tpath, TOKEN " " TOKEN "\n", 0644);
		snprintf(text, sizeof text, "slack = { token_file = \"%s\"; "
		    "channel = \"#c\"; };\n", tpath);
		err = load_bad(text);
		ck_assert_ptr_null(strstr(err, "SECRET"));
		free(err);
	}
}
END_TEST

START_TEST(test_conf_secret_not_in_warnings)
{
	struct conf	*c;
	char		 text[1024];

	/* The warning names the file, never what it holds. */
	write_file(tpath, TOKEN, 0604);
	snprintf(text, sizeof text, "slack = { token_file = \"%s\"; "
	    "channel = \"#c\"; };\n", tpath);
	c = load_ok(text);
	ck_assert_ptr_nonnull(c->warnings);
	ck_assert_ptr_null(strstr(c->warnings, "SECRET"));
	conf_free(c);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite	*s = suite_create("conf");
	TCase	*tc;

	tc = tcase_create("keys");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_conf_defaults);
	tcase_add_test(tc, test_conf_every_key_set);
	tcase_add_test(tc, test_conf_webhook_and_fsync_words);
	tcase_add_test(tc, test_conf_socket_mode);
	tcase_add_test(tc, test_conf_fsync);
	tcase_add_test(tc, test_conf_fsync_int64);
	tcase_add_test(tc, test_conf_levels);
	tcase_add_test(tc, test_conf_host);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_conf_missing_file);
	tcase_add_test(tc, test_conf_syntax_error);
	tcase_add_test(tc, test_conf_unknown_keys);
	tcase_add_test(tc, test_conf_unknown_key_in_each_group);
	tcase_add_test(tc, test_conf_wrong_types);
	tcase_add_test(tc, test_conf_int_ranges);
	tcase_add_test(tc, test_conf_relative_paths);
	tcase_add_test(tc, test_conf_bad_urls);
	tcase_add_test(tc, test_conf_many_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("slack");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_conf_token_and_token_file);
	tcase_add_test(tc, test_conf_webhook_and_token);
	tcase_add_test(tc, test_conf_token_needs_channel);
	tcase_add_test(tc, test_conf_token_invalid);
	tcase_add_test(tc, test_conf_token_file_read);
	tcase_add_test(tc, test_conf_token_file_missing);
	tcase_add_test(tc, test_conf_token_file_unreadable);
	tcase_add_test(tc, test_conf_token_file_not_a_file);
	tcase_add_test(tc, test_conf_token_file_fifo);
	tcase_add_test(tc, test_conf_token_file_bad_contents);
	tcase_add_test(tc, test_conf_token_file_world_readable);
	tcase_add_test(tc, test_conf_secrets_never_in_messages);
	tcase_add_test(tc, test_conf_secret_not_in_warnings);
	suite_add_tcase(s, tc);
	return (s);
}

CHECK_MAIN(conf_suite)

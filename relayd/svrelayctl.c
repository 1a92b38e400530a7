/*
 * svrelayctl: talk to the running svrelayd over its socket.
 *
 *   svrelayctl [-c FILE] status [--json]
 *   svrelayctl [-c FILE] test | dead | retry-dead
 *
 * Each command is one line {"cmd":"<name>"}; the answer is one JSON line.
 * status prints a summary (or, with --json, the raw answer); the other
 * commands print the answer as it comes.  Exit 1 if svrelayd cannot be
 * reached or answers ok:false.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "conf.h"
#include "urlcheck.h"
#include "log.h"
#include "relayd.h"
#include "xmalloc.h"

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: svrelayctl [-c file] status [--json]\n"
	    "       svrelayctl [-c file] test | dead | retry-dead\n");
	exit(1);
}

/* Send one command line to path; return the reply line (malloc'd). */
static char *
ctl_request(const char *path, const char *cmd)
{
	struct sockaddr_un	 sun;
	struct timeval		 tv = { RELAYD_CTL_TIMEOUT_SEC, 0 };
	struct evbuffer		*in;
	struct json_object	*o;
	const char		*s;
	char			 buf[65536], *line;
	size_t			 len, off;
	ssize_t			 n;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		fprintf(stderr, "svrelayctl: socket path %s is too long\n",
		    path);
		exit(1);
	}
	strncpy(sun.sun_path, path, sizeof sun.sun_path - 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		fprintf(stderr, "svrelayctl: socket: %s\n", strerror(errno));
		exit(1);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			fprintf(stderr, "svrelayctl: svrelayd is not running "
			    "(%s: %s)\n", path, strerror(errno));
		else
			fprintf(stderr, "svrelayctl: cannot reach svrelayd at "
			    "%s: %s\n", path, strerror(errno));
		exit(1);
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

	o = json_object_new_object();
	json_object_object_add(o, "cmd", json_object_new_string(cmd));
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
	line = xmalloc(len + 1);
	memcpy(line, s, len);
	line[len] = '\n';
	json_object_put(o);
	for (off = 0; off < len + 1; off += n) {
		if ((n = send(fd, line + off, len + 1 - off, MSG_NOSIGNAL)) ==
		    -1) {
			fprintf(stderr, "svrelayctl: send: %s\n",
			    strerror(errno));
			exit(1);
		}
	}
	free(line);

	in = evbuffer_new();
	for (;;) {
		if ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) !=
		    NULL)
			break;
		n = recv(fd, buf, sizeof buf, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			fprintf(stderr, "svrelayctl: no answer from svrelayd "
			    "in %d s\n", RELAYD_CTL_TIMEOUT_SEC);
			exit(1);
		}
		if (n <= 0) {
			fprintf(stderr, "svrelayctl: svrelayd closed the "
			    "connection%s%s\n", n == -1 ? ": " : "",
			    n == -1 ? strerror(errno) : "");
			exit(1);
		}
		evbuffer_add(in, buf, n);
	}
	evbuffer_free(in);
	close(fd);
	return (line);
}

/* A string member of o, or "-". */
static const char *
ctl_member(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return ("-");
	return (json_object_get_string(v));
}

/*
 * policy.processes: one line a process (process, server, state, since,
 * flapping) in columns as wide as their widest value.
 */
static void
ctl_print_processes(struct json_object *a, int indent)
{
	static const char	*keys[] = { "process", "server", "state",
				    "since", "flapping" };
	static const char	*heads[] = { "PROCESS", "SERVER", "STATE",
				    "SINCE", "FLAPPING" };
	struct json_object	*e;
	size_t			 i, k, n, w[5];

	n = json_object_array_length(a);
	printf("%zu\n", n);
	if (n == 0)
		return;
	for (k = 0; k < 5; k++)
		w[k] = strlen(heads[k]);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(a, i);
		for (k = 0; k < 5; k++) {
			if (strlen(ctl_member(e, keys[k])) > w[k])
				w[k] = strlen(ctl_member(e, keys[k]));
		}
	}
	printf("%*s%-*s  %-*s  %-*s  %-*s  %s\n", indent + 2, "", (int)w[0],
	    heads[0], (int)w[1], heads[1], (int)w[2], heads[2], (int)w[3],
	    heads[3], heads[4]);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(a, i);
		printf("%*s%-*s  %-*s  %-*s  %-*s  %s\n", indent + 2, "",
		    (int)w[0], ctl_member(e, keys[0]), (int)w[1],
		    ctl_member(e, keys[1]), (int)w[2], ctl_member(e, keys[2]),
		    (int)w[3], ctl_member(e, keys[3]), ctl_member(e, keys[4]));
	}
}

/* A member as text for the summary. */
static void
ctl_print_value(struct json_object *v, int indent)
{
	size_t	i;

	switch (json_object_get_type(v)) {
	case json_type_null:
		printf("-\n");
		break;
	case json_type_string:
		printf("%s\n", json_object_get_string(v));
		break;
	case json_type_object:
		printf("\n");
		json_object_object_foreach(v, key, val) {
			printf("%*s%-20s ", indent + 2, "", key);
			if (strcmp(key, "processes") == 0 &&
			    json_object_is_type(val, json_type_array))
				ctl_print_processes(val, indent + 2);
			else
				ctl_print_value(val, indent + 2);
		}
		break;
	case json_type_array:
		if (json_object_array_length(v) == 0) {
			printf("(none)\n");
			break;
		}
		printf("\n");
		for (i = 0; i < json_object_array_length(v); i++) {
			printf("%*s- ", indent + 2, "");
			ctl_print_value(json_object_array_get_idx(v, i),
			    indent + 2);
		}
		break;
	default:
		printf("%s\n", json_object_to_json_string_ext(v,
		    JSON_C_TO_STRING_PLAIN));
		break;
	}
}

static void
ctl_uptime(int64_t s)
{
	if (s >= 86400)
		printf("%lldd %02lld:%02lld:%02lld\n", (long long)(s / 86400),
		    (long long)(s / 3600 % 24), (long long)(s / 60 % 60),
		    (long long)(s % 60));
	else
		printf("%02lld:%02lld:%02lld\n", (long long)(s / 3600),
		    (long long)(s / 60 % 60), (long long)(s % 60));
}

/* The status summary: ingest's members first, then everything else. */
static void
ctl_print_status(struct json_object *st)
{
	static const struct {
		const char	*key;
		const char	*label;
	} known[] = {
		{ "version", "version" },
		{ "pid", "pid" },
		{ "host", "host" },
		{ "started", "started" },
		{ "uptime", "uptime" },
		{ "socket", "socket" },
		{ "connections", "connections" },
		{ "max_connections", "max connections" },
		{ "connections_total", "connections total" },
		{ "refused_peers", "refused peers" },
		{ "refused_full", "refused (full)" },
		{ "events_accepted", "events accepted" },
		{ "duplicates", "duplicates" },
		{ "refused_lines", "refused lines" },
		{ "long_lines", "overlong lines" },
		{ "write_failures", "write failures" },
		{ "handoff_imported", "hand-off imported" },
		{ "handoff_duplicates", "hand-off duplicates" },
		{ "handoff_bad", "hand-off bad" },
		{ "spool_file", "spool file" },
		{ "spool_bytes", "spool bytes" },
		{ "spool_fsync", "spool fsync" },
		{ "last_write", "last write" },
		{ "spool_failing", "spool failing" },
		{ "last_error", "last error" },
		{ "last_error_time", "last error time" },
		{ NULL, NULL }
	};
	struct json_object	*v;
	size_t			 i;
	int			 seen;

	for (i = 0; known[i].key != NULL; i++) {
		if (!json_object_object_get_ex(st, known[i].key, &v))
			continue;
		printf("%-22s ", known[i].label);
		if (strcmp(known[i].key, "uptime") == 0 &&
		    json_object_is_type(v, json_type_int))
			ctl_uptime(json_object_get_int64(v));
		else
			ctl_print_value(v, 0);
	}
	json_object_object_foreach(st, key, val) {
		seen = 0;
		for (i = 0; known[i].key != NULL && !seen; i++)
			seen = strcmp(known[i].key, key) == 0;
		if (seen)
			continue;
		printf("%-22s ", key);
		ctl_print_value(val, 0);
	}
}

int
main(int argc, char *argv[])
{
	struct json_object	*o, *v, *st;
	struct conf		*conf;
	const char		*path = CONF_DEFAULT_PATH, *cmd;
	char			*errstr = NULL, *line;
	int			 ch, json = 0, ok;

	log_init("svrelayctl", 0, LOG_LEVEL_WARN);
	conf_set_url_checker(urlcheck_problem);
	while ((ch = getopt(argc, argv, "+c:")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	cmd = argv[0];
	if (strcmp(cmd, "status") == 0) {
		if (argc == 2 && strcmp(argv[1], "--json") == 0)
			json = 1;
		else if (argc != 1)
			usage();
	} else if (strcmp(cmd, "test") == 0 || strcmp(cmd, "dead") == 0 ||
	    strcmp(cmd, "retry-dead") == 0) {
		if (argc != 1)
			usage();
	} else
		usage();

	if ((conf = conf_load(path, &errstr)) == NULL) {
		fprintf(stderr, "%s", errstr != NULL ? errstr : path);
		if (errstr == NULL || errstr[strlen(errstr) - 1] != '\n')
			fputc('\n', stderr);
		exit(1);
	}
	line = ctl_request(conf->socket, cmd);
	conf_free(conf);

	if ((o = json_tokener_parse(line)) == NULL ||
	    !json_object_is_type(o, json_type_object)) {
		fprintf(stderr, "svrelayctl: svrelayd's answer is not JSON: "
		    "%.200s\n", line);
		exit(1);
	}
	ok = json_object_object_get_ex(o, "ok", &v) &&
	    json_object_get_boolean(v);
	if (json || strcmp(cmd, "status") != 0 || !ok) {
		if (!ok && json_object_object_get_ex(o, "error", &v) &&
		    !json)
			fprintf(stderr, "svrelayctl: %s: %s\n", cmd,
			    json_object_get_string(v));
		else
			printf("%s", line);
	} else if (json_object_object_get_ex(o, "status", &st))
		ctl_print_status(st);
	json_object_put(o);
	free(line);
	return (ok ? 0 : 1);
}

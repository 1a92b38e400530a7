/*
 * svrelay-context: the listener's helper for crash context.  It asks
 * supervisord's XML-RPC interface about one process -- getProcessInfo,
 * the tail of its stderr log (or of stdout, when stderr is empty or
 * redirected) and, when the exit status is no longer in the process's
 * info, supervisord's own log line for the exit -- and writes one JSON
 * object on stdout:
 *
 *	{"exitstatus": 7, "signal": "SIGSEGV", "spawnerr": "...",
 *	 "description": "...", "stderr_tail": "...", "stdout_tail": "...",
 *	 "error": "..."}
 *
 * every member optional.  It always answers (exit 0) unless its arguments
 * are wrong, and answers before the deadline the listener gives it.
 * Secrets and redaction patterns come in the environment, never argv.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "log.h"
#include "xmalloc.h"
#include "listener.h"

#define HELPER_MAINLOG_BYTES	8192	/* supervisord's log, for an exit */
#define HELPER_UTF8_RETRIES	4	/* a tail may start mid-character */

struct helper {
	struct rpc		*rpc;
	const char		*url;
	const char		*name;		/* group:name */
	const char		*procname;	/* name */
	const char		*event;		/* EXITED, FATAL, BACKOFF */
	const char		*user;
	int64_t			 deadline;
	int			 timeout_ms;
	int			 tail_bytes;
	regex_t			*res;
	size_t			 nres;
	struct json_object	*out;
};

/* A decimal number in [min, max] from an argument; dies otherwise. */
static long long
helper_number(int opt, const char *arg, long long min, long long max)
{
	long long	 v;
	char		*end;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (end == arg || *end != '\0' || errno != 0 || v < min || v > max)
		fatalx("-%c %s: not a number from %lld to %lld", opt, arg, min,
		    max);
	return (v);
}

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: svrelay-context -u server_url -n group:name "
	    "-e EXITED|FATAL|BACKOFF [-d deadline_ms] [-t timeout_ms] "
	    "[-b tail_bytes]\n");
	exit(1);
}

/* Say why a call failed, in words for the admin who reads the log. */
static void
helper_why(struct helper *h, int rc, int code, const char *err, char *why,
    size_t len)
{
	switch (rc) {
	case RPC_TIMEOUT:
		snprintf(why, len, "no answer from supervisord at %s within "
		    "%d ms (timeout)", h->url, h->timeout_ms);
		break;
	case RPC_HTTP:
		if (code == 401 && h->user == NULL)
			snprintf(why, len, "supervisord at %s asks for a "
			    "username and password (HTTP 401): set "
			    "context.username and context.password", h->url);
		else if (code == 401)
			snprintf(why, len, "supervisord at %s refused "
			    "context.username and context.password (HTTP 401)",
			    h->url);
		else
			snprintf(why, len, "supervisord at %s: %s", h->url,
			    err);
		break;
	case RPC_FAULT:
		snprintf(why, len, "supervisord says %s", err);
		break;
	default:
		snprintf(why, len, "%s", err);
		break;
	}
}

static void
helper_error(struct helper *h, const char *why)
{
	json_object_object_add(h->out, "error", json_object_new_string(why));
}

/* A string member of a struct, or NULL. */
static const char *
helper_string(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return (NULL);
	return (json_object_get_string(v));
}

/* Redact s (a copy) and add it to the answer as key. */
static void
helper_add_text(struct helper *h, const char *key, const char *s)
{
	char	*t;

	t = xstrdup(s);
	tail_redact(&t, h->res, h->nres);
	json_object_object_add(h->out, key, json_object_new_string(t));
	free(t);
}

/*
 * The last tail_bytes of a log (method tailProcessStderrLog or
 * tailProcessStdoutLog), as whole lines of valid UTF-8, redacted.
 * Returns a malloc'd string, or NULL with the reason in why.
 */
static char *
helper_tail(struct helper *h, const char *method, char *why, size_t whylen)
{
	struct xmlrpc_param	 p[3];
	struct json_object	*res, *s, *off;
	char			 err[XMLRPC_ERRLEN], *t;
	size_t			 slen, tlen;
	int			 i, rc, code, partial;

	for (i = 0; i < HELPER_UTF8_RETRIES; i++) {
		/* One byte more than wanted shows whether a line starts. */
		p[0].string = h->name;
		p[1].string = NULL;
		p[1].integer = 0;
		p[2].string = NULL;
		p[2].integer = h->tail_bytes + 1 - i;
		rc = rpc_call(h->rpc, h->deadline, method, p, 3, &res, &code,
		    err, sizeof err);
		/* supervisord cannot decode a tail cut mid-character. */
		if (rc == RPC_HTTP && code == 500)
			continue;
		if (rc != RPC_OK) {
			helper_why(h, rc, code, err, why, whylen);
			return (NULL);
		}
		if (!json_object_is_type(res, json_type_array) ||
		    json_object_array_length(res) != 3 ||
		    !json_object_is_type((s = json_object_array_get_idx(res,
		    0)), json_type_string) ||
		    !json_object_is_type((off = json_object_array_get_idx(res,
		    1)), json_type_int)) {
			snprintf(why, whylen, "%s: not [string, offset, "
			    "overflow]", method);
			json_object_put(res);
			return (NULL);
		}
		slen = (size_t)json_object_get_string_len(s);
		partial = json_object_get_int64(off) > (int64_t)slen;
		t = tail_utf8(json_object_get_string(s), slen, &tlen);
		json_object_put(res);
		t = tail_trim(t, &tlen, h->tail_bytes, partial);
		if (tail_redact(&t, h->res, h->nres) > 0) {
			tlen = strlen(t);
			t = tail_trim(t, &tlen, h->tail_bytes, 0);
		}
		return (t);
	}
	snprintf(why, whylen, "%s: supervisord could not decode the log's "
	    "last %d bytes as UTF-8 (HTTP 500)", method, h->tail_bytes);
	return (NULL);
}

/*
 * The exit status from supervisord's own log ("exited: NAME (exit status
 * 7; not expected)"), for when the process's info has moved on (it was
 * restarted) or never had it (an exit before startsecs).  Silent when the
 * log cannot be read: the status is then simply not known.
 */
static void
helper_mainlog_exit(struct helper *h)
{
	struct xmlrpc_param	 p[2];
	struct json_object	*res;
	char			 err[XMLRPC_ERRLEN], sig[64];
	int			 i, rc, code, status;

	for (i = 0; i < HELPER_UTF8_RETRIES; i++) {
		p[0].string = NULL;
		p[0].integer = -(HELPER_MAINLOG_BYTES - i);
		p[1].string = NULL;
		p[1].integer = 0;
		rc = rpc_call(h->rpc, h->deadline, "supervisor.readLog", p, 2,
		    &res, &code, err, sizeof err);
		if (rc == RPC_HTTP && code == 500)
			continue;
		if (rc != RPC_OK) {
			log_debug("readLog: %s", err);
			return;
		}
		if (json_object_is_type(res, json_type_string)) {
			rc = tail_exit_status(json_object_get_string(res),
			    h->procname, &status, sig, sizeof sig);
			if (rc == 1)
				json_object_object_add(h->out, "exitstatus",
				    json_object_new_int(status));
			else if (rc == 2)
				json_object_object_add(h->out, "signal",
				    json_object_new_string(sig));
		}
		json_object_put(res);
		return;
	}
}

static void
helper_run(struct helper *h)
{
	struct xmlrpc_param	 p[1];
	struct json_object	*info, *v;
	const char		*spawnerr, *desc, *statename, *errlog;
	char			 err[XMLRPC_ERRLEN], why[CONTEXT_ERRLEN];
	char			*tail;
	int			 rc, code;

	p[0].string = h->name;
	rc = rpc_call(h->rpc, h->deadline, "supervisor.getProcessInfo", p, 1,
	    &info, &code, err, sizeof err);
	if (rc != RPC_OK) {
		helper_why(h, rc, code, err, why, sizeof why);
		helper_error(h, why);
		return;
	}
	if (!json_object_is_type(info, json_type_object)) {
		helper_error(h, "getProcessInfo: not a struct");
		json_object_put(info);
		return;
	}
	spawnerr = helper_string(info, "spawnerr");
	desc = helper_string(info, "description");
	statename = helper_string(info, "statename");
	errlog = helper_string(info, "stderr_logfile");

	if (strcmp(h->event, "EXITED") == 0 && statename != NULL &&
	    strcmp(statename, "EXITED") == 0 &&
	    json_object_object_get_ex(info, "exitstatus", &v) &&
	    json_object_is_type(v, json_type_int))
		json_object_object_add(h->out, "exitstatus",
		    json_object_new_int(json_object_get_int(v)));
	else if (strcmp(h->event, "EXITED") == 0 || (spawnerr != NULL &&
	    strncmp(spawnerr, "Exited too quickly", 18) == 0))
		helper_mainlog_exit(h);
	if (spawnerr != NULL && spawnerr[0] != '\0')
		helper_add_text(h, "spawnerr", spawnerr);
	if (desc != NULL && desc[0] != '\0')
		helper_add_text(h, "description", desc);

	if (h->tail_bytes > 0) {
		tail = NULL;
		/* redirect_stderr: no stderr log; its lines are in stdout's. */
		if (errlog != NULL && errlog[0] != '\0') {
			if ((tail = helper_tail(h, "supervisor."
			    "tailProcessStderrLog", why, sizeof why)) == NULL) {
				helper_error(h, why);
				goto done;
			}
			if (tail[0] != '\0')
				json_object_object_add(h->out, "stderr_tail",
				    json_object_new_string(tail));
		}
		if (tail == NULL || tail[0] == '\0') {
			free(tail);
			if ((tail = helper_tail(h, "supervisor."
			    "tailProcessStdoutLog", why, sizeof why)) == NULL)
				helper_error(h, why);
			else if (tail[0] != '\0')
				json_object_object_add(h->out, "stdout_tail",
				    json_object_new_string(tail));
		}
		free(tail);
	}
done:
	json_object_put(info);
}

/* Compile the patterns of CONTEXT_ENV_REDACT (a JSON array). */
static int
helper_patterns(struct helper *h, char *why, size_t len)
{
	struct json_object	*a, *e;
	const char		*env;
	size_t			 i, n;
	char			 msg[128];
	int			 rc;

	if ((env = getenv(CONTEXT_ENV_REDACT)) == NULL || env[0] == '\0')
		return (0);
	if ((a = json_tokener_parse(env)) == NULL ||
	    !json_object_is_type(a, json_type_array)) {
		snprintf(why, len, "%s is not a JSON array", CONTEXT_ENV_REDACT);
		json_object_put(a);
		return (-1);
	}
	n = json_object_array_length(a);
	h->res = xcalloc(n + 1, sizeof *h->res);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(a, i);
		if (!json_object_is_type(e, json_type_string)) {
			snprintf(why, len, "redaction pattern %zu is not a "
			    "string", i + 1);
			json_object_put(a);
			return (-1);
		}
		if ((rc = regcomp(&h->res[i], json_object_get_string(e),
		    REG_EXTENDED | REG_NEWLINE)) != 0) {
			regerror(rc, &h->res[i], msg, sizeof msg);
			snprintf(why, len, "redaction pattern %zu: %s", i + 1,
			    msg);
			json_object_put(a);
			return (-1);
		}
		h->nres++;
	}
	json_object_put(a);
	return (0);
}

int
main(int argc, char *argv[])
{
	struct helper	 h;
	const char	*s, *pass;
	char		 why[CONTEXT_ERRLEN];
	long long	 deadline = 0;
	size_t		 i;
	int		 ch;

	log_init("svrelay-context", 0, LOG_LEVEL_WARN);
	signal(SIGPIPE, SIG_IGN);
	memset(&h, 0, sizeof h);
	h.timeout_ms = 1500;
	h.tail_bytes = 4096;
	while ((ch = getopt(argc, argv, "b:d:e:n:t:u:")) != -1) {
		switch (ch) {
		case 'b':
			h.tail_bytes = (int)helper_number(ch, optarg, 0, 1 << 20);
			break;
		case 'd':
			deadline = helper_number(ch, optarg, 1, LLONG_MAX);
			break;
		case 'e':
			h.event = optarg;
			break;
		case 'n':
			h.name = optarg;
			break;
		case 't':
			h.timeout_ms = (int)helper_number(ch, optarg, 1, 600000);
			break;
		case 'u':
			h.url = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || h.url == NULL || h.name == NULL ||
	    h.event == NULL)
		usage();
	s = strchr(h.name, ':');
	h.procname = s != NULL ? s + 1 : h.name;
	if (deadline == 0)
		deadline = rpc_now() + h.timeout_ms;
	h.deadline = deadline - CONTEXT_MARGIN_MS;
	h.out = json_object_new_object();
	if ((s = getenv(CONTEXT_ENV_USERNAME)) != NULL && s[0] != '\0')
		h.user = s;
	pass = getenv(CONTEXT_ENV_PASSWORD);

	if (helper_patterns(&h, why, sizeof why) == -1) {
		/* Never send what was meant to be redacted. */
		helper_error(&h, why);
		goto out;
	}
	if (curl_global_init(CURL_GLOBAL_NOTHING) != 0)
		fatalx("curl_global_init failed");
	if ((h.rpc = rpc_new(h.url, h.user, pass, why, sizeof why)) == NULL)
		helper_error(&h, why);
	else
		helper_run(&h);
	rpc_free(h.rpc);
	curl_global_cleanup();
out:
	printf("%s\n", json_object_to_json_string_ext(h.out,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(h.out);
	for (i = 0; i < h.nres; i++)
		regfree(&h.res[i]);
	free(h.res);
	return (ferror(stdout) ? 1 : 0);
}

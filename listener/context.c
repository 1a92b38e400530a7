/*
 * Crash context for the events where it matters: FATAL, EXITED with
 * expected:0 and, if configured, BACKOFF (rate-limited per process).  The
 * listener does not speak XML-RPC itself -- that would load libcurl and
 * its TLS stack into a process that must stay under 2 MiB -- but runs the
 * svrelay-context helper (posix_spawn), reads the one JSON object it
 * writes through a pipe, and adds it to the event as "context".
 *
 * Bounded: one deadline (context.timeout_ms) covers the helper's start
 * and every call it makes; past it the helper is killed (SIGKILL) and
 * reaped, and the event goes on with context.error saying why.  Outcomes
 * are logged once per change, not once per event.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"
#include "log.h"
#include "svevent.h"
#include "xmalloc.h"
#include "listener.h"

struct context_slot {
	char		*name;		/* group:name; NULL: free */
	int64_t		 last;		/* monotonic ms of the last fetch */
};

struct context {
	int			 enabled;
	char			*helper;
	char			*url;		/* SUPERVISOR_SERVER_URL */
	int			 timeout_ms;
	int			 tail_bytes;
	int			 backoff;
	int			 backoff_interval_ms;
	char			**envp;		/* the helper's environment */
	size_t			 nenv;
	struct context_slot	 slots[CONTEXT_BACKOFF_SLOTS];
	char			*outcome;	/* NULL: none yet; "": fine */
};

static int64_t
context_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/* Monotonic microseconds, for the debug log's timings. */
static int64_t
context_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static void
context_env(struct context *c, const char *name, const char *value)
{
	c->envp = xreallocarray(c->envp, c->nenv + 2, sizeof *c->envp);
	xasprintf(&c->envp[c->nenv++], "%s=%s", name, value);
	c->envp[c->nenv] = NULL;
}

/*
 * The crash context fetcher for conf; it reads SUPERVISOR_SERVER_URL,
 * which supervisord gives its listeners.  Without it (or with
 * context.enabled false) context_wanted always says no.
 */
struct context *
context_new(const struct conf *conf)
{
	const struct conf_context	*cc = &conf->context;
	struct context			*c;
	struct json_object		*a;
	const char			*url;
	size_t				 i;

	c = xcalloc(1, sizeof *c);
	c->envp = xcalloc(1, sizeof *c->envp);
	if (!cc->enabled) {
		log_debug("crash context: off (context.enabled is false)");
		return (c);
	}
	if ((url = getenv("SUPERVISOR_SERVER_URL")) == NULL || url[0] == '\0') {
		log_info("crash context: off, SUPERVISOR_SERVER_URL is not set "
		    "(supervisord sets it for its listeners)");
		return (c);
	}
	c->enabled = 1;
	c->url = xstrdup(url);
	c->helper = xstrdup(cc->helper != NULL ? cc->helper :
	    SVRELAY_CONTEXT_HELPER);
	c->timeout_ms = cc->timeout_ms;
	c->tail_bytes = cc->tail_bytes;
	c->backoff = cc->backoff;
	c->backoff_interval_ms = cc->backoff_interval_ms;
	if (cc->username != NULL)
		context_env(c, CONTEXT_ENV_USERNAME, cc->username);
	if (cc->password != NULL)
		context_env(c, CONTEXT_ENV_PASSWORD, cc->password);
	if (cc->redact[0] != NULL) {
		a = json_object_new_array();
		for (i = 0; cc->redact[i] != NULL; i++)
			json_object_array_add(a,
			    json_object_new_string(cc->redact[i]));
		context_env(c, CONTEXT_ENV_REDACT, json_object_to_json_string_ext(
		    a, JSON_C_TO_STRING_PLAIN));
		json_object_put(a);
	}
	log_debug("crash context: from %s through %s, %d ms, %d bytes a tail",
	    c->url, c->helper, c->timeout_ms, c->tail_bytes);
	return (c);
}

void
context_free(struct context *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nenv; i++) {
		explicit_bzero(c->envp[i], strlen(c->envp[i]));
		free(c->envp[i]);
	}
	free(c->envp);
	for (i = 0; i < CONTEXT_BACKOFF_SLOTS; i++)
		free(c->slots[i].name);
	free(c->helper);
	free(c->url);
	free(c->outcome);
	free(c);
}

/* May a BACKOFF of name fetch context now?  Records it if so. */
static int
context_backoff_due(struct context *c, const char *name)
{
	struct context_slot	*s, *oldest = NULL;
	int64_t			 now = context_now();
	size_t			 i;

	for (i = 0; i < CONTEXT_BACKOFF_SLOTS; i++) {
		s = &c->slots[i];
		if (s->name != NULL && strcmp(s->name, name) == 0) {
			if (now - s->last < c->backoff_interval_ms)
				return (0);
			s->last = now;
			return (1);
		}
		if (oldest == NULL || s->name == NULL ||
		    (oldest->name != NULL && s->last < oldest->last))
			oldest = s;
	}
	free(oldest->name);
	oldest->name = xstrdup(name);
	oldest->last = now;
	return (1);
}

/* "group:name" of a process state event, or NULL; malloc'd. */
static char *
context_procname(const struct svevent *ev)
{
	const char	*p, *g;
	char		*name;

	if ((p = svevent_token(ev, "processname")) == NULL ||
	    (g = svevent_token(ev, "groupname")) == NULL)
		return (NULL);
	xasprintf(&name, "%s:%s", g, p);
	return (name);
}

/*
 * Does ev need crash context?  FATAL always, EXITED when the exit was not
 * expected, BACKOFF when context.backoff is set and the process had none
 * within context.backoff_interval_ms.
 */
int
context_wanted(struct context *c, const struct svevent *ev)
{
	const char	*x;
	char		*name;
	int		 due;

	if (!c->enabled || ev->name == NULL)
		return (0);
	if (strcmp(ev->name, "PROCESS_STATE_FATAL") == 0)
		return (1);
	if (strcmp(ev->name, "PROCESS_STATE_EXITED") == 0)
		return ((x = svevent_token(ev, "expected")) != NULL &&
		    strcmp(x, "0") == 0);
	if (strcmp(ev->name, "PROCESS_STATE_BACKOFF") != 0 || !c->backoff)
		return (0);
	if ((name = context_procname(ev)) == NULL)
		return (0);
	due = context_backoff_due(c, name);
	free(name);
	return (due);
}

/* Log the outcome when it differs from the last one. */
static void
context_outcome(struct context *c, const char *name, const char *error)
{
	const char	*now = error != NULL ? error : "";

	if (c->outcome != NULL && strcmp(c->outcome, now) == 0)
		return;
	if (error != NULL)
		log_warnx("crash context for %s: %s (events go on without it "
		    "until this changes)", name, error);
	else if (c->outcome != NULL)
		log_info("crash context: fetched again (for %s)", name);
	else
		log_debug("crash context: fetched for %s", name);
	free(c->outcome);
	c->outcome = xstrdup(now);
}

/*
 * Wait for the helper: reap pid by deadline, or kill and reap it.
 * Returns its wait status, or -1 if it had to be killed.
 */
static int
context_reap(pid_t pid, int64_t deadline)
{
	int	status;
	pid_t	r;

	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			return (status);
		if (r == -1 && errno != EINTR)
			return (0);
		if (context_now() >= deadline)
			break;
		poll(NULL, 0, 2);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return (-1);
}

/*
 * Run the helper for name and read its answer.  Returns the JSON object
 * (a new reference), or NULL with the reason in why.
 */
static struct json_object *
context_run(struct context *c, const char *name, const char *state,
    char *why, size_t whylen)
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 none, def;
	struct pollfd			 pfd;
	struct json_object		*o = NULL;
	struct json_tokener		*tok;
	char				 dl[32], to[32], tb[32], *buf = NULL;
	char				*argv[14];
	size_t				 len = 0, size = 0, end;
	int64_t				 deadline, left;
	ssize_t				 n;
	pid_t				 pid;
	int				 fds[2], rc, status, killed = 0;

	deadline = context_now() + c->timeout_ms;
	snprintf(dl, sizeof dl, "%lld", (long long)deadline);
	snprintf(to, sizeof to, "%d", c->timeout_ms);
	snprintf(tb, sizeof tb, "%d", c->tail_bytes);
	argv[0] = c->helper;
	argv[1] = "-u";
	argv[2] = c->url;
	argv[3] = "-n";
	argv[4] = (char *)name;
	argv[5] = "-e";
	argv[6] = (char *)state;
	argv[7] = "-d";
	argv[8] = dl;
	argv[9] = "-t";
	argv[10] = to;
	argv[11] = "-b";
	argv[12] = tb;
	argv[13] = NULL;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		snprintf(why, whylen, "pipe: %s", strerror(errno));
		return (NULL);
	}
	/* The helper's stdout is the pipe, never supervisord's. */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null",
	    O_RDONLY, 0);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGINT);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, c->helper, &fa, &attr, argv, c->envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[1]);
	if (rc != 0) {
		snprintf(why, whylen, "cannot run %s: %s", c->helper,
		    strerror(rc));
		close(fds[0]);
		return (NULL);
	}

	for (;;) {
		if ((left = deadline - context_now()) <= 0) {
			killed = 1;
			break;
		}
		pfd.fd = fds[0];
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			break;
		if (pfd.revents == 0)
			continue;
		if (len == size) {
			if (size >= CONTEXT_MAX_OUTPUT) {
				snprintf(why, whylen, "%s wrote more than %d "
				    "bytes", c->helper, CONTEXT_MAX_OUTPUT);
				killed = 2;
				break;
			}
			size = size == 0 ? 4096 : size * 2;
			buf = xreallocarray(buf, size, 1);
		}
		n = read(fds[0], buf + len, size - len);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		len += n;
	}
	close(fds[0]);
	status = context_reap(pid, killed ? 0 : deadline);
	if (killed == 1)
		snprintf(why, whylen, "no answer within %d ms (timeout): "
		    "svrelay-context killed", c->timeout_ms);
	if (killed)
		goto out;
	if (len == 0) {
		if (status == -1)
			snprintf(why, whylen, "no answer within %d ms "
			    "(timeout): svrelay-context killed", c->timeout_ms);
		else if (WIFSIGNALED(status))
			snprintf(why, whylen, "%s died of signal %d without an "
			    "answer", c->helper, WTERMSIG(status));
		else
			snprintf(why, whylen, "%s exited %d without an answer",
			    c->helper, WIFEXITED(status) ?
			    WEXITSTATUS(status) : -1);
		goto out;
	}
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, buf, (int)len);
	end = o != NULL ? json_tokener_get_parse_end(tok) : 0;
	while (end < len && (buf[end] == '\n' || buf[end] == ' '))
		end++;
	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    end != len) {
		snprintf(why, whylen, "%s's answer is not one JSON object",
		    c->helper);
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
out:
	free(buf);
	return (o);
}

/*
 * Fetch crash context for ev (context_wanted said yes) and add it as
 * ev->context; on failure the context holds just "error".  Never takes
 * longer than context.timeout_ms, plus the time to kill and reap.
 */
void
context_add(struct context *c, struct svevent *ev)
{
	struct json_object	*o, *e;
	const char		*state;
	char			*name, why[CONTEXT_ERRLEN];
	int64_t			 start;

	if ((name = context_procname(ev)) == NULL)
		return;
	start = context_now_us();
	state = ev->name + strlen("PROCESS_STATE_");
	why[0] = '\0';
	if ((o = context_run(c, name, state, why, sizeof why)) == NULL) {
		o = json_object_new_object();
		json_object_object_add(o, "error",
		    json_object_new_string(why));
	}
	if (json_object_object_get_ex(o, "error", &e) &&
	    json_object_is_type(e, json_type_string))
		context_outcome(c, name, json_object_get_string(e));
	else
		context_outcome(c, name, NULL);
	if (ev->context != NULL)
		json_object_put(ev->context);
	ev->context = o;
	log_debug("crash context: fetching it for %s took %.1f ms", name,
	    (double)(context_now_us() - start) / 1000);
	free(name);
}

/*
 * Which events become a message, for now: every PROCESS_STATE_FATAL and
 * every PROCESS_STATE_EXITED with expected:0, one message each.  (The
 * incident policy of design.md replaces this rule.)
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "delivery_int.h"
#include "svevent.h"
#include "xmalloc.h"

#define NOTIFY_STATE_PREFIX	"PROCESS_STATE_"

static char *
notify_dup(const struct svevent *ev, const char *key)
{
	const char	*v = svevent_token(ev, key);

	return (v != NULL ? xstrdup(v) : NULL);
}

struct notify_msg *
notify_event(const struct svevent *ev, const char *host)
{
	struct notify_msg	*m;
	const char		*expected;
	int			 fatal;

	if (ev->name == NULL)
		return (NULL);
	fatal = strcmp(ev->name, "PROCESS_STATE_FATAL") == 0;
	if (!fatal) {
		if (strcmp(ev->name, "PROCESS_STATE_EXITED") != 0)
			return (NULL);
		expected = svevent_token(ev, "expected");
		if (expected == NULL || strcmp(expected, "0") != 0)
			return (NULL);
	}

	m = xcalloc(1, sizeof *m);
	m->severity = fatal ? NOTIFY_DANGER : NOTIFY_WARNING;
	m->host = xstrdup(ev->host != NULL ? ev->host : host);
	m->group = notify_dup(ev, "groupname");
	m->process = notify_dup(ev, "processname");
	m->state = xstrdup(ev->name + strlen(NOTIFY_STATE_PREFIX));
	m->from_state = notify_dup(ev, "from_state");
	m->pid = notify_dup(ev, "pid");
	m->tries = notify_dup(ev, "tries");
	m->expected = notify_dup(ev, "expected");
	m->event_id = ev->id != NULL ? xstrdup(ev->id) : NULL;
	m->time = ev->time != NULL ? xstrdup(ev->time) : NULL;
	if (fatal)
		m->summary = xstrdup("supervisord gave up starting it");
	else
		m->summary = xstrdup("it exited unexpectedly");
	return (m);
}

struct notify_msg *
notify_test(const char *host)
{
	struct notify_msg	*m;

	m = xcalloc(1, sizeof *m);
	m->severity = NOTIFY_INFO;
	m->host = xstrdup(host);
	m->group = xstrdup("svrelay");
	m->process = xstrdup("test");
	m->state = xstrdup("TEST");
	m->summary = xstrdup("a test message from svrelayctl test: "
	    "delivery works");
	return (m);
}

void
notify_msg_free(struct notify_msg *m)
{
	if (m == NULL)
		return;
	free(m->host);
	free(m->group);
	free(m->process);
	free(m->state);
	free(m->from_state);
	free(m->pid);
	free(m->tries);
	free(m->expected);
	free(m->event_id);
	free(m->time);
	free(m->summary);
	free(m);
}

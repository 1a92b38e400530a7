/*
 * Commands on svrelayd's socket: a line that is a JSON object with a
 * "cmd" member.  "status" is answered here; every other command goes to
 * the delivery engine (delivery_command), which may answer later.  Only
 * allowed peers get this far (server.c checks them at accept).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"
#include "delivery.h"
#include "log.h"
#include "relayd.h"
#include "svevent.h"
#include "xmalloc.h"

/*
 * Is line a command?  Returns the parsed object (the caller puts it), or
 * NULL: then it is to be read as an event.  Cheap for events: only lines
 * that mention "cmd" are parsed here.
 */
struct json_object *
control_parse(const char *line, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*o, *v;

	if (memmem(line, len, "\"cmd\"", 5) == NULL || len > INT32_MAX)
		return (NULL);
	if ((tok = json_tokener_new_ex(16)) == NULL)
		return (NULL);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "cmd", &v))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return (o);
}

static struct json_object *
control_error(const char *msg)
{
	struct json_object	*o;

	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(0));
	json_object_object_add(o, "error", json_object_new_string(msg));
	json_object_object_add(o, "temporary", json_object_new_boolean(0));
	return (o);
}

/* The status object: a new reference. */
struct json_object *
control_status(void)
{
	struct json_object	*o;
	struct svevent		 t;
	int64_t			 now = svevent_now_ms();

	o = json_object_new_object();
	json_object_object_add(o, "version",
	    json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	json_object_object_add(o, "host",
	    json_object_new_string(env->conf->host));
	memset(&t, 0, sizeof t);
	svevent_set_time(&t, env->start_ms);
	json_object_object_add(o, "started", json_object_new_string(t.time));
	free(t.time);
	json_object_object_add(o, "uptime",
	    json_object_new_int64((now - env->start_ms) / 1000));
	server_status(o);
	if (env->spool != NULL)
		spool_status(env->spool, o);
	if (env->handoff != NULL)
		handoff_status(env->handoff, o);
	delivery_status(o);
	return (o);
}

/*
 * Answer req (borrowed; the caller keeps it until done is called):
 * done(arg, reply) is called exactly once, now or later, and takes reply.
 */
void
control_handle(struct json_object *req, void (*done)(void *,
    struct json_object *), void *arg)
{
	struct json_object	*v, *reply;
	const char		*cmd;
	char			 msg[256];

	if (!json_object_object_get_ex(req, "cmd", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		done(arg, control_error("'cmd' is not a string"));
		return;
	}
	cmd = json_object_get_string(v);
	log_debug("command '%.64s'", cmd);
	if (strcmp(cmd, "status") == 0) {
		reply = json_object_new_object();
		json_object_object_add(reply, "ok",
		    json_object_new_boolean(1));
		json_object_object_add(reply, "status", control_status());
		done(arg, reply);
		return;
	}
	if (delivery_command(cmd, req, done, arg) == -1) {
		snprintf(msg, sizeof msg, "unknown command '%.64s'", cmd);
		done(arg, control_error(msg));
	}
}

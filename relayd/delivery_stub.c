/* A delivery engine that delivers nothing: see delivery.h. */
#include "config.h"

#include <stddef.h>

#include "delivery.h"

int
delivery_init(struct event_base *base, const struct conf *conf)
{
	return (0);
}

void
delivery_event(const struct svevent *ev)
{
}

void
delivery_reconf(const struct conf *conf)
{
}

void
delivery_shutdown(void)
{
}

void
delivery_status(struct json_object *o)
{
}

int
delivery_command(const char *cmd, struct json_object *req,
    void (*done)(void *, struct json_object *), void *arg)
{
	return (-1);
}

char *
delivery_post(struct json_object *message, const char *thread_of)
{
	return (NULL);
}

char *
delivery_update(const char *id, struct json_object *message)
{
	return (NULL);
}

const char *
delivery_ts(const char *id)
{
	return (NULL);
}

/*
 * The Slack sink: an outbox entry holds a Slack message (slack.c renders
 * it from a policy note); here it becomes a webhook post, a
 * chat.postMessage (in a thread if its parent's ts is known) or a
 * chat.update, and Slack's answer becomes a verdict.  Also sink_find.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "delivery_int.h"
#include "sink.h"
#include "xmalloc.h"

static void
sink_slack_request(const struct sink_target *t, const struct outbox_entry *e,
    struct sink_request *rq)
{
	struct json_object	*msg;
	const char		*thread_ts = NULL, *update_ts = NULL;
	const char		*channel, *method = "chat.postMessage";

	channel = t->channel;
	if (t->mode == SLACK_API && e->update_of != NULL &&
	    e->kind == OUTBOX_UPDATE) {
		update_ts = outbox_ts(e->update_of, &channel);
		if (update_ts != NULL)
			method = "chat.update";
		else
			channel = t->channel;
	}
	if (t->mode == SLACK_API && e->thread_of != NULL)
		thread_ts = outbox_ts(e->thread_of, NULL);
	if ((msg = json_tokener_parse(e->message)) == NULL) {
		msg = json_object_new_object();
		json_object_object_add(msg, "text",
		    json_object_new_string(e->text));
	}
	rq->body = slack_body(msg, t->mode, channel, thread_ts, update_ts);
	json_object_put(msg);
	if (t->mode == SLACK_API) {
		xasprintf(&rq->url, "%s%s", t->url, method);
		rq->logname = xstrdup(rq->url);
		rq->bearer = t->token;
	} else {
		rq->url = xstrdup(t->url);
		rq->logname = xstrdup(t->shown);
		rq->bearer = NULL;
	}
}

static void
sink_slack_classify(const struct sink_target *t, const struct http_result *r,
    struct sink_answer *a)
{
	struct slack_answer	sa;

	slack_classify(t->mode, r, &sa);
	memset(a, 0, sizeof *a);
	switch (sa.verdict) {
	case SLACK_OK:
		a->verdict = SINK_OK;
		break;
	case SLACK_RATELIMITED:
		a->verdict = SINK_RATELIMITED;
		break;
	case SLACK_TRANSIENT:
		a->verdict = SINK_TRANSIENT;
		break;
	case SLACK_PERMANENT:
		a->verdict = SINK_PERMANENT;
		break;
	}
	a->unknown = sa.unknown;
	memcpy(a->error, sa.error, sizeof a->error);
	memcpy(a->ts, sa.ts, sizeof a->ts);
	memcpy(a->channel, sa.channel, sizeof a->channel);
}

static char *
sink_slack_key(const struct sink_target *t)
{
	char	*key;

	if (t->mode == SLACK_WEBHOOK)
		xasprintf(&key, "webhook %s", t->url);
	else
		xasprintf(&key, "api %s %s", t->url,
		    t->channel != NULL ? t->channel : "");
	return (key);
}

const struct sink sink_slack = {
	.name = SINK_SLACK_NAME,
	.request = sink_slack_request,
	.classify = sink_slack_classify,
	.key = sink_slack_key,
};

const struct sink *
sink_find(const char *name)
{
	if (name == NULL || strcmp(name, SINK_SLACK_NAME) == 0)
		return (&sink_slack);
	if (strcmp(name, SINK_AM_NAME) == 0)
		return (&sink_alertmanager);
	return (NULL);
}

void
sink_request_clear(struct sink_request *rq)
{
	if (rq->url != NULL)
		explicit_bzero(rq->url, strlen(rq->url));
	free(rq->url);
	free(rq->body);
	free(rq->logname);
	memset(rq, 0, sizeof *rq);
}

/*
 * The delivery engine end to end in one process: delivery.c, http.c
 * (libcurl multi on a libevent base) and the outbox against a small Slack
 * made with libevent's evhttp on the same event_base.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <json-c/json.h>

#include "check_util.h"
#include "conf.h"
#include "delivery.h"
#include "delivery_int.h"
#include "log.h"
#include "svevent.h"
#include "xmalloc.h"

#define MAXREQ	64

/* What the fake answers, in turn; the last answer repeats. */
struct answer {
	int		 status;
	const char	*body;
	const char	*retry_after;
};

static struct {
	struct event_base	*base;
	struct evhttp		*http;
	int			 port;
	char			 dir[64];
	struct conf		*conf;
	const struct answer	*answers;
	int			 nanswers;
	int			 nreq;
	int64_t			 when[MAXREQ];
	char			*path[MAXREQ];
	char			*auth[MAXREQ];
	char			*body[MAXREQ];
	struct json_object	*reply;
	int			 replies;
	const char		*notify;	/* notify = { … } for start */
} t;

static void
fake_cb(struct evhttp_request *req, void *arg)
{
	const struct answer	*a;
	struct evbuffer		*in, *out;
	const char		*auth;
	size_t			 len;
	int			 i = t.nreq;

	if (i < MAXREQ) {
		t.when[i] = pace_now_ms();
		t.path[i] = xstrdup(evhttp_request_get_uri(req));
		auth = evhttp_find_header(evhttp_request_get_input_headers(req),
		    "Authorization");
		t.auth[i] = auth != NULL ? xstrdup(auth) : NULL;
		in = evhttp_request_get_input_buffer(req);
		len = evbuffer_get_length(in);
		t.body[i] = xmalloc(len + 1);
		evbuffer_remove(in, t.body[i], len);
		t.body[i][len] = '\0';
	}
	t.nreq++;
	a = &t.answers[i < t.nanswers ? i : t.nanswers - 1];
	if (a->retry_after != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", a->retry_after);
	out = evbuffer_new();
	evbuffer_add_printf(out, "%s", a->body);
	evhttp_send_reply(req, a->status, "X", out);
	evbuffer_free(out);
}

static void
setup(void)
{
	struct evhttp_bound_socket	*bs;
	struct sockaddr_storage		 ss;
	socklen_t			 sl = sizeof ss;

	memset(&t, 0, sizeof t);
	log_init("check_http", 0, LOG_LEVEL_WARN);
	snprintf(t.dir, sizeof t.dir, "/tmp/check_http.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t.dir));
	t.base = event_base_new();
	t.http = evhttp_new(t.base);
	evhttp_set_gencb(t.http, fake_cb, NULL);
	bs = evhttp_bind_socket_with_handle(t.http, "127.0.0.1", 0);
	ck_assert_ptr_nonnull(bs);
	getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss,
	    &sl);
	t.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void
teardown(void)
{
	char	cmd[128];
	int	i;

	delivery_shutdown();
	for (i = 0; i < t.nreq && i < MAXREQ; i++) {
		free(t.path[i]);
		free(t.auth[i]);
		free(t.body[i]);
	}
	if (t.reply != NULL)
		json_object_put(t.reply);
	conf_free(t.conf);
	evhttp_free(t.http);
	event_base_free(t.base);
	snprintf(cmd, sizeof cmd, "rm -rf %s", t.dir);
	if (system(cmd) != 0)
		abort();
}

/* A config with slack settings (libconfig) and start delivery. */
static void
start(const char *slack, const struct answer *answers, int n)
{
	char	 path[128], *err = NULL;
	FILE	*f;

	t.answers = answers;
	t.nanswers = n;
	snprintf(path, sizeof path, "%s/svrelay.conf", t.dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "spool_dir = \"%s\";\nhost = \"unit-host\";\n"
	    "slack = { %s retry_min_ms = 100; retry_max_ms = 400; "
	    "timeout_ms = 2000; };\nnotify = { %s };\n", t.dir, slack,
	    t.notify != NULL ? t.notify : "");
	fclose(f);
	if (t.conf != NULL)
		conf_free(t.conf);
	t.conf = conf_load(path, &err);
	if (t.conf == NULL)
		ck_abort_msg("conf: %s", err);
	ck_assert_int_eq(delivery_init(t.base, t.conf), 0);
}

static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	int	(*cond)(void) = arg;

	if (cond())
		event_base_loopbreak(t.base);
}

static void
stop_cb(evutil_socket_t fd, short what, void *arg)
{
	event_base_loopbreak(t.base);
}

/* Run the loop until cond() holds or ms pass; returns cond(). */
static int
run_until(int (*cond)(void), int ms)
{
	struct event	*tick, *stop;
	struct timeval	 tv = { 0, 10000 }, end;

	tick = event_new(t.base, -1, EV_PERSIST, tick_cb, cond);
	event_add(tick, &tv);
	end.tv_sec = ms / 1000;
	end.tv_usec = (ms % 1000) * 1000;
	stop = evtimer_new(t.base, stop_cb, NULL);
	evtimer_add(stop, &end);
	event_base_dispatch(t.base);
	event_free(tick);
	event_free(stop);
	return (cond());
}

static struct svevent *
mkev(const char *id, const char *name, const char *payload)
{
	struct svevent	*ev;
	char		 err[128];

	ev = svevent_new();
	ev->id = xstrdup(id);
	ev->host = xstrdup("unit-host");
	ev->server = xstrdup("sv");
	ev->pool = xstrdup("svrelay");
	ev->name = xstrdup(name);
	svevent_set_time(ev, svevent_now_ms());
	ck_assert_int_eq(svevent_set_payload(ev, payload, strlen(payload),
	    err, sizeof err), 0);
	return (ev);
}

static void
feed_id(const char *id, const char *name, const char *payload)
{
	struct svevent	*ev;

	ev = mkev(id, name, payload);
	delivery_event(ev);
	svevent_free(ev);
}

static void
feed(const char *name, const char *payload)
{
	struct svevent	*ev;
	char		 err[128];

	ev = svevent_new();
	ev->id = xstrdup("unit:sv:1:1");
	ev->name = xstrdup(name);
	svevent_set_time(ev, svevent_now_ms());
	ck_assert_int_eq(svevent_set_payload(ev, payload, strlen(payload),
	    err, sizeof err), 0);
	delivery_event(ev);
	svevent_free(ev);
}

static int	want;
static int
got_requests(void)
{
	return (t.nreq >= want);
}

static struct json_object *
status(void)
{
	struct json_object	*o, *d;

	o = json_object_new_object();
	delivery_status(o);
	ck_assert(json_object_object_get_ex(o, "delivery", &d));
	json_object_get(d);
	json_object_put(o);
	return (d);
}

static int64_t
status_int(const char *key)
{
	struct json_object	*s, *v;
	int64_t			 n;

	s = status();
	ck_assert(json_object_object_get_ex(s, key, &v));
	n = json_object_get_int64(v);
	json_object_put(s);
	return (n);
}

static int
sent_is_1(void)
{
	return (status_int("sent") == 1);
}

static char *
slurp(const char *name)
{
	char	 path[160], *buf;
	FILE	*f;
	long	 n;

	snprintf(path, sizeof path, "%s/%s", t.dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return (xstrdup(""));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = xmalloc(n + 1);
	ck_assert_int_eq(fread(buf, 1, n, f), n);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

START_TEST(test_http_webhook_delivers)
{
	static const struct answer	ok[] = { { 200, "ok", NULL } };
	char				cfg[256], *s;

	snprintf(cfg, sizeof cfg, "webhook_url = \"http://127.0.0.1:%d/"
	    "services/T000/B000/SECRETPART\";", t.port);
	start(cfg, ok, 1);
	feed("PROCESS_STATE_FATAL", "processname:p groupname:g "
	    "from_state:BACKOFF");
	ck_assert(run_until(sent_is_1, 5000));
	ck_assert_int_eq(t.nreq, 1);
	ck_assert_str_eq(t.path[0], "/services/T000/B000/SECRETPART");
	ck_assert_ptr_null(t.auth[0]);
	ck_assert_ptr_nonnull(strstr(t.body[0], "g:p FATAL on unit-host"));
	ck_assert_ptr_null(strstr(t.body[0], "\"channel\""));
	s = slurp(OUTBOX_FILE);
	ck_assert_ptr_nonnull(strstr(s, "\"state\":\"queued\""));
	ck_assert_ptr_nonnull(strstr(s, "\"state\":\"sent\""));
	ck_assert_ptr_null(strstr(s, "SECRETPART"));
	free(s);
	/* Not notified: a RUNNING. */
	feed("PROCESS_STATE_RUNNING", "processname:p groupname:g "
	    "from_state:STARTING pid:1");
	run_until(sent_is_1, 100);
	ck_assert_int_eq(t.nreq, 1);
}
END_TEST

START_TEST(test_http_api_retry_after)
{
	static const struct answer	a[] = {
		{ 429, "{\"ok\":false,\"error\":\"ratelimited\"}", "1" },
		{ 200, "{\"ok\":true,\"channel\":\"C1\",\"ts\":\"11.22\"}",
		    NULL },
	};
	char				cfg[256];

	snprintf(cfg, sizeof cfg, "token = \"xoxb-unit-secret\"; channel = "
	    "\"#ops\"; api_url = \"http://127.0.0.1:%d/api/\";", t.port);
	start(cfg, a, 2);
	feed("PROCESS_STATE_FATAL", "processname:p groupname:g "
	    "from_state:BACKOFF");
	ck_assert(run_until(sent_is_1, 5000));
	ck_assert_int_eq(t.nreq, 2);
	ck_assert_str_eq(t.path[0], "/api/chat.postMessage");
	ck_assert_str_eq(t.auth[0], "Bearer xoxb-unit-secret");
	ck_assert_ptr_nonnull(strstr(t.body[0], "\"channel\":\"#ops\""));
	ck_assert_int_ge(t.when[1] - t.when[0], 1000);
	ck_assert_int_eq(status_int("retries"), 1);
}
END_TEST

static int
dead_is_1(void)
{
	return (status_int("dead_letters") == 1);
}

START_TEST(test_http_api_invalid_auth_dead)
{
	static const struct answer	a[] = {
		{ 200, "{\"ok\":false,\"error\":\"invalid_auth\"}", NULL },
	};
	struct json_object		*s, *v;
	char				cfg[256], *f;

	snprintf(cfg, sizeof cfg, "token = \"xoxb-unit-secret\"; channel = "
	    "\"#ops\"; api_url = \"http://127.0.0.1:%d/api/\";", t.port);
	start(cfg, a, 1);
	feed("PROCESS_STATE_FATAL", "processname:p groupname:g "
	    "from_state:BACKOFF");
	ck_assert(run_until(dead_is_1, 5000));
	run_until(dead_is_1, 500);
	ck_assert_int_eq(t.nreq, 1);
	s = status();
	ck_assert(json_object_object_get_ex(s, "last_error", &v));
	ck_assert_str_eq(json_object_get_string(v), "invalid_auth");
	ck_assert_ptr_null(strstr(json_object_to_json_string(s), "xoxb"));
	json_object_put(s);
	f = slurp(OUTBOX_DEAD_FILE);
	ck_assert_ptr_nonnull(strstr(f, "invalid_auth"));
	ck_assert_ptr_null(strstr(f, "xoxb"));
	free(f);
	f = slurp(OUTBOX_FILE);
	ck_assert_ptr_nonnull(strstr(f, "\"state\":\"failed\""));
	ck_assert_ptr_null(strstr(f, "xoxb"));
	free(f);
}
END_TEST

static void
reply_cb(void *arg, struct json_object *o)
{
	t.reply = o;
	t.replies++;
}

static int
replied(void)
{
	return (t.replies > 0);
}

START_TEST(test_http_test_command_and_retry_dead)
{
	static const struct answer	a[] = {
		{ 404, "no_service", NULL },
		{ 404, "no_service", NULL },
		{ 200, "ok", NULL },
	};
	struct json_object		*v;
	char				cfg[256];

	snprintf(cfg, sizeof cfg, "webhook_url = \"http://127.0.0.1:%d/"
	    "services/T000/B000/SECRETPART\";", t.port);
	start(cfg, a, 3);
	ck_assert_int_eq(delivery_command("nope", NULL, reply_cb, NULL), -1);
	ck_assert_int_eq(delivery_command("test", NULL, reply_cb, NULL), 0);
	ck_assert(run_until(replied, 5000));
	ck_assert(json_object_object_get_ex(t.reply, "http_status", &v));
	ck_assert_int_eq(json_object_get_int(v), 404);
	ck_assert(json_object_object_get_ex(t.reply, "body", &v));
	ck_assert_str_eq(json_object_get_string(v), "no_service");
	ck_assert(json_object_object_get_ex(t.reply, "result", &v));
	ck_assert_str_eq(json_object_get_string(v), "dead");
	ck_assert(json_object_object_get_ex(t.reply, "slack_error", &v));
	ck_assert_str_eq(json_object_get_string(v), "no_service, http 404");
	ck_assert(json_object_object_get_ex(t.reply, "error", &v));
	ck_assert_ptr_nonnull(strstr(json_object_get_string(v),
	    "Slack answered HTTP 404: no_service"));
	ck_assert_ptr_null(strstr(json_object_to_json_string(t.reply),
	    "SECRETPART"));
	json_object_put(t.reply);
	t.reply = NULL;
	t.replies = 0;

	/* A second dead letter, then both listed and re-sent. */
	feed("PROCESS_STATE_FATAL", "processname:p groupname:g "
	    "from_state:BACKOFF");
	want = 2;
	ck_assert(run_until(got_requests, 5000));
	run_until(got_requests, 200);
	ck_assert_int_eq(delivery_command("dead", NULL, reply_cb, NULL), 0);
	ck_assert_int_eq(t.replies, 1);
	ck_assert(json_object_object_get_ex(t.reply, "count", &v));
	ck_assert_int_eq(json_object_get_int(v), 2);
	json_object_put(t.reply);
	t.reply = NULL;
	ck_assert_int_eq(delivery_command("retry-dead", NULL, reply_cb, NULL),
	    0);
	ck_assert(json_object_object_get_ex(t.reply, "requeued", &v));
	ck_assert_int_eq(json_object_get_int(v), 2);
	ck_assert_int_eq(status_int("dead_letters"), 0);
	want = 4;
	if (!run_until(got_requests, 10000))
		ck_abort_msg("%d requests", t.nreq);
	run_until(got_requests, 200);
	ck_assert_int_eq(status_int("sent"), 2);
}
END_TEST

START_TEST(test_http_restart_resends_queued)
{
	static const struct answer	a[] = { { 200, "ok", NULL } };
	char				cfg[256], path[160];
	FILE				*f;

	/* Left queued by a svrelayd that died. */
	snprintf(path, sizeof path, "%s/%s", t.dir, OUTBOX_FILE);
	f = fopen(path, "w");
	fprintf(f, "{\"state\":\"queued\",\"id\":\"old-1\",\"text\":\"left "
	    "over\",\"message\":{\"text\":\"left over\"}}\n"
	    "{\"state\":\"queued\",\"id\":\"old-2\",\"text\":\"done\"}\n"
	    "{\"state\":\"sent\",\"id\":\"old-2\",\"text\":\"done\"}\n");
	fclose(f);
	snprintf(cfg, sizeof cfg, "webhook_url = \"http://127.0.0.1:%d/"
	    "services/T000/B000/SECRETPART\";", t.port);
	start(cfg, a, 1);
	ck_assert(run_until(sent_is_1, 5000));
	run_until(sent_is_1, 200);
	ck_assert_int_eq(t.nreq, 1);
	ck_assert_ptr_nonnull(strstr(t.body[0], "left over"));
}
END_TEST

static int
sent_is_2(void)
{
	return (t.nreq >= 2);
}

#define FAST_NOTIFY	"settle_ms = 200; group_window_ms = 0; " \
			"group_max_ms = 0;"
#define WEBHOOK_CONF	"webhook_url = \"http://127.0.0.1:%d/services/T/B/X\";"

/* A restart keeps the policy: no FATAL twice, and the recovery comes. */
START_TEST(test_http_policy_survives_restart)
{
	static const struct answer	ok[] = { { 200, "ok", NULL } };
	char				cfg[256], *f;

	t.notify = FAST_NOTIFY;
	snprintf(cfg, sizeof cfg, WEBHOOK_CONF, t.port);
	start(cfg, ok, 1);
	feed_id("u:1", "PROCESS_STATE_FATAL", "processname:p groupname:g "
	    "from_state:BACKOFF");
	ck_assert(run_until(sent_is_1, 5000));
	delivery_shutdown();
	f = slurp(DELIVERY_POLICY_FILE);
	ck_assert_ptr_nonnull(strstr(f, "\"last_event\":\"u:1\""));
	free(f);

	start(cfg, ok, 1);
	run_until(sent_is_2, 500);
	ck_assert_int_eq(t.nreq, 1);		/* not told twice */
	feed_id("u:2", "PROCESS_STATE_STARTING", "processname:p groupname:g "
	    "from_state:FATAL tries:0");
	feed_id("u:3", "PROCESS_STATE_RUNNING", "processname:p groupname:g "
	    "from_state:STARTING pid:9");
	ck_assert(run_until(sent_is_2, 5000));
	ck_assert_ptr_nonnull(strstr(t.body[1], "g:p RUNNING on unit-host — "
	    "recovered"));
	/* A webhook cannot thread: the reply is a plain message. */
	ck_assert_ptr_null(strstr(t.body[1], "thread_ts"));
}
END_TEST

/* Events stored after the last one the saved policy saw are fed again. */
START_TEST(test_http_policy_replays_the_spool)
{
	static const struct answer	ok[] = { { 200, "ok", NULL } };
	struct svevent			*ev[3];
	char				 cfg[256], path[160], *line;
	size_t				 len;
	FILE				*f;
	int				 i;

	t.notify = FAST_NOTIFY;
	snprintf(cfg, sizeof cfg, WEBHOOK_CONF, t.port);
	start(cfg, ok, 1);
	ev[0] = mkev("u:1", "PROCESS_STATE_STARTING", "processname:p "
	    "groupname:g from_state:STOPPED tries:0");
	ev[1] = mkev("u:2", "PROCESS_STATE_BACKOFF", "processname:p "
	    "groupname:g from_state:STARTING tries:1");
	ev[2] = mkev("u:3", "PROCESS_STATE_FATAL", "processname:p "
	    "groupname:g from_state:BACKOFF");
	delivery_event(ev[0]);
	delivery_shutdown();		/* saved: it has seen u:1 */
	/* The spool has all three: svrelayd died before feeding the rest. */
	snprintf(path, sizeof path, "%s/%s", t.dir, DELIVERY_EVENTS_FILE);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	for (i = 0; i < 3; i++) {
		line = svevent_to_line(ev[i], &len);
		fwrite(line, 1, len, f);
		free(line);
		svevent_free(ev[i]);
	}
	fclose(f);
	start(cfg, ok, 1);
	ck_assert(run_until(sent_is_1, 5000));
	ck_assert_ptr_nonnull(strstr(t.body[0], "g:p FATAL on unit-host"));
	/* The story has the transition fed before the restart, once. */
	ck_assert_ptr_nonnull(strstr(t.body[0], "STARTING → BACKOFF → FATAL"));
	run_until(sent_is_2, 500);
	ck_assert_int_eq(t.nreq, 1);
}
END_TEST

/* A policy.json that cannot be read is moved aside; the policy starts. */
START_TEST(test_http_policy_bad_file)
{
	static const struct answer	ok[] = { { 200, "ok", NULL } };
	char				cfg[256], path[160], *s;
	FILE				*f;
	struct stat			 sb;

	snprintf(path, sizeof path, "%s/%s", t.dir, DELIVERY_POLICY_FILE);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "{\"version\":1,\"since\":\"x\","
	    "\"policy\":{\"version\":7}}");
	fclose(f);
	snprintf(cfg, sizeof cfg, WEBHOOK_CONF, t.port);
	start(cfg, ok, 1);
	snprintf(path, sizeof path, "%s/%s", t.dir, DELIVERY_POLICY_BAD);
	ck_assert_int_eq(stat(path, &sb), 0);
	s = slurp(DELIVERY_POLICY_FILE);
	ck_assert_ptr_nonnull(strstr(s, "\"version\":1"));
	ck_assert_ptr_null(strstr(s, "\"version\":7"));
	free(s);
	feed("PROCESS_STATE_FATAL", "processname:p groupname:g "
	    "from_state:BACKOFF");
	ck_assert(run_until(sent_is_1, 5000));
}
END_TEST

/* Routes: webhook:N goes to that rule's webhook, the rest to the default. */
START_TEST(test_http_policy_routes)
{
	static const struct answer	ok[] = { { 200, "ok", NULL } };
	char				cfg[256], notify[512];
	int				i, api = -1, other = -1;

	snprintf(notify, sizeof notify, FAST_NOTIFY " routes = ( { match = "
	    "\"api:*\"; webhook_url = \"http://127.0.0.1:%d/services/T/B/API"
	    "\"; } );", t.port);
	t.notify = notify;
	snprintf(cfg, sizeof cfg, WEBHOOK_CONF, t.port);
	start(cfg, ok, 1);
	feed_id("u:1", "PROCESS_STATE_FATAL", "processname:a groupname:api "
	    "from_state:BACKOFF");
	feed_id("u:2", "PROCESS_STATE_FATAL", "processname:w groupname:jobs "
	    "from_state:BACKOFF");
	ck_assert(run_until(sent_is_2, 5000));
	for (i = 0; i < 2; i++) {
		if (strstr(t.body[i], "api:a FATAL") != NULL)
			api = i;
		if (strstr(t.body[i], "jobs:w FATAL") != NULL)
			other = i;
	}
	ck_assert_int_ge(api, 0);
	ck_assert_int_ge(other, 0);
	ck_assert_str_eq(t.path[api], "/services/T/B/API");
	ck_assert_str_eq(t.path[other], "/services/T/B/X");
}
END_TEST

static Suite *
http_suite(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc = tcase_create("delivery");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_http_webhook_delivers);
	tcase_add_test(tc, test_http_api_retry_after);
	tcase_add_test(tc, test_http_api_invalid_auth_dead);
	tcase_add_test(tc, test_http_test_command_and_retry_dead);
	tcase_add_test(tc, test_http_restart_resends_queued);
	tcase_add_test(tc, test_http_policy_survives_restart);
	tcase_add_test(tc, test_http_policy_replays_the_spool);
	tcase_add_test(tc, test_http_policy_bad_file);
	tcase_add_test(tc, test_http_policy_routes);
	suite_add_tcase(s, tc);
	return (s);
}

CHECK_MAIN(http_suite)

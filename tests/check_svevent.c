/*
 * The event model: supervisord's header and payload into a struct, the
 * struct into the JSON line of events.jsonl and back, and every way a JSON
 * line can be refused, with its reason.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check_util.h"
#include "svevent.h"

/* An event as the listener builds it from a header and its payload. */
static struct svevent *
from_wire(const char *name, const char *payload, size_t len)
{
	struct svevent	*ev;
	char		 err[256];

	ev = svevent_new();
	ev->id = strdup("web-1:supervisor:42:7");
	ev->host = strdup("web-1");
	ev->server = strdup("supervisor");
	ev->pool = strdup("svrelay");
	ev->serial = 42;
	ev->poolserial = 7;
	ev->name = strdup(name);
	svevent_set_time(ev, 1795504764123LL);
	err[0] = '\0';
	if (svevent_set_payload(ev, payload, len, err, sizeof err) != 0)
		ck_abort_msg("%s payload refused: %s", name, err);
	return (ev);
}

/* Struct → JSON line → struct: every field identical, line stable. */
static void
assert_roundtrip(const struct svevent *ev)
{
	struct svevent	*back;
	char		*line, *line2, err[256];
	size_t		 len, len2, i;

	line = svevent_to_line(ev, &len);
	ck_assert_uint_eq(len, strlen(line));
	ck_assert_int_eq(line[len - 1], '\n');
	ck_assert_ptr_null(memchr(line, '\n', len - 1));
	err[0] = '\0';
	back = svevent_from_json(line, len, err, sizeof err);
	if (back == NULL)
		ck_abort_msg("own line refused (%s): %s", err, line);
	ck_assert_str_eq(back->id, ev->id);
	ck_assert_str_eq(back->host, ev->host);
	ck_assert_str_eq(back->server, ev->server);
	ck_assert_str_eq(back->pool, ev->pool);
	ck_assert_int_eq(back->serial, ev->serial);
	ck_assert_int_eq(back->poolserial, ev->poolserial);
	ck_assert_str_eq(back->name, ev->name);
	ck_assert_str_eq(back->time, ev->time);
	ck_assert_uint_eq(back->ntokens, ev->ntokens);
	for (i = 0; i < ev->ntokens; i++) {
		ck_assert_str_eq(back->tokens[i].key, ev->tokens[i].key);
		ck_assert_str_eq(back->tokens[i].value, ev->tokens[i].value);
	}
	if (ev->data == NULL)
		ck_assert_ptr_null(back->data);
	else {
		ck_assert_ptr_nonnull(back->data);
		ck_assert_uint_eq(back->datalen, ev->datalen);
		ck_assert_int_eq(memcmp(back->data, ev->data, ev->datalen), 0);
		ck_assert_int_eq(back->data[back->datalen], '\0');
	}
	line2 = svevent_to_line(back, &len2);
	ck_assert_uint_eq(len2, len);
	ck_assert_int_eq(memcmp(line, line2, len), 0);
	free(line);
	free(line2);
	svevent_free(back);
}

static void
assert_token(const struct svevent *ev, const char *key, const char *value)
{
	const char	*v;

	v = svevent_token(ev, key);
	if (v == NULL)
		ck_abort_msg("%s: no token '%s'", ev->name, key);
	ck_assert_str_eq(v, value);
}

/* Every event type of supervisord 4, as it sends them. */
static const struct {
	const char	*name;
	const char	*payload;
	size_t		 ntokens;
	const char	*data;		/* NULL: none */
} wire_events[] = {
	{ "PROCESS_STATE_STARTING", "processname:api_00 groupname:api "
	    "from_state:BACKOFF tries:2", 4, NULL },
	{ "PROCESS_STATE_BACKOFF", "processname:api_00 groupname:api "
	    "from_state:STARTING tries:3", 4, NULL },
	{ "PROCESS_STATE_RUNNING", "processname:api_00 groupname:api "
	    "from_state:STARTING pid:4242", 4, NULL },
	{ "PROCESS_STATE_STOPPING", "processname:api_00 groupname:api "
	    "from_state:RUNNING pid:4242", 4, NULL },
	{ "PROCESS_STATE_STOPPED", "processname:api_00 groupname:api "
	    "from_state:STOPPING pid:4242", 4, NULL },
	{ "PROCESS_STATE_EXITED", "processname:api_00 groupname:api "
	    "from_state:RUNNING expected:0 pid:4242", 5, NULL },
	{ "PROCESS_STATE_FATAL", "processname:api_00 groupname:api "
	    "from_state:BACKOFF", 3, NULL },
	{ "PROCESS_STATE_UNKNOWN", "processname:api_00 groupname:api "
	    "from_state:RUNNING", 3, NULL },
	{ "PROCESS_LOG_STDOUT", "processname:api_00 groupname:api pid:4242 "
	    "channel:stdout\nlistening on :8080\n", 4,
	    "listening on :8080\n" },
	{ "PROCESS_LOG_STDERR", "processname:api_00 groupname:api pid:4242 "
	    "channel:stderr\nTraceback (most recent call last):\n  File",
	    4, "Traceback (most recent call last):\n  File" },
	{ "PROCESS_COMMUNICATION_STDOUT", "processname:api_00 groupname:api "
	    "pid:4242\n<!--XSUPERVISOR:BEGIN-->hi<!--XSUPERVISOR:END-->", 3,
	    "<!--XSUPERVISOR:BEGIN-->hi<!--XSUPERVISOR:END-->" },
	{ "PROCESS_COMMUNICATION_STDERR", "processname:api_00 groupname:api "
	    "pid:4242\nbye", 3, "bye" },
	{ "REMOTE_COMMUNICATION", "type:deploy\nrelease 1.2.3", 1,
	    "release 1.2.3" },
	{ "SUPERVISOR_STATE_CHANGE_RUNNING", "", 0, NULL },
	{ "SUPERVISOR_STATE_CHANGE_STOPPING", "", 0, NULL },
	{ "TICK_5", "when:1795504765", 1, NULL },
	{ "TICK_60", "when:1795504800", 1, NULL },
	{ "TICK_3600", "when:1795507200", 1, NULL },
	{ "PROCESS_GROUP_ADDED", "groupname:api\n", 1, NULL },
	{ "PROCESS_GROUP_REMOVED", "groupname:api\n", 1, NULL },
};

START_TEST(test_svevent_every_type_roundtrips)
{
	struct svevent	*ev;
	size_t		 i;

	for (i = 0; i < sizeof wire_events / sizeof wire_events[0]; i++) {
		ev = from_wire(wire_events[i].name, wire_events[i].payload,
		    strlen(wire_events[i].payload));
		ck_assert_uint_eq(ev->ntokens, wire_events[i].ntokens);
		ck_assert_int_eq(svevent_has_data(ev->name),
		    wire_events[i].data != NULL);
		if (wire_events[i].data == NULL)
			ck_assert_ptr_null(ev->data);
		else {
			ck_assert_ptr_nonnull(ev->data);
			ck_assert_str_eq(ev->data, wire_events[i].data);
			ck_assert_uint_eq(ev->datalen,
			    strlen(wire_events[i].data));
		}
		assert_roundtrip(ev);
		svevent_free(ev);
	}
}
END_TEST

START_TEST(test_svevent_tokens_parsed)
{
	struct svevent	*ev;
	const char	*p = "processname:api_00 groupname:api "
	    "from_state:RUNNING expected:1 pid:4242";

	ev = from_wire("PROCESS_STATE_EXITED", p, strlen(p));
	assert_token(ev, "processname", "api_00");
	assert_token(ev, "groupname", "api");
	assert_token(ev, "from_state", "RUNNING");
	assert_token(ev, "expected", "1");
	assert_token(ev, "pid", "4242");
	ck_assert_ptr_null(svevent_token(ev, "tries"));
	/* Payload tokens in supervisord's order. */
	ck_assert_str_eq(ev->tokens[0].key, "processname");
	ck_assert_str_eq(ev->tokens[4].key, "pid");
	svevent_free(ev);

	/* Token order is not promised; a value may hold ':'. */
	p = "when:12:30 ";
	ev = from_wire("TICK_5", p, strlen(p));
	assert_token(ev, "when", "12:30");
	svevent_free(ev);
}
END_TEST

START_TEST(test_svevent_json_form)
{
	struct svevent		*ev;
	struct json_object	*o, *v, *pl;
	const char		*p = "processname:api_00 groupname:api "
	    "from_state:BACKOFF";

	ev = from_wire("PROCESS_STATE_FATAL", p, strlen(p));
	ck_assert_str_eq(ev->time, "2026-11-24T07:19:24.123Z");
	o = svevent_to_json(ev);
	ck_assert_int_eq(json_object_object_length(o), 9);
	ck_assert_int_eq(json_object_object_get_ex(o, "serial", &v), 1);
	ck_assert_int_eq(json_object_get_type(v), json_type_int);
	ck_assert_int_eq(json_object_get_int64(v), 42);
	ck_assert_int_eq(json_object_object_get_ex(o, "event", &v), 1);
	ck_assert_str_eq(json_object_get_string(v), "PROCESS_STATE_FATAL");
	ck_assert_int_eq(json_object_object_get_ex(o, "payload", &pl), 1);
	ck_assert_int_eq(json_object_object_get_ex(pl, "from_state", &v), 1);
	ck_assert_str_eq(json_object_get_string(v), "BACKOFF");
	ck_assert_int_eq(json_object_object_get_ex(o, "data", &v), 0);
	json_object_put(o);
	svevent_free(ev);
}
END_TEST

START_TEST(test_svevent_set_time)
{
	struct svevent	*ev = svevent_new();

	svevent_set_time(ev, 0);
	ck_assert_str_eq(ev->time, "1970-01-01T00:00:00.000Z");
	svevent_set_time(ev, 1795504764005LL);
	ck_assert_str_eq(ev->time, "2026-11-24T07:19:24.005Z");
	/* Before the epoch: still a well-formed time. */
	svevent_set_time(ev, -1);
	ck_assert_str_eq(ev->time, "1969-12-31T23:59:59.999Z");
	svevent_free(ev);
}
END_TEST

static void
check_log_data(const char *data, size_t datalen)
{
	struct svevent	*ev;
	char		 payload[512];
	const char	*head = "processname:api_00 groupname:api pid:1 "
	    "channel:stdout\n";
	size_t		 hl = strlen(head);

	ck_assert_uint_lt(hl + datalen, sizeof payload);
	memcpy(payload, head, hl);
	memcpy(payload + hl, data, datalen);
	ev = from_wire("PROCESS_LOG_STDOUT", payload, hl + datalen);
	ck_assert_ptr_nonnull(ev->data);
	ck_assert_uint_eq(ev->datalen, datalen);
	ck_assert_int_eq(memcmp(ev->data, data, datalen), 0);
	assert_roundtrip(ev);
	svevent_free(ev);
}

START_TEST(test_svevent_log_utf8)
{
	/* ü ï ö é, a check mark, an emoji (4 bytes). */
	check_log_data("\xc3\xbcn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 \xe2\x9c\x97 "
	    "\xf0\x9f\x92\xa5", 20);
	/* What supervisord sends for output it could not decode. */
	check_log_data("Undecodable: b'\\xff\\xfe'", 24);
}
END_TEST

START_TEST(test_svevent_log_newlines)
{
	check_log_data("line one\nline two\r\n\nline four\n", 31);
	check_log_data("\n", 1);
	check_log_data("partial li", 10);
	check_log_data("tab\there \"quoted\" \\ back/slash", 30);
}
END_TEST

START_TEST(test_svevent_log_empty_data)
{
	struct svevent	*ev;
	const char	*p = "processname:api_00 groupname:api pid:1 "
	    "channel:stdout\n";

	ev = from_wire("PROCESS_LOG_STDOUT", p, strlen(p));
	ck_assert_ptr_nonnull(ev->data);
	ck_assert_uint_eq(ev->datalen, 0);
	ck_assert_str_eq(ev->data, "");
	assert_roundtrip(ev);
	svevent_free(ev);
}
END_TEST

START_TEST(test_svevent_log_nul_in_data)
{
	check_log_data("before\0after", 12);
	check_log_data("\0", 1);
}
END_TEST

/* Data that is not UTF-8 must still be storable and readable back. */
START_TEST(test_svevent_log_invalid_utf8_replaced)
{
	struct svevent	*ev;
	char		 payload[256];
	const char	*head = "processname:a groupname:a pid:1 "
	    "channel:stdout\n";
	const char	*bad = "ok \xff x \xc3 y \xe2\x9c z \xed\xa0\x80 "
	    "\xc0\xaf end";
	size_t		 hl = strlen(head);

	memcpy(payload, head, hl);
	memcpy(payload + hl, bad, strlen(bad));
	ev = from_wire("PROCESS_LOG_STDOUT", payload, hl + strlen(bad));
	/* Each bad byte or cut-off sequence becomes U+FFFD. */
	ck_assert_str_eq(ev->data, "ok \xef\xbf\xbd x \xef\xbf\xbd y "
	    "\xef\xbf\xbd z \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
	    "\xef\xbf\xbd\xef\xbf\xbd end");
	ck_assert_uint_eq(ev->datalen, strlen(ev->data));
	assert_roundtrip(ev);
	svevent_free(ev);
}
END_TEST

START_TEST(test_svevent_len0_payloads)
{
	struct svevent	*ev;

	ev = from_wire("SUPERVISOR_STATE_CHANGE_RUNNING", "", 0);
	ck_assert_uint_eq(ev->ntokens, 0);
	ck_assert_ptr_null(ev->data);
	assert_roundtrip(ev);
	svevent_free(ev);
	/* No bytes at all: payload may be any pointer. */
	ev = from_wire("SUPERVISOR_STATE_CHANGE_STOPPING", "x", 0);
	ck_assert_uint_eq(ev->ntokens, 0);
	ck_assert_ptr_null(ev->data);
	assert_roundtrip(ev);
	svevent_free(ev);
}
END_TEST

START_TEST(test_svevent_group_added_newline)
{
	struct svevent	*ev;

	ev = from_wire("PROCESS_GROUP_ADDED", "groupname:api\n", 14);
	ck_assert_uint_eq(ev->ntokens, 1);
	assert_token(ev, "groupname", "api");
	ck_assert_ptr_null(ev->data);
	assert_roundtrip(ev);
	svevent_free(ev);
	/* The same without the newline. */
	ev = from_wire("PROCESS_GROUP_REMOVED", "groupname:api", 13);
	assert_token(ev, "groupname", "api");
	ck_assert_ptr_null(ev->data);
	svevent_free(ev);
}
END_TEST

START_TEST(test_svevent_unknown_event)
{
	struct svevent	*ev;

	ck_assert_int_eq(svevent_has_data("PROCESS_STATE_NEW_IN_V5"), 0);
	ev = from_wire("PROCESS_STATE_NEW_IN_V5", "processname:x foo:bar", 21);
	ck_assert_uint_eq(ev->ntokens, 2);
	ck_assert_ptr_null(ev->data);
	assert_roundtrip(ev);
	svevent_free(ev);
	/* An unknown type with a body keeps it. */
	ev = from_wire("MY_PLUGIN_EVENT", "k:v\nsome body", 13);
	ck_assert_str_eq(ev->data, "some body");
	assert_roundtrip(ev);
	svevent_free(ev);
	ev = from_wire("X", "", 0);
	ck_assert_uint_eq(ev->ntokens, 0);
	assert_roundtrip(ev);
	svevent_free(ev);
}
END_TEST

START_TEST(test_svevent_valid_name)
{
	char	long_name[200];

	ck_assert_int_eq(svevent_valid_name("PROCESS_STATE_FATAL"), 1);
	ck_assert_int_eq(svevent_valid_name("TICK_3600"), 1);
	ck_assert_int_eq(svevent_valid_name("X"), 1);
	ck_assert_int_eq(svevent_valid_name(""), 0);
	ck_assert_int_eq(svevent_valid_name("process_state"), 0);
	ck_assert_int_eq(svevent_valid_name("_X"), 0);
	ck_assert_int_eq(svevent_valid_name("9X"), 0);
	ck_assert_int_eq(svevent_valid_name("A B"), 0);
	ck_assert_int_eq(svevent_valid_name("A-B"), 0);
	memset(long_name, 'A', 128);
	long_name[128] = '\0';
	ck_assert_int_eq(svevent_valid_name(long_name), 1);
	memset(long_name, 'A', 129);
	long_name[129] = '\0';
	ck_assert_int_eq(svevent_valid_name(long_name), 0);
}
END_TEST

/* svevent_set_payload refusals, and the reason given. */
static void
assert_payload_refused(const char *name, const char *payload, size_t len,
    const char *reason)
{
	struct svevent	*ev = svevent_new();
	char		 err[256];

	ev->name = strdup(name);
	err[0] = '\0';
	ck_assert_int_eq(svevent_set_payload(ev, payload, len, err,
	    sizeof err), -1);
	ck_assert_str_eq(err, reason);
	ck_assert_uint_eq(ev->ntokens, 0);
	ck_assert_ptr_null(ev->tokens);
	ck_assert_ptr_null(ev->data);
	svevent_free(ev);
}

START_TEST(test_svevent_payload_refusals)
{
	assert_payload_refused("PROCESS_STATE_RUNNING",
	    "processname:a groupname:a from_state:STARTING", 45,
	    "PROCESS_STATE_RUNNING payload lacks token 'pid'");
	assert_payload_refused("PROCESS_STATE_EXITED",
	    "processname:a groupname:a from_state:RUNNING pid:1", 50,
	    "PROCESS_STATE_EXITED payload lacks token 'expected'");
	assert_payload_refused("TICK_60", "", 0,
	    "TICK_60 payload lacks token 'when'");
	assert_payload_refused("PROCESS_GROUP_ADDED", "\n", 1,
	    "PROCESS_GROUP_ADDED payload lacks token 'groupname'");
	assert_payload_refused("PROCESS_LOG_STDOUT",
	    "processname:a groupname:a pid:1 channel:stdout", 46,
	    "PROCESS_LOG_STDOUT payload has no newline before its data");
	assert_payload_refused("PROCESS_STATE_FATAL",
	    "processname:a groupname:a from_state:BACKOFF\nextra", 50,
	    "PROCESS_STATE_FATAL payload has unexpected text after its token "
	    "line");
	assert_payload_refused("TICK_5", "when", 4,
	    "payload token 'when' is not key:value");
	assert_payload_refused("TICK_5", ":5", 2,
	    "payload token ':5' is not key:value");
	assert_payload_refused("TICK_5", "when:1\r\n", 8,
	    "payload token 'when' has control characters or is too long");
	assert_payload_refused("TICK_5", "when:\xff", 6,
	    "payload token 'when' is not valid UTF-8");
}
END_TEST

START_TEST(test_svevent_payload_too_many_tokens)
{
	char	 payload[2048];
	size_t	 len = 0;
	int	 i;

	for (i = 0; i < 65; i++)
		len += snprintf(payload + len, sizeof payload - len, "k%d:v ",
		    i);
	assert_payload_refused("X", payload, len,
	    "payload has more than 64 tokens");
}
END_TEST

/* A valid line with one part replaced: see refuse(). */
#define LINE_HEAD	"{\"id\":\"i\",\"host\":\"h\",\"server\":\"s\"," \
	"\"pool\":\"p\",\"serial\":1,\"poolserial\":2,"
#define LINE_FATAL	"\"event\":\"PROCESS_STATE_FATAL\"," \
	"\"time\":\"2026-11-24T07:19:24.123Z\",\"payload\":{\"processname\":" \
	"\"a\",\"groupname\":\"g\",\"from_state\":\"BACKOFF\"}"

static void
refuse_len(const char *line, size_t len, const char *reason)
{
	struct svevent	*ev;
	char		 err[256];

	err[0] = '\0';
	ev = svevent_from_json(line, len, err, sizeof err);
	if (ev != NULL)
		ck_abort_msg("accepted: %.*s", (int)len, line);
	ck_assert_str_eq(err, reason);
}

static void
refuse(const char *line, const char *reason)
{
	refuse_len(line, strlen(line), reason);
}

START_TEST(test_svevent_from_json_accepts)
{
	struct svevent	*ev;
	char		 err[256];
	const char	*l = LINE_HEAD LINE_FATAL "}\n";

	ev = svevent_from_json(l, strlen(l), err, sizeof err);
	ck_assert_ptr_nonnull(ev);
	ck_assert_str_eq(ev->id, "i");
	ck_assert_int_eq(ev->serial, 1);
	ck_assert_int_eq(ev->poolserial, 2);
	assert_token(ev, "from_state", "BACKOFF");
	svevent_free(ev);
	/* Without the newline, with CRLF, with white space around. */
	l = " " LINE_HEAD LINE_FATAL "} \t\r\n";
	ev = svevent_from_json(l, strlen(l), err, sizeof err);
	ck_assert_ptr_nonnull(ev);
	svevent_free(ev);
	/* A time without the fraction; a context object. */
	l = LINE_HEAD "\"event\":\"TICK_5\",\"time\":\"2026-11-24T07:19:24Z\","
	    "\"payload\":{\"when\":\"1\"},\"context\":{\"a\":[1,2]}}";
	ev = svevent_from_json(l, strlen(l), err, sizeof err);
	ck_assert_ptr_nonnull(ev);
	ck_assert_ptr_nonnull(ev->context);
	assert_roundtrip(ev);
	svevent_free(ev);
}
END_TEST

START_TEST(test_svevent_refuses_bad_json)
{
	refuse("", "empty line");
	refuse("\n", "empty line");
	refuse("hello", "invalid JSON at byte 0: unexpected character");
	refuse("{\"id\":", "invalid JSON: unexpected end of line");
	refuse(LINE_HEAD LINE_FATAL, "invalid JSON: unexpected end of line");
	/* The object is 204 bytes long: the garbage after it is named. */
	ck_assert_uint_eq(strlen(LINE_HEAD LINE_FATAL "}"), 204);
	refuse(LINE_HEAD LINE_FATAL "}}",
	    "invalid JSON at byte 204: unexpected character");
	refuse(LINE_HEAD LINE_FATAL "} {}",
	    "invalid JSON at byte 205: unexpected character");
	refuse(LINE_HEAD LINE_FATAL "}\n{}",
	    "invalid JSON at byte 205: unexpected character");
	refuse(LINE_HEAD LINE_FATAL "}x\n",
	    "invalid JSON at byte 204: unexpected character");
	refuse("{'id':'i'}",
	    "invalid JSON at byte 6: unexpected character");
	refuse("{\"a\":1,}",
	    "invalid JSON at byte 7: unexpected character");
}
END_TEST

START_TEST(test_svevent_refuses_not_object)
{
	refuse("[1,2]", "not a JSON object");
	refuse("\"PROCESS_STATE_FATAL\"", "not a JSON object");
	refuse("true", "not a JSON object");
	refuse("null", "not a JSON object");
	refuse("null ", "not a JSON object");
	refuse("42", "not a JSON object");
	refuse("42\n", "not a JSON object");
}
END_TEST

START_TEST(test_svevent_refuses_missing_fields)
{
	static const char	*fields[] = { "id", "host", "server", "pool",
	    "serial", "poolserial", "event", "time", "payload", NULL };
	struct json_object	*o;
	const char		*full = LINE_HEAD LINE_FATAL "}";
	char			 want[64];
	int			 i;

	for (i = 0; fields[i] != NULL; i++) {
		o = json_tokener_parse(full);
		ck_assert_ptr_nonnull(o);
		json_object_object_del(o, fields[i]);
		snprintf(want, sizeof want, "missing field '%s'", fields[i]);
		refuse(json_object_to_json_string(o), want);
		json_object_put(o);
	}
}
END_TEST

START_TEST(test_svevent_refuses_wrong_types)
{
	refuse("{\"id\":1,\"host\":\"h\",\"server\":\"s\",\"pool\":\"p\","
	    "\"serial\":1,\"poolserial\":2," LINE_FATAL "}",
	    "field 'id' is not a string");
	refuse("{\"id\":\"i\",\"host\":null,\"server\":\"s\",\"pool\":\"p\","
	    "\"serial\":1,\"poolserial\":2," LINE_FATAL "}",
	    "field 'host' is not a string");
	refuse("{\"id\":\"\",\"host\":\"h\",\"server\":\"s\",\"pool\":\"p\","
	    "\"serial\":1,\"poolserial\":2," LINE_FATAL "}",
	    "field 'id' is empty");
	refuse("{\"id\":\"i\",\"host\":\"h\",\"server\":\"s\",\"pool\":\"p\","
	    "\"serial\":\"1\",\"poolserial\":2," LINE_FATAL "}",
	    "field 'serial' is not an integer");
	refuse("{\"id\":\"i\",\"host\":\"h\",\"server\":\"s\",\"pool\":\"p\","
	    "\"serial\":1,\"poolserial\":2.5," LINE_FATAL "}",
	    "field 'poolserial' is not an integer");
	refuse("{\"id\":\"i\",\"host\":\"h\",\"server\":\"s\",\"pool\":\"p\","
	    "\"serial\":true,\"poolserial\":2," LINE_FATAL "}",
	    "field 'serial' is not an integer");
	refuse(LINE_HEAD "\"event\":\"TICK_5\",\"time\":\"2026-11-24T07:19:24Z\","
	    "\"payload\":[\"when\",\"1\"]}", "field 'payload' is not an object");
	refuse(LINE_HEAD "\"event\":7,\"time\":\"2026-11-24T07:19:24Z\","
	    "\"payload\":{}}", "field 'event' is not a string");
	refuse(LINE_HEAD LINE_FATAL ",\"context\":[1]}",
	    "field 'context' is not an object");
	refuse(LINE_HEAD "\"event\":\"PROCESS_LOG_STDOUT\",\"time\":"
	    "\"2026-11-24T07:19:24Z\",\"payload\":{\"processname\":\"a\","
	    "\"groupname\":\"g\",\"pid\":\"1\",\"channel\":\"stdout\"},"
	    "\"data\":5}", "field 'data' is not a string");
}
END_TEST

START_TEST(test_svevent_refuses_negative_serial)
{
	refuse("{\"id\":\"i\",\"host\":\"h\",\"server\":\"s\",\"pool\":\"p\","
	    "\"serial\":-1,\"poolserial\":2," LINE_FATAL "}",
	    "field 'serial' is negative");
	refuse("{\"id\":\"i\",\"host\":\"h\",\"server\":\"s\",\"pool\":\"p\","
	    "\"serial\":1,\"poolserial\":-9223372036854775808," LINE_FATAL "}",
	    "field 'poolserial' is negative");
	/* Beyond int64: not silently clamped. */
	refuse("{\"id\":\"i\",\"host\":\"h\",\"server\":\"s\",\"pool\":\"p\","
	    "\"serial\":18446744073709551615,\"poolserial\":2," LINE_FATAL "}",
	    "field 'serial' is out of range");
	refuse("{\"id\":\"i\",\"host\":\"h\",\"server\":\"s\",\"pool\":\"p\","
	    "\"serial\":1e3,\"poolserial\":2," LINE_FATAL "}",
	    "field 'serial' is not an integer");
}
END_TEST

START_TEST(test_svevent_refuses_bad_time)
{
	static const char	*times[] = {
		"2026-11-24 07:19:24Z", "2026-11-24T07:19:24",
		"2026-11-24T07:19:24.Z", "2026-11-24T07:19:24+00:00",
		"2026-11-24T07:19:24.123Zx", "26-11-24T07:19:24Z",
		"2026-13-24T07:19:24Z", "2026-00-24T07:19:24Z",
		"2026-11-32T07:19:24Z", "2026-11-00T07:19:24Z",
		"2026-11-24T24:00:00Z", "2026-11-24T07:60:00Z",
		"2026-11-24T07:19:61Z", "yesterday", NULL
	};
	char			 line[512];
	int			 i;

	for (i = 0; times[i] != NULL; i++) {
		snprintf(line, sizeof line, LINE_HEAD "\"event\":\"TICK_5\","
		    "\"time\":\"%s\",\"payload\":{\"when\":\"1\"}}", times[i]);
		refuse(line, "field 'time' is not RFC 3339 UTC "
		    "(YYYY-MM-DDTHH:MM:SS.sssZ)");
	}
}
END_TEST

START_TEST(test_svevent_refuses_bad_event_name)
{
	refuse(LINE_HEAD "\"event\":\"tick_5\",\"time\":\"2026-11-24T07:19:24Z\","
	    "\"payload\":{}}", "field 'event' is not an event name");
	refuse(LINE_HEAD "\"event\":\"TICK 5\",\"time\":\"2026-11-24T07:19:24Z\","
	    "\"payload\":{}}", "field 'event' is not an event name");
	refuse(LINE_HEAD "\"event\":\"TICK\\n\",\"time\":"
	    "\"2026-11-24T07:19:24Z\",\"payload\":{}}",
	    "field 'event' is too long or has control characters");
}
END_TEST

START_TEST(test_svevent_refuses_bad_payload)
{
	refuse(LINE_HEAD "\"event\":\"TICK_5\",\"time\":\"2026-11-24T07:19:24Z\","
	    "\"payload\":{\"when\":1}}", "payload value 'when' is not a string");
	refuse(LINE_HEAD "\"event\":\"TICK_5\",\"time\":\"2026-11-24T07:19:24Z\","
	    "\"payload\":{\"when\":{\"a\":\"b\"}}}",
	    "payload value 'when' is not a string");
	refuse(LINE_HEAD "\"event\":\"TICK_5\",\"time\":\"2026-11-24T07:19:24Z\","
	    "\"payload\":{\"when\":\"1 2\"}}", "payload value 'when' has "
	    "spaces, control characters, or is too long");
	refuse(LINE_HEAD "\"event\":\"TICK_5\",\"time\":\"2026-11-24T07:19:24Z\","
	    "\"payload\":{\"when\":\"1\",\"a:b\":\"c\"}}",
	    "payload key 'a:b' is not a token name");
	refuse(LINE_HEAD "\"event\":\"TICK_5\",\"time\":\"2026-11-24T07:19:24Z\","
	    "\"payload\":{\"when\":\"1\",\"\":\"c\"}}",
	    "payload key '' is not a token name");
	/* A required token missing, for a known type. */
	refuse(LINE_HEAD "\"event\":\"TICK_5\",\"time\":\"2026-11-24T07:19:24Z\","
	    "\"payload\":{\"whence\":\"1\"}}",
	    "TICK_5 payload lacks token 'when'");
	refuse(LINE_HEAD "\"event\":\"PROCESS_STATE_FATAL\",\"time\":"
	    "\"2026-11-24T07:19:24Z\",\"payload\":{\"processname\":\"a\","
	    "\"groupname\":\"g\"}}",
	    "PROCESS_STATE_FATAL payload lacks token 'from_state'");
}
END_TEST

START_TEST(test_svevent_refuses_data_mismatch)
{
	refuse(LINE_HEAD LINE_FATAL ",\"data\":\"x\"}",
	    "PROCESS_STATE_FATAL has no field 'data'");
	refuse(LINE_HEAD "\"event\":\"PROCESS_LOG_STDERR\",\"time\":"
	    "\"2026-11-24T07:19:24Z\",\"payload\":{\"processname\":\"a\","
	    "\"groupname\":\"g\",\"pid\":\"1\",\"channel\":\"stderr\"}}",
	    "PROCESS_LOG_STDERR lacks field 'data'");
}
END_TEST

START_TEST(test_svevent_refuses_unknown_field)
{
	refuse(LINE_HEAD LINE_FATAL ",\"exitstatus\":1}",
	    "unknown field 'exitstatus'");
	refuse("{\"bogus\":1}", "unknown field 'bogus'");
}
END_TEST

START_TEST(test_svevent_refuses_deep_nesting)
{
	char	line[1024];
	size_t	n;
	int	i;

	n = snprintf(line, sizeof line, "%s", LINE_HEAD LINE_FATAL
	    ",\"context\":");
	for (i = 0; i < 20; i++)
		line[n++] = '[';
	for (i = 0; i < 20; i++)
		line[n++] = ']';
	line[n++] = '}';
	line[n] = '\0';
	refuse(line, "invalid JSON at byte 229: nesting too deep");
}
END_TEST

START_TEST(test_svevent_refuses_invalid_utf8)
{
	char	line[512];

	snprintf(line, sizeof line, "%s", LINE_HEAD "\"event\":"
	    "\"PROCESS_LOG_STDOUT\",\"time\":\"2026-11-24T07:19:24Z\","
	    "\"payload\":{\"processname\":\"a\",\"groupname\":\"g\","
	    "\"pid\":\"1\",\"channel\":\"stdout\"},\"data\":\"\xc3\x28\"}");
	refuse(line, "invalid JSON at byte 214: invalid utf-8 string");
}
END_TEST

START_TEST(test_svevent_refuses_nul)
{
	const char	l[] = LINE_HEAD LINE_FATAL "}\0";

	refuse_len(l, sizeof l - 1, "line contains a NUL byte");
	refuse_len("{\"id\":\"a\0b\"}", 12, "line contains a NUL byte");
	/* An escaped NUL inside a field other than data. */
	refuse("{\"id\":\"a\\u0000b\",\"host\":\"h\",\"server\":\"s\","
	    "\"pool\":\"p\",\"serial\":1,\"poolserial\":2," LINE_FATAL "}",
	    "field 'id' is too long or has control characters");
}
END_TEST

START_TEST(test_svevent_refuses_oversize)
{
	char	*big, *line;
	size_t	 n;
	int	 i;

	big = malloc(1026);
	memset(big, 'a', 1025);
	big[1025] = '\0';
	n = strlen(big) + 512;
	line = malloc(n);
	snprintf(line, n, "{\"id\":\"%s\",\"host\":\"h\",\"server\":\"s\","
	    "\"pool\":\"p\",\"serial\":1,\"poolserial\":2," LINE_FATAL "}",
	    big);
	refuse(line, "field 'id' is too long or has control characters");
	snprintf(line, n, LINE_HEAD "\"event\":\"TICK_5\",\"time\":"
	    "\"2026-11-24T07:19:24Z\",\"payload\":{\"when\":\"%s\"}}", big);
	refuse(line, "payload value 'when' has spaces, control characters, "
	    "or is too long");
	free(line);
	big[1024] = '\0';	/* exactly the limit: fine */
	line = malloc(n);
	snprintf(line, n, "{\"id\":\"%s\",\"host\":\"h\",\"server\":\"s\","
	    "\"pool\":\"p\",\"serial\":1,\"poolserial\":2," LINE_FATAL "}",
	    big);
	{
		struct svevent	*ev;
		char		 err[256];

		ev = svevent_from_json(line, strlen(line), err, sizeof err);
		ck_assert_ptr_nonnull(ev);
		svevent_free(ev);
	}
	free(line);
	free(big);

	/* 65 payload keys. */
	line = malloc(4096);
	n = snprintf(line, 4096, "%s", LINE_HEAD "\"event\":\"X\",\"time\":"
	    "\"2026-11-24T07:19:24Z\",\"payload\":{");
	for (i = 0; i < 65; i++)
		n += snprintf(line + n, 4096 - n, "%s\"k%d\":\"v\"",
		    i == 0 ? "" : ",", i);
	snprintf(line + n, 4096 - n, "}}");
	refuse(line, "field 'payload' has more than 64 keys");
	free(line);
}
END_TEST

static Suite *
svevent_suite(void)
{
	Suite	*s = suite_create("svevent");
	TCase	*tc;

	tc = tcase_create("wire");
	tcase_add_test(tc, test_svevent_every_type_roundtrips);
	tcase_add_test(tc, test_svevent_tokens_parsed);
	tcase_add_test(tc, test_svevent_json_form);
	tcase_add_test(tc, test_svevent_set_time);
	tcase_add_test(tc, test_svevent_log_utf8);
	tcase_add_test(tc, test_svevent_log_newlines);
	tcase_add_test(tc, test_svevent_log_empty_data);
	tcase_add_test(tc, test_svevent_log_nul_in_data);
	tcase_add_test(tc, test_svevent_log_invalid_utf8_replaced);
	tcase_add_test(tc, test_svevent_len0_payloads);
	tcase_add_test(tc, test_svevent_group_added_newline);
	tcase_add_test(tc, test_svevent_unknown_event);
	tcase_add_test(tc, test_svevent_valid_name);
	tcase_add_test(tc, test_svevent_payload_refusals);
	tcase_add_test(tc, test_svevent_payload_too_many_tokens);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_svevent_from_json_accepts);
	tcase_add_test(tc, test_svevent_refuses_bad_json);
	tcase_add_test(tc, test_svevent_refuses_not_object);
	tcase_add_test(tc, test_svevent_refuses_missing_fields);
	tcase_add_test(tc, test_svevent_refuses_wrong_types);
	tcase_add_test(tc, test_svevent_refuses_negative_serial);
	tcase_add_test(tc, test_svevent_refuses_bad_time);
	tcase_add_test(tc, test_svevent_refuses_bad_event_name);
	tcase_add_test(tc, test_svevent_refuses_bad_payload);
	tcase_add_test(tc, test_svevent_refuses_data_mismatch);
	tcase_add_test(tc, test_svevent_refuses_unknown_field);
	tcase_add_test(tc, test_svevent_refuses_deep_nesting);
	tcase_add_test(tc, test_svevent_refuses_invalid_utf8);
	tcase_add_test(tc, test_svevent_refuses_nul);
	tcase_add_test(tc, test_svevent_refuses_oversize);
	suite_add_tcase(s, tc);
	return (s);
}

CHECK_MAIN(svevent_suite)

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "check_util.h"
#include "wire.h"

START_TEST(test_wire_roundtrip_ok)
{
	struct wire_reply	r = { 0 }, p;
	char			*line, err[128];
	size_t			 len;

	r.ok = 1;
	r.duplicate = 1;
	strcpy(r.id, "web-1:sv:12:7");
	line = wire_reply_line(&r, &len);
	ck_assert_uint_eq(len, strlen(line));
	ck_assert_int_eq(line[len - 1], '\n');
	ck_assert_int_eq(wire_parse_reply(line, len, &p, err, sizeof err), 0);
	ck_assert_int_eq(p.ok, 1);
	ck_assert_int_eq(p.duplicate, 1);
	ck_assert_str_eq(p.id, "web-1:sv:12:7");
	ck_assert_str_eq(p.error, "");
	free(line);
}
END_TEST

START_TEST(test_wire_roundtrip_error)
{
	struct wire_reply	r = { 0 }, p;
	char			*line, err[128];
	size_t			 len;

	r.ok = 0;
	r.temporary = 1;
	strcpy(r.error, "spool write: No space left on device \"quoted\"");
	line = wire_reply_line(&r, &len);
	ck_assert_int_eq(wire_parse_reply(line, len, &p, err, sizeof err), 0);
	ck_assert_int_eq(p.ok, 0);
	ck_assert_int_eq(p.temporary, 1);
	ck_assert_str_eq(p.error, r.error);
	ck_assert_str_eq(p.id, "");
	free(line);
}
END_TEST

START_TEST(test_wire_refuses_garbage)
{
	struct wire_reply	p;
	char			err[128];

	ck_assert_int_eq(wire_parse_reply("nope\n", 5, &p, err, sizeof err),
	    -1);
	ck_assert_int_eq(wire_parse_reply("{\"id\":\"x\"}", 10, &p, err,
	    sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "ok"));
	ck_assert_int_eq(wire_parse_reply("{\"ok\":true} x", 13, &p, err,
	    sizeof err), -1);
	ck_assert_int_eq(wire_parse_reply("", 0, &p, err, sizeof err), -1);
}
END_TEST

START_TEST(test_wire_refuses_non_boolean_flags)
{
	struct wire_reply	p;
	char			err[128];
	const char		*l;

	/* json-c would call the string "false" true. */
	l = "{\"ok\":false,\"error\":\"x\",\"temporary\":\"false\"}";
	ck_assert_int_eq(wire_parse_reply(l, strlen(l), &p, err, sizeof err),
	    -1);
	ck_assert_str_eq(err, "reply field 'temporary' is not a boolean");
	ck_assert_int_eq(p.temporary, 0);
	l = "{\"ok\":true,\"id\":\"a\",\"duplicate\":1}";
	ck_assert_int_eq(wire_parse_reply(l, strlen(l), &p, err, sizeof err),
	    -1);
	ck_assert_str_eq(err, "reply field 'duplicate' is not a boolean");
	ck_assert_str_eq(p.id, "");
	l = "{\"ok\":\"true\"}";
	ck_assert_int_eq(wire_parse_reply(l, strlen(l), &p, err, sizeof err),
	    -1);
	ck_assert_str_eq(err, "reply has no boolean 'ok'");
}
END_TEST

START_TEST(test_wire_refuses_long_id)
{
	struct wire_reply	p;
	char			err[128], line[600], id[WIRE_MAX_ID + 1];

	/* One byte too long: a cut id would match no event. */
	memset(id, 'x', WIRE_MAX_ID);
	id[WIRE_MAX_ID] = '\0';
	snprintf(line, sizeof line, "{\"ok\":true,\"id\":\"%s\"}", id);
	ck_assert_int_eq(wire_parse_reply(line, strlen(line), &p, err,
	    sizeof err), -1);
	ck_assert_str_eq(err, "reply id is too long or holds a NUL");
	/* The longest that fits. */
	id[WIRE_MAX_ID - 1] = '\0';
	snprintf(line, sizeof line, "{\"ok\":true,\"id\":\"%s\"}", id);
	ck_assert_int_eq(wire_parse_reply(line, strlen(line), &p, err,
	    sizeof err), 0);
	ck_assert_str_eq(p.id, id);
	snprintf(line, sizeof line, "{\"ok\":true,\"id\":\"a\\u0000b\"}");
	ck_assert_int_eq(wire_parse_reply(line, strlen(line), &p, err,
	    sizeof err), -1);
}
END_TEST

START_TEST(test_wire_status_and_crlf)
{
	struct wire_reply	p;
	char			err[128];
	const char		*l = "{\"ok\":true,\"status\":{\"queue\":3}}\r\n";

	ck_assert_int_eq(wire_parse_reply(l, strlen(l), &p, err, sizeof err),
	    0);
	ck_assert_int_eq(p.ok, 1);
	ck_assert_str_eq(p.id, "");
	/* Not JSON, however lenient json-c could be. */
	l = "{\"ok\":true,}";
	ck_assert_int_eq(wire_parse_reply(l, strlen(l), &p, err, sizeof err),
	    -1);
	l = "{\"ok\":true}\n{\"ok\":true}";
	ck_assert_int_eq(wire_parse_reply(l, strlen(l), &p, err, sizeof err),
	    -1);
	ck_assert_str_eq(err, "reply is not one JSON object");
}
END_TEST

static Suite *
wire_suite(void)
{
	Suite	*s = suite_create("wire");
	TCase	*tc = tcase_create("reply");

	tcase_add_test(tc, test_wire_roundtrip_ok);
	tcase_add_test(tc, test_wire_roundtrip_error);
	tcase_add_test(tc, test_wire_refuses_garbage);
	tcase_add_test(tc, test_wire_refuses_non_boolean_flags);
	tcase_add_test(tc, test_wire_refuses_long_id);
	tcase_add_test(tc, test_wire_status_and_crlf);
	suite_add_tcase(s, tc);
	return (s);
}

CHECK_MAIN(wire_suite)

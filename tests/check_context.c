/*
 * Crash context: the XML-RPC response parser on responses captured from
 * supervisord 4.2.5 (tests/data/xmlrpc/), on broken and oversize ones;
 * the request builder; tail trimming to whole lines of valid UTF-8;
 * redaction; the exit status from supervisord's own log.
 */
#include "config.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check_util.h"
#include "listener.h"

Suite	*context_suite(void);

static char *
slurp(const char *name, size_t *lenp)
{
	char	 path[1024], *buf;
	FILE	*f;
	long	 n;

	snprintf(path, sizeof path, "%s/xmlrpc/%s", TEST_DATADIR, name);
	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc(n + 1);
	ck_assert_int_eq(fread(buf, 1, n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*lenp = (size_t)n;
	return (buf);
}

/* Parse a captured file; returns xmlrpc_parse's answer. */
static int
parse_file(const char *name, struct json_object **res, int *code, char *err,
    size_t errlen)
{
	char	*body;
	size_t	 len;
	int	 rc;

	body = slurp(name, &len);
	rc = xmlrpc_parse(body, len, res, code, err, errlen);
	free(body);
	return (rc);
}

static int
parse_str(const char *body, struct json_object **res, int *code, char *err,
    size_t errlen)
{
	return (xmlrpc_parse(body, strlen(body), res, code, err, errlen));
}

static const char *
member_str(struct json_object *o, const char *key)
{
	struct json_object	*v;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no %s", key);
	ck_assert(json_object_is_type(v, json_type_string));
	return (json_object_get_string(v));
}

static int
member_int(struct json_object *o, const char *key)
{
	struct json_object	*v;

	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no %s", key);
	ck_assert(json_object_is_type(v, json_type_int));
	return (json_object_get_int(v));
}

START_TEST(test_context_info_fatal)
{
	struct json_object	*o;
	char			 err[256];
	int			 code;

	ck_assert_int_eq(parse_file("getProcessInfo_boot_fatal.xml", &o, &code,
	    err, sizeof err), XMLRPC_OK);
	ck_assert(json_object_is_type(o, json_type_object));
	ck_assert_str_eq(member_str(o, "statename"), "FATAL");
	ck_assert_str_eq(member_str(o, "spawnerr"),
	    "Exited too quickly (process log may have details)");
	ck_assert_str_eq(member_str(o, "description"),
	    "Exited too quickly (process log may have details)");
	ck_assert_int_eq(member_int(o, "exitstatus"), 0);
	ck_assert_int_eq(member_int(o, "state"), 200);
	ck_assert_int_eq(member_int(o, "pid"), 0);
	ck_assert_int_eq(member_int(o, "start"), 1795506869);
	json_object_put(o);
}
END_TEST

START_TEST(test_context_info_exited)
{
	struct json_object	*o;
	char			 err[256];
	int			 code;

	ck_assert_int_eq(parse_file("getProcessInfo_exit7.xml", &o, &code,
	    err, sizeof err), XMLRPC_OK);
	ck_assert_str_eq(member_str(o, "statename"), "EXITED");
	ck_assert_int_eq(member_int(o, "exitstatus"), 7);
	ck_assert_str_eq(member_str(o, "spawnerr"), "Bad exit code 7");
	json_object_put(o);

	ck_assert_int_eq(parse_file("getProcessInfo_nocmd.xml", &o, &code,
	    err, sizeof err), XMLRPC_OK);
	ck_assert_str_eq(member_str(o, "spawnerr"),
	    "can't find command '/nonexistent/binary'");
	json_object_put(o);

	/* stderr_logfile=NONE: an empty string. */
	ck_assert_int_eq(parse_file("getProcessInfo_nolog.xml", &o, &code,
	    err, sizeof err), XMLRPC_OK);
	ck_assert_str_eq(member_str(o, "stderr_logfile"), "");
	json_object_put(o);
}
END_TEST

START_TEST(test_context_tail_result)
{
	struct json_object	*o, *v;
	char			 err[256];
	int			 code;

	ck_assert_int_eq(parse_file("tail_stderr_boot.xml", &o, &code, err,
	    sizeof err), XMLRPC_OK);
	ck_assert(json_object_is_type(o, json_type_array));
	ck_assert_int_eq(json_object_array_length(o), 3);
	v = json_object_array_get_idx(o, 0);
	ck_assert(strstr(json_object_get_string(v), "File \"<string>\", "
	    "line 1, in <module>\nRuntimeError: database is gone") != NULL);
	ck_assert_int_eq(json_object_get_int(json_object_array_get_idx(o, 1)),
	    252);
	v = json_object_array_get_idx(o, 2);
	ck_assert(json_object_is_type(v, json_type_boolean));
	ck_assert(!json_object_get_boolean(v));
	json_object_put(o);

	/* A tail cut short: overflow is true. */
	ck_assert_int_eq(parse_file("tail_stderr_utf8_cut.xml", &o, &code, err,
	    sizeof err), XMLRPC_OK);
	ck_assert(json_object_get_boolean(json_object_array_get_idx(o, 2)));
	json_object_put(o);

	/* An empty log. */
	ck_assert_int_eq(parse_file("tail_stderr_nolog.xml", &o, &code, err,
	    sizeof err), XMLRPC_OK);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(o,
	    0)), "");
	json_object_put(o);
}
END_TEST

/* supervisord writes ESC and other C0 controls raw: invalid XML 1.0. */
START_TEST(test_context_tail_control_chars)
{
	struct json_object	*o;
	char			 err[256];
	int			 code;

	ck_assert_int_eq(parse_file("tail_stderr_utf8.xml", &o, &code, err,
	    sizeof err), XMLRPC_OK);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(o,
	    0)), "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93\n?[31mred?[0m\n");
	json_object_put(o);
}
END_TEST

START_TEST(test_context_faults)
{
	static const struct {
		const char	*file;
		int		 code;
		const char	*text;
	} f[] = {
		{ "getProcessInfo_bad_name.xml", 10, "BAD_NAME: nosuch:nosuch" },
		{ "tail_bad_name.xml", 10, "BAD_NAME: nosuch" },
		{ "fault_no_file.xml", 20, "NO_FILE" },
		{ "unknown_method.xml", 1, "UNKNOWN_METHOD" },
		{ "bad_args.xml", 2, "INCORRECT_PARAMETERS" },
	};
	struct json_object	*o;
	char			 err[256];
	size_t			 i;
	int			 code;

	for (i = 0; i < sizeof f / sizeof f[0]; i++) {
		ck_assert_int_eq(parse_file(f[i].file, &o, &code, err,
		    sizeof err), XMLRPC_FAULT);
		ck_assert(o == NULL);
		ck_assert_int_eq(code, f[i].code);
		ck_assert_str_eq(err, f[i].text);
	}
}
END_TEST

START_TEST(test_context_malformed)
{
	static const char *bad[] = {
		"",
		"not xml at all",
		"<?xml version='1.0'?>\n<methodResponse><params><param>"
		    "<value><string>cut",
		"<methodResponse><params></params></methodResponse>",
		"<methodResponse><params><param><value><int>x</int></value>"
		    "</param></params></methodResponse>",
		"<methodResponse><params><param><value><int>99999999999</int>"
		    "</value></param></params></methodResponse>",
		"<methodResponse><params><param><value><boolean>2</boolean>"
		    "</value></param></params></methodResponse>",
		"<methodResponse><params><param><value><struct><member>"
		    "<value><int>1</int></value></member></struct></value>"
		    "</param></params></methodResponse>",
		"<methodResponse><params><param><value><string>a</string>"
		    "<int>1</int></value></param></params></methodResponse>",
		"<methodResponse><params><param><value>1</value></param>"
		    "<param><value>2</value></param></params></methodResponse>",
		"<methodResponse><struct/></methodResponse>",
		"<methodCall><methodName>x</methodName></methodCall>",
		"<methodResponse><fault><value><struct></struct></value>"
		    "</fault></methodResponse>",
		"<methodResponse><params><param><value><foo/></value></param>"
		    "</params></methodResponse>",
		"<?xml version='1.0'?><!DOCTYPE m [<!ENTITY a 'aaaa'>]>"
		    "<methodResponse><params><param><value>&a;</value></param>"
		    "</params></methodResponse>",
		"<methodResponse><params><param><value>x</value></param>"
		    "</params></methodResponse><methodResponse/>",
	};
	struct json_object	*o;
	char			 err[256];
	size_t			 i;
	int			 code;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		ck_assert_msg(parse_str(bad[i], &o, &code, err, sizeof err) ==
		    XMLRPC_ERROR, "accepted bad[%zu]", i);
		ck_assert(o == NULL);
		ck_assert_msg(err[0] != '\0', "no reason for bad[%zu]", i);
	}
	/* An HTTP error page is not XML-RPC either. */
	ck_assert_int_eq(parse_file("inet_401.txt", &o, &code, err,
	    sizeof err), XMLRPC_ERROR);
}
END_TEST

START_TEST(test_context_oversize)
{
	struct json_object	*o;
	char			 err[256], *big;
	size_t			 n = XMLRPC_MAX_BODY + 1;
	int			 code;

	big = malloc(n);
	memset(big, ' ', n);
	ck_assert_int_eq(xmlrpc_parse(big, n, &o, &code, err, sizeof err),
	    XMLRPC_ERROR);
	ck_assert(strstr(err, "larger than") != NULL);
	free(big);

	/* Deep nesting is refused, not recursed into. */
	{
		char	*deep;
		size_t	 i, len = 0;

		deep = malloc(64 * 40 + 256);
		len += sprintf(deep + len, "<methodResponse><params><param>");
		for (i = 0; i < 40; i++)
			len += sprintf(deep + len, "<value><array><data>");
		deep[len] = '\0';
		ck_assert_int_eq(parse_str(deep, &o, &code, err, sizeof err),
		    XMLRPC_ERROR);
		ck_assert(strstr(err, "deeper") != NULL);
		free(deep);
	}
}
END_TEST

START_TEST(test_context_nested_values)
{
	struct json_object	*o, *v;
	char			 err[256];
	int			 code;

	ck_assert_int_eq(parse_str("<methodResponse><params><param><value>"
	    "<array><data><value>bare &amp; &lt;x&gt;</value><value><struct>"
	    "<member><name>k</name><value><double>1.5</double></value>"
	    "</member></struct></value><value><i4> -3 </i4></value></data>"
	    "</array></value></param></params></methodResponse>", &o, &code,
	    err, sizeof err), XMLRPC_OK);
	ck_assert_int_eq(json_object_array_length(o), 3);
	ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(o,
	    0)), "bare & <x>");
	v = json_object_array_get_idx(o, 1);
	ck_assert(json_object_object_get_ex(v, "k", &v));
	ck_assert(json_object_get_double(v) == 1.5);
	ck_assert_int_eq(json_object_get_int(json_object_array_get_idx(o, 2)),
	    -3);
	json_object_put(o);
}
END_TEST

START_TEST(test_context_request_escapes)
{
	struct xmlrpc_param	 p[3];
	char			*req;

	p[0].string = "a<b>&c";
	p[1].string = NULL;
	p[1].integer = -4097;
	p[2].string = "";
	req = xmlrpc_request("supervisor.tailProcessStderrLog", p, 3);
	ck_assert_str_eq(req, "<?xml version=\"1.0\"?>\n<methodCall>"
	    "<methodName>supervisor.tailProcessStderrLog</methodName><params>"
	    "<param><value><string>a&lt;b&gt;&amp;c</string></value></param>"
	    "<param><value><int>-4097</int></value></param>"
	    "<param><value><string></string></value></param>"
	    "</params></methodCall>\n");
	free(req);
}
END_TEST

static char *
utf8(const char *in, size_t len)
{
	size_t	n;
	char	*s;

	s = tail_utf8(in, len, &n);
	ck_assert_uint_eq(strlen(s), n);
	return (s);
}

START_TEST(test_context_utf8)
{
	char	*s;

	/* A character cut at the start goes, a cut one at the end too. */
	s = utf8("\xa9llo \xe2\x9c", 7);
	ck_assert_str_eq(s, "llo ");
	free(s);
	/* Invalid bytes inside become U+FFFD; NUL becomes '?'. */
	s = utf8("a\xff" "b\xc0\xaf" "c\0d", 8);
	ck_assert_str_eq(s, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd"
	    "c?d");
	free(s);
	/* Surrogates and overlongs are invalid. */
	s = utf8("\xed\xa0\x80\xe0\x80\x80x", 7);
	ck_assert(strchr(s, 'x') != NULL);
	ck_assert(strstr(s, "\xed\xa0") == NULL);
	free(s);
	s = utf8("h\xc3\xa9 \xf0\x9f\x92\xa5", 8);
	ck_assert_str_eq(s, "h\xc3\xa9 \xf0\x9f\x92\xa5");
	free(s);
}
END_TEST

static char *
trim(const char *in, size_t cap, int partial)
{
	size_t	 len = strlen(in);
	char	*s = strdup(in);

	s = tail_trim(s, &len, cap, partial);
	ck_assert_uint_eq(strlen(s), len);
	ck_assert_uint_le(len, cap);
	return (s);
}

START_TEST(test_context_trim)
{
	char	*s;

	/* Whole log: nothing dropped. */
	s = trim("first\nsecond\n", 100, 0);
	ck_assert_str_eq(s, "first\nsecond\n");
	free(s);
	/* Started mid-log: the partial first line goes. */
	s = trim("rst\nsecond\nthird\n", 100, 1);
	ck_assert_str_eq(s, "second\nthird\n");
	free(s);
	/* A newline first: the line after it is whole. */
	s = trim("\nsecond\n", 100, 1);
	ck_assert_str_eq(s, "second\n");
	free(s);
	/* Over the cap: cut, then the partial line goes. */
	s = trim("aaaa\nbbbb\ncccc\n", 8, 0);
	ck_assert_str_eq(s, "cccc\n");
	free(s);
	/* One long line: kept from a character boundary. */
	s = trim("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 5, 0);
	ck_assert_str_eq(s, "\xc3\xa9\xc3\xa9");
	free(s);
	/* A lone line with a partial start is all there is: kept. */
	s = trim("only line\n", 100, 1);
	ck_assert_str_eq(s, "only line\n");
	free(s);
}
END_TEST

static char *
redact(const char *in, const char **pats, int *count)
{
	regex_t	 re[8];
	size_t	 n;
	char	*s = strdup(in);

	memset(re, 0, sizeof re);
	for (n = 0; pats[n] != NULL; n++)
		ck_assert_int_eq(regcomp(&re[n], pats[n], REG_EXTENDED |
		    REG_NEWLINE), 0);
	*count = tail_redact(&s, re, n);
	while (n-- > 0)
		regfree(&re[n]);
	return (s);
}

START_TEST(test_context_redact)
{
	const char	*pats[] = { "xox[abpr]-[A-Za-z0-9-]+",
	    "(password|passwd|pwd)=[^ &]+", "postgres(ql)?://[^ ]+", NULL };
	const char	*empty[] = { "x*", NULL };
	const char	*anchored[] = { "^secret", NULL };
	char		*s;
	int		 n;

	s = redact("token xoxb-123-abc-XYZ used\nconnect postgresql://u:pw@db"
	    "/app failed\nGET /login?user=a&password=hunter2&x=1\n"
	    "pwd=1 passwd=2\n", pats, &n);
	ck_assert_str_eq(s, "token [redacted] used\nconnect [redacted] failed"
	    "\nGET /login?user=a&[redacted]&x=1\n[redacted] [redacted]\n");
	ck_assert_int_eq(n, 5);
	free(s);

	/* Nothing to redact: unchanged. */
	s = redact("all clear\n", pats, &n);
	ck_assert_str_eq(s, "all clear\n");
	ck_assert_int_eq(n, 0);
	free(s);

	/* A pattern that can match empty neither loops nor eats text. */
	s = redact("abxxc", empty, &n);
	ck_assert_str_eq(s, "ab[redacted]c");
	free(s);

	/* ^ anchors at every line (REG_NEWLINE). */
	s = redact("secret1\nnot secret\nsecret2", anchored, &n);
	ck_assert_str_eq(s, "[redacted]1\nnot secret\n[redacted]2");
	ck_assert_int_eq(n, 2);
	free(s);
}
END_TEST

START_TEST(test_context_exit_status_from_log)
{
	struct json_object	*o;
	char			 err[256], sig[64];
	const char		*log;
	int			 code, status = -1;

	ck_assert_int_eq(parse_file("readlog.xml", &o, &code, err,
	    sizeof err), XMLRPC_OK);
	log = json_object_get_string(o);
	ck_assert_int_eq(tail_exit_status(log, "exit7", &status, sig,
	    sizeof sig), 1);
	ck_assert_int_eq(status, 7);
	ck_assert_int_eq(tail_exit_status(log, "boot", &status, sig,
	    sizeof sig), 1);
	ck_assert_int_eq(status, 1);
	/* Never exited: spawn error only. */
	ck_assert_int_eq(tail_exit_status(log, "nocmd", &status, sig,
	    sizeof sig), 0);
	/* A prefix of another name is not that name. */
	ck_assert_int_eq(tail_exit_status(log, "exit", &status, sig,
	    sizeof sig), 0);
	json_object_put(o);

	ck_assert_int_eq(parse_file("readlog_signal.xml", &o, &code, err,
	    sizeof err), XMLRPC_OK);
	ck_assert_int_eq(tail_exit_status(json_object_get_string(o), "segv",
	    &status, sig, sizeof sig), 2);
	ck_assert_str_eq(sig, "SIGSEGV");
	json_object_put(o);

	ck_assert_int_eq(tail_exit_status("x WARN exited: a (terminated by "
	    "SIGABRT (core dumped); not expected)\n", "a", &status, sig,
	    sizeof sig), 2);
	ck_assert_str_eq(sig, "SIGABRT (core dumped)");
}
END_TEST

Suite *
context_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("context");
	tc = tcase_create("xmlrpc");
	tcase_add_test(tc, test_context_info_fatal);
	tcase_add_test(tc, test_context_info_exited);
	tcase_add_test(tc, test_context_tail_result);
	tcase_add_test(tc, test_context_tail_control_chars);
	tcase_add_test(tc, test_context_faults);
	tcase_add_test(tc, test_context_malformed);
	tcase_add_test(tc, test_context_oversize);
	tcase_add_test(tc, test_context_nested_values);
	tcase_add_test(tc, test_context_request_escapes);
	suite_add_tcase(s, tc);
	tc = tcase_create("tail");
	tcase_add_test(tc, test_context_utf8);
	tcase_add_test(tc, test_context_trim);
	tcase_add_test(tc, test_context_redact);
	tcase_add_test(tc, test_context_exit_status_from_log);
	suite_add_tcase(s, tc);
	return (s);
}

CHECK_MAIN(context_suite)

/*
 * slack.c and pace.c: the messages made from policy notes (fields, limits,
 * both modes), what each of Slack's answers means, backoff and pacing.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check_util.h"
#include "delivery_int.h"
#include "policy.h"
#include "svevent.h"
#include "xmalloc.h"

static struct svevent *
mkevent(const char *name, const char *payload)
{
	struct svevent	*ev;
	char		 err[128];

	ev = svevent_new();
	ev->id = xstrdup("web-1:sv:42:7");
	ev->host = xstrdup("web-1");
	ev->name = xstrdup(name);
	ev->time = xstrdup("2024-05-01T12:00:00.000Z");
	ck_assert_int_eq(svevent_set_payload(ev, payload, strlen(payload),
	    err, sizeof err), 0);
	return (ev);
}

static struct json_object *
parse(const char *s)
{
	struct json_object	*o;

	o = json_tokener_parse(s);
	ck_assert_ptr_nonnull(o);
	return (o);
}

/* All the text of a message's blocks, concatenated. */
static void
blocktext(struct json_object *o, char *buf, size_t len)
{
	const char	*s;
	size_t		 i;

	switch (json_object_get_type(o)) {
	case json_type_object:
		json_object_object_foreach(o, k, v) {
			if (strcmp(k, "text") == 0 &&
			    json_object_is_type(v, json_type_string)) {
				s = json_object_get_string(v);
				strncat(buf, s, len - strlen(buf) - 1);
				strncat(buf, "\n", len - strlen(buf) - 1);
			} else
				blocktext(v, buf, len);
		}
		break;
	case json_type_array:
		for (i = 0; i < json_object_array_length(o); i++)
			blocktext(json_object_array_get_idx(o, i), buf, len);
		break;
	default:
		break;
	}
}

/* The policy's note for a boot crash with some stderr, as delivery gets it. */
static struct policy_note *
fatal_note(void)
{
	struct policy_conf	 pc;
	struct policy		*p;
	struct policy_note	*n;
	struct svevent		*ev;
	int64_t			 t = 1714564800000LL;
	int			 i;
	char			 pl[160];

	policy_conf_default(&pc);
	pc.host = xstrdup("web-1");
	p = policy_new(&pc);
	policy_conf_clear(&pc);
	for (i = 1; i <= 3; i++) {
		snprintf(pl, sizeof pl, "processname:api_00 groupname:api "
		    "from_state:%s tries:%d", i == 1 ? "STOPPED" : "BACKOFF",
		    i - 1);
		ev = mkevent("PROCESS_STATE_STARTING", pl);
		policy_feed(p, ev, t += 1000);
		svevent_free(ev);
		ev = mkevent("PROCESS_LOG_STDERR", "processname:api_00 "
		    "groupname:api pid:7 channel:stderr\nerror: <db> & co "
		    "refused\n");
		policy_feed(p, ev, t);
		svevent_free(ev);
		snprintf(pl, sizeof pl, "processname:api_00 groupname:api "
		    "from_state:STARTING tries:%d", i);
		ev = mkevent("PROCESS_STATE_BACKOFF", pl);
		policy_feed(p, ev, t += 1000);
		svevent_free(ev);
	}
	ev = mkevent("PROCESS_STATE_FATAL", "processname:api_00 groupname:api "
	    "from_state:BACKOFF");
	policy_feed(p, ev, t += 1000);
	svevent_free(ev);
	policy_tick(p, t + 60000);
	n = policy_take(p);
	ck_assert_ptr_nonnull(n);
	ck_assert_ptr_null(policy_take(p));
	policy_free(p);
	return (n);
}

START_TEST(test_slack_fatal_message)
{
	struct policy_note	*n;
	struct json_object	*msg, *v, *att;
	const char		*text;
	char			 all[8192] = "", *esc;

	n = fatal_note();
	ck_assert_int_eq(n->severity, POLICY_SEV_ERROR);
	msg = slack_note_message(n);
	ck_assert(json_object_object_get_ex(msg, "text", &v));
	text = json_object_get_string(v);
	/* The top-level text is the note's, escaped. */
	esc = slack_escape(n->text);
	ck_assert_str_eq(text, esc);
	free(esc);
	ck_assert_ptr_nonnull(strstr(text, "web-1"));
	ck_assert_ptr_nonnull(strstr(text, "api:api_00"));
	ck_assert_ptr_nonnull(strstr(text, "FATAL"));
	ck_assert(json_object_object_get_ex(msg, "attachments", &v));
	att = json_object_array_get_idx(v, 0);
	ck_assert(json_object_object_get_ex(att, "color", &v));
	ck_assert_str_eq(json_object_get_string(v), "#d00000");
	ck_assert(json_object_object_get_ex(att, "fallback", &v));
	ck_assert_str_eq(json_object_get_string(v), text);
	ck_assert(json_object_object_get_ex(att, "blocks", &v));
	ck_assert_int_le(json_object_array_length(v), SLACK_MAX_BLOCKS);
	blocktext(att, all, sizeof all);
	ck_assert_ptr_nonnull(strstr(all, ":red_circle:"));
	ck_assert_ptr_nonnull(strstr(all, "*Host*\nweb-1"));
	ck_assert_ptr_nonnull(strstr(all, "*Process*\napi:api_00"));
	ck_assert_ptr_nonnull(strstr(all, "BACKOFF → FATAL"));	/* detail */
	/* The stderr tail, labelled, escaped, in a code block. */
	ck_assert_ptr_nonnull(strstr(all, "*stderr (last lines)*\n```\nerror: "
	    "&lt;db&gt; &amp; co refused"));
	ck_assert_ptr_nonnull(strstr(all, "refused\n```"));
	ck_assert_ptr_nonnull(strstr(all, "svrelay · 2024-05-01"));
	json_object_put(msg);
	policy_note_free(n);
}
END_TEST

static struct policy_note *
mknote(int sev, const char *text, const char *detail, const char *tail)
{
	struct policy_note	*n;

	n = xcalloc(1, sizeof *n);
	n->id = xstrdup("ep:x");
	n->kind = POLICY_NOTE_NEW;
	n->severity = sev;
	n->route = xstrdup("");
	n->key = xstrdup("ep:x");
	n->update_key = xstrdup("");
	n->thread_key = xstrdup("");
	n->host = xstrdup("h1");
	n->server = xstrdup("");
	n->text = xstrdup(text);
	n->detail = xstrdup(detail);
	n->tail = tail != NULL ? xstrdup(tail) : NULL;
	n->processes = xcalloc(1, sizeof *n->processes);
	return (n);
}

/*
 * The texts of msg's log tail sections (a label line, then a code block),
 * at most max into v (borrowed from msg); returns how many there are.
 */
static size_t
tail_sections(struct json_object *msg, const char **v, size_t max)
{
	struct json_object	*a, *blocks, *b, *t;
	const char		*s;
	size_t			 i, n = 0;

	ck_assert(json_object_object_get_ex(msg, "attachments", &a));
	ck_assert(json_object_object_get_ex(json_object_array_get_idx(a, 0),
	    "blocks", &blocks));
	for (i = 0; i < json_object_array_length(blocks); i++) {
		b = json_object_array_get_idx(blocks, i);
		if (!json_object_object_get_ex(b, "text", &t) ||
		    !json_object_object_get_ex(t, "text", &t))
			continue;
		s = json_object_get_string(t);
		if (s[0] == '*' && strstr(s, "(last lines)") != NULL &&
		    strstr(s, "\n```\n") != NULL) {
			if (n < max)
				v[n] = s;
			n++;
		}
	}
	return (n);
}

/* The texts of msg's context blocks, concatenated into buf. */
static void
context_texts(struct json_object *msg, char *buf, size_t len)
{
	struct json_object	*a, *blocks, *b, *t;
	size_t			 i;

	buf[0] = '\0';
	ck_assert(json_object_object_get_ex(msg, "attachments", &a));
	ck_assert(json_object_object_get_ex(json_object_array_get_idx(a, 0),
	    "blocks", &blocks));
	for (i = 0; i < json_object_array_length(blocks); i++) {
		b = json_object_array_get_idx(blocks, i);
		if (json_object_object_get_ex(b, "type", &t) &&
		    strcmp(json_object_get_string(t), "context") == 0)
			blocktext(b, buf, len);
	}
}

static const char *
color_of(struct json_object *msg)
{
	struct json_object	*v;

	ck_assert(json_object_object_get_ex(msg, "attachments", &v));
	ck_assert(json_object_object_get_ex(json_object_array_get_idx(v, 0),
	    "color", &v));
	return (json_object_get_string(v));
}

START_TEST(test_slack_colour_by_severity)
{
	static const char	*want[] = {
		[POLICY_SEV_OK] = "#2eb67d", [POLICY_SEV_INFO] = "#439fe0",
		[POLICY_SEV_WARNING] = "#e8a317",
		[POLICY_SEV_ERROR] = "#d00000"
	};
	struct policy_note	*n;
	struct json_object	*msg, *v, *att;
	char			 all[4096] = "";
	int			 sev;

	for (sev = POLICY_SEV_OK; sev <= POLICY_SEV_ERROR; sev++) {
		n = mknote(sev, "g:p RUNNING on h1 — recovered", "", NULL);
		msg = slack_note_message(n);
		ck_assert_str_eq(color_of(msg), want[sev]);
		policy_note_free(n);
		json_object_put(msg);
	}
	/* No detail, no tail, no server: no empty blocks or fields. */
	n = mknote(POLICY_SEV_OK, "t", "", NULL);
	msg = slack_note_message(n);
	ck_assert(json_object_object_get_ex(msg, "attachments", &v));
	att = json_object_array_get_idx(v, 0);
	blocktext(att, all, sizeof all);
	ck_assert_ptr_null(strstr(all, "```"));
	ck_assert_ptr_null(strstr(all, "*Server*"));
	ck_assert_ptr_null(strstr(all, "*Process"));
	json_object_put(msg);
	policy_note_free(n);
}
END_TEST

START_TEST(test_slack_escapes_mrkdwn)
{
	struct policy_note	*n;
	char			*t;

	n = mknote(POLICY_SEV_ERROR, "a<b>:c&d FATAL on h", "", NULL);
	t = slack_note_text(n);
	ck_assert_str_eq(t, "a&lt;b&gt;:c&amp;d FATAL on h");
	free(t);
	policy_note_free(n);
}
END_TEST

START_TEST(test_slack_tail_keeps_the_end)
{
	struct policy_note	*n;
	struct json_object	*msg;
	char			*tail, line[64];
	const char		*s, *code = NULL;
	size_t			 i;

	tail = xmalloc(2000 * 40);
	tail[0] = '\0';
	for (i = 0; i < 2000; i++) {
		snprintf(line, sizeof line, "%sline %zu <é>",
		    i > 0 ? "\n" : "", i);
		strcat(tail, line);
	}
	n = mknote(POLICY_SEV_ERROR, "t", "d", tail);
	msg = slack_note_message(n);
	ck_assert_uint_eq(tail_sections(msg, &code, 1), 1);
	/* Label, fences and tail fill the section, and no more. */
	ck_assert_uint_le(slack_strlen(code), SLACK_MAX_SECTION);
	ck_assert_uint_ge(slack_strlen(code), SLACK_MAX_SECTION - 40);
	/* Whole lines from the end, after a "…" line. */
	s = "*stderr (last lines)*\n```\n…\nline ";
	ck_assert(strncmp(code, s, strlen(s)) == 0);
	s = code + strlen(code) - strlen("line 1999 &lt;é&gt;\n```");
	ck_assert_str_eq(s, "line 1999 &lt;é&gt;\n```");
	ck_assert_ptr_null(strstr(code, SLACK_TRUNC_MARKER));
	json_object_put(msg);
	policy_note_free(n);
	free(tail);
}
END_TEST

/*
 * Notes the policy makes from events with crash context: for each of n
 * processes api_00…, STARTING then FATAL with ctx[i] (JSON), or, when
 * exited is set, RUNNING then EXITED expected:0.
 */
static struct policy_note *
ctx_note(const char *const *ctx, int n, int exited)
{
	struct policy_conf	 pc;
	struct policy		*p;
	struct policy_note	*note;
	struct svevent		*ev;
	int64_t			 t = 1714564800000LL, d;
	int			 i;
	char			 pl[160];

	policy_conf_default(&pc);
	p = policy_new(&pc);
	policy_conf_clear(&pc);
	for (i = 0; i < n; i++) {
		snprintf(pl, sizeof pl, "processname:api_%02d groupname:api "
		    "from_state:STOPPED tries:0", i);
		ev = mkevent("PROCESS_STATE_STARTING", pl);
		policy_feed(p, ev, t + i);
		svevent_free(ev);
		if (!exited)
			continue;
		snprintf(pl, sizeof pl, "processname:api_%02d groupname:api "
		    "from_state:STARTING pid:5", i);
		ev = mkevent("PROCESS_STATE_RUNNING", pl);
		policy_feed(p, ev, t + 1000 + i);
		svevent_free(ev);
	}
	policy_tick(p, t + 60000);
	ck_assert_ptr_null(policy_take(p));
	for (i = 0; i < n; i++) {
		snprintf(pl, sizeof pl, "processname:api_%02d groupname:api "
		    "from_state:%s%s", i, exited ? "RUNNING" : "STARTING",
		    exited ? " expected:0 pid:5" : "");
		ev = mkevent(exited ? "PROCESS_STATE_EXITED" :
		    "PROCESS_STATE_FATAL", pl);
		ev->context = json_tokener_parse(ctx[i]);
		ck_assert_ptr_nonnull(ev->context);
		policy_feed(p, ev, t + 70000 + i);
		svevent_free(ev);
	}
	while ((d = policy_next_deadline(p)) != -1 && d <= t + 600000)
		policy_tick(p, d);
	note = policy_take(p);
	ck_assert_ptr_nonnull(note);
	ck_assert_ptr_null(policy_take(p));
	policy_free(p);
	return (note);
}

static const char *
msg_text(struct json_object *msg)
{
	struct json_object	*v;

	ck_assert(json_object_object_get_ex(msg, "text", &v));
	return (json_object_get_string(v));
}

START_TEST(test_slack_context_exit_status_and_tail)
{
	const char		*ctx[] = { "{\"exitstatus\": 7, \"stderr_tail\": "
	    "\"connecting to <db>\\nERROR: lost the queue & gave up\\n\"}" };
	struct policy_note	*n;
	struct json_object	*msg;
	const char		*code, *text;
	char			 ctxs[1024];

	n = ctx_note(ctx, 1, 1);
	msg = slack_note_message(n);
	text = msg_text(msg);
	ck_assert_str_eq(text, "api:api_00 EXITED on web-1 — exited "
	    "unexpectedly (exit status 7) and was not restarted: RUNNING → "
	    "EXITED — ERROR: lost the queue &amp; gave up");
	/* The last line only, never the whole tail, in the text. */
	ck_assert_ptr_null(strstr(text, "connecting"));
	ck_assert_uint_eq(tail_sections(msg, &code, 1), 1);
	ck_assert_str_eq(code, "*stderr (last lines)*\n```\nconnecting to "
	    "&lt;db&gt;\nERROR: lost the queue &amp; gave up\n```");
	context_texts(msg, ctxs, sizeof ctxs);
	ck_assert_ptr_null(strstr(ctxs, "unavailable"));
	json_object_put(msg);
	policy_note_free(n);
}
END_TEST

START_TEST(test_slack_context_reasons_in_text)
{
	static const struct {
		const char	*ctx;
		int		 exited;
		const char	*want;
	} cases[] = {
		{ "{\"signal\": \"SIGSEGV (core dumped)\"}", 1,
		    "exited unexpectedly (killed by SIGSEGV (core dumped)) and "
		    "was not restarted" },
		{ "{\"exitstatus\": 1, \"spawnerr\": \"Exited too quickly "
		    "(process log may have details)\"}", 0,
		    "exited too quickly: never stayed up for startsecs (last "
		    "exit status 1)" },
		{ "{\"spawnerr\": \"can't find command '/x'\"}", 0,
		    "spawn error: can't find command '/x'" },
		{ "{\"spawnerr\": \"can't find command '/x'\", \"description\": "
		    "\"<more>\"}", 0,
		    "spawn error: can't find command '/x'; &lt;more&gt;" },
	};
	struct policy_note	*n;
	struct json_object	*msg;
	size_t			 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		n = ctx_note(&cases[i].ctx, 1, cases[i].exited);
		msg = slack_note_message(n);
		ck_assert_msg(strstr(msg_text(msg), cases[i].want) != NULL,
		    "case %zu: %s", i, msg_text(msg));
		json_object_put(msg);
		policy_note_free(n);
	}
}
END_TEST

/* A tail is code: escaped, and a ``` inside cannot close the block. */
START_TEST(test_slack_tail_fences_and_escapes)
{
	struct policy_note	*n;
	struct json_object	*msg;
	const char		*code, *in, *end;

	n = mknote(POLICY_SEV_ERROR, "t", "", "x = ```rm -rf```\n"
	    "``````\n<script>alert(1)</script> & co\nlast`");
	n->tail_label = xstrdup("stdout (last lines)");
	msg = slack_note_message(n);
	ck_assert_uint_eq(tail_sections(msg, &code, 1), 1);
	ck_assert(strncmp(code, "*stdout (last lines)*\n```\n", 26) == 0);
	in = code + 26;
	end = code + strlen(code) - 4;
	ck_assert_str_eq(end, "\n```");
	/* No fence between the two. */
	ck_assert_ptr_null(memmem(in, end - in, "```", 3));
	ck_assert_ptr_nonnull(strstr(in, "x = ``\u200b`rm -rf``\u200b`\n"
	    "``\u200b``\u200b``\n"));
	ck_assert_ptr_nonnull(strstr(in, "&lt;script&gt;alert(1)&lt;/script&gt;"
	    " &amp; co\nlast`\n```"));
	json_object_put(msg);
	policy_note_free(n);
}
END_TEST

START_TEST(test_slack_context_error_element)
{
	const char		*ctx[] = { "{\"exitstatus\": 2, \"error\": "
	    "\"supervisord at <unix:///run/x.sock> asks for a username\"}" };
	struct policy_note	*n;
	struct json_object	*msg;
	const char		*code;
	char			 buf[2048];

	n = ctx_note(ctx, 1, 0);
	msg = slack_note_message(n);
	context_texts(msg, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, "crash context unavailable: "
	    "supervisord at &lt;unix:///run/x.sock&gt; asks for a username"));
	ck_assert_uint_eq(tail_sections(msg, &code, 1), 0);
	json_object_put(msg);
	policy_note_free(n);
	/* None on a note made by hand without it. */
	n = mknote(POLICY_SEV_ERROR, "t", "", NULL);
	msg = slack_note_message(n);
	context_texts(msg, buf, sizeof buf);
	ck_assert_ptr_null(strstr(buf, "unavailable"));
	json_object_put(msg);
	policy_note_free(n);
}
END_TEST

/* Five processes: a reason each, three tails, two counted. */
START_TEST(test_slack_context_grouped_tails)
{
	const char		*ctx[] = {
		"{\"exitstatus\": 1, \"stderr_tail\": \"tail 0\"}",
		"{\"exitstatus\": 2, \"stderr_tail\": \"tail 1\"}",
		"{\"signal\": \"SIGKILL\", \"stdout_tail\": \"tail 2\"}",
		"{\"exitstatus\": 4, \"stderr_tail\": \"tail 3\"}",
		"{\"exitstatus\": 5, \"stderr_tail\": \"tail 4\"}",
	};
	struct policy_note	*n;
	struct json_object	*msg, *v;
	const char		*code[8];
	char			 all[16384] = "", buf[2048];

	n = ctx_note(ctx, 5, 1);
	msg = slack_note_message(n);
	ck_assert_ptr_nonnull(strstr(msg_text(msg), "5 processes exited "
	    "unexpectedly and stayed down"));
	ck_assert_uint_eq(tail_sections(msg, code, 8), 3);
	ck_assert_str_eq(code[0], "*api:api_00* · stderr (last lines)\n```\n"
	    "tail 0\n```");
	ck_assert_str_eq(code[2], "*api:api_02* · stdout (last lines)\n```\n"
	    "tail 2\n```");
	context_texts(msg, buf, sizeof buf);
	ck_assert_ptr_nonnull(strstr(buf, "and 2 more processes' log tails "
	    "not shown"));
	ck_assert(json_object_object_get_ex(msg, "attachments", &v));
	blocktext(v, all, sizeof all);
	ck_assert_ptr_nonnull(strstr(all, "`api:api_00` EXITED — exited "
	    "unexpectedly (exit status 1) and was not restarted"));
	ck_assert_ptr_nonnull(strstr(all, "`api:api_02` EXITED — exited "
	    "unexpectedly (killed by SIGKILL) and was not restarted"));
	ck_assert_ptr_nonnull(strstr(all, "`api:api_04` EXITED — exited "
	    "unexpectedly (exit status 5) and was not restarted"));
	json_object_put(msg);
	policy_note_free(n);
}
END_TEST

START_TEST(test_slack_truncate_utf8)
{
	char	*s, *t;
	size_t	 i, n = 5000;

	/* "é" is two bytes: a byte cut would split one. */
	s = xmalloc(n * 2 + 1);
	for (i = 0; i < n; i++)
		memcpy(s + 2 * i, "é", 2);
	s[n * 2] = '\0';
	t = slack_truncate(s, SLACK_MAX_SECTION);
	ck_assert_uint_eq(slack_strlen(t), SLACK_MAX_SECTION);
	ck_assert_ptr_nonnull(strstr(t, SLACK_TRUNC_MARKER));
	ck_assert_str_eq(t + strlen(t) - strlen(SLACK_TRUNC_MARKER),
	    SLACK_TRUNC_MARKER);
	/* Every byte before the marker is a whole "é". */
	for (i = 0; i < strlen(t) - strlen(SLACK_TRUNC_MARKER); i += 2)
		ck_assert(memcmp(t + i, "é", 2) == 0);
	free(t);
	/* Short enough: unchanged. */
	t = slack_truncate("héllo", 5);
	ck_assert_str_eq(t, "héllo");
	free(t);
	t = slack_truncate("héllo wörld, and a lot more", 20);
	ck_assert_uint_eq(slack_strlen(t), 20);
	ck_assert_str_eq(t, "héllo w" SLACK_TRUNC_MARKER);
	free(t);
	/* No room for the marker: a plain cut, still on a boundary. */
	t = slack_truncate("ééééé", 3);
	ck_assert_str_eq(t, "ééé");
	free(t);
	free(s);
}
END_TEST

START_TEST(test_slack_truncate_keeps_escapes_whole)
{
	char	 s[64];
	char	*t;
	size_t	 markerlen = slack_strlen(SLACK_TRUNC_MARKER);

	/* Cut would fall inside "&amp;": the whole escape goes. */
	snprintf(s, sizeof s, "abcdefghij&amp;klmnopqrstuvwxyz");
	t = slack_truncate(s, 12 + markerlen);
	ck_assert_str_eq(t, "abcdefghij" SLACK_TRUNC_MARKER);
	free(t);
}
END_TEST

START_TEST(test_slack_limits_in_message)
{
	struct policy_note	*n;
	struct json_object	*msg, *v, *att, *blocks, *b, *f;
	char			*big;
	size_t			 i, j;

	big = xmalloc(60001);
	for (i = 0; i < 60000; i++)
		big[i] = i % 100 == 99 ? '\n' : 'x';
	big[60000] = '\0';
	n = mknote(POLICY_SEV_WARNING, big, big, big);
	free(n->host);
	n->host = xstrdup(big);
	msg = slack_note_message(n);
	ck_assert(json_object_object_get_ex(msg, "text", &v));
	ck_assert_uint_le(slack_strlen(json_object_get_string(v)),
	    SLACK_MAX_TEXT);
	ck_assert_ptr_nonnull(strstr(json_object_get_string(v),
	    SLACK_TRUNC_MARKER));
	ck_assert(json_object_object_get_ex(msg, "attachments", &v));
	att = json_object_array_get_idx(v, 0);
	ck_assert(json_object_object_get_ex(att, "blocks", &blocks));
	ck_assert_int_le(json_object_array_length(blocks), SLACK_MAX_BLOCKS);
	for (i = 0; i < json_object_array_length(blocks); i++) {
		b = json_object_array_get_idx(blocks, i);
		if (json_object_object_get_ex(b, "text", &v)) {
			json_object_object_get_ex(v, "text", &v);
			ck_assert_uint_le(slack_strlen(
			    json_object_get_string(v)), SLACK_MAX_SECTION);
		}
		if (json_object_object_get_ex(b, "fields", &f)) {
			for (j = 0; j < json_object_array_length(f); j++) {
				json_object_object_get_ex(
				    json_object_array_get_idx(f, j), "text",
				    &v);
				ck_assert_uint_le(slack_strlen(
				    json_object_get_string(v)),
				    SLACK_MAX_FIELD);
			}
		}
	}
	json_object_put(msg);
	policy_note_free(n);
	free(big);
}
END_TEST

START_TEST(test_slack_body_modes)
{
	struct json_object	*msg, *o, *v;
	char			*b;

	msg = parse("{\"text\":\"hi\",\"attachments\":[]}");
	b = slack_body(msg, SLACK_WEBHOOK, "#ops", "1.2", NULL);
	o = parse(b);
	ck_assert(!json_object_object_get_ex(o, "channel", &v));
	ck_assert(!json_object_object_get_ex(o, "thread_ts", &v));
	ck_assert(json_object_object_get_ex(o, "text", &v));
	ck_assert(json_object_object_get_ex(o, "attachments", &v));
	json_object_put(o);
	free(b);

	b = slack_body(msg, SLACK_API, "#ops", "1.2", NULL);
	o = parse(b);
	ck_assert(json_object_object_get_ex(o, "channel", &v));
	ck_assert_str_eq(json_object_get_string(v), "#ops");
	ck_assert(json_object_object_get_ex(o, "thread_ts", &v));
	ck_assert_str_eq(json_object_get_string(v), "1.2");
	ck_assert(json_object_object_get_ex(o, "text", &v));
	ck_assert_str_eq(json_object_get_string(v), "hi");
	json_object_put(o);
	free(b);

	b = slack_body(msg, SLACK_API, "C123", NULL, "9.9");
	o = parse(b);
	ck_assert(json_object_object_get_ex(o, "ts", &v));
	ck_assert_str_eq(json_object_get_string(v), "9.9");
	ck_assert(!json_object_object_get_ex(o, "thread_ts", &v));
	json_object_put(o);
	free(b);
	json_object_put(msg);
}
END_TEST

/* Classify (mode, status, body) and return the verdict. */
static enum slack_verdict
classify(enum slack_mode mode, long status, const char *body,
    struct slack_answer *a)
{
	struct http_result	r;

	memset(&r, 0, sizeof r);
	r.status = status;
	r.body = body;
	r.bodylen = strlen(body);
	r.retry_after = -1;
	r.error = "";
	slack_classify(mode, &r, a);
	return (a->verdict);
}

START_TEST(test_slack_classify_webhook)
{
	struct slack_answer	a;

	ck_assert_int_eq(classify(SLACK_WEBHOOK, 200, "ok", &a), SLACK_OK);
	ck_assert_int_eq(classify(SLACK_WEBHOOK, 200, "ok\n", &a), SLACK_OK);
	ck_assert_int_eq(classify(SLACK_WEBHOOK, 200, "<html>", &a),
	    SLACK_TRANSIENT);
	ck_assert_int_eq(classify(SLACK_WEBHOOK, 429, "", &a),
	    SLACK_RATELIMITED);
	ck_assert_int_eq(classify(SLACK_WEBHOOK, 500, "rollup_error", &a),
	    SLACK_TRANSIENT);
	ck_assert_ptr_nonnull(strstr(a.error, "rollup_error"));
	ck_assert_int_eq(classify(SLACK_WEBHOOK, 503, "", &a),
	    SLACK_TRANSIENT);
	ck_assert_int_eq(classify(SLACK_WEBHOOK, 400, "invalid_payload", &a),
	    SLACK_PERMANENT);
	ck_assert_ptr_nonnull(strstr(a.error, "invalid_payload"));
	ck_assert_int_eq(classify(SLACK_WEBHOOK, 400, "no_text", &a),
	    SLACK_PERMANENT);
	ck_assert_int_eq(classify(SLACK_WEBHOOK, 403, "invalid_token", &a),
	    SLACK_PERMANENT);
	ck_assert_int_eq(classify(SLACK_WEBHOOK, 403, "action_prohibited",
	    &a), SLACK_PERMANENT);
	ck_assert_int_eq(classify(SLACK_WEBHOOK, 404, "channel_not_found",
	    &a), SLACK_PERMANENT);
	ck_assert_int_eq(classify(SLACK_WEBHOOK, 404, "no_service", &a),
	    SLACK_PERMANENT);
	ck_assert_int_eq(classify(SLACK_WEBHOOK, 410, "channel_is_archived",
	    &a), SLACK_PERMANENT);
}
END_TEST

START_TEST(test_slack_classify_api)
{
	struct slack_answer	 a;
	const char		*perm[] = { "invalid_auth", "not_authed",
	    "token_revoked", "account_inactive", "channel_not_found",
	    "not_in_channel", "is_archived", "invalid_blocks", "no_text",
	    "missing_scope", "msg_too_long", NULL };
	const char		*trans[] = { "internal_error", "fatal_error",
	    "service_unavailable", "request_timeout", NULL };
	char			 body[128];
	int			 i;

	ck_assert_int_eq(classify(SLACK_API, 200, "{\"ok\":true,"
	    "\"channel\":\"C1\",\"ts\":\"1503435956.000247\"}", &a),
	    SLACK_OK);
	ck_assert_str_eq(a.ts, "1503435956.000247");
	ck_assert_str_eq(a.channel, "C1");
	for (i = 0; perm[i] != NULL; i++) {
		snprintf(body, sizeof body, "{\"ok\":false,\"error\":\"%s\"}",
		    perm[i]);
		ck_assert_int_eq(classify(SLACK_API, 200, body, &a),
		    SLACK_PERMANENT);
		ck_assert_str_eq(a.error, perm[i]);
		ck_assert_int_eq(a.unknown, 0);
	}
	for (i = 0; trans[i] != NULL; i++) {
		snprintf(body, sizeof body, "{\"ok\":false,\"error\":\"%s\"}",
		    trans[i]);
		ck_assert_int_eq(classify(SLACK_API, 200, body, &a),
		    SLACK_TRANSIENT);
	}
	ck_assert_int_eq(classify(SLACK_API, 200, "{\"ok\":false,\"error\":"
	    "\"something_new\"}", &a), SLACK_PERMANENT);
	ck_assert_int_eq(a.unknown, 1);
	ck_assert_int_eq(classify(SLACK_API, 200, "{\"ok\":false,\"error\":"
	    "\"ratelimited\"}", &a), SLACK_RATELIMITED);
	ck_assert_int_eq(classify(SLACK_API, 429, "{\"ok\":false,\"error\":"
	    "\"ratelimited\"}", &a), SLACK_RATELIMITED);
	ck_assert_int_eq(classify(SLACK_API, 200, "garbage{", &a),
	    SLACK_TRANSIENT);
	ck_assert_int_eq(classify(SLACK_API, 200, "", &a), SLACK_TRANSIENT);
	ck_assert_int_eq(classify(SLACK_API, 200, "[1,2]", &a),
	    SLACK_TRANSIENT);
	ck_assert_int_eq(classify(SLACK_API, 502, "<html>", &a),
	    SLACK_TRANSIENT);
	ck_assert_int_eq(classify(SLACK_API, 404, "not found", &a),
	    SLACK_PERMANENT);
	ck_assert_int_eq(classify(SLACK_API, 401, "{\"ok\":false,\"error\":"
	    "\"invalid_auth\"}", &a), SLACK_PERMANENT);
	ck_assert_str_eq(a.error, "invalid_auth");
}
END_TEST

START_TEST(test_slack_classify_no_answer)
{
	struct http_result	r;
	struct slack_answer	a;

	memset(&r, 0, sizeof r);
	r.status = 0;
	r.curlcode = 28;
	r.timed_out = 1;
	r.error = "Operation timed out";
	r.body = "";
	slack_classify(SLACK_API, &r, &a);
	ck_assert_int_eq(a.verdict, SLACK_TRANSIENT);
	ck_assert_str_eq(a.error, "timeout");
	r.timed_out = 0;
	r.curlcode = 7;
	r.error = "Failed to connect";
	slack_classify(SLACK_WEBHOOK, &r, &a);
	ck_assert_int_eq(a.verdict, SLACK_TRANSIENT);
	ck_assert_str_eq(a.error, "Failed to connect");
}
END_TEST

START_TEST(test_pace_backoff_bounds)
{
	int64_t	d, lo, first;
	int	attempt, i, differ = 0;

	for (attempt = 1; attempt <= 30; attempt++) {
		lo = 1000;
		for (i = 0; i < attempt; i++)
			lo = lo * 2 > 60000 ? 60000 : lo * 2;
		lo /= 2;	/* half the step is fixed */
		if (lo < 1000)
			lo = 1000;
		for (i = 0; i < 200; i++) {
			d = pace_backoff(attempt, 1000, 60000);
			ck_assert_int_ge(d, 1000);
			ck_assert_int_le(d, 60000);
			ck_assert_int_ge(d, lo);
		}
	}
	/* Grows with the attempt. */
	ck_assert_int_ge(pace_backoff(6, 1000, 600000), 32000);
	/* Jitter: not always the same. */
	first = pace_backoff(3, 1000, 60000);
	for (i = 0; i < 100; i++) {
		if (pace_backoff(3, 1000, 60000) != first)
			differ = 1;
	}
	ck_assert(differ);
	/* min == max: exactly that. */
	ck_assert_int_eq(pace_backoff(5, 500, 500), 500);
}
END_TEST

START_TEST(test_pace_bucket)
{
	struct pace_bucket	b;
	int64_t			t = 1000000, w;
	int			sent = 0, i;

	pace_init(&b, 60, 3, t);
	/* The burst goes at once. */
	ck_assert_int_eq(pace_take(&b, t), 0);
	ck_assert_int_eq(pace_take(&b, t), 0);
	ck_assert_int_eq(pace_take(&b, t), 0);
	/* Then one a second. */
	w = pace_take(&b, t);
	ck_assert_int_gt(w, 0);
	ck_assert_int_le(w, 1001);
	ck_assert_int_gt(pace_take(&b, t + 500), 0);
	ck_assert_int_eq(pace_take(&b, t + 1000), 0);
	ck_assert_int_gt(pace_take(&b, t + 1000), 0);
	/* Over 60 s, following the waits: at most burst + 60. */
	pace_init(&b, 60, 3, t);
	for (i = 0; i < 1000; i++) {
		w = pace_take(&b, t);
		if (w == 0)
			sent++;
		else
			t += w;
		if (t > 1000000 + 60000)
			break;
	}
	ck_assert_int_le(sent, 3 + 60 + 1);
	ck_assert_int_ge(sent, 60);
	/* rate 0: no limit. */
	pace_init(&b, 0, 1, t);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(pace_take(&b, t), 0);
	/* Idle time saves up no more than the burst. */
	pace_init(&b, 60, 2, t);
	t += 3600000;
	ck_assert_int_eq(pace_take(&b, t), 0);
	ck_assert_int_eq(pace_take(&b, t), 0);
	ck_assert_int_gt(pace_take(&b, t), 0);
}
END_TEST

static Suite *
slack_suite(void)
{
	Suite	*s = suite_create("slack");
	TCase	*tc;

	tc = tcase_create("message");
	tcase_add_test(tc, test_slack_fatal_message);
	tcase_add_test(tc, test_slack_colour_by_severity);
	tcase_add_test(tc, test_slack_escapes_mrkdwn);
	tcase_add_test(tc, test_slack_tail_keeps_the_end);
	tcase_add_test(tc, test_slack_tail_fences_and_escapes);
	tcase_add_test(tc, test_slack_context_exit_status_and_tail);
	tcase_add_test(tc, test_slack_context_reasons_in_text);
	tcase_add_test(tc, test_slack_context_error_element);
	tcase_add_test(tc, test_slack_context_grouped_tails);
	tcase_add_test(tc, test_slack_truncate_utf8);
	tcase_add_test(tc, test_slack_truncate_keeps_escapes_whole);
	tcase_add_test(tc, test_slack_limits_in_message);
	tcase_add_test(tc, test_slack_body_modes);
	suite_add_tcase(s, tc);
	tc = tcase_create("classify");
	tcase_add_test(tc, test_slack_classify_webhook);
	tcase_add_test(tc, test_slack_classify_api);
	tcase_add_test(tc, test_slack_classify_no_answer);
	suite_add_tcase(s, tc);
	tc = tcase_create("pace");
	tcase_add_test(tc, test_pace_backoff_bounds);
	tcase_add_test(tc, test_pace_bucket);
	suite_add_tcase(s, tc);
	return (s);
}

CHECK_MAIN(slack_suite)

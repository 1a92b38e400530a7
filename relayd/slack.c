/*
 * What Slack needs to know: the JSON of a message made from a policy note
 * (a top-level text Slack shows in notifications, an attachment with the
 * severity's colour holding Block Kit blocks), the request body for a
 * webhook or the Web API, Slack's limits, and what each of Slack's answers
 * means for the delivery.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "delivery_int.h"
#include "policy.h"
#include "xmalloc.h"

/* The most processes a note's "Processes" field names. */
#define SLACK_MAX_PROCS		20

static const struct {
	const char	*emoji;
	const char	*color;
} slack_severity[] = {
	[POLICY_SEV_OK] =	{ ":large_green_circle:", "#2eb67d" },
	[POLICY_SEV_INFO] =	{ ":information_source:", "#439fe0" },
	[POLICY_SEV_WARNING] =	{ ":warning:", "#e8a317" },
	[POLICY_SEV_ERROR] =	{ ":red_circle:", "#d00000" },
};

/* Web API errors worth a retry; anything else with ok:false is not. */
static const char *slack_transient_errors[] = {
	"internal_error", "fatal_error", "service_unavailable",
	"request_timeout", "ratelimited_internal", "team_added_to_org",
	NULL
};
static const char *slack_ratelimit_errors[] = {
	"ratelimited", "rate_limited", NULL
};
/* Permanent errors Slack documents: logged as such, not as "unknown". */
static const char *slack_permanent_errors[] = {
	"invalid_auth", "not_authed", "token_revoked", "token_expired",
	"account_inactive", "channel_not_found", "not_in_channel",
	"is_archived", "invalid_blocks", "invalid_blocks_format",
	"invalid_attachments", "no_text", "missing_scope", "msg_too_long",
	"too_many_attachments", "restricted_action",
	"restricted_action_read_only_channel",
	"restricted_action_thread_only_channel",
	"restricted_action_non_threadable_channel", "ekm_access_denied",
	"invalid_arguments", "invalid_arg_name", "invalid_array_arg",
	"invalid_charset", "invalid_form_data", "invalid_post_type",
	"missing_post_type", "invalid_json", "json_not_object",
	"not_allowed_token_type", "method_deprecated", "deprecated_endpoint",
	"two_factor_setup_required", "team_access_not_granted",
	"no_permission", "org_login_required", "access_denied",
	"cant_update_message", "edit_window_closed", "message_not_found",
	"duplicate_channel_not_found", "duplicate_message_not_found",
	"as_user_not_supported", "slack_connect_file_link_sharing_blocked",
	"invalid_metadata_format", "invalid_metadata_schema",
	"metadata_too_large", "metadata_must_be_sent_from_app",
	"message_limit_exceeded", "channel_is_archived", "invalid_token",
	"action_prohibited", "no_service", "invalid_payload",
	NULL
};

static int
slack_inlist(const char **list, const char *s)
{
	for (; *list != NULL; list++) {
		if (strcmp(*list, s) == 0)
			return (1);
	}
	return (0);
}

size_t
slack_strlen(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return (n);
}

char *
slack_truncate(const char *s, size_t max)
{
	size_t		 keep, n = 0, markerlen, i;
	const char	*p, *amp;
	char		*out;

	if (slack_strlen(s) <= max)
		return (xstrdup(s));
	markerlen = slack_strlen(SLACK_TRUNC_MARKER);
	/* No room for the marker: just cut. */
	keep = max > markerlen ? max - markerlen : max;
	/* Find the byte where character number keep starts. */
	for (p = s; *p != '\0'; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80) {
			if (n == keep)
				break;
			n++;
		}
	}
	/* Do not leave half of an escape such as "&amp;" behind. */
	amp = NULL;
	for (i = 1; i <= 5 && p - i >= s; i++) {
		if (p[-(ptrdiff_t)i] == ';')
			break;
		if (p[-(ptrdiff_t)i] == '&') {
			amp = p - i;
			break;
		}
	}
	if (amp != NULL)
		p = amp;
	xasprintf(&out, "%.*s%s", (int)(p - s), s, max > markerlen ?
	    SLACK_TRUNC_MARKER : "");
	return (out);
}

char *
slack_escape(const char *s)
{
	struct {
		char		 c;
		const char	*rep;
	} map[] = { { '&', "&amp;" }, { '<', "&lt;" }, { '>', "&gt;" } };
	size_t	 len = 0, i, j;
	char	*out, *o;

	for (i = 0; s[i] != '\0'; i++)
		len += (s[i] == '&') ? 5 : (s[i] == '<' || s[i] == '>') ? 4 : 1;
	out = o = xmalloc(len + 1);
	for (i = 0; s[i] != '\0'; i++) {
		for (j = 0; j < sizeof map / sizeof map[0]; j++) {
			if (s[i] == map[j].c)
				break;
		}
		if (j < sizeof map / sizeof map[0]) {
			memcpy(o, map[j].rep, strlen(map[j].rep));
			o += strlen(map[j].rep);
		} else
			*o++ = s[i];
	}
	*o = '\0';
	return (out);
}

static struct json_object *
slack_mrkdwn(const char *text, size_t max)
{
	struct json_object	*o;
	char			*t;

	t = slack_truncate(text, max);
	o = json_object_new_object();
	json_object_object_add(o, "type", json_object_new_string("mrkdwn"));
	json_object_object_add(o, "text", json_object_new_string(t));
	free(t);
	return (o);
}

/* A field "*Name*\nvalue", escaped and within Slack's limit. */
static void
slack_field(struct json_object *fields, const char *name, const char *value)
{
	char	*esc, *t;

	if (value == NULL || value[0] == '\0')
		return;
	esc = slack_escape(value);
	xasprintf(&t, "*%s*\n%s", name, esc);
	json_object_array_add(fields, slack_mrkdwn(t, SLACK_MAX_FIELD));
	free(t);
	free(esc);
}

static struct json_object *
slack_section(const char *mrkdwn)
{
	struct json_object	*b;

	b = json_object_new_object();
	json_object_object_add(b, "type", json_object_new_string("section"));
	json_object_object_add(b, "text", slack_mrkdwn(mrkdwn,
	    SLACK_MAX_SECTION));
	return (b);
}

/*
 * Keep at most SLACK_MAX_BLOCKS blocks: the last one kept says how many
 * were left out.
 */
static void
slack_limit_blocks(struct json_object *blocks)
{
	struct json_object	*ctx, *elems;
	size_t			 n = json_object_array_length(blocks);
	char			*t;

	if (n <= SLACK_MAX_BLOCKS)
		return;
	xasprintf(&t, "%s (%zu more blocks)", SLACK_TRUNC_MARKER,
	    n - SLACK_MAX_BLOCKS + 1);
	json_object_array_del_idx(blocks, SLACK_MAX_BLOCKS - 1,
	    n - SLACK_MAX_BLOCKS + 1);
	ctx = json_object_new_object();
	json_object_object_add(ctx, "type", json_object_new_string("context"));
	elems = json_object_new_array();
	json_object_array_add(elems, slack_mrkdwn(t, SLACK_MAX_SECTION));
	json_object_object_add(ctx, "elements", elems);
	json_object_array_add(blocks, ctx);
	free(t);
}

static int
slack_sev(const struct policy_note *n)
{
	if ((int)n->severity < POLICY_SEV_OK ||
	    n->severity > POLICY_SEV_ERROR)
		return (POLICY_SEV_INFO);
	return (n->severity);
}

char *
slack_note_text(const struct policy_note *n)
{
	char	*esc, *out;

	esc = slack_escape(n->text != NULL ? n->text : "");
	out = slack_truncate(esc, SLACK_MAX_TEXT);
	free(esc);
	return (out);
}

/*
 * s for inside a code block: escaped, and no run of three backticks left
 * to close the block early (a zero-width space after every second one).
 */
static char *
slack_code_escape(const char *s)
{
	static const char	 zwsp[] = "\xe2\x80\x8b";	/* U+200B */
	char			*esc, *out, *o;
	const char		*p;
	size_t			 run = 0, n = 0;

	esc = slack_escape(s);
	for (p = esc; *p != '\0'; p++)
		n += *p == '`';
	out = o = xmalloc(strlen(esc) + n / 2 * (sizeof zwsp - 1) + 1);
	for (p = esc; *p != '\0'; p++) {
		run = *p == '`' ? run + 1 : 0;
		*o++ = *p;
		if (run == 2 && p[1] == '`') {
			memcpy(o, zwsp, sizeof zwsp - 1);
			o += sizeof zwsp - 1;
			run = 0;
		}
	}
	*o = '\0';
	free(esc);
	return (out);
}

/* s after its first n characters (UTF-8). */
static const char *
slack_utf8_skip(const char *s, size_t n)
{
	while (*s != '\0' && n > 0) {
		s++;
		while (((unsigned char)*s & 0xc0) == 0x80)
			s++;
		n--;
	}
	return (s);
}

/* Characters of s[0..len) once escaped for a code block. */
static size_t
slack_code_len(const char *s, size_t len)
{
	char	*t, *esc;
	size_t	 n;

	t = xstrndup(s, len);
	esc = slack_code_escape(t);
	n = slack_strlen(esc);
	free(esc);
	free(t);
	return (n);
}

/*
 * The end of a log tail, escaped for a code block, in at most max
 * characters: when it must cut, a "…" line, then as many whole lines from
 * the end as fit (or the end of the last line, if even that is too long).
 */
static char *
slack_tail(const char *tail, size_t max)
{
	const char	*end, *keep, *b, *e;
	char		*esc, *out, *t;
	size_t		 budget, used = 0, len, skip;

	esc = slack_code_escape(tail);
	if (slack_strlen(esc) <= max)
		return (esc);
	free(esc);
	budget = max > 2 ? max - 2 : 0;		/* "…\n" */
	end = tail + strlen(tail);
	while (end > tail && end[-1] == '\n')
		end--;
	keep = end;
	while (keep > tail) {
		e = keep == end ? end : keep - 1;	/* before its '\n' */
		for (b = e; b > tail && b[-1] != '\n'; b--)
			;
		len = slack_code_len(b, e - b) + (keep == end ? 0 : 1);
		if (used + len > budget)
			break;
		used += len;
		keep = b;
	}
	if (keep == end) {
		/* The last line alone is too long: its last characters. */
		for (b = end; b > tail && b[-1] != '\n'; b--)
			;
		skip = 0;
		while ((len = slack_code_len(slack_utf8_skip(b, skip),
		    end - slack_utf8_skip(b, skip))) > budget)
			skip += len - budget;
		keep = slack_utf8_skip(b, skip);
	}
	t = xstrndup(keep, end - keep);
	esc = slack_code_escape(t);
	xasprintf(&out, "…\n%s", esc);
	free(esc);
	free(t);
	return (out);
}

/*
 * One tail as a section: its label ("*stderr (last lines)*", with the
 * process in a note about several) and the tail's end in a code block,
 * all within SLACK_MAX_SECTION.
 */
static struct json_object *
slack_tail_section(const struct policy_note *n, const char *process,
    const char *label, const char *text)
{
	static const char	*fence = "```";
	struct json_object	*b;
	char			*head, *p, *l, *tail, *code;
	size_t			 max;

	l = slack_escape(label != NULL && label[0] != '\0' ? label :
	    "stderr (last lines)");
	if (n->nprocesses > 1 && process != NULL && process[0] != '\0') {
		p = slack_escape(process);
		xasprintf(&head, "*%s* · %s", p, l);
		free(p);
	} else
		xasprintf(&head, "*%s*", l);
	free(l);
	/* The head, the fences and the three newlines count too. */
	max = SLACK_MAX_SECTION - slack_strlen(head) - 2 * strlen(fence) - 3;
	tail = slack_tail(text, max);
	xasprintf(&code, "%s\n%s\n%s\n%s", head, fence, tail, fence);
	b = slack_section(code);
	free(code);
	free(tail);
	free(head);
	return (b);
}

static void
slack_context(struct json_object *blocks, const char *mrkdwn)
{
	struct json_object	*b, *elems;

	b = json_object_new_object();
	json_object_object_add(b, "type", json_object_new_string("context"));
	elems = json_object_new_array();
	json_object_array_add(elems, slack_mrkdwn(mrkdwn, SLACK_MAX_SECTION));
	json_object_object_add(b, "elements", elems);
	json_object_array_add(blocks, b);
}

struct json_object *
slack_note_message(const struct policy_note *n)
{
	struct json_object	*msg, *att, *atts, *blocks, *b, *fields;
	char			*text, *head, *det, *procs = NULL;
	char			*t, *e, tb[40];
	size_t			 i;
	time_t			 secs;
	struct tm		 tm;
	int			 sev = slack_sev(n);

	text = slack_note_text(n);
	msg = json_object_new_object();
	json_object_object_add(msg, "text", json_object_new_string(text));

	blocks = json_object_new_array();
	xasprintf(&head, "%s %s", slack_severity[sev].emoji, text);
	json_object_array_add(blocks, slack_section(head));
	free(head);

	if (n->detail != NULL && n->detail[0] != '\0') {
		det = slack_escape(n->detail);
		json_object_array_add(blocks, slack_section(det));
		free(det);
	}

	for (i = 0; i < n->nprocesses && i < SLACK_MAX_PROCS; i++) {
		xasprintf(&t, "%s%s%s", procs != NULL ? procs : "",
		    procs != NULL ? ", " : "", n->processes[i]);
		free(procs);
		procs = t;
	}
	if (n->nprocesses > SLACK_MAX_PROCS) {
		xasprintf(&t, "%s and %zu more", procs,
		    n->nprocesses - SLACK_MAX_PROCS);
		free(procs);
		procs = t;
	}
	fields = json_object_new_array();
	slack_field(fields, "Host", n->host);
	slack_field(fields, "Server", n->server);
	slack_field(fields, n->nprocesses == 1 ? "Process" : "Processes",
	    procs);
	free(procs);
	if (json_object_array_length(fields) > 0) {
		b = json_object_new_object();
		json_object_object_add(b, "type",
		    json_object_new_string("section"));
		json_object_object_add(b, "fields", fields);
		json_object_array_add(blocks, b);
	} else
		json_object_put(fields);

	/* Log tails: the note's list, or a hand-made note's one tail. */
	for (i = 0; i < n->ntails; i++) {
		if (n->tails[i].text != NULL && n->tails[i].text[0] != '\0')
			json_object_array_add(blocks, slack_tail_section(n,
			    n->tails[i].process, n->tails[i].label,
			    n->tails[i].text));
	}
	if (n->ntails == 0 && n->tail != NULL && n->tail[0] != '\0')
		json_object_array_add(blocks, slack_tail_section(n, NULL,
		    n->tail_label, n->tail));
	if (n->tails_omitted > 0) {
		xasprintf(&t, "and %zu more %s not shown", n->tails_omitted,
		    n->tails_omitted == 1 ? "process's log tail" :
		    "processes' log tails");
		slack_context(blocks, t);
		free(t);
	}
	if (n->context_error != NULL && n->context_error[0] != '\0') {
		e = slack_escape(n->context_error);
		xasprintf(&t, "crash context unavailable: %s", e);
		slack_context(blocks, t);
		free(t);
		free(e);
	}

	secs = (time_t)(n->time_ms / 1000);
	if (n->time_ms > 0 && gmtime_r(&secs, &tm) != NULL &&
	    strftime(tb, sizeof tb, "%Y-%m-%d %H:%M:%S UTC", &tm) > 0)
		xasprintf(&t, "svrelay · %s", tb);
	else
		t = xstrdup("svrelay");
	slack_context(blocks, t);
	free(t);
	slack_limit_blocks(blocks);

	att = json_object_new_object();
	json_object_object_add(att, "color",
	    json_object_new_string(slack_severity[sev].color));
	json_object_object_add(att, "fallback", json_object_new_string(text));
	json_object_object_add(att, "blocks", blocks);
	atts = json_object_new_array();
	json_object_array_add(atts, att);
	json_object_object_add(msg, "attachments", atts);
	free(text);
	return (msg);
}

char *
slack_body(struct json_object *message, enum slack_mode mode,
    const char *channel, const char *thread_ts, const char *update_ts)
{
	struct json_object	*o;
	char			*s;

	o = json_object_new_object();
	if (mode == SLACK_API && channel != NULL)
		json_object_object_add(o, "channel",
		    json_object_new_string(channel));
	if (mode == SLACK_API && update_ts != NULL)
		json_object_object_add(o, "ts",
		    json_object_new_string(update_ts));
	if (mode == SLACK_API && thread_ts != NULL && update_ts == NULL)
		json_object_object_add(o, "thread_ts",
		    json_object_new_string(thread_ts));
	json_object_object_foreach(message, k, v)
		json_object_object_add(o, k, json_object_get(v));
	s = xstrdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return (s);
}

/* The first line of a plain-text body, printable, for an error text. */
static void
slack_bodyword(const struct http_result *r, char *dst, size_t len)
{
	size_t	i, j = 0;

	dst[0] = '\0';
	if (r->body == NULL)
		return;
	for (i = 0; i < r->bodylen && j + 1 < len && j < 64; i++) {
		if (r->body[i] == '\n' || r->body[i] == '\r')
			break;
		dst[j++] = isprint((unsigned char)r->body[i]) ?
		    r->body[i] : '?';
	}
	dst[j] = '\0';
}

static void
slack_setverdict(struct slack_answer *a, enum slack_verdict v,
    const char *error)
{
	a->verdict = v;
	snprintf(a->error, sizeof a->error, "%s", error);
}

/* An ok:false error from the Web API. */
static void
slack_api_error(struct slack_answer *a, const char *error)
{
	if (slack_inlist(slack_ratelimit_errors, error))
		slack_setverdict(a, SLACK_RATELIMITED, error);
	else if (slack_inlist(slack_transient_errors, error))
		slack_setverdict(a, SLACK_TRANSIENT, error);
	else {
		slack_setverdict(a, SLACK_PERMANENT, error);
		a->unknown = !slack_inlist(slack_permanent_errors, error);
	}
}

/* Parse an API body: 1 if it was a JSON object with a boolean "ok". */
static int
slack_api_body(const struct http_result *r, struct slack_answer *a)
{
	struct json_tokener	*tok;
	struct json_object	*o, *v;
	const char		*err;
	int			 done = 0;

	if (r->body == NULL || r->bodylen == 0)
		return (0);
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, r->body, (int)r->bodylen);
	json_tokener_free(tok);
	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "ok", &v) ||
	    !json_object_is_type(v, json_type_boolean))
		goto out;
	done = 1;
	if (json_object_get_boolean(v)) {
		slack_setverdict(a, SLACK_OK, "");
		if (json_object_object_get_ex(o, "ts", &v) &&
		    json_object_is_type(v, json_type_string))
			snprintf(a->ts, sizeof a->ts, "%s",
			    json_object_get_string(v));
		if (json_object_object_get_ex(o, "channel", &v) &&
		    json_object_is_type(v, json_type_string))
			snprintf(a->channel, sizeof a->channel, "%s",
			    json_object_get_string(v));
	} else {
		if (json_object_object_get_ex(o, "error", &v) &&
		    json_object_is_type(v, json_type_string))
			err = json_object_get_string(v);
		else
			err = "unknown_error";
		slack_api_error(a, err);
	}
out:
	json_object_put(o);
	return (done);
}

void
slack_classify(enum slack_mode mode, const struct http_result *r,
    struct slack_answer *a)
{
	char	word[80], buf[128];
	size_t	n;

	memset(a, 0, sizeof *a);
	if (r->status == 0) {
		snprintf(buf, sizeof buf, "%s", r->timed_out ? "timeout" :
		    (r->error != NULL && r->error[0] != '\0') ? r->error :
		    "connection failed");
		slack_setverdict(a, SLACK_TRANSIENT, buf);
		return;
	}
	slack_bodyword(r, word, sizeof word);
	if (r->status == 429) {
		slack_setverdict(a, SLACK_RATELIMITED, "http 429");
		return;
	}
	if (r->status >= 500) {
		snprintf(buf, sizeof buf, "http %ld%s%s", r->status,
		    word[0] ? " " : "", word);
		slack_setverdict(a, SLACK_TRANSIENT, buf);
		return;
	}
	if (mode == SLACK_WEBHOOK) {
		if (r->status >= 200 && r->status < 300) {
			n = r->bodylen;
			while (n > 0 && isspace((unsigned char)r->body[n - 1]))
				n--;
			if (n == 2 && memcmp(r->body, "ok", 2) == 0)
				slack_setverdict(a, SLACK_OK, "");
			else
				slack_setverdict(a, SLACK_TRANSIENT,
				    "garbage answer");
			return;
		}
		snprintf(buf, sizeof buf, "%s%shttp %ld", word,
		    word[0] ? ", " : "", r->status);
		slack_setverdict(a, SLACK_PERMANENT, buf);
		return;
	}
	if (slack_api_body(r, a)) {
		/* A JSON answer with "ok": it says what happened. */
		if (a->verdict == SLACK_OK && (r->status < 200 ||
		    r->status >= 300)) {
			snprintf(buf, sizeof buf, "http %ld", r->status);
			slack_setverdict(a, SLACK_PERMANENT, buf);
		}
		return;
	}
	if (r->status >= 200 && r->status < 300)
		slack_setverdict(a, SLACK_TRANSIENT, "garbage answer");
	else {
		snprintf(buf, sizeof buf, "http %ld", r->status);
		slack_setverdict(a, SLACK_PERMANENT, buf);
	}
}

#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "svevent.h"
#include "xmalloc.h"

#define SVEVENT_MAX_FIELD	1024	/* id, host, server, pool, name, token */
#define SVEVENT_MAX_TOKENS	64
#define SVEVENT_MAX_DEPTH	16

/*
 * What supervisord 4 sends for each event type it defines: the tokens that
 * must be there, and whether text follows the token line.  Unknown names
 * (a future supervisord, a plugin's own event) are accepted with whatever
 * tokens they carry.
 */
struct svevent_type {
	const char	*name;
	int		 data;
	const char	*required[6];
};

static const struct svevent_type svevent_types[] = {
	{ "PROCESS_STATE_STARTING", 0,
	    { "processname", "groupname", "from_state", "tries" } },
	{ "PROCESS_STATE_BACKOFF", 0,
	    { "processname", "groupname", "from_state", "tries" } },
	{ "PROCESS_STATE_RUNNING", 0,
	    { "processname", "groupname", "from_state", "pid" } },
	{ "PROCESS_STATE_STOPPING", 0,
	    { "processname", "groupname", "from_state", "pid" } },
	{ "PROCESS_STATE_STOPPED", 0,
	    { "processname", "groupname", "from_state", "pid" } },
	{ "PROCESS_STATE_EXITED", 0,
	    { "processname", "groupname", "from_state", "expected", "pid" } },
	{ "PROCESS_STATE_FATAL", 0,
	    { "processname", "groupname", "from_state" } },
	{ "PROCESS_STATE_UNKNOWN", 0,
	    { "processname", "groupname", "from_state" } },
	{ "PROCESS_LOG_STDOUT", 1,
	    { "processname", "groupname", "pid", "channel" } },
	{ "PROCESS_LOG_STDERR", 1,
	    { "processname", "groupname", "pid", "channel" } },
	{ "PROCESS_COMMUNICATION_STDOUT", 1,
	    { "processname", "groupname", "pid" } },
	{ "PROCESS_COMMUNICATION_STDERR", 1,
	    { "processname", "groupname", "pid" } },
	{ "REMOTE_COMMUNICATION", 1, { "type" } },
	{ "SUPERVISOR_STATE_CHANGE_RUNNING", 0, { NULL } },
	{ "SUPERVISOR_STATE_CHANGE_STOPPING", 0, { NULL } },
	{ "TICK_5", 0, { "when" } },
	{ "TICK_60", 0, { "when" } },
	{ "TICK_3600", 0, { "when" } },
	{ "PROCESS_GROUP_ADDED", 0, { "groupname" } },
	{ "PROCESS_GROUP_REMOVED", 0, { "groupname" } },
};

static const struct svevent_type *
svevent_type(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof svevent_types / sizeof svevent_types[0]; i++) {
		if (strcmp(svevent_types[i].name, name) == 0)
			return (&svevent_types[i]);
	}
	return (NULL);
}

struct svevent *
svevent_new(void)
{
	return (xcalloc(1, sizeof(struct svevent)));
}

static void
svevent_clear_tokens(struct svevent *ev)
{
	size_t	i;

	for (i = 0; i < ev->ntokens; i++) {
		free(ev->tokens[i].key);
		free(ev->tokens[i].value);
	}
	free(ev->tokens);
	ev->tokens = NULL;
	ev->ntokens = 0;
	free(ev->data);
	ev->data = NULL;
	ev->datalen = 0;
}

void
svevent_free(struct svevent *ev)
{
	if (ev == NULL)
		return;
	free(ev->id);
	free(ev->host);
	free(ev->server);
	free(ev->pool);
	free(ev->name);
	free(ev->time);
	svevent_clear_tokens(ev);
	if (ev->context != NULL)
		json_object_put(ev->context);
	free(ev);
}

int
svevent_valid_name(const char *name)
{
	const char	*p;

	if (name[0] < 'A' || name[0] > 'Z')
		return (0);
	for (p = name; *p != '\0'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    *p == '_'))
			return (0);
		if (p - name >= 128)
			return (0);
	}
	return (1);
}

int
svevent_has_data(const char *name)
{
	const struct svevent_type	*t;

	if ((t = svevent_type(name)) != NULL)
		return (t->data);
	return (0);
}

const char *
svevent_token(const struct svevent *ev, const char *key)
{
	size_t	i;

	for (i = 0; i < ev->ntokens; i++) {
		if (strcmp(ev->tokens[i].key, key) == 0)
			return (ev->tokens[i].value);
	}
	return (NULL);
}

static void
svevent_add_token(struct svevent *ev, const char *key, size_t keylen,
    const char *value, size_t valuelen)
{
	ev->tokens = xreallocarray(ev->tokens, ev->ntokens + 1,
	    sizeof *ev->tokens);
	ev->tokens[ev->ntokens].key = xstrndup(key, keylen);
	ev->tokens[ev->ntokens].value = xstrndup(value, valuelen);
	ev->ntokens++;
}

/* Is [s, s+len) free of NUL and control characters (tab allowed)? */
static int
svevent_clean(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			return (0);
		if (s[i] == 0x7f)
			return (0);
	}
	return (1);
}

/*
 * Length of the well-formed UTF-8 sequence at s (n > 0 bytes left), or 0
 * with *bad set to how many bytes make up the ill-formed part (the lead
 * byte and the continuation bytes that fitted it, as Unicode's "maximal
 * subpart" replacement counts them).
 */
static size_t
svevent_utf8_len(const unsigned char *s, size_t n, size_t *bad)
{
	unsigned char	 lo = 0x80, hi = 0xbf;
	size_t		 need, i;

	if (s[0] < 0x80)
		return (1);
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1;
	else if (s[0] == 0xe0) {
		need = 2;
		lo = 0xa0;
	} else if (s[0] == 0xed) {
		need = 2;
		hi = 0x9f;
	} else if (s[0] >= 0xe1 && s[0] <= 0xef)
		need = 2;
	else if (s[0] == 0xf0) {
		need = 3;
		lo = 0x90;
	} else if (s[0] == 0xf4) {
		need = 3;
		hi = 0x8f;
	} else if (s[0] >= 0xf1 && s[0] <= 0xf3)
		need = 3;
	else {
		*bad = 1;
		return (0);
	}
	for (i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*bad = i;
			return (0);
		}
		lo = 0x80;
		hi = 0xbf;
	}
	return (need + 1);
}

static int
svevent_valid_utf8(const char *s, size_t len)
{
	size_t	i, n, bad;

	for (i = 0; i < len; i += n) {
		if ((n = svevent_utf8_len((const unsigned char *)s + i,
		    len - i, &bad)) == 0)
			return (0);
	}
	return (1);
}

/*
 * Set ev->data to a copy of [s, s+len) with every ill-formed UTF-8 part
 * replaced by U+FFFD: supervisord sends UTF-8, and whatever is stored
 * must read back through json-c's UTF-8 check.
 */
static void
svevent_set_data(struct svevent *ev, const char *s, size_t len)
{
	static const char	 repl[] = "\xef\xbf\xbd";
	size_t			 i, n, bad, o = 0;

	/* At worst every byte becomes three. */
	ev->data = xreallocarray(NULL, len + 1, 3);
	for (i = 0; i < len; i += n) {
		if ((n = svevent_utf8_len((const unsigned char *)s + i,
		    len - i, &bad)) == 0) {
			memcpy(ev->data + o, repl, 3);
			o += 3;
			n = bad;
		} else {
			memcpy(ev->data + o, s + i, n);
			o += n;
		}
	}
	ev->data[o] = '\0';
	ev->datalen = o;
}

static int
svevent_check_required(const struct svevent *ev, char *err, size_t errlen)
{
	const struct svevent_type	*t;
	size_t				 i;

	if ((t = svevent_type(ev->name)) == NULL)
		return (0);
	for (i = 0; i < sizeof t->required / sizeof t->required[0]; i++) {
		if (t->required[i] == NULL)
			break;
		if (svevent_token(ev, t->required[i]) == NULL) {
			snprintf(err, errlen, "%s payload lacks token '%s'",
			    ev->name, t->required[i]);
			return (-1);
		}
	}
	return (0);
}

int
svevent_set_payload(struct svevent *ev, const char *payload, size_t len,
    char *err, size_t errlen)
{
	const char	*line, *end, *sp, *word, *colon, *nl;
	size_t		 linelen;
	int		 has_data;

	svevent_clear_tokens(ev);
	has_data = svevent_has_data(ev->name);

	if ((nl = memchr(payload, '\n', len)) != NULL)
		linelen = nl - payload;
	else
		linelen = len;
	line = payload;
	end = line + linelen;

	for (word = line; word < end; word = sp + 1) {
		if ((sp = memchr(word, ' ', end - word)) == NULL)
			sp = end;
		if (sp == word)
			continue;	/* doubled space */
		colon = memchr(word, ':', sp - word);
		if (colon == NULL || colon == word) {
			snprintf(err, errlen, "payload token '%.*s' is not "
			    "key:value", (int)(sp - word > 64 ? 64 : sp - word),
			    word);
			goto fail;
		}
		if (!svevent_clean(word, sp - word) ||
		    (size_t)(sp - word) > SVEVENT_MAX_FIELD) {
			snprintf(err, errlen, "payload token '%.*s' has control "
			    "characters or is too long", (int)(colon - word >
			    64 ? 64 : colon - word), word);
			goto fail;
		}
		if (!svevent_valid_utf8(word, sp - word)) {
			snprintf(err, errlen, "payload token '%.*s' is not "
			    "valid UTF-8", (int)(colon - word > 64 ? 64 :
			    colon - word), word);
			goto fail;
		}
		if (ev->ntokens >= SVEVENT_MAX_TOKENS) {
			snprintf(err, errlen, "payload has more than %d tokens",
			    SVEVENT_MAX_TOKENS);
			goto fail;
		}
		svevent_add_token(ev, word, colon - word, colon + 1,
		    sp - colon - 1);
	}

	if (has_data) {
		if (nl == NULL) {
			if (len != 0 || svevent_type(ev->name) != NULL) {
				snprintf(err, errlen, "%s payload has no newline "
				    "before its data", ev->name);
				goto fail;
			}
		}
		if (nl == NULL)
			svevent_set_data(ev, "", 0);
		else
			svevent_set_data(ev, nl + 1, len - linelen - 1);
	} else if (nl != NULL && (size_t)(nl - payload) + 1 != len) {
		if (svevent_type(ev->name) != NULL) {
			snprintf(err, errlen, "%s payload has unexpected text "
			    "after its token line", ev->name);
			goto fail;
		}
		/* An unknown type with a body: keep it as data. */
		svevent_set_data(ev, nl + 1, len - linelen - 1);
	}
	if (svevent_check_required(ev, err, errlen) != 0)
		goto fail;
	return (0);

fail:
	svevent_clear_tokens(ev);
	return (-1);
}

int64_t
svevent_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

void
svevent_format_time(int64_t unix_ms, char *buf, size_t len)
{
	struct tm	tm;
	time_t		t;
	int		ms;

	/* Round towards minus infinity: -1 ms is 23:59:59.999 in 1969. */
	ms = (int)(unix_ms % 1000);
	t = unix_ms / 1000;
	if (ms < 0) {
		ms += 1000;
		t--;
	}
	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ms);
}

void
svevent_set_time(struct svevent *ev, int64_t unix_ms)
{
	char	buf[SVEVENT_TIME_LEN];

	svevent_format_time(unix_ms, buf, sizeof buf);
	free(ev->time);
	ev->time = xstrdup(buf);
}

struct json_object *
svevent_to_json(const struct svevent *ev)
{
	struct json_object	*o, *p;
	size_t			 i;

	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(ev->id));
	json_object_object_add(o, "host", json_object_new_string(ev->host));
	json_object_object_add(o, "server",
	    json_object_new_string(ev->server));
	json_object_object_add(o, "pool", json_object_new_string(ev->pool));
	json_object_object_add(o, "serial", json_object_new_int64(ev->serial));
	json_object_object_add(o, "poolserial",
	    json_object_new_int64(ev->poolserial));
	json_object_object_add(o, "event", json_object_new_string(ev->name));
	json_object_object_add(o, "time", json_object_new_string(ev->time));
	p = json_object_new_object();
	for (i = 0; i < ev->ntokens; i++)
		json_object_object_add(p, ev->tokens[i].key,
		    json_object_new_string(ev->tokens[i].value));
	json_object_object_add(o, "payload", p);
	if (ev->data != NULL)
		json_object_object_add(o, "data",
		    json_object_new_string_len(ev->data, (int)ev->datalen));
	if (ev->context != NULL)
		json_object_object_add(o, "context",
		    json_object_get(ev->context));
	return (o);
}

char *
svevent_to_line(const struct svevent *ev, size_t *lenp)
{
	struct json_object	*o;
	char			*line;

	o = svevent_to_json(ev);
	line = svevent_json_line(o, lenp);
	json_object_put(o);
	return (line);
}

char *
svevent_json_line(struct json_object *o, size_t *lenp)
{
	const char	*s;
	size_t		 len;
	char		*line;

	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	line = xmalloc(len + 2);
	memcpy(line, s, len);
	line[len] = '\n';
	line[len + 1] = '\0';
	if (lenp != NULL)
		*lenp = len + 1;
	return (line);
}

/* "2026-11-24T07:19:24.123Z" or without the fraction; UTC only. */
static int
svevent_valid_time(const char *s)
{
	static const char	*pat = "dddd-dd-ddTdd:dd:dd";
	size_t			 i;
	int			 mon, day, hour, min, sec;

	for (i = 0; pat[i] != '\0'; i++) {
		if (pat[i] == 'd' ? !isdigit((unsigned char)s[i]) :
		    s[i] != pat[i])
			return (0);
	}
#define D2(o)	((s[o] - '0') * 10 + (s[(o) + 1] - '0'))
	mon = D2(5);
	day = D2(8);
	hour = D2(11);
	min = D2(14);
	sec = D2(17);
#undef D2
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 ||
	    min > 59 || sec > 60)
		return (0);
	if (s[i] == '.') {
		i++;
		if (!isdigit((unsigned char)s[i]))
			return (0);
		while (isdigit((unsigned char)s[i]))
			i++;
	}
	return (s[i] == 'Z' && s[i + 1] == '\0');
}

/*
 * Copy a required string member; returns NULL with err set if it is
 * missing, not a string, empty, too long or has control characters.
 */
static char *
svevent_get_string(struct json_object *o, const char *key, char *err,
    size_t errlen)
{
	struct json_object	*v;
	const char		*s;
	size_t			 len;

	if (!json_object_object_get_ex(o, key, &v)) {
		snprintf(err, errlen, "missing field '%s'", key);
		return (NULL);
	}
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "field '%s' is not a string", key);
		return (NULL);
	}
	s = json_object_get_string(v);
	len = json_object_get_string_len(v);
	if (len == 0) {
		snprintf(err, errlen, "field '%s' is empty", key);
		return (NULL);
	}
	if (len > SVEVENT_MAX_FIELD || strlen(s) != len ||
	    !svevent_clean(s, len)) {
		snprintf(err, errlen, "field '%s' is too long or has control "
		    "characters", key);
		return (NULL);
	}
	return (xstrdup(s));
}

static int
svevent_get_int(struct json_object *o, const char *key, int64_t *vp,
    char *err, size_t errlen)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v)) {
		snprintf(err, errlen, "missing field '%s'", key);
		return (-1);
	}
	if (!json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "field '%s' is not an integer", key);
		return (-1);
	}
	*vp = json_object_get_int64(v);
	if (*vp == INT64_MAX &&
	    json_object_get_uint64(v) > (uint64_t)INT64_MAX) {
		snprintf(err, errlen, "field '%s' is out of range", key);
		return (-1);
	}
	if (*vp < 0) {
		snprintf(err, errlen, "field '%s' is negative", key);
		return (-1);
	}
	return (0);
}

static const char *svevent_fields[] = {
	"id", "host", "server", "pool", "serial", "poolserial", "event",
	"time", "payload", "data", "context", NULL
};

struct svevent *
svevent_from_object(struct json_object *o, char *err, size_t errlen)
{
	struct svevent		*ev;
	struct json_object	*v;
	const char		*s;
	size_t			 len, i;
	int			 known;

	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "not a JSON object");
		return (NULL);
	}
	json_object_object_foreach(o, key, val) {
		(void)val;
		for (i = 0; svevent_fields[i] != NULL; i++) {
			if (strcmp(key, svevent_fields[i]) == 0)
				break;
		}
		if (svevent_fields[i] == NULL) {
			snprintf(err, errlen, "unknown field '%.64s'", key);
			return (NULL);
		}
	}

	ev = svevent_new();
	if ((ev->id = svevent_get_string(o, "id", err, errlen)) == NULL ||
	    (ev->host = svevent_get_string(o, "host", err, errlen)) == NULL ||
	    (ev->server = svevent_get_string(o, "server", err, errlen)) ==
	    NULL ||
	    (ev->pool = svevent_get_string(o, "pool", err, errlen)) == NULL ||
	    (ev->name = svevent_get_string(o, "event", err, errlen)) == NULL ||
	    (ev->time = svevent_get_string(o, "time", err, errlen)) == NULL)
		goto fail;
	if (svevent_get_int(o, "serial", &ev->serial, err, errlen) != 0 ||
	    svevent_get_int(o, "poolserial", &ev->poolserial, err,
	    errlen) != 0)
		goto fail;
	if (!svevent_valid_name(ev->name)) {
		snprintf(err, errlen, "field 'event' is not an event name");
		goto fail;
	}
	if (!svevent_valid_time(ev->time)) {
		snprintf(err, errlen, "field 'time' is not RFC 3339 UTC "
		    "(YYYY-MM-DDTHH:MM:SS.sssZ)");
		goto fail;
	}

	if (!json_object_object_get_ex(o, "payload", &v)) {
		snprintf(err, errlen, "missing field 'payload'");
		goto fail;
	}
	if (!json_object_is_type(v, json_type_object)) {
		snprintf(err, errlen, "field 'payload' is not an object");
		goto fail;
	}
	if (json_object_object_length(v) > SVEVENT_MAX_TOKENS) {
		snprintf(err, errlen, "field 'payload' has more than %d keys",
		    SVEVENT_MAX_TOKENS);
		goto fail;
	}
	json_object_object_foreach(v, pkey, pval) {
		if (!json_object_is_type(pval, json_type_string)) {
			snprintf(err, errlen, "payload value '%.64s' is not a "
			    "string", pkey);
			goto fail;
		}
		s = json_object_get_string(pval);
		len = json_object_get_string_len(pval);
		if (pkey[0] == '\0' || strchr(pkey, ':') != NULL ||
		    strchr(pkey, ' ') != NULL ||
		    !svevent_clean(pkey, strlen(pkey)) ||
		    strlen(pkey) > SVEVENT_MAX_FIELD) {
			snprintf(err, errlen, "payload key '%.64s' is not a "
			    "token name", pkey);
			goto fail;
		}
		if (len > SVEVENT_MAX_FIELD || strlen(s) != len ||
		    memchr(s, ' ', len) != NULL || !svevent_clean(s, len)) {
			snprintf(err, errlen, "payload value '%.64s' has spaces, "
			    "control characters, or is too long", pkey);
			goto fail;
		}
		svevent_add_token(ev, pkey, strlen(pkey), s, len);
	}
	if (svevent_check_required(ev, err, errlen) != 0)
		goto fail;

	known = svevent_type(ev->name) != NULL;
	if (json_object_object_get_ex(o, "data", &v)) {
		if (!json_object_is_type(v, json_type_string)) {
			snprintf(err, errlen, "field 'data' is not a string");
			goto fail;
		}
		if (known && !svevent_has_data(ev->name)) {
			snprintf(err, errlen, "%s has no field 'data'",
			    ev->name);
			goto fail;
		}
		ev->datalen = json_object_get_string_len(v);
		ev->data = xmalloc(ev->datalen + 1);
		memcpy(ev->data, json_object_get_string(v), ev->datalen);
		ev->data[ev->datalen] = '\0';
	} else if (svevent_has_data(ev->name)) {
		snprintf(err, errlen, "%s lacks field 'data'", ev->name);
		goto fail;
	}

	if (json_object_object_get_ex(o, "context", &v)) {
		if (!json_object_is_type(v, json_type_object)) {
			snprintf(err, errlen, "field 'context' is not an object");
			goto fail;
		}
		ev->context = json_object_get(v);
	}
	return (ev);

fail:
	svevent_free(ev);
	return (NULL);
}

struct svevent *
svevent_from_json(const char *line, size_t len, char *err, size_t errlen)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	struct svevent		*ev;
	enum json_tokener_error	 jerr;
	size_t			 off;

	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 0) {
		snprintf(err, errlen, "empty line");
		return (NULL);
	}
	if (len > INT32_MAX) {
		snprintf(err, errlen, "line too long");
		return (NULL);
	}
	if (memchr(line, '\0', len) != NULL) {
		snprintf(err, errlen, "line contains a NUL byte");
		return (NULL);
	}
	tok = json_tokener_new_ex(SVEVENT_MAX_DEPTH);
	if (tok == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, line, (int)len);
	jerr = json_tokener_get_error(tok);
	off = json_tokener_get_parse_end(tok);
	if (o == NULL && jerr == json_tokener_continue) {
		/* A bare number ends only at the end of the input. */
		o = json_tokener_parse_ex(tok, "", 1);
		if (json_tokener_get_error(tok) == json_tokener_success)
			jerr = json_tokener_success;
		off = len;
	}
	if (jerr != json_tokener_success) {
		if (jerr == json_tokener_continue)
			snprintf(err, errlen, "invalid JSON: unexpected end of "
			    "line");
		else
			snprintf(err, errlen, "invalid JSON at byte %zu: %s",
			    json_tokener_get_parse_end(tok),
			    json_tokener_error_desc(jerr));
		json_tokener_free(tok);
		if (o != NULL)
			json_object_put(o);
		return (NULL);
	}
	json_tokener_free(tok);
	if (o == NULL) {
		snprintf(err, errlen, "not a JSON object");	/* null */
		return (NULL);
	}
	while (off < len && (line[off] == ' ' || line[off] == '\t'))
		off++;
	if (off != len) {
		snprintf(err, errlen, "trailing bytes after the JSON object "
		    "at byte %zu", off);
		json_object_put(o);
		return (NULL);
	}
	ev = svevent_from_object(o, err, errlen);
	json_object_put(o);
	return (ev);
}

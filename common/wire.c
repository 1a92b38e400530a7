#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "svevent.h"
#include "wire.h"
#include "xmalloc.h"

char *
wire_reply_line(const struct wire_reply *r, size_t *lenp)
{
	struct json_object	*o;
	char			*line;

	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(r->ok));
	if (r->id[0] != '\0')
		json_object_object_add(o, "id", json_object_new_string(r->id));
	if (r->duplicate)
		json_object_object_add(o, "duplicate",
		    json_object_new_boolean(1));
	if (!r->ok) {
		json_object_object_add(o, "error",
		    json_object_new_string(r->error));
		json_object_object_add(o, "temporary",
		    json_object_new_boolean(r->temporary));
	}
	line = svevent_json_line(o, lenp);
	json_object_put(o);
	return (line);
}

/* An optional boolean member: 0 if absent, -1 if not a boolean. */
static int
wire_bool(struct json_object *o, const char *key, int *dst, char *err,
    size_t errlen)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v))
		return (0);
	if (!json_object_is_type(v, json_type_boolean)) {
		snprintf(err, errlen, "reply field '%s' is not a boolean", key);
		return (-1);
	}
	*dst = json_object_get_boolean(v);
	return (0);
}

int
wire_parse_reply(const char *line, size_t len, struct wire_reply *r,
    char *err, size_t errlen)
{
	struct json_tokener	*tok;
	struct json_object	*o, *v;
	int			 rc = -1;

	memset(r, 0, sizeof *r);
	while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if ((tok = json_tokener_new_ex(8)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, line, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		snprintf(err, errlen, "reply is not one JSON object");
		goto out;
	}
	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "ok", &v) ||
	    !json_object_is_type(v, json_type_boolean)) {
		snprintf(err, errlen, "reply has no boolean 'ok'");
		goto out;
	}
	r->ok = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "id", &v) &&
	    json_object_is_type(v, json_type_string)) {
		/* A cut id would match no event: refuse it. */
		if ((size_t)json_object_get_string_len(v) >= sizeof r->id ||
		    strlen(json_object_get_string(v)) !=
		    (size_t)json_object_get_string_len(v)) {
			snprintf(err, errlen, "reply id is too long or holds a "
			    "NUL");
			goto out;
		}
		snprintf(r->id, sizeof r->id, "%s", json_object_get_string(v));
	}
	/* "temporary":"false" is not false: refuse what is not boolean. */
	if (wire_bool(o, "duplicate", &r->duplicate, err, errlen) != 0 ||
	    wire_bool(o, "temporary", &r->temporary, err, errlen) != 0)
		goto out;
	if (json_object_object_get_ex(o, "error", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(r->error, sizeof r->error, "%s",
		    json_object_get_string(v));
	rc = 0;
out:
	if (rc != 0)
		memset(r, 0, sizeof *r);	/* nothing half-parsed */
	if (o != NULL)
		json_object_put(o);
	json_tokener_free(tok);
	return (rc);
}

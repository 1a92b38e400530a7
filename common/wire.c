#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "wire.h"
#include "xmalloc.h"

char *
wire_reply_line(const struct wire_reply *r, size_t *lenp)
{
	struct json_object	*o;
	const char		*s;
	char			*line;
	size_t			 len;

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
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	line = xmalloc(len + 2);
	memcpy(line, s, len);
	line[len] = '\n';
	line[len + 1] = '\0';
	json_object_put(o);
	if (lenp != NULL)
		*lenp = len + 1;
	return (line);
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
	    json_object_is_type(v, json_type_string))
		snprintf(r->id, sizeof r->id, "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "duplicate", &v))
		r->duplicate = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "temporary", &v))
		r->temporary = json_object_get_boolean(v);
	if (json_object_object_get_ex(o, "error", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(r->error, sizeof r->error, "%s",
		    json_object_get_string(v));
	rc = 0;
out:
	if (o != NULL)
		json_object_put(o);
	json_tokener_free(tok);
	return (rc);
}

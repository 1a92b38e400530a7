/* fuzz-sources: listener/xmlrpc.c listener/tail.c */
/*
 * libFuzzer target: xmlrpc_parse on arbitrary bytes (supervisord's
 * responses as the seed corpus).  An answer must be consistent: a value
 * on XMLRPC_OK, a reason otherwise.  The strings of a parsed value then go
 * through the tail path the helper uses (tail_utf8, tail_trim), whose
 * output must be valid, bounded and NUL-free.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "listener/listener.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_tail(const char *s, size_t len)
{
	char	*t;
	size_t	 tlen, cap;

	t = tail_utf8(s, len, &tlen);
	if (strlen(t) != tlen)
		abort();
	cap = len % 97;
	t = tail_trim(t, &tlen, cap, (int)(len & 1));
	if (tlen > cap || strlen(t) != tlen)
		abort();
	free(t);
}

static void
walk(struct json_object *o, int depth)
{
	struct json_object_iterator	 it, end;
	size_t				 i;

	if (depth > XMLRPC_MAX_DEPTH)
		abort();
	switch (json_object_get_type(o)) {
	case json_type_string:
		check_tail(json_object_get_string(o),
		    (size_t)json_object_get_string_len(o));
		break;
	case json_type_array:
		for (i = 0; i < json_object_array_length(o); i++)
			walk(json_object_array_get_idx(o, i), depth + 1);
		break;
	case json_type_object:
		it = json_object_iter_begin(o);
		end = json_object_iter_end(o);
		while (!json_object_iter_equal(&it, &end)) {
			walk(json_object_iter_peek_value(&it), depth + 1);
			json_object_iter_next(&it);
		}
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object	*o;
	char			 err[XMLRPC_ERRLEN];
	int			 rc, code;

	err[0] = '\0';
	rc = xmlrpc_parse((const char *)data, size, &o, &code, err,
	    sizeof err);
	if (rc == XMLRPC_OK) {
		if (o == NULL)
			abort();
		walk(o, 0);
		json_object_put(o);
		return (0);
	}
	if (o != NULL || err[0] == '\0')
		abort();
	return (0);
}

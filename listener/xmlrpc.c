/*
 * XML-RPC, as much as the crash context needs: build a methodCall with
 * string and integer parameters, and parse a methodResponse (a value or a
 * fault) with expat into json-c values.  Bounded: the body, the nesting
 * depth and the number of values have caps, so that a hostile or broken
 * server costs little.
 *
 * Types: struct -> object, array -> array, string (or a bare value) ->
 * string, int/i4 -> int, boolean -> boolean, double -> double; base64 and
 * dateTime.iso8601 are kept as their text.  supervisord writes log bytes
 * raw, so control characters that XML 1.0 forbids (ESC from coloured
 * output, say) are replaced with '?' before expat sees them.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <expat.h>
#include <json-c/json.h>

#include "log.h"
#include "xmalloc.h"
#include "listener.h"

enum xmlrpc_elem {
	X_NONE,
	X_METHODRESPONSE,
	X_PARAMS,
	X_PARAM,
	X_FAULT,
	X_VALUE,
	X_STRUCT,
	X_MEMBER,
	X_NAME,
	X_ARRAY,
	X_DATA,
	X_SCALAR		/* string, int, boolean, double, ... */
};

/* One open element; values hang off X_VALUE frames. */
struct xmlrpc_frame {
	enum xmlrpc_elem	 elem;
	char			 scalar[24];	/* X_SCALAR: its type */
	struct json_object	*value;		/* X_VALUE, X_MEMBER */
	char			*name;		/* X_MEMBER: member name */
};

struct xmlrpc_parser {
	XML_Parser		 p;
	struct xmlrpc_frame	 stack[XMLRPC_MAX_DEPTH];
	int			 depth;
	size_t			 nvalues;
	char			*text;		/* character data of a leaf */
	size_t			 textlen;
	size_t			 textsize;
	int			 fault;		/* saw <fault> */
	int			 nparams;
	struct json_object	*result;
	char			 err[XMLRPC_ERRLEN];
};

static void __attribute__((format(printf, 2, 3)))
xmlrpc_fail(struct xmlrpc_parser *x, const char *fmt, ...)
{
	va_list	ap;

	if (x->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(x->err, sizeof x->err, fmt, ap);
		va_end(ap);
	}
	XML_StopParser(x->p, XML_FALSE);
}

static enum xmlrpc_elem
xmlrpc_elem_of(const char *name)
{
	static const struct {
		const char		*name;
		enum xmlrpc_elem	 elem;
	} names[] = {
		{ "methodResponse", X_METHODRESPONSE },
		{ "params", X_PARAMS },
		{ "param", X_PARAM },
		{ "fault", X_FAULT },
		{ "value", X_VALUE },
		{ "struct", X_STRUCT },
		{ "member", X_MEMBER },
		{ "name", X_NAME },
		{ "array", X_ARRAY },
		{ "data", X_DATA },
		{ "string", X_SCALAR },
		{ "int", X_SCALAR },
		{ "i4", X_SCALAR },
		{ "i8", X_SCALAR },
		{ "boolean", X_SCALAR },
		{ "double", X_SCALAR },
		{ "base64", X_SCALAR },
		{ "dateTime.iso8601", X_SCALAR },
		{ "nil", X_SCALAR },
	};
	size_t	i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(names[i].name, name) == 0)
			return (names[i].elem);
	}
	return (X_NONE);
}

/* May elem open inside parent? */
static int
xmlrpc_nests(enum xmlrpc_elem parent, enum xmlrpc_elem elem)
{
	switch (elem) {
	case X_METHODRESPONSE:
		return (parent == X_NONE);
	case X_PARAMS:
	case X_FAULT:
		return (parent == X_METHODRESPONSE);
	case X_PARAM:
		return (parent == X_PARAMS);
	case X_VALUE:
		return (parent == X_PARAM || parent == X_FAULT ||
		    parent == X_MEMBER || parent == X_DATA);
	case X_STRUCT:
	case X_ARRAY:
	case X_SCALAR:
		return (parent == X_VALUE);
	case X_MEMBER:
		return (parent == X_STRUCT);
	case X_NAME:
		return (parent == X_MEMBER);
	case X_DATA:
		return (parent == X_ARRAY);
	default:
		return (0);
	}
}

static void
xmlrpc_text_reset(struct xmlrpc_parser *x)
{
	x->textlen = 0;
	if (x->text != NULL)
		x->text[0] = '\0';
}

static void XMLCALL
xmlrpc_start(void *arg, const XML_Char *name, const XML_Char **attrs)
{
	struct xmlrpc_parser	*x = arg;
	struct xmlrpc_frame	*f;
	enum xmlrpc_elem	 e, parent;

	parent = x->depth == 0 ? X_NONE : x->stack[x->depth - 1].elem;
	if ((e = xmlrpc_elem_of(name)) == X_NONE) {
		xmlrpc_fail(x, "unexpected element <%.64s>", name);
		return;
	}
	if (!xmlrpc_nests(parent, e)) {
		xmlrpc_fail(x, "element <%.64s> out of place", name);
		return;
	}
	if (x->depth == XMLRPC_MAX_DEPTH) {
		xmlrpc_fail(x, "nested deeper than %d elements",
		    XMLRPC_MAX_DEPTH);
		return;
	}
	if (e == X_VALUE && ++x->nvalues > XMLRPC_MAX_VALUES) {
		xmlrpc_fail(x, "more than %d values", XMLRPC_MAX_VALUES);
		return;
	}
	if (e == X_PARAM && ++x->nparams > 1) {
		xmlrpc_fail(x, "more than one param in a response");
		return;
	}
	if (e == X_SCALAR || e == X_STRUCT || e == X_ARRAY) {
		/* A value holds exactly one of these. */
		if (x->stack[x->depth - 1].value != NULL) {
			xmlrpc_fail(x, "a value with two types");
			return;
		}
	}
	if (e == X_FAULT)
		x->fault = 1;
	f = &x->stack[x->depth++];
	memset(f, 0, sizeof *f);
	f->elem = e;
	if (e == X_SCALAR)
		snprintf(f->scalar, sizeof f->scalar, "%s", name);
	if (e == X_STRUCT)
		x->stack[x->depth - 2].value = json_object_new_object();
	else if (e == X_ARRAY)
		x->stack[x->depth - 2].value = json_object_new_array();
	xmlrpc_text_reset(x);
}

static void XMLCALL
xmlrpc_chars(void *arg, const XML_Char *s, int len)
{
	struct xmlrpc_parser	*x = arg;
	enum xmlrpc_elem	 e;
	size_t			 need;

	if (x->depth == 0)
		return;
	e = x->stack[x->depth - 1].elem;
	/* Text matters only in leaves: a bare value, a scalar, a name. */
	if (e != X_VALUE && e != X_SCALAR && e != X_NAME)
		return;
	if (e == X_VALUE && x->stack[x->depth - 1].value != NULL)
		return;
	need = x->textlen + (size_t)len + 1;
	if (need > XMLRPC_MAX_BODY) {
		xmlrpc_fail(x, "a string longer than %d bytes", XMLRPC_MAX_BODY);
		return;
	}
	if (need > x->textsize) {
		x->textsize = need < 256 ? 256 : need * 2;
		if (x->textsize > XMLRPC_MAX_BODY)
			x->textsize = XMLRPC_MAX_BODY;
		x->text = xreallocarray(x->text, x->textsize, 1);
	}
	memcpy(x->text + x->textlen, s, len);
	x->textlen += len;
	x->text[x->textlen] = '\0';
}

/* The text of a scalar element, as a json-c value; NULL after a failure. */
static struct json_object *
xmlrpc_scalar(struct xmlrpc_parser *x, const char *type)
{
	const char	*t = x->text != NULL ? x->text : "";
	char		*end;
	long long	 ll;
	double		 d;

	if (strcmp(type, "string") == 0 || strcmp(type, "base64") == 0 ||
	    strcmp(type, "dateTime.iso8601") == 0)
		return (json_object_new_string_len(t, (int)x->textlen));
	if (strcmp(type, "nil") == 0)
		return (json_object_new_null());
	while (*t == ' ' || *t == '\t' || *t == '\n' || *t == '\r')
		t++;
	if (strcmp(type, "boolean") == 0) {
		if ((t[0] == '0' || t[0] == '1') &&
		    strspn(t + 1, " \t\r\n") == strlen(t + 1))
			return (json_object_new_boolean(t[0] == '1'));
		xmlrpc_fail(x, "bad boolean");
		return (NULL);
	}
	errno = 0;
	if (strcmp(type, "double") == 0) {
		d = strtod(t, &end);
		if (end == t || errno != 0 || strspn(end, " \t\r\n") !=
		    strlen(end)) {
			xmlrpc_fail(x, "bad double");
			return (NULL);
		}
		return (json_object_new_double(d));
	}
	ll = strtoll(t, &end, 10);
	if (end == t || errno != 0 || strspn(end, " \t\r\n") != strlen(end) ||
	    (strcmp(type, "i8") != 0 && (ll < INT_MIN || ll > INT_MAX))) {
		xmlrpc_fail(x, "bad %s", type);
		return (NULL);
	}
	return (json_object_new_int64(ll));
}

static void XMLCALL
xmlrpc_end(void *arg, const XML_Char *name)
{
	struct xmlrpc_parser	*x = arg;
	struct xmlrpc_frame	*f, *up;
	struct json_object	*v;

	if (x->depth == 0)
		return;
	f = &x->stack[x->depth - 1];
	up = x->depth > 1 ? &x->stack[x->depth - 2] : NULL;
	switch (f->elem) {
	case X_SCALAR:
		if ((v = xmlrpc_scalar(x, f->scalar)) == NULL)
			return;
		up->value = v;
		break;
	case X_NAME:
		free(up->name);
		up->name = xstrdup(x->text != NULL ? x->text : "");
		break;
	case X_VALUE:
		/* A value without a type element is a string. */
		v = f->value;
		if (v == NULL)
			v = json_object_new_string_len(x->text != NULL ?
			    x->text : "", (int)x->textlen);
		f->value = NULL;
		if (up->elem == X_DATA)
			json_object_array_add(x->stack[x->depth - 4].value, v);
		else if (up->elem == X_MEMBER) {
			if (up->value != NULL) {
				json_object_put(v);
				xmlrpc_fail(x, "a member with two values");
				return;
			}
			up->value = v;
		} else {	/* param or fault */
			if (x->result != NULL) {
				json_object_put(v);
				xmlrpc_fail(x, "two results");
				return;
			}
			x->result = v;
		}
		break;
	case X_MEMBER:
		if (f->name == NULL || f->value == NULL) {
			xmlrpc_fail(x, "a struct member without a name or "
			    "a value");
			return;
		}
		/* stack: ... value struct member */
		json_object_object_add(x->stack[x->depth - 3].value, f->name,
		    f->value);
		f->value = NULL;
		free(f->name);
		f->name = NULL;
		break;
	default:
		break;
	}
	x->depth--;
	xmlrpc_text_reset(x);
}

/* Forbid a DOCTYPE: no entities, no billion laughs. */
static void XMLCALL
xmlrpc_doctype(void *arg, const XML_Char *name, const XML_Char *sysid,
    const XML_Char *pubid, int has_internal_subset)
{
	xmlrpc_fail(arg, "a DOCTYPE in the response");
}

static void
xmlrpc_parser_free(struct xmlrpc_parser *x)
{
	int	i;

	/* Values move up as elements close: what is left is unowned. */
	for (i = 0; i < XMLRPC_MAX_DEPTH; i++) {
		if (x->stack[i].value != NULL)
			json_object_put(x->stack[i].value);
		free(x->stack[i].name);
		x->stack[i].value = NULL;
		x->stack[i].name = NULL;
	}
	free(x->text);
	if (x->p != NULL)
		XML_ParserFree(x->p);
}

/*
 * Parse a methodResponse of len bytes.  Returns XMLRPC_OK with the value
 * in *result (a new reference), XMLRPC_FAULT with the fault's code in
 * *faultcode and its string in err, or XMLRPC_ERROR with the reason in
 * err.
 */
int
xmlrpc_parse(const char *body, size_t len, struct json_object **result,
    int *faultcode, char *err, size_t errlen)
{
	struct xmlrpc_parser	 x;
	struct json_object	*v;
	char			*copy;
	size_t			 i;
	unsigned char		 c;
	int			 rc = XMLRPC_ERROR;

	*result = NULL;
	*faultcode = 0;
	if (len > XMLRPC_MAX_BODY) {
		snprintf(err, errlen, "response larger than %d bytes",
		    XMLRPC_MAX_BODY);
		return (XMLRPC_ERROR);
	}
	/* XML 1.0 forbids most C0 controls; logs are full of them. */
	copy = xmalloc(len + 1);
	for (i = 0; i < len; i++) {
		c = (unsigned char)body[i];
		copy[i] = (c < 0x20 && c != '\t' && c != '\n' && c != '\r') ?
		    '?' : (char)c;
	}
	copy[len] = '\0';

	memset(&x, 0, sizeof x);
	if ((x.p = XML_ParserCreate("UTF-8")) == NULL)
		fatalx("XML_ParserCreate: out of memory");
	XML_SetUserData(x.p, &x);
	XML_SetElementHandler(x.p, xmlrpc_start, xmlrpc_end);
	XML_SetCharacterDataHandler(x.p, xmlrpc_chars);
	XML_SetStartDoctypeDeclHandler(x.p, xmlrpc_doctype);
	if (XML_Parse(x.p, copy, (int)len, XML_TRUE) != XML_STATUS_OK) {
		if (x.err[0] != '\0')
			snprintf(err, errlen, "bad XML-RPC response: %s", x.err);
		else
			snprintf(err, errlen, "bad XML-RPC response: line %lu: "
			    "%s", (unsigned long)XML_GetCurrentLineNumber(x.p),
			    XML_ErrorString(XML_GetErrorCode(x.p)));
		goto done;
	}
	if (x.result == NULL) {
		snprintf(err, errlen, "bad XML-RPC response: no value");
		goto done;
	}
	if (!x.fault) {
		*result = x.result;
		x.result = NULL;
		rc = XMLRPC_OK;
		goto done;
	}
	if (!json_object_is_type(x.result, json_type_object) ||
	    !json_object_object_get_ex(x.result, "faultCode", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "bad XML-RPC fault: no faultCode");
		goto done;
	}
	*faultcode = json_object_get_int(v);
	if (json_object_object_get_ex(x.result, "faultString", &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(err, errlen, "%s", json_object_get_string(v));
	else
		snprintf(err, errlen, "fault %d", *faultcode);
	rc = XMLRPC_FAULT;
done:
	if (x.result != NULL)
		json_object_put(x.result);
	xmlrpc_parser_free(&x);
	free(copy);
	return (rc);
}

/* Append s to the request; escaped for XML character data if escape. */
static void
xmlrpc_append(char **buf, size_t *len, size_t *size, const char *s,
    int escape)
{
	const char	*rep;
	size_t		 n;

	for (; *s != '\0'; s++) {
		switch (escape ? *s : '\0') {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		default:
			rep = NULL;
			break;
		}
		n = rep != NULL ? strlen(rep) : 1;
		if (*len + n + 1 > *size) {
			*size = (*size + n + 1) * 2;
			*buf = xreallocarray(*buf, *size, 1);
		}
		if (rep != NULL)
			memcpy(*buf + *len, rep, n);
		else
			(*buf)[*len] = *s;
		*len += n;
	}
	(*buf)[*len] = '\0';
}

/*
 * A methodCall for method with nparams parameters: strings are escaped,
 * integers written as <int>.  Returns a malloc'd, NUL-terminated body the
 * caller frees.
 */
char *
xmlrpc_request(const char *method, const struct xmlrpc_param *params,
    size_t nparams)
{
	char	*buf, num[32];
	size_t	 len = 0, size = 256, i;

	buf = xmalloc(size);
	buf[0] = '\0';
#define RAW(s)	xmlrpc_append(&buf, &len, &size, (s), 0)
	RAW("<?xml version=\"1.0\"?>\n<methodCall><methodName>");
	xmlrpc_append(&buf, &len, &size, method, 1);
	RAW("</methodName><params>");
	for (i = 0; i < nparams; i++) {
		RAW("<param><value>");
		if (params[i].string != NULL) {
			RAW("<string>");
			xmlrpc_append(&buf, &len, &size, params[i].string, 1);
			RAW("</string>");
		} else {
			snprintf(num, sizeof num, "<int>%d</int>",
			    params[i].integer);
			RAW(num);
		}
		RAW("</value></param>");
	}
	RAW("</params></methodCall>\n");
#undef RAW
	return (buf);
}

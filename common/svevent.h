/*
 * The event model: what supervisord sent (header tokens + payload), as a
 * struct, and its JSON form (design.md, "events.jsonl"), built and parsed
 * with json-c.  Named svevent because libevent owns the event_ prefix.
 */
#ifndef SVRELAY_SVEVENT_H
#define SVRELAY_SVEVENT_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

struct svevent_token {
	char	*key;
	char	*value;
};

struct svevent {
	char			*id;	/* unique per event, stable on redelivery */
	char			*host;
	char			*server;	/* supervisord's identifier */
	char			*pool;
	int64_t			 serial;
	int64_t			 poolserial;
	char			*name;	/* e.g. PROCESS_STATE_FATAL */
	char			*time;	/* RFC 3339, UTC, milliseconds */

	struct svevent_token	*tokens;	/* the payload's key:value */
	size_t			 ntokens;

	char			*data;	/* text after the token line; */
	size_t			 datalen;	/* NULL unless svevent_has_data */

	struct json_object	*context;	/* optional extra object, owned */
};

/* An empty event; every field NULL or 0. */
struct svevent	*svevent_new(void);
void		 svevent_free(struct svevent *);

/* Does this event type carry data after its token line? */
int		 svevent_has_data(const char *name);
/* Is name a well-formed supervisord event name ([A-Z][A-Z0-9_]*)? */
int		 svevent_valid_name(const char *name);

/*
 * Split a supervisord payload (len bytes, not NUL-terminated) into tokens
 * and, for log and communication events, data.  ev->name must be set.
 * Returns 0, or -1 with a reason in err.
 */
int		 svevent_set_payload(struct svevent *, const char *payload,
		    size_t len, char *err, size_t errlen);

/* Value of payload token key, or NULL. */
const char	*svevent_token(const struct svevent *, const char *key);

/* Set ev->time to the given time, in RFC 3339 UTC with ms. */
void		 svevent_set_time(struct svevent *, int64_t unix_ms);
/* The same text into buf ("2026-11-24T07:19:24.123Z"). */
#define SVEVENT_TIME_LEN	32
void		 svevent_format_time(int64_t unix_ms, char *buf, size_t len);
int64_t		 svevent_now_ms(void);

/*
 * The JSON object of design.md; a new reference the caller puts.
 */
struct json_object *svevent_to_json(const struct svevent *);

/*
 * One JSON line with its trailing '\n', malloc'd; *lenp gets its length.
 */
char		*svevent_to_line(const struct svevent *, size_t *lenp);

/*
 * Any JSON object as one line (plain, '/' not escaped) with its '\n',
 * malloc'd; *lenp gets its length.  The object stays the caller's.
 */
char		*svevent_json_line(struct json_object *, size_t *lenp);

/*
 * Parse and validate one JSON line (without or with its '\n').  Returns a
 * new event, or NULL with a reason in err naming what is wrong.
 */
struct svevent	*svevent_from_json(const char *line, size_t len, char *err,
		    size_t errlen);
struct svevent	*svevent_from_object(struct json_object *, char *err,
		    size_t errlen);

#endif

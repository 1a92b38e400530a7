/*
 * What travels on svrelayd's Unix socket besides events.  A client sends
 * JSON lines: an event (common/svevent.h), or a command {"cmd":"status"}.
 * svrelayd answers each line with one JSON line, in order:
 *
 *   {"ok":true,"id":"…"}                          stored and synced
 *   {"ok":true,"id":"…","duplicate":true}         seen before, not stored again
 *   {"ok":false,"id":"…","error":"…","temporary":true}
 *                                                  could not store it now (disk
 *                                                  full, …): try again or fall
 *                                                  back to the hand-off directory
 *   {"ok":false,"error":"…","temporary":false}    refused: the line is bad
 *   {"ok":true,"status":{…}}                      answer to a command
 */
#ifndef SVRELAY_WIRE_H
#define SVRELAY_WIRE_H

#include <stddef.h>

#define WIRE_MAX_ID	256
#define WIRE_MAX_ERROR	512

struct wire_reply {
	int	ok;
	int	duplicate;
	int	temporary;
	char	id[WIRE_MAX_ID];	/* "" when the request had none */
	char	error[WIRE_MAX_ERROR];	/* "" when ok */
};

/* One reply line with its '\n', malloc'd; *lenp gets its length. */
char	*wire_reply_line(const struct wire_reply *, size_t *lenp);

/*
 * Parse a reply line (with or without '\n').  Returns 0, or -1 with a
 * reason in err.
 */
int	 wire_parse_reply(const char *line, size_t len, struct wire_reply *,
	    char *err, size_t errlen);

#endif

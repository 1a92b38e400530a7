/*
 * libFuzzer target: wire_parse_reply on arbitrary bytes.  A parsed reply
 * must survive wire_reply_line and parse back the same.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_reply	 r, r2;
	char			 err[256], *line;
	size_t			 len;

	err[0] = '\0';
	if (wire_parse_reply((const char *)data, size, &r, err,
	    sizeof err) != 0) {
		if (err[0] == '\0')
			abort();
		return (0);
	}
	if (memchr(r.id, '\0', sizeof r.id) == NULL ||
	    memchr(r.error, '\0', sizeof r.error) == NULL)
		abort();
	line = wire_reply_line(&r, &len);
	if (wire_parse_reply(line, len, &r2, err, sizeof err) != 0)
		abort();
	if (r.ok != r2.ok || strcmp(r.id, r2.id) != 0 ||
	    (r.duplicate != 0) != (r2.duplicate != 0) ||
	    (!r.ok && ((r.temporary != 0) != (r2.temporary != 0) ||
	    strcmp(r.error, r2.error) != 0)))
		abort();
	free(line);
	return (0);
}

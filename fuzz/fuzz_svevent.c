/*
 * libFuzzer target: svevent_from_json on arbitrary bytes.  Whatever it
 * accepts must serialise and parse back to the same line.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "svevent.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct svevent	*ev, *ev2;
	char		 err[256], *line, *line2;
	size_t		 len, len2;

	err[0] = '\0';
	if ((ev = svevent_from_json((const char *)data, size, err,
	    sizeof err)) == NULL) {
		if (err[0] == '\0')
			abort();	/* a refusal always says why */
		return (0);
	}
	line = svevent_to_line(ev, &len);
	if ((ev2 = svevent_from_json(line, len, err, sizeof err)) == NULL)
		abort();		/* we must read back what we write */
	line2 = svevent_to_line(ev2, &len2);
	if (len != len2 || memcmp(line, line2, len) != 0)
		abort();
	free(line);
	free(line2);
	svevent_free(ev);
	svevent_free(ev2);
	return (0);
}

/*
 * libFuzzer target: conf_load on a temp file holding the input.
 *
 * Inputs with "@include" are skipped: libconfig would read whatever file
 * they name (/dev/zero, a FIFO), which tests the machine, not svrelay.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	path[64];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c;
	char		*errstr = NULL;
	FILE		*f;
	int		 fd;

	if (memmem(data, size, "include", 7) != NULL)
		return (0);
	if (path[0] == '\0') {
		snprintf(path, sizeof path, "/tmp/svrelay-fuzz-conf.XXXXXX");
		if ((fd = mkstemp(path)) == -1)
			abort();
		close(fd);
	}
	if ((f = fopen(path, "w")) == NULL)
		abort();
	if (size > 0 && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);

	c = conf_load(path, &errstr);
	if (c == NULL) {
		if (errstr == NULL || errstr[0] == '\0')
			abort();	/* a failure always says why */
		if (strncmp(errstr, path, strlen(path)) != 0)
			abort();	/* and names the file */
	} else if (errstr != NULL)
		abort();
	free(errstr);
	conf_free(c);
	return (0);
}

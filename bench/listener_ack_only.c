/*
 * bench/listener_ack_only: the protocol floor for the listener benchmark.
 * A minimal eventlistener that reads each event (header, then len code
 * points of payload) and answers OK without doing anything with it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char	buf[65536];
static size_t	off, end;

static int
fill(void)
{
	ssize_t	n;

	if (off == end)
		off = end = 0;
	if (end == sizeof buf) {
		memmove(buf, buf + off, end - off);
		end -= off;
		off = 0;
	}
	n = read(0, buf + end, sizeof buf - end);
	if (n <= 0)
		return (-1);
	end += n;
	return (0);
}

int
main(void)
{
	char		*nl, *p;
	size_t		 len, cont;
	unsigned char	 c;

	for (;;) {
		if (write(1, "READY\n", 6) != 6)
			return (1);
		while ((nl = memchr(buf + off, '\n', end - off)) == NULL)
			if (fill() == -1)
				return (0);
		*nl = '\0';
		if ((p = strstr(buf + off, "len:")) == NULL)
			return (1);
		len = strtoul(p + 4, NULL, 10);
		off = nl - buf + 1;
		cont = 0;
		while (len > 0 || cont > 0) {
			if (off == end && fill() == -1)
				return (1);
			c = buf[off++];
			if (cont > 0) {
				cont--;
				continue;
			}
			len--;
			cont = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
		}
		if (write(1, "RESULT 2\nOK", 11) != 11)
			return (1);
	}
}

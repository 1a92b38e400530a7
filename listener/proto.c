/*
 * supervisord's eventlistener protocol, the listener's side: READY, a
 * header line, a payload of len Unicode code points (supervisord counts
 * len() of a Python str, process.py _eventEnvelope), RESULT OK or FAIL.
 * supervisord sends nothing after a payload until the next READY, so a
 * read never waits for bytes that are not coming.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "svevent.h"
#include "xmalloc.h"
#include "listener.h"

void
proto_init_fd(struct proto_reader *r, int fd)
{
	memset(r, 0, sizeof *r);
	r->fd = fd;
}

/*
 * Read from memory (not copied: it must outlive the reader), chunk bytes
 * per fill (0: all that fits).
 */
void
proto_init_mem(struct proto_reader *r, const void *mem, size_t len,
    size_t chunk)
{
	memset(r, 0, sizeof *r);
	r->fd = -1;
	r->mem = mem;
	r->memlen = len;
	r->chunk = chunk;
}

/* Free the payload buffer; the reader may be used again. */
void
proto_clear(struct proto_reader *r)
{
	free(r->payload);
	r->payload = NULL;
	r->payloadsize = 0;
}

/*
 * Read more into buf after end.  Returns bytes added, 0 at end of input,
 * -1 on a read error (err set).
 */
static ssize_t
proto_fill(struct proto_reader *r)
{
	struct pollfd	pfd;
	size_t		space = sizeof r->buf - r->end, n;
	ssize_t		got;

	if (r->fd == -1) {
		n = r->memlen - r->memoff;
		if (r->chunk > 0 && n > r->chunk)
			n = r->chunk;
		if (n > space)
			n = space;
		memcpy(r->buf + r->end, r->mem + r->memoff, n);
		r->memoff += n;
		r->end += n;
		return ((ssize_t)n);
	}
	for (;;) {
		got = read(r->fd, r->buf + r->end, space);
		if (got >= 0)
			break;
		if (errno != EINTR && errno != EAGAIN) {
			snprintf(r->err, sizeof r->err, "read from supervisord: "
			    "%s", strerror(errno));
			return (-1);
		}
		if (errno == EAGAIN) {	/* a non-blocking stdin */
			pfd.fd = r->fd;
			pfd.events = POLLIN;
			pfd.revents = 0;
			(void)poll(&pfd, 1, -1);
		}
	}
	r->end += got;
	return (got);
}

/* Move unread bytes to the start of buf. */
static void
proto_compact(struct proto_reader *r)
{
	if (r->off == 0)
		return;
	memmove(r->buf, r->buf + r->off, r->end - r->off);
	r->end -= r->off;
	r->off = 0;
}

/*
 * Wait until input is there (or at its end), with the signals of mask
 * deliverable meanwhile.  Returns 0, or -1 with errno EINTR when a
 * signal came first.
 */
int
proto_wait(struct proto_reader *r, const sigset_t *mask)
{
	struct pollfd	pfd;

	if (r->fd == -1 || r->off < r->end)
		return (0);
	pfd.fd = r->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (ppoll(&pfd, 1, NULL, mask) == -1)
		return (-1);
	return (0);
}

/* Quote at most 40 bytes of s for a message, control bytes as '?'. */
static const char *
proto_quote(const char *s, size_t len, char *out, size_t outlen)
{
	size_t	i, n;

	n = len < 40 ? len : 40;
	if (n > outlen - 4)
		n = outlen - 4;
	for (i = 0; i < n; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		    s[i];
	if (n < len)
		memcpy(out + n, "...", 4);
	else
		out[n] = '\0';
	return (out);
}

/*
 * Is s valid UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF)?  Returns -1, or the offset of the first bad byte.
 */
static ssize_t
proto_utf8_bad(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, k, cont;
	unsigned char		 lo, hi;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (p[i] >= 0xc2 && p[i] <= 0xdf)
			cont = 1;
		else if (p[i] >= 0xe0 && p[i] <= 0xef) {
			cont = 2;
			lo = p[i] == 0xe0 ? 0xa0 : 0x80;
			hi = p[i] == 0xed ? 0x9f : 0xbf;
		} else if (p[i] >= 0xf0 && p[i] <= 0xf4) {
			cont = 3;
			lo = p[i] == 0xf0 ? 0x90 : 0x80;
			hi = p[i] == 0xf4 ? 0x8f : 0xbf;
		} else
			return ((ssize_t)i);
		for (k = 1; k <= cont; k++) {
			if (i + k >= len || p[i + k] < lo || p[i + k] > hi)
				return ((ssize_t)(i + k < len ? i + k : i));
			lo = 0x80;
			hi = 0xbf;
		}
		i += cont + 1;
	}
	return (-1);
}

/* Non-negative decimal, no sign, no spaces, at most max. */
static int
proto_number(const char *s, int64_t max, int64_t *vp)
{
	int64_t	v = 0;

	if (*s == '\0')
		return (-1);
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return (-1);
		if (v > (INT64_MAX - (*s - '0')) / 10)
			return (-2);
		v = v * 10 + (*s - '0');
	}
	if (v > max)
		return (-2);
	*vp = v;
	return (0);
}

/* Is s (NUL-terminated) non-empty, short enough and free of controls? */
static int
proto_field_ok(const char *s)
{
	size_t	n;

	for (n = 0; s[n] != '\0'; n++) {
		if ((unsigned char)s[n] < 0x20 || s[n] == 0x7f)
			return (0);
	}
	return (n > 0 && n <= PROTO_MAX_FIELD);
}

/*
 * Parse a header line (len bytes, without its '\n') into h; the tokens
 * may come in any order and unknown ones are ignored.  Returns 0, or -1
 * with what is wrong in err.
 */
int
proto_parse_header(struct proto_header *h, const char *line, size_t len,
    char *err, size_t errlen)
{
	static const char	*keys[] = { "ver", "server", "serial", "pool",
	    "poolserial", "eventname", "len" };
	const char		*val[7] = { NULL };
	char			*p, *word, *colon, q[64];
	int64_t			 v;
	size_t			 i;
	ssize_t			 bad;
	int			 rc;

	/* Not the 8 KiB line: it is written below up to its NUL. */
	h->line[0] = '\0';
	h->ver = h->server = h->pool = h->eventname = NULL;
	h->serial = h->poolserial = 0;
	h->len = 0;
	if (len > PROTO_MAX_HEADER) {
		snprintf(err, errlen, "header line longer than %d bytes",
		    PROTO_MAX_HEADER);
		return (-1);
	}
	if (len == 0) {
		snprintf(err, errlen, "empty header line");
		return (-1);
	}
	if (memchr(line, '\0', len) != NULL) {
		snprintf(err, errlen, "header line has a NUL byte");
		return (-1);
	}
	if ((bad = proto_utf8_bad(line, len)) != -1) {
		snprintf(err, errlen, "header line is not UTF-8: byte 0x%02x "
		    "at offset %zd", (unsigned char)line[bad], bad);
		return (-1);
	}
	memcpy(h->line, line, len);
	h->line[len] = '\0';

	for (p = h->line; p != NULL; ) {
		word = p;
		if ((p = strchr(p, ' ')) != NULL)
			*p++ = '\0';
		if (*word == '\0')
			continue;
		if ((colon = strchr(word, ':')) == NULL || colon == word) {
			snprintf(err, errlen, "header token '%s' is not "
			    "key:value", proto_quote(word, strlen(word), q,
			    sizeof q));
			return (-1);
		}
		*colon = '\0';
		for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
			if (strcmp(word, keys[i]) == 0)
				break;
		}
		if (i == sizeof keys / sizeof keys[0])
			continue;	/* a token a later supervisord added */
		if (val[i] != NULL) {
			snprintf(err, errlen, "header token '%s' appears twice",
			    keys[i]);
			return (-1);
		}
		val[i] = colon + 1;
	}
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (val[i] == NULL) {
			snprintf(err, errlen, "header lacks token '%s' (%s)",
			    keys[i], proto_quote(line, len, q, sizeof q));
			return (-1);
		}
	}
	h->ver = val[0];
	h->server = val[1];
	h->pool = val[3];
	h->eventname = val[5];
	if (*h->ver == '\0') {
		snprintf(err, errlen, "header token 'ver' is empty");
		return (-1);
	}
	if (!proto_field_ok(h->server) || !proto_field_ok(h->pool)) {
		snprintf(err, errlen, "header token '%s' is empty, longer "
		    "than %d bytes or has control characters",
		    proto_field_ok(h->server) ? "pool" : "server",
		    PROTO_MAX_FIELD);
		return (-1);
	}
	if (!svevent_valid_name(h->eventname)) {
		snprintf(err, errlen, "header token 'eventname' is not an "
		    "event name: '%s'", proto_quote(h->eventname,
		    strlen(h->eventname), q, sizeof q));
		return (-1);
	}
	for (i = 2; i <= 6; i += 2) {	/* serial, poolserial, len */
		rc = proto_number(val[i], i == 6 ? PROTO_MAX_LEN : INT64_MAX,
		    &v);
		if (rc == -1) {
			snprintf(err, errlen, "header token '%s' is not a "
			    "number: '%s'", keys[i], proto_quote(val[i],
			    strlen(val[i]), q, sizeof q));
			return (-1);
		}
		if (rc == -2) {
			snprintf(err, errlen, "header token '%s' is too large: "
			    "'%s' (at most %" PRId64 ")", keys[i],
			    proto_quote(val[i], strlen(val[i]), q, sizeof q),
			    i == 6 ? (int64_t)PROTO_MAX_LEN : INT64_MAX);
			return (-1);
		}
		if (i == 2)
			h->serial = v;
		else if (i == 4)
			h->poolserial = v;
		else
			h->len = (size_t)v;
	}
	return (0);
}

/*
 * Read one header line.  Returns 0 with h filled, PROTO_EOF at end of
 * input before any byte of it, or PROTO_ERROR with the reason in r->err.
 */
int
proto_read_header(struct proto_reader *r, struct proto_header *h)
{
	char	*nl, q[64];
	size_t	 scanned = 0, linelen;
	ssize_t	 got;

	for (;;) {
		nl = memchr(r->buf + r->off + scanned, '\n',
		    r->end - r->off - scanned);
		if (nl != NULL) {
			linelen = nl - (r->buf + r->off);
			if (proto_parse_header(h, r->buf + r->off, linelen,
			    r->err, sizeof r->err) != 0)
				return (PROTO_ERROR);
			r->off += linelen + 1;
			return (0);
		}
		scanned = r->end - r->off;
		if (scanned > PROTO_MAX_HEADER) {
			snprintf(r->err, sizeof r->err, "header line longer "
			    "than %d bytes (%s)", PROTO_MAX_HEADER,
			    proto_quote(r->buf + r->off, scanned, q, sizeof q));
			return (PROTO_ERROR);
		}
		proto_compact(r);
		if ((got = proto_fill(r)) == -1)
			return (PROTO_ERROR);
		if (got == 0) {
			if (scanned == 0)
				return (PROTO_EOF);
			snprintf(r->err, sizeof r->err, "end of input in the "
			    "middle of a header, after %zu bytes (%s)", scanned,
			    proto_quote(r->buf + r->off, scanned, q, sizeof q));
			return (PROTO_ERROR);
		}
	}
}

/*
 * Read a payload of len code points of UTF-8 (all supervisord sends: it
 * encodes a Python str).  Each code point's length comes from its first
 * byte, so no read asks for a byte past the payload's end.  On 0,
 * *payloadp and *sizep give the bytes, valid until the next call;
 * PROTO_ERROR has the reason in r->err (end of input, bytes that are not
 * UTF-8).
 */
int
proto_read_payload(struct proto_reader *r, size_t len, const char **payloadp,
    size_t *sizep)
{
	size_t		 need = len, n = 0, i, avail, want;
	unsigned char	 c, lo = 0x80, hi = 0xbf;
	int		 cont = 0;
	ssize_t		 got;

	if (r->payloadsize > PROTO_KEEP_PAYLOAD)
		proto_clear(r);
	while (need > 0 || cont > 0) {
		if (r->off == r->end) {
			r->off = r->end = 0;
			if ((got = proto_fill(r)) == -1)
				return (PROTO_ERROR);
			if (got == 0) {
				snprintf(r->err, sizeof r->err, "end of input in "
				    "the middle of a payload, after %zu of %zu "
				    "code points (%zu bytes)", len - need -
				    (cont > 0), len, n);
				return (PROTO_ERROR);
			}
		}
		avail = r->end - r->off;
		for (i = 0; i < avail && (need > 0 || cont > 0); i++) {
			c = (unsigned char)r->buf[r->off + i];
			if (cont > 0) {
				if (c < lo || c > hi)
					goto bad;
				lo = 0x80;
				hi = 0xbf;
				cont--;
				continue;
			}
			need--;
			if (c < 0x80)
				continue;
			if (c >= 0xc2 && c <= 0xdf)
				cont = 1;
			else if (c >= 0xe0 && c <= 0xef) {
				cont = 2;
				lo = c == 0xe0 ? 0xa0 : 0x80;
				hi = c == 0xed ? 0x9f : 0xbf;
			} else if (c >= 0xf0 && c <= 0xf4) {
				cont = 3;
				lo = c == 0xf0 ? 0x90 : 0x80;
				hi = c == 0xf4 ? 0x8f : 0xbf;
			} else
				goto bad;
		}
		want = n + i + 1;
		if (want > r->payloadsize) {
			if (r->payloadsize == 0)
				r->payloadsize = 4096;
			while (r->payloadsize < want)
				r->payloadsize *= 2;
			r->payload = xreallocarray(r->payload, 1,
			    r->payloadsize);
		}
		memcpy(r->payload + n, r->buf + r->off, i);
		n += i;
		r->off += i;
	}
	if (r->payload == NULL) {
		r->payloadsize = 4096;
		r->payload = xmalloc(r->payloadsize);
	}
	r->payload[n] = '\0';
	*payloadp = r->payload;
	*sizep = n;
	return (0);

bad:
	snprintf(r->err, sizeof r->err, "payload is not UTF-8: byte 0x%02x "
	    "at offset %zu", c, n + i);
	return (PROTO_ERROR);
}

/*
 * The event for a header and its payload, with id
 * host:server:supervisord pid:serial (the same when supervisord sends
 * the event again).  Returns a new event for the caller to free, or NULL
 * with err set when the payload is not what its event type carries.
 */
struct svevent *
proto_event(const struct proto_header *h, const char *payload, size_t size,
    const char *host, long ppid, char *err, size_t errlen)
{
	struct svevent	*ev;
	char		 why[256];

	ev = svevent_new();
	ev->name = xstrdup(h->eventname);
	if (svevent_set_payload(ev, payload, size, why, sizeof why) != 0) {
		snprintf(err, errlen, "event %" PRId64 " (%s): %s", h->serial,
		    h->eventname, why);
		svevent_free(ev);
		return (NULL);
	}
	xasprintf(&ev->id, "%s:%s:%ld:%" PRId64, host, h->server, ppid,
	    h->serial);
	ev->host = xstrdup(host);
	ev->server = xstrdup(h->server);
	ev->pool = xstrdup(h->pool);
	ev->serial = h->serial;
	ev->poolserial = h->poolserial;
	svevent_set_time(ev, svevent_now_ms());
	return (ev);
}

/* Write all of s; -1 on an error (EPIPE: supervisord went away). */
static int
proto_write_all(int fd, const char *s, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, s, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		s += n;
		len -= n;
	}
	return (0);
}

int
proto_write_ready(int fd)
{
	return (proto_write_all(fd, PROTO_READY, sizeof PROTO_READY - 1));
}

/* RESULT 2\nOK or RESULT 4\nFAIL, with no newline after: one write. */
int
proto_write_result(int fd, int ok)
{
	if (ok)
		return (proto_write_all(fd, PROTO_RESULT_OK,
		    sizeof PROTO_RESULT_OK - 1));
	return (proto_write_all(fd, PROTO_RESULT_FAIL,
	    sizeof PROTO_RESULT_FAIL - 1));
}

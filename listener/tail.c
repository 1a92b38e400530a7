/*
 * Log tails for the crash context: cut to whole lines and valid UTF-8
 * within a byte cap, and secrets replaced with "[redacted]".  Used by the
 * svrelay-context helper on what supervisord's tailProcess*Log returns.
 */
#include "config.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmalloc.h"
#include "listener.h"

#define TAIL_REPLACEMENT	"\xef\xbf\xbd"	/* U+FFFD */

/*
 * Length of the valid UTF-8 sequence at p (at most left bytes), or 0 if
 * there is none there (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
 */
static size_t
tail_utf8_seq(const unsigned char *p, size_t left)
{
	size_t	n, i;

	if (p[0] < 0x80)
		return (1);
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return (0);
	if (left < n)
		return (0);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
	}
	if (p[0] == 0xe0 && p[1] < 0xa0)
		return (0);		/* overlong */
	if (p[0] == 0xed && p[1] > 0x9f)
		return (0);		/* surrogate */
	if (p[0] == 0xf0 && p[1] < 0x90)
		return (0);		/* overlong */
	if (p[0] == 0xf4 && p[1] > 0x8f)
		return (0);		/* > U+10FFFF */
	return (n);
}

/*
 * A copy of in (len bytes) that is valid UTF-8: continuation bytes at the
 * start (a character cut by the tail) and an incomplete character at the
 * end are dropped, other invalid bytes become U+FFFD, NUL becomes '?'.
 * Returns a malloc'd string; its length goes to *outlen.
 */
char *
tail_utf8(const char *in, size_t len, size_t *outlen)
{
	const unsigned char	*p = (const unsigned char *)in;
	char			*out;
	size_t			 i = 0, o = 0, n;

	out = xmalloc(len * 3 + 1);
	while (i < len && i < 3 && (p[i] & 0xc0) == 0x80)
		i++;
	while (i < len) {
		if ((n = tail_utf8_seq(p + i, len - i)) > 0) {
			if (n == 1 && p[i] == '\0')
				out[o++] = '?';
			else {
				memcpy(out + o, p + i, n);
				o += n;
			}
			i += n;
			continue;
		}
		/* An incomplete last character: cut, not replaced. */
		if (len - i < 4 && p[i] >= 0xc2 && p[i] <= 0xf4) {
			for (n = 1; i + n < len && (p[i + n] & 0xc0) == 0x80;)
				n++;
			if (i + n == len)
				break;
		}
		memcpy(out + o, TAIL_REPLACEMENT, 3);
		o += 3;
		i++;
	}
	out[o] = '\0';
	*outlen = o;
	return (out);
}

/*
 * Cut s (len bytes of valid UTF-8, NUL-terminated, malloc'd) to at most
 * cap bytes from its end.  If partial (the text did not start at the
 * start of the log) or it had to cut, the first line is dropped as it is
 * likely incomplete -- unless it is the only line, which is then kept
 * from a character boundary.  Returns s, changed in place; *lenp is
 * updated.
 */
char *
tail_trim(char *s, size_t *lenp, size_t cap, int partial)
{
	size_t	 len = *lenp, start = 0;
	char	*nl;

	if (len > cap) {
		start = len - cap;
		while (start < len && ((unsigned char)s[start] & 0xc0) == 0x80)
			start++;
		partial = 1;
	}
	if (partial && (nl = memchr(s + start, '\n', len - start)) != NULL &&
	    (size_t)(nl - s) + 1 < len)
		start = (size_t)(nl - s) + 1;
	if (start > 0) {
		memmove(s, s + start, len - start);
		len -= start;
		s[len] = '\0';
	}
	*lenp = len;
	return (s);
}

/*
 * Replace every match of the n compiled patterns in *sp with
 * TAIL_REDACTED.  Patterns are compiled with REG_EXTENDED | REG_NEWLINE,
 * so they never match across lines.  *sp is a malloc'd NUL-terminated
 * string, replaced by a new one when anything matched; returns the
 * number of replacements.
 */
int
tail_redact(char **sp, const regex_t *res, size_t n)
{
	regmatch_t	 m;
	char		*s = *sp, *out;
	size_t		 i, off, olen, osize, rlen = strlen(TAIL_REDACTED);
	size_t		 slen;
	int		 count = 0, eflags;

	for (i = 0; i < n; i++) {
		slen = strlen(s);
		osize = slen + 1;
		out = xmalloc(osize);
		olen = 0;
		off = 0;
		eflags = 0;
		while (off <= slen && regexec(&res[i], s + off, 1, &m,
		    eflags) == 0) {
			if (m.rm_so == m.rm_eo) {
				/* An empty match: keep one byte, go on. */
				if (off == slen)
					break;
				m.rm_eo = m.rm_so + 1;
				if (olen + (size_t)m.rm_eo + 1 > osize) {
					osize = (olen + m.rm_eo + 1) * 2;
					out = xreallocarray(out, osize, 1);
				}
				memcpy(out + olen, s + off, m.rm_eo);
				olen += m.rm_eo;
				off += m.rm_eo;
				eflags = s[off - 1] == '\n' ? 0 : REG_NOTBOL;
				continue;
			}
			if (olen + m.rm_so + rlen + 1 > osize) {
				osize = (olen + m.rm_so + rlen + 1) * 2;
				out = xreallocarray(out, osize, 1);
			}
			memcpy(out + olen, s + off, m.rm_so);
			olen += m.rm_so;
			memcpy(out + olen, TAIL_REDACTED, rlen);
			olen += rlen;
			off += m.rm_eo;
			count++;
			eflags = off > 0 && s[off - 1] == '\n' ? 0 : REG_NOTBOL;
		}
		if (olen + (slen - off) + 1 > osize) {
			osize = olen + (slen - off) + 1;
			out = xreallocarray(out, osize, 1);
		}
		memcpy(out + olen, s + off, slen - off);
		olen += slen - off;
		out[olen] = '\0';
		free(s);
		s = out;
	}
	*sp = s;
	return (count);
}

/*
 * Find the last "exited: NAME (exit status N; …)" or "exited: NAME
 * (terminated by SIGX…; …)" line for process name in log, supervisord's
 * main log.  Returns 1 with the status in *status, 2 with the signal's
 * name in sig, or 0 when there is none.
 */
int
tail_exit_status(const char *log, const char *name, int *status, char *sig,
    size_t siglen)
{
	const char	*line, *end, *p, *found = NULL;
	char		 pat[320];
	size_t		 plen, n;
	long		 v;
	char		*e;

	if (snprintf(pat, sizeof pat, " exited: %s (", name) >=
	    (int)sizeof pat)
		return (0);
	plen = strlen(pat);
	for (line = log; *line != '\0'; line = *end == '\n' ? end + 1 : end) {
		end = line + strcspn(line, "\n");
		for (p = line; (size_t)(end - p) >= plen; p++) {
			if (memcmp(p, pat, plen) == 0) {
				found = p + plen;
				break;
			}
		}
	}
	if (found == NULL)
		return (0);
	if (strncmp(found, "exit status ", 12) == 0) {
		v = strtol(found + 12, &e, 10);
		if (e == found + 12 || *e != ';' || v < 0 || v > 255)
			return (0);
		*status = (int)v;
		return (1);
	}
	if (strncmp(found, "terminated by ", 14) == 0) {
		p = found + 14;
		n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-");
		if (n == 0 || n >= siglen)
			return (0);
		memcpy(sig, p, n);
		sig[n] = '\0';
		if (strncmp(p + n, " (core dumped)", 14) == 0 &&
		    n + 14 < siglen)
			memcpy(sig + n, " (core dumped)", 15);
		return (2);
	}
	return (0);
}

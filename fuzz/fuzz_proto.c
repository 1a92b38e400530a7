/* fuzz-sources: listener/proto.c */
/*
 * libFuzzer target: the listener's reader of supervisord's side of the
 * protocol (headers, payloads by code points) on arbitrary bytes, handed
 * out in chunks of the size the first byte picks.  Every event it
 * accepts must make a JSON line that svrelayd's parser accepts back.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "svevent.h"
#include "listener/listener.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct proto_reader	reader;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_reader	*r = &reader;
	struct proto_header	 h;
	struct svevent		*ev, *back;
	const char		*payload;
	char			 err[PROTO_ERRLEN], *line;
	size_t			 n, len;
	int			 i, rc;

	if (size < 1)
		return (0);
	proto_init_mem(r, data + 1, size - 1, data[0] % 17);
	for (i = 0; i < 64; i++) {
		r->err[0] = '\0';
		rc = proto_read_header(r, &h);
		if (rc == PROTO_EOF)
			break;
		if (rc == PROTO_ERROR) {
			if (r->err[0] == '\0')
				abort();
			break;
		}
		if (rc != 0 || h.len > PROTO_MAX_LEN)
			abort();
		if (proto_read_payload(r, h.len, &payload, &n) != 0) {
			if (r->err[0] == '\0')
				abort();
			break;
		}
		if (n < h.len || n > 4 * h.len || payload[n] != '\0')
			abort();
		err[0] = '\0';
		ev = proto_event(&h, payload, n, "fuzz-host", 1, err,
		    sizeof err);
		if (ev == NULL) {
			if (err[0] == '\0')
				abort();
			continue;
		}
		line = svevent_to_line(ev, &len);
		back = svevent_from_json(line, len, err, sizeof err);
		if (back == NULL)
			abort();
		svevent_free(back);
		svevent_free(ev);
		free(line);
	}
	proto_clear(r);
	return (0);
}

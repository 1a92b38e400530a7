/*
 * libFuzzer target: svevent_from_json on arbitrary bytes, and the same
 * bytes as a supervisord payload (svevent_set_payload) for an event type
 * picked by the first byte.  Whatever either accepts must serialise and
 * parse back to the same line.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "svevent.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char	*names[] = {
	"PROCESS_STATE_STARTING", "PROCESS_STATE_EXITED", "PROCESS_STATE_FATAL",
	"PROCESS_LOG_STDOUT", "PROCESS_COMMUNICATION_STDERR",
	"REMOTE_COMMUNICATION", "SUPERVISOR_STATE_CHANGE_RUNNING", "TICK_60",
	"PROCESS_GROUP_ADDED", "SOME_FUTURE_EVENT"
};

static void
roundtrip(const struct svevent *ev)
{
	struct svevent	*ev2;
	char		 err[256], *line, *line2;
	size_t		 len, len2;

	line = svevent_to_line(ev, &len);
	if ((ev2 = svevent_from_json(line, len, err, sizeof err)) == NULL)
		abort();		/* we must read back what we write */
	line2 = svevent_to_line(ev2, &len2);
	if (len != len2 || memcmp(line, line2, len) != 0)
		abort();
	free(line);
	free(line2);
	svevent_free(ev2);
}

static void
payload(const uint8_t *data, size_t size)
{
	struct svevent	*ev;
	char		 err[256];

	if (size == 0)
		return;
	ev = svevent_new();
	ev->id = strdup("h:s:1:1");
	ev->host = strdup("h");
	ev->server = strdup("s");
	ev->pool = strdup("p");
	ev->name = strdup(names[data[0] % (sizeof names / sizeof names[0])]);
	svevent_set_time(ev, (int64_t)data[0] * 1000003);
	err[0] = '\0';
	if (svevent_set_payload(ev, (const char *)data + 1, size - 1, err,
	    sizeof err) == 0)
		roundtrip(ev);
	else if (err[0] == '\0' || ev->ntokens != 0 || ev->data != NULL)
		abort();
	svevent_free(ev);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct svevent	*ev;
	char		 err[256];

	payload(data, size);
	err[0] = '\0';
	if ((ev = svevent_from_json((const char *)data, size, err,
	    sizeof err)) == NULL) {
		if (err[0] == '\0')
			abort();	/* a refusal always says why */
		return (0);
	}
	roundtrip(ev);
	svevent_free(ev);
	return (0);
}

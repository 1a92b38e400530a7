/*
 * bench/ingest_client SOCKET PREFIX N [WINDOW]: send N events to svrelayd,
 * at most WINDOW unacknowledged at a time (1, the default, is how a
 * listener works: send, wait for the ack, send the next).  Prints
 * "<acked> <seconds>" on stdout.  Standalone: no svrelay code.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	static char		 in[1 << 16];
	char			 line[1024];
	long			 n, window, sent = 0, acked = 0, okc = 0;
	size_t			 have = 0, len;
	ssize_t			 r;
	char			*p;
	double			 t0;
	int			 fd;

	if (argc < 4) {
		fprintf(stderr, "usage: ingest_client socket prefix n "
		    "[window]\n");
		return (2);
	}
	n = atol(argv[3]);
	window = argc > 4 ? atol(argv[4]) : 1;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, argv[1], sizeof sun.sun_path - 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		perror(argv[1]);
		return (1);
	}
	t0 = now();
	while (acked < n) {
		while (sent < n && sent - acked < window) {
			len = snprintf(line, sizeof line, "{\"id\":\"%s-%ld\","
			    "\"host\":\"bench\",\"server\":\"sv\",\"pool\":"
			    "\"svrelay\",\"serial\":%ld,\"poolserial\":%ld,"
			    "\"event\":\"PROCESS_STATE_EXITED\",\"time\":"
			    "\"2026-01-02T03:04:05.678Z\",\"payload\":{"
			    "\"processname\":\"api_%02ld\",\"groupname\":\"api\","
			    "\"from_state\":\"RUNNING\",\"expected\":\"1\","
			    "\"pid\":\"%ld\"}}\n", argv[2], sent, sent, sent,
			    sent % 32, 1000 + sent);
			if (write(fd, line, len) != (ssize_t)len) {
				perror("write");
				return (1);
			}
			sent++;
		}
		if ((r = read(fd, in + have, sizeof in - have)) <= 0) {
			fprintf(stderr, "svrelayd closed after %ld acks\n",
			    acked);
			return (1);
		}
		have += r;
		while ((p = memchr(in, '\n', have)) != NULL) {
			if (strncmp(in, "{\"ok\":true", 10) == 0)
				okc++;
			acked++;
			len = p + 1 - in;
			memmove(in, p + 1, have - len);
			have -= len;
		}
	}
	printf("%ld %.6f\n", okc, now() - t0);
	return (okc == n ? 0 : 1);
}

/*
 * bench/listener_driver: supervisord's side of the eventlistener protocol,
 * for the listener benchmark.
 *
 *   listener_driver events N SERVER [DIR] -- COMMAND [ARG...]
 *	run COMMAND as the listener and deliver N PROCESS_STATE_RUNNING
 *	events (READY, header and payload, RESULT), one at a time as
 *	supervisord does; print events/s and the listener's VmHWM.  With
 *	DIR, interleave blocks of 100 events with 100 appends of an
 *	event-sized line to a file in DIR, each followed by fdatasync: the
 *	disk's floor for a durable acknowledgement, measured under the same
 *	disk weather as the events.
 *   listener_driver fsync N DIR
 *	only the appends and fdatasyncs.
 *
 * Output: one line, "rate <events/s> secs <s> hwm_kb <kB>
 * floor <appends/s>".
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
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

static void
readn(int fd, char *buf, size_t n)
{
	ssize_t	got;

	while (n > 0) {
		if ((got = read(fd, buf, n)) <= 0) {
			fprintf(stderr, "driver: listener went away\n");
			exit(1);
		}
		buf += got;
		n -= got;
	}
}

static void
writen(int fd, const char *buf, size_t n)
{
	ssize_t	put;

	while (n > 0) {
		if ((put = write(fd, buf, n)) <= 0) {
			perror("driver: write");
			exit(1);
		}
		buf += put;
		n -= put;
	}
}

static long
hwm_kb(pid_t pid)
{
	char	path[64], line[256];
	FILE	*f;
	long	kb = -1;

	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return (kb);
}

static int	floor_fd = -1;
static double	floor_secs;
static long	floor_n;

/* count appends of an event-sized line, each made durable. */
static void
floor_block(long count)
{
	static char	line[400];
	double		t0;
	long		i;

	if (floor_fd == -1)
		return;
	memset(line, 'x', sizeof line - 1);
	line[sizeof line - 1] = '\n';
	t0 = now();
	for (i = 0; i < count; i++) {
		writen(floor_fd, line, sizeof line);
		if (fdatasync(floor_fd) == -1) {
			perror("fdatasync");
			exit(1);
		}
	}
	floor_secs += now() - t0;
	floor_n += count;
}

static void
floor_open(const char *dir)
{
	char	path[4096];

	snprintf(path, sizeof path, "%s/fsync-floor.jsonl", dir);
	floor_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0600);
	if (floor_fd == -1) {
		perror(path);
		exit(1);
	}
	unlink(path);
}

static int
events(long n, const char *server, char **cmd)
{
	int	in[2], out[2], st;
	pid_t	pid;
	long	i, hwm;
	char	buf[1024], payload[256], c;
	double	t0, t;
	size_t	len, plen, k;

	if (pipe(in) == -1 || pipe(out) == -1) {
		perror("pipe");
		return (1);
	}
	if ((pid = fork()) == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		execvp(cmd[0], cmd);
		perror(cmd[0]);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t = 0;
	t0 = now();
	for (i = 0; i < n; i++) {
		if (floor_fd != -1 && i > 0 && i % 100 == 0) {
			t += now() - t0;
			floor_block(100);
			t0 = now();
		}
		readn(out[0], buf, 6);
		if (memcmp(buf, "READY\n", 6) != 0) {
			fprintf(stderr, "driver: expected READY\n");
			return (1);
		}
		plen = snprintf(payload, sizeof payload, "processname:bench_%ld "
		    "groupname:bench from_state:STARTING pid:%ld", i % 100,
		    1000 + i % 100);
		len = snprintf(buf, sizeof buf, "ver:3.0 server:%s serial:%ld "
		    "pool:svrelay poolserial:%ld eventname:PROCESS_STATE_RUNNING "
		    "len:%zu\n%s", server, i, i, plen, payload);
		writen(in[1], buf, len);
		for (k = 0; k < sizeof buf - 1; k++) {
			readn(out[0], &c, 1);
			if ((buf[k] = c) == '\n')
				break;
		}
		buf[k] = '\0';
		if (strncmp(buf, "RESULT ", 7) != 0) {
			fprintf(stderr, "driver: expected RESULT, got '%s'\n", buf);
			return (1);
		}
		len = strtoul(buf + 7, NULL, 10);
		readn(out[0], buf, len);
		if (len != 2 || memcmp(buf, "OK", 2) != 0) {
			fprintf(stderr, "driver: event %ld not OK\n", i);
			return (1);
		}
	}
	t += now() - t0;
	readn(out[0], buf, 6);		/* the READY after the last event */
	hwm = hwm_kb(pid);
	close(in[1]);
	waitpid(pid, &st, 0);
	printf("rate %.0f secs %.3f hwm_kb %ld", n / t, t, hwm);
	if (floor_n > 0)
		printf(" floor %.0f", floor_n / floor_secs);
	printf("\n");
	return (!(WIFEXITED(st) && WEXITSTATUS(st) == 0));
}

static int
fsyncs(long n, const char *dir)
{
	floor_open(dir);
	floor_block(n);
	printf("rate %.0f secs %.3f hwm_kb -\n", n / floor_secs, floor_secs);
	return (0);
}

int
main(int argc, char *argv[])
{
	if (argc >= 6 && strcmp(argv[1], "events") == 0 &&
	    strcmp(argv[4], "--") == 0)
		return (events(atol(argv[2]), argv[3], argv + 5));
	if (argc >= 7 && strcmp(argv[1], "events") == 0 &&
	    strcmp(argv[5], "--") == 0) {
		floor_open(argv[4]);
		return (events(atol(argv[2]), argv[3], argv + 6));
	}
	if (argc == 4 && strcmp(argv[1], "fsync") == 0)
		return (fsyncs(atol(argv[2]), argv[3]));
	fprintf(stderr, "usage: listener_driver events N SERVER [DIR] -- "
	    "COMMAND [ARG...]\n       listener_driver fsync N DIR\n");
	return (2);
}

/*
 * bench/listener_driver: supervisord's side of the eventlistener protocol,
 * for the benchmarks.
 *
 *   listener_driver events N SERVER [DIR] -- COMMAND [ARG...]
 *	run COMMAND as the listener and deliver N PROCESS_STATE_RUNNING
 *	events (READY, header and payload, RESULT), one at a time as
 *	supervisord does; print events/s and the listener's VmHWM.  With
 *	DIR, interleave blocks of 100 events with 100 appends of an
 *	event-sized line to a file in DIR, each followed by fdatasync: the
 *	disk's floor for a durable acknowledgement, measured under the same
 *	disk weather as the events.
 *   listener_driver multi K N SERVER -- COMMAND [ARG...]
 *	K copies of COMMAND at once (K supervisord pools), N events each,
 *	driven from one poll(2) loop; events/s is K*N over the wall time.
 *   listener_driver latency N GAP_MS SERVER -- COMMAND [ARG...]
 *	N PROCESS_STATE_FATAL events, each for its own process
 *	(groupname bench, processname lat_<i>), GAP_MS apart; prints
 *	"lat_<i> <unix time the event was written>" per event, then the
 *	usual line.
 *   listener_driver fsync N DIR
 *	only the appends and fdatasyncs.
 *
 * The clock starts when every listener has said its first READY (its
 * start-up is not the round trip).  Reads are buffered, so that the
 * driver costs about as many system calls per event as the listener
 * and does not set the ack-only floor itself: cpu_driver and
 * cpu_listener say how busy each side was (CPU seconds per wall second).
 *
 * Output: one line, "rate <events/s> secs <s> hwm_kb <kB> cpu_driver <f>
 * cpu_listener <f> [floor <appends/s>]".
 */
#define _GNU_SOURCE
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXL	64

struct lst {
	pid_t	pid;
	int	in;		/* its stdin */
	int	out;		/* its stdout */
	char	buf[8192];
	size_t	off, end;
	long	sent;		/* events written */
	long	done;		/* OKs read */
	int	want_ready;	/* 1: READY next, 0: RESULT next */
	int	finished;
};

static struct lst	lsts[MAXL];
static int		nl;
static const char	*server;
static int		fatal_mode;	/* latency: FATAL events */
static int		gap_ms;		/* latency: pause between them */

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static double
wallclock(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static double
cpu(const struct rusage *ru)
{
	return (ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
	    ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6);
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

static void
lst_start(struct lst *l, char **cmd)
{
	int	in[2], out[2];

	/* Close-on-exec: the next listener must not hold this one's pipes. */
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1) {
		perror("pipe");
		exit(1);
	}
	if ((l->pid = fork()) == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[0]); close(in[1]); close(out[0]); close(out[1]);
		execvp(cmd[0], cmd);
		perror(cmd[0]);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	l->in = in[1];
	l->out = out[0];
	l->want_ready = 1;
}

/* Read what the listener has written (blocks until something is). */
static void
lst_fill(struct lst *l)
{
	ssize_t	n;

	if (l->off == l->end)
		l->off = l->end = 0;
	else if (l->end == sizeof l->buf) {
		memmove(l->buf, l->buf + l->off, l->end - l->off);
		l->end -= l->off;
		l->off = 0;
	}
	n = read(l->out, l->buf + l->end, sizeof l->buf - l->end);
	if (n <= 0) {
		fprintf(stderr, "driver: listener %ld went away\n",
		    (long)l->pid);
		exit(1);
	}
	l->end += n;
}

/* Send the listener its next event. */
static void
lst_send(struct lst *l)
{
	char	buf[1024], payload[256];
	long	i = l->sent;
	size_t	len, plen;

	if (fatal_mode)
		plen = snprintf(payload, sizeof payload, "processname:lat_%ld "
		    "groupname:bench from_state:BACKOFF", i);
	else
		plen = snprintf(payload, sizeof payload, "processname:bench_%ld "
		    "groupname:bench from_state:STARTING pid:%ld", i % 100,
		    1000 + i % 100);
	len = snprintf(buf, sizeof buf, "ver:3.0 server:%s serial:%ld "
	    "pool:svrelay%d poolserial:%ld eventname:%s len:%zu\n%s", server,
	    i, (int)(l - lsts), i, fatal_mode ? "PROCESS_STATE_FATAL" :
	    "PROCESS_STATE_RUNNING", plen, payload);
	if (fatal_mode)
		printf("lat_%ld %.6f\n", i, wallclock());
	writen(l->in, buf, len);
	l->sent++;
	l->want_ready = 0;
}

/*
 * Parse every complete token in l's buffer.  Returns 1 when the listener
 * is READY for an event (and has not been sent one), else 0.
 */
static int
lst_parse(struct lst *l)
{
	char	*nl_, *p;
	size_t	 have, hl, len;

	for (;;) {
		have = l->end - l->off;
		p = l->buf + l->off;
		if (l->want_ready)
			break;
		if ((nl_ = memchr(p, '\n', have)) == NULL)
			return (0);
		if (strncmp(p, "RESULT ", 7) != 0) {
			fprintf(stderr, "driver: expected RESULT, got '%.*s'\n",
			    (int)(nl_ - p), p);
			exit(1);
		}
		len = strtoul(p + 7, NULL, 10);
		hl = nl_ + 1 - p;
		if (have < hl + len)
			return (0);
		if (len != 2 || memcmp(p + hl, "OK", 2) != 0) {
			fprintf(stderr, "driver: event %ld not OK\n", l->sent);
			exit(1);
		}
		l->off += hl + len;
		l->done++;
		l->want_ready = 1;
	}
	if (have < 6)
		return (0);
	if (memcmp(p, "READY\n", 6) != 0) {
		fprintf(stderr, "driver: expected READY, got '%.*s'\n",
		    (int)(have < 20 ? have : 20), p);
		exit(1);
	}
	l->off += 6;
	return (1);
}

static int
drive(long k, long n, char **cmd)
{
	struct pollfd	pfd[MAXL];
	struct rusage	ru0, ru1, cru;
	double		t0, t = 0, lcpu = 0;
	long		hwm = 0, h, left;
	int		i, st, ok = 1, ready;

	nl = k;
	for (i = 0; i < nl; i++)
		lst_start(&lsts[i], cmd);
	/* Everybody's first READY, then the clock. */
	for (i = 0; i < nl; i++) {
		lsts[i].want_ready = 1;
		while (!lst_parse(&lsts[i]))
			lst_fill(&lsts[i]);
	}
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now();
	for (i = 0; i < nl; i++)
		lst_send(&lsts[i]);
	left = nl;
	while (left > 0) {
		if (nl == 1) {
			lst_fill(&lsts[0]);
		} else {
			for (i = 0; i < nl; i++) {
				pfd[i].fd = lsts[i].finished ? -1 : lsts[i].out;
				pfd[i].events = POLLIN;
			}
			if (poll(pfd, nl, -1) == -1 && errno != EINTR) {
				perror("poll");
				return (1);
			}
			for (i = 0; i < nl; i++)
				if (pfd[i].revents != 0)
					lst_fill(&lsts[i]);
		}
		for (i = 0; i < nl; i++) {
			struct lst	*l = &lsts[i];

			if (l->finished || l->end == l->off)
				continue;
			if (!(ready = lst_parse(l)))
				continue;
			if (l->sent == n) {
				l->finished = 1;
				left--;
				continue;
			}
			if (floor_fd != -1 && l->sent % 100 == 0) {
				t += now() - t0;
				floor_block(100);
				t0 = now();
			}
			if (gap_ms > 0) {
				t += now() - t0;
				usleep(gap_ms * 1000);
				t0 = now();
			}
			lst_send(l);
		}
	}
	t += now() - t0;
	getrusage(RUSAGE_SELF, &ru1);
	for (i = 0; i < nl; i++)
		if ((h = hwm_kb(lsts[i].pid)) > hwm)
			hwm = h;
	for (i = 0; i < nl; i++) {
		close(lsts[i].in);
		if (wait4(lsts[i].pid, &st, 0, &cru) == -1) {
			perror("wait4");
			return (1);
		}
		lcpu += cpu(&cru);
		if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0))
			ok = 0;
	}
	printf("rate %.0f secs %.3f hwm_kb %ld cpu_driver %.2f "
	    "cpu_listener %.2f", k * n / t, t, hwm,
	    (cpu(&ru1) - cpu(&ru0)) / t, lcpu / t);
	if (floor_n > 0)
		printf(" floor %.0f", floor_n / floor_secs);
	printf("\n");
	return (!ok);
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
	long	k;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 6 && strcmp(argv[1], "events") == 0 &&
	    strcmp(argv[4], "--") == 0) {
		server = argv[3];
		return (drive(1, atol(argv[2]), argv + 5));
	}
	if (argc >= 7 && strcmp(argv[1], "events") == 0 &&
	    strcmp(argv[5], "--") == 0) {
		server = argv[3];
		floor_open(argv[4]);
		return (drive(1, atol(argv[2]), argv + 6));
	}
	if (argc >= 7 && strcmp(argv[1], "multi") == 0 &&
	    strcmp(argv[5], "--") == 0) {
		k = atol(argv[2]);
		if (k < 1 || k > MAXL) {
			fprintf(stderr, "driver: 1 to %d listeners\n", MAXL);
			return (2);
		}
		server = argv[4];
		return (drive(k, atol(argv[3]), argv + 6));
	}
	if (argc >= 7 && strcmp(argv[1], "latency") == 0 &&
	    strcmp(argv[5], "--") == 0) {
		server = argv[4];
		fatal_mode = 1;
		gap_ms = atoi(argv[3]);
		return (drive(1, atol(argv[2]), argv + 6));
	}
	if (argc == 4 && strcmp(argv[1], "fsync") == 0)
		return (fsyncs(atol(argv[2]), argv[3]));
	fprintf(stderr, "usage: listener_driver events N SERVER [DIR] -- "
	    "COMMAND [ARG...]\n"
	    "       listener_driver multi K N SERVER -- COMMAND [ARG...]\n"
	    "       listener_driver latency N GAP_MS SERVER -- COMMAND "
	    "[ARG...]\n"
	    "       listener_driver fsync N DIR\n");
	return (2);
}

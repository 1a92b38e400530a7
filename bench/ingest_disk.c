/*
 * bench/ingest_disk DIR N: the disk's floor for svrelayd's fsync
 * "always": append N event-sized lines (280 bytes) to a file in DIR, one
 * write + fdatasync each, as one listener waiting for each ack would need.
 * Prints "<n> <seconds>".
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct timespec	a, b;
	char		path[4096], line[280];
	long		i, n;
	int		fd;

	if (argc != 3) {
		fprintf(stderr, "usage: ingest_disk dir n\n");
		return (2);
	}
	n = atol(argv[2]);
	snprintf(path, sizeof path, "%s/ingest_disk.jsonl", argv[1]);
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_TRUNC,
	    0640)) == -1) {
		perror(path);
		return (1);
	}
	memset(line, 'x', sizeof line);
	line[sizeof line - 1] = '\n';
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		if (write(fd, line, sizeof line) != sizeof line ||
		    fdatasync(fd) == -1) {
			perror(path);
			return (1);
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	close(fd);
	unlink(path);
	printf("%ld %.6f\n", n, (b.tv_sec - a.tv_sec) +
	    (b.tv_nsec - a.tv_nsec) / 1e9);
	return (0);
}

/*
 * bench/spool_fill FILE MB PREFIX: write an old spool file of about MB
 * MiB of valid event lines (ids PREFIX-<n>), sync it and drop it from
 * the page cache (posix_fadvise), so that the next reader finds it on
 * disk as after a reboot.  Prints the bytes written.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	static char	buf[1 << 20];
	long long	want, done = 0, n = 0;
	size_t		len;
	int		fd, k;

	if (argc != 4) {
		fprintf(stderr, "usage: spool_fill file mb prefix\n");
		return (2);
	}
	want = atoll(argv[2]) << 20;
	if ((fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0640)) == -1) {
		perror(argv[1]);
		return (1);
	}
	while (done < want) {
		len = 0;
		while (len < sizeof buf - 512) {
			k = snprintf(buf + len, 512, "{\"id\":\"%s-%lld\","
			    "\"host\":\"bench\",\"server\":\"sv\",\"pool\":"
			    "\"svrelay\",\"serial\":%lld,\"poolserial\":%lld,"
			    "\"event\":\"PROCESS_STATE_RUNNING\",\"time\":"
			    "\"2026-01-02T03:04:05.678Z\",\"payload\":{"
			    "\"processname\":\"api_%02lld\",\"groupname\":\"api\","
			    "\"from_state\":\"STARTING\",\"pid\":\"%lld\"}}\n",
			    argv[3], n, n, n, n % 32, 1000 + n % 1000);
			len += k;
			n++;
		}
		if (write(fd, buf, len) != (ssize_t)len) {
			perror(argv[1]);
			return (1);
		}
		done += len;
	}
	if (fdatasync(fd) == -1)
		perror("fdatasync");
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
	printf("%lld\n", done);
	return (0);
}

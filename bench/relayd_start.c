/*
 * bench/relayd_start SOCKET -- COMMAND [ARG...]: how long svrelayd takes
 * to start: run COMMAND and try to connect(2) to the Unix socket SOCKET
 * every 100 us until it accepts.  Prints the seconds from fork to the
 * first accepted connection, then stops COMMAND with SIGTERM and waits.
 * Exits 1 if it does not accept within 30 s or COMMAND exits first.
 */
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
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
	struct sockaddr_un	sun;
	double			t0, t;
	pid_t			pid;
	int			fd, st, up = 0;

	if (argc < 4 || strcmp(argv[2], "--") != 0) {
		fprintf(stderr, "usage: relayd_start socket -- command "
		    "[arg...]\n");
		return (2);
	}
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	strncpy(sun.sun_path, argv[1], sizeof sun.sun_path - 1);
	t0 = now();
	if ((pid = fork()) == 0) {
		execvp(argv[3], argv + 3);
		perror(argv[3]);
		_exit(127);
	}
	for (t = t0; now() - t0 < 30; usleep(100)) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			fprintf(stderr, "relayd_start: %s exited\n", argv[3]);
			return (1);
		}
		if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1) {
			perror("socket");
			break;
		}
		if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) {
			t = now();
			up = 1;
			close(fd);
			break;
		}
		close(fd);
	}
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	if (!up) {
		fprintf(stderr, "relayd_start: %s never accepted\n", argv[1]);
		return (1);
	}
	printf("%.6f\n", t - t0);
	return (0);
}

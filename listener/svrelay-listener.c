/*
 * svrelay-listener: run by supervisord as an eventlistener.  Its stdout
 * belongs to supervisord; its logs go to stderr.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "listener.h"

/* To stderr even for -h: stdout belongs to supervisord. */
static void __attribute__((noreturn))
usage(int status)
{
	fprintf(stderr, "usage: svrelay-listener [-c file]\n");
	exit(status);
}

int
main(int argc, char *argv[])
{
	struct conf	*conf;
	const char	*path = CONF_DEFAULT_PATH;
	char		*errstr = NULL;
	int		 ch, status;

	log_init("svrelay-listener", 0, LOG_LEVEL_INFO);
	while ((ch = getopt(argc, argv, "c:h")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'h':
			usage(0);
		default:
			usage(1);
		}
	}
	if (optind != argc)
		usage(1);

	if ((conf = conf_load(path, &errstr)) == NULL) {
		log_warnx("configuration errors:\n%s", errstr);
		free(errstr);
		exit(1);
	}
	log_setlevel(conf->log_level);
	if (conf->warnings != NULL)
		log_warnx("%s", conf->warnings);
	log_debug("starting: socket %s, spool %s", conf->socket,
	    conf->spool_dir);

	status = loop_run(conf);
	conf_free(conf);
	return (status);
}

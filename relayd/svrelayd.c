/*
 * svrelayd: one per host, serving every supervisord on it.  Accepts JSON
 * event lines on a Unix socket, stores them in the spool, acknowledges,
 * and feeds the delivery engine.  Runs in the foreground.
 *
 *   svrelayd [-dt] [-c FILE]
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "delivery.h"
#include "log.h"
#include "relayd.h"
#include "svevent.h"
#include "xmalloc.h"

struct relayd	*env;

static struct acl	 acl;
static int		 debug;
static struct event	*drain_ev;	/* SIGTERM's deadline */

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: svrelayd [-dt] [-c file]\n");
	exit(1);
}

/* libevent's own messages, through our log. */
static void
relayd_event_log(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	default:
		log_warnx("libevent: %s", msg);
		break;
	}
}

static void
relayd_log_warnings(const struct conf *conf)
{
	char	*w, *line, *next;

	if (conf->warnings == NULL)
		return;
	w = xstrdup(conf->warnings);
	for (line = w; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		log_warnx("%s", line);
	}
	free(w);
}

/* Load path and resolve its names; NULL after printing the errors. */
static struct conf *
relayd_load(const char *path, struct acl *a, int to_log)
{
	struct conf	*conf;
	char		*errstr = NULL, err[512];

	if ((conf = conf_load(path, &errstr)) == NULL) {
		if (to_log)
			log_warnx("%s", errstr != NULL ? errstr : path);
		else
			fprintf(stderr, "%s", errstr != NULL ? errstr : path);
		if (errstr != NULL && !to_log &&
		    errstr[strlen(errstr) - 1] != '\n')
			fputc('\n', stderr);
		free(errstr);
		return (NULL);
	}
	if (server_acl_load(conf, a, err, sizeof err) == -1) {
		if (to_log)
			log_warnx("%s", err);
		else
			fprintf(stderr, "%s\n", err);
		conf_free(conf);
		return (NULL);
	}
	return (conf);
}

static void
relayd_drained(void)
{
	log_debug("all connections closed");
	event_base_loopbreak(env->base);
}

static void
relayd_drain_timeout(int fd, short what, void *arg)
{
	log_warnx("connections still open after %d s; exiting anyway",
	    RELAYD_DRAIN_SEC);
	event_base_loopbreak(env->base);
}

static void
relayd_shutdown(int sig)
{
	struct timeval	tv = { RELAYD_DRAIN_SEC, 0 };

	if (env->shutting_down) {
		log_info("second signal %d: exiting now", sig);
		event_base_loopbreak(env->base);
		return;
	}
	log_info("signal %d: draining and exiting", sig);
	env->shutting_down = 1;
	delivery_shutdown();
	handoff_free(env->handoff);	/* after the commit below: see there */
	env->handoff = NULL;
	drain_ev = evtimer_new(env->base, relayd_drain_timeout, NULL);
	evtimer_add(drain_ev, &tv);
	server_shutdown(relayd_drained);
}

static void
relayd_reload(void)
{
	struct conf	*conf;
	struct acl	 a;

	log_info("SIGHUP: reloading %s", env->conf->path);
	if ((conf = relayd_load(env->conf->path, &a, 1)) == NULL) {
		log_warnx("keeping the running configuration");
		return;
	}
	relayd_log_warnings(conf);
	if (strcmp(conf->socket, env->conf->socket) != 0 ||
	    strcmp(conf->spool_dir, env->conf->spool_dir) != 0 ||
	    conf->socket_mode != env->conf->socket_mode ||
	    a.sock_gid != acl.sock_gid)
		log_warnx("socket, socket_mode, socket_group and spool_dir "
		    "change only on restart");
	log_setlevel(debug ? LOG_LEVEL_DEBUG : conf->log_level);
	server_reconf(conf, &a);
	spool_configure(env->spool, conf);
	delivery_reconf(conf);
	server_acl_free(&acl);
	acl = a;
	conf_free(env->conf);
	env->conf = conf;
	log_info("configuration reloaded");
}

static void
relayd_signal(int sig, short what, void *arg)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		/*
		 * Whatever is in the batch is committed now, so that its
		 * acknowledgements go out with the drain.  Hand-off files
		 * in it are unlinked before handoff_free.
		 */
		spool_commit(env->spool);
		relayd_shutdown(sig);
		break;
	case SIGHUP:
		relayd_reload();
		break;
	}
}

int
main(int argc, char *argv[])
{
	struct relayd	 r;
	struct event	*sigterm, *sigint, *sighup;
	const char	*path = CONF_DEFAULT_PATH;
	int		 ch, test = 0;

	while ((ch = getopt(argc, argv, "c:dt")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 't':
			test = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	log_init("svrelayd", 0, debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	memset(&r, 0, sizeof r);
	env = &r;
	if ((r.conf = relayd_load(path, &acl, 0)) == NULL)
		exit(1);
	if (test) {
		relayd_log_warnings(r.conf);
		printf("configuration OK\n");
		exit(0);
	}
	log_init("svrelayd", r.conf->log_syslog,
	    debug ? LOG_LEVEL_DEBUG : r.conf->log_level);
	relayd_log_warnings(r.conf);
	event_set_log_callback(relayd_event_log);
	signal(SIGPIPE, SIG_IGN);
	r.start_ms = svevent_now_ms();

	if ((r.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");

	/* Refuse before touching the spool if another svrelayd serves. */
	switch (server_probe(r.conf->socket)) {
	case 1:
		fatalx("another svrelayd is serving %s", r.conf->socket);
	case 0:
		break;
	default:
		exit(1);
	}
	if (handoff_mkdirs(r.conf->spool_dir, acl.sock_gid) == -1)
		exit(1);
	if ((r.spool = spool_open(r.base, r.conf->spool_dir, r.conf)) == NULL)
		exit(1);
	spool_set_stored_hook(r.spool, delivery_event);
	if (server_listen(r.conf, &acl) == -1)
		exit(1);
	if (delivery_init(r.base, r.conf) == -1)
		exit(1);
	if ((r.handoff = handoff_new(r.base, r.spool, r.conf->spool_dir,
	    r.conf->max_line)) == NULL)
		exit(1);

	sigterm = evsignal_new(r.base, SIGTERM, relayd_signal, NULL);
	sigint = evsignal_new(r.base, SIGINT, relayd_signal, NULL);
	sighup = evsignal_new(r.base, SIGHUP, relayd_signal, NULL);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	evsignal_add(sighup, NULL);

	log_info("svrelayd %s started (pid %ld)", PACKAGE_VERSION,
	    (long)getpid());
	if (event_base_dispatch(r.base) == -1)
		log_warnx("event_base_dispatch failed");

	/* The last batch, then the last replies we can still write. */
	spool_commit(r.spool);
	handoff_free(r.handoff);
	r.handoff = NULL;
	server_close();
	spool_close(r.spool);
	r.spool = NULL;
	event_free(sigterm);
	event_free(sigint);
	event_free(sighup);
	if (drain_ev != NULL)
		event_free(drain_ev);
	event_base_free(r.base);
	server_acl_free(&acl);
	conf_free(r.conf);
	log_info("exiting");
	return (0);
}

/*
 * svrelayd: one per host, serving every supervisord on it.  Accepts JSON
 * event lines on a Unix socket, stores them in the spool, acknowledges,
 * and feeds the delivery engine.  Runs in the foreground.
 *
 *   svrelayd [-dt] [-c FILE]
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
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
#include "urlcheck.h"
#include "xmalloc.h"

struct relayd	*env;

static struct acl	 acl;
static int		 debug;
static struct event	*drain_ev;	/* SIGTERM's deadline */
static struct event	*watchdog_ev;	/* systemd's WatchdogSec */

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

/* Resolve conf's names into a (again, after a change of user). */
static struct conf *
relayd_reload_acl(struct conf *conf, struct acl *a)
{
	char	err[512];

	if (server_acl_load(conf, a, err, sizeof err) == -1) {
		log_warnx("%s", err);
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
	sdnotify("STOPPING=1");
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
	sdnotify("RELOADING=1");
	if (strcmp(conf->socket, env->conf->socket) != 0 ||
	    conf->socket_mode != env->conf->socket_mode ||
	    a.sock_gid != acl.sock_gid) {
		if (server_relisten(conf, &a) == -1) {
			log_warnx("keeping the running configuration");
			server_acl_free(&a);
			conf_free(conf);
			sdnotify("READY=1");
			return;
		}
	}
	if (strcmp(conf->spool_dir, env->conf->spool_dir) != 0)
		log_warnx("spool_dir changes only on restart; still using %s",
		    env->conf->spool_dir);
	if ((conf->user == NULL) != (env->conf->user == NULL) ||
	    (conf->user != NULL && strcmp(conf->user, env->conf->user) != 0))
		log_warnx("user changes only on restart");
	log_setlevel(debug ? LOG_LEVEL_DEBUG : conf->log_level);
	server_reconf(conf, &a);
	spool_configure(env->spool, conf);
	delivery_reconf(conf);
	metrics_reconf(conf);
	server_acl_free(&acl);
	acl = a;
	conf_free(env->conf);
	env->conf = conf;
	log_info("configuration reloaded");
	sdnotify("READY=1");
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

static void
relayd_watchdog(int fd, short what, void *arg)
{
	sdnotify("WATCHDOG=1");
}

/* Make dir (one level) if missing; chown what we made to uid:gid. */
static void
relayd_mkdir_for(const char *dir, mode_t mode, uid_t uid, gid_t gid)
{
	if (mkdir(dir, mode) == 0) {
		if (chown(dir, uid, gid) == -1)
			fatal("chown %s", dir);
		log_info("created %s for user %ld", dir, (long)uid);
	} else if (errno != EEXIST)
		fatal("mkdir %s", dir);
}

/*
 * Started as root with `user` set: make the socket's directory and the
 * spool (if missing) for that user, then become it for good.  Everything
 * after this, socket and spool included, is opened as that user, so that
 * rotation and re-creation work without root.
 */
static void
relayd_drop_privileges(const struct conf *conf)
{
	struct passwd	*pw;
	char		*dir, *slash;

	if (conf->user == NULL)
		return;
	if ((pw = getpwnam(conf->user)) == NULL)
		fatalx("%s: key 'user': no such user '%s'", conf->path,
		    conf->user);
	if (geteuid() != 0) {
		if (geteuid() != pw->pw_uid)
			log_warnx("not started as root: running as uid %ld, "
			    "not as user %s", (long)geteuid(), conf->user);
		return;
	}
	if (pw->pw_uid == 0)
		return;
	dir = xstrdup(conf->socket);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		relayd_mkdir_for(dir, 0755, pw->pw_uid, pw->pw_gid);
	}
	free(dir);
	relayd_mkdir_for(conf->spool_dir, 0750, pw->pw_uid, pw->pw_gid);

	if (initgroups(pw->pw_name, pw->pw_gid) == -1)
		fatal("initgroups %s", pw->pw_name);
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1)
		fatal("setresgid %ld", (long)pw->pw_gid);
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("setresuid %ld", (long)pw->pw_uid);
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("could still regain root after dropping privileges");
	log_info("running as user %s (uid %ld, gid %ld)", pw->pw_name,
	    (long)pw->pw_uid, (long)pw->pw_gid);
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
	conf_set_url_checker(urlcheck_problem);
	memset(&r, 0, sizeof r);
	env = &r;
	if ((r.conf = relayd_load(path, &acl, 0)) == NULL)
		exit(1);
	if (test) {
		relayd_log_warnings(r.conf);
		if (r.conf->user != NULL && getpwnam(r.conf->user) == NULL) {
			fprintf(stderr, "%s: key 'user': no such user '%s'\n",
			    r.conf->path, r.conf->user);
			exit(1);
		}
		printf("configuration OK\n");
		exit(0);
	}
	log_init("svrelayd", r.conf->log_syslog,
	    debug ? LOG_LEVEL_DEBUG : r.conf->log_level);
	relayd_log_warnings(r.conf);
	event_set_log_callback(relayd_event_log);
	signal(SIGPIPE, SIG_IGN);
	if (r.conf->user != NULL && geteuid() == 0) {
		/* Resolve the socket group and the ACL as the new user. */
		relayd_drop_privileges(r.conf);
		server_acl_free(&acl);
		if ((r.conf = relayd_reload_acl(r.conf, &acl)) == NULL)
			exit(1);
	} else
		relayd_drop_privileges(r.conf);
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
	if (metrics_init(r.base, r.conf, control_status) == -1)
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
	sdnotify("READY=1");
	if (sdnotify_watchdog_usec() > 0) {
		struct timeval	tv;
		long long	half = sdnotify_watchdog_usec() / 2;

		tv.tv_sec = half / 1000000;
		tv.tv_usec = half % 1000000;
		watchdog_ev = event_new(r.base, -1, EV_PERSIST,
		    relayd_watchdog, NULL);
		event_add(watchdog_ev, &tv);
	}
	if (event_base_dispatch(r.base) == -1)
		log_warnx("event_base_dispatch failed");

	/* The last batch, then the last replies we can still write. */
	spool_commit(r.spool);
	metrics_free();
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
	if (watchdog_ev != NULL)
		event_free(watchdog_ev);
	event_base_free(r.base);
	server_acl_free(&acl);
	conf_free(r.conf);
	log_info("exiting");
	return (0);
}

/*
 * The listener's loop: READY, header, payload, forward (or hand off),
 * RESULT.  Blocking, one event at a time.  supervisord is told OK only
 * once the event is on disk (svrelayd's spool, or the hand-off
 * directory); FAIL is followed by a backoff, because supervisord sends a
 * FAILed event again at once.
 *
 * Signals: TERM and INT are blocked except while waiting for a header
 * or backing off, so an event in hand is always finished (and answered)
 * before the listener exits 0.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "svevent.h"
#include "xmalloc.h"
#include "listener.h"

/* Where events go, for logging each change once. */
enum loop_outcome {
	LOOP_START,
	LOOP_FORWARD,		/* svrelayd takes them */
	LOOP_HANDOFF,		/* the hand-off directory takes them */
	LOOP_FAIL		/* nothing does: FAIL and back off */
};

struct loop {
	struct conf		*conf;
	struct forward		*forward;
	struct handoff		*handoff;
	struct context		*context;
	enum loop_outcome	 outcome;
	int			 backoff_ms;	/* 0: none due */
	long			 ppid;
	sigset_t		 waitmask;	/* TERM and INT deliverable */
};

static volatile sig_atomic_t	loop_term;

static void
loop_signal(int sig)
{
	loop_term = sig;
}

static const char *
loop_outcome_name(enum loop_outcome o)
{
	switch (o) {
	case LOOP_START:
		return ("start");
	case LOOP_FORWARD:
		return ("forwarding to svrelayd");
	case LOOP_HANDOFF:
		return ("writing to the hand-off directory");
	case LOOP_FAIL:
		return ("failing");
	}
	return ("?");
}

/* Log a change of outcome once, not once per event. */
static void
loop_set_outcome(struct loop *l, enum loop_outcome o, const char *why)
{
	if (l->outcome == o)
		return;
	if (o == LOOP_FORWARD)
		log_info("%s (was: %s)", loop_outcome_name(o),
		    loop_outcome_name(l->outcome));
	else
		log_warnx("%s (was: %s): %s", loop_outcome_name(o),
		    loop_outcome_name(l->outcome), why);
	l->outcome = o;
}

/* Is a TERM or INT waiting (blocked) or already caught? */
static int
loop_term_pending(void)
{
	sigset_t	set;

	if (loop_term)
		return (1);
	if (sigpending(&set) == -1)
		return (0);
	return (sigismember(&set, SIGTERM) || sigismember(&set, SIGINT));
}

/*
 * Sleep ms with TERM and INT deliverable.  Returns 1 when one came.
 */
static int
loop_sleep(struct loop *l, int ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	if (ppoll(NULL, 0, &ts, &l->waitmask) == -1 && errno == EINTR)
		return (loop_term != 0);
	return (0);
}

/*
 * Put one event line somewhere durable.  Returns 1 (answer OK) or 0
 * (answer FAIL).
 */
static int
loop_deliver(struct loop *l, const char *id, const char *line, size_t len)
{
	char	err[512], herr[512], path[1024], why[1040];
	int	rc;

	rc = forward_send(l->forward, line, len, id, err, sizeof err);
	if (rc == FORWARD_OK) {
		log_debug("event %s stored by svrelayd", id);
		loop_set_outcome(l, LOOP_FORWARD, NULL);
		return (1);
	}
	if (rc == FORWARD_REFUSED) {
		if (handoff_write(l->handoff, line, len, 1, path, sizeof path,
		    herr, sizeof herr) == 0) {
			log_warnx("svrelayd refused event %s (%s): kept in %s",
			    id, err, path);
			return (1);
		}
		log_warnx("svrelayd refused event %s (%s) and it cannot be "
		    "kept: %s", id, err, herr);
		loop_set_outcome(l, LOOP_FAIL, herr);
		return (0);
	}
	if (handoff_write(l->handoff, line, len, 0, path, sizeof path, herr,
	    sizeof herr) == 0) {
		log_debug("event %s handed off to %s (%s)", id, path, err);
		loop_set_outcome(l, LOOP_HANDOFF, err);
		return (1);
	}
	snprintf(why, sizeof why, "%s; hand-off: %s", err, herr);
	loop_set_outcome(l, LOOP_FAIL, why);
	return (0);
}

/*
 * Run until supervisord goes away (0), a signal asks us to stop (0), or
 * supervisord sends something we cannot parse (1, with the reason on
 * stderr).
 */
int
loop_run(struct conf *conf)
{
	struct loop		 l;
	struct sigaction	 sa;
	struct proto_reader	*r;
	struct proto_header	 h;
	struct svevent		*ev;
	const char		*payload;
	char			*line, err[PROTO_ERRLEN];
	size_t			 size, len;
	sigset_t		 block;
	int			 rc, ok, status = 0;

	memset(&l, 0, sizeof l);
	l.conf = conf;
	l.forward = forward_new(conf->socket, conf->ack_timeout_ms);
	l.handoff = handoff_new(conf->spool_dir);
	l.context = context_new(conf);
	l.outcome = LOOP_START;
	l.ppid = (long)getppid();	/* supervisord: part of every id */

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = loop_signal;	/* no SA_RESTART: ppoll sees EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &l.waitmask);
	sigdelset(&l.waitmask, SIGTERM);
	sigdelset(&l.waitmask, SIGINT);

	r = xmalloc(sizeof *r);
	proto_init_fd(r, STDIN_FILENO);
	for (;;) {
		if (l.backoff_ms > 0 && loop_sleep(&l, l.backoff_ms))
			break;
		if (loop_term_pending())
			break;
		if (proto_write_ready(STDOUT_FILENO) == -1) {
			log_warn("write to supervisord");
			status = 1;
			break;
		}
		if (proto_wait(r, &l.waitmask) == -1) {
			if (errno == EINTR && loop_term)
				break;
			if (errno != EINTR)
				fatal("poll on stdin");
		}
		rc = proto_read_header(r, &h);
		if (rc == PROTO_EOF) {
			log_debug("end of input: supervisord went away");
			break;
		}
		if (rc == PROTO_ERROR ||
		    proto_read_payload(r, h.len, &payload, &size) != 0) {
			log_warnx("bad input from supervisord: %s", r->err);
			status = 1;
			break;
		}
		ev = proto_event(&h, payload, size, conf->host, l.ppid, err,
		    sizeof err);
		if (ev == NULL) {
			log_warnx("bad input from supervisord: %s", err);
			status = 1;
			break;
		}
		/* Crash context: bounded by context.timeout_ms. */
		if (context_wanted(l.context, ev))
			context_add(l.context, ev);
		line = svevent_to_line(ev, &len);
		ok = loop_deliver(&l, ev->id, line, len);
		free(line);
		svevent_free(ev);
		if (proto_write_result(STDOUT_FILENO, ok) == -1) {
			log_warn("write to supervisord");
			status = 1;
			break;
		}
		if (ok)
			l.backoff_ms = 0;
		else if (l.backoff_ms == 0)
			l.backoff_ms = conf->backoff_min_ms;
		else if (l.backoff_ms < conf->backoff_max_ms / 2)
			l.backoff_ms *= 2;
		else
			l.backoff_ms = conf->backoff_max_ms;
	}
	if (loop_term)
		log_info("stopping on signal %d", (int)loop_term);
	else if (status == 0 && loop_term_pending())
		log_info("stopping on a signal");
	proto_clear(r);
	free(r);
	forward_free(l.forward);
	handoff_free(l.handoff);
	context_free(l.context);
	return (status);
}

/*
 * The listening socket and its connections.
 *
 * Each client sends JSON lines and gets one reply line per request, in
 * request order (common/wire.h): an event is answered once the spool has
 * it (synced, per fsync mode), a command when control or delivery has its
 * answer.  A line that is bad (not JSON, wrong schema, empty) is answered
 * {"ok":false,…,"temporary":false} and the connection STAYS OPEN: the
 * next line may be good, and a listener must not lose its connection for
 * one event it cannot fix.  A line longer than max_line is answered with
 * an error and the connection is closed, since the stream cannot be
 * resynchronised cheaply.
 *
 * Memory per connection is bounded: the input buffer by max_line (read
 * high watermark), replies owed by RELAYD_CONN_MAX_PENDING and output by
 * RELAYD_CONN_OUT_HIGH; past either limit we stop reading from that client
 * until it takes its replies.  Nothing a client does blocks the others.
 *
 * A connection is a state machine (conn_set_state logs its moves):
 *
 *   READING  --too many replies owed, output full-->  BLOCKED
 *   BLOCKED  --replies taken-->  READING
 *   READING/BLOCKED  --EOF, line too long, shutdown-->  DRAINING
 *   DRAINING  --replies owed all written (or peer gone)-->  freed
 */
#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <json-c/json.h>

#include "conf.h"
#include "log.h"
#include "relayd.h"
#include "svevent.h"
#include "wire.h"
#include "xmalloc.h"

enum conn_state {
	CONN_READING,
	CONN_BLOCKED,
	CONN_DRAINING
};

static const char *conn_state_names[] = { "reading", "blocked", "draining" };

struct conn;

struct request {
	TAILQ_ENTRY(request)	 entry;
	struct conn		*conn;
	struct json_object	*cmd;	/* a command's request, held */
	int			 done;
	char			*reply;
	size_t			 replylen;
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	uint64_t		 id;
	struct bufferevent	*bev;	/* NULL once the peer is gone */
	struct event		*check_ev;	/* may it be freed now? */
	enum conn_state		 state;
	pid_t			 pid;
	uid_t			 uid;
	int			 eof;	/* the peer sent everything */
	TAILQ_HEAD(, request)	 requests;
	size_t			 npending;
};

struct refused {
	uid_t	uid;
	time_t	when;
};

static struct {
	struct evconnlistener	*listener;
	struct event		*resume_ev;	/* after EMFILE */
	char			*path;
	ino_t			 ino;
	dev_t			 dev;
	struct acl		 acl;
	int			 max_connections;
	size_t			 max_line;
	TAILQ_HEAD(, conn)	 conns;
	size_t			 nconns;
	uint64_t		 next_id;
	uint64_t		 total;
	uint64_t		 refused_peers;
	uint64_t		 refused_full;
	uint64_t		 refused_lines;
	uint64_t		 long_lines;
	struct refused		 refused_log[32];
	void			(*drained)(void);
	int			 inited;
} srv;

static void	conn_read_cb(struct bufferevent *, void *);
static void	conn_write_cb(struct bufferevent *, void *);
static void	conn_event_cb(struct bufferevent *, short, void *);
static void	conn_check_cb(int, short, void *);
static void	conn_input(struct conn *);

static void
server_init(void)
{
	if (srv.inited)
		return;
	TAILQ_INIT(&srv.conns);
	srv.inited = 1;
}

/* --- who may connect --------------------------------------------------- */

static int
server_parse_id(const char *s, unsigned long *idp)
{
	char	*end;

	if (!isdigit((unsigned char)s[0]))
		return (-1);
	errno = 0;
	*idp = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || *idp > INT_MAX)
		return (-1);
	return (0);
}

static int
server_group(const char *name, gid_t *gidp)
{
	struct group	*gr;
	unsigned long	 id;

	if (server_parse_id(name, &id) == 0) {
		*gidp = (gid_t)id;
		return (0);
	}
	if ((gr = getgrnam(name)) == NULL)
		return (-1);
	*gidp = gr->gr_gid;
	return (0);
}

/*
 * Resolve conf's allow_users, allow_groups and socket_group into acl.
 * Unknown names are an error (in err).  Free with server_acl_free.
 */
int
server_acl_load(const struct conf *conf, struct acl *acl, char *err,
    size_t errlen)
{
	struct passwd	*pw;
	unsigned long	 id;
	size_t		 n;
	int		 i;

	memset(acl, 0, sizeof *acl);
	for (n = 0; conf->allow_users[n] != NULL; n++)
		;
	acl->uids = xcalloc(n + 1, sizeof(uid_t));
	for (i = 0; conf->allow_users[i] != NULL; i++) {
		if (server_parse_id(conf->allow_users[i], &id) == 0)
			acl->uids[acl->nuids++] = (uid_t)id;
		else if ((pw = getpwnam(conf->allow_users[i])) != NULL)
			acl->uids[acl->nuids++] = pw->pw_uid;
		else {
			snprintf(err, errlen, "%s: allow_users: no such user "
			    "'%s'", conf->path, conf->allow_users[i]);
			goto fail;
		}
	}
	for (n = 0; conf->allow_groups[n] != NULL; n++)
		;
	acl->gids = xcalloc(n + 1, sizeof(gid_t));
	for (i = 0; conf->allow_groups[i] != NULL; i++) {
		if (server_group(conf->allow_groups[i],
		    &acl->gids[acl->ngids]) == -1) {
			snprintf(err, errlen, "%s: allow_groups: no such group "
			    "'%s'", conf->path, conf->allow_groups[i]);
			goto fail;
		}
		acl->ngids++;
	}
	acl->sock_gid = getegid();
	if (conf->socket_group != NULL &&
	    server_group(conf->socket_group, &acl->sock_gid) == -1) {
		snprintf(err, errlen, "%s: socket_group: no such group '%s'",
		    conf->path, conf->socket_group);
		goto fail;
	}
	return (0);
fail:
	server_acl_free(acl);
	return (-1);
}

void
server_acl_free(struct acl *acl)
{
	free(acl->uids);
	free(acl->gids);
	memset(acl, 0, sizeof *acl);
}

static int
server_gid_allowed(gid_t gid)
{
	size_t	i;

	for (i = 0; i < srv.acl.ngids; i++) {
		if (srv.acl.gids[i] == gid)
			return (1);
	}
	return (0);
}

/* Root, ourselves, allow_users, and members of allow_groups. */
static int
server_allowed(int fd, const struct ucred *uc)
{
	gid_t		 groups[256], *gp = groups;
	socklen_t	 len;
	size_t		 i, n;
	int		 ok = 0;

	if (uc->uid == 0 || uc->uid == geteuid())
		return (1);
	for (i = 0; i < srv.acl.nuids; i++) {
		if (srv.acl.uids[i] == uc->uid)
			return (1);
	}
	if (srv.acl.ngids == 0)
		return (0);
	if (server_gid_allowed(uc->gid))
		return (1);
#ifdef SO_PEERGROUPS
	/* Supplementary groups of the peer, as they were at connect(2). */
	len = sizeof groups;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gp, &len) == -1) {
		if (errno != ERANGE)
			return (0);
		gp = xmalloc(len);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gp, &len) ==
		    -1) {
			free(gp);
			return (0);
		}
	}
	n = len / sizeof(gid_t);
	for (i = 0; i < n && !ok; i++)
		ok = server_gid_allowed(gp[i]);
	if (gp != groups)
		free(gp);
#else
	(void)len; (void)n; (void)gp; (void)groups;
#endif
	return (ok);
}

/* Log a refused uid at most once per RELAYD_REFUSE_LOG_SEC. */
static void
server_log_refused(const struct ucred *uc)
{
	struct refused	*r, *oldest = &srv.refused_log[0];
	time_t		 now = time(NULL);
	size_t		 i;

	for (i = 0; i < sizeof srv.refused_log / sizeof srv.refused_log[0];
	    i++) {
		r = &srv.refused_log[i];
		if (r->when != 0 && r->uid == uc->uid) {
			if (now - r->when < RELAYD_REFUSE_LOG_SEC)
				return;
			oldest = r;
			break;
		}
		if (r->when < oldest->when)
			oldest = r;
	}
	oldest->uid = uc->uid;
	oldest->when = now;
	log_warnx("refused a connection from uid %ld (pid %ld): not root, "
	    "not svrelayd's user, not in allow_users or allow_groups "
	    "(logged once a minute per uid)", (long)uc->uid, (long)uc->pid);
}

/* --- the socket -------------------------------------------------------- */

static int
server_sockaddr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof *sun);
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun->sun_path) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	strncpy(sun->sun_path, path, sizeof sun->sun_path - 1);
	return (0);
}

/*
 * Is something serving path?  Returns 1 if a live server answers, 0 if
 * there is nothing there or a stale socket file (ECONNREFUSED), -1 on
 * anything else (logged).
 */
int
server_probe(const char *path)
{
	struct sockaddr_un	sun;
	struct stat		st;
	int			fd, rc;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return (0);
		log_warn("%s", path);
		return (-1);
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("%s exists and is not a socket; not replacing it",
		    path);
		return (-1);
	}
	if (server_sockaddr(path, &sun) == -1) {
		log_warn("%s", path);
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("socket");
		return (-1);
	}
	rc = connect(fd, (struct sockaddr *)&sun, sizeof sun);
	close(fd);
	if (rc == 0)
		return (1);
	if (errno == ECONNREFUSED) {
		log_info("%s: replacing a stale socket (nobody answers)",
		    path);
		return (0);
	}
	log_warn("probe %s", path);
	return (-1);
}

static int
server_mkdir(const char *dir)
{
	if (mkdir(dir, RELAYD_SOCKDIR_MODE) == 0)
		(void)chmod(dir, RELAYD_SOCKDIR_MODE);
	else if (errno != EEXIST) {
		log_warn("mkdir %s", dir);
		return (-1);
	}
	return (0);
}

/* mkdir -p the socket's directory (0755). */
static int
server_mkdirs(const char *path)
{
	char	*dir, *p;
	int	 rc = 0;

	dir = xstrdup(path);
	if ((p = strrchr(dir, '/')) == NULL || p == dir) {
		free(dir);
		return (0);
	}
	*p = '\0';
	for (p = dir + 1; *p != '\0' && rc == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		rc = server_mkdir(dir);
		*p = '/';
	}
	if (rc == 0)
		rc = server_mkdir(dir);
	free(dir);
	return (rc);
}

/* One reply line written straight to a socket we are about to close. */
static void
server_say(int fd, const char *error, int temporary)
{
	struct wire_reply	 r;
	char			*line;
	size_t			 len;

	memset(&r, 0, sizeof r);
	r.temporary = temporary;
	snprintf(r.error, sizeof r.error, "%s", error);
	line = wire_reply_line(&r, &len);
	(void)send(fd, line, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	free(line);
}

static void
server_resume_cb(int fd, short what, void *arg)
{
	if (srv.listener != NULL)
		evconnlistener_enable(srv.listener);
}

static void
server_error_cb(struct evconnlistener *l, void *arg)
{
	struct timeval	tv = { 1, 0 };

	/* Out of descriptors: pause accepting a second, do not spin. */
	log_warn("accept on %s", srv.path);
	evconnlistener_disable(l);
	evtimer_add(srv.resume_ev, &tv);
}

static void	server_accept_cb(struct evconnlistener *, evutil_socket_t,
		    struct sockaddr *, int, void *);

/*
 * Bind a listening socket: to a temporary name in the same directory, with
 * its mode and group set, then renamed over conf->socket, so that clients
 * never see a half-made socket.  The caller checked with server_probe that
 * nobody serves the path.  Returns the descriptor and sets *st to the
 * socket file's identity, or -1 after logging why.
 */
static int
server_bind(const struct conf *conf, const struct acl *acl, struct stat *st)
{
	struct sockaddr_un	 sun;
	char			*tmp = NULL;
	int			 fd = -1;

	if (server_mkdirs(conf->socket) == -1)
		return (-1);
	xasprintf(&tmp, "%s.%ld.tmp", conf->socket, (long)getpid());
	if (server_sockaddr(tmp, &sun) == -1) {
		log_warnx("socket path %s is too long", conf->socket);
		goto fail;
	}
	(void)unlink(tmp);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		log_warn("socket");
		goto fail;
	}
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		log_warn("bind %s", tmp);
		goto fail;
	}
	if (chmod(tmp, conf->socket_mode) == -1) {
		log_warn("chmod %s", tmp);
		goto fail;
	}
	if (acl->sock_gid != getegid() &&
	    chown(tmp, (uid_t)-1, acl->sock_gid) == -1) {
		log_warn("chown %s to group %ld", tmp, (long)acl->sock_gid);
		goto fail;
	}
	if (listen(fd, SOMAXCONN) == -1) {
		log_warn("listen");
		goto fail;
	}
	if (rename(tmp, conf->socket) == -1) {
		log_warn("rename %s to %s", tmp, conf->socket);
		goto fail;
	}
	free(tmp);
	if (stat(conf->socket, st) == -1)
		memset(st, 0, sizeof *st);
	return (fd);

fail:
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		(void)unlink(tmp);
		free(tmp);
	}
	return (-1);
}

/* Serve fd (a bound, listening socket at path) from now on. */
static int
server_attach(int fd, const char *path, const struct stat *st)
{
	struct evconnlistener	*l;

	l = evconnlistener_new(env->base, server_accept_cb, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (l == NULL) {
		log_warnx("evconnlistener_new failed");
		close(fd);
		return (-1);
	}
	evconnlistener_set_error_cb(l, server_error_cb);
	if (srv.listener != NULL)
		evconnlistener_free(srv.listener);
	srv.listener = l;
	free(srv.path);
	srv.path = xstrdup(path);
	srv.ino = st->st_ino;
	srv.dev = st->st_dev;
	return (0);
}

/* Listen on conf->socket.  Returns 0, or -1 after logging why. */
int
server_listen(const struct conf *conf, const struct acl *acl)
{
	struct stat	st;
	int		fd;

	server_init();
	if ((fd = server_bind(conf, acl, &st)) == -1)
		return (-1);
	if (server_attach(fd, conf->socket, &st) == -1)
		return (-1);
	srv.resume_ev = evtimer_new(env->base, server_resume_cb, NULL);
	server_reconf(conf, acl);
	log_info("listening on %s (mode %04o, group %ld)", conf->socket,
	    conf->socket_mode, (long)acl->sock_gid);
	return (0);
}

/*
 * SIGHUP with a new socket path, mode or group: bind the new socket first,
 * and only once it listens close the old one (removing its file if it is
 * still ours and the path changed).  Connections already open stay open.
 * Returns 0, or -1 (the old socket still serving) after logging why.
 */
int
server_relisten(const struct conf *conf, const struct acl *acl)
{
	struct stat	 st, old;
	char		*oldpath;
	int		 fd;

	if (strcmp(conf->socket, srv.path) != 0 &&
	    server_probe(conf->socket) != 0) {
		log_warnx("not moving to %s: another svrelayd serves it, or it "
		    "is not a socket", conf->socket);
		return (-1);
	}
	if ((fd = server_bind(conf, acl, &st)) == -1)
		return (-1);
	oldpath = xstrdup(srv.path);
	old.st_ino = srv.ino;
	old.st_dev = srv.dev;
	if (server_attach(fd, conf->socket, &st) == -1) {
		free(oldpath);
		return (-1);
	}
	if (strcmp(oldpath, conf->socket) != 0 && stat(oldpath, &st) == 0 &&
	    st.st_ino == old.st_ino && st.st_dev == old.st_dev)
		(void)unlink(oldpath);
	log_info("now listening on %s (mode %04o, group %ld)%s%s",
	    conf->socket, conf->socket_mode, (long)acl->sock_gid,
	    strcmp(oldpath, conf->socket) != 0 ? "; closed " : "",
	    strcmp(oldpath, conf->socket) != 0 ? oldpath : "");
	free(oldpath);
	return (0);
}

/* Take a new config's limits and ACL (copied). */
void
server_reconf(const struct conf *conf, const struct acl *acl)
{
	server_acl_free(&srv.acl);
	srv.acl.nuids = acl->nuids;
	srv.acl.uids = xreallocarray(NULL, acl->nuids + 1, sizeof(uid_t));
	memcpy(srv.acl.uids, acl->uids, acl->nuids * sizeof(uid_t));
	srv.acl.ngids = acl->ngids;
	srv.acl.gids = xreallocarray(NULL, acl->ngids + 1, sizeof(gid_t));
	memcpy(srv.acl.gids, acl->gids, acl->ngids * sizeof(gid_t));
	srv.acl.sock_gid = acl->sock_gid;
	srv.max_connections = conf->max_connections;
	srv.max_line = conf->max_line;
}

/* --- connections ------------------------------------------------------- */

static void
conn_set_state(struct conn *c, enum conn_state state)
{
	if (c->state == state)
		return;
	log_debug("conn %llu (uid %ld pid %ld): %s -> %s",
	    (unsigned long long)c->id, (long)c->uid, (long)c->pid,
	    conn_state_names[c->state], conn_state_names[state]);
	c->state = state;
	switch (state) {
	case CONN_READING:
		if (c->bev != NULL && !c->eof)
			bufferevent_enable(c->bev, EV_READ);
		break;
	case CONN_BLOCKED:
		if (c->bev != NULL)
			bufferevent_disable(c->bev, EV_READ);
		break;
	case CONN_DRAINING:
		if (c->bev != NULL) {
			bufferevent_disable(c->bev, EV_READ);
			/* Tell us when the output is all gone. */
			bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		}
		event_active(c->check_ev, EV_TIMEOUT, 0);
		break;
	}
}

static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct conn	*c;
	struct ucred	 uc;
	socklen_t	 len = sizeof uc;
	char		 msg[128];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1) {
		log_warn("SO_PEERCRED");
		close(fd);
		return;
	}
	if (!server_allowed(fd, &uc)) {
		srv.refused_peers++;
		server_log_refused(&uc);
		snprintf(msg, sizeof msg, "uid %ld is not allowed to use "
		    "svrelayd", (long)uc.uid);
		server_say(fd, msg, 0);
		close(fd);
		return;
	}
	if (env->shutting_down || srv.nconns >= (size_t)srv.max_connections) {
		srv.refused_full++;
		if (env->shutting_down)
			snprintf(msg, sizeof msg, "svrelayd is shutting down");
		else {
			snprintf(msg, sizeof msg, "too many connections "
			    "(max_connections %d)", srv.max_connections);
			log_debug("refused pid %ld: %s", (long)uc.pid, msg);
		}
		server_say(fd, msg, 1);
		close(fd);
		return;
	}

	c = xcalloc(1, sizeof *c);
	c->id = ++srv.next_id;
	c->pid = uc.pid;
	c->uid = uc.uid;
	c->state = CONN_READING;
	TAILQ_INIT(&c->requests);
	c->bev = bufferevent_socket_new(env->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		log_warnx("bufferevent_socket_new failed");
		close(fd);
		free(c);
		return;
	}
	c->check_ev = event_new(env->base, -1, 0, conn_check_cb, c);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
	    c);
	/* Never buffer more than one line and its newline. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, srv.max_line + 1);
	bufferevent_setwatermark(c->bev, EV_WRITE, RELAYD_CONN_OUT_LOW, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&srv.conns, c, entry);
	srv.nconns++;
	srv.total++;
	log_debug("conn %llu: uid %ld pid %ld connected (%zu open)",
	    (unsigned long long)c->id, (long)c->uid, (long)c->pid, srv.nconns);
}

static void
conn_free(struct conn *c)
{
	log_debug("conn %llu: closed", (unsigned long long)c->id);
	TAILQ_REMOVE(&srv.conns, c, entry);
	srv.nconns--;
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	event_free(c->check_ev);
	free(c);
	if (env->shutting_down && srv.nconns == 0 && srv.drained != NULL)
		srv.drained();
}

/* Free a draining connection once it owes nothing and has written all. */
static void
conn_check_cb(int fd, short what, void *arg)
{
	struct conn	*c = arg;

	if (c->state != CONN_DRAINING || c->npending > 0)
		return;
	if (c->bev != NULL &&
	    evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
		return;
	conn_free(c);
}

static size_t
conn_output(struct conn *c)
{
	if (c->bev == NULL)
		return (0);
	return (evbuffer_get_length(bufferevent_get_output(c->bev)));
}

/* Send the replies that are ready, in order; unblock if there is room. */
static void
conn_flush(struct conn *c)
{
	struct request	*r;

	while ((r = TAILQ_FIRST(&c->requests)) != NULL && r->done) {
		TAILQ_REMOVE(&c->requests, r, entry);
		c->npending--;
		if (c->bev != NULL)
			bufferevent_write(c->bev, r->reply, r->replylen);
		free(r->reply);
		if (r->cmd != NULL)
			json_object_put(r->cmd);
		free(r);
	}
	switch (c->state) {
	case CONN_BLOCKED:
		if (c->npending < RELAYD_CONN_MAX_PENDING / 2 &&
		    conn_output(c) <= RELAYD_CONN_OUT_LOW) {
			conn_set_state(c, CONN_READING);
			/* Lines may be waiting in the input buffer. */
			conn_input(c);
		}
		break;
	case CONN_DRAINING:
		if (c->npending == 0)
			event_active(c->check_ev, EV_TIMEOUT, 0);
		break;
	case CONN_READING:
		break;
	}
}

static struct request *
request_new(struct conn *c)
{
	struct request	*r;

	r = xcalloc(1, sizeof *r);
	r->conn = c;
	TAILQ_INSERT_TAIL(&c->requests, r, entry);
	c->npending++;
	return (r);
}

/* The request's answer is line (taken); send what is in order. */
static void
request_done(struct request *r, char *line, size_t len)
{
	r->reply = line;
	r->replylen = len;
	r->done = 1;
	conn_flush(r->conn);
}

static void
request_reply(struct request *r, const struct wire_reply *w)
{
	char	*line;
	size_t	 len;

	line = wire_reply_line(w, &len);
	request_done(r, line, len);
}

static void
request_error(struct request *r, const char *error, int temporary)
{
	struct wire_reply	w;

	memset(&w, 0, sizeof w);
	w.temporary = temporary;
	snprintf(w.error, sizeof w.error, "%s", error);
	request_reply(r, &w);
}

/* The spool's answer for an event. */
static void
server_stored(void *arg, const struct svevent *ev, enum spool_result res,
    const char *error)
{
	struct request		*r = arg;
	struct wire_reply	 w;

	memset(&w, 0, sizeof w);
	snprintf(w.id, sizeof w.id, "%.*s", (int)sizeof w.id - 1, ev->id);
	switch (res) {
	case SPOOL_STORED:
		w.ok = 1;
		break;
	case SPOOL_DUPLICATE:
		w.ok = 1;
		w.duplicate = 1;
		break;
	case SPOOL_FAILED:
		w.temporary = 1;
		snprintf(w.error, sizeof w.error, "%s", error != NULL ? error :
		    "spool write failed");
		break;
	}
	request_reply(r, &w);
}

/* control's (or delivery's) answer to a command. */
static void
server_command_done(void *arg, struct json_object *reply)
{
	struct request	*r = arg;
	size_t		 len;
	char		*line;

	line = svevent_json_line(reply, &len);
	json_object_put(reply);
	request_done(r, line, len);
}

static void
conn_line(struct conn *c, const char *line, size_t len)
{
	struct request		*r;
	struct json_object	*cmd;
	struct svevent		*ev;
	char			 err[512];

	r = request_new(c);
	if ((cmd = control_parse(line, len)) != NULL) {
		r->cmd = cmd;
		control_handle(cmd, server_command_done, r);
		return;
	}
	if ((ev = svevent_from_json(line, len, err, sizeof err)) == NULL) {
		srv.refused_lines++;
		log_debug("conn %llu: refused a line: %s",
		    (unsigned long long)c->id, err);
		request_error(r, err, 0);
		return;
	}
	spool_add(env->spool, ev, server_stored, r);
}

/* Take complete lines from the input while the connection may. */
static void
conn_input(struct conn *c)
{
	struct evbuffer		*in;
	struct evbuffer_ptr	 p;
	char			*line, msg[128];
	size_t			 len, eol;

	if (c->bev == NULL)
		return;
	in = bufferevent_get_input(c->bev);
	while (c->state == CONN_READING) {
		if (c->npending >= RELAYD_CONN_MAX_PENDING ||
		    conn_output(c) >= RELAYD_CONN_OUT_HIGH) {
			conn_set_state(c, CONN_BLOCKED);
			return;
		}
		p = evbuffer_search_eol(in, NULL, &eol, EVBUFFER_EOL_LF);
		if ((p.pos == -1 && evbuffer_get_length(in) > srv.max_line) ||
		    (p.pos != -1 && (size_t)p.pos > srv.max_line)) {
			srv.long_lines++;
			log_warnx("conn %llu (uid %ld pid %ld): line longer than "
			    "max_line (%zu bytes); closing",
			    (unsigned long long)c->id, (long)c->uid,
			    (long)c->pid, srv.max_line);
			snprintf(msg, sizeof msg, "line longer than max_line "
			    "(%zu bytes); closing the connection",
			    srv.max_line);
			request_error(request_new(c), msg, 0);
			evbuffer_drain(in, evbuffer_get_length(in));
			conn_set_state(c, CONN_DRAINING);
			return;
		}
		if (p.pos == -1)
			break;
		if ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) ==
		    NULL)
			break;
		conn_line(c, line, len);
		free(line);
	}
	if (c->state == CONN_READING && c->eof)
		conn_set_state(c, CONN_DRAINING);
}

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	conn_input(arg);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	switch (c->state) {
	case CONN_BLOCKED:
		conn_flush(c);
		break;
	case CONN_DRAINING:
		event_active(c->check_ev, EV_TIMEOUT, 0);
		break;
	case CONN_READING:
		break;
	}
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn	*c = arg;

	if (what & BEV_EVENT_EOF) {
		/* Half-closed: answer what was sent, then close. */
		c->eof = 1;
		if (c->state == CONN_READING)
			conn_input(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		log_debug("conn %llu: %s", (unsigned long long)c->id,
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		/* The peer is gone: replies still owed are dropped. */
		bufferevent_free(c->bev);
		c->bev = NULL;
		c->eof = 1;
		conn_set_state(c, CONN_DRAINING);
	}
}

/* --- shutdown and status ----------------------------------------------- */

/*
 * SIGTERM: stop accepting, stop reading (lines not yet read are not
 * answered: their senders still hold them), answer what was read, then
 * call drained once every connection is closed.
 */
void
server_shutdown(void (*drained)(void))
{
	struct conn	*c, *next;

	server_init();
	srv.drained = drained;
	if (srv.listener != NULL) {
		evconnlistener_free(srv.listener);
		srv.listener = NULL;
	}
	for (c = TAILQ_FIRST(&srv.conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		c->eof = 1;
		conn_set_state(c, CONN_DRAINING);
	}
	if (srv.nconns == 0 && drained != NULL)
		drained();
}

/* Free everything and remove the socket if it is still ours. */
void
server_close(void)
{
	struct conn	*c;
	struct request	*r;
	struct stat	 st;

	server_init();
	if (srv.listener != NULL) {
		evconnlistener_free(srv.listener);
		srv.listener = NULL;
	}
	while ((c = TAILQ_FIRST(&srv.conns)) != NULL) {
		while ((r = TAILQ_FIRST(&c->requests)) != NULL) {
			TAILQ_REMOVE(&c->requests, r, entry);
			free(r->reply);
			if (r->cmd != NULL)
				json_object_put(r->cmd);
			free(r);
		}
		c->npending = 0;
		srv.drained = NULL;
		conn_free(c);
	}
	if (srv.resume_ev != NULL) {
		event_free(srv.resume_ev);
		srv.resume_ev = NULL;
	}
	if (srv.path != NULL && stat(srv.path, &st) == 0 &&
	    st.st_ino == srv.ino && st.st_dev == srv.dev)
		(void)unlink(srv.path);
	free(srv.path);
	srv.path = NULL;
	server_acl_free(&srv.acl);
}

void
server_status(struct json_object *o)
{
	json_object_object_add(o, "socket", srv.path != NULL ?
	    json_object_new_string(srv.path) : NULL);
	json_object_object_add(o, "connections",
	    json_object_new_int64((int64_t)srv.nconns));
	json_object_object_add(o, "max_connections",
	    json_object_new_int(srv.max_connections));
	json_object_object_add(o, "connections_total",
	    json_object_new_int64((int64_t)srv.total));
	json_object_object_add(o, "refused_peers",
	    json_object_new_int64((int64_t)srv.refused_peers));
	json_object_object_add(o, "refused_full",
	    json_object_new_int64((int64_t)srv.refused_full));
	json_object_object_add(o, "refused_lines",
	    json_object_new_int64((int64_t)srv.refused_lines));
	json_object_object_add(o, "long_lines",
	    json_object_new_int64((int64_t)srv.long_lines));
}

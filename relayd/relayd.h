/*
 * svrelayd's private header: everything the relayd/ sources share, and nothing
 * the listener or common/ may include.  Forward declarations, limits,
 * structs, then prototypes grouped by file.
 */
#ifndef SVRELAY_RELAYD_H
#define SVRELAY_RELAYD_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct json_object;
struct conf;
struct svevent;
struct spool;
struct handoff;

/* Spool layout (see design.md, "Spool directory"). */
#define RELAYD_EVENTS_FILE	"events.jsonl"
#define RELAYD_HANDOFF_TMP	"tmp"
#define RELAYD_HANDOFF_NEW	"new"
#define RELAYD_HANDOFF_BAD	"bad"
#define RELAYD_SPOOL_MODE	0750
#define RELAYD_HANDOFF_MODE	02770
#define RELAYD_FILE_MODE	0640
#define RELAYD_SOCKDIR_MODE	0755

/* Duplicate detection: ids remembered, and how much of the spool's tail
 * is read at start to remember them again. */
#define RELAYD_IDSET_SIZE	100000
#define RELAYD_TAIL_BYTES	(4 * 1024 * 1024)

/* Hand-off import: periodic rescan (a safety net behind inotify), the
 * pause after a failed write, and files per spool batch. */
#define RELAYD_RESCAN_SEC	30
#define RELAYD_RETRY_SEC	5
#define RELAYD_HANDOFF_CHUNK	512

/* Per connection: stop reading when this many replies are owed or this
 * much output waits for the peer; read again below the low marks. */
#define RELAYD_CONN_MAX_PENDING	256
#define RELAYD_CONN_OUT_HIGH	(256 * 1024)
#define RELAYD_CONN_OUT_LOW	(32 * 1024)

/* SIGTERM: how long connections get to take their last replies. */
#define RELAYD_DRAIN_SEC	3

/* A refused peer's uid is logged at most once per this many seconds. */
#define RELAYD_REFUSE_LOG_SEC	60

/* svrelayctl's wait for an answer. */
#define RELAYD_CTL_TIMEOUT_SEC	30

/* The daemon's state, for the files that need more than their own. */
struct relayd {
	struct event_base	*base;
	struct conf		*conf;
	struct spool		*spool;
	struct handoff		*handoff;
	int64_t			 start_ms;
	int			 shutting_down;
};
extern struct relayd	*env;		/* defined by svrelayd.c's main */

/* Who may connect: allow_users/allow_groups resolved to ids. */
struct acl {
	uid_t		*uids;
	size_t		 nuids;
	gid_t		*gids;
	size_t		 ngids;
	gid_t		 sock_gid;	/* socket and hand-off group */
};

/* idset.c: a bounded set of recently seen event ids */
struct idset;
struct idset	*idset_new(size_t);
void		 idset_free(struct idset *);
int		 idset_has(const struct idset *, const char *);
void		 idset_add(struct idset *, const char *);
void		 idset_pop(struct idset *, size_t);
size_t		 idset_count(const struct idset *);

/* spool.c: events.jsonl, group commit, dedup, rotation */
enum spool_result {
	SPOOL_STORED,		/* written (and synced, per fsync mode) */
	SPOOL_DUPLICATE,	/* seen before, not written again */
	SPOOL_FAILED		/* not stored: error says why; try later */
};
typedef void	(*spool_cb)(void *, const struct svevent *,
		    enum spool_result, const char *);
struct spool_stats {
	uint64_t	 stored;
	uint64_t	 duplicates;
	uint64_t	 failed;
	uint64_t	 batches;
	int64_t		 last_write_ms;	/* 0: never */
	int64_t		 last_error_ms;	/* 0: never */
	char		 last_error[256];
	int		 failing;	/* the last batch failed */
};
struct spool	*spool_open(struct event_base *, const char *,
		    const struct conf *);
void		 spool_configure(struct spool *, const struct conf *);
void		 spool_close(struct spool *);
void		 spool_add(struct spool *, struct svevent *, spool_cb, void *);
int		 spool_commit(struct spool *);
int		 spool_sync(struct spool *);
void		 spool_set_io(struct spool *,
		    ssize_t (*)(int, const void *, size_t), int (*)(int));
void		 spool_set_stored_hook(struct spool *,
		    void (*)(const struct svevent *));
const char	*spool_path(const struct spool *);
off_t		 spool_size(const struct spool *);
size_t		 spool_pending(const struct spool *);
const struct spool_stats *spool_stats(const struct spool *);
void		 spool_status(const struct spool *, struct json_object *);

/* handoff.c: import of the listener's hand-off directory */
int		 handoff_mkdirs(const char *, gid_t);
struct handoff	*handoff_new(struct event_base *, struct spool *,
		    const char *, size_t);
void		 handoff_free(struct handoff *);
void		 handoff_kick(struct handoff *);
int		 handoff_import(struct handoff *);
size_t		 handoff_inflight(const struct handoff *);
void		 handoff_status(const struct handoff *, struct json_object *);

/* server.c: the listening socket and its connections */
int		 server_acl_load(const struct conf *, struct acl *, char *,
		    size_t);
void		 server_acl_free(struct acl *);
int		 server_probe(const char *);
int		 server_listen(const struct conf *, const struct acl *);
int		 server_relisten(const struct conf *, const struct acl *);
void		 server_reconf(const struct conf *, const struct acl *);
void		 server_shutdown(void (*)(void));
void		 server_close(void);
void		 server_status(struct json_object *);

/* control.c: commands on the socket ({"cmd":"status"}, …) */
struct json_object *control_parse(const char *, size_t);
void		 control_handle(struct json_object *,
		    void (*)(void *, struct json_object *), void *);
struct json_object *control_status(void);

/* sdnotify.c */
int		 sdnotify(const char *);
long long	 sdnotify_watchdog_usec(void);

#endif

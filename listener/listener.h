/*
 * svrelay-listener: a supervisord eventlistener that hands each event to
 * svrelayd, or to the spool's hand-off directory, before it says OK.
 */
#ifndef SVRELAY_LISTENER_H
#define SVRELAY_LISTENER_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct conf;
struct svevent;
struct forward;
struct handoff;

/* Limits on what supervisord may send. */
#define PROTO_BUFSIZE		16384	/* stdin read buffer */
#define PROTO_MAX_HEADER	8192	/* bytes in a header line */
#define PROTO_MAX_LEN		(16 * 1024 * 1024)	/* code points */
#define PROTO_MAX_FIELD		256	/* server, pool: bytes */
#define PROTO_ERRLEN		320
#define PROTO_KEEP_PAYLOAD	(256 * 1024)	/* larger buffers are freed */

/* What the listener writes on stdout: nothing else, ever. */
#define PROTO_READY		"READY\n"
#define PROTO_RESULT_OK		"RESULT 2\nOK"
#define PROTO_RESULT_FAIL	"RESULT 4\nFAIL"

/* proto_read_header's answers besides 0. */
#define PROTO_EOF		1	/* end of input before a header */
#define PROTO_ERROR		(-1)	/* bad input; reason in r->err */

/* forward_send's answers. */
#define FORWARD_OK		0	/* stored (or a duplicate) */
#define FORWARD_UNAVAILABLE	1	/* not stored now: hand it off */
#define FORWARD_REFUSED		2	/* svrelayd says the line is bad */

#define FORWARD_MAX_REPLY	4096
#define FORWARD_HOLDOFF_MS	5000	/* after a timeout, skip svrelayd */

/* Hand-off directory: <spool_dir>/handoff/{tmp,new,bad}. */
#define HANDOFF_TMP		"tmp"
#define HANDOFF_NEW		"new"
#define HANDOFF_BAD		"bad"
#define HANDOFF_DIR_MODE	02770
#define HANDOFF_FILE_MODE	0640

/*
 * The event header supervisord sends before each payload.  The strings
 * point into line.
 */
struct proto_header {
	char		 line[PROTO_MAX_HEADER + 1];
	const char	*ver;
	const char	*server;
	const char	*pool;
	const char	*eventname;
	int64_t		 serial;
	int64_t		 poolserial;
	size_t		 len;		/* payload length in code points */
};

/*
 * Buffered reader of supervisord's side of the protocol, on a file
 * descriptor or, for tests and fuzzing, on memory handed out chunk bytes
 * at a time (to imitate split reads).
 */
struct proto_reader {
	int		 fd;		/* -1: memory */
	const char	*mem;
	size_t		 memlen;
	size_t		 memoff;
	size_t		 chunk;		/* memory: bytes per "read" */

	char		 buf[PROTO_BUFSIZE];
	size_t		 off;		/* first unread byte */
	size_t		 end;		/* one past the last */

	char		*payload;	/* the last payload, reused */
	size_t		 payloadsize;

	char		 err[PROTO_ERRLEN];	/* why the last call failed */
};

/* proto.c */
void		 proto_init_fd(struct proto_reader *, int);
void		 proto_init_mem(struct proto_reader *, const void *, size_t,
		    size_t);
void		 proto_clear(struct proto_reader *);
int		 proto_wait(struct proto_reader *, const sigset_t *);
int		 proto_read_header(struct proto_reader *,
		    struct proto_header *);
int		 proto_parse_header(struct proto_header *, const char *,
		    size_t, char *, size_t);
int		 proto_read_payload(struct proto_reader *, size_t,
		    const char **, size_t *);
struct svevent	*proto_event(const struct proto_header *, const char *,
		    size_t, const char *, long, char *, size_t);
int		 proto_write_ready(int);
int		 proto_write_result(int, int);

/* forward.c */
struct forward	*forward_new(const char *, int);
void		 forward_free(struct forward *);
int		 forward_send(struct forward *, const char *, size_t,
		    const char *, char *, size_t);
void		 forward_close(struct forward *);

/* handoff.c */
struct handoff	*handoff_new(const char *);
void		 handoff_free(struct handoff *);
int		 handoff_write(struct handoff *, const char *, size_t, int,
		    char *, size_t, char *, size_t);

/* loop.c */
int		 loop_run(struct conf *);

#endif

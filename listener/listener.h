/*
 * svrelay-listener: a supervisord eventlistener that hands each event to
 * svrelayd, or to the spool's hand-off directory, before it says OK.
 */
#ifndef SVRELAY_LISTENER_H
#define SVRELAY_LISTENER_H

#include <regex.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct conf;
struct svevent;
struct forward;
struct handoff;
struct context;
struct rpc;
struct json_object;

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
 * Crash context: the listener runs the svrelay-context helper (libcurl,
 * expat) for the events that need it and reads one JSON object from its
 * stdout.  Secrets and patterns go in the environment, not on argv.
 */
#ifndef SVRELAY_CONTEXT_HELPER
#define SVRELAY_CONTEXT_HELPER	"/usr/local/libexec/svrelay/svrelay-context"
#endif
#define CONTEXT_ENV_USERNAME	"SVRELAY_CONTEXT_USERNAME"
#define CONTEXT_ENV_PASSWORD	"SVRELAY_CONTEXT_PASSWORD"
#define CONTEXT_ENV_REDACT	"SVRELAY_CONTEXT_REDACT"	/* JSON array */
#define CONTEXT_MAX_OUTPUT	(512 * 1024)	/* helper's answer, bytes */
#define CONTEXT_MARGIN_MS	50	/* helper answers this early */
#define CONTEXT_BACKOFF_SLOTS	64	/* processes rate-limited at once */
#define CONTEXT_ERRLEN		512

/* XML-RPC responses: caps on what a server may send. */
#define XMLRPC_MAX_BODY		(1024 * 1024)
#define XMLRPC_MAX_DEPTH	32
#define XMLRPC_MAX_VALUES	4096
#define XMLRPC_ERRLEN		256

/* xmlrpc_parse's answers. */
#define XMLRPC_OK		0
#define XMLRPC_FAULT		1
#define XMLRPC_ERROR		(-1)

/* rpc_call's answers. */
#define RPC_OK			0
#define RPC_FAULT		1	/* an XML-RPC fault */
#define RPC_HTTP		2	/* an HTTP status other than 200 */
#define RPC_TIMEOUT		3
#define RPC_ERROR		(-1)

/* supervisord's fault codes (supervisor/xmlrpc.py). */
#define XMLRPC_FAULT_BAD_NAME	10
#define XMLRPC_FAULT_NO_FILE	20
#define XMLRPC_FAULT_FAILED	30

#define TAIL_REDACTED		"[redacted]"

/* One XML-RPC parameter: a string, or (string NULL) an integer. */
struct xmlrpc_param {
	const char	*string;
	int		 integer;
};

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

/* context.c */
struct context	*context_new(const struct conf *);
void		 context_free(struct context *);
int		 context_wanted(struct context *, const struct svevent *);
void		 context_add(struct context *, struct svevent *);

/* xmlrpc.c */
int		 xmlrpc_parse(const char *, size_t, struct json_object **,
		    int *, char *, size_t);
char		*xmlrpc_request(const char *, const struct xmlrpc_param *,
		    size_t);

/* rpc.c */
int64_t		 rpc_now(void);
struct rpc	*rpc_new(const char *, const char *, const char *, char *,
		    size_t);
void		 rpc_free(struct rpc *);
int		 rpc_call(struct rpc *, int64_t, const char *,
		    const struct xmlrpc_param *, size_t, struct json_object **,
		    int *, char *, size_t);

/* tail.c */
char		*tail_utf8(const char *, size_t, size_t *);
char		*tail_trim(char *, size_t *, size_t, int);
int		 tail_redact(char **, const regex_t *, size_t);
int		 tail_exit_status(const char *, const char *, int *, char *,
		    size_t);

/* loop.c */
int		 loop_run(struct conf *);

#endif

/*
 * listener/proto.c: supervisord's framing, on bytes captured from the
 * real supervisord 4.2.5 (tests/data/supervisord/, see capture.sh there)
 * and on crafted bad input.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "svevent.h"
#include "xmalloc.h"
#include "listener.h"

#define CAPDIR	TEST_DATADIR "/supervisord"

Suite	*proto_suite(void);

struct capture {
	char	 file[96];	/* NNN-EVENTNAME.bin */
	long	 serial;
	char	 name[64];
};

static char *
slurp(const char *path, size_t *lenp)
{
	FILE	*f;
	char	*buf;
	long	 len;

	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "open %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = xmalloc(len + 1);
	ck_assert_int_eq(fread(buf, 1, len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	*lenp = len;
	return (buf);
}

static char *
slurp_capture(const char *name, size_t *lenp)
{
	char	path[512];

	snprintf(path, sizeof path, "%s/%s", CAPDIR, name);
	return (slurp(path, lenp));
}

/* results.txt: "NNN serial EVENTNAME OK|FAIL", one delivery a line. */
static size_t
load_results(struct capture **cp)
{
	struct capture	*c = NULL;
	FILE		*f;
	char		 line[256], ans[16];
	size_t		 n = 0;
	int		 seq;

	f = fopen(CAPDIR "/results.txt", "r");
	ck_assert(f != NULL);
	while (fgets(line, sizeof line, f) != NULL) {
		c = xreallocarray(c, n + 1, sizeof *c);
		ck_assert_int_eq(sscanf(line, "%d %ld %63s %15s", &seq,
		    &c[n].serial, c[n].name, ans), 4);
		snprintf(c[n].file, sizeof c[n].file, "%03d-%s.bin", seq,
		    c[n].name);
		n++;
	}
	fclose(f);
	*cp = c;
	return (n);
}

/*
 * Read every event from r and check each against its capture file: the
 * header line and payload bytes, and that it makes a valid event.
 */
static void
check_stream(struct proto_reader *r)
{
	struct capture		*c;
	struct proto_header	 h;
	struct svevent		*ev;
	const char		*payload;
	char			*want, err[PROTO_ERRLEN], *line;
	size_t			 n, i, wantlen, size, hl, linelen;

	n = load_results(&c);
	ck_assert_int_ge(n, 40);
	for (i = 0; i < n; i++) {
		ck_assert_msg(proto_read_header(r, &h) == 0, "%s: %s",
		    c[i].file, r->err);
		ck_assert_int_eq(h.serial, c[i].serial);
		ck_assert_str_eq(h.eventname, c[i].name);
		ck_assert_str_eq(h.server, "sv-capture");
		ck_assert_str_eq(h.pool, "capture");
		ck_assert_msg(proto_read_payload(r, h.len, &payload, &size) ==
		    0, "%s: %s", c[i].file, r->err);
		want = slurp_capture(c[i].file, &wantlen);
		hl = strchr(want, '\n') - want + 1;
		ck_assert_int_eq(size, wantlen - hl);
		ck_assert_msg(memcmp(payload, want + hl, size) == 0,
		    "%s: payload differs", c[i].file);
		ev = proto_event(&h, payload, size, "h", 42, err, sizeof err);
		ck_assert_msg(ev != NULL, "%s: %s", c[i].file, err);
		line = svevent_to_line(ev, &linelen);
		svevent_free(ev);
		ev = svevent_from_json(line, linelen, err, sizeof err);
		ck_assert_msg(ev != NULL, "%s: line does not parse back: %s",
		    c[i].file, err);
		svevent_free(ev);
		free(line);
		free(want);
	}
	/* The capture may end with an event it was stopped holding. */
	free(c);
}

START_TEST(test_proto_capture_stream)
{
	struct proto_reader	*r;
	char			*data;
	size_t			 len;

	data = slurp_capture("stream.bin", &len);
	r = xmalloc(sizeof *r);
	proto_init_mem(r, data, len, 0);
	check_stream(r);
	proto_clear(r);
	free(r);
	free(data);
}
END_TEST

/* Byte by byte, and in odd chunks: every multi-byte character split. */
START_TEST(test_proto_split_reads_chunks)
{
	static const size_t	 chunks[] = { 1, 2, 3, 5, 7, 4093 };
	struct proto_reader	*r;
	char			*data;
	size_t			 len;

	data = slurp_capture("stream.bin", &len);
	r = xmalloc(sizeof *r);
	proto_init_mem(r, data, len, chunks[_i]);
	check_stream(r);
	proto_clear(r);
	free(r);
	free(data);
}
END_TEST

/*
 * Write data to fd in messages of the given sizes (SOCK_SEQPACKET keeps
 * each one a read of its own), then close it.
 */
static pid_t
feed(int fd, const char *data, size_t len, const size_t *sizes, size_t n,
    size_t every)
{
	size_t	off = 0, i = 0, sz;
	pid_t	pid;

	if ((pid = fork()) != 0)
		return (pid);
	while (off < len) {
		sz = sizes != NULL ? (i < n ? sizes[i] : len - off) : every;
		if (sz > len - off)
			sz = len - off;
		if (write(fd, data + off, sz) != (ssize_t)sz)
			_exit(1);
		off += sz;
		i++;
	}
	close(fd);
	_exit(0);
}

/* The stream with exactly the reads the capture listener got. */
START_TEST(test_proto_split_reads_real)
{
	struct proto_reader	*r;
	char			*data, *reads, *p;
	size_t			 len, rlen, sizes[4096], n = 0, left, piece;
	int			 sv[2], st;
	pid_t			 pid;

	data = slurp_capture("stream.bin", &len);
	reads = slurp_capture("reads.txt", &rlen);
	/*
	 * Each read of the capture listener, in pieces of at most 8 kB: a
	 * SOCK_SEQPACKET read drops what does not fit the reader's buffer.
	 */
	for (p = strtok(reads, "\n"); p != NULL; p = strtok(NULL, "\n")) {
		for (left = strtoul(p, NULL, 10); left > 0; left -= piece) {
			piece = left > 8192 ? 8192 : left;
			ck_assert_int_lt(n, 4096);
			sizes[n++] = piece;
		}
	}
	ck_assert_int_ge(n, 10);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	pid = feed(sv[1], data, len, sizes, n, 0);
	close(sv[1]);
	r = xmalloc(sizeof *r);
	proto_init_fd(r, sv[0]);
	check_stream(r);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(sv[0]);
	proto_clear(r);
	free(r);
	free(data);
	free(reads);
}
END_TEST

/* Three-byte reads through a socket: a read per piece of a character. */
START_TEST(test_proto_split_reads_socket)
{
	struct proto_reader	*r;
	char			*data;
	size_t			 len;
	int			 sv[2], st;
	pid_t			 pid;

	data = slurp_capture("stream.bin", &len);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	pid = feed(sv[1], data, len, NULL, 0, 3);
	close(sv[1]);
	r = xmalloc(sizeof *r);
	proto_init_fd(r, sv[0]);
	check_stream(r);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	close(sv[0]);
	proto_clear(r);
	free(r);
	free(data);
}
END_TEST

/*
 * supervisord sends nothing after a payload until the next READY: the
 * reader must return the event without waiting for more (the writer
 * keeps its end open; Check's timeout catches a hang).
 */
START_TEST(test_proto_no_read_past_payload)
{
	struct proto_reader	*r;
	struct proto_header	 h;
	const char		*payload;
	char			*data;
	size_t			 len, size;
	int			 p[2];

	data = slurp_capture("015-PROCESS_LOG_STDOUT.bin", &len);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(write(p[1], data, len), (ssize_t)len);
	r = xmalloc(sizeof *r);
	proto_init_fd(r, p[0]);
	ck_assert_int_eq(proto_read_header(r, &h), 0);
	ck_assert_int_eq(proto_read_payload(r, h.len, &payload, &size), 0);
	ck_assert_int_eq(r->off, r->end);
	close(p[0]);
	close(p[1]);
	proto_clear(r);
	free(r);
	free(data);
}
END_TEST

/* Read one captured delivery; returns its event (caller frees). */
static struct svevent *
capture_event(const char *file, long ppid, struct proto_header *hp)
{
	struct proto_reader	*r;
	struct proto_header	 h;
	struct svevent		*ev;
	const char		*payload;
	char			*data, err[PROTO_ERRLEN];
	size_t			 len, size;

	data = slurp_capture(file, &len);
	r = xmalloc(sizeof *r);
	proto_init_mem(r, data, len, 0);
	ck_assert_msg(proto_read_header(r, &h) == 0, "%s", r->err);
	ck_assert_msg(proto_read_payload(r, h.len, &payload, &size) == 0,
	    "%s", r->err);
	ck_assert_int_eq(r->off, r->end);
	ev = proto_event(&h, payload, size, "web-1", ppid, err, sizeof err);
	ck_assert_msg(ev != NULL, "%s: %s", file, err);
	if (hp != NULL)
		*hp = h;
	proto_clear(r);
	free(r);
	free(data);
	return (ev);
}

/* len counts code points: 80 of them here, 93 bytes. */
START_TEST(test_proto_non_ascii_len)
{
	struct proto_header	 h;
	struct svevent		*ev;

	ev = capture_event("015-PROCESS_LOG_STDOUT.bin", 1, &h);
	ck_assert_int_eq(h.len, 80);
	ck_assert_str_eq(ev->data, "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 "
	    "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\n");
	ck_assert_str_eq(svevent_token(ev, "channel"), "stdout");
	svevent_free(ev);

	/* 65 kB of 'é', in two reads of the capture listener. */
	ev = capture_event("023-PROCESS_LOG_STDOUT.bin", 1, &h);
	ck_assert_int_eq(h.len, 32829);
	ck_assert_int_eq(ev->datalen, 65536);
	svevent_free(ev);

	ev = capture_event("040-REMOTE_COMMUNICATION.bin", 1, &h);
	ck_assert_str_eq(svevent_token(ev, "type"), "note");
	ck_assert_str_eq(ev->data, "d\xc3\xa9ploiement termin\xc3\xa9 "
	    "\xe2\x9c\x93");
	svevent_free(ev);
}
END_TEST

/* What supervisord makes of undecodable child output. */
START_TEST(test_proto_undecodable)
{
	struct svevent	*ev;

	ev = capture_event("022-PROCESS_LOG_STDERR.bin", 1, NULL);
	ck_assert_str_eq(ev->data, "Undecodable: b'bad byte \\xff here\\n'");
	svevent_free(ev);
}
END_TEST

START_TEST(test_proto_len_zero)
{
	struct proto_header	 h;
	struct svevent		*ev;
	char			*line;

	ev = capture_event("006-SUPERVISOR_STATE_CHANGE_RUNNING.bin", 7, &h);
	ck_assert_int_eq(h.len, 0);
	ck_assert_int_eq(ev->ntokens, 0);
	ck_assert_ptr_null(ev->data);
	ck_assert_str_eq(ev->id, "web-1:sv-capture:7:5");
	line = svevent_to_line(ev, NULL);
	ck_assert_ptr_nonnull(strstr(line, "\"payload\":{}"));
	free(line);
	svevent_free(ev);
}
END_TEST

/* A FAILed event comes back with the same serial, hence the same id. */
START_TEST(test_proto_redelivery_same_id)
{
	struct svevent	*a, *b, *c;

	a = capture_event("032-PROCESS_STATE_FATAL.bin", 4242, NULL);
	b = capture_event("033-PROCESS_STATE_FATAL.bin", 4242, NULL);
	c = capture_event("031-PROCESS_STATE_BACKOFF.bin", 4242, NULL);
	ck_assert_str_eq(a->id, "web-1:sv-capture:4242:31");
	ck_assert_str_eq(a->id, b->id);
	ck_assert_str_ne(a->id, c->id);
	svevent_free(a);
	svevent_free(b);
	svevent_free(c);
}
END_TEST

/* Each event type the capture provoked, with the tokens it carries. */
START_TEST(test_proto_event_types)
{
	static const struct {
		const char	*file, *key, *value;
	} t[] = {
		{ "001-PROCESS_GROUP_ADDED.bin", "groupname", NULL },
		{ "007-PROCESS_STATE_STARTING.bin", "tries", "0" },
		{ "014-PROCESS_STATE_BACKOFF.bin", "tries", "1" },
		{ "012-PROCESS_STATE_RUNNING.bin", "from_state", "STARTING" },
		{ "021-PROCESS_STATE_EXITED.bin", "expected", "0" },
		{ "033-PROCESS_STATE_FATAL.bin", "from_state", "BACKOFF" },
		{ "035-PROCESS_STATE_STOPPING.bin", "processname", "stopper" },
		{ "036-PROCESS_STATE_STOPPED.bin", "from_state", "STOPPING" },
		{ "037-PROCESS_GROUP_REMOVED.bin", "groupname", "stopper" },
		{ "016-PROCESS_LOG_STDERR.bin", "channel", "stderr" },
		{ "027-PROCESS_COMMUNICATION_STDOUT.bin", "processname",
		    "logger" },
		{ "028-TICK_5.bin", "when", NULL },
		{ "042-SUPERVISOR_STATE_CHANGE_STOPPING.bin", NULL, NULL },
	};
	struct svevent	*ev;
	size_t		 i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		ev = capture_event(t[i].file, 1, NULL);
		if (t[i].key != NULL)
			ck_assert_msg(svevent_token(ev, t[i].key) != NULL,
			    "%s lacks %s", t[i].file, t[i].key);
		if (t[i].value != NULL)
			ck_assert_str_eq(svevent_token(ev, t[i].key),
			    t[i].value);
		svevent_free(ev);
	}
	ev = capture_event("027-PROCESS_COMMUNICATION_STDOUT.bin", 1, NULL);
	ck_assert_str_eq(ev->data, "comm \xc3\xa7" "a va\nline2");
	svevent_free(ev);
}
END_TEST

START_TEST(test_proto_header_any_order)
{
	static const char	 in[] = "len:6 eventname:TICK_5 poolserial:9 "
	    "future:x pool:p serial:8 server:s ver:3.0\nwhen:1";
	struct proto_reader	*r;
	struct proto_header	 h;
	const char		*payload;
	size_t			 size;

	r = xmalloc(sizeof *r);
	proto_init_mem(r, in, sizeof in - 1, 0);
	ck_assert_msg(proto_read_header(r, &h) == 0, "%s", r->err);
	ck_assert_int_eq(h.serial, 8);
	ck_assert_int_eq(h.poolserial, 9);
	ck_assert_str_eq(h.server, "s");
	ck_assert_str_eq(h.pool, "p");
	ck_assert_int_eq(proto_read_payload(r, h.len, &payload, &size), 0);
	ck_assert_int_eq(size, 6);
	ck_assert_int_eq(memcmp(payload, "when:1", 6), 0);
	ck_assert_int_eq(proto_read_header(r, &h), PROTO_EOF);
	proto_clear(r);
	free(r);
}
END_TEST

START_TEST(test_proto_eof_before_header)
{
	struct proto_reader	*r;
	struct proto_header	 h;

	r = xmalloc(sizeof *r);
	proto_init_mem(r, "", 0, 0);
	ck_assert_int_eq(proto_read_header(r, &h), PROTO_EOF);
	free(r);
}
END_TEST

#define HDR(len) "ver:3.0 server:s serial:1 pool:p poolserial:1 " \
	"eventname:PROCESS_STATE_RUNNING len:" len "\n"
#define OK_PAYLOAD "processname:a groupname:a from_state:STARTING pid:12"

/* Bad input, and the words its message must hold. */
static const struct {
	const char	*in;
	size_t		 len;	/* 0: strlen */
	const char	*why;
} bad[] = {
	{ "ver:3.0 server:s serial:1 pool:p poolserial:1 "
	  "eventname:TICK_5\nwhen:1", 0, "lacks token 'len'" },
	{ HDR("abc"), 0, "'len' is not a number: 'abc'" },
	{ HDR("-1"), 0, "'len' is not a number: '-1'" },
	{ HDR("+5"), 0, "'len' is not a number" },
	{ HDR(""), 0, "'len' is not a number" },
	{ HDR("16777217"), 0, "'len' is too large" },
	{ HDR("99999999999999999999999"), 0, "'len' is too large" },
	{ "ver:3.0 serial:1 pool:p poolserial:1 eventname:TICK_5 len:0\n",
	  0, "lacks token 'server'" },
	{ "ver:3.0 server:s serial:1 pool:p eventname:TICK_5 len:0\n", 0,
	  "lacks token 'poolserial'" },
	{ "ver:3.0 server:s serial:x pool:p poolserial:1 eventname:TICK_5 "
	  "len:0\n", 0, "'serial' is not a number" },
	{ "ver:3.0 server:s serial:1 pool:p poolserial:1 eventname:tick "
	  "len:0\n", 0, "'eventname' is not an event name" },
	{ "ver:3.0 server:s serial:1 pool:p poolserial:1 eventname:TICK_5 "
	  "len:0 len:1\n", 0, "'len' appears twice" },
	{ "\n", 0, "empty header line" },
	{ "hello world\n", 0, "header token 'hello' is not key:value" },
	{ "ver:3.0 server:sv\xbb\xbb pool:p\n", 0,
	  "header line is not UTF-8: byte 0xbb at offset 17" },
	{ "ver:3.0 server:sv\xc3\n", 0, "header line is not UTF-8" },
	{ "ver:3.0 server:s\0x serial:1\n", 28, "NUL byte" },
	{ "ver:3.0 server:s serial:1 pool", 0,
	  "end of input in the middle of a header, after 30 bytes" },
	{ HDR("52") "processname:a", 0,
	  "end of input in the middle of a payload, after 13 of 52" },
	{ HDR("2") "\xc3", 0, "end of input in the middle of a payload" },
	{ HDR("3") "a\xff" "b", 0, "not UTF-8: byte 0xff at offset 1" },
	{ HDR("2") "\xc0\x80", 0, "not UTF-8: byte 0xc0" },
	{ HDR("1") "\xed\xa0\x80", 0, "not UTF-8: byte 0xa0" },
	{ HDR("1") "\xf4\x90\x80\x80", 0, "not UTF-8: byte 0x90" },
	{ HDR("1") "\x80", 0, "not UTF-8: byte 0x80" },
};

START_TEST(test_proto_bad_input)
{
	struct proto_reader	*r;
	struct proto_header	 h;
	const char		*payload;
	size_t			 len, size;
	int			 rc;

	len = bad[_i].len != 0 ? bad[_i].len : strlen(bad[_i].in);
	r = xmalloc(sizeof *r);
	proto_init_mem(r, bad[_i].in, len, 3);
	rc = proto_read_header(r, &h);
	if (rc == 0)
		rc = proto_read_payload(r, h.len, &payload, &size);
	ck_assert_int_eq(rc, PROTO_ERROR);
	ck_assert_msg(strstr(r->err, bad[_i].why) != NULL,
	    "case %d: '%s' does not say '%s'", _i, r->err, bad[_i].why);
	proto_clear(r);
	free(r);
}
END_TEST

START_TEST(test_proto_overlong_header)
{
	struct proto_reader	*r;
	struct proto_header	 h;
	char			*in;

	in = xmalloc(PROTO_MAX_HEADER + 100);
	memset(in, 'x', PROTO_MAX_HEADER + 100);
	r = xmalloc(sizeof *r);
	proto_init_mem(r, in, PROTO_MAX_HEADER + 100, 1000);
	ck_assert_int_eq(proto_read_header(r, &h), PROTO_ERROR);
	ck_assert_ptr_nonnull(strstr(r->err, "header line longer than 8192"));
	free(r);
	free(in);
}
END_TEST

/* A payload its event type does not carry is bad input too. */
START_TEST(test_proto_payload_refused)
{
	static const char	 in[] = HDR("38")
	    "processname:a groupname:a from_state:X";
	struct proto_reader	*r;
	struct proto_header	 h;
	struct svevent		*ev;
	const char		*payload;
	char			 err[PROTO_ERRLEN];
	size_t			 size;

	r = xmalloc(sizeof *r);
	proto_init_mem(r, in, sizeof in - 1, 0);
	ck_assert_int_eq(proto_read_header(r, &h), 0);
	ck_assert_int_eq(proto_read_payload(r, h.len, &payload, &size), 0);
	ev = proto_event(&h, payload, size, "h", 1, err, sizeof err);
	ck_assert_ptr_null(ev);
	ck_assert_ptr_nonnull(strstr(err, "lacks token 'pid'"));

	proto_clear(r);
	proto_init_mem(r, HDR("52") OK_PAYLOAD, strlen(HDR("52") OK_PAYLOAD),
	    0);
	ck_assert_int_eq(proto_read_header(r, &h), 0);
	ck_assert_int_eq(proto_read_payload(r, h.len, &payload, &size), 0);
	ev = proto_event(&h, payload, size, "h", 1, err, sizeof err);
	ck_assert_ptr_nonnull(ev);
	svevent_free(ev);
	proto_clear(r);
	free(r);
}
END_TEST

/* Exactly these bytes: a stray newline would be a protocol violation. */
START_TEST(test_proto_write_tokens)
{
	char	buf[64];
	int	p[2];
	ssize_t	n;

	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(proto_write_ready(p[1]), 0);
	ck_assert_int_eq(proto_write_result(p[1], 1), 0);
	ck_assert_int_eq(proto_write_result(p[1], 0), 0);
	close(p[1]);
	n = read(p[0], buf, sizeof buf);
	ck_assert_int_eq(n, 6 + 11 + 13);
	ck_assert_int_eq(memcmp(buf, "READY\nRESULT 2\nOKRESULT 4\nFAIL", n),
	    0);
	close(p[0]);
}
END_TEST

Suite *
proto_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("proto");
	tc = tcase_create("core");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_proto_capture_stream);
	tcase_add_loop_test(tc, test_proto_split_reads_chunks, 0, 6);
	tcase_add_test(tc, test_proto_split_reads_real);
	tcase_add_test(tc, test_proto_split_reads_socket);
	tcase_add_test(tc, test_proto_no_read_past_payload);
	tcase_add_test(tc, test_proto_non_ascii_len);
	tcase_add_test(tc, test_proto_undecodable);
	tcase_add_test(tc, test_proto_len_zero);
	tcase_add_test(tc, test_proto_redelivery_same_id);
	tcase_add_test(tc, test_proto_event_types);
	tcase_add_test(tc, test_proto_header_any_order);
	tcase_add_test(tc, test_proto_eof_before_header);
	tcase_add_loop_test(tc, test_proto_bad_input, 0,
	    sizeof bad / sizeof bad[0]);
	tcase_add_test(tc, test_proto_overlong_header);
	tcase_add_test(tc, test_proto_payload_refused);
	tcase_add_test(tc, test_proto_write_tokens);
	suite_add_tcase(s, tc);
	return (s);
}

CHECK_MAIN(proto_suite)

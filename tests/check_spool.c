/*
 * The spool (relayd/spool.c), its id set (relayd/idset.c) and the
 * hand-off import (relayd/handoff.c), without a socket: each test makes a
 * spool in its own temp dir and commits batches by hand.  Write errors
 * come from an injected write/fdatasync (spool_set_io).
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "check_util.h"
#include "conf.h"
#include "log.h"
#include "relayd.h"
#include "svevent.h"
#include "xmalloc.h"

static char	 dir[256];
static struct conf conf;

/* Results seen by the callback, in order. */
struct seen {
	char			id[64];
	enum spool_result	res;
	char			error[256];
};
static struct seen	seen[4096];
static size_t		nseen;

static int	nwrites, nsyncs, fail_writes, fail_syncs, short_write;

static void
setup(void)
{
	log_init("check_spool", 0, LOG_LEVEL_WARN);
	snprintf(dir, sizeof dir, "/tmp/check_spool.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	memset(&conf, 0, sizeof conf);
	conf.fsync_mode = CONF_FSYNC_ALWAYS;
	conf.rotate_size = 0;
	conf.rotate_keep = 5;
	conf.max_line = 1024 * 1024;
	nseen = 0;
	nwrites = nsyncs = fail_writes = fail_syncs = short_write = 0;
}

static void
teardown(void)
{
	char	cmd[300];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static struct svevent *
mkev(const char *id)
{
	struct svevent	*ev;
	char		 line[512], err[256];

	snprintf(line, sizeof line, "{\"id\":\"%s\",\"host\":\"h\","
	    "\"server\":\"sv\",\"pool\":\"p\",\"serial\":1,\"poolserial\":1,"
	    "\"event\":\"PROCESS_STATE_FATAL\","
	    "\"time\":\"2026-01-02T03:04:05.678Z\",\"payload\":{"
	    "\"processname\":\"api\",\"groupname\":\"api\","
	    "\"from_state\":\"BACKOFF\"}}", id);
	ev = svevent_from_json(line, strlen(line), err, sizeof err);
	ck_assert_msg(ev != NULL, "%s", err);
	return (ev);
}

static char *
mkline(const char *id)
{
	struct svevent	*ev = mkev(id);
	char		*line;

	line = svevent_to_line(ev, NULL);
	svevent_free(ev);
	return (line);
}

static void
record(void *arg, const struct svevent *ev, enum spool_result res,
    const char *error)
{
	ck_assert_uint_lt(nseen, sizeof seen / sizeof seen[0]);
	snprintf(seen[nseen].id, sizeof seen[nseen].id, "%s", ev->id);
	seen[nseen].res = res;
	snprintf(seen[nseen].error, sizeof seen[nseen].error, "%s",
	    error != NULL ? error : "");
	nseen++;
}

static ssize_t
fake_write(int fd, const void *buf, size_t len)
{
	nwrites++;
	if (short_write && len > 10) {
		short_write = 0;
		return (write(fd, buf, len / 2));
	}
	if (fail_writes) {
		errno = ENOSPC;
		return (-1);
	}
	return (write(fd, buf, len));
}

static int
fake_sync(int fd)
{
	nsyncs++;
	if (fail_syncs) {
		errno = EIO;
		return (-1);
	}
	return (fdatasync(fd));
}

static char *
path(const char *name)
{
	static char	buf[512];

	snprintf(buf, sizeof buf, "%s/%s", dir, name);
	return (buf);
}

/* The whole of a file, NUL-terminated (malloc'd); "" if absent. */
static char *
slurp(const char *name)
{
	FILE	*f;
	char	*buf;
	long	 n;

	if ((f = fopen(path(name), "r")) == NULL)
		return (xstrdup(""));
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = xmalloc(n + 1);
	ck_assert_int_eq(fread(buf, 1, n, f), n);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

static void
spit(const char *name, const char *text)
{
	FILE	*f;

	ck_assert_ptr_nonnull(f = fopen(path(name), "w"));
	fputs(text, f);
	fclose(f);
}

static int
exists(const char *name)
{
	return (access(path(name), F_OK) == 0);
}

/* How many lines of the file hold "id":"<id>". */
static int
count_id(const char *text, const char *id)
{
	char		 pat[128];
	const char	*p;
	int		 n = 0;

	snprintf(pat, sizeof pat, "\"id\":\"%s\"", id);
	for (p = text; (p = strstr(p, pat)) != NULL; p++)
		n++;
	return (n);
}

static void
add(struct spool *sp, const char *id)
{
	spool_add(sp, mkev(id), record, NULL);
}

START_TEST(test_spool_append_is_the_serialised_line)
{
	struct spool	*sp;
	char		*text, *want, *want2;

	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	add(sp, "a1");
	add(sp, "a2");
	ck_assert_uint_eq(spool_pending(sp), 2);
	ck_assert_int_eq(spool_commit(sp), 0);
	ck_assert_uint_eq(nseen, 2);
	ck_assert_str_eq(seen[0].id, "a1");
	ck_assert_int_eq(seen[0].res, SPOOL_STORED);
	ck_assert_int_eq(seen[1].res, SPOOL_STORED);
	text = slurp(RELAYD_EVENTS_FILE);
	want = mkline("a1");
	want2 = mkline("a2");
	ck_assert_int_eq(strncmp(text, want, strlen(want)), 0);
	ck_assert_str_eq(text + strlen(want), want2);
	free(want2);
	ck_assert_int_eq(spool_size(sp), (off_t)strlen(text));
	ck_assert_int_eq(spool_stats(sp)->stored, 2);
	spool_close(sp);
	free(text);
	free(want);
}
END_TEST

START_TEST(test_spool_group_commit_one_write_one_sync)
{
	struct spool	*sp;
	char		 id[32];
	int		 i;

	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	spool_set_io(sp, fake_write, fake_sync);
	for (i = 0; i < 100; i++) {
		snprintf(id, sizeof id, "g%d", i);
		add(sp, id);
	}
	ck_assert_int_eq(spool_commit(sp), 0);
	ck_assert_int_eq(nwrites, 1);
	ck_assert_int_eq(nsyncs, 1);
	ck_assert_uint_eq(nseen, 100);
	ck_assert_int_eq(seen[99].res, SPOOL_STORED);
	/* An empty batch touches nothing. */
	ck_assert_int_eq(spool_commit(sp), 0);
	ck_assert_int_eq(nwrites, 1);
	spool_close(sp);
}
END_TEST

START_TEST(test_spool_torn_last_line_repaired)
{
	struct spool	*sp;
	char		*good, *text, *torn;

	char		*t1 = mkline("t1"), *t2 = mkline("t2");

	xasprintf(&good, "%s%s", t1, t2);
	free(t1);
	free(t2);
	torn = mkline("t3");
	torn[strlen(torn) / 2] = '\0';
	xasprintf(&text, "%s%s", good, torn);
	free(torn);
	spit(RELAYD_EVENTS_FILE, text);
	free(text);

	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	text = slurp(RELAYD_EVENTS_FILE);
	ck_assert_str_eq(text, good);
	free(text);
	/* t3 never made it: it is new; t2 did: it is a duplicate. */
	add(sp, "t3");
	add(sp, "t2");
	ck_assert_int_eq(spool_commit(sp), 0);
	ck_assert_int_eq(seen[0].res, SPOOL_STORED);
	ck_assert_int_eq(seen[1].res, SPOOL_DUPLICATE);
	spool_close(sp);
	text = slurp(RELAYD_EVENTS_FILE);
	ck_assert_int_eq(count_id(text, "t3"), 1);
	ck_assert_int_eq(text[strlen(text) - 1], '\n');
	free(text);
	free(good);
}
END_TEST

START_TEST(test_spool_torn_only_line_repaired)
{
	struct spool	*sp;
	char		*text;

	spit(RELAYD_EVENTS_FILE, "{\"id\":\"x\",\"ho");
	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	ck_assert_int_eq(spool_size(sp), 0);
	spool_close(sp);
	text = slurp(RELAYD_EVENTS_FILE);
	ck_assert_str_eq(text, "");
	free(text);
}
END_TEST

START_TEST(test_spool_duplicates_in_process)
{
	struct spool	*sp;
	char		*text;

	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	add(sp, "d1");
	ck_assert_int_eq(spool_commit(sp), 0);
	add(sp, "d1");		/* stored before */
	add(sp, "d2");
	add(sp, "d2");		/* in the same batch */
	ck_assert_int_eq(spool_commit(sp), 0);
	ck_assert_uint_eq(nseen, 4);
	ck_assert_int_eq(seen[0].res, SPOOL_STORED);
	ck_assert_int_eq(seen[1].res, SPOOL_DUPLICATE);
	ck_assert_int_eq(seen[2].res, SPOOL_STORED);
	ck_assert_int_eq(seen[3].res, SPOOL_DUPLICATE);
	ck_assert_int_eq(spool_stats(sp)->duplicates, 2);
	spool_close(sp);
	text = slurp(RELAYD_EVENTS_FILE);
	ck_assert_int_eq(count_id(text, "d1"), 1);
	ck_assert_int_eq(count_id(text, "d2"), 1);
	free(text);
}
END_TEST

START_TEST(test_spool_duplicates_rebuilt_after_reopen)
{
	struct spool	*sp;

	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	add(sp, "r1");
	add(sp, "r2");
	ck_assert_int_eq(spool_commit(sp), 0);
	spool_close(sp);
	nseen = 0;
	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	add(sp, "r2");
	add(sp, "r1");
	add(sp, "r3");
	ck_assert_int_eq(spool_commit(sp), 0);
	ck_assert_int_eq(seen[0].res, SPOOL_DUPLICATE);
	ck_assert_int_eq(seen[1].res, SPOOL_DUPLICATE);
	ck_assert_int_eq(seen[2].res, SPOOL_STORED);
	spool_close(sp);
}
END_TEST

START_TEST(test_spool_duplicates_only_from_the_tail)
{
	struct spool	*sp;
	FILE		*f;
	char		*line;
	size_t		 written = 0;
	int		 i = 0;

	/* An old id, then more than RELAYD_TAIL_BYTES, then a recent id. */
	ck_assert_ptr_nonnull(f = fopen(path(RELAYD_EVENTS_FILE), "w"));
	line = mkline("old");
	fputs(line, f);
	free(line);
	while (written < RELAYD_TAIL_BYTES + 4096) {
		char	id[32];

		snprintf(id, sizeof id, "fill%d", i++);
		line = mkline(id);
		fputs(line, f);
		written += strlen(line);
		free(line);
	}
	line = mkline("recent");
	fputs(line, f);
	free(line);
	fclose(f);

	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	add(sp, "recent");
	add(sp, "old");
	ck_assert_int_eq(spool_commit(sp), 0);
	ck_assert_int_eq(seen[0].res, SPOOL_DUPLICATE);
	/* Beyond the tail: forgotten, by design (bounded start-up). */
	ck_assert_int_eq(seen[1].res, SPOOL_STORED);
	spool_close(sp);
}
END_TEST

START_TEST(test_spool_rotation_keeps_n)
{
	struct spool	*sp;
	struct stat	 st;
	char		 id[32], *text;
	int		 i;
	off_t		 linelen;

	text = mkline("rot000");
	linelen = strlen(text);
	free(text);
	conf.rotate_size = linelen * 3;		/* three events a file */
	conf.rotate_keep = 2;
	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	for (i = 0; i < 12; i++) {
		snprintf(id, sizeof id, "rot%03d", i);
		add(sp, id);
		ck_assert_int_eq(spool_commit(sp), 0);
	}
	ck_assert(exists("events.jsonl.1"));
	ck_assert(exists("events.jsonl.2"));
	ck_assert(!exists("events.jsonl.3"));
	/* 12 events, 3 a file: the current file is new and empty. */
	ck_assert_int_eq(stat(path(RELAYD_EVENTS_FILE), &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	ck_assert_int_eq(st.st_mode & 0777, 0640);
	text = slurp("events.jsonl.1");
	ck_assert_int_eq(count_id(text, "rot009"), 1);
	ck_assert_int_eq(count_id(text, "rot011"), 1);
	free(text);
	text = slurp("events.jsonl.2");
	ck_assert_int_eq(count_id(text, "rot006"), 1);
	free(text);
	spool_close(sp);

	/* Right after a rotation, recent ids are learnt from .1. */
	nseen = 0;
	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	add(sp, "rot011");
	ck_assert_int_eq(spool_commit(sp), 0);
	ck_assert_int_eq(seen[0].res, SPOOL_DUPLICATE);
	spool_close(sp);
}
END_TEST

START_TEST(test_spool_write_error_fails_batch)
{
	struct spool	*sp;
	char		*before, *after;

	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	add(sp, "w1");
	ck_assert_int_eq(spool_commit(sp), 0);
	before = slurp(RELAYD_EVENTS_FILE);

	spool_set_io(sp, fake_write, fake_sync);
	fail_writes = 1;
	add(sp, "w2");
	add(sp, "w3");
	ck_assert_int_eq(spool_commit(sp), -1);
	ck_assert_int_eq(seen[1].res, SPOOL_FAILED);
	ck_assert_int_eq(seen[2].res, SPOOL_FAILED);
	ck_assert_ptr_nonnull(strstr(seen[1].error, "No space left"));
	ck_assert_int_eq(spool_stats(sp)->failing, 1);
	after = slurp(RELAYD_EVENTS_FILE);
	ck_assert_str_eq(after, before);
	free(after);
	spool_close(sp);
	free(before);
}
END_TEST

START_TEST(test_spool_partial_write_truncated)
{
	struct spool	*sp;
	char		*before, *after;

	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	add(sp, "p1");
	ck_assert_int_eq(spool_commit(sp), 0);
	before = slurp(RELAYD_EVENTS_FILE);
	spool_set_io(sp, fake_write, fake_sync);
	short_write = 1;	/* half goes out, then ENOSPC */
	fail_writes = 1;
	add(sp, "p2");
	add(sp, "p3");
	ck_assert_int_eq(spool_commit(sp), -1);
	ck_assert_int_eq(nwrites, 2);
	after = slurp(RELAYD_EVENTS_FILE);
	ck_assert_str_eq(after, before);
	ck_assert_int_eq(spool_size(sp), (off_t)strlen(before));
	free(after);
	spool_close(sp);
	free(before);
}
END_TEST

START_TEST(test_spool_sync_error_truncated)
{
	struct spool	*sp;
	char		*text;

	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	spool_set_io(sp, fake_write, fake_sync);
	fail_syncs = 1;
	add(sp, "s1");
	ck_assert_int_eq(spool_commit(sp), -1);
	ck_assert_int_eq(seen[0].res, SPOOL_FAILED);
	ck_assert_ptr_nonnull(strstr(seen[0].error, "fdatasync"));
	text = slurp(RELAYD_EVENTS_FILE);
	ck_assert_str_eq(text, "");
	free(text);
	fail_syncs = 0;
	spool_close(sp);
}
END_TEST

START_TEST(test_spool_error_clears_when_writes_work)
{
	struct spool	*sp;
	char		*text;

	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	spool_set_io(sp, fake_write, fake_sync);
	fail_writes = 1;
	add(sp, "e1");
	ck_assert_int_eq(spool_commit(sp), -1);
	add(sp, "e1");		/* the client tries again: still failing */
	ck_assert_int_eq(spool_commit(sp), -1);
	ck_assert_int_eq(spool_stats(sp)->failing, 1);
	fail_writes = 0;	/* space returns */
	add(sp, "e1");
	add(sp, "e2");
	ck_assert_int_eq(spool_commit(sp), 0);
	/* The failed id was forgotten, so the retry is stored, not a dup. */
	ck_assert_int_eq(seen[2].res, SPOOL_STORED);
	ck_assert_int_eq(seen[3].res, SPOOL_STORED);
	ck_assert_int_eq(spool_stats(sp)->failing, 0);
	ck_assert_int_ne(spool_stats(sp)->last_error_ms, 0);
	ck_assert_int_eq(spool_stats(sp)->failed, 2);
	spool_close(sp);
	text = slurp(RELAYD_EVENTS_FILE);
	ck_assert_int_eq(count_id(text, "e1"), 1);
	ck_assert_int_eq(count_id(text, "e2"), 1);
	free(text);
}
END_TEST

START_TEST(test_spool_real_write_error_rlimit)
{
	struct spool	*sp;
	struct rlimit	 rl;
	char		 id[32];
	int		 i, rc;

	/* A real EFBIG from the kernel: RLIMIT_FSIZE just above one batch. */
	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	signal(SIGXFSZ, SIG_IGN);
	rl.rlim_cur = rl.rlim_max = 4096;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
	for (i = 0, rc = 0; i < 100 && rc == 0; i++) {
		snprintf(id, sizeof id, "fs%d", i);
		add(sp, id);
		rc = spool_commit(sp);
	}
	ck_assert_int_eq(rc, -1);
	ck_assert_int_eq(seen[nseen - 1].res, SPOOL_FAILED);
	ck_assert_int_le(spool_size(sp), 4096);
	spool_close(sp);
	{
		char	*text = slurp(RELAYD_EVENTS_FILE);

		ck_assert_int_eq(text[strlen(text) - 1], '\n');
		ck_assert_int_eq(count_id(text, id), 0);
		free(text);
	}
}
END_TEST

START_TEST(test_spool_interval_acks_after_write_syncs_later)
{
	struct event_base	*base;
	struct spool		*sp;
	int			 i;

	conf.fsync_mode = CONF_FSYNC_INTERVAL;
	conf.fsync_interval_ms = 50;
	ck_assert_ptr_nonnull(base = event_base_new());
	ck_assert_ptr_nonnull(sp = spool_open(base, dir, &conf));
	spool_set_io(sp, fake_write, fake_sync);
	add(sp, "i1");
	add(sp, "i2");
	/* One loop iteration: the commit event runs by itself. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_uint_eq(nseen, 2);
	ck_assert_int_eq(seen[1].res, SPOOL_STORED);
	ck_assert_int_eq(nwrites, 1);
	ck_assert_int_eq(nsyncs, 0);	/* acknowledged before the sync */
	for (i = 0; i < 100 && nsyncs == 0; i++) {
		usleep(10000);
		event_base_loop(base, EVLOOP_NONBLOCK);
	}
	ck_assert_int_eq(nsyncs, 1);
	/* Nothing written since: the timer is not armed again. */
	ck_assert_int_eq(event_base_loop(base, EVLOOP_NONBLOCK), 1);
	spool_close(sp);
	event_base_free(base);
}
END_TEST

/* --- the id set -------------------------------------------------------- */

START_TEST(test_spool_idset_bounded)
{
	struct idset	*s;
	char		 id[32];
	int		 i;

	s = idset_new(1000);
	for (i = 0; i < 1500; i++) {
		snprintf(id, sizeof id, "id-%d", i);
		idset_add(s, id);
	}
	ck_assert_uint_eq(idset_count(s), 1000);
	ck_assert(!idset_has(s, "id-0"));
	ck_assert(!idset_has(s, "id-499"));
	ck_assert(idset_has(s, "id-500"));
	ck_assert(idset_has(s, "id-1499"));
	idset_pop(s, 2);
	ck_assert(!idset_has(s, "id-1499"));
	ck_assert(!idset_has(s, "id-1498"));
	ck_assert(idset_has(s, "id-1497"));
	ck_assert_uint_eq(idset_count(s), 998);
	idset_add(s, "again");
	ck_assert(idset_has(s, "again"));
	ck_assert(idset_has(s, "id-500"));
	idset_free(s);
}
END_TEST

/* --- the hand-off import ----------------------------------------------- */

static void
drop(const char *name, const char *text)
{
	char	rel[256];

	snprintf(rel, sizeof rel, "handoff/new/%s", name);
	spit(rel, text);
}

/* Drop event id as the listener would (the rename is not needed here). */
static void
dropev(const char *name, const char *id)
{
	char	*line = mkline(id);

	drop(name, line);
	free(line);
}

static int
count_files(const char *sub)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir(path(sub))) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

START_TEST(test_spool_handoff_oldest_first_unlink_after_sync)
{
	struct spool	*sp;
	struct handoff	*h;
	struct stat	 st;
	char		*text, *a, *b;

	ck_assert_int_eq(handoff_mkdirs(dir, getegid()), 0);
	ck_assert_int_eq(stat(path("handoff/new"), &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 02770);
	/* Written in this order, but named: b is older. */
	dropev("1700000000002.100.1.json", "ho-a");
	dropev("1700000000001.100.1.json", "ho-b");
	spit("handoff/tmp/1700000000000.100.0.json", "{\"id\":\"ho-tmp\"}\n");
	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	ck_assert_ptr_nonnull(h = handoff_new(NULL, sp, dir, conf.max_line));
	ck_assert_int_eq(handoff_import(h), 2);
	/* Queued, not synced: the files are still there. */
	ck_assert_int_eq(count_files("handoff/new"), 2);
	ck_assert_uint_eq(handoff_inflight(h), 2);
	ck_assert_int_eq(spool_commit(sp), 0);
	ck_assert_int_eq(count_files("handoff/new"), 0);
	ck_assert_uint_eq(handoff_inflight(h), 0);
	/* tmp/ is never looked at. */
	ck_assert_int_eq(count_files("handoff/tmp"), 1);
	text = slurp(RELAYD_EVENTS_FILE);
	a = strstr(text, "ho-a");
	b = strstr(text, "ho-b");
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert(b < a);
	ck_assert_ptr_null(strstr(text, "ho-tmp"));
	free(text);
	handoff_free(h);
	spool_close(sp);
}
END_TEST

START_TEST(test_spool_handoff_bad_file_to_bad)
{
	struct spool	*sp;
	struct handoff	*h;
	char		*text;

	ck_assert_int_eq(handoff_mkdirs(dir, getegid()), 0);
	drop("1700000000001.1.1.json", "not json at all\n");
	drop("1700000000002.1.1.json", "{\"id\":\"x\"}\n");
	dropev("1700000000003.1.1.json", "good");
	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	ck_assert_ptr_nonnull(h = handoff_new(NULL, sp, dir, conf.max_line));
	ck_assert_int_eq(handoff_import(h), 1);
	ck_assert_int_eq(spool_commit(sp), 0);
	ck_assert_int_eq(count_files("handoff/new"), 0);
	ck_assert_int_eq(count_files("handoff/bad"), 2);
	ck_assert(exists("handoff/bad/1700000000001.1.1.json"));
	text = slurp(RELAYD_EVENTS_FILE);
	ck_assert_int_eq(count_id(text, "good"), 1);
	free(text);
	handoff_free(h);
	spool_close(sp);
}
END_TEST

START_TEST(test_spool_handoff_duplicate_unlinked_not_written)
{
	struct spool	*sp;
	struct handoff	*h;
	char		*text;

	ck_assert_int_eq(handoff_mkdirs(dir, getegid()), 0);
	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	add(sp, "both");	/* svrelayd got it on the socket too */
	ck_assert_int_eq(spool_commit(sp), 0);
	dropev("1700000000001.1.1.json", "both");
	ck_assert_ptr_nonnull(h = handoff_new(NULL, sp, dir, conf.max_line));
	ck_assert_int_eq(handoff_import(h), 1);
	ck_assert_int_eq(spool_commit(sp), 0);
	ck_assert_int_eq(count_files("handoff/new"), 0);
	text = slurp(RELAYD_EVENTS_FILE);
	ck_assert_int_eq(count_id(text, "both"), 1);
	free(text);
	handoff_free(h);
	spool_close(sp);
}
END_TEST

START_TEST(test_spool_handoff_kept_on_write_error)
{
	struct spool	*sp;
	struct handoff	*h;
	char		*text;

	ck_assert_int_eq(handoff_mkdirs(dir, getegid()), 0);
	dropev("1700000000001.1.1.json", "k1");
	dropev("1700000000002.1.1.json", "k2");
	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	spool_set_io(sp, fake_write, fake_sync);
	ck_assert_ptr_nonnull(h = handoff_new(NULL, sp, dir, conf.max_line));
	fail_writes = 1;
	ck_assert_int_eq(handoff_import(h), 2);
	ck_assert_int_eq(spool_commit(sp), -1);
	ck_assert_int_eq(count_files("handoff/new"), 2);
	fail_writes = 0;
	ck_assert_int_eq(handoff_import(h), 2);
	ck_assert_int_eq(spool_commit(sp), 0);
	ck_assert_int_eq(count_files("handoff/new"), 0);
	text = slurp(RELAYD_EVENTS_FILE);
	ck_assert_int_eq(count_id(text, "k1"), 1);
	ck_assert_int_eq(count_id(text, "k2"), 1);
	free(text);
	handoff_free(h);
	spool_close(sp);
}
END_TEST

START_TEST(test_spool_one_svrelayd_per_spool)
{
	struct spool	*sp;

	ck_assert_ptr_nonnull(sp = spool_open(NULL, dir, &conf));
	if (fork() == 0) {
		/* flock is per open file: a second open is refused. */
		_exit(spool_open(NULL, dir, &conf) == NULL ? 0 : 1);
	}
	{
		int	status;

		ck_assert_int_ne(wait(&status), -1);
		ck_assert_int_eq(WEXITSTATUS(status), 0);
	}
	spool_close(sp);
}
END_TEST

static Suite *
spool_suite(void)
{
	Suite	*s = suite_create("spool");
	TCase	*tc;

	tc = tcase_create("spool");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_spool_append_is_the_serialised_line);
	tcase_add_test(tc, test_spool_group_commit_one_write_one_sync);
	tcase_add_test(tc, test_spool_torn_last_line_repaired);
	tcase_add_test(tc, test_spool_torn_only_line_repaired);
	tcase_add_test(tc, test_spool_duplicates_in_process);
	tcase_add_test(tc, test_spool_duplicates_rebuilt_after_reopen);
	tcase_add_test(tc, test_spool_duplicates_only_from_the_tail);
	tcase_add_test(tc, test_spool_rotation_keeps_n);
	tcase_add_test(tc, test_spool_write_error_fails_batch);
	tcase_add_test(tc, test_spool_partial_write_truncated);
	tcase_add_test(tc, test_spool_sync_error_truncated);
	tcase_add_test(tc, test_spool_error_clears_when_writes_work);
	tcase_add_test(tc, test_spool_real_write_error_rlimit);
	tcase_add_test(tc, test_spool_interval_acks_after_write_syncs_later);
	tcase_add_test(tc, test_spool_idset_bounded);
	tcase_add_test(tc, test_spool_one_svrelayd_per_spool);
	suite_add_tcase(s, tc);

	tc = tcase_create("handoff");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_spool_handoff_oldest_first_unlink_after_sync);
	tcase_add_test(tc, test_spool_handoff_bad_file_to_bad);
	tcase_add_test(tc, test_spool_handoff_duplicate_unlinked_not_written);
	tcase_add_test(tc, test_spool_handoff_kept_on_write_error);
	suite_add_tcase(s, tc);
	return (s);
}

CHECK_MAIN(spool_suite)

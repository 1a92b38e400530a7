/*
 * outbox.c: what is queued survives a restart, what was sent or given up
 * on does not come back, a torn line is cut off, dead letters and
 * compaction.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "check_util.h"
#include "delivery_int.h"
#include "xmalloc.h"

static char	dir[64];
static char	path[128];

static void
setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check_outbox.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/%s", dir, OUTBOX_FILE);
}

static void
teardown(void)
{
	char	cmd[128];

	outbox_close();
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		abort();
}

static void
writefile(const char *p, const char *s)
{
	FILE	*f;

	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fputs(s, f);
	fclose(f);
}

static char *
readfile(const char *p)
{
	FILE	*f;
	char	*buf;
	long	 n;

	f = fopen(p, "r");
	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = xmalloc(n + 1);
	ck_assert_int_eq(fread(buf, 1, n, f), n);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

static int
count(struct outbox_list *l)
{
	struct outbox_entry	*e;
	int			 n = 0;

	TAILQ_FOREACH(e, l, entry)
		n++;
	return (n);
}

static struct outbox_entry *
mkentry(const char *id, const char *text)
{
	struct outbox_entry	*e;

	e = outbox_entry_new();
	e->id = xstrdup(id);
	e->text = xstrdup(text);
	xasprintf(&e->message, "{\"text\":\"%s\"}", text);
	e->dest = xstrdup("#ops");
	e->time = xstrdup("2024-01-01T00:00:00.000Z");
	return (e);
}

START_TEST(test_outbox_replay_queued_only)
{
	struct outbox_list	 l;
	struct outbox_entry	*e;

	writefile(path,
	    "{\"state\":\"queued\",\"id\":\"a\",\"text\":\"A\","
	    "\"message\":{\"text\":\"A\",\"attachments\":[]}}\n"
	    "{\"state\":\"queued\",\"id\":\"b\",\"text\":\"B\"}\n"
	    "{\"state\":\"queued\",\"id\":\"c\",\"text\":\"C\"}\n"
	    "{\"state\":\"sent\",\"id\":\"a\",\"text\":\"A\",\"ts\":\"1.1\","
	    "\"channel\":\"C9\"}\n"
	    "{\"state\":\"failed\",\"id\":\"c\",\"text\":\"C\"}\n"
	    "{\"state\":\"queued\",\"id\":\"d\",\"text\":\"D\","
	    "\"kind\":\"update\",\"update_of\":\"a\"}\n"
	    "not json at all\n"
	    "{\"state\":\"queued\",\"id\":\"c\",\"text\":\"C again\"}\n");
	TAILQ_INIT(&l);
	ck_assert_int_eq(outbox_open(dir, 0, 0, &l), 0);
	ck_assert_int_eq(count(&l), 3);
	e = TAILQ_FIRST(&l);
	ck_assert_str_eq(e->id, "b");
	/* A line without a message posts its text. */
	ck_assert_ptr_nonnull(strstr(e->message, "\"text\":\"B\""));
	e = TAILQ_NEXT(e, entry);
	ck_assert_str_eq(e->id, "d");
	ck_assert_int_eq(e->kind, OUTBOX_UPDATE);
	ck_assert_str_eq(e->update_of, "a");
	e = TAILQ_NEXT(e, entry);
	ck_assert_str_eq(e->id, "c");
	ck_assert_str_eq(e->text, "C again");
	/* The ts of a sent one is remembered. */
	ck_assert_str_eq(outbox_ts("a", NULL), "1.1");
	ck_assert_ptr_null(outbox_ts("b", NULL));
	outbox_list_free(&l);
}
END_TEST

START_TEST(test_outbox_torn_line_cut)
{
	struct outbox_list	 l;
	struct outbox_entry	*e;
	char			*s;

	writefile(path,
	    "{\"state\":\"queued\",\"id\":\"a\",\"text\":\"A\"}\n"
	    "{\"state\":\"sent\",\"id\":\"a\",\"te");
	TAILQ_INIT(&l);
	ck_assert_int_eq(outbox_open(dir, 0, 0, &l), 0);
	/* The torn "sent" does not count: a goes again. */
	ck_assert_int_eq(count(&l), 1);
	e = mkentry("b", "B");
	ck_assert_int_eq(outbox_queued(e), 0);
	s = readfile(path);
	/* The next line starts on a line of its own. */
	ck_assert_ptr_nonnull(strstr(s, "\"text\":\"A\"}\n{\"state\":"
	    "\"queued\",\"id\":\"b\""));
	free(s);
	outbox_entry_free(e);
	outbox_list_free(&l);
}
END_TEST

START_TEST(test_outbox_roundtrip)
{
	struct outbox_list	 l;
	struct outbox_entry	*a, *b, *c;

	TAILQ_INIT(&l);
	ck_assert_int_eq(outbox_open(dir, 0, 0, &l), 0);
	ck_assert_int_eq(count(&l), 0);
	a = mkentry("a", "first é");
	b = mkentry("b", "second");
	c = mkentry("c", "third");
	ck_assert_int_eq(outbox_queued(a), 0);
	ck_assert_int_eq(outbox_queued(b), 0);
	ck_assert_int_eq(outbox_queued(c), 0);
	ck_assert_int_eq(outbox_sent(a, 200, "5.5", "C1"), 0);
	ck_assert_int_eq(outbox_failed(c, "channel_not_found"), 0);
	ck_assert_int_eq(outbox_dead_count(), 1);
	outbox_close();

	ck_assert_int_eq(outbox_open(dir, 0, 0, &l), 0);
	ck_assert_int_eq(count(&l), 1);
	ck_assert_str_eq(TAILQ_FIRST(&l)->id, "b");
	ck_assert_str_eq(TAILQ_FIRST(&l)->text, "second");
	ck_assert_str_eq(TAILQ_FIRST(&l)->dest, "#ops");
	ck_assert_str_eq(outbox_ts("a", NULL), "5.5");
	ck_assert_int_eq(outbox_dead_count(), 1);
	outbox_list_free(&l);
	outbox_entry_free(a);
	outbox_entry_free(b);
	outbox_entry_free(c);
}
END_TEST

START_TEST(test_outbox_dead_letters)
{
	struct outbox_list	 l, d;
	struct outbox_entry	*a, *b;
	char			 dpath[160];
	struct stat		 st;

	TAILQ_INIT(&l);
	TAILQ_INIT(&d);
	ck_assert_int_eq(outbox_open(dir, 0, 0, &l), 0);
	a = mkentry("a", "A");
	b = mkentry("b", "B");
	outbox_queued(a);
	outbox_queued(b);
	outbox_failed(a, "invalid_auth");
	outbox_failed(b, "invalid_auth");
	ck_assert_int_eq(outbox_dead(&d), 2);
	ck_assert_str_eq(TAILQ_FIRST(&d)->id, "a");
	ck_assert_str_eq(TAILQ_FIRST(&d)->error, "invalid_auth");
	ck_assert_ptr_nonnull(strstr(TAILQ_FIRST(&d)->message, "\"A\""));
	ck_assert_int_eq(outbox_dead_clear(), 0);
	ck_assert_int_eq(outbox_dead_count(), 0);
	snprintf(dpath, sizeof dpath, "%s/%s", dir, OUTBOX_DEAD_FILE);
	ck_assert_int_eq(stat(dpath, &st), 0);
	ck_assert_int_eq(st.st_size, 0);
	outbox_list_free(&d);
	outbox_entry_free(a);
	outbox_entry_free(b);
}
END_TEST

START_TEST(test_outbox_compact)
{
	struct outbox_list		 l;
	struct outbox_entry		*e[200];
	const struct outbox_entry	*pending[1];
	char				 id[16], text[300], old[160];
	char				*s;
	struct stat			 st;
	int				 i;

	TAILQ_INIT(&l);
	ck_assert_int_eq(outbox_open(dir, 20000, 2, &l), 0);
	memset(text, 'x', sizeof text - 1);
	text[sizeof text - 1] = '\0';
	for (i = 0; i < 200; i++) {
		snprintf(id, sizeof id, "n%d", i);
		e[i] = mkentry(id, text);
		outbox_queued(e[i]);
		if (i != 150)
			outbox_sent(e[i], 200, i == 199 ? "7.7" : NULL, "C");
	}
	ck_assert(outbox_needs_compact());
	pending[0] = e[150];
	ck_assert_int_eq(outbox_compact(pending, 1), 0);
	ck_assert(!outbox_needs_compact());
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_lt(st.st_size, 20000);
	snprintf(old, sizeof old, "%s.1", path);
	ck_assert_int_eq(stat(old, &st), 0);
	ck_assert_int_gt(st.st_size, 20000);
	s = readfile(path);
	ck_assert_ptr_nonnull(strstr(s, "\"n150\""));
	ck_assert_ptr_null(strstr(s, "\"n149\""));
	free(s);
	/* Appends go to the new file; a restart sees n150 only. */
	outbox_close();
	ck_assert_int_eq(outbox_open(dir, 20000, 2, &l), 0);
	ck_assert_int_eq(count(&l), 1);
	ck_assert_str_eq(TAILQ_FIRST(&l)->id, "n150");
	ck_assert_str_eq(outbox_ts("n199", NULL), "7.7");
	outbox_list_free(&l);
	for (i = 0; i < 200; i++)
		outbox_entry_free(e[i]);
}
END_TEST

START_TEST(test_outbox_no_secret_fields)
{
	struct outbox_list	 l;
	struct outbox_entry	*a;
	char			*s;

	TAILQ_INIT(&l);
	ck_assert_int_eq(outbox_open(dir, 0, 0, &l), 0);
	a = mkentry("a", "A");
	free(a->dest);
	a->dest = xstrdup("webhook https://hooks.example/…");
	outbox_queued(a);
	outbox_sent(a, 200, NULL, NULL);
	s = readfile(path);
	ck_assert_ptr_null(strstr(s, "services"));
	ck_assert_ptr_nonnull(strstr(s, "\"state\":\"queued\""));
	ck_assert_ptr_nonnull(strstr(s, "\"state\":\"sent\""));
	free(s);
	outbox_entry_free(a);
}
END_TEST

START_TEST(test_outbox_newid_unique)
{
	char	*a, *b;

	a = outbox_newid();
	b = outbox_newid();
	ck_assert_str_ne(a, b);
	free(a);
	free(b);
}
END_TEST

static Suite *
outbox_suite(void)
{
	Suite	*s = suite_create("outbox");
	TCase	*tc = tcase_create("outbox");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_outbox_replay_queued_only);
	tcase_add_test(tc, test_outbox_torn_line_cut);
	tcase_add_test(tc, test_outbox_roundtrip);
	tcase_add_test(tc, test_outbox_dead_letters);
	tcase_add_test(tc, test_outbox_compact);
	tcase_add_test(tc, test_outbox_no_secret_fields);
	tcase_add_test(tc, test_outbox_newid_unique);
	suite_add_tcase(s, tc);
	return (s);
}

CHECK_MAIN(outbox_suite)

/*
 * test_todo_db.c - tests of daemon/todo_db.c on real environments in
 * mkdtemp directories: CRUD, partial update, pagination with totals, user
 * isolation, id allocation, titles up to the size cap, bad arguments,
 * persistence across recovery, permissions, log removal at checkpoints,
 * several worker processes at once (deadlocks retried inside), and
 * process death: a worker killed while holding a transaction (failchk
 * must clean up so a surviving worker proceeds; also while the dead
 * worker is still a zombie), a worker killed at a random moment while
 * writing (every write it reported committed must survive failchk or
 * recovery), and a panicked environment.
 *
 * The failchk tests fork children that open the environment themselves;
 * the parent closes its own handle first, since DB_REGISTER allows one
 * environment handle per process.  One child writes through the raw
 * Berkeley DB API to die at a known point (inside a transaction, outside
 * any library call); it writes the v1 record format by hand.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <db.h>
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "todo_db.h"

#define DATE "2026-11-27"

struct fx {
	char root[64];
	char dir[128];
	struct tdb *t;
};

#define CHECK_STATUS(got, want, what)                                          \
	do {                                                                   \
		int g_ = (got), w_ = (want);                                   \
		if (g_ != w_)                                                  \
			fail_msg(                                              \
			    "%s: got status %d, want %d", (what), g_, w_);     \
	} while (0)

#define CHECK_U64(got, want, what)                                             \
	do {                                                                   \
		unsigned long long g_ = (got), w_ = (want);                    \
		if (g_ != w_)                                                  \
			fail_msg("%s: got %llu, want %llu", (what), g_, w_);   \
	} while (0)

#define CHECK_STR(got, want, what)                                             \
	do {                                                                   \
		const char *g_ = (got), *w_ = (want);                          \
		if (strcmp(g_, w_) != 0)                                       \
			fail_msg("%s: got \"%.60s\", want \"%.60s\"", (what),  \
			    g_, w_);                                           \
	} while (0)

static int
rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return (remove(path));
}

static void
rm_rf(const char *path)
{
	(void)nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int
setup(void **state)
{
	char err[512];
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	snprintf(f->root, sizeof(f->root), "/tmp/test_todo_db.XXXXXX");
	if (mkdtemp(f->root) == NULL)
		return (-1);
	snprintf(f->dir, sizeof(f->dir), "%s/data", f->root);
	if (tdb_prepare(f->dir, err, sizeof(err)) == -1) {
		fprintf(stderr, "tdb_prepare: %s\n", err);
		return (-1);
	}
	if ((f->t = tdb_open(f->dir, err, sizeof(err))) == NULL) {
		fprintf(stderr, "tdb_open: %s\n", err);
		return (-1);
	}
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	tdb_close(f->t);
	rm_rf(f->root);
	free(f);
	return (0);
}

static void
reopen(struct fx *f)
{
	char err[512];

	if ((f->t = tdb_open(f->dir, err, sizeof(err))) == NULL)
		fail_msg("tdb_open: %s", err);
}

static void
close_handle(struct fx *f)
{
	tdb_close(f->t);
	f->t = NULL;
}

static uint64_t
create(struct fx *f, uint64_t user, const char *title, const char *date)
{
	struct todo td;
	uint64_t id;

	CHECK_STATUS(tdb_create(f->t, user, title, strlen(title), date, &td),
	    TDB_OK, "create");
	id = td.id;
	tdb_todo_clear(&td);
	return (id);
}

static void
check_todo(const struct todo *td, uint64_t user, uint64_t id, const char *title,
    size_t len, const char *date)
{
	CHECK_U64(td->user, user, "user");
	CHECK_U64(td->id, id, "id");
	CHECK_U64(td->title_len, len, "title_len");
	if (memcmp(td->title, title, len) != 0 || td->title[len] != '\0')
		fail_msg("title of id %llu: got \"%.40s\", want \"%.40s\"",
		    (unsigned long long)id, td->title, title);
	CHECK_STR(td->date, date, "date");
}

static void
check_stored(struct fx *f, uint64_t user, uint64_t id, const char *title,
    const char *date)
{
	struct todo td;

	CHECK_STATUS(tdb_get(f->t, user, id, &td), TDB_OK, "get");
	check_todo(&td, user, id, title, strlen(title), date);
	tdb_todo_clear(&td);
}

static void
test_create_get(void **state)
{
	static const struct {
		uint64_t user;
		const char *title;
		const char *date;
	} rows[] = {
	    {1, "buy milk", "2026-11-27"},
	    {1, "walk the dog", "2025-01-01"},
	    {2, "x", "1999-12-31"},
	    {3, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "2026-02-28"},
	    {3, "caf\xc3\xa9 \xf0\x9f\x9a\x80 \xe2\x9c\x93", "2026-03-01"},
	    {0, "user zero", "2000-01-01"},
	    {UINT64_MAX, "last user", "9999-12-31"},
	};
	struct fx *f = *state;
	struct todo td;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		CHECK_STATUS(tdb_create(f->t, rows[i].user, rows[i].title,
				 strlen(rows[i].title), rows[i].date, &td),
		    TDB_OK, "create");
		check_todo(&td, rows[i].user, i + 1, rows[i].title,
		    strlen(rows[i].title), rows[i].date);
		tdb_todo_clear(&td);
		check_stored(
		    f, rows[i].user, i + 1, rows[i].title, rows[i].date);
	}
	CHECK_STATUS(tdb_get(f->t, 1, 999, &td), TDB_NOTFOUND, "get missing");
}

static void
test_update(void **state)
{
	static const struct {
		const char *title; /* NULL = keep */
		const char *date; /* NULL = keep */
		const char *want_title;
		const char *want_date;
	} rows[] = {
	    {"new title", "2027-05-05", "new title", "2027-05-05"},
	    {"only title", NULL, "only title", "2026-01-01"},
	    {NULL, "2028-02-29", "old", "2028-02-29"},
	    {NULL, NULL, "old", "2026-01-01"},
	    {"", NULL, "", "2026-01-01"},
	};
	struct fx *f = *state;
	struct todo td;
	uint64_t id;
	size_t i, len;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		id = create(f, 5, "old", "2026-01-01");
		len = rows[i].title != NULL ? strlen(rows[i].title) : 0;
		CHECK_STATUS(tdb_update(f->t, 5, id, rows[i].title, len,
				 rows[i].date, &td),
		    TDB_OK, "update");
		check_todo(&td, 5, id, rows[i].want_title,
		    strlen(rows[i].want_title), rows[i].want_date);
		tdb_todo_clear(&td);
		check_stored(f, 5, id, rows[i].want_title, rows[i].want_date);
	}
	CHECK_STATUS(tdb_update(f->t, 5, 999, "t", 1, NULL, &td), TDB_NOTFOUND,
	    "update missing");
}

static void
test_delete(void **state)
{
	struct fx *f = *state;
	struct todo td, *v;
	uint64_t a, b, total;
	size_t n;

	a = create(f, 9, "first", DATE);
	b = create(f, 9, "second", DATE);
	CHECK_STATUS(tdb_delete(f->t, 9, a), TDB_OK, "delete");
	CHECK_STATUS(tdb_get(f->t, 9, a, &td), TDB_NOTFOUND, "get deleted");
	CHECK_STATUS(tdb_delete(f->t, 9, a), TDB_NOTFOUND, "delete twice");
	check_stored(f, 9, b, "second", DATE);
	CHECK_STATUS(
	    tdb_list(f->t, 9, 0, UINT64_MAX, &v, &n, &total), TDB_OK, "list");
	CHECK_U64(total, 1, "total after delete");
	CHECK_U64(n, 1, "n after delete");
	CHECK_U64(v[0].id, b, "remaining id");
	tdb_list_free(v, n);
}

static void
test_list_pagination(void **state)
{
	static const struct {
		uint64_t offset;
		uint64_t limit;
		size_t want_n;
		size_t want_first; /* index into ids[] */
	} rows[] = {
	    {0, UINT64_MAX, 7, 0},
	    {0, 3, 3, 0},
	    {3, 3, 3, 3},
	    {6, 3, 1, 6},
	    {2, 1, 1, 2},
	    {7, 3, 0, 0},
	    {100, 10, 0, 0},
	    {0, 0, 0, 0},
	    {UINT64_MAX, UINT64_MAX, 0, 0},
	};
	struct fx *f = *state;
	uint64_t ids[7], total;
	struct todo *v;
	char title[32];
	size_t i, j, n;

	create(f, 6, "neighbour below", DATE);
	for (i = 0; i < 7; i++) {
		snprintf(title, sizeof(title), "todo %zu", i);
		ids[i] = create(f, 7, title, DATE);
		create(f, i % 2 ? 6 : 8, "neighbour", DATE);
	}
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		CHECK_STATUS(tdb_list(f->t, 7, rows[i].offset, rows[i].limit,
				 &v, &n, &total),
		    TDB_OK, "list");
		CHECK_U64(total, 7, "total");
		CHECK_U64(n, rows[i].want_n, "n");
		for (j = 0; j < n; j++) {
			snprintf(title, sizeof(title), "todo %zu",
			    rows[i].want_first + j);
			check_todo(&v[j], 7, ids[rows[i].want_first + j], title,
			    strlen(title), DATE);
		}
		tdb_list_free(v, n);
	}
	CHECK_STATUS(
	    tdb_list(f->t, 8, 0, UINT64_MAX, &v, &n, &total), TDB_OK, "list 8");
	CHECK_U64(total, 4, "total of user 8");
	tdb_list_free(v, n);
	CHECK_STATUS(
	    tdb_list(f->t, 6, 0, UINT64_MAX, &v, &n, &total), TDB_OK, "list 6");
	CHECK_U64(total, 4, "total of user 6");
	tdb_list_free(v, n);
}

static void
test_list_edges(void **state)
{
	static const uint64_t users[] = {0, 1, UINT64_MAX - 1, UINT64_MAX};
	struct fx *f = *state;
	struct todo *v;
	uint64_t total, id[4];
	size_t i, n;

	CHECK_STATUS(tdb_list(f->t, 42, 0, UINT64_MAX, &v, &n, &total), TDB_OK,
	    "list empty db");
	CHECK_U64(total, 0, "total of empty db");
	CHECK_U64(n, 0, "n of empty db");
	tdb_list_free(v, n);
	for (i = 0; i < 4; i++)
		id[i] = create(f, users[i], "edge", DATE);
	for (i = 0; i < 4; i++) {
		CHECK_STATUS(
		    tdb_list(f->t, users[i], 0, UINT64_MAX, &v, &n, &total),
		    TDB_OK, "list edge user");
		CHECK_U64(total, 1, "total of edge user");
		CHECK_U64(n, 1, "n of edge user");
		CHECK_U64(v[0].id, id[i], "id of edge user");
		CHECK_U64(v[0].user, users[i], "user of edge todo");
		tdb_list_free(v, n);
	}
}

/*
 * A long list read in bulk: many buffers' worth of records between two
 * neighbours, with titles too big for the bulk buffer in the middle of
 * the walk, read whole and by pages that straddle buffer boundaries.
 */
static void
test_list_long(void **state)
{
	enum { N = 600, BIG = 20000 };
	static const struct {
		uint64_t offset;
		uint64_t limit;
	} pages[] = {{0, 10}, {95, 10}, {299, 3}, {590, 100}, {N - 1, 1}};
	struct fx *f = *state;
	struct todo td, *v;
	uint64_t *ids, total;
	char title[64], *big;
	size_t i, j, n, len;

	if ((ids = calloc(N, sizeof(*ids))) == NULL ||
	    (big = malloc(BIG + 1)) == NULL)
		fail_msg("malloc");
	memset(big, 'x', BIG);
	big[BIG] = '\0';
	create(f, 19, "neighbour below", DATE);
	create(f, 21, "neighbour above", DATE);
	for (i = 0; i < N; i++) {
		if (i % 100 == 50) {
			CHECK_STATUS(tdb_create(f->t, 20, big, BIG, DATE, &td),
			    TDB_OK, "create big");
			ids[i] = td.id;
			tdb_todo_clear(&td);
			continue;
		}
		snprintf(title, sizeof(title), "todo number %zu of the long list",
		    i);
		ids[i] = create(f, 20, title, DATE);
	}
	CHECK_STATUS(tdb_list(f->t, 20, 0, UINT64_MAX, &v, &n, &total), TDB_OK,
	    "list all");
	CHECK_U64(total, N, "total");
	CHECK_U64(n, N, "n");
	for (i = 0; i < n; i++) {
		if (i % 100 == 50) {
			check_todo(&v[i], 20, ids[i], big, BIG, DATE);
			continue;
		}
		len = (size_t)snprintf(title, sizeof(title),
		    "todo number %zu of the long list", i);
		check_todo(&v[i], 20, ids[i], title, len, DATE);
	}
	tdb_list_free(v, n);
	for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
		CHECK_STATUS(tdb_list(f->t, 20, pages[i].offset, pages[i].limit,
				 &v, &n, &total),
		    TDB_OK, "list page");
		CHECK_U64(total, N, "page total");
		CHECK_U64(n, N - pages[i].offset < pages[i].limit ?
		    N - pages[i].offset : pages[i].limit, "page n");
		for (j = 0; j < n; j++)
			CHECK_U64(v[j].id, ids[pages[i].offset + j], "page id");
		tdb_list_free(v, n);
	}
	CHECK_STATUS(tdb_list(f->t, 21, 0, UINT64_MAX, &v, &n, &total), TDB_OK,
	    "list neighbour");
	CHECK_U64(total, 1, "neighbour total");
	tdb_list_free(v, n);
	free(big);
	free(ids);
}

/*
 * Berkeley DB chooses a database's page size from the file system (up to
 * 64 KiB) and refuses a bulk buffer smaller than a page.  Databases made
 * beforehand with 16 KiB and 64 KiB pages (as on file systems with big
 * blocks) must list like any other, across several bulk reads.
 */
static void
make_paged_db(const char *dir, u_int32_t pagesize)
{
	DB_ENV *env;
	DB *db;

	if (mkdir(dir, 0700) == -1)
		fail_msg("mkdir %s", dir);
	if (db_env_create(&env, 0) != 0 ||
	    env->open(env, dir, DB_CREATE | DB_INIT_MPOOL | DB_INIT_TXN |
		DB_INIT_LOCK | DB_INIT_LOG, 0600) != 0 ||
	    db_create(&db, env, 0) != 0 || db->set_pagesize(db, pagesize) != 0 ||
	    db->open(db, NULL, "todos.db", NULL, DB_BTREE,
		DB_CREATE | DB_AUTO_COMMIT, 0600) != 0)
		fail_msg("cannot make a database with %u-byte pages", pagesize);
	db->close(db, 0);
	env->close(env, 0);
}

static void
test_list_big_pages(void **state)
{
	static const u_int32_t sizes[] = {16384, 65536};
	enum { N = 2000 };
	struct fx f;
	struct todo *v;
	uint64_t first = 0, total;
	char err[512], title[64];
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		memset(&f, 0, sizeof(f));
		snprintf(f.root, sizeof(f.root), "/tmp/test_todo_db.XXXXXX");
		if (mkdtemp(f.root) == NULL)
			fail_msg("mkdtemp");
		snprintf(f.dir, sizeof(f.dir), "%s/data", f.root);
		make_paged_db(f.dir, sizes[i]);
		if (tdb_prepare(f.dir, err, sizeof(err)) == -1 ||
		    (f.t = tdb_open(f.dir, err, sizeof(err))) == NULL)
			fail_msg("open: %s", err);
		create(&f, 2, "neighbour below", DATE);
		create(&f, 4, "neighbour above", DATE);
		for (j = 0; j < N; j++) {
			snprintf(title, sizeof(title), "todo %zu", j);
			if (j == 0)
				first = create(&f, 3, title, DATE);
			else
				create(&f, 3, title, DATE);
		}
		CHECK_STATUS(tdb_list(f.t, 3, 0, UINT64_MAX, &v, &n, &total),
		    TDB_OK, "list with big pages");
		CHECK_U64(total, N, "total");
		CHECK_U64(n, N, "n");
		for (j = 0; j < n; j++) {
			snprintf(title, sizeof(title), "todo %zu", j);
			check_todo(&v[j], 3, first + j, title, strlen(title),
			    DATE);
		}
		tdb_list_free(v, n);
		CHECK_STATUS(tdb_list(f.t, 3, N - 5, 10, &v, &n, &total),
		    TDB_OK, "last page");
		CHECK_U64(n, 5, "last page n");
		CHECK_U64(v[4].id, first + N - 1, "last id");
		tdb_list_free(v, n);
		tdb_close(f.t);
		rm_rf(f.root);
	}
}

static void
test_user_isolation(void **state)
{
	struct fx *f = *state;
	struct todo td, *v;
	uint64_t id, total;
	size_t n;

	id = create(f, 100, "A's secret", "2026-06-01");
	CHECK_STATUS(tdb_get(f->t, 101, id, &td), TDB_NOTFOUND, "B get");
	CHECK_STATUS(tdb_update(f->t, 101, id, "pwned", 5, "2000-01-01", &td),
	    TDB_NOTFOUND, "B update");
	CHECK_STATUS(tdb_update(f->t, 101, id, NULL, 0, NULL, &td),
	    TDB_NOTFOUND, "B empty update");
	CHECK_STATUS(tdb_delete(f->t, 101, id), TDB_NOTFOUND, "B delete");
	CHECK_STATUS(tdb_list(f->t, 101, 0, UINT64_MAX, &v, &n, &total), TDB_OK,
	    "B list");
	CHECK_U64(total, 0, "B total");
	CHECK_U64(n, 0, "B n");
	tdb_list_free(v, n);
	check_stored(f, 100, id, "A's secret", "2026-06-01");
	CHECK_STATUS(tdb_list(f->t, 100, 0, UINT64_MAX, &v, &n, &total), TDB_OK,
	    "A list");
	CHECK_U64(total, 1, "A total");
	tdb_list_free(v, n);
	CHECK_STATUS(tdb_update(f->t, 100, id, "mine", 4, NULL, &td), TDB_OK,
	    "A update");
	tdb_todo_clear(&td);
	CHECK_STATUS(tdb_delete(f->t, 100, id), TDB_OK, "A delete");
}

static void
test_ids_increase(void **state)
{
	static const uint64_t users[] = {5, 1, 5, 9, 1, 2, 9, 9};
	struct fx *f = *state;
	uint64_t id, prev = 0;
	size_t i;

	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		id = create(f, users[i], "t", DATE);
		if (i == 0)
			CHECK_U64(id, 1, "first id");
		else if (id <= prev)
			fail_msg("id %zu: got %llu, want > %llu", i,
			    (unsigned long long)id, (unsigned long long)prev);
		prev = id;
	}
	CHECK_STATUS(tdb_delete(f->t, 9, prev), TDB_OK, "delete newest");
	id = create(f, 9, "t", DATE);
	if (id <= prev)
		fail_msg("id after delete: got %llu, want > %llu",
		    (unsigned long long)id, (unsigned long long)prev);
}

static char *
make_title(size_t len)
{
	static const char utf8[] = "\xc3\xa9\xe2\x82\xac\xf0\x9f\x8d\x95"
				   "a";
	char *s;
	size_t i;

	if ((s = malloc(len + 1)) == NULL)
		fail_msg("malloc");
	for (i = 0; i < len; i++)
		s[i] = utf8[i % (sizeof(utf8) - 1)];
	s[len] = '\0';
	return (s);
}

static void
test_titles(void **state)
{
	static const size_t lens[] = {1, 10, 4096, 65536, TDB_TITLE_MAX};
	struct fx *f = *state;
	struct todo td, *v;
	uint64_t total;
	size_t i, n;
	char *s;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		s = make_title(lens[i]);
		CHECK_STATUS(tdb_create(f->t, 4, s, lens[i], DATE, &td), TDB_OK,
		    "create");
		tdb_todo_clear(&td);
		free(s);
	}
	CHECK_STATUS(
	    tdb_list(f->t, 4, 0, UINT64_MAX, &v, &n, &total), TDB_OK, "list");
	CHECK_U64(n, sizeof(lens) / sizeof(lens[0]), "n");
	for (i = 0; i < n; i++) {
		s = make_title(lens[i]);
		check_todo(&v[i], 4, v[i].id, s, lens[i], DATE);
		free(s);
	}
	tdb_list_free(v, n);
	s = make_title(TDB_TITLE_MAX + 1);
	CHECK_STATUS(tdb_create(f->t, 4, s, TDB_TITLE_MAX + 1, DATE, &td),
	    TDB_ERROR, "create over the cap");
	CHECK_STATUS(tdb_update(f->t, 4, 1, s, TDB_TITLE_MAX + 1, NULL, &td),
	    TDB_ERROR, "update over the cap");
	free(s);
	CHECK_STATUS(tdb_list(f->t, 4, 0, UINT64_MAX, &v, &n, &total), TDB_OK,
	    "list after refusals");
	CHECK_U64(total, sizeof(lens) / sizeof(lens[0]), "total");
	tdb_list_free(v, n);
}

static void
test_bad_args(void **state)
{
	static const char *bad_dates[] = {
	    "2026-1-01",
	    "2026-01-011",
	    "20260101",
	    "",
	    "abcd-ef-gh",
	    "2026/01/01",
	    "2026-01-0",
	};
	struct fx *f = *state;
	struct todo td;
	uint64_t id;
	size_t i;

	id = create(f, 3, "keep", "2026-01-01");
	for (i = 0; i < sizeof(bad_dates) / sizeof(bad_dates[0]); i++) {
		CHECK_STATUS(tdb_create(f->t, 3, "t", 1, bad_dates[i], &td),
		    TDB_ERROR, bad_dates[i]);
		CHECK_STATUS(
		    tdb_update(f->t, 3, id, NULL, 0, bad_dates[i], &td),
		    TDB_ERROR, bad_dates[i]);
	}
	CHECK_STATUS(
	    tdb_create(f->t, 3, NULL, 0, DATE, &td), TDB_ERROR, "NULL title");
	CHECK_STATUS(
	    tdb_create(f->t, 3, "t", 1, NULL, &td), TDB_ERROR, "NULL date");
	check_stored(f, 3, id, "keep", "2026-01-01");
	/* The same calls with a good date pass. */
	CHECK_STATUS(tdb_update(f->t, 3, id, NULL, 0, "2026-12-31", &td),
	    TDB_OK, "good date");
	tdb_todo_clear(&td);
	check_stored(f, 3, id, "keep", "2026-12-31");
}

static void
test_persistence(void **state)
{
	struct fx *f = *state;
	char err[512], *big;
	uint64_t a, b, c;

	big = make_title(65536);
	a = create(f, 1, "survives", "2026-01-02");
	b = create(f, 2, big, "2026-01-03");
	c = create(f, 1, "deleted", DATE);
	CHECK_STATUS(tdb_delete(f->t, 1, c), TDB_OK, "delete");
	close_handle(f);
	if (tdb_prepare(f->dir, err, sizeof(err)) == -1)
		fail_msg("tdb_prepare: %s", err);
	reopen(f);
	check_stored(f, 1, a, "survives", "2026-01-02");
	check_stored(f, 2, b, big, "2026-01-03");
	free(big);
	CHECK_STATUS(tdb_delete(f->t, 1, c), TDB_NOTFOUND, "deleted stays");
	if (create(f, 1, "after", DATE) <= c)
		fail_msg("id after recovery is not above %llu",
		    (unsigned long long)c);
}

/*
 * Nobody died: failchk says usable, also while this process holds a handle
 * (the check runs in a helper process of its own), and the handle goes on
 * working.
 */
static void
test_failchk_idle(void **state)
{
	struct fx *f = *state;

	CHECK_U64(tdb_failchk(f->dir), 0, "failchk with a handle open");
	check_stored(
	    f, 1, create(f, 1, "still fine", DATE), "still fine", DATE);
	close_handle(f);
	CHECK_U64(tdb_failchk(f->dir), 0, "failchk, nobody died");
	reopen(f);
	check_stored(
	    f, 1, create(f, 1, "fine again", DATE), "fine again", DATE);
}

static int
raw_is_alive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
	return (kill(pid, 0) == 0 || errno != ESRCH);
}

/* The environment as a worker opens it, without todo_db.c. */
static DB_ENV *
raw_env_open(const char *dir, DB **todos)
{
	DB_ENV *env;
	DB *db;

	if (db_env_create(&env, 0) != 0 ||
	    env->set_thread_count(env, 64) != 0 ||
	    env->set_isalive(env, raw_is_alive) != 0 ||
	    env->open(env, dir,
		DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL |
		    DB_REGISTER | DB_FAILCHK,
		0600) != 0)
		_exit(10);
	if (db_create(&db, env, 0) != 0 ||
	    db->open(db, NULL, "todos.db", NULL, DB_BTREE, DB_AUTO_COMMIT,
		0600) != 0)
		_exit(11);
	*todos = db;
	return (env);
}

/* Puts a v1 record for (user, id) by hand. */
static int
raw_put(DB *db, DB_TXN *txn, uint64_t user, uint64_t id, const char *title)
{
	unsigned char k[16], v[64];
	size_t len = strlen(title);
	DBT key, data;
	int i;

	for (i = 0; i < 8; i++) {
		k[i] = user >> (56 - 8 * i);
		k[8 + i] = id >> (56 - 8 * i);
	}
	v[0] = 1;
	memcpy(v + 1, DATE, 10);
	v[11] = v[12] = v[13] = 0;
	v[14] = (unsigned char)len;
	memcpy(v + 15, title, len);
	memset(&key, 0, sizeof(key));
	memset(&data, 0, sizeof(data));
	key.data = k;
	key.size = sizeof(k);
	data.data = v;
	data.size = 15 + len;
	return (db->put(db, txn, &key, &data, 0));
}

#define HELD_USER 77
#define HELD_DONE 1000000 /* committed by the victim */
#define HELD_OPEN 1000001 /* left in its open transaction */

/* Commits one todo, then dies holding a transaction with another. */
static void
victim_main(const char *dir, int ready)
{
	DB_ENV *env;
	DB_TXN *txn;
	DB *db;

	env = raw_env_open(dir, &db);
	if (env->txn_begin(env, NULL, &txn, 0) != 0 ||
	    raw_put(db, txn, HELD_USER, HELD_DONE, "committed") != 0 ||
	    txn->commit(txn, 0) != 0)
		_exit(12);
	if (env->txn_begin(env, NULL, &txn, 0) != 0 ||
	    raw_put(db, txn, HELD_USER, HELD_OPEN, "uncommitted") != 0)
		_exit(13);
	if (write(ready, "r", 1) != 1)
		_exit(14);
	for (;;)
		pause();
}

/*
 * A worker that was running all along: once told to go, it must not block
 * on the dead victim's locks.  The alarm turns a hang into a failure.
 */
static void
survivor_main(const char *dir, int ready, int go)
{
	struct todo td;
	struct tdb *t;
	char err[512], c;

	if ((t = tdb_open(dir, err, sizeof(err))) == NULL) {
		fprintf(stderr, "survivor: %s\n", err);
		_exit(20);
	}
	if (write(ready, "r", 1) != 1 || read(go, &c, 1) != 1)
		_exit(21);
	alarm(20);
	if (tdb_get(t, HELD_USER, HELD_OPEN, &td) != TDB_NOTFOUND)
		_exit(22);
	if (tdb_update(t, HELD_USER, HELD_DONE, "updated", 7, NULL, &td) !=
	    TDB_OK)
		_exit(23);
	tdb_todo_clear(&td);
	if (tdb_create(t, HELD_USER, "after", 5, DATE, &td) != TDB_OK)
		_exit(24);
	tdb_todo_clear(&td);
	tdb_close(t);
	_exit(0);
}

static pid_t
spawn_victim(const char *dir, int *ready)
{
	int p[2];
	pid_t pid;

	if (pipe(p) == -1 || (pid = fork()) == -1)
		fail_msg("pipe/fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		victim_main(dir, p[1]);
	}
	close(p[1]);
	*ready = p[0];
	return (pid);
}

static pid_t
spawn_survivor(const char *dir, int *ready, int *go)
{
	int r[2], g[2];
	pid_t pid;

	if (pipe(r) == -1 || pipe(g) == -1 || (pid = fork()) == -1)
		fail_msg("pipe/fork: %s", strerror(errno));
	if (pid == 0) {
		close(r[0]);
		close(g[1]);
		survivor_main(dir, r[1], g[0]);
	}
	close(r[1]);
	close(g[0]);
	*ready = r[0];
	*go = g[1];
	return (pid);
}

static void
wait_byte(int fd, const char *who)
{
	char c;

	if (read(fd, &c, 1) != 1)
		fail_msg("%s did not get ready", who);
	close(fd);
}

static int
exit_code(pid_t pid)
{
	int st;

	if (waitpid(pid, &st, 0) == -1)
		return (-1);
	return (WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/*
 * Run twice: failchk after reaping the victim (what the master does), and
 * failchk while the victim is still a zombie.
 */
static void
run_killed_in_txn(struct fx *f, int reap_first)
{
	int vready, sready, go;
	pid_t victim, survivor;
	siginfo_t si;
	uint64_t total;
	struct todo *v;
	size_t n;

	close_handle(f);
	survivor = spawn_survivor(f->dir, &sready, &go);
	wait_byte(sready, "survivor");
	victim = spawn_victim(f->dir, &vready);
	wait_byte(vready, "victim");
	kill(victim, SIGKILL);
	if (reap_first)
		CHECK_U64(exit_code(victim), 128 + SIGKILL, "victim exit");
	else if (waitid(P_PID, victim, &si, WEXITED | WNOWAIT) == -1)
		fail_msg("waitid: %s", strerror(errno));
	CHECK_U64(tdb_failchk(f->dir), 0, "failchk after victim died");
	if (!reap_first)
		CHECK_U64(exit_code(victim), 128 + SIGKILL, "victim exit");
	if (write(go, "g", 1) != 1)
		fail_msg("write go");
	close(go);
	CHECK_U64(exit_code(survivor), 0, "survivor exit code");
	reopen(f);
	check_stored(f, HELD_USER, HELD_DONE, "updated", DATE);
	CHECK_STATUS(tdb_list(f->t, HELD_USER, 0, UINT64_MAX, &v, &n, &total),
	    TDB_OK, "list");
	CHECK_U64(total, 2, "todos of the held user");
	tdb_list_free(v, n);
}

static void
test_failchk_killed_in_txn(void **state)
{
	run_killed_in_txn(*state, 1);
}

static void
test_failchk_killed_in_txn_zombie(void **state)
{
	run_killed_in_txn(*state, 0);
}

#define BUSY_USER 500
#define BUSY_N 80
#define BUSY_WORKERS 4

/*
 * One of several workers on the same user at once: creates, reads the
 * list, rewrites and deletes.  Page-lock deadlocks between them must be
 * retried inside todo_db.c, never reach the caller.
 */
static void
busy_main(const char *dir, unsigned me)
{
	struct todo td, *v;
	uint64_t ids[BUSY_N], total;
	struct tdb *t;
	char err[512], *title;
	size_t i, n;

	if ((t = tdb_open(dir, err, sizeof(err))) == NULL)
		_exit(50);
	alarm(120);
	title = make_title(3000);
	for (i = 0; i < BUSY_N; i++) {
		/* Uneven sizes split leaf pages, where deadlocks happen. */
		if (tdb_create(t, BUSY_USER, title, 100 + (i * 37 + me) % 2900,
			DATE, &td) != TDB_OK)
			_exit(51);
		ids[i] = td.id;
		tdb_todo_clear(&td);
		if (tdb_list(t, BUSY_USER, 0, UINT64_MAX, &v, &n, &total) !=
		    TDB_OK)
			_exit(52);
		tdb_list_free(v, n);
	}
	for (i = 0; i < BUSY_N; i++) {
		if (tdb_update(t, BUSY_USER, ids[i], "x", 1, NULL, &td) !=
		    TDB_OK)
			_exit(53);
		tdb_todo_clear(&td);
		if (i % 2 == 0 && tdb_delete(t, BUSY_USER, ids[i]) != TDB_OK)
			_exit(54);
	}
	free(title);
	tdb_close(t);
	_exit(0);
}

static void
test_concurrent_workers(void **state)
{
	struct fx *f = *state;
	struct todo *v;
	uint64_t total;
	pid_t pid[BUSY_WORKERS];
	unsigned i;
	size_t n, j;

	for (i = 0; i < BUSY_WORKERS; i++) {
		if ((pid[i] = fork()) == -1)
			fail_msg("fork: %s", strerror(errno));
		if (pid[i] == 0)
			busy_main(f->dir, i);
	}
	for (i = 0; i < BUSY_WORKERS; i++)
		CHECK_U64(exit_code(pid[i]), 0, "busy worker exit code");
	CHECK_STATUS(tdb_list(f->t, BUSY_USER, 0, UINT64_MAX, &v, &n, &total),
	    TDB_OK, "list");
	CHECK_U64(total, BUSY_WORKERS * BUSY_N / 2, "todos left");
	for (j = 0; j < n; j++) {
		CHECK_STR(v[j].title, "x", "rewritten title");
		if (j > 0 && v[j].id <= v[j - 1].id)
			fail_msg("list order: id %llu after %llu",
			    (unsigned long long)v[j].id,
			    (unsigned long long)v[j - 1].id);
	}
	tdb_list_free(v, n);
}

/* Creates todos for ever, reporting each committed id on fd. */
static void
writer_main(const char *dir, int fd)
{
	struct todo td;
	struct tdb *t;
	char err[512], title[64];
	uint64_t i;

	if ((t = tdb_open(dir, err, sizeof(err))) == NULL) {
		fprintf(stderr, "writer: %s\n", err);
		_exit(30);
	}
	for (i = 0;; i++) {
		snprintf(title, sizeof(title), "w%llu", (unsigned long long)i);
		if (tdb_create(t, 55, title, strlen(title), DATE, &td) !=
		    TDB_OK)
			_exit(31);
		if (write(fd, &td.id, sizeof(td.id)) != sizeof(td.id))
			_exit(32);
		tdb_todo_clear(&td);
	}
}

/* Reads the ids the writer reported; want ids before the kill. */
static size_t
read_ids(int fd, uint64_t *ids, size_t cap, size_t want)
{
	size_t n = 0;

	while (n < cap && (want == 0 || n < want) &&
	    read(fd, &ids[n], sizeof(ids[n])) == sizeof(ids[n]))
		n++;
	return (n);
}

static int
kill_writer_once(struct fx *f, unsigned round, uint64_t *ids, size_t cap)
{
	char err[512], title[64];
	size_t i, n;
	pid_t pid;
	int p[2], rc;

	if (pipe(p) == -1 || (pid = fork()) == -1)
		fail_msg("pipe/fork: %s", strerror(errno));
	if (pid == 0) {
		close(p[0]);
		writer_main(f->dir, p[1]);
	}
	close(p[1]);
	n = read_ids(p[0], ids, cap, 3 + round);
	usleep(137 * round);
	kill(pid, SIGKILL);
	n += read_ids(p[0], ids + n, cap - n, 0);
	close(p[0]);
	CHECK_U64(exit_code(pid), 128 + SIGKILL, "writer exit");
	rc = tdb_failchk(f->dir);
	if (rc != 0 && rc != 1)
		fail_msg("failchk: got %d, want 0 or 1", rc);
	if (rc == 1 && tdb_prepare(f->dir, err, sizeof(err)) == -1)
		fail_msg("recovery after failchk: %s", err);
	reopen(f);
	for (i = 0; i < n; i++) {
		snprintf(title, sizeof(title), "w%zu", i);
		check_stored(f, 55, ids[i], title, DATE);
	}
	close_handle(f);
	return (rc);
}

/*
 * SIGKILL lands wherever it lands: outside the library failchk cleans up
 * (0); inside it, failchk asks for recovery (1).  Either way every
 * reported commit must be there afterwards.
 */
static void
test_failchk_killed_writer(void **state)
{
	struct fx *f = *state;
	uint64_t ids[4096];
	unsigned round, seen[3] = {0, 0, 0};
	time_t t0;
	int rc;

	close_handle(f);
	for (round = 0; round < 6; round++) {
		t0 = time(NULL);
		rc = kill_writer_once(f, round, ids, 4096);
		/* A recovery after the helper's deadline: it was blocked. */
		seen[rc == 1 && time(NULL) - t0 >= 9 ? 2 : rc]++;
	}
	print_message("failchk: %u rounds usable, %u recovered, %u recovered "
		      "after blocking on a dead process's mutex\n",
	    seen[0], seen[1], seen[2]);
	reopen(f);
}

/*
 * A worker whose environment was panicked under it: requests fail without
 * killing the process and the handle asks for recovery.  (It then exits;
 * Berkeley DB does not free a panicked handle on close.)
 */
static void
panicked_main(const char *dir, int ready, int go)
{
	struct todo td;
	struct tdb *t;
	char err[512], c;
	int code = 0;

	if ((t = tdb_open(dir, err, sizeof(err))) == NULL)
		_exit(40);
	if (tdb_needs_recovery(t) != 0)
		code = 41;
	if (write(ready, "r", 1) != 1 || read(go, &c, 1) != 1)
		_exit(42);
	if (code == 0 && tdb_create(t, 12, "x", 1, DATE, &td) != TDB_ERROR)
		code = 43;
	if (code == 0 && tdb_needs_recovery(t) != 1)
		code = 44;
	tdb_close(t);
	_exit(code);
}

/*
 * Another process panics the environment: a running worker notices,
 * failchk asks for recovery, and recovery brings the data back.
 */
static void
test_panic_then_recover(void **state)
{
	struct fx *f = *state;
	int r[2], g[2];
	char err[512];
	uint64_t id;
	pid_t worker, pid;
	DB_ENV *env;
	DB *db;

	id = create(f, 12, "before panic", DATE);
	close_handle(f);
	if (pipe(r) == -1 || pipe(g) == -1 || (worker = fork()) == -1)
		fail_msg("pipe/fork: %s", strerror(errno));
	if (worker == 0)
		panicked_main(f->dir, r[1], g[0]);
	close(r[1]);
	close(g[0]);
	wait_byte(r[0], "worker");
	if ((pid = fork()) == -1)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		env = raw_env_open(f->dir, &db);
		(void)env->set_flags(env, DB_PANIC_ENVIRONMENT, 1);
		_exit(0);
	}
	CHECK_U64(exit_code(pid), 0, "panicking child");
	if (write(g[1], "g", 1) != 1)
		fail_msg("write go");
	close(g[1]);
	CHECK_U64(exit_code(worker), 0, "worker exit code");
	CHECK_U64(tdb_failchk(f->dir), 1, "failchk of panicked env");
	if (tdb_prepare(f->dir, err, sizeof(err)) == -1)
		fail_msg("tdb_prepare: %s", err);
	reopen(f);
	check_stored(f, 12, id, "before panic", DATE);
	CHECK_U64(tdb_needs_recovery(f->t), 0, "needs recovery, recovered");
}

static void
check_modes(const char *dir)
{
	char path[512];
	struct dirent *de;
	struct stat st;
	unsigned files = 0;
	DIR *d;

	if (stat(dir, &st) == -1)
		fail_msg("stat %s: %s", dir, strerror(errno));
	if ((st.st_mode & 07777) != 0700)
		fail_msg("%s: got mode %o, want 700", dir, st.st_mode & 07777);
	if ((d = opendir(dir)) == NULL)
		fail_msg("opendir %s", dir);
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		files++;
		if ((st.st_mode & 07777) != 0600)
			fail_msg("%s: got mode %o, want 600", de->d_name,
			    st.st_mode & 07777);
	}
	closedir(d);
	/* todos.db, meta.db, a log, __db.register and region files. */
	if (files < 6)
		fail_msg("got %u files, want at least 6", files);
}

/* Under a permissive umask, and with a pre-existing 0755 directory. */
static void
test_permissions(void **state)
{
	struct fx *f = *state;
	char dir[256], err[512];
	struct tdb *t;
	mode_t omask;

	check_modes(f->dir);
	close_handle(f);
	omask = umask(022);
	snprintf(dir, sizeof(dir), "%s/loose", f->root);
	if (mkdir(dir, 0755) == -1 || chmod(dir, 0755) == -1)
		fail_msg("mkdir %s: %s", dir, strerror(errno));
	if (tdb_prepare(dir, err, sizeof(err)) == -1 ||
	    (t = tdb_open(dir, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	umask(omask);
	CHECK_U64(tdb_checkpoint(t), 0, "checkpoint");
	check_modes(dir);
	tdb_close(t);
	reopen(f);
}

static unsigned
count_logs(const char *dir)
{
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		fail_msg("opendir %s", dir);
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "log.", 4) == 0)
			n++;
	closedir(d);
	return (n);
}

/* ~25 MB of log (10 MB per file) shrinks to the live file at checkpoint. */
static void
test_checkpoint_removes_logs(void **state)
{
	struct fx *f = *state;
	struct todo td;
	uint64_t id;
	char *big;
	unsigned i, before, after;

	big = make_title(65536);
	id = create(f, 1, "grows", DATE);
	for (i = 0; i < 200; i++) {
		big[0] = 'a' + i % 26;
		CHECK_STATUS(tdb_update(f->t, 1, id, big, 65536, NULL, &td),
		    TDB_OK, "update");
		tdb_todo_clear(&td);
	}
	free(big);
	before = count_logs(f->dir);
	CHECK_U64(tdb_checkpoint(f->t), 0, "checkpoint");
	CHECK_U64(tdb_checkpoint(f->t), 0, "second checkpoint");
	after = count_logs(f->dir);
	if (before < 3)
		fail_msg(
		    "log files before checkpoint: got %u, want >= 3", before);
	if (after > 1)
		fail_msg("log files after checkpoint: got %u, want 1", after);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_create_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_list_pagination, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_edges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_long, setup, teardown),
	    cmocka_unit_test(test_list_big_pages),
	    cmocka_unit_test_setup_teardown(
		test_user_isolation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ids_increase, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_titles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_concurrent_workers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failchk_idle, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_failchk_killed_in_txn, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_failchk_killed_in_txn_zombie, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_failchk_killed_writer, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_panic_then_recover, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_checkpoint_removes_logs, setup, teardown),
	};

	/* Debug level shows deadlock retries. */
	log_init("test_todo_db", 1);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}

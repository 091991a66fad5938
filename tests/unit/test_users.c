/*
 * test_users.c - tests of verifierd/users.c on real environments in
 * mkdtemp directories: lookup miss then hit, idempotent provisioning,
 * identities that differ only in the issuer or the provider prefix of the
 * sub, id allocation, persistence across a clean close and across a crash
 * (recovery through DB_REGISTER), email sizes, odd bytes in claims, the
 * count, and file permissions.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "users.h"

#define ISS "https://tenant.example.com/"

struct fx {
	char root[64];
	char state[128];
	struct udb *u;
};

#define CHECK_INT(got, want, what)                                             \
	do {                                                                   \
		long long g_ = (got), w_ = (want);                             \
		if (g_ != w_)                                                  \
			fail_msg("%s: got %lld, want %lld", (what), g_, w_);   \
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

static int
setup(void **state)
{
	char err[512];
	struct fx *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return (-1);
	snprintf(f->root, sizeof(f->root), "/tmp/test_users.XXXXXX");
	if (mkdtemp(f->root) == NULL)
		return (-1);
	snprintf(f->state, sizeof(f->state), "%s/state", f->root);
	if ((f->u = udb_open(f->state, err, sizeof(err))) == NULL) {
		fprintf(stderr, "udb_open: %s\n", err);
		return (-1);
	}
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	udb_close(f->u);
	(void)nftw(f->root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return (0);
}

static void
reopen(struct fx *f)
{
	char err[512];

	udb_close(f->u);
	if ((f->u = udb_open(f->state, err, sizeof(err))) == NULL)
		fail_msg("udb_open: %s", err);
}

static uint64_t
provision(struct fx *f, const char *iss, const char *sub, const char *email)
{
	uint64_t id = 0;

	CHECK_INT(udb_provision(f->u, iss, sub, email, &id), 0, "provision");
	return (id);
}

static void
check_user(struct fx *f, const char *iss, const char *sub, uint64_t id,
    const char *email)
{
	char got[UDB_EMAIL_MAX + 1];
	uint64_t user = 0;

	CHECK_INT(udb_lookup(f->u, iss, sub, &user, got, sizeof(got)), 1, sub);
	CHECK_INT(user, id, sub);
	CHECK_STR(got, email, sub);
}

static void
test_lookup_provision_lookup(void **state)
{
	static const struct {
		const char *sub;
		const char *email;
	} rows[] = {
	    {"auth0|5f7c8ec7c33c6c004bbafe82", "ana@example.com"},
	    {"google-oauth2|10769150350006150715113", "bo@example.org"},
	    {"github|1234", ""},
	};
	struct fx *f = *state;
	char email[UDB_EMAIL_MAX + 1];
	uint64_t user, id;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		CHECK_INT(udb_lookup(f->u, ISS, rows[i].sub, &user, email,
			      sizeof(email)),
		    0, "lookup before provisioning");
		id = provision(f, ISS, rows[i].sub, rows[i].email);
		CHECK_INT(id, i + 1, "id");
		check_user(f, ISS, rows[i].sub, id, rows[i].email);
	}
	CHECK_INT(udb_lookup(f->u, ISS, "auth0|nobody", &user, NULL, 0), 0,
	    "lookup without email buffer");
	CHECK_INT(udb_lookup(f->u, ISS, rows[0].sub, &user, NULL, 0), 1,
	    "hit without email buffer");
	CHECK_INT(user, 1, "id without email buffer");
}

static void
test_provision_idempotent(void **state)
{
	struct fx *f = *state;
	uint64_t a, b;

	a = provision(f, ISS, "auth0|same", "first@example.com");
	b = provision(f, ISS, "auth0|same", "second@example.com");
	CHECK_INT(b, a, "second provision");
	check_user(f, ISS, "auth0|same", a, "first@example.com");
	CHECK_INT(udb_count(f->u), 1, "count");
}

static void
test_distinct_identities(void **state)
{
	static const struct {
		const char *iss;
		const char *sub;
	} rows[] = {
	    {ISS, "auth0|x"},
	    {ISS, "google-oauth2|x"},
	    {ISS, "x"},
	    {"https://other.example.com/", "auth0|x"},
	    {"https://tenant.example.com", "auth0|x"},
	    {"ab", "c"},
	    {"a", "bc"},
	    {"a|b", "c"},
	    {"a", "b|c"},
	};
	struct fx *f = *state;
	uint64_t ids[sizeof(rows) / sizeof(rows[0])];
	size_t i, n = sizeof(rows) / sizeof(rows[0]);

	for (i = 0; i < n; i++) {
		ids[i] = provision(f, rows[i].iss, rows[i].sub, rows[i].sub);
		CHECK_INT(ids[i], i + 1, rows[i].sub);
	}
	for (i = 0; i < n; i++)
		check_user(f, rows[i].iss, rows[i].sub, ids[i], rows[i].sub);
	CHECK_INT(udb_count(f->u), n, "count");
}

static void
test_persistence(void **state)
{
	struct fx *f = *state;

	CHECK_INT(udb_count(f->u), 0, "count of a new table");
	provision(f, ISS, "auth0|a", "a@example.com");
	provision(f, ISS, "auth0|b", "b@example.com");
	provision(f, ISS, "auth0|c", "c@example.com");
	reopen(f);
	check_user(f, ISS, "auth0|a", 1, "a@example.com");
	check_user(f, ISS, "auth0|b", 2, "b@example.com");
	check_user(f, ISS, "auth0|c", 3, "c@example.com");
	CHECK_INT(provision(f, ISS, "auth0|d", NULL), 4, "id after reopen");
	check_user(f, ISS, "auth0|d", 4, "");
	CHECK_INT(udb_count(f->u), 4, "count after reopen");
}

/* A verifierd that dies without closing: the next open recovers. */
static void
test_crash_recovery(void **state)
{
	struct fx *f = *state;
	char err[512];
	struct udb *u;
	uint64_t id;
	pid_t pid;
	int st;

	provision(f, ISS, "auth0|before", "b@example.com");
	udb_close(f->u);
	f->u = NULL;
	if ((pid = fork()) == -1)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		if ((u = udb_open(f->state, err, sizeof(err))) == NULL ||
		    udb_provision(
			u, ISS, "auth0|crash", "c@example.com", &id) == -1 ||
		    id != 2)
			_exit(1);
		_exit(0);
	}
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		fail_msg("child did not exit");
	CHECK_INT(WEXITSTATUS(st), 0, "child exit code");
	if ((f->u = udb_open(f->state, err, sizeof(err))) == NULL)
		fail_msg("udb_open after crash: %s", err);
	check_user(f, ISS, "auth0|before", 1, "b@example.com");
	check_user(f, ISS, "auth0|crash", 2, "c@example.com");
	CHECK_INT(provision(f, ISS, "auth0|after", NULL), 3, "id after crash");
}

static void
test_emails(void **state)
{
	static const size_t lens[] = {0, 1, 64, 254, UDB_EMAIL_MAX};
	struct fx *f = *state;
	char email[UDB_EMAIL_MAX + 2], got[UDB_EMAIL_MAX + 1], sub[32];
	uint64_t id, user;
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memset(email, 'e', lens[i]);
		email[lens[i]] = '\0';
		snprintf(sub, sizeof(sub), "auth0|e%zu", lens[i]);
		id = provision(f, ISS, sub, email);
		check_user(f, ISS, sub, id, email);
	}
	/* Too long to store: refused, and nothing is inserted. */
	memset(email, 'e', UDB_EMAIL_MAX + 1);
	email[UDB_EMAIL_MAX + 1] = '\0';
	CHECK_INT(udb_provision(f->u, ISS, "auth0|long", email, &id), -1,
	    "email over the cap");
	CHECK_INT(udb_lookup(f->u, ISS, "auth0|long", &user, NULL, 0), 0,
	    "lookup after refusal");
	/* A buffer one byte short is refused; an exact one is fine. */
	CHECK_INT(udb_lookup(f->u, ISS, "auth0|e64", &user, got, 64), -1,
	    "buffer of 64 for 64 bytes");
	CHECK_INT(udb_lookup(f->u, ISS, "auth0|e64", &user, got, 65), 1,
	    "buffer of 65 for 64 bytes");
	CHECK_INT(strlen(got), 64, "email length");
}

static void
test_odd_claims(void **state)
{
	static char long_sub[UDB_CLAIM_MAX + 2];
	static const struct {
		const char *iss;
		const char *sub;
	} rows[] = {
	    {ISS, "\x01\x02\x03"},
	    {ISS, "\xff\xfe\x80"},
	    {ISS, " spaced | piped "},
	    {ISS, "new\nline\ttab"},
	    {ISS, "%00%2F..%2F"},
	    {ISS, "\xc3\xbc\xe2\x82\xac"},
	    {"\x7f\xff", "auth0|x"},
	    {ISS, long_sub},
	};
	struct fx *f = *state;
	uint64_t ids[sizeof(rows) / sizeof(rows[0])], id;
	size_t i, n = sizeof(rows) / sizeof(rows[0]);

	memset(long_sub, 's', UDB_CLAIM_MAX);
	long_sub[UDB_CLAIM_MAX] = '\0';
	for (i = 0; i < n; i++)
		ids[i] =
		    provision(f, rows[i].iss, rows[i].sub, "o@example.com");
	for (i = 0; i < n; i++)
		check_user(
		    f, rows[i].iss, rows[i].sub, ids[i], "o@example.com");
	CHECK_INT(udb_count(f->u), n, "count");
	/* Refused: over the cap, empty, missing. */
	long_sub[UDB_CLAIM_MAX] = 's';
	long_sub[UDB_CLAIM_MAX + 1] = '\0';
	CHECK_INT(udb_provision(f->u, ISS, long_sub, NULL, &id), -1,
	    "sub over the cap");
	CHECK_INT(udb_lookup(f->u, ISS, long_sub, &id, NULL, 0), -1,
	    "lookup of sub over the cap");
	CHECK_INT(udb_provision(f->u, ISS, "", NULL, &id), -1, "empty sub");
	CHECK_INT(
	    udb_provision(f->u, "", "auth0|x", NULL, &id), -1, "empty iss");
	CHECK_INT(
	    udb_provision(f->u, NULL, "auth0|x", NULL, &id), -1, "NULL iss");
	CHECK_INT(udb_count(f->u), n, "count after refusals");
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
	/* users.db, meta.db, a log, __db.register and region files. */
	if (files < 6)
		fail_msg("got %u files, want at least 6", files);
}

/* Under a permissive umask, with a pre-existing 0755 users directory. */
static void
test_permissions(void **state)
{
	struct fx *f = *state;
	char dir[320], sdir[256], err[512];
	struct udb *u;
	mode_t omask;

	snprintf(dir, sizeof(dir), "%s/users", f->state);
	provision(f, ISS, "auth0|p", "p@example.com");
	check_modes(dir);
	omask = umask(022);
	snprintf(sdir, sizeof(sdir), "%s/loose", f->root);
	snprintf(dir, sizeof(dir), "%s/users", sdir);
	if (mkdir(sdir, 0755) == -1 || mkdir(dir, 0755) == -1 ||
	    chmod(dir, 0755) == -1)
		fail_msg("mkdir %s: %s", dir, strerror(errno));
	u = udb_open(sdir, err, sizeof(err));
	umask(omask);
	if (u == NULL)
		fail_msg("udb_open: %s", err);
	CHECK_INT(udb_provision(u, ISS, "auth0|p", NULL, &(uint64_t){0}), 0,
	    "provision");
	udb_close(u);
	check_modes(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_lookup_provision_lookup, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_provision_idempotent, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_distinct_identities, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_crash_recovery, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_emails, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_odd_claims, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_permissions, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}

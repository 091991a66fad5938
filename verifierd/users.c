/*
 * users.c - verifierd's user table on a Berkeley DB 5.3 transactional
 * environment in STATE_DIR/users.
 *
 * Callers: verifierd (udb_open at start, udb_lookup / udb_provision while
 * verifying, udb_close at exit) and tests/unit/test_users.c.  No network
 * types: plain strings in, ids out.
 *
 * Layout (directory 0700, every file 0600):
 *   users.db  B-tree, key = iss || '\0' || sub, exactly as in the token.
 *             Neither claim can contain NUL, so the key is unambiguous and
 *             "auth0|x" and "google-oauth2|x" never meet.  Value = a v1
 *             record: version byte, BE64 user id, BE16 email length,
 *             email bytes.
 *   meta.db   B-tree holding the DB_SEQUENCE "user_id" (1, 2, 3, ...).
 *
 * Invariants:
 *   - verifierd is one process with one thread; DB_REGISTER lets a second
 *     verifierd started by mistake join instead of recovering the
 *     environment under the first one, and DB_RECOVER runs recovery
 *     whenever the registry shows that the last owner died.
 *   - A user is inserted once, in one transaction that also takes its id,
 *     so an aborted insert gives its id back and ids have no gaps.
 *   - Failures are logged once, here, and returned as -1.
 */
#include <db.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bdb.h"
#include "log.h"
#include "users.h"

#define UDB_SUBDIR "users"
#define UDB_USERS_FILE "users.db"
#define UDB_META_FILE "meta.db"
#define UDB_SEQ_KEY "user_id"
#define UDB_RETRIES 8
#define UDB_CACHE (2U * 1024 * 1024)
#define UDB_CKP_KBYTES 1024
#define UDB_REC_V1 1
#define UDB_REC_HDR (1 + 8 + 2)
#define UDB_KEY_MAX (2 * UDB_CLAIM_MAX + 1)

#define UDB_ENV_FLAGS                                                          \
	(DB_CREATE | DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG |                \
	    DB_INIT_MPOOL | DB_REGISTER | DB_RECOVER)

struct udb {
	DB_ENV *env;
	DB *users;
	DB *meta;
	DB_SEQUENCE *seq;
};

struct udb_key {
	unsigned char buf[UDB_KEY_MAX];
	DBT dbt;
};

struct udb_prov_arg {
	DBT *key;
	const char *email;
	uint64_t user;
};

static int
udb_dirs(
    const char *state_dir, char *dir, size_t dirlen, char *err, size_t errlen)
{
	if (snprintf(dir, dirlen, "%s/%s", state_dir, UDB_SUBDIR) >=
	    (int)dirlen) {
		snprintf(err, errlen, "%s: path too long", state_dir);
		return (-1);
	}
	if (bdb_mkdir(state_dir, 0, err, errlen) == -1 ||
	    bdb_mkdir(dir, 1, err, errlen) == -1)
		return (-1);
	return (0);
}

struct udb *
udb_open(const char *state_dir, char *err, size_t errlen)
{
	char dir[4096];
	struct udb *u;
	const char *what;
	int ret;

	if (udb_dirs(state_dir, dir, sizeof(dir), err, errlen) == -1)
		return (NULL);
	if ((u = calloc(1, sizeof(*u))) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return (NULL);
	}
	bdb_detail_reset();
	what = "db_env_create";
	if ((ret = bdb_env_new(&u->env, UDB_CACHE)) != 0)
		goto fail;
	what = "open environment";
	if ((ret = bdb_env_open(u->env, dir, UDB_ENV_FLAGS)) != 0)
		goto fail;
	what = "open databases";
	ret = bdb_db_open(u->env, &u->users, UDB_USERS_FILE, DB_CREATE);
	if (ret == 0)
		ret = bdb_db_open(u->env, &u->meta, UDB_META_FILE, DB_CREATE);
	if (ret != 0)
		goto fail;
	what = "open sequence";
	if ((ret = bdb_seq_create(u->env, u->meta, UDB_SEQ_KEY, &u->seq)) != 0)
		goto fail;
	return (u);
fail:
	snprintf(err, errlen, "%s: %s: %s", dir, what, bdb_why(ret));
	(void)bdb_close_all(&u->seq, &u->users, &u->meta, &u->env);
	free(u);
	return (NULL);
}

void
udb_close(struct udb *u)
{
	int ret;

	if (u == NULL)
		return;
	bdb_detail_reset();
	if ((ret = u->env->txn_checkpoint(u->env, 0, 0, 0)) != 0)
		log_warnx("udb: checkpoint: %s", bdb_why(ret));
	if ((ret = bdb_close_all(&u->seq, &u->users, &u->meta, &u->env)) != 0)
		log_warnx("udb: close: %s", bdb_why(ret));
	free(u);
}

/* Builds iss || '\0' || sub; 0 ok, -1 if a claim is empty or too long. */
static int
udb_key_make(struct udb_key *k, const char *iss, const char *sub)
{
	size_t il, sl;

	if (iss == NULL || sub == NULL)
		return (-1);
	il = strlen(iss);
	sl = strlen(sub);
	if (il == 0 || sl == 0 || il > UDB_CLAIM_MAX || sl > UDB_CLAIM_MAX)
		return (-1);
	memcpy(k->buf, iss, il);
	k->buf[il] = '\0';
	memcpy(k->buf + il + 1, sub, sl);
	memset(&k->dbt, 0, sizeof(k->dbt));
	k->dbt.data = k->buf;
	k->dbt.size = (u_int32_t)(il + 1 + sl);
	return (0);
}

static void
udb_be64_put(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = v & 0xff;
}

static uint64_t
udb_be64_get(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (v);
}

/* Validates a stored record; returns the email length or -1. */
static int
udb_rec_check(const DBT *rec)
{
	const unsigned char *p = rec->data;
	size_t len;

	if (rec->size < UDB_REC_HDR || p[0] != UDB_REC_V1)
		return (-1);
	len = (size_t)p[9] << 8 | p[10];
	if (len > UDB_EMAIL_MAX || len != rec->size - UDB_REC_HDR)
		return (-1);
	return ((int)len);
}

static int
udb_rec_decode(const DBT *rec, uint64_t *user, char *email, size_t emailcap)
{
	const unsigned char *p = rec->data;
	int len;

	if ((len = udb_rec_check(rec)) == -1) {
		bdb_note("malformed record (%u bytes)", (unsigned)rec->size);
		return (EINVAL);
	}
	if (email != NULL && (size_t)len >= emailcap) {
		bdb_note("email of %d bytes, buffer of %zu", len, emailcap);
		return (EINVAL);
	}
	*user = udb_be64_get(p + 1);
	if (email != NULL) {
		memcpy(email, p + UDB_REC_HDR, len);
		email[len] = '\0';
	}
	return (0);
}

int
udb_lookup(struct udb *u, const char *iss, const char *sub, uint64_t *user,
    char *email, size_t emailcap)
{
	struct udb_key k;
	DBT data;
	int ret;

	bdb_detail_reset();
	if (udb_key_make(&k, iss, sub) == -1) {
		log_warnx("udb: lookup: iss or sub empty or too long");
		return (-1);
	}
	memset(&data, 0, sizeof(data));
	data.flags = DB_DBT_MALLOC;
	ret = u->users->get(u->users, NULL, &k.dbt, &data, 0);
	if (ret == 0)
		ret = udb_rec_decode(&data, user, email, emailcap);
	free(data.data);
	if (ret == DB_NOTFOUND)
		return (0);
	if (ret != 0) {
		log_warnx("udb: lookup: %s", bdb_why(ret));
		return (-1);
	}
	return (1);
}

/*
 * Reads the existing id under a write lock, or inserts a new user and
 * takes its id in the same transaction (the sequence has no cache).
 */
static int
udb_provision_txn(void *ctx, DB_TXN *txn, void *arg)
{
	struct udb *u = ctx;
	struct udb_prov_arg *a = arg;
	unsigned char rec[UDB_REC_HDR + UDB_EMAIL_MAX];
	size_t elen;
	db_seq_t v;
	DBT data;
	int ret;

	memset(&data, 0, sizeof(data));
	data.flags = DB_DBT_MALLOC;
	ret = u->users->get(u->users, txn, a->key, &data, DB_RMW);
	if (ret == 0)
		ret = udb_rec_decode(&data, &a->user, NULL, 0);
	free(data.data);
	if (ret != DB_NOTFOUND)
		return (ret);
	if ((ret = u->seq->get(u->seq, txn, 1, &v, 0)) != 0)
		return (ret);
	a->user = (uint64_t)v;
	elen = strlen(a->email);
	rec[0] = UDB_REC_V1;
	udb_be64_put(rec + 1, a->user);
	rec[9] = (elen >> 8) & 0xff;
	rec[10] = elen & 0xff;
	memcpy(rec + UDB_REC_HDR, a->email, elen);
	memset(&data, 0, sizeof(data));
	data.data = rec;
	data.size = (u_int32_t)(UDB_REC_HDR + elen);
	return (u->users->put(u->users, txn, a->key, &data, DB_NOOVERWRITE));
}

int
udb_provision(struct udb *u, const char *iss, const char *sub,
    const char *email, uint64_t *user)
{
	struct udb_key k;
	struct udb_prov_arg a;
	int ret;

	bdb_detail_reset();
	if (email == NULL)
		email = "";
	if (udb_key_make(&k, iss, sub) == -1 || strlen(email) > UDB_EMAIL_MAX) {
		log_warnx("udb: provision: bad iss, sub or email length");
		return (-1);
	}
	a.key = &k.dbt;
	a.email = email;
	a.user = 0;
	ret = bdb_txn_run(
	    u->env, UDB_RETRIES, "udb: provision", udb_provision_txn, u, &a);
	if (ret != 0) {
		log_warnx("udb: provision: %s", bdb_why(ret));
		return (-1);
	}
	*user = a.user;
	if ((ret = u->env->txn_checkpoint(u->env, UDB_CKP_KBYTES, 0, 0)) != 0)
		log_warnx("udb: checkpoint: %s", bdb_why(ret));
	return (0);
}

uint64_t
udb_count(struct udb *u)
{
	DB_BTREE_STAT *st;
	uint64_t n;
	int ret;

	bdb_detail_reset();
	if ((ret = u->users->stat(u->users, NULL, &st, 0)) != 0) {
		log_warnx("udb: count: %s", bdb_why(ret));
		return (0);
	}
	n = st->bt_nkeys;
	free(st);
	return (n);
}

/*
 * bdb.c - Berkeley DB 5.3 plumbing shared by todod's todo storage
 * (daemon/todo_db.c) and verifierd's user table (verifierd/users.c).
 * What differs between the two (todod's DB_REGISTER/failchk/is-alive
 * handling, record formats, which errors are logged how) stays with them.
 *
 * Invariants:
 *   - Every directory is 0700 and every file 0600, __db.register included
 *     (the umask is 077 while an environment opens).
 *   - The error detail is static: each user of this module is one thread
 *     in its own process.  A failure's detail is gathered from the start of
 *     the operation (bdb_detail_reset) to the one log line (bdb_why).
 *   - Nothing here logs a failure: the caller does, once.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bdb.h"
#include "log.h"

static char bdb_detail[512];

void
bdb_detail_reset(void)
{
	bdb_detail[0] = '\0';
}

/* Berkeley DB may explain one failure in several messages: keep them all. */
static void
bdb_detail_add(const char *msg)
{
	size_t len = strlen(bdb_detail);

	snprintf(bdb_detail + len, sizeof(bdb_detail) - len, "%s%s",
	    len > 0 ? "; " : "", msg);
}

void
bdb_errcall(const DB_ENV *env, const char *pfx, const char *msg)
{
	bdb_detail_add(msg);
}

void
bdb_note(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	bdb_detail_add(msg);
}

const char *
bdb_why(int ret)
{
	static char buf[768];

	if (bdb_detail[0] != '\0')
		snprintf(
		    buf, sizeof(buf), "%s (%s)", db_strerror(ret), bdb_detail);
	else
		snprintf(buf, sizeof(buf), "%s", db_strerror(ret));
	bdb_detail[0] = '\0';
	return (buf);
}

int
bdb_mkdir(const char *dir, int narrow, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, BDB_DIR_MODE) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "mkdir %s: %s", dir, strerror(errno));
		return (-1);
	}
	if (stat(dir, &st) == -1) {
		snprintf(err, errlen, "stat %s: %s", dir, strerror(errno));
		return (-1);
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return (-1);
	}
	if (narrow && (st.st_mode & 07777) != BDB_DIR_MODE &&
	    chmod(dir, BDB_DIR_MODE) == -1) {
		snprintf(err, errlen, "chmod %s: %s", dir, strerror(errno));
		return (-1);
	}
	return (0);
}

int
bdb_env_new(DB_ENV **envp, u_int32_t cache_bytes)
{
	DB_ENV *env;
	int ret;

	*envp = NULL;
	if ((ret = db_env_create(&env, 0)) != 0)
		return (ret);
	env->set_errcall(env, bdb_errcall);
	if ((ret = env->set_lk_detect(env, DB_LOCK_DEFAULT)) != 0 ||
	    (ret = env->set_cachesize(env, 0, cache_bytes, 1)) != 0 ||
	    (ret = env->set_lg_filemode(env, BDB_FILE_MODE)) != 0) {
		(void)env->close(env, 0);
		return (ret);
	}
	*envp = env;
	return (0);
}

/*
 * DB_REGISTER creates __db.register with a fixed 0660 that only the umask
 * narrows, so the umask is 077 while the environment opens.  The umask is
 * process-wide: callers open the environment before starting threads.
 */
int
bdb_env_open(DB_ENV *env, const char *dir, u_int32_t flags)
{
	mode_t omask;
	int ret;

	omask = umask(077);
	ret = env->open(env, dir, flags, BDB_FILE_MODE);
	umask(omask);
	if (ret == 0)
		ret = env->log_set_config(env, DB_LOG_AUTO_REMOVE, 1);
	return (ret);
}

int
bdb_db_open(DB_ENV *env, DB **dbp, const char *file, u_int32_t flags)
{
	DB *db;
	int ret;

	*dbp = NULL;
	if ((ret = db_create(&db, env, 0)) != 0)
		return (ret);
	if ((ret = db->open(db, NULL, file, NULL, DB_BTREE,
		 flags | DB_AUTO_COMMIT, BDB_FILE_MODE)) != 0) {
		bdb_note("%s: %s", file, db_strerror(ret));
		(void)db->close(db, 0);
		return (ret);
	}
	*dbp = db;
	return (0);
}

/*
 * No id cache: a cached sequence refuses a transaction handle, and every
 * get goes to the record, so ids rise in allocation order across
 * processes and a restart loses none.
 */
int
bdb_seq_open(
    DB *meta, DB_TXN *txn, const char *key, u_int32_t flags, DB_SEQUENCE **seqp)
{
	DB_SEQUENCE *seq;
	DBT k;
	int ret;

	*seqp = NULL;
	if ((ret = db_sequence_create(&seq, meta, 0)) != 0)
		return (ret);
	memset(&k, 0, sizeof(k));
	k.data = (void *)key;
	k.size = (u_int32_t)strlen(key);
	if ((ret = seq->initial_value(seq, 1)) != 0 ||
	    (ret = seq->set_range(seq, 1, INT64_MAX)) != 0 ||
	    (ret = seq->open(seq, txn, &k, flags)) != 0) {
		(void)seq->close(seq, 0);
		return (ret);
	}
	*seqp = seq;
	return (0);
}

int
bdb_seq_create(DB_ENV *env, DB *meta, const char *key, DB_SEQUENCE **seqp)
{
	DB_TXN *txn;
	int ret;

	*seqp = NULL;
	if ((ret = env->txn_begin(env, NULL, &txn, 0)) != 0)
		return (ret);
	if ((ret = bdb_seq_open(meta, txn, key, DB_CREATE, seqp)) != 0) {
		(void)txn->abort(txn);
		return (ret);
	}
	if ((ret = txn->commit(txn, 0)) != 0) {
		(void)(*seqp)->close(*seqp, 0);
		*seqp = NULL;
	}
	return (ret);
}

/* Sequence first, environment last, as Berkeley DB requires. */
int
bdb_close_all(DB_SEQUENCE **seqp, DB **datap, DB **metap, DB_ENV **envp)
{
	int ret = 0, t_ret;

	if (*seqp != NULL && (t_ret = (*seqp)->close(*seqp, 0)) != 0)
		ret = t_ret;
	if (*datap != NULL && (t_ret = (*datap)->close(*datap, 0)) != 0 &&
	    ret == 0)
		ret = t_ret;
	if (*metap != NULL && (t_ret = (*metap)->close(*metap, 0)) != 0 &&
	    ret == 0)
		ret = t_ret;
	if (*envp != NULL && (t_ret = (*envp)->close(*envp, 0)) != 0 &&
	    ret == 0)
		ret = t_ret;
	*seqp = NULL;
	*datap = *metap = NULL;
	*envp = NULL;
	return (ret);
}

int
bdb_txn_run(DB_ENV *env, int retries, const char *what, bdb_txn_fn fn,
    void *ctx, void *arg)
{
	DB_TXN *txn;
	int attempt, ret;

	bdb_detail_reset();
	for (attempt = 1;; attempt++) {
		if ((ret = env->txn_begin(env, NULL, &txn, 0)) != 0)
			break;
		if ((ret = fn(ctx, txn, arg)) == 0) {
			ret = txn->commit(txn, 0);
			break;
		}
		(void)txn->abort(txn);
		if ((ret != DB_LOCK_DEADLOCK && ret != DB_LOCK_NOTGRANTED) ||
		    attempt == retries)
			break;
		log_debug("%s: deadlock, retry %d", what, attempt);
	}
	return (ret);
}

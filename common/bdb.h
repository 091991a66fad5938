/*
 * bdb.h - the Berkeley DB 5.3 plumbing that todod's todo storage
 * (daemon/todo_db.c) and verifierd's user table (verifierd/users.c) share:
 * error detail for the one log line of a failure, environment and
 * database opening with private modes, the sequence of ids, and
 * transactions retried on deadlock.
 *
 * Each caller is one thread in its own process; the detail buffer is
 * per process.  Functions return Berkeley DB error numbers (0 on success)
 * and log nothing but deadlock retries, at debug level.
 */
#ifndef TODOD_BDB_H
#define TODOD_BDB_H

#include <stddef.h>

#include <db.h>

#define BDB_FILE_MODE 0600
#define BDB_DIR_MODE 0700

/* A transaction body: must start from scratch on every call. */
typedef int (*bdb_txn_fn)(void *ctx, DB_TXN *txn, void *arg);

/* Detail for the next bdb_why(): forget, add a note, or let DB add one. */
void bdb_detail_reset(void);
void bdb_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bdb_errcall(const DB_ENV *env, const char *pfx, const char *msg);

/* "db_strerror (detail)"; forgets the detail.  A static buffer. */
const char *bdb_why(int ret);

/* mkdir dir 0700 unless it exists; narrow it to 0700 if narrow is set. */
int bdb_mkdir(const char *dir, int narrow, char *err, size_t errlen);

/* A DB_ENV with bdb_errcall, deadlock detection, cache and 0600 logs. */
int bdb_env_new(DB_ENV **envp, u_int32_t cache_bytes);

/* Opens with every file 0600, then removes log files no longer needed. */
int bdb_env_open(DB_ENV *env, const char *dir, u_int32_t flags);

/* A B-tree in env, opened in its own transaction. */
int bdb_db_open(DB_ENV *env, DB **dbp, const char *file, u_int32_t flags);

/* The uncached sequence named key in meta, counting 1, 2, 3, ... */
int bdb_seq_open(DB *meta, DB_TXN *txn, const char *key, u_int32_t flags,
    DB_SEQUENCE **seqp);
/* The same, created if missing, in a transaction as DB_SEQUENCE needs. */
int bdb_seq_create(DB_ENV *env, DB *meta, const char *key, DB_SEQUENCE **seqp);

/* Closes, then clears, whatever is open; returns the first error. */
int bdb_close_all(DB_SEQUENCE **seqp, DB **datap, DB **metap, DB_ENV **envp);

/*
 * Runs fn(ctx, txn, arg) in a transaction and commits it, retrying up to
 * retries times in all when a lock cannot be had.  Forgets the detail
 * first; what ("tdb: create") starts the debug line of each retry.
 */
int bdb_txn_run(DB_ENV *env, int retries, const char *what, bdb_txn_fn fn,
    void *ctx, void *arg);

#endif

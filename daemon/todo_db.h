/*
 * todo_db.h - todo storage for todod: one Berkeley DB transactional
 * environment under --data-dir, shared by all workers.
 *
 * Who calls what:
 *   master:  tdb_prepare() at start, before any worker exists.  After
 *            reaping a dead worker, tdb_failchk(); if it returns 1 (or -1),
 *            SIGKILL and reap every worker, call tdb_prepare() again and
 *            respawn.  The master never holds a struct tdb, so no Berkeley
 *            DB handle crosses a fork, and it calls tdb_prepare() with the
 *            uid the workers run as, so that they can open the files.
 *   worker:  tdb_open() after fork, then the request functions, then
 *            tdb_close() on the way out.  One struct tdb per process, used
 *            by one thread.  tdb_checkpoint() from a timer (any worker;
 *            Berkeley DB serialises checkpoints).  When
 *            tdb_needs_recovery() turns true, exit: the master's failchk
 *            will say 1 and recover.
 *
 * Request functions never exit the process: a failure is logged once and
 * returned as TDB_ERROR.  TDB_NOTFOUND is not logged.  A struct todo
 * filled by a call owns its title; free it with tdb_todo_clear().  Output
 * structs are overwritten, not freed, on entry, and zeroed on failure.
 */
#ifndef TODOD_TODO_DB_H
#define TODOD_TODO_DB_H

#include <stddef.h>
#include <stdint.h>

/* Largest title stored; the HTTP body cap keeps requests well below it. */
#define TDB_TITLE_MAX (1024 * 1024)
#define TDB_DATE_LEN 10 /* "YYYY-MM-DD" */

struct tdb;

struct todo {
	uint64_t id;
	uint64_t user;
	char date[TDB_DATE_LEN + 1];
	char *title; /* malloc'd, NUL-terminated */
	size_t title_len;
};

enum tdb_status { TDB_OK = 0, TDB_NOTFOUND, TDB_ERROR };

/* Master: mkdir 0700, recovery, databases, sequence.  0 or -1 + err. */
int tdb_prepare(const char *dir, char *err, size_t errlen);

/* Worker, after fork: NULL + err on failure. */
struct tdb *tdb_open(const char *dir, char *err, size_t errlen);
void tdb_close(struct tdb *);

/*
 * Master, after reaping a dead worker: 0 usable, 1 recovery needed, -1 the
 * check could not run.  Blocks for at most about ten seconds.
 */
int tdb_failchk(const char *dir);

/* 0 or -1 (logged).  Log files no longer needed are removed. */
int tdb_checkpoint(struct tdb *);

/* True once Berkeley DB said DB_RUNRECOVERY on this handle. */
int tdb_needs_recovery(const struct tdb *);

/*
 * date is "YYYY-MM-DD" (shape checked here, calendar by the caller);
 * title is any bytes, up to TDB_TITLE_MAX.  In tdb_update a NULL title or
 * date keeps the stored one.  Another user's todo is TDB_NOTFOUND.
 */
enum tdb_status tdb_create(struct tdb *, uint64_t user, const char *title,
    size_t title_len, const char *date, struct todo *out);
enum tdb_status tdb_get(
    struct tdb *, uint64_t user, uint64_t id, struct todo *out);
enum tdb_status tdb_update(struct tdb *, uint64_t user, uint64_t id,
    const char *title, size_t title_len, const char *date, struct todo *out);
enum tdb_status tdb_delete(struct tdb *, uint64_t user, uint64_t id);

/*
 * The user's todos in ascending id order, skipping offset and returning
 * at most limit (UINT64_MAX for all); *total counts all of them.  Free
 * *out with tdb_list_free(*out, *n).
 */
enum tdb_status tdb_list(struct tdb *, uint64_t user, uint64_t offset,
    uint64_t limit, struct todo **out, size_t *n, uint64_t *total);

void tdb_todo_clear(struct todo *);
void tdb_list_free(struct todo *, size_t n);

#endif

/*
 * todo_db.c - todo storage on a Berkeley DB 5.3 transactional environment.
 *
 * Callers: the todod master (tdb_prepare at start, tdb_failchk after a
 * worker died), each worker after fork (tdb_open, the request functions,
 * tdb_checkpoint, tdb_close), and tests/unit/test_todo_db.c.  Plain C
 * values in, plain results out; nothing here knows about HTTP.
 *
 * Layout under the data directory (0700, every file 0600):
 *   todos.db  B-tree, key = BE64(user) || BE64(id), value = a v1 record:
 *             version byte, 10-byte date, BE32 title length, title bytes.
 *             Big-endian keys keep one user's todos contiguous and in
 *             ascending id order, and a todo is reachable only through
 *             the user that owns it.
 *   meta.db   B-tree holding the DB_SEQUENCE "todo_id" (1, 2, 3, ...).
 *
 * Invariants:
 *   - One DB_ENV per process, opened after fork and used by one thread
 *     (DB_REGISTER enforces the first part).  Every process sets the same
 *     thread-count/is-alive configuration so that DB_ENV->failchk works
 *     across processes.
 *   - Every data access runs in a transaction committed synchronously;
 *     DB_LOCK_DEADLOCK is retried TDB_RETRIES times, then reported.
 *   - A request function logs a failure once, here, and returns
 *     TDB_ERROR; it never exits the process.
 *   - tdb_failchk runs DB_ENV->failchk in a helper process with a
 *     deadline: joining an environment whose mutex a dead process holds
 *     blocks for ever (pthread mutexes), and the master must not.
 *   - Ids are never reused for a committed todo.  The sequence is advanced
 *     in its own no-sync transaction; the later synchronous commit of the
 *     todo flushes that log record too, so an id is durable before any
 *     client can see it.  Ids lost to aborted creates leave gaps.
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <db.h>
#include <endian.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bdb.h"
#include "log.h"
#include "mono.h"
#include "todo_db.h"

#define TDB_TODOS_FILE "todos.db"
#define TDB_META_FILE "meta.db"
#define TDB_SEQ_KEY "todo_id"
#define TDB_REGISTRY "__db.register"
#define TDB_RETRIES 16
#define TDB_THREADS 64 /* master + workers + respawns */
#define TDB_CACHE (8U * 1024 * 1024)
#define TDB_KEY_LEN 16
#define TDB_REC_V1 1
#define TDB_REC_HDR (1 + TDB_DATE_LEN + 4)
/*
 * failchk normally takes milliseconds; one that has not finished by now
 * is blocked on a mutex a dead process held, and every worker waits with
 * it, so recovery is the faster way back.
 */
#define TDB_FAILCHK_WAIT_MS 2000
/* List walks' bulk buffer: at least this, at most TDB_BULK_MAX. */
#define TDB_BULK_MIN (8 * 1024)
#define TDB_BULK_MAX (4 * 1024 * 1024)

#define TDB_ENV_FLAGS                                                          \
	(DB_INIT_TXN | DB_INIT_LOCK | DB_INIT_LOG | DB_INIT_MPOOL | DB_REGISTER)

struct tdb {
	DB_ENV *env;
	DB *todos;
	DB *meta;
	DB_SEQUENCE *seq;
	int broken; /* DB_RUNRECOVERY seen */
	void *bulk; /* list walks' DB_MULTIPLE_KEY buffer */
	size_t bulk_cap;
	size_t bulk_min; /* TDB_BULK_MIN, or the page size if larger */
};

struct tdb_put_arg {
	uint64_t user;
	uint64_t id; /* 0 until the sequence gave one */
	DBT rec;
};

struct tdb_get_arg {
	uint64_t user;
	uint64_t id;
	struct todo *out;
};

struct tdb_update_arg {
	uint64_t user;
	uint64_t id;
	const char *title;
	size_t title_len;
	const char *date;
	struct todo *out;
};

struct tdb_list_arg {
	uint64_t user;
	uint64_t offset;
	uint64_t limit;
	uint64_t total;
	struct todo *v;
	size_t n;
	size_t cap;
};

/* failchk reports the processes whose locks and transactions it freed. */
static void
tdb_msgcall(const DB_ENV *env, const char *msg)
{
	log_info("tdb: %s", msg);
}

/*
 * Linux keeps a dead child as a zombie until it is reaped, and kill(pid, 0)
 * succeeds on a zombie.  Its fcntl locks are gone already, so DB_REGISTER
 * sees it dead while kill() says alive; failchk would then keep its locks
 * forever.  Look at the state letter in /proc/PID/stat to close that gap.
 */
static int
tdb_pid_is_zombie(pid_t pid)
{
	char path[64], buf[512], *p;
	size_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if ((fp = fopen(path, "re")) == NULL)
		return (0);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return (0);
	return (p[2] == 'Z' || p[2] == 'X');
}

/*
 * Berkeley DB asks for the caller's id on every call and every mutex
 * operation: about 47 getpid() system calls per GET, 44% of a worker's
 * time in the benchmark.  The pid is taken once per environment handle,
 * which every process opens for itself after fork.
 */
static pid_t tdb_pid;

/* One thread per process: a process is alive iff its pid runs. */
static int
tdb_is_alive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
	if (pid == tdb_pid)
		return (1);
	if (kill(pid, 0) == -1 && errno == ESRCH)
		return (0);
	return (!tdb_pid_is_zombie(pid));
}

static void
tdb_thread_id(DB_ENV *env, pid_t *pid, db_threadid_t *tid)
{
	if (pid != NULL)
		*pid = tdb_pid;
	if (tid != NULL)
		*tid = pthread_self();
}

/* A DB_ENV handle configured identically in every process. */
static int
tdb_env_new(DB_ENV **envp)
{
	DB_ENV *env;
	int ret;

	tdb_pid = getpid();
	if ((ret = bdb_env_new(envp, TDB_CACHE)) != 0)
		return (ret);
	env = *envp;
	env->set_msgcall(env, tdb_msgcall);
	if ((ret = env->set_thread_count(env, TDB_THREADS)) != 0 ||
	    (ret = env->set_thread_id(env, tdb_thread_id)) != 0 ||
	    (ret = env->set_isalive(env, tdb_is_alive)) != 0) {
		(void)env->close(env, 0);
		*envp = NULL;
	}
	return (ret);
}

/*
 * With DB_REGISTER, DB_RECOVER is silently ignored unless the registry
 * shows a dead process, and when failchk-on-open fails Berkeley DB panics
 * the region and marks every slot empty: the next open would see a clean
 * registry and skip recovery.  A missing registry always means "recover",
 * so removing it makes the master's recovery unconditional.  Only the
 * master calls this, while no worker is running.
 */
static int
tdb_registry_reset(const char *dir, char *err, size_t errlen)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/%s", dir, TDB_REGISTRY) >=
	    (int)sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return (-1);
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "unlink %s: %s", path, strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * Master, at start and after tdb_failchk() returned 1 (once every worker
 * is reaped): recover the environment and create the databases.
 */
int
tdb_prepare(const char *dir, char *err, size_t errlen)
{
	struct tdb t;
	const char *what;
	u_int32_t flags;
	int ret;

	memset(&t, 0, sizeof(t));
	bdb_detail_reset();
	if (bdb_mkdir(dir, 1, err, errlen) == -1 ||
	    tdb_registry_reset(dir, err, errlen) == -1)
		return (-1);
	what = "db_env_create";
	if ((ret = tdb_env_new(&t.env)) != 0)
		goto fail;
	what = "recovery";
	flags = TDB_ENV_FLAGS | DB_CREATE | DB_RECOVER;
	if ((ret = bdb_env_open(t.env, dir, flags)) != 0)
		goto fail;
	what = "create databases";
	ret = bdb_db_open(t.env, &t.todos, TDB_TODOS_FILE, DB_CREATE);
	if (ret == 0)
		ret = bdb_db_open(t.env, &t.meta, TDB_META_FILE, DB_CREATE);
	if (ret != 0)
		goto fail;
	what = "create sequence";
	if ((ret = bdb_seq_create(t.env, t.meta, TDB_SEQ_KEY, &t.seq)) != 0)
		goto fail;
	what = "close";
	if ((ret = bdb_close_all(&t.seq, &t.todos, &t.meta, &t.env)) != 0)
		goto fail;
	return (0);
fail:
	snprintf(err, errlen, "%s: %s: %s", dir, what, bdb_why(ret));
	(void)bdb_close_all(&t.seq, &t.todos, &t.meta, &t.env);
	return (-1);
}

/*
 * Worker, after fork.  DB_FAILCHK: should this open find a dead process in
 * the registry (the master has not run failchk yet), clean up after it;
 * without the flag, Berkeley DB would panic the environment under every
 * live worker.  If that dead process still holds a mutex, this open blocks
 * like any other join, which is why the master runs tdb_failchk (and
 * recovery) before respawning, and should kill a worker that does not get
 * ready in time.
 */
struct tdb *
tdb_open(const char *dir, char *err, size_t errlen)
{
	struct tdb *t;
	const char *what;
	u_int32_t pagesize;
	int ret;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return (NULL);
	}
	bdb_detail_reset();
	what = "db_env_create";
	if ((ret = tdb_env_new(&t->env)) != 0)
		goto fail;
	what = "open environment";
	if ((ret = bdb_env_open(t->env, dir, TDB_ENV_FLAGS | DB_FAILCHK)) != 0)
		goto fail;
	what = "open databases";
	if ((ret = bdb_db_open(t->env, &t->todos, TDB_TODOS_FILE, 0)) != 0 ||
	    (ret = bdb_db_open(t->env, &t->meta, TDB_META_FILE, 0)) != 0)
		goto fail;
	what = "open sequence";
	if ((ret = bdb_seq_open(t->meta, NULL, TDB_SEQ_KEY, 0, &t->seq)) != 0)
		goto fail;
	what = "page size";
	if ((ret = t->todos->get_pagesize(t->todos, &pagesize)) != 0)
		goto fail;
	t->bulk_min = pagesize > TDB_BULK_MIN ? pagesize : TDB_BULK_MIN;
	return (t);
fail:
	snprintf(err, errlen, "%s: %s: %s", dir, what, bdb_why(ret));
	(void)bdb_close_all(&t->seq, &t->todos, &t->meta, &t->env);
	free(t);
	return (NULL);
}

void
tdb_close(struct tdb *t)
{
	int ret;

	if (t == NULL)
		return;
	if ((ret = bdb_close_all(&t->seq, &t->todos, &t->meta, &t->env)) != 0)
		log_warnx("tdb: close: %s", bdb_why(ret));
	free(t->bulk);
	free(t);
}

/*
 * The failchk proper, run in a helper process: 0 usable, 1 needs recovery,
 * 2 any other error.
 */
static int
tdb_failchk_run(const char *dir)
{
	DB_ENV *env;
	const char *what;
	int ret;

	bdb_detail_reset();
	what = "db_env_create";
	if ((ret = tdb_env_new(&env)) != 0)
		goto out;
	what = "open environment";
	if ((ret = bdb_env_open(env, dir, TDB_ENV_FLAGS | DB_FAILCHK)) != 0)
		goto out;
	what = "failchk";
	ret = env->failchk(env, 0);
out:
	if (ret != 0)
		log_warnx("tdb: %s: %s: %s", dir, what, bdb_why(ret));
	if (env != NULL)
		(void)env->close(env, 0);
	if (ret == 0)
		return (0);
	return (ret == DB_RUNRECOVERY ? 1 : 2);
}

/* Reaps pid within ms milliseconds: 0 reaped, 1 still running, -1 error. */
static int
tdb_reap_within(pid_t pid, int ms, int *status)
{
	struct timespec tick = {0, 10 * 1000 * 1000};
	uint64_t deadline = mono_us() + (uint64_t)ms * 1000;
	pid_t r;

	for (;;) {
		if ((r = waitpid(pid, status, WNOHANG)) == pid)
			return (0);
		if (r == -1 && errno != EINTR)
			return (-1);
		if (mono_us() >= deadline)
			return (1);
		nanosleep(&tick, NULL);
	}
}

static void
tdb_kill_reap(pid_t pid)
{
	(void)kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
		;
}

/*
 * Master, after reaping a dead worker.  Returns 0 when the environment is
 * usable, 1 when it needs recovery (kill and reap every worker, call
 * tdb_prepare(), respawn), -1 when the check could not run.
 *
 * Debian's Berkeley DB uses process-shared pthread mutexes.  A worker
 * killed while holding one (SIGKILL lands inside the library more often
 * than not: a commit spends its time in fsync) leaves it locked for ever,
 * and joining the environment waits on it before failchk can say anything.
 * So the check runs in a helper process that is killed after
 * TDB_FAILCHK_WAIT_MS; a helper that hangs or dies means "recover".  The
 * helper is reaped here by pid: the caller must not reap children behind
 * our back (signal handlers only set flags).  The helper also has its own
 * pid, so DB_REGISTER's one-handle-per-process rule does not bind the
 * caller.
 */
int
tdb_failchk(const char *dir)
{
	int status;
	pid_t pid;

	if ((pid = fork()) == -1) {
		log_warn("tdb: failchk: fork");
		return (-1);
	}
	if (pid == 0)
		_exit(tdb_failchk_run(dir));
	switch (tdb_reap_within(pid, TDB_FAILCHK_WAIT_MS, &status)) {
	case 0:
		break;
	case 1:
		log_warnx("tdb: %s: failchk hung on a dead mutex holder", dir);
		tdb_kill_reap(pid);
		return (1);
	default:
		log_warn("tdb: failchk: waitpid");
		tdb_kill_reap(pid);
		return (-1);
	}
	if (!WIFEXITED(status)) {
		log_warnx(
		    "tdb: %s: failchk helper died, status %d", dir, status);
		return (1);
	}
	if (WEXITSTATUS(status) > 1)
		return (-1);
	return (WEXITSTATUS(status));
}

int
tdb_checkpoint(struct tdb *t)
{
	int ret;

	bdb_detail_reset();
	if ((ret = t->env->txn_checkpoint(t->env, 0, 0, 0)) == 0)
		return (0);
	if (ret == DB_RUNRECOVERY)
		t->broken = 1;
	log_warnx("tdb: checkpoint: %s", bdb_why(ret));
	return (-1);
}

int
tdb_needs_recovery(const struct tdb *t)
{
	return (t->broken);
}

static uint64_t
tdb_be64_get(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return (be64toh(v));
}

/* key must be TDB_KEY_LEN bytes; dbt points at it. */
static void
tdb_key_make(DBT *dbt, unsigned char *key, uint64_t user, uint64_t id)
{
	uint64_t be[2] = {htobe64(user), htobe64(id)};

	memcpy(key, be, TDB_KEY_LEN);
	memset(dbt, 0, sizeof(*dbt));
	dbt->data = key;
	dbt->size = dbt->ulen = TDB_KEY_LEN;
	dbt->flags = DB_DBT_USERMEM;
}

static int
tdb_date_ok(const char *date)
{
	int i;

	for (i = 0; i < TDB_DATE_LEN; i++) {
		if (i == 4 || i == 7) {
			if (date[i] != '-')
				return (0);
		} else if (date[i] < '0' || date[i] > '9')
			return (0);
	}
	return (date[TDB_DATE_LEN] == '\0');
}

static int
tdb_rec_encode(DBT *rec, const char *date, const char *title, size_t len)
{
	uint32_t be = htobe32((uint32_t)len);
	unsigned char *p;

	memset(rec, 0, sizeof(*rec));
	if ((p = malloc(TDB_REC_HDR + len)) == NULL)
		return (ENOMEM);
	p[0] = TDB_REC_V1;
	memcpy(p + 1, date, TDB_DATE_LEN);
	memcpy(p + 1 + TDB_DATE_LEN, &be, sizeof(be));
	if (len > 0)
		memcpy(p + TDB_REC_HDR, title, len);
	rec->data = p;
	rec->size = TDB_REC_HDR + len;
	return (0);
}

/* Fills out from plain values; out->title is a NUL-terminated copy. */
static int
tdb_todo_fill(struct todo *out, uint64_t user, uint64_t id, const char *date,
    const char *title, size_t len)
{
	memset(out, 0, sizeof(*out));
	if ((out->title = malloc(len + 1)) == NULL)
		return (ENOMEM);
	if (len > 0)
		memcpy(out->title, title, len);
	out->title[len] = '\0';
	out->title_len = len;
	out->id = id;
	out->user = user;
	memcpy(out->date, date, TDB_DATE_LEN);
	out->date[TDB_DATE_LEN] = '\0';
	return (0);
}

static int
tdb_rec_decode(const DBT *rec, uint64_t user, uint64_t id, struct todo *out)
{
	const unsigned char *p = rec->data;
	char date[TDB_DATE_LEN + 1];
	uint32_t be;
	size_t len;

	if (rec->size < TDB_REC_HDR || p[0] != TDB_REC_V1)
		goto bad;
	memcpy(&be, p + 1 + TDB_DATE_LEN, sizeof(be));
	len = be32toh(be);
	if (len != rec->size - TDB_REC_HDR)
		goto bad;
	memcpy(date, p + 1, TDB_DATE_LEN);
	date[TDB_DATE_LEN] = '\0';
	if (!tdb_date_ok(date))
		goto bad;
	return (tdb_todo_fill(
	    out, user, id, date, (const char *)p + TDB_REC_HDR, len));
bad:
	bdb_note("malformed record (%u bytes)", (unsigned)rec->size);
	return (EINVAL);
}

/* Runs fn(t, txn, arg) in a transaction; remembers DB_RUNRECOVERY. */
static int
tdb_txn_run(struct tdb *t, const char *what, bdb_txn_fn fn, void *arg)
{
	int ret;

	ret = bdb_txn_run(t->env, TDB_RETRIES, what, fn, t, arg);
	if (ret == DB_RUNRECOVERY)
		t->broken = 1;
	return (ret);
}

/* Maps a Berkeley DB result to a status, logging real failures once. */
static enum tdb_status
tdb_status_of(int ret, const char *what, uint64_t user, uint64_t id)
{
	if (ret == 0)
		return (TDB_OK);
	if (ret == DB_NOTFOUND)
		return (TDB_NOTFOUND);
	log_warnx("tdb: %s user=%llu id=%llu: %s", what,
	    (unsigned long long)user, (unsigned long long)id, bdb_why(ret));
	return (TDB_ERROR);
}

static int
tdb_args_ok(const char *title, size_t title_len, const char *date)
{
	if (title == NULL && title_len != 0)
		return (0);
	if (title_len > TDB_TITLE_MAX) {
		bdb_note("title of %zu bytes", title_len);
		return (0);
	}
	if (date != NULL && !tdb_date_ok(date)) {
		bdb_note("date is not YYYY-MM-DD");
		return (0);
	}
	return (1);
}

/*
 * The id comes from its own short transaction on the sequence record, so
 * that ids rise in allocation order across all workers.  Not from txn,
 * which would hold the record locked across an fsync and serialise every
 * create.
 */
static int
tdb_create_txn(void *ctx, DB_TXN *txn, void *arg)
{
	struct tdb *t = ctx;
	struct tdb_put_arg *a = arg;
	unsigned char kbuf[TDB_KEY_LEN];
	db_seq_t v;
	DBT key;
	int ret;

	if (a->id == 0) {
		ret = t->seq->get(t->seq, NULL, 1, &v, DB_TXN_NOSYNC);
		if (ret != 0)
			return (ret);
		a->id = (uint64_t)v;
	}
	tdb_key_make(&key, kbuf, a->user, a->id);
	return (t->todos->put(t->todos, txn, &key, &a->rec, DB_NOOVERWRITE));
}

/* The record to store and the copy to return, made before the txn. */
static int
tdb_create_prepare(struct tdb_put_arg *a, const char *title, size_t len,
    const char *date, struct todo *out)
{
	int ret;

	if ((ret = tdb_todo_fill(out, a->user, 0, date, title, len)) != 0)
		return (ret);
	return (tdb_rec_encode(&a->rec, date, title, len));
}

enum tdb_status
tdb_create(struct tdb *t, uint64_t user, const char *title, size_t title_len,
    const char *date, struct todo *out)
{
	struct tdb_put_arg a;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(&a, 0, sizeof(a));
	a.user = user;
	bdb_detail_reset();
	if (title == NULL || date == NULL) {
		bdb_note("title and date are required");
		ret = EINVAL;
	} else if (!tdb_args_ok(title, title_len, date))
		ret = EINVAL;
	else
		ret = tdb_create_prepare(&a, title, title_len, date, out);
	if (ret == 0)
		ret = tdb_txn_run(t, "tdb: create", tdb_create_txn, &a);
	free(a.rec.data);
	if (ret == 0)
		out->id = a.id;
	else
		tdb_todo_clear(out);
	return (tdb_status_of(ret, "create", user, a.id));
}

static int
tdb_get_txn(void *ctx, DB_TXN *txn, void *arg)
{
	struct tdb *t = ctx;
	struct tdb_get_arg *a = arg;
	unsigned char kbuf[TDB_KEY_LEN];
	DBT key, data;
	int ret;

	tdb_todo_clear(a->out);
	tdb_key_make(&key, kbuf, a->user, a->id);
	memset(&data, 0, sizeof(data));
	data.flags = DB_DBT_MALLOC;
	if ((ret = t->todos->get(t->todos, txn, &key, &data, 0)) == 0)
		ret = tdb_rec_decode(&data, a->user, a->id, a->out);
	free(data.data);
	return (ret);
}

enum tdb_status
tdb_get(struct tdb *t, uint64_t user, uint64_t id, struct todo *out)
{
	struct tdb_get_arg a;
	int ret;

	memset(out, 0, sizeof(*out));
	a.user = user;
	a.id = id;
	a.out = out;
	if ((ret = tdb_txn_run(t, "tdb: get", tdb_get_txn, &a)) != 0)
		tdb_todo_clear(out);
	return (tdb_status_of(ret, "get", user, id));
}

/* Read-modify-write under a write lock taken by the read (DB_RMW). */
static int
tdb_update_txn(void *ctx, DB_TXN *txn, void *arg)
{
	struct tdb *t = ctx;
	struct tdb_update_arg *a = arg;
	unsigned char kbuf[TDB_KEY_LEN];
	struct todo cur;
	const char *title, *date;
	size_t len;
	DBT key, data, rec;
	int ret;

	tdb_todo_clear(a->out);
	memset(&cur, 0, sizeof(cur));
	memset(&rec, 0, sizeof(rec));
	memset(&data, 0, sizeof(data));
	data.flags = DB_DBT_MALLOC;
	tdb_key_make(&key, kbuf, a->user, a->id);
	if ((ret = t->todos->get(t->todos, txn, &key, &data, DB_RMW)) != 0 ||
	    (ret = tdb_rec_decode(&data, a->user, a->id, &cur)) != 0)
		goto out;
	title = a->title != NULL ? a->title : cur.title;
	len = a->title != NULL ? a->title_len : cur.title_len;
	date = a->date != NULL ? a->date : cur.date;
	if ((ret = tdb_rec_encode(&rec, date, title, len)) != 0 ||
	    (ret = t->todos->put(t->todos, txn, &key, &rec, 0)) != 0)
		goto out;
	ret = tdb_todo_fill(a->out, a->user, a->id, date, title, len);
out:
	free(data.data);
	free(rec.data);
	tdb_todo_clear(&cur);
	return (ret);
}

enum tdb_status
tdb_update(struct tdb *t, uint64_t user, uint64_t id, const char *title,
    size_t title_len, const char *date, struct todo *out)
{
	struct tdb_update_arg a;
	int ret;

	memset(out, 0, sizeof(*out));
	a.user = user;
	a.id = id;
	a.title = title;
	a.title_len = title_len;
	a.date = date;
	a.out = out;
	bdb_detail_reset();
	if (!tdb_args_ok(title, title != NULL ? title_len : 0, date))
		ret = EINVAL;
	else
		ret = tdb_txn_run(t, "tdb: update", tdb_update_txn, &a);
	if (ret != 0)
		tdb_todo_clear(out);
	return (tdb_status_of(ret, "update", user, id));
}

static int
tdb_delete_txn(void *ctx, DB_TXN *txn, void *arg)
{
	struct tdb *t = ctx;
	const uint64_t *ui = arg;
	unsigned char kbuf[TDB_KEY_LEN];
	DBT key;

	tdb_key_make(&key, kbuf, ui[0], ui[1]);
	return (t->todos->del(t->todos, txn, &key, 0));
}

enum tdb_status
tdb_delete(struct tdb *t, uint64_t user, uint64_t id)
{
	uint64_t ui[2] = {user, id};
	int ret;

	ret = tdb_txn_run(t, "tdb: delete", tdb_delete_txn, ui);
	return (tdb_status_of(ret, "delete", user, id));
}

static void
tdb_list_reset(struct tdb_list_arg *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		tdb_todo_clear(&a->v[i]);
	a->n = 0;
	a->total = 0;
}

/* Appends the record just read in full. */
static int
tdb_list_take(struct tdb_list_arg *a, const DBT *key, const DBT *data)
{
	struct todo *nv;
	size_t ncap;
	int ret;

	if (a->n == a->cap) {
		ncap = a->cap == 0 ? 16 : a->cap * 2;
		if ((nv = reallocarray(a->v, ncap, sizeof(*nv))) == NULL)
			return (ENOMEM);
		a->v = nv;
		a->cap = ncap;
	}
	ret = tdb_rec_decode(data, a->user,
	    tdb_be64_get((unsigned char *)key->data + 8), &a->v[a->n]);
	if (ret == 0)
		a->n++;
	return (ret);
}

static int
tdb_list_wanted(const struct tdb_list_arg *a)
{
	return (a->total >= a->offset && a->total - a->offset < a->limit);
}

/*
 * A bulk read fills its buffer from the cursor on, past the end of the
 * user's range (other users' records are copied and ignored), so the
 * buffer is kept small: that overshoot is bounded by bulk_min, 8 KiB or
 * the database's page size if that is larger (Berkeley DB refuses a bulk
 * buffer smaller than a page; it picks pages of up to 64 KiB from the
 * file system).  A record too big for it (titles go up to 64 KiB) gets a
 * buffer of the size Berkeley DB asks for, for that call only.
 */
/* Makes the bulk buffer at least want bytes; DBT set up for the call. */
static int
tdb_bulk_dbt(struct tdb *t, size_t want, DBT *d)
{
	void *nb;

	want = (want + 1023) & ~(size_t)1023;
	if (want < t->bulk_min)
		want = t->bulk_min;
	if (want > TDB_BULK_MAX)
		return (ENOMEM);
	if (want > t->bulk_cap) {
		if ((nb = malloc(want)) == NULL)
			return (ENOMEM);
		free(t->bulk);
		t->bulk = nb;
		t->bulk_cap = want;
	}
	memset(d, 0, sizeof(*d));
	d->data = t->bulk;
	d->ulen = (u_int32_t)want;
	d->flags = DB_DBT_USERMEM;
	return (0);
}

/*
 * One bulk cursor call: DB_SET_RANGE (first) or DB_NEXT, DB_MULTIPLE_KEY,
 * into the bulk buffer, growing it when one record does not fit.
 */
static int
tdb_bulk_get(struct tdb *t, DBC *c, DBT *key, DBT *data, u_int32_t op)
{
	size_t want = t->bulk_min;
	int ret;

	for (;;) {
		if ((ret = tdb_bulk_dbt(t, want, data)) != 0)
			return (ret);
		ret = c->get(c, key, data, op | DB_MULTIPLE_KEY);
		if (ret != DB_BUFFER_SMALL || data->size <= want)
			return (ret);
		want = data->size;
	}
}

/*
 * Walks the user's key range once, in bulk: counts every todo and decodes
 * only those inside [offset, offset + limit).  Each cursor call returns as
 * many records as fit in the buffer, so a short list costs one call.
 */
static int
tdb_list_txn(void *ctx, DB_TXN *txn, void *arg)
{
	struct tdb *t = ctx;
	struct tdb_list_arg *a = arg;
	unsigned char kbuf[TDB_KEY_LEN];
	DBT key, data, k, d;
	DBC *c;
	void *p, *kp, *dp;
	u_int32_t op = DB_SET_RANGE, klen, dlen;
	int ret, t_ret, done = 0;

	tdb_list_reset(a);
	tdb_key_make(&key, kbuf, a->user, 0);
	if ((ret = t->todos->cursor(t->todos, txn, &c, 0)) != 0)
		return (ret);
	while (!done && (ret = tdb_bulk_get(t, c, &key, &data, op)) == 0) {
		op = DB_NEXT;
		DB_MULTIPLE_INIT(p, &data);
		for (;;) {
			DB_MULTIPLE_KEY_NEXT(p, &data, kp, klen, dp, dlen);
			if (p == NULL)
				break;
			if (klen != TDB_KEY_LEN || tdb_be64_get(kp) != a->user) {
				done = 1;
				break;
			}
			if (tdb_list_wanted(a)) {
				memset(&k, 0, sizeof(k));
				k.data = kp;
				k.size = klen;
				memset(&d, 0, sizeof(d));
				d.data = dp;
				d.size = dlen;
				if ((ret = tdb_list_take(a, &k, &d)) != 0)
					goto out;
			}
			a->total++;
		}
	}
	if (ret == DB_NOTFOUND)
		ret = 0;
out:
	if ((t_ret = c->close(c)) != 0 && ret == 0)
		ret = t_ret;
	return (ret);
}

enum tdb_status
tdb_list(struct tdb *t, uint64_t user, uint64_t offset, uint64_t limit,
    struct todo **out, size_t *n, uint64_t *total)
{
	struct tdb_list_arg a;
	int ret;

	memset(&a, 0, sizeof(a));
	a.user = user;
	a.offset = offset;
	a.limit = limit;
	*out = NULL;
	*n = 0;
	*total = 0;
	if ((ret = tdb_txn_run(t, "tdb: list", tdb_list_txn, &a)) != 0) {
		tdb_list_free(a.v, a.n);
		return (tdb_status_of(ret, "list", user, 0));
	}
	*out = a.v;
	*n = a.n;
	*total = a.total;
	return (TDB_OK);
}

void
tdb_todo_clear(struct todo *td)
{
	free(td->title);
	memset(td, 0, sizeof(*td));
}

void
tdb_list_free(struct todo *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		tdb_todo_clear(&v[i]);
	free(v);
}

/*
 * todod.c - the master: configuration, listening sockets, database
 * recovery, and the workers' lives.  It never parses HTTP or tokens.
 *
 * Start-up: configuration -> bind (or take LISTEN_FDS) -> drop privileges
 * -> recover the database once -> fork the workers -> READY=1 when every
 * worker is serving.  A dead worker has its locks and transactions
 * cleaned by failchk and is respawned, later each time it dies young;
 * when failchk says the environment needs recovery, every worker is
 * stopped, recovery runs, and all are started again.  SIGTERM: workers
 * drain and exit, then the master exits 0.  SIGHUP: a new configuration
 * is built and checked; if good, a new set of workers is started on the
 * same sockets and the old set drains, so no connection is refused.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "mono.h"
#include "notify.h"
#include "privdrop.h"
#include "todo_db.h"
#include "worker.h"

#define VERSION			"0.1.0"
#define MAX_WORKERS		256
#define MAX_LISTEN		16
#define RESPAWN_MAX_DELAY	30
#define STOP_GRACE		15
#define START_GRACE		30

static const struct conf_opt todod_opts[] = {
	{ "listen", 'l', CONF_LIST, 0, 0, "127.0.0.1:8000", NULL, 0,
	  "ADDR:PORT", "address to serve HTTP on (repeatable; [v6]:port)" },
	{ "workers", 'w', CONF_INT, 0, MAX_WORKERS, "0", NULL, 0, "N",
	  "worker processes (0: one per CPU)" },
	{ "data-dir", 0, CONF_STR, 0, 0, "/var/lib/todod", NULL, 0, "DIR",
	  "Berkeley DB environment holding the todos" },
	{ "verifier", 0, CONF_STR, 0, 0, "/run/todo-verifierd/verifier.sock",
	  NULL, 0, "PATH", "verifierd's socket" },
	{ "user", 'u', CONF_STR, 0, 0, NULL, NULL, 0, "USER",
	  "drop privileges to USER when started as root" },
	{ "max-body", 0, CONF_INT, 1024, 16 << 20, "65536", NULL, 0, "BYTES",
	  "largest request body (larger: 413)" },
	{ "max-headers", 0, CONF_INT, 1024, 1 << 20, "8192", NULL, 0, "BYTES",
	  "largest request line and headers" },
	{ "max-conns", 0, CONF_INT, 8, 1000000, "1024", NULL, 0, "N",
	  "connections per worker; beyond it the least recently active "
	  "idle one is closed" },
	{ "header-timeout", 0, CONF_INT, 1, 3600, "10", NULL, 0, "SECONDS",
	  "time for a request to arrive, and keep-alive idle time" },
	{ "verify-timeout", 0, CONF_INT, 1, 60, "5", NULL, 0, "SECONDS",
	  "deadline for verifierd's answer (then 503)" },
	{ "checkpoint-interval", 0, CONF_INT, 0, 86400, "60", NULL, 0,
	  "SECONDS", "database checkpoint period (0: never)" },
	{ "auth-cache-ttl", 0, CONF_INT, 0, 3600, "60", NULL, 0, "SECONDS",
	  "how long a worker reuses verifierd's acceptance of a token "
	  "(0: ask every time); verifierd's FLUSH clears it" },
	{ "auth-cache-size", 0, CONF_INT, 64, 1 << 24, "16384", NULL, 0, "N",
	  "accepted tokens remembered per worker" },
	{ "admin-listen", 0, CONF_STR, 0, 0, NULL, NULL, 0, "ADDR:PORT",
	  "serve Prometheus /metrics here (off unless set)" },
	{ "access-log", 0, CONF_BOOL, 0, 0, "no", NULL, 0, NULL,
	  "log one line per request (never the token)" },
	{ "debug", 'd', CONF_BOOL, 0, 0, "no", NULL, 0, NULL,
	  "log debug messages" },
};

static const struct conf_spec todod_spec = {
	todod_opts, sizeof(todod_opts) / sizeof(todod_opts[0]), 0, "todod",
	"[OPTION]...", "todod " VERSION,
};

struct wproc {
	pid_t		 pid;		/* 0: slot empty */
	unsigned	 gen;
	size_t		 rank;		/* 0..N-1 within its generation */
	time_t		 started;
	int		 ready_fd;
	struct event	*ready_ev;
	int		 ready;
};

struct master {
	int		 argc;
	char		**argv;
	struct conf	*conf;
	struct worker_conf wc;
	int		 fds[MAX_WORKERS][MAX_LISTEN];	/* by set */
	size_t		 nfds;		/* sockets in a set */
	size_t		 nsets;		/* 1: shared (LISTEN_FDS), or N */
	int		 nworkers;
	unsigned	 gen;
	struct wproc	 procs[2 * MAX_WORKERS];
	struct event_base *base;
	struct event	*respawn_ev;
	long		 respawn_delay;
	int		 stopping;
	time_t		 stop_deadline;
	int		 announced;
};

static struct conf *
load_config(int argc, char **argv, int start)
{
	enum conf_status st;
	struct conf *c;
	char err[512];

	c = conf_load(&todod_spec, argc, argv, &st, err, sizeof(err));
	if (c != NULL || !start) {
		if (c == NULL)
			log_warnx("reload: %s; keeping the running "
			    "configuration", err);
		return c;
	}
	if (st == CONF_HELP) {
		conf_usage(&todod_spec, stdout);
		exit(0);
	}
	if (st == CONF_VERSION) {
		printf("%s\n", todod_spec.version);
		exit(0);
	}
	fprintf(stderr, "todod: %s\n", err);
	if (st == CONF_EUSAGE)
		fprintf(stderr, "Try 'todod --help'.\n");
	exit(st == CONF_EUSAGE ? CONF_EXIT_USAGE : CONF_EXIT_CONFIG);
}

static void
fill_worker_conf(struct master *m)
{
	const struct conf *c = m->conf;
	long n = conf_int(c, "workers");

	if (n == 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	m->nworkers = n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : n;
	m->wc.data_dir = conf_str(c, "data-dir");
	m->wc.verifier = conf_str(c, "verifier");
	m->wc.max_body = conf_int(c, "max-body");
	m->wc.max_headers = conf_int(c, "max-headers");
	m->wc.max_conns = conf_int(c, "max-conns");
	m->wc.header_timeout = conf_int(c, "header-timeout");
	m->wc.verify_timeout_ms = conf_int(c, "verify-timeout") * 1000;
	m->wc.checkpoint_interval = conf_int(c, "checkpoint-interval");
	m->wc.access_log = conf_bool(c, "access-log");
	m->wc.auth_cache_ttl = conf_int(c, "auth-cache-ttl");
	m->wc.auth_cache_size = conf_int(c, "auth-cache-size");
}

/* Splits "ADDR:PORT" or "[V6]:PORT"; 0 or -1. */
static int
split_hostport(const char *s, char *host, size_t hlen, char *port,
    size_t plen)
{
	const char *colon;
	size_t n;

	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return -1;
		n = colon - s - 1;
		s++;
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		n = colon - s;
	}
	if (n == 0 || n >= hlen || strlen(colon + 1) == 0 ||
	    strlen(colon + 1) >= plen)
		return -1;
	memcpy(host, s, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static void
log_bound(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, len, host, sizeof(host), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		log_info("listening addr=%s port=%s", host, port);
}

static struct addrinfo *
resolve(const char *spec)
{
	struct addrinfo hints, *res = NULL;
	char host[256], port[16];
	int rc;

	if (split_hostport(spec, host, sizeof(host), port, sizeof(port)) ==
	    -1) {
		fprintf(stderr, "todod: not ADDR:PORT: %s\n", spec);
		exit(CONF_EXIT_CONFIG);
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "todod: %s: %s\n", spec, gai_strerror(rc));
		exit(CONF_EXIT_CONFIG);
	}
	return res;
}

static int
listen_on(const struct sockaddr *sa, socklen_t len, int reuseport,
    const char *spec)
{
	int fd, on = 1;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on,
	    sizeof(on)) == -1) ||
	    bind(fd, sa, len) == -1 || listen(fd, 1024) == -1)
		fatal("cannot listen on %s", spec);
	return fd;
}

static int
bind_one(const char *spec)
{
	struct addrinfo *res = resolve(spec);
	int fd;

	fd = listen_on(res->ai_addr, res->ai_addrlen, 0, spec);
	freeaddrinfo(res);
	log_bound(fd);
	return fd;
}

/*
 * One SO_REUSEPORT socket per worker for spec: the kernel spreads new
 * connections evenly, where one shared socket lets whichever worker
 * wakes first take them all.  Port 0 is resolved by the first bind.
 */
static void
bind_spread(struct master *m, size_t k, const char *spec)
{
	struct addrinfo *res = resolve(spec);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	size_t i;

	m->fds[0][k] = listen_on(res->ai_addr, res->ai_addrlen, 1, spec);
	freeaddrinfo(res);
	if (getsockname(m->fds[0][k], (struct sockaddr *)&ss, &len) == -1)
		fatal("getsockname");
	for (i = 1; i < m->nsets; i++)
		m->fds[i][k] = listen_on((struct sockaddr *)&ss, len, 1, spec);
	log_bound(m->fds[0][k]);
}

/* The n-th name of LISTEN_FDNAMES ("a:b:c"), or "" if it has none. */
static void
fd_name(const char *names, long n, char *out, size_t len)
{
	const char *p = names, *end;

	out[0] = '\0';
	for (; p != NULL && n > 0; n--)
		if ((p = strchr(p, ':')) != NULL)
			p++;
	if (p == NULL)
		return;
	end = strchr(p, ':');
	snprintf(out, len, "%.*s", (int)(end != NULL ? end - p : (long)strlen(p)),
	    p);
}

/*
 * systemd socket activation: fds 3.. when LISTEN_PID is ours.  The one
 * named "admin" in LISTEN_FDNAMES serves /metrics; the others the API.
 */
static size_t
take_listen_fds(int *fds, int *admin_fd)
{
	const char *pid = getenv("LISTEN_PID"), *n = getenv("LISTEN_FDS");
	const char *names = getenv("LISTEN_FDNAMES");
	char name[64];
	long k, i;
	size_t napi = 0;

	if (pid == NULL || n == NULL || atol(pid) != (long)getpid())
		return 0;
	k = atol(n);
	if (k < 1 || k > MAX_LISTEN)
		fatalx("LISTEN_FDS=%s: want 1..%d", n, MAX_LISTEN);
	for (i = 0; i < k; i++) {
		fcntl(3 + i, F_SETFL, fcntl(3 + i, F_GETFL) | O_NONBLOCK);
		fcntl(3 + i, F_SETFD, FD_CLOEXEC);
		fd_name(names, i, name, sizeof(name));
		if (strcmp(name, "admin") == 0 && *admin_fd == -1) {
			*admin_fd = 3 + i;
			continue;
		}
		fds[napi++] = 3 + i;
		log_bound(3 + i);
	}
	if (napi == 0)
		fatalx("LISTEN_FDS=%s: no socket for the API", n);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return napi;
}

static void
bind_all(struct master *m)
{
	const char *const *specs;
	size_t i, n;

	if ((m->nfds = take_listen_fds(m->fds[0], &m->wc.admin_fd)) > 0) {
		m->nsets = 1;
		return;
	}
	n = conf_list(m->conf, "listen", &specs);
	if (n > MAX_LISTEN) {
		fprintf(stderr, "todod: at most %d --listen\n", MAX_LISTEN);
		exit(CONF_EXIT_CONFIG);
	}
	m->nsets = m->nworkers;
	for (i = 0; i < n; i++)
		bind_spread(m, i, specs[i]);
	m->nfds = n;
}

/* --admin-listen, unless systemd passed a socket named "admin". */
static void
bind_admin(struct master *m)
{
	const char *spec = conf_str(m->conf, "admin-listen");

	if (m->wc.admin_fd == -1 && spec != NULL)
		m->wc.admin_fd = bind_one(spec);
}

static void
drop_privileges(struct master *m)
{
	const char *user = conf_str(m->conf, "user");
	char err[256];
	uid_t uid;
	gid_t gid;

	if (geteuid() != 0 || user == NULL) {
		if (geteuid() == 0)
			log_warnx("running as root; use --user");
		privdrop_no_new_privs();
		return;
	}
	if (privdrop_lookup(user, &uid, &gid, err, sizeof(err)) == -1) {
		fprintf(stderr, "todod: --user: %s\n", err);
		exit(CONF_EXIT_CONFIG);
	}
	privdrop_to(user, uid, gid);
}

static void	ready_cb(evutil_socket_t, short, void *);

/*
 * One todod per data directory: a second master's recovery would pull
 * the environment from under the first one's workers.  The lock is held
 * for the master's life (workers inherit it harmlessly).
 */
static void
lock_data_dir(const char *dir)
{
	char path[4096];
	int fd;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		fatal("cannot create data directory %s", dir);
	if (snprintf(path, sizeof(path), "%s/todod.lock", dir) >=
	    (int)sizeof(path))
		fatalx("data directory path too long");
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		fatal("cannot open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			fatalx("another todod is using %s", dir);
		fatal("cannot lock %s", path);
	}
}

/*
 * In a new worker: let go of the master's event loop (its signal handlers
 * would otherwise report the worker's signals to the master), of the
 * other workers' listening sockets and of their readiness pipes.
 */
static void
child_forget_master(struct master *m, size_t set)
{
	size_t i, k;

	for (i = 0; i < m->nsets; i++)
		for (k = 0; k < m->nfds && i != set; k++)
			close(m->fds[i][k]);
	/*
	 * The epoll instance is shared with the master: reinit gives the
	 * child its own first, or freeing the base would delete the
	 * master's events from the master's epoll set.
	 */
	if (event_reinit(m->base) == 0)
		event_base_free(m->base);
	m->base = NULL;
	for (i = 0; i < 2 * MAX_WORKERS; i++)
		if (m->procs[i].pid != 0 && m->procs[i].ready_fd > 0)
			close(m->procs[i].ready_fd);
}

static void
spawn(struct master *m, struct wproc *p, size_t rank)
{
	int pfd[2];
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) == -1)
		fatal("pipe");
	if ((pid = fork()) == -1) {
		log_warn("fork");
		close(pfd[0]);
		close(pfd[1]);
		return;
	}
	if (pid == 0) {
		close(pfd[0]);
		child_forget_master(m, rank % m->nsets);
		worker_main(&m->wc, m->fds[rank % m->nsets], m->nfds,
		    p - m->procs, pfd[1], getppid());
	}
	close(pfd[1]);
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->gen = m->gen;
	p->rank = rank;
	p->started = mono_sec();
	p->ready_fd = pfd[0];
	p->ready_ev = event_new(m->base, pfd[0], EV_READ, ready_cb, m);
	if (p->ready_ev != NULL)
		event_add(p->ready_ev, NULL);
	if (m->wc.met != NULL)
		m->wc.met->workers_started++;
	log_info("worker started pid=%ld gen=%u", (long)pid, m->gen);
}

static void
close_ready(struct wproc *p)
{
	if (p->ready_ev != NULL)
		event_free(p->ready_ev);
	if (p->ready_fd > 0)
		close(p->ready_fd);
	p->ready_ev = NULL;
	p->ready_fd = -1;
}

static size_t
count_ready(const struct master *m, unsigned gen)
{
	size_t i, n = 0;

	for (i = 0; i < 2 * MAX_WORKERS; i++)
		if (m->procs[i].pid != 0 && m->procs[i].gen == gen &&
		    m->procs[i].ready)
			n++;
	return n;
}

static void
ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;
	struct wproc *p;
	size_t i;

	for (i = 0; i < 2 * MAX_WORKERS; i++) {
		p = &m->procs[i];
		if (p->pid == 0 || p->ready_fd != fd)
			continue;
		p->ready = 1;
		close_ready(p);
		log_info("worker ready pid=%ld gen=%u", (long)p->pid, p->gen);
	}
	if (!m->announced && count_ready(m, m->gen) == (size_t)m->nworkers) {
		m->announced = 1;
		notify_send("READY=1\nSTATUS=serving");
		log_info("ready workers=%d", m->nworkers);
	}
}

static int
rank_alive(const struct master *m, size_t rank)
{
	size_t i;

	for (i = 0; i < 2 * MAX_WORKERS; i++)
		if (m->procs[i].pid != 0 && m->procs[i].gen == m->gen &&
		    m->procs[i].rank == rank)
			return 1;
	return 0;
}

/* Starts a worker for every rank of the current generation that has none. */
static void
spawn_missing(struct master *m)
{
	size_t r, i = 0;

	for (r = 0; r < (size_t)m->nworkers; r++) {
		if (rank_alive(m, r))
			continue;
		while (i < 2 * MAX_WORKERS && m->procs[i].pid != 0)
			i++;
		if (i == 2 * MAX_WORKERS) {
			log_warnx("no free worker slot");
			return;
		}
		spawn(m, &m->procs[i], r);
	}
}

static void
respawn_cb(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;

	if (!m->stopping)
		spawn_missing(m);
}

static void
signal_all(struct master *m, int sig, int only_old)
{
	size_t i;

	for (i = 0; i < 2 * MAX_WORKERS; i++)
		if (m->procs[i].pid != 0 &&
		    (!only_old || m->procs[i].gen != m->gen))
			kill(m->procs[i].pid, sig);
}

/*
 * After a reload: the old generation drains (SIGUSR2, lingering on quiet
 * connections); a worker not yet serving has no handler for SIGUSR2, so
 * it simply gets SIGTERM.
 */
static void
retire_old(struct master *m)
{
	size_t i;

	for (i = 0; i < 2 * MAX_WORKERS; i++)
		if (m->procs[i].pid != 0 && m->procs[i].gen != m->gen)
			kill(m->procs[i].pid, m->procs[i].ready ? SIGUSR2 :
			    SIGTERM);
}

static size_t
count_alive(const struct master *m)
{
	size_t i, n = 0;

	for (i = 0; i < 2 * MAX_WORKERS; i++)
		if (m->procs[i].pid != 0)
			n++;
	return n;
}

/* failchk said the environment is damaged: start every worker afresh. */
static void
recover_all(struct master *m)
{
	char err[256];
	size_t i;

	log_warnx("database needs recovery: stopping every worker");
	signal_all(m, SIGKILL, 0);
	for (i = 0; i < 2 * MAX_WORKERS; i++)
		if (m->procs[i].pid != 0) {
			waitpid(m->procs[i].pid, NULL, 0);
			close_ready(&m->procs[i]);
			m->procs[i].pid = 0;
		}
	if (tdb_prepare(m->wc.data_dir, err, sizeof(err)) == -1)
		fatalx("database recovery failed: %s", err);
	log_info("database recovered");
}

/*
 * A worker that lived is respawned at once (with every other missing
 * one), and the back-off starts over.  One that died young waits, and the
 * wait doubles once per incident, not once per dead worker: a young death
 * while a respawn is already scheduled joins that respawn, which starts
 * every missing worker.
 */
static void
schedule_respawn(struct master *m, time_t lived)
{
	struct timeval tv = { 0, 0 };

	if (m->wc.met != NULL)
		m->wc.met->workers_respawned++;
	if (lived >= 2)
		m->respawn_delay = 0;
	else if (event_pending(m->respawn_ev, EV_TIMEOUT, NULL))
		return;
	else
		m->respawn_delay = m->respawn_delay == 0 ? 1 :
		    m->respawn_delay * 2 > RESPAWN_MAX_DELAY ?
		    RESPAWN_MAX_DELAY : m->respawn_delay * 2;
	tv.tv_sec = m->respawn_delay;
	if (m->respawn_delay > 0)
		log_warnx("worker died young; respawning in %lds",
		    m->respawn_delay);
	event_add(m->respawn_ev, &tv);
}

static void
reaped(struct master *m, struct wproc *p, int status)
{
	int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
	time_t lived = mono_sec() - p->started;
	int old = p->gen != m->gen;

	close_ready(p);
	p->pid = 0;
	if (clean && (old || m->stopping))
		return;
	if (WIFSIGNALED(status))
		log_warnx("worker died signal=%d", WTERMSIG(status));
	else if (!clean)
		log_warnx("worker exited status=%d", WEXITSTATUS(status));
	if (m->stopping)
		return;
	switch (tdb_failchk(m->wc.data_dir)) {
	case 0:
		break;
	case 1:
		recover_all(m);
		break;
	default:
		log_warnx("failchk failed; recovering");
		recover_all(m);
		break;
	}
	if (!old || count_alive(m) == 0)
		schedule_respawn(m, lived);
}

static void
reap(struct master *m)
{
	pid_t pid;
	size_t i;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		for (i = 0; i < 2 * MAX_WORKERS; i++)
			if (m->procs[i].pid == pid) {
				reaped(m, &m->procs[i], status);
				break;
			}
	if (m->stopping && count_alive(m) == 0)
		event_base_loopbreak(m->base);
}

static int
same_opt(const struct conf *a, const struct conf *b, const char *name)
{
	const char *x = conf_str(a, name), *y = conf_str(b, name);

	return (x == NULL || y == NULL) ? x == y : strcmp(x, y) == 0;
}

static int
same_listen(const struct conf *a, const struct conf *b)
{
	const char *const *x, *const *y;
	size_t n = conf_list(a, "listen", &x), i;

	if (conf_list(b, "listen", &y) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (strcmp(x[i], y[i]) != 0)
			return 0;
	return 1;
}

static void
reload(struct master *m)
{
	struct conf *c;
	int n;

	notify_send("RELOADING=1");
	if ((c = load_config(m->argc, m->argv, 0)) == NULL)
		goto out;
	if (!same_listen(c, m->conf) || !same_opt(c, m->conf, "user") ||
	    !same_opt(c, m->conf, "data-dir") ||
	    !same_opt(c, m->conf, "admin-listen")) {
		log_warnx("reload: listen, admin-listen, user and data-dir need "
		    "a restart; keeping the running configuration");
		conf_free(c);
		goto out;
	}
	conf_free(m->conf);
	m->conf = c;
	log_setdebug(conf_bool(c, "debug"));
	n = m->nworkers;
	fill_worker_conf(m);
	if (m->nsets > 1 && (size_t)m->nworkers != m->nsets) {
		log_warnx("reload: --workers with one socket per worker needs "
		    "a restart; keeping %d", n);
		m->nworkers = n;
	}
	m->gen++;
	spawn_missing(m);
	retire_old(m);
	log_info("reload: new workers started gen=%u", m->gen);
out:
	notify_send("READY=1");
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct master *m = arg;

	switch (sig) {
	case SIGCHLD:
		reap(m);
		break;
	case SIGHUP:
		if (!m->stopping)
			reload(m);
		break;
	default:
		if (m->stopping)
			break;
		log_info("signal %d: stopping", (int)sig);
		notify_send("STOPPING=1");
		m->stopping = 1;
		m->stop_deadline = mono_sec() + STOP_GRACE;
		signal_all(m, SIGTERM, 0);
		if (count_alive(m) == 0)
			event_base_loopbreak(m->base);
		break;
	}
}

/*
 * A worker that is not serving START_GRACE seconds after fork is stuck,
 * most likely on a Berkeley DB mutex left by a dead process; SIGKILL
 * brings it to the reaper, whose failchk decides on recovery.
 */
static void
kill_stuck(struct master *m)
{
	time_t now = mono_sec();
	size_t i;

	for (i = 0; i < 2 * MAX_WORKERS; i++)
		if (m->procs[i].pid != 0 && !m->procs[i].ready &&
		    now - m->procs[i].started > START_GRACE) {
			log_warnx("worker not ready after %ds, killing pid=%ld",
			    START_GRACE, (long)m->procs[i].pid);
			kill(m->procs[i].pid, SIGKILL);
		}
}

/* Watchdog, and the hard limit on a stop that does not finish. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct master *m = arg;

	if (notify_watchdog_usec() != 0)
		notify_send("WATCHDOG=1");
	kill_stuck(m);
	if (m->stopping && mono_sec() >= m->stop_deadline) {
		log_warnx("workers did not stop in time; killing them");
		signal_all(m, SIGKILL, 0);
	}
}

static void
add_event(struct master *m, struct event *ev, const struct timeval *tv)
{
	if (ev == NULL || event_add(ev, tv) == -1)
		fatalx("cannot set up events");
}

static void
run(struct master *m)
{
	struct timeval tick = { 1, 0 };
	uint64_t wd = notify_watchdog_usec();
	int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
	size_t i;

	if (wd != 0 && wd / 2 < 1000000) {
		tick.tv_sec = 0;
		tick.tv_usec = wd / 2;
	}
	if ((m->base = event_base_new()) == NULL)
		fatalx("cannot create event loop");
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		add_event(m, evsignal_new(m->base, sigs[i], signal_cb, m),
		    NULL);
	add_event(m, event_new(m->base, -1, EV_PERSIST, tick_cb, m), &tick);
	m->respawn_ev = evtimer_new(m->base, respawn_cb, m);
	if (m->respawn_ev == NULL)
		fatalx("cannot set up events");
	spawn_missing(m);
	event_base_dispatch(m->base);
}

int
main(int argc, char *argv[])
{
	struct master m;
	char err[256];

	memset(&m, 0, sizeof(m));
	m.wc.admin_fd = -1;
	log_init(argv[0], 0);
	m.argc = argc;
	m.argv = argv;
	m.conf = load_config(argc, argv, 1);
	fill_worker_conf(&m);
	if (conf_check_only(m.conf)) {
		printf("todod: configuration OK\n");
		return 0;
	}
	log_setdebug(conf_bool(m.conf, "debug"));
	signal(SIGPIPE, SIG_IGN);
	bind_all(&m);
	bind_admin(&m);
	if ((m.wc.met = met_create(2 * MAX_WORKERS)) == NULL)
		fatal("cannot map shared counters");
	drop_privileges(&m);
	lock_data_dir(m.wc.data_dir);
	if (tdb_prepare(m.wc.data_dir, err, sizeof(err)) == -1)
		fatalx("cannot prepare database in %s: %s", m.wc.data_dir, err);
	run(&m);
	log_info("stopped");
	return 0;
}

/*
 * jwks.c - the JWKS cache: the only place that decides when to ask the
 * IdP for keys.
 *
 * Called by verify.c (lookups, unknown kids) and verifierd.c (start-up,
 * reload).  Invariants:
 * - the last good key set is kept whatever the IdP does later, and is
 *   persisted atomically (0600) so that a restart during an outage still
 *   verifies;
 * - at most one fetch is in flight; callers that need it wait on it;
 * - an unknown kid causes at most one refetch per cooldown (globally;
 *   start-up and scheduled refreshes do not count against it), and a kid
 *   that a fresh set did not contain is remembered for the cooldown, so
 *   a flood of made-up kids cannot hammer the IdP;
 * - the refresh period is Cache-Control max-age clamped to
 *   [min_ttl, max_ttl], refreshed a little before it runs out.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "fetch.h"
#include "jwk.h"
#include "jwks.h"
#include "log.h"
#include "mono.h"

#define JWKS_NEG_SLOTS	1024
#define JWKS_RETRY_MAX	60

struct jwks_waiter {
	struct jwks_waiter	*next;
	jwks_wait_cb		 cb;
	void			*arg;
};

struct jwks_neg {
	uint64_t		 hash;
	long			 until;
};

struct jwks {
	struct event_base	*base;
	struct fetcher		*fetcher;
	char			*url;
	char			*state_path;
	long			 min_ttl, max_ttl, cooldown;
	jwks_drop_cb		 drop_cb;
	void			*drop_arg;

	struct jwkset		 set;
	int			 have_set;
	long			 fetched_at;	/* monotonic, last good set */
	long			 last_try;	/* monotonic, last fetch start */
	long			 last_kid_try;	/* same, for an unknown kid */
	int			 last_ok;
	long			 retry;		/* current back-off, seconds */
	int			 in_flight;
	struct jwks_waiter	*waiters;
	struct event		*timer;

	uint64_t		 fetch_ok;
	uint64_t		 fetch_failed;
	uint64_t		 kid_refetches;
	struct jwks_neg		 neg[JWKS_NEG_SLOTS];
	size_t			 neg_next;
	uint8_t			 neg_key[crypto_shorthash_KEYBYTES];
};

static void	jwks_fetch(struct jwks *);

static uint64_t
jwks_kid_hash(const struct jwks *j, const char *kid)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const uint8_t *)kid, strlen(kid), j->neg_key);
	memcpy(&v, h, sizeof(v));
	return v;
}

static int
jwks_neg_has(const struct jwks *j, const char *kid, long now)
{
	uint64_t h = jwks_kid_hash(j, kid);
	size_t i;

	for (i = 0; i < JWKS_NEG_SLOTS; i++)
		if (j->neg[i].hash == h && j->neg[i].until > now)
			return 1;
	return 0;
}

static void
jwks_neg_add(struct jwks *j, const char *kid, long now)
{
	j->neg[j->neg_next].hash = jwks_kid_hash(j, kid);
	j->neg[j->neg_next].until = now + j->cooldown;
	j->neg_next = (j->neg_next + 1) % JWKS_NEG_SLOTS;
}

static void
jwks_schedule(struct jwks *j, long secs)
{
	struct timeval tv = { secs > 0 ? secs : 1, 0 };

	evtimer_add(j->timer, &tv);
}

static void
jwks_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	jwks_fetch(arg);
}

static int
jwks_apply_conf(struct jwks *j, const struct jwks_conf *c)
{
	char *url, *sp = NULL;

	if ((url = strdup(c->url)) == NULL)
		return -1;
	if (c->state_path != NULL && (sp = strdup(c->state_path)) == NULL) {
		free(url);
		return -1;
	}
	free(j->url);
	free(j->state_path);
	j->url = url;
	j->state_path = sp;
	j->min_ttl = c->min_ttl;
	j->max_ttl = c->max_ttl;
	j->cooldown = c->cooldown;
	return 0;
}

struct jwks *
jwks_new(struct event_base *base, struct fetcher *f,
    const struct jwks_conf *c, jwks_drop_cb drop_cb, void *arg)
{
	struct jwks *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	j->base = base;
	j->fetcher = f;
	j->drop_cb = drop_cb;
	j->drop_arg = arg;
	j->retry = 1;
	randombytes_buf(j->neg_key, sizeof(j->neg_key));
	if (jwks_apply_conf(j, c) == -1 ||
	    (j->timer = evtimer_new(base, jwks_timer_cb, j)) == NULL) {
		jwks_free(j);
		return NULL;
	}
	return j;
}

void
jwks_set_conf(struct jwks *j, const struct jwks_conf *c)
{
	if (jwks_apply_conf(j, c) == -1)
		log_warnx("jwks: out of memory, keeping old settings");
}

void
jwks_free(struct jwks *j)
{
	struct jwks_waiter *w;

	if (j == NULL)
		return;
	while ((w = j->waiters) != NULL) {
		j->waiters = w->next;
		free(w);
	}
	if (j->timer != NULL)
		event_free(j->timer);
	if (j->have_set)
		jwkset_free(&j->set);
	free(j->url);
	free(j->state_path);
	free(j);
}

/* Tells the cache's user about every kid the new set no longer has. */
static void
jwks_report_dropped(struct jwks *j, const struct jwkset *next)
{
	size_t i;

	if (!j->have_set || j->drop_cb == NULL)
		return;
	for (i = 0; i < j->set.n; i++)
		if (jwkset_find(next, j->set.keys[i].kid) == NULL)
			j->drop_cb(j->set.keys[i].kid, j->drop_arg);
}

static void
jwks_install(struct jwks *j, struct jwkset *next)
{
	jwks_report_dropped(j, next);
	if (j->have_set)
		jwkset_free(&j->set);
	j->set = *next;
	j->have_set = 1;
}

/* Writes the document to state_path through a temporary file. */
static int
jwks_persist(const struct jwks *j, const char *doc, size_t len)
{
	char tmp[PATH_MAX];
	int fd = -1, rv = -1;

	if (j->state_path == NULL)
		return 0;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", j->state_path) >=
	    (int)sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd == -1)
		goto out;
	if (write(fd, doc, len) != (ssize_t)len || fsync(fd) == -1)
		goto out;
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, j->state_path) == -1)
		goto out;
	rv = 0;
out:
	if (rv == -1) {
		log_warn("jwks: cannot persist keys path=%s", j->state_path);
		unlink(tmp);
	}
	if (fd != -1)
		close(fd);
	return rv;
}

static char *
jwks_read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || st.st_size <= 0 || st.st_size > 1 << 20)
		goto out;
	if ((buf = malloc(st.st_size + 1)) == NULL)
		goto out;
	if ((n = read(fd, buf, st.st_size)) != st.st_size) {
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
	*len = n;
out:
	close(fd);
	return buf;
}

int
jwks_load_state(struct jwks *j)
{
	struct jwkset next;
	char err[128], *doc;
	size_t len;
	int rv = -1;

	if (j->state_path == NULL ||
	    (doc = jwks_read_file(j->state_path, &len)) == NULL)
		return -1;
	if (jwkset_parse(doc, len, &next, err, sizeof(err)) == -1) {
		log_warnx("jwks: ignoring persisted keys path=%s error=\"%s\"",
		    j->state_path, err);
		goto out;
	}
	if (next.n == 0) {
		jwkset_free(&next);
		log_warnx("jwks: ignoring persisted keys path=%s "
		    "error=\"no usable key\"", j->state_path);
		goto out;
	}
	jwks_install(j, &next);
	log_info("jwks: loaded persisted keys count=%zu", j->set.n);
	rv = 0;
out:
	free(doc);
	return rv;
}

static long
jwks_ttl(const struct jwks *j, long max_age)
{
	long ttl = max_age >= 0 ? max_age : j->max_ttl;

	if (ttl < j->min_ttl)
		ttl = j->min_ttl;
	if (ttl > j->max_ttl)
		ttl = j->max_ttl;
	return ttl;
}

/* 0 and the set installed, or -1 with the reason logged. */
static int
jwks_take(struct jwks *j, const struct fetch_result *r)
{
	struct jwkset next;
	char err[128] = "";

	if (!r->ok) {
		log_warnx("jwks: fetch failed url=%s error=\"%s\"", j->url,
		    r->error);
		return -1;
	}
	if (r->status != 200) {
		log_warnx("jwks: fetch failed url=%s status=%ld", j->url,
		    r->status);
		return -1;
	}
	if (jwkset_parse(r->body, r->len, &next, err, sizeof(err)) == -1) {
		log_warnx("jwks: bad document url=%s error=\"%s\"", j->url,
		    err);
		return -1;
	}
	if (next.n == 0) {
		jwkset_free(&next);
		log_warnx("jwks: document has no usable key url=%s", j->url);
		return -1;
	}
	jwks_install(j, &next);
	jwks_persist(j, r->body, r->len);
	return 0;
}

static void
jwks_fetched_cb(const struct fetch_result *r, void *arg)
{
	struct jwks *j = arg;
	struct jwks_waiter *w;
	long ttl, now = (long)mono_sec();

	j->in_flight = 0;
	if (jwks_take(j, r) == 0) {
		j->fetch_ok++;
		j->last_ok = 1;
		j->fetched_at = now;
		j->retry = 1;
		ttl = jwks_ttl(j, r->max_age);
		log_info("jwks: keys fetched count=%zu ttl=%ld", j->set.n, ttl);
		jwks_schedule(j, ttl - ttl / 10);
	} else {
		j->fetch_failed++;
		j->last_ok = 0;
		jwks_schedule(j, j->retry);
		j->retry = j->retry * 2 > JWKS_RETRY_MAX ? JWKS_RETRY_MAX :
		    j->retry * 2;
	}
	/* Wake everyone who waited on this fetch; they look again. */
	while ((w = j->waiters) != NULL) {
		j->waiters = w->next;
		w->cb(w->arg);
		free(w);
	}
}

static void
jwks_fetch(struct jwks *j)
{
	if (j->in_flight)
		return;
	evtimer_del(j->timer);
	j->last_try = (long)mono_sec();
	if (fetch_get(j->fetcher, j->url, NULL, jwks_fetched_cb, j) == -1) {
		j->last_ok = 0;
		jwks_schedule(j, j->retry);
		return;
	}
	j->in_flight = 1;
}

void
jwks_refresh(struct jwks *j)
{
	jwks_fetch(j);
}

const struct jwk *
jwks_find(const struct jwks *j, const char *kid)
{
	if (!j->have_set)
		return NULL;
	return jwkset_find(&j->set, kid);
}

static int
jwks_wait(struct jwks *j, jwks_wait_cb cb, void *arg)
{
	struct jwks_waiter *w;

	if ((w = malloc(sizeof(*w))) == NULL)
		return -1;
	w->cb = cb;
	w->arg = arg;
	w->next = j->waiters;
	j->waiters = w;
	return 0;
}

/*
 * Called for a kid that is not in the current set.  Decides whether the
 * IdP is asked again (and the caller waits) or the answer stands.  A
 * caller that already waited once passes again = 1 and is not made to
 * wait a second time.
 */
enum jwks_want
jwks_want_kid(struct jwks *j, const char *kid, int again, jwks_wait_cb cb,
    void *arg)
{
	long now = (long)mono_sec();

	if (j->have_set && jwks_neg_has(j, kid, now))
		return JWKS_UNKNOWN;
	if (again || (!j->in_flight && j->last_kid_try != 0 &&
	    now - j->last_kid_try < j->cooldown)) {
		/* Asked recently: the answer we have stands. */
		if (!j->last_ok)
			return JWKS_DOWN;
		jwks_neg_add(j, kid, now);
		return JWKS_UNKNOWN;
	}
	if (jwks_wait(j, cb, arg) == -1)
		return JWKS_DOWN;
	if (!j->in_flight) {
		j->last_kid_try = now;
		j->kid_refetches++;
	}
	jwks_fetch(j);
	return JWKS_WAIT;
}

int
jwks_ready(const struct jwks *j)
{
	return j->have_set;
}

long
jwks_age(const struct jwks *j)
{
	if (!j->have_set || j->fetched_at == 0)
		return -1;
	return (long)mono_sec() - j->fetched_at;
}

size_t
jwks_count(const struct jwks *j)
{
	return j->have_set ? j->set.n : 0;
}

void
jwks_stats(const struct jwks *j, uint64_t *ok, uint64_t *failed,
    uint64_t *kid_refetches)
{
	*ok = j->fetch_ok;
	*failed = j->fetch_failed;
	*kid_refetches = j->kid_refetches;
}

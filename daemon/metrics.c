/*
 * metrics.c - counters in one shared anonymous mapping made by the master
 * before it forks, one slot per worker, summed when /metrics is asked.
 *
 * Called by todod.c (creation, worker starts and respawns) and by the
 * workers (counting, rendering).  Invariants: a slot is written only by
 * the worker that owns it, with plain 64-bit stores (a reader may see a
 * value one request old, which Prometheus tolerates); counters only grow,
 * also across a worker's death, because its successor reuses the slot.
 */
#include <sys/mman.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

/* Upper bounds of the histogram buckets, in microseconds; last is +Inf. */
static const uint64_t met_bounds[MET_NBUCKETS - 1] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000,
};

static const char *const met_route_names[MET_NROUTES] = {
	"root", "list", "item", "health", "other",
};

static const char *const met_reason_names[MET_NREASONS] = {
	"none", "malformed", "expired", "claims", "unknown_kid", "no_email",
	"unavailable", "other",
};

struct met_shared *
met_create(size_t nslots)
{
	struct met_shared *m;
	size_t len = sizeof(*m) + nslots * sizeof(struct met_slot);

	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	m->nslots = nslots;
	return m;
}

void
met_observe(struct met_hist *h, uint64_t usec)
{
	size_t i;

	for (i = 0; i < MET_NBUCKETS - 1 && usec > met_bounds[i]; i++)
		;
	h->bucket[i]++;
	h->count++;
	h->sum_us += usec;
}

void
met_request(struct met_slot *s, enum met_route route, int status,
    uint64_t usec)
{
	if (s == NULL)
		return;
	if (status >= 100 && status < 600)
		s->requests[route][status / 100]++;
	met_observe(&s->latency, usec);
}

struct met_buf {
	char	*p;
	size_t	 len, cap;
	int	 failed;
};

static void __attribute__((format(printf, 2, 3)))
met_printf(struct met_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *np;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += n;
			return;
		}
		if ((np = realloc(b->p, b->cap * 2 + n)) == NULL) {
			b->failed = 1;
			return;
		}
		b->p = np;
		b->cap = b->cap * 2 + n;
	}
}

static void
met_sum_hist(const struct met_shared *m, size_t off, struct met_hist *out)
{
	const struct met_hist *h;
	size_t i, k;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < m->nslots; i++) {
		h = (const struct met_hist *)((const char *)&m->slots[i] + off);
		for (k = 0; k < MET_NBUCKETS; k++)
			out->bucket[k] += h->bucket[k];
		out->count += h->count;
		out->sum_us += h->sum_us;
	}
}

static void
met_render_hist(struct met_buf *b, const char *name, const char *help,
    const struct met_hist *h)
{
	uint64_t cum = 0;
	size_t k;

	met_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (k = 0; k < MET_NBUCKETS - 1; k++) {
		cum += h->bucket[k];
		met_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
		    met_bounds[k] / 1e6, (unsigned long long)cum);
	}
	cum += h->bucket[k];
	met_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n"
	    "%s_count %llu\n", name, (unsigned long long)cum, name,
	    h->sum_us / 1e6, name, (unsigned long long)h->count);
}

static void
met_render_requests(struct met_buf *b, const struct met_shared *m)
{
	uint64_t v;
	size_t r, c, i;

	met_printf(b, "# HELP todod_http_requests_total HTTP requests "
	    "answered, by route and status class.\n"
	    "# TYPE todod_http_requests_total counter\n");
	for (r = 0; r < MET_NROUTES; r++)
		for (c = 1; c < 6; c++) {
			for (v = 0, i = 0; i < m->nslots; i++)
				v += m->slots[i].requests[r][c];
			met_printf(b, "todod_http_requests_total{route=\"%s\","
			    "code=\"%zuxx\"} %llu\n", met_route_names[r], c,
			    (unsigned long long)v);
		}
}

/* The sum over every slot of the uint64_t at offset off in a slot. */
static uint64_t
met_sum(const struct met_shared *m, size_t off)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < m->nslots; i++)
		v += *(const uint64_t *)((const char *)&m->slots[i] + off);
	return v;
}

static void
met_render_counter(struct met_buf *b, const char *name, const char *help,
    uint64_t v)
{
	met_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help,
	    name, name, (unsigned long long)v);
}

static void
met_render_auth(struct met_buf *b, const struct met_shared *m)
{
	size_t r;

	met_printf(b, "# HELP todod_auth_rejected_total Tokens refused by "
	    "verifierd, by reason.\n"
	    "# TYPE todod_auth_rejected_total counter\n");
	for (r = 1; r < MET_NREASONS; r++)
		met_printf(b, "todod_auth_rejected_total{reason=\"%s\"} "
		    "%llu\n", met_reason_names[r], (unsigned long long)met_sum(m,
		    offsetof(struct met_slot, denied) + r * sizeof(uint64_t)));
	met_render_counter(b, "todod_auth_unavailable_total",
	    "Requests answered 503 because verifierd could not decide.",
	    met_sum(m, offsetof(struct met_slot, unavailable)));
	met_render_counter(b, "todod_auth_cache_lookups_total",
	    "Tokens looked up in the workers' verdict caches.",
	    met_sum(m, offsetof(struct met_slot, ac_lookups)));
	met_render_counter(b, "todod_auth_cache_hits_total",
	    "Tokens answered from a worker's verdict cache.",
	    met_sum(m, offsetof(struct met_slot, ac_hits)));
}

/* Prometheus text exposition format 0.0.4; malloc'd, or NULL. */
char *
met_render(const struct met_shared *m, size_t *len)
{
	struct met_buf b = { malloc(8192), 0, 8192, 0 };
	struct met_hist h;

	if (b.p == NULL)
		return NULL;
	met_render_requests(&b, m);
	met_sum_hist(m, offsetof(struct met_slot, latency), &h);
	met_render_hist(&b, "todod_http_request_duration_seconds",
	    "Time from a whole request to its reply.", &h);
	met_sum_hist(m, offsetof(struct met_slot, verifier_rtt), &h);
	met_render_hist(&b, "todod_verifier_rtt_seconds",
	    "Round trip of one token to verifierd.", &h);
	met_render_auth(&b, m);
	met_printf(&b, "# HELP todod_workers_started_total Worker processes "
	    "started.\n# TYPE todod_workers_started_total counter\n"
	    "todod_workers_started_total %llu\n"
	    "# HELP todod_workers_respawned_total Workers started again after "
	    "one died.\n# TYPE todod_workers_respawned_total counter\n"
	    "todod_workers_respawned_total %llu\n",
	    (unsigned long long)m->workers_started,
	    (unsigned long long)m->workers_respawned);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

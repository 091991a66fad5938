/*
 * metrics.h - request counters shared by todod's workers, rendered as
 * Prometheus text on the admin listener.
 */
#ifndef TODOD_METRICS_H
#define TODOD_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum met_route {
	MET_ROOT,
	MET_LIST,
	MET_ITEM,
	MET_HEALTH,
	MET_OTHER,
	MET_NROUTES
};

#define MET_NBUCKETS	12
#define MET_NREASONS	8

struct met_hist {
	uint64_t	 bucket[MET_NBUCKETS];	/* cumulative at render time */
	uint64_t	 count;
	uint64_t	 sum_us;
};

/* One worker's counters; only that worker writes them. */
struct met_slot {
	uint64_t	 requests[MET_NROUTES][6];	/* by status / 100 */
	struct met_hist	 latency;
	struct met_hist	 verifier_rtt;
	uint64_t	 denied[MET_NREASONS];		/* by verify_reason */
	uint64_t	 unavailable;
	uint64_t	 ac_lookups;	/* worker verdict cache */
	uint64_t	 ac_hits;
};

struct met_shared {
	uint64_t	 workers_started;
	uint64_t	 workers_respawned;
	size_t		 nslots;
	struct met_slot	 slots[];
};

struct met_shared *met_create(size_t nslots);
void		 met_observe(struct met_hist *, uint64_t usec);
void		 met_request(struct met_slot *, enum met_route, int status,
		    uint64_t usec);
char		*met_render(const struct met_shared *, size_t *len);

#endif

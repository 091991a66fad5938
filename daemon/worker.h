/*
 * worker.h - one pre-forked todod worker.
 */
#ifndef TODOD_WORKER_H
#define TODOD_WORKER_H

#include <stddef.h>
#include <sys/types.h>

struct met_shared;

struct worker_conf {
	const char	*data_dir;
	const char	*verifier;	/* verifierd's socket */
	size_t		 max_body;
	size_t		 max_headers;
	long		 max_conns;	/* per worker */
	long		 header_timeout;	/* seconds */
	long		 verify_timeout_ms;
	long		 checkpoint_interval;	/* seconds */
	int		 access_log;
	long		 auth_cache_ttl;	/* 0: off */
	long		 auth_cache_size;
	int		 admin_fd;	/* -1: no admin listener */
	struct met_shared *met;		/* shared counters, or NULL */
};

/* Runs in the child after fork; never returns. */
void	worker_main(const struct worker_conf *, const int *fds, size_t nfds,
	    size_t slot, int ready_fd, pid_t master) __attribute__((noreturn));

#endif

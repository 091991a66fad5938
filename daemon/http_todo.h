/*
 * http_todo.h - the todo API on top of evhttp.
 */
#ifndef TODOD_HTTP_TODO_H
#define TODOD_HTTP_TODO_H

#include <stddef.h>
#include <stdint.h>

struct auth_cache;
struct evhttp_request;
struct tdb;
struct vclient;

#include "metrics.h"

struct http_ctx {
	struct tdb		*db;
	struct vclient		*vc;
	void			(*busy_cb)(struct evhttp_request *, int, void *);
	void			*busy_arg;
	struct auth_cache	*ac;		/* NULL: always ask verifierd */
	long			 ac_ttl;	/* seconds */
	struct met_shared	*shared;	/* all workers' counters */
	struct met_slot		*met;		/* this worker's */
	int			 access_log;
	int			 stopping;	/* answers close their connection */
	/* The request being answered now (one thread, one at a time). */
	uint64_t		 cur_start;	/* usec, monotonic */
	enum met_route		 cur_route;
	uint64_t		 cur_user;
};

void		http_todo_cb(struct evhttp_request *, void *);
void		http_admin_cb(struct evhttp_request *, void *);

#endif

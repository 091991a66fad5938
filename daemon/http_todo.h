/*
 * http_todo.h - the todo API on top of evhttp.
 */
#ifndef TODOD_HTTP_TODO_H
#define TODOD_HTTP_TODO_H

#include <stddef.h>
#include <stdint.h>

struct evhttp_request;
struct tdb;
struct vclient;

struct http_stats {
	uint64_t	requests;
	uint64_t	status[6];	/* by hundreds: 1xx .. 5xx */
	uint64_t	auth_denied;
	uint64_t	auth_unavailable;
};

struct http_ctx {
	struct tdb		*db;
	struct vclient		*vc;
	void			(*busy_cb)(struct evhttp_request *, int, void *);
	void			*busy_arg;
	struct http_stats	 stats;
};

void	http_todo_cb(struct evhttp_request *, void *);

#endif

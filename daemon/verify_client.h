/*
 * verify_client.h - a worker's one pipelined connection to verifierd.
 */
#ifndef TODOD_VERIFY_CLIENT_H
#define TODOD_VERIFY_CLIENT_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct proto_stats;
struct proto_verify_ans;
struct vclient;

/* Called exactly once per vclient_verify() that returned non-zero. */
typedef void (*vclient_cb)(const struct proto_verify_ans *, void *);

struct vclient	*vclient_new(struct event_base *, const char *path,
		    long timeout_ms);
void		 vclient_free(struct vclient *);
uint32_t	 vclient_verify(struct vclient *, const char *token,
		    size_t len, vclient_cb, void *);
void		 vclient_cancel(struct vclient *, uint32_t id);
/* verifierd's counters; the callback gets NULL if they cannot be had. */
typedef void (*vclient_stats_cb)(const struct proto_stats *, void *);
uint32_t	 vclient_stats(struct vclient *, vclient_stats_cb, void *);
/* Called on FLUSH from verifierd and whenever the connection is lost. */
void		 vclient_set_flush_cb(struct vclient *, void (*)(void *),
		    void *);
int		 vclient_connected(const struct vclient *);
size_t		 vclient_pending(const struct vclient *);

#endif

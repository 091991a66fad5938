/*
 * server.h - verifierd's Unix socket: HELLO, then pipelined VERIFYs.
 */
#ifndef TODOD_SERVER_H
#define TODOD_SERVER_H

#include <sys/types.h>

#include <stddef.h>

struct event_base;
struct proto_stats;
struct server;
struct verifier;

struct server_acl {
	const uid_t	*uids;
	size_t		 nuids;
	const gid_t	*gids;
	size_t		 ngids;
};

int		 server_bind(const char *path, uid_t owner, gid_t group);
struct server	*server_new(struct event_base *, int fd, struct verifier *,
		    const struct server_acl *);
int		 server_set_acl(struct server *, const struct server_acl *);
void		 server_free(struct server *);
void		 server_flush_all(struct server *);
void		 server_set_stats_cb(struct server *,
		    void (*)(struct proto_stats *, void *), void *);
size_t		 server_connections(const struct server *);

#endif

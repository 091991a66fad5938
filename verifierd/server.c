/*
 * server.c - the verifier socket: accepts todod workers (and todo-verify),
 * checks who they are, and answers VERIFY frames.
 *
 * Called by verifierd.c.  Invariants:
 * - a peer is served only if SO_PEERCRED shows an allowed uid or gid;
 * - the first frame must be a HELLO of our version; anything else, any
 *   malformed frame or an oversized header closes that connection and no
 *   other;
 * - many requests may be in flight per connection; answers carry the
 *   request's id and may come in any order;
 * - a connection that goes away with requests in flight is freed when the
 *   last of them has finished (their answers are dropped).
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <sodium.h>

#include "log.h"
#include "proto.h"
#include "server.h"
#include "verify.h"

#define SERVER_MAX_INFLIGHT	4096	/* per connection */
#define SERVER_OUT_HIGH		(1 << 20) /* stop reading above this */

struct server {
	struct event_base	*base;
	struct evconnlistener	*listener;
	struct verifier		*verifier;
	uid_t			*uids;
	size_t			 nuids;
	gid_t			*gids;
	size_t			 ngids;
	size_t			 nconns;
	TAILQ_HEAD(, conn)	 conns;
	void			(*stats_cb)(struct proto_stats *, void *);
	void			*stats_arg;
};

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct server		*srv;
	struct bufferevent	*bev;		/* NULL once closed */
	pid_t			 pid;
	uid_t			 uid;
	int			 hello;
	int			 caches;	/* peer keeps verdicts: todod */
	int			 reading;	/* inside conn_read_cb */
	size_t			 inflight;
	struct evbuffer		*out;		/* answers not yet written */
};

struct conn_req {
	struct conn		*c;
	uint32_t		 id;
};

/* Binds a fresh socket at path, replacing a stale one (never a file). */
int
server_bind(const char *path, uid_t owner, gid_t group)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("socket path too long path=%s", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			log_warnx("not a socket, refusing to replace path=%s",
			    path);
			return -1;
		}
		unlink(path);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0660) == -1 ||
	    (owner != (uid_t)-1 && chown(path, owner, group) == -1) ||
	    listen(fd, 128) == -1) {
		log_warn("cannot listen path=%s", path);
		close(fd);
		return -1;
	}
	return fd;
}

static int
server_allowed(const struct server *s, uid_t uid, gid_t gid)
{
	size_t i;

	for (i = 0; i < s->nuids; i++)
		if (s->uids[i] == uid)
			return 1;
	for (i = 0; i < s->ngids; i++)
		if (s->gids[i] == gid)
			return 1;
	return 0;
}

static void
conn_release(struct conn *c)
{
	if (c->bev != NULL || c->inflight > 0)
		return;
	c->srv->nconns--;
	TAILQ_REMOVE(&c->srv->conns, c, entry);
	evbuffer_free(c->out);
	free(c);
}

/* Closes the socket; the caller then calls conn_release(). */
static void
conn_close(struct conn *c)
{
	if (c->bev == NULL)
		return;
	bufferevent_free(c->bev);
	c->bev = NULL;
}

/*
 * Writes the queued answers straight to the socket: in the common case
 * they fit, and the bufferevent's write event is never armed, which
 * saves two epoll_ctl calls per batch.  What does not fit is handed to
 * the bufferevent, after anything it still holds, to keep the order.
 */
static void
conn_flush(struct conn *c)
{
	struct evbuffer *bout = bufferevent_get_output(c->bev);

	if (evbuffer_get_length(c->out) == 0)
		return;
	if (evbuffer_get_length(bout) == 0)
		evbuffer_write(c->out, bufferevent_getfd(c->bev));
	if (evbuffer_get_length(c->out) > 0)
		evbuffer_add_buffer(bout, c->out);
	if (evbuffer_get_length(bout) > SERVER_OUT_HIGH)
		bufferevent_disable(c->bev, EV_READ);
}

static int
conn_send(struct conn *c, const uint8_t *buf, int n)
{
	if (n < 0 || evbuffer_add(c->out, buf, n) == -1)
		return -1;
	if (!c->reading)
		conn_flush(c);
	return 0;
}

static void
conn_answer_cb(const struct proto_verify_ans *a, void *arg)
{
	struct conn_req *r = arg;
	struct conn *c = r->c;
	uint8_t buf[PROTO_HDR_LEN + PROTO_MAX_BODY];

	c->inflight--;
	if (c->bev != NULL && conn_send(c, buf,
	    proto_encode_verify_ans(buf, sizeof(buf), r->id, a)) == -1) {
		log_warnx("server: cannot send answer pid=%ld",
		    (long)c->pid);
		conn_close(c);
	}
	free(r);
	conn_release(c);
}

static int
conn_hello(struct conn *c, const struct proto_hdr *h, const uint8_t *body)
{
	struct proto_hello hello, mine;
	uint8_t buf[PROTO_HDR_LEN + 64];

	if (h->type != PROTO_HELLO ||
	    proto_decode_hello(body, h->len, &hello) == -1) {
		log_warnx("server: expected HELLO pid=%ld", (long)c->pid);
		return -1;
	}
	if (hello.version != PROTO_VERSION) {
		log_warnx("server: protocol version %u, want %u (mixed old "
		    "and new binaries?) pid=%ld", hello.version,
		    PROTO_VERSION, (long)c->pid);
		return -1;
	}
	memset(&mine, 0, sizeof(mine));
	mine.version = PROTO_VERSION;
	strcpy(mine.role, "verifierd");
	c->hello = 1;
	c->caches = strcmp(hello.role, "todod") == 0;
	return conn_send(c, buf,
	    proto_encode_hello(buf, sizeof(buf), h->id, &mine));
}

static int
conn_stats(struct conn *c, const struct proto_hdr *h, const uint8_t *body)
{
	static uint8_t buf[PROTO_HDR_LEN + PROTO_MAX_BODY];
	struct proto_stats st;

	if (proto_decode_stats_req(body, h->len) == -1) {
		log_warnx("server: malformed STATS pid=%ld", (long)c->pid);
		return -1;
	}
	memset(&st, 0, sizeof(st));
	if (c->srv->stats_cb != NULL)
		c->srv->stats_cb(&st, c->srv->stats_arg);
	return conn_send(c, buf,
	    proto_encode_stats_ans(buf, sizeof(buf), h->id, &st));
}

static int
conn_verify(struct conn *c, const struct proto_hdr *h, const uint8_t *body)
{
	static struct proto_verify_req req;
	struct conn_req *r;
	int rv = -1;

	if (h->type == PROTO_STATS_REQ)
		return conn_stats(c, h, body);
	if (h->type != PROTO_VERIFY_REQ) {
		log_warnx("server: unexpected frame type=%u pid=%ld",
		    h->type, (long)c->pid);
		return -1;
	}
	if (c->inflight >= SERVER_MAX_INFLIGHT) {
		log_warnx("server: too many requests in flight pid=%ld",
		    (long)c->pid);
		return -1;
	}
	if (proto_decode_verify_req(body, h->len, &req) == -1) {
		log_warnx("server: malformed VERIFY pid=%ld", (long)c->pid);
		goto out;
	}
	if ((r = malloc(sizeof(*r))) == NULL)
		goto out;
	r->c = c;
	r->id = h->id;
	c->inflight++;
	verify_token(c->srv->verifier, req.token, req.token_len,
	    conn_answer_cb, r);
	rv = 0;
out:
	sodium_memzero(req.token, req.token_len);
	req.token_len = 0;
	return rv;
}

/*
 * Handles every whole frame in the input.  The connection is pinned (as
 * one more request in flight) meanwhile, because an answer given at once
 * may find the peer gone and close the connection under us.
 */
static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	static uint8_t frame[PROTO_HDR_LEN + PROTO_MAX_BODY];
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct proto_hdr h;
	size_t used = 0;
	int rv = 0;

	c->inflight++;
	c->reading = 1;
	while (rv == 0 && c->bev != NULL &&
	    evbuffer_copyout(in, frame, PROTO_HDR_LEN) == PROTO_HDR_LEN) {
		if (proto_hdr_decode(frame, &h) == -1) {
			log_warnx("server: bad frame header pid=%ld",
			    (long)c->pid);
			rv = -1;
			break;
		}
		if (evbuffer_get_length(in) < PROTO_HDR_LEN + h.len)
			break;
		evbuffer_remove(in, frame, PROTO_HDR_LEN + h.len);
		if (PROTO_HDR_LEN + h.len > used)
			used = PROTO_HDR_LEN + h.len;
		if (!c->hello)
			rv = conn_hello(c, &h, frame + PROTO_HDR_LEN);
		else
			rv = conn_verify(c, &h, frame + PROTO_HDR_LEN);
	}
	sodium_memzero(frame, used);
	c->reading = 0;
	if (rv == -1)
		conn_close(c);
	else if (c->bev != NULL)
		conn_flush(c);
	c->inflight--;
	conn_release(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	bufferevent_enable(bev, EV_READ);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_ERROR)
		log_debug("server: connection error pid=%ld", (long)c->pid);
	conn_close(c);
	conn_release(c);
}

static void
server_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct server *s = arg;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct conn *c;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    !server_allowed(s, cred.uid, cred.gid)) {
		log_warnx("server: peer refused uid=%ld gid=%ld pid=%ld",
		    (long)cred.uid, (long)cred.gid, (long)cred.pid);
		close(fd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->srv = s;
	c->pid = cred.pid;
	c->uid = cred.uid;
	c->out = evbuffer_new();
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL || c->out == NULL) {
		if (c->bev != NULL)
			bufferevent_free(c->bev);
		else
			close(fd);
		if (c->out != NULL)
			evbuffer_free(c->out);
		free(c);
		return;
	}
	bufferevent_set_max_single_read(c->bev, 256 * 1024);
	s->nconns++;
	TAILQ_INSERT_TAIL(&s->conns, c, entry);
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb,
	    conn_event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	log_debug("server: peer accepted uid=%ld pid=%ld", (long)cred.uid,
	    (long)cred.pid);
}

static void
server_error_cb(struct evconnlistener *l, void *arg)
{
	log_warn("server: accept failed");
}

int
server_set_acl(struct server *s, const struct server_acl *acl)
{
	uid_t *u = NULL;
	gid_t *g = NULL;

	if (acl->nuids > 0 &&
	    (u = calloc(acl->nuids, sizeof(*u))) == NULL)
		return -1;
	if (acl->ngids > 0 &&
	    (g = calloc(acl->ngids, sizeof(*g))) == NULL) {
		free(u);
		return -1;
	}
	if (acl->nuids > 0)
		memcpy(u, acl->uids, acl->nuids * sizeof(*u));
	if (acl->ngids > 0)
		memcpy(g, acl->gids, acl->ngids * sizeof(*g));
	free(s->uids);
	free(s->gids);
	s->uids = u;
	s->nuids = acl->nuids;
	s->gids = g;
	s->ngids = acl->ngids;
	return 0;
}

struct server *
server_new(struct event_base *base, int fd, struct verifier *v,
    const struct server_acl *acl)
{
	struct server *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->base = base;
	s->verifier = v;
	TAILQ_INIT(&s->conns);
	if (server_set_acl(s, acl) == -1)
		goto fail;
	s->listener = evconnlistener_new(base, server_accept_cb, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
	if (s->listener == NULL)
		goto fail;
	evconnlistener_set_error_cb(s->listener, server_error_cb);
	return s;
fail:
	free(s->uids);
	free(s->gids);
	free(s);
	return NULL;
}

void
server_free(struct server *s)
{
	if (s == NULL)
		return;
	evconnlistener_free(s->listener);
	free(s->uids);
	free(s->gids);
	free(s);
}

/*
 * Tells every todod worker to forget the verdicts it keeps (proto FLUSH);
 * other peers (todo-verify, benchmarks) keep nothing and are not told.
 */
void
server_flush_all(struct server *s)
{
	uint8_t buf[PROTO_HDR_LEN + 16];
	struct conn *c;
	int n;

	if (s == NULL || (n = proto_encode_flush(buf, sizeof(buf), 0)) < 0)
		return;
	TAILQ_FOREACH(c, &s->conns, entry)
		if (c->bev != NULL && c->caches)
			conn_send(c, buf, n);
}

void
server_set_stats_cb(struct server *s, void (*cb)(struct proto_stats *,
    void *), void *arg)
{
	s->stats_cb = cb;
	s->stats_arg = arg;
}

size_t
server_connections(const struct server *s)
{
	return s->nconns;
}

/*
 * worker.c - a todod worker: its own event loop, evhttp on the inherited
 * listening sockets, its own Berkeley DB handle, its own verifier link.
 *
 * Started by todod.c right after fork; never returns.  Besides serving,
 * it polices connections, because libevent 2.1 has no limits of its own:
 * - at most max_conns connections; when a new one would exceed that, the
 *   least recently active idle connection is closed (a slowloris holding
 *   every slot loses its oldest slot to each real client);
 * - a connection idle or still sending its request header_timeout
 *   seconds after its last reply (or its accept) is closed;
 * - SIGTERM (SIGUSR2 when retired by a reload): stop accepting, answer
 *   what is in flight or arriving with "Connection: close", close idle
 *   connections (on SIGUSR2 only once quiet), exit 0 when none is left
 *   (at most 10 s).
 * Connections are tracked by their bufferevent, created here through
 * evhttp_set_bevcb() and held by one extra reference until evhttp has
 * let go of it, so the pointer can be checked safely.
 */
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#include "auth_cache.h"
#include "http_todo.h"
#include "log.h"
#include "metrics.h"
#include "mono.h"
#include "todo_db.h"
#include "verify_client.h"
#include "worker.h"

#define WORKER_TICK_MS		250
#define WORKER_DRAIN_SECS	10
/*
 * A worker retired by a reload closes a connection only once it has been
 * quiet this long (seconds, so at least one whole second): closing one
 * the instant it goes idle races the client's next request, which would
 * be lost although the service goes on.  Busy connections are told
 * "Connection: close" with their next answer.  On SIGTERM the service
 * ends, and idle connections are closed at once.
 */
#define WORKER_STOP_IDLE	2
#define HCONN_BUCKETS		1024

struct hconn {
	TAILQ_ENTRY(hconn)	 lru;		/* least recently active first */
	struct hconn		*hnext;		/* hash chain by bev */
	struct bufferevent	*bev;
	time_t			 active;	/* accept or last reply */
	int			 busy;		/* requests being handled */
	int			 reading;	/* a request is arriving */
	struct evbuffer_cb_entry *input_cb;
};

TAILQ_HEAD(hconn_list, hconn);

struct worker {
	const struct worker_conf *conf;
	pid_t			 master;
	struct event_base	*base;
	struct evhttp		*http;
	struct evhttp		*admin;
	struct evhttp_bound_socket **bound;
	size_t			 nbound;
	struct tdb		*db;
	struct vclient		*vc;
	struct http_ctx		 ctx;
	struct hconn_list	 conns;
	struct hconn		*buckets[HCONN_BUCKETS];
	long			 nconns;
	int			 stopping;
	int			 linger;	/* close only quiet connections */
	time_t			 stop_deadline;
	int			 exit_code;
	time_t			 last_checkpoint;
};

static struct hconn **
hconn_bucket(struct worker *w, const struct bufferevent *bev)
{
	uintptr_t h = (uintptr_t)bev;

	h ^= h >> 17;
	return &w->buckets[(h >> 4) % HCONN_BUCKETS];
}

static struct hconn *
hconn_find(struct worker *w, const struct bufferevent *bev)
{
	struct hconn *hc;

	for (hc = *hconn_bucket(w, bev); hc != NULL; hc = hc->hnext)
		if (hc->bev == bev)
			return hc;
	return NULL;
}

static void
hconn_remove(struct worker *w, struct hconn *hc)
{
	struct hconn **pp;

	for (pp = hconn_bucket(w, hc->bev); *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == hc) {
			*pp = hc->hnext;
			break;
		}
	TAILQ_REMOVE(&w->conns, hc, lru);
	w->nconns--;
	if (hc->input_cb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(hc->bev),
		    hc->input_cb);
	bufferevent_decref(hc->bev);
	free(hc);
}

/*
 * Has evhttp freed its side of this connection?  bufferevent_free()
 * clears every callback; while alive, evhttp always keeps its event
 * callback set (the read callback alone is cleared while it writes).
 */
static int
hconn_gone(const struct hconn *hc)
{
	bufferevent_event_cb ev = NULL;

	bufferevent_getcb(hc->bev, NULL, NULL, &ev, NULL);
	return ev == NULL;
}

/*
 * An answer still being written keeps a connection (evhttp's own write
 * timeout deals with a reader that stalls); so, at stop, do bytes still
 * arriving or pipelined requests not yet parsed.
 */
static int
hconn_writing(const struct hconn *hc)
{
	return evbuffer_get_length(bufferevent_get_output(hc->bev)) > 0;
}

static int
hconn_idle(const struct hconn *hc)
{
	return !hc->reading && !hconn_writing(hc) &&
	    evbuffer_get_length(bufferevent_get_input(hc->bev)) == 0;
}

/* Makes evhttp see the end of the connection and free it. */
static void
hconn_kick(struct hconn *hc)
{
	evutil_socket_t fd = bufferevent_getfd(hc->bev);

	if (fd != -1)
		shutdown(fd, SHUT_RDWR);
}

/* Frees our side of gone connections; closes an idle one if at the cap. */
static void
worker_make_room(struct worker *w)
{
	struct hconn *hc, *next;

	for (hc = TAILQ_FIRST(&w->conns); hc != NULL; hc = next) {
		next = TAILQ_NEXT(hc, lru);
		if (hconn_gone(hc))
			hconn_remove(w, hc);
	}
	if (w->nconns < w->conf->max_conns)
		return;
	TAILQ_FOREACH(hc, &w->conns, lru)
		if (hc->busy == 0) {
			log_debug("worker: at connection cap, closing the "
			    "least recently active");
			hconn_kick(hc);
			return;
		}
}

/*
 * Bytes arrived on the connection: a request is on its way (evhttp tells
 * us only once it is whole).  A stopping worker must not cut it off.
 */
static void
worker_input_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct hconn *hc = arg;

	if (info->n_added > 0)
		hc->reading = 1;
}

static struct bufferevent *
worker_bev_cb(struct event_base *base, void *arg)
{
	struct worker *w = arg;
	struct bufferevent *bev;
	struct hconn *hc, **b;

	worker_make_room(w);
	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL || (hc = calloc(1, sizeof(*hc))) == NULL)
		return bev;	/* untracked, but served */
	bufferevent_incref(bev);
	hc->input_cb = evbuffer_add_cb(bufferevent_get_input(bev),
	    worker_input_cb, hc);
	hc->bev = bev;
	hc->active = mono_sec();
	b = hconn_bucket(w, bev);
	hc->hnext = *b;
	*b = hc;
	TAILQ_INSERT_TAIL(&w->conns, hc, lru);
	w->nconns++;
	return bev;
}

/* http_todo.c tells us when a request starts (+1) and is answered (-1). */
static void
worker_busy_cb(struct evhttp_request *req, int delta, void *arg)
{
	struct worker *w = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct hconn *hc;

	if (evcon == NULL ||
	    (hc = hconn_find(w, evhttp_connection_get_bufferevent(evcon))) ==
	    NULL)
		return;
	hc->busy += delta;
	if (hc->busy < 0)
		hc->busy = 0;
	if (delta > 0)
		hc->reading = 0;	/* the request is whole now */
	hc->active = mono_sec();
	TAILQ_REMOVE(&w->conns, hc, lru);
	TAILQ_INSERT_TAIL(&w->conns, hc, lru);
}

/* verifierd said FLUSH, or the link to it broke. */
static void
worker_flush_cb(void *arg)
{
	struct worker *w = arg;

	if (w->ctx.ac != NULL)
		ac_flush(w->ctx.ac);
}

static void
worker_police(struct worker *w, time_t now)
{
	struct hconn *hc, *next;

	for (hc = TAILQ_FIRST(&w->conns); hc != NULL; hc = next) {
		next = TAILQ_NEXT(hc, lru);
		if (hconn_gone(hc))
			hconn_remove(w, hc);
		else if (hc->busy == 0 && !hconn_writing(hc) &&
		    ((w->stopping && hconn_idle(hc) && (!w->linger ||
		    now - hc->active >= WORKER_STOP_IDLE)) ||
		    now - hc->active >= w->conf->header_timeout))
			hconn_kick(hc);
	}
}

static void
worker_stop(struct worker *w, int code, int linger)
{
	size_t i;

	if (w->stopping)
		return;
	w->stopping = 1;
	w->linger = linger;
	w->ctx.stopping = 1;
	w->exit_code = code;
	w->stop_deadline = mono_sec() + WORKER_DRAIN_SECS;
	for (i = 0; i < w->nbound; i++)
		evhttp_del_accept_socket(w->http, w->bound[i]);
	w->nbound = 0;
	worker_police(w, mono_sec());
}

static void
worker_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	time_t now = mono_sec();

	if (getppid() != w->master && !w->stopping) {
		log_warnx("worker: master is gone, stopping");
		worker_stop(w, 0, 0);
	}
	if (tdb_needs_recovery(w->db) && !w->stopping) {
		log_warnx("worker: database needs recovery, stopping");
		worker_stop(w, 3, 0);
	}
	worker_police(w, now);
	if (w->stopping && ((TAILQ_EMPTY(&w->conns) &&
	    vclient_pending(w->vc) == 0) || now >= w->stop_deadline)) {
		event_base_loopbreak(w->base);
		return;
	}
	if (!w->stopping && w->conf->checkpoint_interval > 0 &&
	    now - w->last_checkpoint >= w->conf->checkpoint_interval) {
		w->last_checkpoint = now;
		tdb_checkpoint(w->db);
	}
}

static void
worker_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;

	log_debug("worker: signal %d, draining", (int)sig);
	/* SIGUSR2: retired by a reload, the service goes on: linger. */
	worker_stop(w, 0, sig == SIGUSR2);
}

static void
worker_add_event(struct worker *w, struct event *ev, const struct timeval *tv)
{
	if (ev == NULL || event_add(ev, tv) == -1)
		fatalx("worker: cannot set up events");
}

static void
worker_setup_http(struct worker *w, const int *fds, size_t nfds)
{
	size_t i;

	if ((w->http = evhttp_new(w->base)) == NULL)
		fatalx("worker: cannot create HTTP server");
	evhttp_set_max_body_size(w->http, w->conf->max_body);
	evhttp_set_max_headers_size(w->http, w->conf->max_headers);
	evhttp_set_timeout(w->http, w->conf->header_timeout);
	/* Every method libevent knows reaches us, for DRF's 405 and Allow. */
	evhttp_set_allowed_methods(w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH | EVHTTP_REQ_TRACE |
	    EVHTTP_REQ_CONNECT);
	evhttp_set_bevcb(w->http, worker_bev_cb, w);
	evhttp_set_gencb(w->http, http_todo_cb, &w->ctx);
	if ((w->bound = calloc(nfds, sizeof(*w->bound))) == NULL)
		fatalx("worker: out of memory");
	for (i = 0; i < nfds; i++) {
		w->bound[i] = evhttp_accept_socket_with_handle(w->http, fds[i]);
		if (w->bound[i] == NULL)
			fatalx("worker: cannot accept on fd %d", fds[i]);
	}
	w->nbound = nfds;
}

/*
 * evhttp flips a connection between reading and writing on every
 * request; with the changelist those flips are folded into one
 * epoll_ctl per loop turn instead of one each.  We never dup() a
 * socket, which is the changelist's one caveat.
 */
static struct event_base *
worker_base_new(void)
{
	struct event_config *cfg;
	struct event_base *base;

	if ((cfg = event_config_new()) == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

/* The admin listener serves /metrics only, with tight limits. */
static void
worker_setup_admin(struct worker *w)
{
	if (w->conf->admin_fd == -1 || w->conf->met == NULL)
		return;
	if ((w->admin = evhttp_new(w->base)) == NULL)
		fatalx("worker: cannot create admin HTTP server");
	evhttp_set_max_body_size(w->admin, 0);
	evhttp_set_max_headers_size(w->admin, 8192);
	evhttp_set_timeout(w->admin, 5);
	evhttp_set_allowed_methods(w->admin, EVHTTP_REQ_GET);
	evhttp_set_gencb(w->admin, http_admin_cb, &w->ctx);
	if (evhttp_accept_socket_with_handle(w->admin, w->conf->admin_fd) ==
	    NULL)
		fatalx("worker: cannot accept on the admin socket");
}

void
worker_main(const struct worker_conf *conf, const int *fds, size_t nfds,
    size_t slot, int ready_fd, pid_t master)
{
	struct timeval tick = { 0, WORKER_TICK_MS * 1000 };
	struct worker w;
	char err[256];

	memset(&w, 0, sizeof(w));
	w.conf = conf;
	w.master = master;
	TAILQ_INIT(&w.conns);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		_exit(0);
	signal(SIGPIPE, SIG_IGN);
	if ((w.base = worker_base_new()) == NULL)
		fatalx("worker: cannot create event loop");
	if ((w.db = tdb_open(conf->data_dir, err, sizeof(err))) == NULL)
		fatalx("worker: cannot open database: %s", err);
	if ((w.vc = vclient_new(w.base, conf->verifier,
	    conf->verify_timeout_ms)) == NULL)
		fatalx("worker: out of memory");
	w.ctx.db = w.db;
	w.ctx.vc = w.vc;
	w.ctx.busy_cb = worker_busy_cb;
	w.ctx.busy_arg = &w;
	w.ctx.access_log = conf->access_log;
	if (conf->auth_cache_ttl > 0) {
		if ((w.ctx.ac = ac_new(conf->auth_cache_size)) == NULL)
			fatalx("worker: out of memory");
		w.ctx.ac_ttl = conf->auth_cache_ttl;
		vclient_set_flush_cb(w.vc, worker_flush_cb, &w);
	}
	w.ctx.shared = conf->met;
	if (conf->met != NULL && slot < conf->met->nslots)
		w.ctx.met = &conf->met->slots[slot];
	w.last_checkpoint = mono_sec();
	worker_setup_http(&w, fds, nfds);
	worker_setup_admin(&w);
	worker_add_event(&w, evsignal_new(w.base, SIGTERM, worker_signal_cb,
	    &w), NULL);
	worker_add_event(&w, evsignal_new(w.base, SIGINT, worker_signal_cb,
	    &w), NULL);
	worker_add_event(&w, evsignal_new(w.base, SIGUSR2, worker_signal_cb,
	    &w), NULL);
	worker_add_event(&w, event_new(w.base, -1, EV_PERSIST, worker_tick_cb,
	    &w), &tick);
	if (ready_fd != -1) {
		(void)write(ready_fd, "r", 1);
		close(ready_fd);
	}
	event_base_dispatch(w.base);
	tdb_close(w.db);
	log_debug("worker: stopped code=%d", w.exit_code);
	_exit(w.exit_code);
}

/*
 * verify_client.c - the worker side of the verifier protocol.
 *
 * Called by http_todo.c.  One connection per worker, HELLO first, then
 * any number of VERIFY requests in flight, answers matched by id.
 * Invariants:
 * - every request that vclient_verify() accepted ends in exactly one
 *   callback: the answer, the deadline, or the connection's loss (both
 *   "unavailable"), unless vclient_cancel() removed it first; whoever
 *   removes a pending request frees it;
 * - the loop never blocks on verifierd; while a connection is being made
 *   requests queue behind the HELLO (so a worker's first requests are not
 *   refused), while verifierd is unreachable they are answered
 *   "unavailable" at once, and the connection is retried with back-off;
 * - tokens are not kept once written to the socket.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "proto.h"
#include "verify_client.h"

#define VC_SLOTS	4096		/* pending table, power of two */
#define VC_BACKOFF_MIN	100		/* ms */
#define VC_BACKOFF_MAX	5000

struct pending {
	struct pending	*next;		/* hash chain */
	struct vclient	*vc;
	uint32_t	 id;
	struct event	*deadline;
	vclient_cb	 cb;		/* a VERIFY, or */
	vclient_stats_cb stats_cb;	/* a STATS request */
	void		*arg;
};

struct vclient {
	struct event_base	*base;
	char			*path;
	long			 timeout_ms;
	struct bufferevent	*bev;
	int			 ready;		/* HELLO answered */
	uint32_t		 next_id;
	long			 backoff;
	struct event		*retry;
	struct pending		*slots[VC_SLOTS];
	size_t			 npending;
	void			(*flush_cb)(void *);
	void			*flush_arg;
};

static void	vclient_connect(struct vclient *);

static struct pending **
vclient_slot(struct vclient *vc, uint32_t id)
{
	return &vc->slots[id & (VC_SLOTS - 1)];
}

/* Takes the pending request out of the table; the caller frees it. */
static struct pending *
vclient_take(struct vclient *vc, uint32_t id)
{
	struct pending **pp, *p;

	for (pp = vclient_slot(vc, id); (p = *pp) != NULL; pp = &p->next)
		if (p->id == id) {
			*pp = p->next;
			vc->npending--;
			event_free(p->deadline);
			return p;
		}
	return NULL;
}

static void
vclient_unavailable(struct pending *p)
{
	struct proto_verify_ans a;

	if (p->stats_cb != NULL) {
		p->stats_cb(NULL, p->arg);
		free(p);
		return;
	}
	memset(&a, 0, sizeof(a));
	a.outcome = VERIFY_UNAVAILABLE;
	a.reason = REASON_UNAVAILABLE;
	a.retry_after = 5;
	p->cb(&a, p->arg);
	free(p);
}

static void
vclient_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	struct vclient *vc = p->vc;

	if ((p = vclient_take(vc, p->id)) == NULL)
		return;
	log_warnx("verifier: no answer in time id=%u", p->id);
	vclient_unavailable(p);
}

static void
vclient_fail_all(struct vclient *vc)
{
	struct pending *p;
	size_t i;

	for (i = 0; i < VC_SLOTS; i++)
		while ((p = vc->slots[i]) != NULL) {
			vclient_take(vc, p->id);
			vclient_unavailable(p);
		}
}

static void
vclient_drop(struct vclient *vc, const char *why)
{
	if (vc->bev == NULL)
		return;
	log_warnx("verifier: connection lost path=%s error=\"%s\"", vc->path,
	    why);
	bufferevent_free(vc->bev);
	vc->bev = NULL;
	vc->ready = 0;
	vclient_fail_all(vc);
	/* A FLUSH may be lost with the connection: forget verdicts now. */
	if (vc->flush_cb != NULL)
		vc->flush_cb(vc->flush_arg);
	vclient_connect(vc);
}

static int
vclient_stats_answer(struct vclient *vc, const struct proto_hdr *h,
    const uint8_t *body)
{
	static struct proto_stats st;
	struct pending *p;

	if (proto_decode_stats_ans(body, h->len, &st) == -1)
		return -1;
	if ((p = vclient_take(vc, h->id)) == NULL)
		return 0;
	if (p->stats_cb == NULL) {
		free(p);
		return -1;
	}
	p->stats_cb(&st, p->arg);
	free(p);
	return 0;
}

static int
vclient_answer(struct vclient *vc, const struct proto_hdr *h,
    const uint8_t *body)
{
	struct proto_verify_ans a;
	struct pending *p;

	if (h->type == PROTO_FLUSH) {
		if (proto_decode_flush(body, h->len) == -1)
			return -1;
		if (vc->flush_cb != NULL)
			vc->flush_cb(vc->flush_arg);
		return 0;
	}
	if (h->type == PROTO_STATS_ANS)
		return vclient_stats_answer(vc, h, body);
	if (h->type != PROTO_VERIFY_ANS ||
	    proto_decode_verify_ans(body, h->len, &a) == -1)
		return -1;
	if ((p = vclient_take(vc, h->id)) == NULL)
		return 0;	/* timed out or cancelled meanwhile */
	if (p->cb == NULL) {
		free(p);
		return -1;	/* a VERIFY answer to a STATS request */
	}
	p->cb(&a, p->arg);
	free(p);
	return 0;
}

static int
vclient_hello(struct vclient *vc, const struct proto_hdr *h,
    const uint8_t *body)
{
	struct proto_hello hello;

	if (h->type != PROTO_HELLO ||
	    proto_decode_hello(body, h->len, &hello) == -1)
		return -1;
	if (hello.version != PROTO_VERSION) {
		log_warnx("verifier: protocol version %u, want %u (mixed old "
		    "and new binaries?)", hello.version, PROTO_VERSION);
		return -1;
	}
	vc->ready = 1;
	vc->backoff = VC_BACKOFF_MIN;
	log_info("verifier: connected path=%s", vc->path);
	return 0;
}

static void
vclient_read_cb(struct bufferevent *bev, void *arg)
{
	static uint8_t frame[PROTO_HDR_LEN + PROTO_MAX_BODY];
	struct vclient *vc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct proto_hdr h;
	int rv;

	while (evbuffer_copyout(in, frame, PROTO_HDR_LEN) == PROTO_HDR_LEN) {
		if (proto_hdr_decode(frame, &h) == -1) {
			vclient_drop(vc, "bad frame header");
			return;
		}
		if (evbuffer_get_length(in) < PROTO_HDR_LEN + h.len)
			return;
		evbuffer_remove(in, frame, PROTO_HDR_LEN + h.len);
		if (vc->ready)
			rv = vclient_answer(vc, &h, frame + PROTO_HDR_LEN);
		else
			rv = vclient_hello(vc, &h, frame + PROTO_HDR_LEN);
		if (rv == -1) {
			vclient_drop(vc, "malformed frame");
			return;
		}
	}
}

static void
vclient_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct vclient *vc = arg;

	if (what & BEV_EVENT_CONNECTED)
		return;
	vclient_drop(vc, what & BEV_EVENT_EOF ? "closed by verifierd" :
	    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
vclient_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct vclient *vc = arg;
	struct proto_hello hello;
	struct sockaddr_un sun;
	uint8_t buf[PROTO_HDR_LEN + 64];
	int n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", vc->path);
	vc->bev = bufferevent_socket_new(vc->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (vc->bev == NULL)
		goto fail;
	bufferevent_setcb(vc->bev, vclient_read_cb, NULL, vclient_event_cb,
	    vc);
	if (bufferevent_socket_connect(vc->bev, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1)
		goto fail;
	memset(&hello, 0, sizeof(hello));
	hello.version = PROTO_VERSION;
	strcpy(hello.role, "todod");
	n = proto_encode_hello(buf, sizeof(buf), 0, &hello);
	if (n < 0 || bufferevent_write(vc->bev, buf, n) == -1)
		goto fail;
	bufferevent_enable(vc->bev, EV_READ | EV_WRITE);
	return;
fail:
	if (vc->bev != NULL)
		bufferevent_free(vc->bev);
	vc->bev = NULL;
	vclient_connect(vc);
}

/* Schedules the next connection attempt after the current back-off. */
static void
vclient_connect(struct vclient *vc)
{
	struct timeval tv;

	tv.tv_sec = vc->backoff / 1000;
	tv.tv_usec = (vc->backoff % 1000) * 1000;
	evtimer_add(vc->retry, &tv);
	vc->backoff = vc->backoff * 2 > VC_BACKOFF_MAX ? VC_BACKOFF_MAX :
	    vc->backoff * 2;
}

struct vclient *
vclient_new(struct event_base *base, const char *path, long timeout_ms)
{
	struct vclient *vc;

	if ((vc = calloc(1, sizeof(*vc))) == NULL)
		return NULL;
	vc->base = base;
	vc->timeout_ms = timeout_ms;
	vc->next_id = 1;
	vc->backoff = 0;
	if ((vc->path = strdup(path)) == NULL ||
	    (vc->retry = evtimer_new(base, vclient_retry_cb, vc)) == NULL) {
		free(vc->path);
		free(vc);
		return NULL;
	}
	/* Connect now, so that the first requests find a connection. */
	vc->backoff = VC_BACKOFF_MIN;
	vclient_retry_cb(-1, 0, vc);
	return vc;
}

void
vclient_free(struct vclient *vc)
{
	if (vc == NULL)
		return;
	if (vc->bev != NULL)
		bufferevent_free(vc->bev);
	vc->bev = NULL;
	vclient_fail_all(vc);
	event_free(vc->retry);
	free(vc->path);
	free(vc);
}

static struct pending *
vclient_add(struct vclient *vc, vclient_cb cb, void *arg)
{
	struct timeval tv;
	struct pending *p, **slot;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->deadline = evtimer_new(vc->base, vclient_deadline_cb, p);
	if (p->deadline == NULL) {
		free(p);
		return NULL;
	}
	do {
		p->id = vc->next_id++;
	} while (p->id == 0);
	p->vc = vc;
	p->cb = cb;
	p->arg = arg;
	tv.tv_sec = vc->timeout_ms / 1000;
	tv.tv_usec = (vc->timeout_ms % 1000) * 1000;
	evtimer_add(p->deadline, &tv);
	slot = vclient_slot(vc, p->id);
	p->next = *slot;
	*slot = p;
	vc->npending++;
	return p;
}

/*
 * Sends a frame straight to the socket when nothing is queued before it,
 * which spares arming the write event (two epoll_ctl calls) per request;
 * the rest, if any, goes through the bufferevent.
 */
static int
vclient_write(struct vclient *vc, const uint8_t *buf, size_t n)
{
	struct evbuffer *out = bufferevent_get_output(vc->bev);
	ssize_t w = 0;

	if (evbuffer_get_length(out) == 0) {
		w = send(bufferevent_getfd(vc->bev), buf, n,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w == -1 && errno != EAGAIN && errno != EINTR)
			w = 0;	/* let the bufferevent find the error */
		if (w == -1)
			w = 0;
	}
	if ((size_t)w == n)
		return 0;
	return bufferevent_write(vc->bev, buf + w, n - w);
}

/*
 * Returns the request id (non-zero) when the callback will follow, or 0
 * when verifierd cannot be asked now (the caller answers 503).
 */
uint32_t
vclient_verify(struct vclient *vc, const char *token, size_t len,
    vclient_cb cb, void *arg)
{
	uint8_t buf[PROTO_HDR_LEN + PROTO_MAX_BODY];
	struct pending *p;
	uint32_t id;
	int n;

	/* While connecting, requests queue behind our HELLO. */
	if (vc->bev == NULL)
		return 0;
	if ((p = vclient_add(vc, cb, arg)) == NULL)
		return 0;
	id = p->id;
	n = proto_encode_verify_req(buf, sizeof(buf), id, token, len);
	if (n < 0 || vclient_write(vc, buf, n) == -1) {
		free(vclient_take(vc, id));
		id = 0;
	}
	explicit_bzero(buf, n > 0 ? (size_t)n : 0);
	return id;
}

void
vclient_set_flush_cb(struct vclient *vc, void (*cb)(void *), void *arg)
{
	vc->flush_cb = cb;
	vc->flush_arg = arg;
}

uint32_t
vclient_stats(struct vclient *vc, vclient_stats_cb cb, void *arg)
{
	uint8_t buf[PROTO_HDR_LEN + 8];
	struct pending *p;
	uint32_t id;
	int n;

	if (vc->bev == NULL || (p = vclient_add(vc, NULL, arg)) == NULL)
		return 0;
	p->stats_cb = cb;
	id = p->id;
	n = proto_encode_stats_req(buf, sizeof(buf), id);
	if (n < 0 || vclient_write(vc, buf, n) == -1) {
		free(vclient_take(vc, id));
		return 0;
	}
	return id;
}

void
vclient_cancel(struct vclient *vc, uint32_t id)
{
	free(vclient_take(vc, id));
}

int
vclient_connected(const struct vclient *vc)
{
	return vc->bev != NULL && vc->ready;
}

size_t
vclient_pending(const struct vclient *vc)
{
	return vc->npending;
}

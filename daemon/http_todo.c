/*
 * http_todo.c - routes of the todo API: DRF's contract over evhttp.
 *
 * Called by worker.c for every request evhttp has read in full.  Each
 * request goes parse -> authenticate (verifierd, asynchronously) -> one
 * storage call -> one reply.  Invariants:
 * - exactly one reply on every path, including verifier time-outs;
 * - nothing reaches storage before verifierd has accepted the token, and
 *   the user id used is the one verifierd gave;
 * - a request whose framing is ambiguous (Content-Length together with
 *   Transfer-Encoding, repeated Content-Length, unknown codings) is
 *   answered 400 and its connection closed before routing;
 * - no failure answers 500: storage trouble is 503.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "auth_cache.h"
#include "http_todo.h"
#include "log.h"
#include "mono.h"
#include "proto.h"
#include "todo_db.h"
#include "todo_req.h"
#include "verify_client.h"

#define REALM		"Bearer realm=\"api\""
#define REALM_INVALID	"Bearer realm=\"api\", error=\"invalid_token\""

static const char	*http_method_name(enum evhttp_cmd_type);
static enum met_route	 http_met_route(enum treq_route);

/* One request waiting for verifierd. */
struct http_pending {
	struct http_ctx		*ctx;
	struct evhttp_request	*req;
	enum treq_route		 route;
	uint64_t		 id;
	uint64_t		 start;		/* request arrival, usec */
	uint64_t		 sent;		/* token sent, usec */
	int			 cacheable;	/* key is set */
	uint8_t			 key[AC_KEYLEN];	/* auth cache key */
};

/* Copies s for a log line: printable ASCII only, at most 200 bytes. */
static void
http_log_safe(char *out, size_t len, const char *s)
{
	size_t i = 0;

	for (; s != NULL && *s != '\0' && i + 1 < len && i < 200; s++)
		out[i++] = (*s > 0x20 && *s < 0x7f && *s != '"') ? *s : '?';
	out[i] = '\0';
}

static void
http_access_log(struct http_ctx *ctx, struct evhttp_request *req, int code,
    uint64_t usec)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	char path[256], *peer = NULL;
	ev_uint16_t port = 0;

	http_log_safe(path, sizeof(path), evhttp_request_get_uri(req));
	if (evcon != NULL)
		evhttp_connection_get_peer(evcon, &peer, &port);
	log_info("access method=%s path=\"%s\" status=%d us=%llu user=%llu "
	    "peer=%s", http_method_name(evhttp_request_get_command(req)),
	    path, code, (unsigned long long)usec,
	    (unsigned long long)ctx->cur_user, peer != NULL ? peer : "-");
}

/* An RFC 9110 IMF-fixdate for the Date header, formatted once a second. */
static const char *
http_date(void)
{
	static char buf[40];
	static time_t at = -1;
	time_t now = time(NULL);
	struct tm tm;

	if (now != at && gmtime_r(&now, &tm) != NULL &&
	    strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm) > 0)
		at = now;
	return at != -1 ? buf : NULL;	/* never formatted: no Date */
}

/*
 * Writes an answer evhttp has just queued at once.  evhttp_send_reply()
 * only queues it: the bufferevent writes it in the next turn of the loop
 * (an epoll_ctl, an epoll_wait, the write, another epoll_ctl), and evhttp
 * takes the next request only once its write callback says the buffer is
 * empty.  So: write it here, as that callback would, and when all of it
 * went out run that callback ourselves.  libevent allows it from a request
 * handler: bufferevent_readcb() calls evhttp last and holds a reference to
 * the bufferevent, and evhttp touches neither the request nor the
 * connection after the handler returns.  A short write or an error leaves
 * the rest to the bufferevent, which goes on as usual (evhttp's write
 * time-out, its error callback).
 *
 * With then_close (CONNECT) the connection is freed instead, with
 * whatever the client pipelined behind it unread (and the rest of the
 * answer, if the client does not read either).
 */
static void
http_write_now(struct evhttp_connection *evcon, int then_close)
{
	struct bufferevent *bev;
	struct evbuffer *out;
	bufferevent_data_cb wcb = NULL;
	void *wcbarg = NULL;
	evutil_socket_t fd;
	int n = 0;

	if (evcon == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (fd = bufferevent_getfd(bev)) == -1)
		return;
	out = bufferevent_get_output(bev);
	if (evbuffer_get_length(out) > 0) {
		evbuffer_unfreeze(out, 1);
		n = evbuffer_write(out, fd);
		evbuffer_freeze(out, 1);
	}
	if (then_close) {
		evhttp_connection_free(evcon);
		return;
	}
	if (n <= 0 || evbuffer_get_length(out) != 0)
		return;
	bufferevent_getcb(bev, NULL, &wcb, NULL, &wcbarg);
	if (wcb != NULL)
		wcb(bev, wcbarg);
}

/*
 * Sends what the handler put in the request's output buffer, with
 * Content-Type (when given), Content-Length and Date; HEAD gets the same
 * header fields and no body (evhttp would send the body).
 *
 * CONNECT is never served (there are no tunnels here), but libevent never
 * closes a connection after a CONNECT, whatever the headers say: its
 * answer says "Connection: close", and http_write_now() closes.
 */
static void
http_send(struct evhttp_request *req, int code, const char *reason,
    const char *ctype)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evhttp_request_get_output_buffer(req);
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	size_t len = evbuffer_get_length(body);
	const char *date;
	char clen[24];

	if (cmd == EVHTTP_REQ_CONNECT &&
	    evhttp_find_header(h, "Connection") == NULL)
		evhttp_add_header(h, "Connection", "close");
	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	if (code >= 200 && code != 204 && code != 304) {
		snprintf(clen, sizeof(clen), "%zu", len);
		evhttp_add_header(h, "Content-Length", clen);
	}
	if ((date = http_date()) != NULL)
		evhttp_add_header(h, "Date", date);
	if (cmd == EVHTTP_REQ_HEAD)
		evbuffer_drain(body, len);
	evhttp_send_reply(req, code, reason, NULL);
	http_write_now(evcon, cmd == EVHTTP_REQ_CONNECT);
}

static void
http_reply(struct http_ctx *ctx, struct evhttp_request *req, int code,
    const char *reason, const char *json)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *body = evhttp_request_get_output_buffer(req);
	uint64_t usec = mono_us() - ctx->cur_start;

	if (json != NULL && evbuffer_add(body, json, strlen(json)) == -1) {
		log_warnx("http: out of memory for an answer");
		evbuffer_drain(body, evbuffer_get_length(body));
		code = 503;
		reason = "Service Unavailable";
		json = NULL;
	}
	met_request(ctx->met, ctx->cur_route, code, usec);
	if (ctx->access_log)
		http_access_log(ctx, req, code, usec);
	evhttp_add_header(h, "Vary", "Accept, Authorization");
	if (ctx->stopping)
		evhttp_add_header(h, "Connection", "close");
	/* Before sending: evhttp may free req as part of the reply. */
	if (ctx->busy_cb != NULL)
		ctx->busy_cb(req, -1, ctx->busy_arg);
	http_send(req, code, reason, json != NULL ? "application/json" : NULL);
}

static void
http_detail(struct http_ctx *ctx, struct evhttp_request *req, int code,
    const char *reason, const char *detail)
{
	char *json = treq_detail_json(detail);

	http_reply(ctx, req, code, reason, json);
	free(json);
}

static void
http_unauthorized(struct http_ctx *ctx, struct evhttp_request *req,
    const char *detail, int presented)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "WWW-Authenticate", presented ? REALM_INVALID : REALM);
	http_detail(ctx, req, 401, "Unauthorized", detail);
}

static void
http_unavailable(struct http_ctx *ctx, struct evhttp_request *req,
    unsigned retry, const char *detail)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%u", retry > 0 ? retry : 5);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Retry-After", buf);
	http_detail(ctx, req, 503, "Service Unavailable", detail);
}

static const char *
http_method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET:
		return "GET";
	case EVHTTP_REQ_POST:
		return "POST";
	case EVHTTP_REQ_HEAD:
		return "HEAD";
	case EVHTTP_REQ_PUT:
		return "PUT";
	case EVHTTP_REQ_DELETE:
		return "DELETE";
	case EVHTTP_REQ_OPTIONS:
		return "OPTIONS";
	case EVHTTP_REQ_TRACE:
		return "TRACE";
	case EVHTTP_REQ_CONNECT:
		return "CONNECT";
	case EVHTTP_REQ_PATCH:
		return "PATCH";
	}
	return "UNKNOWN";
}

/* Is the method one that the route's Allow list names? */
static int
http_allowed(enum treq_route route, enum evhttp_cmd_type m)
{
	const char *allow = treq_allow(route), *name = http_method_name(m);
	size_t n = strlen(name);
	const char *p;

	for (p = allow; (p = strstr(p, name)) != NULL; p += n)
		if ((p == allow || p[-1] == ' ') && (p[n] == ',' ||
		    p[n] == '\0'))
			return 1;
	return 0;
}

static void
http_not_allowed(struct http_ctx *ctx, struct evhttp_request *req,
    enum treq_route route)
{
	char detail[64];

	snprintf(detail, sizeof(detail), "Method \"%s\" not allowed.",
	    http_method_name(evhttp_request_get_command(req)));
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    treq_allow(route));
	http_detail(ctx, req, 405, "Method Not Allowed", detail);
}

/*
 * libevent 2.1 lets chunked coding win over Content-Length silently, and
 * does not look at repeated Content-Length headers: refuse all of that.
 */
static int
http_ambiguous_framing(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evkeyval *kv;
	int ncl = 0, nte = 0;

	TAILQ_FOREACH(kv, h, next) {
		if (strcasecmp(kv->key, "Content-Length") == 0)
			ncl++;
		else if (strcasecmp(kv->key, "Transfer-Encoding") == 0) {
			nte++;
			if (strcasecmp(kv->value, "chunked") != 0)
				return 1;
		}
	}
	return ncl > 1 || nte > 1 || (ncl > 0 && nte > 0);
}

/* "http://HOST" for links, or "" when the Host header is unusable. */
static void
http_origin(struct evhttp_request *req, char *buf, size_t len)
{
	const char *host = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Host");

	if (host != NULL && treq_valid_host(host) &&
	    snprintf(buf, len, "http://%s", host) < (int)len)
		return;
	buf[0] = '\0';
}

static void
http_root(struct http_ctx *ctx, struct evhttp_request *req)
{
	const char *host = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Host");
	char *json;

	json = treq_root_json(host != NULL && treq_valid_host(host) ?
	    host : "localhost");
	http_reply(ctx, req, 200, "OK", json);
	free(json);
}

static void
http_options(struct http_ctx *ctx, struct evhttp_request *req,
    enum treq_route route)
{
	char json[256];

	snprintf(json, sizeof(json), "{\"name\":\"%s\",\"description\":\"\","
	    "\"renders\":[\"application/json\"],\"parses\":["
	    "\"application/json\",\"application/x-www-form-urlencoded\"]}",
	    route == TREQ_ROOT ? "Api Root" : route == TREQ_LIST ?
	    "Todo List" : "Todo Instance");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    treq_allow(route));
	http_reply(ctx, req, 200, "OK", json);
}

static void
http_storage_failed(struct http_ctx *ctx, struct evhttp_request *req)
{
	http_unavailable(ctx, req, 1, "Storage temporarily unavailable.");
}

static void
http_send_todo(struct http_ctx *ctx, struct evhttp_request *req, int code,
    const char *reason, const struct todo *t)
{
	char *json;

	json = treq_todo_json(t->id, t->title, t->title_len, t->date,
	    t->user);
	if (json == NULL) {
		http_storage_failed(ctx, req);
		return;
	}
	http_reply(ctx, req, code, reason, json);
	free(json);
}

static void
http_list(struct http_ctx *ctx, struct evhttp_request *req, uint64_t user)
{
	const char *query = evhttp_uri_get_query(
	    evhttp_request_get_evhttp_uri(req));
	uint64_t limit = UINT64_MAX, offset = 0, total = 0;
	char origin[300], base[320], *next = NULL, *prev = NULL;
	char *json = NULL;
	struct treq_item *items = NULL;
	struct todo *todos = NULL;
	size_t i, n = 0;
	int paginated = 0;

	if (treq_parse_query(query, &paginated, &limit, &offset) == -1)
		goto fail;
	if (!paginated) {
		limit = UINT64_MAX;
		offset = 0;
	}
	if (tdb_list(ctx->db, user, offset, limit, &todos, &n, &total) !=
	    TDB_OK)
		goto fail;
	if (n > 0 && (items = calloc(n, sizeof(*items))) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		items[i].id = todos[i].id;
		items[i].title = todos[i].title;
		items[i].title_len = todos[i].title_len;
		items[i].date = todos[i].date;
		items[i].user = todos[i].user;
	}
	http_origin(req, origin, sizeof(origin));
	snprintf(base, sizeof(base), "%s/todo/", origin);
	if (paginated && treq_page_links(base, total, limit, offset, &next,
	    &prev) == -1)
		goto fail;
	json = treq_list_json(items, n, paginated, total, next, prev);
	if (json == NULL)
		goto fail;
	http_reply(ctx, req, 200, "OK", json);
	goto out;
fail:
	http_storage_failed(ctx, req);
out:
	free(json);
	free(next);
	free(prev);
	free(items);
	tdb_list_free(todos, n);
}

/* Parses the body; on failure the reply has been sent. */
static int
http_body(struct http_ctx *ctx, struct evhttp_request *req, int partial,
    struct treq_todo *in)
{
	struct evbuffer *buf = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(buf);
	const char *ctype = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Content-Type");
	char *err = NULL;
	int st;

	st = treq_parse_body(ctype, (const char *)evbuffer_pullup(buf, -1),
	    len, partial, in, &err);
	if (st == 0)
		return 0;
	if (st == 400)
		http_reply(ctx, req, 400, "Bad Request", err);
	else if (st == 415)
		http_reply(ctx, req, 415, "Unsupported Media Type", err);
	else
		http_storage_failed(ctx, req);
	free(err);
	treq_todo_clear(in);
	return -1;
}

static void
http_create(struct http_ctx *ctx, struct evhttp_request *req, uint64_t user)
{
	struct treq_todo in;
	struct todo t;
	char origin[300], loc[340];

	if (http_body(ctx, req, 0, &in) == -1)
		return;
	if (!in.has_date && treq_today(in.date) == -1) {
		treq_todo_clear(&in);
		http_storage_failed(ctx, req);
		return;
	}
	memset(&t, 0, sizeof(t));
	if (tdb_create(ctx->db, user, in.title, in.title_len, in.date, &t) !=
	    TDB_OK) {
		treq_todo_clear(&in);
		http_storage_failed(ctx, req);
		return;
	}
	http_origin(req, origin, sizeof(origin));
	snprintf(loc, sizeof(loc), "%s/todo/%llu/", origin,
	    (unsigned long long)t.id);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
	    loc);
	http_send_todo(ctx, req, 201, "Created", &t);
	tdb_todo_clear(&t);
	treq_todo_clear(&in);
}

static void
http_update(struct http_ctx *ctx, struct evhttp_request *req, uint64_t user,
    uint64_t id, int partial)
{
	struct treq_todo in;
	struct todo t;
	enum tdb_status st;

	/* DRF looks the object up before it validates the body. */
	memset(&t, 0, sizeof(t));
	if ((st = tdb_get(ctx->db, user, id, &t)) != TDB_OK)
		goto done;
	tdb_todo_clear(&t);
	if (http_body(ctx, req, partial, &in) == -1)
		return;
	st = tdb_update(ctx->db, user, id, in.has_title ? in.title : NULL,
	    in.title_len, in.has_date ? in.date : NULL, &t);
	treq_todo_clear(&in);
done:
	if (st == TDB_OK)
		http_send_todo(ctx, req, 200, "OK", &t);
	else if (st == TDB_NOTFOUND)
		http_detail(ctx, req, 404, "Not Found", "Not found.");
	else
		http_storage_failed(ctx, req);
	tdb_todo_clear(&t);
}

static void
http_item(struct http_ctx *ctx, struct evhttp_request *req, uint64_t user,
    uint64_t id)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	enum tdb_status st;
	struct todo t;

	memset(&t, 0, sizeof(t));
	if (m == EVHTTP_REQ_PUT || m == EVHTTP_REQ_PATCH) {
		http_update(ctx, req, user, id, m == EVHTTP_REQ_PATCH);
		return;
	}
	if (m == EVHTTP_REQ_DELETE)
		st = tdb_delete(ctx->db, user, id);
	else
		st = tdb_get(ctx->db, user, id, &t);
	if (st == TDB_NOTFOUND)
		http_detail(ctx, req, 404, "Not Found", "Not found.");
	else if (st != TDB_OK)
		http_storage_failed(ctx, req);
	else if (m == EVHTTP_REQ_DELETE)
		http_reply(ctx, req, 204, "No Content", NULL);
	else
		http_send_todo(ctx, req, 200, "OK", &t);
	tdb_todo_clear(&t);
}

/* The token has been accepted: the request runs as this user. */
static void
http_dispatch(struct http_ctx *ctx, struct evhttp_request *req,
    enum treq_route route, uint64_t id, uint64_t user)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);

	if (!http_allowed(route, m))
		http_not_allowed(ctx, req, route);
	else if (m == EVHTTP_REQ_OPTIONS)
		http_options(ctx, req, route);
	else if (route == TREQ_ROOT)
		http_root(ctx, req);
	else if (route == TREQ_LIST && m == EVHTTP_REQ_POST)
		http_create(ctx, req, user);
	else if (route == TREQ_LIST)
		http_list(ctx, req, user);
	else
		http_item(ctx, req, user, id);
}

/* Keeps an accepted verdict until min(exp, now + ttl). */
static void
http_remember(struct http_ctx *ctx, const struct http_pending *p,
    const struct proto_verify_ans *a)
{
	int64_t now = time(NULL), until = now + ctx->ac_ttl;

	if (ctx->ac == NULL || !p->cacheable)
		return;
	if (a->exp < until)
		until = a->exp;
	if (until > now)
		ac_put(ctx->ac, p->key, a->user, until);
}

/* A verdict this worker already had: no round trip. */
static int
http_recall(struct http_ctx *ctx, const uint8_t key[AC_KEYLEN],
    uint64_t *user)
{
	if (ctx->met != NULL)
		ctx->met->ac_lookups++;
	if (ac_get(ctx->ac, key, time(NULL), user) != 1)
		return 0;
	if (ctx->met != NULL)
		ctx->met->ac_hits++;
	return 1;
}

static void
http_verified_cb(const struct proto_verify_ans *a, void *arg)
{
	struct http_pending *p = arg;
	struct http_ctx *ctx = p->ctx;

	ctx->cur_start = p->start;
	ctx->cur_route = http_met_route(p->route);
	ctx->cur_user = a->outcome == VERIFY_OK ? a->user : 0;
	if (ctx->met != NULL)
		met_observe(&ctx->met->verifier_rtt, mono_us() - p->sent);
	if (a->outcome == VERIFY_OK) {
		http_remember(ctx, p, a);
		http_dispatch(ctx, p->req, p->route, p->id, a->user);
	} else if (a->outcome == VERIFY_DENIED) {
		if (ctx->met != NULL)
			ctx->met->denied[a->reason < MET_NREASONS ?
			    a->reason : MET_NREASONS - 1]++;
		http_unauthorized(ctx, p->req, proto_reason_detail(a->reason),
		    1);
	} else {
		if (ctx->met != NULL)
			ctx->met->unavailable++;
		http_unavailable(ctx, p->req, a->retry_after,
		    "Authentication service unavailable.");
	}
	free(p);
}

static void
http_authenticate(struct http_ctx *ctx, struct evhttp_request *req,
    enum treq_route route, uint64_t id)
{
	const char *hdr = evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Authorization");
	struct http_pending *p;
	uint8_t key[AC_KEYLEN];
	const char *tok;
	uint64_t user;
	size_t len;

	switch (treq_parse_auth(hdr, &tok, &len)) {
	case TREQ_AUTH_NONE:
		/* The API root is open to anonymous callers, as in DRF. */
		if (route == TREQ_ROOT) {
			http_dispatch(ctx, req, route, 0, 0);
			return;
		}
		http_unauthorized(ctx, req,
		    "Authentication credentials were not provided.", 0);
		return;
	case TREQ_AUTH_BAD:
		http_unauthorized(ctx, req, "Invalid token headers", 1);
		return;
	case TREQ_AUTH_TOKEN:
		break;
	}
	if (!proto_token_valid(tok, len)) {
		http_unauthorized(ctx, req, "Unable to parse authentication", 1);
		return;
	}
	if (ctx->ac != NULL) {
		ac_key(ctx->ac, tok, len, key);
		if (http_recall(ctx, key, &user)) {
			ctx->cur_user = user;
			http_dispatch(ctx, req, route, id, user);
			return;
		}
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		http_unavailable(ctx, req, 1,
		    "Authentication service unavailable.");
		return;
	}
	p->ctx = ctx;
	p->req = req;
	p->route = route;
	p->id = id;
	p->start = ctx->cur_start;
	p->sent = mono_us();
	if (ctx->ac != NULL) {
		memcpy(p->key, key, sizeof(p->key));
		p->cacheable = 1;
	}
	if (vclient_verify(ctx->vc, tok, len, http_verified_cb, p) == 0) {
		free(p);
		if (ctx->met != NULL)
			ctx->met->unavailable++;
		http_unavailable(ctx, req, 5,
		    "Authentication service unavailable.");
	}
}

static enum met_route
http_met_route(enum treq_route r)
{
	switch (r) {
	case TREQ_ROOT:
		return MET_ROOT;
	case TREQ_LIST:
		return MET_LIST;
	case TREQ_ITEM:
		return MET_ITEM;
	default:
		return MET_OTHER;
	}
}

/* /healthz: the worker turns; /readyz: it can also serve requests. */
static int
http_health(struct http_ctx *ctx, struct evhttp_request *req,
    const char *path)
{
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	int verifier, ready;
	char json[128];

	if (strcmp(path, "/healthz") != 0 && strcmp(path, "/readyz") != 0)
		return 0;
	ctx->cur_route = MET_HEALTH;
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		http_detail(ctx, req, 405, "Method Not Allowed",
		    "Method not allowed.");
		return 1;
	}
	if (strcmp(path, "/healthz") == 0) {
		http_reply(ctx, req, 200, "OK", "{\"status\":\"ok\"}");
		return 1;
	}
	verifier = vclient_connected(ctx->vc);
	ready = verifier && !tdb_needs_recovery(ctx->db);
	snprintf(json, sizeof(json), "{\"status\":\"%s\",\"verifier\":%s,"
	    "\"database\":%s}", ready ? "ok" : "unavailable",
	    verifier ? "true" : "false",
	    tdb_needs_recovery(ctx->db) ? "false" : "true");
	http_reply(ctx, req, ready ? 200 : 503, ready ? "OK" :
	    "Service Unavailable", json);
	return 1;
}

/* Plain-text errors on the admin listener (evhttp's would be HTML). */
static void
http_admin_error(struct evhttp_request *req, int code, const char *reason)
{
	evbuffer_add_printf(evhttp_request_get_output_buffer(req), "%s\n",
	    reason);
	http_send(req, code, reason, "text/plain");
}

static void
http_admin_send(struct evhttp_request *req, const char *text, size_t len,
    const char *more, size_t morelen)
{
	struct evbuffer *body = evhttp_request_get_output_buffer(req);

	if (evbuffer_add(body, text, len) == -1 ||
	    evbuffer_add(body, more, morelen) == -1) {
		evbuffer_drain(body, evbuffer_get_length(body));
		http_admin_error(req, 503, "Service Unavailable");
		return;
	}
	http_send(req, 200, "OK", "text/plain; version=0.0.4");
}

struct http_admin_pending {
	struct http_ctx		*ctx;
	struct evhttp_request	*req;
};

/* verifierd's counters, as verifierd_<name> gauges/counters. */
static char *
http_render_verifier(const struct proto_stats *st, size_t *len)
{
	/* A pair of lines is at most 2 * (10 + 48) + 8 + 20 + 3 bytes. */
	size_t cap = 256 + (st != NULL ? st->n * 160 : 0), i;
	const char *type;
	char *buf;
	int n = 0;

	if ((buf = malloc(cap)) == NULL)
		return NULL;
	n += snprintf(buf + n, cap - n, "# HELP verifierd_up Whether "
	    "verifierd answered this scrape.\n# TYPE verifierd_up gauge\n"
	    "verifierd_up %d\n", st != NULL);
	for (i = 0; st != NULL && i < st->n; i++) {
		type = strstr(st->item[i].name, "_total") != NULL ? "counter" :
		    "gauge";
		n += snprintf(buf + n, cap - n, "# TYPE verifierd_%s %s\n"
		    "verifierd_%s %llu\n", st->item[i].name, type,
		    st->item[i].name, (unsigned long long)st->item[i].value);
	}
	*len = n;
	return buf;
}

static void
http_admin_stats_cb(const struct proto_stats *st, void *arg)
{
	struct http_admin_pending *ap = arg;
	char *text, *more;
	size_t len, morelen;

	text = met_render(ap->ctx->shared, &len);
	more = http_render_verifier(st, &morelen);
	if (text == NULL || more == NULL)
		http_admin_error(ap->req, 503, "Service Unavailable");
	else
		http_admin_send(ap->req, text, len, more, morelen);
	free(text);
	free(more);
	free(ap);
}

/*
 * The admin listener: Prometheus metrics and nothing else.  verifierd's
 * counters are asked for on each scrape, so they are never stale.
 */
void
http_admin_cb(struct evhttp_request *req, void *arg)
{
	struct http_ctx *ctx = arg;
	const char *path = evhttp_uri_get_path(
	    evhttp_request_get_evhttp_uri(req));
	struct http_admin_pending *ap;

	if (path == NULL || strcmp(path, "/metrics") != 0) {
		http_admin_error(req, 404, "Not Found");
		return;
	}
	if ((ap = calloc(1, sizeof(*ap))) == NULL) {
		http_admin_error(req, 503, "Service Unavailable");
		return;
	}
	ap->ctx = ctx;
	ap->req = req;
	if (vclient_stats(ctx->vc, http_admin_stats_cb, ap) == 0)
		http_admin_stats_cb(NULL, ap);
}

/*
 * The path to route by.  libevent parses a CONNECT target as an authority
 * ("host:port"), which leaves no path: take the raw target's path then,
 * so that CONNECT /todo/ gets the list's 405 and Allow, as in DRF.  An
 * over-long one is cut; the router refuses such lengths anyway.
 */
static const char *
http_path(struct evhttp_request *req, char *buf, size_t len)
{
	const char *raw;
	size_t n;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_CONNECT)
		return evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if ((raw = evhttp_request_get_uri(req)) == NULL || raw[0] != '/')
		return NULL;
	if ((n = strcspn(raw, "?#")) >= len)
		n = len - 1;
	memcpy(buf, raw, n);
	buf[n] = '\0';
	return buf;
}

void
http_todo_cb(struct evhttp_request *req, void *arg)
{
	struct http_ctx *ctx = arg;
	char pbuf[512];
	const char *path = http_path(req, pbuf, sizeof(pbuf));
	enum treq_route route;
	uint64_t id = 0;

	ctx->cur_start = mono_us();
	ctx->cur_route = MET_OTHER;
	ctx->cur_user = 0;
	if (ctx->busy_cb != NULL)
		ctx->busy_cb(req, 1, ctx->busy_arg);
	if (http_ambiguous_framing(req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		http_detail(ctx, req, 400, "Bad Request",
		    "Ambiguous message framing.");
		return;
	}
	if (path != NULL && http_health(ctx, req, path))
		return;
	route = treq_route(path != NULL ? path : "", &id);
	ctx->cur_route = http_met_route(route);
	if (route == TREQ_NOTFOUND) {
		http_detail(ctx, req, 404, "Not Found", "Not found.");
		return;
	}
	http_authenticate(ctx, req, route, id);
}

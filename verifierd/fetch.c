/*
 * fetch.c - libcurl's multi interface integrated into a libevent loop.
 *
 * Called by jwks.c (key sets) and provision.c (/userinfo).  Invariants:
 * only https is spoken, redirects are never followed, peers are verified
 * against the system store or --ca-file, bodies larger than max_body
 * abort the transfer, and every fetch_get() that returned 0 ends in
 * exactly one callback, from the event loop and never from inside
 * fetch_get() itself.  Bearer tokens are wiped once curl has copied them.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <sodium.h>

#include "fetch.h"
#include "log.h"

struct fetcher {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	char			*ca_file;
	long			 timeout_s;
	size_t			 max_body;
	size_t			 active;
};

struct transfer {
	struct fetcher		*f;
	CURL			*easy;
	struct curl_slist	*headers;
	char			*body;
	size_t			 len;
	size_t			 cap;
	int			 too_big;
	long			 max_age;
	long			 retry_after;
	char			 errbuf[CURL_ERROR_SIZE];
	fetch_cb		 cb;
	void			*arg;
};

/* Per-socket event, owned through curl_multi_assign(). */
struct sockev {
	struct event		*ev;
};

static void	fetch_check_done(struct fetcher *);

static size_t
fetch_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nmemb;
	char *nb;

	if (t->len + n > t->f->max_body) {
		t->too_big = 1;
		return 0;
	}
	if (t->len + n + 1 > t->cap) {
		t->cap = t->len + n + 1 < 4096 ? 4096 : (t->len + n + 1) * 2;
		if (t->cap > t->f->max_body + 1)
			t->cap = t->f->max_body + 1;
		if ((nb = realloc(t->body, t->cap)) == NULL)
			return 0;
		t->body = nb;
	}
	memcpy(t->body + t->len, ptr, n);
	t->len += n;
	t->body[t->len] = '\0';
	return n;
}

/* Parses a non-negative decimal of at most 9 digits; -1 otherwise. */
static long
fetch_seconds(const char *p, size_t n)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 9)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

static void
fetch_parse_cache_control(struct transfer *t, const char *v, size_t n)
{
	const char *p, *end = v + n;
	size_t k;

	for (p = v; p + 8 <= end; p++) {
		if (strncasecmp(p, "max-age=", 8) != 0)
			continue;
		if (p != v && p[-1] != ' ' && p[-1] != ',')
			continue;
		p += 8;
		for (k = 0; p + k < end && isdigit((unsigned char)p[k]); k++)
			;
		t->max_age = fetch_seconds(p, k);
		return;
	}
}

static size_t
fetch_header_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct transfer *t = arg;
	size_t n = size * nitems, k;
	char *v;

	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if ((v = memchr(buf, ':', n)) == NULL)
		return size * nitems;
	k = v - buf;
	v++;
	while (v < buf + n && (*v == ' ' || *v == '\t'))
		v++;
	if (k == 13 && strncasecmp(buf, "cache-control", 13) == 0)
		fetch_parse_cache_control(t, v, buf + n - v);
	else if (k == 11 && strncasecmp(buf, "retry-after", 11) == 0)
		t->retry_after = fetch_seconds(v, buf + n - v);
	return size * nitems;
}

static void
fetch_socket_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fetcher *f = arg;
	int flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(f->multi, fd, flags, &running);
	fetch_check_done(f);
}

static void
fetch_timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct fetcher *f = arg;
	int running;

	curl_multi_socket_action(f->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	fetch_check_done(f);
}

static int
fetch_socket_cb(CURL *easy, curl_socket_t s, int what, void *arg,
    void *sockp)
{
	struct fetcher *f = arg;
	struct sockev *se = sockp;
	short kind = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (se != NULL) {
			event_free(se->ev);
			free(se);
			curl_multi_assign(f->multi, s, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (se == NULL) {
		if ((se = calloc(1, sizeof(*se))) == NULL)
			return -1;
		curl_multi_assign(f->multi, s, se);
	} else
		event_free(se->ev);
	se->ev = event_new(f->base, s, kind, fetch_socket_event_cb, f);
	if (se->ev == NULL || event_add(se->ev, NULL) == -1)
		return -1;
	return 0;
}

static int
fetch_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	struct fetcher *f = arg;
	struct timeval tv;

	if (timeout_ms < 0)
		return evtimer_del(f->timer);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	return evtimer_add(f->timer, &tv);
}

static void
fetch_transfer_free(struct transfer *t)
{
	struct curl_slist *l;

	if (t->easy != NULL)
		curl_easy_cleanup(t->easy);
	/* The Authorization header holds a bearer token. */
	for (l = t->headers; l != NULL; l = l->next)
		sodium_memzero(l->data, strlen(l->data));
	curl_slist_free_all(t->headers);
	free(t->body);
	free(t);
}

static void
fetch_finish(struct fetcher *f, struct transfer *t, CURLcode rc)
{
	struct fetch_result r;

	memset(&r, 0, sizeof(r));
	r.max_age = t->max_age;
	r.retry_after = t->retry_after;
	r.body = t->body != NULL ? t->body : "";
	r.len = t->len;
	if (rc == CURLE_OK) {
		r.ok = 1;
		curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r.status);
	} else if (t->too_big)
		r.error = "document too large";
	else
		r.error = t->errbuf[0] != '\0' ? t->errbuf :
		    curl_easy_strerror(rc);
	curl_multi_remove_handle(f->multi, t->easy);
	f->active--;
	t->cb(&r, t->arg);
	fetch_transfer_free(t);
}

static void
fetch_check_done(struct fetcher *f)
{
	struct transfer *t;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &t);
		fetch_finish(f, t, m->data.result);
	}
}

struct fetcher *
fetch_new(struct event_base *base, const char *ca_file, long timeout_s,
    size_t max_body)
{
	struct fetcher *f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->base = base;
	f->timeout_s = timeout_s;
	f->max_body = max_body;
	if (ca_file != NULL && (f->ca_file = strdup(ca_file)) == NULL)
		goto fail;
	if ((f->multi = curl_multi_init()) == NULL)
		goto fail;
	if ((f->timer = evtimer_new(base, fetch_timer_event_cb, f)) == NULL)
		goto fail;
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, fetch_socket_cb);
	curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, f);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, fetch_timer_cb);
	curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, f);
	return f;
fail:
	fetch_free(f);
	return NULL;
}

void
fetch_free(struct fetcher *f)
{
	if (f == NULL)
		return;
	if (f->multi != NULL)
		curl_multi_cleanup(f->multi);
	if (f->timer != NULL)
		event_free(f->timer);
	free(f->ca_file);
	free(f);
}

size_t
fetch_active(const struct fetcher *f)
{
	return f->active;
}

/* Adds "Authorization: Bearer ..." and wipes the temporary copy. */
static int
fetch_add_bearer(struct transfer *t, const char *bearer)
{
	size_t n = strlen(bearer) + sizeof("Authorization: Bearer ");
	struct curl_slist *l;
	char *h;

	if ((h = malloc(n)) == NULL)
		return -1;
	snprintf(h, n, "Authorization: Bearer %s", bearer);
	l = curl_slist_append(t->headers, h);
	sodium_memzero(h, n);
	free(h);
	if (l == NULL)
		return -1;
	t->headers = l;
	return 0;
}

static int
fetch_setup(struct transfer *t, const char *url, const char *bearer)
{
	CURL *e = t->easy;
	struct curl_slist *l;

	if ((l = curl_slist_append(NULL, "Accept: application/json")) == NULL)
		return -1;
	t->headers = l;
	if (bearer != NULL && fetch_add_bearer(t, bearer) == -1)
		return -1;
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK)
		return -1;
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (t->f->ca_file != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, t->f->ca_file);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, t->f->timeout_s);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, t->f->timeout_s);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)t->f->max_body);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "verifierd/" "0.1");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fetch_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, fetch_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	return 0;
}

int
fetch_get(struct fetcher *f, const char *url, const char *bearer,
    fetch_cb cb, void *arg)
{
	struct transfer *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	t->f = f;
	t->cb = cb;
	t->arg = arg;
	t->max_age = -1;
	t->retry_after = -1;
	if ((t->easy = curl_easy_init()) == NULL ||
	    fetch_setup(t, url, bearer) == -1 ||
	    curl_multi_add_handle(f->multi, t->easy) != CURLM_OK) {
		log_warnx("fetch: cannot start transfer url=%s", url);
		fetch_transfer_free(t);
		return -1;
	}
	f->active++;
	return 0;
}

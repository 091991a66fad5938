/*
 * fetch.h - outbound HTTPS GETs (libcurl multi) driven by a libevent loop.
 *
 * The verifier's only network client: JWKS documents and /userinfo.  A
 * slow IdP never blocks the loop; each transfer ends in exactly one call
 * of its callback.
 */
#ifndef TODOD_FETCH_H
#define TODOD_FETCH_H

#include <stddef.h>

struct event_base;
struct fetcher;

struct fetch_result {
	int		 ok;		/* an HTTP answer was received */
	long		 status;	/* HTTP status when ok */
	const char	*body;		/* NUL-terminated, len bytes */
	size_t		 len;
	long		 max_age;	/* Cache-Control max-age, -1 if none */
	long		 retry_after;	/* Retry-After seconds, -1 if none */
	const char	*error;		/* why, when !ok */
};

typedef void (*fetch_cb)(const struct fetch_result *, void *);

struct fetcher	*fetch_new(struct event_base *, const char *ca_file,
		    long timeout_s, size_t max_body);
void		 fetch_free(struct fetcher *);
int		 fetch_get(struct fetcher *, const char *url,
		    const char *bearer, fetch_cb, void *);
size_t		 fetch_active(const struct fetcher *);

#endif

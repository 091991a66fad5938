/*
 * jwks.h - the tenant's signing keys: fetched, cached, refreshed, kept.
 */
#ifndef TODOD_JWKS_H
#define TODOD_JWKS_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct fetcher;
struct jwk;
struct jwks;

struct jwks_conf {
	const char	*url;		/* https://DOMAIN/.well-known/jwks.json */
	const char	*state_path;	/* persisted last good set, or NULL */
	long		 min_ttl;	/* bounds for Cache-Control max-age */
	long		 max_ttl;
	long		 cooldown;	/* unknown-kid refetch, at most once */
};

enum jwks_want {
	JWKS_WAIT,		/* a fetch is under way: the callback follows */
	JWKS_UNKNOWN,		/* the IdP does not have this kid */
	JWKS_DOWN,		/* no answer from the IdP to settle it */
};

typedef void (*jwks_wait_cb)(void *);
typedef void (*jwks_drop_cb)(const char *kid, void *);

struct jwks	*jwks_new(struct event_base *, struct fetcher *,
		    const struct jwks_conf *, jwks_drop_cb, void *);
void		 jwks_free(struct jwks *);
void		 jwks_set_conf(struct jwks *, const struct jwks_conf *);
int		 jwks_load_state(struct jwks *);
void		 jwks_refresh(struct jwks *);
const struct jwk *jwks_find(const struct jwks *, const char *kid);
enum jwks_want	 jwks_want_kid(struct jwks *, const char *kid, int again,
		    jwks_wait_cb, void *);
int		 jwks_ready(const struct jwks *);
long		 jwks_age(const struct jwks *);
size_t		 jwks_count(const struct jwks *);
void		 jwks_stats(const struct jwks *, uint64_t *ok, uint64_t *failed,
		    uint64_t *kid_refetches);

#endif

/*
 * vcache.h - verifierd's verification cache: BLAKE2b(token) -> outcome.
 *
 * Lets verifierd answer a token it has already judged without repeating
 * the signature check.  Keys are keyed BLAKE2b-256 hashes of the raw
 * token; the token itself is never stored.  Bounded; single-threaded
 * (verifierd's one event loop owns it).
 */
#ifndef TODOD_VCACHE_H
#define TODOD_VCACHE_H

#include <stddef.h>
#include <stdint.h>

#define VC_KEYLEN	32

struct vcache;

/*
 * One record per local user id, shared by all of that user's cached
 * tokens and freed with the last of them.  email may be NULL.
 */
struct vc_ident {
	uint64_t	 user;
	char		*iss;
	char		*sub;
	char		*email;
	unsigned	 refs;
};

/*
 * A lookup result.  For a positive entry: user, exp, scope ("" when the
 * token had none) and ident.  For a negative one: reason only.  The
 * pointers stay valid until the next mutating call on the cache.
 */
struct vc_hit {
	int		 positive;
	uint8_t		 reason;
	uint64_t	 user;
	int64_t		 exp;
	const char	*scope;
	const struct vc_ident *ident;
};

/* NULL with errno set (EINVAL for 0 or more than VC_MAX_ENTRIES). */
#define VC_MAX_ENTRIES	((size_t)1 << 31)
struct vcache	*vc_new(size_t max_entries);
void		 vc_free(struct vcache *);

void	vc_key(const struct vcache *, const char *token, size_t len,
	    uint8_t out[VC_KEYLEN]);

/* 1 on a hit, 0 on a miss; an entry found expired is removed. */
int	vc_get(struct vcache *, const uint8_t key[VC_KEYLEN], int64_t now,
	    struct vc_hit *out);

/*
 * Stores an accepted token, replacing any entry under the same key.  The
 * entry is valid while now < min(exp, until); the caller passes
 * until = now + max_ttl.  kid (NULL for none) names the key that
 * verified the token, for vc_drop_kid().  iss and sub must not be NULL;
 * email and scope may be.  0, or -1 with errno set (ENOMEM, EINVAL);
 * on failure the cache is as it was.
 */
int	vc_put_ok(struct vcache *, const uint8_t key[VC_KEYLEN],
	    const char *kid, uint64_t user, const char *iss, const char *sub,
	    const char *email, const char *scope, int64_t exp, int64_t until);

/* Stores a refused token, valid while now < until.  0 or -1 as above. */
int	vc_put_denied(struct vcache *, const uint8_t key[VC_KEYLEN],
	    uint8_t reason, int64_t until);

/* Removes the positive entries verified by kid; returns how many. */
size_t	vc_drop_kid(struct vcache *, const char *kid);

size_t	vc_clear(struct vcache *);
size_t	vc_count(const struct vcache *);
size_t	vc_idents(const struct vcache *);
void	vc_stats(const struct vcache *, uint64_t *hits, uint64_t *misses,
	    uint64_t *evictions);

#endif

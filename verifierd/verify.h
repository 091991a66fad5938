/*
 * verify.h - one bearer token in, one verdict out.
 */
#ifndef TODOD_VERIFY_H
#define TODOD_VERIFY_H

#include <stddef.h>
#include <stdint.h>

struct jwks;
struct provisioner;
struct proto_verify_ans;
struct udb;
struct vcache;
struct verifier;

struct verifier_conf {
	const char	*issuer;	/* https://DOMAIN/ */
	const char	*audience;
	unsigned	 alg_mask;	/* 1u << enum jose_alg */
	long		 leeway;
	long		 cache_ttl;	/* cap on a positive cache entry */
	long		 neg_ttl;	/* negative cache entry */
};

struct verify_stats {
	uint64_t	 requests;
	uint64_t	 cache_hits;
	uint64_t	 accepted;
	uint64_t	 denied[8];	/* by enum verify_reason */
	uint64_t	 unavailable;
};

typedef void (*verify_cb)(const struct proto_verify_ans *, void *);

struct verifier	*verifier_new(struct jwks *, struct vcache *, struct udb *,
		    struct provisioner *, const struct verifier_conf *);
int		 verifier_set_conf(struct verifier *,
		    const struct verifier_conf *);
void		 verifier_free(struct verifier *);
void		 verify_token(struct verifier *, const char *token,
		    size_t len, verify_cb, void *);
void		 verifier_drop_kid(const char *kid, void *);
const struct verify_stats *verifier_stats(const struct verifier *);

#endif

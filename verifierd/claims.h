/*
 * claims.h - registered-claim rules (RFC 7519, RFC 8725) for a decoded,
 * signature-verified JWT payload.
 *
 * Network-free: takes a jansson object and plain C values, returns an
 * enum.  verify.c calls claims_check() after jose.c has checked the
 * signature; the result maps onto the seed's messages ("token is
 * expired" for CLAIMS_EXPIRED, "incorrect claims ..." otherwise).
 */
#ifndef TODOD_CLAIMS_H
#define TODOD_CLAIMS_H

#include <stdint.h>

#include <jansson.h>

#define CLAIMS_ISS_MAX		256
#define CLAIMS_SUB_MAX		256
#define CLAIMS_SCOPE_MAX	1024
#define CLAIMS_AUD_MAX		32	/* entries in an "aud" array */

struct claims_policy {
	const char	*issuer;	/* exactly "https://DOMAIN/" */
	const char	*audience;
	int64_t		 leeway;	/* seconds of clock skew allowed */
};

/* Filled on CLAIMS_OK only; all zero otherwise. */
struct claims {
	char		 iss[CLAIMS_ISS_MAX + 1];
	char		 sub[CLAIMS_SUB_MAX + 1];
	char		 scope[CLAIMS_SCOPE_MAX + 1];	/* "" when absent */
	int64_t		 exp;
};

enum claims_result {
	CLAIMS_OK = 0,
	CLAIMS_EXPIRED,
	CLAIMS_INVALID		/* iss/aud/nbf/iat/sub/scope, or wrong types */
};

/*
 * Checks the payload at time `now' (seconds since the epoch).  `why', if
 * not NULL, receives a short static text for logs and todo-verify
 * ("exp missing", "aud mismatch", ...); "ok" on success.
 */
enum claims_result claims_check(const json_t *payload,
    const struct claims_policy *policy, int64_t now, struct claims *out,
    const char **why);

/* 1 if `scope' is one of the space-separated tokens of c->scope, else 0. */
int	claims_has_scope(const struct claims *c, const char *scope);

#endif

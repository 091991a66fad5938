/*
 * jwk.h - JOSE algorithm names, public JSON Web Keys and key sets.
 *
 * Only public signature keys usable with our allowlisted algorithms get
 * through jwk_parse(); anything else (symmetric, private, encryption,
 * weak or malformed keys) is refused rather than half-supported.
 */
#ifndef TODOD_JWK_H
#define TODOD_JWK_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

/* Values are bit positions in an algorithm mask; 0 is never allowed. */
enum jose_alg {
	JOSE_ALG_INVALID = 0,
	JOSE_RS256,
	JOSE_RS384,
	JOSE_RS512,
	JOSE_PS256,
	JOSE_PS384,
	JOSE_PS512,
	JOSE_ES256,
	JOSE_ES384,
	JOSE_EDDSA,
	JOSE_ALG_COUNT
};

/* Every supported algorithm. */
#define JOSE_ALG_MASK_ALL \
	(((1u << JOSE_ALG_COUNT) - 1u) & ~(1u << JOSE_ALG_INVALID))

/* Exact, case-sensitive JWA name; JOSE_ALG_INVALID for all others. */
enum jose_alg	 jose_alg_from_name(const char *);
/* JWA name, or "invalid". */
const char	*jose_alg_name(enum jose_alg);
/*
 * Parse a comma-separated list such as "RS256,ES256" into a mask of
 * 1u << alg bits.  Blanks around names are ignored.  An empty list, an
 * empty item or any name we do not support ("none", "HS256" ...) makes
 * it fail with -1 and *mask untouched.
 */
int		 jose_alg_mask_parse(const char *csv, unsigned *mask);

#define JWK_KID_MAX		128	/* bytes, printable ASCII */
#define JWK_RSA_MIN_BITS	2048
#define JWK_RSA_MAX_BITS	4096	/* struct jws holds 512-byte sigs */
#define JWKSET_MAX		64	/* entries in "keys" */
#define JWKSET_MAXDEPTH		16	/* JSON nesting in a key set */

#define JWK_KTY_RSA	1
#define JWK_KTY_EC	2
#define JWK_KTY_OKP	3

#define JWK_CRV_NONE	0
#define JWK_CRV_P256	1
#define JWK_CRV_P384	2
#define JWK_CRV_ED25519	3

struct jwk {
	char		 kid[JWK_KID_MAX + 1];
	int		 has_kid;
	int		 kty;		/* JWK_KTY_RSA/EC/OKP */
	int		 crv;		/* JWK_CRV_*, NONE for RSA */
	enum jose_alg	 alg;		/* JOSE_ALG_INVALID when absent */
	unsigned	 bits;		/* modulus or field size */
	EVP_PKEY	*pkey;		/* RSA, EC */
	uint8_t		 ed25519[32];
	/*
	 * RSA verification contexts by alg (RS256..PS512), made on first
	 * use by jose.c and kept: building one costs more than hashing a
	 * token.  A cache, so it may change behind a const key.
	 */
	EVP_PKEY_CTX	*vctx[6];
};

/*
 * Fill *out from one JWK object.  Returns 0 if the key may verify
 * signatures, -1 otherwise with the reason in err (may be NULL).
 * *out needs jwk_free() after 0 and is zeroed after -1.
 */
int	jwk_parse(const json_t *obj, struct jwk *out, char *err,
	    size_t errlen);
void	jwk_free(struct jwk *);
/* 1 if s[0..len) is 1..JWK_KID_MAX printable ASCII characters. */
int	jwk_kid_valid(const char *s, size_t len);
/*
 * 1 if the key's type, curve and (when present) "alg" fit a token
 * signed with alg, 0 otherwise.
 */
int	jwk_fits(const struct jwk *, enum jose_alg);

struct jwkset {
	size_t		 n;
	struct jwk	*keys;
};

/*
 * Parse a JWKS document {"keys": [...]}.  Keys that are unusable, lack a
 * "kid" or share their "kid" with another entry are left out.  Returns
 * -1 (err says why) when the document is not strict JSON, "keys" is not
 * an array or has more than JWKSET_MAX entries; otherwise 0, with a
 * summary ("2 of 3 keys usable") in err, even when no key is usable.
 */
int		 jwkset_parse(const char *doc, size_t len, struct jwkset *out,
		    char *err, size_t errlen);
const struct jwk *jwkset_find(const struct jwkset *, const char *kid);
void		 jwkset_free(struct jwkset *);

#endif

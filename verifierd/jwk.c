/*
 * jwk.c - algorithm names, public JWK parsing and JWKS key sets.
 *
 * Called by jwks.c with the document fetched from the IdP, by jose.c
 * (jwk_fits) and by the tests.  Invariants: a struct jwk that
 * jwk_parse() returned 0 for holds a public signature key of a type we
 * can verify with, of acceptable strength, with no private material
 * ever having been copied out of the JSON; a key set never holds two
 * keys with the same kid.  Keys are built with EVP_PKEY_fromdata(); no
 * deprecated RSA_ / EC_KEY_ calls.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <sodium.h>

#include "b64url.h"
#include "jsonx.h"
#include "jwk.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#define JWK_RSA_N_MAX (JWK_RSA_MAX_BITS / 8 + 1) /* detect too big */
#define JWK_RSA_E_MAX 4 /* e < 2^32 */
#define JWK_EC_COORD_MAX 48

static const char *const jose_alg_names[JOSE_ALG_COUNT] = {
    [JOSE_ALG_INVALID] = "invalid",
    [JOSE_RS256] = "RS256",
    [JOSE_RS384] = "RS384",
    [JOSE_RS512] = "RS512",
    [JOSE_PS256] = "PS256",
    [JOSE_PS384] = "PS384",
    [JOSE_PS512] = "PS512",
    [JOSE_ES256] = "ES256",
    [JOSE_ES384] = "ES384",
    [JOSE_EDDSA] = "EdDSA",
};

/*
 * Members that carry private or symmetric key material (RFC 7518
 * sections 6.2.2, 6.3.2 and 6.4).  A public key set containing any of
 * them was published by mistake; we do not use such an entry at all.
 */
static const char *const jwk_private_members[] = {
    "d", "p", "q", "dp", "dq", "qi", "oth", "k"};

enum jose_alg
jose_alg_from_name(const char *name)
{
	int i;

	if (name == NULL)
		return JOSE_ALG_INVALID;
	for (i = JOSE_ALG_INVALID + 1; i < JOSE_ALG_COUNT; i++)
		if (strcmp(name, jose_alg_names[i]) == 0)
			return (enum jose_alg)i;
	return JOSE_ALG_INVALID;
}

const char *
jose_alg_name(enum jose_alg alg)
{
	if (alg <= JOSE_ALG_INVALID || alg >= JOSE_ALG_COUNT)
		return jose_alg_names[JOSE_ALG_INVALID];
	return jose_alg_names[alg];
}

int
jose_alg_mask_parse(const char *csv, unsigned *mask)
{
	char name[16];
	const char *p, *end;
	size_t len;
	unsigned m = 0;
	enum jose_alg alg;

	if (csv == NULL)
		return -1;
	for (p = csv;; p = end + 1) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= sizeof(name))
			return -1;
		memcpy(name, p, len);
		name[len] = '\0';
		if ((alg = jose_alg_from_name(name)) == JOSE_ALG_INVALID)
			return -1;
		m |= 1u << alg;
		if (*end == '\0')
			break;
	}
	*mask = m;
	return 0;
}

static int
jwk_fail(char *err, size_t errlen, const char *msg)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s", msg);
	return -1;
}

/*
 * Look up an optional string member: 0 if absent, 1 with *out set if a
 * string, -1 if present with another type.
 */
static int
jwk_get_str(const json_t *obj, const char *name, const char **out)
{
	json_t *v;

	*out = NULL;
	if ((v = json_object_get(obj, name)) == NULL)
		return 0;
	if (!json_is_string(v))
		return -1;
	*out = json_string_value(v);
	return 1;
}

/* Strictly decode a required base64url string member. */
static int
jwk_get_b64(
    const json_t *obj, const char *name, uint8_t *buf, size_t cap, size_t *len)
{
	json_t *v;

	v = json_object_get(obj, name);
	if (!json_is_string(v))
		return -1;
	if (b64url_decode(json_string_value(v), json_string_length(v), buf, cap,
		len) != 0)
		return -1;
	return *len > 0 ? 0 : -1;
}

int
jwk_kid_valid(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > JWK_KID_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

/* "key_ops", if present, must be an array of strings naming "verify". */
static int
jwk_check_key_ops(const json_t *ops)
{
	json_t *op;
	size_t i;
	int verify = 0;

	if (!json_is_array(ops))
		return -1;
	for (i = 0; i < json_array_size(ops); i++) {
		op = json_array_get(ops, i);
		if (!json_is_string(op))
			return -1;
		if (strcmp(json_string_value(op), "verify") == 0)
			verify = 1;
	}
	return verify ? 0 : -1;
}

/* Checks every key type shares: private members, use, key_ops, kid. */
static int
jwk_check_common(const json_t *obj, struct jwk *out, char *err, size_t errlen)
{
	const char *s;
	json_t *v;
	size_t i;

	for (i = 0; i < nitems(jwk_private_members); i++)
		if (json_object_get(obj, jwk_private_members[i]) != NULL)
			return jwk_fail(err, errlen, "private key material");
	if (jwk_get_str(obj, "use", &s) < 0 ||
	    (s != NULL && strcmp(s, "sig") != 0))
		return jwk_fail(err, errlen, "\"use\" is not \"sig\"");
	if ((v = json_object_get(obj, "key_ops")) != NULL &&
	    jwk_check_key_ops(v) != 0)
		return jwk_fail(err, errlen, "\"key_ops\" lacks \"verify\"");
	if ((v = json_object_get(obj, "kid")) != NULL) {
		if (!json_is_string(v) ||
		    !jwk_kid_valid(json_string_value(v), json_string_length(v)))
			return jwk_fail(err, errlen, "bad \"kid\"");
		memcpy(out->kid, json_string_value(v), json_string_length(v));
		out->kid[json_string_length(v)] = '\0';
		out->has_kid = 1;
	}
	return 0;
}

/* Build an RSA public EVP_PKEY from n and e. */
static EVP_PKEY *
jwk_rsa_pkey(const BIGNUM *n, const BIGNUM *e)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

/* 1 if r is a power of g modulo the small prime p. */
static int
jwk_in_subgroup(unsigned long r, unsigned long g, unsigned long p)
{
	unsigned long x = 1;

	do {
		if (x == r)
			return 1;
		x = x * g % p;
	} while (x != 1);
	return 0;
}

/*
 * Moduli from the Infineon RSALib flaw (ROCA, CVE-2017-15361) are
 * products of primes of the form k * M + 65537^a mod M, so n mod each
 * small prime dividing M lies in the subgroup generated by 65537.  A
 * normal modulus passes all 38 tests with negligible probability.
 * Returns 1 for the fingerprint, 0 without, -1 on error.
 */
static int
jwk_rsa_roca(const BIGNUM *n)
{
	static const unsigned char primes[] = {3, 5, 7, 11, 13, 17, 19, 23, 29,
	    31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97, 101,
	    103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167};
	BN_ULONG r;
	size_t i;

	for (i = 0; i < nitems(primes); i++) {
		if ((r = BN_mod_word(n, primes[i])) == (BN_ULONG)-1)
			return -1;
		if (!jwk_in_subgroup(r, 65537 % primes[i], primes[i]))
			return 0;
	}
	return 1;
}

/*
 * Size, parity and exponent rules for an RSA key.  e must be odd and in
 * [3, 2^32): e = 1 makes every signature trivially forgeable and even
 * or huge exponents are never produced by sane key generators.
 */
static const char *
jwk_rsa_weak(const BIGNUM *n, const BIGNUM *e)
{
	int bits = BN_num_bits(n);

	if (bits < JWK_RSA_MIN_BITS)
		return "RSA modulus too small";
	if (bits > JWK_RSA_MAX_BITS)
		return "RSA modulus too large";
	if (!BN_is_odd(n))
		return "RSA modulus even";
	if (!BN_is_odd(e) || BN_is_one(e) || BN_num_bits(e) > 32)
		return "bad RSA exponent";
	if (jwk_rsa_roca(n) != 0)
		return "RSA modulus has the ROCA fingerprint";
	return NULL;
}

static int
jwk_parse_rsa(const json_t *obj, struct jwk *out, char *err, size_t errlen)
{
	uint8_t nb[JWK_RSA_N_MAX], eb[JWK_RSA_E_MAX];
	size_t nlen, elen;
	BIGNUM *n = NULL, *e = NULL;
	const char *why = "bad RSA \"n\" or \"e\"";
	int rc = -1;

	/* Base64urlUInt is minimal: no leading zero octet (RFC 7518 2). */
	if (jwk_get_b64(obj, "n", nb, sizeof(nb), &nlen) != 0 ||
	    jwk_get_b64(obj, "e", eb, sizeof(eb), &elen) != 0 || nb[0] == 0 ||
	    eb[0] == 0)
		goto out;
	why = "out of memory";
	if ((n = BN_bin2bn(nb, (int)nlen, NULL)) == NULL ||
	    (e = BN_bin2bn(eb, (int)elen, NULL)) == NULL)
		goto out;
	if ((why = jwk_rsa_weak(n, e)) != NULL)
		goto out;
	why = "RSA key rejected by OpenSSL";
	if ((out->pkey = jwk_rsa_pkey(n, e)) == NULL)
		goto out;
	out->kty = JWK_KTY_RSA;
	out->bits = (unsigned)BN_num_bits(n);
	rc = 0;
out:
	BN_free(n);
	BN_free(e);
	if (rc != 0)
		jwk_fail(err, errlen, why);
	return rc;
}

/*
 * Build an EC public EVP_PKEY from an uncompressed point and check it:
 * on the curve, not the point at infinity (EVP_PKEY_public_check).
 */
static EVP_PKEY *
jwk_ec_pkey(const char *group, const uint8_t *pt, size_t ptlen)
{
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
	EVP_PKEY *pkey = NULL;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_utf8_string(
		bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(
		bld, OSSL_PKEY_PARAM_PUB_KEY, pt, ptlen) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
		pkey = NULL;
		goto out;
	}
	if ((chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check(chk) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	EVP_PKEY_CTX_free(chk);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	return pkey;
}

static int
jwk_parse_ec(const json_t *obj, struct jwk *out, char *err, size_t errlen)
{
	uint8_t pt[1 + 2 * JWK_EC_COORD_MAX];
	const char *crv, *group;
	size_t clen, xlen, ylen;

	if (jwk_get_str(obj, "crv", &crv) != 1)
		return jwk_fail(err, errlen, "EC key without \"crv\"");
	if (strcmp(crv, "P-256") == 0) {
		out->crv = JWK_CRV_P256;
		group = "prime256v1";
		clen = 32;
	} else if (strcmp(crv, "P-384") == 0) {
		out->crv = JWK_CRV_P384;
		group = "secp384r1";
		clen = 48;
	} else
		return jwk_fail(err, errlen, "unsupported EC curve");
	/* RFC 7518 6.2.1.2: coordinates are exactly the field size. */
	pt[0] = 0x04;
	if (jwk_get_b64(obj, "x", pt + 1, clen, &xlen) != 0 || xlen != clen ||
	    jwk_get_b64(obj, "y", pt + 1 + clen, clen, &ylen) != 0 ||
	    ylen != clen)
		return jwk_fail(err, errlen, "bad EC \"x\" or \"y\"");
	if ((out->pkey = jwk_ec_pkey(group, pt, 1 + 2 * clen)) == NULL)
		return jwk_fail(err, errlen, "EC point not on the curve");
	out->kty = JWK_KTY_EC;
	out->bits = (unsigned)clen * 8;
	return 0;
}

static int
jwk_parse_okp(const json_t *obj, struct jwk *out, char *err, size_t errlen)
{
	const char *crv;
	size_t len;

	if (jwk_get_str(obj, "crv", &crv) != 1 || strcmp(crv, "Ed25519") != 0)
		return jwk_fail(err, errlen, "OKP key is not Ed25519");
	if (jwk_get_b64(obj, "x", out->ed25519, 32, &len) != 0 || len != 32)
		return jwk_fail(err, errlen, "bad Ed25519 \"x\"");
	/* Canonical, on the curve, in the prime-order subgroup. */
	if (crypto_core_ed25519_is_valid_point(out->ed25519) != 1)
		return jwk_fail(err, errlen, "Ed25519 point invalid");
	out->kty = JWK_KTY_OKP;
	out->crv = JWK_CRV_ED25519;
	out->bits = 256;
	return 0;
}

/* Type-specific members; "oct" and unknown types are refused. */
static int
jwk_parse_type(const json_t *obj, struct jwk *out, char *err, size_t errlen)
{
	const char *kty;

	if (jwk_get_str(obj, "kty", &kty) != 1)
		return jwk_fail(err, errlen, "missing \"kty\"");
	if (strcmp(kty, "RSA") == 0)
		return jwk_parse_rsa(obj, out, err, errlen);
	if (strcmp(kty, "EC") == 0)
		return jwk_parse_ec(obj, out, err, errlen);
	if (strcmp(kty, "OKP") == 0)
		return jwk_parse_okp(obj, out, err, errlen);
	if (strcmp(kty, "oct") == 0)
		return jwk_fail(err, errlen, "symmetric key");
	return jwk_fail(err, errlen, "unknown \"kty\"");
}

int
jwk_parse(const json_t *obj, struct jwk *out, char *err, size_t errlen)
{
	const char *alg;
	int r;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return jwk_fail(err, errlen, "key is not an object");
	if (jwk_check_common(obj, out, err, errlen) != 0 ||
	    jwk_parse_type(obj, out, err, errlen) != 0)
		goto fail;
	if ((r = jwk_get_str(obj, "alg", &alg)) == 1)
		out->alg = jose_alg_from_name(alg);
	if (r < 0 || (r == 1 && out->alg == JOSE_ALG_INVALID)) {
		jwk_fail(err, errlen, "unsupported \"alg\"");
		goto fail;
	}
	if (out->alg != JOSE_ALG_INVALID && !jwk_fits(out, out->alg)) {
		jwk_fail(err, errlen, "\"alg\" does not fit the key");
		goto fail;
	}
	return 0;
fail:
	jwk_free(out);
	ERR_clear_error();
	return -1;
}

void
jwk_free(struct jwk *key)
{
	size_t i;

	if (key == NULL)
		return;
	for (i = 0; i < sizeof(key->vctx) / sizeof(key->vctx[0]); i++)
		EVP_PKEY_CTX_free(key->vctx[i]);
	EVP_PKEY_free(key->pkey);
	memset(key, 0, sizeof(*key));
}

int
jwk_fits(const struct jwk *key, enum jose_alg alg)
{
	if (key == NULL || (key->alg != JOSE_ALG_INVALID && key->alg != alg))
		return 0;
	switch (alg) {
	case JOSE_RS256:
	case JOSE_RS384:
	case JOSE_RS512:
	case JOSE_PS256:
	case JOSE_PS384:
	case JOSE_PS512:
		return key->kty == JWK_KTY_RSA && key->pkey != NULL;
	case JOSE_ES256:
		return key->kty == JWK_KTY_EC && key->crv == JWK_CRV_P256 &&
		    key->pkey != NULL;
	case JOSE_ES384:
		return key->kty == JWK_KTY_EC && key->crv == JWK_CRV_P384 &&
		    key->pkey != NULL;
	case JOSE_EDDSA:
		return key->kty == JWK_KTY_OKP && key->crv == JWK_CRV_ED25519;
	default:
		return 0;
	}
}

/* How many entries of the raw "keys" array carry this kid string. */
static size_t
jwkset_kid_count(const json_t *keys, const char *kid)
{
	const char *s;
	json_t *k;
	size_t i, n = 0;

	for (i = 0; i < json_array_size(keys); i++) {
		k = json_array_get(keys, i);
		if (json_is_object(k) && jwk_get_str(k, "kid", &s) == 1 &&
		    strcmp(s, kid) == 0)
			n++;
	}
	return n;
}

/* Keep each usable key that has a kid no other entry shares. */
static void
jwkset_collect(const json_t *keys, struct jwkset *out)
{
	struct jwk key;
	json_t *k;
	size_t i;

	for (i = 0; i < json_array_size(keys); i++) {
		k = json_array_get(keys, i);
		if (jwk_parse(k, &key, NULL, 0) != 0)
			continue;
		if (!key.has_kid || jwkset_kid_count(keys, key.kid) != 1) {
			jwk_free(&key);
			continue;
		}
		out->keys[out->n++] = key;
	}
}

int
jwkset_parse(
    const char *doc, size_t len, struct jwkset *out, char *err, size_t errlen)
{
	json_t *root, *keys;
	size_t total;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	if ((root = jsonx_parse_object(
		 doc, len, JWKSET_MAXDEPTH, err, errlen)) == NULL)
		return -1;
	keys = json_object_get(root, "keys");
	if (!json_is_array(keys)) {
		jwk_fail(err, errlen, "\"keys\" missing or not an array");
		goto out;
	}
	if ((total = json_array_size(keys)) > JWKSET_MAX) {
		jwk_fail(err, errlen, "too many keys");
		goto out;
	}
	if ((out->keys = calloc(total + 1, sizeof(*out->keys))) == NULL) {
		jwk_fail(err, errlen, "out of memory");
		goto out;
	}
	jwkset_collect(keys, out);
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%zu of %zu keys usable", out->n, total);
	rc = 0;
out:
	json_decref(root);
	return rc;
}

const struct jwk *
jwkset_find(const struct jwkset *set, const char *kid)
{
	size_t i;

	if (set == NULL || kid == NULL)
		return NULL;
	for (i = 0; i < set->n; i++)
		if (strcmp(set->keys[i].kid, kid) == 0)
			return &set->keys[i];
	return NULL;
}

void
jwkset_free(struct jwkset *set)
{
	size_t i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		jwk_free(&set->keys[i]);
	free(set->keys);
	memset(set, 0, sizeof(*set));
}

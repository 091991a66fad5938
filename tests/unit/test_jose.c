/*
 * test_jose.c - JWS parsing, JWK/JWKS parsing and signature checks.
 *
 * Three layers of evidence:
 *  1. Every Wycheproof signature case for RS256/384/512, PS256,
 *     ES256/384 (P1363) and Ed25519 driven through jose_verify() with a
 *     key built by jwk_parse() ("acceptable" cases must NOT verify: we
 *     are strict, and count them).
 *  2. Wycheproof's whole-token JWS and JWKS cases end to end
 *     (jwkset_parse, jws_parse, jwkset_find, jose_verify), each also
 *     checked at the bare crypto layer so that a policy refusal of a
 *     "valid" case is shown to be policy and not a crypto failure.
 *  3. RFC 7515 A.2/A.3 and RFC 8037 A.4/A.5 as published, and hand-made
 *     negative cases, each beside an accepted twin built the same way.
 * Vectors are read from ../vectors (the test runs in tests/unit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "b64url.h"
#include "jose.h"
#include "jsonx.h"
#include "jwk.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#define VECDIR "../vectors/"
#define BIT(a) (1u << (a))

/* ------------------------------------------------------------------ */
/* Small helpers                                                        */
/* ------------------------------------------------------------------ */

/* Allocation that cannot return NULL, so the compiler knows it too. */
static void *
xmalloc(size_t n)
{
	void *p = calloc(1, n);

	if (p == NULL)
		abort();
	return p;
}

static json_t *
load_vectors(const char *name)
{
	char path[256];
	json_error_t jerr;
	json_t *j;

	snprintf(path, sizeof(path), VECDIR "%s", name);
	j = json_load_file(path, 0, &jerr);
	if (j == NULL)
		fail_msg("%s: %s line %d", path, jerr.text, jerr.line);
	return j;
}

static uint8_t *
hex_decode(const char *hex, size_t *len)
{
	size_t n = strlen(hex) / 2, i;
	uint8_t *out = xmalloc(n + 1);
	unsigned v;

	assert_int_equal(strlen(hex) % 2, 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	*len = n;
	return out;
}

/* base64url of len bytes as a new string. */
static char *
b64(const void *in, size_t len)
{
	size_t cap = B64URL_ENCODED_LEN(len) + 1;
	char *out = xmalloc(cap);

	assert_int_equal(
	    b64url_encode(in, len, out, cap), (int)B64URL_ENCODED_LEN(len));
	return out;
}

static char *
b64str(const char *s)
{
	return b64(s, strlen(s));
}

static int
parse_jwk_text(const char *text, struct jwk *key, char *err, size_t errlen)
{
	json_t *j = json_loads(text, 0, NULL);
	int rc;

	assert_non_null(j);
	rc = jwk_parse(j, key, err, errlen);
	json_decref(j);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Signing, for hand-made tokens                                        */
/* ------------------------------------------------------------------ */

enum sign_kind {
	SIGN_NONE,
	SIGN_RSA,
	SIGN_PSS,
	SIGN_EC,
	SIGN_EC_DER,
	SIGN_ED25519,
	SIGN_HMAC
};

struct signer {
	enum sign_kind kind;
	const EVP_MD *md;
	EVP_PKEY *pkey;
	int saltlen; /* PSS */
	const uint8_t *secret; /* Ed25519 sk or HMAC key */
	size_t secretlen;
};

static size_t
sign_evp(const struct signer *s, const char *in, size_t inlen, uint8_t *sig)
{
	EVP_MD_CTX *mctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t len = 1024;

	assert_non_null(mctx);
	assert_int_equal(
	    EVP_DigestSignInit(mctx, &pctx, s->md, NULL, s->pkey), 1);
	if (s->kind == SIGN_PSS) {
		assert_true(EVP_PKEY_CTX_set_rsa_padding(
				pctx, RSA_PKCS1_PSS_PADDING) > 0);
		assert_true(
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, s->saltlen) > 0);
	}
	assert_int_equal(
	    EVP_DigestSign(mctx, sig, &len, (const uint8_t *)in, inlen), 1);
	EVP_MD_CTX_free(mctx);
	return len;
}

/* DER ECDSA-Sig-Value to the JWS r || s form. */
static size_t
der_to_p1363(uint8_t *sig, size_t len, size_t half)
{
	const uint8_t *p = sig;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;

	assert_non_null(es);
	ECDSA_SIG_get0(es, &r, &s);
	assert_int_equal(BN_bn2binpad(r, sig, (int)half), (int)half);
	assert_int_equal(BN_bn2binpad(s, sig + half, (int)half), (int)half);
	ECDSA_SIG_free(es);
	return 2 * half;
}

static size_t
sign_input(const struct signer *s, const char *in, size_t inlen, uint8_t *sig)
{
	crypto_auth_hmacsha256_state st;
	size_t len;

	switch (s->kind) {
	case SIGN_RSA:
	case SIGN_PSS:
	case SIGN_EC_DER:
		return sign_evp(s, in, inlen, sig);
	case SIGN_EC:
		len = sign_evp(s, in, inlen, sig);
		return der_to_p1363(
		    sig, len, (size_t)(EVP_PKEY_get_bits(s->pkey) + 7) / 8);
	case SIGN_ED25519:
		crypto_sign_detached(
		    sig, NULL, (const uint8_t *)in, inlen, s->secret);
		return crypto_sign_BYTES;
	case SIGN_HMAC:
		crypto_auth_hmacsha256_init(&st, s->secret, s->secretlen);
		crypto_auth_hmacsha256_update(&st, (const uint8_t *)in, inlen);
		crypto_auth_hmacsha256_final(&st, sig);
		return crypto_auth_hmacsha256_BYTES;
	default:
		return 0;
	}
}

/* Compact JWS of the given header and payload JSON texts. */
static char *
tok_make(const char *hdr, const char *payload, const struct signer *s)
{
	uint8_t sig[1024];
	char *h = b64str(hdr), *p = b64str(payload), *sg, *out;
	size_t inlen, siglen;

	out = xmalloc(strlen(h) + strlen(p) + 2048);
	inlen = (size_t)sprintf(out, "%s.%s", h, p);
	siglen = sign_input(s, out, inlen, sig);
	sg = b64(sig, siglen);
	sprintf(out + inlen, ".%s", sg);
	free(h);
	free(p);
	free(sg);
	return out;
}

/* ------------------------------------------------------------------ */
/* Fixture: keys generated once                                         */
/* ------------------------------------------------------------------ */

static struct fixture {
	EVP_PKEY *rsa, *rsa1024, *p256, *p384;
	uint8_t edpk[crypto_sign_PUBLICKEYBYTES];
	uint8_t edsk[crypto_sign_SECRETKEYBYTES];
	struct signer rs256, ps256, es256, es384, eddsa;
} fx;

static json_t *
jwk_of_pkey(EVP_PKEY *pk)
{
	uint8_t buf[1024];
	BIGNUM *n = NULL, *e = NULL;
	char crv[32], *x, *y;
	size_t len, half;
	json_t *j;

	if (EVP_PKEY_is_a(pk, "RSA")) {
		assert_int_equal(
		    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n), 1);
		assert_int_equal(
		    EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e), 1);
		len = (size_t)BN_bn2bin(n, buf);
		x = b64(buf, len);
		len = (size_t)BN_bn2bin(e, buf);
		y = b64(buf, len);
		j = json_pack("{s:s,s:s,s:s}", "kty", "RSA", "n", x, "e", y);
		BN_free(n);
		BN_free(e);
	} else {
		assert_int_equal(
		    EVP_PKEY_get_utf8_string_param(
			pk, OSSL_PKEY_PARAM_GROUP_NAME, crv, sizeof(crv), NULL),
		    1);
		assert_int_equal(
		    EVP_PKEY_get_octet_string_param(
			pk, OSSL_PKEY_PARAM_PUB_KEY, buf, sizeof(buf), &len),
		    1);
		assert_int_equal(buf[0], 0x04);
		half = (len - 1) / 2;
		x = b64(buf + 1, half);
		y = b64(buf + 1 + half, half);
		j = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv",
		    strcmp(crv, "prime256v1") == 0 ? "P-256" : "P-384", "x", x,
		    "y", y);
	}
	free(x);
	free(y);
	assert_non_null(j);
	return j;
}

static json_t *
jwk_of_ed25519(const uint8_t *pk)
{
	char *x = b64(pk, 32);
	json_t *j =
	    json_pack("{s:s,s:s,s:s}", "kty", "OKP", "crv", "Ed25519", "x", x);

	free(x);
	return j;
}

/* Parse a JWK object plus extra members given as a JSON object text. */
static int
jwk_with(json_t *base, const char *extra, struct jwk *key)
{
	json_t *j = json_deep_copy(base), *x;
	char err[128];
	int rc;

	if (extra != NULL) {
		x = json_loads(extra, 0, NULL);
		assert_non_null(x);
		json_object_update(j, x);
		json_decref(x);
	}
	rc = jwk_parse(j, key, err, sizeof(err));
	json_decref(j);
	return rc;
}

static int
setup_keys(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	fx.rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	fx.rsa1024 = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	fx.p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	fx.p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (fx.rsa == NULL || fx.rsa1024 == NULL || fx.p256 == NULL ||
	    fx.p384 == NULL)
		return -1;
	crypto_sign_keypair(fx.edpk, fx.edsk);
	fx.rs256 = (struct signer){SIGN_RSA, EVP_sha256(), fx.rsa, 0, NULL, 0};
	fx.ps256 = (struct signer){
	    SIGN_PSS, EVP_sha256(), fx.rsa, RSA_PSS_SALTLEN_DIGEST, NULL, 0};
	fx.es256 = (struct signer){SIGN_EC, EVP_sha256(), fx.p256, 0, NULL, 0};
	fx.es384 = (struct signer){SIGN_EC, EVP_sha384(), fx.p384, 0, NULL, 0};
	fx.eddsa = (struct signer){
	    SIGN_ED25519, NULL, NULL, 0, fx.edsk, sizeof(fx.edsk)};
	return 0;
}

static int
teardown_keys(void **state)
{
	(void)state;
	EVP_PKEY_free(fx.rsa);
	EVP_PKEY_free(fx.rsa1024);
	EVP_PKEY_free(fx.p256);
	EVP_PKEY_free(fx.p384);
	sodium_memzero(fx.edsk, sizeof(fx.edsk));
	return 0;
}

/* ------------------------------------------------------------------ */
/* The pipeline verifierd runs, and the bare crypto layer               */
/* ------------------------------------------------------------------ */

enum e2e { E2E_ACCEPT, E2E_PARSE, E2E_NOKEY, E2E_SIG };

static enum e2e
e2e_key(const char *tok, unsigned mask, const struct jwkset *set,
    const struct jwk *only, enum jose_err *perr)
{
	const struct jwk *key;
	struct jws jws;
	enum e2e r;

	*perr = jws_parse(tok, strlen(tok), mask, &jws);
	if (*perr != JOSE_OK)
		return E2E_PARSE;
	key = only != NULL ? only
	    : jws.has_kid  ? jwkset_find(set, jws.kid)
			   : NULL;
	if (key == NULL)
		r = E2E_NOKEY;
	else if (jose_verify(key, jws.alg, (const uint8_t *)jws.signing_input,
		     jws.signing_input_len, jws.sig, jws.sig_len) == 0)
		r = E2E_ACCEPT;
	else
		r = E2E_SIG;
	jws_free(&jws);
	return r;
}

static enum e2e
e2e(const char *tok, unsigned mask, const struct jwk *key)
{
	enum jose_err perr;

	return e2e_key(tok, mask, NULL, key, &perr);
}

static enum jose_err
parse_only(const char *tok, unsigned mask)
{
	struct jws jws;
	enum jose_err rc;

	rc = jws_parse(tok, strlen(tok), mask, &jws);
	jws_free(&jws);
	return rc;
}

enum rawv { RAW_ACCEPT, RAW_FORM, RAW_UNSUPPORTED, RAW_NOKEY, RAW_SIG };

/*
 * Signature check alone: strict split and base64url, header read
 * leniently for alg and kid, key by kid, jose_verify().  clear_alg
 * ignores the JWK's "alg" pin, to tell policy from crypto.
 */
static enum rawv
raw_verdict(const char *tok, const struct jwkset *set, int clear_alg)
{
	const char *d1, *d2;
	uint8_t hb[JOSE_TOKEN_MAX], sig[1024];
	size_t hl, sl;
	json_t *h;
	enum jose_alg alg;
	const struct jwk *k;
	struct jwk copy;
	enum rawv v = RAW_SIG;

	if ((d1 = strchr(tok, '.')) == NULL ||
	    (d2 = strchr(d1 + 1, '.')) == NULL || strchr(d2 + 1, '.') != NULL)
		return RAW_FORM;
	if (b64url_decode(tok, (size_t)(d1 - tok), hb, sizeof(hb), &hl) != 0 ||
	    (h = json_loadb((const char *)hb, hl, 0, NULL)) == NULL)
		return RAW_FORM;
	alg = jose_alg_from_name(json_string_value(json_object_get(h, "alg")));
	k = jwkset_find(set, json_string_value(json_object_get(h, "kid")));
	if (alg == JOSE_ALG_INVALID)
		v = RAW_UNSUPPORTED;
	else if (k == NULL)
		v = RAW_NOKEY;
	else if (b64url_decode(d2 + 1, strlen(d2 + 1), sig, sizeof(sig), &sl) !=
	    0)
		v = RAW_FORM;
	else {
		copy = *k;
		if (clear_alg)
			copy.alg = JOSE_ALG_INVALID;
		if (jose_verify(&copy, alg, (const uint8_t *)tok,
			(size_t)(d2 - tok), sig, sl) == 0)
			v = RAW_ACCEPT;
		/* The copy may have cached a verify context of its own. */
		for (size_t i = 0; i < sizeof(copy.vctx) / sizeof(copy.vctx[0]);
		     i++)
			if (copy.vctx[i] != k->vctx[i])
				EVP_PKEY_CTX_free(copy.vctx[i]);
	}
	json_decref(h);
	return v;
}

/* ------------------------------------------------------------------ */
/* 1. Wycheproof signature files                                        */
/* ------------------------------------------------------------------ */

struct wp_file {
	const char *name;
	enum jose_alg alg;
	const char *sha;
};

static const struct wp_file wp_files[] = {
    {"rsa_signature_2048_sha256_test.json", JOSE_RS256, "SHA-256"},
    {"rsa_signature_3072_sha384_test.json", JOSE_RS384, "SHA-384"},
    {"rsa_signature_4096_sha512_test.json", JOSE_RS512, "SHA-512"},
    {"rsa_pss_2048_sha256_mgf1_32_test.json", JOSE_PS256, "SHA-256"},
    {"ecdsa_secp256r1_sha256_p1363_test.json", JOSE_ES256, "SHA-256"},
    {"ecdsa_secp384r1_sha384_p1363_test.json", JOSE_ES384, "SHA-384"},
    {"ed25519_test.json", JOSE_EDDSA, NULL},
};

struct wp_count {
	unsigned valid, valid_ok, invalid, invalid_ok;
	unsigned acceptable, acceptable_rej, jwk_keys, raw_keys;
	unsigned failed;
};

/* Hex big-endian integer to exactly width bytes, base64url. */
static char *
hex_to_b64_fixed(const char *hex, size_t width)
{
	uint8_t *raw, *out;
	size_t len, skip = 0;
	char *s;

	raw = hex_decode(hex, &len);
	while (skip < len && raw[skip] == 0)
		skip++;
	assert_true(len - skip <= width);
	out = xmalloc(width);
	memcpy(out + width - (len - skip), raw + skip, len - skip);
	s = b64(out, width);
	free(raw);
	free(out);
	return s;
}

/* A JWK text for groups that publish only raw key fields. */
static json_t *
wp_raw_jwk(const json_t *g, enum jose_alg alg)
{
	const json_t *pk = json_object_get(g, "publicKey");
	size_t w = alg == JOSE_ES384 ? 48 : 32;
	char *x, *y;
	json_t *j;

	assert_true(alg == JOSE_ES256 || alg == JOSE_ES384);
	x = hex_to_b64_fixed(json_string_value(json_object_get(pk, "wx")), w);
	y = hex_to_b64_fixed(json_string_value(json_object_get(pk, "wy")), w);
	j = json_pack("{s:s,s:s,s:s,s:s}", "kty", "EC", "crv",
	    alg == JOSE_ES384 ? "P-384" : "P-256", "x", x, "y", y);
	free(x);
	free(y);
	return j;
}

/* Group parameters must be the ones JWA fixes for this alg. */
static void
wp_check_group(const json_t *g, const struct wp_file *f)
{
	const char *sha = json_string_value(json_object_get(g, "sha"));

	if (f->sha != NULL)
		assert_string_equal(sha, f->sha);
	if (f->alg == JOSE_PS256) {
		assert_string_equal(
		    json_string_value(json_object_get(g, "mgfSha")), "SHA-256");
		assert_int_equal(
		    json_integer_value(json_object_get(g, "sLen")), 32);
	}
}

static void
wp_case(const json_t *t, const struct jwk *key, const struct wp_file *f,
    struct wp_count *c)
{
	const char *res = json_string_value(json_object_get(t, "result"));
	uint8_t *msg, *sig;
	size_t ml, sl;
	int ok;

	msg = hex_decode(json_string_value(json_object_get(t, "msg")), &ml);
	sig = hex_decode(json_string_value(json_object_get(t, "sig")), &sl);
	ok = key != NULL && jose_verify(key, f->alg, msg, ml, sig, sl) == 0;
	if (strcmp(res, "valid") == 0) {
		c->valid++;
		c->valid_ok += ok;
	} else if (strcmp(res, "invalid") == 0) {
		c->invalid++;
		c->invalid_ok += !ok;
	} else {
		/* "acceptable": legacy forms; we are strict and refuse. */
		c->acceptable++;
		c->acceptable_rej += !ok;
	}
	if (ok != (strcmp(res, "valid") == 0)) {
		c->failed++;
		print_message("  FAIL %s tcId %lld (%s) verified=%d\n", f->name,
		    json_integer_value(json_object_get(t, "tcId")), res, ok);
	}
	free(msg);
	free(sig);
}

static void
wp_group(const json_t *g, const struct wp_file *f, struct wp_count *c)
{
	const json_t *jwk, *t, *tests;
	json_t *raw = NULL;
	struct jwk key;
	char err[128];
	size_t i;
	int have;

	wp_check_group(g, f);
	jwk = json_object_get(g, "publicKeyJwk");
	if (jwk == NULL)
		jwk = json_object_get(g, "keyJwk");
	if (jwk == NULL) {
		jwk = raw = wp_raw_jwk(g, f->alg);
		c->raw_keys++;
	} else
		c->jwk_keys++;
	have = jwk_parse(jwk, &key, err, sizeof(err)) == 0;
	if (!have)
		print_message("  key refused: %s\n", err);
	tests = json_object_get(g, "tests");
	for (i = 0; (t = json_array_get(tests, i)) != NULL; i++)
		wp_case(t, have ? &key : NULL, f, c);
	if (have)
		jwk_free(&key);
	json_decref(raw);
}

static void
test_wycheproof_file(void **state)
{
	const struct wp_file *f = *state;
	struct wp_count c = {0};
	const json_t *g, *groups;
	json_t *doc;
	size_t i;

	doc = load_vectors(f->name);
	groups = json_object_get(doc, "testGroups");
	for (i = 0; (g = json_array_get(groups, i)) != NULL; i++)
		wp_group(g, f, &c);
	print_message("  %-40s valid %u/%u, invalid %u/%u rejected, "
		      "acceptable %u (%u rejected), keys: %u jwk %u raw\n",
	    f->name, c.valid_ok, c.valid, c.invalid_ok, c.invalid, c.acceptable,
	    c.acceptable_rej, c.jwk_keys, c.raw_keys);
	assert_int_equal((int)(c.valid + c.invalid + c.acceptable),
	    (int)json_integer_value(json_object_get(doc, "numberOfTests")));
	json_decref(doc);
	assert_int_equal(c.failed, 0);
	assert_true(c.valid > 0 && c.invalid > 0);
}

/* ------------------------------------------------------------------ */
/* 2. Wycheproof whole-token JWS and JWKS files                         */
/* ------------------------------------------------------------------ */

struct jw_count {
	unsigned valid, accepted, raw_accepted, invalid, rejected;
	unsigned failed;
	unsigned pol_alg, pol_b64, pol_payload, pol_jwkalg;
	unsigned rej_parse, rej_nokey, rej_sig;
	unsigned raw[RAW_SIG + 1]; /* crypto layer, invalid cases */
};

static int
has_foreign_char(const char *tok)
{
	return tok[strspn(tok,
		   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
		   "qrstuvwxyz0123456789-_.")] != '\0';
}

/* 1 if the middle part decodes to a strict JSON object. */
static int
payload_is_object(const char *tok)
{
	const char *d1 = strchr(tok, '.'), *d2;
	uint8_t buf[JOSE_TOKEN_MAX];
	size_t n;
	json_t *j;

	if (d1 == NULL || (d2 = strchr(d1 + 1, '.')) == NULL ||
	    b64url_decode(
		d1 + 1, (size_t)(d2 - d1 - 1), buf, sizeof(buf), &n) != 0)
		return 0;
	j = jsonx_parse_object((const char *)buf, n, 8, NULL, 0);
	json_decref(j);
	return j != NULL;
}

/*
 * Why a case Wycheproof calls valid is refused, if the refusal is one
 * of our documented policies; NULL if it is not (a failure).  Unless
 * the alg is outside the allowlist or the text is not strict
 * base64url, the bare signature check must succeed, at most after
 * lifting the JWK "alg" pin, so that the refusal is shown to be policy.
 */
static const char *
jw_policy(const char *tok, enum e2e r, enum jose_err perr,
    const struct jwkset *set, struct jw_count *c)
{
	enum rawv raw = raw_verdict(tok, set, 0);
	int pinned = 0;

	if (raw == RAW_UNSUPPORTED)
		return r == E2E_PARSE && perr == JOSE_EALG
		    ? (c->pol_alg++, "alg outside the allowlist")
		    : NULL;
	if (r == E2E_PARSE && perr == JOSE_EB64 && has_foreign_char(tok))
		return c->pol_b64++, "strict base64url";
	if (raw != RAW_ACCEPT) {
		if (raw_verdict(tok, set, 1) != RAW_ACCEPT)
			return NULL;
		pinned = 1;
		c->pol_jwkalg++;
	}
	c->raw_accepted++;
	if (r == E2E_PARSE && (perr == JOSE_EJSON || perr == JOSE_EFORMAT) &&
	    !payload_is_object(tok)) {
		c->pol_payload++;
		return pinned ? "payload is not a JWT claims object; JWK "
				"\"alg\" pins another algorithm"
			      : "payload is not a JWT claims object";
	}
	if (r == E2E_SIG && pinned)
		return "JWK \"alg\" pins another algorithm";
	return NULL;
}

static void
jw_case(const json_t *t, const struct jwkset *set, struct jw_count *c)
{
	const json_t *jt = json_object_get(t, "jws");
	int valid = strcmp(json_string_value(json_object_get(t, "result")),
			"valid") == 0;
	json_int_t id = json_integer_value(json_object_get(t, "tcId"));
	char *tok = json_is_string(jt) ? strdup(json_string_value(jt))
				       : json_dumps(jt, JSON_COMPACT);
	enum jose_err perr;
	enum e2e r;
	enum rawv raw;
	const char *why;

	r = e2e_key(tok, JOSE_ALG_MASK_ALL, set, NULL, &perr);
	raw = raw_verdict(tok, set, 0);
	if (valid) {
		c->valid++;
		if (r == E2E_ACCEPT) {
			c->accepted++;
			c->raw_accepted++;
		} else if ((why = jw_policy(tok, r, perr, set, c)) != NULL)
			print_message("    tcId %3lld valid, refused: %s\n",
			    (long long)id, why);
		else {
			c->failed++;
			print_message("  FAIL tcId %lld valid: stage %d %s, "
				      "raw %d\n",
			    (long long)id, r, jose_strerror(perr), raw);
		}
	} else {
		c->invalid++;
		c->raw[raw]++;
		if (r != E2E_ACCEPT && raw != RAW_ACCEPT) {
			c->rejected++;
			c->rej_parse += r == E2E_PARSE;
			c->rej_nokey += r == E2E_NOKEY;
			c->rej_sig += r == E2E_SIG;
		} else {
			c->failed++;
			print_message("  FAIL tcId %lld invalid accepted "
				      "(pipeline %d, raw %d)\n",
			    (long long)id, r, raw);
		}
	}
	free(tok);
}

/* Remove private members: what a correct IdP would publish. */
static json_t *
strip_private(const json_t *set)
{
	static const char *const priv[] = {
	    "d", "p", "q", "dp", "dq", "qi", "oth", "k"};
	json_t *copy = json_deep_copy(set), *k, *keys;
	size_t i, j;

	keys = json_object_get(copy, "keys");
	for (i = 0; (k = json_array_get(keys, i)) != NULL; i++)
		for (j = 0; j < nitems(priv); j++)
			json_object_del(k, priv[j]);
	return copy;
}

static void
keyset_of(const json_t *keys, struct jwkset *set)
{
	char *text = json_dumps(keys, JSON_COMPACT), err[128];

	assert_non_null(text);
	assert_int_equal(
	    jwkset_parse(text, strlen(text), set, err, sizeof(err)), 0);
	free(text);
}

static void
jw_print(const char *what, const struct jw_count *c)
{
	print_message(
	    "  %s\n    valid %u: %u accepted end to end, %u "
	    "verified by the bare signature check; refused by policy: alg %u, "
	    "strict b64 %u, non-claims payload %u, JWK alg pin %u\n"
	    "    invalid %u: %u rejected (pipeline: parse %u, no key %u, "
	    "signature %u; bare check: form %u, unsupported alg %u, no key "
	    "%u, signature %u)\n",
	    what, c->valid, c->accepted, c->raw_accepted, c->pol_alg,
	    c->pol_b64, c->pol_payload, c->pol_jwkalg, c->invalid, c->rejected,
	    c->rej_parse, c->rej_nokey, c->rej_sig, c->raw[RAW_FORM],
	    c->raw[RAW_UNSUPPORTED], c->raw[RAW_NOKEY], c->raw[RAW_SIG]);
}

static void
test_wycheproof_jws(void **state)
{
	struct jw_count c = {0};
	const json_t *g, *pub, *t, *groups, *tests;
	struct jwkset set;
	json_t *doc, *keys;
	size_t i, j;

	(void)state;
	doc = load_vectors("json_web_signature_test.json");
	groups = json_object_get(doc, "testGroups");
	for (i = 0; (g = json_array_get(groups, i)) != NULL; i++) {
		pub = json_object_get(g, "public");
		if (pub == NULL)
			keys = json_pack("{s:[]}", "keys");
		else if (json_object_get(pub, "keys") != NULL)
			keys = json_incref((json_t *)pub);
		else
			keys = json_pack("{s:[O]}", "keys", pub);
		keyset_of(keys, &set);
		tests = json_object_get(g, "tests");
		for (j = 0; (t = json_array_get(tests, j)) != NULL; j++)
			jw_case(t, &set, &c);
		jwkset_free(&set);
		json_decref(keys);
	}
	jw_print("json_web_signature_test.json", &c);
	assert_int_equal((int)(c.valid + c.invalid),
	    (int)json_integer_value(json_object_get(doc, "numberOfTests")));
	json_decref(doc);
	assert_int_equal(c.failed, 0);
	/* Every valid case is a non-JWT or outside our algorithms, so the
	 * evidence that verification works is the bare check. */
	assert_true(c.raw_accepted > 0 && c.raw[RAW_SIG] > 0);
}

static void
test_wycheproof_jwk(void **state)
{
	struct jw_count as_published = {0}, stripped = {0};
	const json_t *g, *t, *groups, *tests;
	struct jwkset set;
	json_t *doc, *pub;
	size_t i, j;

	(void)state;
	doc = load_vectors("json_web_key_test.json");
	groups = json_object_get(doc, "testGroups");
	for (i = 0; (g = json_array_get(groups, i)) != NULL; i++) {
		tests = json_object_get(g, "tests");
		/* As published, with private members: nothing may pass. */
		keyset_of(json_object_get(g, "private"), &set);
		for (j = 0; (t = json_array_get(tests, j)) != NULL; j++) {
			json_t *inv = json_deep_copy(t);

			json_object_set_new(
			    inv, "result", json_string("invalid"));
			jw_case(inv, &set, &as_published);
			json_decref(inv);
		}
		jwkset_free(&set);
		/* The public half: Wycheproof's verdicts apply. */
		pub = strip_private(json_object_get(g, "private"));
		keyset_of(pub, &set);
		for (j = 0; (t = json_array_get(tests, j)) != NULL; j++)
			jw_case(t, &set, &stripped);
		jwkset_free(&set);
		json_decref(pub);
	}
	jw_print("json_web_key_test.json (as is)", &as_published);
	jw_print("json_web_key_test.json (public)", &stripped);
	assert_int_equal((int)(stripped.valid + stripped.invalid),
	    (int)json_integer_value(json_object_get(doc, "numberOfTests")));
	json_decref(doc);
	assert_int_equal(as_published.failed, 0);
	assert_int_equal(stripped.failed, 0);
	assert_true(stripped.raw_accepted > 0);
}

/* ------------------------------------------------------------------ */
/* 3. RFC examples                                                      */
/* ------------------------------------------------------------------ */

/* RFC 7515 A.2.1 payload as sent (with CR LF), shared by A.2 and A.3. */
#define RFC7515_PAYLOAD_B64                                                    \
	"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"     \
	"cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

static const char rfc7515_a2_jwk[] =
    "{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\""
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qP"
    "CJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47s"
    "oMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2"
    "R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoud"
    "F8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"}";

static const char rfc7515_a2_token[] =
    "eyJhbGciOiJSUzI1NiJ9." RFC7515_PAYLOAD_B64 "."
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7"
    "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
    "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
    "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
    "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB"
    "p0igcN_IoypGlUPQGe77Rw";

static const char rfc7515_a3_jwk[] =
    "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";

static const char rfc7515_a3_token[] =
    "eyJhbGciOiJFUzI1NiJ9." RFC7515_PAYLOAD_B64 "."
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
    "pmWQxfKTUJqPP3-Kg6NU1Q";

/* RFC 8037 A.1 key pair and A.4 JWS. */
static const char rfc8037_d[] = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
static const char rfc8037_jwk[] =
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}";
static const char rfc8037_input[] =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
static const char rfc8037_sig[] =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5B"
    "hVsPt9g7sVvpAr_MuM0KAg";

/* Flip bit `bit' of the decoded part `part' (0..2) and re-encode. */
static char *
tok_flip(const char *tok, int part, size_t byte, int bit)
{
	const char *p[3], *e[3];
	uint8_t buf[JOSE_TOKEN_MAX];
	char *enc, *out;
	size_t n;
	int i;

	p[0] = tok;
	e[0] = strchr(tok, '.');
	p[1] = e[0] + 1;
	e[1] = strchr(p[1], '.');
	p[2] = e[1] + 1;
	e[2] = tok + strlen(tok);
	assert_int_equal(b64url_decode(p[part], (size_t)(e[part] - p[part]),
			     buf, sizeof(buf), &n),
	    0);
	if (byte >= n)
		return NULL;
	buf[byte] ^= (uint8_t)(1u << bit);
	enc = b64(buf, n);
	out = xmalloc(strlen(tok) + strlen(enc) + 4);
	out[0] = '\0';
	for (i = 0; i < 3; i++) {
		if (i > 0)
			strcat(out, ".");
		if (i == part)
			strcat(out, enc);
		else
			strncat(out, p[i], (size_t)(e[i] - p[i]));
	}
	free(enc);
	return out;
}

/*
 * Flip every bit of every byte of each part: nothing may verify.  Some
 * flips break the JSON (parse error); the signature must catch the rest,
 * so count that it was reached.
 */
static void
check_bitflips(const char *tok, const struct jwk *key)
{
	unsigned reached[3] = {0}, total = 0;
	size_t byte;
	int part, bit;
	char *t;

	for (part = 0; part < 3; part++)
		for (byte = 0; (t = tok_flip(tok, part, byte, 0)) != NULL;
		     byte++) {
			free(t);
			for (bit = 0; bit < 8; bit++) {
				enum jose_err perr;
				enum e2e r;

				t = tok_flip(tok, part, byte, bit);
				r = e2e_key(
				    t, JOSE_ALG_MASK_ALL, NULL, key, &perr);
				assert_int_not_equal(r, E2E_ACCEPT);
				reached[part] += r == E2E_SIG;
				total++;
				free(t);
			}
		}
	print_message("  bit flips: %u, reached the signature check: header "
		      "%u, payload %u, signature %u\n",
	    total, reached[0], reached[1], reached[2]);
	/* A bare {"alg":"ES256"} has no flip that stays a valid header. */
	assert_true(reached[1] > 0 && reached[2] > 0);
}

static void
test_rfc7515_a2(void **state)
{
	struct jwk key;
	struct jws jws;

	(void)state;
	assert_int_equal(parse_jwk_text(rfc7515_a2_jwk, &key, NULL, 0), 0);
	assert_int_equal(key.bits, 2048);
	assert_int_equal(jws_parse(rfc7515_a2_token, strlen(rfc7515_a2_token),
			     BIT(JOSE_RS256), &jws),
	    JOSE_OK);
	assert_int_equal(jws.alg, JOSE_RS256);
	assert_false(jws.has_kid);
	assert_string_equal(
	    json_string_value(json_object_get(jws.payload, "iss")), "joe");
	assert_int_equal(
	    json_integer_value(json_object_get(jws.payload, "exp")),
	    1300819380);
	assert_int_equal(
	    jose_verify(&key, jws.alg, (const uint8_t *)jws.signing_input,
		jws.signing_input_len, jws.sig, jws.sig_len),
	    0);
	/* Same bytes, other RSA algorithms: refused. */
	assert_int_equal(
	    jose_verify(&key, JOSE_RS384, (const uint8_t *)jws.signing_input,
		jws.signing_input_len, jws.sig, jws.sig_len),
	    -1);
	assert_int_equal(
	    jose_verify(&key, JOSE_PS256, (const uint8_t *)jws.signing_input,
		jws.signing_input_len, jws.sig, jws.sig_len),
	    -1);
	jws_free(&jws);
	check_bitflips(rfc7515_a2_token, &key);
	jwk_free(&key);
}

static void
test_rfc7515_a3(void **state)
{
	struct jwk key;

	(void)state;
	assert_int_equal(parse_jwk_text(rfc7515_a3_jwk, &key, NULL, 0), 0);
	assert_int_equal(
	    e2e(rfc7515_a3_token, BIT(JOSE_ES256), &key), E2E_ACCEPT);
	/* Twin: the same token with ES256 left out of the allowlist. */
	assert_int_equal(
	    parse_only(rfc7515_a3_token, BIT(JOSE_RS256)), JOSE_EALG);
	check_bitflips(rfc7515_a3_token, &key);
	jwk_free(&key);
}

static void
test_rfc8037_a4_a5(void **state)
{
	uint8_t seed[32], pk[32], sk[64], sig[64], mine[64];
	struct signer s = {SIGN_ED25519, NULL, NULL, 0, sk, sizeof(sk)};
	char tok[256], *t;
	struct jwk key;
	size_t n;

	(void)state;
	assert_int_equal(parse_jwk_text(rfc8037_jwk, &key, NULL, 0), 0);
	/* A.1: the published d yields the published x. */
	assert_int_equal(
	    b64url_decode(rfc8037_d, strlen(rfc8037_d), seed, sizeof(seed), &n),
	    0);
	crypto_sign_seed_keypair(pk, sk, seed);
	assert_memory_equal(pk, key.ed25519, 32);
	/* A.4: deterministic, so our signature is the published one. */
	assert_int_equal(b64url_decode(rfc8037_sig, strlen(rfc8037_sig), sig,
			     sizeof(sig), &n),
	    0);
	crypto_sign_detached(mine, NULL, (const uint8_t *)rfc8037_input,
	    strlen(rfc8037_input), sk);
	assert_memory_equal(mine, sig, 64);
	/* A.5: verification. */
	assert_int_equal(
	    jose_verify(&key, JOSE_EDDSA, (const uint8_t *)rfc8037_input,
		strlen(rfc8037_input), sig, 64),
	    0);
	sig[10] ^= 1;
	assert_int_equal(
	    jose_verify(&key, JOSE_EDDSA, (const uint8_t *)rfc8037_input,
		strlen(rfc8037_input), sig, 64),
	    -1);
	/* Its payload is text, not claims: a JWS, but not a JWT for us. */
	snprintf(tok, sizeof(tok), "%s.%s", rfc8037_input, rfc8037_sig);
	assert_int_equal(parse_only(tok, JOSE_ALG_MASK_ALL), JOSE_EJSON);
	/* Twin: the same key signing a claims object passes end to end. */
	t = tok_make("{\"alg\":\"EdDSA\",\"kid\":\"rfc8037\"}",
	    "{\"sub\":\"rfc8037\"}", &s);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &key), E2E_ACCEPT);
	check_bitflips(t, &key);
	free(t);
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(seed, sizeof(seed));
	jwk_free(&key);
}

/* ------------------------------------------------------------------ */
/* 3. Hand-made cases, each with its twin                               */
/* ------------------------------------------------------------------ */

static const char claims[] = "{\"sub\":\"auth0|42\",\"exp\":4102444800}";

/* The RSA fixture key as a struct jwk, optionally with extra members. */
static void
rsa_jwk(const char *extra, struct jwk *key)
{
	json_t *j = jwk_of_pkey(fx.rsa);

	assert_int_equal(jwk_with(j, extra, key), 0);
	json_decref(j);
}

static void
test_alg_names(void **state)
{
	int a;

	(void)state;
	for (a = JOSE_ALG_INVALID + 1; a < JOSE_ALG_COUNT; a++)
		assert_int_equal(jose_alg_from_name(jose_alg_name(a)), a);
	assert_int_equal(jose_alg_from_name("none"), JOSE_ALG_INVALID);
	assert_int_equal(jose_alg_from_name("HS256"), JOSE_ALG_INVALID);
	assert_int_equal(jose_alg_from_name("rs256"), JOSE_ALG_INVALID);
	assert_int_equal(jose_alg_from_name("RS256 "), JOSE_ALG_INVALID);
	assert_int_equal(jose_alg_from_name("ES512"), JOSE_ALG_INVALID);
	assert_int_equal(jose_alg_from_name(NULL), JOSE_ALG_INVALID);
	assert_string_equal(jose_alg_name(JOSE_ALG_COUNT), "invalid");
	assert_string_equal(
	    jose_strerror(JOSE_EHDR), "key-reference header present");
	assert_string_equal(jose_strerror((enum jose_err)99), "unknown error");
}

static void
test_alg_mask_parse(void **state)
{
	static const char *const bad[] = {
	    "",
	    ",",
	    "RS256,",
	    ",RS256",
	    "RS256,,ES256",
	    "none",
	    "RS256,none",
	    "HS256",
	    "RS256,HS256",
	    "rs256",
	    "ES512",
	    "RS256;ES256",
	    " ",
	    "RS2566",
	};
	unsigned m = 77;
	size_t i;

	(void)state;
	assert_int_equal(jose_alg_mask_parse("RS256,ES256", &m), 0);
	assert_int_equal(m, BIT(JOSE_RS256) | BIT(JOSE_ES256));
	assert_int_equal(jose_alg_mask_parse(" RS256 , EdDSA ", &m), 0);
	assert_int_equal(m, BIT(JOSE_RS256) | BIT(JOSE_EDDSA));
	assert_int_equal(jose_alg_mask_parse("RS256,RS384,RS512,PS256,PS384,"
					     "PS512,ES256,ES384,EdDSA",
			     &m),
	    0);
	assert_int_equal(m, JOSE_ALG_MASK_ALL);
	for (i = 0; i < nitems(bad); i++) {
		m = 77;
		assert_int_equal(jose_alg_mask_parse(bad[i], &m), -1);
		assert_int_equal(m, 77);
	}
	assert_int_equal(jose_alg_mask_parse(NULL, &m), -1);
}

static void
test_alg_none(void **state)
{
	struct signer none = {SIGN_NONE, NULL, NULL, 0, NULL, 0};
	struct jwk key;
	char *t, fake[2048];

	(void)state;
	rsa_jwk(NULL, &key);
	/* Unsigned: empty third part. */
	t = tok_make("{\"alg\":\"none\"}", claims, &none);
	assert_int_equal(parse_only(t, JOSE_ALG_MASK_ALL), JOSE_EFORMAT);
	snprintf(fake, sizeof(fake), "%sAAAA", t);
	assert_int_equal(parse_only(fake, JOSE_ALG_MASK_ALL), JOSE_EALG);
	free(t);
	t = tok_make("{\"alg\":\"None\"}", claims, &fx.rs256);
	assert_int_equal(parse_only(t, JOSE_ALG_MASK_ALL), JOSE_EALG);
	free(t);
	/* Twin: the same claims signed RS256. */
	t = tok_make("{\"alg\":\"RS256\"}", claims, &fx.rs256);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &key), E2E_ACCEPT);
	free(t);
	jwk_free(&key);
}

static void
test_hs256_confusion(void **state)
{
	json_t *pub = jwk_of_pkey(fx.rsa);
	char *text = json_dumps(pub, JSON_COMPACT), *t;
	struct signer hs = {SIGN_HMAC, NULL, NULL, 0, NULL, 0};
	struct jwk key;

	(void)state;
	rsa_jwk(NULL, &key);
	/* The attacker MACs with the public key text as the secret. */
	hs.secret = (const uint8_t *)text;
	hs.secretlen = strlen(text);
	t = tok_make("{\"alg\":\"HS256\",\"kid\":\"k\"}", claims, &hs);
	assert_int_equal(parse_only(t, JOSE_ALG_MASK_ALL), JOSE_EALG);
	/* Even handed to jose_verify directly, no alg value means HMAC. */
	assert_int_equal(jose_verify(&key, JOSE_ALG_INVALID,
			     (const uint8_t *)"x", 1, (const uint8_t *)"x", 1),
	    -1);
	assert_int_equal(jose_verify(&key, JOSE_ALG_COUNT, (const uint8_t *)"x",
			     1, (const uint8_t *)"x", 1),
	    -1);
	free(t);
	/* Twin: the same header with RS256, signed with the private key. */
	t = tok_make("{\"alg\":\"RS256\",\"kid\":\"k\"}", claims, &fx.rs256);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &key), E2E_ACCEPT);
	free(t);
	free(text);
	json_decref(pub);
	jwk_free(&key);
}

static void
test_alg_mask_gate(void **state)
{
	json_t *j = jwk_of_pkey(fx.p256);
	struct jwk key;
	char *t;

	(void)state;
	assert_int_equal(jwk_with(j, NULL, &key), 0);
	t = tok_make("{\"alg\":\"ES256\"}", claims, &fx.es256);
	assert_int_equal(parse_only(t, BIT(JOSE_RS256)), JOSE_EALG);
	assert_int_equal(parse_only(t, 0), JOSE_EALG);
	assert_int_equal(
	    e2e(t, BIT(JOSE_RS256) | BIT(JOSE_ES256), &key), E2E_ACCEPT);
	free(t);
	jwk_free(&key);
	json_decref(j);
}

/* Header h is refused with want; the same header without the extra
 * member (twin) is accepted. */
static void
check_header_pair(
    const char *h, enum jose_err want, const char *twin, const struct jwk *key)
{
	char *t;

	t = tok_make(h, claims, &fx.rs256);
	assert_int_equal(parse_only(t, JOSE_ALG_MASK_ALL), want);
	free(t);
	t = tok_make(twin, claims, &fx.rs256);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, key), E2E_ACCEPT);
	free(t);
}

static void
test_header_policy(void **state)
{
	static const struct {
		const char *bad;
		enum jose_err want;
		const char *good;
	} cases[] = {
	    {"{\"alg\":\"RS256\",\"crit\":[\"exp\"],\"exp\":1}", JOSE_ECRIT,
		"{\"alg\":\"RS256\",\"exp\":1}"},
	    {"{\"alg\":\"RS256\",\"crit\":[]}", JOSE_ECRIT,
		"{\"alg\":\"RS256\"}"},
	    {"{\"alg\":\"RS256\",\"b64\":false,\"crit\":[\"b64\"]}", JOSE_ECRIT,
		"{\"alg\":\"RS256\",\"b64\":true}"},
	    {"{\"alg\":\"RS256\",\"b64\":false}", JOSE_ECRIT,
		"{\"alg\":\"RS256\",\"b64\":true}"},
	    {"{\"alg\":\"RS256\",\"jku\":\"https://evil/jwks\"}", JOSE_EHDR,
		"{\"alg\":\"RS256\"}"},
	    {"{\"alg\":\"RS256\",\"x5u\":\"https://evil/cert\"}", JOSE_EHDR,
		"{\"alg\":\"RS256\"}"},
	    {"{\"alg\":\"RS256\",\"jwk\":{\"kty\":\"RSA\"}}", JOSE_EHDR,
		"{\"alg\":\"RS256\"}"},
	    {"{\"alg\":\"RS256\",\"x5c\":[\"MII\"]}", JOSE_EHDR,
		"{\"alg\":\"RS256\",\"x5t\":\"MII\"}"},
	    {"{\"alg\":\"RS256\",\"typ\":\"JOSE\"}", JOSE_ETYP,
		"{\"alg\":\"RS256\",\"typ\":\"JWT\"}"},
	    {"{\"alg\":\"RS256\",\"typ\":\"jwt \"}", JOSE_ETYP,
		"{\"alg\":\"RS256\",\"typ\":\"jwt\"}"},
	    {"{\"alg\":\"RS256\",\"typ\":1}", JOSE_ETYP,
		"{\"alg\":\"RS256\",\"typ\":\"at+JWT\"}"},
	    {"{\"alg\":\"RS256\",\"typ\":\"id+jwt\"}", JOSE_ETYP,
		"{\"alg\":\"RS256\",\"typ\":\"application/at+jwt\"}"},
	    {"{\"alg\":[\"RS256\"]}", JOSE_EALG, "{\"alg\":\"RS256\"}"},
	    {"{\"typ\":\"JWT\"}", JOSE_EALG,
		"{\"typ\":\"JWT\",\"alg\":\"RS256\"}"},
	    {"{\"alg\":\"RS256\",\"alg\":\"RS256\"}", JOSE_EJSON,
		"{\"alg\":\"RS256\"}"},
	    {"{\"alg\":\"RS256\",\"x\":[[[[[[[[1]]]]]]]]}", JOSE_EJSON,
		"{\"alg\":\"RS256\",\"x\":[[[[[[[1]]]]]]]}"},
	};
	struct jwk key;
	size_t i;

	(void)state;
	rsa_jwk(NULL, &key);
	for (i = 0; i < nitems(cases); i++)
		check_header_pair(
		    cases[i].bad, cases[i].want, cases[i].good, &key);
	jwk_free(&key);
}

static void
test_kid_rules(void **state)
{
	char kid[JWK_KID_MAX + 2], hdr[512], *t;
	struct jwk key;
	struct jws jws;

	(void)state;
	rsa_jwk(NULL, &key);
	memset(kid, 'k', sizeof(kid));
	kid[JWK_KID_MAX + 1] = '\0'; /* 129 characters */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid);
	check_header_pair(hdr, JOSE_EFORMAT, "{\"alg\":\"RS256\"}", &key);
	kid[JWK_KID_MAX] = '\0'; /* 128: accepted */
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid);
	t = tok_make(hdr, claims, &fx.rs256);
	assert_int_equal(
	    jws_parse(t, strlen(t), JOSE_ALG_MASK_ALL, &jws), JOSE_OK);
	assert_true(jws.has_kid);
	assert_string_equal(jws.kid, kid);
	jws_free(&jws);
	free(t);
	check_header_pair("{\"alg\":\"RS256\",\"kid\":\"\"}", JOSE_EFORMAT,
	    "{\"alg\":\"RS256\",\"kid\":\"a\"}", &key);
	check_header_pair("{\"alg\":\"RS256\",\"kid\":\"a\\nb\"}", JOSE_EFORMAT,
	    "{\"alg\":\"RS256\",\"kid\":\"a b\"}", &key);
	check_header_pair("{\"alg\":\"RS256\",\"kid\":\"\xc3\xa9\"}",
	    JOSE_EFORMAT, "{\"alg\":\"RS256\",\"kid\":\"e\"}", &key);
	check_header_pair("{\"alg\":\"RS256\",\"kid\":7}", JOSE_EFORMAT,
	    "{\"alg\":\"RS256\",\"kid\":\"7\"}", &key);
	jwk_free(&key);
}

static void
test_token_shape(void **state)
{
	static const char *const bad[] = {
	    "",
	    ".",
	    "..",
	    "a.b",
	    "a.b.c.d",
	    ".eyJ9.c",
	    "eyJ9..c",
	    "eyJ9.eyJ9.",
	    "a..b.c",
	};
	struct jwk key;
	char *t, *p;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(bad); i++)
		assert_int_equal(
		    parse_only(bad[i], JOSE_ALG_MASK_ALL), JOSE_EFORMAT);
	assert_int_equal(
	    jws_parse(NULL, 0, JOSE_ALG_MASK_ALL, &(struct jws){0}),
	    JOSE_EFORMAT);
	rsa_jwk(NULL, &key);
	t = tok_make("{\"alg\":\"RS256\"}", claims, &fx.rs256);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &key), E2E_ACCEPT);
	/* The length bounds the token: one byte short is another token. */
	assert_int_not_equal(
	    jws_parse(t, strlen(t) - 1, JOSE_ALG_MASK_ALL, &(struct jws){0}),
	    JOSE_OK);
	/* Padding in the signature, a space: strict base64url refuses. */
	p = xmalloc(strlen(t) + 4);
	sprintf(p, "%s==", t);
	assert_int_equal(parse_only(p, JOSE_ALG_MASK_ALL), JOSE_EB64);
	sprintf(p, " %s", t);
	assert_int_equal(parse_only(p, JOSE_ALG_MASK_ALL), JOSE_EB64);
	free(p);
	free(t);
	/* Payload must be an object. */
	t = tok_make("{\"alg\":\"RS256\"}", "[1]", &fx.rs256);
	assert_int_equal(parse_only(t, JOSE_ALG_MASK_ALL), JOSE_EJSON);
	free(t);
	jwk_free(&key);
}

static void
test_token_size(void **state)
{
	char *pad, *t = NULL, payload[JOSE_TOKEN_MAX];
	size_t len = 0, n;
	struct jwk key;

	(void)state;
	rsa_jwk(NULL, &key);
	/* Grow the claims until the token is just within the cap. */
	for (n = 5000; n < JOSE_TOKEN_MAX; n++) {
		pad = xmalloc(n + 1);
		memset(pad, 'x', n);
		snprintf(payload, sizeof(payload), "{\"pad\":\"%s\"}", pad);
		free(pad);
		free(t);
		t = tok_make("{\"alg\":\"RS256\"}", payload, &fx.rs256);
		if (strlen(t) > JOSE_TOKEN_MAX)
			break;
		len = strlen(t);
		assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &key), E2E_ACCEPT);
	}
	print_message(
	    "  largest accepted %zu, first refused %zu\n", len, strlen(t));
	assert_true(len > JOSE_TOKEN_MAX - 8);
	assert_int_equal(parse_only(t, JOSE_ALG_MASK_ALL), JOSE_ESIZE);
	free(t);
	jwk_free(&key);
}

static void
test_fits(void **state)
{
	json_t *jr = jwk_of_pkey(fx.rsa), *j256 = jwk_of_pkey(fx.p256);
	json_t *j384 = jwk_of_pkey(fx.p384), *jed = jwk_of_ed25519(fx.edpk);
	struct jwk rsa, p256, p384, ed;
	char *t;

	(void)state;
	assert_int_equal(jwk_with(jr, NULL, &rsa), 0);
	assert_int_equal(jwk_with(j256, NULL, &p256), 0);
	assert_int_equal(jwk_with(j384, NULL, &p384), 0);
	assert_int_equal(jwk_with(jed, NULL, &ed), 0);
	/* RS256 token: the EC and OKP keys do not fit, the RSA key does. */
	t = tok_make("{\"alg\":\"RS256\"}", claims, &fx.rs256);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &p256), E2E_SIG);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &ed), E2E_SIG);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &rsa), E2E_ACCEPT);
	free(t);
	/* ES384 needs P-384; ES256 needs P-256. */
	t = tok_make("{\"alg\":\"ES384\"}", claims, &fx.es384);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &p256), E2E_SIG);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &p384), E2E_ACCEPT);
	free(t);
	t = tok_make("{\"alg\":\"EdDSA\"}", claims, &fx.eddsa);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &rsa), E2E_SIG);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &ed), E2E_ACCEPT);
	free(t);
	assert_false(jwk_fits(&p256, JOSE_ES384));
	assert_true(jwk_fits(&p256, JOSE_ES256));
	assert_false(jwk_fits(&rsa, JOSE_ES256));
	assert_true(jwk_fits(&rsa, JOSE_PS512));
	assert_false(jwk_fits(NULL, JOSE_RS256));
	jwk_free(&rsa);
	jwk_free(&p256);
	jwk_free(&p384);
	jwk_free(&ed);
	json_decref(jr);
	json_decref(j256);
	json_decref(j384);
	json_decref(jed);
}

static void
test_jwk_alg_pin(void **state)
{
	json_t *jr = jwk_of_pkey(fx.rsa), *j256 = jwk_of_pkey(fx.p256);
	struct jwk key;
	char *t;

	(void)state;
	t = tok_make("{\"alg\":\"RS256\"}", claims, &fx.rs256);
	assert_int_equal(jwk_with(jr, "{\"alg\":\"RS384\"}", &key), 0);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &key), E2E_SIG);
	jwk_free(&key);
	assert_int_equal(jwk_with(jr, "{\"alg\":\"RS256\"}", &key), 0);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &key), E2E_ACCEPT);
	jwk_free(&key);
	free(t);
	/* An "alg" that cannot fit the key, or that we do not support. */
	assert_int_equal(jwk_with(jr, "{\"alg\":\"ES256\"}", &key), -1);
	assert_int_equal(jwk_with(j256, "{\"alg\":\"ES384\"}", &key), -1);
	assert_int_equal(jwk_with(j256, "{\"alg\":\"ES512\"}", &key), -1);
	assert_int_equal(jwk_with(j256, "{\"alg\":\"HS256\"}", &key), -1);
	assert_int_equal(jwk_with(j256, "{\"alg\":7}", &key), -1);
	assert_int_equal(jwk_with(j256, "{\"alg\":\"ES256\"}", &key), 0);
	assert_int_equal(key.alg, JOSE_ES256);
	jwk_free(&key);
	json_decref(jr);
	json_decref(j256);
}

static void
test_jwk_rsa_rules(void **state)
{
	json_t *j1024 = jwk_of_pkey(fx.rsa1024), *j2048 = jwk_of_pkey(fx.rsa);
	char err[128];
	struct jwk key;

	(void)state;
	assert_int_equal(jwk_parse(j1024, &key, err, sizeof(err)), -1);
	assert_string_equal(err, "RSA modulus too small");
	assert_null(key.pkey);
	assert_int_equal(jwk_parse(j2048, &key, err, sizeof(err)), 0);
	assert_int_equal(key.bits, 2048);
	assert_int_equal(key.kty, JWK_KTY_RSA);
	jwk_free(&key);
	/* Exponents: 1 and even refused, 3 and 65537 accepted. */
	assert_int_equal(jwk_with(j2048, "{\"e\":\"AQ\"}", &key), -1);
	assert_int_equal(jwk_with(j2048, "{\"e\":\"AQAA\"}", &key), -1);
	assert_int_equal(jwk_with(j2048, "{\"e\":\"Ag\"}", &key), -1);
	assert_int_equal(jwk_with(j2048, "{\"e\":\"AAEAAQ\"}", &key), -1);
	assert_int_equal(jwk_with(j2048, "{\"e\":\"AQAAAAE\"}", &key), -1);
	assert_int_equal(jwk_with(j2048, "{\"e\":\"Aw\"}", &key), 0);
	jwk_free(&key);
	assert_int_equal(jwk_with(j2048, "{\"e\":\"AQAB\"}", &key), 0);
	jwk_free(&key);
	/* Padding or a non-string n. */
	assert_int_equal(jwk_with(j2048, "{\"e\":\"AQAB=\"}", &key), -1);
	assert_int_equal(jwk_with(j2048, "{\"n\":1}", &key), -1);
	json_decref(j1024);
	json_decref(j2048);
}

static void
test_jwk_roca(void **state)
{
	const json_t *g, *k, *groups, *keys;
	json_t *doc, *pub;
	char err[128];
	struct jwk key;
	size_t i, j, n = 0;

	(void)state;
	doc = load_vectors("json_web_key_test.json");
	groups = json_object_get(doc, "testGroups");
	for (i = 0; (g = json_array_get(groups, i)) != NULL; i++) {
		if (strcmp(json_string_value(json_object_get(g, "comment")),
			"jws_rsa_roca_key") != 0)
			continue;
		pub = strip_private(json_object_get(g, "private"));
		keys = json_object_get(pub, "keys");
		for (j = 0; (k = json_array_get(keys, j)) != NULL; j++) {
			assert_int_equal(
			    jwk_parse(k, &key, err, sizeof(err)), -1);
			assert_non_null(strstr(err, "ROCA"));
			n++;
		}
		json_decref(pub);
	}
	json_decref(doc);
	assert_int_equal(n, 1);
	/* Twin: an ordinary 2048-bit key of the same shape passes. */
	pub = jwk_of_pkey(fx.rsa);
	assert_int_equal(jwk_parse(pub, &key, err, sizeof(err)), 0);
	jwk_free(&key);
	json_decref(pub);
}

static void
test_jwk_members(void **state)
{
	static const struct {
		const char *bad, *good;
	} cases[] = {
	    {"{\"d\":\"AQAB\"}", "{\"kid\":\"a\"}"},
	    {"{\"p\":\"AQAB\"}", "{\"kid\":\"a\"}"},
	    {"{\"q\":\"AQAB\"}", "{\"kid\":\"a\"}"},
	    {"{\"dp\":\"AQAB\"}", "{\"kid\":\"a\"}"},
	    {"{\"dq\":\"AQAB\"}", "{\"kid\":\"a\"}"},
	    {"{\"qi\":\"AQAB\"}", "{\"kid\":\"a\"}"},
	    {"{\"oth\":[]}", "{\"kid\":\"a\"}"},
	    {"{\"k\":\"AQAB\"}", "{\"kid\":\"a\"}"},
	    {"{\"d\":null}", "{\"kid\":\"a\"}"},
	    {"{\"use\":\"enc\"}", "{\"use\":\"sig\"}"},
	    {"{\"use\":1}", "{\"use\":\"sig\"}"},
	    {"{\"key_ops\":[\"encrypt\"]}", "{\"key_ops\":[\"verify\"]}"},
	    {"{\"key_ops\":[\"sign\"]}", "{\"key_ops\":[\"sign\",\"verify\"]}"},
	    {"{\"key_ops\":\"verify\"}", "{\"key_ops\":[\"verify\"]}"},
	    {"{\"key_ops\":[1,\"verify\"]}", "{\"key_ops\":[\"verify\"]}"},
	    {"{\"kid\":\"\"}", "{\"kid\":\"k\"}"},
	    {"{\"kid\":\"a\\u0001\"}", "{\"kid\":\"a~\"}"},
	    {"{\"kty\":\"oct\"}", "{\"kty\":\"RSA\"}"},
	    {"{\"kty\":\"rsa\"}", "{\"kty\":\"RSA\"}"},
	    {"{\"kty\":null}", "{\"kty\":\"RSA\"}"},
	};
	json_t *jr = jwk_of_pkey(fx.rsa), *str;
	char kid[JWK_KID_MAX + 2], extra[JWK_KID_MAX + 32];
	struct jwk key;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		assert_int_equal(jwk_with(jr, cases[i].bad, &key), -1);
		assert_null(key.pkey);
		assert_int_equal(jwk_with(jr, cases[i].good, &key), 0);
		jwk_free(&key);
	}
	/* kid of 129 characters refused, 128 accepted. */
	memset(kid, 'k', sizeof(kid));
	kid[JWK_KID_MAX + 1] = '\0';
	snprintf(extra, sizeof(extra), "{\"kid\":\"%s\"}", kid);
	assert_int_equal(jwk_with(jr, extra, &key), -1);
	kid[JWK_KID_MAX] = '\0';
	snprintf(extra, sizeof(extra), "{\"kid\":\"%s\"}", kid);
	assert_int_equal(jwk_with(jr, extra, &key), 0);
	assert_string_equal(key.kid, kid);
	jwk_free(&key);
	str = json_string("x");
	assert_int_equal(jwk_parse(str, &key, NULL, 0), -1);
	json_decref(str);
	json_decref(jr);
}

static void
test_jwk_ec_okp_rules(void **state)
{
	json_t *j = jwk_of_pkey(fx.p256), *jed = jwk_of_ed25519(fx.edpk);
	uint8_t small[32] = {1}; /* the neutral element: small order */
	char extra[128], *x;
	struct jwk key;

	(void)state;
	/* Off the curve: take y from another point. */
	x = strdup(json_string_value(json_object_get(j, "x")));
	snprintf(extra, sizeof(extra), "{\"y\":\"%s\"}", x);
	assert_int_equal(jwk_with(j, extra, &key), -1);
	free(x);
	assert_int_equal(jwk_with(j, "{\"crv\":\"P-384\"}", &key), -1);
	assert_int_equal(jwk_with(j, "{\"crv\":\"P-521\"}", &key), -1);
	assert_int_equal(jwk_with(j, "{\"crv\":\"secp256k1\"}", &key), -1);
	assert_int_equal(jwk_with(j, "{\"x\":\"AAAA\"}", &key), -1);
	assert_int_equal(jwk_with(j, NULL, &key), 0);
	assert_int_equal(key.crv, JWK_CRV_P256);
	jwk_free(&key);
	/* OKP: only Ed25519 with a valid 32-byte point. */
	assert_int_equal(jwk_with(jed, "{\"crv\":\"Ed448\"}", &key), -1);
	assert_int_equal(jwk_with(jed, "{\"crv\":\"X25519\"}", &key), -1);
	assert_int_equal(jwk_with(jed, "{\"x\":\"AAAA\"}", &key), -1);
	x = b64(small, sizeof(small));
	snprintf(extra, sizeof(extra), "{\"x\":\"%s\"}", x);
	assert_int_equal(jwk_with(jed, extra, &key), -1);
	free(x);
	assert_int_equal(jwk_with(jed, NULL, &key), 0);
	assert_int_equal(key.crv, JWK_CRV_ED25519);
	jwk_free(&key);
	json_decref(j);
	json_decref(jed);
}

static void
test_ecdsa_encoding(void **state)
{
	json_t *j = jwk_of_pkey(fx.p256);
	struct signer der = fx.es256;
	struct jwk key;
	char *t;

	(void)state;
	assert_int_equal(jwk_with(j, NULL, &key), 0);
	der.kind = SIGN_EC_DER;
	t = tok_make("{\"alg\":\"ES256\"}", claims, &der);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &key), E2E_SIG);
	free(t);
	t = tok_make("{\"alg\":\"ES256\",\"kid\":\"abc\"}", claims, &fx.es256);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &key), E2E_ACCEPT);
	check_bitflips(t, &key);
	free(t);
	jwk_free(&key);
	json_decref(j);
}

/*
 * A signature is accepted at its exact length only: the same bytes with
 * one byte appended (zero or not) or removed are refused.
 */
static void
check_sig_lengths(
    const struct signer *sg, const struct jwk *key, enum jose_alg alg)
{
	static const char msg[] = "header.payload";
	uint8_t sig[1024];
	size_t len;

	len = sign_input(sg, msg, strlen(msg), sig);
	assert_int_equal(
	    jose_verify(key, alg, (const uint8_t *)msg, strlen(msg), sig, len),
	    0);
	sig[len] = 0;
	assert_int_equal(jose_verify(key, alg, (const uint8_t *)msg,
			     strlen(msg), sig, len + 1),
	    -1);
	sig[len] = 0x5a;
	assert_int_equal(jose_verify(key, alg, (const uint8_t *)msg,
			     strlen(msg), sig, len + 1),
	    -1);
	assert_int_equal(jose_verify(key, alg, (const uint8_t *)msg,
			     strlen(msg), sig, len - 1),
	    -1);
	assert_int_equal(
	    jose_verify(key, alg, (const uint8_t *)msg, strlen(msg), sig, 0),
	    -1);
}

static void
test_sig_lengths(void **state)
{
	json_t *jr = jwk_of_pkey(fx.rsa), *j256 = jwk_of_pkey(fx.p256);
	json_t *j384 = jwk_of_pkey(fx.p384), *jed = jwk_of_ed25519(fx.edpk);
	struct jwk rsa, p256, p384, ed;

	(void)state;
	assert_int_equal(jwk_with(jr, NULL, &rsa), 0);
	assert_int_equal(jwk_with(j256, NULL, &p256), 0);
	assert_int_equal(jwk_with(j384, NULL, &p384), 0);
	assert_int_equal(jwk_with(jed, NULL, &ed), 0);
	check_sig_lengths(&fx.rs256, &rsa, JOSE_RS256);
	check_sig_lengths(&fx.ps256, &rsa, JOSE_PS256);
	check_sig_lengths(&fx.es256, &p256, JOSE_ES256);
	check_sig_lengths(&fx.es384, &p384, JOSE_ES384);
	check_sig_lengths(&fx.eddsa, &ed, JOSE_EDDSA);
	jwk_free(&rsa);
	jwk_free(&p256);
	jwk_free(&p384);
	jwk_free(&ed);
	json_decref(jr);
	json_decref(j256);
	json_decref(j384);
	json_decref(jed);
}

static void
test_pss_salt(void **state)
{
	struct signer s20 = fx.ps256, smax = fx.ps256;
	struct jwk key;
	char *t;

	(void)state;
	rsa_jwk(NULL, &key);
	s20.saltlen = 20;
	smax.saltlen = RSA_PSS_SALTLEN_MAX;
	t = tok_make("{\"alg\":\"PS256\"}", claims, &s20);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &key), E2E_SIG);
	free(t);
	t = tok_make("{\"alg\":\"PS256\"}", claims, &smax);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &key), E2E_SIG);
	free(t);
	t = tok_make("{\"alg\":\"PS256\"}", claims, &fx.ps256);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &key), E2E_ACCEPT);
	free(t);
	/* PKCS#1 v1.5 is not PSS, nor the reverse: same key and header. */
	t = tok_make("{\"alg\":\"PS256\"}", claims, &fx.rs256);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &key), E2E_SIG);
	free(t);
	t = tok_make("{\"alg\":\"RS256\"}", claims, &fx.ps256);
	assert_int_equal(e2e(t, JOSE_ALG_MASK_ALL, &key), E2E_SIG);
	free(t);
	jwk_free(&key);
}

static char *
jwks_text(const char *const *members, size_t n)
{
	json_t *set = json_pack("{s:[]}", "keys"), *base;
	size_t i;
	char *s;

	for (i = 0; i < n; i++) {
		json_t *x = json_loads(members[i], 0, NULL);

		assert_non_null(x);
		if (json_object_get(x, "kty") == NULL) {
			base = jwk_of_pkey(fx.rsa);
			json_object_update(base, x);
			json_decref(x);
			x = base;
		}
		json_array_append_new(json_object_get(set, "keys"), x);
	}
	s = json_dumps(set, JSON_COMPACT);
	json_decref(set);
	return s;
}

static void
test_jwkset_rules(void **state)
{
	static const char *const members[] = {
	    "{\"kid\":\"a\"}", "{\"kid\":\"dup\"}", "{\"kid\":\"dup\"}",
	    "{}", /* no kid: skipped */
	    "{\"kid\":\"enc\",\"use\":\"enc\"}",
	    "{\"kid\":\"b\",\"alg\":\"RS256\"}",
	    "{\"kty\":\"oct\",\"kid\":\"h\",\"k\":\"AAAA\"}",
	    "{\"kid\":\"c\",\"use\":\"enc\"}",
	    "{\"kid\":\"c\"}", /* shares kid with an unusable */
	};
	struct jwkset set;
	char err[128], *doc;

	(void)state;
	doc = jwks_text(members, nitems(members));
	assert_int_equal(
	    jwkset_parse(doc, strlen(doc), &set, err, sizeof(err)), 0);
	print_message("  %s\n", err);
	assert_int_equal(set.n, 2);
	assert_non_null(jwkset_find(&set, "a"));
	assert_non_null(jwkset_find(&set, "b"));
	assert_null(jwkset_find(&set, "dup"));
	assert_null(jwkset_find(&set, "enc"));
	assert_null(jwkset_find(&set, "h"));
	assert_null(jwkset_find(&set, "c"));
	assert_null(jwkset_find(&set, NULL));
	jwkset_free(&set);
	free(doc);
	/* Document-level failures, each with an accepted twin. */
	assert_int_equal(jwkset_parse("{}", 2, &set, err, sizeof(err)), -1);
	assert_int_equal(
	    jwkset_parse("{\"keys\":{}}", 11, &set, err, sizeof(err)), -1);
	assert_int_equal(jwkset_parse("{\"keys\":[],\"keys\":[]}", 21, &set,
			     err, sizeof(err)),
	    -1);
	assert_int_equal(jwkset_parse("[]", 2, &set, err, sizeof(err)), -1);
	assert_int_equal(
	    jwkset_parse("{\"keys\":[]}", 11, &set, err, sizeof(err)), 0);
	assert_int_equal(set.n, 0);
	jwkset_free(&set);
}

static void
test_jwkset_cap(void **state)
{
	const char *many[JWKSET_MAX + 1];
	struct jwkset set;
	char kids[JWKSET_MAX + 1][32], *doc;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(many); i++) {
		snprintf(kids[i], sizeof(kids[i]), "{\"kid\":\"k%zu\"}", i);
		many[i] = kids[i];
	}
	/* 64 entries pass, 65 do not. */
	doc = jwks_text(many, JWKSET_MAX);
	assert_int_equal(jwkset_parse(doc, strlen(doc), &set, NULL, 0), 0);
	assert_int_equal(set.n, JWKSET_MAX);
	jwkset_free(&set);
	free(doc);
	doc = jwks_text(many, JWKSET_MAX + 1);
	assert_int_equal(jwkset_parse(doc, strlen(doc), &set, NULL, 0), -1);
	assert_int_equal(set.n, 0);
	free(doc);
}

static void
test_end_to_end_jwks(void **state)
{
	static const char *const members[] = {"{\"kid\":\"k1\"}"};
	struct jwkset set;
	enum jose_err perr;
	char *doc, *t;

	(void)state;
	doc = jwks_text(members, 1);
	assert_int_equal(jwkset_parse(doc, strlen(doc), &set, NULL, 0), 0);
	t = tok_make("{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}",
	    claims, &fx.rs256);
	assert_int_equal(
	    e2e_key(t, JOSE_ALG_MASK_ALL, &set, NULL, &perr), E2E_ACCEPT);
	free(t);
	t = tok_make("{\"alg\":\"RS256\",\"kid\":\"k2\"}", claims, &fx.rs256);
	assert_int_equal(
	    e2e_key(t, JOSE_ALG_MASK_ALL, &set, NULL, &perr), E2E_NOKEY);
	free(t);
	jwkset_free(&set);
	free(doc);
}

static void
test_verify_args(void **state)
{
	struct jwk key;
	uint8_t sig[256] = {0};

	(void)state;
	rsa_jwk(NULL, &key);
	assert_int_equal(jose_verify(NULL, JOSE_RS256, sig, 1, sig, 256), -1);
	assert_int_equal(jose_verify(&key, JOSE_RS256, NULL, 1, sig, 256), -1);
	assert_int_equal(jose_verify(&key, JOSE_RS256, sig, 1, NULL, 0), -1);
	assert_int_equal(jose_verify(&key, JOSE_RS256, sig, 1, sig, 255), -1);
	assert_int_equal(jose_verify(&key, JOSE_RS256, NULL, 0, sig, 256), -1);
	jwk_free(&key);
	jwk_free(NULL);
	jws_free(NULL);
	jwkset_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_prestate(
		test_wycheproof_file, (void *)&wp_files[0]),
	    cmocka_unit_test_prestate(
		test_wycheproof_file, (void *)&wp_files[1]),
	    cmocka_unit_test_prestate(
		test_wycheproof_file, (void *)&wp_files[2]),
	    cmocka_unit_test_prestate(
		test_wycheproof_file, (void *)&wp_files[3]),
	    cmocka_unit_test_prestate(
		test_wycheproof_file, (void *)&wp_files[4]),
	    cmocka_unit_test_prestate(
		test_wycheproof_file, (void *)&wp_files[5]),
	    cmocka_unit_test_prestate(
		test_wycheproof_file, (void *)&wp_files[6]),
	    cmocka_unit_test(test_wycheproof_jws),
	    cmocka_unit_test(test_wycheproof_jwk),
	    cmocka_unit_test(test_rfc7515_a2),
	    cmocka_unit_test(test_rfc7515_a3),
	    cmocka_unit_test(test_rfc8037_a4_a5),
	    cmocka_unit_test(test_alg_names),
	    cmocka_unit_test(test_alg_mask_parse),
	    cmocka_unit_test(test_alg_none),
	    cmocka_unit_test(test_hs256_confusion),
	    cmocka_unit_test(test_alg_mask_gate),
	    cmocka_unit_test(test_header_policy),
	    cmocka_unit_test(test_kid_rules),
	    cmocka_unit_test(test_token_shape),
	    cmocka_unit_test(test_token_size),
	    cmocka_unit_test(test_fits),
	    cmocka_unit_test(test_jwk_alg_pin),
	    cmocka_unit_test(test_jwk_rsa_rules),
	    cmocka_unit_test(test_jwk_roca),
	    cmocka_unit_test(test_jwk_members),
	    cmocka_unit_test(test_jwk_ec_okp_rules),
	    cmocka_unit_test(test_ecdsa_encoding),
	    cmocka_unit_test(test_pss_salt),
	    cmocka_unit_test(test_sig_lengths),
	    cmocka_unit_test(test_jwkset_rules),
	    cmocka_unit_test(test_jwkset_cap),
	    cmocka_unit_test(test_end_to_end_jwks),
	    cmocka_unit_test(test_verify_args),
	};

	return cmocka_run_group_tests(tests, setup_keys, teardown_keys);
}

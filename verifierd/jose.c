/*
 * jose.c - compact JWS parsing and signature verification.
 *
 * Called by verify.c (one token at a time, after the vcache misses),
 * by the unit tests and by the fuzz target.  Invariants: a token is
 * refused before any key is looked up unless it is exactly
 * header.payload.signature in strict base64url, both JSON parts are
 * strict objects, and the header names an allowlisted algorithm and no
 * key-reference or critical extension; jose_verify() never checks a
 * signature with a key whose type, curve or "alg" does not fit the
 * token's alg (RFC 8725 sections 3.1 and 3.2), so HMAC-with-a-public-key
 * and none are not merely rejected but unrepresentable.
 */
#include <string.h>

#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <sodium.h>

#include "b64url.h"
#include "jose.h"
#include "jsonx.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

#define JOSE_PART_MAX B64URL_DECODED_MAX(JOSE_TOKEN_MAX)

static const char *const jose_errstr[] = {
    [JOSE_OK] = "ok",
    [JOSE_EFORMAT] = "malformed token",
    [JOSE_EB64] = "invalid base64url",
    [JOSE_EJSON] = "header or payload is not a strict JSON object",
    [JOSE_EALG] = "algorithm missing or not allowed",
    [JOSE_ECRIT] = "unsupported critical header",
    [JOSE_EHDR] = "key-reference header present",
    [JOSE_ETYP] = "token type is not JWT",
    [JOSE_ESIZE] = "token too large",
};

const char *
jose_strerror(enum jose_err e)
{
	if ((size_t)e >= nitems(jose_errstr) || jose_errstr[e] == NULL)
		return "unknown error";
	return jose_errstr[e];
}

/* Find the two dots of header.payload.signature; no part may be empty. */
static enum jose_err
jws_split(const char *token, size_t len, const char **d1, const char **d2)
{
	const char *end = token + len;

	if ((*d1 = memchr(token, '.', len)) == NULL ||
	    (*d2 = memchr(*d1 + 1, '.', (size_t)(end - *d1 - 1))) == NULL ||
	    memchr(*d2 + 1, '.', (size_t)(end - *d2 - 1)) != NULL)
		return JOSE_EFORMAT;
	if (*d1 == token || *d2 == *d1 + 1 || *d2 + 1 == end)
		return JOSE_EFORMAT;
	return JOSE_OK;
}

/* Decode one base64url part and parse it as a strict JSON object. */
static enum jose_err
jws_decode_json(const char *part, size_t len, json_t **out)
{
	uint8_t buf[JOSE_PART_MAX];
	size_t n;

	if (b64url_decode(part, len, buf, sizeof(buf), &n) != 0)
		return JOSE_EB64;
	*out = jsonx_parse_object(
	    (const char *)buf, n, JOSE_JSON_MAXDEPTH, NULL, 0);
	return *out != NULL ? JOSE_OK : JOSE_EJSON;
}

/* ASCII-only case-insensitive equality, independent of the locale. */
static int
jose_ascii_caseeq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++) {
		char x = *a, y = *b;

		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return *a == *b;
}

/*
 * "typ" is a media type; RFC 7515 4.1.9 makes "JWT" and
 * "application/JWT" the same type, so both spellings are accepted.
 */
static enum jose_err
jws_check_typ(const json_t *hdr)
{
	static const char *const ok[] = {
	    "JWT",
	    "at+jwt",
	    "application/jwt",
	    "application/at+jwt",
	};
	const json_t *v;
	size_t i;

	if ((v = json_object_get(hdr, "typ")) == NULL)
		return JOSE_OK;
	if (!json_is_string(v))
		return JOSE_ETYP;
	for (i = 0; i < nitems(ok); i++)
		if (jose_ascii_caseeq(json_string_value(v), ok[i]))
			return JOSE_OK;
	return JOSE_ETYP;
}

/* "kid", if present: 1..JWK_KID_MAX printable ASCII characters. */
static enum jose_err
jws_check_kid(const json_t *hdr, struct jws *out)
{
	const json_t *v;
	size_t len;

	if ((v = json_object_get(hdr, "kid")) == NULL)
		return JOSE_OK;
	if (!json_is_string(v) ||
	    !jwk_kid_valid(json_string_value(v), json_string_length(v)))
		return JOSE_EFORMAT;
	len = json_string_length(v);
	memcpy(out->kid, json_string_value(v), len);
	out->kid[len] = '\0';
	out->has_kid = 1;
	return JOSE_OK;
}

/*
 * Header policy.  We implement no extension, so any "crit" is refused
 * (RFC 7515 4.1.11), and so is "b64" unless it is the default, true
 * (RFC 7797).  Key references are refused rather than ignored, since a
 * token that carries one was made for a verifier that trusts it.
 */
static enum jose_err
jws_check_header(const json_t *hdr, unsigned mask, struct jws *out)
{
	static const char *const keyrefs[] = {"jku", "x5u", "jwk", "x5c"};
	const json_t *v;
	size_t i;

	v = json_object_get(hdr, "alg");
	if (!json_is_string(v))
		return JOSE_EALG;
	out->alg = jose_alg_from_name(json_string_value(v));
	if (out->alg == JOSE_ALG_INVALID ||
	    (mask & JOSE_ALG_MASK_ALL & (1u << out->alg)) == 0)
		return JOSE_EALG;
	if (json_object_get(hdr, "crit") != NULL)
		return JOSE_ECRIT;
	if ((v = json_object_get(hdr, "b64")) != NULL && !json_is_true(v))
		return JOSE_ECRIT;
	for (i = 0; i < nitems(keyrefs); i++)
		if (json_object_get(hdr, keyrefs[i]) != NULL)
			return JOSE_EHDR;
	if (jws_check_kid(hdr, out) != JOSE_OK)
		return JOSE_EFORMAT;
	return jws_check_typ(hdr);
}

static enum jose_err
jws_decode_sig(const char *part, size_t len, struct jws *out)
{
	if (len > B64URL_ENCODED_LEN(sizeof(out->sig)))
		return JOSE_ESIZE;
	if (b64url_decode(
		part, len, out->sig, sizeof(out->sig), &out->sig_len) != 0)
		return JOSE_EB64;
	return JOSE_OK;
}

/* Decode and check the three parts found by jws_split(). */
static enum jose_err
jws_parse_parts(const char *token, size_t len, const char *d1, const char *d2,
    unsigned alg_mask, struct jws *out)
{
	size_t hlen = (size_t)(d1 - token);
	size_t plen = (size_t)(d2 - d1 - 1);
	size_t slen = len - (size_t)(d2 + 1 - token);
	enum jose_err rc;

	if ((rc = jws_decode_json(token, hlen, &out->header)) != JOSE_OK)
		return rc;
	if ((rc = jws_check_header(out->header, alg_mask, out)) != JOSE_OK)
		return rc;
	if ((rc = jws_decode_json(d1 + 1, plen, &out->payload)) != JOSE_OK)
		return rc;
	return jws_decode_sig(d2 + 1, slen, out);
}

enum jose_err
jws_parse(const char *token, size_t len, unsigned alg_mask, struct jws *out)
{
	const char *d1, *d2;
	enum jose_err rc;

	memset(out, 0, sizeof(*out));
	if (token == NULL)
		return JOSE_EFORMAT;
	if (len > JOSE_TOKEN_MAX)
		return JOSE_ESIZE;
	if ((rc = jws_split(token, len, &d1, &d2)) != JOSE_OK)
		return rc;
	if ((rc = jws_parse_parts(token, len, d1, d2, alg_mask, out)) !=
	    JOSE_OK) {
		jws_free(out);
		return rc;
	}
	out->signing_input = token;
	out->signing_input_len = (size_t)(d2 - token);
	return JOSE_OK;
}

void
jws_free(struct jws *jws)
{
	if (jws == NULL)
		return;
	json_decref(jws->header);
	json_decref(jws->payload);
	memset(jws, 0, sizeof(*jws));
}

static const EVP_MD *
jose_md(enum jose_alg alg)
{
	switch (alg) {
	case JOSE_RS256:
	case JOSE_PS256:
	case JOSE_ES256:
		return EVP_sha256();
	case JOSE_RS384:
	case JOSE_PS384:
	case JOSE_ES384:
		return EVP_sha384();
	case JOSE_RS512:
	case JOSE_PS512:
		return EVP_sha512();
	default:
		return NULL;
	}
}

/*
 * PSS as RFC 7518 3.5 fixes it: MGF1 with the message hash and a salt
 * exactly as long as the hash; OpenSSL then refuses any other length.
 */
static int
jose_set_pss(EVP_PKEY_CTX *pctx, const EVP_MD *md)
{
	if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, EVP_MD_get_size(md)) <= 0)
		return -1;
	return 0;
}

/* One EVP_DigestVerify() with RSA padding pad, or 0 for ECDSA. */
static int
jose_digest_verify(EVP_PKEY *pkey, const EVP_MD *md, int pad,
    const uint8_t *sig, size_t siglen, const uint8_t *msg, size_t msglen)
{
	EVP_MD_CTX *mctx;
	EVP_PKEY_CTX *pctx = NULL;
	int rc = -1;

	if (md == NULL || (mctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestVerifyInit(mctx, &pctx, md, NULL, pkey) != 1)
		goto out;
	if (pad == RSA_PKCS1_PSS_PADDING && jose_set_pss(pctx, md) != 0)
		goto out;
	if (pad == RSA_PKCS1_PADDING &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, pad) <= 0)
		goto out;
	if (EVP_DigestVerify(mctx, sig, siglen, msg, msglen) == 1)
		rc = 0;
out:
	EVP_MD_CTX_free(mctx);
	return rc;
}

/* A verify context for alg with its padding and hash set, or NULL. */
static EVP_PKEY_CTX *
jose_rsa_ctx(EVP_PKEY *pkey, enum jose_alg alg)
{
	const EVP_MD *md = jose_md(alg);
	EVP_PKEY_CTX *ctx;
	int pss = alg == JOSE_PS256 || alg == JOSE_PS384 || alg == JOSE_PS512;

	if (md == NULL || (ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey,
	    NULL)) == NULL)
		return NULL;
	if (EVP_PKEY_verify_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md) <= 0 ||
	    (pss && jose_set_pss(ctx, md) != 0) ||
	    (!pss && EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <=
	    0)) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * RSA signatures are exactly as long as the modulus (RFC 8017 8.2.2).
 * The message is hashed here and the prepared context verifies the
 * digest, so a key's context is built once, not once per token.
 */
static int
jose_verify_rsa(const struct jwk *key, enum jose_alg alg, const uint8_t *msg,
    size_t msglen, const uint8_t *sig, size_t siglen)
{
	EVP_PKEY_CTX **slot = (EVP_PKEY_CTX **)&key->vctx[alg - JOSE_RS256];
	uint8_t dig[EVP_MAX_MD_SIZE];
	unsigned dlen;

	if (siglen != (size_t)EVP_PKEY_get_size(key->pkey))
		return -1;
	if (*slot == NULL && (*slot = jose_rsa_ctx(key->pkey, alg)) == NULL)
		return -1;
	if (EVP_Digest(msg, msglen, dig, &dlen, jose_md(alg), NULL) != 1)
		return -1;
	return EVP_PKEY_verify(*slot, sig, siglen, dig, dlen) == 1 ? 0 : -1;
}

/*
 * JWS carries ECDSA as fixed-width r || s; OpenSSL wants DER.  The width
 * is checked exactly, so short or padded encodings are refused, and
 * OpenSSL refuses r or s outside [1, n-1].
 */
static int
jose_verify_ecdsa(const struct jwk *key, enum jose_alg alg, const uint8_t *msg,
    size_t msglen, const uint8_t *sig, size_t siglen)
{
	ECDSA_SIG *es = NULL;
	BIGNUM *r = NULL, *s = NULL;
	unsigned char *der = NULL;
	size_t half = key->bits / 8;
	int derlen, rc = -1;

	if (siglen != 2 * half)
		return -1;
	if ((r = BN_bin2bn(sig, (int)half, NULL)) == NULL ||
	    (s = BN_bin2bn(sig + half, (int)half, NULL)) == NULL ||
	    (es = ECDSA_SIG_new()) == NULL || ECDSA_SIG_set0(es, r, s) != 1)
		goto out;
	r = s = NULL; /* owned by es now */
	if ((derlen = i2d_ECDSA_SIG(es, &der)) <= 0)
		goto out;
	rc = jose_digest_verify(
	    key->pkey, jose_md(alg), 0, der, (size_t)derlen, msg, msglen);
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(es);
	BN_free(r);
	BN_free(s);
	return rc;
}

/*
 * libsodium's verifier refuses non-canonical S, small-order R and A,
 * and non-canonical A (RFC 8032 5.1.7 plus the usual hardening).
 */
static int
jose_verify_eddsa(const struct jwk *key, const uint8_t *msg, size_t msglen,
    const uint8_t *sig, size_t siglen)
{
	if (siglen != crypto_sign_BYTES || sodium_init() < 0)
		return -1;
	if (crypto_sign_verify_detached(sig, msg, msglen, key->ed25519) != 0)
		return -1;
	return 0;
}

int
jose_verify(const struct jwk *key, enum jose_alg alg, const uint8_t *msg,
    size_t msglen, const uint8_t *sig, size_t siglen)
{
	static const uint8_t empty[1];
	int rc;

	if (sig == NULL || (msg == NULL && msglen != 0) || !jwk_fits(key, alg))
		return -1;
	if (msg == NULL)
		msg = empty;
	switch (alg) {
	case JOSE_RS256:
	case JOSE_RS384:
	case JOSE_RS512:
	case JOSE_PS256:
	case JOSE_PS384:
	case JOSE_PS512:
		rc = jose_verify_rsa(key, alg, msg, msglen, sig, siglen);
		break;
	case JOSE_ES256:
	case JOSE_ES384:
		rc = jose_verify_ecdsa(key, alg, msg, msglen, sig, siglen);
		break;
	case JOSE_EDDSA:
		rc = jose_verify_eddsa(key, msg, msglen, sig, siglen);
		break;
	default:
		rc = -1;
		break;
	}
	/* Failures leave OpenSSL errors queued; do not leak them on. */
	if (rc != 0)
		ERR_clear_error();
	return rc;
}

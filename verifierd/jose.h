/*
 * jose.h - compact JWS parsing and signature verification (RFC 7515,
 * RFC 7518, RFC 8037), following RFC 8725.
 *
 * Nothing here knows about the network, the clock or claim values:
 * jws_parse() checks the form and header policy, jose_verify() checks
 * one signature with one key.  Claims are claims.c's business.
 */
#ifndef TODOD_JOSE_H
#define TODOD_JOSE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "jwk.h"

#define JOSE_TOKEN_MAX		8192	/* bytes of compact JWS */
#define JOSE_JSON_MAXDEPTH	8	/* header and payload nesting */
#define JOSE_SIG_MAX		512	/* RSA-4096 */

enum jose_err {
	JOSE_OK = 0,
	JOSE_EFORMAT,	/* not three non-empty parts; bad "kid" */
	JOSE_EB64,	/* a part is not strict base64url */
	JOSE_EJSON,	/* header or payload not a strict JSON object */
	JOSE_EALG,	/* "alg" missing, unsupported or not allowed */
	JOSE_ECRIT,	/* "crit" present, or "b64" other than true */
	JOSE_EHDR,	/* jku, x5u, jwk, x5c present */
	JOSE_ETYP,	/* "typ" present and not a JWT type */
	JOSE_ESIZE	/* token or signature too long */
};

const char	*jose_strerror(enum jose_err);

struct jws {
	enum jose_alg	 alg;
	char		 kid[JWK_KID_MAX + 1];
	int		 has_kid;
	json_t		*header;
	json_t		*payload;
	const char	*signing_input;	/* points into the caller's token */
	size_t		 signing_input_len;
	uint8_t		 sig[JOSE_SIG_MAX];
	size_t		 sig_len;
};

/*
 * Parse a compact JWS of len bytes whose "alg" must be in alg_mask
 * (bits 1u << enum jose_alg).  On JOSE_OK the caller owns *out (free it
 * with jws_free()) and must keep token alive while using
 * out->signing_input.  On error *out is zeroed.  The signature is not
 * checked here.
 */
enum jose_err	 jws_parse(const char *token, size_t len, unsigned alg_mask,
		    struct jws *out);
void		 jws_free(struct jws *);

/*
 * Verify sig over msg with key for alg.  Returns 0 only for a valid
 * signature by a key that fits alg (jwk_fits()); -1 otherwise.  ECDSA
 * signatures are in the JWS form r || s (RFC 7518 section 3.4).
 */
int	jose_verify(const struct jwk *key, enum jose_alg alg,
	    const uint8_t *msg, size_t msglen, const uint8_t *sig,
	    size_t siglen);

#endif

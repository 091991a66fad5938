/*
 * fuzz_jose.c - libFuzzer target for the JOSE core.
 *
 * Every input is tried as a compact JWS (all algorithms allowed) and as
 * a JWKS document.  A JWS that parses is checked against a fixed key
 * set with one key of each type, so that the signature paths (RSA
 * length checks, r || s to DER, Ed25519) see attacker-shaped input too.
 * Nothing here may crash, leak or read past len: the input is not
 * NUL-terminated.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jose.h"
#include "jwk.h"

int LLVMFuzzerInitialize(int *, char ***);
int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Public keys from RFC 7515 A.2/A.3, RFC 8037 A and Wycheproof. */
static const char fuzz_jwks[] =
    "{\"keys\":["
    "{\"kty\":\"RSA\",\"kid\":\"rsa\",\"e\":\"AQAB\",\"n\":\""
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qP"
    "CJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47s"
    "oMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2"
    "R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoud"
    "F8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"},"
    "{\"kty\":\"EC\",\"kid\":\"p256\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
    "{\"kty\":\"EC\",\"kid\":\"p384\",\"crv\":\"P-384\","
    "\"x\":\"LaV92hCJJ2pUP5_9rAv_DZdsrXHrcoDn2b_Z_uS9svIPR_-"
    "IgnQ4l3LZjMV1ITiq\","
    "\"y\":\"S20FTWnc8-JexJ34cHFeNIg7GDYZfXb4rZYuePZXG7x0B7DWCR-"
    "eTYjwFCdEBhdP\"},"
    "{\"kty\":\"OKP\",\"kid\":\"ed\",\"crv\":\"Ed25519\","
    "\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"
    "]}";

static struct jwkset fuzz_keys;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (jwkset_parse(fuzz_jwks, strlen(fuzz_jwks), &fuzz_keys, NULL, 0) !=
		0 ||
	    fuzz_keys.n != 4)
		abort();
	return 0;
}

/* Try the token's kid, or else every key that fits its alg. */
static void
fuzz_verify(const struct jws *jws)
{
	const struct jwk *key;
	size_t i;

	if (jws->has_kid && (key = jwkset_find(&fuzz_keys, jws->kid)) != NULL) {
		(void)jose_verify(key, jws->alg,
		    (const uint8_t *)jws->signing_input, jws->signing_input_len,
		    jws->sig, jws->sig_len);
		return;
	}
	for (i = 0; i < fuzz_keys.n; i++)
		if (jwk_fits(&fuzz_keys.keys[i], jws->alg))
			(void)jose_verify(&fuzz_keys.keys[i], jws->alg,
			    (const uint8_t *)jws->signing_input,
			    jws->signing_input_len, jws->sig, jws->sig_len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jwkset set;
	struct jws jws;
	size_t i;

	if (jws_parse((const char *)data, size, JOSE_ALG_MASK_ALL, &jws) ==
	    JOSE_OK) {
		fuzz_verify(&jws);
		jws_free(&jws);
	}
	if (jwkset_parse((const char *)data, size, &set, NULL, 0) == 0) {
		for (i = 0; i < set.n; i++)
			if (jwkset_find(&set, set.keys[i].kid) != &set.keys[i])
				abort();
		jwkset_free(&set);
	}
	return 0;
}

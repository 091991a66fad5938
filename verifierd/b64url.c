/*
 * b64url.c - strict base64url codec for JOSE compact serialisation.
 *
 * Called by jose.c (token parts), jwk.c (key members) and the tests.
 * libsodium does the work; this file only pins the variant and the
 * rules: no ignored characters, the whole input consumed, canonical
 * trailing bits.  libsodium's decoder rejects leftover bits and a lone
 * final character itself; we check that nothing is left unread.
 */
#include <limits.h>
#include <string.h>

#include <sodium.h>

#include "b64url.h"

#define B64URL_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

int
b64url_decode(
    const char *in, size_t inlen, uint8_t *out, size_t outcap, size_t *outlen)
{
	const char *end = NULL;
	size_t n = 0;

	*outlen = 0;
	if (inlen == 0)
		return 0;
	if (in == NULL || out == NULL)
		return -1;
	if (sodium_base642bin(
		out, outcap, in, inlen, NULL, &n, &end, B64URL_VARIANT) != 0)
		return -1;
	/* sodium stops at the first foreign byte; all must be consumed. */
	if (end != in + inlen)
		return -1;
	*outlen = n;
	return 0;
}

int
b64url_encode(const uint8_t *in, size_t len, char *out, size_t outcap)
{
	size_t need;

	if (len > (size_t)INT_MAX / 2)
		return -1;
	need = sodium_base64_ENCODED_LEN(len, B64URL_VARIANT);
	/* sodium_bin2base64() aborts on a short buffer: check first. */
	if (out == NULL || outcap < need)
		return -1;
	sodium_bin2base64(out, outcap, in, len, B64URL_VARIANT);
	return (int)strlen(out);
}

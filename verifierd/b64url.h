/*
 * b64url.h - strict base64url (RFC 4648 section 5, no padding) for JOSE.
 *
 * Decoding accepts exactly the canonical encoding of some byte string:
 * no '=' padding, no '+' or '/', no whitespace, no NUL, no stray final
 * character and no non-zero unused trailing bits.  Two different strings
 * therefore never decode to the same bytes.
 */
#ifndef TODOD_B64URL_H
#define TODOD_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* Upper bound on the decoded size of n input characters. */
#define B64URL_DECODED_MAX(n)	(((n) / 4) * 3 + 2)
/* Characters needed to encode n bytes, not counting the NUL. */
#define B64URL_ENCODED_LEN(n)	(((n) / 3) * 4 + ((n) % 3 ? (n) % 3 + 1 : 0))

/*
 * Decode inlen characters of in into out (outcap bytes).  Returns 0 and
 * sets *outlen, or -1 when the input is not canonical base64url or does
 * not fit.  An empty input decodes to zero bytes; callers for which an
 * empty part is an error must check *outlen themselves.
 */
int	b64url_decode(const char *in, size_t inlen, uint8_t *out,
	    size_t outcap, size_t *outlen);

/*
 * Encode len bytes into out as a NUL-terminated string.  Returns the
 * string length, or -1 if outcap cannot hold it and its NUL.
 */
int	b64url_encode(const uint8_t *in, size_t len, char *out,
	    size_t outcap);

#endif

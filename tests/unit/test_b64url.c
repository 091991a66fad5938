/*
 * test_b64url.c - strict base64url codec.
 *
 * RFC 4648 section 10 vectors in their url-safe, unpadded form, then
 * each rejection next to the accepted string it was made from, so a
 * rejection can only mean the one thing that differs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "b64url.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

struct b64_vec {
	const char *plain;
	size_t plainlen;
	const char *enc;
};

/* RFC 4648 section 10, plus bytes that map to '-' and '_'. */
static const struct b64_vec rfc4648[] = {
    {"", 0, ""},
    {"f", 1, "Zg"},
    {"fo", 2, "Zm8"},
    {"foo", 3, "Zm9v"},
    {"foob", 4, "Zm9vYg"},
    {"fooba", 5, "Zm9vYmE"},
    {"foobar", 6, "Zm9vYmFy"},
    {"\xfb\xef\xbe", 3, "----"},
    {"\xff\xff\xff", 3, "____"},
    {"\xfb\xff", 2, "-_8"},
};

/* A rejected input and the accepted input it differs from. */
struct b64_pair {
	const char *what;
	const char *bad;
	size_t badlen;
	const char *good;
};

static const struct b64_pair pairs[] = {
    {"padding", "Zg==", 4, "Zg"},
    {"one pad char", "Zm8=", 4, "Zm8"},
    {"'+' instead of '-'", "+_8", 3, "-_8"},
    {"'/' instead of '_'", "-/8", 3, "-_8"},
    {"inner space", "Zm9v Yg", 7, "Zm9vYg"},
    {"trailing newline", "Zm9vYg\n", 7, "Zm9vYg"},
    {"leading tab", "\tZm9vYg", 7, "Zm9vYg"},
    {"non-canonical bits, 2 chars", "QR", 2, "QQ"},
    {"non-canonical bits, 3 chars", "Zm9", 3, "Zm8"},
    {"single trailing char", "Zm9vY", 5, "Zm9vYg"},
    {"single char", "Q", 1, "QQ"},
    {"embedded NUL", "Zm9v\0Yg", 7, "Zm9vYg"},
    {"trailing NUL", "Zm9vYg\0", 7, "Zm9vYg"},
    {"dot", "Zm9v.Yg", 7, "Zm9vYg"},
    {"non-ASCII", "Zm9v\xc3\xa9", 6, "Zm9vYg"},
};

static void
test_rfc4648_decode(void **state)
{
	uint8_t out[16];
	size_t i, n;

	(void)state;
	for (i = 0; i < nitems(rfc4648); i++) {
		const struct b64_vec *v = &rfc4648[i];

		n = 99;
		assert_int_equal(
		    b64url_decode(v->enc, strlen(v->enc), out, sizeof(out), &n),
		    0);
		assert_int_equal(n, v->plainlen);
		if (n > 0)
			assert_memory_equal(out, v->plain, n);
	}
}

static void
test_rfc4648_encode(void **state)
{
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < nitems(rfc4648); i++) {
		const struct b64_vec *v = &rfc4648[i];

		assert_int_equal(b64url_encode((const uint8_t *)v->plain,
				     v->plainlen, out, sizeof(out)),
		    (int)strlen(v->enc));
		assert_string_equal(out, v->enc);
		assert_int_equal(
		    B64URL_ENCODED_LEN(v->plainlen), strlen(v->enc));
	}
}

static void
test_rejections_with_twins(void **state)
{
	uint8_t out[16];
	size_t i, n;

	(void)state;
	for (i = 0; i < nitems(pairs); i++) {
		const struct b64_pair *p = &pairs[i];

		print_message("  %-30s bad rejected, good accepted\n", p->what);
		n = 99;
		assert_int_equal(
		    b64url_decode(p->bad, p->badlen, out, sizeof(out), &n), -1);
		assert_int_equal(n, 0);
		assert_int_equal(b64url_decode(p->good, strlen(p->good), out,
				     sizeof(out), &n),
		    0);
		assert_true(n > 0);
	}
}

static void
test_empty_input(void **state)
{
	uint8_t out[1];
	size_t n = 99;

	(void)state;
	/* Empty decodes to nothing; deciding whether that is allowed is
	 * the caller's business (jws_parse refuses empty parts). */
	assert_int_equal(b64url_decode("", 0, out, sizeof(out), &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(b64url_decode(NULL, 0, NULL, 0, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_capacity(void **state)
{
	uint8_t out[8];
	char enc[16];
	size_t n;

	(void)state;
	/* "foobar" needs 6 bytes: 5 is refused, 6 is enough. */
	assert_int_equal(b64url_decode("Zm9vYmFy", 8, out, 5, &n), -1);
	assert_int_equal(b64url_decode("Zm9vYmFy", 8, out, 6, &n), 0);
	assert_int_equal(n, 6);
	/* Encoding needs room for the NUL as well: 8 + 1. */
	assert_int_equal(
	    b64url_encode((const uint8_t *)"foobar", 6, enc, 8), -1);
	assert_int_equal(
	    b64url_encode((const uint8_t *)"foobar", 6, enc, 9), 8);
}

static void
test_round_trip(void **state)
{
	uint8_t in[200] = {0}, out[200];
	char enc[300];
	size_t len, i, n;
	int elen;

	(void)state;
	for (len = 0; len < sizeof(in); len++) {
		for (i = 0; i < len; i++)
			in[i] = (uint8_t)(i * 37 + len * 11);
		elen = b64url_encode(in, len, enc, sizeof(enc));
		assert_int_equal(elen, (int)B64URL_ENCODED_LEN(len));
		assert_true((size_t)elen <= sizeof(enc));
		assert_null(strpbrk(enc, "+/="));
		assert_int_equal(
		    b64url_decode(enc, (size_t)elen, out, sizeof(out), &n), 0);
		assert_int_equal(n, len);
		assert_true(n <= B64URL_DECODED_MAX((size_t)elen));
		if (len > 0)
			assert_memory_equal(in, out, len);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc4648_decode),
	    cmocka_unit_test(test_rfc4648_encode),
	    cmocka_unit_test(test_rejections_with_twins),
	    cmocka_unit_test(test_empty_input),
	    cmocka_unit_test(test_capacity),
	    cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

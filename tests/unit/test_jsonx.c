/*
 * test_jsonx.c - strict JSON object parsing for JOSE.
 *
 * Table of rejected documents, each beside the accepted document it
 * was derived from; then the depth limit at and over the bound.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonx.h"

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

struct jx_pair {
	const char *what;
	const char *bad;
	size_t badlen; /* 0: strlen(bad) */
	const char *good;
};

static const struct jx_pair pairs[] = {
    {"duplicate key", "{\"a\":1,\"a\":2}", 0, "{\"a\":1,\"b\":2}"},
    {"duplicate key, same value", "{\"a\":1,\"a\":1}", 0, "{\"a\":1,\"A\":1}"},
    {"nested duplicate key", "{\"x\":{\"k\":1,\"k\":2}}", 0,
	"{\"x\":{\"k\":1,\"l\":2}}"},
    {"\\u0000 in value", "{\"a\":\"x\\u0000y\"}", 0, "{\"a\":\"x\\u0041y\"}"},
    {"\\u0000 in key", "{\"a\\u0000b\":1}", 0, "{\"a\\u0020b\":1}"},
    {"raw NUL in string", "{\"a\":\"x\0y\"}", 11, "{\"a\":\"xy\"}"},
    {"raw NUL after object", "{\"a\":1}\0", 8, "{\"a\":1}"},
    {"invalid UTF-8", "{\"a\":\"\xc3\x28\"}", 0, "{\"a\":\"\xc3\xa9\"}"},
    {"overlong UTF-8", "{\"a\":\"\xc0\xaf\"}", 0, "{\"a\":\"/\"}"},
    {"UTF-8 surrogate", "{\"a\":\"\xed\xa0\x80\"}", 0,
	"{\"a\":\"\xf0\x9f\x98\x80\"}"},
    {"lone surrogate escape", "{\"a\":\"\\ud800\"}", 0,
	"{\"a\":\"\\ud83d\\ude00\"}"},
    {"trailing garbage", "{\"a\":1} x", 0, "{\"a\":1} \n"},
    {"second object", "{\"a\":1}{}", 0, "{\"a\":1}"},
    {"array at top", "[{\"a\":1}]", 0, "{\"a\":[1]}"},
    {"string at top", "\"a\"", 0, "{\"a\":\"a\"}"},
    {"number at top", "1", 0, "{\"n\":1}"},
    {"null at top", "null", 0, "{}"},
    {"integer overflow", "{\"n\":9223372036854775808}", 0,
	"{\"n\":9223372036854775807}"},
    {"negative overflow", "{\"n\":-9223372036854775809}", 0,
	"{\"n\":-9223372036854775808}"},
    {"huge integer", "{\"n\":99999999999999999999999999999}", 0,
	"{\"n\":99999999999999}"},
    {"real overflow", "{\"n\":1e400}", 0, "{\"n\":1e300}"},
    {"single quotes", "{'a':1}", 0, "{\"a\":1}"},
    {"trailing comma", "{\"a\":1,}", 0, "{\"a\":1}"},
    {"comment", "{\"a\":1 /* c */}", 0, "{\"a\":1 }"},
    {"bare word", "{\"a\":True}", 0, "{\"a\":true}"},
    {"NaN", "{\"a\":NaN}", 0, "{\"a\":0}"},
    {"empty document", "", 0, "{}"},
    {"whitespace only", " \n", 0, " {} \n"},
};

static void
test_pairs(void **state)
{
	char err[128];
	json_t *j;
	size_t i, len;

	(void)state;
	for (i = 0; i < nitems(pairs); i++) {
		const struct jx_pair *p = &pairs[i];

		len = p->badlen != 0 ? p->badlen : strlen(p->bad);
		err[0] = '\0';
		j = jsonx_parse_object(p->bad, len, 8, err, sizeof(err));
		print_message("  %-26s -> %s\n", p->what, err);
		assert_null(j);
		assert_true(err[0] != '\0');
		j = jsonx_parse_object(
		    p->good, strlen(p->good), 8, err, sizeof(err));
		assert_non_null(j);
		assert_true(json_is_object(j));
		json_decref(j);
	}
}

/*
 * A document whose nesting is exactly depth containers: objects
 * {"a":{"a":{}}} or, with arrays, {"a":[[]]}.
 */
static char *
nested(size_t depth, int arrays)
{
	char *s = malloc(depth * 6 + 16), *p = s;
	size_t i;

	if (s == NULL)
		abort();
	if (arrays) {
		p += sprintf(p, "{\"a\":");
		for (i = 1; i < depth; i++)
			*p++ = '[';
		for (i = 1; i < depth; i++)
			*p++ = ']';
		if (depth == 1)
			*p++ = '0';
		*p++ = '}';
	} else {
		for (i = 1; i < depth; i++)
			p += sprintf(p, "{\"a\":");
		p += sprintf(p, "{}");
		for (i = 1; i < depth; i++)
			*p++ = '}';
	}
	*p = '\0';
	return s;
}

static void
check_depth(size_t depth, size_t max, int arrays, int want_ok)
{
	char *doc = nested(depth, arrays);
	json_t *j;

	j = jsonx_parse_object(doc, strlen(doc), max, NULL, 0);
	if (want_ok)
		assert_non_null(j);
	else
		assert_null(j);
	json_decref(j);
	free(doc);
}

static void
test_depth(void **state)
{
	(void)state;
	check_depth(8, 8, 0, 1); /* at the limit */
	check_depth(9, 8, 0, 0); /* one over */
	check_depth(8, 8, 1, 1);
	check_depth(9, 8, 1, 0);
	check_depth(1, 1, 0, 1);
	check_depth(2, 1, 0, 0);
	/* Our limit, not jansson's, rejects: the same document passes with
	 * a larger bound. */
	check_depth(100, 8, 0, 0);
	check_depth(100, 100, 0, 1);
	/* Far past jansson's 2048 is refused by the pre-scan. */
	check_depth(5000, 8, 1, 0);
}

static void
test_depth_ignores_strings(void **state)
{
	static const char *ok1[] = {
	    "{\"a\":\"[[[[[[[[{{{{{{{\"}",
	    "{\"a\":\"\\\"[[[[[[[[[\"}",
	    "{\"[[[[\":\"}}}}]]]]\"}",
	};
	const char *esc = "{\"a\":\"\\\\\",\"b\":[[1]]}";
	json_t *j;
	size_t i;

	(void)state;
	for (i = 0; i < nitems(ok1); i++) {
		j = jsonx_parse_object(ok1[i], strlen(ok1[i]), 1, NULL, 0);
		assert_non_null(j);
		json_decref(j);
	}
	/* An escaped backslash ends the string normally: depth 3 counts. */
	j = jsonx_parse_object(esc, strlen(esc), 3, NULL, 0);
	assert_non_null(j);
	json_decref(j);
	assert_null(jsonx_parse_object(esc, strlen(esc), 2, NULL, 0));
}

static void
test_values_survive(void **state)
{
	const char *doc = "{\"s\":\"\xc3\xa9\",\"n\":9223372036854775807,"
			  "\"b\":true,\"a\":[1,2]}";
	json_t *j;

	(void)state;
	j = jsonx_parse_object(doc, strlen(doc), 2, NULL, 0);
	assert_non_null(j);
	assert_string_equal(
	    json_string_value(json_object_get(j, "s")), "\xc3\xa9");
	assert_true(json_integer_value(json_object_get(j, "n")) == INT64_MAX);
	assert_true(json_is_true(json_object_get(j, "b")));
	assert_int_equal(json_array_size(json_object_get(j, "a")), 2);
	json_decref(j);
	/* The length bounds the parse: a prefix that is an object passes
	 * even if the buffer continues. */
	j = jsonx_parse_object("{}garbage", 2, 2, NULL, 0);
	assert_non_null(j);
	json_decref(j);
	assert_null(jsonx_parse_object(NULL, 0, 8, NULL, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pairs),
	    cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_depth_ignores_strings),
	    cmocka_unit_test(test_values_survive),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

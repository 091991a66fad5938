/*
 * test_claims.c - table-driven tests of verifierd/claims.c.
 *
 * Every case starts from a valid access token payload (or replaces it
 * whole), changes one thing, and states the result and reason it wants.
 * Each rejection sits next to an accepting twin built the same way, so a
 * rejection means what its name claims.
 *
 * Times: NOW = 1700000000, LEEWAY = 60.  So exp 1699999940 (NOW - LEEWAY)
 * is the first expired second, 1699999941 the last accepted one;
 * nbf/iat 1700000060 (NOW + LEEWAY) is the last accepted one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "claims.h"

#define NOW		1700000000
#define LEEWAY		60
#define ISSUER		"https://tenant.example.com/"
#define AUDIENCE	"https://api.example.com/todo"

static const char base_payload[] =
    "{\"iss\": \"" ISSUER "\","
    " \"sub\": \"auth0|5f1c2a\","
    " \"aud\": [\"" AUDIENCE "\", \"" ISSUER "userinfo\"],"
    " \"iat\": 1699999990, \"exp\": 1700003600,"
    " \"azp\": \"cl1ent1d\", \"scope\": \"openid profile email\"}";

struct claims_case {
	const char	*name;
	const char	*patch;		/* merged into the base payload */
	const char	*drop;		/* key removed from the base payload */
	int		 whole;		/* patch replaces the base payload */
	void		(*tweak)(json_t *);
	enum claims_result want;
	const char	*want_why;
	const char	*want_sub;	/* checked on CLAIMS_OK when set */
	int64_t		 want_exp;	/* checked on CLAIMS_OK when not 0 */
};

static void
set_string_of(json_t *p, const char *key, size_t len)
{
	char buf[2048];

	assert_true(len < sizeof(buf));
	memset(buf, 'a', len);
	buf[len] = '\0';
	json_object_set_new(p, key, json_string(buf));
}

static void
sub_256(json_t *p)
{
	set_string_of(p, "sub", CLAIMS_SUB_MAX);
}

static void
sub_257(json_t *p)
{
	set_string_of(p, "sub", CLAIMS_SUB_MAX + 1);
}

static void
scope_1024(json_t *p)
{
	set_string_of(p, "scope", CLAIMS_SCOPE_MAX);
}

static void
scope_1025(json_t *p)
{
	set_string_of(p, "scope", CLAIMS_SCOPE_MAX + 1);
}

/* An aud array of n entries whose last one is the audience. */
static void
aud_of(json_t *p, size_t n)
{
	json_t *a = json_array();
	char buf[64];
	size_t i;

	for (i = 0; i + 1 < n; i++) {
		snprintf(buf, sizeof(buf), "https://other%zu.example.com/", i);
		json_array_append_new(a, json_string(buf));
	}
	json_array_append_new(a, json_string(AUDIENCE));
	json_object_set_new(p, "aud", a);
}

static void
aud_32(json_t *p)
{
	aud_of(p, CLAIMS_AUD_MAX);
}

static void
aud_33(json_t *p)
{
	aud_of(p, CLAIMS_AUD_MAX + 1);
}

/* A jansson string with an embedded NUL after the exact issuer. */
static void
iss_nul(json_t *p)
{
	static const char s[] = ISSUER "\0x";

	json_object_set_new(p, "iss", json_stringn(s, sizeof(s) - 1));
}

static void
iss_exact(json_t *p)
{
	json_object_set_new(p, "iss", json_stringn(ISSUER, strlen(ISSUER)));
}

static const struct claims_case cases[] = {
	{ "base access token", NULL, NULL, 0, NULL,
	    CLAIMS_OK, "ok", "auth0|5f1c2a", 1700003600 },
	{ "payload is an array", "[1]", NULL, 1, NULL,
	    CLAIMS_INVALID, "payload not an object", NULL, 0 },
	{ "payload is an object", "{\"exp\": 1700003600, \"iss\": \"" ISSUER
	    "\", \"aud\": \"" AUDIENCE "\", \"sub\": \"x\"}", NULL, 1, NULL,
	    CLAIMS_OK, "ok", "x", 0 },

	/* exp */
	{ "exp missing", NULL, "exp", 0, NULL,
	    CLAIMS_INVALID, "exp missing", NULL, 0 },
	{ "exp present", "{\"exp\": 1700003600}", NULL, 0, NULL,
	    CLAIMS_OK, "ok", NULL, 0 },
	{ "exp now-leeway-1", "{\"exp\": 1699999939}", NULL, 0, NULL,
	    CLAIMS_EXPIRED, "expired", NULL, 0 },
	{ "exp now+60", "{\"exp\": 1700000060}", NULL, 0, NULL,
	    CLAIMS_OK, "ok", NULL, 1700000060 },
	{ "exp exactly now-leeway", "{\"exp\": 1699999940}", NULL, 0, NULL,
	    CLAIMS_EXPIRED, "expired", NULL, 0 },
	{ "exp now-leeway+1", "{\"exp\": 1699999941}", NULL, 0, NULL,
	    CLAIMS_OK, "ok", NULL, 1699999941 },
	{ "exp string \"123\"", "{\"exp\": \"123\"}", NULL, 0, NULL,
	    CLAIMS_INVALID, "exp not a number", NULL, 0 },
	{ "exp number 123", "{\"exp\": 123}", NULL, 0, NULL,
	    CLAIMS_EXPIRED, "expired", NULL, 0 },
	{ "exp string of a future time", "{\"exp\": \"1700003600\"}", NULL,
	    0, NULL, CLAIMS_INVALID, "exp not a number", NULL, 0 },
	{ "exp number of a future time", "{\"exp\": 1700003600}", NULL,
	    0, NULL, CLAIMS_OK, "ok", NULL, 1700003600 },
	{ "exp true", "{\"exp\": true}", NULL, 0, NULL,
	    CLAIMS_INVALID, "exp not a number", NULL, 0 },
	{ "exp null", "{\"exp\": null}", NULL, 0, NULL,
	    CLAIMS_INVALID, "exp not a number", NULL, 0 },
	{ "exp array", "{\"exp\": [1700003600]}", NULL, 0, NULL,
	    CLAIMS_INVALID, "exp not a number", NULL, 0 },
	{ "exp real 1e300 saturates", "{\"exp\": 1e300}", NULL, 0, NULL,
	    CLAIMS_OK, "ok", NULL, INT64_MAX },
	{ "exp real -1e300 saturates", "{\"exp\": -1e300}", NULL, 0, NULL,
	    CLAIMS_EXPIRED, "expired", NULL, 0 },
	{ "exp real rounds down into expiry", "{\"exp\": 1699999940.9}",
	    NULL, 0, NULL, CLAIMS_EXPIRED, "expired", NULL, 0 },
	{ "exp real on the last second", "{\"exp\": 1699999941.0}",
	    NULL, 0, NULL, CLAIMS_OK, "ok", NULL, 1699999941 },
	{ "exp real with fraction", "{\"exp\": 1700003600.75}",
	    NULL, 0, NULL, CLAIMS_OK, "ok", NULL, 1700003600 },

	/* exp is checked before aud and iss, as python-jose does */
	{ "expired and wrong aud", "{\"exp\": 1699999939,"
	    " \"aud\": \"cl1ent1d\"}", NULL, 0, NULL,
	    CLAIMS_EXPIRED, "expired", NULL, 0 },
	{ "live and wrong aud", "{\"exp\": 1700003600,"
	    " \"aud\": \"cl1ent1d\"}", NULL, 0, NULL,
	    CLAIMS_INVALID, "aud mismatch", NULL, 0 },

	/* iss */
	{ "iss without trailing slash",
	    "{\"iss\": \"https://tenant.example.com\"}", NULL, 0, NULL,
	    CLAIMS_INVALID, "iss mismatch", NULL, 0 },
	{ "iss exact", "{\"iss\": \"" ISSUER "\"}", NULL, 0, NULL,
	    CLAIMS_OK, "ok", NULL, 0 },
	{ "iss with two trailing slashes", "{\"iss\": \"" ISSUER "/\"}",
	    NULL, 0, NULL, CLAIMS_INVALID, "iss mismatch", NULL, 0 },
	{ "iss in upper case", "{\"iss\": \"https://TENANT.example.com/\"}",
	    NULL, 0, NULL, CLAIMS_INVALID, "iss mismatch", NULL, 0 },
	{ "iss missing", NULL, "iss", 0, NULL,
	    CLAIMS_INVALID, "iss missing", NULL, 0 },
	{ "iss number", "{\"iss\": 1}", NULL, 0, NULL,
	    CLAIMS_INVALID, "iss not a string", NULL, 0 },
	{ "iss with embedded NUL", NULL, NULL, 0, iss_nul,
	    CLAIMS_INVALID, "iss mismatch", NULL, 0 },
	{ "iss set the same way without NUL", NULL, NULL, 0, iss_exact,
	    CLAIMS_OK, "ok", NULL, 0 },

	/* aud */
	{ "aud array without the audience", "{\"aud\": [\"https://other/\","
	    " \"" ISSUER "userinfo\"]}", NULL, 0, NULL,
	    CLAIMS_INVALID, "aud mismatch", NULL, 0 },
	{ "aud array with the audience", "{\"aud\": [\"https://other/\","
	    " \"" AUDIENCE "\"]}", NULL, 0, NULL, CLAIMS_OK, "ok", NULL, 0 },
	{ "aud string other", "{\"aud\": \"https://other/\"}", NULL, 0, NULL,
	    CLAIMS_INVALID, "aud mismatch", NULL, 0 },
	{ "aud string equal", "{\"aud\": \"" AUDIENCE "\"}", NULL, 0, NULL,
	    CLAIMS_OK, "ok", NULL, 0 },
	{ "aud string with trailing slash", "{\"aud\": \"" AUDIENCE "/\"}",
	    NULL, 0, NULL, CLAIMS_INVALID, "aud mismatch", NULL, 0 },
	{ "aud missing", NULL, "aud", 0, NULL,
	    CLAIMS_INVALID, "aud missing", NULL, 0 },
	{ "aud empty array", "{\"aud\": []}", NULL, 0, NULL,
	    CLAIMS_INVALID, "aud empty", NULL, 0 },
	{ "aud object", "{\"aud\": {\"" AUDIENCE "\": 1}}", NULL, 0, NULL,
	    CLAIMS_INVALID, "aud not a string or array", NULL, 0 },
	{ "aud array with a number", "{\"aud\": [1, \"" AUDIENCE "\"]}",
	    NULL, 0, NULL, CLAIMS_INVALID, "aud entry not a string", NULL, 0 },
	{ "aud array with strings", "{\"aud\": [\"1\", \"" AUDIENCE "\"]}",
	    NULL, 0, NULL, CLAIMS_OK, "ok", NULL, 0 },
	{ "aud array of 33", NULL, NULL, 0, aud_33,
	    CLAIMS_INVALID, "aud too many entries", NULL, 0 },
	{ "aud array of 32", NULL, NULL, 0, aud_32, CLAIMS_OK, "ok", NULL, 0 },

	/* an id_token carries the client id in aud (the seed's warning) */
	{ "id_token shaped", "{\"iss\": \"" ISSUER "\","
	    " \"sub\": \"auth0|5f1c2a\", \"aud\": \"cl1ent1d\","
	    " \"iat\": 1699999990, \"exp\": 1700003600,"
	    " \"nonce\": \"n-0S6_WzA2Mj\", \"email\": \"a@example.com\","
	    " \"email_verified\": true, \"name\": \"A\"}", NULL, 1, NULL,
	    CLAIMS_INVALID, "aud mismatch", NULL, 0 },
	{ "access token shaped", "{\"iss\": \"" ISSUER "\","
	    " \"sub\": \"auth0|5f1c2a\", \"aud\": [\"" AUDIENCE "\","
	    " \"" ISSUER "userinfo\"], \"iat\": 1699999990,"
	    " \"exp\": 1700003600, \"azp\": \"cl1ent1d\","
	    " \"scope\": \"openid profile email\"}", NULL, 1, NULL,
	    CLAIMS_OK, "ok", "auth0|5f1c2a", 1700003600 },

	/* nbf */
	{ "nbf beyond leeway", "{\"nbf\": 1700000061}", NULL, 0, NULL,
	    CLAIMS_INVALID, "nbf in the future", NULL, 0 },
	{ "nbf within leeway", "{\"nbf\": 1700000060}", NULL, 0, NULL,
	    CLAIMS_OK, "ok", NULL, 0 },
	{ "nbf real rounds up beyond leeway", "{\"nbf\": 1700000060.5}",
	    NULL, 0, NULL, CLAIMS_INVALID, "nbf in the future", NULL, 0 },
	{ "nbf real within leeway", "{\"nbf\": 1700000059.5}",
	    NULL, 0, NULL, CLAIMS_OK, "ok", NULL, 0 },
	{ "nbf string", "{\"nbf\": \"1699999990\"}", NULL, 0, NULL,
	    CLAIMS_INVALID, "nbf not a number", NULL, 0 },
	{ "nbf number", "{\"nbf\": 1699999990}", NULL, 0, NULL,
	    CLAIMS_OK, "ok", NULL, 0 },

	/* iat */
	{ "iat beyond leeway", "{\"iat\": 1700000061}", NULL, 0, NULL,
	    CLAIMS_INVALID, "iat in the future", NULL, 0 },
	{ "iat within leeway", "{\"iat\": 1700000060}", NULL, 0, NULL,
	    CLAIMS_OK, "ok", NULL, 0 },
	{ "iat bool", "{\"iat\": false}", NULL, 0, NULL,
	    CLAIMS_INVALID, "iat not a number", NULL, 0 },
	{ "iat absent", NULL, "iat", 0, NULL, CLAIMS_OK, "ok", NULL, 0 },

	/* sub */
	{ "sub missing", NULL, "sub", 0, NULL,
	    CLAIMS_INVALID, "sub missing", NULL, 0 },
	{ "sub empty", "{\"sub\": \"\"}", NULL, 0, NULL,
	    CLAIMS_INVALID, "sub empty", NULL, 0 },
	{ "sub present", "{\"sub\": \"u\"}", NULL, 0, NULL,
	    CLAIMS_OK, "ok", "u", 0 },
	{ "sub number", "{\"sub\": 42}", NULL, 0, NULL,
	    CLAIMS_INVALID, "sub not a string", NULL, 0 },
	{ "sub auth0|x kept whole", "{\"sub\": \"auth0|x\"}", NULL, 0, NULL,
	    CLAIMS_OK, "ok", "auth0|x", 0 },
	{ "sub google-oauth2|x kept whole", "{\"sub\": \"google-oauth2|x\"}",
	    NULL, 0, NULL, CLAIMS_OK, "ok", "google-oauth2|x", 0 },
	{ "sub of 257 bytes", NULL, NULL, 0, sub_257,
	    CLAIMS_INVALID, "sub too long", NULL, 0 },
	{ "sub of 256 bytes", NULL, NULL, 0, sub_256,
	    CLAIMS_OK, "ok", NULL, 0 },
	{ "sub with a newline", "{\"sub\": \"auth0|x\\nadmin\"}", NULL, 0,
	    NULL, CLAIMS_INVALID, "sub has control characters", NULL, 0 },
	{ "sub with DEL", "{\"sub\": \"auth0|x\\u007f\"}", NULL, 0,
	    NULL, CLAIMS_INVALID, "sub has control characters", NULL, 0 },
	{ "sub with C1 NEL", "{\"sub\": \"auth0|x\\u0085\"}", NULL, 0,
	    NULL, CLAIMS_INVALID, "sub has control characters", NULL, 0 },
	{ "sub with non-ASCII letter", "{\"sub\": \"auth0|x\\u00e9\"}",
	    NULL, 0, NULL, CLAIMS_OK, "ok", "auth0|x\xc3\xa9", 0 },

	/* scope */
	{ "scope array", "{\"scope\": [\"openid\"]}", NULL, 0, NULL,
	    CLAIMS_INVALID, "scope not a string", NULL, 0 },
	{ "scope string", "{\"scope\": \"openid\"}", NULL, 0, NULL,
	    CLAIMS_OK, "ok", NULL, 0 },
	{ "scope of 1025 bytes", NULL, NULL, 0, scope_1025,
	    CLAIMS_INVALID, "scope too long", NULL, 0 },
	{ "scope of 1024 bytes", NULL, NULL, 0, scope_1024,
	    CLAIMS_OK, "ok", NULL, 0 },
	{ "scope with a tab", "{\"scope\": \"openid\\tadmin\"}", NULL, 0,
	    NULL, CLAIMS_INVALID, "scope has control characters", NULL, 0 },
	{ "scope empty", "{\"scope\": \"\"}", NULL, 0, NULL,
	    CLAIMS_OK, "ok", NULL, 0 },
	{ "scope absent", NULL, "scope", 0, NULL, CLAIMS_OK, "ok", NULL, 0 },
};

static const char *
result_name(enum claims_result r)
{
	switch (r) {
	case CLAIMS_OK:
		return "CLAIMS_OK";
	case CLAIMS_EXPIRED:
		return "CLAIMS_EXPIRED";
	case CLAIMS_INVALID:
		return "CLAIMS_INVALID";
	}
	return "?";
}

static json_t *
build_payload(const struct claims_case *c)
{
	json_t *p, *patch;
	json_error_t err;

	if (c->whole) {
		p = json_loads(c->patch, JSON_REJECT_DUPLICATES, &err);
		assert_non_null(p);
		return p;
	}
	p = json_loads(base_payload, JSON_REJECT_DUPLICATES, &err);
	assert_non_null(p);
	if (c->patch != NULL) {
		patch = json_loads(c->patch, JSON_REJECT_DUPLICATES, &err);
		assert_non_null(patch);
		assert_int_equal(json_object_update(p, patch), 0);
		json_decref(patch);
	}
	if (c->drop != NULL)
		assert_int_equal(json_object_del(p, c->drop), 0);
	if (c->tweak != NULL)
		c->tweak(p);
	return p;
}

/* The output of a successful check; 0 when all is as wanted. */
static int
check_output(const struct claims_case *c, const struct claims *out)
{
	int bad = 0;

	if (strcmp(out->iss, ISSUER) != 0) {
		print_error("%s: got iss \"%s\", want \"%s\"\n", c->name,
		    out->iss, ISSUER);
		bad = 1;
	}
	if (c->want_sub != NULL && strcmp(out->sub, c->want_sub) != 0) {
		print_error("%s: got sub \"%s\", want \"%s\"\n", c->name,
		    out->sub, c->want_sub);
		bad = 1;
	}
	if (c->want_exp != 0 && out->exp != c->want_exp) {
		print_error("%s: got exp %lld, want %lld\n", c->name,
		    (long long)out->exp, (long long)c->want_exp);
		bad = 1;
	}
	return bad;
}

static int
run_case(const struct claims_case *c, const struct claims_policy *pol)
{
	static const struct claims zero;
	struct claims out;
	enum claims_result got;
	const char *why = NULL;
	json_t *p;
	int bad = 0;

	p = build_payload(c);
	memset(&out, 0xa5, sizeof(out));
	got = claims_check(p, pol, NOW, &out, &why);
	json_decref(p);
	if (got != c->want || strcmp(why, c->want_why) != 0) {
		print_error("%s: got %s (%s), want %s (%s)\n", c->name,
		    result_name(got), why, result_name(c->want), c->want_why);
		bad = 1;
	}
	if (got == CLAIMS_OK)
		bad |= check_output(c, &out);
	else if (memcmp(&out, &zero, sizeof(out)) != 0) {
		print_error("%s: got output filled, want zeroed\n", c->name);
		bad = 1;
	}
	return bad;
}

static void
test_claims_table(void **state)
{
	const struct claims_policy pol = { ISSUER, AUDIENCE, LEEWAY };
	size_t i;
	int failed = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		failed += run_case(&cases[i], &pol);
	if (failed != 0)
		fail_msg("%d of %zu claim cases failed", failed,
		    sizeof(cases) / sizeof(cases[0]));
}

/* The scope copied out is the token's, and absent means "". */
static void
test_claims_scope_copied(void **state)
{
	const struct claims_policy pol = { ISSUER, AUDIENCE, LEEWAY };
	struct claims out;
	json_t *p;

	p = json_loads(base_payload, 0, NULL);
	assert_non_null(p);
	assert_int_equal(claims_check(p, &pol, NOW, &out, NULL), CLAIMS_OK);
	assert_string_equal(out.scope, "openid profile email");
	json_object_del(p, "scope");
	assert_int_equal(claims_check(p, &pol, NOW, &out, NULL), CLAIMS_OK);
	assert_string_equal(out.scope, "");
	json_decref(p);
}

/* A zero leeway moves the expiry boundary to exp itself. */
static void
test_claims_zero_leeway(void **state)
{
	const struct claims_policy pol = { ISSUER, AUDIENCE, 0 };
	struct claims out;
	json_t *p;

	p = json_loads(base_payload, 0, NULL);
	assert_non_null(p);
	json_object_set_new(p, "exp", json_integer(NOW));
	assert_int_equal(claims_check(p, &pol, NOW, &out, NULL),
	    CLAIMS_EXPIRED);
	json_object_set_new(p, "exp", json_integer(NOW + 1));
	assert_int_equal(claims_check(p, &pol, NOW, &out, NULL), CLAIMS_OK);
	json_decref(p);
}

struct scope_case {
	const char	*have;
	const char	*ask;
	int		 want;
};

static void
test_claims_has_scope(void **state)
{
	static const struct scope_case sc[] = {
		{ "openid profile email", "profile", 1 },
		{ "openid profile email", "prof", 0 },
		{ "openid profile email", "openid", 1 },
		{ "openid profile email", "email", 1 },
		{ "openid profile email", "mail", 0 },
		{ "openid profile email", "openid profile", 0 },
		{ "openid profile email", "", 0 },
		{ "read:todo write:todo", "write:todo", 1 },
		{ "read:todo write:todo", "write:todos", 0 },
		{ "", "openid", 0 },
		{ "a  b", "b", 1 },
		{ "a  b", "a", 1 },
	};
	struct claims c;
	size_t i;
	int got, failed = 0;

	for (i = 0; i < sizeof(sc) / sizeof(sc[0]); i++) {
		memset(&c, 0, sizeof(c));
		strcpy(c.scope, sc[i].have);
		got = claims_has_scope(&c, sc[i].ask);
		if (got != sc[i].want) {
			print_error("has_scope(\"%s\", \"%s\"): got %d, "
			    "want %d\n", sc[i].have, sc[i].ask, got,
			    sc[i].want);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_claims_table),
		cmocka_unit_test(test_claims_scope_copied),
		cmocka_unit_test(test_claims_zero_leeway),
		cmocka_unit_test(test_claims_has_scope),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_vcache.c - tests of verifierd/vcache.c: hits and misses, expiry by
 * exp, by the TTL bound and for negative entries, CLOCK eviction at the
 * bound, dropping by kid, identity interning, replacement, and a memory
 * figure for 100k entries.  Leaks show up under ASan.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vcache.h"

#define NOW	1700000000
#define ISS	"https://tenant.example.com/"

static void
key_of(const struct vcache *vc, unsigned n, uint8_t key[VC_KEYLEN])
{
	char tok[64];

	snprintf(tok, sizeof(tok), "eyJhbGciOiJSUzI1NiJ9.token-%u.sig", n);
	vc_key(vc, tok, strlen(tok), key);
}

static void
put_user(struct vcache *vc, unsigned n, const char *kid, uint64_t user)
{
	uint8_t key[VC_KEYLEN];
	char sub[32];

	key_of(vc, n, key);
	snprintf(sub, sizeof(sub), "auth0|%llu", (unsigned long long)user);
	assert_int_equal(vc_put_ok(vc, key, kid, user, ISS, sub, NULL,
	    "openid", NOW + 3600, NOW + 300), 0);
}

static int
hit(struct vcache *vc, unsigned n, int64_t now, struct vc_hit *h)
{
	uint8_t key[VC_KEYLEN];

	key_of(vc, n, key);
	return vc_get(vc, key, now, h);
}

static void
test_vc_hit_after_put(void **state)
{
	struct vcache *vc = vc_new(16);
	uint8_t key[VC_KEYLEN];
	struct vc_hit h;

	assert_non_null(vc);
	key_of(vc, 1, key);
	assert_int_equal(vc_get(vc, key, NOW, &h), 0);
	assert_int_equal(vc_put_ok(vc, key, "k1", 42, ISS, "auth0|x",
	    "x@example.com", "openid profile", NOW + 3600, NOW + 300), 0);
	assert_int_equal(vc_get(vc, key, NOW, &h), 1);
	assert_true(h.positive);
	assert_int_equal(h.user, 42);
	assert_int_equal(h.exp, NOW + 3600);
	assert_string_equal(h.scope, "openid profile");
	assert_non_null(h.ident);
	assert_int_equal(h.ident->user, 42);
	assert_string_equal(h.ident->iss, ISS);
	assert_string_equal(h.ident->sub, "auth0|x");
	assert_string_equal(h.ident->email, "x@example.com");
	vc_free(vc);
}

static void
test_vc_miss_other_token(void **state)
{
	struct vcache *vc = vc_new(16), *other = vc_new(16);
	uint8_t a[VC_KEYLEN], b[VC_KEYLEN];
	struct vc_hit h;
	uint64_t hits, misses;

	assert_non_null(vc);
	assert_non_null(other);
	put_user(vc, 1, "k1", 7);
	assert_int_equal(hit(vc, 2, NOW, &h), 0);
	assert_int_equal(hit(vc, 1, NOW, &h), 1);
	vc_stats(vc, &hits, &misses, NULL);
	assert_int_equal(hits, 1);
	assert_int_equal(misses, 1);
	/* Same token, same cache: same key.  Another cache: another key. */
	key_of(vc, 1, a);
	key_of(vc, 1, b);
	assert_memory_equal(a, b, VC_KEYLEN);
	key_of(other, 1, b);
	assert_memory_not_equal(a, b, VC_KEYLEN);
	vc_free(other);
	vc_free(vc);
}

struct expiry_case {
	const char	*name;
	int64_t		 exp, until;	/* relative to NOW */
	int64_t		 last_hit;	/* last second that still hits */
};

static void
test_vc_expiry(void **state)
{
	static const struct expiry_case ec[] = {
		{ "bounded by exp", 10, 300, 9 },
		{ "bounded by until", 3600, 300, 299 },
		{ "exp equals until", 60, 60, 59 },
	};
	struct vcache *vc;
	uint8_t key[VC_KEYLEN];
	struct vc_hit h;
	size_t i;
	int got;

	for (i = 0; i < sizeof(ec) / sizeof(ec[0]); i++) {
		assert_non_null(vc = vc_new(4));
		key_of(vc, 1, key);
		assert_int_equal(vc_put_ok(vc, key, "k", 1, ISS, "s", NULL,
		    NULL, NOW + ec[i].exp, NOW + ec[i].until), 0);
		got = vc_get(vc, key, NOW + ec[i].last_hit, &h);
		if (got != 1)
			fail_msg("%s: at +%lld got %d, want 1", ec[i].name,
			    (long long)ec[i].last_hit, got);
		got = vc_get(vc, key, NOW + ec[i].last_hit + 1, &h);
		if (got != 0)
			fail_msg("%s: at +%lld got %d, want 0", ec[i].name,
			    (long long)ec[i].last_hit + 1, got);
		/* Removed on sight, and its identity with it. */
		assert_int_equal(vc_count(vc), 0);
		assert_int_equal(vc_idents(vc), 0);
		vc_free(vc);
	}
}

static void
test_vc_negative(void **state)
{
	struct vcache *vc = vc_new(4);
	uint8_t key[VC_KEYLEN];
	struct vc_hit h;

	assert_non_null(vc);
	key_of(vc, 1, key);
	assert_int_equal(vc_put_denied(vc, key, 7, NOW + 30), 0);
	assert_int_equal(vc_idents(vc), 0);
	assert_int_equal(vc_get(vc, key, NOW + 29, &h), 1);
	assert_false(h.positive);
	assert_int_equal(h.reason, 7);
	assert_null(h.ident);
	assert_null(h.scope);
	assert_int_equal(vc_get(vc, key, NOW + 30, &h), 0);
	assert_int_equal(vc_count(vc), 0);
	vc_free(vc);
}

static void
test_vc_eviction_bound(void **state)
{
	const size_t max = 64;
	struct vcache *vc = vc_new(max);
	uint64_t evictions;
	struct vc_hit h;
	unsigned i;

	assert_non_null(vc);
	for (i = 0; i < 3 * max; i++) {
		put_user(vc, i, "k", i % 5);
		if (vc_count(vc) > max)
			fail_msg("after %u puts: got count %zu, want <= %zu",
			    i + 1, vc_count(vc), max);
	}
	assert_int_equal(vc_count(vc), max);
	vc_stats(vc, NULL, NULL, &evictions);
	assert_int_equal(evictions, 2 * max);
	/* The newest entry is there; the oldest is gone. */
	assert_int_equal(hit(vc, 3 * max - 1, NOW, &h), 1);
	assert_int_equal(hit(vc, 0, NOW, &h), 0);
	vc_free(vc);
}

/* CLOCK gives an entry that was hit a second chance. */
static void
test_vc_clock_second_chance(void **state)
{
	struct vcache *vc = vc_new(8);
	struct vc_hit h;
	unsigned i;

	assert_non_null(vc);
	for (i = 0; i < 8; i++)
		put_user(vc, i, "k", 1);
	assert_int_equal(hit(vc, 0, NOW, &h), 1);
	put_user(vc, 8, "k", 1);
	assert_int_equal(hit(vc, 0, NOW, &h), 1);
	assert_int_equal(hit(vc, 1, NOW, &h), 0);
	assert_int_equal(vc_count(vc), 8);
	vc_free(vc);
}

/* An expired entry goes before a live one, even if the live one is older. */
static void
test_vc_evicts_expired_first(void **state)
{
	struct vcache *vc = vc_new(4);
	uint8_t key[VC_KEYLEN];
	uint64_t evictions;
	struct vc_hit h;
	unsigned i;

	assert_non_null(vc);
	for (i = 0; i < 4; i++) {
		key_of(vc, i, key);
		assert_int_equal(vc_put_denied(vc, key, 1,
		    i == 2 ? NOW + 5 : NOW + 30), 0);
	}
	/* Every entry has its reference bit set; 2 expires at +5. */
	assert_int_equal(hit(vc, 2, NOW + 1, &h), 1);
	assert_int_equal(hit(vc, 0, NOW + 10, &h), 1);
	assert_int_equal(hit(vc, 1, NOW + 10, &h), 1);
	assert_int_equal(hit(vc, 3, NOW + 10, &h), 1);
	key_of(vc, 4, key);
	assert_int_equal(vc_put_denied(vc, key, 1, NOW + 30), 0);
	vc_stats(vc, NULL, NULL, &evictions);
	assert_int_equal(evictions, 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(hit(vc, i, NOW + 10, &h), i != 2);
	vc_free(vc);
}

static void
test_vc_drop_kid(void **state)
{
	struct vcache *vc = vc_new(18);
	uint8_t key[VC_KEYLEN];
	uint64_t evictions;
	struct vc_hit h;
	unsigned i;

	assert_non_null(vc);
	for (i = 0; i < 10; i++)
		put_user(vc, i, "old", 1);
	for (i = 10; i < 15; i++)
		put_user(vc, i, "new", 2);
	for (i = 15; i < 18; i++) {
		key_of(vc, i, key);
		assert_int_equal(vc_put_denied(vc, key, 3, NOW + 30), 0);
	}
	assert_int_equal(vc_drop_kid(vc, "gone"), 0);
	assert_int_equal(vc_count(vc), 18);
	assert_int_equal(vc_drop_kid(vc, "old"), 10);
	assert_int_equal(vc_count(vc), 8);
	assert_int_equal(vc_idents(vc), 1);
	for (i = 0; i < 18; i++)
		assert_int_equal(hit(vc, i, NOW, &h), i >= 10);
	assert_int_equal(vc_drop_kid(vc, "old"), 0);
	/* The freed slots are reused: refilling evicts nothing. */
	for (i = 100; i < 110; i++)
		put_user(vc, i, NULL, 3);
	assert_int_equal(vc_count(vc), 18);
	vc_stats(vc, NULL, NULL, &evictions);
	assert_int_equal(evictions, 0);
	for (i = 10; i < 18; i++)
		assert_int_equal(hit(vc, i, NOW, &h), 1);
	assert_int_equal(vc_drop_kid(vc, NULL), 10);
	assert_int_equal(vc_count(vc), 8);
	vc_free(vc);
}

/* vc_clear forgets positive and negative verdicts and every identity. */
static void
test_vc_clear(void **state)
{
	struct vcache *vc = vc_new(32);
	uint8_t key[VC_KEYLEN];
	struct vc_hit h;
	unsigned i;

	assert_non_null(vc);
	for (i = 0; i < 10; i++)
		put_user(vc, i, "k", i % 3);
	for (i = 10; i < 15; i++) {
		key_of(vc, i, key);
		assert_int_equal(vc_put_denied(vc, key, 2, NOW + 30), 0);
	}
	for (i = 0; i < 15; i++)
		assert_int_equal(hit(vc, i, NOW, &h), 1);
	assert_int_equal(vc_clear(vc), 15);
	assert_int_equal(vc_count(vc), 0);
	assert_int_equal(vc_idents(vc), 0);
	for (i = 0; i < 15; i++)
		assert_int_equal(hit(vc, i, NOW, &h), 0);
	/* The cache works as before afterwards. */
	put_user(vc, 1, "k", 7);
	assert_int_equal(hit(vc, 1, NOW, &h), 1);
	assert_int_equal(h.user, 7);
	assert_int_equal(vc_clear(vc), 1);
	vc_free(vc);
}

static void
test_vc_ident_interning(void **state)
{
	struct vcache *vc = vc_new(256);
	const struct vc_ident *first[2] = { NULL, NULL };
	uint8_t key[VC_KEYLEN];
	struct vc_hit h;
	unsigned i;

	assert_non_null(vc);
	for (i = 0; i < 100; i++)
		put_user(vc, i, i % 2 ? "k1" : "k0", i % 2);
	assert_int_equal(vc_count(vc), 100);
	assert_int_equal(vc_idents(vc), 2);
	for (i = 0; i < 100; i++) {
		assert_int_equal(hit(vc, i, NOW, &h), 1);
		if (first[i % 2] == NULL)
			first[i % 2] = h.ident;
		assert_ptr_equal(h.ident, first[i % 2]);
		assert_int_equal(h.ident->refs, 50);
	}
	/* Replacing one of user 1's entries keeps the identity alive. */
	key_of(vc, 1, key);
	assert_int_equal(vc_put_denied(vc, key, 2, NOW + 30), 0);
	assert_int_equal(vc_idents(vc), 2);
	assert_int_equal(hit(vc, 3, NOW, &h), 1);
	assert_int_equal(h.ident->refs, 49);
	assert_string_equal(h.ident->sub, "auth0|1");
	/* Dropping all of user 1's entries frees its identity. */
	assert_int_equal(vc_drop_kid(vc, "k1"), 49);
	assert_int_equal(vc_idents(vc), 1);
	/* So does letting user 0's entries expire. */
	for (i = 0; i < 100; i += 2)
		assert_int_equal(hit(vc, i, NOW + 300, &h), 0);
	assert_int_equal(vc_idents(vc), 0);
	assert_int_equal(vc_count(vc), 1);	/* the negative entry */
	vc_free(vc);
}

/* The shared identity carries the latest email seen for the user. */
static void
test_vc_ident_refresh(void **state)
{
	struct vcache *vc = vc_new(8);
	uint8_t a[VC_KEYLEN], b[VC_KEYLEN];
	struct vc_hit h;

	assert_non_null(vc);
	key_of(vc, 1, a);
	key_of(vc, 2, b);
	assert_int_equal(vc_put_ok(vc, a, "k", 5, ISS, "auth0|x", NULL, NULL,
	    NOW + 60, NOW + 60), 0);
	assert_int_equal(vc_get(vc, a, NOW, &h), 1);
	assert_null(h.ident->email);
	assert_string_equal(h.scope, "");
	assert_int_equal(vc_put_ok(vc, b, "k", 5, ISS, "auth0|x",
	    "x@example.com", NULL, NOW + 60, NOW + 60), 0);
	assert_int_equal(vc_get(vc, a, NOW, &h), 1);
	assert_string_equal(h.ident->email, "x@example.com");
	assert_int_equal(vc_idents(vc), 1);
	vc_free(vc);
}

static void
test_vc_replace(void **state)
{
	struct vcache *vc = vc_new(8);
	uint8_t key[VC_KEYLEN];
	struct vc_hit h;

	assert_non_null(vc);
	key_of(vc, 1, key);
	assert_int_equal(vc_put_ok(vc, key, "k", 1, ISS, "auth0|a", "a@x",
	    "openid", NOW + 60, NOW + 60), 0);
	assert_int_equal(vc_put_ok(vc, key, "k", 2, ISS, "auth0|b", "b@x",
	    "openid email", NOW + 90, NOW + 90), 0);
	assert_int_equal(vc_count(vc), 1);
	assert_int_equal(vc_idents(vc), 1);
	assert_int_equal(vc_get(vc, key, NOW, &h), 1);
	assert_int_equal(h.user, 2);
	assert_string_equal(h.scope, "openid email");
	assert_int_equal(h.exp, NOW + 90);
	/* The same user again: its identity keeps a single reference. */
	assert_int_equal(vc_put_ok(vc, key, "k", 2, ISS, "auth0|b", "b@x",
	    "openid", NOW + 90, NOW + 90), 0);
	assert_int_equal(vc_get(vc, key, NOW, &h), 1);
	assert_int_equal(h.ident->refs, 1);
	assert_int_equal(vc_put_denied(vc, key, 9, NOW + 30), 0);
	assert_int_equal(vc_count(vc), 1);
	assert_int_equal(vc_idents(vc), 0);
	assert_int_equal(vc_get(vc, key, NOW, &h), 1);
	assert_false(h.positive);
	assert_int_equal(h.reason, 9);
	vc_free(vc);
}

static void
test_vc_bad_args(void **state)
{
	struct vcache *vc;
	uint8_t key[VC_KEYLEN];

	errno = 0;
	assert_null(vc_new(0));
	assert_int_equal(errno, EINVAL);
	assert_non_null(vc = vc_new(1));
	key_of(vc, 1, key);
	errno = 0;
	assert_int_equal(vc_put_ok(vc, key, "k", 1, NULL, "s", NULL, NULL,
	    NOW + 60, NOW + 60), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(vc_count(vc), 0);
	assert_int_equal(vc_put_ok(vc, key, "k", 1, ISS, "s", NULL, NULL,
	    NOW + 60, NOW + 60), 0);
	assert_int_equal(vc_count(vc), 1);
	vc_free(vc);
}

static long
rss_bytes(void)
{
	unsigned long size, resident;
	FILE *f;

	if ((f = fopen("/proc/self/statm", "r")) == NULL)
		return -1;
	if (fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	fclose(f);
	return (long)resident * sysconf(_SC_PAGESIZE);
}

/* A figure, not an assertion: RSS growth for 100k tokens of 10 users. */
static void
test_vc_memory_100k(void **state)
{
	const unsigned n = 100000;
	struct vcache *vc;
	uint8_t key[VC_KEYLEN];
	char sub[32];
	long before, after;
	unsigned i;

	before = rss_bytes();
	assert_non_null(vc = vc_new(n));
	for (i = 0; i < n; i++) {
		key_of(vc, i, key);
		snprintf(sub, sizeof(sub), "auth0|user%u", i % 10);
		assert_int_equal(vc_put_ok(vc, key, "kid-2024", i % 10, ISS,
		    sub, "user@example.com", "openid profile email",
		    NOW + 86400, NOW + 3600), 0);
	}
	after = rss_bytes();
	assert_int_equal(vc_count(vc), n);
	assert_int_equal(vc_idents(vc), 10);
	print_message("vcache: %u positive entries of 10 users: RSS +%ld KiB "
	    "(%ld bytes/entry)\n", n, (after - before) / 1024,
	    (after - before) / (long)n);
	vc_free(vc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vc_hit_after_put),
		cmocka_unit_test(test_vc_miss_other_token),
		cmocka_unit_test(test_vc_expiry),
		cmocka_unit_test(test_vc_negative),
		cmocka_unit_test(test_vc_eviction_bound),
		cmocka_unit_test(test_vc_clock_second_chance),
		cmocka_unit_test(test_vc_evicts_expired_first),
		cmocka_unit_test(test_vc_drop_kid),
	    cmocka_unit_test(test_vc_clear),
		cmocka_unit_test(test_vc_ident_interning),
		cmocka_unit_test(test_vc_ident_refresh),
		cmocka_unit_test(test_vc_replace),
		cmocka_unit_test(test_vc_bad_args),
		cmocka_unit_test(test_vc_memory_100k),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * claims.c - registered-claim rules for an access token's payload.
 *
 * Called by verify.c once jose.c has verified the signature and jsonx.c
 * has parsed the payload strictly.  Knows nothing of the network or of
 * keys: a jansson object and the time in, an enum and a short static
 * reason out.
 *
 * Rules (DESIGN.md "Verification rules", RFC 8725 section 3.10):
 *  - exp is required and numeric; the token is expired once
 *    now >= exp + leeway (RFC 7519: "on or after").  This is one second
 *    stricter than python-jose, which accepts now == exp + leeway.
 *  - iss must equal the policy issuer byte for byte, so a missing
 *    trailing slash is a mismatch.
 *  - aud is a string equal to the audience, or a non-empty array of at
 *    most CLAIMS_AUD_MAX strings that contains it.  An id_token carries
 *    the client id there and is refused.
 *  - nbf and iat are optional; when present they are numeric and not
 *    later than now + leeway.
 *  - sub is a required, non-empty string of at most CLAIMS_SUB_MAX bytes
 *    without control characters; it is kept whole ("auth0|x" and
 *    "google-oauth2|x" are different users).
 *  - scope is optional; when present a string without control characters
 *    of at most CLAIMS_SCOPE_MAX bytes.
 *
 * Order: exp is checked first, then iss, aud, nbf, iat, sub, scope.  The
 * seed's python-jose raises ExpiredSignatureError ("token is expired")
 * before it looks at aud and iss, so an expired token for the wrong
 * audience reports "expired" in both.  python-jose looks at iat and nbf
 * before exp; that only matters for a token that is both expired and not
 * yet valid (nbf > exp), which no sane issuer signs, and we call it
 * expired.
 *
 * Numbers: JSON integers are taken as they are.  A real (RFC 7519
 * NumericDate may have a fraction) must be finite; exp is rounded down
 * and nbf/iat up, so rounding never extends a token's life, and values
 * beyond int64_t saturate (exp 1e300 is "far future", and verify.c caps
 * cache lifetime anyway).  Booleans, strings ("123"), null are refused:
 * unlike python-jose we do not run int() over whatever is there.
 *
 * Invariants: `out' is all zero unless CLAIMS_OK is returned; no
 * arithmetic here can overflow (sums saturate).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "claims.h"

enum claims_text {
	CLAIMS_TEXT_OK,
	CLAIMS_TEXT_TYPE,
	CLAIMS_TEXT_EMPTY,
	CLAIMS_TEXT_LONG,
	CLAIMS_TEXT_CTL
};

static const char claims_why_expired[] = "expired";

static const char *const claims_sub_why[] = {
	[CLAIMS_TEXT_OK] = NULL,
	[CLAIMS_TEXT_TYPE] = "sub not a string",
	[CLAIMS_TEXT_EMPTY] = "sub empty",
	[CLAIMS_TEXT_LONG] = "sub too long",
	[CLAIMS_TEXT_CTL] = "sub has control characters",
};

static const char *const claims_scope_why[] = {
	[CLAIMS_TEXT_OK] = NULL,
	[CLAIMS_TEXT_TYPE] = "scope not a string",
	[CLAIMS_TEXT_EMPTY] = NULL,		/* "scope": "" grants nothing */
	[CLAIMS_TEXT_LONG] = "scope too long",
	[CLAIMS_TEXT_CTL] = "scope has control characters",
};

static int64_t
claims_add(int64_t a, int64_t b)
{
	int64_t sum;

	if (__builtin_add_overflow(a, b, &sum))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return sum;
}

/*
 * A NumericDate as int64_t.  Reals are rounded in the direction given by
 * `up' and saturate at the int64_t range; the comparisons are against
 * 2^63, which a double represents exactly.  Rounding is done by hand so
 * that this library does not need libm.
 */
static int
claims_numeric(const json_t *v, int up, int64_t *out)
{
	double d;
	int64_t t;

	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return 0;
	}
	if (!json_is_real(v))
		return -1;
	d = json_real_value(v);
	if (!isfinite(d))
		return -1;
	if (d >= 9223372036854775808.0) {
		*out = INT64_MAX;
		return 0;
	}
	if (d < -9223372036854775808.0) {
		*out = INT64_MIN;
		return 0;
	}
	/* Truncation, then a step towards the wanted direction. */
	t = (int64_t)d;
	if (up && (double)t < d && t < INT64_MAX)
		t++;
	else if (!up && (double)t > d && t > INT64_MIN)
		t--;
	*out = t;
	return 0;
}

/* C0 controls, DEL, and C1 controls (U+0080..U+009F, i.e. C2 80..C2 9F). */
static int
claims_has_ctl(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 1;
		if (p[i] == 0xc2 && i + 1 < len && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f)
			return 1;
	}
	return 0;
}

/* Classifies a string claim that is to be copied into a buffer of max+1. */
static enum claims_text
claims_text(const json_t *v, size_t max)
{
	size_t len;

	if (!json_is_string(v))
		return CLAIMS_TEXT_TYPE;
	len = json_string_length(v);
	if (len == 0)
		return CLAIMS_TEXT_EMPTY;
	if (len > max)
		return CLAIMS_TEXT_LONG;
	if (claims_has_ctl(json_string_value(v), len))
		return CLAIMS_TEXT_CTL;
	return CLAIMS_TEXT_OK;
}

/* Byte-exact comparison; a jansson string may hold an embedded NUL. */
static int
claims_str_eq(const json_t *v, const char *want)
{
	size_t len = strlen(want);

	return json_string_length(v) == len &&
	    memcmp(json_string_value(v), want, len) == 0;
}

static const char *
claims_exp(const json_t *payload, const struct claims_policy *policy,
    int64_t now, struct claims *out)
{
	const json_t *v;

	if ((v = json_object_get(payload, "exp")) == NULL)
		return "exp missing";
	if (claims_numeric(v, 0, &out->exp) == -1)
		return "exp not a number";
	if (now >= claims_add(out->exp, policy->leeway))
		return claims_why_expired;
	return NULL;
}

static const char *
claims_iss(const json_t *payload, const struct claims_policy *policy,
    struct claims *out)
{
	const json_t *v;
	size_t len;

	if ((v = json_object_get(payload, "iss")) == NULL)
		return "iss missing";
	if (!json_is_string(v))
		return "iss not a string";
	if (!claims_str_eq(v, policy->issuer))
		return "iss mismatch";
	len = json_string_length(v);
	if (len > CLAIMS_ISS_MAX)
		return "iss too long";
	memcpy(out->iss, json_string_value(v), len);
	return NULL;
}

static const char *
claims_aud(const json_t *payload, const struct claims_policy *policy)
{
	const json_t *v, *e;
	size_t i, n;
	int found = 0;

	if ((v = json_object_get(payload, "aud")) == NULL)
		return "aud missing";
	if (json_is_string(v))
		return claims_str_eq(v, policy->audience) ? NULL :
		    "aud mismatch";
	if (!json_is_array(v))
		return "aud not a string or array";
	if ((n = json_array_size(v)) == 0)
		return "aud empty";
	if (n > CLAIMS_AUD_MAX)
		return "aud too many entries";
	for (i = 0; i < n; i++) {
		e = json_array_get(v, i);
		if (!json_is_string(e))
			return "aud entry not a string";
		if (claims_str_eq(e, policy->audience))
			found = 1;
	}
	return found ? NULL : "aud mismatch";
}

/* nbf and iat: optional, numeric, not later than now + leeway. */
static const char *
claims_not_after_now(const json_t *payload, const char *name,
    const struct claims_policy *policy, int64_t now, const char *why_type,
    const char *why_future)
{
	const json_t *v;
	int64_t t;

	if ((v = json_object_get(payload, name)) == NULL)
		return NULL;
	if (claims_numeric(v, 1, &t) == -1)
		return why_type;
	if (t > claims_add(now, policy->leeway))
		return why_future;
	return NULL;
}

static const char *
claims_sub(const json_t *payload, struct claims *out)
{
	const json_t *v;
	enum claims_text t;

	if ((v = json_object_get(payload, "sub")) == NULL)
		return "sub missing";
	if ((t = claims_text(v, CLAIMS_SUB_MAX)) != CLAIMS_TEXT_OK)
		return claims_sub_why[t];
	memcpy(out->sub, json_string_value(v), json_string_length(v));
	return NULL;
}

static const char *
claims_scope(const json_t *payload, struct claims *out)
{
	const json_t *v;
	enum claims_text t;

	if ((v = json_object_get(payload, "scope")) == NULL)
		return NULL;
	t = claims_text(v, CLAIMS_SCOPE_MAX);
	if (t == CLAIMS_TEXT_OK)
		memcpy(out->scope, json_string_value(v),
		    json_string_length(v));
	return claims_scope_why[t];
}

/* Everything but exp; NULL when all hold. */
static const char *
claims_rest(const json_t *payload, const struct claims_policy *policy,
    int64_t now, struct claims *out)
{
	const char *why;

	if ((why = claims_iss(payload, policy, out)) != NULL ||
	    (why = claims_aud(payload, policy)) != NULL ||
	    (why = claims_not_after_now(payload, "nbf", policy, now,
	    "nbf not a number", "nbf in the future")) != NULL ||
	    (why = claims_not_after_now(payload, "iat", policy, now,
	    "iat not a number", "iat in the future")) != NULL ||
	    (why = claims_sub(payload, out)) != NULL ||
	    (why = claims_scope(payload, out)) != NULL)
		return why;
	return NULL;
}

enum claims_result
claims_check(const json_t *payload, const struct claims_policy *policy,
    int64_t now, struct claims *out, const char **why)
{
	enum claims_result rc = CLAIMS_INVALID;
	const char *reason;

	if (policy == NULL || policy->issuer == NULL ||
	    policy->audience == NULL || out == NULL)
		abort();
	memset(out, 0, sizeof(*out));
	if (!json_is_object(payload)) {
		reason = "payload not an object";
		goto out;
	}
	if ((reason = claims_exp(payload, policy, now, out)) != NULL) {
		if (reason == claims_why_expired)
			rc = CLAIMS_EXPIRED;
		goto out;
	}
	if ((reason = claims_rest(payload, policy, now, out)) != NULL)
		goto out;
	rc = CLAIMS_OK;
	reason = "ok";
out:
	if (rc != CLAIMS_OK)
		memset(out, 0, sizeof(*out));
	if (why != NULL)
		*why = reason;
	return rc;
}

int
claims_has_scope(const struct claims *c, const char *scope)
{
	const char *p, *end;
	size_t n;

	n = strlen(scope);
	if (n == 0 || strchr(scope, ' ') != NULL)
		return 0;
	for (p = c->scope; *p != '\0'; p = *end == '\0' ? end : end + 1) {
		end = strchrnul(p, ' ');
		if ((size_t)(end - p) == n && memcmp(p, scope, n) == 0)
			return 1;
	}
	return 0;
}

/*
 * verify.c - the verdict on one bearer token.
 *
 * Called by server.c for each VERIFY request.  Ties together the pure
 * pieces (jose.c, claims.c, vcache.c) and the asynchronous ones (jwks.c
 * for keys, provision.c for new users).  Invariants:
 * - every verify_token() call ends in exactly one callback, possibly
 *   before it returns;
 * - a token is accepted only after its signature verified with a key of
 *   the current set that fits its alg, and its claims passed;
 * - IdP trouble gives VERIFY_UNAVAILABLE, never VERIFY_DENIED or OK;
 * - the raw token lives only as long as its job and is wiped then; the
 *   caches hold a keyed BLAKE2b of it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "claims.h"
#include "jose.h"
#include "jwk.h"
#include "jwks.h"
#include "log.h"
#include "proto.h"
#include "provision.h"
#include "users.h"
#include "vcache.h"
#include "verify.h"

#define VERIFY_RETRY_AFTER	5

struct verifier {
	struct jwks		*jwks;
	struct vcache		*vc;
	struct udb		*udb;
	struct provisioner	*prov;
	char			*issuer;
	char			*audience;
	unsigned		 alg_mask;
	long			 leeway;
	long			 cache_ttl;
	long			 neg_ttl;
	struct verify_stats	 stats;
};

struct verify_job {
	struct verifier		*v;
	char			*token;
	size_t			 len;
	uint8_t			 key[VC_KEYLEN];
	int			 waited;
	char			 kid[JWK_KID_MAX + 1];
	struct claims		 cl;
	verify_cb		 cb;
	void			*arg;
};

struct verifier *
verifier_new(struct jwks *jwks, struct vcache *vc, struct udb *udb,
    struct provisioner *prov, const struct verifier_conf *c)
{
	struct verifier *v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->jwks = jwks;
	v->vc = vc;
	v->udb = udb;
	v->prov = prov;
	if (verifier_set_conf(v, c) == -1) {
		free(v);
		return NULL;
	}
	return v;
}

int
verifier_set_conf(struct verifier *v, const struct verifier_conf *c)
{
	char *iss, *aud;

	if ((iss = strdup(c->issuer)) == NULL)
		return -1;
	if ((aud = strdup(c->audience)) == NULL) {
		free(iss);
		return -1;
	}
	free(v->issuer);
	free(v->audience);
	v->issuer = iss;
	v->audience = aud;
	v->alg_mask = c->alg_mask;
	v->leeway = c->leeway;
	v->cache_ttl = c->cache_ttl;
	v->neg_ttl = c->neg_ttl;
	return 0;
}

void
verifier_free(struct verifier *v)
{
	if (v == NULL)
		return;
	free(v->issuer);
	free(v->audience);
	free(v);
}

const struct verify_stats *
verifier_stats(const struct verifier *v)
{
	return &v->stats;
}

/* jwks.c calls this for each key that left the set; arg is the cache. */
void
verifier_drop_kid(const char *kid, void *arg)
{
	size_t n;

	n = vc_drop_kid(arg, kid);
	log_info("verify: key left the set kid=\"%s\" dropped=%zu", kid, n);
}

static void
verify_answer(struct verifier *v, verify_cb cb, void *arg,
    struct proto_verify_ans *a)
{
	if (a->outcome == VERIFY_OK)
		v->stats.accepted++;
	else if (a->outcome == VERIFY_DENIED)
		v->stats.denied[a->reason & 7]++;
	else
		v->stats.unavailable++;
	cb(a, arg);
}

static void
verify_job_free(struct verify_job *job)
{
	sodium_memzero(job->token, job->len);
	free(job->token);
	free(job);
}

static void
verify_deny(struct verify_job *job, enum verify_reason reason, int cache)
{
	struct proto_verify_ans a;

	if (cache)
		vc_put_denied(job->v->vc, job->key, reason,
		    time(NULL) + job->v->neg_ttl);
	memset(&a, 0, sizeof(a));
	a.outcome = VERIFY_DENIED;
	a.reason = reason;
	verify_answer(job->v, job->cb, job->arg, &a);
	verify_job_free(job);
}

static void
verify_unavailable(struct verify_job *job, long retry)
{
	struct proto_verify_ans a;

	memset(&a, 0, sizeof(a));
	a.outcome = VERIFY_UNAVAILABLE;
	a.reason = REASON_UNAVAILABLE;
	a.retry_after = retry > 0 ? retry : VERIFY_RETRY_AFTER;
	verify_answer(job->v, job->cb, job->arg, &a);
	verify_job_free(job);
}

/* An accepted answer, from a fresh verdict or a cached one. */
static void
verify_fill_ok(struct proto_verify_ans *a, uint64_t user, int64_t exp,
    const char *iss, const char *sub, const char *email, const char *scope)
{
	memset(a, 0, sizeof(*a));
	a->outcome = VERIFY_OK;
	a->user = user;
	a->exp = exp;
	snprintf(a->iss, sizeof(a->iss), "%s", iss);
	snprintf(a->sub, sizeof(a->sub), "%s", sub);
	snprintf(a->email, sizeof(a->email), "%s", email != NULL ? email : "");
	snprintf(a->scope, sizeof(a->scope), "%s", scope != NULL ? scope : "");
}

static void
verify_accept(struct verify_job *job, uint64_t user, const char *email)
{
	struct verifier *v = job->v;
	struct proto_verify_ans a;
	int64_t now = time(NULL), until = now + v->cache_ttl;

	/* A token accepted inside the leeway after exp is not cached. */
	if (job->cl.exp < until)
		until = job->cl.exp;
	if (until > now)
		vc_put_ok(v->vc, job->key, job->kid, user, job->cl.iss,
		    job->cl.sub, email, job->cl.scope, job->cl.exp, until);
	verify_fill_ok(&a, user, job->cl.exp, job->cl.iss, job->cl.sub, email,
	    job->cl.scope);
	verify_answer(v, job->cb, job->arg, &a);
	verify_job_free(job);
}

static void
verify_provisioned_cb(enum prov_result r, uint64_t user, const char *email,
    long retry, void *arg)
{
	struct verify_job *job = arg;

	switch (r) {
	case PROV_OK:
		verify_accept(job, user, email);
		break;
	case PROV_NO_EMAIL:
		verify_deny(job, REASON_NO_EMAIL, 1);
		break;
	default:
		verify_unavailable(job, retry);
		break;
	}
}

static void
verify_identity(struct verify_job *job)
{
	char email[PROTO_EMAIL_MAX + 1];
	uint64_t user;

	switch (udb_lookup(job->v->udb, job->cl.iss, job->cl.sub, &user,
	    email, sizeof(email))) {
	case 1:
		verify_accept(job, user, email);
		break;
	case 0:
		prov_user(job->v->prov, job->cl.iss, job->cl.sub, job->token,
		    verify_provisioned_cb, job);
		break;
	default:
		verify_unavailable(job, VERIFY_RETRY_AFTER);
		break;
	}
}

/* Signature done: the claims decide. */
static void
verify_claims(struct verify_job *job, const json_t *payload)
{
	struct verifier *v = job->v;
	struct claims_policy pol;
	const char *why = "";

	pol.issuer = v->issuer;
	pol.audience = v->audience;
	pol.leeway = v->leeway;
	switch (claims_check(payload, &pol, time(NULL), &job->cl, &why)) {
	case CLAIMS_OK:
		verify_identity(job);
		break;
	case CLAIMS_EXPIRED:
		log_debug("verify: denied reason=expired");
		verify_deny(job, REASON_EXPIRED, 1);
		break;
	default:
		log_debug("verify: denied reason=claims why=\"%s\"", why);
		verify_deny(job, REASON_CLAIMS, 1);
		break;
	}
}

static void	verify_run(struct verify_job *);

static void
verify_wake_cb(void *arg)
{
	verify_run(arg);
}

/* The kid is not in the set: maybe the IdP has rotated keys. */
static void
verify_missing_key(struct verify_job *job)
{
	switch (jwks_want_kid(job->v->jwks, job->kid, job->waited,
	    verify_wake_cb, job)) {
	case JWKS_WAIT:
		job->waited = 1;
		break;
	case JWKS_UNKNOWN:
		log_debug("verify: denied reason=unknown_kid");
		verify_deny(job, REASON_UNKNOWN_KID, 0);
		break;
	default:
		verify_unavailable(job, VERIFY_RETRY_AFTER);
		break;
	}
}

static void
verify_run(struct verify_job *job)
{
	struct verifier *v = job->v;
	const struct jwk *key;
	struct jws jws;
	enum jose_err e;

	if ((e = jws_parse(job->token, job->len, v->alg_mask, &jws)) !=
	    JOSE_OK) {
		log_debug("verify: denied reason=malformed why=\"%s\"",
		    jose_strerror(e));
		verify_deny(job, REASON_MALFORMED, 1);
		return;
	}
	if (!jws.has_kid) {
		jws_free(&jws);
		log_debug("verify: denied reason=malformed why=\"no kid\"");
		verify_deny(job, REASON_MALFORMED, 1);
		return;
	}
	memcpy(job->kid, jws.kid, sizeof(job->kid));
	if ((key = jwks_find(v->jwks, jws.kid)) == NULL) {
		jws_free(&jws);
		verify_missing_key(job);
		return;
	}
	if (jose_verify(key, jws.alg, (const uint8_t *)jws.signing_input,
	    jws.signing_input_len, jws.sig, jws.sig_len) != 0) {
		jws_free(&jws);
		log_debug("verify: denied reason=malformed why=\"signature\"");
		verify_deny(job, REASON_MALFORMED, 1);
		return;
	}
	verify_claims(job, jws.payload);
	jws_free(&jws);
}

static int
verify_cached(struct verifier *v, const uint8_t key[VC_KEYLEN], verify_cb cb,
    void *arg)
{
	struct proto_verify_ans a;
	struct vc_hit hit;

	if (vc_get(v->vc, key, time(NULL), &hit) != 1)
		return 0;
	v->stats.cache_hits++;
	memset(&a, 0, sizeof(a));
	if (!hit.positive) {
		a.outcome = VERIFY_DENIED;
		a.reason = hit.reason;
		verify_answer(v, cb, arg, &a);
		return 1;
	}
	verify_fill_ok(&a, hit.user, hit.exp, hit.ident->iss, hit.ident->sub,
	    hit.ident->email, hit.scope);
	verify_answer(v, cb, arg, &a);
	return 1;
}

void
verify_token(struct verifier *v, const char *token, size_t len,
    verify_cb cb, void *arg)
{
	struct verify_job *job;
	uint8_t key[VC_KEYLEN];
	struct proto_verify_ans a;

	v->stats.requests++;
	vc_key(v->vc, token, len, key);
	if (verify_cached(v, key, cb, arg))
		return;
	if ((job = calloc(1, sizeof(*job))) == NULL ||
	    (job->token = malloc(len + 1)) == NULL) {
		free(job);
		memset(&a, 0, sizeof(a));
		a.outcome = VERIFY_UNAVAILABLE;
		a.reason = REASON_UNAVAILABLE;
		a.retry_after = VERIFY_RETRY_AFTER;
		verify_answer(v, cb, arg, &a);
		return;
	}
	memcpy(job->token, token, len);
	job->token[len] = '\0';
	job->len = len;
	memcpy(job->key, key, sizeof(key));
	job->v = v;
	job->cb = cb;
	job->arg = arg;
	verify_run(job);
}

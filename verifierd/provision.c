/*
 * provision.c - user provisioning through the IdP's /userinfo.
 *
 * Called by verify.c for a verified token whose (iss, sub) is not in the
 * user table yet.  Invariants:
 * - single flight: however many tokens of a new user arrive together, one
 *   /userinfo call is made and every waiter gets its answer;
 * - a user, once stored, is never looked up at the IdP again;
 * - a 429 blocks further calls until its Retry-After has passed, and 429,
 *   5xx, time-outs and garbage are "unavailable", never "denied";
 * - the token is sent in the Authorization header only, and never kept
 *   after the call has been started.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "fetch.h"
#include "log.h"
#include "provision.h"
#include "proto.h"
#include "users.h"

#define PROV_RETRY_DEFAULT	5	/* seconds, when the IdP gave none */
#define PROV_RETRY_MAX		3600

struct prov_waiter {
	struct prov_waiter	*next;
	prov_cb			 cb;
	void			*arg;
};

struct prov_flight {
	struct prov_flight	*next;
	struct provisioner	*p;
	char			*iss;
	char			*sub;
	struct prov_waiter	*waiters;
};

struct provisioner {
	struct fetcher		*fetcher;
	struct udb		*udb;
	char			*url;
	struct prov_flight	*flights;
	time_t			 blocked_until;
	uint64_t		 calls;
};

struct provisioner *
prov_new(struct fetcher *f, struct udb *udb, const char *url)
{
	struct provisioner *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->fetcher = f;
	p->udb = udb;
	if (prov_set_url(p, url) == -1) {
		free(p);
		return NULL;
	}
	return p;
}

int
prov_set_url(struct provisioner *p, const char *url)
{
	char *u;

	if ((u = strdup(url)) == NULL)
		return -1;
	free(p->url);
	p->url = u;
	return 0;
}

/* Flights still under way own their memory until their callback runs. */
void
prov_free(struct provisioner *p)
{
	if (p == NULL)
		return;
	free(p->url);
	free(p);
}

uint64_t
prov_calls(const struct provisioner *p)
{
	return p->calls;
}

static struct prov_flight *
prov_find(struct provisioner *p, const char *iss, const char *sub)
{
	struct prov_flight *fl;

	for (fl = p->flights; fl != NULL; fl = fl->next)
		if (strcmp(fl->iss, iss) == 0 && strcmp(fl->sub, sub) == 0)
			return fl;
	return NULL;
}

static void
prov_unlink(struct provisioner *p, struct prov_flight *fl)
{
	struct prov_flight **pp;

	for (pp = &p->flights; *pp != NULL; pp = &(*pp)->next)
		if (*pp == fl) {
			*pp = fl->next;
			return;
		}
}

static void
prov_finish(struct prov_flight *fl, enum prov_result r, uint64_t user,
    const char *email, long retry)
{
	struct prov_waiter *w;

	prov_unlink(fl->p, fl);
	while ((w = fl->waiters) != NULL) {
		fl->waiters = w->next;
		w->cb(r, user, email, retry, w->arg);
		free(w);
	}
	free(fl->iss);
	free(fl->sub);
	free(fl);
}

/* Reads the email of a /userinfo answer; NULL if there is none. */
static const char *
prov_email(json_t *doc, const char *sub)
{
	json_t *e, *s;
	const char *email;

	if (!json_is_object(doc))
		return NULL;
	s = json_object_get(doc, "sub");
	if (s != NULL && (!json_is_string(s) ||
	    strcmp(json_string_value(s), sub) != 0))
		return NULL;
	e = json_object_get(doc, "email");
	if (!json_is_string(e))
		return NULL;
	email = json_string_value(e);
	if (email[0] == '\0' || strlen(email) > PROTO_EMAIL_MAX ||
	    strchr(email, '@') == NULL)
		return NULL;
	return email;
}

static long
prov_retry(long given)
{
	if (given < 1)
		return PROV_RETRY_DEFAULT;
	return given > PROV_RETRY_MAX ? PROV_RETRY_MAX : given;
}

static void
prov_store(struct prov_flight *fl, json_t *doc)
{
	const char *email = prov_email(doc, fl->sub);
	uint64_t user;

	if (email == NULL) {
		log_warnx("provision: no email from userinfo sub=\"%s\"",
		    fl->sub);
		prov_finish(fl, PROV_NO_EMAIL, 0, NULL, 0);
		return;
	}
	if (udb_provision(fl->p->udb, fl->iss, fl->sub, email, &user) == -1) {
		prov_finish(fl, PROV_UNAVAILABLE, 0, NULL, PROV_RETRY_DEFAULT);
		return;
	}
	log_info("provision: new user user=%llu sub=\"%s\"",
	    (unsigned long long)user, fl->sub);
	prov_finish(fl, PROV_OK, user, email, 0);
}

static void
prov_fetched_cb(const struct fetch_result *r, void *arg)
{
	struct prov_flight *fl = arg;
	struct provisioner *p = fl->p;
	json_error_t jerr;
	json_t *doc;
	long retry;

	if (r->ok && r->status == 200) {
		doc = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES,
		    &jerr);
		if (doc != NULL) {
			prov_store(fl, doc);
			json_decref(doc);
			return;
		}
		log_warnx("provision: userinfo is not JSON");
		prov_finish(fl, PROV_UNAVAILABLE, 0, NULL, PROV_RETRY_DEFAULT);
		return;
	}
	/* The IdP itself refuses the token: it has no user for us. */
	if (r->ok && (r->status == 401 || r->status == 403)) {
		log_warnx("provision: userinfo refused the token status=%ld",
		    r->status);
		prov_finish(fl, PROV_NO_EMAIL, 0, NULL, 0);
		return;
	}
	retry = prov_retry(r->retry_after);
	if (r->ok && r->status == 429) {
		p->blocked_until = time(NULL) + retry;
		log_warnx("provision: userinfo rate limited retry_after=%ld",
		    retry);
	} else if (r->ok)
		log_warnx("provision: userinfo failed status=%ld", r->status);
	else
		log_warnx("provision: userinfo failed error=\"%s\"", r->error);
	prov_finish(fl, PROV_UNAVAILABLE, 0, NULL, retry);
}

static struct prov_flight *
prov_start(struct provisioner *p, const char *iss, const char *sub,
    const char *token)
{
	struct prov_flight *fl;

	if ((fl = calloc(1, sizeof(*fl))) == NULL)
		return NULL;
	fl->p = p;
	if ((fl->iss = strdup(iss)) == NULL || (fl->sub = strdup(sub)) == NULL)
		goto fail;
	if (fetch_get(p->fetcher, p->url, token, prov_fetched_cb, fl) == -1)
		goto fail;
	p->calls++;
	fl->next = p->flights;
	p->flights = fl;
	return fl;
fail:
	free(fl->iss);
	free(fl->sub);
	free(fl);
	return NULL;
}

/*
 * The callback may run before this returns (back-off, out of memory) or
 * later from the event loop.
 */
void
prov_user(struct provisioner *p, const char *iss, const char *sub,
    const char *token, prov_cb cb, void *arg)
{
	struct prov_flight *fl;
	struct prov_waiter *w;
	time_t now = time(NULL);

	if (p->blocked_until > now) {
		cb(PROV_UNAVAILABLE, 0, NULL, p->blocked_until - now, arg);
		return;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		cb(PROV_UNAVAILABLE, 0, NULL, PROV_RETRY_DEFAULT, arg);
		return;
	}
	w->cb = cb;
	w->arg = arg;
	if ((fl = prov_find(p, iss, sub)) == NULL &&
	    (fl = prov_start(p, iss, sub, token)) == NULL) {
		free(w);
		cb(PROV_UNAVAILABLE, 0, NULL, PROV_RETRY_DEFAULT, arg);
		return;
	}
	w->next = fl->waiters;
	fl->waiters = w;
}

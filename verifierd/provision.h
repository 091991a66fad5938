/*
 * provision.h - first sight of a user: one /userinfo call, then stored.
 */
#ifndef TODOD_PROVISION_H
#define TODOD_PROVISION_H

#include <stdint.h>

struct fetcher;
struct udb;
struct provisioner;

enum prov_result {
	PROV_OK,		/* user id (and email) known */
	PROV_NO_EMAIL,		/* the IdP has no email for this user */
	PROV_UNAVAILABLE,	/* IdP failed or asked us to back off */
};

typedef void (*prov_cb)(enum prov_result, uint64_t user, const char *email,
    long retry_after, void *);

struct provisioner *prov_new(struct fetcher *, struct udb *,
		    const char *userinfo_url);
void		 prov_free(struct provisioner *);
int		 prov_set_url(struct provisioner *, const char *);
void		 prov_user(struct provisioner *, const char *iss,
		    const char *sub, const char *token, prov_cb, void *);
uint64_t	 prov_calls(const struct provisioner *);

#endif

/*
 * users.h - verifierd's provisioned users: (issuer, subject) -> local user
 * id and email, in a Berkeley DB transactional environment of its own under
 * STATE_DIR/users.
 *
 * Only verifierd calls this, from its one thread: udb_open() at start,
 * udb_lookup() for every verified token not in the verification cache,
 * udb_provision() once per new (iss, sub) after /userinfo answered,
 * udb_close() at exit.  iss and sub are the exact claim strings; they are
 * never split or normalised, so "auth0|x" and "google-oauth2|x" are two
 * users, as is one sub under two issuers.
 */
#ifndef TODOD_USERS_H
#define TODOD_USERS_H

#include <stddef.h>
#include <stdint.h>

#define UDB_EMAIL_MAX 320 /* RFC 3696 (errata): 64 + 1 + 255 */
#define UDB_CLAIM_MAX 4096 /* longest iss or sub accepted */

struct udb;

struct udb *udb_open(const char *state_dir, char *err, size_t errlen);
void udb_close(struct udb *);

/*
 * 1 found (*user set; email, if not NULL, gets the NUL-terminated email and
 * must hold UDB_EMAIL_MAX + 1 bytes to be sure), 0 not found, -1 error.
 */
int udb_lookup(struct udb *, const char *iss, const char *sub, uint64_t *user,
    char *email, size_t emailcap);

/*
 * Inserts (iss, sub) with a new id unless it exists; either way *user is
 * the id stored.  An existing user keeps the email it was created with.
 * email may be NULL (stored as "").  0 ok, -1 error.
 */
int udb_provision(struct udb *, const char *iss, const char *sub,
    const char *email, uint64_t *user);

/* Number of provisioned users; 0 also on error (logged). */
uint64_t udb_count(struct udb *);

#endif

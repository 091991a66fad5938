/*
 * privdrop.c - resolve the unprivileged user and switch to it for good.
 *
 * Called by the todod master and by verifierd at start-up, once everything
 * that needs root is open (listening sockets, database environments) and
 * before any input is read; processes that start unprivileged call only
 * privdrop_no_new_privs().  After privdrop_to() the real, effective and
 * saved ids all equal the target, the supplementary groups are the
 * target's, root cannot be regained and execve() cannot grant privileges.
 * Any failure is fatal: a half-dropped process must not serve (OpenSSH
 * uidswap.c does the same checks).
 */
#include <sys/prctl.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"

#define PRIVDROP_PWBUF_MAX (1024 * 1024)

/* Returns 0 when found, 1 when there is no such entry, -1 on error. */
static int
privdrop_getpw(const char *name, uid_t id, struct passwd *pw, char **bufp)
{
	struct passwd *res;
	size_t len = 1024;
	char *buf;
	int e;

	for (;;) {
		if ((buf = malloc(len)) == NULL)
			return -1;
		res = NULL;
		if (name != NULL)
			e = getpwnam_r(name, pw, buf, len, &res);
		else
			e = getpwuid_r(id, pw, buf, len, &res);
		if (e != ERANGE || len >= PRIVDROP_PWBUF_MAX)
			break;
		free(buf);
		len *= 4;
	}
	if (e != 0 || res == NULL) {
		free(buf);
		errno = e;
		return e != 0 ? -1 : 1;
	}
	*bufp = buf;
	return 0;
}

/* Decimal id without sign or blanks; (uid_t)-1 means "unchanged", so no. */
static int
privdrop_parse_id(const char *s, size_t len, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 10)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v >= (unsigned long)(uid_t)-1 || v >= (unsigned long)(gid_t)-1)
		return -1;
	*out = v;
	return 0;
}

/* "UID" takes the gid from the passwd entry; "UID:GID" needs none. */
static int
privdrop_numeric(
    const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	const char *colon = strchr(user, ':');
	unsigned long u, g;
	struct passwd pw;
	char *buf = NULL;
	size_t ulen = colon != NULL ? (size_t)(colon - user) : strlen(user);
	int rc;

	if (privdrop_parse_id(user, ulen, &u) == -1 ||
	    (colon != NULL &&
		privdrop_parse_id(colon + 1, strlen(colon + 1), &g) == -1)) {
		snprintf(err, errlen, "unknown user '%s'", user);
		return -1;
	}
	if (colon == NULL) {
		rc = privdrop_getpw(NULL, (uid_t)u, &pw, &buf);
		if (rc != 0) {
			snprintf(err, errlen, "uid %lu: %s", u,
			    rc == -1 ? strerror(errno)
				     : "no passwd entry, give UID:GID");
			return -1;
		}
		g = pw.pw_gid;
		free(buf);
	}
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

int
privdrop_lookup(
    const char *user, uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	struct passwd pw;
	char *buf = NULL;
	int rc;

	if (user == NULL || user[0] == '\0') {
		snprintf(err, errlen, "empty user name");
		return -1;
	}
	rc = privdrop_getpw(user, 0, &pw, &buf);
	if (rc == -1) {
		snprintf(err, errlen, "user '%s': %s", user, strerror(errno));
		return -1;
	}
	if (rc == 1)
		return privdrop_numeric(user, uid, gid, err, errlen);
	*uid = pw.pw_uid;
	*gid = pw.pw_gid;
	free(buf);
	return 0;
}

static int
privdrop_is_current(uid_t uid, gid_t gid)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (getresuid(&r, &e, &s) == -1 || getresgid(&rg, &eg, &sg) == -1)
		fatal("privdrop: getresuid");
	return r == uid && e == uid && s == uid && rg == gid && eg == gid &&
	    sg == gid;
}

/* Checks the switch took everywhere and that root is out of reach. */
static void
privdrop_verify(uid_t uid, gid_t gid)
{
	if (!privdrop_is_current(uid, gid))
		fatalx("privdrop: ids are not all uid=%lu gid=%lu",
		    (unsigned long)uid, (unsigned long)gid);
	if (uid == 0)
		return;
	if (setuid(0) != -1 || setresuid((uid_t)-1, 0, (uid_t)-1) != -1)
		fatalx("privdrop: uid 0 could be regained");
	if (gid != 0 && (setgid(0) != -1 || setegid(0) != -1))
		fatalx("privdrop: gid 0 could be regained");
}

void
privdrop_to(const char *user, uid_t uid, gid_t gid)
{
	/*
	 * A process that already runs as the target (systemd User=) cannot
	 * call setgroups(); its ids only need checking.
	 */
	if (uid == 0 || !privdrop_is_current(uid, gid)) {
		if (user != NULL ? initgroups(user, gid) == -1
				 : setgroups(1, &gid) == -1)
			fatal("privdrop: setting groups for gid %lu",
			    (unsigned long)gid);
		if (setresgid(gid, gid, gid) == -1)
			fatal("privdrop: setresgid %lu", (unsigned long)gid);
		if (setresuid(uid, uid, uid) == -1)
			fatal("privdrop: setresuid %lu", (unsigned long)uid);
	}
	privdrop_verify(uid, gid);
	privdrop_no_new_privs();
	log_debug("privdrop: running as uid=%lu gid=%lu", (unsigned long)uid,
	    (unsigned long)gid);
}

void
privdrop_no_new_privs(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("privdrop: prctl(PR_SET_NO_NEW_PRIVS)");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		fatalx("privdrop: no_new_privs did not stick");
}

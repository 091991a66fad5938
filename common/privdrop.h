/*
 * privdrop.h - the one privilege-drop routine (STYLE.md "Processes and
 * privilege"): supplementary groups, gid, uid, proof that root cannot be
 * regained, then no_new_privs.
 */
#ifndef TODOD_PRIVDROP_H
#define TODOD_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

/*
 * user is a name, a numeric "UID" (gid from its passwd entry) or
 * "UID:GID".  Returns 0, or -1 with a message in err.
 */
int	privdrop_lookup(const char *user, uid_t *uid, gid_t *gid, char *err,
	    size_t errlen);

/*
 * Switches to uid/gid for good; user (or NULL: gid alone) names the
 * supplementary groups.  Returns only on success; any failure is fatal.
 */
void	privdrop_to(const char *user, uid_t uid, gid_t gid);

/* PR_SET_NO_NEW_PRIVS alone, for processes that start unprivileged. */
void	privdrop_no_new_privs(void);

#endif

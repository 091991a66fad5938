/*
 * notify.c - tell the service manager about state changes (sd_notify(3))
 * without linking libsystemd.
 *
 * Called by the todod master and by verifierd: READY=1 once serving,
 * RELOADING=1 / STOPPING=1 around SIGHUP and SIGTERM, WATCHDOG=1 at half
 * of notify_watchdog_usec().  Workers must not notify; WATCHDOG_PID keeps
 * an inherited WATCHDOG_USEC from applying to them.  Nothing here keeps
 * state: every call opens, sends one datagram and closes, so it is safe
 * after fork and costs nothing when NOTIFY_SOCKET is unset.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify.h"

/* "/path" or "@abstract"; other address kinds are not supported. */
static int
notify_addr(const char *path, struct sockaddr_un *sun, socklen_t *slen)
{
	size_t len = strlen(path);

	if ((path[0] != '/' && path[0] != '@') || len < 2) {
		errno = EAFNOSUPPORT;
		return -1;
	}
	if (len >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len);
	if (path[0] == '@')
		sun->sun_path[0] = '\0';
	*slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	return 0;
}

int
notify_send(const char *state)
{
	struct sockaddr_un sun;
	const char *path;
	socklen_t slen;
	ssize_t n;
	size_t len;
	int fd, saved, rc = -1;

	path = getenv("NOTIFY_SOCKET");
	if (path == NULL || path[0] == '\0')
		return 0;
	if (state == NULL || (len = strlen(state)) == 0) {
		errno = EINVAL;
		return -1;
	}
	if (notify_addr(path, &sun, &slen) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	do {
		n = sendto(fd, state, len, MSG_NOSIGNAL,
		    (const struct sockaddr *)&sun, slen);
	} while (n == -1 && errno == EINTR);
	if (n == (ssize_t)len)
		rc = 0;
	else if (n >= 0)
		errno = EMSGSIZE;
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

static int
notify_parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

uint64_t
notify_watchdog_usec(void)
{
	const char *pidstr;
	uint64_t usec, pid;

	if (notify_parse_u64(getenv("WATCHDOG_USEC"), &usec) == -1)
		return 0;
	pidstr = getenv("WATCHDOG_PID");
	if (pidstr != NULL &&
	    (notify_parse_u64(pidstr, &pid) == -1 || pid != (uint64_t)getpid()))
		return 0;
	return usec;
}

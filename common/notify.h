/*
 * notify.h - the sd_notify(3) protocol without libsystemd.
 */
#ifndef TODOD_NOTIFY_H
#define TODOD_NOTIFY_H

#include <stdint.h>

/*
 * Sends state ("READY=1\nSTATUS=serving") as one datagram to
 * $NOTIFY_SOCKET.  Returns 0, also when NOTIFY_SOCKET is unset, or -1 with
 * errno set; it does not log.
 */
int		notify_send(const char *state);

/* WATCHDOG_USEC when it is meant for this process, else 0. */
uint64_t	notify_watchdog_usec(void);

#endif

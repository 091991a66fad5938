/*
 * log.h - one-line-per-event logging to stderr for both daemons.
 *
 * Lines carry an sd-daemon priority prefix ("<3>" ...) so journald files
 * them at the right level.  Callers pass stable key=value fields in the
 * message.  Tokens and keys must never be passed here.
 */
#ifndef TODOD_LOG_H
#define TODOD_LOG_H

#include <stdarg.h>

void	log_init(const char *progname, int debug);
void	log_setdebug(int debug);
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif

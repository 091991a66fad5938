/*
 * log.c - stderr logging with sd-daemon priority prefixes.
 *
 * Used by every process.  log_warn() appends strerror(errno); the x
 * variants do not.  fatal() is for start-up and a broken environment only
 * (see STYLE.md); it exits 1 after logging.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "todod";
static int log_debugging;
static int log_journal;		/* stderr is journald: it adds name[pid] */

/* JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected us to. */
static int
log_to_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(const char *progname, int debug)
{
	const char *p;

	if (progname != NULL) {
		p = strrchr(progname, '/');
		log_progname = p != NULL ? p + 1 : progname;
	}
	log_debugging = debug;
	log_journal = log_to_journal();
}

void
log_setdebug(int debug)
{
	log_debugging = debug;
}

static void __attribute__((format(printf, 2, 0)))
vlog(int pri, const char *fmt, va_list ap, int with_errno)
{
	char msg[1024];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_journal)
		fprintf(stderr, "<%d>%s%s%s\n", pri, msg,
		    with_errno ? ": " : "", with_errno ? strerror(saved) : "");
	else if (with_errno)
		fprintf(stderr, "<%d>%s[%ld]: %s: %s\n", pri, log_progname,
		    (long)getpid(), msg, strerror(saved));
	else
		fprintf(stderr, "<%d>%s[%ld]: %s\n", pri, log_progname,
		    (long)getpid(), msg);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(4, fmt, ap, 1);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(4, fmt, ap, 0);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(6, fmt, ap, 0);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debugging)
		return;
	va_start(ap, fmt);
	vlog(7, fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(2, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(2, fmt, ap, 0);
	va_end(ap);
	exit(1);
}

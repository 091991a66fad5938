/*
 * vbench.c - a pipelined load generator for verifierd's socket.
 *
 * Reads bearer tokens (one per line) and sends each of them --repeat
 * times over --connections connections, keeping up to --window VERIFY
 * requests in flight on each, the way a busy todod worker does.  Every
 * answer is checked: it must decode, carry the id of a request that is
 * in flight on that very connection, and come once.  At the end one JSON
 * line goes to stdout with the count of each outcome and the rate.
 *
 * One process, one poll() loop over all connections, so that the client
 * takes one core and verifierd (one event loop) the other on a 2-core box.
 * Requests are numbered 1..total over all connections; a request is owned
 * by the connection it was sent on until its answer arrives.  Every loop
 * is bounded by the number of requests and by --timeout.
 *
 * Exit: 0 when every request got a well-formed answer (and, with
 * --expect-accepted, every answer was "accepted"); 1 otherwise; 2 when
 * the run could not start (tokens, connect, HELLO); 64 usage.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "proto.h"

#define VB_MAX_CONNS		1024
#define VB_MAX_TOTAL		((size_t)1 << 30)
#define VB_FRAME_MAX		(PROTO_HDR_LEN + PROTO_MAX_BODY)
#define VB_OUT_BATCH		(256 * 1024)	/* stop encoding above this */
#define VB_IN_CHUNK		(256 * 1024)
#define VB_HELLO_MS		5000
#define VB_MAX_REPORTED		5		/* errors printed to stderr */

/* clang-format off */
static const struct conf_opt vb_opts[] = {
	{ "socket", 's', CONF_STR, 0, 0, NULL, NULL, 1, "PATH",
	  "verifierd's socket" },
	{ "tokens", 'f', CONF_STR, 0, 0, NULL, NULL, 1, "FILE",
	  "bearer tokens, one per line (blank and # lines skipped)" },
	{ "window", 'w', CONF_INT, 1, 4096, "256", NULL, 0, "N",
	  "requests in flight per connection" },
	{ "repeat", 'r', CONF_INT, 1, 1000000, "1", NULL, 0, "R",
	  "send the whole token list R times" },
	{ "connections", 'n', CONF_INT, 1, VB_MAX_CONNS, "1", NULL, 0, "C",
	  "connections to verifierd, served by one poll loop" },
	{ "timeout", 'T', CONF_INT, 1, 3600, "300", NULL, 0, "SECONDS",
	  "give up (exit 1, missing answers counted) after this long" },
	{ "expect-accepted", 'a', CONF_BOOL, 0, 0, "no", NULL, 0, NULL,
	  "exit 1 unless every answer is \"accepted\"" },
};
/* clang-format on */

static const struct conf_spec vb_spec = {
	vb_opts, sizeof(vb_opts) / sizeof(vb_opts[0]), 0, "vbench",
	"--socket PATH --tokens FILE [OPTION]...", "vbench 0.1.0",
};

struct vb_conn {
	int		 fd;		/* -1 once closed */
	uint8_t		*in;
	size_t		 inlen, incap;
	uint8_t		*out;
	size_t		 outoff, outlen, outcap;
	size_t		 inflight;
};

struct vb_run {
	char		**tok;
	size_t		*toklen;
	size_t		 ntok;
	size_t		 total;		/* ntok * repeat */
	size_t		 next;		/* next request index to send */
	size_t		 window;
	uint16_t	*owner;		/* per request: conn + 1 while in flight */
	struct vb_conn	*conn;
	size_t		 nconn;
	size_t		 answers;
	size_t		 outcome[3];	/* enum verify_outcome */
	size_t		 reason[REASON_MAX + 1];
	size_t		 errors;
};

static double
vb_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void vb_error(struct vb_run *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Counts a failed check; the first few are also printed. */
static void
vb_error(struct vb_run *r, const char *fmt, ...)
{
	va_list ap;

	if (r->errors++ >= VB_MAX_REPORTED)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "vbench: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* Reads the whole file and splits it into lines in place. */
static int
vb_load_tokens(struct vb_run *r, const char *path)
{
	FILE *fp;
	char *buf = NULL, *p, *nl, *end;
	size_t cap = 0, len = 0, n;

	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	for (;;) {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 1 << 20;
			if ((buf = realloc(buf, cap + 1)) == NULL)
				return -1;
		}
		if ((n = fread(buf + len, 1, cap - len, fp)) == 0)
			break;
		len += n;
	}
	fclose(fp);
	if (buf == NULL)
		return -1;
	buf[len] = '\0';
	for (p = buf, end = buf + len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', end - p)) == NULL)
			nl = end;
		*nl = '\0';
		n = nl - p;
		while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' ||
		    p[n - 1] == '\t'))
			p[--n] = '\0';
		if (n == 0 || *p == '#')
			continue;
		if (r->ntok % 4096 == 0) {
			r->tok = realloc(r->tok, (r->ntok + 4096) *
			    sizeof(*r->tok));
			r->toklen = realloc(r->toklen, (r->ntok + 4096) *
			    sizeof(*r->toklen));
			if (r->tok == NULL || r->toklen == NULL)
				return -1;
		}
		r->tok[r->ntok] = p;
		r->toklen[r->ntok++] = n;
	}
	return 0;
}

static int
vb_write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= w;
	}
	return 0;
}

/* Reads until buf holds one whole frame, within VB_HELLO_MS. */
static int
vb_read_frame(int fd, uint8_t *buf, size_t cap, struct proto_hdr *h)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	size_t have = 0;
	ssize_t n;
	int ready;

	while ((ready = proto_frame_ready(buf, have, h)) == 0) {
		if (poll(&pfd, 1, VB_HELLO_MS) != 1)
			return -1;
		if ((n = read(fd, buf + have, cap - have)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return -1;
		}
		have += n;
	}
	return ready == 1 ? 0 : -1;
}

/* Connects and exchanges HELLOs; returns a non-blocking fd or -1. */
static int
vb_connect(const char *path)
{
	static uint8_t buf[VB_FRAME_MAX];
	struct sockaddr_un sun;
	struct proto_hello hello;
	struct proto_hdr h;
	int fd, n;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	memset(&hello, 0, sizeof(hello));
	hello.version = PROTO_VERSION;
	strcpy(hello.role, "todod");
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    (n = proto_encode_hello(buf, sizeof(buf), 0, &hello)) < 0 ||
	    vb_write_all(fd, buf, n) == -1 ||
	    vb_read_frame(fd, buf, sizeof(buf), &h) == -1 ||
	    h.type != PROTO_HELLO ||
	    proto_decode_hello(buf + PROTO_HDR_LEN, h.len, &hello) == -1 ||
	    hello.version != PROTO_VERSION ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Drops a connection; what was in flight on it stays unanswered. */
static void
vb_close(struct vb_run *r, struct vb_conn *c, const char *why)
{
	if (c->fd == -1)
		return;
	if (c->inflight > 0)
		vb_error(r, "connection closed (%s) with %zu in flight", why,
		    c->inflight);
	close(c->fd);
	c->fd = -1;
}

/* Encodes requests until the window or the output batch is full. */
static int
vb_fill(struct vb_run *r, struct vb_conn *c, size_t ci)
{
	size_t seq;
	int n;

	if (c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	while (c->inflight < r->window && r->next < r->total &&
	    c->outlen < VB_OUT_BATCH) {
		if (c->outcap - c->outlen < VB_FRAME_MAX) {
			c->outcap = c->outcap * 2 + VB_FRAME_MAX;
			if ((c->out = realloc(c->out, c->outcap)) == NULL)
				return -1;
		}
		seq = r->next++;
		n = proto_encode_verify_req(c->out + c->outlen,
		    c->outcap - c->outlen, (uint32_t)(seq + 1),
		    r->tok[seq % r->ntok], r->toklen[seq % r->ntok]);
		if (n < 0) {
			fprintf(stderr, "vbench: token %zu does not encode "
			    "(too long or not printable ASCII)\n",
			    seq % r->ntok + 1);
			return -1;
		}
		c->outlen += n;
		r->owner[seq] = (uint16_t)(ci + 1);
		c->inflight++;
	}
	return 0;
}

static void
vb_flush(struct vb_run *r, struct vb_conn *c)
{
	ssize_t n;

	while (c->fd != -1 && c->outoff < c->outlen) {
		n = write(c->fd, c->out + c->outoff, c->outlen - c->outoff);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				vb_close(r, c, "write failed");
			return;
		}
		c->outoff += n;
	}
}

/* Checks and counts one answer frame. */
static int
vb_answer(struct vb_run *r, struct vb_conn *c, size_t ci,
    const struct proto_hdr *h, const uint8_t *body)
{
	struct proto_verify_ans a;
	size_t seq = (size_t)h->id - 1;

	if (h->type != PROTO_VERIFY_ANS) {
		vb_error(r, "unexpected frame type %u", h->type);
		return -1;
	}
	if (h->id == 0 || seq >= r->next || r->owner[seq] != ci + 1) {
		vb_error(r, "answer id %u is not in flight here", h->id);
		return -1;
	}
	if (proto_decode_verify_ans(body, h->len, &a) == -1 ||
	    a.outcome > VERIFY_UNAVAILABLE || a.reason > REASON_MAX) {
		vb_error(r, "malformed answer to id %u", h->id);
		return -1;
	}
	r->owner[seq] = 0;
	c->inflight--;
	r->answers++;
	r->outcome[a.outcome]++;
	if (a.outcome != VERIFY_OK)
		r->reason[a.reason]++;
	return 0;
}

static void
vb_read(struct vb_run *r, struct vb_conn *c, size_t ci)
{
	struct proto_hdr h;
	size_t off = 0;
	ssize_t n;
	int ready;

	if (c->incap - c->inlen < VB_IN_CHUNK) {
		c->incap = c->inlen + VB_IN_CHUNK;
		if ((c->in = realloc(c->in, c->incap)) == NULL) {
			vb_close(r, c, "out of memory");
			return;
		}
	}
	n = read(c->fd, c->in + c->inlen, c->incap - c->inlen);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		vb_close(r, c, n == 0 ? "end of file" : "read failed");
		return;
	}
	if (n == -1)
		return;
	c->inlen += n;
	while ((ready = proto_frame_ready(c->in + off, c->inlen - off,
	    &h)) == 1) {
		if (vb_answer(r, c, ci, &h, c->in + off + PROTO_HDR_LEN) == -1)
			ready = -1;
		if (ready == -1)
			break;
		off += PROTO_HDR_LEN + h.len;
	}
	if (ready == -1) {
		vb_close(r, c, "bad frame");
		return;
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
}

/* The poll loop: runs until everything is answered or time is up. */
static int
vb_loop(struct vb_run *r, double deadline)
{
	struct pollfd pfd[VB_MAX_CONNS];
	struct vb_conn *c;
	size_t i, live;

	for (;;) {
		for (i = 0, live = 0; i < r->nconn; i++) {
			c = &r->conn[i];
			pfd[i].fd = c->fd;
			pfd[i].events = 0;
			if (c->fd == -1)
				continue;
			if (vb_fill(r, c, i) == -1)
				return -1;
			vb_flush(r, c);
			if (c->fd == -1 || (c->inflight == 0 &&
			    r->next >= r->total))
				continue;
			live++;
			pfd[i].events = POLLIN;
			if (c->outoff < c->outlen)
				pfd[i].events |= POLLOUT;
		}
		if (live == 0)
			return 0;
		if (vb_now() > deadline) {
			vb_error(r, "timeout with %zu answers missing",
			    r->total - r->answers);
			return 0;
		}
		if (poll(pfd, r->nconn, 200) == -1 && errno != EINTR)
			return -1;
		for (i = 0; i < r->nconn; i++) {
			c = &r->conn[i];
			if (c->fd == -1)
				continue;
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR))
				vb_read(r, c, i);
		}
	}
}

static void
vb_report(const struct vb_run *r, double secs)
{
	size_t i;
	int first = 1;

	printf("{\"answers\":%zu,\"seconds\":%.6f,\"answers_per_sec\":%.1f,"
	    "\"accepted\":%zu,\"rejected\":%zu,\"unavailable\":%zu,"
	    "\"requests\":%zu,\"missing\":%zu,\"errors\":%zu,"
	    "\"connections\":%zu,\"window\":%zu,\"reasons\":{",
	    r->answers, secs, secs > 0 ? r->answers / secs : 0.0,
	    r->outcome[VERIFY_OK], r->outcome[VERIFY_DENIED],
	    r->outcome[VERIFY_UNAVAILABLE], r->total,
	    r->total - r->answers, r->errors, r->nconn, r->window);
	for (i = 1; i <= REASON_MAX; i++) {
		if (r->reason[i] == 0)
			continue;
		printf("%s\"%s\":%zu", first ? "" : ",",
		    proto_reason_name((enum verify_reason)i), r->reason[i]);
		first = 0;
	}
	printf("}}\n");
	fflush(stdout);
}

static struct conf *
vb_conf(int argc, char *argv[], int *exitcode)
{
	enum conf_status st;
	struct conf *c;
	char err[256];

	if ((c = conf_load(&vb_spec, argc, argv, &st, err, sizeof(err))) !=
	    NULL)
		return c;
	if (st == CONF_HELP)
		conf_usage(&vb_spec, stdout);
	else if (st == CONF_VERSION)
		printf("%s\n", vb_spec.version);
	else
		fprintf(stderr, "vbench: %s\n", err);
	*exitcode = st == CONF_HELP || st == CONF_VERSION ? 0 :
	    st == CONF_EUSAGE ? CONF_EXIT_USAGE : CONF_EXIT_CONFIG;
	return NULL;
}

static int
vb_setup(struct vb_run *r, const struct conf *cf)
{
	size_t i, repeat = (size_t)conf_int(cf, "repeat");

	if (vb_load_tokens(r, conf_str(cf, "tokens")) == -1 || r->ntok == 0) {
		fprintf(stderr, "vbench: no tokens read from %s\n",
		    conf_str(cf, "tokens"));
		return -1;
	}
	if (r->ntok > VB_MAX_TOTAL / repeat) {
		fprintf(stderr, "vbench: more than %zu requests\n",
		    VB_MAX_TOTAL);
		return -1;
	}
	r->total = r->ntok * repeat;
	r->window = (size_t)conf_int(cf, "window");
	r->nconn = (size_t)conf_int(cf, "connections");
	r->owner = calloc(r->total, sizeof(*r->owner));
	r->conn = calloc(r->nconn, sizeof(*r->conn));
	if (r->owner == NULL || r->conn == NULL)
		return -1;
	for (i = 0; i < r->nconn; i++) {
		if ((r->conn[i].fd = vb_connect(conf_str(cf, "socket"))) ==
		    -1) {
			fprintf(stderr, "vbench: cannot connect or HELLO to "
			    "%s: %s\n", conf_str(cf, "socket"),
			    errno ? strerror(errno) : "protocol error");
			return -1;
		}
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	struct vb_run r;
	struct conf *cf;
	double t0, secs;
	int rc = 0, ok;

	if ((cf = vb_conf(argc, argv, &rc)) == NULL)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	memset(&r, 0, sizeof(r));
	if (vb_setup(&r, cf) == -1)
		return 2;
	t0 = vb_now();
	if (vb_loop(&r, t0 + conf_int(cf, "timeout")) == -1) {
		fprintf(stderr, "vbench: %s\n", strerror(errno));
		return 2;
	}
	secs = vb_now() - t0;
	vb_report(&r, secs);
	ok = r.errors == 0 && r.answers == r.total;
	if (conf_bool(cf, "expect-accepted") &&
	    r.outcome[VERIFY_OK] != r.total) {
		fprintf(stderr, "vbench: %zu of %zu answers not accepted\n",
		    r.total - r.outcome[VERIFY_OK], r.total);
		ok = 0;
	}
	conf_free(cf);
	return ok ? 0 : 1;
}

/*
 * todo_verify.c - ask a running verifierd about one token.
 *
 * The operator's "why is this token refused?" tool: it speaks the same
 * protocol as a todod worker and prints verifierd's answer as one JSON
 * object.  Exit 0 accepted, 1 rejected, 2 unavailable (also when
 * verifierd cannot be reached), 64 usage.  The token is never printed.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "conf.h"
#include "proto.h"

#define TV_TIMEOUT_MS	15000

static const struct conf_opt tv_opts[] = {
	{ "socket", 's', CONF_STR, 0, 0, "/run/todo-verifierd/verifier.sock",
	  NULL, 0, "PATH", "verifierd's socket" },
};

static const struct conf_spec tv_spec = {
	tv_opts, 1, 1, "todo-verify", "[--socket PATH] TOKEN|-  (- reads the "
	"token from standard input, keeping it out of the process list)",
	"todo-verify 0.1.0",
};

static int
tv_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
tv_write_all(int fd, const uint8_t *p, size_t n)
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

static int
tv_read_all(int fd, uint8_t *p, size_t n)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	ssize_t r;

	while (n > 0) {
		if (poll(&pfd, 1, TV_TIMEOUT_MS) != 1)
			return -1;
		if ((r = read(fd, p, n)) <= 0) {
			if (r == -1 && errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= r;
	}
	return 0;
}

/* Reads one frame into buf; 0 or -1. */
static int
tv_read_frame(int fd, uint8_t *buf, struct proto_hdr *h)
{
	if (tv_read_all(fd, buf, PROTO_HDR_LEN) == -1 ||
	    proto_hdr_decode(buf, h) == -1)
		return -1;
	return tv_read_all(fd, buf + PROTO_HDR_LEN, h->len);
}

/* The next frame that is not a FLUSH (meant for caching peers). */
static int
tv_read_answer(int fd, uint8_t *buf, struct proto_hdr *h)
{
	do {
		if (tv_read_frame(fd, buf, h) == -1)
			return -1;
	} while (h->type == PROTO_FLUSH);
	return 0;
}

static int
tv_ask(const char *path, const char *token, struct proto_verify_ans *a,
    const char **why)
{
	static uint8_t buf[PROTO_HDR_LEN + PROTO_MAX_BODY];
	struct proto_hello hello;
	struct proto_hdr h;
	int fd, n, rv = -1;

	if ((fd = tv_connect(path)) == -1) {
		*why = strerror(errno);
		return -1;
	}
	*why = "protocol error";
	memset(&hello, 0, sizeof(hello));
	hello.version = PROTO_VERSION;
	strcpy(hello.role, "todo-verify");
	if ((n = proto_encode_hello(buf, sizeof(buf), 1, &hello)) < 0 ||
	    tv_write_all(fd, buf, n) == -1 ||
	    tv_read_frame(fd, buf, &h) == -1 || h.type != PROTO_HELLO ||
	    proto_decode_hello(buf + PROTO_HDR_LEN, h.len, &hello) == -1)
		goto out;
	if ((n = proto_encode_verify_req(buf, sizeof(buf), 2, token,
	    strlen(token))) < 0) {
		*why = "token too long or not printable ASCII";
		goto out;
	}
	if (tv_write_all(fd, buf, n) == -1 || tv_read_answer(fd, buf, &h) == -1 ||
	    h.type != PROTO_VERIFY_ANS ||
	    h.id != 2 ||
	    proto_decode_verify_ans(buf + PROTO_HDR_LEN, h.len, a) == -1)
		goto out;
	rv = 0;
out:
	close(fd);
	return rv;
}

/* One line from standard input, without its newline; NULL if none. */
static const char *
tv_read_stdin(void)
{
	static char line[PROTO_MAX_TOKEN + 2];
	size_t n;

	if (fgets(line, sizeof(line), stdin) == NULL)
		return NULL;
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	return line;
}

static const char *
tv_outcome(int outcome)
{
	switch (outcome) {
	case VERIFY_OK:
		return "accepted";
	case VERIFY_DENIED:
		return "rejected";
	default:
		return "unavailable";
	}
}

static void
tv_print(const struct proto_verify_ans *a)
{
	json_t *o = json_object();

	json_object_set_new(o, "outcome", json_string(tv_outcome(a->outcome)));
	json_object_set_new(o, "reason",
	    json_string(proto_reason_name(a->reason)));
	json_object_set_new(o, "detail",
	    json_string(proto_reason_detail(a->reason)));
	if (a->outcome == VERIFY_OK) {
		json_object_set_new(o, "user", json_integer(a->user));
		json_object_set_new(o, "iss", json_string(a->iss));
		json_object_set_new(o, "sub", json_string(a->sub));
		json_object_set_new(o, "email", json_string(a->email));
		json_object_set_new(o, "scope", json_string(a->scope));
		json_object_set_new(o, "exp", json_integer(a->exp));
	} else if (a->outcome == VERIFY_UNAVAILABLE)
		json_object_set_new(o, "retry_after",
		    json_integer(a->retry_after));
	json_dumpf(o, stdout, JSON_PRESERVE_ORDER | JSON_COMPACT);
	putchar('\n');
	json_decref(o);
}

int
main(int argc, char *argv[])
{
	struct proto_verify_ans a;
	enum conf_status st;
	struct conf *c;
	const char *why, *token;
	char err[256];

	signal(SIGPIPE, SIG_IGN);
	c = conf_load(&tv_spec, argc, argv, &st, err, sizeof(err));
	if (c == NULL) {
		if (st == CONF_HELP || st == CONF_VERSION) {
			if (st == CONF_HELP)
				conf_usage(&tv_spec, stdout);
			else
				printf("%s\n", tv_spec.version);
			return 0;
		}
		fprintf(stderr, "todo-verify: %s\n", err);
		return st == CONF_EUSAGE ? CONF_EXIT_USAGE : CONF_EXIT_CONFIG;
	}
	if (conf_npositional(c) != 1) {
		fprintf(stderr, "todo-verify: exactly one TOKEN expected\n");
		return CONF_EXIT_USAGE;
	}
	token = conf_positional(c, 0);
	if (strcmp(token, "-") == 0 && (token = tv_read_stdin()) == NULL) {
		fprintf(stderr, "todo-verify: cannot read a token from "
		    "standard input\n");
		return CONF_EXIT_USAGE;
	}
	memset(&a, 0, sizeof(a));
	if (!proto_token_valid(token, strlen(token))) {
		/* What todod refuses before asking: never a JWS. */
		a.outcome = VERIFY_DENIED;
		a.reason = REASON_MALFORMED;
		tv_print(&a);
		conf_free(c);
		return 1;
	}
	if (tv_ask(conf_str(c, "socket"), token, &a, &why) == -1) {
		printf("{\"outcome\":\"unavailable\",\"reason\":\"unavailable\","
		    "\"detail\":\"verifierd not reachable: %s\"}\n", why);
		return 2;
	}
	tv_print(&a);
	conf_free(c);
	return a.outcome == VERIFY_OK ? 0 : a.outcome == VERIFY_DENIED ? 1 : 2;
}

/*
 * verifierd.c - the token-verification sidecar: configuration, start-up,
 * signals, reload.
 *
 * Start-up order: parse and validate the configuration; bind the socket
 * (while still privileged); drop to --user; open the state directory
 * (users, persisted keys); load the persisted keys; start fetching the
 * JWKS; serve.  SIGTERM/SIGINT stop the loop and exit 0; SIGHUP builds a
 * new configuration, keeps the old one if the new one is bad, and
 * refetches keys.  READY=1 is sent once keys are loaded.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <sodium.h>

#include "conf.h"
#include "fetch.h"
#include "jwk.h"
#include "jwks.h"
#include "log.h"
#include "notify.h"
#include "privdrop.h"
#include "proto.h"
#include "provision.h"
#include "server.h"
#include "users.h"
#include "vcache.h"
#include "verify.h"

#define VERSION		"0.1.0"
#define JWKS_MAX_DOC	(256 * 1024)
#define URL_MAX		512

static const struct conf_opt verifierd_opts[] = {
	{ "socket", 's', CONF_STR, 0, 0, "/run/todo-verifierd/verifier.sock",
	  NULL, 0, "PATH", "Unix socket to serve todod workers on" },
	{ "domain", 'D', CONF_STR, 0, 0, NULL, "AUTH0_DOMAIN", 0, "HOST[:PORT]",
	  "IdP tenant domain; issuer is https://DOMAIN/ (required)" },
	{ "audience", 'a', CONF_STR, 0, 0, NULL, "AUTH0_API_AUDIENCE", 0, "AUD",
	  "API audience that access tokens must carry (required)" },
	{ "ca-file", 0, CONF_STR, 0, 0, NULL, NULL, 0, "PEM",
	  "trust this CA for the IdP instead of the system store" },
	{ "state-dir", 0, CONF_STR, 0, 0, "/var/lib/todo-verifierd", NULL, 0,
	  "DIR", "users database and last good JWKS" },
	{ "user", 'u', CONF_STR, 0, 0, NULL, NULL, 0, "USER",
	  "drop privileges to USER when started as root" },
	{ "algorithms", 0, CONF_STR, 0, 0, "RS256", NULL, 0, "ALG,...",
	  "allowed JWS algorithms (RS256/384/512, PS256/384/512, ES256/384, "
	  "EdDSA)" },
	{ "leeway", 0, CONF_INT, 0, 300, "30", NULL, 0, "SECONDS",
	  "clock skew allowed for exp, nbf and iat" },
	{ "allow-uid", 0, CONF_LIST, 0, 0, NULL, NULL, 0, "UID|USER",
	  "peer uid allowed to connect (default: own uid and root)" },
	{ "allow-gid", 0, CONF_LIST, 0, 0, NULL, NULL, 0, "GID|GROUP",
	  "peer primary gid allowed to connect" },
	{ "jwks-min-ttl", 0, CONF_INT, 1, 86400, "60", NULL, 0, "SECONDS",
	  "lower bound on the JWKS refresh period" },
	{ "jwks-max-ttl", 0, CONF_INT, 1, 604800, "86400", NULL, 0, "SECONDS",
	  "upper bound on the JWKS refresh period" },
	{ "jwks-cooldown", 0, CONF_INT, 1, 86400, "30", NULL, 0, "SECONDS",
	  "at most one refetch for unknown kids per this period" },
	{ "fetch-timeout", 0, CONF_INT, 1, 120, "5", NULL, 0, "SECONDS",
	  "time limit for one request to the IdP" },
	{ "cache-size", 0, CONF_INT, 16, 10000000, "200000", NULL, 0, "N",
	  "verified tokens kept in memory" },
	{ "cache-ttl", 0, CONF_INT, 1, 86400, "600", NULL, 0, "SECONDS",
	  "longest time a verified token is trusted without a recheck" },
	{ "negative-ttl", 0, CONF_INT, 1, 3600, "30", NULL, 0, "SECONDS",
	  "how long a refused token's verdict is remembered" },
	{ "debug", 'd', CONF_BOOL, 0, 0, "no", NULL, 0, NULL,
	  "log debug messages" },
};

static const struct conf_spec verifierd_spec = {
	verifierd_opts, sizeof(verifierd_opts) / sizeof(verifierd_opts[0]),
	0, "verifierd", "[OPTION]...", "verifierd " VERSION,
};

/* Everything derived from one configuration, checked before use. */
struct settings {
	char			 issuer[URL_MAX];
	char			 jwks_url[URL_MAX];
	char			 userinfo_url[URL_MAX];
	char			 jwks_path[PATH_MAX];
	unsigned		 alg_mask;
	uid_t			*uids;
	size_t			 nuids;
	gid_t			*gids;
	size_t			 ngids;
};

struct verifierd {
	int			 argc;
	char			**argv;
	struct conf		*conf;
	struct settings		 set;
	struct event_base	*base;
	struct fetcher		*fetcher;
	struct jwks		*jwks;
	struct vcache		*vc;
	struct udb		*udb;
	struct provisioner	*prov;
	struct verifier		*verifier;
	struct server		*server;
	struct event		*tick;
	int			 ready;
	uint64_t		 watchdog_usec;
};

/* HOST[:PORT] with a DNS name or IPv4 address; nothing else. */
static int
valid_domain(const char *d)
{
	const char *p = d, *colon = strchr(d, ':');
	size_t n = colon != NULL ? (size_t)(colon - d) : strlen(d);
	long port;
	char *end;

	if (n == 0 || n > 253)
		return 0;
	for (; p < d + n; p++)
		if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
			return 0;
	if (colon == NULL)
		return 1;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	return colon[1] != '\0' && *end == '\0' && errno == 0 &&
	    port >= 1 && port <= 65535;
}

/* A numeric id, or a user (uid) / group (gid) name; -1 if neither. */
static long
resolve_id(const char *s, int is_group)
{
	struct passwd *pw;
	struct group *gr;
	unsigned long v;
	char *end;

	if (s[0] >= '0' && s[0] <= '9') {
		errno = 0;
		v = strtoul(s, &end, 10);
		return *end == '\0' && errno == 0 && v < UINT_MAX ? (long)v :
		    -1;
	}
	if (is_group)
		return (gr = getgrnam(s)) != NULL ? (long)gr->gr_gid : -1;
	return (pw = getpwnam(s)) != NULL ? (long)pw->pw_uid : -1;
}

static int
parse_ids(const struct conf *c, const char *name, unsigned **out,
    size_t *n, char *err, size_t errlen)
{
	const char *const *items;
	size_t i, k;
	long v;

	k = conf_list(c, name, &items);
	*out = NULL;
	*n = 0;
	if (k == 0)
		return 0;
	if ((*out = calloc(k, sizeof(**out))) == NULL)
		return -1;
	for (i = 0; i < k; i++) {
		if ((v = resolve_id(items[i], name[6] == 'g')) == -1) {
			snprintf(err, errlen, "--%s: no such %s: %s", name,
			    name[6] == 'g' ? "group" : "user", items[i]);
			free(*out);
			*out = NULL;
			return -1;
		}
		(*out)[i] = v;
	}
	*n = k;
	return 0;
}

static void
settings_clear(struct settings *s)
{
	free(s->uids);
	free(s->gids);
	memset(s, 0, sizeof(*s));
}

/* Derives and checks everything; 0, or -1 with err set (exit 78). */
static int
settings_build(const struct conf *c, struct settings *s, char *err,
    size_t errlen)
{
	const char *d = conf_str(c, "domain");

	memset(s, 0, sizeof(*s));
	/* A tenant not configured yet is a configuration matter: 78. */
	if (d == NULL) {
		snprintf(err, errlen, "no tenant domain: set --domain, the "
		    "domain key or AUTH0_DOMAIN (e.g. in /etc/todod/auth0.env)");
		return -1;
	}
	if (conf_str(c, "audience") == NULL) {
		snprintf(err, errlen, "no API audience: set --audience, the "
		    "audience key or AUTH0_API_AUDIENCE (e.g. in "
		    "/etc/todod/auth0.env)");
		return -1;
	}
	if (!valid_domain(d)) {
		snprintf(err, errlen, "--domain: not HOST[:PORT]: %s", d);
		return -1;
	}
	if (conf_str(c, "audience")[0] == '\0') {
		snprintf(err, errlen, "--audience: must not be empty");
		return -1;
	}
	snprintf(s->issuer, sizeof(s->issuer), "https://%s/", d);
	snprintf(s->jwks_url, sizeof(s->jwks_url),
	    "https://%s/.well-known/jwks.json", d);
	snprintf(s->userinfo_url, sizeof(s->userinfo_url),
	    "https://%s/userinfo", d);
	if (snprintf(s->jwks_path, sizeof(s->jwks_path), "%s/jwks.json",
	    conf_str(c, "state-dir")) >= (int)sizeof(s->jwks_path)) {
		snprintf(err, errlen, "--state-dir: path too long");
		return -1;
	}
	if (jose_alg_mask_parse(conf_str(c, "algorithms"), &s->alg_mask)
	    == -1) {
		snprintf(err, errlen, "--algorithms: unsupported list: %s "
		    "(want RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,"
		    "EdDSA)", conf_str(c, "algorithms"));
		return -1;
	}
	if (conf_int(c, "jwks-min-ttl") > conf_int(c, "jwks-max-ttl")) {
		snprintf(err, errlen, "--jwks-min-ttl exceeds --jwks-max-ttl");
		return -1;
	}
	if (parse_ids(c, "allow-uid", &s->uids, &s->nuids, err, errlen) == -1 ||
	    parse_ids(c, "allow-gid", &s->gids, &s->ngids, err, errlen) == -1) {
		settings_clear(s);
		return -1;
	}
	return 0;
}

/* Loads argv into a new conf + settings; exits only when start is set. */
static struct conf *
load_config(int argc, char **argv, struct settings *s, int start)
{
	enum conf_status st;
	struct conf *c;
	char err[512];

	c = conf_load(&verifierd_spec, argc, argv, &st, err, sizeof(err));
	if (c == NULL && start) {
		if (st == CONF_HELP) {
			conf_usage(&verifierd_spec, stdout);
			exit(0);
		}
		if (st == CONF_VERSION) {
			printf("%s\n", verifierd_spec.version);
			exit(0);
		}
		fprintf(stderr, "verifierd: %s\n", err);
		if (st == CONF_EUSAGE)
			fprintf(stderr, "Try 'verifierd --help'.\n");
		exit(st == CONF_EUSAGE ? CONF_EXIT_USAGE : CONF_EXIT_CONFIG);
	}
	if (c == NULL) {
		log_warnx("reload: %s; keeping the running configuration",
		    err);
		return NULL;
	}
	if (settings_build(c, s, err, sizeof(err)) == -1) {
		conf_free(c);
		if (start) {
			fprintf(stderr, "verifierd: %s\n", err);
			exit(CONF_EXIT_CONFIG);
		}
		log_warnx("reload: %s; keeping the running configuration",
		    err);
		return NULL;
	}
	return c;
}

static void
fill_confs(struct verifierd *vd, struct verifier_conf *vc,
    struct jwks_conf *jc, struct server_acl *acl)
{
	static uid_t self[2];
	const struct conf *c = vd->conf;

	vc->issuer = vd->set.issuer;
	vc->audience = conf_str(c, "audience");
	vc->alg_mask = vd->set.alg_mask;
	vc->leeway = conf_int(c, "leeway");
	vc->cache_ttl = conf_int(c, "cache-ttl");
	vc->neg_ttl = conf_int(c, "negative-ttl");
	jc->url = vd->set.jwks_url;
	jc->state_path = vd->set.jwks_path;
	jc->min_ttl = conf_int(c, "jwks-min-ttl");
	jc->max_ttl = conf_int(c, "jwks-max-ttl");
	jc->cooldown = conf_int(c, "jwks-cooldown");
	if (vd->set.nuids == 0 && vd->set.ngids == 0) {
		self[0] = geteuid();
		self[1] = 0;
		acl->uids = self;
		acl->nuids = 2;
	} else {
		acl->uids = vd->set.uids;
		acl->nuids = vd->set.nuids;
	}
	acl->gids = vd->set.gids;
	acl->ngids = vd->set.ngids;
}

static int
same_opt(const struct conf *a, const struct conf *b, const char *name)
{
	const char *x = conf_str(a, name), *y = conf_str(b, name);

	if (x == NULL || y == NULL)
		return x == y;
	return strcmp(x, y) == 0;
}

static void
reload(struct verifierd *vd)
{
	struct verifier_conf vc;
	struct jwks_conf jc;
	struct server_acl acl;
	struct settings s;
	struct conf *c;

	notify_send("RELOADING=1");
	if ((c = load_config(vd->argc, vd->argv, &s, 0)) == NULL)
		goto out;
	if (!same_opt(c, vd->conf, "socket") ||
	    !same_opt(c, vd->conf, "domain") ||
	    !same_opt(c, vd->conf, "state-dir") ||
	    !same_opt(c, vd->conf, "user")) {
		log_warnx("reload: socket, domain, state-dir and user need a "
		    "restart; keeping the running configuration");
		conf_free(c);
		settings_clear(&s);
		goto out;
	}
	conf_free(vd->conf);
	settings_clear(&vd->set);
	vd->conf = c;
	vd->set = s;
	fill_confs(vd, &vc, &jc, &acl);
	if (verifier_set_conf(vd->verifier, &vc) == -1 ||
	    server_set_acl(vd->server, &acl) == -1)
		log_warnx("reload: out of memory, settings partly applied");
	jwks_set_conf(vd->jwks, &jc);
	/* The policy may have changed: no verdict outlives it. */
	vc_clear(vd->vc);
	server_flush_all(vd->server);
	log_setdebug(conf_bool(c, "debug"));
	jwks_refresh(vd->jwks);
	log_info("reload: configuration applied");
out:
	notify_send("READY=1");
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct verifierd *vd = arg;

	if (sig == SIGHUP) {
		reload(vd);
		return;
	}
	log_info("signal %d: shutting down", (int)sig);
	notify_send("STOPPING=1");
	event_base_loopbreak(vd->base);
}

/* Readiness and the watchdog: both prove the loop is turning. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct verifierd *vd = arg;

	if (!vd->ready && jwks_ready(vd->jwks)) {
		vd->ready = 1;
		notify_send("READY=1\nSTATUS=keys loaded, serving");
		log_info("ready keys=%zu", jwks_count(vd->jwks));
	}
	if (vd->watchdog_usec != 0)
		notify_send("WATCHDOG=1");
}

static void
start_tick(struct verifierd *vd)
{
	struct timeval tv = { 0, 250000 };

	vd->watchdog_usec = notify_watchdog_usec();
	if (vd->watchdog_usec != 0 && vd->watchdog_usec / 4 < 250000) {
		tv.tv_sec = vd->watchdog_usec / 4 / 1000000;
		tv.tv_usec = vd->watchdog_usec / 4 % 1000000;
	}
	vd->tick = event_new(vd->base, -1, EV_PERSIST, tick_cb, vd);
	if (vd->tick == NULL || event_add(vd->tick, &tv) == -1)
		fatalx("cannot start timer");
}

static void
add_signal(struct verifierd *vd, int sig)
{
	struct event *ev;

	ev = evsignal_new(vd->base, sig, signal_cb, vd);
	if (ev == NULL || event_add(ev, NULL) == -1)
		fatalx("cannot watch signal %d", sig);
}

/* Binds the socket, then gives up root for good if we had it. */
static int
bind_and_drop(struct verifierd *vd)
{
	const char *user = conf_str(vd->conf, "user");
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	char err[256];
	int fd;

	if (user != NULL && geteuid() == 0 &&
	    privdrop_lookup(user, &uid, &gid, err, sizeof(err)) == -1) {
		fprintf(stderr, "verifierd: --user: %s\n", err);
		exit(CONF_EXIT_CONFIG);
	}
	if ((fd = server_bind(conf_str(vd->conf, "socket"), uid, gid)) == -1)
		fatalx("cannot serve socket %s", conf_str(vd->conf, "socket"));
	if (geteuid() == 0 && user != NULL)
		privdrop_to(user, uid, gid);
	else {
		if (geteuid() == 0)
			log_warnx("running as root; use --user");
		privdrop_no_new_privs();
	}
	return fd;
}

static void
open_state(struct verifierd *vd)
{
	const char *dir = conf_str(vd->conf, "state-dir");
	char err[256];

	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		fatal("cannot create state directory %s", dir);
	if ((vd->udb = udb_open(dir, err, sizeof(err))) == NULL)
		fatalx("cannot open users database in %s: %s", dir, err);
}

/*
 * A key left the JWKS: verdicts reached with it go, here and in every
 * worker's cache.
 */
static void
keys_dropped_cb(const char *kid, void *arg)
{
	struct verifierd *vd = arg;

	verifier_drop_kid(kid, vd->vc);
	server_flush_all(vd->server);
}

static void
stat_add(struct proto_stats *st, const char *name, uint64_t v)
{
	if (st->n >= PROTO_STATS_MAX)
		return;
	snprintf(st->item[st->n].name, sizeof(st->item[st->n].name), "%s",
	    name);
	st->item[st->n++].value = v;
}

/* Counters for todod's /metrics (proto STATS); names are stable. */
static void
stats_cb(struct proto_stats *st, void *arg)
{
	static const char *const reasons[] = { "none", "malformed", "expired",
	    "claims", "unknown_kid", "no_email", "unavailable", "other" };
	struct verifierd *vd = arg;
	const struct verify_stats *vs = verifier_stats(vd->verifier);
	uint64_t a, b, c;
	char name[PROTO_STAT_NAME_MAX + 1];
	long age = jwks_age(vd->jwks);
	size_t i;

	stat_add(st, "requests_total", vs->requests);
	stat_add(st, "accepted_total", vs->accepted);
	stat_add(st, "unavailable_total", vs->unavailable);
	for (i = 1; i < 6; i++) {
		snprintf(name, sizeof(name), "denied_%s_total", reasons[i]);
		stat_add(st, name, vs->denied[i]);
	}
	vc_stats(vd->vc, &a, &b, &c);
	stat_add(st, "cache_hits_total", a);
	stat_add(st, "cache_misses_total", b);
	stat_add(st, "cache_evictions_total", c);
	stat_add(st, "cache_entries", vc_count(vd->vc));
	jwks_stats(vd->jwks, &a, &b, &c);
	stat_add(st, "jwks_fetch_ok_total", a);
	stat_add(st, "jwks_fetch_failed_total", b);
	stat_add(st, "jwks_kid_refetch_total", c);
	stat_add(st, "jwks_keys", jwks_count(vd->jwks));
	stat_add(st, "jwks_age_seconds", age < 0 ? 0 : (uint64_t)age);
	stat_add(st, "userinfo_calls_total", prov_calls(vd->prov));
	stat_add(st, "users", udb_count(vd->udb));
}

static void
build(struct verifierd *vd, int fd)
{
	struct verifier_conf vc;
	struct jwks_conf jc;
	struct server_acl acl;

	fill_confs(vd, &vc, &jc, &acl);
	if ((vd->base = event_base_new()) == NULL)
		fatalx("cannot create event loop");
	vd->fetcher = fetch_new(vd->base, conf_str(vd->conf, "ca-file"),
	    conf_int(vd->conf, "fetch-timeout"), JWKS_MAX_DOC);
	vd->vc = vc_new(conf_int(vd->conf, "cache-size"));
	if (vd->fetcher == NULL || vd->vc == NULL)
		fatalx("out of memory");
	vd->prov = prov_new(vd->fetcher, vd->udb, vd->set.userinfo_url);
	vd->jwks = jwks_new(vd->base, vd->fetcher, &jc, keys_dropped_cb, vd);
	if (vd->prov == NULL || vd->jwks == NULL)
		fatalx("out of memory");
	vd->verifier = verifier_new(vd->jwks, vd->vc, vd->udb, vd->prov, &vc);
	if (vd->verifier == NULL)
		fatalx("out of memory");
	if ((vd->server = server_new(vd->base, fd, vd->verifier, &acl)) == NULL)
		fatalx("cannot serve socket");
	server_set_stats_cb(vd->server, stats_cb, vd);
}

int
main(int argc, char *argv[])
{
	struct verifierd vd;
	int fd;

	memset(&vd, 0, sizeof(vd));
	log_init(argv[0], 0);
	vd.argc = argc;
	vd.argv = argv;
	vd.conf = load_config(argc, argv, &vd.set, 1);
	if (conf_check_only(vd.conf)) {
		printf("verifierd: configuration OK\n");
		return 0;
	}
	log_setdebug(conf_bool(vd.conf, "debug"));
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("cannot initialise crypto libraries");
	fd = bind_and_drop(&vd);
	open_state(&vd);
	build(&vd, fd);
	jwks_load_state(vd.jwks);
	jwks_refresh(vd.jwks);
	add_signal(&vd, SIGTERM);
	add_signal(&vd, SIGINT);
	add_signal(&vd, SIGHUP);
	start_tick(&vd);
	log_info("serving socket=%s issuer=%s", conf_str(vd.conf, "socket"),
	    vd.set.issuer);
	event_base_dispatch(vd.base);
	unlink(conf_str(vd.conf, "socket"));
	server_free(vd.server);
	udb_close(vd.udb);
	log_info("stopped");
	return 0;
}

/*
 * test_conf.c - unit tests for common/: conf (option table, command line,
 * config file, environment, generated help), notify (sd_notify datagrams,
 * watchdog variables) and privdrop (user lookup; the drop itself in a
 * forked child when running as root).
 *
 * Table-driven: each case states what it feeds in and what it wants back,
 * and every rejection has an accepted twin built the same way.  Config
 * files and sockets live in a private temporary directory.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "notify.h"
#include "privdrop.h"

#define ENV_DOMAIN "TEST_CONF_DOMAIN"
#define ENV_WORKERS "TEST_CONF_WORKERS"

/* clang-format off */
static const struct conf_opt test_opts[] = {
	{ "domain", 'd', CONF_STR, 0, 0, NULL, ENV_DOMAIN, 1, "HOST",
	    "identity provider host" },
	{ "workers", 'w', CONF_INT, 1, 64, "2", ENV_WORKERS, 0, "N",
	    "worker processes" },
	{ "state-dir", 0, CONF_STR, 0, 0, "/var/lib/test", NULL, 0, "DIR",
	    "state directory" },
	{ "debug", 'v', CONF_BOOL, 0, 0, NULL, NULL, 0, NULL,
	    "log debug messages" },
	{ "allow-uid", 'u', CONF_LIST, 0, 0, NULL, NULL, 0, "UID",
	    "peer uid allowed to connect over the socket; the owner of the "
	    "socket directory is always allowed, everyone else is refused "
	    "with a log line" },
	{ "leeway", 0, CONF_INT, -5, 300, NULL, NULL, 0, "SECONDS",
	    "clock skew allowed" },
};
/* clang-format on */

#define NOPTS (sizeof(test_opts) / sizeof(test_opts[0]))

static char tmpdir[] = "/tmp/test_conf.XXXXXX";
static char cfpath[PATH_MAX];

static struct conf_spec
test_spec(size_t max_positional)
{
	struct conf_spec spec = {test_opts, NOPTS, max_positional, "testd",
	    "[OPTION]... [TOKEN]", "testd 1.0"};

	return spec;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp;

	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

/* Copies tmpl to out with every "{f}" replaced by the config file path. */
static void
expand(const char *tmpl, char *out, size_t len)
{
	const char *p;
	size_t used = 0, n;

	out[0] = '\0';
	while ((p = strstr(tmpl, "{f}")) != NULL) {
		n = (size_t)snprintf(out + used, len - used, "%.*s%s",
		    (int)(p - tmpl), tmpl, cfpath);
		assert_true(used + n < len);
		used += n;
		tmpl = p + 3;
	}
	assert_true(used + strlen(tmpl) < len);
	strcpy(out + used, tmpl);
}

static void
setenv_or_unset(const char *name, const char *value)
{
	if (value != NULL)
		assert_int_equal(setenv(name, value, 1), 0);
	else
		assert_int_equal(unsetenv(name), 0);
}

/* "|domain=x|workers=2|...|": every value the accessors return. */
static void
dump(const struct conf *conf, char *out, size_t len)
{
	const char *const *items;
	const char *s;
	size_t i, n;
	FILE *fp;

	fp = fmemopen(out, len, "w");
	assert_non_null(fp);
	s = conf_str(conf, "domain");
	fprintf(fp, "|domain=%s", s != NULL ? s : "-");
	fprintf(fp, "|workers=%lld", conf_int(conf, "workers"));
	s = conf_str(conf, "state-dir");
	fprintf(fp, "|state-dir=%s", s != NULL ? s : "-");
	fprintf(fp, "|debug=%d|allow-uid=", conf_bool(conf, "debug"));
	n = conf_list(conf, "allow-uid", &items);
	for (i = 0; i < n; i++)
		fprintf(fp, "%s%s", i > 0 ? "," : "", items[i]);
	assert_null(items[n]);
	if (conf_isset(conf, "leeway"))
		fprintf(fp, "|leeway=%lld", conf_int(conf, "leeway"));
	else
		fprintf(fp, "|leeway=-");
	fprintf(fp, "|check=%d|pos=", conf_check_only(conf));
	for (i = 0; i < conf_npositional(conf); i++)
		fprintf(fp, "%s%s", i > 0 ? "," : "", conf_positional(conf, i));
	fprintf(fp, "|");
	assert_int_equal(fclose(fp), 0);
}

/* Each "|"-separated field of want must be a whole field of got. */
static void
check_fields(const char *name, const char *got, const char *want)
{
	char field[256];
	const char *p, *bar;

	for (p = want; *p != '\0'; p = *bar != '\0' ? bar + 1 : bar) {
		bar = strchrnul(p, '|');
		snprintf(field, sizeof(field), "|%.*s|", (int)(bar - p), p);
		if (strstr(got, field) == NULL)
			fail_msg("%s: got \"%s\", want field \"%s\"", name, got,
			    field);
	}
}

struct load_case {
	const char *name;
	const char *file; /* config file text, or NULL */
	const char *env_domain;
	const char *env_workers;
	const char *args[8]; /* "{f}": the config file */
	size_t max_positional;
	enum conf_status want_st;
	const char *want; /* fields, or the error */
};

/* clang-format off */
static const struct load_case load_cases[] = {
	/* Precedence: command line > file > environment > default. */
	{ "default", NULL, NULL, NULL, { "-d", "x" }, 0, CONF_OK,
	    "domain=x|workers=2|state-dir=/var/lib/test|debug=0|allow-uid=|"
	    "leeway=-|check=0|pos=" },
	{ "env over default", NULL, NULL, "3", { "-d", "x" }, 0, CONF_OK,
	    "workers=3" },
	{ "file over env", "workers = 4\n", NULL, "3",
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "workers=4" },
	{ "cli over file", "workers = 4\n", NULL, "3",
	    { "-c", "{f}", "--workers", "5", "-d", "x" }, 0, CONF_OK,
	    "workers=5" },
	{ "cli over file, option first", "workers = 4\n", NULL, "3",
	    { "--workers=5", "--config={f}", "-d", "x" }, 0, CONF_OK,
	    "workers=5" },
	{ "cli over env", NULL, "env.example", NULL, { "-d", "cli.example" },
	    0, CONF_OK, "domain=cli.example" },
	{ "env satisfies required", NULL, "env.example", NULL, { NULL }, 0,
	    CONF_OK, "domain=env.example" },
	{ "empty env is unset", NULL, "", NULL, { NULL }, 0, CONF_EUSAGE,
	    "missing required option --domain" },
	{ "file satisfies required", "domain = f.example\n", NULL, NULL,
	    { "-c", "{f}" }, 0, CONF_OK, "domain=f.example" },
	{ "missing required", NULL, NULL, NULL, { "-w", "3" }, 0, CONF_EUSAGE,
	    "missing required option --domain" },

	/* Integers: strict, bounds named. */
	{ "file int junk", "domain = x\nworkers = 4x\n", NULL, NULL,
	    { "-c", "{f}" }, 0, CONF_ECONFIG,
	    "{f}:2: workers: '4x' is not an integer" },
	{ "file int below min", "workers = 0\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_ECONFIG,
	    "{f}:1: workers: 0 is out of range 1..64" },
	{ "file int at min", "workers = 1\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "workers=1" },
	{ "file int above max", "workers = 65\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_ECONFIG,
	    "{f}:1: workers: 65 is out of range 1..64" },
	{ "file int at max", "workers = 64\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "workers=64" },
	{ "file int overflow", "workers = 99999999999999999999\n", NULL,
	    NULL, { "-c", "{f}", "-d", "x" }, 0, CONF_ECONFIG,
	    "{f}:1: workers: 99999999999999999999 is out of range 1..64" },
	{ "file int plus sign", "leeway = +5\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_ECONFIG,
	    "{f}:1: leeway: '+5' is not an integer" },
	{ "file int negative", "leeway = -5\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "leeway=-5" },
	{ "file int negative below min", "leeway = -6\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_ECONFIG,
	    "{f}:1: leeway: -6 is out of range -5..300" },
	{ "cli int below min", NULL, NULL, NULL,
	    { "--workers", "0", "-d", "x" }, 0, CONF_EUSAGE,
	    "option --workers: 0 is out of range 1..64" },
	{ "cli int at min", NULL, NULL, NULL, { "--workers", "1", "-d", "x" },
	    0, CONF_OK, "workers=1" },
	{ "cli int empty", NULL, NULL, NULL, { "--workers", "", "-d", "x" },
	    0, CONF_EUSAGE, "option --workers: '' is not an integer" },
	{ "env int junk", NULL, NULL, "3x", { "-d", "x" }, 0, CONF_ECONFIG,
	    "environment TEST_CONF_WORKERS: '3x' is not an integer" },
	{ "env int junk overridden", NULL, NULL, "3x",
	    { "-d", "x", "-w", "7" }, 0, CONF_OK, "workers=7" },
	{ "file int bad even when cli overrides", "workers = 4x\n", NULL,
	    NULL, { "-c", "{f}", "-w", "7", "-d", "x" }, 0, CONF_ECONFIG,
	    "{f}:1: workers: '4x' is not an integer" },

	/* Comments, blanks, whitespace, quotes. */
	{ "comments and quotes",
	    "# comment\n\n   \n\t# indented comment\n"
	    "  domain\t=  a.example   # trailing comment\n"
	    "state-dir = \"/srv/a # b\"  # comment after quotes\n",
	    NULL, NULL, { "-c", "{f}" }, 0, CONF_OK,
	    "domain=a.example|state-dir=/srv/a # b" },
	{ "hash inside a word", "state-dir = /srv/a#b\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "state-dir=/srv/a#b" },
	{ "no spaces, no final newline", "state-dir=/srv/c", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "state-dir=/srv/c" },
	{ "crlf line", "state-dir = /srv/d\r\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "state-dir=/srv/d" },
	{ "no equals sign", "\nstate-dir /srv\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_ECONFIG,
	    "{f}:2: expected 'key = value'" },
	{ "no key", "= /srv\n", NULL, NULL, { "-c", "{f}", "-d", "x" }, 0,
	    CONF_ECONFIG, "{f}:1: expected 'key = value'" },
	{ "unterminated quote", "state-dir = \"/srv/x\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_ECONFIG,
	    "{f}:1: state-dir: unterminated quote" },
	{ "text after quote", "state-dir = \"/srv/x\" y\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_ECONFIG,
	    "{f}:1: state-dir: unexpected text after closing quote" },
	{ "quoted value", "state-dir = \"/srv/x\"\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "state-dir=/srv/x" },
	{ "missing value", "state-dir =   # nothing\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_ECONFIG,
	    "{f}:1: state-dir: missing value" },
	{ "empty quoted value", "state-dir = \"\"\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "state-dir=" },

	/* Keys. */
	{ "unknown key", "domain = x\n# c\nbogus = 1\n", NULL, NULL,
	    { "-c", "{f}" }, 0, CONF_ECONFIG, "{f}:3: unknown key 'bogus'" },
	{ "known key on that line", "domain = x\n# c\nleeway = 1\n", NULL,
	    NULL, { "-c", "{f}" }, 0, CONF_OK, "leeway=1" },
	{ "built-in is no key", "help = yes\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_ECONFIG,
	    "{f}:1: unknown key 'help'" },
	{ "duplicate key", "workers = 3\nworkers = 4\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_ECONFIG,
	    "{f}:2: duplicate key 'workers' (first set on line 1)" },
	{ "duplicate list key", "allow-uid = 1\nallow-uid = 2\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "allow-uid=1,2" },

	/* The file itself. */
	{ "file missing", NULL, NULL, NULL,
	    { "-c", "/nonexistent/testd.conf", "-d", "x" }, 0, CONF_ECONFIG,
	    "/nonexistent/testd.conf: No such file or directory" },
	{ "file is a directory", NULL, NULL, NULL, { "-c", "/", "-d", "x" },
	    0, CONF_ECONFIG, "/: Is a directory" },
	{ "file empty", "", NULL, NULL, { "-c", "{f}", "-d", "x" }, 0,
	    CONF_OK, "workers=2" },

	/* Lists. */
	{ "cli list", NULL, NULL, NULL,
	    { "-u", "1", "--allow-uid", "2", "--allow-uid=3,4", "-d", "x" },
	    0, CONF_OK, "allow-uid=1,2,3,4" },
	{ "file list", "allow-uid = 7\nallow-uid = 8,9\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "allow-uid=7,8,9" },
	{ "cli list replaces file list", "allow-uid = 7\nallow-uid = 8\n",
	    NULL, NULL, { "-c", "{f}", "-u", "1", "-d", "x" }, 0, CONF_OK,
	    "allow-uid=1" },
	{ "list empty item", "allow-uid = 1,,2\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_ECONFIG,
	    "{f}:1: allow-uid: empty item in '1,,2'" },
	{ "cli list trailing comma", NULL, NULL, NULL,
	    { "-u", "1,", "-d", "x" }, 0, CONF_EUSAGE,
	    "option --allow-uid: empty item in '1,'" },

	/* Booleans. */
	{ "bool flag", NULL, NULL, NULL, { "--debug", "-d", "x" }, 0,
	    CONF_OK, "debug=1" },
	{ "bool short", NULL, NULL, NULL, { "-v", "-d", "x" }, 0, CONF_OK,
	    "debug=1" },
	{ "bool =no", NULL, NULL, NULL, { "--debug=no", "-d", "x" }, 0,
	    CONF_OK, "debug=0" },
	{ "bool =maybe", NULL, NULL, NULL, { "--debug=maybe", "-d", "x" }, 0,
	    CONF_EUSAGE,
	    "option --debug: 'maybe' is not one of yes, no, true, false, 1, 0" },
	{ "file bool yes", "debug = yes\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "debug=1" },
	{ "file bool TRUE", "debug = TRUE\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "debug=1" },
	{ "file bool 1", "debug = 1\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "debug=1" },
	{ "file bool no", "debug = no\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "debug=0" },
	{ "file bool false", "debug = false\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "debug=0" },
	{ "file bool 0", "debug = 0\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_OK, "debug=0" },
	{ "file bool on", "debug = on\n", NULL, NULL,
	    { "-c", "{f}", "-d", "x" }, 0, CONF_ECONFIG,
	    "{f}:1: debug: 'on' is not one of yes, no, true, false, 1, 0" },
	{ "cli bool over file", "debug = yes\n", NULL, NULL,
	    { "-c", "{f}", "--debug=false", "-d", "x" }, 0, CONF_OK,
	    "debug=0" },

	/* Command line syntax. */
	{ "short attached value", NULL, NULL, NULL, { "-dx" }, 0, CONF_OK,
	    "domain=x" },
	{ "short bundle", NULL, NULL, NULL, { "-vw3", "-d", "x" }, 0, CONF_OK,
	    "debug=1|workers=3" },
	{ "long =value", NULL, NULL, NULL, { "--domain=a=b" }, 0, CONF_OK,
	    "domain=a=b" },
	{ "value that looks like an option", NULL, NULL, NULL,
	    { "--domain", "-v" }, 0, CONF_OK, "domain=-v|debug=0" },
	{ "unknown long", NULL, NULL, NULL, { "--foo", "-d", "x" }, 0,
	    CONF_EUSAGE, "unknown option --foo" },
	{ "unknown long =value", NULL, NULL, NULL, { "--foo=1", "-d", "x" }, 0,
	    CONF_EUSAGE, "unknown option --foo" },
	{ "prefix is not a match", NULL, NULL, NULL, { "--dom", "x" }, 0,
	    CONF_EUSAGE, "unknown option --dom" },
	{ "unknown short", NULL, NULL, NULL, { "-z", "-d", "x" }, 0,
	    CONF_EUSAGE, "unknown option -z" },
	{ "missing argument", NULL, NULL, NULL, { "--domain" }, 0,
	    CONF_EUSAGE, "option --domain requires an argument" },
	{ "missing short argument", NULL, NULL, NULL, { "-d", "x", "-w" }, 0,
	    CONF_EUSAGE, "option --workers requires an argument" },
	{ "missing config argument", NULL, NULL, NULL, { "-d", "x", "-c" }, 0,
	    CONF_EUSAGE, "option --config requires an argument" },
	{ "repeated option, last wins", NULL, NULL, NULL,
	    { "-d", "x", "-w", "3", "-w", "4" }, 0, CONF_OK, "workers=4" },

	/* Positional arguments. */
	{ "positional not allowed", NULL, NULL, NULL, { "-d", "x", "tok" }, 0,
	    CONF_EUSAGE, "unexpected argument 'tok'" },
	{ "positional allowed", NULL, NULL, NULL, { "tok", "-d", "x" }, 1,
	    CONF_OK, "pos=tok|domain=x" },
	{ "too many positional", NULL, NULL, NULL,
	    { "-d", "x", "a", "b" }, 1, CONF_EUSAGE,
	    "unexpected argument 'b'" },
	{ "double dash", NULL, NULL, NULL, { "-d", "x", "--", "-v" }, 1,
	    CONF_OK, "pos=-v|debug=0" },
	{ "single dash is positional", NULL, NULL, NULL, { "-d", "x", "-" },
	    1, CONF_OK, "pos=-" },

	/* Built-ins. */
	{ "help", NULL, NULL, NULL, { "--help" }, 0, CONF_HELP, "" },
	{ "help short, other errors after", NULL, NULL, NULL,
	    { "-h", "--foo" }, 0, CONF_HELP, "" },
	{ "error before help", NULL, NULL, NULL, { "--foo", "-h" }, 0,
	    CONF_EUSAGE, "unknown option --foo" },
	{ "help takes no value", NULL, NULL, NULL, { "--help=1" }, 0,
	    CONF_EUSAGE, "option --help takes no argument" },
	{ "version", NULL, NULL, NULL, { "--version" }, 0, CONF_VERSION, "" },
	{ "version short", NULL, NULL, NULL, { "-V" }, 0, CONF_VERSION, "" },
	{ "check-config", "domain = x\n", NULL, NULL,
	    { "-t", "-c", "{f}" }, 0, CONF_OK, "check=1" },
	{ "check-config long", "domain = x\n", NULL, NULL,
	    { "--check-config", "--config", "{f}" }, 0, CONF_OK, "check=1" },
	{ "check-config bad file", "domain = x\nworkers = 0\n", NULL, NULL,
	    { "-t", "-c", "{f}" }, 0, CONF_ECONFIG,
	    "{f}:2: workers: 0 is out of range 1..64" },
};
/* clang-format on */

static struct conf *
load_case(
    const struct load_case *c, enum conf_status *st, char *err, size_t errlen)
{
	char *argv[10], expanded[8][PATH_MAX + 32];
	struct conf_spec spec = test_spec(c->max_positional);
	int argc = 1, i;

	argv[0] = "testd";
	for (i = 0; i < 8 && c->args[i] != NULL; i++) {
		expand(c->args[i], expanded[i], sizeof(expanded[i]));
		argv[argc++] = expanded[i];
	}
	argv[argc] = NULL;
	if (c->file != NULL)
		write_file(cfpath, c->file);
	setenv_or_unset(ENV_DOMAIN, c->env_domain);
	setenv_or_unset(ENV_WORKERS, c->env_workers);
	return conf_load(&spec, argc, argv, st, err, errlen);
}

static void
test_load_table(void **state)
{
	const struct load_case *c;
	char err[512], want[1024], got[1024];
	enum conf_status st;
	struct conf *conf;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(load_cases) / sizeof(load_cases[0]); i++) {
		c = &load_cases[i];
		conf = load_case(c, &st, err, sizeof(err));
		if (st != c->want_st)
			fail_msg("%s: got status %d (\"%s\"), want %d", c->name,
			    st, err, c->want_st);
		expand(c->want, want, sizeof(want));
		if (st != CONF_OK) {
			assert_null(conf);
			if (strcmp(err, want) != 0)
				fail_msg("%s: got \"%s\", want \"%s\"", c->name,
				    err, want);
			continue;
		}
		assert_non_null(conf);
		dump(conf, got, sizeof(got));
		check_fields(c->name, got, want);
		conf_free(conf);
	}
	setenv_or_unset(ENV_DOMAIN, NULL);
	setenv_or_unset(ENV_WORKERS, NULL);
}

static struct conf *
load_file(const char *text, enum conf_status *st, char *err, size_t len)
{
	char *argv[] = {"testd", "-c", cfpath, NULL};
	struct conf_spec spec = test_spec(0);

	write_file(cfpath, text);
	return conf_load(&spec, 3, argv, st, err, len);
}

/* SIGHUP: a bad new file leaves the running configuration alone. */
static void
test_reload_keeps_old(void **state)
{
	char err[512], before[1024], after[1024];
	struct conf *good, *bad, *next;
	enum conf_status st;

	(void)state;
	good = load_file(
	    "domain = a\nworkers = 4\nallow-uid = 1\n", &st, err, sizeof(err));
	assert_non_null(good);
	assert_int_equal(st, CONF_OK);
	dump(good, before, sizeof(before));

	bad = load_file(
	    "domain = b\nworkers = 4x\nallow-uid = 2\n", &st, err, sizeof(err));
	assert_null(bad);
	assert_int_equal(st, CONF_ECONFIG);
	dump(good, after, sizeof(after));
	assert_string_equal(before, after);
	assert_int_equal(conf_int(good, "workers"), 4);
	assert_string_equal(conf_str(good, "domain"), "a");

	next = load_file(
	    "domain = b\nworkers = 5\nallow-uid = 2\n", &st, err, sizeof(err));
	assert_non_null(next);
	assert_int_equal(conf_int(next, "workers"), 5);
	assert_string_equal(conf_file(next), cfpath);
	conf_free(good);
	conf_free(next);
}

static void
test_accessors(void **state)
{
	char *argv[] = {"testd", "-d", "x", "tok", NULL};
	struct conf_spec spec = test_spec(1);
	const char *const *items = NULL;
	enum conf_status st;
	struct conf *conf;
	char err[256];

	(void)state;
	conf = conf_load(&spec, 4, argv, &st, err, sizeof(err));
	assert_non_null(conf);
	assert_null(conf_file(conf));
	assert_int_equal(conf_check_only(conf), 0);
	assert_int_equal(conf_npositional(conf), 1);
	assert_string_equal(conf_positional(conf, 0), "tok");
	assert_null(conf_positional(conf, 1));
	assert_int_equal(conf_list(conf, "allow-uid", &items), 0);
	assert_non_null(items);
	assert_null(items[0]);
	assert_int_equal(conf_isset(conf, "leeway"), 0);
	assert_int_equal(conf_isset(conf, "workers"), 1);
	conf_free(conf);
}

enum misuse {
	MISUSE_NONE,
	MISUSE_UNKNOWN_NAME,
	MISUSE_WRONG_TYPE,
	MISUSE_TABLE_TAKES_BUILTIN,
	MISUSE_TABLE_DUPLICATE
};

/* clang-format off */
static const struct conf_opt clash_builtin_opts[] = {
	{ "domain", 'd', CONF_STR, 0, 0, NULL, NULL, 0, NULL, "x" },
	{ "help", 0, CONF_BOOL, 0, 0, NULL, NULL, 0, NULL, "mine" },
};
static const struct conf_opt duplicate_opts[] = {
	{ "domain", 'd', CONF_STR, 0, 0, NULL, NULL, 0, NULL, "x" },
	{ "domain", 0, CONF_STR, 0, 0, NULL, NULL, 0, NULL, "again" },
};
/* clang-format on */

static struct conf_spec
misuse_spec(enum misuse how)
{
	struct conf_spec spec = test_spec(0);

	if (how == MISUSE_TABLE_TAKES_BUILTIN) {
		spec.opts = clash_builtin_opts;
		spec.n = 2;
	} else if (how == MISUSE_TABLE_DUPLICATE) {
		spec.opts = duplicate_opts;
		spec.n = 2;
	}
	return spec;
}

/* Runs one accessor call in a child; returns its wait status. */
static int
accessor_child(enum misuse how)
{
	char *argv[] = {"testd", "-d", "x", NULL};
	struct conf_spec spec = misuse_spec(how);
	enum conf_status st;
	struct conf *conf;
	char err[256];
	pid_t pid;
	int status;

	pid = fork();
	assert_int_not_equal(pid, -1);
	if (pid == 0) {
		conf = conf_load(&spec, 3, argv, &st, err, sizeof(err));
		if (conf == NULL)
			_exit(2);
		if (how == MISUSE_UNKNOWN_NAME)
			(void)conf_str(conf, "no-such-option");
		else if (how == MISUSE_WRONG_TYPE)
			(void)conf_int(conf, "domain");
		else
			(void)conf_str(conf, "domain");
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

/* Asking for an option that is not in the table is a bug: abort(). */
static void
test_accessor_misuse_aborts(void **state)
{
	int status;

	(void)state;
	status = accessor_child(MISUSE_NONE);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	status = accessor_child(MISUSE_UNKNOWN_NAME);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	status = accessor_child(MISUSE_WRONG_TYPE);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	/* So is a table that clashes with itself or with a built-in. */
	status = accessor_child(MISUSE_TABLE_TAKES_BUILTIN);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	status = accessor_child(MISUSE_TABLE_DUPLICATE);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
}

/* Writes len bytes, which may hold a NUL, and loads them. */
static enum conf_status
load_bytes(const char *bytes, size_t len, char *err, size_t errlen)
{
	char *argv[] = {"testd", "-c", cfpath, "-d", "x", NULL};
	struct conf_spec spec = test_spec(0);
	enum conf_status st;
	struct conf *conf;
	FILE *fp;

	fp = fopen(cfpath, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(bytes, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	conf = conf_load(&spec, 5, argv, &st, err, errlen);
	assert_true((conf != NULL) == (st == CONF_OK));
	conf_free(conf);
	return st;
}

static void
test_nul_byte(void **state)
{
	static const char bad[] = "leeway = 1\nstate-dir = /a\0b\n";
	static const char good[] = "leeway = 1\nstate-dir = /a_b\n";
	char err[512], want[512];

	(void)state;
	assert_int_equal(
	    load_bytes(good, sizeof(good) - 1, err, sizeof(err)), CONF_OK);
	assert_int_equal(
	    load_bytes(bad, sizeof(bad) - 1, err, sizeof(err)), CONF_ECONFIG);
	expand("{f}:2: NUL byte in line", want, sizeof(want));
	assert_string_equal(err, want);
}

static void
test_usage(void **state)
{
	/* clang-format off */
	static const char *const want[] = {
		"usage: testd [OPTION]... [TOKEN]\n",
		"  -d, --domain HOST     identity provider host (required; env:\n"
		    "                        TEST_CONF_DOMAIN)\n",
		"  -w, --workers N       worker processes (default: 2; range: "
		    "1..64; env:\n"
		    "                        TEST_CONF_WORKERS)\n",
		"      --state-dir DIR   state directory (default: "
		    "/var/lib/test)\n",
		"  -v, --debug           log debug messages\n",
		"  -u, --allow-uid UID   peer uid allowed to connect over the "
		    "socket; the owner\n",
		"                        else is refused with a log line "
		    "(repeatable)\n",
		"      --leeway SECONDS  clock skew allowed (range: -5..300)\n",
		"  -h, --help            show this help and exit\n",
		"  -V, --version         show the version and exit\n",
		"  -c, --config FILE     read options from FILE",
		"  -t, --check-config    check the configuration and exit\n",
		"Exit status: 0 success, 64 usage error, 78 bad configuration.",
	};
	/* clang-format on */
	struct conf_spec spec = test_spec(0);
	char *buf = NULL, *line, *save;
	size_t len = 0, i;
	FILE *fp;

	(void)state;
	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	conf_usage(&spec, fp);
	assert_int_equal(fclose(fp), 0);
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (strstr(buf, want[i]) == NULL)
			fail_msg("usage lacks \"%s\":\n%s", want[i], buf);
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		if (strlen(line) > 79)
			fail_msg("usage line longer than 79: \"%s\"", line);
	free(buf);
}

/* NOTIFY_SOCKET set to addr; the datagram read back must equal state. */
static void
notify_roundtrip(const char *env, const struct sockaddr_un *sun, socklen_t slen)
{
	static const char state[] = "READY=1\nSTATUS=serving";
	char buf[256];
	ssize_t n;
	int fd;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_not_equal(fd, -1);
	assert_int_equal(bind(fd, (const struct sockaddr *)sun, slen), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", env, 1), 0);
	assert_int_equal(notify_send(state), 0);
	n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
	assert_int_equal(n, (ssize_t)strlen(state));
	assert_memory_equal(buf, state, (size_t)n);
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_notify_path(void **state)
{
	struct sockaddr_un sun;
	char path[PATH_MAX];

	(void)state;
	snprintf(path, sizeof(path), "%s/notify", tmpdir);
	assert_true(strlen(path) < sizeof(sun.sun_path));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, path);
	notify_roundtrip(path, &sun, sizeof(sun));
	unlink(path);
}

static void
test_notify_abstract(void **state)
{
	struct sockaddr_un sun;
	char name[64];
	size_t len;

	(void)state;
	len = (size_t)snprintf(
	    name, sizeof(name), "@test_conf-%ld", (long)getpid());
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, name + 1, len - 1);
	notify_roundtrip(name, &sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len));
}

static void
test_notify_errors(void **state)
{
	char path[PATH_MAX];

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_send("READY=1"), 0);
	assert_int_equal(setenv("NOTIFY_SOCKET", "", 1), 0);
	assert_int_equal(notify_send("READY=1"), 0);

	assert_int_equal(setenv("NOTIFY_SOCKET", "relative/sock", 1), 0);
	errno = 0;
	assert_int_equal(notify_send("READY=1"), -1);
	assert_int_equal(errno, EAFNOSUPPORT);

	snprintf(path, sizeof(path), "%s/nobody-listens", tmpdir);
	assert_int_equal(setenv("NOTIFY_SOCKET", path, 1), 0);
	errno = 0;
	assert_int_equal(notify_send("READY=1"), -1);
	assert_int_equal(errno, ENOENT);
	unsetenv("NOTIFY_SOCKET");
}

struct watchdog_case {
	const char *usec;
	const char *pid; /* "self": getpid() */
	uint64_t want;
};

/* clang-format off */
static const struct watchdog_case watchdog_cases[] = {
	{ NULL, NULL, 0 },
	{ "3000000", NULL, 3000000 },
	{ "3000000", "self", 3000000 },
	{ "3000000", "1", 0 },
	{ "3000000", "x", 0 },
	{ "3000000x", NULL, 0 },
	{ "-1", NULL, 0 },
	{ "", NULL, 0 },
	{ "0", NULL, 0 },
};
/* clang-format on */

static void
test_notify_watchdog(void **state)
{
	const struct watchdog_case *c;
	char self[32];
	size_t i;

	(void)state;
	snprintf(self, sizeof(self), "%ld", (long)getpid());
	for (i = 0; i < sizeof(watchdog_cases) / sizeof(*c); i++) {
		c = &watchdog_cases[i];
		setenv_or_unset("WATCHDOG_USEC", c->usec);
		setenv_or_unset("WATCHDOG_PID",
		    c->pid != NULL && strcmp(c->pid, "self") == 0 ? self
								  : c->pid);
		if (notify_watchdog_usec() != c->want)
			fail_msg("WATCHDOG_USEC=%s WATCHDOG_PID=%s: got %llu, "
				 "want %llu",
			    c->usec ? c->usec : "(unset)",
			    c->pid ? c->pid : "(unset)",
			    (unsigned long long)notify_watchdog_usec(),
			    (unsigned long long)c->want);
	}
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

struct lookup_case {
	const char *user;
	int want_rc;
	uid_t uid;
	gid_t gid;
	const char *want_err;
};

/* clang-format off */
static const struct lookup_case lookup_cases[] = {
	{ "root", 0, 0, 0, NULL },
	{ "0", 0, 0, 0, NULL },
	{ "12345:678", 0, 12345, 678, NULL },
	{ "12345:", -1, 0, 0, "unknown user '12345:'" },
	{ "12345:x", -1, 0, 0, "unknown user '12345:x'" },
	{ "no-such-user-xyz", -1, 0, 0, "unknown user 'no-such-user-xyz'" },
	{ "4294967295", -1, 0, 0, "unknown user '4294967295'" },
	{ "-1", -1, 0, 0, "unknown user '-1'" },
	{ "", -1, 0, 0, "empty user name" },
};
/* clang-format on */

static void
test_privdrop_lookup(void **state)
{
	const struct lookup_case *c;
	struct passwd *pw;
	char err[256], name[32];
	uid_t uid;
	gid_t gid;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(lookup_cases) / sizeof(*c); i++) {
		c = &lookup_cases[i];
		err[0] = '\0';
		uid = 99;
		gid = 99;
		rc = privdrop_lookup(c->user, &uid, &gid, err, sizeof(err));
		if (rc != c->want_rc)
			fail_msg("'%s': got rc %d (%s), want %d", c->user, rc,
			    err, c->want_rc);
		if (rc == 0 && (uid != c->uid || gid != c->gid))
			fail_msg("'%s': got %lu:%lu, want %lu:%lu", c->user,
			    (unsigned long)uid, (unsigned long)gid,
			    (unsigned long)c->uid, (unsigned long)c->gid);
		if (rc == -1 && strcmp(err, c->want_err) != 0)
			fail_msg("'%s': got \"%s\", want \"%s\"", c->user, err,
			    c->want_err);
	}
	/* A uid with no passwd entry needs an explicit gid. */
	if (getpwuid(54321) == NULL) {
		assert_int_equal(
		    privdrop_lookup("54321", &uid, &gid, err, sizeof(err)), -1);
		assert_string_equal(
		    err, "uid 54321: no passwd entry, give UID:GID");
	}
	if ((pw = getpwnam("nobody")) != NULL) {
		snprintf(name, sizeof(name), "%lu", (unsigned long)pw->pw_uid);
		assert_int_equal(
		    privdrop_lookup(name, &uid, &gid, err, sizeof(err)), 0);
		assert_int_equal(uid, pw->pw_uid);
		assert_int_equal(gid, pw->pw_gid);
	}
}

/* In the child: 0 if it runs as uid/gid and cannot become root again. */
static int
dropped_check(uid_t uid, gid_t gid)
{
	gid_t groups[64];
	int i, n;

	if (getuid() != uid || geteuid() != uid || getgid() != gid ||
	    getegid() != gid)
		return 10;
	if (setuid(0) != -1 || seteuid(0) != -1)
		return 11;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return 12;
	if ((n = getgroups(64, groups)) == -1)
		return 13;
	for (i = 0; i < n; i++)
		if (groups[i] == 0 && gid != 0)
			return 14;
	return 0;
}

static int
drop_child(int drop, uid_t uid, gid_t gid)
{
	pid_t pid;
	int status;

	pid = fork();
	assert_int_not_equal(pid, -1);
	if (pid == 0) {
		if (drop)
			privdrop_to("nobody", uid, gid);
		_exit(dropped_check(uid, gid));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
test_privdrop_to(void **state)
{
	char err[256];
	uid_t uid;
	gid_t gid;

	(void)state;
	if (geteuid() != 0 ||
	    privdrop_lookup("nobody", &uid, &gid, err, sizeof(err)) == -1) {
		skip();
		return;
	}
	/* The check fails for a child that did not drop ... */
	assert_int_equal(drop_child(0, uid, gid), 10);
	/* ... and passes for one that did. */
	assert_int_equal(drop_child(1, uid, gid), 0);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(cfpath, sizeof(cfpath), "%s/testd.conf", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(cfpath);
	return rmdir(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_table),
	    cmocka_unit_test(test_reload_keeps_old),
	    cmocka_unit_test(test_accessors),
	    cmocka_unit_test(test_accessor_misuse_aborts),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_usage),
	    cmocka_unit_test(test_notify_path),
	    cmocka_unit_test(test_notify_abstract),
	    cmocka_unit_test(test_notify_errors),
	    cmocka_unit_test(test_notify_watchdog),
	    cmocka_unit_test(test_privdrop_lookup),
	    cmocka_unit_test(test_privdrop_to),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

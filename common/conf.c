/*
 * conf.c - command line and config file parsing from one option table.
 *
 * Called by main() of todod, verifierd and todo-verify at start-up, and by
 * the todod master on SIGHUP.  conf_load() builds a complete configuration
 * from, highest precedence first, the command line, the config file, the
 * environment and the table's defaults, and validates every value from
 * every source before it returns.  It never prints and never exits: errors
 * come back as CONF_EUSAGE (command line, exit 64) or CONF_ECONFIG (config
 * file or environment, exit 78) with a message that names "file:line".
 *
 * Invariants: a value's src only ever rises while loading, so a source may
 * fill or replace a value only when it ranks at least as high as the one
 * that set it; a value that loses is still parsed, so a bad config file is
 * rejected even where the command line overrides it.  Every string in a
 * struct conf is owned by it.  The table (spec->opts) must outlive the
 * configuration; a broken table is a bug and aborts.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "conf_priv.h"

enum conf_src {
	CONF_SRC_NONE = 0,
	CONF_SRC_DEFAULT,
	CONF_SRC_ENV,
	CONF_SRC_FILE,
	CONF_SRC_CLI
};

struct conf_val {
	enum conf_src src;
	unsigned fileline; /* first line naming it in the file */
	char *str;
	long long num;
	char **items; /* NULL-terminated once non-empty */
	size_t nitems;
};

struct conf {
	struct conf_spec spec;
	struct conf_val *vals;
	char **pos;
	size_t npos;
	char *file;
	int check_only;
};

/* State of one conf_load() call; where the value being set came from. */
struct conf_ctx {
	struct conf *conf;
	enum conf_status st;
	char *err;
	size_t errlen;
	enum conf_src src;
	const char *path;
	unsigned lineno;
};

/* clang-format off */
static const struct conf_opt conf_builtins[CONF_BI_COUNT] = {
	{ "help", 'h', CONF_BOOL, 0, 0, NULL, NULL, 0, NULL,
	    "show this help and exit" },
	{ "version", 'V', CONF_BOOL, 0, 0, NULL, NULL, 0, NULL,
	    "show the version and exit" },
	{ "config", 'c', CONF_STR, 0, 0, NULL, NULL, 0, "FILE",
	    "read options from FILE (key = value lines; every long option "
	    "is a key)" },
	{ "check-config", 't', CONF_BOOL, 0, 0, NULL, NULL, 0, NULL,
	    "check the configuration and exit" },
};
/* clang-format on */

static const char *const conf_no_items[] = {NULL};


static void conf_err(struct conf_ctx *ctx, enum conf_status st, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

static void
conf_err(struct conf_ctx *ctx, enum conf_status st, const char *fmt, ...)
{
	va_list ap;

	ctx->st = st;
	if (ctx->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(ctx->err, ctx->errlen, fmt, ap);
	va_end(ap);
}

static int
conf_oom(struct conf_ctx *ctx)
{
	conf_err(ctx, CONF_ECONFIG, "out of memory");
	return -1;
}

/*
 * Reports a bad value, prefixed with where it came from.  A default that
 * does not parse is a bug in the table.
 */
static int
conf_bad_value(
    struct conf_ctx *ctx, const struct conf_opt *opt, const char *msg)
{
	switch (ctx->src) {
	case CONF_SRC_CLI:
		conf_err(ctx, CONF_EUSAGE, "option --%s: %s", opt->name, msg);
		break;
	case CONF_SRC_FILE:
		conf_err(ctx, CONF_ECONFIG, "%s:%u: %s: %s", ctx->path,
		    ctx->lineno, opt->name, msg);
		break;
	case CONF_SRC_ENV:
		conf_err(
		    ctx, CONF_ECONFIG, "environment %s: %s", opt->env, msg);
		break;
	default:
		abort();
	}
	return -1;
}

const struct conf_opt *
conf_opt_at(const struct conf_spec *spec, size_t idx)
{
	if (idx < spec->n)
		return &spec->opts[idx];
	if (idx - spec->n < CONF_BI_COUNT)
		return &conf_builtins[idx - spec->n];
	abort();
}

/* Index in the table followed by the built-ins, or -1. */
static long
conf_find_long(const struct conf_spec *spec, const char *name, size_t len,
    int with_builtins)
{
	const struct conf_opt *opt;
	size_t i, total;

	total = spec->n + (with_builtins ? CONF_BI_COUNT : 0);
	for (i = 0; i < total; i++) {
		opt = conf_opt_at(spec, i);
		if (strlen(opt->name) == len &&
		    strncmp(opt->name, name, len) == 0)
			return (long)i;
	}
	return -1;
}

static long
conf_find_short(const struct conf_spec *spec, int c)
{
	size_t i;

	for (i = 0; i < spec->n + CONF_BI_COUNT; i++)
		if (conf_opt_at(spec, i)->shortopt == c)
			return (long)i;
	return -1;
}

static int
conf_opt_ok(const struct conf_opt *opt)
{
	if (opt->name == NULL || opt->name[0] == '\0' || opt->name[0] == '-' ||
	    strchr(opt->name, '=') != NULL)
		return 0;
	if (opt->shortopt == '-' || opt->shortopt < 0 || opt->shortopt > 127)
		return 0;
	return opt->type <= CONF_LIST &&
	    (opt->type != CONF_INT || opt->min <= opt->max);
}

/*
 * A table that names an option twice, takes a built-in's name or letter,
 * or has bad bounds is a bug.
 */
static void
conf_check_table(const struct conf_spec *spec)
{
	const struct conf_opt *opt;
	size_t i;

	for (i = 0; i < spec->n; i++)
		if (!conf_opt_ok(&spec->opts[i]))
			abort();
	for (i = 0; i < spec->n + CONF_BI_COUNT; i++) {
		opt = conf_opt_at(spec, i);
		if (conf_find_long(spec, opt->name, strlen(opt->name), 1) !=
		    (long)i)
			abort();
		if (opt->shortopt != 0 &&
		    conf_find_short(spec, opt->shortopt) != (long)i)
			abort();
	}
}

static int
conf_parse_int(const struct conf_opt *opt, const char *s, long long *out,
    char *msg, size_t msglen)
{
	char *end;
	long long v;

	if (!isdigit((unsigned char)s[0]) &&
	    !(s[0] == '-' && isdigit((unsigned char)s[1]))) {
		snprintf(msg, msglen, "'%s' is not an integer", s);
		return -1;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0') {
		snprintf(msg, msglen, "'%s' is not an integer", s);
		return -1;
	}
	if (errno == ERANGE || v < opt->min || v > opt->max) {
		snprintf(msg, msglen, "%s is out of range %lld..%lld", s,
		    opt->min, opt->max);
		return -1;
	}
	*out = v;
	return 0;
}

static int
conf_parse_bool(const char *s, long long *out, char *msg, size_t msglen)
{
	if (strcasecmp(s, "yes") == 0 || strcasecmp(s, "true") == 0 ||
	    strcmp(s, "1") == 0) {
		*out = 1;
		return 0;
	}
	if (strcasecmp(s, "no") == 0 || strcasecmp(s, "false") == 0 ||
	    strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	snprintf(
	    msg, msglen, "'%s' is not one of yes, no, true, false, 1, 0", s);
	return -1;
}

static void
conf_clear_items(struct conf_val *val)
{
	size_t i;

	for (i = 0; i < val->nitems; i++)
		free(val->items[i]);
	free(val->items);
	val->items = NULL;
	val->nitems = 0;
}

static int
conf_append_item(struct conf_val *val, const char *s, size_t len)
{
	char **items, *item;

	item = strndup(s, len);
	if (item == NULL)
		return -1;
	items = reallocarray(val->items, val->nitems + 2, sizeof(*items));
	if (items == NULL) {
		free(item);
		return -1;
	}
	items[val->nitems++] = item;
	items[val->nitems] = NULL;
	val->items = items;
	return 0;
}

/* An item list is comma-separated; empty items are refused. */
static int
conf_check_list(const char *s, char *msg, size_t msglen)
{
	size_t len = strlen(s);

	if (len == 0 || s[0] == ',' || s[len - 1] == ',' ||
	    strstr(s, ",,") != NULL) {
		snprintf(msg, msglen, "empty item in '%s'", s);
		return -1;
	}
	return 0;
}

static int
conf_add_items(struct conf_val *val, const char *s)
{
	const char *comma;

	for (;;) {
		comma = strchr(s, ',');
		if (comma == NULL)
			return conf_append_item(val, s, strlen(s));
		if (conf_append_item(val, s, (size_t)(comma - s)) == -1)
			return -1;
		s = comma + 1;
	}
}

static int
conf_store(struct conf_ctx *ctx, struct conf_val *val,
    const struct conf_opt *opt, const char *s, long long num)
{
	char *copy;

	if (opt->type == CONF_LIST) {
		if (val->src < ctx->src)
			conf_clear_items(val);
		if (conf_add_items(val, s) == -1)
			return conf_oom(ctx);
	} else if ((copy = strdup(s)) == NULL) {
		return conf_oom(ctx);
	} else {
		free(val->str);
		val->str = copy;
		val->num = num;
	}
	val->src = ctx->src;
	return 0;
}

/*
 * Parses s for option idx and keeps it if the current source ranks at
 * least as high as the one that set the value before.
 */
static int
conf_set(struct conf_ctx *ctx, size_t idx, const char *s)
{
	const struct conf_opt *opt = &ctx->conf->spec.opts[idx];
	struct conf_val *val = &ctx->conf->vals[idx];
	char msg[256];
	long long num = 0;
	int rc = 0;

	switch (opt->type) {
	case CONF_INT:
		rc = conf_parse_int(opt, s, &num, msg, sizeof(msg));
		break;
	case CONF_BOOL:
		rc = conf_parse_bool(s, &num, msg, sizeof(msg));
		break;
	case CONF_LIST:
		rc = conf_check_list(s, msg, sizeof(msg));
		break;
	case CONF_STR:
		break;
	}
	if (rc == -1)
		return conf_bad_value(ctx, opt, msg);
	if (val->src > ctx->src)
		return 0;
	return conf_store(ctx, val, opt, s, num);
}

static int
conf_add_positional(struct conf_ctx *ctx, const char *arg)
{
	struct conf *conf = ctx->conf;
	char **pos;

	if (conf->npos >= conf->spec.max_positional) {
		conf_err(ctx, CONF_EUSAGE, "unexpected argument '%s'", arg);
		return -1;
	}
	pos = reallocarray(conf->pos, conf->npos + 1, sizeof(*pos));
	if (pos == NULL)
		return conf_oom(ctx);
	conf->pos = pos;
	if ((pos[conf->npos] = strdup(arg)) == NULL)
		return conf_oom(ctx);
	conf->npos++;
	return 0;
}

/* Returns 1 when parsing stops for --help or --version. */
static int
conf_builtin(struct conf_ctx *ctx, enum conf_builtin bi, const char *value)
{
	char msg[256];
	long long on;

	switch (bi) {
	case CONF_BI_HELP:
		ctx->st = CONF_HELP;
		return 1;
	case CONF_BI_VERSION:
		ctx->st = CONF_VERSION;
		return 1;
	case CONF_BI_CONFIG:
		free(ctx->conf->file);
		if ((ctx->conf->file = strdup(value)) == NULL)
			return conf_oom(ctx);
		return 0;
	case CONF_BI_CHECK:
		if (conf_parse_bool(value, &on, msg, sizeof(msg)) == -1) {
			conf_err(
			    ctx, CONF_EUSAGE, "option --check-config: %s", msg);
			return -1;
		}
		ctx->conf->check_only = (int)on;
		return 0;
	default:
		abort();
	}
}

/*
 * Applies option idx.  inl is the value given as "--name=value" or
 * "-xvalue", or NULL; otherwise a value is taken from the next argument,
 * except for booleans, which a bare flag sets.
 */
static int
conf_take(struct conf_ctx *ctx, size_t idx, const char *inl, int argc,
    char **argv, int *i)
{
	const struct conf_spec *spec = &ctx->conf->spec;
	const struct conf_opt *opt = conf_opt_at(spec, idx);
	const char *value = inl;

	if (idx >= spec->n && inl != NULL &&
	    (idx - spec->n == CONF_BI_HELP ||
		idx - spec->n == CONF_BI_VERSION)) {
		conf_err(ctx, CONF_EUSAGE, "option --%s takes no argument",
		    opt->name);
		return -1;
	}
	if (value == NULL && opt->type == CONF_BOOL)
		value = "yes";
	if (value == NULL) {
		if (*i + 1 >= argc) {
			conf_err(ctx, CONF_EUSAGE,
			    "option --%s requires an argument", opt->name);
			return -1;
		}
		value = argv[++*i];
	}
	if (idx >= spec->n)
		return conf_builtin(
		    ctx, (enum conf_builtin)(idx - spec->n), value);
	return conf_set(ctx, idx, value);
}

static int
conf_parse_long(struct conf_ctx *ctx, int argc, char **argv, int *i)
{
	const char *name = argv[*i] + 2, *eq;
	size_t len;
	long idx;

	eq = strchr(name, '=');
	len = eq != NULL ? (size_t)(eq - name) : strlen(name);
	idx = conf_find_long(&ctx->conf->spec, name, len, 1);
	if (idx == -1) {
		conf_err(
		    ctx, CONF_EUSAGE, "unknown option --%.*s", (int)len, name);
		return -1;
	}
	return conf_take(
	    ctx, (size_t)idx, eq != NULL ? eq + 1 : NULL, argc, argv, i);
}

/* "-abc": flags may be bundled; an option with a value ends the bundle. */
static int
conf_parse_short(struct conf_ctx *ctx, int argc, char **argv, int *i)
{
	const char *p = argv[*i] + 1;
	const struct conf_opt *opt;
	long idx;
	int rc;

	for (; *p != '\0'; p++) {
		idx = conf_find_short(&ctx->conf->spec, (unsigned char)*p);
		if (idx == -1) {
			conf_err(ctx, CONF_EUSAGE, "unknown option -%c", *p);
			return -1;
		}
		opt = conf_opt_at(&ctx->conf->spec, (size_t)idx);
		if (opt->type != CONF_BOOL)
			return conf_take(ctx, (size_t)idx,
			    p[1] != '\0' ? p + 1 : NULL, argc, argv, i);
		if ((rc = conf_take(ctx, (size_t)idx, NULL, argc, argv, i)) !=
		    0)
			return rc;
	}
	return 0;
}

/* Options and operands may be mixed; "--" ends the options. */
static int
conf_parse_argv(struct conf_ctx *ctx, int argc, char **argv)
{
	const char *arg;
	int i, rc, options = 1;

	ctx->src = CONF_SRC_CLI;
	for (i = 1; i < argc; i++) {
		arg = argv[i];
		if (!options || arg[0] != '-' || arg[1] == '\0')
			rc = conf_add_positional(ctx, arg);
		else if (strcmp(arg, "--") == 0) {
			options = 0;
			rc = 0;
		} else if (arg[1] == '-')
			rc = conf_parse_long(ctx, argc, argv, &i);
		else
			rc = conf_parse_short(ctx, argc, argv, &i);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static char *
conf_trim(char *s)
{
	size_t len;

	while (isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		s[--len] = '\0';
	return s;
}

/*
 * Finds the value in the text after '=': either "quoted" (a '#' inside is
 * kept) or bare, where a '#' after whitespace starts a comment.
 */
static const char *
conf_file_value(char *v, const char **why)
{
	char *end;

	v = conf_trim(v);
	if (*v == '"') {
		if ((end = strchr(v + 1, '"')) == NULL) {
			*why = "unterminated quote";
			return NULL;
		}
		*end++ = '\0';
		end = conf_trim(end);
		if (*end != '\0' && *end != '#') {
			*why = "unexpected text after closing quote";
			return NULL;
		}
		return v + 1;
	}
	for (end = v; *end != '\0'; end++)
		if (*end == '#' &&
		    (end == v || isspace((unsigned char)end[-1])))
			break;
	*end = '\0';
	v = conf_trim(v);
	if (*v == '\0')
		*why = "missing value";
	return *v == '\0' ? NULL : v;
}

/* A key may appear once in the file, except a list, which accumulates. */
static int
conf_file_set(struct conf_ctx *ctx, size_t idx, const char *value)
{
	const struct conf_opt *opt = &ctx->conf->spec.opts[idx];
	struct conf_val *val = &ctx->conf->vals[idx];

	if (opt->type != CONF_LIST && val->fileline != 0) {
		conf_err(ctx, CONF_ECONFIG,
		    "%s:%u: duplicate key '%s' (first set on line %u)",
		    ctx->path, ctx->lineno, opt->name, val->fileline);
		return -1;
	}
	if (val->fileline == 0)
		val->fileline = ctx->lineno;
	return conf_set(ctx, idx, value);
}

static int
conf_file_line(struct conf_ctx *ctx, char *line, size_t len)
{
	const char *value, *why = NULL;
	char *key, *eq;
	long idx;

	if (strlen(line) != len) {
		conf_err(ctx, CONF_ECONFIG, "%s:%u: NUL byte in line",
		    ctx->path, ctx->lineno);
		return -1;
	}
	key = conf_trim(line);
	if (*key == '\0' || *key == '#')
		return 0;
	eq = strchr(key, '=');
	if (eq == NULL || eq == key) {
		conf_err(ctx, CONF_ECONFIG, "%s:%u: expected 'key = value'",
		    ctx->path, ctx->lineno);
		return -1;
	}
	*eq = '\0';
	key = conf_trim(key);
	idx = conf_find_long(&ctx->conf->spec, key, strlen(key), 0);
	if (idx == -1) {
		conf_err(ctx, CONF_ECONFIG, "%s:%u: unknown key '%s'",
		    ctx->path, ctx->lineno, key);
		return -1;
	}
	if ((value = conf_file_value(eq + 1, &why)) == NULL) {
		conf_err(ctx, CONF_ECONFIG, "%s:%u: %s: %s", ctx->path,
		    ctx->lineno, key, why);
		return -1;
	}
	return conf_file_set(ctx, (size_t)idx, value);
}

static int
conf_parse_file(struct conf_ctx *ctx, const char *path)
{
	FILE *fp;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = -1;

	ctx->src = CONF_SRC_FILE;
	ctx->path = path;
	ctx->lineno = 0;
	if ((fp = fopen(path, "re")) == NULL) {
		conf_err(ctx, CONF_ECONFIG, "%s: %s", path, strerror(errno));
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) != -1) {
		ctx->lineno++;
		if (conf_file_line(ctx, line, (size_t)len) == -1)
			goto out;
	}
	if (ferror(fp)) {
		conf_err(ctx, CONF_ECONFIG, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	free(line);
	fclose(fp);
	return rc;
}

/*
 * The environment is read only for values nothing higher has set, so a
 * stray variable cannot break a command line that overrides it.  An empty
 * variable counts as unset.
 */
static int
conf_apply_env(struct conf_ctx *ctx)
{
	const struct conf_spec *spec = &ctx->conf->spec;
	const char *v;
	size_t i;

	ctx->src = CONF_SRC_ENV;
	for (i = 0; i < spec->n; i++) {
		if (spec->opts[i].env == NULL ||
		    ctx->conf->vals[i].src > CONF_SRC_ENV)
			continue;
		v = getenv(spec->opts[i].env);
		if (v != NULL && *v != '\0' && conf_set(ctx, i, v) == -1)
			return -1;
	}
	return 0;
}

static int
conf_apply_defaults(struct conf_ctx *ctx)
{
	const struct conf_spec *spec = &ctx->conf->spec;
	size_t i;

	ctx->src = CONF_SRC_DEFAULT;
	for (i = 0; i < spec->n; i++) {
		if (spec->opts[i].defval == NULL ||
		    ctx->conf->vals[i].src != CONF_SRC_NONE)
			continue;
		if (conf_set(ctx, i, spec->opts[i].defval) == -1)
			return -1;
	}
	return 0;
}

static int
conf_check_required(struct conf_ctx *ctx)
{
	const struct conf_spec *spec = &ctx->conf->spec;
	size_t i;

	for (i = 0; i < spec->n; i++) {
		if (spec->opts[i].required &&
		    ctx->conf->vals[i].src == CONF_SRC_NONE) {
			conf_err(ctx, CONF_EUSAGE,
			    "missing required option --%s", spec->opts[i].name);
			return -1;
		}
	}
	return 0;
}

static struct conf *
conf_new(const struct conf_spec *spec)
{
	struct conf *conf;

	if ((conf = calloc(1, sizeof(*conf))) == NULL)
		return NULL;
	conf->vals = calloc(spec->n > 0 ? spec->n : 1, sizeof(*conf->vals));
	if (conf->vals == NULL) {
		free(conf);
		return NULL;
	}
	conf->spec = *spec;
	return conf;
}

struct conf *
conf_load(const struct conf_spec *spec, int argc, char **argv,
    enum conf_status *st, char *err, size_t errlen)
{
	struct conf_ctx ctx;
	struct conf *conf;

	conf_check_table(spec);
	memset(&ctx, 0, sizeof(ctx));
	ctx.err = err;
	ctx.errlen = errlen;
	if (errlen > 0)
		err[0] = '\0';
	if ((conf = conf_new(spec)) == NULL) {
		conf_oom(&ctx);
		goto fail;
	}
	ctx.conf = conf;
	if (conf_parse_argv(&ctx, argc, argv) != 0)
		goto fail;
	if (conf->file != NULL && conf_parse_file(&ctx, conf->file) == -1)
		goto fail;
	if (conf_apply_env(&ctx) == -1 || conf_apply_defaults(&ctx) == -1 ||
	    conf_check_required(&ctx) == -1)
		goto fail;
	*st = CONF_OK;
	return conf;
fail:
	*st = ctx.st;
	conf_free(conf);
	return NULL;
}

void
conf_free(struct conf *conf)
{
	size_t i;

	if (conf == NULL)
		return;
	for (i = 0; i < conf->spec.n; i++) {
		free(conf->vals[i].str);
		conf_clear_items(&conf->vals[i]);
	}
	for (i = 0; i < conf->npos; i++)
		free(conf->pos[i]);
	free(conf->pos);
	free(conf->vals);
	free(conf->file);
	free(conf);
}

/* Any type when type is -1. */
static const struct conf_val *
conf_get(const struct conf *conf, const char *name, int type)
{
	long idx;

	idx = conf_find_long(&conf->spec, name, strlen(name), 0);
	if (idx == -1)
		abort();
	if (type != -1 && (int)conf->spec.opts[idx].type != type)
		abort();
	return &conf->vals[idx];
}

const char *
conf_str(const struct conf *conf, const char *name)
{
	return conf_get(conf, name, CONF_STR)->str;
}

long long
conf_int(const struct conf *conf, const char *name)
{
	return conf_get(conf, name, CONF_INT)->num;
}

int
conf_bool(const struct conf *conf, const char *name)
{
	return conf_get(conf, name, CONF_BOOL)->num != 0;
}

size_t
conf_list(const struct conf *conf, const char *name, const char *const **items)
{
	const struct conf_val *val = conf_get(conf, name, CONF_LIST);

	if (items != NULL)
		*items = val->nitems > 0 ? (const char *const *)val->items
					 : conf_no_items;
	return val->nitems;
}

int
conf_isset(const struct conf *conf, const char *name)
{
	return conf_get(conf, name, -1)->src != CONF_SRC_NONE;
}

size_t
conf_npositional(const struct conf *conf)
{
	return conf->npos;
}

const char *
conf_positional(const struct conf *conf, size_t i)
{
	return i < conf->npos ? conf->pos[i] : NULL;
}

int
conf_check_only(const struct conf *conf)
{
	return conf->check_only;
}

const char *
conf_file(const struct conf *conf)
{
	return conf->file;
}

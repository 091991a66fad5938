/*
 * conf.h - one option table drives the command line, the config file and
 * the generated --help of both daemons.
 *
 * Every long option is also a config key.  Precedence, highest first:
 * command line, config file (--config FILE), environment (opt->env),
 * default (opt->defval).  conf_load() never prints and never exits; it
 * returns a complete, validated configuration or NULL, so that a reload
 * can keep the old configuration when the new one is bad.
 */
#ifndef TODOD_CONF_H
#define TODOD_CONF_H

#include <stddef.h>
#include <stdio.h>

enum conf_type {
	CONF_STR,
	CONF_INT,
	CONF_BOOL,
	CONF_LIST		/* repeatable; values may be comma-separated */
};

struct conf_opt {
	const char	*name;		/* long option == config key */
	int		 shortopt;	/* 0: none */
	enum conf_type	 type;
	long long	 min, max;	/* CONF_INT only */
	const char	*defval;	/* NULL: none */
	const char	*env;		/* variable used as default, or NULL */
	int		 required;
	const char	*metavar;	/* NULL: derived from the type */
	const char	*help;
};

struct conf_spec {
	const struct conf_opt	*opts;
	size_t			 n;
	size_t			 max_positional;
	const char		*progname;
	const char		*synopsis;	/* NULL: "[OPTION]..." */
	const char		*version;
};

enum conf_status {
	CONF_OK = 0,
	CONF_HELP,		/* caller prints conf_usage(), exits 0 */
	CONF_VERSION,		/* caller prints spec->version, exits 0 */
	CONF_EUSAGE,		/* caller prints err, exits 64 */
	CONF_ECONFIG		/* caller prints err, exits 78 */
};

#define CONF_EXIT_USAGE		64	/* EX_USAGE */
#define CONF_EXIT_CONFIG	78	/* EX_CONFIG */

struct conf;

struct conf	*conf_load(const struct conf_spec *spec, int argc, char **argv,
		    enum conf_status *st, char *err, size_t errlen);
void		 conf_free(struct conf *conf);

/* Asking for a name that is not in the table, or of another type, aborts. */
const char	*conf_str(const struct conf *conf, const char *name);
long long	 conf_int(const struct conf *conf, const char *name);
int		 conf_bool(const struct conf *conf, const char *name);
size_t		 conf_list(const struct conf *conf, const char *name,
		    const char *const **items);
int		 conf_isset(const struct conf *conf, const char *name);

size_t		 conf_npositional(const struct conf *conf);
const char	*conf_positional(const struct conf *conf, size_t i);
int		 conf_check_only(const struct conf *conf);
const char	*conf_file(const struct conf *conf);

void		 conf_usage(const struct conf_spec *spec, FILE *fp);

#endif

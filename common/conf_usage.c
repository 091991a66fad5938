/*
 * conf_usage.c - --help generated from the option table (STYLE.md:
 * "--help is generated from the same table").
 *
 * Called by the daemons' main() when conf_load() says CONF_HELP.  Lines
 * are wrapped at CONF_USAGE_COLS; every option shows its default, its
 * environment variable and its bounds.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "conf_priv.h"

#define CONF_USAGE_COLS 79
#define CONF_USAGE_MAXLEFT 30

static size_t
conf_usage_left(const struct conf_opt *opt, char *buf, size_t len)
{
	const char *mv = opt->metavar;
	int n;

	if (mv == NULL && opt->type != CONF_BOOL)
		mv = opt->type == CONF_INT ? "N" : "VALUE";
	if (opt->shortopt != 0)
		n = snprintf(buf, len, "  -%c, --%s%s%s", opt->shortopt,
		    opt->name, mv != NULL ? " " : "", mv != NULL ? mv : "");
	else
		n = snprintf(buf, len, "      --%s%s%s", opt->name,
		    mv != NULL ? " " : "", mv != NULL ? mv : "");
	return n < 0 ? 0 : strlen(buf);
}

static void conf_note(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_note(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used > 0 && used + 2 < len) {
		memcpy(buf + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static void
conf_usage_text(const struct conf_opt *opt, char *buf, size_t len)
{
	char notes[512] = "";

	if (opt->required)
		conf_note(notes, sizeof(notes), "required");
	if (opt->defval != NULL)
		conf_note(notes, sizeof(notes), "default: %s", opt->defval);
	if (opt->type == CONF_INT)
		conf_note(notes, sizeof(notes), "range: %lld..%lld", opt->min,
		    opt->max);
	if (opt->env != NULL)
		conf_note(notes, sizeof(notes), "env: %s", opt->env);
	if (opt->type == CONF_LIST)
		conf_note(notes, sizeof(notes), "repeatable");
	snprintf(buf, len, notes[0] != '\0' ? "%s (%s)" : "%s%s",
	    opt->help != NULL ? opt->help : "", notes);
}

/* Prints text from column col, wrapping at word breaks to indent. */
static void
conf_usage_wrap(FILE *fp, const char *p, size_t col, size_t indent)
{
	size_t wlen;

	while (*p == ' ')
		p++;
	while (*p != '\0') {
		wlen = strcspn(p, " ");
		if (col > indent && col + 1 + wlen > CONF_USAGE_COLS) {
			fprintf(fp, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', fp);
			col++;
		}
		fwrite(p, 1, wlen, fp);
		col += wlen;
		p += wlen;
		while (*p == ' ')
			p++;
	}
	fputc('\n', fp);
}

static void
conf_usage_opt(FILE *fp, const struct conf_opt *opt, size_t width)
{
	char left[128], text[1024];
	size_t n;

	n = conf_usage_left(opt, left, sizeof(left));
	fputs(left, fp);
	if (n + 2 > width)
		fprintf(fp, "\n%*s", (int)width, "");
	else
		fprintf(fp, "%*s", (int)(width - n), "");
	conf_usage_text(opt, text, sizeof(text));
	conf_usage_wrap(fp, text, width, width);
}

static size_t
conf_usage_width(const struct conf_spec *spec)
{
	char left[128];
	size_t i, n, width = 0;

	for (i = 0; i < spec->n + CONF_BI_COUNT; i++) {
		n = conf_usage_left(conf_opt_at(spec, i), left, sizeof(left));
		if (n <= CONF_USAGE_MAXLEFT && n + 2 > width)
			width = n + 2;
	}
	return width;
}

void
conf_usage(const struct conf_spec *spec, FILE *fp)
{
	size_t i, width = conf_usage_width(spec);

	fprintf(fp, "usage: %s %s\n\nOptions:\n",
	    spec->progname != NULL ? spec->progname : "",
	    spec->synopsis != NULL ? spec->synopsis : "[OPTION]...");
	for (i = 0; i < spec->n + CONF_BI_COUNT; i++)
		conf_usage_opt(fp, conf_opt_at(spec, i), width);
	fprintf(fp,
	    "\nEvery long option is also a config file key. "
	    "The command line wins over\nthe config file, which wins over "
	    "the environment and the defaults.\n\n"
	    "Exit status: 0 success, %d usage error, %d bad configuration.\n",
	    CONF_EXIT_USAGE, CONF_EXIT_CONFIG);
}

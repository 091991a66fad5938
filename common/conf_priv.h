/*
 * conf_priv.h - what conf.c shares with conf_usage.c and nobody else.
 */
#ifndef TODOD_CONF_PRIV_H
#define TODOD_CONF_PRIV_H

#include "conf.h"

/* Options every program has; they are not config file keys. */
enum conf_builtin {
	CONF_BI_HELP,
	CONF_BI_VERSION,
	CONF_BI_CONFIG,
	CONF_BI_CHECK,
	CONF_BI_COUNT
};

/* The table's options followed by the built-ins; aborts past the end. */
const struct conf_opt	*conf_opt_at(const struct conf_spec *, size_t idx);

#endif

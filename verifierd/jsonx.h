/*
 * jsonx.h - strict JSON for JOSE headers, claim sets and key sets.
 */
#ifndef TODOD_JSONX_H
#define TODOD_JSONX_H

#include <stddef.h>

#include <jansson.h>

/*
 * Parse len bytes of buf as one JSON object.  Rejected: any other
 * top-level value, duplicate member names, NUL in strings (raw or
 * \u0000), invalid UTF-8 or lone surrogates, numbers out of range,
 * trailing non-whitespace, and nesting deeper than maxdepth containers
 * (the top-level object counts as depth 1).  Returns a new reference,
 * or NULL with a short reason in err (which may be NULL).
 */
json_t	*jsonx_parse_object(const char *buf, size_t len, size_t maxdepth,
	    char *err, size_t errlen);

#endif

/*
 * jsonx.c - the one JSON entry point for untrusted JOSE input.
 *
 * Called by jose.c (JWS header and payload) and jwk.c (key sets).
 * jansson does the parsing with duplicate keys rejected and NUL
 * disallowed; before it runs we bound the nesting depth ourselves,
 * because jansson's own limit (2048) lets a small token cost deep
 * recursion.  The pre-scan only counts brackets outside strings; it
 * does not judge syntax, jansson does.
 */
#include <stdio.h>

#include "jsonx.h"

static void
jsonx_seterr(char *err, size_t errlen, const char *what, const char *detail)
{
	if (err == NULL || errlen == 0)
		return;
	if (detail != NULL)
		snprintf(err, errlen, "%s: %s", what, detail);
	else
		snprintf(err, errlen, "%s", what);
}

/*
 * Return the deepest container nesting found in buf, counting '{' and
 * '[' outside string literals.  A backslash inside a string skips the
 * next byte, so "\"" and "\\" do not end or start strings early.
 */
static size_t
jsonx_depth(const char *buf, size_t len)
{
	size_t i, depth = 0, max = 0;
	int instr = 0;

	for (i = 0; i < len; i++) {
		char c = buf[i];

		if (instr) {
			if (c == '\\')
				i++;
			else if (c == '"')
				instr = 0;
		} else if (c == '"') {
			instr = 1;
		} else if (c == '{' || c == '[') {
			if (++depth > max)
				max = depth;
		} else if ((c == '}' || c == ']') && depth > 0) {
			depth--;
		}
	}
	return max;
}

json_t *
jsonx_parse_object(
    const char *buf, size_t len, size_t maxdepth, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root;

	jsonx_seterr(err, errlen, "ok", NULL);
	if (buf == NULL || len == 0) {
		jsonx_seterr(err, errlen, "empty document", NULL);
		return NULL;
	}
	if (jsonx_depth(buf, len) > maxdepth) {
		jsonx_seterr(err, errlen, "nesting too deep", NULL);
		return NULL;
	}
	/* No JSON_DECODE_ANY, JSON_ALLOW_NUL or JSON_DISABLE_EOF_CHECK. */
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		jsonx_seterr(err, errlen, "invalid JSON", jerr.text);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		jsonx_seterr(err, errlen, "not a JSON object", NULL);
		return NULL;
	}
	return root;
}

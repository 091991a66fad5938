/*
 * todo_req_priv.h - what todo_req.c (request parsing) and todo_json.c
 * (JSON output) share and nobody else sees.  http_todo.c and the tests use
 * todo_req.h only.
 *
 * Strings returned are malloc'd and owned by the caller, as in todo_req.h;
 * NULL means out of memory.
 */
#ifndef TODOD_TODO_REQ_PRIV_H
#define TODOD_TODO_REQ_PRIV_H

#include <stddef.h>
#include <stdint.h>

/* Serializer errors, in field order; messages are static strings. */
struct field_errs {
	const char *title[2];
	size_t ntitle;
	const char *date;
};

/*
 * Length of the well-formed UTF-8 sequence at s (n > 0 bytes left), with
 * the code point in *cp; 0 if there is none.  Then *bad is how many bytes
 * Python's strict decoder blames, or 0 for a valid prefix cut by the end.
 */
size_t	treq_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp,
	    size_t *bad);

/* {"key":["msg"]}, the shape of a serializer error. */
char	*treq_one_error_json(const char *key, const char *msg);
/* {"detail":"<prefix><why>"}. */
char	*treq_prefixed_detail_json(const char *prefix, const char *why);
/* DRF's 415 body for a Content-Type header (raw bytes, read as latin-1). */
char	*treq_unsupported_json(const char *ct);
/* {"title":[...],"date":[...]}, each key only when it has messages. */
char	*treq_field_errs_json(const struct field_errs *e);

#endif

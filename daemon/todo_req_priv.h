/*
 * todo_req_priv.h - what todo_req.c (the request head), todo_body.c (request
 * bodies) and todo_json.c (JSON output) share and nobody else sees.
 * http_todo.c and the tests use todo_req.h only.
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

/* One field of a urlencoded string, still encoded. */
struct treq_pair {
	const char *k;
	size_t kn;
	const char *v;
	size_t vn;
};

/* DRF's parser for a body: JSONParser, FormParser, or none (415). */
enum treq_media { TREQ_MEDIA_JSON, TREQ_MEDIA_FORM, TREQ_MEDIA_OTHER };

/* todo_req.c: text rules shared with todo_body.c. */
/* Whether (s, n) is valid UTF-8 by Python's strict decoder. */
int	treq_utf8_valid(const char *s, size_t n);
/* Python's str.strip() on valid UTF-8, in place on (*s, *n). */
void	treq_py_strip(const char **s, size_t *n);
/* Python's unquote() into out (room for n bytes); with plus, '+' is ' '. */
size_t	treq_pct_decode(const char *s, size_t n, char *out, int plus);
/* The next field of a urlencoded string in [*sp, end); 0 at the end. */
int	treq_form_next(const char **sp, const char *end, struct treq_pair *p);
/* Strictly YYYY-MM-DD of a day that exists, copied to out; 1 if so. */
int	treq_parse_date(const char *s, size_t n, char out[11]);
/* The parser for a Content-Type header; *utf8: its charset is UTF-8. */
enum treq_media treq_media_kind(const char *ct, int *utf8);

/* todo_json.c. */
/* {"key":["msg"]}, the shape of a serializer error. */
char	*treq_one_error_json(const char *key, const char *msg);
/* {"detail":"<prefix><why>"}. */
char	*treq_prefixed_detail_json(const char *prefix, const char *why);
/* DRF's 415 body for a Content-Type header (raw bytes, read as latin-1). */
char	*treq_unsupported_json(const char *ct);
/* {"title":[...],"date":[...]}, each key only when it has messages. */
char	*treq_field_errs_json(const struct field_errs *e);

#endif

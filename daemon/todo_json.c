/*
 * todo_json.c - the JSON todod sends, written as Django REST Framework
 * 3.11's JSONRenderer writes it for the seed's TodoViewset: todo objects,
 * the plain list and the LimitOffsetPagination envelope with its next and
 * previous links, the API root, and the error bodies (detail, serializer
 * field errors, 415) whose content todo_req.c and todo_body.c decide.
 *
 * Called by the evhttp glue (http_todo.c) through todo_req.h, by
 * todo_req.c and todo_body.c through todo_req_priv.h, and by the unit and
 * fuzz tests.
 * Pure functions: no I/O, no global state, no libevent.
 *
 * Invariants:
 * - every string put into JSON goes through json_str(), so output is valid
 *   UTF-8 and valid JSON whatever bytes came in (bad bytes become U+FFFD);
 * - output is compact (",", ":") and not ASCII-escaped, except that
 *   U+2028 and U+2029 are escaped as JSONRenderer does;
 * - a failed allocation sticks in the struct buf and the function returns
 *   NULL: a caller never gets a truncated document;
 * - treq_utf8_seq() is the one UTF-8 decoder: todo_req.c validates request
 *   text with it, so an accepted title is echoed byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "todo_req.h"
#include "todo_req_priv.h"

/* A growing string; the first failed allocation sticks. */
struct buf {
	char *p;
	size_t len;
	size_t cap;
	int oom;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	size_t ncap;
	char *np;

	if (b->oom || (n == 0 && b->p != NULL))
		return;
	if (b->cap - b->len <= n) {
		ncap = b->cap != 0 ? b->cap : 64;
		while (ncap - b->len <= n && ncap < SIZE_MAX / 2)
			ncap *= 2;
		if (ncap - b->len <= n || (np = realloc(b->p, ncap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void
buf_u64(struct buf *b, uint64_t v)
{
	char tmp[20], *p = tmp + sizeof(tmp);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	buf_add(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

static char *
buf_finish(struct buf *b)
{
	if (b->oom || b->p == NULL) {
		free(b->p);
		return NULL;
	}
	return b->p;
}

/*
 * Length of the well-formed UTF-8 sequence at s (n > 0 bytes left), with
 * the code point in *cp; 0 if there is none.  Then *bad is how many bytes
 * Python's strict decoder blames, or 0 for a valid prefix cut by the end.
 */
size_t
treq_utf8_seq(const unsigned char *s, size_t n, uint32_t *cp, size_t *bad)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need, i;
	uint32_t v;

	*bad = 1;
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c < 0xc2 || c > 0xf4)
		return 0;
	need = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	v = c & (0x7f >> need);
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	for (i = 1; i < need; i++, lo = 0x80, hi = 0xbf) {
		if (i >= n) {
			*bad = 0;
			return 0;
		}
		if (s[i] < lo || s[i] > hi) {
			*bad = i;
			return 0;
		}
		v = v << 6 | (s[i] & 0x3f);
	}
	*cp = v;
	return need;
}

static void
json_escape(struct buf *b, uint32_t cp)
{
	char tmp[8];

	switch (cp) {
	case '"':
		buf_str(b, "\\\"");
		break;
	case '\\':
		buf_str(b, "\\\\");
		break;
	case '\b':
		buf_str(b, "\\b");
		break;
	case '\f':
		buf_str(b, "\\f");
		break;
	case '\n':
		buf_str(b, "\\n");
		break;
	case '\r':
		buf_str(b, "\\r");
		break;
	case '\t':
		buf_str(b, "\\t");
		break;
	default:
		snprintf(tmp, sizeof(tmp), "\\u%04x", (unsigned)cp);
		buf_str(b, tmp);
	}
}

/*
 * A JSON string as Python's json.dumps(ensure_ascii=False) writes it, plus
 * JSONRenderer's escaping of U+2028 and U+2029.  Bad bytes become U+FFFD.
 */
static void
json_str(struct buf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0, k, bad;
	uint32_t cp;

	buf_add(b, "\"", 1);
	while (i < n) {
		k = treq_utf8_seq(u + i, n - i, &cp, &bad);
		if (k != 0 && cp >= 0x20 && cp != '"' && cp != '\\' &&
		    cp != 0x2028 && cp != 0x2029) {
			i += k;
			continue;
		}
		buf_add(b, s + run, i - run);
		if (k == 0) {
			buf_str(b, "\xef\xbf\xbd");
			k = 1;
		} else
			json_escape(b, cp);
		i += k;
		run = i;
	}
	buf_add(b, s + run, i - run);
	buf_add(b, "\"", 1);
}

static void
json_cstr(struct buf *b, const char *s)
{
	if (s == NULL)
		buf_str(b, "null");
	else
		json_str(b, s, strlen(s));
}

char *
treq_detail_json(const char *detail)
{
	struct buf b = {0};

	buf_str(&b, "{\"detail\":");
	json_cstr(&b, detail != NULL ? detail : "");
	buf_str(&b, "}");
	return buf_finish(&b);
}

/* {"key":["msg"]}, the shape of a serializer error. */
char *
treq_one_error_json(const char *key, const char *msg)
{
	struct buf b = {0};

	buf_str(&b, "{");
	json_cstr(&b, key);
	buf_str(&b, ":[");
	json_cstr(&b, msg);
	buf_str(&b, "]}");
	return buf_finish(&b);
}

char *
treq_prefixed_detail_json(const char *prefix, const char *why)
{
	struct buf b = {0};
	char *msg, *out;

	buf_str(&b, prefix);
	buf_str(&b, why);
	if ((msg = buf_finish(&b)) == NULL)
		return NULL;
	out = treq_detail_json(msg);
	free(msg);
	return out;
}

/*
 * UnsupportedMediaType names the header as Django holds it: the bytes
 * decoded as latin-1 (PEP 3333), so every byte maps to one character.
 */
char *
treq_unsupported_json(const char *ct)
{
	const unsigned char *p;
	struct buf b = {0};
	char *type, *out, two[2];

	for (p = (const unsigned char *)ct; *p != '\0'; p++) {
		if (*p < 0x80) {
			buf_add(&b, (const char *)p, 1);
			continue;
		}
		two[0] = (char)(0xc0 | *p >> 6);
		two[1] = (char)(0x80 | (*p & 0x3f));
		buf_add(&b, two, 2);
	}
	buf_add(&b, "", 0); /* allocates, even for an empty header */
	if ((type = buf_finish(&b)) == NULL)
		return NULL;
	b = (struct buf){0};
	buf_str(&b, "Unsupported media type \"");
	buf_str(&b, type);
	buf_str(&b, "\" in request.");
	free(type);
	if ((type = buf_finish(&b)) == NULL)
		return NULL;
	out = treq_detail_json(type);
	free(type);
	return out;
}

static void
todo_obj(struct buf *b, uint64_t id, const char *title, size_t title_len,
    const char *date, uint64_t user)
{
	buf_str(b, "{\"id\":");
	buf_u64(b, id);
	buf_str(b, ",\"title\":");
	if (title == NULL)
		json_str(b, "", 0);
	else
		json_str(b, title, title_len);
	buf_str(b, ",\"date\":");
	json_cstr(b, date);
	buf_str(b, ",\"user\":");
	buf_u64(b, user);
	buf_str(b, "}");
}

char *
treq_todo_json(uint64_t id, const char *title, size_t title_len,
    const char *date, uint64_t user)
{
	struct buf b = {0};

	todo_obj(&b, id, title, title_len, date, user);
	return buf_finish(&b);
}

char *
treq_list_json(const struct treq_item *items, size_t n, int paginated,
    uint64_t count, const char *next_url, const char *prev_url)
{
	struct buf b = {0};
	size_t i;

	if (paginated) {
		buf_str(&b, "{\"count\":");
		buf_u64(&b, count);
		buf_str(&b, ",\"next\":");
		json_cstr(&b, next_url);
		buf_str(&b, ",\"previous\":");
		json_cstr(&b, prev_url);
		buf_str(&b, ",\"results\":");
	}
	buf_str(&b, "[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_str(&b, ",");
		todo_obj(&b, items[i].id, items[i].title, items[i].title_len,
		    items[i].date, items[i].user);
	}
	buf_str(&b, paginated ? "]}" : "]");
	return buf_finish(&b);
}

/* replace_query_param() output: keys sorted, so limit comes first. */
static char *
page_url(const char *base, uint64_t limit, int with_offset, uint64_t offset)
{
	struct buf b = {0};

	buf_str(&b, base != NULL ? base : "");
	buf_str(&b, "?limit=");
	buf_u64(&b, limit);
	if (with_offset) {
		buf_str(&b, "&offset=");
		buf_u64(&b, offset);
	}
	return buf_finish(&b);
}

/*
 * get_next_link(): none once offset + limit reaches count.
 * get_previous_link(): none at offset 0; the offset parameter is removed
 * when offset - limit <= 0.  Other query parameters are not carried over
 * (DRF keeps them), since base_url has none.
 */
int
treq_page_links(const char *base_url, uint64_t count, uint64_t limit,
    uint64_t offset, char **next, char **prev)
{
	*next = NULL;
	*prev = NULL;
	if (limit < count && offset < count - limit &&
	    (*next = page_url(base_url, limit, 1, offset + limit)) == NULL)
		goto fail;
	if (offset > 0 &&
	    (*prev = page_url(base_url, limit, offset > limit,
		 offset > limit ? offset - limit : 0)) == NULL)
		goto fail;
	return 0;
fail:
	free(*next);
	*next = NULL;
	return -1;
}

char *
treq_root_json(const char *host)
{
	struct buf b = {0};
	char *url, *out;

	buf_str(&b, "http://");
	buf_str(&b, host != NULL ? host : "");
	buf_str(&b, "/todo/");
	if ((url = buf_finish(&b)) == NULL)
		return NULL;
	b = (struct buf){0};
	buf_str(&b, "{\"todo\":");
	json_cstr(&b, url);
	buf_str(&b, "}");
	free(url);
	out = buf_finish(&b);
	return out;
}

static void
json_msgs(struct buf *b, const char *const *msgs, size_t n)
{
	size_t i;

	buf_str(b, "[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_str(b, ",");
		json_cstr(b, msgs[i]);
	}
	buf_str(b, "]");
}

/* Serializer errors: one key per failed field, in field order. */
char *
treq_field_errs_json(const struct field_errs *e)
{
	struct buf b = {0};

	buf_str(&b, "{");
	if (e->ntitle > 0) {
		buf_str(&b, "\"title\":");
		json_msgs(&b, e->title, e->ntitle);
	}
	if (e->date != NULL) {
		buf_str(&b, e->ntitle > 0 ? ",\"date\":" : "\"date\":");
		json_msgs(&b, &e->date, 1);
	}
	buf_str(&b, "}");
	return buf_finish(&b);
}

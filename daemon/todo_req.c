/*
 * todo_req.c - the request head for todod, matching what Django REST
 * Framework 3.11 on Django 3.0 does for the seed's API behind a
 * DefaultRouter and LimitOffsetPagination: routing, the Authorization
 * header, the query string, the Host header, the Content-Type header, and
 * the text rules (Python's strict UTF-8, str.strip(), unquote(), dates)
 * that todo_body.c, which reads and validates bodies, shares.  The JSON
 * todod sends is written by todo_json.c.
 *
 * Called by the evhttp glue (http_todo.c), by todo_body.c, and by the unit
 * and fuzz tests.  Pure functions: no I/O, no global state, no libevent.
 *
 * Invariants:
 * - request text is checked with Python's strict UTF-8 rules (the same
 *   decoder, treq_utf8_seq(), that todo_json.c escapes with) before it is
 *   used;
 * - nothing here allocates: results point into the caller's text or into
 *   the caller's buffers.
 *
 * Matched: QueryDict rules ('&' separates, '+' is space, last value
 * wins), Python's int() for limit and offset, DRF's media type matching
 * (the header decoded as latin-1, as WSGI does).
 * Stricter than DRF, on purpose: dates must be exactly YYYY-MM-DD.
 * Approximated, on purpose: non-ASCII Unicode digits are not digits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "todo_req.h"
#include "todo_req_priv.h"

int
treq_utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, k, bad;
	uint32_t cp;

	for (i = 0; i < n; i += k)
		if ((k = treq_utf8_seq(u + i, n - i, &cp, &bad)) == 0)
			return 0;
	return 1;
}

/* Python's str.isspace(). */
static int
py_isspace(uint32_t c)
{
	if (c <= 0x20)
		return (c >= 0x09 && c <= 0x0d) || c >= 0x1c;
	return c == 0x85 || c == 0xa0 || c == 0x1680 ||
	    (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
	    c == 0x202f || c == 0x205f || c == 0x3000;
}

/* Python's str.strip() on valid UTF-8, in place on (*s, *n). */
void
treq_py_strip(const char **s, size_t *n)
{
	const unsigned char *u = (const unsigned char *)*s;
	size_t a = 0, z = *n, k, bad;
	uint32_t cp;

	while (a < z && (k = treq_utf8_seq(u + a, z - a, &cp, &bad)) != 0 &&
	    py_isspace(cp))
		a += k;
	while (z > a) {
		for (k = z - 1; k > a && (u[k] & 0xc0) == 0x80; k--)
			continue;
		if (treq_utf8_seq(u + k, z - k, &cp, &bad) == 0 ||
		    !py_isspace(cp))
			break;
		z = k;
	}
	*s += a;
	*n = z - a;
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
hex_value(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Python's unquote() into out (room for n bytes): "%XY" becomes a byte, a
 * malformed escape stays as it is, and with plus '+' becomes a space.
 */
size_t
treq_pct_decode(const char *s, size_t n, char *out, int plus)
{
	size_t i, o = 0;
	int hi, lo;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && n - i >= 3 &&
		    (hi = hex_value(s[i + 1])) >= 0 &&
		    (lo = hex_value(s[i + 2])) >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+' && plus)
			out[o++] = ' ';
		else
			out[o++] = s[i];
	}
	return o;
}

/*
 * The decimal id of "/todo/<id>/": 1..2^63-1, no sign, no leading zero.
 * Django would also take "007" or "+7" (int() of the pk), and send any
 * [^/.]+ to the detail view to 404 there; we answer 404 directly.
 */
static int
parse_id(const char *s, size_t n, uint64_t *id)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 19 || s[0] == '0')
		return 0;
	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return 0;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > INT64_MAX)
		return 0;
	*id = v;
	return 1;
}

enum treq_route
treq_route(const char *path, uint64_t *id)
{
	char p[3 * 32];
	size_t n;

	*id = 0;
	if (path == NULL || (n = strlen(path)) > sizeof(p))
		return TREQ_NOTFOUND;
	n = treq_pct_decode(path, n, p, 0);
	if (n == 0 || (n == 1 && p[0] == '/'))
		return TREQ_ROOT;
	if (n < 6 || memcmp(p, "/todo/", 6) != 0)
		return TREQ_NOTFOUND;
	if (n == 6)
		return TREQ_LIST;
	if (p[n - 1] != '/' || !parse_id(p + 6, n - 7, id))
		return TREQ_NOTFOUND;
	return TREQ_ITEM;
}

/* What DRF lists: the viewset's actions, HEAD with GET, and OPTIONS. */
const char *
treq_allow(enum treq_route route)
{
	switch (route) {
	case TREQ_ROOT:
		return "GET, HEAD, OPTIONS";
	case TREQ_LIST:
		return "GET, POST, HEAD, OPTIONS";
	case TREQ_ITEM:
		return "GET, PUT, PATCH, DELETE, HEAD, OPTIONS";
	default:
		return NULL;
	}
}

/* Whitespace for Python's bytes.split(). */
static int
is_bspace(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int
ascii_ieq(const char *a, const char *b, size_t n)
{
	size_t i;
	int x, y;

	for (i = 0; i < n; i++) {
		x = (unsigned char)a[i];
		y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x += 'a' - 'A';
		if (y >= 'A' && y <= 'Z')
			y += 'a' - 'A';
		if (x != y)
			return 0;
	}
	return 1;
}

/* The seed: header.split(); keyword.lower() == b"bearer"; 2 parts. */
enum treq_auth
treq_parse_auth(const char *header, const char **token, size_t *len)
{
	const char *word[3], *p = header;
	size_t wlen[3], nw = 0;

	*token = NULL;
	*len = 0;
	while (p != NULL && nw < 3) {
		while (is_bspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		word[nw] = p;
		p += strcspn(p, " \t\n\v\f\r");	/* is_bspace() */
		wlen[nw] = (size_t)(p - word[nw]);
		nw++;
	}
	if (nw == 0 || wlen[0] != 6 || !ascii_ieq(word[0], "bearer", 6))
		return TREQ_AUTH_NONE;
	if (nw != 2)
		return TREQ_AUTH_BAD;
	*token = word[1];
	*len = wlen[1];
	return TREQ_AUTH_TOKEN;
}

/*
 * The next field of a urlencoded string.  Django 3.0.6 also split on ';';
 * 3.0.13 stopped (CVE-2021-23336), and so do we.
 */
int
treq_form_next(const char **sp, const char *end, struct treq_pair *p)
{
	const char *s = *sp, *f, *fe, *eq;

	while (s < end) {
		f = s;
		while (s < end && *s != '&')
			s++;
		fe = s;
		if (s < end)
			s++;
		if (fe == f)
			continue;
		eq = memchr(f, '=', (size_t)(fe - f));
		p->k = f;
		p->kn = (size_t)((eq != NULL ? eq : fe) - f);
		p->v = eq != NULL ? eq + 1 : fe;
		p->vn = (size_t)(fe - p->v);
		*sp = s;
		return 1;
	}
	*sp = s;
	return 0;
}

/* Whether a raw (still encoded) key decodes to word. */
static int
key_is(const char *k, size_t kn, const char *word)
{
	char tmp[32];
	size_t n, wn = strlen(word);

	if (kn > sizeof(tmp))
		return 0;
	n = treq_pct_decode(k, kn, tmp, 1);
	return n == wn && memcmp(tmp, word, wn) == 0;
}

/*
 * Python's int(s) restricted to ASCII digits: surrounding whitespace, one
 * sign, single '_' between digits.  Saturates at INT64_MAX.  1 if s is an
 * int, with *neg set for a negative one.
 */
static int
py_int(const char *s, size_t n, int *neg, uint64_t *v)
{
	size_t i = 0;
	int ndig = 0;
	uint64_t d;

	*neg = 0;
	*v = 0;
	if (!treq_utf8_valid(s, n))
		return 0;
	treq_py_strip(&s, &n);
	if (n > 0 && (s[0] == '+' || s[0] == '-'))
		*neg = s[i++] == '-';
	for (; i < n; i++) {
		if (s[i] == '_' && ndig > 0 && i + 1 < n && is_digit(s[i + 1]))
			continue;
		if (!is_digit(s[i]))
			return 0;
		ndig++;
		d = (uint64_t)(s[i] - '0');
		*v = *v > (INT64_MAX - d) / 10 ? INT64_MAX : *v * 10 + d;
	}
	return ndig > 0;
}

/*
 * DRF's _positive_int() of a raw query value: 1 with *v set, 0 when DRF
 * would fall back (ValueError), -1 when out of memory.
 */
static int
query_uint(const char *raw, size_t rn, int strict, uint64_t *v)
{
	char *s;
	size_t n;
	int neg, ok;

	if ((s = malloc(rn + 1)) == NULL)
		return -1;
	n = treq_pct_decode(raw, rn, s, 1);
	ok = py_int(s, n, &neg, v) && !(neg && *v > 0) && !(strict && *v == 0);
	free(s);
	return ok;
}

/*
 * default_limit is None (no PAGE_SIZE in the seed), so only a valid limit
 * paginates; max_limit is TREQ_MAX_LIMIT.  Last value of a key wins.
 */
int
treq_parse_query(
    const char *query, int *paginated, uint64_t *limit, uint64_t *offset)
{
	struct treq_pair p, lim = {0}, off = {0};
	const char *s = query, *end;
	int have_lim = 0, have_off = 0, rc;
	uint64_t v;

	*paginated = 0;
	*limit = 0;
	*offset = 0;
	if (query == NULL)
		return 0;
	for (end = s + strlen(s); treq_form_next(&s, end, &p);) {
		if (key_is(p.k, p.kn, "limit")) {
			lim = p;
			have_lim = 1;
		} else if (key_is(p.k, p.kn, "offset")) {
			off = p;
			have_off = 1;
		}
	}
	if (have_lim) {
		if ((rc = query_uint(lim.v, lim.vn, 1, &v)) == -1)
			return -1;
		if (rc == 1) {
			*paginated = 1;
			*limit = v < TREQ_MAX_LIMIT ? v : TREQ_MAX_LIMIT;
		}
	}
	if (have_off) {
		if ((rc = query_uint(off.v, off.vn, 0, &v)) == -1)
			return -1;
		if (rc == 1)
			*offset = v;
	}
	return 0;
}

static int
date_exists(int y, int m, int d)
{
	static const int mdays[12] = {
	    31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (y < 1 || y > 9999 || m < 1 || m > 12 || d < 1)
		return 0;
	return d <= mdays[m - 1] + (m == 2 && leap);
}

/* "YYYY-MM-DD" for a date that date_exists(). */
static void
format_date(char out[11], int y, int m, int d)
{
	int v[3] = {y, m, d}, w[3] = {4, 2, 2}, i, k, o = 0;

	for (i = 0; i < 3; i++) {
		for (k = w[i] - 1; k >= 0; k--, v[i] /= 10)
			out[o + k] = (char)('0' + v[i] % 10);
		o += w[i];
		out[o++] = i < 2 ? '-' : '\0';
	}
}

/* Reads min..max ASCII digits at s[*i]; 1 on success. */
static int
read_digits(const char *s, size_t n, size_t *i, int min, int max, int *v)
{
	int k;

	*v = 0;
	for (k = 0; k < max && *i < n && is_digit(s[*i]); k++, (*i)++)
		*v = *v * 10 + (s[*i] - '0');
	return k >= min;
}

/*
 * Strictly YYYY-MM-DD, as the contract says, and a day that exists.
 * (Django's parse_date() would also take one-digit months and days and a
 * trailing newline; clients of the seed send ISO dates.)
 */
int
treq_parse_date(const char *s, size_t n, char out[11])
{
	size_t i = 0;
	int y, m, d;

	if (!read_digits(s, n, &i, 4, 4, &y) || i >= n || s[i++] != '-' ||
	    !read_digits(s, n, &i, 2, 2, &m) || i >= n || s[i++] != '-' ||
	    !read_digits(s, n, &i, 2, 2, &d) || i != n || !date_exists(y, m, d))
		return 0;
	format_date(out, y, m, d);
	return 1;
}

int
treq_valid_date(const char *s, size_t len)
{
	size_t i = 0;
	int y, m, d;

	return s != NULL && len == 10 && read_digits(s, len, &i, 4, 4, &y) &&
	    s[i++] == '-' && read_digits(s, len, &i, 2, 2, &m) &&
	    s[i++] == '-' && read_digits(s, len, &i, 2, 2, &d) &&
	    date_exists(y, m, d);
}

int
treq_today(char out[11])
{
	struct tm tm;
	time_t now;

	if (time(&now) == (time_t)-1 || gmtime_r(&now, &tm) == NULL ||
	    !date_exists(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday))
		return -1;
	format_date(out, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	return 0;
}

static int
is_alnum(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/*
 * Django's host_validation_re, applied to the lowered host:
 * ^([a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9\.:]+\])(:\d+)?$
 */
int
treq_valid_host(const char *h)
{
	size_t i = 0, n, start;

	if (h == NULL || (n = strlen(h)) == 0 || n > 255)
		return 0;
	if (h[0] == '[') {
		for (i = 1; i < n && hex_value(h[i]) >= 0; i++)
			continue;
		if (i >= n || h[i] != ':')
			return 0;
		for (start = ++i; i < n &&
		     (hex_value(h[i]) >= 0 || h[i] == '.' || h[i] == ':');
		     i++)
			continue;
		if (i == start || i >= n || h[i++] != ']')
			return 0;
	} else {
		while (i < n && (is_alnum(h[i]) || h[i] == '.' || h[i] == '-'))
			i++;
		if (i == 0)
			return 0;
	}
	if (i == n)
		return 1;
	if (h[i++] != ':' || i == n)
		return 0;
	while (i < n && is_digit(h[i]))
		i++;
	return i == n;
}

/* Python's bytes.strip(), in place. */
static void
bstrip(const char **s, size_t *n)
{
	while (*n > 0 && is_bspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && is_bspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

static int
word_is(const char *s, size_t n, const char *word)
{
	return n == strlen(word) && ascii_ieq(s, word, n);
}

/*
 * The next ';'-separated part of a header, as Django's parse_header()
 * cuts it: a ';' inside an odd number of quotes does not split.
 */
static int
header_part(const char **sp, const char *end, const char **part, size_t *n)
{
	const char *s = *sp, *q;
	int quotes = 0;

	if (s == NULL)
		return 0;
	for (q = s; q < end; q++) {
		if (*q == '"')
			quotes++;
		else if (*q == ';' && (q == s || quotes % 2 == 0))
			break;
	}
	*part = s;
	*n = (size_t)(q - s);
	bstrip(part, n);
	*sp = q < end ? q + 1 : NULL;
	return 1;
}

/* Whether Python's codecs.lookup() takes this charset for UTF-8. */
static int
charset_is_utf8(const char *v, size_t n)
{
	static const char *const alias[] = {
	    "utf_8", "utf8", "u8", "utf", "utf8_ucs2", "utf8_ucs4", "cp65001"};
	char norm[16];
	size_t i, o = 0;
	int punct = 0, c;

	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		v++;
		n -= 2;
	}
	if (n == 0)
		return 1; /* no codec "": Django keeps UTF-8 */
	for (i = 0; i < n && o < sizeof(norm) - 2; i++) {
		c = (unsigned char)v[i];
		if (c >= 0x80)
			return 0;
		if (!is_alnum(c) && c != '.') {
			punct = 1;
			continue;
		}
		if (punct && o > 0)
			norm[o++] = '_';
		if (c == '.')
			c = '_';
		else if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		norm[o++] = (char)c;
		punct = 0;
	}
	norm[o] = '\0';
	for (i = 0; i < sizeof(alias) / sizeof(alias[0]); i++)
		if (strcmp(norm, alias[i]) == 0)
			return 1;
	return 0;
}

/* DRF's parser choice: JSONParser, FormParser, then MultiPartParser. */
static enum treq_media
media_match(const char *t, size_t n)
{
	const char *slash = memchr(t, '/', n), *sub;
	size_t mn = slash != NULL ? (size_t)(slash - t) : n, sn;
	int any_main = word_is(t, mn, "*"), any_sub;

	sub = slash != NULL ? slash + 1 : t + n;
	sn = (size_t)(t + n - sub);
	any_sub = word_is(sub, sn, "*");
	if (!any_main && !word_is(t, mn, "application"))
		return TREQ_MEDIA_OTHER;
	if (any_sub || word_is(sub, sn, "json"))
		return TREQ_MEDIA_JSON;
	if (word_is(sub, sn, "x-www-form-urlencoded"))
		return TREQ_MEDIA_FORM;
	return TREQ_MEDIA_OTHER;
}

/*
 * The parser for a Content-Type header, and whether its charset (the
 * last one given; none means UTF-8) is UTF-8.
 */
enum treq_media
treq_media_kind(const char *ct, int *utf8)
{
	const char *s = ct, *end = ct + strlen(ct), *part, *eq, *name, *v;
	enum treq_media kind = TREQ_MEDIA_OTHER;
	size_t n, nn, vn;
	int first = 1;

	*utf8 = 1;
	while (header_part(&s, end, &part, &n)) {
		if (first) {
			kind = media_match(part, n);
			first = 0;
			continue;
		}
		if ((eq = memchr(part, '=', n)) == NULL)
			continue;
		name = part;
		nn = (size_t)(eq - part);
		bstrip(&name, &nn);
		if (!word_is(name, nn, "charset"))
			continue;
		v = eq + 1;
		vn = (size_t)(part + n - v);
		bstrip(&v, &vn);
		*utf8 = charset_is_utf8(v, vn);
	}
	return kind;
}

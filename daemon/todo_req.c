/*
 * todo_req.c - request parsing and validation for todod, matching what
 * Django REST Framework 3.11 on Django 3.0 does for the seed's
 * ModelSerializer (id read-only, title CharField, date DateField, user
 * read-only) behind a DefaultRouter and LimitOffsetPagination: routing,
 * the Authorization header, the query string, JSON and form bodies, and
 * field validation.  The JSON todod sends is written by todo_json.c.
 *
 * Called by the evhttp glue (http_todo.c) and by the unit and fuzz tests.
 * Pure functions: no I/O, no global state, no libevent.
 *
 * Invariants:
 * - request text is checked with Python's strict UTF-8 rules (the same
 *   decoder, treq_utf8_seq(), that todo_json.c escapes with) before it is
 *   used, so an accepted title can be stored and echoed unchanged;
 * - every error body comes from todo_json.c, so it is valid JSON whatever
 *   bytes came in;
 * - nothing recurses on input: JSON depth is bounded before jansson runs.
 *
 * Matched: field messages and their order, CharField's str() of numbers
 * and str.strip(), QueryDict rules ('&' separates, '+'
 * is space, last value wins, empty form date = absent), DRF's media
 * type matching and 415 text (the header decoded as latin-1, as WSGI
 * does), an empty body parsing as no data, Python's int() for limit and
 * offset, the UnicodeDecodeError text for a non-UTF-8 JSON body (and the
 * silent drop of a sequence cut short at its end).
 * Stricter than DRF, on purpose: dates must be exactly YYYY-MM-DD.
 * Approximated, on purpose: other JSON syntax errors carry jansson's text;
 * integers beyond 64 bits, floats beyond double range, lone surrogate
 * escapes and "\u0000" in keys are parse errors (Python accepts them);
 * nesting beyond TREQ_JSON_MAX_DEPTH is a parse error (Python: 500);
 * a charset other than UTF-8 and multipart/form-data answer 415 (DRF
 * transcodes or parses them); invalid UTF-8 in a form answers 400 where
 * Django would substitute U+FFFD; non-ASCII Unicode digits are not digits.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "todo_req.h"
#include "todo_req_priv.h"

#define XSTR(x) STR(x)
#define STR(x) #x

#define MSG_REQUIRED "This field is required."
#define MSG_NULL "This field may not be null."
#define MSG_BLANK "This field may not be blank."
#define MSG_NOT_STRING "Not a valid string."
#define MSG_TOO_LONG                                                           \
	"Ensure this field has no more than " XSTR(                            \
	    TREQ_TITLE_MAX) " characters."
#define MSG_NUL_CHAR "Null characters are not allowed."
#define MSG_DATE                                                               \
	"Date has wrong format. Use one of these formats "                     \
	"instead: YYYY-MM-DD."
#define MSG_NO_DATA "No data provided"

/* One field's value as the serializer sees it. */
enum raw_kind {
	RAW_ABSENT,
	RAW_NULL,
	RAW_TEXT,
	RAW_NUMBER, /* JSON number, already in Python's str() form */
	RAW_OTHER /* bool, list, dict */
};

struct raw {
	enum raw_kind kind;
	const char *s;
	size_t n;
	char num[40];
};

struct pair {
	const char *k;
	size_t kn;
	const char *v;
	size_t vn;
};

enum media { MEDIA_JSON, MEDIA_FORM, MEDIA_OTHER };

static int
utf8_valid(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i, k, bad;
	uint32_t cp;

	for (i = 0; i < n; i += k)
		if ((k = treq_utf8_seq(u + i, n - i, &cp, &bad)) == 0)
			return 0;
	return 1;
}

/*
 * How much of a JSON body Python decodes: DRF reads it through
 * codecs.getreader("utf-8"), which raises on a bad sequence but silently
 * keeps back one cut short at the very end.  (size_t)-1 and Python's
 * UnicodeDecodeError text in why on a bad sequence.
 */
static size_t
utf8_py_prefix(const char *s, size_t n, char *why, size_t whylen)
{
	const unsigned char *u = (const unsigned char *)s;
	const char *reason;
	size_t i, k, bad;
	uint32_t cp;

	for (i = 0; i < n; i += k) {
		if ((k = treq_utf8_seq(u + i, n - i, &cp, &bad)) != 0)
			continue;
		if (bad == 0)
			return i;
		reason = u[i] < 0xc2 || u[i] > 0xf4
		    ? "invalid start byte"
		    : "invalid continuation byte";
		if (bad == 1)
			snprintf(why, whylen,
			    "'utf-8' codec can't decode "
			    "byte 0x%02x in position %zu: %s",
			    u[i], i, reason);
		else
			snprintf(why, whylen,
			    "'utf-8' codec can't decode "
			    "bytes in position %zu-%zu: %s",
			    i, i + bad - 1, reason);
		return (size_t)-1;
	}
	return n;
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
static void
py_strip(const char **s, size_t *n)
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

/*
 * Python's repr() of a finite double: the shortest digits that read back
 * the same, in exponent form when the decimal point is far away.  out
 * must hold 40 bytes.
 */
static void
py_float_repr(double x, char *out, size_t outlen)
{
	char tmp[40], dig[20];
	int prec, decpt, nd = 0, i, o = 0;
	const char *p;

	if (isnan(x) || isinf(x)) {
		if (isnan(x))
			snprintf(out, outlen, "nan");
		else
			snprintf(out, outlen, "%sinf", x < 0 ? "-" : "");
		return;
	}
	for (prec = 0; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec, x);
		if (strtod(tmp, NULL) == x)
			break;
	}
	p = tmp;
	if (*p == '-')
		out[o++] = *p++;
	for (; *p != 'e'; p++)
		if (*p != '.')
			dig[nd++] = *p;
	decpt = atoi(p + 1) + 1;
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	if (decpt <= -4 || decpt > 16) {
		out[o++] = dig[0];
		if (nd > 1)
			out[o++] = '.';
		for (i = 1; i < nd; i++)
			out[o++] = dig[i];
		snprintf(out + o, outlen - o, "e%+03d", decpt - 1);
		return;
	}
	if (decpt <= 0) {
		out[o++] = '0';
		out[o++] = '.';
		for (i = decpt; i < 0; i++)
			out[o++] = '0';
	}
	for (i = 0; i < nd || i < decpt; i++) {
		if (i == decpt && decpt > 0)
			out[o++] = '.';
		out[o++] = i < nd ? dig[i] : '0';
	}
	if (decpt >= nd)
		strcpy(out + o, ".0");
	else
		out[o] = '\0';
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
static size_t
pct_decode(const char *s, size_t n, char *out, int plus)
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
	n = pct_decode(path, n, p, 0);
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
static int
form_next(const char **sp, const char *end, struct pair *p)
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
	n = pct_decode(k, kn, tmp, 1);
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
	if (!utf8_valid(s, n))
		return 0;
	py_strip(&s, &n);
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
	n = pct_decode(raw, rn, s, 1);
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
	struct pair p, lim = {0}, off = {0};
	const char *s = query, *end;
	int have_lim = 0, have_off = 0, rc;
	uint64_t v;

	*paginated = 0;
	*limit = 0;
	*offset = 0;
	if (query == NULL)
		return 0;
	for (end = s + strlen(s); form_next(&s, end, &p);) {
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
static int
parse_date(const char *s, size_t n, char out[11])
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
static enum media
media_match(const char *t, size_t n)
{
	const char *slash = memchr(t, '/', n), *sub;
	size_t mn = slash != NULL ? (size_t)(slash - t) : n, sn;
	int any_main = word_is(t, mn, "*"), any_sub;

	sub = slash != NULL ? slash + 1 : t + n;
	sn = (size_t)(t + n - sub);
	any_sub = word_is(sub, sn, "*");
	if (!any_main && !word_is(t, mn, "application"))
		return MEDIA_OTHER;
	if (any_sub || word_is(sub, sn, "json"))
		return MEDIA_JSON;
	if (word_is(sub, sn, "x-www-form-urlencoded"))
		return MEDIA_FORM;
	return MEDIA_OTHER;
}

/*
 * The parser for a Content-Type header, and whether its charset (the
 * last one given; none means UTF-8) is UTF-8.
 */
static enum media
media_kind(const char *ct, int *utf8)
{
	const char *s = ct, *end = ct + strlen(ct), *part, *eq, *name, *v;
	enum media kind = MEDIA_OTHER;
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

static size_t
utf8_chars(const char *s, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += ((unsigned char)s[i] & 0xc0) != 0x80;
	return c;
}

/*
 * CharField(allow_blank=False, trim_whitespace=True): the blank check on
 * the stripped text, then our max length and ProhibitNullCharacters, in
 * validator order.  1 with the stripped title in (*s, *n) if accepted.
 */
static int
check_title(const struct raw *r, int partial, struct field_errs *e,
    const char **s, size_t *n)
{
	switch (r->kind) {
	case RAW_ABSENT:
		if (!partial)
			e->title[e->ntitle++] = MSG_REQUIRED;
		return 0;
	case RAW_NULL:
		e->title[e->ntitle++] = MSG_NULL;
		return 0;
	case RAW_OTHER:
		e->title[e->ntitle++] = MSG_NOT_STRING;
		return 0;
	default:
		break;
	}
	*s = r->s;
	*n = r->n;
	py_strip(s, n);
	if (*n == 0) {
		e->title[e->ntitle++] = MSG_BLANK;
		return 0;
	}
	if (utf8_chars(*s, *n) > TREQ_TITLE_MAX)
		e->title[e->ntitle++] = MSG_TOO_LONG;
	if (memchr(*s, '\0', *n) != NULL)
		e->title[e->ntitle++] = MSG_NUL_CHAR;
	return e->ntitle == 0;
}

/* DateField(required=False), no serializer default: absent is skipped. */
static void
check_date(const struct raw *r, struct field_errs *e, struct treq_todo *out)
{
	switch (r->kind) {
	case RAW_ABSENT:
		return;
	case RAW_NULL:
		e->date = MSG_NULL;
		return;
	case RAW_TEXT:
		if (parse_date(r->s, r->n, out->date)) {
			out->has_date = 1;
			return;
		}
		/* FALLTHROUGH */
	default:
		e->date = MSG_DATE;
	}
}

static int
validate(const struct raw *title, const struct raw *date, int partial,
    struct treq_todo *out, char **err_json)
{
	struct field_errs e = {{NULL, NULL}, 0, NULL};
	const char *s = NULL;
	size_t n = 0;
	int ok;

	ok = check_title(title, partial, &e, &s, &n);
	check_date(date, &e, out);
	if (e.ntitle > 0 || e.date != NULL) {
		*err_json = treq_field_errs_json(&e);
		return *err_json != NULL ? 400 : -1;
	}
	if (!ok)
		return 0;
	if ((out->title = malloc(n + 1)) == NULL)
		return -1;
	memcpy(out->title, s, n);
	out->title[n] = '\0';
	out->title_len = n;
	out->has_title = 1;
	return 0;
}

/* type(data).__name__ for what json.loads() can return. */
static const char *
py_type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_ARRAY:
		return "list";
	case JSON_STRING:
		return "str";
	case JSON_INTEGER:
		return "int";
	case JSON_REAL:
		return "float";
	case JSON_TRUE:
	case JSON_FALSE:
		return "bool";
	case JSON_NULL:
		return "NoneType";
	default:
		return "dict";
	}
}

static void
raw_from_json(const json_t *j, struct raw *r)
{
	r->kind = RAW_OTHER;
	if (j == NULL)
		r->kind = RAW_ABSENT;
	else if (json_is_null(j))
		r->kind = RAW_NULL;
	else if (json_is_string(j)) {
		r->kind = RAW_TEXT;
		r->s = json_string_value(j);
		r->n = json_string_length(j);
	} else if (json_is_number(j)) {
		r->kind = RAW_NUMBER;
		if (json_is_integer(j))
			snprintf(r->num, sizeof(r->num), "%lld",
			    (long long)json_integer_value(j));
		else
			py_float_repr(
			    json_real_value(j), r->num, sizeof(r->num));
		r->s = r->num;
		r->n = strlen(r->num);
	}
}

/* Whether no array or object in s nests deeper than TREQ_JSON_MAX_DEPTH. */
static int
json_depth_ok(const char *s, size_t n)
{
	size_t i;
	int depth = 0, in_str = 0;

	for (i = 0; i < n && depth >= 0; i++) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = 0;
		} else if (s[i] == '"')
			in_str = 1;
		else if (s[i] == '[' || s[i] == '{') {
			if (++depth > TREQ_JSON_MAX_DEPTH)
				return 0;
		} else if (s[i] == ']' || s[i] == '}')
			depth--;
	}
	return 1;
}

/*
 * JSONParser, then the serializer's "is it a dictionary" check.  0 with
 * *root an object, 400 with *err, or -1.  A depth beyond the cap stops
 * here; jansson then never recurses deeply.
 */
static int
json_body(const char *body, size_t len, json_t **root, char **err)
{
	char why[256];
	json_error_t je;
	size_t n;

	if ((n = utf8_py_prefix(body, len, why, sizeof(why))) == (size_t)-1)
		goto syntax;
	if (!json_depth_ok(body, n)) {
		snprintf(why, sizeof(why), "nesting deeper than %d levels",
		    TREQ_JSON_MAX_DEPTH);
		goto syntax;
	}
	*root = json_loadb(body, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (*root == NULL) {
		if (json_error_code(&je) == json_error_out_of_memory)
			return -1;
		snprintf(why, sizeof(why), "%s: line %d column %d", je.text,
		    je.line, je.column);
		goto syntax;
	}
	if (json_is_object(*root))
		return 0;
	if (json_is_null(*root))
		*err = treq_one_error_json("non_field_errors", MSG_NO_DATA);
	else {
		snprintf(why, sizeof(why),
		    "Invalid data. Expected a "
		    "dictionary, but got %s.",
		    py_type_name(*root));
		*err = treq_one_error_json("non_field_errors", why);
	}
	return *err != NULL ? 400 : -1;
syntax:
	*err = treq_prefixed_detail_json("JSON parse error - ", why);
	return *err != NULL ? 400 : -1;
}

/*
 * FormParser: QueryDict(body), the last value of a key wins, an empty
 * date is no date.  Django would put U+FFFD for bytes that are not UTF-8;
 * we refuse such a title instead of storing it, and let such a date fail
 * as a date.  Decoded text lives in *scratch.  0, 400 with *err, or -1.
 */
static int
form_body(const char *body, size_t len, struct raw *title, struct raw *date,
    char **scratch, char **err)
{
	const char *s = body, *end = body + len;
	struct raw *r;
	struct pair p;
	size_t o = 0, kn, vn;
	char *d;

	if ((*scratch = d = malloc(len + 1)) == NULL)
		return -1;
	while (form_next(&s, end, &p)) {
		kn = pct_decode(p.k, p.kn, d + o, 1);
		vn = pct_decode(p.v, p.vn, d + o + kn, 1);
		r = NULL;
		if (kn == 5 && memcmp(d + o, "title", 5) == 0)
			r = title;
		else if (kn == 4 && memcmp(d + o, "date", 4) == 0)
			r = date;
		if (r != NULL) {
			r->kind = vn == 0 && r == date ? RAW_ABSENT : RAW_TEXT;
			r->s = d + o + kn;
			r->n = vn;
		}
		o += kn + vn;
	}
	if (title->kind == RAW_TEXT && !utf8_valid(title->s, title->n)) {
		*err = treq_detail_json("Form parse error - invalid UTF-8.");
		return *err != NULL ? 400 : -1;
	}
	return 0;
}

void
treq_todo_clear(struct treq_todo *todo)
{
	if (todo == NULL)
		return;
	free(todo->title);
	memset(todo, 0, sizeof(*todo));
}

int
treq_parse_body(const char *content_type, const char *body, size_t len,
    int partial, struct treq_todo *out, char **err_json)
{
	const char *ct = content_type != NULL ? content_type : "";
	struct raw title = {.kind = RAW_ABSENT};
	struct raw date = {.kind = RAW_ABSENT};
	json_t *root = NULL;
	char *scratch = NULL;
	int rc = 0, utf8 = 0;

	memset(out, 0, sizeof(*out));
	*err_json = NULL;
	if (len > 0) {
		switch (media_kind(ct, &utf8)) {
		case MEDIA_JSON:
			if (utf8 &&
			    (rc = json_body(body, len, &root, err_json)) == 0) {
				raw_from_json(
				    json_object_get(root, "title"), &title);
				raw_from_json(
				    json_object_get(root, "date"), &date);
			}
			break;
		case MEDIA_FORM:
			if (utf8)
				rc = form_body(body, len, &title, &date,
				    &scratch, err_json);
			break;
		default:
			utf8 = 0;
		}
		if (!utf8) {
			*err_json = treq_unsupported_json(ct);
			rc = *err_json != NULL ? 415 : -1;
		}
	}
	if (rc == 0)
		rc = validate(&title, &date, partial, out, err_json);
	json_decref(root);
	free(scratch);
	if (rc != 0)
		treq_todo_clear(out);
	return rc;
}

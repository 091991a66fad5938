/*
 * todo_body.c - request bodies for todod, matching what Django REST
 * Framework 3.11 on Django 3.0 does for the seed's ModelSerializer (id
 * read-only, title CharField, date DateField, user read-only): JSON and
 * form bodies, and field validation.  The request head (route, query,
 * headers) is todo_req.c's; the JSON todod sends is written by
 * todo_json.c.
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
 * and str.strip(), the form's QueryDict rules (an empty form date is
 * absent), DRF's 415 text, an empty body parsing as no data, the
 * UnicodeDecodeError text for a non-UTF-8 JSON body (and the silent drop
 * of a sequence cut short at its end).
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
	treq_py_strip(s, n);
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
		if (treq_parse_date(r->s, r->n, out->date)) {
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
	struct treq_pair p;
	size_t o = 0, kn, vn;
	char *d;

	if ((*scratch = d = malloc(len + 1)) == NULL)
		return -1;
	while (treq_form_next(&s, end, &p)) {
		kn = treq_pct_decode(p.k, p.kn, d + o, 1);
		vn = treq_pct_decode(p.v, p.vn, d + o + kn, 1);
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
	if (title->kind == RAW_TEXT && !treq_utf8_valid(title->s, title->n)) {
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
		switch (treq_media_kind(ct, &utf8)) {
		case TREQ_MEDIA_JSON:
			if (utf8 &&
			    (rc = json_body(body, len, &root, err_json)) == 0) {
				raw_from_json(
				    json_object_get(root, "title"), &title);
				raw_from_json(
				    json_object_get(root, "date"), &date);
			}
			break;
		case TREQ_MEDIA_FORM:
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

/*
 * fuzz_todo_req.c - libFuzzer target for daemon/todo_req.c and todo_body.c.
 *
 * Input: one flag byte, a Content-Type up to the first '\n', then the
 * body.  The body, as a C string, also goes to the route, Authorization,
 * query and Host parsers.  Invariants checked (abort() on a breach):
 * a status is 0, 400 or 415; every JSON produced reads back with jansson;
 * an accepted title is stripped, NUL-free, within the limits and comes
 * back byte for byte from treq_todo_json(); an accepted date is canonical.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "todo_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *
must_parse(const char *s)
{
	json_t *j;

	if (s == NULL)
		abort();
	j = json_loads(s, JSON_DECODE_ANY, NULL);
	if (j == NULL)
		abort();
	return j;
}

static void
check_title(const struct treq_todo *t)
{
	const char *got;
	json_t *j;
	char *out;

	if (t->title_len == 0 || t->title_len > TREQ_TITLE_MAX_BYTES ||
	    strlen(t->title) != t->title_len || t->title[0] == ' ' ||
	    t->title[t->title_len - 1] == ' ')
		abort();
	out = treq_todo_json(
	    1, t->title, t->title_len, t->has_date ? t->date : "2026-01-01", 2);
	j = must_parse(out);
	got = json_string_value(json_object_get(j, "title"));
	if (got == NULL || strcmp(got, t->title) != 0)
		abort();
	json_decref(j);
	free(out);
}

static void
check_body(const char *ct, const char *body, size_t len, int partial)
{
	struct treq_todo t;
	char *err;
	int rc;

	rc = treq_parse_body(ct, body, len, partial, &t, &err);
	if (rc == 0) {
		if (err != NULL || (!partial && !t.has_title))
			abort();
		if (t.has_title)
			check_title(&t);
		if (t.has_date && !treq_valid_date(t.date, strlen(t.date)))
			abort();
	} else if (rc == 400 || rc == 415) {
		if (t.has_title || t.title != NULL)
			abort();
		json_decref(must_parse(err));
	} else
		abort();
	free(err);
	treq_todo_clear(&t);
}

static void
check_route(const char *s)
{
	char again[40];
	uint64_t id, id2;

	if (treq_route(s, &id) != TREQ_ITEM)
		return;
	if (id == 0 || id > INT64_MAX)
		abort();
	snprintf(again, sizeof(again), "/todo/%llu/", (unsigned long long)id);
	if (treq_route(again, &id2) != TREQ_ITEM || id2 != id)
		abort();
}

static void
check_auth(const char *s)
{
	const char *tok;
	size_t len, i;

	if (treq_parse_auth(s, &tok, &len) != TREQ_AUTH_TOKEN)
		return;
	if (tok < s || len == 0 || tok + len > s + strlen(s))
		abort();
	for (i = 0; i < len; i++)
		if (tok[i] == ' ' || tok[i] == '\t')
			abort();
}

static void
check_query(const char *s, uint64_t count)
{
	uint64_t limit, offset;
	struct treq_item item = {1, "x", 1, "2026-01-01", 2};
	char *next, *prev, *out;
	int paginated;

	if (treq_parse_query(s, &paginated, &limit, &offset) != 0)
		abort();
	if (!paginated)
		return;
	if (limit == 0 || limit > TREQ_MAX_LIMIT || offset > INT64_MAX)
		abort();
	if (treq_page_links(
		"http://h/todo/", count, limit, offset, &next, &prev) != 0)
		abort();
	out = treq_list_json(&item, 1, 1, count, next, prev);
	json_decref(must_parse(out));
	free(out);
	free(next);
	free(prev);
}

static void
check_host(const char *s)
{
	char *out;

	if (!treq_valid_host(s))
		return;
	out = treq_root_json(s);
	json_decref(must_parse(out));
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *rest, *nl, *body;
	char *ct, *str, *out;
	size_t len;
	int flags;

	if (size == 0)
		return 0;
	flags = data[0];
	rest = (const char *)data + 1;
	len = size - 1;
	nl = memchr(rest, '\n', len);
	ct = strndup(rest, nl != NULL ? (size_t)(nl - rest) : 0);
	body = nl != NULL ? nl + 1 : rest;
	len -= (size_t)(body - rest);
	str = strndup(body, len);
	if (ct == NULL || str == NULL)
		abort();
	check_body(flags & 1 ? NULL : ct, body, len, 0);
	check_body(flags & 1 ? NULL : ct, body, len, 1);
	check_route(str);
	check_auth(str);
	check_query(str, (uint64_t)flags * 3);
	check_host(str);
	out = treq_detail_json(str);
	json_decref(must_parse(out));
	free(out);
	free(ct);
	free(str);
	return 0;
}

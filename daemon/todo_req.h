/*
 * todo_req.h - the network-free half of todod's HTTP layer.
 *
 * Turns request bytes (path, Authorization, query string, body) into
 * validated C values, and C values into the JSON that Django REST
 * Framework 3.11 would send for the seed's TodoViewset.  No libevent type
 * appears here; the evhttp glue in http_todo.c calls these functions.
 *
 * Every char * returned is malloc'd, NUL-terminated, valid UTF-8 and
 * owned by the caller (free()).  NULL means out of memory unless a
 * function says otherwise.  JSON is compact (",", ":"), not ASCII-escaped,
 * exactly as DRF's JSONRenderer writes it.
 */
#ifndef TODOD_TODO_REQ_H
#define TODOD_TODO_REQ_H

#include <stddef.h>
#include <stdint.h>

/* Longest title accepted, in characters (Unicode code points). */
#define TREQ_TITLE_MAX		16384
/* The most bytes such a title can take in UTF-8. */
#define TREQ_TITLE_MAX_BYTES	(4 * TREQ_TITLE_MAX)
/* limit is capped here (LimitOffsetPagination.max_limit). */
#define TREQ_MAX_LIMIT		1000
/* Deepest JSON nesting accepted in a request body. */
#define TREQ_JSON_MAX_DEPTH	32

enum treq_route {
	TREQ_ROOT,
	TREQ_LIST,
	TREQ_ITEM,
	TREQ_NOTFOUND
};

/*
 * path is the raw request path as sent (no query string, percent-escapes
 * not yet decoded); it is decoded here as WSGI decodes PATH_INFO.
 * "/" -> ROOT, "/todo/" -> LIST, "/todo/<id>/" -> ITEM with *id set,
 * id being 1..2^63-1 in decimal without sign or leading zero.  Anything
 * else is NOTFOUND: there is no redirect from "/todo" to "/todo/".
 */
enum treq_route	treq_route(const char *path, uint64_t *id);

/* The Allow header for a route; NULL for TREQ_NOTFOUND. */
const char	*treq_allow(enum treq_route route);

enum treq_auth {
	TREQ_AUTH_NONE,		/* absent, empty or another scheme */
	TREQ_AUTH_BAD,		/* "Bearer" alone, or more than one token */
	TREQ_AUTH_TOKEN		/* *token, *len point into header */
};

enum treq_auth	treq_parse_auth(const char *header, const char **token,
		    size_t *len);

/*
 * LimitOffsetPagination with default_limit None: *paginated is set only
 * when a valid positive limit is given (capped at TREQ_MAX_LIMIT); an
 * invalid offset is 0.  query may be NULL.  0, or -1 when out of memory.
 */
int	treq_parse_query(const char *query, int *paginated, uint64_t *limit,
	    uint64_t *offset);

struct treq_todo {
	int	 has_title;
	char	*title;		/* trimmed, NUL-terminated, valid UTF-8 */
	size_t	 title_len;	/* bytes, without the NUL */
	int	 has_date;	/* 0: keep the stored date (today on create) */
	char	 date[11];	/* "YYYY-MM-DD" */
};

void	treq_todo_clear(struct treq_todo *todo);

/*
 * Parses and validates a POST/PUT (partial == 0) or PATCH (partial != 0)
 * body.  content_type is the raw header value, or NULL when absent.
 * Returns 0 with *out filled, or an HTTP status (400, 415) with *err_json
 * set to the body to send, or -1 when out of memory.  *out is always
 * initialised; clear it with treq_todo_clear().
 */
int	treq_parse_body(const char *content_type, const char *body,
	    size_t len, int partial, struct treq_todo *out, char **err_json);

struct treq_item {
	uint64_t	 id;
	const char	*title;
	size_t		 title_len;
	const char	*date;
	uint64_t	 user;
};

char	*treq_todo_json(uint64_t id, const char *title, size_t title_len,
	    const char *date, uint64_t user);
char	*treq_detail_json(const char *detail);
/* A plain array, or the {"count","next","previous","results"} envelope. */
char	*treq_list_json(const struct treq_item *items, size_t n,
	    int paginated, uint64_t count, const char *next_url,
	    const char *prev_url);
/*
 * base_url is "http://HOST/todo/" without a query.  *next and *prev are
 * set to malloc'd URLs or NULL (JSON null).  0, or -1 when out of memory.
 */
int	treq_page_links(const char *base_url, uint64_t count, uint64_t limit,
	    uint64_t offset, char **next, char **prev);
/* host must have passed treq_valid_host(). */
char	*treq_root_json(const char *host);

/* Today's date in UTC as "YYYY-MM-DD".  0, or -1. */
int	treq_today(char out[11]);
/* 1 if s[0..len) is exactly "YYYY-MM-DD" and a real calendar date. */
int	treq_valid_date(const char *s, size_t len);
/* 1 if host is [A-Za-z0-9.-]+ or [IPv6], with an optional :port. */
int	treq_valid_host(const char *host);

#endif

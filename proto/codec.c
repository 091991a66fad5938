/*
 * codec.c - encode and decode the todod worker <-> verifierd frames.
 *
 * Called by the worker's verifier client, by verifierd's socket server and
 * by todo-verify, once per frame, from the event loop.  Nothing here
 * allocates, blocks or logs: every function works on caller-owned buffers
 * and answers -1 on failure, so that the caller decides (close the
 * connection, log once).  proto/README.md states the grammar.
 *
 * Encoding uses msgpack-c's packer with a write callback bounded by the
 * caller's buffer.
 *
 * Decoding walks the bytes itself rather than calling msgpack_unpack_next().
 * The bounded structural check has to decode every marker anyway, so the
 * decoders reuse the same small reader: the check and the decoders cannot
 * disagree about what a byte means, no msgpack_zone is ever allocated (a
 * 16 KiB body of one-byte elements would make msgpack-c allocate ~400 KiB
 * of objects), and integer ranges are checked on the wire values directly.
 * msgpack-c's unpacker still serves as the differential oracle in
 * tests/fuzz/fuzz_frame.c.
 *
 * Invariants: a cursor never moves past its end; every str/bin length and
 * every array/map count is checked against the bytes left before it is
 * used; at most PROTO_MAX_DEPTH containers are open at once, which bounds
 * the recursion in mp_skip(); decoded strings are NUL-terminated copies.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "proto.h"

#define BIT(n) (1u << (n))
#define MEMBER_SIZE(t, m) sizeof(((t *)0)->m)

/* What one msgpack item is, after its marker has been read. */
enum mp_kind {
	MP_BAD, /* 0xc1, ext, fixext: never accepted */
	MP_NIL,
	MP_BOOL,
	MP_FLOAT,
	MP_UINT, /* any integer >= 0, whatever its encoding */
	MP_SINT, /* signed encoding, normalised by mp_set_sint() */
	MP_NINT, /* integer < 0 */
	MP_STR,
	MP_BIN,
	MP_ARRAY,
	MP_MAP,
};

struct mp_cur {
	const uint8_t *p;
	size_t left;
};

struct mp_item {
	enum mp_kind kind;
	uint64_t u; /* MP_UINT */
	int64_t i; /* MP_NINT */
	uint64_t n; /* str/bin bytes, array elements, map pairs */
	const uint8_t *data; /* str/bin payload, n bytes */
};

/* clang-format off */
/* Markers 0xc0..0xdf: the kind and how many bytes of value follow. */
static const struct mp_marker {
	uint8_t	kind;
	uint8_t	width;
} mp_markers[32] = {
	{ MP_NIL, 0 }, { MP_BAD, 0 }, { MP_BOOL, 0 }, { MP_BOOL, 0 },
	{ MP_BIN, 1 }, { MP_BIN, 2 }, { MP_BIN, 4 },
	{ MP_BAD, 0 }, { MP_BAD, 0 }, { MP_BAD, 0 },
	{ MP_FLOAT, 4 }, { MP_FLOAT, 8 },
	{ MP_UINT, 1 }, { MP_UINT, 2 }, { MP_UINT, 4 }, { MP_UINT, 8 },
	{ MP_SINT, 1 }, { MP_SINT, 2 }, { MP_SINT, 4 }, { MP_SINT, 8 },
	{ MP_BAD, 0 }, { MP_BAD, 0 }, { MP_BAD, 0 }, { MP_BAD, 0 },
	{ MP_BAD, 0 },
	{ MP_STR, 1 }, { MP_STR, 2 }, { MP_STR, 4 },
	{ MP_ARRAY, 2 }, { MP_ARRAY, 4 },
	{ MP_MAP, 2 }, { MP_MAP, 4 },
};
/* clang-format on */

/* How a known key's value is checked and stored. */
enum field_type {
	F_UINT, /* uint <= max, stored in size bytes */
	F_INT, /* int64 */
	F_STR, /* str of min..max bytes, no NUL */
	F_TOKEN, /* str or bin, token rules; proto_verify_req only */
};

struct field {
	const char *key;
	enum field_type type;
	uint64_t min;
	uint64_t max;
	size_t off;
	size_t size;
};

/* clang-format off */
#define FIELD(t, k, ty, lo, hi, m) \
	{ k, ty, lo, hi, offsetof(t, m), MEMBER_SIZE(t, m) }

enum { HELLO_VERSION, HELLO_ROLE, HELLO_NFIELDS };

static const struct field hello_fields[HELLO_NFIELDS] = {
	[HELLO_VERSION] = FIELD(struct proto_hello, "version", F_UINT,
	    0, UINT32_MAX, version),
	[HELLO_ROLE] = FIELD(struct proto_hello, "role", F_STR,
	    1, PROTO_ROLE_MAX, role),
};

static const struct field req_fields[] = {
	FIELD(struct proto_verify_req, "token", F_TOKEN,
	    1, PROTO_MAX_TOKEN, token),
};

enum {
	ANS_OUTCOME, ANS_REASON, ANS_RETRY, ANS_USER, ANS_EXP,
	ANS_ISS, ANS_SUB, ANS_EMAIL, ANS_SCOPE, ANS_NFIELDS
};

#define ANS_ALWAYS	(BIT(ANS_OUTCOME) | BIT(ANS_REASON))
#define ANS_OK_NEEDS	(BIT(ANS_USER) | BIT(ANS_EXP) | BIT(ANS_ISS) | \
			    BIT(ANS_SUB))

static const struct field ans_fields[ANS_NFIELDS] = {
	[ANS_OUTCOME] = FIELD(struct proto_verify_ans, "outcome", F_UINT,
	    0, VERIFY_UNAVAILABLE, outcome),
	[ANS_REASON] = FIELD(struct proto_verify_ans, "reason", F_UINT,
	    0, REASON_MAX, reason),
	[ANS_RETRY] = FIELD(struct proto_verify_ans, "retry_after", F_UINT,
	    0, UINT32_MAX, retry_after),
	[ANS_USER] = FIELD(struct proto_verify_ans, "user", F_UINT,
	    0, UINT64_MAX, user),
	[ANS_EXP] = FIELD(struct proto_verify_ans, "exp", F_INT,
	    0, 0, exp),
	[ANS_ISS] = FIELD(struct proto_verify_ans, "iss", F_STR,
	    0, PROTO_ISS_MAX, iss),
	[ANS_SUB] = FIELD(struct proto_verify_ans, "sub", F_STR,
	    0, PROTO_SUB_MAX, sub),
	[ANS_EMAIL] = FIELD(struct proto_verify_ans, "email", F_STR,
	    0, PROTO_EMAIL_MAX, email),
	[ANS_SCOPE] = FIELD(struct proto_verify_ans, "scope", F_STR,
	    0, PROTO_SCOPE_MAX, scope),
};
/* clang-format on */

/* The caller's fixed output buffer behind a msgpack_packer. */
struct outbuf {
	uint8_t *buf;
	size_t cap;
	size_t used;
	int full; /* a write did not fit; sticky */
};

/* ---- reading ---- */

static int
mp_take(struct mp_cur *c, uint64_t n, const uint8_t **out)
{
	if (n > c->left)
		return -1;
	*out = c->p;
	c->p += n;
	c->left -= n;
	return 0;
}

static int
mp_be(struct mp_cur *c, unsigned width, uint64_t *v)
{
	const uint8_t *b;
	unsigned i;

	if (mp_take(c, width, &b) == -1)
		return -1;
	*v = 0;
	for (i = 0; i < width; i++)
		*v = *v << 8 | b[i];
	return 0;
}

/* A two's complement value of width bytes; >= 0 becomes MP_UINT. */
static void
mp_set_sint(struct mp_item *it, uint64_t v, unsigned width)
{
	uint64_t sign = (uint64_t)1 << (width * 8 - 1);

	if ((v & sign) == 0) {
		it->kind = MP_UINT;
		it->u = v;
	} else {
		/* -1 - |v|, computed without overflow for INT64_MIN. */
		it->kind = MP_NINT;
		it->i = -(int64_t)(~v & (sign - 1)) - 1;
	}
}

/* A str or bin payload must be present in full. */
static int
mp_payload(struct mp_cur *c, struct mp_item *it, enum mp_kind kind, uint64_t n)
{
	it->kind = kind;
	it->n = n;
	return mp_take(c, n, &it->data);
}

/*
 * A container's count is checked against the bytes left before anyone
 * loops over it: every element takes at least one byte, every map pair
 * two.  This is what keeps `dd ff ff ff ff' from meaning anything.
 */
static int
mp_container(
    struct mp_cur *c, struct mp_item *it, enum mp_kind kind, uint64_t n)
{
	uint64_t per = kind == MP_MAP ? 2 : 1;

	if (n > c->left / per)
		return -1;
	it->kind = kind;
	it->n = n;
	return 0;
}

static int
mp_read_marker(struct mp_cur *c, struct mp_item *it, uint8_t m)
{
	const struct mp_marker *mk = &mp_markers[m - 0xc0];
	uint64_t v;

	if (mk->kind == MP_BAD || mp_be(c, mk->width, &v) == -1)
		return -1;
	switch (mk->kind) {
	case MP_UINT:
		it->kind = MP_UINT;
		it->u = v;
		return 0;
	case MP_SINT:
		mp_set_sint(it, v, mk->width);
		return 0;
	case MP_STR:
	case MP_BIN:
		return mp_payload(c, it, mk->kind, v);
	case MP_ARRAY:
	case MP_MAP:
		return mp_container(c, it, mk->kind, v);
	default:
		it->kind = mk->kind; /* nil, bool, float: value unused */
		return 0;
	}
}

/* Read one item's marker (and a str/bin payload), not its elements. */
static int
mp_read(struct mp_cur *c, struct mp_item *it)
{
	const uint8_t *b;

	memset(it, 0, sizeof(*it));
	if (mp_take(c, 1, &b) == -1)
		return -1;
	if (b[0] <= 0x7f) {
		it->kind = MP_UINT;
		it->u = b[0];
		return 0;
	}
	if (b[0] >= 0xe0) {
		mp_set_sint(it, b[0], 1);
		return 0;
	}
	if (b[0] <= 0x8f)
		return mp_container(c, it, MP_MAP, b[0] & 0x0f);
	if (b[0] <= 0x9f)
		return mp_container(c, it, MP_ARRAY, b[0] & 0x0f);
	if (b[0] <= 0xbf)
		return mp_payload(c, it, MP_STR, b[0] & 0x1f);
	return mp_read_marker(c, it, b[0]);
}

/*
 * Skip one whole item.  depth counts the containers already open around
 * it, so the recursion never goes deeper than PROTO_MAX_DEPTH.
 */
static int
mp_skip(struct mp_cur *c, int depth)
{
	struct mp_item it;
	uint64_t i, n;

	if (mp_read(c, &it) == -1)
		return -1;
	if (it.kind != MP_ARRAY && it.kind != MP_MAP)
		return 0;
	if (depth >= PROTO_MAX_DEPTH)
		return -1;
	n = it.kind == MP_MAP ? it.n * 2 : it.n;
	for (i = 0; i < n; i++)
		if (mp_skip(c, depth + 1) == -1)
			return -1;
	return 0;
}

int
proto_msgpack_check(const uint8_t *body, size_t len)
{
	struct mp_cur c = {body, len};

	if (mp_skip(&c, 0) == -1)
		return -1;
	return c.left == 0 ? 0 : -1;
}

/* ---- decoding ---- */

/*
 * 1..PROTO_MAX_TOKEN bytes, each in 0x21..0x7e.  Checked eight bytes at a
 * time: with L = 0x01 in every byte and H = 0x80, (w - 0x21 L) & ~w & H
 * is non-zero iff some byte is below 0x21, and ((w + L) | w) & H iff some
 * byte is above 0x7e (an exact answer either way, whatever the carries).
 * Every authenticated request passes through here with ~1 KiB.
 */
int
proto_token_valid(const char *tok, size_t n)
{
	const uint64_t L = 0x0101010101010101ULL, H = 0x8080808080808080ULL;
	uint64_t w, bad = 0;
	size_t i = 0;

	if (n < 1 || n > PROTO_MAX_TOKEN)
		return 0;
	for (; i + 8 <= n; i += 8) {
		memcpy(&w, tok + i, sizeof(w));
		bad |= ((w - 0x21 * L) & ~w) | ((w + L) | w);
	}
	if (bad & H)
		return 0;
	for (; i < n; i++)
		if ((unsigned char)tok[i] < 0x21 || (unsigned char)tok[i] > 0x7e)
			return 0;
	return 1;
}

static int
token_ok(const uint8_t *p, size_t n)
{
	return proto_token_valid((const char *)p, n);
}

static int
field_find(const struct field *f, size_t nf, const struct mp_item *key)
{
	size_t i;

	for (i = 0; i < nf; i++)
		if (strlen(f[i].key) == key->n &&
		    memcmp(f[i].key, key->data, key->n) == 0)
			return (int)i;
	return -1;
}

static int
field_uint(const struct mp_item *v, const struct field *f, uint8_t *dst)
{
	uint8_t u8;
	uint32_t u32;

	if (v->kind != MP_UINT || v->u > f->max)
		return -1;
	switch (f->size) {
	case sizeof(u8):
		u8 = (uint8_t)v->u;
		memcpy(dst, &u8, sizeof(u8));
		return 0;
	case sizeof(u32):
		u32 = (uint32_t)v->u;
		memcpy(dst, &u32, sizeof(u32));
		return 0;
	case sizeof(v->u):
		memcpy(dst, &v->u, sizeof(v->u));
		return 0;
	}
	return -1;
}

static int
field_int(const struct mp_item *v, uint8_t *dst)
{
	int64_t i;

	if (v->kind == MP_NINT)
		i = v->i;
	else if (v->kind == MP_UINT && v->u <= INT64_MAX)
		i = (int64_t)v->u;
	else
		return -1;
	memcpy(dst, &i, sizeof(i));
	return 0;
}

static int
field_str(const struct mp_item *v, const struct field *f, uint8_t *dst)
{
	if (v->kind != MP_STR || v->n < f->min || v->n > f->max)
		return -1;
	if (v->n > 0 && memchr(v->data, '\0', v->n) != NULL)
		return -1;
	if (v->n > 0)
		memcpy(dst, v->data, v->n);
	dst[v->n] = '\0';
	return 0;
}

static int
field_token(const struct mp_item *v, struct proto_verify_req *req)
{
	if (v->kind != MP_STR && v->kind != MP_BIN)
		return -1;
	if (!token_ok(v->data, v->n))
		return -1;
	memcpy(req->token, v->data, v->n);
	req->token[v->n] = '\0';
	req->token_len = v->n;
	return 0;
}

static int
field_decode(struct mp_cur *c, const struct field *f, void *out)
{
	struct mp_item v;
	uint8_t *dst = (uint8_t *)out + f->off;

	if (mp_read(c, &v) == -1)
		return -1;
	switch (f->type) {
	case F_UINT:
		return field_uint(&v, f, dst);
	case F_INT:
		return field_int(&v, dst);
	case F_STR:
		return field_str(&v, f, dst);
	case F_TOKEN:
		return field_token(&v, out);
	}
	return -1;
}

/*
 * Decode the body map into out (already zeroed) and report in *seen which
 * known keys were present.  A known key given twice is refused, so no
 * reader can pick a different copy than we did; unknown keys, repeated
 * or not, are skipped whole.
 */
static int
decode_map(const uint8_t *body, size_t len, const struct field *f, size_t nf,
    void *out, unsigned *seen)
{
	struct mp_cur c = {body, len};
	struct mp_item map, key;
	uint64_t i;
	int k;

	*seen = 0;
	if (proto_msgpack_check(body, len) == -1)
		return -1;
	if (mp_read(&c, &map) == -1 || map.kind != MP_MAP)
		return -1;
	for (i = 0; i < map.n; i++) {
		if (mp_read(&c, &key) == -1 || key.kind != MP_STR)
			return -1;
		if ((k = field_find(f, nf, &key)) == -1) {
			if (mp_skip(&c, 1) == -1)
				return -1;
			continue;
		}
		if (*seen & BIT(k))
			return -1;
		*seen |= BIT(k);
		if (field_decode(&c, &f[k], out) == -1)
			return -1;
	}
	return 0;
}

int
proto_decode_hello(const uint8_t *body, size_t len, struct proto_hello *h)
{
	unsigned seen;

	memset(h, 0, sizeof(*h));
	if (decode_map(body, len, hello_fields, HELLO_NFIELDS, h, &seen) == -1)
		return -1;
	return seen == (BIT(HELLO_VERSION) | BIT(HELLO_ROLE)) ? 0 : -1;
}

int
proto_decode_verify_req(
    const uint8_t *body, size_t len, struct proto_verify_req *req)
{
	unsigned seen;

	memset(req, 0, sizeof(*req));
	if (decode_map(body, len, req_fields, 1, req, &seen) == -1)
		return -1;
	return seen == BIT(0) ? 0 : -1;
}

int
proto_decode_verify_ans(
    const uint8_t *body, size_t len, struct proto_verify_ans *a)
{
	unsigned seen, need;

	memset(a, 0, sizeof(*a));
	if (decode_map(body, len, ans_fields, ANS_NFIELDS, a, &seen) == -1)
		return -1;
	need = ANS_ALWAYS;
	if (a->outcome == VERIFY_OK)
		need |= ANS_OK_NEEDS;
	return (seen & need) == need ? 0 : -1;
}

/* ---- header and framing ---- */

static void
be_put(uint8_t *p, uint64_t v, unsigned width)
{
	while (width-- > 0) {
		p[width] = (uint8_t)v;
		v >>= 8;
	}
}

void
proto_hdr_encode(uint8_t out[PROTO_HDR_LEN], const struct proto_hdr *hdr)
{
	be_put(out, hdr->len, 4);
	be_put(out + 4, hdr->type, 2);
	be_put(out + 6, 0, 2);
	be_put(out + 8, hdr->id, 4);
}

int
proto_hdr_decode(const uint8_t in[PROTO_HDR_LEN], struct proto_hdr *hdr)
{
	struct mp_cur c = {in, PROTO_HDR_LEN};
	uint64_t len, type, reserved, id;

	mp_be(&c, 4, &len);
	mp_be(&c, 2, &type);
	mp_be(&c, 2, &reserved);
	mp_be(&c, 4, &id);
	hdr->len = (uint32_t)len;
	hdr->type = (uint16_t)type;
	hdr->id = (uint32_t)id;
	return len > PROTO_MAX_BODY || reserved != 0 ? -1 : 0;
}

int
proto_frame_ready(const uint8_t *buf, size_t avail, struct proto_hdr *hdr)
{
	if (avail < PROTO_HDR_LEN)
		return 0;
	if (proto_hdr_decode(buf, hdr) == -1)
		return -1;
	return avail - PROTO_HDR_LEN >= hdr->len ? 1 : 0;
}

/* ---- encoding ---- */

static int
outbuf_write_cb(void *data, const char *p, size_t n)
{
	struct outbuf *ob = data;

	if (ob->full || n > ob->cap - ob->used) {
		ob->full = 1;
		return -1;
	}
	if (n > 0)
		memcpy(ob->buf + ob->used, p, n);
	ob->used += n;
	return 0;
}

/* The body goes after room for the header, and never past the cap. */
static int
frame_begin(struct outbuf *ob, msgpack_packer *pk, uint8_t *out, size_t cap)
{
	if (cap < PROTO_HDR_LEN)
		return -1;
	ob->buf = out;
	ob->cap = cap < PROTO_HDR_LEN + PROTO_MAX_BODY
	    ? cap
	    : PROTO_HDR_LEN + PROTO_MAX_BODY;
	ob->used = PROTO_HDR_LEN;
	ob->full = 0;
	msgpack_packer_init(pk, ob, outbuf_write_cb);
	return 0;
}

static int
frame_end(struct outbuf *ob, enum proto_type type, uint32_t id)
{
	struct proto_hdr hdr;

	if (ob->full)
		return -1;
	hdr.len = (uint32_t)(ob->used - PROTO_HDR_LEN);
	hdr.type = type;
	hdr.id = id;
	proto_hdr_encode(ob->buf, &hdr);
	return (int)ob->used;
}

/* The value of field f in base, as the decoder would have stored it. */
static uint64_t
field_load_uint(const struct field *f, const void *base)
{
	const uint8_t *src = (const uint8_t *)base + f->off;
	uint8_t u8;
	uint32_t u32;
	uint64_t u64;

	if (f->size == sizeof(u8)) {
		memcpy(&u8, src, sizeof(u8));
		return u8;
	}
	if (f->size == sizeof(u32)) {
		memcpy(&u32, src, sizeof(u32));
		return u32;
	}
	memcpy(&u64, src, sizeof(u64));
	return u64;
}

static int64_t
field_load_int(const struct field *f, const void *base)
{
	int64_t i;

	memcpy(&i, (const uint8_t *)base + f->off, sizeof(i));
	return i;
}

static const char *
field_load_str(const struct field *f, const void *base)
{
	return (const char *)base + f->off;
}

/* Is field f of base within the range the decoder accepts? */
static int
field_valid(const struct field *f, const void *base)
{
	size_t n;

	switch (f->type) {
	case F_UINT:
		return field_load_uint(f, base) <= f->max;
	case F_STR:
		n = strnlen(field_load_str(f, base), f->size);
		return n >= f->min && n <= f->max;
	default:
		return 1;
	}
}

/* Would field f of base be written when not required? */
static int
field_present(const struct field *f, const void *base)
{
	switch (f->type) {
	case F_UINT:
		return field_load_uint(f, base) != 0;
	case F_INT:
		return field_load_int(f, base) != 0;
	case F_STR:
		return field_load_str(f, base)[0] != '\0';
	default:
		return 0;
	}
}

static void
field_pack(msgpack_packer *pk, const struct field *f, const void *base)
{
	const char *s;

	msgpack_pack_str_with_body(pk, f->key, strlen(f->key));
	switch (f->type) {
	case F_UINT:
		msgpack_pack_uint64(pk, field_load_uint(f, base));
		break;
	case F_INT:
		msgpack_pack_int64(pk, field_load_int(f, base));
		break;
	case F_STR:
		s = field_load_str(f, base);
		msgpack_pack_str_with_body(pk, s, strlen(s));
		break;
	case F_TOKEN:
		abort();
	}
}

/*
 * Write the map of the fields in mask `need', plus every other field of
 * base that is nonzero or nonempty.  -1 if a field is out of range.
 */
static int
fields_pack(msgpack_packer *pk, const struct field *f, size_t nf,
    const void *base, unsigned need)
{
	unsigned keys = need, nkeys = 0;
	size_t i;

	for (i = 0; i < nf; i++) {
		if (!field_valid(&f[i], base))
			return -1;
		if (field_present(&f[i], base))
			keys |= BIT(i);
		if (keys & BIT(i))
			nkeys++;
	}
	msgpack_pack_map(pk, nkeys);
	for (i = 0; i < nf; i++)
		if (keys & BIT(i))
			field_pack(pk, &f[i], base);
	return 0;
}

int
proto_encode_hello(
    uint8_t *out, size_t cap, uint32_t id, const struct proto_hello *h)
{
	struct outbuf ob;
	msgpack_packer pk;

	if (frame_begin(&ob, &pk, out, cap) == -1)
		return -1;
	if (fields_pack(&pk, hello_fields, HELLO_NFIELDS, h,
		BIT(HELLO_VERSION) | BIT(HELLO_ROLE)) == -1)
		return -1;
	return frame_end(&ob, PROTO_HELLO, id);
}

int
proto_encode_verify_req(
    uint8_t *out, size_t cap, uint32_t id, const char *token, size_t token_len)
{
	struct outbuf ob;
	msgpack_packer pk;

	if (!token_ok((const uint8_t *)token, token_len))
		return -1;
	if (frame_begin(&ob, &pk, out, cap) == -1)
		return -1;
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(
	    &pk, req_fields[0].key, strlen(req_fields[0].key));
	msgpack_pack_str_with_body(&pk, token, token_len);
	return frame_end(&ob, PROTO_VERIFY_REQ, id);
}

/*
 * outcome and reason are always written; for VERIFY_OK so are the keys the
 * decoder requires (even a zero user or exp), so that every answer that
 * encodes also decodes.  The rest only when nonzero or nonempty.
 */
int
proto_encode_verify_ans(
    uint8_t *out, size_t cap, uint32_t id, const struct proto_verify_ans *a)
{
	struct outbuf ob;
	msgpack_packer pk;
	unsigned need = ANS_ALWAYS;

	if (a->outcome == VERIFY_OK)
		need |= ANS_OK_NEEDS;
	if (frame_begin(&ob, &pk, out, cap) == -1)
		return -1;
	if (fields_pack(&pk, ans_fields, ANS_NFIELDS, a, need) == -1)
		return -1;
	return frame_end(&ob, PROTO_VERIFY_ANS, id);
}

/* ---- reasons ---- */

const char *
proto_reason_detail(enum verify_reason r)
{
	switch (r) {
	case REASON_NONE:
		return "";
	case REASON_EXPIRED:
		return "token is expired";
	case REASON_CLAIMS:
		return "incorrect claims, please check the audience and issuer";
	case REASON_UNKNOWN_KID:
	case REASON_NO_EMAIL:
		return "Invalid token headers";
	case REASON_UNAVAILABLE:
		return "Authentication service unavailable.";
	case REASON_MALFORMED:
	default:
		/* An unknown reason is a bug; refuse with the vaguest words. */
		return "Unable to parse authentication";
	}
}

const char *
proto_reason_name(enum verify_reason r)
{
	switch (r) {
	case REASON_NONE:
		return "none";
	case REASON_MALFORMED:
		return "malformed";
	case REASON_EXPIRED:
		return "expired";
	case REASON_CLAIMS:
		return "claims";
	case REASON_UNKNOWN_KID:
		return "unknown_kid";
	case REASON_NO_EMAIL:
		return "no_email";
	case REASON_UNAVAILABLE:
		return "unavailable";
	default:
		return "unknown";
	}
}

/* A message with no fields yet: an empty map (unknown keys ignored). */
static int
encode_empty(uint8_t *out, size_t cap, enum proto_type type, uint32_t id)
{
	struct outbuf ob;
	msgpack_packer pk;

	if (frame_begin(&ob, &pk, out, cap) == -1)
		return -1;
	msgpack_pack_map(&pk, 0);
	return frame_end(&ob, type, id);
}

static int
decode_empty(const uint8_t *body, size_t len)
{
	unsigned seen;

	return decode_map(body, len, NULL, 0, NULL, &seen);
}

int
proto_encode_flush(uint8_t *out, size_t cap, uint32_t id)
{
	return encode_empty(out, cap, PROTO_FLUSH, id);
}

int
proto_decode_flush(const uint8_t *body, size_t len)
{
	return decode_empty(body, len);
}

static int
stat_name_valid(const uint8_t *p, size_t n)
{
	size_t i;

	if (n == 0 || n > PROTO_STAT_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') ||
		    (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
			return 0;
	return 1;
}

/* STATS_REQ carries no fields yet, like FLUSH. */
int
proto_encode_stats_req(uint8_t *out, size_t cap, uint32_t id)
{
	return encode_empty(out, cap, PROTO_STATS_REQ, id);
}

int
proto_decode_stats_req(const uint8_t *body, size_t len)
{
	return decode_empty(body, len);
}

int
proto_encode_stats_ans(uint8_t *out, size_t cap, uint32_t id,
    const struct proto_stats *st)
{
	struct outbuf ob;
	msgpack_packer pk;
	size_t i, n;

	if (st->n > PROTO_STATS_MAX)
		return -1;
	for (i = 0; i < st->n; i++)
		if (!stat_name_valid((const uint8_t *)st->item[i].name,
		    strlen(st->item[i].name)))
			return -1;
	if (frame_begin(&ob, &pk, out, cap) == -1)
		return -1;
	msgpack_pack_map(&pk, st->n);
	for (i = 0; i < st->n; i++) {
		n = strlen(st->item[i].name);
		msgpack_pack_str(&pk, n);
		msgpack_pack_str_body(&pk, st->item[i].name, n);
		msgpack_pack_uint64(&pk, st->item[i].value);
	}
	return frame_end(&ob, PROTO_STATS_ANS, id);
}

/* A map of counter names to unsigned integers; nothing else. */
int
proto_decode_stats_ans(const uint8_t *body, size_t len,
    struct proto_stats *st)
{
	struct mp_cur c = {body, len};
	struct mp_item map, key, val;
	uint64_t i;

	memset(st, 0, sizeof(*st));
	if (proto_msgpack_check(body, len) == -1 || mp_read(&c, &map) == -1 ||
	    map.kind != MP_MAP || map.n > PROTO_STATS_MAX)
		return -1;
	for (i = 0; i < map.n; i++) {
		if (mp_read(&c, &key) == -1 || key.kind != MP_STR ||
		    !stat_name_valid(key.data, key.n) ||
		    mp_read(&c, &val) == -1 || val.kind != MP_UINT)
			return -1;
		memcpy(st->item[i].name, key.data, key.n);
		st->item[i].name[key.n] = '\0';
		st->item[i].value = val.u;
	}
	st->n = map.n;
	return 0;
}

/*
 * test_proto.c - unit tests for proto/codec.c, the worker <-> verifierd
 * wire format.
 *
 * Run by `meson test'.  Table driven: every case names itself and fails
 * with "got X, want Y".  Every rejection has an acceptance twin built the
 * same way (usually the row right after it), so that a rejection means
 * what it claims.  Well-formed bodies are built with msgpack-c's packer,
 * an implementation independent of the decoder under test; malformed and
 * non-canonical ones are spelled out as raw bytes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "proto.h"

#define FRAME_MAX (PROTO_HDR_LEN + PROTO_MAX_BODY)
#define ACCEPT 0
#define REJECT (-1)

#define CHECK(name, got, want)                                                 \
	do {                                                                   \
		long long got_ = (long long)(got), want_ = (long long)(want);  \
		if (got_ != want_) {                                           \
			print_error("%s: %s: got %lld, want %lld\n", (name),   \
			    #got, got_, want_);                                \
			fail();                                                \
		}                                                              \
	} while (0)

#define CHECK_STR(name, got, want)                                             \
	do {                                                                   \
		if (strcmp((got), (want)) != 0) {                              \
			print_error("%s: %s: got \"%.40s\", want \"%.40s\"\n", \
			    (name), #got, (got), (want));                      \
			fail();                                                \
		}                                                              \
	} while (0)

enum msg { M_HELLO, M_REQ, M_ANS, M_NMSG };

/* One msgpack value for the body builder. */
enum vkind { V_END, V_UINT, V_INT, V_STR, V_BIN, V_SREP, V_BREP, V_RAW };

struct val {
	enum vkind kind;
	uint64_t u; /* V_UINT; the repeated byte for V_*REP */
	int64_t i;
	const char *s;
	size_t n;
};

struct kv {
	struct val k;
	struct val v;
};

/* clang-format off */
#define U(x)		{ V_UINT, (x), 0, NULL, 0 }
#define I(x)		{ V_INT, 0, (x), NULL, 0 }
#define S(x)		{ V_STR, 0, 0, (x), sizeof(x) - 1 }
#define B(x)		{ V_BIN, 0, 0, (x), sizeof(x) - 1 }
#define SREP(c, len)	{ V_SREP, (c), 0, NULL, (len) }
#define BREP(c, len)	{ V_BREP, (c), 0, NULL, (len) }
#define R(x)		{ V_RAW, 0, 0, (x), sizeof(x) - 1 }
/* clang-format on */

struct body_case {
	const char *name;
	enum msg msg;
	int want;
	struct kv kv[10];
};

/* Any decoded message. */
union msg_out {
	struct proto_hello hello;
	struct proto_verify_req req;
	struct proto_verify_ans ans;
};

static int
sbuf_write_cb(void *data, const char *p, size_t n)
{
	return msgpack_sbuffer_write(data, p, n);
}

static void
pack_val(msgpack_packer *pk, const struct val *v)
{
	char *rep;

	switch (v->kind) {
	case V_UINT:
		msgpack_pack_uint64(pk, v->u);
		break;
	case V_INT:
		msgpack_pack_int64(pk, v->i);
		break;
	case V_STR:
		msgpack_pack_str_with_body(pk, v->s, v->n);
		break;
	case V_BIN:
		msgpack_pack_bin_with_body(pk, v->s, v->n);
		break;
	case V_SREP:
	case V_BREP:
		assert_non_null(rep = malloc(v->n + 1));
		memset(rep, (int)v->u, v->n);
		if (v->kind == V_SREP)
			msgpack_pack_str_with_body(pk, rep, v->n);
		else
			msgpack_pack_bin_with_body(pk, rep, v->n);
		free(rep);
		break;
	case V_RAW:
		msgpack_sbuffer_write(pk->data, v->s, v->n);
		break;
	case V_END:
		fail();
	}
}

/* The body map of a case; the caller destroys *sb. */
static void
build_body(msgpack_sbuffer *sb, const struct kv *kv)
{
	msgpack_packer pk;
	size_t n;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, sbuf_write_cb);
	for (n = 0; kv[n].k.kind != V_END; n++)
		;
	msgpack_pack_map(&pk, n);
	for (n = 0; kv[n].k.kind != V_END; n++) {
		pack_val(&pk, &kv[n].k);
		pack_val(&pk, &kv[n].v);
	}
}

static int
decode_any(enum msg m, const void *body, size_t len, union msg_out *out)
{
	switch (m) {
	case M_HELLO:
		return proto_decode_hello(body, len, &out->hello);
	case M_REQ:
		return proto_decode_verify_req(body, len, &out->req);
	default:
		return proto_decode_verify_ans(body, len, &out->ans);
	}
}

static int
encode_any(
    enum msg m, uint8_t *buf, size_t cap, uint32_t id, const union msg_out *in)
{
	switch (m) {
	case M_HELLO:
		return proto_encode_hello(buf, cap, id, &in->hello);
	case M_REQ:
		return proto_encode_verify_req(
		    buf, cap, id, in->req.token, in->req.token_len);
	default:
		return proto_encode_verify_ans(buf, cap, id, &in->ans);
	}
}

static const uint16_t msg_type[M_NMSG] = {
    PROTO_HELLO, PROTO_VERIFY_REQ, PROTO_VERIFY_ANS};

static const size_t msg_size[M_NMSG] = {sizeof(struct proto_hello),
    sizeof(struct proto_verify_req), sizeof(struct proto_verify_ans)};

/*
 * Encode `in', check the frame header, decode the body and compare.
 * Returns the frame length.  Decoders zero their output, so a byte
 * comparison of two decoded messages is exact.
 */
static int
roundtrip(const char *name, enum msg m, const union msg_out *in, uint8_t *frame)
{
	union msg_out *out;
	struct proto_hdr hdr;
	int n;

	assert_non_null(out = calloc(1, sizeof(*out)));
	n = encode_any(m, frame, FRAME_MAX, 7, in);
	if (n < PROTO_HDR_LEN) {
		print_error("%s: encode: got %d, want a frame\n", name, n);
		fail();
	}
	CHECK(name, proto_frame_ready(frame, n, &hdr), 1);
	CHECK(name, hdr.len + PROTO_HDR_LEN, n);
	CHECK(name, hdr.type, msg_type[m]);
	CHECK(name, hdr.id, 7);
	CHECK(name, decode_any(m, frame + PROTO_HDR_LEN, hdr.len, out), 0);
	CHECK(name, memcmp(in, out, msg_size[m]), 0);
	free(out);
	return n;
}

/* ---- body tables ---- */

/* clang-format off */
#define HELLO_OK	{ S("version"), U(1) }, { S("role"), S("todod") }
#define TOK_OK		{ S("token"), S("eyJ.abc.def") }
#define ANS_DENIED	{ S("outcome"), U(1) }, { S("reason"), U(2) }
#define ANS_OK		{ S("outcome"), U(0) }, { S("reason"), U(0) },	\
		{ S("user"), U(42) }, { S("exp"), I(1700000000) },	\
		{ S("iss"), S("https://idp/") }, { S("sub"), S("a|1") }
#define ANS_OK_NO(k1, v1, k2, v2, k3, v3)				\
		{ S("outcome"), U(0) }, { S("reason"), U(0) },		\
		{ S(k1), v1 }, { S(k2), v2 }, { S(k3), v3 }

static const struct body_case body_cases[] = {
	{ "hello", M_HELLO, ACCEPT, { HELLO_OK } },
	{ "hello no version", M_HELLO, REJECT, { { S("role"), S("todod") } } },
	{ "hello no role", M_HELLO, REJECT, { { S("version"), U(1) } } },
	{ "hello version str", M_HELLO, REJECT,
	    { { S("version"), S("1") }, { S("role"), S("todod") } } },
	{ "hello version -1", M_HELLO, REJECT,
	    { { S("version"), I(-1) }, { S("role"), S("todod") } } },
	{ "hello version 0", M_HELLO, ACCEPT,
	    { { S("version"), I(0) }, { S("role"), S("todod") } } },
	{ "hello version 2^32", M_HELLO, REJECT,
	    { { S("version"), U(4294967296) }, { S("role"), S("x") } } },
	{ "hello version 2^32-1", M_HELLO, ACCEPT,
	    { { S("version"), U(4294967295) }, { S("role"), S("x") } } },
	{ "hello version float", M_HELLO, REJECT,
	    { { S("version"), R("\xcb\x3f\xf0\0\0\0\0\0\0") },
	    { S("role"), S("x") } } },
	{ "hello version nil", M_HELLO, REJECT,
	    { { S("version"), R("\xc0") }, { S("role"), S("x") } } },
	{ "hello version as uint64", M_HELLO, ACCEPT,
	    { { S("version"), R("\xcf\0\0\0\0\0\0\0\1") },
	    { S("role"), S("x") } } },
	{ "hello version as int8", M_HELLO, ACCEPT,
	    { { S("version"), R("\xd0\x01") }, { S("role"), S("x") } } },
	{ "hello role bin", M_HELLO, REJECT,
	    { { S("version"), U(1) }, { S("role"), B("todod") } } },
	{ "hello role empty", M_HELLO, REJECT,
	    { { S("version"), U(1) }, { S("role"), S("") } } },
	{ "hello role 1", M_HELLO, ACCEPT,
	    { { S("version"), U(1) }, { S("role"), S("t") } } },
	{ "hello role 33", M_HELLO, REJECT,
	    { { S("version"), U(1) }, { S("role"), SREP('r', 33) } } },
	{ "hello role 32", M_HELLO, ACCEPT,
	    { { S("version"), U(1) }, { S("role"), SREP('r', 32) } } },
	{ "hello role NUL", M_HELLO, REJECT,
	    { { S("version"), U(1) }, { S("role"), S("to\0dd") } } },
	{ "hello role no NUL", M_HELLO, ACCEPT,
	    { { S("version"), U(1) }, { S("role"), S("to-dd") } } },
	{ "hello dup version", M_HELLO, REJECT,
	    { HELLO_OK, { S("version"), U(1) } } },
	{ "hello dup role", M_HELLO, REJECT,
	    { HELLO_OK, { S("role"), S("todod") } } },
	{ "hello int key", M_HELLO, REJECT, { HELLO_OK, { U(1), U(2) } } },
	{ "hello str key", M_HELLO, ACCEPT, { HELLO_OK, { S("1"), U(2) } } },
	{ "hello bin key", M_HELLO, REJECT, { HELLO_OK, { B("x"), U(2) } } },
	{ "hello nil key", M_HELLO, REJECT,
	    { HELLO_OK, { R("\xc0"), U(2) } } },
	{ "hello key case", M_HELLO, REJECT,
	    { { S("Version"), U(1) }, { S("role"), S("todod") } } },
	{ "hello key prefix", M_HELLO, REJECT,
	    { { S("versio"), U(1) }, { S("role"), S("todod") } } },
	{ "hello key longer", M_HELLO, REJECT,
	    { { S("versionx"), U(1) }, { S("role"), S("todod") } } },
	{ "hello unknown keys", M_HELLO, ACCEPT,
	    { { S("x"), R("\x92\x01\x81\xa1" "a" "\xc0") }, HELLO_OK,
	    { S("y"), R("\xc3") }, { S("z"), R("\xca\x3f\x80\0\0") },
	    { S("w"), B("\0\1") }, { S(""), I(-5) } } },
	{ "hello unknown key twice", M_HELLO, ACCEPT,
	    { HELLO_OK, { S("x"), U(1) }, { S("x"), S("y") } } },
	{ "hello depth 5", M_HELLO, REJECT,
	    { HELLO_OK, { S("x"), R("\x91\x91\x91\x91\x01") } } },
	{ "hello depth 4", M_HELLO, ACCEPT,
	    { HELLO_OK, { S("x"), R("\x91\x91\x91\x01") } } },
	{ "hello ext value", M_HELLO, REJECT,
	    { HELLO_OK, { S("x"), R("\xd4\x01\x00") } } },
	{ "hello bin value", M_HELLO, ACCEPT,
	    { HELLO_OK, { S("x"), R("\xc4\x01\x00") } } },
	{ "hello 0xc1 value", M_HELLO, REJECT,
	    { HELLO_OK, { S("x"), R("\xc1") } } },
	{ "hello 0xc0 value", M_HELLO, ACCEPT,
	    { HELLO_OK, { S("x"), R("\xc0") } } },
	{ "hello array32 4G", M_HELLO, REJECT,
	    { HELLO_OK, { S("x"), R("\xdd\xff\xff\xff\xff") } } },
	{ "hello array32 0", M_HELLO, ACCEPT,
	    { HELLO_OK, { S("x"), R("\xdd\0\0\0\0") } } },
	{ "hello map32 4G", M_HELLO, REJECT,
	    { HELLO_OK, { S("x"), R("\xdf\xff\xff\xff\xff") } } },
	{ "hello map32 0", M_HELLO, ACCEPT,
	    { HELLO_OK, { S("x"), R("\xdf\0\0\0\0") } } },
	{ "hello str32 4G", M_HELLO, REJECT,
	    { HELLO_OK, { S("x"), R("\xdb\xff\xff\xff\xff") } } },
	{ "hello str32 0", M_HELLO, ACCEPT,
	    { HELLO_OK, { S("x"), R("\xdb\0\0\0\0") } } },
	{ "hello bin32 4G", M_HELLO, REJECT,
	    { HELLO_OK, { S("x"), R("\xc6\xff\xff\xff\xff") } } },
	{ "hello bin32 0", M_HELLO, ACCEPT,
	    { HELLO_OK, { S("x"), R("\xc6\0\0\0\0") } } },

	{ "req", M_REQ, ACCEPT, { TOK_OK } },
	{ "req bin", M_REQ, ACCEPT, { { S("token"), B("eyJ.abc.def") } } },
	{ "req missing", M_REQ, REJECT, { { S("tok"), S("eyJ.abc.def") } } },
	{ "req empty", M_REQ, REJECT, { { S("token"), S("") } } },
	{ "req 1 byte", M_REQ, ACCEPT, { { S("token"), S("e") } } },
	{ "req 8193", M_REQ, REJECT, { { S("token"), SREP('a', 8193) } } },
	{ "req 8192", M_REQ, ACCEPT, { { S("token"), SREP('a', 8192) } } },
	{ "req bin 8193", M_REQ, REJECT, { { S("token"), BREP('a', 8193) } } },
	{ "req bin 8192", M_REQ, ACCEPT, { { S("token"), BREP('a', 8192) } } },
	{ "req space", M_REQ, REJECT, { { S("token"), S("eyJ abc") } } },
	{ "req NUL", M_REQ, REJECT, { { S("token"), S("eyJ\0abc") } } },
	{ "req NUL bin", M_REQ, REJECT, { { S("token"), B("eyJ\0abc") } } },
	{ "req non-ASCII", M_REQ, REJECT,
	    { { S("token"), S("eyJ\xc3\xa9") } } },
	{ "req clean", M_REQ, ACCEPT, { { S("token"), S("eyJ-abc") } } },
	{ "req uint", M_REQ, REJECT, { { S("token"), U(5) } } },
	{ "req array", M_REQ, REJECT, { { S("token"), R("\x91\xa1" "a") } } },
	{ "req dup", M_REQ, REJECT, { TOK_OK, TOK_OK } },
	{ "req unknown", M_REQ, ACCEPT, { TOK_OK, { S("tokens"), U(1) } } },

	{ "ans denied", M_ANS, ACCEPT, { ANS_DENIED } },
	{ "ans ok", M_ANS, ACCEPT, { ANS_OK } },
	{ "ans ok email scope", M_ANS, ACCEPT,
	    { ANS_OK, { S("email"), S("a@b") }, { S("scope"), S("r w") } } },
	{ "ans no outcome", M_ANS, REJECT, { { S("reason"), U(2) } } },
	{ "ans no reason", M_ANS, REJECT, { { S("outcome"), U(1) } } },
	{ "ans ok no user", M_ANS, REJECT, { ANS_OK_NO("exp", I(1),
	    "iss", S("i"), "sub", S("s")) } },
	{ "ans denied no user", M_ANS, ACCEPT, { { S("outcome"), U(1) },
	    { S("reason"), U(0) }, { S("exp"), I(1) }, { S("iss"), S("i") },
	    { S("sub"), S("s") } } },
	{ "ans ok no exp", M_ANS, REJECT, { ANS_OK_NO("user", U(1),
	    "iss", S("i"), "sub", S("s")) } },
	{ "ans ok no iss", M_ANS, REJECT, { ANS_OK_NO("user", U(1),
	    "exp", I(1), "sub", S("s")) } },
	{ "ans ok no sub", M_ANS, REJECT, { ANS_OK_NO("user", U(1),
	    "exp", I(1), "iss", S("i")) } },
	{ "ans outcome 3", M_ANS, REJECT,
	    { { S("outcome"), U(3) }, { S("reason"), U(6) } } },
	{ "ans outcome 2", M_ANS, ACCEPT,
	    { { S("outcome"), U(2) }, { S("reason"), U(6) } } },
	{ "ans outcome 256", M_ANS, REJECT,
	    { { S("outcome"), U(256) }, { S("reason"), U(6) } } },
	{ "ans outcome -1", M_ANS, REJECT,
	    { { S("outcome"), R("\xd0\xff") }, { S("reason"), U(6) } } },
	{ "ans outcome int8 1", M_ANS, ACCEPT,
	    { { S("outcome"), R("\xd0\x01") }, { S("reason"), U(6) } } },
	{ "ans reason 7", M_ANS, REJECT,
	    { { S("outcome"), U(1) }, { S("reason"), U(7) } } },
	{ "ans reason 6", M_ANS, ACCEPT,
	    { { S("outcome"), U(1) }, { S("reason"), U(6) } } },
	{ "ans reason str", M_ANS, REJECT,
	    { { S("outcome"), U(1) }, { S("reason"), S("6") } } },
	{ "ans retry 2^32", M_ANS, REJECT,
	    { ANS_DENIED, { S("retry_after"), U(4294967296) } } },
	{ "ans retry 2^32-1", M_ANS, ACCEPT,
	    { ANS_DENIED, { S("retry_after"), U(4294967295) } } },
	{ "ans user -1", M_ANS, REJECT, { ANS_DENIED, { S("user"), I(-1) } } },
	{ "ans user 2^64-1", M_ANS, ACCEPT,
	    { ANS_DENIED, { S("user"), U(UINT64_MAX) } } },
	{ "ans exp 2^63", M_ANS, REJECT,
	    { ANS_DENIED, { S("exp"), U((uint64_t)INT64_MAX + 1) } } },
	{ "ans exp 2^63-1", M_ANS, ACCEPT,
	    { ANS_DENIED, { S("exp"), U(INT64_MAX) } } },
	{ "ans exp -2^63", M_ANS, ACCEPT,
	    { ANS_DENIED, { S("exp"), I(INT64_MIN) } } },
	{ "ans exp str", M_ANS, REJECT, { ANS_DENIED, { S("exp"), S("1") } } },
	{ "ans exp float", M_ANS, REJECT,
	    { ANS_DENIED, { S("exp"), R("\xca\x3f\x80\0\0") } } },
	{ "ans exp bool", M_ANS, REJECT,
	    { ANS_DENIED, { S("exp"), R("\xc3") } } },
	{ "ans iss 257", M_ANS, REJECT,
	    { ANS_DENIED, { S("iss"), SREP('i', 257) } } },
	{ "ans iss 256", M_ANS, ACCEPT,
	    { ANS_DENIED, { S("iss"), SREP('i', 256) } } },
	{ "ans sub 257", M_ANS, REJECT,
	    { ANS_DENIED, { S("sub"), SREP('s', 257) } } },
	{ "ans sub 256", M_ANS, ACCEPT,
	    { ANS_DENIED, { S("sub"), SREP('s', 256) } } },
	{ "ans email 321", M_ANS, REJECT,
	    { ANS_DENIED, { S("email"), SREP('e', 321) } } },
	{ "ans email 320", M_ANS, ACCEPT,
	    { ANS_DENIED, { S("email"), SREP('e', 320) } } },
	{ "ans scope 1025", M_ANS, REJECT,
	    { ANS_DENIED, { S("scope"), SREP('c', 1025) } } },
	{ "ans scope 1024", M_ANS, ACCEPT,
	    { ANS_DENIED, { S("scope"), SREP('c', 1024) } } },
	{ "ans email NUL", M_ANS, REJECT,
	    { ANS_DENIED, { S("email"), S("a\0b") } } },
	{ "ans email empty", M_ANS, ACCEPT,
	    { ANS_DENIED, { S("email"), S("") } } },
	{ "ans iss bin", M_ANS, REJECT, { ANS_DENIED, { S("iss"), B("i") } } },
	{ "ans iss str", M_ANS, ACCEPT, { ANS_DENIED, { S("iss"), S("i") } } },
	{ "ans dup outcome", M_ANS, REJECT,
	    { ANS_DENIED, { S("outcome"), U(1) } } },
	{ "ans dup sub", M_ANS, REJECT, { ANS_OK, { S("sub"), S("a|1") } } },
	{ "ans unknown", M_ANS, ACCEPT,
	    { ANS_OK, { S("aud"), R("\x92\xa1" "a" "\xa1" "b") } } },
};
/* clang-format on */

static void
test_body_table(void **state)
{
	const struct body_case *c;
	msgpack_sbuffer sb;
	union msg_out *out;
	uint8_t *frame;
	size_t i;

	assert_non_null(out = malloc(sizeof(*out)));
	assert_non_null(frame = malloc(FRAME_MAX));
	for (i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
		c = &body_cases[i];
		build_body(&sb, c->kv);
		CHECK(c->name, decode_any(c->msg, sb.data, sb.size, out),
		    c->want);
		/* What decodes is well formed and re-encodes the same. */
		if (c->want == ACCEPT) {
			CHECK(c->name,
			    proto_msgpack_check((uint8_t *)sb.data, sb.size),
			    0);
			roundtrip(c->name, c->msg, out, frame);
		}
		msgpack_sbuffer_destroy(&sb);
	}
	free(frame);
	free(out);
}

/* Unknown keys are skipped without disturbing the values around them. */
static void
test_unknown_keys_values(void **state)
{
	static const struct kv kv[] = {
	    {S("a"), R("\x93\x01\x02\x03")},
	    {S("version"), U(9)},
	    {S("b"), R("\x81\xa1\x63\x91\xc0")},
	    {S("role"), S("verifierd")},
	    {S("c"), B("xyz")},
	    {{V_END, 0, 0, NULL, 0}, {V_END, 0, 0, NULL, 0}},
	};
	struct proto_hello h;
	msgpack_sbuffer sb;

	build_body(&sb, kv);
	CHECK("unknown keys",
	    proto_decode_hello((uint8_t *)sb.data, sb.size, &h), 0);
	CHECK("unknown keys", h.version, 9);
	CHECK_STR("unknown keys", h.role, "verifierd");
	msgpack_sbuffer_destroy(&sb);
}

/* Every byte value inside a token: only 0x21..0x7e may pass. */
static void
test_token_bytes(void **state)
{
	static const char tmpl[] = "\x81\xa5token\xa5\x61\x62?\x63\x64";
	struct proto_verify_req *req;
	uint8_t frame[64], body[sizeof(tmpl)];
	char tok[6] = "ab?cd", name[32];
	int c, enc, want;

	assert_non_null(req = malloc(sizeof(*req)));
	memcpy(body, tmpl, sizeof(tmpl));
	for (c = 0; c < 256; c++) {
		snprintf(name, sizeof(name), "token byte 0x%02x", c);
		want = c >= 0x21 && c <= 0x7e ? ACCEPT : REJECT;
		body[10] = tok[2] = (char)c;
		CHECK(name, proto_decode_verify_req(body, 13, req), want);
		enc = proto_encode_verify_req(frame, sizeof(frame), 1, tok, 5);
		CHECK(name, enc > 0 ? ACCEPT : REJECT, want);
	}
	free(req);
}

/*
 * proto_token_valid() checks eight bytes at a time: every byte value at
 * every position of tokens 1..24 bytes long (so inside a word, at word
 * edges and in the tail), against the rule written plainly; and lengths
 * around the cap.
 */
static void
test_token_valid_positions(void **state)
{
	char tok[PROTO_MAX_TOKEN + 2], name[64];
	size_t len, pos, n;
	int c, want;

	memset(tok, 'a', sizeof(tok));
	CHECK("empty token", proto_token_valid(tok, 0), 0);
	for (len = 1; len <= 24; len++)
		for (pos = 0; pos < len; pos++)
			for (c = 0; c < 256; c++) {
				tok[pos] = (char)c;
				want = c >= 0x21 && c <= 0x7e;
				snprintf(name, sizeof(name),
				    "len %zu byte %zu = 0x%02x", len, pos, c);
				CHECK(name, proto_token_valid(tok, len), want);
				tok[pos] = 'a';
			}
	for (n = PROTO_MAX_TOKEN - 9; n <= PROTO_MAX_TOKEN + 1; n++) {
		snprintf(name, sizeof(name), "length %zu", n);
		CHECK(name, proto_token_valid(tok, n), n <= PROTO_MAX_TOKEN);
		tok[n - 1] = '\x7f';
		CHECK(name, proto_token_valid(tok, n), 0);
		tok[n - 1] = 'a';
	}
}

/* Every integer encoding, read back by value through "exp". */
/* clang-format off */
static const struct int_case {
	const char	*name;
	const char	*b;
	size_t		 n;
	int64_t		 want;
} int_cases[] = {
#define INTC(name, s, want)	{ name, s, sizeof(s) - 1, want }
	INTC("fixint 127", "\x7f", 127),
	INTC("neg fixint -1", "\xff", -1),
	INTC("neg fixint -32", "\xe0", -32),
	INTC("uint8 255", "\xcc\xff", 255),
	INTC("uint16 65535", "\xcd\xff\xff", 65535),
	INTC("uint32 2^32-1", "\xce\xff\xff\xff\xff", 4294967295),
	INTC("uint64 2^63-1", "\xcf\x7f\xff\xff\xff\xff\xff\xff\xff",
	    INT64_MAX),
	INTC("int8 127", "\xd0\x7f", 127),
	INTC("int8 -1", "\xd0\xff", -1),
	INTC("int8 -128", "\xd0\x80", -128),
	INTC("int16 -129", "\xd1\xff\x7f", -129),
	INTC("int16 -32768", "\xd1\x80\0", -32768),
	INTC("int32 -2^31", "\xd2\x80\0\0\0", INT32_MIN),
	INTC("int32 -65537", "\xd2\xff\xfe\xff\xff", -65537),
	INTC("int64 -2^63", "\xd3\x80\0\0\0\0\0\0\0", INT64_MIN),
	INTC("int64 -2", "\xd3\xff\xff\xff\xff\xff\xff\xff\xfe", -2),
	INTC("int64 2^63-1", "\xd3\x7f\xff\xff\xff\xff\xff\xff\xff",
	    INT64_MAX),
#undef INTC
};
/* clang-format on */

static void
test_int_encodings(void **state)
{
	static const char head[] =
	    "\x83\xa7outcome\x01\xa6reason\x01\xa3\x65xp";
	const struct int_case *c;
	struct proto_verify_ans a;
	uint8_t body[32];
	size_t i, hl = sizeof(head) - 1;

	memcpy(body, head, hl);
	for (i = 0; i < sizeof(int_cases) / sizeof(int_cases[0]); i++) {
		c = &int_cases[i];
		memcpy(body + hl, c->b, c->n);
		CHECK(c->name, proto_decode_verify_ans(body, hl + c->n, &a), 0);
		CHECK(c->name, a.exp, c->want);
	}
}

/* Whole bodies spelled out: the shape around the keys. */
/* clang-format off */
static const struct rawbody_case {
	const char	*name;
	enum msg	 msg;
	const char	*b;
	size_t		 n;
	int		 want;
} rawbody_cases[] = {
#define RB(name, m, s, want)	{ name, m, s, sizeof(s) - 1, want }
#define HELLO_KV	"\xa7version\x01\xa4role\xa5todod"
	RB("hello as array", M_HELLO, "\x94" HELLO_KV, REJECT),
	RB("hello as map", M_HELLO, "\x82" HELLO_KV, ACCEPT),
	RB("hello map short", M_HELLO, "\x83" HELLO_KV, REJECT),
	RB("hello map long", M_HELLO, "\x81" HELLO_KV, REJECT),
	RB("hello trailing", M_HELLO, "\x82" HELLO_KV "\xc0", REJECT),
	RB("hello empty body", M_HELLO, "", REJECT),
	RB("hello empty map", M_HELLO, "\x80", REJECT),
	RB("hello map16", M_HELLO, "\xde\0\2" HELLO_KV, ACCEPT),
	RB("hello map32", M_HELLO, "\xdf\0\0\0\2" HELLO_KV, ACCEPT),
	RB("hello key str8", M_HELLO,
	    "\x82\xd9\7version\x01\xa4role\xa5todod", ACCEPT),
	RB("hello role str16", M_HELLO,
	    "\x82\xa7version\x01\xa4role\xda\0\5todod", ACCEPT),
	RB("hello role str16 short", M_HELLO,
	    "\x82\xa7version\x01\xa4role\xda\0\6todod", REJECT),
	RB("req in array", M_REQ, "\x91\x81\xa5token\xa1t", REJECT),
	RB("req", M_REQ, "\x81\xa5token\xa1t", ACCEPT),
	RB("req token nil", M_REQ, "\x81\xa5token\xc0", REJECT),
	RB("req token bin16", M_REQ, "\x81\xa5token\xc5\0\1t", ACCEPT),
	RB("ans two maps", M_ANS, "\x82\xa7outcome\1\xa6reason\1\x80",
	    REJECT),
	RB("ans one map", M_ANS, "\x82\xa7outcome\1\xa6reason\1", ACCEPT),
#undef HELLO_KV
#undef RB
};
/* clang-format on */

static void
test_body_raw(void **state)
{
	const struct rawbody_case *c;
	union msg_out *out;
	size_t i;

	assert_non_null(out = malloc(sizeof(*out)));
	for (i = 0; i < sizeof(rawbody_cases) / sizeof(rawbody_cases[0]); i++) {
		c = &rawbody_cases[i];
		CHECK(c->name, decode_any(c->msg, c->b, c->n, out), c->want);
	}
	free(out);
}

/* ---- structural check ---- */

struct raw_case {
	const char *name;
	const char *b;
	size_t n;
	int want;
};

/* clang-format off */
#define RAWC(name, s, want)	{ name, s, sizeof(s) - 1, want }

static const struct raw_case raw_cases[] = {
	RAWC("empty", "", REJECT),
	RAWC("nil", "\xc0", ACCEPT),
	RAWC("0xc1", "\xc1", REJECT),
	RAWC("trailing", "\xc0\xc0", REJECT),
	RAWC("two maps", "\x80\x80", REJECT),
	RAWC("one map", "\x80", ACCEPT),
	RAWC("array32 4G", "\xdd\xff\xff\xff\xff", REJECT),
	RAWC("array32 1", "\xdd\0\0\0\1\xc0", ACCEPT),
	RAWC("array16 64K", "\xdc\xff\xff", REJECT),
	RAWC("array16 1", "\xdc\0\1\xc0", ACCEPT),
	RAWC("map32 4G", "\xdf\xff\xff\xff\xff", REJECT),
	RAWC("map32 1", "\xdf\0\0\0\1\xa0\xc0", ACCEPT),
	RAWC("map16 64K", "\xde\xff\xff", REJECT),
	RAWC("map16 1", "\xde\0\1\xa0\xc0", ACCEPT),
	RAWC("map32 2 pairs 3 bytes", "\xdf\0\0\0\2\xc0\xc0\xc0", REJECT),
	RAWC("map32 2 pairs 4 bytes", "\xdf\0\0\0\2\xc0\xc0\xc0\xc0", ACCEPT),
	RAWC("fixmap 1 pair 1 byte", "\x81\xc0", REJECT),
	RAWC("fixmap 1 pair 2 bytes", "\x81\xc0\xc0", ACCEPT),
	RAWC("str32 4G", "\xdb\xff\xff\xff\xff", REJECT),
	RAWC("str32 1", "\xdb\0\0\0\1" "a", ACCEPT),
	RAWC("str16 64K", "\xda\xff\xff", REJECT),
	RAWC("str8 255", "\xd9\xff", REJECT),
	RAWC("str8 1", "\xd9\1" "a", ACCEPT),
	RAWC("bin32 4G", "\xc6\xff\xff\xff\xff", REJECT),
	RAWC("bin32 1", "\xc6\0\0\0\1" "a", ACCEPT),
	RAWC("bin16 64K", "\xc5\xff\xff", REJECT),
	RAWC("bin8 255", "\xc4\xff", REJECT),
	RAWC("bin8 1", "\xc4\1" "a", ACCEPT),
	RAWC("ext8", "\xc7\1\1" "a", REJECT),
	RAWC("ext16", "\xc8\0\1\1" "a", REJECT),
	RAWC("ext32", "\xc9\0\0\0\1\1" "a", REJECT),
	RAWC("fixext1", "\xd4\1" "a", REJECT),
	RAWC("fixext2", "\xd5\1" "ab", REJECT),
	RAWC("fixext4", "\xd6\1" "abcd", REJECT),
	RAWC("fixext8", "\xd7\1" "abcdefgh", REJECT),
	RAWC("fixext16", "\xd8\1" "abcdefghijklmnop", REJECT),
	RAWC("ext as bin", "\xc4\2\1" "a", ACCEPT),
	RAWC("ext8 empty", "\xc7\0\1", REJECT),
	RAWC("ext16 empty", "\xc8\0\0\1", REJECT),
	RAWC("ext32 empty", "\xc9\0\0\0\0\1", REJECT),
	RAWC("bin8 empty", "\xc4\0", ACCEPT),
	RAWC("uint64 short", "\xcf\0\0\0\0\0\0\0", REJECT),
	RAWC("uint64", "\xcf\0\0\0\0\0\0\0\0", ACCEPT),
	RAWC("int32 short", "\xd2\0\0\0", REJECT),
	RAWC("int32", "\xd2\0\0\0\0", ACCEPT),
	RAWC("float64 short", "\xcb\0\0\0\0\0\0\0", REJECT),
	RAWC("float64", "\xcb\0\0\0\0\0\0\0\0", ACCEPT),
	RAWC("float32", "\xca\0\0\0\0", ACCEPT),
	RAWC("neg fixint", "\xff", ACCEPT),
	RAWC("5 arrays", "\x91\x91\x91\x91\x91\xc0", REJECT),
	RAWC("4 arrays", "\x91\x91\x91\x91\xc0", ACCEPT),
	RAWC("5th empty array", "\x91\x91\x91\x91\x90", REJECT),
	RAWC("4th empty array", "\x91\x91\x91\x90", ACCEPT),
	RAWC("5 maps", "\x81\xa0\x81\xa0\x81\xa0\x81\xa0\x81\xa0\xc0", REJECT),
	RAWC("4 maps", "\x81\xa0\x81\xa0\x81\xa0\x81\xa0\xc0", ACCEPT),
	RAWC("map key depth 5", "\x81\x91\x91\x91\x91\xc0\xc0", REJECT),
	RAWC("map key depth 4", "\x81\x91\x91\x91\xc0\xc0", ACCEPT),
	RAWC("depth resets", "\x92\x91\x91\x91\xc0\x91\x91\x91\xc0", ACCEPT),
};
/* clang-format on */

static void
test_check_raw(void **state)
{
	const struct raw_case *c;
	size_t i;

	for (i = 0; i < sizeof(raw_cases) / sizeof(raw_cases[0]); i++) {
		c = &raw_cases[i];
		CHECK(c->name, proto_msgpack_check((const uint8_t *)c->b, c->n),
		    c->want);
	}
}

/*
 * Each length-prefixed form, declaring n: n elements present passes, one
 * byte fewer fails.  Containers hold nils, a map's n is pairs.
 */
/* clang-format off */
static const struct len_case {
	const char	*name;
	uint8_t		 marker;	/* fix forms: marker | n */
	unsigned	 width;		/* bytes of n after the marker */
	unsigned	 per;		/* bytes per element */
	uint32_t	 n;
} len_cases[] = {
	{ "fixstr 31", 0xa0, 0, 1, 31 },
	{ "fixarray 15", 0x90, 0, 1, 15 },
	{ "fixmap 15", 0x80, 0, 2, 15 },
	{ "str8 255", 0xd9, 1, 1, 255 },
	{ "str16 65535", 0xda, 2, 1, 65535 },
	{ "str32 70000", 0xdb, 4, 1, 70000 },
	{ "bin8 255", 0xc4, 1, 1, 255 },
	{ "bin16 65535", 0xc5, 2, 1, 65535 },
	{ "bin32 70000", 0xc6, 4, 1, 70000 },
	{ "array16 65535", 0xdc, 2, 1, 65535 },
	{ "array32 70000", 0xdd, 4, 1, 70000 },
	{ "map16 65535", 0xde, 2, 2, 65535 },
	{ "map32 70000", 0xdf, 4, 2, 70000 },
};
/* clang-format on */

static void
test_check_lengths(void **state)
{
	const struct len_case *c;
	uint8_t *b;
	size_t i, len;
	unsigned k;

	for (i = 0; i < sizeof(len_cases) / sizeof(len_cases[0]); i++) {
		c = &len_cases[i];
		len = 1 + c->width + (size_t)c->per * c->n;
		assert_non_null(b = malloc(len));
		b[0] = c->width == 0 ? (uint8_t)(c->marker | c->n) : c->marker;
		for (k = 0; k < c->width; k++)
			b[1 + k] = (uint8_t)(c->n >> 8 * (c->width - 1 - k));
		memset(b + 1 + c->width,
		    c->marker >= 0xdc || c->marker <= 0x9f ? 0xc0 : 'a',
		    len - 1 - c->width);
		CHECK(c->name, proto_msgpack_check(b, len), ACCEPT);
		CHECK(c->name, proto_msgpack_check(b, len - 1), REJECT);
		free(b);
	}
}

/* ---- header and framing ---- */

/* clang-format off */
static const struct hdr_case {
	const char	*name;
	uint8_t		 b[PROTO_HDR_LEN];
	int		 want;
} hdr_cases[] = {
	{ "len max+1", { 0, 0, 0x40, 0x01, 0, 1, 0, 0, 0, 0, 0, 1 }, REJECT },
	{ "len max", { 0, 0, 0x40, 0x00, 0, 1, 0, 0, 0, 0, 0, 1 }, ACCEPT },
	{ "len 4G", { 0xff, 0xff, 0xff, 0xff, 0, 1, 0, 0, 0, 0, 0, 1 },
	    REJECT },
	{ "len 0", { 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1 }, ACCEPT },
	{ "reserved 1", { 0, 0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 1 }, REJECT },
	{ "reserved 0x8000", { 0, 0, 0, 1, 0, 1, 0x80, 0, 0, 0, 0, 1 },
	    REJECT },
	{ "reserved 0", { 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1 }, ACCEPT },
	{ "unknown type", { 0, 0, 0, 1, 0xff, 0xff, 0, 0, 0xff, 0xff, 0xff,
	    0xff }, ACCEPT },
};
/* clang-format on */

static void
test_header(void **state)
{
	const struct hdr_case *c;
	struct proto_hdr hdr;
	uint8_t again[PROTO_HDR_LEN];
	size_t i;

	for (i = 0; i < sizeof(hdr_cases) / sizeof(hdr_cases[0]); i++) {
		c = &hdr_cases[i];
		CHECK(c->name, proto_hdr_decode(c->b, &hdr), c->want);
		CHECK(c->name, proto_frame_ready(c->b, PROTO_HDR_LEN, &hdr),
		    c->want == REJECT ? -1 : hdr.len == 0);
		if (c->want == REJECT)
			continue;
		proto_hdr_encode(again, &hdr);
		CHECK(c->name, memcmp(again, c->b, PROTO_HDR_LEN), 0);
	}
}

/* A frame of exactly PROTO_MAX_BODY body bytes is whole and decodes. */
static void
test_frame_max(void **state)
{
	static const char head[] = "\x83\xa7version\x01\xa4role\xa5todod"
				   "\xa1x\xc6";
	struct proto_hello h;
	struct proto_hdr hdr = {PROTO_MAX_BODY, PROTO_HELLO, 3};
	uint8_t *f;
	size_t pad, hl = sizeof(head) - 1;

	assert_non_null(f = calloc(1, FRAME_MAX + 1));
	pad = PROTO_MAX_BODY - hl - 4;
	memcpy(f + PROTO_HDR_LEN, head, hl);
	f[PROTO_HDR_LEN + hl] = 0;
	f[PROTO_HDR_LEN + hl + 1] = 0;
	f[PROTO_HDR_LEN + hl + 2] = (uint8_t)(pad >> 8);
	f[PROTO_HDR_LEN + hl + 3] = (uint8_t)pad;
	proto_hdr_encode(f, &hdr);
	CHECK("max frame", proto_frame_ready(f, FRAME_MAX - 1, &hdr), 0);
	CHECK("max frame", proto_frame_ready(f, FRAME_MAX + 1, &hdr), 1);
	CHECK("max frame", proto_frame_ready(f, FRAME_MAX, &hdr), 1);
	CHECK(
	    "max frame", proto_decode_hello(f + PROTO_HDR_LEN, hdr.len, &h), 0);
	CHECK("max frame",
	    proto_decode_hello(f + PROTO_HDR_LEN, hdr.len + 1, &h), REJECT);
	hdr.len = PROTO_MAX_BODY + 1;
	proto_hdr_encode(f, &hdr);
	CHECK("max+1 frame", proto_frame_ready(f, FRAME_MAX + 1, &hdr), -1);
	free(f);
}

/* ---- round trips, truncation, encoder bounds ---- */

static void
fill_printable(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		s[i] = (char)(0x21 + i % (0x7f - 0x21));
	s[n] = '\0';
}

/* The messages every round-trip test works on; the caller frees. */
static union msg_out *
sample_msgs(enum msg *kinds, const char **names, size_t *n)
{
	union msg_out *m;
	struct proto_verify_ans *a;

	assert_non_null(m = calloc(8, sizeof(*m)));
	*n = 0;
	names[*n] = "hello todod";
	kinds[*n] = M_HELLO;
	m[*n].hello.version = PROTO_VERSION;
	strcpy(m[(*n)++].hello.role, "todod");
	names[*n] = "hello max";
	kinds[*n] = M_HELLO;
	m[*n].hello.version = UINT32_MAX;
	fill_printable(m[(*n)++].hello.role, PROTO_ROLE_MAX);
	names[*n] = "req short";
	kinds[*n] = M_REQ;
	m[*n].req.token_len = 3;
	strcpy(m[(*n)++].req.token, "a.b");
	names[*n] = "req max token";
	kinds[*n] = M_REQ;
	m[*n].req.token_len = PROTO_MAX_TOKEN;
	fill_printable(m[(*n)++].req.token, PROTO_MAX_TOKEN);
	names[*n] = "ans ok max";
	kinds[*n] = M_ANS;
	a = &m[(*n)++].ans;
	a->retry_after = UINT32_MAX;
	a->user = UINT64_MAX;
	a->exp = INT64_MIN;
	fill_printable(a->iss, PROTO_ISS_MAX);
	fill_printable(a->sub, PROTO_SUB_MAX);
	fill_printable(a->email, PROTO_EMAIL_MAX);
	fill_printable(a->scope, PROTO_SCOPE_MAX);
	names[*n] = "ans ok zero";
	kinds[*n] = M_ANS;
	(*n)++;
	names[*n] = "ans denied";
	kinds[*n] = M_ANS;
	m[*n].ans.outcome = VERIFY_DENIED;
	m[(*n)++].ans.reason = REASON_EXPIRED;
	names[*n] = "ans unavailable";
	kinds[*n] = M_ANS;
	m[*n].ans.outcome = VERIFY_UNAVAILABLE;
	m[*n].ans.reason = REASON_UNAVAILABLE;
	m[(*n)++].ans.retry_after = 30;
	return m;
}

static void
test_roundtrip(void **state)
{
	enum msg kinds[8];
	const char *names[8];
	union msg_out *m;
	uint8_t *frame;
	size_t i, n;

	m = sample_msgs(kinds, names, &n);
	assert_non_null(frame = malloc(FRAME_MAX));
	for (i = 0; i < n; i++)
		roundtrip(names[i], kinds[i], &m[i], frame);
	free(frame);
	free(m);
}

/* Every strict prefix of a valid frame is incomplete and undecodable. */
static void
test_truncation(void **state)
{
	enum msg kinds[8];
	const char *names[8];
	union msg_out *m, *out;
	struct proto_hdr hdr;
	uint8_t *frame;
	size_t i, k, n;
	int len;

	m = sample_msgs(kinds, names, &n);
	assert_non_null(out = malloc(sizeof(*out)));
	assert_non_null(frame = malloc(FRAME_MAX));
	for (i = 0; i < n; i++) {
		len = roundtrip(names[i], kinds[i], &m[i], frame);
		for (k = 0; k < (size_t)len; k++)
			CHECK(names[i], proto_frame_ready(frame, k, &hdr), 0);
		for (k = 0; k < (size_t)len - PROTO_HDR_LEN; k++)
			CHECK(names[i],
			    decode_any(kinds[i], frame + PROTO_HDR_LEN, k, out),
			    REJECT);
		CHECK(names[i],
		    decode_any(kinds[i], frame + PROTO_HDR_LEN, k, out),
		    ACCEPT);
	}
	free(frame);
	free(out);
	free(m);
}

/* Too small a buffer fails cleanly at every size; exactly enough fits. */
static void
test_encode_cap(void **state)
{
	enum msg kinds[8];
	const char *names[8];
	union msg_out *m;
	uint8_t *frame, *small;
	size_t i, k, n;
	int len;

	m = sample_msgs(kinds, names, &n);
	assert_non_null(frame = malloc(FRAME_MAX));
	for (i = 0; i < n; i++) {
		len = roundtrip(names[i], kinds[i], &m[i], frame);
		for (k = 0; k <= (size_t)len; k++) {
			/* Exactly k bytes, so ASan sees any overrun. */
			assert_non_null(small = malloc(k > 0 ? k : 1));
			CHECK(names[i],
			    encode_any(kinds[i], small, k, 7, &m[i]),
			    k == (size_t)len ? len : REJECT);
			if (k == (size_t)len)
				CHECK(names[i], memcmp(small, frame, k), 0);
			free(small);
		}
	}
	free(frame);
	free(m);
}

/* Fields out of range refuse to encode; their twins at the limit do. */
static void
test_encode_range(void **state)
{
	struct proto_hello h;
	struct proto_verify_ans *a;
	uint8_t *f;
	char *tok;

	assert_non_null(f = malloc(FRAME_MAX));
	assert_non_null(a = calloc(1, sizeof(*a)));
	assert_non_null(tok = malloc(PROTO_MAX_TOKEN + 2));
	memset(&h, 0, sizeof(h));
	CHECK("role empty", proto_encode_hello(f, FRAME_MAX, 1, &h), REJECT);
	memset(h.role, 'r', sizeof(h.role));
	CHECK("role 33", proto_encode_hello(f, FRAME_MAX, 1, &h), REJECT);
	h.role[PROTO_ROLE_MAX] = '\0';
	CHECK("role 32", proto_encode_hello(f, FRAME_MAX, 1, &h) > 0, 1);
	a->outcome = 3;
	CHECK("outcome 3", proto_encode_verify_ans(f, FRAME_MAX, 1, a), REJECT);
	a->outcome = 2;
	CHECK("outcome 2", proto_encode_verify_ans(f, FRAME_MAX, 1, a) > 0, 1);
	a->reason = REASON_MAX + 1;
	CHECK("reason 7", proto_encode_verify_ans(f, FRAME_MAX, 1, a), REJECT);
	a->reason = REASON_MAX;
	CHECK("reason 6", proto_encode_verify_ans(f, FRAME_MAX, 1, a) > 0, 1);
	memset(a->iss, 'i', sizeof(a->iss));
	CHECK("iss 257", proto_encode_verify_ans(f, FRAME_MAX, 1, a), REJECT);
	a->iss[PROTO_ISS_MAX] = '\0';
	CHECK("iss 256", proto_encode_verify_ans(f, FRAME_MAX, 1, a) > 0, 1);
	memset(a->scope, 'c', sizeof(a->scope));
	CHECK(
	    "scope 1025", proto_encode_verify_ans(f, FRAME_MAX, 1, a), REJECT);
	a->scope[PROTO_SCOPE_MAX] = '\0';
	CHECK("scope 1024", proto_encode_verify_ans(f, FRAME_MAX, 1, a) > 0, 1);
	memset(tok, 't', PROTO_MAX_TOKEN + 1);
	CHECK("token 8193",
	    proto_encode_verify_req(f, FRAME_MAX, 1, tok, PROTO_MAX_TOKEN + 1),
	    REJECT);
	CHECK("token 8192",
	    proto_encode_verify_req(f, FRAME_MAX, 1, tok, PROTO_MAX_TOKEN) > 0,
	    1);
	CHECK("token 0", proto_encode_verify_req(f, FRAME_MAX, 1, tok, 0),
	    REJECT);
	CHECK(
	    "token 1", proto_encode_verify_req(f, FRAME_MAX, 1, tok, 1) > 0, 1);
	free(tok);
	free(a);
	free(f);
}

/* A body of one message type is not mistaken for another. */
static void
test_cross_type(void **state)
{
	enum msg kinds[8], d;
	const char *names[8];
	union msg_out *m, *out;
	uint8_t *frame;
	size_t i, n;
	int len;

	m = sample_msgs(kinds, names, &n);
	assert_non_null(out = malloc(sizeof(*out)));
	assert_non_null(frame = malloc(FRAME_MAX));
	for (i = 0; i < n; i++) {
		len = roundtrip(names[i], kinds[i], &m[i], frame);
		for (d = M_HELLO; d < M_NMSG; d++)
			CHECK(names[i],
			    decode_any(d, frame + PROTO_HDR_LEN,
				len - PROTO_HDR_LEN, out),
			    d == kinds[i] ? ACCEPT : REJECT);
	}
	free(frame);
	free(out);
	free(m);
}

/* ---- reasons ---- */

/* clang-format off */
static const struct reason_case {
	int		 r;
	const char	*name;
	const char	*detail;
} reason_cases[] = {
	{ REASON_NONE, "none", "" },
	{ REASON_MALFORMED, "malformed", "Unable to parse authentication" },
	{ REASON_EXPIRED, "expired", "token is expired" },
	{ REASON_CLAIMS, "claims",
	    "incorrect claims, please check the audience and issuer" },
	{ REASON_UNKNOWN_KID, "unknown_kid", "Invalid token headers" },
	{ REASON_NO_EMAIL, "no_email", "Invalid token headers" },
	{ REASON_UNAVAILABLE, "unavailable",
	    "Authentication service unavailable." },
	{ REASON_MAX + 1, "unknown", "Unable to parse authentication" },
	{ 255, "unknown", "Unable to parse authentication" },
	{ -1, "unknown", "Unable to parse authentication" },
};
/* clang-format on */

static void
test_reasons(void **state)
{
	const struct reason_case *c;
	size_t i;

	for (i = 0; i < sizeof(reason_cases) / sizeof(reason_cases[0]); i++) {
		c = &reason_cases[i];
		CHECK_STR(c->name, proto_reason_name(c->r), c->name);
		CHECK_STR(c->name, proto_reason_detail(c->r), c->detail);
	}
}

/*
 * FLUSH: an empty map round-trips; unknown keys are ignored (room to
 * grow); anything that is not one well-formed map is refused.
 */
static void
test_flush(void **state)
{
	static const struct {
		const char	*name;
		uint8_t		 body[8];
		size_t		 len;
		int		 want;
	} rows[] = {
		{ "empty map", { 0x80 }, 1, 0 },
		{ "unknown key", { 0x81, 0xa1, 'x', 0x01 }, 4, 0 },
		{ "unknown key, value missing", { 0x81, 0xa1, 'x' }, 3, -1 },
		{ "array, not map", { 0x90 }, 1, -1 },
		{ "trailing byte", { 0x80, 0x00 }, 2, -1 },
		{ "nothing", { 0 }, 0, -1 },
	};
	uint8_t buf[PROTO_HDR_LEN + 16];
	struct proto_hdr h;
	size_t i;
	int n, got;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		got = proto_decode_flush(rows[i].body, rows[i].len);
		if (got != rows[i].want)
			fail_msg("%s: got %d, want %d", rows[i].name, got,
			    rows[i].want);
	}
	n = proto_encode_flush(buf, sizeof(buf), 7);
	assert_true(n == PROTO_HDR_LEN + 1);
	assert_int_equal(proto_frame_ready(buf, n, &h), 1);
	assert_int_equal(h.type, PROTO_FLUSH);
	assert_int_equal(h.id, 7);
	assert_int_equal(proto_decode_flush(buf + PROTO_HDR_LEN, h.len), 0);
	assert_int_equal(proto_encode_flush(buf, PROTO_HDR_LEN, 7), -1);
}

/* STATS_ANS: counters round-trip; names and counts are bounded. */
static void
test_stats(void **state)
{
	static uint8_t buf[PROTO_HDR_LEN + PROTO_MAX_BODY];
	struct proto_stats st, got;
	struct proto_hdr h;
	size_t i;
	int n;

	(void)state;
	memset(&st, 0, sizeof(st));
	for (i = 0; i < PROTO_STATS_MAX; i++) {
		snprintf(st.item[i].name, sizeof(st.item[i].name), "c_%zu", i);
		st.item[i].value = (uint64_t)i << 40 | i;
	}
	st.n = PROTO_STATS_MAX;
	n = proto_encode_stats_ans(buf, sizeof(buf), 9, &st);
	assert_true(n > PROTO_HDR_LEN);
	assert_int_equal(proto_frame_ready(buf, n, &h), 1);
	assert_int_equal(h.type, PROTO_STATS_ANS);
	assert_int_equal(proto_decode_stats_ans(buf + PROTO_HDR_LEN, h.len,
	    &got), 0);
	assert_int_equal(got.n, st.n);
	for (i = 0; i < st.n; i++) {
		assert_string_equal(got.item[i].name, st.item[i].name);
		assert_true(got.item[i].value == st.item[i].value);
	}
	/* One more than the cap, a bad name: refused by the encoder. */
	st.n = PROTO_STATS_MAX + 1;
	assert_int_equal(proto_encode_stats_ans(buf, sizeof(buf), 9, &st), -1);
	st.n = 1;
	strcpy(st.item[0].name, "Bad-Name");
	assert_int_equal(proto_encode_stats_ans(buf, sizeof(buf), 9, &st), -1);
	strcpy(st.item[0].name, "good_name");
	assert_true(proto_encode_stats_ans(buf, sizeof(buf), 9, &st) > 0);
	/* Decoder: a negative value, a string value, a bad key; and twins. */
	{
		static const struct {
			const char	*name;
			uint8_t		 body[16];
			size_t		 len;
			int		 want;
		} rows[] = {
			{ "uint value", { 0x81, 0xa1, 'a', 0x05 }, 4, 0 },
			{ "negative value", { 0x81, 0xa1, 'a', 0xff }, 4, -1 },
			{ "string value", { 0x81, 0xa1, 'a', 0xa1, 'x' }, 5, -1 },
			{ "upper-case key", { 0x81, 0xa1, 'A', 0x05 }, 4, -1 },
			{ "empty map", { 0x80 }, 1, 0 },
		};

		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
			if (proto_decode_stats_ans(rows[i].body, rows[i].len,
			    &got) != rows[i].want)
				fail_msg("%s: got %d, want %d", rows[i].name,
				    !rows[i].want, rows[i].want);
	}
	n = proto_encode_stats_req(buf, sizeof(buf), 3);
	assert_int_equal(n, PROTO_HDR_LEN + 1);
	assert_int_equal(proto_decode_stats_req(buf + PROTO_HDR_LEN, 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_body_table),
	    cmocka_unit_test(test_unknown_keys_values),
	    cmocka_unit_test(test_token_bytes),
	    cmocka_unit_test(test_token_valid_positions),
	    cmocka_unit_test(test_int_encodings),
	    cmocka_unit_test(test_body_raw),
	    cmocka_unit_test(test_check_raw),
	    cmocka_unit_test(test_check_lengths),
	    cmocka_unit_test(test_header),
	    cmocka_unit_test(test_frame_max),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_truncation),
	    cmocka_unit_test(test_encode_cap),
	    cmocka_unit_test(test_encode_range),
	    cmocka_unit_test(test_cross_type),
	    cmocka_unit_test(test_reasons),
	    cmocka_unit_test(test_flush),
	    cmocka_unit_test(test_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

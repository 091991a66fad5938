/*
 * fuzz_frame.c - libFuzzer target for proto/codec.c, the worker <->
 * verifierd wire format.
 *
 * Built by `meson setup -Dfuzz=true' with clang; seeds live in
 * tests/fuzz/corpus/frame/.  The input goes to proto_frame_ready() and
 * its body (the frame's body when whole, else whatever follows the
 * header) to every decoder.  Three properties abort() when broken:
 *  - what proto_msgpack_check() accepts, msgpack-c's own unpacker parses
 *    as one object of exactly that length (the check is run first, so
 *    msgpack-c never sees a count it would allocate 4G objects for);
 *  - what a decoder accepts re-encodes into a frame with the right
 *    header, which decodes to the same message;
 *  - re-encoding that message gives the same bytes again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "proto.h"

#define FRAME_MAX (PROTO_HDR_LEN + PROTO_MAX_BODY)

union msg {
	struct proto_hello hello;
	struct proto_verify_req req;
	struct proto_verify_ans ans;
};

static const uint16_t msg_types[] = {
    PROTO_HELLO, PROTO_VERIFY_REQ, PROTO_VERIFY_ANS};

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
decode(uint16_t type, const uint8_t *body, size_t len, union msg *m)
{
	switch (type) {
	case PROTO_HELLO:
		return proto_decode_hello(body, len, &m->hello);
	case PROTO_VERIFY_REQ:
		return proto_decode_verify_req(body, len, &m->req);
	default:
		return proto_decode_verify_ans(body, len, &m->ans);
	}
}

static int
encode(uint16_t type, uint8_t *out, uint32_t id, const union msg *m)
{
	switch (type) {
	case PROTO_HELLO:
		return proto_encode_hello(out, FRAME_MAX, id, &m->hello);
	case PROTO_VERIFY_REQ:
		return proto_encode_verify_req(
		    out, FRAME_MAX, id, m->req.token, m->req.token_len);
	default:
		return proto_encode_verify_ans(out, FRAME_MAX, id, &m->ans);
	}
}

static size_t
msg_size(uint16_t type)
{
	switch (type) {
	case PROTO_HELLO:
		return sizeof(struct proto_hello);
	case PROTO_VERIFY_REQ:
		return sizeof(struct proto_verify_req);
	default:
		return sizeof(struct proto_verify_ans);
	}
}

/* msgpack-c must agree with every body our structural check accepts. */
static void
check_oracle(const uint8_t *body, size_t len)
{
	msgpack_unpacked u;
	msgpack_unpack_return ret;
	size_t off = 0;

	if (proto_msgpack_check(body, len) != 0)
		return;
	msgpack_unpacked_init(&u);
	ret = msgpack_unpack_next(&u, (const char *)body, len, &off);
	if (ret != MSGPACK_UNPACK_SUCCESS || off != len)
		abort();
	msgpack_unpacked_destroy(&u);
}

/* A decoded message survives encode -> decode -> encode unchanged. */
static void
check_roundtrip(uint16_t type, uint32_t id, const union msg *m)
{
	static uint8_t f1[FRAME_MAX], f2[FRAME_MAX];
	static union msg again;
	struct proto_hdr hdr;
	int n1, n2;

	if ((n1 = encode(type, f1, id, m)) < PROTO_HDR_LEN)
		abort();
	if (proto_frame_ready(f1, (size_t)n1, &hdr) != 1 || hdr.type != type ||
	    hdr.id != id || hdr.len != (size_t)n1 - PROTO_HDR_LEN)
		abort();
	if (decode(type, f1 + PROTO_HDR_LEN, hdr.len, &again) != 0 ||
	    memcmp(m, &again, msg_size(type)) != 0)
		abort();
	if ((n2 = encode(type, f2, id, &again)) != n1 ||
	    memcmp(f1, f2, (size_t)n1) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static union msg m;
	struct proto_hdr hdr = {0, 0, 0};
	const uint8_t *body = data;
	size_t i, len = size;
	int ready;

	ready = proto_frame_ready(data, size, &hdr);
	if (ready == 1)
		len = hdr.len;
	else if (size >= PROTO_HDR_LEN)
		len = size - PROTO_HDR_LEN;
	if (size >= PROTO_HDR_LEN)
		body = data + PROTO_HDR_LEN;
	check_oracle(body, len);
	for (i = 0; i < sizeof(msg_types) / sizeof(msg_types[0]); i++) {
		if (decode(msg_types[i], body, len, &m) != 0)
			continue;
		if (msg_types[i] == PROTO_VERIFY_ANS &&
		    (proto_reason_name(m.ans.reason) == NULL ||
			proto_reason_detail(m.ans.reason) == NULL))
			abort();
		check_roundtrip(msg_types[i], hdr.id, &m);
	}
	return 0;
}

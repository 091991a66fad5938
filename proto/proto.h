/*
 * proto.h - the todod worker <-> verifierd wire format.
 *
 * A frame is a fixed 12-byte header followed by a msgpack body:
 *
 *	u32 body length (big endian, <= PROTO_MAX_BODY)
 *	u16 message type
 *	u16 reserved, must be zero
 *	u32 request id (big endian), chosen by the requester
 *
 * The body is one msgpack map with string keys.  Unknown keys are
 * ignored; a missing required key or a wrong type rejects the message.
 * Every decoder here checks lengths and counts against the bytes that are
 * actually present before anything is allocated.  proto/README.md states
 * the grammar.
 */
#ifndef TODOD_PROTO_H
#define TODOD_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_VERSION		1
#define PROTO_HDR_LEN		12
#define PROTO_MAX_BODY		16384	/* hard cap, checked before alloc */
#define PROTO_MAX_TOKEN		8192	/* bearer token bytes */
#define PROTO_MAX_DEPTH		4	/* msgpack nesting */

#define PROTO_ROLE_MAX		32
#define PROTO_ISS_MAX		256
#define PROTO_SUB_MAX		256
#define PROTO_EMAIL_MAX		320
#define PROTO_SCOPE_MAX		1024

enum proto_type {
	PROTO_HELLO = 1,	/* {"version": uint, "role": str} both ways */
	PROTO_VERIFY_REQ = 2,	/* {"token": str|bin} */
	PROTO_VERIFY_ANS = 3,	/* see struct proto_verify_ans */
	PROTO_FLUSH = 4,	/* verifierd -> worker, {}: forget verdicts */
	PROTO_STATS_REQ = 5,	/* worker -> verifierd, {} */
	PROTO_STATS_ANS = 6,	/* {"name": uint, ...}: verifierd's counters */
};

/* The three outcomes of a verification (OK / PERMFAIL / TEMPFAIL). */
enum verify_outcome {
	VERIFY_OK = 0,
	VERIFY_DENIED = 1,
	VERIFY_UNAVAILABLE = 2,
};

/* Why a token was refused; each maps to one of the seed's messages. */
enum verify_reason {
	REASON_NONE = 0,	/* accepted */
	REASON_MALFORMED = 1,	/* "Unable to parse authentication" */
	REASON_EXPIRED = 2,	/* "token is expired" */
	REASON_CLAIMS = 3,	/* "incorrect claims, please check ..." */
	REASON_UNKNOWN_KID = 4,	/* "Invalid token headers" */
	REASON_NO_EMAIL = 5,	/* "Invalid token headers" */
	REASON_UNAVAILABLE = 6,	/* IdP or verifier unavailable -> 503 */
	REASON_MAX = 6,
};

struct proto_hdr {
	uint32_t	len;	/* body length */
	uint16_t	type;
	uint32_t	id;
};

struct proto_hello {
	uint32_t	version;
	char		role[PROTO_ROLE_MAX + 1];	/* "todod", "verifierd" */
};

struct proto_verify_req {
	size_t		token_len;
	char		token[PROTO_MAX_TOKEN + 1];	/* NUL-terminated copy */
};

/*
 * For VERIFY_OK every identity field is set.  For the other outcomes
 * only outcome, reason and (for VERIFY_UNAVAILABLE) retry_after are.
 */
struct proto_verify_ans {
	uint8_t		outcome;	/* enum verify_outcome */
	uint8_t		reason;		/* enum verify_reason */
	uint32_t	retry_after;	/* seconds, 0 when not given */
	uint64_t	user;		/* local user id */
	int64_t		exp;		/* token expiry, seconds since epoch */
	char		iss[PROTO_ISS_MAX + 1];
	char		sub[PROTO_SUB_MAX + 1];
	char		email[PROTO_EMAIL_MAX + 1];
	char		scope[PROTO_SCOPE_MAX + 1];
};

#define PROTO_STATS_MAX		32	/* counters in one STATS_ANS */
#define PROTO_STAT_NAME_MAX	48	/* [a-z0-9_]+ */

struct proto_stats {
	size_t		n;
	struct {
		char		name[PROTO_STAT_NAME_MAX + 1];
		uint64_t	value;
	}		item[PROTO_STATS_MAX];
};

/*
 * Header.  proto_hdr_decode() needs PROTO_HDR_LEN bytes and returns 0, or
 * -1 when the declared length exceeds PROTO_MAX_BODY or the reserved
 * field is not zero (the connection must then be closed).
 */
void	proto_hdr_encode(uint8_t out[PROTO_HDR_LEN], const struct proto_hdr *);
int	proto_hdr_decode(const uint8_t in[PROTO_HDR_LEN], struct proto_hdr *);

/*
 * Framing over a byte stream: returns 1 when buf[0..avail) starts with a
 * whole frame (header decoded into *hdr; the frame is PROTO_HDR_LEN +
 * hdr->len bytes), 0 when more bytes are needed, -1 when the header is
 * invalid and the connection must be closed.
 */
int	proto_frame_ready(const uint8_t *buf, size_t avail, struct proto_hdr *);

/*
 * Encoders write one whole frame (header + body) for request id `id` into
 * out[0..cap) and return its length, or -1 if it does not fit or a field
 * is out of range.  PROTO_HDR_LEN + PROTO_MAX_BODY always fits.
 */
int	proto_encode_hello(uint8_t *out, size_t cap, uint32_t id,
	    const struct proto_hello *);
int	proto_encode_verify_req(uint8_t *out, size_t cap, uint32_t id,
	    const char *token, size_t token_len);
int	proto_encode_verify_ans(uint8_t *out, size_t cap, uint32_t id,
	    const struct proto_verify_ans *);
int	proto_encode_flush(uint8_t *out, size_t cap, uint32_t id);
int	proto_encode_stats_req(uint8_t *out, size_t cap, uint32_t id);
int	proto_encode_stats_ans(uint8_t *out, size_t cap, uint32_t id,
	    const struct proto_stats *);

/*
 * Decoders take one frame body (without header) and return 0, or -1 when
 * the body is malformed, truncated, has trailing bytes, nests too deeply,
 * lacks a required key or has a wrongly typed or oversized value.
 */
int	proto_decode_hello(const uint8_t *body, size_t len,
	    struct proto_hello *);
int	proto_decode_verify_req(const uint8_t *body, size_t len,
	    struct proto_verify_req *);
int	proto_decode_verify_ans(const uint8_t *body, size_t len,
	    struct proto_verify_ans *);
int	proto_decode_flush(const uint8_t *body, size_t len);
int	proto_decode_stats_req(const uint8_t *body, size_t len);
int	proto_decode_stats_ans(const uint8_t *body, size_t len,
	    struct proto_stats *);

/*
 * Can this be sent as a token: 1..PROTO_MAX_TOKEN printable ASCII bytes
 * (0x21..0x7e)?  Anything else can never be a JWS.
 */
int	proto_token_valid(const char *tok, size_t len);

/* Bounded structural check used by every decoder; 0 if well formed. */
int	proto_msgpack_check(const uint8_t *body, size_t len);

const char	*proto_reason_detail(enum verify_reason);
const char	*proto_reason_name(enum verify_reason);

#endif

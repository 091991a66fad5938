/*
 * vcache.c - the verification cache: keyed BLAKE2b-256(token) -> outcome.
 *
 * verify.c looks every token up here before doing any cryptography,
 * stores what it decided (vc_put_ok / vc_put_denied), and jwks.c calls
 * vc_drop_kid() when a key leaves the JWKS.  Single-threaded: verifierd's
 * event loop is the only caller.
 *
 * Layout.  All entries live in one array of max_entries slots allocated
 * at creation (calloc, so untouched slots cost no memory) and are named
 * by 32-bit index + 1, 0 meaning "none".  A power-of-two bucket array
 * (load factor at most 1) chains entries through their `next' field; the
 * same field links free slots.  The bucket is the first 8 bytes of the
 * key: the key is a BLAKE2b hash keyed with a per-process secret, so its
 * bits are uniform and no client can aim tokens at one chain.  Lookup,
 * insert and removal are O(1) expected.
 *
 * Eviction is CLOCK (second chance): a hit sets the entry's reference
 * bit; when the table is full the hand sweeps the array, clearing set
 * bits, and takes the first entry whose bit is clear or whose lifetime
 * has passed.  One byte per entry instead of LRU's two list pointers, and
 * a hit writes one byte instead of relinking a list.
 *
 * Identities.  A positive entry points at a refcounted struct vc_ident
 * interned by user id in a small growable chained table, so many tokens
 * of few users cost one identity each.  The record keeps the latest iss,
 * sub and email seen for that user.
 *
 * Invariants: no raw token is ever stored; count == number of slots in a
 * chain; an ident's refs == number of entries pointing at it, and it is
 * freed when that reaches 0; a failed put leaves the cache as it was.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "vcache.h"

enum vc_state {
	VC_FREE = 0,
	VC_OK,
	VC_DENIED
};

struct vc_inode {
	struct vc_ident	 id;
	struct vc_inode	*next;
};

struct vc_entry {
	uint8_t		 key[VC_KEYLEN];
	uint32_t	 next;		/* chain or free list, index + 1 */
	uint8_t		 state;		/* enum vc_state */
	uint8_t		 reason;	/* VC_DENIED */
	uint8_t		 ref;		/* CLOCK reference bit */
	int64_t		 until;		/* usable while now < until */
	int64_t		 exp;		/* VC_OK: the token's exp */
	uint64_t	 kid;		/* VC_OK: SipHash of the kid */
	char		*scope;		/* VC_OK: NULL when none */
	struct vc_inode	*ident;		/* VC_OK */
};

struct vcache {
	struct vc_entry	 *ent;
	uint32_t	 *bucket;	/* index + 1 of a chain's head */
	size_t		  nbucket;	/* power of two */
	size_t		  max;		/* slots in ent */
	size_t		  used;		/* slots ever handed out */
	size_t		  count;	/* live entries */
	uint32_t	  free;		/* index + 1 of the first free slot */
	size_t		  hand;		/* CLOCK hand, < used */
	int64_t		  now;		/* latest time seen by vc_get */
	struct vc_inode	**ibucket;
	size_t		  nibucket;	/* power of two */
	size_t		  nident;
	uint64_t	  hits, misses, evictions;
	unsigned char	  hkey[crypto_generichash_KEYBYTES];
	unsigned char	  kkey[crypto_shorthash_KEYBYTES];
};

#define VC_IBUCKETS_MIN	16

static size_t
vc_bucket(const struct vcache *vc, const uint8_t key[VC_KEYLEN])
{
	uint64_t h;

	memcpy(&h, key, sizeof(h));
	return (size_t)(h & (vc->nbucket - 1));
}

static uint64_t
vc_kid_hash(const struct vcache *vc, const char *kid)
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	if (kid == NULL)
		kid = "";
	crypto_shorthash(out, (const unsigned char *)kid, strlen(kid),
	    vc->kkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

/* splitmix64's finaliser: user ids are small and dense. */
static size_t
vc_ident_bucket(const struct vcache *vc, uint64_t user)
{
	user ^= user >> 30;
	user *= 0xbf58476d1ce4e5b9ULL;
	user ^= user >> 27;
	user *= 0x94d049bb133111ebULL;
	user ^= user >> 31;
	return (size_t)(user & (vc->nibucket - 1));
}

static int
vc_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/*
 * Brings an identity's strings up to date.  All copies are made before
 * anything is replaced, so on failure the record is unchanged.
 */
static int
vc_ident_refresh(struct vc_ident *id, const char *iss, const char *sub,
    const char *email)
{
	char **field[3] = { &id->iss, &id->sub, &id->email };
	const char *want[3] = { iss, sub, email };
	char *copy[3] = { NULL, NULL, NULL };
	int change[3], i, rc = -1;

	for (i = 0; i < 3; i++) {
		change[i] = !vc_same(*field[i], want[i]);
		if (change[i] && want[i] != NULL &&
		    (copy[i] = strdup(want[i])) == NULL)
			goto out;
	}
	for (i = 0; i < 3; i++) {
		if (!change[i])
			continue;
		free(*field[i]);
		*field[i] = copy[i];
		copy[i] = NULL;
	}
	rc = 0;
out:
	for (i = 0; i < 3; i++)
		free(copy[i]);
	return rc;
}

static struct vc_inode *
vc_ident_find(const struct vcache *vc, uint64_t user)
{
	struct vc_inode *n;

	n = vc->ibucket[vc_ident_bucket(vc, user)];
	while (n != NULL && n->id.user != user)
		n = n->next;
	return n;
}

static void
vc_ident_link(struct vcache *vc, struct vc_inode *n)
{
	size_t b = vc_ident_bucket(vc, n->id.user);

	n->next = vc->ibucket[b];
	vc->ibucket[b] = n;
}

/* Doubles the identity table; on ENOMEM chains just get longer. */
static void
vc_ident_grow(struct vcache *vc)
{
	struct vc_inode **old = vc->ibucket, *n, *next;
	size_t i, nold = vc->nibucket;

	vc->ibucket = calloc(nold * 2, sizeof(*vc->ibucket));
	if (vc->ibucket == NULL) {
		vc->ibucket = old;
		return;
	}
	vc->nibucket = nold * 2;
	for (i = 0; i < nold; i++) {
		for (n = old[i]; n != NULL; n = next) {
			next = n->next;
			vc_ident_link(vc, n);
		}
	}
	free(old);
}

/* Takes a reference on the user's identity, creating it if needed. */
static struct vc_inode *
vc_ident_acquire(struct vcache *vc, uint64_t user, const char *iss,
    const char *sub, const char *email)
{
	struct vc_inode *n;

	if ((n = vc_ident_find(vc, user)) != NULL) {
		if (vc_ident_refresh(&n->id, iss, sub, email) == -1)
			return NULL;
		n->id.refs++;
		return n;
	}
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->id.user = user;
	if (vc_ident_refresh(&n->id, iss, sub, email) == -1) {
		free(n);
		return NULL;
	}
	n->id.refs = 1;
	if (vc->nident >= vc->nibucket)
		vc_ident_grow(vc);
	vc_ident_link(vc, n);
	vc->nident++;
	return n;
}

static void
vc_ident_release(struct vcache *vc, struct vc_inode *n)
{
	struct vc_inode **pp;

	if (n->id.refs == 0)
		abort();
	if (--n->id.refs > 0)
		return;
	pp = &vc->ibucket[vc_ident_bucket(vc, n->id.user)];
	while (*pp != n) {
		if (*pp == NULL)
			abort();
		pp = &(*pp)->next;
	}
	*pp = n->next;
	free(n->id.iss);
	free(n->id.sub);
	free(n->id.email);
	free(n);
	vc->nident--;
}

/*
 * Index + 1 of the entry under key, or 0.  Keys are hashes under a
 * secret key, so a timing difference would tell a client nothing it can
 * use; sodium_memcmp is used anyway because it costs nothing here.
 */
static uint32_t
vc_find(const struct vcache *vc, const uint8_t key[VC_KEYLEN])
{
	uint32_t i;

	for (i = vc->bucket[vc_bucket(vc, key)]; i != 0;
	    i = vc->ent[i - 1].next) {
		if (sodium_memcmp(vc->ent[i - 1].key, key, VC_KEYLEN) == 0)
			return i;
	}
	return 0;
}

static void
vc_unlink(struct vcache *vc, size_t idx)
{
	struct vc_entry *e = &vc->ent[idx];
	uint32_t *pp;

	pp = &vc->bucket[vc_bucket(vc, e->key)];
	while (*pp != idx + 1) {
		if (*pp == 0)
			abort();
		pp = &vc->ent[*pp - 1].next;
	}
	*pp = e->next;
	e->next = 0;
}

/* Drops what an entry owns; its key and chain link stay. */
static void
vc_entry_clear(struct vcache *vc, struct vc_entry *e)
{
	free(e->scope);
	if (e->ident != NULL)
		vc_ident_release(vc, e->ident);
	e->scope = NULL;
	e->ident = NULL;
	e->state = VC_FREE;
	e->reason = 0;
	e->until = e->exp = 0;
	e->kid = 0;
}

static void
vc_remove(struct vcache *vc, size_t idx)
{
	struct vc_entry *e = &vc->ent[idx];

	vc_unlink(vc, idx);
	vc_entry_clear(vc, e);
	memset(e->key, 0, sizeof(e->key));
	e->next = vc->free;
	vc->free = (uint32_t)(idx + 1);
	vc->count--;
}

/*
 * CLOCK: frees and returns the slot of the first entry without a second
 * chance.  Only called when every slot is in use, so one sweep clears
 * every bit and the second cannot fail.
 */
static size_t
vc_evict(struct vcache *vc)
{
	struct vc_entry *e;
	size_t idx, steps;

	for (steps = 0; steps <= 2 * vc->used; steps++) {
		idx = vc->hand;
		vc->hand = (vc->hand + 1) % vc->used;
		e = &vc->ent[idx];
		if (e->state == VC_FREE)
			continue;
		if (e->ref && e->until > vc->now) {
			e->ref = 0;
			continue;
		}
		if (e->until > vc->now)
			vc->evictions++;
		vc_unlink(vc, idx);
		vc_entry_clear(vc, e);
		vc->count--;
		return idx;
	}
	abort();
}

/* A slot for a new entry: a free one, a fresh one, or a victim's. */
static size_t
vc_alloc(struct vcache *vc)
{
	size_t idx;

	if (vc->free != 0) {
		idx = vc->free - 1;
		vc->free = vc->ent[idx].next;
		vc->ent[idx].next = 0;
		return idx;
	}
	if (vc->used < vc->max)
		return vc->used++;
	return vc_evict(vc);
}

/*
 * The entry for key, emptied and ready to be filled: the existing one
 * (so a second put replaces) or a new one linked into its chain.
 */
static struct vc_entry *
vc_slot(struct vcache *vc, const uint8_t key[VC_KEYLEN])
{
	struct vc_entry *e;
	uint32_t i;
	size_t b;

	if ((i = vc_find(vc, key)) != 0) {
		e = &vc->ent[i - 1];
		vc_entry_clear(vc, e);
		return e;
	}
	i = (uint32_t)(vc_alloc(vc) + 1);
	e = &vc->ent[i - 1];
	memcpy(e->key, key, VC_KEYLEN);
	b = vc_bucket(vc, key);
	e->next = vc->bucket[b];
	vc->bucket[b] = i;
	e->ref = 0;
	vc->count++;
	return e;
}

struct vcache *
vc_new(size_t max_entries)
{
	struct vcache *vc = NULL;

	if (max_entries == 0 || max_entries > VC_MAX_ENTRIES) {
		errno = EINVAL;
		goto fail;
	}
	if (sodium_init() < 0 || (vc = calloc(1, sizeof(*vc))) == NULL)
		goto fail;
	vc->max = max_entries;
	for (vc->nbucket = 1; vc->nbucket < max_entries; vc->nbucket <<= 1)
		;
	vc->nibucket = VC_IBUCKETS_MIN;
	vc->ent = calloc(max_entries, sizeof(*vc->ent));
	vc->bucket = calloc(vc->nbucket, sizeof(*vc->bucket));
	vc->ibucket = calloc(vc->nibucket, sizeof(*vc->ibucket));
	if (vc->ent == NULL || vc->bucket == NULL || vc->ibucket == NULL)
		goto fail;
	randombytes_buf(vc->hkey, sizeof(vc->hkey));
	randombytes_buf(vc->kkey, sizeof(vc->kkey));
	return vc;
fail:
	vc_free(vc);
	return NULL;
}

void
vc_free(struct vcache *vc)
{
	size_t i;

	if (vc == NULL)
		return;
	for (i = 0; i < vc->used; i++)
		vc_entry_clear(vc, &vc->ent[i]);
	if (vc->nident != 0)
		abort();
	free(vc->ent);
	free(vc->bucket);
	free(vc->ibucket);
	sodium_memzero(vc->hkey, sizeof(vc->hkey));
	sodium_memzero(vc->kkey, sizeof(vc->kkey));
	free(vc);
}

void
vc_key(const struct vcache *vc, const char *token, size_t len,
    uint8_t out[VC_KEYLEN])
{
	crypto_generichash(out, VC_KEYLEN, (const unsigned char *)token, len,
	    vc->hkey, sizeof(vc->hkey));
}

static void
vc_fill(const struct vc_entry *e, struct vc_hit *out)
{
	memset(out, 0, sizeof(*out));
	if (e->state == VC_DENIED) {
		out->reason = e->reason;
		return;
	}
	out->positive = 1;
	out->user = e->ident->id.user;
	out->exp = e->exp;
	out->scope = e->scope != NULL ? e->scope : "";
	out->ident = &e->ident->id;
}

int
vc_get(struct vcache *vc, const uint8_t key[VC_KEYLEN], int64_t now,
    struct vc_hit *out)
{
	struct vc_entry *e;
	uint32_t i;

	if (now > vc->now)
		vc->now = now;
	memset(out, 0, sizeof(*out));
	if ((i = vc_find(vc, key)) == 0) {
		vc->misses++;
		return 0;
	}
	e = &vc->ent[i - 1];
	if (now >= e->until) {
		vc_remove(vc, i - 1);
		vc->misses++;
		return 0;
	}
	e->ref = 1;
	vc->hits++;
	vc_fill(e, out);
	return 1;
}

int
vc_put_ok(struct vcache *vc, const uint8_t key[VC_KEYLEN], const char *kid,
    uint64_t user, const char *iss, const char *sub, const char *email,
    const char *scope, int64_t exp, int64_t until)
{
	struct vc_inode *id;
	struct vc_entry *e;
	char *sc = NULL;
	int rc = -1;

	if (iss == NULL || sub == NULL) {
		errno = EINVAL;
		goto out;
	}
	if (scope != NULL && *scope != '\0' && (sc = strdup(scope)) == NULL)
		goto out;
	/* The last step that can fail: nothing is undone after it. */
	if ((id = vc_ident_acquire(vc, user, iss, sub, email)) == NULL)
		goto out;
	e = vc_slot(vc, key);
	e->state = VC_OK;
	e->until = exp < until ? exp : until;
	e->exp = exp;
	e->kid = vc_kid_hash(vc, kid);
	e->scope = sc;
	e->ident = id;
	sc = NULL;
	rc = 0;
out:
	free(sc);
	return rc;
}

int
vc_put_denied(struct vcache *vc, const uint8_t key[VC_KEYLEN],
    uint8_t reason, int64_t until)
{
	struct vc_entry *e;

	e = vc_slot(vc, key);
	e->state = VC_DENIED;
	e->reason = reason;
	e->until = until;
	return 0;
}

size_t
vc_drop_kid(struct vcache *vc, const char *kid)
{
	uint64_t h = vc_kid_hash(vc, kid);
	size_t i, n = 0;

	for (i = 0; i < vc->used; i++) {
		if (vc->ent[i].state == VC_OK && vc->ent[i].kid == h) {
			vc_remove(vc, i);
			n++;
		}
	}
	return n;
}

/* Forgets every verdict: the policy they were reached under changed. */
size_t
vc_clear(struct vcache *vc)
{
	size_t i, n = 0;

	for (i = 0; i < vc->used; i++)
		if (vc->ent[i].state != VC_FREE) {
			vc_remove(vc, i);
			n++;
		}
	return n;
}

size_t
vc_count(const struct vcache *vc)
{
	return vc->count;
}

size_t
vc_idents(const struct vcache *vc)
{
	return vc->nident;
}

void
vc_stats(const struct vcache *vc, uint64_t *hits, uint64_t *misses,
    uint64_t *evictions)
{
	if (hits != NULL)
		*hits = vc->hits;
	if (misses != NULL)
		*misses = vc->misses;
	if (evictions != NULL)
		*evictions = vc->evictions;
}

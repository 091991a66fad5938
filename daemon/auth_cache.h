/*
 * auth_cache.h - a worker's short memory of verifierd's accepted verdicts.
 */
#ifndef TODOD_AUTH_CACHE_H
#define TODOD_AUTH_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define AC_KEYLEN	16	/* crypto_shorthash_siphashx24_BYTES */

struct auth_cache;

struct auth_cache *ac_new(size_t max_entries);
void		 ac_free(struct auth_cache *);
void		 ac_key(const struct auth_cache *, const char *token,
		    size_t len, uint8_t key[AC_KEYLEN]);
int		 ac_get(struct auth_cache *, const uint8_t key[AC_KEYLEN],
		    int64_t now, uint64_t *user);
void		 ac_put(struct auth_cache *, const uint8_t key[AC_KEYLEN],
		    uint64_t user, int64_t until);
void		 ac_flush(struct auth_cache *);
size_t		 ac_count(const struct auth_cache *);

#endif

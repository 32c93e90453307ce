/*
 * cache.h - directory answers kept for a while, by login
 *
 * Keeps the two definite answers of a lookup: an entry that was found
 * (for ttl seconds) and "no such login" (for negative_ttl seconds), never
 * an error. At most size answers; the least recently used goes first.
 * Sharded: threads asking for different logins rarely wait for each other.
 * Every function is thread-safe.
 */
#ifndef HM_CACHE_H
#define HM_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "entry.h"

struct cache;

/*
 * cache_new - an empty cache of at most SIZE answers; found entries live
 * TTL seconds, "not found" NEGATIVE_TTL seconds (0: not kept). NOW gives
 * the time in seconds (NULL: the monotonic clock; tests pass a fake one).
 * Returns NULL when out of memory. A cache with SIZE 0 keeps nothing.
 */
struct cache *cache_new(size_t size, int ttl, int negative_ttl, time_t (*now)(void));

/* cache_free - drop every answer (and its entry reference). NULL-safe. */
void cache_free(struct cache *cache);

/*
 * cache_get - the answer kept for LOGIN, if any and not expired: true with
 * HM_LOOKUP_FOUND and one entry reference in *entry_r (caller unrefs), or
 * HM_LOOKUP_NOT_FOUND and a malloc'd copy of the directory's explanation
 * in *detail_r (caller frees; NULL when out of memory). False on a miss.
 */
bool cache_get(struct cache *cache, const char *login, enum hm_lookup *result_r,
               struct entry **entry_r, char **detail_r);

/*
 * cache_put - keep the directory's answer for LOGIN: RESULT
 * HM_LOOKUP_FOUND with ENTRY (the cache takes its own reference), or
 * HM_LOOKUP_NOT_FOUND with DETAIL (copied). Any other result, or a TTL of
 * 0 for it, keeps nothing. Out of memory keeps nothing either.
 */
void cache_put(struct cache *cache, const char *login, enum hm_lookup result,
               struct entry *entry, const char *detail);

/*
 * cache_set_stale - keep found entries STALE_TTL seconds after they were
 * found (when that is more than the ttl), for cache_get_stale(); 0: not.
 * Before the cache is shared.
 */
void cache_set_stale(struct cache *cache, int stale_ttl);

/*
 * cache_get_stale - a found entry kept for LOGIN, even past its ttl but
 * within stale_ttl: true with one reference in *entry_r (caller unrefs)
 * and its age in seconds in *age_r. Never a "no such login" answer. For
 * the caller to use only when the directory could not answer.
 */
bool cache_get_stale(struct cache *cache, const char *login, struct entry **entry_r,
                     long *age_r);

/* cache_count - how many answers are kept now (expired ones included). */
size_t cache_count(struct cache *cache);

#endif

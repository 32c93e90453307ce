/*
 * NAME
 *	cache - directory answers kept for a while, by login
 * SUMMARY
 *	cache_new(), cache_free(), cache_get(), cache_put(), cache_count(),
 *	cache_set_stale(), cache_get_stale()
 * DESCRIPTION
 *	A hash table split into shards, each with its own mutex, hash
 *	chains and least-recently-used list. A login's shard and chain come
 *	from one keyed hash whose key is drawn at random per cache, so that
 *	logins chosen to collide cannot be prepared in advance. A shard's
 *	table doubles when it holds as many answers as chains; when a shard
 *	is full its least recently used answer is dropped. An expired answer
 *	is dropped when it is next asked for, or when it reaches the end of
 *	the list.
 *
 *	Only definite answers are kept: an entry found, or "no such login".
 *	A temporary error must be asked again at the next message. With a
 *	stale_ttl, a found entry is kept past its ttl, no longer a hit but
 *	still there for cache_get_stale() while the directory is down.
 *
 *	Thread safety: each shard's mutex is held only while its table or
 *	list changes; entries are reference counted and immutable, so a
 *	caller keeps using its entry after the cache has dropped it.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cache.h"

#define CACHE_SHARDS        16 /* when the cache holds at least CACHE_SHARDED */
#define CACHE_SHARDED       64
#define CACHE_FIRST_BUCKETS 64

struct cache_node {
    struct cache_node *chain;         /* next in the hash chain */
    struct cache_node *newer, *older; /* the LRU list */
    uint64_t hash;
    time_t expires; /* a hit until then */
    time_t keep;    /* kept until then: later for a stale answer (stale_ttl) */
    enum hm_lookup result;
    struct entry *entry; /* HM_LOOKUP_FOUND */
    char *detail;        /* HM_LOOKUP_NOT_FOUND; may be NULL */
    char login[];
};

struct cache_shard {
    pthread_mutex_t lock;
    struct cache_node **buckets;
    size_t nbuckets; /* a power of two */
    size_t count, capacity;
    struct cache_node *newest, *oldest;
};

struct cache {
    time_t (*now)(void);
    int ttl, negative_ttl, stale_ttl;
    uint64_t key;
    size_t nshards;
    struct cache_shard shards[];
};

static time_t cache_monotonic(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

/* FNV-1a over LOGIN, started from KEY, then a 64-bit finalizer. */
static uint64_t cache_hash(uint64_t key, const char *login)
{
    uint64_t h = key ^ 0xcbf29ce484222325ULL;
    const unsigned char *p;

    for (p = (const unsigned char *)login; *p != '\0'; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t cache_random_key(const void *salt)
{
    uint64_t key;

    if (getrandom(&key, sizeof(key), GRND_NONBLOCK) == (ssize_t)sizeof(key))
        return key;
    /* No entropy yet (early boot): still differs per process and start. */
    return (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)salt;
}

struct cache *cache_new(size_t size, int ttl, int negative_ttl, time_t (*now)(void))
{
    size_t nshards = size >= CACHE_SHARDED ? CACHE_SHARDS : 1, i;
    struct cache *cache = calloc(1, sizeof(*cache) + nshards * sizeof(cache->shards[0]));

    if (cache == NULL)
        return NULL;
    cache->now = now != NULL ? now : cache_monotonic;
    cache->ttl = ttl;
    cache->negative_ttl = negative_ttl;
    cache->key = cache_random_key(cache);
    cache->nshards = nshards;
    for (i = 0; i < nshards; i++) {
        struct cache_shard *s = &cache->shards[i];

        s->capacity = size / nshards;
        if (pthread_mutex_init(&s->lock, NULL) != 0) {
            cache->nshards = i;
            cache_free(cache);
            return NULL;
        }
    }
    return cache;
}

static void cache_node_free(struct cache_node *n)
{
    entry_unref(n->entry);
    free(n->detail);
    free(n);
}

void cache_free(struct cache *cache)
{
    size_t i;

    if (cache == NULL)
        return;
    for (i = 0; i < cache->nshards; i++) {
        struct cache_shard *s = &cache->shards[i];
        struct cache_node *n, *older;

        for (n = s->newest; n != NULL; n = older) {
            older = n->older;
            cache_node_free(n);
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->lock);
    }
    free(cache);
}

static struct cache_shard *cache_shard(struct cache *cache, uint64_t hash)
{
    return &cache->shards[(hash >> 32) % cache->nshards];
}

/* The chain slot that points to LOGIN's node, or to the chain's NULL end. */
static struct cache_node **cache_slot(struct cache_shard *s, uint64_t hash,
                                      const char *login)
{
    struct cache_node **slot = &s->buckets[hash & (s->nbuckets - 1)];

    while (*slot != NULL &&
           !((*slot)->hash == hash && strcmp((*slot)->login, login) == 0))
        slot = &(*slot)->chain;
    return slot;
}

static void cache_lru_unlink(struct cache_shard *s, struct cache_node *n)
{
    if (n->newer != NULL)
        n->newer->older = n->older;
    else
        s->newest = n->older;
    if (n->older != NULL)
        n->older->newer = n->newer;
    else
        s->oldest = n->newer;
    n->newer = n->older = NULL;
}

static void cache_lru_push(struct cache_shard *s, struct cache_node *n)
{
    n->older = s->newest;
    n->newer = NULL;
    if (s->newest != NULL)
        s->newest->newer = n;
    s->newest = n;
    if (s->oldest == NULL)
        s->oldest = n;
}

/* Unlink N from its chain (at *SLOT) and from the list, and free it. */
static void cache_drop(struct cache_shard *s, struct cache_node **slot)
{
    struct cache_node *n = *slot;

    *slot = n->chain;
    cache_lru_unlink(s, n);
    s->count--;
    cache_node_free(n);
}

bool cache_get(struct cache *cache, const char *login, enum hm_lookup *result_r,
               struct entry **entry_r, char **detail_r)
{
    uint64_t hash;
    struct cache_shard *s;
    struct cache_node **slot, *n;
    bool hit = false;

    *entry_r = NULL;
    *detail_r = NULL;
    /* A cache that keeps nothing (cache.size 0, or both TTLs 0) has nothing. */
    if (cache->shards[0].capacity == 0 || (cache->ttl <= 0 && cache->negative_ttl <= 0))
        return false;
    hash = cache_hash(cache->key, login);
    s = cache_shard(cache, hash);
    pthread_mutex_lock(&s->lock);
    if (s->nbuckets == 0 || *(slot = cache_slot(s, hash, login)) == NULL) {
        pthread_mutex_unlock(&s->lock);
        return false;
    }
    n = *slot;
    if (cache->now() >= n->keep) {
        cache_drop(s, slot);
    } else if (cache->now() >= n->expires) {
        /* past its ttl, kept for an outage (stale_ttl): no hit */
    } else {
        hit = true;
        *result_r = n->result;
        if (n->result == HM_LOOKUP_FOUND)
            *entry_r = entry_ref(n->entry);
        else if (n->detail != NULL)
            *detail_r = strdup(n->detail);
        cache_lru_unlink(s, n);
        cache_lru_push(s, n);
    }
    pthread_mutex_unlock(&s->lock);
    return hit;
}

/* Double the shard's chains when it holds as many answers as chains. */
static int cache_grow(struct cache_shard *s)
{
    size_t want = s->nbuckets ? s->nbuckets * 2 : CACHE_FIRST_BUCKETS, i;
    struct cache_node **buckets;

    if (s->count < s->nbuckets)
        return 0;
    if ((buckets = calloc(want, sizeof(*buckets))) == NULL)
        return s->nbuckets ? 0 : -1; /* longer chains, but still working */
    for (i = 0; i < s->nbuckets; i++) {
        struct cache_node *n, *next;

        for (n = s->buckets[i]; n != NULL; n = next) {
            next = n->chain;
            n->chain = buckets[n->hash & (want - 1)];
            buckets[n->hash & (want - 1)] = n;
        }
    }
    free(s->buckets);
    s->buckets = buckets;
    s->nbuckets = want;
    return 0;
}

static struct cache_node *cache_node_new(const char *login, uint64_t hash, time_t expires,
                                         enum hm_lookup result, struct entry *entry,
                                         const char *detail)
{
    size_t len = strlen(login);
    struct cache_node *n = calloc(1, sizeof(*n) + len + 1);

    if (n == NULL)
        return NULL;
    if (detail != NULL && (n->detail = strdup(detail)) == NULL) {
        free(n);
        return NULL;
    }
    memcpy(n->login, login, len + 1);
    n->hash = hash;
    n->expires = expires;
    n->keep = expires;
    n->result = result;
    if (entry != NULL)
        n->entry = entry_ref(entry);
    return n;
}

void cache_put(struct cache *cache, const char *login, enum hm_lookup result,
               struct entry *entry, const char *detail)
{
    int ttl = result == HM_LOOKUP_FOUND       ? cache->ttl
              : result == HM_LOOKUP_NOT_FOUND ? cache->negative_ttl
                                              : 0;
    uint64_t hash = cache_hash(cache->key, login);
    struct cache_shard *s = cache_shard(cache, hash);
    struct cache_node **slot, *n;

    if (ttl <= 0 || s->capacity == 0 || (result == HM_LOOKUP_FOUND && entry == NULL))
        return;
    n = cache_node_new(login, hash, cache->now() + ttl, result,
                       result == HM_LOOKUP_FOUND ? entry : NULL,
                       result == HM_LOOKUP_NOT_FOUND ? detail : NULL);
    if (n == NULL)
        return;
    if (result == HM_LOOKUP_FOUND && cache->stale_ttl > ttl)
        n->keep = n->expires - ttl + cache->stale_ttl;
    pthread_mutex_lock(&s->lock);
    if (s->nbuckets > 0 && *(slot = cache_slot(s, hash, login)) != NULL)
        cache_drop(s, slot);
    if (s->count >= s->capacity)
        cache_drop(s, cache_slot(s, s->oldest->hash, s->oldest->login));
    if (cache_grow(s) < 0) {
        pthread_mutex_unlock(&s->lock);
        cache_node_free(n);
        return;
    }
    slot = &s->buckets[hash & (s->nbuckets - 1)];
    n->chain = *slot;
    *slot = n;
    cache_lru_push(s, n);
    s->count++;
    pthread_mutex_unlock(&s->lock);
}

void cache_set_stale(struct cache *cache, int stale_ttl)
{
    cache->stale_ttl = stale_ttl;
}

bool cache_get_stale(struct cache *cache, const char *login, struct entry **entry_r,
                     long *age_r)
{
    uint64_t hash;
    struct cache_shard *s;
    struct cache_node **slot, *n;
    bool hit = false;
    time_t now;

    *entry_r = NULL;
    if (cache->stale_ttl <= 0 || cache->shards[0].capacity == 0)
        return false;
    hash = cache_hash(cache->key, login);
    s = cache_shard(cache, hash);
    now = cache->now();
    pthread_mutex_lock(&s->lock);
    if (s->nbuckets > 0 && *(slot = cache_slot(s, hash, login)) != NULL) {
        n = *slot;
        if (n->result == HM_LOOKUP_FOUND && now < n->keep) {
            hit = true;
            *entry_r = entry_ref(n->entry);
            *age_r = (long)(now - (n->expires - cache->ttl));
        }
    }
    pthread_mutex_unlock(&s->lock);
    return hit;
}

size_t cache_count(struct cache *cache)
{
    size_t i, total = 0;

    for (i = 0; i < cache->nshards; i++) {
        pthread_mutex_lock(&cache->shards[i].lock);
        total += cache->shards[i].count;
        pthread_mutex_unlock(&cache->shards[i].lock);
    }
    return total;
}

/*
 * test_cache.c - the answer cache, with a fake clock
 *
 * Expiry of found and not-found answers, errors never kept, LRU eviction
 * at the size limit, replacement, and many threads at once (for the
 * sanitizers and valgrind to watch).
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

static time_t fake_now = 1000;

static time_t fake_clock(void)
{
    return fake_now;
}

static struct entry *make_entry(const char *dn)
{
    struct entry *e = entry_new(dn);

    assert_non_null(e);
    assert_int_equal(entry_add_address(e, "a@example.com", 13), 0);
    return e;
}

/* What the cache says of LOGIN: "miss", "found DN" or "not-found DETAIL". */
static char *ask(struct cache *c, const char *login)
{
    enum hm_lookup r = HM_LOOKUP_ERROR;
    struct entry *e = NULL;
    char *detail = NULL, *out = NULL;

    if (!cache_get(c, login, &r, &e, &detail))
        out = strdup("miss");
    else if (r == HM_LOOKUP_FOUND)
        assert_true(asprintf(&out, "found %s", e->dn) > 0);
    else if (r == HM_LOOKUP_NOT_FOUND)
        assert_true(asprintf(&out, "not-found %s", detail ? detail : "(null)") > 0);
    else
        out = strdup("impossible");
    entry_unref(e);
    free(detail);
    assert_non_null(out);
    return out;
}

#define assert_asks(c, login, want)                                                      \
    do {                                                                                 \
        char *got_ = ask((c), (login));                                                  \
        assert_string_equal(got_, (want));                                               \
        free(got_);                                                                      \
    } while (0)

/* The fixture: 100 answers, found ones for 300 s, "no such login" for 60 s. */
static int cache_setup(void **state)
{
    *state = cache_new(100, 300, 60, fake_clock);
    return *state != NULL ? 0 : -1;
}

static int cache_teardown(void **state)
{
    cache_free(*state);
    return 0;
}

static void test_found_expires_after_ttl(void **state)
{
    struct cache *c = *state;
    struct entry *e = make_entry("uid=janed");

    fake_now = 1000;
    assert_asks(c, "janed", "miss");
    cache_put(c, "janed", HM_LOOKUP_FOUND, e, NULL);
    entry_unref(e); /* the cache holds its own reference */
    fake_now = 1299;
    assert_asks(c, "janed", "found uid=janed");
    fake_now = 1300;
    assert_asks(c, "janed", "miss");
    assert_int_equal(cache_count(c), 0);
}

/*
 * cache.stale_ttl: a found entry past its ttl is no hit, but is kept for
 * an outage until stale_ttl after it was found; "no such login" never is.
 */
static void test_stale(void **state)
{
    struct cache *c = *state;
    struct entry *e = make_entry("uid=janed"), *got = NULL;
    long age = -1;

    (void)state;
    cache_set_stale(c, 86400);
    fake_now = 1000;
    assert_false(cache_get_stale(c, "janed", &got, &age));
    cache_put(c, "janed", HM_LOOKUP_FOUND, e, NULL);
    cache_put(c, "ghost", HM_LOOKUP_NOT_FOUND, NULL, "no such login");
    entry_unref(e);
    fake_now = 1300; /* past the ttl: a miss, the directory is asked */
    assert_asks(c, "janed", "miss");
    assert_int_equal(cache_count(c), 2); /* kept: only ghost will go */
    assert_true(cache_get_stale(c, "janed", &got, &age));
    assert_string_equal(got->dn, "uid=janed");
    assert_int_equal(age, 300);
    entry_unref(got);
    assert_false(cache_get_stale(c, "ghost", &got, &age)); /* never "no such login" */
    assert_null(got);
    fake_now = 1000 + 86399;
    assert_true(cache_get_stale(c, "janed", &got, &age));
    entry_unref(got);
    fake_now = 1000 + 86400; /* past stale_ttl: gone */
    assert_false(cache_get_stale(c, "janed", &got, &age));
    assert_asks(c, "janed", "miss");
    assert_int_equal(cache_count(c), 1); /* ghost, expired, until asked */
    cache_set_stale(c, 0);               /* off: nothing stale */
    e = make_entry("uid=alice");
    fake_now = 2000;
    cache_put(c, "alice", HM_LOOKUP_FOUND, e, NULL);
    entry_unref(e);
    fake_now = 2300;
    assert_false(cache_get_stale(c, "alice", &got, &age));
}

static void test_not_found_uses_negative_ttl(void **state)
{
    struct cache *c = *state;

    fake_now = 5000;
    cache_put(c, "ghost", HM_LOOKUP_NOT_FOUND, NULL, "no entry matches (uid=ghost)");
    fake_now = 5059;
    assert_asks(c, "ghost", "not-found no entry matches (uid=ghost)");
    fake_now = 5060;
    assert_asks(c, "ghost", "miss");
}

static void test_errors_are_never_kept(void **state)
{
    struct cache *c = *state;
    struct entry *e = make_entry("uid=twice");

    cache_put(c, "down", HM_LOOKUP_ERROR, NULL, "ldap://x: no answer within 5 s");
    cache_put(c, "twice", HM_LOOKUP_AMBIGUOUS, e, "more than one entry");
    assert_asks(c, "down", "miss");
    assert_asks(c, "twice", "miss");
    assert_int_equal(cache_count(c), 0);
    entry_unref(e);
}

static void test_zero_ttls_and_size_keep_nothing(void **state)
{
    struct cache *no_ttl = cache_new(100, 0, 60, fake_clock);
    struct cache *no_neg = cache_new(100, 300, 0, fake_clock);
    struct cache *no_size = cache_new(0, 300, 60, fake_clock);
    struct entry *e = make_entry("uid=janed");

    (void)state;
    cache_put(no_ttl, "janed", HM_LOOKUP_FOUND, e, NULL);
    cache_put(no_ttl, "ghost", HM_LOOKUP_NOT_FOUND, NULL, "none");
    cache_put(no_neg, "ghost", HM_LOOKUP_NOT_FOUND, NULL, "none");
    cache_put(no_size, "janed", HM_LOOKUP_FOUND, e, NULL);
    assert_asks(no_ttl, "janed", "miss");
    assert_asks(no_ttl, "ghost", "not-found none");
    assert_asks(no_neg, "ghost", "miss");
    assert_asks(no_size, "janed", "miss");
    entry_unref(e);
    cache_free(no_ttl);
    cache_free(no_neg);
    cache_free(no_size);
}

static void test_put_replaces(void **state)
{
    struct cache *c = *state;
    struct entry *e = make_entry("uid=moved");

    fake_now = 100;
    cache_put(c, "moved", HM_LOOKUP_NOT_FOUND, NULL, "not yet");
    cache_put(c, "moved", HM_LOOKUP_FOUND, e, NULL);
    assert_asks(c, "moved", "found uid=moved");
    assert_int_equal(cache_count(c), 1);
    entry_unref(e);
}

/* Logins are compared exactly: case and NUL-free prefixes are other keys. */
static void test_keys_are_exact(void **state)
{
    static const char *const others[] = {"JANED", "jane", "janed ", ""};
    struct cache *c = *state;
    struct entry *e = make_entry("uid=janed");
    size_t i;

    cache_put(c, "janed", HM_LOOKUP_FOUND, e, NULL);
    for (i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        assert_asks(c, others[i], "miss");
    assert_asks(c, "janed", "found uid=janed");
    entry_unref(e);
}

/* Below 64 answers there is one shard: eviction is exactly LRU. */
static void test_lru_eviction(void **state)
{
    struct cache *c = cache_new(3, 300, 300, fake_clock);

    (void)state;
    cache_put(c, "a", HM_LOOKUP_NOT_FOUND, NULL, "a");
    cache_put(c, "b", HM_LOOKUP_NOT_FOUND, NULL, "b");
    cache_put(c, "c", HM_LOOKUP_NOT_FOUND, NULL, "c");
    assert_asks(c, "a", "not-found a"); /* a is now the most recent */
    cache_put(c, "d", HM_LOOKUP_NOT_FOUND, NULL, "d");
    assert_int_equal(cache_count(c), 3);
    assert_asks(c, "b", "miss");
    assert_asks(c, "a", "not-found a");
    assert_asks(c, "c", "not-found c");
    assert_asks(c, "d", "not-found d");
    cache_free(c);
}

/* Sharded: never more than SIZE answers, and the newest are all there. */
static void test_size_bound_when_sharded(void **state)
{
    struct cache *c = cache_new(1000, 300, 300, fake_clock);
    char login[32], want[48];
    int i;

    (void)state;
    for (i = 0; i < 20000; i++) {
        snprintf(login, sizeof(login), "user%05d", i);
        cache_put(c, login, HM_LOOKUP_NOT_FOUND, NULL, login);
        assert_true(cache_count(c) <= 1000);
    }
    for (i = 19990; i < 20000; i++) {
        snprintf(login, sizeof(login), "user%05d", i);
        snprintf(want, sizeof(want), "not-found %s", login);
        assert_asks(c, login, want);
    }
    assert_asks(c, "user00000", "miss");
    assert_true(cache_count(c) >= 900);
    cache_free(c);
}

struct hammer {
    struct cache *cache;
    struct entry *entry;
    int seed;
    int wrong;
};

static void *hammer_run(void *arg)
{
    struct hammer *h = arg;
    char login[32];
    int i;

    for (i = 0; i < 20000; i++) {
        enum hm_lookup r;
        struct entry *e = NULL;
        char *detail = NULL;

        snprintf(login, sizeof(login), "u%d", (i * 7 + h->seed) % 500);
        if (cache_get(h->cache, login, &r, &e, &detail)) {
            if (r != HM_LOOKUP_FOUND || e != h->entry)
                h->wrong++;
        } else {
            cache_put(h->cache, login, HM_LOOKUP_FOUND, h->entry, NULL);
        }
        entry_unref(e);
        free(detail);
    }
    return NULL;
}

static void test_threads(void **state)
{
    struct cache *c = cache_new(200, 300, 60, NULL);
    struct entry *e = make_entry("uid=shared");
    struct hammer h[4];
    pthread_t t[4];
    int i;

    (void)state;
    for (i = 0; i < 4; i++) {
        h[i] = (struct hammer){c, e, i * 13, 0};
        assert_int_equal(pthread_create(&t[i], NULL, hammer_run, &h[i]), 0);
    }
    for (i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(h[i].wrong, 0);
    }
    assert_true(cache_count(c) <= 200);
    cache_free(c);
    /* Every reference the cache took is gone: ours is the last. */
    assert_int_equal(e->refs, 1);
    entry_unref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_found_expires_after_ttl, cache_setup,
                                        cache_teardown),
        cmocka_unit_test_setup_teardown(test_stale, cache_setup, cache_teardown),
        cmocka_unit_test_setup_teardown(test_not_found_uses_negative_ttl, cache_setup,
                                        cache_teardown),
        cmocka_unit_test_setup_teardown(test_errors_are_never_kept, cache_setup,
                                        cache_teardown),
        cmocka_unit_test(test_zero_ttls_and_size_keep_nothing),
        cmocka_unit_test_setup_teardown(test_put_replaces, cache_setup, cache_teardown),
        cmocka_unit_test_setup_teardown(test_keys_are_exact, cache_setup, cache_teardown),
        cmocka_unit_test(test_lru_eviction),
        cmocka_unit_test(test_size_bound_when_sharded),
        cmocka_unit_test(test_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

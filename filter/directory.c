/*
 * NAME
 *	directory - find a login's mailbox entry in LDAP
 * SUMMARY
 *	dir_new(), dir_library_init(), dir_free(), dir_lookup(),
 *	dir_grant(), dir_attributes()
 * DESCRIPTION
 *	The searches of the directory module, the only module that
 *	includes <ldap.h> (with dir_pool.c, its connections, and
 *	dir_filter.c, its filters). A lookup expands ldap.login_filter
 *	with the login escaped per RFC 4515, searches ldap.base for at most
 *	two entries, asking only for the address and home attributes, and
 *	answers with one of three outcomes:
 *
 *	HM_LOOKUP_FOUND		exactly one entry (DN, homes, addresses);
 *	HM_LOOKUP_NOT_FOUND	the directory said there is none;
 *	HM_LOOKUP_ERROR		no answer: connection, bind, timeout, any
 *				LDAP error;
 *	HM_LOOKUP_AMBIGUOUS	more than one entry.
 *
 *	A delegation search (dir_grant) expands ldap.delegation_filter or
 *	ldap.on_behalf_filter with the address and the login's entry DN
 *	the same way and has the same outcomes; its entry is the one that
 *	grants the right.
 *
 *	Definite answers (found, not found) are kept in a cache (cache.ttl,
 *	cache.negative_ttl, cache.size) and answered from it; errors never
 *	are. With cache.stale_ttl, a lookup the directory cannot answer is
 *	answered by an entry found within that many seconds, FOUND with a
 *	detail that says so ("stale: ..."). Delegation answers have a cache
 *	of their own, keyed by the
 *	right, the login's entry DN, the login and the address, so that one
 *	login's grant never answers another's. A reload makes a new dir, and so
 *	empty caches.
 *
 *	A search waits at most ldap.timeout seconds, on a connection of
 *	the pool (dir_pool.c). After any error a connection is torn down;
 *	its next user builds a new one. A failure on a connection that had
 *	been idle (the server may have closed it) is retried once on a
 *	fresh connection; a timeout is not, so that an outage costs the
 *	client one timeout.
 *
 *	Thread safety: a lookup searches on a connection it has taken out
 *	of the pool for itself; the cache has its own lock.
 */
#include "autoconf.h"

#include <ldap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cache.h"
#include "dir_filter.h"
#include "dir_pool.h"
#include "directory.h"
#include "stats.h"

struct dir {
    struct cfg *cfg;
    struct cache *cache;  /* login lookups, by login */
    struct cache *grants; /* delegation searches, by right, login DN and address */
    char **attrs;         /* what a search asks for (dir_attributes) */
    struct dir_pool *pool;
};

/* The outcome of one attempt, with the text that explains it. */
struct dir_try {
    enum hm_lookup result;
    bool retry;       /* the error may pass on a fresh connection */
    bool unavailable; /* the server said it cannot answer now (shutting down, busy) */
    char *detail;     /* malloc'd */
    struct entry *entry;
};

char **dir_attributes(const struct cfg *cfg)
{
    size_t n = cfg->ldap.address_attributes.n, logins = cfg->ldap.login_attribute.n;
    char **attrs = calloc(n + logins + 2, sizeof(*attrs));

    if (attrs == NULL)
        return NULL;
    memcpy(attrs, cfg->ldap.address_attributes.v, n * sizeof(*attrs));
    if (cfg->ldap.home_attribute[0] != '\0')
        attrs[n++] = cfg->ldap.home_attribute;
    memcpy(attrs + n, cfg->ldap.login_attribute.v, logins * sizeof(*attrs));
    return attrs;
}

struct dir *dir_new(struct cfg *cfg)
{
    struct dir *dir = calloc(1, sizeof(*dir));

    if (dir == NULL)
        return NULL;
    dir->cache =
        cache_new((size_t)cfg->cache.size, cfg->cache.ttl, cfg->cache.negative_ttl, NULL);
    if (dir->cache != NULL)
        cache_set_stale(dir->cache, cfg->cache.stale_ttl);
    dir->grants =
        cache_new((size_t)cfg->cache.size, cfg->cache.ttl, cfg->cache.negative_ttl, NULL);
    dir->attrs = dir_attributes(cfg);
    dir->pool = dir_pool_new(cfg);
    if (dir->cache == NULL || dir->grants == NULL || dir->attrs == NULL ||
        dir->pool == NULL) {
        dir_pool_free(dir->pool);
        cache_free(dir->cache);
        cache_free(dir->grants);
        free(dir->attrs);
        free(dir);
        return NULL;
    }
    dir->cfg = cfg_ref(cfg);
    return dir;
}

void dir_library_init(void)
{
    int version;

    ldap_get_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &version);
}

void dir_free(struct dir *dir)
{
    if (dir == NULL)
        return;
    dir_pool_free(dir->pool);
    cache_free(dir->cache);
    cache_free(dir->grants);
    free(dir->attrs);
    cfg_unref(dir->cfg);
    free(dir);
}

/* Copy the values of ATTR in MSG into E with ADD. */
static int dir_copy_values(LDAP *ld, LDAPMessage *msg, const char *attr, struct entry *e,
                           int (*add)(struct entry *, const char *, size_t))
{
    struct berval **vals = ldap_get_values_len(ld, msg, attr);
    int i, rc = 0;

    for (i = 0; vals != NULL && vals[i] != NULL && rc == 0; i++)
        rc = add(e, vals[i]->bv_val, vals[i]->bv_len);
    ldap_value_free_len(vals);
    return rc;
}

static struct entry *dir_make_entry(struct dir *dir, LDAP *ld, LDAPMessage *msg)
{
    const struct cfg *cfg = dir->cfg;
    char *dn = ldap_get_dn(ld, msg);
    struct entry *e = dn ? entry_new(dn) : NULL;
    const char *attr;
    size_t i;
    int rc = e ? 0 : -1;

    ldap_memfree(dn);
    for (i = 0; rc == 0 && i < cfg->ldap.address_attributes.n; i++) {
        attr = cfg->ldap.address_attributes.v[i];
        rc = dir_copy_values(ld, msg, attr, e,
                             cfg_list_has(&cfg->ldap.prefixed_attributes, attr)
                                 ? entry_add_prefixed
                                 : entry_add_address);
    }
    if (rc == 0 && cfg->ldap.home_attribute[0] != '\0')
        rc = dir_copy_values(ld, msg, cfg->ldap.home_attribute, e, entry_add_home);
    if (rc < 0) {
        entry_unref(e);
        return NULL;
    }
    return e;
}

/* Whether VALUE (LEN bytes) is TEXT (TLEN bytes), ignoring ASCII case only. */
static bool dir_same(const char *value, size_t len, const char *text, size_t tlen)
{
    return len == tlen && memchr(value, '\0', len) == NULL &&
           strncasecmp(value, text, len) == 0;
}

/*
 * Whether one of the entry's login attributes holds LOGIN (or its part
 * before the last '@') itself, ASCII case aside (homed-milter.conf(5),
 * ldap.login_attribute). LDAP's matching rules also match " janed" or
 * full-width letters to janed; an authentication store that tells those
 * apart must not get janed's entry for them.
 */
static bool dir_login_is(const struct dir *dir, LDAP *ld, LDAPMessage *msg,
                         const char *login)
{
    const struct cfg_list *attrs = &dir->cfg->ldap.login_attribute;
    struct berval **vals;
    const char *at;
    bool same = false;
    size_t k;
    int i;

    if (attrs->n == 0 || login == NULL) /* none, or a delegation search */
        return true;
    at = strrchr(login, '@');
    for (k = 0; k < attrs->n && !same; k++) {
        vals = ldap_get_values_len(ld, msg, attrs->v[k]);
        for (i = 0; vals != NULL && vals[i] != NULL && !same; i++)
            same = dir_same(vals[i]->bv_val, vals[i]->bv_len, login, strlen(login)) ||
                   (at != NULL && dir_same(vals[i]->bv_val, vals[i]->bv_len, login,
                                           (size_t)(at - login)));
        ldap_value_free_len(vals);
    }
    return same;
}

static void dir_read_answer(struct dir *dir, const struct dir_conn *c, LDAPMessage *res,
                            const char *filter, const char *login, struct dir_try *t)
{
    const struct cfg *cfg = dir->cfg;
    LDAPMessage *msg;
    int count = ldap_count_entries(c->ld, res);

    if (count > 1) {
        t->result = HM_LOOKUP_AMBIGUOUS;
        dir_say(&t->detail, "%s: more than one entry matches %s under %s", c->uri, filter,
                cfg->ldap.base);
    } else if (count == 0) {
        t->result = HM_LOOKUP_NOT_FOUND;
        dir_say(&t->detail, "no entry matches %s under %s", filter, cfg->ldap.base);
    } else if ((msg = ldap_first_entry(c->ld, res)) != NULL &&
               !dir_login_is(dir, c->ld, msg, login)) {
        t->result = HM_LOOKUP_NOT_FOUND;
        dir_say(&t->detail,
                "an entry matches %s under %s, but no %s%s value is the login "
                "itself",
                filter, cfg->ldap.base, cfg->ldap.login_attribute.v[0],
                cfg->ldap.login_attribute.n > 1 ? " (nor other ldap.login_attribute)"
                                                : "");
    } else if (msg == NULL || (t->entry = dir_make_entry(dir, c->ld, msg)) == NULL) {
        t->result = HM_LOOKUP_ERROR;
        dir_say(&t->detail, "%s: cannot read the entry (out of memory)", c->uri);
    } else {
        t->result = HM_LOOKUP_FOUND;
    }
}

static const int dir_scopes[] = {LDAP_SCOPE_BASE, LDAP_SCOPE_ONELEVEL,
                                 LDAP_SCOPE_SUBTREE};

/* One search on the current connection, which must exist. */
static void dir_search(struct dir *dir, struct dir_conn *c, const char *filter,
                       const char *login, struct dir_try *t)
{
    const struct cfg *cfg = dir->cfg;
    struct timeval tv = {cfg->ldap.timeout, 0};
    LDAPMessage *res = NULL;
    bool lost = false;
    int msgid, rc;

    t->result = HM_LOOKUP_ERROR;
    rc = ldap_search_ext(c->ld, cfg->ldap.base, dir_scopes[cfg->ldap.scope], filter,
                         dir->attrs, 0, NULL, NULL, &tv, 2, &msgid);
    if (rc != LDAP_SUCCESS) {
        dir_pool_say_ldap(dir->pool, &t->detail, c->ld, c->uri, "search", rc);
        t->retry = rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR;
        return;
    }
    rc = dir_pool_wait(dir->pool, c, msgid, "search", &res, &t->detail, &lost);
    if (rc < 0) {
        t->retry = lost;
        t->unavailable = rc == -3;
        return;
    }
    if (rc == 1) {
        t->result = HM_LOOKUP_AMBIGUOUS;
        dir_say(&t->detail, "%s: more than one entry matches %s under %s", c->uri, filter,
                cfg->ldap.base);
    } else {
        dir_read_answer(dir, c, res, filter, login, t);
    }
    ldap_msgfree(res);
}

/* Search for FILTER on a pooled connection, building it when needed. */
static void dir_search_pooled(struct dir *dir, const char *filter, const char *login,
                              struct dir_try *t)
{
    struct dir_conn *c = dir_pool_take(dir->pool, &t->detail);
    bool fresh;

    if (c == NULL)
        return;
    fresh = c->ld == NULL;
    if (fresh && dir_pool_connect(dir->pool, c, &t->detail) < 0) {
        dir_pool_give(dir->pool, c);
        return;
    }
    if (!fresh) /* on a later URI than the first: back when an earlier answers */
        dir_pool_fail_back(dir->pool, c);
    dir_search(dir, c, filter, login, t);
    /*
     * Retried once: an idle connection the server closed fails at once.
     * One that broke after a wait is an outage, not to be waited on twice.
     * A server that says it cannot answer (shutting down) is left alone
     * for a second, and the next URI asked.
     */
    if (t->result == HM_LOOKUP_ERROR && t->unavailable)
        dir_pool_uri_down(dir->pool, c, t->detail);
    if (t->result == HM_LOOKUP_ERROR && t->retry &&
        ((!fresh && !dir_pool_took_long(c)) || t->unavailable)) {
        dir_pool_disconnect(c);
        if (dir_pool_connect(dir->pool, c, &t->detail) == 0) {
            free(t->detail);
            t->detail = NULL;
            dir_search(dir, c, filter, login, t);
        }
    }
    if (t->result == HM_LOOKUP_ERROR)
        dir_pool_disconnect(c);
    dir_pool_give(dir->pool, c);
}

/* Microseconds on the monotonic clock since START. */
static long long dir_us_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)(now.tv_sec - start->tv_sec) * 1000000 +
           (now.tv_nsec - start->tv_nsec) / 1000;
}

/*
 * dir_search_timed - the search for FILTER (LOGIN: the login a found entry
 * must be, or NULL), counted in the statistics; the answer in *T.
 */
static void dir_search_timed(struct dir *dir, const char *filter, const char *login,
                             struct dir_try *t)
{
    struct timespec start;

    clock_gettime(CLOCK_MONOTONIC, &start);
    dir_search_pooled(dir, filter, login, t);
    stats_lookup(dir_us_since(&start), t->result == HM_LOOKUP_ERROR);
}

enum hm_lookup dir_grant(struct dir *dir, enum hm_right right, const char *login,
                         const char *dn, const char *address, struct entry **entry_r,
                         char **detail_r)
{
    struct dir_try t = {HM_LOOKUP_ERROR, false, false, NULL, NULL};
    const char *template = right == HM_RIGHT_SEND_AS ? dir->cfg->ldap.delegation_filter
                                                     : dir->cfg->ldap.on_behalf_filter;
    const char *name =
        right == HM_RIGHT_SEND_AS ? "delegation_filter" : "on_behalf_filter";
    enum hm_lookup cached;
    const char *why;
    char *filter = NULL, *key = NULL;

    *entry_r = NULL;
    *detail_r = NULL;
    /*
     * One key per right, login entry, login (the filter may use %u, and
     * two logins may have one entry) and address: lengths keep them apart.
     */
    if (asprintf(&key, "%c%zu:%s%zu:%s%s", right == HM_RIGHT_SEND_AS ? 's' : 'b',
                 strlen(dn), dn, strlen(login), login, address) < 0) {
        dir_say(detail_r, "out of memory");
        return HM_LOOKUP_ERROR;
    }
    if (cache_get(dir->grants, key, &cached, entry_r, detail_r)) {
        stats_cache(true);
        free(key);
        return cached;
    }
    stats_cache(false);
    if (dir_filter_expand(template, login, address, dn, &filter, &why) < 0) {
        dir_say(detail_r, "ldap.%s: %s", name, why);
        free(key);
        return HM_LOOKUP_ERROR;
    }
    dir_search_timed(dir, filter, NULL, &t);
    free(filter);
    cache_put(dir->grants, key, t.result, t.entry, t.detail);
    free(key);
    *entry_r = t.entry;
    *detail_r = t.detail;
    return t.result;
}

enum hm_lookup dir_lookup(struct dir *dir, const char *login, struct entry **entry_r,
                          char **detail_r)
{
    struct dir_try t = {HM_LOOKUP_ERROR, false, false, NULL, NULL};
    enum hm_lookup cached;
    const char *why;
    char *filter = NULL;
    long age;

    *entry_r = NULL;
    *detail_r = NULL;
    if (*login == '\0') {
        dir_say(detail_r, "the login is empty");
        return HM_LOOKUP_NOT_FOUND;
    }
    if (cache_get(dir->cache, login, &cached, entry_r, detail_r)) {
        stats_cache(true);
        return cached;
    }
    stats_cache(false);
    if (dir_filter_expand(dir->cfg->ldap.login_filter, login, NULL, NULL, &filter, &why) <
        0) {
        dir_say(detail_r, "ldap.login_filter: %s", why);
        return HM_LOOKUP_ERROR;
    }
    dir_search_timed(dir, filter, login, &t);
    free(filter);
    cache_put(dir->cache, login, t.result, t.entry, t.detail);
    /* No answer: an entry found within cache.stale_ttl still decides. */
    if (t.result == HM_LOOKUP_ERROR &&
        cache_get_stale(dir->cache, login, &t.entry, &age)) {
        char *error = t.detail;

        t.detail = NULL;
        dir_say(&t.detail, "stale: found %ld s ago; the directory: %s", age,
                error ? error : "out of memory");
        free(error);
        t.result = HM_LOOKUP_FOUND;
    }
    *entry_r = t.entry;
    *detail_r = t.detail;
    return t.result;
}

/*
 * NAME
 *	directory - find a login's mailbox entry in LDAP
 * SUMMARY
 *	dir_new(), dir_free(), dir_lookup()
 * DESCRIPTION
 *	The only module that includes <ldap.h>. A lookup expands
 *	ldap.login_filter with the login escaped per RFC 4515, searches
 *	ldap.base for at most two entries, asking only for the address and
 *	home attributes, and answers with one of three outcomes:
 *
 *	HM_LOOKUP_FOUND		exactly one entry (DN, homes, addresses);
 *	HM_LOOKUP_NOT_FOUND	the directory said there is none;
 *	HM_LOOKUP_ERROR		no answer: connection, bind, timeout, any
 *				LDAP error;
 *	HM_LOOKUP_AMBIGUOUS	more than one entry.
 *
 *	Definite answers (found, not found) are kept in a cache (cache.ttl,
 *	cache.negative_ttl, cache.size) and answered from it; errors never
 *	are. A reload makes a new dir, and so an empty cache.
 *
 *	Every operation waits at most ldap.timeout seconds (connect, bind,
 *	StartTLS, search). The URIs are tried in order at each connect.
 *	Connections stay open and bound between lookups, in a pool of at
 *	most ldap.connections. After any error a connection is torn down;
 *	its next user builds a new one. A failure on a connection that had
 *	been idle (the server may have closed it) is retried once on a
 *	fresh connection; a timeout is not, so that an outage costs the
 *	client one timeout.
 *
 *	Thread safety: a lookup takes a connection out of the pool, under
 *	the pool's mutex, and puts it back when done, so no LDAP handle is
 *	ever used by two threads at once. When every connection is busy a
 *	lookup waits at most ldap.timeout for one.
 */
#include "autoconf.h"

#include <ldap.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cache.h"
#include "dir_filter.h"
#include "directory.h"

/* One pooled connection. */
struct dir_conn {
    LDAP *ld;        /* NULL: not connected */
    const char *uri; /* what ld is connected to */
    bool busy;       /* taken by a lookup */
};

struct dir {
    struct cfg *cfg;
    struct cache *cache;
    char **attrs;         /* what a search asks for (dir_attributes) */
    pthread_mutex_t lock; /* guards the busy flags */
    pthread_cond_t given; /* a connection was put back */
    size_t nconns;
    struct dir_conn conns[];
};

/* The outcome of one attempt, with the text that explains it. */
struct dir_try {
    enum hm_lookup result;
    bool retry;   /* the error may pass on a fresh connection */
    char *detail; /* malloc'd */
    struct entry *entry;
};

static void dir_say(char **detail, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void dir_say(char **detail, const char *fmt, ...)
{
    va_list ap;

    free(*detail);
    va_start(ap, fmt);
    if (vasprintf(detail, fmt, ap) < 0)
        *detail = NULL;
    va_end(ap);
}

static char **dir_attributes(const struct cfg *cfg);

struct dir *dir_new(struct cfg *cfg)
{
    size_t n = (size_t)cfg->ldap.connections;
    struct dir *dir = calloc(1, sizeof(*dir) + n * sizeof(dir->conns[0]));
    pthread_condattr_t attr;

    if (dir == NULL)
        return NULL;
    dir->nconns = n;
    dir->cache =
        cache_new((size_t)cfg->cache.size, cfg->cache.ttl, cfg->cache.negative_ttl, NULL);
    dir->attrs = dir_attributes(cfg);
    if (dir->cache == NULL || dir->attrs == NULL ||
        pthread_mutex_init(&dir->lock, NULL) != 0) {
        cache_free(dir->cache);
        free(dir->attrs);
        free(dir);
        return NULL;
    }
    /* The wait for a connection is timed on the monotonic clock. */
    if (pthread_condattr_init(&attr) != 0 ||
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&dir->given, &attr) != 0) {
        pthread_mutex_destroy(&dir->lock);
        cache_free(dir->cache);
        free(dir->attrs);
        free(dir);
        return NULL;
    }
    pthread_condattr_destroy(&attr);
    dir->cfg = cfg_ref(cfg);
    return dir;
}

void dir_library_init(void)
{
    int version;

    ldap_get_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &version);
}

static void dir_disconnect(struct dir_conn *c)
{
    if (c->ld != NULL)
        ldap_unbind_ext(c->ld, NULL, NULL);
    c->ld = NULL;
    c->uri = NULL;
}

void dir_free(struct dir *dir)
{
    size_t i;

    if (dir == NULL)
        return;
    for (i = 0; i < dir->nconns; i++)
        dir_disconnect(&dir->conns[i]);
    pthread_cond_destroy(&dir->given);
    pthread_mutex_destroy(&dir->lock);
    cache_free(dir->cache);
    free(dir->attrs);
    cfg_unref(dir->cfg);
    free(dir);
}

/* The server's own words for the last error on LD, or "". */
static char *dir_diagnostic(LDAP *ld)
{
    char *msg = NULL;

    if (ld != NULL &&
        ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) != LDAP_OPT_SUCCESS)
        msg = NULL;
    return msg;
}

static void dir_say_ldap(const struct dir *dir, char **detail, LDAP *ld, const char *uri,
                         const char *what, int rc)
{
    char *diag;
    bool useful, tls;

    if (rc == LDAP_TIMEOUT) {
        dir_say(detail, "%s: %s: no answer within %d s", uri, what,
                dir->cfg->ldap.timeout);
        return;
    }
    diag = dir_diagnostic(ld);
    useful = diag && *diag && strcmp(diag, "(unknown error code)") != 0;
    tls = strncasecmp(uri, "ldaps:", 6) == 0 || strcmp(what, "StartTLS") == 0;

    dir_say(detail, "%s: %s: %s%s%s%s", uri, what, ldap_err2string(rc),
            useful ? ": " : "", useful ? diag : "",
            tls && (rc == LDAP_CONNECT_ERROR || rc == LDAP_SERVER_DOWN)
                ? " (TLS: is ldap.ca_file the CA of the server's certificate?)"
                : "");
    ldap_memfree(diag);
}

static int dir_set_options(struct dir *dir, LDAP *ld)
{
    const struct cfg *cfg = dir->cfg;
    struct timeval tv = {cfg->ldap.timeout, 0};
    int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;

    if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_CONNECT_ASYNC, LDAP_OPT_ON) != LDAP_OPT_SUCCESS)
        return -1;
    /* Certificates are always checked, whatever ldap.conf or LDAPTLS_* say. */
    if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
        (cfg->ldap.ca_file != NULL &&
         ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg->ldap.ca_file) !=
             LDAP_OPT_SUCCESS) ||
        ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS)
        return -1;
    return 0;
}

static void dir_clock(struct timespec *now)
{
    clock_gettime(CLOCK_MONOTONIC, now);
}

/* Whether a second has passed since START. */
static bool dir_took_long(const struct timespec *start)
{
    struct timespec now;

    dir_clock(&now);
    return (now.tv_sec - start->tv_sec) * 1000LL +
               (now.tv_nsec - start->tv_nsec) / 1000000 >=
           1000;
}

/* Whether ldap.timeout has passed since START (to name a hang as one). */
static bool dir_timed_out(const struct dir *dir, const struct timespec *start)
{
    struct timespec now;
    long long ms;

    dir_clock(&now);
    ms = (now.tv_sec - start->tv_sec) * 1000LL + (now.tv_nsec - start->tv_nsec) / 1000000;
    return ms >= dir->cfg->ldap.timeout * 1000LL - 50;
}

/*
 * Wait at most ldap.timeout for the whole answer to MSGID and check its
 * result code. Returns 0 with the answer in *res_r (caller frees), or -1
 * with the reason in *detail; *lost_r tells a connection that broke (which
 * a fresh one may mend) from a timeout or an answer of the server.
 */
static int dir_wait(struct dir *dir, LDAP *ld, const char *uri, int msgid,
                    const char *what, LDAPMessage **res_r, char **detail, bool *lost_r)
{
    struct timeval tv = {dir->cfg->ldap.timeout, 0};
    struct timespec start;
    LDAPMessage *res = NULL;
    char *msg = NULL;
    int rc, err = LDAP_OTHER;

    *res_r = NULL;
    *lost_r = false;
    dir_clock(&start);
    rc = ldap_result(ld, msgid, LDAP_MSG_ALL, &tv, &res);
    /* A TLS handshake that never ends comes back as an error, not a 0. */
    if (rc < 0 && dir_timed_out(dir, &start))
        rc = 0;
    if (rc == 0) {
        dir_say(detail, "%s: %s: no answer within %d s", uri, what,
                dir->cfg->ldap.timeout);
        return -1;
    }
    if (rc < 0) {
        ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &err);
        *lost_r = err == LDAP_SERVER_DOWN || err == LDAP_CONNECT_ERROR;
        dir_say_ldap(dir, detail, ld, uri, what, err);
        return -1;
    }
    rc = ldap_parse_result(ld, res, &err, NULL, &msg, NULL, NULL, 0);
    if (rc != LDAP_SUCCESS || (err != LDAP_SUCCESS && err != LDAP_SIZELIMIT_EXCEEDED)) {
        dir_say(detail, "%s: %s: %s%s%s", uri, what, ldap_err2string(rc ? rc : err),
                msg && *msg ? ": " : "", msg && *msg ? msg : "");
        ldap_memfree(msg);
        ldap_msgfree(res);
        return -1;
    }
    ldap_memfree(msg);
    *res_r = res;
    return err == LDAP_SIZELIMIT_EXCEEDED ? 1 : 0;
}

/* Send a simple bind (anonymous without bind_dn) and wait for its answer. */
static int dir_bind(struct dir *dir, LDAP *ld, const char *uri, char **detail)
{
    const struct cfg *cfg = dir->cfg;
    struct berval cred = {0, NULL};
    struct timespec start;
    LDAPMessage *res;
    bool lost;
    int msgid, rc;

    if (cfg->ldap.bind_password != NULL) {
        cred.bv_val = cfg->ldap.bind_password;
        cred.bv_len = strlen(cfg->ldap.bind_password);
    }
    dir_clock(&start);
    rc = ldap_sasl_bind(ld, cfg->ldap.bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
                        &msgid);
    if (rc != LDAP_SUCCESS && dir_timed_out(dir, &start)) {
        dir_say(detail, "%s: connect: no answer within %d s", uri, cfg->ldap.timeout);
        return -1;
    }
    if (rc != LDAP_SUCCESS) {
        dir_say_ldap(dir, detail, ld, uri, "bind", rc);
        return -1;
    }
    rc = dir_wait(dir, ld, uri, msgid,
                  cfg->ldap.bind_dn ? "bind as ldap.bind_dn" : "anonymous bind", &res,
                  detail, &lost);
    ldap_msgfree(res);
    return rc == 0 ? 0 : -1;
}

/* Connect to URI, StartTLS if asked, bind. Returns the handle or NULL. */
static LDAP *dir_connect_one(struct dir *dir, const char *uri, char **detail)
{
    LDAP *ld = NULL;
    int rc = ldap_initialize(&ld, uri);

    if (rc != LDAP_SUCCESS) {
        dir_say_ldap(dir, detail, NULL, uri, "bad URI", rc);
        return NULL;
    }
    if (dir_set_options(dir, ld) < 0) {
        dir_say(detail, "%s: cannot set the LDAP options (TLS CA file?)", uri);
        ldap_unbind_ext(ld, NULL, NULL);
        return NULL;
    }
    if (dir->cfg->ldap.starttls && strncasecmp(uri, "ldap://", 7) == 0 &&
        (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
        dir_say_ldap(dir, detail, ld, uri, "StartTLS", rc);
        ldap_unbind_ext(ld, NULL, NULL);
        return NULL;
    }
    if (dir_bind(dir, ld, uri, detail) < 0) {
        ldap_unbind_ext(ld, NULL, NULL);
        return NULL;
    }
    return ld;
}

/* Connect to the first URI that answers; the detail names every failure. */
static int dir_connect(struct dir *dir, struct dir_conn *c, char **detail)
{
    const struct cfg_list *uris = &dir->cfg->ldap.uri;
    char *all = NULL, *one = NULL;
    size_t i;

    for (i = 0; i < uris->n; i++) {
        c->ld = dir_connect_one(dir, uris->v[i], &one);
        if (c->ld != NULL) {
            c->uri = uris->v[i];
            free(all);
            free(one);
            return 0;
        }
        if (all == NULL) {
            all = one;
        } else {
            char *both = NULL;

            if (asprintf(&both, "%s; %s", all, one ? one : "failed") < 0)
                both = NULL;
            free(all);
            free(one);
            all = both;
        }
        one = NULL;
    }
    free(*detail);
    *detail = all;
    return -1;
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
    size_t i;
    int rc = e ? 0 : -1;

    ldap_memfree(dn);
    for (i = 0; rc == 0 && i < cfg->ldap.address_attributes.n; i++)
        rc = dir_copy_values(ld, msg, cfg->ldap.address_attributes.v[i], e,
                             entry_add_address);
    if (rc == 0 && cfg->ldap.home_attribute[0] != '\0')
        rc = dir_copy_values(ld, msg, cfg->ldap.home_attribute, e, entry_add_home);
    if (rc < 0) {
        entry_unref(e);
        return NULL;
    }
    return e;
}

/* The attributes a lookup asks for, built once per dir; NULL-terminated, malloc'd. */
static char **dir_attributes(const struct cfg *cfg)
{
    size_t n = cfg->ldap.address_attributes.n;
    char **attrs = calloc(n + 3, sizeof(*attrs));

    if (attrs == NULL)
        return NULL;
    memcpy(attrs, cfg->ldap.address_attributes.v, n * sizeof(*attrs));
    if (cfg->ldap.home_attribute[0] != '\0')
        attrs[n++] = cfg->ldap.home_attribute;
    if (cfg->ldap.login_attribute[0] != '\0')
        attrs[n++] = cfg->ldap.login_attribute;
    return attrs;
}

/* Whether VALUE (LEN bytes) is TEXT (TLEN bytes), ignoring ASCII case only. */
static bool dir_same(const char *value, size_t len, const char *text, size_t tlen)
{
    return len == tlen && memchr(value, '\0', len) == NULL &&
           strncasecmp(value, text, len) == 0;
}

/*
 * Whether the entry's login attribute holds LOGIN (or its part before the
 * last '@') itself. LDAP's matching rules also match " janed", "JANED" or
 * full-width letters to janed; an authentication store that tells those
 * apart must not get janed's entry for them.
 */
static bool dir_login_is(const struct dir *dir, LDAP *ld, LDAPMessage *msg,
                         const char *login)
{
    const char *attr = dir->cfg->ldap.login_attribute, *at = strrchr(login, '@');
    struct berval **vals;
    bool same = false;
    int i;

    if (attr[0] == '\0')
        return true;
    vals = ldap_get_values_len(ld, msg, attr);
    for (i = 0; vals != NULL && vals[i] != NULL && !same; i++)
        same = dir_same(vals[i]->bv_val, vals[i]->bv_len, login, strlen(login)) ||
               (at != NULL &&
                dir_same(vals[i]->bv_val, vals[i]->bv_len, login, (size_t)(at - login)));
    ldap_value_free_len(vals);
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
                "an entry matches %s under %s, but no %s value is the login "
                "itself",
                filter, cfg->ldap.base, cfg->ldap.login_attribute);
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
        dir_say_ldap(dir, &t->detail, c->ld, c->uri, "search", rc);
        t->retry = rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR;
        return;
    }
    rc = dir_wait(dir, c->ld, c->uri, msgid, "search", &res, &t->detail, &lost);
    if (rc < 0) {
        t->retry = lost;
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

/*
 * Take a connection out of the pool, preferring one that is open, and
 * waiting at most ldap.timeout for one: while the directory hangs, each
 * waiting client gets its 451 after one timeout, not after the timeouts
 * of all those queued before it. NULL when none came free.
 */
static struct dir_conn *dir_take(struct dir *dir)
{
    struct dir_conn *c = NULL;
    struct timespec deadline;
    size_t i;
    int rc = 0;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += dir->cfg->ldap.timeout;
    pthread_mutex_lock(&dir->lock);
    while (rc == 0) {
        for (i = 0; i < dir->nconns; i++) {
            if (!dir->conns[i].busy && (c == NULL || dir->conns[i].ld != NULL))
                c = &dir->conns[i];
        }
        if (c != NULL) {
            c->busy = true;
            break;
        }
        rc = pthread_cond_timedwait(&dir->given, &dir->lock, &deadline);
    }
    pthread_mutex_unlock(&dir->lock);
    return c;
}

static void dir_give(struct dir *dir, struct dir_conn *c)
{
    pthread_mutex_lock(&dir->lock);
    c->busy = false;
    pthread_cond_signal(&dir->given);
    pthread_mutex_unlock(&dir->lock);
}

/* Search for FILTER on a pooled connection, building it when needed. */
static void dir_search_pooled(struct dir *dir, const char *filter, const char *login,
                              struct dir_try *t)
{
    struct dir_conn *c = dir_take(dir);
    struct timespec start;
    bool fresh;

    dir_clock(&start);
    if (c == NULL) {
        dir_say(&t->detail, "all %zu directory connections stayed busy for %d s",
                dir->nconns, dir->cfg->ldap.timeout);
        return;
    }
    fresh = c->ld == NULL;
    if (fresh && dir_connect(dir, c, &t->detail) < 0) {
        dir_give(dir, c);
        return;
    }
    dir_search(dir, c, filter, login, t);
    /*
     * Retried once: an idle connection the server closed fails at once.
     * One that broke after a wait is an outage, not to be waited on twice.
     */
    if (t->result == HM_LOOKUP_ERROR && t->retry && !fresh && !dir_took_long(&start)) {
        dir_disconnect(c);
        if (dir_connect(dir, c, &t->detail) == 0) {
            free(t->detail);
            t->detail = NULL;
            dir_search(dir, c, filter, login, t);
        }
    }
    if (t->result == HM_LOOKUP_ERROR)
        dir_disconnect(c);
    dir_give(dir, c);
}

enum hm_lookup dir_lookup(struct dir *dir, const char *login, struct entry **entry_r,
                          char **detail_r)
{
    struct dir_try t = {HM_LOOKUP_ERROR, false, NULL, NULL};
    enum hm_lookup cached;
    const char *why;
    char *filter = NULL;

    *entry_r = NULL;
    *detail_r = NULL;
    if (*login == '\0') {
        dir_say(detail_r, "the login is empty");
        return HM_LOOKUP_NOT_FOUND;
    }
    if (cache_get(dir->cache, login, &cached, entry_r, detail_r))
        return cached;
    if (dir_filter_expand(dir->cfg->ldap.login_filter, login, NULL, NULL, &filter, &why) <
        0) {
        dir_say(detail_r, "ldap.login_filter: %s", why);
        return HM_LOOKUP_ERROR;
    }
    dir_search_pooled(dir, filter, login, &t);
    free(filter);
    cache_put(dir->cache, login, t.result, t.entry, t.detail);
    *entry_r = t.entry;
    *detail_r = t.detail;
    return t.result;
}

/*
 * NAME
 *	dir_pool - the pool of LDAP connections of the directory module
 * SUMMARY
 *	dir_pool_new(), dir_pool_free(), dir_pool_take(), dir_pool_give(),
 *	dir_pool_connect(), dir_pool_disconnect(), dir_pool_took_long(),
 *	dir_pool_wait(), dir_pool_say_ldap(), dir_say()
 * DESCRIPTION
 *	Connections stay open and bound between lookups, in a pool of at
 *	most ldap.connections. A connection is made by its first user:
 *	the URIs are tried in order, each with StartTLS when asked and a
 *	simple bind (anonymous without ldap.bind_dn). Certificates are
 *	always checked. Every operation waits at most ldap.timeout seconds
 *	(connect, bind, StartTLS, an answer).
 *
 *	A URI that did not answer (or refused the bind, or said it is
 *	unavailable or busy) is tried again at most once a second, by one
 *	connection of all: meanwhile lookups go to the next URI, or with none
 *	left get their error at once, so that a directory that is down is not
 *	hammered by every message and a message does not wait ldap.timeout
 *	for a server known to be down. A connection on a later URI goes back
 *	to an earlier one when that one answers again (tried on the same
 *	terms), so that a local replica that was restarted gets its load
 *	back.
 *
 *	What the directory does is logged once per change, not per lookup:
 *	a URI that stops answering (warning), one that refuses the bind
 *	(error), lookups going to another URI than before (a failover, or
 *	back: warning), a URI answering again (info).
 *
 *	Thread safety: a user takes a connection out of the pool, under
 *	the pool's mutex, and puts it back when done, so no LDAP handle is
 *	ever used by two threads at once. When every connection is busy a
 *	user waits at most ldap.timeout for one. The URIs' states are
 *	atomic variables.
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

#include "dir_pool.h"
#include "log.h"

/* What a URI did at its last connect; changes are logged. */
enum dir_uri_state { DIR_URI_UP, DIR_URI_DOWN, DIR_URI_REFUSED };

/* How long a URI that did not answer is left alone: one try per this, at most. */
#define DIR_RETRY_MS 1000

struct dir_pool {
    const struct cfg *cfg;
    pthread_mutex_t lock; /* guards the busy flags */
    pthread_cond_t given; /* a connection was put back */
    int *uri_state;       /* enum dir_uri_state per ldap.uri, atomic */
    long long *retry_at;  /* per ldap.uri: no connect before (ms, monotonic);
                             0: none failed; atomic */
    long long *pending;   /* per ldap.uri: since when a connect to it has had
                             no answer (ms, monotonic); 0: none; atomic */
    char **last_error;    /* per ldap.uri: why it failed last; under lock */
    int last_uri;         /* the URI the last connection went to; -1: none yet */
    size_t nconns;
    struct dir_conn conns[];
};

void dir_say(char **detail, const char *fmt, ...)
{
    va_list ap;

    free(*detail);
    va_start(ap, fmt);
    if (vasprintf(detail, fmt, ap) < 0)
        *detail = NULL;
    va_end(ap);
}

/* dir_pool_unmade - free a POOL dir_pool_new() could not finish; NULL. */
static struct dir_pool *dir_pool_unmade(struct dir_pool *pool, bool mutex_made)
{
    if (mutex_made)
        pthread_mutex_destroy(&pool->lock);
    free(pool->uri_state);
    free(pool->retry_at);
    free(pool->pending);
    free(pool->last_error);
    free(pool);
    return NULL;
}

struct dir_pool *dir_pool_new(const struct cfg *cfg)
{
    size_t n = (size_t)cfg->ldap.connections;
    struct dir_pool *pool = calloc(1, sizeof(*pool) + n * sizeof(pool->conns[0]));
    pthread_condattr_t attr;

    if (pool == NULL)
        return NULL;
    pool->cfg = cfg;
    pool->nconns = n;
    pool->last_uri = -1;
    if ((pool->uri_state = calloc(cfg->ldap.uri.n + 1, sizeof(int))) == NULL ||
        (pool->retry_at = calloc(cfg->ldap.uri.n + 1, sizeof(long long))) == NULL ||
        (pool->pending = calloc(cfg->ldap.uri.n + 1, sizeof(long long))) == NULL ||
        (pool->last_error = calloc(cfg->ldap.uri.n + 1, sizeof(char *))) == NULL ||
        pthread_mutex_init(&pool->lock, NULL) != 0)
        return dir_pool_unmade(pool, false);
    /* The wait for a connection is timed on the monotonic clock. */
    if (pthread_condattr_init(&attr) != 0 ||
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
        pthread_cond_init(&pool->given, &attr) != 0)
        return dir_pool_unmade(pool, true);
    pthread_condattr_destroy(&attr);
    return pool;
}

void dir_pool_disconnect(struct dir_conn *c)
{
    if (c->ld != NULL)
        ldap_unbind_ext(c->ld, NULL, NULL);
    c->ld = NULL;
    c->uri = NULL;
}

void dir_pool_free(struct dir_pool *pool)
{
    size_t i;

    if (pool == NULL)
        return;
    for (i = 0; i < pool->nconns; i++)
        dir_pool_disconnect(&pool->conns[i]);
    pthread_cond_destroy(&pool->given);
    pthread_mutex_destroy(&pool->lock);
    free(pool->uri_state);
    free(pool->retry_at);
    free(pool->pending);
    for (i = 0; i < pool->cfg->ldap.uri.n; i++)
        free(pool->last_error[i]);
    free(pool->last_error);
    free(pool);
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

void dir_pool_say_ldap(const struct dir_pool *pool, char **detail, LDAP *ld,
                       const char *uri, const char *what, int rc)
{
    char *diag;
    bool useful, tls;

    if (rc == LDAP_TIMEOUT) {
        dir_say(detail, "%s: %s: no answer within %d s", uri, what,
                pool->cfg->ldap.timeout);
        return;
    }
    diag = dir_diagnostic(ld);
    useful = diag && *diag && strcmp(diag, "(unknown error code)") != 0;
    tls = strncasecmp(uri, "ldaps:", 6) == 0 || strcmp(what, "StartTLS") == 0;

    dir_say(detail, "%s: %s: %s%s%s%s", uri, what, ldap_err2string(rc),
            useful ? ": " : "", useful ? diag : "",
            tls && (rc == LDAP_CONNECT_ERROR || rc == LDAP_SERVER_DOWN)
                ? " (with TLS: is the server up, is ldap.ca_file the CA of its "
                  "certificate, and is the URI's host the name in it?)"
                : "");
    ldap_memfree(diag);
}

static int dir_set_options(const struct dir_pool *pool, LDAP *ld)
{
    const struct cfg *cfg = pool->cfg;
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

/* Milliseconds since START on the monotonic clock. */
static long long dir_ms_since(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000LL +
           (now.tv_nsec - start->tv_nsec) / 1000000;
}

bool dir_pool_took_long(const struct dir_conn *c)
{
    return dir_ms_since(&c->taken) >= 1000;
}

/* Whether ldap.timeout has passed since START (to name a hang as one). */
static bool dir_timed_out(const struct dir_pool *pool, const struct timespec *start)
{
    return dir_ms_since(start) >= pool->cfg->ldap.timeout * 1000LL - 50;
}

/* dir_pool_wait() on LD, connected to URI. */
static int dir_wait(const struct dir_pool *pool, LDAP *ld, const char *uri, int msgid,
                    const char *what, LDAPMessage **res_r, char **detail, bool *lost_r)
{
    struct timeval tv = {pool->cfg->ldap.timeout, 0};
    struct timespec start;
    LDAPMessage *res = NULL;
    char *msg = NULL;
    int rc, err = LDAP_OTHER;

    *res_r = NULL;
    *lost_r = false;
    clock_gettime(CLOCK_MONOTONIC, &start);
    rc = ldap_result(ld, msgid, LDAP_MSG_ALL, &tv, &res);
    /* A TLS handshake that never ends comes back as an error, not a 0. */
    if (rc < 0 && dir_timed_out(pool, &start))
        rc = 0;
    if (rc == 0) {
        dir_say(detail, "%s: %s: no answer within %d s", uri, what,
                pool->cfg->ldap.timeout);
        return -1;
    }
    if (rc < 0) {
        ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &err);
        *lost_r = err == LDAP_SERVER_DOWN || err == LDAP_CONNECT_ERROR ||
                  err == LDAP_UNAVAILABLE || err == LDAP_BUSY;
        dir_pool_say_ldap(pool, detail, ld, uri, what, err);
        /* a notice of disconnection: the server is shutting down */
        return err == LDAP_UNAVAILABLE || err == LDAP_BUSY ? -3 : -1;
    }
    rc = ldap_parse_result(ld, res, &err, NULL, &msg, NULL, NULL, 0);
    if (rc != LDAP_SUCCESS || (err != LDAP_SUCCESS && err != LDAP_SIZELIMIT_EXCEEDED)) {
        dir_say(detail, "%s: %s: %s%s%s", uri, what, ldap_err2string(rc ? rc : err),
                msg && *msg ? ": " : "", msg && *msg ? msg : "");
        ldap_memfree(msg);
        ldap_msgfree(res);
        /* "unavailable" (a server shutting down), "busy": no answer, not a no */
        if (rc == LDAP_SUCCESS && (err == LDAP_UNAVAILABLE || err == LDAP_BUSY)) {
            *lost_r = true;
            return -3;
        }
        return -2; /* the server answered: no */
    }
    ldap_memfree(msg);
    *res_r = res;
    return err == LDAP_SIZELIMIT_EXCEEDED ? 1 : 0;
}

int dir_pool_wait(const struct dir_pool *pool, const struct dir_conn *c, int msgid,
                  const char *what, LDAPMessage **res_r, char **detail, bool *lost_r)
{
    return dir_wait(pool, c->ld, c->uri, msgid, what, res_r, detail, lost_r);
}

/* Send a simple bind (anonymous without bind_dn) and wait for its answer. */
static int dir_bind(const struct dir_pool *pool, LDAP *ld, const char *uri, char **detail)
{
    const struct cfg *cfg = pool->cfg;
    const char *what = cfg->ldap.bind_dn ? "bind as ldap.bind_dn" : "anonymous bind";
    struct berval cred = {0, NULL};
    struct timespec start;
    LDAPMessage *res;
    bool lost;
    int msgid, rc;

    if (cfg->ldap.bind_password != NULL) {
        cred.bv_val = cfg->ldap.bind_password;
        cred.bv_len = strlen(cfg->ldap.bind_password);
    }
    clock_gettime(CLOCK_MONOTONIC, &start);
    rc = ldap_sasl_bind(ld, cfg->ldap.bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
                        &msgid);
    if (rc != LDAP_SUCCESS && dir_timed_out(pool, &start)) {
        dir_say(detail, "%s: connect: no answer within %d s", uri, cfg->ldap.timeout);
        return -1;
    }
    if (rc != LDAP_SUCCESS) {
        dir_pool_say_ldap(pool, detail, ld, uri, "bind", rc);
        return -1;
    }
    rc = dir_wait(pool, ld, uri, msgid, what, &res, detail, &lost);
    ldap_msgfree(res);
    /*
     * The server answered no (a wrong password, AD's "strong authentication
     * required" on plain LDAP): said as a refusal, not as no answer.
     */
    if (rc == -2 && *detail != NULL && strlen(*detail) > strlen(uri) + strlen(what) + 4) {
        char *said = *detail;

        *detail = NULL;
        dir_say(detail, "%s refused the bind as %s: %s", uri,
                cfg->ldap.bind_dn ? cfg->ldap.bind_dn : "anonymous",
                said + strlen(uri) + strlen(what) + 4);
        free(said);
    }
    return rc >= 0 ? 0 : rc; /* -2: the server refused the bind */
}

/*
 * Connect to URI, StartTLS if asked, bind. Returns the handle, or NULL
 * with *refused_r telling a refused bind from a server that did not answer.
 */
static LDAP *dir_connect_one(const struct dir_pool *pool, const char *uri, char **detail,
                             bool *refused_r)
{
    LDAP *ld = NULL;
    int rc = ldap_initialize(&ld, uri);

    *refused_r = false;
    if (rc != LDAP_SUCCESS) {
        dir_pool_say_ldap(pool, detail, NULL, uri, "bad URI", rc);
        return NULL;
    }
    if (dir_set_options(pool, ld) < 0) {
        dir_say(detail, "%s: cannot set the LDAP options (TLS CA file?)", uri);
        ldap_unbind_ext(ld, NULL, NULL);
        return NULL;
    }
    if (pool->cfg->ldap.starttls && strncasecmp(uri, "ldap://", 7) == 0 &&
        (rc = ldap_start_tls_s(ld, NULL, NULL)) != LDAP_SUCCESS) {
        dir_pool_say_ldap(pool, detail, ld, uri, "StartTLS", rc);
        ldap_unbind_ext(ld, NULL, NULL);
        return NULL;
    }
    if ((rc = dir_bind(pool, ld, uri, detail)) < 0) {
        *refused_r = rc == -2;
        ldap_unbind_ext(ld, NULL, NULL);
        return NULL;
    }
    return ld;
}

/* Milliseconds on the monotonic clock. */
static long long dir_now_ms(void)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/*
 * dir_connect_uri - dir_connect_one() to URI number I, the first of
 * simultaneous connects to it marked pending until it is answered.
 */
static LDAP *dir_connect_uri(struct dir_pool *pool, size_t i, char **detail,
                             bool *refused_r)
{
    long long zero = 0, now = dir_now_ms();
    bool mine = __atomic_compare_exchange_n(&pool->pending[i], &zero, now, false,
                                            __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    LDAP *ld = dir_connect_one(pool, pool->cfg->ldap.uri.v[i], detail, refused_r);

    if (mine)
        __atomic_store_n(&pool->pending[i], 0, __ATOMIC_RELEASE);
    return ld;
}

/* URI number I failed (its REASON): logged when it answered before. */
static void dir_uri_failed(struct dir_pool *pool, size_t i, const char *reason,
                           bool refused)
{
    const struct cfg *cfg = pool->cfg;
    int now = refused ? DIR_URI_REFUSED : DIR_URI_DOWN;

    if (__atomic_exchange_n(&pool->uri_state[i], now, __ATOMIC_ACQ_REL) == now)
        return;
    if (refused) /* REASON: "URI refused the bind as DN: why" */
        log_error("directory %s", reason ? reason : "refused the bind (out of memory)");
    else
        log_warning("directory %s stopped answering: %s", cfg->ldap.uri.v[i],
                    reason ? reason : "out of memory");
}

/* URI number I answered: logged when it did not before, or others did. */
static void dir_uri_answered(struct dir_pool *pool, size_t i)
{
    const struct cfg *cfg = pool->cfg;
    int last = __atomic_exchange_n(&pool->last_uri, (int)i, __ATOMIC_ACQ_REL);

    if (__atomic_exchange_n(&pool->uri_state[i], DIR_URI_UP, __ATOMIC_ACQ_REL) !=
        DIR_URI_UP)
        log_info("directory %s answers again", cfg->ldap.uri.v[i]);
    if (last >= 0 && last != (int)i)
        log_warning("directory: lookups now go to %s, not %s", cfg->ldap.uri.v[i],
                    cfg->ldap.uri.v[last]);
}

/*
 * dir_may_try - whether URI number I may be tried now: it did not fail,
 * or its second has passed and this caller is the one of all connections
 * that takes the try (the others are told no until the next second).
 * PROBING: the caller has a server already (a fail-back).
 */
static bool dir_may_try(struct dir_pool *pool, size_t i, bool probing)
{
    long long at = __atomic_load_n(&pool->retry_at[i], __ATOMIC_ACQUIRE);
    long long now = dir_now_ms();
    /* The taker's try may last ldap.timeout: the others wait that out too. */
    long long next = now + DIR_RETRY_MS + 1000LL * pool->cfg->ldap.timeout;

    /*
     * A connect that has had no answer for a second: the server hangs (or
     * is slower than we wait), and is not asked by every connection at once.
     */
    long long since = __atomic_load_n(&pool->pending[i], __ATOMIC_ACQUIRE);

    if (since != 0 && now - since >= DIR_RETRY_MS)
        return false;
    if (at == 0)
        return true;
    /*
     * Failed, but nobody tried it for a second since its try was due (its
     * connections went elsewhere): a connection that needs a server may;
     * of those that have one elsewhere (PROBING), one.
     */
    if (now >= at + DIR_RETRY_MS && !probing)
        return true;
    return now >= at && __atomic_compare_exchange_n(&pool->retry_at[i], &at, next, false,
                                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/* dir_uri_down - URI number I failed (its REASON): left alone for a second. */
static void dir_uri_down(struct dir_pool *pool, size_t i, const char *reason,
                         bool refused)
{
    pthread_mutex_lock(&pool->lock);
    free(pool->last_error[i]);
    pool->last_error[i] = reason ? strdup(reason) : NULL;
    pthread_mutex_unlock(&pool->lock);
    __atomic_store_n(&pool->retry_at[i], dir_now_ms() + DIR_RETRY_MS, __ATOMIC_RELEASE);
    dir_uri_failed(pool, i, reason, refused);
}

/* dir_uri_index - the number of C's URI in ldap.uri. */
static size_t dir_uri_index(const struct dir_pool *pool, const struct dir_conn *c)
{
    size_t i;

    for (i = 0; i < pool->cfg->ldap.uri.n; i++)
        if (c->uri == pool->cfg->ldap.uri.v[i])
            return i;
    return pool->cfg->ldap.uri.n;
}

void dir_pool_uri_down(struct dir_pool *pool, const struct dir_conn *c,
                       const char *reason)
{
    size_t i = dir_uri_index(pool, c);

    if (i < pool->cfg->ldap.uri.n)
        dir_uri_down(pool, i, reason, false);
}

void dir_pool_fail_back(struct dir_pool *pool, struct dir_conn *c)
{
    const struct cfg_list *uris = &pool->cfg->ldap.uri;
    size_t i, cur = dir_uri_index(pool, c);
    char *why = NULL;
    bool refused;
    LDAP *ld;

    for (i = 0; i < cur && i < uris->n; i++) {
        if (!dir_may_try(pool, i, true))
            continue;
        if ((ld = dir_connect_uri(pool, i, &why, &refused)) != NULL) {
            ldap_unbind_ext(c->ld, NULL, NULL);
            c->ld = ld;
            c->uri = uris->v[i];
            __atomic_store_n(&pool->retry_at[i], 0, __ATOMIC_RELEASE);
            dir_uri_answered(pool, i);
            break;
        }
        dir_uri_down(pool, i, why, refused);
    }
    free(why);
}

int dir_pool_connect(struct dir_pool *pool, struct dir_conn *c, char **detail)
{
    const struct cfg_list *uris = &pool->cfg->ldap.uri;
    char *all = NULL, *one = NULL;
    bool refused;
    size_t i;

    for (i = 0; i < uris->n; i++) {
        if (!dir_may_try(pool, i, false)) {
            /* Not hammered while down: the next URI, or an answer at once. */
            long long since = __atomic_load_n(&pool->pending[i], __ATOMIC_ACQUIRE);

            pthread_mutex_lock(&pool->lock);
            if (since != 0)
                dir_say(&one, "%s: a connection to it has had no answer for %lld ms",
                        uris->v[i], dir_now_ms() - since);
            else
                dir_say(&one, "%s (not tried again yet: once a second)",
                        pool->last_error[i] ? pool->last_error[i] : uris->v[i]);
            pthread_mutex_unlock(&pool->lock);
        } else if ((c->ld = dir_connect_uri(pool, i, &one, &refused)) != NULL) {
            __atomic_store_n(&pool->retry_at[i], 0, __ATOMIC_RELEASE);
            c->uri = uris->v[i];
            dir_uri_answered(pool, i);
            free(all);
            free(one);
            return 0;
        } else {
            dir_uri_down(pool, i, one, refused);
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

/*
 * Prefer an open connection. Waiting at most ldap.timeout: while the
 * directory hangs, each waiting client gets its 451 after one timeout,
 * not after the timeouts of all those queued before it.
 */
struct dir_conn *dir_pool_take(struct dir_pool *pool, char **detail)
{
    struct dir_conn *c = NULL;
    struct timespec deadline;
    size_t i;
    int rc = 0;

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += pool->cfg->ldap.timeout;
    pthread_mutex_lock(&pool->lock);
    while (rc == 0) {
        for (i = 0; i < pool->nconns; i++) {
            if (!pool->conns[i].busy && (c == NULL || pool->conns[i].ld != NULL))
                c = &pool->conns[i];
        }
        if (c != NULL) {
            c->busy = true;
            break;
        }
        rc = pthread_cond_timedwait(&pool->given, &pool->lock, &deadline);
    }
    pthread_mutex_unlock(&pool->lock);
    if (c == NULL) {
        dir_say(detail, "all %zu directory connections stayed busy for %d s",
                pool->nconns, pool->cfg->ldap.timeout);
        return NULL;
    }
    clock_gettime(CLOCK_MONOTONIC, &c->taken);
    return c;
}

void dir_pool_give(struct dir_pool *pool, struct dir_conn *c)
{
    pthread_mutex_lock(&pool->lock);
    c->busy = false;
    pthread_cond_signal(&pool->given);
    pthread_mutex_unlock(&pool->lock);
}

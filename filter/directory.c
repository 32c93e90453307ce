/*
 * NAME
 *	directory - find a login's mailbox entry in LDAP
 * SUMMARY
 *	dir_new(), dir_free(), dir_lookup(), dir_filter_expand()
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
 *	Every operation waits at most ldap.timeout seconds (connect, bind,
 *	StartTLS, search). The URIs are tried in order at each connect.
 *	After any error the connection is torn down; the next lookup builds
 *	a new one. A failure on a connection that had been idle (the server
 *	may have closed it) is retried once on a fresh connection; a
 *	timeout is not, so that an outage costs the client one timeout.
 *
 *	Thread safety: the connection is used under the dir's mutex, so no
 *	LDAP handle is ever used by two threads at once.
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

#include "directory.h"

struct dir {
    struct cfg *cfg;
    pthread_mutex_t lock;
    LDAP *ld;        /* NULL: not connected */
    const char *uri; /* what ld is connected to */
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

struct dir *dir_new(struct cfg *cfg)
{
    struct dir *dir = calloc(1, sizeof(*dir));

    if (dir == NULL)
        return NULL;
    if (pthread_mutex_init(&dir->lock, NULL) != 0) {
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

static void dir_disconnect(struct dir *dir)
{
    if (dir->ld != NULL)
        ldap_unbind_ext(dir->ld, NULL, NULL);
    dir->ld = NULL;
    dir->uri = NULL;
}

void dir_free(struct dir *dir)
{
    if (dir == NULL)
        return;
    dir_disconnect(dir);
    pthread_mutex_destroy(&dir->lock);
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
static int dir_connect(struct dir *dir, char **detail)
{
    const struct cfg_list *uris = &dir->cfg->ldap.uri;
    char *all = NULL, *one = NULL;
    size_t i;

    for (i = 0; i < uris->n; i++) {
        dir->ld = dir_connect_one(dir, uris->v[i], &one);
        if (dir->ld != NULL) {
            dir->uri = uris->v[i];
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

/* A growing string; after a failed allocation it stays failed. */
struct dir_buf {
    char *s;
    size_t n;
    bool failed;
};

static void dir_buf_add(struct dir_buf *b, const char *value, size_t len)
{
    char *grown;

    if (b->failed)
        return;
    if ((grown = realloc(b->s, b->n + len + 1)) == NULL) {
        b->failed = true;
        return;
    }
    memcpy(grown + b->n, value, len);
    b->n += len;
    grown[b->n] = '\0';
    b->s = grown;
}

/* Append LEN bytes of VALUE escaped per RFC 4515: * ( ) \ NUL and 8-bit as \XX. */
static void dir_buf_add_escaped(struct dir_buf *b, const char *value, size_t len)
{
    struct berval raw = {(ber_len_t)len, (char *)value}, esc = {0, NULL};

    if (len == 0)
        return;
    if (ldap_bv2escaped_filter_value(&raw, &esc) != 0) {
        b->failed = true;
        return;
    }
    dir_buf_add(b, esc.bv_val, esc.bv_len);
    ber_memfree(esc.bv_val);
}

int dir_filter_escape(const char *value, size_t len, char **escaped_r)
{
    struct dir_buf b = {NULL, 0, false};

    dir_buf_add(&b, "", 0);
    dir_buf_add_escaped(&b, value, len);
    if (b.failed) {
        free(b.s);
        return -1;
    }
    *escaped_r = b.s;
    return 0;
}

int dir_filter_expand(const char *template, const char *login, char **filter_r,
                      const char **error_r)
{
    const char *at = strrchr(login, '@'), *p;
    size_t llen = at ? (size_t)(at - login) : strlen(login);
    struct dir_buf b = {NULL, 0, false};

    dir_buf_add(&b, "", 0);
    for (p = template; *p != '\0'; p++) {
        if (*p != '%') {
            dir_buf_add(&b, p, 1);
            continue;
        }
        switch (*++p) {
        case '%':
            dir_buf_add(&b, "%", 1);
            break;
        case 'u':
            dir_buf_add_escaped(&b, login, strlen(login));
            break;
        case 'l':
            dir_buf_add_escaped(&b, login, llen);
            break;
        case 'd':
            dir_buf_add_escaped(&b, at ? at + 1 : "", at ? strlen(at + 1) : 0);
            break;
        default:
            free(b.s);
            *error_r = "only %u, %l, %d and %% may be used in a filter";
            return -1;
        }
    }
    if (b.failed) {
        free(b.s);
        *error_r = "out of memory";
        return -1;
    }
    *filter_r = b.s;
    return 0;
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

/* The attributes a lookup asks for; a NULL-terminated array, malloc'd. */
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
static bool dir_login_is(struct dir *dir, LDAPMessage *msg, const char *login)
{
    const char *attr = dir->cfg->ldap.login_attribute, *at = strrchr(login, '@');
    struct berval **vals;
    bool same = false;
    int i;

    if (attr[0] == '\0')
        return true;
    vals = ldap_get_values_len(dir->ld, msg, attr);
    for (i = 0; vals != NULL && vals[i] != NULL && !same; i++)
        same = dir_same(vals[i]->bv_val, vals[i]->bv_len, login, strlen(login)) ||
               (at != NULL &&
                dir_same(vals[i]->bv_val, vals[i]->bv_len, login, (size_t)(at - login)));
    ldap_value_free_len(vals);
    return same;
}

static void dir_read_answer(struct dir *dir, LDAPMessage *res, const char *filter,
                            const char *login, struct dir_try *t)
{
    const struct cfg *cfg = dir->cfg;
    LDAPMessage *msg;
    int count = ldap_count_entries(dir->ld, res);

    if (count > 1) {
        t->result = HM_LOOKUP_AMBIGUOUS;
        dir_say(&t->detail, "%s: more than one entry matches %s under %s", dir->uri,
                filter, cfg->ldap.base);
    } else if (count == 0) {
        t->result = HM_LOOKUP_NOT_FOUND;
        dir_say(&t->detail, "no entry matches %s under %s", filter, cfg->ldap.base);
    } else if ((msg = ldap_first_entry(dir->ld, res)) != NULL &&
               !dir_login_is(dir, msg, login)) {
        t->result = HM_LOOKUP_NOT_FOUND;
        dir_say(&t->detail,
                "an entry matches %s under %s, but no %s value is the login "
                "itself",
                filter, cfg->ldap.base, cfg->ldap.login_attribute);
    } else if (msg == NULL || (t->entry = dir_make_entry(dir, dir->ld, msg)) == NULL) {
        t->result = HM_LOOKUP_ERROR;
        dir_say(&t->detail, "%s: cannot read the entry (out of memory)", dir->uri);
    } else {
        t->result = HM_LOOKUP_FOUND;
    }
}

static const int dir_scopes[] = {LDAP_SCOPE_BASE, LDAP_SCOPE_ONELEVEL,
                                 LDAP_SCOPE_SUBTREE};

/* One search on the current connection, which must exist. */
static void dir_search(struct dir *dir, const char *filter, const char *login,
                       struct dir_try *t)
{
    const struct cfg *cfg = dir->cfg;
    struct timeval tv = {cfg->ldap.timeout, 0};
    LDAPMessage *res = NULL;
    char **attrs = dir_attributes(cfg);
    bool lost = false;
    int msgid, rc;

    t->result = HM_LOOKUP_ERROR;
    if (attrs == NULL) {
        dir_say(&t->detail, "out of memory");
        return;
    }
    rc = ldap_search_ext(dir->ld, cfg->ldap.base, dir_scopes[cfg->ldap.scope], filter,
                         attrs, 0, NULL, NULL, &tv, 2, &msgid);
    free(attrs);
    if (rc != LDAP_SUCCESS) {
        dir_say_ldap(dir, &t->detail, dir->ld, dir->uri, "search", rc);
        t->retry = rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR;
        return;
    }
    rc = dir_wait(dir, dir->ld, dir->uri, msgid, "search", &res, &t->detail, &lost);
    if (rc < 0) {
        t->retry = lost;
        return;
    }
    if (rc == 1) {
        t->result = HM_LOOKUP_AMBIGUOUS;
        dir_say(&t->detail, "%s: more than one entry matches %s under %s", dir->uri,
                filter, cfg->ldap.base);
    } else {
        dir_read_answer(dir, res, filter, login, t);
    }
    ldap_msgfree(res);
}

/*
 * Take the connection, waiting at most ldap.timeout: while the directory
 * hangs, each waiting client gets its 451 after one timeout, not after
 * the timeouts of all those queued before it.
 */
static int dir_lock(struct dir *dir)
{
    struct timespec deadline;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += dir->cfg->ldap.timeout;
    return pthread_mutex_timedlock(&dir->lock, &deadline);
}

enum hm_lookup dir_lookup(struct dir *dir, const char *login, struct entry **entry_r,
                          char **detail_r)
{
    struct dir_try t = {HM_LOOKUP_ERROR, false, NULL, NULL};
    const char *why;
    char *filter = NULL;
    bool fresh;

    *entry_r = NULL;
    *detail_r = NULL;
    if (*login == '\0') {
        dir_say(detail_r, "the login is empty");
        return HM_LOOKUP_NOT_FOUND;
    }
    if (dir_filter_expand(dir->cfg->ldap.login_filter, login, &filter, &why) < 0) {
        dir_say(detail_r, "ldap.login_filter: %s", why);
        return HM_LOOKUP_ERROR;
    }
    if (dir_lock(dir) != 0) {
        free(filter);
        dir_say(detail_r, "the directory connection stayed busy for %d s",
                dir->cfg->ldap.timeout);
        return HM_LOOKUP_ERROR;
    }
    fresh = dir->ld == NULL;
    if (fresh && dir_connect(dir, &t.detail) < 0) {
        pthread_mutex_unlock(&dir->lock);
        free(filter);
        *detail_r = t.detail;
        return HM_LOOKUP_ERROR;
    }
    dir_search(dir, filter, login, &t);
    if (t.result == HM_LOOKUP_ERROR && t.retry && !fresh) {
        dir_disconnect(dir);
        if (dir_connect(dir, &t.detail) == 0) {
            free(t.detail);
            t.detail = NULL;
            dir_search(dir, filter, login, &t);
        }
    }
    if (t.result == HM_LOOKUP_ERROR)
        dir_disconnect(dir);
    pthread_mutex_unlock(&dir->lock);
    free(filter);
    *entry_r = t.entry;
    *detail_r = t.detail;
    return t.result;
}

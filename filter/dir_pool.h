/*
 * dir_pool.h - the pool of LDAP connections (private to the directory
 * module)
 *
 * A pool holds at most ldap.connections handles, each connected and
 * bound lazily by its user, and hands each to one thread at a time.
 * Every operation waits at most ldap.timeout. Explanations of failures
 * are malloc'd strings in a char * the caller owns (and frees).
 */
#ifndef HM_DIR_POOL_H
#define HM_DIR_POOL_H

#include <ldap.h>
#include <stdbool.h>
#include <time.h>

#include "cfg.h"

/* One pooled connection: its user may read and use ld and uri. */
struct dir_conn {
    LDAP *ld;              /* NULL: not connected */
    const char *uri;       /* what ld is connected to */
    bool busy;             /* taken by a lookup */
    struct timespec taken; /* when (CLOCK_MONOTONIC) */
};

struct dir_pool;

/*
 * dir_pool_new - an empty pool of CFG's ldap.connections handles. CFG is
 * borrowed: it must outlive the pool. NULL when out of memory.
 */
struct dir_pool *dir_pool_new(const struct cfg *cfg);

/* dir_pool_free - close every connection and release POOL. NULL-safe. */
void dir_pool_free(struct dir_pool *pool);

/*
 * dir_pool_take - a connection for the caller alone, an open one if any;
 * waits at most ldap.timeout for one. NULL, with the reason in *detail,
 * when none came free. Give it back with dir_pool_give().
 */
struct dir_conn *dir_pool_take(struct dir_pool *pool, char **detail);

/* dir_pool_give - put C, taken from POOL, back. */
void dir_pool_give(struct dir_pool *pool, struct dir_conn *c);

/*
 * dir_pool_connect - connect C (not connected) to the first URI that
 * answers, StartTLS if asked, and bind. Returns 0, or -1 with every URI's
 * failure in *detail.
 */
int dir_pool_connect(struct dir_pool *pool, struct dir_conn *c, char **detail);

/*
 * dir_pool_fail_back - C (connected) is on a later URI than the first:
 * move it to an earlier one that answers again, tried as dir_pool_connect
 * tries a URI that failed (once a second at most, for all connections).
 * C stays as it is when none does.
 */
void dir_pool_fail_back(struct dir_pool *pool, struct dir_conn *c);

/*
 * dir_pool_uri_down - the URI C is connected to said it cannot answer
 * (REASON): tried again a second from now at the earliest.
 */
void dir_pool_uri_down(struct dir_pool *pool, const struct dir_conn *c,
                       const char *reason);

/* dir_pool_disconnect - close C's handle, if any. */
void dir_pool_disconnect(struct dir_conn *c);

/* dir_pool_took_long - whether a second has passed since C was taken. */
bool dir_pool_took_long(const struct dir_conn *c);

/*
 * dir_pool_wait - wait at most ldap.timeout for the whole answer to MSGID
 * on C and check its result code. Returns 0 (1: the size limit was
 * reached) with the answer in *res_r (caller frees), or -1 with the reason
 * in *detail (-2 when the server answered with an error code); *lost_r
 * tells a connection that broke (which a fresh one may mend) from a
 * timeout or an answer of the server. WHAT names the operation in the
 * reason.
 */
int dir_pool_wait(const struct dir_pool *pool, const struct dir_conn *c, int msgid,
                  const char *what, LDAPMessage **res_r, char **detail, bool *lost_r);

/*
 * dir_pool_say_ldap - put in *detail why WHAT failed with RC on LD
 * (connected to URI), with the server's own words when it said any.
 */
void dir_pool_say_ldap(const struct dir_pool *pool, char **detail, LDAP *ld,
                       const char *uri, const char *what, int rc);

/* dir_say - replace *detail with a malloc'd text (NULL when out of memory). */
void dir_say(char **detail, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

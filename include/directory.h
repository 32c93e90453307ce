/*
 * directory.h - find a login's mailbox entry in LDAP
 *
 * The only module that speaks LDAP. Every lookup has three outcomes
 * (enum hm_lookup), never a NULL that could mean both "absent" and
 * "failed". A struct dir is safe to use from several threads: no LDAP
 * handle is ever used by two of them at once.
 */
#ifndef HM_DIRECTORY_H
#define HM_DIRECTORY_H

#include "cfg.h"
#include "entry.h"

struct dir;

/*
 * dir_new - a directory client for CFG (which it references until
 * dir_free). Connects lazily, at the first lookup. Returns NULL when out
 * of memory.
 */
struct dir *dir_new(struct cfg *cfg);

/*
 * dir_library_init - set libldap up. Call once, before any thread starts:
 * done lazily in a thread that later ends, libldap's set-up leaks.
 */
void dir_library_init(void);

/*
 * dir_uri_check - whether libldap's parser accepts URI, as the directory
 * will use it (a port in range included). Returns 0, or -1 with a static
 * message in *ERROR_R. Pure; the configuration's check of ldap.uri.
 */
int dir_uri_check(const char *uri, const char **error_r);

/*
 * dir_attributes - the attributes a lookup of CFG asks for: the address
 * attributes, then the home and login attributes when set. A malloc'd,
 * NULL-terminated array of CFG's own strings (caller frees the array
 * only), or NULL when out of memory.
 */
char **dir_attributes(const struct cfg *cfg);

/* dir_free - close every connection and release DIR. NULL-safe. */
void dir_free(struct dir *dir);

/*
 * dir_lookup - find LOGIN's entry. HM_LOOKUP_FOUND: *entry_r holds one
 * reference (caller unrefs), and *detail_r is NULL, or "stale: ..." when
 * the directory did not answer and the entry is the cache's, found within
 * cache.stale_ttl (caller frees). Otherwise a
 * malloc'd explanation in *detail_r (caller frees; may be NULL when out of
 * memory). More than one matching entry is HM_LOOKUP_AMBIGUOUS.
 */
enum hm_lookup dir_lookup(struct dir *dir, const char *login, struct entry **entry_r,
                          char **detail_r);

/*
 * dir_grant - the entry that grants LOGIN (whose entry is DN) RIGHT over
 * ADDRESS: the right's filter with %s ADDRESS, %D DN, %u %l %d LOGIN put
 * in (escaped), searched as dir_lookup() searches. HM_LOOKUP_FOUND: one
 * entry, one reference in *entry_r (caller unrefs; whether it is homed
 * here is the caller's to check). Otherwise a malloc'd explanation in
 * *detail_r (caller frees). Two entries or more are HM_LOOKUP_AMBIGUOUS.
 */
enum hm_lookup dir_grant(struct dir *dir, enum hm_right right, const char *login,
                         const char *dn, const char *address, struct entry **entry_r,
                         char **detail_r);

#endif

/*
 * entry.h - what the directory knows about one login
 *
 * An entry is built once by the directory module and is immutable after
 * that; it is reference counted so that a cache and any number of
 * connections can hold it at once. entry_ref/entry_unref are thread-safe.
 */
#ifndef HM_ENTRY_H
#define HM_ENTRY_H

#include <stddef.h>

/* The three answers of every directory lookup. */
enum hm_lookup {
    HM_LOOKUP_FOUND,     /* exactly one entry */
    HM_LOOKUP_NOT_FOUND, /* the directory answered: no such login */
    HM_LOOKUP_ERROR,     /* no answer could be had; try again later */
    HM_LOOKUP_AMBIGUOUS, /* more than one entry: an error of the directory's
                            data that policy.on_directory_error never turns
                            into an accept or a reject (always 451) */
};

/* The two rights a delegation search looks for (Exchange's). */
enum hm_right {
    HM_RIGHT_SEND_AS,   /* ldap.delegation_filter: the address is the login's to use */
    HM_RIGHT_ON_BEHALF, /* ldap.on_behalf_filter: From: only, with the login's Sender: */
};

struct entry {
    char *dn;     /* distinguished name */
    char **homes; /* values of the home attribute */
    size_t nhomes;
    char **addresses; /* values of the address attributes, as stored */
    size_t naddresses;
    unsigned refs; /* private: use entry_ref/entry_unref */
};

/* entry_new - a new entry for DN with one reference; NULL when out of memory. */
struct entry *entry_new(const char *dn);

/*
 * entry_add_home, entry_add_address - append a copy of VALUE (LEN bytes).
 * A value holding a NUL byte, or an empty one, is silently skipped: it can
 * never match anything; so is an address the entry holds already (ASCII
 * case aside). Return 0, or -1 when out of memory. Only while the
 * entry is being built, before it is shared.
 */
int entry_add_home(struct entry *e, const char *value, size_t len);
int entry_add_address(struct entry *e, const char *value, size_t len);

/*
 * entry_add_prefixed - a value of a prefixed address attribute (AD's
 * proxyAddresses: "SMTP:primary@x", "smtp:alias@x", "X500:/o=...",
 * "SIP:..."): one that starts with "smtp:", in any case, is added without
 * it; any other type, and "smtp:" with nothing after it, is skipped.
 * Returns as entry_add_address().
 */
int entry_add_prefixed(struct entry *e, const char *value, size_t len);

/* entry_ref - take one more reference; returns E. */
struct entry *entry_ref(struct entry *e);

/* entry_unref - drop one reference, freeing E with the last. NULL-safe. */
void entry_unref(struct entry *e);

#endif

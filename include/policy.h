/*
 * policy.h - the decision: may this login submit as this address?
 *
 * A pure function of its inputs: no I/O, no clock, no logging, no LDAP,
 * no milter. Safe from any thread.
 */
#ifndef HM_POLICY_H
#define HM_POLICY_H

#include <stdbool.h>

#include "address.h"
#include "cfg.h"
#include "entry.h"

enum policy_stage { HM_STAGE_MAIL, HM_STAGE_HEADER };
enum policy_action { HM_ACCEPT, HM_REJECT, HM_TEMPFAIL };

/* Why a verdict was reached; policy_reason_name() gives the log keyword. */
enum policy_reason {
    HM_REASON_NONE,            /* no verdict yet */
    HM_REASON_UNAUTHENTICATED, /* the client did not authenticate */
    HM_REASON_TRUSTED,         /* a login of policy.trusted_logins: not checked */
    HM_REASON_DIRECTORY_ERROR, /* no answer from the directory */
    HM_REASON_AMBIGUOUS,       /* the login matches more than one entry */
    HM_REASON_NO_ENTRY,        /* the login has no entry */
    HM_REASON_NOT_HOMED,       /* the entry is not homed here */
    HM_REASON_NOT_CHECKED,     /* MAIL FROM with check_envelope off */
    HM_REASON_MALFORMED,       /* the address or its field does not parse */
    HM_REASON_NULL_SENDER,     /* the null sender at MAIL FROM */
    HM_REASON_OWNED,           /* an address of the entry */
    HM_REASON_SEND_AS,         /* delegated: another local entry's, sent as */
    HM_REASON_ON_BEHALF,       /* another local entry's, written on behalf of */
    HM_REASON_NOT_OWNED,       /* not an address of the entry */
    HM_REASON_UNDECLARED_8BIT, /* 8-bit data that MAIL FROM did not declare */
    HM_REASON_7BIT_ONLY,       /* 8-bit data, and no next hop takes it */
    HM_REASON_7BIT_DOMAIN,     /* 8-bit data to a domain whose next hop takes none */
    HM_REASON_NO_MEMORY,       /* out of memory while deciding: 451 */
};

/* What a delegation search (send as, or on behalf) answered. */
struct policy_grant {
    enum hm_lookup lookup;     /* HM_LOOKUP_FOUND: one entry grants the right */
    const struct entry *entry; /* with HM_LOOKUP_FOUND: the granting entry */
};

struct policy_request {
    const char *login;          /* NULL: the client did not authenticate */
    enum policy_stage stage;    /* MAIL FROM or a header field */
    const char *written;        /* the address as the client wrote it */
    const struct addr *address; /* parsed; NULL when WRITTEN did not parse */
    enum hm_lookup lookup;      /* what the directory said about LOGIN */
    const struct entry *entry;  /* with HM_LOOKUP_FOUND */
    bool from;                  /* the address is in From: (on behalf is only there) */
    const struct policy_grant *send_as;   /* the send-as search; NULL: not made */
    const struct policy_grant *on_behalf; /* the on-behalf search; NULL: not made */
};

struct policy_verdict {
    enum policy_action action;   /* what the client is told */
    enum policy_action decision; /* what the rules say; differs in report mode */
    const char *code;            /* "554", "451"; NULL with HM_ACCEPT */
    const char *xcode;           /* "5.7.1", "4.3.0"; NULL with HM_ACCEPT */
    char *text;                  /* reply text, printable ASCII; NULL with accept */
    char *shown;                 /* the address as a reply, log line or header
                                    names it (policy_shown); NULL with accept */
    enum policy_reason reason;
    const char *owner; /* owned: the entry's value that owns the address (an
                          address, or "@domain"); send-as, on-behalf: the
                          granting entry's DN. The entry's string */
};

/*
 * policy_decide - the verdict for REQ under CFG, in *v (clear it with
 * policy_verdict_clear). A verdict that is not an accept, or would not be
 * one in report mode, carries its text and the address shown; so does an
 * on-behalf accept: the not-owned reply it becomes when the message has
 * no Sender: the login owns. A not-owned verdict asks for the searches
 * REQ did not make: see policy_wants(). Returns 0, or -1 when out of
 * memory (then *v is a tempfail without text).
 */
int policy_decide(const struct cfg *cfg, const struct policy_request *req,
                  struct policy_verdict *v);

/* What the 8-bit rule (the second seed) looks at, at end-of-DATA. */
struct policy_eight {
    const char *sender; /* the envelope sender as written */
    bool declared;      /* MAIL FROM declared 8-bit data (BODY=8BITMIME, ...) */
    bool found;         /* a byte >= 0x80 in a header or the body */
    const char *domain; /* the first 7-bit-only domain a recipient is in, or NULL */
};

/*
 * policy_decide_eight - the 8-bit rule's verdict for REQ under CFG, in *v
 * (clear it with policy_verdict_clear): with 8-bit data found, undeclared
 * data when eight_bit.undeclared is "reject" (554 5.6.1), else any when
 * eight_bit.seven_bit_only is set, else a 7-bit-only recipient domain
 * (both 554 5.6.3). An accept otherwise, reason HM_REASON_NONE. The
 * verdict names the sender (shown); report mode as policy_decide().
 * Returns 0, or -1 when out of memory (then *v is a tempfail).
 */
int policy_decide_eight(const struct cfg *cfg, const struct policy_eight *req,
                        struct policy_verdict *v);

/*
 * policy_wants - the delegation search that could still turn verdict V on
 * REQ into an accept under CFG: send as (its filter set, not searched
 * yet), then on behalf (the same, and From:); false when none.
 */
bool policy_wants(const struct cfg *cfg, const struct policy_request *req,
                  const struct policy_verdict *v, enum hm_right *right_r);

/* policy_verdict_clear - free what *v owns. */
void policy_verdict_clear(struct policy_verdict *v);

/*
 * policy_rdn - what ldap.home_value = "rdn" compares of home value HOME,
 * in a malloc'd string (NULL: out of memory): the value of its most
 * specific RDN. Of an LDAP DN the first RDN ("CN=EXCH01,CN=Servers,..."
 * gives EXCH01; escapes such as "\," and "\2C" resolved, unescaped blanks
 * around it dropped; of a multi-valued RDN "cn=A+ou=B", the first value,
 * A); of a legacy Exchange DN the last ("/o=Org/.../cn=Servers/cn=EXCH01"
 * gives EXCH01). A value that is no DN, or whose RDN value holds an
 * escaped NUL, is returned as it is.
 */
char *policy_rdn(const char *home);

/*
 * policy_is_local - whether ENTRY's home is one of CFG's local_hosts: a
 * home value as a host name (one trailing dot aside), or with home_value
 * "rdn" its RDN's value (policy_rdn), ASCII case aside.
 */
bool policy_is_local(const struct cfg *cfg, const struct entry *entry);

/*
 * policy_owner - the value of ENTRY that owns ADDRESS under CFG, or NULL:
 * the same address (the local part ASCII case aside, or with an extension
 * after policy.extension_delimiter), or "@domain", which owns every
 * address of that domain and of no other (not its subdomains). Domains
 * compare as idna_same_domain() says.
 */
const char *policy_owner(const struct cfg *cfg, const struct entry *entry,
                         const struct addr *address);

/* policy_owns - whether ADDRESS is one of ENTRY's addresses under CFG. */
bool policy_owns(const struct cfg *cfg, const struct entry *entry,
                 const struct addr *address);

/* policy_is_trusted - whether LOGIN is one of policy.trusted_logins (exactly). */
bool policy_is_trusted(const struct cfg *cfg, const char *login);

/*
 * policy_shown - WRITTEN as it may appear in a reply, a log line or a
 * header: outer angle brackets removed, "<>" for the null sender, bytes
 * outside printable ASCII as '?', cut after 256 bytes with "...".
 * Returns a malloc'd string, or NULL when out of memory.
 */
char *policy_shown(const char *written);

/* policy_action_name - "accept", "reject" or "tempfail". */
const char *policy_action_name(enum policy_action action);

/*
 * policy_reason_name - REASON's keyword in log lines, report headers and
 * -q: "owned", "not-owned", ... An ambiguous login is logged as
 * "directory-error", as homed-milter.conf(5) says.
 */
const char *policy_reason_name(enum policy_reason reason);

#endif

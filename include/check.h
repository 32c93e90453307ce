/*
 * check.h - the decisions of one message (module check)
 *
 * The one place that says "look the login up, read the address as a
 * recipient's mail client shows it, ask policy, remember the first
 * failure": the envelope sender, then each address of each configured
 * header field, then the final verdict and, in report mode, the report
 * header. The milter and -q both go through it, so that -q can never
 * drift from what the milter does. Free of libmilter: the unit tests drive
 * whole messages through it.
 *
 * A struct check_msg belongs to one thread at a time (one SMTP
 * connection); the configuration and directory client it points to may
 * be shared.
 */
#ifndef HM_CHECK_H
#define HM_CHECK_H

#include <stdbool.h>

#include "address.h"
#include "cfg.h"
#include "directory.h"
#include "entry.h"
#include "policy.h"

/*
 * How check finds a login's entry, with dir_lookup()'s contract: CTX is
 * a struct dir for check_dir_lookup, or a unit test's fake directory.
 */
typedef enum hm_lookup check_lookup_fn(void *ctx, const char *login,
                                       struct entry **entry_r, char **detail_r);

/* check_dir_lookup - dir_lookup() on the struct dir CTX. */
enum hm_lookup check_dir_lookup(void *ctx, const char *login, struct entry **entry_r,
                                char **detail_r);

/*
 * How check finds the entry that grants a right over an address, with
 * dir_grant()'s contract; CTX as check_lookup_fn's.
 */
typedef enum hm_lookup check_grant_fn(void *ctx, enum hm_right right, const char *login,
                                      const char *dn, const char *address,
                                      struct entry **entry_r, char **detail_r);

/* check_dir_grant - dir_grant() on the struct dir CTX. */
enum hm_lookup check_dir_grant(void *ctx, enum hm_right right, const char *login,
                               const char *dn, const char *address,
                               struct entry **entry_r, char **detail_r);

/* One delegation search of a message, kept until its end. */
struct check_grant {
    enum hm_right right;
    char *address; /* local@domain, as parsed */
    struct policy_grant g;
    struct entry *entry; /* the reference behind g.entry */
    char *detail;        /* the directory's explanation when not found */
};

/* One decision on one address, and the evidence -q prints for it. */
struct check_result {
    struct policy_verdict v;
    char *written;           /* the address as written (a malformed field: the
                                field's value, or "NAME:" when empty) */
    bool in_name;            /* shown by a display name or comment */
    const char *parse_error; /* static: why it did not parse; NULL when it did */
};

/* The decisions on one header field, in the order of its addresses. */
struct check_results {
    struct check_result *v;
    size_t n;
};

/* A decision the message keeps until end-of-DATA. */
struct check_kept {
    struct policy_verdict v; /* reason HM_REASON_NONE: none kept */
    char *field;             /* its header field; NULL: the envelope sender */
    bool in_name;
    const char *stage;  /* "header", or where 8-bit data was found: "header", "body" */
    const char *domain; /* the 7-bit-only domain (the configuration's), or NULL */
};

/* What the 8-bit rule (the second seed) has seen of the message. */
struct check_eight {
    bool declared;                 /* MAIL FROM declared 8-bit data */
    bool found;                    /* a byte >= 0x80 in a header or the body */
    bool body;                     /* found in the body, not in a header */
    bool decided;                  /* the rule was asked, at end-of-DATA */
    const char *domain;            /* the first 7-bit-only domain a recipient is in */
    const struct check_kept *kept; /* where its decision went (the failed or
                                      the reported one), or NULL */
};

/* A header field kept until end-of-DATA (policy.decide_at = "end-of-data"). */
struct check_held {
    char *name;
    char *value;
};

/* One message, from MAIL FROM to end-of-DATA. Set explain; only read the rest. */
struct check_msg {
    const struct cfg *cfg;
    check_lookup_fn *lookup_fn;
    check_grant_fn *grant_fn;
    void *lookup_ctx;
    bool explain;               /* -q: decide every address, even after a failure */
    const char *login;          /* NULL: the client did not authenticate */
    enum hm_lookup lookup;      /* what the directory said about LOGIN */
    struct entry *entry;        /* with HM_LOOKUP_FOUND */
    char *detail;               /* the directory's explanation otherwise */
    struct check_kept failed;   /* the first header decision that is no accept */
    struct check_kept reported; /* report mode: the first that would not be one */
    unsigned client_reports;    /* report mode: copies of report_header seen */
    char *sender;               /* the envelope sender as written */
    struct check_eight eight;
    struct check_grant **grants; /* the delegation searches made, by right and address */
    size_t ngrants;
    char *grant_detail;          /* why the last delegation search had no answer */
    struct check_kept on_behalf; /* the first on-behalf From: address, as the
                                    not-owned decision it becomes without */
    unsigned senders;            /* Sender: fields decided */
    bool sender_not_owned;       /* ... one of whose addresses is not the login's own */
    const struct check_kept *late_report; /* report mode: a decision made at
                                             end-of-DATA (on behalf, 8-bit) */
    struct check_held *held;              /* decide_at = "end-of-data": the checked fields
                                             seen before the login was known */
    size_t nheld;
    const char *stage; /* where a kept header decision was made: "header",
                          or "end-of-data" once the held fields are decided */
};

/*
 * check_begin - start message M under CFG, looking logins up with LOOKUP
 * and delegations with GRANT on CTX (CFG and CTX are referenced, not
 * owned).
 */
void check_begin(struct check_msg *m, const struct cfg *cfg, check_lookup_fn *lookup,
                 check_grant_fn *grant, void *ctx);

/*
 * check_login - LOGIN (NULL: not authenticated) is the client's; it is
 * looked up once, here. LOGIN is referenced: it must stay valid until
 * check_end().
 */
void check_login(struct check_msg *m, const char *login);

/*
 * check_envelope - decide on the envelope sender SENDER as MAIL FROM
 * gave it, into *R (free with check_result_clear). In report mode a
 * decision that would not accept is remembered for the report header.
 * Returns 0, or -1 when out of memory (*R is then a tempfail).
 */
int check_envelope(struct check_msg *m, const char *sender, struct check_result *r);

/*
 * check_eight_on - whether CFG turns an 8-bit rule on: every message's
 * headers and body are then read, authenticated or not.
 */
bool check_eight_on(const struct cfg *cfg);

/*
 * check_esmtp - the ESMTP arguments of MAIL FROM, ARGS (NULL-terminated,
 * those after the sender, as the MTA passes them): whether they declare
 * 8-bit data.
 */
void check_esmtp(struct check_msg *m, char *const *args);

/*
 * check_recipient - a recipient RCPT as RCPT TO gave it ("<x@domain>"):
 * the first whose domain (after its last '@') is one of
 * eight_bit.seven_bit_only_domains or under one is remembered; case and
 * a trailing dot do not matter.
 */
void check_recipient(struct check_msg *m, const char *rcpt);

/*
 * check_body - LEN bytes of the body at DATA, scanned for 8-bit data (no
 * copy). Returns whether more of the body is wanted: false once 8-bit
 * data was found or when no 8-bit rule is on.
 */
bool check_body(struct check_msg *m, const void *data, size_t len);

/*
 * check_header - a header field NAME with VALUE, as the MTA passes it.
 * Its name and value are scanned for 8-bit data when an 8-bit rule is on.
 * Copies of the report header are counted. A field that is checked is
 * decided on, every address of it, into *RS (free with
 * check_results_clear); the first decision that is no accept is kept for
 * end-of-DATA, and after it nothing more is decided unless M->explain is
 * set. Other fields leave *RS empty. Returns 0, or -1 when out of memory
 * (a tempfail is then kept, so that the message is never accepted
 * unchecked).
 */
int check_header(struct check_msg *m, const char *name, const char *value,
                 struct check_results *rs);

/*
 * check_hold - with policy.decide_at = "end-of-data", after check_login():
 * a header field NAME with VALUE, read now for the 8-bit rule and the
 * report header, and kept for check_held() when the homed rule checks it
 * (a checked field of an authenticated, untrusted login, or of any client
 * with policy.unauthenticated = "reject"): mail that is not the rule's is
 * neither copied nor parsed. Returns 0, or -1 when out of memory (a
 * tempfail is then kept for end-of-DATA: the message is never accepted
 * unchecked).
 */
int check_hold(struct check_msg *m, const char *name, const char *value);

/*
 * check_held - at end-of-DATA, after check_login() and check_envelope():
 * decide on the held fields in their order as check_header() would, each
 * one's results handed to EACH(ARG, NAME, RESULTS) (which must not keep
 * them), with "end-of-data" as the stage of a kept decision. Returns 0,
 * or -1 when memory ran out for one (as check_header()).
 */
typedef void check_each_fn(void *arg, const char *name, const struct check_results *rs);
int check_held(struct check_msg *m, check_each_fn *each, void *arg);

/*
 * check_field - decide on every address of header field NAME with VALUE,
 * whether or not the configuration checks NAME (-q: the field the
 * administrator asks about). As check_header otherwise.
 */
int check_field(struct check_msg *m, const char *name, const char *value,
                struct check_results *rs);

/*
 * check_is_field - whether header field NAME (any case) is one of CFG's
 * policy.header_fields, the fields check_header decides on.
 */
bool check_is_field(const struct cfg *cfg, const char *name);

/*
 * check_final - the verdict at end-of-DATA: the kept header decision;
 * else an on-behalf From: address without a Sender: whose every address
 * the login owns (not-owned); else the 8-bit rule's (asked here, once: a
 * message failing both gets the homed reply); or NULL when the message is
 * accepted. It belongs to M and lives until check_end(). In report mode
 * those two are remembered for the report header unless another is, and
 * M->late_report points to the one.
 */
const struct check_kept *check_final(struct check_msg *m);

/*
 * check_report - report mode: the value of the report header to add
 * ("reject reason=not-owned address=..."), malloc'd (caller frees), or
 * NULL when there is none to add (or out of memory).
 */
char *check_report(const struct check_msg *m);

/*
 * check_detail - the directory's explanation of V when V is a directory
 * error (or an ambiguous login); NULL otherwise. It belongs to M and lives
 * until check_end().
 */
const char *check_detail(const struct check_msg *m, const struct policy_verdict *v);

/* check_end - free what message M holds; it may begin again. */
void check_end(struct check_msg *m);

/*
 * check_result_clear, check_results_clear - free what *R / *RS own (the
 * verdicts' texts, the addresses as written) and zero them; a cleared
 * one may be cleared again.
 */
void check_result_clear(struct check_result *r);
void check_results_clear(struct check_results *rs);

#endif

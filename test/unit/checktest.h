/*
 * checktest.h - what test_check.c and test_check_more.c share: the fake
 * directory, a message's state and the helpers that drive it (defined in
 * test_check.c), and the cases of test_check_more.c.
 */
#ifndef HM_CHECKTEST_H
#define HM_CHECKTEST_H

#include <stddef.h>

#include "check.h"

/* The fake directory: one answer for every login, and a count of lookups. */
struct fake_dir {
    enum hm_lookup answer;
    const char *const *homes; /* NULL-terminated */
    unsigned lookups;
    unsigned searches; /* delegation searches */
};

/* A message's state, begun for LOGIN under POLICY with the fake FD. */
struct msg {
    struct cfg *cfg;
    struct fake_dir fd;
    struct check_msg m;
};

/* The home values of the fake entry: here; elsewhere, then here; elsewhere. */
extern const char *const homes_here[], *const homes_second[], *const homes_away[];

/* Extra keys of ldap = { } for the next load(): the delegation filters. */
extern const char *ldap_keys;

/* load - a configuration with POLICY's keys in policy = { }. */
struct cfg *load(const char *policy);

/* msg_begin - a message of LOGIN under POLICY, the fake directory answering ANSWER. */
void msg_begin(struct msg *t, const char *policy, enum hm_lookup answer,
               const char *const *homes, const char *login);
void msg_end(struct msg *t);

/* envelope - the envelope sender's verdict must be ACTION, reason keyword REASON. */
void envelope(struct msg *t, const char *sender, enum policy_action action,
              const char *reason);

/* header - a header field must give DECIDED decisions. */
void header(struct msg *t, const char *name, const char *value, size_t decided);

/* final - the end-of-DATA verdict: NULL SHOWN for an accept, else the address named. */
void final(struct msg *t, const char *field, const char *shown, const char *reason);

/* report - the report header's value must be WANT (NULL: none). */
void report(struct msg *t, const char *want);

/* mail_only - a message that ends at MAIL FROM, with the envelope's verdict. */
void mail_only(const char *policy, enum hm_lookup answer, const char *const *homes,
               const char *login, const char *sender, enum policy_action action,
               const char *reason);

/* The cases of test_check_more.c. */
void test_send_as(void **state);
void test_on_behalf(void **state);
void test_trusted_login(void **state);
void test_invalid_idna(void **state);
void test_held(void **state);

#endif

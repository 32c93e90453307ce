/*
 * policytest.h - what the two files of the test_policy program share
 * (test_policy.c, with main, and test_policy_more.c): the fake entries,
 * the configurations and the shorthand for stages, directory answers and
 * the reply text; included after <cmocka.h>
 */
#ifndef HM_POLICYTEST_H
#define HM_POLICYTEST_H

#include "cfg.h"
#include "entry.h"
#include "policy.h"

/* The entries of the fake directory (fake()); NONE: none. */
enum fake { NONE, JANE, JOHN, NOHOME, UPPER, DEVICE };

/* Shorthand of the decision table and of the cases outside it. */
#define MAIL     HM_STAGE_MAIL
#define HDR      HM_STAGE_HEADER
#define FOUND    HM_LOOKUP_FOUND
#define NOTF     HM_LOOKUP_NOT_FOUND
#define ERR      HM_LOOKUP_ERROR
#define AMB      HM_LOOKUP_AMBIGUOUS
#define NOTLOCAL "Mailbox is not local: "

/* load - a configuration in MODE, with the extra keys POLICY in policy = { }
 * and LDAP in ldap = { }; the caller unrefs it. */
struct cfg *load(const char *mode, const char *policy, const char *ldap);

/* fake - a new entry of the fake directory (NULL for NONE); the caller unrefs it. */
struct entry *fake(enum fake which);

/* The tests of test_policy_more.c, in the order they run. */
void test_long_address_cut(void **state);
void test_grants(void **state);
void test_prefixed(void **state);
void test_rdn(void **state);
void test_idna(void **state);
void test_is_local_and_owns(void **state);
void test_entry_refs(void **state);
void test_action_names(void **state);

#endif

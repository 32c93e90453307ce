/*
 * test_policy_more - the second file of the test_policy program: the
 * cases outside the decision table. A long hostile address cut in the
 * reply, delegation (which search a verdict asks for, what each answer
 * makes of it), AD's proxyAddresses, home_value "rdn", international
 * domains and the entry helpers the policy relies on; with
 * test_policy.c's configurations and fake entries (policytest.h).
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "address.h"
#include "cfg.h"
#include "entry.h"
#include "idna.h"
#include "policy.h"
#include "policytest.h"
#include "testutil.h"

/* A long hostile address is cut in the reply, which stays one sane line. */
void test_long_address_cut(void **state)
{
    struct cfg *cfg = load("enforce", "", "");
    struct entry *e = fake(JANE);
    size_t len = 100000;
    char *big = malloc(len + 32);
    struct addr parsed = {0};
    struct policy_request req = {
        .login = "janed", .stage = MAIL, .lookup = FOUND, .entry = e};
    struct policy_verdict v;
    const char *why;

    (void)state;
    assert_non_null(big);
    memset(big, 'a', len);
    strcpy(big + len, "@evil.test");
    assert_int_equal(addr_parse_envelope(big, strlen(big), &parsed, &why), 0);
    req.address = &parsed;
    req.written = parsed.written;
    assert_int_equal(policy_decide(cfg, &req, &v), 0);
    assert_int_equal(v.action, HM_REJECT);
    assert_true(strlen(v.text) < 300);
    assert_non_null(strstr(v.text, "..."));
    assert_null(strchr(v.text, '\n'));
    policy_verdict_clear(&v);
    addr_free(&parsed);
    free(big);
    entry_unref(e);
    cfg_unref(cfg);
}

/*
 * Delegation: which search a not-owned verdict asks for, and what each
 * answer makes of it (send as anywhere, on behalf in From: only).
 */
void test_grants(void **state)
{
    struct cfg *cfg = load("enforce", "",
                           "delegation_filter = \"(&(mail=%s)(seeAlso=%D))\";"
                           "on_behalf_filter = \"(&(mail=%s)(secretary=%D))\";");
    struct entry *jane = fake(JANE), *here = fake(NOHOME), *away = fake(JOHN);
    struct policy_grant found = {FOUND, here}, elsewhere = {FOUND, away},
                        none = {NOTF, NULL}, failed = {ERR, NULL}, two = {AMB, NULL};
    struct addr a = {0};
    struct policy_request req = {.login = "janed",
                                 .stage = HDR,
                                 .written = "bob@example.com",
                                 .address = &a,
                                 .lookup = FOUND,
                                 .entry = jane,
                                 .from = true};
    struct policy_verdict v;
    enum hm_right right;
    const char *why;

    (void)state;
    assert_int_equal(entry_add_home(here, "mail.example.com", 16), 0);
    assert_int_equal(addr_parse_envelope("<bob@example.com>", 17, &a, &why), 0);
    /* not owned: send as is asked first, then on behalf (From: only) */
    assert_int_equal(policy_decide(cfg, &req, &v), 0);
    assert_true(policy_wants(cfg, &req, &v, &right));
    assert_int_equal(right, HM_RIGHT_SEND_AS);
    policy_verdict_clear(&v);
    req.send_as = &found;
    assert_int_equal(policy_decide(cfg, &req, &v), 0);
    assert_string_equal(policy_reason_name(v.reason), "send-as");
    assert_string_equal(v.owner, here->dn);
    assert_false(policy_wants(cfg, &req, &v, &right));
    policy_verdict_clear(&v);
    req.send_as = &elsewhere; /* not homed here: grants nothing */
    assert_int_equal(policy_decide(cfg, &req, &v), 0);
    assert_string_equal(policy_reason_name(v.reason), "not-owned");
    assert_true(policy_wants(cfg, &req, &v, &right));
    assert_int_equal(right, HM_RIGHT_ON_BEHALF);
    policy_verdict_clear(&v);
    req.on_behalf = &found;
    assert_int_equal(policy_decide(cfg, &req, &v), 0);
    assert_string_equal(policy_reason_name(v.reason), "on-behalf");
    assert_int_equal(v.action, HM_ACCEPT);
    assert_string_equal(v.text, NOTLOCAL "bob@example.com"); /* what it becomes without */
    policy_verdict_clear(&v);
    req.from = false; /* not From: on behalf counts for nothing */
    assert_int_equal(policy_decide(cfg, &req, &v), 0);
    assert_string_equal(policy_reason_name(v.reason), "not-owned");
    assert_false(policy_wants(cfg, &req, &v, &right));
    policy_verdict_clear(&v);
    req.send_as = &failed; /* no answer, or two entries: on_directory_error */
    assert_int_equal(policy_decide(cfg, &req, &v), 0);
    assert_string_equal(policy_reason_name(v.reason), "directory-error");
    assert_int_equal(v.action, HM_TEMPFAIL);
    policy_verdict_clear(&v);
    req.send_as = &two;
    assert_int_equal(policy_decide(cfg, &req, &v), 0);
    assert_string_equal(policy_reason_name(v.reason), "directory-error");
    policy_verdict_clear(&v);
    req.send_as = &none;
    assert_int_equal(policy_decide(cfg, &req, &v), 0);
    assert_string_equal(policy_reason_name(v.reason), "not-owned");
    policy_verdict_clear(&v);
    addr_free(&a);
    entry_unref(jane);
    entry_unref(here);
    entry_unref(away);
    cfg_unref(cfg);
}

/* AD's proxyAddresses: only smtp: values, in any case, without the prefix. */
void test_prefixed(void **state)
{
    static const char *const values[] = {
        "SMTP:jane.doe@example.test",
        "smtp:jd@example.test",
        "SmTp:Mixed@example.test",
        "X500:/o=Org/ou=Exchange/cn=Recipients/cn=jdoe",
        "SIP:jdoe@example.test",
        "x400:c=US;a= ;p=Org;o=Exchange;s=Doe;",
        "smtp:",
        "SMTP",
        "smtpx:a@b",
        "jd@example.test",
        "SMTP:JD@example.test", /* held already: once */
    };
    static const char *const kept[] = {"jane.doe@example.test", "jd@example.test",
                                       "Mixed@example.test"};
    struct entry *e = entry_new("CN=Jane Doe,CN=Users,DC=ad,DC=example,DC=test");
    size_t i;

    (void)state;
    assert_non_null(e);
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++)
        assert_int_equal(entry_add_prefixed(e, values[i], strlen(values[i])), 0);
    assert_int_equal(e->naddresses, sizeof(kept) / sizeof(kept[0]));
    for (i = 0; i < e->naddresses; i++)
        assert_string_equal(e->addresses[i], kept[i]);
    entry_unref(e);
}

/* home_value "rdn": the most specific RDN's value, and what is local by it. */
void test_rdn(void **state)
{
    static const struct {
        const char *home, *rdn;
    } cases[] = {
        {"/o=Org/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Configuration/"
         "cn=Servers/cn=EXCH01",
         "EXCH01"},
        {"CN=EXCH01,CN=Servers,CN=Exchange Administrative Group,CN=Configuration",
         "EXCH01"},
        {"cn=Mailbox Database 0123456789,cn=Databases,o=Org",
         "Mailbox Database 0123456789"},
        {"CN=Doe\\, Jane,OU=Users,DC=x", "Doe, Jane"},
        {"CN=Doe\\2C Jane,OU=Users", "Doe, Jane"},
        {"CN = EXCH01 ,CN=Servers", "EXCH01"},
        {"cn=A+ou=B,dc=x", "A"},
        {"cn=A\\+B,dc=x", "A+B"},
        {"cn=trailing\\ ,dc=x", "trailing "},
        {"mail.example.com", "mail.example.com"},                 /* no DN: as it is */
        {"cn=MAIL1\\00x,cn=Servers", "cn=MAIL1\\00x,cn=Servers"}, /* never MAIL1 */
        {"/o=Org/cn=Servers/", "/o=Org/cn=Servers/"},
        {"", ""},
    };
    struct cfg *cfg;
    struct entry *e;
    size_t i;
    char *rdn;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        rdn = policy_rdn(cases[i].home);
        assert_non_null(rdn);
        if (strcmp(rdn, cases[i].rdn) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].home, rdn, cases[i].rdn);
        free(rdn);
    }
    cfg = test_config("local_hosts = [ \"exch01\", \"Mailbox Database 0123456789\" ];\n"
                      "ldap = { base = \"dc=x\"; home_value = \"rdn\"; };\n");
    e = entry_new("cn=x");
    assert_non_null(e);
    assert_false(policy_is_local(cfg, e));
    assert_int_equal(entry_add_home(e, cases[1].home, strlen(cases[1].home)), 0);
    assert_true(policy_is_local(cfg, e)); /* EXCH01, case aside */
    entry_unref(e);
    e = entry_new("cn=y"); /* an earlier component equal to a local host does not count */
    assert_non_null(e);
    assert_int_equal(entry_add_home(e, "/o=Org/cn=EXCH01/cn=Servers/cn=EXCH02", 37), 0);
    assert_false(policy_is_local(cfg, e));
    entry_unref(e);
    cfg_unref(cfg);
}

/* International domains: which are, their ASCII form, what compares equal. */
void test_idna(void **state)
{
    static const struct {
        const char *a, *b;
        bool same;
    } pairs[] = {
        {"b\xc3\xbc"
         "cher.example",
         "xn--bcher-kva.example", true},
        {"B\xc3\x9c"
         "CHER.Example",
         "XN--BCHER-KVA.example", true},
        {"xn--bcher-kva.example", "xn--BCHER-kva.EXAMPLE", true},
        {"example.com", "EXAMPLE.com", true},
        {"b\xc3\xbc"
         "cher.example",
         "bucher.example", false},
        {"xn--zz.example", "xn--zz.example", true}, /* invalid: only its own text */
        {"xn--zz.example", "xn--zz.example.org", false},
        {"a_b.example", "a_b.example", true},
    };
    static const char *const bad[] = {"xn--zz.example", "xn--.example",
                                      "b\xc3\xbc"
                                      "cher.-x",
                                      "xn--bcher-kvb.example"};
    const char *why;
    char *ascii;
    size_t i;

    (void)state;
    assert_false(idna_is_international("example.com", 11));
    assert_false(
        idna_is_international("axn--b.example", 14)); /* not at a label's start */
    assert_true(idna_is_international("a.XN--b.example", 15));
    assert_true(idna_is_international("\xc3\xbc", 2));
    for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
        if (idna_same_domain(pairs[i].a, strlen(pairs[i].a), pairs[i].b,
                             strlen(pairs[i].b)) != pairs[i].same)
            fail_msg("%s and %s: not %s", pairs[i].a, pairs[i].b,
                     pairs[i].same ? "one" : "two");
    assert_int_equal(idna_ascii("M\xc3\xbcller.Example", 15, &ascii, &why), 0);
    assert_string_equal(ascii, "xn--mller-kva.example");
    free(ascii);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        if (idna_ascii(bad[i], strlen(bad[i]), &ascii, &why) != -1 || why == NULL ||
            ascii != NULL)
            fail_msg("%s: taken as a valid international name", bad[i]);
    }
}

/* The entry helpers the policy relies on. */
void test_is_local_and_owns(void **state)
{
    struct cfg *cfg = load("enforce", "", "");
    struct entry *jane = fake(JANE), *john = fake(JOHN);
    struct addr a = {0};
    const char *why;

    (void)state;
    assert_true(policy_is_local(cfg, jane));
    assert_false(policy_is_local(cfg, john));
    assert_int_equal(addr_parse_envelope("<jane.doe@example.com>", 22, &a, &why), 0);
    assert_true(policy_owns(cfg, jane, &a));
    assert_false(policy_owns(cfg, john, &a));
    addr_free(&a);
    assert_int_equal(addr_parse_envelope("<x@example.net>", 15, &a, &why), 0);
    assert_true(policy_owns(cfg, jane, &a)); /* "@example.net" owns its domain */
    assert_string_equal(policy_owner(cfg, jane, &a), "@example.net");
    addr_free(&a);
    assert_int_equal(addr_parse_envelope("<jane@xn--bcher-kva.example>", 28, &a, &why),
                     0);
    assert_string_equal(policy_owner(cfg, jane, &a), "jane@xn--bcher-kva.example");
    addr_free(&a);
    assert_int_equal(addr_parse_envelope("<>", 2, &a, &why), 0);
    assert_false(policy_owns(cfg, jane, &a));
    addr_free(&a);
    assert_false(policy_owns(cfg, jane, NULL));
    entry_unref(jane);
    entry_unref(john);
    cfg_unref(cfg);
}

void test_entry_refs(void **state)
{
    struct entry *e = entry_new("cn=x");

    (void)state;
    assert_non_null(e);
    assert_int_equal(entry_add_address(e, "a\0b@x", 5), 0); /* skipped: NUL */
    assert_int_equal(entry_add_address(e, "", 0), 0);       /* skipped: empty */
    assert_int_equal(entry_add_address(e, "a@x", 3), 0);
    assert_int_equal(e->naddresses, 1);
    assert_ptr_equal(entry_ref(e), e);
    entry_unref(e);
    assert_string_equal(e->addresses[0], "a@x");
    entry_unref(e);
    entry_unref(NULL);
}

void test_action_names(void **state)
{
    (void)state;
    assert_string_equal(policy_action_name(HM_ACCEPT), "accept");
    assert_string_equal(policy_action_name(HM_REJECT), "reject");
    assert_string_equal(policy_action_name(HM_TEMPFAIL), "tempfail");
    assert_string_equal(policy_action_name((enum policy_action)7), "unknown");
}

/*
 * test_policy - the decision table (homed-milter(8) DESCRIPTION and the
 * policy keys of homed-milter.conf(5)), row by row, in enforce
 * and in report mode, with fake directory answers. The cases outside
 * the table (a long address cut in the reply, delegation, AD's
 * proxyAddresses, home_value "rdn", international domains, the entry
 * helpers) are in test_policy_more.c, the second file of this program;
 * main() here runs the tests of both (policytest.h).
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "address.h"
#include "cfg.h"
#include "entry.h"
#include "policy.h"
#include "policytest.h"
#include "testutil.h"

struct row {
    const char *name;
    const char *policy; /* extra keys in policy = { } */
    const char *ldap;   /* extra keys in ldap = { } */
    const char *login;  /* NULL: not authenticated */
    enum policy_stage stage;
    const char *written; /* as the client wrote it; parsed as envelope or header */
    enum hm_lookup lookup;
    enum fake entry;
    enum policy_action action;        /* enforce mode */
    enum policy_action report_action; /* report mode */
    const char *code, *xcode, *text, *reason;
};

#define A HM_ACCEPT
#define R HM_REJECT
#define T HM_TEMPFAIL

static const struct row rows[] = {
    /* not authenticated */
    {"unauth, default accept", "", "", NULL, MAIL, "x@y.org", NOTF, NONE, A, A, NULL,
     NULL, NULL, "unauthenticated"},
    {"unauth, reject", "unauthenticated = \"reject\";", "", NULL, MAIL, "x@y.org", NOTF,
     NONE, R, A, "554", "5.7.1", "Authentication required to submit mail",
     "unauthenticated"},
    /* no entry, not local */
    {"no entry", "", "", "ghost", MAIL, "ghost@example.com", NOTF, NONE, R, A, "554",
     "5.7.1", NOTLOCAL "ghost@example.com", "no-entry"},
    {"no entry, null sender", "", "", "ghost", MAIL, "<>", NOTF, NONE, R, A, "554",
     "5.7.1", NOTLOCAL "<>", "no-entry"},
    {"not homed", "", "", "johnd", MAIL, "<JohnD@COMPANY1.com>", FOUND, JOHN, R, A, "554",
     "5.7.1", NOTLOCAL "JohnD@COMPANY1.com", "not-homed"},
    {"no home value", "", "", "nohome", MAIL, "nohome@example.com", FOUND, NOHOME, R, A,
     "554", "5.7.1", NOTLOCAL "nohome@example.com", "not-homed"},
    {"home check off", "", "home_attribute = \"\";", "johnd", MAIL, "JohnD@COMPANY1.com",
     FOUND, JOHN, A, A, NULL, NULL, NULL, "owned"},
    {"home upper case, trailing dot", "", "", "jane", MAIL, "jane@example.com", FOUND,
     UPPER, A, A, NULL, NULL, NULL, "owned"},
    {"not homed at header", "", "", "johnd", HDR, "JohnD@COMPANY1.com", FOUND, JOHN, R, A,
     "554", "5.7.1", NOTLOCAL "JohnD@COMPANY1.com", "not-homed"},
    /* envelope sender */
    {"owned", "", "", "janed", MAIL, "<janed@example.com>", FOUND, JANE, A, A, NULL, NULL,
     NULL, "owned"},
    {"owned alias, other case", "", "", "janed", MAIL, "<Jane.Doe@EXAMPLE.com>", FOUND,
     JANE, A, A, NULL, NULL, NULL, "owned"},
    {"owned, quoted local part", "", "", "janed", MAIL, "<\"janed\"@example.com>", FOUND,
     JANE, A, A, NULL, NULL, NULL, "owned"},
    {"not owned", "", "", "janed", MAIL, "<JohnD@COMPANY1.com>", FOUND, JANE, R, A, "554",
     "5.7.1", NOTLOCAL "JohnD@COMPANY1.com", "not-owned"},
    {"not owned: same local, other domain", "", "", "janed", MAIL, "janed@example.org",
     FOUND, JANE, R, A, "554", "5.7.1", NOTLOCAL "janed@example.org", "not-owned"},
    {"not owned: quoted @ trick", "", "", "janed", MAIL,
     "<\"janed@example.com\"@evil.test>", FOUND, JANE, R, A, "554", "5.7.1",
     NOTLOCAL "\"janed@example.com\"@evil.test", "not-owned"},
    {"null sender", "", "", "janed", MAIL, "<>", FOUND, JANE, A, A, NULL, NULL, NULL,
     "null-sender"},
    {"check_envelope off", "check_envelope = false;", "", "janed", MAIL, "<x@evil.test>",
     FOUND, JANE, A, A, NULL, NULL, NULL, "not-checked"},
    {"check_envelope off, not homed", "check_envelope = false;", "", "johnd", MAIL,
     "<x@evil.test>", FOUND, JOHN, R, A, "554", "5.7.1", NOTLOCAL "x@evil.test",
     "not-homed"},
    {"malformed envelope", "", "", "janed", MAIL, "<janed@example.com", FOUND, JANE, R, A,
     "554", "5.7.1", NOTLOCAL "<janed@example.com", "malformed"},
    /* extensions */
    {"extension, no delimiter", "", "", "janed", MAIL, "janed+x@example.com", FOUND, JANE,
     R, A, "554", "5.7.1", NOTLOCAL "janed+x@example.com", "not-owned"},
    {"extension owned", "extension_delimiter = \"+\";", "", "janed", MAIL,
     "janed+lists@example.com", FOUND, JANE, A, A, NULL, NULL, NULL, "owned"},
    {"extension of another", "extension_delimiter = \"+\";", "", "janed", MAIL,
     "johnd+x@company1.com", FOUND, JANE, R, A, "554", "5.7.1",
     NOTLOCAL "johnd+x@company1.com", "not-owned"},
    {"delimiter first is no extension", "extension_delimiter = \"+\";", "", "janed", MAIL,
     "+janed@example.com", FOUND, JANE, R, A, "554", "5.7.1",
     NOTLOCAL "+janed@example.com", "not-owned"},
    {"extension holding @", "extension_delimiter = \"+\";", "", "janed", HDR,
     "\"janed+JohnD@COMPANY1.com\"@example.com", FOUND, JANE, R, A, "554", "5.7.1",
     NOTLOCAL "\"janed+JohnD@COMPANY1.com\"@example.com", "malformed"},
    {"extension holding a blank", "extension_delimiter = \"+\";", "", "janed", MAIL,
     "<\"janed+a b\"@example.com>", FOUND, JANE, R, A, "554", "5.7.1",
     NOTLOCAL "\"janed+a b\"@example.com", "malformed"},
    {"extension holding '<'", "extension_delimiter = \"+\";", "", "janed", HDR,
     "\"janed+<x>\"@example.com", FOUND, JANE, R, A, "554", "5.7.1",
     NOTLOCAL "\"janed+<x>\"@example.com", "malformed"},
    {"quoted local part without a delimiter", "", "", "janed", HDR,
     "\"janed+JohnD@COMPANY1.com\"@example.com", FOUND, JANE, R, A, "554", "5.7.1",
     NOTLOCAL "\"janed+JohnD@COMPANY1.com\"@example.com", "not-owned"},
    /* header addresses */
    {"header owned", "", "", "janed", HDR, "Jane Doe <janed@example.com>", FOUND, JANE, A,
     A, NULL, NULL, NULL, "owned"},
    {"header not owned", "", "", "janed", HDR, "\"John\" <JohnD@COMPANY1.com>", FOUND,
     JANE, R, A, "554", "5.7.1", NOTLOCAL "JohnD@COMPANY1.com", "not-owned"},
    {"header malformed", "", "", "janed", HDR, "Jane <janed@example.com", FOUND, JANE, R,
     A, "554", "5.7.1", NOTLOCAL "Jane <janed@example.com", "malformed"},
    {"header check ignores check_envelope", "check_envelope = false;", "", "janed", HDR,
     "x@evil.test", FOUND, JANE, R, A, "554", "5.7.1", NOTLOCAL "x@evil.test",
     "not-owned"},
    /* directory errors */
    {"dir error, tempfail", "", "", "janed", MAIL, "janed@example.com", ERR, NONE, T, T,
     "451", "4.3.0", "Directory unavailable, try again later", "directory-error"},
    {"dir error at header", "", "", "janed", HDR, "janed@example.com", ERR, NONE, T, T,
     "451", "4.3.0", "Directory unavailable, try again later", "directory-error"},
    {"dir error, accept", "on_directory_error = \"accept\";", "", "janed", MAIL,
     "x@evil.test", ERR, NONE, A, A, NULL, NULL, NULL, "directory-error"},
    {"dir error, reject", "on_directory_error = \"reject\";", "", "janed", MAIL,
     "janed@example.com", ERR, NONE, R, R, "554", "5.7.1", NOTLOCAL "janed@example.com",
     "directory-error"},
    {"ambiguous login", "", "", "twin", MAIL, "twin@example.com", AMB, NONE, T, T, "451",
     "4.3.0", "Directory unavailable, try again later", "directory-error"},
    {"ambiguous login, on_directory_error accept", "on_directory_error = \"accept\";", "",
     "twin", MAIL, "twin@example.com", AMB, NONE, T, T, "451", "4.3.0",
     "Directory unavailable, try again later", "directory-error"},
    {"ambiguous login, on_directory_error reject", "on_directory_error = \"reject\";", "",
     "twin", HDR, "twin@example.com", AMB, NONE, T, T, "451", "4.3.0",
     "Directory unavailable, try again later", "directory-error"},
    {"dir error, unauthenticated first", "", "", NULL, MAIL, "x@y.org", ERR, NONE, A, A,
     NULL, NULL, NULL, "unauthenticated"},
    /* reply text */
    {"own reject_text", "reject_text = \"Sender %s denied (100%%)\";", "", "janed", MAIL,
     "x@evil.test", FOUND, JANE, R, A, "554", "5.7.1", "Sender x@evil.test denied (100%)",
     "not-owned"},
    {"reject_text without %s", "reject_text = \"Not yours\";", "", "janed", MAIL,
     "x@evil.test", FOUND, JANE, R, A, "554", "5.7.1", "Not yours", "not-owned"},
    {"control bytes made printable", "", "", "janed", HDR, "\"a\tb\"@evil.test", FOUND,
     JANE, R, A, "554", "5.7.1", NOTLOCAL "\"a?b\"@evil.test", "not-owned"},
    {"UTF-8 made printable", "", "", "janed", HDR, "j\xc3\xa9@evil.test", FOUND, JANE, R,
     A, "554", "5.7.1", NOTLOCAL "j??@evil.test", "not-owned"},
/* a reply text per reason; %u is the login */
#define TEXTS                                                                            \
    "reject_text = \"R %u %s\"; reject_text_no_entry = \"No entry for %u (%s)\"; "       \
    "reject_text_not_homed = \"%u is homed elsewhere: %s\"; "                            \
    "reject_text_not_owned = \"%s is not %u's (100%%)\"; "                               \
    "reject_text_malformed = \"Cannot read %s\";"
    {"text no-entry", TEXTS, "", "ghost", MAIL, "<ghost@example.com>", NOTF, NONE, R, A,
     "554", "5.7.1", "No entry for ghost (ghost@example.com)", "no-entry"},
    {"text not-homed", TEXTS, "", "johnd", MAIL, "<JohnD@COMPANY1.com>", FOUND, JOHN, R,
     A, "554", "5.7.1", "johnd is homed elsewhere: JohnD@COMPANY1.com", "not-homed"},
    {"text not-owned", TEXTS, "", "janed", HDR, "\"John\" <JohnD@COMPANY1.com>", FOUND,
     JANE, R, A, "554", "5.7.1", "JohnD@COMPANY1.com is not janed's (100%)", "not-owned"},
    {"text malformed", TEXTS, "", "janed", HDR, "Jane <janed@example.com", FOUND, JANE, R,
     A, "554", "5.7.1", "Cannot read Jane <janed@example.com", "malformed"},
    {"text malformed extension", "extension_delimiter = \"+\"; " TEXTS, "", "janed", MAIL,
     "<\"janed+a b\"@example.com>", FOUND, JANE, R, A, "554", "5.7.1",
     "Cannot read \"janed+a b\"@example.com", "malformed"},
    {"text directory error, reject", "on_directory_error = \"reject\"; " TEXTS, "",
     "janed", MAIL, "<janed@example.com>", ERR, NONE, R, R, "554", "5.7.1",
     "R janed janed@example.com", "directory-error"},
    {"text unset: reject_text",
     "reject_text = \"%u: %s\"; reject_text_not_owned = \"N\";", "", "janed", MAIL,
     "<x@evil.test>", FOUND, JOHN, R, A, "554", "5.7.1", "janed: x@evil.test",
     "not-homed"},
    {"text login made printable", "reject_text_no_entry = \"No %u\";", "",
     "gh\xc3\xb6st\t", MAIL, "<x@evil.test>", NOTF, NONE, R, A, "554", "5.7.1",
     "No gh??st?", "no-entry"},
    {"text unauthenticated keeps its own", "unauthenticated = \"reject\"; " TEXTS, "",
     NULL, MAIL, "x@y.org", NOTF, NONE, R, A, "554", "5.7.1",
     "Authentication required to submit mail", "unauthenticated"},
#undef TEXTS
    /* "@domain" owns its domain, and only it */
    {"@domain owns the domain", "", "", "janed", HDR, "anyone@example.net", FOUND, JANE,
     A, A, NULL, NULL, NULL, "owned"},
    {"@domain, upper case", "", "", "janed", MAIL, "<Front-Desk@EXAMPLE.NET>", FOUND,
     JANE, A, A, NULL, NULL, NULL, "owned"},
    {"@domain not a subdomain", "", "", "janed", HDR, "x@sub.example.net", FOUND, JANE, R,
     A, "554", "5.7.1", NOTLOCAL "x@sub.example.net", "not-owned"},
    {"@domain not another domain", "", "", "janed", HDR, "x@otherexample.net", FOUND,
     JANE, R, A, "554", "5.7.1", NOTLOCAL "x@otherexample.net", "not-owned"},
    {"@domain needs a homed entry", "", "", "johnd", HDR, "x@example.org", FOUND, DEVICE,
     R, A, "554", "5.7.1", NOTLOCAL "x@example.org", "not-homed"},
    {"a value without '@' owns nothing", "", "", "janed", HDR, "no-at-sign@example.com",
     FOUND, JANE, R, A, "554", "5.7.1", NOTLOCAL "no-at-sign@example.com", "not-owned"},
    /* international domains: U-label and A-label are one */
    {"IDNA: U-label sent, A-label stored", "", "", "janed", MAIL,
     "<jane@b\xc3\xbc"
     "cher.example>",
     FOUND, JANE, A, A, NULL, NULL, NULL, "owned"},
    {"IDNA: A-label sent, U-label stored", "", "", "janed", HDR,
     "jane@xn--mller-kva.example", FOUND, JANE, A, A, NULL, NULL, NULL, "owned"},
    {"IDNA: A-label in upper case", "", "", "janed", HDR, "JANE@XN--BCHER-KVA.EXAMPLE",
     FOUND, JANE, A, A, NULL, NULL, NULL, "owned"},
    {"IDNA: U-label in upper case", "", "", "janed", HDR,
     "jane@M\xc3\x9c"
     "LLER.example",
     FOUND, JANE, A, A, NULL, NULL, NULL, "owned"},
    {"IDNA: another name", "", "", "janed", HDR, "jane@xn--bcher-kvb.example", FOUND,
     JANE, R, A, "554", "5.7.1", NOTLOCAL "jane@xn--bcher-kvb.example", "not-owned"},
    {"UTF-8 local part exactly", "", "", "janed", MAIL, "<j\xc3\xb6rg@example.com>",
     FOUND, JANE, A, A, NULL, NULL, NULL, "owned"},
    {"UTF-8 local part, other case", "", "", "janed", MAIL, "<J\xc3\x96rg@example.com>",
     FOUND, JANE, R, A, "554", "5.7.1", NOTLOCAL "J??rg@example.com", "not-owned"},
    /* trusted logins */
    {"trusted login", "trusted_logins = [ \"lists\" ];", "", "lists", HDR,
     "anyone@evil.test", ERR, NONE, A, A, NULL, NULL, NULL, "trusted-login"},
    {"trusted login, exact match", "trusted_logins = [ \"lists\" ];", "", "Lists", MAIL,
     "<anyone@evil.test>", NOTF, NONE, R, A, "554", "5.7.1", NOTLOCAL "anyone@evil.test",
     "no-entry"},
};

#define BASE_CONFIG                                                                      \
    "local_hosts = [ \"mail.example.com\", \"mx2.example.com\" ];\n"                     \
    "ldap = { base = \"ou=people,dc=example,dc=com\"; %s };\n"                           \
    "policy = { mode = \"%s\"; %s };\n"

struct cfg *load(const char *mode, const char *policy, const char *ldap)
{
    return test_config(BASE_CONFIG, ldap, mode, policy);
}

struct entry *fake(enum fake which)
{
    struct entry *e = NULL;

#define ADD(f, v) assert_int_equal(f(e, v, strlen(v)), 0)
    switch (which) {
    case NONE:
        return NULL;
    case JANE:
    case UPPER:
        e = entry_new("uid=janed,ou=people,dc=example,dc=com");
        ADD(entry_add_address, "janed@example.com");
        ADD(entry_add_address, "jane.doe@example.com");
        ADD(entry_add_address, "no-at-sign");
        ADD(entry_add_address, "@example.net");
        ADD(entry_add_home, which == UPPER ? "MX2.Example.COM." : "mail.example.com");
        if (which == UPPER)
            ADD(entry_add_address, "jane@example.com");
        ADD(entry_add_address, "jane@xn--bcher-kva.example");
        ADD(entry_add_address, "jane@m\xc3\xbcller.example");
        ADD(entry_add_address, "j\xc3\xb6rg@example.com");
        break;
    case DEVICE:
        e = entry_new("uid=scanner,ou=devices,dc=example,dc=com");
        ADD(entry_add_address, "@example.org");
        ADD(entry_add_home, "mail.company1.com");
        break;
    case JOHN:
        e = entry_new("uid=johnd,ou=people,dc=example,dc=com");
        ADD(entry_add_address, "JohnD@COMPANY1.com");
        ADD(entry_add_home, "mail.company1.com");
        ADD(entry_add_home, "mail.example.com.evil.test");
        break;
    case NOHOME:
        e = entry_new("uid=nohome,ou=people,dc=example,dc=com");
        ADD(entry_add_address, "nohome@example.com");
        break;
    }
#undef ADD
    assert_non_null(e);
    return e;
}

static void check_row(const struct row *r, bool report)
{
    struct cfg *cfg = load(report ? "report" : "enforce", r->policy, r->ldap);
    struct entry *e = fake(r->entry);
    struct addr parsed = {0};
    struct addr_list list = {0};
    struct policy_request req = {.login = r->login,
                                 .stage = r->stage,
                                 .written = r->written,
                                 .lookup = r->lookup,
                                 .entry = e};
    struct policy_verdict v;
    const char *why;

    if (r->stage == HDR) {
        if (addr_parse_list(r->written, strlen(r->written), &list, &why) == 0) {
            assert_int_equal(list.n, 1);
            req.address = &list.v[0];
            req.written = list.v[0].written;
        }
    } else if (addr_parse_envelope(r->written, strlen(r->written), &parsed, &why) == 0) {
        req.address = &parsed;
    }
    assert_int_equal(policy_decide(cfg, &req, &v), 0);
    if (v.action != (report ? r->report_action : r->action) ||
        strcmp(policy_reason_name(v.reason), r->reason))
        fail_msg("%s (%s): got %s/%s", r->name, report ? "report" : "enforce",
                 policy_action_name(v.action), policy_reason_name(v.reason));
    assert_int_equal(v.decision, r->action);
    if (r->code == NULL) {
        assert_null(v.code);
        assert_null(v.text);
    } else {
        assert_string_equal(v.code, r->code);
        assert_string_equal(v.xcode, r->xcode);
        assert_string_equal(v.text, r->text);
    }
    policy_verdict_clear(&v);
    addr_free(&parsed);
    addr_list_free(&list);
    entry_unref(e);
    cfg_unref(cfg);
}

static void test_row_enforce(void **state)
{
    check_row(*state, false);
}

static void test_row_report(void **state)
{
    check_row(*state, true);
}

#define NROWS (sizeof(rows) / sizeof(rows[0]))

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_long_address_cut),
        cmocka_unit_test(test_grants),
        cmocka_unit_test(test_prefixed),
        cmocka_unit_test(test_rdn),
        cmocka_unit_test(test_idna),
        cmocka_unit_test(test_is_local_and_owns),
        cmocka_unit_test(test_entry_refs),
        cmocka_unit_test(test_action_names),
    };
    const size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
    struct CMUnitTest tests[2 * NROWS + sizeof(fixed) / sizeof(fixed[0])];
    char names[2 * NROWS][96];
    size_t i;

    /* One test per row and mode, so that each is counted and named. */
    for (i = 0; i < 2 * NROWS; i++) {
        snprintf(names[i], sizeof(names[i]), "%s: %s", i % 2 ? "report" : "enforce",
                 rows[i / 2].name);
        tests[i] =
            (struct CMUnitTest){names[i], i % 2 ? test_row_report : test_row_enforce,
                                NULL, NULL, (void *)&rows[i / 2]};
    }
    for (i = 0; i < nfixed; i++)
        tests[2 * NROWS + i] = fixed[i];
    return _cmocka_run_group_tests("policy", tests, 2 * NROWS + nfixed, NULL, NULL);
}

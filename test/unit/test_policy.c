/*
 * test_policy - the decision table (homed-milter(8) DESCRIPTION and the
 * policy keys of homed-milter.conf(5)), row by row, in enforce
 * and in report mode, with fake directory answers.
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
#include "testutil.h"

enum fake { NONE, JANE, JOHN, NOHOME, UPPER, DEVICE };

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

#define A        HM_ACCEPT
#define R        HM_REJECT
#define T        HM_TEMPFAIL
#define MAIL     HM_STAGE_MAIL
#define HDR      HM_STAGE_HEADER
#define FOUND    HM_LOOKUP_FOUND
#define NOTF     HM_LOOKUP_NOT_FOUND
#define ERR      HM_LOOKUP_ERROR
#define AMB      HM_LOOKUP_AMBIGUOUS
#define NOTLOCAL "Mailbox is not local: "

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

static struct cfg *load(const char *mode, const char *policy, const char *ldap)
{
    return test_config(BASE_CONFIG, ldap, mode, policy);
}

static struct entry *fake(enum fake which)
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

/* A long hostile address is cut in the reply, which stays one sane line. */
static void test_long_address_cut(void **state)
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
static void test_grants(void **state)
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
static void test_prefixed(void **state)
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
static void test_rdn(void **state)
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
static void test_idna(void **state)
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
static void test_is_local_and_owns(void **state)
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

static void test_entry_refs(void **state)
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

static void test_action_names(void **state)
{
    (void)state;
    assert_string_equal(policy_action_name(HM_ACCEPT), "accept");
    assert_string_equal(policy_action_name(HM_REJECT), "reject");
    assert_string_equal(policy_action_name(HM_TEMPFAIL), "tempfail");
    assert_string_equal(policy_action_name((enum policy_action)7), "unknown");
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

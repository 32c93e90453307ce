/*
 * test_eight - the 8-bit rule (the second seed): its pieces (what MAIL
 * FROM's ESMTP arguments declare, a byte >= 0x80 wherever it is, the
 * recipient domains whose next hop takes 7-bit only), and whole messages
 * through check: every reply, which rule wins, report mode, what is read
 * and what is declined.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "check.h"
#include "eight.h"
#include "testutil.h"

/* declared - eight_declared() of the arguments A, B (NULL: fewer). */
static bool declared(const char *a, const char *b)
{
    char *args[] = {(char *)a, (char *)b, NULL};

    return eight_declared(args);
}

/* ESMTP arguments as xxfi_envfrom gets them after the sender. */
static void test_declared(void **state)
{
    static const char *const yes[] = {"BODY=8BITMIME", "body=8bitmime", "BODY=BINARYMIME",
                                      "SMTPUTF8",      "smtputf8",      "Body=8BitMime"};
    /* BODY=7BIT, other arguments, garbage and near misses declare nothing */
    static const char *const no[] = {"BODY=7BIT",      "SIZE=1000",      "AUTH=<>",
                                     "BODY=8BITMIMEX", "BODY= 8BITMIME", "BODY",
                                     "8BITMIME",       "SMTPUTF8=yes",   ""};
    size_t i;

    (void)state;
    assert_false(eight_declared(NULL));
    assert_false(declared(NULL, NULL));
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        if (!declared(yes[i], NULL) || !declared("SIZE=1000", yes[i]))
            fail_msg("%s: not taken as declaring 8-bit data", yes[i]);
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (declared(no[i], NULL) || declared(no[i], "AUTH=<>"))
            fail_msg("\"%s\": taken as declaring 8-bit data", no[i]);
}

/* A byte >= 0x80 anywhere: first, last, alone, in a name or a value. */
static void test_found(void **state)
{
    unsigned char big[70000];
    size_t i;

    (void)state;
    assert_false(eight_found("", 0));
    assert_false(eight_found("From: Jane <janed@example.com>\r\n", 32));
    assert_true(eight_found("J\xc3\xa9r\xc3\xb4me", 8)); /* in a value */
    assert_true(eight_found("X-Caf\xe9", 6));            /* in a header name */
    assert_true(eight_found("\x80", 1));                 /* the lowest 8-bit byte */
    assert_false(eight_found("\x7f\x01\x09", 3));        /* DEL and controls are 7-bit */
    assert_false(eight_found("a\0b", 3));   /* a NUL does not stop the scan... */
    assert_true(eight_found("a\0\xff", 3)); /* ...which reads past it */
    memset(big, 'a', sizeof(big));
    assert_false(eight_found(big, sizeof(big)));
    for (i = 0; i < sizeof(big); i += 9973) { /* anywhere in a big chunk */
        big[i] = 0xa0;
        assert_true(eight_found(big, sizeof(big)));
        assert_true(eight_found(big + i, 1));
        assert_false(i > 0 && eight_found(big, i)); /* not before it */
        big[i] = 'a';
    }
    big[sizeof(big) - 1] = 0xfe;
    assert_true(eight_found(big, sizeof(big)));
    assert_false(eight_found(big, sizeof(big) - 1));
}

/* Every offset of every length up to 200: the word and block steps and the tail. */
static void test_found_everywhere(void **state)
{
    unsigned char buf[200];
    size_t len, at;

    (void)state;
    memset(buf, 0x7f, sizeof(buf));
    for (len = 0; len <= sizeof(buf); len++) {
        assert_false(eight_found(buf, len));
        for (at = 0; at < len; at++) {
            buf[at] = 0x80;
            if (!eight_found(buf, len) || eight_found(buf, at) ||
                !eight_found(buf + at, len - at) ||
                eight_found(buf + at + 1, len - at - 1))
                fail_msg("byte 0x80 at %zu of %zu", at, len);
            buf[at] = 0x7f;
        }
    }
}

/*
 * Across chunk boundaries: a message is 8-bit when any chunk is, however
 * the MTA cuts it, so a multibyte character split in two is found in its
 * first half already.
 */
static void test_chunks(void **state)
{
    const char *body = "line one\r\nJ\xc3\xa9r\xc3\xb4me\r\nend\r\n";
    size_t len = strlen(body), cut;

    (void)state;
    for (cut = 0; cut <= len; cut++) {
        bool first = eight_found(body, cut), second = eight_found(body + cut, len - cut);

        assert_true(first || second);
        assert_int_equal(first, cut > 11); /* the first 8-bit byte is body[11] */
    }
}

/* The recipient domains under a listed 7-bit-only domain, and those that are not. */
static void test_domain(void **state)
{
    static const struct {
        const char *domain;
        const char *listed; /* the list's entry it falls under; NULL: none */
    } cases[] = {
        {"domino.example.com", "domino.example.com"},
        {"DOMINO.Example.COM", "domino.example.com"},
        {"domino.example.com.", "domino.example.com"},
        {"mail.domino.example.com", "domino.example.com"},
        {"a.b.domino.example.com", "domino.example.com"},
        {"legacy.example.net", "Legacy.Example.NET."},
        {"notdomino.example.com", NULL},
        {"domino.example.com.evil.test", NULL},
        {"example.com", NULL},
        {"", NULL},
    };
    char *names[] = {"domino.example.com", "Legacy.Example.NET.", "."};
    struct cfg_list list = {names, 2};
    struct cfg_list dot = {names + 2, 1};
    struct cfg_list none = {NULL, 0};
    const char *got;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        got = eight_domain(cases[i].domain, strlen(cases[i].domain), &list);
        if (cases[i].listed == NULL ? got != NULL
                                    : got == NULL || strcmp(got, cases[i].listed) != 0)
            fail_msg("%s: under %s, want %s", cases[i].domain, got ? got : "none",
                     cases[i].listed ? cases[i].listed : "none");
    }
    assert_null(eight_domain("domino.example.com", 18, &none));
    assert_null(
        eight_domain("example.com", 11, &dot)); /* a lone "." is no domain of all */
}

/* The directory of these messages: janed, homed here, owns janed@. */
static enum hm_lookup janed_lookup(void *ctx, const char *login, struct entry **entry_r,
                                   char **detail_r)
{
    struct entry *e = entry_new("uid=janed,ou=people,dc=example,dc=com");

    (void)ctx;
    assert_non_null(e);
    assert_string_equal(login, "janed");
    assert_int_equal(entry_add_address(e, "janed@example.com", 17), 0);
    assert_int_equal(entry_add_home(e, "mail.example.com", 16), 0);
    *entry_r = e;
    *detail_r = NULL;
    return HM_LOOKUP_FOUND;
}

/* One message under the eight_bit group EIGHT and the policy group POLICY. */
struct msg {
    struct cfg *cfg;
    struct check_msg m;
};

static void msg_begin(struct msg *t, const char *eight, const char *policy,
                      const char *login, const char *sender, const char *arg)
{
    char *args[] = {(char *)arg, NULL};
    struct check_result r;

    t->cfg = test_config("local_hosts = [ \"mail.example.com\" ];\n"
                         "ldap = { base = \"ou=people,dc=example,dc=com\"; };\n"
                         "policy = { %s };\neight_bit = { %s };\n",
                         policy, eight);
    check_begin(&t->m, t->cfg, janed_lookup, NULL, NULL);
    check_login(&t->m, login);
    assert_int_equal(check_envelope(&t->m, sender, &r), 0);
    assert_int_equal(r.v.action, HM_ACCEPT);
    check_result_clear(&r);
    check_esmtp(&t->m, args);
}

/* A header field that no decision failed on. */
static void msg_header(struct msg *t, const char *name, const char *value)
{
    struct check_results rs;

    assert_int_equal(check_header(&t->m, name, value, &rs), 0);
    check_results_clear(&rs);
}

static void msg_end(struct msg *t)
{
    check_end(&t->m);
    cfg_unref(t->cfg);
}

/* The verdict at end-of-DATA: NULL for an accept, else its reply and stage. */
static void final(struct msg *t, const char *reply, const char *reason, const char *stage)
{
    const struct check_kept *k = check_final(&t->m);
    char *got;

    if (reply == NULL) {
        if (k != NULL)
            fail_msg("accepted, not %s %s %s", k->v.code, k->v.xcode, k->v.text);
        return;
    }
    assert_non_null(k);
    assert_true(asprintf(&got, "%s %s %s", k->v.code, k->v.xcode, k->v.text) > 0);
    assert_string_equal(got, reply);
    assert_string_equal(policy_reason_name(k->v.reason), reason);
    assert_string_equal(k->stage, stage);
    assert_int_equal(k->v.action, HM_REJECT);
    assert_ptr_equal(t->m.eight.kept, k);
    free(got);
}

static const char *const undeclared =
    "554 5.6.1 Undeclared 8-bit data (BODY=8BITMIME missing)";
static const char *const seven_only =
    "554 5.6.3 Conversion to 7-bit required but not supported";
static const char *const to_domino = "554 5.6.3 8-bit data cannot be relayed to "
                                     "domino.example.com (7-bit only); resend as 7-bit";

/* Each rule alone, unauthenticated, 8-bit in a header value or the body. */
static void test_each_rule(void **state)
{
    struct msg t;

    (void)state;
    msg_begin(&t, "undeclared = \"reject\";", "", NULL, "<a@example.org>", NULL);
    msg_header(&t, "Subject",
               "Gr\xc3\xbc\xc3\x9f"
               "e");
    assert_false(check_body(&t.m, "plain\r\n", 7)); /* found: the body is not needed */
    final(&t, undeclared, "undeclared-8bit", "header");
    assert_string_equal(t.m.failed.v.shown, "a@example.org");
    assert_null(t.m.failed.domain);
    msg_end(&t);

    msg_begin(&t, "seven_bit_only = true;", "", NULL, "<>", "BODY=8BITMIME");
    msg_header(&t, "Subject", "plain");
    assert_true(check_body(&t.m, "plain\r\n", 7));
    assert_false(check_body(&t.m,
                            "Gr\xc3\xbc\xc3\x9f"
                            "e\r\n",
                            8));
    final(&t, seven_only, "7bit-only", "body");
    assert_string_equal(t.m.failed.v.shown, "<>");
    msg_end(&t);

    msg_begin(&t, "seven_bit_only_domains = [ \"domino.example.com\" ];", "", NULL,
              "<a@example.org>", "BODY=8BITMIME");
    check_recipient(&t.m, "<x@other.example.com>");
    check_recipient(&t.m, "<x@Mail.DOMINO.example.com.>"); /* case, subdomain, dot */
    assert_false(check_body(&t.m, "\xe9", 1));
    final(&t, to_domino, "7bit-only-domain", "body");
    assert_string_equal(t.m.failed.domain, "domino.example.com");
    msg_end(&t);
}

/* What passes: 7-bit data, declared data, other domains, rules off. */
static void test_passes(void **state)
{
    static const char *const eights[] = {
        "undeclared = \"reject\";", "seven_bit_only = true;",
        "seven_bit_only_domains = [ \"domino.example.com\" ];", ""};
    struct msg t;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(eights) / sizeof(eights[0]); i++) { /* 7-bit */
        msg_begin(&t, eights[i], "", NULL, "<a@example.org>", "BODY=7BIT");
        check_recipient(&t.m, "<x@domino.example.com>");
        msg_header(&t, "Subject", "plain ASCII\x7f");
        assert_int_equal(check_body(&t.m, "plain\r\n", 7), eights[i][0] != '\0');
        final(&t, NULL, NULL, NULL);
        assert_null(t.m.eight.kept);
        msg_end(&t);
    }
    /* declared: smtputf8 in any case */
    msg_begin(&t, "undeclared = \"reject\";", "", NULL, "<a@example.org>", "smtputf8");
    msg_header(&t, "Subject", "\xc3\xa9");
    final(&t, NULL, NULL, NULL);
    msg_end(&t);
    /* notdomino.example.com, and recipients that do not parse */
    msg_begin(&t, "seven_bit_only_domains = [ \"domino.example.com\" ];", "", NULL,
              "<a@example.org>", NULL);
    check_recipient(&t.m, "<x@notdomino.example.com>");
    check_recipient(&t.m, "<domino.example.com>");
    check_recipient(&t.m, "<x@domino.example.com>x");
    check_recipient(&t.m, "<>");
    assert_false(check_body(&t.m, "\xe9", 1));
    final(&t, NULL, NULL, NULL);
    msg_end(&t);
    /* every rule off: nothing read, nothing decided, whatever the data */
    msg_begin(&t, "", "", NULL, "<a@example.org>", NULL);
    check_recipient(&t.m, "<x@domino.example.com>");
    msg_header(&t, "X-Caf\xe9", "\xe9");
    assert_false(check_body(&t.m, "\xe9", 1));
    assert_false(t.m.eight.found);
    final(&t, NULL, NULL, NULL);
    msg_end(&t);
}

/* Undeclared first, then 7-bit only, then the domain; a header name counts. */
static void test_order(void **state)
{
    static const char *const all = "undeclared = \"reject\"; seven_bit_only = true;"
                                   "seven_bit_only_domains = [ \"domino.example.com\" ];";
    struct msg t;

    (void)state;
    msg_begin(&t, all, "", NULL, "<a@example.org>", NULL);
    check_recipient(&t.m, "<x@domino.example.com>");
    msg_header(&t, "X-Caf\xc3\xa9", "plain");
    final(&t, undeclared, "undeclared-8bit", "header");
    msg_end(&t);

    msg_begin(&t, all, "", NULL, "<a@example.org>", "BODY=BINARYMIME");
    check_recipient(&t.m, "<x@domino.example.com>");
    assert_false(check_body(&t.m, "\x80", 1));
    final(&t, seven_only, "7bit-only", "body");
    msg_end(&t);
}

/*
 * Authenticated: the homed rule's failure wins over the 8-bit rule's, the
 * 8-bit rule applies to a message the homed rule accepts.
 */
static void test_homed_wins(void **state)
{
    static const char *const domino =
        "seven_bit_only_domains = [ \"domino.example.com\" ];";
    struct check_results rs;
    struct msg t;

    (void)state;
    msg_begin(&t, domino, "", "janed", "<janed@example.com>", NULL);
    check_recipient(&t.m, "<x@domino.example.com>");
    assert_int_equal(check_header(&t.m, "From", "JohnD@COMPANY1.com", &rs), 0);
    assert_int_equal(rs.n, 1);
    check_results_clear(&rs);
    assert_false(check_body(&t.m, "\xe9", 1));
    assert_string_equal(policy_reason_name(check_final(&t.m)->v.reason), "not-owned");
    assert_string_equal(check_final(&t.m)->v.xcode, "5.7.1");
    assert_null(t.m.eight.kept);
    msg_end(&t);

    msg_begin(&t, domino, "", "janed", "<janed@example.com>", NULL);
    check_recipient(&t.m, "<x@domino.example.com>");
    msg_header(&t, "From", "Jane <janed@example.com>");
    assert_false(check_body(&t.m, "\xe9", 1));
    final(&t, to_domino, "7bit-only-domain", "body");
    assert_string_equal(t.m.failed.v.shown, "janed@example.com");
    msg_end(&t);
}

/* Unauthenticated mail is read for the 8-bit rule only, not the homed rule. */
static void test_unauthenticated_fields(void **state)
{
    struct check_results rs;
    struct msg t;

    (void)state;
    msg_begin(&t, "seven_bit_only = true;", "", NULL, "<JohnD@COMPANY1.com>", NULL);
    assert_int_equal(check_header(&t.m, "From", "JohnD@COMPANY1.com", &rs), 0);
    assert_int_equal(rs.n, 0);
    check_results_clear(&rs);
    final(&t, NULL, NULL, NULL);
    msg_end(&t);
}

/* Report mode: nothing refused, the decision reported, unless another is. */
static void test_report(void **state)
{
    static const char *const domino =
        "seven_bit_only_domains = [ \"domino.example.com\" ];";
    struct check_results rs;
    char *value;
    struct msg t;

    (void)state;
    msg_begin(&t, domino, "mode = \"report\";", NULL, "<a@example.org>", NULL);
    check_recipient(&t.m, "<x@domino.example.com>");
    assert_false(check_body(&t.m, "\xe9", 1));
    assert_null(check_final(&t.m));
    assert_ptr_equal(t.m.eight.kept, &t.m.reported);
    assert_int_equal(t.m.reported.v.action, HM_ACCEPT);
    assert_int_equal(t.m.reported.v.decision, HM_REJECT);
    assert_string_equal(t.m.reported.stage, "body");
    value = check_report(&t.m);
    assert_string_equal(value, "reject reason=7bit-only-domain address=a@example.org "
                               "domain=domino.example.com");
    free(value);
    msg_end(&t);

    msg_begin(&t, domino, "mode = \"report\";", "janed", "<janed@example.com>", NULL);
    check_recipient(&t.m, "<x@domino.example.com>");
    assert_int_equal(check_header(&t.m, "From", "JohnD@COMPANY1.com", &rs), 0);
    check_results_clear(&rs);
    assert_false(check_body(&t.m, "\xe9", 1));
    assert_null(check_final(&t.m));
    assert_null(t.m.eight.kept);
    value = check_report(&t.m);
    assert_string_equal(value, "reject reason=not-owned address=JohnD@COMPANY1.com");
    free(value);
    msg_end(&t);
}

/* Messages in a row on one connection: nothing carries over. */
static void test_in_a_row(void **state)
{
    struct msg t;

    (void)state;
    msg_begin(&t, "seven_bit_only_domains = [ \"domino.example.com\" ];", "", NULL,
              "<a@example.org>", NULL);
    check_recipient(&t.m, "<x@domino.example.com>");
    assert_false(check_body(&t.m, "\xe9", 1));
    final(&t, to_domino, "7bit-only-domain", "body");
    check_end(&t.m);
    check_login(&t.m, NULL);
    assert_false(t.m.eight.found || t.m.eight.decided || t.m.eight.domain != NULL);
    assert_true(check_body(&t.m, "plain", 5));
    final(&t, NULL, NULL, NULL);
    msg_end(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declared),
        cmocka_unit_test(test_found),
        cmocka_unit_test(test_found_everywhere),
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_domain),
        cmocka_unit_test(test_each_rule),
        cmocka_unit_test(test_passes),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_homed_wins),
        cmocka_unit_test(test_unauthenticated_fields),
        cmocka_unit_test(test_report),
        cmocka_unit_test(test_in_a_row),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_check_more - test_check's cases for delegation (send as, on
 * behalf), trusted logins, international domains and decide_at =
 * "end-of-data"'s held header fields; one program with test_check.c,
 * whose fake directory and helpers (checktest.h) they use.
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

#include "checktest.h"

#define GRANTS                                                                           \
    "delegation_filter = \"(&(mail=%s)(seeAlso=%D))\"; "                                 \
    "on_behalf_filter = \"(&(mail=%s)(secretary=%D))\";"

/* Send as: MAIL FROM, From:, Sender:; one search per address; strict. */
void test_send_as(void **state)
{
    struct msg t;

    (void)state;
    ldap_keys = GRANTS;
    msg_begin(&t, "", HM_LOOKUP_FOUND, homes_here, "janed");
    envelope(&t, "<sales@example.com>", HM_ACCEPT, "send-as");
    header(&t, "From", "Sales <SALES@example.com>", 1); /* the same: no more search */
    header(&t, "Sender", "sales@example.com", 1);
    final(&t, NULL, NULL, NULL);
    assert_int_equal(t.fd.searches, 1);
    msg_end(&t);
    /* a grant by an entry that is not homed here grants nothing */
    msg_begin(&t, "", HM_LOOKUP_FOUND, homes_here, "janed");
    envelope(&t, "<away@example.com>", HM_REJECT, "not-owned");
    msg_end(&t);
    /* a good Sender: never excuses a forged From: */
    msg_begin(&t, "", HM_LOOKUP_FOUND, homes_here, "janed");
    envelope(&t, "<janed@example.com>", HM_ACCEPT, "owned");
    header(&t, "Sender", "janed@example.com", 1);
    header(&t, "From", "Sales <sales@example.com>, x@evil.test", 2);
    final(&t, "From", "x@evil.test", "not-owned");
    msg_end(&t);
    /* two granting entries, or no answer: a directory error (451 by default) */
    msg_begin(&t, "", HM_LOOKUP_FOUND, homes_here, "janed");
    envelope(&t, "<twice@example.com>", HM_TEMPFAIL, "directory-error");
    envelope(&t, "<down@example.com>", HM_TEMPFAIL, "directory-error");
    msg_end(&t);
    /* an international domain: the directory stores the ASCII form */
    msg_begin(&t, "", HM_LOOKUP_FOUND, homes_here, "janed");
    envelope(&t,
             "<info@b\xc3\xbc"
             "cher.example>",
             HM_ACCEPT, "send-as");
    assert_int_equal(t.fd.searches, 2); /* as written, then the ASCII form */
    msg_end(&t);
    /* an extension: the mailbox is searched, not the extension */
    msg_begin(&t, "extension_delimiter = \"+\";", HM_LOOKUP_FOUND, homes_here, "janed");
    envelope(&t, "<sales+news@example.com>", HM_ACCEPT, "send-as");
    header(&t, "From", "sales+other@example.com", 1); /* the same mailbox: no search */
    assert_int_equal(t.fd.searches, 1);
    msg_end(&t);
    /* no filter: no search */
    ldap_keys = "";
    msg_begin(&t, "", HM_LOOKUP_FOUND, homes_here, "janed");
    envelope(&t, "<sales@example.com>", HM_REJECT, "not-owned");
    assert_int_equal(t.fd.searches, 0);
    msg_end(&t);
}

/* On behalf: From: only, and only with a Sender: whose every address is owned. */
void test_on_behalf(void **state)
{
    static const struct {
        const char *sender; /* NULL: no Sender: field */
        const char *failed; /* the address named, NULL: accepted */
        const char *field, *reason;
    } cases[] = {
        {"Jane <janed@example.com>", NULL, NULL, NULL},
        {NULL, "boss@example.com", "From", "not-owned"},
        {"sales@example.com", "boss@example.com", "From",
         "not-owned"}, /* sent as: not owned */
        {"janed@example.com, sales@example.com", "boss@example.com", "From", "not-owned"},
        {"x@evil.test", "x@evil.test", "Sender", "not-owned"},
        {"<janed@example.com", "<janed@example.com", "Sender", "malformed"},
    };
    struct msg t;
    size_t i;

    (void)state;
    ldap_keys = GRANTS;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        msg_begin(&t, "", HM_LOOKUP_FOUND, homes_here, "janed");
        envelope(&t, "<janed@example.com>", HM_ACCEPT, "owned");
        header(&t, "From", "Boss <boss@example.com>", 1);
        if (cases[i].sender != NULL)
            header(&t, "Sender", cases[i].sender, strchr(cases[i].sender, ',') ? 2 : 1);
        final(&t, cases[i].field, cases[i].failed, cases[i].reason);
        if (cases[i].failed != NULL && cases[i].field[0] == 'F')
            assert_string_equal(check_final(&t.m)->v.text,
                                "Mailbox is not local: boss@example.com");
        msg_end(&t);
    }
    /* never as MAIL FROM, never in Sender: */
    msg_begin(&t, "", HM_LOOKUP_FOUND, homes_here, "janed");
    envelope(&t, "<boss@example.com>", HM_REJECT, "not-owned");
    envelope(&t, "<janed@example.com>", HM_ACCEPT, "owned");
    header(&t, "Sender", "boss@example.com", 1);
    final(&t, "Sender", "boss@example.com", "not-owned");
    msg_end(&t);
    /* report mode: reported at end-of-DATA, unless another is */
    msg_begin(&t, "mode = \"report\";", HM_LOOKUP_FOUND, homes_here, "janed");
    envelope(&t, "<janed@example.com>", HM_ACCEPT, "owned");
    header(&t, "From", "boss@example.com", 1);
    final(&t, NULL, NULL, NULL);
    assert_ptr_equal(t.m.late_report, &t.m.reported);
    report(&t, "reject reason=not-owned address=boss@example.com");
    msg_end(&t);
    ldap_keys = "";
}

/* A trusted login: no lookup, no header decision, accepted as trusted-login. */
void test_trusted_login(void **state)
{
    struct msg t;

    (void)state;
    msg_begin(&t, "trusted_logins = [ \"lists\", \"janed\" ];", HM_LOOKUP_ERROR,
              homes_here, "lists");
    assert_int_equal(t.fd.lookups, 0);
    envelope(&t, "<anyone@evil.test>", HM_ACCEPT, "trusted-login");
    header(&t, "From", "JohnD@COMPANY1.com, <a@b", 0);
    final(&t, NULL, NULL, NULL);
    msg_end(&t);
}

/* An international domain with an invalid label is malformed, named as written. */
void test_invalid_idna(void **state)
{
    struct check_results rs;
    struct check_result r;
    struct msg t;

    (void)state;
    msg_begin(&t, "", HM_LOOKUP_FOUND, homes_here, "janed");
    assert_int_equal(check_envelope(&t.m, "<janed@xn--zz.example>", &r), 0);
    assert_string_equal(policy_reason_name(r.v.reason), "malformed");
    assert_string_equal(r.v.text, "Mailbox is not local: janed@xn--zz.example");
    assert_string_equal(r.parse_error, "invalid international domain name (IDNA)");
    check_result_clear(&r);
    envelope(&t, "<janed@example.com>", HM_ACCEPT, "owned");
    assert_int_equal(check_header(&t.m, "From",
                                  "Jane <jane@b\xc3\xbc"
                                  "cher.-x>",
                                  &rs),
                     0);
    assert_int_equal(rs.n, 1);
    assert_string_equal(rs.v[0].parse_error, "invalid international domain name (IDNA)");
    check_results_clear(&rs);
    final(&t, "From", "jane@b??cher.-x", "malformed");
    msg_end(&t);
}

/* check_held()'s callback: how often, and how many decisions in all. */
static void count_held(void *arg, const char *name, const struct check_results *rs)
{
    size_t *counts = arg;

    assert_non_null(name);
    counts[0]++;
    counts[1] += rs->n;
}

/*
 * decide_at = "end-of-data": header fields are held after the login's
 * lookup at MAIL FROM, then decided after the envelope sender at
 * end-of-DATA, a kept decision marked stage end-of-data; nothing stays
 * for the next message; mail that is not the rule's is not kept.
 */
void test_held(void **state)
{
    struct msg t;
    size_t counts[2] = {0, 0};
    const struct check_kept *k;

    (void)state;
    msg_begin(&t, "mode = \"report\";", HM_LOOKUP_FOUND, homes_here, "janed");
    assert_int_equal(check_hold(&t.m, "Subject", "hello"), 0);
    assert_int_equal(check_hold(&t.m, "X-Homed-Milter", "accept"), 0);
    assert_int_equal(check_hold(&t.m, "From", "John <johnd@company1.com>"), 0);
    assert_int_equal(check_hold(&t.m, "sender", "janed@example.com"), 0);
    assert_int_equal(t.m.nheld, 2);          /* the checked fields only */
    assert_int_equal(t.m.client_reports, 1); /* counted as they come */
    envelope(&t, "<jane.doe@example.com>", HM_ACCEPT, "owned");
    assert_int_equal(check_held(&t.m, count_held, counts), 0);
    assert_int_equal(counts[0], 2);
    assert_int_equal(counts[1], 2); /* report mode decides on, every field */
    assert_null(check_final(&t.m));
    assert_non_null(t.m.reported.field);
    assert_string_equal(t.m.reported.field, "From");
    assert_string_equal(t.m.reported.stage, "end-of-data");
    report(&t, "reject reason=not-owned address=johnd@company1.com");
    check_end(&t.m);
    assert_int_equal(t.m.nheld, 0);
    assert_null(t.m.held);
    assert_int_equal(t.fd.lookups, 1);
    cfg_unref(t.cfg);

    /* enforce: the first failure is kept, the fields after it not decided */
    msg_begin(&t, "", HM_LOOKUP_FOUND, homes_here, "janed");
    assert_int_equal(check_hold(&t.m, "From", "janed@example.com, alice@example.org"), 0);
    assert_int_equal(check_hold(&t.m, "Sender", "johnd@company1.com"), 0);
    envelope(&t, "<janed@example.com>", HM_ACCEPT, "owned");
    counts[0] = counts[1] = 0;
    assert_int_equal(check_held(&t.m, count_held, counts), 0);
    assert_int_equal(counts[0], 2);
    assert_int_equal(counts[1], 2); /* janed, alice; Sender: not decided */
    k = check_final(&t.m);
    assert_non_null(k);
    assert_string_equal(k->v.shown, "alice@example.org");
    assert_string_equal(k->stage, "end-of-data");
    msg_end(&t);

    /* not authenticated (unauthenticated = accept), or a trusted login:
     * not the rule's, nothing kept; with unauthenticated = reject, kept */
    msg_begin(&t, "", HM_LOOKUP_FOUND, homes_here, NULL);
    assert_int_equal(check_hold(&t.m, "From", "johnd@company1.com"), 0);
    assert_int_equal(t.m.nheld, 0);
    envelope(&t, "<johnd@company1.com>", HM_ACCEPT, "unauthenticated");
    counts[0] = counts[1] = 0;
    assert_int_equal(check_held(&t.m, count_held, counts), 0);
    assert_int_equal(counts[0], 0);
    assert_null(check_final(&t.m));
    assert_int_equal(t.fd.lookups, 0);
    msg_end(&t);
    msg_begin(&t, "trusted_logins = [ \"janed\" ];", HM_LOOKUP_FOUND, homes_here,
              "janed");
    assert_int_equal(check_hold(&t.m, "From", "johnd@company1.com"), 0);
    assert_int_equal(t.m.nheld, 0);
    msg_end(&t);
    msg_begin(&t, "unauthenticated = \"reject\";", HM_LOOKUP_FOUND, homes_here, NULL);
    assert_int_equal(check_hold(&t.m, "From", "johnd@company1.com"), 0);
    assert_int_equal(t.m.nheld, 1);
    msg_end(&t);
}

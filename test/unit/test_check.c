/*
 * test_check - whole messages through the decision sequence (check),
 * with a fake directory: the envelope, several header fields, report
 * mode, directory errors; what the milter and -q both rely on.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "checktest.h"
#include "testutil.h"

/* The rights the fake directory grants janed: RIGHT over ADDRESS, by an entry homed at
 * HOME. */
static const struct fake_grant {
    enum hm_right right;
    const char *address;
    enum hm_lookup answer;
    const char *home;
} fake_grants[] = {
    {HM_RIGHT_SEND_AS, "sales@example.com", HM_LOOKUP_FOUND, "mail.example.com"},
    {HM_RIGHT_SEND_AS, "away@example.com", HM_LOOKUP_FOUND, "mx9.elsewhere.example.net"},
    {HM_RIGHT_SEND_AS, "twice@example.com", HM_LOOKUP_AMBIGUOUS, NULL},
    {HM_RIGHT_SEND_AS, "down@example.com", HM_LOOKUP_ERROR, NULL},
    {HM_RIGHT_SEND_AS, "info@xn--bcher-kva.example", HM_LOOKUP_FOUND, "mail.example.com"},
    {HM_RIGHT_ON_BEHALF, "boss@example.com", HM_LOOKUP_FOUND, "mail.example.com"},
};

static enum hm_lookup fake_grant(void *ctx, enum hm_right right, const char *login,
                                 const char *dn, const char *address,
                                 struct entry **entry_r, char **detail_r)
{
    struct fake_dir *fd = ctx;
    const struct fake_grant *g;
    size_t i;

    fd->searches++;
    assert_string_equal(login, "janed");
    assert_string_equal(dn, "uid=janed,ou=people,dc=example,dc=com");
    *entry_r = NULL;
    *detail_r = NULL;
    for (i = 0; i < sizeof(fake_grants) / sizeof(fake_grants[0]); i++) {
        g = &fake_grants[i];
        if (g->right != right || strcasecmp(g->address, address) != 0)
            continue;
        if (g->answer != HM_LOOKUP_FOUND) {
            *detail_r = strdup("fake: two entries, or none answered");
            return g->answer;
        }
        *entry_r = entry_new("cn=grantor,ou=people,dc=example,dc=com");
        assert_non_null(*entry_r);
        assert_int_equal(entry_add_home(*entry_r, g->home, strlen(g->home)), 0);
        return HM_LOOKUP_FOUND;
    }
    *detail_r = strdup("no entry matches");
    return HM_LOOKUP_NOT_FOUND;
}

const char *const homes_here[] = {"mail.example.com", NULL};
const char *const homes_second[] = {"mx9.elsewhere.example.net", "MX2.example.com.",
                                    NULL};
const char *const homes_away[] = {"mx9.elsewhere.example.net", NULL};

static enum hm_lookup fake_lookup(void *ctx, const char *login, struct entry **entry_r,
                                  char **detail_r)
{
    struct fake_dir *fd = ctx;
    struct entry *e;
    size_t i;

    fd->lookups++;
    *entry_r = NULL;
    *detail_r = NULL;
    if (fd->answer != HM_LOOKUP_FOUND) {
        *detail_r = strdup(fd->answer == HM_LOOKUP_NOT_FOUND ? "no such login"
                                                             : "fake: server down");
        return fd->answer;
    }
    e = entry_new("uid=janed,ou=people,dc=example,dc=com");
    assert_non_null(e);
    assert_string_equal(login, "janed");
    assert_int_equal(entry_add_address(e, "janed@example.com", 17), 0);
    assert_int_equal(entry_add_address(e, "jane.doe@example.com", 20), 0);
    for (i = 0; fd->homes[i] != NULL; i++)
        assert_int_equal(entry_add_home(e, fd->homes[i], strlen(fd->homes[i])), 0);
    *entry_r = e;
    return HM_LOOKUP_FOUND;
}

/* Extra keys of ldap = { } for the next load(): the delegation filters. */
const char *ldap_keys = "";

struct cfg *load(const char *policy)
{
    return test_config("local_hosts = [ \"mail.example.com\", \"mx2.example.com\" ];\n"
                       "ldap = { base = \"ou=people,dc=example,dc=com\"; %s };\n"
                       "policy = { header_fields = [ \"From\", \"Sender\" ]; %s };\n",
                       ldap_keys, policy);
}

void msg_begin(struct msg *t, const char *policy, enum hm_lookup answer,
               const char *const *homes, const char *login)
{
    t->cfg = load(policy);
    t->fd.answer = answer;
    t->fd.homes = homes;
    t->fd.lookups = 0;
    t->fd.searches = 0;
    check_begin(&t->m, t->cfg, fake_lookup, fake_grant, &t->fd);
    check_login(&t->m, login);
}

void msg_end(struct msg *t)
{
    check_end(&t->m);
    cfg_unref(t->cfg);
}

/* The envelope sender's verdict: ACTION and reason keyword REASON. */
void envelope(struct msg *t, const char *sender, enum policy_action action,
              const char *reason)
{
    struct check_result r;

    assert_int_equal(check_envelope(&t->m, sender, &r), 0);
    if (r.v.action != action || strcmp(policy_reason_name(r.v.reason), reason) != 0)
        fail_msg("MAIL FROM:%s: got %s %s, want %s %s", sender,
                 policy_action_name(r.v.action), policy_reason_name(r.v.reason),
                 policy_action_name(action), reason);
    check_result_clear(&r);
}

/* A header field, and how many decisions it gave. */
void header(struct msg *t, const char *name, const char *value, size_t decided)
{
    struct check_results rs;

    assert_int_equal(check_header(&t->m, name, value, &rs), 0);
    assert_int_equal(rs.n, decided);
    check_results_clear(&rs);
}

/* The verdict at end-of-DATA: NULL for an accept, else the address named. */
void final(struct msg *t, const char *field, const char *shown, const char *reason)
{
    const struct check_kept *k = check_final(&t->m);

    if (shown == NULL) {
        assert_null(k);
        return;
    }
    assert_non_null(k);
    assert_string_equal(k->field, field);
    assert_string_equal(k->v.shown, shown);
    assert_string_equal(policy_reason_name(k->v.reason), reason);
}

/* The report header's value, or NULL for none. */
void report(struct msg *t, const char *want)
{
    char *value = check_report(&t->m);

    if (want == NULL)
        assert_null(value);
    else
        assert_string_equal(value, want);
    free(value);
}

/* A message that ends at MAIL FROM, with the envelope's verdict. */
void mail_only(const char *policy, enum hm_lookup answer, const char *const *homes,
               const char *login, const char *sender, enum policy_action action,
               const char *reason)
{
    struct msg t;

    msg_begin(&t, policy, answer, homes, login);
    envelope(&t, sender, action, reason);
    report(&t, NULL); /* answered at once, never reported */
    msg_end(&t);
}

/* The fixture: a message of janed, homed here, under the default policy. */
static int msg_setup(void **state)
{
    struct msg *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return -1;
    msg_begin(t, "", HM_LOOKUP_FOUND, homes_here, "janed");
    *state = t;
    return 0;
}

static int msg_teardown(void **state)
{
    msg_end(*state);
    free(*state);
    return 0;
}

static void test_all_owned(void **state)
{
    struct msg *t = *state;

    envelope(t, "<janed@example.com>", HM_ACCEPT, "owned");
    header(t, "Subject", "janed@evil.test", 0); /* not a checked field */
    header(t, "From", "Jane <jane.doe@example.com>, janed@example.com", 2);
    header(t, "sender", "janed@EXAMPLE.com", 1);
    final(t, NULL, NULL, NULL);
    report(t, NULL);
    assert_int_equal(t->fd.lookups, 1); /* once per message */
}

/* The first failing header address is kept; nothing after it is decided. */
static void test_first_header_failure_kept(void **state)
{
    struct msg *t = *state;

    envelope(t, "<>", HM_ACCEPT, "null-sender");
    header(t, "From", "janed@example.com, \"John\" <JohnD@COMPANY1.com>, x@evil.test", 2);
    header(t, "Sender", "y@evil.test", 0);
    final(t, "From", "JohnD@COMPANY1.com", "not-owned");
    assert_string_equal(check_final(&t->m)->v.text,
                        "Mailbox is not local: JohnD@COMPANY1.com");
    assert_string_equal(check_final(&t->m)->v.code, "554");
    report(t, NULL);
}

/* A display name that shows an address counts; a malformed field is named. */
static void test_names_and_malformed(void **state)
{
    struct msg *t = *state;
    struct check_results rs;

    assert_int_equal(
        check_header(&t->m, "From", "\"alice@example.org\" <janed@example.com>", &rs), 0);
    assert_int_equal(rs.n, 2); /* the mailbox, then what its name shows */
    assert_false(rs.v[0].in_name);
    assert_int_equal(rs.v[0].v.action, HM_ACCEPT);
    assert_true(rs.v[1].in_name);
    assert_int_equal(rs.v[1].v.action, HM_REJECT);
    check_results_clear(&rs);
    final(t, "From", "alice@example.org", "not-owned");
    assert_true(check_final(&t->m)->in_name);
    msg_end(t);

    msg_begin(t, "", HM_LOOKUP_FOUND, homes_here, "janed");
    assert_int_equal(check_header(&t->m, "From", "  ", &rs), 0);
    assert_int_equal(rs.n, 1);
    assert_string_equal(rs.v[0].written, "From:");
    assert_non_null(rs.v[0].parse_error);
    check_results_clear(&rs);
    final(t, "From", "From:", "malformed");
}

static void test_envelope_rejects(void **state)
{
    struct msg *t = *state;

    envelope(t, "<JohnD@COMPANY1.com>", HM_REJECT, "not-owned");
    envelope(t, "<janed@example.com", HM_REJECT, "malformed");
    /* same local part, other domain */
    envelope(t, "<janed@example.org>", HM_REJECT, "not-owned");
    report(t, NULL); /* answered at once, never reported */
    mail_only("", HM_LOOKUP_NOT_FOUND, homes_here, "janed", "<janed@example.com>",
              HM_REJECT, "no-entry");
    mail_only("", HM_LOOKUP_FOUND, homes_away, "janed", "<janed@example.com>", HM_REJECT,
              "not-homed");
    mail_only("", HM_LOOKUP_FOUND, homes_second, "janed", "<janed@example.com>",
              HM_ACCEPT, "owned");
}

/* An entry homed here by its second home value is local. */
static void test_second_home_value(void **state)
{
    struct msg t;

    (void)state;
    msg_begin(&t, "", HM_LOOKUP_FOUND, homes_second, "janed");
    header(&t, "From", "janed@example.com", 1);
    final(&t, NULL, NULL, NULL);
    msg_end(&t);
}

static void test_unauthenticated(void **state)
{
    struct msg t;

    (void)state;
    msg_begin(&t, "", HM_LOOKUP_FOUND, homes_here, NULL);
    envelope(&t, "<anyone@evil.test>", HM_ACCEPT, "unauthenticated");
    assert_int_equal(t.fd.lookups, 0);
    msg_end(&t);
    mail_only("unauthenticated = \"reject\";", HM_LOOKUP_FOUND, homes_here, NULL,
              "<anyone@evil.test>", HM_REJECT, "unauthenticated");
}

/* Report mode: the first failing address is reported, the envelope first. */
static void test_report_first_failure(void **state)
{
    struct msg t;

    (void)state;
    msg_begin(&t, "mode = \"report\";", HM_LOOKUP_FOUND, homes_here, "janed");
    envelope(&t, "<JohnD@COMPANY1.com>", HM_ACCEPT, "not-owned");
    header(&t, "X-Homed-Milter", "accept", 0);
    header(&t, "From", "x@evil.test, y@evil.test", 2);
    header(&t, "x-homed-milter", "accept", 0);
    final(&t, NULL, NULL, NULL);
    report(&t, "reject reason=not-owned address=JohnD@COMPANY1.com");
    assert_int_equal(t.m.client_reports, 2);
    msg_end(&t);

    msg_begin(&t, "mode = \"report\";", HM_LOOKUP_FOUND, homes_here, "janed");
    envelope(&t, "<janed@example.com>", HM_ACCEPT, "owned");
    header(&t, "From", "janed@example.com, x@evil.test", 2);
    header(&t, "Sender", "y@evil.test", 1);
    report(&t, "reject reason=not-owned address=x@evil.test");
    assert_int_equal(t.m.client_reports, 0);
    msg_end(&t);
}

/*
 * One message with the directory's ANSWER: its envelope SENDER's verdict,
 * one From: field, the address kept for end-of-DATA (NULL: none) and the
 * report header (NULL: none).
 */
struct flow {
    const char *policy;
    enum hm_lookup answer;
    const char *sender;
    enum policy_action action;
    const char *reason;
    const char *from;
    const char *failed; /* with REASON */
    const char *report;
};

static void flow(const struct flow *f)
{
    struct msg t;

    msg_begin(&t, f->policy, f->answer, homes_here, "janed");
    envelope(&t, f->sender, f->action, f->reason);
    header(&t, "From", f->from, 1);
    final(&t, "From", f->failed, f->reason);
    report(&t, f->report);
    if (f->failed != NULL) {
        assert_string_equal(check_final(&t.m)->v.code, "451");
        assert_string_equal(check_detail(&t.m, &check_final(&t.m)->v),
                            "fake: server down");
    }
    msg_end(&t);
}

/* The directory fails: on_directory_error decides, at both stages. */
static void test_directory_error(void **state)
{
    static const struct flow flows[] = {
        {"", HM_LOOKUP_ERROR, "<janed@example.com>", HM_TEMPFAIL, "directory-error",
         "janed@example.com", "janed@example.com", NULL},
        {"on_directory_error = \"accept\";", HM_LOOKUP_ERROR, "<x@evil.test>", HM_ACCEPT,
         "directory-error", "y@evil.test", NULL, NULL},
        /* report mode never turns a directory error into an accept */
        {"mode = \"report\";", HM_LOOKUP_ERROR, "<janed@example.com>", HM_TEMPFAIL,
         "directory-error", "janed@example.com", "janed@example.com", NULL},
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(flows) / sizeof(flows[0]); i++)
        flow(&flows[i]);
}

/* Two entries for one login: 451 whatever on_directory_error says. */
static void test_two_entries(void **state)
{
    struct msg t;
    struct check_result r;

    (void)state;
    msg_begin(&t, "on_directory_error = \"accept\";", HM_LOOKUP_AMBIGUOUS, homes_here,
              "janed");
    assert_int_equal(check_envelope(&t.m, "<janed@example.com>", &r), 0);
    assert_int_equal(r.v.action, HM_TEMPFAIL);
    assert_int_equal(r.v.reason, HM_REASON_AMBIGUOUS);
    assert_string_equal(r.v.code, "451");
    assert_string_equal(r.v.xcode, "4.3.0");
    assert_string_equal(policy_reason_name(r.v.reason), "directory-error");
    assert_non_null(check_detail(&t.m, &r.v));
    check_result_clear(&r);
    msg_end(&t);
}

/* -q: every address is decided, also after a failure. */
static void test_explain_decides_all(void **state)
{
    struct msg *t = *state;
    struct check_results rs;

    t->m.explain = true;
    assert_int_equal(
        check_field(&t->m, "Reply-To", "x@evil.test, janed@example.com", &rs), 0);
    assert_int_equal(rs.n, 2);
    assert_int_equal(rs.v[0].v.action, HM_REJECT);
    assert_int_equal(rs.v[1].v.action, HM_ACCEPT);
    assert_int_equal(rs.v[1].v.reason, HM_REASON_OWNED);
    check_results_clear(&rs);
    header(t, "From", "y@evil.test", 1);
    final(t, "Reply-To", "x@evil.test", "not-owned");
}

/* One state, several messages: each begins clean. */
static void test_messages_in_a_row(void **state)
{
    struct msg *t = *state;

    header(t, "From", "x@evil.test", 1);
    check_end(&t->m);
    final(t, NULL, NULL, NULL);
    assert_null(t->m.login);
    check_login(&t->m, "janed");
    header(t, "From", "janed@example.com", 1);
    final(t, NULL, NULL, NULL);
    assert_int_equal(t->fd.lookups, 2);
}

/* No directory client (out of memory making one): a directory error, 451. */
static void test_no_directory(void **state)
{
    struct cfg *cfg = load("");
    struct check_msg m;
    struct check_result r;

    (void)state;
    check_begin(&m, cfg, check_dir_lookup, check_dir_grant, NULL);
    check_login(&m, "janed");
    assert_int_equal(m.lookup, HM_LOOKUP_ERROR);
    assert_string_equal(m.detail, "out of memory");
    assert_int_equal(check_envelope(&m, "<janed@example.com>", &r), 0);
    assert_int_equal(r.v.action, HM_TEMPFAIL);
    assert_int_equal(r.v.reason, HM_REASON_DIRECTORY_ERROR);
    check_result_clear(&r);
    check_end(&m);
    cfg_unref(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_all_owned, msg_setup, msg_teardown),
        cmocka_unit_test_setup_teardown(test_first_header_failure_kept, msg_setup,
                                        msg_teardown),
        cmocka_unit_test_setup_teardown(test_names_and_malformed, msg_setup,
                                        msg_teardown),
        cmocka_unit_test_setup_teardown(test_envelope_rejects, msg_setup, msg_teardown),
        cmocka_unit_test(test_second_home_value),
        cmocka_unit_test(test_unauthenticated),
        cmocka_unit_test(test_report_first_failure),
        cmocka_unit_test(test_trusted_login),
        cmocka_unit_test(test_send_as),
        cmocka_unit_test(test_on_behalf),
        cmocka_unit_test(test_invalid_idna),
        cmocka_unit_test(test_directory_error),
        cmocka_unit_test(test_two_entries),
        cmocka_unit_test(test_no_directory),
        cmocka_unit_test(test_held),
        cmocka_unit_test_setup_teardown(test_explain_decides_all, msg_setup,
                                        msg_teardown),
        cmocka_unit_test_setup_teardown(test_messages_in_a_row, msg_setup, msg_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

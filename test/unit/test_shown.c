/*
 * NAME
 *	test_shown - table-driven unit tests of addr_parse_shown()
 *
 * SUMMARY
 *	Header field values read as a recipient's mail client shows them:
 *	the constructions clients read differently (refused), the addresses
 *	display names and comments show (decoded), the address used as its
 *	own display name, and the same inputs with each flag off.
 *
 * DESCRIPTION
 *	Each case gives the exact outcome: the static error, or the checked
 *	addresses in order, written "local@domain" with a leading "n:" for
 *	those found in a name. An invalid input must leave the caller's list
 *	as it was, so every case is also parsed into a list holding "pre@x".
 *	The expected readings of the attack values are those Thunderbird's
 *	parser (jsmimeparser), Python's email package and mutt were seen to
 *	show; test/differential checks the same against the parsers
 *	themselves. Everything is freed: the tests run under valgrind and
 *	ASan/UBSan.
 */
#include <setjmp.h> /* cmocka.h needs these first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "address.h"

#define ALL (HM_ADDR_NO_GROUP | HM_ADDR_NAMES)

struct shown_case {
    const char *in;
    unsigned flags;
    const char *error;   /* NULL: valid */
    const char *want[6]; /* "local@domain", "n:" for an address in a name */
};

/* Refused: what clients read otherwise. */
static const struct shown_case refused[] = {
    {"Jane Doe <jane(\").doe(\")@example.com>",
     ALL,
     "comment holding '\"' inside an address",
     {0}},
    {"<(\")janed+.(\")alice@example.com>",
     ALL,
     "comment holding '\"' inside an address",
     {0}},
    {"jane(\").doe(\")@example.com", ALL, "comment holding '\"'", {0}},
    {"(\")janed@example.com", ALL, "comment holding '\"'", {0}},
    {"janed@example.com (\")", ALL, "comment holding '\"'", {0}},
    {"Jane (\") <janed@example.com>", ALL, "comment holding '\"'", {0}},
    {"jane(\"\").doe@example.com", ALL, "comment holding '\"'", {0}},
    {"janed(\\\\)@example.com",
     ALL,
     "comment holding a backslash inside an address",
     {0}},
    {"janed@(x[y)example.com", ALL, "comment holding a bracket", {0}},
    {"janed@example(])com", ALL, "comment holding a bracket", {0}},
    {"janed@example.(])com", ALL, "comment holding a bracket", {0}},
    {"<janed(<)@example.com>", ALL, "comment holding '<' inside an address", {0}},
    {"<janed@example.com(>)>", ALL, "comment holding '>' inside an address", {0}},
    {"<janed(@)@example.com>", ALL, "comment holding '@' inside an address", {0}},
    {"<janed(=?utf-8?q?=22?=)@example.com>",
     ALL,
     "comment holding an encoded word inside an address",
     {0}},
    {"<((\"))janed@example.com>", ALL, "comment holding '\"' inside an address", {0}},
    {"<@route,@x:janed@example.com>", ALL, "source route", {0}},
    {"<,@x:janed@example.com>", ALL, "source route", {0}},
    {"janed+=?utf-8?q?alice?=@example.com", ALL, "encoded word in a local part", {0}},
    {"\"=?utf-8?q?alice?=\"@example.com", ALL, "encoded word in a local part", {0}},
    {"<janed@=?utf-8?q?x?=.example.com>", ALL, "encoded word in a domain", {0}},
    {"\"alice@example.com\": janed@example.com;",
     ALL,
     "group in a From: or Sender: field",
     {0}},
    {"undisclosed-recipients:;", ALL, "group in a From: or Sender: field", {0}},
    {"jan\xe2\x80\x8b"
     "ed@example.com",
     ALL,
     "invisible character in an address",
     {0}},
    {"<janed@ex\xc2\xa0"
     "ample.com>",
     ALL,
     "invisible character in an address",
     {0}},
    {"\"jan\xc2\xad"
     "ed\"@example.com",
     ALL,
     "invisible character in an address",
     {0}},
    {"j\xc3\xa4ned@b\xc3\xbc"
     "cher.example",
     ALL,
     NULL,
     {"j\xc3\xa4ned@b\xc3\xbc"
      "cher.example"}},
    {"janed@example.com janed@example.com", ALL, "expected ',' between addresses", {0}},
    {"\"=?utf-8?q?(alice@example.com)?=\" <j@x>",
     ALL,
     "encoded word holding a special character",
     {0}},
    {"=?utf-8?b?not base64?= <j@x>",
     ALL,
     "encoded word holding a special character",
     {0}},
    {"bob@example.org (Q.\"), John <janed@example.com>, Doe \";)\\a\" "
     "<alice@example.com>",
     ALL,
     "comment holding '\"'",
     {0}},
    {"j@x (\\\xe7\x94\xa8"
     "alice@example.com)",
     ALL,
     "backslash before a non-ASCII character",
     {0}},
    {"j@x (Sales [EMEA])", ALL, "comment holding a bracket", {0}},
    {"\xef\xbb\xbf.ane 2\xef\xb9\xab"
     "Doe <jane@example.com>",
     ALL,
     "byte order mark at the start of the field",
     {0}},
    {"j@x (a \"b\" c)", ALL, "comment holding '\"'", {0}},
    {"=?utf-8?q?,@,_Doe?= <jane@example.com>",
     ALL,
     "encoded word holding a special character",
     {0}},
    {"(a@b.example)", ALL, NULL, {"n:a@b.example"}},
    {"=?utf-8?b?YWxpY2U?= <j@x>", ALL, "encoded word that is not valid base64", {0}},
    {"Jane =?utf-8?x <j@x> (=?utf-8?q?a?=)",
     ALL,
     "'=?' that starts no encoded word",
     {0}},
    {"<janed@[192.0.2.1]>", ALL, "domain literal", {0}},
    {"jane. doe@example.com", ALL, "white space inside an address", {0}},
    {"<janed @example.com>", ALL, "white space inside an address", {0}},
    {"<janed@example. com>", ALL, "white space inside an address", {0}},
    {"<janed@\r\n example.com>", ALL, "white space inside an address", {0}},
    {"jane.(x)doe@example.com", ALL, "white space inside an address", {0}},
    {"a.\"b c\"@example.com", ALL, "partly quoted local part", {0}},
    {"\" \"@example.com", ALL, "white space at the edge of a local part", {0}},
    {"\"jane \"@example.com", ALL, "white space at the edge of a local part", {0}},
    {"\"ja\tne\"@example.com", ALL, "white space at the edge of a local part", {0}},
    {"J\xe4ne <j\xc3\xa4ned@example.com>",
     ALL,
     "8-bit address in a field that is not UTF-8",
     {0}},
    {"j@x (J\xe4ne alice@example.com)",
     ALL,
     "8-bit name showing an address in a field that is not UTF-8",
     {0}},
};

/* Accepted, with what is checked. */
static const struct shown_case read_as_shown[] = {
    {"janed@example.com", ALL, NULL, {"janed@example.com"}},
    {"Jane Doe <janed@example.com>", ALL, NULL, {"janed@example.com"}},
    {"\"Doe, Jane\" <janed@example.com>", ALL, NULL, {"janed@example.com"}},
    {"\"alice@example.com\" <janed@example.com>",
     ALL,
     NULL,
     {"janed@example.com", "n:alice@example.com"}},
    {"=?utf-8?q?Alice_=3Calice=40example=2Ecom=3E?= <janed@example.com>",
     ALL,
     NULL,
     {"janed@example.com", "n:alice@example.com"}},
    {"=?UTF-8?B?QWxpY2UgPGFsaWNlQGV4YW1wbGUuY29tPg==?= <janed@example.com>",
     ALL,
     NULL,
     {"janed@example.com", "n:alice@example.com"}},
    {"=?iso-8859-1?q?alice?= =?iso-8859-1?q?=40example.com?= <j@x>",
     ALL,
     "name showing an address that clients decode differently",
     {0}},
    {"=?iso-8859-1?q?J=E4ne?= =?iso-8859-1?q?D=F6e?= <j@x>", ALL, NULL, {"j@x"}},
    {"=?utf-16le?B?YgBvAGIAa/5lAHgAYQBtAHAvAGIAa/5lAHgAYQBtAHAAbABlAC4AbwByAGcA?= <j@x>",
     ALL,
     "display name that clients decode differently",
     {0}},
    {"\"Mr.\xe9t\xe9janed@\xef\xb9\xab"
     "example.com,\" <j@x>",
     ALL,
     "8-bit name showing an address in a field that is not UTF-8",
     {0}},
    {"Jane J\xc3\xa4ne \xe1\xa0\x8b =?utf-8?Q?=EF=BB=BFbob=40example=2Eorg?= <j@x>",
     ALL,
     NULL,
     {"j@x", "n:bob@example.org", "n:J\xc3\xa4nebob@example.org"}},
    {"=?iso-8859-1?q?al=85ice=40example.com?= <j@x>",
     ALL,
     NULL,
     {"j@x", "n:alice@example.com",
      "n:al\xe2\x80\xa6"
      "ice@example.com"}},
    {"=?x-no-such-charset?q?alice=40example.com?= <j@x>",
     ALL,
     NULL,
     {"j@x", "n:alice@example.com"}},
    {"\"Jane =?utf-8?q?alice=40example.com?=\" <j@x>",
     ALL,
     NULL,
     {"j@x", "n:alice@example.com"}},
    {"=?utf-8*en?q?alice=40example.com?= <j@x>",
     ALL,
     NULL,
     {"j@x", "n:alice@example.com"}},
    {"J\xe4ne <janed@example.com> (alice@example.com)",
     ALL,
     NULL,
     {"janed@example.com", "n:alice@example.com"}},
    {"j@x (Jane .alice @example.com)", ALL, NULL, {"j@x", "n:Jane.alice@example.com"}},

    {"\"alice@example.com\"x <j@x>",
     ALL,
     NULL,
     {"j@x", "n:alice@example.comx", "n:alice@example.com"}},
    {"Team \xe1\x9e\xb4 =?utf-8?q?JohnD=40COMPANY1.com?= <j@x>",
     ALL,
     NULL,
     {"j@x", "n:JohnD@COMPANY1.com", "n:TeamJohnD@COMPANY1.com"}},
    {"=?x-unknown?q?x=E2=80=A9bob=40example.org?= <j@x>",
     ALL,
     "display name that clients decode differently",
     {0}},
    {"=?utf-8?q?Alice_<alice@example.com>?= <janed@example.com>",
     ALL,
     "encoded word holding a special character",
     {0}},
    {"=?utf-8?q?Alice_=3Calice=40example.com=3E?= <janed@example.com>",
     ALL,
     NULL,
     {"janed@example.com", "n:alice@example.com"}},
    {"=?utf-8?Q?\"J=C3=A4ne?= JD =?utf-8?B?RMO2ZSI=?= <janed@example.com>",
     ALL,
     NULL,
     {"janed@example.com"}},
    {"\"=?utf-8?q?<alice@example.com>?=\" <j@x>",
     ALL,
     "encoded word holding a special character",
     {0}},
    {"janed@example.com <janed@example.com>",
     ALL,
     NULL,
     {"n:janed@example.com", "janed@example.com", "n:janed@example.com"}},
    {"alice@example.com <janed@example.com>",
     ALL,
     NULL,
     {"n:alice@example.com", "janed@example.com", "n:alice@example.com"}},
    {"jan\xef\xb9\xab"
     "e.doe@example.com <j@x>",
     ALL,
     "look-alike at sign in an address",
     {0}},
    {"alice@example.com\xef\xbc\xa0", ALL, "look-alike at sign in an address", {0}},
    {"alice@x (Bob <bob@y>)", ALL, NULL, {"alice@x", "n:bob@y"}},
    {"<janed@example.com> (mail me at alice@example.org.)",
     ALL,
     NULL,
     {"janed@example.com", "n:alice@example.org"}},
    {"Jane <janed@example.com (Jane)>", ALL, NULL, {"janed@example.com"}},
    {"\"Jane @ home\" <janed@example.com>", ALL, NULL, {"janed@example.com"}},
    {"\"@alice\" <janed@example.com>", ALL, NULL, {"janed@example.com"}},
    {"\"Jane\xef\xbc\xa0"
     "example.com\" <j@x>",
     ALL,
     NULL,
     {"j@x", "n:Jane@example.com"}},
    {"\"ali\xe2\x80\x8b"
     "ce@ex.com\" <j@x>",
     ALL,
     NULL,
     {"j@x", "n:ce@ex.com", "n:alice@ex.com"}},
    {"\"alice@ex.com\xc2\xa0"
     "x\" <j@x>",
     ALL,
     NULL,
     {"j@x", "n:alice@ex.com"}},
    {"=?utf-8?q?ali=01ce=40ex.com?= <j@x>", ALL, NULL, {"j@x", "n:alice@ex.com"}},
    {"\"a@b@c\" <j@x>", ALL, NULL, {"j@x", "n:a@b", "n:b@c"}},
    {"J\xe9r\xf4me <j@x>", ALL, NULL, {"j@x"}},
    {"a@x, \"b@y\" <c@z>", ALL, NULL, {"a@x", "c@z", "n:b@y"}},
    {"Team: a@x, b@y;", HM_ADDR_NAMES, NULL, {"a@x", "b@y"}},
    {"\"t@x\": a@x;", HM_ADDR_NAMES, NULL, {"a@x", "n:t@x"}},
    /* A reader that does not decode: the word as written, joined to the
     * next one across the empty quoted string. */
    {"\"=?utf-8?q?bob?=\" \"\" \"@evil.example\" <j@x>",
     ALL,
     NULL,
     {"j@x", "n:bob@evil.example", "n:=?utf-8?q?bob?=@evil.example"}},
};

/* The same with display names ignored: only the mailboxes. */
static const struct shown_case names_ignored[] = {
    {"\"alice@example.com\" <janed@example.com>",
     HM_ADDR_NO_GROUP,
     NULL,
     {"janed@example.com"}},
    {"alice@x (Bob <bob@y>)", HM_ADDR_NO_GROUP, NULL, {"alice@x"}},
    {"alice@example.com <janed@example.com>",
     HM_ADDR_NO_GROUP,
     NULL,
     {"janed@example.com"}},
    {"<janed(\")@example.com>",
     HM_ADDR_NO_GROUP,
     "comment holding '\"' inside an address",
     {0}},
    {"\"t@x\": a@x;", HM_ADDR_NO_GROUP, "group in a From: or Sender: field", {0}},
};

/* run_case - parse C (into a list holding "pre@x" when PREFILLED) and compare. */
static void run_case(const char *table, size_t i, const struct shown_case *c,
                     bool prefilled)
{
    struct addr_list l = {0};
    const char *error = NULL;
    size_t base = prefilled ? 1 : 0, k, n;
    char got[512];
    int rc;

    if (prefilled)
        assert_int_equal(addr_parse_list("pre@x", 5, &l, &error), 0);
    rc = addr_parse_shown(c->in, strlen(c->in), c->flags, &l, &error);
    for (n = 0; n < 6 && c->want[n] != NULL; n++)
        ;
    if (c->error != NULL) {
        if (rc != -1 || error == NULL || strcmp(error, c->error) != 0 || l.n != base)
            fail_msg("%s[%zu] '%s': rc %d error '%s' n %zu, want error '%s'", table, i,
                     c->in, rc, rc ? error : "-", l.n - base, c->error);
    } else if (rc != 0 || l.n != base + n) {
        fail_msg("%s[%zu] '%s': rc %d error '%s' n %zu, want %zu addresses", table, i,
                 c->in, rc, rc ? error : "-", l.n - base, n);
    }
    for (k = 0; c->error == NULL && k < n; k++) {
        snprintf(got, sizeof(got), "%s%s@%s", l.v[base + k].in_name ? "n:" : "",
                 l.v[base + k].local, l.v[base + k].domain);
        if (strcmp(got, c->want[k]) != 0)
            fail_msg("%s[%zu] '%s': address %zu is '%s', want '%s'", table, i, c->in, k,
                     got, c->want[k]);
    }
    if (prefilled && strcmp(l.v[0].written, "pre@x") != 0)
        fail_msg("%s[%zu]: the list's first address changed", table, i);
    addr_list_free(&l);
}

static void run_table(const char *table, const struct shown_case *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        run_case(table, i, &v[i], false);
        run_case(table, i, &v[i], true);
    }
}

#define RUN(t) run_table(#t, t, sizeof(t) / sizeof(t[0]))

static void test_refused(void **state)
{
    (void)state;
    RUN(refused);
}

static void test_read_as_shown(void **state)
{
    (void)state;
    RUN(read_as_shown);
}

static void test_names_ignored(void **state)
{
    (void)state;
    RUN(names_ignored);
}

/* The RFC 5322 reader keeps its own reading: these parse there. */
static void test_list_parser_unchanged(void **state)
{
    static const char *const valid[] = {
        "jane(\").doe(\")@example.com",
        "<@route,@x:janed@example.com>",
        "\"alice@example.com\": janed@example.com;",
    };
    struct addr_list l = {0};
    const char *error;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        assert_int_equal(addr_parse_list(valid[i], strlen(valid[i]), &l, &error), 0);
        assert_false(l.v[l.n - 1].in_name);
    }
    addr_list_free(&l);
}

/* A 1 MB display name full of at signs: linear, bounded, no crash. */
/*
 * The plain path (address_plain.c) gives what the parser gives, on the
 * values it takes and on those next to them that it must leave alone.
 */
static void test_plain_same(void **state)
{
    static const char *const values[] = {
        "janed@example.com",
        "  janed@example.com  ",
        "<janed@example.com>",
        "Jane Doe <janed@example.com>",
        "Jane Doe   <jane.doe@mail.example.com>",
        "J 2 <a+b_c-d@x-y.example>",
        "Jane <JaneD@EXAMPLE.com>",
        "Jane  Doe <a@b>",
        "Jane Doe<a@b>",
        "Jane <a..b@c>",
        "Jane <.a@b>",
        "Jane <a.@b>",
        "Jane <a@b.>",
        "Jane <a@.b>",
        "Jane <a@b..c>",
        "<a@b",
        "a@b>",
        "a@b@c",
        "Jane <a@b> x",
        "Jane <a@b>, bob@c",
        "x <a@-b->",
        "a_b@c_d",
        "\tjaned@example.com",
        "=?utf-8?q?x?= <a@b>",
        "Jane Doe",
        "<>",
        "",
        " ",
        "@b",
        "a@",
        "Jane <a@b>>",
        "Jane.Doe <a@b>",
        "\"Jane\" <a@b>",
        "Jane (x) <a@b>",
        "janed@example.com (Jane)",
        "a@b <c@d>",
        "Jane Doe <janed@example.com>\r\n",
        "j\xc3\xa9 <a@b>",
        "1 <2@3>",
    };
    const unsigned flags = HM_ADDR_NO_GROUP | HM_ADDR_NAMES;
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct addr_list fast = {0}, slow = {0};
        const char *e1 = NULL, *e2 = NULL;
        const char *in = values[i];
        int r1 = addr_parse_shown(in, strlen(in), flags, &fast, &e1);
        int r2 = addr_parse_shown(in, strlen(in), flags | HM_ADDR_NO_PLAIN, &slow, &e2);

        if (r1 != r2 || fast.n != slow.n || (r1 < 0 && strcmp(e1, e2) != 0))
            fail_msg("%s: %d %zu %s, parser %d %zu %s", in, r1, fast.n, e1 ? e1 : "", r2,
                     slow.n, e2 ? e2 : "");
        for (j = 0; j < fast.n; j++) {
            assert_string_equal(fast.v[j].written, slow.v[j].written);
            assert_string_equal(fast.v[j].local, slow.v[j].local);
            assert_string_equal(fast.v[j].domain, slow.v[j].domain);
            assert_int_equal(fast.v[j].in_name, slow.v[j].in_name);
            assert_int_equal(fast.v[j].is_null, slow.v[j].is_null);
        }
        addr_list_free(&fast);
        addr_list_free(&slow);
    }
}

static void test_big_name(void **state)
{
    size_t n = 1024 * 1024, i;
    char *s = malloc(n + 16);
    struct addr_list l = {0};
    const char *error = NULL;

    (void)state;
    assert_non_null(s);
    s[0] = '"';
    for (i = 1; i < n; i++)
        s[i] = i % 4 == 0 ? ' ' : i % 4 == 2 ? '@' : 'a';
    memcpy(s + n, "\" <j@x>", 8);
    assert_int_equal(addr_parse_shown(s, strlen(s), ALL, &l, &error), -1);
    assert_string_equal(error, "too many addresses");
    assert_null(l.v);
    memset(s + 1, 'a', n - 1);
    assert_int_equal(addr_parse_shown(s, strlen(s), ALL, &l, &error), 0);
    assert_int_equal(l.n, 1);
    addr_list_free(&l);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_read_as_shown),
        cmocka_unit_test(test_names_ignored),
        cmocka_unit_test(test_list_parser_unchanged),
        cmocka_unit_test(test_big_name),
        cmocka_unit_test(test_plain_same),
    };

    return cmocka_run_group_tests_name("shown", tests, NULL, NULL);
}

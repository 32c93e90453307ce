/*
 * NAME
 *	test_address_more - the second file of the test_address program
 *
 * SUMMARY
 *	addr_parse_envelope() on envelope senders as an MTA passes them,
 *	addr_xtext_decode(), addr_base_length() and addr_same_text(), table
 *	by table; a failed parse leaving the list as it was, the free
 *	functions on NULL and a list growing in place; then inputs at the
 *	size limits (1 MB padding, 10 000 nested comments, 10 001 addresses,
 *	inputs over HM_ADDR_MAX_INPUT).
 *
 * DESCRIPTION
 *	Every case states the exact result, as in test_address.c, whose
 *	show() these use and whose main() runs them (addresstest.h).
 */
#include <setjmp.h> /* cmocka.h needs these first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "address.h"
#include "addresstest.h"

/* Envelope senders as an MTA passes them to a milter. */
struct env_case {
    const char *in;
    size_t len;        /* 0: strlen(in) */
    const char *error; /* NULL: valid */
    const char *written;
    const char *local;
    const char *domain;
    bool is_null;
};

#define ENV(in, w, l, d)                                                                 \
    {                                                                                    \
        in, 0, NULL, w, l, d, false                                                      \
    }
#define ENV_NULL(in)                                                                     \
    {                                                                                    \
        in, 0, NULL, "", "", "", true                                                    \
    }
#define ENV_BAD(in, err)                                                                 \
    {                                                                                    \
        in, 0, err, NULL, NULL, NULL, false                                              \
    }
#define ENV_BADL(lit, err)                                                               \
    {                                                                                    \
        lit, sizeof(lit) - 1, err, NULL, NULL, NULL, false                               \
    }

static const struct env_case env_cases[] = {
    ENV("<a@b>", "a@b", "a", "b"),
    ENV_NULL("<>"),
    ENV_NULL("  <>  "),
    ENV_NULL("\t<>"),
    ENV("\t<a@b>\t", "a@b", "a", "b"),
    ENV("a@b", "a@b", "a", "b"),
    ENV(" a@b ", "a@b", "a", "b"),
    ENV("<@r1,@r2:a@b>", "a@b", "a", "b"),
    ENV("<@r1:a@b>", "a@b", "a", "b"),
    ENV("<@[10.0.0.1]:a@b>", "a@b", "a", "b"),
    ENV("<\"a b\"@c>", "\"a b\"@c", "a b", "c"),
    ENV("<\"a@b\"@c>", "\"a@b\"@c", "a@b", "c"),
    ENV("<\"a\\\"b\"@c>", "\"a\\\"b\"@c", "a\"b", "c"),
    ENV("\"a b\"@c", "\"a b\"@c", "a b", "c"),
    ENV("<jane.doe+tag@example.com>", "jane.doe+tag@example.com", "jane.doe+tag",
        "example.com"),
    ENV("<JaneD@Example.COM>", "JaneD@Example.COM", "JaneD", "Example.COM"),
    ENV("<a@[192.0.2.1]>", "a@[192.0.2.1]", "a", "[192.0.2.1]"),
    ENV("<a@[IPv6:2001:db8::1]>", "a@[IPv6:2001:db8::1]", "a", "[IPv6:2001:db8::1]"),
    ENV("<jöran@bücher.example>", "jöran@bücher.example", "jöran", "bücher.example"),
    ENV("<a@b.c.d>", "a@b.c.d", "a", "b.c.d"),
    ENV("<a=b/c@d>", "a=b/c@d", "a=b/c", "d"),
    ENV_BAD("", "empty address"),
    ENV_BAD("  \t ", "empty address"),
    ENV_BAD("<a@b", "unbalanced '<'"),
    ENV_BAD("<", "unbalanced '<'"),
    ENV_BAD("a@b>", "unbalanced '>'"),
    ENV_BAD("<<a@b>>", "unexpected '<'"),
    ENV_BAD("<a@b>>", "unbalanced '>'"),
    ENV_BAD("<a@b> x", "unexpected text after address"),
    ENV_BAD("<a@b>x", "unexpected text after address"),
    ENV_BAD("<a@b> <c@d>", "unexpected text after address"),
    ENV_BAD("<a@b>\r\n", "unexpected text after address"),
    ENV_BAD("a@b@c", "unexpected text after address"),
    ENV_BAD("<a>", "missing @"),
    ENV_BAD("a", "missing @"),
    ENV_BAD("<postmaster>", "missing @"),
    ENV_BAD("<@b>", "invalid source route"),
    ENV_BAD("<@r1 :a@b>", "invalid source route"),
    ENV_BAD("<a@>", "empty domain"),
    ENV_BAD("<@>", "empty domain"),
    ENV_BAD("<a@b.>", "invalid dot in domain"),
    ENV_BAD("<.a@b>", "invalid dot in local part"),
    ENV_BAD("<\"\"@b>", "empty local part"),
    ENV_BAD("<@b:@c>", "empty local part"),
    ENV_BAD("< a@b>", "invalid character"),
    ENV_BAD("<a @b>", "invalid character"),
    ENV_BAD("<(c)a@b>", "invalid character"),
    ENV_BAD("< >", "invalid character"),
    ENV_BAD("<a@b,c@d>", "expected '>'"),
    ENV_BAD("<\"a@b>", "unterminated quoted string"),
    ENV_BAD("<\"a\r\nb\"@c>", "control character"),
    ENV_BAD("<a@[1.2.3.4 ]>", "invalid domain literal"),
    ENV_BADL("<a@b>\0", "NUL byte"),
    ENV_BADL("<a\0@b>", "NUL byte"),
    ENV_BADL("\0<>", "NUL byte"),
    ENV_BAD("<\xc3@b>", "invalid UTF-8"),
    ENV_BAD("<a@\xed\xa0\x80>", "invalid UTF-8"),
};

void test_envelope(void **state)
{
    const struct env_case *c;
    const char *error;
    struct addr a;
    size_t i;
    int rc;

    (void)state;
    for (i = 0; i < sizeof(env_cases) / sizeof(env_cases[0]); i++) {
        c = &env_cases[i];
        memset(&a, 0, sizeof(a));
        error = NULL;
        rc = addr_parse_envelope(c->in, c->len ? c->len : strlen(c->in), &a, &error);
        if (c->error != NULL) {
            if (rc != -1 || strcmp(show(error), c->error) != 0)
                fail_msg("env[%zu] \"%s\": rc %d error \"%s\", want \"%s\"", i, c->in, rc,
                         show(error), c->error);
            assert_null(a.written);
            assert_null(a.local);
            assert_null(a.domain);
            assert_false(a.is_null);
            continue;
        }
        if (rc != 0)
            fail_msg("env[%zu] \"%s\": error \"%s\"", i, c->in, show(error));
        if (strcmp(a.written, c->written) || strcmp(a.local, c->local) ||
            strcmp(a.domain, c->domain) || a.is_null != c->is_null)
            fail_msg("env[%zu] \"%s\": got \"%s\" \"%s\" \"%s\" %d", i, c->in, a.written,
                     a.local, a.domain, a.is_null);
        addr_free(&a);
        assert_null(a.written);
    }
}

/* xtext (RFC 3461) as Sendmail encodes {auth_authen}. */
struct xtext_case {
    const char *in;
    size_t len;        /* 0: strlen(in) */
    const char *error; /* NULL: valid */
    const char *out;
};

#define XT(in, out)                                                                      \
    {                                                                                    \
        in, 0, NULL, out                                                                 \
    }
#define XT_BAD(in, err)                                                                  \
    {                                                                                    \
        in, 0, err, NULL                                                                 \
    }
#define XT_BADL(lit, err)                                                                \
    {                                                                                    \
        lit, sizeof(lit) - 1, err, NULL                                                  \
    }

static const struct xtext_case xtext_cases[] = {
    XT("", ""),
    XT("jane", "jane"),
    XT("jane+2Bfoo", "jane+foo"),
    XT("jane+2bfoo", "jane+foo"),
    XT("a+3Db", "a=b"),
    XT("a=b", "a=b"),
    XT("+41+42", "AB"),
    XT("jane@example.com", "jane@example.com"),
    XT("+C3+A9", "\xc3\xa9"),
    XT("+c3+a9", "\xc3\xa9"),
    XT("a+20b", "a b"),
    XT("~!", "~!"),
    XT("+2B", "+"),
    XT("+2b+2B", "++"),
    XT("DOMAIN\\user", "DOMAIN\\user"),
    XT_BAD("a+2", "invalid xtext escape"),
    XT_BAD("a+", "invalid xtext escape"),
    XT_BAD("+", "invalid xtext escape"),
    XT_BAD("a+G1", "invalid xtext escape"),
    XT_BAD("a+1G", "invalid xtext escape"),
    XT_BAD("++2B", "invalid xtext escape"),
    XT_BAD("+-1", "invalid xtext escape"),
    XT_BAD("+ 1", "invalid xtext escape"),
    XT_BAD("+00", "NUL byte"),
    XT_BAD("a b", "invalid xtext character"),
    XT_BAD("a\tb", "invalid xtext character"),
    XT_BAD("a\x7f", "invalid xtext character"),
    XT_BAD("a\x01", "invalid xtext character"),
    XT_BAD("j\xc3\xb6ran", "invalid xtext character"),
    XT_BAD("a\r\n", "invalid xtext character"),
    XT_BADL("a\0b", "NUL byte"),
};

void test_xtext(void **state)
{
    const struct xtext_case *c;
    const char *error;
    char *out;
    size_t i;
    int rc;

    (void)state;
    for (i = 0; i < sizeof(xtext_cases) / sizeof(xtext_cases[0]); i++) {
        c = &xtext_cases[i];
        out = NULL;
        error = NULL;
        rc = addr_xtext_decode(c->in, c->len ? c->len : strlen(c->in), &out, &error);
        if (c->error != NULL) {
            if (rc != -1 || strcmp(show(error), c->error) != 0)
                fail_msg("xtext[%zu] \"%s\": rc %d error \"%s\", want \"%s\"", i, c->in,
                         rc, show(error), c->error);
            assert_null(out);
            continue;
        }
        if (rc != 0 || out == NULL || strcmp(out, c->out) != 0)
            fail_msg("xtext[%zu] \"%s\": rc %d out \"%s\" error \"%s\"", i, c->in, rc,
                     show(out), show(error));
        free(out);
    }
}

struct base_case {
    const char *local;
    const char *delims;
    size_t want;
};

static const struct base_case base_cases[] = {
    {"jane+tag", "+", 4},   {"jane", "+", 4},
    {"+tag", "+", 4},       {"jane-tag+x", "+-", 4},
    {"jane+tag", "", 8},    {"jane+tag", NULL, 8},
    {"", "+", 0},           {"", NULL, 0},
    {"jane+", "+", 4},      {"a+b+c", "+", 1},
    {"jane.doe", "+", 8},   {"jöran+x", "+", 6},
    {"+", "+", 1},          {"a-b+c", "+", 3},
    {"a-b+c", "+-", 1},     {"++a", "+", 3},
    {"jane_doe", "+-_", 4}, {"x", "x", 1},
};

void test_base_length(void **state)
{
    size_t i, got;

    (void)state;
    for (i = 0; i < sizeof(base_cases) / sizeof(base_cases[0]); i++) {
        got = addr_base_length(base_cases[i].local, base_cases[i].delims);
        if (got != base_cases[i].want)
            fail_msg("base[%zu] \"%s\" \"%s\": got %zu, want %zu", i, base_cases[i].local,
                     show(base_cases[i].delims), got, base_cases[i].want);
    }
}

struct same_case {
    const char *a;
    size_t alen; /* (size_t)-1: strlen */
    const char *b;
    size_t blen;
    bool want;
};

#define SAME(a, b, want)                                                                 \
    {                                                                                    \
        a, (size_t)-1, b, (size_t)-1, want                                               \
    }

static const struct same_case same_cases[] = {
    SAME("a", "a", true),
    SAME("Jane@Example.COM", "jane@example.com", true),
    SAME("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", true),
    SAME("a", "b", false),
    SAME("ab", "a", false),
    SAME("a", "ab", false),
    SAME("", "", true),
    SAME("\xc3\x96", "\xc3\xb6", false),
    SAME("jöran", "JöRAN", true),
    SAME("\xc3\x89", "\xc3\xa9", false),
    SAME("[", "{", false),
    SAME("@", "`", false),
    SAME("Z", "z", true),
    SAME("jane+x", "jane-x", false),
    {"abc", 2, "abd", 2, true},
    {"abc", 3, "ABD", 3, false},
    {NULL, 0, NULL, 0, true},
};

void test_same_text(void **state)
{
    const struct same_case *c;
    size_t i, alen, blen;

    (void)state;
    for (i = 0; i < sizeof(same_cases) / sizeof(same_cases[0]); i++) {
        c = &same_cases[i];
        alen = c->alen == (size_t)-1 ? strlen(c->a) : c->alen;
        blen = c->blen == (size_t)-1 ? strlen(c->b) : c->blen;
        if (addr_same_text(c->a, alen, c->b, blen) != c->want)
            fail_msg("same[%zu] \"%s\" \"%s\": want %d", i, show(c->a), show(c->b),
                     c->want);
    }
}

/* A good list, then a bad one into the same list: nothing changes. */
void test_rollback(void **state)
{
    struct addr_list l = {0};
    const char *error = NULL;
    static const char good[] = "Jane <jane@example.com>, john@example.org";
    static const char bad[] = "a@b, c@d, e@f, G: g@h, (oops";

    (void)state;
    assert_int_equal(addr_parse_list(good, strlen(good), &l, &error), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(addr_parse_list(bad, strlen(bad), &l, &error), -1);
    assert_string_equal(error, "unbalanced comment");
    assert_int_equal(l.n, 2);
    assert_string_equal(l.v[0].written, "jane@example.com");
    assert_string_equal(l.v[1].written, "john@example.org");
    assert_int_equal(addr_parse_list("x@y", 3, &l, NULL), 0);
    assert_int_equal(l.n, 3);
    assert_string_equal(l.v[2].domain, "y");
    assert_int_equal(addr_parse_list("x@", 2, &l, NULL), -1);
    assert_int_equal(l.n, 3);
    addr_list_free(&l);
}

/* Free functions are NULL-safe and leave zeroed structures. */
void test_free_null_safe(void **state)
{
    struct addr a = {0};
    struct addr_list l = {0};
    const char *error = NULL;
    char *out = NULL;

    (void)state;
    addr_free(NULL);
    addr_list_free(NULL);
    addr_free(&a);
    addr_list_free(&l);
    assert_int_equal(addr_parse_envelope("<a@b>", 5, &a, &error), 0);
    addr_free(&a);
    assert_null(a.written);
    assert_null(a.local);
    assert_null(a.domain);
    assert_int_equal(addr_parse_list(NULL, 0, &l, &error), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(addr_parse_list(NULL, 3, &l, &error), -1);
    assert_int_equal(addr_parse_list("a@b", 3, NULL, &error), -1);
    assert_int_equal(addr_parse_envelope("a@b", 3, NULL, &error), -1);
    assert_int_equal(addr_parse_envelope(NULL, 0, &a, &error), -1);
    assert_string_equal(error, "empty address");
    assert_int_equal(addr_parse_envelope(NULL, 1, &a, &error), -1);
    assert_string_equal(error, "no input");
    assert_int_equal(addr_xtext_decode("a", 1, NULL, &error), -1);
    assert_int_equal(addr_xtext_decode(NULL, 1, &out, &error), -1);
    assert_null(out);
    assert_int_equal(addr_xtext_decode(NULL, 0, &out, &error), 0);
    assert_string_equal(out, "");
    free(out);
    assert_int_equal(addr_base_length(NULL, "+"), 0);
}

/* Appending to a list that is already full makes it grow in place. */
void test_append_grow(void **state)
{
    static const char first[] = "a@b, c@d, e@f, g@h, i@j";
    static const char second[] = "k@l, G: m@n, o@p;, q@r, s@t, u@v";
    static const char *const want[] = {"a@b", "c@d", "e@f", "g@h", "i@j", "k@l",
                                       "m@n", "o@p", "q@r", "s@t", "u@v"};
    struct addr_list l = {0};
    const char *error = NULL;
    size_t i;

    (void)state;
    assert_int_equal(addr_parse_list(first, strlen(first), &l, &error), 0);
    assert_int_equal(addr_parse_list(second, strlen(second), &l, &error), 0);
    assert_int_equal(l.n, sizeof(want) / sizeof(want[0]));
    assert_true(l.cap >= l.n);
    for (i = 0; i < l.n; i++)
        assert_string_equal(l.v[i].written, want[i]);
    addr_list_free(&l);
}

/* make - a heap buffer of prefix, n copies of fill, suffix. */
static char *make(const char *prefix, char fill, size_t n, const char *suffix,
                  size_t *len_r)
{
    size_t plen = strlen(prefix), slen = strlen(suffix);
    char *s = malloc(plen + n + slen + 1);

    assert_non_null(s);
    memcpy(s, prefix, plen);
    memset(s + plen, fill, n);
    memcpy(s + plen + n, suffix, slen + 1);
    *len_r = plen + n + slen;
    return s;
}

static void expect_one(const char *in, size_t len, const char *written)
{
    struct addr_list l = {0};
    const char *error = NULL;

    if (addr_parse_list(in, len, &l, &error) != 0)
        fail_msg("error \"%s\"", show(error));
    assert_int_equal(l.n, 1);
    assert_string_equal(l.v[0].written, written);
    addr_list_free(&l);
}

#define MB (1024u * 1024u)

void test_big_padding(void **state)
{
    size_t len;
    char *s;

    (void)state;
    s = make("(", 'x', MB, ") Jane <jane@example.com>", &len);
    expect_one(s, len, "jane@example.com");
    free(s);
    s = make("jane@example.com", ' ', MB, "", &len);
    expect_one(s, len, "jane@example.com");
    free(s);
    s = make("", '\t', MB, "jane@example.com\t", &len);
    expect_one(s, len, "jane@example.com");
    free(s);
    s = make("\"", 'q', MB, "\" <j@x>", &len);
    expect_one(s, len, "j@x");
    free(s);
}

void test_big_local(void **state)
{
    struct addr_list l = {0};
    const char *error = NULL;
    struct addr a = {0};
    size_t len;
    char *s;

    (void)state;
    s = make("", 'a', MB, "@example.com", &len);
    assert_int_equal(addr_parse_list(s, len, &l, &error), 0);
    assert_int_equal(l.n, 1);
    assert_int_equal(strlen(l.v[0].written), len);
    assert_int_equal(strlen(l.v[0].local), MB);
    assert_memory_equal(l.v[0].written, s, len);
    assert_string_equal(l.v[0].domain, "example.com");
    addr_list_free(&l);
    assert_int_equal(addr_parse_envelope(s, len, &a, &error), 0);
    assert_int_equal(strlen(a.local), MB);
    addr_free(&a);
    free(s);
}

/* nest - depth "(" ... ")" pairs, then text, then depth more pairs. */
static char *nest(size_t depth, const char *text, size_t *len_r)
{
    size_t tlen = strlen(text), len = 4 * depth + tlen;
    char *s = malloc(len + 1);

    assert_non_null(s);
    memset(s, '(', depth);
    memset(s + depth, ')', depth);
    memcpy(s + 2 * depth, text, tlen);
    memset(s + 2 * depth + tlen, '(', depth);
    memset(s + 3 * depth + tlen, ')', depth);
    s[len] = '\0';
    *len_r = len;
    return s;
}

void test_deep_comments(void **state)
{
    struct addr_list l = {0};
    const char *error = NULL;
    size_t len;
    char *s;

    (void)state;
    s = nest(10000, " Jane <jane@example.com> ", &len);
    expect_one(s, len, "jane@example.com");
    free(s);
    s = nest(300000, "a@b", &len);
    expect_one(s, len, "a@b");
    s[len - 1] = ' '; /* one ')' short */
    assert_int_equal(addr_parse_list(s, len, &l, &error), -1);
    assert_string_equal(error, "unbalanced comment");
    assert_int_equal(l.n, 0);
    free(s);
}

/* list_of - n copies of "u@example.com" separated by commas. */
static char *list_of(size_t n, size_t *len_r)
{
    static const char one[] = "u@example.com,";
    size_t i, w = sizeof(one) - 1;
    char *s = malloc(n * w + 1);

    assert_non_null(s);
    for (i = 0; i < n; i++)
        memcpy(s + i * w, one, w);
    s[n * w] = '\0';
    *len_r = n * w;
    return s;
}

void test_list_limit(void **state)
{
    struct addr_list l = {0};
    const char *error = NULL;
    size_t len;
    char *s;

    (void)state;
    s = list_of(HM_ADDR_MAX_LIST, &len);
    assert_int_equal(addr_parse_list(s, len, &l, &error), 0);
    assert_int_equal(l.n, HM_ADDR_MAX_LIST);
    assert_string_equal(l.v[HM_ADDR_MAX_LIST - 1].written, "u@example.com");
    free(s);
    s = list_of(HM_ADDR_MAX_LIST + 1, &len);
    assert_int_equal(addr_parse_list(s, len, &l, &error), -1);
    assert_string_equal(error, "too many addresses");
    assert_int_equal(l.n, HM_ADDR_MAX_LIST);
    addr_list_free(&l);
    assert_int_equal(addr_parse_list(s, len, &l, &error), -1);
    assert_int_equal(l.n, 0);
    assert_null(l.v);
    free(s);
}

void test_input_limit(void **state)
{
    struct addr_list l = {0};
    const char *error = NULL;
    struct addr a = {0};
    char *s, *out = NULL;
    size_t len;

    (void)state;
    s = make("a@b", ' ', HM_ADDR_MAX_INPUT - 3, "", &len);
    assert_int_equal(len, HM_ADDR_MAX_INPUT);
    expect_one(s, len, "a@b");
    free(s);
    s = make("a@b", ' ', HM_ADDR_MAX_INPUT - 2, "", &len);
    assert_int_equal(addr_parse_list(s, len, &l, &error), -1);
    assert_string_equal(error, "input too long");
    assert_int_equal(l.n, 0);
    error = NULL;
    assert_int_equal(addr_parse_envelope(s, len, &a, &error), -1);
    assert_string_equal(error, "input too long");
    error = NULL;
    assert_int_equal(addr_xtext_decode(s, len, &out, &error), -1);
    assert_string_equal(error, "input too long");
    assert_null(out);
    free(s);
}

/*
 * test_eight - the pieces of the 8-bit rule (the second seed): what MAIL
 * FROM's ESMTP arguments declare, a byte >= 0x80 wherever it is, and the
 * recipient domains whose next hop takes 7-bit only.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "eight.h"

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

static void test_domain(void **state)
{
    char *names[] = {"domino.example.com", "Legacy.Example.NET.", "."};
    struct cfg_list list = {names, 2};
    struct cfg_list dot = {names + 2, 1};
    struct cfg_list none = {NULL, 0};

    (void)state;
    assert_string_equal(eight_domain("domino.example.com", &list), "domino.example.com");
    assert_string_equal(eight_domain("DOMINO.Example.COM", &list), "domino.example.com");
    assert_string_equal(eight_domain("domino.example.com.", &list), "domino.example.com");
    assert_string_equal(eight_domain("mail.domino.example.com", &list),
                        "domino.example.com");
    assert_string_equal(eight_domain("a.b.domino.example.com", &list),
                        "domino.example.com");
    assert_string_equal(eight_domain("legacy.example.net", &list), "Legacy.Example.NET.");
    assert_null(eight_domain("notdomino.example.com", &list));
    assert_null(eight_domain("domino.example.com.evil.test", &list));
    assert_null(eight_domain("example.com", &list));
    assert_null(eight_domain("", &list));
    assert_null(eight_domain("domino.example.com", &none));
    assert_null(eight_domain("example.com", &dot)); /* a lone "." is no domain of all */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declared),
        cmocka_unit_test(test_found),
        cmocka_unit_test(test_chunks),
        cmocka_unit_test(test_domain),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

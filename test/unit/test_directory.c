/*
 * test_directory - what the directory module does without a server:
 * RFC 4515 escaping and login_filter expansion, hostile logins included.
 * (The directory test layer runs the real lookups against slapd.)
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

#include "../../filter/dir_filter.h" /* private to the directory module */
#include "directory.h"
#include "testutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
    const char *value;
    size_t len;
    const char *escaped;
} escapes[] = {
    {"janed", 5, "janed"},
    {"*", 1, "\\2A"},
    {"(", 1, "\\28"},
    {")", 1, "\\29"},
    {"\\", 1, "\\5C"},
    {"a\0b", 3, "a\\00b"},
    {"\0", 1, "\\00"},
    {"j\xc3\xa9r\xc3\xb4me", 8, "j\\C3\\A9r\\C3\\B4me"},
    {"\xff\xfe", 2, "\\FF\\FE"},
    {"janed)(uid=*", 12, "janed\\29\\28uid=\\2A"},
    {"*)(|(objectClass=*", 18, "\\2A\\29\\28|\\28objectClass=\\2A"},
    {"\\2a", 3, "\\5C2a"},
    {"%u%l%d", 6, "%u%l%d"},
    {"a=b,c", 5, "a=b,c"},
    {"", 0, ""},
    {"~=>=<=", 6, "~=>=<="},
};

static void test_escape(void **state)
{
    char *out;
    size_t i;

    (void)state;
    for (i = 0; i < N(escapes); i++) {
        assert_int_equal(dir_filter_escape(escapes[i].value, escapes[i].len, &out), 0);
        if (strcmp(out, escapes[i].escaped) != 0)
            fail_msg("case %zu: got %s, want %s", i, out, escapes[i].escaped);
        free(out);
    }
}

/* login_filter templates, each with logins and the filters they expand to. */
static const struct {
    const char *template;
    const char *cases[7][2]; /* login, filter; up to the first NULL login */
} expansions[] = {
    {"(uid=%u)",
     {{"janed", "(uid=janed)"},
      {"*", "(uid=\\2A)"},
      {"janed)(uid=*", "(uid=janed\\29\\28uid=\\2A)"},
      {"\\2a", "(uid=\\5C2a)"},
      {"%u", "(uid=%u)"},
      {"%l@%d", "(uid=%l@%d)"}}},
    {"(uid=%l)",
     {{"janed@example.com", "(uid=janed)"},
      {"janed", "(uid=janed)"},
      {"a@b@example.com", "(uid=a@b)"}}},
    {"(&(uid=%l)(dc=%d))",
     {{"janed@example.com", "(&(uid=janed)(dc=example.com))"},
      {"janed", "(&(uid=janed)(dc=))"},
      {"j*@(x)", "(&(uid=j\\2A)(dc=\\28x\\29))"},
      {"@", "(&(uid=)(dc=))"}}},
    {"(mail=%u)",
     {{"j\xc3\xa9@b\xc3\xbc"
       "cher.example",
       "(mail=j\\C3\\A9@b\\C3\\BCcher.example)"}}},
    {"(x=100%%)", {{"a", "(x=100%)"}}},
    {"(|(uid=%u)(mail=%u))", {{"a*", "(|(uid=a\\2A)(mail=a\\2A))"}}},
};

/* TEMPLATE expanded for LOGIN is the filter WANT. */
static void expand_one(const char *template, const char *login, const char *want)
{
    const char *why = NULL;
    char *out;

    if (dir_filter_expand(template, login, NULL, NULL, &out, &why) < 0)
        fail_msg("%s with %s: %s", template, login, why);
    if (strcmp(out, want) != 0)
        fail_msg("%s with %s: got %s, want %s", template, login, out, want);
    free(out);
}

static void test_expand(void **state)
{
    size_t i, k;

    (void)state;
    for (i = 0; i < N(expansions); i++)
        for (k = 0; k < N(expansions[i].cases) && expansions[i].cases[k][0] != NULL; k++)
            expand_one(expansions[i].template, expansions[i].cases[k][0],
                       expansions[i].cases[k][1]);
}

static void test_expand_bad_template(void **state)
{
    const char *why = NULL;
    char *out = NULL;

    (void)state;
    assert_int_equal(dir_filter_expand("(uid=%s)", "x", NULL, NULL, &out, &why), -1);
    assert_string_equal(why, "only %u, %l, %d and %% may be used in a filter");
    assert_int_equal(dir_filter_expand("(uid=%", "x", NULL, NULL, &out, &why), -1);
    assert_null(out);
}

/* A long hostile login is escaped whole, never cut. */
static void test_expand_long_login(void **state)
{
    size_t len = 1 << 20, i;
    char *login = malloc(len + 1), *out;
    const char *why;

    (void)state;
    assert_non_null(login);
    for (i = 0; i < len; i++)
        login[i] = "*()\\"[i % 4];
    login[len] = '\0';
    assert_int_equal(dir_filter_expand("(uid=%u)", login, NULL, NULL, &out, &why), 0);
    assert_int_equal(strlen(out), 3 * len + 6);
    assert_null(strchr(out + 5, '*'));
    assert_null(strchr(out + 5, '(')); /* only the template's own */
    assert_int_equal(out[strlen(out) - 1], ')');
    assert_ptr_equal(strchr(out, ')'), out + strlen(out) - 1);
    free(out);
    free(login);
}

/* Answers that need no server. */
static void test_lookup_without_server(void **state)
{
    struct cfg *cfg = test_config("local_hosts = \"mail.example.com\";\n"
                                  "ldap = { uri = \"ldap://x\"; base = \"dc=x\"; };\n");
    struct entry *e = (struct entry *)1;
    char *detail = NULL;
    struct dir *dir;

    (void)state;
    /* A URI that libldap refuses, which the configuration check refuses too. */
    free(cfg->ldap.uri.v[0]);
    cfg->ldap.uri.v[0] = strdup("ldap://[");
    assert_non_null(cfg->ldap.uri.v[0]);
    dir = dir_new(cfg);
    assert_non_null(dir);
    assert_int_equal(dir_lookup(dir, "", &e, &detail), HM_LOOKUP_NOT_FOUND);
    assert_null(e);
    assert_string_equal(detail, "the login is empty");
    free(detail);
    assert_int_equal(dir_lookup(dir, "janed", &e, &detail), HM_LOOKUP_ERROR);
    assert_null(e);
    assert_non_null(strstr(detail, "ldap://["));
    free(detail);
    dir_free(dir);
    dir_free(NULL);
    cfg_unref(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_expand),
        cmocka_unit_test(test_expand_bad_template),
        cmocka_unit_test(test_expand_long_login),
        cmocka_unit_test(test_lookup_without_server),
    };

    return cmocka_run_group_tests_name("directory", tests, NULL, NULL);
}

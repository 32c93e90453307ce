/*
 * test_manpage - every key of the configuration table is documented in
 * homed-milter.conf(5), and the page documents no key the table lacks.
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

#include "cfg.h"

#define MAX_KEYS 128

/* The keys the page documents: ".B name" right after ".TP" in KEYS. */
static size_t page_keys(char keys[][64])
{
    const char *src = getenv("HM_SRCDIR");
    char *path = NULL, line[512];
    bool in_keys = false, after_tp = false;
    size_t n = 0;
    FILE *f;

    assert_true(asprintf(&path, "%s/filter/homed-milter.conf.5", src ? src : ".") > 0);
    f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    while (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, ".SH ", 4) == 0)
            in_keys = strcmp(line, ".SH KEYS") == 0;
        else if (in_keys && after_tp && strncmp(line, ".B ", 3) == 0) {
            assert_true(n < MAX_KEYS);
            assert_true(strlen(line + 3) < 64);
            memcpy(keys[n++], line + 3, strlen(line + 3) + 1);
        }
        after_tp = strcmp(line, ".TP") == 0;
    }
    fclose(f);
    free(path);
    return n;
}

static void test_keys_documented(void **state)
{
    static char keys[MAX_KEYS][64];
    size_t n = page_keys(keys), i, j;
    const char *name;

    (void)state;
    for (i = 0; (name = cfg_key_name(i)) != NULL; i++) {
        for (j = 0; j < n && strcmp(keys[j], name) != 0; j++)
            ;
        if (j == n)
            fail_msg("%s is not documented in homed-milter.conf(5)", name);
    }
    for (j = 0; j < n; j++) {
        for (i = 0; (name = cfg_key_name(i)) != NULL && strcmp(keys[j], name) != 0; i++)
            ;
        if (name == NULL)
            fail_msg("homed-milter.conf(5) documents %s, which is no key", keys[j]);
    }
    assert_true(n > 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_documented),
    };

    return cmocka_run_group_tests_name("manpage", tests, NULL, NULL);
}

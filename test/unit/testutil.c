/*
 * testutil - helpers shared by the unit tests
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

struct cfg *test_config(const char *fmt, ...)
{
    char path[] = "/tmp/hm-test-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    struct cfg *cfg = NULL;
    char *error = NULL;
    va_list ap;

    assert_non_null(f);
    va_start(ap, fmt);
    vfprintf(f, fmt, ap);
    va_end(ap);
    fclose(f);
    if (cfg_load(path, &cfg, &error) < 0) {
        unlink(path);
        fail_msg("config: %s", error);
    }
    unlink(path);
    return cfg;
}

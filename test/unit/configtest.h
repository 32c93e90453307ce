/*
 * configtest.h - what the two files of the test_config program share
 * (test_config.c, with main, and test_config_load.c); included after
 * <cmocka.h>
 */
#ifndef HM_CONFIGTEST_H
#define HM_CONFIGTEST_H

#include "cfg.h"

#define BASE       "ldap = { base = \"dc=x\"; };\n"
#define LDAP(keys) "ldap = { base = \"dc=x\";\n" keys " };\n"
#define N(a)       (sizeof(a) / sizeof((a)[0]))

/* The test directory, made by the group's setup and removed after. */
extern char test_dir[];

/* Write TEXT to NAME in the test directory; returns the malloc'd path. */
char *write_file(const char *name, const char *text);

/* Load TEXT; return the error with the path replaced by FILE, or "ok". */
char *load_error(const char *text);

/* Load the file PATH; fails the test on an error. */
struct cfg *load_path(const char *path);

/* Load TEXT as NAME in the test directory; fails the test on an error. */
struct cfg *load_ok(const char *name, const char *text);

/* The tests of test_config_load.c, in the order they run. */
extern const struct CMUnitTest config_load_tests[];
extern const size_t config_load_ntests;

#endif

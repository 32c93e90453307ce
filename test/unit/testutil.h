/*
 * testutil.h - helpers shared by the unit tests (cmocka)
 */
#ifndef HM_TESTUTIL_H
#define HM_TESTUTIL_H

#include "cfg.h"

/*
 * test_config - load a configuration whose text is FMT formatted with the
 * arguments, through a temporary file; a load error fails the test. The
 * caller unrefs the result.
 */
struct cfg *test_config(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

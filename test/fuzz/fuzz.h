/*
 * fuzz.h - what the libFuzzer harnesses share
 *
 * The entry point's prototype, and CHECK: an invariant of the code under
 * test that the input broke aborts the run, naming the harness's file and
 * line and the condition, so that libFuzzer keeps the input.
 */
#ifndef HM_FUZZ_H
#define HM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond))                                                                     \
            fuzz_violated(__FILE__, __LINE__, #cond);                                    \
    } while (0)

/* fuzz_violated - "FILE:LINE: invariant violated: WHAT" on stderr, abort. */
static inline void fuzz_violated(const char *file, int line, const char *what)
{
    const char *base = strrchr(file, '/');

    fprintf(stderr, "%s:%d: invariant violated: %s\n", base != NULL ? base + 1 : file,
            line, what);
    abort();
}

#endif

/*
 * tool.h - what the load generators and benchmark programs share
 *
 * Header-only, so that a program (test/tools, test/bench) needs no
 * library of its own to link. Pure; safe from any thread.
 */
#ifndef HM_TOOL_H
#define HM_TOOL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * tool_number - S as a decimal number from MIN to MAX in *V_R. Returns 0,
 * or -1 after saying on stderr, as program PROG, what S should have been.
 */
static inline int tool_number(const char *prog, const char *s, unsigned long min,
                              unsigned long max, unsigned long *v_r)
{
    char *end;

    errno = 0;
    *v_r = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || *s == '-' || *v_r < min || *v_r > max) {
        fprintf(stderr, "%s: not a number from %lu to %lu: %s\n", prog, min, max, s);
        return -1;
    }
    return 0;
}

#endif

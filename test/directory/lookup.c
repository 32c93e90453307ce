/*
 * lookup - drive one struct dir through several lookups, for the
 * directory layer: reads commands from stdin, one per line, and answers
 * each on stdout, so that a test can change the server between lookups
 * of the same long-lived client (as the milter daemon does).
 *
 *	LOGIN		answer "found DN", "not-found DETAIL" or "error DETAIL"
 *
 * usage: lookup CONFIG
 */
#include "autoconf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "directory.h"

int main(int argc, char **argv)
{
    struct cfg *cfg = NULL;
    struct entry *e;
    struct dir *dir;
    char *error = NULL, *detail, *line = NULL;
    size_t cap = 0;
    ssize_t len;

    if (argc != 2 || cfg_load(argv[1], &cfg, &error) < 0) {
        fprintf(stderr, "%s\n", error ? error : "usage: lookup CONFIG");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    dir = dir_new(cfg);
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (dir != NULL && (len = getline(&line, &cap, stdin)) > 0) {
        line[strcspn(line, "\n")] = '\0';
        switch (dir_lookup(dir, line, &e, &detail)) {
        case HM_LOOKUP_FOUND:
            printf("found %s\n", e->dn);
            break;
        case HM_LOOKUP_NOT_FOUND:
            printf("not-found %s\n", detail);
            break;
        case HM_LOOKUP_ERROR:
        case HM_LOOKUP_AMBIGUOUS:
            printf("error %s\n", detail);
            break;
        }
        entry_unref(e);
        free(detail);
    }
    free(line);
    dir_free(dir);
    cfg_unref(cfg);
    return 0;
}

/*
 * lookup - drive one struct dir through several lookups, for the
 * directory layer: reads commands from stdin, one per line, and answers
 * each on stdout, so that a test can change the server between lookups
 * of the same long-lived client (as the milter daemon does).
 *
 *	LOGIN		answer "found DN", "not-found DETAIL" or "error DETAIL"
 *	parallel N LOGIN
 *			N threads look LOGIN up at once; N answer lines
 *
 * usage: lookup CONFIG
 */
#include "autoconf.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "directory.h"

/* Answer one lookup of LOGIN as one line (one printf: whole under threads). */
static void answer(struct dir *dir, const char *login)
{
    struct entry *e;
    char *detail;

    switch (dir_lookup(dir, login, &e, &detail)) {
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

struct job {
    struct dir *dir;
    const char *login;
};

static void *run_job(void *arg)
{
    struct job *job = arg;

    answer(job->dir, job->login);
    return NULL;
}

/* "N LOGIN": N threads at once, each one lookup. */
static void parallel(struct dir *dir, const char *args)
{
    pthread_t threads[64];
    struct job job = {dir, NULL};
    char *end;
    long n = strtol(args, &end, 10), i, started = 0;

    if (n < 1 || n > 64 || *end != ' ') {
        printf("error bad parallel command\n");
        return;
    }
    job.login = end + 1;
    for (i = 0; i < n; i++)
        if (pthread_create(&threads[started], NULL, run_job, &job) == 0)
            started++;
    for (i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    for (i = started; i < n; i++)
        printf("error cannot start a thread\n");
}

int main(int argc, char **argv)
{
    struct cfg *cfg = NULL;
    struct dir *dir;
    char *error = NULL, *line = NULL;
    size_t cap = 0;
    ssize_t len;

    if (argc != 2 || cfg_load(argv[1], &cfg, &error) < 0) {
        fprintf(stderr, "%s\n", error ? error : "usage: lookup CONFIG");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    dir_library_init();
    dir = dir_new(cfg);
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (dir != NULL && (len = getline(&line, &cap, stdin)) > 0) {
        line[strcspn(line, "\n")] = '\0';
        if (strncmp(line, "parallel ", 9) == 0)
            parallel(dir, line + 9);
        else
            answer(dir, line);
    }
    free(line);
    dir_free(dir);
    cfg_unref(cfg);
    return 0;
}

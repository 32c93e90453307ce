/*
 * lookup - drive one struct dir through several lookups, for the
 * directory layer: reads commands from stdin, one per line, and answers
 * each on stdout, so that a test can change the server between lookups
 * of the same long-lived client (as the milter daemon does).
 *
 *	LOGIN		answer "found DN", "not-found DETAIL" or "error DETAIL"
 *	parallel N LOGIN
 *			N threads look LOGIN up at once; N answer lines
 *	stagger N MS LOGIN
 *			the same, the threads started MS milliseconds apart
 *	send-as ADDRESS LOGIN
 *	on-behalf ADDRESS LOGIN
 *			look LOGIN up, then search the right over ADDRESS
 *			with its entry's DN (dir_grant): "found DN" (the
 *			granting entry), "not-found DETAIL", "ambiguous
 *			DETAIL" or "error DETAIL"; "login-not-found DETAIL"
 *			or "login-error DETAIL" when the login's own lookup
 *			did not find one entry
 *
 * usage: lookup CONFIG
 */
#include "autoconf.h"

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "directory.h"

/*
 * One answer line (one printf: whole under threads): PREFIX, then "found
 * DN" ("found DN (stale: ...)" from the cache through an outage),
 * "not-found DETAIL", "error DETAIL", or AMBIGUOUS and DETAIL for more
 * than one entry.
 */
static void say(const char *prefix, enum hm_lookup result, const struct entry *e,
                const char *detail, const char *ambiguous)
{
    const char *word = result == HM_LOOKUP_FOUND       ? "found"
                       : result == HM_LOOKUP_NOT_FOUND ? "not-found"
                       : result == HM_LOOKUP_AMBIGUOUS ? ambiguous
                                                       : "error";

    printf("%s%s %s%s%s%s\n", prefix, word,
           result == HM_LOOKUP_FOUND ? e->dn
           : detail                  ? detail
                                     : "",
           /* found, with a detail: kept through an outage (cache.stale_ttl) */
           result == HM_LOOKUP_FOUND && detail ? " (" : "",
           result == HM_LOOKUP_FOUND && detail ? detail : "",
           result == HM_LOOKUP_FOUND && detail ? ")" : "");
}

/* Answer one lookup of LOGIN as one line; two entries are an error. */
static void answer(struct dir *dir, const char *login)
{
    struct entry *e;
    char *detail;
    enum hm_lookup result = dir_lookup(dir, login, &e, &detail);

    say("", result, e, detail, "error");
    entry_unref(e);
    free(detail);
}

/* "ADDRESS LOGIN": the search of RIGHT for LOGIN over ADDRESS, as one line. */
static void grant(struct dir *dir, enum hm_right right, const char *args)
{
    struct entry *login_entry = NULL, *e = NULL;
    char *detail = NULL, *address;
    const char *login = strchr(args, ' ');
    enum hm_lookup result;

    if (login == NULL || (address = strndup(args, login - args)) == NULL) {
        printf("error bad grant command\n");
        return;
    }
    login++;
    result = dir_lookup(dir, login, &login_entry, &detail);
    if (result != HM_LOOKUP_FOUND) {
        say("login-", result, NULL, detail, "error");
    } else {
        free(detail);
        result = dir_grant(dir, right, login, login_entry->dn, address, &e, &detail);
        say("", result, e, detail, "ambiguous");
    }
    entry_unref(e);
    entry_unref(login_entry);
    free(detail);
    free(address);
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
/* ARGS: "N LOGIN", or with STAGGER "N MS LOGIN" (MS between the starts). */
static void parallel(struct dir *dir, const char *args, bool stagger)
{
    pthread_t threads[64];
    struct job job = {dir, NULL};
    char *end;
    long n = strtol(args, &end, 10), i, started = 0, ms = 0;

    if (stagger && n >= 1 && *end == ' ')
        ms = strtol(end + 1, &end, 10);
    if (n < 1 || n > 64 || ms < 0 || ms > 10000 || *end != ' ') {
        printf("error bad parallel command\n");
        return;
    }
    job.login = end + 1;
    for (i = 0; i < n; i++) {
        struct timespec gap = {ms / 1000, (ms % 1000) * 1000000};

        if (i > 0 && ms > 0)
            nanosleep(&gap, NULL);
        if (pthread_create(&threads[started], NULL, run_job, &job) == 0)
            started++;
    }
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
            parallel(dir, line + 9, false);
        else if (strncmp(line, "stagger ", 8) == 0)
            parallel(dir, line + 8, true);
        else if (strncmp(line, "send-as ", 8) == 0)
            grant(dir, HM_RIGHT_SEND_AS, line + 8);
        else if (strncmp(line, "on-behalf ", 10) == 0)
            grant(dir, HM_RIGHT_ON_BEHALF, line + 10);
        else
            answer(dir, line);
    }
    free(line);
    dir_free(dir);
    cfg_unref(cfg);
    return 0;
}

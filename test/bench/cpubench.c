/*
 * NAME
 *	cpubench - warm decisions through the cache and the policy, for callgrind
 * SUMMARY
 *	cpubench -c CONFIG [-m warm|policy] [-n DECISIONS] [-u USERS]
 *		[-p PREFIX] [-r REJECT_EVERY]
 * DESCRIPTION
 *	Makes DECISIONS MAIL FROM decisions the way the milter's
 *	mlfi_envfrom does, minus libmilter and logging, through check:
 *	check_login() (dir_lookup()), check_envelope() (parse the envelope
 *	sender, policy_decide()), free what the decision owns. Logins are
 *PREFIX00001..PREFIXnnnnn (USERS of them, in turn, as test/bench/gen-ldif.sh writes
 *them); each sends as its own address, except every REJECT_EVERY-th decision (default
 *	10), which sends as another user's address (a not-owned reject, with
 *	its reply text).
 *
 *	First every login is looked up once against the directory of CONFIG
 *	(which must keep at least USERS answers for the whole run), so the
 *	cache is warm. Then only the measured loop runs under callgrind's
 *	instrumentation (CALLGRIND_START/STOP_INSTRUMENTATION; run it with
 *	valgrind --tool=callgrind --instr-atstart=no):
 *
 *	warm	dir_lookup (a cache hit) + address + policy: the figure;
 *	policy	the same decisions with the entry already in hand (kept
 *		from the first pass): the baseline, so that the cache's
 *		share is the difference.
 *
 *	Prints key=value lines (mode, decisions, accepts, rejects, others,
 *	ns per decision on this run's clock, meaningless under valgrind).
 *	Exit status 1 when a decision was not the expected one.
 *
 *	Thread safety: one thread.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#if __has_include(<valgrind/callgrind.h>) /* package valgrind */
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include "cfg.h"
#include "check.h"
#include "directory.h"
#include "../tools/tool.h"

static struct {
    struct cfg *cfg;
    struct dir *dir;
    char **logins;          /* USERS of them */
    struct entry **entries; /* policy mode: the first pass's answers */
    char **senders;         /* one per decision */
    unsigned long users, decisions, reject_every;
} cb;

static const char cb_usage[] =
    "usage: cpubench -c CONFIG [-m warm|policy] [-n DECISIONS] "
    "[-u USERS] [-p PREFIX] [-r REJECT_EVERY]";

static void cb_fail(const char *what)
{
    fprintf(stderr, "cpubench: %s\n", what);
    exit(2);
}

/* PREFIXnnnnn, or <PREFIXnnnnn@mail.example.com> with ADDRESS set. */
static char *cb_name(const char *prefix, unsigned long n, int address)
{
    char *s = NULL;
    int rc = address ? asprintf(&s, "<%s%05lu@mail.example.com>", prefix, n)
                     : asprintf(&s, "%s%05lu", prefix, n);

    if (rc < 0)
        cb_fail("out of memory");
    return s;
}

/* The policy mode's directory: the entry held from the first pass. */
static enum hm_lookup cb_held(void *ctx, const char *login, struct entry **entry_r,
                              char **detail_r)
{
    (void)login;
    *entry_r = entry_ref(ctx);
    *detail_r = NULL;
    return HM_LOOKUP_FOUND;
}

/*
 * One decision as mlfi_envfrom makes it, through check: with HELD NULL,
 * the entry comes from dir_lookup; else HELD is the entry. Returns the
 * action.
 */
static __attribute__((noinline)) enum policy_action
cb_decide(const char *login, const char *sender, struct entry *held)
{
    struct check_msg m;
    struct check_result r = {0};
    enum policy_action action;

    if (held == NULL)
        check_begin(&m, cb.cfg, check_dir_lookup, check_dir_grant, cb.dir);
    else
        check_begin(&m, cb.cfg, cb_held, NULL, held);
    check_login(&m, login);
    if (check_envelope(&m, sender, &r) < 0)
        r.v.action = HM_TEMPFAIL;
    action = r.v.action;
    check_result_clear(&r);
    check_end(&m);
    return action;
}

/* The logins, the senders of every decision, and the first (filling) pass. */
static void cb_prepare(const char *prefix, int keep)
{
    unsigned long i, u;
    struct entry *e;
    char *detail;

    cb.logins = calloc(cb.users, sizeof(*cb.logins));
    cb.entries = calloc(cb.users, sizeof(*cb.entries));
    cb.senders = calloc(cb.decisions, sizeof(*cb.senders));
    if (cb.logins == NULL || cb.entries == NULL || cb.senders == NULL)
        cb_fail("out of memory");
    for (i = 0; i < cb.users; i++)
        cb.logins[i] = cb_name(prefix, i + 1, 0);
    for (i = 0; i < cb.decisions; i++) {
        u = i % cb.users;
        if (i % cb.reject_every == cb.reject_every - 1)
            u = (u + 1) % cb.users; /* someone else's address */
        cb.senders[i] = cb_name(prefix, u + 1, 1);
    }
    for (i = 0; i < cb.users; i++) {
        if (dir_lookup(cb.dir, cb.logins[i], &e, &detail) != HM_LOOKUP_FOUND) {
            fprintf(stderr, "cpubench: %s: %s\n", cb.logins[i],
                    detail ? detail : "not found");
            exit(2);
        }
        if (keep)
            cb.entries[i] = e;
        else
            entry_unref(e);
    }
}

static unsigned long cb_number(const char *s, unsigned long min, unsigned long max)
{
    unsigned long v;

    if (tool_number("cpubench", s, min, max, &v) < 0)
        cb_fail(cb_usage);
    return v;
}

/* The command line into cb; returns CONFIG, the mode and prefix in *MODE_R, *PREFIX_R. */
static const char *cb_options(int argc, char **argv, const char **mode_r,
                              const char **prefix_r)
{
    const char *config = NULL;
    int c;

    *mode_r = "warm";
    *prefix_r = "u";
    cb.decisions = 10000;
    cb.users = 1000;
    cb.reject_every = 10;
    while ((c = getopt(argc, argv, "c:m:n:p:r:u:")) != -1) {
        if (c == 'c')
            config = optarg;
        else if (c == 'm')
            *mode_r = optarg;
        else if (c == 'p')
            *prefix_r = optarg;
        else if (c == 'n')
            cb.decisions = cb_number(optarg, 1, 100000000);
        else if (c == 'r')
            cb.reject_every = cb_number(optarg, 2, 100000000);
        else if (c == 'u')
            cb.users = cb_number(optarg, 2, 10000000);
        else
            cb_fail(cb_usage);
    }
    if (config == NULL || optind != argc ||
        (strcmp(*mode_r, "warm") != 0 && strcmp(*mode_r, "policy") != 0))
        cb_fail(cb_usage);
    return config;
}

int main(int argc, char **argv)
{
    const char *mode, *prefix, *config = cb_options(argc, argv, &mode, &prefix);
    unsigned long i, got[3] = {0, 0, 0}, want_rejects;
    struct timespec t0, t1;
    char *error = NULL;
    int policy_only;

    policy_only = strcmp(mode, "policy") == 0;
    if (cfg_load(config, &cb.cfg, &error) < 0)
        cb_fail(error);
    if (cb.cfg->cache.ttl < 600 || (unsigned long)cb.cfg->cache.size < cb.users)
        cb_fail("the cache must keep every user for the run: cache.ttl >= 600, "
                "cache.size >= USERS");
    dir_library_init();
    if ((cb.dir = dir_new(cb.cfg)) == NULL)
        cb_fail("out of memory");
    cb_prepare(prefix, policy_only);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    CALLGRIND_START_INSTRUMENTATION;
    for (i = 0; i < cb.decisions; i++)
        got[cb_decide(cb.logins[i % cb.users], cb.senders[i],
                      policy_only ? cb.entries[i % cb.users] : NULL)]++;
    CALLGRIND_STOP_INSTRUMENTATION;
    clock_gettime(CLOCK_MONOTONIC, &t1);

    want_rejects = cb.decisions / cb.reject_every;
    printf("mode=%s\ndecisions=%lu\naccepts=%lu\nrejects=%lu\nothers=%lu\n", mode,
           cb.decisions, got[HM_ACCEPT], got[HM_REJECT], got[HM_TEMPFAIL]);
    printf("ns_per_decision=%.1f\n",
           ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / cb.decisions);
    for (i = 0; i < cb.users; i++) {
        entry_unref(cb.entries[i]);
        free(cb.logins[i]);
    }
    for (i = 0; i < cb.decisions; i++)
        free(cb.senders[i]);
    free(cb.logins);
    free(cb.entries);
    free(cb.senders);
    dir_free(cb.dir);
    cfg_unref(cb.cfg);
    return got[HM_REJECT] == want_rejects && got[HM_TEMPFAIL] == 0 ? 0 : 1;
}

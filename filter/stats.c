/*
 * NAME
 *	stats - counters since start
 * SUMMARY
 *	stats_message(), stats_cache(), stats_lookup(), stats_line()
 * DESCRIPTION
 *	What homed-milter has done since it started, for the counter line
 *	the daemon logs every stats_interval seconds and on SIGUSR2, and
 *	for the STATUS systemd shows: messages, accepts, rejects by reason,
 *	tempfails, cache hits and misses, directory lookups and errors, and
 *	the lookups' median and 99th percentile time.
 *
 *	Lookup times go into a histogram of power-of-two microsecond
 *	buckets (1 us to about 35 minutes); a percentile is read as the
 *	upper bound of the bucket it falls in, so it is never understated.
 *
 *	Thread safety: every counter is an atomic variable; a line read
 *	while others count is a consistent-enough snapshot, never a torn one.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

#define STATS_BUCKETS  32 /* bucket b: lookups of less than 2^b us */
#define STATS_NREASONS (HM_REASON_NO_MEMORY + 1)

static unsigned long stats_messages, stats_actions[HM_TEMPFAIL + 1];
static unsigned long stats_rejects[STATS_NREASONS];
static unsigned long stats_hits, stats_misses, stats_lookups, stats_errors;
static unsigned long stats_times[STATS_BUCKETS];

static void stats_add(unsigned long *counter)
{
    __atomic_add_fetch(counter, 1, __ATOMIC_RELAXED);
}

static unsigned long stats_get(const unsigned long *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

void stats_message(enum policy_action action, enum policy_reason reason)
{
    stats_add(&stats_messages);
    if ((unsigned)action <= HM_TEMPFAIL)
        stats_add(&stats_actions[action]);
    if (action == HM_REJECT && (unsigned)reason < STATS_NREASONS)
        stats_add(&stats_rejects[reason]);
}

void stats_cache(bool hit)
{
    stats_add(hit ? &stats_hits : &stats_misses);
}

void stats_lookup(long long microseconds, bool failed)
{
    size_t b = 0;

    stats_add(&stats_lookups);
    if (failed)
        stats_add(&stats_errors);
    while (b + 1 < STATS_BUCKETS && microseconds >= (1LL << b))
        b++;
    stats_add(&stats_times[b]);
}

/* The upper bound, in ms, of the bucket holding the P-th percentile. */
static double stats_percentile(const unsigned long *counts, unsigned long n, double p)
{
    unsigned long seen = 0, rank = (unsigned long)((double)n * p / 100.0);
    size_t b;

    if (n == 0)
        return 0.0;
    for (b = 0; b < STATS_BUCKETS; b++) {
        seen += counts[b];
        if (seen > rank)
            break;
    }
    return (double)(1LL << (b < STATS_BUCKETS ? b : STATS_BUCKETS - 1)) / 1000.0;
}

/* " reason=N" for each reason with rejects, into a malloc'd string. */
static char *stats_rejects_by_reason(void)
{
    char *out = strdup(""), *more;
    size_t r;

    for (r = 0; out != NULL && r < STATS_NREASONS; r++) {
        unsigned long n = stats_get(&stats_rejects[r]);

        if (n == 0)
            continue;
        if (asprintf(&more, "%s %s=%lu", out, policy_reason_name((enum policy_reason)r),
                     n) < 0)
            more = NULL;
        free(out);
        out = more;
    }
    return out;
}

char *stats_line(void)
{
    unsigned long times[STATS_BUCKETS], n = 0;
    char *by_reason = stats_rejects_by_reason(), *line;
    size_t b;

    for (b = 0; b < STATS_BUCKETS; b++)
        n += times[b] = stats_get(&stats_times[b]);
    if (by_reason == NULL ||
        asprintf(&line,
                 "stats: messages=%lu accepts=%lu rejects=%lu%s%s%s tempfails=%lu "
                 "cache_hits=%lu cache_misses=%lu lookups=%lu directory_errors=%lu "
                 "lookup_p50_ms=%.3f lookup_p99_ms=%.3f",
                 stats_get(&stats_messages), stats_get(&stats_actions[HM_ACCEPT]),
                 stats_get(&stats_actions[HM_REJECT]), *by_reason ? " (" : "",
                 *by_reason ? by_reason + 1 : "", *by_reason ? ")" : "",
                 stats_get(&stats_actions[HM_TEMPFAIL]), stats_get(&stats_hits),
                 stats_get(&stats_misses), stats_get(&stats_lookups),
                 stats_get(&stats_errors), stats_percentile(times, n, 50.0),
                 stats_percentile(times, n, 99.0)) < 0)
        line = NULL;
    free(by_reason);
    return line;
}

/*
 * stats.h - counters since start, for the log and systemd's status
 *
 * Messages and their verdicts (counted by the milter), lookups, cache hits
 * and directory errors (counted by the directory module), and how long
 * lookups took. Every function is safe from any thread: the counters are
 * atomic variables, never locked.
 */
#ifndef HM_STATS_H
#define HM_STATS_H

#include <stdbool.h>

#include "policy.h"

/* stats_message - one message ended with ACTION for REASON. */
void stats_message(enum policy_action action, enum policy_reason reason);

/* stats_cache - a lookup was answered by the cache (HIT) or not. */
void stats_cache(bool hit);

/*
 * stats_lookup - the directory was asked, for MICROSECONDS; FAILED: it
 * gave no answer (a directory error).
 */
void stats_lookup(long long microseconds, bool failed);

/*
 * stats_line - the counters as one log line ("stats: messages=12 ...
 * lookup_p99_ms=3.2"), malloc'd (caller frees), or NULL when out of
 * memory. Lookup times are read from a histogram of powers of two: a
 * percentile is the upper bound of its bucket.
 */
char *stats_line(void);

#endif

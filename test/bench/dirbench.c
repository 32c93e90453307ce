/*
 * NAME
 *	dirbench - cold directory lookups: homed-milter's client against libldap
 * SUMMARY
 *	dirbench -m homed|raw|both -c CONFIG [-t THREADS] [-n LOOKUPS]
 *		[-u USERS] [-p PREFIX] [-w WARMUP] [-s START] [-b SLICE]
 *		[-P SLAPD_PID]
 * DESCRIPTION
 *	THREADS threads look LOOKUPS logins up in the directory of CONFIG,
 *	each lookup another login: PREFIXnnnnn (five digits at least, as
 *	test/bench/gen-ldif.sh writes them), taken from 1..USERS in a
 *	fixed order that strides over the whole range (START shifts it), so
 *	that consecutive lookups land far apart in the database.
 *
 *	homed	dir_lookup() on one struct dir built from CONFIG with
 *		ldap.connections set to THREADS. The cache must be off in
 *		CONFIG (cache.ttl = 0, cache.negative_ttl = 0): every lookup
 *		is a search, as a cold cache makes it.
 *	raw	the baseline: each thread its own libldap handle, bound once
 *		as CONFIG says, then ldap_search_ext_s() with the filter the
 *		product sends ((uid=LOGIN), LOGIN escaped per RFC 4515), the
 *		same base, scope, attributes and size limit 2, reading the
 *		answer as the product does: count the entries, take the DN,
 *		copy every value of every attribute asked for, compare the
 *		login attributes with the login.
 *	both	LOOKUPS of each, in slices of SLICE lookups (default 50 per
 *		thread, at least 500) that alternate homed, raw, raw, homed...
 *		so that a busy machine's noise falls on both alike; the same
 *		logins in the same order for both.
 *
 *	Each thread first makes WARMUP lookups of each mode (default 20,
 *	not counted) so that connections are open and bound before the
 *	clock starts. Then it prints key=value lines per mode (MODE_rate in
 *	lookups/s, MODE_p50_us and MODE_p99_us, MODE_cpu_us the process's
 *	CPU time per lookup, with -P MODE_slapd_us and MODE_slapd_faults:
 *	slapd's CPU time and minor page faults per lookup, MODE_found,
 *	MODE_not_found, MODE_errors) and in mode both the ratio of the rates
 *	and the min, median and max of the ratios of each pair of slices.
 *	Exit status 1 when any lookup did not find its entry, 2 on a usage
 *	error.
 *
 *	Under valgrind --tool=callgrind --instr-atstart=no only the counted
 *	lookups are instrumented: the client's instructions per lookup.
 *
 *	Thread safety: the ticket counters and tallies are atomics; each
 *	lookup writes its latency to its own slot; the main thread changes
 *	the slice only while every worker waits at a barrier.
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <ldap.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#if __has_include(<valgrind/callgrind.h>) /* package valgrind */
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_START_INSTRUMENTATION
#define CALLGRIND_STOP_INSTRUMENTATION
#endif

#include "cfg.h"
#include "directory.h"
#include "../tools/tool.h"

#define DB_MAX_VALUES 64 /* values copied per attribute in raw mode */

enum db_outcome { DB_FOUND, DB_NOT_FOUND, DB_ERROR, DB_OUTCOMES };
enum db_mode { DB_HOMED, DB_RAW, DB_MODES };
static const char *const db_mode_name[] = {"homed", "raw"};

/* What one mode measured, summed over its slices. */
struct db_tally {
    uint64_t *latency_ns;                        /* one slot per counted lookup */
    uint64_t ticket, done, outcome[DB_OUTCOMES]; /* ticket, outcome: atomics */
    double secs, cpu, slapd_ticks, slapd_faults;
};

static struct {
    struct cfg *cfg;
    struct dir *dir; /* homed mode */
    char **attrs;    /* raw mode: what the product asks for */
    const char *prefix;
    bool run[DB_MODES];
    unsigned long users, stride, start, lookups, warmup, slice, slapd_pid;
    pthread_barrier_t go, done;
    enum db_mode mode;  /* of the current slice */
    uint64_t slice_end; /* the current slice's tickets are below it */
    bool stop;
    struct db_tally tally[DB_MODES];
    double *pairs; /* homed/raw rate of each pair of slices */
    size_t npairs;
    uint64_t warm_ticket;  /* atomic */
    unsigned shown_errors; /* atomic */
} db;

static double db_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void db_error(const char *login, const char *what)
{
    if (__atomic_fetch_add(&db.shown_errors, 1, __ATOMIC_RELAXED) < 5)
        fprintf(stderr, "dirbench: %s: %s\n", login, what ? what : "(no detail)");
}

/* The I-th login of the sequence: a stride through 1..USERS. */
static void db_login(uint64_t i, char *buf, size_t size)
{
    uint64_t n = ((db.start + i) % db.users) * db.stride % db.users + 1;

    snprintf(buf, size, "%s%05" PRIu64, db.prefix, n);
}

static enum db_outcome db_homed(const char *login)
{
    struct entry *e;
    char *detail;
    enum db_outcome o;

    switch (dir_lookup(db.dir, login, &e, &detail)) {
    case HM_LOOKUP_FOUND:
        o = e->naddresses > 0 ? DB_FOUND : DB_ERROR;
        break;
    case HM_LOOKUP_NOT_FOUND:
        o = DB_NOT_FOUND;
        break;
    default:
        o = DB_ERROR;
        break;
    }
    if (o != DB_FOUND)
        db_error(login, detail);
    entry_unref(e);
    free(detail);
    return o;
}

/* Connect and bind as CONFIG says; NULL (and a message) on failure. */
static LDAP *db_raw_connect(void)
{
    const struct cfg *cfg = db.cfg;
    struct berval cred = {0, NULL};
    struct timeval tv = {cfg->ldap.timeout, 0};
    int version = LDAP_VERSION3, rc;
    LDAP *ld = NULL;

    if (cfg->ldap.bind_password != NULL) {
        cred.bv_val = cfg->ldap.bind_password;
        cred.bv_len = strlen(cfg->ldap.bind_password);
    }
    if ((rc = ldap_initialize(&ld, cfg->ldap.uri.v[0])) != LDAP_SUCCESS) {
        db_error(cfg->ldap.uri.v[0], ldap_err2string(rc));
        return NULL;
    }
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
    rc = ldap_sasl_bind_s(ld, cfg->ldap.bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL,
                          NULL);
    if (rc != LDAP_SUCCESS) {
        db_error(cfg->ldap.uri.v[0], ldap_err2string(rc));
        ldap_unbind_ext(ld, NULL, NULL);
        return NULL;
    }
    return ld;
}

/* Copy every value of ATTR; whether one of them is LOGIN (login attribute). */
static bool db_raw_values(LDAP *ld, LDAPMessage *msg, const char *attr, const char *login)
{
    struct berval **vals = ldap_get_values_len(ld, msg, attr);
    char *copies[DB_MAX_VALUES];
    size_t n = 0, i, len = strlen(login);
    bool same = false;

    for (i = 0; vals != NULL && vals[i] != NULL && n < DB_MAX_VALUES; i++) {
        if (vals[i]->bv_len == 0 || memchr(vals[i]->bv_val, '\0', vals[i]->bv_len))
            continue;
        copies[n++] = strndup(vals[i]->bv_val, vals[i]->bv_len);
        same = same ||
               (vals[i]->bv_len == len && strncasecmp(vals[i]->bv_val, login, len) == 0);
    }
    while (n > 0)
        free(copies[--n]);
    ldap_value_free_len(vals);
    return same;
}

static enum db_outcome db_raw(LDAP *ld, const char *login)
{
    const struct cfg *cfg = db.cfg;
    struct berval value = {(ber_len_t)strlen(login), (char *)login}, esc = {0, NULL};
    struct timeval tv = {cfg->ldap.timeout, 0};
    static const int scopes[] = {LDAP_SCOPE_BASE, LDAP_SCOPE_ONELEVEL,
                                 LDAP_SCOPE_SUBTREE};
    LDAPMessage *res = NULL, *msg;
    char filter[512], *dn, *kept;
    bool same = false;
    size_t i;
    int rc, count;

    if (ldap_bv2escaped_filter_value(&value, &esc) != 0)
        return DB_ERROR;
    snprintf(filter, sizeof(filter), "(uid=%s)", esc.bv_val);
    ber_memfree(esc.bv_val);
    rc = ldap_search_ext_s(ld, cfg->ldap.base, scopes[cfg->ldap.scope], filter, db.attrs,
                           0, NULL, NULL, &tv, 2, &res);
    if (rc != LDAP_SUCCESS) {
        db_error(login, ldap_err2string(rc));
        ldap_msgfree(res);
        return DB_ERROR;
    }
    count = ldap_count_entries(ld, res);
    if (count != 1 || (msg = ldap_first_entry(ld, res)) == NULL) {
        db_error(login, count == 0 ? "no entry" : "more than one entry");
        ldap_msgfree(res);
        return count == 0 ? DB_NOT_FOUND : DB_ERROR;
    }
    dn = ldap_get_dn(ld, msg);
    kept = dn ? strdup(dn) : NULL; /* the product keeps a copy of the DN */
    ldap_memfree(dn);
    /* Every value copied; one of a login attribute must be the login. */
    for (i = 0; db.attrs[i] != NULL; i++)
        if (db_raw_values(ld, msg, db.attrs[i], login) &&
            cfg_list_has(&cfg->ldap.login_attribute, db.attrs[i]))
            same = true;
    ldap_msgfree(res);
    same = same && kept != NULL;
    free(kept);
    if (!same)
        db_error(login, "the login attribute does not hold the login");
    return same ? DB_FOUND : DB_NOT_FOUND;
}

static enum db_outcome db_one(enum db_mode mode, LDAP *ld, const char *login)
{
    return mode == DB_RAW ? db_raw(ld, login) : db_homed(login);
}

/* The lookups of the current slice, until its tickets run out. */
static void db_slice(LDAP *ld)
{
    enum db_mode m = db.mode;
    struct db_tally *t = &db.tally[m];
    char login[64];
    uint64_t ticket;
    double started;
    enum db_outcome o;

    while ((ticket = __atomic_fetch_add(&t->ticket, 1, __ATOMIC_RELAXED)) <
           db.slice_end) {
        db_login(ticket, login, sizeof(login));
        started = db_now();
        o = m == DB_RAW && ld == NULL ? DB_ERROR : db_one(m, ld, login);
        t->latency_ns[ticket] = (uint64_t)((db_now() - started) * 1e9);
        __atomic_add_fetch(&t->outcome[o], 1, __ATOMIC_RELAXED);
    }
}

static void *db_worker(void *arg)
{
    LDAP *ld = NULL;
    char login[64];
    uint64_t i, ticket;
    int m;

    (void)arg;
    if (db.run[DB_RAW])
        ld = db_raw_connect();
    /* Warm-up lookups: other logins than the counted ones. */
    for (m = 0; m < DB_MODES; m++) {
        for (i = 0; db.run[m] && (m != DB_RAW || ld != NULL) && i < db.warmup; i++) {
            ticket = __atomic_fetch_add(&db.warm_ticket, 1, __ATOMIC_RELAXED);
            db_login(db.lookups + ticket, login, sizeof(login));
            (void)db_one((enum db_mode)m, ld, login);
        }
    }
    for (;;) {
        pthread_barrier_wait(&db.go);
        if (db.stop)
            break;
        db_slice(ld);
        pthread_barrier_wait(&db.done);
    }
    if (ld != NULL)
        ldap_unbind_ext(ld, NULL, NULL);
    return NULL;
}

static void db_usage(void)
{
    fputs("usage: dirbench -m homed|raw|both -c CONFIG [-t THREADS] [-n LOOKUPS]\n"
          "                [-u USERS] [-p PREFIX] [-w WARMUP] [-s START] [-b SLICE]\n"
          "                [-P SLAPD_PID]\n",
          stderr);
    exit(2);
}

static unsigned long db_number(const char *s, unsigned long min, unsigned long max)
{
    unsigned long v;

    if (tool_number("dirbench", s, min, max, &v) < 0)
        db_usage();
    return v;
}

static unsigned long db_gcd(unsigned long a, unsigned long b)
{
    while (b != 0) {
        unsigned long t = a % b;
        a = b;
        b = t;
    }
    return a;
}

static int db_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static int db_compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double db_cpu_seconds(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* slapd's CPU time (clock ticks) and minor page faults so far; 0 without -P. */
static void db_slapd_stat(double *ticks, double *faults)
{
    char path[64], buf[1024], *p;
    unsigned long long minflt = 0, utime = 0, stime = 0;
    FILE *f;

    *ticks = *faults = 0;
    if (db.slapd_pid == 0)
        return;
    snprintf(path, sizeof(path), "/proc/%lu/stat", db.slapd_pid);
    if ((f = fopen(path, "r")) == NULL)
        return;
    /* after the command's ")": state ppid pgrp session tty tpgid flags minflt
       cminflt majflt cmajflt utime stime */
    if (fgets(buf, sizeof(buf), f) != NULL && (p = strrchr(buf, ')')) != NULL &&
        sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %llu %*u %*u %*u %llu %llu", &minflt,
               &utime, &stime) == 3) {
        *ticks = (double)(utime + stime);
        *faults = (double)minflt;
    }
    fclose(f);
}

/* Load CONFIG and check that it fits the modes; exits on a problem. */
static void db_setup(const char *config, unsigned long threads)
{
    char *error = NULL;
    int m;

    if (cfg_load(config, &db.cfg, &error) < 0) {
        fprintf(stderr, "dirbench: %s\n", error);
        exit(2);
    }
    if (db.run[DB_HOMED] && (db.cfg->cache.ttl != 0 || db.cfg->cache.negative_ttl != 0)) {
        fprintf(stderr,
                "dirbench: %s: the cache must be off (cache.ttl = 0, "
                "cache.negative_ttl = 0) for cold lookups\n",
                config);
        exit(2);
    }
    if (db.run[DB_RAW] && strcmp(db.cfg->ldap.login_filter, "(uid=%u)") != 0) {
        fprintf(stderr, "dirbench: raw mode sends (uid=%%u); %s has %s\n", config,
                db.cfg->ldap.login_filter);
        exit(2);
    }
    /* Not yet shared: one pooled connection per thread, as raw mode has. */
    db.cfg->ldap.connections = (int)threads;
    dir_library_init();
    if ((db.run[DB_RAW] && (db.attrs = dir_attributes(db.cfg)) == NULL) ||
        (db.run[DB_HOMED] && (db.dir = dir_new(db.cfg)) == NULL))
        exit(1);
    for (m = 0; m < DB_MODES; m++)
        if (db.run[m] &&
            (db.tally[m].latency_ns = calloc(db.lookups, sizeof(uint64_t))) == NULL)
            exit(1);
    if ((db.pairs = calloc(db.lookups / db.slice + 2, sizeof(*db.pairs))) == NULL)
        exit(1);
}

/* Run the next slice of MODE with every worker; returns its seconds. */
static double db_run_slice(enum db_mode mode)
{
    struct db_tally *t = &db.tally[mode];
    double t0, cpu0, ticks0, faults0, ticks1, faults1, secs;

    db.mode = mode;
    t->ticket = t->done;
    db.slice_end = t->done + db.slice < db.lookups ? t->done + db.slice : db.lookups;
    db_slapd_stat(&ticks0, &faults0);
    cpu0 = db_cpu_seconds();
    t0 = db_now();
    pthread_barrier_wait(&db.go);
    pthread_barrier_wait(&db.done);
    secs = db_now() - t0;
    t->secs += secs;
    t->cpu += db_cpu_seconds() - cpu0;
    db_slapd_stat(&ticks1, &faults1);
    t->slapd_ticks += ticks1 - ticks0;
    t->slapd_faults += faults1 - faults0;
    t->done = db.slice_end;
    return secs;
}

/* Every slice; in mode both they alternate homed, raw, raw, homed... */
static void db_run(void)
{
    size_t i;
    double homed, raw;

    CALLGRIND_START_INSTRUMENTATION;
    for (i = 0;
         db.tally[DB_HOMED].done < db.lookups || db.tally[DB_RAW].done < db.lookups;
         i++) {
        if (!db.run[DB_RAW]) {
            db_run_slice(DB_HOMED);
            db.tally[DB_RAW].done = db.lookups;
        } else if (!db.run[DB_HOMED]) {
            db_run_slice(DB_RAW);
            db.tally[DB_HOMED].done = db.lookups;
        } else if (i % 2 == 0) {
            homed = db_run_slice(DB_HOMED);
            raw = db_run_slice(DB_RAW);
            db.pairs[db.npairs++] = raw / homed; /* same lookups: a ratio of rates */
        } else {
            raw = db_run_slice(DB_RAW);
            homed = db_run_slice(DB_HOMED);
            db.pairs[db.npairs++] = raw / homed;
        }
    }
    CALLGRIND_STOP_INSTRUMENTATION;
}

static void db_report(unsigned long threads)
{
    long hz = sysconf(_SC_CLK_TCK);
    uint64_t n = db.lookups;
    int m;

    printf("threads=%lu\nlookups=%" PRIu64 "\nslice=%lu\n", threads, n, db.slice);
    for (m = 0; m < DB_MODES; m++) {
        struct db_tally *t = &db.tally[m];
        const char *name = db_mode_name[m];

        if (!db.run[m])
            continue;
        qsort(t->latency_ns, n, sizeof(*t->latency_ns), db_compare);
        printf("%s_seconds=%.3f\n%s_rate=%.1f\n", name, t->secs, name,
               t->secs > 0 ? n / t->secs : 0.0);
        printf("%s_p50_us=%.1f\n%s_p99_us=%.1f\n%s_cpu_us=%.2f\n", name,
               t->latency_ns[(n - 1) / 2] / 1e3, name,
               t->latency_ns[(n * 99 + 99) / 100 - 1] / 1e3, name,
               t->cpu * 1e6 / (double)n);
        if (db.slapd_pid != 0 && hz > 0)
            printf("%s_slapd_us=%.1f\n%s_slapd_faults=%.2f\n", name,
                   t->slapd_ticks * 1e6 / hz / (double)n, name,
                   t->slapd_faults / (double)n);
        printf("%s_found=%" PRIu64 "\n%s_not_found=%" PRIu64 "\n%s_errors=%" PRIu64 "\n",
               name, t->outcome[DB_FOUND], name, t->outcome[DB_NOT_FOUND], name,
               t->outcome[DB_ERROR]);
    }
    if (db.npairs > 0) {
        qsort(db.pairs, db.npairs, sizeof(*db.pairs), db_compare_double);
        printf("ratio=%.3f\npairs=%zu\npair_ratio_min=%.3f\npair_ratio_med=%.3f\n"
               "pair_ratio_max=%.3f\n",
               db.tally[DB_RAW].secs / db.tally[DB_HOMED].secs, db.npairs, db.pairs[0],
               db.npairs % 2
                   ? db.pairs[db.npairs / 2]
                   : (db.pairs[db.npairs / 2 - 1] + db.pairs[db.npairs / 2]) / 2,
               db.pairs[db.npairs - 1]);
    }
}

/* The command line into db; returns CONFIG, the number of threads in *threads_r. */
static const char *db_options(int argc, char **argv, unsigned long *threads_r)
{
    const char *config = NULL, *mode = NULL;
    int c;

    db.prefix = "u";
    db.lookups = db.users = 10000;
    db.warmup = 20;
    *threads_r = 1;
    while ((c = getopt(argc, argv, "b:c:hm:n:p:P:s:t:u:w:")) != -1) {
        if (c == 'c')
            config = optarg;
        else if (c == 'm')
            mode = optarg;
        else if (c == 'p')
            db.prefix = optarg;
        else if (c == 'b')
            db.slice = db_number(optarg, 1, 100000000);
        else if (c == 'n')
            db.lookups = db_number(optarg, 1, 100000000);
        else if (c == 'P')
            db.slapd_pid = db_number(optarg, 1, 4194304);
        else if (c == 's')
            db.start = db_number(optarg, 0, 100000000);
        else if (c == 't')
            *threads_r = db_number(optarg, 1, 256);
        else if (c == 'u')
            db.users = db_number(optarg, 1, 99999999);
        else if (c == 'w')
            db.warmup = db_number(optarg, 0, 1000000);
        else
            db_usage();
    }
    if (config == NULL || mode == NULL || optind != argc)
        db_usage();
    db.run[DB_HOMED] = strcmp(mode, "homed") == 0 || strcmp(mode, "both") == 0;
    db.run[DB_RAW] = strcmp(mode, "raw") == 0 || strcmp(mode, "both") == 0;
    if (!db.run[DB_HOMED] && !db.run[DB_RAW])
        db_usage();
    if (db.slice == 0) /* both: 50 lookups a thread, at least 500 */
        db.slice = !(db.run[DB_HOMED] && db.run[DB_RAW]) ? db.lookups
                   : *threads_r * 50 > 500               ? *threads_r * 50
                                                         : 500;
    for (db.stride = 7919; db_gcd(db.stride, db.users) != 1; db.stride += 2)
        ;
    return config;
}

int main(int argc, char **argv)
{
    unsigned long threads, i;
    const char *config = db_options(argc, argv, &threads);
    pthread_t *tids;
    int m, ok = 1;

    signal(SIGPIPE, SIG_IGN);
    db_setup(config, threads);
    tids = calloc(threads, sizeof(*tids));
    if (tids == NULL || pthread_barrier_init(&db.go, NULL, threads + 1) != 0 ||
        pthread_barrier_init(&db.done, NULL, threads + 1) != 0) {
        fputs("dirbench: out of memory\n", stderr);
        return 1;
    }
    for (i = 0; i < threads; i++)
        if ((errno = pthread_create(&tids[i], NULL, db_worker, NULL)) != 0) {
            fprintf(stderr, "dirbench: pthread_create: %m\n");
            return 1;
        }
    db_run();
    db.stop = true;
    pthread_barrier_wait(&db.go);
    for (i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    db_report(threads);
    for (m = 0; m < DB_MODES; m++) {
        if (db.run[m] && db.tally[m].outcome[DB_FOUND] != db.lookups)
            ok = 0;
        free(db.tally[m].latency_ns);
    }
    dir_free(db.dir);
    free(db.attrs);
    free(db.pairs);
    free(tids);
    cfg_unref(db.cfg);
    return ok ? 0 : 1;
}

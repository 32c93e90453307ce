/*
 * NAME
 *	mltload - a milter protocol load generator
 * SUMMARY
 *	mltload -s SOCKET [-CSv] [-c CONNS] [-n MESSAGES] [-d SECONDS] [-p MS]
 *		[-i SECONDS] [-t SECONDS] [-w WORKLOAD] [-b BYTES] [-8 OFFSET]
 * DESCRIPTION
 *	Plays the MTA side of the milter protocol (version 6, no libmilter;
 *	the engine is mltload_proto.c) on CONNS connections at once, one
 *	thread each. Like Postfix, a connection negotiates once and then
 *	carries message after message: macros and MAIL, RCPT, DATA,
 *	From/To/Subject, EOH, the body, end of message, then SMFIC_ABORT
 *	before the next MAIL, with no pause between commands. The body (-b,
 *	default 1088 bytes) is 64-byte 7-bit lines, with "\xc3\xa9" (UTF-8)
 *	at byte OFFSET with -8.
 *
 *	The connections are opened all at once, or with -S one after the
 *	other: a thread connects only when every thread before it has had
 *	the reply to its option negotiation (or failed to get it, or ended
 *	without connecting), and a connection made again after an error
 *	waits only until no other is being opened. libmilter's worker pool can leave a
 *	connection of a burst unserved while the others keep their workers
 *	busy with no pause between commands (README, Known limits); -S
 *	keeps that out of what is measured for the first connections, and
 *	-p MS, a pause of MS milliseconds before each message but a
 *	connection's first (as an MTA waits for its SMTP client's next MAIL
 *	FROM), lets a connection made later (again, after an error) be
 *	served within a message's time.
 *
 *	The workload file has one message per line, TAB-separated: login
 *	("-": not authenticated), envelope sender (empty: <>), From: value,
 *	expected verdict (accept or reject). Messages take the lines in turn.
 *
 *	Each message ends in accept, reject (5xx), tempfail (4xx) or error
 *	(connection or protocol failure, or no answer within -t seconds:
 *	the connection is dropped and a new one made, as an MTA would, whose
 *	milter_default_action would answer 451). With -v each verdict and
 *	each negotiation (with its wait) goes to stderr; -i SECONDS prints
 *	progress there. At the end it prints key=value lines and a table:
 *	rate, latency p50/p99/max (first command of a message to its final
 *	reply), the longest wait for an option negotiation reply
 *	(optneg_max_ms, from connect) and for any one reply (reply_max_ms,
 *	timeouts included), expected x got. With -C the exit status is 1
 *	when an expected reject was accepted or an expected accept rejected;
 *	2 means a usage error.
 *
 *	Thread safety: each thread owns its connection, buffers and
 *	counters; they are summed after the threads are joined. Only the
 *	message ticket, progress counters and the stop flag are shared
 *	(atomics), and with -S the gate (a mutex and a condition variable).
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "mltload_proto.h"
#include "tool.h"

static const char *const ml_verdict_name[] = {"accept", "reject", "tempfail", "error"};

struct ml_run ml = {.timeout = 30};

static void ml_record(struct ml_worker *w, const struct ml_line *l, int verdict,
                      double started)
{
    uint64_t ns = (ml_now() - started) * 1e9, shift, idx;

    w->got[l->expect][verdict]++;
    __atomic_add_fetch(&ml.done, 1, __ATOMIC_RELAXED);
    if ((l->expect == ML_REJECT && verdict == ML_ACCEPT) ||
        (l->expect == ML_ACCEPT && verdict == ML_REJECT) || verdict >= ML_TEMPFAIL)
        __atomic_add_fetch(&ml.bad, 1, __ATOMIC_RELAXED);
    if (ml.verbose)
        fprintf(stderr, "mltload: %s %s <%s> From: %s: %s%s%s\n",
                l->login ? l->login : "-", ml_verdict_name[l->expect], l->sender, l->from,
                ml_verdict_name[verdict], verdict != ML_ACCEPT ? ": " : "",
                verdict != ML_ACCEPT ? w->text : "");
    if (verdict == ML_ERROR)
        return; /* a timeout is no latency */
    if (ns > w->max_ns)
        w->max_ns = ns;
    if (ns < 2 * ML_HIST_SUB)
        idx = ns;
    else {
        shift = 63 - __builtin_clzll(ns) - 6;
        idx = (shift + 1) * ML_HIST_SUB + (ns >> shift) - ML_HIST_SUB;
    }
    w->hist[idx < ML_HIST_SIZE ? idx : ML_HIST_SIZE - 1]++;
}

static bool ml_next(uint64_t *ticket)
{
    if (__atomic_load_n(&ml.stop, __ATOMIC_RELAXED))
        return false;
    *ticket = __atomic_fetch_add(&ml.ticket, 1, __ATOMIC_RELAXED);
    return ml.messages == 0 || *ticket < ml.messages;
}

/* -S: the gate through which connections are opened one at a time. */
static pthread_mutex_t ml_gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ml_gate_turn = PTHREAD_COND_INITIALIZER;
static unsigned ml_gate_passed; /* threads whose first turn is over */

/* Wait until every thread before W has had its first turn; hold the gate. */
static void ml_gate_enter(const struct ml_worker *w)
{
    pthread_mutex_lock(&ml_gate);
    while (ml_gate_passed < w->id)
        pthread_cond_wait(&ml_gate_turn, &ml_gate);
}

/* Release the gate; after W's first turn, the next thread's comes. */
static void ml_gate_leave(struct ml_worker *w)
{
    if (!w->passed) {
        w->passed = true;
        ml_gate_passed++;
        pthread_cond_broadcast(&ml_gate_turn);
    }
    pthread_mutex_unlock(&ml_gate);
}

/* Connect and negotiate (through the gate with -S), then the connect and
 * HELO steps: ML_CONTINUE or a verdict. */
static int ml_open(struct ml_worker *w)
{
    int r;

    if (ml.stagger)
        ml_gate_enter(w);
    r = ml_negotiate(w);
    if (ml.stagger)
        ml_gate_leave(w);
    return r != ML_CONTINUE ? r : ml_greet(w);
}

static void *ml_worker_main(void *arg)
{
    struct ml_worker *w = arg;
    struct ml_msg m;
    uint64_t ticket;
    double started;
    int r;

    while (ml_next(&ticket)) {
        if (ml.pause_ms > 0 && w->fd >= 0) /* an MTA's wait for its client */
            nanosleep(
                &(struct timespec){ml.pause_ms / 1000, (ml.pause_ms % 1000) * 1000000L},
                NULL);
        m.line = &ml.lines[ticket % ml.nlines];
        snprintf(m.queue_id, sizeof(m.queue_id), "%010" PRIX64, ticket + 0x1000000);
        started = ml_now();
        w->text[0] = '\0';
        if (w->fd < 0 && (r = ml_open(w)) != ML_CONTINUE) {
            w->close_after = true; /* the session is over before MAIL */
        } else {
            started = ml_now(); /* a message's latency starts at MAIL */
            r = ml_message(w, &m);
            ml_abort(w); /* sent with the next message */
        }
        ml_record(w, m.line, r, started);
        if (r == ML_ERROR || w->close_after)
            ml_close(w, r != ML_ERROR);
        if (r == ML_ERROR) /* no busy loop while the milter is down */
            nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    if (ml.stagger && !w->passed) { /* the next threads' turn comes all the same */
        ml_gate_enter(w);
        ml_gate_leave(w);
    }
    ml_close(w, true);
    w->ended = ml_now();
    __atomic_add_fetch(&ml.finished, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* --- set-up and summary --- */

static void ml_usage(void)
{
    fputs("usage: mltload -s SOCKET [-CSv] [-c CONNS] [-n MESSAGES] [-d SECONDS]\n"
          "               [-i SECONDS] [-t SECONDS] [-w WORKLOAD] [-b BYTES]\n"
          "               [-8 OFFSET] [-p MS]\n"
          "  SOCKET: unix:/path, inet:PORT@HOST or inet6:PORT@HOST\n"
          "  WORKLOAD: login TAB sender TAB From-value TAB accept|reject per line\n",
          stderr);
    exit(2);
}

static unsigned long ml_number(const char *s, unsigned long min, unsigned long max)
{
    unsigned long v;

    if (tool_number("mltload", s, min, max, &v) < 0)
        ml_usage();
    return v;
}

static void ml_socket(const char *spec)
{
    struct sockaddr_un *un = (struct sockaddr_un *)&ml.addr;
    struct addrinfo hints = {0}, *ai;
    char port[16];
    const char *at, *path = spec;
    size_t n;

    if (strncmp(spec, "inet:", 5) == 0 || strncmp(spec, "inet6:", 6) == 0) {
        hints.ai_family = spec[4] == '6' ? AF_INET6 : AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        spec += spec[4] == '6' ? 6 : 5;
        at = strchr(spec, '@');
        n = at ? (size_t)(at - spec) : strlen(spec);
        if (n == 0 || n >= sizeof(port))
            ml_usage();
        memcpy(port, spec, n);
        port[n] = '\0';
        if (getaddrinfo(at ? at + 1 : "localhost", port, &hints, &ai) != 0) {
            fprintf(stderr, "mltload: cannot resolve %s\n", at ? at + 1 : "localhost");
            exit(2);
        }
        memcpy(&ml.addr, ai->ai_addr, ai->ai_addrlen);
        ml.addrlen = ai->ai_addrlen;
        freeaddrinfo(ai);
        return;
    }
    if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0)
        path = strchr(spec, ':') + 1;
    if (*path != '/' || strlen(path) >= sizeof(un->sun_path))
        ml_usage();
    un->sun_family = AF_UNIX;
    strcpy(un->sun_path, path);
    ml.addrlen = sizeof(*un);
}

/* One workload line, split in place; a message on stderr and exit 2 if bad. */
static void ml_add_line(char *s, const char *file, size_t lineno)
{
    static size_t cap;
    char *f[4];
    size_t i, n;
    struct ml_line *l;

    for (i = 0; i < 4; i++) {
        f[i] = s;
        n = strcspn(s, "\t");
        if (n > ML_MAX_FIELD || (s[n] == '\t') != (i < 3))
            break;
        s[n] = '\0';
        s += n + (i < 3);
    }
    if (i < 4 || (strcmp(f[3], "accept") != 0 && strcmp(f[3], "reject") != 0)) {
        fprintf(stderr,
                "%s:%zu: want login TAB sender TAB From TAB accept|reject "
                "(fields of at most %d bytes)\n",
                file, lineno, ML_MAX_FIELD);
        exit(2);
    }
    if (ml.nlines == cap) {
        cap = cap ? 2 * cap : 64;
        ml.lines = ml_alloc(ml.lines, cap * sizeof(*ml.lines));
    }
    l = &ml.lines[ml.nlines++];
    l->login = strcmp(f[0], "-") == 0 ? NULL : ml_strdup(f[0]);
    l->sender = ml_strdup(f[1]);
    l->from = ml_strdup(f[2]);
    l->expect = f[3][0] == 'a' ? ML_ACCEPT : ML_REJECT;
}

static void ml_load(const char *file)
{
    FILE *f;
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t n;

    if (file == NULL) {
        char dflt[] = "janed\tjaned@example.com\tJane Doe <janed@example.com>\taccept";
        ml_add_line(dflt, "default", 1);
        return;
    }
    if ((f = fopen(file, "r")) == NULL) {
        fprintf(stderr, "mltload: %s: %m\n", file);
        exit(2);
    }
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n > 0 && line[0] != '#')
            ml_add_line(line, file, lineno);
    }
    free(line);
    fclose(f);
    if (ml.nlines == 0) {
        fprintf(stderr, "mltload: %s: no message in it\n", file);
        exit(2);
    }
}

/* The latency below which a share Q of the messages stayed, in ms. */
static double ml_quantile(const uint64_t *hist, uint64_t total, double q, uint64_t max)
{
    uint64_t want = q * total + 0.999999, sum = 0, i, shift, low;

    for (i = 0; i < ML_HIST_SIZE && total > 0; i++)
        if ((sum += hist[i]) >= want && hist[i] > 0)
            break;
    if (total == 0 || i == ML_HIST_SIZE)
        return max / 1e6;
    if (i < 2 * ML_HIST_SUB)
        return i / 1e6;
    shift = i / ML_HIST_SUB - 1;
    low = (i % ML_HIST_SUB + ML_HIST_SUB) << shift;
    low += (1ULL << shift) / 2;
    return (low < max ? low : max) / 1e6;
}

static int ml_summary(struct ml_worker *ws, unsigned conns, double secs, bool check)
{
    static uint64_t hist[ML_HIST_SIZE];
    uint64_t got[2][ML_VERDICTS] = {{0}}, total = 0, timed = 0, max = 0, discards = 0,
             connects = 0, wrong, optneg = 0, reply = 0;
    unsigned i, e, v;
    double p50, p99;

    for (i = 0; i < conns; i++) {
        for (e = 0; e < 2; e++)
            for (v = 0; v < ML_VERDICTS; v++)
                got[e][v] += ws[i].got[e][v];
        for (v = 0; v < ML_HIST_SIZE; v++)
            hist[v] += ws[i].hist[v], timed += ws[i].hist[v];
        max = ws[i].max_ns > max ? ws[i].max_ns : max;
        optneg = ws[i].optneg_max_ns > optneg ? ws[i].optneg_max_ns : optneg;
        reply = ws[i].reply_max_ns > reply ? ws[i].reply_max_ns : reply;
        discards += ws[i].discards;
        connects += ws[i].connects;
    }
    for (e = 0; e < 2; e++)
        for (v = 0; v < ML_VERDICTS; v++)
            total += got[e][v];
    wrong = got[ML_REJECT][ML_ACCEPT] + got[ML_ACCEPT][ML_REJECT];
    p50 = ml_quantile(hist, timed, 0.50, max);
    p99 = ml_quantile(hist, timed, 0.99, max);
    printf("messages=%" PRIu64 "\nseconds=%.3f\nrate=%.1f\n", total, secs,
           secs > 0 ? total / secs : 0.0);
    printf("p50_ms=%.3f\np99_ms=%.3f\nmax_ms=%.3f\n", p50, p99, max / 1e6);
    printf("optneg_max_ms=%.3f\nreply_max_ms=%.3f\n", optneg / 1e6, reply / 1e6);
    for (e = 0; e < 2; e++)
        for (v = 0; v < ML_VERDICTS; v++)
            printf("expect_%s_got_%s=%" PRIu64 "\n", ml_verdict_name[e],
                   ml_verdict_name[v], got[e][v]);
    printf("tempfail=%" PRIu64 "\nerror=%" PRIu64 "\n",
           got[0][ML_TEMPFAIL] + got[1][ML_TEMPFAIL],
           got[0][ML_ERROR] + got[1][ML_ERROR]);
    printf("discards=%" PRIu64 "\nconnections=%" PRIu64 "\nwrong=%" PRIu64 "\n\n",
           discards, connects, wrong);
    printf("%10s %9s %10s %9s %9s %9s\n", "messages", "seconds", "msgs/s", "p50 ms",
           "p99 ms", "max ms");
    printf("%10" PRIu64 " %9.3f %10.1f %9.3f %9.3f %9.3f\n\n", total, secs,
           secs > 0 ? total / secs : 0.0, p50, p99, max / 1e6);
    printf("%-16s %9s %9s %9s %9s\n", "expected \\ got", "accept", "reject", "tempfail",
           "error");
    for (e = 0; e < 2; e++)
        printf("%-16s %9" PRIu64 " %9" PRIu64 " %9" PRIu64 " %9" PRIu64 "\n",
               ml_verdict_name[e], got[e][0], got[e][1], got[e][2], got[e][3]);
    if (check && wrong > 0)
        printf("\nmltload: %" PRIu64 " wrong decisions\n", wrong);
    return check && wrong > 0 ? 1 : 0;
}

/* The body: 64-byte lines, "\xc3\xa9" at EIGHT unless it is ULONG_MAX. */
static void ml_body(unsigned long eight)
{
    size_t i;

    ml.body = ml_alloc(NULL, ml.body_len + 65);
    for (i = 0; i < ml.body_len; i += 64)
        snprintf(ml.body + i, 65, "%-60s%02zu\r\n",
                 "The quick brown fox jumps over the lazy dog; line", i / 64 % 100);
    if (eight != ULONG_MAX)
        memcpy(ml.body + eight, "\xc3\xa9", 2);
}

/* Wait for the workers; stop them on INT/TERM or at the deadline; progress lines. */
static void ml_supervise(unsigned conns, double duration, double interval, double t0)
{
    sigset_t set;
    struct timespec tick = {0, 20 * 1000 * 1000};
    double next = t0 + interval, now;
    uint64_t last = 0, done;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    while (__atomic_load_n(&ml.finished, __ATOMIC_ACQUIRE) < conns) {
        if (sigtimedwait(&set, NULL, &tick) > 0)
            __atomic_store_n(&ml.stop, 1, __ATOMIC_RELAXED);
        now = ml_now();
        if (duration > 0 && now - t0 >= duration)
            __atomic_store_n(&ml.stop, 1, __ATOMIC_RELAXED);
        if (interval > 0 && now >= next) {
            done = __atomic_load_n(&ml.done, __ATOMIC_RELAXED);
            fprintf(stderr,
                    "mltload: progress %.0f s: %" PRIu64 " messages, %.1f msgs/s, "
                    "%" PRIu64 " not as expected\n",
                    now - t0, done, (done - last) / (now - next + interval),
                    __atomic_load_n(&ml.bad, __ATOMIC_RELAXED));
            last = done;
            next = now + interval;
        }
    }
}

/* What the command line sets besides ml. */
struct ml_args {
    const char *sock, *workload;
    unsigned long conns, duration, interval, eight;
    bool check;
};

/* One option C with its argument ARG, into ml or A; usage on an unknown one. */
static void ml_option(int c, const char *arg, struct ml_args *a)
{
    switch (c) {
    case '8':
        a->eight = ml_number(arg, 0, 1 << 30);
        break;
    case 'b':
        ml.body_len = ml_number(arg, 0, 1 << 30);
        break;
    case 'C':
        a->check = true;
        break;
    case 'S':
        ml.stagger = true;
        break;
    case 'c':
        a->conns = ml_number(arg, 1, 4096);
        break;
    case 'd':
        a->duration = ml_number(arg, 1, 86400 * 365);
        break;
    case 'i':
        a->interval = ml_number(arg, 1, 86400);
        break;
    case 'n':
        ml.messages = ml_number(arg, 1, UINT64_MAX >> 2);
        break;
    case 'p':
        ml.pause_ms = ml_number(arg, 0, 10000);
        break;
    case 's':
        a->sock = arg;
        break;
    case 't':
        ml.timeout = ml_number(arg, 1, 86400);
        break;
    case 'v':
        ml.verbose = true;
        break;
    case 'w':
        a->workload = arg;
        break;
    default:
        ml_usage();
    }
}

/* The command line into ml and A; usage (exit 2) if it is wrong. */
static void ml_options(int argc, char **argv, struct ml_args *a)
{
    int c;

    *a = (struct ml_args){.conns = 1, .eight = ULONG_MAX};
    ml.body_len = 1088;
    while ((c = getopt(argc, argv, "8:CSb:c:d:hi:n:p:s:t:vw:")) != -1)
        ml_option(c, optarg, a);
    if (a->sock == NULL || optind != argc ||
        (a->eight != ULONG_MAX && a->eight + 2 > ml.body_len))
        ml_usage();
    if (ml.messages == 0 && a->duration == 0)
        ml.messages = 1000;
}

/* SIGPIPE ignored; INT and TERM blocked in every thread, for ml_supervise. */
static void ml_signals(void)
{
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigset_t set;

    sigaction(SIGPIPE, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* A thread for each of the CONNS workers WS; exit 1 if one cannot start. */
static void ml_start(struct ml_worker *ws, unsigned long conns)
{
    unsigned long i;

    for (i = 0; i < conns; i++) {
        ws[i].id = i;
        ws[i].fd = -1;
        if ((errno = pthread_create(&ws[i].thread, NULL, ml_worker_main, &ws[i])) != 0) {
            fprintf(stderr, "mltload: pthread_create: %m\n");
            exit(1);
        }
    }
}

/* Join the CONNS workers WS; returns when the last of them ended. */
static double ml_join(struct ml_worker *ws, unsigned long conns)
{
    unsigned long i;
    double end = 0;

    for (i = 0; i < conns; i++) {
        pthread_join(ws[i].thread, NULL);
        end = ws[i].ended > end ? ws[i].ended : end;
    }
    return end;
}

int main(int argc, char **argv)
{
    struct ml_args a;
    struct ml_worker *ws;
    double t0, end;

    ml_options(argc, argv, &a);
    ml_socket(a.sock);
    ml_load(a.workload);
    ml_body(a.eight);
    ml_signals();
    ws = ml_alloc(NULL, a.conns * sizeof(*ws));
    memset(ws, 0, a.conns * sizeof(*ws));
    t0 = ml_now();
    ml_start(ws, a.conns);
    ml_supervise(a.conns, a.duration, a.interval, t0);
    end = ml_join(ws, a.conns);
    return ml_summary(ws, a.conns, end - t0, a.check);
}

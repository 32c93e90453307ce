/*
 * NAME
 *	smtpload - an SMTP AUTH load generator for the Postfix benchmark
 * SUMMARY
 *	smtpload -p PORT -u USERS [-H ADDR] [-c CONNS] [-n MESSAGES]
 *		[-k PER_SESSION] [-o OFFSET] [-r RCPT] [-s BODY_BYTES]
 *		[-F SENDER] [-t TIMEOUT] [-w QUEUE_DIR]... [-W DRAIN_TIMEOUT]
 *		[-v]
 * DESCRIPTION
 *	CONNS threads each keep one SMTP connection to ADDR:PORT (default
 *	127.0.0.1), say EHLO, authenticate with AUTH PLAIN as the next user
 *	of USERS (lines "login TAB password TAB sender"; users are handed
 *	out in turn, starting at line OFFSET) and then send messages, one
 *	transaction after the other (no pipelining), each with MAIL FROM the
 *	session's own sender (or SENDER with -F, to check that a forged
 *	sender is refused). After PER_SESSION messages (0: never) a
 *	connection says QUIT and starts a new session as the next user.
 *	MESSAGES in all are sent.
 *
 *	Latency of a message: from writing MAIL FROM to reading the reply to
 *	the final dot. When every message has had its final reply, smtpload
 *	waits until no file is left under any QUEUE_DIR (e.g. Postfix's
 *	incoming and active queues), so that the rate counts the time until
 *	the queue has drained, not only until the client got 250.
 *
 *	Prints one line of KEY=VALUE on stdout:
 *	messages sent, replies by class (2xx 4xx 5xx: the final reply of
 *	each message, i.e. the first that was not 2xx/3xx, or the one after
 *	the dot), errors (broken connections, timeouts), sessions,
 *	auth_failures, send_s, drain_s, total_s, rate (accepted messages /
 *	total_s), client_rate (accepted / send_s), p50_ms, p99_ms, max_ms
 *	(latency of the accepted messages).
 *	With -v, the first reply line of each class other than 2xx, and of
 *	the first failed AUTH, goes to stderr.
 *
 *	Defaults: CONNS 8, MESSAGES 1000, PER_SESSION 0, OFFSET 0, RCPT
 *	sink@example.org, BODY_BYTES 1024, TIMEOUT 30 (seconds to wait for
 *	any one reply, or to connect), DRAIN_TIMEOUT 120 seconds. A thread
 *	whose sessions fail 5 times in a row (no connection, no greeting,
 *	AUTH refused) stops and counts one error.
 *	Exit status: 0 when every message had a final reply and the queue
 *	drained, 1 otherwise, 2 on a usage error.
 *
 *	This file: the options, the users, the queue and the report; the
 *	SMTP sessions, one thread per connection, are in smtpload_proto.c.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smtpload_proto.h"

#define MAX_CONNS 1024
#define MAX_USERS 10000000

/* The options and the shared state (smtpload_proto.h). */
struct options opt;
pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
long claimed, next_user, replies[6], errors, sessions, auth_failures;
double *latency;
int shown[6];

double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("smtpload: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        die("out of memory");
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

static long number(const char *s, const char *what, long lo, long hi)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        die("%s: '%s' is not a number from %ld to %ld", what, s, lo, hi);
    return v;
}

static char *base64(const unsigned char *in, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = xmalloc((n + 2) / 3 * 4 + 1);
    char *o = out;
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = tab[v >> 6 & 63];
        *o++ = tab[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0);
        *o++ = tab[v >> 18 & 63];
        *o++ = tab[v >> 12 & 63];
        *o++ = i + 1 < n ? tab[v >> 6 & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

/* An address goes into MAIL FROM:<...> and a header as it is: refuse
 * anything that could break the SMTP dialogue. */
static int safe_address(const char *s)
{
    if (*s == '\0' || strlen(s) > 256)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == '<' || *s == '>' || *s == 127)
            return 0;
    return 1;
}

static void load_users(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[2048];
    long cap = 1024, lineno = 0;
    if (f == NULL)
        die("%s: %s", path, strerror(errno));
    opt.users = xmalloc((size_t)cap * sizeof *opt.users);
    while (fgets(line, sizeof line, f) != NULL) {
        char *login, *pass, *sender, *end;
        unsigned char plain[1024];
        size_t ll, pl;
        lineno++;
        end = strchr(line, '\n');
        if (end == NULL && !feof(f))
            die("%s:%ld: line too long", path, lineno);
        if (end != NULL)
            *end = '\0';
        if ((end = strchr(line, '\r')) != NULL)
            *end = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        login = line;
        pass = strchr(login, '\t');
        sender = pass ? strchr(pass + 1, '\t') : NULL;
        if (sender == NULL)
            die("%s:%ld: want login TAB password TAB sender", path, lineno);
        *pass++ = '\0';
        *sender++ = '\0';
        ll = strlen(login);
        pl = strlen(pass);
        if (ll == 0 || ll + pl + 2 > sizeof plain || !safe_address(sender))
            die("%s:%ld: bad login, password or sender", path, lineno);
        if (opt.n_users == cap) {
            struct user *u;
            if (cap >= MAX_USERS)
                die("%s: more than %d users", path, MAX_USERS);
            cap *= 2;
            u = realloc(opt.users, (size_t)cap * sizeof *opt.users);
            if (u == NULL)
                die("out of memory");
            opt.users = u;
        }
        plain[0] = '\0';
        memcpy(plain + 1, login, ll);
        plain[1 + ll] = '\0';
        memcpy(plain + 2 + ll, pass, pl);
        opt.users[opt.n_users].login = xstrdup(login);
        opt.users[opt.n_users].sender = xstrdup(sender);
        opt.users[opt.n_users].auth = base64(plain, ll + pl + 2);
        opt.n_users++;
    }
    if (ferror(f))
        die("%s: read error", path);
    fclose(f);
    if (opt.n_users == 0)
        die("%s: no users", path);
}

/* ---- the queue ------------------------------------------------------------------ */

/* Files under DIR (recursively, bounded depth); -1 if it cannot be read. */
static long count_files(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    long n = 0;
    if (d == NULL)
        return errno == ENOENT ? 0 : -1;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        if (lstat(path, &st) < 0)
            continue; /* gone meanwhile */
        if (S_ISDIR(st.st_mode)) {
            if (depth < 4) {
                long sub = count_files(path, depth + 1);
                if (sub > 0)
                    n += sub;
            }
        } else {
            n++;
        }
    }
    closedir(d);
    return n;
}

static long queued(void)
{
    long total = 0;
    int i;
    for (i = 0; i < opt.n_queue_dirs; i++) {
        long n = count_files(opt.queue_dirs[i], 0);
        if (n < 0)
            return -1;
        total += n;
    }
    return total;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *v, long n, double p)
{
    long i;
    if (n == 0)
        return 0;
    i = (long)(p * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

static void usage(void)
{
    fprintf(stderr,
            "usage: smtpload -p PORT -u USERS [-H ADDR] [-c CONNS] [-n MESSAGES]\n"
            "                [-k PER_SESSION] [-o OFFSET] [-r RCPT] [-s BODY_BYTES]\n"
            "                [-F SENDER] [-t TIMEOUT] [-w QUEUE_DIR]... [-W "
            "DRAIN_TIMEOUT] [-v]\n");
    exit(2);
}

/* What the command line sets besides opt. */
struct args {
    const char *host;
    const char *users;
    long port;
};

/* One option CH with its argument ARG, into opt or A; usage on an unknown one. */
static void one_option(int ch, const char *arg, struct args *a)
{
    switch (ch) {
    case 'c':
        opt.conns = (int)number(arg, "-c", 1, MAX_CONNS);
        break;
    case 'F':
        opt.forge = arg;
        break;
    case 'H':
        a->host = arg;
        break;
    case 'k':
        opt.per_session = number(arg, "-k", 0, 1000000000);
        break;
    case 'n':
        opt.messages = number(arg, "-n", 1, 100000000);
        break;
    case 'o':
        opt.offset = number(arg, "-o", 0, 1000000000);
        break;
    case 'p':
        a->port = number(arg, "-p", 1, 65535);
        break;
    case 'r':
        opt.rcpt = arg;
        break;
    case 's':
        opt.body_bytes = number(arg, "-s", 0, 10000000);
        break;
    case 't':
        opt.timeout_ms = (int)number(arg, "-t", 1, 3600) * 1000;
        break;
    case 'u':
        a->users = arg;
        break;
    case 'v':
        opt.verbose = 1;
        break;
    case 'w':
        if (opt.n_queue_dirs == MAX_QUEUE_DIRS)
            die("at most %d queue directories", MAX_QUEUE_DIRS);
        opt.queue_dirs[opt.n_queue_dirs++] = arg;
        break;
    case 'W':
        opt.drain_timeout = (double)number(arg, "-W", 1, 3600);
        break;
    default:
        usage();
    }
}

/* The command line into opt (the users not yet loaded); returns the USERS file.
 * Exits 2 on a usage error. */
static const char *parse_options(int argc, char **argv)
{
    struct args a = {"127.0.0.1", NULL, 0};
    int ch;

    opt.conns = 8;
    opt.messages = 1000;
    opt.rcpt = "sink@example.org";
    opt.body_bytes = 1024;
    opt.timeout_ms = 30000;
    opt.drain_timeout = 120;
    while ((ch = getopt(argc, argv, "c:F:H:k:n:o:p:r:s:t:u:vw:W:")) != -1)
        one_option(ch, optarg, &a);
    if (optind != argc || a.port == 0 || a.users == NULL)
        usage();
    if (!safe_address(opt.rcpt) || (opt.forge && !safe_address(opt.forge)))
        die("bad address in -r or -F");
    opt.addr.sin_family = AF_INET;
    opt.addr.sin_port = htons((unsigned short)a.port);
    if (inet_pton(AF_INET, a.host, &opt.addr.sin_addr) != 1)
        die("-H: '%s' is not an IPv4 address", a.host);
    return a.users;
}

/* Start the CONNS threads (as many as can be started) and wait for them. */
static void run_connections(void)
{
    pthread_t tid[MAX_CONNS];
    long i;
    int started = 0;

    for (i = 0; i < opt.conns; i++) {
        if (pthread_create(&tid[i], NULL, worker, NULL) != 0) {
            fprintf(stderr, "smtpload: cannot start thread %ld\n", i + 1);
            break;
        }
        started++;
    }
    for (i = 0; i < started; i++)
        pthread_join(tid[i], NULL);
}

/* Wait until no file is left under any QUEUE_DIR, at most DRAIN_TIMEOUT
 * seconds after T_SENT; 1 when the queue drained (or there is none). */
static int drain_queue(double t_sent)
{
    long left;

    if (opt.n_queue_dirs == 0)
        return 1;
    for (;;) {
        left = queued();
        if (left == 0)
            return 1;
        if (left < 0) {
            fprintf(stderr, "smtpload: cannot read a queue directory\n");
            return 0;
        }
        if (now() - t_sent > opt.drain_timeout) {
            fprintf(stderr, "smtpload: %ld files still queued after %.0f s\n", left,
                    opt.drain_timeout);
            return 0;
        }
        nanosleep(&(struct timespec){.tv_nsec = 2000000}, NULL);
    }
}

/* The KEY=VALUE line on stdout; returns the exit status. */
static int report(double t0, double t_sent, double t_drained, int drained)
{
    double send_s = t_sent - t0, total_s = t_drained - t0, *v;
    long finished = replies[2] + replies[3] + replies[4] + replies[5], nv = 0, i;

    v = xmalloc((size_t)opt.messages * sizeof *v);
    for (i = 0; i < opt.messages; i++)
        if (latency[i] >= 0)
            v[nv++] = latency[i];
    qsort(v, (size_t)nv, sizeof *v, cmp_double);
    printf("messages=%ld 2xx=%ld 4xx=%ld 5xx=%ld errors=%ld sessions=%ld "
           "auth_failures=%ld "
           "send_s=%.3f drain_s=%.3f total_s=%.3f rate=%.1f client_rate=%.1f "
           "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
           finished, replies[2], replies[4], replies[5], errors, sessions, auth_failures,
           send_s, t_drained - t_sent, total_s,
           total_s > 0 ? (double)replies[2] / total_s : 0,
           send_s > 0 ? (double)replies[2] / send_s : 0, percentile(v, nv, 0.50) * 1e3,
           percentile(v, nv, 0.99) * 1e3, nv > 0 ? v[nv - 1] * 1e3 : 0);
    free(v);
    return finished == opt.messages && drained && errors == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *users = parse_options(argc, argv);
    double t0, t_sent, t_drained;
    long i;
    int drained;

    load_users(users);
    latency = xmalloc((size_t)opt.messages * sizeof *latency);
    for (i = 0; i < opt.messages; i++)
        latency[i] = -1;
    signal(SIGPIPE, SIG_IGN);

    t0 = now();
    run_connections();
    t_sent = now();
    drained = drain_queue(t_sent);
    t_drained = now();
    return report(t0, t_sent, t_drained, drained);
}

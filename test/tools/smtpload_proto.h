/*
 * smtpload_proto.h - what smtpload's driver (smtpload.c) and its SMTP
 * sessions (smtpload_proto.c) share
 *
 * The users, the options (one global, set before the threads start and
 * read-only then), the counters under lock, the driver's helpers that the
 * sessions use, and the thread of a connection.
 */
#ifndef HM_SMTPLOAD_PROTO_H
#define HM_SMTPLOAD_PROTO_H

#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>

#define MAX_QUEUE_DIRS 8

struct user {
    char *login;
    char *sender;
    char *auth; /* base64 of "\0login\0password" */
};

/* Options, set once before the threads start. */
struct options {
    struct sockaddr_in addr;
    int conns;
    long messages;
    long per_session;
    long offset;
    const char *rcpt;
    const char *forge;
    long body_bytes;
    int timeout_ms;
    const char *queue_dirs[MAX_QUEUE_DIRS];
    int n_queue_dirs;
    double drain_timeout;
    int verbose;
    struct user *users;
    long n_users;
};

extern struct options opt;

/* Shared state, under lock. */
extern pthread_mutex_t lock;
extern long claimed;    /* messages handed to threads */
extern long next_user;  /* users handed out */
extern long replies[6]; /* final replies by class: replies[2] = 2xx ... */
extern long errors;     /* connections that broke or timed out mid-message */
extern long sessions;   /* sessions that authenticated */
extern long auth_failures;
extern double *latency; /* seconds, per claimed message; < 0: none */
extern int shown[6];    /* -v: a reply of this class was printed */

/* Seconds on the monotonic clock. */
double now(void);

/* die - "smtpload: " and the message on stderr, then exit 2. */
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* malloc, or die "out of memory". */
void *xmalloc(size_t n);

/* worker - the thread of one connection: sessions and messages until every
 * message has been claimed. */
void *worker(void *arg);

#endif

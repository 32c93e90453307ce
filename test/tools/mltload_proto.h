/*
 * mltload_proto.h - what mltload's driver (mltload.c) and its milter
 * protocol engine (mltload_proto.c) share
 *
 * The run's settings and shared counters (struct ml_run, one global), a
 * connection's state (struct ml_worker, owned by its thread) and the
 * engine's entry points. Each function works on one worker and is called
 * only by the thread that owns it.
 */
#ifndef HM_MLTLOAD_PROTO_H
#define HM_MLTLOAD_PROTO_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ML_MAX_FIELD 16384 /* longest workload field */
#define ML_STAGES    7     /* SMFIM_CONNECT .. SMFIM_EOH */
#define ML_HIST_SUB  64    /* histogram buckets per power of two */
#define ML_HIST_SIZE (ML_HIST_SUB * 40)
#define ML_CONTINUE  (-1) /* a step's reply lets the message go on */

enum ml_verdict { ML_ACCEPT, ML_REJECT, ML_TEMPFAIL, ML_ERROR, ML_VERDICTS };

struct ml_line {
    char *login; /* NULL: not authenticated */
    char *sender;
    char *from;
    int expect; /* ML_ACCEPT or ML_REJECT */
};

struct ml_buf {
    unsigned char *p;
    size_t start, len, cap; /* data is p[start..len) */
};

struct ml_worker {
    pthread_t thread;
    unsigned id;
    int fd;                   /* -1: not connected */
    uint32_t actions, pflags; /* what the milter negotiated */
    char *syms[ML_STAGES];    /* its symbol lists; NULL: the default */
    struct ml_buf out, in;
    bool close_after; /* the milter ended the session */
    bool passed;      /* -S: its first connection has been opened */
    char text[256];   /* the last reply text or error */
    uint64_t got[2][ML_VERDICTS], discards, connects, hist[ML_HIST_SIZE], max_ns;
    uint64_t optneg_max_ns; /* longest from connect() to the negotiation reply */
    uint64_t reply_max_ns;  /* longest from sending a command to its reply */
    double ended;           /* when its last message was answered */
};

/* What a message's macros are made of. */
struct ml_msg {
    const struct ml_line *line;
    char queue_id[24];
};

/* Set before the threads start, read-only then; the atomics at the end. */
struct ml_run {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct ml_line *lines;
    size_t nlines;
    uint64_t messages; /* 0: until -d or a signal */
    int timeout;       /* seconds, for every connect, read and write */
    bool verbose;
    bool stagger;      /* -S */
    unsigned pause_ms; /* -p: before each message but a connection's first */
    char *body;
    size_t body_len;
    uint64_t ticket, done, bad; /* atomics from here on */
    unsigned finished, shown_errs;
    int stop;
};

extern struct ml_run ml;

/* realloc, or exit 1 on "out of memory"; ml_strdup likewise. */
void *ml_alloc(void *p, size_t n);
char *ml_strdup(const char *s);

/* Seconds on the monotonic clock. */
double ml_now(void);

/*
 * ml_negotiate - connect and negotiate options (the timeout of every
 * read and write set). ML_CONTINUE, or ML_ERROR with the reason in
 * w->text. Once connected, keeps the wait from connect() to the reply
 * (or to the failure) in w->optneg_max_ns when it is the longest yet.
 */
int ml_negotiate(struct ml_worker *w);

/* ml_greet - the connect and HELO steps: ML_CONTINUE or a verdict. */
int ml_greet(struct ml_worker *w);

/*
 * ml_message - one message, MAIL to end of message, every step the
 * milter declined left out: its verdict (an ml_verdict), the reply text
 * in w->text. ml_abort then queues the SMFIC_ABORT that goes with the
 * next command.
 */
int ml_message(struct ml_worker *w, const struct ml_msg *m);
void ml_abort(struct ml_worker *w);

/* ml_close - close the connection (after SMFIC_QUIT when QUIT), forget
 * its negotiation; nothing when not connected. */
void ml_close(struct ml_worker *w, bool quit);

#endif

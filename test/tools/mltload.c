/*
 * NAME
 *	mltload - a milter protocol load generator
 * SUMMARY
 *	mltload -s SOCKET [-C] [-c CONNS] [-n MESSAGES] [-d SECONDS]
 *		[-i SECONDS] [-t SECONDS] [-w WORKLOAD] [-b BYTES] [-8 OFFSET] [-v]
 * DESCRIPTION
 *	Plays the MTA side of the milter protocol (version 6, no libmilter)
 *	on CONNS connections at once, one thread each. Like Postfix, a
 *	connection negotiates once and then carries message after message:
 *	macros and MAIL, RCPT, DATA, From/To/Subject, EOH, the body, end of
 *	message, then SMFIC_ABORT before the next MAIL. Every step the
 *	milter declined is left out, no reply is awaited where it asked for
 *	none (SMFIP_NR_*), and the macros sent are those of its symbol lists
 *	(else Postfix's defaults). The body (-b, default 1088 bytes) is
 *	64-byte 7-bit lines, with "\xc3\xa9" (UTF-8) at byte OFFSET with -8;
 *	it goes in chunks of 65535 bytes as Postfix sends it, and the chunks
 *	left when the milter declines the rest (SMFIR_SKIP) are not sent.
 *
 *	The workload file has one message per line, TAB-separated: login
 *	("-": not authenticated), envelope sender (empty: <>), From: value,
 *	expected verdict (accept or reject). Messages take the lines in turn.
 *
 *	Each message ends in accept, reject (5xx), tempfail (4xx) or error
 *	(connection or protocol failure, or no answer within -t seconds:
 *	the connection is dropped and a new one made, as an MTA would, whose
 *	milter_default_action would answer 451). Replies are read into
 *	bounded buffers; a reply longer than 2 MB is a protocol error. At the end it
 *prints key=value lines and a table: rate, latency p50/p99/max (first command of a
 *message to its final reply), expected x got. With -C the exit status is 1 when an
 *expected reject was accepted or an expected accept rejected; 2 means a usage error.
 *
 *	Thread safety: each thread owns its connection, buffers and
 *	counters; they are summed after the threads are joined. Only the
 *	message ticket, progress counters and the stop flag are shared
 *	(atomics).
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <libmilter/mfapi.h> /* constants only: no libmilter linked */
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tool.h"

#define ML_MAX_REPLY  (2 * 1024 * 1024) /* longest reply packet taken */
#define ML_MAX_FIELD  16384             /* longest workload field */
#define ML_CHUNK      65535             /* longest body chunk (Postfix's) */
#define ML_STAGES     7                 /* SMFIM_CONNECT .. SMFIM_EOH */
#define ML_HIST_SUB   64                /* histogram buckets per power of two */
#define ML_HIST_SIZE  (ML_HIST_SUB * 40)
#define ML_CONTINUE   (-1) /* a step's reply lets the message go on */
#define ML_SKIP       (-2) /* a body chunk's reply: the rest is not wanted */
#define ML_SHOWN_ERRS 10   /* error texts printed */

enum ml_verdict { ML_ACCEPT, ML_REJECT, ML_TEMPFAIL, ML_ERROR, ML_VERDICTS };
static const char *const ml_verdict_name[] = {"accept", "reject", "tempfail", "error"};

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
    char text[256];   /* the last reply text or error */
    uint64_t got[2][ML_VERDICTS], discards, connects, hist[ML_HIST_SIZE], max_ns;
    double ended; /* when its last message was answered */
};

/* What a message's macros are made of. */
struct ml_msg {
    const struct ml_line *line;
    char queue_id[24];
};

static struct {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    struct ml_line *lines;
    size_t nlines;
    uint64_t messages; /* 0: until -d or a signal */
    int timeout;       /* seconds, for every connect, read and write */
    bool verbose;
    char *body;
    size_t body_len;
    uint64_t ticket, done, bad; /* atomics from here on */
    unsigned finished, shown_errs;
    int stop;
} ml = {.timeout = 30};

/* Postfix's default macros per stage, with "v" also at MAIL. */
static const char *const ml_default_syms[ML_STAGES] = {
    "j {daemon_name} {daemon_addr} v _",         /* connect */
    "",                                          /* helo */
    "i {auth_type} {auth_authen} {mail_addr} v", /* mail */
    "i {rcpt_addr} {rcpt_host} {rcpt_mailer}",   /* rcpt */
    "i",                                         /* data */
    "i",                                         /* eom */
    "i",                                         /* eoh */
};
static const char ml_stage_cmd[ML_STAGES] = {SMFIC_CONNECT, SMFIC_HELO, SMFIC_MAIL,
                                             SMFIC_RCPT,    SMFIC_DATA, SMFIC_BODYEOB,
                                             SMFIC_EOH};

static void *ml_alloc(void *p, size_t n)
{
    if ((p = realloc(p, n)) == NULL) {
        fputs("mltload: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

static char *ml_strdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(ml_alloc(NULL, n), s, n);
}

static double ml_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Record why the connection failed; the first few are printed. */
static int ml_fail(struct ml_worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int ml_fail(struct ml_worker *w, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(w->text, sizeof(w->text), fmt, ap);
    va_end(ap);
    if (__atomic_fetch_add(&ml.shown_errs, 1, __ATOMIC_RELAXED) < ML_SHOWN_ERRS)
        fprintf(stderr, "mltload: connection %u: %s\n", w->id, w->text);
    return ML_ERROR;
}

/* --- the output buffer: commands are built in place, sent on a flush --- */

static void ml_put(struct ml_buf *b, const void *data, size_t n)
{
    if (b->cap - b->len < n) {
        b->cap = 2 * (b->len + n);
        b->p = ml_alloc(b->p, b->cap);
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void ml_puts(struct ml_buf *b, const char *s)
{
    ml_put(b, s, strlen(s) + 1);
}

static void ml_put32(unsigned char *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static uint32_t ml_get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Start a command packet; ml_cmd_end() fills its length in. */
static size_t ml_cmd(struct ml_buf *b, char cmd)
{
    size_t pos = b->len;
    unsigned char head[5] = {0, 0, 0, 0, (unsigned char)cmd};

    ml_put(b, head, sizeof(head));
    return pos;
}

static void ml_cmd_end(struct ml_buf *b, size_t pos)
{
    ml_put32(b->p + pos, b->len - pos - 4);
}

/* A command without data (abort, quit). */
static void ml_cmd_bare(struct ml_buf *b, char cmd)
{
    ml_cmd_end(b, ml_cmd(b, cmd));
}

static int ml_flush(struct ml_worker *w)
{
    struct ml_buf *b = &w->out;
    size_t off = 0;
    ssize_t n;

    while (off < b->len) {
        n = send(w->fd, b->p + off, b->len - off, MSG_NOSIGNAL);
        if (n > 0)
            off += n;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return ml_fail(w, "cannot write for %d s", ml.timeout), -1;
        else if (n < 0 && errno != EINTR)
            return ml_fail(w, "write: %m"), -1;
    }
    b->len = 0;
    return 0;
}

/* Make sure the input buffer holds at least NEED bytes. */
static int ml_fill(struct ml_worker *w, size_t need)
{
    struct ml_buf *b = &w->in;
    ssize_t n;

    if (b->cap - b->start < need) {
        if (b->len > b->start)
            memmove(b->p, b->p + b->start, b->len - b->start);
        b->len -= b->start;
        b->start = 0;
        if (b->cap < need) {
            b->cap = need;
            b->p = ml_alloc(b->p, b->cap);
        }
    }
    while (b->len - b->start < need) {
        n = read(w->fd, b->p + b->len, b->cap - b->len);
        if (n > 0)
            b->len += n;
        else if (n == 0)
            return ml_fail(w, "the milter closed the connection"), -1;
        else if (errno == EAGAIN || errno == EWOULDBLOCK)
            return ml_fail(w, "no answer within %d s", ml.timeout), -1;
        else if (errno != EINTR)
            return ml_fail(w, "read: %m"), -1;
    }
    return 0;
}

/* Send what is buffered and read one reply; its data stays valid until the next. */
static int ml_reply(struct ml_worker *w, char *cmd, const unsigned char **data, size_t *n)
{
    struct ml_buf *b = &w->in;
    uint32_t len;

    if (ml_flush(w) < 0 || ml_fill(w, 4) < 0)
        return -1;
    len = ml_get32(b->p + b->start);
    if (len == 0 || len > ML_MAX_REPLY)
        return ml_fail(w, "reply of %" PRIu32 " bytes", len), -1;
    if (ml_fill(w, 4 + len) < 0)
        return -1;
    *cmd = b->p[b->start + 4];
    *data = b->p + b->start + 5;
    *n = len - 1;
    b->start += 4 + len;
    if (b->start == b->len)
        b->start = b->len = 0;
    return 0;
}

/* --- macros --- */

static const char *ml_macro_value(const struct ml_msg *m, const char *name)
{
    static const char *const fixed[][2] = {
        {"j", "mail.example.com"},         {"_", "localhost [127.0.0.1]"},
        {"v", "Postfix 3.7.11"},           {"daemon_name", "mltload"},
        {"daemon_addr", "127.0.0.1"},      {"client_addr", "127.0.0.1"},
        {"client_name", "localhost"},      {"client_ptr", "localhost"},
        {"rcpt_addr", "rcpt@example.org"}, {"rcpt_host", "example.org"},
        {"rcpt_mailer", "smtp"},
    };
    char bare[64];
    size_t n = strlen(name), i;

    if (n >= 2 && name[0] == '{' && name[n - 1] == '}' && n - 2 < sizeof(bare))
        memcpy(bare, name + 1, n - 2), bare[n - 2] = '\0';
    else if (n < sizeof(bare))
        memcpy(bare, name, n + 1);
    else
        return NULL;
    for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (strcmp(bare, fixed[i][0]) == 0)
            return fixed[i][1];
    if (m == NULL)
        return NULL;
    if (strcmp(bare, "i") == 0)
        return m->queue_id;
    if (strcmp(bare, "auth_authen") == 0)
        return m->line->login;
    if (strcmp(bare, "auth_type") == 0)
        return m->line->login != NULL ? "PLAIN" : NULL;
    if (strcmp(bare, "mail_addr") == 0)
        return m->line->sender;
    return NULL;
}

/* Queue the SMFIC_MACRO packet for STAGE: the names asked for that have a value. */
static void ml_macros(struct ml_worker *w, int stage, const struct ml_msg *m)
{
    const char *s = w->syms[stage] ? w->syms[stage] : ml_default_syms[stage], *value;
    size_t pos = ml_cmd(&w->out, SMFIC_MACRO), n, empty;
    char name[64];

    ml_put(&w->out, &ml_stage_cmd[stage], 1);
    empty = w->out.len;
    while (*s != '\0') {
        n = strcspn(s, " ,");
        if (n > 0 && n < sizeof(name)) {
            memcpy(name, s, n);
            name[n] = '\0';
            if ((value = ml_macro_value(m, name)) != NULL) {
                ml_puts(&w->out, name);
                ml_puts(&w->out, value);
            }
        }
        s += n + (s[n] != '\0');
    }
    if (w->out.len == empty)
        w->out.len = pos; /* nothing to send */
    else
        ml_cmd_end(&w->out, pos);
}

/* --- replies --- */

/* What a reply to a step means: ML_CONTINUE, a verdict, or ML_ERROR. */
static int ml_meaning(struct ml_worker *w, char cmd, const unsigned char *d, size_t n)
{
    switch (cmd) {
    case SMFIR_CONTINUE:
        return ML_CONTINUE;
    case SMFIR_ACCEPT:
        return ML_ACCEPT;
    case SMFIR_DISCARD:
        w->discards++;
        return ML_ACCEPT; /* the client is told 250 */
    case SMFIR_REJECT:
        return ML_REJECT;
    case SMFIR_TEMPFAIL:
        return ML_TEMPFAIL;
    case SMFIR_SHUTDOWN:
    case SMFIR_CONN_FAIL:
        w->close_after = true; /* the MTA ends the session: 421 */
        return ML_TEMPFAIL;
    case SMFIR_REPLYCODE:
        if (n < 4 || memchr(d, '\0', n) == NULL || (d[0] != '4' && d[0] != '5'))
            return ml_fail(w, "bad reply code %.*s", (int)(n > 40 ? 40 : n), d);
        snprintf(w->text, sizeof(w->text), "%s", (const char *)d);
        return d[0] == '5' ? ML_REJECT : ML_TEMPFAIL;
    }
    return ml_fail(w, "unexpected reply '%c' (0x%02x)", cmd > ' ' ? cmd : '?',
                   (unsigned char)cmd);
}

/* The action flag a modification needs, or 0 when CMD is none. */
static uint32_t ml_modification(char cmd)
{
    switch (cmd) {
    case SMFIR_ADDHEADER:
    case SMFIR_INSHEADER:
        return SMFIF_ADDHDRS;
    case SMFIR_CHGHEADER:
        return SMFIF_CHGHDRS;
    case SMFIR_ADDRCPT:
        return SMFIF_ADDRCPT;
    case SMFIR_ADDRCPT_PAR:
        return SMFIF_ADDRCPT_PAR;
    case SMFIR_DELRCPT:
        return SMFIF_DELRCPT;
    case SMFIR_REPLBODY:
        return SMFIF_CHGBODY;
    case SMFIR_CHGFROM:
        return SMFIF_CHGFROM;
    case SMFIR_QUARANTINE:
        return SMFIF_QUARANTINE;
    }
    return 0;
}

/*
 * After a step: nothing when the milter asked for no reply (NR set in
 * pflags), else read up to its answer. At end of message, modifications
 * come first and "continue" means accept.
 */
static int ml_await(struct ml_worker *w, uint32_t nr, char step)
{
    const unsigned char *d;
    size_t n;
    char cmd;
    uint32_t need;
    int r;

    if (nr != 0 && (w->pflags & nr) != 0)
        return ML_CONTINUE;
    for (;;) {
        if (ml_reply(w, &cmd, &d, &n) < 0)
            return ML_ERROR;
        if (cmd == SMFIR_PROGRESS)
            continue;
        if (step == SMFIC_BODY && cmd == SMFIR_SKIP)
            return ML_SKIP;
        if (step != SMFIC_BODYEOB)
            return ml_meaning(w, cmd, d, n);
        if ((need = ml_modification(cmd)) == 0) {
            r = ml_meaning(w, cmd, d, n);
            return r == ML_CONTINUE ? ML_ACCEPT : r;
        }
        if ((w->actions & need) == 0)
            return ml_fail(w, "modification '%c' it did not negotiate", cmd);
    }
}

/* --- a connection --- */

static void ml_close(struct ml_worker *w, bool quit)
{
    size_t i;

    if (w->fd < 0)
        return;
    if (quit) {
        ml_cmd_bare(&w->out, SMFIC_QUIT);
        (void)ml_flush(w);
    }
    close(w->fd);
    w->fd = -1;
    w->out.len = w->in.start = w->in.len = 0;
    w->close_after = false;
    for (i = 0; i < ML_STAGES; i++) {
        free(w->syms[i]);
        w->syms[i] = NULL;
    }
}

/* The option negotiation reply: version, actions, steps, symbol lists. */
static int ml_optneg_reply(struct ml_worker *w, uint32_t acts, uint32_t prot)
{
    const unsigned char *d, *end, *nul;
    size_t n;
    char cmd;
    uint32_t version, stage;

    if (ml_reply(w, &cmd, &d, &n) < 0)
        return ML_ERROR;
    if (cmd != SMFIC_OPTNEG || n < MILTER_OPTLEN)
        return ml_fail(w, "option negotiation: reply '%c' of %zu bytes", cmd, n);
    version = ml_get32(d);
    w->actions = ml_get32(d + 4);
    w->pflags = ml_get32(d + 8) & ~SMFI_INTERNAL;
    if (version < 2 || version > SMFI_PROT_VERSION)
        return ml_fail(w, "option negotiation: version %" PRIu32, version);
    if ((w->actions & ~acts) != 0 || (w->pflags & ~prot) != 0)
        return ml_fail(
            w, "option negotiation: not offered: actions 0x%" PRIx32 " steps 0x%" PRIx32,
            w->actions & ~acts, w->pflags & ~prot);
    for (d += MILTER_OPTLEN, end = d + n - MILTER_OPTLEN; end - d >= 4; d = nul + 1) {
        stage = ml_get32(d);
        d += 4;
        if ((nul = memchr(d, '\0', end - d)) == NULL)
            return ml_fail(w, "option negotiation: unterminated symbol list");
        if (stage < ML_STAGES && w->syms[stage] == NULL)
            w->syms[stage] = ml_strdup((const char *)d);
    }
    if (ml.verbose)
        fprintf(stderr,
                "mltload: connection %u: version %" PRIu32 " actions 0x%" PRIx32
                " steps 0x%" PRIx32 " macros: mail \"%s\" eom \"%s\"\n",
                w->id, version, w->actions, w->pflags,
                w->syms[SMFIM_ENVFROM] ? w->syms[SMFIM_ENVFROM] : "(default)",
                w->syms[SMFIM_EOM] ? w->syms[SMFIM_EOM] : "(default)");
    return ML_CONTINUE;
}

/* Connect and negotiate, then connect and HELO steps: ML_CONTINUE or a verdict. */
static int ml_open(struct ml_worker *w)
{
    const uint32_t acts = SMFI_CURR_ACTS, prot = SMFI_CURR_PROT;
    struct timeval tv = {ml.timeout, 0};
    unsigned char opt[MILTER_OPTLEN], port[2] = {0x9c, 0x40 + w->id % 64};
    size_t pos;
    int r;

    w->connects++;
    if ((w->fd = socket(ml.addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return ml_fail(w, "socket: %m");
    /* the timeout of connect, of every read and of every write */
    if (setsockopt(w->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
        return ml_fail(w, "setsockopt: %m");
    if (connect(w->fd, (struct sockaddr *)&ml.addr, ml.addrlen) < 0)
        return ml_fail(w, "connect: %m");
    ml_put32(opt, SMFI_PROT_VERSION);
    ml_put32(opt + 4, acts);
    ml_put32(opt + 8, prot);
    pos = ml_cmd(&w->out, SMFIC_OPTNEG);
    ml_put(&w->out, opt, sizeof(opt));
    ml_cmd_end(&w->out, pos);
    if ((r = ml_optneg_reply(w, acts, prot)) != ML_CONTINUE)
        return r;
    if (!(w->pflags & SMFIP_NOCONNECT)) {
        ml_macros(w, SMFIM_CONNECT, NULL);
        pos = ml_cmd(&w->out, SMFIC_CONNECT);
        ml_puts(&w->out, "localhost");
        ml_put(&w->out, "4", 1); /* SMFIA_INET */
        ml_put(&w->out, port, 2);
        ml_puts(&w->out, "127.0.0.1");
        ml_cmd_end(&w->out, pos);
        if ((r = ml_await(w, SMFIP_NR_CONN, SMFIC_CONNECT)) != ML_CONTINUE)
            return r;
    }
    if (!(w->pflags & SMFIP_NOHELO)) {
        ml_macros(w, SMFIM_HELO, NULL);
        pos = ml_cmd(&w->out, SMFIC_HELO);
        ml_puts(&w->out, "client.example.org");
        ml_cmd_end(&w->out, pos);
        return ml_await(w, SMFIP_NR_HELO, SMFIC_HELO);
    }
    return ML_CONTINUE;
}

/* --- a message --- */

static int ml_header(struct ml_worker *w, const char *name, const char *value)
{
    size_t pos = ml_cmd(&w->out, SMFIC_HEADER);

    ml_puts(&w->out, name);
    if (w->pflags & SMFIP_HDR_LEADSPC)
        ml_put(&w->out, " ", 1);
    ml_puts(&w->out, value);
    ml_cmd_end(&w->out, pos);
    return ml_await(w, SMFIP_NR_HDR, SMFIC_HEADER);
}

/* One simple step: macros for STAGE (if any), command CMD with DATA, its reply. */
static int ml_step(struct ml_worker *w, const struct ml_msg *m, int stage, char cmd,
                   const char *data, uint32_t nr)
{
    size_t pos;

    if (stage >= 0)
        ml_macros(w, stage, m);
    pos = ml_cmd(&w->out, cmd);
    if (data != NULL)
        ml_puts(&w->out, data);
    ml_cmd_end(&w->out, pos);
    return ml_await(w, nr, cmd);
}

static int ml_message(struct ml_worker *w, const struct ml_msg *m)
{
    const struct ml_line *l = m->line;
    char arg[ML_MAX_FIELD + 3], subject[64];
    size_t pos, off, n;
    int r = ML_CONTINUE;

    snprintf(arg, sizeof(arg), "<%s>", l->sender);
    snprintf(subject, sizeof(subject), "mltload message %s", m->queue_id);
    if (!(w->pflags & SMFIP_NOMAIL) &&
        (r = ml_step(w, m, SMFIM_ENVFROM, SMFIC_MAIL, arg, SMFIP_NR_MAIL)) != ML_CONTINUE)
        return r;
    if (!(w->pflags & SMFIP_NORCPT) &&
        (r = ml_step(w, m, SMFIM_ENVRCPT, SMFIC_RCPT, "<rcpt@example.org>",
                     SMFIP_NR_RCPT)) != ML_CONTINUE)
        return r;
    if (!(w->pflags & SMFIP_NODATA) &&
        (r = ml_step(w, m, SMFIM_DATA, SMFIC_DATA, NULL, SMFIP_NR_DATA)) != ML_CONTINUE)
        return r;
    if (!(w->pflags & SMFIP_NOHDRS) &&
        ((r = ml_header(w, "From", l->from)) != ML_CONTINUE ||
         (r = ml_header(w, "To", "<rcpt@example.org>")) != ML_CONTINUE ||
         (r = ml_header(w, "Subject", subject)) != ML_CONTINUE))
        return r;
    if (!(w->pflags & SMFIP_NOEOH) &&
        (r = ml_step(w, m, SMFIM_EOH, SMFIC_EOH, NULL, SMFIP_NR_EOH)) != ML_CONTINUE)
        return r;
    for (off = 0; !(w->pflags & SMFIP_NOBODY) && off < ml.body_len; off += n) {
        n = ml.body_len - off < ML_CHUNK ? ml.body_len - off : ML_CHUNK;
        pos = ml_cmd(&w->out, SMFIC_BODY);
        ml_put(&w->out, ml.body + off, n);
        ml_cmd_end(&w->out, pos);
        if ((r = ml_await(w, SMFIP_NR_BODY, SMFIC_BODY)) == ML_SKIP)
            break;
        if (r != ML_CONTINUE)
            return r;
    }
    return ml_step(w, m, SMFIM_EOM, SMFIC_BODYEOB, NULL, 0);
}

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

static void *ml_worker_main(void *arg)
{
    struct ml_worker *w = arg;
    struct ml_msg m;
    uint64_t ticket;
    double started;
    int r;

    while (ml_next(&ticket)) {
        m.line = &ml.lines[ticket % ml.nlines];
        snprintf(m.queue_id, sizeof(m.queue_id), "%010" PRIX64, ticket + 0x1000000);
        started = ml_now();
        w->text[0] = '\0';
        if (w->fd < 0 && (r = ml_open(w)) != ML_CONTINUE) {
            w->close_after = true; /* the session is over before MAIL */
        } else {
            started = ml_now(); /* a message's latency starts at MAIL */
            r = ml_message(w, &m);
            ml_cmd_bare(&w->out, SMFIC_ABORT); /* sent with the next message */
        }
        ml_record(w, m.line, r, started);
        if (r == ML_ERROR || w->close_after)
            ml_close(w, r != ML_ERROR);
        if (r == ML_ERROR) /* no busy loop while the milter is down */
            nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    ml_close(w, true);
    w->ended = ml_now();
    __atomic_add_fetch(&ml.finished, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* --- set-up and summary --- */

static void ml_usage(void)
{
    fputs("usage: mltload -s SOCKET [-C] [-c CONNS] [-n MESSAGES] [-d SECONDS]\n"
          "               [-i SECONDS] [-t SECONDS] [-w WORKLOAD] [-b BYTES]\n"
          "               [-8 OFFSET] [-v]\n"
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
             connects = 0, wrong;
    unsigned i, e, v;
    double p50, p99;

    for (i = 0; i < conns; i++) {
        for (e = 0; e < 2; e++)
            for (v = 0; v < ML_VERDICTS; v++)
                got[e][v] += ws[i].got[e][v];
        for (v = 0; v < ML_HIST_SIZE; v++)
            hist[v] += ws[i].hist[v], timed += ws[i].hist[v];
        max = ws[i].max_ns > max ? ws[i].max_ns : max;
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

int main(int argc, char **argv)
{
    const char *sock = NULL, *workload = NULL;
    unsigned long conns = 1, duration = 0, interval = 0, i, eight = ULONG_MAX;
    struct ml_worker *ws;
    struct sigaction sa = {.sa_handler = SIG_IGN};
    sigset_t set;
    bool check = false;
    double t0, end = 0;
    int c;

    ml.body_len = 1088;
    while ((c = getopt(argc, argv, "8:Cb:c:d:hi:n:s:t:vw:")) != -1) {
        switch (c) {
        case '8':
            eight = ml_number(optarg, 0, 1 << 30);
            break;
        case 'b':
            ml.body_len = ml_number(optarg, 0, 1 << 30);
            break;
        case 'C':
            check = true;
            break;
        case 'c':
            conns = ml_number(optarg, 1, 4096);
            break;
        case 'd':
            duration = ml_number(optarg, 1, 86400 * 365);
            break;
        case 'i':
            interval = ml_number(optarg, 1, 86400);
            break;
        case 'n':
            ml.messages = ml_number(optarg, 1, UINT64_MAX >> 2);
            break;
        case 's':
            sock = optarg;
            break;
        case 't':
            ml.timeout = ml_number(optarg, 1, 86400);
            break;
        case 'v':
            ml.verbose = true;
            break;
        case 'w':
            workload = optarg;
            break;
        default:
            ml_usage();
        }
    }
    if (sock == NULL || optind != argc || (eight != ULONG_MAX && eight + 2 > ml.body_len))
        ml_usage();
    if (ml.messages == 0 && duration == 0)
        ml.messages = 1000;
    ml_socket(sock);
    ml_load(workload);
    ml.body = ml_alloc(NULL, ml.body_len + 65);
    for (i = 0; i < ml.body_len; i += 64)
        snprintf(ml.body + i, 65, "%-60s%02lu\r\n",
                 "The quick brown fox jumps over the lazy dog; line", i / 64 % 100);
    if (eight != ULONG_MAX)
        memcpy(ml.body + eight, "\xc3\xa9", 2);
    sigaction(SIGPIPE, &sa, NULL);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    ws = ml_alloc(NULL, conns * sizeof(*ws));
    memset(ws, 0, conns * sizeof(*ws));
    t0 = ml_now();
    for (i = 0; i < conns; i++) {
        ws[i].id = i;
        ws[i].fd = -1;
        if ((errno = pthread_create(&ws[i].thread, NULL, ml_worker_main, &ws[i])) != 0) {
            fprintf(stderr, "mltload: pthread_create: %m\n");
            return 1;
        }
    }
    ml_supervise(conns, duration, interval, t0);
    for (i = 0; i < conns; i++) {
        pthread_join(ws[i].thread, NULL);
        end = ws[i].ended > end ? ws[i].ended : end;
    }
    return ml_summary(ws, conns, end - t0, check);
}

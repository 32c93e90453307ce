/*
 * NAME
 *	mltload_proto - mltload's milter protocol engine
 * SUMMARY
 *	#include "mltload_proto.h"
 * DESCRIPTION
 *	The MTA side of the milter protocol, version 6, without libmilter:
 *	connect and negotiate options (ml_negotiate), the connect and HELO
 *	steps (ml_greet), then message after message (ml_message, ml_abort)
 *	until ml_close. Commands are built in the worker's output buffer and
 *	sent when a reply is awaited; replies are read into its bounded
 *	input buffer (a reply longer than 2 MB is a protocol error). Every
 *	step the milter declined is left out, no reply is awaited where it
 *	asked for none (SMFIP_NR_*), and the macros sent are those of its
 *	symbol lists (else Postfix's defaults). The body goes in chunks of
 *	65535 bytes as Postfix sends it; the chunks left when the milter
 *	declines the rest (SMFIR_SKIP) are not sent.
 *
 *	A failure (connection, protocol, no answer within ml.timeout) is
 *	ML_ERROR with its reason in the worker's text; the first few are
 *	printed on stderr.
 *
 *	Thread safety: a worker is used by its own thread only; ml is read
 *	only, but for the count of printed errors (an atomic).
 */
#include "autoconf.h"

#include <errno.h>
#include <inttypes.h>
#include <libmilter/mfapi.h> /* constants only: no libmilter linked */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "mltload_proto.h"

#define ML_MAX_REPLY  (2 * 1024 * 1024) /* longest reply packet taken */
#define ML_CHUNK      65535             /* longest body chunk (Postfix's) */
#define ML_SKIP       (-2)              /* a body chunk's reply: the rest is not wanted */
#define ML_SHOWN_ERRS 10                /* error texts printed */

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

void *ml_alloc(void *p, size_t n)
{
    if ((p = realloc(p, n)) == NULL) {
        fputs("mltload: out of memory\n", stderr);
        exit(1);
    }
    return p;
}

char *ml_strdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(ml_alloc(NULL, n), s, n);
}

double ml_now(void)
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

/* Keep in *MAX_NS the time since SINCE if it is the longest yet; that time in ms. */
static double ml_longest(uint64_t *max_ns, double since)
{
    uint64_t ns = (ml_now() - since) * 1e9;

    if (ns > *max_ns)
        *max_ns = ns;
    return ns / 1e6;
}

/* Send what is buffered and read one reply; its data stays valid until the next. */
static int ml_reply_read(struct ml_worker *w, char *cmd, const unsigned char **data,
                         size_t *n)
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

/* ml_reply_read, its wait (or the wait until it failed) kept in reply_max_ns. */
static int ml_reply(struct ml_worker *w, char *cmd, const unsigned char **data, size_t *n)
{
    double sent = ml_now();
    int r = ml_reply_read(w, cmd, data, n);

    ml_longest(&w->reply_max_ns, sent);
    return r;
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

void ml_close(struct ml_worker *w, bool quit)
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
static int ml_optneg_reply(struct ml_worker *w, uint32_t acts, uint32_t prot,
                           uint32_t *version_r)
{
    const unsigned char *d, *end, *nul;
    size_t n;
    char cmd;
    uint32_t stage;

    if (ml_reply(w, &cmd, &d, &n) < 0)
        return ML_ERROR;
    if (cmd != SMFIC_OPTNEG || n < MILTER_OPTLEN)
        return ml_fail(w, "option negotiation: reply '%c' of %zu bytes", cmd, n);
    *version_r = ml_get32(d);
    w->actions = ml_get32(d + 4);
    w->pflags = ml_get32(d + 8) & ~SMFI_INTERNAL;
    if (*version_r < 2 || *version_r > SMFI_PROT_VERSION)
        return ml_fail(w, "option negotiation: version %" PRIu32, *version_r);
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
    return ML_CONTINUE;
}

int ml_negotiate(struct ml_worker *w)
{
    const uint32_t acts = SMFI_CURR_ACTS, prot = SMFI_CURR_PROT;
    struct timeval tv = {ml.timeout, 0};
    unsigned char opt[MILTER_OPTLEN];
    double started = ml_now(), ms;
    uint32_t version = 0;
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
    r = ml_optneg_reply(w, acts, prot, &version);
    ms = ml_longest(&w->optneg_max_ns, started);
    if (r == ML_CONTINUE && ml.verbose)
        fprintf(stderr,
                "mltload: connection %u: version %" PRIu32 " actions 0x%" PRIx32
                " steps 0x%" PRIx32 " macros: mail \"%s\" eom \"%s\"; after %.1f ms\n",
                w->id, version, w->actions, w->pflags,
                w->syms[SMFIM_ENVFROM] ? w->syms[SMFIM_ENVFROM] : "(default)",
                w->syms[SMFIM_EOM] ? w->syms[SMFIM_EOM] : "(default)", ms);
    return r;
}

int ml_greet(struct ml_worker *w)
{
    unsigned char port[2] = {0x9c, 0x40 + w->id % 64};
    size_t pos;
    int r;

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

int ml_message(struct ml_worker *w, const struct ml_msg *m)
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

void ml_abort(struct ml_worker *w)
{
    ml_cmd_bare(&w->out, SMFIC_ABORT);
}

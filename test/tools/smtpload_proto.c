/*
 * NAME
 *	smtpload_proto - smtpload's SMTP sessions
 * SUMMARY
 *	#include "smtpload_proto.h"
 * DESCRIPTION
 *	The thread of one connection (worker): connect, read the greeting,
 *	EHLO, AUTH PLAIN as the next user (session_start), then one
 *	transaction after the other, MAIL FROM to the final dot, without
 *	pipelining (send_message); QUIT after opt.per_session messages
 *	(session_end), until every message has been claimed. Replies are
 *	read line by line into a bounded buffer: a line longer than
 *	LINE_MAX_LEN or a reply of more than REPLY_LINES_MAX lines breaks
 *	the connection, and every wait is bounded by opt.timeout_ms. The
 *	final reply of each message is counted by class, the latency of an
 *	accepted one kept. A thread whose sessions fail GIVE_UP_AFTER times
 *	in a row stops and counts one error.
 *
 *	Thread safety: a connection is used by its own thread only; opt is
 *	read only; the counters and the next user are under lock.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smtpload_proto.h"

#define LINE_MAX_LEN    1024 /* one reply line, CRLF included (RFC 5321: 512) */
#define REPLY_LINES_MAX 100  /* lines in one multi-line reply */
#define GIVE_UP_AFTER   5    /* consecutive failed sessions before a thread stops */

struct conn {
    int fd;
    char buf[4096];
    size_t len;              /* bytes in buf */
    size_t pos;              /* bytes already consumed */
    char last[LINE_MAX_LEN]; /* the last reply line, without CRLF */
};

/* ---- one connection -------------------------------------------------------- */

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->len = c->pos = 0;
}

/* Wait until fd is ready for EVENTS, at most timeout_ms; 0 when ready. */
static int wait_fd(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    int r;
    do
        r = poll(&p, 1, opt.timeout_ms);
    while (r < 0 && errno == EINTR);
    if (r <= 0)
        return -1; /* timeout or error */
    return 0;
}

static int conn_open(struct conn *c)
{
    int one = 1, err = 0;
    socklen_t el = sizeof err;
    c->len = c->pos = 0;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return -1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&opt.addr, sizeof opt.addr) < 0) {
        if (errno != EINPROGRESS || wait_fd(c->fd, POLLOUT) < 0 ||
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
            conn_close(c);
            return -1;
        }
    }
    return 0;
}

static int conn_write(struct conn *c, const char *data, size_t n)
{
    while (n > 0) {
        ssize_t w = send(c->fd, data, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(c->fd, POLLOUT) == 0)
                continue;
            return -1;
        }
        data += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One line into c->last, without CRLF; -1 on EOF, timeout, overlong line. */
static int conn_line(struct conn *c)
{
    for (;;) {
        char *nl = memchr(c->buf + c->pos, '\n', c->len - c->pos);
        ssize_t r;
        if (nl != NULL) {
            size_t n = (size_t)(nl - (c->buf + c->pos));
            if (n > 0 && c->buf[c->pos + n - 1] == '\r')
                n--;
            if (n >= sizeof c->last)
                return -1;
            memcpy(c->last, c->buf + c->pos, n);
            c->last[n] = '\0';
            c->pos = (size_t)(nl - c->buf) + 1;
            return 0;
        }
        if (c->len - c->pos >= LINE_MAX_LEN)
            return -1; /* no newline within a line's worth of bytes */
        if (c->pos > 0) {
            memmove(c->buf, c->buf + c->pos, c->len - c->pos);
            c->len -= c->pos;
            c->pos = 0;
        }
        r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (r > 0) {
            c->len += (size_t)r;
            continue;
        }
        if (r == 0)
            return -1;
        if (errno == EINTR)
            continue;
        if ((errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(c->fd, POLLIN) == 0)
            continue;
        return -1;
    }
}

/* A whole (possibly multi-line) reply; its code, or -1. */
static int conn_reply(struct conn *c)
{
    int i;
    for (i = 0; i < REPLY_LINES_MAX; i++) {
        const char *l = c->last;
        if (conn_line(c) < 0)
            return -1;
        if (l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' ||
            l[2] > '9' || (l[3] != ' ' && l[3] != '-' && l[3] != '\0'))
            return -1;
        if (l[3] != '-')
            return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
    }
    return -1;
}

/* Send a command line, return the reply code or -1. */
static int command(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int command(struct conn *c, const char *fmt, ...)
{
    char line[LINE_MAX_LEN];
    va_list ap;
    int n;
    va_start(ap, fmt);
    n = vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line - 2)
        return -1;
    line[n++] = '\r';
    line[n++] = '\n';
    if (conn_write(c, line, (size_t)n) < 0)
        return -1;
    return conn_reply(c);
}

/* ---- sessions and messages -------------------------------------------------- */

static void count_reply(int code, const char *line, long msg, double seconds)
{
    int cls = code / 100;
    pthread_mutex_lock(&lock);
    replies[cls]++;
    if (cls == 2)
        latency[msg] = seconds;
    if (opt.verbose && cls != 2 && !shown[cls]) {
        shown[cls] = 1;
        fprintf(stderr, "smtpload: first %dxx reply: %s\n", cls, line);
    }
    pthread_mutex_unlock(&lock);
}

static long claim_message(void)
{
    long m = -1;
    pthread_mutex_lock(&lock);
    if (claimed < opt.messages)
        m = claimed++;
    pthread_mutex_unlock(&lock);
    return m;
}

static int messages_left(void)
{
    int left;
    pthread_mutex_lock(&lock);
    left = claimed < opt.messages;
    pthread_mutex_unlock(&lock);
    return left;
}

/* Connect, EHLO, AUTH PLAIN as the next user; 0 and *u on success. */
static int session_start(struct conn *c, const struct user **u)
{
    long i;
    int code;
    pthread_mutex_lock(&lock);
    i = (opt.offset + next_user++) % opt.n_users;
    pthread_mutex_unlock(&lock);
    *u = &opt.users[i];
    if (conn_open(c) < 0)
        return -1;
    if (conn_reply(c) != 220 || command(c, "EHLO load.example.net") != 250)
        goto fail;
    code = command(c, "AUTH PLAIN %s", (*u)->auth);
    if (code != 235) {
        pthread_mutex_lock(&lock);
        auth_failures++;
        if (opt.verbose && !shown[0]) {
            shown[0] = 1;
            fprintf(stderr, "smtpload: AUTH as %s: %s\n", (*u)->login, c->last);
        }
        pthread_mutex_unlock(&lock);
        goto fail;
    }
    pthread_mutex_lock(&lock);
    sessions++;
    pthread_mutex_unlock(&lock);
    return 0;
fail:
    conn_close(c);
    return -1;
}

static void session_end(struct conn *c)
{
    if (c->fd >= 0)
        (void)command(c, "QUIT");
    conn_close(c);
}

/* The message text for one sender, dot-stuffed already (no line starts
 * with a dot), with the final dot. */
static char *make_message(const char *sender, long msg, size_t *n)
{
    size_t cap = (size_t)opt.body_bytes + 1024, len;
    char *m = xmalloc(cap);
    int h = snprintf(
        m, cap,
        "From: <%s>\r\nTo: <%s>\r\nSubject: smtpload %ld\r\n"
        "Message-ID: <smtpload.%ld.%ld@load.example.net>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n",
        sender, opt.rcpt, msg, (long)getpid(), msg);
    if (h < 0 || (size_t)h >= cap)
        die("message header too long");
    len = (size_t)h;
    while (len + 80 + 3 < cap && (long)len - h < opt.body_bytes) {
        memset(m + len, 'x', 70);
        len += 70;
        memcpy(m + len, "\r\n", 2);
        len += 2;
    }
    memcpy(m + len, ".\r\n", 3);
    *n = len + 3;
    return m;
}

/* One transaction. Returns 0 when the session can go on, -1 when the
 * connection is unusable (it is then closed). */
static int send_message(struct conn *c, const struct user *u, long msg)
{
    const char *from = opt.forge ? opt.forge : u->sender;
    double t0 = now();
    size_t n;
    char *text;
    int code;

    code = command(c, "MAIL FROM:<%s>", from);
    if (code < 0)
        goto broken;
    if (code / 100 != 2)
        goto refused;
    code = command(c, "RCPT TO:<%s>", opt.rcpt);
    if (code < 0)
        goto broken;
    if (code / 100 != 2)
        goto refused;
    code = command(c, "DATA");
    if (code < 0)
        goto broken;
    if (code != 354)
        goto refused;
    text = make_message(from, msg, &n);
    if (conn_write(c, text, n) < 0) {
        free(text);
        goto broken;
    }
    free(text);
    code = conn_reply(c);
    if (code < 0)
        goto broken;
    count_reply(code, c->last, msg, now() - t0);
    if (code == 421) {
        conn_close(c);
        return -1;
    }
    return 0;
refused:
    count_reply(code, c->last, msg, 0);
    if (code == 421 || command(c, "RSET") != 250) {
        conn_close(c);
        return -1;
    }
    return 0;
broken:
    pthread_mutex_lock(&lock);
    errors++;
    pthread_mutex_unlock(&lock);
    conn_close(c);
    return -1;
}

void *worker(void *arg)
{
    struct conn c = {.fd = -1};
    const struct user *u = NULL;
    long in_session = 0;
    int failed = 0;
    (void)arg;
    for (;;) {
        long msg;
        if (c.fd < 0) {
            if (!messages_left())
                break;
            if (session_start(&c, &u) < 0) {
                if (++failed >= GIVE_UP_AFTER) {
                    pthread_mutex_lock(&lock);
                    errors++;
                    pthread_mutex_unlock(&lock);
                    break;
                }
                continue;
            }
            failed = 0;
            in_session = 0;
        }
        msg = claim_message();
        if (msg < 0)
            break;
        if (send_message(&c, u, msg) < 0)
            continue;
        if (opt.per_session > 0 && ++in_session >= opt.per_session)
            session_end(&c);
    }
    session_end(&c);
    return NULL;
}

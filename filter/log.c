/*
 * NAME
 *	log - one place for every log line
 * SUMMARY
 *	log_open(), log_set_stderr(), log_set_level(), log_level_enabled(),
 *	log_level_name(), log_msg(), log_line(), log_join()
 * DESCRIPTION
 *	Lines go to syslog with facility mail and, when asked, to stderr
 *	prefixed with the program name; not to a stderr that is systemd's
 *	journal (JOURNAL_STREAM names it) when syslog reaches the journal
 *	too, so that each line is there once, with its priority. Control
 *	bytes become '?' and long lines are cut, so that no client input can
 *	forge a log line. The current level is an atomic int, so log_msg()
 *	may be called from any thread; log_open() is called once, before
 *	threads start. Messages are formatted into a heap buffer sized by
 *	vsnprintf, never a fixed one. Nothing here knows what a secret is:
 *	callers never pass one.
 *
 *	A line for stderr is put together in one buffer and written with
 *	one write(2), not through stdio: stdio's stream lock is held during
 *	the system call, and with a line per decision the milter's threads
 *	queued on it (measured: 13 us of CPU a message at 8 connections,
 *	against 4 us with one write each). The kernel keeps concurrent
 *	writes whole, and a line is written before the milter replies.
 *
 *	Without syslogd's socket, syslog() would try a new connection for
 *	every line (a socket, a failed connect, a close, under its lock),
 *	only to drop the line: the socket's presence is looked at instead,
 *	at most every 10 seconds, and no line is sent while it is missing.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define HM_LOG_LINE_MAX 2000
#define HM_LOG_ID_MAX   64 /* a queue id longer than this is cut */
#define HM_LOG_RECHECK  10 /* seconds between looks for syslogd's socket */
#ifndef _PATH_LOG
#define _PATH_LOG "/dev/log"
#endif

static const char *log_ident = "homed-milter";
static bool log_to_stderr = true;
static bool log_to_syslog = false;
static int log_max = HM_LOG_INFO;

static const int log_priority[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
static const char *const log_names[] = {"error", "warning", "info", "debug"};

/*
 * One line stays one line: control bytes (a client's newline in an
 * address, say) become '?', and a line is cut at HM_LOG_LINE_MAX bytes.
 */
static void log_sanitize(char *line)
{
    static const char control[] = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d"
                                  "\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a"
                                  "\x1b\x1c\x1d\x1e\x1f\x7f";
    char *p;

    if (strnlen(line, HM_LOG_LINE_MAX + 1) > HM_LOG_LINE_MAX)
        strcpy(line + HM_LOG_LINE_MAX - 3, "...");
    /* libc's strcspn looks bytes up in a table: a line is one pass */
    for (p = line + strcspn(line, control); *p != '\0'; p += strcspn(p, control))
        *p++ = '?';
}

/* Whether syslogd's socket is there, as seen at most HM_LOG_RECHECK s ago. */
static bool log_syslog_there(void)
{
    static long next_look;
    static int there = 1;
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
    if (now.tv_sec >= __atomic_load_n(&next_look, __ATOMIC_RELAXED)) {
        __atomic_store_n(&next_look, (long)now.tv_sec + HM_LOG_RECHECK, __ATOMIC_RELAXED);
        __atomic_store_n(&there, access(_PATH_LOG, W_OK) == 0, __ATOMIC_RELAXED);
    }
    return __atomic_load_n(&there, __ATOMIC_RELAXED) != 0;
}

/* Whether stderr is the journal's stream (systemd sets JOURNAL_STREAM). */
static bool log_stderr_is_journal(void)
{
    const char *stream = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    if (stream == NULL || sscanf(stream, "%llu:%llu", &dev, &ino) != 2 ||
        fstat(STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_open(const char *ident, bool to_stderr, bool to_syslog)
{
    log_ident = ident;
    log_to_syslog = to_syslog;
    log_set_stderr(to_stderr);
    if (to_syslog)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void log_set_stderr(bool to_stderr)
{
    log_to_stderr = to_stderr && !(log_to_syslog && log_stderr_is_journal());
}

void log_set_level(enum log_level level)
{
    __atomic_store_n(&log_max, (int)level, __ATOMIC_RELAXED);
}

bool log_level_enabled(enum log_level level)
{
    return (int)level <= __atomic_load_n(&log_max, __ATOMIC_RELAXED);
}

const char *log_level_name(enum log_level level)
{
    if ((unsigned)level > HM_LOG_DEBUG)
        return "unknown";
    return log_names[level];
}

char *log_join(const char *const *part, size_t n)
{
    size_t total = 1, i;
    char *out, *p;

    for (i = 0; i < n; i++)
        total += strlen(part[i]);
    if ((out = p = malloc(total)) == NULL)
        return NULL;
    *p = '\0'; /* N may be 0 */
    for (i = 0; i < n; i++)
        p = stpcpy(p, part[i]);
    return out;
}

/* log_stderr - "IDENT: LEVEL: ID" SEP "LINE\n" to stderr in one write(2). */
static void log_stderr(enum log_level level, const char *id, const char *sep,
                       const char *line)
{
    const char *part[] = {log_ident, ": ", log_names[level], ": ", id, sep, line, "\n"};
    size_t len, off;
    ssize_t w;
    char *buf;

    if ((buf = log_join(part, sizeof part / sizeof *part)) == NULL) {
        fprintf(stderr, "%s: %s: %s%s%s\n", log_ident, log_names[level], id, sep, line);
        return;
    }
    len = strlen(buf);
    for (off = 0; off < len;) {
        if ((w = write(STDERR_FILENO, buf + off, len - off)) > 0)
            off += (size_t)w;
        else if (!(w < 0 && errno == EINTR))
            break; /* nowhere to write to, as with fprintf */
    }
    free(buf);
}

/* log_emit - LINE (harmless already) to syslog and/or stderr. */
static void log_emit(enum log_level level, const char *id, const char *line)
{
    const char *sep = id != NULL ? ": " : "";

    id = id != NULL ? id : "";
    if (log_to_syslog && log_syslog_there())
        syslog(log_priority[level], "%s%s%s", id, sep, line);
    if (log_to_stderr)
        log_stderr(level, id, sep, line);
}

void log_line(enum log_level level, const char *id, char *line)
{
    char oom[] = "out of memory", *clean = NULL;
    size_t i;

    if ((int)level > __atomic_load_n(&log_max, __ATOMIC_RELAXED))
        return;
    /* A queue id is short and plain; anything else is shown cut and cleaned. */
    for (i = 0; id[i] != '\0'; i++)
        if ((unsigned char)id[i] < 0x20 || id[i] == 0x7f || i == HM_LOG_ID_MAX) {
            if ((clean = strndup(id, HM_LOG_ID_MAX)) != NULL)
                log_sanitize(clean);
            id = clean != NULL ? clean : "?";
            break;
        }
    log_sanitize(line = line != NULL ? line : oom);
    log_emit(level, id, line);
    free(clean);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    va_list ap;
    char *line = NULL;

    if ((int)level > __atomic_load_n(&log_max, __ATOMIC_RELAXED))
        return;
    va_start(ap, fmt);
    if (vasprintf(&line, fmt, ap) < 0)
        line = NULL;
    va_end(ap);
    if (line == NULL)
        return;
    log_sanitize(line);
    log_emit(level, NULL, line);
    free(line);
}

/*
 * log.h - one place for every log line
 *
 * Lines go to syslog (facility mail) and, in the foreground or from a
 * command-line query, to stderr as well. The level filter is a single
 * atomic variable, so log_msg() is safe from any thread. Callers must never
 * pass a secret: there is no redaction here.
 */
#ifndef HM_LOG_H
#define HM_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { HM_LOG_ERROR, HM_LOG_WARNING, HM_LOG_INFO, HM_LOG_DEBUG };

/*
 * log_open - start logging as IDENT; TO_STDERR copies every line to stderr,
 * TO_SYSLOG sends it to syslog. Call once, before any thread starts.
 */
void log_open(const char *ident, bool to_stderr, bool to_syslog);

/*
 * log_set_stderr - copy lines to stderr from now on, or stop. A stderr that
 * is systemd's journal gets no copy while syslog is on: the line is there
 * once already. Call before threads start, or when only one runs.
 */
void log_set_stderr(bool to_stderr);

/* log_set_level - lines above LEVEL are dropped from now on. */
void log_set_level(enum log_level level);

/* log_level_enabled - whether lines at LEVEL are emitted now. */
bool log_level_enabled(enum log_level level);

/* log_level_name - "error", "warning", "info" or "debug". */
const char *log_level_name(enum log_level level);

/*
 * log_line - emit "ID: LINE" at LEVEL without formatting it again: LINE is
 * the caller's, made harmless in place (it may be cut); NULL is logged as
 * "out of memory". ID (a queue id from the MTA) is made harmless too.
 */
void log_line(enum log_level level, const char *id, char *line);

/*
 * log_join - the N strings of PART one after the other, as one string a
 * line is put together from without printf: malloc'd (the caller frees
 * it), or NULL when out of memory.
 */
char *log_join(const char *const *part, size_t n);

/* log_msg - format and emit one line at LEVEL. */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_error(...)   log_msg(HM_LOG_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(HM_LOG_WARNING, __VA_ARGS__)
#define log_info(...)    log_msg(HM_LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(HM_LOG_DEBUG, __VA_ARGS__)

#endif

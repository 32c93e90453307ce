/*
 * cfg_check.h - the table of keys and the value checks of the cfg module
 * (private to it)
 *
 * Each check returns 0, or -1 with a static message in *error_r. Pure and
 * thread-safe, except cfg_read_secret() and cfg_check_includes(), which
 * read files.
 */
#ifndef HM_CFG_CHECK_H
#define HM_CFG_CHECK_H

#include <libconfig.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "cfg.h"

/* What a key's value is. */
enum cfg_type { T_STRING, T_INT, T_BOOL, T_LIST, T_ENUM, T_RESERVED };

typedef int cfg_check_fn(const char *value, const char **error_r);

struct cfg_key {
    const char *name;
    enum cfg_type type;
    size_t offset;
    const char *def;             /* T_STRING, T_ENUM: default (NULL: unset) */
    const char *const *def_list; /* T_LIST: NULL-terminated default */
    long def_int, min, max;      /* T_INT, T_BOOL */
    const char *const *choices;  /* T_ENUM: names, index = value */
    cfg_check_fn *check;         /* T_STRING, T_LIST: each value */
    bool empty_ok;               /* T_STRING "" / T_LIST [] allowed */
};

/* The table of keys: cfg_nkeys of them. */
extern const struct cfg_key cfg_keys[];
extern const size_t cfg_nkeys;

/* cfg_find_key - the key called NAME ("ldap.uri"), or NULL. */
const struct cfg_key *cfg_find_key(const char *name);

/* cfg_is_group - whether NAME is a group that holds keys ("ldap"). */
bool cfg_is_group(const char *name);

/*
 * cfg_check_socket - check a milter socket ("unix:/PATH", "inet:PORT@HOST").
 * Returns 0, or -1 with a static message in *error_r.
 */
int cfg_check_socket(const char *value, const char **error_r);

/*
 * cfg_socket_with_host - SOCKET as it is listened on: "inet:PORT" becomes
 * "inet:PORT@127.0.0.1" (and *added_r true), any other is copied. Returns
 * a malloc'd string, or NULL when out of memory.
 */
char *cfg_socket_with_host(const char *socket, bool *added_r);

/*
 * cfg_check_trust - why a file whose status is ST cannot be trusted, or
 * NULL: changeable by users other than its owner, owned by someone else
 * than root or this process's user, or (SECRET) readable by other users.
 */
const char *cfg_check_trust(const struct stat *st, bool secret);

/*
 * cfg_read_secret - read the one-line secret in PATH into a malloc'd
 * string (trailing newline removed). The file must pass cfg_check_trust.
 * Returns 0, or -1 with a static message ("cannot open: ...") in *error_r.
 */
int cfg_read_secret(const char *path, char **secret_r, const char **error_r);

/*
 * cfg_check_includes - hold every file PATH pulls in with @include (names
 * relative to INCLUDE_DIR when not NULL, as libconfig reads them),
 * recursively, to cfg_check_trust(). Returns 0, or -1 with a malloc'd
 * "FILE:LINE: @include \"NAME\": why" (FILE:LINE the directive's) in
 * *error_r, which is NULL when out of memory. In cfg_include.c.
 */
int cfg_check_includes(const char *path, const char *include_dir, char **error_r);

/* The state of one load (cfg.c): where errors go. */
struct cfg_loader {
    const char *path;
    char *error;
};

/*
 * cfg_fail - the load's error: "FILE:LINE: message" (FILE NULL: the main
 * file), the first one only. Returns -1.
 */
int cfg_fail(struct cfg_loader *ld, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* cfg_list_push - a copy of VALUE at the end of L; -1 when out of memory. */
int cfg_list_push(struct cfg_list *l, const char *value);

/*
 * cfg_check_all - after the walk of the file C into CFG: the checks across
 * keys, and what depends on other keys filled in (cfg_all.c). Returns 0,
 * or -1 with the error in LD.
 */
int cfg_check_all(struct cfg_loader *ld, const config_t *c, struct cfg *cfg);

#endif

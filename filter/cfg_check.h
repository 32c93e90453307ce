/*
 * cfg_check.h - value checks of the cfg module (private to it)
 *
 * Each check returns 0, or -1 with a static message in *error_r. Pure and
 * thread-safe, except cfg_read_secret() which reads a file.
 */
#ifndef HM_CFG_CHECK_H
#define HM_CFG_CHECK_H

#include <stdbool.h>
#include <sys/stat.h>

int cfg_check_socket(const char *value, const char **error_r);
int cfg_check_mode(const char *value, const char **error_r);
int cfg_check_path(const char *value, const char **error_r);
int cfg_check_word(const char *value, const char **error_r);
int cfg_check_host(const char *value, const char **error_r);
int cfg_check_uri(const char *value, const char **error_r);
int cfg_check_filter(const char *value, const char **error_r);
int cfg_check_attribute(const char *value, const char **error_r);
int cfg_check_field(const char *value, const char **error_r);
int cfg_check_reply(const char *value, const char **error_r);
int cfg_check_delimiter(const char *value, const char **error_r);

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

#endif

/*
 * NAME
 *	cfg - load and validate the configuration file
 * SUMMARY
 *	cfg_load(), cfg_set_socket(), cfg_ref(), cfg_unref(), cfg_default_fqdn(),
 *	cfg_list_has(); privately cfg_fail(), cfg_list_push()
 * DESCRIPTION
 *	The libconfig walk. The table of keys (cfg_check.c) names every key
 *	with its type, default, range and checks; it drives parsing,
 *	validation and defaults here. Every problem is reported as "FILE:LINE:
 *	message" with the line libconfig recorded for the offending setting.
 *	Unknown keys and wrong types are errors, not warnings: a typo in a
 *	security setting must not pass silently.
 *
 *	The file, and each file it pulls in with @include (cfg_include.c),
 *	is refused before it is read when others may change it. After the
 *	walk, what would only fail later is refused too: a user that does
 *	not exist, and, without local_hosts, a host name that is not fully
 *	qualified. Then what depends on other keys is filled in: the
 *	per-reason reply texts default to policy.reject_text, and
 *	"inet:PORT" gets the host 127.0.0.1.
 *
 *	The bind password file is read here, at load, so that a reload can
 *	fail cleanly and privileges can be dropped afterwards. The password
 *	is wiped when the last reference goes.
 *
 *	A loaded struct cfg is never modified (cfg_set_socket() is for the
 *	command line, before sharing); the reference count is atomic.
 */
#include "autoconf.h"

#include <errno.h>
#include <libconfig.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "cfg_check.h"

/* An error is one line: a value's control characters (a newline) become '?'. */
static void cfg_one_line(char *text)
{
    for (; text != NULL && *text != '\0'; text++)
        if ((unsigned char)*text < 0x20 || *text == 0x7f)
            *text = '?';
}

int cfg_fail(struct cfg_loader *ld, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;

    if (ld->error != NULL)
        return -1;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    if (asprintf(&ld->error, "%s:%d: %s", file ? file : ld->path, line,
                 msg ? msg : "out of memory") < 0)
        ld->error = NULL;
    free(msg);
    cfg_one_line(ld->error);
    return -1;
}

static int cfg_fail_at(struct cfg_loader *ld, const config_setting_t *s, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));

static int cfg_fail_at(struct cfg_loader *ld, const config_setting_t *s, const char *fmt,
                       ...)
{
    va_list ap;
    char *msg = NULL;
    int rc;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    rc = cfg_fail(ld, config_setting_source_file(s), (int)config_setting_source_line(s),
                  "%s", msg ? msg : "out of memory");
    free(msg);
    return rc;
}

static void cfg_list_clear(struct cfg_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

int cfg_list_push(struct cfg_list *l, const char *value)
{
    char **grown = realloc(l->v, (l->n + 1) * sizeof(*l->v));

    if (grown == NULL)
        return -1;
    l->v = grown;
    l->v[l->n] = strdup(value);
    if (l->v[l->n] == NULL)
        return -1;
    l->n++;
    return 0;
}

static int cfg_set_defaults(struct cfg *cfg)
{
    const struct cfg_key *k;
    char *field;
    size_t i;

    for (k = cfg_keys; k < cfg_keys + cfg_nkeys; k++) {
        field = (char *)cfg + k->offset;
        switch (k->type) {
        case T_STRING:
            if (k->def != NULL && (*(char **)field = strdup(k->def)) == NULL)
                return -1;
            break;
        case T_INT:
            *(int *)field = (int)k->def_int;
            break;
        case T_BOOL:
            *(bool *)field = k->def_int != 0;
            break;
        case T_ENUM:
            for (i = 0; k->choices[i] != NULL; i++)
                if (strcmp(k->choices[i], k->def) == 0)
                    *(int *)field = (int)i;
            break;
        case T_LIST:
            for (i = 0; k->def_list != NULL && k->def_list[i] != NULL; i++)
                if (cfg_list_push((struct cfg_list *)field, k->def_list[i]) < 0)
                    return -1;
            break;
        case T_RESERVED:
            break;
        }
    }
    return 0;
}

static const char *cfg_type_name(int type)
{
    switch (type) {
    case CONFIG_TYPE_GROUP:
        return "a group";
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return "an integer";
    case CONFIG_TYPE_FLOAT:
        return "a number with a fraction";
    case CONFIG_TYPE_STRING:
        return "a string";
    case CONFIG_TYPE_BOOL:
        return "a boolean";
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST:
        return "a list";
    default:
        return "something else";
    }
}

static int cfg_wrong_type(struct cfg_loader *ld, const config_setting_t *s,
                          const struct cfg_key *k, const char *want)
{
    return cfg_fail_at(ld, s, "%s: expected %s, got %s", k->name, want,
                       cfg_type_name(config_setting_type(s)));
}

static int cfg_check_value(struct cfg_loader *ld, const config_setting_t *s,
                           const struct cfg_key *k, const char *value)
{
    const char *why = NULL;

    if (*value == '\0' && !k->empty_ok)
        return cfg_fail_at(ld, s, "%s: must not be empty", k->name);
    if (*value != '\0' && k->check != NULL && k->check(value, &why) < 0)
        return cfg_fail_at(ld, s, "%s: %s", k->name, why);
    return 0;
}

static int cfg_read_string(struct cfg_loader *ld, const config_setting_t *s,
                           const struct cfg_key *k, char **field)
{
    const char *value = config_setting_get_string(s);

    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return cfg_wrong_type(ld, s, k, "a string");
    if (cfg_check_value(ld, s, k, value) < 0)
        return -1;
    free(*field);
    if ((*field = strdup(value)) == NULL)
        return cfg_fail_at(ld, s, "out of memory");
    return 0;
}

static int cfg_read_int(struct cfg_loader *ld, const config_setting_t *s,
                        const struct cfg_key *k, int *field)
{
    long long value;

    if (config_setting_type(s) != CONFIG_TYPE_INT &&
        config_setting_type(s) != CONFIG_TYPE_INT64)
        return cfg_wrong_type(ld, s, k, "an integer");
    value = config_setting_get_int64(s);
    if (value < k->min || value > k->max)
        return cfg_fail_at(ld, s, "%s: %lld is out of range (%ld to %ld)", k->name, value,
                           k->min, k->max);
    *field = (int)value;
    return 0;
}

static int cfg_read_enum(struct cfg_loader *ld, const config_setting_t *s,
                         const struct cfg_key *k, int *field)
{
    const char *value = config_setting_get_string(s);
    size_t i;
    char *all = NULL, *more;

    if (config_setting_type(s) != CONFIG_TYPE_STRING)
        return cfg_wrong_type(ld, s, k, "a string");
    for (i = 0; k->choices[i] != NULL; i++) {
        if (strcmp(value, k->choices[i]) == 0) {
            *field = (int)i;
            return 0;
        }
    }
    for (i = 0; k->choices[i] != NULL; i++) {
        if (asprintf(&more, "%s%s\"%s\"", all ? all : "", all ? ", " : "",
                     k->choices[i]) < 0)
            more = NULL;
        free(all);
        if ((all = more) == NULL)
            break;
    }
    cfg_fail_at(ld, s, "%s: \"%s\" is not one of %s", k->name, value,
                all ? all : "the allowed values");
    free(all);
    return -1;
}

static int cfg_read_list(struct cfg_loader *ld, const config_setting_t *s,
                         const struct cfg_key *k, struct cfg_list *field)
{
    const config_setting_t *elem;
    int i, count;

    if (config_setting_type(s) == CONFIG_TYPE_STRING) {
        cfg_list_clear(field);
        if (*config_setting_get_string(s) == '\0' && k->empty_ok)
            return 0; /* "" where [ ] may stand: none ("login_attribute = \"\"") */
        if (cfg_check_value(ld, s, k, config_setting_get_string(s)) < 0)
            return -1;
        return cfg_list_push(field, config_setting_get_string(s)) < 0
                   ? cfg_fail_at(ld, s, "out of memory")
                   : 0;
    }
    if (!config_setting_is_aggregate(s) || config_setting_type(s) == CONFIG_TYPE_GROUP)
        return cfg_wrong_type(ld, s, k, "a list of strings");
    cfg_list_clear(field);
    count = config_setting_length(s);
    if (count == 0 && !k->empty_ok)
        return cfg_fail_at(ld, s, "%s: must not be empty", k->name);
    for (i = 0; i < count; i++) {
        elem = config_setting_get_elem(s, (unsigned)i);
        if (config_setting_type(elem) != CONFIG_TYPE_STRING)
            return cfg_fail_at(ld, elem, "%s: expected a list of strings, got %s",
                               k->name, cfg_type_name(config_setting_type(elem)));
        if (*config_setting_get_string(elem) == '\0')
            return cfg_fail_at(ld, elem, "%s: must not hold an empty string", k->name);
        if (cfg_check_value(ld, elem, k, config_setting_get_string(elem)) < 0)
            return -1;
        if (cfg_list_push(field, config_setting_get_string(elem)) < 0)
            return cfg_fail_at(ld, elem, "out of memory");
    }
    return 0;
}

static int cfg_read_key(struct cfg_loader *ld, struct cfg *cfg, const config_setting_t *s,
                        const struct cfg_key *k)
{
    char *field = (char *)cfg + k->offset;

    switch (k->type) {
    case T_STRING:
        return cfg_read_string(ld, s, k, (char **)field);
    case T_INT:
        return cfg_read_int(ld, s, k, (int *)field);
    case T_BOOL:
        if (config_setting_type(s) != CONFIG_TYPE_BOOL)
            return cfg_wrong_type(ld, s, k, "a boolean (true or false)");
        *(bool *)field = config_setting_get_bool(s) != 0;
        return 0;
    case T_ENUM:
        return cfg_read_enum(ld, s, k, (int *)field);
    case T_LIST:
        return cfg_read_list(ld, s, k, (struct cfg_list *)field);
    case T_RESERVED:
        return cfg_fail_at(ld, s, "%s: not supported by this version of homed-milter",
                           k->name);
    }
    return -1;
}

/* Walk the settings of GROUP (the root when PREFIX is NULL). */
static int cfg_read_group(struct cfg_loader *ld, struct cfg *cfg,
                          const config_setting_t *group, const char *prefix)
{
    const config_setting_t *s;
    const struct cfg_key *k;
    char *name;
    int i, rc;

    for (i = 0; (s = config_setting_get_elem(group, (unsigned)i)) != NULL; i++) {
        if (prefix == NULL && cfg_is_group(config_setting_name(s))) {
            if (config_setting_type(s) != CONFIG_TYPE_GROUP)
                return cfg_fail_at(ld, s, "%s: expected a group { ... }, got %s",
                                   config_setting_name(s),
                                   cfg_type_name(config_setting_type(s)));
            if (cfg_read_group(ld, cfg, s, config_setting_name(s)) < 0)
                return -1;
            continue;
        }
        if (asprintf(&name, "%s%s%s", prefix ? prefix : "", prefix ? "." : "",
                     config_setting_name(s)) < 0)
            return cfg_fail_at(ld, s, "out of memory");
        k = cfg_find_key(name);
        rc = k ? cfg_read_key(ld, cfg, s, k) : cfg_fail_at(ld, s, "unknown key %s", name);
        free(name);
        if (rc < 0)
            return -1;
        cfg->set |= (uint64_t)1 << (k - cfg_keys);
    }
    return 0;
}

bool cfg_list_has(const struct cfg_list *l, const char *name)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (strcasecmp(l->v[i], name) == 0)
            return true;
    return false;
}

/*
 * The configuration names the directory to trust: only its owner may
 * change it, or any file it includes.
 */
static int cfg_check_file(struct cfg_loader *ld, const config_t *c, const char *path)
{
    const char *why;
    struct stat st;

    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
        return 0; /* reading it tells what is wrong */
    if ((why = cfg_check_trust(&st, false)) != NULL)
        return cfg_fail(ld, NULL, 0, "%s", why);
    if (cfg_check_includes(path, config_get_include_dir(c), &ld->error) < 0)
        return ld->error ? -1 : cfg_fail(ld, NULL, 0, "out of memory");
    return 0;
}

int cfg_load(const char *path, struct cfg **cfg_r, char **error_r)
{
    struct cfg_loader ld = {path, NULL};
    struct cfg *cfg;
    config_t c;

    *cfg_r = NULL;
    *error_r = NULL;
    if ((cfg = calloc(1, sizeof(*cfg))) == NULL || (cfg->file = strdup(path)) == NULL) {
        free(cfg);
        cfg_fail(&ld, NULL, 0, "out of memory");
        *error_r = ld.error;
        return -1;
    }
    cfg->refs = 1;
    config_init(&c);
    if (cfg_check_file(&ld, &c, path) < 0) {
        /* refused before it is read: whoever may change it names the directory */
    } else if (config_read_file(&c, path) != CONFIG_TRUE) {
        if (config_error_type(&c) == CONFIG_ERR_FILE_IO)
            cfg_fail(&ld, NULL, 0, "cannot read the file: %m");
        else
            cfg_fail(&ld, config_error_file(&c), config_error_line(&c), "%s",
                     config_error_text(&c));
    } else if (cfg_set_defaults(cfg) < 0) {
        cfg_fail(&ld, NULL, 0, "out of memory");
    } else if (cfg_read_group(&ld, cfg, config_root_setting(&c), NULL) == 0) {
        cfg_check_all(&ld, &c, cfg);
    }
    config_destroy(&c);
    if (ld.error != NULL) {
        cfg_unref(cfg);
        *error_r = ld.error;
        return -1;
    }
    *cfg_r = cfg;
    return 0;
}

int cfg_set_socket(struct cfg *cfg, const char *socket, const char **error_r)
{
    char *copy;
    bool added;

    if (cfg_check_socket(socket, error_r) < 0)
        return -1;
    if ((copy = cfg_socket_with_host(socket, &added)) == NULL) {
        *error_r = "out of memory";
        return -1;
    }
    free(cfg->socket);
    cfg->socket = copy;
    cfg->socket_host_added = added;
    cfg->set |= (uint64_t)1 << (cfg_find_key("socket") - cfg_keys);
    return 0;
}

struct cfg *cfg_ref(struct cfg *cfg)
{
    __atomic_add_fetch(&cfg->refs, 1, __ATOMIC_RELAXED);
    return cfg;
}

void cfg_unref(struct cfg *cfg)
{
    const struct cfg_key *k;
    char *field;

    if (cfg == NULL || __atomic_sub_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    for (k = cfg_keys; k < cfg_keys + cfg_nkeys; k++) {
        field = (char *)cfg + k->offset;
        if (k->type == T_STRING)
            free(*(char **)field);
        else if (k->type == T_LIST)
            cfg_list_clear((struct cfg_list *)field);
    }
    if (cfg->ldap.bind_password != NULL) {
        explicit_bzero(cfg->ldap.bind_password, strlen(cfg->ldap.bind_password));
        free(cfg->ldap.bind_password);
    }
    free(cfg->file);
    free(cfg);
}

char *cfg_default_fqdn(void)
{
    struct addrinfo hints = {0}, *res = NULL;
    char host[256];
    char *name;

    if (gethostname(host, sizeof(host)) != 0)
        return NULL;
    host[sizeof(host) - 1] = '\0';
    if (strchr(host, '.') != NULL)
        return strdup(host);
    hints.ai_flags = AI_CANONNAME;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL)
        return strdup(host);
    name = strdup(res->ai_canonname ? res->ai_canonname : host);
    freeaddrinfo(res);
    return name;
}

/*
 * NAME
 *	cfg_check - the configuration's keys and the checks of their values
 * SUMMARY
 *	cfg_keys[], cfg_nkeys, cfg_key_name(), cfg_find_key(), cfg_is_group(),
 *	cfg_check_socket(), cfg_socket_with_host(), cfg_check_trust(),
 *	cfg_read_secret(), cfg_print()
 * DESCRIPTION
 *	One table, cfg_keys[], names every key with its type, default,
 *	range and check; cfg.c walks it to parse, validate and set
 *	defaults, and the manual's test walks it through cfg_key_name().
 *
 *	The value checks the table names come first. Each looks at
 *	one string and says what is wrong with it in a static message, so
 *	that the loader can prefix "FILE:LINE: key:". They catch at load
 *	what would otherwise fail at the first message: a filter template
 *	with an unknown %-sequence, a reply text the MTA would refuse, a
 *	header name with a colon, an LDAP URI that libldap's own parser
 *	(ldap_url_parse) refuses.
 *
 *	cfg_print() walks the same table to write a loaded configuration
 *	back as "key = value" lines (-n -v), marking the keys the file left
 *	to their defaults; the bind password is no key and never written.
 *
 *	All checks are pure. cfg_read_secret() reads one small file.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cfg.h"
#include "cfg_check.h"
#include "dir_filter.h"
#include "directory.h"

#define CFG_SECRET_MAX 4096

static int cfg_bad(const char **error_r, const char *why)
{
    *error_r = why;
    return -1;
}

static bool cfg_is_graph(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s == 0x7f)
            return false;
    return true;
}

static int cfg_check_port(const char *s, const char **error_r)
{
    long port = 0;
    const char *p;

    for (p = s; *p != '\0' && *p != '@'; p++) {
        if (!isdigit((unsigned char)*p) || port > 65535)
            return cfg_bad(error_r, "the port must be a number from 1 to 65535");
        port = port * 10 + (*p - '0');
    }
    if (p == s || port < 1 || port > 65535)
        return cfg_bad(error_r, "the port must be a number from 1 to 65535");
    if (*p == '@' && p[1] == '\0')
        return cfg_bad(error_r, "the host after @ is empty");
    return 0;
}

int cfg_check_socket(const char *value, const char **error_r)
{
    const char *path = NULL;

    if (!cfg_is_graph(value))
        return cfg_bad(error_r, "must not hold blanks or control characters");
    if (strncmp(value, "unix:", 5) == 0)
        path = value + 5;
    else if (strncmp(value, "local:", 6) == 0)
        path = value + 6;
    else if (strncmp(value, "inet:", 5) == 0)
        return cfg_check_port(value + 5, error_r);
    else if (strncmp(value, "inet6:", 6) == 0)
        return cfg_check_port(value + 6, error_r);
    else
        return cfg_bad(error_r, "expected unix:/PATH, inet:PORT@HOST or inet6:PORT@HOST");
    if (*path != '/')
        return cfg_bad(error_r, "a unix socket needs an absolute path");
    if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return cfg_bad(error_r, "the unix socket path is too long");
    return 0;
}

static int cfg_check_mode(const char *value, const char **error_r)
{
    const char *p;

    for (p = value; *p != '\0'; p++)
        if (*p < '0' || *p > '7')
            return cfg_bad(error_r, "expected an octal mode such as \"0660\"");
    if (p - value > 4 || strtol(value, NULL, 8) > 0777)
        return cfg_bad(error_r, "expected an octal mode such as \"0660\"");
    return 0;
}

static int cfg_check_path(const char *value, const char **error_r)
{
    if (*value != '/')
        return cfg_bad(error_r, "must be an absolute path");
    if (strchr(value, '\n') != NULL)
        return cfg_bad(error_r, "must not hold a newline");
    return 0;
}

static int cfg_check_word(const char *value, const char **error_r)
{
    if (!cfg_is_graph(value))
        return cfg_bad(error_r, "must not hold blanks or control characters");
    return 0;
}

/*
 * A local host: a host name, or with ldap.home_value = "rdn" an RDN's
 * value such as an Exchange database's name, which may hold blanks (the
 * configuration's check refuses those with "host").
 */
static int cfg_check_host(const char *value, const char **error_r)
{
    const char *p;

    for (p = value; *p != '\0'; p++)
        if ((unsigned char)*p < ' ' || (unsigned char)*p == 0x7f)
            return cfg_bad(error_r, "must not hold control characters");
    if (value[0] == ' ' || value[strlen(value) - 1] == ' ')
        return cfg_bad(error_r, "must not begin or end with a blank");
    return 0;
}

/*
 * cfg_check_domain - a domain name as a reply names it: labels of ASCII
 * letters, digits and '-', one trailing dot at most.
 */
static int cfg_check_domain(const char *value, const char **error_r)
{
    size_t i, label = 0;

    if (strlen(value) > 253)
        return cfg_bad(error_r, "a domain name is at most 253 characters long");
    for (i = 0; value[i] != '\0'; i++) {
        unsigned char c = (unsigned char)value[i];

        if (c == '.' && label == 0)
            return cfg_bad(error_r, "a domain name has no empty label");
        if (c == '.') {
            label = 0;
            continue;
        }
        if (c >= 0x80)
            return cfg_bad(error_r, "write an international domain name in its "
                                    "ASCII form (xn--...)");
        if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'z') &&
            !(c >= 'A' && c <= 'Z') && c != '-')
            return cfg_bad(error_r, "a domain name holds letters, digits, '-' and "
                                    "'.' only");
        if (++label > 63)
            return cfg_bad(error_r, "a label of a domain name is at most 63 characters");
    }
    return 0;
}

/* As the directory will: libldap's parser has the last word (dir_uri_check). */
static int cfg_check_uri(const char *value, const char **error_r)
{
    if (!cfg_is_graph(value))
        return cfg_bad(error_r, "must not hold blanks or control characters");
    if (strncasecmp(value, "ldap://", 7) != 0 && strncasecmp(value, "ldaps://", 8) != 0 &&
        strncasecmp(value, "ldapi://", 8) != 0)
        return cfg_bad(error_r, "expected an ldap://, ldaps:// or ldapi:// URI");
    return dir_uri_check(value, error_r);
}

/* The template syntax is the directory's: see dir_filter.h. */
static int cfg_check_filter(const char *value, const char **error_r)
{
    return dir_filter_parse(value, 0, error_r);
}

/* A delegation filter: %s (the address) and %D (the login's entry DN) too. */
static int cfg_check_grant_filter(const char *value, const char **error_r)
{
    return dir_filter_parse(value, HM_FILTER_ALLOW_ADDRESS | HM_FILTER_ALLOW_DN, error_r);
}

static int cfg_check_attribute(const char *value, const char **error_r)
{
    const char *p;

    if (!isalnum((unsigned char)value[0]))
        return cfg_bad(error_r, "an attribute name starts with a letter or digit");
    for (p = value; *p != '\0'; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' && *p != ';')
            return cfg_bad(error_r, "an attribute name holds only letters, digits, "
                                    "'-', '.' and ';'");
    return 0;
}

static int cfg_check_field(const char *value, const char **error_r)
{
    const char *p;

    for (p = value; *p != '\0'; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || *p == ':')
            return cfg_bad(error_r, "a header field name holds printable ASCII "
                                    "but no blank and no ':'");
    return 0;
}

/* A reply text: printable ASCII; %s (the address) and %u (the login) once each. */
static int cfg_check_reply(const char *value, const char **error_r)
{
    const char *p;
    int addresses = 0, logins = 0;

    if (strlen(value) > 400)
        return cfg_bad(error_r, "longer than 400 characters");
    for (p = value; *p != '\0'; p++) {
        if ((unsigned char)*p < ' ' || (unsigned char)*p >= 0x7f)
            return cfg_bad(error_r, "an SMTP reply holds printable ASCII only");
        if (*p != '%')
            continue;
        p++;
        if (*p == 's')
            addresses++;
        else if (*p == 'u')
            logins++;
        else if (*p != '%')
            return cfg_bad(error_r, "only %s, %u and %% may be used");
    }
    if (addresses > 1)
        return cfg_bad(error_r, "%s may be used once at most");
    if (logins > 1)
        return cfg_bad(error_r, "%u may be used once at most");
    return 0;
}

static int cfg_check_delimiter(const char *value, const char **error_r)
{
    /*
     * Only "+": it is not part of mailbox names in practice, while "-",
     * "." or "_" also stand inside other people's addresses (jane-smith@
     * would be "owned" by jane@). Others need a lookup by address first.
     */
    if (strspn(value, "+") != strlen(value))
        return cfg_bad(error_r, "only \"+\" is supported: other delimiters such as "
                                "\"-\" also stand inside other people's addresses");
    return 0;
}

/* The table of keys: what the loader walks, reads and checks. */

static const char *const levels[] = {"error", "warning", "info", "debug", NULL};
static const char *const scopes[] = {"base", "one", "sub", NULL};
static const char *const modes[] = {"enforce", "report", NULL};
static const char *const unauth[] = {"accept", "reject", NULL};
static const char *const onerr[] = {"tempfail", "accept", "reject", NULL};
static const char *const names[] = {"check", "ignore", NULL};
static const char *const decide_ats[] = {"mail", "end-of-data", NULL};
static const char *const def_uri[] = {"ldapi:///", NULL};
static const char *const def_attrs[] = {"mail", "mailLocalAddress", NULL};
static const char *const def_login[] = {"uid", NULL};
static const char *const home_values[] = {"host", "rdn", NULL};
static const char *const def_fields[] = {"From", "Sender", NULL};

#define OFF(field) offsetof(struct cfg, field)
#define STR(n, f, d, chk, e)                                                             \
    {                                                                                    \
        n, T_STRING, OFF(f), d, NULL, 0, 0, 0, NULL, chk, e                              \
    }
#define INT(n, f, d, lo, hi)                                                             \
    {                                                                                    \
        n, T_INT, OFF(f), NULL, NULL, d, lo, hi, NULL, NULL, false                       \
    }
#define BOOL(n, f, d)                                                                    \
    {                                                                                    \
        n, T_BOOL, OFF(f), NULL, NULL, d, 0, 1, NULL, NULL, false                        \
    }
#define LIST(n, f, d, chk, e)                                                            \
    {                                                                                    \
        n, T_LIST, OFF(f), NULL, d, 0, 0, 0, NULL, chk, e                                \
    }
#define ENUM(n, f, d, c)                                                                 \
    {                                                                                    \
        n, T_ENUM, OFF(f), d, NULL, 0, 0, 0, c, NULL, false                              \
    }
#define RESERVED(n)                                                                      \
    {                                                                                    \
        n, T_RESERVED, 0, NULL, NULL, 0, 0, 0, NULL, NULL, false                         \
    }

const struct cfg_key cfg_keys[] = {
    STR("socket", socket, "unix:/var/spool/postfix/homed-milter/homed-milter.sock",
        cfg_check_socket, false),
    STR("socket_mode", socket_mode, "0660", cfg_check_mode, false),
    STR("pid_file", pid_file, NULL, cfg_check_path, false),
    STR("user", user, NULL, cfg_check_word, false),
    ENUM("log_level", log_level, "info", levels),
    LIST("local_hosts", local_hosts, NULL, cfg_check_host, false),
    LIST("ldap.uri", ldap.uri, def_uri, cfg_check_uri, false),
    STR("ldap.bind_dn", ldap.bind_dn, NULL, NULL, false),
    STR("ldap.bind_password_file", ldap.bind_password_file, NULL, cfg_check_path, false),
    BOOL("ldap.starttls", ldap.starttls, 0),
    STR("ldap.ca_file", ldap.ca_file, NULL, cfg_check_path, false),
    STR("ldap.base", ldap.base, NULL, NULL, false),
    ENUM("ldap.scope", ldap.scope, "sub", scopes),
    STR("ldap.login_filter", ldap.login_filter, "(uid=%u)", cfg_check_filter, false),
    LIST("ldap.login_attribute", ldap.login_attribute, def_login, cfg_check_attribute,
         true),
    LIST("ldap.address_attributes", ldap.address_attributes, def_attrs,
         cfg_check_attribute, false),
    LIST("ldap.prefixed_attributes", ldap.prefixed_attributes, NULL, cfg_check_attribute,
         true),
    STR("ldap.home_attribute", ldap.home_attribute, "mailHost", cfg_check_attribute,
        true),
    ENUM("ldap.home_value", ldap.home_value, "host", home_values),
    INT("ldap.timeout", ldap.timeout, 5, 1, 300),
    INT("ldap.connections", ldap.connections, 8, 1, 256),
    STR("ldap.delegation_filter", ldap.delegation_filter, "", cfg_check_grant_filter,
        true),
    STR("ldap.on_behalf_filter", ldap.on_behalf_filter, "", cfg_check_grant_filter, true),
    ENUM("policy.mode", policy.mode, "enforce", modes),
    BOOL("policy.check_envelope", policy.check_envelope, 1),
    LIST("policy.header_fields", policy.header_fields, def_fields, cfg_check_field, true),
    ENUM("policy.unauthenticated", policy.unauthenticated, "accept", unauth),
    ENUM("policy.on_directory_error", policy.on_directory_error, "tempfail", onerr),
    STR("policy.reject_text", policy.reject_text, "Mailbox is not local: %s",
        cfg_check_reply, false),
    STR("policy.reject_text_no_entry", policy.reject_text_no_entry, NULL, cfg_check_reply,
        false),
    STR("policy.reject_text_not_homed", policy.reject_text_not_homed, NULL,
        cfg_check_reply, false),
    STR("policy.reject_text_not_owned", policy.reject_text_not_owned, NULL,
        cfg_check_reply, false),
    STR("policy.reject_text_malformed", policy.reject_text_malformed, NULL,
        cfg_check_reply, false),
    STR("policy.extension_delimiter", policy.extension_delimiter, "", cfg_check_delimiter,
        true),
    STR("policy.report_header", policy.report_header, "X-Homed-Milter", cfg_check_field,
        false),
    ENUM("policy.display_names", policy.display_names, "check", names),
    LIST("policy.trusted_logins", policy.trusted_logins, NULL, cfg_check_word, true),
    ENUM("policy.decide_at", policy.decide_at, "mail", decide_ats),
    INT("cache.ttl", cache.ttl, 300, 0, 86400),
    INT("cache.negative_ttl", cache.negative_ttl, 60, 0, 86400),
    INT("cache.size", cache.size, 100000, 0, 10000000),
    INT("cache.stale_ttl", cache.stale_ttl, 0, 0, 2592000),
    INT("stats_interval", stats_interval, 3600, 0, 86400),
    ENUM("eight_bit.undeclared", eight_bit.undeclared, "accept", unauth),
    BOOL("eight_bit.seven_bit_only", eight_bit.seven_bit_only, 0),
    LIST("eight_bit.seven_bit_only_domains", eight_bit.seven_bit_only_domains, NULL,
         cfg_check_domain, true),
};

const size_t cfg_nkeys = sizeof(cfg_keys) / sizeof(cfg_keys[0]);

_Static_assert(sizeof(cfg_keys) / sizeof(cfg_keys[0]) <= 64,
               "struct cfg's set holds one bit per key");

/* Groups that may hold keys. */
static const char *const cfg_groups[] = {"ldap", "policy", "cache", "eight_bit", NULL};

const char *cfg_key_name(size_t i)
{
    return i < cfg_nkeys ? cfg_keys[i].name : NULL;
}

const struct cfg_key *cfg_find_key(const char *name)
{
    size_t i;

    for (i = 0; i < cfg_nkeys; i++)
        if (strcmp(cfg_keys[i].name, name) == 0)
            return &cfg_keys[i];
    return NULL;
}

bool cfg_is_group(const char *name)
{
    size_t i;

    for (i = 0; cfg_groups[i] != NULL; i++)
        if (strcmp(cfg_groups[i], name) == 0)
            return true;
    return false;
}

static int cfg_read_fd(int fd, char **secret_r, const char **error_r)
{
    char *buf = malloc(CFG_SECRET_MAX + 1);
    size_t len = 0;
    ssize_t got;

    if (buf == NULL)
        return cfg_bad(error_r, "out of memory");
    while (len <= CFG_SECRET_MAX &&
           (got = read(fd, buf + len, CFG_SECRET_MAX + 1 - len)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            *error_r = strerrordesc_np(errno);
            explicit_bzero(buf, CFG_SECRET_MAX + 1);
            free(buf);
            return -1;
        }
        len += (size_t)got;
    }
    *error_r = NULL;
    if (len > CFG_SECRET_MAX) {
        *error_r = "longer than 4096 bytes";
    } else {
        if (len > 0 && buf[len - 1] == '\n' && --len > 0 && buf[len - 1] == '\r')
            len--;
        if (len == 0)
            *error_r = "is empty";
        else if (memchr(buf, '\0', len) != NULL)
            *error_r = "holds a NUL byte";
        else if (memchr(buf, '\n', len) != NULL || memchr(buf, '\r', len) != NULL)
            *error_r = "holds more than one line";
    }
    if (*error_r == NULL) {
        buf[len] = '\0';
        *secret_r = buf;
        return 0;
    }
    explicit_bzero(buf, CFG_SECRET_MAX + 1);
    free(buf);
    return -1;
}

const char *cfg_check_trust(const struct stat *st, bool secret)
{
    if (secret && (st->st_mode & S_IRWXO) != 0)
        return "other users may read it: chmod o-rwx (e.g. 0640, owner root, group of "
               "the milter's user)";
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return "users other than its owner may change it: chmod go-w";
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return "owned by a user other than root or the one running homed-milter: "
               "chown root";
    return NULL;
}

int cfg_read_secret(const char *path, char **secret_r, const char **error_r)
{
    struct stat st;
    int fd, rc;

    *secret_r = NULL;
    /* O_NONBLOCK: a FIFO in its place must not hang the start. */
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
        return cfg_bad(error_r, strerrordesc_np(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cfg_bad(error_r, "not a regular file");
    }
    /* Whoever may read it binds as the milter; whoever may change it, too. */
    if ((*error_r = cfg_check_trust(&st, true)) != NULL) {
        close(fd);
        return -1;
    }
    rc = cfg_read_fd(fd, secret_r, error_r);
    close(fd);
    return rc;
}

char *cfg_socket_with_host(const char *socket, bool *added_r)
{
    char *out = NULL;

    *added_r = strncmp(socket, "inet:", 5) == 0 && strchr(socket, '@') == NULL;
    if (!*added_r)
        return strdup(socket);
    return asprintf(&out, "%s@127.0.0.1", socket) < 0 ? NULL : out;
}

/* The printer of -n -v: values written as the file would write them. */

static void cfg_print_string(const char *s, FILE *out)
{
    fputc('"', out);
    for (; *s != '\0'; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(out, "\\%c", *s);
        else if ((unsigned char)*s < ' ' || *s == 0x7f)
            fprintf(out, "\\x%02x", (unsigned)(unsigned char)*s);
        else
            fputc(*s, out);
    }
    fputc('"', out);
}

static void cfg_print_value(const struct cfg *cfg, const struct cfg_key *k, FILE *out)
{
    const char *field = (const char *)cfg + k->offset;
    const struct cfg_list *l = (const struct cfg_list *)field;
    size_t i;

    switch (k->type) {
    case T_STRING:
        if (*(char *const *)field != NULL)
            cfg_print_string(*(char *const *)field, out);
        break;
    case T_INT:
        fprintf(out, "%d", *(const int *)field);
        break;
    case T_BOOL:
        fputs(*(const bool *)field ? "true" : "false", out);
        break;
    case T_ENUM:
        cfg_print_string(k->choices[*(const int *)field], out);
        break;
    case T_LIST:
        fputs("[ ", out);
        for (i = 0; i < l->n; i++) {
            cfg_print_string(l->v[i], out);
            fputs(i + 1 < l->n ? ", " : " ", out);
        }
        fputc(']', out);
        break;
    case T_RESERVED:
        break;
    }
}

/* What the line of K says after its value: whether and how it was defaulted. */
static const char *cfg_print_note(const struct cfg *cfg, const struct cfg_key *k,
                                  bool set)
{
    if (strcmp(k->name, "socket") == 0 && cfg->socket_host_added)
        return "inet:PORT without a host listens on 127.0.0.1 only";
    if (strcmp(k->name, "policy.decide_at") == 0 &&
        cfg->policy.decide_at == HM_DECIDE_EOD)
        return "MAIL FROM passed without a reply, every decision at end-of-DATA";
    if (set)
        return NULL;
    if (strncmp(k->name, "policy.reject_text_", 19) == 0)
        return "default: policy.reject_text";
    if (strcmp(k->name, "local_hosts") == 0)
        return "default: this host's fully qualified name";
    if (k->type == T_STRING && k->def == NULL)
        return "default: not set";
    return "default";
}

int cfg_print(const struct cfg *cfg, FILE *out)
{
    const struct cfg_key *k;
    const char *note;
    size_t i;

    for (i = 0; i < cfg_nkeys; i++) {
        k = &cfg_keys[i];
        if (k->type == T_RESERVED)
            continue; /* refused when set: nothing to show */
        fprintf(out, "%s =", k->name);
        if (k->type != T_STRING || *(char *const *)((const char *)cfg + k->offset))
            fputc(' ', out);
        cfg_print_value(cfg, k, out);
        if ((note = cfg_print_note(cfg, k, (cfg->set >> i & 1) != 0)) != NULL)
            fprintf(out, "  # %s", note);
        fputc('\n', out);
    }
    return fflush(out) == 0 && !ferror(out) ? 0 : -1;
}

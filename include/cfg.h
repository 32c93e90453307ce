/*
 * cfg.h - the configuration file (module cfg), loaded once and then read-only
 *
 * A struct cfg is immutable after cfg_load() returns it. It is reference
 * counted: a reload builds a new one while requests in flight keep the one
 * they started with (cfg_ref/cfg_unref are thread-safe).
 */
#ifndef HM_CFG_H
#define HM_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cfg_mode { HM_MODE_ENFORCE, HM_MODE_REPORT };
enum cfg_unauth { HM_UNAUTH_ACCEPT, HM_UNAUTH_REJECT };
enum cfg_on_error { HM_ONERR_TEMPFAIL, HM_ONERR_ACCEPT, HM_ONERR_REJECT };
enum cfg_scope { HM_SCOPE_BASE, HM_SCOPE_ONE, HM_SCOPE_SUB };
enum cfg_names { HM_NAMES_CHECK, HM_NAMES_IGNORE };
enum cfg_undeclared { HM_UNDECLARED_ACCEPT, HM_UNDECLARED_REJECT };
/* What of a home value is compared with local_hosts: all of it, or its RDN's value. */
enum cfg_home_value { HM_HOME_HOST, HM_HOME_RDN };
/* When a message is decided: at MAIL FROM, or all at once at end-of-DATA. */
enum cfg_decide_at { HM_DECIDE_MAIL, HM_DECIDE_EOD };

struct cfg_list {
    char **v;
    size_t n;
};

struct cfg {
    char *file;        /* the path it was loaded from */
    char *socket;      /* "inet:PORT" is stored as "inet:PORT@127.0.0.1" */
    char *socket_mode; /* octal, for a unix socket */
    char *pid_file;    /* NULL: none */
    char *user;        /* NULL: keep the starting user */
    int log_level;     /* enum log_level */
    struct cfg_list local_hosts;
    struct {
        struct cfg_list uri;
        char *bind_dn;            /* NULL: anonymous */
        char *bind_password_file; /* NULL: anonymous */
        char *bind_password;      /* read at load; never log it */
        bool starttls;
        char *ca_file;
        char *base;
        int scope; /* enum cfg_scope */
        char *login_filter;
        struct cfg_list login_attribute; /* a value of one must be the login, ASCII
                                            case aside; none: trust the filter's
                                            matching rules */
        struct cfg_list address_attributes;
        struct cfg_list prefixed_attributes; /* of those: only "smtp:" values, the
                                                prefix removed (AD's proxyAddresses) */
        char *home_attribute;                /* "": no homed check */
        int home_value;                      /* enum cfg_home_value */
        char *delegation_filter; /* send as: %s the address, %D the login's DN;
                                    "": none */
        char *on_behalf_filter;  /* send on behalf: the same; "": none */
        int timeout;             /* seconds, per LDAP operation */
        int connections;         /* at most this many open at once */
    } ldap;
    struct {
        int mode; /* enum cfg_mode */
        bool check_envelope;
        struct cfg_list header_fields;
        int unauthenticated;        /* enum cfg_unauth */
        int on_directory_error;     /* enum cfg_on_error */
        char *reject_text;          /* %s the address, %u the login */
        char *reject_text_no_entry; /* these four: reject_text unless set */
        char *reject_text_not_homed;
        char *reject_text_not_owned;
        char *reject_text_malformed;
        char *extension_delimiter;
        char *report_header;
        int display_names;              /* enum cfg_names */
        struct cfg_list trusted_logins; /* never checked (list servers, relays) */
        int decide_at;                  /* enum cfg_decide_at */
    } policy;
    struct {
        int ttl;
        int negative_ttl;
        int size;
        int stale_ttl; /* a found entry decides this long while the directory
                          is down; 0: never */
    } cache;
    struct {
        int undeclared;                         /* enum cfg_undeclared */
        bool seven_bit_only;                    /* every next hop takes 7-bit only */
        struct cfg_list seven_bit_only_domains; /* recipient domains whose
                                                   next hop does */
    } eight_bit;
    int stats_interval;     /* seconds between counter lines; 0: never */
    bool socket_host_added; /* "inet:PORT" was given: 127.0.0.1 added */
    uint64_t set;           /* private: bit I, cfg_keys[I] is in the file */
    unsigned refs;          /* private */
};

/*
 * cfg_load - read and validate PATH. Returns 0 and a config with one
 * reference in *cfg_r, or -1 and a malloc'd "FILE:LINE: message" in
 * *error_r (caller frees). Reads ldap.bind_password_file; contacts nothing.
 */
int cfg_load(const char *path, struct cfg **cfg_r, char **error_r);

/* cfg_list_has - whether L holds NAME, ASCII case aside (names of fields, attributes). */
bool cfg_list_has(const struct cfg_list *l, const char *name);

/* cfg_ref - take one more reference; returns CFG. */
struct cfg *cfg_ref(struct cfg *cfg);

/* cfg_unref - drop one reference; the last one wipes the password. NULL-safe. */
void cfg_unref(struct cfg *cfg);

/*
 * cfg_key_name - the dotted name of the I-th key of the configuration
 * table ("ldap.uri"), or NULL past the last one. For documentation checks.
 */
const char *cfg_key_name(size_t i);

/*
 * cfg_set_socket - replace CFG's socket with SOCKET (the -p flag), before
 * CFG is shared. Returns 0, or -1 with a static message in *error_r.
 */
int cfg_set_socket(struct cfg *cfg, const char *socket, const char **error_r);

/*
 * cfg_print - write CFG to OUT as "key = value" lines, one per key in the
 * order of the table, values in the file's syntax; a key the file left
 * out is marked "# default". The bind password is never written. For
 * -n -v. Returns 0, or -1 when OUT failed.
 */
int cfg_print(const struct cfg *cfg, FILE *out);

/*
 * cfg_default_fqdn - this host's fully qualified name, the default of
 * local_hosts. Returns a malloc'd string, or NULL when it cannot be found.
 */
char *cfg_default_fqdn(void);

#endif

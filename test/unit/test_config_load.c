/*
 * test_config_load - the second file of the test_config program: files
 * loaded and what the configuration then holds. The defaults and the
 * sample configuration, the bind password file and the permissions of it
 * and of the configuration, @include, the default of local_hosts (this
 * host's name, through stand-ins for the resolver), the socket and the
 * per-reason reply texts.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <netdb.h>

#include "cfg.h"
#include "configtest.h"

/*
 * The host name cfg_default_fqdn() sees, and what resolving it gives
 * (NULL: it does not resolve). These stand in for the C library's, so
 * that the default of local_hosts is the same on every machine and no
 * test asks the DNS.
 */
static const char *fake_host = "mail.example.org";
static const char *fake_canon;

int gethostname(char *name, size_t len)
{
    if (strlen(fake_host) >= len)
        return -1;
    strcpy(name, fake_host);
    return 0;
}

int getaddrinfo(const char *restrict node, const char *restrict service,
                const struct addrinfo *restrict hints, struct addrinfo **restrict res)
{
    (void)service;
    (void)hints;
    *res = NULL;
    if (fake_canon == NULL || strcmp(node, fake_host) != 0)
        return EAI_NONAME;
    if ((*res = calloc(1, sizeof(**res))) == NULL ||
        ((*res)->ai_canonname = strdup(fake_canon)) == NULL)
        return EAI_MEMORY;
    return 0;
}

void freeaddrinfo(struct addrinfo *res)
{
    if (res != NULL)
        free(res->ai_canonname);
    free(res);
}

/* Write NAME, a configuration whose bind password is in SECRET; returns the malloc'd
 * path. */
static char *secret_conf(const char *name, const char *secret)
{
    char *text = NULL, *conf;

    assert_true(asprintf(&text, LDAP("bind_dn = \"cn=m\"; bind_password_file = \"%s\";"),
                         secret) > 0);
    conf = write_file(name, text);
    free(text);
    return conf;
}

/*
 * Load CONF, which must fail with exactly the error FMT and its arguments
 * make, an error that does not show HIDDEN (the password; NULL: no check).
 */
static void load_fails(const char *conf, const char *hidden, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void load_fails(const char *conf, const char *hidden, const char *fmt, ...)
{
    struct cfg *cfg = NULL;
    char *error = NULL, *want = NULL;
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&want, fmt, ap);
    va_end(ap);
    assert_true(n > 0);
    assert_int_equal(cfg_load(conf, &cfg, &error), -1);
    assert_string_equal(error, want);
    assert_null(cfg);
    if (hidden != NULL)
        assert_null(strstr(error, hidden));
    free(want);
    free(error);
}

/* The bit of struct cfg's set that stands for the key NAME. */
static uint64_t key_bit(const char *name)
{
    size_t i;

    for (i = 0; cfg_key_name(i) != NULL; i++)
        if (strcmp(cfg_key_name(i), name) == 0)
            return (uint64_t)1 << i;
    fail_msg("no key %s", name);
    return 0;
}

static void test_missing_file(void **state)
{
    char *path;

    (void)state;
    assert_true(asprintf(&path, "%s/none.conf", test_dir) > 0);
    load_fails(path, NULL, "%s:0: cannot read the file: No such file or directory", path);
    free(path);
}

static void test_defaults(void **state)
{
    char *path = write_file("d.conf", BASE);
    struct cfg *cfg = NULL;
    char *error = NULL;

    (void)state;
    assert_int_equal(cfg_load(path, &cfg, &error), 0);
    assert_string_equal(cfg->socket,
                        "unix:/var/spool/postfix/homed-milter/homed-milter.sock");
    assert_string_equal(cfg->socket_mode, "0660");
    assert_null(cfg->pid_file);
    assert_null(cfg->user);
    assert_int_equal(cfg->log_level, 2);
    assert_int_equal(cfg->local_hosts.n, 1); /* this host's name */
    assert_string_equal(cfg->local_hosts.v[0], "mail.example.org");
    assert_int_equal(cfg->ldap.uri.n, 1);
    assert_string_equal(cfg->ldap.uri.v[0], "ldapi:///");
    assert_null(cfg->ldap.bind_dn);
    assert_false(cfg->ldap.starttls);
    assert_int_equal(cfg->ldap.scope, HM_SCOPE_SUB);
    assert_string_equal(cfg->ldap.login_filter, "(uid=%u)");
    assert_int_equal(cfg->ldap.login_attribute.n, 1);
    assert_string_equal(cfg->ldap.login_attribute.v[0], "uid");
    assert_int_equal(cfg->ldap.prefixed_attributes.n, 0);
    assert_int_equal(cfg->ldap.home_value, HM_HOME_HOST);
    assert_int_equal(cfg->ldap.address_attributes.n, 2);
    assert_string_equal(cfg->ldap.address_attributes.v[1], "mailLocalAddress");
    assert_string_equal(cfg->ldap.home_attribute, "mailHost");
    assert_int_equal(cfg->ldap.timeout, 5);
    assert_int_equal(cfg->policy.mode, HM_MODE_ENFORCE);
    assert_true(cfg->policy.check_envelope);
    assert_int_equal(cfg->policy.header_fields.n, 2);
    assert_string_equal(cfg->policy.header_fields.v[0], "From");
    assert_int_equal(cfg->policy.unauthenticated, HM_UNAUTH_ACCEPT);
    assert_int_equal(cfg->policy.on_directory_error, HM_ONERR_TEMPFAIL);
    assert_string_equal(cfg->policy.reject_text, "Mailbox is not local: %s");
    assert_string_equal(cfg->policy.reject_text_no_entry, "Mailbox is not local: %s");
    assert_string_equal(cfg->policy.reject_text_not_homed, "Mailbox is not local: %s");
    assert_string_equal(cfg->policy.reject_text_not_owned, "Mailbox is not local: %s");
    assert_string_equal(cfg->policy.reject_text_malformed, "Mailbox is not local: %s");
    assert_false(cfg->socket_host_added);
    assert_true(cfg->set == key_bit("ldap.base"));
    assert_string_equal(cfg->policy.extension_delimiter, "");
    assert_string_equal(cfg->policy.report_header, "X-Homed-Milter");
    assert_int_equal(cfg->cache.ttl, 300);
    assert_int_equal(cfg->cache.negative_ttl, 60);
    assert_int_equal(cfg->cache.size, 100000);
    assert_int_equal(cfg->stats_interval, 3600);
    assert_ptr_equal(cfg_ref(cfg), cfg);
    cfg_unref(cfg);
    cfg_unref(cfg);
    cfg_unref(NULL);
    free(path);
}

static void test_sample_config(void **state)
{
    const char *src = getenv("HM_SRCDIR");
    struct cfg *cfg = NULL;
    char *path = NULL, *error = NULL;

    (void)state;
    assert_true(asprintf(&path, "%s/etc/homed-milter.conf", src ? src : ".") > 0);
    if (cfg_load(path, &cfg, &error) < 0)
        fail_msg("%s", error);
    assert_string_equal(cfg->local_hosts.v[0], "mail.example.com");
    assert_string_equal(cfg->ldap.base, "ou=people,dc=example,dc=com");
    cfg_unref(cfg);
    free(path);
}

/* Secrets: read whole, newline stripped; bad files refused by name. */
static void test_password_file(void **state)
{
    static const struct {
        const char *content, *password, *error;
    } cases[] = {
        {"s3cret\n", "s3cret", NULL},
        {"s3cret", "s3cret", NULL},
        {"s3 cret\r\n", "s3 cret", NULL},
        {"", NULL, "is empty"},
        {"\n", NULL, "is empty"},
        {"one\ntwo\n", NULL, "holds more than one line"},
    };
    struct cfg *cfg;
    char *secret, *conf;
    size_t i;

    (void)state;
    for (i = 0; i < N(cases); i++) {
        secret = write_file("secret", cases[i].content);
        assert_int_equal(chmod(secret, 0600), 0);
        conf = secret_conf("p.conf", secret);
        if (cases[i].error == NULL) {
            cfg = load_path(conf);
            assert_string_equal(cfg->ldap.bind_password, cases[i].password);
            cfg_unref(cfg);
        } else {
            load_fails(conf, "s3cret", "%s:2: ldap.bind_password_file: %s: %s", conf,
                       secret, cases[i].error);
        }
        free(conf);
        free(secret);
    }
}

/*
 * Permissions: a secret others may read, or a secret or configuration
 * others may change, is refused by name; the password is never shown.
 */
static void test_file_permissions(void **state)
{
#define OTHERS_READ                                                                      \
    "other users may read it: chmod o-rwx (e.g. 0640, owner root, group of the "         \
    "milter's user)"
#define OTHERS_WRITE "users other than its owner may change it: chmod go-w"
    static const struct {
        mode_t secret_mode, conf_mode;
        const char *secret_error, *conf_error; /* both NULL: loads */
    } cases[] = {
        {0600, 0644, NULL, NULL},         {0640, 0600, NULL, NULL},
        {0400, 0444, NULL, NULL},         {0644, 0644, OTHERS_READ, NULL},
        {0604, 0644, OTHERS_READ, NULL},  {0660, 0644, OTHERS_WRITE, NULL},
        {0600, 0664, NULL, OTHERS_WRITE}, {0600, 0646, NULL, OTHERS_WRITE},
    };
    char *secret, *conf;
    size_t i;

    (void)state;
    for (i = 0; i < N(cases); i++) {
        secret = write_file("modes.secret", "Pw-never-shown-7\n");
        conf = secret_conf("modes.conf", secret);
        assert_int_equal(chmod(secret, cases[i].secret_mode), 0);
        assert_int_equal(chmod(conf, cases[i].conf_mode), 0);
        if (cases[i].secret_error == NULL && cases[i].conf_error == NULL)
            cfg_unref(load_path(conf));
        else if (cases[i].conf_error != NULL)
            load_fails(conf, "Pw-never-shown", "%s:0: %s", conf, cases[i].conf_error);
        else
            load_fails(conf, "Pw-never-shown", "%s:2: ldap.bind_password_file: %s: %s",
                       conf, secret, cases[i].secret_error);
        unlink(conf);
        unlink(secret);
        free(conf);
        free(secret);
    }
}

/* A secret owned by another user is refused (needs root to arrange). */
static void test_file_owner(void **state)
{
    char *secret, *conf;

    (void)state;
    if (geteuid() != 0)
        skip();
    secret = write_file("owner.secret", "Pw-never-shown-8\n");
    assert_int_equal(chmod(secret, 0600), 0);
    assert_int_equal(chown(secret, 65534, 65534), 0);
    conf = secret_conf("owner.conf", secret);
    load_fails(conf, NULL,
               "%s:2: ldap.bind_password_file: %s: owned by a user other than root or "
               "the one running homed-milter: chown root",
               conf, secret);
    free(conf);
    unlink(secret);
    free(secret);
}

/* A FIFO in place of the secret is refused at once, not waited on. */
static void test_password_fifo(void **state)
{
    char *fifo, *conf;

    (void)state;
    assert_true(asprintf(&fifo, "%s/fifo", test_dir) > 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    conf = secret_conf("f.conf", fifo);
    load_fails(conf, NULL, "%s:2: ldap.bind_password_file: %s: not a regular file", conf,
               fifo);
    free(conf);
    free(fifo);
}

static void test_set_socket(void **state)
{
    char *path = write_file("s.conf", BASE);
    struct cfg *cfg = NULL;
    char *error = NULL;
    const char *why = NULL;

    (void)state;
    assert_int_equal(cfg_load(path, &cfg, &error), 0);
    assert_int_equal(cfg_set_socket(cfg, "inet:9999@127.0.0.1", &why), 0);
    assert_string_equal(cfg->socket, "inet:9999@127.0.0.1");
    assert_int_equal(cfg_set_socket(cfg, "9999", &why), -1);
    assert_string_equal(why, "expected unix:/PATH, inet:PORT@HOST or inet6:PORT@HOST");
    assert_string_equal(cfg->socket, "inet:9999@127.0.0.1");
    cfg_unref(cfg);
    free(path);
}

/* Without local_hosts, this host's name, which must be fully qualified. */
static void test_default_local_hosts(void **state)
{
#define NOT_FQDN                                                                         \
    "FILE:1: local_hosts: not set, and this host's name \"vm\" is not fully qualified: " \
    "set local_hosts to the names the home attribute holds"
    static const struct {
        const char *host, *canon, *text, *want; /* WANT: local_hosts or error */
    } cases[] = {
        {"mx.example.org", NULL, BASE, "mx.example.org"},
        {"vm", "vm.example.net", BASE, "vm.example.net"},
        {"vm", NULL, BASE, NOT_FQDN},
        {"vm", "vm", BASE, NOT_FQDN},
        {"vm", NULL, "local_hosts = \"mail.example.com\";\n" BASE, "mail.example.com"},
        {"", NULL, BASE,
         "FILE:1: local_hosts: not set, and this host's name \"\" is not "
         "fully qualified: set local_hosts to the names the home "
         "attribute holds"},
    };
    struct cfg *cfg;
    char *error, *path;
    size_t i;

    (void)state;
    for (i = 0; i < N(cases); i++) {
        fake_host = cases[i].host;
        fake_canon = cases[i].canon;
        path = write_file("h.conf", cases[i].text);
        cfg = NULL;
        error = NULL;
        if (strncmp(cases[i].want, "FILE:", 5) == 0) {
            free(path);
            error = load_error(cases[i].text);
            if (strcmp(error, cases[i].want) != 0)
                fail_msg("host %s: got %s", cases[i].host, error);
        } else {
            if (cfg_load(path, &cfg, &error) < 0)
                fail_msg("host %s: %s", cases[i].host, error);
            assert_int_equal(cfg->local_hosts.n, 1);
            assert_string_equal(cfg->local_hosts.v[0], cases[i].want);
            cfg_unref(cfg);
            free(path);
        }
        free(error);
    }
    fake_host = "mail.example.org";
    fake_canon = NULL;
}

/*
 * @include: each file pulled in is held to the main file's rule, and the
 * error points at the @include line of the file that names it.
 */
/* TEXT with every "$D" replaced by the test directory, in a malloc'd string. */
static char *with_dir(const char *text)
{
    char *out = malloc(strlen(text) * (strlen(test_dir) + 1) + 1), *o = out;

    assert_non_null(out);
    while (*text != '\0') {
        if (strncmp(text, "$D", 2) == 0) {
            o = stpcpy(o, test_dir);
            text += 2;
        } else {
            *o++ = *text++;
        }
    }
    *o = '\0';
    return out;
}

static void test_includes(void **state)
{
#define CHANGE "users other than its owner may change it: chmod go-w"
    static const struct {
        const char *main; /* $D: the test directory */
        const char *inc;  /* DIR/inc.conf */
        mode_t inc_mode;  /* and DIR/inc2.conf, 0646 */
        const char *want; /* "ok", or the error with FILE for main's path */
    } cases[] = {
        {BASE "@include \"$D/inc.conf\"\n", "log_level = \"debug\";\n", 0644, "ok"},
        {BASE "@include \"$D/inc.conf\"\n", "log_level = \"debug\";\n", 0666,
         "FILE:2: @include \"$D/inc.conf\": " CHANGE},
        {BASE "\n  @include\t\"$D/inc.conf\"\n", "", 0620,
         "FILE:3: @include \"$D/inc.conf\": " CHANGE},
        /* a file included by an included file: its own @include line */
        {BASE "@include \"$D/inc.conf\"\n", "\n\n@include \"$D/inc2.conf\"\n", 0644,
         "$D/inc.conf:3: @include \"$D/inc2.conf\": " CHANGE},
        /* what libconfig does not read is not checked */
        {BASE "# @include \"$D/inc.conf\"\n/*\n@include \"$D/inc.conf\"\n*/\n", "", 0666,
         "ok"},
        {BASE "x = \"\n@include \\\"$D/inc.conf\\\"\";\n", "", 0666,
         "FILE:2: unknown key x"},
        {BASE "/* a */ log_level = \"info\"; // x\n@include \"$D/inc.conf\"\n", "", 0646,
         "FILE:3: @include \"$D/inc.conf\": " CHANGE},
        /* a missing file is left to libconfig, which names the line */
        {BASE "@include \"$D/none.conf\"\n", "", 0644,
         "FILE:2: cannot open include file"},
    };
    char *text, *inc, *inc_path, *inc2, *want, *error;
    size_t i;

    (void)state;
    inc2 = write_file("inc2.conf", "");
    assert_int_equal(chmod(inc2, 0646), 0);
    for (i = 0; i < N(cases); i++) {
        text = with_dir(cases[i].main);
        inc = with_dir(cases[i].inc);
        want = with_dir(cases[i].want);
        inc_path = write_file("inc.conf", inc);
        assert_int_equal(chmod(inc_path, cases[i].inc_mode), 0);
        error = load_error(text);
        if (strcmp(error, want) != 0)
            fail_msg("case %zu: got  %s\nwant %s", i + 1, error, want);
        free(error);
        free(inc_path);
        free(want);
        free(inc);
        free(text);
    }
    free(inc2);
}

/* An included file that belongs to another user (needs root to arrange). */
static void test_include_owner(void **state)
{
    char *inc, *text, *error, *want;

    (void)state;
    if (geteuid() != 0)
        skip();
    inc = write_file("owned.conf", "");
    assert_int_equal(chown(inc, 65534, 65534), 0);
    assert_true(asprintf(&text, BASE "@include \"%s\"\n", inc) > 0);
    assert_true(
        asprintf(&want,
                 "FILE:2: @include \"%s\": owned by a user other than root or the "
                 "one running homed-milter: chown root",
                 inc) > 0);
    error = load_error(text);
    assert_string_equal(error, want);
    free(error);
    free(want);
    free(text);
    free(inc);
}

/* socket = "inet:PORT" listens on 127.0.0.1 only; so does -p inet:PORT. */
static void test_inet_default_host(void **state)
{
    struct cfg *cfg = load_ok("i.conf", "socket = \"inet:8891\";\n" BASE);
    const char *why = NULL;

    (void)state;
    assert_string_equal(cfg->socket, "inet:8891@127.0.0.1");
    assert_true(cfg->socket_host_added);
    assert_int_equal(cfg_set_socket(cfg, "inet:25@0.0.0.0", &why), 0);
    assert_string_equal(cfg->socket, "inet:25@0.0.0.0");
    assert_false(cfg->socket_host_added);
    assert_int_equal(cfg_set_socket(cfg, "inet:9999", &why), 0);
    assert_string_equal(cfg->socket, "inet:9999@127.0.0.1");
    assert_true(cfg->socket_host_added);
    assert_int_equal(cfg_set_socket(cfg, "inet6:9999", &why), 0);
    assert_string_equal(cfg->socket, "inet6:9999");
    cfg_unref(cfg);
    cfg = load_ok("i.conf", "socket = \"inet:8891@192.0.2.1\";\n" BASE);
    assert_string_equal(cfg->socket, "inet:8891@192.0.2.1");
    assert_false(cfg->socket_host_added);
    cfg_unref(cfg);
}

/* The per-reason texts default to policy.reject_text, wherever it is set. */
static void test_reject_texts(void **state)
{
    struct cfg *cfg =
        load_ok("r.conf", BASE "policy = { reject_text_not_homed = \"H %u\";\n"
                               " reject_text = \"R %s\"; };\n");

    (void)state;
    assert_string_equal(cfg->policy.reject_text, "R %s");
    assert_string_equal(cfg->policy.reject_text_no_entry, "R %s");
    assert_string_equal(cfg->policy.reject_text_not_homed, "H %u");
    assert_string_equal(cfg->policy.reject_text_not_owned, "R %s");
    assert_string_equal(cfg->policy.reject_text_malformed, "R %s");
    cfg_unref(cfg);
}

const struct CMUnitTest config_load_tests[] = {
    /* the file itself: missing, holding only ldap.base, the sample */
    cmocka_unit_test(test_missing_file),
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_sample_config),
    /* the bind password file, and who may read or change the files */
    cmocka_unit_test(test_password_file),
    cmocka_unit_test(test_file_permissions),
    cmocka_unit_test(test_file_owner),
    cmocka_unit_test(test_password_fifo),
    /* values given elsewhere or left to a default */
    cmocka_unit_test(test_set_socket),
    cmocka_unit_test(test_default_local_hosts),
    /* @include */
    cmocka_unit_test(test_includes),
    cmocka_unit_test(test_include_owner),
    /* defaults that follow other values */
    cmocka_unit_test(test_inet_default_host),
    cmocka_unit_test(test_reject_texts),
};
const size_t config_load_ntests = N(config_load_tests);

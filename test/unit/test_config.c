/*
 * test_config - configuration fixtures: good files, and for every way a
 * file can be wrong the exact "FILE:LINE: message".
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

static char dir[] = "/tmp/hm-config-XXXXXX";

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

/* Write TEXT to NAME in the test directory; returns the malloc'd path. */
static char *write_file(const char *name, const char *text)
{
    char *path = NULL;
    FILE *f;

    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Load TEXT; return the error with the path replaced by FILE, or "ok". */
static char *load_error(const char *text)
{
    char *path = write_file("t.conf", text), *error = NULL, *out;
    struct cfg *cfg = NULL;
    size_t plen = strlen(path);

    if (cfg_load(path, &cfg, &error) == 0) {
        assert_non_null(cfg);
        cfg_unref(cfg);
        free(path);
        return strdup("ok");
    }
    assert_null(cfg);
    assert_non_null(error);
    if (strncmp(error, path, plen) == 0 && asprintf(&out, "FILE%s", error + plen) > 0) {
        free(error);
        error = out;
    }
    free(path);
    return error;
}

struct fixture {
    const char *text;
    const char *error; /* "ok" when the file is valid */
};

#define BASE       "ldap = { base = \"dc=x\"; };\n"
#define LDAP(keys) "ldap = { base = \"dc=x\";\n" keys " };\n"

static const struct fixture fixtures[] = {
    /* valid */
    {BASE, "ok"},
    {BASE "policy = { };\ncache = { };\n", "ok"},
    {LDAP("uri = \"ldap://a\";"), "ok"},
    {LDAP("uri = ( \"ldap://a\", \"ldaps://b\" );"), "ok"},
    {LDAP("uri = [ \"ldap://[::1]:389\", \"ldapi://%2fvar%2frun%2fldapi\" ];"), "ok"},
    {"user = \"root\";\n" BASE, "ok"},
    {BASE "policy = { reject_text = \"%u may not: %s\";\n reject_text_no_entry = "
          "\"No %u\"; reject_text_not_homed = \"%s elsewhere\"; reject_text_not_owned = "
          "\"Not %u's: %s (100%%)\"; reject_text_malformed = \"Bad\"; };\n",
     "ok"},
    {LDAP("home_attribute = \"\";") "policy = { header_fields = [ ]; };\n", "ok"},
    {"socket = \"inet:8891@127.0.0.1\";\n" BASE, "ok"},
    {"socket = \"inet6:8891@[::1]\";\n" BASE, "ok"},
    {"socket = \"local:/run/x.sock\";\n" BASE, "ok"},
    {"socket = \"inet:8891\";\n" BASE, "ok"},
    {LDAP("login_filter = \"(&(uid=%l)(|(mail=%u)(x=%d))(y=100%%))\";"), "ok"},
    {BASE
     "policy = { reject_text = \"No: %s (100%%)\"; extension_delimiter = \"+\"; };\n",
     "ok"},
    {BASE "cache = { ttl = 0; negative_ttl = 86400; size = 0; };\n", "ok"},
    {"stats_interval = 0;\n" BASE, "ok"},
    {"stats_interval = 86400;\n" BASE, "ok"},
    {LDAP("timeout = 300;"), "ok"},
    {LDAP("timeout = 1;"), "ok"},
    /* unreadable */
    {"ldap = { base = \"dc=x\" \n", "FILE:2: syntax error"},
    {"ldap = { base = \"dc=x\"; };\nldap = { };\n", "FILE:2: duplicate setting name"},
    /* unknown keys, at every level */
    {"foo = 1;\n" BASE, "FILE:1: unknown key foo"},
    {BASE "frob = { a = 1; };\n", "FILE:2: unknown key frob"},
    {LDAP("bogus = 1;"), "FILE:2: unknown key ldap.bogus"},
    {LDAP("sub = { };"), "FILE:2: unknown key ldap.sub"},
    {BASE "policy = {\n enforce = true; };\n", "FILE:3: unknown key policy.enforce"},
    {BASE "cache = { max = 5; };\n", "FILE:2: unknown key cache.max"},
    {BASE "uri = \"ldap://x\";\n", "FILE:2: unknown key uri"},
    {BASE "policy = { ldap = { }; };\n", "FILE:2: unknown key policy.ldap"},
    /* groups of the wrong type */
    {"ldap = \"x\";\n", "FILE:1: ldap: expected a group { ... }, got a string"},
    {BASE "policy = [ ];\n", "FILE:2: policy: expected a group { ... }, got a list"},
    /* reserved for a later version */
    /* the delegation filters: %s and %D too, and on behalf needs Sender: checked */
    {LDAP("delegation_filter = \"(&(mail=%s)(seeAlso=%D))\";"
          "on_behalf_filter = \"(&(mail=%s)(secretary=%D)(!(uid=%u)))\";"),
     "ok"},
    {LDAP("delegation_filter = \"mail=%s\";"),
     "FILE:2: ldap.delegation_filter: a filter must be enclosed in parentheses"},
    {LDAP("on_behalf_filter = \"(mail=%x)\";"),
     "FILE:2: ldap.on_behalf_filter: only %u, %l, %d, %s, %D and %% may be used"},
    {LDAP("on_behalf_filter = \"(mail=%s)\";") "policy = { header_fields = [ \"From\" ]; "
                                               "};\n",
     "FILE:2: ldap.on_behalf_filter needs \"Sender\" in policy.header_fields: an "
     "on-behalf From: is allowed only with a Sender: the login owns"},
    {BASE "policy = { trusted_logins = [ \"list\", \"relay@example.com\" ]; };\n", "ok"},
    {BASE "policy = { trusted_logins = [ \"list server\" ]; };\n",
     "FILE:2: policy.trusted_logins: must not hold blanks or control characters"},
    {BASE "policy = { trusted_logins = [ \"\" ]; };\n",
     "FILE:2: policy.trusted_logins: must not hold an empty string"},
    /* out of range */
    /* the 8-bit rule's values */
    {BASE "eight_bit = { undeclared = \"bounce\"; };\n",
     "FILE:2: eight_bit.undeclared: \"bounce\" is not one of \"accept\", \"reject\""},
    {BASE "eight_bit = { seven_bit_only_domains = [ \"domino..example.com\" ]; };\n",
     "FILE:2: eight_bit.seven_bit_only_domains: a domain name has no empty label"},
    {BASE "eight_bit = { seven_bit_only_domains = [ \".example.com\" ]; };\n",
     "FILE:2: eight_bit.seven_bit_only_domains: a domain name has no empty label"},
    {BASE "eight_bit = { seven_bit_only_domains = [ \"\" ]; };\n",
     "FILE:2: eight_bit.seven_bit_only_domains: must not hold an empty string"},
    {BASE "eight_bit = { seven_bit_only_domains = [ \"domino example.com\" ]; };\n",
     "FILE:2: eight_bit.seven_bit_only_domains: a domain name holds letters, digits, "
     "'-' and '.' only"},
    {BASE "eight_bit = { seven_bit_only_domains = [ \"*.example.com\" ]; };\n",
     "FILE:2: eight_bit.seven_bit_only_domains: a domain name holds letters, digits, "
     "'-' and '.' only"},
    {BASE "eight_bit = { seven_bit_only_domains = [ \"d\xc3\xb6mino.example\" ]; };\n",
     "FILE:2: eight_bit.seven_bit_only_domains: write an international domain name in "
     "its ASCII form (xn--...)"},
    {BASE "eight_bit = { seven_bit_only_domains = [ \"domino.example.com\", \"x.\" ]; "
          "undeclared = \"reject\"; seven_bit_only = true; };\n",
     "ok"},
    {BASE "cache = { ttl = 300; stale_ttl = 300; };\n",
     "FILE:2: cache.stale_ttl: must be more than cache.ttl (300), or 0"},
    {BASE "cache = { stale_ttl = 86400; };\n", "ok"},
    {BASE "cache = { stale_ttl = 2592001; };\n",
     "FILE:2: cache.stale_ttl: 2592001 is out of range (0 to 2592000)"},
    {LDAP("timeout = 0;"), "FILE:2: ldap.timeout: 0 is out of range (1 to 300)"},
    {LDAP("timeout = 301;"), "FILE:2: ldap.timeout: 301 is out of range (1 to 300)"},
    {LDAP("timeout = 9999999999L;"),
     "FILE:2: ldap.timeout: 9999999999 is out of range (1 to 300)"},
    {BASE "cache = { ttl = -1; };\n",
     "FILE:2: cache.ttl: -1 is out of range (0 to 86400)"},
    {BASE "cache = { ttl = 86401; };\n",
     "FILE:2: cache.ttl: 86401 is out of range (0 to 86400)"},
    {BASE "cache = { negative_ttl = -5; };\n",
     "FILE:2: cache.negative_ttl: -5 is out of range (0 to 86400)"},
    {BASE "cache = { size = 10000001; };\n",
     "FILE:2: cache.size: 10000001 is out of range (0 to 10000000)"},
    {"stats_interval = -1;\n" BASE,
     "FILE:1: stats_interval: -1 is out of range (0 to 86400)"},
    {BASE "stats_interval = 86401;\n",
     "FILE:2: stats_interval: 86401 is out of range (0 to 86400)"},
    {BASE "cache = { size = -1; };\n",
     "FILE:2: cache.size: -1 is out of range (0 to 10000000)"},
    /* enumerations */
    {"log_level = \"loud\";\n" BASE, "FILE:1: log_level: \"loud\" is not one of "
                                     "\"error\", \"warning\", \"info\", \"debug\""},
    {LDAP("scope = \"tree\";"),
     "FILE:2: ldap.scope: \"tree\" is not one of \"base\", \"one\", \"sub\""},
    /* a value's newline does not split the one-line error */
    {"log_level = \"a\\nb\";\n" BASE, "FILE:1: log_level: \"a?b\" is not one of "
                                      "\"error\", \"warning\", \"info\", \"debug\""},
    {BASE "policy = { mode = \"audit\"; };\n",
     "FILE:2: policy.mode: \"audit\" is not one of \"enforce\", \"report\""},
    {BASE "policy = { unauthenticated = \"tempfail\"; };\n",
     "FILE:2: policy.unauthenticated: \"tempfail\" is not one of \"accept\", \"reject\""},
    {BASE "policy = { on_directory_error = \"ignore\"; };\n",
     "FILE:2: policy.on_directory_error: \"ignore\" is not one of \"tempfail\", "
     "\"accept\", "
     "\"reject\""},
    /* values */
    {"socket = \"tcp:25\";\n" BASE,
     "FILE:1: socket: expected unix:/PATH, inet:PORT@HOST or inet6:PORT@HOST"},
    {"socket = \"unix:run/x\";\n" BASE,
     "FILE:1: socket: a unix socket needs an absolute path"},
    {"socket = \"inet:0@localhost\";\n" BASE,
     "FILE:1: socket: the port must be a number from 1 to 65535"},
    {"socket = \"inet:65536@localhost\";\n" BASE,
     "FILE:1: socket: the port must be a number from 1 to 65535"},
    {"socket = \"inet:25@\";\n" BASE, "FILE:1: socket: the host after @ is empty"},
    {"socket = \"\";\n" BASE, "FILE:1: socket: must not be empty"},
    {"socket_mode = \"0666\";\n" BASE, "ok"},
    {"socket_mode = \"660\";\n" BASE, "ok"},
    {"socket_mode = \"0668\";\n" BASE,
     "FILE:1: socket_mode: expected an octal mode such as \"0660\""},
    {"socket_mode = \"01777\";\n" BASE,
     "FILE:1: socket_mode: expected an octal mode such as \"0660\""},
    {"pid_file = \"run/x.pid\";\n" BASE, "FILE:1: pid_file: must be an absolute path"},
    {"user = \"a b\";\n" BASE,
     "FILE:1: user: must not hold blanks or control characters"},
    {"local_hosts = [ \"mail example\" ];\n" BASE,
     "FILE:1: local_hosts: a host name holds no blanks (with ldap.home_value = \"rdn\" "
     "an "
     "RDN value such as an Exchange database name may)"},
    {"local_hosts = [ \"Mailbox Database 0123456789\" ];\n"
     "ldap = { base = \"dc=x\"; home_attribute = \"homeMDB\"; home_value = \"rdn\"; };\n",
     "ok"},
    {"local_hosts = [ \"mail\\texample\" ];\n" BASE,
     "FILE:1: local_hosts: must not hold control characters"},
    {"local_hosts = [ \" mail\" ];\n" BASE,
     "FILE:1: local_hosts: must not begin or end with a blank"},
    /* Active Directory */
    {LDAP("home_value = \"dn\";"),
     "FILE:2: ldap.home_value: \"dn\" is not one of \"host\", \"rdn\""},
    {LDAP("address_attributes = [ \"mail\", \"proxyAddresses\" ];"
          "prefixed_attributes = [ \"proxyaddresses\" ];"
          "login_attribute = [ \"sAMAccountName\", \"userPrincipalName\" ];"),
     "ok"},
    {LDAP("prefixed_attributes = [ \"proxyAddresses\" ];"),
     "FILE:2: ldap.prefixed_attributes: proxyAddresses is not one of "
     "ldap.address_attributes"},
    {LDAP("login_attribute = [ \"uid\", \"\" ];"),
     "FILE:2: ldap.login_attribute: must not hold an empty string"},
    {LDAP("login_attribute = \"\";"), "ok"},
    {"local_hosts = [ ];\n" BASE, "FILE:1: local_hosts: must not be empty"},
    {"local_hosts = [ \"\" ];\n" BASE,
     "FILE:1: local_hosts: must not hold an empty string"},
    {LDAP("uri = [ \"http://ldap\" ];"),
     "FILE:2: ldap.uri: expected an ldap://, ldaps:// or ldapi:// URI"},
    {LDAP("uri = [ ];"), "FILE:2: ldap.uri: must not be empty"},
    {LDAP("uri = ( \"ldap://a\",\n 5 );"),
     "FILE:3: ldap.uri: expected a list of strings, got an integer"},
    {LDAP("login_filter = \"uid=%u\";"),
     "FILE:2: ldap.login_filter: a filter must be enclosed in parentheses"},
    {LDAP("login_filter = \"(uid=%s)\";"),
     "FILE:2: ldap.login_filter: only %u, %l, %d and %% may be used"},
    {LDAP("login_filter = \"((uid=%u)\";"),
     "FILE:2: ldap.login_filter: unbalanced parentheses"},
    {LDAP("login_filter = \"(uid=%u))(x)\";"),
     "FILE:2: ldap.login_filter: unbalanced parentheses"},
    {LDAP("address_attributes = [ ];"),
     "FILE:2: ldap.address_attributes: must not be empty"},
    {LDAP("address_attributes = [ \"mail)(x\" ];"),
     "FILE:2: ldap.address_attributes: an attribute name holds only letters, digits, "
     "'-', "
     "'.' and ';'"},
    {LDAP("home_attribute = \"-x\";"),
     "FILE:2: ldap.home_attribute: an attribute name starts with a letter or digit"},
    {"ldap = {\n base = \"\"; };\n", "FILE:2: ldap.base: must not be empty"},
    {BASE "policy = { header_fields = [ \"From:\" ]; };\n",
     "FILE:2: policy.header_fields: a header field name holds printable ASCII but no "
     "blank "
     "and no ':'"},
    {BASE "policy = { report_header = \"X Homed\"; };\n",
     "FILE:2: policy.report_header: a header field name holds printable ASCII but no "
     "blank "
     "and no ':'"},
    {BASE "policy = { report_header = \"\"; };\n",
     "FILE:2: policy.report_header: must not be empty"},
    {BASE "policy = { reject_text = \"%d\"; };\n",
     "FILE:2: policy.reject_text: only %s, %u and %% may be used"},
    {BASE "policy = { reject_text = \"%u: %u\"; };\n",
     "FILE:2: policy.reject_text: %u may be used once at most"},
    {BASE "policy = {\n reject_text_no_entry = \"No %x\"; };\n",
     "FILE:3: policy.reject_text_no_entry: only %s, %u and %% may be used"},
    {BASE "policy = {\n reject_text_not_homed = \"%s, %s\"; };\n",
     "FILE:3: policy.reject_text_not_homed: %s may be used once at most"},
    {BASE "policy = {\n reject_text_not_owned = \"\"; };\n",
     "FILE:3: policy.reject_text_not_owned: must not be empty"},
    {BASE "policy = {\n reject_text_malformed = \"Bad \\t%s\"; };\n",
     "FILE:3: policy.reject_text_malformed: an SMTP reply holds printable ASCII only"},
    {LDAP("uri = \"ldaps://[::1\";"), "FILE:2: ldap.uri: libldap cannot parse this URI"},
    {LDAP("uri = [ \"ldap://a\",\n \"ldap://b:x\" ];"),
     "FILE:3: ldap.uri: libldap cannot parse this URI"},
    {LDAP("uri = \"ldap://a/??tree\";"),
     "FILE:2: ldap.uri: libldap cannot parse this URI: bad attributes, scope, filter or "
     "extensions after the host"},
    {LDAP("uri = \"ldap://a:99999\";"),
     "FILE:2: ldap.uri: the port must be a number from 1 to 65535"},
    {"\nuser = \"hm-no-such-user\";\n" BASE,
     "FILE:2: user: \"hm-no-such-user\" is no user on this system"},
    {BASE "policy = { reject_text = \"%s %s\"; };\n",
     "FILE:2: policy.reject_text: %s may be used once at most"},
    {BASE "policy = { reject_text = \"a\\nb\"; };\n",
     "FILE:2: policy.reject_text: an SMTP reply holds printable ASCII only"},
    {BASE "policy = { extension_delimiter = \"@\"; };\n",
     "FILE:2: policy.extension_delimiter: only \"+\" is supported: other delimiters such "
     "as \"-\" also stand inside other people's addresses"},
    {BASE "policy = { extension_delimiter = \"-\"; };\n",
     "FILE:2: policy.extension_delimiter: only \"+\" is supported: other delimiters such "
     "as \"-\" also stand inside other people's addresses"},
    /* required and related keys */
    {"log_level = \"info\";\n", "FILE:1: ldap.base is required"},
    {"\nldap = {\n uri = \"ldapi:///\"; };\n", "FILE:2: ldap.base is required"},
    {LDAP("bind_dn = \"cn=m\";"),
     "FILE:2: ldap.bind_dn and ldap.bind_password_file go together"},
    {LDAP("bind_password_file = \"/x\";"),
     "FILE:2: ldap.bind_dn and ldap.bind_password_file go together"},
    {LDAP("bind_dn = \"cn=m\";\n bind_password_file = \"/nonexistent/secret\";"),
     "FILE:3: ldap.bind_password_file: /nonexistent/secret: No such file or directory"},
    {LDAP("bind_dn = \"cn=m\";\n bind_password_file = \"/\";"),
     "FILE:3: ldap.bind_password_file: /: not a regular file"},
    {LDAP("bind_password_file = \"secret\";"),
     "FILE:2: ldap.bind_password_file: must be an absolute path"},
};

/* One wrong-type value for every key of the table. */
static const struct {
    const char *key, *value, *got, *want;
} wrong_types[] = {
    {"socket", "1", "an integer", "a string"},
    {"socket_mode", "0660", "an integer", "a string"},
    {"pid_file", "true", "a boolean", "a string"},
    {"user", "[ \"a\" ]", "a list", "a string"},
    {"log_level", "3", "an integer", "a string"},
    {"local_hosts", "7", "an integer", "a list of strings"},
    {"ldap.uri", "{ }", "a group", "a list of strings"},
    {"ldap.bind_dn", "1.5", "a number with a fraction", "a string"},
    {"ldap.bind_password_file", "0", "an integer", "a string"},
    {"ldap.starttls", "\"yes\"", "a string", "a boolean (true or false)"},
    {"ldap.ca_file", "false", "a boolean", "a string"},
    {"ldap.base", "5", "an integer", "a string"},
    {"ldap.scope", "2", "an integer", "a string"},
    {"ldap.login_filter", "[ ]", "a list", "a string"},
    {"ldap.login_attribute", "true", "a boolean", "a list of strings"},
    {"ldap.address_attributes", "true", "a boolean", "a list of strings"},
    {"ldap.prefixed_attributes", "7", "an integer", "a list of strings"},
    {"ldap.home_attribute", "[ \"mailHost\" ]", "a list", "a string"},
    {"ldap.home_value", "true", "a boolean", "a string"},
    {"ldap.timeout", "\"5\"", "a string", "an integer"},
    {"ldap.connections", "\"8\"", "a string", "an integer"},
    {"ldap.delegation_filter", "1", "an integer", "a string"},
    {"ldap.on_behalf_filter", "[ ]", "a list", "a string"},
    {"policy.mode", "true", "a boolean", "a string"},
    {"policy.check_envelope", "1", "an integer", "a boolean (true or false)"},
    {"policy.header_fields", "\"From\"", NULL, NULL}, /* a lone string is a list of one */
    {"policy.unauthenticated", "0", "an integer", "a string"},
    {"policy.on_directory_error", "[ ]", "a list", "a string"},
    {"policy.reject_text", "554", "an integer", "a string"},
    {"policy.reject_text_no_entry", "true", "a boolean", "a string"},
    {"policy.reject_text_not_homed", "[ ]", "a list", "a string"},
    {"policy.reject_text_not_owned", "5", "an integer", "a string"},
    {"policy.reject_text_malformed", "{ }", "a group", "a string"},
    {"policy.extension_delimiter", "43", "an integer", "a string"},
    {"policy.report_header", "{ }", "a group", "a string"},
    {"policy.display_names", "false", "a boolean", "a string"},
    {"policy.trusted_logins", "{ }", "a group", "a list of strings"},
    {"cache.ttl", "1.5", "a number with a fraction", "an integer"},
    {"cache.negative_ttl", "true", "a boolean", "an integer"},
    {"cache.size", "\"big\"", "a string", "an integer"},
    {"cache.stale_ttl", "\"1d\"", "a string", "an integer"},
    {"stats_interval", "\"1h\"", "a string", "an integer"},
    {"eight_bit.undeclared", "true", "a boolean", "a string"},
    {"eight_bit.seven_bit_only", "\"no\"", "a string", "a boolean (true or false)"},
    {"eight_bit.seven_bit_only_domains", "1", "an integer", "a list of strings"},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_fixture(void **state)
{
    const struct fixture *f = *state;
    char *error = load_error(f->text);

    if (strcmp(error, f->error) != 0)
        fail_msg("for:\n%s\ngot:  %s\nwant: %s", f->text, error, f->error);
    free(error);
}

/* "ldap.timeout" = "V" as the text of a config file that has ldap.base. */
static char *config_with(const char *key, const char *value)
{
    const char *dot = strchr(key, '.');
    char *text = NULL;
    int n;

    if (dot == NULL)
        n = asprintf(&text, BASE "%s = %s;\n", key, value);
    else if (strcmp(key, "ldap.base") == 0)
        n = asprintf(&text, "ldap = {\n base = %s; };\n", value);
    else if (strncmp(key, "ldap.", 5) == 0)
        n = asprintf(&text, "ldap = { base = \"dc=x\";\n %s = %s; };\n", dot + 1, value);
    else
        n = asprintf(&text, BASE "%.*s = { %s = %s; };\n", (int)(dot - key), key, dot + 1,
                     value);
    assert_true(n > 0);
    return text;
}

static void test_every_key_wrong_type(void **state)
{
    char *text, *error, *want;
    size_t i;

    (void)state;
    for (i = 0; cfg_key_name(i) != NULL; i++) {
        assert_true(i < N(wrong_types));
        assert_string_equal(cfg_key_name(i), wrong_types[i].key);
        if (wrong_types[i].got == NULL)
            continue;
        text = config_with(wrong_types[i].key, wrong_types[i].value);
        error = load_error(text);
        assert_true(asprintf(&want, "FILE:2: %s: expected %s, got %s", wrong_types[i].key,
                             wrong_types[i].want, wrong_types[i].got) > 0);
        if (strcmp(error, want) != 0)
            fail_msg("got:  %s\nwant: %s", error, want);
        free(want);
        free(error);
        free(text);
    }
    assert_int_equal(i, N(wrong_types));
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
    struct cfg *cfg = NULL;
    char *path, *want, *error = NULL;

    (void)state;
    assert_true(asprintf(&path, "%s/none.conf", dir) > 0);
    assert_true(asprintf(&want, "%s:0: cannot read the file: No such file or directory",
                         path) > 0);
    assert_int_equal(cfg_load(path, &cfg, &error), -1);
    assert_string_equal(error, want);
    assert_null(cfg);
    free(error);
    free(want);
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
    char *secret, *conf, *text, *error, *want;
    size_t i;

    (void)state;
    for (i = 0; i < N(cases); i++) {
        secret = write_file("secret", cases[i].content);
        assert_int_equal(chmod(secret, 0600), 0);
        assert_true(asprintf(&text,
                             LDAP("bind_dn = \"cn=m\"; bind_password_file = \"%s\";"),
                             secret) > 0);
        conf = write_file("p.conf", text);
        cfg = NULL;
        error = NULL;
        if (cases[i].error == NULL) {
            assert_int_equal(cfg_load(conf, &cfg, &error), 0);
            assert_string_equal(cfg->ldap.bind_password, cases[i].password);
            cfg_unref(cfg);
        } else {
            assert_int_equal(cfg_load(conf, &cfg, &error), -1);
            assert_true(asprintf(&want, "%s:2: ldap.bind_password_file: %s: %s", conf,
                                 secret, cases[i].error) > 0);
            assert_string_equal(error, want);
            assert_null(strstr(error, "s3cret"));
            free(want);
        }
        free(error);
        free(text);
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
    struct cfg *cfg;
    char *secret, *conf, *text, *error, *want;
    size_t i;

    (void)state;
    for (i = 0; i < N(cases); i++) {
        secret = write_file("modes.secret", "Pw-never-shown-7\n");
        assert_true(asprintf(&text,
                             LDAP("bind_dn = \"cn=m\"; bind_password_file = \"%s\";"),
                             secret) > 0);
        conf = write_file("modes.conf", text);
        assert_int_equal(chmod(secret, cases[i].secret_mode), 0);
        assert_int_equal(chmod(conf, cases[i].conf_mode), 0);
        cfg = NULL;
        error = NULL;
        if (cases[i].secret_error == NULL && cases[i].conf_error == NULL) {
            if (cfg_load(conf, &cfg, &error) < 0)
                fail_msg("modes %o %o: %s", (unsigned)cases[i].secret_mode,
                         (unsigned)cases[i].conf_mode, error);
            cfg_unref(cfg);
        } else {
            assert_int_equal(cfg_load(conf, &cfg, &error), -1);
            if (cases[i].conf_error != NULL)
                assert_true(asprintf(&want, "%s:0: %s", conf, cases[i].conf_error) > 0);
            else
                assert_true(asprintf(&want, "%s:2: ldap.bind_password_file: %s: %s", conf,
                                     secret, cases[i].secret_error) > 0);
            assert_string_equal(error, want);
            assert_null(strstr(error, "Pw-never-shown"));
            free(want);
        }
        free(error);
        free(text);
        unlink(conf);
        unlink(secret);
        free(conf);
        free(secret);
    }
}

/* A secret owned by another user is refused (needs root to arrange). */
static void test_file_owner(void **state)
{
    struct cfg *cfg = NULL;
    char *secret, *text, *conf, *error = NULL, *want;

    (void)state;
    if (geteuid() != 0)
        skip();
    secret = write_file("owner.secret", "Pw-never-shown-8\n");
    assert_int_equal(chmod(secret, 0600), 0);
    assert_int_equal(chown(secret, 65534, 65534), 0);
    assert_true(asprintf(&text, LDAP("bind_dn = \"cn=m\"; bind_password_file = \"%s\";"),
                         secret) > 0);
    conf = write_file("owner.conf", text);
    assert_int_equal(cfg_load(conf, &cfg, &error), -1);
    assert_true(asprintf(&want,
                         "%s:2: ldap.bind_password_file: %s: owned by a user other than "
                         "root or the one running homed-milter: chown root",
                         conf, secret) > 0);
    assert_string_equal(error, want);
    free(want);
    free(error);
    free(conf);
    free(text);
    unlink(secret);
    free(secret);
}

/* A FIFO in place of the secret is refused at once, not waited on. */
static void test_password_fifo(void **state)
{
    struct cfg *cfg = NULL;
    char *fifo, *text, *conf, *error = NULL, *want;

    (void)state;
    assert_true(asprintf(&fifo, "%s/fifo", dir) > 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_true(asprintf(&text, LDAP("bind_dn = \"cn=m\"; bind_password_file = \"%s\";"),
                         fifo) > 0);
    conf = write_file("f.conf", text);
    assert_int_equal(cfg_load(conf, &cfg, &error), -1);
    assert_true(asprintf(&want, "%s:2: ldap.bind_password_file: %s: not a regular file",
                         conf, fifo) > 0);
    assert_string_equal(error, want);
    free(want);
    free(error);
    free(conf);
    free(text);
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

/* Load TEXT as NAME in the test directory; fails the test on an error. */
static struct cfg *load_ok(const char *name, const char *text)
{
    char *path = write_file(name, text), *error = NULL;
    struct cfg *cfg = NULL;

    if (cfg_load(path, &cfg, &error) < 0)
        fail_msg("%s", error);
    free(path);
    return cfg;
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
    char *out = malloc(strlen(text) * (strlen(dir) + 1) + 1), *o = out;

    assert_non_null(out);
    while (*text != '\0') {
        if (strncmp(text, "$D", 2) == 0) {
            o = stpcpy(o, dir);
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

/* CFG as -n -v prints it, in a malloc'd string. */
static char *printed(const struct cfg *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    assert_non_null(f);
    assert_int_equal(cfg_print(cfg, f), 0);
    fclose(f);
    return text;
}

/* -n -v: every key once, in the file's syntax, defaults marked, no secret. */
static void test_print(void **state)
{
    static const char *const lines[] = {
        "socket = \"inet:8891@127.0.0.1\"  # inet:PORT without a host listens on "
        "127.0.0.1 only\n",
        "socket_mode = \"0660\"  # default\n",
        "pid_file =  # default: not set\n",
        "user = \"root\"\n",
        "local_hosts = [ \"mail.example.org\" ]  # default: this host's fully qualified "
        "name\n",
        "ldap.uri = [ \"ldap://a\", \"ldap://b\" ]\n",
        "ldap.bind_dn = \"cn=m\\\\,o=\\\"x\\\"\\x0a\"\n",
        "ldap.starttls = false  # default\n",
        "ldap.timeout = 7\n",
        "ldap.connections = 8  # default\n",
        "ldap.home_attribute = \"\"\n",
        "policy.header_fields = [ ]\n",
        "policy.mode = \"report\"\n",
        "eight_bit.undeclared = \"accept\"  # default\n",
        "eight_bit.seven_bit_only = true\n",
        "eight_bit.seven_bit_only_domains = [ \"domino.example.com\" ]\n",
        "policy.reject_text = \"%u: %s\"\n",
        "policy.reject_text_no_entry = \"%u: %s\"  # default: policy.reject_text\n",
        "policy.reject_text_not_owned = \"Not %u's\"\n",
        "stats_interval = 0\n",
    };
    char *secret = write_file("print.secret", "Zq-print-secret-41\n"), *conf, *out, *p;
    struct cfg *cfg;
    size_t i, keys = 0;

    (void)state;
    assert_int_equal(chmod(secret, 0600), 0);
    assert_true(
        asprintf(
            &conf,
            "socket = \"inet:8891\"; user = \"root\";\n"
            "ldap = { uri = [ \"ldap://a\", \"ldap://b\" ];\n"
            " bind_dn = \"cn=m\\\\,o=\\\"x\\\"\\n\"; bind_password_file = \"%s\";\n"
            " base = \"dc=x\"; timeout = 7; home_attribute = \"\"; };\n"
            "policy = { mode = \"report\"; header_fields = [ ];\n"
            " reject_text = \"%%u: %%s\"; reject_text_not_owned = \"Not %%u's\"; };\n"
            "stats_interval = 0;\n"
            "eight_bit = { seven_bit_only = true;\n"
            " seven_bit_only_domains = [ \"domino.example.com\" ]; };\n",
            secret) > 0);
    cfg = load_ok("print.conf", conf);
    out = printed(cfg);
    for (i = 0; i < N(lines); i++)
        if (strstr(out, lines[i]) == NULL)
            fail_msg("no line %s in:\n%s", lines[i], out);
    assert_null(strstr(out, "Zq-print-secret"));
    for (i = 0; cfg_key_name(i) != NULL; i++) {
        assert_true(asprintf(&p, "\n%s =", cfg_key_name(i)) > 0);
        keys++;
        if (strstr(out, p + (i == 0)) == NULL)
            fail_msg("%s is not printed", cfg_key_name(i));
        free(p);
    }
    for (i = 0, p = out; (p = strchr(p, '\n')) != NULL; p++)
        i++;
    assert_int_equal(i, keys); /* one line each */
    free(out);
    cfg_unref(cfg);
    free(conf);
    free(secret);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char *cmd = NULL;
    int rc;

    (void)state;
    if (asprintf(&cmd, "rm -rf '%s'", dir) < 0)
        return -1;
    rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : -1;
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_every_key_wrong_type),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_sample_config),
        cmocka_unit_test(test_password_file),
        cmocka_unit_test(test_file_permissions),
        cmocka_unit_test(test_file_owner),
        cmocka_unit_test(test_password_fifo),
        cmocka_unit_test(test_set_socket),
        cmocka_unit_test(test_default_local_hosts),
        cmocka_unit_test(test_includes),
        cmocka_unit_test(test_include_owner),
        cmocka_unit_test(test_inet_default_host),
        cmocka_unit_test(test_reject_texts),
        cmocka_unit_test(test_print),
    };
    struct CMUnitTest tests[N(fixtures) + N(fixed)];
    char names[N(fixtures)][48];
    size_t i;

    /* One test per fixture, named by its first line. */
    for (i = 0; i < N(fixtures); i++) {
        snprintf(names[i], sizeof(names[i]), "fixture %zu: %.30s", i + 1,
                 fixtures[i].text);
        names[i][strcspn(names[i], "\n")] = '\0';
        tests[i] =
            (struct CMUnitTest){names[i], test_fixture, NULL, NULL, (void *)&fixtures[i]};
    }
    for (i = 0; i < N(fixed); i++)
        tests[N(fixtures) + i] = fixed[i];
    return _cmocka_run_group_tests("config", tests, N(fixtures) + N(fixed), setup,
                                   teardown);
}

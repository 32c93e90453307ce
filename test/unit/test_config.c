/*
 * test_config - configuration fixtures: good files, and for every way a
 * file can be wrong the exact "FILE:LINE: message"; every key given a
 * value of the wrong type, and printed by -n -v. The tests that load
 * files and look at the result (defaults, secrets and permissions,
 * @include, the socket) are in test_config_load.c, the second file of
 * this program, with the stand-ins for the resolver that give a file
 * without local_hosts the same default on every machine.
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

#include <cmocka.h>

#include "cfg.h"
#include "configtest.h"

char test_dir[] = "/tmp/hm-config-XXXXXX";

/* Write TEXT to NAME in the test directory; returns the malloc'd path. */
char *write_file(const char *name, const char *text)
{
    char *path = NULL;
    FILE *f;

    assert_true(asprintf(&path, "%s/%s", test_dir, name) > 0);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* Load TEXT; return the error with the path replaced by FILE, or "ok". */
char *load_error(const char *text)
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

/* Load the file PATH; fails the test on an error. */
struct cfg *load_path(const char *path)
{
    struct cfg *cfg = NULL;
    char *error = NULL;

    if (cfg_load(path, &cfg, &error) < 0)
        fail_msg("%s", error);
    return cfg;
}

/* Load TEXT as NAME in the test directory; fails the test on an error. */
struct cfg *load_ok(const char *name, const char *text)
{
    char *path = write_file(name, text);
    struct cfg *cfg = load_path(path);

    free(path);
    return cfg;
}

struct fixture {
    const char *text;
    const char *error; /* "ok" when the file is valid */
};

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
    {"policy.decide_at", "true", "a boolean", "a string"},
    {"cache.ttl", "1.5", "a number with a fraction", "an integer"},
    {"cache.negative_ttl", "true", "a boolean", "an integer"},
    {"cache.size", "\"big\"", "a string", "an integer"},
    {"cache.stale_ttl", "\"1d\"", "a string", "an integer"},
    {"stats_interval", "\"1h\"", "a string", "an integer"},
    {"eight_bit.undeclared", "true", "a boolean", "a string"},
    {"eight_bit.seven_bit_only", "\"no\"", "a string", "a boolean (true or false)"},
    {"eight_bit.seven_bit_only_domains", "1", "an integer", "a list of strings"},
};

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
    return mkdtemp(test_dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    char *cmd = NULL;
    int rc;

    (void)state;
    if (asprintf(&cmd, "rm -rf '%s'", test_dir) < 0)
        return -1;
    rc = system(cmd);
    free(cmd);
    return rc == 0 ? 0 : -1;
}

int main(void)
{
    struct CMUnitTest tests[N(fixtures) + 1 + config_load_ntests + 1];
    char names[N(fixtures)][48];
    size_t n = 0, i;

    /* One test per fixture, named by its first line. */
    for (i = 0; i < N(fixtures); i++) {
        snprintf(names[i], sizeof(names[i]), "fixture %zu: %.30s", i + 1,
                 fixtures[i].text);
        names[i][strcspn(names[i], "\n")] = '\0';
        tests[n++] =
            (struct CMUnitTest){names[i], test_fixture, NULL, NULL, (void *)&fixtures[i]};
    }
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_every_key_wrong_type);
    for (i = 0; i < config_load_ntests; i++)
        tests[n++] = config_load_tests[i];
    tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_print);
    return _cmocka_run_group_tests("config", tests, n, setup, teardown);
}

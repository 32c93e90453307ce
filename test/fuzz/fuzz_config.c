/*
 * NAME
 *	fuzz_config - libFuzzer harness for the configuration loader
 *
 * SUMMARY
 *	Every input is written to one file in a private directory and loaded
 *	with cfg_load(); the config or the error is checked and freed.
 *
 * DESCRIPTION
 *	The directory is made once per process with mkdtemp() under
 *	$HM_FUZZ_TMPDIR, else /dev/shm when it is writable, else $TMPDIR,
 *	else /tmp, and removed at exit. The input file in it is rewritten for
 *	each input (no fsync: it is scratch). Next to it are fixed password
 *	files (secret, secret-crlf, secret-noeol, empty, two-lines, nul,
 *	long) and a directory (dir). Every "$DIR" in an input is replaced by
 *	the directory's path when the file is written, so that
 *	ldap.bind_password_file can name them: bind_password_file =
 *	"$DIR/secret". Nothing is written outside the directory.
 *
 *	Inputs holding "@include" are skipped: libconfig would read the
 *	named file, which could be any file of the host, or a device that
 *	never ends (and an error there names that file, not ours). Other
 *	paths given to ldap.bind_password_file are left alone: cfg_load()
 *	only reads them, as regular files opened non-blocking. gethostname()
 *	is replaced (the link wraps it) by a fixed dotted name, so that a file
 *	without local_hosts never asks the DNS: the harness stays hermetic.
 *
 *	Checked, with abort() on a violation: cfg_load() returns 0 with a
 *	config and no error, or -1 with no config and an error of the form
 *	"PATH:LINE: message" naming our file; a loaded config holds what the
 *	key table promises (required keys, ranges, enums, non-empty lists,
 *	bind_dn and bind_password_file together, the password read, one
 *	line without its newline) and survives cfg_ref()/cfg_unref().
 *
 *	Single-threaded, as libFuzzer calls it.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int __wrap_gethostname(char *name, size_t len);

#define FUZZ_HOST "fuzz.homed-milter.invalid"

static char dir_path[4096];
static char conf_path[4096 + 16];
static size_t conf_len, dir_len;
/* What the outputs hold before cfg_load(), which must overwrite both. */
static struct cfg sentinel_cfg;
static char sentinel_error[] = "sentinel";

/* __wrap_gethostname - stands in for gethostname() in cfg.c (-Wl,--wrap). */
int __wrap_gethostname(char *name, size_t len)
{
    if (len < sizeof(FUZZ_HOST)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(name, FUZZ_HOST, sizeof(FUZZ_HOST));
    return 0;
}

/* The files next to the input, for ldap.bind_password_file. */
static const struct fixture {
    const char *name;
    const char *text; /* NULL: "long" */
    size_t len;
} fixtures[] = {
    {"secret", "s3cret\n", 7},     {"secret-crlf", "s3cret\r\n", 8},
    {"secret-noeol", "s3cret", 6}, {"empty", "", 0},
    {"two-lines", "a\nb\n", 4},    {"nul", "a\0b\n", 4},
    {"long", NULL, 5000},
};
#define NFIXTURES (sizeof(fixtures) / sizeof(fixtures[0]))

/* fixture_path - DIR/NAME into BUF (of conf_path's size). */
static void fixture_path(char *buf, const char *name)
{
    snprintf(buf, sizeof(conf_path), "%s/%s", dir_path, name);
}

static void remove_dir(void)
{
    char path[sizeof(conf_path)];
    size_t i;

    if (dir_path[0] == '\0')
        return;
    for (i = 0; i < NFIXTURES; i++) {
        fixture_path(path, fixtures[i].name);
        unlink(path);
    }
    fixture_path(path, "dir");
    rmdir(path);
    unlink(conf_path);
    rmdir(dir_path);
}

/* write_all - write N bytes of BUF to FD; abort() when it cannot. */
static void write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    ssize_t got;

    while (n > 0) {
        got = write(fd, p, n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            fuzz_violated(__FILE__, __LINE__, "write a file in the private directory");
        p += got;
        n -= (size_t)got;
    }
}

static int open_trunc(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd < 0)
        fuzz_violated(__FILE__, __LINE__, "open a file in the private directory");
    return fd;
}

/* make_fixtures - the password files and the directory. */
static void make_fixtures(void)
{
    char path[sizeof(conf_path)], lots[5000];
    size_t i;
    int fd;

    memset(lots, 'x', sizeof(lots));
    for (i = 0; i < NFIXTURES; i++) {
        fixture_path(path, fixtures[i].name);
        fd = open_trunc(path);
        write_all(fd, fixtures[i].text ? fixtures[i].text : lots, fixtures[i].len);
        close(fd);
    }
    fixture_path(path, "dir");
    if (mkdir(path, 0700) != 0)
        fuzz_violated(__FILE__, __LINE__, "mkdir in the private directory");
}

/* pick_base - where the private directory goes. */
static const char *pick_base(void)
{
    struct stat st;
    const char *env = getenv("HM_FUZZ_TMPDIR");

    if (env != NULL && *env == '/')
        return env;
    if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
        access("/dev/shm", W_OK | X_OK) == 0)
        return "/dev/shm";
    env = getenv("TMPDIR");
    return env != NULL && *env == '/' ? env : "/tmp";
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *base = pick_base();
    int n;

    (void)argc;
    (void)argv;
    n = snprintf(dir_path, sizeof(dir_path), "%s/hm-fuzz-config.XXXXXX", base);
    if (n < 0 || (size_t)n >= sizeof(dir_path) || mkdtemp(dir_path) == NULL) {
        fprintf(stderr, "fuzz_config: cannot make a directory under %s\n", base);
        exit(1);
    }
    dir_len = strlen(dir_path);
    fixture_path(conf_path, "fuzz.conf");
    conf_len = strlen(conf_path);
    atexit(remove_dir);
    make_fixtures();
    return 0;
}

/* write_input - DATA becomes the input file, "$DIR" the directory's path. */
static void write_input(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size, *hit;
    int fd = open_trunc(conf_path);

    while ((hit = memmem(p, (size_t)(end - p), "$DIR", 4)) != NULL) {
        write_all(fd, p, (size_t)(hit - p));
        write_all(fd, dir_path, dir_len);
        p = hit + 4;
    }
    write_all(fd, p, (size_t)(end - p));
    if (close(fd) != 0)
        fuzz_violated(__FILE__, __LINE__, "close the input file");
}

/* check_password - what cfg_load() read from a password file. */
static void check_password(const struct cfg *c)
{
    const char *name, *pw = c->ldap.bind_password;

    CHECK((pw == NULL) == (c->ldap.bind_password_file == NULL));
    if (pw == NULL)
        return;
    CHECK(pw[0] != '\0' && strpbrk(pw, "\r\n") == NULL);
    if (strncmp(c->ldap.bind_password_file, dir_path, dir_len) != 0 ||
        c->ldap.bind_password_file[dir_len] != '/')
        return;
    name = c->ldap.bind_password_file + dir_len + 1;
    if (strcmp(name, "secret") == 0 || strcmp(name, "secret-noeol") == 0)
        CHECK(strcmp(pw, "s3cret") == 0);
    CHECK(strcmp(name, "empty") != 0 && strcmp(name, "two-lines") != 0 &&
          strcmp(name, "nul") != 0 && strcmp(name, "long") != 0 &&
          strcmp(name, "dir") != 0);
}

/* check_error - "PATH:LINE: message", PATH being our file. */
static void check_error(const char *error)
{
    const char *p;

    CHECK(error != NULL);
    CHECK(strncmp(error, conf_path, conf_len) == 0 && error[conf_len] == ':');
    p = error + conf_len + 1;
    CHECK(*p >= '0' && *p <= '9');
    p += strspn(p, "0123456789");
    CHECK(p[0] == ':' && p[1] == ' ' && p[2] != '\0');
}

static void check_list(const struct cfg_list *l, bool empty_ok)
{
    size_t i;

    CHECK(empty_ok || l->n > 0);
    CHECK(l->n == 0 || l->v != NULL);
    for (i = 0; i < l->n; i++)
        CHECK(l->v[i] != NULL && l->v[i][0] != '\0');
}

/* check_cfg - what every loaded config holds, per the key table. */
static void check_cfg(const struct cfg *c)
{
    CHECK(c->file != NULL && strcmp(c->file, conf_path) == 0);
    CHECK(c->socket != NULL && c->socket[0] != '\0');
    CHECK(c->socket_mode != NULL && c->socket_mode[0] != '\0');
    CHECK(c->log_level >= 0 && c->log_level <= 3);
    check_list(&c->local_hosts, false);
    check_list(&c->ldap.uri, false);
    CHECK(c->ldap.base != NULL);
    CHECK(c->pid_file == NULL || c->pid_file[0] == '/');
    CHECK(c->user == NULL || c->user[0] != '\0');
    CHECK(c->ldap.ca_file == NULL || c->ldap.ca_file[0] == '/');
    CHECK(c->ldap.bind_password_file == NULL || c->ldap.bind_password_file[0] == '/');
    CHECK((c->ldap.bind_dn == NULL) == (c->ldap.bind_password_file == NULL));
    check_password(c);
    CHECK(c->ldap.scope >= HM_SCOPE_BASE && c->ldap.scope <= HM_SCOPE_SUB);
    CHECK(c->ldap.login_filter != NULL && c->ldap.login_filter[0] == '(');
    CHECK(c->ldap.home_attribute != NULL);
    CHECK(c->ldap.home_value == HM_HOME_HOST || c->ldap.home_value == HM_HOME_RDN);
    check_list(&c->ldap.login_attribute, true);
    check_list(&c->ldap.address_attributes, false);
    check_list(&c->ldap.prefixed_attributes, true);
    CHECK(c->ldap.delegation_filter != NULL && c->ldap.on_behalf_filter != NULL);
    CHECK(c->cache.stale_ttl == 0 || c->cache.stale_ttl > c->cache.ttl);
    CHECK(c->ldap.timeout >= 1 && c->ldap.timeout <= 300);
    CHECK(c->policy.mode == HM_MODE_ENFORCE || c->policy.mode == HM_MODE_REPORT);
    check_list(&c->policy.header_fields, true);
    CHECK(c->policy.unauthenticated == HM_UNAUTH_ACCEPT ||
          c->policy.unauthenticated == HM_UNAUTH_REJECT);
    CHECK(c->policy.on_directory_error >= HM_ONERR_TEMPFAIL &&
          c->policy.on_directory_error <= HM_ONERR_REJECT);
    CHECK(c->policy.reject_text != NULL && c->policy.reject_text[0] != '\0');
    CHECK(c->policy.extension_delimiter != NULL && c->policy.report_header != NULL);
    CHECK(c->cache.ttl >= 0 && c->cache.ttl <= 86400);
    CHECK(c->cache.negative_ttl >= 0 && c->cache.negative_ttl <= 86400);
    CHECK(c->cache.size >= 0 && c->cache.size <= 10000000);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfg *cfg = &sentinel_cfg;
    char *error = sentinel_error;
    int rc;

    if (size >= 8 && memmem(data, size, "@include", 8) != NULL)
        return 0;
    write_input(data, size);
    rc = cfg_load(conf_path, &cfg, &error);
    if (rc == 0) {
        CHECK(cfg != NULL && error == NULL);
        check_cfg(cfg);
        CHECK(cfg_ref(cfg) == cfg);
        cfg_unref(cfg);
        check_cfg(cfg);
        cfg_unref(cfg);
    } else {
        CHECK(rc == -1 && cfg == NULL);
        check_error(error);
        free(error);
    }
    return 0;
}

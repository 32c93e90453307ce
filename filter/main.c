/*
 * NAME
 *	main - the homed-milter command
 * SUMMARY
 *	main(): homed-milter [-c FILE] [-f] [-n [-v]] [-p SOCKET]
 *	[-q LOGIN ADDRESS] [-V] [-h]
 * DESCRIPTION
 *	Parses the command line, loads the configuration, and runs one of
 *	the modes: -n checks the configuration and exits (with -v, printing
 *	the effective configuration, defaults included); -q asks the
 *	directory what would happen if LOGIN submitted as ADDRESS and prints
 *	the verdict and the evidence. Exit codes follow sysexits(3), except
 *	-n (0 valid, 1 not) and -q (0 accept, 1 reject, 2 tempfail).
 */
#include "autoconf.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cfg.h"
#include "daemon.h"
#include "log.h"
#include "query.h"

#ifndef HM_SYSCONFDIR
#define HM_SYSCONFDIR "/etc"
#endif

struct options {
    const char *config;
    const char *socket;
    const char *login;
    const char *address;
    bool foreground;
    bool check_only;
    bool verbose;
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: homed-milter [-c FILE] [-f] [-n [-v]] [-p SOCKET] [-q LOGIN ADDRESS] "
            "[-V] [-h]\n"
            "  -c FILE    configuration file (default %s/homed-milter.conf)\n"
            "  -f         stay in the foreground, log to stderr too\n"
            "  -n         check the configuration and exit\n"
            "  -n -v      the same, then print the effective configuration (every\n"
            "             key; defaults marked; the bind password never shown)\n"
            "  -p SOCKET  listen on SOCKET instead of the configured socket\n"
            "  -q LOGIN ADDRESS\n"
            "             ask the directory what would happen if LOGIN submitted\n"
            "             as ADDRESS at MAIL FROM or, given a header field value\n"
            "             (\"From: Jane <jane@example.com>\"), with the addresses\n"
            "             a mail client shows for it (exit 0 accept, 1 reject,\n"
            "             2 tempfail)\n"
            "  -V         print the version and exit\n"
            "  -h         print this help and exit\n",
            HM_SYSCONFDIR);
}

static int parse_options(int argc, char **argv, struct options *o)
{
    int c;

    while ((c = getopt(argc, argv, "c:fnp:q:vVh")) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case 'f':
            o->foreground = true;
            break;
        case 'n':
            o->check_only = true;
            break;
        case 'p':
            o->socket = optarg;
            break;
        case 'v':
            o->verbose = true;
            break;
        case 'q':
            o->login = optarg;
            if (optind >= argc) {
                fprintf(stderr, "homed-milter: -q needs LOGIN and ADDRESS\n");
                return EX_USAGE;
            }
            o->address = argv[optind++];
            break;
        case 'V':
            printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
            return EX_OK;
        case 'h':
            usage(stdout);
            return EX_OK;
        default:
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind != argc || (o->check_only && o->login != NULL) ||
        (o->verbose && !o->check_only)) {
        usage(stderr);
        return EX_USAGE;
    }
    return -1;
}

/* Load the configuration; on error print FILE:LINE: message. */
static struct cfg *load(const struct options *o)
{
    struct cfg *cfg = NULL;
    const char *why;
    char *error = NULL;

    if (cfg_load(o->config, &cfg, &error) < 0) {
        fprintf(stderr, "%s\n", error ? error : "out of memory");
        free(error);
        return NULL;
    }
    if (o->socket != NULL && cfg_set_socket(cfg, o->socket, &why) < 0) {
        fprintf(stderr, "-p %s: %s\n", o->socket, why);
        cfg_unref(cfg);
        return NULL;
    }
    return cfg;
}

int main(int argc, char **argv)
{
    struct options o = {
        HM_SYSCONFDIR "/homed-milter.conf", NULL, NULL, NULL, false, false, false};
    struct cfg *cfg;
    char *absolute = NULL;
    int rc;

    if ((rc = parse_options(argc, argv, &o)) >= 0)
        return rc;
    /* A directory server that closes a connection must not kill us. */
    signal(SIGPIPE, SIG_IGN);
    log_open("homed-milter", true, false);
    /* A reload after daemon() (which changes to /) needs the whole path. */
    if (!o.check_only && o.login == NULL && o.config[0] != '/' &&
        (absolute = realpath(o.config, NULL)) != NULL)
        o.config = absolute;
    if ((cfg = load(&o)) == NULL) {
        free(absolute);
        return o.check_only ? 1 : EX_CONFIG;
    }
    log_set_level(cfg->log_level);
    if (o.check_only && o.verbose) {
        printf("# %s: valid; its effective configuration:\n", cfg->file);
        rc = cfg_print(cfg, stdout) == 0 ? EX_OK : 1;
    } else if (o.check_only) {
        printf("%s: valid\n", cfg->file);
        rc = EX_OK;
    } else if (o.login != NULL) {
        /* What -q finds it prints; log lines (the directory's events) would repeat it. */
        log_set_stderr(false);
        rc = query_run(cfg, o.login, o.address, stdout);
    } else {
        rc = daemon_run(cfg_ref(cfg), o.foreground);
    }
    cfg_unref(cfg);
    free(absolute);
    return rc;
}

/*
 * NAME
 *	nullmilter - a milter that decides nothing, the benchmark baseline
 * SUMMARY
 *	nullmilter -p SOCKET [-H]
 * DESCRIPTION
 *	Negotiates the steps, flags and macros homed-milter negotiates, and
 *	does what its callbacks do minus the directory and the policy: at
 *	MAIL FROM it reads {auth_authen} and goes on, header fields get no
 *	reply when the MTA offers that (SMFIP_NR_HDR), end of message
 *	accepts. What homed-milter costs beyond this is its own work.
 *
 *	-H	no header fields either (homed-milter with header_fields = []).
 *
 *	libmilter stops it on SIGTERM, SIGINT or SIGHUP.
 *
 *	Thread safety: no state but the option flag, set before smfi_main.
 */
#include "autoconf.h"

#include <libmilter/mfapi.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static bool null_no_headers;

static sfsistat null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                               unsigned long f2, unsigned long f3, unsigned long *pf0,
                               unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    unsigned long want = SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NORCPT | SMFIP_NODATA |
                         SMFIP_NOEOH | SMFIP_NOBODY | SMFIP_NOUNKNOWN;

    (void)f2;
    (void)f3;
    want |= null_no_headers ? SMFIP_NOHDRS : SMFIP_NR_HDR;
    *pf0 = f0 & SMFIF_ADDHDRS;
    *pf1 = f1 & want;
    *pf2 = 0;
    *pf3 = 0;
    /* the priv pointer says whether header fields get a reply */
    smfi_setpriv(ctx, (*pf1 & SMFIP_NR_HDR) ? ctx : NULL);
    smfi_setsymlist(ctx, SMFIM_ENVFROM, "{auth_authen} {auth_type} i v");
    smfi_setsymlist(ctx, SMFIM_EOM, "i {i}");
    return SMFIS_CONTINUE;
}

static sfsistat null_envfrom(SMFICTX *ctx, char **argv)
{
    const char *login = smfi_getsymval(ctx, "{auth_authen}");

    (void)argv;
    (void)login;
    return SMFIS_CONTINUE;
}

static sfsistat null_header(SMFICTX *ctx, char *name, char *value)
{
    (void)name;
    (void)value;
    return smfi_getpriv(ctx) != NULL ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat null_eom(SMFICTX *ctx)
{
    (void)ctx;
    return SMFIS_ACCEPT;
}

static sfsistat null_close(SMFICTX *ctx)
{
    smfi_setpriv(ctx, NULL);
    return SMFIS_CONTINUE;
}

static int null_usage(void)
{
    fputs("usage: nullmilter -p SOCKET [-H]\n", stderr);
    return EX_USAGE;
}

int main(int argc, char **argv)
{
    struct smfiDesc desc = {
        .xxfi_name = "nullmilter",
        .xxfi_version = SMFI_VERSION,
        .xxfi_flags = SMFIF_ADDHDRS,
        .xxfi_envfrom = null_envfrom,
        .xxfi_header = null_header,
        .xxfi_eom = null_eom,
        .xxfi_close = null_close,
        .xxfi_negotiate = null_negotiate,
    };
    const char *sock = NULL;
    int c;

    while ((c = getopt(argc, argv, "Hp:")) != -1) {
        switch (c) {
        case 'H':
            null_no_headers = true;
            break;
        case 'p':
            sock = optarg;
            break;
        default:
            return null_usage();
        }
    }
    if (sock == NULL || optind != argc)
        return null_usage();
    if (smfi_setconn((char *)sock) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS ||
        smfi_opensocket(true) != MI_SUCCESS) {
        fprintf(stderr, "nullmilter: cannot listen on %s\n", sock);
        return EX_UNAVAILABLE;
    }
    fprintf(stderr, "nullmilter: listening on %s\n", sock);
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}

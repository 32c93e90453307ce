/*
 * NAME
 *	nullmilter - a milter that decides nothing, the benchmark baseline
 * SUMMARY
 *	nullmilter -p SOCKET [-e | -n] [-H] [-b] [-r]
 * DESCRIPTION
 *	Negotiates the steps, flags and macros homed-milter negotiates, and
 *	does what its callbacks do minus the directory and the policy: at
 *	MAIL FROM it reads {auth_authen} and goes on, header fields get no
 *	reply when the MTA offers that (SMFIP_NR_HDR), end of message
 *	accepts. What homed-milter costs beyond this is its own work.
 *
 *	-e	as homed-milter with policy.decide_at = "end-of-data": MAIL
 *		FROM without a reply too (SMFIP_NR_MAIL; libmilter answers an
 *		MTA that does not offer it), so that the MTA waits for the
 *		milter once per message, at end-of-message.
 *	-n	no MAIL step at all (SMFIP_NOMAIL), the MAIL macros asked at
 *		end-of-message with {mail_addr} instead: what a milter that
 *		takes the sender from the MTA's {mail_addr} would negotiate
 *		(homed-milter does not: Postfix lowercases that macro), to
 *		measure what the MAIL step without a reply costs the MTA.
 *	-H	no header fields either (homed-milter with header_fields = []).
 *	-b	the body too, every chunk answered "continue" (homed-milter
 *		with an 8-bit rule on, minus the scan; it also offers to
 *		decline the rest, SMFIP_SKIP, and never does).
 *	-r	RCPT TO too, with no reply when the MTA offers that
 *		(homed-milter with eight_bit.seven_bit_only_domains set).
 *
 *	libmilter stops it on SIGTERM, SIGINT or SIGHUP.
 *
 *	Thread safety: no state but the option flags, set before smfi_main.
 */
#include "autoconf.h"

#include <libmilter/mfapi.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static bool null_at_eod, null_no_mail, null_no_headers, null_want_body, null_want_rcpt;

/* The priv pointer holds the steps negotiated, shifted, with bit 0 set. */
static unsigned long null_steps(SMFICTX *ctx)
{
    return (uintptr_t)smfi_getpriv(ctx) >> 1;
}

static sfsistat null_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                               unsigned long f2, unsigned long f3, unsigned long *pf0,
                               unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    unsigned long want =
        SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NODATA | SMFIP_NOEOH | SMFIP_NOUNKNOWN;

    (void)f2;
    (void)f3;
    want |= null_no_headers ? SMFIP_NOHDRS : SMFIP_NR_HDR;
    want |= null_want_body ? SMFIP_SKIP : SMFIP_NOBODY;
    want |= null_want_rcpt ? SMFIP_NR_RCPT : SMFIP_NORCPT;
    want |= null_at_eod ? SMFIP_NR_MAIL : 0;
    want |= null_no_mail ? SMFIP_NOMAIL : 0;
    *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST);
    *pf1 = f1 & want;
    *pf2 = 0;
    *pf3 = 0;
    smfi_setpriv(ctx, (void *)(uintptr_t)(*pf1 << 1 | 1));
    /*
     * homed-milter's lists, word for word; -n: all of them at the end, and
     * at MAIL (whose macros Postfix sends even when the step is left out)
     * the shortest list, as an empty one means the MTA's default
     */
    if (null_no_mail) {
        smfi_setsymlist(ctx, SMFIM_ENVFROM, "i");
        smfi_setsymlist(ctx, SMFIM_EOM,
                        "{auth_authen} {auth_type} {mail_addr} i {i} v "
                        "{client_addr} {client_name}");
    } else {
        smfi_setsymlist(ctx, SMFIM_ENVFROM,
                        "{auth_authen} {auth_type} i v {client_addr} {client_name}");
        smfi_setsymlist(ctx, SMFIM_EOM, "i {i}");
    }
    return SMFIS_CONTINUE;
}

static sfsistat null_envfrom(SMFICTX *ctx, char **argv)
{
    const char *login = smfi_getsymval(ctx, "{auth_authen}");

    (void)argv;
    (void)login;
    /* -e: no reply (libmilter answers an MTA that waits for one) */
    return null_at_eod ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat null_envrcpt(SMFICTX *ctx, char **argv)
{
    (void)argv;
    return (null_steps(ctx) & SMFIP_NR_RCPT) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat null_header(SMFICTX *ctx, char *name, char *value)
{
    (void)name;
    (void)value;
    return (null_steps(ctx) & SMFIP_NR_HDR) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat null_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    (void)ctx;
    (void)chunk;
    (void)len;
    return SMFIS_CONTINUE;
}

static sfsistat null_eom(SMFICTX *ctx)
{
    /* -n: what -e reads at MAIL FROM */
    const char *login = null_no_mail ? smfi_getsymval(ctx, "{auth_authen}") : NULL;

    (void)login;
    return SMFIS_ACCEPT;
}

static sfsistat null_close(SMFICTX *ctx)
{
    smfi_setpriv(ctx, NULL);
    return SMFIS_CONTINUE;
}

static int null_usage(void)
{
    fputs("usage: nullmilter -p SOCKET [-e | -n] [-H] [-b] [-r]\n", stderr);
    return EX_USAGE;
}

int main(int argc, char **argv)
{
    struct smfiDesc desc = {
        .xxfi_name = "nullmilter",
        .xxfi_version = SMFI_VERSION,
        .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS,
        .xxfi_envfrom = null_envfrom,
        .xxfi_envrcpt = null_envrcpt,
        .xxfi_header = null_header,
        .xxfi_body = null_body,
        .xxfi_eom = null_eom,
        .xxfi_close = null_close,
        .xxfi_negotiate = null_negotiate,
    };
    const char *sock = NULL;
    int c;

    while ((c = getopt(argc, argv, "Hbenp:r")) != -1) {
        switch (c) {
        case 'e':
            null_at_eod = true;
            break;
        case 'n':
            null_no_mail = true;
            break;
        case 'H':
            null_no_headers = true;
            break;
        case 'b':
            null_want_body = true;
            break;
        case 'r':
            null_want_rcpt = true;
            break;
        case 'p':
            sock = optarg;
            break;
        default:
            return null_usage();
        }
    }
    if (sock == NULL || optind != argc || (null_at_eod && null_no_mail))
        return null_usage();
    if (smfi_setconn((char *)sock) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS ||
        smfi_opensocket(true) != MI_SUCCESS) {
        fprintf(stderr, "nullmilter: cannot listen on %s\n", sock);
        return EX_UNAVAILABLE;
    }
    fprintf(stderr, "nullmilter: listening on %s\n", sock);
    return smfi_main() == MI_SUCCESS ? 0 : 1;
}

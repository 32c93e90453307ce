/*
 * NAME
 *	eight - 8-bit content, as the second seed needs it
 * SUMMARY
 *	eight_declared(), eight_found(), eight_domain()
 * DESCRIPTION
 *	An IIS server relayed 8-bit MIME mail to a Domino server that took
 *	7-bit only, and the user got a non-delivery report much later. The
 *	pieces of refusing such mail while the client is still connected:
 *	did MAIL FROM declare 8-bit data (RFC 6152 BODY=8BITMIME, RFC 3030
 *	BODY=BINARYMIME, RFC 6531 SMTPUTF8), does the message hold a byte
 *	>= 0x80, and does a recipient's domain belong to a next hop that
 *	takes 7-bit only.
 *
 *	Pure: no I/O, no globals, no copies; safe from any thread.
 */
#include "autoconf.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "eight.h"

bool eight_declared(char *const *args)
{
    size_t i;

    for (i = 0; args != NULL && args[i] != NULL; i++) {
        const char *a = args[i];

        if (strcasecmp(a, "SMTPUTF8") == 0 || strcasecmp(a, "BODY=8BITMIME") == 0 ||
            strcasecmp(a, "BODY=BINARYMIME") == 0)
            return true;
    }
    return false;
}

/* The high bit of each byte of a word. */
#define EIGHT_HIGH UINT64_C(0x8080808080808080)

bool eight_found(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t w, any;
    size_t i = 0, k;

    /*
     * A word at a time (memcpy: no alignment assumed), and 64 bytes
     * tested at once: a byte-at-a-time loop cost a sixth of a message's
     * time on a 64 KB body (test/bench/milter.sh).
     */
    for (; len - i >= 64; i += 64) {
        any = 0;
        for (k = 0; k < 64; k += 8) {
            memcpy(&w, p + i + k, sizeof(w));
            any |= w;
        }
        if (any & EIGHT_HIGH)
            return true;
    }
    for (; len - i >= 8; i += 8) {
        memcpy(&w, p + i, sizeof(w));
        if (w & EIGHT_HIGH)
            return true;
    }
    for (; i < len; i++)
        if (p[i] >= 0x80)
            return true;
    return false;
}

/* LEN without one trailing dot (a lone "." stays). */
static size_t eight_undotted(const char *s, size_t len)
{
    return len > 1 && s[len - 1] == '.' ? len - 1 : len;
}

const char *eight_domain(const char *domain, size_t len, const struct cfg_list *domains)
{
    size_t dlen = eight_undotted(domain, len), i;

    for (i = 0; i < domains->n; i++) {
        const char *want = domains->v[i];
        size_t wlen = eight_undotted(want, strlen(want));

        if (wlen == 0 || wlen > dlen)
            continue;
        /* the whole name, or a label boundary right before it */
        if ((dlen == wlen || domain[dlen - wlen - 1] == '.') &&
            addr_same_text(domain + dlen - wlen, wlen, want, wlen))
            return want;
    }
    return NULL;
}

/*
 * NAME
 *	address_text - decode, compare and free address strings
 *
 * SUMMARY
 *	addr_xtext_decode() undoes RFC 3461 xtext; addr_base_length() and
 *	addr_same_text() help compare parsed addresses; addr_hex_value()
 *	reads a hex digit for both decoders; addr_free() and
 *	addr_list_free() release what the parsers in address.c return.
 *
 * DESCRIPTION
 *	addr_xtext_decode() checks its input (length, "+XX" escapes, raw
 *	bytes outside 0x21..0x7e, a decoded NUL) while it decodes into one
 *	malloc'd buffer of the input's length plus one. Errors are static
 *	strings. addr_same_text() folds ASCII case only, never UTF-8.
 *
 *	Thread-safety: no globals, no static state; every function is
 *	reentrant and safe from any thread.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "address.h"

#define E_NOMEM "out of memory"

/* fail_r - report msg through error_r (which may be NULL). */
static int fail_r(const char **error_r, const char *msg)
{
    if (error_r != NULL)
        *error_r = msg;
    return -1;
}

int addr_hex_value(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    return -1;
}

/* xtext_decode - decode into buf (len + 1 bytes); static error or NULL. */
static const char *xtext_decode(const unsigned char *in, size_t len, char *buf)
{
    size_t i, o = 0;
    int hi, lo;

    for (i = 0; i < len; i++) {
        if (in[i] == '+') {
            if (len - i < 3 || (hi = addr_hex_value(in[i + 1])) < 0 ||
                (lo = addr_hex_value(in[i + 2])) < 0)
                return "invalid xtext escape";
            if (hi == 0 && lo == 0)
                return "NUL byte";
            buf[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (in[i] == '\0') {
            return "NUL byte";
        } else if (in[i] < 0x21 || in[i] > 0x7e) {
            return "invalid xtext character";
        } else {
            buf[o++] = (char)in[i];
        }
    }
    buf[o] = '\0';
    return NULL;
}

int addr_xtext_decode(const char *in, size_t len, char **out_r, const char **error_r)
{
    const char *err;
    char *buf;

    if (out_r == NULL)
        return fail_r(error_r, "no output");
    if (in == NULL && len > 0)
        return fail_r(error_r, "no input");
    if (len > HM_ADDR_MAX_INPUT)
        return fail_r(error_r, "input too long");
    if ((buf = malloc(len + 1)) == NULL)
        return fail_r(error_r, E_NOMEM);
    if ((err = xtext_decode((const unsigned char *)in, len, buf)) != NULL) {
        free(buf);
        return fail_r(error_r, err);
    }
    *out_r = buf;
    return 0;
}

size_t addr_base_length(const char *local, const char *delims)
{
    size_t whole, n;

    if (local == NULL)
        return 0;
    whole = strlen(local);
    if (delims == NULL || *delims == '\0')
        return whole;
    n = strcspn(local, delims);
    return n == 0 ? whole : n;
}

static unsigned char ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool addr_same_text(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i;

    if (alen != blen)
        return false;
    if (alen == 0 || memcmp(a, b, alen) == 0) /* the usual case, in one comparison */
        return true;
    for (i = 0; i < alen; i++)
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
            return false;
    return true;
}

void addr_free(struct addr *a)
{
    if (a == NULL)
        return;
    free(a->written);
    free(a->local);
    free(a->domain);
    memset(a, 0, sizeof(*a));
}

void addr_list_free(struct addr_list *l)
{
    size_t i;

    if (l == NULL)
        return;
    for (i = 0; i < l->n; i++)
        addr_free(&l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

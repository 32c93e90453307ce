/*
 * NAME
 *	address_rfc2047 - decode the encoded words of a display name
 *
 * SUMMARY
 *	lex_rfc2047_decode() turns "=?utf-8?q?Alice_<alice=40x>?=" into the
 *	text a mail client shows.
 *
 * DESCRIPTION
 *	RFC 2047 encoded words, read as leniently as the clients read them:
 *	anywhere in the text (inside a quoted string too, as Python's email
 *	package does), Q or B in either case, an RFC 2231 language suffix
 *	("utf-8*en") ignored, missing base64 padding tolerated. The white
 *	space between two encoded words is dropped. The bytes are converted
 *	to UTF-8 with iconv(3); a charset it does not know, or bytes that do
 *	not convert, give the raw decoded bytes (Python shows those too), so
 *	no reader sees an address that the scan does not. A word that does
 *	not decode at all stays as written.
 *
 *	The output grows on the heap. iconv descriptors are opened and closed
 *	per word: no shared state, safe from any thread.
 */
#include "autoconf.h"

#include <iconv.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "address_lex.h"

/* Longest charset name taken; longer ones are not charsets. */
#define RFC2047_CHARSET_MAX 64

/* One encoded word found in the text. */
struct rfc2047_word {
    const char *start; /* "=?" */
    const char *end;   /* one past "?=" */
    char charset[RFC2047_CHARSET_MAX + 1];
    char encoding; /* 'Q' or 'B' */
    const char *text;
    size_t text_len;
};

static int hex_digit(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    return -1;
}

static int b64_digit(unsigned c)
{
    if (c >= 'A' && c <= 'Z')
        return (int)(c - 'A');
    if (c >= 'a' && c <= 'z')
        return (int)(c - 'a' + 26);
    if (c >= '0' && c <= '9')
        return (int)(c - '0' + 52);
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* word_at - whether an encoded word starts at P (before END); fills *W. */
static bool word_at(const char *p, const char *end, struct rfc2047_word *w)
{
    const char *q = p + 2, *cs;
    size_t n;

    if (end - p < 8 || p[0] != '=' || p[1] != '?')
        return false;
    for (cs = q; q < end && *q != '?'; q++)
        if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f)
            return false;
    n = (size_t)(q - cs);
    if (n == 0 || n > RFC2047_CHARSET_MAX || end - q < 5 || q[2] != '?')
        return false;
    memcpy(w->charset, cs, n);
    w->charset[n] = '\0';
    w->charset[strcspn(w->charset, "*")] = '\0'; /* RFC 2231 language */
    w->encoding = (char)(q[1] == 'q' ? 'Q' : q[1] == 'b' ? 'B' : q[1]);
    if ((w->encoding != 'Q' && w->encoding != 'B') || w->charset[0] == '\0')
        return false;
    for (w->text = q += 3; q + 1 < end && !(q[0] == '?' && q[1] == '='); q++)
        if ((unsigned char)*q <= ' ' || (unsigned char)*q >= 0x7f)
            return false;
    if (q + 1 >= end)
        return false;
    w->text_len = (size_t)(q - w->text);
    w->end = q + 2;
    w->start = p;
    return true;
}

/* q_decode - the bytes of Q-encoded TEXT into BUF (at least N bytes). */
static size_t q_decode(const char *t, size_t n, char *buf)
{
    size_t i, o = 0;
    int hi, lo;

    for (i = 0; i < n; i++) {
        if (t[i] == '_') {
            buf[o++] = ' ';
        } else if (t[i] == '=' && i + 2 < n &&
                   (hi = hex_digit((unsigned char)t[i + 1])) >= 0 &&
                   (lo = hex_digit((unsigned char)t[i + 2])) >= 0) {
            buf[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            buf[o++] = t[i];
        }
    }
    return o;
}

/* b_decode - the bytes of base64 TEXT into BUF; SIZE_MAX when invalid. */
static size_t b_decode(const char *t, size_t n, char *buf)
{
    size_t i, o = 0, bits = 0;
    unsigned long acc = 0;
    int d;

    for (i = 0; i < n && t[i] != '='; i++) {
        if ((d = b64_digit((unsigned char)t[i])) < 0)
            return (size_t)-1;
        acc = (acc << 6) | (unsigned long)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    for (; i < n; i++)
        if (t[i] != '=')
            return (size_t)-1;
    return o;
}

/* convert - append RAW (N bytes in CHARSET) to *OUT as UTF-8, or raw. */
static int convert(struct lex_parser *ps, const char *charset, char *raw, size_t n,
                   struct lex_sbuf *out)
{
    iconv_t cd = iconv_open("UTF-8", charset);
    size_t cap = 4 * n + 8, left = cap, inleft = n;
    char *buf, *dst, *src = raw;
    int rc;

    if (cd == (iconv_t)-1)
        return lex_sbuf_add(ps, out, raw, n);
    if ((buf = malloc(cap)) == NULL) {
        iconv_close(cd);
        return lex_fail(ps, LEX_E_NOMEM);
    }
    dst = buf;
    if (iconv(cd, &src, &inleft, &dst, &left) == (size_t)-1 ||
        iconv(cd, NULL, NULL, &dst, &left) == (size_t)-1)
        rc = lex_sbuf_add(ps, out, raw, n);
    else
        rc = lex_sbuf_add(ps, out, buf, cap - left);
    free(buf);
    iconv_close(cd);
    return rc;
}

/* decode_word - append the text of encoded word *W to *OUT. */
static int decode_word(struct lex_parser *ps, const struct rfc2047_word *w,
                       struct lex_sbuf *out)
{
    char *raw = malloc(w->text_len + 1);
    size_t n;
    int rc;

    if (raw == NULL)
        return lex_fail(ps, LEX_E_NOMEM);
    n = w->encoding == 'Q' ? q_decode(w->text, w->text_len, raw)
                           : b_decode(w->text, w->text_len, raw);
    if (n == (size_t)-1)
        rc = lex_sbuf_add(ps, out, w->start, (size_t)(w->end - w->start));
    else
        rc = convert(ps, w->charset, raw, n, out);
    free(raw);
    return rc;
}

int lex_rfc2047_decode(struct lex_parser *ps, const char *s, size_t n,
                       struct lex_sbuf *out)
{
    const char *p = s, *end = s + n;
    bool after_word = false;
    size_t gap = 0; /* output length where white space after a word began */
    struct rfc2047_word w;

    while (p < end) {
        if (word_at(p, end, &w)) {
            if (after_word) /* only white space since the last encoded word */
                out->len = gap;
            if (decode_word(ps, &w, out) < 0)
                return -1;
            p = w.end;
            after_word = true;
            gap = out->len;
            continue;
        }
        if (!lex_is_wsp((unsigned char)*p))
            after_word = false;
        if (lex_sbuf_add(ps, out, p, 1) < 0)
            return -1;
        p++;
    }
    if (out->s != NULL)
        out->s[out->len] = '\0';
    return 0;
}

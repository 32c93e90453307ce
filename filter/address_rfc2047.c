/*
 * NAME
 *	address_rfc2047 - decode the encoded words of a display name
 *
 * SUMMARY
 *	addr_lex_rfc2047_decode() turns "=?utf-8?q?Alice_<alice=40x>?=" into
 *	the text a mail client shows; addr_lex_rfc2047_word_end(),
 *	addr_lex_ew_atom() and addr_lex_rfc2047_misread() find encoded words
 *	and what clients read otherwise in them.
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
#include <strings.h>

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

/* b64_digit - the value of base64 digit C, or -1 for any other byte. */
static int b64_digit(unsigned c)
{
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *p = c != 0 && c < 0x80 ? strchr(digits, (int)c) : NULL;

    return p != NULL ? (int)(p - digits) : -1;
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
                   (hi = addr_hex_value((unsigned char)t[i + 1])) >= 0 &&
                   (lo = addr_hex_value((unsigned char)t[i + 2])) >= 0) {
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

/*
 * whatwg_charset - the charset a browser engine (Thunderbird) decodes for
 * the label CHARSET: the WHATWG Encoding Standard reads the Latin-1 and
 * ASCII labels as windows-1252 (0x85 is "..." there, a control in
 * ISO-8859-1), and two more ISO labels as their Windows supersets.
 */
static const char *whatwg_charset(const char *charset)
{
    static const char *const cp1252[] = {
        "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "l1",
        "us-ascii",   "ascii",     "cp819",      "ibm819", "iso-ir-100"};
    size_t i;

    for (i = 0; i < sizeof(cp1252) / sizeof(cp1252[0]); i++)
        if (strcasecmp(charset, cp1252[i]) == 0)
            return "WINDOWS-1252";
    if (strcasecmp(charset, "iso-8859-9") == 0 || strcasecmp(charset, "latin5") == 0)
        return "WINDOWS-1254";
    if (strcasecmp(charset, "iso-8859-11") == 0 || strcasecmp(charset, "tis-620") == 0)
        return "WINDOWS-874";
    return charset;
}

/* iconv_known - whether iconv converts from CHARSET. */
static bool iconv_known(const char *charset)
{
    iconv_t cd = iconv_open("UTF-8", charset);

    if (cd == (iconv_t)-1)
        return false;
    iconv_close(cd);
    return true;
}

/* ascii_only - whether the N bytes at S are ASCII. */
static bool ascii_only(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80)
            return false;
    return true;
}

/*
 * convert - append RAW (N bytes in CHARSET) to *OUT as UTF-8. A charset
 * iconv does not know gives the word as written (HOW has HM_2047_TB) or
 * the raw bytes; bytes that do not convert give the raw bytes. Where
 * clients then differ (8-bit bytes), *UNCLEAR is set.
 */
static int convert(struct addr_lex_parser *ps, const struct rfc2047_word *w, char *raw,
                   size_t n, unsigned how, struct addr_lex_sbuf *out, bool *unclear)
{
    iconv_t cd =
        iconv_open("UTF-8", (how & HM_2047_TB) ? whatwg_charset(w->charset) : w->charset);
    size_t cap = 4 * n + 8, left = cap, inleft = n, skip;
    char *buf, *dst, *src = raw;
    int rc;

    if (cd == (iconv_t)-1) {
        *unclear = *unclear || !ascii_only(raw, n);
        return (how & HM_2047_TB)
                   ? addr_lex_sbuf_add(ps, out, w->start, (size_t)(w->end - w->start))
                   : addr_lex_sbuf_add(ps, out, raw, n);
    }
    if ((buf = malloc(cap)) == NULL) {
        iconv_close(cd);
        return addr_lex_fail(ps, HM_LEX_E_NOMEM);
    }
    dst = buf;
    if (iconv(cd, &src, &inleft, &dst, &left) == (size_t)-1 ||
        iconv(cd, NULL, NULL, &dst, &left) == (size_t)-1) {
        *unclear = true; /* Thunderbird shows U+FFFD, Python the bytes */
        rc = addr_lex_sbuf_add(ps, out, raw, n);
    } else {
        /* Thunderbird's TextDecoder drops a byte order mark at the start. */
        skip =
            (how & HM_2047_TB) && cap - left >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0
                ? 3
                : 0;
        rc = addr_lex_sbuf_add(ps, out, buf + skip, cap - left - skip);
    }
    free(buf);
    iconv_close(cd);
    return rc;
}

/* decode_word - append the text of encoded word *W to *OUT. */
static int decode_word(struct addr_lex_parser *ps, const struct rfc2047_word *w,
                       unsigned how, struct addr_lex_sbuf *out, bool *unclear)
{
    char *raw = malloc(w->text_len + 1);
    size_t n;
    int rc;

    if (raw == NULL)
        return addr_lex_fail(ps, HM_LEX_E_NOMEM);
    n = w->encoding == 'Q' ? q_decode(w->text, w->text_len, raw)
                           : b_decode(w->text, w->text_len, raw);
    if (n == (size_t)-1)
        rc = addr_lex_sbuf_add(ps, out, w->start, (size_t)(w->end - w->start));
    else
        rc = convert(ps, w, raw, n, how, out, unclear);
    free(raw);
    return rc;
}

/*
 * misread_at - at P, what Thunderbird takes for an encoded word (any text
 * but '?' between the delimiters); its end in *END_R, or false.
 */
static bool misread_at(const char *p, const char *end, const char **text_r,
                       const char **end_r)
{
    const char *q = p + 2;

    if (end - p < 2 || p[0] != '=' || p[1] != '?')
        return false;
    while (q < end && *q != '?')
        q++;
    if (end - q < 3 || strchr("BbQq", q[1]) == NULL || q[1] == '\0' || q[2] != '?')
        return false;
    for (*text_r = q += 3; q < end && *q != '?'; q++)
        ;
    if (end - q < 2 || q[1] != '=')
        return false;
    *end_r = q + 2;
    return true;
}

bool addr_lex_rfc2047_word_end(const char *p, const char *end, const char **text_r,
                               const char **end_r)
{
    const char *text, *w_end;

    if (!misread_at(p, end, &text, &w_end))
        return false;
    if (text_r != NULL)
        *text_r = text;
    if (end_r != NULL)
        *end_r = w_end;
    return true;
}

/* b_valid - whether TEXT (N bytes) is padded base64, as encoders write it. */
static bool b_valid(const char *t, size_t n)
{
    size_t i;

    if (n % 4 != 0)
        return false;
    for (i = 0; i < n; i++)
        if (b64_digit((unsigned char)t[i]) < 0 && !(t[i] == '=' && i + 2 >= n))
            return false;
    return true;
}

/* Where an encoded word stands: outside, in a quoted string, in a comment. */
enum ew_place { EW_OUTSIDE, EW_QUOTED, EW_COMMENT };

/*
 * ew_neighbour - whether C, next to an encoded word standing in PLACE
 * (BEFORE: in front of it), keeps it a word of its own for every reader:
 * white space always; in a quoted string its quotes, in a comment its
 * parentheses; outside, the separators of a list and an angle-addr after
 * it. Another encoded word ("?==?") is checked by the caller.
 */
static bool ew_neighbour(unsigned char c, enum ew_place place, bool before)
{
    if (addr_lex_is_wsp(c))
        return true;
    if (place == EW_QUOTED)
        return c == '"';
    if (place == EW_COMMENT)
        return c == (before ? '(' : ')');
    return strchr(before ? ",:;" : ",;<", c) != NULL && c != '\0';
}

/* charset_token - whether [P, END) is an RFC 2047 token (no especials). */
static bool charset_token(const char *p, const char *end)
{
    for (; p < end; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
            strchr("()<>@,;:\"/[]?.=\\", *p) != NULL)
            return false;
    return true;
}

size_t addr_lex_ew_atom(const unsigned char *p, const unsigned char *end)
{
    const unsigned char *q = p + 2;

    if (end - p < 8 || p[0] != '=' || p[1] != '?')
        return 0;
    for (; q < end && *q != '?'; q++)
        if (!addr_lex_is_atext(*q) || *q >= 0x80)
            return 0;
    if (q == p + 2 || end - q < 5 || strchr("BbQq", q[1]) == NULL || q[2] != '?')
        return 0;
    for (q += 3; q + 1 < end && !(q[0] == '?' && q[1] == '='); q++)
        if (*q <= ' ' || *q >= 0x7f || *q == '?' || strchr("()\\", *q) != NULL)
            return 0;
    return q + 1 < end ? (size_t)(q + 2 - p) : 0;
}

/* q_strict - whether every '=' of Q-encoded TEXT starts a hex escape. */
static bool q_strict(const char *t, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (t[i] == '=' && (i + 2 >= n || addr_hex_value((unsigned char)t[i + 1]) < 0 ||
                            addr_hex_value((unsigned char)t[i + 2]) < 0))
            return false;
    return true;
}

/*
 * decodes_cleanly - for the encoded word [P, END): unless its text holds
 * a special character, true; else whether it decodes without a fault
 * (escapes, charset, conversion). Python reads a word that does not as
 * text, and its '"' then opens a quoted string; Thunderbird decodes it.
 */
static bool decodes_cleanly(const char *p, const char *end)
{
    struct addr_lex_parser ps = {0};
    struct addr_lex_sbuf out = {0};
    struct rfc2047_word w;
    bool unclear = false;
    const char *q;
    int rc;

    for (q = p + 2; q < end - 2 && strchr("\"<>@,;:[]", *q) == NULL; q++)
        ;
    if (q == end - 2)
        return true;
    if (!word_at(p, end, &w) || (w.encoding == 'Q' && !q_strict(w.text, w.text_len)))
        return false;
    rc = decode_word(&ps, &w, 0, &out, &unclear);
    free(out.s);
    return rc == 0 && !unclear && iconv_known(w.charset);
}

/* ew_word_misread - what makes the encoded word [P, W_END) in PLACE, in
 * the text [S, END), read differently; NULL when nothing. */
static const char *ew_word_misread(const char *s, const char *end, const char *p,
                                   const char *text, const char *w_end,
                                   enum ew_place place)
{
    size_t i;

    /* The delimiters only, as Thunderbird finds them: no syntax inside
     * (RFC 2047 allows none in a phrase; a reader that does not decode
     * would split the field there). A '"' is left to s-nail, which quotes
     * names so, unless it would end the quoted string the word stands in. */
    for (i = 2; p + i < w_end - 2; i++)
        if (strchr("()\\,;:<>@[]", p[i]) != NULL || (unsigned char)p[i] <= ' ' ||
            (unsigned char)p[i] >= 0x7f || (place == EW_QUOTED && p[i] == '"'))
            return "encoded word holding a special character";
    if (!charset_token(p + 2, text - 3))
        return "encoded word with a malformed charset";
    if ((text[-2] == 'B' || text[-2] == 'b') &&
        !b_valid(text, (size_t)(w_end - 2 - text)))
        return "encoded word that is not valid base64";
    if ((p > s && !ew_neighbour((unsigned char)p[-1], place, true) &&
         !(p - s >= 2 && p[-2] == '?' && p[-1] == '=')) ||
        (w_end < end && !ew_neighbour((unsigned char)*w_end, place, false) &&
         !(end - w_end >= 2 && w_end[0] == '=' && w_end[1] == '?')))
        return "encoded word joined to other text";
    if (!decodes_cleanly(p, w_end))
        return "encoded word holding a special character that does not decode";
    return NULL;
}

const char *addr_lex_rfc2047_misread(const char *s, size_t n)
{
    const char *p, *end = s + n, *text, *w_end, *err;
    enum ew_place place = EW_OUTSIDE;
    size_t depth = 0;

    for (p = s; p < end; p++) {
        if (*p == '\\') {
            p++;
        } else if (*p == '=' && p + 1 < end && p[1] == '?') {
            if (!misread_at(p, end, &text, &w_end)) /* Thunderbird decodes a later one */
                return "'=?' that starts no encoded word";
            if ((err = ew_word_misread(s, end, p, text, w_end, place)) != NULL)
                return err;
            p = w_end - 1;
        } else if (place != EW_COMMENT && *p == '"') {
            place = place == EW_QUOTED ? EW_OUTSIDE : EW_QUOTED;
        } else if (place != EW_QUOTED && *p == '(') {
            depth++;
            place = EW_COMMENT;
        } else if (place == EW_COMMENT && *p == ')' && --depth == 0) {
            place = EW_OUTSIDE;
        }
    }
    return NULL;
}

/* blank_only - whether [P, END) holds nothing but white space. */
static bool blank_only(const char *p, const char *end)
{
    for (; p < end; p++)
        if (!addr_lex_is_wsp((unsigned char)*p))
            return false;
    return true;
}

int addr_lex_rfc2047_decode(struct addr_lex_parser *ps, const char *s, size_t n,
                            unsigned how, struct addr_lex_sbuf *out, bool *unclear)
{
    const char *p = s, *end, *run = s;
    bool after_word = false;
    struct rfc2047_word w;

    if (n == 0) /* S may be NULL then */
        return 0;
    for (end = s + n; p <= end;) {
        if (p < end && !word_at(p, end, &w)) {
            p++;
            continue;
        }
        /* The text since the last word: between two words, or white space
         * only for Thunderbird, dropped; otherwise as it is. */
        if (!(blank_only(run, p) &&
              (((how & HM_2047_TB) && run < p) ||
               (after_word && p < end && !(how & HM_2047_KEEP_GAPS)))) &&
            addr_lex_sbuf_add(ps, out, run, (size_t)(p - run)) < 0)
            return -1;
        if (p == end)
            break;
        /* Words split by blanks: joined (RFC 2047) or not (Python, across
         * quoted strings): readers may show different text. */
        if (after_word && run < p && blank_only(run, p))
            ps->ew_gap = true;
        if (decode_word(ps, &w, how, out, unclear) < 0)
            return -1;
        run = p = w.end;
        after_word = true;
    }
    if (out->s != NULL)
        out->s[out->len] = '\0';
    return 0;
}

/*
 * NAME
 *	address_name - the addresses a display name or a comment shows
 *
 * SUMMARY
 *	lex_names_scan() reads every display name and comment that the
 *	parser recorded while it read a header field, and appends each
 *	address a reader would see in them.
 *
 * DESCRIPTION
 *	A display name is shown, not checked, by the recipient's mail
 *	client: "alice@example.com" <janed@example.com> shows alice's
 *	address. Each recorded part is turned into the text a client shows
 *	(quotes and quoted-pairs resolved, folding and runs of blanks made
 *	one space, comments of a phrase left to their own scan), decoded
 *	(RFC 2047, see address_rfc2047.c), and read the way Thunderbird
 *	cleans a name: C0 and C1 controls and invisible marks removed, the
 *	Unicode spaces and format characters made spaces. The text is read
 *	decoded and as written, so that a reader who decodes less sees
 *	nothing we did not; and where it holds format characters (U+200B
 *	and the like), once more with them removed, as a client that shows
 *	them as nothing joins the text on either side.
 *
 *	An address is any at sign ('@', U+FF20, U+FE6B) with a run of
 *	non-boundary characters on both sides; boundaries are blanks, line
 *	ends (U+2028, U+2029 too), at signs and < > ( ) [ ] { } , ; : " ' `
 *	and backslash. A trailing '.' of the domain is not part of it.
 *
 *	Pure: no I/O beyond iconv(3) conversions in address_rfc2047.c, no
 *	globals; safe from any thread.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "address_lex.h"

/* One character of a cleaned name: where it is and what it is. */
struct name_char {
    size_t off;
    size_t len;
    bool boundary;
    bool at;
};

/* utf8_decode - the code point at P (N bytes left) in *CP; its length, or 0. */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    size_t len, i;

    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
    if (len == 0 || len > n || p[0] > 0xf4)
        return 0;
    *cp = p[0] & (0x7fu >> len);
    for (i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        *cp = (*cp << 6) | (p[i] & 0x3fu);
    }
    return len;
}

/* in_ranges - whether CP is in one of the N [lo, hi] pairs of R. */
static bool in_ranges(uint32_t cp, const uint32_t (*r)[2], size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (cp >= r[i][0] && cp <= r[i][1])
            return true;
    return false;
}

/* Characters a client drops from a name (controls, invisible marks). */
static bool name_dropped(uint32_t cp)
{
    static const uint32_t r[][2] = {
        {0x00, 0x08},     {0x0b, 0x0c},     {0x0e, 0x1f},
        {0x7f, 0x9f},     {0x34f, 0x34f},   {0x17b4, 0x17b5},
        {0x180b, 0x180d}, {0xfe00, 0xfe0f}, {0xe0100, 0xe01ef},
    };
    return in_ranges(cp, r, sizeof(r) / sizeof(r[0]));
}

/* Unicode spaces and line ends: a space to every reader. */
static bool name_space(uint32_t cp)
{
    static const uint32_t r[][2] = {
        {0x09, 0x0a},     {0x0d, 0x0d},     {0x20, 0x20},     {0xa0, 0xa0},
        {0x1680, 0x1680}, {0x2000, 0x200a}, {0x2028, 0x2029}, {0x202f, 0x202f},
        {0x205f, 0x205f}, {0x2800, 0x2800}, {0x3000, 0x3000},
    };
    return in_ranges(cp, r, sizeof(r) / sizeof(r[0]));
}

/*
 * Format characters: invisible. Thunderbird shows them as a space; a
 * client that shows them as nothing joins what is on either side.
 */
static bool name_format(uint32_t cp)
{
    static const uint32_t r[][2] = {
        {0xad, 0xad},       {0x61c, 0x61c},     {0x6dd, 0x6dd},     {0x70f, 0x70f},
        {0x8e2, 0x8e2},     {0x180e, 0x180e},   {0x200b, 0x200f},   {0x202a, 0x202e},
        {0x2060, 0x2064},   {0x2066, 0x206f},   {0xfeff, 0xfeff},   {0xfff9, 0xfffb},
        {0x110bd, 0x110bd}, {0x110cd, 0x110cd}, {0x13430, 0x13438}, {0x1bca0, 0x1bca3},
        {0x1d173, 0x1d17a}, {0xe0001, 0xe0001}, {0xe0020, 0xe007f},
    };
    return in_ranges(cp, r, sizeof(r) / sizeof(r[0]));
}

bool lex_has_invisible(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), len;
    uint32_t cp;

    for (; n > 0; p += len, n -= len) {
        if ((len = utf8_decode(p, n, &cp)) == 0) {
            len = 1; /* not UTF-8: the parser refuses it as such */
            continue;
        }
        if (cp >= 0x80 && (name_dropped(cp) || name_format(cp) || name_space(cp)))
            return true;
    }
    return false;
}

static bool name_at(uint32_t cp)
{
    return cp == '@' || cp == 0xff20 || cp == 0xfe6b;
}

/*
 * name_chars - split the text [S, S+N) into characters, dropping what a
 * client drops, and format characters too when JOIN. A byte that starts
 * no UTF-8 sequence is a character of its own. Returns a malloc'd array
 * and its length in *COUNT_R, *FORMAT_R set when the text holds a format
 * character; or NULL.
 */
static struct name_char *name_chars(const unsigned char *s, size_t n, bool join,
                                    size_t *count_r, bool *format_r)
{
    struct name_char *v = calloc(n + 1, sizeof(*v));
    size_t i = 0, k = 0, len;
    uint32_t cp;

    if (v == NULL)
        return NULL;
    for (; i < n; i += len) {
        if ((len = utf8_decode(s + i, n - i, &cp)) == 0) {
            len = 1;
            cp = 0xfffd;
        }
        if (name_format(cp))
            *format_r = true;
        if (name_dropped(cp) || (join && name_format(cp)))
            continue;
        v[k].off = i;
        v[k].len = len;
        v[k].at = name_at(cp);
        v[k].boundary = v[k].at || name_space(cp) || name_format(cp) ||
                        (cp < 0x80 && strchr("<>()[]{},;:\"'`\\", (int)cp) != NULL);
        k++;
    }
    *count_r = k;
    return v;
}

/* run_text - the bytes of characters FROM..TO-1 of V in S, joined, into *B. */
static int run_text(struct lex_parser *ps, struct lex_sbuf *b, const unsigned char *s,
                    const struct name_char *v, size_t from, size_t to)
{
    size_t i;

    for (i = from; i < to; i++)
        if (lex_sbuf_add(ps, b, s + v[i].off, v[i].len) < 0)
            return -1;
    return 0;
}

/* found - append the address LOCAL@DOMAIN (characters of V) to *L. */
static int found(struct lex_parser *ps, struct addr_list *l, const unsigned char *s,
                 const struct name_char *v, size_t lfrom, size_t at, size_t dto)
{
    struct lex_sbuf local = {0}, domain = {0}, written = {0};
    struct addr a = {0};

    if (run_text(ps, &local, s, v, lfrom, at) < 0 ||
        run_text(ps, &domain, s, v, at + 1, dto) < 0 ||
        lex_sbuf_add(ps, &written, local.s, local.len) < 0 ||
        lex_sbuf_add(ps, &written, "@", 1) < 0 ||
        lex_sbuf_add(ps, &written, domain.s, domain.len) < 0)
        goto fail;
    a.written = lex_sbuf_take(&written);
    a.local = lex_sbuf_take(&local);
    a.domain = lex_sbuf_take(&domain);
    a.in_name = true;
    if (a.written == NULL || a.local == NULL || a.domain == NULL) {
        addr_free(&a);
        return lex_fail(ps, LEX_E_NOMEM);
    }
    return lex_list_push(ps, l, &a);
fail:
    free(local.s);
    free(domain.s);
    free(written.s);
    return -1;
}

/*
 * scan_chars - append every address the name text [S, S+N) shows, format
 * characters read as spaces or (JOIN) as nothing; *FORMAT_R as name_chars.
 */
static int scan_chars(struct lex_parser *ps, struct addr_list *l, const unsigned char *s,
                      size_t n, bool join, bool *format_r)
{
    struct name_char *v;
    size_t count, i, lo, hi;
    int rc = 0;

    if ((v = name_chars(s, n, join, &count, format_r)) == NULL)
        return lex_fail(ps, LEX_E_NOMEM);
    for (i = 0; i < count && rc == 0; i++) {
        if (!v[i].at)
            continue;
        for (lo = i; lo > 0 && !v[lo - 1].boundary; lo--)
            ;
        for (hi = i + 1; hi < count && !v[hi].boundary; hi++)
            ;
        while (hi > i + 1 && v[hi - 1].len == 1 && s[v[hi - 1].off] == '.')
            hi--;
        if (lo < i && hi > i + 1)
            rc = found(ps, l, s, v, lo, i, hi);
    }
    free(v);
    return rc;
}

/* scan_text - both readings of the name text [S, S+N), as scan_chars. */
static int scan_text(struct lex_parser *ps, struct addr_list *l, const unsigned char *s,
                     size_t n)
{
    bool format = false;

    if (n == 0 || scan_chars(ps, l, s, n, false, &format) < 0)
        return n == 0 ? 0 : -1;
    return format ? scan_chars(ps, l, s, n, true, &format) : 0;
}

/* skip_nested - past the comment at *P ('('), nested ones and pairs included. */
static const unsigned char *skip_nested(const unsigned char *p, const unsigned char *end)
{
    size_t depth = 0;

    for (; p < end; p++) {
        if (*p == '\\' && p + 1 < end)
            p++;
        else if (*p == '(')
            depth++;
        else if (*p == ')' && --depth == 0)
            return p + 1;
    }
    return end;
}

/*
 * span_text - the text a client shows for span SP into *B: quoted-pairs
 * resolved; in a phrase also quotes removed, blanks and comments made one
 * space.
 */
static int span_text(struct lex_parser *ps, const struct lex_span *sp, struct lex_sbuf *b)
{
    const unsigned char *p = sp->p, *end = sp->p + sp->len;
    bool quoted = false, blank = false;

    for (; p < end; p++) {
        if (*p == '\\' && p + 1 < end) {
            p++;
        } else if (!sp->comment && *p == '"') {
            quoted = !quoted;
            continue;
        } else if (!sp->comment && !quoted && *p == '(') {
            p = skip_nested(p, end) - 1;
            blank = true;
            continue;
        } else if (lex_is_wsp(*p) && (!quoted || *p != ' ')) {
            blank = true;
            continue;
        }
        if (blank && b->len > 0 && lex_sbuf_add(ps, b, " ", 1) < 0)
            return -1;
        blank = false;
        if (lex_sbuf_add(ps, b, p, 1) < 0)
            return -1;
    }
    return 0;
}

int lex_names_scan(struct lex_parser *ps, struct addr_list *l)
{
    struct lex_sbuf text = {0}, decoded = {0};
    size_t i;
    int rc = 0;

    for (i = 0; i < ps->nspans && rc == 0; i++) {
        text.len = decoded.len = 0;
        if (span_text(ps, &ps->spans[i], &text) < 0) {
            rc = -1;
            break;
        }
        if (text.len == 0)
            continue;
        if (lex_rfc2047_decode(ps, text.s, text.len, &decoded) < 0 ||
            scan_text(ps, l, (const unsigned char *)text.s, text.len) < 0)
            rc = -1;
        else if (decoded.len != text.len || memcmp(decoded.s, text.s, text.len) != 0)
            rc = scan_text(ps, l, (const unsigned char *)decoded.s, decoded.len);
    }
    free(text.s);
    free(decoded.s);
    return rc;
}

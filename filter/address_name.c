/*
 * NAME
 *	address_name - the addresses a display name or a comment shows
 *
 * SUMMARY
 *	addr_lex_names_scan() reads every display name and comment that the
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

static bool name_at(uint32_t cp)
{
    return cp == '@' || cp == 0xff20 || cp == 0xfe6b;
}

/*
 * How a text is split into characters: format characters as blanks
 * (Thunderbird) or dropped (a client that shows them as nothing).
 */
enum name_mode { NAME_SPACED, NAME_JOINED };

/*
 * name_chars - split the text [S, S+N) into characters as MODE says,
 * dropping what a client drops. A byte that starts no UTF-8 sequence is a
 * character of its own. Returns a malloc'd array and its length in
 * *COUNT_R, *FORMAT_R set when the text holds a format character; or NULL.
 */
static struct name_char *name_chars(const unsigned char *s, size_t n, enum name_mode mode,
                                    size_t *count_r, bool *format_r)
{
    struct name_char *v = calloc(n + 1, sizeof(*v));
    size_t i = 0, k = 0, len;
    enum addr_lex_uclass c;
    uint32_t cp;

    if (v == NULL)
        return NULL;
    for (; i < n; i += len) {
        if ((len = addr_lex_utf8_decode(s + i, n - i, &cp)) == 0) {
            len = 1;
            cp = 0xfffd;
        }
        if ((c = addr_lex_uclass(cp)) == HM_LEX_FORMAT)
            *format_r = true;
        if (c == HM_LEX_DROPPED || (mode == NAME_JOINED && c == HM_LEX_FORMAT))
            continue;
        v[k].off = i;
        v[k].len = len;
        v[k].at = name_at(cp);
        v[k].boundary = v[k].at || c == HM_LEX_SPACE || c == HM_LEX_FORMAT ||
                        (cp < 0x80 && strchr("<>()[]{},;:\"'`\\", (int)cp) != NULL);
        k++;
    }
    *count_r = k;
    return v;
}

/* run_text - the bytes of characters FROM..TO-1 of V in S, joined, into *B. */
static int run_text(struct addr_lex_parser *ps, struct addr_lex_sbuf *b,
                    const unsigned char *s, const struct name_char *v, size_t from,
                    size_t to)
{
    size_t i;

    for (i = from; i < to; i++)
        if (addr_lex_sbuf_add(ps, b, s + v[i].off, v[i].len) < 0)
            return -1;
    return 0;
}

/* found - append the address LOCAL@DOMAIN (characters of V) to *L. */
static int found(struct addr_lex_parser *ps, struct addr_list *l, const unsigned char *s,
                 const struct name_char *v, size_t lfrom, size_t at, size_t dto)
{
    struct addr_lex_sbuf local = {0}, domain = {0}, written = {0};
    struct addr a = {0};

    if (run_text(ps, &local, s, v, lfrom, at) < 0 ||
        run_text(ps, &domain, s, v, at + 1, dto) < 0 ||
        addr_lex_sbuf_add(ps, &written, local.s, local.len) < 0 ||
        addr_lex_sbuf_add(ps, &written, "@", 1) < 0 ||
        addr_lex_sbuf_add(ps, &written, domain.s, domain.len) < 0)
        goto fail;
    a.written = addr_lex_sbuf_take(&written);
    a.local = addr_lex_sbuf_take(&local);
    a.domain = addr_lex_sbuf_take(&domain);
    a.in_name = true;
    if (a.written == NULL || a.local == NULL || a.domain == NULL) {
        addr_free(&a);
        return addr_lex_fail(ps, HM_LEX_E_NOMEM);
    }
    return addr_lex_list_push(ps, l, &a);
fail:
    free(local.s);
    free(domain.s);
    free(written.s);
    return -1;
}

/*
 * scan_chars - append every address the name text [S, S+N) shows, split
 * as MODE says; *FORMAT_R as name_chars.
 */
static int scan_chars(struct addr_lex_parser *ps, struct addr_list *l,
                      const unsigned char *s, size_t n, enum name_mode mode,
                      bool *format_r)
{
    struct name_char *v;
    size_t count, i, lo, hi;
    int rc = 0;

    if ((v = name_chars(s, n, mode, &count, format_r)) == NULL)
        return addr_lex_fail(ps, HM_LEX_E_NOMEM);
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

/*
 * scan_text - the name text [S, S+N) split every way a client may: format
 * characters as blanks, and as nothing when there are any.
 */
static int scan_text(struct addr_lex_parser *ps, struct addr_list *l,
                     const unsigned char *s, size_t n)
{
    bool format = false;

    if (n == 0 || scan_chars(ps, l, s, n, NAME_SPACED, &format) < 0)
        return n == 0 ? 0 : -1;
    return format ? scan_chars(ps, l, s, n, NAME_JOINED, &format) : 0;
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
static int span_text(struct addr_lex_parser *ps, const struct addr_lex_span *sp,
                     struct addr_lex_sbuf *b)
{
    const unsigned char *p = sp->p, *end = sp->p + sp->len;
    bool quoted = false, blank = false;

    for (; p < end; p++) {
        size_t ew = quoted || sp->comment ? 0 : addr_lex_ew_atom(p, end);

        if (ew > 0) { /* one word, whatever it holds */
            if ((blank && b->len > 0 && addr_lex_sbuf_add(ps, b, " ", 1) < 0) ||
                addr_lex_sbuf_add(ps, b, p, ew) < 0)
                return -1;
            blank = false;
            p += ew - 1;
            continue;
        }
        if (*p == '\\' && p + 1 < end) {
            p++;
        } else if (!sp->comment && *p == '"') {
            quoted = !quoted;
            continue;
        } else if (!sp->comment && !quoted && *p == '(') {
            p = skip_nested(p, end) - 1;
            blank = true;
            continue;
        } else if (addr_lex_is_wsp(*p) && (!quoted || *p != ' ')) {
            blank = true;
            continue;
        }
        if (blank && b->len > 0 && addr_lex_sbuf_add(ps, b, " ", 1) < 0)
            return -1;
        blank = false;
        if (addr_lex_sbuf_add(ps, b, p, 1) < 0)
            return -1;
    }
    return 0;
}

/* The state of a name as Thunderbird builds it from its tokens. */
struct tb_name {
    struct addr_lex_parser *ps;
    struct addr_lex_sbuf *out;
    struct addr_lex_sbuf clean;
    bool needs_space;
    bool decode;   /* RFC 2047 on (Thunderbird), or off (a reader that does not) */
    bool *unclear; /* set when an encoded word reads otherwise elsewhere */
};

/* tb_clean - TOKEN (N bytes) as Thunderbird cleans it, into tb->clean. */
static int tb_clean(struct tb_name *tb, const char *token, size_t n)
{
    const unsigned char *p = (const unsigned char *)token;
    enum addr_lex_uclass c;
    size_t i, len;
    uint32_t cp;
    bool blank;

    tb->clean.len = 0;
    for (i = 0; i < n; i += len) {
        if ((len = addr_lex_utf8_decode(p + i, n - i, &cp)) == 0) {
            len = 1;
            cp = 0xfffd;
        }
        c = addr_lex_uclass(cp);
        if (c == HM_LEX_DROPPED && cp != '\t' && cp != '\n' && cp != '\r')
            continue;
        blank = (c == HM_LEX_SPACE || c == HM_LEX_FORMAT) && cp >= 0x80;
        if (addr_lex_sbuf_add(tb->ps, &tb->clean, blank ? " " : token + i,
                              blank ? 1 : len) < 0)
            return -1;
    }
    return 0;
}

/* tb_unescape - TOKEN (N bytes) with its quoted-pairs resolved, into *RAW. */
static int tb_unescape(struct tb_name *tb, const char *token, size_t n,
                       struct addr_lex_sbuf *raw)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (token[i] == '\\' && ++i == n)
            break; /* a trailing backslash is dropped */
        if (addr_lex_sbuf_add(tb->ps, raw, token + i, 1) < 0)
            return -1;
    }
    return 0;
}

/*
 * tb_emit - add a token to the name: a space before it unless the last
 * token was empty or began with '.', or it does (Thunderbird's joining).
 * UNESCAPE: quoted-pairs are resolved first (not in decoded words).
 */
static int tb_emit(struct tb_name *tb, const char *token, size_t n, bool unescape)
{
    struct addr_lex_sbuf raw = {0};
    int rc;

    if (unescape)
        rc = tb_unescape(tb, token, n, &raw) < 0 ? -1 : tb_clean(tb, raw.s, raw.len);
    else
        rc = tb_clean(tb, token, n);
    free(raw.s);
    if (rc < 0)
        return -1;
    if (tb->needs_space && tb->clean.len > 0 && tb->clean.s[0] != '.' &&
        addr_lex_sbuf_add(tb->ps, tb->out, " ", 1) < 0)
        return -1;
    if (addr_lex_sbuf_add(tb->ps, tb->out, tb->clean.s, tb->clean.len) < 0)
        return -1;
    tb->needs_space = tb->clean.len > 0 && tb->clean.s[0] != '.';
    return 0;
}

/*
 * tb_quoted - a quoted string's inside [P, END): decoded (when this reading
 * decodes), then unescaped.
 */
static int tb_quoted(struct tb_name *tb, const char *p, const char *end)
{
    struct addr_lex_sbuf dec = {0};
    int rc;

    if (!tb->decode)
        return tb_emit(tb, p, (size_t)(end - p), true);
    rc = addr_lex_rfc2047_decode(tb->ps, p, (size_t)(end - p), HM_2047_TB, &dec,
                                 tb->unclear);

    if (rc == 0)
        rc = tb_emit(tb, dec.s ? dec.s : "", dec.len, true);
    free(dec.s);
    return rc;
}

/* tb_special - a delimiter of the name's tokenizer: '(' ')' or '@'. */
static int tb_special(struct tb_name *tb, char c)
{
    struct addr_lex_sbuf *o = tb->out;

    if (c == '(') {
        if (!tb->needs_space)
            tb->needs_space = o->len > 0 && o->s[o->len - 1] != ' ';
        if (addr_lex_sbuf_add(tb->ps, o, tb->needs_space ? " (" : "(",
                              tb->needs_space ? 2 : 1) < 0)
            return -1;
    } else if (addr_lex_sbuf_add(tb->ps, o, &c, 1) < 0) {
        return -1;
    }
    tb->needs_space = c == ')';
    return 0;
}

/* tb_words - decode the run of encoded words at P (Thunderbird reads them
 * as one token) and emit it; returns where the run ends, or NULL. */
static const char *tb_words(struct tb_name *tb, const char *p, const char *end)
{
    struct addr_lex_sbuf dec = {0};
    const char *q = p, *next = p, *text, *w_end;

    while (addr_lex_rfc2047_word_end(next, end, &text, &w_end)) {
        q = w_end;
        for (next = q; next < end && addr_lex_is_wsp((unsigned char)*next); next++)
            ;
    }
    if (addr_lex_rfc2047_decode(tb->ps, p, (size_t)(q - p), HM_2047_TB, &dec,
                                tb->unclear) < 0 ||
        tb_emit(tb, dec.s ? dec.s : "", dec.len, false) < 0)
        q = NULL;
    free(dec.s);
    return q;
}

/*
 * tb_text - span SP as Thunderbird shows it as a name, into *OUT: its
 * tokenizer (quoted strings and literals recognised inside comments too,
 * encoded words decoded as tokens of their own) and its joining of tokens.
 */
static int tb_text(struct addr_lex_parser *ps, const struct addr_lex_span *sp,
                   bool decode, struct addr_lex_sbuf *out, bool *unclear)
{
    struct tb_name tb = {ps, out, {0}, false, decode, unclear};
    const char *p = (const char *)sp->p, *end = p + sp->len, *start = NULL;
    unsigned depth = sp->comment;
    char quote = 0, c;
    int rc = -1;

    for (; p < end; p++) {
        c = *p;
        if (c == '\\') {
            /* Thunderbird skips the next character (all of its bytes); the
             * pair stays in the token that is open, if any. */
            for (p++; p + 1 < end && ((unsigned char)p[1] & 0xc0) == 0x80; p++)
                ;
        } else if (quote != 0) {
            if (c == quote &&
                (quote == '"' ? tb_quoted(&tb, start + 1, p)
                              : tb_emit(&tb, start, (size_t)(p + 1 - start), true)) < 0)
                goto out;
            if (c == quote)
                start = NULL, quote = 0;
        } else if (decode && c == '=' && p + 1 < end && p[1] == '?' &&
                   addr_lex_rfc2047_word_end(p, end, NULL, NULL)) {
            if (start != NULL && tb_emit(&tb, start, (size_t)(p - start), true) < 0)
                goto out;
            start = NULL;
            if ((p = tb_words(&tb, p, end)) == NULL)
                goto out;
            p--;
        } else {
            bool ending = addr_lex_is_wsp((unsigned char)c) || c == '"' || c == '[' ||
                          (c == '(' && depth == 0) || (c == ')' && depth <= 1) ||
                          (depth == 0 && strchr(":,;<>@", c) != NULL);
            bool special =
                (depth == 0 && strchr(":,;<>@(", c) != NULL) || (c == ')' && depth <= 1);

            if (c == '(')
                depth++;
            else if (c == ')' && depth > 0)
                depth--;
            if (ending && start != NULL &&
                tb_emit(&tb, start, (size_t)(p - start), true) < 0)
                goto out;
            if (ending)
                start = NULL;
            if (special && tb_special(&tb, c) < 0)
                goto out;
            if (c == '"' || c == '[')
                quote = c == '"' ? '"' : ']';
            if (start == NULL && !special && !addr_lex_is_wsp((unsigned char)c))
                start = p;
        }
    }
    rc = start == NULL ? 0
                       : tb_emit(&tb, start + (quote == '"'),
                                 (size_t)(end - start) - (quote == '"'), true);
out:
    free(tb.clean.s);
    return rc;
}

/* span_ascii - whether span SP holds ASCII only. */
static bool span_ascii(const struct addr_lex_span *sp)
{
    size_t i;

    for (i = 0; i < sp->len; i++)
        if (sp->p[i] >= 0x80)
            return false;
    return true;
}

/* Readings of one name: as written, RFC 2047, Python, Thunderbird with
 * and without RFC 2047. */
#define NAME_READINGS 5
/* Addresses of one name compared for duplicates when no more than this. */
#define NAME_DEDUP_MAX 64

/* dedup - drop the addresses of L from FROM on that repeat an earlier one. */
static void dedup(struct addr_list *l, size_t from)
{
    size_t i, k, n = from;

    if (l->n - from > NAME_DEDUP_MAX)
        return;
    for (i = from; i < l->n; i++) {
        for (k = from; k < n; k++)
            if (strcmp(l->v[k].local, l->v[i].local) == 0 &&
                strcmp(l->v[k].domain, l->v[i].domain) == 0)
                break;
        if (k < n)
            addr_free(&l->v[i]);
        else
            l->v[n++] = l->v[i];
    }
    l->n = n;
}

/*
 * scan_span - every reading of span SP, each distinct one scanned once: as
 * written (a reader that does not decode), decoded as RFC 2047 says
 * (adjacent words joined), decoded as Python does (the blank between them
 * kept), and as Thunderbird builds it from its tokens, with and without
 * RFC 2047.
 */
static int scan_span(struct addr_lex_parser *ps, struct addr_list *l,
                     const struct addr_lex_span *sp)
{
    struct addr_lex_sbuf r[NAME_READINGS] = {{0}};
    size_t i, k, from = l->n;
    bool unclear = false;
    int rc = -1;

    ps->ew_gap = false;
    if (span_text(ps, sp, &r[0]) < 0 ||
        addr_lex_rfc2047_decode(ps, r[0].s, r[0].len, 0, &r[1], &unclear) < 0 ||
        addr_lex_rfc2047_decode(ps, r[0].s, r[0].len, HM_2047_KEEP_GAPS, &r[2],
                                &unclear) < 0 ||
        tb_text(ps, sp, true, &r[3], &unclear) < 0 ||
        tb_text(ps, sp, false, &r[4], &unclear) < 0)
        goto out;
    for (i = 0; i < NAME_READINGS; i++) {
        for (k = 0; k < i; k++)
            if (r[k].len == r[i].len &&
                (r[i].len == 0 || memcmp(r[k].s, r[i].s, r[i].len) == 0))
                break;
        if (k == i && scan_text(ps, l, (const unsigned char *)r[i].s, r[i].len) < 0)
            goto out;
    }
    dedup(l, from);
    /* Such a field is read as UTF-8 or ISO-8859-1: bytes of the name differ. */
    if (!ps->utf8 && !span_ascii(sp) &&
        (l->n > from || memchr(sp->p, '@', sp->len) != NULL)) {
        addr_lex_fail(ps, "8-bit name showing an address in a field that is not UTF-8");
        goto out;
    }
    /* Unknown charsets, bytes that do not convert: other text elsewhere. */
    if (unclear) {
        addr_lex_fail(ps, "display name that clients decode differently");
        goto out;
    }
    if (ps->ew_gap && l->n > from) {
        addr_lex_fail(ps, "name showing an address that clients decode differently");
        goto out;
    }
    rc = 0;
out:
    for (i = 0; i < NAME_READINGS; i++)
        free(r[i].s);
    return rc;
}

int addr_lex_names_scan(struct addr_lex_parser *ps, struct addr_list *l)
{
    size_t i;

    for (i = 0; i < ps->nspans; i++)
        if (scan_span(ps, l, &ps->spans[i]) < 0)
            return -1;
    return 0;
}

/*
 * NAME
 *	address_lex - lexical layer of the address parser
 *
 * SUMMARY
 *	addr_lex_start() checks an input and sets up a cursor over it,
 *	addr_lex_end() releases it; addr_lex_skip_cfws(), addr_lex_scan_atom()
 *	and addr_lex_scan_words() read comments and folding, atoms, quoted
 *	strings and dots; addr_lex_sbuf_add(), addr_lex_sbuf_take() and
 *	addr_lex_words_free() manage the output strings; addr_lex_fail(),
 *	addr_lex_add_span() and addr_lex_list_push() record an error, a name
 *	and an address; addr_lex_peek(), addr_lex_is_wsp(), addr_lex_is_ctl()
 *	and addr_lex_is_atext() classify bytes; addr_lex_valid_utf8(),
 *	addr_lex_utf8_decode(), addr_lex_uclass() and addr_lex_has_invisible()
 *	read UTF-8 and classify characters; addr_lex_comment_refused() names
 *	a comment refused inside an address.
 *
 * DESCRIPTION
 *	addr_lex_start() checks the input whole before anything is parsed:
 *	longer than HM_ADDR_MAX_INPUT, any NUL byte, or any byte sequence
 *	that is not well-formed UTF-8 (RFC 6532) is refused. Bytes of 0x80
 *	and above are then atext, qtext and ctext. Control characters are
 *	refused in quoted strings but skipped in comments.
 *
 *	Nested comments are skipped with a depth counter, so the stack use
 *	is constant and the time linear in the input. Output strings grow on
 *	the heap with overflow checks; nothing is copied into fixed buffers.
 *	Errors are static strings left in the parser's error field.
 *
 *	Thread-safety: no globals, no static state; every function is
 *	reentrant and safe from any thread.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "address_lex.h"

int addr_lex_fail(struct addr_lex_parser *ps, const char *msg)
{
    ps->error = msg;
    return -1;
}

/* addr_lex_sbuf_add - append n bytes, growing by doubling; keeps s NUL-terminated. */
int addr_lex_sbuf_add(struct addr_lex_parser *ps, struct addr_lex_sbuf *b,
                      const void *src, size_t n)
{
    size_t need, cap;
    char *s;

    if (n == 0)
        return 0;
    if (n > SIZE_MAX - b->len - 1)
        return addr_lex_fail(ps, HM_LEX_E_NOMEM);
    need = b->len + n + 1;
    if (need > b->cap) {
        cap = b->cap ? b->cap : 32;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        if ((s = realloc(b->s, cap)) == NULL)
            return addr_lex_fail(ps, HM_LEX_E_NOMEM);
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, src, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

/* addr_lex_sbuf_take - hand the string over (an empty one if nothing was added). */
char *addr_lex_sbuf_take(struct addr_lex_sbuf *b)
{
    char *s = b->s;

    if (s == NULL)
        s = calloc(1, 1);
    memset(b, 0, sizeof(*b));
    return s;
}

void addr_lex_words_free(struct addr_lex_words *w)
{
    free(w->written.s);
    free(w->local.s);
    memset(w, 0, sizeof(*w));
}

/* utf8_length - length of the well-formed sequence at p, or 0. */
static size_t utf8_length(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    uint32_t cp;
    size_t n, i;

    if (c < 0x80)
        return 1;
    if (c < 0xc2 || c > 0xf4) /* continuation, overlong lead, > U+10FFFF */
        return 0;
    n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if ((size_t)(end - p) < n)
        return 0;
    cp = c & (0x7f >> n);
    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff)))
        return 0;
    if (n == 4 && (cp < 0x10000 || cp > 0x10ffff))
        return 0;
    return n;
}

/*
 * addr_lex_valid_utf8 - whether LEN bytes at S are well-formed UTF-8.
 */
bool addr_lex_valid_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    size_t n;

    for (; p < end; p += n)
        if ((n = utf8_length(p, end)) == 0)
            return false;
    return true;
}

/*
 * addr_lex_start - set up *ps over the input after refusing what no parser
 * here should ever look into: too long, NUL bytes, and (STRICT) malformed
 * UTF-8. A header field may carry legacy 8-bit text (a Latin-1 display
 * name or comment): its addresses are checked after parsing instead.
 */
int addr_lex_start(struct addr_lex_parser *ps, const char *in, size_t len, bool strict)
{
    memset(ps, 0, sizeof(*ps));
    ps->p = ps->end = (const unsigned char *)"";
    ps->strict = strict;
    if (in == NULL)
        return len > 0 ? addr_lex_fail(ps, "no input") : 0;
    if (len > HM_ADDR_MAX_INPUT)
        return addr_lex_fail(ps, "input too long");
    if (memchr(in, '\0', len) != NULL)
        return addr_lex_fail(ps, "NUL byte");
    ps->p = (const unsigned char *)in;
    ps->end = ps->p + len;
    if (strict && !addr_lex_valid_utf8(in, len))
        return addr_lex_fail(ps, "invalid UTF-8");
    return 0;
}

int addr_lex_add_span(struct addr_lex_parser *ps, const unsigned char *p, size_t len,
                      bool comment)
{
    struct addr_lex_span *v;
    size_t cap;

    if (!ps->names || len == 0)
        return 0;
    if (ps->nspans == ps->spans_cap) {
        cap = ps->spans_cap ? ps->spans_cap * 2 : 8;
        if (cap > SIZE_MAX / sizeof(*v) ||
            (v = realloc(ps->spans, cap * sizeof(*v))) == NULL)
            return addr_lex_fail(ps, HM_LEX_E_NOMEM);
        ps->spans = v;
        ps->spans_cap = cap;
    }
    ps->spans[ps->nspans++] = (struct addr_lex_span){p, len, comment};
    return 0;
}

int addr_lex_list_push(struct addr_lex_parser *ps, struct addr_list *l, struct addr *a)
{
    struct addr *v;
    size_t cap;

    if (l->n >= HM_ADDR_MAX_LIST) {
        addr_free(a);
        return addr_lex_fail(ps, "too many addresses");
    }
    if (l->n == l->cap) {
        cap = l->cap ? l->cap * 2 : 4;
        if (cap > SIZE_MAX / sizeof(*v) ||
            (v = realloc(l->v, cap * sizeof(*v))) == NULL) {
            addr_free(a);
            return addr_lex_fail(ps, HM_LEX_E_NOMEM);
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *a;
    memset(a, 0, sizeof(*a));
    return 0;
}

void addr_lex_end(struct addr_lex_parser *ps)
{
    free(ps->spans);
    ps->spans = NULL;
    ps->nspans = ps->spans_cap = 0;
}

unsigned addr_lex_peek(const struct addr_lex_parser *ps)
{
    return ps->p < ps->end ? *ps->p : 0;
}

bool addr_lex_is_wsp(unsigned c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool addr_lex_is_ctl(unsigned c)
{
    return c < 0x20 || c == 0x7f;
}

/* addr_lex_is_atext - RFC 5322 atext, plus UTF8-non-ascii (already validated). */
bool addr_lex_is_atext(unsigned c)
{
    if (c >= 0x80)
        return true;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", (int)c) != NULL;
}

size_t addr_lex_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
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

/*
 * The classes of Thunderbird's cleaning of a name, by ranges in order:
 * dropped, C0 and C1 controls and invisible marks; spaces, Unicode
 * spaces and line ends (a space to every reader); format characters,
 * invisible (Thunderbird shows a space, other clients nothing).
 */
enum addr_lex_uclass addr_lex_uclass(uint32_t cp)
{
    static const struct {
        uint32_t lo, hi;
        enum addr_lex_uclass c;
    } r[] = {
        {0x00, 0x08, HM_LEX_DROPPED},       {0x09, 0x0a, HM_LEX_SPACE},
        {0x0b, 0x0c, HM_LEX_DROPPED},       {0x0d, 0x0d, HM_LEX_SPACE},
        {0x0e, 0x1f, HM_LEX_DROPPED},       {0x20, 0x20, HM_LEX_SPACE},
        {0x7f, 0x9f, HM_LEX_DROPPED},       {0xa0, 0xa0, HM_LEX_SPACE},
        {0xad, 0xad, HM_LEX_FORMAT},        {0x34f, 0x34f, HM_LEX_DROPPED},
        {0x61c, 0x61c, HM_LEX_FORMAT},      {0x6dd, 0x6dd, HM_LEX_FORMAT},
        {0x70f, 0x70f, HM_LEX_FORMAT},      {0x8e2, 0x8e2, HM_LEX_FORMAT},
        {0x1680, 0x1680, HM_LEX_SPACE},     {0x17b4, 0x17b5, HM_LEX_DROPPED},
        {0x180b, 0x180d, HM_LEX_DROPPED},   {0x180e, 0x180e, HM_LEX_FORMAT},
        {0x2000, 0x200a, HM_LEX_SPACE},     {0x200b, 0x200f, HM_LEX_FORMAT},
        {0x2028, 0x2029, HM_LEX_SPACE},     {0x202a, 0x202e, HM_LEX_FORMAT},
        {0x202f, 0x202f, HM_LEX_SPACE},     {0x205f, 0x205f, HM_LEX_SPACE},
        {0x2060, 0x2064, HM_LEX_FORMAT},    {0x2066, 0x206f, HM_LEX_FORMAT},
        {0x2800, 0x2800, HM_LEX_SPACE},     {0x3000, 0x3000, HM_LEX_SPACE},
        {0xfe00, 0xfe0f, HM_LEX_DROPPED},   {0xfeff, 0xfeff, HM_LEX_FORMAT},
        {0xfff9, 0xfffb, HM_LEX_FORMAT},    {0x110bd, 0x110bd, HM_LEX_FORMAT},
        {0x110cd, 0x110cd, HM_LEX_FORMAT},  {0x13430, 0x13438, HM_LEX_FORMAT},
        {0x1bca0, 0x1bca3, HM_LEX_FORMAT},  {0x1d173, 0x1d17a, HM_LEX_FORMAT},
        {0xe0001, 0xe0001, HM_LEX_FORMAT},  {0xe0020, 0xe007f, HM_LEX_FORMAT},
        {0xe0100, 0xe01ef, HM_LEX_DROPPED},
    };
    size_t i;

    for (i = 0; i < sizeof(r) / sizeof(r[0]) && r[i].lo <= cp; i++)
        if (cp <= r[i].hi)
            return r[i].c;
    return HM_LEX_SHOWN;
}

bool addr_lex_has_invisible(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), len;
    uint32_t cp;

    for (; n > 0; p += len, n -= len) {
        if ((len = addr_lex_utf8_decode(p, n, &cp)) == 0) {
            len = 1; /* not UTF-8: the parser refuses it as such */
            continue;
        }
        if (cp >= 0x80 && addr_lex_uclass(cp) != HM_LEX_SHOWN)
            return true;
    }
    return false;
}

/*
 * comment_misread - the byte of the comment's inside [P, END) that a
 * client may take for syntax (Thunderbird reads a '"' inside a comment as
 * a quote), or 0. "=?" (an encoded word) counts as '='.
 */
static unsigned comment_misread(const unsigned char *p, const unsigned char *end)
{
    for (; p < end; p++) {
        if (*p != 0 && strchr("\"\\[]<>@", *p) != NULL)
            return *p;
        if (*p == '=' && p + 1 < end && p[1] == '?')
            return '=';
    }
    return 0;
}

const char *addr_lex_comment_refused(unsigned c)
{
    static const char bytes[] = "\"\\[]<>@=";
    static const char *const msgs[] = {
        "comment holding '\"' inside an address",
        "comment holding a backslash inside an address",
        "comment holding '[' inside an address",
        "comment holding ']' inside an address",
        "comment holding '<' inside an address",
        "comment holding '>' inside an address",
        "comment holding '@' inside an address",
        "comment holding an encoded word inside an address",
    };

    return msgs[strchr(bytes, (int)c) - bytes];
}

/* comment_seen - judge the comment whose inside is [P, END) (shown only). */
static int comment_seen(struct addr_lex_parser *ps, const unsigned char *p,
                        const unsigned char *end)
{
    unsigned c = comment_misread(p, end);

    if (c != 0 && ps->in_addr)
        return addr_lex_fail(ps, addr_lex_comment_refused(c));
    /* Anywhere: Thunderbird reads a quoted string or a domain literal in a
     * comment, which may hide its end or join what surrounds it. */
    if (memchr(p, '"', (size_t)(end - p)) != NULL)
        return addr_lex_fail(ps, "comment holding '\"'");
    if (memchr(p, '[', (size_t)(end - p)) != NULL ||
        memchr(p, ']', (size_t)(end - p)) != NULL)
        return addr_lex_fail(ps, "comment holding a bracket");
    if (c != 0) {
        ps->bad_comments++;
        ps->last_bad = c;
    }
    return ps->in_addr ? 0 : addr_lex_add_span(ps, p, (size_t)(end - p), true);
}

/* skip_comment - skip one comment at '(' with its nested ones. */
static int skip_comment(struct addr_lex_parser *ps)
{
    const unsigned char *start = ps->p;
    size_t depth = 0;
    unsigned c;

    do {
        if (ps->p == ps->end)
            return addr_lex_fail(ps, "unbalanced comment");
        c = *ps->p++;
        if (c == '(') {
            depth++;
        } else if (c == ')') {
            depth--;
        } else if (c == '\\') {
            if (ps->p == ps->end)
                return addr_lex_fail(ps, "unbalanced comment");
            ps->p++; /* quoted-pair, obs-qp: any byte but NUL */
        }
    } while (depth > 0);
    return ps->shown ? comment_seen(ps, start + 1, ps->p - 1) : 0;
}

/* addr_lex_skip_cfws - skip blanks, CR, LF and comments (nothing when strict). */
int addr_lex_skip_cfws(struct addr_lex_parser *ps)
{
    if (ps->strict)
        return 0;
    while (ps->p < ps->end) {
        if (addr_lex_is_wsp(*ps->p))
            ps->p++;
        else if (*ps->p != '(')
            break;
        else if (skip_comment(ps) < 0)
            return -1;
    }
    return 0;
}

/* add_both - append the same bytes to the written and the resolved form. */
static int add_both(struct addr_lex_parser *ps, struct addr_lex_words *w, const void *src,
                    size_t n)
{
    if (addr_lex_sbuf_add(ps, &w->written, src, n) < 0)
        return -1;
    return addr_lex_sbuf_add(ps, &w->local, src, n);
}

/* quoted_pair - a backslash pair inside a quoted string. */
static int quoted_pair(struct addr_lex_parser *ps, struct addr_lex_words *w)
{
    unsigned c;

    if (ps->end - ps->p < 2)
        return addr_lex_fail(ps, "unterminated quoted string");
    c = ps->p[1];
    if (addr_lex_is_ctl(c) && c != '\t')
        return addr_lex_fail(ps, "invalid quoted-pair");
    if (addr_lex_sbuf_add(ps, &w->written, ps->p, 2) < 0)
        return -1;
    if (addr_lex_sbuf_add(ps, &w->local, ps->p + 1, 1) < 0)
        return -1;
    ps->p += 2;
    return 0;
}

/* qtext_end - end of a run of plain qtext (blanks included). */
static const unsigned char *qtext_end(const unsigned char *p, const unsigned char *end)
{
    while (p < end && *p != '"' && *p != '\\' && (*p == '\t' || !addr_lex_is_ctl(*p)))
        p++;
    return p;
}

/* scan_quoted - a quoted string at '"'; folding CR and LF are dropped. */
static int scan_quoted(struct addr_lex_parser *ps, struct addr_lex_words *w)
{
    const unsigned char *q;
    unsigned c;

    if (addr_lex_sbuf_add(ps, &w->written, "\"", 1) < 0)
        return -1;
    for (ps->p++;;) {
        if ((c = addr_lex_peek(ps)) == 0)
            return addr_lex_fail(ps, "unterminated quoted string");
        if (c == '"')
            break;
        if (c == '\\') {
            if (quoted_pair(ps, w) < 0)
                return -1;
        } else if ((c == '\r' || c == '\n') && !ps->strict) {
            ps->p++;
        } else if (c != '\t' && addr_lex_is_ctl(c)) {
            return addr_lex_fail(ps, "control character");
        } else {
            q = qtext_end(ps->p, ps->end);
            if (add_both(ps, w, ps->p, (size_t)(q - ps->p)) < 0)
                return -1;
            ps->p = q;
        }
    }
    ps->p++;
    return addr_lex_sbuf_add(ps, &w->written, "\"", 1);
}

/* addr_lex_scan_atom - one run of atext, copied to dst (and dst2 when not NULL). */
int addr_lex_scan_atom(struct addr_lex_parser *ps, struct addr_lex_sbuf *dst,
                       struct addr_lex_sbuf *dst2)
{
    const unsigned char *q = ps->p;

    while (q < ps->end && addr_lex_is_atext(*q))
        q++;
    if (addr_lex_sbuf_add(ps, dst, ps->p, (size_t)(q - ps->p)) < 0)
        return -1;
    if (dst2 != NULL && addr_lex_sbuf_add(ps, dst2, ps->p, (size_t)(q - ps->p)) < 0)
        return -1;
    ps->p = q;
    return 0;
}

static void note_token(struct addr_lex_words *w, enum addr_lex_tok t)
{
    if (t == HM_LEX_TOK_DOT && w->last != HM_LEX_TOK_WORD)
        w->bad_dot = true;
    if (t == HM_LEX_TOK_WORD && w->last == HM_LEX_TOK_WORD)
        w->adjacent = true;
    if (w->ntok++ == 0)
        w->first = t;
    w->last = t;
}

/*
 * addr_lex_scan_words - read words (atoms, quoted strings) and dots with the
 * CFWS around them, up to the first byte that can be neither. What was
 * read is a local part or a display name; the byte after it tells which.
 */
int addr_lex_scan_words(struct addr_lex_parser *ps, struct addr_lex_words *w)
{
    const unsigned char *before;
    unsigned c;
    size_t n;
    int rc;

    for (;;) {
        before = ps->p;
        if (addr_lex_skip_cfws(ps) < 0)
            return -1;
        if (ps->p != before && w->ntok > 0)
            w->spaced = true;
        c = addr_lex_peek(ps);
        if (c == '.') {
            rc = add_both(ps, w, ".", 1);
            ps->p++;
            note_token(w, HM_LEX_TOK_DOT);
        } else if (c == '"') {
            rc = scan_quoted(ps, w);
            note_token(w, HM_LEX_TOK_WORD);
            w->quoted = true;
        } else if (ps->shown && (n = addr_lex_ew_atom(ps->p, ps->end)) > 0) {
            /* Clients decode it before they look for syntax in it. */
            rc = add_both(ps, w, ps->p, n);
            ps->p += n;
            note_token(w, HM_LEX_TOK_WORD);
        } else if (addr_lex_is_atext(c)) {
            rc = addr_lex_scan_atom(ps, &w->written, &w->local);
            note_token(w, HM_LEX_TOK_WORD);
        } else {
            return 0;
        }
        if (rc < 0)
            return -1;
    }
}

/*
 * NAME
 *	address - parse envelope senders, RFC 5322 address lists and xtext
 *
 * SUMMARY
 *	addr_parse_envelope() parses the MAIL FROM argument as an MTA hands it
 *	to a milter; addr_parse_list() parses a header field body (RFC 5322
 *	section 3.4 address-list with groups, comments, folding and the
 *	obsolete forms of section 4); addr_xtext_decode() undoes RFC 3461
 *	xtext; addr_base_length() and addr_same_text() help compare results.
 *
 * DESCRIPTION
 *	Every input comes with its length and is checked whole before it is
 *	parsed: longer than HM_ADDR_MAX_INPUT, any NUL byte, or any byte
 *	sequence that is not well-formed UTF-8 (RFC 6532) is refused. Bytes of
 *	0x80 and above are then accepted wherever atext, qtext, ctext or dtext
 *	is. Control characters are refused in quoted strings and domain
 *	literals (so none reaches an output string) but skipped in comments.
 *
 *	The parser is an explicit state machine over a cursor: no recursion.
 *	Nested comments are skipped with a depth counter, so the stack use is
 *	constant and the time linear in the input. Output strings grow on the
 *	heap with overflow checks; nothing is copied into fixed buffers.
 *
 *	Errors are static strings. addr_parse_list() collects into a private
 *	list and appends to the caller's only on success, so on error the
 *	caller's list is exactly what it was. addr_parse_envelope() leaves
 *	*out zeroed on error and never frees what *out held before.
 *
 *	Thread-safety: no globals, no static state; every function is
 *	reentrant and safe from any thread.
 */
#include "address.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define E_NOMEM "out of memory"

/* A growing NUL-terminated byte string. */
struct sbuf {
    char *s;
    size_t len;
    size_t cap;
};

struct parser {
    const unsigned char *p;   /* cursor */
    const unsigned char *end; /* one past the last byte */
    const char *error;        /* static message once something failed */
    bool strict;              /* envelope: no CFWS, no folding */
};

enum tok { TOK_NONE, TOK_WORD, TOK_DOT };

/* The words and dots before '@', '<' or ':', read both ways at once. */
struct words {
    struct sbuf written; /* as written: quotes kept, CFWS dropped */
    struct sbuf local;   /* quotes removed, quoted-pairs resolved */
    size_t ntok;
    enum tok first;
    enum tok last;
    bool bad_dot;  /* leading or doubled dot: no dot-atom, but a phrase */
    bool adjacent; /* two words without a dot between: a phrase only */
};

static int fail(struct parser *ps, const char *msg)
{
    ps->error = msg;
    return -1;
}

/* fail_r - report msg through error_r (which may be NULL). */
static int fail_r(const char **error_r, const char *msg)
{
    if (error_r != NULL)
        *error_r = msg;
    return -1;
}

/* sbuf_add - append n bytes, growing by doubling; keeps s NUL-terminated. */
static int sbuf_add(struct parser *ps, struct sbuf *b, const void *src, size_t n)
{
    size_t need, cap;
    char *s;

    if (n == 0)
        return 0;
    if (n > SIZE_MAX - b->len - 1)
        return fail(ps, E_NOMEM);
    need = b->len + n + 1;
    if (need > b->cap) {
        cap = b->cap ? b->cap : 32;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        if ((s = realloc(b->s, cap)) == NULL)
            return fail(ps, E_NOMEM);
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->len, src, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

/* sbuf_take - hand the string over (an empty one if nothing was added). */
static char *sbuf_take(struct sbuf *b)
{
    char *s = b->s;

    if (s == NULL)
        s = calloc(1, 1);
    memset(b, 0, sizeof(*b));
    return s;
}

static void words_free(struct words *w)
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
 * parser_start - set up *ps over the input after refusing what no parser
 * here should ever look into: too long, NUL bytes, malformed UTF-8.
 */
static int parser_start(struct parser *ps, const char *in, size_t len, bool strict)
{
    const unsigned char *p;
    size_t n;

    ps->p = ps->end = (const unsigned char *)"";
    ps->error = NULL;
    ps->strict = strict;
    if (in == NULL)
        return len > 0 ? fail(ps, "no input") : 0;
    if (len > HM_ADDR_MAX_INPUT)
        return fail(ps, "input too long");
    if (memchr(in, '\0', len) != NULL)
        return fail(ps, "NUL byte");
    ps->p = (const unsigned char *)in;
    ps->end = ps->p + len;
    for (p = ps->p; p < ps->end; p += n)
        if ((n = utf8_length(p, ps->end)) == 0)
            return fail(ps, "invalid UTF-8");
    return 0;
}

/* peek - the byte at the cursor, 0 at the end (input holds no NUL). */
static unsigned peek(const struct parser *ps)
{
    return ps->p < ps->end ? *ps->p : 0;
}

static bool is_wsp(unsigned c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_ctl(unsigned c)
{
    return c < 0x20 || c == 0x7f;
}

/* is_atext - RFC 5322 atext, plus UTF8-non-ascii (already validated). */
static bool is_atext(unsigned c)
{
    if (c >= 0x80)
        return true;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", (int)c) != NULL;
}

/* unexpected - the message for a byte that cannot start what comes next. */
static const char *unexpected(unsigned c)
{
    static const char specials[] = "<>)@;:\\";
    static const char *const msgs[] = {
        "unexpected '<'", "unbalanced '>'", "unbalanced comment",   "unexpected '@'",
        "unexpected ';'", "unexpected ':'", "unexpected backslash",
    };
    const char *hit;

    if (c == 0)
        return "unexpected end of input";
    hit = strchr(specials, (int)c);
    return hit != NULL ? msgs[hit - specials] : "invalid character";
}

/* skip_comment - skip one comment at '(' with its nested ones. */
static int skip_comment(struct parser *ps)
{
    size_t depth = 0;
    unsigned c;

    do {
        if (ps->p == ps->end)
            return fail(ps, "unbalanced comment");
        c = *ps->p++;
        if (c == '(') {
            depth++;
        } else if (c == ')') {
            depth--;
        } else if (c == '\\') {
            if (ps->p == ps->end)
                return fail(ps, "unbalanced comment");
            ps->p++; /* quoted-pair, obs-qp: any byte but NUL */
        }
    } while (depth > 0);
    return 0;
}

/* skip_cfws - skip blanks, CR, LF and comments (nothing when strict). */
static int skip_cfws(struct parser *ps)
{
    if (ps->strict)
        return 0;
    while (ps->p < ps->end) {
        if (is_wsp(*ps->p))
            ps->p++;
        else if (*ps->p != '(')
            break;
        else if (skip_comment(ps) < 0)
            return -1;
    }
    return 0;
}

/* add_both - append the same bytes to the written and the resolved form. */
static int add_both(struct parser *ps, struct words *w, const void *src, size_t n)
{
    if (sbuf_add(ps, &w->written, src, n) < 0)
        return -1;
    return sbuf_add(ps, &w->local, src, n);
}

/* quoted_pair - a backslash pair inside a quoted string. */
static int quoted_pair(struct parser *ps, struct words *w)
{
    unsigned c;

    if (ps->end - ps->p < 2)
        return fail(ps, "unterminated quoted string");
    c = ps->p[1];
    if (is_ctl(c) && c != '\t')
        return fail(ps, "invalid quoted-pair");
    if (sbuf_add(ps, &w->written, ps->p, 2) < 0)
        return -1;
    if (sbuf_add(ps, &w->local, ps->p + 1, 1) < 0)
        return -1;
    ps->p += 2;
    return 0;
}

/* qtext_end - end of a run of plain qtext (blanks included). */
static const unsigned char *qtext_end(const unsigned char *p, const unsigned char *end)
{
    while (p < end && *p != '"' && *p != '\\' && (*p == '\t' || !is_ctl(*p)))
        p++;
    return p;
}

/* scan_quoted - a quoted string at '"'; folding CR and LF are dropped. */
static int scan_quoted(struct parser *ps, struct words *w)
{
    const unsigned char *q;
    unsigned c;

    if (sbuf_add(ps, &w->written, "\"", 1) < 0)
        return -1;
    for (ps->p++;;) {
        if ((c = peek(ps)) == 0)
            return fail(ps, "unterminated quoted string");
        if (c == '"')
            break;
        if (c == '\\') {
            if (quoted_pair(ps, w) < 0)
                return -1;
        } else if ((c == '\r' || c == '\n') && !ps->strict) {
            ps->p++;
        } else if (c != '\t' && is_ctl(c)) {
            return fail(ps, "control character");
        } else {
            q = qtext_end(ps->p, ps->end);
            if (add_both(ps, w, ps->p, (size_t)(q - ps->p)) < 0)
                return -1;
            ps->p = q;
        }
    }
    ps->p++;
    return sbuf_add(ps, &w->written, "\"", 1);
}

/* scan_atom - one run of atext, copied to dst (and dst2 when not NULL). */
static int scan_atom(struct parser *ps, struct sbuf *dst, struct sbuf *dst2)
{
    const unsigned char *q = ps->p;

    while (q < ps->end && is_atext(*q))
        q++;
    if (sbuf_add(ps, dst, ps->p, (size_t)(q - ps->p)) < 0)
        return -1;
    if (dst2 != NULL && sbuf_add(ps, dst2, ps->p, (size_t)(q - ps->p)) < 0)
        return -1;
    ps->p = q;
    return 0;
}

static void note_token(struct words *w, enum tok t)
{
    if (t == TOK_DOT && w->last != TOK_WORD)
        w->bad_dot = true;
    if (t == TOK_WORD && w->last == TOK_WORD)
        w->adjacent = true;
    if (w->ntok++ == 0)
        w->first = t;
    w->last = t;
}

/*
 * scan_words - read words (atoms, quoted strings) and dots with the CFWS
 * around them, up to the first byte that can be neither. What was read is
 * a local part or a display name; the byte after it tells which.
 */
static int scan_words(struct parser *ps, struct words *w)
{
    unsigned c;
    int rc;

    for (;;) {
        if (skip_cfws(ps) < 0)
            return -1;
        c = peek(ps);
        if (c == '.') {
            rc = add_both(ps, w, ".", 1);
            ps->p++;
            note_token(w, TOK_DOT);
        } else if (c == '"') {
            rc = scan_quoted(ps, w);
            note_token(w, TOK_WORD);
        } else if (is_atext(c)) {
            rc = scan_atom(ps, &w->written, &w->local);
            note_token(w, TOK_WORD);
        } else {
            return 0;
        }
        if (rc < 0)
            return -1;
    }
}

/* parse_literal - a domain literal at '['; blanks inside are dropped. */
static int parse_literal(struct parser *ps, struct sbuf *dom)
{
    unsigned c;
    size_t n;

    if (sbuf_add(ps, dom, "[", 1) < 0)
        return -1;
    for (ps->p++; (c = peek(ps)) != ']'; ps->p += n) {
        n = 1;
        if (c == 0)
            return fail(ps, "unterminated domain literal");
        if (is_wsp(c) && !ps->strict)
            continue;
        if (c == '[' || is_wsp(c))
            return fail(ps, "invalid domain literal");
        if (is_ctl(c))
            return fail(ps, "control character");
        if (c == '\\') {
            if (ps->end - ps->p < 2)
                return fail(ps, "unterminated domain literal");
            if (is_ctl(ps->p[1]) && ps->p[1] != '\t')
                return fail(ps, "invalid quoted-pair");
            n = 2;
        }
        if (sbuf_add(ps, dom, ps->p, n) < 0)
            return -1;
    }
    if (dom->len == 1)
        return fail(ps, "empty domain");
    ps->p++;
    if (sbuf_add(ps, dom, "]", 1) < 0)
        return -1;
    return skip_cfws(ps);
}

/* parse_domain - dot-atom, domain literal or obs-domain, after '@'. */
static int parse_domain(struct parser *ps, struct sbuf *dom)
{
    unsigned c;
    bool first;

    if (skip_cfws(ps) < 0)
        return -1;
    if (peek(ps) == '[')
        return parse_literal(ps, dom);
    for (first = true;; first = false) {
        c = peek(ps);
        if (!is_atext(c))
            return fail(ps, first && c != '.' ? "empty domain" : "invalid dot in domain");
        if (scan_atom(ps, dom, NULL) < 0 || skip_cfws(ps) < 0)
            return -1;
        if (peek(ps) != '.')
            return 0;
        ps->p++;
        if (sbuf_add(ps, dom, ".", 1) < 0 || skip_cfws(ps) < 0)
            return -1;
    }
}

/* parse_route - obs-route "@a,@b:" after '<'; the domains are dropped. */
static int parse_route(struct parser *ps)
{
    struct sbuf scratch = {0};
    size_t ndomains = 0;
    bool need_comma = false;
    unsigned c;
    int rc = -1;

    for (;;) {
        if (skip_cfws(ps) < 0)
            break;
        c = peek(ps);
        if (c == ',') {
            ps->p++;
            need_comma = false;
            continue;
        }
        if (c == ':' && ndomains > 0) {
            ps->p++;
            rc = 0;
            break;
        }
        if (c != '@' || need_comma) {
            fail(ps, "invalid source route");
            break;
        }
        ps->p++;
        scratch.len = 0;
        if (parse_domain(ps, &scratch) < 0)
            break;
        ndomains++;
        need_comma = true;
    }
    free(scratch.s);
    return rc;
}

/* fill_addr - hand the three strings to *a (the null sender if all empty). */
static int fill_addr(struct parser *ps, struct addr *a, struct sbuf *written,
                     struct sbuf *local, struct sbuf *domain)
{
    a->is_null = written->len == 0;
    a->written = sbuf_take(written);
    a->local = sbuf_take(local);
    a->domain = sbuf_take(domain);
    if (a->written == NULL || a->local == NULL || a->domain == NULL) {
        addr_free(a);
        return fail(ps, E_NOMEM);
    }
    return 0;
}

/* finish_spec - check the local part in *w, parse "@" domain, fill *a. */
static int finish_spec(struct parser *ps, struct words *w, struct addr *a)
{
    struct sbuf dom = {0};

    if (w->ntok == 0)
        return fail(ps, "empty local part");
    if (w->adjacent)
        return fail(ps, "invalid local part");
    if (w->bad_dot || w->last == TOK_DOT)
        return fail(ps, "invalid dot in local part");
    if (w->local.len == 0)
        return fail(ps, "empty local part");
    ps->p++; /* '@' */
    if (parse_domain(ps, &dom) < 0 || sbuf_add(ps, &w->written, "@", 1) < 0 ||
        sbuf_add(ps, &w->written, dom.s, dom.len) < 0) {
        free(dom.s);
        return -1;
    }
    return fill_addr(ps, a, &w->written, &w->local, &dom);
}

/* parse_spec - an addr-spec at the cursor. */
static int parse_spec(struct parser *ps, struct addr *a)
{
    struct words w = {0};
    unsigned c;
    int rc = -1;

    if (scan_words(ps, &w) == 0) {
        c = peek(ps);
        if (c == '@')
            rc = finish_spec(ps, &w, a);
        else if (w.ntok > 0 && (c == 0 || c == '>' || c == ',' || c == ';'))
            rc = fail(ps, "missing @");
        else
            rc = fail(ps, unexpected(c));
    }
    words_free(&w);
    return rc;
}

/* parse_angle - angle-addr or obs-angle-addr at '<'. */
static int parse_angle(struct parser *ps, struct addr *a)
{
    unsigned c;

    ps->p++;
    if (skip_cfws(ps) < 0)
        return -1;
    c = peek(ps);
    if (c == '>')
        return fail(ps, "empty address");
    if ((c == '@' || c == ',') && parse_route(ps) < 0)
        return -1;
    if (skip_cfws(ps) < 0)
        return -1;
    if ((c = peek(ps)) == 0 || c == '>')
        return fail(ps, c ? "empty address" : "unbalanced '<'");
    if (parse_spec(ps, a) < 0)
        return -1;
    if (skip_cfws(ps) < 0 || (c = peek(ps)) != '>') {
        addr_free(a);
        return ps->error ? -1 : fail(ps, c ? "expected '>'" : "unbalanced '<'");
    }
    ps->p++;
    return 0;
}

/* list_push - move *a to the end of *l. */
static int list_push(struct parser *ps, struct addr_list *l, struct addr *a)
{
    struct addr *v;
    size_t cap;

    if (l->n >= HM_ADDR_MAX_LIST) {
        addr_free(a);
        return fail(ps, "too many addresses");
    }
    if (l->n == l->cap) {
        cap = l->cap ? l->cap * 2 : 4;
        if (cap > SIZE_MAX / sizeof(*v) ||
            (v = realloc(l->v, cap * sizeof(*v))) == NULL) {
            addr_free(a);
            return fail(ps, E_NOMEM);
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = *a;
    memset(a, 0, sizeof(*a));
    return 0;
}

/*
 * parse_item - one mailbox (appended to *l) or the display name and ':'
 * that open a group (*group_r set).
 */
static int parse_item(struct parser *ps, struct addr_list *l, bool *group_r)
{
    struct words w = {0};
    struct addr a = {0};
    unsigned c;
    int rc = -1;

    *group_r = false;
    if (scan_words(ps, &w) < 0)
        goto out;
    c = peek(ps);
    if ((c == '<' || c == ':') && w.ntok > 0 && w.first != TOK_WORD) {
        fail(ps, "invalid display name");
    } else if (c == '<') {
        if (parse_angle(ps, &a) == 0)
            rc = list_push(ps, l, &a);
    } else if (c == ':') {
        if (w.ntok == 0) {
            fail(ps, "missing group name");
        } else {
            ps->p++;
            *group_r = true;
            rc = 0;
        }
    } else if (c == '@') {
        if (finish_spec(ps, &w, &a) == 0)
            rc = list_push(ps, l, &a);
    } else {
        fail(ps, w.ntok > 0 && (c == 0 || c == ',' || c == ';') ? "missing @"
                                                                : unexpected(c));
    }
out:
    words_free(&w);
    return rc;
}

/* expect_separator - after an address: ',', end, or ';' inside a group. */
static int expect_separator(struct parser *ps, bool in_group)
{
    unsigned c;

    if (skip_cfws(ps) < 0)
        return -1;
    c = peek(ps);
    if (c == 0 || (c == ';' && in_group))
        return 0;
    if (c == ',') {
        ps->p++;
        return 0;
    }
    if (is_atext(c) || c == '"' || c == '<' || c == '.')
        return fail(ps, "expected ',' between addresses");
    return fail(ps, unexpected(c));
}

/* parse_elements - the address-list state machine. */
static int parse_elements(struct parser *ps, struct addr_list *l)
{
    bool in_group = false, group;

    for (;;) {
        if (skip_cfws(ps) < 0)
            return -1;
        switch (peek(ps)) {
        case 0:
            return in_group ? fail(ps, "unterminated group") : 0;
        case ',': /* obs-addr-list, obs-mbox-list, obs-group-list */
            ps->p++;
            continue;
        case ';':
            if (!in_group)
                return fail(ps, "unexpected ';'");
            ps->p++;
            in_group = false;
            if (expect_separator(ps, false) < 0)
                return -1;
            continue;
        }
        if (parse_item(ps, l, &group) < 0)
            return -1;
        if (group && in_group)
            return fail(ps, "nested group");
        if (group)
            in_group = true;
        else if (expect_separator(ps, in_group) < 0)
            return -1;
    }
}

/* list_append - move every address of *src to the end of *dst. */
static int list_append(struct parser *ps, struct addr_list *dst, struct addr_list *src)
{
    struct addr *v;

    if (src->n == 0)
        return 0;
    if (dst->v == NULL) {
        *dst = *src;
        memset(src, 0, sizeof(*src));
        return 0;
    }
    if (dst->cap - dst->n < src->n) {
        if (src->n > SIZE_MAX / sizeof(*v) - dst->n)
            return fail(ps, E_NOMEM);
        if ((v = realloc(dst->v, (dst->n + src->n) * sizeof(*v))) == NULL)
            return fail(ps, E_NOMEM);
        dst->v = v;
        dst->cap = dst->n + src->n;
    }
    memcpy(dst->v + dst->n, src->v, src->n * sizeof(*v));
    dst->n += src->n;
    free(src->v);
    memset(src, 0, sizeof(*src));
    return 0;
}

int addr_parse_list(const char *in, size_t len, struct addr_list *out,
                    const char **error_r)
{
    struct addr_list tmp = {0};
    struct parser ps;

    if (out == NULL)
        return fail_r(error_r, "no output");
    if (parser_start(&ps, in, len, false) < 0 || parse_elements(&ps, &tmp) < 0 ||
        list_append(&ps, out, &tmp) < 0) {
        addr_list_free(&tmp);
        return fail_r(error_r, ps.error);
    }
    addr_list_free(&tmp);
    return 0;
}

/* parse_envelope - the trimmed MAIL FROM argument, strictly. */
static int parse_envelope(struct parser *ps, struct addr *a)
{
    unsigned c;

    if (ps->p == ps->end)
        return fail(ps, "empty address");
    if (ps->end - ps->p == 2 && ps->p[0] == '<' && ps->p[1] == '>') {
        ps->p = ps->end;
        return fill_addr(ps, a, &(struct sbuf){0}, &(struct sbuf){0}, &(struct sbuf){0});
    }
    if (*ps->p == '<' ? parse_angle(ps, a) < 0 : parse_spec(ps, a) < 0)
        return -1;
    if ((c = peek(ps)) != 0) {
        addr_free(a);
        return fail(ps, c == '>' ? unexpected(c) : "unexpected text after address");
    }
    return 0;
}

int addr_parse_envelope(const char *in, size_t len, struct addr *out,
                        const char **error_r)
{
    struct addr a = {0};
    struct parser ps;

    if (out == NULL)
        return fail_r(error_r, "no output");
    memset(out, 0, sizeof(*out));
    if (parser_start(&ps, in, len, true) < 0)
        return fail_r(error_r, ps.error);
    while (ps.p < ps.end && (*ps.p == ' ' || *ps.p == '\t'))
        ps.p++;
    while (ps.end > ps.p && (ps.end[-1] == ' ' || ps.end[-1] == '\t'))
        ps.end--;
    if (parse_envelope(&ps, &a) < 0)
        return fail_r(error_r, ps.error);
    *out = a;
    return 0;
}

static int hex_value(unsigned c)
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
            if (len - i < 3 || (hi = hex_value(in[i + 1])) < 0 ||
                (lo = hex_value(in[i + 2])) < 0)
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

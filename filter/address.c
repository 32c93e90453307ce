/*
 * NAME
 *	address - parse envelope senders and RFC 5322 address lists
 *
 * SUMMARY
 *	addr_parse_envelope(), addr_parse_list(), addr_parse_shown()
 *
 * DESCRIPTION
 *	addr_parse_envelope() parses the MAIL FROM argument as an MTA hands it
 *	to a milter; addr_parse_list() parses a header field body (RFC 5322
 *	section 3.4 address-list with groups, comments, folding and the
 *	obsolete forms of section 4); addr_parse_shown() parses it as a
 *	recipient's mail client shows it. This file is the grammar: domains,
 *	source routes, addr-spec, angle-addr, groups and lists. The lexical
 *	layer is in address_lex.c; what clients read otherwise in
 *	address_shown.c; the addresses names show in address_name.c, with
 *	RFC 2047 in address_rfc2047.c; addr_xtext_decode(),
 *	addr_base_length(), addr_same_text() and the free functions are in
 *	address_text.c.
 *
 *	Every input is checked whole by addr_lex_start() before it is parsed:
 *	longer than HM_ADDR_MAX_INPUT or any NUL byte is refused, and so is
 *	any byte sequence that is not well-formed UTF-8 (RFC 6532) in an
 *	envelope address or in an address of a header field; legacy 8-bit
 *	text around it (a Latin-1 display name or comment) is only text.
 *	Bytes of 0x80 and above are then accepted wherever atext, qtext,
 *	ctext or dtext is. Control characters are refused in quoted strings and domain
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
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "address_lex.h"

/* fail_r - report msg through error_r (which may be NULL). */
static int fail_r(const char **error_r, const char *msg)
{
    if (error_r != NULL)
        *error_r = msg;
    return -1;
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

/* parse_literal - a domain literal at '['; blanks inside are dropped. */
static int parse_literal(struct addr_lex_parser *ps, struct addr_lex_sbuf *dom)
{
    unsigned c;
    size_t n;

    if (addr_lex_sbuf_add(ps, dom, "[", 1) < 0)
        return -1;
    for (ps->p++; (c = addr_lex_peek(ps)) != ']'; ps->p += n) {
        n = 1;
        if (c == 0)
            return addr_lex_fail(ps, "unterminated domain literal");
        if (addr_lex_is_wsp(c) && !ps->strict)
            continue;
        if (c == '[' || addr_lex_is_wsp(c))
            return addr_lex_fail(ps, "invalid domain literal");
        if (addr_lex_is_ctl(c))
            return addr_lex_fail(ps, "control character");
        if (c == '\\') {
            if (ps->end - ps->p < 2)
                return addr_lex_fail(ps, "unterminated domain literal");
            if (addr_lex_is_ctl(ps->p[1]) && ps->p[1] != '\t')
                return addr_lex_fail(ps, "invalid quoted-pair");
            n = 2;
        }
        if (addr_lex_sbuf_add(ps, dom, ps->p, n) < 0)
            return -1;
    }
    if (dom->len == 1)
        return addr_lex_fail(ps, "empty domain");
    ps->p++;
    if (addr_lex_sbuf_add(ps, dom, "]", 1) < 0)
        return -1;
    return addr_lex_skip_cfws(ps);
}

/*
 * parse_domain - dot-atom, domain literal or obs-domain, after '@'.
 * *INNER_R (unless NULL) gets ps->bad_comments as it was right after the
 * last atom: comments up to there were inside the domain; *SPACED_R
 * (unless NULL) is set when blanks or comments came before it.
 */
static int parse_domain(struct addr_lex_parser *ps, struct addr_lex_sbuf *dom,
                        unsigned *inner_r, bool *spaced_r)
{
    const unsigned char *before = ps->p;
    unsigned c;
    bool first;

    if (addr_lex_skip_cfws(ps) < 0)
        return -1;
    if (inner_r != NULL)
        *inner_r = ps->bad_comments;
    if (spaced_r != NULL)
        *spaced_r = ps->p != before;
    if (addr_lex_peek(ps) == '[')
        return ps->shown ? addr_lex_fail(ps, "domain literal") : parse_literal(ps, dom);
    for (first = true;; first = false) {
        c = addr_lex_peek(ps);
        if (!addr_lex_is_atext(c))
            return addr_lex_fail(ps, first && c != '.' ? "empty domain"
                                                       : "invalid dot in domain");
        if (addr_lex_scan_atom(ps, dom, NULL) < 0)
            return -1;
        if (inner_r != NULL)
            *inner_r = ps->bad_comments;
        before = ps->p;
        if (addr_lex_skip_cfws(ps) < 0)
            return -1;
        if (addr_lex_peek(ps) != '.')
            return 0;
        if (spaced_r != NULL && ps->p != before)
            *spaced_r = true;
        ps->p++;
        before = ps->p;
        if (addr_lex_sbuf_add(ps, dom, ".", 1) < 0 || addr_lex_skip_cfws(ps) < 0)
            return -1;
        if (spaced_r != NULL && ps->p != before)
            *spaced_r = true;
    }
}

/* parse_route - obs-route "@a,@b:" after '<'; the domains are dropped. */
static int parse_route(struct addr_lex_parser *ps)
{
    struct addr_lex_sbuf scratch = {0};
    size_t ndomains = 0;
    bool need_comma = false;
    unsigned c;
    int rc = -1;

    if (ps->shown) /* clients show the route's domains as senders */
        return addr_lex_fail(ps, "source route");
    for (;;) {
        if (addr_lex_skip_cfws(ps) < 0)
            break;
        c = addr_lex_peek(ps);
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
            addr_lex_fail(ps, "invalid source route");
            break;
        }
        ps->p++;
        scratch.len = 0;
        if (parse_domain(ps, &scratch, NULL, NULL) < 0)
            break;
        ndomains++;
        need_comma = true;
    }
    free(scratch.s);
    return rc;
}

/* fill_addr - hand the three strings to *a (the null sender if all empty). */
static int fill_addr(struct addr_lex_parser *ps, struct addr *a,
                     struct addr_lex_sbuf *written, struct addr_lex_sbuf *local,
                     struct addr_lex_sbuf *domain)
{
    a->is_null = written->len == 0;
    a->written = addr_lex_sbuf_take(written);
    a->local = addr_lex_sbuf_take(local);
    a->domain = addr_lex_sbuf_take(domain);
    if (a->written == NULL || a->local == NULL || a->domain == NULL) {
        addr_free(a);
        return addr_lex_fail(ps, HM_LEX_E_NOMEM);
    }
    return 0;
}

/*
 * finish_spec - check the local part in *w, parse "@" domain, fill *a.
 * BAD0 is ps->bad_comments before the local part: a comment counted since,
 * up to the domain's last atom, was inside the addr-spec.
 */
static int finish_spec(struct addr_lex_parser *ps, struct addr_lex_words *w,
                       struct addr *a, unsigned bad0)
{
    struct addr_lex_sbuf dom = {0};
    const char *err;
    unsigned inner;
    bool spaced;

    if (w->ntok == 0)
        return addr_lex_fail(ps, "empty local part");
    if (w->adjacent)
        return addr_lex_fail(ps, "invalid local part");
    if (w->bad_dot || w->last == HM_LEX_TOK_DOT)
        return addr_lex_fail(ps, "invalid dot in local part");
    if (w->local.len == 0)
        return addr_lex_fail(ps, "empty local part");
    ps->p++; /* '@' */
    if (parse_domain(ps, &dom, &inner, &spaced) < 0 ||
        addr_lex_sbuf_add(ps, &w->written, "@", 1) < 0 ||
        addr_lex_sbuf_add(ps, &w->written, dom.s, dom.len) < 0) {
        free(dom.s);
        return -1;
    }
    if (ps->shown && (err = addr_lex_shown_spec_error(ps, w, dom.s, inner != bad0,
                                                      spaced || w->spaced)) != NULL) {
        free(dom.s);
        return addr_lex_fail(ps, err);
    }
    return fill_addr(ps, a, &w->written, &w->local, &dom);
}

/* parse_spec - an addr-spec at the cursor. */
static int parse_spec(struct addr_lex_parser *ps, struct addr *a)
{
    struct addr_lex_words w = {0};
    unsigned bad0 = ps->bad_comments, c;
    int rc = -1;

    if (addr_lex_scan_words(ps, &w) == 0) {
        c = addr_lex_peek(ps);
        if (c == '@')
            rc = finish_spec(ps, &w, a, bad0);
        else if (w.ntok > 0 && (c == 0 || c == '>' || c == ',' || c == ';'))
            rc = addr_lex_fail(ps, "missing @");
        else
            rc = addr_lex_fail(ps, unexpected(c));
    }
    addr_lex_words_free(&w);
    return rc;
}

/* parse_angle - angle-addr or obs-angle-addr at '<'. */
static int parse_angle(struct addr_lex_parser *ps, struct addr *a)
{
    unsigned c;

    ps->p++;
    ps->in_addr = ps->shown;
    if (addr_lex_skip_cfws(ps) < 0)
        return -1;
    c = addr_lex_peek(ps);
    if (c == '>')
        return addr_lex_fail(ps, "empty address");
    if ((c == '@' || c == ',') && parse_route(ps) < 0)
        return -1;
    if (addr_lex_skip_cfws(ps) < 0)
        return -1;
    if ((c = addr_lex_peek(ps)) == 0 || c == '>')
        return addr_lex_fail(ps, c ? "empty address" : "unbalanced '<'");
    if (parse_spec(ps, a) < 0)
        return -1;
    if (addr_lex_skip_cfws(ps) < 0 || (c = addr_lex_peek(ps)) != '>') {
        addr_free(a);
        return ps->error ? -1 : addr_lex_fail(ps, c ? "expected '>'" : "unbalanced '<'");
    }
    ps->p++;
    ps->in_addr = false;
    return 0;
}

/*
 * spec_or_name - the addr-spec *A just read, unless an angle-addr follows:
 * then, as Thunderbird and mutt read "a@b <c@d>", the addr-spec was the
 * display name, and as Python reads it, the address; it is kept as one a
 * name shows (in_name) when names are checked.
 */
static int spec_or_name(struct addr_lex_parser *ps, struct addr_list *l, struct addr *a,
                        const unsigned char *start)
{
    if (!ps->shown || addr_lex_skip_cfws(ps) < 0 || addr_lex_peek(ps) != '<')
        return ps->error ? -1 : addr_lex_list_push(ps, l, a);
    a->in_name = true;
    if (ps->names ? addr_lex_list_push(ps, l, a) < 0 : (addr_free(a), false))
        return -1;
    if (addr_lex_add_span(ps, start, (size_t)(ps->p - start), false) < 0 ||
        parse_angle(ps, a) < 0)
        return -1;
    return addr_lex_list_push(ps, l, a);
}

/* group_name - the display name before ':' that opens a group. */
static int group_name(struct addr_lex_parser *ps, const struct addr_lex_words *w,
                      const unsigned char *start)
{
    if (w->ntok == 0)
        return addr_lex_fail(ps, "missing group name");
    if (ps->no_group) /* RFC 5322 allows none; mutt shows its name as the author */
        return addr_lex_fail(ps, "group in a From: or Sender: field");
    if (addr_lex_add_span(ps, start, (size_t)(ps->p - start), false) < 0)
        return -1;
    ps->p++;
    return 0;
}

/*
 * parse_item - one mailbox (appended to *l) or the display name and ':'
 * that open a group (*group_r set). BAD0 is ps->bad_comments before the
 * CFWS that led here.
 */
static int parse_item(struct addr_lex_parser *ps, struct addr_list *l, unsigned bad0,
                      bool *group_r)
{
    const unsigned char *start = ps->p;
    struct addr_lex_words w = {0};
    struct addr a = {0};
    unsigned c;
    int rc = -1;

    *group_r = false;
    if (addr_lex_scan_words(ps, &w) < 0)
        goto out;
    c = addr_lex_peek(ps);
    if ((c == '<' || c == ':') && w.ntok > 0 && w.first != HM_LEX_TOK_WORD) {
        addr_lex_fail(ps, "invalid display name");
    } else if (c == '<') {
        if (addr_lex_add_span(ps, start, (size_t)(ps->p - start), false) == 0 &&
            parse_angle(ps, &a) == 0)
            rc = addr_lex_list_push(ps, l, &a);
    } else if (c == ':') {
        if ((rc = group_name(ps, &w, start)) == 0)
            *group_r = true;
    } else if (c == '@') {
        if (finish_spec(ps, &w, &a, bad0) == 0)
            rc = spec_or_name(ps, l, &a, start);
    } else {
        addr_lex_fail(ps, w.ntok > 0 && (c == 0 || c == ',' || c == ';') ? "missing @"
                                                                         : unexpected(c));
    }
out:
    addr_free(&a);
    addr_lex_words_free(&w);
    return rc;
}

/* expect_separator - after an address: ',', end, or ';' inside a group. */
static int expect_separator(struct addr_lex_parser *ps, bool in_group)
{
    unsigned c;

    if (addr_lex_skip_cfws(ps) < 0)
        return -1;
    c = addr_lex_peek(ps);
    if (c == 0 || (c == ';' && in_group))
        return 0;
    if (c == ',') {
        ps->p++;
        return 0;
    }
    if (addr_lex_is_atext(c) || c == '"' || c == '<' || c == '.')
        return addr_lex_fail(ps, "expected ',' between addresses");
    return addr_lex_fail(ps, unexpected(c));
}

/* parse_elements - the address-list state machine. */
static int parse_elements(struct addr_lex_parser *ps, struct addr_list *l)
{
    bool in_group = false, group;
    unsigned bad0;

    for (;;) {
        bad0 = ps->bad_comments;
        if (addr_lex_skip_cfws(ps) < 0)
            return -1;
        switch (addr_lex_peek(ps)) {
        case 0:
            return in_group ? addr_lex_fail(ps, "unterminated group") : 0;
        case ',': /* obs-addr-list, obs-mbox-list, obs-group-list */
            ps->p++;
            continue;
        case ';':
            if (!in_group)
                return addr_lex_fail(ps, "unexpected ';'");
            ps->p++;
            in_group = false;
            if (expect_separator(ps, false) < 0)
                return -1;
            continue;
        }
        if (parse_item(ps, l, bad0, &group) < 0)
            return -1;
        if (group && in_group)
            return addr_lex_fail(ps, "nested group");
        if (group)
            in_group = true;
        else if (expect_separator(ps, in_group) < 0)
            return -1;
    }
}

/* list_append - move every address of *src to the end of *dst. */
static int list_append(struct addr_lex_parser *ps, struct addr_list *dst,
                       struct addr_list *src)
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
            return addr_lex_fail(ps, HM_LEX_E_NOMEM);
        if ((v = realloc(dst->v, (dst->n + src->n) * sizeof(*v))) == NULL)
            return addr_lex_fail(ps, HM_LEX_E_NOMEM);
        dst->v = v;
        dst->cap = dst->n + src->n;
    }
    memcpy(dst->v + dst->n, src->v, src->n * sizeof(*v));
    dst->n += src->n;
    free(src->v);
    memset(src, 0, sizeof(*src));
    return 0;
}

/* ascii - whether S holds ASCII only. */
static bool ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/*
 * Every address of L must be well-formed UTF-8 (other text may be 8-bit).
 * When the field is not UTF-8 as a whole, Thunderbird reads all of it as
 * ISO-8859-1: then a client may show a UTF-8 address otherwise (shown).
 */
static int list_utf8(struct addr_lex_parser *ps, const struct addr_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++) {
        if (!addr_lex_valid_utf8(l->v[i].written, strlen(l->v[i].written)))
            return addr_lex_fail(ps, "invalid UTF-8");
        if (ps->shown && !ps->utf8 && !ascii(l->v[i].written))
            return addr_lex_fail(ps, "8-bit address in a field that is not UTF-8");
    }
    return 0;
}

/* parse_whole - the list in *PS into *OUT; *PS is set up and ended here. */
static int parse_whole(struct addr_lex_parser *ps, struct addr_list *out,
                       const char **error_r)
{
    const unsigned char *in = ps->p, *end = ps->end;
    struct addr_list tmp = {0};
    int rc = 0;

    if (parse_elements(ps, &tmp) < 0 ||
        (ps->shown && addr_lex_shown_whole(ps, in, end) < 0) || list_utf8(ps, &tmp) < 0 ||
        addr_lex_names_scan(ps, &tmp) < 0 || list_append(ps, out, &tmp) < 0)
        rc = fail_r(error_r, ps->error);
    addr_list_free(&tmp);
    addr_lex_end(ps);
    return rc;
}

/* parse_field - a header field body, as RFC 5322 reads it or (SHOWN) as
 * clients show it, with the flags of addr_parse_shown(). */
static int parse_field(const char *in, size_t len, bool shown, unsigned flags,
                       struct addr_list *out, const char **error_r)
{
    struct addr_lex_parser ps;

    if (out == NULL)
        return fail_r(error_r, "no output");
    if (addr_lex_start(&ps, in, len, false) < 0)
        return fail_r(error_r, ps.error);
    if (shown && !(flags & HM_ADDR_NO_PLAIN)) {
        int rc = addr_lex_plain(&ps, out);

        if (rc != 0)
            return rc < 0 ? fail_r(error_r, ps.error) : 0;
    }
    ps.utf8 = addr_lex_valid_utf8(in, len);
    ps.shown = shown;
    ps.names = shown && (flags & HM_ADDR_NAMES) != 0;
    ps.no_group = shown && (flags & HM_ADDR_NO_GROUP) != 0;
    return parse_whole(&ps, out, error_r);
}

int addr_parse_list(const char *in, size_t len, struct addr_list *out,
                    const char **error_r)
{
    return parse_field(in, len, false, 0, out, error_r);
}

int addr_parse_shown(const char *in, size_t len, unsigned flags, struct addr_list *out,
                     const char **error_r)
{
    return parse_field(in, len, true, flags, out, error_r);
}

/* parse_envelope - the trimmed MAIL FROM argument, strictly. */
static int parse_envelope(struct addr_lex_parser *ps, struct addr *a)
{
    unsigned c;

    if (ps->p == ps->end)
        return addr_lex_fail(ps, "empty address");
    if (ps->end - ps->p == 2 && ps->p[0] == '<' && ps->p[1] == '>') {
        ps->p = ps->end;
        return fill_addr(ps, a, &(struct addr_lex_sbuf){0}, &(struct addr_lex_sbuf){0},
                         &(struct addr_lex_sbuf){0});
    }
    if (*ps->p == '<' ? parse_angle(ps, a) < 0 : parse_spec(ps, a) < 0)
        return -1;
    if ((c = addr_lex_peek(ps)) != 0) {
        addr_free(a);
        return addr_lex_fail(ps,
                             c == '>' ? unexpected(c) : "unexpected text after address");
    }
    return 0;
}

int addr_parse_envelope(const char *in, size_t len, struct addr *out,
                        const char **error_r)
{
    struct addr a = {0};
    struct addr_lex_parser ps;

    if (out == NULL)
        return fail_r(error_r, "no output");
    memset(out, 0, sizeof(*out));
    if (addr_lex_start(&ps, in, len, true) < 0)
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

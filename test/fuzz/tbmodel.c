/*
 * NAME
 *	tbmodel - Thunderbird's reading of an address header, for the fuzzer
 *
 * SUMMARY
 *	tb_read() returns the mailboxes and group names Thunderbird's address
 *	parser finds in a header field value; tb_name_addresses() the
 *	addresses that a name shows to its reader.
 *
 * DESCRIPTION
 *	A port to C of parseAddressingHeader(value, false) of Thunderbird's
 *	jsmime headerParser.js, as packaged in @protontech/jsmimeparser 3.0.2
 *	(the oracle of test/differential), with the parts it is made of:
 *	getHeaderTokens() (quoted strings, comments, domain literals, the
 *	delimiters ":,;<>@", a backslash that skips the next code unit
 *	wherever it is, an unterminated quoted string closed at the end),
 *	cleanToken(), the name, local part and address built with the
 *	needsSpace, comment and lastComment rules, addToAddrList() (the local
 *	part quoted again when it needs to be, the last comment as the name
 *	of a mailbox without one) and groups. It shares no code with the
 *	product's parsers: the fuzz harness checks those against it.
 *
 *	RFC 2047 decoding is off. A client that does not decode encoded words
 *	is a reader too, and decoding here would need the product's own
 *	decoder or a second one to test.
 *
 *	The value is taken as the differential layer hands it to the oracle:
 *	the caller removes CR and LF; blanks (TAB, LF, VT, FF, CR, SP) are
 *	trimmed from both ends; a value with a byte of 0x80 or above is
 *	decoded from UTF-8 as TextDecoder does (each maximal invalid
 *	subsequence becomes U+FFFD, a leading BOM is dropped). The oracle
 *	trims its text as Latin-1 and so also drops a final byte 0xA0, which
 *	breaks a UTF-8 sequence; no client reads the bytes that way, and this
 *	model does not.
 *
 *	Text is kept in UTF-16 code units as JavaScript keeps it: a backslash
 *	skips one unit, half of a surrogate pair, and a token can then begin
 *	with a lone low surrogate. Results are UTF-8; a lone surrogate is
 *	written as its three-byte form, which no well-formed UTF-8 holds.
 *
 *	A comment is kept after it ends, and each stray ")" appends it to the
 *	name again: the parser's output can be quadratic in its input. A
 *	reading that would append more than TB_MAX_WORK code units in all is
 *	given up. Memory exhaustion aborts.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tbmodel.h"

/* The most code units one reading may append to its strings. */
#define TB_MAX_WORK (4u * 1024 * 1024)
#define NONE        SIZE_MAX

/* A string of UTF-16 code units, as JavaScript's. */
struct u16 {
    uint16_t *v;
    size_t n, cap;
};

struct mlist {
    struct tb_mailbox *v;
    size_t n, cap;
};

/* The state of parseAddressingHeader(), under its names. */
struct tb_parser {
    struct u16 name, group_name, local_part, address, comment, last_comment;
    bool in_angle, in_comment, needs_space, after_address, preserve_space, comment_closed;
    struct mlist addrlist, results; /* pending mailboxes; the reading's */
    char **groups;
    size_t n_groups, cap_groups;
    size_t budget; /* code units left to append */
    bool over;     /* the budget ran out */
};

/* grow - V (elements of SIZE bytes, room for *CAP) with room for WANT. */
static void *grow(void *v, size_t *cap, size_t want, size_t size)
{
    size_t c = *cap > 0 ? *cap : 8;

    while (c < want)
        c *= 2;
    if (c != *cap && (v = realloc(v, c * size)) == NULL) {
        fputs("tbmodel: out of memory\n", stderr);
        abort();
    }
    *cap = c;
    return v;
}

static void u16_add(struct u16 *s, const uint16_t *src, size_t n)
{
    s->v = grow(s->v, &s->cap, s->n + n, sizeof(*s->v));
    if (n > 0)
        memcpy(s->v + s->n, src, n * sizeof(*src));
    s->n += n;
}

/* u16_cp - append code point C, as a surrogate pair above U+FFFF. */
static void u16_cp(struct u16 *s, uint32_t c)
{
    uint16_t u[2] = {(uint16_t)c, 0};

    if (c >= 0x10000) {
        u[0] = (uint16_t)(0xd800 + ((c - 0x10000) >> 10));
        u[1] = (uint16_t)(0xdc00 + (c & 0x3ff));
    }
    u16_add(s, u, c >= 0x10000 ? 2 : 1);
}

/* cat - append within the reading's budget. */
static void cat(struct tb_parser *p, struct u16 *s, const uint16_t *src, size_t n)
{
    if (n > p->budget) {
        p->over = true;
        p->budget = 0;
        return;
    }
    p->budget -= n;
    u16_add(s, src, n);
}

static void set(struct tb_parser *p, struct u16 *s, const struct u16 *src)
{
    s->n = 0;
    cat(p, s, src->v, src->n);
}

static void put(struct tb_parser *p, struct u16 *s, uint16_t c)
{
    cat(p, s, &c, 1);
}

/* to_utf8 - V (N units) as a malloc'd UTF-8 string (lone surrogates too). */
static char *to_utf8(const uint16_t *v, size_t n)
{
    static const unsigned char lead[] = {0, 0, 0xc0, 0xe0, 0xf0};
    size_t cap = 0, i, k, len;
    unsigned char *out = grow(NULL, &cap, 3 * n + 1, 1), *o = out;
    uint32_t c;

    for (i = 0; i < n; i++, o += len) {
        c = v[i];
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < n && v[i + 1] >> 10 == 0xdc00 >> 10)
            c = 0x10000 + ((c - 0xd800) << 10) + (v[++i] - 0xdc00u);
        len = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        for (k = len - 1; k > 0; k--, c >>= 6)
            o[k] = (unsigned char)(0x80 | (c & 0x3f));
        o[0] = (unsigned char)(lead[len] | c);
    }
    *o = '\0';
    return (char *)out;
}

/*
 * decode - S (N bytes) from UTF-8 as TextDecoder does: each maximal
 * invalid subsequence is one U+FFFD, a leading BOM is dropped. WTF8: a
 * surrogate's three-byte form is a character, as to_utf8() writes it.
 */
static void decode(const unsigned char *s, size_t n, struct u16 *out, bool wtf8)
{
    unsigned b, need, lo, hi;
    uint32_t c;
    size_t i, k;

    for (i = 0; i < n; i += k) {
        b = s[i];
        need = b >= 0xf0 && b <= 0xf4   ? 3
               : b >= 0xe0 && b <= 0xef ? 2
                                        : b >= 0xc2 && b < 0xe0;
        lo = b == 0xe0 ? 0xa0 : b == 0xf0 ? 0x90 : 0x80;
        hi = b == 0xed && !wtf8 ? 0x9f : b == 0xf4 ? 0x8f : 0xbf;
        c = b < 0x80 ? b : b & (0x3fu >> need);
        for (k = 1; k <= need && i + k < n && s[i + k] >= lo && s[i + k] <= hi; k++)
            c = c << 6 | (s[i + k] & 0x3fu), lo = 0x80, hi = 0xbf;
        u16_cp(out, b < 0x80 || (need > 0 && k > need) ? c : 0xfffd);
    }
    if (!wtf8 && out->n > 0 && out->v[0] == 0xfeff)
        memmove(out->v, out->v + 1, --out->n * sizeof(*out->v));
}

/*
 * cleanToken()'s six replacements, in order, as rows STEP, LO, HI, LOW,
 * LOW_HI: units in LO..HI (with LOW 0), or the surrogate pair of LO and a
 * low half in LOW..LOW_HI, are removed or (steps 0, 4, 5) become a space.
 * 0 Zs; 1 the Mn that show blank; 2 U+E0100..U+E01EF; 3 Cc but TAB, LF
 * and CR; 4 Cf but U+0600..U+0605; 5 U+2800.
 */
static const uint16_t cleans[] = {
    0, 0xa0,   0xa0,   0,      0,      0, 0x1680, 0x1680, 0,      0,
    0, 0x2000, 0x200a, 0,      0,      0, 0x202f, 0x202f, 0,      0,
    0, 0x205f, 0x205f, 0,      0,      0, 0x3000, 0x3000, 0,      0,
    1, 0x34f,  0x34f,  0,      0,      1, 0x17b4, 0x17b5, 0,      0,
    1, 0x180b, 0x180d, 0,      0,      1, 0xfe00, 0xfe0f, 0,      0,
    2, 0xdb40, 0xdb40, 0xdd00, 0xddef, 3, 0,      8,      0,      0,
    3, 0xb,    0xc,    0,      0,      3, 0xe,    0x1f,   0,      0,
    3, 0x7f,   0x9f,   0,      0,      4, 0xad,   0xad,   0,      0,
    4, 0x61c,  0x61c,  0,      0,      4, 0x6dd,  0x6dd,  0,      0,
    4, 0x70f,  0x70f,  0,      0,      4, 0x8e2,  0x8e2,  0,      0,
    4, 0x180e, 0x180e, 0,      0,      4, 0x200b, 0x200f, 0,      0,
    4, 0x202a, 0x202e, 0,      0,      4, 0x2060, 0x2064, 0,      0,
    4, 0x2066, 0x206f, 0,      0,      4, 0xfeff, 0xfeff, 0,      0,
    4, 0xfff9, 0xfffb, 0,      0,      4, 0xd804, 0xd804, 0xdcbd, 0xdcbd,
    4, 0xd804, 0xd804, 0xdccd, 0xdccd, 4, 0xd80d, 0xd80d, 0xdc30, 0xdc38,
    4, 0xd82f, 0xd82f, 0xdca0, 0xdca3, 4, 0xd834, 0xd834, 0xdd73, 0xdd7a,
    4, 0xdb40, 0xdb40, 0xdc01, 0xdc01, 4, 0xdb40, 0xdb40, 0xdc20, 0xdc7f,
    5, 0x2800, 0x2800, 0,      0};

/* clean_token - cleanToken(): its replacements, one after the other. */
static void clean_token(struct u16 *t)
{
    const uint16_t *r, *end = cleans + sizeof(cleans) / sizeof(*cleans);
    unsigned step, c;
    size_t i, o, k;

    for (step = 0; step < 6; step++) {
        for (i = o = 0; i < t->n; i += k) {
            c = t->v[i];
            for (r = cleans, k = 0; (c < 0x20 || c > 0x7e) && r < end && k == 0; r += 5)
                if (r[0] == step && c >= r[1] && c <= r[2])
                    k = r[3] == 0                                                    ? 1
                        : i + 1 < t->n && t->v[i + 1] >= r[3] && t->v[i + 1] <= r[4] ? 2
                                                                                     : 0;
            if (k == 0)
                t->v[o++] = t->v[i], k = 1;
            else if (step == 0 || step >= 4)
                t->v[o++] = ' ';
        }
        t->n = o;
    }
}

/* js_space - JavaScript's \s, which is also what trim() removes. */
static bool js_space(unsigned c)
{
    return (c >= '\t' && c <= '\r') || c == ' ' || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000 || c == 0xfeff;
}

static void push_mailbox(struct mlist *l, char *name, char *email)
{
    l->v = grow(l->v, &l->cap, l->n + 1, sizeof(*l->v));
    l->v[l->n].name = name;
    l->v[l->n++].email = email;
}

/* commit - results = results.concat(addrlist); addrlist = []. */
static void commit(struct tb_parser *p)
{
    size_t i;

    for (i = 0; i < p->addrlist.n; i++)
        push_mailbox(&p->results, p->addrlist.v[i].name, p->addrlist.v[i].email);
    p->addrlist.n = 0;
}

/* end_group - the pending mailboxes go to the reading, in a group if named. */
static void end_group(struct tb_parser *p)
{
    if (p->group_name.n > 0) {
        p->groups = grow(p->groups, &p->cap_groups, p->n_groups + 1, sizeof(*p->groups));
        p->groups[p->n_groups++] = to_utf8(p->group_name.v, p->group_name.n);
    }
    commit(p);
}

/* add_mailbox - addToAddrList(name, address). */
static void add_mailbox(struct tb_parser *p)
{
    struct u16 spec = {0}, disp = {0}, *lc = &p->last_comment;
    const struct u16 *a = &p->address;
    size_t i, at = 0, off, n;
    bool quote = false, blank = false;

    for (i = a->n; i > 0 && at == 0; i--)
        if (a->v[i - 1] == '@')
            at = i; /* one past the last "@" */
    for (i = 0; at > 0 && i < at - 1; i++)
        quote = quote || (a->v[i] < 0x80 && a->v[i] != 0 &&
                          strchr(" !()<>[]:;@\\,\"", a->v[i]) != NULL);
    if (quote) {
        put(p, &spec, '"');
        for (i = 0; i < at - 1; i++) {
            if (a->v[i] == '\\' || a->v[i] == '"')
                put(p, &spec, '\\');
            put(p, &spec, a->v[i]);
        }
        put(p, &spec, '"');
        cat(p, &spec, a->v + at - 1, a->n - at + 1);
    } else {
        set(p, &spec, a);
    }
    for (i = 0; i < p->name.n; i++) {
        if (js_space(p->name.v[i])) {
            blank = disp.n > 0;
            continue;
        }
        if (blank)
            put(p, &disp, ' ');
        put(p, &disp, p->name.v[i]);
        blank = false;
    }
    if (disp.n == 0 && lc->n > 0) { /* the legacy "a@b (Name)" */
        off = lc->v[0] == ' ' ? 2 : 1;
        n = lc->n > off ? lc->n - off - 1 : 0;
        cat(p, &disp, lc->v + off, n);
    }
    if (disp.n > 0 || spec.n > 0)
        push_mailbox(&p->addrlist, to_utf8(disp.v, disp.n), to_utf8(spec.v, spec.n));
    free(spec.v);
    free(disp.v);
    p->name.n = p->local_part.n = p->address.n = p->last_comment.n = 0;
    p->in_angle = p->in_comment = p->needs_space = p->after_address = false;
}

/* spaced - append T (N units) after a space when SPACE. */
static void spaced(struct tb_parser *p, struct u16 *s, bool space, const uint16_t *t,
                   size_t n)
{
    if (space)
        put(p, s, ' ');
    cat(p, s, t, n);
}

/* step_text - a token that is no delimiter, cleaned: comment, address or name. */
static void step_text(struct tb_parser *p, const uint16_t *t, size_t n)
{
    bool space = p->needs_space && n > 0 && t[0] != '.';

    if (p->in_comment) {
        spaced(p, &p->comment, space, t, n);
    } else if (p->in_angle) {
        spaced(p, &p->address, space, t, n);
    } else {
        if (!p->after_address)
            spaced(p, &p->name, space, t, n);
        /* Never a space in the local part right after a comment. */
        spaced(p, &p->local_part, space && !p->comment_closed, t, n);
        p->comment_closed = false;
    }
    p->needs_space = n > 0 && t[0] != '.';
}

/* step - a delimiter token D (one of ":,;<>@()"). */
static void step(struct tb_parser *p, uint16_t d)
{
    static const uint16_t punct[] = {' ', '(', ')', '@'};

    if (d == ':') {
        set(p, &p->group_name, &p->name);
        p->name.n = p->local_part.n = 0;
        commit(p);
    } else if (d == '<' && !p->after_address) {
        if (p->in_angle) { /* what came before was a name */
            if (p->address.n > 0)
                set(p, &p->name, &p->address);
            p->local_part.n = p->address.n = 0;
        } else {
            p->in_angle = true;
        }
    } else if (d == '>' && !p->after_address) {
        p->in_angle = false;
        p->last_comment.n = 0;
        p->after_address = true;
    } else if (d == '(') {
        p->in_comment = true;
        p->preserve_space = p->needs_space;
        if (!p->needs_space)
            p->needs_space = p->name.n > 0 && p->name.v[p->name.n - 1] != ' ';
        p->comment.n = 0;
        cat(p, &p->comment, punct + !p->needs_space, 1 + p->needs_space);
        p->comment_closed = false;
    } else if (d == ')') { /* also a stray one: the last comment again */
        p->in_comment = false;
        cat(p, &p->comment, punct + 2, 1);
        set(p, &p->last_comment, &p->comment);
        if (p->in_angle) {
            p->needs_space = p->preserve_space;
        } else {
            cat(p, &p->name, p->comment.v, p->comment.n);
            p->needs_space = true;
        }
        p->comment_closed = true;
        return;
    } else if (d == '@') {
        if (p->after_address)
            return;
        if (!p->in_angle) { /* what came before was a local part */
            set(p, &p->address, &p->local_part);
            p->name.n = p->local_part.n = 0;
            p->in_angle = true;
        }
        cat(p, &p->address, punct + 3, 1);
    } else if (d == ',') {
        add_mailbox(p);
        p->after_address = false;
    } else if (d == ';') {
        add_mailbox(p);
        end_group(p);
        p->group_name.n = 0;
    } else { /* "<" or ">" after an angle-addr: text */
        step_text(p, &d, 1);
        return;
    }
    p->needs_space = false;
}

/* text - a token of N units at T: its quoted-pairs resolved, cleaned. */
static void text(struct tb_parser *p, struct u16 *tmp, const uint16_t *t, size_t n)
{
    size_t i;

    tmp->n = 0;
    for (i = 0; i < n; i++) {
        if (t[i] == '\\' && ++i == n)
            break;
        u16_add(tmp, t + i, 1);
    }
    clean_token(tmp);
    step_text(p, tmp->v, tmp->n);
}

/* tokens - getHeaderTokens(V, ":,;<>@", all but rfc2047), each to the parser. */
static void tokens(struct tb_parser *p, const uint16_t *v, size_t n)
{
    struct u16 tmp = {0};
    size_t i, start = NONE, depth = 0;
    uint16_t c, quote = 0;
    bool ending, starting, special;

    for (i = 0; i < n && !p->over; i++) {
        if ((c = v[i]) == '\\') { /* skips one unit, anywhere */
            i++;
            continue;
        }
        if (quote != 0) {
            if (c == quote && c == '"')
                text(p, &tmp, v + start + 1, i - start - 1);
            else if (c == quote) /* a domain literal keeps its [] */
                text(p, &tmp, v + start, i + 1 - start);
            if (c == quote)
                quote = 0, start = NONE;
            continue;
        }
        ending = starting = special = false;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            ending = true;
        } else if (depth == 0 && c != 0 && c < 0x80 && strchr(":,;<>@", c) != NULL) {
            ending = special = true;
        } else if (c == '"' || c == '[') {
            ending = starting = true;
            quote = c == '"' ? '"' : ']';
        } else if (c == '(') { /* only the outermost parentheses are delimiters */
            ending = special = ++depth == 1;
            starting = !special;
        } else if (c == ')') {
            depth -= depth > 0;
            ending = special = depth == 0;
            starting = !special;
        } else {
            starting = true;
        }
        if (ending && start != NONE) {
            text(p, &tmp, v + start, i - start);
            start = NONE;
        }
        if (special)
            step(p, c);
        if (starting && start == NONE)
            start = i;
    }
    if (start != NONE && !p->over) { /* an open quoted string ends here */
        if (quote == '"')
            start++;
        text(p, &tmp, v + start, n - start);
    }
    free(tmp.v);
}

int tb_read(const char *in, size_t len, struct tb_reading *out)
{
    struct tb_parser p;
    struct u16 value = {0};
    const unsigned char *s = (const unsigned char *)in;

    while (len > 0 && (*s == ' ' || (*s >= '\t' && *s <= '\r'))) /* trim() */
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || (s[len - 1] >= '\t' && s[len - 1] <= '\r')))
        len--;
    memset(&p, 0, sizeof(p));
    p.budget = TB_MAX_WORK;
    decode(s, len, &value, false);
    tokens(&p, value.v, value.n);
    add_mailbox(&p); /* a group without its ";" ends here */
    end_group(&p);
    free(value.v);
    free(p.name.v), free(p.group_name.v), free(p.local_part.v);
    free(p.address.v), free(p.comment.v), free(p.last_comment.v);
    free(p.addrlist.v);
    out->mbox = p.results.v, out->n_mbox = p.results.n;
    out->group = p.groups, out->n_group = p.n_groups;
    if (!p.over)
        return 0;
    tb_reading_free(out);
    return -1;
}

void tb_reading_free(struct tb_reading *r)
{
    size_t i;

    for (i = 0; i < r->n_mbox; i++) {
        free(r->mbox[i].name);
        free(r->mbox[i].email);
    }
    for (i = 0; i < r->n_group; i++)
        free(r->group[i]);
    free(r->mbox);
    free(r->group);
    memset(r, 0, sizeof(*r));
}

static bool is_at(unsigned c)
{
    return c == '@' || c == 0xff20 || c == 0xfe6b;
}

/* boundary - ends a local part or domain in a name (after cleaning). */
static bool boundary(unsigned c)
{
    return is_at(c) || c == 0x2028 || c == 0x2029 ||
           (c < 0x80 && c != 0 && strchr(" \t\r\n<>()[]{},;:\"'`\\", c) != NULL);
}

void tb_name_addresses(const char *name, tb_addr_fn *fn, void *arg)
{
    struct u16 t = {0};
    size_t i, j, k, e;
    char *local, *domain;

    decode((const unsigned char *)name, strlen(name), &t, true);
    clean_token(&t);
    for (i = 0; i < t.n; i++) {
        if (!is_at(t.v[i]))
            continue;
        for (j = i; j > 0 && !boundary(t.v[j - 1]); j--)
            ;
        for (k = i + 1; k < t.n && !boundary(t.v[k]); k++)
            ;
        for (e = k; e > i + 1 && t.v[e - 1] == '.'; e--)
            ;
        if (j == i || e == i + 1)
            continue;
        local = to_utf8(t.v + j, i - j);
        domain = to_utf8(t.v + i + 1, e - i - 1);
        fn(local, strlen(local), domain, strlen(domain), arg);
        free(local);
        free(domain);
    }
    free(t.v);
}

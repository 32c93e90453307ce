/*
 * address_lex.h - lexical layer of the address parser (private to it)
 *
 * Cursor, input check, CFWS, atoms and quoted strings, shared by
 * address.c. No globals: every function works on the state it is given.
 */
#ifndef HM_ADDRESS_LEX_H
#define HM_ADDRESS_LEX_H

#include <stdbool.h>
#include <stddef.h>

#define LEX_E_NOMEM "out of memory"

/* A growing NUL-terminated byte string. */
struct lex_sbuf {
    char *s;
    size_t len;
    size_t cap;
};

struct lex_parser {
    const unsigned char *p;   /* cursor */
    const unsigned char *end; /* one past the last byte */
    const char *error;        /* static message once something failed */
    bool strict;              /* envelope: no CFWS, no folding */
};

enum lex_tok { LEX_TOK_NONE, LEX_TOK_WORD, LEX_TOK_DOT };

/* The words and dots before '@', '<' or ':', read both ways at once. */
struct lex_words {
    struct lex_sbuf written; /* as written: quotes kept, CFWS dropped */
    struct lex_sbuf local;   /* quotes removed, quoted-pairs resolved */
    size_t ntok;
    enum lex_tok first;
    enum lex_tok last;
    bool bad_dot;  /* leading or doubled dot: no dot-atom, but a phrase */
    bool adjacent; /* two words without a dot between: a phrase only */
};

/* lex_fail - record the static message MSG in ps->error; returns -1. */
int lex_fail(struct lex_parser *ps, const char *msg);

/*
 * lex_sbuf_add - append N bytes of SRC to *B, keeping it NUL-terminated.
 * Returns 0, or -1 with ps->error set when memory runs out.
 */
int lex_sbuf_add(struct lex_parser *ps, struct lex_sbuf *b, const void *src, size_t n);

/*
 * lex_sbuf_take - hand over the malloc'd string of *B (an empty one if
 * nothing was added; NULL when out of memory) and zero *B.
 */
char *lex_sbuf_take(struct lex_sbuf *b);

/* lex_words_free - release both strings of *W and zero it. */
void lex_words_free(struct lex_words *w);

/*
 * lex_start - set up *PS over IN (LEN bytes; STRICT: no CFWS, no folding).
 * Returns 0, or -1 with ps->error set: too long, a NUL byte, bad UTF-8.
 */
int lex_start(struct lex_parser *ps, const char *in, size_t len, bool strict);

/* lex_valid_utf8 - whether LEN bytes at S are well-formed UTF-8. */
bool lex_valid_utf8(const char *s, size_t len);

/* lex_peek - the byte at the cursor, 0 at the end (input holds no NUL). */
unsigned lex_peek(const struct lex_parser *ps);

/* lex_is_wsp - true for blank, tab, CR and LF. */
bool lex_is_wsp(unsigned c);

/* lex_is_ctl - true for ASCII control characters, DEL included. */
bool lex_is_ctl(unsigned c);

/* lex_is_atext - RFC 5322 atext, plus any byte of 0x80 and above. */
bool lex_is_atext(unsigned c);

/*
 * lex_skip_cfws - skip blanks, CR, LF and (nested) comments; nothing when
 * ps->strict. Returns 0, or -1 with ps->error set (unbalanced comment).
 */
int lex_skip_cfws(struct lex_parser *ps);

/*
 * lex_scan_atom - copy the run of atext at the cursor to *DST (and *DST2
 * unless NULL) and move past it. Returns 0, or -1 with ps->error set.
 */
int lex_scan_atom(struct lex_parser *ps, struct lex_sbuf *dst, struct lex_sbuf *dst2);

/*
 * lex_scan_words - append words and dots with their CFWS to *W, up to the
 * first byte that is neither. Returns 0, or -1 with ps->error set.
 */
int lex_scan_words(struct lex_parser *ps, struct lex_words *w);

#endif

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
#include <stdint.h>

#define HM_LEX_E_NOMEM "out of memory"

/* A growing NUL-terminated byte string. */
struct addr_lex_sbuf {
    char *s;
    size_t len;
    size_t cap;
};

/* A part of the input a client may show as a name: a phrase or a comment. */
struct addr_lex_span {
    const unsigned char *p;
    size_t len;
    bool comment; /* the inside of a comment, parentheses excluded */
};

struct addr_lex_parser {
    const unsigned char *p;   /* cursor */
    const unsigned char *end; /* one past the last byte */
    const char *error;        /* static message once something failed */
    bool strict;              /* envelope: no CFWS, no folding */
    bool shown;               /* addr_parse_shown: refuse what clients read otherwise */
    bool in_addr;             /* inside an addr-spec or angle-addr (shown only) */
    bool names;               /* record display names and comments in spans */
    bool no_group;            /* a group is refused (From:, Sender:) */
    bool utf8;                /* the whole input is UTF-8 (shown only) */
    bool ew_gap;              /* addr_lex_rfc2047_decode() met words split by blanks */
    unsigned bad_comments;    /* comments seen that clients may read otherwise */
    unsigned last_bad;        /* the byte that made the last one so */
    struct addr_lex_span *spans; /* names: what clients may show as names */
    size_t nspans;
    size_t spans_cap;
};

enum addr_lex_tok { HM_LEX_TOK_NONE, HM_LEX_TOK_WORD, HM_LEX_TOK_DOT };

/* The words and dots before '@', '<' or ':', read both ways at once. */
struct addr_lex_words {
    struct addr_lex_sbuf written; /* as written: quotes kept, CFWS dropped */
    struct addr_lex_sbuf local;   /* quotes removed, quoted-pairs resolved */
    size_t ntok;
    enum addr_lex_tok first;
    enum addr_lex_tok last;
    bool bad_dot;  /* leading or doubled dot: no dot-atom, but a phrase */
    bool adjacent; /* two words without a dot between: a phrase only */
    bool quoted;   /* a quoted string among the words */
    bool spaced;   /* blanks or a comment after the first word */
};

/* addr_lex_fail - record the static message MSG in ps->error; returns -1. */
int addr_lex_fail(struct addr_lex_parser *ps, const char *msg);

/*
 * addr_lex_sbuf_add - append N bytes of SRC to *B, keeping it NUL-terminated.
 * Returns 0, or -1 with ps->error set when memory runs out.
 */
int addr_lex_sbuf_add(struct addr_lex_parser *ps, struct addr_lex_sbuf *b,
                      const void *src, size_t n);

/*
 * addr_lex_sbuf_take - hand over the malloc'd string of *B (an empty one if
 * nothing was added; NULL when out of memory) and zero *B.
 */
char *addr_lex_sbuf_take(struct addr_lex_sbuf *b);

/* addr_lex_words_free - release both strings of *W and zero it. */
void addr_lex_words_free(struct addr_lex_words *w);

/*
 * addr_lex_start - set up *PS over IN (LEN bytes; STRICT: no CFWS, no folding).
 * Returns 0, or -1 with ps->error set: too long, a NUL byte, bad UTF-8.
 */
int addr_lex_start(struct addr_lex_parser *ps, const char *in, size_t len, bool strict);

/* addr_lex_valid_utf8 - whether LEN bytes at S are well-formed UTF-8. */
bool addr_lex_valid_utf8(const char *s, size_t len);

/* addr_lex_peek - the byte at the cursor, 0 at the end (input holds no NUL). */
unsigned addr_lex_peek(const struct addr_lex_parser *ps);

/* addr_lex_is_wsp - true for blank, tab, CR and LF. */
bool addr_lex_is_wsp(unsigned c);

/* addr_lex_is_ctl - true for ASCII control characters, DEL included. */
bool addr_lex_is_ctl(unsigned c);

/* addr_lex_is_atext - RFC 5322 atext, plus any byte of 0x80 and above. */
bool addr_lex_is_atext(unsigned c);

/*
 * addr_lex_add_span - record LEN bytes at P (a phrase, or a comment's inside)
 * when ps->names. Returns 0, or -1 with ps->error set.
 */
int addr_lex_add_span(struct addr_lex_parser *ps, const unsigned char *p, size_t len,
                      bool comment);

/*
 * addr_lex_comment_refused - the static message for a comment inside an
 * address that holds C ('=' for an encoded word).
 */
const char *addr_lex_comment_refused(unsigned c);

/*
 * addr_lex_list_push - move *A to the end of *L (at most HM_ADDR_MAX_LIST).
 * Returns 0, or -1 with ps->error set; *A is freed either way.
 */
int addr_lex_list_push(struct addr_lex_parser *ps, struct addr_list *l, struct addr *a);

/*
 * addr_lex_plain - the everyday value ("a@b", "<a@b>", "Name <a@b>") in *PS,
 * read without the parser (address_plain.c): returns 1 with its address
 * appended to *L, 0 when the value is not one (the parser must read it),
 * or -1 with ps->error set when out of memory.
 */
int addr_lex_plain(struct addr_lex_parser *ps, struct addr_list *l);

/*
 * addr_lex_names_scan - append to *L every address that the spans recorded in
 * *PS show once decoded (RFC 2047) and read as a client shows a name;
 * each has in_name set. Returns 0, or -1 with ps->error set.
 */
int addr_lex_names_scan(struct addr_lex_parser *ps, struct addr_list *l);

/*
 * addr_lex_utf8_decode - the code point at P (N > 0 bytes left) in *CP;
 * its length, or 0 when no UTF-8 sequence starts there.
 */
size_t addr_lex_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

/* What a client makes of a character in a name (Thunderbird's cleaning). */
enum addr_lex_uclass {
    HM_LEX_SHOWN,   /* shown as itself */
    HM_LEX_DROPPED, /* dropped: C0 and C1 controls, invisible marks */
    HM_LEX_SPACE,   /* a space to every reader: Unicode spaces, line ends */
    HM_LEX_FORMAT,  /* a format character: a space, or nothing to some clients */
};

/* addr_lex_uclass - the class of code point CP. */
enum addr_lex_uclass addr_lex_uclass(uint32_t cp);

/*
 * addr_lex_has_invisible - whether S holds a character clients drop or show as
 * a space, though it is none (U+00A0, U+200B, U+FEFF, C1 controls, ...).
 * Bytes that are not UTF-8 are left to the UTF-8 check.
 */
bool addr_lex_has_invisible(const char *s);

/* How addr_lex_rfc2047_decode() reads: as RFC 2047 says unless these are set. */
#define HM_2047_KEEP_GAPS 0x1u /* Python: the blank between two words stays */
#define HM_2047_TB                                                                       \
    0x2u /* Thunderbird: blank-only text dropped, unknown                                \
            charsets left as written */

/*
 * addr_lex_rfc2047_decode - append to *OUT the text [S, S+N) with every RFC 2047
 * encoded word decoded to UTF-8, as HOW says; the white space between two
 * encoded words is dropped unless HM_2047_KEEP_GAPS. A word in a charset
 * iconv(3) does not know gives its raw bytes (Python) or, with HM_2047_TB,
 * stays as written; bytes that do not convert give the raw bytes. Where
 * readers would then show different 8-bit text, *UNCLEAR is set. Returns
 * 0, or -1 with ps->error set.
 */
int addr_lex_rfc2047_decode(struct addr_lex_parser *ps, const char *s, size_t n,
                            unsigned how, struct addr_lex_sbuf *out, bool *unclear);

/*
 * addr_lex_ew_atom - the length of the encoded word at P (before END) that a
 * header field's reader takes as one word, whatever specials its text
 * holds ('"', '<', '@', ...: Thunderbird and Python decode it before they
 * look for syntax); 0 when none starts there. No blank, control, 8-bit
 * byte, parenthesis or backslash inside.
 */
size_t addr_lex_ew_atom(const unsigned char *p, const unsigned char *end);

/*
 * addr_lex_rfc2047_misread - what makes an encoded word of the text [S, S+N)
 * read differently by clients: a blank, control, 8-bit byte, parenthesis
 * or backslash inside it (Thunderbird decodes "=?x?q?)?=" in a comment
 * where Python ends the comment), or base64
 * that is not padded (Thunderbird drops its last bytes), a word joined to
 * other text (Python does not decode it), or a "=?" that starts none
 * (Thunderbird then decodes from there as far as a later word reaches). A
 * static message, or NULL.
 */
const char *addr_lex_rfc2047_misread(const char *s, size_t n);

/*
 * addr_lex_rfc2047_word_end - whether P (before END) starts what Thunderbird
 * takes for an encoded word ("=?" any text but '?' "?" B or Q "?" any text
 * but '?' "?="); its text in *TEXT_R and its end in *END_R (unless NULL).
 */
bool addr_lex_rfc2047_word_end(const char *p, const char *end, const char **text_r,
                               const char **end_r);

/*
 * addr_lex_shown_spec_error - what a client reads otherwise in the addr-spec of
 * words *W "@" DOMAIN: COMMENT, a comment inside it holds a byte clients
 * misread (ps->last_bad); SPACED, blanks or comments inside it. A static
 * message, or NULL.
 */
const char *addr_lex_shown_spec_error(const struct addr_lex_parser *ps,
                                      const struct addr_lex_words *w, const char *domain,
                                      bool comment, bool spaced);

/*
 * addr_lex_shown_whole - what clients read otherwise in the whole field [IN,
 * END): encoded words they decode differently, line breaks that are no
 * folding, a backslash before a non-ASCII character. Returns 0, or -1
 * with ps->error set.
 */
int addr_lex_shown_whole(struct addr_lex_parser *ps, const unsigned char *in,
                         const unsigned char *end);

/* addr_lex_end - release what addr_lex_start() and the parse left in *PS. */
void addr_lex_end(struct addr_lex_parser *ps);

/*
 * addr_lex_skip_cfws - skip blanks, CR, LF and (nested) comments; nothing when
 * ps->strict. When ps->shown, a comment holding '"', '\\', '[', ']', '<',
 * '>', '@' or "=?" is counted in ps->bad_comments, and refused while
 * ps->in_addr; other comments are recorded as spans when ps->names.
 * Returns 0, or -1 with ps->error set (unbalanced or refused comment).
 */
int addr_lex_skip_cfws(struct addr_lex_parser *ps);

/*
 * addr_lex_scan_atom - copy the run of atext at the cursor to *DST (and *DST2
 * unless NULL) and move past it. Returns 0, or -1 with ps->error set.
 */
int addr_lex_scan_atom(struct addr_lex_parser *ps, struct addr_lex_sbuf *dst,
                       struct addr_lex_sbuf *dst2);

/*
 * addr_lex_scan_words - append words and dots with their CFWS to *W, up to the
 * first byte that is neither. Returns 0, or -1 with ps->error set.
 */
int addr_lex_scan_words(struct addr_lex_parser *ps, struct addr_lex_words *w);

#endif

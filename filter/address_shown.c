/*
 * NAME
 *	address_shown - what clients read otherwise in an address or a field
 *
 * SUMMARY
 *	addr_lex_shown_spec_error() judges one addr-spec,
 *	addr_lex_shown_whole() the whole field, for addr_parse_shown().
 *
 * DESCRIPTION
 *	The rules found by reading the same fields with Thunderbird's and
 *	Python's parsers (test/differential) and with a model of
 *	Thunderbird's (test/fuzz/tbmodel.c): each construction here is one
 *	they read differently from RFC 5322, so the field is refused as
 *	malformed rather than guessed at. Comments are judged where they
 *	are skipped (address_lex.c), encoded words in address_rfc2047.c.
 *
 *	Pure: no I/O, no globals; safe from any thread.
 */
#include "autoconf.h"

#include <string.h>

#include "address.h"
#include "address_lex.h"

/* encoded_word - whether S holds what may start an RFC 2047 encoded word. */
static bool encoded_word(const char *s)
{
    return s != NULL && strstr(s, "=?") != NULL;
}

/* look_alike_at - whether S holds a fullwidth or small at sign. */
static bool look_alike_at(const char *s)
{
    return strstr(s, "\xef\xbc\xa0") != NULL || strstr(s, "\xef\xb9\xab") != NULL;
}

/*
 * shown_spec_error - what a client reads otherwise in the addr-spec of
 * words *W "@" DOMAIN; COMMENT: a comment inside it holds a byte clients
 * misread, SPACED: blanks or comments inside it. NULL when nothing.
 */
const char *addr_lex_shown_spec_error(const struct addr_lex_parser *ps,
                                      const struct addr_lex_words *w, const char *domain,
                                      bool comment, bool spaced)
{
    const char *local = w->local.s;
    size_t n = w->local.len;

    if (comment)
        return addr_lex_comment_refused(ps->last_bad);
    if (spaced) /* Thunderbird keeps "jane. doe" and "example. org" */
        return "white space inside an address";
    if (w->quoted && w->ntok > 1) /* a."b c"@d: Thunderbird shows "a. b c"@d */
        return "partly quoted local part";
    if (w->quoted && (strchr(" \t", local[0]) != NULL ||
                      strchr(" \t", local[n - 1]) != NULL || strchr(local, '\t') != NULL))
        return "white space at the edge of a local part";
    if (encoded_word(local))
        return "encoded word in a local part";
    if (encoded_word(domain))
        return "encoded word in a domain";
    if (addr_lex_has_invisible(local) || addr_lex_has_invisible(domain))
        return "invisible character in an address";
    if (look_alike_at(local) || look_alike_at(domain)) /* U+FF20, U+FE6B */
        return "look-alike at sign in an address";
    return NULL;
}

/*
 * line_breaks - a CR not followed by LF, or a line end not followed by a
 * blank, is no folding: clients delete the line ends and join the text.
 * A backslash before a non-ASCII character escapes only part of it for
 * Thunderbird (UTF-16).
 */
static const char *line_breaks(const char *in, size_t len)
{
    size_t i;

    for (i = 0; i + 1 < len;
         i++) /* Thunderbird's backslash takes half a surrogate pair */
        if (in[i] == '\\' && (unsigned char)in[i + 1] >= 0x80)
            return "backslash before a non-ASCII character";
    for (i = 0; i < len; i++)
        if ((in[i] == '\r' && (i + 1 == len || in[i + 1] != '\n')) ||
            (in[i] == '\n' && (i + 1 == len || (in[i + 1] != ' ' && in[i + 1] != '\t'))))
            return "line break that is not folding";
    return NULL;
}

/*
 * shown_whole - what clients read otherwise in the whole field [IN, END)
 * (shown only): encoded words they decode differently, line breaks that
 * are no folding. Returns 0, or -1 with ps->error set.
 */
int addr_lex_shown_whole(struct addr_lex_parser *ps, const unsigned char *in,
                         const unsigned char *end)
{
    const char *err = addr_lex_rfc2047_misread((const char *)in, (size_t)(end - in));

    /* Thunderbird's decoder drops a byte order mark at the field's start. */
    if (err == NULL && end - in >= 3 && memcmp(in, "\xef\xbb\xbf", 3) == 0)
        err = "byte order mark at the start of the field";
    if (err == NULL)
        err = line_breaks((const char *)in, (size_t)(end - in));
    return err == NULL ? 0 : addr_lex_fail(ps, err);
}

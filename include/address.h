/*
 * address.h - parse mail addresses as clients write them
 *
 * Pure functions: no I/O, no globals, safe from any thread. Every input is
 * given with its length, so NUL bytes are seen and refused, never trusted.
 */
#ifndef HM_ADDRESS_H
#define HM_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>

/* Inputs longer than this are refused before they are parsed. */
#define HM_ADDR_MAX_INPUT (4u * 1024 * 1024)
/* An address list with more addresses than this is refused. */
#define HM_ADDR_MAX_LIST 10000u

/* One mailbox address. All strings are NUL-terminated and owned by it. */
struct addr {
    char *written; /* addr-spec as written: local "@" domain, CFWS removed,
                      quotes kept; "" for the null sender */
    char *local;   /* local part with quotes and quoted-pairs resolved */
    char *domain;  /* domain as written; a domain literal keeps its [] */
    bool is_null;  /* the envelope null sender <> */
    bool in_name;  /* found inside a display name or comment (addr_parse_shown) */
};

/* A list of addresses, in the order written. */
struct addr_list {
    struct addr *v;
    size_t n;
    size_t cap;
};

/*
 * addr_parse_envelope - parse an envelope sender as an MTA hands it over:
 * "<a@b>", "<>", "<@route,@route:a@b>", a quoted local part, or a bare
 * "a@b". Surrounding blanks are ignored. Fills *out (free with addr_free)
 * and returns 0; on malformed input returns -1 with a static message in
 * *error_r and leaves *out empty.
 */
int addr_parse_envelope(const char *in, size_t len, struct addr *out,
                        const char **error_r);

/*
 * addr_parse_list - parse an RFC 5322 header field body (address-list,
 * mailbox-list or a single mailbox, including groups, comments, folding
 * and the obsolete forms of RFC 5322 section 4). Appends every mailbox to
 * *out, which must be zeroed or previously used (free with addr_list_free).
 * An empty group contributes nothing. Returns 0, or -1 with a static
 * message in *error_r; on error *out holds what it held before the call.
 */
int addr_parse_list(const char *in, size_t len, struct addr_list *out,
                    const char **error_r);

/* Flags of addr_parse_shown(). */
#define HM_ADDR_NO_GROUP 0x1u /* From:, Sender:: a group makes the field malformed */
#define HM_ADDR_NAMES    0x2u /* return the addresses display names and comments hold */
#define HM_ADDR_NO_PLAIN 0x4u /* tests: the parser even for "Name <a@b>" */

/*
 * addr_parse_shown - parse a header field body the way a recipient's mail
 * client reads it, refusing what clients read differently: a comment
 * holding '"', '\\', '[', ']', '<', '>', '@' or an encoded word inside an
 * addr-spec or angle-addr, a source route, an encoded word in a local part
 * or domain, and (HM_ADDR_NO_GROUP) a group. An unquoted addr-spec before
 * an angle-addr ("a@b <a@b>") is that mailbox's display name. With
 * HM_ADDR_NAMES, display names and comments are RFC 2047-decoded and every
 * address they hold is appended too, with in_name set, in the order
 * written. Appends to *out as addr_parse_list() does; returns 0, or -1
 * with a static message naming the construction in *error_r.
 */
int addr_parse_shown(const char *in, size_t len, unsigned flags, struct addr_list *out,
                     const char **error_r);

/*
 * addr_xtext_decode - decode RFC 3461 xtext ("+2B" for "+"), as Sendmail
 * encodes {auth_authen}. Returns 0 and a malloc'd string in *out_r, or -1
 * with a static message in *error_r (bad "+XX" escape, a decoded NUL, a
 * byte that xtext never carries raw).
 */
int addr_xtext_decode(const char *in, size_t len, char **out_r, const char **error_r);

/*
 * addr_base_length - length of the part of LOCAL before its extension: up
 * to the first byte that appears in DELIMS. Returns the whole length when
 * DELIMS is empty, holds none of LOCAL's bytes, or the delimiter would be
 * the first byte (an extension never leaves an empty base).
 */
size_t addr_base_length(const char *local, const char *delims);

/*
 * addr_same_text - compare two NUL-free byte strings of the given lengths,
 * ignoring ASCII case only (UTF-8 bytes compare exactly).
 */
bool addr_same_text(const char *a, size_t alen, const char *b, size_t blen);

/* addr_hex_value - the value of the hex digit C (either case), or -1. */
int addr_hex_value(unsigned c);

/* addr_free - release what *a owns and zero it. NULL-safe. */
void addr_free(struct addr *a);

/* addr_list_free - release every address of *l and zero it. NULL-safe. */
void addr_list_free(struct addr_list *l);

#endif

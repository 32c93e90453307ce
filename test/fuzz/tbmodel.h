/*
 * tbmodel.h - Thunderbird's reading of an address header, modelled in C
 *
 * For the fuzz harness of the address parsers (fuzz_address.c): what a
 * recipient's client shows for a From: value, independent of the product's
 * parsers. See tbmodel.c.
 */
#ifndef HM_TBMODEL_H
#define HM_TBMODEL_H

#include <stddef.h>

/* One mailbox as the client returns it; both strings UTF-8, never NULL. */
struct tb_mailbox {
    char *name;  /* display name (comments kept), "" when none */
    char *email; /* local "@" domain, the local part requoted when needed;
                    "" when none */
};

/* What the client reads in a field. */
struct tb_reading {
    struct tb_mailbox *mbox; /* every mailbox, those in groups too, in order */
    size_t n_mbox;
    char **group; /* the name of every group */
    size_t n_group;
};

/*
 * tb_read - read the header field value IN (LEN bytes, its CR and LF
 * already removed) as Thunderbird's parseAddressingHeader(value, false)
 * does. Fills *OUT (free with tb_reading_free()) and returns 0, or returns
 * -1 and leaves *OUT empty when the reading would grow past the model's
 * work limit (the parser's output can be quadratic in its input). Aborts
 * when memory runs out.
 */
int tb_read(const char *in, size_t len, struct tb_reading *out);

/* tb_reading_free - release what *R holds and zero it. */
void tb_reading_free(struct tb_reading *r);

/* The addresses a name shows: called with each local part and domain. */
typedef void tb_addr_fn(const char *local, size_t llen, const char *domain, size_t dlen,
                        void *arg);

/*
 * tb_name_addresses - call FN for every address the text NAME (a name or
 * group name from tb_read()) shows to a reader: NAME cleaned as the client
 * cleans a token, then at each at sign ('@', U+FF20, U+FE6B) the longest
 * runs of characters other than a boundary before and after it, the
 * domain without trailing dots, both non-empty. The boundaries: blanks,
 * line separators, at signs, what cleaning turns into spaces, and
 * < > ( ) [ ] { } , ; : " ' ` and backslash.
 */
void tb_name_addresses(const char *name, tb_addr_fn *fn, void *arg);

#endif

/*
 * idna.h - international domain names, as addresses compare them
 * (module idna)
 *
 * jane@bücher.example and jane@xn--bcher-kva.example are one address,
 * whichever form the client wrote and whichever the directory stores.
 * Domains compare in their ASCII form (IDNA2008 with Unicode TR46
 * non-transitional processing, as libidn2 computes it); a domain that is
 * plain ASCII without an A-label compares as written, ASCII case aside.
 * Pure: no I/O, no globals; safe from any thread.
 */
#ifndef HM_IDNA_H
#define HM_IDNA_H

#include <stdbool.h>
#include <stddef.h>

/*
 * idna_is_international - whether DOMAIN (LEN bytes) is one IDNA applies
 * to: it holds a byte >= 0x80 or a label that starts with "xn--" (any
 * case).
 */
bool idna_is_international(const char *domain, size_t len);

/*
 * idna_ascii - the ASCII form of DOMAIN (LEN bytes), lower case, in a
 * malloc'd *ASCII_R (caller frees). Returns 0; -1 with a static message
 * in *ERROR_R when DOMAIN holds an invalid label (a U-label TR46 forbids,
 * an A-label that does not decode, a hyphen where none may stand); -2
 * when memory runs out.
 */
int idna_ascii(const char *domain, size_t len, char **ascii_r, const char **error_r);

/*
 * idna_unicode - the Unicode form of DOMAIN (LEN bytes, either form), its
 * labels as U-labels, in a malloc'd *UNICODE_R; as idna_ascii() returns.
 */
int idna_unicode(const char *domain, size_t len, char **unicode_r, const char **error_r);

/*
 * idna_same_domain - whether domains A (ALEN bytes) and B (BLEN bytes)
 * are one: the same text, ASCII case aside, or the same ASCII form when
 * either is international. A domain that has no valid ASCII form is only
 * its own text.
 */
bool idna_same_domain(const char *a, size_t alen, const char *b, size_t blen);

#endif

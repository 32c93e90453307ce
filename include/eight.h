/*
 * eight.h - 8-bit content: what MAIL FROM declared, whether a message has
 * a byte >= 0x80, and which recipient domains take 7-bit only (module
 * eight, the second seed's rule)
 *
 * Pure functions: no I/O, no globals, safe from any thread. The scan
 * keeps no copy of what it reads.
 */
#ifndef HM_EIGHT_H
#define HM_EIGHT_H

#include <stdbool.h>
#include <stddef.h>

#include "cfg.h"

/*
 * eight_declared - whether the ESMTP arguments of MAIL FROM (ARGS, NULL-
 * terminated, as the MTA passes them after the sender) declare 8-bit
 * content: BODY=8BITMIME, BODY=BINARYMIME or SMTPUTF8, in any case.
 * BODY=7BIT and anything else declare none.
 */
bool eight_declared(char *const *args);

/*
 * eight_found - whether LEN bytes at DATA hold a byte >= 0x80. One pass
 * that stops at the first; a message is 8-bit when any of its pieces
 * (header names, values, body chunks) is.
 */
bool eight_found(const void *data, size_t len);

/*
 * eight_domain - the entry of DOMAINS (domain names) that DOMAIN (LEN
 * bytes) is or is a subdomain of, compared ignoring ASCII case and one
 * trailing dot; NULL when none. "notdomino.example.com" is no subdomain
 * of "domino.example.com".
 */
const char *eight_domain(const char *domain, size_t len, const struct cfg_list *domains);

#endif

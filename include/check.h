/*
 * check.h - what of a message is checked, and how (module check)
 *
 * Pure functions of the configuration: no I/O, no globals, safe from any
 * thread. Shared by the milter and -q so that both read a header field the
 * same way.
 */
#ifndef HM_CHECK_H
#define HM_CHECK_H

#include <stdbool.h>

#include "address.h"
#include "cfg.h"

/* check_is_field - whether header field NAME is one CFG checks. */
bool check_is_field(const struct cfg *cfg, const char *name);

/*
 * check_field - the addresses to decide on in header field NAME with
 * VALUE, read as a recipient's mail client shows them (addr_parse_shown):
 * no group in the originator fields (From, Sender, Resent-From,
 * Resent-Sender), the addresses display names show unless
 * policy.display_names is "ignore". Appends to *out and returns 0, or -1
 * with a static message naming the construction (a field without a
 * mailbox is one too).
 */
int check_field(const struct cfg *cfg, const char *name, const char *value,
                struct addr_list *out, const char **error_r);

/*
 * check_field_shown - what a reply names for a malformed field NAME with
 * VALUE: VALUE, or "NAME:" when VALUE is empty or blank. Returns a
 * malloc'd string, or NULL when out of memory.
 */
char *check_field_shown(const char *name, const char *value);

#endif

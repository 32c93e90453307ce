/*
 * query.h - answer "what would happen if LOGIN submitted as ADDRESS?"
 *
 * The -q mode: one directory lookup and one policy decision, printed for a
 * person. Used from the command line only (one thread).
 */
#ifndef HM_QUERY_H
#define HM_QUERY_H

#include <stdio.h>

#include "cfg.h"

/*
 * query_run - look LOGIN up under CFG and decide on VALUE: as MAIL FROM
 * would when it is an envelope sender, else (or when it starts with a
 * checked field's name and ':') on every address of VALUE read as that
 * header field (From by default; display names included), as end-of-DATA
 * would. Prints to OUT the verdict line ("accept", "reject 554 5.7.1
 * ...", "tempfail 451 4.3.0 ..."; the first that is not accept), the
 * evidence and one reason line per address. Returns 0 for accept, 1 for
 * reject, 2 for tempfail.
 */
int query_run(struct cfg *cfg, const char *login, const char *value, FILE *out);

#endif

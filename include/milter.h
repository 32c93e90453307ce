/*
 * milter.h - the libmilter glue
 *
 * Registers the callbacks with libmilter and keeps the configuration in
 * force. milter_set_config() may be called from any thread at any time
 * (a reload); connections keep the configuration they started with.
 */
#ifndef HM_MILTER_H
#define HM_MILTER_H

#include "cfg.h"

/*
 * milter_register - register the filter with libmilter (smfi_register).
 * Returns 0, or -1 with a static message in *error_r.
 */
int milter_register(const char **error_r);

/*
 * milter_set_config - put CFG in force for new connections, with a new
 * directory client. Takes a reference to CFG. Returns 0, or -1 when out
 * of memory (the old configuration stays in force).
 */
int milter_set_config(struct cfg *cfg);

/* milter_shutdown - drop the configuration in force (at exit). */
void milter_shutdown(void);

#endif

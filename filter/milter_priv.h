/*
 * milter_priv.h - what the milter module's files share (private to it)
 *
 * milter.c maps the milter protocol onto check; milter_log.c writes the
 * log lines of its decisions, holding a message's lines until
 * end-of-DATA gives the queue id.
 */
#ifndef HM_MILTER_PRIV_H
#define HM_MILTER_PRIV_H

#include <libmilter/mfapi.h>
#include <stdbool.h>

#include "cfg.h"
#include "check.h"
#include "directory.h"
#include "log.h"
#include "policy.h"

/* A configuration and the directory client made for it. */
struct milter_gen {
    struct cfg *cfg;
    struct dir *dir;
    unsigned refs;
};

/* A message's log lines wait for end-of-DATA, where the queue id is known. */
#define MILTER_PENDING_MAX 32

struct milter_conn {
    struct milter_gen *gen;
    struct check_msg msg;              /* the current message */
    char *login;                       /* its login, which msg references */
    sfsistat header_reply;             /* SMFIS_NOREPLY when the MTA expects none */
    sfsistat rcpt_reply;               /* the same for RCPT TO */
    sfsistat body_enough;              /* SMFIS_SKIP when the MTA offers it */
    bool at_eod;                       /* decided at end-of-DATA (policy.decide_at) */
    char *mail_arg;                    /* at_eod: MAIL FROM's sender, as written */
    char *pending[MILTER_PENDING_MAX]; /* its log lines, without the queue id */
    enum log_level pending_level[MILTER_PENDING_MAX];
    size_t npending;
    size_t dropped; /* lines beyond MILTER_PENDING_MAX */
};

/* milter_pending_clear - forget the message's waiting log lines. */
void milter_pending_clear(struct milter_conn *c);

/* milter_queue_id - the queue id for log lines: {i} or i, else NOQUEUE. */
const char *milter_queue_id(SMFICTX *ctx);

/*
 * milter_log - log a verdict now, under the queue id the MTA gave so far
 * (or NOQUEUE): the address WHAT (sender, or a field name) as written,
 * decided at STAGE; IN_NAME: shown by a display name.
 */
void milter_log(SMFICTX *ctx, const struct check_msg *m, const char *what,
                const char *address, const struct policy_verdict *v, const char *stage,
                bool in_name);

/* milter_log_kept - log a decision kept until end-of-DATA. */
void milter_log_kept(SMFICTX *ctx, const struct check_msg *m, const struct check_kept *k);

/* milter_defer - keep a verdict's line until end-of-DATA, as milter_log. */
void milter_defer(SMFICTX *ctx, struct milter_conn *c, const char *what,
                  const char *address, const struct policy_verdict *v, const char *stage,
                  bool in_name);

/* milter_flush - log the waiting lines under the queue id end-of-DATA gives. */
void milter_flush(SMFICTX *ctx, struct milter_conn *c);

#endif

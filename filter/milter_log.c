/*
 * NAME
 *	milter_log - the log lines of the milter's decisions
 * SUMMARY
 *	privately milter_pending_clear(), milter_queue_id(), milter_log(),
 *	milter_log_kept(), milter_defer(), milter_flush()
 * DESCRIPTION
 *	One line per verdict, as homed-milter(8) LOGGING shows: the queue
 *	id, the client as Postfix names it, the login, the address and the
 *	decision. A message's lines wait until end-of-DATA, where the MTA
 *	gives the queue id (Postfix has none at MAIL FROM); a MAIL-stage
 *	reject is logged at once.
 *
 *	Thread-safety: a connection's lines belong to its thread.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter_priv.h"

/* milter_pending_clear - forget the message's waiting log lines. */
void milter_pending_clear(struct milter_conn *c)
{
    size_t i;

    for (i = 0; i < c->npending; i++)
        free(c->pending[i]);
    c->npending = 0;
    c->dropped = 0;
}

/* The queue id for log lines: {i} or i, else NOQUEUE. */
const char *milter_queue_id(SMFICTX *ctx)
{
    const char *id = smfi_getsymval(ctx, "{i}");

    if (id == NULL)
        id = smfi_getsymval(ctx, "i");
    return id != NULL && *id != '\0' ? id : "NOQUEUE";
}

/* The most pieces a log line has. */
#define MILTER_PARTS 24

/*
 * One verdict's log line, without the queue id: malloc'd, or NULL when out
 * of memory. It names the client as Postfix does, "client=NAME[ADDR] ",
 * from the macros the milter asks for itself (nothing when the MTA sent
 * none). IN_NAME: the address was shown by a display name. DOMAIN: the
 * 7-bit-only domain of an 8-bit verdict, or NULL. Put together from its
 * pieces (one line per accepted message at info: no printf machinery).
 */
static char *milter_line(SMFICTX *ctx, const struct check_msg *m, const char *what,
                         const char *address, const struct policy_verdict *v,
                         const char *stage, bool in_name, const char *domain)
{
    const char *addr = smfi_getsymval(ctx, "{client_addr}");
    const char *name = smfi_getsymval(ctx, "{client_name}");
    const char *detail = check_detail(m, v);
    const char *part[MILTER_PARTS];
    size_t n = 0;

    if (addr != NULL && *addr != '\0') {
        part[n++] = "client=";
        part[n++] = name != NULL && *name != '\0' ? name : "unknown";
        part[n++] = "[";
        part[n++] = addr;
        part[n++] = "] ";
    }
    part[n++] = "login=";
    part[n++] = m->login ? m->login : "(none)";
    part[n++] = " ";
    part[n++] = what;
    part[n++] = "=";
    part[n++] = address && *address ? address : "<>";
    part[n++] = v->action != v->decision ? " report " : " ";
    part[n++] = policy_action_name(v->decision);
    part[n++] = " reason=";
    part[n++] = policy_reason_name(v->reason);
    part[n++] = " stage=";
    part[n++] = stage;
    if (in_name)
        part[n++] = " in=name";
    if (detail != NULL) {
        part[n++] = " error=";
        part[n++] = detail;
    }
    if (domain != NULL) {
        part[n++] = " domain=";
        part[n++] = domain;
    }
    /* decided by an entry kept through an outage (cache.stale_ttl) */
    if (m->lookup == HM_LOOKUP_FOUND && m->detail != NULL)
        part[n++] = " cache=stale";
    return log_join(part, n);
}

static enum log_level milter_level(const struct policy_verdict *v)
{
    return v->decision == HM_ACCEPT ? HM_LOG_INFO : HM_LOG_WARNING;
}

/* Log a verdict now, under the queue id the MTA gave so far (or NOQUEUE). */
void milter_log(SMFICTX *ctx, const struct check_msg *m, const char *what,
                const char *address, const struct policy_verdict *v, const char *stage,
                bool in_name)
{
    char *line = milter_line(ctx, m, what, address, v, stage, in_name, NULL);

    log_line(milter_level(v), milter_queue_id(ctx), line);
    free(line);
}

/* Log a decision kept until end-of-DATA: a header's, or the 8-bit rule's. */
void milter_log_kept(SMFICTX *ctx, const struct check_msg *m, const struct check_kept *k)
{
    char *line = milter_line(ctx, m, k->field ? k->field : "sender", k->v.shown, &k->v,
                             k->stage, k->in_name, k->domain);

    log_line(milter_level(&k->v), milter_queue_id(ctx), line);
    free(line);
}

/* Keep a verdict's line until end-of-DATA, when the queue id is known. */
void milter_defer(SMFICTX *ctx, struct milter_conn *c, const char *what,
                  const char *address, const struct policy_verdict *v, const char *stage,
                  bool in_name)
{
    char *line;

    if (!log_level_enabled(milter_level(v)))
        return;
    if (c->npending == MILTER_PENDING_MAX ||
        (line = milter_line(ctx, &c->msg, what, address, v, stage, in_name, NULL)) ==
            NULL) {
        c->dropped++;
        return;
    }
    c->pending_level[c->npending] = milter_level(v);
    c->pending[c->npending++] = line;
}

/* Log the waiting lines under the queue id end-of-DATA gives. */
void milter_flush(SMFICTX *ctx, struct milter_conn *c)
{
    const char *id = milter_queue_id(ctx);
    size_t i;

    for (i = 0; i < c->npending; i++)
        log_line(c->pending_level[i], id, c->pending[i]);
    if (c->dropped > 0)
        log_warning("%s: %zu more decisions on this message not logged", id, c->dropped);
    milter_pending_clear(c);
}

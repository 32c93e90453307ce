/*
 * NAME
 *	milter - the libmilter glue
 * SUMMARY
 *	milter_register(), milter_set_config(), milter_shutdown() (milter_log.c:
 *	its log lines)
 * DESCRIPTION
 *	Maps the milter protocol onto check, which decides, and nothing
 *	else:
 *
 *	MAIL FROM	reads {auth_authen} (xtext-decoded when the MTA is
 *			Sendmail, which encodes it) and hands it and the
 *			envelope sender to check. Mail from a client that did
 *			not authenticate is accepted at once (no further
 *			callbacks) or rejected, as configured.
 *	RCPT TO		each recipient goes to check (only when some
 *			recipient domains take 7-bit only).
 *	header		each field goes to check, which keeps the first
 *			failure.
 *	body		each chunk goes to check while an 8-bit rule wants
 *			it; then the rest is declined (SMFIS_SKIP).
 *	end of DATA	the kept verdict is sent; in report mode a header
 *			says what would have been done, and the client's
 *			copies of it are removed.
 *
 *	With policy.decide_at = "end-of-data" MAIL FROM and the header
 *	fields come without a reply asked (SMFIP_NR_MAIL, SMFIP_NR_HDR) and
 *	are only kept (check_hold()); at end of DATA the login, the sender
 *	and the kept fields are decided in one step: one round trip per
 *	message instead of two.
 *
 *	A generation (configuration + directory client) is reference
 *	counted: each connection holds the one in force when it started, so
 *	a reload never changes a connection under its feet. Per-connection
 *	state (a struct check_msg) lives in smfi_setpriv() and is reset per
 *	message, freed in xxfi_close. Every verdict is logged on one line.
 *
 *	Thread-safety: libmilter calls back from one thread per connection;
 *	the generation pointer is swapped under a mutex.
 */
#include "autoconf.h"

#include <libmilter/mfapi.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "check.h"
#include "directory.h"
#include "log.h"
#include "milter.h"
#include "milter_priv.h"
#include "policy.h"
#include "stats.h"

static pthread_mutex_t milter_lock = PTHREAD_MUTEX_INITIALIZER;
static struct milter_gen *milter_current;

static void milter_gen_unref(struct milter_gen *gen)
{
    if (gen == NULL || __atomic_sub_fetch(&gen->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    dir_free(gen->dir);
    cfg_unref(gen->cfg);
    free(gen);
}

static struct milter_gen *milter_gen_get(void)
{
    struct milter_gen *gen;

    pthread_mutex_lock(&milter_lock);
    gen = milter_current;
    if (gen != NULL)
        __atomic_add_fetch(&gen->refs, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&milter_lock);
    return gen;
}

int milter_set_config(struct cfg *cfg)
{
    struct milter_gen *gen = calloc(1, sizeof(*gen)), *old;

    if (gen == NULL || (gen->dir = dir_new(cfg)) == NULL) {
        free(gen);
        return -1;
    }
    gen->cfg = cfg_ref(cfg);
    gen->refs = 1;
    pthread_mutex_lock(&milter_lock);
    old = milter_current;
    milter_current = gen;
    pthread_mutex_unlock(&milter_lock);
    milter_gen_unref(old);
    return 0;
}

void milter_shutdown(void)
{
    struct milter_gen *old;

    pthread_mutex_lock(&milter_lock);
    old = milter_current;
    milter_current = NULL;
    pthread_mutex_unlock(&milter_lock);
    milter_gen_unref(old);
}

/* milter_msg_end - forget the current message. */
static void milter_msg_end(struct milter_conn *c)
{
    check_end(&c->msg);
    free(c->login);
    c->login = NULL;
    free(c->mail_arg);
    c->mail_arg = NULL;
    milter_pending_clear(c);
}

static struct milter_conn *milter_conn(SMFICTX *ctx)
{
    struct milter_conn *c = smfi_getpriv(ctx);

    if (c != NULL)
        return c;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        return NULL;
    if ((c->gen = milter_gen_get()) == NULL || smfi_setpriv(ctx, c) != MI_SUCCESS) {
        milter_gen_unref(c->gen);
        free(c);
        return NULL;
    }
    check_begin(&c->msg, c->gen->cfg, check_dir_lookup, check_dir_grant, c->gen->dir);
    return c;
}

/* Reply text for smfi_setreply: '%' must be doubled. */
static char *milter_reply_text(const char *text)
{
    size_t n = 0, i;
    char *out = malloc(2 * strlen(text) + 1);

    if (out == NULL)
        return NULL;
    for (i = 0; text[i] != '\0'; i++) {
        out[n++] = text[i];
        if (text[i] == '%')
            out[n++] = '%';
    }
    out[n] = '\0';
    return out;
}

/* Tell the MTA what the verdict says; returns the SMFIS_ code. */
static sfsistat milter_answer(SMFICTX *ctx, const struct policy_verdict *v)
{
    char *text;

    if (v->action == HM_ACCEPT)
        return SMFIS_CONTINUE;
    text = v->text ? milter_reply_text(v->text) : NULL;
    if (smfi_setreply(ctx, (char *)v->code, (char *)v->xcode, text) != MI_SUCCESS)
        log_warning("%s: cannot set the reply text", milter_queue_id(ctx));
    free(text);
    return v->action == HM_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

/*
 * The login of an authenticated client in *login_r (NULL: none). Sendmail
 * xtext-encodes {auth_authen}; it is decoded only when the "v" macro
 * names Sendmail (a version number): decoding another MTA's literal login
 * "+6Aaned" would make it janed. Returns -1 when the MTA's macros
 * contradict each other or memory runs out: the message is tempfailed.
 */
static int milter_login(SMFICTX *ctx, const char *stage, char **login_r)
{
    const char *raw = smfi_getsymval(ctx, "{auth_authen}");
    const char *type = smfi_getsymval(ctx, "{auth_type}");
    const char *mta = smfi_getsymval(ctx, "v");
    const char *why;

    *login_r = NULL;
    if (raw == NULL || *raw == '\0') {
        if (type == NULL || *type == '\0')
            return 0;
        log_error("%s: the MTA sends {auth_type} but no {auth_authen} at %s: "
                  "check its milter macros",
                  milter_queue_id(ctx), stage);
        return -1;
    }
    if (mta != NULL && mta[0] >= '0' && mta[0] <= '9') {
        if (addr_xtext_decode(raw, strlen(raw), login_r, &why) == 0)
            return 0;
        log_warning("%s: {auth_authen} is not valid xtext (%s); using it as it is",
                    milter_queue_id(ctx), why);
    }
    *login_r = strdup(raw);
    return *login_r != NULL ? 0 : -1;
}

static sfsistat mlfi_envfrom(SMFICTX *ctx, char **argv)
{
    struct milter_conn *c = milter_conn(ctx);
    struct check_result r;
    sfsistat rc;
    bool eight;

    if (c == NULL)
        return SMFIS_TEMPFAIL;
    milter_msg_end(c);
    if (c->at_eod) {
        /*
         * Decided at end-of-DATA: the login looked up now, the sender and
         * BODY= kept. Without them (the MTA's macros contradict each
         * other, out of memory) the message gets 451 there.
         */
        if (argv[0] != NULL && milter_login(ctx, "MAIL FROM", &c->login) == 0) {
            check_login(&c->msg, c->login);
            check_esmtp(&c->msg, argv + 1);
            if ((c->mail_arg = strdup(argv[0])) == NULL)
                log_error("%s: out of memory", milter_queue_id(ctx));
        }
        return SMFIS_NOREPLY; /* libmilter answers an MTA that waits */
    }
    if (milter_login(ctx, "MAIL FROM", &c->login) < 0) {
        smfi_setreply(ctx, "451", "4.3.0", "Temporary failure, try again later");
        return SMFIS_TEMPFAIL;
    }
    check_login(&c->msg, c->login);
    if (check_envelope(&c->msg, argv[0] ? argv[0] : "", &r) < 0)
        log_error("%s: out of memory", milter_queue_id(ctx));
    if (argv[0] != NULL)
        check_esmtp(&c->msg, argv + 1);
    /*
     * Answered now, or a client that did not authenticate and no 8-bit
     * rule to apply (no further callbacks): logged now, under the queue id
     * the MTA gave so far (Postfix has none yet: NOQUEUE, as in its own
     * MAIL-stage lines). Else the message's line waits for end-of-DATA and
     * its queue id.
     */
    eight = check_eight_on(c->gen->cfg);
    if (r.v.action != HM_ACCEPT || (c->msg.login == NULL && !eight))
        milter_log(ctx, &c->msg, "sender", r.written, &r.v, "mail", false);
    else
        milter_defer(ctx, c, "sender", r.written, &r.v, "mail", false);
    rc = milter_answer(ctx, &r.v);
    if (rc == SMFIS_CONTINUE && c->msg.login == NULL && r.v.decision == HM_ACCEPT &&
        !eight)
        rc = SMFIS_ACCEPT;    /* not ours to check: no further callbacks */
    if (rc != SMFIS_CONTINUE) /* the message ends here */
        stats_message(r.v.action, r.v.reason);
    check_result_clear(&r);
    return rc;
}

/* RCPT TO: asked for only when eight_bit.seven_bit_only_domains is set. */
static sfsistat mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
    struct milter_conn *c = smfi_getpriv(ctx);

    if (c == NULL)
        return SMFIS_CONTINUE;
    if (argv[0] != NULL)
        check_recipient(&c->msg, argv[0]);
    return c->rcpt_reply;
}

/* A body chunk: asked for only when an 8-bit rule is on. */
static sfsistat mlfi_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    struct milter_conn *c = smfi_getpriv(ctx);

    if (c == NULL || check_body(&c->msg, chunk, len))
        return SMFIS_CONTINUE;
    return c->body_enough; /* 8-bit data found: the rest is not needed */
}

/* A connection and its context, for check_held()'s callback. */
struct milter_each {
    SMFICTX *ctx;
    struct milter_conn *c;
};

/* The decisions on header field NAME: logged, or kept for end-of-DATA. */
static void milter_header_results(void *arg, const char *name,
                                  const struct check_results *rs)
{
    const struct milter_each *e = arg;
    const char *stage = e->c->at_eod ? "end-of-data" : "header";
    size_t i;

    for (i = 0; i < rs->n; i++) {
        const struct check_result *r = &rs->v[i];

        if (r->parse_error != NULL)
            log_debug("%s: %s: malformed: %s", milter_queue_id(e->ctx), name,
                      r->parse_error);
        /* What is kept or reported is logged at end of DATA, with the queue id. */
        if (r->v.decision != HM_ACCEPT && r->v.action == HM_ACCEPT)
            milter_defer(e->ctx, e->c, name, r->written, &r->v, stage, r->in_name);
        else if (log_level_enabled(HM_LOG_DEBUG))
            milter_log(e->ctx, &e->c->msg, name, r->written, &r->v, stage, r->in_name);
    }
}

static sfsistat mlfi_header(SMFICTX *ctx, char *name, char *value)
{
    struct milter_conn *c = smfi_getpriv(ctx);
    struct milter_each e = {ctx, c};
    struct check_results rs;

    if (c == NULL)
        return SMFIS_CONTINUE;
    if (c->at_eod) { /* kept: decided at end-of-DATA, with the sender */
        if (check_hold(&c->msg, name, value) < 0)
            log_error("%s: out of memory", milter_queue_id(ctx));
        return c->header_reply;
    }
    if (check_header(&c->msg, name, value, &rs) < 0)
        log_error("%s: out of memory", milter_queue_id(ctx));
    milter_header_results(&e, name, &rs);
    check_results_clear(&rs);
    return c->header_reply;
}

/*
 * Report mode: remove every copy of the report header the client sent, so
 * that the one added here is the only one. From the last copy back, so
 * that the index of the copies still to remove does not change.
 */
static void milter_remove_client_reports(SMFICTX *ctx, struct milter_conn *c)
{
    const char *field = c->gen->cfg->policy.report_header;
    unsigned i;

    for (i = c->msg.client_reports; i > 0; i--)
        if (smfi_chgheader(ctx, (char *)field, (int)i, NULL) != MI_SUCCESS)
            log_warning("%s: cannot remove the client's %s header", milter_queue_id(ctx),
                        field);
}

/*
 * decide_at = "end-of-data": the envelope sender and the held header
 * fields, decided now in one step (MAIL FROM, its macros and the login's
 * lookup came before, without a reply). Returns SMFIS_CONTINUE to go on as at any
 * end-of-DATA, or the answer when the envelope sender ends the message
 * here (logged, counted). Never a message accepted unchecked: without its
 * MAIL FROM (out of memory) or with contradicting macros, a tempfail.
 */
static sfsistat milter_eod(SMFICTX *ctx, struct milter_conn *c)
{
    struct milter_each e = {ctx, c};
    struct check_result r;
    sfsistat rc;

    if (c->mail_arg == NULL) {
        smfi_setreply(ctx, "451", "4.3.0", "Temporary failure, try again later");
        return SMFIS_TEMPFAIL;
    }
    if (check_envelope(&c->msg, c->mail_arg, &r) < 0)
        log_error("%s: out of memory", milter_queue_id(ctx));
    if (r.v.action != HM_ACCEPT) {
        milter_log(ctx, &c->msg, "sender", r.written, &r.v, "end-of-data", false);
        rc = milter_answer(ctx, &r.v);
        stats_message(r.v.action, r.v.reason);
        check_result_clear(&r);
        return rc;
    }
    milter_defer(ctx, c, "sender", r.written, &r.v, "end-of-data", false);
    check_result_clear(&r);
    if (check_held(&c->msg, milter_header_results, &e) < 0)
        log_error("%s: out of memory", milter_queue_id(ctx));
    return SMFIS_CONTINUE;
}

static sfsistat mlfi_eom(SMFICTX *ctx)
{
    struct milter_conn *c = smfi_getpriv(ctx);
    const struct check_kept *failed;
    const char *field;
    char *value;
    sfsistat rc = SMFIS_CONTINUE;

    if (c == NULL)
        return SMFIS_CONTINUE;
    if (c->at_eod && (rc = milter_eod(ctx, c)) != SMFIS_CONTINUE) {
        milter_msg_end(c);
        return rc;
    }
    milter_flush(ctx, c); /* the lines that waited for the queue id */
    if ((failed = check_final(&c->msg)) != NULL) {
        milter_log_kept(ctx, &c->msg, failed);
        rc = milter_answer(ctx, &failed->v);
    } else if (c->msg.late_report != NULL) { /* report mode: what it would do */
        milter_log_kept(ctx, &c->msg, c->msg.late_report);
    }
    stats_message(failed != NULL ? failed->v.action : HM_ACCEPT,
                  failed != NULL ? failed->v.reason : HM_REASON_NONE);
    if (rc == SMFIS_CONTINUE)
        milter_remove_client_reports(ctx, c);
    field = c->gen->cfg->policy.report_header;
    if (rc == SMFIS_CONTINUE && c->msg.reported.v.reason != HM_REASON_NONE) {
        value = check_report(&c->msg);
        if (value == NULL || smfi_addheader(ctx, (char *)field, value) != MI_SUCCESS)
            log_warning("%s: cannot add the %s header", milter_queue_id(ctx), field);
        free(value);
    }
    milter_msg_end(c);
    return rc;
}

static sfsistat mlfi_abort(SMFICTX *ctx)
{
    struct milter_conn *c = smfi_getpriv(ctx);

    if (c != NULL)
        milter_msg_end(c);
    return SMFIS_CONTINUE;
}

static sfsistat mlfi_close(SMFICTX *ctx)
{
    struct milter_conn *c = smfi_getpriv(ctx);

    if (c == NULL)
        return SMFIS_CONTINUE;
    milter_msg_end(c);
    milter_gen_unref(c->gen);
    free(c);
    smfi_setpriv(ctx, NULL);
    return SMFIS_CONTINUE;
}

static sfsistat mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
                               unsigned long f2, unsigned long f3, unsigned long *pf0,
                               unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    /*
     * The connection's state, and so its configuration, starts here. Every
     * step the milter does not use is declined, and no reply is asked for
     * header fields (the verdict on them comes at end-of-DATA): each is a
     * round trip the MTA would otherwise wait for. An MTA that offers less
     * (an older Sendmail) sends those steps anyway; libmilter answers them.
     */
    struct milter_conn *c = milter_conn(ctx);
    struct milter_gen *gen = c != NULL ? c->gen : NULL;
    const struct cfg *cfg = gen != NULL ? gen->cfg : NULL;
    bool eight = cfg != NULL && check_eight_on(cfg);
    unsigned long want =
        SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NODATA | SMFIP_NOEOH | SMFIP_NOUNKNOWN;

    (void)f2;
    (void)f3;
    /* The 8-bit rule reads the body (and may decline the rest of it), and
     * the recipients only when some of their domains take 7-bit only. */
    want |= eight ? SMFIP_SKIP : SMFIP_NOBODY;
    if (eight && cfg->eight_bit.seven_bit_only_domains.n > 0)
        want |= SMFIP_NR_RCPT;
    else
        want |= SMFIP_NORCPT;
    if (cfg != NULL && cfg->policy.header_fields.n == 0 &&
        cfg->policy.mode != HM_MODE_REPORT && !eight)
        want |= SMFIP_NOHDRS;
    else if (cfg != NULL)
        want |= SMFIP_NR_HDR;
    /*
     * decide_at = "end-of-data": MAIL FROM without a reply (libmilter
     * answers it itself for an MTA that does not know SMFIP_NR_MAIL), for
     * the sender as the client wrote it, BODY= and the MAIL macros; the
     * MAIL step left out instead would leave only the MTA's {mail_addr},
     * which Postfix lowercases and canonicalizes.
     */
    if (c != NULL && cfg->policy.decide_at == HM_DECIDE_EOD) {
        c->at_eod = true;
        want |= SMFIP_NR_MAIL;
    }
    *pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST);
    *pf1 = f1 & want;
    *pf2 = 0;
    *pf3 = 0;
    if (c != NULL) {
        c->header_reply = (*pf1 & SMFIP_NR_HDR) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
        c->rcpt_reply = (*pf1 & SMFIP_NR_RCPT) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
        c->body_enough = (*pf1 & SMFIP_SKIP) ? SMFIS_SKIP : SMFIS_CONTINUE;
    }
    /* "v" (the MTA's version) tells whether {auth_authen} is xtext. */
    smfi_setsymlist(ctx, SMFIM_ENVFROM,
                    "{auth_authen} {auth_type} i v {client_addr} {client_name}");
    smfi_setsymlist(ctx, SMFIM_EOM, "i {i}");
    return SMFIS_CONTINUE;
}

static struct smfiDesc milter_desc = {
    .xxfi_name = "homed-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS,
    .xxfi_envfrom = mlfi_envfrom,
    .xxfi_envrcpt = mlfi_envrcpt,
    .xxfi_header = mlfi_header,
    .xxfi_body = mlfi_body,
    .xxfi_eom = mlfi_eom,
    .xxfi_abort = mlfi_abort,
    .xxfi_close = mlfi_close,
    .xxfi_negotiate = mlfi_negotiate,
};

int milter_register(const char **error_r)
{
    /* Postfix passes header fields of up to 100 KB; take up to 1 MB. */
    smfi_setmaxdatasize(1024 * 1024 - 1);
    if (smfi_register(milter_desc) != MI_SUCCESS) {
        *error_r = "smfi_register failed";
        return -1;
    }
    return 0;
}

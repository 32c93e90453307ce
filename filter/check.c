/*
 * NAME
 *	check - the decisions of one message
 * SUMMARY
 *	check_begin(), check_login(), check_envelope(), check_header(),
 *	check_hold(), check_held(),
 *	check_field(), check_is_field(), check_final(), check_report(),
 *	check_detail(), check_end(), check_result_clear(),
 *	check_results_clear(), check_dir_lookup(); privately check_kept_clear()
 * DESCRIPTION
 *	The decision sequence of a message, for the milter and for -q:
 *
 *	login		looked up once, when MAIL FROM names it;
 *	envelope	the sender, decided at once; in report mode a
 *			decision that would not accept is remembered;
 *	header		each address of each configured field, read as a
 *			recipient's mail client shows it (the mailboxes and
 *			the addresses display names and comments show; none
 *			when the field is malformed: RFC 5322 allows no
 *			group in an originator field, and mutt shows a
 *			group's name as the author); the first decision that
 *			is no accept is kept, and nothing after it is decided
 *			(but with explain set, for -q, which shows them all);
 *	end-of-DATA	the kept decision, else the 8-bit rule's; and the
 *			report header.
 *
 *	The 8-bit rule (the second seed) reads every message, authenticated
 *	or not, when it is on: what MAIL FROM declared, the recipients'
 *	domains, and each header field and body chunk until the first byte
 *	>= 0x80, without a copy.
 *
 *	Every decision is policy_decide()'s or policy_decide_eight()'s;
 *	check adds no rule of its own.
 *	Out of memory, a message is tempfailed, never accepted unchecked.
 *	A message belongs to one thread at a time.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check_priv.h"
#include "idna.h"

bool check_is_field(const struct cfg *cfg, const char *name)
{
    size_t i;

    for (i = 0; i < cfg->policy.header_fields.n; i++)
        if (strcasecmp(cfg->policy.header_fields.v[i], name) == 0)
            return true;
    return false;
}

/* check_originator - whether NAME is a field that names the author. */
static bool check_originator(const char *name)
{
    static const char *const fields[] = {"From", "Sender", "Resent-From",
                                         "Resent-Sender"};
    size_t i;

    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (strcasecmp(fields[i], name) == 0)
            return true;
    return false;
}

/* check_blank - whether VALUE holds nothing but white space. */
static bool check_blank(const char *value)
{
    return value[strspn(value, " \t\r\n")] == '\0';
}

/*
 * check_parse - the addresses to decide on in header field NAME with
 * VALUE, read as a recipient's mail client shows them (addr_parse_shown):
 * no group in the originator fields, the addresses display names show
 * unless policy.display_names is "ignore". Appends to *OUT and returns 0,
 * or -1 with a static message naming the construction (a field without a
 * mailbox is one too).
 */
static int check_parse(const struct cfg *cfg, const char *name, const char *value,
                       struct addr_list *out, const char **error_r)
{
    unsigned flags = 0;
    size_t before = out->n, i;

    if (check_blank(value)) {
        *error_r = "empty field";
        return -1;
    }
    if (check_originator(name))
        flags |= HM_ADDR_NO_GROUP;
    if (cfg->policy.display_names == HM_NAMES_CHECK)
        flags |= HM_ADDR_NAMES;
    if (addr_parse_shown(value, strlen(value), flags, out, error_r) < 0)
        return -1;
    for (i = before; i < out->n && out->v[i].in_name; i++)
        ;
    if (i == out->n) { /* names only ("(a@b)", "x:;"): no sender */
        *error_r = "no mailbox";
        return -1;
    }
    return 0;
}

/* What a reply names for a malformed field: VALUE, or "NAME:" when blank. */
static char *check_field_shown(const char *name, const char *value)
{
    char *out;

    if (!check_blank(value))
        return strdup(value);
    if (asprintf(&out, "%s:", name) < 0)
        return NULL;
    return out;
}

enum hm_lookup check_dir_lookup(void *ctx, const char *login, struct entry **entry_r,
                                char **detail_r)
{
    if (ctx == NULL) { /* dir_new() ran out of memory */
        *entry_r = NULL;
        *detail_r = strdup("out of memory");
        return HM_LOOKUP_ERROR;
    }
    return dir_lookup(ctx, login, entry_r, detail_r);
}

/* check_no_memory - *V is the tempfail of a decision memory ran out for. */
static void check_no_memory(struct policy_verdict *v)
{
    memset(v, 0, sizeof(*v));
    v->action = v->decision = HM_TEMPFAIL;
    v->code = "451";
    v->xcode = "4.3.0";
    v->text = strdup("Temporary failure, try again later"); /* NULL: the MTA's text */
    v->reason = HM_REASON_NO_MEMORY;
}

/*
 * check_field_no_memory - memory ran out while deciding on field NAME:
 * unless a failure is kept already, a tempfail is, so that the message
 * is never accepted unchecked. Returns -1.
 */
static int check_field_no_memory(struct check_msg *m, const char *name)
{
    if (m->failed.v.reason == HM_REASON_NONE) {
        check_no_memory(&m->failed.v);
        m->failed.field = strdup(name);
        m->failed.stage = m->stage;
    }
    return -1;
}

void check_begin(struct check_msg *m, const struct cfg *cfg, check_lookup_fn *lookup,
                 check_grant_fn *grant, void *ctx)
{
    memset(m, 0, sizeof(*m));
    m->cfg = cfg;
    m->lookup_fn = lookup;
    m->grant_fn = grant;
    m->lookup_ctx = ctx;
    m->lookup = HM_LOOKUP_ERROR;
    m->stage = "header";
}

void check_kept_clear(struct check_kept *k)
{
    if (k->v.reason == HM_REASON_NONE)
        return; /* nothing kept */
    policy_verdict_clear(&k->v);
    free(k->field);
    memset(k, 0, sizeof(*k));
}

static void check_held_clear(struct check_msg *m);

void check_end(struct check_msg *m)
{
    entry_unref(m->entry);
    free(m->detail);
    check_kept_clear(&m->failed);
    check_kept_clear(&m->reported);
    check_kept_clear(&m->on_behalf);
    check_grants_clear(m);
    m->senders = 0;
    m->sender_not_owned = false;
    m->late_report = NULL;
    free(m->sender);
    m->sender = NULL;
    memset(&m->eight, 0, sizeof(m->eight));
    m->login = NULL;
    m->lookup = HM_LOOKUP_ERROR;
    m->entry = NULL;
    m->detail = NULL;
    m->client_reports = 0;
    check_held_clear(m);
    m->stage = "header";
}

void check_login(struct check_msg *m, const char *login)
{
    m->login = login;
    /* A trusted login is not checked: no lookup. */
    if (login != NULL && !policy_is_trusted(m->cfg, login))
        m->lookup = m->lookup_fn(m->lookup_ctx, login, &m->entry, &m->detail);
}

/*
 * check_keep - remember a copy of R's verdict in *K with FIELD (NULL: the
 * envelope). Returns 0, or -1 when out of memory.
 */
static int check_keep(struct check_kept *k, const char *field,
                      const struct check_result *r, const char *stage)
{
    k->v = r->v;
    k->v.text = r->v.text ? strdup(r->v.text) : NULL;
    k->v.shown = r->v.shown ? strdup(r->v.shown) : NULL;
    k->field = field ? strdup(field) : NULL;
    k->in_name = r->in_name;
    k->stage = field ? stage : "mail";
    k->domain = NULL;
    if ((r->v.text && !k->v.text) || (r->v.shown && !k->v.shown) || (field && !k->field))
        return -1;
    return 0;
}

/*
 * check_remember - the first decision that is no accept is kept for
 * end-of-DATA (header fields only: at MAIL FROM it is answered at once);
 * the first that would not be one in report mode, for the report header.
 */
static int check_remember(struct check_msg *m, const char *field,
                          const struct check_result *r)
{
    if (r->v.action != HM_ACCEPT) {
        if (field == NULL || m->failed.v.reason != HM_REASON_NONE)
            return 0;
        return check_keep(&m->failed, field, r, m->stage);
    }
    if (r->v.decision != HM_ACCEPT && m->reported.v.reason == HM_REASON_NONE)
        return check_keep(&m->reported, field, r, m->stage);
    return 0;
}

/*
 * check_decide - policy's verdict on ADDRESS (NULL: malformed) as
 * WRITTEN (malloc'd, taken over) into *R; FROM: in a From: field. The
 * delegation searches policy asks for are made, and it decides again.
 */
static int check_decide(struct check_msg *m, enum policy_stage stage, char *written,
                        const struct addr *address, bool from, struct check_result *r)
{
    struct policy_request req = {m->login, stage, written, address, m->lookup,
                                 m->entry, from,  NULL,    NULL};
    enum hm_right right;
    int rc;
    char *ascii = NULL;
    const char *why;

    r->in_name = address != NULL && address->in_name;
    r->written = written;
    if (written == NULL) {
        check_no_memory(&r->v);
        return -1;
    }
    /* An international domain with an invalid label is a malformed address. */
    if (address != NULL && !address->is_null &&
        idna_is_international(address->domain, strlen(address->domain))) {
        rc = idna_ascii(address->domain, strlen(address->domain), &ascii, &why);
        free(ascii);
        if (rc == -2) {
            check_no_memory(&r->v);
            return -1;
        }
        if (rc < 0) {
            r->parse_error = "invalid international domain name (IDNA)";
            req.address = NULL;
        }
    }
    rc = policy_decide(m->cfg, &req, &r->v);
    while (rc == 0 && m->grant_fn != NULL && policy_wants(m->cfg, &req, &r->v, &right)) {
        if (right == HM_RIGHT_SEND_AS)
            req.send_as = check_grant(m, right, req.address);
        else
            req.on_behalf = check_grant(m, right, req.address);
        policy_verdict_clear(&r->v);
        rc = policy_decide(m->cfg, &req, &r->v);
    }
    return rc;
}

int check_envelope(struct check_msg *m, const char *sender, struct check_result *r)
{
    struct addr parsed = {0};
    int rc;

    memset(r, 0, sizeof(*r));
    free(m->sender);
    if ((m->sender = strdup(sender)) == NULL && check_eight_on(m->cfg))
        check_field_no_memory(m, "sender"); /* the 8-bit rule names it */
    if (addr_parse_envelope(sender, strlen(sender), &parsed, &r->parse_error) == 0) {
        char *written = parsed.written;

        parsed.written = NULL; /* the result's from now on */
        r->parse_error = NULL;
        rc = check_decide(m, HM_STAGE_MAIL, written, &parsed, false, r);
    } else {
        rc = check_decide(m, HM_STAGE_MAIL, strdup(sender), NULL, false, r);
    }
    addr_free(&parsed);
    if (check_remember(m, NULL, r) < 0 || m->sender == NULL)
        rc = -1;
    return rc;
}

/* check_results_new - room for N results in *RS; -1 when out of memory. */
static int check_results_new(struct check_results *rs, size_t n)
{
    rs->n = 0;
    rs->v = calloc(n, sizeof(*rs->v));
    return rs->v != NULL ? 0 : -1;
}

/* check_malformed - decide on a field that does not parse (WHY). */
static int check_malformed(struct check_msg *m, const char *name, const char *value,
                           const char *why, struct check_results *rs)
{
    char *shown = check_field_shown(name, value);
    struct check_result *r;
    int rc;

    if (shown == NULL || check_results_new(rs, 1) < 0) {
        free(shown);
        return check_field_no_memory(m, name);
    }
    r = &rs->v[rs->n++];
    rc = check_decide(m, HM_STAGE_HEADER, shown, NULL, false, r);
    r->parse_error = why;
    if (strcasecmp(name, "Sender") == 0) {
        m->senders++;
        m->sender_not_owned = true;
    }
    if (check_remember(m, name, r) < 0)
        rc = -1;
    return rc;
}

int check_field(struct check_msg *m, const char *name, const char *value,
                struct check_results *rs)
{
    struct addr_list list = {0};
    bool from = strcasecmp(name, "From") == 0, sender = strcasecmp(name, "Sender") == 0;
    const char *why;
    size_t i;
    int rc = 0;

    rs->v = NULL;
    rs->n = 0;
    if (check_parse(m->cfg, name, value, &list, &why) < 0) {
        addr_list_free(&list);
        return check_malformed(m, name, value, why, rs);
    }
    if (check_results_new(rs, list.n) < 0) {
        addr_list_free(&list);
        return check_field_no_memory(m, name);
    }
    if (sender)
        m->senders++;
    for (i = 0; i < list.n && (m->explain || m->failed.v.reason == HM_REASON_NONE); i++) {
        struct check_result *r = &rs->v[rs->n++];
        char *written = list.v[i].written;

        list.v[i].written = NULL; /* the result's from now on */
        if (check_decide(m, HM_STAGE_HEADER, written, &list.v[i], from, r) < 0 ||
            check_remember(m, name, r) < 0)
            rc = -1;
        if (sender && r->v.reason != HM_REASON_OWNED)
            m->sender_not_owned = true;
        if (r->v.reason == HM_REASON_ON_BEHALF &&
            m->on_behalf.v.reason == HM_REASON_NONE &&
            check_keep(&m->on_behalf, name, r, m->stage) < 0)
            rc = -1;
    }
    if (i < list.n && sender) /* not all decided: not all owned */
        m->sender_not_owned = true;
    addr_list_free(&list);
    return rc;
}

/* check_seen - what every header field tells before any decision. */
static void check_seen(struct check_msg *m, const char *name, const char *value)
{
    const struct cfg *cfg = m->cfg;

    check_scan(m, name, strlen(name), false);
    check_scan(m, value, strlen(value), false);
    if (cfg->policy.mode == HM_MODE_REPORT &&
        strcasecmp(name, cfg->policy.report_header) == 0)
        m->client_reports++;
}

/* check_decide_header - check_header() past check_seen(). */
static int check_decide_header(struct check_msg *m, const char *name, const char *value,
                               struct check_results *rs)
{
    const struct cfg *cfg = m->cfg;

    rs->v = NULL;
    rs->n = 0;
    if ((!m->explain && m->failed.v.reason != HM_REASON_NONE) ||
        !check_is_field(cfg, name))
        return 0;
    /* Read for the 8-bit rule only: not the homed rule's to check. */
    if (!m->explain &&
        ((m->login == NULL && cfg->policy.unauthenticated == HM_UNAUTH_ACCEPT) ||
         policy_is_trusted(cfg, m->login)))
        return 0;
    return check_field(m, name, value, rs);
}

int check_header(struct check_msg *m, const char *name, const char *value,
                 struct check_results *rs)
{
    check_seen(m, name, value);
    return check_decide_header(m, name, value, rs);
}

int check_hold(struct check_msg *m, const char *name, const char *value)
{
    struct check_held *more;

    check_seen(m, name, value);
    /* What check_header() would only read for the 8-bit rule is not kept. */
    if (!check_is_field(m->cfg, name) ||
        (m->login == NULL && m->cfg->policy.unauthenticated == HM_UNAUTH_ACCEPT) ||
        policy_is_trusted(m->cfg, m->login))
        return 0;
    more = realloc(m->held, (m->nheld + 1) * sizeof(*more));
    if (more == NULL)
        return check_field_no_memory(m, name);
    m->held = more;
    more[m->nheld].name = strdup(name);
    more[m->nheld].value = strdup(value);
    if (more[m->nheld].name == NULL || more[m->nheld].value == NULL) {
        free(more[m->nheld].name);
        free(more[m->nheld].value);
        return check_field_no_memory(m, name);
    }
    m->nheld++;
    return 0;
}

int check_held(struct check_msg *m, check_each_fn *each, void *arg)
{
    struct check_results rs;
    size_t i;
    int rc = 0;

    m->stage = "end-of-data";
    for (i = 0; i < m->nheld; i++) {
        if (check_decide_header(m, m->held[i].name, m->held[i].value, &rs) < 0)
            rc = -1;
        each(arg, m->held[i].name, &rs);
        check_results_clear(&rs);
    }
    return rc;
}

/* check_held_clear - forget the held fields. */
static void check_held_clear(struct check_msg *m)
{
    size_t i;

    for (i = 0; i < m->nheld; i++) {
        free(m->held[i].name);
        free(m->held[i].value);
    }
    free(m->held);
    m->held = NULL;
    m->nheld = 0;
}

const struct check_kept *check_final(struct check_msg *m)
{
    if (m->failed.v.reason == HM_REASON_NONE)
        check_on_behalf_decide(m);
    if (m->failed.v.reason == HM_REASON_NONE && !m->eight.decided)
        check_eight_decide(m);
    return m->failed.v.reason != HM_REASON_NONE ? &m->failed : NULL;
}

char *check_report(const struct check_msg *m)
{
    const struct policy_verdict *v = &m->reported.v;
    char *value;

    if (v->reason == HM_REASON_NONE)
        return NULL;
    if (asprintf(&value, "%s reason=%s address=%s%s%s", policy_action_name(v->decision),
                 policy_reason_name(v->reason), v->shown ? v->shown : "",
                 m->reported.domain ? " domain=" : "",
                 m->reported.domain ? m->reported.domain : "") < 0)
        return NULL;
    return value;
}

const char *check_detail(const struct check_msg *m, const struct policy_verdict *v)
{
    if (v->reason != HM_REASON_DIRECTORY_ERROR && v->reason != HM_REASON_AMBIGUOUS)
        return NULL;
    /* The login was found: the error was a delegation search's. */
    return m->lookup == HM_LOOKUP_FOUND ? m->grant_detail : m->detail;
}

void check_result_clear(struct check_result *r)
{
    policy_verdict_clear(&r->v);
    free(r->written);
    memset(r, 0, sizeof(*r));
}

void check_results_clear(struct check_results *rs)
{
    size_t i;

    for (i = 0; i < rs->n; i++)
        check_result_clear(&rs->v[i]);
    free(rs->v);
    rs->v = NULL;
    rs->n = 0;
}

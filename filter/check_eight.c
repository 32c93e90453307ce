/*
 * NAME
 *	check_eight - what the 8-bit rule sees of one message
 * SUMMARY
 *	check_eight_on(), check_esmtp(), check_recipient(), check_body();
 *	privately check_scan(), check_eight_decide()
 * DESCRIPTION
 *	The second seed's rule reads what MAIL FROM declared, the
 *	recipients' domains, and each header field and body chunk until the
 *	first byte >= 0x80, without a copy; policy_decide_eight() decides
 *	at end-of-DATA.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check_priv.h"
#include "eight.h"

bool check_eight_on(const struct cfg *cfg)
{
    return cfg->eight_bit.undeclared == HM_UNDECLARED_REJECT ||
           cfg->eight_bit.seven_bit_only || cfg->eight_bit.seven_bit_only_domains.n > 0;
}

void check_esmtp(struct check_msg *m, char *const *args)
{
    m->eight.declared = eight_declared(args);
}

void check_recipient(struct check_msg *m, const char *rcpt)
{
    const struct cfg_list *domains = &m->cfg->eight_bit.seven_bit_only_domains;
    const char *at = strrchr(rcpt, '@');
    size_t len;

    if (domains->n == 0 || m->eight.domain != NULL || at == NULL)
        return;
    /* The domain: after the last '@' (no domain holds one), up to '>'. */
    len = strlen(at + 1);
    if (len > 0 && at[len] == '>')
        len--;
    m->eight.domain = eight_domain(at + 1, len, domains);
}

/* check_scan - LEN bytes at DATA of a header field (or the body: BODY). */
void check_scan(struct check_msg *m, const void *data, size_t len, bool body)
{
    if (m->eight.found || !check_eight_on(m->cfg) || !eight_found(data, len))
        return;
    m->eight.found = true;
    m->eight.body = body;
}

bool check_body(struct check_msg *m, const void *data, size_t len)
{
    check_scan(m, data, len, true);
    return check_eight_on(m->cfg) && !m->eight.found;
}

/*
 * check_eight_decide - the 8-bit rule's decision on the message: kept as
 * the failed one, or in report mode as the reported one unless another
 * is. Asked once, and only when no header decision failed.
 */
void check_eight_decide(struct check_msg *m)
{
    struct policy_eight req = {m->sender ? m->sender : "", m->eight.declared,
                               m->eight.found, m->eight.domain};
    struct policy_verdict v;
    struct check_kept *k = NULL;

    m->eight.decided = true;
    if (!check_eight_on(m->cfg))
        return;
    policy_decide_eight(m->cfg, &req, &v); /* out of memory: a tempfail */
    if (v.action != HM_ACCEPT)
        k = &m->failed;
    else if (v.decision != HM_ACCEPT && m->reported.v.reason == HM_REASON_NONE)
        k = &m->reported;
    if (k == NULL) {
        policy_verdict_clear(&v);
        return;
    }
    k->v = v; /* taken over */
    k->field = NULL;
    k->in_name = false;
    k->stage = m->eight.body ? "body" : "header";
    k->domain = v.reason == HM_REASON_7BIT_DOMAIN ? m->eight.domain : NULL;
    m->eight.kept = k;
    if (k == &m->reported)
        m->late_report = k;
}

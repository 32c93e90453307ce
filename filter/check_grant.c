/*
 * NAME
 *	check_grant - the delegation searches of one message
 * SUMMARY
 *	check_dir_grant(); privately check_grant(), check_grants_clear(),
 *	check_on_behalf_decide()
 * DESCRIPTION
 *	Send-as and on-behalf rights (ldap.delegation_filter,
 *	ldap.on_behalf_filter) are searched when policy asks for them, once
 *	per message, right and address, and kept until the message ends.
 *	An on-behalf From: address is decided at end-of-DATA, when the
 *	message's Sender: fields are known.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check_priv.h"
#include "idna.h"

enum hm_lookup check_dir_grant(void *ctx, enum hm_right right, const char *login,
                               const char *dn, const char *address,
                               struct entry **entry_r, char **detail_r)
{
    if (ctx == NULL) {
        *entry_r = NULL;
        *detail_r = strdup("out of memory");
        return HM_LOOKUP_ERROR;
    }
    return dir_grant(ctx, right, login, dn, address, entry_r, detail_r);
}

/* check_grants_clear - forget the message's delegation searches. */
void check_grants_clear(struct check_msg *m)
{
    size_t i;

    for (i = 0; i < m->ngrants; i++) {
        free(m->grants[i]->address);
        entry_unref(m->grants[i]->entry);
        free(m->grants[i]->detail);
        free(m->grants[i]);
    }
    free(m->grants);
    free(m->grant_detail);
    m->grants = NULL;
    m->ngrants = 0;
    m->grant_detail = NULL;
}

/* What a delegation search that could not be made answers. */
static const struct policy_grant check_no_grant = {HM_LOOKUP_ERROR, NULL};

/*
 * check_grant_search - search RIGHT over the address KEY (local@DOMAIN),
 * in each form of an international DOMAIN (as written, ASCII, Unicode:
 * the directory may store either) until one answers other than "not
 * found", into *G.
 */
static void check_grant_search(struct check_msg *m, enum hm_right right, const char *key,
                               const char *domain, struct check_grant *g)
{
    int llen = (int)(strrchr(key, '@') - key); /* KEY: local@domain */
    char *forms[3] = {NULL, NULL, NULL}, *address = NULL;
    const char *why;
    size_t i;

    forms[0] = strdup(domain);
    if (idna_is_international(domain, strlen(domain))) {
        idna_ascii(domain, strlen(domain), &forms[1], &why);
        idna_unicode(domain, strlen(domain), &forms[2], &why);
    }
    g->g.lookup = forms[0] != NULL ? HM_LOOKUP_NOT_FOUND : HM_LOOKUP_ERROR;
    for (i = 0; i < 3 && g->g.lookup == HM_LOOKUP_NOT_FOUND; i++) {
        if (forms[i] == NULL || (i > 0 && strcmp(forms[i], forms[0]) == 0) ||
            (i == 2 && forms[1] != NULL && strcmp(forms[2], forms[1]) == 0))
            continue;
        free(address);
        free(g->detail);
        g->detail = NULL;
        if (asprintf(&address, "%.*s@%s", llen, key, forms[i]) < 0) {
            address = NULL;
            g->g.lookup = HM_LOOKUP_ERROR;
            break;
        }
        g->g.lookup = m->grant_fn(m->lookup_ctx, right, m->login, m->entry->dn, address,
                                  &g->entry, &g->detail);
    }
    g->g.entry = g->entry;
    free(address);
    for (i = 0; i < 3; i++)
        free(forms[i]);
}

/*
 * check_grant - the answer to the search of RIGHT over ADDRESS: made
 * once per message, right and address (ASCII case aside, as the
 * directory's matching rules for addresses compare).
 */
const struct policy_grant *check_grant(struct check_msg *m, enum hm_right right,
                                       const struct addr *address)
{
    struct check_grant *g, **more;
    char *key;
    size_t i;

    /* The mailbox, not its extension: jane+x@ is searched as jane@ */
    if (asprintf(
            &key, "%.*s@%s",
            (int)addr_base_length(address->local, m->cfg->policy.extension_delimiter),
            address->local, address->domain) < 0)
        return &check_no_grant;
    for (i = 0; i < m->ngrants; i++)
        if (m->grants[i]->right == right && strcasecmp(m->grants[i]->address, key) == 0) {
            free(key);
            return &m->grants[i]->g;
        }
    /* Each apart: verdicts and requests point into them while more come. */
    g = calloc(1, sizeof(*g));
    more = g != NULL ? realloc(m->grants, (m->ngrants + 1) * sizeof(*more)) : NULL;
    if (more == NULL) {
        free(g);
        free(key);
        return &check_no_grant;
    }
    m->grants = more;
    m->grants[m->ngrants++] = g;
    g->right = right;
    g->address = key;
    check_grant_search(m, right, key, address->domain, g);
    if (g->g.lookup == HM_LOOKUP_ERROR || g->g.lookup == HM_LOOKUP_AMBIGUOUS) {
        free(m->grant_detail);
        m->grant_detail = g->detail ? strdup(g->detail) : NULL;
    }
    return &g->g;
}

/*
 * check_on_behalf_decide - an on-behalf From: address stands only with a
 * Sender: whose every address the login owns; without, it is not-owned:
 * kept as the failed decision, or in report mode as the reported one
 * unless another is.
 */
void check_on_behalf_decide(struct check_msg *m)
{
    struct check_kept *k = &m->on_behalf;

    if (k->v.reason == HM_REASON_NONE || (m->senders > 0 && !m->sender_not_owned))
        return;
    k->v.reason = HM_REASON_NOT_OWNED;
    k->v.decision = HM_REJECT;
    k->v.action = m->cfg->policy.mode == HM_MODE_REPORT ? HM_ACCEPT : HM_REJECT;
    if (k->v.action == HM_REJECT) {
        m->failed = *k;
    } else if (m->reported.v.reason == HM_REASON_NONE) {
        m->reported = *k;
        m->late_report = &m->reported;
    } else {
        check_kept_clear(k);
        return;
    }
    memset(k, 0, sizeof(*k)); /* moved */
}

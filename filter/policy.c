/*
 * NAME
 *	policy - may this login submit as this address?
 * SUMMARY
 *	policy_decide(), policy_verdict_clear(), policy_is_local(),
 *	policy_owns(), policy_shown(), policy_action_name(),
 *	policy_reason_name()
 * DESCRIPTION
 *	The whole rule of homed-milter in one pure function. The checks run
 *	in a fixed order, the first that decides wins:
 *
 *	1. not authenticated: policy.unauthenticated; a login of
 *	   policy.trusted_logins: accept (trusted-login), nothing checked;
 *	2. the directory gave no answer: policy.on_directory_error; the
 *	   login matches more than one entry: 451, always (ambiguous,
 *	   logged as directory-error);
 *	3. the login has no entry: reject (no-entry);
 *	4. the entry is not homed here: reject (not-homed);
 *	5. MAIL FROM with check_envelope off: accept (not-checked);
 *	6. the address did not parse: reject (malformed);
 *	7. the null sender at MAIL FROM: accept (null-sender);
 *	8. an extension (after policy.extension_delimiter) that holds '@',
 *	   '"', '<', '>' or white space: reject (malformed);
 *	9. the address is the entry's, or in the domain of its value
 *	   "@domain" (domains compared as international names: idna.h):
 *	   accept (owned);
 *	10. a local entry grants the login send-as over it (the search of
 *	   ldap.delegation_filter found one entry, homed here): accept
 *	   (send-as); the search failed: policy.on_directory_error;
 *	11. in From:, a local entry lets the login write on its behalf
 *	   (ldap.on_behalf_filter): accept (on-behalf), carrying the
 *	   not-owned reply check turns it into when the message has no
 *	   Sender: the login owns; the search failed: on_directory_error;
 *	12. else reject (not-owned).
 *
 *	Steps 10 and 11 need searches that policy does not make: a
 *	not-owned verdict says, through policy_wants(), which one could
 *	change it, and the caller decides again with its answer.
 *
 *	In report mode a reject of steps 1 and 3-12 becomes an accept that
 *	still carries the reply it would have sent; directory errors keep
 *	following on_directory_error. The reply text of a reject of steps
 *	3, 4, 6, 8 and 9 is that reason's policy.reject_text_* (which
 *	defaults to policy.reject_text); %s in it names the address as the
 *	client wrote it, %u the login, both made printable and cut to a sane
 *	length.
 *
 *	The 8-bit rule of the second seed, policy_decide_eight(), is apart:
 *	it looks at the message's content, not at an address, and a message
 *	failing both rules gets the homed reply (check asks it only then).
 *	Its replies are fixed by RFC 3463 (5.6.1 undeclared media, 5.6.3
 *	conversion required but not supported).
 *
 *	No I/O, no clock, no globals: safe from any thread.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idna.h"
#include "policy.h"

/* How much of a client's address goes into a reply line. */
#define POLICY_SHOWN_MAX 256

static const char *const policy_names[] = {"accept", "reject", "tempfail"};

const char *policy_action_name(enum policy_action action)
{
    return (unsigned)action <= HM_TEMPFAIL ? policy_names[action] : "unknown";
}

/* The reasons' keywords, in the order of enum policy_reason. */
static const char *const policy_reasons[] = {
    [HM_REASON_NONE] = "none",
    [HM_REASON_UNAUTHENTICATED] = "unauthenticated",
    [HM_REASON_TRUSTED] = "trusted-login",
    [HM_REASON_DIRECTORY_ERROR] = "directory-error",
    [HM_REASON_AMBIGUOUS] = "directory-error",
    [HM_REASON_NO_ENTRY] = "no-entry",
    [HM_REASON_NOT_HOMED] = "not-homed",
    [HM_REASON_NOT_CHECKED] = "not-checked",
    [HM_REASON_MALFORMED] = "malformed",
    [HM_REASON_NULL_SENDER] = "null-sender",
    [HM_REASON_OWNED] = "owned",
    [HM_REASON_SEND_AS] = "send-as",
    [HM_REASON_ON_BEHALF] = "on-behalf",
    [HM_REASON_NOT_OWNED] = "not-owned",
    [HM_REASON_UNDECLARED_8BIT] = "undeclared-8bit",
    [HM_REASON_7BIT_ONLY] = "7bit-only",
    [HM_REASON_7BIT_DOMAIN] = "7bit-only-domain",
    [HM_REASON_NO_MEMORY] = "out-of-memory",
};

_Static_assert(sizeof(policy_reasons) / sizeof(policy_reasons[0]) ==
                   HM_REASON_NO_MEMORY + 1,
               "every reason has a name");

const char *policy_reason_name(enum policy_reason reason)
{
    return (unsigned)reason < sizeof(policy_reasons) / sizeof(policy_reasons[0])
               ? policy_reasons[reason]
               : "unknown";
}

/* Compare host names ignoring ASCII case and one trailing dot. */
static bool policy_same_host(const char *a, const char *b)
{
    size_t alen = strlen(a), blen = strlen(b);

    if (alen > 1 && a[alen - 1] == '.')
        alen--;
    if (blen > 1 && b[blen - 1] == '.')
        blen--;
    return addr_same_text(a, alen, b, blen);
}

/* A hex digit's value, or -1. */
static int policy_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *policy_rdn(const char *home)
{
    const char *p = home, *eq;
    size_t n = 0, end = 0;
    char *out;

    if (home[0] == '/') /* legacy Exchange DN: its last component */
        p = strrchr(home, '/') + 1;
    if ((eq = strchr(p, '=')) == NULL ||
        (home[0] != '/' && strcspn(p, ",+") < (size_t)(eq - p)))
        return strdup(home); /* no DN: the value as it is */
    if ((out = malloc(strlen(eq) + 1)) == NULL)
        return NULL;
    for (p = eq + 1; *p == ' '; p++)
        ;
    /* up to an unescaped ',' or '+' (the first value of a multi-valued RDN) */
    for (; *p != '\0' && (home[0] == '/' || (*p != ',' && *p != '+')); p++) {
        if (*p == '\\' && home[0] != '/' && p[1] != '\0') {
            if (policy_hex(p[1]) >= 0 && policy_hex(p[2]) >= 0) {
                /* an escaped NUL would cut the value short: no RDN value */
                if ((out[n++] = (char)(policy_hex(p[1]) * 16 + policy_hex(p[2]))) ==
                    '\0') {
                    free(out);
                    return strdup(home);
                }
                p += 2;
            } else {
                out[n++] = *++p;
            }
            end = n; /* an escaped blank stays */
            continue;
        }
        out[n++] = *p;
        if (*p != ' ')
            end = n;
    }
    out[end] = '\0'; /* trailing unescaped blanks dropped */
    return out;
}

/* Whether home value HOME names one of CFG's local_hosts (HOME_VALUE says how). */
static bool policy_home_is_local(const struct cfg *cfg, const char *home)
{
    char *rdn = cfg->ldap.home_value == HM_HOME_RDN ? policy_rdn(home) : NULL;
    size_t j;
    bool local = false;

    for (j = 0; j < cfg->local_hosts.n && !local; j++)
        local =
            cfg->ldap.home_value == HM_HOME_RDN
                ? rdn != NULL && addr_same_text(rdn, strlen(rdn), cfg->local_hosts.v[j],
                                                strlen(cfg->local_hosts.v[j]))
                : policy_same_host(home, cfg->local_hosts.v[j]);
    free(rdn);
    return local;
}

bool policy_is_local(const struct cfg *cfg, const struct entry *entry)
{
    size_t i;

    if (cfg->ldap.home_attribute[0] == '\0')
        return true;
    for (i = 0; i < entry->nhomes; i++)
        if (policy_home_is_local(cfg, entry->homes[i]))
            return true;
    return false;
}

/*
 * Whether ADDRESS is the one directory value OWNED ("local@domain"), or
 * in its domain ("@domain").
 */
static bool policy_owns_one(const struct cfg *cfg, const char *owned,
                            const struct addr *address)
{
    const char *at = strrchr(owned, '@');
    size_t llen, base;

    if (at == NULL || at[1] == '\0')
        return false;
    if (!idna_same_domain(at + 1, strlen(at + 1), address->domain,
                          strlen(address->domain)))
        return false;
    if (at == owned) /* "@domain": the whole domain */
        return true;
    llen = (size_t)(at - owned);
    if (addr_same_text(owned, llen, address->local, strlen(address->local)))
        return true;
    base = addr_base_length(address->local, cfg->policy.extension_delimiter);
    return base < strlen(address->local) &&
           addr_same_text(owned, llen, address->local, base);
}

/*
 * An extension that holds '@', '"', '<', '>' or white space shows another
 * address inside the sender ("janed+JohnD@COMPANY1.com"@example.com).
 */
static bool policy_bad_extension(const struct cfg *cfg, const struct addr *address)
{
    size_t base;

    if (address == NULL || address->is_null)
        return false;
    base = addr_base_length(address->local, cfg->policy.extension_delimiter);
    return address->local[base + strcspn(address->local + base, "@\"<> \t\r\n")] != '\0';
}

const char *policy_owner(const struct cfg *cfg, const struct entry *entry,
                         const struct addr *address)
{
    size_t i;

    if (address == NULL || address->is_null)
        return NULL;
    for (i = 0; i < entry->naddresses; i++)
        if (policy_owns_one(cfg, entry->addresses[i], address))
            return entry->addresses[i];
    return NULL;
}

bool policy_owns(const struct cfg *cfg, const struct entry *entry,
                 const struct addr *address)
{
    return policy_owner(cfg, entry, address) != NULL;
}

bool policy_is_trusted(const struct cfg *cfg, const char *login)
{
    size_t i;

    for (i = 0; login != NULL && i < cfg->policy.trusted_logins.n; i++)
        if (strcmp(cfg->policy.trusted_logins.v[i], login) == 0)
            return true;
    return false;
}

/* LEN bytes of FROM, printable and bounded, in a malloc'd string. */
static char *policy_printable(const char *from, size_t len)
{
    size_t i, cut = len > POLICY_SHOWN_MAX ? POLICY_SHOWN_MAX : len;
    char *out;

    if ((out = malloc(cut + 4)) == NULL)
        return NULL;
    for (i = 0; i < cut; i++) {
        unsigned char c = (unsigned char)from[i];
        out[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
    }
    strcpy(out + cut, cut < len ? "..." : "");
    return out;
}

/* The client's address for a reply: no brackets, printable, bounded. */
char *policy_shown(const char *written)
{
    size_t len = written ? strlen(written) : 0;
    const char *from = written ? written : "";

    if (len >= 2 && from[0] == '<' && from[len - 1] == '>') {
        from++;
        len -= 2;
    }
    if (len == 0)
        return strdup("<>"); /* the null sender, named as SMTP writes it */
    return policy_printable(from, len);
}

/*
 * TEMPLATE (checked at load: only %s, %u and %%) with %s replaced by
 * SHOWN and %u by LOGIN, both printable already.
 */
static char *policy_expand(const char *template, const char *shown, const char *login)
{
    size_t len = strlen(template) + 1, n = 0;
    const char *p, *value;
    char *out;

    for (p = strchr(template, '%'); p != NULL; p = strchr(p + 2, '%'))
        len += p[1] == 's' ? strlen(shown) : p[1] == 'u' ? strlen(login) : 0;
    if ((out = malloc(len)) == NULL)
        return NULL;
    for (p = template; *p != '\0'; p++) {
        value = p[0] != '%' ? NULL : p[1] == 's' ? shown : p[1] == 'u' ? login : NULL;
        if (value != NULL) {
            memcpy(out + n, value, strlen(value));
            n += strlen(value);
            p++;
        } else {
            out[n++] = *p;
            if (p[0] == '%' && p[1] == '%')
                p++;
        }
    }
    out[n] = '\0';
    return out;
}

static int policy_set(struct policy_verdict *v, enum policy_action decision,
                      enum policy_reason reason)
{
    v->action = v->decision = decision;
    v->reason = reason;
    return 0;
}

static int policy_reply(struct policy_verdict *v, enum policy_action decision,
                        enum policy_reason reason, const char *template,
                        const struct policy_request *req)
{
    const char *login = req->login ? req->login : "";
    char *shown_login = policy_printable(login, strlen(login));

    policy_set(v, decision, reason);
    v->code = decision == HM_TEMPFAIL ? "451" : "554";
    v->xcode = decision == HM_TEMPFAIL ? "4.3.0" : "5.7.1";
    v->shown = policy_shown(req->written);
    v->text =
        v->shown && shown_login ? policy_expand(template, v->shown, shown_login) : NULL;
    free(shown_login);
    if (v->text == NULL) {
        v->action = v->decision = HM_TEMPFAIL;
        v->code = "451";
        v->xcode = "4.3.0";
        return -1;
    }
    return 0;
}

static int policy_directory_error(const struct cfg *cfg, const struct policy_request *req,
                                  struct policy_verdict *v)
{
    switch (cfg->policy.on_directory_error) {
    case HM_ONERR_ACCEPT:
        return policy_set(v, HM_ACCEPT, HM_REASON_DIRECTORY_ERROR);
    case HM_ONERR_REJECT:
        return policy_reply(v, HM_REJECT, HM_REASON_DIRECTORY_ERROR,
                            cfg->policy.reject_text, req);
    default:
        return policy_reply(v, HM_TEMPFAIL, HM_REASON_DIRECTORY_ERROR,
                            "Directory unavailable, try again later", req);
    }
}

/* A reject for REASON, with the reply text configured for it. */
static int policy_reject(const struct cfg *cfg, enum policy_reason reason,
                         const struct policy_request *req, struct policy_verdict *v)
{
    const char *text = cfg->policy.reject_text;

    if (reason == HM_REASON_NO_ENTRY)
        text = cfg->policy.reject_text_no_entry;
    else if (reason == HM_REASON_NOT_HOMED)
        text = cfg->policy.reject_text_not_homed;
    else if (reason == HM_REASON_NOT_OWNED)
        text = cfg->policy.reject_text_not_owned;
    else if (reason == HM_REASON_MALFORMED)
        text = cfg->policy.reject_text_malformed;
    return policy_reply(v, HM_REJECT, reason, text ? text : cfg->policy.reject_text, req);
}

/* Whether grant G was found, and its entry is homed here. */
static bool policy_granted(const struct cfg *cfg, const struct policy_grant *g)
{
    return g != NULL && g->lookup == HM_LOOKUP_FOUND && g->entry != NULL &&
           policy_is_local(cfg, g->entry);
}

/* Whether the search of grant G gave no answer (or two entries). */
static bool policy_grant_failed(const struct policy_grant *g)
{
    return g != NULL &&
           (g->lookup == HM_LOOKUP_ERROR || g->lookup == HM_LOOKUP_AMBIGUOUS);
}

/* Steps 10 and 11 of the DESCRIPTION: an address the entry does not own. */
static int policy_check_grants(const struct cfg *cfg, const struct policy_request *req,
                               struct policy_verdict *v)
{
    const struct policy_grant *on_behalf = req->from ? req->on_behalf : NULL;
    int rc;

    if (policy_granted(cfg, req->send_as)) {
        v->owner = req->send_as->entry->dn;
        return policy_set(v, HM_ACCEPT, HM_REASON_SEND_AS);
    }
    if (policy_grant_failed(req->send_as))
        return policy_directory_error(cfg, req, v);
    if (policy_granted(cfg, on_behalf)) {
        /* with the reply it becomes when no Sender: of the login's comes */
        rc = policy_reject(cfg, HM_REASON_NOT_OWNED, req, v);
        v->action = v->decision = rc == 0 ? HM_ACCEPT : v->action;
        v->reason = rc == 0 ? HM_REASON_ON_BEHALF : v->reason;
        v->owner = on_behalf->entry->dn;
        return rc;
    }
    if (policy_grant_failed(on_behalf))
        return policy_directory_error(cfg, req, v);
    return policy_reject(cfg, HM_REASON_NOT_OWNED, req, v);
}

bool policy_wants(const struct cfg *cfg, const struct policy_request *req,
                  const struct policy_verdict *v, enum hm_right *right_r)
{
    if (v->reason != HM_REASON_NOT_OWNED || req->address == NULL || req->entry == NULL)
        return false;
    if (req->send_as == NULL && cfg->ldap.delegation_filter[0] != '\0') {
        *right_r = HM_RIGHT_SEND_AS;
        return true;
    }
    if (req->from && req->on_behalf == NULL && cfg->ldap.on_behalf_filter[0] != '\0') {
        *right_r = HM_RIGHT_ON_BEHALF;
        return true;
    }
    return false;
}

/* Steps 3 to 8 of the DESCRIPTION, for an authenticated login. */
static int policy_check_entry(const struct cfg *cfg, const struct policy_request *req,
                              struct policy_verdict *v)
{
    if (req->lookup == HM_LOOKUP_NOT_FOUND || req->entry == NULL)
        return policy_reject(cfg, HM_REASON_NO_ENTRY, req, v);
    if (!policy_is_local(cfg, req->entry))
        return policy_reject(cfg, HM_REASON_NOT_HOMED, req, v);
    if (req->stage == HM_STAGE_MAIL && !cfg->policy.check_envelope)
        return policy_set(v, HM_ACCEPT, HM_REASON_NOT_CHECKED);
    if (req->address == NULL)
        return policy_reject(cfg, HM_REASON_MALFORMED, req, v);
    if (req->address->is_null && req->stage == HM_STAGE_MAIL)
        return policy_set(v, HM_ACCEPT, HM_REASON_NULL_SENDER);
    if (policy_bad_extension(cfg, req->address))
        return policy_reject(cfg, HM_REASON_MALFORMED, req, v);
    if ((v->owner = policy_owner(cfg, req->entry, req->address)) != NULL)
        return policy_set(v, HM_ACCEPT, HM_REASON_OWNED);
    return policy_check_grants(cfg, req, v);
}

int policy_decide(const struct cfg *cfg, const struct policy_request *req,
                  struct policy_verdict *v)
{
    int rc;

    memset(v, 0, sizeof(*v));
    if (req->login == NULL) {
        if (cfg->policy.unauthenticated == HM_UNAUTH_ACCEPT)
            return policy_set(v, HM_ACCEPT, HM_REASON_UNAUTHENTICATED);
        rc = policy_reply(v, HM_REJECT, HM_REASON_UNAUTHENTICATED,
                          "Authentication required to submit mail", req);
    } else if (policy_is_trusted(cfg, req->login)) {
        return policy_set(v, HM_ACCEPT, HM_REASON_TRUSTED);
    } else if (req->lookup == HM_LOOKUP_AMBIGUOUS) {
        /* Never a pick between two mailboxes, whatever on_directory_error says. */
        return policy_reply(v, HM_TEMPFAIL, HM_REASON_AMBIGUOUS,
                            "Directory unavailable, try again later", req);
    } else if (req->lookup == HM_LOOKUP_ERROR) {
        return policy_directory_error(cfg, req, v);
    } else {
        rc = policy_check_entry(cfg, req, v);
    }
    if (rc == 0 && v->decision == HM_REJECT && cfg->policy.mode == HM_MODE_REPORT)
        v->action = HM_ACCEPT;
    return rc;
}

int policy_decide_eight(const struct cfg *cfg, const struct policy_eight *req,
                        struct policy_verdict *v)
{
    memset(v, 0, sizeof(*v));
    if (!req->found)
        return policy_set(v, HM_ACCEPT, HM_REASON_NONE);
    if (!req->declared && cfg->eight_bit.undeclared == HM_UNDECLARED_REJECT) {
        policy_set(v, HM_REJECT, HM_REASON_UNDECLARED_8BIT);
        v->xcode = "5.6.1";
        v->text = strdup("Undeclared 8-bit data (BODY=8BITMIME missing)");
    } else if (cfg->eight_bit.seven_bit_only) {
        policy_set(v, HM_REJECT, HM_REASON_7BIT_ONLY);
        v->xcode = "5.6.3";
        v->text = strdup("Conversion to 7-bit required but not supported");
    } else if (req->domain != NULL) {
        policy_set(v, HM_REJECT, HM_REASON_7BIT_DOMAIN);
        v->xcode = "5.6.3";
        if (asprintf(&v->text,
                     "8-bit data cannot be relayed to %s (7-bit only); resend as 7-bit",
                     req->domain) < 0)
            v->text = NULL;
    } else {
        return policy_set(v, HM_ACCEPT, HM_REASON_NONE);
    }
    v->code = "554";
    v->shown = policy_shown(req->sender);
    if (v->text == NULL || v->shown == NULL) {
        policy_verdict_clear(v);
        v->action = v->decision = HM_TEMPFAIL;
        v->code = "451";
        v->xcode = "4.3.0";
        v->reason = HM_REASON_NO_MEMORY;
        return -1;
    }
    if (cfg->policy.mode == HM_MODE_REPORT)
        v->action = HM_ACCEPT;
    return 0;
}

void policy_verdict_clear(struct policy_verdict *v)
{
    free(v->text);
    free(v->shown);
    memset(v, 0, sizeof(*v));
}

/*
 * NAME
 *	query - the -q troubleshooting mode
 * SUMMARY
 *	query_run()
 * DESCRIPTION
 *	Does what the milter does for one login, with the real directory
 *	and the real policy, and prints what it found so that an
 *	administrator sees why. A value that is an envelope sender, or in
 *	angle brackets, is decided as MAIL FROM would; "FIELD: value" (a
 *	checked field), or any other value, is read as that field (From by
 *	default) and every address in it decided as end-of-DATA would, those
 *	display names show included:
 *
 *	    VERDICT-LINE                             (the first that is not accept)
 *	    entry DN home=H1,H2 addresses=A1,A2     (or: entry none: ...,
 *	                                              or: error ..., or: entry
 *	                                              not looked up: ...)
 *	    reason KEYWORD: explanation              (one per address; those a
 *	                                              display name shows start
 *	                                              "(display name) ")
 *
 *	Runs in one thread, from the command line.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "check.h"
#include "directory.h"
#include "idna.h"
#include "policy.h"
#include "query.h"

static void query_print_list(FILE *out, const char *label, char *const *v, size_t n)
{
    size_t i;

    fprintf(out, " %s=", label);
    if (n == 0)
        fputs("(none)", out);
    for (i = 0; i < n; i++)
        fprintf(out, "%s%s", i ? "," : "", v[i]);
}

/* With home_value "rdn": what of each home value was compared. */
static void query_print_rdns(FILE *out, const struct cfg *cfg, const struct entry *e)
{
    size_t i;
    char *rdn;

    if (cfg->ldap.home_value != HM_HOME_RDN || e->nhomes == 0)
        return;
    fputs(" (compared:", out);
    for (i = 0; i < e->nhomes; i++) {
        rdn = policy_rdn(e->homes[i]);
        fprintf(out, "%s\"%s\"", i ? ", " : " ", rdn ? rdn : "?");
        free(rdn);
    }
    fputc(')', out);
}

/* With prefixed attributes: which values the addresses are. */
static void query_print_prefixed(FILE *out, const struct cfg *cfg)
{
    size_t i;

    if (cfg->ldap.prefixed_attributes.n == 0)
        return;
    fputs(" (of", out);
    for (i = 0; i < cfg->ldap.prefixed_attributes.n; i++)
        fprintf(out, "%s%s", i ? ", " : " ", cfg->ldap.prefixed_attributes.v[i]);
    fputs(": the smtp: values only, without the prefix)", out);
}

static void query_print_evidence(FILE *out, const struct cfg *cfg, enum hm_lookup lookup,
                                 const struct entry *e, const char *detail)
{
    if (lookup == HM_LOOKUP_FOUND) {
        fprintf(out, "entry %s", e->dn);
        query_print_list(out, "home", e->homes, e->nhomes);
        query_print_rdns(out, cfg, e);
        query_print_list(out, "addresses", e->addresses, e->naddresses);
        query_print_prefixed(out, cfg);
        if (detail != NULL) /* kept through an outage: cache.stale_ttl */
            fprintf(out, " (from the cache, %s)", detail);
        fputc('\n', out);
    } else if (lookup == HM_LOOKUP_NOT_FOUND) {
        fprintf(out, "entry none: %s\n", detail ? detail : "no such login");
    } else {
        fprintf(out, "error %s\n", detail ? detail : "out of memory");
    }
}

/* What an explanation names: nothing, the address, or a configured value. */
enum query_arg { QUERY_NONE, QUERY_ADDRESS, QUERY_BASE, QUERY_HOME, QUERY_LOCAL_HOSTS };

/*
 * What -q says of each reason: BEFORE, the value ARG names, AFTER, and
 * for some a second value ARG2 and what follows it, TAIL.
 */
static const struct query_explain {
    const char *before;
    enum query_arg arg;
    const char *after;
    enum query_arg arg2;
    const char *tail;
} query_explains[] = {
    [HM_REASON_NONE] = {"see the policy", QUERY_NONE, ""},
    [HM_REASON_UNAUTHENTICATED] = {"see the policy", QUERY_NONE, ""},
    [HM_REASON_TRUSTED] = {"the login is one of policy.trusted_logins: its mail is not "
                           "checked",
                           QUERY_NONE, ""},
    [HM_REASON_DIRECTORY_ERROR] = {"the directory gave no answer to decide on (the "
                                   "error line says why: down, timed out, the bind "
                                   "refused); "
                                   "policy.on_directory_error decides",
                                   QUERY_NONE, ""},
    [HM_REASON_AMBIGUOUS] = {"the login matches more than one entry: never a pick, "
                             "always 451",
                             QUERY_NONE, ""},
    [HM_REASON_NO_ENTRY] = {"the login has no entry under ", QUERY_BASE, ""},
    [HM_REASON_NOT_HOMED] = {"no ", QUERY_HOME, " value is one of local_hosts (",
                             QUERY_LOCAL_HOSTS, ")"},
    /* with ldap.home_value "rdn": see query_print_reason */
    [HM_REASON_NOT_CHECKED] = {"policy.check_envelope is false", QUERY_NONE, ""},
    [HM_REASON_MALFORMED] = {"the extension of ", QUERY_ADDRESS,
                             " holds '@', '\"', '<', '>' or white space"},
    [HM_REASON_NULL_SENDER] = {"the null sender is accepted at MAIL FROM; headers are "
                               "still checked",
                               QUERY_NONE, ""},
    [HM_REASON_OWNED] = {"", QUERY_ADDRESS, " is an address of this entry"},
    [HM_REASON_NOT_OWNED] = {"", QUERY_ADDRESS, " is not an address of this entry"},
    [HM_REASON_SEND_AS] = {"", QUERY_ADDRESS, " may be sent as: a local entry grants it"},
    [HM_REASON_ON_BEHALF] =
        {"", QUERY_ADDRESS,
         " may be written on behalf of, in From: only, with a Sender: "
         "the login owns"},
    [HM_REASON_UNDECLARED_8BIT] = {"see the policy", QUERY_NONE, ""},
    [HM_REASON_7BIT_ONLY] = {"see the policy", QUERY_NONE, ""},
    [HM_REASON_7BIT_DOMAIN] = {"see the policy", QUERY_NONE, ""},
    [HM_REASON_NO_MEMORY] = {"out of memory while deciding", QUERY_NONE, ""},
};

_Static_assert(sizeof(query_explains) / sizeof(query_explains[0]) ==
                   HM_REASON_NO_MEMORY + 1,
               "every reason has an explanation");

/*
 * query_print_domain - how the domain of ADDRESS (as written) compared:
 * its ASCII form when it is an international one.
 */
static void query_print_domain(FILE *out, const char *address)
{
    const char *at = address != NULL ? strrchr(address, '@') : NULL;
    size_t len;
    char *ascii = NULL;
    const char *why;

    if (at == NULL)
        return;
    len = strlen(at + 1);
    if (len > 0 && at[len] == '>')
        len--;
    if (!idna_is_international(at + 1, len))
        return;
    if (idna_ascii(at + 1, len, &ascii, &why) == 0)
        fprintf(out, " (international domain %.*s, compared as %s)", (int)len, at + 1,
                ascii);
    else
        fprintf(out, " (international domain %.*s: %s)", (int)len, at + 1, why);
    free(ascii);
}

/* CFG's local_hosts, comma-separated, in a malloc'd string (NULL: no memory). */
static char *query_local_hosts(const struct cfg *cfg)
{
    size_t i, len = 1;
    char *out;

    for (i = 0; i < cfg->local_hosts.n; i++)
        len += strlen(cfg->local_hosts.v[i]) + 2;
    if ((out = malloc(len)) == NULL)
        return NULL;
    out[0] = '\0';
    for (i = 0; i < cfg->local_hosts.n; i++) {
        if (i > 0)
            strcat(out, ", ");
        strcat(out, cfg->local_hosts.v[i]);
    }
    return out;
}

static void query_print_reason(FILE *out, const struct check_msg *m,
                               const struct check_result *r)
{
    const struct policy_verdict *v = &r->v;
    const struct query_explain *e = &query_explains[HM_REASON_NONE];
    char *hosts = query_local_hosts(m->cfg);
    const char *args[] = {[QUERY_NONE] = "",
                          [QUERY_ADDRESS] = r->written ? r->written : "",
                          [QUERY_BASE] = m->cfg->ldap.base,
                          [QUERY_HOME] = m->cfg->ldap.home_attribute,
                          [QUERY_LOCAL_HOSTS] = hosts ? hosts : "?"};

    if ((unsigned)v->reason < sizeof(query_explains) / sizeof(query_explains[0]))
        e = &query_explains[v->reason];
    fprintf(out, "reason %s: ", policy_reason_name(v->reason));
    if (v->reason == HM_REASON_MALFORMED && r->parse_error != NULL)
        fprintf(out, "the address does not parse: %s", r->parse_error);
    else if (v->reason == HM_REASON_NOT_HOMED && m->cfg->ldap.home_value == HM_HOME_RDN)
        fprintf(out, "the most specific RDN of no %s value is one of local_hosts (%s)",
                args[QUERY_HOME], args[QUERY_LOCAL_HOSTS]);
    else if (v->reason == HM_REASON_OWNED && v->owner != NULL && v->owner[0] == '@')
        fprintf(out, "%s is in the domain of this entry's value %s", args[QUERY_ADDRESS],
                v->owner);
    else if (v->reason == HM_REASON_SEND_AS && v->owner != NULL)
        fprintf(out,
                "%s may be sent as: %s grants it (ldap.delegation_filter) and is "
                "homed here",
                args[QUERY_ADDRESS], v->owner);
    else if (v->reason == HM_REASON_ON_BEHALF && v->owner != NULL)
        fprintf(out,
                "%s may be written on behalf of: %s grants it (ldap.on_behalf_filter) "
                "and is homed here; in From: only, and only with a Sender: the login "
                "owns",
                args[QUERY_ADDRESS], v->owner);
    else
        fprintf(out, "%s%s%s%s%s", e->before, args[e->arg], e->after, args[e->arg2],
                e->tail ? e->tail : "");
    if (v->reason == HM_REASON_OWNED || v->reason == HM_REASON_NOT_OWNED ||
        v->reason == HM_REASON_MALFORMED || v->reason == HM_REASON_SEND_AS ||
        v->reason == HM_REASON_ON_BEHALF)
        query_print_domain(out, r->written);
    /* A delegation search's error: the login's own was found. */
    if (v->reason == HM_REASON_DIRECTORY_ERROR && m->lookup == HM_LOOKUP_FOUND &&
        check_detail(m, v) != NULL)
        fprintf(out, " (delegation search: %s)", check_detail(m, v));
    if (v->action != v->decision)
        fprintf(out, " (report mode: would %s %s %s %s)", policy_action_name(v->decision),
                v->code, v->xcode, v->text);
    fputc('\n', out);
    free(hosts);
}

/*
 * query_field - the header field VALUE names ("From: ..." for a checked
 * field): its name in *NAME_R (malloc'd) and where its value starts; or
 * NULL when VALUE starts with no checked field's name.
 */
static const char *query_field(const struct cfg *cfg, const char *value, char **name_r)
{
    size_t n = strcspn(value, ":");

    *name_r = NULL;
    if (value[n] != ':' || n == 0 || (*name_r = strndup(value, n)) == NULL)
        return NULL;
    if (!check_is_field(cfg, *name_r)) {
        free(*name_r);
        *name_r = NULL;
        return NULL;
    }
    return value + n + 1;
}

/* query_angled - whether VALUE, blanks aside, is all in angle brackets. */
static bool query_angled(const char *value)
{
    size_t n;

    value += strspn(value, " \t");
    n = strlen(value);
    while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t'))
        n--;
    return n >= 2 && value[0] == '<' && value[n - 1] == '>';
}

/* query_is_envelope - whether VALUE is an envelope sender, or meant as one. */
static bool query_is_envelope(const char *value)
{
    struct addr env = {0};
    const char *why;
    bool parsed = addr_parse_envelope(value, strlen(value), &env, &why) == 0;

    addr_free(&env);
    return parsed || query_angled(value);
}

/*
 * query_decide - the decisions on VALUE, into *RS: "FIELD: value" for a
 * checked field, or any value that is neither an envelope sender nor in
 * angle brackets, is read as that field (From by default) and every
 * address decided as end-of-DATA would; the others are decided as MAIL
 * FROM would. Returns 0, or -1 when out of memory.
 */
static int query_decide(struct check_msg *m, const char *value, struct check_results *rs)
{
    char *name = NULL;
    const char *body = query_field(m->cfg, value, &name);
    int rc;

    if (body == NULL && query_is_envelope(value)) {
        if ((rs->v = calloc(1, sizeof(*rs->v))) == NULL)
            return -1;
        rs->n = 1;
        return check_envelope(m, value, rs->v);
    }
    body = body != NULL ? body + strspn(body, " \t") : value;
    rc = check_field(m, name != NULL ? name : "From", body, rs);
    free(name);
    return rc;
}

int query_run(struct cfg *cfg, const char *login, const char *value, FILE *out)
{
    struct check_results rs = {NULL, 0};
    const struct check_result *first;
    struct dir *dir = dir_new(cfg);
    struct check_msg m;
    size_t i;
    int rc;

    check_begin(&m, cfg, check_dir_lookup, check_dir_grant, dir);
    m.explain = true;
    check_login(&m, login);
    query_decide(&m, value, &rs); /* out of memory: what was decided is shown */
    if (rs.n == 0) {
        fputs("tempfail 451 4.3.0 out of memory\n", out);
        rc = 2;
        goto out;
    }
    /* As end-of-DATA: the first decision that is not an accept speaks. */
    for (i = 0; i + 1 < rs.n && rs.v[i].v.action == HM_ACCEPT; i++)
        ;
    first = &rs.v[i];
    fputs(policy_action_name(first->v.action), out);
    if (first->v.action != HM_ACCEPT)
        fprintf(out, " %s %s %s", first->v.code, first->v.xcode,
                first->v.text ? first->v.text : "");
    fputc('\n', out);
    if (policy_is_trusted(cfg, login))
        fputs("entry not looked up: the login is trusted\n", out);
    else
        query_print_evidence(out, cfg, m.lookup, m.entry, m.detail);
    for (i = 0; i < rs.n; i++) {
        if (rs.v[i].in_name)
            fputs("(display name) ", out);
        query_print_reason(out, &m, &rs.v[i]);
    }
    rc = first->v.action == HM_ACCEPT ? 0 : first->v.action == HM_REJECT ? 1 : 2;
out:
    check_results_clear(&rs);
    check_end(&m);
    dir_free(dir);
    return rc;
}

/*
 * NAME
 *	query - the -q troubleshooting mode
 * SUMMARY
 *	query_run()
 * DESCRIPTION
 *	Does what the milter does at MAIL FROM for one login and one
 *	address, with the real directory and the real policy, and prints
 *	what it found so that an administrator sees why:
 *
 *	    VERDICT-LINE
 *	    entry DN home=H1,H2 addresses=A1,A2     (or: entry none: ...,
 *	                                              or: error ...)
 *	    reason KEYWORD: explanation
 *
 *	Runs in one thread, from the command line.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "directory.h"
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

static void query_print_evidence(FILE *out, enum hm_lookup lookup, const struct entry *e,
                                 const char *detail)
{
    if (lookup == HM_LOOKUP_FOUND) {
        fprintf(out, "entry %s", e->dn);
        query_print_list(out, "home", e->homes, e->nhomes);
        query_print_list(out, "addresses", e->addresses, e->naddresses);
        fputc('\n', out);
    } else if (lookup == HM_LOOKUP_NOT_FOUND) {
        fprintf(out, "entry none: %s\n", detail ? detail : "no such login");
    } else {
        fprintf(out, "error %s\n", detail ? detail : "out of memory");
    }
}

static void query_print_reason(FILE *out, const struct cfg *cfg, enum hm_lookup lookup,
                               const struct policy_verdict *v, const char *address,
                               const char *parse_error)
{
    const char *r = v->reason;

    fprintf(out, "reason %s: ", r);
    if (strcmp(r, "owned") == 0)
        fprintf(out, "%s is an address of this entry", address);
    else if (strcmp(r, "not-owned") == 0)
        fprintf(out, "%s is not an address of this entry", address);
    else if (strcmp(r, "no-entry") == 0)
        fprintf(out, "the login has no entry under %s", cfg->ldap.base);
    else if (strcmp(r, "not-homed") == 0)
        fprintf(out, "no %s value is one of local_hosts", cfg->ldap.home_attribute);
    else if (strcmp(r, "null-sender") == 0)
        fputs("the null sender is accepted at MAIL FROM; headers are still checked", out);
    else if (strcmp(r, "not-checked") == 0)
        fputs("policy.check_envelope is false", out);
    else if (strcmp(r, "malformed") == 0)
        fprintf(out, "the address does not parse: %s", parse_error);
    else if (strcmp(r, "directory-error") == 0 && lookup == HM_LOOKUP_AMBIGUOUS)
        fputs("the login matches more than one entry: never a pick, always 451", out);
    else if (strcmp(r, "directory-error") == 0)
        fputs("no answer from the directory; policy.on_directory_error decides", out);
    else
        fputs("see the policy", out);
    if (v->action != v->decision)
        fprintf(out, " (report mode: would %s %s %s %s)", policy_action_name(v->decision),
                v->code, v->xcode, v->text);
    fputc('\n', out);
}

int query_run(struct cfg *cfg, const char *login, const char *address, FILE *out)
{
    struct policy_request req = {login, HM_STAGE_MAIL,   address,
                                 NULL,  HM_LOOKUP_ERROR, NULL};
    struct policy_verdict v;
    struct entry *entry = NULL;
    struct addr parsed = {0};
    struct dir *dir = dir_new(cfg);
    const char *parse_error = NULL;
    char *detail = NULL;
    enum policy_action action;

    if (dir != NULL)
        req.lookup = dir_lookup(dir, login, &entry, &detail);
    else
        detail = strdup("out of memory");
    req.entry = entry;
    /* As the milter does: the reply names the parsed address as written. */
    if (addr_parse_envelope(address, strlen(address), &parsed, &parse_error) == 0) {
        req.address = &parsed;
        req.written = parsed.written;
    }
    policy_decide(cfg, &req, &v);
    action = v.action;
    fputs(policy_action_name(v.action), out);
    if (v.action != HM_ACCEPT)
        fprintf(out, " %s %s %s", v.code, v.xcode, v.text ? v.text : "");
    fputc('\n', out);
    query_print_evidence(out, req.lookup, entry, detail);
    query_print_reason(out, cfg, req.lookup, &v,
                       parsed.written ? parsed.written : address, parse_error);
    policy_verdict_clear(&v);
    addr_free(&parsed);
    entry_unref(entry);
    free(detail);
    dir_free(dir);
    return action == HM_ACCEPT ? 0 : action == HM_REJECT ? 1 : 2;
}

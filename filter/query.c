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
 *	                                              or: error ...)
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
    else if (strcmp(r, "malformed") == 0 && parse_error != NULL)
        fprintf(out, "the address does not parse: %s", parse_error);
    else if (strcmp(r, "malformed") == 0)
        fprintf(out, "the extension of %s holds '@', '\"', '<', '>' or white space",
                address);
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

/* One decision of a query, and what it was about. */
struct query_item {
    struct policy_verdict v;
    const char *address; /* as shown in the reason line */
    bool in_name;
};

/* The directory's answer for the login of a query. */
struct query_lookup {
    enum hm_lookup lookup;
    struct entry *entry;
    char *detail;
};

/* query_decide - decide on ADDRESS (NULL: malformed) as WRITTEN into *IT. */
static void query_decide(const struct cfg *cfg, const char *login,
                         const struct query_lookup *lk, enum policy_stage stage,
                         const char *written, const struct addr *address,
                         struct query_item *it)
{
    struct policy_request req = {login, stage, written, address, lk->lookup, lk->entry};

    policy_decide(cfg, &req, &it->v);
    it->address = written;
    it->in_name = address != NULL && address->in_name;
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

/*
 * query_items - the decisions on VALUE: "FIELD: value" for a checked
 * field, or any value that is neither an envelope sender nor in angle
 * brackets, is read as that field (From by default) and every address
 * decided as end-of-DATA would; the others are decided as MAIL FROM
 * would. Fills *LIST (the parsed addresses the items point into), *SHOWN
 * and *PARSE_ERROR_R; returns a calloc'd array of *N_R items, or NULL when
 * out of memory.
 */
static struct query_item *query_items(const struct cfg *cfg, const char *login,
                                      const struct query_lookup *lk, const char *value,
                                      struct addr_list *list, char **shown,
                                      const char **parse_error_r, size_t *n_r)
{
    struct query_item *items = NULL;
    struct addr env = {0};
    const char *body = query_field(cfg, value, shown);
    const char *field = body != NULL ? *shown : "From";
    size_t i;

    *n_r = 1;
    if (body == NULL &&
        addr_parse_envelope(value, strlen(value), &env, parse_error_r) < 0 &&
        query_angled(value)) { /* meant as MAIL FROM, and malformed there */
        if ((items = calloc(1, sizeof(*items))) != NULL)
            query_decide(cfg, login, lk, HM_STAGE_MAIL, value, NULL, items);
        return items;
    }
    *parse_error_r = NULL;
    if (body == NULL && env.written != NULL) {
        if ((list->v = malloc(sizeof(*list->v))) == NULL) {
            addr_free(&env);
            return NULL;
        }
        list->v[0] = env;
        list->n = list->cap = 1;
        if ((items = calloc(1, sizeof(*items))) != NULL)
            query_decide(cfg, login, lk, HM_STAGE_MAIL, env.written, list->v, items);
        return items;
    }
    body = body != NULL ? body + strspn(body, " \t") : value;
    if (check_field(cfg, field, body, list, parse_error_r) < 0) {
        char *named = check_field_shown(field, body);

        free(*shown); /* the field's name, which FIELD may point to */
        if ((*shown = named) != NULL && (items = calloc(1, sizeof(*items))) != NULL)
            query_decide(cfg, login, lk, HM_STAGE_HEADER, *shown, NULL, items);
        return items;
    }
    *n_r = list->n;
    if ((items = calloc(list->n, sizeof(*items))) != NULL)
        for (i = 0; i < list->n; i++)
            query_decide(cfg, login, lk, HM_STAGE_HEADER, list->v[i].written, &list->v[i],
                         &items[i]);
    return items;
}

int query_run(struct cfg *cfg, const char *login, const char *value, FILE *out)
{
    struct query_lookup lk = {HM_LOOKUP_ERROR, NULL, NULL};
    struct query_item *items, *first;
    struct addr_list list = {0};
    struct dir *dir = dir_new(cfg);
    const char *parse_error = NULL;
    char *shown = NULL;
    size_t n = 0, i;
    int rc;

    if (dir != NULL)
        lk.lookup = dir_lookup(dir, login, &lk.entry, &lk.detail);
    else
        lk.detail = strdup("out of memory");
    items = query_items(cfg, login, &lk, value, &list, &shown, &parse_error, &n);
    if (items == NULL) {
        fputs("tempfail 451 4.3.0 out of memory\n", out);
        rc = 2;
        goto out;
    }
    /* As end-of-DATA: the first decision that is not an accept speaks. */
    for (i = 0; i + 1 < n && items[i].v.action == HM_ACCEPT; i++)
        ;
    first = &items[i];
    fputs(policy_action_name(first->v.action), out);
    if (first->v.action != HM_ACCEPT)
        fprintf(out, " %s %s %s", first->v.code, first->v.xcode,
                first->v.text ? first->v.text : "");
    fputc('\n', out);
    query_print_evidence(out, lk.lookup, lk.entry, lk.detail);
    for (i = 0; i < n; i++) {
        if (items[i].in_name)
            fputs("(display name) ", out);
        query_print_reason(out, cfg, lk.lookup, &items[i].v, items[i].address,
                           parse_error);
    }
    rc = first->v.action == HM_ACCEPT ? 0 : first->v.action == HM_REJECT ? 1 : 2;
out:
    for (i = 0; items != NULL && i < n; i++)
        policy_verdict_clear(&items[i].v);
    free(items);
    free(shown);
    addr_list_free(&list);
    entry_unref(lk.entry);
    free(lk.detail);
    dir_free(dir);
    return rc;
}

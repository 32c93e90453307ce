/*
 * dir_filter.h - LDAP filter templates (private to the directory module,
 * whose template check the configuration calls too)
 *
 * One syntax, known here only: a template is a filter in parentheses in
 * which %u (the login), %l (its part before the last '@'), %d (after it)
 * and %% stand; %s (an address) and %D (the login's entry DN) stand only
 * where the caller allows them. dir_filter_parse() checks a template at
 * load; dir_filter_expand() puts the values in, escaped per RFC 4515.
 *
 * The checks are static inline so that the configuration's check needs
 * no libldap. Pure and thread-safe.
 */
#ifndef HM_DIR_FILTER_H
#define HM_DIR_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* What a template may use besides %u, %l, %d and %%. */
#define HM_FILTER_ALLOW_ADDRESS 0x1u /* %s: the address */
#define HM_FILTER_ALLOW_DN      0x2u /* %D: the DN of the login's entry */

/* What a %-sequence stands for. */
enum dir_filter_seq {
    HM_FILTER_SEQ_BAD,     /* unknown, or not allowed here */
    HM_FILTER_SEQ_PERCENT, /* %%: a '%' */
    HM_FILTER_SEQ_LOGIN,   /* %u */
    HM_FILTER_SEQ_LOCAL,   /* %l */
    HM_FILTER_SEQ_DOMAIN,  /* %d */
    HM_FILTER_SEQ_ADDRESS, /* %s */
    HM_FILTER_SEQ_DN,      /* %D */
};

/*
 * dir_filter_seq - what the sequence '%' C stands for where ALLOW
 * (HM_FILTER_ALLOW_*) is allowed; HM_FILTER_SEQ_BAD for any other C.
 */
static inline enum dir_filter_seq dir_filter_seq(char c, unsigned allow)
{
    switch (c) {
    case '%':
        return HM_FILTER_SEQ_PERCENT;
    case 'u':
        return HM_FILTER_SEQ_LOGIN;
    case 'l':
        return HM_FILTER_SEQ_LOCAL;
    case 'd':
        return HM_FILTER_SEQ_DOMAIN;
    case 's':
        return allow & HM_FILTER_ALLOW_ADDRESS ? HM_FILTER_SEQ_ADDRESS
                                               : HM_FILTER_SEQ_BAD;
    case 'D':
        return allow & HM_FILTER_ALLOW_DN ? HM_FILTER_SEQ_DN : HM_FILTER_SEQ_BAD;
    default:
        return HM_FILTER_SEQ_BAD;
    }
}

/*
 * dir_filter_refusal - the static message for a sequence ALLOW does not
 * allow: the configuration's, or (EXPANDING) the expansion's.
 */
static inline const char *dir_filter_refusal(unsigned allow, bool expanding)
{
#define HM_FILTER_ONLY(list)                                                             \
    {                                                                                    \
        "only " list " and %% may be used",                                              \
            "only " list " and %% may be used in a filter"                               \
    }
    static const char *const only[4][2] = {
        HM_FILTER_ONLY("%u, %l, %d"),
        HM_FILTER_ONLY("%u, %l, %d, %s"),
        HM_FILTER_ONLY("%u, %l, %d, %D"),
        HM_FILTER_ONLY("%u, %l, %d, %s, %D"),
    };
#undef HM_FILTER_ONLY

    return only[allow & 3u][expanding];
}

/*
 * dir_filter_parse - check TEMPLATE: enclosed in parentheses, balanced,
 * no control character, no %-sequence but %u, %l, %d, %% and those ALLOW
 * (HM_FILTER_ALLOW_*) adds. Returns 0, or -1 with a static message in
 * *error_r.
 */
static inline int dir_filter_parse(const char *template, unsigned allow,
                                   const char **error_r)
{
    const char *p;
    long depth = 0;

    *error_r = NULL;
    if (template[0] != '(' || template[strlen(template) - 1] != ')')
        *error_r = "a filter must be enclosed in parentheses";
    for (p = template; *error_r == NULL && *p != '\0'; p++) {
        if (*p == '%') {
            if (dir_filter_seq(*++p, allow) == HM_FILTER_SEQ_BAD)
                *error_r = dir_filter_refusal(allow, false);
        } else if (*p == '(') {
            depth++;
        } else if (*p == ')' && --depth < 0) {
            *error_r = "unbalanced parentheses";
        } else if ((unsigned char)*p < ' ' || (unsigned char)*p == 0x7f) {
            *error_r = "must not hold control characters";
        }
    }
    if (*error_r == NULL && depth != 0)
        *error_r = "unbalanced parentheses";
    return *error_r == NULL ? 0 : -1;
}

/*
 * dir_filter_expand - TEMPLATE with %u (LOGIN), %l (before its last '@'),
 * %d (after it; empty when none), %s (ADDRESS), %D (DN) and %% put in,
 * every value escaped per RFC 4515. %s and %D are allowed only when their
 * value is not NULL. Returns 0 and a malloc'd filter in *filter_r, or -1
 * with a static message in *error_r.
 */
int dir_filter_expand(const char *template, const char *login, const char *address,
                      const char *dn, char **filter_r, const char **error_r);

/*
 * dir_filter_escape - VALUE (LEN bytes, NUL allowed) escaped per RFC 4515:
 * '*', '(', ')', backslash, NUL and every byte >= 0x80 become \XX. Returns 0
 * and a malloc'd string in *escaped_r, or -1 when out of memory.
 */
int dir_filter_escape(const char *value, size_t len, char **escaped_r);

#endif

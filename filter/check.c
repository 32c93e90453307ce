/*
 * NAME
 *	check - what of a message is checked, and how
 * SUMMARY
 *	check_is_field(), check_field(), check_field_shown()
 * DESCRIPTION
 *	The milter at end-of-DATA and -q with a header field value read a
 *	field through check_field(), so that both decide on the same
 *	addresses: those a recipient's mail client shows (the mailboxes, and
 *	the addresses display names and comments show), or none when the
 *	field is malformed. RFC 5322 allows no group in an originator field;
 *	mutt shows a group's name as the author, so one there is malformed.
 *
 *	Pure: no I/O, no globals; safe from any thread.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check.h"

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

int check_field(const struct cfg *cfg, const char *name, const char *value,
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

char *check_field_shown(const char *name, const char *value)
{
    char *out;

    if (!check_blank(value))
        return strdup(value);
    if (asprintf(&out, "%s:", name) < 0)
        return NULL;
    return out;
}

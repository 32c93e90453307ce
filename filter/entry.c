/*
 * NAME
 *	entry - what the directory knows about one login
 * SUMMARY
 *	entry_new(), entry_add_home(), entry_add_address(), entry_add_prefixed(),
 *	entry_ref(), entry_unref()
 * DESCRIPTION
 *	An entry is filled by one thread, then shared read-only. The
 *	reference count is atomic, so references may be taken and dropped
 *	from any thread once the entry is shared.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "entry.h"

struct entry *entry_new(const char *dn)
{
    struct entry *e = calloc(1, sizeof(*e));

    if (e == NULL)
        return NULL;
    e->dn = strdup(dn);
    if (e->dn == NULL) {
        free(e);
        return NULL;
    }
    e->refs = 1;
    return e;
}

static int entry_append(char ***vec, size_t *n, const char *value, size_t len)
{
    char **grown;
    char *copy;

    if (len == 0 || memchr(value, '\0', len) != NULL)
        return 0;
    copy = strndup(value, len);
    if (copy == NULL)
        return -1;
    grown = realloc(*vec, (*n + 1) * sizeof(**vec));
    if (grown == NULL) {
        free(copy);
        return -1;
    }
    grown[(*n)++] = copy;
    *vec = grown;
    return 0;
}

int entry_add_home(struct entry *e, const char *value, size_t len)
{
    return entry_append(&e->homes, &e->nhomes, value, len);
}

int entry_add_address(struct entry *e, const char *value, size_t len)
{
    size_t i;

    /* One value once: AD's mail repeats proxyAddresses' primary */
    for (i = 0; i < e->naddresses; i++)
        if (strlen(e->addresses[i]) == len &&
            strncasecmp(e->addresses[i], value, len) == 0)
            return 0;
    return entry_append(&e->addresses, &e->naddresses, value, len);
}

struct entry *entry_ref(struct entry *e)
{
    __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
    return e;
}

void entry_unref(struct entry *e)
{
    size_t i;

    if (e == NULL || __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    for (i = 0; i < e->nhomes; i++)
        free(e->homes[i]);
    for (i = 0; i < e->naddresses; i++)
        free(e->addresses[i]);
    free(e->homes);
    free(e->addresses);
    free(e->dn);
    free(e);
}

int entry_add_prefixed(struct entry *e, const char *value, size_t len)
{
    if (len < 5 || strncasecmp(value, "smtp:", 5) != 0)
        return 0;
    return entry_add_address(e, value + 5, len - 5);
}

/*
 * NAME
 *	dir_filter - LDAP search filters with escaped values
 * SUMMARY
 *	dir_filter_expand(), dir_filter_escape()
 * DESCRIPTION
 *	Part of the directory module: the only place where a value from a
 *	client enters a filter. A template is read with the sequences of
 *	dir_filter.h, the syntax the configuration's check also uses. Every
 *	value goes through libldap's ldap_bv2escaped_filter_value (RFC 4515):
 *	'*', '(', ')', backslash, NUL and every byte >= 0x80 become \XX, so a
 *	login such as "*" or "a)(uid=*" is only ever a value, never filter
 *	syntax.
 *
 *	Thread safety: pure functions.
 */
#include "autoconf.h"

#include <ldap.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dir_filter.h"

/* A growing string; after a failed allocation it stays failed. */
struct dir_buf {
    char *s;
    size_t n, cap;
    bool failed;
};

/* An empty string with room for CAP bytes and its NUL. */
static void dir_buf_init(struct dir_buf *b, size_t cap)
{
    b->n = 0;
    b->cap = cap + 1;
    b->failed = (b->s = malloc(b->cap)) == NULL;
    if (!b->failed)
        b->s[0] = '\0';
}

static void dir_buf_add(struct dir_buf *b, const char *value, size_t len)
{
    char *grown;
    size_t want;

    if (b->failed)
        return;
    if (b->cap - b->n <= len) {
        want = 2 * (b->n + len + 1);
        if ((grown = realloc(b->s, want)) == NULL) {
            b->failed = true;
            return;
        }
        b->s = grown;
        b->cap = want;
    }
    memcpy(b->s + b->n, value, len);
    b->n += len;
    b->s[b->n] = '\0';
}

/* Append LEN bytes of VALUE escaped per RFC 4515: * ( ) \ NUL and 8-bit as \XX. */
static void dir_buf_add_escaped(struct dir_buf *b, const char *value, size_t len)
{
    struct berval raw = {(ber_len_t)len, (char *)value}, esc = {0, NULL};

    if (len == 0)
        return;
    if (ldap_bv2escaped_filter_value(&raw, &esc) != 0) {
        b->failed = true;
        return;
    }
    dir_buf_add(b, esc.bv_val, esc.bv_len);
    ber_memfree(esc.bv_val);
}

int dir_filter_escape(const char *value, size_t len, char **escaped_r)
{
    struct dir_buf b;

    dir_buf_init(&b, 3 * len); /* at worst every byte becomes \XX */
    dir_buf_add_escaped(&b, value, len);
    if (b.failed) {
        free(b.s);
        return -1;
    }
    *escaped_r = b.s;
    return 0;
}

/* What a template is expanded over. */
struct dir_filter_values {
    const char *login, *at; /* at: LOGIN's last '@', or NULL */
    const char *address, *dn;
    unsigned allow; /* HM_FILTER_ALLOW_*: those of ADDRESS and DN given */
};

/* Append what the sequence '%' C stands for; false when it is not allowed. */
static bool dir_filter_put(struct dir_buf *b, char c, const struct dir_filter_values *v)
{
    const char *login = v->login, *at = v->at;

    switch (dir_filter_seq(c, v->allow)) {
    case HM_FILTER_SEQ_PERCENT:
        dir_buf_add(b, "%", 1);
        break;
    case HM_FILTER_SEQ_LOGIN:
        dir_buf_add_escaped(b, login, strlen(login));
        break;
    case HM_FILTER_SEQ_LOCAL:
        dir_buf_add_escaped(b, login, at ? (size_t)(at - login) : strlen(login));
        break;
    case HM_FILTER_SEQ_DOMAIN:
        dir_buf_add_escaped(b, at ? at + 1 : "", at ? strlen(at + 1) : 0);
        break;
    case HM_FILTER_SEQ_ADDRESS:
        dir_buf_add_escaped(b, v->address, strlen(v->address));
        break;
    case HM_FILTER_SEQ_DN:
        dir_buf_add_escaped(b, v->dn, strlen(v->dn));
        break;
    case HM_FILTER_SEQ_BAD:
        return false;
    }
    return true;
}

int dir_filter_expand(const char *template, const char *login, const char *address,
                      const char *dn, char **filter_r, const char **error_r)
{
    const struct dir_filter_values v = {login, strrchr(login, '@'), address, dn,
                                        (address ? HM_FILTER_ALLOW_ADDRESS : 0) |
                                            (dn ? HM_FILTER_ALLOW_DN : 0)};
    const char *p;
    struct dir_buf b;
    size_t run;

    /* Room for the template with one login in it, escaped at worst. */
    dir_buf_init(&b, strlen(template) + 3 * strlen(login));
    for (p = template; *p != '\0'; p++) {
        if (*p != '%') {
            run = strcspn(p, "%"); /* the literal text up to the next % */
            dir_buf_add(&b, p, run);
            p += run - 1;
        } else if (!dir_filter_put(&b, *++p, &v)) {
            free(b.s);
            *error_r = dir_filter_refusal(v.allow, true);
            return -1;
        }
    }
    if (b.failed) {
        free(b.s);
        *error_r = "out of memory";
        return -1;
    }
    *filter_r = b.s;
    return 0;
}

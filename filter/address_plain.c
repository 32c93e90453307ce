/*
 * NAME
 *	address_plain - the everyday header field, read without the parser
 *
 * SUMMARY
 *	privately addr_lex_plain()
 *
 * DESCRIPTION
 *	Most From: and Sender: values are "jane@example.com", "<jane@...>"
 *	or "Jane Doe <jane@example.com>". For those, every mail client and
 *	RFC 5322 read one address and the name holds none, so the general
 *	parser (which weighs comments, quotes, encoded words, groups and
 *	Unicode blanks against what clients show) has nothing to decide.
 *	addr_lex_plain() recognises exactly such a value and gives what the
 *	parser would: one address, not in a name. Anything else, however
 *	harmless, goes to the parser. The fuzz harness checks that both give
 *	the same on every input (HM_ADDR_NO_PLAIN turns this off).
 *
 *	Recognised, with blanks (SP) before and after the whole value:
 *	  spec            local "@" domain
 *	  "<" spec ">"
 *	  name SP+ "<" spec ">"
 *	where local is atoms of ASCII letters, digits, "+", "_" and "-"
 *	joined by single dots, domain is labels of letters, digits and "-"
 *	joined by single dots, and name is words of letters and digits
 *	joined by single spaces.
 *
 *	Thread-safety: reentrant.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "address_lex.h"

static bool plain_alnum(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/*
 * plain_dotted - the end of a run of atoms of P..END whose bytes are
 * alnum or in EXTRA, joined by single dots; NULL when there is none or
 * it starts or ends with a dot or holds two in a row.
 */
static const unsigned char *plain_dotted(const unsigned char *p, const unsigned char *end,
                                         const char *extra)
{
    const unsigned char *start = p;

    while (p < end && (plain_alnum(*p) || (*p != '\0' && strchr(extra, *p) != NULL) ||
                       (*p == '.' && p > start && p[-1] != '.')))
        p++;
    if (p == start || p[-1] == '.')
        return NULL;
    return p;
}

/* plain_name - the end of words of alnum joined by single spaces, or NULL. */
static const unsigned char *plain_name(const unsigned char *p, const unsigned char *end)
{
    const unsigned char *start = p;

    while (p < end && (plain_alnum(*p) || (*p == ' ' && p > start && p[-1] != ' ' &&
                                           p + 1 < end && plain_alnum(p[1]))))
        p++;
    return p == start ? NULL : p;
}

int addr_lex_plain(struct addr_lex_parser *ps, struct addr_list *out)
{
    const unsigned char *p = ps->p, *end = ps->end, *local, *at;
    struct addr a = {0};

    while (p < end && *p == ' ')
        p++;
    while (end > p && end[-1] == ' ')
        end--;
    if (p < end && *p != '<') { /* a name, or the spec itself */
        const unsigned char *name_end = plain_name(p, end);

        if (name_end != NULL && name_end < end && *name_end == ' ') {
            p = name_end;
            while (p < end && *p == ' ')
                p++;
            if (p == end || *p != '<')
                return 0;
        }
    }
    if (p < end && *p == '<') {
        if (end[-1] != '>')
            return 0;
        p++;
        end--;
    }
    local = p;
    if ((at = plain_dotted(p, end, "+_-")) == NULL || at == end || *at != '@' ||
        plain_dotted(at + 1, end, "-") != end)
        return 0;
    a.written = strndup((const char *)local, (size_t)(end - local));
    a.local = strndup((const char *)local, (size_t)(at - local));
    a.domain = strndup((const char *)at + 1, (size_t)(end - at - 1));
    if (a.written == NULL || a.local == NULL || a.domain == NULL) {
        addr_free(&a);
        return addr_lex_fail(ps, HM_LEX_E_NOMEM);
    }
    return addr_lex_list_push(ps, out, &a) < 0 ? -1 : 1;
}

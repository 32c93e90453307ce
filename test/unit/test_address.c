/*
 * NAME
 *	test_address - table-driven unit tests of the address module
 *
 * SUMMARY
 *	Valid, invalid and hostile inputs for addr_parse_list(): plain
 *	mailboxes, quoted local parts, comments, groups, obsolete syntax,
 *	UTF-8, empty lists and malformed input, table by table. The
 *	envelope, xtext, extension and comparison tables and the inputs at
 *	the size limits are in test_address_more.c, the second file of this
 *	program; main() here runs the tests of both (addresstest.h).
 *
 * DESCRIPTION
 *	Every case states the exact result: the addresses (written, local,
 *	domain) of a valid input, or the static error of an invalid one. An
 *	invalid input must leave the list exactly as it was, so every list
 *	case first parses "pre@x" into the list and checks that it is still
 *	alone after a failure. One cmocka group per binary (one TAP plan).
 *	Everything is freed: the tests run under valgrind and ASan/UBSan.
 */
#include <setjmp.h> /* cmocka.h needs these first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "address.h"
#include "addresstest.h"

/* One expected mailbox. */
struct want {
    const char *written;
    const char *local;
    const char *domain;
};

struct list_case {
    const char *in;
    size_t len;        /* 0: strlen(in) */
    const char *error; /* NULL: the input is valid */
    size_t n;
    struct want a[4];
};

#define NONE                                                                             \
    {                                                                                    \
        NULL, NULL, NULL                                                                 \
    }
#define OK(in, n, ...)                                                                   \
    {                                                                                    \
        in, 0, NULL, n,                                                                  \
        {                                                                                \
            __VA_ARGS__                                                                  \
        }                                                                                \
    }
#define EMPTY(in)                                                                        \
    {                                                                                    \
        in, 0, NULL, 0,                                                                  \
        {                                                                                \
            NONE                                                                         \
        }                                                                                \
    }
#define BAD(in, err)                                                                     \
    {                                                                                    \
        in, 0, err, 0,                                                                   \
        {                                                                                \
            NONE                                                                         \
        }                                                                                \
    }
#define BADL(lit, err)                                                                   \
    {                                                                                    \
        lit, sizeof(lit) - 1, err, 0,                                                    \
        {                                                                                \
            NONE                                                                         \
        }                                                                                \
    }

/* Plain mailboxes, display names, several addresses. */
static const struct list_case basic_cases[] = {
    OK("a@b", 1, {"a@b", "a", "b"}),
    OK("jane@example.com", 1, {"jane@example.com", "jane", "example.com"}),
    OK("Jane Doe <jane@example.com>", 1, {"jane@example.com", "jane", "example.com"}),
    OK("<jane@example.com>", 1, {"jane@example.com", "jane", "example.com"}),
    OK("\"Doe, Jane\" <jane@example.com>", 1,
       {"jane@example.com", "jane", "example.com"}),
    OK("Jane <jane@example.com>, John <john@example.org>", 2,
       {"jane@example.com", "jane", "example.com"},
       {"john@example.org", "john", "example.org"}),
    OK("a@b, c@d, e@f", 3, {"a@b", "a", "b"}, {"c@d", "c", "d"}, {"e@f", "e", "f"}),
    OK("\"Jane Doe\" <jane@example.com>, john@example.org, Bob <bob@x.y>", 3,
       {"jane@example.com", "jane", "example.com"},
       {"john@example.org", "john", "example.org"}, {"bob@x.y", "bob", "x.y"}),
    OK("  jane@example.com  ", 1, {"jane@example.com", "jane", "example.com"}),
    OK("\tjane@example.com\t", 1, {"jane@example.com", "jane", "example.com"}),
    OK("jane.doe@example.com", 1, {"jane.doe@example.com", "jane.doe", "example.com"}),
    OK("jane+tag@example.com", 1, {"jane+tag@example.com", "jane+tag", "example.com"}),
    OK("!#$%&'*+-/=?^_`{|}~@example.com", 1,
       {"!#$%&'*+-/=?^_`{|}~@example.com", "!#$%&'*+-/=?^_`{|}~", "example.com"}),
    OK("JANE@EXAMPLE.COM", 1, {"JANE@EXAMPLE.COM", "JANE", "EXAMPLE.COM"}),
    OK("a@b.c.d.e", 1, {"a@b.c.d.e", "a", "b.c.d.e"}),
    OK("1@2", 1, {"1@2", "1", "2"}),
    OK("a@b,c@d", 2, {"a@b", "a", "b"}, {"c@d", "c", "d"}),
    OK("Who? <one@y.test>", 1, {"one@y.test", "one", "y.test"}),
    OK("Jane<a@b>", 1, {"a@b", "a", "b"}),
    OK("<a@b>,<c@d>", 2, {"a@b", "a", "b"}, {"c@d", "c", "d"}),
    OK("John \"Q\" Public <j@x>", 1, {"j@x", "j", "x"}),
    OK("\"\" <j@x>", 1, {"j@x", "j", "x"}),
    OK("\"Doe; Jane\" <j@x>", 1, {"j@x", "j", "x"}),
    OK("\"a@b\" <c@d>", 1, {"c@d", "c", "d"}),
};

/* Quoted local parts and quoted-pairs. */
static const struct list_case quoted_cases[] = {
    OK("\"jane\"@x", 1, {"\"jane\"@x", "jane", "x"}),
    OK("\"a@b\"@c", 1, {"\"a@b\"@c", "a@b", "c"}),
    OK("\"a b\"@c", 1, {"\"a b\"@c", "a b", "c"}),
    OK("\"a\\\"b\"@c", 1, {"\"a\\\"b\"@c", "a\"b", "c"}),
    OK("\"a\\\\b\"@c", 1, {"\"a\\\\b\"@c", "a\\b", "c"}),
    OK("\"\\a\"@c", 1, {"\"\\a\"@c", "a", "c"}),
    OK("\"a\\ b\"@c", 1, {"\"a\\ b\"@c", "a b", "c"}),
    OK("\"a,b\"@c", 1, {"\"a,b\"@c", "a,b", "c"}),
    OK("\"a<b>\"@c", 1, {"\"a<b>\"@c", "a<b>", "c"}),
    OK("\"(not a comment)\"@c", 1, {"\"(not a comment)\"@c", "(not a comment)", "c"}),
    OK("\"a\tb\"@c", 1, {"\"a\tb\"@c", "a\tb", "c"}),
    OK("\"a.b\"@c", 1, {"\"a.b\"@c", "a.b", "c"}),
    OK("\".a\"@c", 1, {"\".a\"@c", ".a", "c"}),
    OK("\"a..b.\"@c", 1, {"\"a..b.\"@c", "a..b.", "c"}),
    OK("\" \"@c", 1, {"\" \"@c", " ", "c"}),
    OK("Jane <\"j d\"@x>", 1, {"\"j d\"@x", "j d", "x"}),
    OK("\"a;b\"@c, d@e", 2, {"\"a;b\"@c", "a;b", "c"}, {"d@e", "d", "e"}),
};

/* Comments in every position, nested, with quoted-pairs. */
static const struct list_case comment_cases[] = {
    OK("(c)a@b", 1, {"a@b", "a", "b"}),
    OK("a(c)@b", 1, {"a@b", "a", "b"}),
    OK("a@(c)b", 1, {"a@b", "a", "b"}),
    OK("a@b(c)", 1, {"a@b", "a", "b"}),
    OK("a (c) @ (d) b", 1, {"a@b", "a", "b"}),
    OK("a(c).(d)b@x", 1, {"a.b@x", "a.b", "x"}),
    OK("a@b(c).(d)c", 1, {"a@b.c", "a", "b.c"}),
    OK("<(c)a@b(d)>", 1, {"a@b", "a", "b"}),
    OK("Jane <a@b> (comment)", 1, {"a@b", "a", "b"}),
    OK("(c)Jane(d)<a@b>", 1, {"a@b", "a", "b"}),
    OK("a@b (Jane Doe)", 1, {"a@b", "a", "b"}),
    OK("((nested) comment) a@b", 1, {"a@b", "a", "b"}),
    OK("(a(b(c)d)e)a@b", 1, {"a@b", "a", "b"}),
    OK("(\\(escaped paren) a@b", 1, {"a@b", "a", "b"}),
    OK("(\\) still comment) a@b", 1, {"a@b", "a", "b"}),
    OK("(quoted \\\\ backslash) a@b", 1, {"a@b", "a", "b"}),
    OK("(comment with \"quote) a@b", 1, {"a@b", "a", "b"}),
    OK("(comment, with; specials: <>@) a@b", 1, {"a@b", "a", "b"}),
    OK("(é ünïcödé) a@b", 1, {"a@b", "a", "b"}),
    OK("a@b(c),(d)c@d", 2, {"a@b", "a", "b"}, {"c@d", "c", "d"}),
    OK("\"q\"(c)@b", 1, {"\"q\"@b", "q", "b"}),
    OK("<a@b>(c),(d)<c@d>", 2, {"a@b", "a", "b"}, {"c@d", "c", "d"}),
    OK("(ctl \x01\x1b in comment) a@b", 1, {"a@b", "a", "b"}),
    OK("a@[1.2.3.4](c)", 1, {"a@[1.2.3.4]", "a", "[1.2.3.4]"}),
    OK("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", 1,
       {"pete@silly.test", "pete", "silly.test"}),
};

/* Groups. */
static const struct list_case group_cases[] = {
    EMPTY("undisclosed-recipients:;"),
    OK("Group: a@b, c@d;", 2, {"a@b", "a", "b"}, {"c@d", "c", "d"}),
    OK("Group: a@b, c@d;, e@f", 3, {"a@b", "a", "b"}, {"c@d", "c", "d"},
       {"e@f", "e", "f"}),
    OK("e@f, Group: a@b;", 2, {"e@f", "e", "f"}, {"a@b", "a", "b"}),
    OK("(c)Group(d):(e)a@b(f);(g)", 1, {"a@b", "a", "b"}),
    OK("G: Jane <a@b>, \"x y\"@c;", 2, {"a@b", "a", "b"}, {"\"x y\"@c", "x y", "c"}),
    OK("G1: a@b;, G2: c@d;", 2, {"a@b", "a", "b"}, {"c@d", "c", "d"}),
    OK("G:;, a@b", 1, {"a@b", "a", "b"}),
    OK("\"My Group\": a@b;", 1, {"a@b", "a", "b"}),
    OK("G: ,a@b,,c@d,;", 2, {"a@b", "a", "b"}, {"c@d", "c", "d"}),
    EMPTY("G: , ,;"),
    EMPTY("G:(comment);"),
    OK("G: a@b; (trailing)", 1, {"a@b", "a", "b"}),
    OK("A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;", 3,
       {"c@a.test", "c", "a.test"}, {"joe@where.test", "joe", "where.test"},
       {"jdoe@one.test", "jdoe", "one.test"}),
    EMPTY("Undisclosed recipients:;"),
    EMPTY("(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;"),
    OK("A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,"
       "\r\n         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend);"
       " (the end of the group)",
       3, {"c@public.example", "c", "public.example"},
       {"joe@example.org", "joe", "example.org"}, {"jdoe@one.test", "jdoe", "one.test"}),
    OK("J. R. Group: a@b;", 1, {"a@b", "a", "b"}),
    OK("G: <@r:a@b>;", 1, {"a@b", "a", "b"}),
};

/* Folding, obsolete syntax, domain literals. */
static const struct list_case obs_cases[] = {
    OK("Jane Doe\r\n <jane@example.com>", 1, {"jane@example.com", "jane", "example.com"}),
    OK("a@b,\r\n c@d", 2, {"a@b", "a", "b"}, {"c@d", "c", "d"}),
    OK("a@b,\n\tc@d", 2, {"a@b", "a", "b"}, {"c@d", "c", "d"}),
    OK("\"Jane\r\n Doe\" <a@b>", 1, {"a@b", "a", "b"}),
    OK("\"a\r\n b\"@c", 1, {"\"a b\"@c", "a b", "c"}),
    OK("(folded\r\n comment) a@b", 1, {"a@b", "a", "b"}),
    OK("Jane\n\t<a@b>", 1, {"a@b", "a", "b"}),
    OK("Mary Smith\r\n  \r\n <mary@example.net>", 1,
       {"mary@example.net", "mary", "example.net"}),
    OK("<@r1,@r2:a@b>", 1, {"a@b", "a", "b"}),
    OK("Jane <@r1:a@b>", 1, {"a@b", "a", "b"}),
    OK("<@r1, @r2 :a@b>", 1, {"a@b", "a", "b"}),
    OK("<,@r1,,@r2:a@b>", 1, {"a@b", "a", "b"}),
    OK("<@[1.2.3.4]:a@b>", 1, {"a@b", "a", "b"}),
    OK("<@r1,:a@b>", 1, {"a@b", "a", "b"}),
    OK("a . b@c", 1, {"a.b@c", "a.b", "c"}),
    OK("\"a\" . \"b\"@c", 1, {"\"a\".\"b\"@c", "a.b", "c"}),
    OK("\"a\".b@c", 1, {"\"a\".b@c", "a.b", "c"}),
    OK("a.\"b c\"@d", 1, {"a.\"b c\"@d", "a.b c", "d"}),
    OK("John Q. Public <jqp@x>", 1, {"jqp@x", "jqp", "x"}),
    OK("J.R.R. Tolkien <t@x>", 1, {"t@x", "t", "x"}),
    OK("Mr. . Jones <j@x>", 1, {"j@x", "j", "x"}),
    OK("a@ b . c", 1, {"a@b.c", "a", "b.c"}),
    OK("Joe Q. Public <john.q.public@example.com>", 1,
       {"john.q.public@example.com", "john.q.public", "example.com"}),
    OK("Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example", 2,
       {"mary@example.net", "mary", "example.net"},
       {"jdoe@test.example", "jdoe", "test.example"}),
    OK("John Doe <jdoe@machine(comment).  example>", 1,
       {"jdoe@machine.example", "jdoe", "machine.example"}),
    OK(",,a@b,,", 1, {"a@b", "a", "b"}),
    OK(", a@b , , c@d ,", 2, {"a@b", "a", "b"}, {"c@d", "c", "d"}),
    OK("a@[1.2.3.4]", 1, {"a@[1.2.3.4]", "a", "[1.2.3.4]"}),
    OK("a@[IPv6:2001:db8::1]", 1, {"a@[IPv6:2001:db8::1]", "a", "[IPv6:2001:db8::1]"}),
    OK("Jane <a@[1.2.3.4]>", 1, {"a@[1.2.3.4]", "a", "[1.2.3.4]"}),
    OK("a@[ 1.2.3.4 ]", 1, {"a@[1.2.3.4]", "a", "[1.2.3.4]"}),
    OK("a@[\\[x]", 1, {"a@[\\[x]", "a", "[\\[x]"}),
    OK("a@\r\n [1.2.3.4]", 1, {"a@[1.2.3.4]", "a", "[1.2.3.4]"}),
};

/* UTF-8 (RFC 6532) and encoded-words left as atoms. */
static const struct list_case utf8_cases[] = {
    OK("jöran@example.com", 1, {"jöran@example.com", "jöran", "example.com"}),
    OK("jane@bücher.example", 1, {"jane@bücher.example", "jane", "bücher.example"}),
    OK("用户@例子.广告", 1, {"用户@例子.广告", "用户", "例子.广告"}),
    OK("\"jö ran\"@x", 1, {"\"jö ran\"@x", "jö ran", "x"}),
    OK("Jöran Doe <j@x>", 1, {"j@x", "j", "x"}),
    OK("\"Jöran Doe\" <jö@bü.example>", 1, {"jö@bü.example", "jö", "bü.example"}),
    OK("=?UTF-8?Q?J=C3=B6ran?= <j@x>", 1, {"j@x", "j", "x"}),
    OK("=?iso-8859-1?q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>", 1,
       {"PIRARD@vm1.ulg.ac.be", "PIRARD", "vm1.ulg.ac.be"}),
    OK("😀@x", 1, {"😀@x", "😀", "x"}),
    OK("\"\\é\"@x", 1, {"\"\\é\"@x", "é", "x"}),
    OK("a@[é]", 1, {"a@[é]", "a", "[é]"}),
    OK("\xef\xbf\xbf@x", 1, {"\xef\xbf\xbf@x", "\xef\xbf\xbf", "x"}),
    OK("\xf4\x8f\xbf\xbf@x", 1, {"\xf4\x8f\xbf\xbf@x", "\xf4\x8f\xbf\xbf", "x"}),
    OK("\xc2\x80@x", 1, {"\xc2\x80@x", "\xc2\x80", "x"}),
};

/* Nothing, or only CFWS and commas: zero addresses, no error. */
static const struct list_case empty_cases[] = {
    EMPTY(""),  EMPTY("   "),  EMPTY("(comment)"), EMPTY(" \r\n\t (a (b)) "),
    EMPTY(","), EMPTY("\r\n"),
};

/* Malformed and hostile inputs. */
static const struct list_case bad_cases[] = {
    BAD("\"abc@d", "unterminated quoted string"),
    BAD("\"a\"b\"@c", "unterminated quoted string"),
    BAD("\"a\\", "unterminated quoted string"),
    BAD("Jane \"Doe <a@b>", "unterminated quoted string"),
    BAD("Jane <a@b", "unbalanced '<'"),
    BAD("<a@b", "unbalanced '<'"),
    BAD("<", "unbalanced '<'"),
    BAD("a@b>", "unbalanced '>'"),
    BAD("<a@b>>", "unbalanced '>'"),
    BAD(">", "unbalanced '>'"),
    BAD("<<a@b>>", "unexpected '<'"),
    BAD("Jane <a@b <c@d>>", "expected '>'"),
    BAD("<a@b@c>", "expected '>'"),
    BAD("(a@b", "unbalanced comment"),
    BAD("a@b (c", "unbalanced comment"),
    BAD("((a) a@b", "unbalanced comment"),
    BAD("a@b)", "unbalanced comment"),
    BAD(")a@b", "unbalanced comment"),
    BAD("(a\\", "unbalanced comment"),
    BAD("a@b (\\)", "unbalanced comment"),
    BAD("G1: G2: a@b;;", "nested group"),
    BAD("G1: a@b, G2: c@d;;", "nested group"),
    BAD("G: a@b", "unterminated group"),
    BAD("G:", "unterminated group"),
    BAD("G: a@b;;", "unexpected ';'"),
    BAD("a@b;", "unexpected ';'"),
    BAD(";", "unexpected ';'"),
    BAD("a@b; c@d", "unexpected ';'"),
    BAD(": a@b;", "missing group name"),
    BAD(".G: a@b;", "invalid display name"),
    BAD(". Jane <a@b>", "invalid display name"),
    BAD("jane", "missing @"),
    BAD("Jane Doe", "missing @"),
    BAD("<jane>", "missing @"),
    BAD("Jane <jane>", "missing @"),
    BAD("a@b, jane", "missing @"),
    BAD("jane, a@b", "missing @"),
    BAD("G: jane;", "missing @"),
    BAD("\"jane\"", "missing @"),
    BAD("a@b@c", "unexpected '@'"),
    BAD("a@@b", "empty domain"),
    BAD("@b", "empty local part"),
    BAD("Jane <@b>", "invalid source route"),
    BAD("\"\"@b", "empty local part"),
    BAD("<\"\"@b>", "empty local part"),
    BAD("a@", "empty domain"),
    BAD("<a@>", "empty domain"),
    BAD("a@, b@c", "empty domain"),
    BAD("a@(c)", "empty domain"),
    BAD("a@[]", "empty domain"),
    BAD("a@[1.2.3.4", "unterminated domain literal"),
    BAD("a@[1.2\\", "unterminated domain literal"),
    BAD("a@[1[2]", "invalid domain literal"),
    BAD("a@b.", "invalid dot in domain"),
    BAD("a@.b", "invalid dot in domain"),
    BAD("a@b..c", "invalid dot in domain"),
    BAD("a@b. .c", "invalid dot in domain"),
    BAD(".a@b", "invalid dot in local part"),
    BAD("a.@b", "invalid dot in local part"),
    BAD("a..b@c", "invalid dot in local part"),
    BAD("a . . b@c", "invalid dot in local part"),
    BAD("<a.@b>", "invalid dot in local part"),
    BAD("john smith@x", "invalid local part"),
    BAD("\"a\"\"b\"@c", "invalid local part"),
    BAD("\"a\"b@c", "invalid local part"),
    BAD("a@b c@d", "expected ',' between addresses"),
    BAD("a@b <c@d>", "expected ',' between addresses"),
    BAD("<a@b> c@d", "expected ',' between addresses"),
    BAD("G: a@b; c@d", "expected ',' between addresses"),
    BAD("a@b\r\nc@d", "expected ',' between addresses"),
    BAD("a@b \"c\"@d", "expected ',' between addresses"),
    BAD("a@[1.2.3.4].com", "expected ',' between addresses"),
    BAD("<>", "empty address"),
    BAD("Jane <>", "empty address"),
    BAD("< (c) >", "empty address"),
    BAD("<@r1:>", "empty address"),
    BAD("<@r1 a@b>", "invalid source route"),
    BAD("<@r1@r2:a@b>", "invalid source route"),
    BAD("<@r1,a@b>", "invalid source route"),
    BAD("<,>", "invalid source route"),
    BAD("<@r1 (x", "unbalanced comment"),
    BAD("<@r1:", "unbalanced '<'"),
    BAD("a@b\\", "unexpected backslash"),
    BAD("\\a@b", "unexpected backslash"),
    BAD("[a]@b", "invalid character"),
    BAD("a@b]", "invalid character"),
    BAD("a@b:", "unexpected ':'"),
    BAD("a\x01@b", "invalid character"),
    BAD("a\x7f@b", "invalid character"),
    BAD("\"a\x01\"@b", "control character"),
    BAD("\"a\x1b\"@b", "control character"),
    BAD("\"a\\\x01\"@b", "invalid quoted-pair"),
    BAD("\"a\\\n\"@b", "invalid quoted-pair"),
    BAD("a@[1.2\x01]", "control character"),
    BAD("a@[\\\x01]", "invalid quoted-pair"),
    BAD("a@b, \"c, d@e", "unterminated quoted string"),
    BAD("a@b, c@d, (unclosed", "unbalanced comment"),
    BAD("a@b, c@d, e", "missing @"),
    /* NUL bytes, given with explicit lengths */
    BADL("\0a@b", "NUL byte"),
    BADL("a\0@b", "NUL byte"),
    BADL("a@\0b", "NUL byte"),
    BADL("a@b\0", "NUL byte"),
    BADL("\"a\0\"@b", "NUL byte"),
    BADL("(\0)a@b", "NUL byte"),
    BADL("Jane <a@b>\0", "NUL byte"),
    BADL("a@b, \0c@d", "NUL byte"),
    BADL("\0", "NUL byte"),
    /* invalid UTF-8 */
    BAD("\x80@b", "invalid UTF-8"),
    BAD("a\xbf@b", "invalid UTF-8"),
    BAD("a@b\xc3", "invalid UTF-8"),
    BAD("a@\xe2\x82", "invalid UTF-8"),
    BAD("\xc0\xaf@b", "invalid UTF-8"),
    BAD("\xc1\xbf@b", "invalid UTF-8"),
    BAD("\xe0\x80\xaf@b", "invalid UTF-8"),
    BAD("\xf0\x80\x80\xaf@b", "invalid UTF-8"),
    BAD("\xed\xa0\x80@b", "invalid UTF-8"),
    BAD("\xed\xbf\xbf@b", "invalid UTF-8"),
    BAD("\xf4\x90\x80\x80@b", "invalid UTF-8"),
    BAD("\xf5\x80\x80\x80@b", "invalid UTF-8"),
    BAD("\xfe@b", "invalid UTF-8"),
    BAD("\xff@b", "invalid UTF-8"),
    BAD("\"\xc3\x28\"@b", "invalid UTF-8"),
    /* legacy 8-bit text around an address is only text; the address is not */
    OK("(\xff) a@b", 1, {"a@b", "a", "b"}),
    OK("Jane \xe9 <a@b>", 1, {"a@b", "a", "b"}),
    OK("\"J\xe4ne\" <a@b>", 1, {"a@b", "a", "b"}),
    OK("a@b (J\xe4ne)", 1, {"a@b", "a", "b"}),
    BAD("J\xe4ne <j\xe4ne@b>", "invalid UTF-8"),
    BAD("Jane <a@b>, \xff@b", "invalid UTF-8"),
    BAD("a@[\xc3]", "invalid UTF-8"),
};

const char *show(const char *s)
{
    return s != NULL ? s : "(null)";
}

/* check_addr - fail with the case's index and input on any difference. */
static void check_addr(const char *table, size_t i, const struct list_case *c,
                       const struct addr *got, const struct want *want)
{
    if (strcmp(got->written, want->written) != 0 ||
        strcmp(got->local, want->local) != 0 || strcmp(got->domain, want->domain) != 0 ||
        got->is_null)
        fail_msg("%s[%zu] \"%s\": got \"%s\" \"%s\" \"%s\", want \"%s\" \"%s\" \"%s\"",
                 table, i, c->in, got->written, got->local, got->domain, want->written,
                 want->local, want->domain);
}

/*
 * run_list_case - parse into a list that already holds "pre@x", and into
 * an empty one; check every address, or the error and the untouched list.
 */
static void run_list_case(const char *table, size_t i, const struct list_case *c,
                          bool prefilled)
{
    struct addr_list l = {0};
    const char *error = NULL;
    size_t len = c->len ? c->len : strlen(c->in), base = prefilled ? 1 : 0, k;
    int rc;

    if (prefilled) {
        assert_int_equal(addr_parse_list("pre@x", 5, &l, &error), 0);
        assert_int_equal(l.n, 1);
    }
    rc = addr_parse_list(c->in, len, &l, &error);
    if (c->error == NULL && (rc != 0 || l.n != base + c->n))
        fail_msg("%s[%zu] \"%s\": rc %d n %zu error %s, want %zu addresses", table, i,
                 c->in, rc, l.n - base, rc ? show(error) : "-", c->n);
    if (c->error != NULL && (rc != -1 || l.n != base || strcmp(show(error), c->error)))
        fail_msg("%s[%zu] \"%s\": rc %d n %zu error \"%s\", want \"%s\"", table, i, c->in,
                 rc, l.n, show(error), c->error);
    if (prefilled)
        check_addr(table, i, c, &l.v[0], &(const struct want){"pre@x", "pre", "x"});
    if (!prefilled && c->error != NULL)
        assert_null(l.v);
    for (k = 0; c->error == NULL && k < c->n; k++)
        check_addr(table, i, c, &l.v[base + k], &c->a[k]);
    addr_list_free(&l);
    assert_null(l.v);
    assert_int_equal(l.n, 0);
}

static void run_list_table(const char *table, const struct list_case *v, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        run_list_case(table, i, &v[i], true);
        run_list_case(table, i, &v[i], false);
    }
}

#define RUN_LIST(t) run_list_table(#t, t, sizeof(t) / sizeof(t[0]))

static void test_list_basic(void **state)
{
    (void)state;
    RUN_LIST(basic_cases);
}

static void test_list_quoted(void **state)
{
    (void)state;
    RUN_LIST(quoted_cases);
}

static void test_list_comments(void **state)
{
    (void)state;
    RUN_LIST(comment_cases);
}

static void test_list_groups(void **state)
{
    (void)state;
    RUN_LIST(group_cases);
}

static void test_list_obsolete(void **state)
{
    (void)state;
    RUN_LIST(obs_cases);
}

static void test_list_utf8(void **state)
{
    (void)state;
    RUN_LIST(utf8_cases);
}

static void test_list_empty(void **state)
{
    (void)state;
    RUN_LIST(empty_cases);
}

static void test_list_bad(void **state)
{
    (void)state;
    RUN_LIST(bad_cases);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_basic),     cmocka_unit_test(test_list_quoted),
        cmocka_unit_test(test_list_comments),  cmocka_unit_test(test_list_groups),
        cmocka_unit_test(test_list_obsolete),  cmocka_unit_test(test_list_utf8),
        cmocka_unit_test(test_list_empty),     cmocka_unit_test(test_list_bad),
        cmocka_unit_test(test_envelope),       cmocka_unit_test(test_xtext),
        cmocka_unit_test(test_base_length),    cmocka_unit_test(test_same_text),
        cmocka_unit_test(test_rollback),       cmocka_unit_test(test_append_grow),
        cmocka_unit_test(test_free_null_safe), cmocka_unit_test(test_big_padding),
        cmocka_unit_test(test_big_local),      cmocka_unit_test(test_deep_comments),
        cmocka_unit_test(test_list_limit),     cmocka_unit_test(test_input_limit),
    };

    return cmocka_run_group_tests_name("address", tests, NULL, NULL);
}

#!/usr/bin/env python3
"""gen.py - From: values for the differential layer, each with its tags

    gen.py [-n N] [--seed S] [--round K] [--attacks] [--unit FILE]
           [--hostile FILE] --tags FILE > VALUES

Writes header field values on stdout, each ended by a NUL byte, and one
line per value to the --tags file: the value's source first (attack, unit,
hostile, gen), then the constructions it uses, separated by spaces.

  attack   the known attacks on From: checks, each tagged by hand (--attacks)
  unit     the inputs of the address tables of test/unit/test_address.c and
           test/unit/test_shown.c (--unit), read from the C string literals
           of the tables, so that a case added there is compared here too
  hostile  the From: values ("hdr" lines) of test/hostile/addresses
           (--hostile), in that file's notation
  gen      N values from a grammar of what From: parsers read differently:
           comments, quoted strings, source routes, groups, RFC 2047
           encoded words, angle brackets, backslashes, folding, raw 8-bit
           bytes, domain literals, dots, several addresses and blanks of
           every Unicode kind. The same seed and round give the same
           values; a long run asks for rounds 0, 1, 2... of one seed.

The construction tags of generated values:

  plain, angle          a bare addr-spec; an angle-addr
  multi                 more than one mailbox or group
  group, group-empty, group-nested
  comment               any comment; comment-nested, comment-special (one
                        holding specials or quoted-pairs), comment-ew (an
                        encoded word in it), comment-local (inside a local
                        part), comment-at (around the "@" or in a domain),
                        comment-angle (inside <>), comment-name (before or
                        after an addr-spec, or in a display name)
  quoted-name, quoted-local   quoted strings; quoted-escape (quoted-pairs),
                        quoted-special ("@", "<", "," ... inside),
                        quoted-unterminated
  route                 an obsolete source route
  ew-q, ew-b            RFC 2047 encoded words; ew-charset (not UTF-8),
                        ew-bad (broken), ew-addr (decoding to an address or
                        a special), ew-name, ew-quoted, ew-local, ew-domain
                        (where they stand)
  bracket               a@b <a@b>, <<a@b>>, a missing or extra ">", a
                        missing ","
  backslash             a backslash outside quotes
  fold, bare-crlf       CRLF folding; a CR or LF not followed by a blank
  8bit-utf8, 8bit-latin1    raw 8-bit text
  domain-literal, dots  [...] domains; leading, trailing, doubled dots
  unicode-space         Unicode blanks and format characters, characters
                        cleanToken removes, U+2028/U+2029, look-alike "@"
  mutated               one blind edit after the grammar

A NUL ends a value on every interface the milter has, so a value taken from
a file is cut at its first NUL, as the milter would see it.
"""
import argparse
import base64
import random
import re
import sys

# A few real-looking addresses, so that one value often names several of them.
POOL = [
    ("janed", "example.com"),
    ("jane.doe", "example.com"),
    ("alice", "example.com"),
    ("bob", "example.org"),
    ("JohnD", "COMPANY1.com"),
    ("janed+x", "example.com"),
]

# Blanks: what cleanToken turns into a space, what it removes, what it keeps.
SPACE_LIKE = (
    ["\u00a0", "\u1680", "\u2000", "\u2005", "\u200a", "\u202f", "\u205f", "\u3000"]
    + ["\u00ad", "\u061c", "\u06dd", "\u070f", "\u08e2", "\u180e", "\u200b"]
    + ["\u200d", "\u200f", "\u202a", "\u202e", "\u2060", "\u2064", "\u2066"]
    + ["\u206f", "\ufeff", "\ufff9", "\ufffb", "\U000110bd", "\U000110cd"]
    + ["\U00013430", "\U00013438", "\U0001bca0", "\U0001bca3", "\U0001d173"]
    + ["\U0001d17a", "\U000e0001", "\U000e0020", "\U000e007f", "\u2800"]
)
REMOVED = ["\u034f", "\u17b4", "\u17b5", "\u180b", "\u180d", "\ufe00", "\ufe0f",
           "\U000e0100", "\U000e01ef", "\x01", "\x1b", "\x7f", "\x85", "\x9f"]
KEPT_BREAKS = ["\u2028", "\u2029"]
AT_LIKE = ["\uff20", "\ufe6b"]

NAME_WORDS = ["Jane", "Doe", "Alice", "Bob", "John", "Q.", "Support", "Team", "via",
              "J\u00e4ne", "\u7528\u6237", "Bj\u00f6rk", "Mr.", "IT-Desk"]
SPECIALS = ['"', "\\", "[", "]", "<", ">", "@", ",", ";", ":", "(", ")", "."]

# Charsets of encoded words, and how often each is drawn.
CHARSETS = [
    ("utf-8", 12), ("UTF-8", 4), ("iso-8859-1", 3), ("ISO-8859-15", 1),
    ("windows-1252", 2), ("us-ascii", 2), ("koi8-r", 1), ("utf-16le", 1),
    ("utf-8*en", 1), ("x-unknown", 1),
]


def pick_weighted(rng, pairs):
    total = sum(w for _, w in pairs)
    n = rng.randrange(total)
    for item, w in pairs:
        if n < w:
            return item
        n -= w
    raise AssertionError


def raw(b):
    """Bytes to carry through a str: each byte over 0x7f becomes a lone
    surrogate, which the final encode('utf-8', 'surrogateescape') turns
    back into that byte."""
    return b.decode("ascii", "surrogateescape")


class Gen:
    """One value at a time; self.tags collects the constructions used."""

    def __init__(self, seed):
        self.rng = random.Random(seed)  # a str seed: the same on every platform
        self.tags = set()

    def chance(self, p):
        return self.rng.random() < p

    def choice(self, seq):
        return self.rng.choice(seq)

    # --- blanks ----------------------------------------------------------

    def ws(self, allow_empty=False):
        r = self.rng.random()
        if allow_empty and r < 0.25:
            return ""
        if r < 0.80:
            return " "
        if r < 0.85:
            return "\t"
        if r < 0.91:
            self.tags.add("fold")
            return self.choice(["\r\n ", "\r\n\t", " \r\n  ", "\n "])
        if r < 0.94:
            self.tags.add("bare-crlf")
            return self.choice(["\r\n", "\n", "\r", " \r", "\r\n\r\n "])
        self.tags.add("unicode-space")
        r = self.rng.random()
        if r < 0.6:
            return self.choice(SPACE_LIKE)
        if r < 0.8:
            return " " + self.choice(REMOVED) + " " if self.chance(0.5) else self.choice(REMOVED)
        return self.choice(KEPT_BREAKS)

    def opt_ws(self):
        return self.ws(allow_empty=True) if self.chance(0.4) else ""

    # --- RFC 2047 --------------------------------------------------------

    def ew_text(self):
        """Text for an encoded word: harmless, or holding an address or a
        special that would change the reading if it were not encoded."""
        local, domain = self.choice(POOL)
        addr = local + "@" + domain
        r = self.rng.random()
        if r < 0.25:
            words = self.choice(NAME_WORDS)
            return words + " " + self.choice(NAME_WORDS) if self.chance(0.5) else words
        self.tags.add("ew-addr")
        choices = [
            addr, "<" + addr + ">", self.choice(NAME_WORDS) + " <" + addr + ">",
            '"', "<", ">", "(", ")", ",", ";", ":", "\\", '"' + addr + '"',
            local + self.choice(AT_LIKE) + domain,
            local + "@" + domain + self.choice(SPACE_LIKE),
            self.choice(SPACE_LIKE) + local + "@" + domain,
            local[:2] + self.choice(REMOVED + SPACE_LIKE) + local[2:] + "@" + domain,
            "x" + self.choice(KEPT_BREAKS) + addr,
            local + "\x00@" + domain,
            local + "@" + domain + ".",
            "=?utf-8?q?" + local + "=40" + domain + "?=",
            addr + ", " + self.choice(POOL)[0] + "@" + self.choice(POOL)[1],
        ]
        return self.choice(choices)

    def encoded_word(self, text=None):
        text = self.ew_text() if text is None else text
        charset = pick_weighted(self.rng, CHARSETS)
        codec = charset.split("*")[0].lower()
        if codec == "x-unknown":
            codec = "utf-8"
        try:
            data = text.encode(codec)
        except (UnicodeEncodeError, LookupError):
            charset, data = "utf-8", text.encode("utf-8")
        if charset.split("*")[0].lower() not in ("utf-8",):
            self.tags.add("ew-charset")
        if self.chance(0.5):
            self.tags.add("ew-b")
            enc = self.choice("Bb")
            payload = base64.b64encode(data).decode("ascii")
            if self.chance(0.05):
                payload = payload.rstrip("=")
        else:
            self.tags.add("ew-q")
            enc = self.choice("Qq")
            literal = self.chance(0.3)  # leave specials unencoded, as some senders do
            out = []
            for c in data:
                ch = chr(c)
                if c == 0x20:
                    out.append("_" if self.chance(0.8) else "=20")
                elif ch.isalnum() and c < 0x80 or (literal and ch in "@<>,;:.\"()!*+-/"):
                    out.append(ch)
                else:
                    out.append("=%02X" % c if self.chance(0.8) else "=%02x" % c)
            payload = "".join(out)
        word = "=?%s?%s?%s?=" % (charset, enc, payload)
        if self.chance(0.03):
            self.tags.add("ew-bad")
            word = self.choice([word[:-2], word.replace("?=", "?", 1),
                                "=?utf-8?x?" + payload + "?=", word + "?="])
        return word

    # --- comments and quoted strings -------------------------------------

    def comment(self, depth=0):
        self.tags.add("comment")
        parts = []
        for _ in range(self.rng.randint(0, 3)):
            r = self.rng.random()
            if r < 0.25:
                parts.append(self.choice(NAME_WORDS))
            elif r < 0.45:
                self.tags.add("comment-special")
                parts.append(self.choice(SPECIALS[:10] + ["\\(", "\\)", '\\"', "\\\\"]))
            elif r < 0.60:
                local, domain = self.choice(POOL)
                parts.append(local + "@" + domain if self.chance(0.6)
                             else self.choice(NAME_WORDS) + " <" + local + "@" + domain + ">")
            elif r < 0.75:
                self.tags.add("comment-ew")
                parts.append(self.encoded_word())
            elif r < 0.85 and depth < 3:
                self.tags.add("comment-nested")
                parts.append(self.comment(depth + 1))
            elif r < 0.92:
                parts.append(self.eight_bit_word())
            else:
                parts.append(self.ws())
        sep = " " if self.chance(0.7) else ""
        return "(" + sep.join(parts) + ")"

    def quoted(self, kind):
        """A quoted string for a display name or a local part."""
        self.tags.add("quoted-" + kind)
        parts = []
        for _ in range(self.rng.randint(1, 3)):
            r = self.rng.random()
            if r < 0.3:
                parts.append(self.choice(NAME_WORDS) if kind == "name" else self.choice(POOL)[0])
            elif r < 0.45:
                self.tags.add("quoted-escape")
                parts.append(self.choice(['\\"', "\\\\", "\\a", "\\@", "\\<", "\\(", "\\\t"]))
            elif r < 0.65:
                self.tags.add("quoted-special")
                local, domain = self.choice(POOL)
                parts.append(self.choice([local + "@" + domain, "<" + local + "@" + domain + ">",
                                          "@", "<", ">", ",", ";", ":", "(", ")",
                                          local + "@" + domain + ",", "[" + domain + "]"]))
            elif r < 0.80:
                self.tags.add("ew-quoted")
                parts.append(self.encoded_word())
            elif r < 0.90:
                parts.append(self.eight_bit_word())
            else:
                parts.append(self.ws())
        body = (" " if kind == "name" and self.chance(0.6) else "").join(parts)
        if self.chance(0.03):
            self.tags.add("quoted-unterminated")
            return '"' + body
        return '"' + body + '"'

    def eight_bit_word(self):
        word = self.choice(["J\u00e4ne", "Andr\u00e9", "\u00e9t\u00e9", "M\u00fcller"])
        if self.chance(0.5):
            self.tags.add("8bit-utf8")
            return word
        self.tags.add("8bit-latin1")
        return raw(word.encode("latin-1"))

    # --- addr-spec -------------------------------------------------------

    def branch(self, weighted):
        """Call one of the (weight, function) pairs, chosen by weight."""
        return pick_weighted(self.rng, [(f, w) for w, f in weighted])()

    def local_part(self, local):
        def quoted_whole():
            self.tags.add("quoted-local")
            if "." in local and self.chance(0.5):
                a, b = local.split(".", 1)
                return '"' + a + '".' + b if self.chance(0.5) else a + '."' + b + '"'
            inner = local
            if self.chance(0.3):
                self.tags.add("quoted-escape")
                i = self.rng.randrange(len(inner))
                inner = inner[:i] + "\\" + inner[i:]
            return '"' + inner + '"'

        def commented():
            self.tags.add("comment-local")
            i = self.rng.randrange(1, len(local))
            if "." in local and self.chance(0.5):
                i = local.index(".") + self.choice([0, 1])
            return local[:i] + self.comment() + local[i:]

        def encoded():
            self.tags.add("ew-local")
            if self.chance(0.5):
                return local + self.encoded_word()
            return self.encoded_word(self.choice([local, local + "@" + self.choice(POOL)[1]]))

        def backslash():
            self.tags.add("backslash")
            i = self.rng.randrange(len(local) + 1)
            return local[:i] + "\\" + self.choice(["", "@", " ", "\\", '"', "x"]) + local[i:]

        def eight_bit():
            w = self.eight_bit_word()
            return self.choice([w, local + w, w + "." + local])

        def dots():
            self.tags.add("dots")
            return self.choice(["." + local, local + ".", local.replace(".", ".."),
                                local.replace(".", " . ") if "." in local else local + " . x",
                                local + ".."])

        def blank():
            i = self.rng.randrange(1, len(local))
            return local[:i] + self.ws() + local[i:]

        def special():
            self.tags.add("quoted-special")
            l2, d2 = self.choice(POOL)
            return self.choice(['"' + l2 + "@" + d2 + '"', '"' + l2 + "@" + d2 + '".' + local,
                                '"<' + l2 + "@" + d2 + '>"', '"' + l2 + "@" + d2 + ',"'])

        return self.branch([(60, lambda: local), (6, quoted_whole),
                            (4, lambda: self.quoted("local")), (6, commented), (5, encoded),
                            (3, backslash), (4, eight_bit), (4, dots), (3, blank), (3, special)])

    def domain(self, domain):
        def literal():
            self.tags.add("domain-literal")
            return self.choice(["[192.0.2.1]", "[" + domain + "]", "[ " + domain + " ]",
                                "[IPv6:2001:db8::1]", "[" + "@".join(self.choice(POOL)) + "]",
                                "[\\]" + domain + "]", "[" + domain, "[" + domain + "\\]"])

        def dots():
            self.tags.add("dots")
            return self.choice([domain + ".", "." + domain, domain.replace(".", ".."),
                                domain.replace(".", " . ")])

        def commented():
            self.tags.add("comment-at")
            i = domain.index(".")
            return domain[:i] + self.comment() + domain[i:]

        def encoded():
            self.tags.add("ew-domain")
            if self.chance(0.5):
                return self.encoded_word(domain)
            return domain.split(".")[0] + "." + self.encoded_word("com")

        def backslash():
            self.tags.add("backslash")
            return domain[:3] + "\\" + domain[3:]

        def blank():
            i = self.rng.randrange(1, len(domain))
            return domain[:i] + self.ws() + domain[i:]

        return self.branch([
            (58, lambda: domain), (14, lambda: self.choice([domain.upper(), domain.lower()])),
            (7, literal), (5, dots), (4, commented), (5, encoded), (2, backslash),
            (3, lambda: self.eight_bit_word() + "." + domain), (2, blank)])

    def addr_spec(self, pair=None):
        local, domain = pair or self.choice(POOL)
        at = "@"
        r = self.rng.random()
        if r < 0.05:
            self.tags.add("comment-at")
            at = self.choice([lambda: self.comment() + "@", lambda: "@" + self.comment(),
                              lambda: self.comment() + "@" + self.comment()])()
        elif r < 0.09:
            at = self.ws() + "@" + self.ws()
        elif r < 0.10:
            self.tags.add("unicode-space")
            at = self.choice(AT_LIKE)
        return self.local_part(local) + at + self.domain(domain)

    # --- mailboxes, groups, lists ---------------------------------------

    def route(self):
        self.tags.add("route")
        local, domain = self.choice(POOL)
        return self.choice(["@route,@x:", "@" + domain + ":", ",@r1,,@r2:", "@[192.0.2.1]:",
                            "@" + domain + ",@" + self.choice(POOL)[1] + ":", "@" + local + ":",
                            "@(c)" + domain + ":", "@:", "@r1 @r2:"])

    def angle_addr(self):
        self.tags.add("angle")
        inner = self.addr_spec()
        if self.chance(0.12):
            inner = self.route() + inner
        if self.chance(0.15):
            self.tags.add("comment-angle")
            inner = (self.comment() + self.opt_ws() if self.chance(0.5) else "") + inner + \
                (self.opt_ws() + self.comment() if self.chance(0.5) else "")
        r = self.rng.random()
        if r < 0.88:
            return "<" + self.opt_ws() + inner + self.opt_ws() + ">"
        self.tags.add("bracket")
        return self.choice(["<<" + inner + ">>", "<" + inner, inner + ">", "<" + inner + ">>",
                            "<<" + inner + ">", "< <" + inner + "> >",
                            "<" + inner + ">" + self.choice(POOL)[0] + ">"])

    def display_name(self):
        def encoded():
            self.tags.add("ew-name")
            return self.encoded_word()

        def commented():
            self.tags.add("comment-name")
            return self.comment()

        def address():
            self.tags.add("bracket")
            return "@".join(self.choice(POOL))

        def backslash():
            self.tags.add("backslash")
            return self.choice(NAME_WORDS) + "\\" + self.choice([" ", "@", '"', "<", ""])

        words = []
        for _ in range(self.rng.randint(1, 3)):
            words.append(self.branch([
                (45, lambda: self.choice(NAME_WORDS)), (20, lambda: self.quoted("name")),
                (15, encoded), (7, commented), (5, address), (5, self.eight_bit_word),
                (3, backslash)]))
        out = words[0]
        for w in words[1:]:
            out += self.ws(allow_empty=self.chance(0.3)) + w
        return out

    def mailbox(self):
        r = self.rng.random()
        if r < 0.20:
            self.tags.add("plain")
            return self.addr_spec()
        if r < 0.32:
            self.tags.add("comment-name")
            c = self.comment()
            if self.chance(0.6):
                return self.addr_spec() + self.ws() + c
            return c + self.ws(True) + self.addr_spec()
        if r < 0.42:
            return self.angle_addr()
        if r < 0.92:
            return self.display_name() + self.ws(allow_empty=self.chance(0.3)) + self.angle_addr()
        self.tags.add("bracket")
        local, domain = self.choice(POOL)
        l2, d2 = self.choice(POOL)
        return self.choice([
            lambda: local + "@" + domain + " <" + local + "@" + domain + ">",
            lambda: local + "@" + domain + " <" + l2 + "@" + d2 + ">",
            lambda: self.display_name() + " <" + local + "@" + domain + "> " + l2 + "@" + d2,
            lambda: self.display_name() + " <" + local + "@" + domain + "> " + self.comment(),
            lambda: "<" + local + "@" + domain + "> <" + l2 + "@" + d2 + ">",
            lambda: local + "@" + domain + " " + l2 + "@" + d2,
            lambda: self.display_name() + " " + local + "@" + domain,
        ])()

    def group(self, depth=0):
        self.tags.add("group")
        r = self.rng.random()
        if r < 0.5:
            name = self.choice(["Team", "undisclosed-recipients", "A Group", "G"])
        elif r < 0.7:
            name = self.quoted("name")
        elif r < 0.85:
            self.tags.add("ew-name")
            name = self.encoded_word()
        else:
            name = "@".join(self.choice(POOL))
        members = []
        n = self.rng.randint(0, 3)
        if n == 0:
            self.tags.add("group-empty")
        for _ in range(n):
            if depth == 0 and self.chance(0.1):
                self.tags.add("group-nested")
                members.append(self.group(depth + 1))
            else:
                members.append(self.mailbox())
        body = ("," + self.ws(True)).join(members)
        end = ";"
        if self.chance(0.1):
            end = self.choice(["", ";;", "; ;", ",;"])
        return name + self.opt_ws() + ":" + self.ws(True) + body + end

    def value(self):
        self.tags = set()
        items = []
        n = 1 if self.chance(0.6) else self.rng.randint(2, 3)
        if n > 1:
            self.tags.add("multi")
        for _ in range(n):
            items.append(self.group() if self.chance(0.12) else self.mailbox())
        out = items[0]
        for item in items[1:]:
            sep = "," + self.ws(True)
            if self.chance(0.05):
                self.tags.add("bracket")
                sep = self.choice([" ", ",,", ";", ", ,"])
            out += sep + item
        if self.chance(0.1):
            out = self.opt_ws() + out + self.opt_ws()
        if self.chance(0.08):
            out = self.mutate(out)
        return out.encode("utf-8", "surrogateescape")

    def mutate(self, s):
        """One blind edit, for parser states the grammar does not reach."""
        self.tags.add("mutated")
        if not s:
            return s
        i = self.rng.randrange(len(s) + 1)
        r = self.rng.random()
        if r < 0.5:
            ins = self.choice(SPECIALS + ["=?", "?=", "\\", '"', " ", "\r\n", "@"] + AT_LIKE)
            return s[:i] + ins + s[i:]
        if r < 0.75 and i < len(s):
            return s[:i] + s[i + 1:]
        j = self.rng.randrange(len(s) + 1)
        a, b = min(i, j), max(i, j)
        return s[:b] + s[a:b] + s[b:]


# --- fixed inputs ------------------------------------------------------------

ATTACKS = [
    ('Jane Doe <jane(").doe(")@example.com>', "comment comment-local comment-special angle"),
    ('<(")janed+.(")alice@example.com>', "comment comment-local comment-special angle"),
    ("<@route,@x:janed@example.com>", "route angle"),
    ("janed+=?utf-8?q?alice?=@example.com", "ew-local ew-q"),
    ('"=?utf-8?q?alice?="@example.com', "ew-quoted ew-q quoted-local"),
    ('"alice@example.com": janed@example.com;', "group quoted-name quoted-special"),
    ('"alice@example.com" <janed@example.com>', "quoted-name quoted-special angle"),
    ("=?utf-8?q?Alice_<alice@example.com>?= <janed@example.com>", "ew-name ew-q ew-addr angle"),
    ("janed@example.com <janed@example.com>", "bracket angle"),
    ("alice@x (Bob <bob@y>)", "comment comment-name comment-special"),
]


def c_literals(text):
    """The values of a C source's string literals, for each element of the
    arrays of struct type *list*, *shown*, *header* or *from* cases: the
    first literal (with adjacent ones joined) of each top-level element."""
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    out = []
    for m in re.finditer(r"static\s+const\s+struct\s+(\w+)\s+(\w+)\s*\[\s*\]\s*=\s*\{", text):
        if not re.search(r"list|shown|header|from", m.group(1)):
            continue
        body, pos = element_texts(text, m.end())
        for elem in body:
            lit = first_literal(elem)
            if lit is not None:
                out.append((m.group(2), lit))
    return out


def element_texts(text, i):
    """Split the initializer starting after its '{' into top-level elements."""
    depth, start, elems = 0, i, []
    while i < len(text):
        c = text[i]
        if c == '"' or c == "'":
            i = skip_quoted(text, i)
            continue
        if c in "({[":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                elems.append(text[start:i])
                return [e for e in elems if e.strip()], i
            depth -= 1
        elif c == "," and depth == 0:
            elems.append(text[start:i])
            start = i + 1
        i += 1
    raise ValueError("unterminated initializer")


def skip_quoted(text, i):
    q = text[i]
    i += 1
    while text[i] != q:
        i += 2 if text[i] == "\\" else 1
    return i + 1


C_ESCAPES = {"n": 10, "t": 9, "r": 13, "a": 7, "b": 8, "f": 12, "v": 11,
             "\\": 92, '"': 34, "'": 39, "?": 63}


def first_literal(elem):
    m = re.search(r'"(?:[^"\\]|\\.)*"(?:\s*"(?:[^"\\]|\\.)*")*', elem, re.S)
    if m is None:
        return None
    value = bytearray()
    for lit in re.findall(r'"((?:[^"\\]|\\.)*)"', m.group(0), re.S):
        value += c_unescape(lit)
    return bytes(value)


def c_unescape(s):
    out = bytearray()
    b = s.encode("utf-8")
    i = 0
    while i < len(b):
        c = b[i]
        if c != 0x5C:
            out.append(c)
            i += 1
            continue
        e = chr(b[i + 1])
        if e == "x":
            j = i + 2
            while j < len(b) and chr(b[j]) in "0123456789abcdefABCDEF":
                j += 1
            out.append(int(b[i + 2:j], 16) & 0xFF)
            i = j
        elif e in "01234567":
            j = i + 1
            while j < len(b) and j < i + 4 and chr(b[j]) in "01234567":
                j += 1
            out.append(int(b[i + 1:j], 8) & 0xFF)
            i = j
        else:
            out.append(C_ESCAPES[e])
            i += 2
    return bytes(out)


def hostile_values(text):
    """The "hdr" values of test/hostile/addresses, decoded as hostile.pl does."""
    out = []
    for line in text.split("\n"):
        if line.startswith("#") or not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3 or fields[0] != "hdr":
            continue
        out.append(decode_notation(fields[2]))
    return out


def decode_notation(s):
    s = re.sub(r"\{\{(\d+)\*(.*?)\}\}", lambda m: m.group(2) * int(m.group(1)), s)
    simple = {"\\": b"\\", "t": b"\t", "n": b"\n", "r": b"\r", "0": b"\0"}

    def one(m):
        if m.group(2) is not None:
            return raw(bytes([int(m.group(2), 16)]))
        if m.group(1) in simple:
            return simple[m.group(1)].decode("ascii")
        raise ValueError("bad escape \\%s in %r" % (m.group(1), s))
    return re.sub(r"\\(\\|t|n|r|0|x([0-9A-Fa-f]{2})|.)", one, s, flags=re.S) \
        .encode("utf-8", "surrogateescape")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=1000, help="generated values (default 1000)")
    ap.add_argument("--seed", default="1")
    ap.add_argument("--round", type=int, default=0)
    ap.add_argument("--attacks", action="store_true", help="the known attacks first")
    ap.add_argument("--unit", action="append", default=[],
                    help="a unit test source with address tables (repeatable)")
    ap.add_argument("--hostile", help="test/hostile/addresses")
    ap.add_argument("--tags", required=True, help="where to write the tag lines")
    args = ap.parse_args()

    out = sys.stdout.buffer
    with open(args.tags, "w", encoding="ascii") as tags:
        def emit(value, tagline):
            value = value.split(b"\0", 1)[0]
            out.write(value + b"\0")
            tags.write(tagline + "\n")

        if args.attacks:
            for value, t in ATTACKS:
                emit(value.encode("utf-8"), "attack " + t)
        for path in args.unit:
            with open(path, encoding="utf-8") as f:
                found = c_literals(f.read())
            if not found:
                sys.exit("gen.py: no address table found in " + path)
            for table, value in found:
                emit(value, "unit")
        if args.hostile:
            with open(args.hostile, encoding="utf-8") as f:
                found = hostile_values(f.read())
            if not found:
                sys.exit("gen.py: no hdr line found in " + args.hostile)
            for value in found:
                emit(value, "hostile")
        g = Gen("%s/%d" % (args.seed, args.round))
        for _ in range(args.n):
            value = g.value()
            emit(value, " ".join(["gen"] + sorted(g.tags)))


if __name__ == "__main__":
    main()

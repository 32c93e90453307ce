#!/usr/bin/env python3
"""compare.py - judge homed-milter's reading of From: values by two clients'

    compare.py --values F --tags F --ours F --tb F --py F [--all F]
    compare.py --state F [--report] [--values F --tags F --ours F --tb F --py F]

The invariant: for every value, either homed-milter calls the field
malformed ("M" line of checked), or every address that each oracle shows
for it is among the addresses homed-milter returned ("A" line), comparing
local part and domain with ASCII case folded.

What an oracle shows, decided here and nowhere else:
  - each mailbox's address: Thunderbird's EMAIL split at its last "@" (a
    wholly quoted local part unquoted, its quoted-pairs resolved), Python's
    username and domain. A mailbox with no address at all shows nothing;
    one with an address lacking "@", a local part or a domain still shows
    a sender, and that can never match: it is a violation unless the field
    is malformed;
  - every address written inside a display name or a group name, found by
    the rule of addresses_in_name() below (homed-milter applies the same
    rule to the names it decodes);
  - for Thunderbird, the addresses of both its readings (UTF-8, and
    ISO-8859-1 for a value that is not UTF-8);
  - nothing, when the oracle raised (counted).

Prints TAP: one test that the streams line up, one test per input source
and one per construction tag (ok when no value with it breaks the
invariant; counts as diagnostics), and up to 20 violating values with
both oracles' readings and homed-milter's. --all appends every violation
to a file. Long runs come in chunks: with --state, each call adds its
chunk's counts to the file, and the call with --report prints the whole.
"""
import argparse
import json
import os
import re
import sys

# --- addresses in a name -----------------------------------------------------


def _ranges(*spans):
    out = set()
    for s in spans:
        lo, hi = (s, s) if isinstance(s, int) else s
        out.update(range(lo, hi + 1))
    return out


# What Thunderbird's cleanToken removes, and what it turns into a space.
REMOVE = _ranges((0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F), 0x034F,
                 (0x17B4, 0x17B5), (0x180B, 0x180D), (0xFE00, 0xFE0F), (0xE0100, 0xE01EF))
TO_SPACE = _ranges(0x00A0, 0x1680, (0x2000, 0x200A), 0x202F, 0x205F, 0x3000, 0x00AD, 0x061C,
                   0x06DD, 0x070F, 0x08E2, 0x180E, (0x200B, 0x200F), (0x202A, 0x202E),
                   (0x2060, 0x2064), (0x2066, 0x206F), 0xFEFF, (0xFFF9, 0xFFFB), 0x110BD,
                   0x110CD, (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
                   0xE0001, (0xE0020, 0xE007F), 0x2800)
CLEAN = {c: None for c in REMOVE}
CLEAN.update({c: " " for c in TO_SPACE})
AT_SIGNS = "@\uff20\ufe6b"
BOUNDARY = set(" \t\r\n\u2028\u2029" + AT_SIGNS + "<>()[]{},;:\"'`\\")


def addresses_in_name(name):
    """The (local, domain) pairs a name shows: cleaned as cleanToken does,
    then at each at sign the longest runs of non-boundary characters
    before and after it (the domain without trailing dots), both
    non-empty."""
    text = name.translate(CLEAN)
    out = []
    for i, c in enumerate(text):
        if c not in AT_SIGNS:
            continue
        j = i
        while j > 0 and text[j - 1] not in BOUNDARY:
            j -= 1
        k = i + 1
        while k < len(text) and text[k] not in BOUNDARY:
            k += 1
        local, domain = text[j:i], text[i + 1:k].rstrip(".")
        if local and domain:
            out.append((local, domain))
    return out


# --- normalization -------------------------------------------------------------


def norm(s):
    """Text to the bytes homed-milter would hold, ASCII case folded. A lone
    surrogate from Python's surrogateescape is the raw byte it stands for."""
    try:
        b = s.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        b = s.encode("utf-8", "surrogatepass")
    return b.lower()


class Shown:
    """One address an oracle shows; pair is None when it can never match."""

    __slots__ = ("pair", "why")

    def __init__(self, local, domain, why):
        self.pair = (norm(local), norm(domain)) if local and domain else None
        self.why = why


def tb_shown(reading):
    out = []
    for r in [reading] + ([reading["l1"]] if "l1" in reading else []):
        label = "Thunderbird" + (" as ISO-8859-1" if r is not reading else "")
        for name, email in r["m"]:
            if email != "":
                k = email.rfind("@")
                local, domain = (email[:k], email[k + 1:]) if k >= 0 else ("", "")
                if len(local) >= 2 and local[0] == '"' and local[-1] == '"':
                    local = re.sub(r"\\(.)", r"\1", local[1:-1], flags=re.S)
                out.append(Shown(local, domain, "%s address %r" % (label, email)))
            for local, domain in addresses_in_name(name):
                out.append(Shown(local, domain, "%s name %r" % (label, name)))
        for name in r["g"]:
            for local, domain in addresses_in_name(name):
                out.append(Shown(local, domain, "%s group %r" % (label, name)))
    return out


def py_shown(reading):
    out = []
    for name, user, domain in reading.get("m", []):
        if user or domain:
            out.append(Shown(user, domain, "Python address %r@%r" % (user, domain)))
        for local, dom in addresses_in_name(name):
            out.append(Shown(local, dom, "Python name %r" % name))
    for name in reading.get("g", []):
        for local, dom in addresses_in_name(name):
            out.append(Shown(local, dom, "Python group %r" % name))
    return out


def parse_ours(line):
    """checked's line: (None, message) or (set of pairs, shown list)."""
    if line.startswith("M\t"):
        return None, line[2:]
    fields = line.split("\t")
    if fields[0] != "A" or len(fields) < 2:
        raise ValueError("bad line from checked: %r" % line)
    pairs = []
    for f in fields[1:]:
        local, domain = f.split(" ")
        pairs.append((bytes.fromhex(local).lower(), bytes.fromhex(domain).lower()))
    return set(pairs), pairs


def printable(text):
    """TEXT on one line: controls, line breaks and lone surrogates escaped."""
    return "".join(c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF else
                   "\\x%02x" % ord(c) if ord(c) < 0x100 else "\\u%04x" % ord(c)
                   if ord(c) < 0x10000 else "\\U%08x" % ord(c) for c in text)


def show_pair(p):
    return printable((p[0] + b"@" + p[1]).decode("utf-8", "backslashreplace"))


def show_reading(line):
    return printable(json.dumps(json.loads(line), ensure_ascii=False))


# --- the report ----------------------------------------------------------------


COUNTS = ("values", "malformed", "accepted", "bad", "bad_tb", "bad_py", "tb_x", "py_x")


def count_diag(c):
    c = dict(zip(COUNTS, c))
    return ["values %(values)d: malformed %(malformed)d, accepted %(accepted)d" % c,
            "violations %(bad)d: of Thunderbird's reading %(bad_tb)d, of Python's %(bad_py)d" % c,
            "oracle raised: Thunderbird %(tb_x)d, Python %(py_x)d" % c]


def read_lines(path):
    """Lines ended by LF only: a JSON string may hold U+2028 as it is."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return text[:-1].split("\n") if text.endswith("\n") else text.split("\n") if text else []


def compare_chunk(args, state):
    """Add one chunk of values to STATE; describe its violations."""
    with open(args.values, "rb") as f:
        values = f.read().split(b"\0")
    values.pop()
    tags = read_lines(args.tags)
    ours = read_lines(args.ours)
    tb = read_lines(args.tb)
    py = read_lines(args.py)
    base = state["values"]
    lengths = [len(values), len(tags), len(ours), len(tb), len(py)]
    if len(set(lengths)) != 1 or lengths[0] == 0:
        state["misaligned"].append("values %d, tags %d, checked %d, Thunderbird %d, Python %d"
                                   " (from value %d on)" % tuple(lengths + [base]))
        return []

    def describe(i, missing):
        lines = ["value %d (%s): %r" % (base + i, tags[i], values[i])]
        our_set, our_info = parse_ours(ours[i])
        lines.append("  homed-milter: " + ("malformed: " + printable(our_info) if our_set is None
                                            else ", ".join(show_pair(q) for q in our_info)))
        lines.append("  Thunderbird:  " + show_reading(tb[i]))
        lines.append("  Python:       " + show_reading(py[i]))
        for s in missing:
            lines.append("  not checked:  " + printable(s.why) +
                         (" (never matches)" if s.pair is None else " -> " + show_pair(s.pair)))
        return lines

    described = []
    for i, value in enumerate(values):
        words = tags[i].split()
        t = json.loads(tb[i])
        p = json.loads(py[i])
        our_set, _ = parse_ours(ours[i])
        bad_tb, bad_py = [], []
        if our_set is not None:
            if "x" not in t:
                bad_tb = [s for s in tb_shown(t) if s.pair is None or s.pair not in our_set]
            if "x" not in p:
                bad_py = [s for s in py_shown(p) if s.pair is None or s.pair not in our_set]
        bad = bool(bad_tb or bad_py)
        row = (1, our_set is None, our_set is not None, bad, bool(bad_tb), bool(bad_py),
               "x" in t, "x" in p)
        lines = None
        if bad:
            lines = describe(i, bad_tb + bad_py)
            described.append(lines)
            state["violations"] += 1
            if len(state["examples"]) < args.show:
                state["examples"].append(lines)
        for k, word in enumerate(words):
            key = ("source " if k == 0 else "construction ") + word
            c = state["tables"].setdefault(key, [0] * len(COUNTS))
            for j, v in enumerate(row):
                c[j] += v
            if bad and key not in state["firsts"]:
                state["firsts"][key] = lines
    state["values"] += len(values)
    return described


def report(state, show):
    n = 0

    def result(ok, desc, diag=()):
        nonlocal n
        n += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", n, desc))
        for line in diag:
            print("# " + line)

    result(not state["misaligned"],
           "one line per value from each program (%d values)" % state["values"],
           state["misaligned"])
    for key in sorted(state["tables"], key=lambda k: (not k.startswith("source "), k)):
        c = state["tables"][key]
        result(c[3] == 0, "%s: %d values, %d violations" % (key, c[0], c[3]), count_diag(c))
    if state["violations"]:
        # The first violation of each source and construction, then the
        # first ones of all, in the order of the values.
        picked = []
        for lines in list(state["firsts"].values()) + state["examples"]:
            if lines not in picked and len(picked) < show:
                picked.append(lines)
        picked.sort(key=lambda lines: int(lines[0].split()[1]))
        print("# %d of %d values break the invariant; %s:" % (
            state["violations"], state["values"],
            "all of them" if state["violations"] <= len(picked) else "%d of them" % len(picked)))
        for lines in picked:
            for line in lines:
                print("# " + line)
    print("1..%d" % n)
    return 0 if n > 0 and not state["misaligned"] and not state["violations"] else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name, what in (("values", "the values, each ended by a NUL byte"),
                       ("tags", "gen.py's tag lines"), ("ours", "checked's lines"),
                       ("tb", "oracle_tb.mjs's lines"), ("py", "oracle_py.py's lines")):
        ap.add_argument("--" + name, help=what)
    ap.add_argument("--state", help="counts of earlier chunks: read if there, then written")
    ap.add_argument("--report", action="store_true",
                    help="with --state: print the TAP report after this chunk")
    ap.add_argument("--all", help="append every violation here")
    ap.add_argument("--show", type=int, default=20)
    args = ap.parse_args()

    state = {"values": 0, "violations": 0, "misaligned": [], "tables": {}, "firsts": {},
             "examples": []}
    if args.state and os.path.exists(args.state):
        with open(args.state, encoding="utf-8") as f:
            state = json.load(f)
    chunk = [args.values, args.tags, args.ours, args.tb, args.py]
    if any(chunk) and not all(chunk):
        ap.error("--values, --tags, --ours, --tb and --py go together")
    described = compare_chunk(args, state) if all(chunk) else []
    if args.all:
        with open(args.all, "a", encoding="utf-8") as f:
            for lines in described:
                f.write("\n".join(lines) + "\n")
    if args.state:
        with open(args.state, "w", encoding="utf-8") as f:
            json.dump(state, f)
    if args.state and not args.report:
        return 0
    return report(state, args.show)


if __name__ == "__main__":
    sys.exit(main())

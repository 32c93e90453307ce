#!/usr/bin/env python3
"""oracle_py.py - what Python's email package shows for header field values

    oracle_py.py [-j JOBS] < VALUES > READINGS

Reads values ended by NUL bytes on stdin and parses each as a From: field
with email.headerregistry, as the email package does for a received
message under email.policy.default: the bytes decoded as UTF-8, a byte
that is not UTF-8 kept as a lone surrogate (surrogateescape), the CR and
LF bytes of folding removed (EmailPolicy.header_fetch_parse), then
HeaderRegistry()('From', value). Writes one JSON line per value:

    {"m": [[DISPLAY NAME, USERNAME, DOMAIN], ...], "g": [GROUP NAME, ...]}

every address, those in groups included, and the display name of every
real group; or {"x": "TYPE: MESSAGE"} when the parser raised. What these
mean for the invariant is decided in compare.py alone. JOBS processes
share the work (default: the number of CPUs); the order is kept.
"""
import argparse
import json
import multiprocessing
import os
import re
import sys
from email.headerregistry import HeaderRegistry

REGISTRY = HeaderRegistry()
LINESEP = re.compile(r"\n|\r")


def read(value):
    text = LINESEP.sub("", value.decode("utf-8", "surrogateescape"))
    try:
        header = REGISTRY("From", text)
        m = [[a.display_name, a.username, a.domain] for a in header.addresses]
        g = [grp.display_name for grp in header.groups if grp.display_name is not None]
        out = {"m": m, "g": g}
    except Exception as err:  # the reader shows nothing for this value
        out = {"x": "%s: %s" % (type(err).__name__, err)}
    return json.dumps(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-j", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    values = sys.stdin.buffer.read().split(b"\0")
    if values[-1] != b"":
        sys.exit("oracle_py.py: the last value is not ended by a NUL byte")
    values.pop()
    out = sys.stdout
    if args.j > 1 and len(values) > 1000:
        with multiprocessing.Pool(args.j) as pool:
            for line in pool.imap(read, values, chunksize=500):
                out.write(line + "\n")
    else:
        for value in values:
            out.write(read(value) + "\n")
    out.flush()


if __name__ == "__main__":
    main()

#!/bin/sh
# The differential layer: homed-milter's reading of From: values judged by
# two mail clients' parsers. For every value, either homed-milter calls the
# field malformed, or every address Thunderbird's parser
# (@protontech/jsmimeparser 3.0.2, parseAddressingHeader) or Python's
# email.headerregistry shows for it, in a mailbox or written in a display
# or group name, is among the addresses homed-milter checks. The values:
# the known attacks, the address tables of test/unit/test_address.c and
# test/unit/test_shown.c, the From: values of test/hostile/addresses and
# HM_DIFF_COUNT values from the grammar of gen.py. TAP output: one test
# per input source and per construction (see compare.py), with counts,
# and up to 20 violating values, each with all three readings.
#
#   HM_SRCDIR=... HM_BUILDDIR=... sh test/differential/run.sh
#   make check TESTS=test/differential/run.sh
#   make differential-long              10 000 000 generated values
#
# Environment:
#   HM_DIFF_COUNT    generated values (default 100000)
#   HM_DIFF_SEED     the generator's seed (default 1): the same seed, the
#                    same values
#   HM_DIFF_CHUNK    values per round (default 200000): a long run goes in
#                    rounds of this many, so that memory stays bounded
#   HM_NODE_MODULES  a node_modules directory holding the pinned
#                    @protontech/jsmimeparser (default: node_modules beside
#                    this script, from "npm ci" in test/differential)
#   HM_DIFF_KEEP     a directory to keep every violation in ("violations",
#                    all three readings of each) and the counts ("state");
#                    in a run of one round also the values, their tags and
#                    each program's lines (values.0, tags.0, ours.0, tb.0,
#                    py.0)
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${HM_BUILDDIR:-$SRC}
HERE=$SRC/test/differential
CHECKED=$BUILD/test/differential/checked
COUNT=${HM_DIFF_COUNT:-100000}
SEED=${HM_DIFF_SEED:-1}
CHUNK=${HM_DIFF_CHUNK:-200000}
PARSER=@protontech/jsmimeparser
. "$SRC/test/lib/tap.sh"

[ -x "$CHECKED" ] || skip_all "test/differential/checked is not built"
command -v python3 >/dev/null 2>&1 || skip_all "python3 is not installed"
command -v node >/dev/null 2>&1 || skip_all "node is not installed"
if [ -n "${HM_NODE_MODULES:-}" ]; then
    MODULES=$HM_NODE_MODULES
else
    MODULES=$HERE/node_modules
fi
[ -f "$MODULES/$PARSER/lib/headerParser.js" ] ||
    skip_all "no $PARSER in $MODULES (npm ci in test/differential, or set HM_NODE_MODULES)"
VERSION=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$MODULES/$PARSER/package.json" | head -1)
[ "$VERSION" = 3.0.2 ] || skip_all "$PARSER is $VERSION in $MODULES, the oracle is 3.0.2"
case $COUNT$CHUNK in
*[!0-9]*) skip_all "HM_DIFF_COUNT and HM_DIFF_CHUNK must be numbers" ;;
esac
[ "$CHUNK" -gt 0 ] || CHUNK=200000

T=$(mktemp -d "${TMPDIR:-/tmp}/hm-diff.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
JOBS=$(nproc 2>/dev/null || echo 2)

# round K N [FIXED...]: generate N values (with the fixed inputs when given),
# have each program read them, and add the comparison to $T/state. Prints
# nothing; a failing program leaves its name and stderr in $T/failed.
round() {
    _k=$1 _n=$2
    shift 2
    if ! python3 "$HERE/gen.py" -n "$_n" --seed "$SEED" --round "$_k" --tags "$T/tags" "$@" \
        >"$T/values" 2>"$T/gen.err"; then
        { echo "gen.py"; cat "$T/gen.err"; } >>"$T/failed"
        return 1
    fi
    "$CHECKED" <"$T/values" >"$T/ours" 2>"$T/ours.err" &
    _p1=$!
    node --import "$HERE/register.mjs" "$HERE/oracle_tb.mjs" "$MODULES" \
        <"$T/values" >"$T/tb" 2>"$T/tb.err" &
    _p2=$!
    python3 "$HERE/oracle_py.py" -j "$JOBS" <"$T/values" >"$T/py" 2>"$T/py.err"
    _r3=$?
    wait $_p1
    _r1=$?
    wait $_p2
    _r2=$?
    [ $_r1 -eq 0 ] || { echo "checked (exit $_r1)"; cat "$T/ours.err"; } >>"$T/failed"
    [ $_r2 -eq 0 ] || { echo "oracle_tb.mjs (exit $_r2)"; cat "$T/tb.err"; } >>"$T/failed"
    [ $_r3 -eq 0 ] || { echo "oracle_py.py (exit $_r3)"; cat "$T/py.err"; } >>"$T/failed"
    [ $_r1 -eq 0 ] && [ $_r2 -eq 0 ] && [ $_r3 -eq 0 ] || return 1
    python3 "$HERE/compare.py" --state "$T/state" --all "$T/violations" --values "$T/values" \
        --tags "$T/tags" --ours "$T/ours" --tb "$T/tb" --py "$T/py" 2>"$T/compare.err" ||
        { echo "compare.py"; cat "$T/compare.err"; } >>"$T/failed"
    if [ -n "${HM_DIFF_KEEP:-}" ] && [ "$COUNT" -le "$CHUNK" ]; then
        mkdir -p "$HM_DIFF_KEEP" &&
            for _f in values tags ours tb py; do cp "$T/$_f" "$HM_DIFF_KEEP/$_f.$_k"; done
    fi
}

START=$(date +%s)
k=0
left=$COUNT
: >"$T/violations"
round 0 $((left < CHUNK ? left : CHUNK)) --attacks --unit "$SRC/test/unit/test_address.c" \
    --unit "$SRC/test/unit/test_shown.c" --hostile "$SRC/test/hostile/addresses"
left=$((left - (left < CHUNK ? left : CHUNK)))
while [ ! -s "$T/failed" ] && [ "$left" -gt 0 ]; do
    k=$((k + 1))
    n=$((left < CHUNK ? left : CHUNK))
    round "$k" "$n"
    left=$((left - n))
done

if [ -s "$T/failed" ]; then
    tap_result 1 "every program read every value"
    diag "$(head -40 "$T/failed")"
    done_testing
    exit 1
fi
tap_result 0 "every program read every value (rounds: $((k + 1)), $(($(date +%s) - START)) s)"

# The report of all rounds, numbered on from here.
python3 "$HERE/compare.py" --state "$T/state" --report >"$T/report" 2>&1
if ! grep -q '^1\.\.[1-9]' "$T/report"; then
    tap_result 1 "compare.py reports"
    diag "$(tail -20 "$T/report")"
    done_testing
    exit 1
fi
awk -v base="$TAP_N" '
    /^1\.\.[0-9]+$/ { next }
    /^(not )?ok [0-9]+/ { n = ($1 == "not") ? $3 : $2; sub(/[0-9]+/, n + base) }
    { print }' "$T/report"
TAP_N=$((TAP_N + $(grep -cE '^(not )?ok ' "$T/report")))
TAP_FAILED=$((TAP_FAILED + $(grep -c '^not ok ' "$T/report")))
if [ -n "${HM_DIFF_KEEP:-}" ]; then
    mkdir -p "$HM_DIFF_KEEP" && cp "$T/violations" "$T/state" "$HM_DIFF_KEEP/"
fi
done_testing

#!/bin/sh
# cpu.sh - CPU per decision: callgrind instructions for warm decisions
#
#   make bench-cpu
#   HM_SRCDIR=... HM_BUILDDIR=... sh test/bench/cpu.sh
#
# A private slapd holds HM_BENCH_USERS generated mailboxes. cpubench looks
# each up once (the cache is then warm), and only then runs
# HM_BENCH_DECISIONS decisions under callgrind's instrumentation:
#
#   warm    through check, as mlfi_envfrom makes a decision: the login
#           looked up (a cache hit), the envelope sender parsed and
#           decided by policy_decide: the figure;
#   policy  the same decisions with the entry already in hand: the
#           baseline; the difference is what the cache path costs.
#
# Instruction counts do not depend on the machine's load: the table gives
# instructions per decision (median and min-max over interleaved rounds),
# the ratio, and a breakdown by function (inclusive, from
# callgrind_annotate). A warm pass that reached LDAP is an error: its
# instrumented part must not contain any LDAP search.
#
# Environment (defaults): HM_BENCH_USERS (1000), HM_BENCH_DECISIONS
# (10000), HM_BENCH_ROUNDS (3), HM_KEEP=1 keeps the work directory (and
# the callgrind.out files).
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BENCH=cpu.sh
. "$SRC/test/lib/bench.sh"
bench_tools CPUBENCH=test/bench/cpubench
bench_vars USERS=1000 DECISIONS=10000 ROUNDS=3

bench_need "make bench-cpu builds cpubench" "$CPUBENCH" "$SLAPD" "$SLAPADD" valgrind \
    callgrind_annotate ldapsearch
bench_dir

# totals FILE: the instruction count of a callgrind.out file
# (callgrind writes "summary: 0" when instrumentation starts late; totals is right)
totals() { sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$1" | head -1; }

# inclusive FILE: "function instructions" lines, subroutines included
inclusive() {
    callgrind_annotate --inclusive=yes --threshold=100 --auto=no --show-percs=no "$1" |
        sed -n 's/^ *\([0-9,][0-9,]*\)  *[^ ]*:\([A-Za-z_][A-Za-z_0-9]*\)[@ ].*/\2 \1/p' |
        tr -d ,
}

# run MODE ROUND: one cpubench under callgrind, one result line
run() {
    _cg=$W/callgrind.out.$1.$2
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$_cg" \
        "$CPUBENCH" -c "$HM_DIR/bench.conf" -m "$1" -n "$DECISIONS" -u "$USERS" \
        > "$W/run.out" 2> "$W/run.err"
    _rc=$?
    _ir=$(totals "$_cg")
    if [ $_rc -ne 0 ] || [ -z "$_ir" ]; then
        echo "cpu.sh: $1, round $2: exit $_rc" >&2
        cat "$W/run.out" >&2
        grep -v '^==' "$W/run.err" | head -5 >&2
        BROKEN=1
        return
    fi
    inclusive "$_cg" > "$W/functions.$1.$2"
    if grep -q '^ldap_search_ext\|^ldap_result' "$W/functions.$1.$2"; then
        echo "cpu.sh: $1, round $2: the measured pass searched LDAP: the cache was" \
            "not warm" >&2
        BROKEN=1
    fi
    echo "$1 $2 $_ir" >> "$W/results"
}

bench_slapd "$USERS"
hm_conf bench ldap.timeout=5 cache.ttl=3600 cache.negative_ttl=600 cache.size=100000

BROKEN=0
: > "$W/results"
echo "# $USERS users, cache filled by a first pass; $DECISIONS warm MAIL FROM decisions" \
    "measured, one in 10 a not-owned reject; $ROUNDS rounds, valgrind $(valgrind --version)"
r=1
while [ $r -le "$ROUNDS" ]; do
    if [ $((r % 2)) = 1 ]; then
        run warm $r
        run policy $r
    else
        run policy $r
        run warm $r
    fi
    r=$((r + 1))
done
[ "$BROKEN" = 0 ] || exit 1

awk -v n="$DECISIONS" -f "$STATS" -f - "$W/results" <<'AWK'
{ ir[$1] = add(ir[$1], $3 / n) }
END {
    w = med(ir["warm"]); p = med(ir["policy"])
    printf "%-34s %-30s %-30s %s\n", "instructions per decision",
        "cache + policy (min-max)", "policy alone (min-max)", "ratio"
    printf "%-34s %-30s %-30s %.2f\n", n " warm decisions", spread(ir["warm"], "%.0f"),
        spread(ir["policy"], "%.0f"), w / p
    printf "the cache path: %.0f instructions per decision, %.0f%% of a warm decision\n",
        w - p, 100 * (w - p) / w
}
AWK

# Where they go: inclusive instructions per decision, last round of each mode.
awk -v n="$DECISIONS" '
BEGIN {
    k = split("cb_decide check_login dir_lookup cache_get pthread_mutex_lock " \
              "pthread_mutex_unlock cache_monotonic entry_ref entry_unref " \
              "check_envelope addr_parse_envelope addr_free policy_decide " \
              "check_result_clear check_end policy_verdict_clear", f, " ")
}
FNR == 1 { m++ }
!((m, $1) in ir) { ir[m, $1] = $2 }
END {
    printf "%-34s %-30s %s\n", "by function (inclusive, last round)", "cache + policy",
        "policy alone"
    for (i = 1; i <= k; i++)
        if ((1, f[i]) in ir || (2, f[i]) in ir)
            printf "  %-32s %-30.0f %.0f\n", f[i], ir[1, f[i]] / n, ir[2, f[i]] / n
    print "(cb_decide: one whole decision; clock_gettime is a system call under valgrind,"
    print " its vDSO instructions are not counted)"
}' "$W/functions.warm.$ROUNDS" "$W/functions.policy.$ROUNDS"
exit 0

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
# Then the daemon, as users run it: homed-milter at log_level info (each
# accepted message logs a line), cache warm, under callgrind, driven by
# mltload over one connection, at policy.decide_at = "mail" and
# "end-of-data"; the baseline is nullmilter under callgrind with the same
# steps and macros (-e for end-of-data). After HM_BENCH_DAEMON_WARMUP
# messages the counts are zeroed (callgrind_control -z), then
# HM_BENCH_DAEMON_MESSAGES messages are counted (callgrind_control -d):
# instructions per message of the daemon and of the null milter, their
# difference (what one decision costs, logging included) and where it
# goes: the check (login and cache, envelope, header fields), the log
# line (formatted, then written) and the rest (libmilter, the callbacks).
# The instructions the kernel spends (the write of the log line, the
# socket) are not counted.
#
# Environment (defaults): HM_BENCH_USERS (1000), HM_BENCH_DECISIONS
# (10000), HM_BENCH_ROUNDS (3), HM_BENCH_DAEMON_MESSAGES (5000),
# HM_BENCH_DAEMON_WARMUP (1200), HM_BENCH_DAEMON=0 leaves the daemon
# out, HM_KEEP=1 keeps the work directory (and the callgrind.out files).
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BENCH=cpu.sh
. "$SRC/test/lib/bench.sh"
bench_tools CPUBENCH=test/bench/cpubench NULLMILTER=test/bench/nullmilter
bench_vars USERS=1000 DECISIONS=10000 ROUNDS=3 DAEMON=1 DAEMON_MESSAGES=5000 \
    DAEMON_WARMUP=1200

bench_need "make bench-cpu builds cpubench" "$CPUBENCH" "$SLAPD" "$SLAPADD" valgrind \
    callgrind_annotate ldapsearch
[ "$DAEMON" = 0 ] || bench_need "make bench-cpu builds them" "$HM" "$MLTLOAD" "$NULLMILTER" \
    callgrind_control
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
[ "$DAEMON" = 0 ] && exit 0

# --- the daemon ---------------------------------------------------------------------
NULL_PID=""
bench_cleanup() { hm_stop_pid "$NULL_PID" 600; }
bench_workload "$W/warm.wl" 300

# counted NAME PID SOCKET: warm up, zero, count DAEMON_MESSAGES messages,
# dump to W/callgrind.out.NAME.1; fails unless all of them were accepted
counted() {
    _ok=1
    _cs=$3
    wait_for 600 eval '"$MLTLOAD" -s "unix:$_cs" -n 1 -t 5 2>/dev/null | grep -q "^expect_accept_got_accept=1$"' ||
        fail "$1 did not come up under valgrind"
    "$MLTLOAD" -s "unix:$3" -n "$DAEMON_WARMUP" -w "$W/warm.wl" -t 30 > "$W/$1.warm" 2>&1 || _ok=0
    callgrind_control -z "$2" > /dev/null 2>&1 || fail "callgrind_control -z $1 failed"
    "$MLTLOAD" -s "unix:$3" -n "$DAEMON_MESSAGES" -w "$W/warm.wl" -t 30 -C > "$W/$1.run" 2>&1 || _ok=0
    callgrind_control -d "$2" > /dev/null 2>&1 || fail "callgrind_control -d $1 failed"
    [ $_ok = 1 ] && [ "$(bench_v expect_accept_got_accept "$W/$1.run")" = "$DAEMON_MESSAGES" ] ||
        { cat "$W/$1.run" >&2; fail "$1: not every message was accepted"; }
    wait_for 100 eval '[ -s "$W/callgrind.out.$1.1" ]'
}

# one MODE: homed-milter and nullmilter under callgrind, counted in turn
one() {
    _m=$1
    shift
    hm_conf "hm-$_m" 'log_level="info"' ldap.timeout=5 cache.ttl=3600 cache.size=100000 \
        "policy.decide_at=\"$_m\""
    hm_start "hm-$_m" valgrind --tool=callgrind --callgrind-out-file="$W/callgrind.out.homed-$_m"
    counted "homed-$_m" "$(hm_pid "hm-$_m")" "$W/hm-$_m.sock"
    hm_stop "hm-$_m"
    valgrind --tool=callgrind --callgrind-out-file="$W/callgrind.out.null-$_m" \
        "$NULLMILTER" "$@" -p "unix:$W/null-$_m.sock" > "$W/null-$_m.log" 2>&1 3>&- &
    NULL_PID=$!
    counted "null-$_m" "$NULL_PID" "$W/null-$_m.sock"
    hm_stop_pid "$NULL_PID" 600
    NULL_PID=""
    for _k in homed null; do
        echo "$_m $_k $(totals "$W/callgrind.out.$_k-$_m.1")" >> "$W/daemon"
        inclusive "$W/callgrind.out.$_k-$_m.1" > "$W/functions.$_k-$_m"
    done
}

echo
echo "# the daemon at log_level info, cache warm, one mltload connection;" \
    "$DAEMON_MESSAGES messages counted after $DAEMON_WARMUP"
: > "$W/daemon"
one mail
one end-of-data -e
awk -v n="$DAEMON_MESSAGES" -f "$STATS" -f - "$W/daemon" "$W/functions.homed-mail" \
    "$W/functions.homed-end-of-data" <<'AWK'
FILENAME ~ /daemon$/ { ir[$1, $2] = $3 / n; next }
FNR == 1 { m = FILENAME ~ /end-of-data$/ ? "end-of-data" : "mail" }
# inclusive counts: the first line of a function is its total
!((m, $1) in f) { f[m, $1] = $2 / n }
function g(m, name) { return (m, name) in f ? f[m, name] : 0 }
END {
    printf "%-40s %12s %12s\n", "instructions per message", "mail", "end-of-data"
    printf "%-40s %12.0f %12.0f\n", "homed-milter", ir["mail", "homed"], ir["end-of-data", "homed"]
    printf "%-40s %12.0f %12.0f\n", "nullmilter (same steps)", ir["mail", "null"],
        ir["end-of-data", "null"]
    printf "%-40s %12.0f %12.0f\n", "one decision (the difference)",
        ir["mail", "homed"] - ir["mail", "null"],
        ir["end-of-data", "homed"] - ir["end-of-data", "null"]
    print "where homed-milter's go (inclusive):"
    k = split("check_login check_envelope check_header check_held addr_parse_shown " \
              "milter_defer milter_line milter_client milter_flush milter_log " \
              "milter_log_kept log_msg __vasprintf_internal __vfprintf_internal " \
              "log_sanitize fprintf syslog smfi_getsymval malloc free", fn, " ")
    for (i = 1; i <= k; i++)
        if (g("mail", fn[i]) + g("end-of-data", fn[i]) > 0)
            printf "  %-38s %12.0f %12.0f\n", fn[i], g("mail", fn[i]), g("end-of-data", fn[i])
    for (j = 1; j <= 2; j++) {
        m = j == 1 ? "mail" : "end-of-data"
        logc[m] = g(m, "milter_defer") + g(m, "milter_flush")
        logc[m] += g(m, "milter_log") + g(m, "milter_log_kept")
    }
    printf "%-40s %5.0f (%2.0f%%) %5.0f (%2.0f%%)\n", "the log line (defer + flush + log)",
        logc["mail"], 100 * logc["mail"] / ir["mail", "homed"], logc["end-of-data"],
        100 * logc["end-of-data"] / ir["end-of-data", "homed"]
    print "(a warm decision: the login from the cache, a From: field checked besides the"
    print " envelope; vasprintf/vfprintf count the log line's and every other asprintf)"
}
AWK
exit 0

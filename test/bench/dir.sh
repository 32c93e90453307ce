#!/bin/sh
# dir.sh - the directory benchmark: dir_lookup against a raw libldap loop
#
#   make bench-dir
#   HM_SRCDIR=... HM_BUILDDIR=... sh test/bench/dir.sh
#
# A private slapd holds HM_BENCH_USERS generated mailboxes (gen-ldif.sh).
# dirbench looks logins up, every lookup another login, in two modes:
#
#   homed  dir_lookup() with the cache off and one pooled connection per
#          thread: what every lookup of a cold cache costs;
#   raw    the baseline: one libldap handle per thread, bound once, then
#          ldap_search_ext_s with the same filter, base, scope, attributes
#          and size limit, the answer read as the product reads it.
#
# Both run in one dirbench process (mode both), in short slices that
# alternate homed, raw, raw, homed... (10 to 20 pairs a round), against
# the same slapd, so that the machine's noise falls on both sides alike;
# and that HM_BENCH_ROUNDS times at each number of threads. The table
# gives lookups/s (median and min-max over the rounds), the ratio
# homed/raw (median of the rounds' ratios, their min-max), the spread of
# the ratios of single slice pairs, p50 latencies, the client's CPU time
# per lookup and slapd's. The target: homed >= 0.90 x raw.
#
# On a busy machine the rates stay noisy, so the client's own cost is also
# counted with callgrind (one thread, HM_BENCH_CG_LOOKUPS lookups, only the
# counted lookups instrumented): instructions per lookup do not depend on
# the load. Exit status 1 when a lookup failed; a missed target is only
# reported, unless HM_BENCH_STRICT=1.
#
# Environment (defaults): HM_BENCH_USERS (10000), HM_BENCH_LOOKUPS per
# round and mode (10000), HM_BENCH_ROUNDS (5), HM_BENCH_CONNS ("1 8 32"),
# HM_BENCH_CG_LOOKUPS (2000; 0 skips callgrind),
# HM_BENCH_TRANSPORT (ldapi; or ldap: TCP to 127.0.0.1), HM_KEEP=1 keeps
# the work directory.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BENCH=dir.sh
. "$SRC/test/lib/bench.sh"
bench_tools DIRBENCH=test/bench/dirbench
bench_vars USERS=10000 LOOKUPS=10000 ROUNDS=5 CG_LOOKUPS=2000 "CONNS=1 8 32" TRANSPORT=ldapi
TARGET=0.90

bench_need "make bench-dir builds dirbench" "$DIRBENCH" "$SLAPD" "$SLAPADD" ldapsearch
bench_dir

# run THREADS ROUND: one dirbench run (homed and raw interleaved), one result line
run() {
    bench_dirbench "$1 threads, round $2" "$HM_DIR/bench.conf" "$1" "$USERS" "$2" "$SLAPD_PID" ||
        return
    _v() { bench_v "$1"; }
    echo "$1 $2 $(_v homed_rate) $(_v raw_rate) $(_v ratio) $(_v pair_ratio_min)" \
        "$(_v pair_ratio_max) $(_v homed_p50_us) $(_v raw_p50_us) $(_v homed_cpu_us)" \
        "$(_v raw_cpu_us) $(_v homed_slapd_us) $(_v raw_slapd_us)" >> "$W/results"
}

bench_slapd "$USERS"
SLAPD_PID=$(cat "$SLAPD_DIR/slapd.pid")
case $TRANSPORT in
ldapi) URI=$SLAPD_LDAPI_URL ;;
ldap) URI=$SLAPD_LDAP_URL ;;
*) fail "HM_BENCH_TRANSPORT is ldapi or ldap" ;;
esac
hm_conf bench "ldap.uri=[ \"$URI\" ]" ldap.timeout=5

BROKEN=0
: > "$W/results"
echo "# $(nproc) CPUs; $USERS users in slapd over $TRANSPORT; $LOOKUPS cold lookups" \
    "of each mode a round, every one another login, in alternating slices; $ROUNDS rounds"
for c in $CONNS; do
    r=1
    while [ $r -le "$ROUNDS" ]; do
        run "$c" $r
        r=$((r + 1))
    done
    echo "# $c threads done"
done

# One row per number of threads: medians and min-max over the rounds.
awk -v target="$TARGET" -f "$STATS" -f - "$W/results" <<'AWK'
{
    c = $1
    if (!(c in seen)) { seen[c] = 1; order[++nk] = c }
    hr[c] = add(hr[c], $3); rr[c] = add(rr[c], $4); ratio[c] = add(ratio[c], $5)
    pmin[c] = add(pmin[c], $6); pmax[c] = add(pmax[c], $7); hp[c] = add(hp[c], $8)
    rp[c] = add(rp[c], $9); hc[c] = add(hc[c], $10); rc[c] = add(rc[c], $11)
    hs[c] = add(hs[c], $12); rs[c] = add(rs[c], $13)
}
END {
    printf "%7s  %-22s %-22s %-17s %-11s %-13s %-13s %s\n", "threads", "homed lookups/s",
        "raw lookups/s", "ratio (min-max)", "slice pairs", "p50 us h/raw", "client CPU us",
        "slapd CPU us"
    for (i = 1; i <= nk; i++) {
        c = order[i]; x = med(ratio[c])
        printf "%7d  %-22s %-22s %-17s %-11s %-13s %-13s %s\n", c,
            spread(hr[c], "%5.0f"), spread(rr[c], "%5.0f"), spread(ratio[c], "%4.2f"),
            sprintf("%.2f-%.2f", lo(pmin[c]), hi(pmax[c])),
            sprintf("%.0f/%.0f", med(hp[c]), med(rp[c])),
            sprintf("%.1f/%.1f", med(hc[c]), med(rc[c])),
            sprintf("%.1f/%.1f", med(hs[c]), med(rs[c]))
        met(sprintf("homed >= %.2f x raw, %d threads", target, c), x, target)
    }
    print "(lookups/s: median (min-max) over the rounds; ratio: homed/raw of each round, median"
    print " (min-max); slice pairs: the lowest and highest ratio of one pair of slices; p50 and"
    print " CPU per lookup: medians, homed/raw; client CPU: dirbench, all threads; slapd CPU"
    print " from /proc in clock ticks)"
    exit verdicts()
}
AWK
missed=$?

# cg MODE: the client's instructions for CG_LOOKUPS lookups, one thread
cg() {
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$W/cg.$1" \
        "$DIRBENCH" -m "$1" -c "$HM_DIR/bench.conf" -t 1 -n "$CG_LOOKUPS" -u "$USERS" -w 5 \
        > "$W/cg.out" 2> "$W/cg.err" || { echo "dir.sh: callgrind, $1: failed" >&2; return; }
    sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$W/cg.$1"
}
if [ "$CG_LOOKUPS" -gt 0 ] && command -v valgrind >/dev/null 2>&1; then
    awk -v h="$(cg homed)" -v r="$(cg raw)" -v n="$CG_LOOKUPS" 'BEGIN {
        if (h == 0 || r == 0) exit 1
        printf "client instructions per lookup (callgrind, 1 thread, %d lookups): homed %.0f," \
            " raw %.0f, ratio raw/homed %.2f\n", n, h / n, r / n, r / h
    }' || BROKEN=1
elif [ "$CG_LOOKUPS" -gt 0 ]; then
    echo "# valgrind is not installed: no instruction counts"
fi
[ "$BROKEN" = 0 ] || exit 1
[ "${HM_BENCH_STRICT:-}" = 1 ] && [ "$missed" != 0 ] && exit 1
exit 0

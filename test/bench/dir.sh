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
# Then the directory down (the real daemon, driven by mltload: CONNS_DOWN
# milter connections, owned senders only, over TCP to 127.0.0.1), in
# DOWN_ROUNDS rounds that interleave:
#
#   warm   the baseline: decisions/s of a daemon whose cache holds every
#          login of the workload (cache.ttl 300, warmed once), slapd up;
#   down   decisions/s of a daemon with the cache off while slapd is
#          stopped: a URI that did not answer is tried again at most once
#          a second, so every message gets its 451 at once. Target: the
#          same order of magnitude as warm, down >= 0.10 x warm;
#   back   with a stream running on that daemon, slapd started again: the
#          time from its port listening to the first owned sender
#          accepted (polled every 10 ms). Target: the worst round <= 1 s
#          (the URI's retry) + one lookup (the 1-thread p50 of the table
#          above, or of the fewest threads).
#
# On a busy machine the rates stay noisy, so the client's own cost is also
# counted with callgrind (one thread, HM_BENCH_CG_LOOKUPS lookups, only the
# counted lookups instrumented): instructions per lookup do not depend on
# the load. Exit status 1 when a lookup failed; a missed target is only
# reported, unless HM_BENCH_STRICT=1.
#
# Environment (defaults): HM_BENCH_USERS (10000), HM_BENCH_LOOKUPS per
# round and mode (10000), HM_BENCH_ROUNDS (5), HM_BENCH_CONNS ("1 8 32"),
# HM_BENCH_DOWN_ROUNDS (5; 0 skips the directory down),
# HM_BENCH_DOWN_MESSAGES per round and mode (50000), HM_BENCH_CONNS_DOWN
# (6), HM_BENCH_CG_LOOKUPS (2000; 0 skips callgrind),
# HM_BENCH_TRANSPORT (ldapi; or ldap: TCP to 127.0.0.1), HM_KEEP=1 keeps
# the work directory.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BENCH=dir.sh
. "$SRC/test/lib/bench.sh"
bench_tools DIRBENCH=test/bench/dirbench
bench_vars USERS=10000 LOOKUPS=10000 ROUNDS=5 CG_LOOKUPS=2000 "CONNS=1 8 32" TRANSPORT=ldapi \
    DOWN_ROUNDS=5 DOWN_MESSAGES=50000 CONNS_DOWN=6
TARGET=0.90
DOWN_TARGET=0.10 # down >= DOWN_TARGET x warm decisions/s
RETRY_MS=1000    # a URI that did not answer is tried again once a second

bench_need "make bench-dir builds dirbench, homed-milter and mltload" "$DIRBENCH" "$SLAPD" \
    "$SLAPADD" ldapsearch
[ "$DOWN_ROUNDS" = 0 ] || bench_need "make bench-dir builds them" "$HM" "$MLTLOAD"
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

# --- the directory down -------------------------------------------------------------
now_ms() { date +%s%3N; }

# mlt NAME TAG MESSAGES: mltload against daemon NAME, its answers in W/TAG.out
mlt() {
    "$MLTLOAD" -s "unix:$W/$1.sock" -C -c "$CONNS_DOWN" -n "$3" -w "$W/down.wl" \
        > "$W/$2.out" 2> "$W/$2.err" ||
        { echo "dir.sh: mltload against $1 ($2): exit $?: $(head -3 "$W/$2.err")" >&2; BROKEN=1; }
}

# accepted_since: an owned sender accepted in down.log past byte SINCE;
# SINCE moves on to what was read (less a line), so that polling reads the
# growing log once
accepted_since() {
    _as_end=$(wc -c < "$W/down.log")
    tail -c +"$((SINCE + 1))" "$W/down.log" | head -c "$((_as_end - SINCE))" |
        grep -q 'accept reason=owned' && return 0
    [ "$_as_end" -gt $((SINCE + 1000)) ] && SINCE=$((_as_end - 1000))
    return 1
}

# back ROUND: slapd started again under a stream on daemon "down": the ms
# from its port listening to the first owned sender accepted, to W/down.results
back() {
    "$MLTLOAD" -s "unix:$W/down.sock" -c "$CONNS_DOWN" -n 100000000 -d 30 -w "$W/down.wl" \
        > "$W/back.out" 2> "$W/back.err" &
    _b_ml=$!
    sleep 0.5 # the stream meets the URI down, which is then tried once a second
    SINCE=$(wc -c < "$W/down.log")
    slapd_start > "$W/slapd-start.out" 2>&1 &
    _b_sl=$!
    _b_i=0
    until port_open "$SLAPD_PORT" || [ $_b_i -ge 1000 ]; do sleep 0.01; _b_i=$((_b_i + 1)); done
    _b_t0=$(now_ms)
    _b_i=0
    until accepted_since || [ $_b_i -ge 1000 ]; do sleep 0.01; _b_i=$((_b_i + 1)); done
    _b_ms=$(($(now_ms) - _b_t0))
    kill -TERM "$_b_ml" 2>/dev/null
    wait "$_b_ml"
    wait "$_b_sl" || { echo "dir.sh: slapd did not start again" >&2; BROKEN=1; }
    if [ $_b_i -lt 1000 ]; then
        echo "back $1 $_b_ms" >> "$W/down.results"
    else
        echo "dir.sh: round $1: no owned sender accepted within 10 s of slapd's return" >&2
        BROKEN=1
    fi
}

down_missed=0
if [ "$DOWN_ROUNDS" -gt 0 ]; then
    bench_workload "$W/down.wl" 1000
    hm_conf warm "ldap.uri=[ \"$SLAPD_LDAP_URL\" ]" ldap.timeout=5 cache.ttl=300 \
        cache.negative_ttl=300
    hm_conf down "ldap.uri=[ \"$SLAPD_LDAP_URL\" ]" ldap.timeout=5
    { hm_run warm && hm_run down; } || fail "homed-milter did not come up"
    mlt warm warm-up 1000 # every login of the workload in the cache
    : > "$W/down.results"
    echo "# directory down: $DOWN_MESSAGES messages a round and mode, $CONNS_DOWN milter" \
        "connections, $DOWN_ROUNDS rounds"
    r=1
    while [ $r -le "$DOWN_ROUNDS" ]; do
        mlt warm warm "$DOWN_MESSAGES"
        [ "$(bench_v expect_accept_got_accept "$W/warm.out")" = "$DOWN_MESSAGES" ] ||
            { echo "dir.sh: warm, round $r: not every message accepted" >&2; BROKEN=1; }
        slapd_stop
        mlt down down "$DOWN_MESSAGES"
        [ "$(bench_v tempfail "$W/down.out")" = "$DOWN_MESSAGES" ] ||
            { echo "dir.sh: down, round $r: not every message got its 451" >&2; BROKEN=1; }
        echo "rate $r $(bench_v rate "$W/warm.out") $(bench_v rate "$W/down.out")" \
            "$(bench_v p99_ms "$W/down.out")" >> "$W/down.results"
        back $r
        r=$((r + 1))
    done
    # one lookup: the 1-thread p50 (or the fewest threads') of the table, in ms
    LOOKUP_MS=$(sort -n -k1,1 "$W/results" | awk 'NR == 1 { c = $1 } $1 == c { print $8 / 1000 }' |
        sort -n | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }')
    awk -v target="$DOWN_TARGET" -v retry="$RETRY_MS" -v lookup="$LOOKUP_MS" -f "$STATS" -f - \
        "$W/down.results" <<'AWK'
$1 == "rate" { warm = add(warm, $3); down = add(down, $4); ratio = add(ratio, $4 / $3); p99 = add(p99, $5) }
$1 == "back" { back = add(back, $3) }
END {
    printf "%-19s %-22s %-22s %-17s %-12s %s\n", "directory down", "decisions/s",
        "warm decisions/s", "ratio (min-max)", "down p99 ms", "slapd back: first accept ms"
    printf "%-19s %-22s %-22s %-17s %-12s %s\n", "(slapd stopped)", spread(down, "%5.0f"),
        spread(warm, "%5.0f"), spread(ratio, "%4.2f"), sprintf("%.2f", med(p99)),
        spread(back, "%4.0f")
    print "(decisions/s: median (min-max) over the rounds, through the daemon: slapd stopped"
    print " and the cache off (a 451 at MAIL FROM ends the message), against a daemon with"
    print " every login cached (accepted, each message goes on to its end); down p99: median"
    print " over the rounds; slapd back: from its port listening to the first owned sender"
    print " accepted, under a stream: median (min-max))"
    met(sprintf("down >= %.2f x warm decisions/s", target), med(ratio), target)
    missed = verdicts()
    limit = retry + lookup
    worst = hi(back)
    printf "target slapd back -> first accepted owned message <= %d ms + one lookup (%.2f ms): worst %d ms, %s\n",
        retry, lookup, worst, worst <= limit ? "met" : "NOT met"
    exit missed || worst > limit
}
AWK
    down_missed=$?
fi

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
[ "${HM_BENCH_STRICT:-}" = 1 ] && { [ "$missed" != 0 ] || [ "$down_missed" != 0 ]; } && exit 1
exit 0

#!/bin/sh
# scale.sh - directory size and memory: lookup cost per size, daemon RSS
#
#   make bench-scale
#   HM_SRCDIR=... HM_BUILDDIR=... sh test/bench/scale.sh
#
# 1. For each size in HM_BENCH_SIZES (1 000, 100 000, 1 000 000 entries):
#    generate the LDIF (gen-ldif.sh), load it with slapadd into its own
#    private slapd (mdb, index on uid eq; timed, under nice), start it.
#    All of them stay up, so that rounds interleave the sizes: each round
#    runs dirbench (cache off, every lookup a search, another login each
#    time, spread over the whole directory) in mode both, homed-milter's
#    client and the raw libldap loop of dir.sh in alternating slices, at
#    HM_BENCH_THREADS threads, against each size in turn. The table gives
#    cold lookups/s through homed-milter's client (median, min-max), its
#    ratio to the smallest directory (the baseline), the raw loop's
#    lookups/s and homed/raw (whether a slowdown is the client's or the
#    directory's), p50 latency, the CPU time per lookup of the client and
#    of slapd, and slapd's minor page faults per lookup. Target: the
#    per-lookup cost stays flat, read here as homed lookups/s at every
#    size >= HM_BENCH_FLAT (0.80) x the smallest's.
#
# 2. Memory: the real homed-milter daemon (-f), cache.size 200 000 and
#    cache.ttl one day, against the directory of HM_BENCH_MEM_LOGINS
#    (100 000) entries or more. mltload sends one message from each of
#    HM_BENCH_MEM_LOGINS logins, then slapd is stopped and the same
#    logins send again: every one must be accepted, so every one was
#    answered from the cache. VmRSS (and VmHWM) of the daemon from
#    /proc/PID/status: at start, after the first pass, after the second,
#    against the limit of 64 MB.
#
# Exit status 1 when a lookup or a message went wrong; a missed target is
# only reported, unless HM_BENCH_STRICT=1. It takes 2 to 4 minutes on 2
# CPUs, a third of it loading the 1 000 000 entries (about 1 GB under
# TMPDIR while it runs).
#
# Environment (defaults): HM_BENCH_SIZES ("1000 100000 1000000"),
# HM_BENCH_LOOKUPS per round and mode (10000), HM_BENCH_ROUNDS (3),
# HM_BENCH_THREADS (8), HM_BENCH_FLAT (0.80), HM_BENCH_MEM_LOGINS
# (100000; 0 skips the memory part), HM_BENCH_MEM_CONNS (8),
# HM_BENCH_RSS_LIMIT_MB (64), HM_KEEP=1 keeps the work directory.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BENCH=scale.sh
. "$SRC/test/lib/bench.sh"
bench_tools DIRBENCH=test/bench/dirbench
bench_vars "SIZES=1000 100000 1000000" LOOKUPS=10000 ROUNDS=3 THREADS=8 FLAT=0.80 \
    MEM_LOGINS=100000 MEM_CONNS=8 RSS_LIMIT_MB=64

bench_need "make bench-scale builds the tools" "$HM" "$DIRBENCH" "$MLTLOAD" "$SLAPD" "$SLAPADD" \
    ldapsearch
bench_dir

# use SIZE: make SIZE's slapd the one slapd.sh's functions act on
use() {
    SLAPD_DIR=$W/s$1
    SLAPD_LDAPI_URL=$(cat "$SLAPD_DIR/ldapi.url" 2>/dev/null)
    SLAPD_LDAP_URL=$(cat "$SLAPD_DIR/ldap.url" 2>/dev/null)
    # shellcheck disable=SC2034 # read by slapd_start
    SLAPD_LDAPS_URL=""
}
bench_cleanup() {
    hm_stop
    for s in $SIZES; do
        [ -d "$W/s$s" ] && use "$s" && slapd_stop
    done
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# load SIZE: a directory of SIZE generated entries, its slapd started
load() {
    SLAPD_DIR=$W/s$1
    mkdir -p "$SLAPD_DIR"
    _t=$(now)
    sh "$SRC/test/bench/gen-ldif.sh" "$1" > "$W/users.ldif" || fail "gen-ldif.sh failed"
    _gen=$(elapsed "$_t")
    # room for the generated entries and their indexes (mdb maps it sparse)
    SLAPD_MAXSIZE=17179869184
    slapd_init "$SRC/etc/example.ldif" >/dev/null || fail "slapadd failed"
    grep -q '^index .*uid.* eq' "$SLAPD_DIR/slapd.conf" || fail "slapd.conf has no uid eq index"
    _t=$(now)
    nice -n 10 "$SLAPADD" -q -f "$SLAPD_DIR/slapd.conf" -l "$W/users.ldif" ||
        fail "slapadd of $1 entries failed"
    _add=$(elapsed "$_t")
    rm -f "$W/users.ldif"
    printf '%s\n' "$SLAPD_LDAPI_URL" > "$SLAPD_DIR/ldapi.url"
    printf '%s\n' "$SLAPD_LDAP_URL" > "$SLAPD_DIR/ldap.url"
    slapd_start || fail "slapd ($1 entries) did not start"
    _mb=$(du -m "$SLAPD_DIR/db/data.mdb" | cut -f1)
    echo "$1 $_gen $_add $_mb" >> "$W/loads"
    echo "# $1 entries: LDIF generated in $_gen s, slapadd $_add s, data.mdb $_mb MB"
    hm_conf "bench$1" "ldap.uri=[ \"$SLAPD_LDAPI_URL\" ]" ldap.timeout=5
}

# lookups SIZE ROUND: one dirbench run (homed and raw interleaved) against
# SIZE's slapd, one result line
lookups() {
    bench_dirbench "$1 entries, round $2" "$HM_DIR/bench$1.conf" "$THREADS" "$1" "$2" \
        "$(cat "$W/s$1/slapd.pid")" || return
    _v() { bench_v "$1"; }
    echo "$1 $2 $(_v homed_rate) $(_v raw_rate) $(_v ratio) $(_v homed_p50_us)" \
        "$(_v homed_cpu_us) $(_v raw_cpu_us) $(_v homed_slapd_us)" \
        "$(_v homed_slapd_faults)" >> "$W/results"
}

rss() { sed -n "s/^$2:[[:space:]]*\([0-9]*\) kB/\1/p" "/proc/$1/status"; }

# pass NAME: one message from each of MEM_LOGINS logins through the daemon
pass() {
    "$MLTLOAD" -s "unix:$W/homed.sock" -c "$MEM_CONNS" -n "$MEM_LOGINS" -w "$W/mem.wl" -C \
        > "$W/pass.out" 2> "$W/pass.err"
    _rc=$?
    _v() { sed -n "s/^$1=//p" "$W/pass.out"; }
    if [ $_rc -ne 0 ] || [ "$(_v error)" != 0 ] || [ "$(_v tempfail)" != 0 ] ||
        [ "$(_v expect_accept_got_accept)" != "$MEM_LOGINS" ]; then
        echo "scale.sh: memory, $1: exit $_rc, accepted $(_v expect_accept_got_accept)" \
            "of $MEM_LOGINS, tempfail $(_v tempfail), error $(_v error)" >&2
        head -5 "$W/pass.err" >&2
        BROKEN=1
    fi
    echo "# memory, $1: $(_v messages) messages, $(_v rate) msgs/s"
}

memory() {
    _size=""
    for s in $SIZES; do
        [ "$s" -ge "$MEM_LOGINS" ] && { _size=$s; break; }
    done
    [ -n "$_size" ] || fail "no directory of $MEM_LOGINS entries or more in HM_BENCH_SIZES"
    use "$_size"
    bench_workload "$W/mem.wl" "$MEM_LOGINS"
    hm_conf homed "ldap.uri=[ \"$SLAPD_LDAPI_URL\" ]" ldap.timeout=5 cache.ttl=86400 \
        cache.negative_ttl=600 "cache.size=$((MEM_LOGINS * 2))"
    hm_run homed || fail "homed-milter did not come up"
    HOMED_PID=$(hm_pid homed)
    echo "start $(rss "$HOMED_PID" VmRSS) $(rss "$HOMED_PID" VmHWM)" > "$W/rss"
    pass "first pass, $MEM_LOGINS logins looked up in $_size entries"
    echo "first $(rss "$HOMED_PID" VmRSS) $(rss "$HOMED_PID" VmHWM)" >> "$W/rss"
    slapd_stop
    pass "second pass, slapd stopped: every answer from the cache"
    echo "second $(rss "$HOMED_PID" VmRSS) $(rss "$HOMED_PID" VmHWM)" >> "$W/rss"
    hm_stop homed
    awk -v limit="$RSS_LIMIT_MB" -v n="$MEM_LOGINS" '
    { rss[$1] = $2; hwm[$1] = $3 }
    END {
        printf "%-44s %-12s %-12s %-10s %s\n", "memory of the daemon", "VmRSS MB", "limit MB",
            "ratio", "VmHWM MB"
        printf "%-44s %-12.1f %-12s %-10s %.1f\n", "after start", rss["start"] / 1024, "", "",
            hwm["start"] / 1024
        printf "%-44s %-12.1f %-12d %-10.2f %.1f\n", "after " n " logins (first pass)",
            rss["first"] / 1024, limit, rss["first"] / 1024 / limit, hwm["first"] / 1024
        printf "%-44s %-12.1f %-12d %-10.2f %.1f\n", "after the second pass (all from the cache)",
            rss["second"] / 1024, limit, rss["second"] / 1024 / limit, hwm["second"] / 1024
        printf "per cached login: %.0f bytes of RSS\n", (rss["second"] - rss["start"]) * 1024 / n
        worst = rss["second"] > rss["first"] ? rss["second"] : rss["first"]
        printf "target RSS with %d cached logins < %d MB: %.1f MB, %s\n", n, limit, worst / 1024,
            worst / 1024 < limit ? "met" : "NOT met"
        exit worst / 1024 >= limit
    }' "$W/rss"
}

: > "$W/loads"
: > "$W/results"
BROKEN=0
echo "# $(nproc) CPUs; sizes: $SIZES entries; $LOOKUPS cold lookups a round at" \
    "$THREADS threads; $ROUNDS rounds, the sizes interleaved"
for s in $SIZES; do
    load "$s"
done
r=1
while [ $r -le "$ROUNDS" ]; do
    # each round starts at another size, so that none always goes first
    set -- $SIZES
    i=1
    while [ $i -lt $r ] && [ $# -gt 1 ]; do
        first=$1
        shift
        set -- "$@" "$first"
        i=$((i + 1))
    done
    for s in "$@"; do
        lookups "$s" $r
    done
    r=$((r + 1))
done

awk -v flat="$FLAT" -f "$STATS" -f - "$W/loads" "$W/results" <<'AWK'
FILENAME ~ /loads$/ { gen[$1] = $2; added[$1] = $3; mb[$1] = $4; order[++n] = $1; next }
{
    s = $1
    hr[s] = add(hr[s], $3); rr[s] = add(rr[s], $4); hw[s] = add(hw[s], $5)
    p50[s] = add(p50[s], $6); hc[s] = add(hc[s], $7); rc[s] = add(rc[s], $8)
    srv[s] = add(srv[s], $9); flt[s] = add(flt[s], $10)
}
END {
    base = order[1]
    printf "%9s  %-9s %-6s %-22s %-18s %-22s %-18s %-7s %-13s %-8s %s\n", "entries",
        "slapadd s", "DB MB", "homed lookups/s", "ratio to " base, "raw lookups/s",
        "homed/raw", "p50 us", "client CPU us", "slapd us", "faults"
    for (i = 1; i <= n; i++) {
        s = order[i]
        ratio = med(hr[s]) / med(hr[base])
        printf "%9d  %-9s %-6s %-22s %-18s %-22s %-18s %-7.0f %-13s %-8.0f %.2f\n", s, added[s],
            mb[s], spread(hr[s], "%5.0f"),
            sprintf("%.2f (%.2f-%.2f)", ratio, lo(hr[s]) / hi(hr[base]),
                hi(hr[s]) / lo(hr[base])),
            spread(rr[s], "%5.0f"), spread(hw[s], "%.2f"), med(p50[s]),
            sprintf("%.1f/%.1f", med(hc[s]), med(rc[s])), med(srv[s]), med(flt[s])
        if (i > 1) {
            met(sprintf("flat (homed lookups/s >= %.2f x at %d entries), %d entries", flat,
                base, s), ratio, flat)
        }
    }
    print "(medians over the rounds; ratio min-max: the widest spread of the rounds; client CPU"
    print " homed/raw; slapd us and faults: slapd CPU time and minor page faults per homed lookup,"
    print " from /proc, CPU in clock ticks)"
    exit verdicts()
}
AWK
missed=$?

if [ "$MEM_LOGINS" -gt 0 ]; then
    memory || missed=1
fi
[ "$BROKEN" = 0 ] || exit 1
[ "${HM_BENCH_STRICT:-}" = 1 ] && [ "$missed" != 0 ] && exit 1
exit 0

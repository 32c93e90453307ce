#!/bin/sh
# milter.sh - the milter benchmark: homed-milter against a null milter
#
#   make bench-milter
#   HM_SRCDIR=... HM_BUILDDIR=... sh test/bench/milter.sh
#
# A private slapd holds HM_BENCH_USERS generated mailboxes (gen-ldif.sh).
# mltload drives homed-milter and nullmilter (the same negotiation, no
# work: the baseline) through unix sockets, in interleaved rounds (null,
# homed, null, homed...) for each number of connections, in these modes:
#
#   warm  a few hundred users over and over, after a warm-up pass: what
#         a busy submission server sees once its cache is full, decided at
#         MAIL FROM (policy.decide_at = "mail", the default)
#   eod   the same, decided at end-of-DATA (policy.decide_at =
#         "end-of-data": MAIL FROM without a reply, SMFIP_NR_MAIL, so one
#         round trip per message); the baseline is nullmilter -e, which
#         negotiates the same steps and macros. Its rounds alternate with
#         warm's, each mode with a daemon of its own
#   cold  every message from another login, homed-milter restarted before
#         each round: every message costs a directory search
#   scan  warm, with an 8-bit rule on (eight_bit.seven_bit_only_domains,
#         so the milter takes RCPT and the body) and a 7-bit body of
#         BODY_SIZE bytes to a recipient outside those domains: every byte
#         is scanned, the rule's worst case; the baseline is nullmilter -b
#         -r, which takes RCPT and the same body and looks at neither
#   skip  the same with 8-bit data at the body's first bytes: the scan
#         stops there and the rest of the body is declined (SMFIS_SKIP);
#         nullmilter takes it all
#
# and prints msgs/s (min-max over the rounds), the median of each round's
# ratio, the latencies and each milter's CPU time per message (medians
# over the rounds; the CPU time is what one decision costs, logging
# included, against the null milter's). The targets: eod >= 1.00 x
# null; warm, scan and skip >= 0.90 x null. Before the rounds, each
# daemon (warm's, eod's) answers a forged sender with a reject and an
# owned one with an accept, through mltload: verdicts are counted right
# in both modes (eod answers the envelope's at end-of-message, and MAIL
# FROM gets no reply).
# Exit status 1 when a run had a wrong decision, a tempfail or an error;
# a missed target is only reported, unless HM_BENCH_STRICT=1.
#
# Environment (defaults): HM_BENCH_USERS (10000), HM_BENCH_WARM_USERS
# (300), HM_BENCH_MESSAGES per warm round (20000), HM_BENCH_COLD_MESSAGES
# per cold round (10000), HM_BENCH_BODY_MESSAGES per scan or skip round
# (20000), HM_BENCH_BODY_SIZE (65536 bytes: two chunks, 65535 + 1, as
# Postfix sends them), HM_BENCH_ROUNDS (3), HM_BENCH_CONNS ("1 8 32"),
# HM_BENCH_MODES ("warm eod cold body"; body: scan and skip),
# HM_BENCH_LOG_LEVEL (info, the default users run: one line per message,
# written to the daemon's stderr, a file, since it runs in the foreground
# (and to syslog when the host has /dev/log); "warning" logs rejects only),
# HM_KEEP=1 keeps the work directory.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BENCH=milter.sh
. "$SRC/test/lib/bench.sh"
bench_tools NULLMILTER=test/bench/nullmilter
# MESSAGES: per warm round
bench_vars USERS=10000 WARM_USERS=300 MESSAGES=20000 COLD_MESSAGES=10000 ROUNDS=3 \
    "CONNS=1 8 32" LOG_LEVEL=info BODY_MESSAGES=20000 BODY_SIZE=65536 \
    "MODES=warm eod cold body"
TARGET=0.90
EOD_TARGET=1.00
EOD='policy.decide_at="end-of-data"'

bench_need "make bench-milter builds the tools" "$HM" "$MLTLOAD" "$NULLMILTER" "$SLAPD" \
    "$SLAPADD" ldapsearch
[ "$COLD_MESSAGES" -le "$USERS" ] || USERS=$COLD_MESSAGES
[ "$WARM_USERS" -le "$USERS" ] || fail "HM_BENCH_WARM_USERS is more than HM_BENCH_USERS"
bench_dir
NULL_PID=""
NULLB_PID=""
NULLE_PID=""
N=0
EOD_N=0
bench_cleanup() { hm_stop_pid "$NULL_PID"; hm_stop_pid "$NULLB_PID"; hm_stop_pid "$NULLE_PID"; }
has() { case " $MODES " in *" $1 "*) return 0 ;; esac; return 1; }

# answers SOCKET: one message (the default one, from janed) is accepted
answers() { "$MLTLOAD" -s "unix:$1" -n 1 -t 2 2>/dev/null | grep -q '^expect_accept_got_accept=1$'; }

# start_homed [KEY=VALUE...]: a new homed-milter, so an empty cache, on a
# socket of its own, with these keys too (hm_conf). The one before is told
# to stop; libmilter takes up to 5 s to notice, so it is reaped at the end
# rather than waited for now.
start_homed() {
    [ "$N" = 0 ] || hm_term "homed$N"
    N=$((N + 1))
    HOMED_SOCK=$W/homed$N.sock
    hm_conf "homed$N" "log_level=\"$LOG_LEVEL\"" ldap.timeout=5 cache.ttl=300 \
        cache.negative_ttl=60 cache.size=100000 "$@"
    hm_start "homed$N"
    wait_for 100 answers "$HOMED_SOCK" ||
        fail "homed-milter did not come up: $(tail -5 "$W/homed$N.log")"
}

# start_eod: the same for eod's daemon (decide_at = "end-of-data"), kept
# beside warm's so that their rounds can alternate
start_eod() {
    [ "$EOD_N" = 0 ] || hm_term "eod$EOD_N"
    EOD_N=$((EOD_N + 1))
    EOD_SOCK=$W/eod$EOD_N.sock
    hm_conf "eod$EOD_N" "log_level=\"$LOG_LEVEL\"" ldap.timeout=5 cache.ttl=300 \
        cache.negative_ttl=60 cache.size=100000 "$EOD" "$@"
    hm_start "eod$EOD_N"
    wait_for 100 answers "$EOD_SOCK" ||
        fail "homed-milter (end-of-data) did not come up: $(tail -5 "$W/eod$EOD_N.log")"
}

# verdicts MODE SOCKET: an owned sender accepted, a forged one (u00001 as
# u00002) rejected, each counted where mltload expects it; in eod, MAIL
# FROM negotiated without a reply (SMFIP_NR_MAIL, 0x4000)
verdicts() {
    printf 'u00001\tu00002@mail.example.com\tu00001@mail.example.com\treject\n' > "$W/mixed.wl"
    printf 'u00001\tu00001@mail.example.com\tu00001@mail.example.com\taccept\n' >> "$W/mixed.wl"
    "$MLTLOAD" -s "unix:$2" -n 4 -w "$W/mixed.wl" -C -v > "$W/verdicts.out" 2> "$W/verdicts.err" &&
        [ "$(bench_v expect_reject_got_reject "$W/verdicts.out")" = 2 ] &&
        [ "$(bench_v expect_accept_got_accept "$W/verdicts.out")" = 2 ] &&
        _steps=$(sed -n 's/.* steps \(0x[0-9a-f]*\) .*/\1/p' "$W/verdicts.err" | head -1) &&
        [ $((${_steps:-0} & 0x4000)) = "$([ "$1" = eod ] && echo 16384 || echo 0)" ] &&
        return 0
    echo "milter.sh: $1: verdicts not as expected:" >&2
    cat "$W/verdicts.out" "$W/verdicts.err" >&2
    BROKEN=1
}

# run KIND CONNS MODE ROUND WORKLOAD MESSAGES [OPTION...]: one mltload run
# (with these options too), one result line. ROUND 0: a warm-up, not kept.
run() {
    _out=$W/run.out
    case $1.$3 in
    homed.eod) _sock=$EOD_SOCK _pid=$(hm_pid "eod$EOD_N") ;;
    null.eod) _sock=$NULLE_SOCK _pid=$NULLE_PID ;;
    homed.*) _sock=$HOMED_SOCK _pid=$(hm_pid "homed$N") ;;
    null.scan | null.skip) _sock=$NULL_SOCK _pid=$NULLB_PID ;;
    *) _sock=$NULL_SOCK _pid=$NULL_PID ;;
    esac
    _k=$1 _c=$2 _m=$3 _r=$4 _wl=$5 _n=$6
    shift 6
    _t0=$(bench_cputicks "$_pid")
    "$MLTLOAD" -s "unix:$_sock" -c "$_c" -n "$_n" -w "$_wl" -C "$@" > "$_out" 2> "$W/run.err"
    _rc=$?
    # the milter's CPU time per message, in us
    _us=$(awk -v a="$_t0" -v b="$(bench_cputicks "$_pid")" -v hz="$HZ" -v n="$_n" \
        'BEGIN { printf "%.1f", (b - a) * 1e6 / hz / n }')
    set -- "$_k" "$_c" "$_m" "$_r" # KIND CONNS MODE ROUND again
    _v() { sed -n "s/^$1=//p" "$_out"; }
    if [ $_rc -ne 0 ] || [ "$(_v error)" != 0 ] || [ "$(_v tempfail)" != 0 ]; then
        echo "milter.sh: $1, $2 connections, $3 round $4: exit $_rc," \
            "wrong $(_v wrong), tempfail $(_v tempfail), error $(_v error)" >&2
        head -5 "$W/run.err" >&2
        BROKEN=1
    fi
    [ "$4" = 0 ] || echo "$2 $3 $1 $4 $(_v rate) $(_v p50_ms) $(_v p99_ms) $_us" >> "$W/results"
}

bench_slapd "$USERS"
bench_workload "$W/warm.wl" "$WARM_USERS"
bench_workload "$W/cold.wl" "$COLD_MESSAGES"
"$NULLMILTER" -p "unix:$W/null.sock" > "$W/null.log" 2>&1 3>&- &
NULL_PID=$!
wait_for 100 answers "$W/null.sock" || fail "nullmilter did not come up"
NULLE_SOCK=$W/nulle.sock
if has eod; then
    "$NULLMILTER" -e -p "unix:$NULLE_SOCK" > "$W/nulle.log" 2>&1 3>&- &
    NULLE_PID=$!
    wait_for 100 answers "$NULLE_SOCK" || fail "nullmilter -e did not come up"
fi
if has body; then
    "$NULLMILTER" -b -r -p "unix:$W/nullb.sock" > "$W/nullb.log" 2>&1 3>&- &
    NULLB_PID=$!
    wait_for 100 answers "$W/nullb.sock" || fail "nullmilter -b -r did not come up"
fi
EIGHT='eight_bit.seven_bit_only_domains=[ "domino.example.com" ]'

BROKEN=0
: > "$W/results"
echo "# $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) (everything else on" \
    "the host competes for them); log_level $LOG_LEVEL; $USERS users in slapd;" \
    "warm, eod: $WARM_USERS users," \
    "$MESSAGES messages a round; cold: $COLD_MESSAGES logins a round; scan, skip:" \
    "$BODY_MESSAGES messages of $BODY_SIZE bytes a round; $ROUNDS rounds"
for c in $CONNS; do
    NULL_SOCK=$W/null.sock
    for m in warm eod; do
        has $m || continue
        if [ $m = warm ]; then start_homed; else start_eod; fi
        [ "$c" != "${CONNS%% *}" ] || verdicts "$m" "$([ $m = warm ] && echo "$HOMED_SOCK" || echo "$EOD_SOCK")"
        run null "$c" $m 0 "$W/warm.wl" "$((WARM_USERS * 4))"
        run homed "$c" $m 0 "$W/warm.wl" "$((WARM_USERS * 4))"
    done
    r=1
    while { has warm || has eod; } && [ $r -le "$ROUNDS" ]; do
        for m in warm eod; do
            has $m || continue
            run null "$c" $m $r "$W/warm.wl" "$MESSAGES"
            run homed "$c" $m $r "$W/warm.wl" "$MESSAGES"
        done
        r=$((r + 1))
    done
    r=1
    while has cold && [ $r -le "$ROUNDS" ]; do
        start_homed
        run null "$c" cold $r "$W/cold.wl" "$COLD_MESSAGES"
        run homed "$c" cold $r "$W/cold.wl" "$COLD_MESSAGES"
        r=$((r + 1))
    done
    NULL_SOCK=$W/nullb.sock
    if has body; then
        start_homed "$EIGHT"
        run null "$c" scan 0 "$W/warm.wl" "$((WARM_USERS * 4))" -b "$BODY_SIZE"
        run homed "$c" scan 0 "$W/warm.wl" "$((WARM_USERS * 4))" -b "$BODY_SIZE"
    fi
    r=1
    while has body && [ $r -le "$ROUNDS" ]; do
        for m in scan skip; do
            if [ $m = skip ]; then set -- -b "$BODY_SIZE" -8 0; else set -- -b "$BODY_SIZE"; fi
            run null "$c" $m $r "$W/warm.wl" "$BODY_MESSAGES" "$@"
            run homed "$c" $m $r "$W/warm.wl" "$BODY_MESSAGES" "$@"
        done
        r=$((r + 1))
    done
    echo "# $c connections done; load average $(cut -d' ' -f1-3 /proc/loadavg)"
done

# One row per (conns, mode): min-max and median of the rates, the median of
# each round's ratio (a round runs null, then homed, one after the other),
# median latencies, and the milters' CPU time per message.
awk -v target="$TARGET" -v eod_target="$EOD_TARGET" -f "$STATS" -f - "$W/results" <<'AWK'
{
    k = $1 " " $2
    if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
    rate[k, $3] = add(rate[k, $3], $5); p50[k, $3] = add(p50[k, $3], $6)
    p99[k, $3] = add(p99[k, $3], $7); cpu[k, $3] = add(cpu[k, $3], $8)
    round[k, $3, $4] = $5
    if ($3 == "homed" && round[k, "null", $4] > 0)
        ratios[k] = add(ratios[k], $5 / round[k, "null", $4])
}
END {
    printf "%5s %-4s  %-22s %-22s %6s  %-15s %-15s %s\n", "conns", "mode", "homed msgs/s (min-max)",
        "null msgs/s (min-max)", "ratio", "homed p50/p99", "null p50/p99", "CPU us/msg homed, null"
    for (i = 1; i <= nk; i++) {
        k = order[i]; split(k, f, " ")
        h = med(rate[k, "homed"]); n = med(rate[k, "null"]); ratio = med(ratios[k])
        printf "%5d %-4s  %7.0f (%6.0f-%6.0f)  %7.0f (%6.0f-%6.0f)  %6.2f  %6.3f/%-8.3f %6.3f/%-8.3f %5.1f, %.1f\n",
            f[1], f[2], h, lo(rate[k, "homed"]), hi(rate[k, "homed"]), n, lo(rate[k, "null"]),
            hi(rate[k, "null"]), ratio, med(p50[k, "homed"]), med(p99[k, "homed"]),
            med(p50[k, "null"]), med(p99[k, "null"]), med(cpu[k, "homed"]), med(cpu[k, "null"])
        goal = f[2] == "eod" ? eod_target : target
        if (f[2] != "cold")
            met(sprintf("%s >= %.2f x null, %d connections", f[2], goal, f[1]), ratio, goal)
    }
    print "(ratio: the median of the rounds' homed/null; latencies in ms and CPU time"
    print " per message (user + system, the milter process alone): medians over the rounds)"
    exit verdicts()
}
AWK
missed=$?
hm_stop
cat "$W"/homed*.log "$W"/eod*.log > "$W/homed.logs" 2>/dev/null
if grep -q ': error: ' "$W/homed.logs"; then
    echo "milter.sh: homed-milter logged errors:" >&2
    grep ': error: ' "$W/homed.logs" | sort | uniq -c | sort -rn | head -5 >&2
    BROKEN=1
fi
[ "$BROKEN" = 0 ] || exit 1
[ "${HM_BENCH_STRICT:-}" = 1 ] && [ "$missed" != 0 ] && exit 1
exit 0

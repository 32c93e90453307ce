#!/bin/sh
# soak.sh - a million messages through the real daemon: decisions, memory, fds
#
#   make soak
#   HM_SRCDIR=... HM_BUILDDIR=... sh test/bench/soak.sh
#
# A private slapd holds HM_SOAK_USERS local mailboxes and a tenth as many
# homed elsewhere (gen-ldif.sh). mltload -C sends HM_SOAK_MESSAGES
# messages on 8 connections through homed-milter, from a mixed workload:
# owned senders (plain, null sender, other case, unauthenticated) must be
# accepted; another user's address, an unknown address, a forged From:
# behind a good envelope, a From: with one forged address of two, an
# unknown login and a mailbox homed elsewhere must be rejected. Cache
# answers expire every few seconds (HM_SOAK_TTL) so that the cache churns.
#
# Every HM_SOAK_INTERVAL seconds the daemon's RSS and open fds are
# sampled. A first pass (32 connections, every line twice) fills the cache
# and the LDAP connection pool; the baseline is sampled after it, the end
# after the soak, both with no client connected. TAP output; it passes
# when no decision is wrong, no message tempfailed or failed, the RSS grew
# by at most 10% (or 2 MB, whichever is larger), the fd count is back to
# the baseline, the daemon logged no error and stops cleanly on TERM.
#
# Environment (defaults): HM_SOAK_MESSAGES (1000000), HM_SOAK_USERS
# (2000), HM_SOAK_INTERVAL (10), HM_SOAK_TTL (20), HM_SOAK_LOG_LEVEL
# (info), HM_KEEP=1 keeps the work directory.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BENCH=soak.sh
. "$SRC/test/lib/tap.sh"
. "$SRC/test/lib/bench.sh"
MESSAGES=${HM_SOAK_MESSAGES:-1000000}
USERS=${HM_SOAK_USERS:-2000}
INTERVAL=${HM_SOAK_INTERVAL:-10}
TTL=${HM_SOAK_TTL:-20}
LOG_LEVEL=${HM_SOAK_LOG_LEVEL:-info}

[ -x "$HM" ] || skip_all "homed-milter is not built"
[ -x "$MLTLOAD" ] || skip_all "mltload is not built (make soak builds it)"
[ -x "$SLAPD" ] || skip_all "slapd is not installed"
command -v ldapsearch >/dev/null 2>&1 || skip_all "ldapsearch (ldap-utils) is not installed"

bench_dir
LOAD_PID=""
bench_cleanup() { [ -n "$LOAD_PID" ] && hm_stop_pid "$LOAD_PID" 100; }

# --- the directory and the workload ------------------------------------------------
REMOTE=$((USERS / 10 + 1))
sh "$SRC/test/bench/gen-ldif.sh" "$REMOTE" r mail.elsewhere.example > "$W/remote.ldif"
bench_slapd "$USERS" "$W/remote.ldif"

# Ten messages per user: four to accept, six to reject.
awk -v n="$USERS" -v r="$REMOTE" 'BEGIN {
    d = "@mail.example.com"
    for (i = 1; i <= n; i++) {
        u = sprintf("u%05d", i); v = sprintf("u%05d", i % n + 1)
        g = sprintf("ghost%05d", i); h = sprintf("r%05d", i % r + 1)
        printf "%s\t%s%s\tUser %d <%s%s>\taccept\n", u, u, d, i, u, d
        printf "%s\t\t%s%s\taccept\n", u, u, d
        printf "%s\t%s%s\t\"User, %d\" <%s%s>\taccept\n", u, toupper(u), toupper(d), i, u, d
        printf "-\tsomeone%d@example.net\tSomeone <someone%d@example.net>\taccept\n", i, i
        printf "%s\t%s%s\tUser %d <%s%s>\treject\n", u, v, d, i, u, d
        printf "%s\tnobody%d%s\tUser %d <%s%s>\treject\n", u, i, d, i, u, d
        printf "%s\t%s%s\tOther <%s%s>\treject\n", u, u, d, v, d
        printf "%s\t%s%s\t%s%s, %s%s\treject\n", u, u, d, u, d, v, d
        printf "%s\t%s%s\t%s%s\treject\n", g, g, d, g, d
        printf "%s\t%s%s\t%s%s\treject\n", h, h, d, h, d
    }
}' > "$W/soak.wl"
LINES=$(wc -l < "$W/soak.wl")

# --- the daemon ------------------------------------------------------------------------
hm_conf homed "log_level=\"$LOG_LEVEL\"" ldap.timeout=5 "cache.ttl=$TTL" \
    "cache.negative_ttl=$((TTL / 2 + 1))" cache.size=100000
hm_start homed
HOMED_PID=$(hm_pid homed)
# answers: one message (the default one, from janed) is accepted
answers() {
    "$MLTLOAD" -s "unix:$W/homed.sock" -n 1 -t 2 2>/dev/null | grep -q '^expect_accept_got_accept=1$'
}
if wait_for 100 answers; then up=0; else up=1; fi
ok_if "homed-milter is up, $USERS + $REMOTE users in slapd, $LINES workload lines" [ $up = 0 ]
[ $up = 0 ] || { diag "$(tail -5 "$W/homed.log")"; done_testing; exit 1; }

# sample: "RSS_KB FDS" of the daemon
# shellcheck disable=SC2012 # the names in fd/ are numbers
sample() {
    printf '%s %s\n' "$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$HOMED_PID/status")" \
        "$(ls "/proc/$HOMED_PID/fd" | wc -l)"
}
# settled: a sample with no client connected, once the fd count holds still
settled() {
    _prev=""
    _i=0
    while [ $_i -lt 50 ]; do
        _s=$(sample)
        [ "$_s" = "$_prev" ] && break
        _prev=$_s
        _i=$((_i + 1))
        sleep 0.2
    done
    echo "$_s"
}
# v FILE KEY: a key=value of mltload's output
v() { sed -n "s/^$2=//p" "$1"; }

# --- warm-up: every line twice, on more connections than the LDAP pool ------------
"$MLTLOAD" -s "unix:$W/homed.sock" -c 32 -n $((LINES * 2)) -w "$W/soak.wl" -C \
    > "$W/warmup.out" 2> "$W/warmup.err"
rc=$?
is "$rc wrong=$(v "$W/warmup.out" wrong) tempfail=$(v "$W/warmup.out" tempfail) error=$(v "$W/warmup.out" error)" \
    "0 wrong=0 tempfail=0 error=0" "warm-up: $((LINES * 2)) messages, every decision as expected"
BASE=$(settled)
# shellcheck disable=SC2012
ls -l "/proc/$HOMED_PID/fd" | sed 's/.* -> //' | sort > "$W/fds.base"
diag "baseline after the warm-up: RSS ${BASE% *} kB, ${BASE#* } fds"

# --- the soak ---------------------------------------------------------------------------
"$MLTLOAD" -s "unix:$W/homed.sock" -c 8 -n "$MESSAGES" -w "$W/soak.wl" -C -i "$INTERVAL" \
    > "$W/soak.out" 2> "$W/soak.err" &
LOAD_PID=$!
T0=$(date +%s)
echo "seconds rss_kB fds" > "$W/samples"
while alive "$LOAD_PID"; do
    _t=0
    while [ $_t -lt "$INTERVAL" ] && alive "$LOAD_PID"; do
        sleep 1
        _t=$((_t + 1))
    done
    alive "$LOAD_PID" || break
    s=$(sample)
    echo "$(($(date +%s) - T0)) $s" >> "$W/samples"
    diag "$(($(date +%s) - T0)) s: RSS ${s% *} kB, ${s#* } fds; $(grep progress "$W/soak.err" | tail -1 | sed 's/.*progress [0-9]* s: //')"
done
wait "$LOAD_PID"
rc=$?
LOAD_PID=""
END=$(settled)
echo "end $END" >> "$W/samples"
# shellcheck disable=SC2012
ls -l "/proc/$HOMED_PID/fd" | sed 's/.* -> //' | sort > "$W/fds.end"

O=$W/soak.out
diag "soak: $(v "$O" messages) messages in $(v "$O" seconds) s, $(v "$O" rate) msgs/s," \
    "latency p50 $(v "$O" p50_ms) ms, p99 $(v "$O" p99_ms) ms, max $(v "$O" max_ms) ms"
diag "$(sed -n '/^expected/,$p' "$O")"
is "$rc wrong=$(v "$O" wrong)" "0 wrong=0" "soak: no expected reject accepted, no expected accept rejected (mltload -C)"
is "tempfail=$(v "$O" tempfail) error=$(v "$O" error)" "tempfail=0 error=0" \
    "soak: no message tempfailed or failed"
is "$(v "$O" messages)" "$MESSAGES" "soak: all $MESSAGES messages answered"
complaints=$(grep -v progress "$W/soak.err" | head -5)
[ -z "$complaints" ] || diag "mltload said:" "$complaints"

diag "samples (seconds, RSS kB, fds):" "$(cat "$W/samples")"
rss0=${BASE% *} rss1=${END% *} fd0=${BASE#* } fd1=${END#* }
slack=$((rss0 / 10))
[ $slack -ge 2048 ] || slack=2048
ok_if "RSS at the end ${rss1} kB <= baseline ${rss0} kB + ${slack} kB" [ "$rss1" -le $((rss0 + slack)) ]
is "$fd1" "$fd0" "open fds at the end: as many as at the baseline"
[ "$fd1" = "$fd0" ] || diag "fds: baseline vs end:" "$(diff "$W/fds.base" "$W/fds.end")"

errors=$(grep -c ': error: ' "$W/homed.log")
is "$errors" 0 "homed-milter logged no error"
[ "$errors" = 0 ] || diag "$(grep ': error: ' "$W/homed.log" | sed 's/^[^:]*: error: [0-9A-F]*: //' | sort | uniq -c | sort -rn | head -5)"
diag "its log: $(grep -c ': info: ' "$W/homed.log") info, $(grep -c ': warning: ' "$W/homed.log") warning lines"

if hm_alive homed; then
    hm_stop homed
    rc=$(hm_rc homed)
else
    hm_stop homed
    rc="gone before the end ($(hm_rc homed))"
fi
is "$rc" 0 "homed-milter ran to the end and stops on TERM with exit 0"
done_testing

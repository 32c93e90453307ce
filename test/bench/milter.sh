#!/bin/sh
# milter.sh - the milter benchmark: homed-milter against a null milter
#
#   make bench-milter
#   HM_SRCDIR=... HM_BUILDDIR=... sh test/bench/milter.sh
#
# A private slapd holds HM_BENCH_USERS generated mailboxes (gen-ldif.sh).
# mltload drives homed-milter and nullmilter (the same negotiation, no
# work: the baseline) through unix sockets, in interleaved rounds (null,
# homed, null, homed...) for each number of connections, in two modes:
#
#   warm  a few hundred users over and over, after a warm-up pass: what
#         a busy submission server sees once its cache is full
#   cold  every message from another login, homed-milter restarted before
#         each round: every message costs a directory search
#
# and prints msgs/s (min-max over the rounds), the ratio of the medians and
# the latencies (medians over the rounds). The target: warm >= 0.90 x null.
# Exit status 1 when a run had a wrong decision, a tempfail or an error;
# a missed target is only reported, unless HM_BENCH_STRICT=1.
#
# Environment (defaults): HM_BENCH_USERS (10000), HM_BENCH_WARM_USERS
# (300), HM_BENCH_MESSAGES per warm round (20000), HM_BENCH_COLD_MESSAGES
# per cold round (10000), HM_BENCH_ROUNDS (3), HM_BENCH_CONNS ("1 8 32"),
# HM_BENCH_LOG_LEVEL (warning: one line per rejected message; "info" adds one
# per accepted message, whose cost is mostly the host's syslog), HM_KEEP=1
# keeps the work directory.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${HM_BUILDDIR:-$SRC}
HM=$BUILD/homed-milter
MLTLOAD=${HM_MLTLOAD:-$BUILD/test/bench/mltload}
NULLMILTER=${HM_NULLMILTER:-$BUILD/test/bench/nullmilter}
USERS=${HM_BENCH_USERS:-10000}
WARM_USERS=${HM_BENCH_WARM_USERS:-300}
WARM_MESSAGES=${HM_BENCH_MESSAGES:-20000}
COLD_MESSAGES=${HM_BENCH_COLD_MESSAGES:-10000}
ROUNDS=${HM_BENCH_ROUNDS:-3}
CONNS=${HM_BENCH_CONNS:-1 8 32}
LOG_LEVEL=${HM_BENCH_LOG_LEVEL:-warning}
TARGET=0.90
. "$SRC/test/lib/slapd.sh"

fail() { echo "milter.sh: $*" >&2; exit 1; }
for p in "$HM" "$MLTLOAD" "$NULLMILTER" "$SLAPD" "$SLAPADD"; do
    [ -x "$p" ] || fail "$p is not built or installed (make bench-milter builds the tools)"
done
command -v ldapsearch >/dev/null 2>&1 || fail "ldapsearch (ldap-utils) is not installed"
[ "$COLD_MESSAGES" -le "$USERS" ] || USERS=$COLD_MESSAGES
[ "$WARM_USERS" -le "$USERS" ] || fail "HM_BENCH_WARM_USERS is more than HM_BENCH_USERS"

W=$(mktemp -d "${TMPDIR:-/tmp}/hm-bench.XXXXXX") || exit 1
SLAPD_DIR=$W/slapd
HOMED_PID=""
HOMED_SOCK=""
OLD_PIDS=""
NULL_PID=""
N=0

# stop PID: TERM, wait (libmilter may take seconds to notice), KILL at last
stop() { [ -n "$1" ] && kill -TERM "$1" 2>/dev/null && wait_gone "$1" 150; }
cleanup() {
    set +e
    stop_all_homed
    stop "$NULL_PID"
    slapd_stop
    if [ "${HM_KEEP:-}" = 1 ]; then echo "# work directory kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

# workload FILE COUNT: COUNT users, each sending as itself
workload() {
    awk -v n="$2" 'BEGIN { for (i = 1; i <= n; i++) {
        u = sprintf("u%05d", i)
        printf "%s\t%s@mail.example.com\tUser %s <%s@mail.example.com>\taccept\n", u, u, i, u
    } }' > "$1"
}

# answers SOCKET: one message (the default one, from janed) is accepted
answers() { "$MLTLOAD" -s "unix:$1" -n 1 -t 2 2>/dev/null | grep -q '^expect_accept_got_accept=1$'; }

# start_homed: a new homed-milter, so an empty cache, on a socket of its
# own. The one before is told to stop; libmilter takes up to 5 s to notice,
# so it is reaped at the end rather than waited for now.
start_homed() {
    if [ -n "$HOMED_PID" ]; then
        kill -TERM "$HOMED_PID" 2>/dev/null
        OLD_PIDS="$OLD_PIDS $HOMED_PID"
    fi
    N=$((N + 1))
    HOMED_SOCK=$W/homed$N.sock
    sed "s|^socket = .*|socket = \"unix:$HOMED_SOCK\";|" "$W/homed.conf" > "$W/homed$N.conf"
    "$HM" -f -c "$W/homed$N.conf" > "$W/homed$N.log" 2>&1 3>&- &
    HOMED_PID=$!
    wait_for 100 answers "$HOMED_SOCK" ||
        fail "homed-milter did not come up: $(tail -5 "$W/homed$N.log")"
}
stop_all_homed() {
    for _p in $HOMED_PID $OLD_PIDS; do
        kill -TERM "$_p" 2>/dev/null
    done
    for _p in $HOMED_PID $OLD_PIDS; do
        wait_gone "$_p" 150
    done
    HOMED_PID=""
    OLD_PIDS=""
}

# run KIND CONNS MODE ROUND WORKLOAD MESSAGES: one mltload run, one result line
run() {
    _out=$W/run.out
    if [ "$1" = homed ]; then _sock=$HOMED_SOCK; else _sock=$W/null.sock; fi
    "$MLTLOAD" -s "unix:$_sock" -c "$2" -n "$6" -w "$5" -C > "$_out" 2> "$W/run.err"
    _rc=$?
    _v() { sed -n "s/^$1=//p" "$_out"; }
    if [ $_rc -ne 0 ] || [ "$(_v error)" != 0 ] || [ "$(_v tempfail)" != 0 ]; then
        echo "milter.sh: $1, $2 connections, $3 round $4: exit $_rc," \
            "wrong $(_v wrong), tempfail $(_v tempfail), error $(_v error)" >&2
        head -5 "$W/run.err" >&2
        BROKEN=1
    fi
    [ "$4" = 0 ] || echo "$2 $3 $1 $4 $(_v rate) $(_v p50_ms) $(_v p99_ms)" >> "$W/results"
}

mkdir -p "$SLAPD_DIR"
sh "$SRC/test/bench/gen-ldif.sh" "$USERS" > "$W/users.ldif"
# the generated directory is larger than slapd.sh's database allows
slapd_init "$SRC/etc/example.ldif" >/dev/null || fail "slapadd failed"
sed 's/^maxsize .*/maxsize 1073741824/' "$SLAPD_DIR/slapd.conf" > "$W/slapd.conf" &&
    mv "$W/slapd.conf" "$SLAPD_DIR/slapd.conf"
"$SLAPADD" -q -f "$SLAPD_DIR/slapd.conf" -l "$W/users.ldif" || fail "slapadd failed"
slapd_start || fail "slapd did not start"
printf 'miltersecret\n' > "$W/secret"
chmod 600 "$W/secret"
cat > "$W/homed.conf" <<CONF
socket = "unix:$W/homed.sock";
log_level = "$LOG_LEVEL";
local_hosts = [ "mail.example.com" ];
ldap = {
  uri = [ "$SLAPD_LDAPI_URL" ];
  bind_dn = "cn=milter,dc=example,dc=com";
  bind_password_file = "$W/secret";
  base = "ou=people,dc=example,dc=com";
  timeout = 5;
};
cache = { ttl = 300; negative_ttl = 60; size = 100000; };
CONF
workload "$W/warm.wl" "$WARM_USERS"
workload "$W/cold.wl" "$COLD_MESSAGES"
"$NULLMILTER" -p "unix:$W/null.sock" > "$W/null.log" 2>&1 3>&- &
NULL_PID=$!
wait_for 100 answers "$W/null.sock" || fail "nullmilter did not come up"

BROKEN=0
: > "$W/results"
echo "# $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) (everything else on" \
    "the host competes for them); $USERS users in slapd; warm: $WARM_USERS users," \
    "$WARM_MESSAGES messages a round; cold: $COLD_MESSAGES logins a round; $ROUNDS rounds"
for c in $CONNS; do
    start_homed
    run null "$c" warm 0 "$W/warm.wl" "$((WARM_USERS * 4))"
    run homed "$c" warm 0 "$W/warm.wl" "$((WARM_USERS * 4))"
    r=1
    while [ $r -le "$ROUNDS" ]; do
        run null "$c" warm $r "$W/warm.wl" "$WARM_MESSAGES"
        run homed "$c" warm $r "$W/warm.wl" "$WARM_MESSAGES"
        r=$((r + 1))
    done
    r=1
    while [ $r -le "$ROUNDS" ]; do
        start_homed
        run null "$c" cold $r "$W/cold.wl" "$COLD_MESSAGES"
        run homed "$c" cold $r "$W/cold.wl" "$COLD_MESSAGES"
        r=$((r + 1))
    done
    echo "# $c connections done; load average $(cut -d' ' -f1-3 /proc/loadavg)"
done

# One row per (conns, mode): min-max and median of the rates, median latencies.
awk -v target="$TARGET" '
function med(s,   n, a, i, j, t) {
    n = split(s, a, " ")
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function lo(s,   n, a, i, m) { n = split(s, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]; return m }
function hi(s,   n, a, i, m) { n = split(s, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]; return m }
{
    k = $1 " " $2
    if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
    rate[k, $3] = rate[k, $3] " " $5; p50[k, $3] = p50[k, $3] " " $6; p99[k, $3] = p99[k, $3] " " $7
}
END {
    printf "%5s %-4s  %-22s %-22s %6s  %-15s %-15s\n", "conns", "mode", "homed msgs/s (min-max)",
        "null msgs/s (min-max)", "ratio", "homed p50/p99", "null p50/p99"
    for (i = 1; i <= nk; i++) {
        k = order[i]; split(k, f, " ")
        h = med(rate[k, "homed"]); n = med(rate[k, "null"]); ratio = n > 0 ? h / n : 0
        printf "%5d %-4s  %7.0f (%6.0f-%6.0f)  %7.0f (%6.0f-%6.0f)  %6.2f  %6.3f/%-8.3f %6.3f/%-8.3f\n",
            f[1], f[2], h, lo(rate[k, "homed"]), hi(rate[k, "homed"]), n, lo(rate[k, "null"]),
            hi(rate[k, "null"]), ratio, med(p50[k, "homed"]), med(p99[k, "homed"]),
            med(p50[k, "null"]), med(p99[k, "null"])
        if (f[2] == "warm") {
            verdict[++nv] = sprintf("target warm >= %.2f x null, %d connections: %.2f, %s", target,
                f[1], ratio, ratio >= target ? "met" : "NOT met")
            if (ratio < target) missed = 1
        }
    }
    print "(latencies in ms; medians over the rounds)"
    for (i = 1; i <= nv; i++) print verdict[i]
    exit missed
}' "$W/results"
missed=$?
stop_all_homed
cat "$W"/homed*.log > "$W/homed.logs"
if grep -q ': error: ' "$W/homed.logs"; then
    echo "milter.sh: homed-milter logged errors:" >&2
    grep ': error: ' "$W/homed.logs" | sort | uniq -c | sort -rn | head -5 >&2
    BROKEN=1
fi
[ "$BROKEN" = 0 ] || exit 1
[ "${HM_BENCH_STRICT:-}" = 1 ] && [ "$missed" != 0 ] && exit 1
exit 0

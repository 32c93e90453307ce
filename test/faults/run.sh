#!/bin/sh
# The fault matrix: the real homed-milter against a private slapd (the
# sample directory plus USERS generated mailboxes), driven by mltload (the
# MTA side of the milter protocol, test/tools/mltload.c) with several
# connections at once and, for the daemon killed with SIGKILL, by a
# private Postfix with SMTP AUTH. TAP output; everything started here is
# stopped here, on loopback and unix sockets only.
#
#   HM_SRCDIR=... HM_BUILDDIR=... sh test/faults/run.sh
#
# The mix (gen-workload.sh): two thirds owned senders (must be accepted),
# one third forged (another user's MAIL FROM, a forged From:, a mailbox
# homed elsewhere, a login with no entry: must be rejected). For each
# fault a stream of messages runs across it and the test asserts what the
# client got:
#   - no forged sender was ever accepted, no owned sender got a 5xx
#     (mltload -C), and the table adds up to the messages sent (>= 200);
#   - every message got a reply (no broken connection, no reply later
#     than MT_WAIT, 10 s), and every tempfail was "451 4.3.0";
#   - the fault was felt where it must be (tempfails), and not where it
#     must not (slow but in time, failover, reloads);
#   - owned senders are accepted again within the stream once the fault
#     has ended, then a clean stream gets exactly its expected verdicts,
#     from the same daemon process (its PID unchanged, fds not grown).
# Faults: slapd stopped and started; slapd stopped for HM_FAULTS_OUTAGE
# seconds (default 10) as one of two URIs, the connection attempts on both
# ports counted (countlisten.pl: at most about one a second each), then
# back within a second and one lookup; hung (SIGSTOP) and resumed; hung
# with the LDAP connection pool exhausted (each message answered within
# about ldap.timeout); slow
# (slowproxy.pl, a delay below and above ldap.timeout); restarted
# mid-stream; first URI dead, second alive; a wrong bind password fixed
# by SIGHUP; reloads under load (good file, broken file, a burst of
# USR1); slapd stopped with the cache on; the daemon killed with SIGKILL
# behind Postfix (milter_default_action = tempfail: nothing lost, the
# stale socket cleaned by the next start; needs root).
#
# A reload reaches new milter connections only (a connection keeps the
# configuration it started with), so the reload cases send their stream
# as a chain of short mltload runs, as an MTA opens new SMTP sessions.
#
# HM_KEEP=1 keeps the work directory (configurations, logs, mltload
# output) for a look afterwards. HM_MLTLOAD=PATH takes mltload from
# elsewhere, e.g. a build without UBSan when the daemon's build has it (a
# sanitizer report in a daemon's log fails the last test).
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/test/lib/daemon.sh"
HERE=$SRC/test/faults
. "$SRC/test/e2e/lib-postfix.sh"

T0=$(date +%s)

USERS=200      # generated mailboxes u00001..u00200
CONNS=6        # mltload connections per stream
PRE=200        # decisions before a fault is injected
POST=200       # owned senders accepted after it ended, within the stream
CLEAN=60       # messages of the clean stream after each fault
CLEAN_N=0
TIMEOUT=2      # ldap.timeout of the daemons (seconds)

[ -x "$HM" ] || skip_all "homed-milter is not built"
if [ ! -x "$MLTLOAD" ]; then
    echo "1..1"
    echo "not ok 1 - $MLTLOAD is built (make test/tools/mltload; make check builds it)"
    exit 1
fi
[ -x "$SLAPD" ] || skip_all "slapd is not installed"
command -v ldapsearch >/dev/null 2>&1 || skip_all "ldapsearch (ldap-utils) is not installed"
command -v perl >/dev/null 2>&1 || skip_all "perl is not installed"

W=$(mktemp -d "${TMPDIR:-/tmp}/hm-faults.XXXXXX") || exit 1
chmod 755 "$W" # Postfix's daemons (user postfix) must reach the milter socket
HM_DIR=$W
SLAPD_DIR=$W/slapd
PF_DIR=$W/postfix
mkdir -p "$SLAPD_DIR" "$PF_DIR"
ML_PID=""
PROXY_PID=""
FEED_PID=""
COUNT_PID=""

stop_pid() { # PID: TERM, wait, KILL after 5 s
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null
    wait_gone "$1" 50
}

cleanup() {
    set +e
    touch "$W/stop-all" # ends a chain of mltload runs
    stop_pid "$ML_PID"
    stop_pid "$FEED_PID"
    stop_pid "$PROXY_PID"
    stop_pid "$COUNT_PID"
    hm_term
    postfix_stop
    postfix_sink_stop
    hm_stop
    slapd_stop
    if [ "${HM_KEEP:-}" = 1 ]; then echo "# work directory kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

# --- the directory and the workload -----------------------------------------------
sh "$SRC/test/bench/gen-ldif.sh" "$USERS" > "$W/users.ldif"
slapd_init "$SRC/etc/example.ldif" "$W/users.ldif" >/dev/null || skip_all "slapadd failed"
slapd_start || skip_all "slapd did not start"
sh "$HERE/gen-workload.sh" 300 "$USERS" > "$W/workload"
printf 'not-the-secret-4711\n' > "$W/wrong"
chmod 600 "$W/wrong"

# conf NAME [KEY=VALUE]...: $W/NAME.conf (test/lib/daemon.sh) with a pid
# file and ldap.timeout = TIMEOUT. The cache is off unless the keys say
# otherwise, so that every message reaches the directory.
conf() {
    _c=$1
    shift
    hm_conf "$_c" "pid_file=\"$W/$_c.pid\"" "ldap.timeout=$TIMEOUT" "$@"
}
LDAP="ldap.uri=[ \"$SLAPD_LDAP_URL\" ]" # TCP: its connections can be counted

# same_daemon NAME: the daemon still runs as the process that was started
# (its pid file names it, it is not a zombie)
same_daemon() {
    alive "$(cat "$W/$1.hmpid")" && [ "$(cat "$W/$1.pid" 2>/dev/null)" = "$(cat "$W/$1.hmpid")" ]
}

# fds NAME: "OTHER TCP": the daemon's open fds that are TCP sockets (its
# LDAP connections: at most ldap.connections) and all the others
fds() {
    _fd=/proc/$(cat "$W/$1.hmpid")/fd
    # the inodes of every TCP socket on the machine, then the daemon's sockets
    awk 'NR > 1 { print "socket:[" $10 "]" }' /proc/net/tcp /proc/net/tcp6 > "$W/tcp.inodes"
    _all=0 _tcp=0
    for _l in "$_fd"/*; do
        _all=$((_all + 1))
        _t=$(readlink "$_l" 2>/dev/null) || continue
        case $_t in socket:*) grep -qxF -- "$_t" "$W/tcp.inodes" && _tcp=$((_tcp + 1)) ;; esac
    done
    echo "$((_all - _tcp)) $_tcp"
}

# count NAME PATTERN: lines of the daemon's log holding PATTERN (grep -E)
count() { grep -Ec -- "$2" "$W/$1.log"; }
DECIDED='stage=mail'                  # one per message, whatever the verdict
ACCEPTED='accept reason=owned stage=mail'

# wait_count NAME PATTERN N TENTHS: until the log has N lines matching
wait_count() {
    _wc_d=$1 _wc_p=$2 _wc_n=$3
    wait_for "$4" eval '[ "$(count "$_wc_d" "$_wc_p")" -ge "$_wc_n" ]'
}

# --- mltload ---------------------------------------------------------------------------
# MT_WAIT: the client waits at most this long for any reply of the daemon,
# the option negotiation's included (HM_FAULTS_WAIT; default 10 s, a
# third of Postfix's milter_command_timeout); a later reply is an error.
# The client opens its connections one after the other, each once the one
# before has its negotiation reply (mltload -S), and pauses 2 ms before
# each message (-p 2): libmilter's worker pool can leave a new connection
# unserved for as long as the others send their commands with no pause,
# as mltload alone does and an MTA, waiting on its SMTP clients, does not
# (README, Known limits). Without -p a reconnection after an error could
# wait out MT_WAIT there (seen once in CI). Every stream prints its
# slowest message, reply and negotiation.
MT_WAIT=${HM_FAULTS_WAIT:-10}
# stream_start NAME TAG [MESSAGES]: mltload against daemon NAME in the
# background (at most 60 s), every verdict on TAG.err (-v)
stream_start() {
    "$MLTLOAD" -s "unix:$W/$1.sock" -C -S -p 2 -c "$CONNS" -n "${3:-100000000}" -d 60 -t "$MT_WAIT" -v \
        -w "$W/workload" > "$W/$2.out" 2> "$W/$2.err" 3>&- &
    ML_PID=$!
}

# stream_end: stop mltload (TERM: it finishes the messages in flight and
# prints its table), ML_RC gets its exit status
stream_end() {
    kill -TERM "$ML_PID" 2>/dev/null
    wait "$ML_PID"
    ML_RC=$?
    ML_PID=""
}

# stream_wait: wait for a stream with a count to end by itself
stream_wait() {
    wait "$ML_PID"
    ML_RC=$?
    ML_PID=""
}

val() { sed -n "s/^$2=//p" "$W/$1.out"; } # TAG KEY: a key=value line of mltload

# chain_start NAME TAG: short mltload runs (CHAIN messages each, new
# connections each time, as an MTA's new SMTP sessions) one after the
# other against daemon NAME, until chain_end. A reload reaches only new
# connections (a connection keeps the configuration it started with), so
# the reload cases need these.
CHAIN=60
chain_start() {
    rm -f "$W/$2.stop"
    (
        _i=0
        while [ ! -f "$W/$2.stop" ] && [ ! -f "$W/stop-all" ] && [ $_i -lt 1000 ]; do
            "$MLTLOAD" -s "unix:$W/$1.sock" -C -S -p 2 -c "$CONNS" -n "$CHAIN" -t "$MT_WAIT" -v \
                -w "$W/workload" > "$W/$2.$_i.out" 2> "$W/$2.$_i.err"
            echo "$?" > "$W/$2.$_i.rc"
            _i=$((_i + 1))
        done
    ) 3>&- &
    ML_PID=$!
}

# chain_end TAG: stop the chain after the run in flight; TAG.out gets the
# sums of the runs' key=value lines, the largest of their *max_ms (the
# slowest message, reply, negotiation) and their table, TAG.err their
# verdict lines, ML_RC the worst exit status
chain_end() {
    touch "$W/$1.stop"
    wait "$ML_PID"
    ML_PID=""
    ML_RC=$(cat "$W/$1".*.rc | sort -n | tail -1)
    cat "$W/$1".*.err > "$W/$1.err"
    awk -F= '/^[a-z_0-9]+=[0-9]+$/ && $1 !~ /ms$|^rate$|^seconds$/ { s[$1] += $2; if (!($1 in o)) { o[$1] = ++n; k[n] = $1 } }
        $1 ~ /max_ms$/ && (!($1 in max) || $2 + 0 > max[$1] + 0) { max[$1] = $2 }
        END {
            for (i = 1; i <= n; i++) print k[i] "=" s[k[i]]
            for (m in max) print m "=" max[m]
            print "runs=" FILENAME_COUNT
            printf "\n%-16s %9s %9s %9s %9s\n", "expected \\ got", "accept", "reject", "tempfail", "error"
            split("accept reject", e, " ")
            for (i = 1; i <= 2; i++)
                printf "%-16s %9d %9d %9d %9d\n", e[i], s["expect_" e[i] "_got_accept"],
                    s["expect_" e[i] "_got_reject"], s["expect_" e[i] "_got_tempfail"],
                    s["expect_" e[i] "_got_error"]
        }' FILENAME_COUNT="$(ls "$W/$1".*.rc | wc -l | tr -d ' ')" "$W/$1".[0-9]*.out > "$W/$1.out"
}

# no_tempfail NAME TAG DESC: the stream TAG against daemon NAME had not
# one tempfail; else say what the daemon logged for the last ones
no_tempfail() {
    _n=$(val "$2" tempfail)
    is "$_n" 0 "$3: not one tempfail"
    [ "$_n" = 0 ] || diag "the daemon's last reasons:" \
        "$(grep 'tempfail reason' "$W/$1.log" | sed 's/.* error=/error=/' | tail -3)"
}

# stream_check TAG DESC: what every stream across a fault must show
stream_check() {
    _t=$1
    _msgs=$(val "$_t" messages)
    _sum=0
    for _e in accept reject; do
        for _g in accept reject tempfail error; do
            _v=$(val "$_t" "expect_${_e}_got_$_g")
            _sum=$((_sum + ${_v:-0}))
        done
    done
    is "$ML_RC" 0 "$2: no forged sender accepted, no owned sender rejected with 5xx (mltload -C)"
    ok_if "$2: $_msgs messages (>= 200), the table adds up to them ($_sum)" \
        [ "${_msgs:-0}" -ge 200 ] && [ "$_sum" = "$_msgs" ]
    is "$(val "$_t" error)" 0 "$2: every message got a reply from the daemon within ${MT_WAIT} s (no error)"
    _p99=$(val "$_t" p99_ms)
    diag "$2: slowest message $(val "$_t" max_ms) ms${_p99:+, p99 $_p99 ms}; slowest reply" \
        "$(val "$_t" reply_max_ms) ms, slowest negotiation $(val "$_t" optneg_max_ms) ms"
    [ "$(val "$_t" error)" = 0 ] || diag "slowest message: $(val "$_t" max_ms) ms; what mltload saw:" \
        "$(grep '^mltload: connection [0-9]*: ' "$W/$_t.err" | grep -v ': version [0-9]' | head -5)"
    _tf=$(grep -c ': tempfail' "$W/$_t.err")
    _451=$(grep -c ': tempfail: 451 4\.3\.0 ' "$W/$_t.err")
    ok_if "$2: every tempfail was 451 4.3.0 ($_451 of $(val "$_t" tempfail))" \
        [ "$_tf" = "$(val "$_t" tempfail)" ] && [ "$_tf" = "$_451" ]
    diag "$(sed -n '/^expected/,$p' "$W/$_t.out")"
}

# clean_stream NAME DESC: CLEAN messages, each must get exactly its verdict
clean_stream() {
    CLEAN_N=$((CLEAN_N + 1))
    _t=clean-$1-$CLEAN_N
    "$MLTLOAD" -s "unix:$W/$1.sock" -C -S -p 2 -c 4 -n "$CLEAN" -t "$MT_WAIT" -w "$W/workload" \
        > "$W/$_t.out" 2> "$W/$_t.err" 3>&-
    _rc=$?
    _want_a=$(head -n "$CLEAN" "$W/workload" | grep -c '	accept$')
    _want_r=$((CLEAN - _want_a))
    is "$_rc $(val "$_t" expect_accept_got_accept) $(val "$_t" expect_reject_got_reject) $(val "$_t" tempfail) $(val "$_t" error)" \
        "0 $_want_a $_want_r 0 0" \
        "$2: then $CLEAN messages get exactly their verdicts ($_want_a accepted, $_want_r rejected, no tempfail)"
    ok_if "$2: ... from the same daemon process (PID unchanged)" same_daemon "$1"
}

# recovered NAME DESC: after the fault ended, POST owned senders accepted
# within the running stream (at most 20 s)
recovered() {
    _base=$(count "$1" "$ACCEPTED")
    ok_if "$2: owned senders accepted again within the stream once the fault ended" \
        wait_count "$1" "$ACCEPTED" $((_base + POST)) 200
}

# started NAME: the stream has made PRE decisions (at most 20 s)
started() {
    _base=$(count "$1" "$DECIDED")
    wait_count "$1" "$DECIDED" $((_base + PRE)) 200 ||
        diag "$1: the stream did not get going: $(tail -3 "$W/$1.log")"
}

section() { diag "--- $1 (at $(($(date +%s) - T0)) s)"; }

# --- the daemons -------------------------------------------------------------------
DEAD_PORT=$(free_port)
PROXY_PORT=$(free_port)
while [ "$PROXY_PORT" = "$DEAD_PORT" ]; do PROXY_PORT=$(free_port); done
SPARE_PORT=$(free_port) # the second URI of "storm": nothing answers there
while [ "$SPARE_PORT" = "$DEAD_PORT" ] || [ "$SPARE_PORT" = "$PROXY_PORT" ]; do
    SPARE_PORT=$(free_port)
done
conf main "$LDAP"
conf slow "ldap.uri=[ \"ldap://127.0.0.1:$PROXY_PORT\" ]"
conf failover "ldap.uri=[ \"ldap://127.0.0.1:$DEAD_PORT\", \"$SLAPD_LDAP_URL\" ]"
conf badpw "$LDAP" "ldap.bind_password_file=\"$W/badpw.secret\""
cp "$W/wrong" "$W/badpw.secret"
conf cached cache.ttl=300 cache.negative_ttl=300
conf storm "ldap.uri=[ \"$SLAPD_LDAP_URL\", \"ldap://127.0.0.1:$SPARE_PORT\" ]"
DAEMONS="main slow failover badpw cached storm"
UP=""
for d in $DAEMONS; do
    hm_run "$d" || UP="$UP $d"
done
is "$UP" "" "the daemons start and listen ($DAEMONS)"
[ -z "$UP" ] || { done_testing; exit 1; }
for d in $DAEMONS; do
    eval "FDS_START_$d=\$(fds $d)"
done

echo 0 > "$W/delay"
perl "$HERE/slowproxy.pl" "$PROXY_PORT" "$SLAPD_PORT" "$W/delay" > "$W/proxy.log" 2>&1 3>&- &
PROXY_PID=$!
wait_for 50 port_open "$PROXY_PORT" || diag "slowproxy.pl did not come up: $(cat "$W/proxy.log")"

# --- 0. no fault: the mix is decided exactly -----------------------------------------
section "0. no fault: the mix is decided exactly"
clean_stream main "no fault"
FDS0=$(fds main)

# --- 1. slapd stopped, then started again ------------------------------------------
section "1. slapd stopped, then started again"
stream_start main stop
started main
EVENTS=$(wc -l < "$W/main.log")
slapd_stop
sleep 1.5
slapd_start || diag "slapd did not start again"
recovered main "slapd stopped"
stream_end
stream_check stop "slapd stopped"
ok_if "slapd stopped: the outage was felt (owned senders tempfailed: $(val stop expect_accept_got_tempfail))" \
    [ "$(val stop expect_accept_got_tempfail)" -gt 0 ]
# Directory events once per change, not per lookup (homed-milter(8), LOGGING).
# A connect answered just as slapd stopped may bring the URI up once more
# before the next failure takes it down: that is a change of state too,
# so the events must alternate, start with the stop, end with the return,
# and be at most two pairs (a line per lookup would be hundreds).
_events=$(tail -n +"$((EVENTS + 1))" "$W/main.log" |
    sed -n 's/.*directory .* stopped answering.*/down/p; s/.*directory .* answers again.*/up/p' |
    tr '\n' ' ')
like "$_events" '^down up (down up )?$' \
    "slapd stopped: 'stopped answering' and 'answers again' once per change of state ($_events)"
clean_stream main "slapd stopped"

# --- 1b. slapd stopped under a stream: the connection attempts counted -------------
# A URI that did not answer is tried again at most once a second, by one
# connection of all, the others getting their 451 at once (homed-milter.conf(5),
# ldap.uri): a directory that is down is not hammered by every message (before,
# a connect per message: thousands a second), and one that comes back is used
# within that second. The daemon "storm" has two URIs, slapd's and a second
# one that never answers. While slapd is stopped, countlisten.pl listens on
# both ports, accepts every connection and closes it at once (a server that
# is down, reached), and notes each; the stream runs at full speed all along.
# The issue asks for 30 s of outage; OUTAGE is 10 s, which adds about 12 s
# to the layer (about 60 s in all), to keep CI well under its limit: ten
# one-second slots already tell one try a second from thousands.
# HM_FAULTS_OUTAGE=30 runs the issue's 30 s (at most 50: the stream stops
# after 60 s).
OUTAGE=${HM_FAULTS_OUTAGE:-10}
section "1b. slapd stopped for $OUTAGE s under a stream: connection attempts counted"
now_ms() { date +%s%3N; }
# accepted_since: an owned sender accepted in storm.log past byte SINCE;
# SINCE moves on to what was read (less a line), so that polling reads the
# growing log once
accepted_since() {
    _as_end=$(wc -c < "$W/storm.log")
    tail -c +"$((SINCE + 1))" "$W/storm.log" | head -c "$((_as_end - SINCE))" |
        grep -q -- "$ACCEPTED" && return 0
    [ "$_as_end" -gt $((SINCE + 1000)) ] && SINCE=$((_as_end - 1000))
    return 1
}
stream_start storm storm
started storm
slapd_stop
COUNT_T0=$(now_ms)
OFF0=$(wc -c < "$W/storm.log")
perl "$HERE/countlisten.pl" "$W/attempts" "$SLAPD_PORT" "$SPARE_PORT" > "$W/countlisten.log" 2>&1 3>&- &
COUNT_PID=$!
wait_for 50 eval 'port_open "$SLAPD_PORT" && port_open "$SPARE_PORT"' ||
    diag "countlisten.pl did not come up: $(cat "$W/countlisten.log")"
sleep "$OUTAGE"
stop_pid "$COUNT_PID"
COUNT_PID=""
COUNT_T1=$(now_ms)
OFF1=$(wc -c < "$W/storm.log")
slapd_start || diag "slapd did not start again"
BACK_T=$(now_ms)
SINCE=$OFF1
wait_for 100 accepted_since
BACK_MS=$(($(now_ms) - BACK_T))
recovered storm "slapd stopped for $OUTAGE s"
stream_end
stream_check storm "slapd stopped for $OUTAGE s"
# per port: attempts, the most in one second of the window, the window in s
attempts() {
    awk -v p="$1" -v t0="$COUNT_T0" -v t1="$COUNT_T1" '
        $1 == p { n++; b = int(($2 - t0) / 1000); if (++s[b] > most) most = s[b] }
        END { printf "%d %d %.1f\n", n, most, (t1 - t0) / 1000 }' "$W/attempts"
}
for _port in "$SLAPD_PORT" "$SPARE_PORT"; do
    if [ "$_port" = "$SLAPD_PORT" ]; then _uri="slapd's URI"; else _uri="the second URI"; fi
    read -r _n _most _secs <<EOF
$(attempts "$_port")
EOF
    # at most one try a second (+ one at the start), with slack: 1.5 a second
    ok_if "slapd stopped for $OUTAGE s: $_uri got $_n connection attempts in $_secs s (at most 1.5 a second)" \
        awk -v n="$_n" -v s="$_secs" 'BEGIN { exit !(n <= s * 1.5 + 1) }'
    ok_if "slapd stopped for $OUTAGE s: $_uri got at most 2 in any one second ($_most)" [ "$_most" -le 2 ]
    ok_if "slapd stopped for $OUTAGE s: $_uri was still tried about once a second ($_n >= $_secs / 2)" \
        awk -v n="$_n" -v s="$_secs" 'BEGIN { exit !(n >= s / 2) }'
done
_decided=$(tail -c +"$((OFF0 + 1))" "$W/storm.log" | head -c "$((OFF1 - OFF0))" | grep -c -- "$DECIDED")
diag "slapd stopped for $OUTAGE s: $_decided decisions meanwhile ($(awk -v n="$_decided" -v t0="$COUNT_T0" -v t1="$COUNT_T1" 'BEGIN { printf "%.0f", n * 1000 / (t1 - t0) }')/s), the last:" \
    "$(tail -c +"$((OFF0 + 1))" "$W/storm.log" | head -c "$((OFF1 - OFF0))" | grep 'tempfail reason' | tail -1 | sed 's/.* error=/error=/')"
ok_if "slapd stopped for $OUTAGE s: felt (owned senders tempfailed: $(val storm expect_accept_got_tempfail))" \
    [ "$(val storm expect_accept_got_tempfail)" -gt 0 ]
# The last try before slapd answered was at most a second before; then one
# lookup. 2 s: that, the polling's 0.1 s and a machine busy with the stream.
ok_if "slapd back: an owned sender accepted within 1 s + one lookup of slapd answering ($BACK_MS ms <= 2000)" \
    [ "$BACK_MS" -le 2000 ]
clean_stream storm "slapd stopped for $OUTAGE s"

# --- 2. slapd hung (SIGSTOP), then resumed ---------------------------------------
section "2. slapd hung (SIGSTOP), then resumed"
stream_start main hang
started main
slapd_hang || diag "slapd did not stop"
sleep 4
slapd_resume
recovered main "slapd hung"
stream_end
stream_check hang "slapd hung"
ok_if "slapd hung: the hang was felt (owned senders tempfailed: $(val hang expect_accept_got_tempfail))" \
    [ "$(val hang expect_accept_got_tempfail)" -gt 0 ]
like "$(grep 'tempfail reason=directory-error' "$W/main.log" | grep 'no answer within' | tail -1)" \
    "error=ldap://127\.0\.0\.1:$SLAPD_PORT: [^:]+: no answer within $TIMEOUT s( \(not tried again yet: once a second\))?\$" \
    "slapd hung: the tempfails are logged with the URI, the operation and the timeout"
clean_stream main "slapd hung"

# --- 2b. the pool exhausted while slapd hangs -------------------------------------
section "2b. the pool exhausted while slapd hangs"
# ldap.connections = 2, ldap.timeout = 1 s; POOL_N messages at once, each on
# a milter connection of its own, against a hung slapd: two lookups wait
# for slapd's answer on the two LDAP connections, the others for one of
# them. A lookup that finds every connection busy waits at most
# ldap.timeout for one (homed-milter.conf(5), ldap.connections), so each
# message gets its 451 after about one timeout (two at most: a connection
# given back just before a waiter's deadline is then used, for one more),
# not after the timeouts of all the lookups queued before it.
POOL_N=12
POOL_LIMIT_MS=3000 # ldap.timeout + 2 s
conf pool "$LDAP" ldap.connections=2 ldap.timeout=1
hm_run pool || diag "the daemon with two LDAP connections did not start"
# two messages at once open both connections
"$MLTLOAD" -s "unix:$W/pool.sock" -c 2 -n 2 -t "$MT_WAIT" -w "$W/workload" \
    > "$W/pool-open.out" 2> "$W/pool-open.err" 3>&-
is "$(val pool-open expect_accept_got_accept)" 2 "pool: two messages accepted while slapd answers"
slapd_hang || diag "slapd did not stop"
"$MLTLOAD" -s "unix:$W/pool.sock" -c "$POOL_N" -n "$POOL_N" -t "$MT_WAIT" -v -w "$W/workload" \
    > "$W/pool.out" 2> "$W/pool.err" 3>&-
slapd_resume
is "$(val pool tempfail)" "$POOL_N" \
    "pool exhausted, slapd hung: all $POOL_N messages at once tempfailed"
# Which of the queued lookups time out waiting for a connection, and which
# get one just before and then time out on slapd, depends on the
# scheduler: each tempfail names one of three causes. The pool stayed
# busy; or slapd did not answer this lookup (also when it found slapd
# left alone for its second after a timeout); or the connection it got
# had been closed after a timeout, and slapd still owed the answer to
# the connection opened since. The time bound below is what shows that
# no lookup waited without limit.
POOL_CAUSE='tempfail reason=directory-error stage=mail error=.*(all 2 directory connections stayed busy for 1 s|no answer within 1 s|a connection to it has had no answer for [0-9]+ ms)( \(not tried again yet: once a second\))?$'
is "$(grep -Ec "$POOL_CAUSE" "$W/pool.log")" \
    "$POOL_N" "pool exhausted, slapd hung: each tempfail names its cause (the pool stayed busy, or slapd did not answer)"
grep 'tempfail' "$W/pool.log" | grep -Ev "$POOL_CAUSE" | while IFS= read -r _line; do
    diag "a tempfail without a named cause: $_line"
done
ok_if "pool exhausted, slapd hung: each message answered within ldap.timeout + 2 s (slowest $(val pool max_ms) ms, p50 $(val pool p50_ms) ms)" \
    awk -v m="$(val pool max_ms)" -v l="$POOL_LIMIT_MS" 'BEGIN { exit !(m != "" && m <= l) }'

# --- 3. slapd restarted mid-stream -----------------------------------------------
section "3. slapd restarted mid-stream"
stream_start main restart
started main
slapd_stop
slapd_start || diag "slapd did not start again"
recovered main "slapd restarted"
stream_end
stream_check restart "slapd restarted"
diag "slapd restarted: $(val restart tempfail) tempfails"
clean_stream main "slapd restarted"

# --- 4. reloads under load -------------------------------------------------------------
section "4. reloads under load"
# A good file in force many times (it changes ldap.connections, so every
# reload builds a new pool), a broken file refused, a burst of USR1.
cp "$W/main.conf" "$W/main.good"
conf main "$LDAP" ldap.connections=3
mv "$W/main.conf" "$W/main.good3"
cp "$W/main.good" "$W/main.conf"
MAIN_PID=$(cat "$W/main.hmpid")
chain_start main hup
started main
n0=$(count main 'info: reloaded ')
i=0
while [ $i -lt 15 ]; do
    if [ $((i % 2)) = 0 ]; then cp "$W/main.good3" "$W/main.conf.new"; else cp "$W/main.good" "$W/main.conf.new"; fi
    mv "$W/main.conf.new" "$W/main.conf"
    kill -HUP "$MAIN_PID"
    sleep 0.2
    i=$((i + 1))
done
ok_if "reloads: 15 HUPs 0.2 s apart under load, 15 times 'reloaded'" \
    wait_count main 'info: reloaded ' $((n0 + 15)) 50
r0=$(count main 'reload refused')
printf 'ldap = {\n  uri = [ "%s" ];\n  timeout = ;\n};\n' "$SLAPD_LDAP_URL" > "$W/main.conf.new"
mv "$W/main.conf.new" "$W/main.conf"
kill -HUP "$MAIN_PID"
ok_if "reloads: a broken file is refused ('reload refused', FILE:LINE)" \
    wait_count main "reload refused, the old configuration stays: $W/main\.conf:[0-9]+: " $((r0 + 1)) 50
recovered main "reloads (broken file in place)"
cp "$W/main.good" "$W/main.conf.new"
mv "$W/main.conf.new" "$W/main.conf"
n1=$(count main 'info: reloaded ')
i=0
while [ $i -lt 20 ]; do
    kill -USR1 "$MAIN_PID"
    i=$((i + 1))
done
ok_if "reloads: a burst of 20 USR1 reloads the good file again" \
    wait_count main 'info: reloaded ' $((n1 + 1)) 50
recovered main "reloads (USR1 burst)"
chain_end hup
stream_check hup "reloads under load"
no_tempfail main hup "reloads under load"
clean_stream main "reloads under load"

# libmilter closes the last connections of a stream a moment later: wait
# (5 s at most) for the count to come down; a leaked fd never does
fds_back() {
    FDS1=$(fds main)
    [ "${FDS1% *}" -le "${FDS0% *}" ] && [ "${FDS1#* }" -le 8 ]
}
wait_for 50 fds_back || diag "the daemon's fds did not come back down within 5 s"
ok_if "main daemon: no fd leaked over the faults (other fds: ${FDS0% *} after the first clean stream, ${FDS1% *} now; LDAP connections now ${FDS1#* } <= 8)" \
    [ "${FDS1% *}" -le "${FDS0% *}" ] && [ "${FDS1#* }" -le 8 ]

# --- 5. slapd slow (slowproxy.pl), below and above ldap.timeout -------------------
section "5. slapd slow (slowproxy.pl), below and above ldap.timeout"
# below: 0.02 s a chunk (a lookup is two chunks): slower, all in time
echo 0.02 > "$W/delay"
stream_start slow slow-below 300
stream_wait
stream_check slow-below "slapd slow (0.02 s a chunk)"
no_tempfail slow slow-below "slapd slow (0.02 s a chunk): all in time"
ok_if "slapd slow (0.02 s a chunk): slower indeed (p50 $(val slow-below p50_ms) ms >= 30 ms)" \
    awk -v p="$(val slow-below p50_ms)" 'BEGIN { exit !(p >= 30) }'
# above: 2.5 s a chunk (more than ldap.timeout) for 4 s in the middle of a stream
stream_start slow slow-above
started slow
echo 2.5 > "$W/delay"
sleep 4
echo 0.02 > "$W/delay"
recovered slow "slapd slower than ldap.timeout"
stream_end
stream_check slow-above "slapd slower than ldap.timeout (2.5 s a chunk)"
ok_if "slapd slower than ldap.timeout: felt (owned senders tempfailed: $(val slow-above expect_accept_got_tempfail))" \
    [ "$(val slow-above expect_accept_got_tempfail)" -gt 0 ]
# Whatever MT_WAIT is: every connection of the stream (opened one after
# the other) had its negotiation reply within 5 s, and every command its
# reply within 10 s. The negotiation asks nothing of the directory: it
# takes milliseconds unless libmilter leaves the connection unserved
# (README, Known limits), as it did here for 6 to 9 s in most runs when
# the connections were opened all at once.
ok_if "slapd slower than ldap.timeout: all $CONNS connections negotiated within 5 s, every reply within 10 s (connections $(val slow-above connections), slowest negotiation $(val slow-above optneg_max_ms) ms, slowest reply $(val slow-above reply_max_ms) ms)" \
    awk -v c="$(val slow-above connections)" -v n="$(val slow-above optneg_max_ms)" \
    -v r="$(val slow-above reply_max_ms)" -v want="$CONNS" \
    'BEGIN { exit !(c >= want && n != "" && n <= 5000 && r != "" && r <= 10000) }'
echo 0 > "$W/delay"
clean_stream slow "slapd slow"

# --- 6. first URI dead, second alive ----------------------------------------------
section "6. first URI dead, second alive"
stream_start failover failover 600
stream_wait
stream_check failover "first URI dead (a closed port), second alive"
no_tempfail failover failover "first URI dead, second alive"
clean_stream failover "first URI dead"

# --- 7. wrong bind password, fixed by SIGHUP ----------------------------------------
section "7. wrong bind password, fixed by SIGHUP"
chain_start badpw badpw
started badpw
ok_if "wrong bind password: logged clearly (Invalid credentials)" \
    grep -q 'error=ldap://127\.0\.0\.1:[0-9]* refused the bind as cn=milter,dc=example,dc=com: Invalid credentials' "$W/badpw.log"
ok_if "wrong bind password: the refusal logged once, at error" \
    grep -q 'error: directory ldap://127\.0\.0\.1:[0-9]* refused the bind as cn=milter,dc=example,dc=com: Invalid credentials$' "$W/badpw.log"
is "$(count badpw "$ACCEPTED")" 0 "wrong bind password: no owned sender accepted before the fix"
n0=$(count badpw 'info: reloaded ')
cp "$W/secret" "$W/badpw.secret.new"
mv "$W/badpw.secret.new" "$W/badpw.secret"
kill -HUP "$(cat "$W/badpw.hmpid")"
ok_if "wrong bind password: the fixed file is reloaded on SIGHUP" \
    wait_count badpw 'info: reloaded ' $((n0 + 1)) 50
recovered badpw "wrong bind password (fixed, HUP)"
chain_end badpw
stream_check badpw "wrong bind password (fixed, HUP)"
ok_if "wrong bind password: owned senders tempfailed while it was wrong ($(val badpw expect_accept_got_tempfail))" \
    [ "$(val badpw expect_accept_got_tempfail)" -ge $((PRE / 2)) ]
ok_if "wrong bind password: neither password is in the log" \
    eval '! grep -qF -e not-the-secret-4711 -e miltersecret "$W/badpw.log"'
clean_stream badpw "wrong bind password"

# --- 8. cache on: slapd stopped, then started again --------------------------------
section "8. cache on: slapd stopped, then started again"
# Owned senders whose entry is kept may be accepted during the outage
# (allowed); a forged one must still never be.
clean_stream cached "cache on (warming it)"
stream_start cached cached
started cached
slapd_stop
sleep 1.5
slapd_start || diag "slapd did not start again"
recovered cached "cache on, slapd stopped"
stream_end
stream_check cached "cache on, slapd stopped"
clean_stream cached "cache on, slapd stopped"

# --- 9. the daemon killed with SIGKILL, behind Postfix ----------------------------
section "9. the daemon killed with SIGKILL, behind Postfix"
pf_skip() {
    if [ "${CI:-}" = true ]; then
        tap_result 1 "SIGKILL behind Postfix: $1 (skipping is a failure under CI=true)"
    else
        TAP_N=$((TAP_N + 1))
        printf 'ok %d - SIGKILL behind Postfix # SKIP %s\n' "$TAP_N" "$1"
    fi
}

# feed_count TAG: how many messages smtpfeed.pl has finished
feed_count() { wc -l < "$W/$1.feed" | tr -d ' '; }
# feed TAG GOT: messages of TAG that ended in GOT (expected either way)
feed_got() { awk -v g="$2" '$3 == g' "$W/$1.feed" | wc -l | tr -d ' '; }

# feed_check TAG DESC: what the SMTP client got, and what reached the sink
feed_check() {
    _t=$1
    is "$(feed_count "$_t")" "$FEED_N" "$2: every message of $FEED_N ended (smtpfeed.pl)"
    is "$(awk '$2 == "reject" && $3 == "accept"' "$W/$_t.feed" | wc -l | tr -d ' ')" 0 \
        "$2: no forged sender got 250"
    is "$(awk '$2 == "accept" && $3 == "reject"' "$W/$_t.feed" | wc -l | tr -d ' ')" 0 \
        "$2: no owned sender got a 5xx"
    is "$(feed_got "$_t" error)" 0 "$2: every message got an SMTP reply"
    # Every sink file is a line "Subject: TAG N"; compare the sets.
    wait_for 300 postfix_queue_empty || diag "$2: Postfix's queue did not drain"
    sleep 0.3
    awk '$3 == "accept" { print $1 }' "$W/$_t.feed" | sort -n > "$W/$_t.250"
    grep -rh "^Subject: $_t " "$PF_DIR/sink" 2>/dev/null | sed "s/^Subject: $_t //" | tr -d '\r' |
        sort -n > "$W/$_t.sunk"
    is "$(wc -l < "$W/$_t.sunk" | tr -d ' ')" "$(wc -l < "$W/$_t.250" | tr -d ' ')" \
        "$2: as many messages delivered to the sink as got 250 ($(wc -l < "$W/$_t.250" | tr -d ' '))"
    ok_if "$2: the delivered ones are exactly those that got 250 (none lost, none twice)" \
        cmp -s "$W/$_t.250" "$W/$_t.sunk"
}

if [ "$(id -u)" != 0 ]; then
    pf_skip "needs root (a private Postfix)"
elif [ ! -x "$POSTFIX" ] || [ ! -x "$SASLPASSWD2" ] || [ ! -x "$SMTP_SINK" ]; then
    pf_skip "Postfix, saslpasswd2 or smtp-sink is not installed"
else
    sh "$HERE/gen-workload.sh" 60 20 > "$W/pf.workload"
    # Postfix runs chrooted, as Debian ships it (lib-postfix.sh): the
    # socket lives in its queue directory and smtpd_milters names it
    # relative to the chroot.
    postfix_milter_dir
    PF_SOCK=$PF_MILTER_DIR/pf.sock
    conf pf "socket=\"unix:$PF_SOCK\""
    PF_UP=1
    hm_run pf || PF_UP=""
    postfix_init "unix:$(postfix_chroot_name "$PF_SOCK")" mail.example.com || PF_UP=""
    for _u in $(cut -f1 "$W/pf.workload" | sort -u); do
        [ -n "$PF_UP" ] && { postfix_adduser "$_u" "pw-$_u" || PF_UP=""; }
    done
    [ -n "$PF_UP" ] && { postfix_sink_start || PF_UP=""; }
    [ -n "$PF_UP" ] && { postfix_start || PF_UP=""; }
    if [ -z "$PF_UP" ]; then
        tap_result 1 "SIGKILL behind Postfix: Postfix, smtp-sink and the daemon start"
    else
        FEED_N=300
        PF_PID=$(cat "$W/pf.hmpid")
        : > "$W/kill.feed"
        perl "$HERE/smtpfeed.pl" "$PF_PORT" "$W/pf.workload" 6 "$FEED_N" kill 0 0.05 \
            >> "$W/kill.feed" 2> "$W/kill.feed.err" 3>&- &
        FEED_PID=$!
        wait_for 300 eval '[ "$(feed_count kill)" -ge 60 ]' || diag "the SMTP stream did not get going"
        kill -KILL "$PF_PID"
        wait "$PF_PID" 2>/dev/null
        ok_if "SIGKILL behind Postfix: the daemon is gone, its socket left behind" \
            eval '! alive "$PF_PID" && [ -S "$PF_SOCK" ]'
        at_kill=$(feed_count kill)
        wait_for 10 eval '[ "$(feed_count kill)" -ge $((at_kill + 30)) ]'
        ok_if "SIGKILL behind Postfix: the next start removes the stale socket and listens" \
            hm_run pf
        wait "$FEED_PID"
        FEED_PID=""
        feed_check kill "SIGKILL behind Postfix"
        ok_if "SIGKILL behind Postfix: the kill was felt (4xx: $(feed_got kill tempfail))" \
            [ "$(feed_got kill tempfail)" -gt 0 ]
        ok_if "SIGKILL behind Postfix: owned senders got 250 again after the restart" \
            [ "$(awk -v k="$at_kill" 'NR > k + 20 && $3 == "accept"' "$W/kill.feed" | wc -l)" -gt 0 ]
        diag "SMTP replies: $(awk '{ print $2 " -> " $3 " at " $4 }' "$W/kill.feed" | sort | uniq -c | tr '\n' ';')"
        diag "$(awk '$3 == "tempfail" { $1 = $2 = $3 = ""; print }' "$W/kill.feed" | sort | uniq -c | head -8)"
        # then a clean stream through Postfix: every message exactly as expected
        FEED_N=60
        perl "$HERE/smtpfeed.pl" "$PF_PORT" "$W/pf.workload" 4 "$FEED_N" clean > "$W/clean.feed" \
            2> "$W/clean.feed.err" 3>&-
        feed_check clean "after the restart, through Postfix"
        is "$(awk '$2 != $3' "$W/clean.feed" | wc -l | tr -d ' ')" 0 \
            "after the restart, through Postfix: every message got exactly its verdict"
    fi
    postfix_stop
    postfix_sink_stop
fi

# --- the end: every daemon still there, no fd leaked, TERM stops it with exit 0 -----
# Other fds: as many as at the start (for "cached", whose LDAP connections
# are ldapi unix sockets, at most ldap.connections more); TCP sockets: at
# most ldap.connections.
sleep 0.2
LEAKED=""
for d in $DAEMONS; do
    eval "_s=\$FDS_START_$d"
    _n=$(fds "$d")
    _slack=0
    [ "$d" = cached ] && _slack=8
    if [ "${_n% *}" -gt $((${_s% *} + _slack)) ] || [ "${_n#* }" -gt 8 ]; then
        LEAKED="$LEAKED $d"
    fi
    diag "$d: fds (other, TCP) at the start: $_s; now: $_n"
done
is "$LEAKED" "" "no daemon leaked an fd over the faults"
NOT_SAME=""
for d in $DAEMONS; do
    same_daemon "$d" || NOT_SAME="$NOT_SAME $d"
done
is "$NOT_SAME" "" "no daemon was restarted or died over the faults (SIGKILL aside)"
hm_stop
BAD=""
for d in $HM_DAEMONS; do
    rc=$(hm_rc "$d")
    if [ "$rc" != 0 ]; then
        BAD="$BAD $d:$rc"
        diag "daemon $d: exit status $rc; the end of its log:" "$(tail -5 "$W/$d.log")"
    fi
done
is "$BAD" "" "TERM stops every daemon with exit 0"
# A daemon built with ASan+UBSan writes its reports to its log.
SAN_RE='^==[0-9]+==ERROR: (Address|Leak|Thread)Sanitizer|runtime error: '
SAN_BAD=""
for d in $HM_DAEMONS; do
    grep -Eq "$SAN_RE" "$W/$d.log" && SAN_BAD="$SAN_BAD $d" &&
        diag "daemon $d: the sanitizer reported:" "$(grep -E -A30 "$SAN_RE" "$W/$d.log" | head -40)"
done
is "$SAN_BAD" "" "no sanitizer report in any daemon's log"
slapd_stop
stop_pid "$PROXY_PID"
PROXY_PID=""
if [ "$TAP_FAILED" -gt 0 ]; then
    for d in $HM_DAEMONS; do
        diag "--- $d: errors in its log (last 5)" \
            "$(grep -E 'error:|crit|fatal' "$W/$d.log" | grep -v 'tempfail reason' | tail -5)"
    done
fi
diag "took $(($(date +%s) - T0)) s"
done_testing

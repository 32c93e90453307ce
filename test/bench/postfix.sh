#!/bin/sh
# Postfix end to end: messages/s from an SMTP AUTH load generator
# (test/tools/smtpload) through a private Postfix with
#   (a) no milter,
#   (b) Postfix's own reject_sender_login_mismatch with
#       smtpd_sender_login_maps = proxy:ldap:... (uncached, on every MAIL),
#   (c) the null milter (test/bench/nullmilter), negotiating what
#       homed-milter negotiates at policy.decide_at = "mail" (MAIL FROM
#       with a reply, header fields without, end-of-message),
#   (d) homed-milter (cache on, defaults: decide_at = "mail"),
#   (e) the null milter negotiating what homed-milter negotiates at
#       decide_at = "end-of-data" (nullmilter -e: MAIL FROM and header
#       fields without replies, end-of-message),
#   (f) homed-milter with policy.decide_at = "end-of-data",
#   (g) the null milter without the MAIL step at all (nullmilter -n:
#       SMFIP_NOMAIL, the sender as the MTA's {mail_addr} at
#       end-of-message), what a milter deciding from {mail_addr} would
#       cost; homed-milter does not (Postfix lowercases that macro),
#       the row says what the MAIL step without a reply costs Postfix,
# against a private slapd with HM_BENCH_USERS generated mailboxes. Postfix
# runs with Debian's stock master.cf (smtpd chrooted, test/e2e/lib-postfix.sh),
# the milters' sockets in its queue directory. Delivery
# is discard:, and a run's time lasts until Postfix's incoming and active
# queues are empty again, not only until the client got its last 250.
# Rounds interleave the configurations (each round starts with the next
# one); every ratio is taken within one round, and the table shows the
# median and the min-max over the rounds. The targets: (f) >= 1.00 x (b)
# (deciding at end-of-DATA costs Postfix no more than its own check);
# (d) >= 0.95 x (c) and (f) >= 0.95 x (e); p50 of (d) and (f) within
# 1 ms of their null milter's.
#
# Environment (defaults in brackets):
#   HM_BENCH_CONFIGS [a b c d e f g]  which configurations, in this order
#   HM_BENCH_USERS [10000]        mailboxes in LDAP, all of them SASL users
#                                 (without db_load: HM_BENCH_SASL_USERS [200])
#   HM_BENCH_ROUNDS [3]           rounds
#   HM_BENCH_MESSAGES [4000]      messages per configuration and round
#   HM_BENCH_CONNS [8]            concurrent SMTP connections
#   HM_BENCH_PER_SESSION [10]     messages per SMTP session (then a new
#                                 session, authenticated as the next user)
#   HM_BENCH_WARMUP [200]         unmeasured messages after each restart
#   HM_BENCH_BODY [1024]          body bytes per message
#   HM_BENCH_STRICT [0]           1: exit 1 when a target is missed
#   HM_BENCH_KEEP [0]             1: keep the temporary directory
#   HM_SMTPLOAD, HM_NULLMILTER    the tools (default: under HM_BUILDDIR)
#   CI=true                       a missing tool is a failure, not a skip
#
# Needs root (Postfix), postfix, postfix-ldap (the ldap: map; without it,
# and not under CI=true, (b) is left out), slapd, ldap-utils, sasl2-bin,
# and db-util (db_load writes the sasldb in one go; without it saslpasswd2
# is used, about 17 ms a user). Everything listens on 127.0.0.1 or on unix
# sockets under one temporary directory and is stopped at exit.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BENCH=bench-postfix
. "$SRC/test/lib/bench.sh"
bench_tools SMTPLOAD=test/tools/smtpload NULLMILTER=test/bench/nullmilter
. "$SRC/test/e2e/lib-postfix.sh"

bench_vars USERS=10000 ROUNDS=3 MESSAGES=4000 CONNS=8 PER_SESSION=10 WARMUP=200 BODY=1024
T0=$(date +%s)

say() { printf '%s\n' "$*"; }
fail() {
    say "bench-postfix: FAIL: $*" >&2
    exit 1
}
# A missing prerequisite: a failure under CI=true, else a skip (exit 0).
missing() {
    if [ "${CI:-}" = true ]; then fail "$* (required under CI=true)"; fi
    say "bench-postfix: SKIP: $*" >&2
    exit 0
}

for _v in USERS ROUNDS MESSAGES CONNS PER_SESSION WARMUP BODY; do
    eval "_x=\$$_v"
    case $_x in '' | *[!0-9]*) fail "HM_BENCH_$_v must be a number, not '$_x'" ;; esac
done
[ "$USERS" -ge 2 ] || fail "HM_BENCH_USERS must be at least 2"
[ "$ROUNDS" -ge 1 ] && [ "$MESSAGES" -ge 1 ] && [ "$CONNS" -ge 1 ] ||
    fail "HM_BENCH_ROUNDS, HM_BENCH_MESSAGES and HM_BENCH_CONNS must be at least 1"

[ "$(id -u)" = 0 ] || missing "needs root (a private Postfix)"
for _p in "$HM" "$SMTPLOAD" "$NULLMILTER"; do
    [ -x "$_p" ] || missing "$_p is not built (make bench-postfix builds it)"
done
for _tool in "$SLAPD" "$SLAPADD" "$POSTFIX" "$POSTCONF"; do
    [ -x "$_tool" ] || missing "$_tool is not installed"
done
command -v ldapsearch >/dev/null 2>&1 || missing "ldapsearch (ldap-utils) is not installed"
DB_LOAD=$(command -v db_load || command -v db5.3_load || true)
[ -n "$DB_LOAD" ] || [ -x "$SASLPASSWD2" ] || missing "neither db_load (db-util) nor saslpasswd2 (sasl2-bin)"

BASE=$(mktemp -d "${TMPDIR:-/tmp}/hm-bench-pf.XXXXXX") || fail "mktemp"
chmod 755 "$BASE" # Postfix's daemons (user postfix) must reach the milter sockets
SLAPD_DIR=$BASE/slapd
PF_DIR=$BASE/postfix
M_DIR=$BASE/milter
HM_DIR=$M_DIR
mkdir -p "$SLAPD_DIR" "$PF_DIR" "$M_DIR"
NULL_PID=""
NULLE_PID=""
NULLN_PID=""

# stop_milters: TERM all at once, then wait (libmilter takes seconds)
stop_milters() {
    hm_term
    for _p in $NULL_PID $NULLE_PID $NULLN_PID; do kill -TERM "$_p" 2>/dev/null; done
    hm_stop
    hm_stop_pid "$NULL_PID" 100
    hm_stop_pid "$NULLE_PID" 100
    hm_stop_pid "$NULLN_PID" 100
    NULL_PID=""
    NULLE_PID=""
NULLN_PID=""
}
cleanup() {
    postfix_stop 2>/dev/null
    stop_milters 2>/dev/null
    slapd_stop
    cg_remove
    if [ "${HM_BENCH_KEEP:-0}" = 1 ]; then say "# kept $BASE"; else rm -rf "$BASE"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# --- CPU accounting: a cgroup for the system under test (this shell, and so
# slapd, the milters and Postfix, which it starts) and one for the load
# generator, when the kernel lets us make them (cgroup v1 cpuacct or v2).
# CPU time per message is steadier than a rate when other work shares the
# machine. Without them, only the milter's and slapd's own CPU is shown.
CG_SUT=""
CG_CLIENT=""
CG_HOME=""
cg_setup() {
    _name=${BASE##*/}
    for _root in /sys/fs/cgroup/cpuacct /sys/fs/cgroup/cpu,cpuacct; do
        if [ -f "$_root/cpuacct.usage" ] && mkdir "$_root/$_name" 2>/dev/null; then
            mkdir "$_root/$_name-client" 2>/dev/null || { rmdir "$_root/$_name"; continue; }
            CG_HOME=$_root CG_SUT=$_root/$_name CG_CLIENT=$_root/$_name-client
            break
        fi
    done
    if [ -z "$CG_SUT" ]; then
        for _root in /sys/fs/cgroup /sys/fs/cgroup/unified; do
            [ -f "$_root/cgroup.procs" ] && [ -f "$_root/cgroup.controllers" ] || continue
            # our own v2 group: the processes' place in the hierarchy matters
            _cur=$(sed -n 's/^0:://p' /proc/self/cgroup)
            _par=$_root${_cur%/}
            mkdir "$_par/$_name" 2>/dev/null || continue
            mkdir "$_par/$_name-client" 2>/dev/null || { rmdir "$_par/$_name"; continue; }
            [ -f "$_par/$_name/cpu.stat" ] || { rmdir "$_par/$_name" "$_par/$_name-client"; continue; }
            CG_HOME=$_par CG_SUT=$_par/$_name CG_CLIENT=$_par/$_name-client
            break
        done
    fi
    [ -n "$CG_SUT" ] && echo $$ > "$CG_SUT/cgroup.procs" 2>/dev/null || cg_remove
}
cg_usage() { # CGROUP: CPU time used in it, in ns
    if [ -f "$1/cpuacct.usage" ]; then cat "$1/cpuacct.usage"
    else awk '$1 == "usage_usec" { printf "%.0f\n", $2 * 1000 }' "$1/cpu.stat"; fi
}
cg_remove() {
    [ -n "$CG_SUT" ] || return 0
    echo $$ > "$CG_HOME/cgroup.procs" 2>/dev/null
    for _g in "$CG_SUT" "$CG_CLIENT"; do
        _w=0
        while [ -d "$_g" ] && ! rmdir "$_g" 2>/dev/null; do
            _w=$((_w + 1))
            [ $_w -gt 50 ] && { say "# could not remove the cgroup $_g" >&2; break; }
            sleep 0.1
        done
    done
    CG_SUT=""
    CG_CLIENT=""
}

# --- the directory: example.ldif (base, ou=people, cn=milter) + USERS mailboxes
sh "$SRC/test/bench/gen-ldif.sh" "$USERS" > "$BASE/users.ldif" 2>"$BASE/gen.err" ||
    fail "gen-ldif.sh failed: $(cat "$BASE/gen.err")"
# The users file for smtpload: login (uid) TAB password TAB sender (the
# entry's first mail value).
awk 'function flush() { if (uid != "" && mail != "") printf "%s\tpw-%s\t%s\n", uid, uid, mail; uid = mail = "" }
    /^$/ { flush(); next }
    /^uid: / { uid = substr($0, 6) }
    /^mail: / && mail == "" { mail = substr($0, 7) }
    END { flush() }' "$BASE/users.ldif" > "$BASE/users.txt"
[ "$(wc -l < "$BASE/users.txt")" -ge 2 ] || fail "no users in the generated LDIF"
# Without db_load every SASL user costs a saslpasswd2 run: take fewer
# (all of them in LDAP too).
if [ -z "$DB_LOAD" ] && [ "$(wc -l < "$BASE/users.txt")" -gt "${HM_BENCH_SASL_USERS:-200}" ]; then
    head -n "${HM_BENCH_SASL_USERS:-200}" "$BASE/users.txt" > "$BASE/users.sasl" &&
        mv "$BASE/users.sasl" "$BASE/users.txt"
    say "# no db_load (db-util): only the first ${HM_BENCH_SASL_USERS:-200} mailboxes are SASL users"
fi
N_USERS=$(wc -l < "$BASE/users.txt" | tr -d ' ')
# The sanity checks log in as the last user (no round uses it first) and
# try the first user's address.
LASTLOGIN=$(sed -n '$s/\t.*//p' "$BASE/users.txt")
OTHER=$(sed -n '1s/.*\t//p' "$BASE/users.txt")

cg_setup
_t=$(date +%s)
slapd_init "$SRC/etc/example.ldif" "$BASE/users.ldif" >/dev/null 2>"$BASE/slapadd.err" ||
    { cat "$BASE/slapadd.err" >&2; fail "slapadd failed"; }
slapd_start || fail "slapd did not start"
_n=$(ldapsearch -x -LLL -H "$SLAPD_LDAP_URL" -D cn=admin,dc=example,dc=com -w rootsecret \
    -b ou=people,dc=example,dc=com -z 0 '(mailHost=mail.example.com)' dn 2>/dev/null |
    grep -c '^dn: uid=u')
[ "$_n" -ge "$N_USERS" ] || fail "slapd holds $_n of the $N_USERS mailboxes"
say "# slapd: $N_USERS mailboxes loaded in $(($(date +%s) - _t)) s"

# --- the milters, started once and kept for all rounds (homed-milter's cache
# stays warm for what it has seen; each round uses users not seen before)
# Postfix runs chrooted, as Debian ships it (lib-postfix.sh): the sockets
# live in its queue directory, and smtpd_milters names them relative to it.
postfix_milter_dir || fail "cannot create the milters' directory in Postfix's queue directory"
NULL_SOCK=$PF_MILTER_DIR/null.sock
NULLE_SOCK=$PF_MILTER_DIR/null-eod.sock
NULLN_SOCK=$PF_MILTER_DIR/null-nomail.sock
HM_SOCK=$PF_MILTER_DIR/homed-milter.sock
EOD_SOCK=$PF_MILTER_DIR/homed-eod.sock
# the defaults (log_level info, decide_at "mail", cache on), and the same
# at decide_at "end-of-data"
hm_conf homed-milter "socket=\"unix:$HM_SOCK\"" "ldap.uri=[ \"$SLAPD_LDAP_URL\" ]" ldap.timeout= cache=
hm_conf homed-eod "socket=\"unix:$EOD_SOCK\"" "ldap.uri=[ \"$SLAPD_LDAP_URL\" ]" ldap.timeout= cache= \
    'policy.decide_at="end-of-data"'
for _n in homed-milter homed-eod; do
    "$HM" -n -c "$M_DIR/$_n.conf" >"$M_DIR/check.out" 2>&1 ||
        { cat "$M_DIR/check.out" >&2; fail "homed-milter -n rejects $_n.conf"; }
    hm_start $_n
done
HM_PID=$(hm_pid homed-milter)
EOD_PID=$(hm_pid homed-eod)
# The null milter negotiates what homed-milter negotiates with its default
# header_fields (From, Sender): header fields, without replies to them
# (-H would be homed-milter with header_fields = []); -e, what it
# negotiates at decide_at = "end-of-data".
(umask 0 && exec "$NULLMILTER" -p "unix:$NULL_SOCK") </dev/null >>"$M_DIR/nullmilter.log" 2>&1 3>&- &
NULL_PID=$!
(umask 0 && exec "$NULLMILTER" -e -p "unix:$NULLE_SOCK") </dev/null >>"$M_DIR/nullmilter-eod.log" 2>&1 3>&- &
NULLE_PID=$!
(umask 0 && exec "$NULLMILTER" -n -p "unix:$NULLN_SOCK") </dev/null >>"$M_DIR/nullmilter-nomail.log" 2>&1 3>&- &
NULLN_PID=$!
wait_for 100 eval '[ -S "$HM_SOCK" ] && [ -S "$NULL_SOCK" ] && [ -S "$EOD_SOCK" ] && [ -S "$NULLE_SOCK" ] &&
    [ -S "$NULLN_SOCK" ]' || {
    sed 's/^/# /' "$M_DIR/homed-milter.log" "$M_DIR/homed-eod.log" "$M_DIR/nullmilter.log" \
        "$M_DIR/nullmilter-eod.log" "$M_DIR/nullmilter-nomail.log" >&2
    fail "the milters did not come up"
}
for _p in "$HM_PID" "$EOD_PID" "$NULL_PID" "$NULLE_PID" "$NULLN_PID"; do alive "$_p" || fail "a milter exited at once"; done

# --- Postfix -----------------------------------------------------------------------
postfix_init "" mail.example.com || fail "cannot configure Postfix"
postfix_set 'smtpd_milters =' 'milter_protocol = 6' \
    'milter_connect_timeout = 10s' 'milter_command_timeout = 10s' \
    'milter_content_timeout = 10s' 'smtpd_sender_restrictions =' \
    'smtpd_sender_login_maps =' 'smtpd_delay_open_until_valid_rcpt = yes' ||
    fail "postconf failed"
# SASL: every generated user, password pw-LOGIN, realm = myhostname.
if [ -n "$DB_LOAD" ]; then
    awk -v realm="$PF_HOSTNAME" -F '\t' \
        '{ printf "%s\\00%s\\00userPassword\n%s\n", $1, realm, $2 }' "$BASE/users.txt" |
        "$DB_LOAD" -T -t hash "$PF_CONF/sasl/sasldb2" || fail "db_load failed"
    chown root:postfix "$PF_CONF/sasl/sasldb2" && chmod 640 "$PF_CONF/sasl/sasldb2"
else
    while IFS='	' read -r _l _p _s; do
        postfix_adduser "$_l" "$_p" || fail "saslpasswd2 failed"
    done < "$BASE/users.txt"
fi
# (b): who may use a sender address, asked of LDAP through proxymap.
cat > "$PF_CONF/sender_login.cf" <<CF
server_host = $SLAPD_LDAP_URL
version = 3
bind = yes
bind_dn = cn=milter,dc=example,dc=com
bind_pw = miltersecret
search_base = ou=people,dc=example,dc=com
scope = sub
query_filter = (|(mail=%s)(mailLocalAddress=%s))
result_attribute = uid
CF
chmod 640 "$PF_CONF/sender_login.cf" && chgrp postfix "$PF_CONF/sender_login.cf"
HAVE_LDAP=1
"$POSTCONF" -c "$PF_CONF" -m 2>/dev/null | grep -qx ldap || HAVE_LDAP=0
if [ "$HAVE_LDAP" = 0 ]; then
    [ "${CI:-}" = true ] &&
        fail "Postfix has no ldap: map type: install the package postfix-ldap (needed for (b))"
    say "# Postfix has no ldap: map type (package postfix-ldap): (b) is left out"
fi
postfix_start || fail "Postfix did not start"
SPOOL=$PF_DIR/spool

CONFIGS=${HM_BENCH_CONFIGS:-a b c d e f g}
for _c in $CONFIGS; do
    case $_c in [a-g]) ;; *) fail "HM_BENCH_CONFIGS: no configuration '$_c' (a to g)" ;; esac
done
case " $CONFIGS " in *" a "*) ;; *) fail "HM_BENCH_CONFIGS must name a (the baseline)" ;; esac
[ "$HAVE_LDAP" = 1 ] || CONFIGS=$(echo " $CONFIGS " | sed 's/ b / /')
label() {
    case $1 in
    a) say "(a) Postfix alone" ;;
    b) say "(b) native login_mismatch" ;;
    c) say "(c) null milter, mail" ;;
    d) say "(d) homed-milter, mail" ;;
    e) say "(e) null milter, end-of-data" ;;
    f) say "(f) homed-milter, end-of-data" ;;
    g) say "(g) null milter, no MAIL step" ;;
    esac
}
# the milter process of a configuration ("" for none)
milter_pid() {
    case $1 in c) echo "$NULL_PID" ;; d) echo "$HM_PID" ;; e) echo "$NULLE_PID" ;; f) echo "$EOD_PID" ;; g) echo "$NULLN_PID" ;; esac
}
configure() { # CONFIG: stop Postfix, set it up for CONFIG, start it
    postfix_stop 2>/dev/null # alive() may race a vanishing pid: no noise
    case $1 in
    a) postfix_set 'smtpd_milters =' 'smtpd_sender_login_maps =' 'smtpd_sender_restrictions =' ;;
    b) postfix_set 'smtpd_milters =' \
        "smtpd_sender_login_maps = proxy:ldap:$PF_CONF/sender_login.cf" \
        'smtpd_sender_restrictions = reject_sender_login_mismatch' ;;
    c) postfix_set "smtpd_milters = unix:$(postfix_chroot_name "$NULL_SOCK")" 'smtpd_sender_login_maps =' \
        'smtpd_sender_restrictions =' ;;
    d) postfix_set "smtpd_milters = unix:$(postfix_chroot_name "$HM_SOCK")" 'smtpd_sender_login_maps =' \
        'smtpd_sender_restrictions =' ;;
    e) postfix_set "smtpd_milters = unix:$(postfix_chroot_name "$NULLE_SOCK")" 'smtpd_sender_login_maps =' \
        'smtpd_sender_restrictions =' ;;
    f) postfix_set "smtpd_milters = unix:$(postfix_chroot_name "$EOD_SOCK")" 'smtpd_sender_login_maps =' \
        'smtpd_sender_restrictions =' ;;
    g) postfix_set "smtpd_milters = unix:$(postfix_chroot_name "$NULLN_SOCK")" 'smtpd_sender_login_maps =' \
        'smtpd_sender_restrictions =' ;;
    esac || fail "postconf failed for ($1)"
    postfix_start || fail "Postfix did not start for ($1)"
}
# load OUT SMTPLOAD-ARGS...: run smtpload into OUT; its exit status
load() {
    _out=$1
    shift
    sh -c 'if [ -n "$1" ]; then echo $$ > "$1/cgroup.procs"; fi; shift; exec "$@"' \
        sh "$CG_CLIENT" "$SMTPLOAD" -p "$PF_PORT" -u "$BASE/users.txt" -c "$CONNS" -s "$BODY" -t 30 \
        -w "$SPOOL/maildrop" -w "$SPOOL/incoming" -w "$SPOOL/active" -W 120 "$@" \
        >"$_out" 2>"$_out.err"
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" "$1"; } # FILE KEY

# sanity CONFIG: a message from LASTLOGIN with someone else's address is
# refused, one with its own address accepted
sanity() {
    load "$BASE/sanity.$1" -c 1 -n 1 -o $((N_USERS - 1)) -F "$OTHER" -v
    _rej=$(field "$BASE/sanity.$1" 5xx)
    _line=$(sed -n 's/^smtpload: first 5xx reply: //p' "$BASE/sanity.$1.err")
    if [ "${_rej:-0}" = 1 ]; then
        say "# sanity $(label "$1"): $LASTLOGIN as $OTHER refused: $_line"
    else
        cat "$BASE/sanity.$1" "$BASE/sanity.$1.err" >&2
        fail "$(label "$1"): $LASTLOGIN as $OTHER was not refused"
    fi
    load "$BASE/sanity-ok.$1" -c 1 -n 1 -o $((N_USERS - 1)) -v
    [ "$(field "$BASE/sanity-ok.$1" 2xx)" = 1 ] || {
        cat "$BASE/sanity-ok.$1" "$BASE/sanity-ok.$1.err" >&2
        fail "$(label "$1"): $LASTLOGIN as itself was not accepted"
    }
}

SLAPD_PID=$(cat "$SLAPD_DIR/slapd.pid" 2>/dev/null)

if [ "$PER_SESSION" = 0 ]; then
    SESSIONS_PER_ROUND=$CONNS
else
    SESSIONS_PER_ROUND=$(((MESSAGES + PER_SESSION - 1) / PER_SESSION + CONNS))
fi
loadavg() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null; }
# Other work on the machine makes every figure noisy: say so.
_load1=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
awk -v l="$_load1" 'BEGIN { exit !(l > 1.0) }' &&
    say "# warning: the machine is busy (load average $_load1 before the start): figures are noisy"
say "# Postfix $("$POSTCONF" -c "$PF_CONF" -h mail_version), $(nproc 2>/dev/null || echo '?') CPUs" \
    "(load average $(loadavg));" \
    "$CONNS connections, $PER_SESSION messages a session, $MESSAGES messages a run," \
    "$ROUNDS rounds, $BODY-byte bodies, discard delivery"
: > "$BASE/results"
r=1
while [ "$r" -le "$ROUNDS" ]; do
    # interleave: round r starts with the (r-1)th configuration
    _order=""
    _skip=$(((r - 1) % $(echo $CONFIGS | wc -w)))
    _rest=""
    for _c in $CONFIGS; do
        if [ "$_skip" -gt 0 ]; then
            _rest="$_rest $_c"
            _skip=$((_skip - 1))
        else
            _order="$_order $_c"
        fi
    done
    _order="$_order$_rest"
    # fresh users each round, the same for every configuration in it
    _off=$((((r - 1) * SESSIONS_PER_ROUND) % N_USERS))
    _woff=$(((_off + N_USERS / 2) % N_USERS))
    for c in $_order; do
        configure "$c"
        case $r$c in 1b | 1d | 1f) sanity "$c" ;; esac
        if [ "$WARMUP" -gt 0 ]; then
            load "$BASE/warm.$r.$c" -n "$WARMUP" -k "$PER_SESSION" -o "$_woff" ||
                { cat "$BASE/warm.$r.$c" "$BASE/warm.$r.$c.err" >&2; fail "warm-up failed for ($c)"; }
        fi
        _res=$BASE/run.$r.$c
        _mpid=$(milter_pid "$c")
        _cpu0="$(bench_cputicks "$_mpid") $(bench_cputicks "$SLAPD_PID")"
        _sut0=$([ -n "$CG_SUT" ] && cg_usage "$CG_SUT" || echo 0)
        _cli0=$([ -n "$CG_SUT" ] && cg_usage "$CG_CLIENT" || echo 0)
        load "$_res" -n "$MESSAGES" -k "$PER_SESSION" -o "$_off" -v
        _rc=$?
        _cpu1="$(bench_cputicks "$_mpid") $(bench_cputicks "$SLAPD_PID")"
        _sut1=$([ -n "$CG_SUT" ] && cg_usage "$CG_SUT" || echo 0)
        _cli1=$([ -n "$CG_SUT" ] && cg_usage "$CG_CLIENT" || echo 0)
        # CPU time per message of everything but the client, and of the client
        _sut=$(awk -v a="$_sut0" -v b="$_sut1" -v n="$MESSAGES" 'BEGIN { printf "%.0f", (b - a) / 1e3 / n }')
        _cli=$(awk -v a="$_cli0" -v b="$_cli1" -v n="$MESSAGES" 'BEGIN { printf "%.0f", (b - a) / 1e3 / n }')
        # CPU time per message: the milter of this configuration, and slapd
        _cpu=$(echo "$_cpu0 $_cpu1" | awk -v hz="$HZ" -v n="$MESSAGES" '{
            printf "%.0f %.0f", ($3 - $1) * 1e6 / hz / n, ($4 - $2) * 1e6 / hz / n }')
        _ok=$(field "$_res" 2xx)
        if [ "$_rc" != 0 ] || [ "${_ok:-0}" != "$MESSAGES" ]; then
            cat "$_res" "$_res.err" >&2
            fail "round $r ($c): $_ok of $MESSAGES messages accepted (smtpload exit $_rc)"
        fi
        _def=$(find "$SPOOL/deferred" "$SPOOL/hold" -type f 2>/dev/null | wc -l)
        [ "$_def" -eq 0 ] || say "# warning: $_def messages deferred or held after round $r ($c)"
        # round config rate p50 p99 drain client_rate milter_us slapd_us sut_us client_us
        printf '%s %s %s %s %s %s %s %s %s %s\n' "$r" "$c" "$(field "$_res" rate)" \
            "$(field "$_res" p50_ms)" "$(field "$_res" p99_ms)" "$(field "$_res" drain_s)" \
            "$(field "$_res" client_rate)" "$_cpu" "$_sut" "$_cli" >> "$BASE/results"
        say "# round $r $(label "$c"): $(field "$_res" rate) msgs/s until drained" \
            "(client $(field "$_res" client_rate), drain $(field "$_res" drain_s) s)," \
            "p50 $(field "$_res" p50_ms) ms, p99 $(field "$_res" p99_ms) ms," \
            "max $(field "$_res" max_ms) ms; CPU us/msg: server $_sut (milter ${_cpu% *}," \
            "slapd ${_cpu#* }), client $_cli"
    done
    r=$((r + 1))
done
postfix_stop 2>/dev/null

# --- the table ---------------------------------------------------------------------
awk -v configs="$CONFIGS" -v strict="${HM_BENCH_STRICT:-0}" -f "$SRC/test/lib/stats.awk" -f - \
    "$BASE/results" <<'AWK'
{
    rate[$1, $2] = $3; p50[$1, $2] = $4; p99[$1, $2] = $5; mcpu[$1, $2] = $8; scpu[$1, $2] = $9
    sut[$1, $2] = $10; if ($10 > 0) havecg = 1
    if ($1 > R) R = $1
}
END {
    name["a"] = "(a) Postfix alone"; name["b"] = "(b) native sender_login_maps"
    name["c"] = "(c) null milter, mail"; name["d"] = "(d) homed-milter, mail"
    name["e"] = "(e) null milter, end-of-data"; name["f"] = "(f) homed-milter, end-of-data"
    name["g"] = "(g) null milter, no MAIL"
    nc = split(configs, C, " ")
    printf "\n%-29s %-15s %-21s %-20s %-7s %-13s %-20s %s\n", "configuration", "msgs/s",
        "ratio to (a)", "p50 ms", "p99 ms", "server us/msg", "(a) us / this us", "milter, slapd us/msg"
    for (k = 1; k <= nc; k++) {
        c = C[k]; x = q = l = h = u = v = w = e = ""
        for (r = 1; r <= R; r++) {
            x = add(x, rate[r, c]); q = add(q, rate[r, c] / rate[r, "a"]); l = add(l, p50[r, c])
            h = add(h, p99[r, c]); u = add(u, mcpu[r, c]); v = add(v, scpu[r, c])
            w = add(w, sut[r, c]); e = add(e, sut[r, c] > 0 ? sut[r, "a"] / sut[r, c] : 0)
        }
        printf "%-29s %-15s %-21s %-20s %-7.1f %-13s %-20s %4.0f, %.0f\n", name[c],
            spread(x, "%.0f", ".."), (c == "a" ? "1 (baseline)" : spread(q, "%.3f", "..")),
            spread(l, "%.2f", ".."), med(h), (havecg ? sprintf("%.0f", med(w)) : "n/a"),
            (!havecg ? "n/a" : c == "a" ? "1 (baseline)" : spread(e, "%.3f", "..")), med(u), med(v)
    }
    printf "msgs/s: accepted messages / time from the first connect until the queue drained.\n"
    printf "Cells with (min..max): the median and the range over %d rounds; ratios are taken\n", R
    printf "within a round. p99 and CPU: medians. server us/msg: CPU time of slapd, the milters\n"
    printf "and Postfix per message; (a) us / this us: the rate this configuration would reach,\n"
    printf "relative to (a), if CPU were the only limit (steadier than msgs/s on a busy machine).\n"
    missed = 0
    print ""
    if (has("f") && has("b"))
        missed += ratio("f", "b", 1.00)
    if (has("d") && has("c"))
        missed += ratio("d", "c", 0.95) + latency("d", "c")
    if (has("f") && has("e"))
        missed += ratio("f", "e", 0.95) + latency("f", "e")
    # not targets: what the MAIL step costs Postfix, and the best any milter could do
    if (has("g") && has("e"))
        compare("e", "g")
    if (has("g") && has("b"))
        compare("g", "b")
    exit strict == 1 && missed > 0
}
function has(c) { return index(" " configs " ", " " c " ") > 0 }
# compare X Y: X/Y in msgs/s and by CPU, no target
function compare(x, y,   q, e, r) {
    q = e = ""
    for (r = 1; r <= R; r++) {
        q = add(q, rate[r, x] / rate[r, y])
        e = add(e, sut[r, x] > 0 ? sut[r, y] / sut[r, x] : 0)
    }
    printf "(%s)/(%s), no target:            %-22s", x, y, spread(q, "%.3f", "..")
    if (havecg)
        printf "       (by CPU: (%s) us / (%s) us = %s)", y, x, spread(e, "%.3f", "..")
    printf "\n"
}
# ratio X Y GOAL: the target X/Y >= GOAL in msgs/s (and what CPU says); 1 if missed
function ratio(x, y, goal,   q, e, r, m) {
    q = e = ""
    for (r = 1; r <= R; r++) {
        q = add(q, rate[r, x] / rate[r, y])
        e = add(e, sut[r, x] > 0 ? sut[r, y] / sut[r, x] : 0)
    }
    m = med(q)
    printf "target (%s)/(%s) >= %.2f:          %-22s %s", x, y, goal, spread(q, "%.3f", ".."),
        (m >= goal ? "met" : "MISSED")
    if (havecg)
        printf "   (by CPU: (%s) us / (%s) us = %s)", y, x, spread(e, "%.3f", "..")
    printf "\n"
    return m < goal
}
function latency(x, y,   l, r, m) {
    l = ""
    for (r = 1; r <= R; r++)
        l = add(l, p50[r, x] - p50[r, y])
    m = med(l)
    printf "target p50(%s) - p50(%s) <= 1 ms:  %-22s %s\n", x, y, spread(l, "%+.2f", ".."),
        (m <= 1 ? "met" : "MISSED")
    return m > 1
}
AWK
STATUS=$?

# --- what the daemons said ---------------------------------------------------------
_pw=$(grep -E 'warning|error|fatal|panic' "$PF_LOG" 2>/dev/null |
    grep -v 'lost connection after CONNECT' |
    sed 's/^.*postfix\/\([a-z]*\)\[[0-9]*\]: /\1: /; s/[0-9A-F]\{8,\}/QID/g' |
    sort | uniq -c | sort -rn | head -10)
[ -n "$_pw" ] && say "" "# Postfix log, warnings and errors (count, message):" &&
    printf '%s\n' "$_pw" | sed 's/^/#   /'
stop_milters 2>/dev/null
# decision lines (reason=...) are expected, except directory errors
_hw=$(cat "$M_DIR/homed-milter.log" "$M_DIR/homed-eod.log" | grep -Ei 'error|warning|tempfail|fatal' |
    grep -v 'reason=[a-ce-z]' |
    sed 's/^[^:]*: //' | sort | uniq -c | sort -rn | head -10)
[ -n "$_hw" ] && say "" "# homed-milter log, errors and warnings (count, line):" &&
    printf '%s\n' "$_hw" | sed 's/^/#   /'
for _n in homed-milter homed-eod; do
    say "# $_n log: $(grep -c 'accept reason=owned' "$M_DIR/$_n.log") accepted," \
        "$(grep -c ' reject ' "$M_DIR/$_n.log") rejected decisions," \
        "$(grep -c 'stage=end-of-data' "$M_DIR/$_n.log") of them at end-of-data"
done
say "# took $(($(date +%s) - T0)) s; load average at the end $(loadavg)"
exit "$STATUS"

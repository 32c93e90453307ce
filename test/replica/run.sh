#!/bin/sh
# The replica layer: scaling out as the README has it, with OpenLDAP's own
# replication. A private provider (back_mdb with the syncprov overlay,
# loaded with etc/example.ldif and test/replica/replicator.ldif) and a
# syncrepl consumer (refreshAndPersist, started empty, updateref to the
# provider); the real homed-milter daemons with
#     ldap.uri = [ "ldapi://<consumer>", "ldap://127.0.0.1:<provider>" ]
# driven through the milter protocol (rawmilter.pl for single messages,
# mltload for streams). TAP output; everything is started and stopped
# here, on loopback and unix sockets only, under one temporary directory.
#
#   HM_SRCDIR=... HM_BUILDDIR=... sh test/replica/run.sh
#
# What it shows:
#   - the consumer, started empty, holds the provider's entries; a write
#     to it is referred to the provider;
#   - a mailbox moved away on the provider (janed's mailHost) is refused
#     through the consumer once replicated and cache.ttl has passed: the
#     delay is measured, printed and bounded (cache.ttl + 5 s);
#   - consumer stopped under a stream of messages: the provider answers;
#     no message lost (each gets its reply), no wrong verdict, a 4xx only
#     451 4.3.0 and only at the failover (their number and cause shown);
#   - consumer back (it catches up with a change made meanwhile), provider
#     stopped under a stream: the consumer answers, the same checks; with
#     the consumer back, lookups go back to it (the first URI) by themselves;
#   - both stopped: 451 4.3.0; with cache.stale_ttl a login seen before is
#     still decided (cache=stale in the log), its latest entry deciding.
#
# HM_KEEP=1 keeps the work directory (slapd.conf files, daemon logs,
# mltload output). HM_MLTLOAD=PATH takes mltload from elsewhere.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/test/lib/daemon.sh"
HERE=$SRC/test/replica
RAWMILTER=$SRC/test/milter/rawmilter.pl
START=$(date +%s)

TTL=2          # cache.ttl of the daemon whose delay is measured (seconds)
BOUND=5        # seconds the refusal may come later than cache.ttl
PRE=150        # decisions of a stream before its fault
POST=300       # decisions of a stream after it
CONNS=4        # mltload connections per stream
ROOT="cn=admin,$SLAPD_SUFFIX"
PEOPLE="ou=people,$SLAPD_SUFFIX"
REPLICATOR="cn=replicator,$SLAPD_SUFFIX"

for _p in "$HM" "$MLTLOAD" "$SLAPD"; do # make check builds mltload (test/faults/faults.mk)
    [ -x "$_p" ] || skip_all "$_p is not there (built, installed)"
done
for _t in ldapsearch ldapmodify perl; do
    command -v "$_t" >/dev/null 2>&1 || skip_all "$_t is not installed (ldap-utils, perl)"
done

W=$(mktemp -d "${TMPDIR:-/tmp}/hm-replica.XXXXXX") || exit 1
HM_DIR=$W
ML_PID=""

cleanup() {
    set +e
    [ -z "$ML_PID" ] || { kill -TERM "$ML_PID" 2>/dev/null; wait "$ML_PID"; }
    hm_stop
    for _s in consumer provider; do use "$_s" && slapd_stop; done
    if [ "${HM_KEEP:-}" = 1 ]; then echo "# work directory kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

# --- the two slapd ------------------------------------------------------------------
# use provider|consumer: make it the slapd that slapd.sh's functions act on
use() {
    SLAPD_DIR=$W/$1
    SLAPD_LDAPS_URL=""
    case $1 in
    provider) SLAPD_LDAPI_URL=$P_LDAPI SLAPD_LDAP_URL=$P_LDAP ;;
    consumer) SLAPD_LDAPI_URL=$C_LDAPI SLAPD_LDAP_URL=$C_LDAP ;;
    esac
}
P_LDAPI="" P_LDAP="" C_LDAPI="" C_LDAP=""
mkdir -p "$W/provider" "$W/consumer"

# The provider: syncprov, and the replication account reads everything
# (userPassword too: the consumer checks the milter's bind itself) with no
# size or time limit; slapd.sh's access rules follow for everyone else.
SLAPD_DIR=$W/provider
SLAPD_CONF_GLOBAL="moduleload syncprov"
SLAPD_CONF_DB="index entryCSN,entryUUID eq
limits dn.exact=\"$REPLICATOR\" size=unlimited time=unlimited
access to * by dn.exact=\"$REPLICATOR\" read by * break
overlay syncprov
syncprov-checkpoint 100 10
syncprov-sessionlog 100"
slapd_init "$SRC/etc/example.ldif" "$HERE/replicator.ldif" >/dev/null || skip_all "slapadd failed (provider)"
P_LDAPI=$SLAPD_LDAPI_URL P_LDAP=$SLAPD_LDAP_URL
# The consumer: empty, filled and kept current by syncrepl; writes are
# referred to the provider. Same suffix, rootdn and access rules.
SLAPD_DIR=$W/consumer
SLAPD_CONF_GLOBAL=""
SLAPD_CONF_DB="index entryCSN,entryUUID eq
syncrepl rid=001 provider=$P_LDAP type=refreshAndPersist
  bindmethod=simple binddn=\"$REPLICATOR\" credentials=replsecret
  searchbase=\"$SLAPD_SUFFIX\" retry=\"1 +\" network-timeout=2 timeout=2
updateref $P_LDAP"
slapd_init >/dev/null || skip_all "slapd_init failed (consumer)"
C_LDAPI=$SLAPD_LDAPI_URL C_LDAP=$SLAPD_LDAP_URL
use provider
slapd_start || skip_all "the provider did not start (the syncprov module installed?)"
use consumer
slapd_start || skip_all "the consumer did not start"

# dump URL: the whole directory as its rootdn reads it, user attributes
# only, one sorted line per value (entries compare whatever their order)
dump() {
    ldapsearch -x -LLL -o ldif-wrap=no -H "$1" -D "$ROOT" -w rootsecret -b "$SLAPD_SUFFIX" \
        '(objectClass=*)' '*' 2>&1 | awk '/^dn: / { dn = $0; next } NF { print dn " | " $0 }' | sort
}
# has URL DN ATTR VALUE: the server at URL shows the milter ATTR: VALUE in DN
has() {
    ldapsearch -x -LLL -o ldif-wrap=no -H "$1" -D "cn=milter,$SLAPD_SUFFIX" -w miltersecret \
        -b "$2" -s base "$3" 2>/dev/null | grep -qix "$3: $4"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# same: the consumer holds what the provider holds; SAME_DIFF: the
# difference (diff provider consumer) when it does not
same() {
    dump "$P_LDAPI" > "$W/provider.dump"
    dump "$C_LDAPI" > "$W/consumer.dump"
    SAME_DIFF=$(diff "$W/provider.dump" "$W/consumer.dump" | head -8)
    [ -z "$SAME_DIFF" ]
}
# A consumer answers while its first refresh runs, with what it has so far
# (an entry missing there would be "no-entry"): it is waited for.
_t=$(now_ms)
ok_if "the consumer, started empty, holds the provider's entries (syncrepl refresh)" wait_for 100 same
diag "the consumer's first refresh: $(($(now_ms) - _t)) ms" ${SAME_DIFF:+"$SAME_DIFF"}
_out=$(printf 'dn: uid=alice,%s\nchangetype: modify\nreplace: cn\ncn: Mallory\n' "$PEOPLE" |
    ldapmodify -x -H "$C_LDAPI" -D "$ROOT" -w rootsecret 2>&1)
like "$(printf '%s' "$_out" | tr '\n' ' ')" "Referral \\(10\\).*$P_LDAP/uid=alice," \
    "a write to the consumer is referred to the provider (updateref), not done"

# --- the daemons --------------------------------------------------------------------
URIS="ldap.uri=[ \"$C_LDAPI\", \"$P_LDAP\" ]"
hm_conf main "$URIS" cache.ttl=$TTL cache.negative_ttl=$TTL # the delay is measured on it
hm_conf direct "$URIS"                                      # no cache: every message asks
hm_conf stale "$URIS" cache.ttl=1 cache.stale_ttl=60        # decides through an outage
hm_conf qcons "ldap.uri=[ \"$C_LDAPI\" ]"                  # -q against the consumer only
NOT_UP=""
for d in main direct stale; do hm_start "$d"; done
for d in main direct stale; do hm_up "$d" || NOT_UP="$NOT_UP $d"; done
is "$NOT_UP" "" "the daemons start and listen (main direct stale)"

# mail DAEMON LOGIN SENDER: the MAIL FROM reply of one session, as
# rawmilter.pl prints it ("mail c": accepted so far; "mail y CODE ...")
mail() {
    perl "$RAWMILTER" "unix:$W/$1.sock" "M:{auth_authen}=$2" "M:v=Postfix 3.7.11" "mail:<$3>" 2>&1 |
        grep '^mail ' | tail -1
}
# message DAEMON LOGIN SENDER: a whole message, From: the sender too; the
# reply to its end ("eom c": accepted)
message() {
    perl "$RAWMILTER" "unix:$W/$1.sock" "M:{auth_authen}=$2" "M:v=Postfix 3.7.11" "mail:<$3>" \
        "hdr:From=<$3>" eom 2>&1 | tail -1
}
ACCEPT="mail c"
REFUSED="mail y 554 5.7.1 Mailbox is not local:"
TEMPFAIL="mail y 451 4.3.0 Directory unavailable, try again later"
# q LOGIN ADDRESS: homed-milter -q against the consumer alone, one line
q() { "$HM" -c "$W/qcons.conf" -q "$1" "$2" 2>&1 | tr '\n' ' '; }

# --- both up: the consumer answers ----------------------------------------------------
for d in main direct stale; do
    is "$(mail "$d" janed janed@example.com)" "$ACCEPT" "$d: janed as janed@example.com accepted"
done
is "$(mail direct janed johnd@company1.com)" "$REFUSED johnd@company1.com" \
    "direct: janed as johnd@company1.com refused"
for l in alice johnd; do mail stale "$l" "$l@example.com" >/dev/null; done # seen before
like "$(q janed janed@example.com)" "^accept entry uid=janed,.* home=mail\\.example\\.com " \
    "-q against the consumer alone: janed owns janed@example.com, homed here"

# --- a mailbox moved away on the provider ------------------------------------------
# The cache holds janed (accepted just now); the change goes to the
# provider; both the consumer (over its own ldapi) and the milter are
# polled until the consumer has it and the milter refuses janed.
is "$(mail main janed janed@example.com)" "$ACCEPT" "main: janed accepted just before the move"
T_MOVE=$(now_ms)
printf 'dn: uid=janed,%s\nchangetype: modify\nreplace: mailHost\nmailHost: mail.company1.com\n' "$PEOPLE" |
    ldapmodify -x -H "$P_LDAPI" -D "$ROOT" -w rootsecret >/dev/null 2>&1
ok_if "the provider takes the move (janed's mailHost now mail.company1.com)" \
    has "$P_LDAPI" "uid=janed,$PEOPLE" mailHost mail.company1.com
REP_MS="" REF_MS="" REPLY="" ACCEPTED=0
while [ $(($(now_ms) - T_MOVE)) -lt $(((TTL + BOUND + 5) * 1000)) ]; do
    if [ -z "$REP_MS" ] && has "$C_LDAPI" "uid=janed,$PEOPLE" mailHost mail.company1.com; then
        REP_MS=$(($(now_ms) - T_MOVE))
    fi
    if [ -z "$REF_MS" ]; then
        REPLY=$(mail main janed janed@example.com)
        case $REPLY in
        "$ACCEPT") ACCEPTED=$((ACCEPTED + 1)) ;;
        *) REF_MS=$(($(now_ms) - T_MOVE)) ;;
        esac
    fi
    [ -n "$REP_MS" ] && [ -n "$REF_MS" ] && break
    sleep 0.05
done
diag "delay: the consumer had the move after ${REP_MS:-(never)} ms;" \
    "homed-milter (cache.ttl = $TTL s) refused janed ${REF_MS:-(never)} ms after the change ($ACCEPTED accepted meanwhile)"
ok_if "the consumer has the move within 5 s (refreshAndPersist: ${REP_MS:-never} ms)" \
    [ -n "$REP_MS" ] && [ "${REP_MS:-0}" -lt 5000 ]
is "$REPLY" "$REFUSED janed@example.com" "main: janed refused 554 5.7.1 once the move is replicated"
ok_if "... within cache.ttl + $BOUND s of the change (${REF_MS:-never} ms)" \
    [ -n "$REF_MS" ] && [ "${REF_MS:-0}" -le $(((TTL + BOUND) * 1000)) ]
like "$(grep 'login=janed sender=janed@example.com reject' "$W/main.log" | tail -1)" \
    "reject reason=not-homed stage=mail\$" "main: logged as not-homed"
like "$(q janed janed@example.com)" \
    "^reject 554 5\\.7\\.1 .* home=mail\\.company1\\.com .*reason not-homed: " \
    "-q against the consumer alone: janed not homed here"
# shellcheck disable=SC2016 # eval expands it, each time
wait_for 50 eval '[ "$(mail stale janed janed@example.com)" != "$ACCEPT" ]'
is "$(mail stale janed janed@example.com)" "$REFUSED janed@example.com" \
    "stale: janed refused too once its cache.ttl (1 s) has passed"

# to_provider NAME: the daemon NAME holds a TCP connection to the provider
to_provider() {
    _tp_in=$(find "/proc/$(hm_pid "$1")/fd" -type l -exec readlink {} + 2>/dev/null |
        sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p' | tr '\n' ' ')
    awk -v peer="0100007F:$(printf '%04X' "${P_LDAP##*:}")" -v inodes=" $_tp_in" \
        '$3 == peer && $4 == "01" && index(inodes, " " $10 " ") { f = 1 } END { exit !f }' /proc/net/tcp
}
is "$(grep -c -e 'lookups now go to' -e 'stopped answering' "$W/main.log" "$W/direct.log" "$W/stale.log" |
    sed 's/.*://' | tr '\n' ' ')" "0 0 0 " "so far no failover logged"
is "$(for d in main direct stale; do to_provider $d && echo "$d"; done)" "" \
    "so far the lookups went to the consumer: no daemon holds a connection to the provider"

# --- streams ------------------------------------------------------------------------
# Owned senders (accept), and forged ones: another's address, a forged
# From:, a mailbox homed elsewhere (johnd, and janed since the move), a
# login with no entry (reject).
T='	'
cat > "$W/workload" <<EOF
alice${T}alice@example.com${T}Alice <alice@example.com>${T}accept
alice${T}janed@example.com${T}<janed@example.com>${T}reject
alice${T}a.example@example.com${T}<alice@example.org>${T}accept
alice${T}alice@example.com${T}John <JohnD@COMPANY1.com>${T}reject
scanner${T}printer@example.net${T}Printer <printer@example.net>${T}accept
johnd${T}JohnD@COMPANY1.com${T}<JohnD@COMPANY1.com>${T}reject
janed${T}jane.doe@example.com${T}<janed@example.com>${T}reject
ghost${T}ghost@example.com${T}<ghost@example.com>${T}reject
EOF

# decided NAME: the messages the daemon has decided (one line each)
decided() { grep -c 'stage=mail' "$W/$1.log"; }
val() { sed -n "s/^$2=//p" "$W/$1.out"; } # TAG KEY: a key=value line of mltload

# names: the URIs in stdin shown as "consumer" and "provider"
names() {
    awk -v c="$C_LDAPI" -v p="$P_LDAP" '{
        while ((i = index($0, c)) > 0) $0 = substr($0, 1, i - 1) "consumer" substr($0, i + length(c))
        while ((i = index($0, p)) > 0) $0 = substr($0, 1, i - 1) "provider" substr($0, i + length(p))
        print }'
}

# stream_start NAME TAG: mltload against daemon NAME in the background
# (at most 60 s), every verdict on TAG.err (-v) in the order they came
stream_start() {
    STREAM_BASE=$(decided "$1")
    STREAM_LOG=$(wc -c < "$W/$1.log")
    "$MLTLOAD" -s "unix:$W/$1.sock" -C -c "$CONNS" -n 100000000 -d 60 -t 30 -v \
        -w "$W/workload" > "$W/$2.out" 2> "$W/$2.err" 3>&- &
    ML_PID=$!
}
# stream_until NAME N: until the stream has had N more decisions (20 s)
stream_until() {
    _su_d=$1 _su_n=$(($(decided "$1") + $2))
    # shellcheck disable=SC2016 # eval expands it, each time
    wait_for 200 eval '[ "$(decided "$_su_d")" -ge "$_su_n" ]' ||
        diag "$1: the stream did not get $2 decisions further: $(tail -3 "$W/$1.log")"
}
# stream_end NAME TAG DESC: stop mltload (TERM: it finishes the messages
# in flight), then what a stream across an outage of one server must show.
# A 451 at the moment of the failover is no failure here (the client tries
# again; see the README): their number and reasons are shown.
stream_end() {
    kill -TERM "$ML_PID" 2>/dev/null
    wait "$ML_PID"
    _rc=$?
    ML_PID=""
    _msgs=$(val "$2" messages)
    _tf=$(val "$2" tempfail)
    is "$_rc" 0 "$3: no forged sender accepted, no owned sender refused (mltload -C)"
    is "$(val "$2" error)" 0 "$3: every message got its reply (none lost: no broken connection, no timeout)"
    _got=$(($(decided "$1") - STREAM_BASE))
    ok_if "$3: $_msgs messages sent (>= $((PRE + POST))), each decided once by the daemon ($_got)" \
        [ "${_msgs:-0}" -ge $((PRE + POST)) ] && [ "$_got" = "$_msgs" ]
    is "$(grep -c ': tempfail: 451 4\.3\.0 ' "$W/$2.err")" "$_tf" "$3: every tempfail was 451 4.3.0 ($_tf)"
    is "$(tail -n "$POST" "$W/$2.err" | grep -c ': tempfail')" 0 \
        "$3: the other server answers: the last $POST messages decided, not one tempfail"
    diag "$3: $_msgs messages in $(val "$2" seconds) s, slowest $(val "$2" max_ms) ms" \
        "$(sed -n '/^expected/,$p' "$W/$2.out")"
    [ "$_tf" = 0 ] || diag "$_tf tempfail(s) at the failover; the daemon said:" \
        "$(tail -c +$((STREAM_LOG + 1)) "$W/$1.log" | sed -n 's/.* tempfail reason=directory-error .* error=//p' |
            names | sort | uniq -c | sort -rn | head -4)"
}

# --- the consumer stopped: the provider answers -------------------------------------
stream_start direct consumer-down
stream_until direct $PRE
use consumer
slapd_stop
sleep 1.5 # a URI that failed is tried again once a second, by one connection
stream_until direct $POST
stream_end direct consumer-down "consumer stopped under a stream"
like "$(grep 'lookups now go to' "$W/direct.log" | tail -1)" \
    "directory: lookups now go to $P_LDAP, not $C_LDAPI\$" "direct: logged that lookups now go to the provider"
ok_if "direct: holds a connection to the provider" to_provider direct
sleep $TTL # main's cache has expired: its next lookups reach the directory
is "$(mail main janed janed@example.com) / $(mail main alice alice@example.com) / $(mail main alice johnd@company1.com)" \
    "$REFUSED janed@example.com / $ACCEPT / $REFUSED johnd@company1.com" \
    "main, consumer stopped: janed refused, alice accepted as herself and refused as johnd"

# --- the consumer back, the provider stopped: the consumer answers ------------------
# A change made while the consumer is down: it has it once back.
printf 'dn: uid=alice,%s\nchangetype: modify\nadd: mailLocalAddress\nmailLocalAddress: alice.b@example.com\n' \
    "$PEOPLE" | ldapmodify -x -H "$P_LDAPI" -D "$ROOT" -w rootsecret >/dev/null 2>&1
use consumer
slapd_start || diag "the consumer did not start again"
_t=$(now_ms)
ok_if "the consumer, back, catches up with a change made while it was down" \
    wait_for 100 has "$C_LDAPI" "uid=alice,$PEOPLE" mailLocalAddress alice.b@example.com
diag "caught up $(($(now_ms) - _t)) ms after it answered"
ok_if "... and holds the provider's entries again" wait_for 50 same
[ -z "$SAME_DIFF" ] || diag "$SAME_DIFF"
# Going back to the first URI: a connection on the provider moves back to
# the consumer when that answers again (tried once a second at most).
sleep 1.2 # the consumer's URI may be tried again (once a second)
_n=$(grep -c "lookups now go to $C_LDAPI" "$W/direct.log")
for _i in 1 2 3 4 5 6 7 8 9 10; do mail direct alice alice@example.com >/dev/null; sleep 0.2; done
ok_if "direct: with the consumer back, lookups go back to it (the first URI) while the provider is up" \
    [ "$(grep -c "lookups now go to $C_LDAPI" "$W/direct.log")" -gt "$_n" ]
# the stale daemon sees its logins again, through whichever server answers
for l in alice johnd janed; do mail stale "$l" "$l@example.com" >/dev/null; done
stream_start direct provider-down
stream_until direct $PRE
use provider
slapd_stop
sleep 1.5
stream_until direct $POST
stream_end direct provider-down "provider stopped under a stream"
like "$(grep 'lookups now go to' "$W/direct.log" | tail -1)" \
    "directory: lookups now go to $C_LDAPI, not $P_LDAP\$" "direct: logged that lookups now go to the consumer"
is "$(mail direct alice alice.b@example.com) / $(mail direct janed janed@example.com)" \
    "$ACCEPT / $REFUSED janed@example.com" \
    "direct, provider stopped: alice as alice.b@example.com (added while the consumer was down) accepted, janed refused"
sleep $TTL
is "$(mail main alice alice@example.com) / $(mail main johnd JohnD@COMPANY1.com)" \
    "$ACCEPT / $REFUSED JohnD@COMPANY1.com" "main, provider stopped: alice accepted, johnd refused"

# --- both stopped -------------------------------------------------------------------
use consumer
slapd_stop
is "$(mail direct alice alice@example.com)" "$TEMPFAIL" "direct, both stopped: 451 4.3.0 (on_directory_error tempfail)"
sleep $TTL # main's cache holds alice until then
is "$(mail main alice alice@example.com)" "$TEMPFAIL" "main, both stopped, its cache expired: 451 4.3.0"
like "$(grep 'login=alice sender=alice@example.com tempfail' "$W/main.log" | tail -1)" \
    "tempfail reason=directory-error stage=mail error=$C_LDAPI: .*; $P_LDAP: " \
    "main: the log line names both URIs' errors"
_size=$(wc -c < "$W/stale.log")
is "$(message stale alice alice@example.com)" "eom c" "stale, both stopped: alice (seen before) accepted"
is "$(mail stale johnd JohnD@COMPANY1.com)" "$REFUSED JohnD@COMPANY1.com" \
    "stale, both stopped: johnd (seen before, homed elsewhere) refused"
is "$(mail stale janed janed@example.com)" "$REFUSED janed@example.com" \
    "stale, both stopped: janed refused (her latest entry decides, not the one before the move)"
is "$(mail stale scanner printer@example.net)" "$TEMPFAIL" \
    "stale, both stopped: scanner (never seen) 451 4.3.0"
_new=$(tail -c +$((_size + 1)) "$W/stale.log")
like "$(printf '%s\n' "$_new" | grep 'login=alice ' | tail -1)" \
    "login=alice sender=alice@example\\.com accept reason=owned stage=mail .*cache=stale\$" \
    "stale: the accept is logged with cache=stale"
is "$(printf '%s\n' "$_new" | grep -c 'cache=stale')" 3 "stale: each of the three seen before logged cache=stale"

# --- the consumer back alone: answers again -----------------------------------------
use consumer
slapd_start || diag "the consumer did not start again"
# shellcheck disable=SC2016 # eval expands it, each time
ok_if "direct: the consumer back, alice accepted again within 3 s (the provider still down)" \
    wait_for 30 eval '[ "$(mail direct alice alice@example.com)" = "$ACCEPT" ]'

# --- the daemons end cleanly ------------------------------------------------------------
hm_stop
is "$(hm_rc main) $(hm_rc direct) $(hm_rc stale)" "0 0 0" "the daemons exit 0 on TERM"
_bad=$(grep -h -i -e 'AddressSanitizer' -e 'runtime error' -e 'LeakSanitizer' "$W"/*.log | head -3)
is "$_bad" "" "no sanitizer report in the daemons' logs"
diag "run time: $(($(date +%s) - START)) s"
done_testing

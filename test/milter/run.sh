#!/bin/sh
# The milter layer: the real homed-milter daemon against a private slapd
# (etc/example.ldif + test/milter/extra.ldif and delegation.ldif), driven
# by miltertest Lua scripts and, for what miltertest cannot send or see,
# rawmilter.pl. TAP output; everything is started and stopped here.
#
#   HM_SRCDIR=... HM_BUILDDIR=... sh test/milter/run.sh
#   HM_DAEMON_WRAPPER="valgrind --error-exitcode=42 --leak-check=full
#       --errors-for-leak-kinds=definite -q" sh test/milter/run.sh
#
# With HM_DAEMON_WRAPPER every daemon runs under it; the last test then
# also asserts that the wrapper reported nothing. HM_KEEP=1 keeps the work
# directory (configurations, daemon logs) for a look afterwards.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/test/lib/tap.sh"
. "$SRC/test/lib/daemon.sh"
HERE=$SRC/test/milter
WRAPPER=${HM_DAEMON_WRAPPER:-}

[ -x "$HM" ] || skip_all "homed-milter is not built"
command -v miltertest >/dev/null 2>&1 || skip_all "miltertest is not installed"
[ -x "$SLAPD" ] || skip_all "slapd is not installed"
command -v ldapsearch >/dev/null 2>&1 || skip_all "ldapsearch (ldap-utils) is not installed"
command -v perl >/dev/null 2>&1 || skip_all "perl is not installed"

W=$(mktemp -d "${TMPDIR:-/tmp}/hm-milter.XXXXXX") || exit 1
HM_DIR=$W
SLAPD_DIR=$W/slapd
PATIENCE=$HM_PATIENCE # longer under valgrind
if [ -n "$WRAPPER" ]; then MT_TIMEOUT=60; else MT_TIMEOUT=15; fi

cleanup() {
    set +e
    hm_stop
    slapd_stop
    if [ "${HM_KEEP:-}" = 1 ]; then echo "# work directory kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

mkdir -p "$SLAPD_DIR"
slapd_init "$SRC/etc/example.ldif" "$HERE/extra.ldif" "$HERE/delegation.ldif" >/dev/null || skip_all "slapadd failed"
slapd_start || skip_all "slapd did not start"

# conf NAME [KEY=VALUE]...: the daemon NAME, with a reject_text a reload can change
conf() { hm_conf "$@" 'policy.reject_text="Mailbox is not local: %s"'; }
conf main
conf unauth 'policy.unauthenticated="reject"'
conf report 'policy.mode="report"'
conf erraccept 'policy.on_directory_error="accept"'
conf errreject 'policy.on_directory_error="reject"'
conf noheaders 'policy.header_fields=[]'
conf hup
conf names 'policy.display_names="ignore"'
conf plus 'policy.extension_delimiter="+"'
conf reportbare 'policy.mode="report"' 'policy.header_fields=[]'
# the 8-bit rule's (eight.lua); "main" has every 8-bit rule off
EIGHT_DOMAINS='eight_bit.seven_bit_only_domains=[ "domino.example.com", "lotus.example.net" ]'
conf eight_domains "$EIGHT_DOMAINS"
conf eight_undeclared 'eight_bit.undeclared="reject"'
conf eight_seven 'eight_bit.seven_bit_only=true'
conf eight_all 'eight_bit.undeclared="reject"' 'eight_bit.seven_bit_only=true' "$EIGHT_DOMAINS"
conf eight_report 'policy.mode="report"' 'eight_bit.undeclared="reject"' "$EIGHT_DOMAINS"
conf eight_report7 'policy.mode="report"' 'eight_bit.seven_bit_only=true'
conf eight_bare 'policy.header_fields=[]' 'eight_bit.seven_bit_only=true'
# send as, on behalf, device accounts, IDNA, trusted logins (delegation.lua)
SEND_AS='ldap.delegation_filter="(&(|(mail=%s)(mailLocalAddress=%s))(seeAlso=%D))"'
ON_BEHALF='ldap.on_behalf_filter="(&(mail=%s)(secretary=%D))"'
TRUSTED='policy.trusted_logins=[ "lists" ]'
DEBUG='log_level="debug"' # an accepted header address is logged at debug only
conf deleg "$SEND_AS" "$ON_BEHALF" "$TRUSTED" "$DEBUG"
conf deleg_report "$SEND_AS" "$ON_BEHALF" "$TRUSTED" "$DEBUG" 'policy.mode="report"'
conf deleg_cache "$SEND_AS" "$ON_BEHALF" "$TRUSTED" "$DEBUG" cache.ttl=3600 cache.negative_ttl=3600

# --- start the daemons -------------------------------------------------------------
DAEMONS="main unauth report erraccept errreject noheaders hup names plus reportbare"
DAEMONS="$DAEMONS eight_domains eight_undeclared eight_seven eight_all eight_report eight_report7 eight_bare"
DAEMONS="$DAEMONS deleg deleg_report deleg_cache"
# The decision table again with policy.decide_at = "end-of-data"
# (decisions.lua with -D eod=1 talks to NAME_eod): a twin of each daemon it
# uses outside the HUP phases.
EOD='policy.decide_at="end-of-data"'
conf main_eod "$EOD"
conf unauth_eod "$EOD" 'policy.unauthenticated="reject"'
conf report_eod "$EOD" 'policy.mode="report"'
conf erraccept_eod "$EOD" 'policy.on_directory_error="accept"'
conf errreject_eod "$EOD" 'policy.on_directory_error="reject"'
conf noheaders_eod "$EOD" 'policy.header_fields=[]'
# eod.lua's own
conf eight_undeclared_eod "$EOD" 'eight_bit.undeclared="reject"'
DAEMONS="$DAEMONS main_eod unauth_eod report_eod erraccept_eod errreject_eod noheaders_eod"
DAEMONS="$DAEMONS eight_undeclared_eod"
NOT_UP=""
for d in $DAEMONS; do hm_start "$d"; done
for d in $DAEMONS; do hm_up "$d" || NOT_UP="$NOT_UP $d"; done
is "$NOT_UP" "" "the daemons start and listen ($DAEMONS)"

# lua SCRIPT PHASE [-D ...]: run the cases of PHASE, one test point each
lua() {
    _script=$1
    _phase=$2
    shift 2
    miltertest -D lib="$HERE" -D dir="$W" -D phase="$_phase" -D mt_timeout="$MT_TIMEOUT" "$@" \
        -s "$HERE/$_script" > "$W/lua.out" 2> "$W/lua.err"
    _rc=$?
    while IFS= read -r _line; do
        case $_line in
        "ok "*) tap_result 0 "${_line#ok }" ;;
        "not ok "*)
            _name=${_line#not ok }
            tap_result 1 "$_name"
            diag "$(awk -v n="FAIL: $_name: " 'index($0, n) == 1 { p = 1; print; next }
                /^FAIL: / { p = 0 } p' "$W/lua.err" | head -40)"
            ;;
        esac
    done < "$W/lua.out"
    if ! grep -q '^done ' "$W/lua.out"; then
        tap_result 1 "$_script phase $_phase ran to its end (miltertest exit $_rc)"
        diag "$(cat "$W/lua.out" "$W/lua.err")" \
            "(miltertest prints nothing for a Lua syntax error: check with luac -p)"
    fi
}

# raw DAEMON STEP...: one rawmilter.pl session; RAW is its output
raw() {
    _d=$1
    shift
    RAW=$(perl "$HERE/rawmilter.pl" "unix:$W/$_d.sock" "$@" 2>&1)
}
# last line of RAW for a step
raw_step() { printf '%s\n' "$RAW" | grep "^$1 " | tail -1; }
JANED="M:{auth_authen}=janed"
POSTFIX="M:v=Postfix 3.7.11"

# --- the counter line (homed-milter(8), LOGGING; SIGNALS) ---------------------------
# A daemon of its own, so that every message it saw is one sent here: two
# accepted (one owned, one unauthenticated), two rejected for not-owned
# (at MAIL FROM and at end of DATA), one for no-entry; three lookups, the
# cache off. SIGUSR2 logs the line at once; stats_interval = 1 logs it
# again by itself.
conf stats 'stats_interval=1' 'cache.ttl=0' 'cache.negative_ttl=0'
hm_run stats || diag "the stats daemon did not start"
raw stats "$JANED" "$POSTFIX" 'mail:<janed@example.com>' 'hdr:From=janed@example.com' eom
raw stats "$POSTFIX" 'mail:<anyone@example.org>'
raw stats "$JANED" "$POSTFIX" 'mail:<johnd@company1.com>'
raw stats "$JANED" "$POSTFIX" 'mail:<janed@example.com>' 'hdr:From=johnd@company1.com' eom
raw stats 'M:{auth_authen}=ghost' "$POSTFIX" 'mail:<ghost@example.com>'
kill -USR2 "$(hm_pid stats)"
wait_for 50 grep -q 'stats: messages=5 ' "$W/stats.log"
like "$(grep 'stats: messages=5 ' "$W/stats.log" | head -1)" \
    ": stats: messages=5 accepts=2 rejects=3 \\(no-entry=1 not-owned=2\\) tempfails=0 cache_hits=0 cache_misses=4 lookups=4 directory_errors=0 lookup_p50_ms=[0-9.]+ lookup_p99_ms=[0-9.]+\$" \
    "SIGUSR2: the counter line adds up to the messages sent, rejects by reason"
_n=$(grep -c ': stats: ' "$W/stats.log")
ok_if "stats_interval = 1: the counter line comes again by itself" \
    wait_for 40 sh -c "[ \$(grep -c ': stats: ' '$W/stats.log') -gt $_n ]"
hm_stop stats

# --- slapd up: the decision table and the sessions ----------------------------------
lua decisions.lua up
lua decisions.lua up -D eod=1
lua eod.lua up -D eod=1
lua sessions.lua up
lua shown.lua up
lua eight.lua up
lua delegation.lua up
# An on-behalf From: stands only with a Sender: the login owns: without
# "Sender" in header_fields the daemon refuses to start (exit 78, an
# invalid configuration: homed-milter(8)).
hm_conf deleg_nosender "$ON_BEHALF" 'policy.header_fields=[ "From" ]'
hm_start deleg_nosender
wait_for "$PATIENCE" eval '! hm_alive deleg_nosender'
hm_stop deleg_nosender
like "exit $(hm_rc deleg_nosender): $(grep -F on_behalf_filter "$W/deleg_nosender.log" | head -1)" \
    "^exit 78: .*deleg_nosender\\.conf:[0-9]+: ldap\\.on_behalf_filter needs \"Sender\" in policy\\.header_fields" \
    "on_behalf_filter without Sender in header_fields: the daemon refuses to start (78), naming both"
# -q and the milter agree over the policy table; several home values (own daemons)
. "$HERE/agree.sh"

line=$(grep -F 'NOQUEUE: login=janed sender=johnd@company1.com reject' "$W/main.log" | head -1)
is "$line" "homed-milter: warning: NOQUEUE: login=janed sender=johnd@company1.com reject reason=not-owned stage=mail" \
    "log line of a MAIL FROM reject, as homed-milter(8) LOGGING and the README's \"Log lines\" show it"

# --- what miltertest cannot see or send: rawmilter.pl -------------------------------
raw main "$JANED" "$POSTFIX" 'mail:<JohnD@Company1.COM>'
is "$(raw_step mail)" "mail y 554 5.7.1 Mailbox is not local: JohnD@Company1.COM" \
    "MAIL FROM reject: the reply names the sender as written, without brackets"
raw main 'M:{auth_authen}=nobody' "$POSTFIX" 'mail:<nobody@example.com>'
is "$(raw_step mail)" "mail y 554 5.7.1 Mailbox is not local: nobody@example.com" \
    "login with no entry: 554 5.7.1 at MAIL FROM"
raw main 'M:{auth_authen}=johnd' "$POSTFIX" 'mail:<JohnD@COMPANY1.com>'
is "$(raw_step mail)" "mail y 554 5.7.1 Mailbox is not local: JohnD@COMPANY1.com" \
    "entry homed elsewhere: 554 5.7.1 at MAIL FROM"
raw main 'M:{auth_authen}=twin' "$POSTFIX" 'mail:<twin@example.com>'
like "$(raw_step mail)" "^mail y 451 4\.3\.0 " "login matching two entries: 451 4.3.0 at MAIL FROM"
raw unauth "$POSTFIX" 'mail:<janed@example.com>'
like "$(raw_step mail)" "^mail y 554 5\.7\.1 " "unauthenticated = reject: 554 5.7.1 at MAIL FROM"

# An MTA that offers neither SMFIP_NOCONNECT nor SMFIP_NR_HDR (an older
# Sendmail offers SMFIP_NOHELO|NORCPT|NOBODY|NOEOH at most) still gets an
# answer to every step it sends, and the same verdicts.
raw main offer:0x5a "$JANED" "$POSTFIX" 'mail:<janed@example.com>' \
    'hdr:From=janed@example.com' 'hdr:Subject=old MTA' eom
is "$(printf '%s\n' "$RAW" | tr '\n' ' ')" \
    "negotiated 0x5a connect c mail c hdr c hdr c eom c " \
    "an MTA offering no NOCONNECT nor NR_HDR: every step answered, owner accepted"
raw main offer:0x5a "$JANED" "$POSTFIX" 'mail:<janed@example.com>' \
    'hdr:From=johnd@company1.com' eom
is "$(raw_step eom)" "eom y 554 5.7.1 Mailbox is not local: johnd@company1.com" \
    "an MTA offering no NR_HDR: a forged From: still rejected at end of DATA"
raw main "$JANED" "$POSTFIX" 'mail:<janed@example.com>' 'hdr:From=janed@example.com' eom
is "$(printf '%s\n' "$RAW" | tr '\n' ' ')" "negotiated 0x3db mail c eom c " \
    "a modern MTA: connect, HELO, RCPT, DATA, EOH, body, unknown declined; no header replies"

# The 8-bit rule (eight.lua sends its messages): the protocol steps
# negotiated, to the bit. Every rule off: 0x3db above; header_fields = []
# (enforce) takes NOHDRS 0x20 for NR_HDR 0x80. A rule on takes the body
# (no NOBODY 0x10) with SKIP 0x400 and the headers; 7-bit-only domains take
# RCPT (no NORCPT 0x08) with NR_RCPT 0x8000.
raw noheaders
is "$(raw_step negotiated)" "negotiated 0x37b" "8-bit rules off, header_fields = []: body, RCPT and headers negotiated away"
raw eight_undeclared
is "$(raw_step negotiated)" "negotiated 0x7cb" "undeclared = reject: body with SKIP, headers with no reply; RCPT away"
raw eight_bare
is "$(raw_step negotiated)" "negotiated 0x7cb" "seven_bit_only, header_fields = []: the headers taken all the same"
raw eight_domains
is "$(raw_step negotiated)" "negotiated 0x87c3" "7-bit-only domains: RCPT taken with no reply (NR_RCPT), body with SKIP"
raw eight_domains offer:0x1f7bff
is "$(raw_step negotiated)" "negotiated 0x3c3" "7-bit-only domains, an MTA offering neither SKIP nor NR_RCPT: RCPT taken with a reply"
raw eight_undeclared offer:0x5a "$POSTFIX" 'mail:<anna@example.org>' 'hdr:From=anna@example.org' \
    'hdr:Subject=caf%C3%A9' eom
is "$(printf '%s\n' "$RAW" | tr '\n' ' ')" \
    "negotiated 0x4a connect c mail c hdr c hdr c eom y 554 5.6.1 Undeclared 8-bit data (BODY=8BITMIME missing) " \
    "undeclared = reject, an MTA offering no NOCONNECT nor NR_HDR: every step answered, 554 5.6.1"
raw eight_undeclared "$POSTFIX" 'mail:<anna@example.org>%00SIZE=99%00BODY=8BITMIME' \
    'hdr:Subject=caf%C3%A9' eom
is "$(printf '%s\n' "$RAW" | tr '\n' ' ')" "negotiated 0x7cb mail c eom c " \
    "undeclared = reject: BODY=8BITMIME as the MTA passes it (after the sender, NUL-separated): accepted, nothing changed"
# (rawmilter.pl sends no RCPT: libmilter takes no header before it where
# RCPT was negotiated, so not to the daemons of 7-bit-only domains)
raw eight_report7 "$POSTFIX" 'mail:<>' 'hdr:Subject=caf%C3%A9' eom
is "$(printf '%s\n' "$RAW" | grep '^eom ' | tr '\n' ' ')" \
    "eom h X-Homed-Milter|reject reason=7bit-only address=<> eom c " \
    "report mode, seven_bit_only, 8-bit from the null sender: only the report header added, accepted"

# Big header fields. miltertest's mt.header copies into a 1 KB stack buffer
# (longer values smash its stack), so these go through rawmilter.pl.
# Postfix passes header fields of up to header_size_limit (102400 bytes).
raw main "$JANED" "$POSTFIX" 'mail:<janed@example.com>' 'big:From=102400::johnd@company1.com' eom
is "$(printf '%s\n' "$RAW" | tail -1)" "eom y 554 5.7.1 Mailbox is not local: johnd@company1.com" \
    "a 100 KB From: (Postfix's header_size_limit): a definite 554 naming the address"
raw main "$JANED" "$POSTFIX" 'mail:<janed@example.com>' 'big:From=1000000::johnd@company1.com' eom
is "$(printf '%s\n' "$RAW" | tail -1)" "eom y 554 5.7.1 Mailbox is not local: johnd@company1.com" \
    "a 1 MB From: a definite 554 naming the address"
raw main "$JANED" "$POSTFIX" 'mail:<janed@example.com>' 'big:From=1000000:janed@example.com:' eom
is "$(printf '%s\n' "$RAW" | tail -1)" "eom c" "a 1 MB From: holding an owned address: accepted"
raw main "$JANED" "$POSTFIX" 'mail:<janed@example.com>' 'big:Subject=3000000::x' eom
raw main "$JANED" "$POSTFIX" 'mail:<janed@example.com>' 'hdr:From=janed@example.com' eom
is "$(printf '%s\n' "$RAW" | tail -1)" "eom c" \
    "a 3 MB header field (more than libmilter takes): the daemon keeps serving"
# NUL bytes: milter protocol strings end at a NUL, so the milter sees the
# part before it (an MTA hands over the same); it must decide on that.
raw main "$JANED" "$POSTFIX" 'mail:<janed@example.com>' 'hdr:From=johnd@company1.com%00janed@example.com' eom
is "$(printf '%s\n' "$RAW" | tail -1)" "eom y 554 5.7.1 Mailbox is not local: johnd@company1.com" \
    "a NUL byte in From: the part before it is decided on (554)"
raw main "$JANED" "$POSTFIX" 'mail:<johnd@company1.com>%00<janed@example.com>'
is "$(raw_step mail)" "mail y 554 5.7.1 Mailbox is not local: johnd@company1.com" \
    "a NUL byte in MAIL FROM: the part before it is decided on (554)"

# A queue id is the MTA's: one with a newline, or a very long one, cannot
# split or flood a log line (the line is written as it is built, the id
# cleaned on a copy).
raw main "$JANED" "$POSTFIX" 'M:i=AB%0ACD' 'mail:<johnd@company1.com>'
ok_if "a queue id with a newline: logged on one line, the newline shown as '?'" \
    grep -q '^homed-milter: warning: AB?CD: login=janed sender=johnd@company1.com reject ' "$W/main.log"
raw main "$JANED" "$POSTFIX" "M:i=$(printf '%0100d' 7)" 'mail:<johnd@company1.com>'
ok_if "a queue id of 100 characters: cut at 64" \
    grep -q "^homed-milter: warning: $(printf '%064d' 0): login=janed sender=johnd@company1.com reject " "$W/main.log"

# Report mode: every copy of the report header the client sent is deleted,
# from the last to the first (an MTA counts the copies of a name from 1,
# whatever their case), before the milter adds its own.
raw report "$JANED" "$POSTFIX" 'mail:<janed@example.com>' 'hdr:X-Homed-Milter=accept reason=owned' \
    'hdr:From=alice@example.com' 'hdr:x-homed-milter=accept' 'hdr:X-HOMED-MILTER=' eom
is "$(printf '%s\n' "$RAW" | grep '^eom ' | tr '\n' ' ')" \
    "eom m 3 X-Homed-Milter| eom m 2 X-Homed-Milter| eom m 1 X-Homed-Milter| eom h X-Homed-Milter|reject reason=not-owned address=alice@example.com eom c " \
    "report mode: three client copies deleted, last first, then the milter's own added"
raw report "$JANED" "$POSTFIX" 'mail:<janed@example.com>' 'hdr:X-Homed-Milter=reject' \
    'hdr:From=janed@example.com <janed@example.com>' 'hdr:X-Homed-Milter=reject' eom
is "$(printf '%s\n' "$RAW" | grep '^eom ' | tr '\n' ' ')" \
    "eom m 2 X-Homed-Milter| eom m 1 X-Homed-Milter| eom c " \
    "report mode, owner: both client copies deleted, nothing added"
raw main "$JANED" "$POSTFIX" 'mail:<janed@example.com>' 'hdr:X-Homed-Milter=accept' \
    'hdr:From=alice@example.com' eom
is "$(printf '%s\n' "$RAW" | grep '^eom ' | tr '\n' ' ')" \
    "eom y 554 5.7.1 Mailbox is not local: alice@example.com " \
    "enforce mode: the reject comes with no header change"

# --- HUP ------------------------------------------------------------------------------
# wait_log DAEMON PATTERN COUNT: until the log has COUNT lines matching PATTERN
wait_log() {
    _wl_log=$W/$1.log _wl_pattern=$2 _wl_count=$3
    wait_for "$PATIENCE" eval '[ "$(grep -c -- "$_wl_pattern" "$_wl_log")" -ge "$_wl_count" ]'
}
HUP_PID=$(hm_pid hup)
lua decisions.lua hup1

# A syntax error, then a value the checker refuses: both refused, old config kept.
cp "$W/hup.conf" "$W/hup.good"
printf 'policy = {\n  reject_text = "Broken: %%s";\n  mode = report;\n};\n' > "$W/hup.conf"
kill -HUP "$HUP_PID"
wait_log hup 'reload refused' 1
line=$(grep 'reload refused' "$W/hup.log" | tail -1)
like "$line" "^homed-milter: error: reload refused, the old configuration stays: $W/hup\.conf:[0-9]+: " \
    "HUP with a syntax error: 'reload refused' logged with FILE:LINE"
sed 's/reject_text = .*/reject_text = "Broken: %s"; mode = "sometimes";/' "$W/hup.good" > "$W/hup.conf"
kill -HUP "$HUP_PID"
wait_log hup 'reload refused' 2
line=$(grep 'reload refused' "$W/hup.log" | tail -1)
like "$line" "^homed-milter: error: reload refused, the old configuration stays: $W/hup\.conf:[0-9]+: .*mode" \
    "HUP with an invalid value: 'reload refused' logged with FILE:LINE"
lua decisions.lua hup2

# The good new file (another reject_text) is put in force from inside the
# Lua script, between messages of open connections.
cat > "$W/reload-good.sh" <<SH
n=\$(grep -c 'reloaded' "$W/hup.log")
sed 's/reject_text = .*/reject_text = "Not your mailbox: %s";/' "$W/hup.good" > "$W/hup.conf"
kill -HUP $HUP_PID
i=0
while [ "\$(grep -c 'reloaded' "$W/hup.log")" -le "\$n" ]; do
    i=\$((i + 1)); [ \$i -gt $PATIENCE ] && exit 1
    sleep 0.1
done
SH
lua sessions.lua hup3 -D reload="sh $W/reload-good.sh"
like "$(grep 'reloaded' "$W/hup.log" | tail -1)" "^homed-milter: info: reloaded $W/hup\.conf\$" \
    "HUP with a good file: 'reloaded' logged"

# --- slapd stopped, then started again ---------------------------------------------------
slapd_stop
lua decisions.lua down
lua decisions.lua down -D eod=1
lua eight.lua down
lua delegation.lua down
raw main "$JANED" "$POSTFIX" 'mail:<janed@example.com>'
is "$(raw_step mail)" "mail y 451 4.3.0 Directory unavailable, try again later" \
    "slapd stopped: 451 4.3.0 at MAIL FROM"
raw errreject "$JANED" "$POSTFIX" 'mail:<janed@example.com>'
is "$(raw_step mail)" "mail y 554 5.7.1 Mailbox is not local: janed@example.com" \
    "slapd stopped, on_directory_error = reject: 554 5.7.1 at MAIL FROM"
slapd_start || diag "slapd did not start again"
# A URI that did not answer is tried again once a second, by one connection.
sleep 1.1
lua decisions.lua back
lua decisions.lua back -D eod=1

# --- a second instance on the socket of a running one -------------------------------------
# Only a stale socket may be removed: a second start (a typo, a second unit)
# must not take the socket away from the running daemon.
cp "$W/main.conf" "$W/second.conf" # main's socket
hm_start second env # not under the wrapper
wait_for "$PATIENCE" eval '! hm_alive second || grep -q "started, listening" "$W/second.log"'
raw main "$JANED" "$POSTFIX" 'M:i=SECOND0001' 'mail:<janed@example.com>' 'hdr:From=janed@example.com' eom
if grep -q 'SECOND0001: ' "$W/main.log"; then answered=first
elif grep -q 'SECOND0001: ' "$W/second.log"; then answered=second
else answered=nobody; fi
if hm_alive second; then
    second=running   # stopped with the others below
else
    hm_stop second
    second="exit $(hm_rc second)"
fi
like "$answered, second instance: $second" "^first, second instance: exit [1-9]" \
    "a second instance on a live socket: the first keeps it, the second exits non-zero"

# --- stop: TERM, exit 0, nothing from the wrapper -------------------------------------------
# What valgrind reports as errors (with -q and --leak-check=full it also
# lists "possibly lost" blocks, such as libmilter's never-joined threads:
# those are not errors, and --error-exitcode ignores them too).
# A daemon built with ASan+UBSan writes its reports to the same log.
VALGRIND_ERRORS='^==[0-9]+== (Invalid |Conditional jump|Use of uninitialised|Syscall param|Mismatched free|Source and destination overlap|Argument .* of function|Process terminating|.* are definitely lost)|^==[0-9]+==ERROR: (Address|Leak)Sanitizer|runtime error: '
hm_stop
BAD=""
for d in $DAEMONS; do
    rc=$(hm_rc "$d")
    if grep -Eq "$VALGRIND_ERRORS" "$W/$d.log"; then
        BAD="$BAD $d"
        # the whole report once; for the other daemons only its first lines
        if [ "$BAD" = " $d" ]; then n=80; else n=3; fi
        diag "daemon $d: exit status $rc; the wrapper reported:" \
            "$(awk -v re="$VALGRIND_ERRORS" '$0 ~ re { p = 1 } p { print } /^==[0-9]+== $/ { p = 0 }' \
                "$W/$d.log" | head -$n)"
    elif [ "$rc" != 0 ]; then
        BAD="$BAD $d"
        diag "daemon $d: exit status $rc; the end of its log:" "$(tail -20 "$W/$d.log")"
    fi
done
if [ -n "$WRAPPER" ]; then
    is "$BAD" "" "TERM stops every daemon with exit 0, and '$WRAPPER' reported nothing"
else
    is "$BAD" "" "TERM stops every daemon with exit 0, and no sanitizer reported anything"
fi

done_testing

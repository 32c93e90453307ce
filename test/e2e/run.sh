#!/bin/sh
# End to end: the real homed-milter between a private slapd (etc/example.ldif
# + test/e2e/e2e.ldif) and a private Postfix with SMTP AUTH, then a private
# Sendmail; swaks is the client and every assertion is about what it saw
# (the exact reply line at the exact SMTP stage) or about what reached the
# sink (Postfix's smtp-sink, which both MTAs deliver to). TAP output.
#
# Postfix runs as Debian runs it: Debian's stock master.cf, smtpd chrooted
# in the queue directory (lib-postfix.sh). The milter's socket is where the
# README tells a Debian admin to put it, in the queue directory
# (PF_DIR/spool/homed-milter/homed-milter.sock), and smtpd_milters names it
# relative to the chroot (unix:/homed-milter/homed-milter.sock). The layer
# checks that smtpd really is chrooted, and that a socket named outside
# the chroot gets a client 451 4.7.1 (the failure a stock Debian showed).
# Sendmail, which is not chrooted, names the same socket by its full path.
#
# Needs root (Postfix, and Sendmail's private /etc/hosts via unshare -m).
# Everything binds to 127.0.0.1 or to unix sockets under one temporary
# directory, and is stopped at exit. SENDMAIL_DEBS=DIR takes the Sendmail
# packages (sendmail-bin_*.deb, sendmail-cf_*.deb) from DIR instead of
# apt-get download. E2E_KEEP=1 keeps the directory for a look afterwards.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/test/lib/daemon.sh"
E2E=$SRC/test/e2e
. "$E2E/lib-milter.sh"
. "$E2E/lib-postfix.sh"
. "$E2E/lib-sendmail.sh"
. "$E2E/clients.sh"
T0=$(date +%s)

[ -x "$HM" ] || skip_all "homed-milter is not built"
[ "$(id -u)" = 0 ] || skip_all "needs root (a private Postfix)"
for _tool in "$SLAPD" "$POSTFIX" "$SWAKS" "$SASLPASSWD2" "$SMTP_SINK"; do
    [ -x "$_tool" ] || skip_all "$_tool is not installed"
done

BASE=$(mktemp -d "${TMPDIR:-/tmp}/hm-e2e.XXXXXX")
chmod 755 "$BASE" # Postfix's daemons (user postfix) must reach the milter socket
SLAPD_DIR=$BASE/slapd
MILTER_DIR=$BASE/milter
PF_DIR=$BASE/postfix
SM_DIR=$BASE/sendmail
mkdir -p "$SLAPD_DIR" "$MILTER_DIR" "$PF_DIR" "$SM_DIR"
cleanup() {
    milter_term
    sendmail_stop
    postfix_stop
    postfix_sink_stop
    slapd_stop
    milter_stop
    if [ "${E2E_KEEP:-}" = 1 ]; then echo "# kept $BASE"; else rm -rf "$BASE"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

slapd_init "$SRC/etc/example.ldif" "$E2E/e2e.ldif" >/dev/null || skip_all "slapadd failed"
slapd_start || skip_all "slapd did not start"
# The socket in Postfix's queue directory, as on Debian.
postfix_milter_dir || skip_all "cannot create the socket's directory in Postfix's queue directory"
# shellcheck disable=SC2034 # read by milter_conf (lib-milter.sh)
MILTER_SOCKET_DIR=$PF_MILTER_DIR
# No cache: the outage cases below must reach the directory.
milter_conf accept cache.ttl=0 cache.negative_ttl=0
milter_start || {
    echo "Bail out! homed-milter did not start"
    exit 1
}
PF_MILTER=unix:$(postfix_chroot_name "$MILTER_SOCKET_PATH") # unix:/homed-milter/homed-milter.sock
postfix_init "$PF_MILTER" mail.example.com || skip_all "cannot configure Postfix"
DELEGATION_USERS="alice scanner buecher lists" # the logins of delegation() below
for _u in janed johnd ghost ops+2Bbot $DELEGATION_USERS; do
    postfix_adduser "$_u" "pw-$_u" || skip_all "saslpasswd2 failed"
done
postfix_sink_start || skip_all "smtp-sink did not start"
# 127.0.0.1 is one of Postfix's inet_interfaces: on PF_PORT the addresses
# in the header are rewritten (local_header_rewrite_clients) before the
# milter sees them. A second smtpd serves 127.0.0.1 as Postfix serves a
# client on another host: the header reaches the milter, and the
# recipient, as the client wrote it.
PF_REMOTE_PORT=$(free_port)
while [ "$PF_REMOTE_PORT" = "$PF_PORT" ] || [ "$PF_REMOTE_PORT" = "$PF_SINK_PORT" ]; do
    PF_REMOTE_PORT=$(free_port)
done
postfix_listen "$PF_REMOTE_PORT" -o local_header_rewrite_clients= ||
    skip_all "cannot configure Postfix"
# A third smtpd names the milter's socket by its path on the host, as
# /etc/postfix/main.cf did before Debian's chroot was taken into account:
# chrooted, it cannot see it.
PF_OUTSIDE_PORT=$(free_port)
while [ "$PF_OUTSIDE_PORT" = "$PF_PORT" ] || [ "$PF_OUTSIDE_PORT" = "$PF_SINK_PORT" ] ||
    [ "$PF_OUTSIDE_PORT" = "$PF_REMOTE_PORT" ]; do
    PF_OUTSIDE_PORT=$(free_port)
done
postfix_listen "$PF_OUTSIDE_PORT" -o "smtpd_milters=$MILTER_SOCKET" ||
    skip_all "cannot configure Postfix"
postfix_start || skip_all "Postfix did not start"
wait_for 100 port_open "$PF_REMOTE_PORT" || skip_all "Postfix's second smtpd did not start"
wait_for 100 port_open "$PF_OUTSIDE_PORT" || skip_all "Postfix's third smtpd did not start"

# --- helpers ------------------------------------------------------------------
ACCEPTED=0 # messages that must have reached the sink
: > "$BASE/refused" # subjects of messages that must never reach it

# send NAME LOGIN SWAKS-ARGS...: one message to $SERVER with a unique
# Subject, authenticated as LOGIN (PLAIN; LOGIN for johnd), or not with "-"
send() {
    log_mark
    SUBJECT="e2e $1 $$"
    OUT=$MILTER_DIR/$1.swaks
    _name=$1
    _login=$2
    shift 2
    case $_login in
    -) smtp_send "$_name" "$SERVER" --header "Subject: $SUBJECT" "$@" ;;
    johnd) smtp_send "$_name" "$SERVER" --header "Subject: $SUBJECT" --auth LOGIN \
        --auth-user "$_login" --auth-password "pw-$_login" "$@" ;;
    *) smtp_send "$_name" "$SERVER" --header "Subject: $SUBJECT" --auth PLAIN \
        --auth-user "$_login" --auth-password "pw-$_login" "$@" ;;
    esac
}

# accepted MTA DESC: the message sent last was accepted and delivered
accepted() {
    is "$SWAKS_RC" 0 "$1, $2: swaks exits 0"
    like "$(reply_to "$OUT" .)" "$ACCEPT_RE" "$1, $2: 250 after DATA"
    ACCEPTED=$((ACCEPTED + 1))
    ok_if "$1, $2: delivered to the sink" postfix_sink_wait "Subject: $SUBJECT"
}

# sink_header NAME: the header field NAME (unfolded, first copy) of the
# message sent last, as it reached the sink
sink_header() {
    _f=$(grep -rlF -- "Subject: $SUBJECT" "$PF_DIR/sink" | head -1)
    [ -n "$_f" ] || return 0
    awk -v name="$1" '
        /^\r?$/ { exit }
        /^[ \t]/ { if (cur != "") cur = cur $0; next }
        { if (cur != "") print cur; cur = "" }
        tolower(substr($0, 1, length(name) + 1)) == tolower(name) ":" { cur = $0 }
        END { if (cur != "") print cur }
    ' "$_f" | tr -d '\r' | head -1
}

# refused_at_mail MTA DESC REPLY: the message sent last got REPLY at MAIL FROM
refused_at_mail() {
    is "$(reply_to "$OUT" "MAIL FROM")" "$3" "$1, $2: $3"
    is "$SWAKS_RC" 23 "$1, $2: swaks exits 23 (MAIL FROM refused)"
    printf '%s\n' "$SUBJECT" >> "$BASE/refused"
}

# mail_refused MTA NAME LOGIN FROM DESC: LOGIN sends as FROM (to
# bob@example.org) and is told at MAIL FROM that FROM is not local
mail_refused() {
    send "$1-$2" "$3" --from "$4" --to bob@example.org
    refused_at_mail "$1" "$5" "$NOT_LOCAL $4"
}

# refused_at_eom MTA DESC REPLY: MAIL FROM was fine, the end of DATA got REPLY
refused_at_eom() {
    like "$(reply_to "$OUT" "MAIL FROM")" '^<-  250 ' "$1, $2: MAIL FROM accepted"
    is "$(reply_to "$OUT" .)" "$3" "$1, $2: $3 after DATA"
    is "$SWAKS_RC" 26 "$1, $2: swaks exits 26 (DATA refused)"
    printf '%s\n' "$SUBJECT" >> "$BASE/refused"
}

# skip_part WHAT REASON: WHAT cannot run here; one skipped test point, or
# a failed one under CI=true (as skip_all, for a part of the layer)
skip_part() {
    if [ "${CI:-}" = true ]; then
        tap_result 1 "$1: $2 (skipping is a failure under CI=true)"
    else
        TAP_N=$((TAP_N + 1))
        printf 'ok %d - %s # SKIP %s\n' "$TAP_N" "$1" "$2"
    fi
}

# logged MTA DESC TEXT: the milter logged a line containing TEXT
logged() {
    ok_if "$1, $2: the milter logged '$3'" grep -qF -- "$3" "$MILTER_LOG"
}

# log_mark: remember where the milter's log ends (send does it)
log_mark() { LOG_MARK=$(wc -l < "$MILTER_LOG"); }

# logged_now MTA DESC TEXT: the milter logged a line containing TEXT since
# the last log_mark (for the message sent last, not an earlier one)
logged_now() {
    ok_if "$1, $2: the milter logged '$3'" log_has_since_mark "$3"
}
log_has_since_mark() { tail -n "+$((LOG_MARK + 1))" "$MILTER_LOG" | grep -qF -- "$1"; }

NOT_LOCAL="<** 554 5.7.1 Mailbox is not local:"

# --- send as, on behalf, a device account, IDNA, a trusted login ----------------------
# etc/example.ldif: janed may send as sales@example.com (seeAlso) and on
# behalf of bob@example.com (secretary); alice may do neither; scanner owns
# @example.net; buecher owns info@xn--bcher-kva.example. "lists" has no
# entry: a trusted login. The milter logs at debug there, where an
# accepted header address is logged.
SEND_AS='ldap.delegation_filter="(&(|(mail=%s)(mailLocalAddress=%s))(seeAlso=%D))"'
ON_BEHALF='ldap.on_behalf_filter="(&(mail=%s)(secretary=%D))"'

# delegation_reload on|off: the milter with both filters, trusted_logins
# and log_level debug, or back to the defaults (one test point: it reloaded)
delegation_reload() {
    if [ "$1" = on ]; then
        milter_conf accept "$SEND_AS" "$ON_BEHALF" 'policy.trusted_logins=[ "lists" ]' 'log_level="debug"'
        ok_if "the milter reloads on SIGHUP (delegation filters, trusted_logins)" milter_reload
    else
        milter_conf accept
        ok_if "the milter reloads on SIGHUP (back to the defaults)" milter_reload
    fi
}

# with_sender MTA NAME FROM: janed sends "From: FROM" with her own Sender:
with_sender() {
    send "$1-$2" janed --from janed@example.com --to bob@example.org \
        --header "From: $3" --header "Sender: Jane Doe <janed@example.com>"
}

# accepted_with_sender MTA NAME FROM DESC: with_sender, accepted, and
# delivered with both fields as written
accepted_with_sender() {
    with_sender "$1" "$2" "$3"
    accepted "$1" "$4: From: $3, Sender: herself"
    is "$(sink_header From) | $(sink_header Sender)" \
        "From: $3 | Sender: Jane Doe <janed@example.com>" \
        "$1, $4: delivered with From: and Sender: as written"
}

# delegation MTA: the delegation cases through MTA (SERVER set), with
# delegation_reload on in force; CTX becomes MTA (from_refused, from_accepted)
delegation() {
    CTX=$1
    send "$1-sendas-mail" janed --from sales@example.com --to bob@example.org \
        --header "From: Jane Doe <janed@example.com>"
    accepted "$1" "send as: MAIL FROM sales@example.com"
    logged_now "$1" "send as in MAIL FROM" "login=janed sender=sales@example.com accept reason=send-as stage=mail"

    from_accepted "$1-sendas-from" "Sales <sales@example.com>"
    logged_now "$1" "send as in From" "login=janed From=sales@example.com accept reason=send-as stage=header"

    accepted_with_sender "$1" sendas-sender "Sales <sales@example.com>" "send as"

    mail_refused "$1" sendas-alice alice sales@example.com "alice (no right) as MAIL FROM sales@example.com"
    logged_now "$1" "alice as sales@" "login=alice sender=sales@example.com reject reason=not-owned stage=mail"
    send "$1-sendas-alice-from" alice --from alice@example.com --to bob@example.org \
        --header "From: Sales <sales@example.com>"
    refused_at_eom "$1" "alice (no right), From: sales@example.com" "$NOT_LOCAL sales@example.com"

    accepted_with_sender "$1" behalf "Bob Boss <bob@example.com>" "on behalf"
    logged_now "$1" "on behalf" "login=janed From=bob@example.com accept reason=on-behalf stage=header"

    # on behalf without a Sender: refused, naming the From: address
    from_refused "$1-behalf-nosender" "Bob Boss <bob@example.com>" bob@example.com not-owned

    send "$1-behalf-mail" janed --from bob@example.com --to bob@example.org \
        --header "From: Bob Boss <bob@example.com>" --header "Sender: Jane Doe <janed@example.com>"
    refused_at_mail "$1" "on behalf, never as MAIL FROM bob@example.com" "$NOT_LOCAL bob@example.com"

    with_sender "$1" other-sender "Alice <alice@example.com>"
    refused_at_eom "$1" "From: someone else, Sender: herself" "$NOT_LOCAL alice@example.com"
    logged_now "$1" "From: someone else" "login=janed From=alice@example.com reject reason=not-owned stage=header"

    send "$1-device" scanner --from copier@example.net --to bob@example.org \
        --header "From: Copier <copier@example.net>"
    accepted "$1" "device account scanner (@example.net) as copier@example.net"
    logged_now "$1" "device account" "login=scanner sender=copier@example.net accept reason=owned stage=mail"
    mail_refused "$1" device-sub scanner copier@sub.example.net "device account as copier@sub.example.net"
    send "$1-device-other" scanner --from scanner@example.com --to bob@example.org \
        --header "From: copier@example.org"
    refused_at_eom "$1" "device account, From: copier@example.org" "$NOT_LOCAL copier@example.org"

    send "$1-idna-a" buecher --from info@xn--bcher-kva.example --to bob@example.org
    accepted "$1" "buecher as info@xn--bcher-kva.example (A-label)"
    send "$1-idna-u" buecher --from info@xn--bcher-kva.example --to bob@example.org \
        --header "From: $(printf 'B\303\274cherstube <info@b\303\274cher.example>')"
    accepted "$1" "buecher, From: info@bücher.example (U-label)"
    logged_now "$1" "U-label" "$(printf 'login=buecher From=info@b\303\274cher.example accept reason=owned stage=header')"
    # A U-label envelope needs SMTPUTF8 (swaks has no option for it: the
    # parameters go inside the address, closed by AUTH=<>, as in eight.sh).
    # Debian's Sendmail does not offer it, nor does the sink: Postfix takes
    # the message, then bounces it (dsn=5.6.7), and the bounce too.
    if [ "$1" = postfix ]; then
        send "$1-idna-u-mail" buecher --from "$(printf 'info@b\303\274cher.example')> SMTPUTF8 AUTH=<" \
            --to bob@example.org --header "From: $(printf 'info@b\303\274cher.example')"
        is "$(reply_to "$OUT" . | sed 's/ as [0-9A-F]*$/ as QID/')" "<-  250 2.0.0 Ok: queued as QID" \
            "$1, buecher as MAIL FROM info@bücher.example (U-label, SMTPUTF8): 250 after DATA"
        logged_now "$1" "U-label envelope" \
            "$(printf 'login=buecher sender=info@b\303\274cher.example accept reason=owned stage=mail')"
    fi
    mail_refused "$1" idna-bad janed x@xn--zz.example "an invalid IDNA label (x@xn--zz.example)"
    logged_now "$1" "invalid IDNA label" "login=janed sender=x@xn--zz.example reject reason=malformed stage=mail"

    send "$1-trusted" lists --from list-bounces@lists.example.org --to bob@example.org \
        --header "From: John Doe <JohnD@COMPANY1.com>"
    accepted "$1" "trusted login lists (no entry), From: JohnD@COMPANY1.com"
    logged_now "$1" "trusted login" "login=lists sender=list-bounces@lists.example.org accept reason=trusted-login stage=mail"
}

# core MTA: the cases both MTAs must show the same way
core() {
    send "$1-owned" janed --from janed@example.com --to bob@example.org
    accepted "$1" "janed as janed@example.com"
    logged "$1" "owned" "login=janed sender=janed@example.com accept reason=owned stage=mail"

    send "$1-alias" janed --from Jane.Doe@EXAMPLE.com --to bob@example.org \
        --header "From: Jane Doe <jane.doe@example.com>"
    accepted "$1" "janed as her alias, in another case"

    mail_refused "$1" other janed johnd@company1.com "janed as johnd@company1.com"
    logged "$1" "other" "login=janed sender=johnd@company1.com reject reason=not-owned stage=mail"

    mail_refused "$1" homed johnd JohnD@COMPANY1.com "johnd (homed elsewhere) as himself"
    logged "$1" "homed" "login=johnd sender=JohnD@COMPANY1.com reject reason=not-homed stage=mail"

    send "$1-from" janed --from janed@example.com --to bob@example.org \
        --header "From: John Doe <JohnD@COMPANY1.com>"
    refused_at_eom "$1" "forged From:" "$NOT_LOCAL JohnD@COMPANY1.com"
    logged "$1" "from" "login=janed From=JohnD@COMPANY1.com reject reason=not-owned stage=header"

    send "$1-xtext" ops+2Bbot --from ops@example.com --to bob@example.org
    accepted "$1" "login ops+2Bbot (valid xtext itself)"
    logged "$1" "xtext" "login=ops+2Bbot sender=ops@example.com accept reason=owned"
}

# eod_core MTA: policy.decide_at = "end-of-data" (homed-milter.conf(5)): the
# same verdicts, all at end of DATA, in one step
eod_core() {
    milter_conf accept 'policy.decide_at="end-of-data"'
    ok_if "$1, end-of-data: the milter reloads" milter_reload
    _eod_mark=$(wc -l < "$MILTER_LOG")
    send "$1-eod-owned" janed --from janed@example.com --to bob@example.org \
        --header "From: Jane Doe <janed@example.com>"
    accepted "$1" "end-of-data: janed as janed@example.com"
    logged_now "$1" "end-of-data, owned" \
        "login=janed sender=janed@example.com accept reason=owned stage=end-of-data"
    send "$1-eod-envelope" janed --from JohnD@COMPANY1.com --to bob@example.org
    refused_at_eom "$1" "end-of-data: janed as JohnD@COMPANY1.com" "$NOT_LOCAL JohnD@COMPANY1.com"
    logged_now "$1" "end-of-data, envelope" \
        "login=janed sender=JohnD@COMPANY1.com reject reason=not-owned stage=end-of-data"
    send "$1-eod-from" janed --from janed@example.com --to bob@example.org \
        --header "From: John Doe <JohnD@COMPANY1.com>"
    refused_at_eom "$1" "end-of-data: forged From:" "$NOT_LOCAL JohnD@COMPANY1.com"
    logged_now "$1" "end-of-data, From:" \
        "login=janed From=JohnD@COMPANY1.com reject reason=not-owned stage=end-of-data"
    send "$1-eod-unauth" - --from carol@example.org --to bob@example.org \
        --header "From: John Doe <JohnD@COMPANY1.com>"
    accepted "$1" "end-of-data: unauthenticated, unauthenticated = accept"
    ok_if "$1, end-of-data: no fallback to MAIL FROM logged" \
        sh -c '! tail -n "+$2" "$1" | grep -qF "is not possible with this MTA"' sh \
        "$MILTER_LOG" "$((_eod_mark + 1))"
    milter_conf accept
    ok_if "$1, back to decide_at = mail: the milter reloads" milter_reload
}

# --- Postfix -----------------------------------------------------------------------
SERVER=127.0.0.1:$PF_PORT
ACCEPT_RE='^<-  250 2\.0\.0 Ok: queued as [0-9A-F]+$'

# Debian's stock master.cf: every service it chroots is chrooted here; the
# only one missing is the port-25 listener, replaced by chrooted ones on
# loopback ports.
mkdir -p "$BASE/stock"
cp "$PF_MASTER_CF" "$BASE/stock/master.cf" && : > "$BASE/stock/main.cf"
"$POSTCONF" -c "$BASE/stock" -F '*/*/chroot' 2>/dev/null | sort > "$BASE/stock/chroot"
"$POSTCONF" -c "$PF_CONF" -F '*/*/chroot' 2>/dev/null | sort > "$BASE/chroot"
is "$(comm -23 "$BASE/stock/chroot" "$BASE/chroot" | tr '\n' ' ')" "smtp/inet/chroot = y " \
    "postfix: master.cf is Debian's stock file, only its port-25 listener left out"
is "$(comm -13 "$BASE/stock/chroot" "$BASE/chroot" | grep -c '^127\.0\.0\.1:[0-9]*/inet/chroot = y$')" 3 \
    "postfix: three loopback smtpd listeners added, chrooted"
is "$(comm -13 "$BASE/stock/chroot" "$BASE/chroot" | grep -vc '^127\.0\.0\.1:[0-9]*/inet/chroot = y$')" 0 \
    "postfix: no other service added or changed, no chroot turned off"
is "$("$POSTCONF" -c "$PF_CONF" -h smtpd_milters)" "unix:/homed-milter/homed-milter.sock" \
    "postfix: smtpd_milters names the socket relative to the chroot"

core postfix

# smtpd served those messages from inside the chroot (its root is the
# queue directory), and the milter's verdicts reached the client anyway.
PF_SPOOL_REAL=$(cd "$PF_SPOOL" && pwd -P)
postfix_smtpd_roots > "$BASE/smtpd-roots"
ok_if "postfix: smtpd processes are running ($(wc -l < "$BASE/smtpd-roots" | tr -d ' '))" \
    [ -s "$BASE/smtpd-roots" ]
is "$(awk '{ print $2 }' "$BASE/smtpd-roots" | sort -u | tr '\n' ' ')" "$PF_SPOOL_REAL " \
    "postfix: every smtpd's root (/proc/PID/root) is the queue directory"

# The same socket named by its path on the host: chrooted smtpd cannot
# reach it, and tells the client to try again (milter_default_action =
# tempfail), as every message got on a stock Debian.
SERVER=127.0.0.1:$PF_OUTSIDE_PORT
_lines=$(wc -l < "$PF_LOG")
send postfix-outside - --from carol@example.org --to bob@example.org
is "$(reply_to "$OUT" "MAIL FROM")" "<** 451 4.7.1 Service unavailable - try again later" \
    "postfix, socket named outside the chroot: 451 4.7.1 at MAIL FROM"
is "$SWAKS_RC" 23 "postfix, socket named outside the chroot: swaks exits 23"
printf '%s\n' "$SUBJECT" >> "$BASE/refused"
ok_if "postfix, socket named outside the chroot: smtpd logged 'connect to Milter service $MILTER_SOCKET: No such file or directory'" \
    wait_for 50 eval 'tail -n "+$((_lines + 1))" "$PF_LOG" | grep -qF "connect to Milter service $MILTER_SOCKET: No such file or directory"'
# An authenticating client hears it at AUTH already.
send postfix-outside-auth janed --from janed@example.com --to bob@example.org
is "$(reply_to "$OUT" AUTH)" "<** 454 4.3.0 Try again later" \
    "postfix, socket named outside the chroot, janed: 454 4.3.0 at AUTH"
is "$SWAKS_RC" 28 "postfix, socket named outside the chroot, janed: swaks exits 28 (AUTH refused)"
printf '%s\n' "$SUBJECT" >> "$BASE/refused"
SERVER=127.0.0.1:$PF_PORT

send postfix-sender janed --from janed@example.com --to bob@example.org \
    --header "Sender: johnd@company1.com"
refused_at_eom postfix "good From:, forged Sender:" "$NOT_LOCAL johnd@company1.com"

mail_refused postfix ghost ghost ghost@example.com "a login with no directory entry"
logged postfix "ghost" "login=ghost sender=ghost@example.com reject reason=no-entry stage=mail"

# The milter logs the queue id at end of DATA, as Postfix does, and the
# client as Postfix names it (homed-milter(8), LOGGING).
QID=$(sed -n 's/.*postfix\/cleanup\[[0-9]*\]: \([0-9A-F]*\): milter-reject: END-OF-MESSAGE.*Mailbox is not local: JohnD@COMPANY1.com;.*/\1/p' "$PF_LOG" | head -1)
like "$(grep -F "${QID:-no-queue-id}: " "$MILTER_LOG" | grep -F ' From=' | head -1)" \
    ": ${QID:-no-queue-id}: client=[^ ]+\[127\.0\.0\.1\] login=janed From=JohnD@COMPANY1\.com reject reason=not-owned stage=header\$" \
    "postfix, queue id: the header reject is logged with Postfix's queue id and the client"
# An accepted message: one line, at end of DATA, with the queue id Postfix
# gave it (swaks saw "queued as"), never a NOQUEUE line of its own.
QIDA=$(sed -n 's/.*250 2\.0\.0 Ok: queued as \([0-9A-F]*\).*/\1/p' "$MILTER_DIR/postfix-owned.swaks" | head -1)
like "$(grep -F "${QIDA:-no-queue-id}: " "$MILTER_LOG" | head -1)" \
    ": ${QIDA:-no-queue-id}: client=[^ ]+\[127\.0\.0\.1\] login=janed sender=janed@example\.com accept reason=owned stage=mail\$" \
    "postfix, an accepted message: logged with the queue id Postfix logged and the client"
is "$(grep -c "${QIDA:-no-queue-id}: " "$MILTER_LOG")" 1 "postfix, an accepted message: logged once"

# Directory down: 451 at MAIL FROM, nothing accepted; the client retries later.
slapd_stop
send postfix-ldapdown janed --from janed@example.com --to bob@example.org
is "$(reply_to "$OUT" "MAIL FROM")" "<** 451 4.3.0 Directory unavailable, try again later" \
    "postfix, slapd stopped: 451 4.3.0 at MAIL FROM"
is "$SWAKS_RC" 23 "postfix, slapd stopped: swaks exits 23"
logged postfix "slapd stopped" "login=janed sender=janed@example.com tempfail reason=directory-error stage=mail"
ok_if "postfix, slapd stopped: nothing was queued (the client still holds the message)" \
    postfix_queue_empty
is "$(postfix_sink_count)" "$ACCEPTED" "postfix, slapd stopped: nothing delivered"
slapd_start || diag "slapd did not start again"
sleep 1.1 # a URI that did not answer is tried again once a second
LOST_SUBJECT=$SUBJECT
smtp_send postfix-retry "$SERVER" --header "Subject: $LOST_SUBJECT" --auth PLAIN \
    --auth-user janed --auth-password pw-janed --from janed@example.com --to bob@example.org
OUT=$MILTER_DIR/postfix-retry.swaks
SUBJECT=$LOST_SUBJECT
accepted postfix "slapd back, the same message again"
is "$(grep -rlF "Subject: $LOST_SUBJECT" "$PF_DIR/sink" | wc -l | tr -d ' ')" 1 \
    "postfix, slapd back: the retried message was delivered once"

# Unauthenticated clients: accepted untouched, or refused after a reload.
send postfix-unauth - --from carol@example.org --to bob@example.org \
    --header "From: John Doe <JohnD@COMPANY1.com>"
accepted postfix "unauthenticated, unauthenticated = accept"
logged postfix "unauthenticated" "login=(none) sender=carol@example.org accept reason=unauthenticated stage=mail"
milter_conf reject
ok_if "the milter reloads on SIGHUP (unauthenticated = reject)" milter_reload
send postfix-unauth-reject - --from carol@example.org --to bob@example.org
refused_at_mail postfix "unauthenticated, unauthenticated = reject" \
    "<** 554 5.7.1 Authentication required to submit mail"
logged postfix "unauthenticated" "login=(none) sender=carol@example.org reject reason=unauthenticated stage=mail"
send postfix-auth-under-reject janed --from janed@example.com --to bob@example.org
accepted postfix "authenticated, unauthenticated = reject"
milter_conf accept
ok_if "the milter reloads on SIGHUP (unauthenticated = accept)" milter_reload
send postfix-unauth-again - --from carol@example.org --to bob@example.org
accepted postfix "unauthenticated, accept again after the reload"

# policy.decide_at = "end-of-data"
eod_core postfix

# --- From: and Sender: as the recipient's mail client shows them -------------------
# janed with her own envelope sender, on the second smtpd (the header as
# written): only the header field decides. CTX names the configuration in
# the test descriptions.
SERVER=127.0.0.1:$PF_REMOTE_PORT
CTX=postfix

# from_refused NAME VALUE SHOWN REASON: "From: VALUE" refused at end of
# DATA naming SHOWN, logged with REASON (malformed or not-owned)
from_refused() {
    send "$1" janed --from janed@example.com --to bob@example.org --header "From: $2"
    refused_at_eom "$CTX" "From: $2" "$NOT_LOCAL $3"
    logged_now "$CTX" "From: $2" "login=janed From=$3 reject reason=$4 stage=header"
}
# from_accepted NAME VALUE: "From: VALUE" accepted and delivered as written
from_accepted() {
    send "$1" janed --from janed@example.com --to bob@example.org --header "From: $2"
    accepted "$CTX" "From: $2"
    is "$(sink_header From)" "From: $2" "$CTX, From: $2: delivered with the From: as written"
}

from_refused shown-comment 'Jane Doe <jane(").doe(")@example.com>' \
    'Jane Doe <jane(").doe(")@example.com>' malformed
from_refused shown-comment-bare '<(")janed+.(")alice@example.com>' \
    '(")janed+.(")alice@example.com' malformed
from_refused shown-route '<@route,@x:janed@example.com>' '@route,@x:janed@example.com' malformed
from_refused shown-ew-local 'janed+=?utf-8?q?alice?=@example.com' \
    'janed+=?utf-8?q?alice?=@example.com' malformed
from_refused shown-ew-quoted '"=?utf-8?q?alice?="@example.com' '"=?utf-8?q?alice?="@example.com' malformed
from_refused shown-group '"alice@example.com": janed@example.com;' \
    '"alice@example.com": janed@example.com;' malformed
from_refused shown-name '"alice@example.com" <janed@example.com>' alice@example.com not-owned
from_refused shown-name-ew '=?utf-8?q?Alice_=3Calice=40example=2Ecom=3E?= <janed@example.com>' \
    alice@example.com not-owned
from_refused shown-comment-name 'janed@example.com (Bob <bob@example.org>)' bob@example.org not-owned
from_refused shown-bare-name 'alice@example.com <janed@example.com>' alice@example.com not-owned
from_refused shown-not-plus '"janed+JohnD@COMPANY1.com"@example.com' \
    '"janed+JohnD@COMPANY1.com"@example.com' not-owned
from_accepted shown-own-name 'janed@example.com <janed@example.com>'

send shown-empty janed --from janed@example.com --to bob@example.org --header "From:"
refused_at_eom postfix "an empty From:" "$NOT_LOCAL From:"
logged_now postfix "an empty From:" "login=janed From=From: reject reason=malformed stage=header"
send shown-sender janed --from janed@example.com --to bob@example.org \
    --header "From: janed@example.com" --header 'Sender: "bob@example.org" <jane.doe@example.com>'
refused_at_eom postfix "Sender: with a foreign display name" "$NOT_LOCAL bob@example.org"

# From a local client Postfix rewrites the header first (the route goes,
# the quotes around an atom go): the milter decides on what is delivered.
SERVER=127.0.0.1:$PF_PORT
send shown-route-local janed --from janed@example.com --to bob@example.org \
    --header "From: <@route,@x:janed@example.com>"
accepted postfix "local client, From: <@route,...:janed@...>"
is "$(sink_header From)" "From: <janed@example.com>" \
    "postfix, local client: Postfix dropped the route, the milter checked and passed what is delivered"
send shown-ew-local-client janed --from janed@example.com --to bob@example.org \
    --header 'From: "=?utf-8?q?alice?="@example.com'
refused_at_eom postfix 'local client, From: "=?utf-8?q?alice?="@...' \
    "$NOT_LOCAL =?utf-8?q?alice?=@example.com"
SERVER=127.0.0.1:$PF_REMOTE_PORT

# policy.display_names = "ignore": the mailbox alone decides.
milter_conf accept 'policy.display_names="ignore"'
ok_if "the milter reloads on SIGHUP (display_names = ignore)" milter_reload
CTX="postfix, display_names = ignore"
from_accepted shown-ignore-name '"alice@example.com" <janed@example.com>'
from_accepted shown-ignore-name-ew '=?utf-8?q?Alice_=3Calice=40example=2Ecom=3E?= <janed@example.com>'
from_accepted shown-ignore-comment 'janed@example.com (Bob <bob@example.org>)'
from_accepted shown-ignore-bare 'alice@example.com <janed@example.com>'
from_refused shown-ignore-group '"alice@example.com": janed@example.com;' \
    '"alice@example.com": janed@example.com;' malformed

# policy.extension_delimiter = "+": an extension that shows another address.
milter_conf accept 'policy.extension_delimiter="+"'
ok_if "the milter reloads on SIGHUP (extension_delimiter = +)" milter_reload
CTX="postfix, extension_delimiter = +"
from_refused shown-plus '"janed+JohnD@COMPANY1.com"@example.com' \
    '"janed+JohnD@COMPANY1.com"@example.com' malformed
from_accepted shown-plus-own 'Jane Doe <janed+lists@example.com>'

# Report mode: the client's copies of the report header are removed
# before homed-milter adds its own; the recipient sees only that one.
milter_conf accept 'policy.mode="report"'
ok_if "the milter reloads on SIGHUP (mode = report)" milter_reload
CTX="postfix, mode = report"
send shown-report janed --from janed@example.com --to bob@example.org \
    --header "From: alice@example.com" --add-header "X-Homed-Milter: accept reason=owned" \
    --add-header "X-Homed-Milter: accept reason=owned address=alice@example.com"
accepted "$CTX" "From: alice@example.com with two client X-Homed-Milter fields"
_f=$(grep -rlF -- "Subject: $SUBJECT" "$PF_DIR/sink" | head -1)
is "$(grep -i '^X-Homed-Milter:' "${_f:-/dev/null}" | tr -d '\r')" \
    "X-Homed-Milter: reject reason=not-owned address=alice@example.com" \
    "$CTX: the client's two copies removed, only the milter's field delivered"
logged_now "$CTX" "From: alice@example.com" "login=janed From=alice@example.com report reject reason=not-owned stage=header"
send shown-report-owner janed --from janed@example.com --to bob@example.org \
    --header "From: Jane <janed@example.com>" --add-header "X-Homed-Milter: reject reason=not-owned"
accepted "$CTX" "the owner with a client X-Homed-Milter field"
_f=$(grep -rlF -- "Subject: $SUBJECT" "$PF_DIR/sink" | head -1)
is "$(grep -ci '^X-Homed-Milter:' "${_f:-/dev/null}")" 0 \
    "$CTX, the owner: the client's copy removed, none added"
milter_conf accept
ok_if "the milter reloads on SIGHUP (back to the defaults)" milter_reload
CTX=postfix

# Send as, on behalf, a device account, IDNA, a trusted login (headers as
# the client wrote them).
delegation_reload on
delegation postfix
delegation_reload off

# Real mail clients (clients.sh).
clients_postfix

# --- Sendmail ------------------------------------------------------------------------
if ! sendmail_usable; then
    skip_part "sendmail cases" "$SM_WHY"
elif ! sendmail_fetch; then
    skip_part "sendmail cases" "cannot get sendmail-bin and sendmail-cf (set SENDMAIL_DEBS=DIR offline)"
elif ! sendmail_init "$MILTER_SOCKET" "$PF_SINK_PORT" mail.example.com; then
    skip_part "sendmail cases" "cannot configure Sendmail"
else
    for _u in janed johnd ops+2Bbot $DELEGATION_USERS; do sendmail_adduser "$_u" "pw-$_u"; done
    if sendmail_start; then
        diag "Sendmail $SM_VERSION on 127.0.0.1:$SM_PORT"
        SERVER=127.0.0.1:$SM_PORT
        ACCEPT_RE='^<-  250 2\.0\.0 [0-9A-Za-z]+ Message accepted for delivery$'
        core sendmail
        # Sendmail knows the queue id at MAIL FROM: the log line carries it.
        QID=$(sed -n 's/^<-  250 2\.0\.0 \([0-9A-Za-z]*\) Message accepted.*/\1/p' \
            "$MILTER_DIR/sendmail-owned.swaks")
        like "$(grep -F "${QID:-no-queue-id}: " "$MILTER_LOG" | head -1)" \
            ": ${QID:-no-queue-id}: client=[^ ]+\[127\.0\.0\.1\] login=janed sender=janed@example\.com accept reason=owned stage=mail\$" \
            "sendmail, queue id: the accepted message is logged with it and the client"
        delegation_reload on
        delegation sendmail
        delegation_reload off
        eod_core sendmail
    else
        tap_result 1 "sendmail started"
    fi
fi

# --- the sink and the queue at the end ----------------------------------------------
sleep 0.3 # let a message that should not have been delivered show itself
is "$(postfix_sink_count)" "$ACCEPTED" "the sink holds exactly the $ACCEPTED accepted messages"
_leaked=$(grep -rlF -f "$BASE/refused" "$PF_DIR/sink" | wc -l | tr -d ' ')
is "$_leaked" 0 "no refused message reached the sink"
ok_if "Postfix's queue is empty" postfix_queue_empty
[ -n "${SM_PID:-}" ] && is "$(sendmail_queue_count)" 0 "Sendmail's queue is empty"

milter_term
sendmail_stop
postfix_stop
milter_stop
is "$MILTER_STATUS" 0 "homed-milter exits 0 on SIGTERM"
if [ "$TAP_FAILED" -gt 0 ]; then
    diag "--- milter log" "$(cat "$MILTER_LOG")"
    diag "--- Postfix log (last 30 lines)" "$(tail -30 "$PF_LOG")"
fi
diag "took $(($(date +%s) - T0)) s"
done_testing

#!/bin/sh
# End to end, issue 13 ("the second seed"): 8-bit mail relayed to a 7-bit-
# only host. An SMTP service accepted an 8-bit MIME message, relayed it to
# a server that offers no 8BITMIME and could not take 8-bit data, and the
# sender got a confusing non-delivery report much later. This layer builds
# that chain out of two private Postfix instances and shows it twice:
#
#   swaks --> relay (lib-postfix.sh: Debian's stock master.cf, smtpd
#             chrooted, disable_mime_output_conversion = yes)
#               |-- domino.example.com, *.domino.example.com
#               |     --> "domino" (a second private Postfix: no 8BITMIME,
#               |         no SMTPUTF8 in its EHLO, and it refuses 8-bit
#               |         data, as a 7-bit-only host does) --> its sink
#               `-- anything else (other.example.com, the bounces to the
#                     senders) --> the relay's sink (smtp-sink, 8BITMIME)
#
# Without the milter (a second smtpd on the relay, no smtpd_milters) the
# client gets 250 and the message bounces later: with MIME output
# conversion off, Postfix does not downgrade and does not refuse either
# (smtp_proto.c, SMTP_MIME_DOWNGRADE); it sends the 8-bit bytes to the
# 7-bit host, which refuses them at end of DATA, and the relay logs
# status=bounced and returns a DSN to the sender (it reaches the relay's
# sink). With homed-milter attached as test/e2e/run.sh attaches it (its
# socket in the relay's queue directory, named relative to smtpd's chroot)
# and eight_bit.seven_bit_only_domains = [ "domino.example.com" ], the same
# message gets "554 5.6.3 ..." at end of DATA while the client is still
# connected, and nothing is queued; 7-bit mail to domino, and 8-bit mail
# to other hosts, still pass. Then eight_bit.undeclared = "reject" (8-bit
# data without BODY=8BITMIME) and eight_bit.seven_bit_only = true.
#
# Needs root (Postfix). Everything binds to 127.0.0.1 or to unix sockets
# under one temporary directory, and is stopped at exit. E2E_KEEP=1 keeps
# the directory for a look afterwards. TAP output.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/test/lib/daemon.sh"
. "$SRC/test/e2e/lib-milter.sh"
. "$SRC/test/e2e/lib-postfix.sh"
T0=$(date +%s)

[ "$(id -u)" = 0 ] || skip_all "needs root (two private Postfix instances)"
[ -x "$HM" ] || skip_all "homed-milter is not built ($HM)"
for _tool in "$SLAPD" "$POSTFIX" "$POSTCONF" "$SWAKS" "$SASLPASSWD2" "$SMTP_SINK"; do
    [ -x "$_tool" ] || skip_all "$_tool is not installed"
done

BASE=$(mktemp -d "${TMPDIR:-/tmp}/hm-eight.XXXXXX") || skip_all "mktemp failed"
chmod 755 "$BASE" # Postfix's daemons (user postfix) must reach their files
SLAPD_DIR=$BASE/slapd
MILTER_DIR=$BASE/milter
PF_DIR=$BASE/relay
HOP_PF_DIR=$BASE/domino
mkdir -p "$SLAPD_DIR" "$MILTER_DIR" "$PF_DIR" "$HOP_PF_DIR"

# lib-postfix.sh keeps one instance in its PF_* variables: the relay's stay
# there, domino's are kept as HOP_PF_*, and on_hop runs a lib-postfix.sh
# function on domino (pf_swap FROM TO saves PF_* as FROM_PF_*, loads TO_PF_*).
PF_VARS="PF_DIR PF_CONF PF_SPOOL PF_LOG PF_HOSTNAME PF_PORT PF_MASTER_CF PF_SINK_PORT PF_SINK_PID"
pf_swap() {
    for _v in $PF_VARS; do eval "${1}_$_v=\${$_v:-}; $_v=\${${2}_$_v:-}"; done
}
on_hop() {
    pf_swap RELAY HOP
    "$@"
    _on_rc=$?
    pf_swap HOP RELAY
    return $_on_rc
}

# At exit: the milter is told first (libmilter takes seconds to notice),
# both instances and their sinks are stopped meanwhile.
cleanup() {
    milter_term
    for _stop in postfix_stop postfix_sink_stop; do
        "$_stop"
        on_hop "$_stop"
    done
    slapd_stop
    milter_stop
    [ "${E2E_KEEP:-}" = 1 ] && echo "# kept $BASE" && return
    rm -rf "$BASE"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# The directory the milter asks (etc/example.ldif holds janed).
slapd_init "$SRC/etc/example.ldif" "$SRC/test/e2e/e2e.ldif" >/dev/null || skip_all "slapadd failed"
slapd_start || skip_all "slapd did not start"

# --- domino: the 7-bit-only next hop ------------------------------------------------
# Its EHLO offers neither 8BITMIME nor SMTPUTF8 (Postfix's smtp client
# takes SMTPUTF8 alone as 8BITMIME too), and its cleanup refuses any byte
# outside printable ASCII and white space, in a header or in the body.
# (Postfix's daemons run in the C locale: a byte >= 0x80 is not [:print:].)
on_hop postfix_init "" domino.example.com || skip_all "cannot configure the second Postfix"
on_hop postfix_sink_start || skip_all "the second Postfix's smtp-sink did not start"
printf '%s\n' '/[^[:print:][:space:]]/ REJECT 5.6.1 8-bit data not accepted here, this host is 7-bit only' \
    > "$HOP_PF_DIR/etc/seven-bit.regexp"
on_hop postfix_set 'smtpd_discard_ehlo_keywords = 8bitmime, smtputf8' 'smtputf8_enable = no' \
    "header_checks = regexp:$HOP_PF_DIR/etc/seven-bit.regexp" \
    "body_checks = regexp:$HOP_PF_DIR/etc/seven-bit.regexp" ||
    skip_all "cannot configure the second Postfix"
on_hop postfix_start || skip_all "the second Postfix did not start"

# --- the relay -----------------------------------------------------------------------
postfix_milter_dir || skip_all "cannot create the socket's directory in Postfix's queue directory"
# shellcheck disable=SC2034 # read by milter_conf (lib-milter.sh)
MILTER_SOCKET_DIR=$PF_MILTER_DIR
DOMINO='eight_bit.seven_bit_only_domains=[ "domino.example.com" ]'
milter_conf accept "$DOMINO"
postfix_init "unix:$(postfix_chroot_name "$MILTER_SOCKET_PATH")" mail.example.com ||
    skip_all "cannot configure Postfix"
postfix_adduser janed pw-janed || skip_all "saslpasswd2 failed"
postfix_sink_start || skip_all "smtp-sink did not start"
printf '%s smtp:[127.0.0.1]:%s\n' domino.example.com "$HOP_PF_PORT" \
    .domino.example.com "$HOP_PF_PORT" > "$PF_CONF/transport"
postfix_set "transport_maps = texthash:$PF_CONF/transport" 'disable_mime_output_conversion = yes' ||
    skip_all "cannot configure Postfix"
# A second smtpd without the milter, for the article as it happened.
PLAIN_PORT=$(free_port)
while [ "$PLAIN_PORT" = "$PF_PORT" ] || [ "$PLAIN_PORT" = "$PF_SINK_PORT" ] ||
    [ "$PLAIN_PORT" = "$HOP_PF_PORT" ] || [ "$PLAIN_PORT" = "$HOP_PF_SINK_PORT" ]; do
    PLAIN_PORT=$(free_port)
done
postfix_listen "$PLAIN_PORT" -o smtpd_milters= || skip_all "cannot configure Postfix"
postfix_start || skip_all "Postfix did not start"
wait_for 100 port_open "$PLAIN_PORT" || skip_all "Postfix's second smtpd did not start"

# --- helpers ---------------------------------------------------------------------------
GREETING8=$(printf 'Gr\303\274\303\237e aus K\303\266ln') # "Gruesse aus Koeln", UTF-8
GREETING7='Greetings from Cologne'
: > "$BASE/refused" # Subjects that must reach no sink

# message NAME PORT 8bit|7bit SWAKS-ARGS...: one text/plain message to the
# relay's smtpd on PORT, its body 8-bit (Content-Transfer-Encoding: 8bit)
# or 7-bit, with a unique Subject; OUT is the transcript, SWAKS_RC set
message() {
    SUBJECT="eight $1 $$"
    OUT=$MILTER_DIR/$1.swaks
    LOG_AT=$(cat "$MILTER_LOG" 2>/dev/null | wc -l)
    PF_LOG_AT=$(wc -l < "$PF_LOG")
    _m_name=$1
    _m_port=$2
    if [ "$3" = 8bit ]; then _m_body=$GREETING8; else _m_body=$GREETING7; fi
    _m_cte=$3
    shift 3
    smtp_send "$_m_name" "127.0.0.1:$_m_port" --header "Subject: $SUBJECT" \
        --header "MIME-Version: 1.0" --header "Content-Type: text/plain; charset=UTF-8" \
        --header "Content-Transfer-Encoding: $_m_cte" --body "$_m_body" "$@"
}

# BODY=8BITMIME on MAIL FROM: swaks writes "MAIL FROM:<ADDRESS>" and has no
# option for ESMTP parameters, so they go inside the address, closed by
# AUTH=<> (RFC 4954: no authorized sender; Postfix takes it and ignores it).
declared() { printf '%s> BODY=8BITMIME AUTH=<' "$1"; }

# reload: milter_reload, when the milter runs (with no pid, its kill
# -HUP would signal this whole process group)
reload() { hm_alive homed-milter && milter_reload; }

# settle: wait until the relay's queue is empty (earlier mail delivered)
settle() { wait_for 100 postfix_queue_empty || diag "the relay's queue did not empty"; }

# hop_connects: how many SMTP sessions domino has seen
hop_connects() { grep -c 'postfix/smtpd\[[0-9]*\]: connect from' "$HOP_PF_DIR/maillog" 2>/dev/null; }

# passed DESC: the message sent last got 250 after DATA
passed() {
    is "$SWAKS_RC" 0 "$1: swaks exits 0"
    like "$(reply_to "$OUT" .)" '^<-  250 2\.0\.0 Ok: queued as [0-9A-F]+$' "$1: 250 after DATA"
}

# arrived DESC WHERE: the message sent last reached the relay's sink
# (WHERE=relay) or domino's (WHERE=hop), with the body it was sent with
arrived() {
    if [ "$2" = hop ]; then _a_dir=$HOP_PF_DIR/sink; else _a_dir=$PF_DIR/sink; fi
    ok_if "$1: delivered to the $2 sink" wait_for 100 grep -rqF -- "Subject: $SUBJECT" "$_a_dir"
    _a_file=$(grep -rlF -- "Subject: $SUBJECT" "$_a_dir" | head -1)
    ok_if "$1: its body arrived as sent" grep -qF -- "$_m_body" "${_a_file:-/dev/null}"
}

# logged DESC TEXT: the milter logged a line holding TEXT for the message
# sent last (since message sent it); TEXT "no reject": no reject line
logged() {
    if [ "$2" = "no reject" ]; then
        ok_if "$1: the milter logs no reject" log_lacks " reject "
    else
        ok_if "$1: the milter logs '$2'" log_has "$2"
    fi
}
log_has() { tail -n "+$((LOG_AT + 1))" "$MILTER_LOG" | grep -qF -- "$1"; }
log_lacks() { ! log_has "$1"; }

# bounced DESC: the message sent last, accepted by the relay, was refused
# by domino at end of DATA; the relay logged the bounce and sent the
# sender (the relay's sink) a non-delivery report; domino's sink has none
bounced() {
    _b_qid=$(sed -n 's/^<-  250 2\.0\.0 Ok: queued as \([0-9A-F]*\)$/\1/p' "$OUT" | head -1)
    ok_if "$1: the relay logs status=bounced, domino's 550 5.6.1 after DATA" \
        wait_for 100 grep -qE "postfix/smtp\[[0-9]+\]: ${_b_qid:-no-queue-id}: to=<someone@domino\.example\.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$HOP_PF_PORT, .*dsn=5\.6\.1, status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.6\.1 8-bit data not accepted here, this host is 7-bit only \(in reply to end of DATA command\)\)" "$PF_LOG"
    ok_if "$1: the relay sends the sender a non-delivery report" \
        wait_for 100 grep -qE "postfix/bounce\[[0-9]+\]: ${_b_qid:-no-queue-id}: sender non-delivery notification: [0-9A-F]+" "$PF_LOG"
    ok_if "$1: the report reaches the sender (the relay's sink)" \
        wait_for 100 eval 'grep -rlF -- "Subject: $SUBJECT" "$PF_DIR/sink" |
            xargs -r grep -lF "Subject: Undelivered Mail Returned to Sender" | grep -q .'
    ok_if "$1: nothing reached domino's sink" eval '! grep -rqF -- "Subject: $SUBJECT" "$HOP_PF_DIR/sink"'
}

# queued_since: the relay's queue manager took a message since the last send
queued_since() { tail -n "+$((PF_LOG_AT + 1))" "$PF_LOG" | grep -q 'postfix/qmgr\[[0-9]*\]: [0-9A-F]*: from='; }

# refused DESC REPLY: RCPT TO was accepted, the end of DATA got REPLY (the
# milter's verdict, while the client is connected), nothing was queued
# and domino saw no connection (call settle and HOP_SEEN=$(hop_connects)
# before sending)
refused() {
    like "$(reply_to "$OUT" "RCPT TO")" '^<-  250 ' "$1: RCPT TO accepted"
    is "$(reply_to "$OUT" .)" "$2" "$1: $2 after DATA"
    is "$SWAKS_RC" 26 "$1: swaks exits 26 (DATA refused)"
    ok_if "$1: nothing was queued" eval 'postfix_queue_empty && ! queued_since'
    is "$(hop_connects)" "$HOP_SEEN" "$1: nothing reached domino"
    printf '%s\n' "$SUBJECT" >> "$BASE/refused"
}

# --- the 7-bit-only host, and the article without the milter -------------------------------
smtp_send hop-ehlo "127.0.0.1:$HOP_PF_PORT" --quit-after EHLO
ok_if "domino offers no 8BITMIME" eval '! grep -q "^<-  250.8BITMIME" "$MILTER_DIR/hop-ehlo.swaks"'
ok_if "domino offers no SMTPUTF8" eval '! grep -q "^<-  250.SMTPUTF8" "$MILTER_DIR/hop-ehlo.swaks"'
is "$("$POSTCONF" -c "$PF_CONF" -h disable_mime_output_conversion)" yes \
    "relay: disable_mime_output_conversion = yes"

message plain-7bit "$PLAIN_PORT" 7bit --from carol@example.org --to someone@domino.example.com
passed "no milter, 7-bit to domino"
arrived "no milter, 7-bit to domino" hop

message plain-8bit "$PLAIN_PORT" 8bit --from carol@example.org --to someone@domino.example.com
passed "no milter, 8-bit to domino (the article)"
bounced "no milter, 8-bit to domino"

# Declaring it does not help: domino did not offer 8BITMIME, so the relay
# does not pass BODY=8BITMIME on, and sends the 8-bit bytes all the same.
message plain-declared "$PLAIN_PORT" 8bit --from "$(declared carol@example.org)" \
    --header 'From: <carol@example.org>' --to someone@domino.example.com
is "$(grep -m1 '^ -> MAIL FROM:' "$OUT")" ' -> MAIL FROM:<carol@example.org> BODY=8BITMIME AUTH=<>' \
    "no milter, declared 8-bit to domino: swaks sends BODY=8BITMIME"
passed "no milter, declared 8-bit to domino"
bounced "no milter, declared 8-bit to domino"

# --- the milter ---------------------------------------------------------------------------
if milter_start; then
    tap_result 0 "homed-milter starts with $DOMINO"
else
    tap_result 1 "homed-milter starts with $DOMINO"
    diag "$(cat "$MILTER_DIR/check.out")"
fi
RELAYED_TEXT='5.6.3 8-bit data cannot be relayed to domino.example.com (7-bit only); resend as 7-bit'
RELAYED="<** 554 $RELAYED_TEXT"

settle
HOP_SEEN=$(hop_connects)
message milter-8bit "$PF_PORT" 8bit --from carol@example.org --to someone@domino.example.com
refused "milter, 8-bit to domino" "$RELAYED"
# cleanup's line reaches the log through postlogd, a moment after swaks ends
relay_reject_qid() {
    QID=$(grep -F "]: $RELAYED_TEXT; from=<carol@example.org> to=<someone@domino.example.com> " "$PF_LOG" |
        sed -n 's/.*postfix\/cleanup\[[0-9]*\]: \([0-9A-F]*\): milter-reject: END-OF-MESSAGE from .*/\1/p' | head -1)
    [ -n "$QID" ]
}
ok_if "milter, 8-bit to domino: the relay logs the milter's reject at end of DATA" \
    wait_for 50 relay_reject_qid
like "$(grep -F "${QID:-no-queue-id}: " "$MILTER_LOG" | grep -F ' reject ')" \
    ": ${QID:-no-queue-id}: client=[^ ]+\[127\.0\.0\.1\] login=\(none\) sender=carol@example\.org reject reason=7bit-only-domain stage=body domain=domino\.example\.com\$" \
    "milter, 8-bit to domino: the milter logs the reject with Postfix's queue id, the stage and the domain"

message milter-7bit "$PF_PORT" 7bit --from carol@example.org --to someone@domino.example.com
passed "milter, 7-bit to domino"
logged "milter, 7-bit to domino" "no reject"
arrived "milter, 7-bit to domino" hop

message milter-other "$PF_PORT" 8bit --from carol@example.org --to someone@other.example.com
passed "milter, 8-bit to other.example.com"
logged "milter, 8-bit to other.example.com" "no reject"
arrived "milter, 8-bit to other.example.com" relay

message milter-notdomino "$PF_PORT" 8bit --from carol@example.org --to x@notdomino.example.com
passed "milter, 8-bit to notdomino.example.com"
logged "milter, 8-bit to notdomino.example.com" "no reject"
arrived "milter, 8-bit to notdomino.example.com" relay

settle
HOP_SEEN=$(hop_connects)
message milter-sub "$PF_PORT" 8bit --from carol@example.org --to x@sub.domino.example.com
refused "milter, 8-bit to sub.domino.example.com" "$RELAYED"
logged "milter, 8-bit to sub.domino.example.com" "reject reason=7bit-only-domain stage=body domain=domino.example.com"

settle
HOP_SEEN=$(hop_connects)
message milter-header "$PF_PORT" 7bit --from carol@example.org --to someone@domino.example.com \
    --header "Organization: $GREETING8"
refused "milter, 7-bit body, 8-bit header, to domino" "$RELAYED"
logged "milter, 7-bit body, 8-bit header, to domino" "reject reason=7bit-only-domain stage=header domain=domino.example.com"

settle
HOP_SEEN=$(hop_connects)
message milter-both "$PF_PORT" 8bit --from carol@example.org \
    --to someone@other.example.com,someone@domino.example.com
refused "milter, 8-bit to other.example.com and domino" "$RELAYED"

settle
HOP_SEEN=$(hop_connects)
message milter-auth "$PF_PORT" 8bit --from janed@example.com --to someone@domino.example.com \
    --auth PLAIN --auth-user janed --auth-password pw-janed
refused "milter, authenticated (janed), 8-bit to domino" "$RELAYED"
logged "milter, authenticated (janed), 8-bit to domino" \
    "login=janed sender=janed@example.com reject reason=7bit-only-domain stage=body domain=domino.example.com"

# eight_bit.undeclared = "reject" alone (no 7-bit-only domains any more):
# 8-bit data needs BODY=8BITMIME, wherever it goes.
milter_conf accept 'eight_bit.undeclared="reject"'
ok_if "the milter reloads on SIGHUP (eight_bit.undeclared = reject)" reload

settle
HOP_SEEN=$(hop_connects)
message undeclared "$PF_PORT" 8bit --from carol@example.org --to someone@other.example.com
refused "undeclared = reject, 8-bit without BODY=8BITMIME" \
    '<** 554 5.6.1 Undeclared 8-bit data (BODY=8BITMIME missing)'
logged "undeclared = reject, 8-bit without BODY=8BITMIME" "reject reason=undeclared-8bit stage=body"

message declared "$PF_PORT" 8bit --from "$(declared carol@example.org)" \
    --header 'From: <carol@example.org>' --to someone@other.example.com
is "$(grep -m1 '^ -> MAIL FROM:' "$OUT")" ' -> MAIL FROM:<carol@example.org> BODY=8BITMIME AUTH=<>' \
    "undeclared = reject: swaks sends BODY=8BITMIME"
passed "undeclared = reject, 8-bit with BODY=8BITMIME"
logged "undeclared = reject, 8-bit with BODY=8BITMIME" "no reject"
arrived "undeclared = reject, 8-bit with BODY=8BITMIME" relay

message undeclared-7bit "$PF_PORT" 7bit --from carol@example.org --to someone@other.example.com
passed "undeclared = reject, 7-bit without BODY=8BITMIME"
logged "undeclared = reject, 7-bit without BODY=8BITMIME" "no reject"
arrived "undeclared = reject, 7-bit without BODY=8BITMIME" relay

# eight_bit.seven_bit_only = true alone: no 8-bit data at all, declared
# or not.
milter_conf accept 'eight_bit.seven_bit_only=true'
ok_if "the milter reloads on SIGHUP (eight_bit.seven_bit_only = true)" reload

settle
HOP_SEEN=$(hop_connects)
message seven-only "$PF_PORT" 8bit --from "$(declared carol@example.org)" \
    --header 'From: <carol@example.org>' --to someone@other.example.com
refused "seven_bit_only = true, declared 8-bit" \
    '<** 554 5.6.3 Conversion to 7-bit required but not supported'
logged "seven_bit_only = true, declared 8-bit" "reject reason=7bit-only stage=body"

message seven-only-7bit "$PF_PORT" 7bit --from carol@example.org --to someone@other.example.com
passed "seven_bit_only = true, 7-bit"
logged "seven_bit_only = true, 7-bit" "no reject"
arrived "seven_bit_only = true, 7-bit" relay

# --- at the end ------------------------------------------------------------------------
settle
ok_if "the relay's queue is empty" postfix_queue_empty
ok_if "domino's queue is empty" on_hop postfix_queue_empty
_leaked=$(grep -rlF -f "$BASE/refused" "$PF_DIR/sink" "$HOP_PF_DIR/sink" | wc -l | tr -d ' ')
is "$_leaked" 0 "no refused message reached a sink"

milter_term
postfix_stop
on_hop postfix_stop
milter_stop
is "$MILTER_STATUS" 0 "homed-milter exits 0 on SIGTERM"
if [ "$TAP_FAILED" -gt 0 ]; then
    diag "--- milter log (last 30 lines)" "$(tail -30 "$MILTER_LOG" 2>/dev/null)"
    diag "--- relay log (last 30 lines)" "$(tail -30 "$PF_LOG")"
    diag "--- domino log (last 15 lines)" "$(tail -15 "$HOP_PF_DIR/maillog")"
fi
diag "took $(($(date +%s) - T0)) s"
done_testing

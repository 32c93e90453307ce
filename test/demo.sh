#!/bin/sh
# demo.sh - see homed-milter at work, in one command
#
#   sh test/demo.sh                     (as root on Debian 12, from a clone)
#   HM_NO_INSTALL=1 sh test/demo.sh     (the packages are already there)
#
# Installs what is needed (apt-get), builds homed-milter (in _build/demo,
# or HM_BUILDDIR), starts a private LDAP server loaded with
# etc/example.ldif, the milter and a private Postfix with SMTP AUTH, sends
# eight messages with swaks (three for the homed rule as the user janed;
# one for the 8-bit rule of the second seed, an 8-bit message to a domain
# whose next hop takes 7-bit only; four for delegation: janed sends as the
# shared mailbox sales@, writes on behalf of bob@ with and without her own
# Sender:, and alice, who has no such right, tries sales@), and shows what
# the server answered and what the milter logged. Then it stops
# everything it started.
# Postfix runs as Debian ships it (its stock master.cf: smtpd chrooted in
# the queue directory), so the milter's socket is in the private queue
# directory, named unix:/homed-milter/homed-milter.sock in smtpd_milters,
# as the README's "Attaching it to Postfix" says.
# Nothing listens on anything but 127.0.0.1 and unix sockets in a
# temporary directory; no mail leaves the machine (Postfix discards it).
# Exit 0 when all eight messages were treated as expected.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${HM_BUILDDIR:-$SRC/_build/demo}
HM=$BUILD/homed-milter
PACKAGES="build-essential autoconf automake pkg-config m4 libmilter-dev libldap-dev
 libconfig-dev libsystemd-dev libidn2-dev libcmocka-dev slapd ldap-utils postfix sasl2-bin libsasl2-modules swaks
 openssl"
PRC=""  # a policy-rc.d we created and must remove
BASE="" # the temporary directory of the private servers

say() { printf '%s\n' "$*"; }
die() {
    say "demo: $*" >&2
    exit 1
}

cleanup() {
    [ -n "$PRC" ] && rm -f "$PRC"
    [ -n "$BASE" ] || return 0
    milter_term
    postfix_stop
    slapd_stop
    milter_stop
    rm -rf "$BASE"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

[ "$(id -u)" = 0 ] || die "run me as root: Postfix needs it (and apt-get, unless HM_NO_INSTALL=1)"

# --- 1. packages ---------------------------------------------------------------------
mkdir -p "$BUILD" || die "cannot create $BUILD"
if [ "${HM_NO_INSTALL:-}" != 1 ]; then
    say "==> Installing packages with apt-get (log: $BUILD/demo-apt.log)"
    export DEBIAN_FRONTEND=noninteractive
    # Postfix without a system configuration; no packaged service may start.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        PRC=/usr/sbin/policy-rc.d
    fi
    # shellcheck disable=SC2086
    { apt-get update -q && apt-get install -y -q --no-install-recommends $PACKAGES; } \
        >"$BUILD/demo-apt.log" 2>&1 || {
        tail -20 "$BUILD/demo-apt.log" >&2
        die "apt-get failed"
    }
    [ -n "$PRC" ] && rm -f "$PRC"
    PRC=""
fi

# --- 2. build ------------------------------------------------------------------------------
say "==> Building homed-milter in $BUILD (log: $BUILD/demo-build.log)"
{
    if [ ! -f "$BUILD/Makefile" ]; then
        { [ -x "$SRC/configure" ] || (cd "$SRC" && autoreconf -fi); } &&
            (cd "$BUILD" && "$SRC/configure" -q)
    fi &&
        make -C "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" homed-milter
} >"$BUILD/demo-build.log" 2>&1 || {
    tail -20 "$BUILD/demo-build.log" >&2
    die "the build failed"
}

# --- 3. the private servers ---------------------------------------------------------------
. "$SRC/test/lib/daemon.sh"
. "$SRC/test/e2e/lib-milter.sh"
. "$SRC/test/e2e/lib-postfix.sh"
BASE=$(mktemp -d "${TMPDIR:-/tmp}/homed-milter-demo.XXXXXX") || die "mktemp failed"
chmod 755 "$BASE" # Postfix's daemons (user postfix) must reach the milter socket
SLAPD_DIR=$BASE/slapd
MILTER_DIR=$BASE/milter
PF_DIR=$BASE/postfix
mkdir -p "$SLAPD_DIR" "$MILTER_DIR" "$PF_DIR"
# The socket inside Postfix's chroot (its queue directory), as on Debian.
postfix_milter_dir || die "cannot create the socket's directory in Postfix's queue directory"
# shellcheck disable=SC2034 # read by milter_conf (lib-milter.sh)
MILTER_SOCKET_DIR=$PF_MILTER_DIR

say "==> Starting a private slapd with etc/example.ldif, homed-milter and Postfix"
slapd_init "$SRC/etc/example.ldif" >/dev/null || die "slapadd failed"
slapd_start || die "slapd did not start"
milter_conf accept 'eight_bit.seven_bit_only_domains=[ "domino.example.com" ]' \
    'ldap.delegation_filter="(&(|(mail=%s)(mailLocalAddress=%s))(seeAlso=%D))"' \
    'ldap.on_behalf_filter="(&(mail=%s)(secretary=%D))"'
milter_start || die "homed-milter did not start"
postfix_init "unix:$(postfix_chroot_name "$MILTER_SOCKET_PATH")" mail.example.com ||
    die "cannot configure Postfix"
postfix_adduser janed janed-demo-password || die "saslpasswd2 failed"
postfix_adduser alice alice-demo-password || die "saslpasswd2 failed"
postfix_start || die "Postfix did not start (see $PF_LOG)"

cat <<EOF

  directory    a private slapd (socket $SLAPD_DIR/ldapi)
               janed  (janed@example.com, jane.doe@example.com)  home: mail.example.com
               johnd  (JohnD@COMPANY1.com)                       home: mail.company1.com
  milter       $HM
               local_hosts = [ "mail.example.com" ]
               eight_bit.seven_bit_only_domains = [ "domino.example.com" ]
               ldap.delegation_filter = "(&(|(mail=%s)(mailLocalAddress=%s))(seeAlso=%D))"
                 (sales: seeAlso uid=janed: janed may send as sales@example.com)
               ldap.on_behalf_filter = "(&(mail=%s)(secretary=%D))"
                 (bob: secretary uid=janed: janed may write on behalf of bob@example.com)
               socket $MILTER_SOCKET
  mail server  Postfix $("$POSTCONF" -c "$PF_CONF" -dh mail_version) on 127.0.0.1:$PF_PORT, SMTP AUTH users janed, alice
               Debian's stock master.cf: smtpd chrooted in $PF_SPOOL
               smtpd_milters = $("$POSTCONF" -c "$PF_CONF" -h smtpd_milters)
  client       swaks, logged in as janed

EOF

# --- 4. eight messages -----------------------------------------------------------------------
EXPECTED=0
N=0
SERVER=127.0.0.1:$PF_PORT
LOGIN=janed
AUTH="--auth PLAIN --auth-user janed --auth-password janed-demo-password"

# shown OUT COMMAND: the server's reply to COMMAND, without swaks' marks
shown() { reply_to "$1" "$2" | sed -e 's/^<- *//' -e 's/^<\*\* *//'; }

# outcome WANT GOT TEXT: say whether GOT (accepted, mail, data) is WANT
outcome() {
    if [ "$1" = "$2" ]; then
        EXPECTED=$((EXPECTED + 1))
        say "   => $3, as expected"
    else
        say "   => UNEXPECTED: $3 was wanted (transcript: $OUT)"
    fi
    say ""
}

# stage OUT: accepted, mail (refused at MAIL FROM) or data (at end of DATA)
stage() {
    case "$(reply_to "$1" "MAIL FROM")" in
    "<-  250"*) ;;
    *) echo mail && return ;;
    esac
    case "$(reply_to "$1" .)" in
    "<-  250"*) echo accepted ;;
    *) echo data ;;
    esac
}

# demo_send TITLE FROM [HEADER [TO [SWAKS-ARGS...]]]: one message; prints the
# dialogue's key lines
demo_send() {
    N=$((N + 1))
    say "$N. $1"
    _from=$2
    _header=${3:-}
    _to=${4:-bob@example.org}
    shift $(($# < 4 ? $# : 4))
    # shellcheck disable=SC2086
    smtp_send "demo$N" "$SERVER" $AUTH --from "$_from" --to "$_to" \
        ${_header:+--header "$_header"} "$@"
    OUT=$MILTER_DIR/demo$N.swaks
    say "   client: AUTH PLAIN as $LOGIN"
    say "   server: $(shown "$OUT" "AUTH")"
    say "   client: MAIL FROM:<$_from>"
    say "   server: $(shown "$OUT" "MAIL FROM")"
    if [ -n "$(reply_to "$OUT" .)" ]; then
        say "   client: RCPT TO:<$_to>, DATA, the message${_header:+ with $_header}, ."
        say "   server: $(shown "$OUT" .)"
    fi
}

demo_send "janed sends as herself" janed@example.com
outcome accepted "$(stage "$OUT")" "accepted"

demo_send "janed sends as johnd@company1.com: not her address, and John is homed elsewhere" \
    johnd@company1.com
outcome mail "$(stage "$OUT")" "rejected at MAIL FROM"

demo_send "janed uses her own envelope sender but forges the From: header" \
    janed@example.com "From: John Doe <JohnD@COMPANY1.com>"
outcome data "$(stage "$OUT")" "rejected at end of DATA"

say "   The second seed: an IIS server relayed 8-bit MIME mail to a Lotus Domino"
say "   server without 8BITMIME and the user got a non-delivery report much later."
say "   Here domino.example.com is that 7-bit-only next hop."
demo_send "janed sends 8-bit text (UTF-8, Content-Transfer-Encoding: 8bit) to domino.example.com" \
    janed@example.com "Content-Transfer-Encoding: 8bit" jo@domino.example.com \
    --add-header "MIME-Version: 1.0" \
    --add-header "Content-Type: text/plain; charset=utf-8" \
    --body "$(printf 'Gr\303\274\303\237e aus K\303\266ln')"
outcome data "$(stage "$OUT")" "rejected at end of DATA, while the client is connected"

say "   Delegation, as Exchange has it: Send As and Send on Behalf."
demo_send "janed sends as the shared mailbox sales@example.com (send as)" \
    sales@example.com "From: Sales <sales@example.com>"
outcome accepted "$(stage "$OUT")" "accepted"

demo_send "janed writes on behalf of bob@example.com, with her own Sender:" \
    janed@example.com "From: Bob Boss <bob@example.com>" bob@example.org \
    --add-header "Sender: Jane Doe <janed@example.com>"
outcome accepted "$(stage "$OUT")" "accepted: recipients see \"Jane Doe on behalf of Bob Boss\""

demo_send "janed writes as bob@example.com without a Sender: (on behalf needs one)" \
    janed@example.com "From: Bob Boss <bob@example.com>"
outcome data "$(stage "$OUT")" "rejected at end of DATA"

LOGIN=alice
AUTH="--auth PLAIN --auth-user alice --auth-password alice-demo-password"
demo_send "alice, who has no right to it, sends as sales@example.com" sales@example.com
outcome mail "$(stage "$OUT")" "rejected at MAIL FROM"

_roots=$(postfix_smtpd_roots | awk '{ print $2 }' | sort -u | paste -sd ' ' -)
say "Postfix's smtpd served these from inside its chroot: its root (/proc/PID/root) is ${_roots:-(no smtpd running)}"
say ""

say "What homed-milter logged (to syslog, facility mail; here also to stderr):"
sed 's/^/   /' "$MILTER_LOG"
say "   (A reject at MAIL FROM is logged at once as NOQUEUE: Postfix has no queue"
say "   id yet. A message that goes on is logged at end of DATA, under the queue id"
say "   Postfix gave it: grep that id in Postfix's log to see both sides.)"
say ""

# --- 5. stop what was started --------------------------------------------------------------
milter_term
postfix_stop
slapd_stop
milter_stop
rm -rf "$BASE"
BASE=""
say "Stopped the private slapd, Postfix and homed-milter."
if [ "$EXPECTED" -eq 8 ]; then
    say "All eight outcomes as expected."
    exit 0
fi
say "Only $EXPECTED of 8 outcomes as expected."
exit 1

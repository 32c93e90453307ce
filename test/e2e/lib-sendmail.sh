# lib-sendmail.sh - a private Sendmail with SMTP AUTH for tests (sourced)
#
# Sendmail conflicts with Postfix as a package, so it is never installed:
# sendmail-bin and sendmail-cf are unpacked with dpkg -x under SM_DIR and
# the daemon runs from there as root. Needs SM_DIR (an empty directory
# owned by the test) and, from test/lib/slapd.sh, alive, wait_for, wait_gone,
# port_open and free_port.
# Binds only to 127.0.0.1 and never looks anything up in the DNS. Sendmail
# resolves its own host name before it reads sendmail.cf and waits a
# minute when that name has no dot, so its name comes from a private hosts
# file bind-mounted over /etc/hosts in a private mount namespace (unshare
# -m, which needs CAP_SYS_ADMIN). Without that permission it runs directly,
# provided the machine's name already resolves to a dotted name.
#
# sendmail_usable      true when this machine can run it (root, dpkg, m4,
#                      saslpasswd2, and unshare -m or a dotted host name);
#                      else SM_WHY says why not (SM_NO_UNSHARE=1 tries
#                      the direct way only)
# sendmail_fetch       unpack the two packages: from SENDMAIL_DEBS (a
#                      directory holding sendmail-bin_*.deb and
#                      sendmail-cf_*.deb) or with apt-get download
# sendmail_init MILTER [SINK_PORT] [HOSTNAME]
#                      write sendmail.cf: MILTER in libmilter syntax
#                      (unix:/path or inet:PORT@127.0.0.1), timeouts of a
#                      few seconds, fail temporarily when the milter is
#                      unreachable (F=T); with SINK_PORT, every message is
#                      relayed at once to 127.0.0.1:SINK_PORT (e.g.
#                      smtp-sink), else it stays in SM_DIR/mqueue.
#                      HOSTNAME (default mail.example.com) is its name and
#                      SASL realm.
# sendmail_adduser LOGIN PASSWORD   a SASL (sasldb) user
# sendmail_start       start the daemon (-bD) and wait until it answers
# sendmail_stop        stop it and wait until it is gone
# sendmail_queue_count messages in its queue
# After sendmail_init: SM_PORT, SM_VERSION.
: "${SASLPASSWD2:=$(command -v saslpasswd2 || echo /usr/sbin/saslpasswd2)}"

sendmail_usable() {
    SM_WHY=""
    if [ "$(id -u)" != 0 ]; then
        SM_WHY="not root"
    elif ! command -v m4 >/dev/null || ! command -v dpkg >/dev/null; then
        SM_WHY="m4 or dpkg missing"
    elif ! [ -x "$SASLPASSWD2" ]; then
        SM_WHY="saslpasswd2 (sasl2-bin) missing"
    elif [ "${SM_NO_UNSHARE:-}" != 1 ] &&
        unshare -m sh -c 'mount --bind /etc/hosts /etc/hosts' 2>/dev/null; then
        SM_NS=1
    elif getent hosts "$(hostname)" | awk '{ for (i = 2; i <= NF; i++) if ($i ~ /[.]/) f = 1 } END { exit !f }'; then
        SM_NS=0 # the system's own /etc/hosts will do
    else
        SM_WHY="unshare -m is not permitted here (needs CAP_SYS_ADMIN) and this host's name ($(hostname)) does not resolve to a dotted name"
    fi
    [ -z "$SM_WHY" ]
}

sendmail_fetch() {
    mkdir -p "$SM_DIR/debs" "$SM_DIR/root" || return 1
    if [ -n "${SENDMAIL_DEBS:-}" ]; then
        cp "$SENDMAIL_DEBS"/sendmail-bin_*.deb "$SENDMAIL_DEBS"/sendmail-cf_*.deb \
            "$SM_DIR/debs/" 2>"$SM_DIR/fetch.out" || {
            sed 's/^/# /' "$SM_DIR/fetch.out" >&2
            return 1
        }
    else
        (cd "$SM_DIR/debs" && apt-get download -q sendmail-bin sendmail-cf) \
            >"$SM_DIR/fetch.out" 2>&1 || {
            sed 's/^/# /' "$SM_DIR/fetch.out" >&2
            return 1
        }
    fi
    for _deb in "$SM_DIR"/debs/*.deb; do
        dpkg -x "$_deb" "$SM_DIR/root" || return 1
    done
    # A private copy without the setgid bit.
    cp "$SM_DIR/root/usr/libexec/sendmail/sendmail" "$SM_DIR/sendmail" &&
        chmod 755 "$SM_DIR/sendmail"
}

# sendmail_ns ARGS...: run the private sendmail (with the private hosts
# file when it can); exec'd, so that a background job's $! is sendmail's pid
sendmail_ns() {
    if [ "${SM_NS:-1}" = 1 ]; then
        exec unshare -m sh -c 'mount --bind "$1/hosts" /etc/hosts && shift && exec "$@"' \
            sh "$SM_DIR" "$SM_DIR/sendmail" -C "$SM_DIR/sendmail.cf" "$@"
    fi
    exec "$SM_DIR/sendmail" -C "$SM_DIR/sendmail.cf" "$@"
}

# sendmail_defines NAME VALUE...: the m4 line define(`NAME', `VALUE')dnl for each pair
sendmail_defines() {
    printf "define(\`%s', \`%s')dnl\n" "$@"
}

sendmail_init() {
    _r=$SM_DIR/root
    SM_HOSTNAME=${3:-mail.example.com}
    SM_PORT=$(free_port)
    mkdir -p "$SM_DIR/mqueue" "$SM_DIR/sasl" && chmod 700 "$SM_DIR/mqueue" || return 1
    printf 'hosts files\naliases files\n' > "$SM_DIR/service.switch"
    printf 'postmaster: root\n' > "$SM_DIR/aliases"
    _h=$(hostname)
    printf '127.0.0.1 %s localhost %s\n::1 %s localhost %s\n' \
        "$SM_HOSTNAME" "$_h" "$SM_HOSTNAME" "$_h" > "$SM_DIR/hosts"
    if [ -n "${2:-}" ]; then
        _delivery=$(sendmail_defines SMART_HOST 'relay:[127.0.0.1]' \
            RELAY_MAILER_ARGS "TCP \$h $2" confDELIVERY_MODE background)
    else
        _delivery=$(sendmail_defines confDELIVERY_MODE queue)
    fi
    _defines=$(sendmail_defines \
        confDOMAIN_NAME "$SM_HOSTNAME" \
        confSERVICE_SWITCH_FILE "$SM_DIR/service.switch" \
        confHOSTS_FILE /etc/hosts \
        QUEUE_DIR "$SM_DIR/mqueue" \
        confPID_FILE "$SM_DIR/sendmail.pid" \
        STATUS_FILE "$SM_DIR/statistics" \
        HELP_FILE "$_r/etc/mail/helpfile" \
        ALIAS_FILE "$SM_DIR/aliases" \
        confDONT_BLAME_SENDMAIL TrustStickyBit \
        confDONT_PROBE_INTERFACES True \
        confTO_IDENT 0s \
        confAUTH_MECHANISMS "PLAIN LOGIN")
    cat > "$SM_DIR/e2e.mc" <<MC
include(\`$_r/usr/share/sendmail/cf/m4/cf.m4')dnl
OSTYPE(\`linux')dnl
$_defines
TRUST_AUTH_MECH(\`PLAIN LOGIN')dnl
$_delivery
FEATURE(\`no_default_msa')dnl
FEATURE(\`nocanonify')dnl
FEATURE(\`accept_unresolvable_domains')dnl
DAEMON_OPTIONS(\`Family=inet, Name=MTA, Addr=127.0.0.1, Port=$SM_PORT')dnl
INPUT_MAIL_FILTER(\`homed-milter', \`S=$1, F=T, T=C:3s;S:3s;R:3s;E:5s')dnl
MAILER(\`smtp')dnl
LOCAL_CONFIG
# sendmail empties its environment: the SASL configuration path goes here
ESASL_CONF_PATH=$SM_DIR/sasl
MC
    m4 "$SM_DIR/e2e.mc" > "$SM_DIR/sendmail.cf" 2>"$SM_DIR/m4.out" || {
        sed 's/^/# /' "$SM_DIR/m4.out" >&2
        return 1
    }
    cat > "$SM_DIR/sasl/Sendmail.conf" <<SASL
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $SM_DIR/sasl/sasldb2
SASL
    SM_VERSION=$(sed -n 's/^DZ//p' "$SM_DIR/sendmail.cf")
    (sendmail_ns -bi) >"$SM_DIR/newaliases.out" 2>&1
}

# Sendmail gives Cyrus SASL its own name as the realm of bare logins.
sendmail_adduser() {
    printf '%s' "$2" | "$SASLPASSWD2" -p -c -f "$SM_DIR/sasl/sasldb2" -u "$SM_HOSTNAME" "$1" &&
        chmod 600 "$SM_DIR/sasl/sasldb2"
}

sendmail_start() {
    # -bD: the daemon stays in the foreground; the background subshell,
    # unshare and sh all exec it in turn, so $! is its pid
    (sendmail_ns -bD) </dev/null >"$SM_DIR/daemon.out" 2>&1 3>&- &
    SM_PID=$!
    wait_for 100 eval 'port_open "$SM_PORT" || ! alive "$SM_PID"'
    port_open "$SM_PORT" && alive "$SM_PID" || {
        echo "# sendmail did not come up:" >&2
        sed 's/^/#   /' "$SM_DIR/daemon.out" >&2
        return 1
    }
}

sendmail_stop() {
    [ -n "${SM_PID:-}" ] || return 0
    kill -TERM "$SM_PID" 2>/dev/null
    wait_gone "$SM_PID"
    SM_PID=""
}

sendmail_queue_count() {
    find "$SM_DIR/mqueue" -name 'qf*' -type f 2>/dev/null | wc -l | tr -d ' '
}

# slapd.sh - a private slapd for tests (sourced)
#
# Needs SLAPD_DIR (an empty directory owned by the test). Binds only to a
# unix socket under SLAPD_DIR and to 127.0.0.1 on a free port.
#
# slapd_init LDIF...  write slapd.conf, load the LDIF files with slapadd
#                     (cn=milter reads everything; anonymous reads only janed)
# slapd_start         start it and wait until it answers
# slapd_stop          stop it (also when hung), wait until it is gone
# slapd_hang / slapd_resume   SIGSTOP / SIGCONT
# After slapd_init: SLAPD_LDAPI_URL, SLAPD_LDAP_URL, and with TLS (see
# slapd_make_certs, called before slapd_init) SLAPD_LDAPS_URL and
# $SLAPD_DIR/tls/ca.crt, the CA that signed the server's certificate.
# SLAPD_MAXSIZE: the database's size limit in bytes (default 16 MB).
# SLAPD_CONF_GLOBAL, SLAPD_CONF_DB: more slapd.conf lines, global (after
# the modules) and the database's (before its access rules), e.g. for
# replication (test/replica). Several instances: one SLAPD_DIR each, and
# the URLs slapd_init set saved and put back before slapd_start/stop.
# HM_SLAPD, HM_SLAPADD, HM_SLAPPASSWD: the programs from elsewhere.
: "${SLAPD:=${HM_SLAPD:-$(command -v slapd || echo /usr/sbin/slapd)}}"
: "${SLAPADD:=${HM_SLAPADD:-$(command -v slapadd || echo /usr/sbin/slapadd)}}"
: "${SLAPPASSWD:=${HM_SLAPPASSWD:-$(command -v slappasswd || echo /usr/sbin/slappasswd)}}"
SLAPD_SUFFIX=dc=example,dc=com

# alive PID: true while PID exists and is not a zombie
alive() { [ -r "/proc/$1/stat" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]; }

# wait_for TENTHS CMD...: run CMD every tenth of a second until it
# succeeds; returns 1 when it still fails after TENTHS tries.
wait_for() {
    _w=$1
    shift
    until "$@"; do
        _w=$((_w - 1))
        [ "$_w" -gt 0 ] || return 1
        sleep 0.1
    done
}

# wait_gone PID [TENTHS]: wait until PID is gone, KILL it after TENTHS
# tenths of a second (default 50); reaps it when it is our child.
wait_gone() {
    _w=0
    while alive "$1"; do
        _w=$((_w + 1))
        [ $_w -gt "${2:-50}" ] && kill -KILL "$1" 2>/dev/null
        sleep 0.1
    done
    wait "$1" 2>/dev/null
}

# A TCP port nothing listens on now (the kernel's pick is not reachable
# from a shell, so try random high ports against /proc/net/tcp).
free_port() {
    # Below the kernel's ephemeral range: a client connecting thousands of
    # times a second to a stopped server could otherwise be given that
    # very port as its own source port (a TCP self-connect), and the
    # server could not bind it again when it restarts.
    _lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    case $_lo in '' | *[!0-9]*) _lo=0 ;; esac
    while :; do
        if [ "$_lo" -gt 12000 ]; then
            _p=$(($(od -An -N2 -tu2 /dev/urandom) % (_lo - 10000) + 10000))
        else
            _p=$(($(od -An -N2 -tu2 /dev/urandom) % 20000 + 30000))
        fi
        grep -q ":$(printf '%04X' "$_p") " /proc/net/tcp /proc/net/tcp6 2>/dev/null ||
            { echo "$_p"; return; }
    done
}

# port_open PORT: whether something listens on 127.0.0.1:PORT
port_open() {
    grep -q "^ *[0-9]*: 0100007F:$(printf '%04X' "$1") 00000000:0000 0A " /proc/net/tcp 2>/dev/null
}

urlencode_path() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n' | sed 's/\(..\)/%\1/g'; }

# slapd_make_certs: a throw-away CA and a server certificate for
# localhost / 127.0.0.1, plus a second CA that signed nothing.
slapd_make_certs() {
    _t=$SLAPD_DIR/tls
    mkdir -p "$_t" || return 1
    for _ca in ca other; do
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -keyout "$_t/$_ca.key" -out "$_t/$_ca.crt" -subj "/CN=homed-milter test $_ca" \
            2>/dev/null || return 1
    done
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost \
        -keyout "$_t/server.key" -out "$_t/server.csr" 2>/dev/null || return 1
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > "$_t/ext"
    openssl x509 -req -in "$_t/server.csr" -CA "$_t/ca.crt" -CAkey "$_t/ca.key" \
        -CAcreateserial -days 2 -extfile "$_t/ext" -out "$_t/server.crt" 2>/dev/null
}

slapd_init() {
    mkdir -p "$SLAPD_DIR/db"
    SLAPD_PORT=$(free_port)
    SLAPD_LDAPI_URL="ldapi://$(urlencode_path "$SLAPD_DIR/ldapi")"
    SLAPD_LDAP_URL="ldap://127.0.0.1:$SLAPD_PORT"
    SLAPD_LDAPS_URL=""
    _tls=""
    if [ -f "$SLAPD_DIR/tls/server.crt" ]; then
        SLAPD_LDAPS_URL="ldaps://127.0.0.1:$(free_port)"
        _tls="TLSCACertificateFile $SLAPD_DIR/tls/ca.crt
TLSCertificateFile $SLAPD_DIR/tls/server.crt
TLSCertificateKeyFile $SLAPD_DIR/tls/server.key"
    fi
    cat > "$SLAPD_DIR/slapd.conf" <<CONF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/misc.schema
pidfile  $SLAPD_DIR/slapd.pid
argsfile $SLAPD_DIR/slapd.args
$_tls
modulepath /usr/lib/ldap
moduleload back_mdb
${SLAPD_CONF_GLOBAL:-}
database mdb
maxsize ${SLAPD_MAXSIZE:-16777216}
suffix "$SLAPD_SUFFIX"
rootdn "cn=admin,$SLAPD_SUFFIX"
rootpw $("$SLAPPASSWD" -s rootsecret)
directory $SLAPD_DIR/db
index objectClass,uid,mail,mailLocalAddress,seeAlso,secretary eq
${SLAPD_CONF_DB:-}
access to attrs=userPassword
  by anonymous auth
  by * none
access to dn.base="ou=people,$SLAPD_SUFFIX"
  by dn.exact="cn=milter,$SLAPD_SUFFIX" read
  by anonymous search
  by * none
access to dn.exact="uid=janed,ou=people,$SLAPD_SUFFIX"
  by dn.exact="cn=milter,$SLAPD_SUFFIX" read
  by anonymous read
  by * none
access to *
  by dn.exact="cn=milter,$SLAPD_SUFFIX" read
  by * none
CONF
    for _ldif in "$@"; do
        "$SLAPADD" -q -f "$SLAPD_DIR/slapd.conf" -l "$_ldif" || return 1
    done
}

slapd_start() {
    rm -f "$SLAPD_DIR/slapd.pid"
    "$SLAPD" -f "$SLAPD_DIR/slapd.conf" \
        -h "$SLAPD_LDAPI_URL $SLAPD_LDAP_URL/ ${SLAPD_LDAPS_URL:+$SLAPD_LDAPS_URL/}" \
        3>&- || return 1   # the daemon must not keep a test's pipe (fd 3) open
    wait_for 100 slapd_answers || { echo "# slapd did not come up" >&2; return 1; }
}

# slapd_answers: the pid file is written and both URLs answer a search
slapd_answers() {
    [ -s "$SLAPD_DIR/slapd.pid" ] &&
        ldapsearch -x -LLL -H "$SLAPD_LDAPI_URL" -b "" -s base namingContexts \
            >/dev/null 2>&1 &&
        ldapsearch -x -LLL -H "$SLAPD_LDAP_URL" -b "" -s base namingContexts >/dev/null 2>&1
}

# state PID: the one-letter process state (R, S, T, Z...)
state() { sed 's/.*) //' "$1" 2>/dev/null | cut -c1; }

slapd_stop() {
    [ -f "$SLAPD_DIR/slapd.pid" ] || return 0
    _pid=$(cat "$SLAPD_DIR/slapd.pid")
    kill -CONT "$_pid" 2>/dev/null
    kill -TERM "$_pid" 2>/dev/null
    wait_gone "$_pid"
    rm -f "$SLAPD_DIR/slapd.pid"
}

# slapd_hang: SIGSTOP, and wait until every thread has stopped (state T):
# under load the stop is not instant, and a test must not race it.
slapd_hang() {
    _pid=$(cat "$SLAPD_DIR/slapd.pid")
    kill -STOP "$_pid" || return 1
    wait_for 50 eval '[ "$(state "/proc/$_pid/stat")" = T ]' ||
        { echo "# slapd $_pid did not stop" >&2; return 1; }
    for _t in /proc/"$_pid"/task/*; do
        wait_for 50 eval '[ "$(state "$_t/stat")" != R ]' || return 1
    done
}
slapd_resume() { kill -CONT "$(cat "$SLAPD_DIR/slapd.pid")"; }

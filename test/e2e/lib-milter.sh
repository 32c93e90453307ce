# lib-milter.sh - the real homed-milter and an SMTP client for tests (sourced)
#
# Needs HM (the homed-milter binary), MILTER_DIR (a directory owned by the
# test that the MTA's user can traverse), SLAPD_LDAPI_URL (test/lib/slapd.sh)
# and, from slapd.sh, alive.
#
# milter_conf UNAUTH [POLICY] [EXTRA]
#                      write MILTER_DIR/homed-milter.conf for the sample
#                      directory: policy.unauthenticated = UNAUTH, more
#                      policy keys in POLICY, EXTRA appended at the top level
# milter_start         start it in the foreground (log: MILTER_LOG) and wait
#                      for its socket
# milter_reload        SIGHUP and wait until it says "reloaded"
# milter_term          SIGTERM, do not wait (libmilter takes up to ~5 s
#                      to notice; stop other things meanwhile)
# milter_stop          SIGTERM unless sent, wait until it is gone; its exit
#                      status is then in MILTER_STATUS
# After milter_conf: MILTER_SOCKET (libmilter syntax, unix:/path) and
# MILTER_SOCKET_PATH.
#
# smtp_send NAME SERVER:PORT SWAKS-ARGS...
#                      one SMTP transaction with swaks; the transcript is in
#                      MILTER_DIR/NAME.swaks, the exit code in SWAKS_RC
# reply_to OUT COMMAND the server's first reply line to the client's
#                      COMMAND ("MAIL FROM", "RCPT TO", "AUTH", "." ...)
#                      in transcript OUT, with swaks' "<- " / "<** " prefix
: "${SWAKS:=$(command -v swaks || echo /usr/bin/swaks)}"

milter_conf() {
    MILTER_SOCKET_PATH=$MILTER_DIR/homed-milter.sock
    MILTER_SOCKET=unix:$MILTER_SOCKET_PATH
    MILTER_LOG=$MILTER_DIR/milter.log
    printf 'miltersecret\n' > "$MILTER_DIR/ldap.secret"
    chmod 600 "$MILTER_DIR/ldap.secret"
    cat > "$MILTER_DIR/homed-milter.conf" <<CONF
# homed-milter for the sample directory (etc/example.ldif)
socket = "$MILTER_SOCKET";
socket_mode = "0666";          # the MTA runs as another user (postfix)
log_level = "info";
local_hosts = [ "mail.example.com" ];
ldap = {
  uri = [ "$SLAPD_LDAPI_URL" ];
  bind_dn = "cn=milter,dc=example,dc=com";
  bind_password_file = "$MILTER_DIR/ldap.secret";
  base = "ou=people,dc=example,dc=com";
  timeout = 2;
};
policy = {
  unauthenticated = "$1";
  ${2:-}
};
${3:-}
CONF
}

milter_start() {
    "$HM" -n -c "$MILTER_DIR/homed-milter.conf" >"$MILTER_DIR/check.out" 2>&1 || {
        sed 's/^/# /' "$MILTER_DIR/check.out" >&2
        return 1
    }
    rm -f "$MILTER_SOCKET_PATH"
    "$HM" -f -c "$MILTER_DIR/homed-milter.conf" </dev/null >>"$MILTER_LOG" 2>&1 3>&- &
    MILTER_PID=$!
    MILTER_TERMED=""
    wait_for 50 eval '[ -S "$MILTER_SOCKET_PATH" ] || ! alive "$MILTER_PID"'
    [ -S "$MILTER_SOCKET_PATH" ] && alive "$MILTER_PID" || {
        echo "# homed-milter did not come up:" >&2
        sed 's/^/#   /' "$MILTER_LOG" >&2
        return 1
    }
}

milter_reload() {
    _n=$(grep -c 'reloaded' "$MILTER_LOG")
    kill -HUP "$MILTER_PID" || return 1
    wait_for 50 eval '[ "$(grep -c reloaded "$MILTER_LOG")" -gt "$_n" ]'
}

milter_term() {
    [ -n "${MILTER_PID:-}" ] && [ -z "${MILTER_TERMED:-}" ] || return 0
    kill -TERM "$MILTER_PID" 2>/dev/null
    MILTER_TERMED=1
}

milter_stop() {
    [ -n "${MILTER_PID:-}" ] || return 0
    milter_term
    _i=0
    while alive "$MILTER_PID"; do
        _i=$((_i + 1))
        [ $_i -gt 100 ] && kill -KILL "$MILTER_PID" 2>/dev/null
        sleep 0.1
    done
    wait "$MILTER_PID" 2>/dev/null
    MILTER_STATUS=$?
    MILTER_PID=""
    MILTER_TERMED=""
}

smtp_send() {
    _name=$1
    _server=$2
    shift 2
    "$SWAKS" --server "$_server" --timeout 15 --helo client.example.net "$@" \
        </dev/null >"$MILTER_DIR/$_name.swaks" 2>&1
    SWAKS_RC=$?
}

reply_to() {
    awk -v cmd="$2" '
        index($0, " -> " cmd) == 1 { want = 1; next }
        want && /^<(-|\*\*) / { print; exit }
    ' "$1"
}

# lib-milter.sh - the real homed-milter and an SMTP client for tests (sourced)
#
# Needs HM (the homed-milter binary), MILTER_DIR (a directory owned by the
# test that the MTA's user can traverse), SLAPD_LDAPI_URL (test/lib/slapd.sh)
# and test/lib/daemon.sh, which starts and stops it (its HM_DIR is
# MILTER_DIR, its name homed-milter).
#
# milter_conf UNAUTH [KEY=VALUE]...
#                      write MILTER_DIR/homed-milter.conf for the sample
#                      directory (hm_conf): policy.unauthenticated = UNAUTH,
#                      the cache's defaults, then the KEYs; the socket is
#                      MILTER_SOCKET_DIR/homed-milter.sock (default
#                      MILTER_DIR; for a chrooted Postfix a directory in
#                      its queue directory, see postfix_milter_dir)
# milter_start         check it with -n, start it in the foreground (log:
#                      MILTER_LOG) and wait until it listens
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
    HM_DIR=$MILTER_DIR
    MILTER_SOCKET_PATH=${MILTER_SOCKET_DIR:-$MILTER_DIR}/homed-milter.sock
    # shellcheck disable=SC2034 # for the MTA's configuration
    MILTER_SOCKET=unix:$MILTER_SOCKET_PATH
    MILTER_LOG=$MILTER_DIR/homed-milter.log
    _mc=$1
    shift
    hm_conf homed-milter "socket=\"$MILTER_SOCKET\"" cache= "policy.unauthenticated=\"$_mc\"" "$@"
}

milter_start() {
    "$HM" -n -c "$MILTER_DIR/homed-milter.conf" >"$MILTER_DIR/check.out" 2>&1 || {
        sed 's/^/# /' "$MILTER_DIR/check.out" >&2
        return 1
    }
    hm_run homed-milter
}

milter_reload() {
    _n=$(grep -c 'reloaded' "$MILTER_LOG")
    kill -HUP "$(hm_pid homed-milter)" || return 1
    wait_for 50 eval '[ "$(grep -c reloaded "$MILTER_LOG")" -gt "$_n" ]'
}

milter_term() { [ -z "${HM_DIR:-}" ] || hm_term homed-milter; }

milter_stop() {
    [ -n "${HM_DIR:-}" ] || return 0
    hm_stop homed-milter
    MILTER_STATUS=$(hm_rc homed-milter)
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

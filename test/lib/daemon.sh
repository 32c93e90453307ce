# daemon.sh - the real homed-milter daemon for tests (sourced;
# sources slapd.sh and tap.sh)
#
# Needs SRC and HM_DIR (a directory owned by the test: each daemon NAME
# has its NAME.conf, NAME.log, NAME.hmpid and, by default, NAME.sock
# there). Sets, unless set: BUILD (HM_BUILDDIR, else SRC), HM (the
# binary there), MLTLOAD (HM_MLTLOAD, else test/tools/mltload there).
#
# hm_conf NAME [KEY=VALUE]...
#       write HM_DIR/NAME.conf (atomically: a reload never reads half a
#       file): the test configuration below, with each KEY (a top-level
#       key, or GROUP.KEY) set to VALUE, written as libconfig text:
#           hm_conf report 'policy.mode="report"' ldap.timeout=3 \
#               "ldap.uri=[ \"$SLAPD_LDAP_URL\" ]"
#       An empty VALUE leaves the key out (ldap.bind_dn=, then the daemon's
#       default applies); GROUP= leaves out what the group held until
#       then (cache=: the cache's defaults). Keys not below are added to their group. One
#       line per value. The test configuration:
#           socket = "unix:HM_DIR/NAME.sock"; socket_mode = "0666";
#           log_level = "info"; local_hosts = [ "mail.example.com" ];
#           ldap = { uri = [ "$SLAPD_LDAPI_URL" ];
#                    bind_dn = "cn=milter,dc=example,dc=com";
#                    bind_password_file = "HM_DIR/secret";
#                    base = "ou=people,dc=example,dc=com"; timeout = 2; };
#           cache = { ttl = 0; negative_ttl = 0; };  (every lookup asks LDAP)
#       HM_DIR/secret, the sample directory's bind password (mode 600), is
#       written when it is not there.
# hm_start NAME [WRAPPER...]
#       start the daemon on HM_DIR/NAME.conf in the foreground (-f), under
#       WRAPPER (default: HM_DAEMON_WRAPPER, e.g. "valgrind -q"), its
#       output appended to HM_DIR/NAME.log, its pid in HM_DIR/NAME.hmpid;
#       NAME joins HM_DAEMONS. Does not wait.
# hm_up NAME [TENTHS]
#       wait (default HM_PATIENCE tenths of a second: 100, 600 under a
#       wrapper) until it runs, its unix socket is there and its log says
#       "started, listening" once more than before hm_start (at log_level
#       error or warning, which leave that line out, the socket is
#       enough). Returns 1, the end of its log on stderr, when it died or
#       did not get there.
# hm_run NAME [WRAPPER...]   hm_start, then hm_up
# hm_pid NAME / hm_alive NAME   its pid ("none" when not started: kill
#       refuses it) / whether it still runs
# hm_term [NAME...]
#       SIGTERM (once), no wait (libmilter takes up to 5 s to notice: stop
#       other things meanwhile); default every daemon of HM_DAEMONS
# hm_stop [NAME...]
#       SIGTERM to all at once, then wait for each (3 x HM_PATIENCE), KILL
#       what is still there; hm_rc NAME is then its exit status ("killed"
#       when it had to be, "unknown" when it was never stopped)
# hm_stop_pid PID [TENTHS]
#       the same for one process of this shell (default 15 s); HM_RC gets
#       its exit status
: "${BUILD:=${HM_BUILDDIR:-$SRC}}"
: "${HM:=$BUILD/homed-milter}"
: "${MLTLOAD:=${HM_MLTLOAD:-$BUILD/test/tools/mltload}}"
. "$SRC/test/lib/slapd.sh"
. "$SRC/test/lib/tap.sh"
HM_DAEMONS=""
if [ -n "${HM_DAEMON_WRAPPER:-}" ]; then : "${HM_PATIENCE:=600}"; else : "${HM_PATIENCE:=100}"; fi

hm_conf() {
    _hc=$1
    shift
    if [ ! -f "$HM_DIR/secret" ]; then
        printf 'miltersecret\n' > "$HM_DIR/secret" && chmod 600 "$HM_DIR/secret"
    fi
    {
        printf '%s\n' "socket=\"unix:$HM_DIR/$_hc.sock\"" 'socket_mode="0666"' \
            'log_level="info"' 'local_hosts=[ "mail.example.com" ]' \
            "ldap.uri=[ \"${SLAPD_LDAPI_URL:-}\" ]" 'ldap.bind_dn="cn=milter,dc=example,dc=com"' \
            "ldap.bind_password_file=\"$HM_DIR/secret\"" 'ldap.base="ou=people,dc=example,dc=com"' \
            'ldap.timeout=2' 'cache.ttl=0' 'cache.negative_ttl=0'
        for _hc_kv in "$@"; do printf '%s\n' "$_hc_kv"; done
    } | awk '
    {
        i = index($0, "="); k = substr($0, 1, i - 1); v = substr($0, i + 1); g = ""; n = k
        if ((j = index(k, ".")) > 0) { g = substr(k, 1, j - 1); n = substr(k, j + 1) }
        if (!(g in seen)) { seen[g] = 1; groups[++ng] = g }
        if (!((g, n) in val)) keys[g, ++nk[g]] = n
        val[g, n] = v
        if (g == "" && v == "" && (n in seen)) # GROUP=: what the group holds so far
            for (y = 1; y <= nk[n]; y++) val[n, keys[n, y]] = ""
    }
    END {
        for (x = 1; x <= ng; x++) {
            g = groups[x]; body = ""
            for (y = 1; y <= nk[g]; y++) {
                n = keys[g, y]
                if (val[g, n] != "")
                    body = body (g == "" ? "" : "  ") n " = " val[g, n] ";\n"
            }
            if (body == "") continue
            if (g == "") printf "%s", body
            else printf "%s = {\n%s};\n", g, body
        }
    }' > "$HM_DIR/$_hc.conf.new" && mv "$HM_DIR/$_hc.conf.new" "$HM_DIR/$_hc.conf"
}

# Without a pid file: "none", which kill refuses (never 0, the process group).
hm_pid() { cat "$HM_DIR/$1.hmpid" 2>/dev/null || echo none; }
hm_alive() { alive "$(hm_pid "$1")"; }

hm_start() {
    _hs=$1
    shift
    # shellcheck disable=SC2086 # the wrapper is a command line
    [ $# -gt 0 ] || set -- ${HM_DAEMON_WRAPPER:-}
    _hs_n=$(grep -c 'started, listening' "$HM_DIR/$_hs.log" 2>/dev/null)
    echo "${_hs_n:-0}" > "$HM_DIR/$_hs.started"
    rm -f "$HM_DIR/$_hs.termed"
    "$@" "$HM" -f -c "$HM_DIR/$_hs.conf" </dev/null >> "$HM_DIR/$_hs.log" 2>&1 3>&- &
    echo $! > "$HM_DIR/$_hs.hmpid"
    case " $HM_DAEMONS " in *" $_hs "*) ;; *) HM_DAEMONS="$HM_DAEMONS $_hs" ;; esac
}

# hm_listening NAME: it runs, listens, and said so since hm_start
hm_listening() {
    hm_alive "$1" || return 1
    _hl=$(sed -n 's/^socket = "unix:\(.*\)";$/\1/p' "$HM_DIR/$1.conf")
    [ -z "$_hl" ] || [ -S "$_hl" ] || return 1
    grep -Eq '^log_level = "(error|warning)";' "$HM_DIR/$1.conf" ||
        [ "$(grep -c 'started, listening' "$HM_DIR/$1.log")" -gt "$(cat "$HM_DIR/$1.started")" ]
}

hm_up() {
    _hu=$1
    wait_for "${2:-$HM_PATIENCE}" eval 'hm_listening "$_hu" || ! hm_alive "$_hu"'
    hm_listening "$_hu" && return 0
    { echo "daemon $_hu did not come up; its log:"; tail -20 "$HM_DIR/$_hu.log"; } |
        sed 's/^/# /' >&2
    return 1
}

hm_run() { hm_start "$@" && hm_up "$1"; }

hm_term() {
    # shellcheck disable=SC2086 # a list of names
    [ $# -gt 0 ] || set -- $HM_DAEMONS
    for _ht; do
        if [ -f "$HM_DIR/$_ht.hmpid" ] && [ ! -f "$HM_DIR/$_ht.termed" ]; then
            kill -TERM "$(hm_pid "$_ht")" 2>/dev/null
            : > "$HM_DIR/$_ht.termed" # once: a second TERM is not what is tested
        fi
    done
}

hm_stop_pid() {
    HM_RC=""
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null
    hm_wait_pid "$@"
}

# hm_wait_pid PID [TENTHS]: hm_stop_pid once it was sent TERM
hm_wait_pid() {
    _hp=0
    while alive "$1" && [ $_hp -lt "${2:-150}" ]; do
        _hp=$((_hp + 1))
        sleep 0.1
    done
    if alive "$1"; then
        kill -KILL "$1" 2>/dev/null
        wait "$1" 2>/dev/null
        HM_RC=killed
    else
        wait "$1" 2>/dev/null
        HM_RC=$?
    fi
}

hm_stop() {
    # shellcheck disable=SC2086 # a list of names
    [ $# -gt 0 ] || set -- $HM_DAEMONS
    hm_term "$@"
    for _hd; do
        [ -f "$HM_DIR/$_hd.hmpid" ] || continue
        hm_wait_pid "$(hm_pid "$_hd")" $((HM_PATIENCE * 3))
        echo "$HM_RC" > "$HM_DIR/$_hd.rc"
        rm -f "$HM_DIR/$_hd.hmpid"
    done
}

hm_rc() { cat "$HM_DIR/$1.rc" 2>/dev/null || echo unknown; }

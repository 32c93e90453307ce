# lib-postfix.sh - a private Postfix with SMTP AUTH for tests (sourced)
#
# Needs PF_DIR (an empty directory owned by the test, on a path the user
# "postfix" can traverse) and, from test/lib/slapd.sh, alive, wait_for,
# wait_gone, port_open and free_port. Run as root: Postfix's daemons drop
# to user postfix. Binds only to 127.0.0.1; nothing it accepts leaves the
# machine (every transport is discard: or the private sink below).
#
# It runs with Debian's stock master.cf (/usr/share/postfix/master.cf.dist)
# as Debian ships it: smtpd and most other daemons chrooted in the queue
# directory, PF_DIR/spool. Only the port-25 listener is replaced by one on
# 127.0.0.1:PF_PORT, chrooted too. So, as on a Debian mail server:
#   - a milter's unix socket must live under PF_DIR/spool, and smtpd_milters
#     names it relative to the chroot (unix:/homed-milter/homed-milter.sock
#     for PF_DIR/spool/homed-milter/homed-milter.sock): see postfix_milter_dir;
#   - postfix_start copies into the chroot what Debian's start-up script
#     (/usr/lib/postfix/configure-instance.sh) copies into
#     /var/spool/postfix (etc/hosts, services, resolv.conf, localtime,
#     nsswitch.conf, host.conf), and the sasldb, which smtpd opens inside
#     the chroot when a client authenticates, at the same path under it.
# Nothing is written to the system's /etc/postfix or /var/spool/postfix.
#
# postfix_milter_dir [NAME]
#                      create PF_DIR/spool/NAME (default homed-milter) for
#                      a milter socket, before or after postfix_init; sets
#                      PF_MILTER_DIR (its path on the host)
# postfix_chroot_name PATH
#                      PATH (under PF_DIR/spool) as chrooted smtpd sees
#                      it: postfix_chroot_name "$PF_MILTER_DIR/x.sock"
#                      prints /homed-milter/x.sock
# postfix_init MILTER [HOSTNAME]
#                      write main.cf/master.cf under PF_DIR/etc; MILTER in
#                      Postfix syntax as smtpd sees it (unix:/path in the
#                      chroot, or inet:127.0.0.1:PORT; empty for none);
#                      HOSTNAME is myhostname and the SASL realm
#                      (default mail.example.com)
# postfix_adduser LOGIN PASSWORD
#                      a SASL (sasldb) user; the client authenticates as
#                      LOGIN and a milter sees {auth_authen} = LOGIN
#                      (copied into the chroot at the next postfix_start)
# postfix_set KEY=VALUE...   postconf -e (takes effect at the next start)
# postfix_listen PORT [-o KEY=VALUE]...
#                      one more smtpd on 127.0.0.1:PORT, chrooted like the
#                      stock one, with those options (takes effect at the
#                      next start)
# postfix_start        copy the chroot's files, start it and wait until
#                      it answers on PF_PORT
# postfix_stop         stop it and wait until the master is gone
# postfix_smtpd_roots  one line per running smtpd process: PID and its
#                      root directory (readlink /proc/PID/root)
# postfix_queue_empty  true when nothing is left in its queue
# postfix_sink_start   Postfix's smtp-sink on 127.0.0.1:PF_SINK_PORT, one
#                      file per message under PF_DIR/sink; delivery goes
#                      there (call before postfix_start)
# postfix_sink_count   how many messages reached the sink
# postfix_sink_wait TEXT   wait (up to 10 s) until a message holding TEXT
#                      (e.g. a unique Subject: line) reached the sink
# postfix_sink_stop
# After postfix_init: PF_PORT, PF_CONF (the config directory), PF_SPOOL
# (the queue directory, smtpd's chroot), PF_HOSTNAME, PF_LOG (the maillog
# file), PF_MASTER_CF (the stock master.cf it started from).
: "${POSTFIX:=$(command -v postfix || echo /usr/sbin/postfix)}"
: "${POSTCONF:=$(command -v postconf || echo /usr/sbin/postconf)}"
: "${SASLPASSWD2:=$(command -v saslpasswd2 || echo /usr/sbin/saslpasswd2)}"
: "${SMTP_SINK:=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)}"

# Postfix waits until main.cf is a second old: backdate what we write.
postfix_backdate() {
    touch -d "@$(($(date +%s) - 10))" "$PF_CONF/main.cf" "$PF_CONF/master.cf"
}

# The files Debian's /usr/lib/postfix/configure-instance.sh copies into the
# chroot at every start (relative to the queue directory).
PF_CHROOT_FILES="etc/localtime etc/services etc/resolv.conf etc/hosts etc/host.conf
 etc/nsswitch.conf etc/nss_mdns.config"

postfix_milter_dir() {
    PF_SPOOL=$PF_DIR/spool
    PF_MILTER_DIR=$PF_SPOOL/${1:-homed-milter}
    mkdir -p "$PF_MILTER_DIR"
}

postfix_chroot_name() {
    case $1 in
    "$PF_DIR/spool"/*) printf '%s\n' "${1#"$PF_DIR/spool"}" ;;
    *)
        echo "# postfix_chroot_name: $1 is outside the chroot $PF_DIR/spool" >&2
        return 1
        ;;
    esac
}

postfix_init() {
    PF_CONF=$PF_DIR/etc
    PF_SPOOL=$PF_DIR/spool
    PF_LOG=$PF_DIR/maillog
    PF_HOSTNAME=${2:-mail.example.com}
    PF_PORT=$(free_port)
    mkdir -p "$PF_CONF/sasl" "$PF_SPOOL" "$PF_DIR/data" || return 1
    chown postfix "$PF_DIR/data" || return 1
    cat > "$PF_CONF/main.cf" <<CONF
# A private Postfix for homed-milter tests: 127.0.0.1 only, nothing leaves.
compatibility_level = 3.6
queue_directory = $PF_SPOOL
data_directory = $PF_DIR/data
maillog_file = $PF_LOG
maillog_file_prefixes = $PF_DIR
myhostname = $PF_HOSTNAME
mydomain = example.com
mydestination =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtp_dns_support_level = disabled
default_transport = discard:e2e-sink
relay_transport = discard:e2e-sink
local_transport = discard:e2e-sink
in_flow_delay = 0s
# SMTP AUTH against a private sasldb. An empty local domain (realm) keeps
# {auth_authen} exactly the login the client typed.
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sasl_local_domain =
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject
# The milter: tempfail when it is unreachable, and short timeouts so that
# a broken milter shows up in seconds, not minutes.
smtpd_milters = $1
milter_default_action = tempfail
milter_connect_timeout = 3s
milter_command_timeout = 3s
milter_content_timeout = 3s
milter_mail_macros = i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}
milter_end_of_data_macros = i {auth_authen}
CONF
    # Debian's stock master.cf, as the package ships it (chroot on), with
    # the port-25 listener replaced by smtpd on the private port, chrooted
    # as the stock one is.
    PF_MASTER_CF=/usr/share/postfix/master.cf.dist
    cp "$PF_MASTER_CF" "$PF_CONF/master.cf" || return 1
    "$POSTCONF" -c "$PF_CONF" -MX smtp/inet &&
        "$POSTCONF" -c "$PF_CONF" -M \
            "127.0.0.1:$PF_PORT/inet=127.0.0.1:$PF_PORT inet n - y - - smtpd" || return 1
    # Debian's Postfix reads $config_directory/sasl/smtpd.conf.
    cat > "$PF_CONF/sasl/smtpd.conf" <<SASL
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $PF_CONF/sasl/sasldb2
SASL
    postfix_backdate
}

# With no realm from Postfix, Cyrus SASL looks a bare login up in the
# realm named after the server (myhostname). The sasldb stays under
# PF_CONF; postfix_start copies it to the same path inside the chroot.
postfix_adduser() {
    printf '%s' "$2" | "$SASLPASSWD2" -p -c -f "$PF_CONF/sasl/sasldb2" -u "$PF_HOSTNAME" "$1" &&
        chown root:postfix "$PF_CONF/sasl/sasldb2" &&
        chmod 640 "$PF_CONF/sasl/sasldb2"
}

postfix_set() {
    "$POSTCONF" -c "$PF_CONF" -e "$@" && postfix_backdate
}

postfix_listen() {
    _port=$1
    shift
    "$POSTCONF" -c "$PF_CONF" -M \
        "127.0.0.1:$_port/inet=127.0.0.1:$_port inet n - y - - smtpd $*" && postfix_backdate
}

# postfix_chroot_sync: what chrooted daemons read after they entered the
# chroot, copied into it as Debian's start-up script does for
# /var/spool/postfix; and the sasldb, at its own path under the chroot.
postfix_chroot_sync() {
    for _f in $PF_CHROOT_FILES; do
        mkdir -p "$PF_SPOOL/${_f%/*}" || return 1
        rm -f "$PF_SPOOL/$_f"
        if [ -f "/$_f" ]; then
            cp "/$_f" "$PF_SPOOL/$_f" && chmod a+rX "$PF_SPOOL/$_f" || return 1
        fi
    done
    _db=$PF_CONF/sasl/sasldb2
    if [ -f "$_db" ]; then
        mkdir -p "$PF_SPOOL${_db%/*}" && cp -p "$_db" "$PF_SPOOL$_db" || return 1
    fi
}

postfix_start() {
    postfix_chroot_sync || {
        echo "# cannot copy files into the chroot $PF_SPOOL" >&2
        return 1
    }
    "$POSTFIX" -c "$PF_CONF" start >"$PF_DIR/start.out" 2>&1 || {
        sed 's/^/# /' "$PF_DIR/start.out" >&2
        [ -f "$PF_LOG" ] && tail -5 "$PF_LOG" | sed 's/^/# /' >&2
        return 1
    }
    wait_for 100 port_open "$PF_PORT" || { echo "# postfix did not come up" >&2; return 1; }
}

postfix_stop() {
    [ -n "${PF_CONF:-}" ] && [ -f "$PF_CONF/main.cf" ] || return 0
    _pidf=$PF_DIR/spool/pid/master.pid
    [ -f "$_pidf" ] || return 0
    _pid=$(tr -d ' \n' < "$_pidf")
    "$POSTFIX" -c "$PF_CONF" stop >/dev/null 2>&1
    [ -n "$_pid" ] && wait_gone "$_pid" 100
    rm -f "$_pidf"
}

postfix_smtpd_roots() {
    _m=$(tr -d ' \n' < "$PF_SPOOL/pid/master.pid" 2>/dev/null)
    [ -n "$_m" ] || return 0
    for _p in /proc/[0-9]*; do
        [ "$(cat "$_p/comm" 2>/dev/null)" = smtpd ] || continue
        [ "$(sed 's/.*) [A-Za-z] \([0-9]*\) .*/\1/' "$_p/stat" 2>/dev/null)" = "$_m" ] || continue
        printf '%s %s\n' "${_p#/proc/}" "$(readlink "$_p/root")"
    done
}

postfix_queue_empty() {
    [ -z "$(find "$PF_DIR/spool/maildrop" "$PF_DIR/spool/incoming" "$PF_DIR/spool/active" \
        "$PF_DIR/spool/deferred" "$PF_DIR/spool/hold" -type f 2>/dev/null)" ]
}

postfix_sink_start() {
    PF_SINK_PORT=$(free_port)
    mkdir -p "$PF_DIR/sink" && chown postfix "$PF_DIR/sink" || return 1
    "$SMTP_SINK" -u postfix -d "$PF_DIR/sink/%H%M%S." "127.0.0.1:$PF_SINK_PORT" 10 \
        </dev/null >"$PF_DIR/sink.out" 2>&1 3>&- &
    PF_SINK_PID=$!
    wait_for 50 port_open "$PF_SINK_PORT" ||
        { echo "# smtp-sink did not come up" >&2; return 1; }
    postfix_set "default_transport = smtp:[127.0.0.1]:$PF_SINK_PORT" \
        "relay_transport = smtp:[127.0.0.1]:$PF_SINK_PORT" \
        'smtp_tls_security_level = none'
}

postfix_sink_count() {
    find "$PF_DIR/sink" -type f 2>/dev/null | wc -l | tr -d ' '
}

postfix_sink_wait() {
    wait_for 100 grep -rqF -- "$1" "$PF_DIR/sink"
}

postfix_sink_stop() {
    [ -n "${PF_SINK_PID:-}" ] || return 0
    kill -TERM "$PF_SINK_PID" 2>/dev/null
    wait_gone "$PF_SINK_PID"
    PF_SINK_PID=""
}

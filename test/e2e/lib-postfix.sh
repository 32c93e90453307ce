# lib-postfix.sh - a private Postfix with SMTP AUTH for tests (sourced)
#
# Needs PF_DIR (an empty directory owned by the test, on a path the user
# "postfix" can traverse) and, from test/lib/slapd.sh, alive, wait_for,
# wait_gone, port_open and free_port. Run as root: Postfix's daemons drop
# to user postfix. Binds only to 127.0.0.1; nothing it accepts leaves the
# machine (every
# transport is discard: or the private sink below).
#
# postfix_init MILTER [HOSTNAME]
#                      write main.cf/master.cf under PF_DIR/etc; MILTER in
#                      Postfix syntax (unix:/path or inet:127.0.0.1:PORT);
#                      HOSTNAME is myhostname and the SASL realm
#                      (default mail.example.com)
# postfix_adduser LOGIN PASSWORD
#                      a SASL (sasldb) user; the client authenticates as
#                      LOGIN and a milter sees {auth_authen} = LOGIN
# postfix_set KEY=VALUE...   postconf -e (takes effect at the next start)
# postfix_listen PORT [-o KEY=VALUE]...
#                      one more smtpd on 127.0.0.1:PORT, with those options
#                      (takes effect at the next start)
# postfix_start        start it and wait until it answers on PF_PORT
# postfix_stop         stop it and wait until the master is gone
# postfix_queue_empty  true when nothing is left in its queue
# postfix_sink_start   Postfix's smtp-sink on 127.0.0.1:PF_SINK_PORT, one
#                      file per message under PF_DIR/sink; delivery goes
#                      there (call before postfix_start)
# postfix_sink_count   how many messages reached the sink
# postfix_sink_wait TEXT   wait (up to 10 s) until a message holding TEXT
#                      (e.g. a unique Subject: line) reached the sink
# postfix_sink_stop
# After postfix_init: PF_PORT, PF_CONF (the config directory),
# PF_HOSTNAME, PF_LOG (the maillog file).
: "${POSTFIX:=$(command -v postfix || echo /usr/sbin/postfix)}"
: "${POSTCONF:=$(command -v postconf || echo /usr/sbin/postconf)}"
: "${SASLPASSWD2:=$(command -v saslpasswd2 || echo /usr/sbin/saslpasswd2)}"
: "${SMTP_SINK:=$(command -v smtp-sink || echo /usr/sbin/smtp-sink)}"

# Postfix waits until main.cf is a second old: backdate what we write.
postfix_backdate() {
    touch -d "@$(($(date +%s) - 10))" "$PF_CONF/main.cf" "$PF_CONF/master.cf"
}

postfix_init() {
    PF_CONF=$PF_DIR/etc
    PF_LOG=$PF_DIR/maillog
    PF_HOSTNAME=${2:-mail.example.com}
    PF_PORT=$(free_port)
    mkdir -p "$PF_CONF/sasl" "$PF_DIR/spool" "$PF_DIR/data" || return 1
    chown postfix "$PF_DIR/data" || return 1
    cat > "$PF_CONF/main.cf" <<CONF
# A private Postfix for homed-milter tests: 127.0.0.1 only, nothing leaves.
compatibility_level = 3.6
queue_directory = $PF_DIR/spool
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
    # Debian's master.cf without the port-25 listener, nothing chrooted,
    # plus smtpd on the private port.
    _mcf=/etc/postfix/master.cf
    [ -f "$_mcf" ] || _mcf=/usr/share/postfix/master.cf.dist
    cp "$_mcf" "$PF_CONF/master.cf" || return 1
    "$POSTCONF" -c "$PF_CONF" -MX smtp/inet &&
        "$POSTCONF" -c "$PF_CONF" -M \
            "127.0.0.1:$PF_PORT/inet=127.0.0.1:$PF_PORT inet n - n - - smtpd" &&
        "$POSTCONF" -c "$PF_CONF" -F '*/*/chroot = n' || return 1
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
# realm named after the server (myhostname).
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
        "127.0.0.1:$_port/inet=127.0.0.1:$_port inet n - n - - smtpd $*" && postfix_backdate
}

postfix_start() {
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

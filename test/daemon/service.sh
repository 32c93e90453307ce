# service.sh - the daemon under a service manager (sourced by run.sh)
#
# What systemd and an admin see of it (homed-milter(8), LOGGING): sd_notify
# READY, RELOADING and STOPPING; each log line once when stderr is the
# journal; start-up errors on stderr with the system's reason, detached
# or not; and no core dump or ptrace by its own user, whose memory holds
# the bind password. Uses conf, T and the TAP helpers of run.sh.

# notify_listener FILE SOCKET: collect sd_notify datagrams sent to SOCKET
# in FILE, one message per line, until killed; prints its pid
notify_listener() {
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[2])
with open(sys.argv[1], "a") as out:
    while True:
        out.write(s.recv(4096).decode().replace("\n", " ") + "\n")
        out.flush()
' "$1" "$2" </dev/null >/dev/null 2>&1 &
    echo $!
}

# notified FILE TEXT: FILE has a message holding TEXT (waits up to 10 s)
notified() { wait_for 100 grep -q -- "$2" "$1"; }

# --- sd_notify ------------------------------------------------------------------
conf notify "unix:$T/notify.sock"
NL=$(notify_listener "$T/notify.msgs" "$T/notify.dgram")
wait_for 50 test -S "$T/notify.dgram" || diag "the notify listener did not start"
hm_start notify env NOTIFY_SOCKET="$T/notify.dgram"
ok_if "sd_notify: READY=1 once listening, with a STATUS naming the socket" \
    notified "$T/notify.msgs" "READY=1 STATUS=listening on unix:$T/notify.sock"
like "$(grep 'started, listening' "$T/notify.log")" \
    "started, listening on unix:$T/notify\\.sock; local_hosts: mail\\.example\\.com; decisions at MAIL FROM \\(policy\\.decide_at\\)\$" \
    "the start-up line states the socket, local_hosts and where messages are decided"
kill -HUP "$(hm_pid notify)"
ok_if "sd_notify: RELOADING=1 at a reload" notified "$T/notify.msgs" "^RELOADING=1"
ok_if "sd_notify: READY=1 again after it" \
    sh -c "wait_for() { _w=\$1; shift; until \"\$@\"; do _w=\$((_w - 1)); [ \$_w -gt 0 ] || return 1; sleep 0.1; done; }
           wait_for 100 sh -c \"sed -n '/^RELOADING=1/,\\\$p' '$T/notify.msgs' | grep -q '^READY=1\\\$'\""
hm_stop notify
ok_if "sd_notify: STOPPING=1 at TERM" notified "$T/notify.msgs" "^STOPPING=1"
kill "$NL" 2>/dev/null

# --- the journal gets each line once --------------------------------------------
conf journal "unix:$T/journal.sock"
: > "$T/journal.log"
JS=$(stat -c '%d:%i' "$T/journal.log")
hm_start journal env JOURNAL_STREAM="$JS"
wait_for 50 test -S "$T/journal.sock" || diag "the daemon did not listen"
hm_stop journal
ok_if "stderr that is the journal (JOURNAL_STREAM): no copy of the syslog lines" \
    sh -c "! grep -q 'started, listening' '$T/journal.log'"
conf nojournal "unix:$T/nojournal.sock"
: > "$T/nojournal.log"
hm_start nojournal env JOURNAL_STREAM="$JS"
hm_up nojournal
hm_stop nojournal
ok_if "stderr that is not the journal: -f still copies the lines there" \
    grep -q 'started, listening' "$T/nojournal.log"

# --- start-up errors name the system's reason, detached or not ------------------
conf nodir "unix:$T/no/such/dir/m.sock"
"$HM" -c "$T/nodir.conf" 2>"$T/nodir.err"
is "$?" 69 "detached, a socket that cannot be made: exits 69"
is "$(cat "$T/nodir.err")" \
    "homed-milter: error: cannot listen on unix:$T/no/such/dir/m.sock: $T/no/such/dir: No such file or directory" \
    "detached, a socket that cannot be made: the reason on stderr"
"$HM" -f -c "$T/nodir.conf" 2>"$T/nodir-f.err"
is "$(cat "$T/nodir-f.err")" "$(cat "$T/nodir.err")" "in the foreground: the same line"

# --- not dumpable ----------------------------------------------------------------
# Started as its user directly (as the unit does), the process would be
# its user's to ptrace and dump: /proc/PID/mem is then owned by that user.
mkdir "$T/nobody"
chown nobody "$T/nobody"
conf dump "unix:$T/nobody/dump.sock" ldap.bind_dn= ldap.bind_password_file= # nobody may not read it
chmod 644 "$T/dump.conf"
hm_start dump setpriv --reuid=nobody --regid="$NOBODY_GID" --clear-groups
hm_up dump
is "$(stat -c %U "/proc/$(hm_pid dump)/mem")" root \
    "started as nobody: /proc/PID/mem is root's (PR_SET_DUMPABLE 0: no core dump, no ptrace)"
hm_stop dump

#!/bin/sh
# The daemon as a service: privilege drop, socket owner and mode, stale
# socket removal, pid file, inet sockets, start-up errors and their exit
# codes, TERM. Needs root (to drop privileges) but no directory server:
# the milter connects to LDAP only when mail arrives. TAP output.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/test/lib/daemon.sh"

[ -x "$HM" ] || skip_all "homed-milter is not built"
[ "$(id -u)" = 0 ] || skip_all "not root: cannot test the privilege drop"
id nobody >/dev/null 2>&1 || skip_all "there is no user nobody"

T=$(mktemp -d "${TMPDIR:-/tmp}/hm-daemon.XXXXXX")
chmod 755 "$T"
HM_DIR=$T
PID=""
cleanup() {
    [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# conf NAME SOCKET [KEY=VALUE]...: no directory behind it
conf() {
    _c=$1
    _s=$2
    shift 2
    hm_conf "$_c" "socket=\"$_s\"" 'ldap.uri="ldapi://%2Fnonexistent"' "$@"
}

# start NAME: the daemon in the background (detached, as in production)
start() {
    "$HM" -c "$T/$1.conf" 2>"$T/$1.err"
    START_RC=$?
    PID=""
    _i=0
    while [ $_i -lt 50 ] && ! [ -s "$T/$1.pid" ]; do _i=$((_i + 1)); sleep 0.1; done
    [ -s "$T/$1.pid" ] && PID=$(cat "$T/$1.pid")
}

# stop: TERM, wait until the process is gone (PID then empty)
stop() {
    [ -n "$PID" ] || return 1
    hm_stop_pid "$PID"
    [ "$HM_RC" = killed ] || PID=""
}

status_field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | awk '{print $1}'; }

NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)

# --- unix socket, user, pid file ------------------------------------------
printf 'miltersecret\n' > "$T/secret"
chmod 600 "$T/secret"
conf drop "unix:$T/m.sock" 'user="nobody"' "pid_file=\"$T/drop.pid\"" 'socket_mode="0660"'
# A daemon killed with KILL leaves its socket behind: the next start
# must remove it (a regular file in its place is left alone).
cp "$T/drop.conf" "$T/killed.conf"
hm_run killed
kill -KILL "$(hm_pid killed)"
hm_stop killed
ok_if "a killed daemon leaves a stale socket" [ -S "$T/m.sock" ]
rm -f "$T/drop.pid"
STALE=$(stat -c %i "$T/m.sock")
start drop
is "$START_RC" 0 "detaches and exits 0"
ok_if "the pid file names a running process" [ -n "$PID" ] && alive "${PID:-0}"
is "$(status_field "${PID:-self}" Uid)" "$NOBODY_UID" "runs as user nobody (real uid)"
is "$(sed -n 's/^Uid:[[:space:]]*//p' "/proc/${PID:-self}/status" | tr -s '\t ' ' ')" \
    "$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID" "all four uids are nobody's"
is "$(status_field "${PID:-self}" Gid)" "$NOBODY_GID" "runs with nobody's group"
is "$(sed -n 's/^Groups:[[:space:]]*//p' "/proc/${PID:-self}/status" | tr -d ' \t')" "" \
    "no supplementary groups left"
ok_if "the stale socket was replaced by a new one" \
    [ -S "$T/m.sock" ] && [ "$(stat -c %i "$T/m.sock")" != "$STALE" ]
is "$(stat -c '%a %U' "$T/m.sock")" "660 nobody" "the socket has socket_mode and belongs to user"
is "$(ls -l /proc/"${PID:-self}"/fd 2>/dev/null | grep -c "$T/secret")" 0 \
    "the password file (root-only) was read before the drop and is not held open"
stop
ok_if "TERM stops it" [ -z "$PID" ]

# --- inet socket, foreground -------------------------------------------------
PORT=$(free_port)
conf inet "inet:$PORT@127.0.0.1"
hm_run inet
PID=$(hm_pid inet)
ok_if "-f with an inet socket: listening on 127.0.0.1:$PORT" \
    grep -q ":$(printf '%04X' "$PORT") " /proc/net/tcp
like "$(cat "$T/inet.log")" "homed-milter: info: started, listening on inet:$PORT@127.0.0.1" \
    "-f logs to stderr"
stop
ok_if "-f: TERM stops it" [ -z "$PID" ]

# --- reloads -------------------------------------------------------------------
# answers SOCKET: whether something accepts connections on the unix socket
answers() {
    perl -MIO::Socket::UNIX -e 'exit(IO::Socket::UNIX->new(Peer => $ARGV[0]) ? 0 : 1)' "$1"
}
conf reload "unix:$T/r.sock"
hm_run reload
PID=$(hm_pid reload)
kill -USR1 "$PID"
_i=0
until grep -q "reloaded" "$T/reload.log" || [ $_i -gt 50 ]; do _i=$((_i + 1)); sleep 0.1; done
like "$(cat "$T/reload.log")" "info: reloaded $T/reload.conf" "USR1 reloads"
kill -HUP "$PID"
_i=0
until [ "$(grep -c reloaded "$T/reload.log")" -ge 2 ] || [ $_i -gt 50 ]; do _i=$((_i + 1)); sleep 0.1; done
is "$(grep -c "info: reloaded" "$T/reload.log")" 2 "HUP reloads"
ok_if "still answering after the reloads" answers "$T/r.sock"
# A burst of HUPs: some may reach libmilter's own signal thread. Then the
# daemon must exit (70) for a restart, never stay alive but deaf.
_n=0
while [ $_n -lt 200 ] && alive "$PID"; do kill -HUP "$PID" 2>/dev/null; _n=$((_n + 1)); done
sleep 1
if alive "$PID"; then
    ok_if "after 200 HUPs: alive and answering" answers "$T/r.sock"
    stop
else
    wait "$PID"
    is "$?" 70 "after a burst of HUPs that reached libmilter: exits 70 for a restart"
    PID=""
fi
ok_if "the burst left no process behind" [ -z "$PID" ]

# --- start-up errors ---------------------------------------------------------
conf nopid "unix:$T/p.sock" "pid_file=\"$T/no/such/dir/x.pid\""
"$HM" -c "$T/nopid.conf" 2>"$T/nopid.err"
is "$?" 71 "detached: a pid file that cannot be written still reaches the caller (71)"
ln -s "$T/target" "$T/link.pid"
conf linkpid "unix:$T/l.sock" "pid_file=\"$T/link.pid\""
"$HM" -c "$T/linkpid.conf" 2>"$T/linkpid.err"
is "$?" 71 "a pid file that is a symlink is refused"
ok_if "nothing was written through the symlink" [ ! -e "$T/target" ]
conf nouser "unix:$T/n.sock" 'user="no-such-user-hm"'
"$HM" -f -c "$T/nouser.conf" 2>"$T/nouser.err"
is "$?" 78 "an unknown user is a configuration error: exits 78 (EX_CONFIG)"
like "$(cat "$T/nouser.err")" "nouser.conf:[0-9]+: user: \"no-such-user-hm\" is no user on this system" \
    "an unknown user is named, at its line"
conf badsock "unix:$T/no/such/dir/m.sock"
"$HM" -f -c "$T/badsock.conf" 2>"$T/badsock.err"
is "$?" 69 "a socket that cannot be opened exits 69 (EX_UNAVAILABLE)"
printf 'ldap = { base = "dc=x"; };\nsocket = 5;\n' > "$T/bad.conf"
"$HM" -f -c "$T/bad.conf" 2>"$T/bad.err"
is "$?" 78 "an invalid configuration exits 78 (EX_CONFIG)"
is "$(cat "$T/bad.err")" "$T/bad.conf:2: socket: expected a string, got an integer" \
    "an invalid configuration: FILE:LINE: message"

# --- files others may read or change ------------------------------------------
printf 'Zq-perm-SECRET-5\n' > "$T/open.secret"
chmod 644 "$T/open.secret"
conf openpw "unix:$T/o.sock" "ldap.bind_password_file=\"$T/open.secret\""
"$HM" -f -c "$T/openpw.conf" 2>"$T/openpw.err"
is "$?" 78 "a password file other users may read: refused, exit 78"
like "$(cat "$T/openpw.err")" "^$T/openpw.conf:[0-9]*: ldap.bind_password_file: $T/open.secret: other users may read it: chmod o-rwx" \
    "a password file other users may read: FILE:LINE: and what to do"
ok_if "a password file other users may read: the password is not shown" \
    sh -c "! grep -q Zq-perm-SECRET '$T/openpw.err'"
ok_if "a password file other users may read: no socket was made" [ ! -e "$T/o.sock" ]
conf openconf "unix:$T/c.sock"
chmod 666 "$T/openconf.conf"
"$HM" -f -c "$T/openconf.conf" 2>"$T/openconf.err"
is "$?" 78 "a configuration other users may change: refused, exit 78"
is "$(cat "$T/openconf.err")" "$T/openconf.conf:0: users other than its owner may change it: chmod go-w" \
    "a configuration other users may change: FILE:0: and what to do"
"$HM" -n -c "$T/openconf.conf" 2>"$T/openconf-n.err"
is "$?" 1 "-n refuses it too (exit 1)"

. "$SRC/test/daemon/service.sh"

done_testing

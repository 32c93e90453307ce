#!/bin/sh
# The command line: -n, -V, -h, usage errors and exit codes of the real
# binary. Needs no server. TAP output.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${HM_BUILDDIR:-$SRC}
HM=$BUILD/homed-milter
. "$SRC/test/lib/tap.sh"
. "$SRC/test/lib/slapd.sh" # free_port, wait_for, wait_gone

[ -x "$HM" ] || skip_all "homed-milter is not built"
T=$(mktemp -d "${TMPDIR:-/tmp}/hm-cli.XXXXXX")
HMPID=""
trap '[ -n "$HMPID" ] && kill -KILL "$HMPID" 2>/dev/null; rm -rf "$T"' EXIT
trap 'exit 1' INT TERM

# run ARGS...: sets OUT, ERR, RC
run() {
    "$HM" "$@" >"$T/out" 2>"$T/err"
    RC=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}

run -n -c "$SRC/etc/homed-milter.conf"
is "$RC" 0 "-n: the sample configuration is valid"
is "$ERR" "" "-n: nothing on stderr for a valid file"

printf 'ldap = {\n  base = "dc=x";\n  timeout = 0;\n};\n' > "$T/range.conf"
run -n -c "$T/range.conf"
is "$RC" 1 "-n: an invalid file exits 1"
is "$ERR" "$T/range.conf:3: ldap.timeout: 0 is out of range (1 to 300)" "-n: FILE:LINE: message"

printf 'ldap = { base = "dc=x"; };\nlog_levle = "debug";\n' > "$T/typo.conf"
run -n -c "$T/typo.conf"
is "$RC:$ERR" "1:$T/typo.conf:2: unknown key log_levle" "-n: a misspelt key is refused"

printf 'ldap = { base = "dc=x";\n' > "$T/syntax.conf"
run -n -c "$T/syntax.conf"
like "$RC:$ERR" "^1:$T/syntax.conf:2: syntax error" "-n: a syntax error names the line"

run -n -c "$T/missing.conf"
is "$RC:$ERR" "1:$T/missing.conf:0: cannot read the file: No such file or directory" "-n: a missing file"

run -c "$T/range.conf" -q janed janed@example.com
is "$RC" 78 "-q with an invalid file exits 78 (EX_CONFIG)"
is "$ERR" "$T/range.conf:3: ldap.timeout: 0 is out of range (1 to 300)" "-q with an invalid file: FILE:LINE: message"
is "$OUT" "" "-q with an invalid file: no verdict"

run -c "$T/range.conf"
is "$RC" 78 "start-up with an invalid file exits 78 (EX_CONFIG)"

run -n -c "$SRC/etc/homed-milter.conf" -p "inet:8891@127.0.0.1"
is "$RC" 0 "-p with a valid socket"
run -n -c "$SRC/etc/homed-milter.conf" -p "8891"
is "$RC:$ERR" "1:-p 8891: expected unix:/PATH, inet:PORT@HOST or inet6:PORT@HOST" "-p with a bad socket"

# --- what -n refuses besides values (homed-milter.conf(5), homed-milter(8)) ---
printf 'ldap = {\n  base = "dc=x";\n  uri = [ "ldapi:///", "ldaps://[::1" ];\n};\n' > "$T/uri.conf"
run -n -c "$T/uri.conf"
is "$RC:$ERR" "1:$T/uri.conf:3: ldap.uri: libldap cannot parse this URI" \
    "-n: an LDAP URI that ldap_url_parse refuses"

printf 'local_hosts = "mail.example.com";\nuser = "hm-no-such-user";\nldap = { base = "dc=x"; };\n' \
    > "$T/user.conf"
run -n -c "$T/user.conf"
is "$RC:$ERR" "1:$T/user.conf:2: user: \"hm-no-such-user\" is no user on this system" \
    "-n: a user that does not exist"

# An included file is held to the main file's rule; a relative name is
# taken from the current directory, as libconfig does.
mkdir "$T/inc"
printf 'local_hosts = "mail.example.com";\nldap = { base = "dc=x"; };\n\n@include "part.conf"\n' \
    > "$T/inc/main.conf"
printf 'log_level = "debug";\n' > "$T/inc/part.conf"
chmod 644 "$T/inc/part.conf"
OUT=$(cd "$T/inc" && "$HM" -n -c main.conf 2>&1)
is "$?:$OUT" "0:main.conf: valid" "-n: an @include that only its owner may change"
chmod 666 "$T/inc/part.conf"
OUT=$(cd "$T/inc" && "$HM" -n -c main.conf 2>&1)
is "$?:$OUT" "1:main.conf:4: @include \"part.conf\": users other than its owner may change it: chmod go-w" \
    "-n: an @include that anyone may change is refused at its line"

# Without local_hosts, this host's name must be fully qualified. The name
# is set in a private UTS namespace and resolved through a private
# /etc/hosts (a mount namespace): nothing outside this process changes.
printf 'ldap = { base = "dc=x"; };\n' > "$T/nohosts.conf"
# with_host NAME HOSTS-LINE: -n on nohosts.conf where this host is NAME
with_host() {
    printf '%s\n' "$2" > "$T/hosts"
    unshare -u -m sh -c 'mount --bind "$1" /etc/hosts && hostname "$2" && exec "$3" -n -c "$4"' \
        sh "$T/hosts" "$1" "$HM" "$T/nohosts.conf" >"$T/out" 2>"$T/err"
    RC=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}
if [ "$(id -u)" = 0 ] && unshare -u -m true 2>/dev/null; then
    with_host hm-bare "127.0.0.1 hm-bare"
    is "$RC:$ERR" "1:$T/nohosts.conf:1: local_hosts: not set, and this host's name \"hm-bare\" is not fully qualified: set local_hosts to the names the home attribute holds" \
        "-n: a default local_hosts that is not fully qualified"
    with_host hm-bare "127.0.0.1 hm-bare.example.net hm-bare"
    is "$RC:$OUT" "0:$T/nohosts.conf: valid" "-n: a bare host name that resolves to a fully qualified one"
else
    for _i in 1 2; do
        printf 'ok %d - # SKIP not root, or no unshare: cannot set a host name\n' $((TAP_N += 1))
    done
fi

# --- -n -v: the effective configuration --------------------------------------
printf 'Zq-cli-secret-93\n' > "$T/secret"
chmod 600 "$T/secret"
cat > "$T/full.conf" <<EOF
socket = "inet:8891";
local_hosts = [ "mail.example.com", "mx2.example.com" ];
ldap = { base = "dc=x"; bind_dn = "cn=m"; bind_password_file = "$T/secret"; timeout = 3; };
policy = { reject_text_not_owned = "%u may not send as %s"; };
EOF
run -n -v -c "$T/full.conf"
is "$RC:$ERR" "0:" "-n -v: a valid file"
is "$(sed -n 1p "$T/out")" "# $T/full.conf: valid; its effective configuration:" \
    "-n -v: the check's verdict first, as a comment"
ok_if "-n -v: the bind password is never shown" sh -c '! grep -q Zq-cli-secret "$1"' sh "$T/out"
# Every key that homed-milter.conf(5) documents (but those reserved for
# later), once, in the manual's order.
awk 'keys && /^\.(TP|SH)/ && k != "" { print k; k = "" }
     /^\.SH/ { keys = ($0 == ".SH KEYS") }
     keys && tp && /^\.B / { k = $2 }
     keys && /^Reserved/ { k = "" }
     { tp = /^\.TP/ }' "$SRC/filter/homed-milter.conf.5" > "$T/keys.man"
sed -n '2,$s/ =.*//p' "$T/out" > "$T/keys.out"
ok_if "-n -v: one line for every key of homed-milter.conf(5), in its order ($(wc -l < "$T/keys.man") keys)" \
    cmp -s "$T/keys.man" "$T/keys.out"
for line in \
    'socket = "inet:8891@127.0.0.1"  # inet:PORT without a host listens on 127.0.0.1 only' \
    'local_hosts = [ "mail.example.com", "mx2.example.com" ]' \
    'ldap.bind_password_file = "'"$T"'/secret"' \
    'ldap.timeout = 3' \
    'ldap.connections = 8  # default' \
    'pid_file =  # default: not set' \
    'policy.reject_text = "Mailbox is not local: %s"  # default' \
    'policy.reject_text_not_homed = "Mailbox is not local: %s"  # default: policy.reject_text' \
    'policy.reject_text_not_owned = "%u may not send as %s"' \
    'stats_interval = 3600  # default' \
    'policy.decide_at = "mail"  # default' \
    'eight_bit.undeclared = "accept"  # default' \
    'eight_bit.seven_bit_only_domains = [ ]  # default'; do
    ok_if "-n -v: $line" grep -qxF -- "$line" "$T/out"
done
run -n -v -c "$T/full.conf" -p inet:9999
ok_if "-n -v -p inet:PORT: 127.0.0.1 too" grep -qxF \
    'socket = "inet:9999@127.0.0.1"  # inet:PORT without a host listens on 127.0.0.1 only' "$T/out"
run -v -c "$T/full.conf"
is "$RC" 64 "-v without -n exits 64"
# policy.decide_at = "end-of-data": -n -v says how
printf 'ldap = { base = "dc=x"; };\nlocal_hosts = [ "mail.example.com" ];\npolicy = { decide_at = "end-of-data"; };\n' \
    > "$T/eod.conf"
run -n -v -c "$T/eod.conf"
ok_if "-n -v: decide_at = end-of-data, and what it means" grep -qxF \
    'policy.decide_at = "end-of-data"  # MAIL FROM passed without a reply, every decision at end-of-DATA' \
    "$T/out"

# socket = "inet:PORT": the daemon listens on 127.0.0.1 only, not on every
# interface (no directory is needed to start it).
PORT=$(free_port)
printf 'socket = "inet:%s";\nlocal_hosts = "mail.example.com";\nldap = { base = "dc=x"; uri = "ldapi://%%2Fnonexistent"; };\n' \
    "$PORT" > "$T/inet.conf"
"$HM" -f -c "$T/inet.conf" >"$T/inet.log" 2>&1 &
HMPID=$!
# listening PORT: the local address of the socket listening on PORT (hex)
listening() {
    awk -v p=":$(printf '%04X' "$1")" '$4 == "0A" && substr($2, 9) == p { print substr($2, 1, 8) }' \
        /proc/net/tcp
}
wait_for 100 sh -c '[ -n "$(awk -v p=":$1" '\''$4 == "0A" && substr($2, 9) == p'\'' /proc/net/tcp)" ]' \
    sh "$(printf '%04X' "$PORT")"
is "$(listening "$PORT")" "0100007F" "socket = \"inet:PORT\": listening on 127.0.0.1 only"
kill -TERM "$HMPID" 2>/dev/null
wait_gone "$HMPID" 100
HMPID=""

run -V
like "$RC:$OUT" "^0:homed-milter [0-9]+\.[0-9]+\.[0-9]+$" "-V prints the version"
run -h
like "$RC:$OUT" "^0:usage: homed-milter " "-h prints the usage on stdout"
run -x
is "$RC" 64 "an unknown flag exits 64 (EX_USAGE)"
like "$ERR" "usage: homed-milter" "an unknown flag prints the usage on stderr"
run -c "$SRC/etc/homed-milter.conf" -q janed
is "$RC" 64 "-q without ADDRESS exits 64"
run -n -q janed janed@example.com
is "$RC" 64 "-n and -q together exit 64"
run -n extra
is "$RC" 64 "a stray argument exits 64"

done_testing

#!/bin/sh
# The command line: -n, -V, -h, usage errors and exit codes of the real
# binary. Needs no server. TAP output.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${HM_BUILDDIR:-$SRC}
HM=$BUILD/homed-milter
. "$SRC/test/lib/tap.sh"

[ -x "$HM" ] || skip_all "homed-milter is not built"
T=$(mktemp -d "${TMPDIR:-/tmp}/hm-cli.XXXXXX")
trap 'rm -rf "$T"' EXIT
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

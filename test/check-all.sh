#!/bin/sh
# check-all.sh - set up this machine and run every test layer of homed-milter
#
#   sh test/check-all.sh          (as root on Debian 12; installs packages)
#   HM_NO_INSTALL=1 sh test/check-all.sh   (packages already there)
#
# Layers: make check (unit, command line, directory, milter, end to end
# through Postfix and Sendmail, the From: reading against Thunderbird's
# and Python's parsers), the unit tests again under ASan+UBSan and
# under valgrind, the milter layer with the daemon under valgrind, make
# install, the Debian package (test/package/run.sh: built from a clean
# clone, installed with dpkg -i, run behind a chrooted Postfix, purged;
# the machine restored), make distcheck, and the formatting check.
# Ends with one line "N passed, M failed" over all of them; exits non-zero
# when anything failed. With CI=true a skipped test counts as failed.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${HM_BUILD_ROOT:-$SRC/_build}
PASSED=0
FAILED=0
JOBS=$(nproc 2>/dev/null || echo 2)

PACKAGES="build-essential autoconf automake pkg-config m4 libmilter-dev libldap-dev libconfig-dev libsystemd-dev libidn2-dev
 libcmocka-dev slapd ldap-utils openssl valgrind clang-format miltertest postfix sasl2-bin
 libsasl2-modules swaks s-nail strace clang libclang-rt-14-dev"
# The Active Directory layer (test/ad/run.sh): a private Samba AD DC in its
# own network namespace (ip, from iproute2).
PACKAGES="$PACKAGES samba samba-dsdb-modules samba-vfs-modules samba-ad-provision ldb-tools iproute2"
# The Debian package layer (test/package/run.sh): build, lintian, the unit.
PACKAGES="$PACKAGES debhelper lintian dpkg-dev fakeroot libsystemd-dev systemd"
# The oracles of the differential layer: Node.js with npm, and Python 3.
# A node that came from elsewhere (with its own npm) is kept.
ORACLE_PACKAGES=""
command -v node >/dev/null 2>&1 || ORACLE_PACKAGES="$ORACLE_PACKAGES nodejs"
command -v npm >/dev/null 2>&1 || ORACLE_PACKAGES="$ORACLE_PACKAGES npm"
command -v python3 >/dev/null 2>&1 || ORACLE_PACKAGES="$ORACLE_PACKAGES python3"

say() { printf '\n=== %s\n' "$*"; }

install_packages() {
    [ "${HM_NO_INSTALL:-}" = 1 ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "not root: not installing packages (set HM_NO_INSTALL=1 to silence this)"
        return 0
    fi
    say "installing packages"
    export DEBIAN_FRONTEND=noninteractive
    # Keep the packaged slapd from starting: the tests run their own.
    _prc=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        _prc=/usr/sbin/policy-rc.d
    fi
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -q >/dev/null &&
        apt-get install -y -q --no-install-recommends $PACKAGES $ORACLE_PACKAGES >/dev/null
    _rc=$?
    [ -n "$_prc" ] && rm -f "$_prc"
    [ $_rc -eq 0 ] || { echo "apt-get install failed"; return 1; }
}

# count_log BUILDDIR: add the totals of BUILDDIR/test-suite.log
count_log() {
    _log=$1/test-suite.log
    if [ ! -f "$_log" ]; then
        echo "no $_log: the layer did not run"
        FAILED=$((FAILED + 1))
        return
    fi
    _get() { sed -n "s/^# $1: *\([0-9]*\)\$/\1/p" "$_log" | head -1; }
    _pass=$(_get PASS)
    _bad=$(( $(_get FAIL) + $(_get ERROR) + $(_get XPASS) ))
    _skip=$(_get SKIP)
    if [ "${CI:-}" = true ]; then
        _bad=$((_bad + _skip))
    elif [ "$_skip" -gt 0 ]; then
        echo "($_skip skipped)"
    fi
    PASSED=$((PASSED + _pass))
    FAILED=$((FAILED + _bad))
    grep -E '^(FAIL|ERROR|XPASS|SKIP):' "$_log" | sed 's/^/    /'
    echo "layer $1: $_pass passed, $_bad failed"
}

# count_tap NAME FILE STATUS: add the ok / not ok lines of a TAP output
# that a make target printed (a missing plan or a bad status is a failure)
count_tap() {
    _pass=$(grep -c '^ok ' "$2")
    _bad=$(grep -c '^not ok ' "$2")
    if ! grep -q '^1\.\.[0-9]' "$2" || { [ "$3" -ne 0 ] && [ "$_bad" -eq 0 ]; }; then
        _bad=$((_bad + 1))
    fi
    if grep -q '^ok .*# SKIP' "$2" && [ "${CI:-}" = true ]; then
        _bad=$((_bad + $(grep -c '^ok .*# SKIP' "$2")))
    fi
    PASSED=$((PASSED + _pass))
    FAILED=$((FAILED + _bad))
    grep -E '^(not ok|# )' "$2" | sed 's/^/    /'
    echo "layer $1: $_pass passed, $_bad failed"
}

# step NAME CMD...: one pass/fail for a whole command
step() {
    _name=$1
    shift
    if "$@" > "$OUT/$_name.out" 2>&1; then
        PASSED=$((PASSED + 1))
        echo "ok: $_name"
    else
        FAILED=$((FAILED + 1))
        tail -40 "$OUT/$_name.out"
        echo "FAILED: $_name (log: $OUT/$_name.out)"
    fi
}

configure_in() { # DIR [configure args]
    _dir=$1
    shift
    rm -rf "$_dir" && mkdir -p "$_dir" && cd "$_dir" && "$SRC/configure" -q "$@"
    _rc=$?
    cd "$SRC" || exit 1
    return $_rc
}

install_packages || exit 1
mkdir -p "$OUT"
say "bootstrap"
(cd "$SRC" && autoreconf -fi) > "$OUT/autoreconf.out" 2>&1 || {
    cat "$OUT/autoreconf.out"
    echo "0 passed, 1 failed"
    exit 1
}

say "Thunderbird's address parser for the differential layer (npm ci)"
# Installed from test/differential/package-lock.json into the build root,
# never into the source tree; make check and distcheck find it through
# HM_NODE_MODULES.
npm_modules() {
    rm -rf "$OUT/npm" && mkdir -p "$OUT/npm" &&
        cp "$SRC/test/differential/package.json" "$SRC/test/differential/package-lock.json" \
            "$OUT/npm/" &&
        (cd "$OUT/npm" && npm ci --no-audit --no-fund)
}
step npm-ci npm_modules
if [ -d "$OUT/npm/node_modules/@protontech/jsmimeparser" ]; then
    HM_NODE_MODULES=$OUT/npm/node_modules
    export HM_NODE_MODULES
fi

say "build and make check (all layers)"
if configure_in "$OUT/normal" && make -C "$OUT/normal" -j"$JOBS" >"$OUT/make.out" 2>&1; then
    # The layers one after the other: timing bounds (a hung directory must
    # answer within timeout + 1 s) are not to compete with each other.
    make -C "$OUT/normal" -j"$JOBS" check TESTS= >/dev/null 2>&1
    make -C "$OUT/normal" check >"$OUT/check.out" 2>&1
    count_log "$OUT/normal"
else
    cat "$OUT/make.out" 2>/dev/null | tail -40
    echo "FAILED: build"
    FAILED=$((FAILED + 1))
fi

say "soak behind Postfix: 75 s, slapd restarted every 30 s, reloads every 10 s"
make -C "$OUT/normal" soak-postfix HM_SOAK_SECONDS=75 >"$OUT/soak-postfix.out" 2>&1
count_tap soak-postfix "$OUT/soak-postfix.out" $?

say "unit tests under valgrind"
make -C "$OUT/normal" check-unit \
    LOG_COMPILER="valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite" \
    >"$OUT/valgrind.out" 2>&1
count_log "$OUT/normal"

say "milter layer with the daemon under valgrind"
make -C "$OUT/normal" check-milter-valgrind >"$OUT/milter-valgrind.out" 2>&1
count_log "$OUT/normal"

say "unit tests under ASan+UBSan"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
if configure_in "$OUT/asan" CFLAGS="-g -O1 $SAN" LDFLAGS="$SAN"; then
    ASAN_OPTIONS=detect_leaks=1 make -C "$OUT/asan" -j"$JOBS" check-unit >"$OUT/asan.out" 2>&1
    count_log "$OUT/asan"
    say "milter layer with the daemon built with ASan+UBSan"
    make -C "$OUT/asan" -j"$JOBS" homed-milter >>"$OUT/asan.out" 2>&1
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
        make -C "$OUT/asan" check TESTS=test/milter/run.sh >"$OUT/milter-asan.out" 2>&1
    count_log "$OUT/asan"
else
    echo "FAILED: sanitizer configure"
    FAILED=$((FAILED + 1))
fi

say "fuzzing: each harness ${HM_FUZZ_SECONDS:-60} s (ASan+UBSan)"
make -C "$OUT/normal" fuzz HM_FUZZ_SECONDS="${HM_FUZZ_SECONDS:-60}" >"$OUT/fuzz.out" 2>&1
count_tap fuzz "$OUT/fuzz.out" $?

say "installation"
# install_check: --prefix and --sysconfdir respected, and an existing
# configuration is never overwritten.
install_check() {
    _d=$OUT/install
    rm -rf "$_d" "$OUT/inst" && mkdir -p "$_d" && cd "$_d" &&
        "$SRC/configure" -q --prefix=/opt/hm --sysconfdir=/etc/hm &&
        make -j"$JOBS" >/dev/null && make install DESTDIR="$OUT/inst" >/dev/null || return 1
    cd "$SRC" || return 1
    for _f in /opt/hm/sbin/homed-milter /opt/hm/share/man/man8/homed-milter.8 \
        /opt/hm/share/man/man5/homed-milter.conf.5 /etc/hm/homed-milter.conf \
        /opt/hm/share/doc/homed-milter/examples/homed-milter.service \
        /opt/hm/share/doc/homed-milter/examples/example.ldif; do
        [ -f "$OUT/inst$_f" ] || { echo "missing $_f"; return 1; }
    done
    "$OUT/inst/opt/hm/sbin/homed-milter" -h | grep -q "default /etc/hm/homed-milter.conf" ||
        { echo "the default configuration path ignores --sysconfdir"; return 1; }
    # The bind password's directory, and the unit naming this build's paths.
    [ -d "$OUT/inst/etc/hm/homed-milter" ] || { echo "missing /etc/hm/homed-milter/"; return 1; }
    [ "$(stat -c %a "$OUT/inst/etc/hm/homed-milter")" = 750 ] ||
        { echo "/etc/hm/homed-milter/ is not 0750"; return 1; }
    _unit=$OUT/inst/opt/hm/lib/systemd/system/homed-milter.service
    [ -f "$_unit" ] || { echo "missing /opt/hm/lib/systemd/system/homed-milter.service"; return 1; }
    grep -qx 'ExecStart=/opt/hm/sbin/homed-milter -f -c /etc/hm/homed-milter.conf' "$_unit" ||
        { echo "the installed unit does not name /opt/hm/sbin/homed-milter"; return 1; }
    # The default prefix: the unit names /usr/local/sbin, where the binary goes.
    rm -rf "$OUT/install-default" "$OUT/inst-default" && mkdir -p "$OUT/install-default" &&
        (cd "$OUT/install-default" && "$SRC/configure" -q &&
            make install-systemdsystemunitDATA DESTDIR="$OUT/inst-default" >/dev/null) || return 1
    grep -qx 'ExecStart=/usr/local/sbin/homed-milter -f -c /usr/local/etc/homed-milter.conf' \
        "$OUT/inst-default/usr/local/lib/systemd/system/homed-milter.service" ||
        { echo "with the default prefix the unit does not name /usr/local/sbin/homed-milter"; return 1; }
    echo "# mine" > "$OUT/inst/etc/hm/homed-milter.conf"
    make -C "$_d" install DESTDIR="$OUT/inst" >/dev/null || return 1
    [ "$(cat "$OUT/inst/etc/hm/homed-milter.conf")" = "# mine" ] ||
        { echo "make install overwrote the configuration"; return 1; }
}
step install install_check

say "Debian package: build, lintian, dpkg -i, behind a chrooted Postfix, dpkg -r/--purge"
sh "$SRC/test/package/run.sh" >"$OUT/package.out" 2>&1
count_tap package "$OUT/package.out" $?

say "distribution"
step distcheck make -C "$OUT/normal" distcheck

say "formatting"
step clang-format sh -c "cd '$SRC' && clang-format --dry-run --Werror filter/*.c filter/*.h include/*.h test/unit/*.c test/unit/*.h test/directory/*.c test/fuzz/*.c test/bench/*.c test/tools/*.c test/differential/*.c"

echo
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]

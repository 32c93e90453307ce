#!/bin/sh
# The Debian package as an admin installs it (README: "Installing";
# debian/README.Debian). TAP output.
#
#   sh test/package/run.sh      (as root, on Debian 12; test/check-all.sh
#                                runs it)
#
# Builds the .deb from a clean clone of the repository (its committed
# HEAD) with dpkg-buildpackage -us -uc -b, runs lintian (no errors; the
# other tags are printed as comments), installs it with dpkg -i on this
# machine, and checks what the package made and that it started nothing.
# Then it runs the installed binary as the installed unit would (its
# ExecStartPre and ExecStart, as the unit's user, with its umask) on the
# packaged /etc/homed-milter.conf with only ldap.* and local_hosts changed
# to a private slapd, behind a private Postfix running Debian's stock
# master.cf, smtpd chrooted in its queue directory: an owned sender gets
# 250 and the message reaches the sink, a forged one 554 5.7.1. Last,
# dpkg -r and dpkg --purge: no process, no socket, nothing of the package
# left. This machine has no running systemd: systemd-analyze verify checks
# the unit instead.
#
# The machine is restored: the user and group the package created are
# removed again (the package leaves them on purge, as Debian packages
# do); an /etc/homed-milter.conf, /etc/homed-milter/ or
# /var/spool/postfix/homed-milter/ that was there before (from make
# install) is moved aside for the run and put back. It refuses to run
# when the package is already installed or a homed-milter runs from
# /usr/sbin: both would be replaced. Everything runs in a private mount
# namespace (unshare -m); the private Postfix's chroot sees the package's
# socket directory through a bind mount there, so the host's mounts and
# its Postfix (/etc/postfix, /var/spool/postfix) are never touched.
# PKG_KEEP=1 keeps the work directory for a look afterwards.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/test/lib/slapd.sh"
. "$SRC/test/lib/tap.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root (dpkg -i, a private Postfix)"
if [ -z "${HM_PKG_NS:-}" ]; then
    command -v unshare >/dev/null 2>&1 || skip_all "unshare is not installed"
    HM_PKG_NS=1 exec unshare -m --propagation private sh "$0" "$@"
fi

. "$SRC/test/e2e/lib-milter.sh"
. "$SRC/test/e2e/lib-postfix.sh"

PKG=homed-milter
SBIN=/usr/sbin/homed-milter
CONF=/etc/homed-milter.conf
ETCDIR=/etc/homed-milter
SOCKDIR=/var/spool/postfix/homed-milter
SOCK=$SOCKDIR/homed-milter.sock
UNIT=/lib/systemd/system/homed-milter.service

for _tool in git dpkg-buildpackage dh lintian setpriv "$SLAPD" "$POSTFIX" "$SWAKS" \
    "$SASLPASSWD2" "$SMTP_SINK" systemd-analyze; do
    command -v "$_tool" >/dev/null 2>&1 || skip_all "$_tool is not installed"
done
command -v postfix_smtpd_roots >/dev/null 2>&1 ||
    skip_all "test/e2e/lib-postfix.sh cannot run Postfix chrooted"

# What must not be replaced: an installed package, a running daemon.
_st=$(dpkg-query -W -f '${db:Status-Status}' "$PKG" 2>/dev/null)
case $_st in '' | not-installed) ;; *)
    echo "1..1"
    echo "not ok 1 - $PKG is on this machine ($_st): the layer would replace it; remove it first"
    exit 1
    ;;
esac
# exe_pids PATH: the processes that run PATH (also once PATH is removed)
exe_pids() {
    for _p in /proc/[0-9]*; do
        case $(readlink "$_p/exe" 2>/dev/null) in
        "$1" | "$1 (deleted)") printf '%s\n' "${_p#/proc/}" ;;
        esac
    done
    return 0
}
if [ -n "$(exe_pids "$SBIN")" ]; then
    echo "1..1"
    echo "not ok 1 - a homed-milter runs from $SBIN: the package's removal would stop it"
    exit 1
fi

BASE=$(mktemp -d "${TMPDIR:-/tmp}/hm-package.XXXXXX")
chmod 755 "$BASE" # Postfix's daemons (user postfix) must reach their files
SLAPD_DIR=$BASE/slapd
PF_DIR=$BASE/postfix
MILTER_DIR=$BASE/milter # lib-milter.sh's smtp_send writes its transcripts here
SAVED=$BASE/saved
mkdir -p "$SLAPD_DIR" "$PF_DIR" "$MILTER_DIR" "$SAVED"

# The machine as it was: accounts, and what make install may have left.
for _f in passwd group shadow gshadow passwd- group- shadow- gshadow-; do
    [ -f "/etc/$_f" ] && cp -p "/etc/$_f" "$SAVED/$_f"
done
HAD_USER=0
getent passwd homed-milter >/dev/null && HAD_USER=1
HAD_GROUP=0
getent group homed-milter >/dev/null && HAD_GROUP=1
in_group() { id -Gn "$1" 2>/dev/null | tr ' ' '\n' | grep -qx homed-milter; }
HAD_POSTFIX_IN=0
in_group postfix && HAD_POSTFIX_IN=1
ASIDE=""
for _p in "$CONF" "$ETCDIR" "$SOCKDIR"; do
    if [ -e "$_p" ] || [ -L "$_p" ]; then
        mkdir -p "$SAVED/aside${_p%/*}" && mv "$_p" "$SAVED/aside$_p" && ASIDE="$ASIDE $_p"
    fi
done
# (the directory's own line left out: its mtime moves with any entry made
# and removed again)
spool_ls() { ls -la /var/spool/postfix 2>&1 | grep -v ' \.$'; }
spool_ls > "$SAVED/spool.ls"

MILTER_PID=""
stop_milter() {
    [ -n "$MILTER_PID" ] || return 0
    kill -TERM "$MILTER_PID" 2>/dev/null
    wait_gone "$MILTER_PID" 100
    MILTER_PID=""
}

# restore: stop what the test started, purge the package, and put the
# machine back as it was (once)
RESTORED=0
restore() {
    [ "$RESTORED" = 0 ] || return 0
    RESTORED=1
    postfix_stop
    postfix_sink_stop
    stop_milter
    slapd_stop
    umount "$PF_DIR/spool/homed-milter" 2>/dev/null
    _st=$(dpkg-query -W -f '${db:Status-Status}' "$PKG" 2>/dev/null)
    case $_st in '' | not-installed) ;; *) dpkg --purge "$PKG" >/dev/null 2>&1 ;; esac
    # What the package made and purge leaves: the accounts.
    [ "$HAD_POSTFIX_IN" = 1 ] || ! in_group postfix || gpasswd -d postfix homed-milter >/dev/null 2>&1
    [ "$HAD_USER" = 1 ] || ! getent passwd homed-milter >/dev/null ||
        deluser --system --quiet homed-milter >/dev/null 2>&1
    [ "$HAD_GROUP" = 1 ] || ! getent group homed-milter >/dev/null ||
        delgroup --system --quiet homed-milter >/dev/null 2>&1
    for _f in passwd- group- shadow- gshadow-; do
        [ -f "$SAVED/$_f" ] && cp -p "$SAVED/$_f" "/etc/$_f"
    done
    for _p in $ASIDE; do
        rm -rf "$_p" && mv "$SAVED/aside$_p" "$_p"
    done
}
cleanup() {
    restore
    if [ "${PKG_KEEP:-}" = 1 ]; then echo "# kept $BASE"; else rm -rf "$BASE"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# -- build -----------------------------------------------------------------
BUILD=$BASE/build
mkdir -p "$BUILD"
ok_if "clean clone of the repository" git clone -q "$SRC" "$BUILD/$PKG"
(cd "$BUILD/$PKG" && dpkg-buildpackage -us -uc -b) > "$BASE/build.log" 2>&1
_rc=$?
is "$_rc" 0 "dpkg-buildpackage -us -uc -b"
[ "$_rc" = 0 ] || tail -30 "$BASE/build.log" | sed 's/^/# /'
DEB=$(ls "$BUILD"/${PKG}_*.deb 2>/dev/null | head -1)
CHANGES=$(ls "$BUILD"/${PKG}_*.changes 2>/dev/null | head -1)
if [ -z "$DEB" ]; then
    echo "Bail out! no .deb was built"
    exit 1
fi
diag "built $(basename "$DEB")"

# -- lintian ----------------------------------------------------------------
lintian --fail-on error --pedantic --display-info "$CHANGES" > "$BASE/lintian.out" 2>&1
_rc=$?
is "$_rc" 0 "lintian: no errors"
grep -E '^[EWIPX]: ' "$BASE/lintian.out" | sed 's/^/lintian /' | sed 's/^/# /'
is "$(grep -c '^E: ' "$BASE/lintian.out")" 0 "lintian: no E: tags"

# -- install ----------------------------------------------------------------
dpkg -i "$DEB" > "$BASE/dpkg-i.out" 2>&1
_rc=$?
is "$_rc" 0 "dpkg -i"
[ "$_rc" = 0 ] || sed 's/^/# /' "$BASE/dpkg-i.out"
is "$(dpkg-query -W -f '${db:Status-Status}' "$PKG")" installed "the package is installed"

ok_if "user homed-milter exists" eval 'getent passwd homed-milter >/dev/null'
ok_if "group homed-milter exists" eval 'getent group homed-milter >/dev/null'
ok_if "postfix is in the group homed-milter" in_group postfix
is "$(stat -c '%a %U:%G' "$ETCDIR" 2>&1)" "750 root:homed-milter" "$ETCDIR/ is 0750 root:homed-milter"
is "$(stat -c '%a %U:%G' "$SOCKDIR" 2>&1)" "750 homed-milter:homed-milter" \
    "$SOCKDIR/ is 0750 homed-milter:homed-milter"
like "$(dpkg-query -W -f '${Conffiles}' "$PKG")" "^ *$CONF [0-9a-f]{32}\$" "$CONF is the only conffile"
for _f in "$SBIN" "$CONF" "$UNIT" /usr/share/man/man8/homed-milter.8.gz \
    /usr/share/man/man5/homed-milter.conf.5.gz \
    /usr/share/doc/homed-milter/README.Debian \
    /usr/share/doc/homed-milter/examples/homed-milter.conf \
    /usr/share/doc/homed-milter/examples/postfix-main.cf \
    /usr/share/doc/homed-milter/examples/sendmail.mc \
    /usr/share/doc/homed-milter/examples/example.ldif; do
    ok_if "installed: $_f" test -f "$_f"
done

# Installing starts nothing and enables nothing.
is "$(exe_pids "$SBIN")" "" "no homed-milter runs after dpkg -i"
ok_if "no socket after dpkg -i" test ! -e "$SOCK"
ok_if "the unit is not enabled" test ! -e /etc/systemd/system/multi-user.target.wants/homed-milter.service
is "$(systemctl is-enabled homed-milter.service 2>&1)" disabled "systemctl is-enabled: disabled"

# -- the unit -----------------------------------------------------------------
systemd-analyze verify --man=no "$UNIT" > "$BASE/verify.out" 2>&1
_rc=$?
is "$_rc" 0 "systemd-analyze verify $UNIT"
[ "$_rc" = 0 ] || sed 's/^/# /' "$BASE/verify.out"
unit_key() { sed -n "s/^$1=//p" "$UNIT"; }
is "$(unit_key Type)" notify "unit: Type=notify"
is "$(unit_key User)" homed-milter "unit: User=homed-milter"
is "$(unit_key ExecStart)" "$SBIN -f -c $CONF" "unit: ExecStart names the installed binary and conffile"
is "$(unit_key ExecStartPre)" "$SBIN -n -c $CONF" "unit: ExecStartPre checks the configuration"
like "$(unit_key ExecReload)" 'kill -(USR1|HUP) \$MAINPID' "unit: systemctl reload signals the daemon"
is "$(unit_key ReadWritePaths)" "-$SOCKDIR" "unit: writes only the socket directory"
is "$(unit_key UMask)" 0007 "unit: UMask=0007"

# -- configure it: ldap.* and local_hosts only ---------------------------------
slapd_init "$SRC/etc/example.ldif" "$SRC/test/e2e/e2e.ldif" >/dev/null ||
    { echo "Bail out! slapadd failed"; exit 1; }
slapd_start || { echo "Bail out! slapd did not start"; exit 1; }
cp "$CONF" "$BASE/packaged.conf"
like "$(sed -n 's/^socket = //p' "$CONF")" "^\"unix:$SOCK\";" "packaged socket: unix:$SOCK"
sed -e "s|^\\( *uri = \\).*|\\1[ \"$SLAPD_LDAP_URL\" ];|" \
    -e 's|^\( *\)# *bind_dn = .*|\1bind_dn = "cn=milter,dc=example,dc=com";|' \
    -e "s|^\\( *\\)# *bind_password_file = .*|\\1bind_password_file = \"$ETCDIR/ldap.secret\";|" \
    -e 's|^\( *\)# *base = .*|\1base = "ou=people,dc=example,dc=com";|' \
    -e 's|^\( *base = \).*|\1"ou=people,dc=example,dc=com";|' \
    -e 's|^local_hosts = .*|local_hosts = [ "mail.example.com" ];|' \
    "$BASE/packaged.conf" > "$CONF"
# Every changed line is an ldap.* key or local_hosts.
_other=$(diff "$BASE/packaged.conf" "$CONF" | grep '^[<>]' |
    grep -Ev '^[<>] *#? *(uri|bind_dn|bind_password_file|base) = |^[<>] *local_hosts = ')
is "$_other" "" "only ldap.* and local_hosts changed in $CONF"
install -m 0640 -o root -g homed-milter /dev/null "$ETCDIR/ldap.secret" &&
    printf 'miltersecret\n' > "$ETCDIR/ldap.secret"
as_unit_user() { setpriv --reuid=homed-milter --regid=homed-milter --init-groups "$@"; }
# shellcheck disable=SC2046 # the unit's command line
as_unit_user $(unit_key ExecStartPre) > "$BASE/check.out" 2>&1
_rc=$?
is "$_rc" 0 "ExecStartPre (homed-milter -n) as homed-milter accepts the configuration"
[ "$_rc" = 0 ] || sed 's/^/# /' "$BASE/check.out"

# -- run it as the unit would ----------------------------------------------------
(
    umask 0007
    # shellcheck disable=SC2046
    exec setpriv --reuid=homed-milter --regid=homed-milter --init-groups $(unit_key ExecStart)
) </dev/null >> "$BASE/milter.log" 2>&1 3>&- &
MILTER_PID=$!
wait_for 100 eval 'test -S "$SOCK" || ! alive "$MILTER_PID"'
ok_if "the daemon runs and listens on $SOCK" eval 'alive "$MILTER_PID" && test -S "$SOCK"'
is "$(stat -c '%U:%G' "$SOCK" 2>&1)" "homed-milter:homed-milter" "the socket belongs to homed-milter"
like "$(stat -c '%a' "$SOCK" 2>&1)" '^[67][67]0$' "the socket is open to its group, not to others"

# systemctl reload runs the unit's ExecReload with $MAINPID.
_n=$(grep -c reloaded "$BASE/milter.log")
sh -c "$(unit_key ExecReload | sed "s/\$MAINPID/$MILTER_PID/")"
ok_if "the unit's ExecReload reloads the configuration" \
    wait_for 50 eval '[ "$(grep -c reloaded "$BASE/milter.log")" -gt "$_n" ]'
ok_if "still running after the reload" alive "$MILTER_PID"

# -- a private Postfix, smtpd chrooted -----------------------------------------
postfix_milter_dir homed-milter
mount --bind "$SOCKDIR" "$PF_MILTER_DIR" ||
    { echo "Bail out! cannot bind-mount $SOCKDIR into the chroot"; exit 1; }
postfix_init "unix:/homed-milter/homed-milter.sock" mail.example.com ||
    { echo "Bail out! cannot configure Postfix"; exit 1; }
postfix_adduser janed pw-janed || { echo "Bail out! saslpasswd2 failed"; exit 1; }
postfix_sink_start || { echo "Bail out! smtp-sink did not start"; exit 1; }
postfix_start || { echo "Bail out! Postfix did not start"; exit 1; }
SERVER=127.0.0.1:$PF_PORT

SUBJ="package-layer owned $$"
smtp_send owned "$SERVER" --auth PLAIN --auth-user janed --auth-password pw-janed \
    --from janed@example.com --to bob@example.org --header "Subject: $SUBJ"
is "$SWAKS_RC" 0 "owned sender: swaks exits 0"
like "$(reply_to "$MILTER_DIR/owned.swaks" .)" '^<-  250 2\.0\.0 Ok: queued as ' \
    "owned sender: 250 after DATA"
ok_if "owned sender: the message reaches the sink" postfix_sink_wait "Subject: $SUBJ"
_roots=$(postfix_smtpd_roots)
_chrooted=no
test -n "$_roots" && ! printf '%s\n' "$_roots" | grep -qv " $PF_DIR/spool\$" && _chrooted=yes
is "$_chrooted" yes "Postfix's smtpd ran chrooted in its queue directory"
[ "$_chrooted" = yes ] || diag "smtpd (pid root): $_roots"

smtp_send forged "$SERVER" --auth PLAIN --auth-user janed --auth-password pw-janed \
    --from alice@example.com --to bob@example.org
is "$SWAKS_RC" 23 "forged sender: swaks exits 23 (MAIL FROM refused)"
like "$(reply_to "$MILTER_DIR/forged.swaks" "MAIL FROM")" \
    '^<\*\* 554 5\.7\.1 .*alice@example\.com' "forged sender: 554 5.7.1 at MAIL FROM, naming the address"
postfix_stop
postfix_sink_stop
umount "$PF_MILTER_DIR"

# -- remove, purge ---------------------------------------------------------------
dpkg -r "$PKG" > "$BASE/dpkg-r.out" 2>&1
_rc=$?
is "$_rc" 0 "dpkg -r"
[ "$_rc" = 0 ] || sed 's/^/# /' "$BASE/dpkg-r.out"
wait_for 50 eval '! alive "$MILTER_PID"'
ok_if "dpkg -r stopped the daemon" eval '! alive "$MILTER_PID"'
wait "$MILTER_PID" 2>/dev/null
MILTER_PID=""
is "$(exe_pids "$SBIN")" "" "no homed-milter runs after dpkg -r"
ok_if "no socket after dpkg -r" test ! -e "$SOCK"
ok_if "dpkg -r keeps the configuration" test -f "$CONF" -a -f "$ETCDIR/ldap.secret"
ok_if "dpkg -r removes the binary" test ! -e "$SBIN"

dpkg --purge "$PKG" > "$BASE/dpkg-purge.out" 2>&1
_rc=$?
is "$_rc" 0 "dpkg --purge"
[ "$_rc" = 0 ] || sed 's/^/# /' "$BASE/dpkg-purge.out"
for _p in "$CONF" "$ETCDIR" "$SOCKDIR" "$UNIT" "$SBIN" /usr/share/doc/homed-milter; do
    ok_if "purged: $_p" test ! -e "$_p"
done
_left=$(dpkg-deb -c "$DEB" | awk '{print substr($6, 2)}' | while read -r _f; do
    [ -f "$_f" ] && echo "$_f"
done)
is "$_left" "" "no file of the package is left"
is "$(ls /var/lib/systemd/deb-systemd-helper-enabled 2>/dev/null | grep -c homed-milter)" 0 \
    "no systemd state of the unit is left"
ok_if "purge leaves the system user (Debian practice; README.Debian)" \
    eval 'getent passwd homed-milter >/dev/null'
is "$(exe_pids "$SBIN")" "" "no homed-milter runs after dpkg --purge"

# -- the machine as before -------------------------------------------------------
restore
_diff=""
for _f in passwd group shadow gshadow; do
    cmp -s "$SAVED/$_f" "/etc/$_f" 2>/dev/null || _diff="$_diff /etc/$_f"
done
is "$_diff" "" "users and groups as before"
is "$(spool_ls)" "$(cat "$SAVED/spool.ls")" "/var/spool/postfix as before"
for _p in $ASIDE; do
    ok_if "put back: $_p" test -e "$_p"
done
done_testing

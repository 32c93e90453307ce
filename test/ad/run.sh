#!/bin/sh
# The Active Directory layer: homed-milter -q and the real daemon (driven
# by miltertest, test/ad/ad.lua) against a private Samba AD DC, with
# Exchange's attributes: mail and proxyAddresses (SMTP:, smtp:, X500:,
# SIP: values), msExchHomeServerName (a legacy DN ending in the server),
# homeMDB, publicDelegates. TAP output; everything is made, started and
# stopped here.
#
#   HM_SRCDIR=... HM_BUILDDIR=... sh test/ad/run.sh      (as root)
#
# Needs samba, samba-dsdb-modules, samba-vfs-modules, samba-ad-provision,
# ldb-tools, ldap-utils, openssl, miltertest, perl, and unshare and ip
# (util-linux, iproute2). The DC binds the fixed ports 389 and 636 and
# names itself dc1.ad.example.test in its certificate (no subjectAltName),
# so the script runs itself again in a network and mount namespace of its
# own: lo brought up, /etc/hosts replaced by a private one naming the DC.
# The DC, homed-milter -q and the daemons all run in there; miltertest
# reaches the daemons over their unix sockets. As root. The domain,
# provisioned from scratch into a temporary directory (test/ad/schema-*.ldif
# and users.ldif loaded offline into sam.ldb), is thrown away at the end;
# nothing outside that directory is written. HM_KEEP=1 keeps it
# (configurations, daemon and DC logs).
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/test/lib/daemon.sh"
HERE=$SRC/test/ad
REALM=ad.example.test
DCHOST=dc1.$REALM
BASE=DC=ad,DC=example,DC=test
USERS=CN=Users,$BASE

if [ "${HM_AD_NAMESPACE:-}" != 1 ]; then
    [ -x "$HM" ] || skip_all "homed-milter is not built"
    for _t in samba samba-tool ldbmodify ldbadd ldapsearch miltertest openssl perl unshare ip mount; do
        command -v "$_t" >/dev/null 2>&1 ||
            skip_all "$_t is not installed (apt-get install samba samba-dsdb-modules samba-vfs-modules samba-ad-provision ldb-tools ldap-utils miltertest iproute2)"
    done
    # (In a user namespace, unshare -r, provisioning panics setting the
    # sysvol's owners: only this user's id is mapped there.)
    [ "$(id -u)" = 0 ] || skip_all "not root (Samba's provisioning and a network namespace need it)"
    unshare -n -m true 2>/dev/null || skip_all "cannot enter a network namespace of its own (unshare -n -m)"
    HM_AD_NAMESPACE=1
    export HM_AD_NAMESPACE
    exec unshare -n -m sh "$HERE/run.sh" "$@"
fi

# --- in the namespace: the domain ----------------------------------------------------
W=$(mktemp -d "${TMPDIR:-/tmp}/hm-ad.XXXXXX") || exit 1
HM_DIR=$W
DC=$W/dc
CA=$DC/private/tls/ca.pem
SAMBA_PID=""
HOSTS_MOUNTED=""
cleanup() {
    set +e
    hm_term
    if [ -n "$SAMBA_PID" ]; then
        kill -TERM "$SAMBA_PID" 2>/dev/null
        wait_gone "$SAMBA_PID" 100
    fi
    hm_stop
    [ -n "$HOSTS_MOUNTED" ] && umount /etc/hosts
    if [ "${HM_KEEP:-}" = 1 ]; then echo "# work directory kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

# setup_failed WHAT LOG: the end of LOG as diagnostics, then skip_all
setup_failed() {
    [ -f "$2" ] && diag "$(tail -15 "$2")"
    skip_all "$1"
}

ip link set lo up || skip_all "cannot bring lo up in the namespace"
printf '127.0.0.1 localhost\n::1 localhost\n127.0.0.1 %s dc1\n' "$DCHOST" > "$W/hosts"
mount --bind "$W/hosts" /etc/hosts || skip_all "cannot bind-mount a private /etc/hosts"
HOSTS_MOUNTED=1

ADMINPW='Adm1n-Secret!x'
BINDPW='M41l-Filter!pw'
mkdir -p "$W/run"
samba-tool domain provision --realm="$REALM" --domain=EXAMPLE --server-role=dc \
    --dns-backend=NONE --use-rfc2307 --host-name=dc1 --adminpass="$ADMINPW" --targetdir="$DC" \
    --option="server services = ldap" --option="interfaces = lo" \
    --option="bind interfaces only = yes" --option="pid directory = $W/run" \
    --option="ncalrpc dir = $W/run/ncalrpc" --option="log file = $W/samba.log" \
    --option="cache directory = $DC/cache" > "$W/provision.log" 2>&1 ||
    setup_failed "samba-tool domain provision failed (samba-vfs-modules installed?)" "$W/provision.log"
SAM=$DC/private/sam.ldb
# Two runs: the attributes must be in the schema before a class names them.
for _l in schema-attributes schema-classes; do
    ldbmodify -H "$SAM" --option="dsdb:schema update allowed=true" "$HERE/$_l.ldif" \
        >> "$W/load.log" 2>&1 || setup_failed "ldbmodify $_l.ldif failed" "$W/load.log"
done
ldbadd -H "$SAM" "$HERE/users.ldif" >> "$W/load.log" 2>&1 ||
    setup_failed "ldbadd users.ldif failed" "$W/load.log"
samba-tool user create mailfilter "$BINDPW" -H "$SAM" -s "$DC/etc/smb.conf" \
    >> "$W/load.log" 2>&1 || setup_failed "samba-tool user create mailfilter failed" "$W/load.log"

# The DC: one process, a child of this shell, ending by itself if the test
# is killed. It makes its TLS key and certificate (CA in ca.pem) at start.
samba -i -M single -s "$DC/etc/smb.conf" --maximum-runtime=900 </dev/null > "$W/samba.log" 2>&1 3>&- &
SAMBA_PID=$!
dc_answers() {
    [ -s "$CA" ] && LDAPTLS_CACERT=$CA ldapsearch -x -LLL -H "ldaps://$DCHOST" -b "" -s base \
        namingContexts >/dev/null 2>&1
}
# shellcheck disable=SC2016 # eval expands it, each time
wait_for 900 eval 'dc_answers || ! alive "$SAMBA_PID"'
dc_answers || setup_failed "the Samba DC did not answer over LDAPS within 90 s" "$W/samba.log"

# --- the configurations ----------------------------------------------------------------
printf '%s\n' "$BINDPW" > "$W/secret"
printf 'wrong-password\n' > "$W/wrong"
chmod 600 "$W/secret" "$W/wrong"
# A CA of the same name as the DC's, with a key of its own: a client that
# checked names only would take it.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -keyout "$W/impostor.key" -out "$W/impostor.pem" \
    -subj "$(openssl x509 -in "$CA" -noout -subject -nameopt compat | sed 's/^subject=//')" \
    2>/dev/null || setup_failed "openssl could not make a CA" /dev/null

LDAPS="ldap.uri=[ \"ldaps://$DCHOST\" ]"
LDAP="ldap.uri=[ \"ldap://$DCHOST\" ]"
# adconf NAME [KEY=VALUE]...: HM_DIR/NAME.conf, the AD configuration of
# the issue (LDAPS with the DC's CA) with the KEY=VALUEs on top
adconf() {
    _ac=$1
    shift
    hm_conf "$_ac" 'local_hosts=[ "MAIL1" ]' "$LDAPS" "ldap.ca_file=\"$CA\"" \
        "ldap.bind_dn=\"mailfilter@$REALM\"" "ldap.base=\"$BASE\"" ldap.timeout=5 \
        'ldap.login_filter="(|(sAMAccountName=%l)(userPrincipalName=%u))"' \
        'ldap.login_attribute=[ "sAMAccountName", "userPrincipalName" ]' \
        'ldap.address_attributes=[ "mail", "proxyAddresses" ]' \
        'ldap.prefixed_attributes=[ "proxyAddresses" ]' \
        'ldap.home_attribute="msExchHomeServerName"' 'ldap.home_value="rdn"' \
        'ldap.on_behalf_filter="(&(proxyAddresses=smtp:%s)(publicDelegates=%D))"' \
        'policy.header_fields=[ "From", "Sender" ]' \
        'policy.reject_text="Mailbox is not local: %s"' "$@"
}
adconf ad
adconf starttls "$LDAP" ldap.starttls=true
adconf downlevel 'ldap.bind_dn="EXAMPLE\\mailfilter"'
adconf binddn "ldap.bind_dn=\"CN=mailfilter,$USERS\""
adconf plain "$LDAP"
adconf ldaps_impostor "ldap.ca_file=\"$W/impostor.pem\""
adconf starttls_impostor "$LDAP" ldap.starttls=true "ldap.ca_file=\"$W/impostor.pem\""
adconf by_ip 'ldap.uri=[ "ldaps://127.0.0.1" ]'
adconf wrongpw "ldap.bind_password_file=\"$W/wrong\""
adconf whole_value ldap.home_value=
adconf unprefixed 'ldap.prefixed_attributes=[]'
adconf sam_only 'ldap.login_attribute="sAMAccountName"'
adconf upn_only 'ldap.login_attribute="userPrincipalName"'
adconf mdb 'local_hosts=[ "DB01" ]' 'ldap.home_attribute="homeMDB"'
adconf mdb_servers 'local_hosts=[ "DB01", "MAIL1" ]' 'ldap.home_attribute="homeMDB"'
adconf mdb_names 'local_hosts=[ "mailbox database 0123456789", "Sales, East" ]' \
    'ldap.home_attribute="homeMDB"'
adconf lower 'local_hosts=[ "mail1" ]'
adconf info 'ldap.home_attribute="info"'
adconf errreject 'policy.on_directory_error="reject"'

# --- homed-milter -q ---------------------------------------------------------------------
# ask CONF LOGIN ADDRESS: homed-milter -q with HM_DIR/CONF.conf; sets OUT,
# RC, VERDICT (its first line), ENTRY (the second), REASON (the third)
ask() {
    OUT=$("$HM" -c "$W/$1.conf" -q "$2" "$3" 2>"$W/ask.err")
    RC=$?
    VERDICT="" ENTRY="" REASON=""
    { IFS= read -r VERDICT; IFS= read -r ENTRY; IFS= read -r REASON; } <<EOF
$OUT
EOF
}
# decide CONF LOGIN ADDRESS VERDICT DESCRIPTION: ask, then the verdict
# line and the exit status that goes with it (accept 0, reject 1,
# tempfail 2) are VERDICT's; on a failure the whole answer is shown
decide() {
    ask "$1" "$2" "$3"
    case $4 in accept*) _want=0 ;; reject*) _want=1 ;; *) _want=2 ;; esac
    _before=$TAP_FAILED
    is "$VERDICT (exit $RC)" "$4 (exit $_want)" "$5"
    [ "$TAP_FAILED" = "$_before" ] || diag "-q $2 $3 said:" "$OUT" "$(head -5 "$W/ask.err")"
}
ACCEPT=accept
NOT_LOCAL="reject 554 5.7.1 Mailbox is not local:"
TEMPFAIL="tempfail 451 4.3.0 Directory unavailable, try again later"
JANE="CN=Jane Doe,$USERS"

# The base is the domain's root: the DC answers a search there with the
# entry and continuation references (to its configuration partition, by
# the realm's name, which nothing resolves here). Every search below
# relies on the milter neither chasing nor counting them.
REFS=$(LDAPTLS_CACERT=$CA ldapsearch -x -LLL -H "ldaps://$DCHOST" -D "mailfilter@$REALM" -w "$BINDPW" \
    -b "$BASE" '(sAMAccountName=jdoe)' dn 2>&1)
like "$(printf '%s\n' "$REFS" | tr '\n' ' ')" "^dn: $JANE .*# refldaps://$REALM/" \
    "the DC answers a search from the root with the entry and a continuation reference"

# What -q shows: the RDN compared, and the addresses read from
# proxyAddresses (the smtp: values, without the prefix; the primary may
# come twice, from mail and from SMTP:).
PREFIXED="(of proxyAddresses: the smtp: values only, without the prefix)"
ask ad jdoe jd@example.test
like "$ENTRY" "^entry $JANE home=/o=Org/ou=Exchange Administrative Group \\(FYDIBOHF23SPDLT\\)/cn=Configuration/cn=Servers/cn=MAIL1 \\(compared: \"MAIL1\"\\) addresses=jane\\.doe@example\\.test,(jane\\.doe@example\\.test,)?jd@example\\.test \\(of proxyAddresses: the smtp: values only, without the prefix\\)\$" \
    "-q: the legacy DN's last RDN compared (MAIL1), the smtp: values as addresses, X500: and SIP: left out"
ask ad ponly p.only@example.test
is "${ENTRY#* addresses=}" "p.only@example.test,po@example.test $PREFIXED" \
    "-q: no mail; the SMTP: and smtp: values, not the one without a prefix"

# Owned: the primary address (mail and SMTP:) and the smtp: alias, for
# both of jdoe's logins: the sAMAccountName and the UPN (whose part
# before the @ is not the sAMAccountName).
for login in jdoe jane.doe@$REALM; do
    decide ad "$login" jane.doe@example.test "$ACCEPT" "login $login: the primary address (mail, SMTP:) is owned"
    like "$ENTRY" "^entry $JANE " "login $login: jdoe's entry is found"
    is "$REASON" "reason owned: jane.doe@example.test is an address of this entry" "login $login: reason owned"
    decide ad "$login" jd@example.test "$ACCEPT" "login $login: the smtp: alias is owned (prefix removed)"
    decide ad "$login" '"Jane Doe" <JD@Example.TEST>' "$ACCEPT" "login $login: the alias in a From: value, in other case"
done
decide ad JDOE jane.doe@example.test "$ACCEPT" "login JDOE: the sAMAccountName ignoring ASCII case"
decide ad Jane.Doe@AD.Example.Test jd@example.test "$ACCEPT" "login Jane.Doe@AD.Example.Test: the UPN ignoring ASCII case"
decide ad jdoe@$REALM jane.doe@example.test "$ACCEPT" "login jdoe@$REALM: the sAMAccountName is the login's part before the @"
decide ad jane.doe jane.doe@example.test "$NOT_LOCAL jane.doe@example.test" "login jane.doe (the UPN's part before the @): no entry"
like "$ENTRY" "^entry none: " "login jane.doe: no entry, said so"
decide ad '*' jane.doe@example.test "$NOT_LOCAL jane.doe@example.test" "login '*': escaped, no entry"
decide ad 'jdoe)(sAMAccountName=*' jane.doe@example.test "$NOT_LOCAL jane.doe@example.test" "login 'jdoe)(sAMAccountName=*': escaped, no entry"

# Values of other address types never count, nor one without a prefix in a
# prefixed attribute.
X500='X500:/o=Org/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=jdoe'
ask ad jdoe "From: $X500"
like "$VERDICT (exit $RC)" "^$NOT_LOCAL .* \\(exit 1\\)\$" "the X500 value as a From: field: 554"
like "$REASON" "^reason (malformed|not-owned): " "the X500 value as a From: field: malformed or not owned"
decide ad jdoe "<$X500>" "$NOT_LOCAL $X500" "the X500 value as MAIL FROM: 554"
decide ad jdoe jdoe@example.test "$NOT_LOCAL jdoe@example.test" "the SIP: value's address (SIP:jdoe@example.test) is not owned"
like "$REASON" "^reason not-owned: " "the SIP: value's address: reason not-owned"
decide ad jdoe '<"SIP:jdoe"@example.test>' "$NOT_LOCAL \"SIP:jdoe\"@example.test" "the whole SIP: value as a quoted local part is not owned"
decide ad jdoe '<"smtp:jd"@example.test>' "$NOT_LOCAL \"smtp:jd\"@example.test" "the whole smtp: value as a quoted local part is not owned"
decide ad ponly unprefixed@example.test "$NOT_LOCAL unprefixed@example.test" "a proxyAddresses value without a prefix is not owned"
decide unprefixed jdoe jd@example.test "$NOT_LOCAL jd@example.test" "prefixed_attributes = []: the smtp: alias is not an address"
decide unprefixed jdoe jane.doe@example.test "$ACCEPT" "prefixed_attributes = []: the primary still owned through mail"

# A primary address only in proxyAddresses (no mail).
decide ad ponly p.only@example.test "$ACCEPT" "no mail: the SMTP: primary in proxyAddresses is owned"
decide ad ponly '<PO@example.test>' "$ACCEPT" "no mail: the smtp: alias is owned"
decide unprefixed ponly p.only@example.test "$NOT_LOCAL p.only@example.test" "no mail, prefixed_attributes = []: nothing is owned"

# Homes: the most specific RDN of msExchHomeServerName against local_hosts.
NOT_HOMED="reason not-homed: the most specific RDN of no msExchHomeServerName value is one of local_hosts (MAIL1)"
decide ad bwong bob.wong@example.test "$NOT_LOCAL bob.wong@example.test" "homed on MAIL2: 554"
is "$REASON" "$NOT_HOMED" "homed on MAIL2: reason not-homed, the RDN comparison named"
like "$ENTRY" "/cn=MAIL2 \\(compared: \"MAIL2\"\\) " "homed on MAIL2: -q shows MAIL2 compared"
decide ad legacy legacy@example.test "$NOT_LOCAL legacy@example.test" \
    "MAIL1 as an earlier component (/o=MAIL1/...), the server MAIL11: 554"
is "$REASON" "$NOT_HOMED" "MAIL1 only earlier, MAIL11 last: reason not-homed"
like "$ENTRY" " home=/o=MAIL1/.*/cn=MAIL11 \\(compared: \"MAIL11\"\\) addresses=" \
    "MAIL1 only earlier: -q shows MAIL11 compared"
decide ad nohome nohome@example.test "$NOT_LOCAL nohome@example.test" "no msExchHomeServerName: 554"
like "$ENTRY" " home=\\(none\\) addresses=" "no msExchHomeServerName: home shown as none, nothing compared"
is "$REASON" "$NOT_HOMED" "no msExchHomeServerName: reason not-homed"
decide lower jdoe jane.doe@example.test "$ACCEPT" "local_hosts [ \"mail1\" ]: the RDN MAIL1 compares ignoring case"
decide whole_value jdoe jane.doe@example.test "$NOT_LOCAL jane.doe@example.test" \
    "without home_value = \"rdn\" the whole legacy DN is compared: 554"
is "$REASON" "reason not-homed: no msExchHomeServerName value is one of local_hosts (MAIL1)" \
    "without home_value: reason not-homed, nothing said of RDNs"
# homeMDB: a DN whose first RDN is the mailbox database
decide mdb jdoe jane.doe@example.test "$ACCEPT" "homeMDB CN=DB01,...: DB01 is in local_hosts"
like "$ENTRY" " home=CN=DB01,CN=Databases,.*,DC=test \\(compared: \"DB01\"\\) addresses=" \
    "homeMDB: -q shows DB01 compared"
decide mdb bwong bob.wong@example.test "$NOT_LOCAL bob.wong@example.test" "homeMDB CN=DB02,...: 554"
decide mdb_servers legacy legacy@example.test "$NOT_LOCAL legacy@example.test" \
    "homeMDB CN=MailboxStore01,CN=MAIL1,...: the server further up does not count"
like "$ENTRY" "\\(compared: \"MailboxStore01\"\\) " "homeMDB of Exchange 2007: -q shows the store compared"
decide mdb_names ponly po@example.test "$ACCEPT" "homeMDB \"Mailbox Database 0123456789\": blanks, case aside"
decide mdb_names jsmith john.smith@example.test "$ACCEPT" "homeMDB CN=Sales\\, East: the escaped comma resolved"
like "$ENTRY" "\\(compared: \"Sales, East\"\\) " "homeMDB CN=Sales\\, East: -q shows \"Sales, East\" compared"
decide mdb_names jdoe jane.doe@example.test "$NOT_LOCAL jane.doe@example.test" "homeMDB DB01, not listed: 554"
# An escaped NUL: the RDN value MAIL1\00x is not MAIL1.
decide info bwong bob.wong@example.test "$NOT_LOCAL bob.wong@example.test" \
    "the RDN value MAIL1\\00x (an escaped NUL) is not MAIL1: 554"
like "$REASON" "^reason not-homed: " "the RDN value MAIL1\\00x: reason not-homed"

# Logins: a list of login attributes.
decide sam_only jdoe jd@example.test "$ACCEPT" "login_attribute sAMAccountName only: the login jdoe"
decide sam_only jane.doe@$REALM jd@example.test "$NOT_LOCAL jd@example.test" \
    "login_attribute sAMAccountName only: the UPN login is not the entry's"
like "$ENTRY" "^entry none: " "login_attribute sAMAccountName only, UPN login: explained"
decide upn_only jane.doe@$REALM jd@example.test "$ACCEPT" "login_attribute userPrincipalName only: the UPN login"
decide upn_only jdoe jd@example.test "$NOT_LOCAL jd@example.test" \
    "login_attribute userPrincipalName only: the login jdoe is not the entry's"
decide ad amy amy@example.test "$ACCEPT" "amy: her own address"
decide ad amy@example.test amy@example.test "$TEMPFAIL" \
    "login amy@example.test: amy's sAMAccountName and amy2's UPN, two entries: 451"
like "$ENTRY" "more than one entry" "two entries: said so"

# Send on behalf: publicDelegates on the mailbox, matched by smtp: in
# proxyAddresses (-q reads From: alone; the milter cases need Sender:).
decide ad jdoe 'From: Big Boss <boss@example.test>' "$ACCEPT" "on behalf: boss names jdoe in publicDelegates"
like "$REASON" "^reason on-behalf: boss@example.test .*CN=Big Boss,$USERS grants it" "on behalf: the granting entry is named"
decide ad jdoe 'From: The.Boss@Example.test' "$ACCEPT" "on behalf: boss's smtp: alias, in other case"
decide ad jsmith 'From: boss@example.test' "$ACCEPT" "on behalf: the delegate CN=Smith\\, John (an escaped comma in %D)"
decide ad bwong 'From: boss@example.test' "$NOT_LOCAL boss@example.test" "on behalf: bwong is no delegate: 554"
decide ad jdoe 'From: far.boss@example.test' "$NOT_LOCAL far.boss@example.test" \
    "on behalf: granted by a mailbox homed on MAIL2: 554"
decide ad jdoe '<boss@example.test>' "$NOT_LOCAL boss@example.test" "on behalf: never as MAIL FROM"
decide ad jdoe 'Sender: boss@example.test' "$NOT_LOCAL boss@example.test" "on behalf: never in Sender:"

# Binds and TLS. AD refuses a simple bind in the clear.
decide starttls jane.doe@$REALM jd@example.test "$ACCEPT" "StartTLS verified against the DC's CA: accept"
decide downlevel jdoe jd@example.test "$ACCEPT" "bind as EXAMPLE\\mailfilter (down-level name): accept"
decide binddn jdoe jd@example.test "$ACCEPT" "bind as the account's DN: accept"
decide plain jdoe jd@example.test "$TEMPFAIL" "a simple bind over plain LDAP: 451"
like "$ENTRY" "^error ldap://$DCHOST refused the bind as mailfilter@$REALM: Strong\\(er\\) authentication required" \
    "plain LDAP: said to be the DC's refusal of the bind"
decide ldaps_impostor jdoe jd@example.test "$TEMPFAIL" "LDAPS with a CA of the DC's CA's name but another key: 451"
decide starttls_impostor jdoe jd@example.test "$TEMPFAIL" "StartTLS with that CA: 451"
like "$ENTRY" "StartTLS" "StartTLS with the wrong CA: said so"
decide by_ip jdoe jd@example.test "$TEMPFAIL" "LDAPS to 127.0.0.1 (not the certificate's name): 451"
decide wrongpw jdoe jd@example.test "$TEMPFAIL" "a wrong bind password: 451"
like "$ENTRY" "Invalid credentials" "a wrong bind password: said so"
case "$OUT $(cat "$W/ask.err")" in
*wrong-password*) tap_result 1 "a wrong bind password: never printed" ;;
*) tap_result 0 "a wrong bind password: never printed" ;;
esac

# --- the daemon, driven by miltertest -----------------------------------------------------
adconf milter 'log_level="debug"' # an accepted header address is logged at debug only
adconf milter_tls "$LDAP" ldap.starttls=true
adconf milter_plain "$LDAP"
adconf milter_impostor "ldap.ca_file=\"$W/impostor.pem\""
DAEMONS="milter milter_tls milter_plain milter_impostor"
NOT_UP=""
for d in $DAEMONS; do hm_start "$d"; done
for d in $DAEMONS; do hm_up "$d" || NOT_UP="$NOT_UP $d"; done
is "$NOT_UP" "" "the daemons start in the namespace and listen ($DAEMONS)"

# ad.lua: each "ok NAME" / "not ok NAME" line one test point, the case's
# FAIL: message as diagnostics; it must run to its "done" line. Not run
# when a daemon is not up (each case would wait for its socket).
if [ -z "$NOT_UP" ]; then
    miltertest -D lib="$SRC/test/milter" -D dir="$W" -D mt_timeout=15 -s "$HERE/ad.lua" \
        > "$W/lua.out" 2> "$W/lua.err"
    LUA_RC=$?
    while IFS= read -r line; do
        case $line in
        "ok "*) tap_result 0 "${line#ok }" ;;
        "not ok "*)
            tap_result 1 "${line#not ok }"
            diag "$(grep -F "FAIL: ${line#not ok }: " "$W/lua.err" | head -20)"
            ;;
        esac
    done < "$W/lua.out"
    grep -q '^done ' "$W/lua.out" ||
        { tap_result 1 "ad.lua ran to its end (miltertest exit $LUA_RC)"; diag "$(tail -20 "$W/lua.err")"; }
else
    tap_result 1 "ad.lua: not run, daemons not up:$NOT_UP"
    for d in $NOT_UP; do diag "$d.log:" "$(tail -5 "$W/$d.log")"; done
fi

# --- the DC stopped ----------------------------------------------------------------------
hm_term
kill -TERM "$SAMBA_PID" 2>/dev/null
wait_gone "$SAMBA_PID" 100
SAMBA_PID=""
decide ad jdoe jd@example.test "$TEMPFAIL" "the DC stopped: 451"
like "$ENTRY" "^error ldaps://$DCHOST: .*Can't contact LDAP server" "the DC stopped: said so"
decide errreject jdoe jd@example.test "$NOT_LOCAL jd@example.test" "the DC stopped, on_directory_error reject: 554"
hm_stop
for d in $DAEMONS; do
    is "$(hm_rc "$d")" 0 "daemon $d: exits 0 on SIGTERM"
done
if cat "$W"/milter*.log | grep -qF "$BINDPW"; then
    tap_result 1 "the daemons never log the bind password"
else
    tap_result 0 "the daemons never log the bind password"
fi

done_testing

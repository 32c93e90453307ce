#!/bin/sh
# The directory layer: the real homed-milter -q against a private slapd
# loaded with etc/example.ldif. TAP output; started and stopped here.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$SRC/test/lib/daemon.sh"

[ -x "$HM" ] || skip_all "homed-milter is not built"
[ -x "$SLAPD" ] || skip_all "slapd is not installed"

SLAPD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/hm-dir.XXXXXX")
HM_DIR=$SLAPD_DIR
cleanup() { slapd_stop; rm -rf "$SLAPD_DIR"; }
trap cleanup EXIT
trap 'exit 1' INT TERM

command -v openssl >/dev/null || skip_all "openssl is not installed"
slapd_make_certs || skip_all "cannot make test certificates"
slapd_init "$SRC/etc/example.ldif" "$SRC/test/directory/extra.ldif" >/dev/null ||
    skip_all "slapadd failed"
slapd_start || skip_all "slapd did not start"
printf 'miltersecret\n' > "$SLAPD_DIR/secret"
printf 'wrong\n' > "$SLAPD_DIR/wrong"
chmod 600 "$SLAPD_DIR/secret" "$SLAPD_DIR/wrong"

LDAP="ldap.uri=[ \"$SLAPD_LDAP_URL\" ]"     # TCP rather than the unix socket
LDAPS="ldap.uri=[ \"$SLAPD_LDAPS_URL\" ]"

# q CONF LOGIN ADDRESS: run -q; sets OUT (stdout), RC, LINE1, LINE2, LINE3,
# Q_MS (how long -q took, in ms)
q() {
    _q0=$(date +%s%N)
    OUT=$("$HM" -c "$SLAPD_DIR/$1.conf" -q "$2" "$3" 2>"$SLAPD_DIR/stderr")
    RC=$?
    Q_MS=$((($(date +%s%N) - _q0) / 1000000))
    LINE1=$(printf '%s\n' "$OUT" | sed -n 1p)
    LINE2=$(printf '%s\n' "$OUT" | sed -n 2p)
    LINE3=$(printf '%s\n' "$OUT" | sed -n 3p)
}
# qis CONF LOGIN ADDRESS WANT DESCRIPTION: q, then test "$LINE1$RC" is WANT
qis() {
    q "$1" "$2" "$3"
    is "$LINE1$RC" "$4" "$5"
}
# conf_qis NAME LOGIN ADDRESS WANT DESCRIPTION [KEY=VALUE]...: hm_conf NAME
# with the KEY=VALUEs, then qis NAME
conf_qis() {
    _cq_name=$1 _cq_login=$2 _cq_addr=$3 _cq_want=$4 _cq_desc=$5
    shift 5
    hm_conf "$_cq_name" "$@"
    qis "$_cq_name" "$_cq_login" "$_cq_addr" "$_cq_want" "$_cq_desc"
}
TEMPFAIL="tempfail 451 4.3.0 Directory unavailable, try again later2"

hm_conf main
JANE="entry uid=janed,ou=people,dc=example,dc=com home=mail.example.com addresses=janed@example.com,jane.doe@example.com"

# --- a local owner --------------------------------------------------------
q main janed janed@example.com
is "$LINE1" "accept" "local owner: accept"
is "$LINE2" "$JANE" "local owner: the entry is shown"
is "$LINE3" "reason owned: janed@example.com is an address of this entry" "local owner: reason"
is "$RC" 0 "local owner: exit 0"
qis main janed '<jane.doe@example.com>' "accept0" "an alias (mailLocalAddress) in angle brackets: accept"
qis main janed JANED@Example.COM "accept0" "addresses compare case-insensitively"
qis main alice alice@example.org "accept0" "home value in upper case is still local"
qis main janed '<>' "accept0" "null sender: accepted at MAIL FROM"
like "$LINE3" "^reason null-sender" "null sender: reason"

# --- someone else's address ------------------------------------------------
q main janed johnd@company1.com
is "$LINE1" "reject 554 5.7.1 Mailbox is not local: johnd@company1.com" "other's address: 554 naming it"
is "$LINE2" "$JANE" "other's address: the entry is shown"
like "$LINE3" "^reason not-owned: " "other's address: reason not-owned"
is "$RC" 1 "other's address: exit 1"
qis main janed 'janed+lists@example.com' "reject 554 5.7.1 Mailbox is not local: janed+lists@example.com1" "extension without a delimiter configured: reject"
hm_conf plus 'policy.extension_delimiter="+"'
qis plus janed 'janed+lists@example.com' "accept0" "extension with delimiter + : accept"
qis plus janed 'johnd+x@company1.com' "reject 554 5.7.1 Mailbox is not local: johnd+x@company1.com1" "extension of someone else's address: reject"

# --- a header field value: every address, as end-of-DATA reads it -----------
# LINE4 and on: one reason line per address, display names included.
qis main janed '"Jane Doe" <janed@example.com>, jane.doe@example.com' "accept0" "header value: two owned mailboxes, accept"
is "$LINE3" "reason owned: janed@example.com is an address of this entry" "header value: first reason line"
is "$(printf '%s\n' "$OUT" | sed -n 4p)" "reason owned: jane.doe@example.com is an address of this entry" "header value: one reason line per address"
qis main janed '"alice@example.com" <janed@example.com>' "reject 554 5.7.1 Mailbox is not local: alice@example.com1" "header value: an address in the display name must be owned"
is "$(printf '%s\n' "$OUT" | sed -n 4p)" "(display name) reason not-owned: alice@example.com is not an address of this entry" "header value: the display name's address is named"
qis main janed '=?utf-8?q?Alice_=3Calice=40example=2Eorg=3E?= <janed@example.com>' "reject 554 5.7.1 Mailbox is not local: alice@example.org1" "header value: an encoded display name is decoded"
qis main janed 'janed@example.com <janed@example.com>' "accept0" "header value: an address as its own display name is one mailbox"
qis main janed 'Jane Doe <jane(").doe(")@example.com>' "reject 554 5.7.1 Mailbox is not local: Jane Doe <jane(\").doe(\")@example.com>1" "header value: a quote in a comment inside the address is malformed"
is "$LINE3" "reason malformed: the address does not parse: comment holding '\"' inside an address" "header value: malformed names the construction"
q main janed 'From: <@route,@x:janed@example.com>'
like "$LINE3$RC" "^reason malformed: the address does not parse: source route1$" "header value named From: a source route is malformed"
qis main janed '<@route,@x:janed@example.com>' "accept0" "the same value alone is an envelope sender: RFC 5321 allows the route"
qis main janed 'sender: "alice@example.com" <janed@example.com>' "reject 554 5.7.1 Mailbox is not local: alice@example.com1" "header value named Sender: (any case)"
q main janed '"alice@example.com": janed@example.com;'
like "$LINE3$RC" "group in a From: or Sender: field1$" "header value: a group is malformed"
q main janed 'From: janed+=?utf-8?q?alice?=@example.com'
like "$LINE3$RC" "encoded word in a local part1$" "header value: an encoded word in a local part is malformed"
qis main janed 'From:' "reject 554 5.7.1 Mailbox is not local: From:1" "header value: an empty field is named as the field"
qis main janed ' ' "reject 554 5.7.1 Mailbox is not local: From:1" "header value: a blank value is an empty From: field"
hm_conf ignorenames 'policy.display_names="ignore"'
qis ignorenames janed '"alice@example.com" <janed@example.com>' "accept0" "display_names ignore: only the address is checked"
qis plus janed '"janed+JohnD@COMPANY1.com"@example.com' "reject 554 5.7.1 Mailbox is not local: \"janed+JohnD@COMPANY1.com\"@example.com1" "an extension holding @ is malformed"
like "$LINE3" "^reason malformed: the extension of " "an extension holding @: explained"
qis plus janed '<"janed+a b"@example.com>' "reject 554 5.7.1 Mailbox is not local: \"janed+a b\"@example.com1" "an extension holding a blank is malformed (envelope too)"

# --- not homed here ----------------------------------------------------------
q main johnd JohnD@COMPANY1.com
is "$LINE1" "reject 554 5.7.1 Mailbox is not local: JohnD@COMPANY1.com" "homed elsewhere: the Exchange reply, address as written"
like "$LINE2" "^entry uid=johnd,ou=people,dc=example,dc=com home=mail.company1.com " "homed elsewhere: the home is shown"
is "$LINE3" "reason not-homed: no mailHost value is one of local_hosts (mail.example.com)" \
    "homed elsewhere: reason not-homed, naming the local_hosts compared with"
is "$RC" 1 "homed elsewhere: exit 1"
qis main johnd '<>' "reject 554 5.7.1 Mailbox is not local: <>1" "homed elsewhere: even the null sender is refused"
q main nohome nohome@example.com
like "$LINE2" "home=\(none\)" "no home attribute: shown as none"
is "$LINE1$RC" "reject 554 5.7.1 Mailbox is not local: nohome@example.com1" "no home attribute: reject"
hm_conf twohosts 'local_hosts=[ "mail.example.com", "mx2.example.com" ]' \
    'policy.reject_text_not_homed="%u is homed elsewhere: %s"'
q twohosts johnd '<JohnD@COMPANY1.com>'
is "$LINE1" "reject 554 5.7.1 johnd is homed elsewhere: JohnD@COMPANY1.com" \
    "policy.reject_text_not_homed: the not-homed reply, with %u"
is "$LINE3" "reason not-homed: no mailHost value is one of local_hosts (mail.example.com, mx2.example.com)" \
    "not homed: every local_hosts value is named"
hm_conf nohomed 'ldap.home_attribute=""'
qis nohomed johnd JohnD@company1.com "accept0" "home_attribute \"\" turns the homed check off"

# --- unknown and ambiguous logins --------------------------------------------
qis main nobody nobody@example.com "reject 554 5.7.1 Mailbox is not local: nobody@example.com1" "unknown login: reject"
like "$LINE2" "^entry none: no entry matches \(uid=nobody\) under ou=people,dc=example,dc=com$" "unknown login: the search is shown"
qis main twin twin@example.com "$TEMPFAIL" "login matching two entries: 451"
like "$LINE2" "^error .*more than one entry matches \(uid=twin\)" "login matching two entries: explained"
hm_conf twinaccept 'policy.on_directory_error="accept"'
qis twinaccept twin twin@example.com "$TEMPFAIL" "login matching two entries: 451 even with on_directory_error accept"

# --- hostile logins: never someone else's entry ------------------------------
for login in '*' 'janed)(uid=*' 'janed*' '*)(|(uid=*' '(uid=janed)' 'janed)' \
             'j*d' 'janed\00' 'janed%00' '%u' 'JANED)(|(mail=*' 'janed\2a' \
             'janed\29(uid=*' 'jan\65d' 'janed@example.com'; do
    qis main "$login" janed@example.com "reject 554 5.7.1 Mailbox is not local: janed@example.com1" "hostile login '$login': reject, no entry"
    like "$LINE2" "^entry none: " "hostile login '$login': no entry found"
done
# LDAP's matching rules ignore blanks, width and case; the login must be
# the entry's uid itself, ignoring ASCII case only.
for login in ' janed' 'janed ' '  janed  ' "$(printf '\357\275\212aned')"; do
    qis main "$login" janed@example.com "reject 554 5.7.1 Mailbox is not local: janed@example.com1" "login '$login' is not janed"
    like "$LINE2" "^entry none: an entry matches .* but no uid value is the login itself" "login '$login': explained"
done
qis main JANED janed@example.com "accept0" "login JANED is janed (ASCII case)"
hm_conf trustfilter 'ldap.login_attribute=""'
qis trustfilter ' janed' janed@example.com "accept0" "login_attribute \"\": the directory's matching rules decide"
qis main '\2a' backslash@example.com "accept0" "login '\\2a' finds only its own entry"
like "$LINE2" '^entry uid=\\5C2a,ou=people' "login '\\2a': the right DN"
qis main '\2a' janed@example.com "reject 554 5.7.1 Mailbox is not local: janed@example.com1" "login '\\2a' does not own janed's address"
hm_conf bydomain 'ldap.login_filter="(&(uid=%l)(mail=%l@%d))"'
qis bydomain 'janed@example.com' janed@example.com "accept0" "login_filter with %l and %d"
qis bydomain 'janed@example.com)(uid=*' janed@example.com "reject 554 5.7.1 Mailbox is not local: janed@example.com1" "login_filter with %l and %d: hostile domain part"

# --- delegation: send as and on behalf ---------------------------------------------
# etc/example.ldif: sales names janed in seeAlso (she may send as it), bob
# names her as his secretary (she may write on his behalf); extra.ldif
# adds entries granting twice, elsewhere, to alice only, and decoys.
SEND_AS='ldap.delegation_filter="(&(|(mail=%s)(mailLocalAddress=%s))(seeAlso=%D))"'
ON_BEHALF='ldap.on_behalf_filter="(&(mail=%s)(secretary=%D))"'
NOT_LOCAL="reject 554 5.7.1 Mailbox is not local:"
JANED_DN=uid=janed,ou=people,dc=example,dc=com
hm_conf deleg "$SEND_AS" "$ON_BEHALF"
# reasons: the reason lines of the last q, one a line
reasons() { printf '%s\n' "$OUT" | sed -n '3,$p'; }
q deleg janed sales@example.com
is "$LINE1$RC" accept0 "send as: janed may send as sales@example.com (seeAlso names her)"
is "$LINE3" "reason send-as: sales@example.com may be sent as: uid=sales,ou=people,dc=example,dc=com grants it (ldap.delegation_filter) and is homed here" \
    "send as: the granting entry is named"
qis main janed sales@example.com "$NOT_LOCAL sales@example.com1" "send as: without ldap.delegation_filter, sales@example.com is not janed's"
for v in '<SALES@Example.COM>' 'From: Sales <sales@example.com>' 'Sender: sales@example.com' \
         'From: janed@example.com, sales@example.com' 'shared2@example.com'; do
    qis deleg janed "$v" accept0 "send as: janed as '$v'"
    like "$(reasons | tail -1)" "^reason send-as: " "send as: janed as '$v': reason send-as"
done
q deleg alice sales@example.com
is "$LINE1$RC" "$NOT_LOCAL sales@example.com1" "send as, not found: sales does not name alice"
like "$LINE3" "^reason not-owned: sales@example.com is not an address of this entry" "send as, not found: reason not-owned"
qis deleg janed 'From: sales@example.com, alice@example.com' "$NOT_LOCAL alice@example.com1" \
    "send as: every address of a field must be owned or delegated"
q deleg janed 'From: Bob <bob@example.com>'
is "$LINE1$RC" accept0 "on behalf: janed may write From: bob@example.com (secretary names her)"
like "$LINE3" "^reason on-behalf: bob@example.com may be written on behalf of: uid=bob,ou=people,dc=example,dc=com grants it " \
    "on behalf: the granting entry is named"
qis deleg janed '<bob@example.com>' "$NOT_LOCAL bob@example.com1" "on behalf: never as the envelope sender"
qis deleg janed 'Sender: bob@example.com' "$NOT_LOCAL bob@example.com1" "on behalf: never in Sender:"
qis deleg alice 'From: bob@example.com' "$NOT_LOCAL bob@example.com1" "on behalf, not found: bob names janed, not alice"
# Found twice: shared-one by mail, shared-two by mailLocalAddress. Never a pick.
q deleg janed shared@example.com
is "$LINE1$RC" "$TEMPFAIL" "send as, two entries grant the address: 451"
like "$LINE3" "^reason directory-error: .*\(delegation search: .*more than one entry matches " \
    "send as, two entries: reason directory-error, and why"
qis deleg janed 'From: shared@example.com' "$TEMPFAIL" "send as, two entries, in From:: 451"
conf_qis delegreject janed shared@example.com "$NOT_LOCAL shared@example.com1" \
    "send as, two entries, on_directory_error reject: 554" "$SEND_AS" 'policy.on_directory_error="reject"'
# Granted by an entry that is not homed here: no grant.
for box in remote-box homeless-box; do
    q deleg janed "$box@example.com"
    is "$LINE1$RC" "$NOT_LOCAL $box@example.com1" "send as, the granting entry ($box) is not homed here: 554"
    like "$LINE3" "^reason not-owned: " "send as, $box: reason not-owned"
done
qis deleg janed 'From: remote-box@example.com' "$NOT_LOCAL remote-box@example.com1" \
    "on behalf, the granting entry is not homed here: 554"
conf_qis delegremote janed remote-box@example.com accept0 \
    "send as: with mail.company1.com in local_hosts, remote-box grants (its home decided)" \
    "$SEND_AS" 'local_hosts=[ "mail.example.com", "mail.company1.com" ]'

# Hostile addresses in %s: each one parses (reason not-owned, so the
# search was made and found nothing), and put in the filter unescaped it
# would have found the entry named (ldapsearch with that filter shows the
# attack is real: without the escaping the test fails).
# naive TEMPLATE ADDRESS DN LOGIN: TEMPLATE with the values put in as they are
naive() {
    _nt=$1 _nf=
    while [ -n "$_nt" ]; do
        case $_nt in
        %s*) _nf=$_nf$2 ;;
        %D*) _nf=$_nf$3 ;;
        %u*) _nf=$_nf$4 ;;
        *) _nf=$_nf${_nt%"${_nt#?}"}; _nt=${_nt#?}; continue ;;
        esac
        _nt=${_nt#??}
    done
    ldapsearch -x -LLL -o ldif-wrap=no -H "$SLAPD_LDAPI_URL" -D "cn=milter,$SLAPD_SUFFIX" \
        -y "$SLAPD_DIR/secret.ldap" -b "ou=people,$SLAPD_SUFFIX" "$_nf" 1.1 2>&1 |
        sed -n 's/^dn: //p' | tr '\n' ' '
}
printf 'miltersecret' > "$SLAPD_DIR/secret.ldap"   # -y: no newline
chmod 600 "$SLAPD_DIR/secret.ldap"
# template CONF: the delegation filter (or, with on-behalf, the on-behalf
# filter) of HM_DIR/CONF.conf
template() { sed -n "s/^  ${2:-delegation}_filter = \"\(.*\)\";\$/\1/p" "$SLAPD_DIR/$1.conf"; }
# hostile CONF LOGIN LOGIN_DN VALUE RAW FINDS [on-behalf]: VALUE as the
# client writes it (RAW: its address with the quotes resolved, what %s
# is) is not the login's to use; unescaped, the filter would find FINDS
hostile() {
    q "$1" "$2" "$4"
    like "$LINE1|$RC|$LINE3" '^reject 554 5\.7\.1 Mailbox is not local: .*\|1\|reason not-owned: ' \
        "hostile: login '$2' as '$4': 554, not-owned"
    _tpl=$(template "$1" "${7:+on_behalf}")
    like "$(naive "$_tpl" "$5" "$3" "$2")" "$6" "hostile: '$5' put in unescaped, the filter would find /$6/"
}
hostile deleg janed "$JANED_DN" '*@example.com' '*@example.com' 'uid=sales,.* cn=shared-one,'
hostile deleg janed "$JANED_DN" 'sale*@example.com' 'sale*@example.com' '^uid=sales,[^ ]* $'
hostile deleg janed "$JANED_DN" 's*s@example.com' 's*s@example.com' '^uid=sales,[^ ]* $'
hostile deleg janed "$JANED_DN" 'st*@example.com' 'st*@example.com' '^cn=star-box,[^ ]* $'
hostile deleg janed "$JANED_DN" '"x)(mail=sales"@example.com' 'x)(mail=sales@example.com' '^uid=sales,[^ ]* $'
hostile deleg janed "$JANED_DN" '<"x)(mail=sales"@example.com>' 'x)(mail=sales@example.com' '^uid=sales,[^ ]* $'
hostile deleg janed "$JANED_DN" 'Sender: "x)(mail=sales"@example.com' 'x)(mail=sales@example.com' '^uid=sales,[^ ]* $'
hostile deleg janed "$JANED_DN" '"sales@example.com)(seeAlso=*)(x=*"@example.com' \
    'sales@example.com)(seeAlso=*)(x=*@example.com' 'uid=sales,.* cn=star-box,'
hostile deleg janed "$JANED_DN" '"star\\2a"@example.com' 'star\2a@example.com' '^cn=star-box,[^ ]* $'
hostile deleg janed "$JANED_DN" '"\\73ales"@example.com' '\73ales@example.com' '^uid=sales,[^ ]* $'
hostile deleg janed "$JANED_DN" 'From: b*@example.com' 'b*@example.com' '^uid=bob,[^ ]* $' on-behalf
hostile deleg janed "$JANED_DN" 'From: "bob@example.com)(mail=bob"@example.com' \
    'bob@example.com)(mail=bob@example.com' '^uid=bob,[^ ]* $' on-behalf
# A filter of two branches, each with %D: an address that closes the
# first branch makes one of its own that drops %D, and reaches the entry
# that grants alice only.
hm_conf delegor 'ldap.delegation_filter="(|(&(mail=%s)(seeAlso=%D))(&(mailLocalAddress=%s)(seeAlso=%D)))"' \
    'ldap.on_behalf_filter="(|(&(mail=%s)(secretary=%D))(&(mailLocalAddress=%s)(secretary=%D)))"'
qis delegor janed sales@example.com accept0 "two-branch filter: janed may send as sales"
hostile delegor janed "$JANED_DN" '"alice-box@example.com)(seeAlso=*))(&(mail=x"@example.com' \
    'alice-box@example.com)(seeAlso=*))(&(mail=x@example.com' '^cn=alice-box,[^ ]* $'
hostile delegor janed "$JANED_DN" 'From: "alice-box@example.com)(secretary=*))(&(mail=x"@example.com' \
    'alice-box@example.com)(secretary=*))(&(mail=x@example.com' '^cn=alice-box,[^ ]* $' on-behalf
# The star as written: "star*@example.com" is star-box's own address.
q deleg janed 'star*@example.com'
like "$LINE1|$RC|$LINE3" '^accept\|0\|reason send-as: star\*@example\.com may be sent as: cn=star-box,' \
    "an address holding a star is found as written (star-box's): send as"

# %D: the DN of the login "\2a" holds a backslash (uid=\5C2a); put in
# unescaped it would read uid=\2a, the DN that stardn-box grants.
q deleg '\2a' bslash-box@example.com
like "$LINE1|$RC|$LINE3" '^accept\|0\|reason send-as: .* cn=bslash-box,' \
    "%D holding a backslash: the login '\\2a' may send as what its own DN is granted"
hostile deleg '\2a' 'uid=\5C2a,ou=people,dc=example,dc=com' stardn-box@example.com stardn-box@example.com \
    '^cn=stardn-box,[^ ]* $'
# %u: helpdesk's description names janed. The logins "jan*" and "jane\64"
# have entries of their own; unescaped, each would read as janed.
hm_conf delegu 'ldap.delegation_filter="(&(mail=%s)(description=%u))"'
qis delegu janed helpdesk@example.com accept0 "%u: janed may send as helpdesk (its description names her)"
qis delegu JANED helpdesk@example.com accept0 "%u: JANED too (description compares ignoring case)"
hostile delegu 'jan*' 'uid=jan*,ou=people,dc=example,dc=com' helpdesk@example.com \
    helpdesk@example.com '^cn=helpdesk,[^ ]* $'
like "$LINE2" '^entry uid=jan\*,' "%u: the login 'jan*' found its own entry"
hostile delegu 'jane\64' 'uid=jane\5C64,ou=people,dc=example,dc=com' helpdesk@example.com \
    helpdesk@example.com '^cn=helpdesk,[^ ]* $'
like "$LINE2" '^entry uid=jane\\5C64,' "%u: the login 'jane\\64' found its own entry"

# --- anonymous bind and scope -----------------------------------------------------
hm_conf anon ldap.bind_dn= ldap.bind_password_file=
qis anon janed janed@example.com "accept0" "anonymous bind: an entry anonymous may read is found"
qis anon alice alice@example.com "reject 554 5.7.1 Mailbox is not local: alice@example.com1" "anonymous bind: the ACL hides alice"
hm_conf onelevel 'ldap.scope="one"'
qis onelevel twin twin@example.com "accept0" "scope one: only the entry directly under the base"
hm_conf baseonly 'ldap.base="uid=janed,ou=people,dc=example,dc=com"' 'ldap.scope="base"'
qis baseonly janed janed@example.com "accept0" "scope base: the base entry itself"
qis baseonly alice alice@example.com "reject 554 5.7.1 Mailbox is not local: alice@example.com1" "scope base: nothing else"
hm_conf nobase 'ldap.base="ou=nowhere,dc=example,dc=com"'
qis nobase janed janed@example.com "$TEMPFAIL" "a base that does not exist: 451, not a reject"
like "$LINE2" "No such object" "a base that does not exist: said so"

# --- one long-lived client across outages -------------------------------------------
# The connection's own behaviour first (no cache), then what the cache adds,
# then the pool. ldap_conns: how many TCP connections to slapd are open.
ldap_conns() {
    _port=$(printf '%04X' "${SLAPD_LDAP_URL##*:}")
    awk -v p=":$_port" '$3 ~ p"$" && $4 == "01"' /proc/net/tcp | wc -l
}
LOOKUP=$BUILD/test/directory/lookup
if [ -x "$LOOKUP" ]; then
    mkfifo "$SLAPD_DIR/in"
    # client CONF: a new long-lived lookup client on HM_DIR/CONF.conf, fed
    # through fd 3, its answers in SLAPD_DIR/answers, its log lines in
    # SLAPD_DIR/client.log
    client() {
        ASKED=0
        : > "$SLAPD_DIR/answers"
        : > "$SLAPD_DIR/client.log"
        "$LOOKUP" "$SLAPD_DIR/$1.conf" < "$SLAPD_DIR/in" > "$SLAPD_DIR/answers" \
            2> "$SLAPD_DIR/client.log" &
        LOOKUP_PID=$!
        exec 3>"$SLAPD_DIR/in"
    }
    # client_end: close the client's input; $? is its exit status
    client_end() {
        exec 3>&-
        wait "$LOOKUP_PID"
    }
    hm_conf nocache "$LDAP" ldap.connections=2
    client nocache
    # ask LINE [N]: one command on the same client; ANSWER is its (last) line
    ask() {
        ASKED=$((ASKED + ${2:-1}))
        printf '%s\n' "$1" >&3
        _i=0
        while [ "$(wc -l < "$SLAPD_DIR/answers")" -lt "$ASKED" ] && [ $_i -lt 150 ]; do
            _i=$((_i + 1)); sleep 0.1
        done
        ANSWER=$(sed -n "${ASKED}p" "$SLAPD_DIR/answers")
    }
    # ask_again LINE WANT: ask until the answer is WANT, for up to 3 s: a
    # URI that did not answer is tried again once a second, not at once
    ask_again() {
        ask "$1"
        _tries=1
        while [ "$ANSWER" != "$2" ] && [ $_tries -lt 30 ]; do
            sleep 0.1
            ask "$1"
            _tries=$((_tries + 1))
        done
    }
    ask janed
    is "$ANSWER" "found uid=janed,ou=people,dc=example,dc=com" "long-lived client: found"
    slapd_stop; slapd_start
    ask janed
    is "$ANSWER" "found uid=janed,ou=people,dc=example,dc=com" "slapd restarted: the dead connection is retried once on a new one"
    slapd_stop
    ask janed
    like "$ANSWER" "^error .*Can't contact LDAP server" "slapd stopped: a directory error"
    ask janed
    # directory events are logged once per change (homed-milter(8), LOGGING)
    is "$(grep -c "directory $SLAPD_LDAP_URL stopped answering: .*Can't contact LDAP server" "$SLAPD_DIR/client.log")" 1 \
        "slapd stopped: logged once, for two failed lookups"
    slapd_start
    _t0=$(date +%s%N)
    ask_again janed "found uid=janed,ou=people,dc=example,dc=com"
    is "$ANSWER" "found uid=janed,ou=people,dc=example,dc=com" "slapd back: the client reconnects by itself"
    _ms=$((($(date +%s%N) - _t0) / 1000000))
    ok_if "slapd back: found within the second the URI is left alone, and one lookup (${_ms} ms)" \
        [ "$_ms" -le 2500 ]
    is "$(grep -c "directory $SLAPD_LDAP_URL answers again" "$SLAPD_DIR/client.log")" 1 \
        "slapd back: logged once"
    ok_if "slapd hung with SIGSTOP (every thread stopped)" slapd_hang
    ask janed
    like "$ANSWER" "^error .*no answer within 2 s" "slapd hung: a timeout on the open connection"
    slapd_resume
    ask_again janed "found uid=janed,ou=people,dc=example,dc=com"
    is "$ANSWER" "found uid=janed,ou=people,dc=example,dc=com" "slapd resumed: found again"
    ask nobody
    like "$ANSWER" "^not-found no entry matches \(uid=nobody\)" "long-lived client: not found"
    for _n in 1 2 3 4 5 6 7 8 9 10; do ask janed; done
    is "$(ldap_conns)" 1 "pool: ten lookups one after the other use one connection, kept open"
    ask "parallel 6 janed" 6
    is "$(sed -n "$((ASKED - 5)),${ASKED}p" "$SLAPD_DIR/answers" | sort | uniq -c | sed 's/^ *//')" \
        "6 found uid=janed,ou=people,dc=example,dc=com" "pool: six lookups at once all found"
    _open=$(ldap_conns)
    ok_if "pool: at most ldap.connections (2) open after six lookups at once (saw $_open)" \
        [ "$_open" -ge 1 ] && [ "$_open" -le 2 ]
    slapd_hang
    ask "parallel 4 janed" 4
    slapd_resume
    _last4=$(sed -n "$((ASKED - 3)),${ASKED}p" "$SLAPD_DIR/answers")
    is "$(printf '%s\n' "$_last4" | grep -c '^error ')" 4 \
        "pool exhausted while slapd hangs: every lookup is a directory error"
    like "$_last4" "no answer within 2 s" "pool exhausted: those on a connection time out"
    ask_again janed "found uid=janed,ou=people,dc=example,dc=com"
    is "$ANSWER" "found uid=janed,ou=people,dc=example,dc=com" "pool: found again after the hang"
    client_end
    is "$?" 0 "long-lived client: exits cleanly"

    # A server that hangs before its first answer: the connects to it are
    # not every lookup's. Eight lookups 300 ms apart on a new client while
    # slapd is hung: those that start once a connect has had no answer for
    # a second go to no new connection (an error at once, said so); then
    # the URI is tried once a second.
    hm_conf hangfresh "$LDAP" ldap.connections=8
    client hangfresh
    slapd_hang
    _before=$(ldap_conns)
    # the most connections to slapd open at once, sampled while they wait
    ( _max=0; while [ ! -f "$SLAPD_DIR/sampled" ]; do
        _n=$(ldap_conns); [ "$_n" -gt "$_max" ] && _max=$_n && echo "$_max" > "$SLAPD_DIR/peak"
        sleep 0.05; done ) &
    _sampler=$!
    ask "stagger 8 300 janed" 8
    touch "$SLAPD_DIR/sampled"
    wait "$_sampler"
    _made=$(($(cat "$SLAPD_DIR/peak" 2>/dev/null || echo 0) - _before))
    slapd_resume
    _last8=$(sed -n "$((ASKED - 7)),${ASKED}p" "$SLAPD_DIR/answers")
    is "$(printf '%s\n' "$_last8" | grep -c '^error ')" 8 "slapd hung from the start: every lookup a directory error"
    ok_if "slapd hung from the start: at most 5 connections waiting on it for 8 lookups over 2.1 s (saw $_made)" \
        [ "$_made" -ge 1 ] && [ "$_made" -le 5 ]
    like "$_last8" "a connection to it has had no answer for [0-9]+ ms" \
        "slapd hung from the start: a lookup not sent to it says why"
    ask_again janed "found uid=janed,ou=people,dc=example,dc=com"
    is "$ANSWER" "found uid=janed,ou=people,dc=example,dc=com" "slapd resumed: the new client finds"
    client_end

    # cache.stale_ttl: past its ttl a found entry still decides while the
    # directory cannot answer, within stale_ttl; "no such login" never.
    hm_conf stale "$LDAP" cache.ttl=1 cache.negative_ttl=1 cache.stale_ttl=4
    client stale
    ask janed
    ask nobody
    _found=$(date +%s%N)
    sleep 1.2
    slapd_stop
    ask janed
    like "$ANSWER" "^found uid=janed,ou=people,dc=example,dc=com \(stale: found [1-3] s ago; the directory: .*Can't contact LDAP server" \
        "stale_ttl: past the ttl, slapd down: the entry kept still decides, said so"
    ask nobody
    like "$ANSWER" "^error " "stale_ttl: never a \"no such login\" answer"
    ask alice
    like "$ANSWER" "^error " "stale_ttl: a login never found is a directory error"
    sleep "$(awk -v t0="$_found" -v now="$(date +%s%N)" 'BEGIN { s = 4.2 - (now - t0) / 1e9; print (s > 0 ? s : 0) }')"
    ask janed
    like "$ANSWER" "^error " "stale_ttl: past stale_ttl, a directory error"
    slapd_start
    sleep 1.1
    ask_again janed "found uid=janed,ou=people,dc=example,dc=com"
    is "$ANSWER" "found uid=janed,ou=people,dc=example,dc=com" \
        "stale_ttl: the directory answering, its answer decides (nothing stale)"
    client_end

    # The cache: answers kept through an outage, errors never kept, and a
    # new client (a reload) starts empty.
    hm_conf cached "$LDAP" cache.ttl=300 cache.negative_ttl=300
    client cached
    ask janed
    ask nobody
    slapd_stop
    ask janed
    is "$ANSWER" "found uid=janed,ou=people,dc=example,dc=com" "cache: a found entry is answered while slapd is down"
    ask nobody
    like "$ANSWER" "^not-found no entry matches \(uid=nobody\)" "cache: a not-found answer is kept (negative_ttl)"
    ask alice
    like "$ANSWER" "^error " "cache: a login never asked is a directory error"
    ask alice
    like "$ANSWER" "^error " "cache: the error was not kept"
    # (expiry is timed in the unit tests, with a fake clock)
    client_end
    client cached
    ask janed
    like "$ANSWER" "^error " "cache: a new client (as after a reload) starts empty"
    slapd_start
    ask_again alice "found uid=alice,ou=people,dc=example,dc=com"
    is "$ANSWER" "found uid=alice,ou=people,dc=example,dc=com" "cache: slapd back, the login once in error is found"
    client_end
    is "$?" 0 "cached client: exits cleanly"

    # Delegation answers: a cache of their own, keyed by the right, the
    # login's entry and the address. One login's grant never answers
    # another login's search, nor the other right's; errors and two
    # entries are never kept.
    hm_conf grants "$LDAP" cache.ttl=300 cache.negative_ttl=300 "$SEND_AS" "$ON_BEHALF"
    client grants
    SALES="found uid=sales,ou=people,dc=example,dc=com"
    BOB="found uid=bob,ou=people,dc=example,dc=com"
    ask "send-as sales@example.com janed"
    is "$ANSWER" "$SALES" "grant cache: janed may send as sales"
    ask "send-as sales@example.com alice"
    like "$ANSWER" "^not-found no entry matches .*\(seeAlso=uid=alice,ou=people," \
        "grant cache: janed's grant, kept, does not answer alice's search"
    ask "send-as shared2@example.com alice"
    like "$ANSWER" "^not-found " "grant cache: alice may not send as shared2"
    ask "send-as shared2@example.com janed"
    is "$ANSWER" "found cn=shared-two,ou=people,dc=example,dc=com" \
        "grant cache: alice's not-found, kept, does not answer janed's search"
    ask "on-behalf bob@example.com janed"
    is "$ANSWER" "$BOB" "grant cache: janed may write on bob's behalf"
    ask "send-as bob@example.com janed"
    like "$ANSWER" "^not-found " "grant cache: the on-behalf grant, kept, does not answer send-as"
    ask "on-behalf sales@example.com janed"
    like "$ANSWER" "^not-found " "grant cache: the send-as grant, kept, does not answer on-behalf"
    ask "send-as sales@example.com JANED"
    is "$ANSWER" "$SALES" "grant cache: JANED is janed's entry: the same grant"
    ask "send-as shared@example.com janed"
    like "$ANSWER" "^ambiguous .*more than one entry matches " "grant cache: two entries grant shared@: ambiguous"
    ask "send-as *@example.com janed"
    like "$ANSWER" '^not-found no entry matches \(&\(\|\(mail=\\2A@example\.com\)\(mailLocalAddress=\\2A@example\.com\)\)\(seeAlso=uid=janed,' \
        "grant cache: a star in %s is searched as \\2A"
    ask "send-as stardn-box@example.com \\2a"
    like "$ANSWER" '^not-found .*\(seeAlso=uid=\\5C5C2a,ou=people,' "grant cache: a backslash in %D is searched as \\5C"
    slapd_stop
    ask "send-as sales@example.com janed"
    is "$ANSWER" "$SALES" "grant cache, slapd down: janed's grant is answered from the cache"
    ask "send-as sales@example.com alice"
    like "$ANSWER" "^not-found " "grant cache, slapd down: alice's not-found is kept (negative_ttl)"
    ask "on-behalf bob@example.com janed"
    is "$ANSWER" "$BOB" "grant cache, slapd down: the on-behalf grant is kept"
    ask "send-as bob@example.com janed"
    like "$ANSWER" "^not-found " "grant cache, slapd down: the send-as not-found over bob is kept"
    ask "send-as shared@example.com janed"
    like "$ANSWER" "^error " "grant cache, slapd down: two entries were not kept"
    ask "send-as sales@example.com scanner"
    like "$ANSWER" "^login-error " "grant cache, slapd down: a login never asked is a directory error"
    ask "on-behalf alice-box@example.com alice"
    like "$ANSWER" "^error " "grant cache, slapd down: a search never made is a directory error"
    ask "on-behalf alice-box@example.com alice"
    like "$ANSWER" "^error " "grant cache: the error was not kept"
    slapd_start
    ask_again "on-behalf alice-box@example.com alice" "found cn=alice-box,ou=people,dc=example,dc=com"
    is "$ANSWER" "found cn=alice-box,ou=people,dc=example,dc=com" "grant cache: slapd back, the search once in error is made"
    client_end
    is "$?" 0 "grant cache client: exits cleanly"

    # With %u in the filter, two logins of one entry may be answered
    # differently; the cache keyed by the entry must not give one login's
    # answer to the other.
    hm_conf ugrants "$LDAP" cache.ttl=300 cache.negative_ttl=300 'ldap.login_attribute=""' \
        'ldap.login_filter="(|(uid=%u)(mail=%u))"' 'ldap.delegation_filter="(&(mail=%s)(description=%u))"'
    client ugrants
    ask "send-as helpdesk@example.com janed"
    is "$ANSWER" "found cn=helpdesk,ou=people,dc=example,dc=com" "%u in the filter: the login janed may send as helpdesk"
    ask "send-as helpdesk@example.com janed@example.com"
    like "$ANSWER" "^not-found" \
        "%u in the filter: the login janed@example.com (janed's entry too) gets its own answer, not the login janed's"
    client_end
else
    tap_result 1 "test/directory/lookup is not built"
fi

# --- report mode ---------------------------------------------------------------
hm_conf report 'policy.mode="report"'
qis report janed johnd@company1.com "accept0" "report mode: accept"
like "$LINE3" "report mode: would reject 554 5.7.1 Mailbox is not local: johnd@company1.com" "report mode: says what it would have done"

# --- failover --------------------------------------------------------------------
conf_qis failover janed janed@example.com accept0 "first URI dead, second alive: accept" \
    "ldap.uri=[ \"ldap://127.0.0.1:1\", \"$SLAPD_LDAP_URL\" ]"

# --- TLS ---------------------------------------------------------------------------
TLS=$SLAPD_DIR/tls
conf_qis starttls janed janed@example.com accept0 "StartTLS with the right CA: accept" \
    "$LDAP" ldap.starttls=true "ldap.ca_file=\"$TLS/ca.crt\""
conf_qis ldaps janed johnd@company1.com "reject 554 5.7.1 Mailbox is not local: johnd@company1.com1" \
    "ldaps:// with the right CA: a real answer" "$LDAPS" "ldap.ca_file=\"$TLS/ca.crt\""
conf_qis starttls_bad janed janed@example.com "$TEMPFAIL" \
    "StartTLS with a CA that did not sign the server: 451" \
    "$LDAP" ldap.starttls=true "ldap.ca_file=\"$TLS/other.crt\""
like "$LINE2" "StartTLS" "StartTLS with the wrong CA: said so"
conf_qis ldaps_bad janed janed@example.com "$TEMPFAIL" \
    "ldaps:// with a CA that did not sign the server: 451" "$LDAPS" "ldap.ca_file=\"$TLS/other.crt\""
conf_qis tls_failover janed janed@example.com accept0 "ldaps:// then ldap:// with StartTLS: accept" \
    "ldap.uri=[ \"$SLAPD_LDAPS_URL\", \"$SLAPD_LDAP_URL\" ]" ldap.starttls=true \
    "ldap.ca_file=\"$TLS/ca.crt\""

# --- wrong bind password ------------------------------------------------------------
conf_qis wrongpw janed janed@example.com "$TEMPFAIL" "wrong bind password: 451" \
    "ldap.bind_password_file=\"$SLAPD_DIR/wrong\""
like "$LINE2" "Invalid credentials" "wrong bind password: said clearly"
printf 's3cr3t-never-shown\n' > "$SLAPD_DIR/wrong"
q wrongpw janed janed@example.com
if grep -q s3cr3t-never-shown "$SLAPD_DIR/stderr" || printf '%s' "$OUT" | grep -q s3cr3t; then
    tap_result 1 "wrong bind password: the password is never printed"
else
    tap_result 0 "wrong bind password: the password is never printed"
fi

# --- slapd hung ------------------------------------------------------------------------
# hung CONF LABEL: one query through CONF while slapd is hung: 451 within
# the timeout (2 s) + 1 s, the timeout named
hung() {
    slapd_hang
    q "$1" janed janed@example.com
    slapd_resume
    is "$LINE1$RC" "$TEMPFAIL" "$2: 451"
    like "$LINE2" "no answer within 2 s" "$2: the timeout is named"
    ok_if "$2: answered within timeout + 1 s (took ${Q_MS} ms)" [ "$Q_MS" -lt 3000 ]
}
hm_conf hang "$LDAP"
hung hang "slapd hung"
for tls in starttls ldaps; do
    hung $tls "slapd hung, $tls"
done

# --- slapd stopped ------------------------------------------------------------------------
slapd_stop
qis main janed janed@example.com "$TEMPFAIL" "slapd stopped: 451, exit 2"
like "$LINE2" "^error .*Can't contact LDAP server" "slapd stopped: the error is shown"
conf_qis accepting janed johnd@company1.com accept0 "slapd stopped, on_directory_error accept: accept" \
    'policy.on_directory_error="accept"'
conf_qis rejecting janed janed@example.com "reject 554 5.7.1 Mailbox is not local: janed@example.com1" \
    "slapd stopped, on_directory_error reject: 554" 'policy.on_directory_error="reject"'
slapd_start
qis main janed janed@example.com accept0 "slapd back: accept again"

done_testing

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

# q CONF LOGIN ADDRESS: run -q; sets OUT (stdout), RC, LINE1, LINE2, LINE3
q() {
    OUT=$("$HM" -c "$SLAPD_DIR/$1.conf" -q "$2" "$3" 2>"$SLAPD_DIR/stderr")
    RC=$?
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
    ask janed
    is "$ANSWER" "found uid=janed,ou=people,dc=example,dc=com" "slapd back: the client reconnects by itself"
    is "$(grep -c "directory $SLAPD_LDAP_URL answers again" "$SLAPD_DIR/client.log")" 1 \
        "slapd back: logged once"
    ok_if "slapd hung with SIGSTOP (every thread stopped)" slapd_hang
    ask janed
    like "$ANSWER" "^error .*no answer within 2 s" "slapd hung: a timeout on the open connection"
    slapd_resume
    ask janed
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
    ask janed
    is "$ANSWER" "found uid=janed,ou=people,dc=example,dc=com" "pool: found again after the hang"
    client_end
    is "$?" 0 "long-lived client: exits cleanly"

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
    ask alice
    is "$ANSWER" "found uid=alice,ou=people,dc=example,dc=com" "cache: slapd back, the login once in error is found"
    client_end
    is "$?" 0 "cached client: exits cleanly"
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
    t0=$(date +%s%N)
    q "$1" janed janed@example.com
    t1=$(date +%s%N)
    slapd_resume
    ms=$(( (t1 - t0) / 1000000 ))
    is "$LINE1$RC" "$TEMPFAIL" "$2: 451"
    like "$LINE2" "no answer within 2 s" "$2: the timeout is named"
    ok_if "$2: answered within timeout + 1 s (took ${ms} ms)" [ "$ms" -lt 3000 ]
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

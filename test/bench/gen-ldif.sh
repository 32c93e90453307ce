#!/bin/sh
# gen-ldif.sh - generated mailbox entries for the benchmarks, on stdout
#
#   sh gen-ldif.sh COUNT [PREFIX [MAILHOST [FIRST]]]
#
# COUNT entries uid=PREFIXnnnnn,ou=people,dc=example,dc=com, numbered
# from FIRST (default 1) with five digits at least, each with the mail
# address PREFIXnnnnn@mail.example.com and the home MAILHOST. Defaults:
# PREFIX "u", MAILHOST "mail.example.com" (a local host of the tests).
# The base entries come from etc/example.ldif: load that first.
set -u
case ${1:-} in
'' | *[!0-9]*) echo "usage: gen-ldif.sh COUNT [PREFIX [MAILHOST [FIRST]]]" >&2; exit 2 ;;
esac
awk -v n="$1" -v p="${2:-u}" -v h="${3:-mail.example.com}" -v first="${4:-1}" 'BEGIN {
    for (i = first; i < first + n; i++) {
        id = sprintf("%s%05d", p, i)
        printf "dn: uid=%s,ou=people,dc=example,dc=com\n", id
        print "objectClass: inetOrgPerson"
        print "objectClass: inetLocalMailRecipient"
        printf "uid: %s\ncn: User %s\nsn: %s\n", id, id, id
        printf "mail: %s@mail.example.com\nmailHost: %s\n\n", id, h
    }
}'

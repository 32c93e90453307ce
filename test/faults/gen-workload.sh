#!/bin/sh
# gen-workload.sh - the message mix of the fault matrix, on stdout
#
#   sh gen-workload.sh LINES USERS
#
# LINES workload lines for mltload and smtpfeed.pl (login TAB envelope
# sender TAB From: value TAB expected verdict), for the USERS mailboxes
# u00001..uNNNNN of test/bench/gen-ldif.sh (address uNNNNN@mail.example.com,
# homed on mail.example.com) and the sample directory (etc/example.ldif).
# Line I (from 0), with A the user I mod USERS and B another user:
#
#   I mod 6 = 0, 1, 3, 4   owned: A as A (every 4th in another case,
#                          every 12th janed as her alias)          accept
#   I mod 6 = 2            A as B at MAIL FROM                     reject
#   I mod 6 = 5            A with its own envelope but From: B;
#                          every 5th of these johnd (homed on another
#                          server) as himself, or a login with no
#                          entry                                   reject
#
# So a third of the messages are forged, and every forged message needs
# the directory (or the cache) to be refused.
set -u
case ${1:-}${2:-} in
'' | *[!0-9]*) echo "usage: gen-workload.sh LINES USERS" >&2; exit 2 ;;
esac
awk -v n="$1" -v users="$2" 'BEGIN {
    T = "\t"
    for (i = 0; i < n; i++) {
        a = sprintf("u%05d", i % users + 1)
        b = sprintf("u%05d", (i + 77) % users + 1)
        k = i % 6
        if (k == 2) {
            print a T b "@mail.example.com" T "User " b " <" b "@mail.example.com>" T "reject"
        } else if (k == 5 && i % 30 == 5) {
            print "johnd" T "JohnD@COMPANY1.com" T "John Doe <JohnD@COMPANY1.com>" T "reject"
        } else if (k == 5 && i % 30 == 11) {
            print "ghost" i T "ghost" i "@mail.example.com" T "<ghost" i "@mail.example.com>" T "reject"
        } else if (k == 5) {
            print a T a "@mail.example.com" T "Someone <" b "@mail.example.com>" T "reject"
        } else if (i % 12 == 1) {
            print "janed" T "Jane.Doe@EXAMPLE.com" T "Jane Doe <jane.doe@example.com>" T "accept"
        } else if (i % 4 == 3) {
            print a T toupper(a) "@MAIL.Example.COM" T "<" a "@mail.example.com>" T "accept"
        } else {
            print a T a "@mail.example.com" T "User " a " <" a "@mail.example.com>" T "accept"
        }
    }
}'

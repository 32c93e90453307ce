#!/usr/bin/perl
# countlisten.pl - count the TCP connections made to loopback ports
#
#   perl countlisten.pl LOG PORT...
#
# Listens on 127.0.0.1:PORT for each PORT (the port of a directory that
# is down), accepts every connection and closes it at once, as a server
# that is not there to answer, and appends a line "PORT MILLISECONDS" to
# LOG for each one (the wall clock in ms, as `date +%s%3N` gives it),
# flushed at once, so that a test counts the connection attempts a client
# makes while the server is down. TERM or INT stops it. Core Perl only:
# IO::Socket, IO::Select, Time::HiRes.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use IO::Handle;
use Time::HiRes ();

@ARGV >= 2 or die "usage: countlisten.pl LOG PORT...\n";
my ($log, @ports) = @ARGV;

open my $out, '>>', $log or die "countlisten: $log: $!\n";
$out->autoflush(1);

my $select = IO::Select->new;
my %port_of;
for my $port (@ports) {
    my $server = IO::Socket::INET->new(
        LocalAddr => '127.0.0.1',
        LocalPort => $port,
        Proto     => 'tcp',
        Listen    => 1024, # a client that connects thousands of times a second
        ReuseAddr => 1,    # the stopped server's connections may be in TIME_WAIT
    ) or die "countlisten: listen on 127.0.0.1:$port: $!\n";
    $select->add($server);
    $port_of{ fileno $server } = $port;
}

my $stopping = 0;
$SIG{TERM} = $SIG{INT} = sub { $stopping = 1 };
$SIG{PIPE} = 'IGNORE';

until ($stopping) {
    for my $server ($select->can_read(0.2)) {
        my $client = $server->accept or next;
        printf {$out} "%d %d\n", $port_of{ fileno $server }, Time::HiRes::time() * 1000;
        close $client;
    }
}

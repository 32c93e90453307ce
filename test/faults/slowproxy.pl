#!/usr/bin/perl
# slowproxy.pl - a TCP forwarder on loopback that delays every chunk
#
#   perl slowproxy.pl LISTEN_PORT TARGET_PORT DELAY_FILE
#
# Listens on 127.0.0.1:LISTEN_PORT and forwards each connection to
# 127.0.0.1:TARGET_PORT, both ways. Every chunk read from either side is
# held DELAY seconds (a decimal, e.g. 0.05) before it is passed on; DELAY
# is read from DELAY_FILE, again whenever the file's modification time or
# size changes, so a test can make the directory slow, very slow and fast
# again while connections stay open. A missing or empty file means 0.
# When the target cannot be reached the client's connection is closed.
#
# One child process per connection (the parent only accepts), so a held
# chunk delays its own connection only. TERM or INT stops the parent and
# every child. Core Perl only: IO::Socket, IO::Select, Time::HiRes.
use strict;
use warnings;
use IO::Socket::INET;
use IO::Select;
use POSIX ();
use Time::HiRes qw(sleep);

@ARGV == 3 or die "usage: slowproxy.pl LISTEN_PORT TARGET_PORT DELAY_FILE\n";
my ($listen_port, $target_port, $delay_file) = @ARGV;

my ($delay, $stamp) = (0, '');

# The delay now: DELAY_FILE read again when it changed.
sub delay {
    my @st = stat $delay_file;
    my $now = @st ? "$st[9].$st[7]" : 'none';
    return $delay if $now eq $stamp;
    $stamp = $now;
    $delay = 0;
    if (@st && open my $fh, '<', $delay_file) {
        my $v = <$fh>;
        close $fh;
        $delay = $1 if defined $v && $v =~ /^\s*([0-9]*\.?[0-9]+)\s*$/;
    }
    return $delay;
}

my $server = IO::Socket::INET->new(
    LocalAddr => '127.0.0.1',
    LocalPort => $listen_port,
    Proto     => 'tcp',
    Listen    => 64,
    ReuseAddr => 1,
) or die "slowproxy: listen on 127.0.0.1:$listen_port: $!\n";

my %children;
my $stopping = 0;
$SIG{TERM} = $SIG{INT} = sub { $stopping = 1 };
$SIG{CHLD} = sub {
    while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) { delete $children{$pid} }
};
$SIG{PIPE} = 'IGNORE';

# Forward between CLIENT and TARGET until either side closes.
sub relay {
    my ($client, $target) = @_;
    my $sel = IO::Select->new($client, $target);
    for (;;) {
        for my $from ($sel->can_read) {
            my $to = $from == $client ? $target : $client;
            my $n = sysread $from, my $buf, 65536;
            return unless $n;    # EOF or error: close both
            my $d = delay();
            sleep $d if $d > 0;
            my $off = 0;
            while ($off < length $buf) {
                my $w = syswrite $to, $buf, length($buf) - $off, $off;
                return unless defined $w;
                $off += $w;
            }
        }
    }
}

print "slowproxy: 127.0.0.1:$listen_port -> 127.0.0.1:$target_port\n";
STDOUT->flush;
until ($stopping) {
    my $client = $server->accept or next;    # EINTR (a child ended, a signal)
    my $pid = fork;
    if (!defined $pid) {
        close $client;
        next;
    }
    if ($pid == 0) {
        $SIG{TERM} = $SIG{INT} = 'DEFAULT';
        $SIG{CHLD} = 'DEFAULT';
        close $server;
        my $target = IO::Socket::INET->new(
            PeerAddr => '127.0.0.1',
            PeerPort => $target_port,
            Proto    => 'tcp',
        );
        relay($client, $target) if $target;
        POSIX::_exit(0);
    }
    $children{$pid} = 1;
    close $client;
}
kill 'TERM', keys %children;
exit 0;

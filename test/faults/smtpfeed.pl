#!/usr/bin/perl
# smtpfeed.pl - send a stream of SMTP AUTH messages and say what became of each
#
#   perl smtpfeed.pl PORT WORKLOAD CONNS COUNT TAG [FIRST [PAUSE]]
#
# CONNS processes at once send COUNT messages in all to 127.0.0.1:PORT,
# numbered FIRST (default 0) to FIRST+COUNT-1; message N takes line
# N mod LINES of WORKLOAD (the mltload format: login TAB envelope sender
# TAB From: value TAB accept|reject). Each message is one SMTP session:
# EHLO, AUTH PLAIN as the login with the password "pw-LOGIN", MAIL FROM,
# RCPT TO, DATA with "Subject: TAG N", QUIT. Each process waits PAUSE
# seconds (default 0) after each of its messages, so that a stream lasts
# long enough to cross a fault even when every message fails fast.
#
# Prints one line per message, as soon as it is done:
#
#   N EXPECT GOT STAGE REPLY
#
# GOT is accept (250 after the final dot), reject (a 5xx reply), tempfail
# (a 4xx reply) or error (no reply: connection refused, closed, timed
# out); STAGE is the step that got the final reply (connect, ehlo, auth,
# mail, rcpt, data, dot) and REPLY its first line. Core Perl only.
use strict;
use warnings;
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64);
use POSIX ();
use Time::HiRes ();

@ARGV >= 5 && @ARGV <= 7
    or die "usage: smtpfeed.pl PORT WORKLOAD CONNS COUNT TAG [FIRST [PAUSE]]\n";
my ($port, $workload, $conns, $count, $tag, $first, $pause) = @ARGV;
$first //= 0;
$pause //= 0;
my $timeout = 20;

open my $wl, '<', $workload or die "smtpfeed: $workload: $!\n";
my @lines;
while (<$wl>) {
    chomp;
    next if /^#/ || $_ eq '';
    my @f = split /\t/, $_, -1;
    die "smtpfeed: $workload:$.: want login TAB sender TAB From TAB accept|reject\n"
        unless @f == 4 && $f[3] =~ /^(accept|reject)$/;
    push @lines, \@f;
}
close $wl;
die "smtpfeed: $workload: no message in it\n" unless @lines;

$| = 1;
$SIG{PIPE} = 'IGNORE';

# Read one (possibly multi-line) reply: its first line, or undef.
sub reply {
    my ($s) = @_;
    my $first_line;
    for (;;) {
        my $line = eval {
            local $SIG{ALRM} = sub { die "timeout\n" };
            alarm $timeout;
            my $l = <$s>;
            alarm 0;
            $l;
        };
        alarm 0;
        return undef unless defined $line;
        $line =~ s/\r?\n\z//;
        $first_line //= $line;
        return $first_line unless $line =~ /^\d{3}-/;
    }
}

# One message: (GOT, STAGE, REPLY).
sub one {
    my ($n, $login, $sender, $from) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        Proto => 'tcp', Timeout => $timeout)
        or return ('error', 'connect', "connect: $!");
    my @steps = (
        [connect => undef],
        [ehlo => "EHLO client.example.net"],
        [auth => 'AUTH PLAIN ' . encode_base64("\0$login\0pw-$login", '')],
        [mail => "MAIL FROM:<$sender>"],
        [rcpt => 'RCPT TO:<bob@example.org>'],
        [data => 'DATA'],
        [dot => "From: $from\r\nTo: <bob\@example.org>\r\nSubject: $tag $n\r\n"
            . "Message-ID: <$tag.$n\@client.example.net>\r\n\r\n"
            . "Message $n of the fault stream $tag.\r\n."],
    );
    for my $st (@steps) {
        my ($stage, $cmd) = @$st;
        if (defined $cmd) {
            print $s "$cmd\r\n" or return ('error', $stage, "write: $!");
        }
        my $r = reply($s);
        return ('error', $stage, 'no reply') unless defined $r;
        my $want = $stage eq 'data' ? '3' : '2';
        next if substr($r, 0, 1) eq $want;
        print $s "QUIT\r\n";
        close $s;
        my $got = $r =~ /^4/ ? 'tempfail' : $r =~ /^5/ ? 'reject' : 'error';
        return ($got, $stage, $r);
    }
    print $s "QUIT\r\n";
    reply($s);
    close $s;
    return ('accept', 'dot', '250');
}

my @kids;
for my $k (0 .. $conns - 1) {
    my $pid = fork;
    die "smtpfeed: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        for (my $i = $k; $i < $count; $i += $conns) {
            my $n = $first + $i;
            my ($login, $sender, $from, $expect) = @{ $lines[$n % @lines] };
            my ($got, $stage, $r) = one($n, $login, $sender, $from);
            $r =~ s/[\r\n]//g;
            syswrite STDOUT, "$n $expect $got $stage $r\n";
            Time::HiRes::sleep($pause) if $pause > 0;
        }
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
my $bad = 0;
for (@kids) { waitpid($_, 0); $bad++ if $? }
exit($bad ? 1 : 0);

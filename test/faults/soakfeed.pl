#!/usr/bin/perl
# soakfeed.pl - an SMTP AUTH client that sends a timed stream and, as an
# MTA's queue would, sends again later what got a temporary failure
#
#   perl soakfeed.pl PORT WORKLOAD CONNS SECONDS TAG [RETRY [GIVEUP]]
#
# CONNS processes at once send new messages to 127.0.0.1:PORT for SECONDS
# seconds, process K the messages numbered K, K + CONNS, K + 2 CONNS...
# Message N takes line N mod LINES of WORKLOAD (login TAB envelope sender
# TAB From: value TAB accept|reject, as for smtpfeed.pl and mltload). Each
# try is one SMTP session: EHLO, AUTH PLAIN as the login with the password
# "pw-LOGIN", MAIL FROM, RCPT TO, DATA with "Subject: TAG N" and
# "Message-ID: <TAG.N@client.example.net>", QUIT.
#
# A message that got a 4xx reply, or no reply at all, is sent again, the
# same N, RETRY seconds later (default 2), before any new message of its
# process. After SECONDS no new message is started; the retries go on for
# at most GIVEUP seconds more (default 120).
#
# Prints one line per try, as soon as it is done:
#
#   N EXPECT GOT STAGE TRY MS REPLY
#
# GOT is accept (250 after the final dot), reject (5xx), tempfail (4xx)
# or error (no reply: refused, closed, timed out); STAGE the step that got
# the reply that ended the session (connect, ehlo, auth, mail, rcpt, data,
# dot); TRY counts from 1; MS is the session's time from connect to that
# reply, in milliseconds; REPLY its first line. A message still neither
# accepted nor rejected at the end is printed as
#
#   N EXPECT pending - TRY 0 gave up
#
# Core Perl only.
use strict;
use warnings;
use IO::Socket::INET;
use MIME::Base64 qw(encode_base64);
use POSIX ();
use Time::HiRes qw(time sleep);

@ARGV >= 5 && @ARGV <= 7
    or die "usage: soakfeed.pl PORT WORKLOAD CONNS SECONDS TAG [RETRY [GIVEUP]]\n";
my ($port, $workload, $conns, $seconds, $tag, $retry, $giveup) = @ARGV;
$retry //= 2;
$giveup //= 120;
my $wait = 30; # for each reply: longer than any of Postfix's milter timeouts

open my $fh, '<', $workload or die "soakfeed: $workload: $!\n";
my @mix = map { chomp; [ split /\t/, $_, -1 ] } grep { !/^(#|$)/ } <$fh>;
close $fh;
for my $i (0 .. $#mix) {
    die "soakfeed: $workload: line $i: want login TAB sender TAB From TAB accept|reject\n"
        unless @{ $mix[$i] } == 4 && $mix[$i][3] =~ /^(?:accept|reject)$/;
}
die "soakfeed: $workload: no message in it\n" unless @mix;

$SIG{PIPE} = 'IGNORE';

# answer(SOCKET): the first line of the next (multi-line) reply, or undef
sub answer {
    my ($sock) = @_;
    my $head;
    local $SIG{ALRM} = sub { die "no answer\n" };
    my $line = '';
    while (defined $line) {
        $line = eval { alarm $wait; my $l = <$sock>; alarm 0; $l };
        alarm 0;
        last unless defined $line;
        $line =~ s/\r?\n\z//;
        $head = $line unless defined $head;
        return $head if $line !~ /^\d\d\d-/;
    }
    return undef;
}

# session(N): (GOT, STAGE, REPLY) of one try of message N
sub session {
    my ($n) = @_;
    my ($login, $sender, $from) = @{ $mix[ $n % @mix ] };
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
        Proto => 'tcp', Timeout => $wait);
    return ('error', 'connect', "connect: $!") unless $sock;
    my $body = "From: $from\r\nTo: <bob\@example.org>\r\nSubject: $tag $n\r\n"
        . "Message-ID: <$tag.$n\@client.example.net>\r\n\r\n"
        . "Message $n of the soak stream $tag.\r\n.";
    my @dialogue = (connect => '', ehlo => 'EHLO client.example.net',
        auth => 'AUTH PLAIN ' . encode_base64("\0$login\0pw-$login", ''),
        mail => "MAIL FROM:<$sender>", rcpt => 'RCPT TO:<bob@example.org>',
        data => 'DATA', dot => $body);
    while (my ($stage, $say) = splice @dialogue, 0, 2) {
        return ('error', $stage, "write: $!")
            if $say ne '' && !print {$sock} "$say\r\n";
        my $r = answer($sock);
        return ('error', $stage, 'no reply') unless defined $r;
        next if $r =~ ($stage eq 'data' ? qr/^3/ : qr/^2/);
        print {$sock} "QUIT\r\n";
        return ($r =~ /^4/ ? 'tempfail' : $r =~ /^5/ ? 'reject' : 'error', $stage, $r);
    }
    print {$sock} "QUIT\r\n";
    answer($sock);
    return ('accept', 'dot', '250');
}

# worker(K): process K's messages, its tries due again in @later
sub worker {
    my ($k) = @_;
    my (@later, $job);
    my $next = $k;
    my $t0 = time;
    for (;;) {
        my $now = time;
        if (@later && $later[0][0] <= $now) {
            $job = shift @later;
        } elsif ($now < $t0 + $seconds) {
            $job = [ $now, $next, 1 ];
            $next += $conns;
        } elsif (!@later) {
            return;
        } elsif ($now > $t0 + $seconds + $giveup) {
            syswrite STDOUT, "$_->[1] $mix[$_->[1] % @mix][3] pending - $_->[2] 0 gave up\n"
                for @later;
            return;
        } else {
            sleep($later[0][0] - $now < 0.1 ? $later[0][0] - $now : 0.1);
            next;
        }
        my (undef, $n, $try) = @$job;
        my $start = time;
        my ($got, $stage, $reply) = session($n);
        my $ms = int((time - $start) * 1000 + 0.5);
        $reply =~ s/[\r\n]//g;
        syswrite STDOUT, "$n $mix[$n % @mix][3] $got $stage $try $ms $reply\n";
        push @later, [ time + $retry, $n, $try + 1 ] if $got eq 'tempfail' || $got eq 'error';
    }
}

my @kids;
for my $k (0 .. $conns - 1) {
    my $pid = fork;
    die "soakfeed: fork: $!\n" unless defined $pid;
    if (!$pid) {
        worker($k);
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
my $bad = 0;
for my $pid (@kids) {
    waitpid $pid, 0;
    $bad++ if $?;
}
exit($bad ? 1 : 0);

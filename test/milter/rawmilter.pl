#!/usr/bin/perl
# rawmilter.pl - the MTA side of the milter protocol, byte for byte
#
#   perl rawmilter.pl SOCKET [offer:FLAGS] STEP...
#
# For what miltertest cannot do: its strings stop at the first NUL, its
# header buffer is 1 KB, and it never shows the reply text of a MAIL-stage
# reject. SOCKET is unix:/path. Each STEP is one command; values are
# %XX-decoded first, so %00 is a NUL byte:
#
#   M:NAME=VALUE      a macro for MAIL (sent with the next "mail" step)
#   E:NAME=VALUE      a macro for end-of-DATA (sent with the next "eom")
#   mail:SENDER       MAIL FROM (preceded by the M macros)
#   hdr:NAME=VALUE    one header field
#   big:NAME=N:HEAD:TAIL  a header field HEAD, N-|HEAD|-|TAIL| spaces, TAIL
#   eom               end of message (preceded by the E macros)
#   quit              close politely (also done at the end)
#
# offer:FLAGS (first, hex) offers only those protocol flags, as an older
# MTA would; by default every flag of protocol version 6 is offered.
# Prints one line per reply: "STEP CODE [DATA]", where CODE is the reply
# letter (c continue, a accept, y reply code, t tempfail, r reject,
# h add header, m change header, i insert header) and DATA the reply's
# data, NULs shown as "|"; for m and i the index comes first, in decimal
# ("eom m 2 X-Report|" deletes the second X-Report: field). A connection
# the milter closed prints "STEP closed". Exit 0 unless the arguments or
# the socket are wrong.
use strict;
use warnings;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);

my $sock = shift @ARGV or die "usage: rawmilter.pl unix:/path STEP...\n";
$sock =~ s/^(unix|local)://;
my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $sock)
    or die "rawmilter: connect $sock: $!\n";
binmode $s;
$SIG{ALRM} = sub { print "timeout\n"; exit 0 };

sub dec { my $v = shift; $v =~ s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge; return $v }

sub send_cmd {
    my ($cmd, $data) = @_;
    $data = '' unless defined $data;
    my $pkt = pack('N', length($data) + 1) . $cmd . $data;
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    while ($off < length $pkt) {
        my $n = syswrite($s, $pkt, length($pkt) - $off, $off);
        return 0 unless defined $n && $n > 0;
        $off += $n;
    }
    return 1;
}

sub read_n {
    my $n = shift;
    my $buf = '';
    while (length $buf < $n) {
        my $r = sysread($s, $buf, $n - length $buf, length $buf);
        return undef unless $r;
    }
    return $buf;
}

# One reply: (letter, data) or () when the milter closed the connection.
sub read_reply {
    alarm 30;
    my $len = read_n(4);
    return () unless defined $len;
    my $n = unpack('N', $len);
    my $body = read_n($n);
    alarm 0;
    return () unless defined $body && length $body;
    return (substr($body, 0, 1), substr($body, 1));
}

sub show {
    my ($step, $code, $data) = @_;
    if (!defined $code) { print "$step closed\n"; exit 0 }
    # change and insert header: a 32-bit index before the name
    $data = unpack('N', $data) . ' ' . substr($data, 4)
        if ($code eq 'm' || $code eq 'i') && length $data >= 4;
    $data =~ s/\0$//;
    $data =~ s/\0/|/g;
    print "$step $code", (length $data ? " $data" : ''), "\n";
}

# Negotiate: version 6, every action, every protocol step offered.
my $offer = 0x1fffff;
if (@ARGV && $ARGV[0] =~ /^offer:(?:0x)?([0-9A-Fa-f]+)$/) { $offer = hex($1); shift @ARGV }
send_cmd('O', pack('NNN', 6, 0x1ff, $offer)) or die "rawmilter: write: $!\n";
my ($c, $d) = read_reply();
die "rawmilter: no option negotiation reply\n" unless defined $c && $c eq 'O';
my (undef, undef, $popts) = unpack('NNN', $d);
print "negotiated ", sprintf('0x%x', $popts), "\n";
if (!($popts & 0x01)) {    # SMFIP_NOCONNECT not set: send connect info
    send_cmd('C', "client.test\0" . '4' . pack('n', 12345) . "127.0.0.1\0");
    show('connect', read_reply()) unless $popts & 0x1000;    # SMFIP_NR_CONN
}

my (@mail_macros, @eom_macros);
for my $step (@ARGV) {
    if ($step =~ /^([ME]):([^=]+)=(.*)$/s) {
        push @{ $1 eq 'M' ? \@mail_macros : \@eom_macros }, dec($2) . "\0" . dec($3) . "\0";
    } elsif ($step =~ /^mail:(.*)$/s) {
        send_cmd('D', 'M' . join('', @mail_macros)) if @mail_macros;
        @mail_macros = ();
        send_cmd('M', dec($1) . "\0") or show('mail', undef);
        show('mail', read_reply());
    } elsif ($step =~ /^hdr:([^=]+)=(.*)$/s) {
        send_cmd('L', dec($1) . "\0" . dec($2) . "\0") or show('hdr', undef);
        show('hdr', read_reply()) unless $popts & 0x80;    # SMFIP_NR_HDR
    } elsif ($step =~ /^big:([^=]+)=(\d+):([^:]*):(.*)$/s) {
        my ($head, $tail) = (dec($3), dec($4));
        my $fill = $2 - length($head) - length($tail);
        my $value = $head . (' ' x ($fill > 0 ? $fill : 0)) . $tail;
        send_cmd('L', dec($1) . "\0" . $value . "\0") or show('big', undef);
        show('big', read_reply()) unless $popts & 0x80;
    } elsif ($step eq 'eom') {
        send_cmd('D', 'E' . join('', @eom_macros)) if @eom_macros;
        @eom_macros = ();
        send_cmd('E') or show('eom', undef);
        for (;;) {    # modifications first, then the verdict
            my ($code, $data) = read_reply();
            show('eom', $code, $data);
            last if $code =~ /^[acrtdy]$/;
        }
    } elsif ($step eq 'quit') {
        send_cmd('Q');
        exit 0;
    } else {
        die "rawmilter: unknown step: $step\n";
    }
}
send_cmd('Q');
exit 0;

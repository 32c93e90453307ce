#!/usr/bin/perl
# hostile.pl - the byte-exact half of test/hostile/run.sh
#
#   perl hostile.pl logins CORPUS HM TARGET...
#   perl hostile.pl addresses CORPUS HM CONF SOCKET
#   perl hostile.pl grants CORPUS HM CONF SOCKET
#   perl hostile.pl headers SOCKET DAEMON_PID
#   perl hostile.pl session SOCKET LOGIN SENDER [FROM]
#   perl hostile.pl exercise SOCKET
#   perl hostile.pl strace TRACE LDAPI_PATH SECRET...
#
# Each mode prints one line per check, "ok DESC" or "not ok DESC", and
# lines starting with "# " to explain a failure; run.sh turns them into
# TAP test points. The shell cannot hold a NUL byte or pass exact bytes
# through a variable: this helper runs "homed-milter -q" with argv built
# here and speaks the milter protocol itself (as rawmilter.pl does, but
# with header fields of any size and many sessions in one process).
#
# logins: each login of CORPUS (format in the file's header) against
#   each TARGET:
#     q:COLUMN:CONF          homed-milter -c CONF -q LOGIN ADDRESS
#     postfix:COLUMN:SOCKET  the daemon, {auth_authen} as Postfix sends it
#     sendmail:COLUMN:SOCKET the daemon, {auth_authen} xtext-encoded and
#                            "v" a Sendmail version, as Sendmail sends it
#     again:COLUMN:SOCKET    postfix once more (its cache answers now)
#   COLUMN (1 to 3) says which owner column of the corpus applies, E that
#   the directory fails for every login (a wrong bind password). For
#   each, the login submits as janed's and alice's addresses and as its
#   owner's: accepted exactly when the owner's own address, 554 naming the
#   address when there is no owner (or it is not homed here), 451 for an
#   ambiguous owner or a failing directory; -q must name the owner's DN,
#   none, or the error.
# addresses: "env" lines through -q and MAIL FROM, "hdr" lines as a From:
#   field, always with janed's login.
# grants: test/hostile/grants, addresses that end up in a delegation
#   filter, through -q and the daemon (twice: the second time from its
#   cache), with the login each line names.
# headers: big and many header fields, generated here.
# session: one message, prints "mail REPLY" and "eom REPLY".
# exercise: six messages, one decision of each kind; one line each.
# strace: a trace of the daemon (strace -f -yy -xx): the secrets may be
#   written to the LDAP socket only.
use strict;
use warnings;
use IO::Socket::UNIX;
use IO::Select;
use Socket qw(SOCK_STREAM);

$| = 1;
my $NOT_LOCAL = '554 5.7.1 Mailbox is not local: ';
my $DIR_ERROR = '451 4.3.0 Directory unavailable, try again later';
my $POSTFIX = 'Postfix 3.7.11';
my $SENDMAIL = '8.17.1.9';

# The directory: entry name -> DN, whether homed here, its addresses.
my %ENTRY = (
    janed  => ['uid=janed,ou=people,dc=example,dc=com', 1, 'janed@example.com', 'jane.doe@example.com'],
    alice  => ['uid=alice,ou=people,dc=example,dc=com', 1, 'alice@example.com', 'a.example@example.com',
               'alice@example.org'],
    johnd  => ['uid=johnd,ou=people,dc=example,dc=com', 0, 'JohnD@COMPANY1.com'],
    nohome => ['uid=nohome,ou=people,dc=example,dc=com', 0, 'nohome@example.com'],
    twin   => [undef, 1, 'twin@example.com'],
    star   => ['cn=decoy-star,ou=people,dc=example,dc=com', 1, 'star@example.com'],
    pct    => ['cn=decoy-pct,ou=people,dc=example,dc=com', 1, 'pct@example.com'],
    paren  => ['cn=decoy-paren,ou=people,dc=example,dc=com', 1, 'paren@example.com'],
    bslash => ['cn=decoy-bslash,ou=people,dc=example,dc=com', 1, 'bslash@example.com'],
    utf8   => ['cn=decoy-utf8,ou=people,dc=example,dc=com', 1, 'jaened@example.com'],
);

sub ok_line {
    my ($ok, $desc, @why) = @_;
    $desc =~ s/#/\\#/g;    # a '#' would start a TAP directive
    print $ok ? "ok $desc\n" : "not ok $desc\n";
    if (!$ok) {
        print map { my $l = $_; $l =~ s/\n/\n# /g; "# $l\n" } @why;
    }
}

# --- the corpus notation -----------------------------------------------------------

sub decode {
    my $s = shift;
    $s =~ s/\{\{(\d+)\*(.*?)\}\}/$2 x $1/ge;
    $s =~ s/\\(\\|t|n|r|0|x([0-9A-Fa-f]{2})|.)/
        $1 eq '\\' ? '\\' : $1 eq 't' ? "\t" : $1 eq 'n' ? "\n" : $1 eq 'r' ? "\r"
        : $1 eq '0' ? "\0" : defined $2 ? chr(hex $2) : die "bad escape \\$1 in: $s\n"/gse;
    return $s;
}

# A corpus field as a test point's name: short and printable.
sub label {
    my $s = shift;
    $s = substr($s, 0, 48) . '...' if length $s > 51;
    return $s;
}

# Printable form of any bytes, for diagnostics.
sub show {
    my $s = shift;
    my $cut = length $s > 300;
    $s = substr($s, 0, 300) if $cut;
    $s =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
    return $s . ($cut ? '...' : '');
}

sub read_corpus {
    my ($file, $fields) = @_;
    open(my $fh, '<:raw', $file) or die "hostile.pl: $file: $!\n";
    my @cases;
    while (my $line = <$fh>) {
        chomp $line;
        next if $line =~ /^#/ || $line eq '';
        my @f = split /\t/, $line, $fields;
        die "hostile.pl: $file:$.: expected $fields fields\n" unless @f == $fields;
        push @cases, \@f;
    }
    return @cases;
}

# --- homed-milter -q with exact argv ---------------------------------------------

# run_q(HM, CONF, LOGIN, ADDRESS): (exit status, stdout, stderr). argv
# strings end at a NUL: cut there, as execve would.
sub run_q {
    my ($hm, $conf, $login, $address) = @_;
    s/\0.*//s for $login, $address;
    my $err = ($ENV{HOSTILE_W} // '/tmp') . "/q.$$.err";
    my $pid = open(my $fh, '-|');
    die "hostile.pl: fork: $!\n" unless defined $pid;
    if ($pid == 0) {
        open(STDERR, '>', $err) or die "hostile.pl: $err: $!\n";
        exec {$hm} $hm, '-c', $conf, '-q', $login, $address;
        die "hostile.pl: exec $hm: $!\n";
    }
    binmode $fh;
    local $/;
    my $out = <$fh> // '';
    close $fh;
    my $rc = $? & 127 ? 'signal ' . ($? & 127) : $? >> 8;
    my $errors = '';
    if (open(my $eh, '<:raw', $err)) {
        $errors = <$eh> // '';
        close $eh;
    }
    unlink $err;
    return ($rc, $out, $errors);
}

# --- the MTA side of the milter protocol -------------------------------------

sub xtext {
    my $s = shift;
    $s =~ s/([^\x21-\x7e]|[+=])/sprintf('+%02X', ord $1)/ge;
    return $s;
}

# mt_open(SOCKET, MTA): a negotiated connection that has sent its connect
# info with the "v" macro MTA, or undef.
sub mt_open {
    my ($path, $mta) = @_;
    $path =~ s/^(unix|local)://;
    my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path) or return undef;
    binmode $s;
    my $c = { s => $s, sel => IO::Select->new($s), closed => 0 };
    mt_send($c, 'O', pack('NNN', 6, 0x1ff, 0x1fffff));
    my ($code, $data) = mt_reply($c);
    return undef unless $code eq 'O';
    $c->{popts} = (unpack('NNN', $data))[2];
    if (!($c->{popts} & 0x01)) {    # SMFIP_NOCONNECT not asked for
        mt_send($c, 'D', "C" . "v\0$mta\0j\0mail.example.com\0");
        mt_send($c, 'C', "client.example.net\0" . '4' . pack('n', 25) . "192.0.2.10\0");
        mt_reply($c) unless $c->{popts} & 0x1000;    # SMFIP_NR_CONN
    }
    $c->{mta} = $mta;
    return $c;
}

sub mt_send {
    my ($c, $cmd, $data) = @_;
    return 0 if $c->{closed};
    $data = '' unless defined $data;
    my $pkt = pack('N', length($data) + 1) . $cmd . $data;
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    while ($off < length $pkt) {
        my $n = syswrite($c->{s}, $pkt, length($pkt) - $off, $off);
        if (!defined $n || $n <= 0) { $c->{closed} = 1; return 0 }
        $off += $n;
    }
    return 1;
}

# A daemon that stops answering must not make the layer wait 30 s for
# each of hundreds of replies: after three silences, 2 s is enough.
my $silences = 0;

sub mt_read {
    my ($c, $n) = @_;
    my $buf = '';
    while (length $buf < $n) {
        if (!$c->{sel}->can_read($silences >= 3 ? 2 : 30)) {
            $silences++;
            $c->{silent} = 1;
            return undef;
        }
        my $r = sysread($c->{s}, $buf, $n - length $buf, length $buf);
        return undef unless $r;
    }
    return $buf;
}

# mt_reply(CONN): (letter, data) of the next reply; ('closed') when the
# daemon closed the connection, ('silent') when it said nothing for 30 s.
sub mt_reply {
    my $c = shift;
    return ($c->{silent} ? 'silent' : 'closed', '') if $c->{closed};
    my $len = mt_read($c, 4);
    my $body = defined $len ? mt_read($c, unpack('N', $len)) : undef;
    if (!defined $body || $body eq '') {
        $c->{closed} = 1;
        return ($c->{silent} ? 'silent' : 'closed', '');
    }
    return (substr($body, 0, 1), substr($body, 1));
}

# A reply as the MTA shows it: letter, and for a reply code its text with
# NULs dropped and "%%" made "%" (libmilter doubles '%'; Postfix and
# Sendmail undo it).
sub reply_text {
    my ($code, $data) = @_;
    return $code if $code ne 'y';
    $data =~ s/\0+$//;
    $data =~ s/%%/%/g;
    return "y $data";
}

sub mt_close {
    my $c = shift;
    mt_send($c, 'Q') unless $c->{closed};
    close $c->{s};
}

# session(SOCKET, MTA, LOGIN, SENDER, HEADERS): one message on its own
# connection; LOGIN undef: not authenticated. HEADERS: [name, value] pairs,
# or [name, undef, file] to read the value from a file. Returns a hash:
# mail, hdr (the first header reply that is not "c"), eom ("-" when the
# message ended at MAIL FROM). A reply is its letter ("c", "a"...), "y
# TEXT" for a reply code, "closed" (the daemon closed the connection) or
# "silent" (no reply within 30 s). Header replies are read only when the
# daemon did not negotiate them away (SMFIP_NR_HDR).
sub session {
    my ($path, $mta, $login, $sender, $headers) = @_;
    my %r = (mail => 'closed', hdr => '', eom => '-');
    my $c = mt_open($path, $mta) or return { %r, mail => "cannot connect: $!" };
    # "v" with MAIL, as the daemon asks for it (smfi_setsymlist); and
    # {auth_authen} last: a NUL inside it would shift what follows
    my $macros = "v\0$mta\0";
    $macros .= "{auth_type}\0PLAIN\0\{auth_authen}\0$login\0" if defined $login;
    mt_send($c, 'D', "M$macros");
    mt_send($c, 'M', "$sender\0");
    $r{mail} = reply_text(mt_reply($c));
    if ($r{mail} eq 'c' && $headers) {
        for my $h (@$headers) {
            my $value = $h->[1];
            if (!defined $value) {
                open(my $fh, '<:raw', $h->[2]) or die "hostile.pl: $h->[2]: $!\n";
                local $/;
                $value = <$fh>;
                close $fh;
            }
            mt_send($c, 'L', "$h->[0]\0$value\0");
            next if $c->{popts} & 0x80;    # SMFIP_NR_HDR: no reply to a header
            my $hr = reply_text(mt_reply($c));
            $r{hdr} ||= $hr unless $hr eq 'c';
            last if $hr eq 'closed' || $hr eq 'silent';
        }
        mt_send($c, 'E');
        for (;;) {    # header changes first, then the verdict
            my ($code, $data) = mt_reply($c);
            next if $code eq 'h';
            $r{eom} = reply_text($code, $data);
            last;
        }
    }
    mt_close($c);
    return \%r;
}

# --- logins ----------------------------------------------------------------------

# What LOGIN, finding OWNER (an entry name or "-"), must get for ADDRESS:
# "accept", "reject TEXT" or "tempfail TEXT".
sub expected {
    my ($owner, $address) = @_;
    return ('tempfail', $DIR_ERROR) if $owner eq 'twin' || $owner eq 'ERROR';
    my $e = $ENTRY{$owner};
    if ($e && $e->[1] && grep { lc $_ eq lc $address } @$e[2 .. $#$e]) {
        return ('accept', '');
    }
    return ('reject', $NOT_LOCAL . $address);
}

# The owner of a case under COLUMN: 1 to 3, or E (the directory fails:
# every lookup is an error, "ERROR").
sub owner_of {
    my ($case, $column) = @_;
    return $column eq 'E' ? 'ERROR' : $case->[$column - 1];
}

sub check_q {
    my ($hm, $conf, $column, $case) = @_;
    my $login = decode($case->[3]);
    my $owner = owner_of($case, $column);
    # an empty login is refused before the directory is asked
    $owner = '-' if $owner eq 'ERROR' && $login =~ /^\0/;
    my @why;
    for my $address (addresses_for($owner, $column ne '1')) {
        my ($rc, $out, $err) = run_q($hm, $conf, $login, $address);
        my ($line1, $line2) = split /\n/, $out;
        $line1 //= '';
        $line2 //= '';
        my ($action, $text) = expected($owner, $address);
        my $want1 = $action eq 'accept' ? 'accept' : "$action $text";
        my $want_rc = { accept => 0, reject => 1, tempfail => 2 }->{$action};
        push @why, "-q LOGIN $address: verdict \"$line1\", want \"$want1\"" if $line1 ne $want1;
        push @why, "-q LOGIN $address: exit $rc, want $want_rc" if $rc ne $want_rc;
        my $dn = exists $ENTRY{$owner} ? $ENTRY{$owner}[0] : undef;
        if ($owner eq 'twin') {
            push @why, "-q LOGIN $address: line 2 \"" . show($line2) . "\", want the ambiguity"
                unless $line2 =~ /^error .*more than one entry/;
        } elsif ($owner eq 'ERROR') {
            push @why, "-q LOGIN $address: line 2 \"" . show($line2) . "\", want \"error ...\""
                unless $line2 =~ /^error /;
        } elsif ($dn) {
            push @why, "-q LOGIN $address: line 2 \"" . show($line2) . "\", want entry $dn"
                unless index($line2, "entry $dn ") == 0;
        } else {
            push @why, "-q LOGIN $address: line 2 \"" . show($line2) . "\", want \"entry none: ...\""
                unless $line2 =~ /^entry none: /;
        }
        push @why, "-q LOGIN $address: stderr: " . show($err) if $err ne '';
    }
    return @why;
}

# The addresses a login submits as: janed's (the victim most logins aim
# at), alice's unless FEW, and its owner's first.
sub addresses_for {
    my ($owner, $few) = @_;
    my @a = ('janed@example.com', $few ? () : 'alice@example.com');
    push @a, $ENTRY{$owner}[2] if exists $ENTRY{$owner} && !grep { $_ eq $ENTRY{$owner}[2] } @a;
    return @a;
}

sub check_milter {
    my ($path, $mta, $column, $case) = @_;
    my $raw = decode($case->[3]);
    my $owner = owner_of($case, $column);
    my $login = $raw;
    my @why;
    if ($mta eq $SENDMAIL) {
        # Sendmail xtext-encodes the login; "+00" (a NUL) is refused by the
        # decoder and the login taken as it is, which is nobody's
        $owner = '-' if $raw =~ /\0/ && $owner ne 'ERROR';
        $login = xtext($raw);
    } else {
        # A macro value ends at its NUL: an MTA (a C string) hands over the
        # part before it. (Sent raw, the NUL would split the macro list,
        # which libmilter does not survive: see run.sh.)
        ($login = $raw) =~ s/\0.*//s;
        # An empty {auth_authen} next to {auth_type} (sent here with every
        # login): the MTA's macros contradict each other, 451
        if ($login eq '') {
            my $r = session($path, $mta, $login, '<janed@example.com>', []);
            my $want = 'y 451 4.3.0 Temporary failure, try again later';
            push @why, "MAIL FROM:<janed\@example.com>: reply \"$r->{mail}\", want \"$want\""
                if $r->{mail} ne $want;
            return @why;
        }
    }
    for my $address (addresses_for($owner)) {
        my ($action, $text) = expected($owner, $address);
        my $r = session($path, $mta, $login, "<$address>", [['From', "Someone <$address>"]]);
        my $want = $action eq 'accept' ? 'c' : "y $text";
        push @why, "MAIL FROM:<$address>: reply \"$r->{mail}\", want \"$want\""
            if $r->{mail} ne $want;
        if ($action eq 'accept' && $r->{mail} eq 'c' && ($r->{eom} ne 'c' || $r->{hdr} ne '')) {
            push @why, "From: $address: header reply \"$r->{hdr}\", end of DATA \"$r->{eom}\", want c";
        }
    }
    return @why;
}

sub mode_logins {
    my ($corpus, $hm, @targets) = @_;
    my @cases = read_corpus($corpus, 4);
    for my $t (@targets) {
        my $t0 = time;
        my ($kind, $column, $where) = split /:/, $t, 3;
        my $name = $column eq 'E' ? 'bind failing' : (qw(default filter bydomain))[$column - 1];
        for my $case (@cases) {
            my $owner = owner_of($case, $column);
            my @why = $kind eq 'q' ? check_q($hm, $where, $column, $case)
                : check_milter($where, $kind eq 'sendmail' ? $SENDMAIL : $POSTFIX, $column, $case);
            my $via = { q => '-q', again => 'postfix (again)' }->{$kind} // $kind;
            ok_line(!@why, "$via $name: login '" . label($case->[3]) . "' finds "
                    . ($owner eq '-' ? 'nobody' : $owner eq 'ERROR' ? 'nothing: 451' : $owner),
                    'login ' . show(decode($case->[3])), @why);
        }
        printf "# %s %s: %d s\n", $kind, $column, time - $t0;
    }
}

# --- addresses ---------------------------------------------------------------------

sub mode_addresses {
    my ($corpus, $hm, $conf, $path) = @_;
    for my $case (read_corpus($corpus, 3)) {
        my ($where, $expect, $value) = ($case->[0], decode($case->[1]), decode($case->[2]));
        my $want_q = $expect eq 'accept' ? 'accept' : "reject $NOT_LOCAL$expect";
        my $want_m = $expect eq 'accept' ? 'c' : "y $NOT_LOCAL$expect";
        my $name = label($case->[2]);
        if ($where eq 'env') {
            my ($rc, $out, $err) = run_q($hm, $conf, 'janed', $value);
            my ($line1) = split /\n/, $out;
            $line1 //= '';
            my $want_rc = $expect eq 'accept' ? 0 : 1;
            ok_line($line1 eq $want_q && $rc eq $want_rc && $err eq '',
                    "-q janed as '$name': " . ($expect eq 'accept' ? 'accept' : '554'),
                    'address ' . show($value), "got \"" . show($line1) . "\", exit $rc",
                    "want \"$want_q\", exit $want_rc", ($err ne '' ? 'stderr: ' . show($err) : ()));
            my $r = session($path, $POSTFIX, 'janed', $value, [['From', 'janed@example.com']]);
            my $eom_ok = $expect ne 'accept' || $r->{eom} eq 'c';
            ok_line($r->{mail} eq $want_m && $eom_ok,
                    "MAIL FROM:$name as janed: " . ($expect eq 'accept' ? 'accept' : '554'),
                    'sender ' . show($value), "got \"" . show($r->{mail}) . "\" (end of DATA $r->{eom})",
                    "want \"$want_m\"");
        } elsif ($where eq 'hdr') {
            my $r = session($path, $POSTFIX, 'janed', '<janed@example.com>', [['From', $value]]);
            ok_line($r->{mail} eq 'c' && $r->{hdr} eq '' && $r->{eom} eq $want_m,
                    "From: $name: " . ($expect eq 'accept' ? 'accept' : '554'),
                    'From: ' . show($value),
                    "got MAIL \"$r->{mail}\", header \"$r->{hdr}\", end of DATA \"" . show($r->{eom}) . '"',
                    "want end of DATA \"$want_m\"");
        } else {
            die "hostile.pl: $corpus: unknown place $where\n";
        }
    }
}

# --- delegation: send as and on behalf ----------------------------------------------

# The corpus logins' own addresses (a Sender: for on behalf; From: with
# a hostile Sender:).
my %OWN = (janed => 'janed@example.com', JANED => 'janed@example.com',
           alice => 'alice@example.com', '*' => 'star@example.com');

# grant_q(HM, CONF, WHERE, LOGIN, VALUE, WANT, RIGHT, ENTRY): -q for one
# case of the grants corpus (RIGHT: "" when refused); the reasons why it
# is wrong
sub grant_q {
    my ($hm, $conf, $where, $login, $value, $want, $right, $entry) = @_;
    my $arg = { env => '', from => 'From: ', sender => 'Sender: ' }->{$where} . $value;
    my ($rc, $out, $err) = run_q($hm, $conf, $login, $arg);
    my ($line1, undef, $line3) = split /\n/, $out;
    $_ //= '' for $line1, $line3;
    my $want1 = $right ? 'accept' : "reject $NOT_LOCAL$want";
    my $reason = $right ? qr/^reason \Q$right\E: .* \Q$entry\E,/ : qr/^reason not-owned: /;
    my @why;
    push @why, "-q: \"" . show($line1) . "\", exit $rc; want \"" . show($want1) . '", exit '
        . ($right ? 0 : 1) if $line1 ne $want1 || $rc ne ($right ? 0 : 1);
    push @why, '-q: "' . show($line3) . "\", want $reason" if $line3 !~ $reason;
    push @why, '-q: stderr: ' . show($err) if $err ne '';
    return @why;
}

# grant_milter(SOCKET, WHERE, LOGIN, VALUE, WANT, RIGHT): the daemon for
# one case; the reasons why it is wrong. On behalf: accepted with a Sender: of the login's own only.
sub grant_milter {
    my ($path, $where, $login, $value, $want, $right) = @_;
    my $own = $OWN{$login} // die "hostile.pl: no address for the login $login\n";
    my $reply = $right ? 'c' : "y $NOT_LOCAL$want";
    my ($written) = $value =~ /<([^<>]*)>/;    # refused on behalf: the address named
    my @why;
    # [what, MAIL FROM, header fields, the reply wanted]: an accepted
    # MAIL FROM goes on to the end of DATA, with a From: of the login's own
    my @runs = $where eq 'env' ? (['MAIL FROM', $value, [['From', $own]], $reply])
        : $where eq 'sender' ? (['Sender:', '<>', [['From', $own], ['Sender', $value]], $reply])
        : $right eq 'on-behalf' ? (['From: with Sender:', '<>', [['From', $value], ['Sender', $own]], 'c'],
                                   ['From: without Sender:', '<>', [['From', $value]], "y $NOT_LOCAL" . ($written // $value)])
        : (['From: (with Sender:)', '<>', [['From', $value], ['Sender', $own]], $reply]);
    for my $run (@runs) {
        my ($what, $sender, $headers, $expect) = @$run;
        my $r = session($path, $POSTFIX, $login, $sender, $headers);
        my $got = $r->{mail} ne 'c' ? "MAIL $r->{mail}" : $r->{hdr} ne '' ? "header $r->{hdr}" : $r->{eom};
        $expect = "MAIL $expect" if $where eq 'env' && $expect ne 'c';
        push @why, "$what: \"" . show($got) . '", want "' . show($expect) . '"' if $got ne $expect;
    }
    return @why;
}

sub mode_grants {
    my ($corpus, $hm, $conf, $path) = @_;
    my @cases = read_corpus($corpus, 4);
    for my $pass ('', ' (again: from the cache)') {
        for my $case (@cases) {
            my ($where, $login, $value) = ($case->[0], decode($case->[1]), decode($case->[3]));
            my $want = decode($case->[2]);
            my ($right, $entry) = $want =~ /^(send-as|on-behalf) (\S+)$/ ? ($1, $2) : ('', '');
            my @why = $pass ? () : grant_q($hm, $conf, $where, $login, $value, $want, $right, $entry);
            push @why, grant_milter($path, $where, $login, $value, $want, $right);
            ok_line(!@why, "grants$pass: $login, $where " . label($case->[3]) . ': '
                    . ($right ? "$right ($entry)" : '554 not-owned'), "value " . show($value), @why);
        }
    }
}

# --- big and many header fields -------------------------------------------------

# Owned addresses in the forms a client writes them, in turn.
my @OWNED = ('janed@example.com', 'Jane Doe <jane.doe@example.com>', '"Doe, Jane" <JANED@Example.COM>',
             '(work) Jane.Doe@EXAMPLE.com', '=?utf-8?q?Jane_D=C3=B6e?= <janed@example.com>');

sub owned_list {
    my ($n, %forged) = @_;
    return join(', ', map { $forged{$_} // $OWNED[$_ % @OWNED] } 0 .. $n - 1);
}

# fold(TEXT, WIDTH): TEXT cut into lines of WIDTH bytes joined by CRLF
# and a blank, where blanks are (a folded header field).
sub fold {
    my ($text, $width) = @_;
    my @out;
    my $line = '';
    for my $word (split / /, $text) {
        if (length($line) + length($word) + 1 > $width && $line ne '') {
            push @out, $line;
            $line = '';
        }
        $line .= ($line eq '' ? '' : ' ') . $word;
    }
    push @out, $line;
    return join("\r\n ", @out);
}

sub shown {    # what the product puts in a reply for an unparsable field
    my $s = shift;
    my $cut = length($s) > 256;
    $s = substr($s, 0, 256);
    $s =~ s/[^\x20-\x7e]/?/g;
    return $s . ($cut ? '...' : '');
}

# alive(PID): the process exists and is no zombie
sub alive {
    my $pid = shift;
    open(my $fh, '<', "/proc/$pid/stat") or return 0;
    my $stat = <$fh> // '';
    close $fh;
    return $stat =~ /\) [^Z]/;
}

sub mode_headers {
    my ($path, $pid) = @_;
    my @cases;
    my $add = sub { push @cases, [@_] };    # name, headers, want end of DATA

    my $forged = 'Evil <johnd@company1.com>';
    $add->('1000 owned addresses in one From:', [['From', owned_list(1000)]], 'c');
    $add->('1000 addresses in one From:, the 500th forged: it is named',
           [['From', owned_list(1000, 499 => $forged)]], "y ${NOT_LOCAL}johnd\@company1.com");
    $add->('1000 addresses in one From:, the last forged: it is named',
           [['From', owned_list(1000, 999 => 'alice@example.org')]], "y ${NOT_LOCAL}alice\@example.org");
    $add->('1000 addresses in one From:, the 10th and 900th forged: the 10th is named',
           [['From', owned_list(1000, 9 => 'a.example@example.com', 899 => $forged)]],
           "y ${NOT_LOCAL}a.example\@example.com");
    $add->('1000 addresses folded over 1000 lines: accept',
           [['From', join(",\r\n\t", map { $OWNED[$_ % @OWNED] } 0 .. 999)]], 'c');
    # The address parser takes 10 000 addresses in one field at most
    # (HM_ADDR_MAX_LIST): a limit of the product, not a rule of homed-milter.conf(5);
    # over it the field is refused as malformed, a definite 554.
    $add->('10 000 owned addresses in one From: (the parser\'s most): accept',
           [['From', owned_list(10000)]], 'c');
    my $over = owned_list(10001);
    $add->('10 001 owned addresses in one From: refused as malformed, named as written (cut)',
           [['From', $over]], "y $NOT_LOCAL" . shown($over));

    # A folded header field of 1 MB: a long comment, then the address.
    my $pad = fold(join(' ', map { "word$_" } 1 .. 120000), 76);
    $pad = substr($pad, 0, 1_000_000 - 64);
    $pad =~ s/\r?\n?\s*\S*$//;    # end on a whole word
    my $big_ok = "Jane Doe ($pad)\r\n <janed\@example.com>";
    my $big_bad = "Jane Doe ($pad)\r\n <JohnD\@COMPANY1.com>";
    $add->(sprintf('a 1 MB folded From: (%d bytes, %d lines), owned: accept', length $big_ok,
                   scalar(() = $big_ok =~ /\n/g) + 1), [['From', $big_ok]], 'c');
    $add->('a 1 MB folded From: ending in a forged address: it is named',
           [['From', $big_bad]], "y ${NOT_LOCAL}JohnD\@COMPANY1.com");
    my $big_list = fold(join(' ', map { 'janed@example.com,' } 1 .. 52000), 76);
    $big_list =~ s/,$//;
    $add->(sprintf('a 1 MB folded From: of %d owned addresses (more than 10 000): refused as malformed',
                   52000), [['From', $big_list]], "y $NOT_LOCAL" . shown($big_list));
    my $nest = ('(' x 400000) . (')' x 400000) . ' janed@example.com';
    $add->('800 000 bytes of nested comments before an owned address: accept', [['From', $nest]], 'c');
    my $open = ('(' x 500000) . ' janed@example.com';
    $add->('500 000 unclosed comments: refused as malformed', [['From', $open]],
           "y $NOT_LOCAL" . shown($open));
    my $quote = '"' . ('x' x 999000) . ' <janed@example.com>';
    $add->('an unterminated quoted string of 1 MB: refused as malformed', [['From', $quote]],
           "y $NOT_LOCAL" . shown($quote));
    my $commas = ',' x 1000000;
    $add->('1 MB of commas (no mailbox at all): refused as malformed', [['From', $commas]],
           "y $NOT_LOCAL" . shown($commas));

    # The largest field libmilter takes (smfi_setmaxdatasize 1 MB - 1 for
    # "From\0VALUE\0"), and one byte more.
    my $max = 1024 * 1024 - 1 - length("From\0") - 1;
    my $at_max = 'Jane (' . ('y' x ($max - length('Jane () <janed@example.com>'))) . ') <janed@example.com>';
    $add->("a From: of $max bytes, the most libmilter takes: accept", [['From', $at_max]], 'c');

    # 100 From: fields.
    my @hundred = map { ['From', $OWNED[$_ % @OWNED]] } 0 .. 99;
    $add->('100 From: fields, all owned: accept', [@hundred], 'c');
    $add->('100 From: fields, the 100th forged: it is named',
           [@hundred[0 .. 98], ['From', 'Mallory <JohnD@COMPANY1.com>']], "y ${NOT_LOCAL}JohnD\@COMPANY1.com");
    $add->('100 From: fields, the 1st forged: it is named',
           [['From', 'alice@example.com'], @hundred[1 .. 99]], "y ${NOT_LOCAL}alice\@example.com");
    $add->('100 From: and 100 Sender: fields, the 57th Sender: forged: it is named',
           [(map { ($_, ['Sender', $_ == $hundred[56] ? 'nohome@example.com' : $_->[1]]) } @hundred)],
           "y ${NOT_LOCAL}nohome\@example.com");
    $add->('100 From: fields with 50 other fields between them: accept',
           [(map { ($_, ['Subject', 'x' x 200]) } @hundred[0 .. 49]), @hundred[50 .. 99]], 'c');

    for my $case (@cases) {
        my ($name, $headers, $want) = @$case;
        my $r = session($path, $POSTFIX, 'janed', '<janed@example.com>', $headers);
        ok_line($r->{mail} eq 'c' && $r->{hdr} eq '' && $r->{eom} eq $want, $name,
                "got MAIL \"$r->{mail}\", header \"$r->{hdr}\", end of DATA \"" . show($r->{eom}) . '"',
                'want end of DATA "' . show($want) . '"');
    }

    # One byte more than libmilter takes: it closes the connection without
    # a reply, and the MTA applies milter_default_action (tempfail, as the
    # README says to set it). The daemon must live on and keep answering.
    my $too_big = $at_max . 'z';
    my $r = session($path, $POSTFIX, 'janed', '<janed@example.com>', [['From', $too_big]]);
    ok_line($r->{eom} eq 'closed' && ($r->{hdr} eq '' || $r->{hdr} eq 'closed'),
            'a From: one byte over what libmilter takes: connection closed, no verdict from the milter '
            . '(the MTA applies milter_default_action)',
            "got header \"$r->{hdr}\", end of DATA \"" . show($r->{eom}) . '"');
    $r = session($path, $POSTFIX, 'janed', '<janed@example.com>', [['From', $forged]]);
    ok_line(alive($pid) && $r->{eom} eq "y ${NOT_LOCAL}johnd\@company1.com",
            'after it the daemon lives and still decides (554 for a forged From:)',
            'daemon ' . (alive($pid) ? 'alive' : 'gone') . ", end of DATA \"$r->{eom}\"");
    $r = session($path, $POSTFIX, 'janed', '<janed@example.com>', [['From', 'janed@example.com']]);
    ok_line($r->{eom} eq 'c', 'and accepts an owned From:', "end of DATA \"$r->{eom}\"");
}

# --- a strace of the daemon ----------------------------------------------------------

# Every write-like system call in TRACE (strace -f -yy -xx -s BIG): a
# secret may go to a socket connected to LDAPI_PATH only.
sub mode_strace {
    my ($trace, $ldapi, @secrets) = @_;
    open(my $fh, '<', $trace) or die "hostile.pl: $trace: $!\n";
    my (%ldap_inode, $writes, $to_ldap, @leaks);
    my $unhex = sub { my $s = shift; $s =~ s/\\x([0-9a-f]{2})/chr hex $1/ge; $s };
    while (my $line = <$fh>) {
        if ($line =~ /\bconnect\(\d+<UNIX-STREAM:\[(\d+)\]>, \{sa_family=AF_UNIX, sun_path="([^"]*)"/) {
            $ldap_inode{$1} = 1 if $unhex->($2) eq $ldapi;
            next;
        }
        next unless $line =~ /^\d+\s+(write|writev|sendto|sendmsg|pwrite64)\((\d+)<([^>]*)>/;
        my ($call, $fd, $what) = ($1, $2, $unhex->($3));
        my $data = join '', map { $unhex->($_) } $line =~ /"((?:\\x[0-9a-f]{2})*)"/g;
        $writes++;
        for my $secret (@secrets) {
            next if index($data, $secret) < 0;
            my $inode = $what =~ /^UNIX-STREAM:\[(\d+)/ ? $1 : '';
            if ($inode ne '' && $ldap_inode{$inode}) { $to_ldap++ }
            else { push @leaks, "$call to fd $fd <" . show($what) . '>: ' . show(substr($data, 0, 200)) }
        }
    }
    ok_line($writes && $to_ldap && !@leaks,
            "strace: $writes writes; a secret went to the LDAP socket only (" . ($to_ldap // 0) . ' binds)',
            ($writes ? () : 'no write seen in the trace'), ($to_ldap ? () : 'no bind seen in the trace'),
            @leaks);
}

# --- main ----------------------------------------------------------------------------

my $mode = shift @ARGV // '';
if ($mode eq 'logins') {
    mode_logins(@ARGV);
} elsif ($mode eq 'addresses') {
    mode_addresses(@ARGV);
} elsif ($mode eq 'grants') {
    mode_grants(@ARGV);
} elsif ($mode eq 'headers') {
    mode_headers(@ARGV);
} elsif ($mode eq 'session') {
    my ($path, $login, $sender, $from) = @ARGV;
    my $r = session($path, $POSTFIX, decode($login), $sender,
                    defined $from ? [['From', decode($from)]] : []);
    print "mail $r->{mail}\neom $r->{eom}\n";
} elsif ($mode eq 'exercise') {
    # decisions of every kind: owner, not homed, not owned, hostile login,
    # a forged From:, an ambiguous login
    my $path = shift @ARGV;
    for my $m (['janed', '<janed@example.com>', 'Jane <jane.doe@example.com>'],
               ['johnd', '<JohnD@COMPANY1.com>', 'JohnD@COMPANY1.com'],
               ['janed', '<johnd@company1.com>'], ['*)(uid=*', '<janed@example.com>'],
               ['janed', '<janed@example.com>', 'John <johnd@company1.com>'],
               ['twin', '<twin@example.com>']) {
        my $r = session($path, $POSTFIX, $m->[0], $m->[1], defined $m->[2] ? [['From', $m->[2]]] : []);
        print "mail $r->{mail} eom $r->{eom}\n";
    }
} elsif ($mode eq 'strace') {
    mode_strace(@ARGV);
} else {
    die "usage: hostile.pl logins|addresses|grants|headers|session|exercise|strace ...\n";
}
print "done\n";
exit 0;

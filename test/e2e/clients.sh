# clients.sh - a real mail client through the private Postfix (sourced by run.sh)
#
# s-nail, with its own SMTP client and SMTP AUTH PLAIN as janed, sends
# through the second smtpd (PF_REMOTE_PORT, headers as the client wrote
# them) what a user types: a From: with a non-ASCII name, a non-ASCII
# Subject and body, which s-nail encodes itself (RFC 2047 words, quoted-
# printable or 8-bit). The owner's messages must arrive with the encoding
# intact; forged ones must be refused, and s-nail must show the user the
# 554 5.7.1 reply. Uses run.sh's helpers and bookkeeping (ACCEPTED,
# BASE/refused, log_mark, logged_now, skip_part) and its variables
# (BASE, PF_DIR, MILTER_DIR, MILTER_LOG, PF_REMOTE_PORT).
#
# clients_postfix      the s-nail cases, or one skipped test point (a
#                      failure under CI=true) when s-nail or the Perl
#                      MIME modules are missing
: "${SNAIL:=$(command -v s-nail || echo /usr/bin/s-nail)}"

# snail NAME [S-NAIL ARGS...]: s-nail sends the text in SNAIL_BODY (a
# file) to bob@example.org as janed, with "X-E2E-Id: e2e-client NAME PID"
# to find the message in the sink; SNAIL_RC and SNAIL_OUT (its stdout and
# stderr) tell what happened
snail() {
    log_mark
    SNAIL_ID="e2e-client $1 $$"
    _n=$1
    shift
    mkdir -p "$BASE/snail-home"
    # -:/ reads no resource file; sendwait makes the exit status the SMTP
    # outcome; nosave keeps a refused message out of ~/dead.letter.
    env HOME="$BASE/snail-home" LC_ALL=C.UTF-8 timeout 60 "$SNAIL" -:/ \
        -S v15-compat=yes -S "mta=smtp://127.0.0.1:$PF_REMOTE_PORT" \
        -S smtp-auth=plain -S user=janed -S password=pw-janed \
        -S ttycharset=utf-8 -S sendcharsets=utf-8 -S sendwait -S nosave \
        -C "X-E2E-Id: $SNAIL_ID" "$@" bob@example.org \
        <"$SNAIL_BODY" >"$MILTER_DIR/$_n.snail" 2>&1
    SNAIL_RC=$?
    SNAIL_OUT=$(cat "$MILTER_DIR/$_n.snail")
}

# snail_file: the sink's copy of the message s-nail sent last
snail_file() { grep -rlF -- "X-E2E-Id: $SNAIL_ID" "$PF_DIR/sink" | head -1; }

# mime FILE WHAT: from the message in FILE, the Subject or From field
# decoded (RFC 2047), the raw Subject line, the Content-Transfer-Encoding,
# or the body decoded (quoted-printable or as is); UTF-8 out
mime() {
    perl -MEncode -MMIME::QuotedPrint -e '
        my ($file, $what) = @ARGV;
        open my $fh, "<", $file or exit 1;
        local $/;
        my $msg = <$fh>;
        $msg =~ s/\r\n/\n/g;
        my ($head, $body) = split /\n\n/, $msg, 2;
        $head =~ s/\n[ \t]+/ /g;    # unfold
        my %h;
        for (split /\n/, $head) { $h{lc $1} //= $2 if /^([^:]+):\s*(.*)$/ }
        binmode STDOUT, ":utf8";
        if ($what eq "raw-subject") { print $h{subject}, "\n" }
        elsif ($what eq "cte") { print lc($h{"content-transfer-encoding"} // "7bit"), "\n" }
        elsif ($what eq "body") {
            $body = decode_qp($body)
                if lc($h{"content-transfer-encoding"} // "") eq "quoted-printable";
            print decode("UTF-8", $body);
        } else { print decode("MIME-Header", $h{lc $what}), "\n" }
    ' "$1" "$2"
}

clients_postfix() {
    if ! [ -x "$SNAIL" ]; then
        skip_part "mail client cases" "s-nail is not installed"
        return 0
    fi
    if ! perl -MEncode -MMIME::QuotedPrint -e 1 2>/dev/null; then
        skip_part "mail client cases" "perl's Encode and MIME::QuotedPrint are missing"
        return 0
    fi
    diag "$("$SNAIL" -:/ -Xversion -Xx 2>&1 | head -1)"
    _name='Jäne Döe'
    _subject='Grüße aus Köln – Ärger über Öl'
    _text='Grüße aus Köln. Das Wetter ist schön, 20 °C; ½ € für Äpfel.'
    SNAIL_BODY=$BASE/snail-body
    printf '%s\n' "$_text" > "$SNAIL_BODY"

    # The owner, the client's own choice of body encoding.
    snail snail-owned -S "from=$_name <janed@example.com>" -s "$_subject"
    is "$SNAIL_RC" 0 "s-nail, janed as '$_name <janed@example.com>': s-nail exits 0"
    [ "$SNAIL_RC" = 0 ] || diag "$SNAIL_OUT"
    ACCEPTED=$((ACCEPTED + 1))
    ok_if "s-nail, janed: delivered to the sink" postfix_sink_wait "X-E2E-Id: $SNAIL_ID"
    _f=$(snail_file)
    _f=${_f:-/dev/null}
    like "$(mime "$_f" raw-subject)" '^[ -~]*=\?[Uu][Tt][Ff]-8\?[BbQq]\?[ -~]*$' \
        "s-nail, janed: the Subject arrives as s-nail encoded it (ASCII, RFC 2047 words)"
    is "$(mime "$_f" subject)" "$_subject" "s-nail, janed: the Subject decodes to what was typed"
    is "$(mime "$_f" from)" "$_name <janed@example.com>" "s-nail, janed: the From: decodes to what was typed"
    is "$(mime "$_f" body)" "$_text" "s-nail, janed: the body decodes to what was typed ($(mime "$_f" cte))"
    logged_now postfix "s-nail, janed" "login=janed sender=janed@example.com accept reason=owned stage=mail"

    # The same with an 8-bit body (the Postfix side offers 8BITMIME).
    snail snail-8bit -S mime-encoding=8bit \
        -S "from=$_name <janed@example.com>" -s "$_subject"
    is "$SNAIL_RC" 0 "s-nail, janed, 8-bit body: s-nail exits 0"
    ACCEPTED=$((ACCEPTED + 1))
    ok_if "s-nail, janed, 8-bit body: delivered to the sink" postfix_sink_wait "X-E2E-Id: $SNAIL_ID"
    _f=$(snail_file)
    _f=${_f:-/dev/null}
    is "$(mime "$_f" cte) $(mime "$_f" body)" "8bit $_text" \
        "s-nail, janed, 8-bit body: delivered 8-bit and unchanged"

    # Forged: another person's address. s-nail takes it for MAIL FROM too.
    snail snail-forged -S 'from=Alice <alice@example.com>' -s "$_subject"
    printf '%s\n' "$SNAIL_ID" >> "$BASE/refused"
    ok_if "s-nail, janed as alice@example.com: s-nail exits non-zero" [ "$SNAIL_RC" != 0 ]
    like "$SNAIL_OUT" '^s-nail: SMTP server: 554 5\.7\.1 Mailbox is not local: alice@example\.com$' \
        "s-nail, janed as alice@example.com: s-nail shows the 554 5.7.1 reply"
    logged_now postfix "s-nail, janed as alice" "login=janed sender=alice@example.com reject reason=not-owned stage=mail"

    # Forged in the display name only: her own envelope and mailbox, a name
    # that shows alice's address. s-nail quotes the name and encodes it in
    # two words with the quotes inside; readers join such words
    # differently (Python only within one quoted string), so the field is
    # malformed: still the 554, naming the field as s-nail wrote it.
    snail snail-forged-name \
        -S 'from=Älice alice＠example.com <janed@example.com>' -s "$_subject"
    printf '%s\n' "$SNAIL_ID" >> "$BASE/refused"
    ok_if "s-nail, a display name showing alice＠example.com: s-nail exits non-zero" [ "$SNAIL_RC" != 0 ]
    like "$SNAIL_OUT" '^s-nail: SMTP server: 554 5\.7\.1 Mailbox is not local: =\?utf-8\?Q\?"=C3=84lice\?=' \
        "s-nail, a display name showing alice＠example.com: s-nail shows the 554 5.7.1 reply"
    logged_now postfix "s-nail, display name" "reject reason=malformed stage=header"

    # A name s-nail writes as one encoded word, showing alice's address:
    # the 554 names her address.
    snail snail-forged-name1 -S 'from=Älice＠example.com <janed@example.com>' -s "$_subject"
    printf '%s\n' "$SNAIL_ID" >> "$BASE/refused"
    ok_if "s-nail, a name 'Älice＠example.com': s-nail exits non-zero" [ "$SNAIL_RC" != 0 ]
    like "$SNAIL_OUT" '^s-nail: SMTP server: 554 5\.7\.1 Mailbox is not local: \?\?lice@example\.com$' \
        "s-nail, a name 'Älice＠example.com': s-nail shows the 554 naming the address (8-bit as ?)"
    logged_now postfix "s-nail, one-word name" "reject reason=not-owned stage=header in=name"
}

-- shown.lua - From: and Sender: read as the recipient's mail client shows them
--
--   miltertest -D lib=DIR -D dir=WORKDIR -D phase=up -s shown.lua
--
-- Every case is janed (janed@example.com, alias jane.doe@example.com, in
-- etc/example.ldif) submitting with her own envelope sender, so that only
-- the header field decides. The daemons (run.sh starts them):
--   main        defaults: policy.display_names = "check", no extension
--               delimiter, enforce
--   names       policy.display_names = "ignore"
--   plus        policy.extension_delimiter = "+"
--   report      policy.mode = "report"
--   reportbare  policy.mode = "report", policy.header_fields = []
--
-- What clients read differently is malformed: 554 naming the whole field
-- value as written (one pair of enclosing angle brackets dropped, as for
-- every address a reply names). What a display name or a comment shows
-- must be owned too: 554 naming that address.
dofile(lib .. "/common.lua")

local NOT_LOCAL = "Mailbox is not local: "
local function r554(shown) return { "554", "5.7.1", NOT_LOCAL .. shown } end

-- janed's message with one From: field of VALUE
local function from(value, t)
    t.login = "janed"
    t.sender = "<janed@example.com>"
    t.headers = t.headers or { { "From", value } }
    return t
end

-- the field VALUE is malformed: 554 naming SHOWN (default VALUE itself)
local function malformed(name, value, shown, daemon)
    return from(value, {
        name = name, daemon = daemon, eom = r554(shown or value),
        log = { "login=janed From=" .. (shown or value) .. " reject reason=malformed stage=header" } })
end

-- the field shows ADDRESS, which is not janed's: 554 naming it
local function shows(name, value, address, daemon, mailbox)
    return from(value, {
        name = name, daemon = daemon, eom = r554(address),
        log = { "login=janed From=" .. address .. " reject reason=not-owned stage=header" ..
                (mailbox and "" or " in=name") } })
end

local function accepted(name, value, daemon)
    return from(value, { name = name, daemon = daemon, nolog = { " reject " } })
end

local REPORT = "X-Homed-Milter"

local cases = {
    -- --- a comment inside an address ---------------------------------------------
    malformed("comment holding '\"' inside an angle-addr (Thunderbird reads quotes): malformed",
              'Jane Doe <jane(").doe(")@example.com>'),
    malformed("comment holding '\"' in a bare angle-addr: malformed, named without the brackets",
              '<(")janed+.(")alice@example.com>', '(")janed+.(")alice@example.com'),
    malformed("comment holding a quoted-pair ('\\') inside an addr-spec: malformed",
              'janed(a\\(b)@example.com'),
    malformed("comment holding '[' inside an addr-spec: malformed", 'janed([)@example.com'),
    malformed("comment holding ']' inside an addr-spec: malformed", 'janed(])@example.com'),
    malformed("comment holding '<' inside an addr-spec: malformed", 'janed(<)@example.com'),
    malformed("comment holding '>' inside an angle-addr: malformed",
              'Jane <janed(>)@example.com>'),
    malformed("comment holding '@' inside an addr-spec: malformed",
              'jane.doe(@example.org)@example.com'),
    malformed("comment holding an encoded word inside an addr-spec: malformed",
              'janed(=?utf-8?q?x?=)@example.com'),
    malformed("a plain comment inside an addr-spec (Thunderbird keeps a blank there): malformed",
              'janed(work)@example.com'),
    malformed("white space inside an addr-spec (jane. doe): malformed", 'jane. doe@example.com'),
    malformed("a domain literal: malformed", 'Jane <janed@[192.0.2.1]>'),
    malformed("an encoded word holding '<' and '@' (RFC 2047 allows none in a name): malformed",
              '=?utf-8?q?<alice@example.com>?= <janed@example.com>'),
    shows("an encoded word decoding to '<alice@...>': named",
          '=?utf-8?q?=3Calice=40example.com=3E?= <janed@example.com>', "alice@example.com"),
    malformed("an encoded word holding a parenthesis (Python ends a comment there): malformed",
              'janed@example.com (=?utf-8?q?)?=)'),
    malformed("a comment holding an unbalanced quote (Thunderbird's quote runs on): malformed",
              'janed@example.com (Q."), John <alice@example.com>, Doe ";) x" <jane.doe@example.com>'),
    accepted("s-nail's encoding of a quoted non-ASCII name (quotes inside encoded words)",
             '=?utf-8?Q?"J=C3=A4ne?= JD =?utf-8?B?RMO2ZSI=?= <janed@example.com>'),
    malformed("an encoded word joined to other text (Python leaves it): malformed",
              '=?utf-8?q?alice=40example.com?=x <janed@example.com>'),
    accepted("a comment after the addr-spec: accepted", 'janed@example.com (work)'),
    accepted("a plain comment after the angle-addr: accepted", 'Jane <janed@example.com> (work)'),

    -- --- source routes, encoded words in an address, groups ---------------------------
    malformed("source route (Thunderbird shows two senders): malformed",
              '<@route,@x:janed@example.com>', '@route,@x:janed@example.com'),
    malformed("source route after a display name: malformed",
              'Jane <@route:janed@example.com>'),
    malformed("encoded word in a local part: malformed", 'janed+=?utf-8?q?alice?=@example.com'),
    malformed("quoted encoded word as the local part (Python decodes it): malformed",
              '"=?utf-8?q?alice?="@example.com'),
    malformed("encoded word in a domain: malformed", 'janed@=?utf-8?q?example?=.com'),
    malformed("group in From: (mutt shows its name as the author): malformed",
              '"alice@example.com": janed@example.com;'),
    malformed("empty group in From: malformed", 'undisclosed-recipients:;'),
    { name = "group in Sender: malformed",
      login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "janed@example.com" }, { "Sender", '"alice@example.com": janed@example.com;' } },
      eom = r554('"alice@example.com": janed@example.com;'),
      log = { 'login=janed Sender="alice@example.com": janed@example.com; reject reason=malformed stage=header' } },

    -- --- empty fields ----------------------------------------------------------------
    { name = "empty From: refused naming 'From:'",
      login = "janed", sender = "<janed@example.com>", headers = { { "From", "" } },
      eom = r554("From:"), log = { "reject reason=malformed stage=header" } },
    { name = "blank From: (white space only) refused naming 'From:'",
      login = "janed", sender = "<janed@example.com>", headers = { { "From", "  \t" } },
      eom = r554("From:") },
    { name = "empty Sender: after a good From: refused naming 'Sender:'",
      login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "janed@example.com" }, { "Sender", "" } }, eom = r554("Sender:") },

    -- --- display names and comments shown as names (display_names = "check") ----------
    shows("quoted display name holding another address: named", '"alice@example.com" <janed@example.com>',
          "alice@example.com"),
    shows("encoded display name (Q) decoding to 'Alice <alice@example.com>': named",
          '=?utf-8?q?Alice_=3Calice=40example=2Ecom=3E?= <janed@example.com>', "alice@example.com"),
    shows("encoded display name (B) decoding to an address: named",
          '=?utf-8?b?YWxpY2VAZXhhbXBsZS5jb20=?= <janed@example.com>', "alice@example.com"),
    shows("comment shown as the name (janed@ (Bob <bob@...>)): named", 'janed@example.com (Bob <bob@example.org>)',
          "bob@example.org"),
    shows("comment inside the display name showing an address: named",
          'Jane (Bob <bob@example.org>) <janed@example.com>', "bob@example.org"),
    shows("unquoted address before the angle-addr is its display name: named",
          'alice@example.com <janed@example.com>', "alice@example.com"),
    shows("fullwidth at sign in a display name (U+FF20) shows an address: named",
          'alice\239\188\160example.com <janed@example.com>', "alice@example.com"),
    shows("second mailbox of a list with a foreign display name: named",
          'Jane <janed@example.com>, "alice@example.com" <jane.doe@example.com>', "alice@example.com"),
    accepted("unquoted own address as its own display name: one mailbox, accepted",
             'janed@example.com <janed@example.com>'),
    accepted("display name showing the owner's other address: accepted",
             '"jane.doe@example.com" <janed@example.com>'),
    accepted("non-ASCII encoded display name without an address: accepted",
             '=?utf-8?q?J=C3=A4ne_D=C3=B6e?= <janed@example.com>'),
    { name = "Sender: with a foreign display name: named",
      login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "janed@example.com" }, { "Sender", '"bob@example.org" <jane.doe@example.com>' } },
      eom = r554("bob@example.org"),
      log = { "login=janed Sender=bob@example.org reject reason=not-owned stage=header" } },

    -- --- display_names = "ignore" -----------------------------------------------------------
    accepted("display_names = ignore: quoted display name holding another address accepted",
             '"alice@example.com" <janed@example.com>', "names"),
    accepted("display_names = ignore: encoded display name decoding to an address accepted",
             '=?utf-8?q?Alice_=3Calice=40example=2Ecom=3E?= <janed@example.com>', "names"),
    accepted("display_names = ignore: comment shown as the name accepted",
             'janed@example.com (Bob <bob@example.org>)', "names"),
    accepted("display_names = ignore: unquoted foreign address before the angle-addr accepted",
             'alice@example.com <janed@example.com>', "names"),
    malformed("display_names = ignore: a comment holding '\"' inside an address still malformed",
              'Jane Doe <jane(").doe(")@example.com>', nil, "names"),
    malformed("display_names = ignore: a group in From: still malformed",
              '"alice@example.com": janed@example.com;', nil, "names"),
    shows("display_names = ignore: the mailbox itself still checked",
          '"janed@example.com" <alice@example.com>', "alice@example.com", "names", true),

    -- --- extensions (policy.extension_delimiter = "+") --------------------------------------
    malformed("extension_delimiter '+': an extension holding '@' and quotes is malformed",
              '"janed+JohnD@COMPANY1.com"@example.com', nil, "plus"),
    malformed("extension_delimiter '+': an extension holding white space is malformed",
              '"janed+x y"@example.com', nil, "plus"),
    accepted("extension_delimiter '+': a plain extension of the owner's address is accepted",
             'Jane <janed+lists@example.com>', "plus"),
    from('"janed+JohnD@COMPANY1.com"@example.com', {
        name = "no extension delimiter: the same quoted local part is just not janed's (not-owned)",
        eom = r554('"janed+JohnD@COMPANY1.com"@example.com'),
        log = { "reject reason=not-owned stage=header" } }),

    -- --- the report header --------------------------------------------------------------
    from("alice@example.com", {
        name = "report mode: the client's two " .. REPORT .. " fields are deleted and the milter's own added",
        daemon = "report",
        headers = { { REPORT, "accept reason=owned address=alice@example.com" }, { "From", "alice@example.com" },
                    { REPORT, "accept reason=owned" } },
        hdrdelete = REPORT,
        hdradd = { REPORT, "reject reason=not-owned address=alice@example.com" },
        log = { "login=janed From=alice@example.com report reject reason=not-owned stage=header" } }),
    from("janed@example.com", {
        name = "report mode, owner: the client's " .. REPORT .. " field is deleted, none added",
        daemon = "report",
        headers = { { "x-homed-milter", "reject reason=not-owned address=x@example.org" },
                    { "From", "janed@example.com" } },
        hdrdelete = REPORT, nohdradd = REPORT }),
    from("janed@example.com", {
        name = "report mode, no client copy: nothing deleted, nothing added",
        daemon = "report", nohdrchange = true, nohdradd = REPORT }),
    from('"alice@example.com" <janed@example.com>', {
        name = "report mode: a foreign display name is reported, not refused",
        daemon = "report",
        hdradd = { REPORT, "reject reason=not-owned address=alice@example.com" } }),
    from('Jane Doe <jane(").doe(")@example.com>', {
        name = "report mode: a malformed From: is reported naming the field",
        daemon = "report",
        hdradd = { REPORT, 'reject reason=malformed address=Jane Doe <jane(").doe(")@example.com>' },
        log = { "report reject reason=malformed stage=header" } }),
    from("janed@example.com", {
        name = "enforce mode: a client's " .. REPORT .. " field is left alone",
        headers = { { REPORT, "accept reason=owned" }, { "From", "janed@example.com" } },
        nohdrchange = true, nohdradd = REPORT }),
    { name = "report mode, header_fields = []: headers still read, the client's copy deleted, From: unchecked",
      daemon = "reportbare",
      run = function()
          local conn = connect("reportbare", POSTFIX)
          if mt.test_option(conn, SMFIP_NOHDRS) then
              fail("SMFIP_NOHDRS negotiated: the client's report header would stay")
          end
          message(conn, from("alice@example.com", {
              headers = { { "From", "alice@example.com" }, { REPORT, "accept reason=owned" } },
              hdrdelete = REPORT, nohdradd = REPORT }))
          disconnect(conn)
      end },
}

run_cases(cases)

-- decisions.lua - the decisions of homed-milter(8) DESCRIPTION and the policy.*
-- keys of homed-milter.conf(5), one message per case
--
--   miltertest -D lib=DIR -D dir=WORKDIR -D phase=PHASE -s decisions.lua
--
-- The daemons (run.sh starts them, one socket and log each under WORKDIR):
--   main       defaults: enforce, From+Sender, unauthenticated accept,
--              on_directory_error tempfail
--   unauth     policy.unauthenticated = "reject"
--   report     policy.mode = "report"
--   erraccept  policy.on_directory_error = "accept"
--   errreject  policy.on_directory_error = "reject"
--   noheaders  policy.header_fields = []
--   hup        reloaded by run.sh between the hup* phases
-- Phases: up (slapd running), hup1/hup2/hup3 (see run.sh), down (slapd
-- stopped), back (slapd started again).
dofile(lib .. "/common.lua")

local NOT_LOCAL = "Mailbox is not local: "
local function r554(address) return { "554", "5.7.1", NOT_LOCAL .. address } end

local cases = {
    -- --- negotiation ----------------------------------------------------------
    { name = "negotiation: connect, HELO, RCPT, DATA, EOH, body and unknown commands are negotiated away; headers kept, with no reply asked",
      run = function()
          local conn = connect("main", POSTFIX)
          for _, opt in ipairs({ "SMFIP_NOCONNECT", "SMFIP_NOHELO", "SMFIP_NORCPT", "SMFIP_NODATA", "SMFIP_NOEOH",
                                 "SMFIP_NOBODY", "SMFIP_NOUNKNOWN" }) do
              if _G[opt] ~= nil and not mt.test_option(conn, _G[opt]) then
                  fail("%s not negotiated", opt)
              end
          end
          if mt.test_option(conn, SMFIP_NOHDRS) then fail("SMFIP_NOHDRS negotiated: From: would go unchecked") end
          if not mt.test_option(conn, SMFIP_NR_HDR) then fail("SMFIP_NR_HDR not negotiated: the MTA waits for a reply to each header") end
          if mt.test_option(conn, SMFIP_NOMAIL) then fail("SMFIP_NOMAIL negotiated") end
          if mt.test_option(conn, SMFIP_NR_MAIL) ~= EOD then
              fail("SMFIP_NR_MAIL %s", EOD and "not negotiated (decide_at = end-of-data)" or "negotiated")
          end
          -- miltertest exports no SMFIF_*: report mode adds its header
          -- (ADDHDRS) and removes the copies a client sent (CHGHDRS)
          local SMFIF_ADDHDRS, SMFIF_CHGHDRS = 0x01, 0x10
          if not mt.test_action(conn, SMFIF_ADDHDRS) then fail("SMFIF_ADDHDRS not requested") end
          if not mt.test_action(conn, SMFIF_CHGHDRS) then fail("SMFIF_CHGHDRS not requested") end
          disconnect(conn)
      end },

    -- --- not authenticated --------------------------------------------------
    { name = "unauthenticated, unauthenticated = accept (default): accepted at MAIL, no further callbacks",
      sender = "<johnd@company1.com>", mail = "accept",
      log = { "login=(none) sender=johnd@company1.com accept reason=unauthenticated stage=mail" } },
    { name = "unauthenticated, unauthenticated = reject: 554 at MAIL",
      daemon = "unauth", sender = "<janed@example.com>", mail = "reject",
      log = { "login=(none) sender=janed@example.com reject reason=unauthenticated stage=mail" } },
    { name = "unauthenticated = reject does not touch an authenticated owner",
      daemon = "unauth", login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "Jane Doe <janed@example.com>" } } },

    -- --- MAIL FROM: the login's entry -------------------------------------------
    { name = "login with no entry: 554 at MAIL",
      login = "nobody", sender = "<nobody@example.com>", mail = "reject",
      log = { "login=nobody sender=nobody@example.com reject reason=no-entry stage=mail" } },
    { name = "entry homed on another server (mailHost mail.company1.com): 554 at MAIL",
      login = "johnd", sender = "<JohnD@COMPANY1.com>", mail = "reject",
      log = { "login=johnd sender=JohnD@COMPANY1.com reject reason=not-homed stage=mail" } },
    { name = "entry homed elsewhere: even the null sender is refused at MAIL",
      login = "johnd", sender = "<>", mail = "reject",
      log = { "login=johnd sender=<> reject reason=not-homed stage=mail" } },
    { name = "entry without mailHost: 554 at MAIL",
      login = "nohome", sender = "<nohome@example.com>", mail = "reject",
      log = { "login=nohome sender=nohome@example.com reject reason=not-homed stage=mail" } },
    { name = "envelope sender not owned: 554 at MAIL, logged as homed-milter(8) LOGGING shows",
      login = "janed", sender = "<johnd@company1.com>", mail = "reject",
      log = { "NOQUEUE: login=janed sender=johnd@company1.com reject reason=not-owned stage=mail" } },
    { name = "envelope sender not owned, queue id known: the log line starts with it",
      login = "janed", qid = "4ABCDE1234", sender = "<johnd@company1.com>", mail = "reject",
      log = { "4ABCDE1234: login=janed sender=johnd@company1.com reject reason=not-owned stage=mail" } },
    -- "same local part, other domain": an address is owned only as a whole
    -- (homed-milter(8): "only as an address of its own entry")
    { name = "same local part, other domain: envelope janed@other.example refused, 554 5.7.1 naming it",
      login = "janed", sender = "<janed@other.example>", mail = "reject",
      mail_reply = { "554", "5.7.1", NOT_LOCAL .. "janed@other.example" },
      log = { "login=janed sender=janed@other.example reject reason=not-owned stage=mail" } },
    { name = "same local part, other domain: From: janed@other.example refused, 554 5.7.1 naming it",
      login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "Jane Doe <janed@other.example>" } }, eom = r554("janed@other.example"),
      log = { "login=janed From=janed@other.example reject reason=not-owned stage=header" } },
    { name = "same local part, other domain, alias: Sender: jane.doe@other.example refused",
      login = "janed", sender = "<jane.doe@example.com>",
      headers = { { "From", "jane.doe@example.com" }, { "Sender", "jane.doe@other.example" } },
      eom = r554("jane.doe@other.example") },
    { name = "login matching two entries (uid=twin twice): 451 at MAIL, logged as a directory error",
      login = "twin", sender = "<twin@example.com>", mail = "tempfail",
      log = { "login=twin sender=twin@example.com tempfail reason=directory-error stage=mail",
              "more than one entry" } },

    -- --- accepted --------------------------------------------------------------------
    { name = "owner: accepted at MAIL and at end of DATA",
      login = "janed", qid = "5BCDEF2345", sender = "<janed@example.com>",
      headers = { { "From", "Jane Doe <janed@example.com>" }, { "Subject", "hello" } },
      log = { "5BCDEF2345: login=janed sender=janed@example.com accept reason=owned stage=mail" } },
    { name = "alias (mailLocalAddress), other case: accepted",
      login = "janed", sender = "<JANE.DOE@Example.COM>",
      headers = { { "From", "\"Doe, Jane\" <jane.doe@EXAMPLE.com>" }, { "Sender", "JaneD@example.com" } } },
    { name = "alice: mailHost in upper case is local; three addresses in two domains",
      login = "alice", sender = "<alice@example.org>",
      headers = { { "From", "alice@example.com" }, { "Sender", "Alice <a.example@example.com>" } } },
    { name = "v macro sent with MAIL instead of the connection: still Postfix, login '+6Aaned' taken as is",
      login = "+6Aaned", mta = false, v_at_mail = POSTFIX, sender = "<janed@example.com>",
      mail = "reject", log = { "login=+6Aaned sender=janed@example.com reject reason=no-entry stage=mail" } },

    -- --- null sender ----------------------------------------------------------------------
    { name = "null sender: accepted at MAIL, a bad From: rejected at end of DATA naming it",
      login = "janed", sender = "<>",
      headers = { { "From", "John <johnd@company1.com>" } }, eom = r554("johnd@company1.com"),
      log = { "login=janed sender=<> accept reason=null-sender stage=mail",
              "login=janed From=johnd@company1.com reject reason=not-owned stage=header" } },
    { name = "null sender with an owned From: accepted",
      login = "janed", sender = "<>", headers = { { "From", "janed@example.com" } } },

    -- --- header addresses ---------------------------------------------------------------------
    { name = "From: not owned: 554 at end of DATA naming it as written",
      login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "John Doe <JohnD@COMPANY1.com>" } }, eom = r554("JohnD@COMPANY1.com"),
      log = { "login=janed From=JohnD@COMPANY1.com reject reason=not-owned stage=header" } },
    -- homed-milter(8), LOGGING: an accepted message is logged once, at the
    -- end of DATA, under the queue id Postfix gives only then; a MAIL-stage
    -- reject under NOQUEUE; the client as Postfix names it
    { name = "queue id only at end of DATA (Postfix): the accepted message is logged with it, once",
      login = "janed", eom_qid = "7DEF014567", sender = "<janed@example.com>",
      headers = { { "From", "Jane Doe <janed@example.com>" } },
      log = { "7DEF014567: login=janed sender=janed@example.com accept reason=owned stage=mail" },
      nolog = { "NOQUEUE: login=janed sender=janed@example.com", "accept reason=owned stage=header" } },
    { name = "the client named as Postfix does, from the macros the milter asks for",
      login = "janed", eom_qid = "8EF0125678", sender = "<janed@example.com>",
      client = { "laptop.example.com", "192.0.2.7" }, headers = { { "From", "janed@example.com" } },
      log = { "8EF0125678: client=laptop.example.com[192.0.2.7] login=janed sender=janed@example.com accept reason=owned stage=mail" } },
    { name = "a client without a name is unknown[ADDR]; a MAIL-stage reject is NOQUEUE",
      login = "janed", sender = "<JohnD@COMPANY1.com>", mail = "reject",
      client = { "", "2001:db8::7" },
      log = { "NOQUEUE: client=unknown[2001:db8::7] login=janed sender=JohnD@COMPANY1.com reject reason=not-owned stage=mail" } },
    { name = "queue id only at end of DATA (Postfix): the header reject is logged with it",
      login = "janed", eom_qid = "6CDEF03456", sender = "<janed@example.com>",
      headers = { { "From", "John Doe <JohnD@COMPANY1.com>" } }, eom = r554("JohnD@COMPANY1.com"),
      log = { "6CDEF03456: login=janed From=JohnD@COMPANY1.com reject reason=not-owned stage=header" } },
    { name = "three addresses in one From:, the bad one last: it is named",
      login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "janed@example.com, Jane <jane.doe@example.com>, alice@example.org" } },
      eom = r554("alice@example.org") },
    { name = "three From: fields, the bad one last: it is named",
      login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "janed@example.com" }, { "From", "Jane <jane.doe@example.com>" },
                  { "From", "John <johnd@company1.com>" } },
      eom = r554("johnd@company1.com") },
    -- RFC 5322 allows no group in From: or Sender:, and mutt shows the
    -- group's name as the author: malformed, named as the whole value
    { name = "group syntax in From: malformed, the whole field named",
      login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "Team: janed@example.com, JohnD@COMPANY1.com;" } },
      eom = r554("Team: janed@example.com, JohnD@COMPANY1.com;"),
      log = { "login=janed From=Team: janed@example.com, JohnD@COMPANY1.com; reject reason=malformed stage=header" } },
    { name = "group syntax in From: malformed even with owned members only",
      login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "Team: janed@example.com, \"Jane\" <jane.doe@example.com>;" } },
      eom = r554("Team: janed@example.com, \"Jane\" <jane.doe@example.com>;"),
      log = { "reject reason=malformed stage=header" } },
    { name = "Sender: is checked too",
      login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "janed@example.com" }, { "Sender", "alice@example.com" } },
      eom = r554("alice@example.com"),
      log = { "login=janed Sender=alice@example.com reject reason=not-owned stage=header" } },
    { name = "two bad fields: the first in message order is named",
      login = "janed", sender = "<janed@example.com>",
      headers = { { "Sender", "a.example@example.com" }, { "From", "johnd@company1.com" } },
      eom = r554("a.example@example.com") },
    { name = "field names compare case-insensitively (fRoM:)",
      login = "janed", sender = "<janed@example.com>",
      headers = { { "fRoM", "johnd@company1.com" } }, eom = r554("johnd@company1.com") },
    { name = "a field that is not configured (Reply-To:) is not checked",
      login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "janed@example.com" }, { "Reply-To", "johnd@company1.com" } } },
    { name = "a From: that is no address at all is refused, named as written",
      login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "Jane Doe" } }, eom = r554("Jane Doe") },
    { name = "the owner's good envelope does not excuse a bad From: of someone homed elsewhere",
      login = "alice", sender = "<alice@example.com>",
      headers = { { "From", "Alice <alice@example.com>" }, { "From", "JohnD@COMPANY1.com" } },
      eom = r554("JohnD@COMPANY1.com") },

    -- --- hostile and encoded logins ----------------------------------------------------------
    { name = "hostile login '*': no entry, 554 at MAIL",
      login = "*", sender = "<janed@example.com>", mail = "reject",
      log = { "login=* sender=janed@example.com reject reason=no-entry stage=mail" } },
    { name = "hostile login 'janed)(uid=*': no entry, 554 at MAIL",
      login = "janed)(uid=*", sender = "<janed@example.com>", mail = "reject",
      log = { "reason=no-entry stage=mail" } },
    { name = "hostile login 'janed*': no entry, 554 at MAIL",
      login = "janed*", sender = "<janed@example.com>", mail = "reject",
      log = { "reason=no-entry stage=mail" } },
    { name = "hostile login '*)(|(uid=*': no entry, 554 at MAIL",
      login = "*)(|(uid=*", sender = "<janed@example.com>", mail = "reject",
      log = { "reason=no-entry stage=mail" } },
    { name = "Sendmail (v 8.17.1.9): {auth_authen} '+6Aaned' is xtext for janed: accepted",
      mta = SENDMAIL, login = "+6Aaned", sender = "<janed@example.com>",
      headers = { { "From", "janed@example.com" } },
      log = { "login=janed sender=janed@example.com accept reason=owned stage=mail" } },
    { name = "no v macro at all: unknown MTA, taken literally ('+6Aaned' is not janed)",
      mta = false, login = "+6Aaned", sender = "<janed@example.com>", mail = "reject",
      log = { "login=+6Aaned sender=janed@example.com reject reason=no-entry stage=mail" } },
    { name = "{auth_type} without {auth_authen}: the MTA's macros are wrong, 451 at MAIL",
      auth_type_only = "PLAIN", sender = "<janed@example.com>", mail = "tempfail",
      log = { "sends {auth_type} but no {auth_authen}" } },
    { name = "Postfix: the same '+6Aaned' is taken literally: no entry, 554 at MAIL",
      login = "+6Aaned", sender = "<janed@example.com>", mail = "reject",
      log = { "login=+6Aaned sender=janed@example.com reject reason=no-entry stage=mail" } },
    { name = "Sendmail: xtext '+2A' (a '*') finds nobody: 554 at MAIL",
      mta = SENDMAIL, login = "+2A", sender = "<janed@example.com>", mail = "reject",
      log = { "login=* sender=janed@example.com reject reason=no-entry stage=mail" } },

    -- --- report mode -----------------------------------------------------------------------------
    { name = "report mode: envelope not owned is accepted, header added, logged as report",
      daemon = "report", login = "janed", sender = "<johnd@company1.com>",
      headers = { { "From", "janed@example.com" } },
      hdradd = { "X-Homed-Milter", "reject reason=not-owned address=johnd@company1.com" },
      log = { "login=janed sender=johnd@company1.com report reject reason=not-owned stage=mail" } },
    { name = "report mode: From: not owned is accepted with the header naming it",
      daemon = "report", login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "John <JohnD@COMPANY1.com>" } },
      hdradd = { "X-Homed-Milter", "reject reason=not-owned address=JohnD@COMPANY1.com" },
      log = { "login=janed From=JohnD@COMPANY1.com report reject reason=not-owned stage=header" } },
    { name = "report mode: login homed elsewhere is accepted with the header",
      daemon = "report", login = "johnd", sender = "<JohnD@COMPANY1.com>",
      headers = { { "From", "JohnD@COMPANY1.com" } },
      hdradd = { "X-Homed-Milter", "reject reason=not-homed address=JohnD@COMPANY1.com" } },
    -- homed-milter(8), -q: the verdict is "the first that is not accept";
    -- report mode tells what would have been done (homed-milter.conf(5),
    -- policy.mode), so its header names the first failing address
    { name = "report mode: envelope and From: both forged: the header names the first, the envelope sender",
      daemon = "report", login = "janed", sender = "<johnd@company1.com>",
      headers = { { "From", "Alice <alice@example.com>" } },
      hdradd = { "X-Homed-Milter", "reject reason=not-owned address=johnd@company1.com" },
      log = { "login=janed sender=johnd@company1.com report reject reason=not-owned stage=mail",
              "login=janed From=alice@example.com report reject reason=not-owned stage=header" } },
    { name = "report mode: envelope, From: and Sender: forged, for different reasons: the envelope sender is named",
      daemon = "report", login = "janed", sender = "<alice@example.org>",
      headers = { { "From", "Team: janed@example.com;" }, { "Sender", "johnd@company1.com" } },
      hdradd = { "X-Homed-Milter", "reject reason=not-owned address=alice@example.org" },
      log = { "From=Team: janed@example.com; report reject reason=malformed stage=header",
              "Sender=johnd@company1.com report reject reason=not-owned stage=header" } },
    { name = "report mode: From: then Sender: forged: the header names the From: address",
      daemon = "report", login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "johnd@company1.com" }, { "Sender", "alice@example.com" } },
      hdradd = { "X-Homed-Milter", "reject reason=not-owned address=johnd@company1.com" },
      log = { "login=janed From=johnd@company1.com report reject reason=not-owned stage=header",
              "login=janed Sender=alice@example.com report reject reason=not-owned stage=header" } },
    { name = "report mode: two forged addresses in one From: the header names the first",
      daemon = "report", login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "John <johnd@company1.com>, alice@example.com" } },
      hdradd = { "X-Homed-Milter", "reject reason=not-owned address=johnd@company1.com" },
      log = { "login=janed From=alice@example.com report reject reason=not-owned stage=header" } },
    { name = "report mode: an owned From:, then a malformed Sender: the header names the Sender: value",
      daemon = "report", login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "janed@example.com" }, { "Sender", "Jane <janed@example.com" } },
      hdradd = { "X-Homed-Milter", "reject reason=malformed address=Jane <janed@example.com" } },
    { name = "report mode: an owner's message gets no header",
      daemon = "report", login = "janed", sender = "<janed@example.com>",
      headers = { { "From", "janed@example.com" } }, nohdradd = "X-Homed-Milter" },
    { name = "report mode: directory errors still follow on_directory_error (451 for twin)",
      daemon = "report", login = "twin", sender = "<twin@example.com>", mail = "tempfail" },

    -- --- header_fields = [] ----------------------------------------------------------------------
    { name = "header_fields = []: headers negotiated away, envelope still checked",
      daemon = "noheaders", login = "janed", sender = "<johnd@company1.com>", mail = "reject",
      run = function(t)
          local conn = connect("noheaders", POSTFIX)
          if not mt.test_option(conn, SMFIP_NOHDRS) then fail("SMFIP_NOHDRS not negotiated") end
          message(conn, t)
          message(conn, { login = "janed", sender = "<janed@example.com>" })
          disconnect(conn)
      end },

    -- --- HUP (run.sh reloads the hup daemon between these phases) -------------------------------
    { phase = "hup1", daemon = "hup", name = "before any reload: the configured reject_text",
      login = "janed", sender = "<janed@example.com>", headers = { { "From", "JohnD@COMPANY1.com" } },
      eom = r554("JohnD@COMPANY1.com") },
    { phase = "hup2", daemon = "hup", name = "HUP with a broken file: still the old reject_text",
      login = "janed", sender = "<janed@example.com>", headers = { { "From", "JohnD@COMPANY1.com" } },
      eom = r554("JohnD@COMPANY1.com") },
    { phase = "hup2", daemon = "hup", name = "HUP with a broken file: still accepts the owner",
      login = "janed", sender = "<janed@example.com>", headers = { { "From", "janed@example.com" } } },

    -- --- directory down (run.sh stopped slapd) ---------------------------------------------------
    { phase = "down", name = "slapd stopped, on_directory_error = tempfail (default): 451 at MAIL",
      login = "janed", sender = "<janed@example.com>", mail = "tempfail",
      log = { "login=janed sender=janed@example.com tempfail reason=directory-error stage=mail error=" } },
    { phase = "down", name = "slapd stopped: unauthenticated mail is still accepted (no lookup)",
      sender = "<janed@example.com>", mail = "accept" },
    { phase = "down", daemon = "erraccept", name = "slapd stopped, on_directory_error = accept: accepted at MAIL and end of DATA",
      login = "janed", sender = "<johnd@company1.com>", headers = { { "From", "johnd@company1.com" } },
      log = { "login=janed sender=johnd@company1.com accept reason=directory-error stage=mail" } },
    { phase = "down", daemon = "errreject", name = "slapd stopped, on_directory_error = reject: 554 at MAIL",
      login = "janed", sender = "<janed@example.com>", mail = "reject",
      log = { "login=janed sender=janed@example.com reject reason=directory-error stage=mail" } },
    { phase = "down", daemon = "report", name = "slapd stopped, report mode: still 451 (on_directory_error)",
      login = "janed", sender = "<janed@example.com>", mail = "tempfail" },
    { phase = "back", name = "slapd started again: the daemon reconnects, owner accepted",
      login = "janed", sender = "<janed@example.com>", headers = { { "From", "janed@example.com" } } },
    { phase = "back", name = "slapd started again: not-owned refused again",
      login = "janed", sender = "<janed@example.com>", headers = { { "From", "johnd@company1.com" } },
      eom = r554("johnd@company1.com") },
}

run_cases(cases)

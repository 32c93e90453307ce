-- eod.lua - policy.decide_at = "end-of-data" (homed-milter.conf(5)): what the
-- decision table (decisions.lua with -D eod=1) does not show
--
--   miltertest -D lib=DIR -D dir=WORKDIR -D phase=up -D eod=1 -s eod.lua
--
-- Daemons (run.sh): main_eod, unauth_eod (unauthenticated = reject),
-- nomailaddr_eod (meets an MTA that sends no {mail_addr}),
-- eight_undeclared_eod (eight_bit.undeclared = "reject").
dofile(lib .. "/common.lua")

local function r554(address) return { "554", "5.7.1", "Mailbox is not local: " .. address } end
local ALL_STEPS = 0x1FFFFF
local SMFIF_ADDHDRS, SMFIF_CHGHDRS, SMFIF_SETSYMLIST = 0x01, 0x10, 0x100

-- at_mail(conn, t): message t on CONN as decided at MAIL FROM (a connection
-- the daemon fell back on)
local function at_mail(conn, t)
    EOD = false
    local ok, err = pcall(message, conn, t)
    EOD = true
    if not ok then error(err, 0) end
end

local cases = {
    { name = "negotiation: MAIL negotiated away, headers without replies, no body, RCPT, connect, HELO, DATA or EOH",
      run = function()
          local conn = connect("main", POSTFIX)
          for _, opt in ipairs({ "NOMAIL", "NR_HDR", "NOBODY", "NORCPT", "NOCONNECT", "NOHELO", "NODATA", "NOEOH" }) do
              if not mt.test_option(conn, _G["SMFIP_" .. opt]) then fail("SMFIP_%s not negotiated", opt) end
          end
          if mt.test_option(conn, SMFIP_NR_MAIL) then fail("SMFIP_NR_MAIL negotiated (MAIL is not sent at all)") end
          disconnect(conn)
      end },
    { name = "two messages and an unauthenticated one on one connection: nothing of one stays for the next",
      run = function()
          local conn = connect("main", POSTFIX)
          message(conn, { login = "janed", sender = "<janed@example.com>",
                          headers = { { "From", "John <JohnD@COMPANY1.com>" } }, eom = r554("JohnD@COMPANY1.com") })
          message(conn, { login = "janed", sender = "<jane.doe@example.com>",
                          headers = { { "From", "Jane <janed@example.com>" } } })
          message(conn, { sender = "<johnd@company1.com>", headers = { { "From", "johnd@company1.com" } } })
          message(conn, { login = "alice", sender = "<alice@example.com>",
                          headers = { { "Sender", "janed@example.com" } }, eom = r554("janed@example.com") })
          disconnect(conn)
      end,
      log = { "login=janed From=JohnD@COMPANY1.com reject reason=not-owned stage=end-of-data",
              "login=janed sender=jane.doe@example.com accept reason=owned stage=end-of-data",
              "login=(none) sender=johnd@company1.com accept reason=unauthenticated stage=end-of-data",
              "login=alice Sender=janed@example.com reject reason=not-owned stage=end-of-data" } },
    { name = "a forged envelope and a forged From: the envelope sender is named, at end of DATA",
      login = "janed", sender = "<alice@example.org>", headers = { { "From", "johnd@company1.com" } },
      eom = r554("alice@example.org"),
      log = { "login=janed sender=alice@example.org reject reason=not-owned stage=end-of-data" },
      nolog = { "From=johnd@company1.com" } },
    { name = "unauthenticated = reject: 554 at end of DATA",
      daemon = "unauth", sender = "<janed@example.com>", headers = { { "From", "janed@example.com" } },
      eom = { "554", "5.7.1", "Authentication required to submit mail" },
      log = { "login=(none) sender=janed@example.com reject reason=unauthenticated stage=end-of-data" } },
    -- An MTA that cannot do what the mode needs: its connections are
    -- decided at MAIL FROM, and the log says why, once
    { name = "an MTA that cannot leave out MAIL (no SMFIP_NOMAIL): decided at MAIL FROM, said once",
      run = function()
          for i = 1, 2 do
              local conn = connect("main", POSTFIX, ALL_STEPS - SMFIP_NOMAIL)
              if mt.test_option(conn, SMFIP_NOMAIL) then fail("SMFIP_NOMAIL negotiated though not offered") end
              at_mail(conn, { login = "janed", sender = "<johnd@company1.com>", mail = "reject" })
              disconnect(conn)
          end
          local said = select(2, string.gsub(log_since("main", 0), "is not possible with this MTA", ""))
          if said ~= 1 then fail("the fallback was logged %d times, want once", said) end
      end,
      log = { "policy.decide_at = \"end-of-data\" is not possible with this MTA: it cannot leave out the MAIL step (SMFIP_NOMAIL); its connections are decided at MAIL FROM",
              "login=janed sender=johnd@company1.com reject reason=not-owned stage=mail" } },
    { name = "an MTA that cannot be asked for macros at end of DATA (no SMFIF_SETSYMLIST): decided at MAIL FROM",
      daemon = "unauth",
      run = function()
          local conn = mt.connect(sock("unauth"), 40, 0.25)
          if conn == nil then fail("cannot connect") end
          release(conn)
          local err = mt.negotiate(conn, nil, ALL_STEPS, SMFIF_ADDHDRS + SMFIF_CHGHDRS)
          if err ~= nil then fail("negotiation: %s", err) end
          conn_mta[conn] = POSTFIX
          if mt.test_option(conn, SMFIP_NOMAIL) then fail("SMFIP_NOMAIL negotiated without symbol lists") end
          at_mail(conn, { login = "janed", sender = "<janed@example.com>", headers = { { "From", "janed@example.com" } } })
      end,
      log = { "it cannot be asked for macros at end-of-message (no symbol lists)",
              "login=janed sender=janed@example.com accept reason=owned stage=mail" } },
    { name = "an MTA that sends no {mail_addr} at end of DATA: that message 451, then decided at MAIL FROM",
      daemon = "nomailaddr",
      run = function()
          local conn = connect("nomailaddr", POSTFIX)
          mt.macro(conn, SMFIC_EOM, "{auth_authen}", "janed", "i", "9ABC")
          local err = mt.header(conn, "From", "janed@example.com")
          if err ~= nil then fail("header: %s", err) end
          if mt.getreply(conn) ~= SMFIR_CONTINUE then fail("header: no continue") end
          err = mt.eom(conn)
          if err ~= nil then fail("eom: %s", err) end
          if mt.getreply(conn) ~= SMFIR_REPLYCODE or
             not mt.eom_check(conn, MT_SMTPREPLY, "451", "4.3.0", "Temporary failure, try again later") then
              fail("end of DATA without {mail_addr}: not 451 4.3.0")
          end
          disconnect(conn)
          conn = connect("nomailaddr", POSTFIX)
          if mt.test_option(conn, SMFIP_NOMAIL) then fail("the next connection still negotiates MAIL away") end
          at_mail(conn, { login = "janed", sender = "<johnd@company1.com>", mail = "reject" })
      end,
      log = { "9ABC: policy.decide_at = \"end-of-data\", but the MTA sends no {mail_addr} at end-of-message: message tempfailed; new connections are decided at MAIL FROM until a reload",
              "login=janed sender=johnd@company1.com reject reason=not-owned stage=mail" } },
    -- eight_bit.undeclared needs MAIL FROM's BODY=: the step is kept, with no reply
    { name = "eight_bit.undeclared: MAIL kept with no reply asked (SMFIP_NR_MAIL), not negotiated away",
      run = function()
          local conn = connect("eight_undeclared", POSTFIX)
          if mt.test_option(conn, SMFIP_NOMAIL) then fail("SMFIP_NOMAIL negotiated: BODY= would be lost") end
          if not mt.test_option(conn, SMFIP_NR_MAIL) then fail("SMFIP_NR_MAIL not negotiated") end
          disconnect(conn)
      end },
    { name = "eight_bit.undeclared: 8-bit body without BODY=8BITMIME refused at end of DATA (5.6.1)",
      daemon = "eight_undeclared", login = "janed", sender = "<janed@example.com>", args = { "SIZE=100" },
      headers = { { "From", "janed@example.com" } }, body = { "caf\xc3\xa9\r\n" },
      eom = { "554", "5.6.1", "Undeclared 8-bit data (BODY=8BITMIME missing)" } },
    { name = "eight_bit.undeclared: the same with BODY=8BITMIME accepted",
      daemon = "eight_undeclared", login = "janed", sender = "<janed@example.com>", args = { "BODY=8BITMIME" },
      headers = { { "From", "janed@example.com" } }, body = { "caf\xc3\xa9\r\n" } },
    { name = "eight_bit.undeclared: the sender comes from MAIL FROM as written, a forged one refused at end of DATA",
      daemon = "eight_undeclared", login = "janed", sender = "<JohnD@COMPANY1.com>", args = { "BODY=8BITMIME" },
      headers = { { "From", "janed@example.com" } }, eom = r554("JohnD@COMPANY1.com"),
      log = { "login=janed sender=JohnD@COMPANY1.com reject reason=not-owned stage=end-of-data" } },
}

LOG_AS_IS = true -- the log expectations above are this mode's own
run_cases(cases)

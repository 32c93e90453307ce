-- eod.lua - policy.decide_at = "end-of-data" (homed-milter.conf(5)): what the
-- decision table (decisions.lua with -D eod=1) does not show
--
--   miltertest -D lib=DIR -D dir=WORKDIR -D phase=up -D eod=1 -s eod.lua
--
-- Daemons (run.sh): main_eod, unauth_eod (unauthenticated = reject),
-- eight_undeclared_eod (eight_bit.undeclared = "reject").
dofile(lib .. "/common.lua")

local function r554(address) return { "554", "5.7.1", "Mailbox is not local: " .. address } end
local ALL_STEPS = 0x1FFFFF

local cases = {
    { name = "negotiation: MAIL FROM without a reply (SMFIP_NR_MAIL), headers without replies; no body, RCPT, connect, HELO, DATA or EOH",
      run = function()
          local conn = connect("main", POSTFIX)
          for _, opt in ipairs({ "NR_MAIL", "NR_HDR", "NOBODY", "NORCPT", "NOCONNECT", "NOHELO", "NODATA", "NOEOH" }) do
              if not mt.test_option(conn, _G["SMFIP_" .. opt]) then fail("SMFIP_%s not negotiated", opt) end
          end
          if mt.test_option(conn, SMFIP_NOMAIL) then fail("SMFIP_NOMAIL negotiated: MAIL FROM as written would be lost") end
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
    -- An MTA that does not know SMFIP_NR_MAIL waits for a reply to MAIL
    -- FROM: libmilter gives it at once, and the decision still comes at
    -- end of DATA
    { name = "an MTA without SMFIP_NR_MAIL: MAIL FROM answered continue at once, the forged sender refused at end of DATA",
      run = function()
          local conn = connect("main", POSTFIX, ALL_STEPS - SMFIP_NR_MAIL)
          if mt.test_option(conn, SMFIP_NR_MAIL) then fail("SMFIP_NR_MAIL negotiated though not offered") end
          message(conn, { login = "janed", sender = "<JohnD@COMPANY1.com>", mail = "reject",
                          mail_reply = r554("JohnD@COMPANY1.com") })
          message(conn, { login = "janed", sender = "<janed@example.com>",
                          headers = { { "From", "janed@example.com" } } })
          disconnect(conn)
      end,
      log = { "login=janed sender=JohnD@COMPANY1.com reject reason=not-owned stage=end-of-data",
              "login=janed sender=janed@example.com accept reason=owned stage=end-of-data" } },
    -- eight_bit.undeclared needs MAIL FROM's BODY=: the step is kept, with no reply
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

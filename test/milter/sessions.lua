-- sessions.lua - several messages on one connection, and reloads under way
--
--   miltertest -D lib=DIR -D dir=WORKDIR -D phase=PHASE [-D reload=CMD] -s sessions.lua
--
-- Phase "up": per-message state is reset (after a reject at end of DATA,
-- after a reject at MAIL, after an abort). Phase "hup3": RELOAD is a shell
-- command that puts a configuration with another reject_text in force in
-- the "hup" daemon (it returns once the daemon logged the reload).
dofile(lib .. "/common.lua")

local function r554(address, text)
    return { "554", "5.7.1", (text or "Mailbox is not local: ") .. address }
end
local NEW_TEXT = "Not your mailbox: "

-- the message the hup cases send: janed with someone else's From:
function hup_bad(eom)
    return { login = "janed", sender = "<janed@example.com>",
             headers = { { "From", "JohnD@COMPANY1.com" } }, eom = eom }
end

local function do_reload()
    if reload == nil then fail("no -D reload=CMD given") end
    local ok = os.execute(reload)
    if not ok then fail("the reload command failed: %s", reload) end
end

local cases = {
    { name = "two messages on one connection: the first rejected at end of DATA, the second accepted",
      run = function()
          local conn = connect("main", POSTFIX)
          message(conn, { login = "janed", qid = "AAA111", sender = "<janed@example.com>",
                          headers = { { "From", "johnd@company1.com" } },
                          eom = r554("johnd@company1.com") })
          message(conn, { login = "janed", qid = "BBB222", sender = "<janed@example.com>",
                          headers = { { "From", "Jane <janed@example.com>" } } })
          disconnect(conn)
      end,
      log = { "AAA111: login=janed From=johnd@company1.com reject reason=not-owned stage=header",
              "BBB222: login=janed sender=janed@example.com accept reason=owned stage=mail" },
      nolog = { "BBB222: login=janed From" } },
    { name = "two messages on one connection: the first rejected at MAIL, the second accepted",
      run = function()
          local conn = connect("main", POSTFIX)
          message(conn, { login = "janed", sender = "<johnd@company1.com>", mail = "reject" })
          message(conn, { login = "janed", sender = "<jane.doe@example.com>",
                          headers = { { "From", "jane.doe@example.com" } } })
          disconnect(conn)
      end },
    { name = "three messages on one connection: accepted, rejected, accepted (nothing carried over)",
      run = function()
          local conn = connect("main", POSTFIX)
          message(conn, { login = "janed", sender = "<janed@example.com>",
                          headers = { { "From", "janed@example.com" } } })
          message(conn, { login = "janed", sender = "<>",
                          headers = { { "Sender", "alice@example.com" } },
                          eom = r554("alice@example.com") })
          message(conn, { login = "janed", sender = "<>",
                          headers = { { "From", "janed@example.com" } } })
          disconnect(conn)
      end },
    { name = "a message aborted after a bad From:, the next one on the connection accepted",
      run = function()
          local conn = connect("main", POSTFIX)
          mt.macro(conn, SMFIC_MAIL, "{auth_authen}", "janed")
          if mt.mailfrom(conn, "<janed@example.com>") ~= nil or
             mt.getreply(conn) ~= SMFIR_CONTINUE then fail("first MAIL not continued") end
          if mt.header(conn, "From", "johnd@company1.com") ~= nil then fail("header") end
          if mt.abort(conn) ~= nil then fail("abort") end
          message(conn, { login = "janed", sender = "<janed@example.com>",
                          headers = { { "From", "janed@example.com" } } })
          disconnect(conn)
      end },
    { name = "report mode, two messages: only the first one gets the header",
      daemon = "report",
      run = function()
          local conn = connect("report", POSTFIX)
          message(conn, { login = "janed", sender = "<janed@example.com>",
                          headers = { { "From", "alice@example.org" } },
                          hdradd = { "X-Homed-Milter", "reject reason=not-owned address=alice@example.org" } })
          message(conn, { login = "janed", sender = "<janed@example.com>",
                          headers = { { "From", "janed@example.com" } }, nohdradd = "X-Homed-Milter" })
          disconnect(conn)
      end },

    -- --- a good reload while connections are open (phase hup3) -----------------------------
    -- A has had a message before the reload, B has only connected; the
    -- reload happens in the first case, B is carried over to the second.
    { phase = "hup3", daemon = "hup",
      name = "HUP with a good file: a connection that had a message before it keeps the old reject_text",
      run = function()
          local a = connect("hup", POSTFIX)
          message(a, hup_bad(r554("JohnD@COMPANY1.com")))
          carried = connect("hup", POSTFIX)
          keep(carried)
          do_reload()
          message(a, hup_bad(r554("JohnD@COMPANY1.com")))
          disconnect(a)
      end },
    { phase = "hup3", daemon = "hup",
      name = "HUP with a good file: a connection opened before it (no message yet) keeps the old reject_text",
      run = function()
          if carried == nil then fail("no connection carried over from the previous case") end
          local b = carried
          carried = nil
          release(b)
          message(b, hup_bad(r554("JohnD@COMPANY1.com")))
          disconnect(b)
      end },
    { phase = "hup3", daemon = "hup",
      name = "HUP with a good file: a new connection gets the new reject_text",
      run = function()
          local c = connect("hup", POSTFIX)
          message(c, hup_bad(r554("JohnD@COMPANY1.com", NEW_TEXT)))
          disconnect(c)
      end },
}

run_cases(cases)

-- common.lua - helpers for the milter-layer scripts (loaded with dofile)
--
-- Globals the scripts get from miltertest -D:
--   lib    this directory (where common.lua is)
--   dir    the test's work directory: DAEMON.sock and DAEMON.log live there
--   mt_timeout  seconds to wait for a reply (longer under valgrind)
--   phase  which cases to run now (default "up"); run.sh changes the world
--          between phases (stops slapd, reloads a configuration, ...)
--
-- A case is a table; run_cases() runs those of the current phase, each in
-- pcall, and prints "ok NAME" or "not ok NAME" on stdout (run.sh turns
-- these into TAP) and, for a failure, "FAIL: NAME: why" on stderr. After
-- the last case it prints "done N"; if any case failed it ends with error()
-- so that miltertest exits 1 (miltertest itself prints nothing for Lua
-- errors: every message is written before error() is called).
--
-- Case fields for one message on one connection (message()):
--   name     the test point's description
--   daemon   which daemon to talk to (default "main")
--   mta      the "v" macro, sent with the connection (default Postfix's;
--            false: none). Not starting with "Postfix", the daemon
--            xtext-decodes {auth_authen} as Sendmail encodes it
--   v_at_mail  send "v" with the MAIL macros instead (as the brief's recipe)
--   login    {auth_authen} (nil: not authenticated)
--   qid      the "i" macro (queue id), sent with MAIL (as Sendmail does)
--   eom_qid  the "i" macro sent with end-of-DATA only (as Postfix does: it
--            does not know the queue id at MAIL FROM)
--   client   { name, addr }: {client_name} and {client_addr}, sent with
--            MAIL (the milter asks for them there)
--   sender   MAIL FROM argument, with the angle brackets
--   args     list of MAIL FROM's ESMTP arguments ("BODY=8BITMIME", ...),
--            passed after the sender as an MTA does
--   offer    the protocol steps offered (SMFIP_* bits; default every one
--            miltertest knows): an MTA that lacks some (connect())
--   rcpts    list of RCPT TO arguments, with the angle brackets, each
--            answered continue (miltertest reads no reply under
--            SMFIP_NR_RCPT); the milter must have asked for RCPT
--   body     list of body chunks, sent after the headers; the milter must
--            have asked for the body
--   body_replies  list of the replies expected to those chunks, one each:
--            "continue" or "skip" (SMFIS_SKIP: the rest is not wanted);
--            without it each must be one of the two
--   headers  list of { name, value }
--   mail     expected MAIL FROM reply: "continue" (default), "accept"
--            (accepted, no further callbacks), "reject" (554, sent as
--            SMFIR_REPLYCODE; miltertest cannot show its text) or
--            "tempfail" (451, also SMFIR_REPLYCODE)
--   mail_reply  { code, xcode, text }: the exact reply of a MAIL-stage
--            reject or tempfail, read through rawmilter.pl (raw_mail())
--   eom      expected end-of-DATA verdict: "accept" (default) or
--            { code, xcode, text } for an exact SMTP reply
--   hdradd   { name, value }: the one header the milter must add at EOM
--            (a second copy of that name fails the case)
--   nohdradd name of a header the milter must not add
--   hdrdelete  name of a header the milter must delete (miltertest tells
--            only that one copy or more was: run.sh counts them with
--            rawmilter.pl)
--   nohdrchange  true: the milter must change and delete no header
--   log      list of strings the daemon's log must gain during the case
--   nolog    list of strings it must not gain
--   run      function(case) replacing message() (multi-message cases)
--
-- With -D eod=1 the same cases run against the daemons' twins configured
-- with policy.decide_at = "end-of-data" (NAME_eod, which run.sh starts):
-- MAIL FROM goes without a reply asked (message_eod()), and a verdict a
-- case expects at MAIL comes at end-of-DATA with the same reply. Log
-- expectations say stage=end-of-data for stage=mail and stage=header.

POSTFIX = "Postfix 3.7.11"
SMFIC_EOM = string.byte("E")   -- SMFIC_BODYEOB; miltertest exports no name for it
SENDMAIL = "8.17.1.9"
MT_TIMEOUT = tonumber(mt_timeout or "30")

local reply_names = {
    [SMFIR_CONTINUE] = "continue", [SMFIR_ACCEPT] = "accept",
    [SMFIR_REPLYCODE] = "replycode", [SMFIR_TEMPFAIL] = "tempfail",
    [SMFIR_REJECT] = "reject", [SMFIR_DISCARD] = "discard",
}
if SMFIR_SKIP ~= nil then reply_names[SMFIR_SKIP] = "skip" end
function reply_name(r)
    if r == nil then return "nil" end
    return reply_names[r] or string.format("%q", string.char(r))
end

-- fail(...): end the current case with a message (caught by run_cases)
function fail(fmt, ...)
    error(string.format(fmt, ...), 0)
end

EOD = tostring(eod) == "1"
local function twin(daemon) return EOD and daemon .. "_eod" or daemon end
function sock(daemon) return "unix:" .. dir .. "/" .. twin(daemon) .. ".sock" end
function logfile(daemon) return dir .. "/" .. twin(daemon) .. ".log" end

function log_size(daemon)
    local f = io.open(logfile(daemon), "rb")
    if f == nil then return 0 end
    local n = f:seek("end")
    f:close()
    return n
end

function log_since(daemon, offset)
    local f = io.open(logfile(daemon), "rb")
    if f == nil then return "" end
    f:seek("set", offset)
    local s = f:read("a")
    f:close()
    return s or ""
end

-- Connections the current case opened: closed after it, pass or fail.
local open_conns = {}

-- the MTA version ("v" macro) each connection speaks for, sent at MAIL
conn_mta = {}

-- connect(daemon, mta[, offer]): a connection, negotiated, for an MTA whose
-- "v" is MTA; OFFER: the protocol steps it offers (SMFIP_* bits), else
-- every one miltertest knows
function connect(daemon, mta, offer)
    local conn = mt.connect(sock(daemon), 40, 0.25)
    if conn == nil then fail("cannot connect to %s", sock(daemon)) end
    table.insert(open_conns, conn)
    mt.set_timeout(MT_TIMEOUT)
    if offer ~= nil then
        -- the steps come third, the actions fourth (whatever miltertest(8) says)
        local err = mt.negotiate(conn, nil, offer, nil)
        if err ~= nil then fail("negotiation offering 0x%x: %s", offer, err) end
    end
    -- Steps the milter negotiated away must not be sent (miltertest raises
    -- an error): the cases never call helo, data or eoh, send recipients
    -- and body chunks only where the milter asked for them (message()
    -- checks), and miltertest skips them itself when it fills in the steps
    -- in between.
    -- The milter declines the connect step (SMFIP_NOCONNECT) and asks for
    -- "v" (the MTA's version) with the MAIL macros, where message() sends it.
    conn_mta[conn] = mta
    if not mt.test_option(conn, SMFIP_NOCONNECT) then
        fail("connect step not negotiated away (SMFIP_NOCONNECT)")
    end
    return conn
end

-- keep(conn): not closed when the current case ends (handed to a later
-- case, which calls release(conn) to have it closed after itself)
function keep(conn)
    for i, c in ipairs(open_conns) do
        if c == conn then table.remove(open_conns, i) return end
    end
end
function release(conn) table.insert(open_conns, conn) end

function disconnect(conn)
    keep(conn)
    mt.disconnect(conn)
end

-- shq(s): S quoted for sh
function shq(s) return "'" .. string.gsub(s, "'", "'\\''") .. "'" end

-- raw_mail(daemon, login, sender, mta): the MAIL FROM reply, as the MTA gets
-- it, of one session through rawmilter.pl (miltertest never shows the text
-- of a MAIL-stage reply): "continue", "accept", or "CODE XCODE TEXT" with
-- the '%' that smfi_setreply(3) takes doubled shown once, as an MTA does.
function raw_mail(daemon, login, sender, mta)
    local function pct(s) -- rawmilter.pl %XX-decodes every value
        return (string.gsub(s, "[%%%c]", function(c) return string.format("%%%02X", string.byte(c)) end))
    end
    local cmd = { "perl", shq(lib .. "/rawmilter.pl"), shq(sock(daemon)) }
    if login ~= nil then table.insert(cmd, shq("M:{auth_authen}=" .. pct(login))) end
    if mta then table.insert(cmd, shq("M:v=" .. pct(mta))) end
    table.insert(cmd, shq("mail:" .. pct(sender)))
    local p = io.popen(table.concat(cmd, " ") .. " 2>&1", "r")
    local out = p:read("a")
    p:close()
    local step, data = string.match(out, "\nmail (%a) ?([^\n]*)")
    if step == "c" then return "continue" end
    if step == "a" then return "accept" end
    if step == "y" then return (string.gsub(data, "%%%%", "%%")) end
    fail("rawmilter.pl, MAIL FROM:%s (login %s): no reply to MAIL; it printed:\n%s", sender,
         tostring(login), out)
end

local function want_code(what)
    if what == "continue" then return SMFIR_CONTINUE end
    if what == "accept" then return SMFIR_ACCEPT end
    if what == "reject" or what == "tempfail" then return SMFIR_REPLYCODE end
    fail("bad expectation %s", tostring(what))
end

-- continued(conn, what, err): the step WHAT went out (ERR: miltertest's
-- error, nil when it did) and was answered continue
local function continued(conn, what, err)
    if err ~= nil then fail("%s: %s", what, err) end
    local r = mt.getreply(conn)
    if r ~= SMFIR_CONTINUE then fail("%s: reply %s, want continue", what, reply_name(r)) end
end

-- message(conn, t): one message on an open connection, checked against t
function message(conn, t)
    local m = {}
    if t.login ~= nil then
        table.insert(m, "{auth_authen}") table.insert(m, t.login)
        table.insert(m, "{auth_type}") table.insert(m, "PLAIN")
    end
    if t.auth_type_only then table.insert(m, "{auth_type}") table.insert(m, t.auth_type_only) end
    local v = t.v_at_mail or conn_mta[conn]
    if v then table.insert(m, "v") table.insert(m, v) end
    if t.qid ~= nil then table.insert(m, "i") table.insert(m, t.qid) end
    if t.client ~= nil then
        table.insert(m, "{client_name}") table.insert(m, t.client[1])
        table.insert(m, "{client_addr}") table.insert(m, t.client[2])
    end
    if EOD then return message_eod(conn, t, m) end
    if #m > 0 then mt.macro(conn, SMFIC_MAIL, table.unpack(m)) end
    local err = mt.mailfrom(conn, t.sender, table.unpack(t.args or {}))
    if err ~= nil then fail("MAIL FROM:%s: %s", t.sender, err) end
    local mail = t.mail or "continue"
    local r = mt.getreply(conn)
    if r ~= want_code(mail) then
        fail("MAIL FROM:%s (login %s): reply %s, want %s", t.sender, tostring(t.login),
             reply_name(r), mail)
    end
    if t.mail_reply ~= nil then
        local want = table.concat(t.mail_reply, " ")
        local got = raw_mail(t.daemon or "main", t.login, t.sender, v)
        if got ~= want then
            fail("MAIL FROM:%s (login %s), through rawmilter.pl: reply \"%s\", want \"%s\"",
                 t.sender, tostring(t.login), got, want)
        end
    end
    if mail ~= "continue" then return end
    message_data(conn, t, nil, t.eom or "accept")
end

-- message_data(conn, t, macros, eom): a message's steps after MAIL FROM,
-- MACROS (a list of name, value) sent with end-of-DATA, EOM expected there
function message_data(conn, t, macros, eom)
    local err, r
    if t.rcpts ~= nil and mt.test_option(conn, SMFIP_NORCPT) then
        fail("the case sends recipients, but RCPT was negotiated away (SMFIP_NORCPT)")
    end
    for _, rcpt in ipairs(t.rcpts or {}) do
        continued(conn, "RCPT TO:" .. rcpt, mt.rcptto(conn, rcpt))
    end
    -- miltertest fills in a dummy "From: <sender@example.com>" when a
    -- message has no header at all: every case must bring its own
    if t.headers == nil and not mt.test_option(conn, SMFIP_NOHDRS) then
        fail("the case has no headers (miltertest would send a dummy From:)")
    end
    for _, h in ipairs(t.headers or {}) do
        continued(conn, "header " .. h[1] .. ": " .. h[2], mt.header(conn, h[1], h[2]))
    end
    if t.body ~= nil and mt.test_option(conn, SMFIP_NOBODY) then
        fail("the case sends a body, but the body was negotiated away (SMFIP_NOBODY)")
    end
    for i, chunk in ipairs(t.body or {}) do
        err = mt.bodystring(conn, chunk)
        if err ~= nil then fail("body chunk %d: %s", i, err) end
        r = reply_name(mt.getreply(conn))
        local want = t.body_replies and t.body_replies[i]
        if want ~= nil and r ~= want or want == nil and r ~= "continue" and r ~= "skip" then
            fail("body chunk %d %q: reply %s, want %s", i, chunk, r, want or "continue or skip")
        end
    end
    macros = macros or {}
    if t.eom_qid ~= nil then table.insert(macros, "i") table.insert(macros, t.eom_qid) end
    if #macros > 0 then mt.macro(conn, SMFIC_EOM, table.unpack(macros)) end
    err = mt.eom(conn)
    if err ~= nil then fail("eom: %s", err) end
    r = mt.getreply(conn)
    if eom == "tempfail" or eom == "reject" then
        if r ~= SMFIR_REPLYCODE then
            fail("end of DATA: reply %s, want %s (a reply code)", reply_name(r), eom)
        end
    elseif eom == "accept" then
        if r ~= SMFIR_CONTINUE and r ~= SMFIR_ACCEPT then
            fail("end of DATA: reply %s, want accept (continue)", reply_name(r))
        end
    else
        if r ~= SMFIR_REPLYCODE then
            fail("end of DATA: reply %s, want %s %s %s", reply_name(r), eom[1], eom[2], eom[3])
        end
        if not mt.eom_check(conn, MT_SMTPREPLY, eom[1], eom[2], eom[3]) then
            fail("end of DATA: the reply text is not \"%s %s %s\"", eom[1], eom[2], eom[3])
        end
    end
    if t.hdradd ~= nil then
        if not mt.eom_check(conn, MT_HDRADD, t.hdradd[1], t.hdradd[2]) then
            local got = mt.getheader(conn, t.hdradd[1], 0)
            fail("end of DATA: no header \"%s: %s\" added (%s: %s)", t.hdradd[1], t.hdradd[2],
                 t.hdradd[1], tostring(got))
        end
        local second = mt.getheader(conn, t.hdradd[1], 1)
        if second ~= nil then
            fail("end of DATA: a second %s header added: %s", t.hdradd[1], tostring(second))
        end
    end
    if t.nohdradd ~= nil and mt.eom_check(conn, MT_HDRADD, t.nohdradd) then
        fail("end of DATA: header %s added: %s", t.nohdradd,
             tostring(mt.getheader(conn, t.nohdradd, 0)))
    end
    if t.hdrdelete ~= nil and not mt.eom_check(conn, MT_HDRDELETE, t.hdrdelete) then
        fail("end of DATA: no %s header deleted", t.hdrdelete)
    end
    if t.nohdrchange and (mt.eom_check(conn, MT_HDRCHANGE) or mt.eom_check(conn, MT_HDRDELETE)) then
        fail("end of DATA: a header was changed or deleted")
    end
end

-- message_eod(conn, t, macros): message() against a daemon that decides at
-- end-of-DATA: MAIL FROM (with MACROS) is sent without a reply where the
-- milter asked for none (SMFIP_NR_MAIL; otherwise libmilter answers it at
-- once), and a verdict expected at MAIL comes at end-of-DATA
function message_eod(conn, t, macros)
    if #macros > 0 then mt.macro(conn, SMFIC_MAIL, table.unpack(macros)) end
    local err = mt.mailfrom(conn, t.sender, table.unpack(t.args or {}))
    if err ~= nil then fail("MAIL FROM:%s: %s", t.sender, err) end
    if not mt.test_option(conn, SMFIP_NR_MAIL) and mt.getreply(conn) ~= SMFIR_CONTINUE then
        fail("MAIL FROM:%s: no continue from libmilter (the MTA offered no SMFIP_NR_MAIL)", t.sender)
    end
    local mail, eom = t.mail or "continue", t.eom or "accept"
    if mail == "accept" then
        eom = "accept"
    elseif mail ~= "continue" then
        eom = t.mail_reply or mail
    end
    if t.headers == nil and not mt.test_option(conn, SMFIP_NOHDRS) then
        t = setmetatable({ headers = { { "Subject", "decided at end of DATA" } } }, { __index = t })
    end
    message_data(conn, t, nil, eom)
end

-- The default case: one message on a new connection.
function single(t)
    local conn = connect(t.daemon or "main", t.mta == nil and POSTFIX or t.mta, t.offer)
    message(conn, t)
    disconnect(conn)
end

local function check_log(t, offset)
    local got = log_since(t.daemon or "main", offset)
    for _, want in ipairs(t.log or {}) do
        if EOD and not LOG_AS_IS then
            want = string.gsub(string.gsub(want, "stage=mail", "stage=end-of-data"),
                               "stage=header", "stage=end-of-data")
            want = string.gsub(want, " at MAIL FROM", " at end-of-message")
        end
        if not string.find(got, want, 1, true) then
            fail("the log lacks \"%s\"; it got:\n%s", want, got)
        end
    end
    for _, bad in ipairs(t.nolog or {}) do
        if string.find(got, bad, 1, true) then
            fail("the log has \"%s\"; it got:\n%s", bad, got)
        end
    end
end

-- run_cases(cases): run the cases of the current phase
function run_cases(cases)
    local want_phase = phase or "up"
    local ran, failed = 0, 0
    io.stdout:setvbuf("line")
    for _, t in ipairs(cases) do
        if (t.phase or "up") == want_phase then
            ran = ran + 1
            local offset = log_size(t.daemon or "main")
            local ok, err = pcall(t.run or single, t)
            if ok then
                -- the daemon writes a line before it answers; nothing to wait for
                ok, err = pcall(check_log, t, offset)
            end
            for i = #open_conns, 1, -1 do
                pcall(mt.disconnect, open_conns[i], false)
                open_conns[i] = nil
            end
            local name = (EOD and "decide_at = end-of-data: " or "") .. t.name
            if ok then
                io.stdout:write("ok ", name, "\n")
            else
                failed = failed + 1
                io.stdout:write("not ok ", name, "\n")
                io.stderr:write("FAIL: ", name, ": ", tostring(err), "\n")
            end
        end
    end
    io.stdout:write("done ", ran, "\n")
    io.stdout:flush()
    if failed > 0 then
        io.stderr:write("FAIL: ", failed, " of ", ran, " case(s) in phase ", want_phase, "\n")
        error(failed .. " case(s) failed")
    end
end

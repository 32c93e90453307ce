-- agree.lua - homed-milter -q and the milter give the same verdict and reason
--
--   miltertest -D lib=DIR -D dir=WORKDIR -D hm=HOMED-MILTER -s agree.lua
--
-- homed-milter(8), -q: "Ask the configured directory what would happen if
-- LOGIN submitted as ADDRESS": a value in angle brackets is decided as at
-- MAIL FROM, "Field: value" as that header field at the end of DATA. Each
-- row below runs `homed-milter -c DIR/DAEMON.conf -q LOGIN VALUE` and the
-- same login and value through the daemon DAEMON (the same configuration
-- file), and passes when both give
--   the action     -q's first word; the milter's reply (continue: accept)
--   code, xcode, text   -q's first line; the milter's reply, read through
--                  rawmilter.pl at MAIL FROM (miltertest cannot show it)
--                  and with mt.eom_check at the end of DATA
--   the reasons    -q's "reason KEYWORD:" lines, one per address; the
--                  reason= of the lines the daemon logged (README, "Log
--                  lines"), one per address it decided on: it stops at
--                  the first that fails, -q goes on
--   the decision   -q's action, or in report mode what it would do; the
--                  decision logged for the first address that is not
--                  accepted, else the last (homed-milter(8), -q: "the
--                  first that is not accept")
--   in report mode: -q's "(report mode: would ...)"; the daemon's
--                  "report DECISION" log line and the policy.report_header
--                  it adds (homed-milter.conf(5), policy.mode)
-- and both match the row's expectation. The rows follow the policy table
-- of the unit layer (test/unit/test_policy.c), those a real directory can
-- produce. Left out, and why:
--   - unauthenticated clients: -q always has a login;
--   - a header row whose login fails at MAIL FROM whatever the sender
--     ("not homed at header", "dir error at header" with tempfail,
--     "ambiguous login" at a header): the milter never reaches the header,
--     so those run at MAIL FROM here.
-- Header rows send the null sender at MAIL FROM (accepted for a local
-- entry, reason null-sender), so that the header field alone decides.
--
-- The daemons (agree.sh starts them, all at log_level "debug": the milter
-- logs an accepted header address at debug only):
--   agree         defaults (enforce, on_directory_error tempfail)
--   agreeplus     policy.extension_delimiter = "+"
--   agreenoenv    policy.check_envelope = false
--   agreenohome   ldap.home_attribute = ""
--   agreetext     policy.reject_text = "Sender %s denied (100%%)"
--   agreereport   policy.mode = "report"
--   agreeacc, agreerej   policy.on_directory_error = "accept", "reject"
--   agreedead*    ldap.uri a socket no slapd listens on: every lookup is a
--                 directory error; *acc, *rej as above, *rep report mode
--   homes         ldap.home_attribute = "host" (the entries with several
--                 home values in extra.ldif)
dofile(lib .. "/common.lua")

local NL = "Mailbox is not local: "
local function rej(address) return "reject 554 5.7.1 " .. NL .. address end
local TEMP = "tempfail 451 4.3.0 Directory unavailable, try again later"

-- One row per line: name, daemon, login, value (-q's ADDRESS), the verdict
-- (-q's first line), the reasons (one per address), and in report mode
-- what would be done.
local rows = {
    -- --- the login's entry ---------------------------------------------------------------------
    { "no entry", "agree", "nobody", "<nobody@example.com>", rej("nobody@example.com"), "no-entry" },
    { "no entry, null sender", "agree", "nobody", "<>", rej("<>"), "no-entry" },
    { "not homed", "agree", "johnd", "<JohnD@COMPANY1.com>", rej("JohnD@COMPANY1.com"), "not-homed" },
    { "not homed, null sender", "agree", "johnd", "<>", rej("<>"), "not-homed" },
    { "no home value", "agree", "nohome", "<nohome@example.com>", rej("nohome@example.com"), "not-homed" },
    { "home check off", "agreenohome", "johnd", "<JohnD@COMPANY1.com>", "accept", "owned" },
    { "home in upper case", "agree", "alice", "<alice@example.org>", "accept", "owned" },
    { "home in mixed case, trailing dot", "agree", "dothost", "<dothost@example.com>", "accept", "owned" },
    { "the local host is the second home value", "homes", "twohomes", "<twohomes@example.com>", "accept", "owned" },
    { "the local host is the first home value", "homes", "firsthome", "<firsthome@example.com>", "accept", "owned" },
    { "no home value is local", "homes", "nohomehere", "<nohomehere@example.com>", rej("nohomehere@example.com"), "not-homed" },
    { "second home value, at a header", "homes", "twohomes", "From: Two <twohomes@example.com>", "accept", "owned" },
    -- --- the envelope sender --------------------------------------------------------------------
    { "owned", "agree", "janed", "<janed@example.com>", "accept", "owned" },
    { "owned alias, other case", "agree", "janed", "<Jane.Doe@EXAMPLE.com>", "accept", "owned" },
    { "owned, quoted local part", "agree", "janed", "<\"janed\"@example.com>", "accept", "owned" },
    { "not owned", "agree", "janed", "<JohnD@COMPANY1.com>", rej("JohnD@COMPANY1.com"), "not-owned" },
    { "not owned: same local part, other domain", "agree", "janed", "<janed@example.org>", rej("janed@example.org"), "not-owned" },
    { "not owned: same local part, other.example", "agree", "janed", "<janed@other.example>", rej("janed@other.example"), "not-owned" },
    { "not owned: quoted @ trick", "agree", "janed", "<\"janed@example.com\"@evil.test>", rej("\"janed@example.com\"@evil.test"), "not-owned" },
    { "null sender", "agree", "janed", "<>", "accept", "null-sender" },
    { "check_envelope off", "agreenoenv", "janed", "<x@evil.test>", "accept", "not-checked" },
    { "check_envelope off, not homed", "agreenoenv", "johnd", "<x@evil.test>", rej("x@evil.test"), "not-homed" },
    { "malformed envelope", "agree", "janed", "<janed@@example.com>", rej("janed@@example.com"), "malformed" },
    { "malformed envelope, a blank", "agree", "janed", "<a b@example.com>", rej("a b@example.com"), "malformed" },
    -- --- extensions ------------------------------------------------------------------------------
    { "extension, no delimiter", "agree", "janed", "<janed+x@example.com>", rej("janed+x@example.com"), "not-owned" },
    { "extension owned", "agreeplus", "janed", "<janed+lists@example.com>", "accept", "owned" },
    { "extension of another", "agreeplus", "janed", "<johnd+x@company1.com>", rej("johnd+x@company1.com"), "not-owned" },
    { "delimiter first is no extension", "agreeplus", "janed", "<+janed@example.com>", rej("+janed@example.com"), "not-owned" },
    { "extension holding @", "agreeplus", "janed", "From: \"janed+JohnD@COMPANY1.com\"@example.com", rej("\"janed+JohnD@COMPANY1.com\"@example.com"), "malformed" },
    { "extension holding a blank", "agreeplus", "janed", "<\"janed+a b\"@example.com>", rej("\"janed+a b\"@example.com"), "malformed" },
    { "extension holding '<'", "agreeplus", "janed", "From: \"janed+<x>\"@example.com", rej("\"janed+<x>\"@example.com"), "malformed" },
    { "extension owned, at a header", "agreeplus", "janed", "From: Jane <janed+lists@example.com>", "accept", "owned" },
    { "quoted local part without a delimiter", "agree", "janed", "From: \"janed+JohnD@COMPANY1.com\"@example.com", rej("\"janed+JohnD@COMPANY1.com\"@example.com"), "not-owned" },
    -- --- header addresses ------------------------------------------------------------------------
    { "header owned", "agree", "janed", "From: Jane Doe <janed@example.com>", "accept", "owned" },
    { "header owned alias, other case", "agree", "janed", "From: \"Doe, Jane\" <jane.doe@EXAMPLE.com>", "accept", "owned" },
    { "header not owned", "agree", "janed", "From: \"John\" <JohnD@COMPANY1.com>", rej("JohnD@COMPANY1.com"), "not-owned" },
    { "header not owned: same local part, other domain", "agree", "janed", "From: Jane <janed@other.example>", rej("janed@other.example"), "not-owned" },
    { "two addresses, both owned", "agree", "janed", "From: janed@example.com, Jane <jane.doe@example.com>", "accept", "owned, owned" },
    { "two addresses, the first not owned", "agree", "janed", "From: John <johnd@company1.com>, janed@example.com", rej("johnd@company1.com"), "not-owned, owned" },
    { "two addresses, the second not owned", "agree", "janed", "From: janed@example.com, alice@example.com", rej("alice@example.com"), "owned, not-owned" },
    { "Sender: not owned", "agree", "janed", "Sender: alice@example.com", rej("alice@example.com"), "not-owned" },
    { "header malformed", "agree", "janed", "From: Jane <janed@example.com", rej("Jane <janed@example.com"), "malformed" },
    { "header group", "agree", "janed", "From: Team: janed@example.com;", rej("Team: janed@example.com;"), "malformed" },
    { "display name showing another address", "agree", "janed", "From: \"alice@example.com\" <janed@example.com>", rej("alice@example.com"), "owned, not-owned" },
    { "header check ignores check_envelope", "agreenoenv", "janed", "From: x@evil.test", rej("x@evil.test"), "not-owned" },
    { "control bytes made printable", "agree", "janed", "From: \"a\tb\"@evil.test", rej("\"a?b\"@evil.test"), "malformed" },
    { "UTF-8 made printable", "agree", "janed", "From: j\195\169@evil.test", rej("j??@evil.test"), "not-owned" },
    -- --- directory errors ------------------------------------------------------------------------
    { "dir error, tempfail", "agreedead", "janed", "<janed@example.com>", TEMP, "directory-error" },
    { "dir error, accept", "agreedeadacc", "janed", "<x@evil.test>", "accept", "directory-error" },
    { "dir error, accept, at a header", "agreedeadacc", "janed", "From: x@evil.test", "accept", "directory-error" },
    { "dir error, reject", "agreedeadrej", "janed", "<janed@example.com>", rej("janed@example.com"), "directory-error" },
    { "ambiguous login", "agree", "twin", "<twin@example.com>", TEMP, "directory-error" },
    { "ambiguous login, on_directory_error accept", "agreeacc", "twin", "<twin@example.com>", TEMP, "directory-error" },
    { "ambiguous login, on_directory_error reject", "agreerej", "twin", "<twin@example.com>", TEMP, "directory-error" },
    -- --- reply text ------------------------------------------------------------------------------
    { "own reject_text", "agreetext", "janed", "<x@evil.test>", "reject 554 5.7.1 Sender x@evil.test denied (100%)", "not-owned" },
    { "own reject_text, at a header", "agreetext", "janed", "From: x@evil.test", "reject 554 5.7.1 Sender x@evil.test denied (100%)", "not-owned" },
    -- --- report mode ---------------------------------------------------------------------------
    { "report: not owned", "agreereport", "janed", "<johnd@company1.com>", "accept", "not-owned", rej("johnd@company1.com") },
    { "report: no entry", "agreereport", "nobody", "<nobody@example.com>", "accept", "no-entry", rej("nobody@example.com") },
    { "report: not homed", "agreereport", "johnd", "<JohnD@COMPANY1.com>", "accept", "not-homed", rej("JohnD@COMPANY1.com") },
    { "report: header not owned", "agreereport", "janed", "From: John <JohnD@COMPANY1.com>", "accept", "not-owned", rej("JohnD@COMPANY1.com") },
    { "report: header malformed", "agreereport", "janed", "From: Jane <janed@example.com", "accept", "malformed", rej("Jane <janed@example.com") },
    { "report: owned", "agreereport", "janed", "<janed@example.com>", "accept", "owned" },
    { "report: ambiguous login", "agreereport", "twin", "<twin@example.com>", TEMP, "directory-error" },
    { "report: dir error", "agreedeadrep", "janed", "<janed@example.com>", TEMP, "directory-error" },
}

-- --- homed-milter -q -------------------------------------------------------------------------------

-- "ACTION [CODE XCODE TEXT]" split
local function verdict(line)
    local action, code, xcode, text = string.match(line, "^(%a+) (%d%d%d) ([%d%.]+) (.*)$")
    if action == nil then action = line end
    return { line = line, action = action, code = code, xcode = xcode, text = text }
end

-- what `homed-milter -q LOGIN VALUE` says with DAEMON's configuration
local function query(daemon, login, value)
    local cmd = string.format("%s -c %s -q %s %s 2>&1; echo \"exit $?\"", shq(hm),
                              shq(dir .. "/" .. daemon .. ".conf"), shq(login), shq(value))
    local p = io.popen(cmd, "r")
    local out = p:read("a")
    p:close()
    local q = { out = out, reasons = {} }
    local lines = {}
    for l in string.gmatch(out, "([^\n]*)\n") do table.insert(lines, l) end
    q.verdict = verdict(lines[1] or "")
    q.exit = string.match(out, "exit (%d+)\n$")
    for _, l in ipairs(lines) do
        local reason = string.match(l, "^reason ([%w%-]+): ") or
                       string.match(l, "^%(display name%) reason ([%w%-]+): ")
        if reason ~= nil then
            table.insert(q.reasons, reason)
            local would = string.match(l, " %(report mode: would (.*)%)$")
            if would ~= nil then q.would = verdict(would) end
        end
    end
    return q
end

-- --- the daemon -----------------------------------------------------------------------------------

-- the decisions the daemon logged since OFFSET for LOGIN at STAGE, one per
-- address in order ({ line, decision, reason, report }: report is true for
-- "report DECISION")
local function logged(daemon, offset, login, stage)
    local lines = {}
    for l in string.gmatch(log_since(daemon, offset), "[^\n]+") do
        if string.find(l, "login=" .. login .. " ", 1, true) and
           string.find(l, " stage=" .. stage, 1, true) then
            local decision, reason = string.match(l, " (%a+) reason=([%w%-]+) stage=")
            table.insert(lines, { line = l, decision = decision, reason = reason,
                                  report = string.find(l, " report " .. tostring(decision) .. " reason=", 1, true) ~= nil })
        end
    end
    return lines
end

-- the decision that speaks: the first that is not accept, else the last
local function speaking(lines)
    for _, l in ipairs(lines) do
        if l.decision ~= "accept" then return l end
    end
    return lines[#lines]
end

-- '%' as smfi_setreply(3) takes it: doubled
local function doubled(text) return (string.gsub(text, "%%", "%%%%")) end

-- the milter's verdict on ROW: { action, reply (a verdict), log, added }
local function milter(row, q)
    local daemon, login, value = row[2], row[3], row[4]
    local header, hvalue = string.match(value, "^([%w%-]+):%s*(.*)$")
    local stage = header and "header" or "mail"
    local offset = log_size(daemon)
    local conn = connect(daemon, POSTFIX)
    mt.macro(conn, SMFIC_MAIL, "{auth_authen}", login, "{auth_type}", "PLAIN", "v", POSTFIX)
    local envelope = header and "<>" or value
    local err = mt.mailfrom(conn, envelope)
    if err ~= nil then fail("MAIL FROM:%s: %s", envelope, err) end
    local r = mt.getreply(conn)
    local m = {}
    if not header and r == SMFIR_REPLYCODE then
        m.raw = true -- below, once this session's log line is read
    elseif r ~= SMFIR_CONTINUE then
        fail("MAIL FROM:%s (login %s): reply %s, want continue%s", envelope, login,
             reply_name(r), header and " (the null sender, for a header row)" or " or a reply code")
    elseif header or row[7] ~= nil then
        -- on to the end of DATA: the header row's field, or (report mode)
        -- the envelope address as From: to see the report header
        if header then
            err = mt.header(conn, header, hvalue)
        else
            err = mt.header(conn, "From", (string.gsub(value, "^<(.*)>$", "%1")))
        end
        if err ~= nil then fail("header: %s", err) end
        if mt.eom(conn) ~= nil then fail("eom failed") end
        r = mt.getreply(conn)
        if r == SMFIR_CONTINUE or r == SMFIR_ACCEPT then
            m.action = "accept"
        elseif r ~= SMFIR_REPLYCODE then
            fail("end of DATA: reply %s", reply_name(r))
        else
            -- miltertest cannot show the text: is it -q's, or the row's?
            for _, want in ipairs({ q.verdict, verdict(row[5]) }) do
                if want.code ~= nil and
                   mt.eom_check(conn, MT_SMTPREPLY, want.code, want.xcode, doubled(want.text)) then
                    m.reply = verdict(want.line)
                    break
                end
            end
            if m.reply == nil then m.reply = verdict("a reply that is neither -q's nor the row's") end
            m.action = m.reply.action
        end
        m.added = mt.getheader(conn, "X-Homed-Milter", 0)
    else
        -- accepted at MAIL FROM: its line is logged at the end of DATA,
        -- with the queue id (homed-milter(8), LOGGING); what the end of
        -- DATA decides on miltertest's own From: is no part of the row
        if mt.eom(conn) ~= nil then fail("eom failed") end
        m.action = "accept"
    end
    disconnect(conn)
    m.log = logged(daemon, offset, login, stage)
    if header and m.action ~= "accept" then
        -- at debug each header address is logged as it is decided; the
        -- end of DATA logs the verdict it sends once more: left out here
        m.eom_log = table.remove(m.log)
    end
    if m.raw then
        local raw = raw_mail(daemon, login, value, POSTFIX)
        local action = ({ ["5"] = "reject", ["4"] = "tempfail" })[string.sub(raw, 1, 1)]
        m.reply = verdict((action or "?") .. " " .. raw)
        m.action = m.reply.action
    end
    return m
end

-- --- the comparison ---------------------------------------------------------------------------------

local function agree(row)
    local name, daemon, login, value, want, want_reason, want_would = table.unpack(row)
    local q = query(daemon, login, value)
    local problems = {}
    local function check(ok, fmt, ...)
        if not ok then table.insert(problems, string.format(fmt, ...)) end
    end
    -- -q against the row
    local q_reasons = table.concat(q.reasons, ", ")
    check(q.verdict.line == want, "-q says \"%s\", the row \"%s\"", q.verdict.line, want)
    check(q_reasons == want_reason, "-q's reasons are \"%s\", the row's \"%s\"", q_reasons, want_reason)
    check((q.would and q.would.line) == want_would, "-q would \"%s\", the row \"%s\"",
          tostring(q.would and q.would.line), tostring(want_would))
    local exits = { accept = "0", reject = "1", tempfail = "2" }
    check(q.exit == exits[q.verdict.action], "-q exits %s after \"%s\"", tostring(q.exit), q.verdict.action)
    -- the milter against -q
    local m = milter(row, q)
    check(m.action == q.verdict.action, "the milter's action is %s, -q's %s", tostring(m.action), q.verdict.action)
    if m.reply ~= nil then
        check(m.reply.line == q.verdict.line, "the milter replies \"%s\", -q says \"%s\"",
              m.reply.line, q.verdict.line)
    end
    local m_reasons, m_lines = {}, {}
    for _, l in ipairs(m.log) do
        table.insert(m_reasons, tostring(l.reason))
        table.insert(m_lines, l.line)
    end
    -- in enforce mode the milter stops at the first address that fails;
    -- -q decides on every one
    local last = m.log[#m.log]
    if #m.log < #q.reasons and last ~= nil and last.decision ~= "accept" and not last.report then
        q_reasons = table.concat(q.reasons, ", ", 1, #m.log)
    end
    check(table.concat(m_reasons, ", ") == q_reasons, "the daemon logged reasons \"%s\", -q says \"%s\"%s",
          table.concat(m_reasons, ", "), q_reasons, "\n    " .. table.concat(m_lines, "\n    "))
    local said = speaking(m.log)
    if said ~= nil then
        local decision = q.would and q.would.action or q.verdict.action
        check(said.decision == decision, "the daemon logged %s, -q %s %s (%s)", tostring(said.decision),
              q.would and "would" or "says", decision, said.line)
        check(m.eom_log == nil or (m.eom_log.reason == said.reason and m.eom_log.decision == said.decision),
              "at the end of DATA the daemon logged \"%s\", after \"%s\"", m.eom_log and m.eom_log.line,
              said.line)
        check(said.report == (q.would ~= nil), "the daemon's line is %sa report line, -q's verdict %s (%s)",
              said.report and "" or "not ", q.would and "has a would" or "is plain", said.line)
    end
    if q.would ~= nil then
        local report = q.would.action .. " reason=" .. (said and said.reason or "?") .. " address="
        check(m.added ~= nil and string.sub(m.added, 1, #report) == report,
              "the milter added X-Homed-Milter: %s, -q would \"%s\"", tostring(m.added), report .. "...")
    end
    if #problems > 0 then
        fail("%s\n  -q printed:\n    %s", table.concat(problems, "\n  "),
             (string.gsub(string.gsub(q.out, "\n$", ""), "\n", "\n    ")))
    end
end

local cases = {}
for _, row in ipairs(rows) do
    -- a TAP line holds no control byte
    local shown = string.gsub(row[4], "%c", "?")
    table.insert(cases, { name = "-q and the milter agree: " .. row[1] .. " (" .. shown .. ")",
                          daemon = row[2], run = function() agree(row) end })
end
run_cases(cases)

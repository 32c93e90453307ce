-- eight.lua - the 8-bit rule (homed-milter.conf(5), eight_bit.*, and
-- "8-BIT CONTENT"), one message per case unless a case says otherwise
--
--   miltertest -D lib=DIR -D dir=WORKDIR -D phase=PHASE -s eight.lua
--
-- The daemons (run.sh starts them):
--   main              every 8-bit rule off
--   noheaders         every 8-bit rule off, policy.header_fields = []
--   eight_undeclared  eight_bit.undeclared = "reject"
--   eight_seven       eight_bit.seven_bit_only = true
--   eight_domains     eight_bit.seven_bit_only_domains =
--                     [ "domino.example.com", "lotus.example.net" ]
--   eight_all         the three at once
--   eight_report      policy.mode = "report", undeclared = "reject" and
--                     the two domains
--   eight_report7     policy.mode = "report", seven_bit_only = true
--   eight_bare        policy.header_fields = [], seven_bit_only = true
-- Phases: up (slapd running), down (slapd stopped).
-- Login janed owns janed@example.com and is homed here (etc/example.ldif);
-- a client that did not authenticate sends as anna@example.org.
dofile(lib .. "/common.lua")

local CAFE = "caf\195\169" -- "café" in UTF-8: two bytes >= 0x80

-- headers and body chunks, in 7-bit and with 8-bit data
local H7 = { { "From", "Anna <anna@example.org>" }, { "Subject", "lunch" } }
local H8 = { { "From", "Anna <anna@example.org>" }, { "Subject", "un " .. CAFE .. " ?" } }
local H8_NAME = { { "From", "Anna <anna@example.org>" }, { "X-Caf\195\169", "lunch" } }
local JANE7 = { { "From", "Jane Doe <janed@example.com>" }, { "Subject", "lunch" } }
local FORGED = { { "From", "John Doe <JohnD@COMPANY1.com>" }, { "Subject", "lunch" } }
local B7 = { "Hello,\r\n", "see you at noon.\r\n" }
local B8 = { "Hello,\r\n", "un " .. CAFE .. " ?\r\n" }
local ANNA = "<anna@example.org>"
local JANE = "<janed@example.com>"
local DECLARED = { "BODY=8BITMIME" }

-- the exact replies
local UNDECLARED = { "554", "5.6.1", "Undeclared 8-bit data (BODY=8BITMIME missing)" }
local SEVEN = { "554", "5.6.3", "Conversion to 7-bit required but not supported" }
local function to_domain(domain)
    return { "554", "5.6.3", "8-bit data cannot be relayed to " .. domain .. " (7-bit only); resend as 7-bit" }
end
local DOMINO = to_domain("domino.example.com")
local HOMED = { "554", "5.7.1", "Mailbox is not local: JohnD@COMPANY1.com" }

-- line(qid, login, sender, verdict, reason, stage[, domain]): a whole log line
-- from the queue id on (the "\n" asserts nothing follows)
local function line(qid, login, sender, verdict, reason, stage, domain)
    return string.format("%s: login=%s sender=%s %s reason=%s stage=%s%s\n", qid, login, sender,
                         verdict, reason, stage, domain and " domain=" .. domain or "")
end

-- no header added, changed or deleted
local function untouched(t)
    t.nohdrchange = true
    t.nohdradd = "X-Homed-Milter"
    return t
end

-- options(daemon, want[, offer]): a case's run(): the protocol steps the
-- milter asks for when the MTA offers OFFER (default every one): WANT is
-- a list of SMFIP_ names without the prefix, each after "+" (asked for)
-- or "-" (not asked for), e.g. "+SKIP -NOBODY"
local function options(daemon, want, offer)
    return function()
        local conn = connect(daemon, POSTFIX, offer)
        for sign, opt in string.gmatch(want, "([+-])([%w_]+)") do
            if mt.test_option(conn, _G["SMFIP_" .. opt]) ~= (sign == "+") then
                fail("SMFIP_%s %s", opt, sign == "+" and "not negotiated" or "negotiated")
            end
        end
        disconnect(conn)
    end
end

-- messages(daemon, ...): a case's run(): the messages, one after the other
-- on one connection (nothing of one may stay for the next)
local function messages(daemon, ...)
    local list = { ... }
    return function()
        local conn = connect(daemon, POSTFIX)
        for i, t in ipairs(list) do
            local ok, err = pcall(message, conn, t)
            if not ok then fail("message %d: %s", i, err) end
        end
        disconnect(conn)
    end
end

local ALL_BUT_SKIP_NR_RCPT = 0x1FFFFF - SMFIP_SKIP - SMFIP_NR_RCPT

local cases = {
    -- --- negotiation ---------------------------------------------------------------
    { name = "every 8-bit rule off: body and RCPT negotiated away (NOBODY, NORCPT), no SKIP",
      run = options("main", "+NOBODY +NORCPT +NR_HDR -SKIP -NR_RCPT -NOHDRS") },
    { name = "every 8-bit rule off, header_fields = []: headers negotiated away too (NOHDRS)",
      run = options("noheaders", "+NOBODY +NORCPT +NOHDRS -SKIP -NR_HDR") },
    { name = "undeclared = reject: body and headers asked for, SKIP; RCPT still negotiated away",
      run = options("eight_undeclared", "+SKIP +NORCPT +NR_HDR -NOBODY -NOHDRS -NR_RCPT") },
    { name = "seven_bit_only: body and headers asked for, SKIP; RCPT still negotiated away",
      run = options("eight_seven", "+SKIP +NORCPT +NR_HDR -NOBODY -NOHDRS -NR_RCPT") },
    { name = "seven_bit_only_domains: RCPT asked for with no reply (NR_RCPT), body, headers, SKIP",
      run = options("eight_domains", "+SKIP +NR_RCPT +NR_HDR -NOBODY -NOHDRS -NORCPT") },
    { name = "seven_bit_only with header_fields = []: the headers are still asked for (no NOHDRS)",
      run = options("eight_bare", "+SKIP +NORCPT +NR_HDR -NOBODY -NOHDRS") },
    { name = "report mode with the domains: RCPT, body, headers asked for, SKIP",
      run = options("eight_report", "+SKIP +NR_RCPT +NR_HDR -NOBODY -NOHDRS -NORCPT") },
    { name = "an MTA offering neither SKIP nor NR_RCPT: RCPT asked for with a reply, no SKIP",
      run = options("eight_domains", "-SKIP -NR_RCPT -NORCPT -NOBODY", ALL_BUT_SKIP_NR_RCPT) },

    -- --- every rule off (main) ------------------------------------------------------------
    { name = "rules off, unauthenticated: accepted at MAIL FROM, no further callbacks",
      sender = ANNA, mail = "accept",
      log = { "login=(none) sender=anna@example.org accept reason=unauthenticated stage=mail" } },
    { name = "rules off, owner: 8-bit header without BODY=8BITMIME accepted, untouched",
      login = "janed", sender = JANE,
      headers = { { "From", "Jane Doe <janed@example.com>" }, { "Subject", CAFE } },
      nohdrchange = true, nohdradd = "X-Homed-Milter",
      nolog = { "undeclared-8bit", "7bit-only" } },

    -- --- undeclared = "reject" ---------------------------------------------------------
    { name = "undeclared: unauthenticated, 8-bit body, no BODY=: MAIL goes on, 554 5.6.1 at end of DATA",
      daemon = "eight_undeclared", eom_qid = "8B00000001", sender = ANNA, headers = H7, body = B8,
      eom = UNDECLARED,
      log = { line("8B00000001", "(none)", "anna@example.org", "accept", "unauthenticated", "mail"),
              line("8B00000001", "(none)", "anna@example.org", "reject", "undeclared-8bit", "body") } },
    { name = "undeclared: 8-bit in a header value: 554 5.6.1, stage=header",
      daemon = "eight_undeclared", eom_qid = "8B00000002", sender = ANNA, headers = H8, body = B7,
      eom = UNDECLARED,
      log = { line("8B00000002", "(none)", "anna@example.org", "reject", "undeclared-8bit", "header") } },
    { name = "undeclared: 8-bit in a header name: 554 5.6.1, stage=header",
      daemon = "eight_undeclared", eom_qid = "8B00000003", sender = ANNA, headers = H8_NAME, body = B7,
      eom = UNDECLARED,
      log = { line("8B00000003", "(none)", "anna@example.org", "reject", "undeclared-8bit", "header") } },
    { name = "undeclared: 8-bit in a header and in the body: logged where it came first, stage=header",
      daemon = "eight_undeclared", eom_qid = "8B00000008", sender = ANNA, headers = H8, body = B8,
      eom = UNDECLARED,
      log = { line("8B00000008", "(none)", "anna@example.org", "reject", "undeclared-8bit", "header") } },
    untouched({ name = "undeclared: BODY=8BITMIME declared: accepted, untouched",
      daemon = "eight_undeclared", sender = ANNA, args = DECLARED, headers = H8, body = B8,
      nolog = { "undeclared-8bit" } }),
    untouched({ name = "undeclared: body=8bitmime (lower case) declared: accepted",
      daemon = "eight_undeclared", sender = ANNA, args = { "body=8bitmime" }, headers = H8, body = B8,
      nolog = { "undeclared-8bit" } }),
    untouched({ name = "undeclared: SMTPUTF8 declared: accepted",
      daemon = "eight_undeclared", sender = ANNA, args = { "SMTPUTF8" }, headers = H8, body = B8,
      nolog = { "undeclared-8bit" } }),
    untouched({ name = "undeclared: BODY=BINARYMIME declared: accepted",
      daemon = "eight_undeclared", sender = ANNA, args = { "BODY=BINARYMIME" }, headers = H7, body = B8,
      nolog = { "undeclared-8bit" } }),
    untouched({ name = "undeclared: BODY=8BITMIME after another argument (SIZE=): accepted",
      daemon = "eight_undeclared", sender = ANNA, args = { "SIZE=1234", "BODY=8BITMIME" }, headers = H7,
      body = B8, nolog = { "undeclared-8bit" } }),
    { name = "undeclared: BODY=7BIT declared: 554 5.6.1",
      daemon = "eight_undeclared", sender = ANNA, args = { "BODY=7BIT" }, headers = H7, body = B8,
      eom = UNDECLARED },
    { name = "undeclared: SIZE= alone declares nothing: 554 5.6.1",
      daemon = "eight_undeclared", sender = ANNA, args = { "SIZE=1234" }, headers = H8, body = B7,
      eom = UNDECLARED },
    untouched({ name = "undeclared: a 7-bit message without BODY=: accepted, untouched, nothing refused in the log",
      daemon = "eight_undeclared", eom_qid = "8B00000004", sender = ANNA, headers = H7, body = B7,
      log = { line("8B00000004", "(none)", "anna@example.org", "accept", "unauthenticated", "mail") },
      nolog = { "reject" } }),
    { name = "undeclared: the null sender, 8-bit body: 554 5.6.1, logged as sender=<>",
      daemon = "eight_undeclared", eom_qid = "8B00000005", sender = "<>", headers = H7, body = B8,
      eom = UNDECLARED,
      log = { line("8B00000005", "(none)", "<>", "reject", "undeclared-8bit", "body") } },
    { name = "undeclared: authenticated owner, 8-bit body: 554 5.6.1, logged with the login",
      daemon = "eight_undeclared", eom_qid = "8B00000006", login = "janed", sender = JANE,
      headers = JANE7, body = B8, eom = UNDECLARED,
      log = { line("8B00000006", "janed", "janed@example.com", "accept", "owned", "mail"),
              line("8B00000006", "janed", "janed@example.com", "reject", "undeclared-8bit", "body") } },
    untouched({ name = "undeclared: authenticated owner, 7-bit: accepted, untouched",
      daemon = "eight_undeclared", login = "janed", sender = JANE, headers = JANE7, body = B7 }),
    { name = "undeclared: authenticated, From: not owned, 8-bit: the homed reply (554 5.7.1)",
      daemon = "eight_undeclared", eom_qid = "8B00000007", login = "janed", sender = JANE,
      headers = FORGED, body = B8, eom = HOMED,
      log = { "8B00000007: login=janed From=JohnD@COMPANY1.com reject reason=not-owned stage=header\n" },
      nolog = { "undeclared-8bit" } },
    { name = "undeclared: unauthenticated, the same From: (no homed rule for it): 554 5.6.1",
      daemon = "eight_undeclared", sender = ANNA, headers = FORGED, body = B8, eom = UNDECLARED,
      nolog = { "not-owned" } },

    -- --- seven_bit_only = true ---------------------------------------------------------
    { name = "seven_bit_only: 8-bit body, even declared: 554 5.6.3 Conversion to 7-bit",
      daemon = "eight_seven", eom_qid = "8B00000011", sender = ANNA, args = DECLARED, headers = H7,
      body = B8, eom = SEVEN,
      log = { line("8B00000011", "(none)", "anna@example.org", "reject", "7bit-only", "body") } },
    { name = "seven_bit_only: 8-bit header, undeclared (undeclared = accept): 554 5.6.3, stage=header",
      daemon = "eight_seven", eom_qid = "8B00000012", sender = ANNA, headers = H8, body = B7,
      eom = SEVEN,
      log = { line("8B00000012", "(none)", "anna@example.org", "reject", "7bit-only", "header") } },
    untouched({ name = "seven_bit_only: a 7-bit message: accepted, untouched",
      daemon = "eight_seven", sender = ANNA, args = DECLARED, headers = H7, body = B7,
      nolog = { "reject" } }),
    { name = "seven_bit_only: authenticated owner, 8-bit: 554 5.6.3, logged with the login",
      daemon = "eight_seven", eom_qid = "8B00000013", login = "janed", sender = JANE, args = DECLARED,
      headers = JANE7, body = B8, eom = SEVEN,
      log = { line("8B00000013", "janed", "janed@example.com", "reject", "7bit-only", "body") } },
    untouched({ name = "seven_bit_only: authenticated owner, 7-bit: accepted, untouched",
      daemon = "eight_seven", login = "janed", sender = JANE, headers = JANE7, body = B7 }),
    { name = "seven_bit_only: authenticated, From: not owned, 8-bit: the homed reply (554 5.7.1)",
      daemon = "eight_seven", login = "janed", sender = JANE, headers = FORGED, body = B8, eom = HOMED,
      nolog = { "7bit-only" } },

    -- --- seven_bit_only_domains ------------------------------------------------------------
    { name = "7-bit-only domain: a recipient in it, 8-bit body: 554 5.6.3 naming the domain",
      daemon = "eight_domains", eom_qid = "8B00000021", sender = ANNA, args = DECLARED,
      rcpts = { "<bob@domino.example.com>" }, headers = H7, body = B8, eom = DOMINO,
      log = { line("8B00000021", "(none)", "anna@example.org", "reject", "7bit-only-domain", "body",
                   "domino.example.com") } },
    { name = "7-bit-only domain: 8-bit in a header, undeclared (undeclared = accept): 554 5.6.3, stage=header",
      daemon = "eight_domains", eom_qid = "8B00000022", sender = ANNA,
      rcpts = { "<bob@domino.example.com>" }, headers = H8, body = B7, eom = DOMINO,
      log = { line("8B00000022", "(none)", "anna@example.org", "reject", "7bit-only-domain", "header",
                   "domino.example.com") } },
    { name = "7-bit-only domain: a subdomain in another case: the reply names the configured entry",
      daemon = "eight_domains", eom_qid = "8B00000023", sender = ANNA,
      rcpts = { "<Bob@Mail.DOMINO.Example.Com>" }, headers = H7, body = B8, eom = DOMINO,
      log = { " domain=domino.example.com\n" } },
    { name = "7-bit-only domain: a trailing dot (<bob@domino.example.com.>): 554 5.6.3",
      daemon = "eight_domains", sender = ANNA, rcpts = { "<bob@domino.example.com.>" }, headers = H7,
      body = B8, eom = DOMINO },
    { name = "7-bit-only domain: the list's second entry: the reply names it",
      daemon = "eight_domains", sender = ANNA, rcpts = { "<carol@lotus.example.net>" }, headers = H7,
      body = B8, eom = to_domain("lotus.example.net"),
      log = { "reason=7bit-only-domain stage=body domain=lotus.example.net\n" } },
    { name = "7-bit-only domain: the recipient second, after one elsewhere: 554 5.6.3",
      daemon = "eight_domains", sender = ANNA,
      rcpts = { "<dave@example.net>", "<bob@domino.example.com>" }, headers = H7, body = B8,
      eom = DOMINO },
    { name = "7-bit-only domain: two such recipients: the first one's entry is named",
      daemon = "eight_domains", sender = ANNA,
      rcpts = { "<carol@lotus.example.net>", "<bob@domino.example.com>" }, headers = H7, body = B8,
      eom = to_domain("lotus.example.net") },
    untouched({ name = "7-bit-only domain: notdomino.example.com is not under it: accepted",
      daemon = "eight_domains", sender = ANNA, rcpts = { "<bob@notdomino.example.com>" }, headers = H8,
      body = B8, nolog = { "reject" } }),
    untouched({ name = "7-bit-only domain: example.com (the parent) is not under it: accepted",
      daemon = "eight_domains", sender = ANNA, rcpts = { "<bob@example.com>" }, headers = H8,
      body = B8, nolog = { "reject" } }),
    untouched({ name = "7-bit-only domain: a recipient in another domain, 8-bit: accepted, untouched",
      daemon = "eight_domains", sender = ANNA, rcpts = { "<dave@example.net>" }, headers = H8,
      body = B8, nolog = { "reject" } }),
    untouched({ name = "7-bit-only domain: a recipient in it, 7-bit message: accepted, untouched",
      daemon = "eight_domains", sender = ANNA, rcpts = { "<bob@domino.example.com>" }, headers = H7,
      body = B7, nolog = { "reject" } }),
    { name = "7-bit-only domain: authenticated owner: 554 5.6.3, logged with the login",
      daemon = "eight_domains", eom_qid = "8B00000024", login = "janed", sender = JANE, args = DECLARED,
      rcpts = { "<bob@domino.example.com>" }, headers = JANE7, body = B8, eom = DOMINO,
      log = { line("8B00000024", "janed", "janed@example.com", "reject", "7bit-only-domain", "body",
                   "domino.example.com") } },
    untouched({ name = "7-bit-only domain: authenticated owner, 7-bit: accepted, untouched",
      daemon = "eight_domains", login = "janed", sender = JANE, rcpts = { "<bob@domino.example.com>" },
      headers = JANE7, body = B7 }),
    { name = "7-bit-only domain: authenticated, From: not owned, 8-bit: the homed reply (554 5.7.1)",
      daemon = "eight_domains", login = "janed", sender = JANE, rcpts = { "<bob@domino.example.com>" },
      headers = FORGED, body = B8, eom = HOMED, nolog = { "7bit-only-domain" } },
    { name = "7-bit-only domain: an MTA offering neither SKIP nor NR_RCPT: RCPT answered, every chunk continue, 554 5.6.3",
      daemon = "eight_domains", offer = ALL_BUT_SKIP_NR_RCPT, sender = ANNA,
      rcpts = { "<dave@example.net>", "<bob@domino.example.com>" }, headers = H7,
      body = { "Hello,\r\n", CAFE .. "\r\n", "more\r\n" },
      body_replies = { "continue", "continue", "continue" }, eom = DOMINO },

    -- --- several rules: undeclared, then seven_bit_only, then the domain ------------------------------
    { name = "all rules, undeclared 8-bit to a 7-bit-only domain: 554 5.6.1 (undeclared first)",
      daemon = "eight_all", eom_qid = "8B00000031", sender = ANNA, rcpts = { "<bob@domino.example.com>" },
      headers = H7, body = B8, eom = UNDECLARED,
      log = { line("8B00000031", "(none)", "anna@example.org", "reject", "undeclared-8bit", "body") } },
    { name = "all rules, declared 8-bit to a 7-bit-only domain: 554 5.6.3 Conversion (seven_bit_only before the domain)",
      daemon = "eight_all", eom_qid = "8B00000032", sender = ANNA, args = DECLARED,
      rcpts = { "<bob@domino.example.com>" }, headers = H7, body = B8, eom = SEVEN,
      log = { line("8B00000032", "(none)", "anna@example.org", "reject", "7bit-only", "body") } },
    untouched({ name = "all rules, undeclared 7-bit message to a 7-bit-only domain: accepted, untouched",
      daemon = "eight_all", sender = ANNA, rcpts = { "<bob@domino.example.com>" }, headers = H7,
      body = B7, nolog = { "reject" } }),
    { name = "all rules, authenticated, From: not owned, undeclared 8-bit: the homed reply (554 5.7.1)",
      daemon = "eight_all", login = "janed", sender = JANE, rcpts = { "<bob@domino.example.com>" },
      headers = FORGED, body = B8, eom = HOMED },

    -- --- SMFIS_SKIP: the rest of the body is declined once 8-bit data is found ------------------------
    { name = "SKIP: 7-bit chunks continue, the chunk holding 8-bit data is answered skip",
      daemon = "eight_undeclared", sender = ANNA, headers = H7,
      body = { "one\r\n", "two\r\n", "three " .. CAFE .. "\r\n" },
      body_replies = { "continue", "continue", "skip" }, eom = UNDECLARED },
    { name = "SKIP: 8-bit data in the first chunk: answered skip",
      daemon = "eight_seven", sender = ANNA, headers = H7, body = { CAFE .. "\r\n" },
      body_replies = { "skip" }, eom = SEVEN },
    { name = "SKIP: 8-bit data already in a header: the first body chunk is answered skip",
      daemon = "eight_undeclared", sender = ANNA, headers = H8, body = { "plain\r\n" },
      body_replies = { "skip" }, eom = UNDECLARED },
    { name = "SKIP: a 1-byte 7-bit chunk continues; 0x80 as the last byte of a 17-byte chunk: skip",
      daemon = "eight_seven", sender = ANNA, headers = H7, body = { "a", "0123456789abcdef\128" },
      body_replies = { "continue", "skip" }, eom = SEVEN },
    { name = "SKIP: a lone 0xFF byte is 8-bit data",
      daemon = "eight_seven", sender = ANNA, headers = H7, body = { "\255" }, body_replies = { "skip" },
      eom = SEVEN },
    untouched({ name = "0x7F (DEL) and control bytes are 7-bit: accepted, every chunk continue",
      daemon = "eight_seven", sender = ANNA, headers = { { "From", "anna@example.org" }, { "Subject", "x\127y" } },
      body = { "\127\127\127\127\127\127\127\127\127", "\1\31\127\r\n" },
      body_replies = { "continue", "continue" } }),
    { name = "SKIP: a 7-bit body: every chunk continue",
      daemon = "eight_undeclared", sender = ANNA, headers = H7, body = { "one\r\n", "two\r\n", "three\r\n" },
      body_replies = { "continue", "continue", "continue" } },
    { name = "SKIP: declared 8-bit data (nothing to refuse): still skip once found",
      daemon = "eight_undeclared", sender = ANNA, args = DECLARED, headers = H7,
      body = { "one\r\n", CAFE .. "\r\n" }, body_replies = { "continue", "skip" } },
    { name = "SKIP: report mode too",
      daemon = "eight_report", sender = ANNA, headers = H7, body = { "one\r\n", CAFE .. "\r\n" },
      body_replies = { "continue", "skip" },
      hdradd = { "X-Homed-Milter", "reject reason=undeclared-8bit address=anna@example.org" } },

    -- --- report mode -------------------------------------------------------------------------
    { name = "report: undeclared 8-bit: accepted, the report header says undeclared-8bit",
      daemon = "eight_report", eom_qid = "8B00000041", sender = ANNA, headers = H7, body = B8,
      hdradd = { "X-Homed-Milter", "reject reason=undeclared-8bit address=anna@example.org" },
      log = { line("8B00000041", "(none)", "anna@example.org", "report reject", "undeclared-8bit", "body") } },
    { name = "report: 8-bit to a 7-bit-only domain: accepted, the report header names the domain",
      daemon = "eight_report", eom_qid = "8B00000042", sender = ANNA, args = DECLARED,
      rcpts = { "<bob@domino.example.com>" }, headers = H7, body = B8,
      hdradd = { "X-Homed-Milter",
                 "reject reason=7bit-only-domain address=anna@example.org domain=domino.example.com" },
      log = { line("8B00000042", "(none)", "anna@example.org", "report reject", "7bit-only-domain", "body",
                   "domino.example.com") } },
    { name = "report: 8-bit in a header, to a subdomain: logged stage=header, the entry named",
      daemon = "eight_report", eom_qid = "8B00000043", sender = ANNA, args = { "SMTPUTF8" },
      rcpts = { "<bob@x.lotus.example.net>" }, headers = H8, body = B7,
      hdradd = { "X-Homed-Milter",
                 "reject reason=7bit-only-domain address=anna@example.org domain=lotus.example.net" },
      log = { line("8B00000043", "(none)", "anna@example.org", "report reject", "7bit-only-domain", "header",
                   "lotus.example.net") } },
    { name = "report: seven_bit_only: the report header says 7bit-only",
      daemon = "eight_report7", eom_qid = "8B00000044", sender = ANNA, args = DECLARED, headers = H7,
      body = B8, hdradd = { "X-Homed-Milter", "reject reason=7bit-only address=anna@example.org" },
      log = { line("8B00000044", "(none)", "anna@example.org", "report reject", "7bit-only", "body") } },
    { name = "report: the null sender: address=<>",
      daemon = "eight_report", sender = "<>", headers = H7, body = B8,
      hdradd = { "X-Homed-Milter", "reject reason=undeclared-8bit address=<>" } },
    { name = "report: authenticated owner: the header names the envelope sender, logged with the login",
      daemon = "eight_report", eom_qid = "8B00000045", login = "janed", sender = JANE, headers = JANE7,
      body = B8, hdradd = { "X-Homed-Milter", "reject reason=undeclared-8bit address=janed@example.com" },
      log = { line("8B00000045", "janed", "janed@example.com", "report reject", "undeclared-8bit", "body") } },
    { name = "report: From: not owned and 8-bit: the homed report wins",
      daemon = "eight_report", eom_qid = "8B00000046", login = "janed", sender = JANE,
      rcpts = { "<bob@domino.example.com>" }, headers = FORGED, body = B8,
      hdradd = { "X-Homed-Milter", "reject reason=not-owned address=JohnD@COMPANY1.com" },
      log = { "8B00000046: login=janed From=JohnD@COMPANY1.com report reject reason=not-owned stage=header\n" },
      nolog = { "undeclared-8bit", "7bit-only-domain" } },
    { name = "report: the client's own report header is deleted, the milter's added",
      daemon = "eight_report", sender = ANNA,
      headers = { { "From", "anna@example.org" }, { "X-Homed-Milter", "accept" } }, body = B8,
      hdrdelete = "X-Homed-Milter",
      hdradd = { "X-Homed-Milter", "reject reason=undeclared-8bit address=anna@example.org" } },
    untouched({ name = "report: a 7-bit message to a 7-bit-only domain: no header, nothing logged as refused",
      daemon = "eight_report", sender = ANNA, rcpts = { "<bob@domino.example.com>" }, headers = H7,
      body = B7, nolog = { "reject" } }),
    untouched({ name = "report: declared 8-bit elsewhere: no header",
      daemon = "eight_report", sender = ANNA, args = DECLARED, rcpts = { "<dave@example.net>" },
      headers = H8, body = B8, nolog = { "reject" } }),

    -- --- header_fields = [] with a rule on ---------------------------------------------------------
    { name = "header_fields = [], seven_bit_only: 8-bit in a header still refused (554 5.6.3)",
      daemon = "eight_bare", sender = ANNA, headers = H8, body = B7, eom = SEVEN,
      log = { "reject reason=7bit-only stage=header\n" } },
    untouched({ name = "header_fields = [], seven_bit_only: no field checked: a forged 7-bit From: accepted",
      daemon = "eight_bare", login = "janed", sender = JANE, headers = FORGED, body = B7 }),

    -- --- several messages on one connection: nothing of one stays for the next -------------------------
    { name = "one connection: BODY=8BITMIME of the first message does not declare the second",
      run = messages("eight_undeclared",
                     { sender = ANNA, args = DECLARED, headers = H7, body = B8 },
                     { sender = ANNA, headers = H7, body = B8, eom = UNDECLARED }) },
    { name = "one connection: a 7-bit-only recipient of the first message does not stay for the second",
      run = messages("eight_domains",
                     { sender = ANNA, rcpts = { "<bob@domino.example.com>" }, headers = H7, body = B7 },
                     { sender = ANNA, rcpts = { "<dave@example.net>" }, headers = H7, body = B8 }) },
    { name = "one connection: 8-bit data of a refused message does not stay for the next (its chunks continue)",
      run = messages("eight_seven",
                     { sender = ANNA, headers = H8, body = { "plain\r\n" }, body_replies = { "skip" }, eom = SEVEN },
                     untouched({ sender = ANNA, headers = H7, body = B7,
                                 body_replies = { "continue", "continue" } })) },

    -- --- slapd stopped -------------------------------------------------------------------------
    { phase = "down", name = "slapd stopped: unauthenticated 8-bit to a 7-bit-only domain still refused (no lookup)",
      daemon = "eight_domains", sender = ANNA, rcpts = { "<bob@domino.example.com>" }, headers = H7,
      body = B8, eom = DOMINO },
    { phase = "down", name = "slapd stopped: an authenticated client gets 451 at MAIL first",
      daemon = "eight_domains", login = "janed", sender = JANE, mail = "tempfail" },
}

run_cases(cases)

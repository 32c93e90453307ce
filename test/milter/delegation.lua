-- delegation.lua - send as, send on behalf, @domain owners, international
-- domains and trusted logins (homed-milter.conf(5): ldap.delegation_filter,
-- ldap.on_behalf_filter, ldap.address_attributes, policy.trusted_logins),
-- one message per case
--
--   miltertest -D lib=DIR -D dir=WORKDIR -D phase=PHASE -s delegation.lua
--
-- The daemons (run.sh starts them), each with
--   ldap.delegation_filter = "(&(|(mail=%s)(mailLocalAddress=%s))(seeAlso=%D))"
--   ldap.on_behalf_filter = "(&(mail=%s)(secretary=%D))"
--   policy.trusted_logins = [ "lists" ]
--   log_level = "debug" (an accepted header address is logged at debug only)
-- and:
--   deleg         enforce, no cache (every search asks LDAP)
--   deleg_report  policy.mode = "report"
--   deleg_cache   cache.ttl = 300, cache.negative_ttl = 60: answers kept
-- Phases: up (slapd running), down (slapd stopped: what the cache kept
-- still answers; a trusted login needs no directory).
--
-- The directory (etc/example.ldif, test/milter/delegation.ldif): janed owns
-- janed@example.com and jane.doe@example.com, may send as sales@example.com
-- (seeAlso) and kiosk@xn--bcher-kva.example, and on behalf of
-- bob@example.com (secretary); alice may do neither. scanner owns
-- @example.net; buecher owns info@xn--bcher-kva.example (info@bücher.example).
-- shared@example.com is granted to janed by two entries; remote@company1.com
-- (send as) and boss@company1.com (on behalf) by entries homed elsewhere;
-- desk@example.com to night, whose entry is cn=Night (Ops)*,ou=people,...
-- "lists" has no entry.
dofile(lib .. "/common.lua")

local NOT_LOCAL = "Mailbox is not local: "
local function r554(address) return { "554", "5.7.1", NOT_LOCAL .. address } end
local R451 = { "451", "4.3.0", "Directory unavailable, try again later" }

local BUECHER_U = "b\195\188cher.example" -- bücher.example, UTF-8
local BUECHER_A = "xn--bcher-kva.example"

-- Every case gets a queue id of its own, sent with MAIL (as Sendmail does),
-- so that each whole log line can be asserted with it.
local seq = 0

-- c(t): case T with defaults: daemon deleg, login janed, a queue id (none
-- with eom_qid, as Postfix sends it); each of t.lines, { what, address,
-- verdict, reason, stage[, rest] }, becomes a whole log line the daemon
-- must gain: "QID: login=LOGIN WHAT=ADDRESS VERDICT reason=REASON
-- stage=STAGE", nothing after it, or REST and anything after that.
local function c(t)
    seq = seq + 1
    t.daemon = t.daemon or "deleg"
    if t.login == nil then t.login = "janed" end
    if t.eom_qid == nil then t.qid = t.qid or string.format("DLG%04d", seq) end
    t.log = t.log or {}
    for _, l in ipairs(t.lines or {}) do
        table.insert(t.log, string.format("%s: login=%s %s=%s %s reason=%s stage=%s%s",
                                          t.qid or t.eom_qid, t.login, l[1], l[2], l[3], l[4],
                                          l[5], l[6] or "\n"))
    end
    return t
end

local JANE = "<janed@example.com>"
local SELF = { "Sender", "Jane Doe <janed@example.com>" }

local cases = {
    -- --- send as (ldap.delegation_filter): MAIL FROM, From: and Sender: alike ---------------
    c { name = "send as: MAIL FROM and From: sales@example.com (seeAlso janed): accepted, logged send-as",
        sender = "<sales@example.com>", headers = { { "From", "Sales <sales@example.com>" } },
        lines = { { "sender", "sales@example.com", "accept", "send-as", "mail" },
                  { "From", "sales@example.com", "accept", "send-as", "header" } } },
    c { name = "send as: MAIL FROM sales@example.com with her own From: accepted",
        sender = "<sales@example.com>", headers = { { "From", "Jane Doe <janed@example.com>" } },
        lines = { { "sender", "sales@example.com", "accept", "send-as", "mail" },
                  { "From", "janed@example.com", "accept", "owned", "header" } } },
    c { name = "send as: her own MAIL FROM, From: sales@example.com: accepted",
        sender = JANE, headers = { { "From", "Sales <sales@example.com>" } },
        lines = { { "sender", "janed@example.com", "accept", "owned", "mail" },
                  { "From", "sales@example.com", "accept", "send-as", "header" } } },
    c { name = "send as: the address in another case (Sales@EXAMPLE.COM): accepted",
        sender = "<Sales@EXAMPLE.COM>", headers = { { "From", "Sales@Example.com" } },
        lines = { { "sender", "Sales@EXAMPLE.COM", "accept", "send-as", "mail" },
                  { "From", "Sales@Example.com", "accept", "send-as", "header" } } },
    c { name = "send as: From: shared + Sender: herself: accepted",
        sender = JANE, headers = { { "From", "Sales <sales@example.com>" }, SELF },
        lines = { { "From", "sales@example.com", "accept", "send-as", "header" },
                  { "Sender", "janed@example.com", "accept", "owned", "header" } } },
    c { name = "send as: Sender: sales@example.com (a right in Sender: too): accepted",
        sender = JANE, headers = { { "From", "Jane Doe <janed@example.com>" },
                                   { "Sender", "sales@example.com" } },
        lines = { { "Sender", "sales@example.com", "accept", "send-as", "header" } } },
    c { name = "send as: one From: holding her own address and the shared one: accepted",
        sender = JANE, headers = { { "From", "janed@example.com, Sales <sales@example.com>" }, SELF },
        lines = { { "From", "sales@example.com", "accept", "send-as", "header" } } },
    c { name = "send as, Sendmail (v 8.17.1.9): MAIL FROM and From: sales@example.com accepted",
        mta = SENDMAIL, sender = "<sales@example.com>", headers = { { "From", "sales@example.com" } },
        lines = { { "sender", "sales@example.com", "accept", "send-as", "mail" } } },
    c { name = "send as, Postfix (queue id at end of DATA only): accepted, the send-as line under it",
        eom_qid = "9A0B1C2D3E", sender = "<sales@example.com>",
        headers = { { "From", "sales@example.com" } },
        log = { "9A0B1C2D3E: login=janed sender=sales@example.com accept reason=send-as stage=mail\n" },
        nolog = { "NOQUEUE: login=janed sender=sales@example.com" } },

    -- alice has no right over sales@example.com
    c { name = "send as: alice (no right) as MAIL FROM sales@example.com: 554 at MAIL naming it",
        login = "alice", sender = "<sales@example.com>", mail = "reject",
        mail_reply = r554("sales@example.com"),
        lines = { { "sender", "sales@example.com", "reject", "not-owned", "mail" } } },
    c { name = "send as: alice (no right), From: sales@example.com: 554 at end of DATA naming it",
        login = "alice", sender = "<alice@example.com>", headers = { { "From", "Sales <sales@example.com>" } },
        eom = r554("sales@example.com"),
        lines = { { "From", "sales@example.com", "reject", "not-owned", "header" } } },
    c { name = "send as: alice (no right), Sender: sales@example.com: 554 naming it",
        login = "alice", sender = "<alice@example.com>",
        headers = { { "From", "alice@example.com" }, { "Sender", "sales@example.com" } },
        eom = r554("sales@example.com"),
        lines = { { "Sender", "sales@example.com", "reject", "not-owned", "header" } } },

    -- every checked address must be owned or delegated
    c { name = "From: someone else + Sender: herself: 554 naming the From: address",
        sender = JANE, headers = { { "From", "Alice <alice@example.com>" }, SELF },
        eom = r554("alice@example.com"),
        lines = { { "From", "alice@example.com", "reject", "not-owned", "header" } } },
    c { name = "a forged From: + Sender: sales@example.com (delegated): 554 naming the From: address",
        sender = "<sales@example.com>",
        headers = { { "From", "John Doe <JohnD@COMPANY1.com>" }, { "Sender", "sales@example.com" } },
        eom = r554("JohnD@COMPANY1.com"),
        lines = { { "From", "JohnD@COMPANY1.com", "reject", "not-owned", "header" } } },
    c { name = "Sender: herself first, then a forged From: 554 naming the From: address",
        sender = JANE, headers = { SELF, { "From", "alice@example.com" } },
        eom = r554("alice@example.com") },
    c { name = "send as: the shared address, then a forged one in the same From: 554 naming the forged one",
        sender = JANE, headers = { { "From", "sales@example.com, alice@example.com" }, SELF },
        eom = r554("alice@example.com") },

    -- grants the milter must not take at face value (delegation.ldif)
    c { name = "send as, granted by two entries (shared@example.com): a directory error, 451 at MAIL",
        sender = "<shared@example.com>", mail = "tempfail", mail_reply = R451,
        lines = { { "sender", "shared@example.com", "tempfail", "directory-error", "mail", " error=" } } },
    c { name = "send as, granted by two entries, in From: 451 at end of DATA",
        sender = JANE, headers = { { "From", "shared@example.com" } }, eom = R451 },
    c { name = "send as, granted by an entry homed elsewhere (remote@company1.com): 554 at MAIL",
        sender = "<remote@company1.com>", mail = "reject", mail_reply = r554("remote@company1.com"),
        lines = { { "sender", "remote@company1.com", "reject", "not-owned", "mail" } } },
    c { name = "send as, granted by an entry homed elsewhere, in From: 554 naming it",
        sender = JANE, headers = { { "From", "remote@company1.com" } },
        eom = r554("remote@company1.com") },

    -- the values put in a filter are escaped (RFC 4515): a wildcard in the
    -- address matches nothing, a DN with "(", ")" and "*" matches itself
    c { name = "filter escaping: MAIL FROM sal*@example.com does not match sales@: 554 at MAIL",
        sender = "<sal*@example.com>", mail = "reject", mail_reply = r554("sal*@example.com"),
        lines = { { "sender", "sal*@example.com", "reject", "not-owned", "mail" } } },
    c { name = "filter escaping: MAIL FROM *@example.com matches no entry (not two): 554, no directory error",
        sender = "<*@example.com>", mail = "reject", mail_reply = r554("*@example.com"),
        lines = { { "sender", "*@example.com", "reject", "not-owned", "mail" } } },
    c { name = "filter escaping: From: b*b@example.com with her Sender: does not match bob@: 554 naming it",
        sender = JANE, headers = { { "From", "b*b@example.com" }, SELF }, eom = r554("b*b@example.com"),
        lines = { { "From", "b*b@example.com", "reject", "not-owned", "header" } } },
    c { name = "filter escaping: login night, entry DN cn=Night (Ops)*,...: send as desk@example.com accepted",
        login = "night", sender = "<desk@example.com>", headers = { { "From", "desk@example.com" } },
        lines = { { "sender", "desk@example.com", "accept", "send-as", "mail" },
                  { "From", "desk@example.com", "accept", "send-as", "header" } } },
    c { name = "filter escaping: janed as desk@example.com (granted to night only): 554 at MAIL",
        sender = "<desk@example.com>", mail = "reject", mail_reply = r554("desk@example.com") },

    -- --- send on behalf (ldap.on_behalf_filter): From: only, with her own Sender: ---------
    c { name = "on behalf: From: bob@example.com (secretary janed) + Sender: herself: accepted",
        sender = JANE, headers = { { "From", "Bob Boss <bob@example.com>" }, SELF },
        lines = { { "sender", "janed@example.com", "accept", "owned", "mail" },
                  { "From", "bob@example.com", "accept", "on-behalf", "header" },
                  { "Sender", "janed@example.com", "accept", "owned", "header" } },
        nolog = { " reject " } },
    c { name = "on behalf: Sender: before From: accepted",
        sender = JANE, headers = { SELF, { "From", "Bob Boss <bob@example.com>" } },
        lines = { { "From", "bob@example.com", "accept", "on-behalf", "header" } },
        nolog = { " reject " } },
    c { name = "on behalf: Sender: her alias jane.doe@example.com: accepted",
        sender = JANE, headers = { { "From", "bob@example.com" }, { "Sender", "jane.doe@example.com" } },
        nolog = { " reject " } },
    c { name = "on behalf, Sendmail (v 8.17.1.9): From: bob + Sender: herself accepted",
        mta = SENDMAIL, sender = JANE, headers = { { "From", "Bob Boss <bob@example.com>" }, SELF },
        lines = { { "From", "bob@example.com", "accept", "on-behalf", "header" } } },
    c { name = "on behalf: From: bob@example.com without Sender: 554 at end of DATA naming it",
        sender = JANE, headers = { { "From", "Bob Boss <bob@example.com>" } },
        eom = r554("bob@example.com"),
        lines = { { "From", "bob@example.com", "reject", "not-owned", "header" } } },
    c { name = "on behalf: From: bob with Sender: sales@example.com (send as, not owned): 554 naming bob",
        sender = JANE, headers = { { "From", "bob@example.com" }, { "Sender", "sales@example.com" } },
        eom = r554("bob@example.com"),
        lines = { { "Sender", "sales@example.com", "accept", "send-as", "header" },
                  { "From", "bob@example.com", "reject", "not-owned", "header" } } },
    c { name = "on behalf: From: bob with Sender: herself and alice: 554 naming alice",
        sender = JANE, headers = { { "From", "bob@example.com" },
                                   { "Sender", "janed@example.com, alice@example.com" } },
        eom = r554("alice@example.com"),
        lines = { { "Sender", "alice@example.com", "reject", "not-owned", "header" } } },
    c { name = "on behalf: From: bob with an empty Sender: 554 naming the malformed Sender:",
        sender = JANE, headers = { { "From", "bob@example.com" }, { "Sender", " " } },
        eom = r554("Sender:"),
        lines = { { "Sender", "Sender:", "reject", "malformed", "header" } } },
    c { name = "on behalf: never as MAIL FROM: bob@example.com 554 at MAIL",
        sender = "<bob@example.com>", mail = "reject", mail_reply = r554("bob@example.com"),
        lines = { { "sender", "bob@example.com", "reject", "not-owned", "mail" } } },
    c { name = "on behalf: never in Sender: Sender: bob@example.com 554 naming it",
        sender = JANE, headers = { { "From", "janed@example.com" }, { "Sender", "bob@example.com" } },
        eom = r554("bob@example.com"),
        lines = { { "Sender", "bob@example.com", "reject", "not-owned", "header" } } },
    c { name = "on behalf: From: bob + Sender: bob: 554 naming bob (the Sender:)",
        sender = JANE, headers = { { "From", "bob@example.com" }, { "Sender", "bob@example.com" } },
        eom = r554("bob@example.com"),
        lines = { { "Sender", "bob@example.com", "reject", "not-owned", "header" } } },
    c { name = "on behalf: alice (no right), From: bob + Sender: herself: 554 naming bob",
        login = "alice", sender = "<alice@example.com>",
        headers = { { "From", "bob@example.com" }, { "Sender", "alice@example.com" } },
        eom = r554("bob@example.com"),
        lines = { { "From", "bob@example.com", "reject", "not-owned", "header" } } },
    c { name = "on behalf, granted by an entry homed elsewhere (boss@company1.com): 554 naming it",
        sender = JANE, headers = { { "From", "boss@company1.com" }, SELF },
        eom = r554("boss@company1.com"),
        lines = { { "From", "boss@company1.com", "reject", "not-owned", "header" } } },

    -- report mode: accepted, the report header tells what enforce would do
    c { name = "report mode, on behalf without Sender: accepted, X-Homed-Milter names bob",
        daemon = "deleg_report", sender = JANE, headers = { { "From", "Bob Boss <bob@example.com>" } },
        hdradd = { "X-Homed-Milter", "reject reason=not-owned address=bob@example.com" },
        lines = { { "From", "bob@example.com", "report reject", "not-owned", "header" } } },
    c { name = "report mode, on behalf with Sender: herself: accepted, no header",
        daemon = "deleg_report", sender = JANE, headers = { { "From", "bob@example.com" }, SELF },
        nohdradd = "X-Homed-Milter", nolog = { " reject " } },
    c { name = "report mode, send as: accepted, no header",
        daemon = "deleg_report", sender = "<sales@example.com>", headers = { { "From", "sales@example.com" } },
        nohdradd = "X-Homed-Milter", nolog = { " reject " } },
    c { name = "report mode, a forged From: before an on-behalf one: the header names the forged one",
        daemon = "deleg_report", sender = JANE,
        headers = { { "From", "alice@example.com" }, { "From", "bob@example.com" } },
        hdradd = { "X-Homed-Milter", "reject reason=not-owned address=alice@example.com" } },

    -- --- a device account: @example.net owns that domain, not its subdomains ---------------
    c { name = "device account: scanner as copier@example.net (MAIL FROM and From:): accepted, owned",
        login = "scanner", sender = "<copier@example.net>",
        headers = { { "From", "Copier <copier@example.net>" } },
        lines = { { "sender", "copier@example.net", "accept", "owned", "mail" },
                  { "From", "copier@example.net", "accept", "owned", "header" } } },
    c { name = "device account: scanner as Anything@EXAMPLE.NET: accepted",
        login = "scanner", sender = "<Anything@EXAMPLE.NET>", headers = { { "From", "Anything@EXAMPLE.NET" } } },
    c { name = "device account: scanner as copier@sub.example.net: 554 at MAIL naming it",
        login = "scanner", sender = "<copier@sub.example.net>", mail = "reject",
        mail_reply = r554("copier@sub.example.net"),
        lines = { { "sender", "copier@sub.example.net", "reject", "not-owned", "mail" } } },
    c { name = "device account: scanner as copier@example.org: 554 at MAIL naming it",
        login = "scanner", sender = "<copier@example.org>", mail = "reject",
        mail_reply = r554("copier@example.org") },
    c { name = "device account: scanner as copier@example.com (only scanner@ is its own there): 554 at MAIL",
        login = "scanner", sender = "<copier@example.com>", mail = "reject",
        mail_reply = r554("copier@example.com") },
    c { name = "device account: its own envelope, From: copier@example.org: 554 at end of DATA naming it",
        login = "scanner", sender = "<scanner@example.com>", headers = { { "From", "copier@example.org" } },
        eom = r554("copier@example.org"),
        lines = { { "From", "copier@example.org", "reject", "not-owned", "header" } } },
    c { name = "device account: no one else owns example.net: janed as copier@example.net 554 at MAIL",
        sender = "<copier@example.net>", mail = "reject", mail_reply = r554("copier@example.net") },

    -- --- international domains (IDNA): one address, written in U-labels or A-labels ------------
    c { name = "IDNA: buecher as info@" .. BUECHER_U .. " (U-label) in MAIL FROM and From: accepted, owned",
        login = "buecher", sender = "<info@" .. BUECHER_U .. ">",
        headers = { { "From", "B\195\188cherstube <info@" .. BUECHER_U .. ">" } },
        lines = { { "sender", "info@" .. BUECHER_U, "accept", "owned", "mail" },
                  { "From", "info@" .. BUECHER_U, "accept", "owned", "header" } } },
    c { name = "IDNA: buecher as info@" .. BUECHER_A .. " (A-label) accepted, owned",
        login = "buecher", sender = "<info@" .. BUECHER_A .. ">", headers = { { "From", "info@" .. BUECHER_A } },
        lines = { { "sender", "info@" .. BUECHER_A, "accept", "owned", "mail" },
                  { "From", "info@" .. BUECHER_A, "accept", "owned", "header" } } },
    c { name = "IDNA: buecher as info@XN--BCHER-KVA.Example (A-label in upper case) accepted",
        login = "buecher", sender = "<info@XN--BCHER-KVA.Example>",
        headers = { { "From", "info@XN--BCHER-KVA.Example" } } },
    c { name = "IDNA: buecher as info@B\195\156CHER.example (U-label in upper case, TR46 maps it) accepted",
        login = "buecher", sender = "<info@B\195\156CHER.example>",
        headers = { { "From", "info@B\195\156CHER.example" } } },
    c { name = "IDNA: buecher as other@" .. BUECHER_U .. ": 554 at MAIL naming it (8-bit bytes shown as '?')",
        login = "buecher", sender = "<other@" .. BUECHER_U .. ">", mail = "reject",
        mail_reply = r554("other@b??cher.example"),
        lines = { { "sender", "other@" .. BUECHER_U, "reject", "not-owned", "mail" } } },
    c { name = "IDNA: an invalid label (x@xn--zz.example) in MAIL FROM: malformed, 554 at MAIL naming it",
        sender = "<x@xn--zz.example>", mail = "reject", mail_reply = r554("x@xn--zz.example"),
        lines = { { "sender", "x@xn--zz.example", "reject", "malformed", "mail" } } },
    c { name = "IDNA: an invalid label in From: malformed, 554 at end of DATA naming it",
        sender = JANE, headers = { { "From", "X <x@xn--zz.example>" } }, eom = r554("x@xn--zz.example"),
        lines = { { "From", "x@xn--zz.example", "reject", "malformed", "header" } } },
    c { name = "IDNA: buecher, an invalid label in the envelope of an owned-looking address: malformed",
        login = "buecher", sender = "<info@xn--zz.example>", mail = "reject",
        lines = { { "sender", "info@xn--zz.example", "reject", "malformed", "mail" } } },
    c { name = "IDNA, send as: janed as kiosk@" .. BUECHER_U .. " (stored as the A-label): accepted, send-as",
        sender = "<kiosk@" .. BUECHER_U .. ">", headers = { { "From", "kiosk@" .. BUECHER_A } },
        lines = { { "sender", "kiosk@" .. BUECHER_U, "accept", "send-as", "mail" },
                  { "From", "kiosk@" .. BUECHER_A, "accept", "send-as", "header" } } },
    c { name = "IDNA, send as: alice (no right) as kiosk@" .. BUECHER_U .. ": 554 at MAIL",
        login = "alice", sender = "<kiosk@" .. BUECHER_U .. ">", mail = "reject" },

    -- --- a trusted login: never checked, no lookup --------------------------------------------
    c { name = "trusted login lists (no entry): any MAIL FROM and From: accepted, logged trusted-login",
        login = "lists", sender = "<list-bounces@lists.example.org>",
        headers = { { "From", "John Doe <JohnD@COMPANY1.com>" }, { "Sender", "alice@example.com" } },
        lines = { { "sender", "list-bounces@lists.example.org", "accept", "trusted-login", "mail" } },
        nolog = { " reject ", "From=", "Sender=" } },
    c { name = "trusted login, Sendmail (v 8.17.1.9): accepted, trusted-login",
        mta = SENDMAIL, login = "lists", sender = "<bob@example.com>", headers = { { "From", "bob@example.com" } },
        lines = { { "sender", "bob@example.com", "accept", "trusted-login", "mail" } } },
    c { name = "trusted login: matched byte for byte (Lists is not lists): no entry, 554 at MAIL",
        login = "Lists", sender = "<list-bounces@lists.example.org>", mail = "reject",
        lines = { { "sender", "list-bounces@lists.example.org", "reject", "no-entry", "mail" } } },

    -- --- the cache: one login's grant never answers another's -----------------------------------
    c { name = "cache: janed as sales@example.com accepted (the grant kept)",
        daemon = "deleg_cache", sender = "<sales@example.com>", headers = { { "From", "sales@example.com" } },
        lines = { { "sender", "sales@example.com", "accept", "send-as", "mail" } } },
    c { name = "cache: then alice as sales@example.com: 554 at MAIL",
        daemon = "deleg_cache", login = "alice", sender = "<sales@example.com>", mail = "reject",
        mail_reply = r554("sales@example.com") },
    c { name = "cache: janed on behalf of bob accepted (the grant kept)",
        daemon = "deleg_cache", sender = JANE, headers = { { "From", "bob@example.com" }, SELF },
        nolog = { " reject " } },
    c { name = "cache: then alice, From: bob + Sender: herself: 554 naming bob",
        daemon = "deleg_cache", login = "alice", sender = "<alice@example.com>",
        headers = { { "From", "bob@example.com" }, { "Sender", "alice@example.com" } },
        eom = r554("bob@example.com") },
    c { name = "cache: janed as sales@example.com again: still accepted",
        daemon = "deleg_cache", sender = "<sales@example.com>", headers = { { "From", "sales@example.com" } } },

    -- --- slapd stopped ----------------------------------------------------------------------
    c { phase = "down", name = "slapd stopped, trusted login: accepted (no lookup)",
        login = "lists", sender = "<list-bounces@lists.example.org>",
        headers = { { "From", "JohnD@COMPANY1.com" } },
        lines = { { "sender", "list-bounces@lists.example.org", "accept", "trusted-login", "mail" } } },
    c { phase = "down", name = "slapd stopped, no cache: janed as sales@example.com 451 at MAIL",
        sender = "<sales@example.com>", mail = "tempfail" },
    c { phase = "down", name = "slapd stopped, cache: janed as sales@example.com (kept) accepted",
        daemon = "deleg_cache", sender = "<sales@example.com>", headers = { { "From", "sales@example.com" } },
        lines = { { "sender", "sales@example.com", "accept", "send-as", "mail" } } },
    c { phase = "down", name = "slapd stopped, cache: janed on behalf of bob (kept) accepted",
        daemon = "deleg_cache", sender = JANE, headers = { { "From", "bob@example.com" }, SELF },
        nolog = { " reject ", " tempfail " } },
    c { phase = "down", name = "slapd stopped, cache: a search not kept (carol@example.org in From:): 451 at end of DATA",
        daemon = "deleg_cache", sender = JANE, headers = { { "From", "carol@example.org" } }, eom = R451,
        lines = { { "From", "carol@example.org", "tempfail", "directory-error", "header", " error=" } } },
    c { phase = "down", name = "slapd stopped, cache: alice as sales@example.com (not-found kept): 554 at MAIL",
        daemon = "deleg_cache", login = "alice", sender = "<sales@example.com>", mail = "reject" },
}

run_cases(cases)

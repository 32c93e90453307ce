-- ad.lua - the daemon against Active Directory (a Samba AD DC with
-- Exchange's attributes), one message per case
--
--   miltertest -D lib=TEST/milter -D dir=WORKDIR -s ad.lua
--
-- test/ad/run.sh makes the domain (test/ad/users.ldif) and starts the
-- daemons, each with the configuration of the issue: logins by
-- sAMAccountName or UPN, addresses in mail and proxyAddresses (only smtp:
-- values, the prefix removed), the home the last RDN of
-- msExchHomeServerName against local_hosts [ "MAIL1" ], send on behalf
-- by publicDelegates, header_fields From and Sender:
--   milter           LDAPS with the DC's CA, log_level debug
--   milter_tls       ldap:// with StartTLS and the DC's CA
--   milter_plain     ldap:// in the clear: AD refuses the simple bind
--   milter_impostor  LDAPS with a CA of the DC's CA's name, another key
-- The mailboxes: jdoe (jane.doe@, alias jd@; UPN jane.doe@ad.example.test)
-- on MAIL1, bwong on MAIL2, legacy on MAIL11 (MAIL1 only earlier in the
-- value), nohome without a home, ponly with no mail (its addresses only
-- in proxyAddresses), boss naming jdoe and jsmith (CN=Smith\, John) in
-- publicDelegates, farboss naming jdoe but homed on MAIL2.
dofile(lib .. "/common.lua")

local NOT_LOCAL = "Mailbox is not local: "
local function r554(address) return { "554", "5.7.1", NOT_LOCAL .. address } end
local R451 = { "451", "4.3.0", "Directory unavailable, try again later" }
local X500 = "X500:/o=Org/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=jdoe"
local JANE = "<jane.doe@example.test>"
local SELF = { "Sender", "Jane Doe <jane.doe@example.test>" }

-- m(t): case T on daemon "milter" as login jdoe unless it says otherwise,
-- with a queue id of its own sent with MAIL (as Sendmail does); each of
-- t.lines is a log line the daemon must gain after "QID: login=LOGIN ".
local seq = 0
local function m(t)
    seq = seq + 1
    t.qid = string.format("AD%04d", seq)
    t.daemon = t.daemon or "milter"
    t.login = t.login or "jdoe"
    t.log = t.log or {}
    for _, line in ipairs(t.lines or {}) do
        table.insert(t.log, t.qid .. ": login=" .. t.login .. " " .. line)
    end
    return t
end

-- refused(name, login, address, reason[, t]): LOGIN's MAIL FROM:<ADDRESS>
-- refused for REASON, 554 (451 for a directory-error), the reply read in
-- full and the log line asserted; T: more fields (daemon, log)
local function refused(name, login, address, reason, t)
    t = t or {}
    t.login, t.sender = login, "<" .. address .. ">"
    if reason == "directory-error" then
        t.mail, t.mail_reply = "tempfail", R451
    else
        t.mail, t.mail_reply = "reject", r554(address)
    end
    t.name = string.format("%s: %s at MAIL FROM, %s", name, t.mail_reply[1], reason)
    t.lines = { string.format("sender=%s %s reason=%s stage=mail", address, t.mail, reason) }
    return m(t)
end

local cases = {
    -- --- owned addresses, both login forms ----------------------------------------------
    m { name = "jdoe: MAIL FROM and From: the primary address: accepted",
        sender = JANE, headers = { { "From", "Jane Doe <jane.doe@example.test>" } },
        lines = { "sender=jane.doe@example.test accept reason=owned stage=mail\n",
                  "From=jane.doe@example.test accept reason=owned stage=header\n" } },
    m { name = "jdoe: MAIL FROM and From: the smtp: alias jd@example.test: accepted",
        sender = "<jd@example.test>", headers = { { "From", "Jane Doe <JD@example.test>" } },
        lines = { "sender=jd@example.test accept reason=owned stage=mail\n",
                  "From=JD@example.test accept reason=owned stage=header\n" } },
    m { name = "UPN login jane.doe@ad.example.test: the alias as MAIL FROM, the primary in From: accepted",
        login = "jane.doe@ad.example.test", sender = "<jd@example.test>",
        headers = { { "From", "\"Doe, Jane\" <jane.doe@example.test>" } },
        lines = { "sender=jd@example.test accept reason=owned stage=mail\n" } },
    m { name = "UPN login: the primary as MAIL FROM, the alias in From: accepted",
        login = "jane.doe@ad.example.test", sender = JANE, headers = { { "From", "jd@example.test" } },
        lines = { "From=jd@example.test accept reason=owned stage=header\n" } },
    m { name = "no mail attribute: the SMTP: primary and smtp: alias from proxyAddresses accepted",
        login = "ponly", sender = "<p.only@example.test>", headers = { { "From", "Proxy Only <po@example.test>" } },
        lines = { "sender=p.only@example.test accept reason=owned stage=mail\n",
                  "From=po@example.test accept reason=owned stage=header\n" } },

    -- --- values that are not SMTP addresses --------------------------------------------
    m { name = "From: the X500 value: 554 at end of DATA",
        sender = JANE, headers = { { "From", X500 } }, eom = r554(X500),
        lines = { "From=" .. X500 .. " reject reason=malformed stage=header\n" } },
    m { name = "From: the SIP: value's address jdoe@example.test: 554 naming it",
        sender = JANE, headers = { { "From", "jdoe@example.test" } }, eom = r554("jdoe@example.test"),
        lines = { "From=jdoe@example.test reject reason=not-owned stage=header\n" } },
    refused("MAIL FROM a proxyAddresses value without a prefix", "ponly", "unprefixed@example.test",
            "not-owned"),

    -- --- homes ---------------------------------------------------------------------------
    refused("homed on MAIL2", "bwong", "bob.wong@example.test", "not-homed"),
    refused("MAIL1 only as an earlier component, the server MAIL11", "legacy", "legacy@example.test",
            "not-homed"),
    refused("no msExchHomeServerName", "nohome", "nohome@example.test", "not-homed"),

    -- --- logins that find no entry, or two ----------------------------------------------
    refused("login jane.doe (the UPN's part before the @)", "jane.doe", "jane.doe@example.test", "no-entry"),
    refused("login amy@example.test (amy's sAMAccountName, amy2's UPN)", "amy@example.test",
            "amy@example.test", "directory-error"),

    -- --- send on behalf: publicDelegates, with a Sender: the login owns -------------------
    m { name = "on behalf: From: boss + Sender: jdoe's own: accepted, logged on-behalf",
        sender = JANE, headers = { { "From", "Big Boss <boss@example.test>" }, SELF },
        lines = { "From=boss@example.test accept reason=on-behalf stage=header\n",
                  "Sender=jane.doe@example.test accept reason=owned stage=header\n" } },
    m { name = "on behalf: From: boss's smtp: alias + Sender: jdoe's alias: accepted",
        sender = JANE, headers = { { "From", "the.boss@example.test" }, { "Sender", "jd@example.test" } },
        lines = { "From=the.boss@example.test accept reason=on-behalf stage=header\n" } },
    m { name = "on behalf: From: boss without Sender: 554 naming boss",
        sender = JANE, headers = { { "From", "Big Boss <boss@example.test>" } },
        eom = r554("boss@example.test"),
        lines = { "From=boss@example.test reject reason=not-owned stage=header\n" } },
    m { name = "on behalf: the delegate CN=Smith\\, John: From: boss + Sender: his own: accepted",
        login = "jsmith", sender = "<john.smith@example.test>",
        headers = { { "From", "boss@example.test" }, { "Sender", "\"Smith, John\" <john.smith@example.test>" } },
        lines = { "From=boss@example.test accept reason=on-behalf stage=header\n" } },
    m { name = "on behalf: ponly (no delegate) From: boss + Sender: its own: 554 naming boss",
        login = "ponly", sender = "<p.only@example.test>",
        headers = { { "From", "boss@example.test" }, { "Sender", "p.only@example.test" } },
        eom = r554("boss@example.test") },
    m { name = "on behalf: granted by farboss, homed on MAIL2: 554 naming it",
        sender = JANE, headers = { { "From", "far.boss@example.test" }, SELF },
        eom = r554("far.boss@example.test") },
    m { name = "on behalf: never in Sender: 554 naming boss",
        sender = JANE, headers = { { "From", "jane.doe@example.test" }, { "Sender", "boss@example.test" } },
        eom = r554("boss@example.test") },
    refused("on behalf: never as MAIL FROM", "jdoe", "boss@example.test", "not-owned"),

    -- --- transports ----------------------------------------------------------------------
    m { name = "StartTLS verified against the DC's CA: accepted",
        daemon = "milter_tls", sender = "<jd@example.test>", headers = { { "From", "jane.doe@example.test" } },
        lines = { "sender=jd@example.test accept reason=owned stage=mail\n" } },
    m { name = "StartTLS, UPN login: accepted",
        daemon = "milter_tls", login = "jane.doe@ad.example.test", sender = JANE,
        headers = { { "From", "jane.doe@example.test" } } },
    refused("plain LDAP (AD refuses the simple bind)", "jdoe", "jane.doe@example.test", "directory-error",
            { daemon = "milter_plain",
              log = { "directory ldap://dc1.ad.example.test refused the bind as mailfilter@ad.example.test: ",
                      "Strong(er) authentication required" } }),
    refused("LDAPS with an impostor CA of the DC's CA's name", "jdoe", "jane.doe@example.test",
            "directory-error",
            { daemon = "milter_impostor", log = { "(with TLS: is the server up, is ldap.ca_file the CA of its certificate, and is the URI's host the name in it?)" } }),
}

run_cases(cases)

-- homes.lua - an entry with several home values is local when any one is
--
--   miltertest -D lib=DIR -D dir=WORKDIR [-D hm=HOMED-MILTER] -s homes.lua
--
-- homed-milter.conf(5), local_hosts: "A mailbox is local when its home
-- attribute holds one of these host names". mailHost holds one value, so
-- the daemon "homes" (agree.sh starts it) reads ldap.home_attribute =
-- "host", and extra.ldif gives three entries two host values each:
--   twohomes    other.example.net, then mail.example.com (local: second)
--   firsthome   mail.example.com, then other.example.net (local: first)
--   nohomehere  other.example.net, mail.example.com.other.example.net
-- A milter looking at the first value only accepts firsthome and refuses
-- twohomes; one looking at the last only, the reverse; one calling any
-- entry with a value local, or matching a prefix, accepts nohomehere.
dofile(lib .. "/common.lua")

-- accepted: LOGIN sends as SENDER with HEADERS; LOG the lines expected.
local function accepted(name, login, sender, headers, log)
    return { name = name, daemon = "homes", login = login, sender = sender,
             headers = headers, log = log }
end

-- refused: LOGIN sending as ADDRESS gets 554 at MAIL FROM for REASON.
local function refused(name, login, address, reason)
    return { name = name, daemon = "homes", login = login, sender = "<" .. address .. ">",
             mail = "reject",
             mail_reply = { "554", "5.7.1", "Mailbox is not local: " .. address },
             log = { string.format("login=%s sender=%s reject reason=%s stage=mail",
                                   login, address, reason) } }
end

local cases = {
    accepted("local host as the second home value: its own address accepted at MAIL and end of DATA",
             "twohomes", "<twohomes@example.com>", { { "From", "Two Homes <twohomes@example.com>" } },
             { "login=twohomes sender=twohomes@example.com accept reason=owned stage=mail",
               "login=twohomes From=twohomes@example.com accept reason=owned stage=header" }),
    accepted("local host as the second home value, null sender: its own From: accepted",
             "twohomes", "<>", { { "From", "twohomes@example.com" } },
             { "login=twohomes sender=<> accept reason=null-sender stage=mail" }),
    refused("local host as the second home value: another address still refused (554 at MAIL)",
            "twohomes", "firsthome@example.com", "not-owned"),
    accepted("local host as the first home value: its own address accepted",
             "firsthome", "<firsthome@example.com>", { { "From", "firsthome@example.com" } },
             { "login=firsthome sender=firsthome@example.com accept reason=owned stage=mail" }),
    refused("no home value local (one only starts with this host's name): 554 at MAIL",
            "nohomehere", "nohomehere@example.com", "not-homed"),
}

-- The cases above tell the first value from the second only if the
-- directory hands them over in that order: -q shows the order it got.
if hm ~= nil then
    for i, order in ipairs({ { "twohomes", "other.example.net,mail.example.com" },
                             { "firsthome", "mail.example.com,other.example.net" } }) do
        local login, homes = order[1], order[2]
        table.insert(cases, i, {
            name = "the directory hands " .. login .. "'s home values over in order: " .. homes,
            daemon = "homes",
            run = function()
                local p = io.popen(string.format("%s -c %s -q %s %s 2>&1", shq(hm),
                                                 shq(dir .. "/homes.conf"), login,
                                                 "'<" .. login .. "@example.com>'"), "r")
                local out = p:read("a")
                p:close()
                if not string.find(out, "\nentry uid=" .. login .. ",ou=people,dc=example,dc=com home=" ..
                                   homes .. " ", 1, true) then
                    fail("-q shows another order:\n%s", out)
                end
            end })
    end
end

run_cases(cases)

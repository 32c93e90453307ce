#!/bin/sh
# The soak behind a real Postfix: a timed stream of SMTP AUTH messages
# through a private Postfix, chrooted as Debian ships it (test/e2e/
# lib-postfix.sh), with homed-milter (this build) as its milter against a
# private slapd, while slapd is stopped and started again every 30 s and
# the daemon reloads (SIGHUP) every 10 s. TAP output; needs root (Postfix);
# everything started here is stopped here, on loopback and unix sockets
# only.
#
#   HM_SOAK_SECONDS=300 HM_SRCDIR=... HM_BUILDDIR=... sh test/faults/postfix-soak.sh
#
# HM_SOAK_SECONDS: how long new messages are sent (default 75: two slapd
# restarts and seven reloads; make soak-postfix runs 300). HM_SOAK_CONNS:
# SMTP clients at once (default 4). HM_SOAK_OUTAGE: seconds slapd stays
# down at each restart (default 3). HM_KEEP=1 keeps the work directory.
#
# The mix (gen-workload.sh), over some forty SMTP AUTH logins: two thirds
# owned senders, one third forged (another user's MAIL FROM, a forged
# From:, a mailbox homed elsewhere, a login with no entry). The clients
# (soakfeed.pl, one SMTP session a try) send again later, as an MTA's
# queue would, every message that got a 4xx: 451 4.3.0 from the milter
# while slapd is down, or Postfix's own 451 (milter_default_action =
# tempfail) should the milter fail. Asserted at the end:
#   - every message ended (accepted or refused, none given up on); no
#     forged message got 250, every one was refused with 554 5.7.1; no
#     owned message got a 5xx; every try got a reply; every 4xx was a 451;
#   - what reached smtp-sink is exactly the owned messages, each once
#     (counted by the "Subject: TAG N" token): none lost, none doubled,
#     nothing forged; Postfix's queue is empty;
#   - the restarts and the reloads happened (slapd with a new pid each
#     time, one "reloaded" line per SIGHUP), the outages were felt
#     (tempfails), and the daemon is the same process at the end, with no
#     error line and no warning but those of the outages, and stops on
#     TERM with exit status 0.
# Then throughput and the client-side time of the accepted SMTP sessions
# (p50, p99, max) as diag lines.
set -u
SRC=${HM_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
BENCH=postfix-soak
. "$SRC/test/lib/bench.sh" # bench_dir, bench_slapd; daemon.sh, slapd.sh, tap.sh
. "$SRC/test/e2e/lib-postfix.sh"
HERE=$SRC/test/faults

SOAK=${HM_SOAK_SECONDS:-75}
CONNS=${HM_SOAK_CONNS:-4}
OUTAGE=${HM_SOAK_OUTAGE:-3}
RESTART_EVERY=30
RELOAD_EVERY=10
USERS=30 # generated mailboxes u00001..u00030
TAG=soak
T0=$(date +%s)

[ -x "$HM" ] || skip_all "homed-milter is not built"
[ -x "$SLAPD" ] || skip_all "slapd is not installed"
command -v ldapsearch >/dev/null 2>&1 || skip_all "ldapsearch (ldap-utils) is not installed"
command -v perl >/dev/null 2>&1 || skip_all "perl is not installed"
[ "$(id -u)" = 0 ] || skip_all "needs root (a private Postfix)"
[ -x "$POSTFIX" ] && [ -x "$SASLPASSWD2" ] && [ -x "$SMTP_SINK" ] ||
    skip_all "Postfix, saslpasswd2 or smtp-sink is not installed"

# At exit: the clients, Postfix and its sink, then (bench_exit) the
# daemon and slapd; the work directory removed unless HM_KEEP=1.
FEED_PID=""
bench_cleanup() {
    if [ -n "$FEED_PID" ]; then
        kill -TERM "$FEED_PID" 2>/dev/null
        wait_gone "$FEED_PID" 50
    fi
    hm_term # libmilter takes a while to notice: stop Postfix meanwhile
    postfix_stop
    postfix_sink_stop
}
bench_dir
chmod 755 "$W" # Postfix's daemons (user postfix) must reach the chroot under it
PF_DIR=$W/postfix
mkdir -p "$PF_DIR"

# --- slapd, the daemon, Postfix and its sink -------------------------------------
bench_slapd "$USERS"
sh "$HERE/gen-workload.sh" 120 "$USERS" > "$W/workload"

postfix_milter_dir
SOCK=$PF_MILTER_DIR/soak.sock
# conf CONNECTIONS: the daemon's file; each reload swaps the size of the
# LDAP connection pool, so that every reload builds a new one
conf() {
    hm_conf soak "socket=\"unix:$SOCK\"" "pid_file=\"$W/soak.pid\"" \
        "ldap.uri=[ \"$SLAPD_LDAP_URL\" ]" "ldap.connections=$1"
}
conf 4
UP=""
hm_run soak || UP="$UP homed-milter"
postfix_init "unix:$(postfix_chroot_name "$SOCK")" mail.example.com || UP="$UP postfix_init"
for u in $(cut -f1 "$W/workload" | sort -u); do
    postfix_adduser "$u" "pw-$u" || { UP="$UP saslpasswd2"; break; }
done
postfix_sink_start || UP="$UP smtp-sink"
postfix_start || UP="$UP postfix"
is "$UP" "" "slapd, homed-milter, smtp-sink and a chrooted Postfix start"
if [ -n "$UP" ]; then
    done_testing
    exit 1
fi
HM_PID=$(hm_pid soak)
LOGINS=$(cut -f1 "$W/workload" | sort -u | wc -l | tr -d ' ')

# --- the stream, and the faults on a clock -----------------------------------------
diag "stream: $SOAK s, $CONNS SMTP clients, $LOGINS logins; slapd down ${OUTAGE} s every $RESTART_EVERY s, SIGHUP every $RELOAD_EVERY s"
perl "$HERE/soakfeed.pl" "$PF_PORT" "$W/workload" "$CONNS" "$SOAK" "$TAG" 2 120 \
    > "$W/feed" 2> "$W/feed.err" 3>&- &
FEED_PID=$!
start=$(date +%s)
next_stop=$RESTART_EVERY
next_hup=$RELOAD_EVERY
back_at=""
HUPS=0
STOPS=0
cat "$SLAPD_DIR/slapd.pid" > "$W/slapd.pids"
pool=4
while :; do
    t=$(($(date +%s) - start))
    if [ -n "$back_at" ] && [ "$t" -ge "$back_at" ]; then
        slapd_start && cat "$SLAPD_DIR/slapd.pid" >> "$W/slapd.pids"
        back_at=""
    fi
    [ "$t" -lt "$SOAK" ] || break
    if [ "$t" -ge "$next_stop" ]; then
        slapd_stop
        STOPS=$((STOPS + 1))
        back_at=$((t + OUTAGE))
        next_stop=$((next_stop + RESTART_EVERY))
    fi
    if [ "$t" -ge "$next_hup" ]; then # right after a stop: a reload during the outage
        pool=$((7 - pool))
        conf "$pool"
        kill -HUP "$HM_PID"
        HUPS=$((HUPS + 1))
        next_hup=$((next_hup + RELOAD_EVERY))
    fi
    sleep 0.2
done
if [ -n "$back_at" ]; then
    slapd_start && cat "$SLAPD_DIR/slapd.pid" >> "$W/slapd.pids"
fi
wait "$FEED_PID"
FEED_RC=$?
FEED_PID=""
STREAM_END=$(date +%s)

# --- what the clients got ------------------------------------------------------
# $W/feed: N EXPECT GOT STAGE TRY MS REPLY, one line a try
count() { awk "$1" "$W/feed" | wc -l | tr -d ' '; }
MSGS=$(awk '{ print $1 }' "$W/feed" | sort -un | wc -l | tr -d ' ')
OWNED=$(awk '$2 == "accept" { print $1 }' "$W/feed" | sort -un | wc -l | tr -d ' ')
TRIES=$(wc -l < "$W/feed" | tr -d ' ')
TEMPFAILS=$(count '$3 == "tempfail"')
is "$FEED_RC" 0 "the SMTP clients (soakfeed.pl) ran to their end"
ok_if "the stream: $MSGS messages ($OWNED owned), $TRIES SMTP sessions" [ "$MSGS" -ge 200 ]
is "$(count '$3 == "pending"')" 0 "every message ended: accepted or refused, none given up on"
is "$(count '$2 == "reject" && $3 == "accept"')" 0 "no forged message got 250"
is "$(count '$2 == "reject" && $3 == "reject" && $7 " " $8 != "554 5.7.1"')" 0 \
    "every forged message was refused with 554 5.7.1"
is "$(awk '$3 == "reject" { print $1 }' "$W/feed" | sort -un | wc -l | tr -d ' ')" \
    "$((MSGS - OWNED))" "every forged message was finally refused"
is "$(count '$2 == "accept" && $3 == "reject"')" 0 "no owned message got a 5xx"
is "$(count '$3 == "error"')" 0 "every SMTP session got its replies (no error)"
is "$(count '$3 == "tempfail" && $7 != "451"')" 0 "every temporary failure was a 451 ($TEMPFAILS)"
diag "the temporary failures: $(awk '$3 == "tempfail" { print $7, $8, "at", $4 }' "$W/feed" |
    sort | uniq -c | sed 's/^ *//' | tr '\n' ';')"

# --- what reached the sink --------------------------------------------------------
DRAIN=$((SOAK > 120 ? SOAK * 5 : 600)) # tenths of a second: half the stream's time, 60 s at least
ok_if "Postfix's queue is empty at the end" wait_for "$DRAIN" postfix_queue_empty
DRAINED=$(date +%s)
sleep 0.5 # the last message written out by smtp-sink
awk '$3 == "accept" { print $1 }' "$W/feed" | sort -n > "$W/accepted"
awk '$2 == "accept" { print $1 }' "$W/feed" | sort -un > "$W/owned"
grep -rh "^Subject: $TAG " "$PF_DIR/sink" 2>/dev/null | sed "s/^Subject: $TAG //" | tr -d '\r' |
    sort -n > "$W/sunk"
SUNK=$(wc -l < "$W/sunk" | tr -d ' ')
is "$(uniq -d "$W/sunk" | wc -l | tr -d ' ')" 0 "no message reached the sink twice ($SUNK delivered)"
is "$(uniq -d "$W/accepted" | wc -l | tr -d ' ')" 0 "no message got 250 twice"
ok_if "the delivered messages are exactly the owned ones (none lost, nothing forged)" \
    cmp -s "$W/owned" "$W/sunk"
ok_if "... and exactly those that got 250" cmp -s "$W/accepted" "$W/sunk"
if ! cmp -s "$W/owned" "$W/sunk"; then
    diag "owned, not delivered: $(awk 'NR == FNR { s[$1]; next } !($1 in s)' "$W/sunk" "$W/owned" |
        head -10 | tr '\n' ' ')" \
        "delivered, not owned: $(awk 'NR == FNR { s[$1]; next } !($1 in s)' "$W/owned" "$W/sunk" |
            head -10 | tr '\n' ' ')"
fi

# --- the faults happened, the daemon lived through them ----------------------------
WANT_STOPS=$(((SOAK - 1) / RESTART_EVERY))
WANT_HUPS=$(((SOAK - 1) / RELOAD_EVERY))
is "$STOPS $(sort -u "$W/slapd.pids" | wc -l | tr -d ' ')" "$WANT_STOPS $((WANT_STOPS + 1))" \
    "slapd restarts: $WANT_STOPS (stopped, started again $OUTAGE s later as a new process)"
is "$HUPS $(grep -c ': info: reloaded ' "$W/soak.log")" "$WANT_HUPS $WANT_HUPS" \
    "$WANT_HUPS SIGHUPs sent, as many reloads logged"
FELT=$(count '$3 == "tempfail" && $7 " " $8 == "451 4.3.0"')
ok_if "the outages were felt ($FELT times 451 4.3.0 from the milter)" \
    eval '[ "$FELT" -gt 0 ] || [ "$WANT_STOPS" = 0 ]'
ok_if "the daemon is the process that was started (pid $HM_PID)" \
    eval 'alive "$HM_PID" && [ "$(cat "$W/soak.pid" 2>/dev/null)" = "$HM_PID" ]'
# The outages' lines: a decision tempfailed on an error of this slapd, and
# its server that stopped answering (once a pool: a reload builds a new
# one). The decisions that refuse are warnings too.
URI_RE="ldap://127\\.0\\.0\\.1:$SLAPD_PORT"
OUTAGE_RE=": warning: [^ ]+: client=[^ ]+ login=[^ ]+ (sender|From)=[^ ]+ tempfail reason=directory-error stage=[a-z]+ error=$URI_RE: "
OUTAGE_RE="$OUTAGE_RE|: warning: directory $URI_RE stopped answering: $URI_RE: "
# a lookup that waited ldap.timeout for one of the pool's connections,
# all held by lookups waiting on a slapd stopping or starting
OUTAGE_RE="$OUTAGE_RE|: warning: [^ ]+: client=[^ ]+ login=[^ ]+ (sender|From)=[^ ]+ tempfail reason=directory-error stage=[a-z]+ error=all [0-9]+ directory connections stayed busy for [0-9]+ s\$"
REFUSED_RE=": warning: [^ ]+: client=[^ ]+ login=[^ ]+ (sender|From)=[^ ]+ reject reason=(not-owned|not-homed|no-entry) stage=(mail|header)\$"
grep -E '^homed-milter: (error|warning|crit|fatal)' "$W/soak.log" |
    grep -Ev "$OUTAGE_RE|$REFUSED_RE" > "$W/soak.bad"
is "$(wc -l < "$W/soak.bad" | tr -d ' ')" 0 "no error line in the daemon's log, no warning but the outages'"
[ -s "$W/soak.bad" ] &&
    diag "$(sed 's/: [0-9A-F]\{6,\}: /: QUEUEID: /' "$W/soak.bad" | sort | uniq -c | sort -rn | head -8)"
hm_stop soak
is "$(hm_rc soak)" 0 "TERM stops the daemon with exit status 0"

# --- numbers ---------------------------------------------------------------------
diag "Postfix warnings: $(grep -c 'warning:' "$PF_LOG") ($(grep 'warning:' "$PF_LOG" |
    sed 's/.*warning: //; s/[0-9A-F]\{8,\}//g' | sort | uniq -c | sort -rn | head -3 | tr '\n' ';'))"
awk '$3 == "accept" { print $6 }' "$W/feed" | sort -n > "$W/ms"
awk -v secs="$SOAK" -v msgs="$MSGS" -v tries="$TRIES" -v tf="$TEMPFAILS" -v stops="$STOPS" \
    -v hups="$HUPS" -f "$STATS" -f - "$W/ms" <<'AWK' | sed 's/^/# /'
{ ms = add(ms, $1) } # already in order: sorted() has nothing to move
END {
    n = sorted(ms, a)
    printf "soak: %d s, %d messages (%d accepted), %d SMTP sessions, %d tempfails (451), %d slapd restarts, %d reloads\n",
        secs, msgs, n, tries, tf, stops, hups
    printf "throughput: %.1f messages accepted/s, %.1f SMTP sessions/s\n", n / secs, tries / secs
    printf "accepted sessions (client side, connect to 250): p50 %d ms, p99 %d ms, max %d ms\n",
        med(ms), a[int(n * 0.99 + 0.999)], hi(ms)
}
AWK
diag "took $(($(date +%s) - T0)) s; the retries ended $((STREAM_END - start - SOAK)) s after the stream, the queue was empty $((DRAINED - STREAM_END)) s later"
done_testing

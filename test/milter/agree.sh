# agree.sh - -q and the milter agree (agree.lua), sourced by run.sh while
# slapd runs
#
# Starts the daemons agree.lua talks to (test/lib/daemon.sh; each one's
# configuration is what its -q runs read too), runs agree.lua, one test
# point per row, and homes.lua, and stops them: TERM, exit 0. Uses run.sh's
# W (its HM_DIR), HM, HERE, lua() and test/lib/daemon.sh. Every daemon logs
# at debug: the milter logs the verdict on an accepted header address at
# debug only.

AGREE_DEBUG='log_level="debug"'
# a socket no slapd listens on: every lookup is a directory error
AGREE_DEAD="ldap.uri=[ \"ldapi://$(urlencode_path "$W/no-slapd-here")\" ]"
hm_conf agree "$AGREE_DEBUG"
hm_conf agreeplus "$AGREE_DEBUG" 'policy.extension_delimiter="+"'
hm_conf agreenoenv "$AGREE_DEBUG" 'policy.check_envelope=false'
hm_conf agreenohome "$AGREE_DEBUG" 'ldap.home_attribute=""'
hm_conf agreetext "$AGREE_DEBUG" 'policy.reject_text="Sender %s denied (100%%)"'
hm_conf agreereport "$AGREE_DEBUG" 'policy.mode="report"'
hm_conf agreeacc "$AGREE_DEBUG" 'policy.on_directory_error="accept"'
hm_conf agreerej "$AGREE_DEBUG" 'policy.on_directory_error="reject"'
hm_conf agreedead "$AGREE_DEBUG" "$AGREE_DEAD"
hm_conf agreedeadacc "$AGREE_DEBUG" "$AGREE_DEAD" 'policy.on_directory_error="accept"'
hm_conf agreedeadrej "$AGREE_DEBUG" "$AGREE_DEAD" 'policy.on_directory_error="reject"'
hm_conf agreedeadrep "$AGREE_DEBUG" "$AGREE_DEAD" 'policy.mode="report"'
hm_conf homes "$AGREE_DEBUG" 'ldap.home_attribute="host"'
AGREE_DAEMONS="agree agreeplus agreenoenv agreenohome agreetext agreereport agreeacc agreerej
    agreedead agreedeadacc agreedeadrej agreedeadrep homes"

AGREE_NOT_UP=""
for d in $AGREE_DAEMONS; do hm_start "$d"; done
for d in $AGREE_DAEMONS; do hm_up "$d" 2>&1 || AGREE_NOT_UP="$AGREE_NOT_UP $d"; done
is "$AGREE_NOT_UP" "" "the daemons of agree.lua and homes.lua start and listen"

lua agree.lua up -D hm="$HM"
lua homes.lua up -D hm="$HM"

# shellcheck disable=SC2086 # a list of names
hm_stop $AGREE_DAEMONS
AGREE_BAD=""
for d in $AGREE_DAEMONS; do
    if [ "$(hm_rc "$d")" != 0 ] || grep -Eq '^==[0-9]+==ERROR: |runtime error: ' "$W/$d.log"; then
        AGREE_BAD="$AGREE_BAD $d"
        diag "daemon $d: exit status $(hm_rc "$d"); the end of its log:" "$(tail -20 "$W/$d.log")"
    fi
done
is "$AGREE_BAD" "" "TERM stops the daemons of agree.lua and homes.lua with exit 0, nothing reported"

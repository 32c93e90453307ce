# bench.sh - what the benchmark scripts share (sourced; sources daemon.sh)
#
# Needs SRC and BENCH (the script's name, for its messages).
# fail MESSAGE...        "BENCH: MESSAGE" on stderr, exit 1
# bench_vars NAME=DEFAULT...
#                        each NAME from HM_BENCH_NAME, DEFAULT when that is
#                        unset or empty (the scripts' tunables)
# bench_tools NAME=PATH...
#                        each NAME from HM_NAME, else BUILD/PATH (a tool)
# bench_need HINT TOOL...
#                        fail unless every TOOL (a path, or a command on
#                        PATH) is there; HINT says how to build them
# bench_dir              W: a new work directory (HM_DIR too), SLAPD_DIR
#                        in it; at exit bench_cleanup (the script's own,
#                        by default nothing), then every daemon and slapd
#                        stopped and W removed (kept with HM_KEEP=1)
# bench_slapd N [LDIF...]
#                        a private slapd holding etc/example.ldif, N
#                        generated mailboxes (gen-ldif.sh) and the LDIF
#                        files, with room for a directory of millions
# bench_dirbench WHAT CONF THREADS USERS ROUND SLAPD_PID
#                        one DIRBENCH run, homed and raw interleaved,
#                        LOOKUPS lookups a mode, seed ROUND x LOOKUPS, its
#                        answers in W/run.out; when it failed says so
#                        (WHAT names the run), sets BROKEN=1, returns 1
# bench_v KEY [FILE]     the value of a KEY=VALUE line of FILE (W/run.out)
# bench_cputicks PID     user + system CPU time of process PID so far, in
#                        clock ticks (HZ of them a second); 0 without PID
# bench_workload FILE N  mltload's workload: users u00001..N, each sending
#                        as itself (to be accepted)
# STATS                  the statistics helper for the tables (stats.awk):
#                            awk -f "$STATS" -f - RESULTS <<'AWK' ... AWK
. "$SRC/test/lib/daemon.sh"
# shellcheck disable=SC2034 # these variables are for the scripts and libraries
STATS=$SRC/test/lib/stats.awk

fail() { echo "$BENCH: $*" >&2; exit 1; }

bench_vars() {
    for _bv; do
        eval "${_bv%%=*}=\${HM_BENCH_${_bv%%=*}:-\${_bv#*=}}"
    done
}

bench_tools() {
    for _bt; do
        eval "${_bt%%=*}=\${HM_${_bt%%=*}:-\$BUILD/\${_bt#*=}}"
    done
}

bench_need() {
    _bn_hint=$1
    shift
    for _bn; do
        case $_bn in
        */*) [ -x "$_bn" ] || fail "$_bn is not built or installed ($_bn_hint)" ;;
        *) command -v "$_bn" >/dev/null 2>&1 || fail "$_bn is not installed" ;;
        esac
    done
}

bench_cleanup() { :; }
bench_exit() {
    set +e
    bench_cleanup
    hm_stop
    slapd_stop
    if [ "${HM_KEEP:-}" = 1 ]; then echo "# work directory kept: $W"; else rm -rf "$W"; fi
}

bench_dir() {
    W=$(mktemp -d "${TMPDIR:-/tmp}/hm-$BENCH.XXXXXX") || exit 1
    # shellcheck disable=SC2034 # read by daemon.sh
    HM_DIR=$W
    SLAPD_DIR=$W/slapd
    mkdir -p "$SLAPD_DIR"
    trap bench_exit EXIT
    trap 'exit 1' HUP INT PIPE TERM
}

bench_slapd() {
    _bs_n=$1
    shift
    sh "$SRC/test/bench/gen-ldif.sh" "$_bs_n" > "$W/users.ldif" || fail "gen-ldif.sh failed"
    # shellcheck disable=SC2034 # read by slapd_init: mdb maps it sparse
    SLAPD_MAXSIZE=17179869184
    slapd_init "$SRC/etc/example.ldif" "$W/users.ldif" "$@" >/dev/null || fail "slapadd failed"
    slapd_start || fail "slapd did not start"
}

bench_workload() {
    awk -v n="$2" 'BEGIN { for (i = 1; i <= n; i++) {
        u = sprintf("u%05d", i)
        printf "%s\t%s@mail.example.com\tUser %s <%s@mail.example.com>\taccept\n", u, u, i, u
    } }' > "$1"
}

bench_v() { sed -n "s/^$1=//p" "${2:-$W/run.out}"; }
bench_cputicks() {
    { [ -n "$1" ] && sed 's/.*) //' "/proc/$1/stat" 2>/dev/null || echo; } |
        awk '{ print ($12 + $13) + 0 }'
}
# shellcheck disable=SC2034
HZ=$(getconf CLK_TCK 2>/dev/null || echo 100)

bench_dirbench() {
    "$DIRBENCH" -m both -c "$2" -t "$3" -n "$LOOKUPS" -u "$4" -s $(($5 * LOOKUPS)) -P "$6" \
        > "$W/run.out" 2> "$W/run.err"
    _bd_rc=$?
    [ $_bd_rc -eq 0 ] && return 0
    echo "$BENCH: $1: exit $_bd_rc; homed found $(bench_v homed_found)," \
        "errors $(bench_v homed_errors); raw found $(bench_v raw_found), errors $(bench_v raw_errors)" >&2
    head -5 "$W/run.err" >&2
    # shellcheck disable=SC2034 # read by the scripts
    BROKEN=1
    return 1
}

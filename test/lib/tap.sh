# tap.sh - a small TAP producer for the script test layers (sourced)
#
# ok_if DESC CMD...   run CMD; "ok" when it exits 0
# is GOT WANT DESC    "ok" when the strings are equal
# skip_all REASON     no test can run here: a skip, or a failure under CI=true
# done_testing        print the plan; exit 1 if any test failed
TAP_N=0
TAP_FAILED=0

tap_result() { # STATUS(0/1) DESC
    TAP_N=$((TAP_N + 1))
    if [ "$1" -eq 0 ]; then
        printf 'ok %d - %s\n' "$TAP_N" "$2"
    else
        printf 'not ok %d - %s\n' "$TAP_N" "$2"
        TAP_FAILED=$((TAP_FAILED + 1))
    fi
}

diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

ok_if() {
    _desc=$1
    shift
    if "$@"; then tap_result 0 "$_desc"; else tap_result 1 "$_desc"; fi
}

is() {
    if [ "$1" = "$2" ]; then
        tap_result 0 "$3"
    else
        tap_result 1 "$3"
        diag "got:  $1" "want: $2"
    fi
}

like() { # GOT PATTERN(grep -E) DESC
    if printf '%s\n' "$1" | grep -Eq -- "$2"; then
        tap_result 0 "$3"
    else
        tap_result 1 "$3"
        diag "got:  $1" "want: /$2/"
    fi
}

skip_all() {
    if [ "${CI:-}" = true ]; then
        echo "1..1"
        printf 'not ok 1 - %s (skipping is a failure under CI=true)\n' "$1"
        exit 1
    fi
    printf '1..0 # SKIP %s\n' "$1"
    exit 0
}

done_testing() {
    echo "1..$TAP_N"
    [ "$TAP_FAILED" -eq 0 ]
}

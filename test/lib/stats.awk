# stats.awk - statistics over the rounds of a benchmark, for its table
#
#   awk -v ... -f "$SRC/test/lib/stats.awk" -f - RESULTS <<'AWK' ... AWK
#
# A list is a string of numbers separated by blanks, as add() builds it
# (one number per round):
#   add(list, x)             the list with x appended
#   sorted(list, a)          a[1..n]: its numbers in ascending order; n
#   med(list)                the median
#   lo(list), hi(list)       the least and the greatest
#   spread(list, fmt, sep)   "MEDIAN (LO-HI)", each number printed with
#                            fmt (LO and HI without its width), sep
#                            between LO and HI ("-" when "")
#   met(what, x, goal)       note the verdict "target WHAT: X, met" (or
#                            "NOT met" when x < goal), for verdicts()
#   verdicts()               print the noted verdicts; 1 when one was
#                            missed, else 0 (the END block's exit status)
BEGIN { CONVFMT = "%.17g" } # numbers keep their precision in a list
function add(list, x) { return list " " x }
function sorted(list, a,   n, i, j, t) {
    n = split(list, a, " ")
    for (i = 2; i <= n; i++)
        for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
    return n
}
function med(list,   a, n) { n = sorted(list, a); return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
function lo(list,   a) { sorted(list, a); return a[1] }
function hi(list,   a, n) { n = sorted(list, a); return a[n] }
function spread(list, fmt, sep,   r) {
    r = fmt
    sub(/^%[0-9]+/, "%", r) # the range without the median's width
    return sprintf(fmt " (" r "%s" r ")", med(list), lo(list), sep == "" ? "-" : sep, hi(list))
}
function met(what, x, goal) {
    verdict_[++nverdicts_] = sprintf("target %s: %.2f, %s", what, x, x >= goal ? "met" : "NOT met")
    if (x < goal) missed_ = 1
}
function verdicts(   i) {
    for (i = 1; i <= nverdicts_; i++) print verdict_[i]
    return missed_ + 0
}

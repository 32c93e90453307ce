/*
 * NAME
 *	fuzz_address - libFuzzer harness for the address parsers
 *
 * SUMMARY
 *	Every input goes to addr_parse_envelope(), twice to addr_parse_list()
 *	(once into an empty list and once into a list that already holds one
 *	address) and to addr_parse_shown() as the milter calls it for From:.
 *	What comes back is checked and freed.
 *
 * DESCRIPTION
 *	Besides what ASan and UBSan see, these properties are checked, and a
 *	violation ends in abort() with a message on stderr (never assert(),
 *	which NDEBUG would silence):
 *
 *	- the return value is 0 or -1; -1 comes with a non-empty message;
 *	- addr_parse_envelope() leaves *out zeroed on error and does not
 *	  free what *out held before (a sentinel is left there);
 *	- addr_parse_list() leaves the caller's list exactly as it was on
 *	  error, and appends after what it held on success; both calls agree;
 *	- every address has its three strings; the null sender has all three
 *	  empty and only the envelope parser returns it; otherwise the local
 *	  part and the domain are not empty and "written" is the local part
 *	  as written, "@", and the domain;
 *	- the resolved local part is never longer than as written; a domain
 *	  is a dot-atom of atext or a literal in []; no output string holds a
 *	  control character other than TAB (a quoted-pair may carry one), and
 *	  each is well-formed UTF-8, as the input had to be;
 *	- the addresses of one list come from disjoint parts of the input:
 *	  the "written" lengths add up to at most the input length;
 *	- addr_parse_shown() gives the same with and without its plain path
 *	  (HM_ADDR_NO_PLAIN): the same return, message, and addresses;
 *	- the envelope grammar is the strict subset of the header grammar: a
 *	  non-null envelope sender that parses parses the same way as a
 *	  header field holding it alone;
 *	- addr_base_length() and addr_same_text() keep their contracts on the
 *	  results;
 *	- what a client shows is checked: when addr_parse_shown() with
 *	  HM_ADDR_NO_GROUP and HM_ADDR_NAMES accepts a field with at least
 *	  one address, every address that Thunderbird's parser, as modelled
 *	  in tbmodel.c, shows for it is among the returned ones (local part
 *	  and domain compared with ASCII case folded). Shown are each
 *	  mailbox's address, split at its last "@" (a wholly quoted local
 *	  part unquoted, its quoted-pairs resolved; without "@", a local part
 *	  or a domain it never matches), and every address the rule of
 *	  tb_name_addresses() finds in a display name or group name, as
 *	  test/differential/compare.py decides with the real parser. The
 *	  model reads the field as the oracle there gets it: CR and LF
 *	  deleted (unfolded), no RFC 2047 decoding. Inputs that are not
 *	  UTF-8 are left out of this check: a client reads those in the
 *	  charset the message declares (the differential layer tries
 *	  ISO-8859-1), which the model does not know. So are the rare inputs
 *	  whose reading outgrows the model's work limit, and inputs with an
 *	  encoded word whose text holds '"': homed-milter reads such a word
 *	  as one word, as Thunderbird and Python do once they decode it
 *	  (s-nail quotes names so), where the model, which does not decode,
 *	  reads a quote; the differential layer judges those with the real
 *	  parsers.
 *
 *	Single-threaded, as libFuzzer calls it; no state is kept between
 *	inputs.
 */
#include "autoconf.h"

#include <stdbool.h>

#include "address.h"
#include "fuzz.h"
#include "tbmodel.h"

/* Not owned by anybody: what *out holds before addr_parse_envelope(). */
static char sentinel[] = "sentinel";

/* utf8_ok - S (N bytes) is well-formed UTF-8 (RFC 3629). */
static bool utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0, k, need;
    uint32_t cp, min;

    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if ((s[i] & 0xe0) == 0xc0) {
            need = 1, cp = s[i] & 0x1fu, min = 0x80;
        } else if ((s[i] & 0xf0) == 0xe0) {
            need = 2, cp = s[i] & 0x0fu, min = 0x800;
        } else if ((s[i] & 0xf8) == 0xf0) {
            need = 3, cp = s[i] & 0x07u, min = 0x10000;
        } else {
            return false;
        }
        if (n - i <= need)
            return false;
        for (k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += need + 1;
    }
    return true;
}

/* no_ctl - no byte below 0x20 but TAB, and no DEL. */
static bool no_ctl(const char *s)
{
    for (; *s != '\0'; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return false;
    return true;
}

/* is_atext - RFC 5322 atext, or a byte of a UTF-8 sequence (RFC 6532). */
static bool is_atext(unsigned char c)
{
    if (c >= 0x80 || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z'))
        return true;
    return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* check_domain - a dot-atom (no empty label) or a literal in []. */
static void check_domain(const char *d, size_t n)
{
    size_t i;

    CHECK(n > 0);
    if (d[0] == '[') {
        CHECK(n >= 3 && d[n - 1] == ']');
        return;
    }
    CHECK(d[0] != '.' && d[n - 1] != '.');
    for (i = 0; i < n; i++) {
        CHECK(is_atext((unsigned char)d[i]) || d[i] == '.');
        CHECK(d[i] != '.' || d[i + 1] != '.');
    }
}

/* check_helpers - addr_base_length() and addr_same_text() on a result. */
static void check_helpers(const struct addr *a, size_t wl, size_t ll, size_t dl)
{
    size_t base = addr_base_length(a->local, "+");

    CHECK(base <= ll);
    if (base < ll)
        CHECK(base > 0 && a->local[base] == '+');
    CHECK(addr_base_length(a->local, "") == ll);
    CHECK(addr_same_text(a->written, wl, a->written, wl));
    CHECK(addr_same_text(a->domain, dl, a->written + wl - dl, dl));
}

/* check_addr - one parsed address; returns the length of its "written". */
static size_t check_addr(const struct addr *a, size_t size)
{
    size_t wl, ll, dl;

    CHECK(a->written != NULL && a->local != NULL && a->domain != NULL);
    wl = strlen(a->written);
    ll = strlen(a->local);
    dl = strlen(a->domain);
    CHECK(wl <= size);
    CHECK(a->is_null == (wl == 0));
    if (a->is_null) {
        CHECK(ll == 0 && dl == 0);
        return 0;
    }
    CHECK(ll > 0);
    CHECK(wl >= dl + 2);
    CHECK(a->written[wl - dl - 1] == '@');
    CHECK(memcmp(a->written + wl - dl, a->domain, dl) == 0);
    CHECK(ll <= wl - dl - 1);
    check_domain(a->domain, dl);
    CHECK(no_ctl(a->written) && no_ctl(a->local) && no_ctl(a->domain));
    CHECK(utf8_ok((const unsigned char *)a->written, wl));
    CHECK(utf8_ok((const unsigned char *)a->local, ll));
    CHECK(utf8_ok((const unsigned char *)a->domain, dl));
    check_helpers(a, wl, ll, dl);
    return wl;
}

static bool same_addr(const struct addr *a, const struct addr *b)
{
    return a->is_null == b->is_null && strcmp(a->written, b->written) == 0 &&
           strcmp(a->local, b->local) == 0 && strcmp(a->domain, b->domain) == 0;
}

/* fuzz_envelope - addr_parse_envelope(); the result stays in *env. */
static int fuzz_envelope(const char *in, size_t size, struct addr *env)
{
    const char *error = NULL;
    int rc;

    env->written = env->local = env->domain = sentinel;
    env->is_null = true;
    rc = addr_parse_envelope(in, size, env, &error);
    CHECK(rc == 0 || rc == -1);
    if (rc == 0) {
        check_addr(env, size);
    } else {
        CHECK(error != NULL && *error != '\0');
        CHECK(env->written == NULL && env->local == NULL && env->domain == NULL);
        CHECK(!env->is_null);
    }
    return rc;
}

/* fuzz_list - addr_parse_list() into *l (empty) and after one address. */
static int fuzz_list(const char *in, size_t size, struct addr_list *l)
{
    static const char pre[] = "Pre Fill <pre@fill.example>";
    struct addr_list l2 = {0};
    const char *error = NULL, *error2 = NULL;
    char *w0, *l0, *d0;
    size_t i, total = 0;
    int rc, rc2;

    rc = addr_parse_list(in, size, l, &error);
    CHECK(rc == 0 || rc == -1);
    if (rc < 0) {
        CHECK(error != NULL && *error != '\0');
        CHECK(l->n == 0 && l->cap == 0 && l->v == NULL);
    }
    for (i = 0; i < l->n; i++) {
        CHECK(!l->v[i].is_null);
        total += check_addr(&l->v[i], size);
    }
    CHECK(total <= size && l->n <= HM_ADDR_MAX_LIST && l->n <= l->cap);

    CHECK(addr_parse_list(pre, sizeof(pre) - 1, &l2, &error2) == 0 && l2.n == 1);
    w0 = l2.v[0].written, l0 = l2.v[0].local, d0 = l2.v[0].domain;
    rc2 = addr_parse_list(in, size, &l2, &error2);
    CHECK(rc2 == rc);
    CHECK(l2.n == 1 + (rc == 0 ? l->n : 0) && l2.n <= l2.cap);
    CHECK(l2.v[0].written == w0 && l2.v[0].local == l0 && l2.v[0].domain == d0);
    CHECK(strcmp(w0, "pre@fill.example") == 0);
    if (rc < 0)
        CHECK(error2 != NULL && strcmp(error2, error) == 0);
    for (i = 0; i < l->n; i++)
        CHECK(same_addr(&l->v[i], &l2.v[i + 1]));
    addr_list_free(&l2);
    CHECK(l2.v == NULL && l2.n == 0);
    return rc;
}

/* One address the product checks, for the lookup. */
struct key {
    const char *local, *domain;
    size_t llen, dlen;
};

/* The state of the check of one input against the model. */
struct shown {
    const char *in;
    size_t size;
    const struct addr_list *ours;
    struct key *keys; /* ours, sorted */
    const struct tb_reading *tb;
    const char *from, *text; /* where the address at hand is shown */
};

/* fold_cmp - compare two byte strings with ASCII case folded. */
static int fold_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t i;
    int ca, cb;

    for (i = 0; i < alen && i < blen; i++) {
        ca = (unsigned char)a[i], cb = (unsigned char)b[i];
        ca += ca >= 'A' && ca <= 'Z' ? 'a' - 'A' : 0;
        cb += cb >= 'A' && cb <= 'Z' ? 'a' - 'A' : 0;
        if (ca != cb)
            return ca - cb;
    }
    return alen < blen ? -1 : alen > blen;
}

static int key_cmp(const void *va, const void *vb)
{
    const struct key *a = va, *b = vb;
    int c = fold_cmp(a->local, a->llen, b->local, b->llen);

    return c != 0 ? c : fold_cmp(a->domain, a->dlen, b->domain, b->dlen);
}

/* put_bytes - S (N bytes) on stderr in quotes, C-escaped. */
static void put_bytes(const char *s, size_t n)
{
    size_t i;

    fputc('"', stderr);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\')
            fprintf(stderr, "\\%c", c);
        else if (c < 0x20 || c > 0x7e)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fputc('"', stderr);
}

/* not_shown - a shown address (NULL: one that never matches) is not checked. */
static void not_shown(const struct shown *st, const char *local, size_t llen,
                      const char *domain, size_t dlen)
{
    size_t i;

    fprintf(stderr,
            "fuzz_address.c: invariant violated: an address a client shows "
            "is not checked\n  input (%zu bytes): ",
            st->size);
    put_bytes(st->in, st->size);
    fputs("\n  shown:   ", stderr);
    if (local == NULL) {
        fputs("an address that never matches", stderr);
    } else {
        put_bytes(local, llen);
        fputs(" @ ", stderr);
        put_bytes(domain, dlen);
    }
    fprintf(stderr, ", from the %s ", st->from);
    put_bytes(st->text, strlen(st->text));
    fputs("\n  checked:", stderr);
    for (i = 0; i < st->ours->n; i++) {
        fputs(i > 0 ? ", " : " ", stderr);
        put_bytes(st->ours->v[i].local, strlen(st->ours->v[i].local));
        fputs(" @ ", stderr);
        put_bytes(st->ours->v[i].domain, strlen(st->ours->v[i].domain));
        fputs(st->ours->v[i].in_name ? " (in a name)" : "", stderr);
    }
    fputs("\n  Thunderbird (tbmodel.c):", stderr);
    for (i = 0; i < st->tb->n_mbox; i++) {
        fputs("\n    mailbox name ", stderr);
        put_bytes(st->tb->mbox[i].name, strlen(st->tb->mbox[i].name));
        fputs(" email ", stderr);
        put_bytes(st->tb->mbox[i].email, strlen(st->tb->mbox[i].email));
    }
    for (i = 0; i < st->tb->n_group; i++) {
        fputs("\n    group ", stderr);
        put_bytes(st->tb->group[i], strlen(st->tb->group[i]));
    }
    fputc('\n', stderr);
    abort();
}

/* checked - an address the model shows must be one the product checks. */
static void checked(const char *local, size_t llen, const char *domain, size_t dlen,
                    void *arg)
{
    const struct shown *st = arg;
    struct key k = {local, domain, llen, dlen};

    if (bsearch(&k, st->keys, st->ours->n, sizeof(k), key_cmp) == NULL)
        not_shown(st, local, llen, domain, dlen);
}

/* check_email - a mailbox's address as the model gives it. */
static void check_email(struct shown *st, const char *email)
{
    const char *at = strrchr(email, '@');
    size_t llen, i, n = 0;
    char *local;

    st->from = "address", st->text = email;
    if (at == NULL || at == email || at[1] == '\0')
        not_shown(st, NULL, 0, NULL, 0);
    llen = (size_t)(at - email);
    local = malloc(llen + 1);
    CHECK(local != NULL);
    if (llen >= 2 && email[0] == '"' && email[llen - 1] == '"') {
        for (i = 1; i < llen - 1; i++) {
            if (email[i] == '\\' && i + 1 < llen - 1)
                i++;
            local[n++] = email[i];
        }
    } else {
        memcpy(local, email, n = llen);
    }
    local[n] = '\0';
    if (n == 0)
        not_shown(st, NULL, 0, NULL, 0);
    checked(local, n, at + 1, strlen(at + 1), st);
    free(local);
}

/* check_model - every address the model shows for IN is among OURS. */
static void check_model(const char *in, size_t size, const struct addr_list *ours)
{
    struct shown st = {in, size, ours, NULL, NULL, NULL, NULL};
    struct tb_reading tb;
    char *unfolded = malloc(size + 1);
    size_t i, n = 0;

    CHECK(unfolded != NULL);
    for (i = 0; i < size; i++)
        if (in[i] != '\r' && in[i] != '\n')
            unfolded[n++] = in[i];
    if (tb_read(unfolded, n, &tb) < 0) {
        free(unfolded);
        return;
    }
    st.tb = &tb;
    st.keys = malloc(ours->n * sizeof(*st.keys));
    CHECK(st.keys != NULL);
    for (i = 0; i < ours->n; i++) {
        st.keys[i].local = ours->v[i].local;
        st.keys[i].llen = strlen(ours->v[i].local);
        st.keys[i].domain = ours->v[i].domain;
        st.keys[i].dlen = strlen(ours->v[i].domain);
    }
    qsort(st.keys, ours->n, sizeof(*st.keys), key_cmp);
    for (i = 0; i < tb.n_mbox; i++) {
        if (tb.mbox[i].email[0] != '\0')
            check_email(&st, tb.mbox[i].email);
        st.from = "display name", st.text = tb.mbox[i].name;
        tb_name_addresses(tb.mbox[i].name, checked, &st);
    }
    for (i = 0; i < tb.n_group; i++) {
        st.from = "group name", st.text = tb.group[i];
        tb_name_addresses(tb.group[i], checked, &st);
    }
    free(st.keys);
    tb_reading_free(&tb);
    free(unfolded);
}

/* quote_in_word - whether IN holds an encoded word ("=?cs?Q?text?=", as
 * Thunderbird finds one) whose text holds a '"'. */
static bool quote_in_word(const char *in, size_t size)
{
    const char *p = in, *end = in + size, *q;

    for (; (p = memchr(p, '=', (size_t)(end - p))) != NULL && end - p >= 2; p++) {
        if (p[1] != '?' || (q = memchr(p + 2, '?', (size_t)(end - p - 2))) == NULL)
            continue;
        if (end - q < 3 || strchr("BbQq", q[1]) == NULL || q[1] == '\0' || q[2] != '?')
            continue;
        for (q += 3; q + 1 < end && !(q[0] == '?' && q[1] == '='); q++)
            if (*q == '"')
                return true;
    }
    return false;
}

/*
 * fuzz_shown - addr_parse_shown() as for From:, judged by the model; and
 * the same without the plain path (HM_ADDR_NO_PLAIN): the same answer.
 */
static void fuzz_shown(const char *in, size_t size)
{
    const unsigned flags = HM_ADDR_NO_GROUP | HM_ADDR_NAMES;
    struct addr_list l = {0}, slow = {0};
    const char *error = NULL, *slow_error = NULL;
    int rc, slow_rc;
    size_t i;

    rc = addr_parse_shown(in, size, flags, &l, &error);
    CHECK(rc == 0 || rc == -1);
    if (rc < 0)
        CHECK(error != NULL && *error != '\0' && l.n == 0 && l.v == NULL);
    else if (l.n > 0 && utf8_ok((const unsigned char *)in, size) &&
             !quote_in_word(in, size))
        check_model(in, size, &l);
    slow_rc = addr_parse_shown(in, size, flags | HM_ADDR_NO_PLAIN, &slow, &slow_error);
    CHECK(slow_rc == rc && slow.n == l.n);
    if (rc < 0)
        CHECK(strcmp(error, slow_error) == 0);
    for (i = 0; i < l.n && i < slow.n; i++)
        CHECK(same_addr(&l.v[i], &slow.v[i]) && l.v[i].in_name == slow.v[i].in_name);
    addr_list_free(&slow);
    addr_list_free(&l);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    struct addr env;
    struct addr_list l = {0};
    int env_rc, list_rc;

    env_rc = fuzz_envelope(in, size, &env);
    list_rc = fuzz_list(in, size, &l);
    fuzz_shown(in, size);
    if (env_rc == 0 && !env.is_null) {
        CHECK(list_rc == 0 && l.n == 1);
        CHECK(same_addr(&env, &l.v[0]));
    }
    addr_free(&env);
    CHECK(env.written == NULL);
    addr_list_free(&l);
    return 0;
}

/*
 * NAME
 *	fuzz_xtext - libFuzzer harness for the xtext decoder
 *
 * SUMMARY
 *	Every input goes to addr_xtext_decode(), as Sendmail's {auth_authen}
 *	would. The result is compared with a small model of RFC 3461 xtext
 *	written here, then encoded again and decoded once more.
 *
 * DESCRIPTION
 *	The model: a raw byte must lie in 0x21..0x7e; "+" must be followed
 *	by two hex digits (either case, as the unit tests require) that do
 *	not decode to NUL. Checked, with abort() on a violation:
 *
 *	- the decoder succeeds exactly when the model accepts the input, and
 *	  then returns the model's bytes, NUL-terminated, never longer than
 *	  the input (an input without "+" comes back unchanged);
 *	- on failure there is a non-empty message;
 *	- encoding the output again (uppercase "+XX" for "+", "=" and every
 *	  byte outside 0x21..0x7e) and decoding that gives the output back.
 *
 *	Single-threaded, as libFuzzer calls it; no state between inputs.
 */
#include "autoconf.h"

#include <stdbool.h>

#include "address.h"
#include "fuzz.h"

static int hex_digit(unsigned char c)
{
    static const char digits[] = "0123456789abcdef";
    const char *hit;

    if (c >= 'A' && c <= 'F')
        c = (unsigned char)(c - 'A' + 'a');
    hit = c != '\0' ? strchr(digits, c) : NULL;
    return hit != NULL ? (int)(hit - digits) : -1;
}

/*
 * model_decode - the model: decode IN (SIZE bytes) into OUT (SIZE bytes
 * at least); returns the decoded length, or -1 when xtext has no such
 * input.
 */
static long model_decode(const unsigned char *in, size_t size, unsigned char *out)
{
    size_t i = 0, o = 0;
    int hi, lo;

    while (i < size) {
        if (in[i] != '+') {
            if (in[i] < 0x21 || in[i] > 0x7e)
                return -1;
            out[o++] = in[i++];
            continue;
        }
        if (size - i < 3 || (hi = hex_digit(in[i + 1])) < 0 ||
            (lo = hex_digit(in[i + 2])) < 0 || (hi | lo) == 0)
            return -1;
        out[o++] = (unsigned char)(hi << 4 | lo);
        i += 3;
    }
    return (long)o;
}

/* encode - canonical xtext of S (LEN bytes) into a malloc'd buffer. */
static char *encode(const unsigned char *s, size_t len, size_t *out_len)
{
    static const char hex[] = "0123456789ABCDEF";
    char *buf = malloc(3 * len + 1);
    size_t i, o = 0;

    CHECK(buf != NULL);
    for (i = 0; i < len; i++) {
        if (s[i] < 0x21 || s[i] > 0x7e || s[i] == '+' || s[i] == '=') {
            buf[o++] = '+';
            buf[o++] = hex[s[i] >> 4];
            buf[o++] = hex[s[i] & 0xf];
        } else {
            buf[o++] = (char)s[i];
        }
    }
    buf[o] = '\0';
    *out_len = o;
    return buf;
}

/* round_trip - decode(encode(OUT)) must be OUT again. */
static void round_trip(const char *out, size_t len)
{
    const char *error = NULL;
    char *again = NULL, *enc;
    size_t enc_len;

    enc = encode((const unsigned char *)out, len, &enc_len);
    CHECK(addr_xtext_decode(enc, enc_len, &again, &error) == 0);
    CHECK(again != NULL && strlen(again) == len && memcmp(again, out, len) == 0);
    free(again);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *want = malloc(size + 1);
    const char *error = NULL;
    char *out = NULL;
    long want_len;
    int rc;

    CHECK(want != NULL);
    want_len = model_decode(data, size, want);
    rc = addr_xtext_decode((const char *)data, size, &out, &error);
    CHECK(rc == 0 || rc == -1);
    if (want_len < 0) {
        CHECK(rc == -1);
        CHECK(error != NULL && *error != '\0');
    } else {
        CHECK(rc == 0 && out != NULL);
        CHECK((size_t)want_len <= size);
        CHECK(strlen(out) == (size_t)want_len);
        CHECK(memcmp(out, want, (size_t)want_len) == 0);
        if (memchr(data, '+', size) == NULL)
            CHECK((size_t)want_len == size && memcmp(out, data, size) == 0);
        round_trip(out, (size_t)want_len);
    }
    free(out);
    free(want);
    return 0;
}

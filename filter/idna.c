/*
 * NAME
 *	idna - international domain names, as addresses compare them
 * SUMMARY
 *	idna_is_international(), idna_ascii(), idna_unicode(),
 *	idna_same_domain()
 * DESCRIPTION
 *	libidn2 does the conversion (IDNA2008, Unicode TR46
 *	non-transitional, NFC on input, and the A-label round trip that
 *	refuses an A-label which does not decode to a valid U-label): a
 *	hand-written Punycode would be one more parser to get wrong. Only
 *	domains that need it are converted; a plain ASCII domain compares as
 *	written, so that an ASCII name libidn2's host-name rules would
 *	refuse (an underscore, a leading hyphen) still matches itself.
 *
 *	Pure: no I/O, no globals; safe from any thread.
 */
#include "autoconf.h"

#include <idn2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "idna.h"

bool idna_is_international(const char *domain, size_t len)
{
    size_t i;

    for (i = 0; i < len; i++) {
        if ((unsigned char)domain[i] >= 0x80)
            return true;
        /* a label that starts with "xn--" */
        if ((i == 0 || domain[i - 1] == '.') && len - i >= 4 &&
            strncasecmp(domain + i, "xn--", 4) == 0)
            return true;
    }
    return false;
}

/*
 * idna_result - the end of a libidn2 conversion that returned RC and, on
 * success, OUT (libidn2's memory, freed here): a malloc'd copy of OUT in
 * *RESULT_R; returns as idna_ascii() does.
 */
static int idna_result(int rc, char *out, char **result_r, const char **error_r)
{
    if (rc == IDN2_MALLOC)
        return -2;
    if (rc != IDN2_OK) {
        *error_r = idn2_strerror(rc);
        return -1;
    }
    *result_r = strdup(out);
    idn2_free(out);
    return *result_r != NULL ? 0 : -2;
}

int idna_ascii(const char *domain, size_t len, char **ascii_r, const char **error_r)
{
    char *copy = strndup(domain, len);
    uint8_t *out = NULL;
    int rc;

    *ascii_r = NULL;
    *error_r = "out of memory";
    if (copy == NULL)
        return -2;
    rc = idn2_lookup_u8((const uint8_t *)copy, &out,
                        IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT | IDN2_ALABEL_ROUNDTRIP);
    free(copy);
    return idna_result(rc, (char *)out, ascii_r, error_r);
}

int idna_unicode(const char *domain, size_t len, char **unicode_r, const char **error_r)
{
    char *ascii = NULL, *out = NULL;
    int rc = idna_ascii(domain, len, &ascii, error_r);

    *unicode_r = NULL;
    if (rc < 0)
        return rc;
    rc = idn2_to_unicode_8z8z(ascii, &out, 0);
    free(ascii);
    return idna_result(rc, out, unicode_r, error_r);
}

bool idna_same_domain(const char *a, size_t alen, const char *b, size_t blen)
{
    char *aa = NULL, *ab = NULL;
    const char *why;
    bool same;

    if (addr_same_text(a, alen, b, blen))
        return true;
    if (!idna_is_international(a, alen) && !idna_is_international(b, blen))
        return false;
    same = idna_ascii(a, alen, &aa, &why) == 0 && idna_ascii(b, blen, &ab, &why) == 0 &&
           strcasecmp(aa, ab) == 0;
    free(aa);
    free(ab);
    return same;
}

/*
 * NAME
 *	checked - the addresses homed-milter checks in From: and Sender: values
 *
 * SUMMARY
 *	checked < VALUES
 *
 * DESCRIPTION
 *	Reads header field values from stdin, each ended by a NUL byte, and
 *	parses each as the milter parses From: and Sender: (addr_parse_shown()
 *	with HM_ADDR_NO_GROUP and HM_ADDR_NAMES). Writes one line per value,
 *	in the order read:
 *
 *	    M<TAB>MESSAGE                         the field is malformed
 *	    A<TAB>LOCAL DOMAIN<TAB>LOCAL DOMAIN   the addresses checked
 *
 *	LOCAL and DOMAIN are the bytes of struct addr's local and domain in
 *	lowercase hex, so that any byte survives the line format. A value that
 *	parses to no address at all is malformed, as it is to the milter. For
 *	the differential layer (test/differential/run.sh), which compares these
 *	lines with what mail clients show for the same values.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"

static void put_hex(const char *s)
{
    static const char digits[] = "0123456789abcdef";

    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        putchar(digits[c >> 4]);
        putchar(digits[c & 0xf]);
    }
}

/* The message on one line, whatever it holds. */
static void put_message(const char *msg)
{
    fputs("M\t", stdout);
    for (; *msg != '\0'; msg++)
        putchar((unsigned char)*msg < 0x20 || *msg == 0x7f ? '?' : *msg);
    putchar('\n');
}

static void check(const char *in, size_t len)
{
    struct addr_list list = {0};
    const char *error = NULL;
    size_t i;

    if (addr_parse_shown(in, len, HM_ADDR_NO_GROUP | HM_ADDR_NAMES, &list, &error) < 0) {
        put_message(error != NULL ? error : "(no message)");
        return;
    }
    if (list.n == 0) {
        put_message("no address");
    } else {
        putchar('A');
        for (i = 0; i < list.n; i++) {
            putchar('\t');
            put_hex(list.v[i].local);
            putchar(' ');
            put_hex(list.v[i].domain);
        }
        putchar('\n');
    }
    addr_list_free(&list);
}

int main(void)
{
    char *value = NULL;
    size_t cap = 0;
    ssize_t len;

    while ((len = getdelim(&value, &cap, '\0', stdin)) > 0) {
        if (value[len - 1] == '\0')
            len--;
        check(value, (size_t)len);
    }
    free(value);
    if (ferror(stdin) || fflush(stdout) != 0 || ferror(stdout)) {
        perror("checked");
        return 1;
    }
    return 0;
}

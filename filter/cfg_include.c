/*
 * NAME
 *	cfg_include - the files a configuration pulls in with @include
 * SUMMARY
 *	cfg_check_includes()
 * DESCRIPTION
 *	Whoever may change a file that the configuration includes chooses
 *	the directory as much as whoever may change the file itself, so each
 *	is held to the main file's rule (cfg_check_trust()) before libconfig
 *	reads it. libconfig 1.5 has no include hook: the directives are found
 *	here as its scanner finds them. It reads "@include" at the start of a
 *	line (after blanks and tabs only), outside comments (#, //, slash-star)
 *	and strings, followed by blanks and a name in double quotes in which
 *	a backslash takes the next character as it is; it opens that name as
 *	written, or under its include directory when one is set
 *	(config_set_include_dir(), which joins the two with a '/'). Included
 *	files are followed to libconfig's depth of 10. A file that cannot be
 *	read is left to libconfig, which names it.
 *
 *	Reads files; no global state: safe from any thread.
 */
#include "autoconf.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg_check.h"

#define CFG_INCLUDE_DEPTH 10      /* libconfig's own limit */
#define CFG_INCLUDE_MAX   1048576 /* larger files are left to libconfig */

/* Where an error goes, and what the names are relative to. */
struct cfg_includer {
    const char *dir; /* the include directory, or NULL */
    char **error_r;
};

static int cfg_includes_of(struct cfg_includer *in, const char *path, int depth);

static int cfg_include_fail(struct cfg_includer *in, const char *file, int line,
                            const char *name, const char *why)
{
    char *p;

    if (asprintf(in->error_r, "%s:%d: @include \"%s\": %s", file, line, name, why) < 0) {
        *in->error_r = NULL;
        return -1;
    }
    for (p = *in->error_r; *p != '\0'; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?'; /* one line */
    return -1;
}

/* The text of PATH, a regular file, or NULL (libconfig will say why). */
static char *cfg_slurp(const char *path)
{
    struct stat st;
    char *text = NULL;
    ssize_t got = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    if (fd < 0)
        return NULL;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < CFG_INCLUDE_MAX &&
        (text = malloc((size_t)st.st_size + 1)) != NULL)
        got = read(fd, text, (size_t)st.st_size);
    close(fd);
    if (got < 0) {
        free(text);
        return NULL;
    }
    text[got] = '\0';
    return text;
}

/* Where the name of an @include directive at P starts (after its '"'), or NULL. */
static const char *cfg_include_at(const char *p)
{
    if (strncmp(p, "@include", 8) != 0 || (p[8] != ' ' && p[8] != '\t'))
        return NULL;
    p += 8 + strspn(p + 8, " \t");
    return *p == '"' ? p + 1 : NULL;
}

/* Past the comment or string at P, counting its newlines into *LINE. */
static const char *cfg_skip(const char *p, int *line)
{
    if (*p == '#' || (p[0] == '/' && p[1] == '/'))
        return p + strcspn(p, "\n");
    if (*p == '"') {
        for (p++; *p != '\0' && *p != '"'; p++) {
            *line += *p == '\n';
            if (*p == '\\' && p[1] != '\0')
                p++;
        }
        return *p == '\0' ? p : p + 1;
    }
    for (p += 2; *p != '\0' && (p[0] != '*' || p[1] != '/'); p++)
        *line += *p == '\n';
    return *p == '\0' ? p : p + 2;
}

/*
 * The @include in FILE:LINE whose name starts at *P: check the file it
 * names, and those it includes; *P is moved past the name.
 */
static int cfg_include_one(struct cfg_includer *in, const char *file, int line,
                           const char **p, int depth)
{
    const char *q = *p, *why;
    char *name = malloc(strlen(q) + 1), *full = NULL;
    size_t n = 0;
    struct stat st;
    int rc = 0;

    if (name == NULL)
        return cfg_include_fail(in, file, line, "", "out of memory");
    for (; *q != '"' && *q != '\n' && *q != '\0'; q++)
        name[n++] = *q == '\\' && q[1] != '\0' ? *++q : *q;
    name[n] = '\0';
    *p = *q == '"' ? q + 1 : q;
    /* Unterminated: a syntax error that libconfig reports. */
    if (*q == '"' &&
        asprintf(&full, "%s%s%s", in->dir ? in->dir : "", in->dir ? "/" : "", name) < 0)
        rc = cfg_include_fail(in, file, line, name, "out of memory");
    else if (full != NULL && stat(full, &st) == 0 && S_ISREG(st.st_mode)) {
        if ((why = cfg_check_trust(&st, false)) != NULL)
            rc = cfg_include_fail(in, file, line, name, why);
        else if (depth < CFG_INCLUDE_DEPTH)
            rc = cfg_includes_of(in, full, depth + 1);
    }
    free(full);
    free(name);
    return rc;
}

/* The @include directives of PATH, DEPTH files deep. */
static int cfg_includes_of(struct cfg_includer *in, const char *path, int depth)
{
    char *text = cfg_slurp(path);
    const char *p = text, *name;
    bool start = true;
    int line = 1, rc = 0;

    while (p != NULL && *p != '\0' && rc == 0) {
        if (*p == '\n') {
            line++;
            start = true;
            p++;
        } else if (start && (name = cfg_include_at(p)) != NULL) {
            p = name;
            rc = cfg_include_one(in, path, line, &p, depth);
            start = false;
        } else if (*p == '#' || *p == '"' ||
                   (p[0] == '/' && (p[1] == '/' || p[1] == '*'))) {
            p = cfg_skip(p, &line);
            start = false;
        } else {
            start = start && (*p == ' ' || *p == '\t');
            p++;
        }
    }
    free(text);
    return rc;
}

int cfg_check_includes(const char *path, const char *include_dir, char **error_r)
{
    struct cfg_includer in = {include_dir, error_r};

    *error_r = NULL;
    return cfg_includes_of(&in, path, 1);
}

/*
 * NAME
 *	cfg_all - the checks across keys, after the libconfig walk
 * SUMMARY
 *	privately cfg_check_all()
 * DESCRIPTION
 *	What no single key's check can see: keys that go together or
 *	contradict each other, the user that must exist, the bind password
 *	file read, local_hosts defaulted to this host's fully qualified name,
 *	and what depends on other keys filled in (the per-reason reply texts,
 *	the host of "inet:PORT"). Each problem is "FILE:LINE: message" with
 *	the line of the key to blame.
 */
#include "autoconf.h"

#include <errno.h>
#include <libconfig.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cfg_check.h"

/* The line to blame for a missing or inconsistent KEY: its own, its group's, or 1. */
static int cfg_line_of(const config_t *c, const char *key, const char **file_r)
{
    const config_setting_t *s = config_lookup(c, key);
    char *group = strdup(key), *dot;

    *file_r = NULL;
    if (s == NULL && group != NULL && (dot = strchr(group, '.')) != NULL) {
        *dot = '\0';
        s = config_lookup(c, group);
    }
    free(group);
    if (s == NULL)
        return 1;
    *file_r = config_setting_source_file(s);
    return (int)config_setting_source_line(s);
}

static int cfg_read_password(struct cfg_loader *ld, const config_t *c, struct cfg *cfg)
{
    const char *file, *why = NULL;
    int line = cfg_line_of(c, "ldap.bind_password_file", &file);

    if (cfg_read_secret(cfg->ldap.bind_password_file, &cfg->ldap.bind_password, &why) < 0)
        return cfg_fail(ld, file, line, "ldap.bind_password_file: %s: %s",
                        cfg->ldap.bind_password_file, why);
    return 0;
}

/* user must exist now: a typo would otherwise fail only at start. */
static int cfg_check_user(struct cfg_loader *ld, const config_t *c, const char *user)
{
    long size = sysconf(_SC_GETPW_R_SIZE_MAX);
    struct passwd pw, *found = NULL;
    const char *file;
    char *buf;
    int rc, line;

    if (size < 1024)
        size = 16384;
    if ((buf = malloc((size_t)size)) == NULL)
        return cfg_fail(ld, NULL, 0, "out of memory");
    rc = getpwnam_r(user, &pw, buf, (size_t)size, &found);
    free(buf);
    if (found != NULL)
        return 0;
    line = cfg_line_of(c, "user", &file);
    if (rc != 0 && rc != ENOENT && rc != ESRCH)
        return cfg_fail(ld, file, line, "user: cannot look up \"%s\": %s", user,
                        strerrordesc_np(rc));
    return cfg_fail(ld, file, line, "user: \"%s\" is no user on this system", user);
}

/* local_hosts left out: this host's name, which must be fully qualified. */
static int cfg_default_local_hosts(struct cfg_loader *ld, struct cfg *cfg)
{
    char *fqdn = cfg_default_fqdn();
    int rc = 0;

    if (fqdn == NULL)
        rc = cfg_fail(ld, NULL, 1,
                      "local_hosts: not set, and this host's name is unknown");
    else if (strchr(fqdn, '.') == NULL)
        rc = cfg_fail(ld, NULL, 1,
                      "local_hosts: not set, and this host's name \"%s\" is not fully "
                      "qualified: set local_hosts to the names the home attribute holds",
                      fqdn);
    else if (cfg_list_push(&cfg->local_hosts, fqdn) < 0)
        rc = cfg_fail(ld, NULL, 0, "out of memory");
    free(fqdn);
    return rc;
}

/* What was left to the table's defaults but depends on other keys. */
static int cfg_derive(struct cfg_loader *ld, struct cfg *cfg)
{
    char **texts[] = {
        &cfg->policy.reject_text_no_entry, &cfg->policy.reject_text_not_homed,
        &cfg->policy.reject_text_not_owned, &cfg->policy.reject_text_malformed};
    char *socket;
    size_t i;

    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        if (*texts[i] == NULL && (*texts[i] = strdup(cfg->policy.reject_text)) == NULL)
            return cfg_fail(ld, NULL, 0, "out of memory");
    if ((socket = cfg_socket_with_host(cfg->socket, &cfg->socket_host_added)) == NULL)
        return cfg_fail(ld, NULL, 0, "out of memory");
    free(cfg->socket);
    cfg->socket = socket;
    return 0;
}

/* cfg_list_blank - whether a value of L holds a blank. */
static bool cfg_list_blank(const struct cfg_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        if (strchr(l->v[i], ' ') != NULL || strchr(l->v[i], '\t') != NULL)
            return true;
    return false;
}

int cfg_check_all(struct cfg_loader *ld, const config_t *c, struct cfg *cfg)
{
    const char *file;
    size_t i;
    int line;

    if (cfg->ldap.base == NULL) {
        line = cfg_line_of(c, "ldap.base", &file);
        return cfg_fail(ld, file, line, "ldap.base is required");
    }
    if ((cfg->ldap.bind_dn == NULL) != (cfg->ldap.bind_password_file == NULL)) {
        line = cfg_line_of(
            c, cfg->ldap.bind_dn ? "ldap.bind_dn" : "ldap.bind_password_file", &file);
        return cfg_fail(ld, file, line,
                        "ldap.bind_dn and ldap.bind_password_file go together");
    }
    /* Blanks in local_hosts only where they name RDN values (database names). */
    if (cfg->ldap.home_value == HM_HOME_HOST && cfg_list_blank(&cfg->local_hosts)) {
        line = cfg_line_of(c, "local_hosts", &file);
        return cfg_fail(
            ld, file, line,
            "local_hosts: a host name holds no blanks (with ldap.home_value = "
            "\"rdn\" an RDN value such as an Exchange database name may)");
    }
    for (i = 0; i < cfg->ldap.prefixed_attributes.n; i++)
        if (!cfg_list_has(&cfg->ldap.address_attributes,
                          cfg->ldap.prefixed_attributes.v[i])) {
            line = cfg_line_of(c, "ldap.prefixed_attributes", &file);
            return cfg_fail(ld, file, line,
                            "ldap.prefixed_attributes: %s is not one of "
                            "ldap.address_attributes",
                            cfg->ldap.prefixed_attributes.v[i]);
        }
    if (cfg->cache.stale_ttl > 0 && cfg->cache.stale_ttl <= cfg->cache.ttl) {
        line = cfg_line_of(c, "cache.stale_ttl", &file);
        return cfg_fail(ld, file, line,
                        "cache.stale_ttl: must be more than cache.ttl (%d), or 0",
                        cfg->cache.ttl);
    }
    /* On behalf needs the Sender: it is allowed with, checked. */
    if (cfg->ldap.on_behalf_filter[0] != '\0' &&
        !cfg_list_has(&cfg->policy.header_fields, "Sender")) {
        line = cfg_line_of(c, "ldap.on_behalf_filter", &file);
        return cfg_fail(
            ld, file, line,
            "ldap.on_behalf_filter needs \"Sender\" in policy.header_fields: "
            "an on-behalf From: is allowed only with a Sender: the login owns");
    }
    if (cfg->user != NULL && cfg_check_user(ld, c, cfg->user) < 0)
        return -1;
    if (cfg->ldap.bind_password_file != NULL && cfg_read_password(ld, c, cfg) < 0)
        return -1;
    if (cfg->local_hosts.n == 0 && cfg_default_local_hosts(ld, cfg) < 0)
        return -1;
    return cfg_derive(ld, cfg);
}

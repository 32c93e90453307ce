/*
 * NAME
 *	dir_uri - an LDAP URI as the directory will read it
 * SUMMARY
 *	dir_uri_check()
 * DESCRIPTION
 *	Part of the directory module, so that only the directory includes
 *	<ldap.h>: the configuration's check of ldap.uri asks libldap's own
 *	parser (ldap_url_parse), the one dir_pool's ldap_initialize() uses,
 *	and says in a static message what it refused.
 *
 *	Thread safety: a pure function.
 */
#include "autoconf.h"

#include <ldap.h>
#include <stddef.h>

#include "directory.h"

/* What ldap_url_parse() says of a URI it refuses. */
static const char *dir_uri_error(int rc)
{
    switch (rc) {
    case LDAP_URL_ERR_MEM:
        return "out of memory";
    case LDAP_URL_ERR_BADENCLOSURE:
        return "libldap cannot parse this URI: a '<' without its '>'";
    case LDAP_URL_ERR_BADHOST:
        return "libldap cannot parse this URI: bad host or port";
    case LDAP_URL_ERR_BADATTRS:
    case LDAP_URL_ERR_BADSCOPE:
    case LDAP_URL_ERR_BADFILTER:
    case LDAP_URL_ERR_BADEXTS:
        return "libldap cannot parse this URI: bad attributes, scope, filter or "
               "extensions after the host";
    default:
        return "libldap cannot parse this URI";
    }
}

int dir_uri_check(const char *uri, const char **error_r)
{
    LDAPURLDesc *url = NULL;
    int rc, port;

    if ((rc = ldap_url_parse(uri, &url)) != LDAP_URL_SUCCESS) {
        *error_r = dir_uri_error(rc);
        return -1;
    }
    port = url->lud_port;
    ldap_free_urldesc(url);
    if (port < 0 || port > 65535) {
        *error_r = "the port must be a number from 1 to 65535";
        return -1;
    }
    return 0;
}

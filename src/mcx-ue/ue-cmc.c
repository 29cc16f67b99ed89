/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Configuration management client (TS 23.280 10.1.1.1 step "configuration",
 * TS 24.484): GET the xcap-directory of the user, then every user profile it
 * lists, the UE configuration and the global service configuration. Optional
 * documents may be missing (404, reported); 401/403 stop the lifecycle.
 */
#include "ue-cmc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "ue-xcapc.h"

#define AUID_DIR "org.openmobilealliance.xcap-directory"
#define AUID_PROFILE "org.3gpp.mcptt.user-profile"
#define AUID_UECONF "org.3gpp.mcptt.ue-config"
#define AUID_SVCCONF "org.3gpp.mcptt.service-config"

#define MAX_DOCS 16

void ue_cmc_init(ue_cmc_t *cmc, const ue_mc_conf_t *mc, FILE *out, const char *token,
                 const char *xui)
{
    memset(cmc, 0, sizeof(*cmc));
    cmc->mc = mc;
    cmc->out = out;
    cmc->token = token;
    cmc->http.ca_file = mc->ca_file;
    cmc->http.timeout_s = mc->http_timeout_s;
    mcx_strlcpy(cmc->xui, xui, sizeof(cmc->xui));
}

static xmlDocPtr parse(const char *xml, size_t len)
{
    if (len > (8u << 20))
        return NULL;
    return xmlReadMemory(xml, (int)len, NULL, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

/* Evaluate `xpath` and call fn on the string value of every node found. */
static int each_value(xmlDocPtr doc, const char *xpath,
                      void (*fn)(const char *value, void *arg), void *arg)
{
    xmlXPathContextPtr xc = xmlXPathNewContext(doc);
    if (!xc)
        return -ENOMEM;
    xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)xpath, xc);
    int count = 0;
    if (o && o->nodesetval) {
        for (int i = 0; i < o->nodesetval->nodeNr; i++) {
            xmlChar *v = xmlNodeGetContent(o->nodesetval->nodeTab[i]);
            if (v) {
                /* trim */
                char *s = (char *)v;
                while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
                    s++;
                size_t l = strlen(s);
                while (l && (s[l - 1] == ' ' || s[l - 1] == '\n' || s[l - 1] == '\t' ||
                             s[l - 1] == '\r'))
                    s[--l] = '\0';
                if (*s) {
                    fn(s, arg);
                    count++;
                }
                xmlFree(v);
            }
        }
    }
    xmlXPathFreeObject(o);
    xmlXPathFreeContext(xc);
    return count;
}

typedef struct {
    char (*groups)[UE_ID_MAX];
    unsigned cap;
    unsigned *n;
} group_acc_t;

static void add_group(const char *v, void *arg)
{
    group_acc_t *a = arg;
    if (strlen(v) >= UE_ID_MAX)
        return;
    for (unsigned i = 0; i < *a->n; i++)
        if (!strcmp(a->groups[i], v))
            return;
    if (*a->n < a->cap)
        mcx_strlcpy(a->groups[(*a->n)++], v, UE_ID_MAX);
}

/*
 * The groups of a user profile: <OnNetwork><MCPTTGroupInfo><entry><uri-entry>
 * under <mcptt-user-profile> (urn:3gpp:mcptt:user-profile:1.0; path per
 * docs/cms.md). Matched by local name so a prefix or a default namespace
 * both work.
 */
#define PROFILE_GROUPS_XPATH                                                                     \
    "/*[local-name()='mcptt-user-profile']/*[local-name()='OnNetwork']"                        \
    "/*[local-name()='MCPTTGroupInfo']/*[local-name()='entry']/*[local-name()='uri-entry']"

int ue_cmc_profile_groups(const char *xml, size_t len, char (*groups)[UE_ID_MAX], unsigned cap,
                          unsigned *n)
{
    xmlDocPtr doc = parse(xml, len);
    if (!doc)
        return -EINVAL;
    group_acc_t a = {.groups = groups, .cap = cap, .n = n};
    int rv = each_value(doc, PROFILE_GROUPS_XPATH, add_group, &a);
    xmlFreeDoc(doc);
    return rv;
}

/* ----------------------------------------------------------------------- */

typedef struct {
    const char *auid;
    char rel[MAX_DOCS][UE_HTTP_URL_MAX];
    unsigned n;
} dir_acc_t;

/*
 * A directory entry's uri may be absolute, root-relative or relative to the
 * XCAP root; the token is only ever sent to our CMS, so keep the part from
 * the AUID on and resolve it against the configured root.
 */
static void add_entry(const char *uri, void *arg)
{
    dir_acc_t *d = arg;
    char key[160];
    snprintf(key, sizeof(key), "%s/", d->auid);
    const char *p = strstr(uri, key);
    if (!p || d->n >= MAX_DOCS || strlen(p) >= UE_HTTP_URL_MAX || strstr(p, ".."))
        return;
    for (unsigned i = 0; i < d->n; i++)
        if (!strcmp(d->rel[i], p))
            return;
    mcx_strlcpy(d->rel[d->n++], p, UE_HTTP_URL_MAX);
}

static void dir_entries(xmlDocPtr doc, dir_acc_t *d)
{
    char xp[300];
    snprintf(xp, sizeof(xp),
             "/*[local-name()='xcap-directory']/*[local-name()='folder'][@auid='%s']"
             "/*[local-name()='entry']/@uri",
             d->auid);
    each_value(doc, xp, add_entry, d);
}

int ue_cmc_run(ue_cmc_t *cmc)
{
    const char *label = "CSC-4 configuration management client -> CMS";
    ue_xcapc_t x = {.http = &cmc->http,
                    .out = cmc->out,
                    .label = label,
                    .root = cmc->mc->cms_url,
                    .token = cmc->token};
    char cache[UE_PATH_MAX + 8] = "";
    if (cmc->mc->state_dir[0]) {
        snprintf(cache, sizeof(cache), "%s/cms", cmc->mc->state_dir);
        x.cache_dir = cache;
    }
    char seg[UE_ID_MAX * 3];
    if (ue_xcapc_segment(cmc->xui, seg, sizeof(seg))) {
        ue_fail(cmc->out, "%s: MC service ID too long", label);
        return -EACCES;
    }
    ue_say(cmc->out, "CSC-4 configuration management client: user (XUI) %s, XCAP root %s",
           cmc->xui, cmc->mc->cms_url);

    /* 1. The directory of the user's documents. */
    char rel[UE_HTTP_URL_MAX];
    snprintf(rel, sizeof(rel), AUID_DIR "/users/%s/directory.xml", seg);
    ue_xcapc_doc_t d;
    dir_acc_t profiles = {.auid = AUID_PROFILE}, ueconf = {.auid = AUID_UECONF};
    int rv = ue_xcapc_get(&x, rel, "xcap-directory", true, &d);
    if (rv == -EACCES)
        return rv;
    if (rv == 0) {
        xmlDocPtr doc = parse(d.body, d.len);
        if (!doc) {
            ue_say(cmc->out, "    the directory is not well-formed XML; ignoring it");
        } else {
            dir_entries(doc, &profiles);
            dir_entries(doc, &ueconf);
            xmlFreeDoc(doc);
        }
        free(d.body);
        ue_say(cmc->out, "    directory lists %u user profile(s), %u UE configuration(s)",
               profiles.n, ueconf.n);
    }
    if (profiles.n == 0) {
        /* TS 24.484 names profiles user-profile-<index>.xml; try the first. */
        snprintf(profiles.rel[0], UE_HTTP_URL_MAX, AUID_PROFILE "/users/%s/user-profile-0.xml",
                 seg);
        profiles.n = 1;
    }

    /* 2. User profiles and the groups they name. */
    for (unsigned i = 0; i < profiles.n; i++) {
        rv = ue_xcapc_get(&x, profiles.rel[i], "MCPTT user profile", true, &d);
        if (rv == -EACCES)
            return rv;
        if (rv)
            continue;
        cmc->n_profiles++;
        unsigned before = cmc->n_groups;
        int found = ue_cmc_profile_groups(d.body, d.len, cmc->groups, UE_GROUPS_MAX,
                                          &cmc->n_groups);
        free(d.body);
        if (found < 0) {
            ue_say(cmc->out, "    user profile is not well-formed XML; no groups taken from it");
            continue;
        }
        ue_say(cmc->out, "    user profile names %d group(s)%s", found,
               found ? ":" : "");
        for (unsigned g = before; g < cmc->n_groups; g++)
            ue_say(cmc->out, "      %s", cmc->groups[g]);
    }
    if (!cmc->n_profiles) {
        ue_fail(cmc->out, "%s: no MCPTT user profile for %s", label, cmc->xui);
        return -EACCES;
    }

    /* 3. UE configuration (optional). */
    if (ueconf.n == 0) {
        snprintf(ueconf.rel[0], UE_HTTP_URL_MAX, AUID_UECONF "/users/%s/ue-config.xml", seg);
        ueconf.n = 1;
    }
    for (unsigned i = 0; i < ueconf.n; i++) {
        rv = ue_xcapc_get(&x, ueconf.rel[i], "MCPTT UE configuration", true, &d);
        if (rv == -EACCES)
            return rv;
        if (!rv)
            free(d.body);
    }

    /* 4. Service configuration (optional, global). */
    rv = ue_xcapc_get(&x, AUID_SVCCONF "/global/service-config.xml",
                      "MCPTT service configuration", true, &d);
    if (rv == -EACCES)
        return rv;
    if (!rv)
        free(d.body);
    ue_say(cmc->out, "CSC-4 configuration management client: %u profile(s), %u group(s) for %s",
           cmc->n_profiles, cmc->n_groups, cmc->xui);
    return 0;
}

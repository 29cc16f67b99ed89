/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Group management client (TS 23.280 10.1.1.1 step "group configuration",
 * TS 24.481): one GET per group at
 * /org.openmobilealliance.groups/global/byGroupID/<group-URI>.
 */
#include "ue-gmc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xpath.h>

#include "ue-xcapc.h"

#define AUID_GROUPS "org.openmobilealliance.groups"

static xmlChar *first_value(xmlXPathContextPtr xc, const char *xpath)
{
    xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)xpath, xc);
    xmlChar *v = NULL;
    if (o && o->nodesetval && o->nodesetval->nodeNr > 0)
        v = xmlNodeGetContent(o->nodesetval->nodeTab[0]);
    xmlXPathFreeObject(o);
    return v;
}

int ue_gmc_parse_group(const char *xml, size_t len, char *uri, size_t urilen, char *name,
                       size_t namelen, unsigned *members)
{
    if (len > (8u << 20))
        return -EINVAL;
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, NULL, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return -EINVAL;
    xmlXPathContextPtr xc = xmlXPathNewContext(doc);
    int rv = -EINVAL;
    if (xc) {
        const char *ls = "/*[local-name()='group']/*[local-name()='list-service']";
        char xp[300];
        snprintf(xp, sizeof(xp), "%s/@uri", ls);
        xmlChar *u = first_value(xc, xp);
        snprintf(xp, sizeof(xp), "%s/*[local-name()='display-name']", ls);
        xmlChar *dn = first_value(xc, xp);
        snprintf(xp, sizeof(xp), "count(%s/*[local-name()='list']/*[local-name()='entry'])", ls);
        xmlXPathObjectPtr o = xmlXPathEvalExpression((const xmlChar *)xp, xc);
        if (u) {
            snprintf(uri, urilen, "%s", (const char *)u);
            snprintf(name, namelen, "%s", dn ? (const char *)dn : "");
            *members = o && o->type == XPATH_NUMBER && o->floatval >= 0
                           ? (unsigned)o->floatval
                           : 0;
            rv = 0;
        }
        xmlXPathFreeObject(o);
        xmlFree(u);
        xmlFree(dn);
        xmlXPathFreeContext(xc);
    }
    xmlFreeDoc(doc);
    return rv;
}

int ue_gmc_run(const ue_mc_conf_t *mc, FILE *out, const char *token,
               const char (*groups)[UE_ID_MAX], unsigned n)
{
    const char *label = "CSC-2 group management client -> GMS";
    ue_http_t http = {.ca_file = mc->ca_file, .timeout_s = mc->http_timeout_s};
    ue_xcapc_t x = {.http = &http, .out = out, .label = label, .root = mc->gms_url,
                    .token = token};
    char cache[UE_PATH_MAX + 8] = "";
    if (mc->state_dir[0]) {
        snprintf(cache, sizeof(cache), "%s/gms", mc->state_dir);
        x.cache_dir = cache;
    }
    if (n == 0) {
        ue_say(out, "CSC-2 group management client: the user profiles name no group");
        return 0;
    }
    unsigned got = 0;
    for (unsigned i = 0; i < n; i++) {
        char seg[UE_ID_MAX * 3], rel[UE_ID_MAX * 3 + 64];
        if (ue_xcapc_segment(groups[i], seg, sizeof(seg)))
            continue;
        snprintf(rel, sizeof(rel), AUID_GROUPS "/global/byGroupID/%s", seg);
        ue_xcapc_doc_t d;
        int rv = ue_xcapc_get(&x, rel, "group document", true, &d);
        if (rv == -EACCES)
            return rv;
        if (rv)
            continue;
        char uri[UE_ID_MAX], name[256];
        unsigned members = 0;
        if (ue_gmc_parse_group(d.body, d.len, uri, sizeof(uri), name, sizeof(name), &members)) {
            ue_say(out, "    %s: not a group document (no <group><list-service uri=...>)",
                   groups[i]);
        } else {
            ue_say(out, "    group %s \"%s\": %u member(s)%s", uri, name, members,
                   strcmp(uri, groups[i]) ? " (URI differs from the one asked for)" : "");
            got++;
        }
        free(d.body);
    }
    ue_say(out, "CSC-2 group management client: %u of %u group document(s)", got, n);
    return 0;
}

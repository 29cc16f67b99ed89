/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Group documents (TS 24.481 §7.2, OMA PoC list-service): the checks a
 * document must pass beyond well-formedness, and who may read or change a
 * group. Depends only on lib/xcap, lib/core and libxml2 (mcxctl links it).
 */
#include "gms-auid.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>

static bool in_ns(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0 && n->ns
           && n->ns->href && strcmp((const char *)n->ns->href, GMS_NS) == 0;
}

static bool uri_scheme_ok(const char *u)
{
    return (strncmp(u, "sip:", 4) == 0 && u[4]) || (strncmp(u, "sips:", 5) == 0 && u[5])
           || (strncmp(u, "tel:", 4) == 0 && u[4]);
}

static xmlNodePtr list_service(xmlDocPtr doc, unsigned *count)
{
    xmlNodePtr root = xmlDocGetRootElement(doc), found = NULL;
    *count = 0;
    for (xmlNodePtr n = root ? root->children : NULL; n; n = n->next)
        if (in_ns(n, "list-service")) {
            if (!found)
                found = n;
            (*count)++;
        }
    return found;
}

mcx_xcap_err_t gms_validate(void *ud, xmlDocPtr doc, const mcx_xcap_loc_t *loc, char *phrase,
                            size_t phrase_len)
{
    const gms_policy_t *pol = ud;
    size_t pl = strlen(GMS_DOC_PREFIX);
    if (loc->tree != MCX_XCAP_GLOBAL || strncmp(loc->doc, GMS_DOC_PREFIX, pl) != 0
            || loc->doc[pl] == '\0') {
        snprintf(phrase, phrase_len, "group documents live at global/byGroupID/<group-URI>");
        return MCX_XCAP_ERR_CONSTRAINT;
    }
    const char *group_uri = loc->doc + pl;
    unsigned nls;
    xmlNodePtr ls = list_service(doc, &nls);
    if (nls != 1) {
        snprintf(phrase, phrase_len, "a group document holds exactly one <list-service>");
        return MCX_XCAP_ERR_SCHEMA;
    }
    xmlChar *uri = xmlGetNoNsProp(ls, (const xmlChar *)"uri");
    if (uri == NULL) {
        snprintf(phrase, phrase_len, "<list-service> has no uri attribute");
        return MCX_XCAP_ERR_SCHEMA;
    }
    bool same = strcmp((const char *)uri, group_uri) == 0;
    xmlFree(uri);
    if (!same) {
        snprintf(phrase, phrase_len, "list-service uri differs from the group URI in the path");
        return MCX_XCAP_ERR_CONSTRAINT;
    }
    if (!uri_scheme_ok(group_uri)) {
        snprintf(phrase, phrase_len, "the group URI is not a sip:, sips: or tel: URI");
        return MCX_XCAP_ERR_CONSTRAINT;
    }
    /* Members: every <entry> of every <list> of the list-service, once each. */
    unsigned members = 0;
    for (xmlNodePtr l = ls->children; l; l = l->next) {
        if (!in_ns(l, "list"))
            continue;
        for (xmlNodePtr e = l->children; e; e = e->next) {
            if (e->type != XML_ELEMENT_NODE)
                continue;
            if (!in_ns(e, "entry")) {
                if (e->ns && e->ns->href && strcmp((const char *)e->ns->href, GMS_NS) == 0) {
                    snprintf(phrase, phrase_len, "<list> holds <%s>, only <entry> is accepted",
                             (const char *)e->name);
                    return MCX_XCAP_ERR_SCHEMA;
                }
                continue; /* extension elements of other namespaces */
            }
            xmlChar *eu = xmlGetNoNsProp(e, (const xmlChar *)"uri");
            if (eu == NULL) {
                snprintf(phrase, phrase_len, "an <entry> has no uri attribute");
                return MCX_XCAP_ERR_SCHEMA;
            }
            if (!uri_scheme_ok((const char *)eu)) {
                snprintf(phrase, phrase_len, "member %.100s is not a sip:, sips: or tel: URI",
                         (const char *)eu);
                xmlFree(eu);
                return MCX_XCAP_ERR_CONSTRAINT;
            }
            /* Duplicate check against the entries before this one (groups are small). */
            for (xmlNodePtr l2 = ls->children; l2; l2 = l2->next) {
                if (!in_ns(l2, "list"))
                    continue;
                for (xmlNodePtr p = l2->children; p; p = p->next) {
                    if (p == e)
                        goto checked;
                    if (!in_ns(p, "entry"))
                        continue;
                    xmlChar *pu = xmlGetNoNsProp(p, (const xmlChar *)"uri");
                    bool dup = pu && strcmp((const char *)pu, (const char *)eu) == 0;
                    xmlFree(pu);
                    if (dup) {
                        snprintf(phrase, phrase_len, "member %.100s is listed twice",
                                 (const char *)eu);
                        xmlFree(eu);
                        return MCX_XCAP_ERR_CONSTRAINT;
                    }
                }
            }
        checked:
            xmlFree(eu);
            members++;
        }
    }
    if (pol && pol->max_members && members > pol->max_members) {
        snprintf(phrase, phrase_len, "%u members, at most %u allowed", members,
                 pol->max_members);
        return MCX_XCAP_ERR_CONSTRAINT;
    }
    return MCX_XCAP_ERR_NONE;
}

static bool is_admin(const gms_policy_t *pol, const char *id)
{
    for (unsigned i = 0; pol && i < pol->n_admins; i++)
        if (strcmp(pol->administrators[i], id) == 0)
            return true;
    return false;
}

/* Is `id` an <entry> of the stored group document? */
static bool is_member(const char *content, size_t len, const char *id)
{
    xmlDocPtr doc = xmlReadMemory(content, (int)len, "group.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL)
        return false;
    bool found = false;
    unsigned nls;
    xmlNodePtr ls = list_service(doc, &nls);
    for (xmlNodePtr l = ls ? ls->children : NULL; l && !found; l = l->next) {
        if (!in_ns(l, "list"))
            continue;
        for (xmlNodePtr e = l->children; e && !found; e = e->next) {
            if (!in_ns(e, "entry"))
                continue;
            xmlChar *eu = xmlGetNoNsProp(e, (const xmlChar *)"uri");
            found = eu && strcmp((const char *)eu, id) == 0;
            xmlFree(eu);
        }
    }
    xmlFreeDoc(doc);
    return found;
}

int gms_access(void *ud, const mcx_xcap_access_t *a)
{
    const gms_policy_t *pol = ud;
    const char *id = a->caller ? a->caller->mcptt_id : NULL;
    if (id == NULL || id[0] == '\0')
        return -EACCES;
    if (is_admin(pol, id))
        return 0;
    bool owner = a->exists && a->creator && strcmp(a->creator, id) == 0;
    switch (a->op) {
    case MCX_XCAP_OP_GET:
        if (!a->exists)
            return 0; /* answered 404 */
        return owner || is_member(a->content, a->content_len, id) ? 0 : -EACCES;
    case MCX_XCAP_OP_PUT:
        if (!a->exists)
            return pol && pol->allow_user_create ? 0 : -EACCES;
        return owner ? 0 : -EACCES;
    case MCX_XCAP_OP_DELETE:
        if (!a->exists)
            return 0; /* answered 404 */
        return owner ? 0 : -EACCES;
    }
    return -EACCES;
}

static mcx_xcap_auid_t gms_usage = {
    .auid = GMS_AUID,
    .mime = GMS_MIME,
    .root_name = "group",
    .root_ns = GMS_NS,
    .default_ns = GMS_NS,
    .users_tree = false,
    .global_tree = true,
    .scope = "3gpp:mc:ptt_group_management_service",
    .validate = gms_validate,
    .access = gms_access,
};

int gms_xcap_register(mcx_xcap_t *x, void *policy, char *err, size_t errlen)
{
    gms_usage.ud = policy;
    return mcx_xcap_register(x, &gms_usage, err, errlen);
}

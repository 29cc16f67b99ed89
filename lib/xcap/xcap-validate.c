/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Document validation shared by PUT and the provisioning API: well-formed
 * XML without any DOCTYPE (no DTD, no entities, no network), the AUID's
 * root element and namespace, its XSD and its semantic validator.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>

#include "xcap-internal.h"

/* Does the body declare a DOCTYPE? Checked before libxml2 sees a byte of it. */
static bool has_doctype(const char *body, size_t len)
{
    static const char needle[] = "<!DOCTYPE";
    size_t n = sizeof(needle) - 1;
    for (size_t i = 0; i + n <= len; i++)
        if (body[i] == '<' && strncasecmp(body + i, needle, n) == 0)
            return true;
    return false;
}

/* Keep the first schema error's text for the 409 phrase instead of printing it. */
static void schema_error(void *ud, xmlErrorPtr e)
{
    char *msg = ud;
    if (msg[0] == '\0' && e && e->message)
        snprintf(msg, 160, "line %d: %s", e->line, e->message);
}

static void trim_msg(char *s)
{
    size_t l = strlen(s);
    while (l > 0 && (s[l - 1] == '\n' || s[l - 1] == ' '))
        s[--l] = '\0';
}

int xcap_validate_doc(mcx_xcap_t *x, const xcap_usage_t *u, const mcx_xcap_loc_t *loc,
                      const char *body, size_t len, xmlDocPtr *out, mcx_xcap_result_t *res)
{
    if (out)
        *out = NULL;
    const mcx_xcap_auid_t *au = u->au;
    if (len == 0) {
        xcap_result_set(res, 409, MCX_XCAP_ERR_NOT_WELL_FORMED, "empty document");
        return -EINVAL;
    }
    if (memchr(body, '\0', len) != NULL) {
        xcap_result_set(res, 409, MCX_XCAP_ERR_NOT_WELL_FORMED, "NUL byte in the document");
        return -EINVAL;
    }
    if (has_doctype(body, len)) {
        xcap_result_set(res, 409, MCX_XCAP_ERR_NOT_WELL_FORMED,
                        "DOCTYPE declarations are not accepted");
        return -EINVAL;
    }
    xmlParserCtxtPtr ctx = xmlNewParserCtxt();
    if (ctx == NULL) {
        xcap_result_set(res, 500, MCX_XCAP_ERR_INTERNAL, "out of memory");
        return -ENOMEM;
    }
    /* NONET; never NOENT or DTDLOAD: entities stay unexpanded, nothing is fetched. */
    xmlDocPtr doc = xmlCtxtReadMemory(ctx, body, (int)len, "document.xml", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL || !ctx->wellFormed) {
        char msg[160] = "not well-formed";
        const xmlError *e = &ctx->lastError;
        if (e->message) {
            snprintf(msg, sizeof(msg), "line %d: %s", e->line, e->message);
            trim_msg(msg);
        }
        xcap_result_set(res, 409, MCX_XCAP_ERR_NOT_WELL_FORMED, "%s", msg);
        if (doc)
            xmlFreeDoc(doc);
        xmlFreeParserCtxt(ctx);
        return -EINVAL;
    }
    xmlFreeParserCtxt(ctx);
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        xcap_result_set(res, 409, MCX_XCAP_ERR_NOT_WELL_FORMED,
                        "DOCTYPE declarations are not accepted");
        xmlFreeDoc(doc);
        return -EINVAL;
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    const char *ns = (root && root->ns && root->ns->href) ? (const char *)root->ns->href : NULL;
    if (root == NULL || strcmp((const char *)root->name, au->root_name) != 0
            || (au->root_ns ? (ns == NULL || strcmp(ns, au->root_ns) != 0) : ns != NULL)) {
        xcap_result_set(res, 409, MCX_XCAP_ERR_SCHEMA, "root element must be <%s> in %s",
                        au->root_name, au->root_ns ? au->root_ns : "no namespace");
        xmlFreeDoc(doc);
        return -EINVAL;
    }
    if (u->schema != NULL) {
        xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(u->schema);
        char msg[160] = "";
        if (vc)
            xmlSchemaSetValidStructuredErrors(vc, schema_error, msg);
        int vr = vc ? xmlSchemaValidateDoc(vc, doc) : -1;
        trim_msg(msg);
        if (msg[0] == '\0')
            snprintf(msg, sizeof(msg), "document does not follow the schema");
        if (vc)
            xmlSchemaFreeValidCtxt(vc);
        if (vr != 0) {
            xcap_result_set(res, 409, MCX_XCAP_ERR_SCHEMA, "%s", msg);
            xmlFreeDoc(doc);
            return -EINVAL;
        }
    }
    if (au->validate != NULL) {
        char phrase[MCX_XCAP_PHRASE_MAX] = "";
        mcx_xcap_err_t e = au->validate(au->ud, doc, loc, phrase, sizeof(phrase));
        if (e != MCX_XCAP_ERR_NONE) {
            if (e != MCX_XCAP_ERR_SCHEMA)
                e = MCX_XCAP_ERR_CONSTRAINT;
            xcap_result_set(res, 409, e, "%s", phrase[0] ? phrase : "constraint failure");
            xmlFreeDoc(doc);
            return -EINVAL;
        }
    }
    (void)x;
    if (out)
        *out = doc;
    else
        xmlFreeDoc(doc);
    xcap_result_set(res, 200, MCX_XCAP_ERR_NONE, "%s", "");
    return 0;
}

int mcx_xcap_validate(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, const char *body, size_t len,
                      mcx_xcap_result_t *res)
{
    const xcap_usage_t *u = xcap_usage(x, loc->auid);
    if (u == NULL || xcap_builtin(loc->auid)) {
        xcap_result_set(res, 404, MCX_XCAP_ERR_NOT_FOUND, "unknown AUID %s", loc->auid);
        return -ENOENT;
    }
    if ((loc->tree == MCX_XCAP_USERS && !u->au->users_tree)
            || (loc->tree == MCX_XCAP_GLOBAL && !u->au->global_tree)) {
        xcap_result_set(res, 404, MCX_XCAP_ERR_NOT_FOUND, "AUID %s has no %s tree", loc->auid,
                        loc->tree == MCX_XCAP_USERS ? "users" : "global");
        return -ENOENT;
    }
    return xcap_validate_doc(x, u, loc, body, len, NULL, res);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The CMS application usages for lib/xcap: the five AUID descriptions, the
 * document validators (checking schema + the semantic rules of docs/cms.md),
 * the cross-document checks of a PUT and the functional alias status
 * document. Depends only on lib/xcap, lib/core and libxml2, so mcxctl can
 * link it and validate CMS documents exactly as mcx-cms does.
 */
#include "cms-auids.h"

#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- checking schemas, compiled once ------------------------------------ */

enum { XSD_PROFILE, XSD_UE_CONFIG, XSD_UE_INIT, XSD_SERVICE, XSD_ALIAS, XSD_N };

static const char *const xsd_text[XSD_N] = {
    cms_xsd_user_profile, cms_xsd_ue_config, cms_xsd_ue_init_config, cms_xsd_service_config,
    cms_xsd_functional_alias,
};
static xmlSchemaPtr xsd_compiled[XSD_N];
static pthread_once_t xsd_once = PTHREAD_ONCE_INIT;
static int xsd_status;

static void xsd_compile_all(void)
{
    xmlInitParser();
    for (int i = 0; i < XSD_N; i++) {
        xmlSchemaParserCtxtPtr pc = xmlSchemaNewMemParserCtxt(xsd_text[i], (int)strlen(xsd_text[i]));
        if (!pc) {
            xsd_status = -ENOMEM;
            return;
        }
        xmlSchemaSetParserStructuredErrors(pc, NULL, NULL);
        xsd_compiled[i] = xmlSchemaParse(pc);
        xmlSchemaFreeParserCtxt(pc);
        if (!xsd_compiled[i]) {
            xsd_status = -EINVAL;
            return;
        }
    }
}

typedef struct {
    char *phrase;
    size_t len;
    bool have;
} xsd_err_t;

static void xsd_error(void *ud, const xmlError *e)
{
    xsd_err_t *xe = ud;
    if (xe->have || !e || !e->message)
        return;
    xe->have = true;
    snprintf(xe->phrase, xe->len, "line %d: %s", e->line, e->message);
    /* libxml2 ends its messages with a newline */
    size_t n = strlen(xe->phrase);
    while (n && (xe->phrase[n - 1] == '\n' || xe->phrase[n - 1] == ' '))
        xe->phrase[--n] = '\0';
}

static mcx_xcap_err_t xsd_check(int which, xmlDocPtr doc, char *phrase, size_t len)
{
    pthread_once(&xsd_once, xsd_compile_all);
    if (xsd_status || !xsd_compiled[which]) {
        snprintf(phrase, len, "checking schema unavailable");
        return MCX_XCAP_ERR_INTERNAL;
    }
    xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(xsd_compiled[which]);
    if (!vc) {
        snprintf(phrase, len, "out of memory");
        return MCX_XCAP_ERR_INTERNAL;
    }
    xsd_err_t xe = {.phrase = phrase, .len = len};
    /* the cast matches libxml2 >= 2.12's const-qualified handler type */
    xmlSchemaSetValidStructuredErrors(vc, (xmlStructuredErrorFunc)(void (*)(void))xsd_error, &xe);
    int rv = xmlSchemaValidateDoc(vc, doc);
    xmlSchemaFreeValidCtxt(vc);
    if (rv == 0)
        return MCX_XCAP_ERR_NONE;
    if (!xe.have)
        snprintf(phrase, len, "document does not match the schema");
    return MCX_XCAP_ERR_SCHEMA;
}

/* ---- small XML helpers --------------------------------------------------- */

static bool is_el(const xmlNode *n, const char *ns, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->ns && n->ns->href &&
           strcmp((const char *)n->ns->href, ns) == 0 &&
           (!name || strcmp((const char *)n->name, name) == 0);
}

/* Trimmed text content of an element into out; false when it does not fit. */
static bool el_text(const xmlNode *n, char *out, size_t len)
{
    xmlChar *t = xmlNodeGetContent(n);
    const char *s = t ? (const char *)t : "";
    while (isspace((unsigned char)*s))
        s++;
    size_t l = strlen(s);
    while (l && isspace((unsigned char)s[l - 1]))
        l--;
    bool ok = l < len;
    if (ok) {
        memcpy(out, s, l);
        out[l] = '\0';
    } else if (len) {
        out[0] = '\0';
    }
    xmlFree(t);
    return ok;
}

static bool attr_text(const xmlNode *n, const char *name, char *out, size_t len)
{
    xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *)name);
    if (!v)
        return false;
    bool ok = strlen((const char *)v) < len;
    mcx_strlcpy(out, ok ? (const char *)v : "", len);
    xmlFree(v);
    return ok;
}

/* A sip: URI with a user part and a host: sip:user@host, no blanks or markup. */
static bool is_sip_uri(const char *s)
{
    if (strncasecmp(s, "sip:", 4) != 0)
        return false;
    const char *p = s + 4, *at = strchr(p, '@');
    if (!at || at == p || !at[1])
        return false;
    for (; *p; p++)
        if ((unsigned char)*p <= ' ' || strchr("<>\"", *p))
            return false;
    return true;
}

/* Decimal 0..max without sign, blanks or leading zeros (except "0"). */
static int parse_small_uint(const char *s, unsigned max, unsigned *out)
{
    if (!*s || strlen(s) > 3 || (s[0] == '0' && s[1]))
        return -EINVAL;
    unsigned v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(*p - '0');
    }
    if (v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

/* "user-profile-<index>.xml" -> index; -EINVAL otherwise. */
static int profile_doc_index(const char *doc, unsigned *index)
{
    static const char pre[] = "user-profile-", suf[] = ".xml";
    size_t l = strlen(doc);
    if (l <= sizeof(pre) - 1 + sizeof(suf) - 1 || strncmp(doc, pre, sizeof(pre) - 1) ||
        strcmp(doc + l - (sizeof(suf) - 1), suf))
        return -EINVAL;
    char num[8];
    size_t nl = l - (sizeof(pre) - 1) - (sizeof(suf) - 1);
    if (nl >= sizeof(num))
        return -EINVAL;
    memcpy(num, doc + sizeof(pre) - 1, nl);
    num[nl] = '\0';
    return parse_small_uint(num, CMS_MAX_PROFILE_INDEX, index);
}

/* ---- user profile (TS 24.484 MCPTT user profile) ------------------------- */

/* Every <uri-entry> of <MCPTTGroupInfo>/<entry> under `parent` must be a sip: URI. */
static mcx_xcap_err_t check_group_entries(const xmlNode *parent, char *phrase, size_t len)
{
    for (const xmlNode *gi = parent->children; gi; gi = gi->next) {
        if (!is_el(gi, CMS_NS_USER_PROFILE, "MCPTTGroupInfo"))
            continue;
        for (const xmlNode *e = gi->children; e; e = e->next) {
            if (!is_el(e, CMS_NS_USER_PROFILE, "entry"))
                continue;
            for (const xmlNode *u = e->children; u; u = u->next) {
                if (!is_el(u, CMS_NS_USER_PROFILE, "uri-entry"))
                    continue;
                char uri[300];
                if (!el_text(u, uri, sizeof(uri)) || !is_sip_uri(uri)) {
                    snprintf(phrase, len, "MCPTTGroupInfo entry '%.200s' is not a sip: URI",
                             uri[0] ? uri : "(too long)");
                    return MCX_XCAP_ERR_CONSTRAINT;
                }
            }
        }
    }
    return MCX_XCAP_ERR_NONE;
}

static mcx_xcap_err_t validate_profile(xmlDocPtr doc, const mcx_xcap_loc_t *loc, char *phrase,
                                       size_t len)
{
    mcx_xcap_err_t e = xsd_check(XSD_PROFILE, doc, phrase, len);
    if (e)
        return e;
    const xmlNode *root = xmlDocGetRootElement(doc);

    unsigned doc_index;
    if (profile_doc_index(loc->doc, &doc_index)) {
        snprintf(phrase, len, "document name must be user-profile-<index>.xml (index 0..%d)",
                 CMS_MAX_PROFILE_INDEX);
        return MCX_XCAP_ERR_CONSTRAINT;
    }
    char v[MCX_XCAP_XUI_MAX];
    unsigned idx;
    if (!attr_text(root, "user-profile-index", v, sizeof(v)) ||
        parse_small_uint(v, CMS_MAX_PROFILE_INDEX, &idx)) {
        snprintf(phrase, len, "user-profile-index must be an integer 0..%d",
                 CMS_MAX_PROFILE_INDEX);
        return MCX_XCAP_ERR_CONSTRAINT;
    }
    if (idx != doc_index) {
        snprintf(phrase, len, "user-profile-index %u differs from the document name index %u",
                 idx, doc_index);
        return MCX_XCAP_ERR_CONSTRAINT;
    }
    if (!attr_text(root, "XUI-URI", v, sizeof(v)) || strcmp(v, loc->xui) != 0) {
        snprintf(phrase, len, "XUI-URI differs from the XUI of the document URI");
        return MCX_XCAP_ERR_CONSTRAINT;
    }
    for (const xmlNode *n = root->children; n; n = n->next) {
        if (is_el(n, CMS_NS_USER_PROFILE, "Common")) {
            for (const xmlNode *m = n->children; m; m = m->next) {
                if (!is_el(m, CMS_NS_USER_PROFILE, "MCPTTUserID"))
                    continue;
                for (const xmlNode *u = m->children; u; u = u->next) {
                    if (!is_el(u, CMS_NS_USER_PROFILE, "uri-entry"))
                        continue;
                    if (!el_text(u, v, sizeof(v)) || strcmp(v, loc->xui) != 0) {
                        snprintf(phrase, len,
                                 "MCPTTUserID differs from the XUI of the document URI");
                        return MCX_XCAP_ERR_CONSTRAINT;
                    }
                }
            }
        } else if (is_el(n, CMS_NS_USER_PROFILE, "OnNetwork") ||
                   is_el(n, CMS_NS_USER_PROFILE, "OffNetwork")) {
            e = check_group_entries(n, phrase, len);
            if (e)
                return e;
        }
    }
    return MCX_XCAP_ERR_NONE;
}

static bool profile_preselected(xmlDocPtr doc)
{
    const xmlNode *root = xmlDocGetRootElement(doc);
    for (const xmlNode *n = root ? root->children : NULL; n; n = n->next)
        if (is_el(n, CMS_NS_USER_PROFILE, "Pre-selected-indication"))
            return true;
    return false;
}

/* ---- functional aliases (project format, docs/cms.md) --------------------- */

typedef enum { FA_DEFINITIONS, FA_ACTIVATION, FA_STATUS, FA_UNKNOWN } fa_kind_t;

static fa_kind_t fa_kind(const mcx_xcap_loc_t *loc)
{
    if (loc->tree == MCX_XCAP_GLOBAL && strcmp(loc->doc, CMS_FA_DEFINITIONS) == 0)
        return FA_DEFINITIONS;
    if (loc->tree == MCX_XCAP_GLOBAL && strcmp(loc->doc, CMS_FA_STATUS) == 0)
        return FA_STATUS;
    if (loc->tree == MCX_XCAP_USERS && strcmp(loc->doc, CMS_FA_ACTIVATION) == 0)
        return FA_ACTIVATION;
    return FA_UNKNOWN;
}

/* Set while mcx-cms itself writes status.xml (nobody else may). */
static __thread bool fa_internal_write;

static mcx_xcap_err_t validate_alias(xmlDocPtr doc, const mcx_xcap_loc_t *loc, char *phrase,
                                     size_t len)
{
    static const char *const child_of[] = {"definition", "activate", "held"};
    fa_kind_t kind = fa_kind(loc);
    if (kind == FA_UNKNOWN) {
        snprintf(phrase, len, "functional alias documents are global/%s, global/%s and "
                 "users/<XUI>/%s", CMS_FA_DEFINITIONS, CMS_FA_STATUS, CMS_FA_ACTIVATION);
        return MCX_XCAP_ERR_CONSTRAINT;
    }
    if (kind == FA_STATUS && !fa_internal_write) {
        snprintf(phrase, len, "%s is written by the CMS only", CMS_FA_STATUS);
        return MCX_XCAP_ERR_CONSTRAINT;
    }
    mcx_xcap_err_t e = xsd_check(XSD_ALIAS, doc, phrase, len);
    if (e)
        return e;
    const xmlNode *root = xmlDocGetRootElement(doc);
    for (const xmlNode *n = root->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (!is_el(n, CMS_NS_FUNCTIONAL_ALIAS, child_of[kind])) {
            snprintf(phrase, len, "%s holds <%s> elements only", loc->doc, child_of[kind]);
            return MCX_XCAP_ERR_CONSTRAINT;
        }
        char uri[300];
        if (!attr_text(n, "uri", uri, sizeof(uri)) || !is_sip_uri(uri)) {
            snprintf(phrase, len, "functional alias '%.200s' is not a sip: URI", uri);
            return MCX_XCAP_ERR_CONSTRAINT;
        }
        if (kind != FA_DEFINITIONS)
            continue;
        for (const xmlNode *u = n->children; u; u = u->next) {
            char who[300];
            if (is_el(u, CMS_NS_FUNCTIONAL_ALIAS, "allowed-user") &&
                (!el_text(u, who, sizeof(who)) || !is_sip_uri(who))) {
                snprintf(phrase, len, "allowed-user '%.200s' of %.200s is not a sip: URI", who,
                         uri);
                return MCX_XCAP_ERR_CONSTRAINT;
            }
        }
    }
    return MCX_XCAP_ERR_NONE;
}

/* ---- the AUIDs ------------------------------------------------------------ */

static mcx_xcap_err_t validate_cb(void *ud, xmlDocPtr doc, const mcx_xcap_loc_t *loc,
                                  char *phrase, size_t len)
{
    if (strcmp(loc->auid, CMS_AUID_USER_PROFILE) == 0)
        return validate_profile(doc, loc, phrase, len);
    if (strcmp(loc->auid, CMS_AUID_FUNCTIONAL_ALIAS) == 0)
        return validate_alias(doc, loc, phrase, len);
    if (strcmp(loc->auid, CMS_AUID_UE_CONFIG) == 0)
        return xsd_check(XSD_UE_CONFIG, doc, phrase, len);
    if (strcmp(loc->auid, CMS_AUID_UE_INIT_CONFIG) == 0)
        return xsd_check(XSD_UE_INIT, doc, phrase, len);
    if (strcmp(loc->auid, CMS_AUID_SERVICE_CONFIG) == 0) {
        if (strcmp(loc->doc, "service-config.xml") != 0) {
            snprintf(phrase, len, "the service configuration is global/service-config.xml");
            return MCX_XCAP_ERR_CONSTRAINT;
        }
        return xsd_check(XSD_SERVICE, doc, phrase, len);
    }
    snprintf(phrase, len, "not a CMS application usage");
    return MCX_XCAP_ERR_SCHEMA;
}

/* Registered descriptions: static, one registered store per process. */
static mcx_xcap_auid_t cms_auids[] = {
    {.auid = CMS_AUID_USER_PROFILE, .mime = CMS_MIME_USER_PROFILE,
     .root_name = "mcptt-user-profile", .root_ns = CMS_NS_USER_PROFILE,
     .default_ns = CMS_NS_USER_PROFILE, .users_tree = true, .validate = validate_cb},
    {.auid = CMS_AUID_UE_CONFIG, .mime = "application/vnd.3gpp.mcptt-ue-config+xml",
     .root_name = "mcptt-UE-configuration", .root_ns = CMS_NS_UE_CONFIG,
     .default_ns = CMS_NS_UE_CONFIG, .users_tree = true, .global_tree = true,
     .validate = validate_cb},
    {.auid = CMS_AUID_UE_INIT_CONFIG, .mime = "application/vnd.3gpp.mcptt-ue-init-config+xml",
     .root_name = "mcptt-UE-initial-configuration", .root_ns = CMS_NS_UE_INIT_CONFIG,
     .default_ns = CMS_NS_UE_INIT_CONFIG, .users_tree = true, .global_tree = true,
     .validate = validate_cb},
    {.auid = CMS_AUID_SERVICE_CONFIG, .mime = "application/vnd.3gpp.mcptt-service-config+xml",
     .root_name = "service-configuration-info", .root_ns = CMS_NS_SERVICE_CONFIG,
     .default_ns = CMS_NS_SERVICE_CONFIG, .global_tree = true, .validate = validate_cb},
    {.auid = CMS_AUID_FUNCTIONAL_ALIAS, .mime = CMS_MIME_FUNCTIONAL_ALIAS,
     .root_name = "functional-alias-info", .root_ns = CMS_NS_FUNCTIONAL_ALIAS,
     .default_ns = CMS_NS_FUNCTIONAL_ALIAS, .users_tree = true, .global_tree = true,
     .validate = validate_cb},
};

int cms_xcap_register(mcx_xcap_t *x, void *ud, char *err, size_t errlen)
{
    pthread_once(&xsd_once, xsd_compile_all);
    if (xsd_status) {
        snprintf(err, errlen, "cms: a checking schema does not compile");
        return xsd_status;
    }
    for (size_t i = 0; i < sizeof(cms_auids) / sizeof(cms_auids[0]); i++) {
        cms_auids[i].ud = ud;
        int rv = mcx_xcap_register(x, &cms_auids[i], err, errlen);
        if (rv)
            return rv;
    }
    return 0;
}

/* ---- cross-document checks ------------------------------------------------ */

static void set_constraint(mcx_xcap_result_t *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_constraint(mcx_xcap_result_t *res, const char *fmt, ...)
{
    res->status = 409;
    res->err = MCX_XCAP_ERR_CONSTRAINT;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->phrase, sizeof(res->phrase), fmt, ap);
    va_end(ap);
}

static xmlDocPtr parse(const char *body, size_t len)
{
    if (len > (size_t)INT32_MAX)
        return NULL;
    return xmlReadMemory(body, (int)len, NULL, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
}

static xmlDocPtr load(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, int *rv)
{
    char *body = NULL, etag[MCX_XCAP_ETAG_MAX];
    size_t len = 0;
    *rv = mcx_xcap_get(x, loc, &body, &len, etag, NULL, 0);
    if (*rv)
        return NULL;
    xmlDocPtr d = parse(body, len);
    free(body);
    if (!d)
        *rv = -EIO; /* a stored document always parsed once */
    return d;
}

typedef struct {
    mcx_xcap_t *x;
    const mcx_xcap_loc_t *self;
    unsigned others; /* profiles of this user other than self */
    char preselected[MCX_XCAP_DOC_MAX]; /* another profile with the indication */
    int rv;
} profile_walk_t;

static int profile_walk(void *ud, const mcx_xcap_entry_t *e)
{
    profile_walk_t *w = ud;
    if (e->loc->tree != MCX_XCAP_USERS || strcmp(e->loc->xui, w->self->xui) != 0 ||
        strcmp(e->loc->doc, w->self->doc) == 0)
        return 0;
    w->others++;
    if (w->preselected[0])
        return 0;
    xmlDocPtr d = load(w->x, e->loc, &w->rv);
    if (!d)
        return w->rv == -ENOENT ? (w->rv = 0) : 1;
    if (profile_preselected(d))
        mcx_strlcpy(w->preselected, e->loc->doc, sizeof(w->preselected));
    xmlFreeDoc(d);
    return 0;
}

static int check_profile(mcx_xcap_t *x, const cms_xcap_opts_t *opts, const mcx_xcap_loc_t *loc,
                         xmlDocPtr doc, mcx_xcap_result_t *res)
{
    unsigned max = opts ? opts->max_profiles_per_user : CMS_DEFAULT_MAX_PROFILES;
    profile_walk_t w = {.x = x, .self = loc};
    if (mcx_xcap_list(x, CMS_AUID_USER_PROFILE, loc->xui, profile_walk, &w) || w.rv) {
        snprintf(res->phrase, sizeof(res->phrase), "store read failed");
        res->status = 500;
        res->err = MCX_XCAP_ERR_INTERNAL;
        return -EIO;
    }
    if (w.others + 1 > max) {
        set_constraint(res, "at most %u user profiles per user", max);
        return -EINVAL;
    }
    if (w.preselected[0] && profile_preselected(doc)) {
        set_constraint(res, "Pre-selected-indication is already set in %s", w.preselected);
        return -EINVAL;
    }
    return 0;
}

/* One functional alias definition as read from definitions.xml. */
typedef struct {
    char uri[300];
    unsigned max_holders;
    const xmlNode *node;
} fa_def_t;

static bool fa_find_def(xmlDocPtr defs, const char *uri, fa_def_t *out)
{
    const xmlNode *root = defs ? xmlDocGetRootElement(defs) : NULL;
    for (const xmlNode *n = root ? root->children : NULL; n; n = n->next) {
        if (!is_el(n, CMS_NS_FUNCTIONAL_ALIAS, "definition"))
            continue;
        char u[300], m[16];
        if (!attr_text(n, "uri", u, sizeof(u)) || strcmp(u, uri) != 0)
            continue;
        mcx_strlcpy(out->uri, u, sizeof(out->uri));
        out->max_holders = attr_text(n, "max-holders", m, sizeof(m)) ? (unsigned)strtoul(m, NULL, 10) : 0;
        out->node = n;
        return true;
    }
    return false;
}

static bool fa_allowed(const fa_def_t *d, const char *xui)
{
    for (const xmlNode *u = d->node->children; u; u = u->next) {
        char who[300];
        if (is_el(u, CMS_NS_FUNCTIONAL_ALIAS, "allowed-user") && el_text(u, who, sizeof(who)) &&
            strcmp(who, xui) == 0)
            return true;
    }
    return false;
}

static bool fa_activates(xmlDocPtr act, const char *uri)
{
    const xmlNode *root = act ? xmlDocGetRootElement(act) : NULL;
    for (const xmlNode *n = root ? root->children : NULL; n; n = n->next) {
        char u[300];
        if (is_el(n, CMS_NS_FUNCTIONAL_ALIAS, "activate") && attr_text(n, "uri", u, sizeof(u)) &&
            strcmp(u, uri) == 0)
            return true;
    }
    return false;
}

/* Every user's activation document, parsed (for holder counts and status). */
typedef struct {
    mcx_xcap_t *x;
    char (*xui)[MCX_XCAP_XUI_MAX];
    xmlDocPtr *doc;
    size_t n, cap;
    int rv;
} fa_acts_t;

static int fa_acts_walk(void *ud, const mcx_xcap_entry_t *e)
{
    fa_acts_t *a = ud;
    if (e->loc->tree != MCX_XCAP_USERS || strcmp(e->loc->doc, CMS_FA_ACTIVATION) != 0)
        return 0;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        void *nx = realloc(a->xui, cap * sizeof(*a->xui));
        if (!nx)
            return (a->rv = -ENOMEM), 1;
        a->xui = nx;
        void *nd = realloc(a->doc, cap * sizeof(*a->doc));
        if (!nd)
            return (a->rv = -ENOMEM), 1;
        a->doc = nd;
        a->cap = cap;
    }
    int rv;
    xmlDocPtr d = load(a->x, e->loc, &rv);
    if (!d)
        return rv == -ENOENT ? 0 : ((a->rv = rv), 1);
    mcx_strlcpy(a->xui[a->n], e->loc->xui, sizeof(a->xui[a->n]));
    a->doc[a->n++] = d;
    return 0;
}

static void fa_acts_free(fa_acts_t *a)
{
    for (size_t i = 0; i < a->n; i++)
        xmlFreeDoc(a->doc[i]);
    free(a->xui);
    free(a->doc);
}

static int fa_acts_load(mcx_xcap_t *x, fa_acts_t *a)
{
    *a = (fa_acts_t){.x = x};
    if (mcx_xcap_list(x, CMS_AUID_FUNCTIONAL_ALIAS, NULL, fa_acts_walk, a) || a->rv) {
        fa_acts_free(a);
        return a->rv ? a->rv : -EIO;
    }
    return 0;
}

static xmlDocPtr fa_defs_load(mcx_xcap_t *x, int *rv)
{
    mcx_xcap_loc_t dl;
    mcx_xcap_loc_set(&dl, CMS_AUID_FUNCTIONAL_ALIAS, MCX_XCAP_GLOBAL, "", CMS_FA_DEFINITIONS);
    xmlDocPtr d = load(x, &dl, rv);
    if (!d && *rv == -ENOENT)
        *rv = 0; /* no definitions: nothing may be activated */
    return d;
}

static int check_activation(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, xmlDocPtr doc,
                            mcx_xcap_result_t *res)
{
    int rv;
    xmlDocPtr defs = fa_defs_load(x, &rv);
    fa_acts_t acts;
    if (rv || (rv = fa_acts_load(x, &acts))) {
        xmlFreeDoc(defs);
        snprintf(res->phrase, sizeof(res->phrase), "store read failed");
        res->status = 500;
        res->err = MCX_XCAP_ERR_INTERNAL;
        return -EIO;
    }
    xmlDocPtr mine = NULL; /* what this user holds now */
    for (size_t i = 0; i < acts.n; i++)
        if (strcmp(acts.xui[i], loc->xui) == 0)
            mine = acts.doc[i];

    rv = 0;
    const xmlNode *root = xmlDocGetRootElement(doc);
    for (const xmlNode *n = root->children; n && !rv; n = n->next) {
        char uri[300];
        if (!is_el(n, CMS_NS_FUNCTIONAL_ALIAS, "activate") || !attr_text(n, "uri", uri, sizeof(uri)))
            continue;
        fa_def_t def;
        if (!fa_find_def(defs, uri, &def)) {
            set_constraint(res, "functional alias %s is not defined", uri);
            rv = -EINVAL;
        } else if (!fa_allowed(&def, loc->xui)) {
            set_constraint(res, "functional alias %s may not be activated by %s", uri, loc->xui);
            rv = -EINVAL;
        } else if (!fa_activates(mine, uri)) {
            /* a new holder: count the others (TS 23.280 functional alias limit) */
            unsigned holders = 0;
            for (size_t i = 0; i < acts.n; i++)
                if (strcmp(acts.xui[i], loc->xui) != 0 && fa_activates(acts.doc[i], uri))
                    holders++;
            if (holders >= def.max_holders) {
                set_constraint(res, "functional alias %s has reached its limit of %u holder%s",
                               uri, def.max_holders, def.max_holders == 1 ? "" : "s");
                rv = -EINVAL;
            }
        }
    }
    fa_acts_free(&acts);
    xmlFreeDoc(defs);
    return rv;
}

int cms_xcap_check_put(mcx_xcap_t *x, const cms_xcap_opts_t *opts, const mcx_xcap_loc_t *loc,
                       const char *body, size_t len, mcx_xcap_result_t *res)
{
    bool profile = strcmp(loc->auid, CMS_AUID_USER_PROFILE) == 0 && loc->tree == MCX_XCAP_USERS;
    bool activation = strcmp(loc->auid, CMS_AUID_FUNCTIONAL_ALIAS) == 0 &&
                      fa_kind(loc) == FA_ACTIVATION;
    if (!profile && !activation)
        return 0;
    xmlDocPtr doc = parse(body, len);
    if (!doc) { /* mcx_xcap_validate refuses it anyway */
        res->status = 409;
        res->err = MCX_XCAP_ERR_NOT_WELL_FORMED;
        snprintf(res->phrase, sizeof(res->phrase), "not well-formed");
        return -EINVAL;
    }
    int rv = profile ? check_profile(x, opts, loc, doc, res) : check_activation(x, loc, doc, res);
    xmlFreeDoc(doc);
    return rv;
}

/* ---- functional alias status document ------------------------------------- */

int cms_alias_status_rebuild(mcx_xcap_t *x, char *err, size_t errlen)
{
    int rv;
    xmlDocPtr defs = fa_defs_load(x, &rv);
    fa_acts_t acts;
    if (rv || (rv = fa_acts_load(x, &acts))) {
        xmlFreeDoc(defs);
        snprintf(err, errlen, "functional alias status: store read failed (%d)", rv);
        return rv;
    }
    xmlDocPtr st = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr root = xmlNewNode(NULL, (const xmlChar *)"functional-alias-info");
    xmlNsPtr ns = xmlNewNs(root, (const xmlChar *)CMS_NS_FUNCTIONAL_ALIAS, NULL);
    xmlSetNs(root, ns);
    xmlDocSetRootElement(st, root);
    const xmlNode *droot = defs ? xmlDocGetRootElement(defs) : NULL;
    for (const xmlNode *n = droot ? droot->children : NULL; n; n = n->next) {
        char uri[300], m[16];
        if (!is_el(n, CMS_NS_FUNCTIONAL_ALIAS, "definition") ||
            !attr_text(n, "uri", uri, sizeof(uri)) || !attr_text(n, "max-holders", m, sizeof(m)))
            continue;
        xmlNodePtr h = xmlNewChild(root, ns, (const xmlChar *)"held", NULL);
        xmlNewProp(h, (const xmlChar *)"uri", (const xmlChar *)uri);
        xmlNewProp(h, (const xmlChar *)"max-holders", (const xmlChar *)m);
        for (size_t i = 0; i < acts.n; i++)
            if (fa_activates(acts.doc[i], uri))
                xmlNewTextChild(h, ns, (const xmlChar *)"holder", (const xmlChar *)acts.xui[i]);
    }
    xmlChar *text = NULL;
    int tlen = 0;
    xmlDocDumpFormatMemoryEnc(st, &text, &tlen, "UTF-8", 1);
    xmlFreeDoc(st);
    fa_acts_free(&acts);
    xmlFreeDoc(defs);
    if (!text) {
        snprintf(err, errlen, "functional alias status: out of memory");
        return -ENOMEM;
    }

    mcx_xcap_loc_t sl;
    mcx_xcap_loc_set(&sl, CMS_AUID_FUNCTIONAL_ALIAS, MCX_XCAP_GLOBAL, "", CMS_FA_STATUS);
    char *cur = NULL, etag[MCX_XCAP_ETAG_MAX];
    size_t clen = 0;
    rv = 0;
    if (mcx_xcap_get(x, &sl, &cur, &clen, etag, NULL, 0) != 0 || clen != (size_t)tlen ||
        memcmp(cur, text, clen) != 0) {
        mcx_xcap_result_t res = {0};
        fa_internal_write = true;
        rv = mcx_xcap_put(x, &sl, (const char *)text, (size_t)tlen, NULL, NULL, NULL, NULL, NULL,
                          &res);
        fa_internal_write = false;
        if (rv)
            snprintf(err, errlen, "functional alias status: %s", res.phrase);
    }
    free(cur);
    xmlFree(text);
    return rv;
}

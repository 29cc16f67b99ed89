/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The mcx_xcap_t handle: opening the store, the registry of application
 * usages (with their compiled XSDs) and the built-in xcap-directory and
 * xcap-caps usages.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "store/mcx-sqlite.h"
#include "xcap-internal.h"

/* Append-only schema steps (mcx_sqlite_open counts them in user_version). */
static const char *const xcap_migrations[] = {
    "CREATE TABLE xcap_doc ("
    " id INTEGER PRIMARY KEY,"
    " auid TEXT NOT NULL,"
    " tree INTEGER NOT NULL,"  /* 0 users, 1 global */
    " xui TEXT NOT NULL,"      /* '' in the global tree */
    " doc TEXT NOT NULL,"
    " etag TEXT NOT NULL,"
    " content BLOB NOT NULL,"
    " mime TEXT NOT NULL,"
    " creator TEXT NOT NULL DEFAULT '',"
    " updated INTEGER NOT NULL,"
    " UNIQUE(auid, tree, xui, doc));"
    "CREATE INDEX xcap_doc_xui ON xcap_doc(xui);",
};

static const mcx_xcap_auid_t xcap_directory_usage = {
    .auid = MCX_XCAP_AUID_DIRECTORY,
    .mime = "application/vnd.oma.xcap-directory+xml",
    .root_name = "xcap-directory",
    .root_ns = "urn:oma:xml:xdm:xcap-directory",
    .default_ns = "urn:oma:xml:xdm:xcap-directory",
    .users_tree = true,
};

static const mcx_xcap_auid_t xcap_caps_usage = {
    .auid = MCX_XCAP_AUID_CAPS,
    .mime = "application/xcap-caps+xml",
    .root_name = "xcap-caps",
    .root_ns = "urn:ietf:params:xml:ns:xcap-caps",
    .default_ns = "urn:ietf:params:xml:ns:xcap-caps",
    .global_tree = true,
};

static const xcap_usage_t xcap_builtins[] = {
    {.au = &xcap_directory_usage},
    {.au = &xcap_caps_usage},
};

const char *const xcap_reason_names[XCAP_R_COUNT] = {
    [XCAP_R_AUTH] = "invalid_token",
    [XCAP_R_SCOPE] = "insufficient_scope",
    [XCAP_R_FORBIDDEN] = "forbidden",
    [XCAP_R_URI] = "bad_uri",
    [XCAP_R_METHOD] = "method",
    [XCAP_R_NOT_FOUND] = "not_found",
    [XCAP_R_MIME] = "content_type",
    [XCAP_R_TOO_LARGE] = "too_large",
    [XCAP_R_NOT_WELL_FORMED] = "not_well_formed",
    [XCAP_R_SCHEMA] = "schema",
    [XCAP_R_CONSTRAINT] = "constraint",
    [XCAP_R_PRECONDITION] = "precondition",
    [XCAP_R_INTERNAL] = "internal",
};

bool xcap_builtin(const char *auid)
{
    return strcmp(auid, MCX_XCAP_AUID_DIRECTORY) == 0 || strcmp(auid, MCX_XCAP_AUID_CAPS) == 0;
}

const xcap_usage_t *xcap_usage(const mcx_xcap_t *x, const char *auid)
{
    for (size_t i = 0; i < sizeof(xcap_builtins) / sizeof(xcap_builtins[0]); i++)
        if (strcmp(xcap_builtins[i].au->auid, auid) == 0)
            return &xcap_builtins[i];
    if (x == NULL)
        return NULL;
    for (unsigned i = 0; i < x->n_usages; i++)
        if (strcmp(x->usages[i].au->auid, auid) == 0)
            return &x->usages[i];
    return NULL;
}

const mcx_xcap_auid_t *mcx_xcap_find(const mcx_xcap_t *x, const char *auid)
{
    const xcap_usage_t *u = auid ? xcap_usage(x, auid) : NULL;
    return u ? u->au : NULL;
}

int mcx_xcap_open(const mcx_xcap_conf_t *conf, mcx_xcap_t **out, char *err, size_t errlen)
{
    *out = NULL;
    if (conf == NULL || conf->db_path == NULL || conf->db_path[0] == '\0') {
        snprintf(err, errlen, "xcap: no store path");
        return -EINVAL;
    }
    mcx_xcap_t *x = calloc(1, sizeof(*x));
    if (x == NULL) {
        snprintf(err, errlen, "xcap: out of memory");
        return -ENOMEM;
    }
    if (mcx_strlcpy(x->xcap_root, conf->xcap_root ? conf->xcap_root : "", sizeof(x->xcap_root))
            || mcx_strlcpy(x->realm, conf->realm ? conf->realm : "mcxcore", sizeof(x->realm))
            || mcx_strlcpy(x->prefix, conf->metrics_prefix ? conf->metrics_prefix : "mcx_xcap",
                           sizeof(x->prefix))
            || mcx_strlcpy(x->audience, conf->audience ? conf->audience : "", sizeof(x->audience))
            || mcx_strlcpy(x->scope, conf->scope ? conf->scope : "", sizeof(x->scope))) {
        snprintf(err, errlen, "xcap: a configured string is too long");
        free(x);
        return -ENAMETOOLONG;
    }
    size_t rl = strlen(x->xcap_root);
    while (rl > 0 && x->xcap_root[rl - 1] == '/')
        x->xcap_root[--rl] = '\0';
    x->trust = conf->trust;
    x->leeway_s = conf->leeway_s;
    x->max_doc = conf->max_doc ? conf->max_doc : 1024 * 1024;
    xmlInitParser();
    int rc = mcx_sqlite_open(conf->db_path, xcap_migrations,
                             sizeof(xcap_migrations) / sizeof(xcap_migrations[0]), &x->db, err,
                             errlen);
    if (rc < 0) {
        free(x);
        return rc;
    }
    pthread_mutex_init(&x->lock, NULL);
    *out = x;
    return 0;
}

void mcx_xcap_close(mcx_xcap_t *x)
{
    if (x == NULL)
        return;
    for (unsigned i = 0; i < x->n_usages; i++)
        if (x->usages[i].schema)
            xmlSchemaFree(x->usages[i].schema);
    sqlite3_finalize(x->st_load);
    mcx_sqlite_close(x->db);
    pthread_mutex_destroy(&x->lock);
    free(x);
}

static bool auid_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= MCX_XCAP_AUID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '.' || c == '-' || c == '_'))
            return false;
    }
    return true;
}

int mcx_xcap_register(mcx_xcap_t *x, const mcx_xcap_auid_t *au, char *err, size_t errlen)
{
    if (au == NULL || au->auid == NULL || !auid_name_ok(au->auid) || au->mime == NULL
            || au->root_name == NULL || (!au->users_tree && !au->global_tree)) {
        snprintf(err, errlen, "xcap: incomplete application usage %s",
                 au && au->auid ? au->auid : "(null)");
        return -EINVAL;
    }
    if (xcap_usage(x, au->auid) != NULL) {
        snprintf(err, errlen, "xcap: AUID %s registered twice", au->auid);
        return -EEXIST;
    }
    if (x->n_usages >= XCAP_MAX_AUIDS) {
        snprintf(err, errlen, "xcap: too many AUIDs");
        return -ENOSPC;
    }
    xmlSchemaPtr schema = NULL;
    if (au->xsd_path != NULL) {
        xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt(au->xsd_path);
        if (pc != NULL) {
            xmlSchemaSetParserErrors(pc, NULL, NULL, NULL);
            schema = xmlSchemaParse(pc);
            xmlSchemaFreeParserCtxt(pc);
        }
        if (schema == NULL) {
            snprintf(err, errlen, "xcap: %s: cannot load XSD %s", au->auid, au->xsd_path);
            return -EINVAL;
        }
    }
    x->usages[x->n_usages].au = au;
    x->usages[x->n_usages].schema = schema;
    x->n_usages++;
    return 0;
}

int mcx_xcap_loc_set(mcx_xcap_loc_t *loc, const char *auid, mcx_xcap_tree_t tree,
                     const char *xui, const char *doc)
{
    memset(loc, 0, sizeof(*loc));
    if (auid == NULL || doc == NULL || auid[0] == '\0' || doc[0] == '\0')
        return -EINVAL;
    if (tree == MCX_XCAP_USERS && (xui == NULL || xui[0] == '\0'))
        return -EINVAL;
    if (tree == MCX_XCAP_GLOBAL)
        xui = "";
    if (mcx_strlcpy(loc->auid, auid, sizeof(loc->auid)) || mcx_strlcpy(loc->xui, xui, sizeof(loc->xui))
            || mcx_strlcpy(loc->doc, doc, sizeof(loc->doc)))
        return -ENAMETOOLONG;
    loc->tree = tree;
    return 0;
}

void xcap_result_set(mcx_xcap_result_t *res, unsigned status, mcx_xcap_err_t err,
                     const char *fmt, ...)
{
    if (res == NULL)
        return;
    res->status = status;
    res->err = err;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->phrase, sizeof(res->phrase), fmt, ap);
    va_end(ap);
}

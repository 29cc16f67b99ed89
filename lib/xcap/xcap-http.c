/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * XCAP over HTTP (RFC 4825 §7/§8): bearer token, URI, XUI and access
 * checks, then GET / PUT / DELETE with ETags and preconditions, the
 * generated xcap-directory and xcap-caps documents, and the counters.
 * Runs on lib/http's worker threads; the store serialises itself.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "xcap-internal.h"

/* ---- a growable text buffer for the generated documents ----------------- */

typedef struct {
    char *s;
    size_t len, cap;
    bool oom;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 1024;
        while (nc < b->len + n + 1)
            nc *= 2;
        char *ns = realloc(b->s, nc);
        if (ns == NULL) {
            b->oom = true;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(sbuf_t *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_xml(sbuf_t *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': sb_str(b, "&lt;"); break;
        case '>': sb_str(b, "&gt;"); break;
        case '&': sb_str(b, "&amp;"); break;
        case '"': sb_str(b, "&quot;"); break;
        case '\'': sb_str(b, "&apos;"); break;
        default: sb_add(b, s, 1);
        }
    }
}

/* Percent-encode what is not a pchar (RFC 3986); keep '/' when keep_slash. */
static void sb_pct(sbuf_t *b, const char *s, bool keep_slash)
{
    static const char ok[] = "-._~!$&'()*+,;=:@";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                || (c && strchr(ok, c)) || (keep_slash && c == '/')) {
            sb_add(b, s, 1);
        } else {
            char e[4];
            snprintf(e, sizeof(e), "%%%02X", c);
            sb_add(b, e, 3);
        }
    }
}

/* ---- one request ---------------------------------------------------------- */

typedef struct {
    mcx_xcap_t *x;
    const mcx_http_req_t *req;
    mcx_http_resp_t *resp;
    char where[160]; /* method + printable path for the log */
    mcx_xcap_loc_t loc;
    const mcx_xcap_auid_t *au;
    mcx_xcap_caller_t caller;
    mcx_xcap_op_t op;
} xreq_t;

static void refuse(xreq_t *r, xcap_reason_t why, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* One log line, one counter, a text/plain answer. */
static void refuse(xreq_t *r, xcap_reason_t why, unsigned status, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    atomic_fetch_add(&r->x->refused[why], 1);
    MCX_NOTICE("xcap: %s -> %u %s", r->where, status, msg);
    mcx_http_replyf(r->resp, status, "%s\n", msg);
}

static const char *xcap_err_tag(mcx_xcap_err_t e)
{
    switch (e) {
    case MCX_XCAP_ERR_NOT_WELL_FORMED: return "not-well-formed";
    case MCX_XCAP_ERR_SCHEMA: return "schema-validation-error";
    default: return "constraint-failure";
    }
}

/* 409 with an application/xcap-error+xml body (RFC 4825 §11). */
static void refuse_409(xreq_t *r, const mcx_xcap_result_t *res)
{
    xcap_reason_t why = res->err == MCX_XCAP_ERR_NOT_WELL_FORMED ? XCAP_R_NOT_WELL_FORMED
                        : res->err == MCX_XCAP_ERR_SCHEMA      ? XCAP_R_SCHEMA
                                                               : XCAP_R_CONSTRAINT;
    atomic_fetch_add(&r->x->refused[why], 1);
    MCX_NOTICE("xcap: %s -> 409 %s: %s", r->where, xcap_err_tag(res->err), res->phrase);
    sbuf_t b = {0};
    sb_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<xcap-error xmlns=\"urn:ietf:params:xml:ns:xcap-error\"><");
    sb_str(&b, xcap_err_tag(res->err));
    if (res->phrase[0]) {
        sb_str(&b, " phrase=\"");
        sb_xml(&b, res->phrase);
        sb_str(&b, "\"");
    }
    sb_str(&b, "/></xcap-error>\n");
    if (b.oom)
        mcx_http_replyf(r->resp, 500, "out of memory\n");
    else
        mcx_http_reply(r->resp, 409, "application/xcap-error+xml", b.s, b.len);
    free(b.s);
}

static void set_where(xreq_t *r)
{
    const char *p = r->req->url ? r->req->url : r->req->path;
    size_t o = (size_t)snprintf(r->where, sizeof(r->where), "%s ", r->req->method);
    for (; p && *p && o + 4 < sizeof(r->where); p++)
        r->where[o++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p;
    if (p && *p)
        r->where[o++] = '.', r->where[o++] = '.', r->where[o++] = '.';
    r->where[o] = '\0';
}

/* The access decision: the usage's callback or the default policy. */
static int decide(xreq_t *r, bool exists, const char *content, size_t len, const char *creator)
{
    if (r->au->access != NULL) {
        mcx_xcap_access_t a = {.op = r->op, .loc = &r->loc, .caller = &r->caller,
                               .exists = exists, .content = content, .content_len = len,
                               .creator = creator ? creator : ""};
        return r->au->access(r->au->ud, &a) < 0 ? -EACCES : 0;
    }
    if (r->loc.tree == MCX_XCAP_USERS)
        return 0; /* the XUI was already checked against the token */
    return r->op == MCX_XCAP_OP_GET ? 0 : -EACCES;
}

static int hook(void *ud, bool exists, const char *content, size_t len, const char *creator)
{
    return decide(ud, exists, content, len, creator);
}

/* ---- built-in documents --------------------------------------------------- */

typedef struct {
    xreq_t *r;
    sbuf_t *b;
    char folder[MCX_XCAP_AUID_MAX];
} dir_walk_t;

static int dir_entry(void *ud, const mcx_xcap_entry_t *e)
{
    dir_walk_t *w = ud;
    if (e->loc->tree != MCX_XCAP_USERS)
        return 0;
    if (strcmp(w->folder, e->loc->auid) != 0) {
        if (w->folder[0])
            sb_str(w->b, "  </folder>\n");
        mcx_strlcpy(w->folder, e->loc->auid, sizeof(w->folder));
        sb_str(w->b, "  <folder auid=\"");
        sb_xml(w->b, e->loc->auid);
        sb_str(w->b, "\">\n");
    }
    sbuf_t uri = {0};
    sb_str(&uri, w->r->x->xcap_root);
    sb_str(&uri, "/");
    sb_pct(&uri, e->loc->auid, false);
    sb_str(&uri, "/users/");
    sb_pct(&uri, e->loc->xui, false);
    sb_str(&uri, "/");
    sb_pct(&uri, e->loc->doc, true);
    char when[32] = "";
    time_t t = (time_t)e->updated;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    char size[32];
    snprintf(size, sizeof(size), "%zu", e->size);
    sb_str(w->b, "    <entry uri=\"");
    sb_xml(w->b, uri.s ? uri.s : "");
    sb_str(w->b, "\" etag=\"");
    sb_xml(w->b, e->etag);
    sb_str(w->b, "\" last-modified=\"");
    sb_str(w->b, when);
    sb_str(w->b, "\" size=\"");
    sb_str(w->b, size);
    sb_str(w->b, "\"/>\n");
    if (uri.oom)
        w->b->oom = true;
    free(uri.s);
    return 0;
}

static void serve_directory(xreq_t *r)
{
    if (strcmp(r->loc.doc, "directory.xml") != 0) {
        refuse(r, XCAP_R_NOT_FOUND, 404, "no such document");
        return;
    }
    sbuf_t b = {0};
    dir_walk_t w = {.r = r, .b = &b};
    sb_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<xcap-directory xmlns=\"urn:oma:xml:xdm:xcap-directory\">\n");
    if (mcx_xcap_list(r->x, NULL, r->loc.xui, dir_entry, &w) < 0) {
        free(b.s);
        refuse(r, XCAP_R_INTERNAL, 500, "store unavailable");
        return;
    }
    if (w.folder[0])
        sb_str(&b, "  </folder>\n");
    sb_str(&b, "</xcap-directory>\n");
    if (b.oom) {
        free(b.s);
        refuse(r, XCAP_R_INTERNAL, 500, "out of memory");
        return;
    }
    atomic_fetch_add(&r->x->served, 1);
    MCX_INFO("xcap: %s -> 200 directory", r->where);
    mcx_http_reply(r->resp, 200, r->au->mime, b.s, b.len);
    free(b.s);
}

static void caps_auid(sbuf_t *b, const mcx_xcap_auid_t *au)
{
    sb_str(b, "    <auid>");
    sb_xml(b, au->auid);
    sb_str(b, "</auid>\n");
}

static void caps_ns(sbuf_t *b, const mcx_xcap_auid_t *au)
{
    const char *ns = au->default_ns ? au->default_ns : au->root_ns;
    if (ns) {
        sb_str(b, "    <namespace>");
        sb_xml(b, ns);
        sb_str(b, "</namespace>\n");
    }
}

static void serve_caps(xreq_t *r)
{
    if (strcmp(r->loc.doc, "index") != 0) {
        refuse(r, XCAP_R_NOT_FOUND, 404, "no such document");
        return;
    }
    sbuf_t b = {0};
    const mcx_xcap_auid_t *dir = mcx_xcap_find(r->x, MCX_XCAP_AUID_DIRECTORY);
    sb_str(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<xcap-caps xmlns=\"urn:ietf:params:xml:ns:xcap-caps\">\n  <auids>\n");
    caps_auid(&b, r->au);
    caps_auid(&b, dir);
    for (unsigned i = 0; i < r->x->n_usages; i++)
        caps_auid(&b, r->x->usages[i].au);
    sb_str(&b, "  </auids>\n  <extensions/>\n  <namespaces>\n");
    caps_ns(&b, r->au);
    caps_ns(&b, dir);
    for (unsigned i = 0; i < r->x->n_usages; i++)
        caps_ns(&b, r->x->usages[i].au);
    sb_str(&b, "    <namespace>urn:ietf:params:xml:ns:xcap-error</namespace>\n"
               "  </namespaces>\n</xcap-caps>\n");
    if (b.oom) {
        free(b.s);
        refuse(r, XCAP_R_INTERNAL, 500, "out of memory");
        return;
    }
    atomic_fetch_add(&r->x->served, 1);
    MCX_INFO("xcap: %s -> 200 xcap-caps", r->where);
    mcx_http_reply(r->resp, 200, r->au->mime, b.s, b.len);
    free(b.s);
}

/* ---- GET / PUT / DELETE --------------------------------------------------- */

static void do_get(xreq_t *r)
{
    char *body = NULL, *creator = NULL;
    size_t len = 0;
    char etag[MCX_XCAP_ETAG_MAX], mime[128];
    int rc = xcap_store_get(r->x, &r->loc, &body, &len, etag, mime, sizeof(mime), &creator);
    if (rc == -EIO) {
        refuse(r, XCAP_R_INTERNAL, 500, "store unavailable");
        return;
    }
    bool exists = rc == 0;
    if (decide(r, exists, body, len, creator) < 0) {
        refuse(r, XCAP_R_FORBIDDEN, 403, "not allowed to read this document");
        goto out;
    }
    if (!exists) {
        refuse(r, XCAP_R_NOT_FOUND, 404, "no such document");
        goto out;
    }
    const char *im = mcx_http_header(r->req, "If-Match");
    if (im && !xcap_etag_list_matches(im, etag)) {
        refuse(r, XCAP_R_PRECONDITION, 412, "If-Match does not match");
        goto out;
    }
    mcx_http_reply_header(r->resp, "ETag", etag);
    const char *inm = mcx_http_header(r->req, "If-None-Match");
    if (inm && xcap_etag_list_matches(inm, etag)) {
        atomic_fetch_add(&r->x->not_modified, 1);
        MCX_INFO("xcap: %s -> 304", r->where);
        mcx_http_reply(r->resp, 304, NULL, NULL, 0);
        goto out;
    }
    atomic_fetch_add(&r->x->served, 1);
    MCX_INFO("xcap: %s -> 200 %s", r->where, etag);
    mcx_http_reply(r->resp, 200, mime, body, len);
out:
    free(body);
    free(creator);
}

/* Media type of a Content-Type value equals `mime` (parameters ignored). */
static bool ctype_is(const char *ct, const char *mime)
{
    if (ct == NULL)
        return false;
    while (*ct == ' ')
        ct++;
    size_t n = strcspn(ct, ";");
    while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    return n == strlen(mime) && strncasecmp(ct, mime, n) == 0;
}

static void do_put(xreq_t *r)
{
    const char *ct = mcx_http_header(r->req, "Content-Type");
    if (!ctype_is(ct, r->au->mime)) {
        refuse(r, XCAP_R_MIME, 415, "Content-Type must be %s", r->au->mime);
        return;
    }
    if (r->req->body_len > r->x->max_doc) {
        refuse(r, XCAP_R_TOO_LARGE, 413, "document larger than %zu bytes", r->x->max_doc);
        return;
    }
    /* Without an access callback global documents are read-only over HTTP:
     * refuse before validating, so a writer who may not write learns nothing
     * about what the document would have had to look like. */
    if (r->au->access == NULL && r->loc.tree == MCX_XCAP_GLOBAL) {
        refuse(r, XCAP_R_FORBIDDEN, 403, "global documents are read-only over HTTP");
        return;
    }
    mcx_xcap_result_t res = {0};
    const xcap_usage_t *u = xcap_usage(r->x, r->loc.auid);
    if (xcap_validate_doc(r->x, u, &r->loc, r->req->body, r->req->body_len, NULL, &res) < 0) {
        if (res.status == 409)
            refuse_409(r, &res);
        else
            refuse(r, XCAP_R_INTERNAL, 500, "%s", res.phrase);
        return;
    }
    char etag[MCX_XCAP_ETAG_MAX];
    bool created = false;
    int rc = xcap_store_put(r->x, &r->loc, r->au->mime, r->req->body, r->req->body_len,
                            mcx_http_header(r->req, "If-Match"),
                            mcx_http_header(r->req, "If-None-Match"), r->caller.mcptt_id,
                            hook, r, etag, &created, &res);
    if (rc == -EACCES) {
        refuse(r, XCAP_R_FORBIDDEN, 403, "not allowed to write this document");
        return;
    }
    if (rc == -EBUSY) {
        refuse(r, XCAP_R_PRECONDITION, 412, "%s", res.phrase);
        return;
    }
    if (rc < 0) {
        refuse(r, XCAP_R_INTERNAL, 500, "store write failed");
        return;
    }
    atomic_fetch_add(&r->x->stored, 1);
    MCX_INFO("xcap: %s -> %u %s", r->where, created ? 201u : 200u, etag);
    mcx_http_reply_header(r->resp, "ETag", etag);
    mcx_http_reply(r->resp, created ? 201 : 200, NULL, NULL, 0);
}

static void do_delete(xreq_t *r)
{
    mcx_xcap_result_t res = {0};
    int rc = xcap_store_delete(r->x, &r->loc, mcx_http_header(r->req, "If-Match"), hook, r,
                               &res);
    if (rc == -EACCES)
        refuse(r, XCAP_R_FORBIDDEN, 403, "not allowed to delete this document");
    else if (rc == -EBUSY)
        refuse(r, XCAP_R_PRECONDITION, 412, "%s", res.phrase);
    else if (rc == -ENOENT)
        refuse(r, XCAP_R_NOT_FOUND, 404, "no such document");
    else if (rc < 0)
        refuse(r, XCAP_R_INTERNAL, 500, "store write failed");
    else {
        atomic_fetch_add(&r->x->deleted, 1);
        MCX_INFO("xcap: %s -> 200 deleted", r->where);
        mcx_http_reply(r->resp, 200, NULL, NULL, 0);
    }
}

static const char *claim_str(const json_t *claims, const char *name)
{
    const json_t *v = json_object_get(claims, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

void mcx_xcap_handle(mcx_xcap_t *x, const mcx_http_req_t *req, mcx_http_resp_t *resp)
{
    xreq_t r = {.x = x, .req = req, .resp = resp};
    set_where(&r);

    /* 1. the bearer token (RFC 6750), before anything about the resource is said */
    const char *tok = mcx_http_bearer(req);
    if (tok == NULL || x->trust == NULL) {
        atomic_fetch_add(&x->refused[XCAP_R_AUTH], 1);
        MCX_NOTICE("xcap: %s -> 401 no access token", r.where);
        mcx_http_reply_bearer_error(resp, 401, x->realm, NULL, "access token required", NULL);
        return;
    }
    mcx_jose_expect_t exp = {.audience = x->audience[0] ? x->audience : NULL,
                             .typ = "at+jwt", .leeway_s = x->leeway_s};
    json_t *claims = NULL;
    char why[256] = "";
    mcx_jose_status_t st = mcx_jose_verify(x->trust, tok, &exp, &claims, why, sizeof(why));
    if (st != MCX_JOSE_OK) {
        atomic_fetch_add(&x->refused[XCAP_R_AUTH], 1);
        MCX_NOTICE("xcap: %s -> 401 invalid_token: %s", r.where,
                   why[0] ? why : mcx_jose_status_str(st));
        mcx_http_reply_bearer_error(resp, 401, x->realm, "invalid_token",
                                    mcx_jose_status_str(st), NULL);
        json_decref(claims); /* NULL unless the verifier left one behind */
        return;
    }
    r.caller.claims = claims;
    r.caller.mcptt_id = claim_str(claims, "mcptt_id");
    r.caller.sub = claim_str(claims, "sub");
    r.caller.scope = claim_str(claims, "scope");
    if (x->scope[0] && !mcx_jose_scope_has(r.caller.scope ? r.caller.scope : "", x->scope)) {
        atomic_fetch_add(&x->refused[XCAP_R_SCOPE], 1);
        MCX_NOTICE("xcap: %s -> 403 insufficient_scope (needs %s)", r.where, x->scope);
        mcx_http_reply_bearer_error(resp, 403, x->realm, "insufficient_scope",
                                    "the token lacks the required scope", x->scope);
        goto out;
    }

    /* 2. the XCAP URI */
    char uwhy[128] = "";
    unsigned ust = mcx_xcap_parse_uri(x, req->url ? req->url : req->path, &r.loc, uwhy,
                                      sizeof(uwhy));
    if (ust != 0) {
        refuse(&r, XCAP_R_URI, ust, "%s", uwhy);
        goto out;
    }
    r.au = mcx_xcap_find(x, r.loc.auid);
    if (r.au->scope && !mcx_jose_scope_has(r.caller.scope ? r.caller.scope : "", r.au->scope)) {
        atomic_fetch_add(&x->refused[XCAP_R_SCOPE], 1);
        MCX_NOTICE("xcap: %s -> 403 insufficient_scope (needs %s)", r.where, r.au->scope);
        mcx_http_reply_bearer_error(resp, 403, x->realm, "insufficient_scope",
                                    "the token lacks the required scope", r.au->scope);
        goto out;
    }

    /* 3. the users tree belongs to the token's MC service ID only */
    if (r.loc.tree == MCX_XCAP_USERS
            && (r.caller.mcptt_id == NULL || strcmp(r.caller.mcptt_id, r.loc.xui) != 0)) {
        refuse(&r, XCAP_R_FORBIDDEN, 403, "XUI differs from the token's MC service ID");
        goto out;
    }

    /* 4. the method */
    bool builtin = xcap_builtin(r.loc.auid);
    if (strcmp(req->method, "GET") == 0) {
        r.op = MCX_XCAP_OP_GET;
    } else if (!builtin && strcmp(req->method, "PUT") == 0) {
        r.op = MCX_XCAP_OP_PUT;
    } else if (!builtin && strcmp(req->method, "DELETE") == 0) {
        r.op = MCX_XCAP_OP_DELETE;
    } else {
        mcx_http_reply_header(resp, "Allow", builtin ? "GET" : "GET, PUT, DELETE");
        refuse(&r, XCAP_R_METHOD, 405, "method not allowed");
        goto out;
    }
    if (strcmp(r.loc.auid, MCX_XCAP_AUID_DIRECTORY) == 0)
        serve_directory(&r);
    else if (strcmp(r.loc.auid, MCX_XCAP_AUID_CAPS) == 0)
        serve_caps(&r);
    else if (r.op == MCX_XCAP_OP_GET)
        do_get(&r);
    else if (r.op == MCX_XCAP_OP_PUT)
        do_put(&r);
    else
        do_delete(&r);
out:
    json_decref(claims);
}

size_t mcx_xcap_metrics(mcx_xcap_t *x, char *buf, size_t len)
{
    size_t o = 0;
    int n;
#define EMIT(...)                                                              \
    do {                                                                       \
        n = snprintf(buf + o, len - o, __VA_ARGS__);                           \
        if (n < 0 || (size_t)n >= len - o)                                     \
            return o;                                                          \
        o += (size_t)n;                                                        \
    } while (0)
    EMIT("# TYPE %s_xcap_documents_served_total counter\n", x->prefix);
    EMIT("%s_xcap_documents_served_total %lu\n", x->prefix, atomic_load(&x->served));
    EMIT("%s_xcap_not_modified_total %lu\n", x->prefix, atomic_load(&x->not_modified));
    EMIT("# TYPE %s_xcap_documents_stored_total counter\n", x->prefix);
    EMIT("%s_xcap_documents_stored_total %lu\n", x->prefix, atomic_load(&x->stored));
    EMIT("%s_xcap_documents_deleted_total %lu\n", x->prefix, atomic_load(&x->deleted));
    EMIT("# TYPE %s_xcap_refused_total counter\n", x->prefix);
    for (int i = 0; i < XCAP_R_COUNT; i++)
        EMIT("%s_xcap_refused_total{reason=\"%s\"} %lu\n", x->prefix, xcap_reason_names[i],
             atomic_load(&x->refused[i]));
#undef EMIT
    return o;
}

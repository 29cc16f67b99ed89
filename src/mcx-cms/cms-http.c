/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-cms's HTTP handler: every request goes to lib/xcap, except that a PUT
 * whose acceptance depends on other documents (a user profile, a functional
 * alias activation) is first checked against them under the CMS write lock,
 * the same lock the write itself then runs under. Threads: lib/http's
 * workers call this concurrently; write_lock serialises only guarded writes.
 */
#include "cms-context.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CMS_SCOPE "3gpp:mc:ptt_config_management_service"

/* Does this write need the cross-document checks (or a status rebuild)? */
static bool guarded(const mcx_xcap_loc_t *loc, bool put)
{
    if (loc->tree != MCX_XCAP_USERS)
        return false;
    if (strcmp(loc->auid, CMS_AUID_FUNCTIONAL_ALIAS) == 0)
        return true; /* activation PUT and DELETE */
    return put && strcmp(loc->auid, CMS_AUID_USER_PROFILE) == 0;
}

/*
 * Is the caller's token good and its mcptt_id the XUI of the path? Anything
 * else is left to lib/xcap, which answers it (401/403) the contract's way.
 */
static bool caller_owns(cms_context_t *c, const mcx_http_req_t *req, const mcx_xcap_loc_t *loc)
{
    const char *tok = mcx_http_bearer(req);
    if (!tok)
        return false;
    mcx_jose_expect_t ex = {.audience = c->cfg->auth.audience, .scope = CMS_SCOPE,
                            .leeway_s = c->cfg->auth.leeway};
    json_t *claims = NULL;
    char why[200];
    if (mcx_jose_verify(c->trust, tok, &ex, &claims, why, sizeof(why)) != MCX_JOSE_OK)
        return false;
    const char *id = json_string_value(json_object_get(claims, "mcptt_id"));
    bool own = id && strcmp(id, loc->xui) == 0;
    json_decref(claims);
    return own;
}

static bool ctype_is(const mcx_http_req_t *req, const char *mime)
{
    const char *ct = mcx_http_header(req, "Content-Type");
    if (!ct)
        return false;
    size_t l = strcspn(ct, "; \t");
    return l == strlen(mime) && strncasecmp(ct, mime, l) == 0;
}

static void xml_escape(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (; *in && o + 7 < len; in++) {
        const char *r = NULL;
        switch (*in) {
        case '<': r = "&lt;"; break;
        case '>': r = "&gt;"; break;
        case '&': r = "&amp;"; break;
        case '"': r = "&quot;"; break;
        default: out[o++] = *in; continue;
        }
        size_t rl = strlen(r);
        memcpy(out + o, r, rl);
        o += rl;
    }
    out[o] = '\0';
}

static void reply_constraint(mcx_http_resp_t *resp, const char *phrase)
{
    char esc[MCX_XCAP_PHRASE_MAX * 6 + 1], body[MCX_XCAP_PHRASE_MAX * 6 + 256];
    xml_escape(phrase, esc, sizeof(esc));
    int n = snprintf(body, sizeof(body),
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                     "<xcap-error xmlns=\"urn:ietf:params:xml:ns:xcap-error\">"
                     "<constraint-failure phrase=\"%s\"/></xcap-error>\n",
                     esc);
    mcx_http_reply(resp, 409, "application/xcap-error+xml", body,
                   n > 0 && (size_t)n < sizeof(body) ? (size_t)n : 0);
}

void cms_http_handle(void *ud, const mcx_http_req_t *req, mcx_http_resp_t *resp)
{
    cms_context_t *c = ud;
    bool put = strcmp(req->method, "PUT") == 0, del = strcmp(req->method, "DELETE") == 0;
    mcx_xcap_loc_t loc;
    char why[200];
    if (!(put || del) || mcx_xcap_parse_uri(c->xcap, req->url, &loc, why, sizeof(why)) != 0 ||
        !guarded(&loc, put)) {
        mcx_xcap_handle(c->xcap, req, resp);
        return;
    }
    const mcx_xcap_auid_t *au = mcx_xcap_find(c->xcap, loc.auid);
    bool alias = strcmp(loc.auid, CMS_AUID_FUNCTIONAL_ALIAS) == 0;

    pthread_mutex_lock(&c->write_lock);
    if (put && au && req->body_len <= c->cfg->cms.max_doc && ctype_is(req, au->mime) &&
        caller_owns(c, req, &loc)) {
        mcx_xcap_result_t res = {0};
        /* a document that fails on its own gets lib/xcap's answer below */
        if (mcx_xcap_validate(c->xcap, &loc, req->body, req->body_len, &res) == 0) {
            int rv = cms_xcap_check_put(c->xcap, &c->opts, &loc, req->body, req->body_len, &res);
            if (rv == -EINVAL && res.err == MCX_XCAP_ERR_CONSTRAINT) {
                pthread_mutex_unlock(&c->write_lock);
                atomic_fetch_add(&c->refused_constraint, 1);
                MCX_NOTICE("PUT /%s/users/%s/%s from %s refused: %s", loc.auid, loc.xui, loc.doc,
                           req->client, res.phrase);
                reply_constraint(resp, res.phrase);
                return;
            }
            if (rv) {
                pthread_mutex_unlock(&c->write_lock);
                MCX_ERR("PUT /%s/users/%s/%s: %s", loc.auid, loc.xui, loc.doc, res.phrase);
                mcx_http_replyf(resp, 500, "store failure\n");
                return;
            }
        }
    }
    mcx_xcap_handle(c->xcap, req, resp);
    if (alias) {
        char err[300];
        if (cms_alias_status_rebuild(c->xcap, err, sizeof(err)))
            MCX_ERR("%s", err);
    }
    pthread_mutex_unlock(&c->write_lock);
}

size_t cms_http_metrics(void *ud, char *buf, size_t len)
{
    cms_context_t *c = ud;
    size_t n = mcx_xcap_metrics(c->xcap, buf, len);
    if (n < len) {
        int m = snprintf(buf + n, len - n,
                         "# TYPE mcx_cms_refused_cross_document_total counter\n"
                         "mcx_cms_refused_cross_document_total %lu\n",
                         atomic_load(&c->refused_constraint));
        if (m > 0 && (size_t)m < len - n)
            n += (size_t)m;
    }
    return n;
}

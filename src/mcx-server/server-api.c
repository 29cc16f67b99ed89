/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-server's HTTP side (lib/http): the operator's read-only status API
 * GET /users and GET /users/<IMPU or MCPTT ID> as JSON, plus /healthz and
 * /metrics from lib/http. Handlers run on lib/http's worker threads and
 * only read the store.
 */
#include "server-context.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void handler(void *ud, const mcx_http_req_t *req, mcx_http_resp_t *resp)
{
    server_ctx_t *ctx = ud;
    bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    const char *who = NULL;
    if (!strcmp(req->path, "/users") || !strcmp(req->path, "/users/")) {
        who = NULL;
    } else if (!strncmp(req->path, "/users/", 7) && req->path[7]) {
        who = req->path + 7;
    } else {
        mcx_http_replyf(resp, 404, "no such resource\n");
        return;
    }
    if (!get) {
        mcx_http_reply_header(resp, "Allow", "GET, HEAD");
        mcx_http_replyf(resp, 405, "read-only: GET only\n");
        return;
    }
    char *json = server_store_users_json(&ctx->store, who, server_now());
    if (!json) {
        mcx_http_replyf(resp, 404, "no such user\n");
        return;
    }
    mcx_http_reply(resp, 200, "application/json", json, strlen(json));
    free(json);
}

static size_t metrics(void *ud, char *buf, size_t len)
{
    server_ctx_t *ctx = ud;
    unsigned reg, auth, pend;
    server_store_counts(&ctx->store, server_now(), &reg, &auth, &pend);
    const server_stats_t *st = &ctx->stats;
    int n = snprintf(buf, len,
                     "# TYPE mcx_server_registered gauge\nmcx_server_registered %u\n"
                     "# TYPE mcx_server_authorized gauge\nmcx_server_authorized %u\n"
                     "# TYPE mcx_server_pending gauge\nmcx_server_pending %u\n"
                     "# TYPE mcx_server_sip_total counter\n"
                     "mcx_server_sip_total{what=\"register\"} %lu\n"
                     "mcx_server_sip_total{what=\"deregister\"} %lu\n"
                     "mcx_server_sip_total{what=\"publish_ok\"} %lu\n"
                     "mcx_server_sip_total{what=\"publish_refresh\"} %lu\n"
                     "mcx_server_sip_total{what=\"publish_refused\"} %lu\n"
                     "mcx_server_sip_total{what=\"other_refused\"} %lu\n",
                     reg, auth, pend, atomic_load(&st->register_ok), atomic_load(&st->deregister),
                     atomic_load(&st->publish_ok), atomic_load(&st->refresh),
                     atomic_load(&st->publish_refused), atomic_load(&st->other_refused));
    return n < 0 ? 0 : (size_t)n >= len ? len - 1 : (size_t)n;
}

int server_api_start(server_ctx_t *ctx, char *err, size_t errlen)
{
    ctx->http = mcx_http_start(&ctx->cfg->http, "mcx_server", handler, metrics, ctx, err, errlen);
    return ctx->http ? 0 : -EIO;
}

void server_api_stop(server_ctx_t *ctx)
{
    mcx_http_stop(ctx->http);
    ctx->http = NULL;
}

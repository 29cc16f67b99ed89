/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The service authorization decision (TS 24.379 §7.3.2, TS 33.180 §5.1):
 * mcptt-info -> access token -> signature, issuer, audience, scope and
 * lifetime -> the user's profile in the CMS. Pure decision: storing and
 * answering are the caller's.
 */
#include "server-context.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "server-body.h"

int64_t server_now(void)
{
    return (int64_t)time(NULL);
}

static void verdict(server_verdict_t *v, unsigned code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void verdict(server_verdict_t *v, unsigned code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    v->code = code;
    vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
    va_end(ap);
}

void server_authorize(server_ctx_t *ctx, const char *impu, const char *xml, size_t len,
                      server_authz_t *a, server_verdict_t *v)
{
    static char token[SERVER_TOKEN_MAX]; /* SIP thread only */
    char client_id[SERVER_ID_MAX], why[SERVER_REASON_MAX];
    memset(a, 0, sizeof(*a));
    switch (server_mcptt_info_parse(xml, len, token, sizeof(token), client_id, sizeof(client_id),
                                    why, sizeof(why))) {
    case SERVER_INFO_OK:
        break;
    case SERVER_INFO_MALFORMED:
        verdict(v, 400, "%s", why);
        return;
    case SERVER_INFO_NO_TOKEN:
    case SERVER_INFO_ENCRYPTED:
        verdict(v, 403, "%s", why);
        return;
    }

    mcx_jose_expect_t ex = {.audience = ctx->cfg->auth.audience,
                            .scope = SERVER_SCOPE,
                            .typ = "at+jwt",
                            .leeway_s = ctx->cfg->auth.leeway};
    json_t *claims = NULL;
    mcx_jose_status_t st = mcx_jose_verify(ctx->trust, token, &ex, &claims, why, sizeof(why));
    if (st != MCX_JOSE_OK) {
        verdict(v, 403, "access token refused: %s", why[0] ? why : mcx_jose_status_str(st));
        goto out;
    }
    const char *mcptt_id = json_string_value(json_object_get(claims, "mcptt_id"));
    json_t *exp = json_object_get(claims, "exp");
    const char *tok_cid = json_string_value(json_object_get(claims, "client_id"));
    if (!mcptt_id || !mcptt_id[0] || strlen(mcptt_id) >= SERVER_ID_MAX ||
        strncmp(mcptt_id, "sip:", 4) != 0) {
        verdict(v, 403, "access token has no usable mcptt_id claim");
        goto out;
    }
    if (!json_is_integer(exp)) {
        verdict(v, 403, "access token has no exp claim");
        goto out;
    }
    if (client_id[0] && tok_cid && strcmp(client_id, tok_cid) != 0) {
        verdict(v, 403, "mcptt-client-id differs from the token's client_id");
        goto out;
    }
    switch (server_cms_check(&ctx->cfg->server, mcptt_id, token, why, sizeof(why))) {
    case SERVER_CMS_OK:
        break;
    case SERVER_CMS_NO_PROFILE:
    case SERVER_CMS_DISABLED:
    case SERVER_CMS_DENIED:
        verdict(v, 403, "%s", why);
        goto out;
    case SERVER_CMS_UNAVAILABLE:
        verdict(v, 503, "configuration management server unavailable: %s", why);
        goto out;
    }
    mcx_strlcpy(a->impu, impu, sizeof(a->impu));
    mcx_strlcpy(a->mcptt_id, mcptt_id, sizeof(a->mcptt_id));
    mcx_strlcpy(a->client_id,
                client_id[0] ? client_id
                : tok_cid    ? tok_cid
                             : "",
                sizeof(a->client_id));
    a->token_exp = (int64_t)json_integer_value(exp);
    a->since = server_now();
    verdict(v, 200, "authorized %s as %s", impu, mcptt_id);
out:
    if (claims)
        json_decref(claims);
    OPENSSL_cleanse(token, sizeof(token));
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-server: the MC service server of an MC system (TS 23.280 §7.4.2.2),
 * here its service authorization (TS 24.379 §7.3): third-party REGISTER
 * and PUBLISH of poc-settings with mcptt-info on SIP-2, access tokens
 * checked against trusted IdMS keys, user profiles checked in the CMS.
 */
#include "server-context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <libxml/parser.h>

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: mcx-server -c FILE [--check]\n"
                "\n"
                "The MC service server's service authorization (TS 24.379 7.3): a SIP server for\n"
                "the S-CSCF's third-party REGISTER and the UE's PUBLISH (Event: poc-settings)\n"
                "carrying mcptt-info with an access token; checks the token and the user's\n"
                "profile in the CMS; status as JSON at GET /users on its HTTP port.\n"
                "\n"
                "  -c, --config FILE  YAML configuration (see configs/mcx-server.yaml)\n"
                "      --check        load and check the configuration, the trusted keys and\n"
                "                     the store, then exit\n"
                "  -h, --help         this text\n"
                "\n"
                "SIGTERM or SIGINT stops it cleanly.\n");
}

/* Called by the SIP loop once its transports are bound. */
static int start_api(server_ctx_t *ctx)
{
    char err[256];
    if (server_api_start(ctx, err, sizeof(err))) {
        MCX_ERR("HTTP: %s", err);
        return -1;
    }
    const server_config_t *cfg = ctx->cfg;
    MCX_NOTICE("status API on http://%s:%u/users, store %s, CMS %s, audience %s", cfg->http.listen,
               mcx_http_port(ctx->http), cfg->store.path, cfg->server.cms_url, cfg->auth.audience);
    return 0;
}

int main(int argc, char **argv)
{
    const char *path;
    bool check_only;
    int ex = mcx_daemon_args(argc, argv, usage, &path, &check_only);
    if (ex >= 0)
        return ex;

    mcx_log_init("mcx-server", MCX_LOG_INFO);
    static server_config_t cfg;
    char err[600];
    if (server_config_load(path, &cfg, err, sizeof(err))) {
        MCX_ERR("%s", err);
        return 1;
    }
    mcx_log_set_level((mcx_log_level_t)cfg.log_level);
    xmlInitParser();
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        MCX_ERR("cannot initialise libcurl");
        return 1;
    }

    static server_ctx_t ctx;
    ctx.cfg = &cfg;
    int code = 1;
    if (mcx_jose_trust_from_conf(&cfg.auth, &ctx.trust, err, sizeof(err))) {
        MCX_ERR("%s: auth: %s", path, err);
        goto out_curl;
    }
    if (server_store_open(&ctx.store, cfg.store.path, err, sizeof(err))) {
        MCX_ERR("store %s: %s", cfg.store.path, err);
        goto out_trust;
    }
    snprintf(ctx.warn_host, sizeof(ctx.warn_host), "%s:%u", cfg.sip.listen, cfg.sip.port);
    if (check_only) {
        printf("%s: configuration, trusted keys and store are valid\n", path);
        code = 0;
        goto out_store;
    }
    if (mcx_signals_block()) {
        MCX_ERR("cannot block signals");
        goto out_store;
    }
    code = server_sip_run(&ctx, start_api) ? 1 : 0;
    MCX_NOTICE("stopped (REGISTER %lu, de-REGISTER %lu, PUBLISH ok %lu, refreshed %lu, "
               "refused %lu)",
               atomic_load(&ctx.stats.register_ok), atomic_load(&ctx.stats.deregister),
               atomic_load(&ctx.stats.publish_ok), atomic_load(&ctx.stats.refresh),
               atomic_load(&ctx.stats.publish_refused));
    server_api_stop(&ctx);
out_store:
    server_store_close(&ctx.store);
out_trust:
    mcx_jose_trust_free(ctx.trust);
out_curl:
    curl_global_cleanup();
    xmlCleanupParser();
    return code;
}

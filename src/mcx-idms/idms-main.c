/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-idms: the identity management server of an MC system (TS 33.180
 * Annex B, TS 24.482), an OpenID Connect provider for native MC clients:
 * authorization code with PKCE S256, ES256-signed JWT access and ID tokens,
 * rotating refresh tokens, over a SQLite store of users and clients.
 */
#include "idms-context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: mcx-idms -c FILE [--check]\n"
            "\n"
            "The identity management server of an MC system: an OpenID Connect provider\n"
            "(authorization code + PKCE S256) issuing ES256 JWT access tokens with the\n"
            "user's MC service IDs (TS 33.180 Annex B).\n"
            "\n"
            "  -c, --config FILE  YAML configuration (see configs/mcx-idms.yaml)\n"
            "      --check        load and check the configuration, the store and the\n"
            "                     signing key (created if absent), then exit\n"
            "  -h, --help         this text\n"
            "\n"
            "Users and clients are provisioned with `mcxctl --db <store.path> user add ...`\n"
            "and `mcxctl --db <store.path> client add ...`. SIGTERM or SIGINT stops it cleanly.\n");
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    bool check_only = false;
    int rc = mcx_daemon_args(argc, argv, usage, &path, &check_only);
    if (rc >= 0)
        return rc;

    mcx_log_init("mcx-idms", MCX_LOG_INFO);
    static idms_config_t cfg;
    char err[1200];
    if (idms_config_load(path, &cfg, err, sizeof(err))) {
        MCX_ERR("%s", err);
        return 1;
    }
    mcx_log_set_level((mcx_log_level_t)cfg.log_level);

    /* Before any thread: workers inherit the blocked signals. */
    if (!check_only && mcx_signals_block()) {
        MCX_ERR("cannot block signals");
        return 1;
    }
    static idms_ctx_t ctx;
    if (idms_ctx_init(&ctx, &cfg, err, sizeof(err))) {
        MCX_ERR("%s", err);
        idms_ctx_final(&ctx);
        return 1;
    }
    if (check_only) {
        printf("%s: configuration, store and signing key (kid %s) are valid\n", path,
               mcx_jose_key_kid(ctx.key));
        idms_ctx_final(&ctx);
        return 0;
    }

    mcx_http_server_t *srv = mcx_http_start(&cfg.http, "mcx_idms", idms_http_handle,
                                            idms_http_metrics, &ctx, err, sizeof(err));
    if (!srv) {
        MCX_ERR("http: %s", err);
        idms_ctx_final(&ctx);
        return 1;
    }
    MCX_NOTICE("serving OIDC as %s on %s:%u (kid %s, %u audiences), store %s, JWKS in %s",
               cfg.idms.issuer, cfg.http.listen, mcx_http_port(srv), mcx_jose_key_kid(ctx.key),
               cfg.idms.n_audiences, cfg.store.path, cfg.idms.jwks_out);

    int sig = mcx_signals_wait();
    MCX_NOTICE("%s: shutting down (logins ok %lu, failed %lu, tokens %lu + %lu refreshed)",
               strsignal(sig), atomic_load(&ctx.stats.logins_ok),
               atomic_load(&ctx.stats.logins_failed), atomic_load(&ctx.stats.tokens_code),
               atomic_load(&ctx.stats.tokens_refresh));
    mcx_http_stop(srv);
    idms_ctx_final(&ctx);
    return 0;
}

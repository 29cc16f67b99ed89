/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-cms: the configuration management server of an MC system (TS 24.484
 * over XCAP): MCPTT user profiles, UE configuration, UE initial
 * configuration, service configuration, and functional alias management.
 */
#include "cms-context.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: mcx-cms -c FILE [--check]\n"
            "\n"
            "The configuration management server of an MC system: an XCAP server (RFC 4825)\n"
            "for the TS 24.484 documents (user profiles, UE configuration, UE initial\n"
            "configuration, service configuration) and mcxcore's functional aliases, with\n"
            "bearer access tokens (scope 3gpp:mc:ptt_config_management_service).\n"
            "\n"
            "  -c, --config FILE  YAML configuration (see configs/mcx-cms.yaml)\n"
            "      --check        load and check the configuration, the trusted keys and\n"
            "                     the store, then exit\n"
            "  -h, --help         this text\n"
            "\n"
            "Documents are provisioned with `mcxctl --db <store.path> xcap put ...`;\n"
            "behaviour and formats: docs/cms.md. SIGTERM or SIGINT stops it cleanly.\n");
}

int main(int argc, char **argv)
{
    const char *path;
    bool check_only;
    int ex = mcx_daemon_args(argc, argv, usage, &path, &check_only);
    if (ex >= 0)
        return ex;

    mcx_log_init("mcx-cms", MCX_LOG_INFO);
    static cms_config_t cfg;
    char err[600];
    if (cms_config_load(path, &cfg, err, sizeof(err))) {
        MCX_ERR("%s", err);
        return 1;
    }
    mcx_log_set_level((mcx_log_level_t)cfg.log_level);

    static cms_context_t ctx;
    ctx.cfg = &cfg;
    ctx.opts.max_profiles_per_user = cfg.cms.max_profiles_per_user;
    pthread_mutex_init(&ctx.write_lock, NULL);
    if (mcx_jose_trust_from_conf(&cfg.auth, &ctx.trust, err, sizeof(err))) {
        MCX_ERR("%s: auth: %s", path, err);
        return 1;
    }
    mcx_xcap_conf_t xc = {
        .db_path = cfg.store.path,
        .xcap_root = cfg.cms.xcap_root,
        .realm = cfg.cms.realm,
        .metrics_prefix = "mcx_cms",
        .trust = ctx.trust,
        .audience = cfg.auth.audience,
        .scope = "3gpp:mc:ptt_config_management_service",
        .leeway_s = cfg.auth.leeway,
        .max_doc = cfg.cms.max_doc,
    };
    int rv = mcx_xcap_open(&xc, &ctx.xcap, err, sizeof(err));
    if (rv == 0)
        rv = cms_xcap_register(ctx.xcap, &ctx.opts, err, sizeof(err));
    if (rv) {
        MCX_ERR("store %s: %s", cfg.store.path, err);
        mcx_xcap_close(ctx.xcap);
        mcx_jose_trust_free(ctx.trust);
        return 1;
    }
    if (check_only) {
        printf("%s: configuration, trusted issuers and store are valid\n", path);
        mcx_xcap_close(ctx.xcap);
        mcx_jose_trust_free(ctx.trust);
        return 0;
    }
    /* the status document follows the store, also after a crash or mcxctl */
    if (cms_alias_status_rebuild(ctx.xcap, err, sizeof(err)))
        MCX_WARN("%s", err);

    if (mcx_signals_block()) {
        MCX_ERR("cannot block signals");
        mcx_xcap_close(ctx.xcap);
        mcx_jose_trust_free(ctx.trust);
        return 1;
    }
    mcx_http_server_t *srv =
        mcx_http_start(&cfg.http, "mcx_cms", cms_http_handle, cms_http_metrics, &ctx, err,
                       sizeof(err));
    if (!srv) {
        MCX_ERR("http: %s", err);
        mcx_xcap_close(ctx.xcap);
        mcx_jose_trust_free(ctx.trust);
        return 1;
    }
    MCX_NOTICE("serving XCAP root %s on %s:%u (audience %s), store %s", cfg.cms.xcap_root,
               cfg.http.listen, mcx_http_port(srv), cfg.auth.audience, cfg.store.path);

    int sig = mcx_signals_wait();
    MCX_NOTICE("%s: shutting down (cross-document refusals %lu)", strsignal(sig),
               atomic_load(&ctx.refused_constraint));
    mcx_http_stop(srv);
    mcx_xcap_close(ctx.xcap);
    mcx_jose_trust_free(ctx.trust);
    pthread_mutex_destroy(&ctx.write_lock);
    return 0;
}

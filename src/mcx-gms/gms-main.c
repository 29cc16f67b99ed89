/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-gms: the group management server of an MC system (TS 24.481): an
 * XCAP server (lib/xcap) for group documents behind the HTTP proxy, with
 * bearer access tokens from the IdMS. Config table, start-up and shutdown.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gms-auid.h"
#include "http/mcx-http.h"
#include "jose/mcx-jose.h"
#include "xcap/mcx-xcap.h"

#define GMS_SCOPE "3gpp:mc:ptt_group_management_service"

typedef struct gms_config {
    mcx_http_conf_t http;
    int log_level;
    struct {
        char path[1024];
    } store;
    mcx_jose_auth_conf_t auth;
    struct {
        char xcap_root[512];
        char realm[128];
        gms_policy_t policy;
    } gms;
} gms_config_t;

static const char *const log_levels[] = {"error", "warn", "notice", "info", "debug", NULL};

static const mcx_conf_field_t store_fields[] = {
    {.key = "path", .type = MCX_CONF_STRING, .offset = 0, .size = 1024, .required = true,
     .help = "SQLite file of the group documents"},
    {0},
};

#define G(f) offsetof(typeof(((gms_config_t *)0)->gms), f)
#define P(f) (G(policy) + offsetof(gms_policy_t, f))
static const mcx_conf_field_t gms_fields[] = {
    {.key = "xcap_root", .type = MCX_CONF_STRING, .offset = G(xcap_root), .size = 512,
     .required = true, .help = "public URL of this XCAP root, e.g. https://127.0.0.1:8443/gms"},
    {.key = "realm", .type = MCX_CONF_STRING, .offset = G(realm), .size = 128,
     .def = "mcx-gms", .help = "realm of WWW-Authenticate"},
    {.key = "administrators", .type = MCX_CONF_STRLIST, .offset = P(administrators),
     .size = GMS_URI_MAX, .cap = GMS_MAX_ADMINS, .count_offset = P(n_admins),
     .help = "MC service IDs that may create, change and delete any group"},
    {.key = "max_members", .type = MCX_CONF_UINT, .offset = P(max_members), .def = "500",
     .min = 0, .max = 100000, .help = "largest group; 0: no limit"},
    {.key = "allow_user_create", .type = MCX_CONF_BOOL, .offset = P(allow_user_create),
     .def = "false", .help = "any authenticated user may create a group and owns it"},
    {0},
};

static const mcx_conf_field_t gms_conf_table[] = {
    {.key = "http", .type = MCX_CONF_MAP, .offset = offsetof(gms_config_t, http),
     .sub = mcx_http_conf_fields, .required = true},
    {.key = "log_level", .type = MCX_CONF_ENUM, .offset = offsetof(gms_config_t, log_level),
     .def = "info", .enum_names = log_levels},
    {.key = "store", .type = MCX_CONF_MAP, .offset = offsetof(gms_config_t, store),
     .sub = store_fields, .required = true},
    {.key = "auth", .type = MCX_CONF_MAP, .offset = offsetof(gms_config_t, auth),
     .sub = mcx_jose_auth_conf_fields, .required = true},
    {.key = "gms", .type = MCX_CONF_MAP, .offset = offsetof(gms_config_t, gms),
     .sub = gms_fields, .required = true},
    {0},
};

typedef struct gms_ctx {
    mcx_xcap_t *xcap;
} gms_ctx_t;

static void gms_handle(void *ud, const mcx_http_req_t *req, mcx_http_resp_t *resp)
{
    gms_ctx_t *ctx = ud;
    mcx_xcap_handle(ctx->xcap, req, resp);
}

static size_t gms_metrics(void *ud, char *buf, size_t len)
{
    gms_ctx_t *ctx = ud;
    return mcx_xcap_metrics(ctx->xcap, buf, len);
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: mcx-gms -c FILE [--check]\n"
            "\n"
            "The group management server of an MC system (TS 24.481): an XCAP server for\n"
            "group documents (AUID " GMS_AUID ") at\n"
            "/" GMS_AUID "/global/byGroupID/<group-URI>,\n"
            "accessed with bearer access tokens of a trusted IdMS.\n"
            "\n"
            "  -c, --config FILE  YAML configuration (see configs/mcx-gms.yaml)\n"
            "      --check        load and check the configuration, keys and store, then exit\n"
            "  -h, --help         this text\n"
            "\n"
            "Groups can also be provisioned with `mcxctl --db <store.path> xcap put ...`.\n"
            "SIGTERM or SIGINT stops it cleanly.\n");
}

int main(int argc, char **argv)
{
    const char *path;
    bool check_only;
    int ex = mcx_daemon_args(argc, argv, usage, &path, &check_only);
    if (ex >= 0)
        return ex;

    mcx_log_init("mcx-gms", MCX_LOG_INFO);
    static gms_config_t cfg;
    char err[600];
    if (mcx_conf_load_file(path, gms_conf_table, &cfg, err, sizeof(err))) {
        MCX_ERR("%s", err);
        return 1;
    }
    mcx_log_set_level((mcx_log_level_t)cfg.log_level);
    if (cfg.auth.n_trust == 0) {
        MCX_ERR("%s: auth.trust: at least one trusted issuer is needed", path);
        return 1;
    }
    if (cfg.auth.audience[0] == '\0') {
        MCX_ERR("%s: auth.audience: required (e.g. gms.<realm>)", path);
        return 1;
    }

    mcx_jose_trust_t *trust = NULL;
    if (mcx_jose_trust_from_conf(&cfg.auth, &trust, err, sizeof(err))) {
        MCX_ERR("%s: auth: %s", path, err);
        return 1;
    }
    mcx_xcap_conf_t xconf = {
        .db_path = cfg.store.path,
        .xcap_root = cfg.gms.xcap_root,
        .realm = cfg.gms.realm,
        .metrics_prefix = "mcx_gms",
        .trust = trust,
        .audience = cfg.auth.audience,
        .scope = GMS_SCOPE,
        .leeway_s = cfg.auth.leeway,
        .max_doc = cfg.http.max_body,
    };
    gms_ctx_t ctx = {0};
    if (mcx_xcap_open(&xconf, &ctx.xcap, err, sizeof(err))
            || gms_xcap_register(ctx.xcap, &cfg.gms.policy, err, sizeof(err))) {
        MCX_ERR("store %s: %s", cfg.store.path, err);
        mcx_xcap_close(ctx.xcap);
        mcx_jose_trust_free(trust);
        return 1;
    }
    if (check_only) {
        printf("%s: configuration, trusted keys and store are valid\n", path);
        mcx_xcap_close(ctx.xcap);
        mcx_jose_trust_free(trust);
        return 0;
    }
    if (mcx_signals_block()) {
        MCX_ERR("cannot block signals");
        mcx_xcap_close(ctx.xcap);
        mcx_jose_trust_free(trust);
        return 1;
    }
    mcx_http_server_t *srv =
        mcx_http_start(&cfg.http, "mcx_gms", gms_handle, gms_metrics, &ctx, err, sizeof(err));
    if (srv == NULL) {
        MCX_ERR("http: %s", err);
        mcx_xcap_close(ctx.xcap);
        mcx_jose_trust_free(trust);
        return 1;
    }
    MCX_NOTICE("serving group documents on %s:%u (XCAP root %s, audience %s, %u "
               "administrators), store %s",
               cfg.http.listen, mcx_http_port(srv), cfg.gms.xcap_root, cfg.auth.audience,
               cfg.gms.policy.n_admins, cfg.store.path);
    int sig = mcx_signals_wait();
    MCX_NOTICE("%s: shutting down", strsignal(sig));
    mcx_http_stop(srv);
    mcx_xcap_close(ctx.xcap);
    mcx_jose_trust_free(trust);
    return 0;
}

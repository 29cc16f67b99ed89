/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-idms's YAML table, the checks the table cannot express, and the
 * start-up of its state: signing key (created at first start), the public
 * JWKS written for resource servers, the discovery document, the store.
 */
#include "idms-context.h"

#include <errno.h>
#include <jansson.h>
#include "mcx-sqlite.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const log_levels[] = {"error", "warn", "notice", "info", "debug", NULL};

#define ST(f) offsetof(idms_store_conf_t, f)
static const mcx_conf_field_t store_fields[] = {
    {.key = "path",
     .type = MCX_CONF_STRING,
     .offset = ST(path),
     .size = IDMS_PATH_MAX,
     .required = true,
     .help = "SQLite database of users, clients, codes and refresh tokens"},
    {.key = "sync",
     .type = MCX_CONF_ENUM,
     .offset = ST(sync),
     .def = "normal",
     .enum_names = mcx_sqlite_sync_names,
     .help = "normal: a change survives a kill of the daemon; full: also a power cut"},
    {0},
};

#define O(f) offsetof(idms_options_t, f)
static const mcx_conf_field_t idms_fields[] = {
    {.key = "issuer",
     .type = MCX_CONF_STRING,
     .offset = O(issuer),
     .size = 256,
     .required = true,
     .help = "public base URL, the iss of every token"},
    {.key = "signing_key",
     .type = MCX_CONF_STRING,
     .offset = O(signing_key),
     .size = IDMS_PATH_MAX,
     .required = true,
     .help = "EC P-256 PEM, created at first start"},
    {.key = "jwks_out",
     .type = MCX_CONF_STRING,
     .offset = O(jwks_out),
     .size = IDMS_PATH_MAX,
     .required = true,
     .help = "public JWKS written at every start"},
    {.key = "audiences",
     .type = MCX_CONF_STRLIST,
     .offset = O(audiences),
     .size = 256,
     .cap = IDMS_MAX_AUDIENCES,
     .count_offset = O(n_audiences),
     .required = true,
     .help = "aud of every access token"},
    {.key = "access_token_lifetime",
     .type = MCX_CONF_UINT,
     .offset = O(access_token_lifetime),
     .def = "3600",
     .min = 1,
     .max = 86400},
    {.key = "id_token_lifetime",
     .type = MCX_CONF_UINT,
     .offset = O(id_token_lifetime),
     .def = "3600",
     .min = 1,
     .max = 86400},
    {.key = "refresh_token_lifetime",
     .type = MCX_CONF_UINT,
     .offset = O(refresh_token_lifetime),
     .def = "86400",
     .min = 1,
     .max = 31536000},
    {.key = "code_lifetime",
     .type = MCX_CONF_UINT,
     .offset = O(code_lifetime),
     .def = "60",
     .min = 1,
     .max = 600},
    {.key = "login_attempts",
     .type = MCX_CONF_UINT,
     .offset = O(login_attempts),
     .def = "0",
     .min = 0,
     .max = 1000,
     .help = "consecutive failed logins before a lockout; 0: none"},
    {.key = "lockout_s",
     .type = MCX_CONF_UINT,
     .offset = O(lockout_s),
     .def = "300",
     .min = 1,
     .max = 86400},
    {0},
};

const mcx_conf_field_t idms_conf_table[] = {
    {.key = "http",
     .type = MCX_CONF_MAP,
     .offset = offsetof(idms_config_t, http),
     .sub = mcx_http_conf_fields},
    {.key = "log_level",
     .type = MCX_CONF_ENUM,
     .offset = offsetof(idms_config_t, log_level),
     .def = "info",
     .enum_names = log_levels},
    {.key = "store",
     .type = MCX_CONF_MAP,
     .offset = offsetof(idms_config_t, store),
     .sub = store_fields,
     .required = true},
    {.key = "idms",
     .type = MCX_CONF_MAP,
     .offset = offsetof(idms_config_t, idms),
     .sub = idms_fields,
     .required = true},
    {0},
};

int idms_config_load(const char *path, idms_config_t *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    int rv = mcx_conf_load_file(path, idms_conf_table, cfg, err, errlen);
    if (rv)
        return rv;
    const idms_options_t *o = &cfg->idms;
    /* OIDC Discovery §3: an https URL without query or fragment; http only on loopback tests. */
    bool https = strncmp(o->issuer, "https://", 8) == 0;
    bool http = strncmp(o->issuer, "http://", 7) == 0;
    size_t ilen = strlen(o->issuer);
    if ((!https && !http) || strpbrk(o->issuer, "?# \t") || ilen < 9 ||
        o->issuer[ilen - 1] == '/') {
        snprintf(err, errlen,
                 "%s: idms.issuer: '%s' is not an https URL without query, fragment or "
                 "trailing slash",
                 path, o->issuer);
        return -EINVAL;
    }
    if (o->n_audiences == 0) {
        snprintf(err, errlen, "%s: idms.audiences: at least one audience is required", path);
        return -EINVAL;
    }
    for (unsigned i = 0; i < o->n_audiences; i++) {
        if (o->audiences[i][0] == '\0') {
            snprintf(err, errlen, "%s: idms.audiences[%u]: empty", path, i);
            return -EINVAL;
        }
    }
    if (!o->signing_key[0] || !o->jwks_out[0] || !cfg->store.path[0]) {
        snprintf(err, errlen,
                 "%s: idms.signing_key, idms.jwks_out and store.path must not be "
                 "empty",
                 path);
        return -EINVAL;
    }
    return 0;
}

static const char *const supported_scopes[] = {
    "openid",
    "3gpp:mc:ptt_service",
    "3gpp:mc:ptt_config_management_service",
    "3gpp:mc:ptt_group_management_service",
    "3gpp:mc:ptt_key_management_service",
    NULL,
};

static json_t *strings(const char *const *v)
{
    json_t *a = json_array();
    for (; a && *v; v++)
        json_array_append_new(a, json_string(*v));
    return a;
}

static json_t *one(const char *s)
{
    const char *v[] = {s, NULL};
    return strings(v);
}

/* OIDC Discovery 1.0 §3 with the TS 33.180 Annex B profile. */
static char *render_discovery(const idms_options_t *o)
{
    char url[320];
    json_t *d = json_object();
    if (!d)
        return NULL;
    json_object_set_new(d, "issuer", json_string(o->issuer));
    snprintf(url, sizeof(url), "%s/authorize", o->issuer);
    json_object_set_new(d, "authorization_endpoint", json_string(url));
    snprintf(url, sizeof(url), "%s/token", o->issuer);
    json_object_set_new(d, "token_endpoint", json_string(url));
    snprintf(url, sizeof(url), "%s/jwks", o->issuer);
    json_object_set_new(d, "jwks_uri", json_string(url));
    json_object_set_new(d, "response_types_supported", one("code"));
    const char *grants[] = {"authorization_code", "refresh_token", NULL};
    json_object_set_new(d, "grant_types_supported", strings(grants));
    json_object_set_new(d, "code_challenge_methods_supported", one("S256"));
    json_object_set_new(d, "scopes_supported", strings(supported_scopes));
    json_object_set_new(d, "id_token_signing_alg_values_supported", one("ES256"));
    json_object_set_new(d, "token_endpoint_auth_methods_supported", one("none"));
    json_object_set_new(d, "subject_types_supported", one("public"));
    json_object_set_new(d, "acr_values_supported", one("3gpp:acr:password"));
    const char *claims[] = {"iss",   "sub", "aud",      "exp",       "iat",        "auth_time",
                            "nonce", "acr", "mcptt_id", "mcdata_id", "mcvideo_id", NULL};
    json_object_set_new(d, "claims_supported", strings(claims));
    char *text = json_dumps(d, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(d);
    return text;
}

int idms_ctx_init(idms_ctx_t *ctx, const idms_config_t *cfg, char *err, size_t errlen)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->cfg = cfg;
    pthread_mutex_init(&ctx->db_lock, NULL);
    int rv = idms_store_open(cfg->store.path, &ctx->db, err, errlen);
    if (rv)
        return rv;
    rv = idms_writer_start(cfg->store.path, cfg->store.sync == 1, IDMS_SWEEP_INTERVAL, &ctx->writer,
                           err, errlen);
    if (rv)
        return rv;
    char why[300] = "";
    rv = mcx_jose_key_load_or_create(cfg->idms.signing_key, &ctx->key, why, sizeof(why));
    if (rv) {
        snprintf(err, errlen, "idms.signing_key: %s: %s", cfg->idms.signing_key, why);
        return rv;
    }
    rv = mcx_jose_key_write_jwks(ctx->key, cfg->idms.jwks_out, why, sizeof(why));
    if (rv) {
        snprintf(err, errlen, "idms.jwks_out: %s: %s", cfg->idms.jwks_out, why);
        return rv;
    }
    ctx->jwks = mcx_jose_key_jwks(ctx->key);
    ctx->discovery = render_discovery(&cfg->idms);
    if (!ctx->jwks || !ctx->discovery) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

void idms_ctx_final(idms_ctx_t *ctx)
{
    free(ctx->jwks);
    free(ctx->discovery);
    mcx_jose_key_free(ctx->key);
    idms_writer_stop(ctx->writer);
    ctx->writer = NULL;
    idms_store_close(ctx->db);
    pthread_mutex_destroy(&ctx->db_lock);
    ctx->jwks = ctx->discovery = NULL;
    ctx->key = NULL;
    ctx->db = NULL;
}

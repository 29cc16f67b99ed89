/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-idms's configuration and the one struct that owns its state: the
 * store's read connection (with the lock that serializes it) and writer, the signing key, the
 * pre-rendered discovery and JWKS documents, and the counters /metrics shows.
 */
#ifndef IDMS_CONTEXT_H
#define IDMS_CONTEXT_H

#include "idms-store.h"
#include "idms-writer.h"
#include "mcx-core.h"
#include "mcx-http.h"
#include "mcx-jose.h"

#include <pthread.h>
#include <stdatomic.h>

#define IDMS_MAX_AUDIENCES 16
#define IDMS_PATH_MAX 1024

typedef struct {
    char issuer[256];
    char signing_key[IDMS_PATH_MAX];
    char jwks_out[IDMS_PATH_MAX];
    char audiences[IDMS_MAX_AUDIENCES][256];
    unsigned n_audiences;
    uint32_t access_token_lifetime;
    uint32_t id_token_lifetime;
    uint32_t refresh_token_lifetime;
    uint32_t code_lifetime;
    uint32_t login_attempts; /* consecutive failures before a lockout; 0: never */
    uint32_t lockout_s;
} idms_options_t;

typedef struct {
    char path[IDMS_PATH_MAX];
    int sync; /* index in mcx_sqlite_sync_names: 0 normal, 1 full */
} idms_store_conf_t;

typedef struct {
    mcx_http_conf_t http;
    int log_level;
    idms_store_conf_t store;
    idms_options_t idms;
} idms_config_t;

extern const mcx_conf_field_t idms_conf_table[];

/* Load and check; err gets "<file>:<line>: <key>: <reason>". */
int idms_config_load(const char *path, idms_config_t *cfg, char *err, size_t errlen);

/* Refusals at /token, by RFC 6749 error code. */
enum {
    IDMS_E_INVALID_REQUEST,
    IDMS_E_INVALID_CLIENT,
    IDMS_E_INVALID_GRANT,
    IDMS_E_UNSUPPORTED_GRANT_TYPE,
    IDMS_E_INVALID_SCOPE,
    IDMS_E_SERVER_ERROR,
    IDMS_E_COUNT,
};

typedef struct {
    atomic_ulong tokens_code;    /* token responses to authorization_code */
    atomic_ulong tokens_refresh; /* token responses to refresh_token */
    atomic_ulong logins_ok;
    atomic_ulong logins_failed;
    atomic_ulong authorize_refused;
    atomic_ulong codes_issued;
    atomic_ulong codes_redeemed;
    atomic_ulong codes_replayed;
    atomic_ulong token_refused[IDMS_E_COUNT];
} idms_stats_t;

typedef struct {
    const idms_config_t *cfg;
    sqlite3 *db; /* reads, serialized by db_lock (WAL: beside the writer) */
    pthread_mutex_t db_lock;
    idms_writer_t *writer; /* every write: one transaction per batch of requests */
    mcx_jose_key_t *key;
    char *jwks;      /* public JWKS text, served at /jwks */
    char *discovery; /* /.well-known/openid-configuration */
    idms_stats_t stats;
} idms_ctx_t;

#define IDMS_SWEEP_INTERVAL 60 /* seconds between expiry sweeps */

/* Load the key, write the JWKS, render the discovery document. */
int idms_ctx_init(idms_ctx_t *ctx, const idms_config_t *cfg, char *err, size_t errlen);
void idms_ctx_final(idms_ctx_t *ctx);

/* lib/http callbacks (idms-http.c); ud is the idms_ctx_t. */
void idms_http_handle(void *ud, const mcx_http_req_t *req, mcx_http_resp_t *resp);
size_t idms_http_metrics(void *ud, char *buf, size_t len);

#endif /* IDMS_CONTEXT_H */

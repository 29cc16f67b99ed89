/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-server: the MC service server's service authorization (TS 24.379
 * §7.3) on SIP-2. This header holds the configuration, the daemon's one
 * context struct and the interfaces between its files (config, store, CMS
 * client, authorization decision, SIP UAS, HTTP status API).
 */
#ifndef SERVER_CONTEXT_H
#define SERVER_CONTEXT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mcx-core.h"
#include "http/mcx-http.h"
#include "jose/mcx-jose.h"

#define SERVER_ID_MAX 256 /* an IMPU, an MCPTT ID, a client id */
#define SERVER_URL_MAX 512
#define SERVER_PATH_MAX 4096
#define SERVER_TOKEN_MAX 8192 /* longest access token accepted */
#define SERVER_REASON_MAX 200

/* The scope an access token must carry for the MC service server (TS 33.180). */
#define SERVER_SCOPE "3gpp:mc:ptt_service"

enum { SERVER_TP_UDP = 1, SERVER_TP_TCP = 2 };

typedef struct {
    char listen[64];
    uint32_t port;
    char transports[2][8];
    unsigned n_transports;
    unsigned tp_mask; /* SERVER_TP_* derived from transports */
} server_sip_conf_t;

typedef struct {
    char path[SERVER_PATH_MAX];
} server_store_conf_t;

typedef struct {
    char psi[SERVER_ID_MAX];      /* sip:mcptt-server@<realm> */
    char cms_url[SERVER_URL_MAX]; /* plain-HTTP base of the CMS (XCAP root) */
    uint32_t cms_timeout_ms;
    uint32_t publish_expires;     /* granted when PUBLISH has no Expires */
    uint32_t publish_max_expires; /* cap on what a PUBLISH may ask for */
} server_opts_t;

typedef struct {
    server_sip_conf_t sip;
    mcx_http_conf_t http;
    int log_level;
    server_store_conf_t store;
    mcx_jose_auth_conf_t auth;
    server_opts_t server;
} server_config_t;

extern const mcx_conf_field_t server_conf_table[];

/* Load and check the YAML at path. Returns 0 or -errno with err filled. */
int server_config_load(const char *path, server_config_t *cfg, char *err, size_t errlen);

/* ---- durable state (server-store.c) ------------------------------------ */

/* The store is one SQLite connection behind a mutex: the SIP loop writes,
 * the HTTP workers read. */
typedef struct {
    sqlite3 *db;
    pthread_mutex_t mu;
} server_store_t;

int server_store_open(server_store_t *st, const char *path, char *err, size_t errlen);
void server_store_close(server_store_t *st);

/* One authorization as stored (PUBLISH, or an option (a) REGISTER body). */
typedef struct {
    char impu[SERVER_ID_MAX];
    char mcptt_id[SERVER_ID_MAX];
    char client_id[SERVER_ID_MAX];
    int64_t token_exp; /* seconds since the epoch */
    char etag[40];     /* SIP-ETag (RFC 3903); "" for option (a) */
    int64_t pub_exp;   /* the publication's expiry */
    int64_t since;     /* when stored */
    char via[16];      /* "publish" or "register" */
} server_authz_t;

/* Registration (third-party REGISTER): IMPU registered until expires_at. */
int server_store_register(server_store_t *st, const char *impu, int64_t expires_at, int64_t now,
                          bool *had_pending);
/* De-registration: drop the registration and its authorization. *had_authz
 * says whether an authorization was dropped. */
int server_store_deregister(server_store_t *st, const char *impu, bool *had_authz);
/* Insert or replace the authorization of a->impu (new etag in a->etag). */
int server_store_put_authz(server_store_t *st, const server_authz_t *a);
/* Find by etag; -ENOENT when none. */
int server_store_get_by_etag(server_store_t *st, const char *etag, server_authz_t *out);
/* Refresh: move the publication to a new etag and expiry. */
int server_store_refresh(server_store_t *st, const char *old_etag, const char *new_etag,
                         int64_t pub_exp);
int server_store_remove_etag(server_store_t *st, const char *etag);
/* Registered now? (expires_at > now) */
bool server_store_registered(server_store_t *st, const char *impu, int64_t now);
/* Drop expired registrations (and their authorizations) and expired
 * authorizations; one log line each. */
void server_store_sweep(server_store_t *st, int64_t now);
/* JSON text (malloc'd) of every user, or of the one whose IMPU or MCPTT ID
 * is `who` (NULL when not found). */
char *server_store_users_json(server_store_t *st, const char *who, int64_t now);
/* Counts for /metrics. */
void server_store_counts(server_store_t *st, int64_t now, unsigned *registered,
                         unsigned *authorized, unsigned *pending);

/* ---- CMS client (server-cms.c) ------------------------------------------ */

typedef enum {
    SERVER_CMS_OK = 0,      /* a usable profile exists */
    SERVER_CMS_NO_PROFILE,  /* none found for this MCPTT ID */
    SERVER_CMS_DISABLED,    /* found, but its Status says disabled */
    SERVER_CMS_DENIED,      /* the CMS refused the user's token */
    SERVER_CMS_UNAVAILABLE, /* transport error, timeout, 5xx, garbage */
} server_cms_result_t;

/* Ask the CMS for mcptt_id's user profiles with the user's own token. */
server_cms_result_t server_cms_check(const server_opts_t *o, const char *mcptt_id,
                                     const char *token, char *why, size_t whylen);

/* Is this user-profile document usable (well formed, right root, not
 * disabled)? The one place the profile's Status is interpreted. */
server_cms_result_t server_cms_profile_usable(const char *xml, size_t len, char *why,
                                              size_t whylen);

/* ---- the daemon ---------------------------------------------------------- */

typedef struct {
    atomic_ulong register_ok, deregister, publish_ok, publish_refused, refresh, other_refused;
} server_stats_t;

typedef struct {
    const server_config_t *cfg;
    server_store_t store;
    mcx_jose_trust_t *trust;
    mcx_http_server_t *http;
    server_stats_t stats;
    char warn_host[128]; /* host in Warning headers */
} server_ctx_t;

/* Outcome of an authorization attempt from an mcptt-info document. */
typedef struct {
    unsigned code;                  /* SIP status to answer: 200, 400, 403, 503 */
    char reason[SERVER_REASON_MAX]; /* for the log, the Warning and the phrase */
} server_verdict_t;

/*
 * Service authorization from an mcptt-info body (TS 24.379 §7.3.2): verify
 * the token, check the CMS, and on success fill *a (impu, mcptt_id,
 * client_id, token_exp); storing is the caller's. Runs on the SIP thread.
 */
void server_authorize(server_ctx_t *ctx, const char *impu, const char *xml, size_t len,
                      server_authz_t *a, server_verdict_t *v);

/* Bind the SIP transports, call ready() (which starts the HTTP API, whose
 * /healthz is what readiness checks look at, so it must come after SIP is
 * bound), then run the SIP UAS until SIGTERM/SIGINT. A non-zero ready()
 * stops before the loop. Returns 0 or -errno. */
int server_sip_run(server_ctx_t *ctx, int (*ready)(server_ctx_t *ctx));

/* Start / stop the HTTP status API. */
int server_api_start(server_ctx_t *ctx, char *err, size_t errlen);
void server_api_stop(server_ctx_t *ctx);

/* Seconds since the epoch. */
int64_t server_now(void);

#endif /* SERVER_CONTEXT_H */

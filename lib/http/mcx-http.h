/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-http: the HTTP server every application-plane daemon (IdMS, CMS, GMS,
 * MC service server) is built on, over libmicrohttpd. The daemon sees one
 * callback per complete request (body already read, size-limited) and
 * fills in a response; /healthz and /metrics are answered here.
 */
#ifndef MCX_HTTP_H
#define MCX_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mcx-core.h"

/* A YAML `http:` map, loaded with mcx_http_conf_fields. */
typedef struct mcx_http_conf {
    char listen[64];    /* address to bind, default 127.0.0.1 */
    uint32_t port;      /* 0: pick a free port (see mcx_http_port) */
    uint32_t threads;   /* worker threads, default 4 */
    uint32_t max_body;  /* bytes; a larger request body gets 413, default 1 MiB */
    uint32_t timeout_s; /* idle connection timeout, default 30 */
} mcx_http_conf_t;

extern const mcx_conf_field_t mcx_http_conf_fields[];

/* One request, valid only during the handler call. */
typedef struct mcx_http_req {
    const char *method;  /* "GET", "PUT", ... */
    const char *path;    /* percent-decoded path, no query string */
    const char *url;     /* the request target as received (not decoded) */
    const char *body;    /* NUL-terminated copy of the body ("" if none) */
    size_t body_len;
    const char *client;  /* "ip:port" of the peer */
    void *priv;          /* lib/http's own */
} mcx_http_req_t;

/* Request header by name (case-insensitive), NULL if absent. */
const char *mcx_http_header(const mcx_http_req_t *req, const char *name);

/* Query argument (decoded) by name, NULL if absent or given without "=".
 * *count (may be NULL) receives how many times the name occurs. */
const char *mcx_http_query(const mcx_http_req_t *req, const char *name, unsigned *count);

/*
 * Field of an application/x-www-form-urlencoded body (decoded), NULL if
 * absent or if the body is not a form. *count (may be NULL) receives how
 * many times the field occurs: OAuth refuses repeated parameters.
 */
const char *mcx_http_form(const mcx_http_req_t *req, const char *name, unsigned *count);

/*
 * The token of "Authorization: Bearer <token>", NULL when the header is
 * absent or uses another scheme. The scheme is case-insensitive; exactly one
 * RFC 6750 b64token must follow (anything else, e.g. two tokens or a comma,
 * gives NULL). Borrowed: valid during the handler call.
 */
const char *mcx_http_bearer(const mcx_http_req_t *req);

/* The response being built; the handler must set a status and body. */
typedef struct mcx_http_resp mcx_http_resp_t;

/* Set status and body (copied). ctype may be NULL for an empty body. */
int mcx_http_reply(mcx_http_resp_t *resp, unsigned status, const char *ctype, const void *body,
                   size_t len);

/* As mcx_http_reply with a printf-formatted text/plain body. */
int mcx_http_replyf(mcx_http_resp_t *resp, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Add a response header (copied); may be called before or after reply. */
int mcx_http_reply_header(mcx_http_resp_t *resp, const char *name, const char *value);

/*
 * RFC 6750 refusal: status (401 or 403), WWW-Authenticate: Bearer
 * realm="<realm>", error="<error>", error_description="<desc>"[, scope="..."]
 * and the description as a text/plain body. error is "invalid_request",
 * "invalid_token" or "insufficient_scope"; a missing token gives 401 with
 * no error attribute when error is NULL.
 */
int mcx_http_reply_bearer_error(mcx_http_resp_t *resp, unsigned status, const char *realm,
                                const char *error, const char *desc, const char *scope);

typedef void (*mcx_http_handler_fn)(void *ud, const mcx_http_req_t *req, mcx_http_resp_t *resp);

/*
 * Extra Prometheus lines for /metrics: write at most `len` bytes of text
 * into buf, return the number written.
 */
typedef size_t (*mcx_http_metrics_fn)(void *ud, char *buf, size_t len);

typedef struct mcx_http_server mcx_http_server_t;

/*
 * Start serving. `name` prefixes the built-in metrics ("mcx_cms" gives
 * mcx_cms_http_requests_total{code="200"}). The handler runs on worker
 * threads, concurrently. Returns NULL with a message in err on failure.
 */
mcx_http_server_t *mcx_http_start(const mcx_http_conf_t *conf, const char *name,
                                  mcx_http_handler_fn handler, mcx_http_metrics_fn metrics,
                                  void *ud, char *err, size_t errlen);

/* The port actually bound (useful with port 0). */
unsigned mcx_http_port(const mcx_http_server_t *srv);

/* Stop accepting, finish the requests in flight, free. NULL is fine. */
void mcx_http_stop(mcx_http_server_t *srv);

#endif /* MCX_HTTP_H */

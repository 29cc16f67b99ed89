/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/http internals shared by the server (http-server.c) and the request /
 * response helpers (http-request.c): the per-request state behind
 * mcx_http_req_t.priv and the response being built.
 */
#ifndef MCX_HTTP_PRIVATE_H
#define MCX_HTTP_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;

typedef struct {
    char *name;
    char *value;
} http_pair_t;

struct mcx_http_resp {
    unsigned status;
    char *ctype;
    char *body;
    size_t len;
    http_pair_t *headers;
    unsigned n_headers;
};

typedef struct {
    struct MHD_Connection *conn;
    char *raw_url;
    bool started;
    bool refused;     /* 413 queued before the body was read */
    bool too_large;   /* body went past the limit while reading */
    size_t expect_len; /* Content-Length when announced, else 0 */
    char *body;
    size_t body_len, body_cap;
    size_t discarded;
    bool form_parsed;
    http_pair_t *form;
    unsigned n_form;
    char *bearer;
    bool bearer_done;
    struct mcx_http_resp resp;
} http_req_state_t;

/*
 * Percent-decode `len` bytes of `in` ('+' as space when plus_space) into a
 * malloc'd NUL-terminated string. Returns NULL on a bad escape, an
 * embedded NUL or no memory.
 */
char *mcx_http_decode(const char *in, size_t len, bool plus_space);

#endif

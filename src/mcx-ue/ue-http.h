/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-ue's HTTP client on libcurl, shared by the IdM, configuration and group
 * management clients (CSC-1, CSC-4, CSC-2): one blocking request at a time,
 * never following redirects, TLS peers verified against a configured CA file.
 */
#ifndef UE_HTTP_H
#define UE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define UE_HTTP_URL_MAX 2048

typedef struct {
    const char *ca_file; /* borrowed; "" or NULL = the system trust store */
    long timeout_s;
} ue_http_t;

typedef struct {
    long status;       /* HTTP status; 0 when no response arrived */
    char *body;        /* NUL-terminated, owned; free with ue_http_resp_free */
    size_t body_len;
    char location[UE_HTTP_URL_MAX];
    char etag[256];
    char www_authenticate[512];
    char content_type[160];
    char err[512]; /* why no response arrived (TLS verification, refused, ...) */
    bool tls_error;
} ue_http_resp_t;

/* One libcurl easy handle per process; call once before the first request. */
int ue_http_global_init(void);
void ue_http_global_final(void);

/*
 * Send `method` to `url` with the NULL-terminated `headers` ("Name: value",
 * borrowed) and `body` (may be NULL). Fills *resp (caller zeroes it first).
 * Returns 0 when a response arrived (any status), -EIO with resp->err set
 * when none did (TLS verification failure sets resp->tls_error).
 */
int ue_http_request(const ue_http_t *h, const char *method, const char *url,
                    const char *const *headers, const char *body, size_t body_len,
                    ue_http_resp_t *resp);

void ue_http_resp_free(ue_http_resp_t *resp);

/* Percent-encode `in` for a form or query value into `out`. Returns 0 or -ENOSPC. */
int ue_http_escape(const char *in, char *out, size_t outlen);

/* Percent-decode `in` (`len` bytes, '+' as space when `form`) into out. 0 or -ENOSPC. */
int ue_http_unescape(const char *in, size_t len, bool form, char *out, size_t outlen);

/*
 * Find parameter `name` in a query string "a=1&b=2" (no leading '?') and
 * decode its value into out. Returns 0, -ENOENT, or -ENOSPC.
 */
int ue_http_query_param(const char *query, const char *name, char *out, size_t outlen);


/* The printed ladder: one line to `out` (stdout), flushed. */
void ue_say(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A refused step: "FAILED <line>" to `out` and "mcx-ue: <line>" to stderr. */
void ue_fail(FILE *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* UE_HTTP_H */

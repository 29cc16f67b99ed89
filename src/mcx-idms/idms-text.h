/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Text helpers of mcx-idms: a growing string buffer, HTML and URL escaping,
 * base64url, the checks OAuth puts on parameter syntax, and counting a
 * query parameter in a raw request target. Pure functions, unit-tested.
 */
#ifndef IDMS_TEXT_H
#define IDMS_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *s; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
    bool oom; /* an append failed; s holds what fitted */
} idms_buf_t;

void idms_buf_puts(idms_buf_t *b, const char *s);
void idms_buf_printf(idms_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* HTML text and attribute escaping: & < > " ' */
void idms_buf_html(idms_buf_t *b, const char *s);
/* Percent-encode everything except RFC 3986 unreserved characters. */
void idms_buf_urlenc(idms_buf_t *b, const char *s);
void idms_buf_free(idms_buf_t *b);

/* base64url without padding of len bytes into out (>= 4*ceil(len/3)+1). */
void idms_b64url(const uint8_t *in, size_t len, char *out);

/* RFC 7636 §4.1/§4.2: 43..128 characters of [A-Za-z0-9-._~]. */
bool idms_pkce_syntax_ok(const char *s);

/* Printable ASCII, no control characters, shorter than max. */
bool idms_param_ok(const char *s, size_t max);

/* A copy of s safe for one log line (non-printables as '?', at most 64 chars). */
void idms_log_safe(const char *s, char *out, size_t outlen);

/* Space-separated list helpers. */
bool idms_scope_has(const char *list, const char *scope, size_t scope_len);
/* out = tokens of `req` also in `allowed`, in request order, without duplicates. */
void idms_scope_intersect(const char *req, const char *allowed, char *out, size_t outlen);
/* Is every token of `sub` in `list`? */
bool idms_scope_subset(const char *sub, const char *list);

#endif /* IDMS_TEXT_H */

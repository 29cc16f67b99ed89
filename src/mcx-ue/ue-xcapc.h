/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-ue's XCAP fetch (RFC 4825) for the configuration and group management
 * clients: GET with the Bearer access token, a local copy per document with
 * its ETag, If-None-Match on the next run and 304 answered from the copy
 * (TS 23.280 10.1.1.2 NOTE 1: configuration is kept and re-used).
 */
#ifndef UE_XCAPC_H
#define UE_XCAPC_H

#include <stdbool.h>
#include <stdio.h>

#include "ue-http.h"

typedef struct {
    const ue_http_t *http; /* borrowed */
    FILE *out;
    const char *label;     /* "CSC-4 CMC -> CMS" */
    const char *root;      /* XCAP root URL, no trailing slash */
    const char *token;     /* access token (borrowed) */
    const char *cache_dir; /* "" / NULL = keep nothing */
} ue_xcapc_t;

typedef struct {
    char *body; /* owned: free() */
    size_t len;
    long status;     /* 200, or 304 when the local copy was used */
    char etag[256];
} ue_xcapc_doc_t;

/*
 * GET <root>/<rel>. Returns 0 with *doc filled (200, or 304 + the kept copy);
 * -ENOENT for 404 when `optional` (printed as skipped); -EACCES for anything
 * else (printed as a refused step naming `what`).
 */
int ue_xcapc_get(const ue_xcapc_t *x, const char *rel, const char *what, bool optional,
                 ue_xcapc_doc_t *doc);

/* Percent-encode a URI for one XCAP path segment (':' and '@' stay). 0 or -ENOSPC. */
int ue_xcapc_segment(const char *in, char *out, size_t outlen);

#endif /* UE_XCAPC_H */

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * What the files of lib/xcap share: the store handle (one SQLite connection
 * behind one mutex), the AUID registry and the counters behind /metrics.
 * Not installed; daemons use mcx-xcap.h only.
 */
#ifndef XCAP_INTERNAL_H
#define XCAP_INTERNAL_H

#include <libxml/xmlschemas.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "mcx-xcap.h"

#define XCAP_MAX_AUIDS 32

/* Refusal reasons counted in /metrics; keep xcap_reason_names in step. */
typedef enum {
    XCAP_R_AUTH = 0,     /* 401 */
    XCAP_R_SCOPE,        /* 403 insufficient_scope */
    XCAP_R_FORBIDDEN,    /* 403 XUI / access */
    XCAP_R_URI,          /* 400 / 404 / 414 / 501 on the URI */
    XCAP_R_METHOD,       /* 405 */
    XCAP_R_NOT_FOUND,    /* 404 document */
    XCAP_R_MIME,         /* 415 */
    XCAP_R_TOO_LARGE,    /* 413 */
    XCAP_R_NOT_WELL_FORMED,
    XCAP_R_SCHEMA,
    XCAP_R_CONSTRAINT,
    XCAP_R_PRECONDITION, /* 412 */
    XCAP_R_INTERNAL,     /* 500 */
    XCAP_R_COUNT
} xcap_reason_t;

extern const char *const xcap_reason_names[XCAP_R_COUNT];

typedef struct xcap_usage {
    const mcx_xcap_auid_t *au;
    xmlSchemaPtr schema; /* NULL when no xsd_path */
} xcap_usage_t;

struct mcx_xcap {
    sqlite3 *db;
    sqlite3_stmt *st_load; /* the document read, prepared once; used under `lock` */
    pthread_mutex_t lock; /* serialises every store operation and the schemas */
    char xcap_root[512];
    char realm[128];
    char prefix[64];
    const mcx_jose_trust_t *trust;
    char audience[256];
    char scope[256];
    unsigned leeway_s;
    size_t max_doc;
    xcap_usage_t usages[XCAP_MAX_AUIDS];
    unsigned n_usages;
    atomic_ulong served;  /* 200 on GET */
    atomic_ulong not_modified;
    atomic_ulong stored;  /* 200/201 on PUT */
    atomic_ulong deleted;
    atomic_ulong refused[XCAP_R_COUNT];
};

const xcap_usage_t *xcap_usage(const mcx_xcap_t *x, const char *auid);
bool xcap_builtin(const char *auid);

/* xcap-validate.c: parse + check; *out (may be NULL) receives the document. */
int xcap_validate_doc(mcx_xcap_t *x, const xcap_usage_t *u, const mcx_xcap_loc_t *loc,
                      const char *body, size_t len, xmlDocPtr *out, mcx_xcap_result_t *res);

void xcap_result_set(mcx_xcap_result_t *res, unsigned status, mcx_xcap_err_t err,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* xcap-store.c: does an If-Match / If-None-Match list match etag (NULL: no doc)? */
bool xcap_etag_list_matches(const char *list, const char *etag);

/* Store put with an access hook inside the transaction (HTTP path). */
typedef int (*xcap_put_hook_fn)(void *ud, bool exists, const char *content, size_t len,
                                const char *creator);
int xcap_store_put(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, const char *mime,
                   const char *body, size_t len, const char *if_match,
                   const char *if_none_match, const char *creator, xcap_put_hook_fn hook,
                   void *hook_ud, char *etag_out, bool *created, mcx_xcap_result_t *res);
int xcap_store_delete(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, const char *if_match,
                      xcap_put_hook_fn hook, void *hook_ud, mcx_xcap_result_t *res);
/* Fetch including creator (malloc'd, may be NULL out). */
int xcap_store_get(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, char **body, size_t *len,
                   char *etag_out, char *mime_out, size_t mime_len, char **creator);

#endif /* XCAP_INTERNAL_H */

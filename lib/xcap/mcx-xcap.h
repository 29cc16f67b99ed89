/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-xcap: the XCAP server core (RFC 4825) shared by mcx-cms and mcx-gms,
 * and the provisioning API mcxctl uses on the same store. A daemon opens
 * one store, registers its application usages (AUIDs) and passes every
 * HTTP request to mcx_xcap_handle(); bearer tokens, XCAP URIs, ETags and
 * preconditions, validation and the xcap-directory / xcap-caps AUIDs are
 * handled here. Behaviour table and status codes: docs/xcap.md.
 */
#ifndef MCX_XCAP_H
#define MCX_XCAP_H

#include <jansson.h>
#include <libxml/tree.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mcx-core.h"
#include "http/mcx-http.h"
#include "jose/mcx-jose.h"

/* Limits (bytes, including the NUL). Longer names are refused. */
#define MCX_XCAP_AUID_MAX 128
#define MCX_XCAP_XUI_MAX 256
#define MCX_XCAP_DOC_MAX 512
#define MCX_XCAP_PATH_MAX 1024 /* whole request path relative to the XCAP root */
#define MCX_XCAP_ETAG_MAX 48   /* quoted, e.g. "\"3f2a...\"" */
#define MCX_XCAP_PHRASE_MAX 256

/* Built-in AUIDs served by every mcx_xcap_t. */
#define MCX_XCAP_AUID_DIRECTORY "org.openmobilealliance.xcap-directory"
#define MCX_XCAP_AUID_CAPS "xcap-caps"

typedef struct mcx_xcap mcx_xcap_t;

typedef enum {
    MCX_XCAP_USERS = 0, /* /<auid>/users/<XUI>/<doc> */
    MCX_XCAP_GLOBAL = 1 /* /<auid>/global/<doc> */
} mcx_xcap_tree_t;

typedef enum {
    MCX_XCAP_OP_GET = 0,
    MCX_XCAP_OP_PUT = 1,
    MCX_XCAP_OP_DELETE = 2
} mcx_xcap_op_t;

/* Where a document lives. xui is "" in the global tree. */
typedef struct mcx_xcap_loc {
    char auid[MCX_XCAP_AUID_MAX];
    mcx_xcap_tree_t tree;
    char xui[MCX_XCAP_XUI_MAX];
    char doc[MCX_XCAP_DOC_MAX]; /* may contain '/', e.g. byGroupID/sip:g1@alpha.test */
} mcx_xcap_loc_t;

/* Why a document or request was refused (the body of a 409 and mcxctl's message). */
typedef enum {
    MCX_XCAP_ERR_NONE = 0,
    MCX_XCAP_ERR_NOT_WELL_FORMED,  /* 409 <not-well-formed/> (also: DOCTYPE present) */
    MCX_XCAP_ERR_SCHEMA,           /* 409 <schema-validation-error/> (root, namespace, XSD) */
    MCX_XCAP_ERR_CONSTRAINT,       /* 409 <constraint-failure phrase="..."/> */
    MCX_XCAP_ERR_MIME,             /* 415 wrong Content-Type */
    MCX_XCAP_ERR_PRECONDITION,     /* 412 If-Match / If-None-Match failed */
    MCX_XCAP_ERR_NOT_FOUND,        /* 404 */
    MCX_XCAP_ERR_FORBIDDEN,        /* 403 */
    MCX_XCAP_ERR_INTERNAL          /* 500 (store failure) */
} mcx_xcap_err_t;

/* Outcome of a provisioning call or a validation. */
typedef struct mcx_xcap_result {
    unsigned status;                  /* the HTTP status the daemon would answer */
    mcx_xcap_err_t err;
    char phrase[MCX_XCAP_PHRASE_MAX]; /* human-readable reason, "" when none */
} mcx_xcap_result_t;

/* The authenticated caller (from the access token), borrowed during a callback. */
typedef struct mcx_xcap_caller {
    const char *mcptt_id;  /* token claim mcptt_id, NULL if absent */
    const char *sub;       /* token claim sub */
    const char *scope;     /* token claim scope (space-separated) */
    const json_t *claims;  /* the whole payload, borrowed */
} mcx_xcap_caller_t;

/* What the access callback is asked. All pointers borrowed for the call. */
typedef struct mcx_xcap_access {
    mcx_xcap_op_t op;
    const mcx_xcap_loc_t *loc;
    const mcx_xcap_caller_t *caller;
    bool exists;           /* the document is stored now */
    const char *content;   /* stored document (NUL-terminated) when exists, else NULL */
    size_t content_len;
    const char *creator;   /* caller mcptt_id recorded at the first PUT ("" if provisioned) */
} mcx_xcap_access_t;

/*
 * May this caller do this? Return 0 to allow, -EACCES to refuse with 403.
 * Called with the store locked, inside the same transaction as the write:
 * keep it short and never call back into mcx_xcap_*. For a PUT it runs
 * after the new document has been validated.
 */
typedef int (*mcx_xcap_access_fn)(void *ud, const mcx_xcap_access_t *a);

/*
 * Semantic validation of a well-formed document whose root element and
 * namespace already matched. Return 0 when acceptable; otherwise
 * MCX_XCAP_ERR_CONSTRAINT (or MCX_XCAP_ERR_SCHEMA) with a short reason in
 * phrase (e.g. "list-service uri differs from the document URI").
 */
typedef mcx_xcap_err_t (*mcx_xcap_validate_fn)(void *ud, xmlDocPtr doc,
                                               const mcx_xcap_loc_t *loc, char *phrase,
                                               size_t phrase_len);

/* Told after a document changed (etag NULL: deleted). Called outside the lock. */
typedef void (*mcx_xcap_changed_fn)(void *ud, const mcx_xcap_loc_t *loc, const char *etag);

/* One application usage. The struct and its strings must outlive the mcx_xcap_t. */
typedef struct mcx_xcap_auid {
    const char *auid;        /* "org.openmobilealliance.groups" */
    const char *mime;        /* "application/vnd.oma.poc.groups+xml" */
    const char *root_name;   /* root element local name, "group" */
    const char *root_ns;     /* its namespace, "urn:oma:xml:poc:list-service" */
    const char *default_ns;  /* xcap-caps <namespace>, usually = root_ns */
    bool users_tree;         /* /<auid>/users/<XUI>/... exists */
    bool global_tree;        /* /<auid>/global/... exists */
    const char *xsd_path;    /* XSD file checked with xmlSchemaValidateDoc, NULL: none */
    const char *scope;       /* required token scope; NULL: the mcx_xcap_conf_t scope */
    mcx_xcap_validate_fn validate; /* NULL: none */
    /*
     * NULL gives the default policy: users tree -> GET/PUT/DELETE only on the
     * caller's own XUI (token mcptt_id); global tree -> GET for any caller,
     * PUT/DELETE refused (403) over HTTP.
     */
    mcx_xcap_access_fn access;
    mcx_xcap_changed_fn changed; /* NULL: none */
    void *ud;                    /* passed to validate / access / changed */
} mcx_xcap_auid_t;

/* Opening a store. Strings borrowed for the lifetime of the mcx_xcap_t. */
typedef struct mcx_xcap_conf {
    const char *db_path;     /* SQLite file (created, WAL); required */
    const char *xcap_root;   /* public URL of the XCAP root, no trailing '/'
                                (used in xcap-directory entry URIs); may be NULL */
    const char *realm;       /* WWW-Authenticate realm; NULL: "mcxcore" */
    const char *metrics_prefix; /* "mcx_gms" gives mcx_gms_xcap_...; NULL: "mcx_xcap" */
    /* HTTP side only (ignored by the provisioning API): */
    const mcx_jose_trust_t *trust; /* borrowed; NULL: every HTTP request gets 401 */
    const char *audience;    /* required aud element */
    const char *scope;       /* default required scope */
    unsigned leeway_s;
    size_t max_doc;          /* largest document accepted (bytes), 0: 1 MiB */
} mcx_xcap_conf_t;

/*
 * Open (create) the store. *out is freed with mcx_xcap_close. Returns 0 or
 * -errno with a message in err. Thread-safe afterwards: every call takes
 * the store's lock.
 */
int mcx_xcap_open(const mcx_xcap_conf_t *conf, mcx_xcap_t **out, char *err, size_t errlen);
void mcx_xcap_close(mcx_xcap_t *x); /* NULL is fine */

/*
 * Register an application usage (borrowed, must outlive x). Call before
 * serving. -EEXIST for a duplicate AUID, -EINVAL for a bad description or
 * an XSD that does not load (message in err).
 */
int mcx_xcap_register(mcx_xcap_t *x, const mcx_xcap_auid_t *au, char *err, size_t errlen);

/* The registered usage of `auid`, NULL if unknown (built-ins included). */
const mcx_xcap_auid_t *mcx_xcap_find(const mcx_xcap_t *x, const char *auid);

/* ---- HTTP --------------------------------------------------------------- */

/*
 * Answer one request whose path is relative to the XCAP root (the daemon
 * strips nothing: nginx already removed /gms or /cms). Does: bearer token
 * (401/403 per RFC 6750), URI parsing (400/404/414/501), XUI == mcptt_id in
 * the users tree (403), access callback (403), method (405 + Allow),
 * GET/PUT/DELETE with ETag, If-Match, If-None-Match (304/412),
 * Content-Type (415), validation (409 application/xcap-error+xml).
 * Safe on lib/http's worker threads.
 */
void mcx_xcap_handle(mcx_xcap_t *x, const mcx_http_req_t *req, mcx_http_resp_t *resp);

/* Prometheus lines (documents served / stored / refused by reason). */
size_t mcx_xcap_metrics(mcx_xcap_t *x, char *buf, size_t len);

/*
 * Parse a request target relative to the XCAP root (raw, percent-encoded,
 * a query string is ignored) into loc. Segments are percent-decoded one by
 * one. Returns 0, or the HTTP status to answer with a reason in why:
 * 400 (empty segment, '.', '..', control character, bad %-escape, encoded
 * '/'), 404 (unknown AUID, tree the AUID does not have, no document name),
 * 414 (over-long), 501 (node selector "~~": not supported). Knows only
 * registered AUIDs when x is not NULL; with x NULL any AUID is accepted.
 */
unsigned mcx_xcap_parse_uri(const mcx_xcap_t *x, const char *target, mcx_xcap_loc_t *loc,
                            char *why, size_t whylen);

/* ---- provisioning API (mcxctl, mcx up; no token, no access callback) ---- */

/*
 * Validate `body` as a document of loc->auid exactly as a PUT would
 * (well-formed, no DOCTYPE, root + namespace, XSD, validator). Returns 0 or
 * -EINVAL with res filled. Unknown AUID: -ENOENT.
 */
int mcx_xcap_validate(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, const char *body, size_t len,
                      mcx_xcap_result_t *res);

/*
 * Store a document after validation, in one transaction with the
 * preconditions. if_match / if_none_match are header values ("*" or quoted
 * ETags, comma lists) or NULL. creator (may be NULL) is recorded on create.
 * etag_out (>= MCX_XCAP_ETAG_MAX, may be NULL) receives the new ETag and
 * *created (may be NULL) whether the document is new. Returns 0, or -EINVAL
 * (validation), -EBUSY (precondition: 412), -ENOENT (unknown AUID / tree),
 * -EIO; res (may be NULL) says why.
 */
int mcx_xcap_put(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, const char *body, size_t len,
                 const char *if_match, const char *if_none_match, const char *creator,
                 char *etag_out, bool *created, mcx_xcap_result_t *res);

/*
 * Fetch a document: *body malloc'd, NUL-terminated (caller frees), *len,
 * etag_out (>= MCX_XCAP_ETAG_MAX) and mime_out (may be NULL, >= 128).
 * Returns 0, -ENOENT, -EIO.
 */
int mcx_xcap_get(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, char **body, size_t *len,
                 char *etag_out, char *mime_out, size_t mime_len);

/* Delete, with an optional If-Match. Returns 0, -ENOENT, -EBUSY (412), -EIO. */
int mcx_xcap_delete(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, const char *if_match,
                    mcx_xcap_result_t *res);

/* One stored document as listed. Borrowed during the callback. */
typedef struct mcx_xcap_entry {
    const mcx_xcap_loc_t *loc;
    const char *etag;
    const char *mime;
    size_t size;
    int64_t updated; /* seconds since the epoch */
} mcx_xcap_entry_t;

/*
 * Call fn for each stored document, filtered by auid and/or xui (NULL: any;
 * xui "" lists only the global tree), ordered by auid, tree, xui, doc. fn
 * returning non-zero stops the walk. Returns 0 or -EIO.
 */
int mcx_xcap_list(mcx_xcap_t *x, const char *auid, const char *xui,
                  int (*fn)(void *ud, const mcx_xcap_entry_t *e), void *ud);

/* Fill loc from parts (copies with length checks). -ENAMETOOLONG / -EINVAL. */
int mcx_xcap_loc_set(mcx_xcap_loc_t *loc, const char *auid, mcx_xcap_tree_t tree,
                     const char *xui, const char *doc);

/*
 * ---- AUID registration functions of the daemons (for mcxctl) -----------
 * mcxctl links these files directly and calls them with ud = NULL (default
 * policy: the provisioning API ignores access anyway). Each file depends
 * only on lib/xcap, lib/core and libxml2.
 *   src/mcx-gms/gms-auid.c:  int gms_xcap_register(mcx_xcap_t *x, void *ud, char *err, size_t errlen);
 *   src/mcx-cms/cms-auids.c: int cms_xcap_register(mcx_xcap_t *x, void *ud, char *err, size_t errlen);
 * (prototypes in gms-auid.h / cms-auids.h next to them; return 0 or -errno)
 */

#endif /* MCX_XCAP_H */

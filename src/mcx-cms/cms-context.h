/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-cms's configuration (YAML table) and the state of a running CMS:
 * the XCAP store, the trust set and the lock that makes the cross-document
 * checks and the write they guard one critical section.
 */
#ifndef CMS_CONTEXT_H
#define CMS_CONTEXT_H

#include <pthread.h>
#include <stdatomic.h>

#include "cms-auids.h"
#include "http/mcx-http.h"
#include "jose/mcx-jose.h"

typedef struct cms_options {
    char xcap_root[256];            /* public URL, e.g. https://127.0.0.1:8443/cms */
    char realm[64];                 /* WWW-Authenticate realm */
    uint32_t max_profiles_per_user; /* user profiles per user */
    uint32_t max_doc;               /* largest document (bytes) */
} cms_options_t;

typedef struct cms_store_conf {
    char path[4096];
} cms_store_conf_t;

typedef struct cms_config {
    mcx_http_conf_t http;
    int log_level;
    cms_store_conf_t store;
    mcx_jose_auth_conf_t auth;
    cms_options_t cms;
} cms_config_t;

extern const mcx_conf_field_t cms_conf_table[];

/* Load and check `path` into cfg (zeroed by the caller). 0 or -errno + err. */
int cms_config_load(const char *path, cms_config_t *cfg, char *err, size_t errlen);

typedef struct cms_context {
    const cms_config_t *cfg;
    mcx_xcap_t *xcap;
    mcx_jose_trust_t *trust;
    cms_xcap_opts_t opts;
    pthread_mutex_t write_lock; /* cross-document check + write */
    atomic_ulong refused_constraint;
} cms_context_t;

/* The lib/http handler and metrics callback (ud = cms_context_t). */
void cms_http_handle(void *ud, const mcx_http_req_t *req, mcx_http_resp_t *resp);
size_t cms_http_metrics(void *ud, char *buf, size_t len);

#endif /* CMS_CONTEXT_H */

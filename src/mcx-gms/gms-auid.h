/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The group documents of TS 24.481 as an XCAP application usage of
 * lib/xcap: AUID, MIME type, validation and the GMS access policy. Linked
 * by mcx-gms and by mcxctl (which registers it with policy NULL).
 */
#ifndef GMS_AUID_H
#define GMS_AUID_H

#include <stdbool.h>

#include "xcap/mcx-xcap.h"

#define GMS_AUID "org.openmobilealliance.groups"
#define GMS_MIME "application/vnd.oma.poc.groups+xml"
#define GMS_NS "urn:oma:xml:poc:list-service"
#define GMS_DOC_PREFIX "byGroupID/"
#define GMS_MAX_ADMINS 16
#define GMS_URI_MAX 256

/* Who may do what (docs/gms.md "Access"). Borrowed by the registered usage. */
typedef struct gms_policy {
    char administrators[GMS_MAX_ADMINS][GMS_URI_MAX]; /* MC service IDs */
    unsigned n_admins;
    unsigned max_members;   /* 0: no limit */
    bool allow_user_create; /* any authenticated user may create a group (and owns it) */
} gms_policy_t;

/*
 * Register the groups AUID on x. policy (borrowed, may be NULL: no
 * administrators, no member limit, nobody creates over HTTP) must outlive
 * x. One registration per process (the usage description is static).
 * Returns 0 or -errno with a message in err.
 */
int gms_xcap_register(mcx_xcap_t *x, void *policy, char *err, size_t errlen);

/* The validator and the access decision, exposed for unit tests. */
mcx_xcap_err_t gms_validate(void *ud, xmlDocPtr doc, const mcx_xcap_loc_t *loc, char *phrase,
                            size_t phrase_len);
int gms_access(void *ud, const mcx_xcap_access_t *a);

#endif /* GMS_AUID_H */

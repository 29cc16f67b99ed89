/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The CMS application usages (TS 24.484 documents and mcxcore's functional
 * aliases) for lib/xcap: registration with their validators, the checks
 * that look at other stored documents, and the functional alias status
 * document. mcx-cms and mcxctl use the same code (cms-auids.c, cms-xsd.c).
 */
#ifndef CMS_AUIDS_H
#define CMS_AUIDS_H

#include <stdbool.h>
#include <stddef.h>

#include "xcap/mcx-xcap.h"

#define CMS_AUID_USER_PROFILE "org.3gpp.mcptt.user-profile"
#define CMS_AUID_UE_CONFIG "org.3gpp.mcptt.ue-config"
#define CMS_AUID_UE_INIT_CONFIG "org.3gpp.mcptt.ue-init-config"
#define CMS_AUID_SERVICE_CONFIG "org.3gpp.mcptt.service-config"
#define CMS_AUID_FUNCTIONAL_ALIAS "org.mcxcore.functional-alias"

#define CMS_NS_USER_PROFILE "urn:3gpp:mcptt:user-profile:1.0"
#define CMS_NS_UE_CONFIG "urn:3gpp:mcptt:mcpttUEConfig:1.0"
#define CMS_NS_UE_INIT_CONFIG "urn:3gpp:mcptt:mcpttUEinitConfig:1.0"
#define CMS_NS_SERVICE_CONFIG "urn:3gpp:ns:mcpttServiceConfig:1.0"
#define CMS_NS_FUNCTIONAL_ALIAS "urn:mcxcore:params:xml:ns:functional-alias"

#define CMS_MIME_USER_PROFILE "application/vnd.3gpp.mcptt-user-profile+xml"
#define CMS_MIME_FUNCTIONAL_ALIAS "application/vnd.mcxcore.functional-alias+xml"

/* Functional alias document names (docs/cms.md). */
#define CMS_FA_DEFINITIONS "definitions.xml" /* global, operator */
#define CMS_FA_ACTIVATION "activation.xml"   /* users/<XUI>, the user */
#define CMS_FA_STATUS "status.xml"           /* global, written by mcx-cms */

#define CMS_DEFAULT_MAX_PROFILES 8
#define CMS_MAX_PROFILE_INDEX 255

/* What the registration is told; NULL ud means the defaults above. */
typedef struct cms_xcap_opts {
    unsigned max_profiles_per_user; /* 1..CMS_MAX_PROFILE_INDEX+1 */
} cms_xcap_opts_t;

/*
 * Register the five CMS AUIDs with x. ud is a cms_xcap_opts_t (borrowed,
 * must outlive x) or NULL. The AUID descriptions live in static storage:
 * one registered store per process. Returns 0 or -errno (message in err).
 */
int cms_xcap_register(mcx_xcap_t *x, void *ud, char *err, size_t errlen);

/*
 * The checks of a PUT that depend on other stored documents, run after the
 * document itself validated (mcx_xcap_validate):
 *   user profile: at most max_profiles_per_user documents per user, and
 *     <Pre-selected-indication> in at most one of them;
 *   functional alias activation: every alias defined, the user allowed to
 *     activate it, and its holder limit not reached by other users.
 * The caller serialises writes (check + put must be one critical section).
 * opts NULL: defaults. Returns 0, -EINVAL with res (409 constraint-failure
 * and a phrase naming the offending item), -EIO (store).
 */
int cms_xcap_check_put(mcx_xcap_t *x, const cms_xcap_opts_t *opts, const mcx_xcap_loc_t *loc,
                       const char *body, size_t len, mcx_xcap_result_t *res);

/*
 * Rewrite global/status.xml of the functional alias AUID from the
 * definitions and every user's activation (only when it changed). Call
 * under the same serialisation as cms_xcap_check_put. Returns 0 or -errno.
 */
int cms_alias_status_rebuild(mcx_xcap_t *x, char *err, size_t errlen);

/* The checking schemas (cms-xsd.c, generated from configs/cms/ *.xsd). */
extern const char cms_xsd_user_profile[];
extern const char cms_xsd_ue_config[];
extern const char cms_xsd_ue_init_config[];
extern const char cms_xsd_service_config[];
extern const char cms_xsd_functional_alias[];

#endif /* CMS_AUIDS_H */

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-ue's configuration management client (CSC-4, TS 24.484): the user's
 * XCAP directory, user profiles, UE configuration and service configuration
 * from the CMS, kept with their ETags; the groups named in the profiles.
 */
#ifndef UE_CMC_H
#define UE_CMC_H

#include <stdio.h>

#include "ue-config.h"
#include "ue-http.h"

#define UE_GROUPS_MAX 64

typedef struct {
    const ue_mc_conf_t *mc; /* borrowed */
    ue_http_t http;
    FILE *out;
    const char *token; /* borrowed access token */
    char xui[UE_ID_MAX];

    unsigned n_profiles;
    char groups[UE_GROUPS_MAX][UE_ID_MAX]; /* union over the profiles, in order */
    unsigned n_groups;
} ue_cmc_t;

/* Prepare *cmc for the user `xui` (the MC service ID). No I/O. */
void ue_cmc_init(ue_cmc_t *cmc, const ue_mc_conf_t *mc, FILE *out, const char *token,
                 const char *xui);

/* Fetch everything (printed). 0, or -EACCES on a refused step (printed). */
int ue_cmc_run(ue_cmc_t *cmc);

/*
 * The group URIs a user profile document names (the one place that knows
 * the element path; docs/cms.md). Appends to groups[] up to `cap`, skipping
 * duplicates; *n is updated. Returns the number found, or -EINVAL when the
 * document is not well-formed.
 */
int ue_cmc_profile_groups(const char *xml, size_t len, char (*groups)[UE_ID_MAX], unsigned cap,
                          unsigned *n);

#endif /* UE_CMC_H */

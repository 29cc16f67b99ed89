/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-ue's group management client (CSC-2, TS 24.481): the group documents
 * of the groups named in the user profiles, from the GMS, kept with ETags.
 */
#ifndef UE_GMC_H
#define UE_GMC_H

#include <stdio.h>

#include "ue-cmc.h"
#include "ue-config.h"

/*
 * GET every group in groups[0..n) (printed: display name, member count).
 * 0, or -EACCES on a refused step (printed). A 404 is reported, not fatal.
 */
int ue_gmc_run(const ue_mc_conf_t *mc, FILE *out, const char *token,
               const char (*groups)[UE_ID_MAX], unsigned n);

/*
 * Display name and member count of a group document (root <group> in
 * urn:oma:xml:poc:list-service, <list-service uri=...><display-name>,
 * <list><entry uri=...>). Returns 0 or -EINVAL when not a group document.
 */
int ue_gmc_parse_group(const char *xml, size_t len, char *uri, size_t urilen, char *name,
                       size_t namelen, unsigned *members);

#endif /* UE_GMC_H */

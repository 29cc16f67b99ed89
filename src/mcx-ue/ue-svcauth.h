/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-ue's service authorization (TS 24.379 7.2.1 / 7.3.1 option b): after
 * the registration, a PUBLISH (Event: poc-settings) to the MC service server
 * PSI carrying the access token in mcptt-info; refreshed with SIP-If-Match,
 * re-published when the token is refreshed, removed before de-registering.
 * Runs on libre's loop as hooks of the registration (ue-reg.h).
 */
#ifndef UE_SVCAUTH_H
#define UE_SVCAUTH_H

#include <stdbool.h>
#include <stdio.h>

#include "ue-config.h"
#include "ue-idm.h"
#include "ue-reg.h"

/*
 * Fill *hooks so that ue_reg_run() carries the service authorization. cfg
 * and idm are borrowed for the run (the idm's access token is read at each
 * PUBLISH and refreshed before it expires). `once`: no refresh timers.
 */
void ue_svcauth_setup(ue_reg_hooks_t *hooks, const ue_config_t *cfg, ue_idm_t *idm, FILE *out,
                      bool once);

/* The multipart/mixed body (mcptt-info + poc-settings). Returns its length or -ENOSPC. */
int ue_svcauth_body(char *out, size_t outlen, const char *boundary, const char *token,
                    const char *client_id, const char *entity);

#endif /* UE_SVCAUTH_H */

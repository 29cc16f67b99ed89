/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-ue's registration state machine on libre: REGISTER, answer 401
 * challenges (IMS AKA or SIP Digest), refresh at half the granted expiry,
 * de-register on request or on SIGTERM/SIGINT. Single-threaded: everything
 * runs in libre's main loop; signals arrive through a signalfd.
 */
#ifndef UE_REG_H
#define UE_REG_H

#include <stdbool.h>
#include <stdio.h>

#include "ue-config.h"
#include "ue-isim.h"

/* Process exit statuses. */
#define UE_EXIT_OK 0
#define UE_EXIT_REFUSED 1 /* refused, timed out, lost */
#define UE_EXIT_USAGE 2

typedef struct {
    bool once; /* register, print, de-register, exit */
    FILE *out; /* the readable ladder (stdout) */
} ue_reg_opts_t;

/*
 * Run the UE until done: with `once`, until the de-registration is answered;
 * otherwise until SIGTERM/SIGINT and the de-registration that follows, or a
 * fatal refusal. `isim` may be NULL when the UE has no AKA keys. Both
 * pointers are borrowed. Signals SIGINT, SIGTERM, SIGHUP must already be
 * blocked (mcx_signals_block). Returns a UE_EXIT_* status.
 */
int ue_reg_run(const ue_config_t *cfg, ue_isim_t *isim, const ue_reg_opts_t *opts);

#endif /* UE_REG_H */

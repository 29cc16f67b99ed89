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

struct sip;
struct uri;
typedef struct ue_reg_s ue_reg_t;

/*
 * Hooks for what rides on the registration (service authorization). All run
 * on libre's loop; every pointer they receive is borrowed for the run.
 */
typedef struct {
    void *arg;
    /* After each 2xx to a REGISTER with a non-zero expiry (refresh: not the
     * first). next_hop: where requests go (the SIP core entry point);
     * service_route: the Service-Route values, comma-separated ("" if none). */
    void (*registered)(void *arg, ue_reg_t *reg, struct sip *sip, const struct uri *next_hop,
                       const char *service_route, bool refresh);
    /* Before de-registering (--once, SIGTERM/SIGINT). Return true to hold the
     * de-registration until the hook calls ue_reg_deregister(). */
    bool (*before_dereg)(void *arg, ue_reg_t *reg);
    /* The run is ending (de-registered, refused or lost): stop timers and
     * drop requests now, libre closes after this. */
    void (*stopped)(void *arg);
} ue_reg_hooks_t;

typedef struct {
    bool once; /* register, print, de-register, exit */
    FILE *out; /* the readable ladder (stdout) */
    const ue_reg_hooks_t *hooks; /* NULL = none */
} ue_reg_opts_t;

/*
 * De-register now; the run then ends with the worst of the exit statuses
 * asked for (a hook passes UE_EXIT_REFUSED after a refused step it printed).
 * From a hook only.
 */
void ue_reg_deregister(ue_reg_t *reg, int exit_code);

/*
 * Run the UE until done: with `once`, until the de-registration is answered;
 * otherwise until SIGTERM/SIGINT and the de-registration that follows, or a
 * fatal refusal. `isim` may be NULL when the UE has no AKA keys. Both
 * pointers are borrowed. Signals SIGINT, SIGTERM, SIGHUP must already be
 * blocked (mcx_signals_block). Returns a UE_EXIT_* status.
 */
int ue_reg_run(const ue_config_t *cfg, ue_isim_t *isim, const ue_reg_opts_t *opts);

#endif /* UE_REG_H */

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-dproxy routing glue: the freeDiameter extensions it loads (rt_default
 * with rendered rules, rt_load_balance) and the two callbacks it registers
 * for what the stock extensions cannot do (application / Public-Identity
 * routes, strict routing, 3003 DIAMETER_REALM_NOT_SERVED).
 */
#ifndef DPROXY_ROUTE_H
#define DPROXY_ROUTE_H

#include "dproxy-context.h"

/*
 * Fill cfg->diameter.relay and cfg->diameter.ext[] from the dproxy options.
 * Call before mcx_diam_init(). The conf texts are owned by cfg; release them
 * with dproxy_route_ext_free(). Returns 0 or -errno.
 */
int dproxy_route_ext_prepare(dproxy_config_t *cfg);
void dproxy_route_ext_free(dproxy_config_t *cfg);

/*
 * Register the OUT and FWD callbacks and advertise the configured
 * applications. `opt` is borrowed and must outlive dproxy_route_final().
 * Call after mcx_diam_init() and mcx_cx_dict_init(), before mcx_diam_start().
 * The callbacks run on freeDiameter's routing threads and only read `opt`.
 * Returns 0 or -errno.
 */
int dproxy_route_init(const dproxy_options_t *opt);

/* Forget the callbacks; call after mcx_diam_final(), which unregisters them. */
void dproxy_route_final(void);

#endif /* DPROXY_ROUTE_H */

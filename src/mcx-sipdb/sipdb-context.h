/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-sipdb's configuration and state: one struct owned by main(), passed by
 * pointer to the Diameter callbacks. Immutable after start-up except for the
 * counters, which are atomics.
 */
#ifndef SIPDB_CONTEXT_H
#define SIPDB_CONTEXT_H

#include <stdatomic.h>

#include "core/mcx-core.h"
#include "diameter/mcx-diameter.h"
#include "store/mcx-store.h"

#define SIPDB_MAX_SERVER_NAMES 8

typedef struct {
    uint32_t max_vectors;  /* cap on SIP-Number-Auth-Items honoured */
    uint32_t ind_bits;     /* TS 33.102 Annex C IND length */
    uint32_t ind;          /* this instance's IND slot */
    char digest_qop[32];   /* Digest-QoP sent with SIP Digest */
    bool avoid_zero_res;   /* draw another RAND when RES has a 0x00 byte (SIPp 3.6.1) */
    int log_level;
    /* S-CSCF names offered in Server-Capabilities (UAA/LIA) for a first registration. */
    unsigned n_server_names;
    char server_names[SIPDB_MAX_SERVER_NAMES][MCX_STORE_ID_MAX];
} sipdb_options_t;

typedef struct {
    mcx_diam_config_t diameter;
    mcx_store_config_t store;
    sipdb_options_t sipdb;
} sipdb_config_t;

typedef struct {
    atomic_ulong mar, sar, uar, lir, errors;
} sipdb_stats_t;

typedef struct {
    const sipdb_config_t *cfg;
    mcx_store_t *store;
    sipdb_stats_t stats;
} sipdb_context_t;

extern const mcx_conf_field_t sipdb_conf_table[];

/*
 * Load and check the YAML file at `path` into *cfg (zeroed by the caller).
 * Returns 0, or -errno with a message naming file, line and key in `err`.
 */
int sipdb_config_load(const char *path, sipdb_config_t *cfg, char *err, size_t errlen);

#endif /* SIPDB_CONTEXT_H */

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* mcx-sipdb's YAML table and the checks the table cannot express. */
#include "sipdb-context.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const log_levels[] = {"error", "warn", "notice", "info", "debug", NULL};
static const char *const sync_names[] = {"normal", "full", NULL};

#define S(f) offsetof(mcx_store_config_t, f)
static const mcx_conf_field_t store_fields[] = {
    {.key = "backend", .type = MCX_CONF_STRING, .offset = S(backend), .size = 16,
     .def = "sqlite", .help = "storage backend: sqlite"},
    {.key = "path", .type = MCX_CONF_STRING, .offset = S(path), .size = 4096, .required = true,
     .help = "SQLite database file"},
    {.key = "sync", .type = MCX_CONF_ENUM, .offset = S(sync), .def = "normal",
     .enum_names = sync_names},
    {.key = "busy_timeout_ms", .type = MCX_CONF_UINT, .offset = S(busy_timeout_ms),
     .def = "5000", .min = 1, .max = 600000},
    {0},
};

#define O(f) offsetof(sipdb_options_t, f)
static const mcx_conf_field_t sipdb_fields[] = {
    {.key = "max_vectors", .type = MCX_CONF_UINT, .offset = O(max_vectors), .def = "5",
     .min = 1, .max = MCX_STORE_MAX_SQN_BATCH},
    {.key = "ind_bits", .type = MCX_CONF_UINT, .offset = O(ind_bits), .def = "5", .min = 0,
     .max = 10},
    {.key = "ind", .type = MCX_CONF_UINT, .offset = O(ind), .def = "0", .min = 0, .max = 1023},
    {.key = "digest_qop", .type = MCX_CONF_STRING, .offset = O(digest_qop), .size = 32,
     .def = "auth"},
    {.key = "avoid_zero_res", .type = MCX_CONF_BOOL, .offset = O(avoid_zero_res),
     .def = "false"},
    {.key = "log_level", .type = MCX_CONF_ENUM, .offset = O(log_level), .def = "info",
     .enum_names = log_levels},
    {.key = "server_names", .type = MCX_CONF_STRLIST, .offset = O(server_names),
     .size = MCX_STORE_ID_MAX, .cap = SIPDB_MAX_SERVER_NAMES,
     .count_offset = O(n_server_names)},
    {0},
};

const mcx_conf_field_t sipdb_conf_table[] = {
    {.key = "diameter", .type = MCX_CONF_MAP, .offset = offsetof(sipdb_config_t, diameter),
     .sub = mcx_diam_conf_fields, .required = true},
    {.key = "store", .type = MCX_CONF_MAP, .offset = offsetof(sipdb_config_t, store),
     .sub = store_fields, .required = true},
    {.key = "sipdb", .type = MCX_CONF_MAP, .offset = offsetof(sipdb_config_t, sipdb),
     .sub = sipdb_fields},
    {0},
};

int sipdb_config_load(const char *path, sipdb_config_t *cfg, char *err, size_t errlen)
{
    int rv = mcx_conf_load_file(path, sipdb_conf_table, cfg, err, errlen);
    if (rv)
        return rv;
    char why[300];
    rv = mcx_diam_config_check(&cfg->diameter, why, sizeof(why));
    if (rv) {
        snprintf(err, errlen, "%s: %s", path, why);
        return rv;
    }
    if (strcmp(cfg->store.backend, "sqlite") != 0) {
        snprintf(err, errlen, "%s: store.backend: '%s' is not supported (sqlite)", path,
                 cfg->store.backend);
        return -EINVAL;
    }
    if (cfg->sipdb.ind >= (1u << cfg->sipdb.ind_bits)) {
        snprintf(err, errlen, "%s: sipdb.ind: %u does not fit in %u IND bits", path,
                 cfg->sipdb.ind, cfg->sipdb.ind_bits);
        return -EINVAL;
    }
    if (strcmp(cfg->sipdb.digest_qop, "auth") && strcmp(cfg->sipdb.digest_qop, "auth-int") &&
        strcmp(cfg->sipdb.digest_qop, "auth,auth-int")) {
        snprintf(err, errlen, "%s: sipdb.digest_qop: '%s' is not auth, auth-int or auth,auth-int",
                 path, cfg->sipdb.digest_qop);
        return -EINVAL;
    }
    /* A SIP database is an end node: it never relays (TS 29.229 over RFC 6733). */
    cfg->diameter.relay = false;
    return 0;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-dproxy configuration: the `dproxy:` YAML section (routes, served realms,
 * advertised applications), its validation, the split of routes between the
 * stock rt_default extension and our own routing callback, and the pure
 * matching logic that callback uses. Nothing here calls freeDiameter.
 */
#ifndef DPROXY_CONTEXT_H
#define DPROXY_CONTEXT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diameter/mcx-diameter.h"

#define DPROXY_MAX_ROUTES 64
#define DPROXY_MAX_REALMS 32
#define DPROXY_MAX_ADVERTISE 4
#define DPROXY_RE_MAX 256
#define DPROXY_PRIO_MAX 50

typedef struct {
    /* From YAML. Empty string = criterion absent. */
    char realm[MCX_DIAM_NAME_MAX];    /* Destination-Realm, exact, case-insensitive */
    char host[MCX_DIAM_NAME_MAX];     /* Destination-Host, exact, case-insensitive */
    char application[32];             /* "cx" or a decimal Application-Id */
    char user_name[DPROXY_RE_MAX];    /* POSIX ERE on User-Name */
    char public_identity[DPROXY_RE_MAX]; /* POSIX ERE on any Public-Identity (10415/601) */
    char peer[MCX_DIAM_NAME_MAX];     /* next hop: a Diameter identity */
    uint32_t priority;                /* score added to `peer` when the route matches */

    /* Derived by dproxy_config_prepare(). */
    uint32_t app_id;
    bool has_app, has_un, has_pi;
    regex_t un_re, pi_re;
    bool stock; /* true: rendered as an rt_default rule; false: our OUT callback */
} dproxy_route_t;

typedef struct {
    unsigned n_routes;
    dproxy_route_t routes[DPROXY_MAX_ROUTES];
    unsigned n_realms; /* realms served besides those named by routes */
    char realms[DPROXY_MAX_REALMS][MCX_DIAM_NAME_MAX];
    unsigned n_advertise;
    char advertise[DPROXY_MAX_ADVERTISE][32];
    bool load_balance;
    bool strict;
    int log_level; /* mcx_log_level_t */

    /* Derived. */
    bool any_realm; /* a route without `realm`: every realm is served, never 3003 */
    bool prepared;
} dproxy_options_t;

typedef struct {
    mcx_diam_config_t diameter;
    dproxy_options_t dproxy;
} dproxy_config_t;

/* Top-level YAML table of mcx-dproxy's configuration file. */
extern const mcx_conf_field_t dproxy_conf_fields[];

/*
 * Load and validate `path` into `cfg` (zeroed by the caller). On failure
 * returns -EINVAL/-errno with "<file>...: <key.path>: <reason>" in `err`.
 * On success the routes are prepared (regexes compiled); release with
 * dproxy_config_final().
 */
int dproxy_config_load(const char *path, dproxy_config_t *cfg, char *err, size_t errlen);

/* As dproxy_config_load, from text; `name` labels errors. */
int dproxy_config_load_string(const char *name, const char *text, dproxy_config_t *cfg,
                              char *err, size_t errlen);

/* Check and derive what the YAML table cannot (regexes, applications, peers). */
int dproxy_config_prepare(dproxy_config_t *cfg, char *err, size_t errlen);

/* Free compiled regexes. Safe on a partly prepared config. */
void dproxy_config_final(dproxy_config_t *cfg);

/*
 * Parse an application name ("cx") or decimal id. Returns 0 or -EINVAL.
 */
int dproxy_app_parse(const char *s, uint32_t *id);

/*
 * rt_default configuration text for the stock routes (may be "" when none);
 * the caller frees it. NULL on ENOMEM.
 */
char *dproxy_render_rt_default(const dproxy_options_t *opt);

/* True when `realm` (len bytes, not NUL-terminated) is served (3003 otherwise). */
bool dproxy_realm_served(const dproxy_options_t *opt, const uint8_t *realm, size_t len);

/* True when `peer` is the target of at least one route. */
bool dproxy_is_route_target(const dproxy_options_t *opt, const uint8_t *peer, size_t len);

/* What our OUT callback knows of a request; strings are NUL-terminated or NULL. */
typedef struct {
    uint32_t app_id;
    const char *dest_realm;
    const char *dest_host;
    const char *user_name;
    unsigned n_public_identity;
    const char *public_identity[8];
} dproxy_msg_view_t;

/* True when every criterion of route `r` holds for `m`. */
bool dproxy_route_matches(const dproxy_route_t *r, const dproxy_msg_view_t *m);

#endif /* DPROXY_CONTEXT_H */

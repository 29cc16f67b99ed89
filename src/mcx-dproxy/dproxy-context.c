/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-dproxy configuration: the YAML table, the checks the table cannot do
 * (regexes, application names, route targets, peer lists), the rendering of
 * single-criterion routes as rt_default rules, and route matching for the
 * routes our own callback evaluates. Pure code: no freeDiameter calls.
 */
#include "dproxy-context.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define R(f) offsetof(dproxy_route_t, f)
#define O(f) offsetof(dproxy_options_t, f)

static const mcx_conf_field_t route_fields[] = {
    {.key = "realm", .type = MCX_CONF_STRING, .offset = R(realm), .size = MCX_DIAM_NAME_MAX,
     .help = "Destination-Realm to match (exact, case-insensitive)"},
    {.key = "host", .type = MCX_CONF_STRING, .offset = R(host), .size = MCX_DIAM_NAME_MAX,
     .help = "Destination-Host to match (exact, case-insensitive)"},
    {.key = "application", .type = MCX_CONF_STRING, .offset = R(application), .size = 32,
     .help = "application: cx or a decimal Application-Id"},
    {.key = "user_name", .type = MCX_CONF_STRING, .offset = R(user_name),
     .size = DPROXY_RE_MAX, .help = "POSIX ERE on User-Name"},
    {.key = "public_identity", .type = MCX_CONF_STRING, .offset = R(public_identity),
     .size = DPROXY_RE_MAX, .help = "POSIX ERE on Public-Identity (3GPP 601)"},
    {.key = "peer", .type = MCX_CONF_STRING, .offset = R(peer), .size = MCX_DIAM_NAME_MAX,
     .required = true, .help = "next-hop Diameter identity"},
    {.key = "priority", .type = MCX_CONF_UINT, .offset = R(priority), .def = "10", .min = 1,
     .max = DPROXY_PRIO_MAX, .help = "score added to the peer when the route matches"},
    {0},
};

static const char *const log_levels[] = {"error", "warn", "notice", "info", "debug", NULL};

static const mcx_conf_field_t dproxy_fields[] = {
    {.key = "routes", .type = MCX_CONF_LIST, .offset = O(routes), .sub = route_fields,
     .elem_size = sizeof(dproxy_route_t), .cap = DPROXY_MAX_ROUTES,
     .count_offset = O(n_routes)},
    {.key = "realms", .type = MCX_CONF_STRLIST, .offset = O(realms), .size = MCX_DIAM_NAME_MAX,
     .cap = DPROXY_MAX_REALMS, .count_offset = O(n_realms)},
    {.key = "advertise", .type = MCX_CONF_STRLIST, .offset = O(advertise), .size = 32,
     .cap = DPROXY_MAX_ADVERTISE, .count_offset = O(n_advertise)},
    {.key = "load_balance", .type = MCX_CONF_BOOL, .offset = O(load_balance), .def = "true"},
    {.key = "strict", .type = MCX_CONF_BOOL, .offset = O(strict), .def = "true"},
    {.key = "log_level", .type = MCX_CONF_ENUM, .offset = O(log_level), .def = "notice",
     .enum_names = log_levels},
    {0},
};

const mcx_conf_field_t dproxy_conf_fields[] = {
    {.key = "diameter", .type = MCX_CONF_MAP, .offset = offsetof(dproxy_config_t, diameter),
     .sub = mcx_diam_conf_fields, .required = true},
    {.key = "dproxy", .type = MCX_CONF_MAP, .offset = offsetof(dproxy_config_t, dproxy),
     .sub = dproxy_fields, .required = true},
    {0},
};

int dproxy_app_parse(const char *s, uint32_t *id)
{
    if (!strcasecmp(s, "cx")) {
        *id = 16777216; /* TS 29.229 §6.2: Cx/Dx */
        return 0;
    }
    if (!s[0] || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
        return -EINVAL;
    unsigned long long v = strtoull(s, NULL, 10);
    /* 0 is the base protocol and 0xffffffff the relay id: neither is routable. */
    if (v == 0 || v >= 0xffffffffULL)
        return -EINVAL;
    *id = (uint32_t)v;
    return 0;
}

/* rt_default's lexer takes quoted strings without '"' or newline. */
static bool rtd_quotable(const char *s)
{
    return !strpbrk(s, "\"\n");
}

/* A DiameterIdentity / realm as we accept it in config: printable, no spaces or quotes. */
static bool valid_name(const char *s)
{
    if (!s[0])
        return false;
    for (const char *p = s; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == 0x7f)
            return false;
    return true;
}

/* acl_wl-style match: exact (case-insensitive) or "*.domain" for one first label. */
static bool accept_matches(const char *pattern, const char *id)
{
    if (pattern[0] == '*' && pattern[1] == '.') {
        const char *dot = strchr(id, '.');
        return dot && dot != id && !strcasecmp(dot + 1, pattern + 2);
    }
    return !strcasecmp(pattern, id);
}

static int compile(regex_t *re, const char *src, const char *path, char *err, size_t errlen)
{
    int rc = regcomp(re, src, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char why[160];
        regerror(rc, re, why, sizeof(why));
        snprintf(err, errlen, "%s: bad POSIX extended regex '%s': %s", path, src, why);
        return -EINVAL;
    }
    return 0;
}

int dproxy_config_prepare(dproxy_config_t *cfg, char *err, size_t errlen)
{
    dproxy_options_t *o = &cfg->dproxy;
    const mcx_diam_config_t *d = &cfg->diameter;
    char path[64];

    /* Peers: one connection per identity. An identity both connected to
     * (peers) and listed in accept makes the two sides race for the same
     * peer; freeDiameter then runs an election and may drop the other one. */
    for (unsigned i = 0; i < d->n_peers; i++) {
        for (unsigned j = 0; j < i; j++)
            if (!strcasecmp(d->peers[i].identity, d->peers[j].identity)) {
                snprintf(err, errlen, "diameter.peers[%u].identity: '%s' already listed as "
                         "diameter.peers[%u]", i, d->peers[i].identity, j);
                return -EINVAL;
            }
        for (unsigned j = 0; j < d->n_accept; j++)
            if (!strcasecmp(d->accept[j], d->peers[i].identity)) {
                snprintf(err, errlen, "diameter.accept[%u]: '%s' is also in diameter.peers; "
                         "list a peer the proxy connects to in peers only, a peer that "
                         "connects to the proxy in accept only", j, d->accept[j]);
                return -EINVAL;
            }
    }

    o->any_realm = false;
    for (unsigned i = 0; i < o->n_routes; i++) {
        dproxy_route_t *r = &o->routes[i];
        r->has_un = r->has_pi = r->has_app = false;
    }
    for (unsigned i = 0; i < o->n_routes; i++) {
        dproxy_route_t *r = &o->routes[i];
        if (!valid_name(r->peer)) {
            snprintf(err, errlen, "dproxy.routes[%u].peer: '%s' is not a Diameter identity", i,
                     r->peer);
            return -EINVAL;
        }
        if (r->realm[0] && !valid_name(r->realm)) {
            snprintf(err, errlen, "dproxy.routes[%u].realm: '%s' is not a realm", i, r->realm);
            return -EINVAL;
        }
        if (r->host[0] && !valid_name(r->host)) {
            snprintf(err, errlen, "dproxy.routes[%u].host: '%s' is not a Diameter identity", i,
                     r->host);
            return -EINVAL;
        }
        if (!strcasecmp(r->peer, d->identity)) {
            snprintf(err, errlen, "dproxy.routes[%u].peer: '%s' is this proxy itself", i,
                     r->peer);
            return -EINVAL;
        }
        /* The next hop must be a peer the proxy can ever talk to. */
        bool known = false;
        for (unsigned j = 0; j < d->n_peers && !known; j++)
            known = !strcasecmp(d->peers[j].identity, r->peer);
        for (unsigned j = 0; j < d->n_accept && !known; j++)
            known = accept_matches(d->accept[j], r->peer);
        if (!known) {
            snprintf(err, errlen, "dproxy.routes[%u].peer: '%s' is neither in diameter.peers "
                     "nor allowed by diameter.accept", i, r->peer);
            return -EINVAL;
        }
        if (r->application[0]) {
            if (dproxy_app_parse(r->application, &r->app_id)) {
                snprintf(err, errlen, "dproxy.routes[%u].application: '%s' is not 'cx' or an "
                         "Application-Id (1..4294967294)", i, r->application);
                return -EINVAL;
            }
            r->has_app = true;
        }
        if (r->user_name[0]) {
            snprintf(path, sizeof(path), "dproxy.routes[%u].user_name", i);
            if (compile(&r->un_re, r->user_name, path, err, errlen))
                return -EINVAL;
            r->has_un = true;
        }
        if (r->public_identity[0]) {
            snprintf(path, sizeof(path), "dproxy.routes[%u].public_identity", i);
            if (compile(&r->pi_re, r->public_identity, path, err, errlen))
                return -EINVAL;
            r->has_pi = true;
        }
        if (!r->realm[0])
            o->any_realm = true;

        /* rt_default takes one criterion per rule (dr, dh or un), so only
         * routes with at most one of those, and nothing else, go there. */
        unsigned n = (r->realm[0] != 0) + (r->host[0] != 0) + r->has_un;
        r->stock = !r->has_app && !r->has_pi && n <= 1 && rtd_quotable(r->user_name);
    }
    for (unsigned i = 0; i < o->n_realms; i++)
        if (!valid_name(o->realms[i])) {
            snprintf(err, errlen, "dproxy.realms[%u]: '%s' is not a realm", i, o->realms[i]);
            return -EINVAL;
        }
    for (unsigned i = 0; i < o->n_advertise; i++)
        if (strcasecmp(o->advertise[i], "cx")) {
            snprintf(err, errlen, "dproxy.advertise[%u]: '%s' is not a known application "
                     "(known: cx)", i, o->advertise[i]);
            return -EINVAL;
        }
    o->prepared = true;
    return 0;
}

void dproxy_config_final(dproxy_config_t *cfg)
{
    for (unsigned i = 0; i < cfg->dproxy.n_routes; i++) {
        dproxy_route_t *r = &cfg->dproxy.routes[i];
        if (r->has_un)
            regfree(&r->un_re);
        if (r->has_pi)
            regfree(&r->pi_re);
        r->has_un = r->has_pi = false;
    }
    cfg->dproxy.prepared = false;
}

static int finish_load(int rv, dproxy_config_t *cfg, const char *name, char *err,
                       size_t errlen)
{
    if (rv)
        return rv;
    char why[512];
    rv = mcx_diam_config_check(&cfg->diameter, why, sizeof(why));
    if (!rv)
        rv = dproxy_config_prepare(cfg, why, sizeof(why));
    if (rv) {
        snprintf(err, errlen, "%s: %s", name, why);
        dproxy_config_final(cfg);
    }
    return rv;
}

int dproxy_config_load(const char *path, dproxy_config_t *cfg, char *err, size_t errlen)
{
    int rv = mcx_conf_load_file(path, dproxy_conf_fields, cfg, err, errlen);
    return finish_load(rv, cfg, path, err, errlen);
}

int dproxy_config_load_string(const char *name, const char *text, dproxy_config_t *cfg,
                              char *err, size_t errlen)
{
    int rv = mcx_conf_load_string(name, text, dproxy_conf_fields, cfg, err, errlen);
    return finish_load(rv, cfg, name, err, errlen);
}

char *dproxy_render_rt_default(const dproxy_options_t *opt)
{
    size_t cap = 128 + (size_t)opt->n_routes * (3 * MCX_DIAM_NAME_MAX + DPROXY_RE_MAX);
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t len = (size_t)snprintf(out, cap, "# Rendered by mcx-dproxy from dproxy.routes.\n");
    for (unsigned i = 0; i < opt->n_routes; i++) {
        const dproxy_route_t *r = &opt->routes[i];
        if (!r->stock)
            continue;
        const char *crit = "*";
        char c[MCX_DIAM_NAME_MAX + DPROXY_RE_MAX + 16];
        if (r->realm[0])
            snprintf(c, sizeof(c), "dr=\"%s\"", r->realm), crit = c;
        else if (r->host[0])
            snprintf(c, sizeof(c), "dh=\"%s\"", r->host), crit = c;
        else if (r->has_un)
            snprintf(c, sizeof(c), "un=[\"%s\"]", r->user_name), crit = c;
        len += (size_t)snprintf(out + len, cap - len, "%s : \"%s\" += %u ;  # routes[%u]\n",
                                crit, r->peer, r->priority, i);
    }
    return out;
}

static bool os_eq(const uint8_t *a, size_t alen, const char *b)
{
    return strlen(b) == alen && !strncasecmp((const char *)a, b, alen);
}

bool dproxy_realm_served(const dproxy_options_t *opt, const uint8_t *realm, size_t len)
{
    if (opt->any_realm)
        return true;
    for (unsigned i = 0; i < opt->n_routes; i++)
        if (os_eq(realm, len, opt->routes[i].realm))
            return true;
    for (unsigned i = 0; i < opt->n_realms; i++)
        if (os_eq(realm, len, opt->realms[i]))
            return true;
    return false;
}

bool dproxy_is_route_target(const dproxy_options_t *opt, const uint8_t *peer, size_t len)
{
    for (unsigned i = 0; i < opt->n_routes; i++)
        if (os_eq(peer, len, opt->routes[i].peer))
            return true;
    return false;
}

bool dproxy_route_matches(const dproxy_route_t *r, const dproxy_msg_view_t *m)
{
    if (r->has_app && m->app_id != r->app_id)
        return false;
    if (r->realm[0] && !(m->dest_realm && !strcasecmp(r->realm, m->dest_realm)))
        return false;
    if (r->host[0] && !(m->dest_host && !strcasecmp(r->host, m->dest_host)))
        return false;
    if (r->has_un && !(m->user_name && regexec(&r->un_re, m->user_name, 0, NULL, 0) == 0))
        return false;
    if (r->has_pi) {
        bool any = false;
        for (unsigned i = 0; i < m->n_public_identity && !any; i++)
            any = regexec(&r->pi_re, m->public_identity[i], 0, NULL, 0) == 0;
        if (!any)
            return false;
    }
    return true;
}

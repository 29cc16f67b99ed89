/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The topology file of `mcx up`: MC systems on loopback, each with its SIP
 * databases, Diameter proxy, S-CSCF and subscribers. Parsed with lib/core's
 * table-driven loader (unknown keys are errors naming the key path), then
 * checked here for what a table cannot express, and given its ports.
 */
#include "mcx-orch.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const mcx_topo_log_levels[] = {"error", "warn", "notice", "info", "debug", NULL};
const char *const mcx_topo_algorithms[] = {"HSS-Selected", "AKAv1-MD5", "3GPP-Digest", NULL};
static const char *const schemes[] = {"auto", "aka", "digest", NULL};

#define F(type_, member) offsetof(type_, member), sizeof(((type_ *)0)->member)

static const mcx_conf_field_t sub_fields[] = {
    {.key = "impi", .type = MCX_CONF_STRING, F(mcx_topo_sub_t, impi), .required = true,
     .help = "private identity, user@realm"},
    {.key = "impus", .type = MCX_CONF_STRLIST, .offset = offsetof(mcx_topo_sub_t, impus),
     .size = MCX_TOPO_ID, .cap = MCX_TOPO_MAX_IMPUS, .required = true,
     .count_offset = offsetof(mcx_topo_sub_t, n_impus), .help = "public identities; first is default"},
    {.key = "k", .type = MCX_CONF_STRING, F(mcx_topo_sub_t, k), .help = "AKA key K, 32 hex"},
    {.key = "op", .type = MCX_CONF_STRING, F(mcx_topo_sub_t, op), .help = "operator key OP, 32 hex"},
    {.key = "opc", .type = MCX_CONF_STRING, F(mcx_topo_sub_t, opc), .help = "OPc, 32 hex"},
    {.key = "amf", .type = MCX_CONF_STRING, F(mcx_topo_sub_t, amf), .def = "8000",
     .help = "AMF, 4 hex"},
    {.key = "sqn", .type = MCX_CONF_INT, .offset = offsetof(mcx_topo_sub_t, sqn), .def = "0",
     .min = 0, .max = (INT64_C(1) << 48) - 1, .help = "last SQN issued"},
    {.key = "password", .type = MCX_CONF_STRING, F(mcx_topo_sub_t, password),
     .help = "SIP Digest password (HA1 is stored)"},
    {.key = "scheme", .type = MCX_CONF_ENUM, .offset = offsetof(mcx_topo_sub_t, scheme),
     .def = "auto", .enum_names = schemes, .help = "default scheme: auto, aka, digest"},
    {0},
};

static const mcx_conf_field_t sipdb_fields[] = {
    {.key = "count", .type = MCX_CONF_UINT, .offset = offsetof(mcx_topo_system_t, sipdb.count),
     .def = "1", .min = 1, .max = MCX_TOPO_MAX_SIPDB, .help = "SIP databases sharing one store"},
    {.key = "first_port", .type = MCX_CONF_UINT,
     .offset = offsetof(mcx_topo_system_t, sipdb.first_port), .def = "0", .min = 0, .max = 65535,
     .help = "Diameter port of the first; the others follow"},
    {.key = "log_level", .type = MCX_CONF_ENUM,
     .offset = offsetof(mcx_topo_system_t, sipdb.log_level), .def = "info",
     .enum_names = mcx_topo_log_levels},
    {0},
};

static const mcx_conf_field_t dproxy_fields[] = {
    {.key = "port", .type = MCX_CONF_UINT, .offset = offsetof(mcx_topo_system_t, dproxy.port),
     .def = "0", .min = 0, .max = 65535},
    {.key = "log_level", .type = MCX_CONF_ENUM,
     .offset = offsetof(mcx_topo_system_t, dproxy.log_level), .def = "info",
     .enum_names = mcx_topo_log_levels},
    {0},
};

static const mcx_conf_field_t scscf_fields[] = {
    {.key = "name", .type = MCX_CONF_STRING, F(mcx_topo_system_t, scscf.name), .def = "scscf",
     .help = "host label: the S-CSCF is <name>.<realm>"},
    {.key = "sip_port", .type = MCX_CONF_UINT, .offset = offsetof(mcx_topo_system_t, scscf.sip_port),
     .def = "0", .min = 0, .max = 65535},
    {.key = "diameter_port", .type = MCX_CONF_UINT,
     .offset = offsetof(mcx_topo_system_t, scscf.diameter_port), .def = "0", .min = 0,
     .max = 65535},
    {.key = "default_algorithm", .type = MCX_CONF_ENUM,
     .offset = offsetof(mcx_topo_system_t, scscf.default_algorithm), .def = "HSS-Selected",
     .enum_names = mcx_topo_algorithms},
    {.key = "debug", .type = MCX_CONF_INT, .offset = offsetof(mcx_topo_system_t, scscf.debug),
     .def = "1", .min = -1, .max = 3},
    {0},
};

static const mcx_conf_field_t idms_fields[] = {
    {.key = "port", .type = MCX_CONF_UINT, .offset = offsetof(mcx_topo_system_t, idms.port),
     .def = "0", .min = 0, .max = 65535, .help = "plain HTTP port (nginx forwards /idms/)"},
    {.key = "log_level", .type = MCX_CONF_ENUM,
     .offset = offsetof(mcx_topo_system_t, idms.log_level), .def = "info",
     .enum_names = mcx_topo_log_levels},
    {.key = "access_token_lifetime", .type = MCX_CONF_UINT,
     .offset = offsetof(mcx_topo_system_t, idms.access_token_lifetime), .def = "3600", .min = 10,
     .max = 86400, .help = "seconds"},
    {.key = "refresh_token_lifetime", .type = MCX_CONF_UINT,
     .offset = offsetof(mcx_topo_system_t, idms.refresh_token_lifetime), .def = "86400",
     .min = 60, .max = 31536000, .help = "seconds"},
    {.key = "code_lifetime", .type = MCX_CONF_UINT,
     .offset = offsetof(mcx_topo_system_t, idms.code_lifetime), .def = "60", .min = 5,
     .max = 600, .help = "authorization code, seconds"},
    {0},
};

#define HTTP_DAEMON_FIELDS(member)                                                              \
    {.key = "port", .type = MCX_CONF_UINT, .offset = offsetof(mcx_topo_system_t, member.port),   \
     .def = "0", .min = 0, .max = 65535},                                                      \
    {.key = "log_level", .type = MCX_CONF_ENUM,                                                \
     .offset = offsetof(mcx_topo_system_t, member.log_level), .def = "info",                   \
     .enum_names = mcx_topo_log_levels},                                                       \
    {0}

static const mcx_conf_field_t cms_fields[] = {HTTP_DAEMON_FIELDS(cms)};
static const mcx_conf_field_t gms_fields[] = {HTTP_DAEMON_FIELDS(gms)};

static const mcx_conf_field_t server_fields[] = {
    {.key = "sip_port", .type = MCX_CONF_UINT,
     .offset = offsetof(mcx_topo_system_t, server.sip_port), .def = "0", .min = 0, .max = 65535},
    {.key = "http_port", .type = MCX_CONF_UINT,
     .offset = offsetof(mcx_topo_system_t, server.http_port), .def = "0", .min = 0, .max = 65535},
    {.key = "log_level", .type = MCX_CONF_ENUM,
     .offset = offsetof(mcx_topo_system_t, server.log_level), .def = "info",
     .enum_names = mcx_topo_log_levels},
    {0},
};

static const mcx_conf_field_t user_fields[] = {
    {.key = "username", .type = MCX_CONF_STRING, F(mcx_topo_user_t, username), .required = true},
    {.key = "password", .type = MCX_CONF_STRING, F(mcx_topo_user_t, password), .required = true},
    {.key = "mcptt_id", .type = MCX_CONF_STRING, F(mcx_topo_user_t, mcptt_id),
     .help = "MC service ID; default sip:<username>@<realm>"},
    {.key = "sip_identity", .type = MCX_CONF_STRING, F(mcx_topo_user_t, sip_identity),
     .required = true, .help = "impi of a subscriber of this system"},
    {.key = "profiles", .type = MCX_CONF_STRLIST, .offset = offsetof(mcx_topo_user_t, profiles),
     .size = MCX_TOPO_ID, .cap = MCX_TOPO_MAX_PROFILES,
     .count_offset = offsetof(mcx_topo_user_t, n_profiles),
     .help = "builtin, or a user-profile XML file; default [builtin]"},
    {.key = "groups", .type = MCX_CONF_STRLIST, .offset = offsetof(mcx_topo_user_t, groups),
     .size = MCX_TOPO_ID, .cap = MCX_TOPO_MAX_USER_GROUPS,
     .count_offset = offsetof(mcx_topo_user_t, n_groups)},
    {0},
};

static const mcx_conf_field_t group_fields[] = {
    {.key = "uri", .type = MCX_CONF_STRING, F(mcx_topo_group_t, uri), .required = true},
    {.key = "display_name", .type = MCX_CONF_STRING, F(mcx_topo_group_t, display_name)},
    {.key = "members", .type = MCX_CONF_STRLIST, .offset = offsetof(mcx_topo_group_t, members),
     .size = MCX_TOPO_ID, .cap = MCX_TOPO_MAX_MEMBERS,
     .count_offset = offsetof(mcx_topo_group_t, n_members)},
    {0},
};

/* The sub-tables address members of mcx_topo_system_t, so the MAP offset is 0. */
static const mcx_conf_field_t system_fields[] = {
    {.key = "name", .type = MCX_CONF_STRING, F(mcx_topo_system_t, name), .required = true},
    {.key = "realm", .type = MCX_CONF_STRING, F(mcx_topo_system_t, realm), .required = true},
    {.key = "base_port", .type = MCX_CONF_UINT, .offset = offsetof(mcx_topo_system_t, base_port),
     .def = "0", .min = 0, .max = 65535},
    {.key = "sipdb", .type = MCX_CONF_MAP, .offset = 0, .sub = sipdb_fields},
    {.key = "dproxy", .type = MCX_CONF_MAP, .offset = 0, .sub = dproxy_fields},
    {.key = "scscf", .type = MCX_CONF_MAP, .offset = 0, .sub = scscf_fields},
    {.key = "subscribers", .type = MCX_CONF_LIST, .offset = offsetof(mcx_topo_system_t, subs),
     .elem_size = sizeof(mcx_topo_sub_t), .cap = MCX_TOPO_MAX_SUBS,
     .count_offset = offsetof(mcx_topo_system_t, n_subs), .sub = sub_fields},
    {.key = "https_port", .type = MCX_CONF_UINT, .offset = offsetof(mcx_topo_system_t, https_port),
     .def = "0", .min = 0, .max = 65535, .help = "nginx, TLS"},
    {.key = "idms", .type = MCX_CONF_MAP, .offset = 0, .sub = idms_fields},
    {.key = "cms", .type = MCX_CONF_MAP, .offset = 0, .sub = cms_fields},
    {.key = "gms", .type = MCX_CONF_MAP, .offset = 0, .sub = gms_fields},
    {.key = "server", .type = MCX_CONF_MAP, .offset = 0, .sub = server_fields},
    {.key = "users", .type = MCX_CONF_LIST, .offset = offsetof(mcx_topo_system_t, users),
     .elem_size = sizeof(mcx_topo_user_t), .cap = MCX_TOPO_MAX_USERS,
     .count_offset = offsetof(mcx_topo_system_t, n_users), .sub = user_fields},
    {.key = "groups", .type = MCX_CONF_LIST, .offset = offsetof(mcx_topo_system_t, groups),
     .elem_size = sizeof(mcx_topo_group_t), .cap = MCX_TOPO_MAX_GROUPS,
     .count_offset = offsetof(mcx_topo_system_t, n_groups), .sub = group_fields},
    {0},
};

const mcx_conf_field_t mcx_topo_fields[] = {
    {.key = "systems", .type = MCX_CONF_LIST, .offset = offsetof(mcx_topo_t, systems),
     .elem_size = sizeof(mcx_topo_system_t), .cap = MCX_TOPO_MAX_SYSTEMS,
     .count_offset = offsetof(mcx_topo_t, n_systems), .sub = system_fields, .required = true},
    {0},
};

static int bad(char *err, size_t errlen, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int bad(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s: %s", name, msg);
    return -EINVAL;
}

/* A DNS label: letters, digits, '-', not at either end. */
static bool is_label(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-')
            return false;
    return true;
}

static bool is_domain(const char *s)
{
    char buf[MCX_TOPO_ID];
    if (mcx_strlcpy(buf, s, sizeof(buf)) || !buf[0])
        return false;
    char *save = NULL;
    unsigned labels = 0;
    if (buf[strlen(buf) - 1] == '.' || buf[0] == '.' || strstr(buf, ".."))
        return false;
    for (char *l = strtok_r(buf, ".", &save); l; l = strtok_r(NULL, ".", &save), labels++)
        if (!is_label(l))
            return false;
    return labels >= 1;
}

static bool is_hex(const char *s, size_t digits)
{
    uint8_t tmp[32];
    return digits / 2 <= sizeof(tmp) && mcx_hex_decode(s, tmp, digits / 2) == 0;
}

static int check_sub(const mcx_topo_sub_t *u, const char *path, const char *name, char *err,
                     size_t errlen)
{
    const char *at = strchr(u->impi, '@');
    if (!at || at == u->impi || !at[1])
        return bad(err, errlen, name, "%s.impi: '%s' is not user@domain", path, u->impi);
    if (u->n_impus == 0)
        return bad(err, errlen, name, "%s.impus: at least one public identity", path);
    for (unsigned i = 0; i < u->n_impus; i++) {
        const char *x = u->impus[i];
        if (strncmp(x, "sip:", 4) && strncmp(x, "sips:", 5) && strncmp(x, "tel:", 4))
            return bad(err, errlen, name, "%s.impus[%u]: '%s' is not a sip:, sips: or tel: URI",
                       path, i, x);
    }
    bool aka = u->k[0] != '\0';
    if (aka && !is_hex(u->k, 32))
        return bad(err, errlen, name, "%s.k: not 32 hex digits", path);
    if (u->op[0] && u->opc[0])
        return bad(err, errlen, name, "%s.op: op and opc exclude each other", path);
    if (u->op[0] && !is_hex(u->op, 32))
        return bad(err, errlen, name, "%s.op: not 32 hex digits", path);
    if (u->opc[0] && !is_hex(u->opc, 32))
        return bad(err, errlen, name, "%s.opc: not 32 hex digits", path);
    if (aka && !u->op[0] && !u->opc[0])
        return bad(err, errlen, name, "%s.k: needs op or opc", path);
    if (!aka && (u->op[0] || u->opc[0]))
        return bad(err, errlen, name, "%s.%s: needs k", path, u->op[0] ? "op" : "opc");
    if (!is_hex(u->amf, 4))
        return bad(err, errlen, name, "%s.amf: not 4 hex digits", path);
    if (!aka && !u->password[0])
        return bad(err, errlen, name, "%s: neither AKA keys (k) nor a password", path);
    if (u->scheme == MCX_TOPO_SCHEME_AKA && !aka)
        return bad(err, errlen, name, "%s.scheme: aka needs k", path);
    if (u->scheme == MCX_TOPO_SCHEME_DIGEST && !u->password[0])
        return bad(err, errlen, name, "%s.scheme: digest needs a password", path);
    return 0;
}

static bool is_sip_uri(const char *x)
{
    const char *at = strchr(x, '@');
    return !strncmp(x, "sip:", 4) && at && at > x + 4 && at[1] && !strpbrk(x, " \t\"<>");
}

static const mcx_topo_group_t *find_group(const mcx_topo_system_t *s, const char *uri)
{
    for (unsigned i = 0; i < s->n_groups; i++)
        if (!strcmp(s->groups[i].uri, uri))
            return &s->groups[i];
    return NULL;
}

/* Defaults derived from other keys: mcptt_id, profiles. */
static int fill_defaults(mcx_topo_t *topo, const char *name, char *err, size_t errlen)
{
    for (unsigned i = 0; i < topo->n_systems; i++) {
        mcx_topo_system_t *s = &topo->systems[i];
        for (unsigned k = 0; k < s->n_users; k++) {
            mcx_topo_user_t *u = &s->users[k];
            if (!u->mcptt_id[0]) {
                /* Through a local buffer: GCC cannot tell the fields never overlap. */
                char id[sizeof(u->mcptt_id)];
                if (snprintf(id, sizeof(id), "sip:%s@%s", u->username, s->realm) >= (int)sizeof(id))
                    return bad(err, errlen, name, "systems[%u].users[%u].mcptt_id: too long", i,
                               k);
                memcpy(u->mcptt_id, id, sizeof(id));
            }
            if (u->n_profiles == 0) {
                snprintf(u->profiles[0], sizeof(u->profiles[0]), "builtin");
                u->n_profiles = 1;
            }
        }
    }
    return 0;
}

/* Users and groups (after fill_defaults). */
static int check_users(const mcx_topo_system_t *s, const char *path, const char *name, char *err,
                       size_t errlen)
{
    for (unsigned k = 0; k < s->n_users; k++) {
        const mcx_topo_user_t *u = &s->users[k];
        char up[96];
        snprintf(up, sizeof(up), "%s.users[%u]", path, k);
        for (const char *c = u->username; *c; c++)
            if (!isalnum((unsigned char)*c) && !strchr("._-", *c))
                return bad(err, errlen, name, "%s.username: '%s' has characters other than "
                           "letters, digits, '.', '_', '-'", up, u->username);
        if (!u->username[0])
            return bad(err, errlen, name, "%s.username: empty", up);
        if (!u->password[0])
            return bad(err, errlen, name, "%s.password: empty", up);
        if (!is_sip_uri(u->mcptt_id))
            return bad(err, errlen, name, "%s.mcptt_id: '%s' is not a sip: URI", up, u->mcptt_id);
        bool found = false;
        for (unsigned m = 0; m < s->n_subs; m++)
            found |= !strcmp(s->subs[m].impi, u->sip_identity);
        if (!found)
            return bad(err, errlen, name, "%s.sip_identity: '%s' is not the impi of a subscriber "
                       "of this system", up, u->sip_identity);
        for (unsigned g = 0; g < u->n_groups; g++)
            if (!find_group(s, u->groups[g]))
                return bad(err, errlen, name, "%s.groups[%u]: '%s' is not in this system's "
                           "groups", up, g, u->groups[g]);
        for (unsigned m = 0; m < k; m++) {
            if (!strcmp(s->users[m].username, u->username))
                return bad(err, errlen, name, "%s.username: '%s' is given twice", up,
                           u->username);
            if (!strcmp(s->users[m].mcptt_id, u->mcptt_id))
                return bad(err, errlen, name, "%s.mcptt_id: '%s' is given twice", up,
                           u->mcptt_id);
        }
    }
    for (unsigned k = 0; k < s->n_groups; k++) {
        const mcx_topo_group_t *g = &s->groups[k];
        char gp[96];
        snprintf(gp, sizeof(gp), "%s.groups[%u]", path, k);
        if (!is_sip_uri(g->uri))
            return bad(err, errlen, name, "%s.uri: '%s' is not a sip: URI", gp, g->uri);
        for (unsigned m = 0; m < k; m++)
            if (!strcmp(s->groups[m].uri, g->uri))
                return bad(err, errlen, name, "%s.uri: '%s' is given twice", gp, g->uri);
        for (unsigned m = 0; m < g->n_members; m++)
            if (!mcx_topo_member_id(s, g->members[m]))
                return bad(err, errlen, name, "%s.members[%u]: '%s' is neither a sip: URI nor a "
                           "username of this system", gp, m, g->members[m]);
    }
    return 0;
}

int mcx_topo_validate(const mcx_topo_t *topo, const char *name, char *err, size_t errlen)
{
    if (topo->n_systems == 0)
        return bad(err, errlen, name, "systems: at least one system");
    for (unsigned i = 0; i < topo->n_systems; i++) {
        const mcx_topo_system_t *s = &topo->systems[i];
        char path[64];
        snprintf(path, sizeof(path), "systems[%u]", i);
        if (!is_label(s->name) || strlen(s->name) >= MCX_TOPO_NAME)
            return bad(err, errlen, name, "%s.name: '%s' is not a host label (letters, digits, '-')",
                       path, s->name);
        if (!is_domain(s->realm))
            return bad(err, errlen, name, "%s.realm: '%s' is not a domain name", path, s->realm);
        if (!is_label(s->scscf.name))
            return bad(err, errlen, name, "%s.scscf.name: '%s' is not a host label", path,
                       s->scscf.name);
        for (unsigned j = 0; j < i; j++) {
            if (!strcmp(topo->systems[j].name, s->name))
                return bad(err, errlen, name, "%s.name: '%s' is used twice", path, s->name);
            if (!strcasecmp(topo->systems[j].realm, s->realm))
                return bad(err, errlen, name, "%s.realm: '%s' is used twice", path, s->realm);
        }
        for (unsigned k = 0; k < s->n_subs; k++) {
            char sp[96];
            snprintf(sp, sizeof(sp), "%s.subscribers[%u]", path, k);
            int rv = check_sub(&s->subs[k], sp, name, err, errlen);
            if (rv)
                return rv;
            for (unsigned m = 0; m < k; m++)
                if (!strcmp(s->subs[m].impi, s->subs[k].impi))
                    return bad(err, errlen, name, "%s.impi: '%s' is given twice", sp,
                               s->subs[k].impi);
        }
        int rv = check_users(s, path, name, err, errlen);
        if (rv)
            return rv;
    }
    return 0;
}

static int load_common(int rv, const char *name, mcx_topo_t *topo, char *err, size_t errlen)
{
    if (rv)
        return rv;
    if ((rv = fill_defaults(topo, name, err, errlen)))
        return rv;
    return mcx_topo_validate(topo, name, err, errlen);
}

int mcx_topo_load_file(const char *path, mcx_topo_t *topo, char *err, size_t errlen)
{
    memset(topo, 0, sizeof(*topo));
    return load_common(mcx_conf_load_file(path, mcx_topo_fields, topo, err, errlen), path, topo,
                       err, errlen);
}

int mcx_topo_load_string(const char *name, const char *text, mcx_topo_t *topo, char *err,
                         size_t errlen)
{
    memset(topo, 0, sizeof(*topo));
    return load_common(mcx_conf_load_string(name, text, mcx_topo_fields, topo, err, errlen), name,
                       topo, err, errlen);
}

/* ------------------------------------------------------------------------ */
/* Ports                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct {
    unsigned *port;
    char key[96];
    unsigned offset; /* from base_port */
} port_slot_t;

int mcx_topo_assign_ports(mcx_topo_t *topo, unsigned (*pick)(void *arg), void *arg, char *err,
                          size_t errlen)
{
    port_slot_t slots[MCX_TOPO_MAX_SYSTEMS * (3 + MCX_TOPO_MAX_SIPDB + 6)];
    unsigned n = 0;

    for (unsigned i = 0; i < topo->n_systems; i++) {
        mcx_topo_system_t *s = &topo->systems[i];
        /* A sipdb's explicit port is first_port + its index. */
        for (unsigned d = 0; d < s->sipdb.count; d++) {
            s->sipdb_ports[d] = s->sipdb.first_port ? s->sipdb.first_port + d : 0;
            if (s->sipdb_ports[d] > 65535) {
                snprintf(err, errlen, "systems[%u].sipdb.first_port: %u SIP databases from "
                         "port %u go beyond 65535", i, s->sipdb.count, s->sipdb.first_port);
                return -ERANGE;
            }
        }
        slots[n++] = (port_slot_t){&s->scscf.sip_port, "", 0};
        snprintf(slots[n - 1].key, sizeof(slots[0].key), "systems[%u].scscf.sip_port", i);
        slots[n++] = (port_slot_t){&s->scscf.diameter_port, "", 1};
        snprintf(slots[n - 1].key, sizeof(slots[0].key), "systems[%u].scscf.diameter_port", i);
        slots[n++] = (port_slot_t){&s->dproxy.port, "", 2};
        snprintf(slots[n - 1].key, sizeof(slots[0].key), "systems[%u].dproxy.port", i);
        for (unsigned d = 0; d < s->sipdb.count; d++) {
            slots[n++] = (port_slot_t){&s->sipdb_ports[d], "", 3 + d};
            snprintf(slots[n - 1].key, sizeof(slots[0].key), "systems[%u].sipdb.first_port%s", i,
                     d ? " (+index)" : "");
        }
        /* The application plane from base+20, clear of up to 8 SIP databases. */
        struct {
            unsigned *port;
            const char *key;
        } app[] = {
            {&s->https_port, "https_port"},   {&s->idms.port, "idms.port"},
            {&s->cms.port, "cms.port"},       {&s->gms.port, "gms.port"},
            {&s->server.sip_port, "server.sip_port"}, {&s->server.http_port, "server.http_port"},
        };
        for (unsigned a = 0; a < sizeof(app) / sizeof(app[0]); a++) {
            slots[n++] = (port_slot_t){app[a].port, "", 20 + a};
            snprintf(slots[n - 1].key, sizeof(slots[0].key), "systems[%u].%s", i, app[a].key);
        }
        for (unsigned k = n - 9 - s->sipdb.count; k < n; k++) {
            if (*slots[k].port == 0 && s->base_port) {
                unsigned p = s->base_port + slots[k].offset;
                if (p > 65535) {
                    snprintf(err, errlen, "systems[%u].base_port: %u + %u is beyond 65535", i,
                             s->base_port, slots[k].offset);
                    return -ERANGE;
                }
                *slots[k].port = p;
            }
        }
    }
    /* Clashes among the ports fixed so far, before picking the rest. */
    for (unsigned a = 0; a < n; a++) {
        for (unsigned b = 0; b < a; b++) {
            if (*slots[a].port && *slots[a].port == *slots[b].port) {
                snprintf(err, errlen, "%s: port %u is also %s", slots[a].key, *slots[a].port,
                         slots[b].key);
                return -EADDRINUSE;
            }
        }
    }
    for (unsigned a = 0; a < n; a++) {
        if (*slots[a].port)
            continue;
        for (int tries = 0; tries < 50 && !*slots[a].port; tries++) {
            unsigned p = pick(arg);
            if (!p)
                break;
            bool taken = false;
            for (unsigned b = 0; b < n; b++)
                taken |= *slots[b].port == p;
            if (!taken)
                *slots[a].port = p;
        }
        if (!*slots[a].port) {
            snprintf(err, errlen, "%s: no free port found", slots[a].key);
            return -EADDRINUSE;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Derived names                                                            */
/* ------------------------------------------------------------------------ */

int mcx_pathf(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void mcx_topo_scscf_host(const mcx_topo_system_t *s, char *out, size_t len)
{
    snprintf(out, len, "%s.%s", s->scscf.name, s->realm);
}

void mcx_topo_scscf_uri(const mcx_topo_system_t *s, char *out, size_t len)
{
    snprintf(out, len, "sip:%s.%s:%u", s->scscf.name, s->realm, s->scscf.sip_port);
}

void mcx_topo_public_url(const mcx_topo_system_t *s, const char *what, char *out, size_t len)
{
    snprintf(out, len, "https://127.0.0.1:%u/%s", s->https_port, what);
}

void mcx_topo_server_psi(const mcx_topo_system_t *s, char *out, size_t len)
{
    snprintf(out, len, "sip:mcptt-server@%s", s->realm);
}

const char *mcx_topo_member_id(const mcx_topo_system_t *s, const char *member)
{
    for (unsigned i = 0; i < s->n_users; i++)
        if (!strcmp(s->users[i].username, member) || !strcmp(s->users[i].mcptt_id, member))
            return s->users[i].mcptt_id;
    return is_sip_uri(member) ? member : NULL;
}

const mcx_topo_user_t *mcx_topo_user_of_impi(const mcx_topo_system_t *s, const char *impi)
{
    for (unsigned i = 0; i < s->n_users; i++)
        if (!strcmp(s->users[i].sip_identity, impi))
            return &s->users[i];
    return NULL;
}

void mcx_topo_dproxy_id(const mcx_topo_system_t *s, char *out, size_t len)
{
    snprintf(out, len, "dproxy.%s", s->realm);
}

void mcx_topo_sipdb_id(const mcx_topo_system_t *s, unsigned i, char *out, size_t len)
{
    if (s->sipdb.count == 1)
        snprintf(out, len, "sipdb.%s", s->realm);
    else
        snprintf(out, len, "sipdb%u.%s", i + 1, s->realm);
}

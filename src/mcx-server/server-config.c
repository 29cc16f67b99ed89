/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* mcx-server's YAML table and the checks the table cannot express. */
#include "server-context.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const log_levels[] = {"error", "warn", "notice", "info", "debug", NULL};

#define SIP(f) offsetof(server_sip_conf_t, f)
static const mcx_conf_field_t sip_fields[] = {
    {.key = "listen",
     .type = MCX_CONF_STRING,
     .offset = SIP(listen),
     .size = 64,
     .def = "127.0.0.1",
     .help = "numeric address for SIP"},
    {.key = "port",
     .type = MCX_CONF_UINT,
     .offset = SIP(port),
     .def = "5070",
     .min = 1,
     .max = 65535,
     .help = "SIP port (UDP and TCP)"},
    {.key = "transports",
     .type = MCX_CONF_STRLIST,
     .offset = SIP(transports),
     .size = 8,
     .cap = 2,
     .count_offset = SIP(n_transports),
     .help = "udp and/or tcp"},
    {0},
};

#define ST(f) offsetof(server_store_conf_t, f)
static const mcx_conf_field_t store_fields[] = {
    {.key = "path",
     .type = MCX_CONF_STRING,
     .offset = ST(path),
     .size = SERVER_PATH_MAX,
     .required = true,
     .help = "SQLite database file"},
    {0},
};

#define SV(f) offsetof(server_opts_t, f)
static const mcx_conf_field_t server_fields[] = {
    {.key = "psi",
     .type = MCX_CONF_STRING,
     .offset = SV(psi),
     .size = SERVER_ID_MAX,
     .required = true,
     .help = "the MC service server PSI, sip:mcptt-server@<realm>"},
    {.key = "cms_url",
     .type = MCX_CONF_STRING,
     .offset = SV(cms_url),
     .size = SERVER_URL_MAX,
     .required = true,
     .help = "plain-HTTP XCAP root of the CMS"},
    {.key = "cms_timeout_ms",
     .type = MCX_CONF_UINT,
     .offset = SV(cms_timeout_ms),
     .def = "2000",
     .min = 50,
     .max = 60000},
    {.key = "publish_expires",
     .type = MCX_CONF_UINT,
     .offset = SV(publish_expires),
     .def = "3600",
     .min = 1,
     .max = 604800},
    {.key = "publish_max_expires",
     .type = MCX_CONF_UINT,
     .offset = SV(publish_max_expires),
     .def = "86400",
     .min = 1,
     .max = 604800},
    {0},
};

const mcx_conf_field_t server_conf_table[] = {
    {.key = "sip",
     .type = MCX_CONF_MAP,
     .offset = offsetof(server_config_t, sip),
     .sub = sip_fields},
    {.key = "http",
     .type = MCX_CONF_MAP,
     .offset = offsetof(server_config_t, http),
     .sub = mcx_http_conf_fields},
    {.key = "log_level",
     .type = MCX_CONF_ENUM,
     .offset = offsetof(server_config_t, log_level),
     .def = "info",
     .enum_names = log_levels},
    {.key = "store",
     .type = MCX_CONF_MAP,
     .offset = offsetof(server_config_t, store),
     .sub = store_fields,
     .required = true},
    {.key = "auth",
     .type = MCX_CONF_MAP,
     .offset = offsetof(server_config_t, auth),
     .sub = mcx_jose_auth_conf_fields,
     .required = true},
    {.key = "server",
     .type = MCX_CONF_MAP,
     .offset = offsetof(server_config_t, server),
     .sub = server_fields,
     .required = true},
    {0},
};

int server_config_load(const char *path, server_config_t *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    int rv = mcx_conf_load_file(path, server_conf_table, cfg, err, errlen);
    if (rv)
        return rv;
    server_sip_conf_t *s = &cfg->sip;
    if (s->n_transports == 0) {
        s->tp_mask = SERVER_TP_UDP | SERVER_TP_TCP;
    }
    for (unsigned i = 0; i < s->n_transports; i++) {
        if (!strcasecmp(s->transports[i], "udp"))
            s->tp_mask |= SERVER_TP_UDP;
        else if (!strcasecmp(s->transports[i], "tcp"))
            s->tp_mask |= SERVER_TP_TCP;
        else {
            snprintf(err, errlen, "%s: sip.transports: '%s' is not udp or tcp", path,
                     s->transports[i]);
            return -EINVAL;
        }
    }
    const char *psi = cfg->server.psi;
    if (strncmp(psi, "sip:", 4) != 0 || !strchr(psi + 4, '@') || strpbrk(psi, " <>;")) {
        snprintf(err, errlen, "%s: server.psi: '%s' is not sip:user@host", path, psi);
        return -EINVAL;
    }
    const char *u = cfg->server.cms_url;
    if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) {
        snprintf(err, errlen, "%s: server.cms_url: '%s' is not an http(s) URL", path, u);
        return -EINVAL;
    }
    size_t ul = strlen(u);
    while (ul > 0 && cfg->server.cms_url[ul - 1] == '/') /* we add the slashes */
        cfg->server.cms_url[--ul] = '\0';
    if (cfg->server.publish_expires > cfg->server.publish_max_expires) {
        snprintf(err, errlen, "%s: server.publish_expires is above publish_max_expires", path);
        return -EINVAL;
    }
    if (!cfg->auth.audience[0] || cfg->auth.n_trust == 0) {
        snprintf(err, errlen,
                 "%s: auth: an audience and at least one trusted issuer are "
                 "required",
                 path);
        return -EINVAL;
    }
    return 0;
}

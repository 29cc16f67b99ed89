/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* mcx-cms's YAML table and the checks the table cannot express. */
#include "cms-context.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const log_levels[] = {"error", "warn", "notice", "info", "debug", NULL};

static const mcx_conf_field_t store_fields[] = {
    {.key = "path", .type = MCX_CONF_STRING, .offset = offsetof(cms_store_conf_t, path),
     .size = 4096, .required = true, .help = "SQLite database of the XCAP documents"},
    {0},
};

#define O(f) offsetof(cms_options_t, f)
static const mcx_conf_field_t cms_fields[] = {
    {.key = "xcap_root", .type = MCX_CONF_STRING, .offset = O(xcap_root), .size = 256,
     .required = true, .help = "public URL of the XCAP root (https://host:port/cms)"},
    {.key = "realm", .type = MCX_CONF_STRING, .offset = O(realm), .size = 64, .def = "mcx-cms",
     .help = "realm of WWW-Authenticate"},
    {.key = "max_profiles_per_user", .type = MCX_CONF_UINT, .offset = O(max_profiles_per_user),
     .def = "8", .min = 1, .max = CMS_MAX_PROFILE_INDEX + 1,
     .help = "user profile documents one user may have"},
    {.key = "max_doc", .type = MCX_CONF_UINT, .offset = O(max_doc), .def = "262144",
     .min = 1024, .max = 16777216, .help = "largest document accepted (bytes)"},
    {0},
};

const mcx_conf_field_t cms_conf_table[] = {
    {.key = "http", .type = MCX_CONF_MAP, .offset = offsetof(cms_config_t, http),
     .sub = mcx_http_conf_fields, .required = true},
    {.key = "log_level", .type = MCX_CONF_ENUM, .offset = offsetof(cms_config_t, log_level),
     .def = "info", .enum_names = log_levels},
    {.key = "store", .type = MCX_CONF_MAP, .offset = offsetof(cms_config_t, store),
     .sub = store_fields, .required = true},
    {.key = "auth", .type = MCX_CONF_MAP, .offset = offsetof(cms_config_t, auth),
     .sub = mcx_jose_auth_conf_fields, .required = true},
    {.key = "cms", .type = MCX_CONF_MAP, .offset = offsetof(cms_config_t, cms), .sub = cms_fields,
     .required = true},
    {0},
};

int cms_config_load(const char *path, cms_config_t *cfg, char *err, size_t errlen)
{
    int rv = mcx_conf_load_file(path, cms_conf_table, cfg, err, errlen);
    if (rv)
        return rv;
    size_t l = strlen(cfg->cms.xcap_root);
    if (strncmp(cfg->cms.xcap_root, "http://", 7) && strncmp(cfg->cms.xcap_root, "https://", 8)) {
        snprintf(err, errlen, "%s: cms.xcap_root: '%s' is not an http(s) URL", path,
                 cfg->cms.xcap_root);
        return -EINVAL;
    }
    if (l && cfg->cms.xcap_root[l - 1] == '/')
        cfg->cms.xcap_root[l - 1] = '\0'; /* the XCAP root has no trailing '/' */
    if (!cfg->auth.audience[0]) {
        snprintf(err, errlen, "%s: auth.audience: required (e.g. cms.alpha.test)", path);
        return -EINVAL;
    }
    if (cfg->auth.n_trust == 0) {
        snprintf(err, errlen, "%s: auth.trust: at least one trusted issuer is required", path);
        return -EINVAL;
    }
    return 0;
}

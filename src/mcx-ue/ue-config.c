/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-ue configuration table and the checks the loader cannot express:
 * key encodings, OP versus OPc, the IMPU form, the home domain default.
 * Owns nothing after loading; the caller owns the ue_config_t.
 */
#include "ue-config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

static const char *const log_levels[] = {"error", "warn", "notice", "info", "debug", NULL};
static const char *const transports[] = {"udp", "tcp", NULL};

#define I(f) offsetof(ue_isim_conf_t, f)
static const mcx_conf_field_t isim_fields[] = {
    {.key = "impi",
     .type = MCX_CONF_STRING,
     .offset = I(impi),
     .size = UE_ID_MAX,
     .required = true,
     .help = "private user identity, e.g. alice@alpha.test"},
    {.key = "impu",
     .type = MCX_CONF_STRING,
     .offset = I(impu),
     .size = UE_ID_MAX,
     .required = true,
     .help = "public user identity, e.g. sip:alice@alpha.test"},
    {.key = "domain",
     .type = MCX_CONF_STRING,
     .offset = I(domain),
     .size = UE_ID_MAX,
     .def = "",
     .help = "home network domain (Request-URI, realm); default: IMPU host"},
    {.key = "k",
     .type = MCX_CONF_STRING,
     .offset = I(k_hex),
     .size = 40,
     .def = "",
     .help = "AKA long-term key K, 32 hex digits"},
    {.key = "op",
     .type = MCX_CONF_STRING,
     .offset = I(op_hex),
     .size = 40,
     .def = "",
     .help = "operator variant OP, 32 hex digits (or give opc)"},
    {.key = "opc",
     .type = MCX_CONF_STRING,
     .offset = I(opc_hex),
     .size = 40,
     .def = "",
     .help = "OPc, 32 hex digits (or give op)"},
    {.key = "amf",
     .type = MCX_CONF_STRING,
     .offset = I(amf_hex),
     .size = 8,
     .def = "8000",
     .help = "AMF, 4 hex digits (informational: MAC-A is checked with the AMF in AUTN)"},
    {.key = "sqn_file",
     .type = MCX_CONF_STRING,
     .offset = I(sqn_file),
     .size = UE_PATH_MAX,
     .def = "",
     .help = "file holding SEQ_MS per IND slot; required for AKA"},
    {.key = "ind_bits",
     .type = MCX_CONF_UINT,
     .offset = I(ind_bits),
     .def = "5",
     .min = 0,
     .max = 10,
     .help = "IND length in bits (TS 33.102 Annex C)"},
    {.key = "delta_log2",
     .type = MCX_CONF_UINT,
     .offset = I(delta_log2),
     .def = "28",
     .min = 1,
     .max = 47,
     .help = "SQN freshness window as a power of two"},
    {.key = "password",
     .type = MCX_CONF_STRING,
     .offset = I(password),
     .size = UE_ID_MAX,
     .def = "",
     .help = "SIP Digest password"},
    {0},
};

#define S(f) offsetof(ue_sip_conf_t, f)
static const mcx_conf_field_t sip_fields[] = {
    {.key = "proxy",
     .type = MCX_CONF_STRING,
     .offset = S(proxy),
     .size = UE_ID_MAX,
     .def = "127.0.0.1",
     .help = "IPv4 address of the SIP core entry point"},
    {.key = "port",
     .type = MCX_CONF_UINT,
     .offset = S(port),
     .def = "5060",
     .min = 1,
     .max = 65535},
    {.key = "transport",
     .type = MCX_CONF_ENUM,
     .offset = S(transport),
     .def = "udp",
     .enum_names = transports},
    {.key = "local_address",
     .type = MCX_CONF_STRING,
     .offset = S(local_address),
     .size = 64,
     .def = "127.0.0.1"},
    {.key = "local_port",
     .type = MCX_CONF_UINT,
     .offset = S(local_port),
     .def = "0",
     .min = 0,
     .max = 65535},
    {.key = "expires",
     .type = MCX_CONF_UINT,
     .offset = S(expires),
     .def = "600",
     .min = 1,
     .max = 604800,
     .help = "Expires asked for in REGISTER (seconds)"},
    {.key = "timeout_seconds",
     .type = MCX_CONF_UINT,
     .offset = S(timeout_seconds),
     .def = "32",
     .min = 1,
     .max = 3600},
    {.key = "max_challenges",
     .type = MCX_CONF_UINT,
     .offset = S(max_challenges),
     .def = "4",
     .min = 1,
     .max = 16},
    {.key = "retries",
     .type = MCX_CONF_UINT,
     .offset = S(retries),
     .def = "2",
     .min = 0,
     .max = 10,
     .help = "REGISTER sent again after 408, 500, 503 or 504"},
    {.key = "retry_seconds",
     .type = MCX_CONF_UINT,
     .offset = S(retry_seconds),
     .def = "1",
     .min = 1,
     .max = 300,
     .help = "first wait before a retry without Retry-After; doubles each time"},
    {.key = "user_agent",
     .type = MCX_CONF_STRING,
     .offset = S(user_agent),
     .size = 64,
     .def = "mcx-ue"},
    {0},
};

#define M(f) offsetof(ue_mc_conf_t, f)
static const mcx_conf_field_t mc_fields[] = {
    {.key = "idms_url",
     .type = MCX_CONF_STRING,
     .offset = M(idms_url),
     .size = UE_URL_MAX,
     .def = "",
     .help = "IdMS issuer (base URL), e.g. https://127.0.0.1:8443/idms"},
    {.key = "cms_url",
     .type = MCX_CONF_STRING,
     .offset = M(cms_url),
     .size = UE_URL_MAX,
     .def = "",
     .help = "CMS XCAP root, e.g. https://127.0.0.1:8443/cms"},
    {.key = "gms_url",
     .type = MCX_CONF_STRING,
     .offset = M(gms_url),
     .size = UE_URL_MAX,
     .def = "",
     .help = "GMS XCAP root, e.g. https://127.0.0.1:8443/gms"},
    {.key = "ca_file",
     .type = MCX_CONF_STRING,
     .offset = M(ca_file),
     .size = UE_PATH_MAX,
     .def = "",
     .help = "PEM file of the CAs trusted for the HTTPS servers; default: system store"},
    {.key = "allow_plain_http",
     .type = MCX_CONF_BOOL,
     .offset = M(allow_plain_http),
     .def = "false",
     .help = "accept http:// URLs (tests without the TLS proxy only)"},
    {.key = "username",
     .type = MCX_CONF_STRING,
     .offset = M(username),
     .size = UE_ID_MAX,
     .def = "",
     .help = "MC service user name at the IdMS"},
    {.key = "password",
     .type = MCX_CONF_STRING,
     .offset = M(password),
     .size = UE_ID_MAX,
     .def = "",
     .help = "MC service user password (or password_file)"},
    {.key = "password_file",
     .type = MCX_CONF_STRING,
     .offset = M(password_file),
     .size = UE_PATH_MAX,
     .def = "",
     .help = "file whose first line is the password"},
    {.key = "client_id",
     .type = MCX_CONF_STRING,
     .offset = M(client_id),
     .size = 128,
     .def = "mcx-ue"},
    {.key = "redirect_uri",
     .type = MCX_CONF_STRING,
     .offset = M(redirect_uri),
     .size = UE_ID_MAX,
     .def = "org.mcxcore.ue:/oauth2redirect"},
    {.key = "scopes",
     .type = MCX_CONF_STRING,
     .offset = M(scopes),
     .size = 512,
     .def = "openid 3gpp:mc:ptt_service 3gpp:mc:ptt_config_management_service "
            "3gpp:mc:ptt_group_management_service"},
    {.key = "mcptt_id",
     .type = MCX_CONF_STRING,
     .offset = M(mcptt_id),
     .size = UE_ID_MAX,
     .def = "",
     .help = "MC service ID (XCAP user); default: the access token's mcptt_id"},
    {.key = "server_psi",
     .type = MCX_CONF_STRING,
     .offset = M(server_psi),
     .size = UE_ID_MAX,
     .def = "",
     .help = "MC service server PSI; default sip:mcptt-server@<domain>"},
    {.key = "publish_expires",
     .type = MCX_CONF_UINT,
     .offset = M(publish_expires),
     .def = "3600",
     .min = 1,
     .max = 86400},
    {.key = "state_dir",
     .type = MCX_CONF_STRING,
     .offset = M(state_dir),
     .size = UE_PATH_MAX,
     .def = "",
     .help = "directory for downloaded documents, ETags and tokens (0700)"},
    {.key = "http_timeout_s",
     .type = MCX_CONF_UINT,
     .offset = M(http_timeout_s),
     .def = "10",
     .min = 1,
     .max = 300},
    {0},
};

const mcx_conf_field_t ue_conf_table[] = {
    {.key = "isim",
     .type = MCX_CONF_MAP,
     .offset = offsetof(ue_config_t, isim),
     .sub = isim_fields,
     .required = true},
    {.key = "sip", .type = MCX_CONF_MAP, .offset = offsetof(ue_config_t, sip), .sub = sip_fields},
    {.key = "mc", .type = MCX_CONF_MAP, .offset = offsetof(ue_config_t, mc), .sub = mc_fields},
    {.key = "log_level",
     .type = MCX_CONF_ENUM,
     .offset = offsetof(ue_config_t, log_level),
     .def = "notice",
     .enum_names = log_levels},
    {0},
};

static int fail(char *err, size_t errlen, const char *name, const char *what)
{
    snprintf(err, errlen, "%s: %s", name, what);
    return -EINVAL;
}

/* The host part of a sip: URI, without port or parameters. */
static int impu_host(const char *impu, char *out, size_t outlen)
{
    if (strncmp(impu, "sip:", 4) != 0 && strncmp(impu, "tel:", 4) != 0)
        return -EINVAL;
    if (strncmp(impu, "tel:", 4) == 0)
        return -ENOENT; /* a tel URI has no domain: domain must be configured */
    const char *h = strchr(impu + 4, '@');
    h = h ? h + 1 : impu + 4;
    size_t n = strcspn(h, ":;>?");
    if (n == 0 || n >= outlen)
        return -EINVAL;
    memcpy(out, h, n);
    out[n] = '\0';
    return 0;
}

static bool url_ok(const char *url, bool plain)
{
    return !strncmp(url, "https://", 8) || (plain && !strncmp(url, "http://", 7));
}

/* Read the first line of `path` into out (trailing CR/LF removed). */
static int read_password(const char *path, char *out, size_t outlen)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -errno;
    int rv = fgets(out, (int)outlen, fp) ? 0 : -EINVAL;
    fclose(fp);
    if (!rv)
        out[strcspn(out, "\r\n")] = '\0';
    if (!rv && !out[0])
        rv = -EINVAL;
    return rv;
}

static int check_mc(const char *name, ue_config_t *cfg, char *err, size_t errlen)
{
    ue_mc_conf_t *mc = &cfg->mc;
    struct {
        const char *key;
        char *val;
    } urls[] = {{"mc.idms_url", mc->idms_url},
                {"mc.cms_url", mc->cms_url},
                {"mc.gms_url", mc->gms_url}};
    char what[160];
    for (size_t i = 0; i < 3; i++) {
        char *u = urls[i].val;
        if (!u[0])
            continue;
        if (!url_ok(u, mc->allow_plain_http)) {
            snprintf(what, sizeof(what), "%s: must be an https:// URL%s", urls[i].key,
                     mc->allow_plain_http ? " or http://" : " (TLS is mandatory on CSC-1/2/4)");
            return fail(err, errlen, name, what);
        }
        if (strpbrk(u, " \"<>?#"))
            return fail(err, errlen, name, "mc: URLs must not hold spaces, quotes, query or fragment");
        /* Relative paths are appended: keep the base without a trailing slash. */
        size_t n = strlen(u);
        while (n > 8 && u[n - 1] == '/')
            u[--n] = '\0';
    }
    if ((mc->cms_url[0] || mc->gms_url[0]) && !mc->idms_url[0])
        return fail(err, errlen, name, "mc.cms_url/gms_url need mc.idms_url (the access token)");
    if (!mc->idms_url[0])
        return 0;
    if (!mc->username[0])
        return fail(err, errlen, name, "mc.username: required with mc.idms_url");
    if (mc->password[0] && mc->password_file[0])
        return fail(err, errlen, name, "mc: give password or password_file, not both");
    if (mc->password_file[0]) {
        int rv = read_password(mc->password_file, mc->password, sizeof(mc->password));
        if (rv) {
            snprintf(what, sizeof(what), "mc.password_file: %s",
                     rv == -EINVAL ? "empty or unreadable first line" : strerror(-rv));
            return fail(err, errlen, name, what);
        }
    }
    if (!mc->password[0])
        return fail(err, errlen, name, "mc.password: required with mc.idms_url");
    if (!mc->client_id[0] || !mc->redirect_uri[0] || !mc->scopes[0])
        return fail(err, errlen, name, "mc: client_id, redirect_uri and scopes must not be empty");
    if (!mc->server_psi[0]) {
        char psi[UE_ID_MAX + 32];
        snprintf(psi, sizeof(psi), "sip:mcptt-server@%s", cfg->isim.domain);
        if (mcx_strlcpy(mc->server_psi, psi, sizeof(mc->server_psi)))
            return fail(err, errlen, name, "mc.server_psi: the default is too long; give one");
    }
    if (strncmp(mc->server_psi, "sip:", 4) || strpbrk(mc->server_psi, "\" <>"))
        return fail(err, errlen, name, "mc.server_psi: not a sip: URI");
    if (mc->mcptt_id[0] && strpbrk(mc->mcptt_id, "\" <>/?#"))
        return fail(err, errlen, name, "mc.mcptt_id: must be a bare URI");
    return 0;
}

bool ue_config_has_mc(const ue_config_t *cfg)
{
    return cfg->mc.idms_url[0] != '\0';
}

static int check(const char *name, ue_config_t *cfg, char *err, size_t errlen)
{
    ue_isim_conf_t *is = &cfg->isim;
    int rv = 0;

    if (strchr(is->impi, '"') || strchr(is->impi, '\\') || strchr(is->impi, ' '))
        return fail(err, errlen, name, "isim.impi: must not contain quotes, spaces or '\\'");
    if (!is->domain[0]) {
        rv = impu_host(is->impu, is->domain, sizeof(is->domain));
        if (rv == -ENOENT)
            return fail(err, errlen, name, "isim.domain: required with a tel: IMPU");
        if (rv)
            return fail(err, errlen, name, "isim.impu: not a sip: or tel: URI with a host");
    } else if (strncmp(is->impu, "sip:", 4) && strncmp(is->impu, "tel:", 4)) {
        return fail(err, errlen, name, "isim.impu: not a sip: or tel: URI");
    }
    if (strpbrk(is->domain, "\" <>;:@"))
        return fail(err, errlen, name, "isim.domain: must be a bare host name");
    if (strpbrk(is->impu, "\" <>"))
        return fail(err, errlen, name, "isim.impu: must not contain quotes, spaces or <>");

    if (mcx_hex_decode(is->amf_hex, cfg->amf, MCX_AKA_AMF_LEN))
        return fail(err, errlen, name, "isim.amf: not 4 hex digits");

    bool have_k = is->k_hex[0] != '\0';
    bool have_op = is->op_hex[0] != '\0', have_opc = is->opc_hex[0] != '\0';
    if (have_op && have_opc)
        return fail(err, errlen, name, "isim: give op or opc, not both");
    if (have_k != (have_op || have_opc))
        return fail(err, errlen, name, "isim: k needs op or opc, and op/opc need k");
    if (have_k) {
        if (mcx_hex_decode(is->k_hex, cfg->k, MCX_AKA_K_LEN))
            return fail(err, errlen, name, "isim.k: not 32 hex digits");
        if (have_opc) {
            if (mcx_hex_decode(is->opc_hex, cfg->opc, MCX_AKA_OPC_LEN))
                return fail(err, errlen, name, "isim.opc: not 32 hex digits");
        } else {
            uint8_t op[MCX_AKA_OPC_LEN];
            if (mcx_hex_decode(is->op_hex, op, sizeof(op)))
                return fail(err, errlen, name, "isim.op: not 32 hex digits");
            rv = mcx_milenage_opc(cfg->k, op, cfg->opc);
            OPENSSL_cleanse(op, sizeof(op));
            if (rv)
                return fail(err, errlen, name, "isim.op: cannot derive OPc");
        }
        if (!is->sqn_file[0])
            return fail(err, errlen, name, "isim.sqn_file: required with AKA keys");
        cfg->have_aka = true;
    }
    if (!cfg->have_aka && !is->password[0])
        return fail(err, errlen, name, "isim: neither AKA keys (k, op/opc) nor a password");
    return check_mc(name, cfg, err, errlen);
}

int ue_config_load(const char *path, ue_config_t *cfg, char *err, size_t errlen)
{
    int rv = mcx_conf_load_file(path, ue_conf_table, cfg, err, errlen);
    return rv ? rv : check(path, cfg, err, errlen);
}

int ue_config_load_string(const char *name, const char *text, ue_config_t *cfg, char *err,
                          size_t errlen)
{
    int rv = mcx_conf_load_string(name, text, ue_conf_table, cfg, err, errlen);
    return rv ? rv : check(name, cfg, err, errlen);
}

void ue_config_wipe(ue_config_t *cfg)
{
    OPENSSL_cleanse(cfg->k, sizeof(cfg->k));
    OPENSSL_cleanse(cfg->opc, sizeof(cfg->opc));
    OPENSSL_cleanse(cfg->isim.k_hex, sizeof(cfg->isim.k_hex));
    OPENSSL_cleanse(cfg->isim.op_hex, sizeof(cfg->isim.op_hex));
    OPENSSL_cleanse(cfg->isim.opc_hex, sizeof(cfg->isim.opc_hex));
    OPENSSL_cleanse(cfg->isim.password, sizeof(cfg->isim.password));
    OPENSSL_cleanse(cfg->mc.password, sizeof(cfg->mc.password));
}

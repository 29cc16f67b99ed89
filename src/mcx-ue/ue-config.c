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
    {.key = "user_agent",
     .type = MCX_CONF_STRING,
     .offset = S(user_agent),
     .size = 64,
     .def = "mcx-ue"},
    {0},
};

const mcx_conf_field_t ue_conf_table[] = {
    {.key = "isim",
     .type = MCX_CONF_MAP,
     .offset = offsetof(ue_config_t, isim),
     .sub = isim_fields,
     .required = true},
    {.key = "sip", .type = MCX_CONF_MAP, .offset = offsetof(ue_config_t, sip), .sub = sip_fields},
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
    return 0;
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
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-ue configuration: the ISIM data (identities, AKA keys, SQN state file,
 * Digest password) and the SIP-1 transport towards the SIP core, loaded from
 * one YAML file with the table-driven loader of lib/core.
 */
#ifndef UE_CONFIG_H
#define UE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "auth/mcx-auth.h"
#include "core/mcx-core.h"

#define UE_ID_MAX 256
#define UE_PATH_MAX 4096

typedef enum { UE_TRANSPORT_UDP = 0, UE_TRANSPORT_TCP = 1 } ue_transport_t;

typedef struct {
    char impi[UE_ID_MAX];
    char impu[UE_ID_MAX];
    char domain[UE_ID_MAX]; /* home network domain; "" = host part of the IMPU */
    char k_hex[40];
    char op_hex[40];
    char opc_hex[40];
    char amf_hex[8];
    char sqn_file[UE_PATH_MAX];
    uint32_t ind_bits;
    uint32_t delta_log2;      /* freshness window: SEQ - max(SEQ_MS) < 2^delta_log2 */
    char password[UE_ID_MAX]; /* SIP Digest */
} ue_isim_conf_t;

typedef struct {
    char proxy[UE_ID_MAX]; /* IPv4 address of the SIP core entry point */
    uint32_t port;
    int transport; /* ue_transport_t */
    char local_address[64];
    uint32_t local_port; /* 0 = any free port */
    uint32_t expires;
    uint32_t timeout_seconds; /* give up on the whole registration after this */
    uint32_t max_challenges;  /* 401s accepted in a row before giving up */
    uint32_t retries;         /* REGISTERs sent again after 408/500/503/504 */
    uint32_t retry_seconds;   /* first wait without Retry-After; doubles */
    char user_agent[64];
} ue_sip_conf_t;

/* The MC service side (TS 23.280 10.1.1.1): IdMS, CMS, GMS, MC service server. */
#define UE_URL_MAX 1024
typedef struct {
    char idms_url[UE_URL_MAX]; /* IdMS issuer / base URL; "" = no MC phases */
    char cms_url[UE_URL_MAX];  /* CMS XCAP root */
    char gms_url[UE_URL_MAX];  /* GMS XCAP root */
    char ca_file[UE_PATH_MAX];
    bool allow_plain_http;
    char username[UE_ID_MAX];
    char password[UE_ID_MAX];
    char password_file[UE_PATH_MAX];
    char client_id[128];
    char redirect_uri[UE_ID_MAX];
    char scopes[512];
    char mcptt_id[UE_ID_MAX];   /* "" = from the access token, else the IMPU */
    char server_psi[UE_ID_MAX]; /* "" = sip:mcptt-server@<domain> */
    uint32_t publish_expires;
    char state_dir[UE_PATH_MAX]; /* "" = keep nothing on disk */
    uint32_t http_timeout_s;
} ue_mc_conf_t;

typedef struct {
    ue_isim_conf_t isim;
    ue_sip_conf_t sip;
    ue_mc_conf_t mc;
    int log_level;
    /* Derived by ue_config_load(): */
    uint8_t k[MCX_AKA_K_LEN];
    uint8_t opc[MCX_AKA_OPC_LEN];
    uint8_t amf[MCX_AKA_AMF_LEN];
    bool have_aka; /* K and OP/OPc given */
} ue_config_t;

extern const mcx_conf_field_t ue_conf_table[];

/*
 * Load and check the YAML file at `path` into *cfg (zeroed by the caller):
 * decodes K, OP/OPc (OPc computed from OP) and AMF, fills the domain from the
 * IMPU when absent. Returns 0, or -errno with "<file>[:line]: key: reason" in `err`.
 */
int ue_config_load(const char *path, ue_config_t *cfg, char *err, size_t errlen);

/* As ue_config_load, from a string (`name` labels errors); for tests. */
int ue_config_load_string(const char *name, const char *text, ue_config_t *cfg, char *err,
                          size_t errlen);

/* True when the `mc:` section names an IdMS (the MC phases can run). */
bool ue_config_has_mc(const ue_config_t *cfg);

/* Forget the key material held in *cfg (K, OP, OPc, passwords). */
void ue_config_wipe(ue_config_t *cfg);

#endif /* UE_CONFIG_H */

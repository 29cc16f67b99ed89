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
    char user_agent[64];
} ue_sip_conf_t;

typedef struct {
    ue_isim_conf_t isim;
    ue_sip_conf_t sip;
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

/* Forget the key material held in *cfg (K, OP, OPc, password). */
void ue_config_wipe(ue_config_t *cfg);

#endif /* UE_CONFIG_H */

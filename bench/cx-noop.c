/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-cx-noop: the reference Cx server of the benchmarks. The same
 * freeDiameter stack as mcx-sipdb (lib/diameter, the Cx dictionary, the same
 * `diameter:` YAML section and thread count), answering every MAR with a
 * fixed IMS AKA MAA of the same shape and sizes as a real one, and nothing
 * else: no store, no Milenage. Not a SIP database; never deploy it.
 */
#include "cx/mcx-diameter-cx.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    mcx_diam_config_t diameter;
} noop_config_t;

static const mcx_conf_field_t top_fields[] = {
    {.key = "diameter",
     .type = MCX_CONF_MAP,
     .offset = offsetof(noop_config_t, diameter),
     .sub = mcx_diam_conf_fields,
     .required = true},
    {0},
};

/*
 * The precomputed vector: RAND||AUTN (32 octets), XRES (8), CK (16), IK (16),
 * the sizes mcx-sipdb sends for one Digest-AKAv1-MD5 item. The values are
 * arbitrary: nobody authenticates against them.
 */
static uint8_t fixed_challenge[32], fixed_xres[8], fixed_ck[16], fixed_ik[16];

static atomic_ulong n_mar, n_failed;

/* Copy the value of a top-level UTF8String AVP of `req` into `buf`; "" if absent. */
static void echo_of(struct msg *req, uint32_t code, uint32_t vendor, char *buf, size_t len)
{
    struct avp *a;
    const union avp_value *v;
    buf[0] = '\0';
    if (mcx_diam_find(req, code, vendor, &a) == 0 && (v = mcx_diam_value(a))) {
        size_t n = v->os.len < len - 1 ? v->os.len : len - 1;
        memcpy(buf, v->os.data, n);
        buf[n] = '\0';
    }
}

/*
 * The MAA mcx-sipdb sends for one AKA vector, with the identities echoed
 * as the request carried them (what an S-CSCF expects).
 */
static int fill_maa(struct msg *ans, const char *impi, const char *impu)
{
    int rv = mcx_diam_add_vsai(ans, MCX_3GPP_VENDOR_ID, MCX_CX_APP_ID);
    if (!rv)
        rv = mcx_diam_add_u32(ans, mcx_diam_avp_result_code, MCX_DIAM_SUCCESS);
    if (!rv)
        rv = mcx_diam_add_i32(ans, mcx_diam_avp_auth_session_state, 1);
    if (!rv)
        rv = -fd_msg_add_origin(ans, 0);
    if (!rv && impi[0])
        rv = mcx_diam_add_str(ans, mcx_diam_avp_user_name, impi);
    if (!rv && impu[0])
        rv = mcx_diam_add_str(ans, mcx_cx_avp_public_identity, impu);
    if (!rv)
        rv = mcx_diam_add_u32(ans, mcx_cx_avp_sip_number_auth_items, 1);
    struct avp *item = NULL;
    if (!rv)
        rv = mcx_diam_add_grouped(ans, mcx_cx_avp_sip_auth_data_item, &item);
    if (!rv)
        rv = mcx_diam_add_u32(item, mcx_cx_avp_sip_item_number, 1);
    if (!rv)
        rv = mcx_diam_add_str(item, mcx_cx_avp_sip_authentication_scheme, MCX_CX_SCHEME_AKAV1);
    if (!rv)
        rv = mcx_diam_add_os(item, mcx_cx_avp_sip_authenticate, fixed_challenge,
                             sizeof(fixed_challenge));
    if (!rv)
        rv = mcx_diam_add_os(item, mcx_cx_avp_sip_authorization, fixed_xres, sizeof(fixed_xres));
    if (!rv)
        rv = mcx_diam_add_os(item, mcx_cx_avp_confidentiality_key, fixed_ck, sizeof(fixed_ck));
    if (!rv)
        rv = mcx_diam_add_os(item, mcx_cx_avp_integrity_key, fixed_ik, sizeof(fixed_ik));
    return rv;
}

/* Runs on freeDiameter's AppServThreads; touches only constants and atomics. */
static int mar_cb(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                  enum disp_action *act)
{
    char impi[256], impu[256];
    atomic_fetch_add(&n_mar, 1);
    echo_of(*msg, MCX_AVP_USER_NAME, 0, impi, sizeof(impi));
    echo_of(*msg, MCX_CX_AVP_PUBLIC_IDENTITY, MCX_3GPP_VENDOR_ID, impu, sizeof(impu));
    int rv = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0);
    if (!rv)
        rv = -fill_maa(*msg, impi, impu);
    if (rv) {
        /* freeDiameter answers 5012 for us when a callback fails. */
        atomic_fetch_add(&n_failed, 1);
        return rv;
    }
    *act = DISP_ACT_SEND;
    return 0;
}

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: mcx-cx-noop -c FILE.yaml\n"
                "\n"
                "Benchmark reference: a Cx server on the mcxcore Diameter stack that answers\n"
                "every MAR with a fixed IMS AKA MAA (one SIP-Auth-Data-Item, 32+8+16+16\n"
                "octets) and does nothing else. It has no handler for other Cx commands.\n"
                "\n"
                "  -c, --config FILE  YAML with a `diameter:` section, as mcx-sipdb's\n"
                "  -h, --help         this text\n"
                "\n"
                "SIGTERM or SIGINT stops it.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *path = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!path || optind != argc) {
        usage(stderr);
        return 2;
    }
    mcx_log_init("mcx-cx-noop", MCX_LOG_NOTICE);

    static noop_config_t cfg;
    char err[600];
    if (mcx_conf_load_file(path, top_fields, &cfg, err, sizeof(err))) {
        MCX_ERR("%s", err);
        return 1;
    }
    cfg.diameter.relay = false;
    for (size_t i = 0; i < sizeof(fixed_challenge); i++)
        fixed_challenge[i] = (uint8_t)(0x10 + i);
    memset(fixed_xres, 0x5a, sizeof(fixed_xres));
    memset(fixed_ck, 0xc4, sizeof(fixed_ck));
    memset(fixed_ik, 0x1c, sizeof(fixed_ik));

    if (mcx_signals_block()) {
        MCX_ERR("cannot block signals");
        return 1;
    }
    if (mcx_diam_init(&cfg.diameter) || mcx_cx_dict_init())
        return 1;
    struct disp_when when = {.app = mcx_cx_app, .command = mcx_cx_cmd_mar};
    struct disp_hdl *hdl = NULL;
    int rv = fd_disp_register(mar_cb, DISP_HOW_CC, &when, NULL, &hdl);
    if (!rv)
        /* In CER/CEA as Vendor-Specific-Application-Id {10415, Cx}, as mcx-sipdb. */
        rv = fd_disp_app_support(mcx_cx_app, mcx_cx_vendor, 1, 0);
    if (rv) {
        MCX_ERR("cannot register the Cx application: %s", strerror(rv));
        mcx_diam_final();
        return 1;
    }
    if (mcx_diam_start()) {
        mcx_diam_final();
        return 1;
    }
    MCX_NOTICE("answering MAR as %s (realm %s) on %s:%u", cfg.diameter.identity, cfg.diameter.realm,
               cfg.diameter.listen[0] ? cfg.diameter.listen : "*", cfg.diameter.port);

    int sig = mcx_signals_wait();
    MCX_NOTICE("%s: shutting down (MAR %lu, failed %lu)", strsignal(sig), atomic_load(&n_mar),
               atomic_load(&n_failed));
    mcx_diam_final();
    return 0;
}

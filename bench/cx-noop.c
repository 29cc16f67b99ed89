/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-cx-noop: the reference Cx server of the benchmarks. The same
 * freeDiameter stack as mcx-sipdb (lib/diameter, the Cx dictionary, the same
 * `diameter:` YAML section and thread count), answering MAR with a vector
 * computed once at start-up and SAR with a fixed User-Data template: no
 * store, no per-request Milenage. Not a SIP database; never deploy it.
 */
#include "cx/mcx-diameter-cx.h"
#include "mcx-auth.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The optional `noop:` section: what a registration through a real S-CSCF needs. */
typedef struct {
    char aka_k[40], aka_op[40], aka_amf[8];
    uint32_t aka_sqn;
    char digest_password[128], digest_realm[128], digest_qop[32];
} noop_options_t;

typedef struct {
    mcx_diam_config_t diameter;
    noop_options_t noop;
} noop_config_t;

#define N(f) offsetof(noop_options_t, f)
static const mcx_conf_field_t noop_fields[] = {
    {.key = "aka_k",
     .type = MCX_CONF_STRING,
     .offset = N(aka_k),
     .size = 40,
     .def = "",
     .help = "K (32 hex digits): answer AKA MARs with one real vector for K/OP"},
    {.key = "aka_op",
     .type = MCX_CONF_STRING,
     .offset = N(aka_op),
     .size = 40,
     .def = "",
     .help = "OP (32 hex digits), with aka_k"},
    {.key = "aka_amf", .type = MCX_CONF_STRING, .offset = N(aka_amf), .size = 8, .def = "8000"},
    {.key = "aka_sqn",
     .type = MCX_CONF_UINT,
     .offset = N(aka_sqn),
     .def = "32",
     .min = 1,
     .max = 0x7fffffff},
    {.key = "digest_password",
     .type = MCX_CONF_STRING,
     .offset = N(digest_password),
     .size = 128,
     .def = "",
     .help = "answer SIP Digest MARs: HA1 of IMPI:realm:password"},
    {.key = "digest_realm",
     .type = MCX_CONF_STRING,
     .offset = N(digest_realm),
     .size = 128,
     .def = "",
     .help = "Digest realm; empty: the IMPI after '@'"},
    {.key = "digest_qop",
     .type = MCX_CONF_STRING,
     .offset = N(digest_qop),
     .size = 32,
     .def = "auth"},
    {0},
};

static const mcx_conf_field_t top_fields[] = {
    {.key = "diameter",
     .type = MCX_CONF_MAP,
     .offset = offsetof(noop_config_t, diameter),
     .sub = mcx_diam_conf_fields,
     .required = true},
    {.key = "noop",
     .type = MCX_CONF_MAP,
     .offset = offsetof(noop_config_t, noop),
     .sub = noop_fields},
    {0},
};

static noop_config_t cfg;

/*
 * The precomputed vector: RAND||AUTN (32 octets), XRES (8), CK (16), IK (16),
 * the sizes mcx-sipdb sends for one Digest-AKAv1-MD5 item. Without aka_k the
 * values are arbitrary (Cx-only benchmarks: nobody authenticates); with it,
 * a real vector for K/OP and aka_sqn whose RES has no 0x00 octet (SIPp 3.6.1
 * gets such a RES wrong). Every AKA MAR gets the same one: SIPp does not
 * check SQN freshness, and a no-op answerer has no state to keep.
 */
static uint8_t fixed_challenge[32], fixed_xres[8], fixed_ck[16], fixed_ik[16];

static atomic_ulong n_mar, n_sar, n_failed;

/* The User-Data of every SAA: PrivateID and one PublicIdentity, filled in
 * with the SAR's User-Name and first Public-Identity (XML-escaped). */
static const char user_data_fmt[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<IMSSubscription><PrivateID>%s</PrivateID><ServiceProfile><PublicIdentity>"
    "<BarringIndication>0</BarringIndication><Identity>%s</Identity>"
    "<Extension><IdentityType>0</IdentityType></Extension></PublicIdentity>"
    "</ServiceProfile></IMSSubscription>";

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

/* The answer's common head: VSAI, Result-Code 2001, Auth-Session-State, Origin-*,
 * the identities echoed as the request carried them (what an S-CSCF expects). */
static int fill_head(struct msg *ans, const char *impi, const char *impu)
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
    if (!rv && impu && impu[0])
        rv = mcx_diam_add_str(ans, mcx_cx_avp_public_identity, impu);
    return rv;
}

/* The MAA mcx-sipdb sends for one AKA vector. */
static int fill_maa_aka(struct msg *ans, const char *impi, const char *impu)
{
    int rv = fill_head(ans, impi, impu);
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

/* The MAA mcx-sipdb sends for SIP Digest: HA1 = MD5(IMPI:realm:password). */
static int fill_maa_digest(struct msg *ans, const char *impi, const char *impu)
{
    const char *realm = cfg.noop.digest_realm;
    const char *at = strchr(impi, '@');
    if (!realm[0])
        realm = at ? at + 1 : "";
    char ha1[65];
    int rv = mcx_digest_ha1(MCX_DIGEST_MD5, impi, realm, (const uint8_t *)cfg.noop.digest_password,
                            strlen(cfg.noop.digest_password), ha1, sizeof(ha1));
    if (!rv)
        rv = fill_head(ans, impi, impu);
    if (!rv)
        rv = mcx_diam_add_u32(ans, mcx_cx_avp_sip_number_auth_items, 1);
    struct avp *item = NULL, *dig = NULL;
    if (!rv)
        rv = mcx_diam_add_grouped(ans, mcx_cx_avp_sip_auth_data_item, &item);
    if (!rv)
        rv = mcx_diam_add_u32(item, mcx_cx_avp_sip_item_number, 1);
    if (!rv)
        rv = mcx_diam_add_str(item, mcx_cx_avp_sip_authentication_scheme, MCX_CX_SCHEME_SIP_DIGEST);
    if (!rv)
        rv = mcx_diam_add_grouped(item, mcx_cx_avp_sip_digest_authenticate, &dig);
    if (!rv)
        rv = mcx_diam_add_str(dig, mcx_avp_digest_realm, realm);
    if (!rv)
        rv = mcx_diam_add_str(dig, mcx_avp_digest_algorithm, "MD5");
    if (!rv)
        rv = mcx_diam_add_str(dig, mcx_avp_digest_qop, cfg.noop.digest_qop);
    if (!rv)
        rv = mcx_diam_add_str(dig, mcx_avp_digest_ha1, ha1);
    return rv;
}

/* The SIP-Authentication-Scheme of the MAR's SIP-Auth-Data-Item, or "". */
static void scheme_of(struct msg *req, char *buf, size_t len)
{
    struct avp *item, *a;
    const union avp_value *v;
    buf[0] = '\0';
    if (mcx_diam_find(req, MCX_CX_AVP_SIP_AUTH_DATA_ITEM, MCX_3GPP_VENDOR_ID, &item) == 0 &&
        mcx_diam_find(item, MCX_CX_AVP_SIP_AUTHENTICATION_SCHEME, MCX_3GPP_VENDOR_ID, &a) == 0 &&
        (v = mcx_diam_value(a))) {
        size_t n = v->os.len < len - 1 ? v->os.len : len - 1;
        memcpy(buf, v->os.data, n);
        buf[n] = '\0';
    }
}

/* Runs on freeDiameter's AppServThreads; touches only constants and atomics. */
static int mar_cb(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                  enum disp_action *act)
{
    char impi[256], impu[256], scheme[64];
    atomic_fetch_add(&n_mar, 1);
    echo_of(*msg, MCX_AVP_USER_NAME, 0, impi, sizeof(impi));
    echo_of(*msg, MCX_CX_AVP_PUBLIC_IDENTITY, MCX_3GPP_VENDOR_ID, impu, sizeof(impu));
    scheme_of(*msg, scheme, sizeof(scheme));
    /* SIP Digest when asked for it and a password is configured; AKA otherwise. */
    bool digest = cfg.noop.digest_password[0] && strcasecmp(scheme, MCX_CX_SCHEME_SIP_DIGEST) == 0;
    int rv = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0);
    if (!rv)
        rv = digest ? -fill_maa_digest(*msg, impi, impu) : -fill_maa_aka(*msg, impi, impu);
    if (rv) {
        /* freeDiameter answers 5012 for us when a callback fails. */
        atomic_fetch_add(&n_failed, 1);
        return rv;
    }
    *act = DISP_ACT_SEND;
    return 0;
}

/* `in` with & < > " ' escaped into `out`; -ENOSPC if it does not fit. */
static int xml_escape(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (; *in; in++) {
        const char *rep = NULL;
        char one[2] = {*in, '\0'};
        switch (*in) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        default:
            rep = one;
            break;
        }
        size_t n = strlen(rep);
        if (o + n >= len)
            return -ENOSPC;
        memcpy(out + o, rep, n);
        o += n;
    }
    out[o] = '\0';
    return 0;
}

/* SAA 2001 with the User-Name echoed; User-Data for the assignment types that
 * carry it (TS 29.228 6.1.2: registration, re-registration, unregistered user,
 * no assignment, restoration), built from the request's identities. */
static int sar_cb(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                  enum disp_action *act)
{
    char impi[256], impu[256], e_impi[1280], e_impu[1280];
    char user_data[sizeof(user_data_fmt) + sizeof(e_impi) + sizeof(e_impu)];
    atomic_fetch_add(&n_sar, 1);
    echo_of(*msg, MCX_AVP_USER_NAME, 0, impi, sizeof(impi));
    echo_of(*msg, MCX_CX_AVP_PUBLIC_IDENTITY, MCX_3GPP_VENDOR_ID, impu, sizeof(impu));
    uint32_t sat = UINT32_MAX;
    struct avp *a;
    const union avp_value *v;
    if (mcx_diam_find(*msg, MCX_CX_AVP_SERVER_ASSIGNMENT_TYPE, MCX_3GPP_VENDOR_ID, &a) == 0 &&
        (v = mcx_diam_value(a)))
        sat = (uint32_t)v->i32;
    bool with_data = sat == MCX_SAT_NO_ASSIGNMENT || sat == MCX_SAT_REGISTRATION ||
                     sat == MCX_SAT_RE_REGISTRATION || sat == MCX_SAT_UNREGISTERED_USER ||
                     sat == 14 /* RESTORATION */;
    int rv = 0;
    if (with_data) {
        rv = xml_escape(impi, e_impi, sizeof(e_impi));
        if (!rv)
            rv = xml_escape(impu, e_impu, sizeof(e_impu));
        if (!rv)
            snprintf(user_data, sizeof(user_data), user_data_fmt, e_impi, e_impu);
    }
    if (!rv)
        rv = -fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0);
    if (!rv)
        rv = fill_head(*msg, impi, NULL);
    if (!rv && with_data)
        rv = mcx_diam_add_str(*msg, mcx_cx_avp_user_data, user_data);
    if (rv) {
        atomic_fetch_add(&n_failed, 1);
        return -rv;
    }
    *act = DISP_ACT_SEND;
    return 0;
}

/* The AKA vector for noop.aka_k / aka_op; -EINVAL on bad hex. */
static int make_vector(void)
{
    uint8_t k[16], op[16], opc[16], amf[2];
    if (mcx_hex_decode(cfg.noop.aka_k, k, sizeof(k)) ||
        mcx_hex_decode(cfg.noop.aka_op, op, sizeof(op)) ||
        mcx_hex_decode(cfg.noop.aka_amf, amf, sizeof(amf))) {
        MCX_ERR("noop.aka_k and noop.aka_op must be 32 hex digits, noop.aka_amf 4");
        return -EINVAL;
    }
    int rv = mcx_milenage_opc(k, op, opc);
    mcx_aka_vector_t vec;
    for (int tries = 0; !rv && tries < 1000; tries++) {
        uint8_t rnd[16];
        rv = mcx_random_bytes(rnd, sizeof(rnd));
        if (!rv)
            rv = mcx_aka_vector(k, opc, amf, cfg.noop.aka_sqn, rnd, &vec);
        if (!rv && !memchr(vec.xres, 0, sizeof(vec.xres)))
            break;
    }
    if (!rv) {
        memcpy(fixed_challenge, vec.rand, 16);
        memcpy(fixed_challenge + 16, vec.autn, 16);
        memcpy(fixed_xres, vec.xres, 8);
        memcpy(fixed_ck, vec.ck, 16);
        memcpy(fixed_ik, vec.ik, 16);
    }
    memset(k, 0, sizeof(k));
    memset(opc, 0, sizeof(opc));
    memset(&vec, 0, sizeof(vec));
    if (rv)
        MCX_ERR("cannot compute the AKA vector: %s", strerror(-rv));
    return rv;
}

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: mcx-cx-noop -c FILE.yaml\n"
                "\n"
                "Benchmark reference: a Cx server on the mcxcore Diameter stack that answers\n"
                "every MAR with one precomputed IMS AKA vector (32+8+16+16 octets; a real one\n"
                "for noop.aka_k/aka_op, else arbitrary bytes) or, for scheme \"SIP Digest\"\n"
                "and noop.digest_password set, with HA1 = MD5(IMPI:realm:password); and every\n"
                "SAR with 2001 and User-Data naming the request's User-Name and first\n"
                "Public-Identity. No store: registrations succeed for any identity.\n"
                "\n"
                "  -c, --config FILE  YAML with a `diameter:` section, as mcx-sipdb's, and an\n"
                "                     optional `noop:` section (aka_k, aka_op, aka_amf,\n"
                "                     aka_sqn, digest_password, digest_realm, digest_qop)\n"
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
    if ((cfg.noop.aka_k[0] || cfg.noop.aka_op[0]) && make_vector())
        return 1;

    if (mcx_signals_block()) {
        MCX_ERR("cannot block signals");
        return 1;
    }
    if (mcx_diam_init(&cfg.diameter) || mcx_cx_dict_init())
        return 1;
    struct disp_when when = {.app = mcx_cx_app, .command = mcx_cx_cmd_mar};
    struct disp_hdl *hdl = NULL, *sar_hdl = NULL;
    int rv = fd_disp_register(mar_cb, DISP_HOW_CC, &when, NULL, &hdl);
    when.command = mcx_cx_cmd_sar;
    if (!rv)
        rv = fd_disp_register(sar_cb, DISP_HOW_CC, &when, NULL, &sar_hdl);
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
    MCX_NOTICE("%s: shutting down (MAR %lu, SAR %lu, failed %lu)", strsignal(sig),
               atomic_load(&n_mar), atomic_load(&n_sar), atomic_load(&n_failed));
    mcx_diam_final();
    return 0;
}

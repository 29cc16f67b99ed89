/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Encode step: answer structs -> AVPs of MAA, SAA, UAA and LIA
 * (TS 29.229 §6.1). Identities are echoed exactly as the request carried
 * them: a Kamailio S-CSCF files vectors under the MAA's User-Name and
 * Public-Identity.
 */
#include "sipdb-decode.h"
#include "cx/mcx-diameter-cx.h"

#include <errno.h>
#include <string.h>

#define V3 MCX_3GPP_VENDOR_ID

int sipdb_encode_outcome(struct msg *ans, const sipdb_outcome_t *o)
{
    int rv = mcx_diam_add_vsai(ans, V3, MCX_CX_APP_ID);
    if (!rv && o->exp_result)
        rv = mcx_diam_add_exp_result(ans, V3, o->exp_result);
    else if (!rv)
        rv = mcx_diam_add_u32(ans, mcx_diam_avp_result_code, o->result_code);
    if (!rv)
        rv = mcx_diam_add_i32(ans, mcx_diam_avp_auth_session_state, 1); /* NO_STATE_MAINTAINED */
    if (!rv)
        rv = mcx_diam_add_origin(ans);
    bool ok = o->result_code == MCX_DIAM_SUCCESS || (o->exp_result && o->exp_result < 3000);
    if (!rv && !ok && o->why[0])
        rv = mcx_diam_add_str(ans, mcx_diam_avp_error_message, o->why);
    if (!rv && o->failed_code) {
        struct dict_object *model = NULL;
        struct dict_avp_request q = {.avp_vendor = o->failed_vendor, .avp_code = o->failed_code};
        fd_dict_search(fd_g_config->cnf_dict, DICT_AVP, AVP_BY_CODE_AND_VENDOR, &q, &model,
                       ENOENT);
        if (model)
            rv = mcx_diam_add_failed_avp(ans, NULL, model, NULL);
    }
    return rv;
}

static int add_digest(struct avp *item, const sipdb_mar_ans_t *a)
{
    struct avp *dig;
    int rv = mcx_diam_add_grouped(item, mcx_cx_avp_sip_digest_authenticate, &dig);
    if (!rv)
        rv = mcx_diam_add_str(dig, mcx_avp_digest_realm, a->realm);
    if (!rv)
        rv = mcx_diam_add_str(dig, mcx_avp_digest_algorithm, a->algorithm);
    if (!rv)
        rv = mcx_diam_add_str(dig, mcx_avp_digest_qop, a->qop);
    if (!rv)
        rv = mcx_diam_add_str(dig, mcx_avp_digest_ha1, a->ha1);
    if (!rv && a->alt_algorithm[0]) {
        rv = mcx_diam_add_str(dig, mcx_cx_avp_alternate_digest_algorithm, a->alt_algorithm);
        if (!rv)
            rv = mcx_diam_add_str(dig, mcx_cx_avp_alternate_digest_ha1, a->alt_ha1);
    }
    return rv;
}

int sipdb_encode_maa(struct msg *ans, const sipdb_mar_req_t *req, const sipdb_mar_ans_t *a)
{
    int rv = 0;
    if (req->user_name.present)
        rv = mcx_diam_add_str(ans, mcx_diam_avp_user_name, req->user_name.s);
    if (!rv && req->public_identity.present)
        rv = mcx_diam_add_str(ans, mcx_cx_avp_public_identity, req->public_identity.s);
    if (rv || a->out.result_code != MCX_DIAM_SUCCESS)
        return rv;

    rv = mcx_diam_add_u32(ans, mcx_cx_avp_sip_number_auth_items, a->n_vectors);
    for (unsigned i = 0; !rv && i < a->n_vectors; i++) {
        struct avp *item;
        rv = mcx_diam_add_grouped(ans, mcx_cx_avp_sip_auth_data_item, &item);
        if (!rv)
            rv = mcx_diam_add_u32(item, mcx_cx_avp_sip_item_number, i + 1);
        if (!rv)
            rv = mcx_diam_add_str(item, mcx_cx_avp_sip_authentication_scheme,
                                  mcx_store_scheme_name(a->scheme));
        if (rv)
            break;
        if (a->scheme == MCX_SCHEME_SIP_DIGEST) {
            rv = add_digest(item, a);
            break;
        }
        const mcx_aka_vector_t *v = &a->vec[i];
        uint8_t challenge[MCX_AKA_RAND_LEN + MCX_AKA_AUTN_LEN];
        memcpy(challenge, v->rand, MCX_AKA_RAND_LEN);
        memcpy(challenge + MCX_AKA_RAND_LEN, v->autn, MCX_AKA_AUTN_LEN);
        rv = mcx_diam_add_os(item, mcx_cx_avp_sip_authenticate, challenge, sizeof(challenge));
        if (!rv)
            rv = mcx_diam_add_os(item, mcx_cx_avp_sip_authorization, v->xres, sizeof(v->xres));
        if (!rv)
            rv = mcx_diam_add_os(item, mcx_cx_avp_confidentiality_key, v->ck, sizeof(v->ck));
        if (!rv)
            rv = mcx_diam_add_os(item, mcx_cx_avp_integrity_key, v->ik, sizeof(v->ik));
    }
    return rv;
}

int sipdb_encode_saa(struct msg *ans, const sipdb_sar_ans_t *a)
{
    int rv = 0;
    if (a->impi[0])
        rv = mcx_diam_add_str(ans, mcx_diam_avp_user_name, a->impi);
    if (!rv && a->user_data)
        rv = mcx_diam_add_str(ans, mcx_cx_avp_user_data, a->user_data);
    return rv;
}

int sipdb_encode_loc(struct msg *ans, const sipdb_config_t *cfg, const sipdb_loc_ans_t *a)
{
    if (a->server_name[0])
        return mcx_diam_add_str(ans, mcx_cx_avp_server_name, a->server_name);
    if (!a->capabilities)
        return 0;
    struct avp *caps;
    int rv = mcx_diam_add_grouped(ans, mcx_cx_avp_server_capabilities, &caps);
    for (unsigned i = 0; !rv && i < cfg->sipdb.n_server_names; i++)
        rv = mcx_diam_add_str(caps, mcx_cx_avp_server_name, cfg->sipdb.server_names[i]);
    return rv;
}

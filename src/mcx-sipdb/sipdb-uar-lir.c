/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * UAR (TS 29.228 §6.1.1) and LIR (§6.1.4) decisions: which S-CSCF serves a
 * public identity, from the registration state SAR recorded.
 */
#include "sipdb-cx.h"
#include "cx/mcx-diameter-cx.h"

#include <stdlib.h>
#include <string.h>

static void success(sipdb_loc_ans_t *ans, uint32_t exp)
{
    if (exp)
        ans->out.exp_result = exp;
    else
        ans->out.result_code = MCX_DIAM_SUCCESS;
}

void sipdb_uar_decide(sipdb_context_t *ctx, const sipdb_uar_req_t *req, sipdb_loc_ans_t *ans)
{
    mcx_subscriber_t *sub = sipdb_subscriber_new(&ans->out);
    if (!sub)
        return;
    if (sipdb_resolve(ctx, req->user_name.s, req->public_identity.s, sub, &ans->out))
        goto out;
    const mcx_store_impu_t *pu = sipdb_find_impu(sub, req->public_identity.s);

    if (req->uat == MCX_UAT_DE_REGISTRATION) {
        if (pu->reg_state == MCX_REG_NOT_REGISTERED || !sub->scscf_name[0]) {
            sipdb_fail(&ans->out, 0, MCX_CX_ERROR_IDENTITY_NOT_REGISTERED,
                       "%s is not registered", pu->impu);
            goto out;
        }
        mcx_strlcpy(ans->server_name, sub->scscf_name, sizeof(ans->server_name));
        success(ans, 0);
        goto out;
    }
    if (pu->barred) {
        sipdb_fail(&ans->out, MCX_DIAM_AUTHORIZATION_REJECTED, 0,
                   "%s is barred and may not register", pu->impu);
        goto out;
    }
    if (req->uat == MCX_UAT_REGISTRATION && sub->scscf_name[0]) {
        /* Registered, or unregistered with an S-CSCF kept: send it there. */
        mcx_strlcpy(ans->server_name, sub->scscf_name, sizeof(ans->server_name));
        success(ans, MCX_CX_SUBSEQUENT_REGISTRATION);
        goto out;
    }
    /* First registration, or capabilities asked: let the I-CSCF choose. */
    ans->capabilities = true;
    success(ans, MCX_CX_FIRST_REGISTRATION);
out:
    sipdb_subscriber_free(sub);
}

void sipdb_lir_decide(sipdb_context_t *ctx, const sipdb_lir_req_t *req, sipdb_loc_ans_t *ans)
{
    mcx_subscriber_t *sub = sipdb_subscriber_new(&ans->out);
    if (!sub)
        return;
    if (sipdb_resolve(ctx, NULL, req->public_identity.s, sub, &ans->out))
        goto out;
    const mcx_store_impu_t *pu = sipdb_find_impu(sub, req->public_identity.s);

    if (sub->scscf_name[0] && pu->reg_state != MCX_REG_NOT_REGISTERED) {
        mcx_strlcpy(ans->server_name, sub->scscf_name, sizeof(ans->server_name));
        success(ans, 0);
    } else if (!req->originating && sub->ifc_xml[0]) {
        /* Not registered, but it has services for the unregistered state
         * (its iFCs): an S-CSCF must be chosen for it. */
        ans->capabilities = true;
        success(ans, MCX_CX_UNREGISTERED_SERVICE);
    } else {
        sipdb_fail(&ans->out, 0, MCX_CX_ERROR_IDENTITY_NOT_REGISTERED, "%s is not registered",
                   pu->impu);
    }
out:
    sipdb_subscriber_free(sub);
}

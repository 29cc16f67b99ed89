/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * SAR decisions (TS 29.228 §6.1.2, TS 29.229 §6.1.3): registration state
 * and serving S-CSCF name per Server-Assignment-Type, and the User-Data
 * (IMSSubscription, TS 29.228 Annex E) built with libxml2.
 */
#include "sipdb-cx.h"
#include "cx/mcx-diameter-cx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/xmlwriter.h>

char *sipdb_user_data(const mcx_subscriber_t *sub)
{
    xmlBufferPtr buf = xmlBufferCreate();
    if (!buf)
        return NULL;
    xmlTextWriterPtr w = xmlNewTextWriterMemory(buf, 0);
    char *out = NULL;
    if (!w) {
        xmlBufferFree(buf);
        return NULL;
    }

    int rv = xmlTextWriterStartDocument(w, "1.0", "UTF-8", NULL);
    rv |= xmlTextWriterStartElement(w, BAD_CAST "IMSSubscription") < 0;
    rv |= xmlTextWriterWriteElement(w, BAD_CAST "PrivateID", BAD_CAST sub->impi) < 0;
    /* One service profile shared by every public identity: they form one
     * implicit registration set (TS 23.228 §4.3.3.3). */
    rv |= xmlTextWriterStartElement(w, BAD_CAST "ServiceProfile") < 0;
    for (unsigned i = 0; i < sub->n_impus; i++) {
        rv |= xmlTextWriterStartElement(w, BAD_CAST "PublicIdentity") < 0;
        rv |= xmlTextWriterWriteElement(w, BAD_CAST "BarringIndication",
                                        BAD_CAST(sub->impus[i].barred ? "1" : "0")) < 0;
        rv |= xmlTextWriterWriteElement(w, BAD_CAST "Identity", BAD_CAST sub->impus[i].impu) < 0;
        rv |= xmlTextWriterStartElement(w, BAD_CAST "Extension") < 0;
        /* IdentityType 0: a distinct public identity. */
        rv |= xmlTextWriterWriteElement(w, BAD_CAST "IdentityType", BAD_CAST "0") < 0;
        rv |= xmlTextWriterEndElement(w) < 0;
        rv |= xmlTextWriterEndElement(w) < 0;
    }
    /* iFCs were checked for well-formedness when provisioned. */
    if (sub->ifc_xml[0])
        rv |= xmlTextWriterWriteRaw(w, BAD_CAST sub->ifc_xml) < 0;
    rv |= xmlTextWriterEndElement(w) < 0;
    rv |= xmlTextWriterEndElement(w) < 0;
    rv |= xmlTextWriterEndDocument(w) < 0;
    xmlFreeTextWriter(w);
    if (!rv)
        out = strdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return out;
}

static bool any_registered(const mcx_subscriber_t *sub)
{
    for (unsigned i = 0; i < sub->n_impus; i++)
        if (sub->impus[i].reg_state == MCX_REG_REGISTERED)
            return true;
    return false;
}

static bool attach_user_data(const mcx_subscriber_t *sub, sipdb_sar_ans_t *ans)
{
    ans->user_data = sipdb_user_data(sub);
    if (!ans->user_data) {
        sipdb_fail(&ans->out, MCX_DIAM_UNABLE_TO_COMPLY, 0, "cannot build User-Data");
        return false;
    }
    return true;
}

/* Apply one Server-Assignment-Type to the store. Returns 0 or -errno. */
static int apply(sipdb_context_t *ctx, const sipdb_sar_req_t *req, const mcx_subscriber_t *sub,
                 sipdb_sar_ans_t *ans, bool *want_data)
{
    const char *scscf = req->server_name.s;
    mcx_store_t *st = ctx->store;

    switch (req->sat) {
    case MCX_SAT_NO_ASSIGNMENT:
        /* Only a download of the profile, by the S-CSCF that serves the user. */
        if (sub->scscf_name[0] && strcmp(sub->scscf_name, scscf)) {
            sipdb_fail(&ans->out, MCX_DIAM_UNABLE_TO_COMPLY, 0,
                       "%s is served by %s, not by %s", sub->impi, sub->scscf_name, scscf);
            return 1;
        }
        *want_data = true;
        return 0;
    case MCX_SAT_REGISTRATION:
    case MCX_SAT_RE_REGISTRATION:
    case MCX_SAT_RESTORATION:
        *want_data = req->udaa == 0 || req->sat == MCX_SAT_RESTORATION;
        return mcx_store_reg_set(st, sub->impi, NULL, MCX_REG_REGISTERED, scscf);
    case MCX_SAT_UNREGISTERED_USER:
        /* A terminating request for an unregistered user: the S-CSCF serves
         * it in the unregistered state unless it is already registered. */
        *want_data = true;
        return mcx_store_reg_set(st, sub->impi, NULL,
                                 any_registered(sub) ? MCX_REG_REGISTERED : MCX_REG_UNREGISTERED,
                                 scscf);
    case MCX_SAT_TIMEOUT_DEREGISTRATION:
    case MCX_SAT_USER_DEREGISTRATION:
    case MCX_SAT_ADMINISTRATIVE_DEREGISTRATION:
    case MCX_SAT_DEREGISTRATION_TOO_MUCH_DATA:
        return mcx_store_reg_set(st, sub->impi, NULL, MCX_REG_NOT_REGISTERED, "");
    case MCX_SAT_TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME:
    case MCX_SAT_USER_DEREGISTRATION_STORE_SERVER_NAME:
        /* We choose to keep the name, so the answer is plain success (not
         * DIAMETER_SUCCESS_SERVER_NAME_NOT_STORED). */
        return mcx_store_reg_set(st, sub->impi, NULL, MCX_REG_UNREGISTERED, scscf);
    case MCX_SAT_AUTHENTICATION_FAILURE:
    case MCX_SAT_AUTHENTICATION_TIMEOUT:
        /* A failed first registration releases the S-CSCF; a registered
         * user keeps it (TS 29.228 §6.1.2.1). */
        if (any_registered(sub))
            return 0;
        return mcx_store_reg_set(st, sub->impi, NULL, MCX_REG_NOT_REGISTERED, "");
    case MCX_SAT_AAA_USER_DATA_REQUEST:
    case MCX_SAT_PGW_UPDATE:
        sipdb_fail(&ans->out, 0, MCX_CX_ERROR_IN_ASSIGNMENT_TYPE,
                   "Server-Assignment-Type %s is for the 3GPP AAA server, not Cx",
                   mcx_cx_sat_name(req->sat));
        return 1;
    default:
        sipdb_fail_avp(&ans->out, MCX_DIAM_INVALID_AVP_VALUE, MCX_CX_AVP_SERVER_ASSIGNMENT_TYPE,
                       MCX_3GPP_VENDOR_ID, "Server-Assignment-Type %d is not defined",
                       (int)req->sat);
        return 1;
    }
}

void sipdb_sar_decide(sipdb_context_t *ctx, const sipdb_sar_req_t *req, sipdb_sar_ans_t *ans)
{
    mcx_subscriber_t *sub = sipdb_subscriber_new(&ans->out);
    if (!sub)
        return;
    const char *impi = req->user_name.present ? req->user_name.s : NULL;
    if (sipdb_resolve(ctx, impi, req->public_identity[0].s, sub, &ans->out))
        goto out;
    /* Every public identity named must belong to the same subscriber. */
    for (unsigned i = 1; i < req->n_public; i++)
        if (sipdb_check_impu(ctx, sub, req->public_identity[i].s, &ans->out))
            goto out;

    bool want_data = false;
    int rv = apply(ctx, req, sub, ans, &want_data);
    if (rv > 0)
        goto out;
    if (rv < 0) {
        sipdb_fail(&ans->out, MCX_DIAM_UNABLE_TO_COMPLY, 0, "store error: %s", strerror(-rv));
        goto out;
    }
    mcx_strlcpy(ans->impi, sub->impi, sizeof(ans->impi));
    if (want_data && !attach_user_data(sub, ans))
        goto out;
    ans->out.result_code = MCX_DIAM_SUCCESS;
out:
    sipdb_subscriber_free(sub);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * MAR decisions (TS 29.228 §6.3.1, TS 29.229 §6.1.7): IMS AKA vectors with
 * SQN kept in the store (TS 33.102 Annex C), resynchronisation from AUTS
 * (TS 33.102 §6.3.5), and SIP Digest HA1 (TS 29.229 §6.3.36, RFC 8760).
 */
#include "sipdb-cx.h"
#include "cx/mcx-diameter-cx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Which scheme the request asks for; -1 when it is one we do not serve. */
static int requested_scheme(const sipdb_mar_req_t *req, const mcx_subscriber_t *sub)
{
    if (!req->has_scheme || !strcasecmp(req->scheme, MCX_CX_SCHEME_UNKNOWN))
        return (int)sub->default_scheme;
    if (!strcasecmp(req->scheme, MCX_CX_SCHEME_AKAV1))
        return MCX_SCHEME_AKAV1_MD5;
    if (!strcasecmp(req->scheme, MCX_CX_SCHEME_SIP_DIGEST))
        return MCX_SCHEME_SIP_DIGEST;
    return -1;
}

static bool res_has_zero(const uint8_t res[MCX_AKA_RES_LEN])
{
    for (int i = 0; i < MCX_AKA_RES_LEN; i++)
        if (res[i] == 0)
            return true;
    return false;
}

static void mar_aka(sipdb_context_t *ctx, const sipdb_mar_req_t *req,
                    const mcx_subscriber_t *sub, sipdb_mar_ans_t *ans)
{
    const sipdb_config_t *cfg = ctx->cfg;
    uint64_t sqn_ms = 0;
    const uint64_t *resync = NULL;

    if (req->has_authorization) {
        /* Resynchronisation: SIP-Authorization = RAND (16) || AUTS (14). */
        if (req->authorization_len != MCX_AKA_RAND_LEN + MCX_AKA_AUTS_LEN) {
            sipdb_fail_avp(&ans->out, MCX_DIAM_INVALID_AVP_VALUE, MCX_CX_AVP_SIP_AUTHORIZATION,
                           MCX_3GPP_VENDOR_ID,
                           "SIP-Authorization for resynchronisation has %zu octets, not 30",
                           req->authorization_len);
            return;
        }
        int rv = mcx_aka_resync(sub->k, sub->opc, req->authorization,
                                req->authorization + MCX_AKA_RAND_LEN, &sqn_ms);
        if (rv) {
            /* MAC-S does not verify: the AUTS was not made with this
             * subscriber's K. Refuse rather than loop on new challenges. */
            sipdb_fail(&ans->out, 0, MCX_CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED,
                       "resynchronisation for %s refused: MAC-S does not verify", sub->impi);
            return;
        }
        resync = &sqn_ms;
    }

    unsigned n = req->n_items ? req->n_items : 1;
    if (n > cfg->sipdb.max_vectors)
        n = cfg->sipdb.max_vectors;

    uint64_t sqns[MCX_STORE_MAX_SQN_BATCH];
    int rv = mcx_store_sqn_reserve(ctx->store, sub->impi, n, cfg->sipdb.ind_bits,
                                   cfg->sipdb.ind, resync, sqns);
    if (rv) {
        sipdb_fail(&ans->out, MCX_DIAM_UNABLE_TO_COMPLY, 0, "cannot reserve SQN for %s: %s",
                   sub->impi, strerror(-rv));
        return;
    }
    /* The SQNs are durable now: a vector never leaves before its SQN is stored. */
    for (unsigned i = 0; i < n; i++) {
        mcx_aka_vector_t *v = &ans->vec[i];
        for (int attempt = 0; attempt < 16; attempt++) {
            if (mcx_random_bytes(v->rand, sizeof(v->rand)) ||
                mcx_aka_vector(sub->k, sub->opc, sub->amf, sqns[i], v->rand, v)) {
                sipdb_fail(&ans->out, MCX_DIAM_UNABLE_TO_COMPLY, 0,
                           "cannot compute a vector for %s", sub->impi);
                return;
            }
            if (!cfg->sipdb.avoid_zero_res || !res_has_zero(v->xres))
                break;
        }
    }
    ans->scheme = MCX_SCHEME_AKAV1_MD5;
    ans->n_vectors = n;
    ans->out.result_code = MCX_DIAM_SUCCESS;
}

static void mar_digest(sipdb_context_t *ctx, const sipdb_mar_req_t *req,
                       const mcx_subscriber_t *sub, sipdb_mar_ans_t *ans)
{
    bool want_sha256 = req->digest_algorithm[0] &&
                       !strcasecmp(req->digest_algorithm, "SHA-256");
    if (req->digest_algorithm[0] && !want_sha256 && strcasecmp(req->digest_algorithm, "MD5")) {
        sipdb_fail(&ans->out, 0, MCX_CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED,
                   "digest algorithm '%s' asked for %s is not supported", req->digest_algorithm,
                   sub->impi);
        return;
    }
    const char *md5 = sub->ha1_md5, *sha = sub->ha1_sha256;
    if ((want_sha256 && !sha[0]) || (!want_sha256 && !md5[0])) {
        sipdb_fail(&ans->out, 0, MCX_CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED,
                   "%s has no %s HA1 for SIP Digest", sub->impi, want_sha256 ? "SHA-256" : "MD5");
        return;
    }
    mcx_strlcpy(ans->realm, sub->digest_realm, sizeof(ans->realm));
    mcx_strlcpy(ans->qop, ctx->cfg->sipdb.digest_qop, sizeof(ans->qop));
    if (want_sha256) {
        mcx_strlcpy(ans->algorithm, "SHA-256", sizeof(ans->algorithm));
        mcx_strlcpy(ans->ha1, sha, sizeof(ans->ha1));
    } else {
        mcx_strlcpy(ans->algorithm, "MD5", sizeof(ans->algorithm));
        mcx_strlcpy(ans->ha1, md5, sizeof(ans->ha1));
        /* RFC 8760 / TS 29.229 §6.3.63-64: offer the stronger HA1 alongside. */
        if (sha[0]) {
            mcx_strlcpy(ans->alt_algorithm, "SHA-256", sizeof(ans->alt_algorithm));
            mcx_strlcpy(ans->alt_ha1, sha, sizeof(ans->alt_ha1));
        }
    }
    ans->scheme = MCX_SCHEME_SIP_DIGEST;
    ans->n_vectors = 1;
    ans->out.result_code = MCX_DIAM_SUCCESS;
}

void sipdb_mar_decide(sipdb_context_t *ctx, const sipdb_mar_req_t *req, sipdb_mar_ans_t *ans)
{
    mcx_subscriber_t *sub = sipdb_subscriber_new(&ans->out);
    if (!sub)
        return;
    if (sipdb_resolve(ctx, req->user_name.s, req->public_identity.s, sub, &ans->out))
        goto out;

    int scheme = requested_scheme(req, sub);
    if (scheme < 0) {
        sipdb_fail(&ans->out, 0, MCX_CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED,
                   "authentication scheme '%s' is not supported", req->scheme);
        goto out;
    }
    if (scheme == MCX_SCHEME_AKAV1_MD5) {
        if (!sub->has_aka) {
            sipdb_fail(&ans->out, 0, MCX_CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED,
                       "%s has no AKA credentials", sub->impi);
            goto out;
        }
        mar_aka(ctx, req, sub, ans);
    } else {
        if (!sub->has_digest) {
            sipdb_fail(&ans->out, 0, MCX_CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED,
                       "%s has no SIP Digest credentials", sub->impi);
            goto out;
        }
        mar_digest(ctx, req, sub, ans);
    }
out:
    sipdb_subscriber_free(sub);
}

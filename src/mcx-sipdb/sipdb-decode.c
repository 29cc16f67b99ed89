/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Decode step: a Cx request already parsed by freeDiameter's dictionary ->
 * the plain structs of sipdb-cx.h. Every AVP we rely on is checked for
 * presence, repetition, emptiness and length here; a failure names the AVP
 * (5005 missing, 5004 invalid value, 5009 repeated) for Failed-AVP.
 */
#include "sipdb-decode.h"
#include "cx/mcx-diameter-cx.h"

#include <string.h>

#define V3 MCX_3GPP_VENDOR_ID

/* The octets of an AVP that freeDiameter decoded as OctetString/UTF8String. */
static int octets(struct avp *avp, const uint8_t **data, size_t *len)
{
    const union avp_value *v = mcx_diam_value(avp);
    if (!v)
        return -1;
    *data = v->os.data;
    *len = v->os.len;
    return 0;
}

/* Count and fetch one AVP; checks 5009 (repeated) and 5005 (missing, if required). */
static int one(msg_or_avp *parent, uint32_t code, uint32_t vendor, const char *name,
               bool required, struct avp **out, sipdb_outcome_t *o)
{
    unsigned n = mcx_diam_count(parent, code, vendor);
    if (n > 1) {
        sipdb_fail_avp(o, MCX_DIAM_AVP_OCCURS_TOO_MANY_TIMES, code, vendor,
                       "%s occurs %u times", name, n);
        return -1;
    }
    *out = NULL;
    if (n == 0) {
        if (required) {
            sipdb_fail_avp(o, MCX_DIAM_MISSING_AVP, code, vendor, "%s is missing", name);
            return -1;
        }
        return 0;
    }
    return mcx_diam_find(parent, code, vendor, out) ? -1 : 0;
}

/* A SIP identity or server name: non-empty, no NUL, fits our buffers. */
static int text_avp(struct avp *avp, uint32_t code, uint32_t vendor, const char *name,
                    char *dst, size_t dstlen, sipdb_outcome_t *o)
{
    const uint8_t *data;
    size_t len;
    if (octets(avp, &data, &len)) {
        sipdb_fail_avp(o, MCX_DIAM_INVALID_AVP_VALUE, code, vendor, "%s has no value", name);
        return -1;
    }
    if (len == 0 || len >= dstlen || memchr(data, '\0', len)) {
        sipdb_fail_avp(o, MCX_DIAM_INVALID_AVP_VALUE, code, vendor,
                       len == 0 ? "%s is empty" : "%s is too long or holds a NUL byte", name);
        return -1;
    }
    memcpy(dst, data, len);
    dst[len] = '\0';
    return 0;
}

static int id_avp(msg_or_avp *parent, uint32_t code, uint32_t vendor, const char *name,
                  bool required, sipdb_id_t *id, sipdb_outcome_t *o)
{
    struct avp *avp;
    if (one(parent, code, vendor, name, required, &avp, o))
        return -1;
    if (!avp)
        return 0;
    if (text_avp(avp, code, vendor, name, id->s, sizeof(id->s), o))
        return -1;
    id->present = true;
    return 0;
}

static int u32_avp(msg_or_avp *parent, uint32_t code, uint32_t vendor, const char *name,
                   bool required, bool *present, uint32_t *val, sipdb_outcome_t *o)
{
    struct avp *avp;
    if (one(parent, code, vendor, name, required, &avp, o))
        return -1;
    if (present)
        *present = avp != NULL;
    if (avp) {
        const union avp_value *v = mcx_diam_value(avp);
        if (!v) {
            sipdb_fail_avp(o, MCX_DIAM_INVALID_AVP_VALUE, code, vendor, "%s has no value",
                           name);
            return -1;
        }
        *val = v->u32;
    }
    return 0;
}

int sipdb_decode_mar(struct msg *m, sipdb_mar_req_t *r, sipdb_outcome_t *o)
{
    if (id_avp(m, MCX_AVP_USER_NAME, 0, "User-Name", true, &r->user_name, o) ||
        id_avp(m, MCX_CX_AVP_PUBLIC_IDENTITY, V3, "Public-Identity", true, &r->public_identity,
               o) ||
        id_avp(m, MCX_CX_AVP_SERVER_NAME, V3, "Server-Name", false, &r->server_name, o) ||
        u32_avp(m, MCX_CX_AVP_SIP_NUMBER_AUTH_ITEMS, V3, "SIP-Number-Auth-Items", false, NULL,
                &r->n_items, o))
        return -1;

    struct avp *item;
    if (one(m, MCX_CX_AVP_SIP_AUTH_DATA_ITEM, V3, "SIP-Auth-Data-Item", true, &item, o))
        return -1;

    struct avp *a;
    if (one(item, MCX_CX_AVP_SIP_AUTHENTICATION_SCHEME, V3, "SIP-Authentication-Scheme", false,
            &a, o))
        return -1;
    if (a) {
        if (text_avp(a, MCX_CX_AVP_SIP_AUTHENTICATION_SCHEME, V3, "SIP-Authentication-Scheme",
                     r->scheme, sizeof(r->scheme), o))
            return -1;
        r->has_scheme = true;
    }
    if (one(item, MCX_CX_AVP_SIP_AUTHORIZATION, V3, "SIP-Authorization", false, &a, o))
        return -1;
    if (a) {
        const uint8_t *data = NULL;
        size_t len = 0;
        if (octets(a, &data, &len) || len > sizeof(r->authorization)) {
            sipdb_fail_avp(o, MCX_DIAM_INVALID_AVP_VALUE, MCX_CX_AVP_SIP_AUTHORIZATION, V3,
                           "SIP-Authorization has %zu octets", len);
            return -1;
        }
        memcpy(r->authorization, data, len);
        r->authorization_len = len;
        r->has_authorization = true;
    }
    /* A client may say which digest algorithm it wants (RFC 8760). */
    struct avp *dig;
    if (one(item, MCX_CX_AVP_SIP_DIGEST_AUTHENTICATE, V3, "SIP-Digest-Authenticate", false, &dig,
            o))
        return -1;
    if (dig) {
        if (one(dig, MCX_AVP_DIGEST_ALGORITHM, 0, "Digest-Algorithm", false, &a, o))
            return -1;
        if (a && text_avp(a, MCX_AVP_DIGEST_ALGORITHM, 0, "Digest-Algorithm",
                          r->digest_algorithm, sizeof(r->digest_algorithm), o))
            return -1;
    }
    return 0;
}

int sipdb_decode_sar(struct msg *m, sipdb_sar_req_t *r, sipdb_outcome_t *o)
{
    if (id_avp(m, MCX_AVP_USER_NAME, 0, "User-Name", false, &r->user_name, o) ||
        id_avp(m, MCX_CX_AVP_SERVER_NAME, V3, "Server-Name", true, &r->server_name, o))
        return -1;

    /* *[ Public-Identity ]: at least one is needed to know whom to serve. */
    msg_or_avp *it = NULL;
    r->n_public = 0;
    if (fd_msg_browse(m, MSG_BRW_FIRST_CHILD, &it, NULL) == 0) {
        while (it) {
            struct avp_hdr *h = NULL;
            if (fd_msg_avp_hdr((struct avp *)it, &h) == 0 &&
                h->avp_code == MCX_CX_AVP_PUBLIC_IDENTITY && (h->avp_flags & AVP_FLAG_VENDOR) &&
                h->avp_vendor == V3) {
                if (r->n_public >= SIPDB_MAX_PUBLIC_IDS) {
                    sipdb_fail_avp(o, MCX_DIAM_AVP_OCCURS_TOO_MANY_TIMES,
                                   MCX_CX_AVP_PUBLIC_IDENTITY, V3,
                                   "more than %d Public-Identity AVPs", SIPDB_MAX_PUBLIC_IDS);
                    return -1;
                }
                sipdb_id_t *id = &r->public_identity[r->n_public];
                if (text_avp((struct avp *)it, MCX_CX_AVP_PUBLIC_IDENTITY, V3, "Public-Identity",
                             id->s, sizeof(id->s), o))
                    return -1;
                id->present = true;
                r->n_public++;
            }
            if (fd_msg_browse(it, MSG_BRW_NEXT, &it, NULL))
                break;
        }
    }
    if (r->n_public == 0) {
        sipdb_fail_avp(o, MCX_DIAM_MISSING_AVP, MCX_CX_AVP_PUBLIC_IDENTITY, V3,
                       "Public-Identity is missing");
        return -1;
    }

    uint32_t sat = 0, udaa = 0;
    if (u32_avp(m, MCX_CX_AVP_SERVER_ASSIGNMENT_TYPE, V3, "Server-Assignment-Type", true,
                &r->has_sat, &sat, o) ||
        u32_avp(m, MCX_CX_AVP_USER_DATA_ALREADY_AVAILABLE, V3, "User-Data-Already-Available",
                false, NULL, &udaa, o))
        return -1;
    r->sat = (int32_t)sat;
    r->udaa = (int32_t)udaa;
    return 0;
}

int sipdb_decode_uar(struct msg *m, sipdb_uar_req_t *r, sipdb_outcome_t *o)
{
    uint32_t uat = 0;
    struct avp *vni;
    if (id_avp(m, MCX_AVP_USER_NAME, 0, "User-Name", true, &r->user_name, o) ||
        id_avp(m, MCX_CX_AVP_PUBLIC_IDENTITY, V3, "Public-Identity", true, &r->public_identity,
               o) ||
        one(m, MCX_CX_AVP_VISITED_NETWORK_IDENTIFIER, V3, "Visited-Network-Identifier", true,
            &vni, o) ||
        u32_avp(m, MCX_CX_AVP_USER_AUTHORIZATION_TYPE, V3, "User-Authorization-Type", false,
                NULL, &uat, o))
        return -1;
    r->has_visited_network = vni != NULL;
    r->uat = (int32_t)uat;
    if (r->uat < MCX_UAT_REGISTRATION || r->uat > MCX_UAT_REGISTRATION_AND_CAPABILITIES) {
        sipdb_fail_avp(o, MCX_DIAM_INVALID_AVP_VALUE, MCX_CX_AVP_USER_AUTHORIZATION_TYPE, V3,
                       "User-Authorization-Type %d is not defined", (int)r->uat);
        return -1;
    }
    return 0;
}

int sipdb_decode_lir(struct msg *m, sipdb_lir_req_t *r, sipdb_outcome_t *o)
{
    struct avp *orig;
    if (id_avp(m, MCX_CX_AVP_PUBLIC_IDENTITY, V3, "Public-Identity", true, &r->public_identity,
               o) ||
        one(m, MCX_CX_AVP_ORIGINATING_REQUEST, V3, "Originating-Request", false, &orig, o))
        return -1;
    r->originating = orig != NULL;
    return 0;
}

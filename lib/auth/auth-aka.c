/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * IMS AKA over Milenage: authentication vectors and resynchronisation for the
 * network side (TS 33.102 §6.3.2, §6.3.5), the USIM checks for the UE side
 * (§6.3.3) and SQN = SEQ || IND arithmetic (TS 33.102 Annex C). Pure
 * functions; MACs are compared in constant time.
 */
#include "mcx-auth.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

/* The dummy AMF used for MAC-S in a resynchronisation token (TS 33.102 §6.3.3). */
static const uint8_t amf_resync[MCX_AKA_AMF_LEN] = {0x00, 0x00};

/* IND is at most 10 bits here; Annex C suggests 5. */
#define IND_BITS_MAX 10u

void mcx_sqn_to_bytes(uint64_t sqn, uint8_t out[6])
{
    for (int i = 5; i >= 0; i--) {
        out[i] = (uint8_t)(sqn & 0xff);
        sqn >>= 8;
    }
}

uint64_t mcx_sqn_from_bytes(const uint8_t in[6])
{
    uint64_t sqn = 0;
    for (int i = 0; i < 6; i++)
        sqn = sqn << 8 | in[i];
    return sqn;
}

uint64_t mcx_sqn_next(uint64_t last, unsigned ind_bits, unsigned ind)
{
    if (ind_bits > IND_BITS_MAX || ind >> ind_bits != 0 || last > MCX_SQN_MAX)
        return 0;
    uint64_t seq_max = MCX_SQN_MAX >> ind_bits;
    uint64_t seq = (last >> ind_bits) + 1;
    /* TS 33.102 Annex C.3.2 lets SEQ wrap; 0 is skipped so SQN never reads as "unused". */
    if (seq > seq_max)
        seq = 1;
    return seq << ind_bits | ind;
}

int mcx_aka_vector(const uint8_t k[16], const uint8_t opc[16], const uint8_t amf[2], uint64_t sqn,
                   const uint8_t rand[16], mcx_aka_vector_t *out)
{
    if (!k || !opc || !amf || !rand || !out || sqn > MCX_SQN_MAX)
        return -EINVAL;

    uint8_t sqn_b[MCX_AKA_SQN_LEN], ak[MCX_AKA_AK_LEN], mac_a[MCX_AKA_MAC_LEN];
    mcx_aka_vector_t v;
    memcpy(v.rand, rand, sizeof(v.rand));
    mcx_sqn_to_bytes(sqn, sqn_b);

    int rv = mcx_milenage_f2345(k, opc, rand, v.xres, v.ck, v.ik, ak, NULL);
    if (rv == 0)
        rv = mcx_milenage_f1(k, opc, rand, sqn_b, amf, mac_a, NULL);
    if (rv == 0) {
        /* AUTN = SQN xor AK || AMF || MAC-A */
        for (int i = 0; i < MCX_AKA_SQN_LEN; i++)
            v.autn[i] = sqn_b[i] ^ ak[i];
        memcpy(v.autn + 6, amf, MCX_AKA_AMF_LEN);
        memcpy(v.autn + 8, mac_a, MCX_AKA_MAC_LEN);
        *out = v;
    }
    OPENSSL_cleanse(&v, sizeof(v));
    OPENSSL_cleanse(ak, sizeof(ak));
    return rv;
}

int mcx_aka_resync(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                   const uint8_t auts[14], uint64_t *sqn_ms)
{
    if (!k || !opc || !rand || !auts || !sqn_ms)
        return -EINVAL;

    uint8_t akstar[MCX_AKA_AK_LEN], sqn_b[MCX_AKA_SQN_LEN], xmac_s[MCX_AKA_MAC_LEN];
    int rv = mcx_milenage_f2345(k, opc, rand, NULL, NULL, NULL, NULL, akstar);
    if (rv == 0) {
        for (int i = 0; i < MCX_AKA_SQN_LEN; i++)
            sqn_b[i] = auts[i] ^ akstar[i];
        rv = mcx_milenage_f1(k, opc, rand, sqn_b, amf_resync, NULL, xmac_s);
    }
    if (rv == 0 && CRYPTO_memcmp(xmac_s, auts + MCX_AKA_SQN_LEN, MCX_AKA_MAC_LEN) != 0)
        rv = -EBADMSG;
    if (rv == 0)
        *sqn_ms = mcx_sqn_from_bytes(sqn_b);
    OPENSSL_cleanse(akstar, sizeof(akstar));
    return rv;
}

int mcx_aka_ue_challenge(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                         const uint8_t autn[16], uint64_t *sqn_out, uint8_t res[8], uint8_t ck[16],
                         uint8_t ik[16])
{
    if (!k || !opc || !rand || !autn)
        return -EINVAL;

    uint8_t ak[MCX_AKA_AK_LEN], sqn_b[MCX_AKA_SQN_LEN], xmac_a[MCX_AKA_MAC_LEN];
    uint8_t r[MCX_AKA_RES_LEN], c[MCX_AKA_CK_LEN], i_k[MCX_AKA_IK_LEN];

    int rv = mcx_milenage_f2345(k, opc, rand, r, c, i_k, ak, NULL);
    if (rv == 0) {
        for (int i = 0; i < MCX_AKA_SQN_LEN; i++)
            sqn_b[i] = autn[i] ^ ak[i];
        /* MAC-A covers the AMF as received in AUTN. */
        rv = mcx_milenage_f1(k, opc, rand, sqn_b, autn + 6, xmac_a, NULL);
    }
    if (rv == 0 && CRYPTO_memcmp(xmac_a, autn + 8, MCX_AKA_MAC_LEN) != 0)
        rv = -EBADMSG;
    /* Keys are released only for an authentic network. */
    if (rv == 0) {
        if (sqn_out)
            *sqn_out = mcx_sqn_from_bytes(sqn_b);
        if (res)
            memcpy(res, r, sizeof(r));
        if (ck)
            memcpy(ck, c, sizeof(c));
        if (ik)
            memcpy(ik, i_k, sizeof(i_k));
    }
    OPENSSL_cleanse(ak, sizeof(ak));
    OPENSSL_cleanse(r, sizeof(r));
    OPENSSL_cleanse(c, sizeof(c));
    OPENSSL_cleanse(i_k, sizeof(i_k));
    return rv;
}

bool mcx_aka_ue_sqn_ok(uint64_t *seq_ms, unsigned ind_bits, uint64_t delta, uint64_t sqn)
{
    if (!seq_ms || ind_bits > IND_BITS_MAX || sqn > MCX_SQN_MAX)
        return false;

    size_t slots = (size_t)1 << ind_bits;
    uint64_t seq = sqn >> ind_bits;
    size_t ind = (size_t)(sqn & (slots - 1));

    uint64_t highest = 0;
    for (size_t i = 0; i < slots; i++)
        if (seq_ms[i] > highest)
            highest = seq_ms[i];

    /* TS 33.102 Annex C.2.2: fresh in its slot, and not too far ahead of any slot. */
    if (seq <= seq_ms[ind])
        return false;
    if (seq > highest && seq - highest >= delta)
        return false;
    seq_ms[ind] = seq;
    return true;
}

int mcx_aka_ue_auts(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                    uint64_t sqn_ms, uint8_t auts[14])
{
    if (!k || !opc || !rand || !auts || sqn_ms > MCX_SQN_MAX)
        return -EINVAL;

    uint8_t akstar[MCX_AKA_AK_LEN], sqn_b[MCX_AKA_SQN_LEN], mac_s[MCX_AKA_MAC_LEN];
    mcx_sqn_to_bytes(sqn_ms, sqn_b);
    int rv = mcx_milenage_f2345(k, opc, rand, NULL, NULL, NULL, NULL, akstar);
    if (rv == 0)
        rv = mcx_milenage_f1(k, opc, rand, sqn_b, amf_resync, NULL, mac_s);
    if (rv == 0) {
        for (int i = 0; i < MCX_AKA_SQN_LEN; i++)
            auts[i] = sqn_b[i] ^ akstar[i];
        memcpy(auts + MCX_AKA_SQN_LEN, mac_s, MCX_AKA_MAC_LEN);
    }
    OPENSSL_cleanse(akstar, sizeof(akstar));
    return rv;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Milenage (TS 35.206 §4.1): OPc and the functions f1, f1*, f2..f5, f5*.
 * The kernel E_K is AES-128 through OpenSSL's EVP interface; each call owns
 * its own cipher context, so the functions are thread-safe. Intermediate
 * values derived from K are wiped before returning.
 */
#include "mcx-auth.h"

#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define BLOCK 16

/* One AES-128-ECB context keyed with K, used for every E_K of one call. */
static EVP_CIPHER_CTX *kernel_new(const uint8_t k[16])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return NULL;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_128_ecb(), NULL, k, NULL) != 1 ||
        EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
        EVP_CIPHER_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

static int kernel(EVP_CIPHER_CTX *ctx, const uint8_t in[BLOCK], uint8_t out[BLOCK])
{
    int outl = 0;
    if (EVP_EncryptUpdate(ctx, out, &outl, in, BLOCK) != 1 || outl != BLOCK)
        return -EIO;
    return 0;
}

static void xor_block(uint8_t *dst, const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] = a[i] ^ b[i];
}

/* rot(x, r): cyclic rotation towards the most significant bit; r is a multiple of 8. */
static void rotate(uint8_t out[BLOCK], const uint8_t in[BLOCK], unsigned r_bits)
{
    unsigned shift = r_bits / 8;
    for (unsigned i = 0; i < BLOCK; i++)
        out[i] = in[(i + shift) % BLOCK];
}

/* TEMP = E_K(RAND xor OPc), shared by every function but OPc itself. */
static int make_temp(EVP_CIPHER_CTX *ctx, const uint8_t opc[16], const uint8_t rand[16],
                     uint8_t temp[BLOCK])
{
    uint8_t in[BLOCK];
    xor_block(in, rand, opc, BLOCK);
    int rv = kernel(ctx, in, temp);
    OPENSSL_cleanse(in, sizeof(in));
    return rv;
}

/*
 * OUTk = E_K(rot(TEMP xor OPc, rk) xor ck) xor OPc for k = 2..5.
 * The constants ck only have bits in the last octet: c2 = 1, c3 = 2, c4 = 4, c5 = 8.
 */
static int out_k(EVP_CIPHER_CTX *ctx, const uint8_t opc[16], const uint8_t temp[BLOCK],
                 unsigned r_bits, uint8_t c_last, uint8_t out[BLOCK])
{
    uint8_t x[BLOCK], in[BLOCK];
    xor_block(x, temp, opc, BLOCK);
    rotate(in, x, r_bits);
    in[BLOCK - 1] ^= c_last;
    int rv = kernel(ctx, in, out);
    if (rv == 0)
        xor_block(out, out, opc, BLOCK);
    OPENSSL_cleanse(x, sizeof(x));
    OPENSSL_cleanse(in, sizeof(in));
    return rv;
}

int mcx_milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16])
{
    if (!k || !op || !opc)
        return -EINVAL;
    EVP_CIPHER_CTX *ctx = kernel_new(k);
    if (!ctx)
        return -EIO;
    uint8_t enc[BLOCK];
    int rv = kernel(ctx, op, enc);
    if (rv == 0)
        xor_block(opc, enc, op, BLOCK);
    OPENSSL_cleanse(enc, sizeof(enc));
    EVP_CIPHER_CTX_free(ctx);
    return rv;
}

int mcx_milenage_f1(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                    const uint8_t sqn[6], const uint8_t amf[2], uint8_t mac_a[8], uint8_t mac_s[8])
{
    if (!k || !opc || !rand || !sqn || !amf)
        return -EINVAL;
    if (!mac_a && !mac_s)
        return 0;
    EVP_CIPHER_CTX *ctx = kernel_new(k);
    if (!ctx)
        return -EIO;

    uint8_t temp[BLOCK], in1[BLOCK], x[BLOCK], in[BLOCK], out1[BLOCK];
    int rv = make_temp(ctx, opc, rand, temp);
    if (rv == 0) {
        /* IN1 = SQN || AMF || SQN || AMF */
        memcpy(in1, sqn, 6);
        memcpy(in1 + 6, amf, 2);
        memcpy(in1 + 8, in1, 8);
        /* OUT1 = E_K(TEMP xor rot(IN1 xor OPc, r1) xor c1) xor OPc; r1 = 64, c1 = 0 */
        xor_block(x, in1, opc, BLOCK);
        rotate(in, x, 64);
        xor_block(in, in, temp, BLOCK);
        rv = kernel(ctx, in, out1);
    }
    if (rv == 0) {
        xor_block(out1, out1, opc, BLOCK);
        if (mac_a)
            memcpy(mac_a, out1, 8);
        if (mac_s)
            memcpy(mac_s, out1 + 8, 8);
    }
    OPENSSL_cleanse(temp, sizeof(temp));
    OPENSSL_cleanse(x, sizeof(x));
    OPENSSL_cleanse(in, sizeof(in));
    OPENSSL_cleanse(out1, sizeof(out1));
    EVP_CIPHER_CTX_free(ctx);
    return rv;
}

int mcx_milenage_f2345(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                       uint8_t res[8], uint8_t ck[16], uint8_t ik[16], uint8_t ak[6],
                       uint8_t akstar[6])
{
    if (!k || !opc || !rand)
        return -EINVAL;
    if (!res && !ck && !ik && !ak && !akstar)
        return 0;
    EVP_CIPHER_CTX *ctx = kernel_new(k);
    if (!ctx)
        return -EIO;

    uint8_t temp[BLOCK], out[BLOCK];
    int rv = make_temp(ctx, opc, rand, temp);

    /* f2 and f5 share OUT2 (r2 = 0, c2): RES = OUT2[64..127], AK = OUT2[0..47]. */
    if (rv == 0 && (res || ak)) {
        rv = out_k(ctx, opc, temp, 0, 0x01, out);
        if (rv == 0 && res)
            memcpy(res, out + 8, 8);
        if (rv == 0 && ak)
            memcpy(ak, out, 6);
    }
    /* f3: CK = OUT3 (r3 = 32, c3). */
    if (rv == 0 && ck)
        rv = out_k(ctx, opc, temp, 32, 0x02, ck);
    /* f4: IK = OUT4 (r4 = 64, c4). */
    if (rv == 0 && ik)
        rv = out_k(ctx, opc, temp, 64, 0x04, ik);
    /* f5*: AK* = OUT5[0..47] (r5 = 96, c5). */
    if (rv == 0 && akstar) {
        rv = out_k(ctx, opc, temp, 96, 0x08, out);
        if (rv == 0)
            memcpy(akstar, out, 6);
    }
    OPENSSL_cleanse(temp, sizeof(temp));
    OPENSSL_cleanse(out, sizeof(out));
    EVP_CIPHER_CTX_free(ctx);
    return rv;
}

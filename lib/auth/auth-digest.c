/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * HTTP Digest arithmetic (RFC 2617 §3.2.2, RFC 7616 §3.4) with MD5 or
 * SHA-256 through OpenSSL EVP: HA1, HA2 and the request-digest, for SIP
 * Digest and for AKA where the password is the binary RES (RFC 3310).
 * Every hash is taken over "a:b:c" fed part by part, so no buffer is built.
 */
#include "mcx-auth.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "mcx-core.h"

#define HEX_MAX 64 /* SHA-256 */

typedef struct {
    const void *data;
    size_t len;
} part_t;

#define STR_PART(s) ((part_t){(s), strlen(s)})

static const EVP_MD *alg_md(mcx_digest_alg_t alg)
{
    switch (alg) {
    case MCX_DIGEST_MD5:
        return EVP_md5();
    case MCX_DIGEST_SHA256:
        return EVP_sha256();
    }
    return NULL;
}

size_t mcx_digest_hexlen(mcx_digest_alg_t alg)
{
    switch (alg) {
    case MCX_DIGEST_MD5:
        return 32;
    case MCX_DIGEST_SHA256:
        return 64;
    }
    return 0;
}

int mcx_digest_alg_parse(const char *name, mcx_digest_alg_t *out)
{
    if (!name || !out)
        return -EINVAL;
    if (!strcasecmp(name, "MD5"))
        *out = MCX_DIGEST_MD5;
    else if (!strcasecmp(name, "SHA-256"))
        *out = MCX_DIGEST_SHA256;
    else
        return -EINVAL;
    return 0;
}

const char *mcx_digest_alg_name(mcx_digest_alg_t alg)
{
    switch (alg) {
    case MCX_DIGEST_MD5:
        return "MD5";
    case MCX_DIGEST_SHA256:
        return "SHA-256";
    }
    return NULL;
}

/*
 * hex = H(p[0] ":" p[1] ":" ... p[n-1]) in lower-case hex; `hex` holds at
 * least hexlen + 1. The digest context is freed (and so wiped) by OpenSSL.
 */
static int hash_parts(mcx_digest_alg_t alg, const part_t *p, size_t n, char *hex)
{
    const EVP_MD *md = alg_md(alg);
    if (!md)
        return -EINVAL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return -EIO;

    int ok = EVP_DigestInit_ex(ctx, md, NULL) == 1;
    for (size_t i = 0; ok && i < n; i++) {
        if (i > 0)
            ok = EVP_DigestUpdate(ctx, ":", 1) == 1;
        if (ok && p[i].len > 0)
            ok = EVP_DigestUpdate(ctx, p[i].data, p[i].len) == 1;
    }
    unsigned char bin[EVP_MAX_MD_SIZE];
    unsigned int binlen = 0;
    if (ok)
        ok = EVP_DigestFinal_ex(ctx, bin, &binlen) == 1 && binlen * 2 == mcx_digest_hexlen(alg);
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return -EIO;
    mcx_hex_encode(bin, binlen, hex);
    OPENSSL_cleanse(bin, sizeof(bin));
    return 0;
}

static bool out_fits(mcx_digest_alg_t alg, const char *out, size_t outlen)
{
    size_t hexlen = mcx_digest_hexlen(alg);
    return out && hexlen > 0 && outlen >= hexlen + 1;
}

int mcx_digest_ha1(mcx_digest_alg_t alg, const char *username, const char *realm,
                   const uint8_t *password, size_t password_len, char *out, size_t outlen)
{
    if (!username || !realm || (!password && password_len > 0) || !out_fits(alg, out, outlen))
        return -EINVAL;
    part_t p[3] = {STR_PART(username), STR_PART(realm), {password, password_len}};
    return hash_parts(alg, p, 3, out);
}

/*
 * HA1 goes into the request-digest as text, and RFC 2617 §3.2.2.2 defines
 * that text as lower-case hex. An HA1 provisioned in upper case (Cx
 * Digest-HA1 is just a string) is normalised rather than silently mismatching.
 */
static int ha1_normalise(mcx_digest_alg_t alg, const char *ha1_hex, char *ha1)
{
    size_t hexlen = mcx_digest_hexlen(alg);
    if (strlen(ha1_hex) != hexlen)
        return -EINVAL;
    for (size_t i = 0; i < hexlen; i++) {
        char ch = ha1_hex[i];
        if (ch >= 'A' && ch <= 'F')
            ch = (char)(ch - 'A' + 'a');
        else if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return -EINVAL;
        ha1[i] = ch;
    }
    ha1[hexlen] = '\0';
    return 0;
}

int mcx_digest_response(mcx_digest_alg_t alg, const char *ha1_hex, const char *nonce,
                        const char *nc, const char *cnonce, const char *qop, const char *method,
                        const char *uri, const uint8_t *body, size_t body_len, char *out,
                        size_t outlen)
{
    if (!ha1_hex || !nonce || !method || !uri || (!body && body_len > 0) ||
        !out_fits(alg, out, outlen))
        return -EINVAL;

    bool has_qop = qop && qop[0];
    bool auth_int = false;
    if (has_qop) {
        if (!strcasecmp(qop, "auth-int"))
            auth_int = true;
        else if (strcasecmp(qop, "auth") != 0)
            return -EINVAL;
        /* RFC 7616 §3.4: cnonce and nc MUST be sent whenever qop is. */
        if (!nc || !nc[0] || !cnonce || !cnonce[0])
            return -EINVAL;
    }

    char ha1[HEX_MAX + 1], ha2[HEX_MAX + 1], hbody[HEX_MAX + 1];
    int rv = ha1_normalise(alg, ha1_hex, ha1);
    if (rv)
        return rv;

    /* HA2 = H(method:uri) or, for auth-int, H(method:uri:H(entity-body)). */
    if (auth_int) {
        part_t b = {body, body_len};
        rv = hash_parts(alg, &b, 1, hbody);
        if (rv == 0) {
            part_t p[3] = {STR_PART(method), STR_PART(uri), STR_PART(hbody)};
            rv = hash_parts(alg, p, 3, ha2);
        }
    } else {
        part_t p[2] = {STR_PART(method), STR_PART(uri)};
        rv = hash_parts(alg, p, 2, ha2);
    }

    if (rv == 0 && has_qop) {
        part_t p[6] = {STR_PART(ha1),    STR_PART(nonce), STR_PART(nc),
                       STR_PART(cnonce), STR_PART(qop),   STR_PART(ha2)};
        rv = hash_parts(alg, p, 6, out);
    } else if (rv == 0) {
        /* RFC 2069 compatibility: no qop, no nc, no cnonce. */
        part_t p[3] = {STR_PART(ha1), STR_PART(nonce), STR_PART(ha2)};
        rv = hash_parts(alg, p, 3, out);
    }
    OPENSSL_cleanse(ha1, sizeof(ha1));
    return rv;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/jose helpers: strict base64url, the RFC 7638 key thumbprint, the
 * RFC 7636 S256 PKCE challenge and scope-list lookup.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "jose-private.h"
#include "mcx-jose.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t jose_b64url_encode(const uint8_t *in, size_t len, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url_alphabet[(v >> 18) & 63];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url_alphabet[(v >> 18) & 63];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url_alphabet[(v >> 18) & 63];
        out[o++] = b64url_alphabet[(v >> 12) & 63];
        out[o++] = b64url_alphabet[(v >> 6) & 63];
    }
    out[o] = '\0';
    return o;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

long jose_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outcap)
{
    if (len % 4 == 1)
        return -EINVAL;
    size_t need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
    if (need > outcap)
        return -EINVAL;
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64val((unsigned char)in[i]);
        if (v < 0)
            return -EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* unused low bits of the last character must be zero */
        return -EINVAL;
    return (long)o;
}

int jose_ec_thumbprint(const char *x, const char *y, char *out, size_t outlen)
{
    /* RFC 7638 §3.2: required members only, lexicographic order, no spaces. */
    char canon[256];
    int n = snprintf(canon, sizeof(canon), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
                     x, y);
    if (n < 0 || (size_t)n >= sizeof(canon) || outlen < JOSE_B64_LEN(32) + 1)
        return -EINVAL;
    uint8_t md[32];
    SHA256((const unsigned char *)canon, (size_t)n, md);
    jose_b64url_encode(md, sizeof(md), out);
    return 0;
}

int mcx_jose_pkce_s256(const char *verifier, char *out, size_t outlen)
{
    if (!verifier || !out || outlen < JOSE_B64_LEN(32) + 1)
        return -EINVAL;
    uint8_t md[32];
    SHA256((const unsigned char *)verifier, strlen(verifier), md);
    jose_b64url_encode(md, sizeof(md), out);
    return 0;
}

size_t jose_scope_next(const char **cursor, const char **tok)
{
    const char *p = *cursor;
    while (*p == ' ')
        p++;
    const char *e = p;
    while (*e && *e != ' ')
        e++;
    *tok = p;
    *cursor = e;
    return (size_t)(e - p);
}

bool mcx_jose_scope_has(const char *scopes, const char *scope)
{
    if (!scopes || !scope || !*scope)
        return false;
    size_t sl = strlen(scope), n;
    const char *tok;
    while ((n = jose_scope_next(&scopes, &tok)) > 0)
        if (n == sl && memcmp(tok, scope, sl) == 0)
            return true;
    return false;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-ue's side of SIP authentication. Challenge parameters come from libre's
 * httpauth parser (plus msg_param_decode for ck/ik); the response is the
 * RFC 2617 request-digest from lib/auth with the password as raw octets, as
 * RFC 3310 §3.2 requires for AKA (RES may contain 0x00).
 */
#include "ue-auth.h"

#include "core/mcx-core.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <re.h>

#include <openssl/crypto.h>

#define UE_HEX_MAX 65 /* SHA-256 hex + NUL */

static int pl_copy(const struct pl *pl, char *out, size_t outlen)
{
    if (pl->l >= outlen)
        return -EINVAL;
    memcpy(out, pl->p, pl->l);
    out[pl->l] = '\0';
    return 0;
}

static bool list_has(const char *list, const char *item)
{
    size_t n = strlen(item);
    const char *p = list;
    while (*p) {
        p += strspn(p, " \t,");
        size_t len = strcspn(p, " \t,");
        if (len == n && strncasecmp(p, item, n) == 0)
            return true;
        p += len;
    }
    return false;
}

/* Whether the comma-separated auth-param list carries `name` (libre's
 * httpauth decoder keeps only the parameters it knows). */
static bool has_auth_param(const char *hval, size_t len, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i + n < len; i++) {
        if (i > 0 && hval[i - 1] != ',' && hval[i - 1] != ' ' && hval[i - 1] != '\t')
            continue;
        if (strncasecmp(hval + i, name, n) != 0)
            continue;
        size_t j = i + n;
        while (j < len && (hval[j] == ' ' || hval[j] == '\t'))
            j++;
        if (j < len && hval[j] == '=')
            return true;
    }
    return false;
}

int ue_challenge_parse(const char *hval, size_t len, ue_challenge_t *out)
{
    memset(out, 0, sizeof(*out));
    struct pl pl = {.p = hval, .l = len};
    struct httpauth_digest_chall c;
    if (!hval || httpauth_digest_challenge_decode(&c, &pl))
        return -EINVAL;
    if (!pl_isset(&c.realm) || !pl_isset(&c.nonce) ||
        pl_copy(&c.realm, out->realm, sizeof(out->realm)) ||
        pl_copy(&c.nonce, out->nonce, sizeof(out->nonce)))
        return -EINVAL;
    if (pl_isset(&c.opaque)) {
        if (pl_copy(&c.opaque, out->opaque, sizeof(out->opaque)))
            return -EINVAL;
        out->has_opaque = true;
    }
    if (pl_isset(&c.stale))
        out->stale = pl_strcasecmp(&c.stale, "true") == 0;
    if (pl_isset(&c.qop) && pl_copy(&c.qop, out->qop_offered, sizeof(out->qop_offered)))
        return -EINVAL;
    out->has_ck_ik = has_auth_param(hval, len, "ck") || has_auth_param(hval, len, "ik");

    /* RFC 2617 §3.2.1: no algorithm means MD5. */
    if (pl_isset(&c.algorithm) && pl_copy(&c.algorithm, out->algorithm, sizeof(out->algorithm)))
        return -ENOTSUP;
    if (!out->algorithm[0] || !strcasecmp(out->algorithm, "MD5")) {
        out->scheme = UE_SCHEME_DIGEST;
        out->alg = MCX_DIGEST_MD5;
    } else if (!strcasecmp(out->algorithm, "SHA-256")) {
        out->scheme = UE_SCHEME_DIGEST;
        out->alg = MCX_DIGEST_SHA256;
    } else if (!strcasecmp(out->algorithm, "AKAv1-MD5")) {
        out->scheme = UE_SCHEME_AKAV1_MD5;
        out->alg = MCX_DIGEST_MD5;
    } else {
        return -ENOTSUP;
    }

    /* REGISTER has no body, so auth-int costs nothing; auth is still preferred. */
    if (!out->qop_offered[0])
        out->qop[0] = '\0';
    else if (list_has(out->qop_offered, "auth"))
        mcx_strlcpy(out->qop, "auth", sizeof(out->qop));
    else if (list_has(out->qop_offered, "auth-int"))
        mcx_strlcpy(out->qop, "auth-int", sizeof(out->qop));
    else
        return -ENOTSUP;
    return 0;
}

static int rank(const ue_challenge_t *c)
{
    if (c->scheme == UE_SCHEME_AKAV1_MD5)
        return 1;
    return c->alg == MCX_DIGEST_SHA256 ? 3 : 2;
}

bool ue_challenge_better(const ue_challenge_t *cand, const ue_challenge_t *cur)
{
    /* AKA and Digest are not alternatives for one user; among Digest ones prefer SHA-256. */
    return cand->scheme == UE_SCHEME_DIGEST && cur->scheme == UE_SCHEME_DIGEST &&
           rank(cand) > rank(cur);
}

int ue_aka_nonce_decode(const char *nonce, uint8_t rand[16], uint8_t autn[16])
{
    uint8_t buf[384];
    size_t n = sizeof(buf);
    size_t len = nonce ? strlen(nonce) : 0;
    /* base64 of at least 32 octets is at least 44 characters; 512 is plenty. */
    if (len < 44 || len > 512 || len % 4 != 0)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        char ch = nonce[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                  (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' || (ch == '=' && i >= len - 2);
        if (!ok)
            return -EINVAL;
    }
    if (base64_decode(nonce, len, buf, &n) || n < 32)
        return -EINVAL;
    memcpy(rand, buf, 16);
    memcpy(autn, buf + 16, 16);
    OPENSSL_cleanse(buf, sizeof(buf));
    return 0;
}

/* Append with bounds; *ok drops to false on overflow. */
static void put(char *out, size_t outlen, size_t *pos, bool *ok, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void put(char *out, size_t outlen, size_t *pos, bool *ok, const char *fmt, ...)
{
    if (!*ok)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + *pos, outlen - *pos, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= outlen - *pos) {
        *ok = false;
        return;
    }
    *pos += (size_t)n;
}

/* A quoted-string value we write must not need escaping. */
static bool plain(const char *s)
{
    return s && !strpbrk(s, "\"\\\r\n");
}

int ue_auth_header(const ue_auth_input_t *in, char *out, size_t outlen)
{
    if (!in || !in->ch || !in->username || !in->uri || !in->method || !out || outlen == 0)
        return -EINVAL;
    const ue_challenge_t *ch = in->ch;
    if (!plain(in->username) || !plain(in->uri) || !plain(ch->realm) || !plain(ch->nonce) ||
        (ch->has_opaque && !plain(ch->opaque)))
        return -EINVAL;
    if (ch->qop[0] && (!in->cnonce || !plain(in->cnonce) || in->nc == 0))
        return -EINVAL;

    char ha1[UE_HEX_MAX], resp[UE_HEX_MAX], nc[9];
    snprintf(nc, sizeof(nc), "%08x", in->nc);
    int rv = mcx_digest_ha1(ch->alg, in->username, ch->realm, in->password,
                            in->password ? in->password_len : 0, ha1, sizeof(ha1));
    if (rv == 0)
        rv = mcx_digest_response(ch->alg, ha1, ch->nonce, ch->qop[0] ? nc : NULL,
                                 ch->qop[0] ? in->cnonce : NULL, ch->qop[0] ? ch->qop : NULL,
                                 in->method, in->uri, NULL, 0, resp, sizeof(resp));
    OPENSSL_cleanse(ha1, sizeof(ha1));
    if (rv)
        return rv;

    size_t pos = 0;
    bool ok = true;
    put(out, outlen, &pos, &ok, "Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\"",
        in->username, ch->realm, ch->nonce, in->uri);
    put(out, outlen, &pos, &ok, ", response=\"%s\"", resp);
    if (ch->algorithm[0])
        put(out, outlen, &pos, &ok, ", algorithm=%s", ch->algorithm);
    if (ch->qop[0])
        put(out, outlen, &pos, &ok, ", qop=%s, nc=%s, cnonce=\"%s\"", ch->qop, nc, in->cnonce);
    if (ch->has_opaque)
        put(out, outlen, &pos, &ok, ", opaque=\"%s\"", ch->opaque);
    if (in->auts) {
        char b64[32];
        size_t blen = sizeof(b64) - 1;
        if (base64_encode(in->auts, MCX_AKA_AUTS_LEN, b64, &blen))
            return -EINVAL;
        b64[blen] = '\0';
        put(out, outlen, &pos, &ok, ", auts=\"%s\"", b64);
    }
    return ok ? 0 : -ENOSPC;
}

int ue_auth_initial_header(const char *username, const char *realm, const char *uri,
                           const char *algorithm, char *out, size_t outlen)
{
    if (!plain(username) || !plain(realm) || !plain(uri))
        return -EINVAL;
    size_t pos = 0;
    bool ok = true;
    put(out, outlen, &pos, &ok,
        "Digest username=\"%s\", realm=\"%s\", nonce=\"\", uri=\"%s\", response=\"\"", username,
        realm, uri);
    if (algorithm && algorithm[0])
        put(out, outlen, &pos, &ok, ", algorithm=%s", algorithm);
    return ok ? 0 : -ENOSPC;
}

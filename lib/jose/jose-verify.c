/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/jose verifying side: trust sets (issuer -> EC P-256 public keys from
 * JWKS), the `auth:` configuration table, and token verification. The
 * structure and alg are checked before any key is looked at; signatures are
 * checked with OpenSSL directly on immutable EVP_PKEYs, so one trust set
 * serves any number of threads at once. A client presents the same access
 * token on every request, so tokens whose signature verified are remembered
 * by digest with their parsed payload (a small direct-mapped table under a
 * mutex); typ and the claims are checked on every call.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "jose-private.h"
#include "mcx-jose.h"

#define JOSE_MAX_TOKEN 16384
#define JOSE_MAX_JWKS_FILE (1024 * 1024)

typedef struct {
    char kid[128];
    EVP_PKEY *pk;
} trust_key_t;

typedef struct {
    char *iss;
    trust_key_t *keys;
    unsigned n_keys;
} trust_issuer_t;

/*
 * Tokens whose signature verified: SHA-256 of the whole compact JWS (header,
 * payload and signature), with the parsed payload and the header's typ. A hit
 * means these exact bytes verified before under this (immutable) trust set,
 * so alg, issuer, key and signature need no second look, and the payload
 * need not be decoded again; typ and the claims are still checked on every
 * call, against that call's expectations and clock. Collisions only evict.
 * Cached payloads are shared read-only (jansson's reference counts are
 * atomic here) and handed out with a reference of their own.
 */
#define SIG_CACHE_SLOTS 4096
#define SIG_CACHE_TYP 32

typedef struct {
    uint8_t digest[SHA256_DIGEST_LENGTH];
    json_t *payload;
    char typ[SIG_CACHE_TYP]; /* "" with has_typ false: no typ header */
    bool has_typ;
} sig_entry_t;

typedef struct {
    pthread_mutex_t lock;
    sig_entry_t e[SIG_CACHE_SLOTS];
} sig_cache_t;

struct mcx_jose_trust {
    trust_issuer_t *iss;
    unsigned n_iss;
    sig_cache_t *cache;
};

static unsigned sig_cache_slot(const uint8_t d[SHA256_DIGEST_LENGTH])
{
    return ((unsigned)d[0] | (unsigned)d[1] << 8) % SIG_CACHE_SLOTS;
}

/* The cached payload of the token with digest d (a new reference), or NULL. */
static json_t *sig_cache_get(sig_cache_t *c, const uint8_t d[SHA256_DIGEST_LENGTH],
                             char typ[SIG_CACHE_TYP], bool *has_typ)
{
    sig_entry_t *e = &c->e[sig_cache_slot(d)];
    json_t *pl = NULL;
    pthread_mutex_lock(&c->lock);
    if (e->payload && memcmp(e->digest, d, SHA256_DIGEST_LENGTH) == 0) {
        pl = json_incref(e->payload);
        memcpy(typ, e->typ, SIG_CACHE_TYP);
        *has_typ = e->has_typ;
    }
    pthread_mutex_unlock(&c->lock);
    return pl;
}

static void sig_cache_add(sig_cache_t *c, const uint8_t d[SHA256_DIGEST_LENGTH], json_t *payload,
                          const char *typ)
{
    if (typ && strlen(typ) >= SIG_CACHE_TYP)
        return; /* not worth a bigger slot: verified again next time */
    sig_entry_t *e = &c->e[sig_cache_slot(d)];
    pthread_mutex_lock(&c->lock);
    json_t *old = e->payload;
    memcpy(e->digest, d, SHA256_DIGEST_LENGTH);
    e->payload = json_incref(payload);
    e->has_typ = typ != NULL;
    snprintf(e->typ, sizeof(e->typ), "%s", typ ? typ : "");
    pthread_mutex_unlock(&c->lock);
    json_decref(old);
}

/* ---- configuration ------------------------------------------------------ */

#define I(f) offsetof(mcx_jose_issuer_conf_t, f)
static const mcx_conf_field_t issuer_fields[] = {
    {.key = "issuer", .type = MCX_CONF_STRING, .offset = I(issuer),
     .size = sizeof(((mcx_jose_issuer_conf_t *)0)->issuer), .required = true,
     .help = "iss of the tokens this key set signs"},
    {.key = "jwks_file", .type = MCX_CONF_STRING, .offset = I(jwks_file),
     .size = sizeof(((mcx_jose_issuer_conf_t *)0)->jwks_file), .required = true,
     .help = "that issuer's public JWKS (the IdMS writes it: idms.jwks_out)"},
    {0},
};
#undef I

#define A(f) offsetof(mcx_jose_auth_conf_t, f)
const mcx_conf_field_t mcx_jose_auth_conf_fields[] = {
    {.key = "audience", .type = MCX_CONF_STRING, .offset = A(audience),
     .size = sizeof(((mcx_jose_auth_conf_t *)0)->audience),
     .help = "this server's audience, required in aud; empty: not checked"},
    {.key = "leeway", .type = MCX_CONF_UINT, .offset = A(leeway), .def = "30", .min = 0,
     .max = 600, .help = "allowed clock skew in seconds for exp, nbf, iat"},
    {.key = "trust", .type = MCX_CONF_LIST, .offset = A(trust), .sub = issuer_fields,
     .elem_size = sizeof(mcx_jose_issuer_conf_t), .cap = MCX_JOSE_MAX_ISSUERS,
     .count_offset = A(n_trust), .help = "trusted issuers: [{issuer, jwks_file}]"},
    {0},
};
#undef A

/* ---- trust sets --------------------------------------------------------- */

mcx_jose_trust_t *mcx_jose_trust_new(void)
{
    mcx_jose_trust_t *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->cache = calloc(1, sizeof(*t->cache));
    if (!t->cache || pthread_mutex_init(&t->cache->lock, NULL) != 0) {
        free(t->cache);
        free(t);
        return NULL;
    }
    return t;
}

void mcx_jose_trust_free(mcx_jose_trust_t *trust)
{
    if (!trust)
        return;
    for (unsigned i = 0; i < trust->n_iss; i++) {
        for (unsigned k = 0; k < trust->iss[i].n_keys; k++)
            EVP_PKEY_free(trust->iss[i].keys[k].pk);
        free(trust->iss[i].keys);
        free(trust->iss[i].iss);
    }
    free(trust->iss);
    for (unsigned i = 0; i < SIG_CACHE_SLOTS; i++)
        json_decref(trust->cache->e[i].payload);
    pthread_mutex_destroy(&trust->cache->lock);
    free(trust->cache);
    free(trust);
}

static EVP_PKEY *ec_public_key(const uint8_t x[32], const uint8_t y[32])
{
    uint8_t pt[65];
    pt[0] = 0x04;
    memcpy(pt + 1, x, 32);
    memcpy(pt + 33, y, 32);
    EVP_PKEY *pk = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL, *chk = NULL;
    if (!bld ||
        !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt)) ||
        !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) ||
        EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        goto done;
    /* The point must be on the curve (no invalid-curve games). */
    chk = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    if (!chk || EVP_PKEY_public_check(chk) != 1) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
done:
    EVP_PKEY_CTX_free(chk);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pk;
}

static trust_issuer_t *issuer_find(const mcx_jose_trust_t *trust, const char *iss)
{
    for (unsigned i = 0; i < trust->n_iss; i++)
        if (strcmp(trust->iss[i].iss, iss) == 0)
            return &trust->iss[i];
    return NULL;
}

int mcx_jose_trust_add_jwks(mcx_jose_trust_t *trust, const char *issuer, const char *jwks_json,
                            char *err, size_t errlen)
{
    if (!trust || !issuer || !*issuer || !jwks_json) {
        snprintf(err, errlen, "missing issuer or JWKS");
        return -EINVAL;
    }
    json_error_t jerr;
    json_t *doc = json_loads(jwks_json, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        snprintf(err, errlen, "JWKS is not JSON (line %d: %s)", jerr.line, jerr.text);
        return -EINVAL;
    }
    json_t *keys = json_object_get(doc, "keys");
    if (!json_is_object(doc) || !json_is_array(keys)) {
        json_decref(doc);
        snprintf(err, errlen, "JWKS has no \"keys\" array");
        return -EINVAL;
    }
    size_t n = json_array_size(keys);
    trust_key_t *nk = calloc(n ? n : 1, sizeof(*nk));
    if (!nk) {
        json_decref(doc);
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    unsigned used = 0;
    int rv = 0;
    for (size_t i = 0; i < n && !rv; i++) {
        json_t *k = json_array_get(keys, i);
        const char *kty = json_string_value(json_object_get(k, "kty"));
        const char *crv = json_string_value(json_object_get(k, "crv"));
        const char *use = json_string_value(json_object_get(k, "use"));
        const char *alg = json_string_value(json_object_get(k, "alg"));
        /* Keys for other algorithms or purposes are not ours to use. */
        if (!json_is_object(k) || !kty || strcmp(kty, "EC") != 0 || !crv ||
            strcmp(crv, "P-256") != 0 || (use && strcmp(use, "sig") != 0) ||
            (alg && strcmp(alg, "ES256") != 0))
            continue;
        const char *xs = json_string_value(json_object_get(k, "x"));
        const char *ys = json_string_value(json_object_get(k, "y"));
        uint8_t x[32], y[32];
        if (!xs || !ys || jose_b64url_decode(xs, strlen(xs), x, sizeof(x)) != 32 ||
            jose_b64url_decode(ys, strlen(ys), y, sizeof(y)) != 32) {
            snprintf(err, errlen, "key %zu: x and y must be 32-byte base64url", i);
            rv = -EINVAL;
            break;
        }
        json_t *kidj = json_object_get(k, "kid");
        if (kidj && (!json_is_string(kidj) || !*json_string_value(kidj) ||
                     strlen(json_string_value(kidj)) >= sizeof(nk[used].kid))) {
            snprintf(err, errlen, "key %zu: bad kid", i);
            rv = -EINVAL;
            break;
        }
        if (kidj)
            mcx_strlcpy(nk[used].kid, json_string_value(kidj), sizeof(nk[used].kid));
        else
            jose_ec_thumbprint(xs, ys, nk[used].kid, sizeof(nk[used].kid));
        const trust_issuer_t *prev = issuer_find(trust, issuer);
        for (unsigned j = 0; j < used; j++)
            if (strcmp(nk[j].kid, nk[used].kid) == 0)
                rv = -EEXIST;
        for (unsigned j = 0; prev && j < prev->n_keys; j++)
            if (strcmp(prev->keys[j].kid, nk[used].kid) == 0)
                rv = -EEXIST;
        if (rv) {
            snprintf(err, errlen, "key %zu: duplicate kid '%s'", i, nk[used].kid);
            break;
        }
        nk[used].pk = ec_public_key(x, y);
        if (!nk[used].pk) {
            snprintf(err, errlen, "key %zu: not a point on P-256", i);
            rv = -EINVAL;
            break;
        }
        used++;
    }
    json_decref(doc);
    if (!rv && used == 0) {
        snprintf(err, errlen, "JWKS holds no EC P-256 signing key");
        rv = -ENOENT;
    }
    trust_issuer_t *ti = rv ? NULL : issuer_find(trust, issuer);
    if (!rv && !ti) {
        trust_issuer_t *na = realloc(trust->iss, (trust->n_iss + 1) * sizeof(*na));
        if (!na) {
            rv = -ENOMEM;
        } else {
            trust->iss = na;
            ti = &na[trust->n_iss];
            memset(ti, 0, sizeof(*ti));
            ti->iss = strdup(issuer);
            if (!ti->iss)
                rv = -ENOMEM;
            else
                trust->n_iss++;
        }
    }
    if (!rv) {
        trust_key_t *all = realloc(ti->keys, (ti->n_keys + used) * sizeof(*all));
        if (!all) {
            rv = -ENOMEM;
        } else {
            memcpy(all + ti->n_keys, nk, used * sizeof(*nk));
            ti->keys = all;
            ti->n_keys += used;
            free(nk);
            return 0;
        }
    }
    if (rv == -ENOMEM)
        snprintf(err, errlen, "out of memory");
    for (unsigned j = 0; j <= used && j < (n ? n : 1); j++)
        EVP_PKEY_free(nk[j].pk);
    free(nk);
    return rv;
}

int mcx_jose_trust_add_jwks_file(mcx_jose_trust_t *trust, const char *issuer, const char *path,
                                 char *err, size_t errlen)
{
    FILE *fp = fopen(path, "re");
    if (!fp) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    char *buf = malloc(JOSE_MAX_JWKS_FILE + 1);
    if (!buf) {
        fclose(fp);
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    size_t n = fread(buf, 1, JOSE_MAX_JWKS_FILE + 1, fp);
    int rerr = ferror(fp);
    fclose(fp);
    if (rerr || n > JOSE_MAX_JWKS_FILE) {
        free(buf);
        snprintf(err, errlen, "%s: %s", path, rerr ? "read error" : "larger than 1 MiB");
        return rerr ? -EIO : -EFBIG;
    }
    buf[n] = '\0';
    char why[200];
    int rv = mcx_jose_trust_add_jwks(trust, issuer, buf, why, sizeof(why));
    free(buf);
    if (rv)
        snprintf(err, errlen, "%s: %s", path, why);
    return rv;
}

int mcx_jose_trust_from_conf(const mcx_jose_auth_conf_t *conf, mcx_jose_trust_t **out,
                             char *err, size_t errlen)
{
    if (!conf || !out)
        return -EINVAL;
    *out = NULL;
    mcx_jose_trust_t *t = mcx_jose_trust_new();
    if (!t) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (unsigned i = 0; i < conf->n_trust && i < MCX_JOSE_MAX_ISSUERS; i++) {
        char why[400];
        int rv = mcx_jose_trust_add_jwks_file(t, conf->trust[i].issuer,
                                              conf->trust[i].jwks_file, why, sizeof(why));
        if (rv) {
            snprintf(err, errlen, "auth.trust[%u] (issuer %s): %s", i, conf->trust[i].issuer,
                     why);
            mcx_jose_trust_free(t);
            return rv;
        }
    }
    *out = t;
    return 0;
}

/* ---- verification ------------------------------------------------------- */

const char *mcx_jose_status_str(mcx_jose_status_t st)
{
    switch (st) {
    case MCX_JOSE_OK: return "ok";
    case MCX_JOSE_MALFORMED: return "malformed token";
    case MCX_JOSE_BAD_ALG: return "algorithm refused";
    case MCX_JOSE_BAD_TYPE: return "wrong token type";
    case MCX_JOSE_UNKNOWN_ISSUER: return "untrusted issuer";
    case MCX_JOSE_UNKNOWN_KEY: return "unknown signing key";
    case MCX_JOSE_BAD_SIGNATURE: return "bad signature";
    case MCX_JOSE_EXPIRED: return "token expired";
    case MCX_JOSE_NOT_YET_VALID: return "token not yet valid";
    case MCX_JOSE_BAD_AUDIENCE: return "wrong audience";
    case MCX_JOSE_INSUFFICIENT_SCOPE: return "insufficient scope";
    }
    return "unknown status";
}

/* Decode one base64url part holding a JSON object. */
static json_t *b64_json_object(const char *p, size_t len, const char *what, char *why,
                               size_t whylen)
{
    uint8_t *buf = malloc(len / 4 * 3 + 3);
    if (!buf) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    long n = jose_b64url_decode(p, len, buf, len / 4 * 3 + 3);
    if (n < 0) {
        free(buf);
        snprintf(why, whylen, "%s is not base64url", what);
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
    free(buf);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        snprintf(why, whylen, "%s is not a JSON object", what);
        return NULL;
    }
    return j;
}

/* Quote at most 40 characters of an attacker-chosen value for `why`. */
static void safe_copy(char *dst, size_t len, const char *src)
{
    size_t o = 0;
    for (size_t i = 0; src[i] && o + 4 < len && i < 40; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[o++] = (c < 0x20 || c > 0x7e || c == '\'') ? '?' : (char)c;
    }
    if (strlen(src) > 40 && o + 4 < len) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

static bool typ_matches(const char *have, const char *want)
{
    /* RFC 7515 §4.1.9: compared case-insensitively, "application/" optional. */
    if (strcasecmp(have, want) == 0)
        return true;
    return strncasecmp(have, "application/", 12) == 0 && strcasecmp(have + 12, want) == 0;
}

static bool sig_verify(EVP_PKEY *pk, const char *input, size_t inlen, const uint8_t sig[64])
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
    unsigned char *der = NULL;
    int derlen = -1;
    bool ok = false;
    if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
        BN_free(r);
        BN_free(s);
        ECDSA_SIG_free(es);
        return false;
    }
    derlen = i2d_ECDSA_SIG(es, &der);
    ECDSA_SIG_free(es);
    if (derlen <= 0)
        return false;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1 &&
        EVP_DigestVerify(ctx, der, (size_t)derlen, (const unsigned char *)input, inlen) == 1)
        ok = true;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    return ok;
}

/* A NumericDate claim as whole seconds; false if present but not a number. */
static bool num_claim(json_t *claims, const char *name, bool *present, int64_t *v)
{
    json_t *j = json_object_get(claims, name);
    *present = j != NULL;
    if (!j)
        return true;
    if (json_is_integer(j)) {
        *v = (int64_t)json_integer_value(j);
        return true;
    }
    if (json_is_real(j)) {
        double d = json_real_value(j);
        if (!isfinite(d) || d > 9e15 || d < -9e15)
            return false;
        *v = (int64_t)floor(d);
        return true;
    }
    return false;
}

/* The header's typ (NULL: none) against the expected one. */
static mcx_jose_status_t check_typ(const char *typ, const mcx_jose_expect_t *expect, char *why,
                                   size_t whylen)
{
    if (!expect->typ || (typ && typ_matches(typ, expect->typ)))
        return MCX_JOSE_OK;
    if (typ) {
        char q[64];
        safe_copy(q, sizeof(q), typ);
        snprintf(why, whylen, "typ '%s' is not '%s'", q, expect->typ);
    } else {
        snprintf(why, whylen, "typ missing, '%s' required", expect->typ);
    }
    return MCX_JOSE_BAD_TYPE;
}

/* exp, nbf, iat against the clock; aud and scope against the expectations. */
static mcx_jose_status_t check_claims(json_t *pl, const mcx_jose_expect_t *expect, char *why,
                                      size_t whylen)
{
    int64_t now = expect->now ? expect->now : (int64_t)time(NULL);
    int64_t lw = expect->leeway_s;
    bool have;
    int64_t v = 0;
    if (!num_claim(pl, "exp", &have, &v)) {
        snprintf(why, whylen, "exp is not a number");
        return MCX_JOSE_MALFORMED;
    }
    if (!have) {
        snprintf(why, whylen, "exp missing");
        return MCX_JOSE_EXPIRED;
    }
    if (v <= now - lw) {
        snprintf(why, whylen, "token expired %lld s ago", (long long)(now - v));
        return MCX_JOSE_EXPIRED;
    }
    static const char *const not_before[] = {"nbf", "iat"};
    for (unsigned i = 0; i < 2; i++) {
        if (!num_claim(pl, not_before[i], &have, &v)) {
            snprintf(why, whylen, "%s is not a number", not_before[i]);
            return MCX_JOSE_MALFORMED;
        }
        if (have && v > now + lw) {
            snprintf(why, whylen, "%s is %lld s in the future", not_before[i],
                     (long long)(v - now));
            return MCX_JOSE_NOT_YET_VALID;
        }
    }
    if (expect->audience && *expect->audience) {
        json_t *aud = json_object_get(pl, "aud");
        bool ok = false;
        if (json_is_string(aud)) {
            ok = strcmp(json_string_value(aud), expect->audience) == 0;
        } else if (json_is_array(aud)) {
            size_t i;
            json_t *a;
            json_array_foreach(aud, i, a)
                if (json_is_string(a) && strcmp(json_string_value(a), expect->audience) == 0)
                    ok = true;
        }
        if (!ok) {
            snprintf(why, whylen, "audience '%s' not in aud", expect->audience);
            return MCX_JOSE_BAD_AUDIENCE;
        }
    }
    if (expect->scope) {
        const char *have_scope = json_string_value(json_object_get(pl, "scope"));
        const char *p = expect->scope, *tok;
        size_t len;
        while ((len = jose_scope_next(&p, &tok)) > 0) {
            char need[256];
            size_t n = len < sizeof(need) - 1 ? len : sizeof(need) - 1;
            memcpy(need, tok, n);
            need[n] = '\0';
            if (!mcx_jose_scope_has(have_scope, need)) {
                snprintf(why, whylen, "scope '%s' not granted", need);
                return MCX_JOSE_INSUFFICIENT_SCOPE;
            }
        }
    }
    return MCX_JOSE_OK;
}

mcx_jose_status_t mcx_jose_verify(const mcx_jose_trust_t *trust, const char *jwt,
                                  const mcx_jose_expect_t *expect, json_t **claims, char *why,
                                  size_t whylen)
{
    static const mcx_jose_expect_t none_expected = {0};
    char dummy[2];
    if (!why || !whylen) {
        why = dummy;
        whylen = sizeof(dummy);
    }
    why[0] = '\0';
    if (claims)
        *claims = NULL;
    if (!expect)
        expect = &none_expected;
    if (!jwt || !trust) {
        snprintf(why, whylen, "no token");
        return MCX_JOSE_MALFORMED;
    }

    /* 1. Structure: exactly three base64url parts. */
    size_t len = strnlen(jwt, JOSE_MAX_TOKEN + 1);
    if (len > JOSE_MAX_TOKEN) {
        snprintf(why, whylen, "token longer than %d bytes", JOSE_MAX_TOKEN);
        return MCX_JOSE_MALFORMED;
    }
    const char *d1 = memchr(jwt, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jwt)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jwt))) {
        snprintf(why, whylen, "not a compact JWS (%s parts)",
                 !d1 ? "1" : !d2 ? "2" : "more than 3");
        return MCX_JOSE_MALFORMED;
    }
    size_t hlen = (size_t)(d1 - jwt), plen = (size_t)(d2 - d1 - 1);
    const char *sigp = d2 + 1;
    size_t slen = len - (size_t)(sigp - jwt);
    if (!hlen || !plen) {
        snprintf(why, whylen, "empty %s", !hlen ? "header" : "payload");
        return MCX_JOSE_MALFORMED;
    }

    /* These exact bytes verified before: only typ and the claims are left. */
    mcx_jose_status_t st = MCX_JOSE_MALFORMED;
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)jwt, len, digest);
    char ctyp[SIG_CACHE_TYP];
    bool has_typ = false;
    json_t *hdr = NULL;
    json_t *pl = sig_cache_get(trust->cache, digest, ctyp, &has_typ);
    if (pl) {
        st = check_typ(has_typ ? ctyp : NULL, expect, why, whylen);
        if (st == MCX_JOSE_OK)
            st = check_claims(pl, expect, why, whylen);
        goto out;
    }

    /* 2. Header: alg exactly ES256, before any key is touched. */
    hdr = b64_json_object(jwt, hlen, "header", why, whylen);
    if (!hdr)
        return MCX_JOSE_MALFORMED;
    json_t *algj = json_object_get(hdr, "alg");
    const char *alg = json_string_value(algj);
    char q[64];
    if (!alg || strcmp(alg, "ES256") != 0) {
        if (alg) {
            safe_copy(q, sizeof(q), alg);
            snprintf(why, whylen, "alg '%s' refused (only ES256)", q);
        } else {
            snprintf(why, whylen, "alg %s (only ES256)", algj ? "not a string" : "missing");
        }
        st = MCX_JOSE_BAD_ALG;
        goto out;
    }
    if (json_object_get(hdr, "crit")) {
        snprintf(why, whylen, "crit header parameters are not supported");
        goto out;
    }
    json_t *typj = json_object_get(hdr, "typ");
    if (typj && !json_is_string(typj)) {
        snprintf(why, whylen, "typ is not a string");
        st = MCX_JOSE_BAD_TYPE;
        goto out;
    }
    const char *typ = json_string_value(typj);
    if ((st = check_typ(typ, expect, why, whylen)) != MCX_JOSE_OK)
        goto out;
    st = MCX_JOSE_MALFORMED;
    json_t *kidj = json_object_get(hdr, "kid");
    if (kidj && !json_is_string(kidj)) {
        snprintf(why, whylen, "kid is not a string");
        goto out;
    }

    /* 3. Payload and signature encoding. */
    pl = b64_json_object(d1 + 1, plen, "payload", why, whylen);
    if (!pl)
        goto out;
    uint8_t sig[64];
    long sl = slen ? jose_b64url_decode(sigp, slen, sig, sizeof(sig)) : -EINVAL;
    if (slen && sl < 0 && slen <= JOSE_B64_LEN(64)) {
        snprintf(why, whylen, "signature is not base64url");
        goto out;
    }
    if (sl != 64) {
        snprintf(why, whylen, "ES256 signature must be 64 bytes");
        st = MCX_JOSE_BAD_SIGNATURE;
        goto out;
    }

    /* 4. Issuer and key. */
    const char *iss = json_string_value(json_object_get(pl, "iss"));
    const trust_issuer_t *ti = iss ? issuer_find(trust, iss) : NULL;
    if (!ti) {
        if (iss) {
            safe_copy(q, sizeof(q), iss);
            snprintf(why, whylen, "issuer '%s' not trusted", q);
        } else {
            snprintf(why, whylen, "iss missing");
        }
        st = MCX_JOSE_UNKNOWN_ISSUER;
        goto out;
    }
    const trust_key_t *key = NULL;
    const char *kid = json_string_value(kidj);
    if (kid) {
        for (unsigned i = 0; i < ti->n_keys && !key; i++)
            if (strcmp(ti->keys[i].kid, kid) == 0)
                key = &ti->keys[i];
    } else if (ti->n_keys == 1) {
        key = &ti->keys[0];
    }
    if (!key) {
        if (kid) {
            safe_copy(q, sizeof(q), kid);
            snprintf(why, whylen, "kid '%s' unknown for this issuer", q);
        } else {
            snprintf(why, whylen, "no kid and the issuer has %u keys", ti->n_keys);
        }
        st = MCX_JOSE_UNKNOWN_KEY;
        goto out;
    }

    /* 5. Signature over "header.payload". */
    if (!sig_verify(key->pk, jwt, (size_t)(d2 - jwt), sig)) {
        snprintf(why, whylen, "signature does not verify");
        st = MCX_JOSE_BAD_SIGNATURE;
        goto out;
    }
    sig_cache_add(trust->cache, digest, pl, typ);

    /* 6. Claims. */
    st = check_claims(pl, expect, why, whylen);
out:
    if (st == MCX_JOSE_OK && claims) {
        *claims = pl;
        pl = NULL;
    }
    json_decref(hdr);
    json_decref(pl);
    return st;
}

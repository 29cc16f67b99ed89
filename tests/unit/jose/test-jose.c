/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/jose: key files (create, reload, mode), JWKS, sign -> verify, every
 * refusal status with tokens built and signed here by hand (OpenSSL, not
 * lib/jose), a token minted by PyJWT, cjose agreeing with our signatures,
 * the auth: configuration and the RFC 7636 Appendix B PKCE vector.
 */
#include <cjose/cjose.h>
#include <errno.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mcx-jose.h"

#define ISS "https://127.0.0.1:8443/idms"
#define NOW 1800000000LL

typedef struct {
    char dir[64];
    char key_path[128];
    mcx_jose_key_t *key;
    EVP_PKEY *pk; /* the same key, read by OpenSSL for hand-made tokens */
    mcx_jose_trust_t *trust;
} fx_t;

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    char err[256];
    strcpy(fx->dir, "/tmp/test-jose-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->key_path, sizeof(fx->key_path), "%s/signing.pem", fx->dir);
    assert_int_equal(mcx_jose_key_load_or_create(fx->key_path, &fx->key, err, sizeof(err)), 0);
    FILE *fp = fopen(fx->key_path, "r");
    assert_non_null(fp);
    fx->pk = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(fx->pk);
    char *jwks = mcx_jose_key_jwks(fx->key);
    fx->trust = mcx_jose_trust_new();
    assert_int_equal(mcx_jose_trust_add_jwks(fx->trust, ISS, jwks, err, sizeof(err)), 0);
    free(jwks);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    mcx_jose_trust_free(fx->trust);
    mcx_jose_key_free(fx->key);
    EVP_PKEY_free(fx->pk);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx->dir);
    assert_int_equal(system(cmd), 0);
    free(fx);
    return 0;
}

/* ---- hand-made tokens --------------------------------------------------- */

static void b64u(const uint8_t *in, size_t len, char *out)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | in[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[o++] = a[(acc >> bits) & 63];
        }
    }
    if (bits)
        out[o++] = a[(acc << (6 - bits)) & 63];
    out[o] = '\0';
}

/* ES256 over "h.p" with OpenSSL, raw R||S. */
static void es256(EVP_PKEY *pk, const char *input, char *out)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[128];
    size_t derlen = sizeof(der);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
    assert_int_equal(EVP_DigestSign(ctx, der, &derlen, (const unsigned char *)input,
                                    strlen(input)), 1);
    EVP_MD_CTX_free(ctx);
    const unsigned char *p = der;
    ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
    assert_non_null(sig);
    uint8_t rs[64];
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), rs, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), rs + 32, 32);
    ECDSA_SIG_free(sig);
    b64u(rs, 64, out);
}

/* header and payload JSON texts -> compact JWS signed by pk (NULL: sig "") */
static char *make(EVP_PKEY *pk, const char *hdr, const char *payload)
{
    char *t = malloc(8192);
    char h[2048], p[4096], s[128] = "";
    b64u((const uint8_t *)hdr, strlen(hdr), h);
    b64u((const uint8_t *)payload, strlen(payload), p);
    snprintf(t, 8192, "%s.%s", h, p);
    if (pk)
        es256(pk, t, s);
    strcat(t, ".");
    strcat(t, s);
    return t;
}

static char *std_hdr(fx_t *fx, char *buf, size_t len)
{
    snprintf(buf, len, "{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"%s\"}",
             mcx_jose_key_kid(fx->key));
    return buf;
}

static char *claims_text(char *buf, size_t len, long long exp, long long nbf, const char *aud,
                         const char *scope)
{
    snprintf(buf, len,
             "{\"iss\":\"" ISS "\",\"sub\":\"alice\",\"aud\":%s,\"scope\":\"%s\","
             "\"mcptt_id\":\"sip:alice@alpha.test\",\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
             aud, scope, nbf, nbf, exp);
    return buf;
}

static const mcx_jose_expect_t expect_cms = {
    .audience = "cms.alpha.test",
    .scope = "3gpp:mc:ptt_config_management_service",
    .typ = "at+jwt",
    .leeway_s = 30,
    .now = NOW,
};

#define GOOD_AUD "[\"cms.alpha.test\",\"gms.alpha.test\"]"
#define GOOD_SCOPE "openid 3gpp:mc:ptt_config_management_service"

static mcx_jose_status_t check(fx_t *fx, const char *tok, char *why)
{
    return mcx_jose_verify(fx->trust, tok, &expect_cms, NULL, why, 200);
}

/* ---- tests -------------------------------------------------------------- */

static void test_sign_verify(void **state)
{
    fx_t *fx = *state;
    json_t *claims = json_pack("{s:s, s:s, s:[s,s], s:s, s:s, s:I, s:I, s:I}", "iss", ISS,
                               "sub", "alice", "aud", "cms.alpha.test", "gms.alpha.test",
                               "scope", GOOD_SCOPE, "mcptt_id", "sip:alice@alpha.test", "iat",
                               (json_int_t)NOW, "nbf", (json_int_t)NOW, "exp",
                               (json_int_t)NOW + 300);
    char *tok = NULL;
    assert_int_equal(mcx_jose_sign(fx->key, "at+jwt", claims, &tok), 0);
    json_decref(claims);
    char why[200];
    json_t *got = NULL;
    assert_int_equal(mcx_jose_verify(fx->trust, tok, &expect_cms, &got, why, sizeof(why)),
                     MCX_JOSE_OK);
    assert_string_equal(json_string_value(json_object_get(got, "mcptt_id")),
                        "sip:alice@alpha.test");
    json_decref(got);

    /* The header is exactly what the contract says. */
    char *dot = strchr(tok, '.');
    assert_non_null(dot);
    char hb64[256];
    memcpy(hb64, tok, (size_t)(dot - tok));
    hb64[dot - tok] = '\0';
    uint8_t hraw[256];
    size_t hl = 0;
    cjose_err cerr;
    uint8_t *dec = NULL;
    assert_true(cjose_base64url_decode(hb64, strlen(hb64), &dec, &hl, &cerr));
    memcpy(hraw, dec, hl);
    hraw[hl] = 0;
    free(dec);
    json_t *hdr = json_loads((char *)hraw, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(hdr, "typ")), "at+jwt");
    assert_string_equal(json_string_value(json_object_get(hdr, "kid")),
                        mcx_jose_key_kid(fx->key));
    json_decref(hdr);

    /* With no kid in the header, an issuer with exactly one key is fine. */
    char c[1024];
    char *t2 = make(fx->pk, "{\"alg\":\"ES256\",\"typ\":\"at+jwt\"}",
                    claims_text(c, sizeof(c), NOW + 60, NOW, GOOD_AUD, GOOD_SCOPE));
    assert_int_equal(check(fx, t2, why), MCX_JOSE_OK);
    free(t2);

    /* aud as a plain string; typ "application/at+jwt"; no audience expected. */
    char h[256];
    t2 = make(fx->pk, "{\"alg\":\"ES256\",\"typ\":\"application/AT+JWT\"}",
              claims_text(c, sizeof(c), NOW + 60, NOW, "\"cms.alpha.test\"", GOOD_SCOPE));
    assert_int_equal(check(fx, t2, why), MCX_JOSE_OK);
    free(t2);
    mcx_jose_expect_t loose = {.now = NOW};
    t2 = make(fx->pk, std_hdr(fx, h, sizeof(h)),
              claims_text(c, sizeof(c), NOW + 60, NOW, "\"other\"", ""));
    assert_int_equal(mcx_jose_verify(fx->trust, t2, &loose, NULL, why, sizeof(why)),
                     MCX_JOSE_OK);
    free(t2);
    free(tok);
}

/*
 * The verified-signature cache: a token seen before skips decoding and the
 * ECDSA step. Its typ and claims are checked again on every call, against
 * that call's expectations (it expires; another verifier wants another
 * audience, scope or typ), its payload still comes back, and a token that
 * differs in any byte of its signature is verified afresh and refused.
 */
static void test_signature_cache(void **state)
{
    fx_t *fx = *state;
    char why[200], h[256], c[1024];
    char *tok = make(fx->pk, std_hdr(fx, h, sizeof(h)),
                     claims_text(c, sizeof(c), NOW + 60, NOW, GOOD_AUD, GOOD_SCOPE));
    for (int i = 0; i < 3; i++)
        assert_int_equal(check(fx, tok, why), MCX_JOSE_OK);

    mcx_jose_expect_t later = expect_cms;
    later.now = NOW + 3600;
    assert_int_equal(mcx_jose_verify(fx->trust, tok, &later, NULL, why, sizeof(why)),
                     MCX_JOSE_EXPIRED);
    mcx_jose_expect_t other_aud = expect_cms;
    other_aud.audience = "mcptt.alpha.test";
    assert_int_equal(mcx_jose_verify(fx->trust, tok, &other_aud, NULL, why, sizeof(why)),
                     MCX_JOSE_BAD_AUDIENCE);
    mcx_jose_expect_t other_scope = expect_cms;
    other_scope.scope = "3gpp:mc:ptt_service";
    assert_int_equal(mcx_jose_verify(fx->trust, tok, &other_scope, NULL, why, sizeof(why)),
                     MCX_JOSE_INSUFFICIENT_SCOPE);
    /* Every scope asked for must be granted; spaces around them do not count. */
    mcx_jose_expect_t two = expect_cms;
    two.scope = "  openid   3gpp:mc:ptt_config_management_service ";
    assert_int_equal(mcx_jose_verify(fx->trust, tok, &two, NULL, why, sizeof(why)), MCX_JOSE_OK);
    two.scope = "openid 3gpp:mc:ptt_service";
    assert_int_equal(mcx_jose_verify(fx->trust, tok, &two, NULL, why, sizeof(why)),
                     MCX_JOSE_INSUFFICIENT_SCOPE);
    assert_string_equal(why, "scope '3gpp:mc:ptt_service' not granted");
    mcx_jose_expect_t id_token = expect_cms;
    id_token.typ = "JWT";
    assert_int_equal(mcx_jose_verify(fx->trust, tok, &id_token, NULL, why, sizeof(why)),
                     MCX_JOSE_BAD_TYPE);
    assert_string_equal(why, "typ 'at+jwt' is not 'JWT'");
    for (int i = 0; i < 2; i++) {
        json_t *got = NULL;
        assert_int_equal(mcx_jose_verify(fx->trust, tok, &expect_cms, &got, why, sizeof(why)),
                         MCX_JOSE_OK);
        assert_int_equal(json_integer_value(json_object_get(got, "exp")), NOW + 60);
        json_decref(got);
    }

    /* Same header and payload, another (valid-looking) signature. */
    char *forged = strdup(tok);
    char *sig = strrchr(forged, '.') + 1;
    sig[0] = sig[0] == 'A' ? 'B' : 'A';
    assert_int_equal(check(fx, forged, why), MCX_JOSE_BAD_SIGNATURE);
    assert_int_equal(check(fx, tok, why), MCX_JOSE_OK);
    free(forged);
    free(tok);
}

/* Many signatures: R or S with leading zero bytes must still be 32 bytes each. */
static void test_many_signatures(void **state)
{
    fx_t *fx = *state;
    char why[200];
    for (int i = 0; i < 600; i++) {
        json_t *claims = json_pack("{s:s, s:s, s:s, s:I, s:i}", "iss", ISS, "aud",
                                   "cms.alpha.test", "scope", GOOD_SCOPE, "exp",
                                   (json_int_t)NOW + 60, "n", i);
        char *tok = NULL;
        assert_int_equal(mcx_jose_sign(fx->key, "at+jwt", claims, &tok), 0);
        json_decref(claims);
        mcx_jose_status_t st = check(fx, tok, why);
        if (st != MCX_JOSE_OK)
            print_error("token %d: %s\n", i, why);
        assert_int_equal(st, MCX_JOSE_OK);
        free(tok);
    }
}

/* cjose's own verifier accepts what we sign. */
static void test_cjose_agrees(void **state)
{
    fx_t *fx = *state;
    json_t *claims = json_pack("{s:s, s:I}", "iss", ISS, "exp", (json_int_t)NOW + 60);
    char *tok = NULL;
    assert_int_equal(mcx_jose_sign(fx->key, "JWT", claims, &tok), 0);
    json_decref(claims);
    char *jwks = mcx_jose_key_jwks(fx->key);
    json_t *doc = json_loads(jwks, 0, NULL);
    char *k0 = json_dumps(json_array_get(json_object_get(doc, "keys"), 0), 0);
    cjose_err cerr;
    cjose_jwk_t *pub = cjose_jwk_import(k0, strlen(k0), &cerr);
    assert_non_null(pub);
    cjose_jws_t *jws = cjose_jws_import(tok, strlen(tok), &cerr);
    assert_non_null(jws);
    assert_true(cjose_jws_verify(jws, pub, &cerr));
    cjose_jws_release(jws);
    cjose_jwk_release(pub);
    free(k0);
    json_decref(doc);
    free(jwks);
    free(tok);
}

static void test_refusals(void **state)
{
    fx_t *fx = *state;
    char why[200], h[256], c[1024];
    char *good = make(fx->pk, std_hdr(fx, h, sizeof(h)),
                      claims_text(c, sizeof(c), NOW + 60, NOW, GOOD_AUD, GOOD_SCOPE));
    assert_int_equal(check(fx, good, why), MCX_JOSE_OK);

    struct {
        const char *hdr; /* NULL: std_hdr */
        long long exp, nbf;
        const char *aud, *scope;
        bool sign;
        mcx_jose_status_t want;
        const char *why;
    } cases[] = {
        {"{\"alg\":\"none\",\"typ\":\"at+jwt\"}", NOW + 60, NOW, GOOD_AUD, GOOD_SCOPE, false,
         MCX_JOSE_BAD_ALG, "alg 'none' refused (only ES256)"},
        {"{\"alg\":\"ES256 \",\"typ\":\"at+jwt\"}", NOW + 60, NOW, GOOD_AUD, GOOD_SCOPE, true,
         MCX_JOSE_BAD_ALG, "alg 'ES256 ' refused (only ES256)"},
        {"{\"alg\":\"es256\"}", NOW + 60, NOW, GOOD_AUD, GOOD_SCOPE, true, MCX_JOSE_BAD_ALG,
         NULL},
        {"{\"typ\":\"at+jwt\"}", NOW + 60, NOW, GOOD_AUD, GOOD_SCOPE, true, MCX_JOSE_BAD_ALG,
         "alg missing (only ES256)"},
        {"{\"alg\":\"ES256\",\"typ\":\"JWT\"}", NOW + 60, NOW, GOOD_AUD, GOOD_SCOPE, true,
         MCX_JOSE_BAD_TYPE, "typ 'JWT' is not 'at+jwt'"},
        {"{\"alg\":\"ES256\"}", NOW + 60, NOW, GOOD_AUD, GOOD_SCOPE, true, MCX_JOSE_BAD_TYPE,
         "typ missing, 'at+jwt' required"},
        {"{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"kid\":\"nope\"}", NOW + 60, NOW, GOOD_AUD,
         GOOD_SCOPE, true, MCX_JOSE_UNKNOWN_KEY, "kid 'nope' unknown for this issuer"},
        {"{\"alg\":\"ES256\",\"typ\":\"at+jwt\",\"crit\":[\"x\"]}", NOW + 60, NOW, GOOD_AUD,
         GOOD_SCOPE, true, MCX_JOSE_MALFORMED, NULL},
        {NULL, NOW - 42, NOW - 100, GOOD_AUD, GOOD_SCOPE, true, MCX_JOSE_EXPIRED,
         "token expired 42 s ago"},
        {NULL, NOW - 29, NOW - 100, GOOD_AUD, GOOD_SCOPE, true, MCX_JOSE_OK, NULL}, /* leeway */
        {NULL, NOW - 30, NOW - 100, GOOD_AUD, GOOD_SCOPE, true, MCX_JOSE_EXPIRED, NULL},
        {NULL, NOW + 600, NOW + 120, GOOD_AUD, GOOD_SCOPE, true, MCX_JOSE_NOT_YET_VALID,
         "nbf is 120 s in the future"},
        {NULL, NOW + 600, NOW + 30, GOOD_AUD, GOOD_SCOPE, true, MCX_JOSE_OK, NULL},
        {NULL, NOW + 60, NOW, "[\"gms.alpha.test\"]", GOOD_SCOPE, true, MCX_JOSE_BAD_AUDIENCE,
         "audience 'cms.alpha.test' not in aud"},
        {NULL, NOW + 60, NOW, "\"cms.alpha.test.evil\"", GOOD_SCOPE, true,
         MCX_JOSE_BAD_AUDIENCE, NULL},
        {NULL, NOW + 60, NOW, "42", GOOD_SCOPE, true, MCX_JOSE_BAD_AUDIENCE, NULL},
        {NULL, NOW + 60, NOW, GOOD_AUD, "openid 3gpp:mc:ptt_service", true,
         MCX_JOSE_INSUFFICIENT_SCOPE,
         "scope '3gpp:mc:ptt_config_management_service' not granted"},
        {NULL, NOW + 60, NOW, GOOD_AUD, "3gpp:mc:ptt_config_management_service_x", true,
         MCX_JOSE_INSUFFICIENT_SCOPE, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *t = make(cases[i].sign ? fx->pk : NULL,
                       cases[i].hdr ? cases[i].hdr : std_hdr(fx, h, sizeof(h)),
                       claims_text(c, sizeof(c), cases[i].exp, cases[i].nbf, cases[i].aud,
                                   cases[i].scope));
        mcx_jose_status_t st = check(fx, t, why);
        if (st != cases[i].want)
            print_error("case %zu: got %d (%s), want %d\n", i, st, why, cases[i].want);
        assert_int_equal(st, cases[i].want);
        if (cases[i].why)
            assert_string_equal(why, cases[i].why);
        free(t);
    }

    /* exp missing; iat in the future; iss untrusted / missing. */
    const char *payloads[] = {
        "{\"iss\":\"" ISS "\",\"aud\":\"cms.alpha.test\"}",
        "{\"iss\":\"" ISS "\",\"aud\":\"cms.alpha.test\",\"exp\":1800000600,\"iat\":1800000100}",
        "{\"iss\":\"https://evil.example/idms\",\"exp\":1800000600}",
        "{\"exp\":1800000600}",
        "{\"iss\":\"" ISS "\",\"exp\":\"1800000600\"}",
    };
    const mcx_jose_status_t want[] = {MCX_JOSE_EXPIRED, MCX_JOSE_NOT_YET_VALID,
                                      MCX_JOSE_UNKNOWN_ISSUER, MCX_JOSE_UNKNOWN_ISSUER,
                                      MCX_JOSE_MALFORMED};
    for (size_t i = 0; i < 5; i++) {
        char *t = make(fx->pk, std_hdr(fx, h, sizeof(h)), payloads[i]);
        assert_int_equal(check(fx, t, why), want[i]);
        free(t);
    }
    char *evil_iss = make(fx->pk, std_hdr(fx, h, sizeof(h)), payloads[2]);
    assert_int_equal(check(fx, evil_iss, why), MCX_JOSE_UNKNOWN_ISSUER);
    assert_string_equal(why, "issuer 'https://evil.example/idms' not trusted");
    free(evil_iss);

    /* Tampered payload: a good signature over other claims. */
    char *t = make(fx->pk, std_hdr(fx, h, sizeof(h)),
                   claims_text(c, sizeof(c), NOW + 60, NOW, GOOD_AUD, GOOD_SCOPE));
    char *other = make(fx->pk, std_hdr(fx, h, sizeof(h)),
                       claims_text(c, sizeof(c), NOW + 6000, NOW, GOOD_AUD, GOOD_SCOPE));
    char *s1 = strrchr(t, '.'), *s2 = strrchr(other, '.');
    char mixed[8192];
    snprintf(mixed, sizeof(mixed), "%.*s%s", (int)(s2 - other), other, s1);
    assert_int_equal(check(fx, mixed, why), MCX_JOSE_BAD_SIGNATURE);
    assert_string_equal(why, "signature does not verify");

    /* Signed by another key under our kid (forged). */
    EVP_PKEY *evil = EVP_EC_gen("P-256");
    char *forged = make(evil, std_hdr(fx, h, sizeof(h)),
                        claims_text(c, sizeof(c), NOW + 60, NOW, GOOD_AUD, GOOD_SCOPE));
    assert_int_equal(check(fx, forged, why), MCX_JOSE_BAD_SIGNATURE);
    EVP_PKEY_free(evil);
    free(forged);

    /* HS256 with the public key's JWK text as the secret (alg confusion). */
    const char *hs_hdr = "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}";
    char hb[256], pb[2048], in[4096];
    b64u((const uint8_t *)hs_hdr, strlen(hs_hdr), hb);
    claims_text(c, sizeof(c), NOW + 60, NOW, GOOD_AUD, GOOD_SCOPE);
    b64u((const uint8_t *)c, strlen(c), pb);
    snprintf(in, sizeof(in), "%s.%s", hb, pb);
    char *jwks = mcx_jose_key_jwks(fx->key);
    unsigned char mac[32];
    unsigned maclen = 0;
    HMAC(EVP_sha256(), jwks, (int)strlen(jwks), (unsigned char *)in, strlen(in), mac, &maclen);
    free(jwks);
    char macb[64], hs[4200];
    b64u(mac, maclen, macb);
    snprintf(hs, sizeof(hs), "%s.%s", in, macb);
    assert_int_equal(check(fx, hs, why), MCX_JOSE_BAD_ALG);
    assert_string_equal(why, "alg 'HS256' refused (only ES256)");

    /* Structure. */
    char two[8192];
    snprintf(two, sizeof(two), "%.*s", (int)(strrchr(good, '.') - good), good);
    assert_int_equal(check(fx, two, why), MCX_JOSE_MALFORMED);
    assert_string_equal(why, "not a compact JWS (2 parts)");
    char four[8300];
    snprintf(four, sizeof(four), "%s.xx", good);
    assert_int_equal(check(fx, four, why), MCX_JOSE_MALFORMED);
    assert_int_equal(check(fx, "", why), MCX_JOSE_MALFORMED);
    assert_int_equal(check(fx, "..", why), MCX_JOSE_MALFORMED);
    assert_int_equal(check(fx, "abc", why), MCX_JOSE_MALFORMED);
    /* Bad base64url: padding, standard alphabet, stray characters. */
    char bad[8300];
    snprintf(bad, sizeof(bad), "%s", good);
    bad[3] = '+';
    assert_int_equal(check(fx, bad, why), MCX_JOSE_MALFORMED);
    assert_string_equal(why, "header is not base64url");
    char *hdot = strchr(good, '.');
    assert_non_null(hdot);
    snprintf(bad, sizeof(bad), "%.*s=.%s", (int)(hdot - good), good, hdot + 1);
    assert_int_equal(check(fx, bad, why), MCX_JOSE_MALFORMED);
    char *pdot = hdot + 1;
    snprintf(bad, sizeof(bad), "%.*s*%s", (int)(pdot - good), good, pdot);
    assert_int_equal(check(fx, bad, why), MCX_JOSE_MALFORMED);
    assert_string_equal(why, "payload is not base64url");
    /* Header that is JSON but not an object, payload that is not JSON. */
    char *arr = make(fx->pk, "[\"ES256\"]", c);
    assert_int_equal(check(fx, arr, why), MCX_JOSE_MALFORMED);
    free(arr);
    arr = make(fx->pk, std_hdr(fx, h, sizeof(h)), "not json");
    assert_int_equal(check(fx, arr, why), MCX_JOSE_MALFORMED);
    free(arr);
    /* Duplicate member names are refused (no parser differentials). */
    arr = make(fx->pk, "{\"alg\":\"ES256\",\"alg\":\"none\",\"typ\":\"at+jwt\"}", c);
    assert_int_equal(check(fx, arr, why), MCX_JOSE_MALFORMED);
    free(arr);
    /* Signature of the wrong length; truncated signature. */
    snprintf(bad, sizeof(bad), "%.*sAAAA", (int)(strrchr(good, '.') + 1 - good), good);
    assert_int_equal(check(fx, bad, why), MCX_JOSE_BAD_SIGNATURE);
    assert_int_equal(mcx_jose_verify(fx->trust, NULL, &expect_cms, NULL, why, sizeof(why)),
                     MCX_JOSE_MALFORMED);
    free(t);
    free(other);
    free(good);
}

/* A token minted by PyJWT (tests/integration/tokens.py) for a known key. */
static void test_pyjwt_interop(void **state)
{
    static const char jwks[] =
        "{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", \"use\": \"sig\", \"alg\": "
        "\"ES256\", \"kid\": \"pyjwt-key-1\", \"x\": "
        "\"TMB95T675PZIXJ_KQkAjW0s9JafGoQcZgFDbp1jd-P0\", \"y\": "
        "\"iyME3oq55jTuDjx2AssIWpxkE-ILhGdWkPIuJGozpyM\"}]}";
    static const char tok[] =
        "eyJhbGciOiJFUzI1NiIsImtpZCI6InB5and0LWtleS0xIiwidHlwIjoiYXQrand0In0."
        "eyJpc3MiOiJodHRwczovLzEyNy4wLjAuMTo4NDQzL2lkbXMiLCJzdWIiOiJhbGljZSIsImF1ZCI6WyJjbXMu"
        "YWxwaGEudGVzdCIsImdtcy5hbHBoYS50ZXN0Il0sImNsaWVudF9pZCI6Im1jeC11ZSIsInNjb3BlIjoib3Bl"
        "bmlkIDNncHA6bWM6cHR0X3NlcnZpY2UgM2dwcDptYzpwdHRfY29uZmlnX21hbmFnZW1lbnRfc2VydmljZSAz"
        "Z3BwOm1jOnB0dF9ncm91cF9tYW5hZ2VtZW50X3NlcnZpY2UiLCJtY3B0dF9pZCI6InNpcDphbGljZUBhbHBo"
        "YS50ZXN0IiwiaWF0IjoxNzAwMDAwMDAwLCJuYmYiOjE3MDAwMDAwMDAsImV4cCI6NDEwMjQ0NDgwMCwianRp"
        "IjoiZml4ZWQifQ."
        "RkZ4u2w3XuNvuDnEo0kGns0nFGuxpr2kj1weSfnlWwkR2loD64hzL3S7tTUSCzHSc_XBtXDQ7wzCZTO0t8yzLg";
    mcx_jose_trust_t *t = mcx_jose_trust_new();
    char err[200];
    assert_int_equal(mcx_jose_trust_add_jwks(t, ISS, jwks, err, sizeof(err)), 0);
    json_t *claims = NULL;
    assert_int_equal(mcx_jose_verify(t, tok, &expect_cms, &claims, err, sizeof(err)),
                     MCX_JOSE_OK);
    assert_string_equal(json_string_value(json_object_get(claims, "sub")), "alice");
    json_decref(claims);
    /* The same token after its exp. */
    mcx_jose_expect_t late = expect_cms;
    late.now = 4102444800LL + 100;
    assert_int_equal(mcx_jose_verify(t, tok, &late, NULL, err, sizeof(err)), MCX_JOSE_EXPIRED);
    assert_string_equal(err, "token expired 100 s ago");
    mcx_jose_trust_free(t);
}

static void test_key_files(void **state)
{
    fx_t *fx = *state;
    struct stat sb;
    assert_int_equal(stat(fx->key_path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char err[256];
    mcx_jose_key_t *again = NULL;
    assert_int_equal(mcx_jose_key_load_or_create(fx->key_path, &again, err, sizeof(err)), 0);
    assert_string_equal(mcx_jose_key_kid(again), mcx_jose_key_kid(fx->key));
    assert_int_equal(strlen(mcx_jose_key_kid(again)), 43);
    mcx_jose_key_free(again);

    /* No temp files left behind. */
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "test $(ls '%s' | wc -l) -eq 1", fx->dir);
    assert_int_equal(system(cmd), 0);

    /* Not a key; a key of another curve. */
    char p[160];
    snprintf(p, sizeof(p), "%s/junk.pem", fx->dir);
    FILE *fp = fopen(p, "w");
    fputs("hello\n", fp);
    fclose(fp);
    assert_int_not_equal(mcx_jose_key_load_or_create(p, &again, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "junk.pem"));
    snprintf(p, sizeof(p), "%s/p384.pem", fx->dir);
    EVP_PKEY *k384 = EVP_EC_gen("P-384");
    fp = fopen(p, "w");
    PEM_write_PrivateKey(fp, k384, NULL, NULL, 0, NULL, NULL);
    fclose(fp);
    EVP_PKEY_free(k384);
    assert_int_equal(mcx_jose_key_load_or_create(p, &again, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "P-256"));
    snprintf(p, sizeof(p), "%s/nodir/key.pem", fx->dir);
    assert_int_not_equal(mcx_jose_key_load_or_create(p, &again, err, sizeof(err)), 0);
}

/* RFC 7638 §3.1 example thumbprint needs RSA; check ours against a JWK
 * thumbprint computed independently here over the canonical form. */
static void test_jwks(void **state)
{
    fx_t *fx = *state;
    char *text = mcx_jose_key_jwks(fx->key);
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(doc);
    json_t *keys = json_object_get(doc, "keys");
    assert_int_equal(json_array_size(keys), 1);
    json_t *k = json_array_get(keys, 0);
    assert_null(json_object_get(k, "d"));
    assert_string_equal(json_string_value(json_object_get(k, "kty")), "EC");
    assert_string_equal(json_string_value(json_object_get(k, "crv")), "P-256");
    assert_string_equal(json_string_value(json_object_get(k, "use")), "sig");
    assert_string_equal(json_string_value(json_object_get(k, "alg")), "ES256");
    assert_string_equal(json_string_value(json_object_get(k, "kid")), mcx_jose_key_kid(fx->key));
    char canon[256];
    snprintf(canon, sizeof(canon), "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
             json_string_value(json_object_get(k, "x")),
             json_string_value(json_object_get(k, "y")));
    uint8_t md[32];
    unsigned mdlen = 0;
    EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL);
    char tp[64];
    b64u(md, 32, tp);
    assert_string_equal(tp, mcx_jose_key_kid(fx->key));
    json_decref(doc);

    /* Written file = the same text; readable back as a trust set. */
    char p[160], err[256];
    snprintf(p, sizeof(p), "%s/jwks.json", fx->dir);
    assert_int_equal(mcx_jose_key_write_jwks(fx->key, p, err, sizeof(err)), 0);
    assert_int_equal(mcx_jose_key_write_jwks(fx->key, p, err, sizeof(err)), 0); /* overwrite */
    mcx_jose_trust_t *t = mcx_jose_trust_new();
    assert_int_equal(mcx_jose_trust_add_jwks_file(t, ISS, p, err, sizeof(err)), 0);
    mcx_jose_trust_free(t);
    free(text);

    /* Bad JWKS documents. */
    t = mcx_jose_trust_new();
    assert_int_not_equal(mcx_jose_trust_add_jwks(t, ISS, "nope", err, sizeof(err)), 0);
    assert_int_not_equal(mcx_jose_trust_add_jwks(t, ISS, "{\"keys\":{}}", err, sizeof(err)), 0);
    assert_int_equal(mcx_jose_trust_add_jwks(t, ISS, "{\"keys\":[{\"kty\":\"RSA\"}]}", err,
                                             sizeof(err)),
                     -ENOENT);
    /* A point that is not on the curve. */
    assert_int_equal(mcx_jose_trust_add_jwks(
                         t, ISS,
                         "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\","
                         "\"x\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
                         "\"y\":\"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
                         err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "not a point"));
    /* Keys of other algorithms and a short x are refused / skipped. */
    assert_int_equal(mcx_jose_trust_add_jwks(
                         t, ISS,
                         "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AQ\","
                         "\"y\":\"AQ\"}]}",
                         err, sizeof(err)),
                     -EINVAL);
    mcx_jose_trust_free(t);
}

static void test_conf(void **state)
{
    fx_t *fx = *state;
    char p[160], yaml[1024], err[512];
    snprintf(p, sizeof(p), "%s/jwks.json", fx->dir);
    assert_int_equal(mcx_jose_key_write_jwks(fx->key, p, err, sizeof(err)), 0);

    mcx_jose_auth_conf_t conf;
    memset(&conf, 0, sizeof(conf));
    snprintf(yaml, sizeof(yaml),
             "audience: cms.alpha.test\ntrust:\n  - issuer: " ISS "\n    jwks_file: %s\n", p);
    assert_int_equal(mcx_conf_load_string("t", yaml, mcx_jose_auth_conf_fields, &conf, err,
                                          sizeof(err)),
                     0);
    assert_int_equal(conf.leeway, 30);
    assert_int_equal(conf.n_trust, 1);
    mcx_jose_trust_t *t = NULL;
    assert_int_equal(mcx_jose_trust_from_conf(&conf, &t, err, sizeof(err)), 0);
    json_t *claims = json_pack("{s:s, s:s, s:I, s:s}", "iss", ISS, "aud", "cms.alpha.test",
                               "exp", (json_int_t)NOW + 60, "scope", GOOD_SCOPE);
    char *tok = NULL;
    assert_int_equal(mcx_jose_sign(fx->key, "at+jwt", claims, &tok), 0);
    json_decref(claims);
    assert_int_equal(mcx_jose_verify(t, tok, &expect_cms, NULL, err, sizeof(err)), MCX_JOSE_OK);
    free(tok);
    mcx_jose_trust_free(t);

    /* A missing file names the file and the reason. */
    memset(&conf, 0, sizeof(conf));
    assert_int_equal(mcx_conf_load_string("t",
                                          "trust:\n  - issuer: x\n    jwks_file: /nonexistent/j\n",
                                          mcx_jose_auth_conf_fields, &conf, err, sizeof(err)),
                     0);
    assert_int_equal(mcx_jose_trust_from_conf(&conf, &t, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/j"));
    assert_non_null(strstr(err, "No such file"));
    assert_null(t);

    /* Both keys required; leeway bounded. */
    memset(&conf, 0, sizeof(conf));
    assert_int_not_equal(mcx_conf_load_string("t", "trust:\n  - issuer: x\n",
                                              mcx_jose_auth_conf_fields, &conf, err,
                                              sizeof(err)),
                         0);
    memset(&conf, 0, sizeof(conf));
    assert_int_not_equal(mcx_conf_load_string("t", "leeway: 601\n", mcx_jose_auth_conf_fields,
                                              &conf, err, sizeof(err)),
                         0);
}

static void test_pkce_and_scope(void **state)
{
    char out[64];
    assert_int_equal(mcx_jose_pkce_s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk", out,
                                        sizeof(out)),
                     0);
    /* RFC 7636 Appendix B (note: "...Melhoa...", as Python hashlib agrees). */
    assert_string_equal(out, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    assert_int_equal(mcx_jose_pkce_s256("x", out, 43), -EINVAL);

    assert_true(mcx_jose_scope_has("openid  3gpp:mc:ptt_service", "3gpp:mc:ptt_service"));
    assert_true(mcx_jose_scope_has("openid", "openid"));
    assert_false(mcx_jose_scope_has("openid3", "openid"));
    assert_false(mcx_jose_scope_has("openi", "openid"));
    assert_false(mcx_jose_scope_has("", "openid"));
    assert_false(mcx_jose_scope_has(NULL, "openid"));
    assert_false(mcx_jose_scope_has("openid", ""));
    assert_string_equal(mcx_jose_status_str(MCX_JOSE_EXPIRED), "token expired");
}

int main(void)
{
    mcx_log_init("test-jose", MCX_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sign_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cjose_agrees, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_signatures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test(test_pyjwt_interop),
        cmocka_unit_test_setup_teardown(test_key_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jwks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conf, setup, teardown),
        cmocka_unit_test(test_pkce_and_scope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

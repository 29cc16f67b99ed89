/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests of mcx-ue's authentication: WWW-Authenticate parsing (Kamailio's
 * AKA form, RFC 8760 algorithms, qop choice, refusals), AKA nonce decoding,
 * and Authorization headers checked against RFC 2617, RFC 7616 and the
 * RFC 3310 worked example in reference/protocols.md §3.3.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "core/mcx-core.h"
#include "ue-auth.h"

static void parse_str(const char *s, ue_challenge_t *c, int want)
{
    assert_int_equal(ue_challenge_parse(s, strlen(s), c), want);
}

/* The response="..." value of a header. */
static void response_of(const char *hdr, char *out, size_t outlen)
{
    const char *p = strstr(hdr, "response=\"");
    assert_non_null(p);
    p += strlen("response=\"");
    size_t n = strcspn(p, "\"");
    assert_true(n < outlen);
    memcpy(out, p, n);
    out[n] = '\0';
}

static void test_parse_kamailio_aka(void **state)
{
    (void)state;
    ue_challenge_t c;
    parse_str(
        "Digest realm=\"alpha.test\", nonce=\"I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=\", "
        "algorithm=AKAv1-MD5, ck=\"00112233445566778899aabbccddeeff\", "
        "ik=\"00112233445566778899aabbccddeeff\", qop=\"auth,auth-int\"",
        &c, 0);
    assert_int_equal(c.scheme, UE_SCHEME_AKAV1_MD5);
    assert_int_equal(c.alg, MCX_DIGEST_MD5);
    assert_string_equal(c.realm, "alpha.test");
    assert_string_equal(c.algorithm, "AKAv1-MD5");
    assert_string_equal(c.qop, "auth");
    assert_string_equal(c.qop_offered, "auth,auth-int");
    assert_true(c.has_ck_ik);
    assert_false(c.has_opaque);
}

static void test_parse_digest_variants(void **state)
{
    (void)state;
    ue_challenge_t c;
    /* No algorithm: MD5 (RFC 2617 §3.2.1); no qop: RFC 2069 form. */
    parse_str("Digest realm=\"r\", nonce=\"abc\"", &c, 0);
    assert_int_equal(c.scheme, UE_SCHEME_DIGEST);
    assert_int_equal(c.alg, MCX_DIGEST_MD5);
    assert_string_equal(c.qop, "");
    assert_false(c.has_ck_ik);
    parse_str("Digest realm=\"r\", nonce=\"abc\", algorithm=SHA-256, qop=\"auth-int\", "
              "opaque=\"xyz\", stale=TRUE",
              &c, 0);
    assert_int_equal(c.alg, MCX_DIGEST_SHA256);
    assert_string_equal(c.qop, "auth-int");
    assert_true(c.has_opaque);
    assert_string_equal(c.opaque, "xyz");
    assert_true(c.stale);
}

static void test_parse_refusals(void **state)
{
    (void)state;
    ue_challenge_t c;
    parse_str("Basic realm=\"r\"", &c, -EINVAL);
    parse_str("Digest realm=\"r\"", &c, -EINVAL);
    parse_str("Digest nonce=\"n\"", &c, -EINVAL);
    parse_str("Digest realm=\"r\", nonce=\"n\", algorithm=AKAv2-MD5", &c, -ENOTSUP);
    parse_str("Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess", &c, -ENOTSUP);
    parse_str("Digest realm=\"r\", nonce=\"n\", qop=\"auth-conf\"", &c, -ENOTSUP);
    assert_int_equal(ue_challenge_parse(NULL, 0, &c), -EINVAL);
    char big[1200] = "Digest realm=\"r\", nonce=\"";
    memset(big + strlen(big), 'a', 700);
    strcat(big, "\"");
    parse_str(big, &c, -EINVAL);
}

static void test_better(void **state)
{
    (void)state;
    ue_challenge_t md5, sha, aka;
    parse_str("Digest realm=\"r\", nonce=\"n\", algorithm=MD5", &md5, 0);
    parse_str("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256", &sha, 0);
    parse_str("Digest realm=\"r\", nonce=\"n\", algorithm=AKAv1-MD5", &aka, 0);
    assert_true(ue_challenge_better(&sha, &md5));
    assert_false(ue_challenge_better(&md5, &sha));
    assert_false(ue_challenge_better(&sha, &aka));
    assert_false(ue_challenge_better(&aka, &md5));
}

static void test_nonce_decode(void **state)
{
    (void)state;
    uint8_t rand[16], autn[16], want[16];
    assert_int_equal(
        ue_aka_nonce_decode("I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=", rand, autn), 0);
    mcx_hex_decode("23553cbe9637a89d218ae64dae47bf35", want, 16);
    assert_memory_equal(rand, want, 16);
    mcx_hex_decode("55f328b43577b9b94a9ffac354dfafb3", want, 16);
    assert_memory_equal(autn, want, 16);
    /* Too short, not base64, bad padding position, NULL. */
    assert_int_equal(ue_aka_nonce_decode("I1U8vpY3qJ0hiuZNrke/NQ==", rand, autn), -EINVAL);
    assert_int_equal(
        ue_aka_nonce_decode("I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M!", rand, autn), -EINVAL);
    assert_int_equal(
        ue_aka_nonce_decode("I1U8vpY3qJ0hiuZNrke/NVXzKL=1d7m5Sp/6w1Tfr7M=", rand, autn), -EINVAL);
    assert_int_equal(ue_aka_nonce_decode(NULL, rand, autn), -EINVAL);
}

/* reference/protocols.md §3.3: Test Set 1 keys, XRES a54211d5e3ba50bf. */
static void test_aka_worked_example(void **state)
{
    (void)state;
    ue_challenge_t c;
    parse_str("Digest realm=\"partner.test\", "
              "nonce=\"I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=\", algorithm=AKAv1-MD5, "
              "qop=\"auth\"",
              &c, 0);
    uint8_t res[8];
    mcx_hex_decode("a54211d5e3ba50bf", res, 8);
    ue_auth_input_t in = {.username = "alice@partner.test",
                          .uri = "sip:partner.test",
                          .method = "REGISTER",
                          .ch = &c,
                          .password = res,
                          .password_len = 8,
                          .nc = 1,
                          .cnonce = "0a4f113b"};
    char hdr[1024], resp[80];
    assert_int_equal(ue_auth_header(&in, hdr, sizeof(hdr)), 0);
    response_of(hdr, resp, sizeof(resp));
    assert_string_equal(resp, "6cb83c28815c5c5efc6ec2fc902caa24");
    assert_non_null(strstr(hdr, "username=\"alice@partner.test\""));
    assert_non_null(strstr(hdr, "algorithm=AKAv1-MD5"));
    assert_non_null(strstr(hdr, "qop=auth, nc=00000001, cnonce=\"0a4f113b\""));
    assert_null(strstr(hdr, "auts"));

    /* Without qop: H(HA1:nonce:HA2), no nc/cnonce in the header. */
    parse_str("Digest realm=\"partner.test\", "
              "nonce=\"I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=\", algorithm=AKAv1-MD5",
              &c, 0);
    assert_int_equal(ue_auth_header(&in, hdr, sizeof(hdr)), 0);
    response_of(hdr, resp, sizeof(resp));
    assert_string_equal(resp, "1d180986a0e0dcbd2b6ad4fa377868d0");
    assert_null(strstr(hdr, "nc="));
}

static void test_aka_auts_and_empty_password(void **state)
{
    (void)state;
    ue_challenge_t c;
    parse_str("Digest realm=\"partner.test\", "
              "nonce=\"I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=\", algorithm=AKAv1-MD5, "
              "qop=\"auth\"",
              &c, 0);
    uint8_t auts[14];
    mcx_hex_decode("ba853f3c123ccf44e93596e355c6", auts, 14);
    ue_auth_input_t in = {.username = "alice@partner.test",
                          .uri = "sip:partner.test",
                          .method = "REGISTER",
                          .ch = &c,
                          .nc = 1,
                          .cnonce = "0a4f113b",
                          .auts = auts};
    char hdr[1024], resp[80], want[80];
    assert_int_equal(ue_auth_header(&in, hdr, sizeof(hdr)), 0);
    assert_non_null(strstr(hdr, ", auts=\"uoU/PBI8z0TpNZbjVcY=\""));
    /* RFC 3310 §3.4: the response is computed with an empty password. */
    char ha1[40];
    assert_int_equal(mcx_digest_ha1(MCX_DIGEST_MD5, "alice@partner.test", "partner.test", NULL, 0,
                                    ha1, sizeof(ha1)),
                     0);
    assert_int_equal(mcx_digest_response(MCX_DIGEST_MD5, ha1, c.nonce, "00000001", "0a4f113b",
                                         "auth", "REGISTER", "sip:partner.test", NULL, 0, want,
                                         sizeof(want)),
                     0);
    response_of(hdr, resp, sizeof(resp));
    assert_string_equal(resp, want);
}

/* A RES with 0x00 octets is hashed whole (the reason we do not use a C-string API). */
static void test_res_with_zero_octets(void **state)
{
    (void)state;
    ue_challenge_t c;
    parse_str("Digest realm=\"r\", nonce=\"n\", algorithm=AKAv1-MD5", &c, 0);
    const uint8_t res[8] = {0x00, 0x11, 0x00, 0x22, 0x33, 0x00, 0x44, 0x55};
    ue_auth_input_t in = {.username = "u",
                          .uri = "sip:r",
                          .method = "REGISTER",
                          .ch = &c,
                          .password = res,
                          .password_len = 8,
                          .nc = 1};
    char hdr[512], resp[80];
    assert_int_equal(ue_auth_header(&in, hdr, sizeof(hdr)), 0);
    response_of(hdr, resp, sizeof(resp));

    /* Independent computation with OpenSSL. */
    uint8_t buf[64], md[16];
    unsigned mdlen;
    size_t n = 0;
    memcpy(buf, "u:r:", 4);
    n = 4;
    memcpy(buf + n, res, 8);
    n += 8;
    EVP_Digest(buf, n, md, &mdlen, EVP_md5(), NULL);
    char ha1[33], ha2[33], line[128];
    mcx_hex_encode(md, 16, ha1);
    EVP_Digest("REGISTER:sip:r", 14, md, &mdlen, EVP_md5(), NULL);
    mcx_hex_encode(md, 16, ha2);
    int l = snprintf(line, sizeof(line), "%s:n:%s", ha1, ha2);
    EVP_Digest(line, (size_t)l, md, &mdlen, EVP_md5(), NULL);
    char want[33];
    mcx_hex_encode(md, 16, want);
    assert_string_equal(resp, want);
}

static void test_rfc2617_and_rfc7616(void **state)
{
    (void)state;
    ue_challenge_t c;
    parse_str("Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
              "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
              "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
              &c, 0);
    const char *pw = "Circle Of Life";
    ue_auth_input_t in = {.username = "Mufasa",
                          .uri = "/dir/index.html",
                          .method = "GET",
                          .ch = &c,
                          .password = (const uint8_t *)pw,
                          .password_len = strlen(pw),
                          .nc = 1,
                          .cnonce = "0a4f113b"};
    char hdr[1024], resp[80];
    assert_int_equal(ue_auth_header(&in, hdr, sizeof(hdr)), 0);
    response_of(hdr, resp, sizeof(resp));
    assert_string_equal(resp, "6629fae49393a05397450978507c4ef1");
    assert_non_null(strstr(hdr, "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
    assert_null(strstr(hdr, "algorithm="));

    parse_str("Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", "
              "algorithm=SHA-256, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", "
              "opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"",
              &c, 0);
    const char *pw2 = "Circle of Life";
    ue_auth_input_t in2 = {.username = "Mufasa",
                           .uri = "/dir/index.html",
                           .method = "GET",
                           .ch = &c,
                           .password = (const uint8_t *)pw2,
                           .password_len = strlen(pw2),
                           .nc = 1,
                           .cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ"};
    assert_int_equal(ue_auth_header(&in2, hdr, sizeof(hdr)), 0);
    response_of(hdr, resp, sizeof(resp));
    assert_string_equal(resp, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
    assert_non_null(strstr(hdr, "algorithm=SHA-256"));
}

static void test_header_refusals(void **state)
{
    (void)state;
    ue_challenge_t c;
    parse_str("Digest realm=\"r\", nonce=\"n\", qop=\"auth\"", &c, 0);
    ue_auth_input_t in = {
        .username = "u", .uri = "sip:r", .method = "REGISTER", .ch = &c, .nc = 1, .cnonce = "c"};
    char hdr[512];
    in.username = "a\"b";
    assert_int_equal(ue_auth_header(&in, hdr, sizeof(hdr)), -EINVAL);
    in.username = "u";
    in.cnonce = NULL; /* qop needs a cnonce */
    assert_int_equal(ue_auth_header(&in, hdr, sizeof(hdr)), -EINVAL);
    in.cnonce = "c";
    in.nc = 0;
    assert_int_equal(ue_auth_header(&in, hdr, sizeof(hdr)), -EINVAL);
    in.nc = 1;
    assert_int_equal(ue_auth_header(&in, hdr, 40), -ENOSPC);
    assert_int_equal(ue_auth_header(&in, hdr, sizeof(hdr)), 0);
}

static void test_initial_header(void **state)
{
    (void)state;
    char hdr[256];
    assert_int_equal(ue_auth_initial_header("alice@alpha.test", "alpha.test", "sip:alpha.test",
                                            NULL, hdr, sizeof(hdr)),
                     0);
    assert_string_equal(hdr, "Digest username=\"alice@alpha.test\", realm=\"alpha.test\", "
                             "nonce=\"\", uri=\"sip:alpha.test\", response=\"\"");
    assert_int_equal(ue_auth_initial_header("a", "r", "sip:r", "AKAv1-MD5", hdr, sizeof(hdr)), 0);
    assert_non_null(strstr(hdr, ", algorithm=AKAv1-MD5"));
    assert_int_equal(ue_auth_initial_header("a", "r", "sip:r", NULL, hdr, 20), -ENOSPC);
    assert_int_equal(ue_auth_initial_header("a\"", "r", "sip:r", NULL, hdr, sizeof(hdr)), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_kamailio_aka),
        cmocka_unit_test(test_parse_digest_variants),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_better),
        cmocka_unit_test(test_nonce_decode),
        cmocka_unit_test(test_aka_worked_example),
        cmocka_unit_test(test_aka_auts_and_empty_password),
        cmocka_unit_test(test_res_with_zero_octets),
        cmocka_unit_test(test_rfc2617_and_rfc7616),
        cmocka_unit_test(test_header_refusals),
        cmocka_unit_test(test_initial_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

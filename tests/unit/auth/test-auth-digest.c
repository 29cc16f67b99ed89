/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * HTTP Digest: the RFC 2617 §3.5 and RFC 7616 §3.9.1 examples, the IMS AKA
 * digest of reference/protocols.md §3.3 (password = binary XRES), auth-int
 * with a body (expected values computed independently with Python hashlib),
 * and rejected inputs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mcx-auth.h"
#include "mcx-core.h"

#define PW(s) (const uint8_t *)(s), strlen(s)

static const char rfc2617_nonce[] = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
static const char rfc7616_nonce[] = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
static const char rfc7616_cnonce[] = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
static const char sdp[] = "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\n";

static void test_rfc2617(void **state)
{
    char ha1[33], resp[33];
    assert_int_equal(mcx_digest_ha1(MCX_DIGEST_MD5, "Mufasa", "testrealm@host.com",
                                    PW("Circle Of Life"), ha1, sizeof(ha1)),
                     0);
    assert_string_equal(ha1, "939e7578ed9e3c518a452acee763bce9");
    assert_int_equal(mcx_digest_response(MCX_DIGEST_MD5, ha1, rfc2617_nonce, "00000001", "0a4f113b",
                                         "auth", "GET", "/dir/index.html", NULL, 0, resp,
                                         sizeof(resp)),
                     0);
    assert_string_equal(resp, "6629fae49393a05397450978507c4ef1");
}

static void test_rfc7616_md5(void **state)
{
    char ha1[33], resp[33];
    assert_int_equal(mcx_digest_ha1(MCX_DIGEST_MD5, "Mufasa", "http-auth@example.org",
                                    PW("Circle of Life"), ha1, sizeof(ha1)),
                     0);
    assert_string_equal(ha1, "3d78807defe7de2157e2b0b6573a855f");
    assert_int_equal(mcx_digest_response(MCX_DIGEST_MD5, ha1, rfc7616_nonce, "00000001",
                                         rfc7616_cnonce, "auth", "GET", "/dir/index.html", NULL, 0,
                                         resp, sizeof(resp)),
                     0);
    assert_string_equal(resp, "8ca523f5e9506fed4657c9700eebdbec");
}

static void test_rfc7616_sha256(void **state)
{
    char ha1[65], resp[65];
    assert_int_equal(mcx_digest_ha1(MCX_DIGEST_SHA256, "Mufasa", "http-auth@example.org",
                                    PW("Circle of Life"), ha1, sizeof(ha1)),
                     0);
    assert_string_equal(ha1, "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232");
    assert_int_equal(mcx_digest_response(MCX_DIGEST_SHA256, ha1, rfc7616_nonce, "00000001",
                                         rfc7616_cnonce, "auth", "GET", "/dir/index.html", NULL, 0,
                                         resp, sizeof(resp)),
                     0);
    assert_string_equal(resp, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1");
}

/* protocols.md §5.1: the IMS-style HA1 of a plain password, both algorithms. */
static void test_ims_ha1(void **state)
{
    char ha1[65];
    assert_int_equal(mcx_digest_ha1(MCX_DIGEST_MD5, "alice@partner.test", "partner.test",
                                    PW("secret"), ha1, sizeof(ha1)),
                     0);
    assert_string_equal(ha1, "5b344e1d588879f7f1ab75e0cbda20e2");
    assert_int_equal(mcx_digest_ha1(MCX_DIGEST_SHA256, "alice@partner.test", "partner.test",
                                    PW("secret"), ha1, sizeof(ha1)),
                     0);
    assert_string_equal(ha1, "5fe72a0b539d03ddb2e7fc071f2e4863fcffe038bf8ba68e16f88f1c2c43538a");
}

/* protocols.md §3.3: AKAv1-MD5, password = the 8 XRES octets (not their hex). */
static void test_aka_digest(void **state)
{
    static const char nonce[] = "I1U8vpY3qJ0hiuZNrke/NVXzKLQ1d7m5Sp/6w1Tfr7M=";
    uint8_t xres[8];
    assert_int_equal(mcx_hex_decode("a54211d5e3ba50bf", xres, sizeof(xres)), 0);

    char ha1[33], resp[33];
    assert_int_equal(mcx_digest_ha1(MCX_DIGEST_MD5, "alice@partner.test", "partner.test", xres,
                                    sizeof(xres), ha1, sizeof(ha1)),
                     0);
    assert_string_equal(ha1, "f16bd94627348209546a6cd972eafcbe");

    assert_int_equal(mcx_digest_response(MCX_DIGEST_MD5, ha1, nonce, "00000001", "0a4f113b", "auth",
                                         "REGISTER", "sip:partner.test", NULL, 0, resp,
                                         sizeof(resp)),
                     0);
    assert_string_equal(resp, "6cb83c28815c5c5efc6ec2fc902caa24");

    /* Without qop (RFC 2069 form); nc and cnonce are then ignored. */
    assert_int_equal(mcx_digest_response(MCX_DIGEST_MD5, ha1, nonce, NULL, NULL, NULL, "REGISTER",
                                         "sip:partner.test", NULL, 0, resp, sizeof(resp)),
                     0);
    assert_string_equal(resp, "1d180986a0e0dcbd2b6ad4fa377868d0");
    assert_int_equal(mcx_digest_response(MCX_DIGEST_MD5, ha1, nonce, "00000001", "0a4f113b", "",
                                         "REGISTER", "sip:partner.test", NULL, 0, resp,
                                         sizeof(resp)),
                     0);
    assert_string_equal(resp, "1d180986a0e0dcbd2b6ad4fa377868d0");
}

/* A UE that rejects AUTN answers with the empty password (protocols.md §3.2). */
static void test_empty_password(void **state)
{
    char ha1[33];
    assert_int_equal(mcx_digest_ha1(MCX_DIGEST_MD5, "alice@partner.test", "partner.test", NULL, 0,
                                    ha1, sizeof(ha1)),
                     0);
    assert_string_equal(ha1, "abd6132e49743cacbf4030062aad98a4");
}

static void test_auth_int(void **state)
{
    char ha1[65], resp[65];
    assert_int_equal(mcx_digest_ha1(MCX_DIGEST_MD5, "Mufasa", "testrealm@host.com",
                                    PW("Circle Of Life"), ha1, sizeof(ha1)),
                     0);
    assert_int_equal(mcx_digest_response(MCX_DIGEST_MD5, ha1, rfc2617_nonce, "00000002", "0a4f113b",
                                         "auth-int", "INVITE", "sip:bob@example.org",
                                         (const uint8_t *)sdp, strlen(sdp), resp, sizeof(resp)),
                     0);
    assert_string_equal(resp, "f35e967503025462bb297c08fffcfe24");

    /* No body is the empty body: HA2 = H(method:uri:H("")). */
    assert_int_equal(mcx_digest_response(MCX_DIGEST_MD5, ha1, rfc2617_nonce, "00000002", "0a4f113b",
                                         "auth-int", "INVITE", "sip:bob@example.org", NULL, 0, resp,
                                         sizeof(resp)),
                     0);
    assert_string_equal(resp, "8cdf9c7cb23f09661b2e36f23e4eb053");

    /* The body only counts with auth-int. */
    char plain[33], with_body[33];
    assert_int_equal(mcx_digest_response(MCX_DIGEST_MD5, ha1, rfc2617_nonce, "00000002", "0a4f113b",
                                         "auth", "INVITE", "sip:bob@example.org", NULL, 0, plain,
                                         sizeof(plain)),
                     0);
    assert_int_equal(mcx_digest_response(MCX_DIGEST_MD5, ha1, rfc2617_nonce, "00000002", "0a4f113b",
                                         "auth", "INVITE", "sip:bob@example.org",
                                         (const uint8_t *)sdp, strlen(sdp), with_body,
                                         sizeof(with_body)),
                     0);
    assert_string_equal(plain, with_body);

    assert_int_equal(mcx_digest_ha1(MCX_DIGEST_SHA256, "Mufasa", "http-auth@example.org",
                                    PW("Circle of Life"), ha1, sizeof(ha1)),
                     0);
    assert_int_equal(mcx_digest_response(MCX_DIGEST_SHA256, ha1, rfc7616_nonce, "00000001",
                                         rfc7616_cnonce, "auth-int", "POST", "/dir/index.html",
                                         (const uint8_t *)sdp, strlen(sdp), resp, sizeof(resp)),
                     0);
    assert_string_equal(resp, "4734e7a9beb76d9420f19afad5aa71394c4934b899f78200e82cdaef4587e914");
}

/* HA1 from Cx may come in upper case; lower-case hex is what gets hashed. */
static void test_ha1_upper_case(void **state)
{
    char resp[33];
    assert_int_equal(mcx_digest_response(MCX_DIGEST_MD5, "939E7578ED9E3C518A452ACEE763BCE9",
                                         rfc2617_nonce, "00000001", "0a4f113b", "auth", "GET",
                                         "/dir/index.html", NULL, 0, resp, sizeof(resp)),
                     0);
    assert_string_equal(resp, "6629fae49393a05397450978507c4ef1");
}

static void test_bad_inputs(void **state)
{
    const char *ha1 = "939e7578ed9e3c518a452acee763bce9";
    char resp[65];
#define RESP(alg, h, nc, cnonce, qop, out, outlen)                                                 \
    mcx_digest_response(alg, h, rfc2617_nonce, nc, cnonce, qop, "GET", "/dir/index.html", NULL, 0, \
                        out, outlen)

    /* Unknown qop. */
    assert_int_equal(RESP(MCX_DIGEST_MD5, ha1, "00000001", "0a4f113b", "auth-conf", resp, 33),
                     -EINVAL);
    assert_int_equal(RESP(MCX_DIGEST_MD5, ha1, "00000001", "0a4f113b", "auth,auth-int", resp, 33),
                     -EINVAL);
    /* qop without cnonce or nc. */
    assert_int_equal(RESP(MCX_DIGEST_MD5, ha1, "00000001", NULL, "auth", resp, 33), -EINVAL);
    assert_int_equal(RESP(MCX_DIGEST_MD5, ha1, "00000001", "", "auth", resp, 33), -EINVAL);
    assert_int_equal(RESP(MCX_DIGEST_MD5, ha1, NULL, "0a4f113b", "auth", resp, 33), -EINVAL);
    assert_int_equal(RESP(MCX_DIGEST_MD5, ha1, NULL, "0a4f113b", "auth-int", resp, 33), -EINVAL);
    /* Output one byte short of hexlen + 1; exactly hexlen + 1 is enough. */
    assert_int_equal(RESP(MCX_DIGEST_MD5, ha1, "00000001", "0a4f113b", "auth", resp, 32), -EINVAL);
    assert_int_equal(RESP(MCX_DIGEST_MD5, ha1, "00000001", "0a4f113b", "auth", resp, 33), 0);
    assert_int_equal(RESP(MCX_DIGEST_MD5, ha1, "00000001", "0a4f113b", "auth", NULL, 33), -EINVAL);
    /* An HA1 that is not hexlen hex digits of this algorithm. */
    assert_int_equal(RESP(MCX_DIGEST_SHA256, ha1, "00000001", "0a4f113b", "auth", resp, 65),
                     -EINVAL);
    assert_int_equal(RESP(MCX_DIGEST_MD5, "939e7578ed9e3c518a452acee763bcg9", "00000001",
                          "0a4f113b", "auth", resp, 33),
                     -EINVAL);
    assert_int_equal(RESP(MCX_DIGEST_MD5, NULL, "00000001", "0a4f113b", "auth", resp, 33), -EINVAL);
    /* Unknown algorithm value. */
    assert_int_equal(RESP((mcx_digest_alg_t)7, ha1, "00000001", "0a4f113b", "auth", resp, 65),
                     -EINVAL);
    /* A body length without a body. */
    assert_int_equal(mcx_digest_response(MCX_DIGEST_MD5, ha1, rfc2617_nonce, "00000001", "0a4f113b",
                                         "auth-int", "GET", "/", NULL, 5, resp, 33),
                     -EINVAL);
#undef RESP

    char small[64];
    assert_int_equal(mcx_digest_ha1(MCX_DIGEST_SHA256, "u", "r", PW("p"), small, sizeof(small)),
                     -EINVAL);
    assert_int_equal(mcx_digest_ha1(MCX_DIGEST_MD5, "u", "r", PW("p"), small, 32), -EINVAL);
    assert_int_equal(mcx_digest_ha1(MCX_DIGEST_MD5, NULL, "r", PW("p"), small, 33), -EINVAL);
    assert_int_equal(mcx_digest_ha1(MCX_DIGEST_MD5, "u", "r", NULL, 3, small, 33), -EINVAL);
}

static void test_alg_names(void **state)
{
    mcx_digest_alg_t alg = (mcx_digest_alg_t)-1;
    assert_int_equal(mcx_digest_alg_parse("MD5", &alg), 0);
    assert_int_equal(alg, MCX_DIGEST_MD5);
    assert_int_equal(mcx_digest_alg_parse("md5", &alg), 0);
    assert_int_equal(alg, MCX_DIGEST_MD5);
    assert_int_equal(mcx_digest_alg_parse("SHA-256", &alg), 0);
    assert_int_equal(alg, MCX_DIGEST_SHA256);
    assert_int_equal(mcx_digest_alg_parse("sha-256", &alg), 0);
    assert_int_equal(alg, MCX_DIGEST_SHA256);
    assert_int_equal(mcx_digest_alg_parse("MD5-sess", &alg), -EINVAL);
    assert_int_equal(mcx_digest_alg_parse("SHA-256-sess", &alg), -EINVAL);
    assert_int_equal(mcx_digest_alg_parse("SHA-512-256", &alg), -EINVAL);
    assert_int_equal(mcx_digest_alg_parse("AKAv1-MD5", &alg), -EINVAL);
    assert_int_equal(mcx_digest_alg_parse("", &alg), -EINVAL);
    assert_int_equal(mcx_digest_alg_parse(NULL, &alg), -EINVAL);

    assert_string_equal(mcx_digest_alg_name(MCX_DIGEST_MD5), "MD5");
    assert_string_equal(mcx_digest_alg_name(MCX_DIGEST_SHA256), "SHA-256");
    assert_null(mcx_digest_alg_name((mcx_digest_alg_t)9));
    assert_int_equal(mcx_digest_hexlen(MCX_DIGEST_MD5), 32);
    assert_int_equal(mcx_digest_hexlen(MCX_DIGEST_SHA256), 64);
    assert_int_equal(mcx_digest_hexlen((mcx_digest_alg_t)9), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc2617),        cmocka_unit_test(test_rfc7616_md5),
        cmocka_unit_test(test_rfc7616_sha256), cmocka_unit_test(test_ims_ha1),
        cmocka_unit_test(test_aka_digest),     cmocka_unit_test(test_empty_password),
        cmocka_unit_test(test_auth_int),       cmocka_unit_test(test_ha1_upper_case),
        cmocka_unit_test(test_bad_inputs),     cmocka_unit_test(test_alg_names),
    };
    return cmocka_run_group_tests_name("auth-digest", tests, NULL, NULL);
}

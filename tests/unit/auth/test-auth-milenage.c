/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Milenage against every TS 35.208 test set: OPc, f1, f1*, f2..f5, f5* and
 * the AUTN built from them; plus the "any output may be NULL" contract.
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
#include "ts35208-sets.h"

static void decode(const char *hex, uint8_t *out, size_t len)
{
    assert_int_equal(mcx_hex_decode(hex, out, len), 0);
}

static void assert_hex(const uint8_t *bin, size_t len, const char *want)
{
    char got[2 * 16 + 1];
    assert_true(len <= 16);
    assert_string_equal(mcx_hex_encode(bin, len, got), want);
}

/* One TS 35.208 set, end to end; `state` points at the set. */
static void test_set(void **state)
{
    const ts35208_set_t *s = *state;
    uint8_t k[16], op[16], opc[16], rand[16], sqn[6], amf[2];
    decode(s->k, k, 16);
    decode(s->op, op, 16);
    decode(s->rand, rand, 16);
    decode(s->sqn, sqn, 6);
    decode(s->amf, amf, 2);

    assert_int_equal(mcx_milenage_opc(k, op, opc), 0);
    assert_hex(opc, 16, s->opc);

    uint8_t mac_a[8], mac_s[8];
    assert_int_equal(mcx_milenage_f1(k, opc, rand, sqn, amf, mac_a, mac_s), 0);
    assert_hex(mac_a, 8, s->f1);
    assert_hex(mac_s, 8, s->f1star);

    uint8_t res[8], ck[16], ik[16], ak[6], akstar[6];
    assert_int_equal(mcx_milenage_f2345(k, opc, rand, res, ck, ik, ak, akstar), 0);
    assert_hex(res, 8, s->f2);
    assert_hex(ck, 16, s->f3);
    assert_hex(ik, 16, s->f4);
    assert_hex(ak, 6, s->f5);
    assert_hex(akstar, 6, s->f5star);

    /* AUTN = SQN xor AK || AMF || MAC-A (TS 33.102 §6.3.2) */
    uint8_t autn[16];
    for (int i = 0; i < 6; i++)
        autn[i] = sqn[i] ^ ak[i];
    memcpy(autn + 6, amf, 2);
    memcpy(autn + 8, mac_a, 8);
    assert_hex(autn, 16, s->autn);
}

/* Each output computed alone equals the value computed together with the others. */
static void test_outputs_optional(void **state)
{
    const ts35208_set_t *s = &ts35208_sets[2];
    uint8_t k[16], opc[16], rand[16], sqn[6], amf[2];
    decode(s->k, k, 16);
    decode(s->opc, opc, 16);
    decode(s->rand, rand, 16);
    decode(s->sqn, sqn, 6);
    decode(s->amf, amf, 2);

    uint8_t mac[8];
    assert_int_equal(mcx_milenage_f1(k, opc, rand, sqn, amf, NULL, mac), 0);
    assert_hex(mac, 8, s->f1star);
    assert_int_equal(mcx_milenage_f1(k, opc, rand, sqn, amf, mac, NULL), 0);
    assert_hex(mac, 8, s->f1);
    assert_int_equal(mcx_milenage_f1(k, opc, rand, sqn, amf, NULL, NULL), 0);

    uint8_t b8[8], b16[16], b6[6];
    assert_int_equal(mcx_milenage_f2345(k, opc, rand, b8, NULL, NULL, NULL, NULL), 0);
    assert_hex(b8, 8, s->f2);
    assert_int_equal(mcx_milenage_f2345(k, opc, rand, NULL, b16, NULL, NULL, NULL), 0);
    assert_hex(b16, 16, s->f3);
    assert_int_equal(mcx_milenage_f2345(k, opc, rand, NULL, NULL, b16, NULL, NULL), 0);
    assert_hex(b16, 16, s->f4);
    assert_int_equal(mcx_milenage_f2345(k, opc, rand, NULL, NULL, NULL, b6, NULL), 0);
    assert_hex(b6, 6, s->f5);
    assert_int_equal(mcx_milenage_f2345(k, opc, rand, NULL, NULL, NULL, NULL, b6), 0);
    assert_hex(b6, 6, s->f5star);
}

/* A different K or OPc changes the result: the inputs are really used. */
static void test_inputs_matter(void **state)
{
    const ts35208_set_t *s = &ts35208_sets[0];
    uint8_t k[16], opc[16], rand[16], res[8];
    decode(s->k, k, 16);
    decode(s->opc, opc, 16);
    decode(s->rand, rand, 16);

    k[15] ^= 1;
    assert_int_equal(mcx_milenage_f2345(k, opc, rand, res, NULL, NULL, NULL, NULL), 0);
    char hex[17];
    assert_string_not_equal(mcx_hex_encode(res, 8, hex), s->f2);
    k[15] ^= 1;
    opc[0] ^= 0x80;
    assert_int_equal(mcx_milenage_f2345(k, opc, rand, res, NULL, NULL, NULL, NULL), 0);
    assert_string_not_equal(mcx_hex_encode(res, 8, hex), s->f2);
}

static void test_null_inputs(void **state)
{
    uint8_t b[16] = {0}, out[16];
    assert_int_equal(mcx_milenage_opc(NULL, b, out), -EINVAL);
    assert_int_equal(mcx_milenage_opc(b, NULL, out), -EINVAL);
    assert_int_equal(mcx_milenage_opc(b, b, NULL), -EINVAL);
    assert_int_equal(mcx_milenage_f1(b, b, NULL, b, b, out, out), -EINVAL);
    assert_int_equal(mcx_milenage_f2345(b, NULL, b, out, NULL, NULL, NULL, NULL), -EINVAL);
}

/* One named cmocka test per set, so a failure says which set. */
#define SET_TEST(n)                                                                                \
    {                                                                                              \
        "ts35208_set" #n, test_set, NULL, NULL, (void *)&ts35208_sets[(n)-1]                       \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        SET_TEST(1),
        SET_TEST(2),
        SET_TEST(3),
        SET_TEST(4),
        SET_TEST(5),
        SET_TEST(6),
        cmocka_unit_test(test_outputs_optional),
        cmocka_unit_test(test_inputs_matter),
        cmocka_unit_test(test_null_inputs),
    };
    return cmocka_run_group_tests_name("auth-milenage", tests, NULL, NULL);
}

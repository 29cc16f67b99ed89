/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests of mcx-ue's configuration: the sample in configs/ loads, OP is
 * turned into OPc (TS 35.208 Test Set 1), defaults, and each refusal names
 * the key at fault.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ue-config.h"

static const char *sample_path;

static void test_sample(void **state)
{
    (void)state;
    static ue_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    char err[512] = "";
    int rv = ue_config_load(sample_path, &cfg, err, sizeof(err));
    if (rv)
        fail_msg("%s", err);
    assert_string_equal(cfg.isim.impi, "alice@alpha.test");
    assert_string_equal(cfg.isim.domain, "alpha.test");
    assert_true(cfg.have_aka);
    assert_int_equal(cfg.sip.transport, UE_TRANSPORT_UDP);
    assert_int_equal(cfg.sip.port, 5060);
    assert_int_equal(cfg.isim.ind_bits, 5);
    ue_config_wipe(&cfg);
    const uint8_t zero[16] = {0};
    assert_memory_equal(cfg.k, zero, 16);
}

static int load(const char *text, ue_config_t *cfg, char *err, size_t errlen)
{
    memset(cfg, 0, sizeof(*cfg));
    err[0] = '\0';
    return ue_config_load_string("t.yaml", text, cfg, err, errlen);
}

static void test_op_to_opc_and_defaults(void **state)
{
    (void)state;
    static ue_config_t cfg;
    char err[512];
    assert_int_equal(load("isim:\n  impi: a@x.test\n  impu: sip:a@x.test;user=phone\n"
                          "  k: 465b5ce8b199b49faa5f0a2ee238a6bc\n"
                          "  op: cdc202d5123e20f62b6d676ac72cb318\n  sqn_file: /tmp/s\n",
                          &cfg, err, sizeof(err)),
                     0);
    uint8_t want[16];
    mcx_hex_decode("cd63cb71954a9f4e48a5994e37a02baf", want, 16);
    assert_memory_equal(cfg.opc, want, 16);
    assert_string_equal(cfg.isim.domain, "x.test");
    assert_int_equal(cfg.sip.expires, 600);
    assert_int_equal(cfg.sip.local_port, 0);
    assert_int_equal(cfg.amf[0], 0x80);

    assert_int_equal(load("isim:\n  impi: a@x.test\n  impu: tel:+15550001\n  domain: x.test\n"
                          "  password: pw\nsip:\n  transport: tcp\n",
                          &cfg, err, sizeof(err)),
                     0);
    assert_false(cfg.have_aka);
    assert_int_equal(cfg.sip.transport, UE_TRANSPORT_TCP);
}

static void test_refusals(void **state)
{
    (void)state;
    static const struct {
        const char *yaml, *why;
    } cases[] = {
        {"isim:\n  impi: a@x\n  impu: sip:a@x\n", "neither AKA keys"},
        {"isim:\n  impi: a@x\n  impu: sip:a@x\n  k: 00112233445566778899aabbccddeeff\n"
         "  password: p\n",
         "k needs op or opc"},
        {"isim:\n  impi: a@x\n  impu: sip:a@x\n  k: 00112233445566778899aabbccddeeff\n"
         "  op: 00112233445566778899aabbccddeeff\n  opc: 00112233445566778899aabbccddeeff\n"
         "  sqn_file: /tmp/s\n",
         "not both"},
        {"isim:\n  impi: a@x\n  impu: sip:a@x\n  k: 0011\n  op: 00112233445566778899aabbccddeeff\n"
         "  sqn_file: /tmp/s\n",
         "isim.k"},
        {"isim:\n  impi: a@x\n  impu: sip:a@x\n  k: 00112233445566778899aabbccddeeff\n"
         "  op: 00112233445566778899aabbccddeeff\n",
         "isim.sqn_file"},
        {"isim:\n  impi: a@x\n  impu: mailto:a@x\n  password: p\n", "isim.impu"},
        {"isim:\n  impi: a@x\n  impu: tel:+1555\n  password: p\n", "isim.domain"},
        {"isim:\n  impi: a\"b@x\n  impu: sip:a@x\n  password: p\n", "isim.impi"},
        {"isim:\n  impi: a@x\n  impu: sip:a@x\n  password: p\n  amf: 8\n", "isim.amf"},
        {"isim:\n  impi: a@x\n  impu: sip:a@x\n  password: p\n  ind_bits: 11\n", "ind_bits"},
        {"isim:\n  impi: a@x\n  impu: sip:a@x\n  password: p\nsip:\n  port: 0\n", "port"},
        {"isim:\n  impi: a@x\n  impu: sip:a@x\n  password: p\nsip:\n  proxyy: x\n", "proxyy"},
        {"sip:\n  port: 5060\n", "isim"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static ue_config_t cfg;
        char err[512];
        int rv = load(cases[i].yaml, &cfg, err, sizeof(err));
        if (rv == 0 || !strstr(err, cases[i].why))
            fail_msg("case %zu: rv %d, err '%s', wanted '%s'", i, rv, err, cases[i].why);
    }
}

int main(int argc, char **argv)
{
    sample_path = argc > 1 ? argv[1] : "configs/mcx-ue.yaml";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample),
        cmocka_unit_test(test_op_to_opc_and_defaults),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

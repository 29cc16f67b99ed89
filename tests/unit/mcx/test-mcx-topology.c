/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The topology file of `mcx up`: the sample in configs/ loads, defaults are
 * applied, and each kind of mistake is refused with the key path named.
 * Port assignment: base_port offsets, explicit ports, picked ports, clashes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mcx-orch.h"

static const char *source_root = ".";
static mcx_topo_t topo;
static char err[1024];

#define MINIMAL "systems:\n  - name: alpha\n    realm: alpha.test\n"

static int load(const char *text)
{
    memset(err, 0, sizeof(err));
    return mcx_topo_load_string("t.yaml", text, &topo, err, sizeof(err));
}

static void expect_error(const char *text, const char *needle)
{
    assert_int_equal(load(text), -EINVAL);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not contain '%s'", err, needle);
}

static void test_sample_loads(void **state)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/configs/topology-alpha.yaml", source_root);
    int rv = mcx_topo_load_file(path, &topo, err, sizeof(err));
    if (rv)
        fail_msg("%s", err);
    assert_int_equal(topo.n_systems, 1);
    assert_string_equal(topo.systems[0].realm, "alpha.test");
    assert_int_equal(topo.systems[0].n_subs, 2);
    assert_int_equal(topo.systems[0].subs[0].n_impus, 2);
}

static void test_defaults(void **state)
{
    assert_int_equal(load(MINIMAL), 0);
    const mcx_topo_system_t *s = &topo.systems[0];
    assert_int_equal(s->sipdb.count, 1);
    assert_int_equal(s->base_port, 0);
    assert_string_equal(s->scscf.name, "scscf");
    assert_string_equal(mcx_topo_algorithms[s->scscf.default_algorithm], "HSS-Selected");
    assert_int_equal(s->scscf.debug, 1);
    assert_string_equal(mcx_topo_log_levels[s->sipdb.log_level], "info");
    char id[256];
    mcx_topo_sipdb_id(s, 0, id, sizeof(id));
    assert_string_equal(id, "sipdb.alpha.test");
    mcx_topo_dproxy_id(s, id, sizeof(id));
    assert_string_equal(id, "dproxy.alpha.test");
}

static void test_subscriber_defaults(void **state)
{
    assert_int_equal(load(MINIMAL "    subscribers:\n"
                                  "      - impi: a@alpha.test\n"
                                  "        impus: [sip:a@alpha.test]\n"
                                  "        password: x\n"), 0);
    const mcx_topo_sub_t *u = &topo.systems[0].subs[0];
    assert_string_equal(u->amf, "8000");
    assert_int_equal(u->sqn, 0);
    assert_int_equal(u->scheme, MCX_TOPO_SCHEME_AUTO);
}

static void test_unknown_keys(void **state)
{
    expect_error(MINIMAL "    sipdb:\n      port: 3868\n", "systems[0].sipdb.port: unknown key");
    expect_error(MINIMAL "    colour: red\n", "systems[0].colour: unknown key");
    expect_error("system: []\n", "system: unknown key");
    expect_error(MINIMAL "    subscribers:\n      - impi: a@alpha.test\n"
                         "        impus: [sip:a@alpha.test]\n        pin: 1234\n",
                 "systems[0].subscribers[0].pin: unknown key");
}

static void test_missing_and_bad_values(void **state)
{
    expect_error("systems:\n  - name: alpha\n", "systems[0].realm: required key is missing");
    expect_error("{}\n", "systems: required key is missing");
    expect_error(MINIMAL "    dproxy:\n      port: 70000\n", "systems[0].dproxy.port:");
    expect_error(MINIMAL "    scscf:\n      sip_port: http\n", "systems[0].scscf.sip_port:");
    expect_error(MINIMAL "    sipdb:\n      count: 0\n", "systems[0].sipdb.count:");
    expect_error(MINIMAL "    sipdb:\n      count: 9\n", "systems[0].sipdb.count:");
    expect_error("systems:\n  - name: al/pha\n    realm: alpha.test\n", "systems[0].name:");
    expect_error("systems:\n  - name: alpha\n    realm: alpha..test\n", "systems[0].realm:");
    expect_error(MINIMAL "    scscf:\n      default_algorithm: MD5\n",
                 "systems[0].scscf.default_algorithm:");
    expect_error(MINIMAL "  - name: alpha\n    realm: beta.test\n", "systems[1].name:");
}

static void test_subscriber_checks(void **state)
{
#define SUB MINIMAL "    subscribers:\n      - impi: a@alpha.test\n        impus: [sip:a@alpha.test]\n"
    expect_error(SUB "        k: 0011\n        op: 00112233445566778899aabbccddeeff\n",
                 "systems[0].subscribers[0].k: not 32 hex digits");
    expect_error(SUB "        k: 00112233445566778899aabbccddeeff\n",
                 "systems[0].subscribers[0].k: needs op or opc");
    expect_error(SUB "        k: 00112233445566778899aabbccddeeff\n"
                     "        op: 00112233445566778899aabbccddeeff\n"
                     "        opc: 00112233445566778899aabbccddeeff\n",
                 "systems[0].subscribers[0].op: op and opc exclude each other");
    expect_error(SUB "        scheme: digest\n", "neither AKA keys");
    expect_error(SUB "        password: x\n        scheme: aka\n",
                 "systems[0].subscribers[0].scheme: aka needs k");
    expect_error(SUB "        password: x\n        amf: 80\n",
                 "systems[0].subscribers[0].amf:");
    expect_error(MINIMAL "    subscribers:\n      - impi: nodomain\n        impus: [sip:a@x]\n"
                         "        password: x\n",
                 "systems[0].subscribers[0].impi:");
    expect_error(MINIMAL "    subscribers:\n      - impi: a@x\n        impus: [mailto:a@x]\n"
                         "        password: x\n",
                 "systems[0].subscribers[0].impus[0]:");
    expect_error(SUB "        password: x\n" "      - impi: a@alpha.test\n"
                     "        impus: [sip:a@alpha.test]\n        password: y\n",
                 "systems[0].subscribers[1].impi: 'a@alpha.test' is given twice");
    expect_error(SUB "        password: x\n        sqn: -1\n", "systems[0].subscribers[0].sqn:");
#undef SUB
}

static unsigned next_port;
static unsigned picker(void *arg)
{
    (void)arg;
    return next_port++;
}

static void test_ports_from_base(void **state)
{
    assert_int_equal(load(MINIMAL "    base_port: 5000\n    sipdb:\n      count: 2\n"
                                  "    dproxy:\n      port: 6000\n"), 0);
    next_port = 40000;
    assert_int_equal(mcx_topo_assign_ports(&topo, picker, NULL, err, sizeof(err)), 0);
    const mcx_topo_system_t *s = &topo.systems[0];
    assert_int_equal(s->scscf.sip_port, 5000);
    assert_int_equal(s->scscf.diameter_port, 5001);
    assert_int_equal(s->dproxy.port, 6000); /* explicit wins */
    assert_int_equal(s->sipdb_ports[0], 5003);
    assert_int_equal(s->sipdb_ports[1], 5004);
    assert_int_equal(next_port, 40000); /* nothing picked */
}

static void test_ports_picked(void **state)
{
    assert_int_equal(load(MINIMAL "    sipdb:\n      count: 2\n      first_port: 7000\n"), 0);
    next_port = 40000;
    assert_int_equal(mcx_topo_assign_ports(&topo, picker, NULL, err, sizeof(err)), 0);
    const mcx_topo_system_t *s = &topo.systems[0];
    assert_int_equal(s->sipdb_ports[0], 7000);
    assert_int_equal(s->sipdb_ports[1], 7001);
    assert_int_equal(s->scscf.sip_port, 40000);
    assert_int_equal(s->scscf.diameter_port, 40001);
    assert_int_equal(s->dproxy.port, 40002);
}

static void test_port_clash(void **state)
{
    assert_int_equal(load(MINIMAL "    base_port: 5000\n    dproxy:\n      port: 5001\n"), 0);
    assert_int_equal(mcx_topo_assign_ports(&topo, picker, NULL, err, sizeof(err)), -EADDRINUSE);
    assert_non_null(strstr(err, "systems[0].dproxy.port: port 5001 is also "
                                "systems[0].scscf.diameter_port"));
    assert_int_equal(load(MINIMAL "    base_port: 65534\n"), 0);
    assert_int_equal(mcx_topo_assign_ports(&topo, picker, NULL, err, sizeof(err)), -ERANGE);
    assert_non_null(strstr(err, "systems[0].base_port"));
}

int main(int argc, char **argv)
{
    if (argc > 1)
        source_root = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_loads),       cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_subscriber_defaults), cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_missing_and_bad_values), cmocka_unit_test(test_subscriber_checks),
        cmocka_unit_test(test_ports_from_base),    cmocka_unit_test(test_ports_picked),
        cmocka_unit_test(test_port_clash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

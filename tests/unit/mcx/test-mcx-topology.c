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

#define WITH_USERS(extra)                                                                        \
    MINIMAL "    subscribers:\n      - {impi: alice@alpha.test, impus: [sip:alice@alpha.test], "   \
            "password: pw}\n" extra

static void test_app_defaults(void **state)
{
    assert_int_equal(load(MINIMAL), 0);
    const mcx_topo_system_t *s = &topo.systems[0];
    assert_int_equal(s->https_port, 0);
    assert_int_equal(s->idms.access_token_lifetime, 3600);
    assert_int_equal(s->idms.refresh_token_lifetime, 86400);
    assert_int_equal(s->idms.code_lifetime, 60);
    assert_string_equal(mcx_topo_log_levels[s->cms.log_level], "info");
    assert_int_equal(s->n_users, 0);
    assert_int_equal(s->n_groups, 0);
}

static void test_users_and_groups(void **state)
{
    int rv = load(WITH_USERS("    users:\n      - username: alice\n        password: pw\n"
                             "        sip_identity: alice@alpha.test\n"
                             "        groups: [sip:fire@alpha.test]\n"
                             "      - {username: bob, password: x, mcptt_id: sip:b@alpha.test,\n"
                             "         sip_identity: alice@alpha.test, profiles: [builtin, p.xml]}\n"
                             "    groups:\n      - uri: sip:fire@alpha.test\n"
                             "        members: [alice, sip:b@alpha.test]\n"
                             "    idms: {port: 9001, access_token_lifetime: 300}\n"
                             "    server: {sip_port: 9005, log_level: debug}\n"));
    if (rv)
        fail_msg("%s", err);
    const mcx_topo_system_t *s = &topo.systems[0];
    assert_int_equal(s->n_users, 2);
    assert_string_equal(s->users[0].mcptt_id, "sip:alice@alpha.test");
    assert_int_equal(s->users[0].n_profiles, 1);
    assert_string_equal(s->users[0].profiles[0], "builtin");
    assert_int_equal(s->users[1].n_profiles, 2);
    assert_string_equal(s->users[1].profiles[1], "p.xml");
    assert_string_equal(mcx_topo_member_id(s, "alice"), "sip:alice@alpha.test");
    assert_string_equal(mcx_topo_member_id(s, "bob"), "sip:b@alpha.test");
    assert_null(mcx_topo_member_id(s, "carol"));
    assert_ptr_equal(mcx_topo_user_of_impi(s, "alice@alpha.test"), &s->users[0]);
    assert_int_equal(s->idms.port, 9001);
    assert_int_equal(s->idms.access_token_lifetime, 300);
    assert_int_equal(s->server.sip_port, 9005);
    assert_string_equal(mcx_topo_log_levels[s->server.log_level], "debug");
}

static void test_user_errors(void **state)
{
    /* Unknown keys and bad values name the file, the line and the key. */
    expect_error(WITH_USERS("    users:\n      - username: a\n        password: p\n"
                            "        sip_identity: alice@alpha.test\n        colour: red\n"),
                 "t.yaml:10: systems[0].users[0].colour: unknown key");
    expect_error(MINIMAL "    idms:\n      access_token_lifetime: 5\n", "t.yaml:5:");
    expect_error(MINIMAL "    cms:\n      port: 70000\n", "systems[0].cms.port");
    expect_error(MINIMAL "    https_port: -1\n", "https_port");
    expect_error(MINIMAL "    gms:\n      log_level: loud\n", "systems[0].gms.log_level");
    expect_error(WITH_USERS("    users:\n      - {username: a, sip_identity: alice@alpha.test}\n"),
                 "password");
    expect_error(WITH_USERS("    users:\n      - {username: a, password: p, "
                            "sip_identity: nobody@alpha.test}\n"),
                 "systems[0].users[0].sip_identity: 'nobody@alpha.test' is not the impi");
    expect_error(WITH_USERS("    users:\n      - {username: a, password: p, "
                            "sip_identity: alice@alpha.test, groups: [sip:none@alpha.test]}\n"),
                 "systems[0].users[0].groups[0]: 'sip:none@alpha.test' is not in");
    expect_error(WITH_USERS("    users:\n      - {username: 'a b', password: p, "
                            "sip_identity: alice@alpha.test}\n"),
                 "systems[0].users[0].username");
    expect_error(WITH_USERS("    users:\n      - {username: a, password: p, mcptt_id: tel:1, "
                            "sip_identity: alice@alpha.test}\n"),
                 "systems[0].users[0].mcptt_id: 'tel:1' is not a sip: URI");
    expect_error(WITH_USERS("    users:\n      - {username: a, password: p, "
                            "sip_identity: alice@alpha.test}\n"
                            "      - {username: a, password: q, mcptt_id: sip:z@alpha.test, "
                            "sip_identity: alice@alpha.test}\n"),
                 "systems[0].users[1].username: 'a' is given twice");
    expect_error(MINIMAL "    groups:\n      - {uri: fire}\n",
                 "systems[0].groups[0].uri: 'fire' is not a sip: URI");
    expect_error(MINIMAL "    groups:\n      - {uri: sip:g@alpha.test, members: [nobody]}\n",
                 "systems[0].groups[0].members[0]: 'nobody' is neither");
    expect_error(MINIMAL "    groups:\n      - {uri: sip:g@alpha.test}\n"
                         "      - {uri: sip:g@alpha.test}\n",
                 "systems[0].groups[1].uri: 'sip:g@alpha.test' is given twice");
}

static unsigned next_port = 41000;
static unsigned seq_pick(void *arg)
{
    return next_port++;
}

static void test_app_ports(void **state)
{
    assert_int_equal(load(MINIMAL "    base_port: 20000\n    sipdb: {count: 8}\n"
                                  "    gms: {port: 25000}\n"), 0);
    assert_int_equal(mcx_topo_assign_ports(&topo, seq_pick, NULL, err, sizeof(err)), 0);
    const mcx_topo_system_t *s = &topo.systems[0];
    assert_int_equal(s->sipdb_ports[7], 20010);
    assert_int_equal(s->https_port, 20020);
    assert_int_equal(s->idms.port, 20021);
    assert_int_equal(s->cms.port, 20022);
    assert_int_equal(s->gms.port, 25000);
    assert_int_equal(s->server.sip_port, 20024);
    assert_int_equal(s->server.http_port, 20025);

    /* 0: picked, all different. */
    assert_int_equal(load(MINIMAL), 0);
    assert_int_equal(mcx_topo_assign_ports(&topo, seq_pick, NULL, err, sizeof(err)), 0);
    s = &topo.systems[0];
    unsigned ports[] = {s->https_port, s->idms.port, s->cms.port, s->gms.port,
                        s->server.sip_port, s->server.http_port, s->scscf.sip_port};
    for (unsigned a = 0; a < 7; a++) {
        assert_int_not_equal(ports[a], 0);
        for (unsigned b = 0; b < a; b++)
            assert_int_not_equal(ports[a], ports[b]);
    }
    /* A clash with an application port names both keys. */
    assert_int_equal(load(MINIMAL "    https_port: 9000\n    cms: {port: 9000}\n"), 0);
    assert_int_equal(mcx_topo_assign_ports(&topo, seq_pick, NULL, err, sizeof(err)), -EADDRINUSE);
    assert_non_null(strstr(err, "systems[0].cms.port: port 9000 is also systems[0].https_port"));
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
        cmocka_unit_test(test_port_clash),        cmocka_unit_test(test_app_defaults),
        cmocka_unit_test(test_users_and_groups),  cmocka_unit_test(test_user_errors),
        cmocka_unit_test(test_app_ports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

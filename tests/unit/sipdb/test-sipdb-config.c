/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-sipdb's configuration: the commented sample in configs/ loads, a
 * minimal file gets the documented defaults, and each bad value is refused
 * with the key named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sipdb-context.h"

static const char *sample_path;

static int load_text(const char *text, sipdb_config_t *cfg, char *err, size_t errlen)
{
    char path[] = "/tmp/test-sipdb-config-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    memset(cfg, 0, sizeof(*cfg));
    int rv = sipdb_config_load(path, cfg, err, errlen);
    unlink(path);
    return rv;
}

static void test_sample_loads(void **state)
{
    static sipdb_config_t cfg;
    char err[600];
    int rv = sipdb_config_load(sample_path, &cfg, err, sizeof(err));
    if (rv)
        fail_msg("%s", err);
    assert_string_equal(cfg.diameter.identity, "sipdb.alpha.test");
    assert_int_equal(cfg.diameter.n_accept, 2);
    assert_int_equal(cfg.sipdb.n_server_names, 1);
    assert_false(cfg.diameter.relay);
}

static void test_defaults(void **state)
{
    static sipdb_config_t cfg;
    char err[600];
    int rv = load_text("diameter: {identity: a.test, realm: test}\nstore: {path: /x.db}\n", &cfg,
                       err, sizeof(err));
    if (rv)
        fail_msg("%s", err);
    assert_int_equal(cfg.sipdb.max_vectors, 5);
    assert_int_equal(cfg.sipdb.ind_bits, 5);
    assert_int_equal(cfg.sipdb.ind, 0);
    assert_string_equal(cfg.sipdb.digest_qop, "auth");
    assert_string_equal(cfg.store.backend, "sqlite");
    assert_int_equal(cfg.store.sync, MCX_STORE_SYNC_NORMAL);
    assert_int_equal(cfg.diameter.port, 3868);
    assert_int_equal(cfg.diameter.tw_timer, 30);
    assert_string_equal(cfg.diameter.listen, "127.0.0.1");
}

static void test_refusals(void **state)
{
    static const struct {
        const char *yaml, *expect;
    } cases[] = {
        {"diameter: {identity: a.test, realm: test}\n", "store: required key is missing"},
        {"diameter: {identity: a.test, realm: test}\nstore: {path: /x}\nsipdb: {ind: 40}\n",
         "sipdb.ind: 40 does not fit in 5 IND bits"},
        {"diameter: {identity: a.test, realm: test}\nstore: {path: /x}\nsipdb: {digest_qop: x}\n",
         "sipdb.digest_qop"},
        {"diameter: {identity: a.test, realm: test}\nstore: {path: /x}\nsipdb: {vectors: 2}\n",
         "sipdb.vectors: unknown key"},
        {"diameter: {identity: a.test, realm: test}\nstore: {path: /x}\nsipdb: {max_vectors: 0}\n",
         "sipdb.max_vectors: 0 is out of range 1..32"},
        {"diameter: {identity: a.test, realm: test}\nstore: {path: /x, backend: oracle}\n",
         "store.backend: 'oracle' is not supported"},
        {"diameter: {identity: a.test, realm: test, listen: localhost}\nstore: {path: /x}\n",
         "diameter.listen: 'localhost' is not a numeric IP address"},
        {"diameter: {identity: a.test, realm: test, peers: [{identity: p.test}]}\n"
         "store: {path: /x}\n",
         "diameter.peers[0].address: required key is missing"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static sipdb_config_t cfg;
        char err[600] = "";
        assert_int_not_equal(load_text(cases[i].yaml, &cfg, err, sizeof(err)), 0);
        if (!strstr(err, cases[i].expect))
            fail_msg("case %zu: '%s' does not contain '%s'", i, err, cases[i].expect);
    }
}

int main(int argc, char **argv)
{
    sample_path = argc > 1 ? argv[1] : "configs/mcx-sipdb.yaml";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_loads),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

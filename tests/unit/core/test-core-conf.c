/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The table-driven YAML loader of lib/core: a good document with defaults,
 * and every rejection, each checked for the exact "<file>:<line>: <key.path>:
 * <reason>" message an operator sees.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mcx-core.h"

typedef struct {
    char host[16];
    int64_t port;
} peer_t;

typedef struct {
    char realm[32];
    int64_t timeout;
} diam_t;

typedef struct {
    char name[8];
    int64_t port;
    uint32_t workers;
    uint32_t any;
    bool tls;
    int mode;
    diam_t diameter;
    peer_t peers[2];
    unsigned npeers;
    char hosts[3][16];
    unsigned nhosts;
} conf_t;

static const char *const modes[] = {"relay", "proxy", NULL};

static const mcx_conf_field_t peer_table[] = {
    {.key = "host",
     .type = MCX_CONF_STRING,
     .offset = offsetof(peer_t, host),
     .size = sizeof(((peer_t *)0)->host),
     .required = true},
    {.key = "port",
     .type = MCX_CONF_INT,
     .offset = offsetof(peer_t, port),
     .def = "3868",
     .min = 1,
     .max = 65535},
    {0},
};

static const mcx_conf_field_t diam_table[] = {
    {.key = "realm",
     .type = MCX_CONF_STRING,
     .offset = offsetof(diam_t, realm),
     .size = sizeof(((diam_t *)0)->realm),
     .required = true},
    {.key = "timeout",
     .type = MCX_CONF_INT,
     .offset = offsetof(diam_t, timeout),
     .def = "30",
     .min = 1,
     .max = 3600},
    {0},
};

static const mcx_conf_field_t table[] = {
    {.key = "name",
     .type = MCX_CONF_STRING,
     .offset = offsetof(conf_t, name),
     .size = sizeof(((conf_t *)0)->name),
     .required = true},
    {.key = "port",
     .type = MCX_CONF_INT,
     .offset = offsetof(conf_t, port),
     .def = "3868",
     .min = 1,
     .max = 65535},
    {.key = "workers",
     .type = MCX_CONF_UINT,
     .offset = offsetof(conf_t, workers),
     .def = "4",
     .min = 1,
     .max = 64},
    {.key = "any", .type = MCX_CONF_UINT, .offset = offsetof(conf_t, any)},
    {.key = "tls", .type = MCX_CONF_BOOL, .offset = offsetof(conf_t, tls), .def = "false"},
    {.key = "mode",
     .type = MCX_CONF_ENUM,
     .offset = offsetof(conf_t, mode),
     .def = "relay",
     .enum_names = modes},
    {.key = "diameter",
     .type = MCX_CONF_MAP,
     .offset = offsetof(conf_t, diameter),
     .sub = diam_table},
    {.key = "peers",
     .type = MCX_CONF_LIST,
     .offset = offsetof(conf_t, peers),
     .sub = peer_table,
     .elem_size = sizeof(peer_t),
     .cap = 2,
     .count_offset = offsetof(conf_t, npeers)},
    {.key = "hosts",
     .type = MCX_CONF_STRLIST,
     .offset = offsetof(conf_t, hosts),
     .size = sizeof(((conf_t *)0)->hosts[0]),
     .cap = 3,
     .count_offset = offsetof(conf_t, nhosts)},
    {0},
};

static conf_t conf;
static char err[512];

static int load(const char *text)
{
    memset(&conf, 0, sizeof(conf));
    memset(err, 0, sizeof(err));
    return mcx_conf_load_string("t.yaml", text, table, &conf, err, sizeof(err));
}

static void expect_error(const char *text, const char *message)
{
    assert_int_equal(load(text), -EINVAL);
    assert_string_equal(err, message);
}

static void test_good_document(void **state)
{
    assert_int_equal(load("name: sipdb\n"
                          "workers: 8\n"
                          "tls: yes\n"
                          "mode: proxy\n"
                          "diameter:\n"
                          "  realm: partner.test\n"
                          "peers:\n"
                          "  - host: a.test\n"
                          "  - host: b.test\n"
                          "    port: 3869\n"
                          "hosts: [x, y]\n"),
                     0);
    assert_string_equal(err, "");
    assert_string_equal(conf.name, "sipdb");
    assert_int_equal(conf.port, 3868); /* default */
    assert_int_equal(conf.workers, 8);
    assert_true(conf.tls);
    assert_int_equal(conf.mode, 1);
    assert_string_equal(conf.diameter.realm, "partner.test");
    assert_int_equal(conf.diameter.timeout, 30); /* nested default */
    assert_int_equal(conf.npeers, 2);
    assert_string_equal(conf.peers[0].host, "a.test");
    assert_int_equal(conf.peers[0].port, 3868); /* default inside a list element */
    assert_int_equal(conf.peers[1].port, 3869);
    assert_int_equal(conf.nhosts, 2);
    assert_string_equal(conf.hosts[1], "y");
}

static void test_unknown_key(void **state)
{
    expect_error("name: a\nbogus: 1\n", "t.yaml:2: bogus: unknown key");
    expect_error("name: a\ndiameter:\n  realm: r\n  realm2: r\n",
                 "t.yaml:4: diameter.realm2: unknown key");
    expect_error("name: a\npeers:\n  - host: h\n    hots: 1\n",
                 "t.yaml:4: peers[0].hots: unknown key");
}

static void test_missing_required(void **state)
{
    expect_error("port: 5\n", "t.yaml:1: name: required key is missing");
    expect_error("", "t.yaml:1: name: required key is missing");
    /* Reported where the mapping that lacks the key starts. */
    expect_error("name: a\ndiameter:\n  timeout: 5\n",
                 "t.yaml:3: diameter.realm: required key is missing");
    expect_error("name: a\npeers:\n  - host: h\n  - port: 1\n",
                 "t.yaml:4: peers[1].host: required key is missing");
}

static void test_int_values(void **state)
{
    expect_error("name: a\nport: 70000\n", "t.yaml:2: port: 70000 is out of range 1..65535");
    expect_error("name: a\nport: 0\n", "t.yaml:2: port: 0 is out of range 1..65535");
    expect_error("name: a\nport: 12abc\n", "t.yaml:2: port: '12abc' is not an integer");
    expect_error("name: a\nport:\n", "t.yaml:2: port: '' is not an integer");
    expect_error("name: a\nport: 99999999999999999999\n",
                 "t.yaml:2: port: '99999999999999999999' is not an integer");
    expect_error("name: a\nworkers: -1\n", "t.yaml:2: workers: -1 is out of range 1..64");
    expect_error("name: a\nany: -1\n", "t.yaml:2: any: -1 is not an unsigned 32-bit value");
    expect_error("name: a\nany: 4294967296\n",
                 "t.yaml:2: any: 4294967296 is not an unsigned 32-bit value");
    expect_error("name: a\ndiameter:\n  realm: r\n  timeout: 3601\n",
                 "t.yaml:4: diameter.timeout: 3601 is out of range 1..3600");
    expect_error("name: a\npeers:\n  - host: h\n  - host: i\n    port: 65536\n",
                 "t.yaml:5: peers[1].port: 65536 is out of range 1..65535");

    assert_int_equal(load("name: a\nany: 4294967295\nport: 65535\n"), 0);
    assert_int_equal(conf.any, 4294967295u);
    assert_int_equal(conf.port, 65535);
}

static void test_bad_bool(void **state)
{
    expect_error("name: a\ntls: maybe\n",
                 "t.yaml:2: tls: 'maybe' is not a boolean (true or false)");
    expect_error("name: a\ntls: 1\n", "t.yaml:2: tls: '1' is not a boolean (true or false)");
    assert_int_equal(load("name: a\ntls: TRUE\n"), 0);
    assert_true(conf.tls);
}

static void test_bad_enum(void **state)
{
    expect_error("name: a\nmode: gateway\n",
                 "t.yaml:2: mode: 'gateway' is not one of: relay, proxy");
    /* Enum names are exact. */
    expect_error("name: a\nmode: Relay\n", "t.yaml:2: mode: 'Relay' is not one of: relay, proxy");
}

static void test_wrong_shape(void **state)
{
    expect_error("name: a\ndiameter: 5\n", "t.yaml:2: diameter: expected a mapping");
    expect_error("name: a\npeers:\n  host: h\n", "t.yaml:3: peers: expected a list");
    expect_error("name: a\npeers:\n  - h\n", "t.yaml:3: peers[0]: expected a mapping");
    expect_error("name: [a]\n", "t.yaml:1: name: expected a single value");
    expect_error("name: a\nhosts:\n  - [x]\n", "t.yaml:3: hosts[0]: expected a string");
    expect_error("- a\n- b\n", "t.yaml:1: (top): the document must be a mapping of keys");
    expect_error("name: a\nname: b\n", "t.yaml:2: name: key given twice");
}

static void test_list_capacity(void **state)
{
    expect_error("name: a\npeers:\n  - host: a\n  - host: b\n  - host: c\n",
                 "t.yaml:5: peers[2]: too many entries (at most 2)");
    expect_error("name: a\nhosts: [a, b, c, d]\n",
                 "t.yaml:2: hosts[3]: too many entries (at most 3)");
}

static void test_string_too_long(void **state)
{
    expect_error("name: abcdefgh\n", "t.yaml:1: name: value is longer than 7 characters");
    assert_int_equal(load("name: abcdefg\n"), 0);
    assert_string_equal(conf.name, "abcdefg");
    expect_error("name: a\nhosts: [short, this-one-is-too-long]\n",
                 "t.yaml:2: hosts[1]: value is longer than 15 characters");
    expect_error("name: a\npeers:\n  - host: 0123456789abcdef\n",
                 "t.yaml:3: peers[0].host: value is longer than 15 characters");
}

static void test_syntax_error(void **state)
{
    assert_int_equal(load("name: a\nport: [1, 2\nmode: relay\n"), -EINVAL);
    assert_non_null(strstr(err, "t.yaml:"));
    assert_non_null(strstr(err, ": YAML syntax error: "));
    /* The unterminated flow sequence is noticed on line 3. */
    assert_int_equal(strncmp(err, "t.yaml:3: ", 10), 0);

    assert_int_equal(load("name: a\n  port: 1\n"), -EINVAL);
    assert_int_equal(strncmp(err, "t.yaml:2: YAML syntax error: ", 29), 0);
}

/* A second document would otherwise be dropped silently, keys and errors alike. */
static void test_one_document_only(void **state)
{
    expect_error("name: a\n---\nbogus: 1\n", "t.yaml:3: only one YAML document is allowed");
    /* After "...", more keys are broken YAML: reported, not ignored. */
    expect_error("name: a\n...\nport: 1\n",
                 "t.yaml:3: YAML syntax error: did not find expected <document start>");
    expect_error("name: a\n---\n", "t.yaml:3: only one YAML document is allowed");
    /* An explicit start and end of the one document are fine. */
    assert_int_equal(load("---\nname: a\n...\n"), 0);
    assert_string_equal(conf.name, "a");
}

/* Bad UTF-8 is reported on its own line, not on line 1. */
static void test_bad_utf8_line(void **state)
{
    expect_error("name: a\n# caf\xe9\nport: 1\n",
                 "t.yaml:2: YAML syntax error: invalid trailing UTF-8 octet");
}

/* The file variant labels errors with the path it was given. */
static void test_load_file(void **state)
{
    char path[] = "/tmp/mcx-conf-test-XXXXXX.yaml";
    int fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    static const char text[] = "# sample\nname: a\nworkers: 65\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);

    memset(&conf, 0, sizeof(conf));
    int rv = mcx_conf_load_file(path, table, &conf, err, sizeof(err));
    char want[160];
    snprintf(want, sizeof(want), "%s:3: workers: 65 is out of range 1..64", path);
    unlink(path);
    assert_int_equal(rv, -EINVAL);
    assert_string_equal(err, want);

    /* Bad UTF-8 in a file: the line is found by re-reading it. */
    memcpy(path + strlen(path) - 11, "XXXXXX", 6);
    fd = mkstemps(path, 5);
    assert_true(fd >= 0);
    static const char latin1[] = "name: a\nport: 1\n\n# r\xe9sum\xe9\n";
    assert_int_equal(write(fd, latin1, strlen(latin1)), (ssize_t)strlen(latin1));
    close(fd);
    rv = mcx_conf_load_file(path, table, &conf, err, sizeof(err));
    snprintf(want, sizeof(want), "%s:4: YAML syntax error: invalid trailing UTF-8 octet", path);
    unlink(path);
    assert_int_equal(rv, -EINVAL);
    assert_string_equal(err, want);

    rv = mcx_conf_load_file("/nonexistent/mcx.yaml", table, &conf, err, sizeof(err));
    assert_int_equal(rv, -ENOENT);
    assert_non_null(strstr(err, "/nonexistent/mcx.yaml: cannot open"));
}

static void test_apply_defaults(void **state)
{
    memset(&conf, 0, sizeof(conf));
    assert_int_equal(mcx_conf_apply_defaults(table, &conf, err, sizeof(err)), 0);
    assert_int_equal(conf.port, 3868);
    assert_int_equal(conf.workers, 4);
    assert_int_equal(conf.diameter.timeout, 30);
    assert_string_equal(conf.name, "");
}

/* A long error message is cut, never overflows. */
static void test_small_err_buffer(void **state)
{
    char small[12];
    memset(&conf, 0, sizeof(conf));
    assert_int_equal(
        mcx_conf_load_string("t.yaml", "bogus: 1\n", table, &conf, small, sizeof(small)), -EINVAL);
    assert_string_equal(small, "t.yaml:1: b");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_document),     cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_missing_required),  cmocka_unit_test(test_int_values),
        cmocka_unit_test(test_bad_bool),          cmocka_unit_test(test_bad_enum),
        cmocka_unit_test(test_wrong_shape),       cmocka_unit_test(test_list_capacity),
        cmocka_unit_test(test_string_too_long),   cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_one_document_only), cmocka_unit_test(test_bad_utf8_line),
        cmocka_unit_test(test_load_file),         cmocka_unit_test(test_apply_defaults),
        cmocka_unit_test(test_small_err_buffer),
    };
    return cmocka_run_group_tests_name("core-conf", tests, NULL, NULL);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/xcap URI parsing: the accepted forms, percent-decoding per segment,
 * and every refusal with its status (400, 404, 414, 501).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "xcap/mcx-xcap.h"

static unsigned parse(const char *t, mcx_xcap_loc_t *loc)
{
    char why[128] = "";
    unsigned st = mcx_xcap_parse_uri(NULL, t, loc, why, sizeof(why));
    if (st)
        assert_true(why[0] != '\0'); /* every refusal says why */
    return st;
}

static void test_users_and_global(void **state)
{
    mcx_xcap_loc_t loc;
    assert_int_equal(parse("/org.3gpp.mcptt.user-profile/users/sip:alice@alpha.test/"
                           "user-profile-0.xml",
                           &loc),
                     0);
    assert_string_equal(loc.auid, "org.3gpp.mcptt.user-profile");
    assert_int_equal(loc.tree, MCX_XCAP_USERS);
    assert_string_equal(loc.xui, "sip:alice@alpha.test");
    assert_string_equal(loc.doc, "user-profile-0.xml");

    assert_int_equal(parse("/org.openmobilealliance.groups/global/byGroupID/sip:g1@alpha.test",
                           &loc),
                     0);
    assert_int_equal(loc.tree, MCX_XCAP_GLOBAL);
    assert_string_equal(loc.xui, "");
    assert_string_equal(loc.doc, "byGroupID/sip:g1@alpha.test");

    /* percent-encoding is decoded per segment; the query string is ignored */
    assert_int_equal(parse("/a/users/sip%3Aalice%40alpha.test/d%20x.xml?x=1", &loc), 0);
    assert_string_equal(loc.xui, "sip:alice@alpha.test");
    assert_string_equal(loc.doc, "d x.xml");
}

static void test_refusals(void **state)
{
    mcx_xcap_loc_t loc;
    assert_int_equal(parse("a/global/x", &loc), 400);
    assert_int_equal(parse("/a/global/../x", &loc), 400);
    assert_int_equal(parse("/a/global/%2e%2E/x", &loc), 400);
    assert_int_equal(parse("/a/global/./x", &loc), 400);
    assert_int_equal(parse("/a/global//x", &loc), 400);
    assert_int_equal(parse("/a/global/x/", &loc), 400);
    assert_int_equal(parse("/a/global/x%2Fy", &loc), 400);
    assert_int_equal(parse("/a/global/x%0ay", &loc), 400);
    assert_int_equal(parse("/a/global/x%00", &loc), 400);
    assert_int_equal(parse("/a/global/x%zz", &loc), 400);
    assert_int_equal(parse("/a/global/x%4", &loc), 400);
    assert_int_equal(parse("/a/global/x\x01y", &loc), 400);
    assert_int_equal(parse("/a/other/x", &loc), 404);
    assert_int_equal(parse("/a/global", &loc), 404);
    assert_int_equal(parse("/a/users/sip:a@b", &loc), 404);
    assert_int_equal(parse("/a", &loc), 404);
    assert_int_equal(parse("/a/global/doc.xml/~~/group/list", &loc), 501);

    char big[MCX_XCAP_PATH_MAX + 64];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "/a/global/", 10);
    assert_int_equal(parse(big, &loc), 414);
}

static void test_registry(void **state)
{
    char dir[] = "/tmp/xcap-uri-XXXXXX", path[64], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/s.sqlite", dir);
    mcx_xcap_conf_t conf = {.db_path = path};
    mcx_xcap_t *x = NULL;
    assert_int_equal(mcx_xcap_open(&conf, &x, err, sizeof(err)), 0);
    static const mcx_xcap_auid_t au = {.auid = "org.example.g", .mime = "application/x+xml",
                                       .root_name = "r", .global_tree = true};
    assert_int_equal(mcx_xcap_register(x, &au, err, sizeof(err)), 0);
    assert_int_equal(mcx_xcap_register(x, &au, err, sizeof(err)), -EEXIST);
    char why[128];
    mcx_xcap_loc_t loc;
    assert_int_equal(mcx_xcap_parse_uri(x, "/org.example.g/global/d", &loc, why, sizeof(why)), 0);
    assert_int_equal(mcx_xcap_parse_uri(x, "/org.example.g/users/u/d", &loc, why, sizeof(why)),
                     404);
    assert_int_equal(mcx_xcap_parse_uri(x, "/org.unknown/global/d", &loc, why, sizeof(why)),
                     404);
    assert_int_equal(mcx_xcap_parse_uri(x, "/xcap-caps/global/index", &loc, why, sizeof(why)),
                     0);
    assert_int_equal(mcx_xcap_parse_uri(x, "/org.openmobilealliance.xcap-directory/users/"
                                           "sip:a@b/directory.xml",
                                        &loc, why, sizeof(why)),
                     0);
    mcx_xcap_close(x);
    unlink(path);
    char side[80];
    snprintf(side, sizeof(side), "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof(side), "%s-shm", path);
    unlink(side);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_users_and_global),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

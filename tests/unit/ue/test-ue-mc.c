/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests of mcx-ue's MC service pieces that need no server: base64url
 * and PKCE S256 (RFC 7636 Appendix B), query parameters of the redirect,
 * the groups of a user profile, a group document, the PUBLISH body, the
 * `mc:` configuration section.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <libxml/parser.h>

#include "ue-cmc.h"
#include "ue-config.h"
#include "ue-gmc.h"
#include "ue-http.h"
#include "ue-idm.h"
#include "ue-svcauth.h"
#include "ue-xcapc.h"

static void test_pkce_rfc7636(void **state)
{
    (void)state;
    /* RFC 7636 Appendix B */
    const uint8_t octets[32] = {116, 24,  223, 180, 151, 153, 224, 37,  79,  250, 96,
                                125, 216, 173, 187, 186, 22,  212, 37,  77,  105, 214,
                                191, 240, 91,  88,  5,   88,  83,  132, 141, 121};
    char v[64], c[64];
    assert_int_equal(ue_b64url_encode(octets, 32, v, sizeof(v)), 0);
    assert_string_equal(v, "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    assert_int_equal(ue_pkce_challenge(v, c, sizeof(c)), 0);
    assert_string_equal(c, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    assert_int_equal(ue_b64url_encode(octets, 32, v, 43), -ENOSPC);
}

static void test_b64url_decode(void **state)
{
    (void)state;
    uint8_t out[16];
    size_t n = 0;
    assert_int_equal(ue_b64url_decode("eyJhIjoxfQ", 10, out, sizeof(out), &n), 0);
    assert_int_equal(n, 7);
    assert_memory_equal(out, "{\"a\":1}", 7);
    assert_int_equal(ue_b64url_decode("_-8", 3, out, sizeof(out), &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(out[0], 0xff);
    assert_int_equal(out[1], 0xef);
    /* standard alphabet and padding are not base64url */
    assert_int_equal(ue_b64url_decode("a+b/", 4, out, sizeof(out), &n), -EINVAL);
    assert_int_equal(ue_b64url_decode("abcde", 5, out, sizeof(out), &n), -EINVAL);
}

static void test_query_param(void **state)
{
    (void)state;
    char v[64];
    const char *q = "code=abc&state=x%2By+z&error_description=bad%20scope&e=";
    assert_int_equal(ue_http_query_param(q, "code", v, sizeof(v)), 0);
    assert_string_equal(v, "abc");
    assert_int_equal(ue_http_query_param(q, "state", v, sizeof(v)), 0);
    assert_string_equal(v, "x+y z");
    assert_int_equal(ue_http_query_param(q, "error_description", v, sizeof(v)), 0);
    assert_string_equal(v, "bad scope");
    assert_int_equal(ue_http_query_param(q, "error", v, sizeof(v)), -ENOENT);
    assert_int_equal(ue_http_query_param(q, "cod", v, sizeof(v)), -ENOENT);
    assert_int_equal(ue_http_query_param(q, "code", v, 3), -ENOSPC);
    char e[64];
    assert_int_equal(ue_http_escape("a b:c/~", e, sizeof(e)), 0);
    assert_string_equal(e, "a%20b%3Ac%2F~");
    assert_int_equal(ue_xcapc_segment("sip:al ice@x.test/", e, sizeof(e)), 0);
    assert_string_equal(e, "sip:al%20ice@x.test%2F");
}

static void test_profile_groups(void **state)
{
    (void)state;
    const char *doc = "<?xml version='1.0'?>"
                      "<up:mcptt-user-profile xmlns:up='urn:3gpp:mcptt:user-profile:1.0'>"
                      "<up:OnNetwork><up:MCPTTGroupInfo>"
                      "<up:entry><up:uri-entry> sip:g1@x.test </up:uri-entry></up:entry>"
                      "<up:entry><up:uri-entry>sip:g2@x.test</up:uri-entry></up:entry>"
                      "<up:entry><up:uri-entry>sip:g1@x.test</up:uri-entry></up:entry>"
                      "</up:MCPTTGroupInfo></up:OnNetwork>"
                      "<up:OffNetwork><up:MCPTTGroupInfo><up:entry><up:uri-entry>sip:off@x.test"
                      "</up:uri-entry></up:entry></up:MCPTTGroupInfo></up:OffNetwork>"
                      "</up:mcptt-user-profile>";
    static char groups[4][UE_ID_MAX];
    unsigned n = 0;
    assert_int_equal(ue_cmc_profile_groups(doc, strlen(doc), groups, 4, &n), 3);
    assert_int_equal(n, 2);
    assert_string_equal(groups[0], "sip:g1@x.test");
    assert_string_equal(groups[1], "sip:g2@x.test");
    assert_int_equal(ue_cmc_profile_groups("<a>", 3, groups, 4, &n), -EINVAL);
    const char *none = "<mcptt-user-profile xmlns='urn:3gpp:mcptt:user-profile:1.0'/>";
    assert_int_equal(ue_cmc_profile_groups(none, strlen(none), groups, 4, &n), 0);
}

static void test_group_document(void **state)
{
    (void)state;
    const char *doc = "<group xmlns='urn:oma:xml:poc:list-service'>"
                      "<list-service uri='sip:g1@x.test'><display-name>Fire</display-name>"
                      "<list><entry uri='sip:a@x.test'/><entry uri='sip:b@x.test'/></list>"
                      "</list-service></group>";
    char uri[64], name[64];
    unsigned m = 99;
    assert_int_equal(ue_gmc_parse_group(doc, strlen(doc), uri, sizeof(uri), name, sizeof(name),
                                        &m),
                     0);
    assert_string_equal(uri, "sip:g1@x.test");
    assert_string_equal(name, "Fire");
    assert_int_equal(m, 2);
    const char *bad = "<resource-lists/>";
    assert_int_equal(ue_gmc_parse_group(bad, strlen(bad), uri, sizeof(uri), name, sizeof(name),
                                        &m),
                     -EINVAL);
}

static void test_publish_body(void **state)
{
    (void)state;
    char body[4096];
    int n = ue_svcauth_body(body, sizeof(body), "BB", "aaa.bbb.ccc", "mcx<ue>", "ent-1");
    assert_true(n > 0);
    assert_non_null(strstr(body, "--BB\r\nContent-Type: application/vnd.3gpp.mcptt-info+xml\r\n"));
    assert_non_null(strstr(body, "<mcptt-access-token type=\"Normal\"><mcpttString>aaa.bbb.ccc"
                                 "</mcpttString></mcptt-access-token>"));
    assert_non_null(strstr(body, "<mcpttString>mcx&lt;ue&gt;</mcpttString>"));
    assert_non_null(strstr(body, "Content-Type: application/poc-settings+xml\r\n"));
    assert_non_null(strstr(body, "<entity id=\"ent-1\">"));
    assert_non_null(strstr(body, "\r\n--BB--\r\n"));
    /* each part is well-formed XML */
    const char *p1 = strstr(body, "<?xml");
    const char *e1 = strstr(p1, "\r\n--BB");
    xmlDocPtr d = xmlReadMemory(p1, (int)(e1 - p1), NULL, NULL, XML_PARSE_NONET);
    assert_non_null(d);
    assert_string_equal((const char *)xmlDocGetRootElement(d)->ns->href,
                        "urn:3gpp:ns:mcpttInfo:1.0");
    xmlFreeDoc(d);
    const char *p2 = strstr(e1, "<?xml");
    const char *e2 = strstr(p2, "\r\n--BB--");
    d = xmlReadMemory(p2, (int)(e2 - p2), NULL, NULL, XML_PARSE_NONET);
    assert_non_null(d);
    assert_string_equal((const char *)xmlDocGetRootElement(d)->name, "poc-settings");
    xmlFreeDoc(d);
    assert_int_equal(ue_svcauth_body(body, 100, "BB", "t", "c", "e"), -ENOSPC);
}

static int load(const char *mc, ue_config_t *cfg, char *err, size_t errlen)
{
    char text[2048];
    snprintf(text, sizeof(text),
             "isim:\n  impi: a@x.test\n  impu: sip:a@x.test\n  password: p\nmc:\n%s", mc);
    memset(cfg, 0, sizeof(*cfg));
    err[0] = '\0';
    return ue_config_load_string("t.yaml", text, cfg, err, errlen);
}

static void test_mc_config(void **state)
{
    (void)state;
    static ue_config_t cfg;
    char err[512];
    assert_int_equal(load("  idms_url: https://h:1/idms/\n  username: u\n  password: p\n", &cfg,
                          err, sizeof(err)),
                     0);
    assert_true(ue_config_has_mc(&cfg));
    assert_string_equal(cfg.mc.idms_url, "https://h:1/idms");
    assert_string_equal(cfg.mc.client_id, "mcx-ue");
    assert_string_equal(cfg.mc.redirect_uri, "org.mcxcore.ue:/oauth2redirect");
    assert_string_equal(cfg.mc.server_psi, "sip:mcptt-server@x.test");
    assert_int_equal(cfg.mc.publish_expires, 3600);

    assert_int_equal(load("  idms_url: http://h/idms\n  username: u\n  password: p\n", &cfg, err,
                          sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "mc.idms_url: must be an https:// URL"));
    assert_int_equal(load("  idms_url: http://h/idms\n  allow_plain_http: true\n  username: u\n"
                          "  password: p\n",
                          &cfg, err, sizeof(err)),
                     0);
    assert_int_equal(load("  idms_url: https://h/idms\n  username: u\n", &cfg, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "mc.password"));
    assert_int_equal(load("  cms_url: https://h/cms\n", &cfg, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "need mc.idms_url"));
    assert_int_equal(load("  idms_url: https://h/idms\n  username: u\n  password: p\n"
                          "  password_file: /nonexistent\n",
                          &cfg, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "not both"));
    assert_int_equal(load("  idms_url: https://h/idms\n  username: u\n"
                          "  password_file: /nonexistent/pw\n",
                          &cfg, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "mc.password_file"));
    assert_int_equal(load("  idms_url: https://h/idms\n  username: u\n  password: p\n"
                          "  server_psi: mcptt@x\n",
                          &cfg, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "mc.server_psi"));
    assert_int_equal(load("  bogus: 1\n", &cfg, err, sizeof(err)), -EINVAL);
    /* no mc section at all: a SIP-only UE */
    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(ue_config_load_string("t.yaml",
                                           "isim:\n  impi: a@x.test\n  impu: sip:a@x.test\n"
                                           "  password: p\n",
                                           &cfg, err, sizeof(err)),
                     0);
    assert_false(ue_config_has_mc(&cfg));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pkce_rfc7636),   cmocka_unit_test(test_b64url_decode),
        cmocka_unit_test(test_query_param),    cmocka_unit_test(test_profile_groups),
        cmocka_unit_test(test_group_document), cmocka_unit_test(test_publish_body),
        cmocka_unit_test(test_mc_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Rendering for `mcx up`: @NAME@ substitution with its two errors (a
 * placeholder without a value, a value never used), the real Kamailio
 * templates of configs/kamailio rendered completely, and the generated
 * mcx-sipdb / mcx-dproxy YAML wired to the right identities and ports;
 * the application plane: nginx.conf from configs/nginx (accepted by
 * `nginx -t` when nginx is installed), the IdMS / CMS / GMS / MC server YAML
 * (issuer, audiences, trust), the built-in user profile and group documents.
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

#include "mcx-orch.h"

static const char *source_root = ".";
static char err[1024];

static void test_substitution(void **state)
{
    const mcx_render_var_t v[] = {{"A", "1"}, {"LONG_NAME_2", "two"}};
    char *out = NULL;
    assert_int_equal(mcx_render_text("x=@A@ y=@LONG_NAME_2@@A@", v, 2, &out, err, sizeof(err)), 0);
    assert_string_equal(out, "x=1 y=two1");
    free(out);
    /* Not placeholders: e-mail-like text, lower case, a lone @, @@. */
    const mcx_render_var_t one[] = {{"A", "1"}};
    assert_int_equal(mcx_render_text("alice@alpha.test @a@ @ @@ @A@ x@A", one, 1, &out, err,
                                     sizeof(err)), 0);
    assert_string_equal(out, "alice@alpha.test @a@ @ @@ 1 x@A");
    free(out);
    assert_int_equal(mcx_render_text("", NULL, 0, &out, err, sizeof(err)), 0);
    assert_string_equal(out, "");
    free(out);
}

static void test_unknown_placeholder(void **state)
{
    const mcx_render_var_t v[] = {{"A", "1"}};
    char *out = NULL;
    assert_int_equal(mcx_render_text("@A@\nline two @B@\n", v, 1, &out, err, sizeof(err)),
                     -EINVAL);
    assert_null(out);
    assert_string_equal(err, "line 2: no value for @B@");
}

static void test_unused_value(void **state)
{
    const mcx_render_var_t v[] = {{"A", "1"}, {"UNUSED", "2"}};
    char *out = NULL;
    assert_int_equal(mcx_render_text("@A@", v, 2, &out, err, sizeof(err)), -EINVAL);
    assert_null(out);
    assert_string_equal(err, "value for @UNUSED@ is never used");
}

static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    static char buf[1 << 17];
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

static mcx_topo_t topo;

static void load_two_sipdbs(void)
{
    const char *text = "systems:\n  - name: alpha\n    realm: alpha.test\n    base_port: 20000\n"
                       "    sipdb:\n      count: 2\n";
    assert_int_equal(mcx_topo_load_string("t.yaml", text, &topo, err, sizeof(err)), 0);
    assert_int_equal(mcx_topo_assign_ports(&topo, mcx_free_port, NULL, err, sizeof(err)), 0);
}

static void test_render_system(void **state)
{
    load_two_sipdbs();
    char dir[] = "/tmp/test-mcx-render-XXXXXX";
    assert_non_null(mkdtemp(dir));
    mcx_sys_paths_t p;
    mcx_render_paths(dir, &topo.systems[0], &p);
    char kam[4096];
    snprintf(kam, sizeof(kam), "%s/configs/kamailio", source_root);
    int rv = mcx_render_system(&topo.systems[0], &p, kam, err, sizeof(err));
    if (rv)
        fail_msg("%s", err);

    char *cfg = slurp(p.scscf_cfg);
    assert_non_null(strstr(cfg, "listen=udp:127.0.0.1:20000"));
    assert_non_null(strstr(cfg, "\"sip:scscf.alpha.test:20000\""));
    assert_non_null(strstr(cfg, p.scscf_cdp));
    assert_non_null(strstr(cfg, "cdp_check_peer(\"dproxy.alpha.test\")"));
    for (const char *q = cfg; (q = strchr(q, '@')); q++)
        assert_false(q[1] >= 'A' && q[1] <= 'Z' && strchr(q + 1, '@') &&
                     strspn(q + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") ==
                         (size_t)(strchr(q + 1, '@') - (q + 1)));
    char *cdp = slurp(p.scscf_cdp);
    assert_non_null(strstr(cdp, "FQDN=\"scscf.alpha.test\""));
    assert_non_null(strstr(cdp, "<Acceptor port=\"20001\" bind=\"127.0.0.1\"/>"));
    assert_non_null(strstr(cdp, "port=\"20002\""));

    char *y = slurp(p.sipdb_conf[1]);
    assert_non_null(strstr(y, "identity: sipdb2.alpha.test"));
    assert_non_null(strstr(y, "port: 20004"));
    assert_non_null(strstr(y, "ind: 1"));
    assert_non_null(strstr(y, "- dproxy.alpha.test"));
    assert_non_null(strstr(y, "- sip:scscf.alpha.test:20000"));
    assert_non_null(strstr(y, p.db));

    y = slurp(p.dproxy_conf);
    assert_non_null(strstr(y, "identity: dproxy.alpha.test"));
    assert_non_null(strstr(y, "port: 20002"));
    assert_non_null(strstr(y, "{ identity: sipdb1.alpha.test, address: 127.0.0.1, port: 20003"));
    assert_non_null(strstr(y, "{ identity: scscf.alpha.test, address: 127.0.0.1, port: 20001"));
    assert_non_null(strstr(y, "peer: sipdb2.alpha.test, priority: 10"));
    assert_non_null(strstr(y, "advertise: [cx]"));

    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* A template that grew a placeholder mcx does not know: rendering fails, naming it. */
static void test_template_with_new_placeholder(void **state)
{
    load_two_sipdbs();
    char dir[] = "/tmp/test-mcx-render-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[8192];
    snprintf(cmd, sizeof(cmd),
             "mkdir '%s/kam' && cp '%s'/configs/kamailio/* '%s/kam/' && "
             "echo '# @NEW_THING@' >> '%s/kam/scscf.cfg.in'",
             dir, source_root, dir, dir);
    assert_int_equal(system(cmd), 0);
    mcx_sys_paths_t p;
    char run[4096], kam[4096];
    snprintf(run, sizeof(run), "%s/run", dir);
    snprintf(kam, sizeof(kam), "%s/kam", dir);
    mcx_render_paths(run, &topo.systems[0], &p);
    assert_int_equal(mcx_render_system(&topo.systems[0], &p, kam, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "scscf.cfg.in: line "));
    assert_non_null(strstr(err, "no value for @NEW_THING@"));
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

#define APP_TOPO                                                                                 \
    "systems:\n  - name: alpha\n    realm: alpha.test\n    base_port: 30000\n"                    \
    "    subscribers:\n      - {impi: alice@alpha.test, impus: [sip:alice@alpha.test], "          \
    "password: pw}\n"                                                                             \
    "    users:\n      - username: alice\n        password: secret\n"                           \
    "        sip_identity: alice@alpha.test\n        groups: [sip:fire@alpha.test]\n"             \
    "    groups:\n      - uri: sip:fire@alpha.test\n        display_name: Fire & Rescue\n"        \
    "        members: [alice, sip:dispatch@alpha.test]\n"

static mcx_topo_t app;

static void load_app(void)
{
    if (mcx_topo_load_string("app.yaml", APP_TOPO, &app, err, sizeof(err)))
        fail_msg("%s", err);
    if (mcx_topo_assign_ports(&app, mcx_free_port, NULL, err, sizeof(err)))
        fail_msg("%s", err);
}

static void test_render_app_plane(void **state)
{
    load_app();
    const mcx_topo_system_t *s = &app.systems[0];
    char dir[] = "/tmp/test-mcx-render-XXXXXX";
    assert_non_null(mkdtemp(dir));
    mcx_sys_paths_t p;
    mcx_render_paths(dir, s, &p);
    char kam[4096];
    snprintf(kam, sizeof(kam), "%s/configs/kamailio", source_root);
    setenv("MCX_NGINX_DIR", "", 1);
    if (mcx_render_system(s, &p, kam, err, sizeof(err)))
        fail_msg("%s", err);

    char *n = slurp(p.nginx_conf);
    assert_non_null(strstr(n, "listen 127.0.0.1:30020 ssl http2;"));
    assert_non_null(strstr(n, "server 127.0.0.1:30021;"));
    assert_non_null(strstr(n, "server 127.0.0.1:30022;"));
    assert_non_null(strstr(n, "server 127.0.0.1:30023;"));
    assert_non_null(strstr(n, "location /idms/ {\n            proxy_pass http://mcx_idms/;"));
    assert_non_null(strstr(n, "X-Forwarded-Proto $scheme"));
    assert_non_null(strstr(n, "ssl_protocols TLSv1.2 TLSv1.3;"));
    assert_non_null(strstr(n, p.certs.cert));
    assert_non_null(strstr(n, p.nginx_pid));
    assert_null(strstr(n, "\nuser "));
    assert_null(strchr(n, '@') && strstr(n, "@\n") ? "" : NULL);

    char *y = slurp(p.idms_conf);
    assert_non_null(strstr(y, "port: 30021"));
    assert_non_null(strstr(y, "issuer: \"https://127.0.0.1:30020/idms\""));
    assert_non_null(strstr(y, "- cms.alpha.test\n    - gms.alpha.test\n    - mcptt.alpha.test"));
    assert_non_null(strstr(y, p.idms_jwks));
    assert_non_null(strstr(y, p.idms_key));
    assert_non_null(strstr(y, "access_token_lifetime: 3600"));

    y = slurp(p.cms_conf);
    assert_non_null(strstr(y, "port: 30022"));
    assert_non_null(strstr(y, "audience: cms.alpha.test"));
    assert_non_null(strstr(y, "- issuer: \"https://127.0.0.1:30020/idms\""));
    assert_non_null(strstr(y, "xcap_root: \"https://127.0.0.1:30020/cms\""));
    y = slurp(p.gms_conf);
    assert_non_null(strstr(y, "audience: gms.alpha.test"));
    assert_non_null(strstr(y, "xcap_root: \"https://127.0.0.1:30020/gms\""));
    y = slurp(p.server_conf);
    assert_non_null(strstr(y, "port: 30025"));
    assert_non_null(strstr(y, "audience: mcptt.alpha.test"));
    assert_non_null(strstr(y, "psi: \"sip:mcptt-server@alpha.test\""));
    assert_non_null(strstr(y, "sip:\n  listen: 127.0.0.1\n  port: 30024\n"));
    assert_non_null(strstr(y, "cms_url: \"http://127.0.0.1:30022\""));

    /* nginx itself accepts what was rendered (certificates made first). */
    if (access("/usr/sbin/nginx", X_OK) == 0) {
        assert_int_equal(mcx_certs_ensure(&p.certs, s->realm, NULL, err, sizeof(err)), 0);
        char cmd[4 * 4096];
        snprintf(cmd, sizeof(cmd), "/usr/sbin/nginx -t -q -e '%s' -p '%s' -c '%s' 2>/dev/null",
                 p.nginx_error_log, p.nginx_dir, p.nginx_conf);
        assert_int_equal(system(cmd), 0);
    }
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_documents(void **state)
{
    load_app();
    const mcx_topo_system_t *s = &app.systems[0];
    char *x = mcx_render_user_profile(s, &s->users[0], 0);
    assert_non_null(strstr(x, "<mcptt-user-profile xmlns=\"urn:3gpp:mcptt:user-profile:1.0\" "
                              "XUI-URI=\"sip:alice@alpha.test\" user-profile-index=\"0\">"));
    assert_non_null(strstr(x, "<MCPTTGroupInfo>\n      <entry>\n        "
                              "<uri-entry>sip:fire@alpha.test</uri-entry>"));
    free(x);
    x = mcx_render_group_doc(s, &s->groups[0]);
    assert_non_null(strstr(x, "<group xmlns=\"urn:oma:xml:poc:list-service\">"));
    assert_non_null(strstr(x, "<list-service uri=\"sip:fire@alpha.test\">"));
    assert_non_null(strstr(x, "<display-name>Fire &amp; Rescue</display-name>"));
    /* A username member becomes its MCPTT ID. */
    assert_non_null(strstr(x, "<entry uri=\"sip:alice@alpha.test\"/>"));
    assert_non_null(strstr(x, "<entry uri=\"sip:dispatch@alpha.test\"/>"));
    free(x);
}

int main(int argc, char **argv)
{
    if (argc > 1)
        source_root = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_substitution),
        cmocka_unit_test(test_unknown_placeholder),
        cmocka_unit_test(test_unused_value),
        cmocka_unit_test(test_render_system),
        cmocka_unit_test(test_template_with_new_placeholder),
        cmocka_unit_test(test_render_app_plane),
        cmocka_unit_test(test_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

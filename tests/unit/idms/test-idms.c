/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests of mcx-idms: escaping, base64url, PKCE syntax, repeated query
 * parameters, scope arithmetic, password hashes, and the store's single-use
 * codes and refresh-token families (real SQLite files in a temp directory).
 */
#include "idms-store.h"
#include "idms-text.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

static void test_html_and_url(void **state)
{
    idms_buf_t b = {0};
    idms_buf_html(&b, "\"><script>alert('x')</script>&");
    assert_string_equal(b.s, "&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;");
    idms_buf_free(&b);
    idms_buf_urlenc(&b, "a b&c=d/~_.-\xc3\xa9");
    assert_string_equal(b.s, "a%20b%26c%3Dd%2F~_.-%C3%A9");
    idms_buf_free(&b);
}

static void test_b64url(void **state)
{
    char out[64];
    idms_b64url((const uint8_t *)"\xfb\xff", 2, out);
    assert_string_equal(out, "-_8");
    idms_b64url((const uint8_t *)"abc", 3, out);
    assert_string_equal(out, "YWJj");
    idms_b64url((const uint8_t *)"a", 1, out);
    assert_string_equal(out, "YQ");
    uint8_t r[32] = {0};
    idms_b64url(r, 32, out);
    assert_int_equal(strlen(out), 43);
}

static void test_pkce_syntax(void **state)
{
    char s[130];
    memset(s, 'a', sizeof(s));
    s[43] = '\0';
    assert_true(idms_pkce_syntax_ok(s));
    s[42] = '\0';
    assert_false(idms_pkce_syntax_ok(s));
    memset(s, 'a', sizeof(s));
    s[128] = '\0';
    assert_true(idms_pkce_syntax_ok(s));
    s[128] = 'a';
    s[129] = '\0';
    assert_false(idms_pkce_syntax_ok(s));
    assert_false(idms_pkce_syntax_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa+"));
    assert_true(idms_pkce_syntax_ok("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-._~"));
}

static void test_query_count(void **state)
{
    assert_int_equal(idms_query_count("/authorize?state=1&scope=x&state=2", "state"), 2);
    assert_int_equal(idms_query_count("/authorize?sta%74e=1&state=2", "state"), 2);
    assert_int_equal(idms_query_count("/authorize?states=1&xstate=2", "state"), 0);
    assert_int_equal(idms_query_count("/authorize", "state"), 0);
    assert_int_equal(idms_query_count("/authorize?state", "state"), 1);
    assert_int_equal(idms_query_count("/authorize?a=1&&state=&", "state"), 1);
    assert_int_equal(idms_query_count("/authorize?%", "state"), 0);
}

static void test_scopes(void **state)
{
    char out[128];
    idms_scope_intersect("openid  b openid c", "c openid a", out, sizeof(out));
    assert_string_equal(out, "openid c");
    assert_true(idms_scope_subset("openid c", "a c openid"));
    assert_false(idms_scope_subset("openid d", "a c openid"));
    assert_false(idms_scope_has("openidx", "openid", 6));
    char safe[80];
    idms_log_safe("al\nice'", safe, sizeof(safe));
    assert_string_equal(safe, "al?ice?");
}

static void test_password(void **state)
{
    char h[IDMS_HASH_MAX];
    assert_int_equal(idms_password_hash("s3cret", h, sizeof(h)), 0);
    assert_int_equal(strncmp(h, "pbkdf2-sha256$120000$", 21), 0);
    assert_true(idms_password_verify("s3cret", h));
    assert_false(idms_password_verify("s3cre", h));
    assert_false(idms_password_verify("s3cret", NULL));
    assert_false(idms_password_verify("s3cret", "pbkdf2-sha256$5$xx$yy"));
    char h2[IDMS_HASH_MAX];
    idms_password_hash("s3cret", h2, sizeof(h2));
    assert_string_not_equal(h, h2); /* fresh salt */
}

static sqlite3 *open_tmp(char *dir)
{
    strcpy(dir, "/tmp/test-idms-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[128], err[256];
    snprintf(path, sizeof(path), "%s/idms.db", dir);
    sqlite3 *db = NULL;
    assert_int_equal(idms_store_open(path, &db, err, sizeof(err)), 0);
    return db;
}

static void close_tmp(sqlite3 *db, const char *dir)
{
    idms_store_close(db);
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_code_single_use_and_family(void **state)
{
    char dir[64];
    sqlite3 *db = open_tmp(dir);
    idms_code_t c = {.client_id = "mcx-ue",
                     .redirect_uri = "app:/cb",
                     .username = "alice",
                     .scope = "openid",
                     .code_challenge = "x",
                     .auth_time = 100,
                     .expires = 160};
    idms_secret_hash("the-code", c.hash);
    assert_int_equal(idms_code_put(db, &c), 0);
    assert_int_equal(idms_code_put(db, &c), -EEXIST);

    idms_code_t got;
    assert_int_equal(idms_code_redeem(db, c.hash, 120, &got), 0);
    assert_string_equal(got.username, "alice");
    assert_int_equal(got.expires, 160);

    idms_refresh_t r = {.client_id = "mcx-ue",
                        .username = "alice",
                        .scope = "openid",
                        .auth_time = 100,
                        .expires = 1000};
    idms_secret_hash("rt1", r.hash);
    strcpy(r.family, c.hash);
    assert_int_equal(idms_refresh_put(db, &r), 0);
    idms_refresh_t t;
    assert_int_equal(idms_refresh_take(db, r.hash, 130, &t), 0);
    idms_secret_hash("rt2", r.hash);
    assert_int_equal(idms_refresh_put(db, &r), 0);
    assert_int_equal(idms_refresh_count_live(db, c.hash), 1);

    /* The code again: refused, and the family (rt2) revoked. */
    assert_int_equal(idms_code_redeem(db, c.hash, 140, &got), -EALREADY);
    assert_int_equal(idms_refresh_count_live(db, c.hash), 0);
    assert_int_equal(idms_refresh_take(db, r.hash, 150, &t), -EALREADY);
    char unknown[65];
    idms_secret_hash("nope", unknown);
    assert_int_equal(idms_code_redeem(db, unknown, 150, &got), -ENOENT);
    assert_int_equal(idms_refresh_take(db, unknown, 150, &t), -ENOENT);

    /* Expired refresh token. */
    idms_secret_hash("rt3", r.hash);
    strcpy(r.family, "f2");
    r.expires = 200;
    assert_int_equal(idms_refresh_put(db, &r), 0);
    assert_int_equal(idms_refresh_take(db, r.hash, 200, &t), -ETIME);
    close_tmp(db, dir);
}

static void test_users_and_clients(void **state)
{
    char dir[64], err[256];
    sqlite3 *db = open_tmp(dir);
    idms_user_t u = {.username = "alice", .mcptt_id = "sip:alice@alpha.test", .enabled = true};
    assert_int_equal(idms_user_validate(&u, err, sizeof(err)), -EINVAL); /* no password */
    idms_password_hash("pw", u.pwhash, sizeof(u.pwhash));
    assert_int_equal(idms_user_validate(&u, err, sizeof(err)), 0);
    strcpy(u.mcdata_id, "alice@alpha.test");
    assert_int_equal(idms_user_validate(&u, err, sizeof(err)), -EINVAL);
    u.mcdata_id[0] = '\0';
    assert_int_equal(idms_user_add(db, &u), 0);
    assert_int_equal(idms_user_add(db, &u), -EEXIST);
    assert_int_equal(idms_login_note(db, "alice", false, 10), 1);
    assert_int_equal(idms_login_note(db, "alice", false, 11), 2);
    assert_int_equal(idms_login_note(db, "alice", true, 12), 0);
    idms_user_t g;
    assert_int_equal(idms_user_get(db, "alice", &g), 0);
    assert_true(idms_password_verify("pw", g.pwhash));
    assert_int_equal(idms_user_delete(db, "alice"), 0);
    assert_int_equal(idms_user_delete(db, "alice"), -ENOENT);

    idms_client_t c = {
        .client_id = "mcx-ue", .n_redirect = 2, .scope = "openid a", .enabled = true};
    strcpy(c.redirect_uris[0], "org.mcxcore.ue:/oauth2redirect");
    strcpy(c.redirect_uris[1], "https://x.example/cb?x=1");
    assert_int_equal(idms_client_validate(&c, err, sizeof(err)), 0);
    assert_int_equal(idms_client_add(db, &c), 0);
    idms_client_t gc;
    assert_int_equal(idms_client_get(db, "mcx-ue", &gc), 0);
    assert_int_equal(gc.n_redirect, 2);
    assert_true(idms_client_has_redirect(&gc, "https://x.example/cb?x=1"));
    assert_false(idms_client_has_redirect(&gc, "https://x.example/cb"));
    strcpy(c.redirect_uris[1], "app:/cb#frag");
    assert_int_equal(idms_client_validate(&c, err, sizeof(err)), -EINVAL);
    strcpy(c.redirect_uris[1], "/relative");
    assert_int_equal(idms_client_validate(&c, err, sizeof(err)), -EINVAL);
    strcpy(c.redirect_uris[1], "app:/x");
    strcpy(c.scope, "a  openid");
    assert_int_equal(idms_client_validate(&c, err, sizeof(err)), -EINVAL);
    assert_int_equal(idms_client_delete(db, "mcx-ue"), 0);
    assert_int_equal(idms_client_get(db, "mcx-ue", &gc), -ENOENT);
    close_tmp(db, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_and_url),
        cmocka_unit_test(test_b64url),
        cmocka_unit_test(test_pkce_syntax),
        cmocka_unit_test(test_query_count),
        cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_password),
        cmocka_unit_test(test_code_single_use_and_family),
        cmocka_unit_test(test_users_and_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

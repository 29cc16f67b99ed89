/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests of mcx-idms: escaping, base64url, PKCE syntax, repeated query
 * parameters, scope arithmetic, password hashes, and the store's single-use
 * codes and refresh-token families, and the store writer's group commit
 * (real SQLite files in a temp directory).
 */
#include "idms-store.h"
#include "idms-text.h"
#include "idms-writer.h"

#include <pthread.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
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

/* ---- the store writer: group commit ---------------------------------- */

#define WJOBS 16

typedef struct {
    idms_writer_t *w;
    int i;
    int result;
    int64_t own; /* written by the job on the writer thread, read by its waiter */
} wjob_t;

static void wjob_hash(int i, char out[65])
{
    char s[16];
    snprintf(s, sizeof(s), "rt-%d", i);
    idms_secret_hash(s, out);
}

/*
 * Job 0 holds the first batch for a while so that the others queue up behind
 * it. Job 5 fails after writing (its row must be rolled back), job 7 is a
 * refusal whose write is kept, job 9 hits a constraint (job 0's hash again).
 */
static int wjob_fn(sqlite3 *db, void *arg, bool *keep)
{
    wjob_t *j = arg;
    if (j->i == 0)
        usleep(200 * 1000);
    idms_refresh_t r = {.client_id = "mcx-ue",
                        .username = "alice",
                        .scope = "openid",
                        .auth_time = 1,
                        .expires = 4000000000};
    strcpy(r.family, "fam");
    wjob_hash(j->i == 9 ? 0 : j->i, r.hash);
    int rv = idms_refresh_put(db, &r);
    if (rv)
        return rv;
    j->own = 1000 + j->i;
    if (j->i == 5)
        return -EINVAL;
    if (j->i == 7) {
        *keep = true;
        return -EPERM;
    }
    return j->i;
}

static void *wjob_thread(void *arg)
{
    wjob_t *j = arg;
    if (j->i != 0)
        usleep(50 * 1000); /* behind job 0 */
    j->result = idms_writer_run(j->w, wjob_fn, j);
    return NULL;
}

static void test_writer_group_commit(void **state)
{
    char dir[64], path[128], err[256];
    sqlite3 *db = open_tmp(dir);
    idms_store_close(db);
    snprintf(path, sizeof(path), "%s/idms.db", dir);
    idms_writer_t *w = NULL;
    assert_int_equal(idms_writer_start(path, true, 0, &w, err, sizeof(err)), 0);

    pthread_t th[WJOBS];
    wjob_t jobs[WJOBS];
    for (int i = 0; i < WJOBS; i++) {
        jobs[i] = (wjob_t){.w = w, .i = i, .result = 12345};
        assert_int_equal(pthread_create(&th[i], NULL, wjob_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < WJOBS; i++)
        pthread_join(th[i], NULL);
    uint64_t njobs = 0, commits = 0;
    idms_writer_counts(w, &njobs, &commits);
    assert_int_equal(njobs, WJOBS);
    assert_true(commits >= 1 && commits < WJOBS);

    /* Each waiter got its own result. */
    for (int i = 0; i < WJOBS; i++) {
        int want = i == 5 ? -EINVAL : i == 7 ? -EPERM : i == 9 ? -EEXIST : i;
        assert_int_equal(jobs[i].result, want);
        if (i != 9)
            assert_int_equal(jobs[i].own, 1000 + i);
    }
    idms_writer_stop(w);

    /* Durable: a new connection finds every kept row, and not the failed one. */
    assert_int_equal(idms_store_open(path, &db, err, sizeof(err)), 0);
    assert_int_equal(idms_refresh_count_live(db, "fam"), WJOBS - 2);
    for (int i = 0; i < WJOBS; i++) {
        char h[65];
        idms_refresh_t t;
        wjob_hash(i, h);
        if (i == 9)
            continue; /* never written: its hash was job 0's */
        assert_int_equal(idms_refresh_take(db, h, 100, &t), i == 5 ? -ENOENT : 0);
    }
    close_tmp(db, dir);
}

/* A sweep deletes long-expired rows only. */
static void test_purge(void **state)
{
    char dir[64];
    sqlite3 *db = open_tmp(dir);
    int64_t now = 1000000;
    int64_t exp[3] = {now - IDMS_PURGE_GRACE - 1, now - 10, now + 10};
    for (int i = 0; i < 3; i++) {
        idms_refresh_t r = {
            .client_id = "c", .username = "u", .scope = "openid", .expires = exp[i]};
        strcpy(r.family, "fam");
        wjob_hash(i, r.hash);
        assert_int_equal(idms_refresh_put(db, &r), 0);
    }
    assert_int_equal(idms_store_purge(db, now), 1);
    assert_int_equal(idms_store_purge(db, now), 0);
    assert_int_equal(idms_refresh_count_live(db, "fam"), 2);
    close_tmp(db, dir);
}

/*
 * The maintenance thread: its first sweep runs at start (a long-expired row
 * goes, a live one stays), and its checkpoints copy the batches' commits
 * into the database file.
 */
static void test_writer_upkeep(void **state)
{
    char dir[64], path[128], err[256];
    sqlite3 *db = open_tmp(dir);
    snprintf(path, sizeof(path), "%s/idms.db", dir);
    int64_t exp[2] = {(int64_t)time(NULL) - IDMS_PURGE_GRACE - 100, 4000000000};
    for (int i = 0; i < 2; i++) {
        idms_refresh_t r = {.client_id = "c", .username = "u", .scope = "openid",
                            .expires = exp[i]};
        strcpy(r.family, "fam");
        wjob_hash(i, r.hash);
        assert_int_equal(idms_refresh_put(db, &r), 0);
    }
    idms_writer_t *w = NULL;
    assert_int_equal(idms_writer_start(path, false, 3600, &w, err, sizeof(err)), 0);
    int live = -1;
    for (int tries = 0; tries < 500 && live != 1; tries++) {
        usleep(10 * 1000);
        live = idms_refresh_count_live(db, "fam");
    }
    assert_int_equal(live, 1);

    /*
     * 1500 jobs: some 6000 WAL frames, over SQLite's default automatic
     * checkpoint (1000) but under the write connection's backstop (16384). The
     * database file only grows by checkpoints, so here by the thread's.
     */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    off_t start = st.st_size;
    wjob_t j = {.w = w};
    for (int i = 100; i < 1600; i++) {
        j.i = i;
        assert_int_equal(idms_writer_run(w, wjob_fn, &j), i);
    }
    for (int tries = 0; tries < 500 && st.st_size < start + 200 * 1024; tries++) {
        usleep(10 * 1000);
        assert_int_equal(stat(path, &st), 0);
    }
    assert_true(st.st_size >= start + 200 * 1024);
    assert_int_equal(idms_refresh_count_live(db, "fam"), 1501);
    idms_writer_stop(w);
    close_tmp(db, dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_and_url),
        cmocka_unit_test(test_b64url),
        cmocka_unit_test(test_pkce_syntax),
        cmocka_unit_test(test_scopes),
        cmocka_unit_test(test_password),
        cmocka_unit_test(test_code_single_use_and_family),
        cmocka_unit_test(test_users_and_clients),
        cmocka_unit_test(test_writer_group_commit),
        cmocka_unit_test(test_purge),
        cmocka_unit_test(test_writer_upkeep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

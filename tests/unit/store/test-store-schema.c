/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Opening a store: schema versions and the upgrade path from a v1 database
 * built by hand (a frozen copy of the v1 SQL, as released), refusal of a
 * newer schema, WAL and file permissions, configuration errors.
 */
#include "test-store-common.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sqlite3.h>

/* Schema v1 exactly as store-schema.c shipped it. Never edit: it stands for old files. */
static const char v1_sql[] =
    "CREATE TABLE subscriber (\n"
    "    id             INTEGER PRIMARY KEY,\n"
    "    impi           TEXT    NOT NULL UNIQUE,\n"
    "    has_aka        INTEGER NOT NULL CHECK (has_aka IN (0, 1)),\n"
    "    k              BLOB    CHECK (k IS NULL OR length(k) = 16),\n"
    "    opc            BLOB    CHECK (opc IS NULL OR length(opc) = 16),\n"
    "    amf            BLOB    CHECK (amf IS NULL OR length(amf) = 2),\n"
    "    sqn            INTEGER NOT NULL DEFAULT 0\n"
    "                   CHECK (sqn BETWEEN 0 AND 281474976710655),\n"
    "    has_digest     INTEGER NOT NULL CHECK (has_digest IN (0, 1)),\n"
    "    digest_realm   TEXT    NOT NULL DEFAULT '',\n"
    "    ha1_md5        TEXT    NOT NULL DEFAULT '',\n"
    "    ha1_sha256     TEXT    NOT NULL DEFAULT '',\n"
    "    default_scheme INTEGER NOT NULL,\n"
    "    ifc_xml        TEXT    NOT NULL DEFAULT '',\n"
    "    scscf_name     TEXT    NOT NULL DEFAULT '',\n"
    "    CHECK (has_aka = 0 OR (k IS NOT NULL AND opc IS NOT NULL AND amf IS NOT NULL))\n"
    ") STRICT;\n"
    "CREATE TABLE impu (\n"
    "    impu           TEXT    PRIMARY KEY,\n"
    "    subscriber_id  INTEGER NOT NULL REFERENCES subscriber(id) ON DELETE CASCADE,\n"
    "    position       INTEGER NOT NULL,\n"
    "    barred         INTEGER NOT NULL DEFAULT 0 CHECK (barred IN (0, 1)),\n"
    "    reg_state      INTEGER NOT NULL DEFAULT 0\n"
    ") STRICT;\n";

/* A subscriber as a v1 deployment would have stored it. */
static const char v1_rows[] =
    "INSERT INTO subscriber (id, impi, has_aka, k, opc, amf, sqn, has_digest, digest_realm,"
    "  ha1_md5, ha1_sha256, default_scheme, ifc_xml, scscf_name) VALUES (7,"
    "  'old@alpha.example', 1, x'000102030405060708090a0b0c0d0e0f',"
    "  x'f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff', x'8000', 4242, 1, 'alpha.example',"
    "  '0123456789abcdef0123456789abcdef', '', 0,"
    "  '<InitialFilterCriteria><Priority>3</Priority></InitialFilterCriteria>',"
    "  'sip:scscf.alpha.example');"
    "INSERT INTO impu (impu, subscriber_id, position, barred, reg_state) VALUES"
    "  ('tel:+15550002', 7, 1, 1, 0),"
    "  ('sip:old@alpha.example', 7, 0, 0, 1);"
    "PRAGMA user_version = 1;";

static void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        print_error("sqlite: %s\n", msg);
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* First column of the first row of `sql`, as text, into out[cap] ("" if no row). */
static void query_text(const char *path, const char *sql, char *out, size_t cap)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    out[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

#define SCHEMA_SQL                                                                                 \
    "SELECT group_concat(type || ' ' || name || ': ' || coalesce(sql, ''), '\n')"                  \
    " FROM (SELECT * FROM sqlite_master ORDER BY name)"

static void test_fresh_store_is_latest(void **state)
{
    (void)state;
    tmpdb_t db;
    tmpdb_init(&db);
    mcx_store_t *st = tmpdb_open(&db);
    assert_true(mcx_store_schema_latest() >= 2);
    assert_int_equal(mcx_store_schema_version(st), mcx_store_schema_latest());
    mcx_store_close(st);

    /* Opening again migrates nothing and changes nothing. */
    char before[4096], after[4096];
    query_text(db.path, SCHEMA_SQL, before, sizeof(before));
    st = tmpdb_open(&db);
    assert_int_equal(mcx_store_schema_version(st), mcx_store_schema_latest());
    mcx_store_close(st);
    query_text(db.path, SCHEMA_SQL, after, sizeof(after));
    assert_string_equal(before, after);
    tmpdb_final(&db);
}

static void test_upgrade_from_v1(void **state)
{
    (void)state;
    tmpdb_t old, fresh;
    tmpdb_init(&old);
    tmpdb_init(&fresh);
    exec_sql(old.path, v1_sql);
    exec_sql(old.path, v1_rows);

    mcx_store_t *st = tmpdb_open(&old);
    assert_int_equal(mcx_store_schema_version(st), mcx_store_schema_latest());

    /* The row is intact, IMPUs in position order. */
    mcx_subscriber_t *s = sub_new();
    assert_int_equal(mcx_store_subscriber_get(st, "old@alpha.example", s), 0);
    static const uint8_t k[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    uint8_t opc[16];
    for (int i = 0; i < 16; i++)
        opc[i] = (uint8_t)(0xf0 + i);
    assert_true(s->has_aka);
    assert_memory_equal(s->k, k, 16);
    assert_memory_equal(s->opc, opc, 16);
    assert_int_equal(s->amf[0], 0x80);
    assert_int_equal(s->amf[1], 0x00);
    assert_int_equal(s->sqn, 4242);
    assert_true(s->has_digest);
    assert_string_equal(s->digest_realm, "alpha.example");
    assert_string_equal(s->ha1_md5, "0123456789abcdef0123456789abcdef");
    assert_string_equal(s->ha1_sha256, "");
    assert_int_equal(s->default_scheme, MCX_SCHEME_AKAV1_MD5);
    assert_string_equal(s->ifc_xml,
                        "<InitialFilterCriteria><Priority>3</Priority></InitialFilterCriteria>");
    assert_string_equal(s->scscf_name, "sip:scscf.alpha.example");
    assert_int_equal(s->n_impus, 2);
    assert_string_equal(s->impus[0].impu, "sip:old@alpha.example");
    assert_false(s->impus[0].barred);
    assert_int_equal(s->impus[0].reg_state, MCX_REG_REGISTERED);
    assert_string_equal(s->impus[1].impu, "tel:+15550002");
    assert_true(s->impus[1].barred);

    /* It keeps working: SQN continues, updates run against the new index. */
    uint64_t sqn;
    assert_int_equal(mcx_store_sqn_reserve(st, "old@alpha.example", 1, 0, 0, NULL, &sqn), 0);
    assert_int_equal(sqn, 4243);
    assert_int_equal(mcx_store_subscriber_update(st, s, NULL, 0), 0);
    mcx_store_close(st);

    /* The upgraded file has exactly the schema of a new one. */
    mcx_store_close(tmpdb_open(&fresh));
    char a[4096], b[4096];
    query_text(old.path, SCHEMA_SQL, a, sizeof(a));
    query_text(fresh.path, SCHEMA_SQL, b, sizeof(b));
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "impu_subscriber_position"));

    free(s);
    tmpdb_final(&old);
    tmpdb_final(&fresh);
}

static void test_newer_schema_refused(void **state)
{
    (void)state;
    tmpdb_t db;
    tmpdb_init(&db);
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;", mcx_store_schema_latest() + 1);
    exec_sql(db.path, sql);

    mcx_store_config_t cfg = {.backend = "sqlite"};
    snprintf(cfg.path, sizeof(cfg.path), "%s", db.path);
    mcx_store_t *st = (mcx_store_t *)&cfg; /* must be reset to NULL on failure */
    char err[256] = "";
    assert_int_equal(mcx_store_open(&cfg, &st, err, sizeof(err)), -EIO);
    assert_null(st);
    assert_non_null(strstr(err, "newer"));

    char v[16];
    query_text(db.path, "PRAGMA user_version", v, sizeof(v));
    assert_int_equal(atoi(v), mcx_store_schema_latest() + 1);
    tmpdb_final(&db);
}

static void test_file_is_private_and_wal(void **state)
{
    (void)state;
    tmpdb_t db;
    tmpdb_init(&db);
    mcx_store_t *st = tmpdb_open(&db);
    struct stat sb;
    assert_int_equal(stat(db.path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    mcx_store_close(st);
    char mode[16];
    query_text(db.path, "PRAGMA journal_mode", mode, sizeof(mode));
    assert_string_equal(mode, "wal");
    tmpdb_final(&db);
}

static void test_memory_store(void **state)
{
    (void)state;
    mcx_store_config_t cfg = {.backend = "sqlite", .path = ":memory:", .sync = MCX_STORE_SYNC_FULL};
    mcx_store_t *st = NULL;
    assert_int_equal(mcx_store_open(&cfg, &st, NULL, 0), 0);
    mcx_subscriber_t *s = sub_new();
    example_subscriber(s, "alice", 1);
    assert_int_equal(mcx_store_subscriber_add(st, s, NULL, 0), 0);
    assert_int_equal(mcx_store_subscriber_get(st, "alice@alpha.example", s), 0);
    mcx_store_close(st);
    free(s);
}

static void test_open_errors(void **state)
{
    (void)state;
    mcx_store_t *st = NULL;
    char err[256] = "";
    mcx_store_config_t cfg = {.backend = "postgres", .path = ":memory:"};
    assert_int_equal(mcx_store_open(&cfg, &st, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "backend"));

    memset(&cfg, 0, sizeof(cfg));
    assert_int_equal(mcx_store_open(&cfg, &st, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "path"));

    snprintf(cfg.path, sizeof(cfg.path), ":memory:");
    cfg.sync = (mcx_store_sync_t)3;
    assert_int_equal(mcx_store_open(&cfg, &st, err, sizeof(err)), -EINVAL);

    cfg.sync = MCX_STORE_SYNC_NORMAL;
    snprintf(cfg.path, sizeof(cfg.path), "/nonexistent-dir-mcx/store.sqlite");
    assert_true(mcx_store_open(&cfg, &st, err, sizeof(err)) < 0);
    assert_null(st);

    /* A file that is not a database. */
    tmpdb_t db;
    tmpdb_init(&db);
    FILE *f = fopen(db.path, "w");
    assert_non_null(f);
    fputs("this is not an SQLite database, but it is long enough to look like a header\n", f);
    fclose(f);
    snprintf(cfg.path, sizeof(cfg.path), "%s", db.path);
    assert_int_equal(mcx_store_open(&cfg, &st, err, sizeof(err)), -EIO);
    assert_null(st);
    tmpdb_final(&db);

    assert_int_equal(mcx_store_open(NULL, &st, NULL, 0), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fresh_store_is_latest),
        cmocka_unit_test(test_upgrade_from_v1),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_file_is_private_and_wal),
        cmocka_unit_test(test_memory_store),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

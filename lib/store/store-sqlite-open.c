/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx_sqlite_open: the common way a daemon opens its SQLite database
 * (settings and versioned migrations); see mcx-sqlite.h.
 */
#include "mcx-sqlite.h"

#include <errno.h>
#include <stdio.h>

static int fail(sqlite3 *db, int rv, char *err, size_t errlen, const char *what,
                const char *path)
{
    snprintf(err, errlen, "%s: %s: %s", path, what, db ? sqlite3_errmsg(db) : "out of memory");
    return rv;
}

static int schema_version(sqlite3 *db, int *v)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return -EIO;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -EIO;
}

static int migrate(sqlite3 *db, const char *path, const char *const *migrations, unsigned n,
                   char *err, size_t errlen)
{
    int v = 0;
    if (schema_version(db, &v) < 0)
        return fail(db, -EIO, err, errlen, "reading the schema version", path);
    if (v < 0 || (unsigned)v > n) {
        snprintf(err, errlen, "%s: schema version %d is newer than this program's %u", path, v,
                 n);
        return -EPROTO;
    }
    for (unsigned i = (unsigned)v; i < n; i++) {
        char pragma[48];
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %u", i + 1);
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            return fail(db, -EIO, err, errlen, "starting a migration", path);
        if (sqlite3_exec(db, migrations[i], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
            fail(db, -EIO, err, errlen, "schema migration", path);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return -EIO;
        }
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            return fail(db, -EIO, err, errlen, "committing a migration", path);
    }
    return 0;
}

int mcx_sqlite_open(const char *path, const char *const *migrations, unsigned n, sqlite3 **out,
                    char *err, size_t errlen)
{
    sqlite3 *db = NULL;
    *out = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        int rv = fail(db, -EIO, err, errlen, "cannot open", path);
        sqlite3_close(db);
        return rv;
    }
    sqlite3_busy_timeout(db, 5000);
    static const char *const settings[] = {
        "PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = ON",
        "PRAGMA trusted_schema = OFF", "PRAGMA secure_delete = ON",
    };
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        if (sqlite3_exec(db, settings[i], NULL, NULL, NULL) != SQLITE_OK) {
            int rv = fail(db, -EIO, err, errlen, settings[i], path);
            sqlite3_close(db);
            return rv;
        }
    }
    int rv = migrate(db, path, migrations, n, err, errlen);
    if (rv < 0) {
        sqlite3_close(db);
        return rv;
    }
    *out = db;
    return 0;
}

const char *const mcx_sqlite_sync_names[] = {"normal", "full", NULL};

int mcx_sqlite_set_sync(sqlite3 *db, bool full, char *err, size_t errlen)
{
    const char *sql = full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL";
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail(db, -EIO, err, errlen, sql, sqlite3_db_filename(db, "main"));
    return 0;
}

void mcx_sqlite_close(sqlite3 *db)
{
    if (db)
        sqlite3_close(db);
}

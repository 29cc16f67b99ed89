/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Opening a daemon's own SQLite database the one way mcxcore does it: WAL,
 * synchronous FULL (an acknowledged change survives a crash), foreign keys,
 * a busy timeout, and a schema kept as an append-only list of migrations
 * counted by PRAGMA user_version.
 */
#ifndef MCX_SQLITE_H
#define MCX_SQLITE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Open (creating if needed) the database at `path` and bring its schema up
 * to `n` steps of `migrations`, each step in its own transaction. A
 * database with more steps than `n` (written by a newer version) is
 * refused. Returns 0, or -errno with a message in err.
 */
int mcx_sqlite_open(const char *path, const char *const *migrations, unsigned n, sqlite3 **out,
                    char *err, size_t errlen);

/*
 * How durable a commit is, for daemons whose store section has
 * `sync: normal | full` (mcx_sqlite_sync_names, in that order):
 * normal - an acknowledged change survives a crash or kill of the process
 *          (WAL); full - it also survives a power cut (one fsync per commit).
 * mcx_sqlite_open leaves a connection at full.
 */
extern const char *const mcx_sqlite_sync_names[];
int mcx_sqlite_set_sync(sqlite3 *db, bool full, char *err, size_t errlen);

/* Close, tolerating NULL. */
void mcx_sqlite_close(sqlite3 *db);

#endif /* MCX_SQLITE_H */

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The SQLite schema as an ordered list of migrations. PRAGMA user_version
 * holds how many steps a database has had; store-sqlite.c runs the missing
 * ones, each in its own transaction together with the new user_version.
 * Append only: never edit a step that has shipped, add the next one.
 */
#include "store-backend.h"

const char *const mcx_store_sqlite_migrations[] = {
    /* v1: subscribers and their public identities. */
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
    ") STRICT;\n",

    /*
     * v2: reading a subscriber's IMPUs, setting the state of all of them and
     * the ON DELETE CASCADE all look IMPUs up by subscriber, which v1 could
     * only do by scanning the table. Unique, because a position (0 = the
     * default IMPU) belongs to one IMPU.
     */
    "CREATE UNIQUE INDEX impu_subscriber_position ON impu (subscriber_id, position);\n",
};

const unsigned mcx_store_sqlite_n_migrations =
    sizeof(mcx_store_sqlite_migrations) / sizeof(mcx_store_sqlite_migrations[0]);

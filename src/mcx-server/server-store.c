/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-server's durable state in its own SQLite database: registrations
 * (from third-party REGISTER) and service authorizations (from PUBLISH or
 * an option (a) REGISTER body). One connection behind a mutex: the SIP
 * loop writes, HTTP workers read. "Authorized" is computed at read time.
 */
#include "server-context.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "store/mcx-sqlite.h"

static const char *const migrations[] = {
    "CREATE TABLE registration ("
    "  impu TEXT PRIMARY KEY,"
    "  expires_at INTEGER NOT NULL,"
    "  since INTEGER NOT NULL);"
    "CREATE TABLE authz ("
    "  impu TEXT PRIMARY KEY,"
    "  mcptt_id TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  token_exp INTEGER NOT NULL,"
    "  etag TEXT UNIQUE,"
    "  pub_exp INTEGER NOT NULL,"
    "  since INTEGER NOT NULL,"
    "  via TEXT NOT NULL);"
    "CREATE INDEX authz_mcptt_id ON authz(mcptt_id);",
};

int server_store_open(server_store_t *st, const char *path, char *err, size_t errlen)
{
    memset(st, 0, sizeof(*st));
    pthread_mutex_init(&st->mu, NULL);
    return mcx_sqlite_open(path, migrations, sizeof(migrations) / sizeof(migrations[0]), &st->db,
                           err, errlen);
}

void server_store_close(server_store_t *st)
{
    mcx_sqlite_close(st->db);
    st->db = NULL;
    pthread_mutex_destroy(&st->mu);
}

/* Run one statement with text/int binds ("t" text, "i" int64). Caller holds mu. */
static int exec_binds(server_store_t *st, const char *sql, const char *types, ...)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        MCX_ERR("store: %s", sqlite3_errmsg(st->db));
        return -EIO;
    }
    va_list ap;
    va_start(ap, types);
    for (int i = 0; types[i]; i++) {
        if (types[i] == 't') {
            const char *v = va_arg(ap, const char *);
            if (v)
                sqlite3_bind_text(s, i + 1, v, -1, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(s, i + 1);
        } else {
            sqlite3_bind_int64(s, i + 1, va_arg(ap, int64_t));
        }
    }
    va_end(ap);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        MCX_ERR("store: %s", sqlite3_errmsg(st->db));
        return -EIO;
    }
    return 0;
}

int server_store_register(server_store_t *st, const char *impu, int64_t expires_at, int64_t now,
                          bool *had_pending)
{
    pthread_mutex_lock(&st->mu);
    int rv = exec_binds(st,
                        "INSERT INTO registration(impu, expires_at, since) VALUES(?1, ?2, ?3) "
                        "ON CONFLICT(impu) DO UPDATE SET expires_at = ?2",
                        "tii", impu, expires_at, now);
    *had_pending = false;
    if (!rv) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM authz WHERE impu = ?1", -1, &s, NULL) ==
            SQLITE_OK) {
            sqlite3_bind_text(s, 1, impu, -1, SQLITE_TRANSIENT);
            *had_pending = sqlite3_step(s) == SQLITE_ROW;
            sqlite3_finalize(s);
        }
    }
    pthread_mutex_unlock(&st->mu);
    return rv;
}

int server_store_deregister(server_store_t *st, const char *impu, bool *had_authz)
{
    pthread_mutex_lock(&st->mu);
    int rv = exec_binds(st, "DELETE FROM registration WHERE impu = ?1", "t", impu);
    if (!rv)
        rv = exec_binds(st, "DELETE FROM authz WHERE impu = ?1", "t", impu);
    *had_authz = !rv && sqlite3_changes(st->db) > 0;
    pthread_mutex_unlock(&st->mu);
    return rv;
}

int server_store_put_authz(server_store_t *st, const server_authz_t *a)
{
    pthread_mutex_lock(&st->mu);
    int rv = exec_binds(st,
                        "INSERT OR REPLACE INTO authz(impu, mcptt_id, client_id, token_exp, etag,"
                        " pub_exp, since, via) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        "tttitiit", a->impu, a->mcptt_id, a->client_id, a->token_exp,
                        a->etag[0] ? a->etag : NULL, a->pub_exp, a->since, a->via);
    pthread_mutex_unlock(&st->mu);
    return rv;
}

static void copy_col(sqlite3_stmt *s, int col, char *out, size_t len)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    mcx_strlcpy(out, t ? (const char *)t : "", len);
}

int server_store_get_by_etag(server_store_t *st, const char *etag, server_authz_t *out)
{
    int rv = -ENOENT;
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT impu, mcptt_id, client_id, token_exp, etag, pub_exp, since, via"
                           " FROM authz WHERE etag = ?1",
                           -1, &s, NULL) != SQLITE_OK) {
        pthread_mutex_unlock(&st->mu);
        return -EIO;
    }
    sqlite3_bind_text(s, 1, etag, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) == SQLITE_ROW) {
        memset(out, 0, sizeof(*out));
        copy_col(s, 0, out->impu, sizeof(out->impu));
        copy_col(s, 1, out->mcptt_id, sizeof(out->mcptt_id));
        copy_col(s, 2, out->client_id, sizeof(out->client_id));
        out->token_exp = sqlite3_column_int64(s, 3);
        copy_col(s, 4, out->etag, sizeof(out->etag));
        out->pub_exp = sqlite3_column_int64(s, 5);
        out->since = sqlite3_column_int64(s, 6);
        copy_col(s, 7, out->via, sizeof(out->via));
        rv = 0;
    }
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->mu);
    return rv;
}

int server_store_refresh(server_store_t *st, const char *old_etag, const char *new_etag,
                         int64_t pub_exp)
{
    pthread_mutex_lock(&st->mu);
    int rv = exec_binds(st, "UPDATE authz SET etag = ?2, pub_exp = ?3 WHERE etag = ?1", "tti",
                        old_etag, new_etag, pub_exp);
    if (!rv && sqlite3_changes(st->db) == 0)
        rv = -ENOENT;
    pthread_mutex_unlock(&st->mu);
    return rv;
}

int server_store_remove_etag(server_store_t *st, const char *etag)
{
    pthread_mutex_lock(&st->mu);
    int rv = exec_binds(st, "DELETE FROM authz WHERE etag = ?1", "t", etag);
    if (!rv && sqlite3_changes(st->db) == 0)
        rv = -ENOENT;
    pthread_mutex_unlock(&st->mu);
    return rv;
}

bool server_store_registered(server_store_t *st, const char *impu, int64_t now)
{
    bool yes = false;
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM registration WHERE impu = ?1 AND expires_at > ?2",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, impu, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 2, now);
        yes = sqlite3_step(s) == SQLITE_ROW;
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->mu);
    return yes;
}

/* Log each row a sweep query is about to delete. Caller holds mu. */
static void log_rows(server_store_t *st, const char *sql, int64_t now, const char *what)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int64(s, 1, now);
    while (sqlite3_step(s) == SQLITE_ROW) {
        const unsigned char *a = sqlite3_column_text(s, 0);
        const unsigned char *b = sqlite3_column_text(s, 1);
        MCX_NOTICE("%s %s%s%s", a ? (const char *)a : "?", what, b ? " " : "",
                   b ? (const char *)b : "");
    }
    sqlite3_finalize(s);
}

void server_store_sweep(server_store_t *st, int64_t now)
{
    pthread_mutex_lock(&st->mu);
    log_rows(st,
             "SELECT r.impu, CASE WHEN a.impu IS NULL THEN NULL ELSE "
             "'(service authorization ended)' END FROM registration r LEFT JOIN authz a "
             "ON a.impu = r.impu WHERE r.expires_at <= ?1",
             now, "registration expired");
    exec_binds(st,
               "DELETE FROM authz WHERE impu IN (SELECT impu FROM registration WHERE "
               "expires_at <= ?1)",
               "i", now);
    exec_binds(st, "DELETE FROM registration WHERE expires_at <= ?1", "i", now);
    log_rows(st,
             "SELECT impu, CASE WHEN token_exp <= ?1 THEN '(access token expired)' ELSE "
             "'(publication expired)' END FROM authz WHERE token_exp <= ?1 OR pub_exp <= ?1",
             now, "service authorization ended");
    exec_binds(st, "DELETE FROM authz WHERE token_exp <= ?1 OR pub_exp <= ?1", "i", now);
    pthread_mutex_unlock(&st->mu);
}

/* Every known IMPU: registered or holding an authorization (or both). */
#define USERS_SQL                                                                                  \
    "SELECT u.impu, a.mcptt_id, a.client_id, a.token_exp, a.pub_exp, a.since, a.via,"              \
    " r.expires_at, r.since FROM (SELECT impu FROM registration UNION SELECT impu FROM authz)"     \
    " u LEFT JOIN authz a ON a.impu = u.impu LEFT JOIN registration r ON r.impu = u.impu"

static json_t *user_json(sqlite3_stmt *s, int64_t now)
{
    json_t *o = json_object();
    const char *impu = (const char *)sqlite3_column_text(s, 0);
    bool have_a = sqlite3_column_type(s, 1) != SQLITE_NULL;
    bool have_r = sqlite3_column_type(s, 7) != SQLITE_NULL;
    int64_t reg_exp = have_r ? sqlite3_column_int64(s, 7) : 0;
    bool registered = have_r && reg_exp > now;
    int64_t tok_exp = have_a ? sqlite3_column_int64(s, 3) : 0;
    int64_t pub_exp = have_a ? sqlite3_column_int64(s, 4) : 0;
    bool valid = have_a && tok_exp > now && pub_exp > now;
    json_object_set_new(o, "impu", json_string(impu ? impu : ""));
    json_object_set_new(
        o, "mcptt_id", have_a ? json_string((const char *)sqlite3_column_text(s, 1)) : json_null());
    json_object_set_new(o, "registered", json_boolean(registered));
    json_object_set_new(o, "registration_expires",
                        registered ? json_integer(reg_exp) : json_null());
    json_object_set_new(o, "authorized", json_boolean(registered && valid));
    json_object_set_new(o, "state",
                        json_string(registered && valid ? "authorized"
                                    : valid             ? "pending"
                                    : registered        ? "registered"
                                                        : "none"));
    if (have_a) {
        json_object_set_new(o, "client_id", json_string((const char *)sqlite3_column_text(s, 2)));
        json_object_set_new(o, "since", json_integer(sqlite3_column_int64(s, 5)));
        json_object_set_new(o, "token_expires", json_integer(tok_exp));
        json_object_set_new(o, "publication_expires", json_integer(pub_exp));
        json_object_set_new(o, "via", json_string((const char *)sqlite3_column_text(s, 6)));
    } else {
        json_object_set_new(o, "since", json_null());
        json_object_set_new(o, "token_expires", json_null());
    }
    return o;
}

char *server_store_users_json(server_store_t *st, const char *who, int64_t now)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s;
    const char *sql = who ? USERS_SQL " WHERE u.impu = ?1 OR a.mcptt_id = ?1 ORDER BY u.impu"
                          : USERS_SQL " ORDER BY u.impu";
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) == SQLITE_OK) {
        if (who)
            sqlite3_bind_text(s, 1, who, -1, SQLITE_TRANSIENT);
        while (sqlite3_step(s) == SQLITE_ROW)
            json_array_append_new(arr, user_json(s, now));
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->mu);
    char *out = NULL;
    if (!who) {
        json_t *top = json_pack("{s:o}", "users", arr);
        out = json_dumps(top, JSON_COMPACT);
        json_decref(top);
    } else {
        if (json_array_size(arr) > 0)
            out = json_dumps(json_array_get(arr, 0), JSON_COMPACT);
        json_decref(arr);
    }
    return out;
}

void server_store_counts(server_store_t *st, int64_t now, unsigned *registered,
                         unsigned *authorized, unsigned *pending)
{
    *registered = *authorized = *pending = 0;
    pthread_mutex_lock(&st->mu);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, USERS_SQL, -1, &s, NULL) == SQLITE_OK) {
        while (sqlite3_step(s) == SQLITE_ROW) {
            bool reg = sqlite3_column_type(s, 7) != SQLITE_NULL && sqlite3_column_int64(s, 7) > now;
            bool valid = sqlite3_column_type(s, 1) != SQLITE_NULL &&
                         sqlite3_column_int64(s, 3) > now && sqlite3_column_int64(s, 4) > now;
            *registered += reg;
            *authorized += reg && valid;
            *pending += !reg && valid;
        }
        sqlite3_finalize(s);
    }
    pthread_mutex_unlock(&st->mu);
}

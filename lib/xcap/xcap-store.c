/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The XCAP document store: one SQLite table, one connection behind the
 * handle's mutex. A PUT or DELETE is one transaction in which the access
 * decision and the If-Match / If-None-Match preconditions are evaluated
 * against the row being replaced, so no other writer can slip in between.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "xcap-internal.h"

bool xcap_etag_list_matches(const char *list, const char *etag)
{
    if (list == NULL)
        return false;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            break;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        size_t n = (size_t)(end - start);
        if (n == 1 && start[0] == '*') {
            if (etag != NULL)
                return true;
            continue;
        }
        /* Our tags are strong; a weak form of the same tag matches on If-None-Match. */
        if (n > 2 && start[0] == 'W' && start[1] == '/') {
            start += 2;
            n -= 2;
        }
        if (etag != NULL && strlen(etag) == n && memcmp(start, etag, n) == 0)
            return true;
    }
    return false;
}

static int new_etag(char *out)
{
    uint8_t rnd[16];
    char hex[33];
    if (mcx_random_bytes(rnd, sizeof(rnd)) < 0)
        return -EIO;
    mcx_hex_encode(rnd, sizeof(rnd), hex);
    snprintf(out, MCX_XCAP_ETAG_MAX, "\"%s\"", hex);
    return 0;
}

static void bind_loc(sqlite3_stmt *st, const mcx_xcap_loc_t *loc)
{
    sqlite3_bind_text(st, 1, loc->auid, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 2, (int)loc->tree);
    sqlite3_bind_text(st, 3, loc->tree == MCX_XCAP_GLOBAL ? "" : loc->xui, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, loc->doc, -1, SQLITE_STATIC);
}

/* The current row, under the lock. 1 found, 0 absent, -EIO. Outputs malloc'd. */
static int load_row(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, char **content, size_t *len,
                    char *etag, char *mime, size_t mime_len, char **creator)
{
    if (!x->st_load &&
        sqlite3_prepare_v3(x->db,
                           "SELECT etag, content, mime, creator FROM xcap_doc"
                           " WHERE auid = ?1 AND tree = ?2 AND xui = ?3 AND doc = ?4",
                           -1, SQLITE_PREPARE_PERSISTENT, &x->st_load, NULL) != SQLITE_OK) {
        MCX_ERR("xcap: store: %s", sqlite3_errmsg(x->db));
        x->st_load = NULL;
        return -EIO;
    }
    sqlite3_stmt *st = x->st_load;
    bind_loc(st, loc);
    int rc = sqlite3_step(st), ret = 1;
    if (rc == SQLITE_DONE) {
        ret = 0;
        goto done;
    }
    if (rc != SQLITE_ROW) {
        MCX_ERR("xcap: store: %s", sqlite3_errmsg(x->db));
        ret = -EIO;
        goto done;
    }
    if (etag)
        mcx_strlcpy(etag, (const char *)sqlite3_column_text(st, 0), MCX_XCAP_ETAG_MAX);
    if (mime)
        mcx_strlcpy(mime, (const char *)sqlite3_column_text(st, 2), mime_len);
    if (content) {
        int n = sqlite3_column_bytes(st, 1);
        const void *b = sqlite3_column_blob(st, 1);
        char *c = malloc((size_t)n + 1);
        if (c == NULL) {
            ret = -EIO;
            goto done;
        }
        if (n > 0)
            memcpy(c, b, (size_t)n);
        c[n] = '\0';
        *content = c;
        if (len)
            *len = (size_t)n;
    }
    if (creator) {
        const char *cr = (const char *)sqlite3_column_text(st, 3);
        *creator = strdup(cr ? cr : "");
    }
done:
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ret;
}

static int exec(mcx_xcap_t *x, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(x->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        MCX_ERR("xcap: store: %s: %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

static void notify(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, const char *etag)
{
    const mcx_xcap_auid_t *au = mcx_xcap_find(x, loc->auid);
    if (au && au->changed)
        au->changed(au->ud, loc, etag);
}

/* Roll the open transaction back and release the store. */
static void abort_tx(mcx_xcap_t *x)
{
    exec(x, "ROLLBACK");
    pthread_mutex_unlock(&x->lock);
}

/*
 * The common start of a write: take the lock, BEGIN IMMEDIATE, read the
 * current row, ask the access hook and evaluate If-Match, all inside the
 * transaction. On 0 the lock is held and the transaction open; *found says
 * whether the document exists and old_etag holds its ETag. Otherwise
 * everything is released and res says why.
 */
static int begin_write(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, const char *if_match,
                       xcap_put_hook_fn hook, void *hook_ud, char *old_etag, int *found,
                       mcx_xcap_result_t *res)
{
    char *old = NULL, *old_creator = NULL;
    size_t old_len = 0;
    pthread_mutex_lock(&x->lock);
    if (exec(x, "BEGIN IMMEDIATE") < 0) {
        pthread_mutex_unlock(&x->lock);
        xcap_result_set(res, 500, MCX_XCAP_ERR_INTERNAL, "store unavailable");
        return -EIO;
    }
    int ret = 0;
    *found = load_row(x, loc, hook ? &old : NULL, &old_len, old_etag, NULL, 0,
                      hook ? &old_creator : NULL);
    if (*found < 0) {
        xcap_result_set(res, 500, MCX_XCAP_ERR_INTERNAL, "store read failed");
        ret = -EIO;
    } else if (hook &&
               hook(hook_ud, *found == 1, old, old_len, old_creator ? old_creator : "") < 0) {
        xcap_result_set(res, 403, MCX_XCAP_ERR_FORBIDDEN, "not allowed");
        ret = -EACCES;
    } else if (if_match && !xcap_etag_list_matches(if_match, *found ? old_etag : NULL)) {
        xcap_result_set(res, 412, MCX_XCAP_ERR_PRECONDITION, "If-Match does not match");
        ret = -EBUSY;
    }
    free(old);
    free(old_creator);
    if (ret)
        abort_tx(x);
    return ret;
}

int xcap_store_put(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, const char *mime,
                   const char *body, size_t len, const char *if_match,
                   const char *if_none_match, const char *creator, xcap_put_hook_fn hook,
                   void *hook_ud, char *etag_out, bool *created, mcx_xcap_result_t *res)
{
    char old_etag[MCX_XCAP_ETAG_MAX] = "", etag[MCX_XCAP_ETAG_MAX];
    if (new_etag(etag) < 0) {
        xcap_result_set(res, 500, MCX_XCAP_ERR_INTERNAL, "no randomness for the ETag");
        return -EIO;
    }
    int found = 0;
    int ret = begin_write(x, loc, if_match, hook, hook_ud, old_etag, &found, res);
    if (ret)
        return ret;
    if (if_none_match && xcap_etag_list_matches(if_none_match, found ? old_etag : NULL)) {
        xcap_result_set(res, 412, MCX_XCAP_ERR_PRECONDITION, "If-None-Match matches");
        abort_tx(x);
        return -EBUSY;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(x->db,
                           "INSERT INTO xcap_doc (auid, tree, xui, doc, etag, content, mime,"
                           " creator, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                           " ON CONFLICT(auid, tree, xui, doc) DO UPDATE SET"
                           " etag = excluded.etag, content = excluded.content,"
                           " mime = excluded.mime, updated = excluded.updated",
                           -1, &st, NULL) != SQLITE_OK) {
        MCX_ERR("xcap: store: %s", sqlite3_errmsg(x->db));
        xcap_result_set(res, 500, MCX_XCAP_ERR_INTERNAL, "store write failed");
        abort_tx(x);
        return -EIO;
    }
    bind_loc(st, loc);
    sqlite3_bind_text(st, 5, etag, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, body, (int)len, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, mime, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, creator ? creator : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)time(NULL));
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE || exec(x, "COMMIT") < 0) {
        if (rc != SQLITE_DONE)
            MCX_ERR("xcap: store: %s", sqlite3_errmsg(x->db));
        xcap_result_set(res, 500, MCX_XCAP_ERR_INTERNAL, "store write failed");
        abort_tx(x);
        return -EIO;
    }
    pthread_mutex_unlock(&x->lock);
    if (etag_out)
        mcx_strlcpy(etag_out, etag, MCX_XCAP_ETAG_MAX);
    if (created)
        *created = (found == 0);
    xcap_result_set(res, found ? 200 : 201, MCX_XCAP_ERR_NONE, "%s", "");
    notify(x, loc, etag);
    return 0;
}

int xcap_store_delete(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, const char *if_match,
                      xcap_put_hook_fn hook, void *hook_ud, mcx_xcap_result_t *res)
{
    char old_etag[MCX_XCAP_ETAG_MAX] = "";
    int found = 0;
    int ret = begin_write(x, loc, if_match, hook, hook_ud, old_etag, &found, res);
    if (ret)
        return ret;
    if (!found) {
        xcap_result_set(res, 404, MCX_XCAP_ERR_NOT_FOUND, "no such document");
        abort_tx(x);
        return -ENOENT;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(x->db,
                           "DELETE FROM xcap_doc"
                           " WHERE auid = ?1 AND tree = ?2 AND xui = ?3 AND doc = ?4",
                           -1, &st, NULL) != SQLITE_OK) {
        xcap_result_set(res, 500, MCX_XCAP_ERR_INTERNAL, "store write failed");
        abort_tx(x);
        return -EIO;
    }
    bind_loc(st, loc);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE || exec(x, "COMMIT") < 0) {
        xcap_result_set(res, 500, MCX_XCAP_ERR_INTERNAL, "store write failed");
        abort_tx(x);
        return -EIO;
    }
    pthread_mutex_unlock(&x->lock);
    xcap_result_set(res, 200, MCX_XCAP_ERR_NONE, "%s", "");
    notify(x, loc, NULL);
    return 0;
}

int xcap_store_get(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, char **body, size_t *len,
                   char *etag_out, char *mime_out, size_t mime_len, char **creator)
{
    pthread_mutex_lock(&x->lock);
    int found = load_row(x, loc, body, len, etag_out, mime_out, mime_len, creator);
    pthread_mutex_unlock(&x->lock);
    if (found < 0)
        return -EIO;
    return found ? 0 : -ENOENT;
}

/* ---- provisioning API ---------------------------------------------------- */

int mcx_xcap_put(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, const char *body, size_t len,
                 const char *if_match, const char *if_none_match, const char *creator,
                 char *etag_out, bool *created, mcx_xcap_result_t *res)
{
    int rc = mcx_xcap_validate(x, loc, body, len, res);
    if (rc < 0)
        return rc;
    const mcx_xcap_auid_t *au = mcx_xcap_find(x, loc->auid);
    return xcap_store_put(x, loc, au->mime, body, len, if_match, if_none_match, creator, NULL,
                          NULL, etag_out, created, res);
}

int mcx_xcap_get(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, char **body, size_t *len,
                 char *etag_out, char *mime_out, size_t mime_len)
{
    return xcap_store_get(x, loc, body, len, etag_out, mime_out, mime_len, NULL);
}

int mcx_xcap_delete(mcx_xcap_t *x, const mcx_xcap_loc_t *loc, const char *if_match,
                    mcx_xcap_result_t *res)
{
    return xcap_store_delete(x, loc, if_match, NULL, NULL, res);
}

int mcx_xcap_list(mcx_xcap_t *x, const char *auid, const char *xui,
                  int (*fn)(void *ud, const mcx_xcap_entry_t *e), void *ud)
{
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&x->lock);
    if (sqlite3_prepare_v2(x->db,
                           "SELECT auid, tree, xui, doc, etag, mime, length(content), updated"
                           " FROM xcap_doc WHERE (?1 IS NULL OR auid = ?1)"
                           " AND (?2 IS NULL OR xui = ?2) ORDER BY auid, tree, xui, doc",
                           -1, &st, NULL) != SQLITE_OK) {
        MCX_ERR("xcap: store: %s", sqlite3_errmsg(x->db));
        pthread_mutex_unlock(&x->lock);
        return -EIO;
    }
    if (auid)
        sqlite3_bind_text(st, 1, auid, -1, SQLITE_STATIC);
    if (xui)
        sqlite3_bind_text(st, 2, xui, -1, SQLITE_STATIC);
    int rc, ret = 0;
    /* Rows are collected first: fn must not run with the lock held. */
    size_t n = 0, cap = 0;
    struct row {
        mcx_xcap_loc_t loc;
        char etag[MCX_XCAP_ETAG_MAX];
        char mime[128];
        size_t size;
        int64_t updated;
    } *rows = NULL;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            struct row *nr = realloc(rows, nc * sizeof(*rows));
            if (nr == NULL) {
                ret = -ENOMEM;
                break;
            }
            rows = nr;
            cap = nc;
        }
        struct row *r = &rows[n];
        if (mcx_xcap_loc_set(&r->loc, (const char *)sqlite3_column_text(st, 0),
                             (mcx_xcap_tree_t)sqlite3_column_int(st, 1),
                             (const char *)sqlite3_column_text(st, 2),
                             (const char *)sqlite3_column_text(st, 3)) < 0)
            continue;
        mcx_strlcpy(r->etag, (const char *)sqlite3_column_text(st, 4), sizeof(r->etag));
        mcx_strlcpy(r->mime, (const char *)sqlite3_column_text(st, 5), sizeof(r->mime));
        r->size = (size_t)sqlite3_column_int64(st, 6);
        r->updated = sqlite3_column_int64(st, 7);
        n++;
    }
    if (ret == 0 && rc != SQLITE_DONE) {
        MCX_ERR("xcap: store: %s", sqlite3_errmsg(x->db));
        ret = -EIO;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&x->lock);
    for (size_t i = 0; ret == 0 && i < n; i++) {
        mcx_xcap_entry_t e = {.loc = &rows[i].loc, .etag = rows[i].etag, .mime = rows[i].mime,
                              .size = rows[i].size, .updated = rows[i].updated};
        if (fn(ud, &e) != 0)
            break;
    }
    free(rows);
    return ret;
}

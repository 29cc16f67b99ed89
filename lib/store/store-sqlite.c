/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The SQLite backend of lib/store: one connection per handle, guarded by a
 * mutex so the handle is thread-safe; WAL journal; prepared statements; the
 * schema migrated at open (store-schema.c). Every read-modify-write runs in
 * BEGIN IMMEDIATE, which takes the file's write lock before reading, so two
 * processes sharing the file never both issue the same SQN.
 */
#include "store-backend.h"

#include "mcx-core.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define DEFAULT_BUSY_TIMEOUT_MS 5000

enum stmt {
    S_BEGIN_WRITE,
    S_BEGIN_READ,
    S_COMMIT,
    S_ROLLBACK,
    S_USER_VERSION,
    S_SUB_ID,
    S_SUB_INSERT,
    S_SUB_UPDATE,
    S_SUB_DELETE,
    S_SUB_GET,
    S_IMPU_OF_SUB,
    S_IMPU_OWNER,
    S_IMPU_INSERT,
    S_IMPU_PARK,
    S_IMPU_PLACE,
    S_IMPU_DROP_PARKED,
    S_LIST_PAGE,
    S_SQN_GET,
    S_SQN_PUT,
    S_REG_ONE,
    S_REG_ALL,
    S_SCSCF_SET,
    S_COUNT
};

/*
 * Parameters of S_SUB_INSERT / S_SUB_UPDATE share numbers (bind_subscriber):
 * ?1 id, ?2 impi, ?3 has_aka, ?4 k, ?5 opc, ?6 amf, ?7 sqn, ?8 has_digest,
 * ?9 realm, ?10 ha1_md5, ?11 ha1_sha256, ?12 default_scheme, ?13 ifc_xml.
 */
static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [S_BEGIN_READ] = "BEGIN DEFERRED",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_USER_VERSION] = "PRAGMA user_version",
    [S_SUB_ID] = "SELECT id FROM subscriber WHERE impi = ?1",
    [S_SUB_INSERT] = "INSERT INTO subscriber (impi, has_aka, k, opc, amf, sqn, has_digest,"
                     " digest_realm, ha1_md5, ha1_sha256, default_scheme, ifc_xml)"
                     " VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    /* max(): an update racing with sqn_reserve must not move SQN back. */
    [S_SUB_UPDATE] = "UPDATE subscriber SET has_aka = ?3, k = ?4, opc = ?5, amf = ?6,"
                     " sqn = max(sqn, ?7), has_digest = ?8, digest_realm = ?9, ha1_md5 = ?10,"
                     " ha1_sha256 = ?11, default_scheme = ?12, ifc_xml = ?13 WHERE id = ?1",
    [S_SUB_DELETE] = "DELETE FROM subscriber WHERE impi = ?1",
    [S_SUB_GET] = "SELECT id, has_aka, k, opc, amf, sqn, has_digest, digest_realm, ha1_md5,"
                  " ha1_sha256, default_scheme, ifc_xml, scscf_name"
                  " FROM subscriber WHERE impi = ?1",
    [S_IMPU_OF_SUB] = "SELECT impu, barred, reg_state FROM impu WHERE subscriber_id = ?1"
                      " ORDER BY position",
    [S_IMPU_OWNER] = "SELECT s.id, s.impi FROM impu AS i JOIN subscriber AS s"
                     " ON s.id = i.subscriber_id WHERE i.impu = ?1",
    [S_IMPU_INSERT] = "INSERT INTO impu (impu, subscriber_id, position, barred)"
                      " VALUES (?1, ?2, ?3, ?4)",
    /* Positions are unique per subscriber (schema v2): park them out of the way first. */
    [S_IMPU_PARK] = "UPDATE impu SET position = -1 - position WHERE subscriber_id = ?1",
    [S_IMPU_PLACE] = "UPDATE impu SET position = ?3, barred = ?4"
                     " WHERE impu = ?1 AND subscriber_id = ?2",
    [S_IMPU_DROP_PARKED] = "DELETE FROM impu WHERE subscriber_id = ?1 AND position < 0",
    [S_LIST_PAGE] = "SELECT impi FROM subscriber WHERE impi > ?1 ORDER BY impi LIMIT ?2",
    [S_SQN_GET] = "SELECT has_aka, sqn FROM subscriber WHERE impi = ?1",
    [S_SQN_PUT] = "UPDATE subscriber SET sqn = ?2 WHERE impi = ?1",
    [S_REG_ONE] = "UPDATE impu SET reg_state = ?3 WHERE subscriber_id = ?1 AND impu = ?2",
    [S_REG_ALL] = "UPDATE impu SET reg_state = ?2 WHERE subscriber_id = ?1",
    [S_SCSCF_SET] = "UPDATE subscriber SET scscf_name = ?2 WHERE id = ?1",
};

typedef struct {
    sqlite3 *db;
    pthread_mutex_t lock;
    sqlite3_stmt *stmt[S_COUNT];
    char path[sizeof(((mcx_store_config_t *)0)->path)];

    /* WAL checkpoints run on their own thread and connection, so the
     * fsync they involve never holds up a request (see checkpointer()). */
    bool ckpt_running;
    bool ckpt_stop;
    pthread_t ckpt_thread;
    pthread_mutex_t ckpt_lock;
    pthread_cond_t ckpt_cond;
    unsigned busy_ms;
} sq_t;

#define CHECKPOINT_INTERVAL_MS 250

/* ------------------------------------------------------------------------ */
/* Statement helpers (all called with s->lock held)                         */
/* ------------------------------------------------------------------------ */

/* Log a backend failure once, with SQLite's reason, and turn it into -EIO. */
static int fail(sq_t *s, const char *what)
{
    MCX_ERR("store %s: %s: %s", s->path, what, sqlite3_errmsg(s->db));
    return -EIO;
}

static int corrupt(sq_t *s, const char *impi, const char *column)
{
    MCX_ERR("store %s: subscriber %s: bad value in column %s", s->path, impi, column);
    return -EIO;
}

static sqlite3_stmt *stmt(sq_t *s, enum stmt i)
{
    sqlite3_stmt *st = s->stmt[i];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/*
 * Step a statement that yields no row we want, then reset it. A uniqueness
 * violation is -EEXIST (BEGIN IMMEDIATE plus our checks make it rare).
 */
static int run(sq_t *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    int rv = 0;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        int ext = sqlite3_extended_errcode(s->db);
        if (ext == SQLITE_CONSTRAINT_UNIQUE || ext == SQLITE_CONSTRAINT_PRIMARYKEY)
            rv = -EEXIST;
        else
            rv = fail(s, what);
    }
    sqlite3_reset(st);
    return rv;
}

static int bind_text(sqlite3_stmt *st, int i, const char *v)
{
    return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
}

/* Copy a TEXT column into dst[cap]; false if it does not fit. */
static bool column_text(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *v = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (!v) {
        dst[0] = '\0';
        return true;
    }
    if (n >= cap)
        return false;
    memcpy(dst, v, n);
    dst[n] = '\0';
    return true;
}

static bool column_blob(sqlite3_stmt *st, int col, uint8_t *dst, size_t len)
{
    const void *v = sqlite3_column_blob(st, col);
    if (!v || (size_t)sqlite3_column_bytes(st, col) != len)
        return false;
    memcpy(dst, v, len);
    return true;
}

static int tx_begin(sq_t *s, bool write)
{
    return run(s, stmt(s, write ? S_BEGIN_WRITE : S_BEGIN_READ), "begin transaction");
}

/* Commit when rv is 0, else roll back; returns rv or the commit's failure. */
static int tx_end(sq_t *s, int rv)
{
    if (rv == 0)
        rv = run(s, stmt(s, S_COMMIT), "commit");
    if (rv != 0 && !sqlite3_get_autocommit(s->db)) {
        sqlite3_stmt *st = stmt(s, S_ROLLBACK);
        if (sqlite3_step(st) != SQLITE_DONE)
            MCX_ERR("store %s: rollback: %s", s->path, sqlite3_errmsg(s->db));
        sqlite3_reset(st);
    }
    return rv;
}

static int sub_id(sq_t *s, const char *impi, sqlite3_int64 *id)
{
    sqlite3_stmt *st = stmt(s, S_SUB_ID);
    bind_text(st, 1, impi);
    int rc = sqlite3_step(st);
    int rv;
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        rv = 0;
    } else if (rc == SQLITE_DONE) {
        rv = -ENOENT;
    } else {
        rv = fail(s, "look up subscriber");
    }
    sqlite3_reset(st);
    return rv;
}

/* Who owns `impu`: 0 with *id and owner[] set, or -ENOENT / -EIO / -ERANGE. */
static int impu_owner(sq_t *s, const char *impu, sqlite3_int64 *id, char *owner, size_t cap)
{
    sqlite3_stmt *st = stmt(s, S_IMPU_OWNER);
    bind_text(st, 1, impu);
    int rc = sqlite3_step(st);
    int rv;
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        rv = column_text(st, 1, owner, cap) ? 0 : -ERANGE;
    } else if (rc == SQLITE_DONE) {
        rv = -ENOENT;
    } else {
        rv = fail(s, "look up IMPU");
    }
    sqlite3_reset(st);
    return rv;
}

static int bind_subscriber(sqlite3_stmt *st, sqlite3_int64 id, const mcx_subscriber_t *sub)
{
    int rc = sqlite3_bind_int64(st, 1, id);
    rc |= bind_text(st, 2, sub->impi);
    rc |= sqlite3_bind_int(st, 3, sub->has_aka);
    if (sub->has_aka) {
        rc |= sqlite3_bind_blob(st, 4, sub->k, sizeof(sub->k), SQLITE_STATIC);
        rc |= sqlite3_bind_blob(st, 5, sub->opc, sizeof(sub->opc), SQLITE_STATIC);
        rc |= sqlite3_bind_blob(st, 6, sub->amf, sizeof(sub->amf), SQLITE_STATIC);
        rc |= sqlite3_bind_int64(st, 7, (sqlite3_int64)sub->sqn);
    } else {
        /* k, opc, amf stay NULL; SQN 0 for a new row, kept by an update. */
        rc |= sqlite3_bind_int64(st, 7, 0);
    }
    rc |= sqlite3_bind_int(st, 8, sub->has_digest);
    rc |= bind_text(st, 9, sub->has_digest ? sub->digest_realm : "");
    rc |= bind_text(st, 10, sub->has_digest ? sub->ha1_md5 : "");
    rc |= bind_text(st, 11, sub->has_digest ? sub->ha1_sha256 : "");
    rc |= sqlite3_bind_int(st, 12, (int)sub->default_scheme);
    rc |= bind_text(st, 13, sub->ifc_xml);
    return rc == SQLITE_OK ? 0 : -EIO;
}

/* Refuse IMPUs another subscriber owns (`self` = our id, or -1 for a new one). */
static int impus_free(sq_t *s, const mcx_subscriber_t *sub, sqlite3_int64 self, char *err,
                      size_t errlen)
{
    for (unsigned i = 0; i < sub->n_impus; i++) {
        sqlite3_int64 owner_id;
        char owner[MCX_STORE_ID_MAX];
        int rv = impu_owner(s, sub->impus[i].impu, &owner_id, owner, sizeof(owner));
        if (rv == -ENOENT)
            continue;
        if (rv == -ERANGE)
            return corrupt(s, sub->impus[i].impu, "impi");
        if (rv)
            return rv;
        if (owner_id != self) {
            mcx_store_errf(err, errlen, "impus[%u]: %s already belongs to %s", i,
                           sub->impus[i].impu, owner);
            return -EEXIST;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Operations                                                               */
/* ------------------------------------------------------------------------ */

static int add_locked(sq_t *s, const mcx_subscriber_t *sub, char *err, size_t errlen)
{
    sqlite3_int64 id;
    int rv = sub_id(s, sub->impi, &id);
    if (rv == 0) {
        mcx_store_errf(err, errlen, "impi: %s already exists", sub->impi);
        return -EEXIST;
    }
    if (rv != -ENOENT)
        return rv;
    rv = impus_free(s, sub, -1, err, errlen);
    if (rv)
        return rv;

    sqlite3_stmt *st = stmt(s, S_SUB_INSERT);
    if (bind_subscriber(st, 0, sub) != 0)
        return fail(s, "bind subscriber");
    rv = run(s, st, "insert subscriber");
    if (rv)
        return rv;
    id = sqlite3_last_insert_rowid(s->db);

    for (unsigned i = 0; i < sub->n_impus && rv == 0; i++) {
        st = stmt(s, S_IMPU_INSERT);
        bind_text(st, 1, sub->impus[i].impu);
        sqlite3_bind_int64(st, 2, id);
        sqlite3_bind_int(st, 3, (int)i);
        sqlite3_bind_int(st, 4, sub->impus[i].barred);
        rv = run(s, st, "insert IMPU");
    }
    return rv;
}

static int sq_subscriber_add(void *be, const mcx_subscriber_t *sub, char *err, size_t errlen)
{
    sq_t *s = be;
    pthread_mutex_lock(&s->lock);
    int rv = tx_begin(s, true);
    if (rv == 0)
        rv = tx_end(s, add_locked(s, sub, err, errlen));
    pthread_mutex_unlock(&s->lock);
    if (rv == -EIO)
        mcx_store_errf(err, errlen, "storage failure (see log)");
    return rv;
}

/*
 * IMPUs that stay keep their row, hence their registration state; their
 * position and barring follow the new record. Dropped ones are deleted.
 */
static int update_locked(sq_t *s, const mcx_subscriber_t *sub, char *err, size_t errlen)
{
    sqlite3_int64 id;
    int rv = sub_id(s, sub->impi, &id);
    if (rv == -ENOENT)
        mcx_store_errf(err, errlen, "impi: no subscriber %s", sub->impi);
    if (rv)
        return rv;
    rv = impus_free(s, sub, id, err, errlen);
    if (rv)
        return rv;

    sqlite3_stmt *st = stmt(s, S_SUB_UPDATE);
    if (bind_subscriber(st, id, sub) != 0)
        return fail(s, "bind subscriber");
    rv = run(s, st, "update subscriber");
    if (rv)
        return rv;

    st = stmt(s, S_IMPU_PARK);
    sqlite3_bind_int64(st, 1, id);
    rv = run(s, st, "renumber IMPUs");
    for (unsigned i = 0; i < sub->n_impus && rv == 0; i++) {
        st = stmt(s, S_IMPU_PLACE);
        bind_text(st, 1, sub->impus[i].impu);
        sqlite3_bind_int64(st, 2, id);
        sqlite3_bind_int(st, 3, (int)i);
        sqlite3_bind_int(st, 4, sub->impus[i].barred);
        rv = run(s, st, "update IMPU");
        if (rv == 0 && sqlite3_changes(s->db) == 0) {
            st = stmt(s, S_IMPU_INSERT);
            bind_text(st, 1, sub->impus[i].impu);
            sqlite3_bind_int64(st, 2, id);
            sqlite3_bind_int(st, 3, (int)i);
            sqlite3_bind_int(st, 4, sub->impus[i].barred);
            rv = run(s, st, "insert IMPU");
        }
    }
    if (rv == 0) {
        st = stmt(s, S_IMPU_DROP_PARKED);
        sqlite3_bind_int64(st, 1, id);
        rv = run(s, st, "delete dropped IMPUs");
    }
    return rv;
}

static int sq_subscriber_update(void *be, const mcx_subscriber_t *sub, char *err, size_t errlen)
{
    sq_t *s = be;
    pthread_mutex_lock(&s->lock);
    int rv = tx_begin(s, true);
    if (rv == 0)
        rv = tx_end(s, update_locked(s, sub, err, errlen));
    pthread_mutex_unlock(&s->lock);
    if (rv == -EIO)
        mcx_store_errf(err, errlen, "storage failure (see log)");
    return rv;
}

static int sq_subscriber_delete(void *be, const char *impi)
{
    sq_t *s = be;
    pthread_mutex_lock(&s->lock);
    /* One statement is one transaction; the IMPUs go by ON DELETE CASCADE. */
    sqlite3_stmt *st = stmt(s, S_SUB_DELETE);
    bind_text(st, 1, impi);
    int rv = run(s, st, "delete subscriber");
    if (rv == 0 && sqlite3_changes(s->db) == 0)
        rv = -ENOENT;
    pthread_mutex_unlock(&s->lock);
    return rv;
}

static int get_locked(sq_t *s, const char *impi, mcx_subscriber_t *out)
{
    sqlite3_stmt *st = stmt(s, S_SUB_GET);
    bind_text(st, 1, impi);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(st);
        return -ENOENT;
    }
    if (rc != SQLITE_ROW) {
        int rv = fail(s, "read subscriber");
        sqlite3_reset(st);
        return rv;
    }

    const char *bad = NULL;
    sqlite3_int64 id = sqlite3_column_int64(st, 0);
    mcx_strlcpy(out->impi, impi, sizeof(out->impi));
    out->has_aka = sqlite3_column_int(st, 1) != 0;
    if (out->has_aka) {
        if (!column_blob(st, 2, out->k, sizeof(out->k)))
            bad = "k";
        else if (!column_blob(st, 3, out->opc, sizeof(out->opc)))
            bad = "opc";
        else if (!column_blob(st, 4, out->amf, sizeof(out->amf)))
            bad = "amf";
    }
    sqlite3_int64 sqn = sqlite3_column_int64(st, 5);
    if (sqn < 0 || (uint64_t)sqn > (UINT64_C(1) << 48) - 1)
        bad = "sqn";
    out->sqn = (uint64_t)sqn;
    out->has_digest = sqlite3_column_int(st, 6) != 0;
    if (!column_text(st, 7, out->digest_realm, sizeof(out->digest_realm)))
        bad = "digest_realm";
    if (!column_text(st, 8, out->ha1_md5, sizeof(out->ha1_md5)))
        bad = "ha1_md5";
    if (!column_text(st, 9, out->ha1_sha256, sizeof(out->ha1_sha256)))
        bad = "ha1_sha256";
    int scheme = sqlite3_column_int(st, 10);
    if (scheme != MCX_SCHEME_AKAV1_MD5 && scheme != MCX_SCHEME_SIP_DIGEST)
        bad = "default_scheme";
    out->default_scheme = (mcx_auth_scheme_t)scheme;
    if (!column_text(st, 11, out->ifc_xml, sizeof(out->ifc_xml)))
        bad = "ifc_xml";
    if (!column_text(st, 12, out->scscf_name, sizeof(out->scscf_name)))
        bad = "scscf_name";
    sqlite3_reset(st);
    if (bad)
        return corrupt(s, impi, bad);

    st = stmt(s, S_IMPU_OF_SUB);
    sqlite3_bind_int64(st, 1, id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (out->n_impus >= MCX_STORE_MAX_IMPU) {
            bad = "impu (too many)";
            break;
        }
        mcx_store_impu_t *u = &out->impus[out->n_impus];
        if (!column_text(st, 0, u->impu, sizeof(u->impu))) {
            bad = "impu";
            break;
        }
        u->barred = sqlite3_column_int(st, 1) != 0;
        int reg = sqlite3_column_int(st, 2);
        if (reg != MCX_REG_NOT_REGISTERED && reg != MCX_REG_REGISTERED &&
            reg != MCX_REG_UNREGISTERED) {
            bad = "reg_state";
            break;
        }
        u->reg_state = (mcx_reg_state_t)reg;
        out->n_impus++;
    }
    int rv = 0;
    if (bad)
        rv = corrupt(s, impi, bad);
    else if (rc != SQLITE_DONE)
        rv = fail(s, "read IMPUs");
    sqlite3_reset(st);
    return rv;
}

static int sq_subscriber_get(void *be, const char *impi, mcx_subscriber_t *out)
{
    sq_t *s = be;
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    /* One read transaction, so the row and its IMPUs come from the same snapshot. */
    int rv = tx_begin(s, false);
    if (rv == 0) {
        rv = get_locked(s, impi, out);
        int end = tx_end(s, 0); /* nothing was written: just release the snapshot */
        if (rv == 0)
            rv = end;
    }
    pthread_mutex_unlock(&s->lock);
    if (rv != 0) {
        /* Do not leave half a record (possibly keys) in the caller's buffer. */
        explicit_bzero(out, sizeof(*out));
    }
    return rv;
}

static int sq_impi_by_impu(void *be, const char *impu, char *impi, size_t impilen)
{
    sq_t *s = be;
    sqlite3_int64 id;
    pthread_mutex_lock(&s->lock);
    int rv = impu_owner(s, impu, &id, impi, impilen);
    pthread_mutex_unlock(&s->lock);
    return rv;
}

static int sq_subscriber_list_page(void *be, const char *after, char (*impis)[MCX_STORE_ID_MAX],
                                   unsigned cap, unsigned *n)
{
    sq_t *s = be;
    *n = 0;
    pthread_mutex_lock(&s->lock);
    sqlite3_stmt *st = stmt(s, S_LIST_PAGE);
    bind_text(st, 1, after);
    sqlite3_bind_int(st, 2, (int)cap);
    int rc, rv = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < cap) {
        if (!column_text(st, 0, impis[*n], MCX_STORE_ID_MAX)) {
            rv = corrupt(s, "(list)", "impi");
            break;
        }
        (*n)++;
    }
    if (rv == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        rv = fail(s, "list subscribers");
    sqlite3_reset(st);
    pthread_mutex_unlock(&s->lock);
    return rv;
}

/* Read has_aka and SQN of `impi` inside the caller's write transaction. */
static int sqn_read(sq_t *s, const char *impi, uint64_t *sqn)
{
    sqlite3_stmt *st = stmt(s, S_SQN_GET);
    bind_text(st, 1, impi);
    int rc = sqlite3_step(st);
    int rv = 0;
    if (rc == SQLITE_DONE) {
        rv = -ENOENT;
    } else if (rc != SQLITE_ROW) {
        rv = fail(s, "read SQN");
    } else if (sqlite3_column_int(st, 0) == 0) {
        rv = -ENODATA;
    } else {
        sqlite3_int64 v = sqlite3_column_int64(st, 1);
        if (v < 0 || (uint64_t)v > (UINT64_C(1) << 48) - 1)
            rv = corrupt(s, impi, "sqn");
        else
            *sqn = (uint64_t)v;
    }
    sqlite3_reset(st);
    return rv;
}

static int sqn_write(sq_t *s, const char *impi, uint64_t sqn)
{
    sqlite3_stmt *st = stmt(s, S_SQN_PUT);
    bind_text(st, 1, impi);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)sqn);
    return run(s, st, "store SQN");
}

static int sq_sqn_reserve(void *be, const char *impi, unsigned count, unsigned ind_bits,
                          unsigned ind, const uint64_t *resync_sqn_ms, uint64_t *sqns)
{
    sq_t *s = be;
    pthread_mutex_lock(&s->lock);
    /* The write lock is taken before the read: no other process can slip in between. */
    int rv = tx_begin(s, true);
    if (rv == 0) {
        uint64_t last = 0;
        rv = sqn_read(s, impi, &last);
        if (rv == 0) {
            /* TS 33.102 §6.3.5: after a resynchronisation the HE continues from SQN_MS. */
            mcx_store_sqn_fill(resync_sqn_ms ? *resync_sqn_ms : last, count, ind_bits, ind, sqns);
            rv = sqn_write(s, impi, sqns[count - 1]);
        }
        rv = tx_end(s, rv);
    }
    pthread_mutex_unlock(&s->lock);
    return rv;
}

static int sq_sqn_set(void *be, const char *impi, uint64_t sqn)
{
    sq_t *s = be;
    pthread_mutex_lock(&s->lock);
    int rv = tx_begin(s, true);
    if (rv == 0) {
        uint64_t old;
        rv = sqn_read(s, impi, &old);
        if (rv == 0)
            rv = sqn_write(s, impi, sqn);
        rv = tx_end(s, rv);
    }
    pthread_mutex_unlock(&s->lock);
    return rv;
}

static int reg_locked(sq_t *s, const char *impi, const char *impu, mcx_reg_state_t state,
                      const char *scscf_name)
{
    sqlite3_int64 id;
    int rv = sub_id(s, impi, &id);
    if (rv)
        return rv;
    sqlite3_stmt *st;
    if (impu) {
        st = stmt(s, S_REG_ONE);
        sqlite3_bind_int64(st, 1, id);
        bind_text(st, 2, impu);
        sqlite3_bind_int(st, 3, (int)state);
        rv = run(s, st, "set registration state");
        if (rv == 0 && sqlite3_changes(s->db) == 0)
            return -ENOENT;
    } else {
        st = stmt(s, S_REG_ALL);
        sqlite3_bind_int64(st, 1, id);
        sqlite3_bind_int(st, 2, (int)state);
        rv = run(s, st, "set registration state");
    }
    if (rv == 0 && scscf_name) {
        st = stmt(s, S_SCSCF_SET);
        sqlite3_bind_int64(st, 1, id);
        bind_text(st, 2, scscf_name);
        rv = run(s, st, "set S-CSCF name");
    }
    return rv;
}

static int sq_reg_set(void *be, const char *impi, const char *impu, mcx_reg_state_t state,
                      const char *scscf_name)
{
    sq_t *s = be;
    pthread_mutex_lock(&s->lock);
    int rv = tx_begin(s, true);
    if (rv == 0)
        rv = tx_end(s, reg_locked(s, impi, impu, state, scscf_name));
    pthread_mutex_unlock(&s->lock);
    return rv;
}

/* ------------------------------------------------------------------------ */
/* Open, migrate, close                                                     */
/* ------------------------------------------------------------------------ */

static int sq_schema_latest(void)
{
    return (int)mcx_store_sqlite_n_migrations;
}

static int user_version(sq_t *s)
{
    sqlite3_stmt *st = stmt(s, S_USER_VERSION);
    int rv =
        sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : fail(s, "read schema version");
    sqlite3_reset(st);
    return rv;
}

static int sq_schema_version(void *be)
{
    sq_t *s = be;
    pthread_mutex_lock(&s->lock);
    int rv = user_version(s);
    pthread_mutex_unlock(&s->lock);
    return rv;
}

static int exec(sq_t *s, const char *sql, char *err, size_t errlen)
{
    char *msg = NULL;
    if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return 0;
    mcx_store_errf(err, errlen, "%s: %s", s->path, msg ? msg : sqlite3_errmsg(s->db));
    sqlite3_free(msg);
    return -EIO;
}

/* Single-row, single-column pragma read as text into out[cap]. */
static int pragma_text(sq_t *s, const char *sql, char *out, size_t cap, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rv = -EIO;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && column_text(st, 0, out, cap))
        rv = 0;
    else
        mcx_store_errf(err, errlen, "%s: %s: %s", s->path, sql, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    return rv;
}

/*
 * Bring the schema to the latest version in one transaction: a crash leaves
 * the old version intact, and BEGIN IMMEDIATE makes a second process opening
 * at the same moment wait and then find nothing left to do.
 */
static int migrate(sq_t *s, char *err, size_t errlen)
{
    int latest = sq_schema_latest();
    char text[32];
    int rv = exec(s, "BEGIN IMMEDIATE", err, errlen);
    if (rv)
        return rv;
    rv = pragma_text(s, "PRAGMA user_version", text, sizeof(text), err, errlen);
    int from = rv == 0 ? atoi(text) : 0;
    if (rv == 0 && (from < 0 || from > latest)) {
        mcx_store_errf(err, errlen, "%s: schema version %d is newer than this build's %d", s->path,
                       from, latest);
        rv = -EIO;
    }
    for (int v = from; rv == 0 && v < latest; v++) {
        char pragma[48];
        rv = exec(s, mcx_store_sqlite_migrations[v], err, errlen);
        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %d", v + 1);
        if (rv == 0)
            rv = exec(s, pragma, err, errlen);
    }
    if (rv == 0)
        rv = exec(s, "COMMIT", err, errlen);
    if (rv != 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return rv;
    }
    if (from == 0)
        MCX_INFO("store %s: created with schema v%d", s->path, latest);
    else if (from != latest)
        MCX_NOTICE("store %s: schema upgraded from v%d to v%d", s->path, from, latest);
    return 0;
}

/*
 * The file holds subscriber keys: create it owner-only before SQLite does
 * (its -wal and -shm files copy the main file's permissions).
 */
static int create_private(const char *path, char *err, size_t errlen)
{
    if (strcmp(path, ":memory:") == 0 || strncmp(path, "file:", 5) == 0)
        return 0;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) {
        close(fd);
        return 0;
    }
    if (errno == EEXIST)
        return 0;
    int e = errno;
    mcx_store_errf(err, errlen, "%s: %s", path, strerror(e));
    return -e;
}

/*
 * Copy the WAL back into the database file every CHECKPOINT_INTERVAL_MS.
 * PASSIVE never waits for readers or writers, so requests are not delayed;
 * SQLite's own automatic checkpoint (which would run inside a request's
 * commit, under s->lock) is switched off on the serving connection.
 */
static void *checkpointer(void *arg)
{
    sq_t *s = arg;
    sqlite3 *db = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    if (sqlite3_open_v2(s->path, &db, flags, NULL) != SQLITE_OK) {
        MCX_ERR("store %s: checkpoint connection: %s", s->path,
                db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    sqlite3_busy_timeout(db, (int)s->busy_ms);
    bool reported = false;
    pthread_mutex_lock(&s->ckpt_lock);
    while (!s->ckpt_stop) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += CHECKPOINT_INTERVAL_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&s->ckpt_cond, &s->ckpt_lock, &until);
        if (s->ckpt_stop)
            break;
        pthread_mutex_unlock(&s->ckpt_lock);
        int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY && !reported) {
            MCX_ERR("store %s: checkpoint: %s", s->path, sqlite3_errmsg(db));
            reported = true; /* once: the next success is silent, so is a repeat */
        } else if (rc == SQLITE_OK) {
            reported = false;
        }
        pthread_mutex_lock(&s->ckpt_lock);
    }
    pthread_mutex_unlock(&s->ckpt_lock);
    /* A last full pass so a clean shutdown leaves a short WAL. */
    sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    sqlite3_close(db);
    return NULL;
}

static int checkpointer_start(sq_t *s, char *err, size_t errlen)
{
    if (strcmp(s->path, ":memory:") == 0)
        return 0;
    int rv = exec(s, "PRAGMA wal_autocheckpoint = 0", err, errlen);
    if (rv)
        return rv;
    rv = pthread_create(&s->ckpt_thread, NULL, checkpointer, s);
    if (rv) {
        mcx_store_errf(err, errlen, "%s: cannot start the checkpoint thread: %s", s->path,
                       strerror(rv));
        return -rv;
    }
    s->ckpt_running = true;
    return 0;
}

static void sq_close(void *be)
{
    sq_t *s = be;
    if (!s)
        return;
    if (s->ckpt_running) {
        pthread_mutex_lock(&s->ckpt_lock);
        s->ckpt_stop = true;
        pthread_cond_signal(&s->ckpt_cond);
        pthread_mutex_unlock(&s->ckpt_lock);
        pthread_join(s->ckpt_thread, NULL);
    }
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    if (s->db && sqlite3_close(s->db) != SQLITE_OK)
        MCX_ERR("store %s: close: %s", s->path, sqlite3_errmsg(s->db));
    pthread_mutex_destroy(&s->lock);
    pthread_mutex_destroy(&s->ckpt_lock);
    pthread_cond_destroy(&s->ckpt_cond);
    free(s);
}

static int configure(sq_t *s, const mcx_store_config_t *cfg, char *err, size_t errlen)
{
    unsigned ms = cfg->busy_timeout_ms ? cfg->busy_timeout_ms : DEFAULT_BUSY_TIMEOUT_MS;
    sqlite3_busy_timeout(s->db, ms > INT_MAX ? INT_MAX : (int)ms);
    sqlite3_extended_result_codes(s->db, 1);

    char mode[16];
    int rv = pragma_text(s, "PRAGMA journal_mode = WAL", mode, sizeof(mode), err, errlen);
    if (rv)
        return rv;
    /* An in-memory database cannot use WAL; it has nothing to make durable either. */
    if (strcmp(mode, "wal") != 0 &&
        !(strcmp(s->path, ":memory:") == 0 && strcmp(mode, "memory") == 0)) {
        mcx_store_errf(err, errlen, "%s: cannot switch to WAL (journal mode is %s)", s->path, mode);
        return -EIO;
    }
    rv = exec(s,
              cfg->sync == MCX_STORE_SYNC_FULL ? "PRAGMA synchronous = FULL"
                                               : "PRAGMA synchronous = NORMAL",
              err, errlen);
    if (rv == 0)
        rv = exec(s, "PRAGMA foreign_keys = ON", err, errlen);
    /* Deleted keys are overwritten, not left in free pages. */
    if (rv == 0)
        rv = exec(s, "PRAGMA secure_delete = ON", err, errlen);
    if (rv == 0)
        rv = exec(s, "PRAGMA trusted_schema = OFF", err, errlen);
    if (rv)
        return rv;

    char fk[8];
    rv = pragma_text(s, "PRAGMA foreign_keys", fk, sizeof(fk), err, errlen);
    if (rv == 0 && strcmp(fk, "1") != 0) {
        mcx_store_errf(err, errlen, "%s: SQLite without foreign key support", s->path);
        rv = -EIO;
    }
    return rv;
}

static int sq_open(const mcx_store_config_t *cfg, void **be, char *err, size_t errlen)
{
    sq_t *s = calloc(1, sizeof(*s));
    if (!s) {
        mcx_store_errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->ckpt_lock, NULL);
    pthread_cond_init(&s->ckpt_cond, NULL);
    mcx_strlcpy(s->path, cfg->path, sizeof(s->path));
    s->busy_ms = cfg->busy_timeout_ms ? cfg->busy_timeout_ms : DEFAULT_BUSY_TIMEOUT_MS;

    int rv = create_private(cfg->path, err, errlen);
    if (rv) {
        sq_close(s);
        return rv;
    }
    /* NOMUTEX: s->lock already serialises every use of the connection. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    if (sqlite3_open_v2(cfg->path, &s->db, flags, NULL) != SQLITE_OK) {
        mcx_store_errf(err, errlen, "%s: %s", cfg->path,
                       s->db ? sqlite3_errmsg(s->db) : "out of memory");
        sq_close(s);
        return -EIO;
    }
    rv = configure(s, cfg, err, errlen);
    if (rv == 0)
        rv = migrate(s, err, errlen);
    for (int i = 0; rv == 0 && i < S_COUNT; i++) {
        if (sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[i],
                               NULL) != SQLITE_OK) {
            mcx_store_errf(err, errlen, "%s: prepare: %s", cfg->path, sqlite3_errmsg(s->db));
            rv = -EIO;
        }
    }
    if (rv == 0)
        rv = checkpointer_start(s, err, errlen);
    if (rv) {
        sq_close(s);
        return rv;
    }
    *be = s;
    return 0;
}

const mcx_store_backend_t mcx_store_sqlite_backend = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .schema_latest = sq_schema_latest,
    .subscriber_add = sq_subscriber_add,
    .subscriber_update = sq_subscriber_update,
    .subscriber_delete = sq_subscriber_delete,
    .subscriber_get = sq_subscriber_get,
    .impi_by_impu = sq_impi_by_impu,
    .subscriber_list_page = sq_subscriber_list_page,
    .sqn_reserve = sq_sqn_reserve,
    .sqn_set = sq_sqn_set,
    .reg_set = sq_reg_set,
};

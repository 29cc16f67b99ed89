/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The IdMS store over SQLite (see idms-store.h): schema migrations shared by
 * mcx-idms and mcxctl, PBKDF2-HMAC-SHA256 password hashes, users, clients,
 * single-use authorization codes and rotating refresh tokens.
 */
#include "idms-store.h"

#include "mcx-core.h"
#include "mcx-sqlite.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Append-only: never edit a step once released, add a new one. */
static const char *const migrations[] = {
    "CREATE TABLE users ("
    "  username TEXT PRIMARY KEY NOT NULL,"
    "  pwhash TEXT NOT NULL,"
    "  mcptt_id TEXT NOT NULL,"
    "  mcdata_id TEXT NOT NULL DEFAULT '',"
    "  mcvideo_id TEXT NOT NULL DEFAULT '',"
    "  enabled INTEGER NOT NULL DEFAULT 1,"
    "  failed_logins INTEGER NOT NULL DEFAULT 0,"
    "  last_failed INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE clients ("
    "  client_id TEXT PRIMARY KEY NOT NULL,"
    "  scope TEXT NOT NULL,"
    "  enabled INTEGER NOT NULL DEFAULT 1);"
    "CREATE TABLE client_redirects ("
    "  client_id TEXT NOT NULL REFERENCES clients(client_id) ON DELETE CASCADE,"
    "  pos INTEGER NOT NULL,"
    "  uri TEXT NOT NULL,"
    "  PRIMARY KEY (client_id, pos));"
    "CREATE TABLE auth_codes ("
    "  hash TEXT PRIMARY KEY NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  redirect_uri TEXT NOT NULL,"
    "  username TEXT NOT NULL,"
    "  scope TEXT NOT NULL,"
    "  code_challenge TEXT NOT NULL,"
    "  nonce TEXT NOT NULL DEFAULT '',"
    "  auth_time INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  used INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE refresh_tokens ("
    "  hash TEXT PRIMARY KEY NOT NULL,"
    "  family TEXT NOT NULL,"
    "  client_id TEXT NOT NULL,"
    "  username TEXT NOT NULL,"
    "  scope TEXT NOT NULL,"
    "  auth_time INTEGER NOT NULL,"
    "  expires INTEGER NOT NULL,"
    "  revoked INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX refresh_tokens_family ON refresh_tokens(family);"
    "CREATE INDEX refresh_tokens_user ON refresh_tokens(username);",
    /* 2: the periodic expiry sweep finds old rows by index, not by a scan. */
    "CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires);"
    "CREATE INDEX auth_codes_expires ON auth_codes(expires);",
};

int idms_store_open(const char *path, sqlite3 **db, char *err, size_t errlen)
{
    return mcx_sqlite_open(path, migrations, sizeof(migrations) / sizeof(migrations[0]), db, err,
                           errlen);
}

void idms_store_close(sqlite3 *db)
{
    if (!db)
        return;
    /* The persistent statements prep() kept; sqlite3_close refuses while any is left. */
    sqlite3_stmt *st;
    while ((st = sqlite3_next_stmt(db, NULL)) != NULL)
        sqlite3_finalize(st);
    mcx_sqlite_close(db);
}

/* ------------------------------------------------------------------------ */
/* Passwords                                                                */
/* ------------------------------------------------------------------------ */

#define SALT_LEN 16
#define DK_LEN 32

static int b64_decode(const char *in, uint8_t *out, size_t want)
{
    size_t n = strlen(in);
    if (n != 4 * ((want + 2) / 3) || n > 64)
        return -EINVAL;
    uint8_t tmp[64];
    int m = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)n);
    if (m < 0 || (size_t)m < want)
        return -EINVAL;
    memcpy(out, tmp, want);
    return 0;
}

static int pbkdf2(const char *pw, const uint8_t *salt, unsigned iter, uint8_t dk[DK_LEN])
{
    return PKCS5_PBKDF2_HMAC(pw, (int)strlen(pw), salt, SALT_LEN, (int)iter, EVP_sha256(), DK_LEN,
                             dk) == 1
               ? 0
               : -EIO;
}

int idms_password_hash(const char *password, char *out, size_t outlen)
{
    uint8_t salt[SALT_LEN], dk[DK_LEN];
    char salt_b64[32], dk_b64[48];
    if (mcx_random_bytes(salt, sizeof(salt)) != 0)
        return -EIO;
    if (pbkdf2(password, salt, IDMS_PBKDF2_ITER, dk) != 0)
        return -EIO;
    EVP_EncodeBlock((unsigned char *)salt_b64, salt, sizeof(salt));
    EVP_EncodeBlock((unsigned char *)dk_b64, dk, sizeof(dk));
    OPENSSL_cleanse(dk, sizeof(dk));
    int n = snprintf(out, outlen, "pbkdf2-sha256$%u$%s$%s", IDMS_PBKDF2_ITER, salt_b64, dk_b64);
    return n > 0 && (size_t)n < outlen ? 0 : -ENAMETOOLONG;
}

bool idms_password_verify(const char *password, const char *stored)
{
    static const uint8_t dummy_salt[SALT_LEN] = {0};
    uint8_t salt[SALT_LEN], want[DK_LEN], got[DK_LEN];
    unsigned iter = IDMS_PBKDF2_ITER;
    bool ok = false;
    char buf[IDMS_HASH_MAX];

    if (stored && mcx_strlcpy(buf, stored, sizeof(buf)) == 0 &&
        strncmp(buf, "pbkdf2-sha256$", 14) == 0) {
        char *p = buf + 14;
        char *salt_s = strchr(p, '$');
        char *dk_s = salt_s ? strchr(salt_s + 1, '$') : NULL;
        if (dk_s) {
            *salt_s++ = '\0';
            *dk_s++ = '\0';
            char *end = NULL;
            unsigned long it = strtoul(p, &end, 10);
            if (end && *end == '\0' && it >= 1000 && it <= 10000000 &&
                b64_decode(salt_s, salt, SALT_LEN) == 0 && b64_decode(dk_s, want, DK_LEN) == 0) {
                iter = (unsigned)it;
                ok = true;
            }
        }
    }
    /* Always one PBKDF2 run: an unknown user costs as much as a wrong password. */
    if (pbkdf2(password, ok ? salt : dummy_salt, iter, got) != 0)
        ok = false;
    bool match = ok && CRYPTO_memcmp(got, want, DK_LEN) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    OPENSSL_cleanse(want, sizeof(want));
    return match;
}

/* ------------------------------------------------------------------------ */
/* Validation                                                               */
/* ------------------------------------------------------------------------ */

static bool printable_no_space(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    }
    return true;
}

static int check_name(const char *what, const char *s, const char *extra, char *err, size_t errlen)
{
    size_t n = strlen(s);
    if (n == 0 || n >= IDMS_NAME_MAX) {
        snprintf(err, errlen, "%s: must be 1..%d characters", what, IDMS_NAME_MAX - 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool good = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || strchr(extra, ch);
        if (!good || ch == '\0') {
            snprintf(err, errlen, "%s: character %zu is not allowed (letters, digits, %s)", what,
                     i + 1, extra);
            return -EINVAL;
        }
    }
    return 0;
}

/* An MC service ID is a SIP URI (TS 23.280 §8.1.2). */
static int check_sip_uri(const char *what, const char *s, bool required, char *err, size_t errlen)
{
    if (s[0] == '\0') {
        if (!required)
            return 0;
        snprintf(err, errlen, "%s: required", what);
        return -EINVAL;
    }
    const char *rest = NULL;
    if (strncmp(s, "sip:", 4) == 0)
        rest = s + 4;
    else if (strncmp(s, "sips:", 5) == 0)
        rest = s + 5;
    const char *at = rest ? strchr(rest, '@') : NULL;
    if (!rest || !at || at == rest || at[1] == '\0' || !printable_no_space(s) ||
        strlen(s) >= IDMS_URI_MAX || strpbrk(s, "<>\"")) {
        snprintf(err, errlen, "%s: '%s' is not a SIP URI like sip:user@domain", what, s);
        return -EINVAL;
    }
    return 0;
}

int idms_user_validate(const idms_user_t *u, char *err, size_t errlen)
{
    int rv = check_name("username", u->username, "._-@+", err, errlen);
    if (!rv && strncmp(u->pwhash, "pbkdf2-sha256$", 14) != 0) {
        snprintf(err, errlen, "password: not set");
        rv = -EINVAL;
    }
    if (!rv)
        rv = check_sip_uri("mcptt_id", u->mcptt_id, true, err, errlen);
    if (!rv)
        rv = check_sip_uri("mcdata_id", u->mcdata_id, false, err, errlen);
    if (!rv)
        rv = check_sip_uri("mcvideo_id", u->mcvideo_id, false, err, errlen);
    return rv;
}

/* RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), one space between. */
static int check_scope(const char *s, char *err, size_t errlen)
{
    size_t n = strlen(s);
    if (n == 0 || n >= IDMS_SCOPE_MAX) {
        snprintf(err, errlen, "scope: must be 1..%d characters", IDMS_SCOPE_MAX - 1);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool sep = ch == ' ' && i > 0 && i + 1 < n && s[i + 1] != ' ';
        if (!sep && (ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\')) {
            snprintf(err, errlen, "scope: character %zu is not allowed", i + 1);
            return -EINVAL;
        }
    }
    /* Without openid no OIDC login can succeed. */
    const char *p = s;
    bool openid = false;
    while (*p) {
        size_t len = strcspn(p, " ");
        if (len == 6 && strncmp(p, "openid", 6) == 0)
            openid = true;
        p += len;
        p += strspn(p, " ");
    }
    if (!openid) {
        snprintf(err, errlen, "scope: must include openid");
        return -EINVAL;
    }
    return 0;
}

int idms_client_validate(const idms_client_t *c, char *err, size_t errlen)
{
    int rv = check_name("client_id", c->client_id, "._-:", err, errlen);
    if (rv)
        return rv;
    if (c->n_redirect == 0 || c->n_redirect > IDMS_MAX_REDIRECT) {
        snprintf(err, errlen, "redirect_uri: 1..%d required", IDMS_MAX_REDIRECT);
        return -EINVAL;
    }
    for (unsigned i = 0; i < c->n_redirect; i++) {
        const char *u = c->redirect_uris[i];
        const char *colon = strchr(u, ':');
        bool scheme_ok = colon && colon > u;
        for (const char *q = u; scheme_ok && q < colon; q++) {
            unsigned char ch = (unsigned char)*q;
            scheme_ok =
                (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                (q > u && ((ch >= '0' && ch <= '9') || ch == '+' || ch == '-' || ch == '.'));
        }
        /* RFC 6749 §3.1.2: absolute URI without a fragment. */
        if (!scheme_ok || !printable_no_space(u) || strchr(u, '#') || strlen(u) >= IDMS_URI_MAX ||
            strpbrk(u, "<>\"")) {
            snprintf(err, errlen,
                     "redirect_uri[%u]: '%s' is not an absolute URI without a "
                     "fragment",
                     i, u);
            return -EINVAL;
        }
        for (unsigned j = 0; j < i; j++) {
            if (strcmp(c->redirect_uris[j], u) == 0) {
                snprintf(err, errlen, "redirect_uri[%u]: '%s' given twice", i, u);
                return -EINVAL;
            }
        }
    }
    return check_scope(c->scope, err, errlen);
}

bool idms_client_has_redirect(const idms_client_t *c, const char *uri)
{
    for (unsigned i = 0; i < c->n_redirect; i++) {
        if (strcmp(c->redirect_uris[i], uri) == 0)
            return true;
    }
    return false;
}

/* ------------------------------------------------------------------------ */
/* SQL helpers                                                              */
/* ------------------------------------------------------------------------ */

/*
 * Statements are prepared once per connection (SQLITE_PREPARE_PERSISTENT)
 * and kept by SQLite itself: prep finds an idle statement with the same
 * text among the connection's own, else prepares one. Callers serialize a
 * connection, so a statement is never shared by two threads at once;
 * release() resets it for the next user; idms_store_close finalizes all.
 */
static int prep(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    for (sqlite3_stmt *p = sqlite3_next_stmt(db, NULL); p; p = sqlite3_next_stmt(db, p)) {
        const char *text = sqlite3_sql(p);
        if (text && !sqlite3_stmt_busy(p) && strcmp(text, sql) == 0) {
            *st = p;
            return 0;
        }
    }
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK) {
        MCX_ERR("idms store: %s", sqlite3_errmsg(db));
        *st = NULL;
        return -EIO;
    }
    return 0;
}

static void release(sqlite3_stmt *st)
{
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
}

static void col_text(sqlite3_stmt *st, int i, char *out, size_t len)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    mcx_strlcpy(out, t ? (const char *)t : "", len);
}

/* One statement without parameters or rows (BEGIN, COMMIT, ROLLBACK). */
static int exec(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (prep(db, sql, &st))
        return -EIO;
    int rc = sqlite3_step(st);
    release(st);
    if (rc != SQLITE_DONE) {
        MCX_ERR("idms store: %s: %s", sql, sqlite3_errmsg(db));
        return -EIO;
    }
    return 0;
}

static int begin(sqlite3 *db)
{
    return exec(db, "BEGIN IMMEDIATE");
}

static int end(sqlite3 *db, int rv)
{
    if (rv == 0 && exec(db, "COMMIT") == 0)
        return 0;
    if (!sqlite3_get_autocommit(db))
        exec(db, "ROLLBACK");
    return rv ? rv : -EIO;
}

int idms_store_begin(sqlite3 *db)
{
    return begin(db);
}

int idms_store_end(sqlite3 *db, bool commit)
{
    return end(db, commit ? 0 : -ECANCELED) == 0 ? 0 : commit ? -EIO : 0;
}

int idms_store_savepoint(sqlite3 *db)
{
    return exec(db, "SAVEPOINT idms_job");
}

int idms_store_savepoint_end(sqlite3 *db, bool keep)
{
    if (!keep && exec(db, "ROLLBACK TO idms_job") != 0)
        return -EIO;
    return exec(db, "RELEASE idms_job");
}

/* Run a statement with text/int binds given as a format: 't' text, 'i' int64. */
static int run(sqlite3 *db, const char *sql, const char *fmt, ...)
{
    sqlite3_stmt *st = NULL;
    if (prep(db, sql, &st))
        return -EIO;
    va_list ap;
    va_start(ap, fmt);
    for (int i = 0; fmt[i]; i++) {
        if (fmt[i] == 't')
            sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
    }
    va_end(ap);
    int rc = sqlite3_step(st);
    release(st);
    if (rc == SQLITE_CONSTRAINT)
        return -EEXIST;
    if (rc != SQLITE_DONE) {
        MCX_ERR("idms store: %s", sqlite3_errmsg(db));
        return -EIO;
    }
    return sqlite3_changes(db) > 0 ? 0 : -ENOENT;
}

/* ------------------------------------------------------------------------ */
/* Users                                                                    */
/* ------------------------------------------------------------------------ */

#define USER_COLS "username, pwhash, mcptt_id, mcdata_id, mcvideo_id, enabled"

static void user_row(sqlite3_stmt *st, idms_user_t *u)
{
    memset(u, 0, sizeof(*u));
    col_text(st, 0, u->username, sizeof(u->username));
    col_text(st, 1, u->pwhash, sizeof(u->pwhash));
    col_text(st, 2, u->mcptt_id, sizeof(u->mcptt_id));
    col_text(st, 3, u->mcdata_id, sizeof(u->mcdata_id));
    col_text(st, 4, u->mcvideo_id, sizeof(u->mcvideo_id));
    u->enabled = sqlite3_column_int(st, 5) != 0;
}

int idms_user_get(sqlite3 *db, const char *username, idms_user_t *out)
{
    sqlite3_stmt *st = NULL;
    if (prep(db, "SELECT " USER_COLS " FROM users WHERE username = ?", &st))
        return -EIO;
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int rv = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
    if (rv == 0)
        user_row(st, out);
    release(st);
    return rv;
}

int idms_user_add(sqlite3 *db, const idms_user_t *u)
{
    int rv =
        run(db, "INSERT INTO users (" USER_COLS ") VALUES (?, ?, ?, ?, ?, ?)", "tttttI",
            u->username, u->pwhash, u->mcptt_id, u->mcdata_id, u->mcvideo_id, (int64_t)u->enabled);
    return rv == -ENOENT ? -EIO : rv;
}

int idms_user_update(sqlite3 *db, const idms_user_t *u)
{
    return run(db,
               "UPDATE users SET pwhash = ?, mcptt_id = ?, mcdata_id = ?, mcvideo_id = ?, "
               "enabled = ? WHERE username = ?",
               "ttttIt", u->pwhash, u->mcptt_id, u->mcdata_id, u->mcvideo_id, (int64_t)u->enabled,
               u->username);
}

int idms_user_delete(sqlite3 *db, const char *username)
{
    int rv = begin(db);
    if (rv)
        return rv;
    rv = run(db, "DELETE FROM users WHERE username = ?", "t", username);
    if (rv == 0) {
        int e = run(db, "DELETE FROM refresh_tokens WHERE username = ?", "t", username);
        if (e != 0 && e != -ENOENT)
            rv = e;
    }
    return end(db, rv);
}

int idms_user_list(sqlite3 *db, int (*fn)(void *ud, const idms_user_t *u), void *ud)
{
    sqlite3_stmt *st = NULL;
    if (prep(db, "SELECT " USER_COLS " FROM users ORDER BY username", &st))
        return -EIO;
    int rv = 0, rc;
    idms_user_t u;
    while (rv == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        user_row(st, &u);
        rv = fn(ud, &u);
    }
    if (rv == 0 && rc != SQLITE_DONE)
        rv = -EIO;
    explicit_bzero(&u, sizeof(u));
    release(st);
    return rv;
}

/* ------------------------------------------------------------------------ */
/* Clients                                                                  */
/* ------------------------------------------------------------------------ */

static int client_redirects(sqlite3 *db, idms_client_t *c)
{
    sqlite3_stmt *st = NULL;
    if (prep(db, "SELECT uri FROM client_redirects WHERE client_id = ? ORDER BY pos", &st))
        return -EIO;
    sqlite3_bind_text(st, 1, c->client_id, -1, SQLITE_STATIC);
    int rc;
    c->n_redirect = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && c->n_redirect < IDMS_MAX_REDIRECT) {
        col_text(st, 0, c->redirect_uris[c->n_redirect], IDMS_URI_MAX);
        c->n_redirect++;
    }
    release(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

int idms_client_get(sqlite3 *db, const char *client_id, idms_client_t *out)
{
    sqlite3_stmt *st = NULL;
    if (prep(db, "SELECT client_id, scope, enabled FROM clients WHERE client_id = ?", &st))
        return -EIO;
    sqlite3_bind_text(st, 1, client_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int rv = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
    if (rv == 0) {
        memset(out, 0, sizeof(*out));
        col_text(st, 0, out->client_id, sizeof(out->client_id));
        col_text(st, 1, out->scope, sizeof(out->scope));
        out->enabled = sqlite3_column_int(st, 2) != 0;
    }
    release(st);
    if (rv == 0)
        rv = client_redirects(db, out);
    return rv;
}

int idms_client_add(sqlite3 *db, const idms_client_t *c)
{
    int rv = begin(db);
    if (rv)
        return rv;
    rv = run(db, "INSERT INTO clients (client_id, scope, enabled) VALUES (?, ?, ?)", "ttI",
             c->client_id, c->scope, (int64_t)c->enabled);
    for (unsigned i = 0; rv == 0 && i < c->n_redirect; i++)
        rv = run(db, "INSERT INTO client_redirects (client_id, pos, uri) VALUES (?, ?, ?)", "tIt",
                 c->client_id, (int64_t)i, c->redirect_uris[i]);
    if (rv == -ENOENT)
        rv = -EIO;
    return end(db, rv);
}

int idms_client_delete(sqlite3 *db, const char *client_id)
{
    int rv = begin(db);
    if (rv)
        return rv;
    rv = run(db, "DELETE FROM clients WHERE client_id = ?", "t", client_id);
    if (rv == 0) {
        int e = run(db, "DELETE FROM refresh_tokens WHERE client_id = ?", "t", client_id);
        if (e != 0 && e != -ENOENT)
            rv = e;
    }
    return end(db, rv);
}

int idms_client_list(sqlite3 *db, int (*fn)(void *ud, const idms_client_t *c), void *ud)
{
    sqlite3_stmt *st = NULL;
    if (prep(db, "SELECT client_id FROM clients ORDER BY client_id", &st))
        return -EIO;
    int rv = 0, rc;
    idms_client_t *c = malloc(sizeof(*c));
    if (!c) {
        release(st);
        return -ENOMEM;
    }
    while (rv == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        char id[IDMS_NAME_MAX];
        col_text(st, 0, id, sizeof(id));
        rv = idms_client_get(db, id, c);
        if (rv == 0)
            rv = fn(ud, c);
    }
    if (rv == 0 && rc != SQLITE_DONE)
        rv = -EIO;
    free(c);
    release(st);
    return rv;
}

/* ------------------------------------------------------------------------ */
/* Codes and refresh tokens                                                 */
/* ------------------------------------------------------------------------ */

void idms_secret_hash(const char *secret, char out[65])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)secret, strlen(secret), md);
    mcx_hex_encode(md, sizeof(md), out);
}

int idms_code_put(sqlite3 *db, const idms_code_t *c)
{
    int rv = run(db,
                 "INSERT INTO auth_codes (hash, client_id, redirect_uri, username, scope, "
                 "code_challenge, nonce, auth_time, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 "tttttttII", c->hash, c->client_id, c->redirect_uri, c->username, c->scope,
                 c->code_challenge, c->nonce, c->auth_time, c->expires);
    return rv == -ENOENT ? -EIO : rv;
}

static int revoke_family(sqlite3 *db, const char *family)
{
    int rv = run(db, "UPDATE refresh_tokens SET revoked = 1 WHERE family = ? AND revoked = 0", "t",
                 family);
    return rv == -ENOENT ? 0 : rv;
}

int idms_code_redeem_tx(sqlite3 *db, const char *hash, idms_code_t *out)
{
    int rv = 0;
    sqlite3_stmt *st = NULL;
    if (rv == 0)
        rv = prep(db,
                  "SELECT hash, client_id, redirect_uri, username, scope, code_challenge, "
                  "nonce, auth_time, expires, used FROM auth_codes WHERE hash = ?",
                  &st);
    if (rv == 0) {
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            memset(out, 0, sizeof(*out));
            col_text(st, 0, out->hash, sizeof(out->hash));
            col_text(st, 1, out->client_id, sizeof(out->client_id));
            col_text(st, 2, out->redirect_uri, sizeof(out->redirect_uri));
            col_text(st, 3, out->username, sizeof(out->username));
            col_text(st, 4, out->scope, sizeof(out->scope));
            col_text(st, 5, out->code_challenge, sizeof(out->code_challenge));
            col_text(st, 6, out->nonce, sizeof(out->nonce));
            out->auth_time = sqlite3_column_int64(st, 7);
            out->expires = sqlite3_column_int64(st, 8);
            rv = sqlite3_column_int(st, 9) ? -EALREADY : 0;
        } else {
            rv = rc == SQLITE_DONE ? -ENOENT : -EIO;
        }
        release(st);
    }
    if (rv == 0)
        rv = run(db, "UPDATE auth_codes SET used = 1 WHERE hash = ?", "t", hash);
    if (rv == -EALREADY) {
        /* The revocation is to be committed; the replay is still reported. */
        int e = revoke_family(db, hash);
        return e == 0 ? -EALREADY : -EIO;
    }
    return rv;
}

int idms_code_redeem(sqlite3 *db, const char *hash, int64_t now, idms_code_t *out)
{
    (void)now;
    int rv = begin(db);
    if (rv)
        return rv;
    rv = idms_code_redeem_tx(db, hash, out);
    int e = end(db, rv == -EALREADY || rv == -ENOENT ? 0 : rv);
    return e ? e : rv;
}

int idms_refresh_put(sqlite3 *db, const idms_refresh_t *r)
{
    int rv = run(db,
                 "INSERT INTO refresh_tokens (hash, family, client_id, username, scope, "
                 "auth_time, expires) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 "tttttII", r->hash, r->family, r->client_id, r->username, r->scope, r->auth_time,
                 r->expires);
    return rv == -ENOENT ? -EIO : rv;
}

int idms_refresh_take_tx(sqlite3 *db, const char *hash, int64_t now, idms_refresh_t *out)
{
    int rv = 0;
    sqlite3_stmt *st = NULL;
    bool revoked = false;
    if (rv == 0)
        rv = prep(db,
                  "SELECT hash, family, client_id, username, scope, auth_time, expires, revoked "
                  "FROM refresh_tokens WHERE hash = ?",
                  &st);
    if (rv == 0) {
        sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            memset(out, 0, sizeof(*out));
            col_text(st, 0, out->hash, sizeof(out->hash));
            col_text(st, 1, out->family, sizeof(out->family));
            col_text(st, 2, out->client_id, sizeof(out->client_id));
            col_text(st, 3, out->username, sizeof(out->username));
            col_text(st, 4, out->scope, sizeof(out->scope));
            out->auth_time = sqlite3_column_int64(st, 5);
            out->expires = sqlite3_column_int64(st, 6);
            revoked = sqlite3_column_int(st, 7) != 0;
        } else {
            rv = rc == SQLITE_DONE ? -ENOENT : -EIO;
        }
        release(st);
    }
    if (rv == 0 && revoked) {
        /* A rotated token presented again: someone else holds a copy (RFC 9700 §4.14). */
        int e = revoke_family(db, out->family);
        return e == 0 ? -EALREADY : -EIO;
    }
    if (rv == 0 && out->expires <= now)
        return -ETIME;
    if (rv == 0)
        rv = run(db, "UPDATE refresh_tokens SET revoked = 1 WHERE hash = ?", "t", hash);
    return rv;
}

int idms_refresh_take(sqlite3 *db, const char *hash, int64_t now, idms_refresh_t *out)
{
    int rv = begin(db);
    if (rv)
        return rv;
    rv = idms_refresh_take_tx(db, hash, now, out);
    bool keep = rv == 0 || rv == -EALREADY || rv == -ETIME || rv == -ENOENT;
    int e = end(db, keep ? 0 : rv);
    return e ? e : rv;
}

int idms_store_purge(sqlite3 *db, int64_t now)
{
    /* Kept a day after expiry, so that a late replay still finds and revokes its family. */
    int64_t before = now - IDMS_PURGE_GRACE;
    int a = run(db, "DELETE FROM auth_codes WHERE expires < ?", "I", before);
    int na = a == 0 ? sqlite3_changes(db) : 0;
    int b = run(db, "DELETE FROM refresh_tokens WHERE expires < ?", "I", before);
    int nb = b == 0 ? sqlite3_changes(db) : 0;
    if ((a && a != -ENOENT) || (b && b != -ENOENT))
        return -EIO;
    return na + nb;
}

int idms_refresh_count_live(sqlite3 *db, const char *family)
{
    sqlite3_stmt *st = NULL;
    if (prep(db, "SELECT count(*) FROM refresh_tokens WHERE family = ? AND revoked = 0", &st))
        return -EIO;
    sqlite3_bind_text(st, 1, family, -1, SQLITE_STATIC);
    int rv = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -EIO;
    release(st);
    return rv;
}

/* ------------------------------------------------------------------------ */
/* Failed logins                                                            */
/* ------------------------------------------------------------------------ */

int idms_login_note(sqlite3 *db, const char *username, bool ok, int64_t now)
{
    int rv;
    if (ok)
        rv = run(db, "UPDATE users SET failed_logins = 0 WHERE username = ? AND failed_logins != 0",
                 "t", username);
    else
        rv = run(db,
                 "UPDATE users SET failed_logins = failed_logins + 1, last_failed = ? "
                 "WHERE username = ?",
                 "It", now, username);
    if (rv == -ENOENT)
        rv = 0;
    if (rv)
        return rv;
    unsigned n = 0;
    int64_t last = 0;
    rv = idms_login_failures(db, username, &n, &last);
    return rv == 0 ? (int)n : rv == -ENOENT ? 0 : rv;
}

int idms_login_failures(sqlite3 *db, const char *username, unsigned *count, int64_t *last)
{
    sqlite3_stmt *st = NULL;
    if (prep(db, "SELECT failed_logins, last_failed FROM users WHERE username = ?", &st))
        return -EIO;
    sqlite3_bind_text(st, 1, username, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int rv = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
    if (rv == 0) {
        *count = (unsigned)sqlite3_column_int(st, 0);
        *last = sqlite3_column_int64(st, 1);
    }
    release(st);
    return rv;
}

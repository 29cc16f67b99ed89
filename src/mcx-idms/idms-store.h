/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The IdMS store: users (PBKDF2 password hashes, MC service IDs), OIDC
 * clients, authorization codes and refresh tokens, in the daemon's own
 * SQLite database. Compiled into mcx-idms and into mcxctl (user/client
 * nouns), so both share one schema. Codes and refresh tokens are stored
 * only as SHA-256 hashes. Not thread-safe: callers serialize access.
 */
#ifndef IDMS_STORE_H
#define IDMS_STORE_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDMS_NAME_MAX 128   /* username, client_id */
#define IDMS_URI_MAX 512    /* MC service IDs, redirect URIs */
#define IDMS_SCOPE_MAX 512  /* space-separated scopes */
#define IDMS_HASH_MAX 160   /* "pbkdf2-sha256$iter$salt$hash" */
#define IDMS_MAX_REDIRECT 8 /* redirect URIs per client */
#define IDMS_NONCE_MAX 256
#define IDMS_PBKDF2_ITER 120000

/* Open (create) the database at path with the IdMS schema. */
int idms_store_open(const char *path, sqlite3 **db, char *err, size_t errlen);
void idms_store_close(sqlite3 *db);

/*
 * BEGIN IMMEDIATE, and COMMIT (commit true; 0 or -EIO) or ROLLBACK, for
 * callers that group several store calls into one transaction.
 */
int idms_store_begin(sqlite3 *db);
int idms_store_end(sqlite3 *db, bool commit);
/* A savepoint inside the transaction, released (keep) or rolled back to. */
int idms_store_savepoint(sqlite3 *db);
int idms_store_savepoint_end(sqlite3 *db, bool keep);

/* ---- passwords ------------------------------------------------------- */

/*
 * "pbkdf2-sha256$<iter>$<salt b64>$<hash b64>" of `password` with a fresh
 * random 16-byte salt into out (>= IDMS_HASH_MAX). Returns 0 or -errno.
 */
int idms_password_hash(const char *password, char *out, size_t outlen);

/*
 * Does `password` match `stored`? Compares in constant time. A NULL or
 * malformed `stored` still costs one PBKDF2 run and returns false, so an
 * unknown user takes as long as a wrong password.
 */
bool idms_password_verify(const char *password, const char *stored);

/* ---- users --------------------------------------------------------- */

typedef struct {
    char username[IDMS_NAME_MAX];
    char pwhash[IDMS_HASH_MAX];
    char mcptt_id[IDMS_URI_MAX];
    char mcdata_id[IDMS_URI_MAX]; /* "" when not set */
    char mcvideo_id[IDMS_URI_MAX];
    bool enabled;
} idms_user_t;

/* Checks what the store would refuse: names, URIs. 0 or -EINVAL with err. */
int idms_user_validate(const idms_user_t *u, char *err, size_t errlen);

/* 0, -ENOENT, -EIO. */
int idms_user_get(sqlite3 *db, const char *username, idms_user_t *out);
/* 0, -EEXIST, -EIO. */
int idms_user_add(sqlite3 *db, const idms_user_t *u);
/* Replace every field of an existing user: 0, -ENOENT, -EIO. */
int idms_user_update(sqlite3 *db, const idms_user_t *u);
/* Delete the user and revoke its refresh tokens: 0, -ENOENT, -EIO. */
int idms_user_delete(sqlite3 *db, const char *username);
/* Call fn for each user in username order; fn's non-zero return stops. */
int idms_user_list(sqlite3 *db, int (*fn)(void *ud, const idms_user_t *u), void *ud);

/* ---- clients ------------------------------------------------------- */

typedef struct {
    char client_id[IDMS_NAME_MAX];
    char redirect_uris[IDMS_MAX_REDIRECT][IDMS_URI_MAX];
    unsigned n_redirect;
    char scope[IDMS_SCOPE_MAX]; /* allowed scopes, space-separated */
    bool enabled;
} idms_client_t;

int idms_client_validate(const idms_client_t *c, char *err, size_t errlen);
int idms_client_get(sqlite3 *db, const char *client_id, idms_client_t *out);
int idms_client_add(sqlite3 *db, const idms_client_t *c);
int idms_client_delete(sqlite3 *db, const char *client_id);
int idms_client_list(sqlite3 *db, int (*fn)(void *ud, const idms_client_t *c), void *ud);
/* Is `uri` exactly one of the client's registered redirect URIs? */
bool idms_client_has_redirect(const idms_client_t *c, const char *uri);

/* ---- authorization codes and refresh tokens ------------------------ */

/* Hex SHA-256 of a code or refresh token (the form stored) into out[65]. */
void idms_secret_hash(const char *secret, char out[65]);

typedef struct {
    char hash[65];
    char client_id[IDMS_NAME_MAX];
    char redirect_uri[IDMS_URI_MAX];
    char username[IDMS_NAME_MAX];
    char scope[IDMS_SCOPE_MAX];
    char code_challenge[129];
    char nonce[IDMS_NONCE_MAX];
    int64_t auth_time;
    int64_t expires;
} idms_code_t;

int idms_code_put(sqlite3 *db, const idms_code_t *c);

/*
 * Redeem the code with this hash: marks it used in the same transaction.
 * Returns 0 (first redemption, *out filled), -ENOENT (no such code), or
 * -EALREADY (already redeemed: every refresh token issued from it, and
 * from its rotations, is revoked now; RFC 6749 §10.5). Expiry is the
 * caller's check.
 */
int idms_code_redeem(sqlite3 *db, const char *hash, int64_t now, idms_code_t *out);
/* The same inside the caller's transaction (commit it on 0 and -EALREADY). */
int idms_code_redeem_tx(sqlite3 *db, const char *hash, idms_code_t *out);

typedef struct {
    char hash[65];
    char family[65]; /* hash of the authorization code the chain started from */
    char client_id[IDMS_NAME_MAX];
    char username[IDMS_NAME_MAX];
    char scope[IDMS_SCOPE_MAX];
    int64_t auth_time;
    int64_t expires;
} idms_refresh_t;

int idms_refresh_put(sqlite3 *db, const idms_refresh_t *r);

/*
 * Take the refresh token with this hash for rotation: revoke it and fill
 * *out. 0, -ENOENT (unknown), -EALREADY (already rotated or revoked: its
 * whole family is revoked now, a replayed token), -ETIME (expired).
 */
int idms_refresh_take(sqlite3 *db, const char *hash, int64_t now, idms_refresh_t *out);
/* The same inside the caller's transaction (commit it on 0 and -EALREADY). */
int idms_refresh_take_tx(sqlite3 *db, const char *hash, int64_t now, idms_refresh_t *out);

/*
 * Delete codes and refresh tokens that expired more than IDMS_PURGE_GRACE
 * seconds before `now` (never a live row; the grace lets a late replay
 * still revoke its family). Runs from the periodic sweep, not per request.
 * Returns the number of rows deleted or -EIO.
 */
#define IDMS_PURGE_GRACE 86400
int idms_store_purge(sqlite3 *db, int64_t now);

/* Number of live (not revoked) refresh tokens of a family; -EIO. */
int idms_refresh_count_live(sqlite3 *db, const char *family);

/* ---- failed logins ------------------------------------------------- */

/*
 * Record a failed (ok=false) or good login of an existing user. Returns
 * the number of consecutive failures after this one, or -errno.
 */
int idms_login_note(sqlite3 *db, const char *username, bool ok, int64_t now);
/* Consecutive failures and the time of the last one. */
int idms_login_failures(sqlite3 *db, const char *username, unsigned *count, int64_t *last);

#endif /* IDMS_STORE_H */

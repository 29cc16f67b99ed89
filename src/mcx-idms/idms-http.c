/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-idms's HTTP endpoints (TS 33.180 Annex B, TS 24.482 over OIDC Core,
 * RFC 6749 and RFC 7636): discovery, JWKS, the login form and authorization
 * code at /authorize, and /token for the authorization_code and
 * refresh_token grants. Runs on lib/http's worker threads; reads use the
 * read connection under ctx->db_lock (never held while hashing a password
 * or signing), every write is a job for the store writer (idms-writer.h).
 */
#include "idms-context.h"
#include "idms-text.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ACR_PASSWORD "3gpp:acr:password"
#define STATE_MAX 1024

static const char *const error_names[IDMS_E_COUNT] = {
    [IDMS_E_INVALID_REQUEST] = "invalid_request",
    [IDMS_E_INVALID_CLIENT] = "invalid_client",
    [IDMS_E_INVALID_GRANT] = "invalid_grant",
    [IDMS_E_UNSUPPORTED_GRANT_TYPE] = "unsupported_grant_type",
    [IDMS_E_INVALID_SCOPE] = "invalid_scope",
    [IDMS_E_SERVER_ERROR] = "server_error",
};

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static void lock(idms_ctx_t *ctx)
{
    pthread_mutex_lock(&ctx->db_lock);
}

static void unlock(idms_ctx_t *ctx)
{
    pthread_mutex_unlock(&ctx->db_lock);
}

/*
 * A write to the store, through the writer (group commit): fn runs in the
 * next batch's transaction and this returns once the batch is durable.
 * fn's writes are kept when it returns >= 0 or sets *keep (a refusal whose
 * writes must persist: a spent code or token, a family revoked on replay).
 */
static int store_write(idms_ctx_t *ctx, idms_write_fn fn, void *arg)
{
    return idms_writer_run(ctx->writer, fn, arg);
}

typedef struct {
    const char *username;
    bool ok;
    int64_t now;
} login_job_t;

static int login_note_job(sqlite3 *db, void *arg, bool *keep)
{
    const login_job_t *l = arg;
    (void)keep;
    int rv = idms_login_note(db, l->username, l->ok, l->now);
    return rv < 0 ? rv : 0;
}

static int code_put_job(sqlite3 *db, void *arg, bool *keep)
{
    (void)keep;
    return idms_code_put(db, arg);
}

/* A random secret: 32 bytes as 43 base64url characters. */
static int random_secret(char out[44])
{
    uint8_t r[32];
    if (mcx_random_bytes(r, sizeof(r)) != 0)
        return -EIO;
    idms_b64url(r, sizeof(r), out);
    OPENSSL_cleanse(r, sizeof(r));
    return 0;
}

static void no_store(mcx_http_resp_t *resp)
{
    mcx_http_reply_header(resp, "Cache-Control", "no-store");
    mcx_http_reply_header(resp, "Pragma", "no-cache");
}

static void reply_json(mcx_http_resp_t *resp, unsigned status, json_t *obj)
{
    char *text = obj ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    if (!text) {
        mcx_http_replyf(resp, 500, "out of memory\n");
        return;
    }
    mcx_http_reply(resp, status, "application/json", text, strlen(text));
    free(text);
}

/* ------------------------------------------------------------------------ */
/* /authorize                                                               */
/* ------------------------------------------------------------------------ */

/* The authorization request's parameters (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC). */
static const char *const authz_params[] = {
    "response_type",         "client_id", "redirect_uri", "scope", "state", "code_challenge",
    "code_challenge_method", "nonce",     "acr_values",   NULL,
};

enum {
    P_RESPONSE_TYPE,
    P_CLIENT_ID,
    P_REDIRECT_URI,
    P_SCOPE,
    P_STATE,
    P_CHALLENGE,
    P_CHALLENGE_METHOD,
    P_NONCE,
    P_ACR,
    P_COUNT
};

typedef struct {
    const char *v[P_COUNT];
    unsigned n[P_COUNT];
    idms_client_t client;
    char granted[IDMS_SCOPE_MAX];
} authz_t;

static const char *param(const mcx_http_req_t *req, bool post, const char *name, unsigned *n)
{
    if (post)
        return mcx_http_form(req, name, n);
    return mcx_http_query(req, name, n);
}

typedef struct {
    unsigned status;   /* 0: none */
    bool redirect;     /* to the client's redirect_uri with error= */
    const char *error; /* RFC 6749 §4.1.2.1 code */
    char desc[200];
} authz_err_t;

static void authz_fail(authz_err_t *e, bool redirect, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void authz_fail(authz_err_t *e, bool redirect, const char *error, const char *fmt, ...)
{
    e->status = redirect ? 302 : 400;
    e->redirect = redirect;
    e->error = error;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->desc, sizeof(e->desc), fmt, ap);
    va_end(ap);
}

/*
 * Validate the authorization request. client_id and redirect_uri are checked
 * first: until both are known good, nothing is redirected (RFC 6749 §4.1.2.1).
 */
static int authz_check(idms_ctx_t *ctx, const mcx_http_req_t *req, bool post, authz_t *a,
                       authz_err_t *e)
{
    memset(a, 0, sizeof(*a));
    memset(e, 0, sizeof(*e));
    for (int i = 0; i < P_COUNT; i++)
        a->v[i] = param(req, post, authz_params[i], &a->n[i]);

    if (!a->v[P_CLIENT_ID] || a->n[P_CLIENT_ID] != 1 || !a->v[P_CLIENT_ID][0]) {
        authz_fail(e, false, "invalid_request", "client_id %s",
                   a->n[P_CLIENT_ID] > 1 ? "repeated" : "missing");
        return -1;
    }
    if (!a->v[P_REDIRECT_URI] || a->n[P_REDIRECT_URI] != 1) {
        authz_fail(e, false, "invalid_request", "redirect_uri %s",
                   a->n[P_REDIRECT_URI] > 1 ? "repeated" : "missing");
        return -1;
    }
    lock(ctx);
    int rv = idms_client_get(ctx->db, a->v[P_CLIENT_ID], &a->client);
    unlock(ctx);
    if (rv == -ENOENT || (rv == 0 && !a->client.enabled)) {
        authz_fail(e, false, "invalid_client", "unknown client");
        return -1;
    }
    if (rv) {
        authz_fail(e, false, "server_error", "store unavailable");
        e->status = 500;
        return -1;
    }
    if (!idms_client_has_redirect(&a->client, a->v[P_REDIRECT_URI])) {
        authz_fail(e, false, "invalid_request", "redirect_uri not registered for this client");
        return -1;
    }

    /* From here on errors go back to the client. */
    for (int i = 0; i < P_COUNT; i++) {
        if (a->n[i] > 1) {
            if (i == P_STATE)
                a->v[P_STATE] = NULL; /* which one would we echo? */
            authz_fail(e, true, "invalid_request", "parameter %s repeated", authz_params[i]);
            return -1;
        }
    }
    if (a->v[P_STATE] && !idms_param_ok(a->v[P_STATE], STATE_MAX)) {
        a->v[P_STATE] = NULL;
        authz_fail(e, true, "invalid_request", "state too long or not printable");
        return -1;
    }
    if (!a->v[P_RESPONSE_TYPE]) {
        authz_fail(e, true, "invalid_request", "response_type missing");
        return -1;
    }
    if (strcmp(a->v[P_RESPONSE_TYPE], "code") != 0) {
        authz_fail(e, true, "unsupported_response_type", "only response_type=code is supported");
        return -1;
    }
    /* TS 33.180 Annex B: PKCE is mandatory; RFC 7636 §4.4.1. */
    if (!a->v[P_CHALLENGE]) {
        authz_fail(e, true, "invalid_request", "code_challenge required (PKCE)");
        return -1;
    }
    if (!a->v[P_CHALLENGE_METHOD] || strcmp(a->v[P_CHALLENGE_METHOD], "S256") != 0) {
        authz_fail(e, true, "invalid_request", "code_challenge_method must be S256");
        return -1;
    }
    if (!idms_pkce_syntax_ok(a->v[P_CHALLENGE])) {
        authz_fail(e, true, "invalid_request", "code_challenge malformed");
        return -1;
    }
    if (a->v[P_NONCE] && !idms_param_ok(a->v[P_NONCE], IDMS_NONCE_MAX)) {
        authz_fail(e, true, "invalid_request", "nonce too long or not printable");
        return -1;
    }
    if (a->v[P_ACR] && !idms_param_ok(a->v[P_ACR], 256)) {
        authz_fail(e, true, "invalid_request", "acr_values malformed");
        return -1;
    }
    const char *scope = a->v[P_SCOPE];
    if (!scope || !idms_param_ok(scope, IDMS_SCOPE_MAX) || !idms_scope_has(scope, "openid", 6)) {
        authz_fail(e, true, "invalid_scope", "scope must include openid");
        return -1;
    }
    /* RFC 6749 §3.3: grant what was asked and is allowed. */
    idms_scope_intersect(scope, a->client.scope, a->granted, sizeof(a->granted));
    if (!idms_scope_has(a->granted, "openid", 6)) {
        authz_fail(e, true, "invalid_scope", "openid not allowed for this client");
        return -1;
    }
    return 0;
}

/* Location: <redirect_uri>?<params>, keeping a query the URI already has. */
static void redirect_to(mcx_http_resp_t *resp, const char *uri, const char *code, const char *error,
                        const char *desc, const char *state)
{
    idms_buf_t b = {0};
    idms_buf_puts(&b, uri);
    idms_buf_puts(&b, strchr(uri, '?') ? "&" : "?");
    if (code) {
        idms_buf_puts(&b, "code=");
        idms_buf_urlenc(&b, code);
    } else {
        idms_buf_puts(&b, "error=");
        idms_buf_urlenc(&b, error);
        idms_buf_puts(&b, "&error_description=");
        idms_buf_urlenc(&b, desc);
    }
    if (state) {
        idms_buf_puts(&b, "&state=");
        idms_buf_urlenc(&b, state);
    }
    if (b.oom) {
        mcx_http_replyf(resp, 500, "out of memory\n");
    } else {
        mcx_http_reply(resp, 302, NULL, NULL, 0);
        mcx_http_reply_header(resp, "Location", b.s);
        no_store(resp);
    }
    idms_buf_free(&b);
}

static void html_head(idms_buf_t *b, const char *title)
{
    idms_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                     "<meta name=\"viewport\" content=\"width=device-width\"><title>");
    idms_buf_html(b, title);
    idms_buf_puts(b, "</title></head>\n<body>\n");
}

static void reply_html(mcx_http_resp_t *resp, unsigned status, idms_buf_t *b)
{
    if (b->oom) {
        mcx_http_replyf(resp, 500, "out of memory\n");
        return;
    }
    mcx_http_reply(resp, status, "text/html; charset=utf-8", b->s, b->len);
    no_store(resp);
    mcx_http_reply_header(resp, "X-Frame-Options", "DENY");
    mcx_http_reply_header(resp, "Content-Security-Policy",
                          "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'");
    mcx_http_reply_header(resp, "X-Content-Type-Options", "nosniff");
}

static void authz_error_page(mcx_http_resp_t *resp, const authz_err_t *e)
{
    idms_buf_t b = {0};
    html_head(&b, "Authorization request refused");
    idms_buf_puts(&b, "<h1>Authorization request refused</h1>\n<p>");
    idms_buf_html(&b, e->error);
    idms_buf_puts(&b, ": ");
    idms_buf_html(&b, e->desc);
    idms_buf_puts(&b, "</p>\n</body></html>\n");
    reply_html(resp, e->status ? e->status : 400, &b);
    idms_buf_free(&b);
}

/* The login form, the request's parameters as hidden fields, every value escaped. */
static void login_form(mcx_http_resp_t *resp, unsigned status, const authz_t *a,
                       const char *username, const char *message)
{
    idms_buf_t b = {0};
    html_head(&b, "Sign in to the MC system");
    idms_buf_puts(&b, "<h1>Sign in</h1>\n");
    if (message) {
        idms_buf_puts(&b, "<p role=\"alert\">");
        idms_buf_html(&b, message);
        idms_buf_puts(&b, "</p>\n");
    }
    idms_buf_puts(&b, "<form method=\"post\" action=\"authorize\">\n");
    for (int i = 0; i < P_COUNT; i++) {
        if (!a->v[i])
            continue;
        idms_buf_printf(&b, "<input type=\"hidden\" name=\"%s\" value=\"", authz_params[i]);
        idms_buf_html(&b, a->v[i]);
        idms_buf_puts(&b, "\">\n");
    }
    idms_buf_puts(&b, "<label>Username <input name=\"username\" autocomplete=\"username\" "
                      "required value=\"");
    idms_buf_html(&b, username ? username : "");
    idms_buf_puts(&b, "\"></label><br>\n<label>Password <input type=\"password\" "
                      "name=\"password\" autocomplete=\"current-password\" required></label><br>\n"
                      "<button type=\"submit\">Sign in</button>\n</form>\n</body></html>\n");
    reply_html(resp, status, &b);
    idms_buf_free(&b);
}

static void authz_refused(idms_ctx_t *ctx, const mcx_http_req_t *req, mcx_http_resp_t *resp,
                          const authz_t *a, const authz_err_t *e)
{
    char cid[80];
    idms_log_safe(a->v[P_CLIENT_ID], cid, sizeof(cid));
    atomic_fetch_add(&ctx->stats.authorize_refused, 1);
    MCX_NOTICE("authorize from %s refused: %s: %s (client '%s')", req->client, e->error, e->desc,
               cid);
    if (e->redirect)
        redirect_to(resp, a->v[P_REDIRECT_URI], NULL, e->error, e->desc, a->v[P_STATE]);
    else
        authz_error_page(resp, e);
}

/* The outcome of checking username and password; the user sees only ok / not ok. */
static bool login_check(idms_ctx_t *ctx, const char *username, const char *password, idms_user_t *u,
                        const char **why)
{
    const idms_options_t *o = &ctx->cfg->idms;
    int64_t now = now_s();
    lock(ctx);
    int rv = idms_user_get(ctx->db, username, u);
    unsigned fails = 0;
    int64_t last = 0;
    if (rv == 0 && o->login_attempts)
        idms_login_failures(ctx->db, username, &fails, &last);
    unlock(ctx);

    /* Always hash: unknown, disabled and locked users take as long as a wrong password. */
    bool good = idms_password_verify(password, rv == 0 ? u->pwhash : NULL);
    *why = NULL;
    if (rv == -ENOENT)
        *why = "unknown user";
    else if (rv)
        *why = "store error";
    else if (!u->enabled)
        *why = "user disabled";
    else if (o->login_attempts && fails >= o->login_attempts && now - last < o->lockout_s)
        *why = "locked after repeated failures";
    else if (!good)
        *why = "wrong password";

    if (rv == 0 && (good || *why) && o->login_attempts &&
        (!*why || strcmp(*why, "wrong password") == 0)) {
        login_job_t l = {.username = username, .ok = *why == NULL, .now = now};
        store_write(ctx, login_note_job, &l);
    }
    return *why == NULL;
}

static void authorize_post(idms_ctx_t *ctx, const mcx_http_req_t *req, mcx_http_resp_t *resp)
{
    authz_t a;
    authz_err_t e;
    if (authz_check(ctx, req, true, &a, &e) != 0) {
        authz_refused(ctx, req, resp, &a, &e);
        return;
    }
    unsigned nu = 0, np = 0;
    const char *username = mcx_http_form(req, "username", &nu);
    const char *password = mcx_http_form(req, "password", &np);
    if (nu > 1 || np > 1) {
        authz_fail(&e, true, "invalid_request", "parameter %s repeated",
                   nu > 1 ? "username" : "password");
        authz_refused(ctx, req, resp, &a, &e);
        return;
    }
    char uname[80];
    idms_log_safe(username ? username : "", uname, sizeof(uname));
    idms_user_t *u = calloc(1, sizeof(*u));
    const char *why = "missing username or password";
    bool ok = false;
    if (!u) {
        mcx_http_replyf(resp, 500, "out of memory\n");
        return;
    }
    if (username && password && username[0] && password[0] && strlen(username) < IDMS_NAME_MAX &&
        strlen(password) < 1024)
        ok = login_check(ctx, username, password, u, &why);
    else if (username && strlen(username) >= IDMS_NAME_MAX)
        why = "username too long";

    if (!ok) {
        atomic_fetch_add(&ctx->stats.logins_failed, 1);
        /* One line naming the user, never the password. */
        const char *xff = mcx_http_header(req, "X-Forwarded-For");
        char fwd[80] = "";
        if (xff)
            idms_log_safe(xff, fwd, sizeof(fwd));
        MCX_NOTICE("login failed for user '%s' from %s%s%s%s: %s", uname, req->client,
                   xff ? " (for " : "", fwd, xff ? ")" : "", why);
        login_form(resp, 401, &a, username && strlen(username) < IDMS_NAME_MAX ? username : "",
                   "Invalid username or password.");
        explicit_bzero(u, sizeof(*u));
        free(u);
        return;
    }

    idms_code_t c = {0};
    char code[44];
    int rv = random_secret(code);
    if (rv == 0) {
        idms_secret_hash(code, c.hash);
        mcx_strlcpy(c.client_id, a.client.client_id, sizeof(c.client_id));
        mcx_strlcpy(c.redirect_uri, a.v[P_REDIRECT_URI], sizeof(c.redirect_uri));
        mcx_strlcpy(c.username, u->username, sizeof(c.username));
        mcx_strlcpy(c.scope, a.granted, sizeof(c.scope));
        mcx_strlcpy(c.code_challenge, a.v[P_CHALLENGE], sizeof(c.code_challenge));
        mcx_strlcpy(c.nonce, a.v[P_NONCE] ? a.v[P_NONCE] : "", sizeof(c.nonce));
        c.auth_time = now_s();
        c.expires = c.auth_time + ctx->cfg->idms.code_lifetime;
        rv = store_write(ctx, code_put_job, &c);
    }
    explicit_bzero(u, sizeof(*u));
    free(u);
    if (rv) {
        MCX_ERR("authorize: cannot store a code (%d)", rv);
        authz_fail(&e, true, "server_error", "temporarily unavailable");
        authz_refused(ctx, req, resp, &a, &e);
        return;
    }
    atomic_fetch_add(&ctx->stats.logins_ok, 1);
    atomic_fetch_add(&ctx->stats.codes_issued, 1);
    MCX_INFO("login: user '%s' from %s, client '%s', scope '%s'", uname, req->client,
             a.client.client_id, a.granted);
    redirect_to(resp, a.v[P_REDIRECT_URI], code, NULL, NULL, a.v[P_STATE]);
    explicit_bzero(code, sizeof(code));
}

static void authorize(idms_ctx_t *ctx, const mcx_http_req_t *req, mcx_http_resp_t *resp)
{
    if (strcmp(req->method, "POST") == 0) {
        const char *ct = mcx_http_header(req, "Content-Type");
        if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
            authz_err_t e = {0};
            authz_fail(&e, false, "invalid_request",
                       "the form must be application/x-www-form-urlencoded");
            MCX_NOTICE("authorize from %s refused: %s", req->client, e.desc);
            authz_error_page(resp, &e);
            return;
        }
        authorize_post(ctx, req, resp);
        return;
    }
    authz_t a;
    authz_err_t e;
    if (authz_check(ctx, req, false, &a, &e) != 0) {
        authz_refused(ctx, req, resp, &a, &e);
        return;
    }
    login_form(resp, 200, &a, NULL, NULL);
}

/* ------------------------------------------------------------------------ */
/* /token                                                                   */
/* ------------------------------------------------------------------------ */

static void token_error(idms_ctx_t *ctx, const mcx_http_req_t *req, mcx_http_resp_t *resp, int err,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void token_error(idms_ctx_t *ctx, const mcx_http_req_t *req, mcx_http_resp_t *resp, int err,
                        const char *fmt, ...)
{
    char desc[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(desc, sizeof(desc), fmt, ap);
    va_end(ap);
    atomic_fetch_add(&ctx->stats.token_refused[err], 1);
    MCX_NOTICE("token request from %s refused: %s: %s", req->client, error_names[err], desc);
    json_t *o = json_object();
    if (o) {
        json_object_set_new(o, "error", json_string(error_names[err]));
        json_object_set_new(o, "error_description", json_string(desc));
    }
    unsigned status = err == IDMS_E_INVALID_CLIENT ? 401 : err == IDMS_E_SERVER_ERROR ? 500 : 400;
    reply_json(resp, status, o);
    json_decref(o);
    no_store(resp);
}

static json_t *audiences(const idms_options_t *o)
{
    json_t *a = json_array();
    for (unsigned i = 0; a && i < o->n_audiences; i++)
        json_array_append_new(a, json_string(o->audiences[i]));
    return a;
}

static void jti(char out[33])
{
    uint8_t r[16] = {0};
    mcx_random_bytes(r, sizeof(r));
    mcx_hex_encode(r, sizeof(r), out);
}

static void put_ids(json_t *c, const idms_user_t *u)
{
    json_object_set_new(c, "mcptt_id", json_string(u->mcptt_id));
    if (u->mcdata_id[0])
        json_object_set_new(c, "mcdata_id", json_string(u->mcdata_id));
    if (u->mcvideo_id[0])
        json_object_set_new(c, "mcvideo_id", json_string(u->mcvideo_id));
}

typedef struct {
    const idms_user_t *user;
    const char *client_id;
    const char *scope; /* granted in this response */
    const char *nonce; /* "" or NULL: none */
    int64_t auth_time;
} grant_t;

/* Sign the access and ID tokens and reply 200 with the (stored) refresh token rt. */
static void issue(idms_ctx_t *ctx, const mcx_http_req_t *req, mcx_http_resp_t *resp,
                  const grant_t *g, const char *rt, bool refresh)
{
    const idms_options_t *o = &ctx->cfg->idms;
    int64_t now = now_s();
    char id[33];
    char *at = NULL, *it = NULL;
    int rv = 0;

    /* RFC 9068 access token with the TS 33.180 claims. */
    json_t *c = json_object();
    if (!c)
        rv = -ENOMEM;
    jti(id);
    json_object_set_new(c, "iss", json_string(o->issuer));
    json_object_set_new(c, "sub", json_string(g->user->username));
    json_object_set_new(c, "aud", audiences(o));
    json_object_set_new(c, "client_id", json_string(g->client_id));
    json_object_set_new(c, "scope", json_string(g->scope));
    put_ids(c, g->user);
    json_object_set_new(c, "iat", json_integer(now));
    json_object_set_new(c, "nbf", json_integer(now));
    json_object_set_new(c, "exp", json_integer(now + o->access_token_lifetime));
    json_object_set_new(c, "jti", json_string(id));
    if (rv == 0)
        rv = mcx_jose_sign(ctx->key, "at+jwt", c, &at);
    json_decref(c);

    /* OIDC Core §2 ID token. */
    if (rv == 0) {
        c = json_object();
        if (!c)
            rv = -ENOMEM;
        jti(id);
        json_object_set_new(c, "iss", json_string(o->issuer));
        json_object_set_new(c, "sub", json_string(g->user->username));
        json_object_set_new(c, "aud", json_string(g->client_id));
        json_object_set_new(c, "azp", json_string(g->client_id));
        put_ids(c, g->user);
        if (g->nonce && g->nonce[0])
            json_object_set_new(c, "nonce", json_string(g->nonce));
        json_object_set_new(c, "auth_time", json_integer(g->auth_time));
        json_object_set_new(c, "acr", json_string(ACR_PASSWORD));
        json_object_set_new(c, "iat", json_integer(now));
        json_object_set_new(c, "exp", json_integer(now + o->id_token_lifetime));
        json_object_set_new(c, "jti", json_string(id));
        if (rv == 0)
            rv = mcx_jose_sign(ctx->key, "JWT", c, &it);
        json_decref(c);
    }

    if (rv) {
        MCX_ERR("token: cannot issue tokens (%d)", rv);
        token_error(ctx, req, resp, IDMS_E_SERVER_ERROR, "cannot issue tokens now");
    } else {
        json_t *out = json_object();
        json_object_set_new(out, "access_token", json_string(at));
        json_object_set_new(out, "token_type", json_string("Bearer"));
        json_object_set_new(out, "expires_in", json_integer(o->access_token_lifetime));
        json_object_set_new(out, "refresh_token", json_string(rt));
        json_object_set_new(out, "id_token", json_string(it));
        json_object_set_new(out, "scope", json_string(g->scope));
        reply_json(resp, 200, out);
        json_decref(out);
        no_store(resp);
        atomic_fetch_add(refresh ? &ctx->stats.tokens_refresh : &ctx->stats.tokens_code, 1);
        char uname[80];
        idms_log_safe(g->user->username, uname, sizeof(uname));
        MCX_INFO("tokens issued (%s) to user '%s', client '%s', scope '%s'",
                 refresh ? "refresh_token" : "authorization_code", uname, g->client_id, g->scope);
    }
    if (at)
        explicit_bzero(at, strlen(at));
    free(at);
    free(it);
}

/* A grant decided and stored in one transaction (grant_code_job, grant_refresh_job). */
typedef struct {
    /* in */
    const char *hash;         /* of the presented code or refresh token */
    const char *client_id;    /* authenticated client */
    const char *redirect_uri; /* code grant */
    const char *s256;         /* code grant: S256 of the verifier, NULL if not computable */
    const char *scope;        /* refresh grant: a narrower scope asked, or NULL */
    int64_t now;
    char rt_hash[65]; /* the rotated refresh token to store */
    int64_t rt_expires;
    /* out */
    int err;          /* IDMS_E_* when refused (-EPERM) */
    const char *desc; /* its error_description */
    bool replay;      /* a spent code or rotated token presented again */
    idms_user_t user;
    char family[65];
    char granted[IDMS_SCOPE_MAX];
    char rt_scope[IDMS_SCOPE_MAX];
    char nonce[IDMS_NONCE_MAX];
    int64_t auth_time;
} grant_job_t;

static int refuse(grant_job_t *j, int err, const char *desc)
{
    j->err = err;
    j->desc = desc;
    return -EPERM;
}

/* The user must still exist and be enabled; then the rotated token is stored. */
static int grant_finish(sqlite3 *db, grant_job_t *j, const char *username, bool *keep)
{
    int rv = idms_user_get(db, username, &j->user);
    if (rv == -ENOENT || (rv == 0 && !j->user.enabled))
        return refuse(j, IDMS_E_INVALID_GRANT, "user no longer enabled");
    if (rv)
        return rv;
    idms_refresh_t n = {0};
    mcx_strlcpy(n.hash, j->rt_hash, sizeof(n.hash));
    mcx_strlcpy(n.family, j->family, sizeof(n.family));
    mcx_strlcpy(n.client_id, j->client_id, sizeof(n.client_id));
    mcx_strlcpy(n.username, username, sizeof(n.username));
    mcx_strlcpy(n.scope, j->rt_scope, sizeof(n.scope));
    n.auth_time = j->auth_time;
    n.expires = j->rt_expires;
    rv = idms_refresh_put(db, &n);
    if (rv)
        *keep = false; /* nothing of this grant is stored; the client may retry */
    return rv;
}

static int grant_code_job(sqlite3 *db, void *arg, bool *keep)
{
    grant_job_t *j = arg;
    idms_code_t c;
    int rv = idms_code_redeem_tx(db, j->hash, &c);
    if (rv == -EALREADY) {
        *keep = true; /* the family revocation */
        j->replay = true;
        return refuse(j, IDMS_E_INVALID_GRANT, "code already used");
    }
    if (rv == -ENOENT)
        return refuse(j, IDMS_E_INVALID_GRANT, "unknown code");
    if (rv)
        return rv;
    /* The code is spent from here on, whatever follows. */
    *keep = true;
    if (c.expires <= j->now)
        return refuse(j, IDMS_E_INVALID_GRANT, "code expired");
    if (strcmp(c.client_id, j->client_id) != 0)
        return refuse(j, IDMS_E_INVALID_GRANT, "code was issued to another client");
    /* RFC 6749 §4.1.3: identical to the authorization request's redirect_uri. */
    if (strcmp(c.redirect_uri, j->redirect_uri) != 0)
        return refuse(j, IDMS_E_INVALID_GRANT, "redirect_uri differs");
    if (!j->s256 || strlen(j->s256) != strlen(c.code_challenge) ||
        CRYPTO_memcmp(j->s256, c.code_challenge, strlen(j->s256)) != 0)
        return refuse(j, IDMS_E_INVALID_GRANT, "code_verifier does not match");
    mcx_strlcpy(j->family, c.hash, sizeof(j->family));
    mcx_strlcpy(j->granted, c.scope, sizeof(j->granted));
    mcx_strlcpy(j->rt_scope, c.scope, sizeof(j->rt_scope));
    mcx_strlcpy(j->nonce, c.nonce, sizeof(j->nonce));
    j->auth_time = c.auth_time;
    return grant_finish(db, j, c.username, keep);
}

static int grant_refresh_job(sqlite3 *db, void *arg, bool *keep)
{
    grant_job_t *j = arg;
    idms_refresh_t r;
    int rv = idms_refresh_take_tx(db, j->hash, j->now, &r);
    if (rv == -EALREADY) {
        *keep = true; /* the family revocation */
        j->replay = true;
        return refuse(j, IDMS_E_INVALID_GRANT, "refresh token no longer valid");
    }
    if (rv == -ENOENT || rv == -ETIME)
        return refuse(j, IDMS_E_INVALID_GRANT,
                      rv == -ETIME ? "refresh token expired" : "refresh token unknown");
    if (rv)
        return rv;
    /* The presented token is rotated (spent) from here on, whatever follows. */
    *keep = true;
    if (strcmp(r.client_id, j->client_id) != 0)
        return refuse(j, IDMS_E_INVALID_GRANT, "refresh token was issued to another client");
    /* RFC 6749 §6: a narrower scope may be asked, never a wider one. */
    if (j->scope) {
        if (!idms_scope_subset(j->scope, r.scope) || !idms_scope_has(j->scope, "openid", 6))
            return refuse(j, IDMS_E_INVALID_SCOPE,
                          "scope exceeds the original grant or lacks openid");
        idms_scope_intersect(j->scope, r.scope, j->granted, sizeof(j->granted));
    } else {
        mcx_strlcpy(j->granted, r.scope, sizeof(j->granted));
    }
    mcx_strlcpy(j->family, r.family, sizeof(j->family));
    mcx_strlcpy(j->rt_scope, r.scope, sizeof(j->rt_scope));
    j->auth_time = r.auth_time;
    return grant_finish(db, j, r.username, keep);
}

/*
 * Run a grant job in one transaction with a fresh refresh token; on success
 * sign the access and ID tokens and reply 200 (only after the commit).
 */
static void grant_run(idms_ctx_t *ctx, const mcx_http_req_t *req, mcx_http_resp_t *resp,
                      grant_job_t *j, idms_write_fn fn, bool refresh)
{
    char rt[44] = "";
    j->now = now_s();
    j->rt_expires = j->now + ctx->cfg->idms.refresh_token_lifetime;
    int rv = random_secret(rt);
    if (rv == 0) {
        idms_secret_hash(rt, j->rt_hash);
        rv = store_write(ctx, fn, j);
    }
    if (rv == -EPERM) {
        if (j->replay && refresh) {
            MCX_WARN("refresh token presented again by %s: its whole family revoked", req->client);
        } else if (j->replay) {
            atomic_fetch_add(&ctx->stats.codes_replayed, 1);
            MCX_WARN("authorization code presented again by %s: refresh tokens issued from it "
                     "revoked (RFC 6749 10.5)",
                     req->client);
        }
        token_error(ctx, req, resp, j->err, "%s", j->desc);
    } else if (rv) {
        token_error(ctx, req, resp, IDMS_E_SERVER_ERROR, "store unavailable");
    } else {
        if (!refresh)
            atomic_fetch_add(&ctx->stats.codes_redeemed, 1);
        grant_t g = {.user = &j->user,
                     .client_id = j->client_id,
                     .scope = j->granted,
                     .nonce = j->nonce,
                     .auth_time = j->auth_time};
        issue(ctx, req, resp, &g, rt, refresh);
    }
    explicit_bzero(rt, sizeof(rt));
    explicit_bzero(j, sizeof(*j));
}

static void grant_code(idms_ctx_t *ctx, const mcx_http_req_t *req, mcx_http_resp_t *resp,
                       const char *client_id)
{
    const char *code = mcx_http_form(req, "code", NULL);
    const char *redirect_uri = mcx_http_form(req, "redirect_uri", NULL);
    const char *verifier = mcx_http_form(req, "code_verifier", NULL);
    if (!code || !code[0]) {
        token_error(ctx, req, resp, IDMS_E_INVALID_REQUEST, "code missing");
        return;
    }
    if (!redirect_uri) {
        token_error(ctx, req, resp, IDMS_E_INVALID_REQUEST, "redirect_uri missing");
        return;
    }
    if (!verifier) {
        token_error(ctx, req, resp, IDMS_E_INVALID_REQUEST, "code_verifier missing (PKCE)");
        return;
    }
    if (!idms_pkce_syntax_ok(verifier)) {
        token_error(ctx, req, resp, IDMS_E_INVALID_REQUEST, "code_verifier malformed");
        return;
    }
    grant_job_t *j = calloc(1, sizeof(*j));
    if (!j) {
        token_error(ctx, req, resp, IDMS_E_SERVER_ERROR, "out of memory");
        return;
    }
    char hash[65], s256[64];
    idms_secret_hash(code, hash);
    j->hash = hash;
    j->client_id = client_id;
    j->redirect_uri = redirect_uri;
    j->s256 = mcx_jose_pkce_s256(verifier, s256, sizeof(s256)) == 0 ? s256 : NULL;
    grant_run(ctx, req, resp, j, grant_code_job, false);
    free(j);
}

static void grant_refresh(idms_ctx_t *ctx, const mcx_http_req_t *req, mcx_http_resp_t *resp,
                          const char *client_id)
{
    const char *token = mcx_http_form(req, "refresh_token", NULL);
    const char *scope = mcx_http_form(req, "scope", NULL);
    if (!token || !token[0]) {
        token_error(ctx, req, resp, IDMS_E_INVALID_REQUEST, "refresh_token missing");
        return;
    }
    if (scope && (!idms_param_ok(scope, IDMS_SCOPE_MAX) || !scope[0])) {
        token_error(ctx, req, resp, IDMS_E_INVALID_SCOPE, "scope malformed");
        return;
    }
    grant_job_t *j = calloc(1, sizeof(*j));
    if (!j) {
        token_error(ctx, req, resp, IDMS_E_SERVER_ERROR, "out of memory");
        return;
    }
    char hash[65];
    idms_secret_hash(token, hash);
    j->hash = hash;
    j->client_id = client_id;
    j->scope = scope;
    grant_run(ctx, req, resp, j, grant_refresh_job, true);
    free(j);
}

static const char *const token_params[] = {
    "grant_type",    "code",  "redirect_uri",  "client_id", "code_verifier",
    "refresh_token", "scope", "client_secret", NULL,
};

static void token(idms_ctx_t *ctx, const mcx_http_req_t *req, mcx_http_resp_t *resp)
{
    if (strcmp(req->method, "POST") != 0) {
        mcx_http_replyf(resp, 405, "POST only\n");
        mcx_http_reply_header(resp, "Allow", "POST");
        return;
    }
    const char *ct = mcx_http_header(req, "Content-Type");
    if (!ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0 ||
        (ct[33] != '\0' && ct[33] != ';' && ct[33] != ' ')) {
        token_error(ctx, req, resp, IDMS_E_INVALID_REQUEST,
                    "the body must be application/x-www-form-urlencoded");
        return;
    }
    /* RFC 6749 §3.2: parameters must not be included more than once. */
    for (int i = 0; token_params[i]; i++) {
        unsigned n = 0;
        mcx_http_form(req, token_params[i], &n);
        if (n > 1) {
            token_error(ctx, req, resp, IDMS_E_INVALID_REQUEST, "parameter %s repeated",
                        token_params[i]);
            return;
        }
    }
    const char *grant = mcx_http_form(req, "grant_type", NULL);
    if (!grant || !grant[0]) {
        token_error(ctx, req, resp, IDMS_E_INVALID_REQUEST, "grant_type missing");
        return;
    }
    bool is_code = strcmp(grant, "authorization_code") == 0;
    bool is_refresh = strcmp(grant, "refresh_token") == 0;
    if (!is_code && !is_refresh) {
        char g[80];
        idms_log_safe(grant, g, sizeof(g));
        token_error(ctx, req, resp, IDMS_E_UNSUPPORTED_GRANT_TYPE, "grant_type '%s' not supported",
                    g);
        return;
    }
    /* Public clients (token_endpoint_auth_method none) identify themselves by client_id. */
    const char *client_id = mcx_http_form(req, "client_id", NULL);
    if (!client_id || !client_id[0]) {
        token_error(ctx, req, resp, IDMS_E_INVALID_REQUEST, "client_id missing");
        return;
    }
    idms_client_t *cl = calloc(1, sizeof(*cl));
    int rv = cl ? 0 : -ENOMEM;
    if (rv == 0) {
        lock(ctx);
        rv = idms_client_get(ctx->db, client_id, cl);
        unlock(ctx);
    }
    if (rv == -ENOENT || (rv == 0 && !cl->enabled)) {
        char id[80];
        idms_log_safe(client_id, id, sizeof(id));
        token_error(ctx, req, resp, IDMS_E_INVALID_CLIENT, "unknown client '%s'", id);
    } else if (rv) {
        token_error(ctx, req, resp, IDMS_E_SERVER_ERROR, "store unavailable");
    } else if (is_code) {
        grant_code(ctx, req, resp, cl->client_id);
    } else {
        grant_refresh(ctx, req, resp, cl->client_id);
    }
    free(cl);
}

/* ------------------------------------------------------------------------ */
/* Dispatch and metrics                                                     */
/* ------------------------------------------------------------------------ */

static void get_only(const mcx_http_req_t *req, mcx_http_resp_t *resp, const char *ctype,
                     const char *body, const char *cache)
{
    if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
        mcx_http_replyf(resp, 405, "GET only\n");
        mcx_http_reply_header(resp, "Allow", "GET");
        return;
    }
    mcx_http_reply(resp, 200, ctype, body, strlen(body));
    mcx_http_reply_header(resp, "Cache-Control", cache);
}

void idms_http_handle(void *ud, const mcx_http_req_t *req, mcx_http_resp_t *resp)
{
    idms_ctx_t *ctx = ud;
    const char *p = req->path;
    if (strcmp(p, "/.well-known/openid-configuration") == 0) {
        get_only(req, resp, "application/json", ctx->discovery, "max-age=300");
    } else if (strcmp(p, "/jwks") == 0) {
        get_only(req, resp, "application/jwk-set+json", ctx->jwks, "max-age=300");
    } else if (strcmp(p, "/authorize") == 0) {
        if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "POST") != 0) {
            mcx_http_replyf(resp, 405, "GET or POST only\n");
            mcx_http_reply_header(resp, "Allow", "GET, POST");
            return;
        }
        authorize(ctx, req, resp);
    } else if (strcmp(p, "/token") == 0) {
        token(ctx, req, resp);
    } else {
        mcx_http_replyf(resp, 404, "not found\n");
    }
}

size_t idms_http_metrics(void *ud, char *buf, size_t len)
{
    idms_ctx_t *ctx = ud;
    const idms_stats_t *s = &ctx->stats;
    uint64_t jobs = 0, commits = 0;
    idms_writer_counts(ctx->writer, &jobs, &commits);
    idms_buf_t b = {0};
    idms_buf_printf(&b,
                    "# TYPE mcx_idms_tokens_issued_total counter\n"
                    "mcx_idms_tokens_issued_total{grant_type=\"authorization_code\"} %lu\n"
                    "mcx_idms_tokens_issued_total{grant_type=\"refresh_token\"} %lu\n"
                    "# TYPE mcx_idms_logins_total counter\n"
                    "mcx_idms_logins_total{result=\"ok\"} %lu\n"
                    "mcx_idms_logins_total{result=\"failed\"} %lu\n"
                    "# TYPE mcx_idms_authorize_refused_total counter\n"
                    "mcx_idms_authorize_refused_total %lu\n"
                    "# TYPE mcx_idms_codes_issued_total counter\n"
                    "mcx_idms_codes_issued_total %lu\n"
                    "# TYPE mcx_idms_codes_redeemed_total counter\n"
                    "mcx_idms_codes_redeemed_total %lu\n"
                    "# TYPE mcx_idms_codes_replayed_total counter\n"
                    "mcx_idms_codes_replayed_total %lu\n"
                    "# TYPE mcx_idms_store_write_jobs_total counter\n"
                    "mcx_idms_store_write_jobs_total %lu\n"
                    "# TYPE mcx_idms_store_commits_total counter\n"
                    "mcx_idms_store_commits_total %lu\n"
                    "# TYPE mcx_idms_token_refused_total counter\n",
                    atomic_load(&s->tokens_code), atomic_load(&s->tokens_refresh),
                    atomic_load(&s->logins_ok), atomic_load(&s->logins_failed),
                    atomic_load(&s->authorize_refused), atomic_load(&s->codes_issued),
                    atomic_load(&s->codes_redeemed), atomic_load(&s->codes_replayed),
                    (unsigned long)jobs, (unsigned long)commits);
    for (int i = 0; i < IDMS_E_COUNT; i++)
        idms_buf_printf(&b, "mcx_idms_token_refused_total{error=\"%s\"} %lu\n", error_names[i],
                        atomic_load(&s->token_refused[i]));
    size_t n = 0;
    if (b.s && !b.oom) {
        n = b.len < len ? b.len : 0; /* never a cut line */
        memcpy(buf, b.s, n);
    }
    idms_buf_free(&b);
    return n;
}

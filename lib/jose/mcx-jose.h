/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-jose: signed JWTs for the identity management of TS 33.180 Annex B,
 * over cjose and jansson. The IdMS signs with one EC P-256 key (ES256);
 * every resource server (CMS, GMS, MC service server) verifies against the
 * issuers it trusts by configuration. Only ES256 is ever accepted.
 */
#ifndef MCX_JOSE_H
#define MCX_JOSE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mcx-core.h"

/* ---- signing side (IdMS) ------------------------------------------------ */

typedef struct mcx_jose_key mcx_jose_key_t;

/*
 * Load the EC P-256 private key in PEM at `path`, or create it (mode 0600)
 * when the file does not exist. The kid is the RFC 7638 thumbprint.
 */
int mcx_jose_key_load_or_create(const char *path, mcx_jose_key_t **out, char *err,
                                size_t errlen);
void mcx_jose_key_free(mcx_jose_key_t *key);
const char *mcx_jose_key_kid(const mcx_jose_key_t *key);

/* {"keys":[<public JWK>]} as malloc'd JSON text; NULL on failure. */
char *mcx_jose_key_jwks(const mcx_jose_key_t *key);

/* Write the JWKS of `key` to `path` atomically (temp file + rename). */
int mcx_jose_key_write_jwks(const mcx_jose_key_t *key, const char *path, char *err,
                            size_t errlen);

/*
 * Compact JWS of `claims` with header {"alg":"ES256","typ":typ,"kid":kid}.
 * typ is "JWT" for ID tokens, "at+jwt" for access tokens (RFC 9068).
 * *out is malloc'd. Returns 0 or -errno.
 */
int mcx_jose_sign(const mcx_jose_key_t *key, const char *typ, const json_t *claims, char **out);

/* ---- verifying side ----------------------------------------------------- */

/* Issuers and their public keys. */
typedef struct mcx_jose_trust mcx_jose_trust_t;

mcx_jose_trust_t *mcx_jose_trust_new(void);
void mcx_jose_trust_free(mcx_jose_trust_t *trust);

/* Trust the EC P-256 keys of a JWKS document for tokens whose iss is `issuer`. */
int mcx_jose_trust_add_jwks(mcx_jose_trust_t *trust, const char *issuer, const char *jwks_json,
                            char *err, size_t errlen);
int mcx_jose_trust_add_jwks_file(mcx_jose_trust_t *trust, const char *issuer, const char *path,
                                 char *err, size_t errlen);

/* What a verifier requires of a token beyond a good signature. */
typedef struct mcx_jose_expect {
    const char *audience; /* must be aud or one of aud's elements; NULL: not checked */
    const char *scope;    /* space-separated scopes that must all be in "scope"; NULL: none */
    const char *typ;      /* required header typ ("at+jwt"), NULL: not checked */
    unsigned leeway_s;    /* allowed clock skew for exp / nbf / iat */
    int64_t now;          /* seconds since the epoch; 0: the current time */
} mcx_jose_expect_t;

typedef enum {
    MCX_JOSE_OK = 0,
    MCX_JOSE_MALFORMED,          /* not a compact JWS, bad base64url or JSON */
    MCX_JOSE_BAD_ALG,            /* alg is not ES256 (none, HS256, ...) */
    MCX_JOSE_BAD_TYPE,           /* typ differs from expect->typ */
    MCX_JOSE_UNKNOWN_ISSUER,     /* iss missing or not trusted */
    MCX_JOSE_UNKNOWN_KEY,        /* no key of that issuer has this kid */
    MCX_JOSE_BAD_SIGNATURE,      /* signature does not verify */
    MCX_JOSE_EXPIRED,            /* exp missing or in the past */
    MCX_JOSE_NOT_YET_VALID,      /* nbf or iat in the future */
    MCX_JOSE_BAD_AUDIENCE,       /* audience not in aud */
    MCX_JOSE_INSUFFICIENT_SCOPE, /* a required scope is missing */
} mcx_jose_status_t;

/* Short English name of a status ("token expired", ...). */
const char *mcx_jose_status_str(mcx_jose_status_t st);

/*
 * Verify `jwt`. On MCX_JOSE_OK *claims (if not NULL) receives the payload:
 * a reference the caller json_decref's, to an object other threads may be
 * reading at the same time, so read it only, never change it. Otherwise
 * `why` says precisely what failed (never the token itself). Any number of
 * threads may verify against one trust set at once, as long as nobody adds
 * to it meanwhile. A token whose signature verified is remembered by its
 * SHA-256 with its parsed payload, so presenting it again skips decoding,
 * alg, issuer, key and ECDSA; typ and the claims (expiry, audience, scope)
 * are checked on every call.
 */
mcx_jose_status_t mcx_jose_verify(const mcx_jose_trust_t *trust, const char *jwt,
                                  const mcx_jose_expect_t *expect, json_t **claims, char *why,
                                  size_t whylen);

/* ---- configuration of a verifier ----------------------------------------- */

#define MCX_JOSE_MAX_ISSUERS 8

typedef struct mcx_jose_issuer_conf {
    char issuer[256];    /* iss of the tokens, e.g. https://127.0.0.1:8443/idms */
    char jwks_file[256]; /* that issuer's public JWKS */
} mcx_jose_issuer_conf_t;

/* A YAML `auth:` map: audience: STR, leeway: N, trust: [{issuer, jwks_file}] */
typedef struct mcx_jose_auth_conf {
    char audience[256];
    uint32_t leeway;
    mcx_jose_issuer_conf_t trust[MCX_JOSE_MAX_ISSUERS];
    unsigned n_trust;
} mcx_jose_auth_conf_t;

extern const mcx_conf_field_t mcx_jose_auth_conf_fields[];

/* Build the trust set of an `auth:` configuration. */
int mcx_jose_trust_from_conf(const mcx_jose_auth_conf_t *conf, mcx_jose_trust_t **out,
                             char *err, size_t errlen);

/* ---- helpers ------------------------------------------------------------ */

/* BASE64URL(SHA-256(verifier)) without padding into out (>= 44 bytes). */
int mcx_jose_pkce_s256(const char *verifier, char *out, size_t outlen);

/* Does the space-separated list `scopes` contain `scope`? */
bool mcx_jose_scope_has(const char *scopes, const char *scope);

#endif /* MCX_JOSE_H */

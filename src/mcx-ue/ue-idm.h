/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-ue's IdM client (CSC-1, TS 24.482, TS 33.180 Annex B): OIDC discovery,
 * authorization code flow with PKCE S256 and the username/password form,
 * token request and refresh. Owns the tokens (in memory, optionally a 0600
 * state file); never prints a whole token.
 */
#ifndef UE_IDM_H
#define UE_IDM_H

#include <stdint.h>
#include <stdio.h>

#include "ue-config.h"
#include "ue-http.h"

typedef struct {
    const ue_mc_conf_t *mc; /* borrowed */
    ue_http_t http;
    FILE *out;

    char issuer[UE_URL_MAX];
    char authorization_endpoint[UE_URL_MAX];
    char token_endpoint[UE_URL_MAX];

    char *access_token; /* owned, wiped when replaced or freed */
    char *refresh_token;
    char *id_token;
    char scope[512];   /* granted */
    char jti[80];      /* of the access token, for the ladder */
    char sub[UE_ID_MAX];
    char mcptt_id[UE_ID_MAX]; /* from the access token; "" if it has none */
    uint32_t expires_in;
    uint64_t obtained_us; /* mcx_now_us() when the access token arrived */
} ue_idm_t;

/* Prepare *idm (borrows mc and out). No I/O. */
void ue_idm_init(ue_idm_t *idm, const ue_mc_conf_t *mc, FILE *out);

/* Forget and free the tokens. */
void ue_idm_final(ue_idm_t *idm);

/* GET <idms_url>/.well-known/openid-configuration. 0, or -EACCES (printed). */
int ue_idm_discover(ue_idm_t *idm);

/* Authorization request (PKCE S256), form login, token request. 0 or -EACCES (printed). */
int ue_idm_login(ue_idm_t *idm);

/* refresh_token grant. 0 or -EACCES (printed). */
int ue_idm_refresh(ue_idm_t *idm);

/* Seconds until the access token expires (0 when expired or none). */
uint32_t ue_idm_seconds_left(const ue_idm_t *idm);

/* base64url without padding. Return 0 or -ENOSPC / -EINVAL. */
int ue_b64url_encode(const uint8_t *in, size_t len, char *out, size_t outlen);
int ue_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outlen, size_t *outn);

/* PKCE S256 code_challenge of `verifier` (RFC 7636 4.2). 0 or -ENOSPC. */
int ue_pkce_challenge(const char *verifier, char *out, size_t outlen);

#endif /* UE_IDM_H */

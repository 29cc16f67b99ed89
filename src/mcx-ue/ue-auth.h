/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * SIP authentication for mcx-ue: reading a WWW-Authenticate challenge (with
 * libre's parser) and writing the Authorization header for IMS AKA
 * (RFC 3310: password = binary RES, or empty with/without auts) and for SIP
 * Digest (RFC 2617 / RFC 8760, MD5 or SHA-256). The digest arithmetic is
 * lib/auth's; nothing here does I/O or logs secrets.
 */
#ifndef UE_AUTH_H
#define UE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/mcx-auth.h"

typedef enum {
    UE_SCHEME_AKAV1_MD5 = 0, /* RFC 3310 */
    UE_SCHEME_DIGEST = 1,    /* RFC 2617 / RFC 8760 with a password */
} ue_scheme_t;

typedef struct {
    ue_scheme_t scheme;
    mcx_digest_alg_t alg; /* hash of the digest: MD5 for AKAv1-MD5 */
    char algorithm[32];   /* as the challenge spelt it; "" when absent */
    char realm[256];
    char nonce[512];
    char opaque[256];
    bool has_opaque;
    char qop[16];         /* the qop we answer with: "auth", "auth-int" or "" */
    char qop_offered[64]; /* the challenge's qop list, "" when absent */
    bool stale;
    bool has_ck_ik; /* ck/ik present (a P-CSCF should have removed them) */
} ue_challenge_t;

/*
 * Parse one WWW-Authenticate / Proxy-Authenticate value (`hval`, `len` bytes,
 * not NUL-terminated). Returns 0, -EINVAL (not Digest, no realm or nonce,
 * field too long), -ENOTSUP (algorithm or qop we cannot answer).
 */
int ue_challenge_parse(const char *hval, size_t len, ue_challenge_t *out);

/*
 * Preference among several challenges (RFC 8760 §2.4: the server lists them
 * most preferred first, the client picks the first it supports — but among
 * Digest ones we prefer SHA-256 to MD5). Returns true if `cand` is better than `cur`.
 */
bool ue_challenge_better(const ue_challenge_t *cand, const ue_challenge_t *cur);

/* Split an AKA nonce into RAND and AUTN (base64 of RAND || AUTN [|| server data]).
 * Returns 0 or -EINVAL. */
int ue_aka_nonce_decode(const char *nonce, uint8_t rand[16], uint8_t autn[16]);

typedef struct {
    const char *username; /* IMPI */
    const char *uri;      /* digest-uri = Request-URI */
    const char *method;   /* "REGISTER" */
    const ue_challenge_t *ch;
    const uint8_t *password; /* RES (AKA), the password (Digest), or NULL = empty */
    size_t password_len;
    uint32_t nc;         /* nonce count, 1 for a fresh nonce */
    const char *cnonce;  /* client nonce (token characters) */
    const uint8_t *auts; /* 14 octets for a sync failure, else NULL */
} ue_auth_input_t;

/*
 * Write the Authorization header value ("Digest username=..., ...") for `in`
 * into `out`. Returns 0, -EINVAL or -ENOSPC.
 */
int ue_auth_header(const ue_auth_input_t *in, char *out, size_t outlen);

/*
 * The Authorization of an unprotected initial REGISTER (TS 24.229 §5.1.1.2.1):
 * username, realm, uri, empty nonce and response. Returns 0 or -ENOSPC.
 */
int ue_auth_initial_header(const char *username, const char *realm, const char *uri,
                           const char *algorithm, char *out, size_t outlen);

#endif /* UE_AUTH_H */

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/jose internals: strict base64url (RFC 7515 §2, no padding) and the
 * RFC 7638 thumbprint of an EC P-256 public key, shared by the signing
 * (jose-key.c) and verifying (jose-verify.c) halves.
 */
#ifndef MCX_JOSE_PRIVATE_H
#define MCX_JOSE_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

/* Size of the base64url text of n bytes, without NUL. */
#define JOSE_B64_LEN(n) (((n) * 4 + 2) / 3)

/* Encode into out (>= JOSE_B64_LEN(len) + 1). Returns the text length. */
size_t jose_b64url_encode(const uint8_t *in, size_t len, char *out);

/*
 * Decode `len` characters of unpadded base64url into out (capacity outcap).
 * Refuses padding, other alphabets, a length of 4k+1 and non-zero unused
 * bits (only one text per byte string). Returns the byte count or -EINVAL.
 */
long jose_b64url_decode(const char *in, size_t len, uint8_t *out, size_t outcap);

/* RFC 7638 thumbprint of the EC P-256 key (x, y base64url) into out (>= 44). */
int jose_ec_thumbprint(const char *x, const char *y, char *out, size_t outlen);

/* The next space-separated token of a scope list: its start in *tok and its
 * length (0 at the end); *cursor moves past it. */
size_t jose_scope_next(const char **cursor, const char **tok);

#endif

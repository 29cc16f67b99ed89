/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-auth: authentication arithmetic as pure functions, no I/O.
 * - Milenage (TS 35.205/35.206) over OpenSSL AES-128, checked against all six
 *   TS 35.208 test sets;
 * - IMS AKA vectors and resynchronisation for the network side, the UE-side
 *   checks (TS 33.102 §6.3), SQN = SEQ || IND arithmetic (TS 33.102 Annex C);
 * - HTTP Digest (RFC 2617 / RFC 7616, MD5 and SHA-256) for SIP Digest and for
 *   the digest response a UE or S-CSCF computes with AKA (RFC 3310).
 * All functions are thread-safe and never log.
 */
#ifndef MCX_AUTH_H
#define MCX_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MCX_AKA_K_LEN 16
#define MCX_AKA_OPC_LEN 16
#define MCX_AKA_RAND_LEN 16
#define MCX_AKA_AUTN_LEN 16
#define MCX_AKA_AUTS_LEN 14
#define MCX_AKA_SQN_LEN 6
#define MCX_AKA_AMF_LEN 2
#define MCX_AKA_MAC_LEN 8
#define MCX_AKA_RES_LEN 8
#define MCX_AKA_CK_LEN 16
#define MCX_AKA_IK_LEN 16
#define MCX_AKA_AK_LEN 6

#define MCX_SQN_MAX ((UINT64_C(1) << 48) - 1)

/* ---------------- Milenage (TS 35.206 §4.1) ---------------- */

/* OPc = OP xor E_K(OP). Returns 0 or -EIO (OpenSSL failure). */
int mcx_milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16]);

/* f1 and f1*: MAC-A and MAC-S over SQN, RAND, AMF. Either output may be NULL. */
int mcx_milenage_f1(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                    const uint8_t sqn[6], const uint8_t amf[2], uint8_t mac_a[8],
                    uint8_t mac_s[8]);

/* f2..f5 and f5*: RES, CK, IK, AK, AK*. Any output may be NULL. */
int mcx_milenage_f2345(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                       uint8_t res[8], uint8_t ck[16], uint8_t ik[16], uint8_t ak[6],
                       uint8_t akstar[6]);

/* ---------------- SQN helpers ---------------- */

/* 48-bit SQN <-> 6 big-endian octets. */
void mcx_sqn_to_bytes(uint64_t sqn, uint8_t out[6]);
uint64_t mcx_sqn_from_bytes(const uint8_t in[6]);

/*
 * The SQN the network uses after `last` (TS 33.102 Annex C.3.2): SEQ + 1 with
 * the IND field (the `ind_bits` low bits) set to `ind`. `ind_bits` 0..10,
 * `ind` < 2^ind_bits. Wraps to SEQ = 1 past the top (never returns 0 for
 * valid arguments; returns 0 if `ind_bits`, `ind` or `last` is out of range).
 */
uint64_t mcx_sqn_next(uint64_t last, unsigned ind_bits, unsigned ind);

/* ---------------- IMS AKA, network side ---------------- */

typedef struct {
    uint8_t rand[MCX_AKA_RAND_LEN];
    uint8_t autn[MCX_AKA_AUTN_LEN];
    uint8_t xres[MCX_AKA_RES_LEN];
    uint8_t ck[MCX_AKA_CK_LEN];
    uint8_t ik[MCX_AKA_IK_LEN];
} mcx_aka_vector_t;

/*
 * Build one authentication vector for `sqn` and `rand` (TS 33.102 §6.3.2):
 * AUTN = SQN xor AK || AMF || MAC-A. Returns 0, -EINVAL (sqn > 48 bits) or -EIO.
 */
int mcx_aka_vector(const uint8_t k[16], const uint8_t opc[16], const uint8_t amf[2],
                   uint64_t sqn, const uint8_t rand[16], mcx_aka_vector_t *out);

/*
 * Resynchronisation (TS 33.102 §6.3.5): recover SQN_MS from AUTS for the RAND
 * of the failed challenge and verify MAC-S (computed with the dummy AMF 0000).
 * Returns 0 with *sqn_ms set, or -EBADMSG if MAC-S does not verify.
 */
int mcx_aka_resync(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                   const uint8_t auts[14], uint64_t *sqn_ms);

/* ---------------- IMS AKA, UE side ---------------- */

/*
 * What the USIM/ISIM does with a challenge: recover SQN from AUTN, verify
 * MAC-A, and compute RES, CK, IK. It does NOT judge SQN freshness; the caller
 * does that with mcx_aka_ue_sqn_ok(). Returns 0 or -EBADMSG (MAC-A wrong).
 * `sqn_out`, `res`, `ck`, `ik` may be NULL.
 */
int mcx_aka_ue_challenge(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                         const uint8_t autn[16], uint64_t *sqn_out, uint8_t res[8],
                         uint8_t ck[16], uint8_t ik[16]);

/*
 * SQN freshness per TS 33.102 Annex C.2.2 with one SEQ_MS per IND slot:
 * accepted iff SEQ > seq_ms[IND] and SEQ - max(seq_ms) < delta.
 * `seq_ms` has 2^ind_bits entries. On acceptance seq_ms[IND] := SEQ.
 */
bool mcx_aka_ue_sqn_ok(uint64_t *seq_ms, unsigned ind_bits, uint64_t delta, uint64_t sqn);

/* AUTS = (SQN_MS xor AK*) || MAC-S, MAC-S with AMF 0000. Returns 0, -EINVAL
 * (sqn_ms > 48 bits) or -EIO. */
int mcx_aka_ue_auts(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
                    uint64_t sqn_ms, uint8_t auts[14]);

/* ---------------- HTTP Digest (RFC 2617, RFC 7616) ---------------- */

typedef enum {
    MCX_DIGEST_MD5 = 0,
    MCX_DIGEST_SHA256 = 1,
} mcx_digest_alg_t;

/* Hex digest length of the algorithm: 32 (MD5) or 64 (SHA-256). */
size_t mcx_digest_hexlen(mcx_digest_alg_t alg);

/* "MD5" / "SHA-256" (case-insensitive, "-sess" not supported). Returns 0 or -EINVAL. */
int mcx_digest_alg_parse(const char *name, mcx_digest_alg_t *out);
/* "MD5" / "SHA-256"; NULL for a value that is not an mcx_digest_alg_t. */
const char *mcx_digest_alg_name(mcx_digest_alg_t alg);

/*
 * HA1 = H(username ":" realm ":" password), lower-case hex into `out`
 * (which must hold hexlen + 1). The password is given with its length because
 * an AKA RES is binary. Returns 0 or -EINVAL / -EIO.
 */
int mcx_digest_ha1(mcx_digest_alg_t alg, const char *username, const char *realm,
                   const uint8_t *password, size_t password_len, char *out, size_t outlen);

/*
 * The request-digest of RFC 2617 §3.2.2.1 / RFC 7616 §3.4.1:
 * with qop "auth": H(HA1:nonce:nc:cnonce:qop:HA2), HA2 = H(method:uri);
 * with qop "auth-int": HA2 = H(method:uri:H(body)) (`body` may be NULL = empty);
 * with qop NULL or "": H(HA1:nonce:HA2).
 * `ha1_hex` is the hex HA1 (exactly hexlen digits; upper case is accepted and
 * hashed as lower case). Result as lower-case hex into `out` (hexlen + 1).
 * Returns 0, -EINVAL (unknown qop, missing nc/cnonce with a qop, malformed
 * HA1, `out` too small) or -EIO.
 */
int mcx_digest_response(mcx_digest_alg_t alg, const char *ha1_hex, const char *nonce,
                        const char *nc, const char *cnonce, const char *qop, const char *method,
                        const char *uri, const uint8_t *body, size_t body_len, char *out,
                        size_t outlen);

#endif /* MCX_AUTH_H */

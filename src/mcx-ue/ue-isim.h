/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The ISIM of mcx-ue: what a UICC does with an IMS AKA challenge
 * (TS 33.102 §6.3.3) and the SEQ_MS array per IND slot (Annex C.2.2) kept in
 * a small text file, rewritten atomically (temp file, fsync, rename) after
 * every accepted challenge so that a restarted UE still rejects replays.
 */
#ifndef UE_ISIM_H
#define UE_ISIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/mcx-auth.h"

#define UE_ISIM_MAX_SLOTS 1024 /* 2^10, the largest IND length accepted */

typedef struct {
    uint8_t k[MCX_AKA_K_LEN];
    uint8_t opc[MCX_AKA_OPC_LEN];
    unsigned ind_bits;
    uint64_t delta;
    char path[4096];
    uint64_t seq_ms[UE_ISIM_MAX_SLOTS];
} ue_isim_t;

typedef enum {
    UE_AKA_OK = 0,           /* MAC-A and SQN good: RES, CK, IK valid */
    UE_AKA_SYNC_FAILURE = 1, /* MAC-A good, SQN not fresh: AUTS valid */
    UE_AKA_MAC_FAILURE = 2,  /* network not authentic */
} ue_aka_verdict_t;

typedef struct {
    ue_aka_verdict_t verdict;
    uint64_t sqn;    /* SQN recovered from AUTN (not with MAC failure) */
    uint64_t sqn_ms; /* sync failure: the SQN_MS carried in AUTS */
    uint8_t res[MCX_AKA_RES_LEN];
    uint8_t ck[MCX_AKA_CK_LEN];
    uint8_t ik[MCX_AKA_IK_LEN];
    uint8_t auts[MCX_AKA_AUTS_LEN];
} ue_aka_result_t;

/*
 * Set up *isim with copies of K and OPc and load the SEQ_MS state from
 * `path`. A missing file is a fresh ISIM (all SEQ_MS zero); it is created at
 * the first save. The file's ind_bits must match `ind_bits`. Returns 0,
 * -EINVAL (malformed file or arguments; `err` says where) or -errno.
 */
int ue_isim_open(ue_isim_t *isim, const uint8_t k[16], const uint8_t opc[16], const char *path,
                 unsigned ind_bits, unsigned delta_log2, char *err, size_t errlen);

/* Write the SEQ_MS state atomically. Returns 0 or -errno. */
int ue_isim_save(const ue_isim_t *isim);

/* Forget K, OPc (call when done). */
void ue_isim_close(ue_isim_t *isim);

/* The highest accepted SQN (SEQ_MS || IND of its slot), 0 for a fresh ISIM. */
uint64_t ue_isim_sqn_ms(const ue_isim_t *isim);

/*
 * Make the ISIM believe it is `n` sequence numbers ahead of everything it
 * accepted: every slot's SEQ_MS := highest SEQ_MS + n. Saved. Used to force a
 * resynchronisation in tests. Returns 0, -EINVAL (overflow) or -errno.
 */
int ue_isim_advance(ue_isim_t *isim, uint64_t n);

/*
 * Run a challenge (RAND, AUTN from the nonce) through the ISIM. On UE_AKA_OK
 * the new SEQ_MS is saved before returning, so RES is released only once
 * the state is durable. Returns 0 with out->verdict set, or -errno (a save
 * or crypto failure: no RES is released then).
 */
int ue_isim_challenge(ue_isim_t *isim, const uint8_t rand[16], const uint8_t autn[16],
                      ue_aka_result_t *out);

/* Wipe RES, CK, IK and AUTS from a result. */
void ue_aka_result_wipe(ue_aka_result_t *res);

#endif /* UE_ISIM_H */

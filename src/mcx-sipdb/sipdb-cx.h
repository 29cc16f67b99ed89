/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The Cx requests mcx-sipdb serves, as plain C structs, and the decisions
 * taken on them. decode (sipdb-decode.c): freeDiameter message -> request
 * struct; decide (sipdb-mar.c, sipdb-sar.c, sipdb-uar-lir.c): request ->
 * answer struct, with store calls but no freeDiameter API; encode
 * (sipdb-encode.c): answer struct -> AVPs. TS 29.228 / TS 29.229.
 */
#ifndef SIPDB_CX_H
#define SIPDB_CX_H

#include "auth/mcx-auth.h"
#include "sipdb-context.h"

#define SIPDB_MAX_PUBLIC_IDS 8

/* An identity as received: exact bytes, for echoing back (TS 29.229 §6.1.8). */
typedef struct {
    bool present;
    char s[MCX_STORE_ID_MAX];
} sipdb_id_t;

typedef struct {
    sipdb_id_t user_name;       /* IMPI */
    sipdb_id_t public_identity; /* IMPU */
    sipdb_id_t server_name;
    bool has_scheme;
    char scheme[64];
    uint32_t n_items;           /* 0 when absent */
    bool has_authorization;     /* SIP-Authorization (resync: RAND || AUTS) */
    uint8_t authorization[64];
    size_t authorization_len;
    char digest_algorithm[16];  /* Digest-Algorithm asked in SIP-Digest-Authenticate, or "" */
} sipdb_mar_req_t;

typedef struct {
    sipdb_id_t user_name;
    unsigned n_public;
    sipdb_id_t public_identity[SIPDB_MAX_PUBLIC_IDS];
    sipdb_id_t server_name;
    bool has_sat;
    int32_t sat;                /* Server-Assignment-Type */
    int32_t udaa;               /* User-Data-Already-Available, 0 when absent */
} sipdb_sar_req_t;

typedef struct {
    sipdb_id_t user_name;
    sipdb_id_t public_identity;
    bool has_visited_network;
    int32_t uat;                /* User-Authorization-Type, 0 when absent */
} sipdb_uar_req_t;

typedef struct {
    sipdb_id_t public_identity;
    bool originating;           /* Originating-Request present */
} sipdb_lir_req_t;

/* The outcome shared by every answer. Exactly one of the codes is non-zero. */
typedef struct {
    uint32_t result_code;       /* base Result-Code, e.g. 2001, 5004, 5005 */
    uint32_t exp_result;        /* 3GPP Experimental-Result-Code, e.g. 5001 */
    /* For 5004/5005: the AVP to name in Failed-AVP (by code/vendor). */
    uint32_t failed_code, failed_vendor;
    char why[160];              /* one log line's worth: what was wrong */
} sipdb_outcome_t;

typedef struct {
    sipdb_outcome_t out;
    mcx_auth_scheme_t scheme;
    unsigned n_vectors;
    mcx_aka_vector_t vec[MCX_STORE_MAX_SQN_BATCH];
    /* SIP Digest */
    char realm[MCX_STORE_ID_MAX];
    char algorithm[16];         /* "MD5" or "SHA-256" */
    char ha1[65];
    char alt_algorithm[16];     /* RFC 8760 alternate (SHA-256) or "" */
    char alt_ha1[65];
    char qop[32];
} sipdb_mar_ans_t;

typedef struct {
    sipdb_outcome_t out;
    char impi[MCX_STORE_ID_MAX]; /* User-Name of the answer, "" for none */
    char *user_data;            /* IMSSubscription XML, malloc'd, or NULL */
} sipdb_sar_ans_t;

typedef struct {
    sipdb_outcome_t out;
    char server_name[MCX_STORE_ID_MAX]; /* "" for none */
    bool capabilities;          /* send Server-Capabilities with the configured names */
} sipdb_loc_ans_t;              /* UAA and LIA */

/* Decide. `ctx` borrowed; fill the answer (caller zeroes it). Thread-safe. */
void sipdb_mar_decide(sipdb_context_t *ctx, const sipdb_mar_req_t *req, sipdb_mar_ans_t *ans);
void sipdb_sar_decide(sipdb_context_t *ctx, const sipdb_sar_req_t *req, sipdb_sar_ans_t *ans);
void sipdb_uar_decide(sipdb_context_t *ctx, const sipdb_uar_req_t *req, sipdb_loc_ans_t *ans);
void sipdb_lir_decide(sipdb_context_t *ctx, const sipdb_lir_req_t *req, sipdb_loc_ans_t *ans);

/*
 * Build the User-Data of TS 29.228 Annex E / TS 29.229 (IMSSubscription)
 * for `sub`. Returns a malloc'd string or NULL on ENOMEM.
 */
char *sipdb_user_data(const mcx_subscriber_t *sub);

/* Helpers for the decide step. */
void sipdb_fail(sipdb_outcome_t *o, uint32_t result, uint32_t exp, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sipdb_fail_avp(sipdb_outcome_t *o, uint32_t result, uint32_t code, uint32_t vendor,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/*
 * Resolve the subscriber for (impi, impu) as TS 29.228 §6.1 and §6.3 say:
 * unknown IMPI or IMPU -> 5001, IMPU of another subscriber -> 5002.
 * `impi` may be NULL (SAR/LIR without User-Name): found from `impu`.
 * Returns 0 with *sub filled, or -1 with the outcome set.
 */
int sipdb_resolve(sipdb_context_t *ctx, const char *impi, const char *impu,
                  mcx_subscriber_t *sub, sipdb_outcome_t *o);

/*
 * Check that `impu` belongs to the already resolved `sub`: 0, or -1 with
 * the outcome set (5001 unknown IMPU, 5002 IMPU of another subscriber).
 */
int sipdb_check_impu(sipdb_context_t *ctx, const mcx_subscriber_t *sub, const char *impu,
                     sipdb_outcome_t *o);

/* The entry of `impu` in `sub`, or NULL. */
const mcx_store_impu_t *sipdb_find_impu(const mcx_subscriber_t *sub, const char *impu);

/*
 * A subscriber record for a decision (large: on the heap). NULL with the
 * outcome set to 5012 when memory runs out. Free with sipdb_subscriber_free,
 * which wipes the keys first.
 */
mcx_subscriber_t *sipdb_subscriber_new(sipdb_outcome_t *o);
void sipdb_subscriber_free(mcx_subscriber_t *sub);

#endif /* SIPDB_CX_H */

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* Decode and encode steps of mcx-sipdb's Cx handlers (freeDiameter side). */
#ifndef SIPDB_DECODE_H
#define SIPDB_DECODE_H

#include "sipdb-cx.h"

/* Fill the request struct from `m` (borrowed). 0, or -1 with `o` set. */
int sipdb_decode_mar(struct msg *m, sipdb_mar_req_t *r, sipdb_outcome_t *o);
int sipdb_decode_sar(struct msg *m, sipdb_sar_req_t *r, sipdb_outcome_t *o);
int sipdb_decode_uar(struct msg *m, sipdb_uar_req_t *r, sipdb_outcome_t *o);
int sipdb_decode_lir(struct msg *m, sipdb_lir_req_t *r, sipdb_outcome_t *o);

/*
 * Add the outcome (Result-Code or Experimental-Result, Origin-*, VSAI,
 * Auth-Session-State, and Error-Message / Failed-AVP on errors) to the
 * answer `ans`. Returns 0 or -errno.
 */
int sipdb_encode_outcome(struct msg *ans, const sipdb_outcome_t *o);

/* Add the command-specific AVPs of a successful (or failed) answer. */
int sipdb_encode_maa(struct msg *ans, const sipdb_mar_req_t *req, const sipdb_mar_ans_t *a);
int sipdb_encode_saa(struct msg *ans, const sipdb_sar_ans_t *a);
int sipdb_encode_loc(struct msg *ans, const sipdb_config_t *cfg, const sipdb_loc_ans_t *a);

#endif /* SIPDB_DECODE_H */

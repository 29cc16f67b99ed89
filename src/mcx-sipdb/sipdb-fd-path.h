/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* mcx-sipdb's freeDiameter lifecycle: start serving Cx, stop. */
#ifndef SIPDB_FD_PATH_H
#define SIPDB_FD_PATH_H

#include "sipdb-context.h"
#include "diameter/mcx-diameter.h"

/*
 * Initialise freeDiameter from ctx->cfg->diameter, define the Cx dictionary,
 * register the MAR/SAR/UAR/LIR handlers (which borrow `ctx` until
 * sipdb_fd_final returns) and start. Main thread only. Returns 0 or -errno.
 */
int sipdb_fd_init(sipdb_context_t *ctx);
void sipdb_fd_final(void);

/*
 * Answer one parsed Cx request offline, exactly as the dispatch callbacks
 * do: *msg (a request, already through fd_msg_parse_dict) is replaced by
 * its answer, which the caller frees. For the fuzzer and tests. Returns 0
 * or an errno (then *msg may still be the request).
 */
int sipdb_fd_answer(sipdb_context_t *ctx, struct msg **msg);

#endif /* SIPDB_FD_PATH_H */

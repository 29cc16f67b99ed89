/* SPDX-License-Identifier: AGPL-3.0-or-later */
/* mcx-sipdb's freeDiameter lifecycle: start serving Cx, stop. */
#ifndef SIPDB_FD_PATH_H
#define SIPDB_FD_PATH_H

#include "sipdb-context.h"

/*
 * Initialise freeDiameter from ctx->cfg->diameter, define the Cx dictionary,
 * register the MAR/SAR/UAR/LIR handlers (which borrow `ctx` until
 * sipdb_fd_final returns) and start. Main thread only. Returns 0 or -errno.
 */
int sipdb_fd_init(sipdb_context_t *ctx);
void sipdb_fd_final(void);

#endif /* SIPDB_FD_PATH_H */

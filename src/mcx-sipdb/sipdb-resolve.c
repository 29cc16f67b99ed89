/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * What every Cx decision starts with: find the subscriber behind the
 * identities of a request, and record why a request failed.
 */
#include "sipdb-cx.h"
#include "cx/mcx-diameter-cx.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void vfail(sipdb_outcome_t *o, uint32_t result, uint32_t exp, const char *fmt,
                  va_list ap)
{
    o->result_code = result;
    o->exp_result = exp;
    vsnprintf(o->why, sizeof(o->why), fmt, ap);
}

void sipdb_fail(sipdb_outcome_t *o, uint32_t result, uint32_t exp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(o, result, exp, fmt, ap);
    va_end(ap);
}

void sipdb_fail_avp(sipdb_outcome_t *o, uint32_t result, uint32_t code, uint32_t vendor,
                    const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(o, result, 0, fmt, ap);
    va_end(ap);
    o->failed_code = code;
    o->failed_vendor = vendor;
}

const mcx_store_impu_t *sipdb_find_impu(const mcx_subscriber_t *sub, const char *impu)
{
    for (unsigned i = 0; i < sub->n_impus; i++)
        if (!strcmp(sub->impus[i].impu, impu))
            return &sub->impus[i];
    return NULL;
}

mcx_subscriber_t *sipdb_subscriber_new(sipdb_outcome_t *o)
{
    mcx_subscriber_t *sub = malloc(sizeof(*sub));
    if (!sub)
        sipdb_fail(o, MCX_DIAM_UNABLE_TO_COMPLY, 0, "out of memory");
    return sub;
}

void sipdb_subscriber_free(mcx_subscriber_t *sub)
{
    if (!sub)
        return;
    /* The record holds K and OPc: do not leave them in freed memory. */
    explicit_bzero(sub->k, sizeof(sub->k));
    explicit_bzero(sub->opc, sizeof(sub->opc));
    free(sub);
}

int sipdb_check_impu(sipdb_context_t *ctx, const mcx_subscriber_t *sub, const char *impu,
                     sipdb_outcome_t *o)
{
    if (sipdb_find_impu(sub, impu))
        return 0;
    char owner[MCX_STORE_ID_MAX];
    int rv = mcx_store_impi_by_impu(ctx->store, impu, owner, sizeof(owner));
    if (rv == -ENOENT)
        sipdb_fail(o, 0, MCX_CX_ERROR_USER_UNKNOWN, "unknown public identity %s", impu);
    else if (rv)
        sipdb_fail(o, MCX_DIAM_UNABLE_TO_COMPLY, 0, "store error: %s", strerror(-rv));
    else
        sipdb_fail(o, 0, MCX_CX_ERROR_IDENTITIES_DONT_MATCH,
                   "public identity %s does not belong to %s", impu, sub->impi);
    return -1;
}

int sipdb_resolve(sipdb_context_t *ctx, const char *impi, const char *impu,
                  mcx_subscriber_t *sub, sipdb_outcome_t *o)
{
    char owner[MCX_STORE_ID_MAX];
    int rv;

    if (!impi) {
        rv = mcx_store_impi_by_impu(ctx->store, impu, owner, sizeof(owner));
        if (rv == -ENOENT) {
            sipdb_fail(o, 0, MCX_CX_ERROR_USER_UNKNOWN, "unknown public identity %s", impu);
            return -1;
        }
        if (rv)
            goto store_error;
        impi = owner;
    }

    rv = mcx_store_subscriber_get(ctx->store, impi, sub);
    if (rv == -ENOENT) {
        sipdb_fail(o, 0, MCX_CX_ERROR_USER_UNKNOWN, "unknown private identity %s", impi);
        return -1;
    }
    if (rv)
        goto store_error;
    return impu ? sipdb_check_impu(ctx, sub, impu, o) : 0;

store_error:
    /* DIAMETER_UNABLE_TO_COMPLY: the request was fine, we could not serve it. */
    sipdb_fail(o, MCX_DIAM_UNABLE_TO_COMPLY, 0, "store error: %s", strerror(-rv));
    return -1;
}

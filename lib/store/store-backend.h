/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * store-backend.h: the table of operations every storage backend implements
 * (SQLite in store-sqlite.c today, PostgreSQL later). Internal to lib/store:
 * store-api.c validates arguments and records, then dispatches here, so a
 * backend may assume non-NULL pointers, NUL-terminated identities and valid
 * records. Each operation returns 0 or a negative errno as in mcx-store.h.
 */
#ifndef MCX_STORE_BACKEND_H
#define MCX_STORE_BACKEND_H

#include "mcx-store.h"

/* IMPIs a list page carries; the API calls the user's callback between pages. */
#define MCX_STORE_LIST_PAGE 64

typedef struct mcx_store_backend_s mcx_store_backend_t;

/* `be` below is the backend's own state, returned by open(). */
struct mcx_store_backend_s {
    const char *name; /* matches mcx_store_config_t.backend */

    /* Open and migrate to schema_latest(). `err` gets a one-line reason. */
    int (*open)(const mcx_store_config_t *cfg, void **be, char *err, size_t errlen);
    void (*close)(void *be);
    int (*schema_version)(void *be);
    int (*schema_latest)(void);

    /* -EEXIST names the clashing identity in `err`. */
    int (*subscriber_add)(void *be, const mcx_subscriber_t *sub, char *err, size_t errlen);
    int (*subscriber_update)(void *be, const mcx_subscriber_t *sub, char *err, size_t errlen);
    int (*subscriber_delete)(void *be, const char *impi);
    int (*subscriber_get)(void *be, const char *impi, mcx_subscriber_t *out);
    int (*impi_by_impu)(void *be, const char *impu, char *impi, size_t impilen);

    /*
     * Up to `cap` IMPIs strictly greater than `after` ("" = from the start),
     * in byte order, into impis[]; *n gets how many. Holds no lock on return,
     * so the caller may call back into the store between pages.
     */
    int (*subscriber_list_page)(void *be, const char *after, char (*impis)[MCX_STORE_ID_MAX],
                                unsigned cap, unsigned *n);

    /*
     * Atomically read the stored SQN (or take *resync_sqn_ms), let
     * mcx_store_sqn_fill() compute the batch, store the last one, commit.
     */
    int (*sqn_reserve)(void *be, const char *impi, unsigned count, unsigned ind_bits, unsigned ind,
                       const uint64_t *resync_sqn_ms, uint64_t *sqns);
    int (*sqn_set)(void *be, const char *impi, uint64_t sqn);

    int (*reg_set)(void *be, const char *impi, const char *impu, mcx_reg_state_t state,
                   const char *scscf_name);
};

extern const mcx_store_backend_t mcx_store_sqlite_backend;

/*
 * The SQN arithmetic shared by all backends (store-api.c): sqns[i] is
 * mcx_sqn_next() of sqns[i-1], sqns[-1] being `start`. Arguments are already
 * checked by the API. Pure; call it inside the backend's transaction.
 */
void mcx_store_sqn_fill(uint64_t start, unsigned count, unsigned ind_bits, unsigned ind,
                        uint64_t *sqns);

/*
 * Ordered schema of the SQLite backend (store-schema.c). Step i (0-based)
 * takes a database at PRAGMA user_version i to i + 1. Append only: a step,
 * once released, is never edited.
 */
extern const char *const mcx_store_sqlite_migrations[];
extern const unsigned mcx_store_sqlite_n_migrations;

/* One-line error into `err` (may be NULL). */
void mcx_store_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif /* MCX_STORE_BACKEND_H */

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Group commit for the IdMS store: one write connection, used by one batch
 * at a time. A request thread queues a job; when no batch is running it
 * leads one: everything queued runs in one transaction, each job in its own
 * savepoint, with one commit (one fsync, synchronous FULL), and each waiter
 * wakes with its own result. Jobs queued meanwhile form the next batch, led
 * by one of their threads. A maintenance thread checkpoints the WAL beside
 * the batches and queues the periodic expiry sweep.
 */
#ifndef IDMS_WRITER_H
#define IDMS_WRITER_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A write job, run by the batch's leader inside a transaction. Its return
 * value is its result. Its writes are kept when it returns >= 0 or sets *keep
 * (a refusal whose writes must persist, e.g. a family revoked on replay);
 * otherwise they are rolled back to its savepoint, never touching the
 * other jobs of the batch.
 */
typedef int (*idms_write_fn)(sqlite3 *db, void *arg, bool *keep);

typedef struct idms_writer idms_writer_t;

/*
 * Open the store at path (its own connection) and start the writer.
 * full_sync: commits also survive a power cut (an fsync each), else a kill.
 * sweep_s: seconds between expiry sweeps (idms_store_purge); with it, a
 * maintenance thread also takes over WAL checkpoints. 0: neither.
 * Returns 0 or -errno with a message in err.
 */
int idms_writer_start(const char *path, bool full_sync, unsigned sweep_s, idms_writer_t **out,
                      char *err, size_t errlen);

/*
 * Run fn(db, arg) in the next batch and wait until the batch is committed
 * (durable) or failed. Returns fn's result, or -EIO when the batch could
 * not be committed (then nothing of it is stored), -ESHUTDOWN when stopping.
 */
int idms_writer_run(idms_writer_t *w, idms_write_fn fn, void *arg);

/* Stop the sweep, let queued jobs finish, close the connection. NULL ok. */
void idms_writer_stop(idms_writer_t *w);

/* Jobs run and transactions committed so far. */
void idms_writer_counts(idms_writer_t *w, uint64_t *jobs, uint64_t *commits);

#endif /* IDMS_WRITER_H */

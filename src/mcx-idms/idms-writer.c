/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The IdMS store's writer thread (see idms-writer.h): a queue of jobs
 * waiting on a condition variable, run in batches of one transaction with
 * one savepoint per job and one commit per batch.
 */
#include "idms-writer.h"

#include "idms-store.h"
#include "mcx-core.h"
#include "mcx-sqlite.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct job {
    idms_write_fn fn;
    void *arg;
    int result;
    bool done;
    struct job *next;
} job_t;

struct idms_writer {
    sqlite3 *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work; /* the writer waits for jobs */
    pthread_cond_t done; /* waiters wait for their job */
    job_t *head, **tail;
    bool stopping;
    unsigned sweep_s;
    uint64_t jobs, commits;
};

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static void sweep(idms_writer_t *w)
{
    if (idms_store_begin(w->db))
        return;
    int n = idms_store_purge(w->db, now_s());
    if (idms_store_end(w->db, n >= 0) == 0 && n > 0)
        MCX_INFO("expiry sweep: %d expired codes and refresh tokens deleted", n);
}

/* One batch: BEGIN, a savepoint per job, one COMMIT. Fills each result. */
static uint64_t run_batch(idms_writer_t *w, job_t *list)
{
    if (idms_store_begin(w->db) != 0) {
        for (job_t *j = list; j; j = j->next)
            j->result = -EIO;
        return 0;
    }
    bool lost = false; /* SQLite rolled the whole transaction back (I/O error, full disk) */
    for (job_t *j = list; j; j = j->next) {
        if (lost || idms_store_savepoint(w->db) != 0) {
            j->result = -EIO;
            continue;
        }
        bool keep = false;
        j->result = j->fn(w->db, j->arg, &keep);
        if (!sqlite3_get_autocommit(w->db)) {
            if (idms_store_savepoint_end(w->db, j->result >= 0 || keep) != 0)
                j->result = -EIO;
        }
        if (sqlite3_get_autocommit(w->db))
            lost = true;
    }
    if (lost || idms_store_end(w->db, true) != 0) {
        if (!sqlite3_get_autocommit(w->db))
            idms_store_end(w->db, false);
        MCX_ERR("idms store: a batch of writes could not be committed");
        for (job_t *j = list; j; j = j->next)
            j->result = -EIO;
        return 0;
    }
    return 1;
}

static void *writer_main(void *ud)
{
    idms_writer_t *w = ud;
    int64_t next_sweep = w->sweep_s ? now_s() : INT64_MAX;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->head && !w->stopping && now_s() < next_sweep) {
            if (next_sweep == INT64_MAX) {
                pthread_cond_wait(&w->work, &w->mu);
            } else {
                struct timespec ts = {.tv_sec = next_sweep, .tv_nsec = 0};
                pthread_cond_timedwait(&w->work, &w->mu, &ts);
            }
        }
        if (!w->head && w->stopping)
            break;
        job_t *list = w->head;
        w->head = NULL;
        w->tail = &w->head;
        pthread_mutex_unlock(&w->mu);

        uint64_t n = 0, committed = 0;
        if (list) {
            for (job_t *j = list; j; j = j->next)
                n++;
            committed = run_batch(w, list);
        }
        if (w->sweep_s && now_s() >= next_sweep) {
            sweep(w);
            next_sweep = now_s() + w->sweep_s;
        }

        pthread_mutex_lock(&w->mu);
        w->jobs += n;
        w->commits += committed;
        for (job_t *j = list, *next; j; j = next) {
            next = j->next; /* j lives on its waiter's stack: read before waking it */
            j->done = true;
        }
        if (list)
            pthread_cond_broadcast(&w->done);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

int idms_writer_start(const char *path, bool full_sync, unsigned sweep_s, idms_writer_t **out, char *err,
                      size_t errlen)
{
    *out = NULL;
    idms_writer_t *w = calloc(1, sizeof(*w));
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int rv = idms_store_open(path, &w->db, err, errlen);
    if (rv == 0)
        rv = mcx_sqlite_set_sync(w->db, full_sync, err, errlen);
    if (rv) {
        idms_store_close(w->db);
        free(w);
        return rv;
    }
    w->tail = &w->head;
    w->sweep_s = sweep_s;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->done, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        snprintf(err, errlen, "cannot start the store writer thread");
        idms_store_close(w->db);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->work);
        pthread_cond_destroy(&w->done);
        free(w);
        return -EAGAIN;
    }
    *out = w;
    return 0;
}

int idms_writer_run(idms_writer_t *w, idms_write_fn fn, void *arg)
{
    job_t j = {.fn = fn, .arg = arg};
    pthread_mutex_lock(&w->mu);
    if (w->stopping) {
        pthread_mutex_unlock(&w->mu);
        return -ESHUTDOWN;
    }
    *w->tail = &j;
    w->tail = &j.next;
    pthread_cond_signal(&w->work);
    while (!j.done)
        pthread_cond_wait(&w->done, &w->mu);
    pthread_mutex_unlock(&w->mu);
    return j.result;
}

void idms_writer_stop(idms_writer_t *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    idms_store_close(w->db);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->done);
    free(w);
}

void idms_writer_counts(idms_writer_t *w, uint64_t *jobs, uint64_t *commits)
{
    pthread_mutex_lock(&w->mu);
    *jobs = w->jobs;
    *commits = w->commits;
    pthread_mutex_unlock(&w->mu);
}

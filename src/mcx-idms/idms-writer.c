/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The IdMS store's writer (see idms-writer.h): group commit by leader. A
 * request thread queues its job; if no batch is running it becomes the
 * leader, takes everything queued, runs it as one transaction with one
 * savepoint per job and one commit, then wakes the others. Jobs queued while
 * a batch runs wait for it and go into the next, led by one of their own
 * threads. No thread hand-off when there is no contention.
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
    sqlite3 *db; /* used only by the leader of the running batch */
    pthread_mutex_t mu;
    pthread_cond_t done; /* waiters wait for their job, or to lead */
    pthread_cond_t tick; /* the maintenance thread waits for its time, or stop */
    job_t *head, **tail;
    bool leading; /* a batch is running */
    bool stopping;
    bool upkeep;      /* the maintenance thread runs */
    sqlite3 *ckpt_db; /* its connection, for WAL checkpoints */
    pthread_t upkeep_thread;
    unsigned sweep_s;
    uint64_t jobs, commits;
};

static int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

static int sweep_job(sqlite3 *db, void *arg, bool *keep)
{
    (void)arg;
    (void)keep;
    int n = idms_store_purge(db, now_s());
    if (n > 0)
        MCX_INFO("expiry sweep: %d expired codes and refresh tokens deleted", n);
    return n;
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

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The maintenance thread: every CHECKPOINT_MS a passive WAL checkpoint on its
 * own connection (it copies committed pages into the database beside the
 * batches and never blocks them; its fsyncs stay off the requests' path), and
 * every sweep_s seconds the expiry sweep, queued as a job of its own.
 */
#define CHECKPOINT_MS 200

static void *upkeep_main(void *ud)
{
    idms_writer_t *w = ud;
    pthread_mutex_lock(&w->mu);
    int64_t next_sweep = now_ms(); /* a first sweep at start */
    int64_t next_ckpt = now_ms() + CHECKPOINT_MS;
    while (!w->stopping) {
        int64_t now = now_ms(), next = next_sweep < next_ckpt ? next_sweep : next_ckpt;
        if (now < next) {
            struct timespec ts = {.tv_sec = next / 1000, .tv_nsec = (next % 1000) * 1000000};
            pthread_cond_timedwait(&w->tick, &w->mu, &ts);
            continue;
        }
        pthread_mutex_unlock(&w->mu);
        if (now >= next_ckpt) {
            int rc = sqlite3_wal_checkpoint_v2(w->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
                                               NULL);
            if (rc != SQLITE_OK && rc != SQLITE_BUSY)
                MCX_WARN("idms store: WAL checkpoint failed: %s", sqlite3_errmsg(w->ckpt_db));
            next_ckpt = now_ms() + CHECKPOINT_MS;
        }
        if (now >= next_sweep) {
            idms_writer_run(w, sweep_job, NULL);
            next_sweep = now_ms() + (int64_t)w->sweep_s * 1000;
        }
        pthread_mutex_lock(&w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* The maintenance thread's connection; the write connection stops checkpointing. */
static int upkeep_open(idms_writer_t *w, const char *path, char *err, size_t errlen)
{
    if (sqlite3_open_v2(path, &w->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "%s: cannot open for checkpoints: %s", path,
                 w->ckpt_db ? sqlite3_errmsg(w->ckpt_db) : "out of memory");
        return -EIO;
    }
    /* A connection that has not read the file does not know it is in WAL mode:
     * its checkpoints would do nothing. */
    sqlite3_busy_timeout(w->ckpt_db, 5000);
    if (sqlite3_exec(w->ckpt_db, "PRAGMA journal_mode", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(w->ckpt_db));
        return -EIO;
    }
    /*
     * Checkpoints move to the maintenance thread. The write connection keeps
     * a high threshold of its own as a backstop (should that thread starve),
     * and a reset WAL is truncated to a bounded size.
     */
    if (sqlite3_exec(w->db, "PRAGMA wal_autocheckpoint = 16384", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(w->db, "PRAGMA journal_size_limit = 67108864", NULL, NULL, NULL) !=
            SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(w->db));
        return -EIO;
    }
    return 0;
}

int idms_writer_start(const char *path, bool full_sync, unsigned sweep_s, idms_writer_t **out,
                      char *err, size_t errlen)
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
    pthread_cond_init(&w->done, NULL);
    pthread_cond_init(&w->tick, NULL);
    if (sweep_s) {
        rv = upkeep_open(w, path, err, errlen);
        if (rv == 0 && pthread_create(&w->upkeep_thread, NULL, upkeep_main, w) != 0) {
            snprintf(err, errlen, "cannot start the store's maintenance thread");
            rv = -EAGAIN;
        }
        if (rv) {
            idms_writer_stop(w);
            return rv;
        }
        w->upkeep = true;
    }
    *out = w;
    return 0;
}

/* Lead one batch: everything queued now. Called and returns with w->mu held. */
static void lead_batch(idms_writer_t *w)
{
    w->leading = true;
    job_t *list = w->head;
    w->head = NULL;
    w->tail = &w->head;
    pthread_mutex_unlock(&w->mu);

    uint64_t n = 0;
    for (job_t *j = list; j; j = j->next)
        n++;
    uint64_t committed = run_batch(w, list);

    pthread_mutex_lock(&w->mu);
    w->jobs += n;
    w->commits += committed;
    for (job_t *j = list, *next; j; j = next) {
        next = j->next; /* j lives on its waiter's stack: read before it may go */
        j->done = true;
    }
    w->leading = false;
    /* Wakes the waiters of this batch, and those of the next, one of whom leads it. */
    pthread_cond_broadcast(&w->done);
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
    while (!j.done) {
        if (!w->leading)
            lead_batch(w);
        else
            pthread_cond_wait(&w->done, &w->mu);
    }
    pthread_mutex_unlock(&w->mu);
    return j.result;
}

void idms_writer_stop(idms_writer_t *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->tick);
    pthread_mutex_unlock(&w->mu);
    if (w->upkeep)
        pthread_join(w->upkeep_thread, NULL);
    sqlite3_close(w->ckpt_db);
    /* Jobs already queued finish: their threads lead them. */
    pthread_mutex_lock(&w->mu);
    while (w->leading || w->head)
        pthread_cond_wait(&w->done, &w->mu);
    pthread_mutex_unlock(&w->mu);
    idms_store_close(w->db);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->done);
    pthread_cond_destroy(&w->tick);
    free(w);
}

void idms_writer_counts(idms_writer_t *w, uint64_t *jobs, uint64_t *commits)
{
    pthread_mutex_lock(&w->mu);
    *jobs = w->jobs;
    *commits = w->commits;
    pthread_mutex_unlock(&w->mu);
}

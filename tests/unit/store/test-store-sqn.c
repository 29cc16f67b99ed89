/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx_store_sqn_reserve: the SQN = SEQ || IND sequence (TS 33.102 Annex C),
 * resynchronisation from SQN_MS, argument bounds, durability across close
 * and reopen, and uniqueness when two handles (threads) or two processes
 * reserve from the same file at the same time.
 */
#include "test-store-common.h"

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define SQN_MAX ((UINT64_C(1) << 48) - 1)
#define IMPI "alice@alpha.example"

typedef struct {
    tmpdb_t db;
    mcx_store_t *st;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tmpdb_init(&f->db);
    f->st = tmpdb_open(&f->db);
    mcx_subscriber_t *s = sub_new();
    example_subscriber(s, "alice", 1);
    assert_int_equal(mcx_store_subscriber_add(f->st, s, NULL, 0), 0);
    example_subscriber(s, "dora", 2);
    s->has_aka = false;
    s->default_scheme = MCX_SCHEME_SIP_DIGEST;
    assert_int_equal(mcx_store_subscriber_add(f->st, s, NULL, 0), 0);
    free(s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    mcx_store_close(f->st);
    tmpdb_final(&f->db);
    free(f);
    return 0;
}

static uint64_t stored_sqn(mcx_store_t *st)
{
    mcx_subscriber_t *s = sub_new();
    assert_int_equal(mcx_store_subscriber_get(st, IMPI, s), 0);
    uint64_t v = s->sqn;
    free(s);
    return v;
}

/* SQN = SEQ << ind_bits | IND, written out rather than computed by the code under test. */
static uint64_t sqn_of(uint64_t seq, unsigned ind_bits, unsigned ind)
{
    return seq << ind_bits | ind;
}

static void test_sequence_with_ind(void **state)
{
    fixture_t *f = *state;
    uint64_t sqns[MCX_STORE_MAX_SQN_BATCH];

    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 3, 5, 3, NULL, sqns), 0);
    assert_int_equal(sqns[0], sqn_of(1, 5, 3));
    assert_int_equal(sqns[1], sqn_of(2, 5, 3));
    assert_int_equal(sqns[2], sqn_of(3, 5, 3));
    assert_int_equal(stored_sqn(f->st), sqn_of(3, 5, 3));

    /* Another IND slot continues SEQ, it does not restart it. */
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 1, 5, 17, NULL, sqns), 0);
    assert_int_equal(sqns[0], sqn_of(4, 5, 17));

    /* Without IND bits SQN is SEQ. */
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 2, 0, 0, NULL, sqns), 0);
    assert_int_equal(sqns[0], sqn_of(4, 5, 17) + 1);
    assert_int_equal(sqns[1], sqn_of(4, 5, 17) + 2);

    /* A full batch: 32 values, each one SEQ above the one before. */
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, MCX_STORE_MAX_SQN_BATCH, 5, 0, NULL, sqns),
                     0);
    for (unsigned i = 1; i < MCX_STORE_MAX_SQN_BATCH; i++)
        assert_int_equal(sqns[i], sqns[i - 1] + 32);
    assert_int_equal(stored_sqn(f->st), sqns[MCX_STORE_MAX_SQN_BATCH - 1]);
}

static void test_resync(void **state)
{
    fixture_t *f = *state;
    uint64_t sqns[4];
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 4, 5, 1, NULL, sqns), 0);

    /* TS 33.102 §6.3.5: the USIM is ahead (SQN_MS = SEQ 1000, IND 9); continue from it. */
    uint64_t sqn_ms = sqn_of(1000, 5, 9);
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 2, 5, 1, &sqn_ms, sqns), 0);
    assert_int_equal(sqns[0], sqn_of(1001, 5, 1));
    assert_int_equal(sqns[1], sqn_of(1002, 5, 1));
    assert_int_equal(stored_sqn(f->st), sqn_of(1002, 5, 1));

    /* And the next ordinary reservation follows on. */
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 1, 5, 1, NULL, sqns), 0);
    assert_int_equal(sqns[0], sqn_of(1003, 5, 1));

    /* SQN_MS wider than 48 bits is refused and changes nothing. */
    sqn_ms = SQN_MAX + 1;
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 1, 5, 1, &sqn_ms, sqns), -EINVAL);
    assert_int_equal(stored_sqn(f->st), sqn_of(1003, 5, 1));
}

static void test_wrap(void **state)
{
    fixture_t *f = *state;
    uint64_t sqns[2];
    /* SEQ at its top: the next wraps to SEQ 1 (Annex C.3.2), never to 0. */
    assert_int_equal(mcx_store_sqn_set(f->st, IMPI, SQN_MAX), 0);
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 2, 5, 2, NULL, sqns), 0);
    assert_int_equal(sqns[0], sqn_of(1, 5, 2));
    assert_int_equal(sqns[1], sqn_of(2, 5, 2));
}

static void test_errors_change_nothing(void **state)
{
    fixture_t *f = *state;
    uint64_t sqns[MCX_STORE_MAX_SQN_BATCH + 1];
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 1, 5, 0, NULL, sqns), 0);
    uint64_t before = stored_sqn(f->st);

    assert_int_equal(mcx_store_sqn_reserve(f->st, "dora@alpha.example", 1, 5, 0, NULL, sqns),
                     -ENODATA);
    assert_int_equal(mcx_store_sqn_reserve(f->st, "nobody@alpha.example", 1, 5, 0, NULL, sqns),
                     -ENOENT);
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 0, 5, 0, NULL, sqns), -EINVAL);
    assert_int_equal(
        mcx_store_sqn_reserve(f->st, IMPI, MCX_STORE_MAX_SQN_BATCH + 1, 5, 0, NULL, sqns), -EINVAL);
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 1, 5, 32, NULL, sqns), -EINVAL);
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 1, 11, 0, NULL, sqns), -EINVAL);
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 1, 0, 1, NULL, sqns), -EINVAL);
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 1, 5, 0, NULL, NULL), -EINVAL);
    assert_int_equal(mcx_store_sqn_reserve(f->st, "", 1, 5, 0, NULL, sqns), -EINVAL);
    assert_int_equal(stored_sqn(f->st), before);

    assert_int_equal(mcx_store_sqn_set(f->st, "dora@alpha.example", 5), -ENODATA);
    assert_int_equal(mcx_store_sqn_set(f->st, "nobody@alpha.example", 5), -ENOENT);
    assert_int_equal(mcx_store_sqn_set(f->st, IMPI, SQN_MAX + 1), -EINVAL);
    assert_int_equal(stored_sqn(f->st), before);
}

static void test_durable_across_reopen(void **state)
{
    fixture_t *f = *state;
    uint64_t a[5], b[5];
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 5, 5, 4, NULL, a), 0);
    mcx_store_close(f->st);

    f->st = tmpdb_open(&f->db);
    assert_int_equal(mcx_store_sqn_reserve(f->st, IMPI, 5, 5, 4, NULL, b), 0);
    assert_int_equal(b[0], sqn_of(6, 5, 4));
    assert_true(b[0] > a[4]);
}

/* ------------------------------------------------------------------------ */
/* Concurrency                                                              */
/* ------------------------------------------------------------------------ */

#define ROUNDS 1000

typedef struct {
    const tmpdb_t *db;
    pthread_barrier_t *start; /* NULL: start at once */
    unsigned ind;
    uint64_t got[ROUNDS * 3];
    unsigned n;
    int rv;
} worker_t;

/* Each worker owns a handle (a connection) on the shared file, as a second process would. */
static void *worker(void *arg)
{
    worker_t *w = arg;
    mcx_store_config_t cfg = {
        .backend = "sqlite", .sync = MCX_STORE_SYNC_NORMAL, .busy_timeout_ms = 20000};
    snprintf(cfg.path, sizeof(cfg.path), "%s", w->db->path);
    mcx_store_t *st = NULL;
    w->rv = mcx_store_open(&cfg, &st, NULL, 0);
    /* Both handles open before either reserves, so the reservations overlap. */
    if (w->start)
        pthread_barrier_wait(w->start);
    for (unsigned r = 0; w->rv == 0 && r < ROUNDS; r++) {
        unsigned batch = 1 + r % 3;
        w->rv = mcx_store_sqn_reserve(st, IMPI, batch, 5, w->ind, NULL, &w->got[w->n]);
        w->n += batch;
    }
    mcx_store_close(st);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Every value distinct across workers, increasing within each, SEQ with no holes. */
static void check_workers(worker_t *w, unsigned nw, uint64_t final)
{
    size_t total = 0;
    uint64_t *all = malloc(sizeof(uint64_t) * ROUNDS * 3 * nw);
    assert_non_null(all);
    for (unsigned i = 0; i < nw; i++) {
        assert_int_equal(w[i].rv, 0);
        for (unsigned j = 0; j < w[i].n; j++) {
            assert_int_equal(w[i].got[j] & 31, w[i].ind);
            if (j > 0)
                assert_true(w[i].got[j] > w[i].got[j - 1]);
            all[total++] = w[i].got[j] >> 5; /* SEQ */
        }
    }
    qsort(all, total, sizeof(all[0]), cmp_u64);
    for (size_t i = 0; i < total; i++)
        assert_int_equal(all[i], i + 1); /* SEQ 1..total, each exactly once */
    assert_int_equal(final >> 5, total);
    free(all);
}

static void test_two_handles_two_threads(void **state)
{
    fixture_t *f = *state;
    worker_t *w = calloc(2, sizeof(*w));
    assert_non_null(w);
    pthread_t t[2];
    pthread_barrier_t start;
    assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
    for (unsigned i = 0; i < 2; i++) {
        w[i].db = &f->db;
        w[i].start = &start;
        w[i].ind = i + 1;
        assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
    }
    for (unsigned i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    check_workers(w, 2, stored_sqn(f->st));
    free(w);
}

/* One handle shared by threads: the handle itself is thread-safe. */
typedef struct {
    mcx_store_t *st;
    uint64_t got[ROUNDS];
    int rv;
} shared_worker_t;

static void *shared_worker(void *arg)
{
    shared_worker_t *w = arg;
    for (unsigned r = 0; w->rv == 0 && r < ROUNDS; r++)
        w->rv = mcx_store_sqn_reserve(w->st, IMPI, 1, 0, 0, NULL, &w->got[r]);
    return NULL;
}

static void test_one_handle_four_threads(void **state)
{
    fixture_t *f = *state;
    shared_worker_t w[4];
    pthread_t t[4];
    memset(w, 0, sizeof(w));
    for (unsigned i = 0; i < 4; i++) {
        w[i].st = f->st;
        assert_int_equal(pthread_create(&t[i], NULL, shared_worker, &w[i]), 0);
    }
    uint64_t all[4 * ROUNDS];
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].rv, 0);
        for (unsigned r = 0; r < ROUNDS; r++) {
            if (r > 0)
                assert_true(w[i].got[r] > w[i].got[r - 1]);
            all[i * ROUNDS + r] = w[i].got[r];
        }
    }
    qsort(all, 4 * ROUNDS, sizeof(all[0]), cmp_u64);
    for (unsigned i = 0; i < 4 * ROUNDS; i++)
        assert_int_equal(all[i], i + 1);
}

/* Two processes: the child reports its values through a pipe. */
static void test_two_processes(void **state)
{
    fixture_t *f = *state;
    worker_t *w = calloc(2, sizeof(*w));
    assert_non_null(w);
    w[0].db = w[1].db = &f->db;
    w[0].ind = 1;
    w[1].ind = 2;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    /* A SQLite connection must not cross fork(): close ours, reopen afterwards. */
    mcx_store_close(f->st);
    f->st = NULL;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        worker(&w[1]);
        ssize_t n = write(fds[1], &w[1], sizeof(w[1]));
        _exit(n == (ssize_t)sizeof(w[1]) ? 0 : 1);
    }
    close(fds[1]);
    worker(&w[0]);
    size_t got = 0;
    while (got < sizeof(w[1])) {
        ssize_t n = read(fds[0], (char *)&w[1] + got, sizeof(w[1]) - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    w[1].db = &f->db;
    f->st = tmpdb_open(&f->db);
    check_workers(w, 2, stored_sqn(f->st));
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sequence_with_ind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_change_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_durable_across_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_handles_two_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_handle_four_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_processes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The state file `mcx up` writes and `mcx down` / `mcx status` read: a round
 * trip keeps every field, a damaged line is refused with its line number, and
 * a recorded pid that is now another process is not taken for ours. Also
 * the reading of the proxy's peer states that `mcx up` waits on.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mcx-orch.h"

static char dir[64];
static mcx_state_t st, back;

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/test-mcx-state-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char path[PATH_MAX];
    mcx_state_path(dir, path, sizeof(path));
    unlink(path);
    return rmdir(dir);
}

static void test_round_trip(void **state)
{
    memset(&st, 0, sizeof(st));
    mcx_proc_t *p = &st.procs[st.n++];
    snprintf(p->system, sizeof(p->system), "alpha");
    snprintf(p->name, sizeof(p->name), "kamailio");
    snprintf(p->identity, sizeof(p->identity), "scscf.alpha.test");
    snprintf(p->realm, sizeof(p->realm), "alpha.test");
    snprintf(p->log, sizeof(p->log), "/run dir/with space/scscf.log");
    p->pid = 4242;
    p->start_time = 123456789ULL;
    p->group = true;
    p->probe = MCX_PROBE_SIP;
    p->port = 5060;
    p = &st.procs[st.n++];
    snprintf(p->system, sizeof(p->system), "alpha");
    snprintf(p->name, sizeof(p->name), "mcx-sipdb");
    snprintf(p->identity, sizeof(p->identity), "sipdb.alpha.test");
    snprintf(p->realm, sizeof(p->realm), "alpha.test");
    snprintf(p->log, sizeof(p->log), "/x/sipdb.log");
    p->pid = 4243;
    p->port = 3868;
    assert_int_equal(mcx_state_save(dir, &st), 0);

    char err[512];
    assert_int_equal(mcx_state_load(dir, &back, err, sizeof(err)), 0);
    assert_int_equal(back.n, 2);
    assert_memory_equal(&back.procs[0], &st.procs[0], sizeof(st.procs[0]));
    assert_memory_equal(&back.procs[1], &st.procs[1], sizeof(st.procs[1]));
}

static void test_damaged_line(void **state)
{
    char path[PATH_MAX], err[512];
    mcx_state_path(dir, path, sizeof(path));
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fprintf(fp, "# comment\nalpha\tmcx-sipdb\tsipdb.alpha.test\tnotapid\t1\t0\tdiameter\t3868\t"
                "alpha.test\t/x.log\n");
    fclose(fp);
    assert_int_equal(mcx_state_load(dir, &back, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "mcx.state:2: not a state line"));

    fp = fopen(path, "w");
    fprintf(fp, "alpha\tmcx-sipdb\t1234\n");
    fclose(fp);
    assert_int_equal(mcx_state_load(dir, &back, err, sizeof(err)), -EINVAL);
    /* pid 1 is never ours to signal */
    fp = fopen(path, "w");
    fprintf(fp, "alpha\tmcx-sipdb\tx\t1\t1\t0\tdiameter\t3868\talpha.test\t/x.log\n");
    fclose(fp);
    assert_int_equal(mcx_state_load(dir, &back, err, sizeof(err)), -EINVAL);
}

static void test_missing(void **state)
{
    char err[512];
    assert_int_equal(mcx_state_load("/nonexistent-mcx-dir", &back, err, sizeof(err)), -ENOENT);
}

/* Our own pid with a start time that is not ours: "not the process we started". */
static void test_reused_pid_is_not_ours(void **state)
{
    mcx_proc_t p = {.pid = getpid(), .start_time = 1};
    assert_false(mcx_proc_alive(&p));
    assert_int_equal(mcx_proc_stop(&p, 10), -ESRCH); /* and it is not signalled */
    p.start_time = 0; /* unknown start time: the pid alone decides */
    assert_true(mcx_proc_alive(&p));
}

/*
 * mcx_fd_peer_open reads the last state the proxy's freeDiameter log gives a
 * peer: open, then dropped and back in REOPEN (logged only when it leaves
 * it), then open again; other peers' lines and other text do not count.
 */
static void test_fd_peer_open(void **state)
{
    static const char *const steps[] = {
        "T NOTICE diameter: 'STATE_WAITCEA'\t-> 'STATE_OPEN'\t'scscf.alpha.test'\n",
        "T NOTICE diameter: 'STATE_OPEN'\t-> 'STATE_CLOSED'\t'scscf.alpha.test'\n"
        "T NOTICE diameter: 'STATE_WAITCEA'\t-> 'STATE_OPEN'\t'sipdb.alpha.test'\n"
        "T NOTICE diameter: Connected to 'scscf.alpha.test' (TCP,soc#4), remote capabilities:\n",
        "T NOTICE diameter: 'STATE_REOPEN'\t-> 'STATE_OPEN'\t'scscf.alpha.test'\n",
        "T NOTICE diameter: 'STATE_CLOSED'\t-> STATE_ZOMBIE (terminated)\t'scscf.alpha.test'\n",
    };
    static const bool scscf_open[] = {true, false, true, false};
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/dproxy.log", dir);
    assert_false(mcx_fd_peer_open(path, "scscf.alpha.test")); /* no log yet */
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        fputs(steps[i], fp);
        fflush(fp);
        assert_int_equal(mcx_fd_peer_open(path, "scscf.alpha.test"), scscf_open[i]);
        assert_false(mcx_fd_peer_open(path, "alpha.test"));
    }
    fclose(fp);
    assert_true(mcx_fd_peer_open(path, "sipdb.alpha.test"));
    assert_false(mcx_fd_peer_open(path, "sipdb2.alpha.test"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_damaged_line),
        cmocka_unit_test(test_missing),
        cmocka_unit_test(test_reused_pid_is_not_ours),
        cmocka_unit_test(test_fd_peer_open),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Unit tests of mcx-ue's ISIM: challenge verdicts against vectors made by
 * lib/auth's network side (TS 35.208 Test Set 1 keys), AUTS that the network
 * resynchronises from, the SEQ_MS file (persistence, atomic rewrite,
 * refusal of malformed or mismatched files) and --sqn-ahead.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/mcx-core.h"
#include "ue-isim.h"

static uint8_t K[16], OPC[16], OTHER_K[16];
static const uint8_t AMF[2] = {0x80, 0x00};

typedef struct {
    char dir[64];
    char path[128];
    ue_isim_t isim;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    strcpy(f->dir, "/tmp/test-ue-isim-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/sqn.state", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    char tmp[160];
    unlink(f->path);
    snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
    unlink(tmp);
    rmdir(f->dir);
    free(f);
    return 0;
}

static void open_isim(fixture_t *f, int want)
{
    char err[256] = "";
    int rv = ue_isim_open(&f->isim, K, OPC, f->path, 5, 28, err, sizeof(err));
    if (rv != want)
        fail_msg("ue_isim_open: %d (%s), wanted %d", rv, err, want);
}

static void make_vector(const uint8_t *k, uint64_t sqn, uint8_t rand_seed, mcx_aka_vector_t *v)
{
    uint8_t rand[16];
    memset(rand, rand_seed, sizeof(rand));
    assert_int_equal(mcx_aka_vector(k, OPC, AMF, sqn, rand, v), 0);
}

static void write_file(const fixture_t *f, const char *text)
{
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_fresh_accepts_and_persists(void **state)
{
    fixture_t *f = *state;
    open_isim(f, 0); /* no file yet: a fresh ISIM */
    assert_int_equal(ue_isim_sqn_ms(&f->isim), 0);

    mcx_aka_vector_t v;
    uint64_t sqn = (UINT64_C(7) << 5) | 3; /* SEQ 7, IND 3 */
    make_vector(K, sqn, 0x11, &v);
    ue_aka_result_t r;
    assert_int_equal(ue_isim_challenge(&f->isim, v.rand, v.autn, &r), 0);
    assert_int_equal(r.verdict, UE_AKA_OK);
    assert_int_equal(r.sqn, sqn);
    assert_memory_equal(r.res, v.xres, 8);
    assert_memory_equal(r.ck, v.ck, 16);
    assert_memory_equal(r.ik, v.ik, 16);
    assert_int_equal(f->isim.seq_ms[3], 7);
    assert_int_equal(ue_isim_sqn_ms(&f->isim), sqn);

    /* A new process sees the state: the same vector is now a replay. */
    ue_isim_close(&f->isim);
    open_isim(f, 0);
    assert_int_equal(f->isim.seq_ms[3], 7);
    assert_int_equal(ue_isim_challenge(&f->isim, v.rand, v.autn, &r), 0);
    assert_int_equal(r.verdict, UE_AKA_SYNC_FAILURE);
    assert_int_equal(r.sqn_ms, sqn);

    /* The network recovers exactly SQN_MS from AUTS. */
    uint64_t sqn_ms = 0;
    assert_int_equal(mcx_aka_resync(K, OPC, v.rand, r.auts, &sqn_ms), 0);
    assert_int_equal(sqn_ms, sqn);

    /* The next SQN in another slot is fine; an older SEQ in a fresh slot too (Annex C). */
    make_vector(K, (UINT64_C(8) << 5) | 0, 0x22, &v);
    assert_int_equal(ue_isim_challenge(&f->isim, v.rand, v.autn, &r), 0);
    assert_int_equal(r.verdict, UE_AKA_OK);
    make_vector(K, (UINT64_C(5) << 5) | 9, 0x23, &v);
    assert_int_equal(ue_isim_challenge(&f->isim, v.rand, v.autn, &r), 0);
    assert_int_equal(r.verdict, UE_AKA_OK);
    ue_isim_close(&f->isim);
}

static void test_mac_failure_changes_nothing(void **state)
{
    fixture_t *f = *state;
    open_isim(f, 0);
    mcx_aka_vector_t v;
    make_vector(OTHER_K, UINT64_C(1) << 5, 0x33, &v);
    ue_aka_result_t r;
    memset(&r, 0xee, sizeof(r));
    assert_int_equal(ue_isim_challenge(&f->isim, v.rand, v.autn, &r), 0);
    assert_int_equal(r.verdict, UE_AKA_MAC_FAILURE);
    const uint8_t zero[16] = {0};
    assert_memory_equal(r.res, zero, 8);
    assert_int_equal(access(f->path, F_OK), -1); /* nothing saved */
    ue_isim_close(&f->isim);
}

static void test_window(void **state)
{
    fixture_t *f = *state;
    open_isim(f, 0);
    f->isim.seq_ms[0] = 100;
    mcx_aka_vector_t v;
    ue_aka_result_t r;
    /* SEQ - highest >= 2^28: not fresh. */
    make_vector(K, (UINT64_C(100) + (UINT64_C(1) << 28)) << 5, 0x44, &v);
    assert_int_equal(ue_isim_challenge(&f->isim, v.rand, v.autn, &r), 0);
    assert_int_equal(r.verdict, UE_AKA_SYNC_FAILURE);
    assert_int_equal(r.sqn_ms, UINT64_C(100) << 5);
    make_vector(K, (UINT64_C(99) + (UINT64_C(1) << 28)) << 5 | 1, 0x45, &v);
    assert_int_equal(ue_isim_challenge(&f->isim, v.rand, v.autn, &r), 0);
    assert_int_equal(r.verdict, UE_AKA_OK);
    ue_isim_close(&f->isim);
}

static void test_advance(void **state)
{
    fixture_t *f = *state;
    open_isim(f, 0);
    f->isim.seq_ms[4] = 10;
    assert_int_equal(ue_isim_advance(&f->isim, 1000), 0);
    for (int i = 0; i < 32; i++)
        assert_int_equal(f->isim.seq_ms[i], 1010);
    assert_int_equal(ue_isim_sqn_ms(&f->isim), UINT64_C(1010) << 5);
    assert_int_equal(ue_isim_advance(&f->isim, MCX_SQN_MAX), -EINVAL);
    ue_isim_close(&f->isim);
    open_isim(f, 0);
    assert_int_equal(f->isim.seq_ms[31], 1010);

    /* The network, one ahead of SQN_MS, is accepted. */
    mcx_aka_vector_t v;
    ue_aka_result_t r;
    make_vector(K, UINT64_C(1011) << 5, 0x55, &v);
    assert_int_equal(ue_isim_challenge(&f->isim, v.rand, v.autn, &r), 0);
    assert_int_equal(r.verdict, UE_AKA_OK);
    ue_isim_close(&f->isim);
}

static void test_file_is_readable_and_editable(void **state)
{
    fixture_t *f = *state;
    write_file(f, "# edited by hand\n\nind_bits 5\nseq_ms 2 42\n  seq_ms 7 9  \n");
    open_isim(f, 0);
    assert_int_equal(f->isim.seq_ms[2], 42);
    assert_int_equal(f->isim.seq_ms[7], 9);
    assert_int_equal(ue_isim_save(&f->isim), 0);
    FILE *fp = fopen(f->path, "r");
    char text[4096];
    size_t n = fread(text, 1, sizeof(text) - 1, fp);
    fclose(fp);
    text[n] = '\0';
    assert_non_null(strstr(text, "\nind_bits 5\n"));
    assert_non_null(strstr(text, "\nseq_ms 2 42\n"));
    assert_non_null(strstr(text, "\nseq_ms 31 0\n"));
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char tmp[160];
    snprintf(tmp, sizeof(tmp), "%s.tmp", f->path);
    assert_int_equal(access(tmp, F_OK), -1); /* renamed, not left behind */
    ue_isim_close(&f->isim);
}

static void test_malformed_files(void **state)
{
    fixture_t *f = *state;
    static const char *const bad[] = {
        "seq_ms 0 1\n",                         /* no ind_bits first */
        "ind_bits 4\n",                         /* not the configured 5 */
        "ind_bits 5\nseq_ms 32 1\n",            /* slot out of range */
        "ind_bits 5\nseq_ms 0 8796093022208\n", /* SEQ >= 2^43 */
        "ind_bits 5\nseq_ms 0 -1\n",
        "ind_bits 5\nseq_ms 0 1 2\n",
        "ind_bits 5\nsqn 3\n",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(f, bad[i]);
        open_isim(f, -EINVAL);
    }
}

static void test_save_failure_releases_no_res(void **state)
{
    fixture_t *f = *state;
    char err[256];
    char path[200];
    snprintf(path, sizeof(path), "%s/missing-dir/sqn.state", f->dir);
    assert_int_equal(ue_isim_open(&f->isim, K, OPC, path, 5, 28, err, sizeof(err)), 0);
    mcx_aka_vector_t v;
    make_vector(K, UINT64_C(1) << 5, 0x66, &v);
    ue_aka_result_t r;
    assert_int_equal(ue_isim_challenge(&f->isim, v.rand, v.autn, &r), -ENOENT);
    const uint8_t zero[8] = {0};
    assert_memory_equal(r.res, zero, 8);
    assert_int_equal(f->isim.seq_ms[0], 0); /* state rolled back */
    ue_isim_close(&f->isim);
}

int main(void)
{
    mcx_hex_decode("465b5ce8b199b49faa5f0a2ee238a6bc", K, 16);
    mcx_hex_decode("cd63cb71954a9f4e48a5994e37a02baf", OPC, 16);
    mcx_hex_decode("fec86ba6eb707ed08905757b1bb44b8f", OTHER_K, 16);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_accepts_and_persists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mac_failure_changes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_advance, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_is_readable_and_editable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_failure_releases_no_res, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

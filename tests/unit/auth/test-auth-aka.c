/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * IMS AKA: vectors against TS 35.208, resynchronisation both ways and the
 * worked example of reference/protocols.md §3.3, the UE-side MAC check, and
 * SQN = SEQ || IND arithmetic (TS 33.102 Annex C).
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mcx-auth.h"
#include "mcx-core.h"
#include "ts35208-sets.h"

#define DELTA (UINT64_C(1) << 28)

typedef struct {
    uint8_t k[16], opc[16], rand[16], amf[2];
    uint64_t sqn;
} keys_t;

static void load_set(int idx, keys_t *out)
{
    const ts35208_set_t *s = &ts35208_sets[idx];
    uint8_t sqn[6];
    assert_int_equal(mcx_hex_decode(s->k, out->k, 16), 0);
    assert_int_equal(mcx_hex_decode(s->opc, out->opc, 16), 0);
    assert_int_equal(mcx_hex_decode(s->rand, out->rand, 16), 0);
    assert_int_equal(mcx_hex_decode(s->amf, out->amf, 2), 0);
    assert_int_equal(mcx_hex_decode(s->sqn, sqn, 6), 0);
    out->sqn = mcx_sqn_from_bytes(sqn);
}

static void assert_hex(const uint8_t *bin, size_t len, const char *want)
{
    char got[2 * 16 + 1];
    assert_true(len <= 16);
    assert_string_equal(mcx_hex_encode(bin, len, got), want);
}

/* ---------------- network side ---------------- */

static void test_vector_sets(void **state)
{
    for (int i = 0; i < 6; i++) {
        const ts35208_set_t *s = &ts35208_sets[i];
        keys_t t;
        load_set(i, &t);
        mcx_aka_vector_t v;
        memset(&v, 0xee, sizeof(v));
        assert_int_equal(mcx_aka_vector(t.k, t.opc, t.amf, t.sqn, t.rand, &v), 0);
        assert_hex(v.rand, 16, s->rand);
        assert_hex(v.autn, 16, s->autn);
        assert_hex(v.xres, 8, s->f2);
        assert_hex(v.ck, 16, s->f3);
        assert_hex(v.ik, 16, s->f4);
    }
}

static void test_vector_sqn_too_big(void **state)
{
    keys_t t;
    load_set(0, &t);
    mcx_aka_vector_t v;
    assert_int_equal(mcx_aka_vector(t.k, t.opc, t.amf, MCX_SQN_MAX + 1, t.rand, &v), -EINVAL);
    assert_int_equal(mcx_aka_vector(t.k, t.opc, t.amf, MCX_SQN_MAX, t.rand, &v), 0);
    /* SQN xor AK: the top SQN shows up as the complement of AK (f5 of set 1). */
    assert_hex(v.autn, 6, "5597639b7c8f");
}

/* The example of protocols.md §3.3 (test set 1 keys, realm partner.test). */
static void test_worked_example(void **state)
{
    keys_t t;
    load_set(0, &t);
    mcx_aka_vector_t v;
    assert_int_equal(mcx_aka_vector(t.k, t.opc, t.amf, UINT64_C(0xff9bb4d0b607), t.rand, &v), 0);
    assert_hex(v.autn, 16, "55f328b43577b9b94a9ffac354dfafb3");
    assert_hex(v.xres, 8, "a54211d5e3ba50bf");

    uint8_t auts[14];
    assert_int_equal(mcx_aka_ue_auts(t.k, t.opc, t.rand, UINT64_C(0xff9bb4d0b607), auts), 0);
    char hex[29];
    assert_string_equal(mcx_hex_encode(auts, 14, hex), "ba853f3c123ccf44e93596e355c6");

    /* The HSS side: the MAR SIP-Authorization is RAND || AUTS. */
    uint8_t mar[30];
    assert_int_equal(
        mcx_hex_decode("23553cbe9637a89d218ae64dae47bf35ba853f3c123ccf44e93596e355c6", mar, 30), 0);
    uint64_t sqn_ms = 0;
    assert_int_equal(mcx_aka_resync(t.k, t.opc, mar, mar + 16, &sqn_ms), 0);
    assert_true(sqn_ms == UINT64_C(0xff9bb4d0b607));
}

static void test_resync_round_trip(void **state)
{
    const uint64_t values[] = {0, 1, 0x20, UINT64_C(0x0123456789ab), MCX_SQN_MAX};
    for (int set = 0; set < 6; set++) {
        keys_t t;
        load_set(set, &t);
        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
            uint8_t auts[14];
            uint64_t got = 12345;
            assert_int_equal(mcx_aka_ue_auts(t.k, t.opc, t.rand, values[i], auts), 0);
            assert_int_equal(mcx_aka_resync(t.k, t.opc, t.rand, auts, &got), 0);
            assert_true(got == values[i]);
        }
    }
}

/* Any single flipped bit of AUTS, in SQN_MS xor AK* or in MAC-S, is rejected. */
static void test_resync_bit_flip(void **state)
{
    keys_t t;
    load_set(0, &t);
    uint8_t auts[14];
    assert_int_equal(mcx_aka_ue_auts(t.k, t.opc, t.rand, UINT64_C(0xff9bb4d0b607), auts), 0);
    for (int bit = 0; bit < 14 * 8; bit++) {
        uint64_t got = 777;
        auts[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(mcx_aka_resync(t.k, t.opc, t.rand, auts, &got), -EBADMSG);
        assert_true(got == 777);
        auts[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    uint64_t got = 0;
    assert_int_equal(mcx_aka_resync(t.k, t.opc, t.rand, auts, &got), 0);
}

/* AUTS is bound to the RAND of the failed challenge. */
static void test_resync_wrong_rand(void **state)
{
    keys_t t;
    load_set(0, &t);
    uint8_t auts[14];
    assert_int_equal(mcx_aka_ue_auts(t.k, t.opc, t.rand, 42, auts), 0);
    t.rand[0] ^= 1;
    uint64_t got;
    assert_int_equal(mcx_aka_resync(t.k, t.opc, t.rand, auts, &got), -EBADMSG);
}

/* MAC-S uses AMF 0000, not the test-set AMF: 35.208's f1* is not an AUTS MAC. */
static void test_auts_uses_dummy_amf(void **state)
{
    const ts35208_set_t *s = &ts35208_sets[0];
    keys_t t;
    load_set(0, &t);
    uint8_t auts[14], sqn[6], mac_s[8];
    mcx_sqn_to_bytes(t.sqn, sqn);
    assert_int_equal(mcx_aka_ue_auts(t.k, t.opc, t.rand, t.sqn, auts), 0);
    char hex[17];
    assert_string_not_equal(mcx_hex_encode(auts + 6, 8, hex), s->f1star);
    const uint8_t zero[2] = {0, 0};
    assert_int_equal(mcx_milenage_f1(t.k, t.opc, t.rand, sqn, zero, NULL, mac_s), 0);
    assert_memory_equal(auts + 6, mac_s, 8);
}

static void test_auts_sqn_too_big(void **state)
{
    keys_t t;
    load_set(0, &t);
    uint8_t auts[14];
    assert_int_equal(mcx_aka_ue_auts(t.k, t.opc, t.rand, MCX_SQN_MAX + 1, auts), -EINVAL);
}

/* ---------------- UE side ---------------- */

static void test_ue_challenge_good(void **state)
{
    for (int i = 0; i < 6; i++) {
        const ts35208_set_t *s = &ts35208_sets[i];
        keys_t t;
        load_set(i, &t);
        uint8_t autn[16], res[8], ck[16], ik[16];
        uint64_t sqn = 0;
        assert_int_equal(mcx_hex_decode(s->autn, autn, 16), 0);
        assert_int_equal(mcx_aka_ue_challenge(t.k, t.opc, t.rand, autn, &sqn, res, ck, ik), 0);
        assert_true(sqn == t.sqn);
        assert_hex(res, 8, s->f2);
        assert_hex(ck, 16, s->f3);
        assert_hex(ik, 16, s->f4);
        /* Every output is optional. */
        assert_int_equal(mcx_aka_ue_challenge(t.k, t.opc, t.rand, autn, NULL, NULL, NULL, NULL), 0);
    }
}

/*
 * A flipped bit anywhere in AUTN (SQN xor AK, AMF or MAC-A) fails MAC-A:
 * -EBADMSG, and no RES, CK or IK is released.
 */
static void test_ue_challenge_bad_mac(void **state)
{
    keys_t t;
    load_set(0, &t);
    uint8_t autn[16];
    assert_int_equal(mcx_hex_decode(ts35208_sets[0].autn, autn, 16), 0);
    for (int bit = 0; bit < 16 * 8; bit++) {
        uint8_t res[8], ck[16], ik[16], untouched[16];
        uint64_t sqn = 99;
        memset(res, 0x5a, sizeof(res));
        memset(ck, 0x5a, sizeof(ck));
        memset(ik, 0x5a, sizeof(ik));
        memset(untouched, 0x5a, sizeof(untouched));
        autn[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_equal(mcx_aka_ue_challenge(t.k, t.opc, t.rand, autn, &sqn, res, ck, ik),
                         -EBADMSG);
        autn[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_true(sqn == 99);
        assert_memory_equal(res, untouched, sizeof(res));
        assert_memory_equal(ck, untouched, sizeof(ck));
        assert_memory_equal(ik, untouched, sizeof(ik));
    }
    /* Right AUTN, wrong subscriber key. */
    t.k[0] ^= 0x01;
    assert_int_equal(mcx_aka_ue_challenge(t.k, t.opc, t.rand, autn, NULL, NULL, NULL, NULL),
                     -EBADMSG);
}

/* ---------------- SQN helpers ---------------- */

static void test_sqn_bytes(void **state)
{
    uint8_t b[6];
    mcx_sqn_to_bytes(UINT64_C(0xff9bb4d0b607), b);
    assert_hex(b, 6, "ff9bb4d0b607");
    assert_true(mcx_sqn_from_bytes(b) == UINT64_C(0xff9bb4d0b607));
    mcx_sqn_to_bytes(1, b);
    assert_hex(b, 6, "000000000001");
    mcx_sqn_to_bytes(MCX_SQN_MAX, b);
    assert_hex(b, 6, "ffffffffffff");
    assert_true(mcx_sqn_from_bytes(b) == MCX_SQN_MAX);
}

static void test_sqn_next(void **state)
{
    /* SEQ + 1, IND replaced: the libosmocore example of protocols.md §4.3. */
    assert_true(mcx_sqn_next(UINT64_C(0xff9bb4d0b607), 5, 0) == UINT64_C(0xff9bb4d0b620));
    assert_true(mcx_sqn_next(UINT64_C(0xff9bb4d0b607), 5, 7) == UINT64_C(0xff9bb4d0b627));
    /* The IND of `last` does not carry into SEQ. */
    assert_true(mcx_sqn_next((10u << 5) | 31u, 5, 2) == ((11u << 5) | 2u));
    assert_true(mcx_sqn_next(0, 5, 31) == ((1u << 5) | 31u));
    /* Without IND, plain increment. */
    assert_true(mcx_sqn_next(0, 0, 0) == 1);
    assert_true(mcx_sqn_next(41, 0, 0) == 42);
    /* The widest IND field. */
    assert_true(mcx_sqn_next(0, 10, 1023) == ((1u << 10) | 1023u));
}

static void test_sqn_next_wrap(void **state)
{
    assert_true(mcx_sqn_next(MCX_SQN_MAX, 0, 0) == 1);
    assert_true(mcx_sqn_next(MCX_SQN_MAX - 1, 0, 0) == MCX_SQN_MAX);
    /* Top SEQ with IND bits: wraps to SEQ = 1, never to 0. */
    assert_true(mcx_sqn_next(MCX_SQN_MAX, 5, 3) == ((1u << 5) | 3u));
    assert_true(mcx_sqn_next(MCX_SQN_MAX - 31, 5, 0) == ((1u << 5) | 0u));
    assert_true(mcx_sqn_next(MCX_SQN_MAX - 32, 5, 0) == (MCX_SQN_MAX & ~UINT64_C(31)));
}

static void test_sqn_next_invalid(void **state)
{
    assert_true(mcx_sqn_next(5, 5, 32) == 0); /* IND does not fit */
    assert_true(mcx_sqn_next(5, 0, 1) == 0);
    assert_true(mcx_sqn_next(5, 11, 0) == 0); /* IND field too wide */
    assert_true(mcx_sqn_next(MCX_SQN_MAX + 1, 5, 0) == 0);
}

static uint64_t sqn_of(uint64_t seq, unsigned ind)
{
    return seq << 5 | ind;
}

static void test_sqn_ok_fresh_and_replay(void **state)
{
    uint64_t seq_ms[32] = {0};
    assert_true(mcx_aka_ue_sqn_ok(seq_ms, 5, DELTA, sqn_of(1, 3)));
    assert_true(seq_ms[3] == 1);
    /* The same vector again is a replay. */
    assert_false(mcx_aka_ue_sqn_ok(seq_ms, 5, DELTA, sqn_of(1, 3)));
    assert_true(mcx_aka_ue_sqn_ok(seq_ms, 5, DELTA, sqn_of(7, 3)));
    assert_true(seq_ms[3] == 7);
    /* An older SEQ in the same slot is rejected and leaves the slot alone. */
    assert_false(mcx_aka_ue_sqn_ok(seq_ms, 5, DELTA, sqn_of(6, 3)));
    assert_true(seq_ms[3] == 7);
    /* SQN 0 is never fresh. */
    assert_false(mcx_aka_ue_sqn_ok(seq_ms, 5, DELTA, 0));
}

/* Vectors handed out to different nodes (IND slots) may be used out of order. */
static void test_sqn_ok_ind_slots(void **state)
{
    uint64_t seq_ms[32] = {0};
    assert_true(mcx_aka_ue_sqn_ok(seq_ms, 5, DELTA, sqn_of(10, 1)));
    assert_true(mcx_aka_ue_sqn_ok(seq_ms, 5, DELTA, sqn_of(10, 2)));
    /* Lower SEQ than the highest accepted, but fresh in its own slot. */
    assert_true(mcx_aka_ue_sqn_ok(seq_ms, 5, DELTA, sqn_of(4, 9)));
    assert_false(mcx_aka_ue_sqn_ok(seq_ms, 5, DELTA, sqn_of(4, 9)));
    assert_false(mcx_aka_ue_sqn_ok(seq_ms, 5, DELTA, sqn_of(9, 1)));
    assert_true(seq_ms[1] == 10 && seq_ms[2] == 10 && seq_ms[9] == 4 && seq_ms[0] == 0);

    /* Without IND there is one slot. */
    uint64_t one = 0;
    assert_true(mcx_aka_ue_sqn_ok(&one, 0, DELTA, 5));
    assert_false(mcx_aka_ue_sqn_ok(&one, 0, DELTA, 5));
    assert_false(mcx_aka_ue_sqn_ok(&one, 0, DELTA, 4));
    assert_true(mcx_aka_ue_sqn_ok(&one, 0, DELTA, 6));
}

/* SEQ - max(SEQ_MS) must stay below delta (TS 33.102 Annex C.2.2). */
static void test_sqn_ok_delta(void **state)
{
    uint64_t seq_ms[32] = {0};
    seq_ms[4] = 100;
    assert_false(mcx_aka_ue_sqn_ok(seq_ms, 5, DELTA, sqn_of(100 + DELTA, 0)));
    assert_true(seq_ms[0] == 0);
    assert_true(mcx_aka_ue_sqn_ok(seq_ms, 5, DELTA, sqn_of(100 + DELTA - 1, 0)));
    assert_true(seq_ms[0] == 100 + DELTA - 1);
    /* Far beyond delta from a fresh USIM. */
    uint64_t fresh[32] = {0};
    assert_false(mcx_aka_ue_sqn_ok(fresh, 5, DELTA, sqn_of(DELTA, 0)));
    assert_true(mcx_aka_ue_sqn_ok(fresh, 5, DELTA, sqn_of(DELTA - 1, 0)));
}

static void test_sqn_ok_invalid(void **state)
{
    uint64_t seq_ms[32] = {0};
    assert_false(mcx_aka_ue_sqn_ok(NULL, 5, DELTA, sqn_of(1, 0)));
    assert_false(mcx_aka_ue_sqn_ok(seq_ms, 11, DELTA, 1u << 11));
    assert_false(mcx_aka_ue_sqn_ok(seq_ms, 0, UINT64_MAX, MCX_SQN_MAX + 1));
}

/*
 * The whole loop: HSS issues a vector, the UE accepts it; a replay is caught,
 * the UE answers with AUTS, the HSS recovers SQN_MS and the next vector it
 * builds from there is accepted.
 */
static void test_replay_then_resync(void **state)
{
    keys_t t;
    load_set(1, &t);
    uint64_t seq_ms[32] = {0};
    uint64_t sqn_he = mcx_sqn_next(UINT64_C(0x1000), 5, 4);

    mcx_aka_vector_t v;
    assert_int_equal(mcx_aka_vector(t.k, t.opc, t.amf, sqn_he, t.rand, &v), 0);
    uint64_t sqn = 0;
    uint8_t res[8];
    assert_int_equal(mcx_aka_ue_challenge(t.k, t.opc, v.rand, v.autn, &sqn, res, NULL, NULL), 0);
    assert_true(sqn == sqn_he);
    assert_memory_equal(res, v.xres, 8);
    assert_true(mcx_aka_ue_sqn_ok(seq_ms, 5, DELTA, sqn));

    /* Replayed: authentic (MAC-A fine) but stale. */
    assert_int_equal(mcx_aka_ue_challenge(t.k, t.opc, v.rand, v.autn, &sqn, NULL, NULL, NULL), 0);
    assert_false(mcx_aka_ue_sqn_ok(seq_ms, 5, DELTA, sqn));

    uint8_t auts[14];
    assert_int_equal(mcx_aka_ue_auts(t.k, t.opc, v.rand, sqn_he, auts), 0);
    uint64_t sqn_ms = 0;
    assert_int_equal(mcx_aka_resync(t.k, t.opc, v.rand, auts, &sqn_ms), 0);
    assert_true(sqn_ms == sqn_he);

    uint64_t next = mcx_sqn_next(sqn_ms, 5, 4);
    assert_int_equal(mcx_aka_vector(t.k, t.opc, t.amf, next, t.rand, &v), 0);
    assert_int_equal(mcx_aka_ue_challenge(t.k, t.opc, v.rand, v.autn, &sqn, NULL, NULL, NULL), 0);
    assert_true(mcx_aka_ue_sqn_ok(seq_ms, 5, DELTA, sqn));
}

/*
 * Thread safety: many threads building vectors at once all get the TS 35.208
 * answers. cmocka asserts must stay on the main thread, so workers count.
 */
#define THREADS 8
#define ROUNDS 200

static void *vector_worker(void *arg)
{
    int set = (int)(intptr_t)arg % 6;
    const ts35208_set_t *s = &ts35208_sets[set];
    uint8_t k[16], opc[16], rand[16], amf[2], sqn[6], want_autn[16], want_xres[8];
    mcx_hex_decode(s->k, k, 16);
    mcx_hex_decode(s->opc, opc, 16);
    mcx_hex_decode(s->rand, rand, 16);
    mcx_hex_decode(s->amf, amf, 2);
    mcx_hex_decode(s->sqn, sqn, 6);
    mcx_hex_decode(s->autn, want_autn, 16);
    mcx_hex_decode(s->f2, want_xres, 8);
    intptr_t bad = 0;
    for (int i = 0; i < ROUNDS; i++) {
        mcx_aka_vector_t v;
        if (mcx_aka_vector(k, opc, amf, mcx_sqn_from_bytes(sqn), rand, &v) != 0 ||
            memcmp(v.autn, want_autn, 16) != 0 || memcmp(v.xres, want_xres, 8) != 0)
            bad++;
    }
    return (void *)bad;
}

static void test_threads(void **state)
{
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, vector_worker, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++) {
        void *bad = NULL;
        assert_int_equal(pthread_join(th[i], &bad), 0);
        assert_int_equal((intptr_t)bad, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_sets),
        cmocka_unit_test(test_vector_sqn_too_big),
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_resync_round_trip),
        cmocka_unit_test(test_resync_bit_flip),
        cmocka_unit_test(test_resync_wrong_rand),
        cmocka_unit_test(test_auts_uses_dummy_amf),
        cmocka_unit_test(test_auts_sqn_too_big),
        cmocka_unit_test(test_ue_challenge_good),
        cmocka_unit_test(test_ue_challenge_bad_mac),
        cmocka_unit_test(test_sqn_bytes),
        cmocka_unit_test(test_sqn_next),
        cmocka_unit_test(test_sqn_next_wrap),
        cmocka_unit_test(test_sqn_next_invalid),
        cmocka_unit_test(test_sqn_ok_fresh_and_replay),
        cmocka_unit_test(test_sqn_ok_ind_slots),
        cmocka_unit_test(test_sqn_ok_delta),
        cmocka_unit_test(test_sqn_ok_invalid),
        cmocka_unit_test(test_replay_then_resync),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests_name("auth-aka", tests, NULL, NULL);
}

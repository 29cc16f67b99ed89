/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-sipdb's decide step against a real SQLite store in memory: MAR (AKA
 * vectors checked as a UE would check them, resync, SIP Digest, scheme and
 * identity errors), SAR state changes for every Server-Assignment-Type, UAR
 * and LIR by registration state, and the User-Data document.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cx/mcx-diameter-cx.h"
#include "sipdb-cx.h"

/* TS 35.208 test set 1 keys. */
static const char *K_HEX = "465b5ce8b199b49faa5f0a2ee238a6bc";
static const char *OPC_HEX = "cd63cb71954a9f4e48a5994e37a02baf";

typedef struct {
    sipdb_config_t cfg;
    sipdb_context_t ctx;
} fixture_t;

static void add_sub(mcx_store_t *st, const char *impi, const char *impu1, const char *impu2,
                    bool aka, bool digest, const char *ifc)
{
    mcx_subscriber_t *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    strcpy(s->impi, impi);
    strcpy(s->impus[s->n_impus++].impu, impu1);
    if (impu2)
        strcpy(s->impus[s->n_impus++].impu, impu2);
    if (aka) {
        s->has_aka = true;
        assert_int_equal(mcx_hex_decode(K_HEX, s->k, 16), 0);
        assert_int_equal(mcx_hex_decode(OPC_HEX, s->opc, 16), 0);
        s->amf[0] = 0x80;
        s->default_scheme = MCX_SCHEME_AKAV1_MD5;
    }
    if (digest) {
        s->has_digest = true;
        strcpy(s->digest_realm, "alpha.test");
        assert_int_equal(mcx_digest_ha1(MCX_DIGEST_MD5, impi, "alpha.test",
                                        (const uint8_t *)"secret", 6, s->ha1_md5,
                                        sizeof(s->ha1_md5)),
                         0);
        assert_int_equal(mcx_digest_ha1(MCX_DIGEST_SHA256, impi, "alpha.test",
                                        (const uint8_t *)"secret", 6, s->ha1_sha256,
                                        sizeof(s->ha1_sha256)),
                         0);
        if (!aka)
            s->default_scheme = MCX_SCHEME_SIP_DIGEST;
    }
    if (ifc)
        strcpy(s->ifc_xml, ifc);
    char err[256];
    int rv = mcx_store_subscriber_add(st, s, err, sizeof(err));
    if (rv)
        fail_msg("add %s: %s", impi, err);
    free(s);
}

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    strcpy(f->cfg.store.backend, "sqlite");
    strcpy(f->cfg.store.path, ":memory:");
    f->cfg.sipdb.max_vectors = 5;
    f->cfg.sipdb.ind_bits = 5;
    f->cfg.sipdb.ind = 3;
    strcpy(f->cfg.sipdb.digest_qop, "auth");
    f->ctx.cfg = &f->cfg;
    char err[256];
    assert_int_equal(mcx_store_open(&f->cfg.store, &f->ctx.store, err, sizeof(err)), 0);
    add_sub(f->ctx.store, "alice@alpha.test", "sip:alice@alpha.test", "tel:+4911111", true,
            true, NULL);
    add_sub(f->ctx.store, "bob@alpha.test", "sip:bob@alpha.test", NULL, false, true,
            "<InitialFilterCriteria><Priority>0</Priority></InitialFilterCriteria>");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    mcx_store_close(f->ctx.store);
    free(f);
    return 0;
}

static void mar_req(sipdb_mar_req_t *r, const char *impi, const char *impu, const char *scheme,
                    unsigned items)
{
    memset(r, 0, sizeof(*r));
    r->user_name.present = true;
    strcpy(r->user_name.s, impi);
    r->public_identity.present = true;
    strcpy(r->public_identity.s, impu);
    if (scheme) {
        r->has_scheme = true;
        strcpy(r->scheme, scheme);
    }
    r->n_items = items;
}

/* What a UE does with a vector: verify AUTN and recompute RES/CK/IK. */
static uint64_t ue_check(const mcx_aka_vector_t *v)
{
    uint8_t k[16], opc[16], res[8], ck[16], ik[16];
    uint64_t sqn = 0;
    mcx_hex_decode(K_HEX, k, 16);
    mcx_hex_decode(OPC_HEX, opc, 16);
    assert_int_equal(mcx_aka_ue_challenge(k, opc, v->rand, v->autn, &sqn, res, ck, ik), 0);
    assert_memory_equal(res, v->xres, 8);
    assert_memory_equal(ck, v->ck, 16);
    assert_memory_equal(ik, v->ik, 16);
    return sqn;
}

static void test_mar_aka_vectors_and_sqn(void **state)
{
    fixture_t *f = *state;
    sipdb_mar_req_t r;
    sipdb_mar_ans_t a;

    mar_req(&r, "alice@alpha.test", "sip:alice@alpha.test", "Digest-AKAv1-MD5", 3);
    memset(&a, 0, sizeof(a));
    sipdb_mar_decide(&f->ctx, &r, &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_SUCCESS);
    assert_int_equal(a.n_vectors, 3);
    assert_int_equal(a.scheme, MCX_SCHEME_AKAV1_MD5);
    uint64_t prev = 0;
    for (unsigned i = 0; i < 3; i++) {
        uint64_t sqn = ue_check(&a.vec[i]);
        assert_true(sqn > prev);
        assert_int_equal(sqn & 31, 3); /* our IND slot */
        prev = sqn;
    }
    assert_memory_not_equal(a.vec[0].rand, a.vec[1].rand, 16);

    /* More than max_vectors asked: capped. Unknown scheme: subscriber default. */
    mar_req(&r, "alice@alpha.test", "tel:+4911111", "unknown", 40);
    memset(&a, 0, sizeof(a));
    sipdb_mar_decide(&f->ctx, &r, &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_SUCCESS);
    assert_int_equal(a.n_vectors, 5);
    assert_true(ue_check(&a.vec[0]) > prev);
}

static void test_mar_resync(void **state)
{
    fixture_t *f = *state;
    uint8_t k[16], opc[16], rnd[16], auts[14];
    mcx_hex_decode(K_HEX, k, 16);
    mcx_hex_decode(OPC_HEX, opc, 16);
    memset(rnd, 0x42, sizeof(rnd));
    const uint64_t sqn_ms = (UINT64_C(5000) << 5) | 7;
    assert_int_equal(mcx_aka_ue_auts(k, opc, rnd, sqn_ms, auts), 0);

    sipdb_mar_req_t r;
    sipdb_mar_ans_t a;
    mar_req(&r, "alice@alpha.test", "sip:alice@alpha.test", "Digest-AKAv1-MD5", 1);
    r.has_authorization = true;
    memcpy(r.authorization, rnd, 16);
    memcpy(r.authorization + 16, auts, 14);
    r.authorization_len = 30;
    memset(&a, 0, sizeof(a));
    sipdb_mar_decide(&f->ctx, &r, &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_SUCCESS);
    /* The network adopts SQN_MS and continues right after it. */
    assert_int_equal(ue_check(&a.vec[0]), (UINT64_C(5001) << 5) | 3);

    /* AUTS with a broken MAC-S: refused, SQN not moved back. */
    auts[13] ^= 1;
    memcpy(r.authorization + 16, auts, 14);
    memset(&a, 0, sizeof(a));
    sipdb_mar_decide(&f->ctx, &r, &a);
    assert_int_equal(a.out.exp_result, MCX_CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED);
    assert_int_equal(a.n_vectors, 0);

    /* Wrong length: 5004 naming SIP-Authorization. */
    r.authorization_len = 29;
    memset(&a, 0, sizeof(a));
    sipdb_mar_decide(&f->ctx, &r, &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_INVALID_AVP_VALUE);
    assert_int_equal(a.out.failed_code, MCX_CX_AVP_SIP_AUTHORIZATION);

    mcx_subscriber_t *s = calloc(1, sizeof(*s));
    assert_int_equal(mcx_store_subscriber_get(f->ctx.store, "alice@alpha.test", s), 0);
    assert_int_equal(s->sqn, (UINT64_C(5001) << 5) | 3);
    free(s);
}

static void test_mar_digest(void **state)
{
    fixture_t *f = *state;
    sipdb_mar_req_t r;
    sipdb_mar_ans_t a;
    char md5[33], sha[65];
    mcx_digest_ha1(MCX_DIGEST_MD5, "bob@alpha.test", "alpha.test", (const uint8_t *)"secret", 6,
                   md5, sizeof(md5));
    mcx_digest_ha1(MCX_DIGEST_SHA256, "bob@alpha.test", "alpha.test", (const uint8_t *)"secret",
                   6, sha, sizeof(sha));

    mar_req(&r, "bob@alpha.test", "sip:bob@alpha.test", "SIP Digest", 1);
    memset(&a, 0, sizeof(a));
    sipdb_mar_decide(&f->ctx, &r, &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_SUCCESS);
    assert_int_equal(a.scheme, MCX_SCHEME_SIP_DIGEST);
    assert_string_equal(a.realm, "alpha.test");
    assert_string_equal(a.algorithm, "MD5");
    assert_string_equal(a.ha1, md5);
    assert_string_equal(a.alt_algorithm, "SHA-256");
    assert_string_equal(a.alt_ha1, sha);
    assert_string_equal(a.qop, "auth");

    /* Asked for SHA-256 explicitly. */
    strcpy(r.digest_algorithm, "SHA-256");
    memset(&a, 0, sizeof(a));
    sipdb_mar_decide(&f->ctx, &r, &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_SUCCESS);
    assert_string_equal(a.algorithm, "SHA-256");
    assert_string_equal(a.ha1, sha);

    /* Bob has no AKA: AKA asked -> 5006; Unknown -> his default, Digest. */
    mar_req(&r, "bob@alpha.test", "sip:bob@alpha.test", "Digest-AKAv1-MD5", 1);
    memset(&a, 0, sizeof(a));
    sipdb_mar_decide(&f->ctx, &r, &a);
    assert_int_equal(a.out.exp_result, MCX_CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED);
    mar_req(&r, "bob@alpha.test", "sip:bob@alpha.test", "Unknown", 1);
    memset(&a, 0, sizeof(a));
    sipdb_mar_decide(&f->ctx, &r, &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_SUCCESS);
    assert_int_equal(a.scheme, MCX_SCHEME_SIP_DIGEST);
}

static void test_mar_errors(void **state)
{
    fixture_t *f = *state;
    sipdb_mar_req_t r;
    sipdb_mar_ans_t a;
    struct {
        const char *impi, *impu, *scheme;
        uint32_t exp;
    } cases[] = {
        {"nobody@alpha.test", "sip:alice@alpha.test", NULL, MCX_CX_ERROR_USER_UNKNOWN},
        {"alice@alpha.test", "sip:nobody@alpha.test", NULL, MCX_CX_ERROR_USER_UNKNOWN},
        {"alice@alpha.test", "sip:bob@alpha.test", NULL, MCX_CX_ERROR_IDENTITIES_DONT_MATCH},
        {"alice@alpha.test", "sip:alice@alpha.test", "NASS-Bundled",
         MCX_CX_ERROR_AUTH_SCHEME_NOT_SUPPORTED},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mar_req(&r, cases[i].impi, cases[i].impu, cases[i].scheme, 1);
        memset(&a, 0, sizeof(a));
        sipdb_mar_decide(&f->ctx, &r, &a);
        assert_int_equal(a.out.result_code, 0);
        assert_int_equal(a.out.exp_result, cases[i].exp);
        assert_int_equal(a.n_vectors, 0);
        assert_true(a.out.why[0] != '\0');
    }
}

static mcx_reg_state_t state_of(fixture_t *f, const char *impi, char *scscf)
{
    mcx_subscriber_t *s = calloc(1, sizeof(*s));
    assert_int_equal(mcx_store_subscriber_get(f->ctx.store, impi, s), 0);
    mcx_reg_state_t st = s->impus[0].reg_state;
    for (unsigned i = 1; i < s->n_impus; i++)
        assert_int_equal(s->impus[i].reg_state, st); /* one implicit set */
    strcpy(scscf, s->scscf_name);
    free(s);
    return st;
}

static void sar(fixture_t *f, int32_t sat, const char *impi, const char *impu, const char *server,
                sipdb_sar_ans_t *a)
{
    sipdb_sar_req_t r;
    memset(&r, 0, sizeof(r));
    if (impi) {
        r.user_name.present = true;
        strcpy(r.user_name.s, impi);
    }
    r.n_public = 1;
    r.public_identity[0].present = true;
    strcpy(r.public_identity[0].s, impu);
    r.server_name.present = true;
    strcpy(r.server_name.s, server);
    r.has_sat = true;
    r.sat = sat;
    free(a->user_data);
    memset(a, 0, sizeof(*a));
    sipdb_sar_decide(&f->ctx, &r, a);
}

static void test_sar_every_type(void **state)
{
    fixture_t *f = *state;
    const char *S1 = "sip:scscf1.alpha.test", *S2 = "sip:scscf2.alpha.test";
    const char *ALICE = "alice@alpha.test", *IMPU = "sip:alice@alpha.test";
    sipdb_sar_ans_t a = {0};
    char name[MCX_STORE_ID_MAX];

    sar(f, MCX_SAT_REGISTRATION, ALICE, IMPU, S1, &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_SUCCESS);
    assert_string_equal(a.impi, ALICE);
    assert_non_null(a.user_data);
    assert_non_null(strstr(a.user_data, "<PrivateID>alice@alpha.test</PrivateID>"));
    assert_non_null(strstr(a.user_data, "<Identity>sip:alice@alpha.test</Identity>"));
    assert_non_null(strstr(a.user_data, "<Identity>tel:+4911111</Identity>"));
    assert_int_equal(state_of(f, ALICE, name), MCX_REG_REGISTERED);
    assert_string_equal(name, S1);

    sar(f, MCX_SAT_RE_REGISTRATION, ALICE, IMPU, S1, &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_SUCCESS);
    sar(f, MCX_SAT_NO_ASSIGNMENT, ALICE, IMPU, S1, &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_SUCCESS);
    assert_non_null(a.user_data);
    /* Another S-CSCF may not download the profile of a user it does not serve. */
    sar(f, MCX_SAT_NO_ASSIGNMENT, ALICE, IMPU, S2, &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_UNABLE_TO_COMPLY);

    sar(f, MCX_SAT_AUTHENTICATION_FAILURE, ALICE, IMPU, S1, &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_SUCCESS);
    assert_int_equal(state_of(f, ALICE, name), MCX_REG_REGISTERED); /* kept: was registered */

    sar(f, MCX_SAT_USER_DEREGISTRATION_STORE_SERVER_NAME, ALICE, IMPU, S1, &a);
    assert_int_equal(state_of(f, ALICE, name), MCX_REG_UNREGISTERED);
    assert_string_equal(name, S1);
    sar(f, MCX_SAT_TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME, ALICE, IMPU, S1, &a);
    assert_int_equal(state_of(f, ALICE, name), MCX_REG_UNREGISTERED);

    static const int32_t dereg[] = {MCX_SAT_TIMEOUT_DEREGISTRATION, MCX_SAT_USER_DEREGISTRATION,
                                    MCX_SAT_ADMINISTRATIVE_DEREGISTRATION,
                                    MCX_SAT_DEREGISTRATION_TOO_MUCH_DATA};
    for (size_t i = 0; i < 4; i++) {
        sar(f, MCX_SAT_REGISTRATION, ALICE, IMPU, S1, &a);
        sar(f, dereg[i], ALICE, IMPU, S1, &a);
        assert_int_equal(a.out.result_code, MCX_DIAM_SUCCESS);
        assert_null(a.user_data);
        assert_int_equal(state_of(f, ALICE, name), MCX_REG_NOT_REGISTERED);
        assert_string_equal(name, "");
    }

    /* Unregistered user (terminating request); identified by IMPU alone. */
    sar(f, MCX_SAT_UNREGISTERED_USER, NULL, "tel:+4911111", S2, &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_SUCCESS);
    assert_string_equal(a.impi, ALICE);
    assert_int_equal(state_of(f, ALICE, name), MCX_REG_UNREGISTERED);
    assert_string_equal(name, S2);
    sar(f, MCX_SAT_AUTHENTICATION_TIMEOUT, ALICE, IMPU, S2, &a);
    assert_int_equal(state_of(f, ALICE, name), MCX_REG_NOT_REGISTERED);

    sar(f, MCX_SAT_RESTORATION, ALICE, IMPU, S1, &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_SUCCESS);
    assert_non_null(a.user_data);

    sar(f, MCX_SAT_AAA_USER_DATA_REQUEST, ALICE, IMPU, S1, &a);
    assert_int_equal(a.out.exp_result, MCX_CX_ERROR_IN_ASSIGNMENT_TYPE);
    sar(f, MCX_SAT_PGW_UPDATE, ALICE, IMPU, S1, &a);
    assert_int_equal(a.out.exp_result, MCX_CX_ERROR_IN_ASSIGNMENT_TYPE);
    sar(f, 99, ALICE, IMPU, S1, &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_INVALID_AVP_VALUE);
    assert_int_equal(a.out.failed_code, MCX_CX_AVP_SERVER_ASSIGNMENT_TYPE);
    /* Refused requests left the state alone. */
    assert_int_equal(state_of(f, ALICE, name), MCX_REG_REGISTERED);

    sar(f, MCX_SAT_REGISTRATION, "nobody@alpha.test", IMPU, S1, &a);
    assert_int_equal(a.out.exp_result, MCX_CX_ERROR_USER_UNKNOWN);
    sar(f, MCX_SAT_REGISTRATION, ALICE, "sip:bob@alpha.test", S1, &a);
    assert_int_equal(a.out.exp_result, MCX_CX_ERROR_IDENTITIES_DONT_MATCH);
    free(a.user_data);
}

/* SAR naming several public identities: each must be the subscriber's own. */
static void test_sar_several_public_identities(void **state)
{
    fixture_t *f = *state;
    static const struct {
        const char *second;
        uint32_t result, exp;
    } cases[] = {
        {"tel:+4911111", MCX_DIAM_SUCCESS, 0},
        {"sip:bob@alpha.test", 0, MCX_CX_ERROR_IDENTITIES_DONT_MATCH},
        {"sip:nobody@alpha.test", 0, MCX_CX_ERROR_USER_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sipdb_sar_req_t r;
        sipdb_sar_ans_t a;
        memset(&r, 0, sizeof(r));
        memset(&a, 0, sizeof(a));
        r.user_name.present = true;
        strcpy(r.user_name.s, "alice@alpha.test");
        r.n_public = 2;
        r.public_identity[0].present = r.public_identity[1].present = true;
        strcpy(r.public_identity[0].s, "sip:alice@alpha.test");
        strcpy(r.public_identity[1].s, cases[i].second);
        r.server_name.present = true;
        strcpy(r.server_name.s, "sip:scscf1.alpha.test");
        r.has_sat = true;
        r.sat = MCX_SAT_REGISTRATION;
        sipdb_sar_decide(&f->ctx, &r, &a);
        assert_int_equal(a.out.result_code, cases[i].result);
        assert_int_equal(a.out.exp_result, cases[i].exp);
        char name[MCX_STORE_ID_MAX];
        /* Only the accepted request registered alice; refusals changed nothing. */
        assert_int_equal(state_of(f, "alice@alpha.test", name),
                         i == 0 ? MCX_REG_REGISTERED : MCX_REG_NOT_REGISTERED);
        free(a.user_data);
        if (i == 0) {
            /* Back to not registered, so the refusals below can show they changed nothing. */
            sipdb_sar_ans_t d = {0};
            sar(f, MCX_SAT_USER_DEREGISTRATION, "alice@alpha.test", "sip:alice@alpha.test",
                "sip:scscf1.alpha.test", &d);
            assert_int_equal(state_of(f, "alice@alpha.test", name), MCX_REG_NOT_REGISTERED);
        }
    }
}

static void test_user_data_ifc(void **state)
{
    fixture_t *f = *state;
    mcx_subscriber_t *s = calloc(1, sizeof(*s));
    assert_int_equal(mcx_store_subscriber_get(f->ctx.store, "bob@alpha.test", s), 0);
    char *xml = sipdb_user_data(s);
    assert_non_null(xml);
    const char *ifc = strstr(xml, "<InitialFilterCriteria><Priority>0</Priority>");
    const char *last_identity = strstr(xml, "</PublicIdentity>");
    assert_non_null(ifc);
    assert_true(ifc > last_identity); /* XSD order: identities first */
    assert_non_null(strstr(xml, "<BarringIndication>0</BarringIndication>"));
    free(xml);
    free(s);
}

static void uar(fixture_t *f, int32_t uat, const char *impu, sipdb_loc_ans_t *a)
{
    sipdb_uar_req_t r;
    memset(&r, 0, sizeof(r));
    r.user_name.present = true;
    strcpy(r.user_name.s, "alice@alpha.test");
    r.public_identity.present = true;
    strcpy(r.public_identity.s, impu);
    r.has_visited_network = true;
    r.uat = uat;
    memset(a, 0, sizeof(*a));
    sipdb_uar_decide(&f->ctx, &r, a);
}

static void lir(fixture_t *f, const char *impu, sipdb_loc_ans_t *a)
{
    sipdb_lir_req_t r;
    memset(&r, 0, sizeof(r));
    r.public_identity.present = true;
    strcpy(r.public_identity.s, impu);
    memset(a, 0, sizeof(*a));
    sipdb_lir_decide(&f->ctx, &r, a);
}

static void test_uar_lir_by_state(void **state)
{
    fixture_t *f = *state;
    sipdb_loc_ans_t a;
    sipdb_sar_ans_t s = {0};
    const char *IMPU = "sip:alice@alpha.test";

    uar(f, MCX_UAT_REGISTRATION, IMPU, &a);
    assert_int_equal(a.out.exp_result, MCX_CX_FIRST_REGISTRATION);
    assert_true(a.capabilities);
    uar(f, MCX_UAT_DE_REGISTRATION, IMPU, &a);
    assert_int_equal(a.out.exp_result, MCX_CX_ERROR_IDENTITY_NOT_REGISTERED);
    lir(f, IMPU, &a);
    assert_int_equal(a.out.exp_result, MCX_CX_ERROR_IDENTITY_NOT_REGISTERED);
    /* Bob has iFCs: unregistered services. */
    lir(f, "sip:bob@alpha.test", &a);
    assert_int_equal(a.out.exp_result, MCX_CX_UNREGISTERED_SERVICE);

    sar(f, MCX_SAT_REGISTRATION, "alice@alpha.test", IMPU, "sip:scscf1.alpha.test", &s);
    uar(f, MCX_UAT_REGISTRATION, IMPU, &a);
    assert_int_equal(a.out.exp_result, MCX_CX_SUBSEQUENT_REGISTRATION);
    assert_string_equal(a.server_name, "sip:scscf1.alpha.test");
    uar(f, MCX_UAT_DE_REGISTRATION, "tel:+4911111", &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_SUCCESS);
    assert_string_equal(a.server_name, "sip:scscf1.alpha.test");
    uar(f, MCX_UAT_REGISTRATION_AND_CAPABILITIES, IMPU, &a);
    assert_int_equal(a.out.exp_result, MCX_CX_FIRST_REGISTRATION);
    assert_true(a.capabilities);
    lir(f, "tel:+4911111", &a);
    assert_int_equal(a.out.result_code, MCX_DIAM_SUCCESS);
    assert_string_equal(a.server_name, "sip:scscf1.alpha.test");
    lir(f, "sip:nobody@alpha.test", &a);
    assert_int_equal(a.out.exp_result, MCX_CX_ERROR_USER_UNKNOWN);
    uar(f, MCX_UAT_REGISTRATION, "sip:bob@alpha.test", &a);
    assert_int_equal(a.out.exp_result, MCX_CX_ERROR_IDENTITIES_DONT_MATCH);
    free(s.user_data);
}

int main(void)
{
    mcx_log_init("test-sipdb", MCX_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mar_aka_vectors_and_sqn, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mar_resync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mar_digest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mar_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sar_every_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sar_several_public_identities, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_data_ifc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uar_lir_by_state, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/store subscriber records on a real SQLite file: add / get / update /
 * delete round trips with every field, validation (each rejected record
 * leaves the store as it was), -EEXIST, IMPU lookup, list order, registration
 * state and S-CSCF name, and the printable names.
 */
#include "test-store-common.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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

/* Field by field, so a failure says which one. */
static void assert_sub_equal(const mcx_subscriber_t *a, const mcx_subscriber_t *b)
{
    assert_string_equal(a->impi, b->impi);
    assert_int_equal(a->n_impus, b->n_impus);
    for (unsigned i = 0; i < a->n_impus; i++) {
        assert_string_equal(a->impus[i].impu, b->impus[i].impu);
        assert_int_equal(a->impus[i].barred, b->impus[i].barred);
        assert_int_equal(a->impus[i].reg_state, b->impus[i].reg_state);
    }
    assert_int_equal(a->has_aka, b->has_aka);
    assert_memory_equal(a->k, b->k, sizeof(a->k));
    assert_memory_equal(a->opc, b->opc, sizeof(a->opc));
    assert_memory_equal(a->amf, b->amf, sizeof(a->amf));
    assert_int_equal(a->sqn, b->sqn);
    assert_int_equal(a->has_digest, b->has_digest);
    assert_string_equal(a->digest_realm, b->digest_realm);
    assert_string_equal(a->ha1_md5, b->ha1_md5);
    assert_string_equal(a->ha1_sha256, b->ha1_sha256);
    assert_int_equal(a->default_scheme, b->default_scheme);
    assert_string_equal(a->ifc_xml, b->ifc_xml);
    assert_string_equal(a->scscf_name, b->scscf_name);
}

static int count_cb(void *arg, const char *impi)
{
    (void)impi;
    (*(unsigned *)arg)++;
    return 0;
}

static unsigned count(mcx_store_t *st)
{
    unsigned n = 0;
    assert_int_equal(mcx_store_subscriber_list(st, count_cb, &n), 0);
    return n;
}

/* ------------------------------------------------------------------------ */

static void test_add_get_every_field(void **state)
{
    fixture_t *f = *state;
    mcx_subscriber_t *in = sub_new(), *out = sub_new();
    example_subscriber(in, "alice", 7);
    in->n_impus = 3;
    snprintf(in->impus[2].impu, sizeof(in->impus[2].impu), "tel:+15550001");
    in->sqn = UINT64_C(0xfffffffffffe); /* 48 bits survive the INTEGER column */
    in->amf[0] = 0xb9;
    in->amf[1] = 0xb9;
    in->default_scheme = MCX_SCHEME_SIP_DIGEST;
    snprintf(in->ifc_xml, sizeof(in->ifc_xml),
             "<!-- two iFC -->\n<InitialFilterCriteria><Priority>0</Priority>"
             "</InitialFilterCriteria>\n<InitialFilterCriteria><Priority>1</Priority>"
             "<TriggerPoint><SPT><Method>REGISTER</Method></SPT></TriggerPoint>"
             "</InitialFilterCriteria>");

    char err[256] = "";
    assert_int_equal(mcx_store_subscriber_add(f->st, in, err, sizeof(err)), 0);
    assert_int_equal(mcx_store_subscriber_get(f->st, "alice@alpha.example", out), 0);
    assert_sub_equal(in, out);
    assert_int_equal(out->impus[0].reg_state, MCX_REG_NOT_REGISTERED);
    assert_string_equal(out->scscf_name, "");

    assert_int_equal(mcx_store_subscriber_get(f->st, "bob@alpha.example", out), -ENOENT);
    free(in);
    free(out);
}

/* What add ignores: the state fields, and the credentials of an absent scheme. */
static void test_add_ignores_state_and_absent_scheme(void **state)
{
    fixture_t *f = *state;
    mcx_subscriber_t *in = sub_new(), *out = sub_new();
    example_subscriber(in, "dora", 3);
    in->has_aka = false; /* K/OPc still hold bytes: they must not be stored */
    in->default_scheme = MCX_SCHEME_SIP_DIGEST;
    in->impus[0].reg_state = MCX_REG_REGISTERED;
    snprintf(in->scscf_name, sizeof(in->scscf_name), "sip:scscf.alpha.example");
    assert_int_equal(mcx_store_subscriber_add(f->st, in, NULL, 0), 0);
    assert_int_equal(mcx_store_subscriber_get(f->st, in->impi, out), 0);
    static const uint8_t zero[16];
    assert_false(out->has_aka);
    assert_memory_equal(out->k, zero, 16);
    assert_memory_equal(out->opc, zero, 16);
    assert_int_equal(out->impus[0].reg_state, MCX_REG_NOT_REGISTERED);
    assert_string_equal(out->scscf_name, "");

    example_subscriber(in, "erin", 4);
    in->has_digest = false;
    assert_int_equal(mcx_store_subscriber_add(f->st, in, NULL, 0), 0);
    assert_int_equal(mcx_store_subscriber_get(f->st, in->impi, out), 0);
    assert_false(out->has_digest);
    assert_string_equal(out->digest_realm, "");
    assert_string_equal(out->ha1_md5, "");
    assert_string_equal(out->ha1_sha256, "");
    free(in);
    free(out);
}

static void test_update_every_field(void **state)
{
    fixture_t *f = *state;
    mcx_subscriber_t *in = sub_new(), *out = sub_new();
    example_subscriber(in, "alice", 1);
    in->n_impus = 3;
    snprintf(in->impus[2].impu, sizeof(in->impus[2].impu), "tel:+15550001");
    in->sqn = 1000;
    assert_int_equal(mcx_store_subscriber_add(f->st, in, NULL, 0), 0);
    /* The SIP database registers the tel: IMPU and records its S-CSCF. */
    assert_int_equal(mcx_store_reg_set(f->st, in->impi, "tel:+15550001", MCX_REG_REGISTERED,
                                       "sip:scscf.alpha.example:6060"),
                     0);

    /* New IMPU order: tel (kept, now default), a new one, sip (kept, now barred); sips dropped. */
    mcx_subscriber_t *up = sub_new();
    example_subscriber(up, "alice", 9);
    up->n_impus = 3;
    snprintf(up->impus[0].impu, sizeof(up->impus[0].impu), "tel:+15550001");
    up->impus[0].barred = false;
    snprintf(up->impus[1].impu, sizeof(up->impus[1].impu), "sip:alice.new@alpha.example");
    up->impus[1].barred = false;
    snprintf(up->impus[2].impu, sizeof(up->impus[2].impu), "sip:alice@alpha.example");
    up->impus[2].barred = true;
    up->sqn = 2000;
    up->amf[0] = 0x00;
    up->amf[1] = 0x01;
    snprintf(up->digest_realm, sizeof(up->digest_realm), "other.example");
    up->ha1_sha256[0] = '\0';
    up->default_scheme = MCX_SCHEME_SIP_DIGEST;
    up->ifc_xml[0] = '\0';
    char err[256] = "";
    assert_int_equal(mcx_store_subscriber_update(f->st, up, err, sizeof(err)), 0);

    assert_int_equal(mcx_store_subscriber_get(f->st, "alice@alpha.example", out), 0);
    /* What get must now report: the new record plus the kept state. */
    up->impus[0].reg_state = MCX_REG_REGISTERED;
    snprintf(up->scscf_name, sizeof(up->scscf_name), "sip:scscf.alpha.example:6060");
    assert_sub_equal(up, out);

    /* The dropped IMPU is free again, the new one is found. */
    char impi[MCX_STORE_ID_MAX];
    assert_int_equal(
        mcx_store_impi_by_impu(f->st, "sips:alice.old@alpha.example", impi, sizeof(impi)), -ENOENT);
    assert_int_equal(
        mcx_store_impi_by_impu(f->st, "sip:alice.new@alpha.example", impi, sizeof(impi)), 0);
    assert_string_equal(impi, "alice@alpha.example");

    /* Update cannot move the SQN back (it may race with sqn_reserve) ... */
    up->sqn = 5;
    assert_int_equal(mcx_store_subscriber_update(f->st, up, NULL, 0), 0);
    assert_int_equal(mcx_store_subscriber_get(f->st, up->impi, out), 0);
    assert_int_equal(out->sqn, 2000);
    /* ... sqn_set can. */
    assert_int_equal(mcx_store_sqn_set(f->st, up->impi, 5), 0);
    assert_int_equal(mcx_store_subscriber_get(f->st, up->impi, out), 0);
    assert_int_equal(out->sqn, 5);

    /* Unknown IMPI. */
    example_subscriber(up, "nobody", 1);
    assert_int_equal(mcx_store_subscriber_update(f->st, up, err, sizeof(err)), -ENOENT);
    free(in);
    free(up);
    free(out);
}

static void test_delete(void **state)
{
    fixture_t *f = *state;
    mcx_subscriber_t *s = sub_new(), *out = sub_new();
    example_subscriber(s, "alice", 1);
    assert_int_equal(mcx_store_subscriber_add(f->st, s, NULL, 0), 0);
    example_subscriber(s, "bob", 2);
    assert_int_equal(mcx_store_subscriber_add(f->st, s, NULL, 0), 0);

    assert_int_equal(mcx_store_subscriber_delete(f->st, "alice@alpha.example"), 0);
    assert_int_equal(mcx_store_subscriber_get(f->st, "alice@alpha.example", out), -ENOENT);
    char impi[MCX_STORE_ID_MAX];
    assert_int_equal(mcx_store_impi_by_impu(f->st, "sip:alice@alpha.example", impi, sizeof(impi)),
                     -ENOENT);
    assert_int_equal(mcx_store_subscriber_delete(f->st, "alice@alpha.example"), -ENOENT);
    assert_int_equal(mcx_store_subscriber_delete(f->st, ""), -EINVAL);
    assert_int_equal(count(f->st), 1);
    assert_int_equal(mcx_store_subscriber_get(f->st, "bob@alpha.example", out), 0);

    /* The IMPUs went with the row (ON DELETE CASCADE): they can be given to someone else. */
    example_subscriber(s, "carol", 3);
    snprintf(s->impus[0].impu, sizeof(s->impus[0].impu), "sip:alice@alpha.example");
    assert_int_equal(mcx_store_subscriber_add(f->st, s, NULL, 0), 0);
    free(s);
    free(out);
}

/* ------------------------------------------------------------------------ */
/* Validation                                                               */
/* ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *err_has; /* the reason must name the field */
    void (*mutate)(mcx_subscriber_t *s);
} bad_case_t;

static void m_impi_empty(mcx_subscriber_t *s)
{
    s->impi[0] = '\0';
}
static void m_impi_space(mcx_subscriber_t *s)
{
    s->impi[3] = ' ';
}
static void m_impi_tab(mcx_subscriber_t *s)
{
    s->impi[3] = '\t';
}
static void m_impi_unterminated(mcx_subscriber_t *s)
{
    memset(s->impi, 'a', sizeof(s->impi));
}
static void m_no_impu(mcx_subscriber_t *s)
{
    s->n_impus = 0;
}
static void m_too_many_impus(mcx_subscriber_t *s)
{
    s->n_impus = MCX_STORE_MAX_IMPU + 1;
}
static void m_impu_http(mcx_subscriber_t *s)
{
    snprintf(s->impus[1].impu, sizeof(s->impus[1].impu), "http://alpha.example/x");
}
static void m_impu_bare_scheme(mcx_subscriber_t *s)
{
    snprintf(s->impus[0].impu, sizeof(s->impus[0].impu), "sip:");
}
static void m_impu_space(mcx_subscriber_t *s)
{
    snprintf(s->impus[0].impu, sizeof(s->impus[0].impu), "sip:al ice@alpha.example");
}
static void m_impu_dup(mcx_subscriber_t *s)
{
    memcpy(s->impus[1].impu, s->impus[0].impu, sizeof(s->impus[0].impu));
}
static void m_no_creds(mcx_subscriber_t *s)
{
    s->has_aka = false;
    s->has_digest = false;
}
static void m_aka_default_without_aka(mcx_subscriber_t *s)
{
    s->has_aka = false;
}
static void m_digest_default_without_digest(mcx_subscriber_t *s)
{
    s->has_digest = false;
    s->default_scheme = MCX_SCHEME_SIP_DIGEST;
}
static void m_scheme_unknown(mcx_subscriber_t *s)
{
    s->default_scheme = (mcx_auth_scheme_t)7;
}
static void m_ha1_upper(mcx_subscriber_t *s)
{
    s->ha1_md5[31] = 'A';
}
static void m_ha1_short(mcx_subscriber_t *s)
{
    s->ha1_md5[31] = '\0';
}
static void m_ha1_sha_short(mcx_subscriber_t *s)
{
    s->ha1_sha256[10] = '\0';
}
static void m_ha1_none(mcx_subscriber_t *s)
{
    s->ha1_md5[0] = '\0';
    s->ha1_sha256[0] = '\0';
}
static void m_realm_empty(mcx_subscriber_t *s)
{
    s->digest_realm[0] = '\0';
}
static void m_realm_quote(mcx_subscriber_t *s)
{
    snprintf(s->digest_realm, sizeof(s->digest_realm), "alpha\".example");
}
static void m_sqn_49_bits(mcx_subscriber_t *s)
{
    s->sqn = UINT64_C(1) << 48;
}
static void m_ifc_unclosed(mcx_subscriber_t *s)
{
    snprintf(s->ifc_xml, sizeof(s->ifc_xml), "<InitialFilterCriteria><Priority>0</Priority>");
}
static void m_ifc_wrong_element(mcx_subscriber_t *s)
{
    snprintf(s->ifc_xml, sizeof(s->ifc_xml), "<ServiceProfile/>");
}
static void m_ifc_text(mcx_subscriber_t *s)
{
    snprintf(s->ifc_xml, sizeof(s->ifc_xml), "hello<InitialFilterCriteria/>");
}
static void m_ifc_xml_decl(mcx_subscriber_t *s)
{
    snprintf(s->ifc_xml, sizeof(s->ifc_xml), "<?xml version=\"1.0\"?><InitialFilterCriteria/>");
}
static void m_ifc_entity(mcx_subscriber_t *s)
{
    snprintf(s->ifc_xml, sizeof(s->ifc_xml),
             "<InitialFilterCriteria>&xxe;</InitialFilterCriteria>");
}
static void m_ifc_doctype(mcx_subscriber_t *s)
{
    snprintf(s->ifc_xml, sizeof(s->ifc_xml),
             "<!DOCTYPE x [<!ENTITY a \"b\">]><InitialFilterCriteria>&a;</InitialFilterCriteria>");
}
static void m_ifc_escape_root(mcx_subscriber_t *s)
{
    /* An attempt to close the wrapper element and start a second root. */
    snprintf(s->ifc_xml, sizeof(s->ifc_xml),
             "<InitialFilterCriteria/></mcx-ifc-set><mcx-ifc-set><InitialFilterCriteria/>");
}
static void m_ifc_only_comment(mcx_subscriber_t *s)
{
    snprintf(s->ifc_xml, sizeof(s->ifc_xml), "<!-- nothing -->");
}
static void m_ifc_unterminated(mcx_subscriber_t *s)
{
    memset(s->ifc_xml, ' ', sizeof(s->ifc_xml));
}

static const bad_case_t bad_cases[] = {
    {"impi empty", "impi", m_impi_empty},
    {"impi with space", "impi", m_impi_space},
    {"impi with tab", "impi", m_impi_tab},
    {"impi not terminated", "impi", m_impi_unterminated},
    {"no IMPU", "impus", m_no_impu},
    {"17 IMPUs", "impus", m_too_many_impus},
    {"http IMPU", "impus[1]", m_impu_http},
    {"IMPU is only a scheme", "impus[0]", m_impu_bare_scheme},
    {"IMPU with space", "impus[0]", m_impu_space},
    {"IMPU twice", "impus[1]", m_impu_dup},
    {"no credentials", "credentials", m_no_creds},
    {"AKA default without AKA", "default_scheme", m_aka_default_without_aka},
    {"digest default without digest", "default_scheme", m_digest_default_without_digest},
    {"unknown scheme", "default_scheme", m_scheme_unknown},
    {"HA1 upper case", "ha1_md5", m_ha1_upper},
    {"HA1 MD5 short", "ha1_md5", m_ha1_short},
    {"HA1 SHA-256 short", "ha1_sha256", m_ha1_sha_short},
    {"digest without HA1", "ha1", m_ha1_none},
    {"realm empty", "digest_realm", m_realm_empty},
    {"realm with quote", "digest_realm", m_realm_quote},
    {"SQN of 49 bits", "sqn", m_sqn_49_bits},
    {"iFC unclosed", "ifc_xml", m_ifc_unclosed},
    {"iFC wrong element", "ifc_xml", m_ifc_wrong_element},
    {"iFC text", "ifc_xml", m_ifc_text},
    {"iFC XML declaration", "ifc_xml", m_ifc_xml_decl},
    {"iFC undefined entity", "ifc_xml", m_ifc_entity},
    {"iFC DOCTYPE", "ifc_xml", m_ifc_doctype},
    {"iFC closes the wrapper", "ifc_xml", m_ifc_escape_root},
    {"iFC without element", "ifc_xml", m_ifc_only_comment},
    {"iFC not terminated", "ifc_xml", m_ifc_unterminated},
};

static void test_validation_rejects(void **state)
{
    fixture_t *f = *state;
    mcx_subscriber_t *held = sub_new(), *s = sub_new(), *after = sub_new();

    /* What the store holds before: one subscriber, "alice". */
    example_subscriber(s, "alice", 1);
    assert_int_equal(mcx_store_subscriber_add(f->st, s, NULL, 0), 0);
    assert_int_equal(mcx_store_subscriber_get(f->st, "alice@alpha.example", held), 0);

    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const bad_case_t *c = &bad_cases[i];
        char err[256] = "";

        /* As a new subscriber "bob". */
        example_subscriber(s, "bob", 2);
        c->mutate(s);
        int rv = mcx_store_subscriber_validate(s, err, sizeof(err));
        if (rv != -EINVAL || !strstr(err, c->err_has))
            print_error("case '%s': rv %d, err '%s'\n", c->name, rv, err);
        assert_int_equal(rv, -EINVAL);
        assert_non_null(strstr(err, c->err_has));
        assert_int_equal(mcx_store_subscriber_add(f->st, s, err, sizeof(err)), -EINVAL);

        /* As an update of "alice". */
        example_subscriber(s, "alice", 5);
        c->mutate(s);
        assert_int_equal(mcx_store_subscriber_update(f->st, s, err, sizeof(err)), -EINVAL);

        /* The store still holds exactly what it held. */
        assert_int_equal(count(f->st), 1);
        assert_int_equal(mcx_store_subscriber_get(f->st, "alice@alpha.example", after), 0);
        assert_sub_equal(held, after);
    }

    /* NULL record; err may be NULL. */
    assert_int_equal(mcx_store_subscriber_validate(NULL, NULL, 0), -EINVAL);
    assert_int_equal(mcx_store_subscriber_add(f->st, NULL, NULL, 0), -EINVAL);
    free(held);
    free(s);
    free(after);
}

static void test_validation_accepts(void **state)
{
    (void)state;
    mcx_subscriber_t *s = sub_new();
    char err[256] = "";
    example_subscriber(s, "alice", 1);
    /* Schemes are case-insensitive; predefined entities and comments are fine. */
    snprintf(s->impus[0].impu, sizeof(s->impus[0].impu), "SIP:alice@alpha.example");
    snprintf(s->ifc_xml, sizeof(s->ifc_xml),
             "  <InitialFilterCriteria><Priority>0</Priority><!-- a &amp; b -->"
             "<ApplicationServer><ServerName>sip:as&#46;x</ServerName></ApplicationServer>"
             "</InitialFilterCriteria>\n  ");
    assert_int_equal(mcx_store_subscriber_validate(s, err, sizeof(err)), 0);
    s->ifc_xml[0] = '\0';
    s->n_impus = MCX_STORE_MAX_IMPU;
    for (unsigned i = 0; i < MCX_STORE_MAX_IMPU; i++)
        snprintf(s->impus[i].impu, sizeof(s->impus[i].impu), "tel:+1555000%02u", i);
    s->sqn = (UINT64_C(1) << 48) - 1;
    assert_int_equal(mcx_store_subscriber_validate(s, err, sizeof(err)), 0);
    free(s);
}

static void test_eexist(void **state)
{
    fixture_t *f = *state;
    mcx_subscriber_t *s = sub_new(), *held = sub_new(), *after = sub_new();
    char err[256] = "";
    example_subscriber(s, "alice", 1);
    assert_int_equal(mcx_store_subscriber_add(f->st, s, NULL, 0), 0);
    example_subscriber(s, "bob", 2);
    assert_int_equal(mcx_store_subscriber_add(f->st, s, NULL, 0), 0);
    assert_int_equal(mcx_store_subscriber_get(f->st, "bob@alpha.example", held), 0);

    /* Same IMPI again. */
    example_subscriber(s, "alice", 3);
    snprintf(s->impus[0].impu, sizeof(s->impus[0].impu), "sip:someone-else@alpha.example");
    s->n_impus = 1;
    assert_int_equal(mcx_store_subscriber_add(f->st, s, err, sizeof(err)), -EEXIST);
    assert_non_null(strstr(err, "alice@alpha.example"));

    /* A new IMPI with an IMPU bob owns. */
    example_subscriber(s, "carol", 3);
    snprintf(s->impus[1].impu, sizeof(s->impus[1].impu), "sip:bob@alpha.example");
    assert_int_equal(mcx_store_subscriber_add(f->st, s, err, sizeof(err)), -EEXIST);
    assert_non_null(strstr(err, "bob@alpha.example"));
    assert_int_equal(mcx_store_subscriber_get(f->st, "carol@alpha.example", after), -ENOENT);
    /* carol's other IMPU was not left behind by the failed add. */
    char impi[MCX_STORE_ID_MAX];
    assert_int_equal(mcx_store_impi_by_impu(f->st, "sip:carol@alpha.example", impi, sizeof(impi)),
                     -ENOENT);

    /* alice tries to take bob's IMPU by update. */
    example_subscriber(s, "alice", 1);
    snprintf(s->impus[1].impu, sizeof(s->impus[1].impu), "sips:bob.old@alpha.example");
    assert_int_equal(mcx_store_subscriber_update(f->st, s, err, sizeof(err)), -EEXIST);

    assert_int_equal(count(f->st), 2);
    assert_int_equal(mcx_store_subscriber_get(f->st, "bob@alpha.example", after), 0);
    assert_sub_equal(held, after);
    free(s);
    free(held);
    free(after);
}

static void test_impi_by_impu(void **state)
{
    fixture_t *f = *state;
    mcx_subscriber_t *s = sub_new();
    example_subscriber(s, "alice", 1);
    assert_int_equal(mcx_store_subscriber_add(f->st, s, NULL, 0), 0);
    example_subscriber(s, "bob", 2);
    assert_int_equal(mcx_store_subscriber_add(f->st, s, NULL, 0), 0);

    char impi[MCX_STORE_ID_MAX];
    assert_int_equal(
        mcx_store_impi_by_impu(f->st, "sips:bob.old@alpha.example", impi, sizeof(impi)), 0);
    assert_string_equal(impi, "bob@alpha.example");
    assert_int_equal(mcx_store_impi_by_impu(f->st, "sip:alice@alpha.example", impi, sizeof(impi)),
                     0);
    assert_string_equal(impi, "alice@alpha.example");
    assert_int_equal(mcx_store_impi_by_impu(f->st, "sip:ALICE@alpha.example", impi, sizeof(impi)),
                     -ENOENT);
    assert_int_equal(mcx_store_impi_by_impu(f->st, "sip:alice@alpha.example", impi, 5), -ERANGE);
    assert_int_equal(mcx_store_impi_by_impu(f->st, "", impi, sizeof(impi)), -EINVAL);
    assert_int_equal(mcx_store_impi_by_impu(f->st, NULL, impi, sizeof(impi)), -EINVAL);
    free(s);
}

typedef struct {
    char seen[200][MCX_STORE_ID_MAX];
    unsigned n;
    mcx_store_t *st;
    mcx_subscriber_t *sub;
    unsigned stop_after; /* 0 = never */
} list_t;

static int list_cb(void *arg, const char *impi)
{
    list_t *l = arg;
    assert_true(l->n < 200);
    snprintf(l->seen[l->n++], MCX_STORE_ID_MAX, "%s", impi);
    /* Callbacks may read the store: list holds no lock while calling. */
    assert_int_equal(mcx_store_subscriber_get(l->st, impi, l->sub), 0);
    if (l->stop_after && l->n == l->stop_after)
        return 42;
    return 0;
}

static void test_list_order(void **state)
{
    fixture_t *f = *state;
    mcx_subscriber_t *s = sub_new();
    list_t *l = calloc(1, sizeof(*l));
    assert_non_null(l);
    l->st = f->st;
    l->sub = sub_new();

    /* Empty store: no call. */
    assert_int_equal(mcx_store_subscriber_list(f->st, list_cb, l), 0);
    assert_int_equal(l->n, 0);

    /* 150 names (more than two pages) added in a scrambled order. */
    const unsigned n = 150;
    for (unsigned i = 0; i < n; i++) {
        unsigned j = (i * 37) % n; /* 37 is prime to 150: a permutation */
        char name[32];
        snprintf(name, sizeof(name), "u%03u", j);
        example_subscriber(s, name, (uint8_t)j);
        assert_int_equal(mcx_store_subscriber_add(f->st, s, NULL, 0), 0);
    }
    assert_int_equal(mcx_store_subscriber_list(f->st, list_cb, l), 0);
    assert_int_equal(l->n, n);
    for (unsigned i = 0; i < n; i++) {
        char want[64];
        snprintf(want, sizeof(want), "u%03u@alpha.example", i);
        assert_string_equal(l->seen[i], want);
    }

    /* The callback's non-zero value stops the walk and is returned. */
    l->n = 0;
    l->stop_after = 70;
    assert_int_equal(mcx_store_subscriber_list(f->st, list_cb, l), 42);
    assert_int_equal(l->n, 70);
    assert_int_equal(mcx_store_subscriber_list(f->st, NULL, l), -EINVAL);
    free(l->sub);
    free(l);
    free(s);
}

static void test_reg_set(void **state)
{
    fixture_t *f = *state;
    mcx_subscriber_t *s = sub_new(), *out = sub_new();
    example_subscriber(s, "alice", 1);
    s->n_impus = 3;
    snprintf(s->impus[2].impu, sizeof(s->impus[2].impu), "tel:+15550001");
    assert_int_equal(mcx_store_subscriber_add(f->st, s, NULL, 0), 0);
    example_subscriber(s, "bob", 2);
    assert_int_equal(mcx_store_subscriber_add(f->st, s, NULL, 0), 0);
    const char *impi = "alice@alpha.example";

    /* One IMPU, with the S-CSCF name. */
    assert_int_equal(mcx_store_reg_set(f->st, impi, "tel:+15550001", MCX_REG_REGISTERED,
                                       "sip:scscf1.alpha.example"),
                     0);
    assert_int_equal(mcx_store_subscriber_get(f->st, impi, out), 0);
    assert_int_equal(out->impus[0].reg_state, MCX_REG_NOT_REGISTERED);
    assert_int_equal(out->impus[1].reg_state, MCX_REG_NOT_REGISTERED);
    assert_int_equal(out->impus[2].reg_state, MCX_REG_REGISTERED);
    assert_string_equal(out->scscf_name, "sip:scscf1.alpha.example");

    /* All IMPUs; NULL keeps the name. */
    assert_int_equal(mcx_store_reg_set(f->st, impi, NULL, MCX_REG_UNREGISTERED, NULL), 0);
    assert_int_equal(mcx_store_subscriber_get(f->st, impi, out), 0);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(out->impus[i].reg_state, MCX_REG_UNREGISTERED);
    assert_string_equal(out->scscf_name, "sip:scscf1.alpha.example");

    /* Another name replaces it. */
    assert_int_equal(mcx_store_reg_set(f->st, impi, "sip:alice@alpha.example", MCX_REG_REGISTERED,
                                       "sip:scscf2.alpha.example"),
                     0);
    assert_int_equal(mcx_store_subscriber_get(f->st, impi, out), 0);
    assert_int_equal(out->impus[0].reg_state, MCX_REG_REGISTERED);
    assert_int_equal(out->impus[2].reg_state, MCX_REG_UNREGISTERED);
    assert_string_equal(out->scscf_name, "sip:scscf2.alpha.example");

    /* "" clears it. */
    assert_int_equal(mcx_store_reg_set(f->st, impi, NULL, MCX_REG_NOT_REGISTERED, ""), 0);
    assert_int_equal(mcx_store_subscriber_get(f->st, impi, out), 0);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(out->impus[i].reg_state, MCX_REG_NOT_REGISTERED);
    assert_string_equal(out->scscf_name, "");

    /* bob was never touched. */
    assert_int_equal(mcx_store_subscriber_get(f->st, "bob@alpha.example", out), 0);
    assert_int_equal(out->impus[0].reg_state, MCX_REG_NOT_REGISTERED);
    assert_string_equal(out->scscf_name, "");

    /* Unknown IMPI, an IMPU of someone else, unknown IMPU, bad state. */
    assert_int_equal(
        mcx_store_reg_set(f->st, "nobody@alpha.example", NULL, MCX_REG_REGISTERED, NULL), -ENOENT);
    assert_int_equal(
        mcx_store_reg_set(f->st, impi, "sip:bob@alpha.example", MCX_REG_REGISTERED, "sip:x"),
        -ENOENT);
    assert_int_equal(
        mcx_store_reg_set(f->st, impi, "sip:nobody@alpha.example", MCX_REG_REGISTERED, NULL),
        -ENOENT);
    assert_int_equal(mcx_store_reg_set(f->st, impi, NULL, (mcx_reg_state_t)9, NULL), -EINVAL);
    assert_int_equal(mcx_store_reg_set(f->st, impi, NULL, MCX_REG_REGISTERED, "sip:with space"),
                     -EINVAL);
    /* A failed reg_set (unknown IMPU) did not set the S-CSCF name either. */
    assert_int_equal(mcx_store_subscriber_get(f->st, impi, out), 0);
    assert_string_equal(out->scscf_name, "");
    free(s);
    free(out);
}

static void test_names(void **state)
{
    (void)state;
    mcx_auth_scheme_t s;
    assert_string_equal(mcx_store_scheme_name(MCX_SCHEME_AKAV1_MD5), "Digest-AKAv1-MD5");
    assert_string_equal(mcx_store_scheme_name(MCX_SCHEME_SIP_DIGEST), "SIP Digest");
    assert_string_equal(mcx_store_scheme_name((mcx_auth_scheme_t)5), "unknown");
    assert_int_equal(mcx_store_scheme_parse("aka", &s), 0);
    assert_int_equal(s, MCX_SCHEME_AKAV1_MD5);
    assert_int_equal(mcx_store_scheme_parse("Digest-AKAv1-MD5", &s), 0);
    assert_int_equal(s, MCX_SCHEME_AKAV1_MD5);
    assert_int_equal(mcx_store_scheme_parse("digest", &s), 0);
    assert_int_equal(s, MCX_SCHEME_SIP_DIGEST);
    assert_int_equal(mcx_store_scheme_parse("SIP Digest", &s), 0);
    assert_int_equal(s, MCX_SCHEME_SIP_DIGEST);
    assert_int_equal(mcx_store_scheme_parse("md5", &s), -EINVAL);
    assert_int_equal(mcx_store_scheme_parse(NULL, &s), -EINVAL);
    assert_string_equal(mcx_store_reg_state_name(MCX_REG_NOT_REGISTERED), "not registered");
    assert_string_equal(mcx_store_reg_state_name(MCX_REG_REGISTERED), "registered");
    assert_string_equal(mcx_store_reg_state_name(MCX_REG_UNREGISTERED), "unregistered");
}

/* A NULL handle or pointer is an error, never a crash. */
static void test_null_arguments(void **state)
{
    (void)state;
    uint64_t sqns[1];
    mcx_subscriber_t *s = sub_new();
    assert_int_equal(mcx_store_subscriber_get(NULL, "a", s), -EINVAL);
    assert_int_equal(mcx_store_subscriber_delete(NULL, "a"), -EINVAL);
    assert_int_equal(mcx_store_sqn_reserve(NULL, "a", 1, 0, 0, NULL, sqns), -EINVAL);
    assert_int_equal(mcx_store_reg_set(NULL, "a", NULL, MCX_REG_REGISTERED, NULL), -EINVAL);
    assert_int_equal(mcx_store_schema_version(NULL), -EINVAL);
    mcx_store_close(NULL);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_get_every_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_ignores_state_and_absent_scheme, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_every_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_rejects, setup, teardown),
        cmocka_unit_test(test_validation_accepts),
        cmocka_unit_test_setup_teardown(test_eexist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_impi_by_impu, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reg_set, setup, teardown),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_null_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

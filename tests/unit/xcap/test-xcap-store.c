/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/xcap store and provisioning API on a real SQLite file: validation
 * refusals store nothing, ETags are strong, quoted and change on every
 * PUT, preconditions, delete, list, persistence across reopen, and
 * If-Match racing writers (exactly one wins). Also the groups validator.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gms-auid.h"
#include "xcap/mcx-xcap.h"

static char dir[64], db[96];

static mcx_xcap_err_t no_bad_title(void *ud, xmlDocPtr doc, const mcx_xcap_loc_t *loc,
                                   char *phrase, size_t len)
{
    xmlNodePtr r = xmlDocGetRootElement(doc);
    xmlChar *t = xmlGetNoNsProp(r, (const xmlChar *)"title");
    bool bad = t && strcmp((const char *)t, "bad") == 0;
    xmlFree(t);
    if (bad) {
        snprintf(phrase, len, "title may not be bad");
        return MCX_XCAP_ERR_CONSTRAINT;
    }
    return MCX_XCAP_ERR_NONE;
}

static const mcx_xcap_auid_t test_au = {
    .auid = "org.example.notes", .mime = "application/vnd.example.notes+xml",
    .root_name = "notes", .root_ns = "urn:example:notes", .users_tree = true,
    .global_tree = true, .validate = no_bad_title,
};

static const char good[] = "<notes xmlns=\"urn:example:notes\" title=\"a\"/>";
static const char good2[] = "<notes xmlns=\"urn:example:notes\" title=\"b\"/>";

static mcx_xcap_t *open_x(void)
{
    char err[256];
    mcx_xcap_conf_t conf = {.db_path = db};
    mcx_xcap_t *x = NULL;
    assert_int_equal(mcx_xcap_open(&conf, &x, err, sizeof(err)), 0);
    assert_int_equal(mcx_xcap_register(x, &test_au, err, sizeof(err)), 0);
    return x;
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/xcap-store-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(db, sizeof(db), "%s/x.sqlite", dir);
    *state = open_x();
    return 0;
}

static int teardown(void **state)
{
    mcx_xcap_close(*state);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static mcx_xcap_loc_t user_loc(const char *doc)
{
    mcx_xcap_loc_t loc;
    assert_int_equal(mcx_xcap_loc_set(&loc, test_au.auid, MCX_XCAP_USERS, "sip:alice@alpha.test",
                                      doc),
                     0);
    return loc;
}

static int count_cb(void *ud, const mcx_xcap_entry_t *e)
{
    (*(int *)ud)++;
    return 0;
}

static int count_docs(mcx_xcap_t *x)
{
    int n = 0;
    assert_int_equal(mcx_xcap_list(x, NULL, NULL, count_cb, &n), 0);
    return n;
}

static void test_refusals_store_nothing(void **state)
{
    mcx_xcap_t *x = *state;
    mcx_xcap_loc_t loc = user_loc("n.xml");
    mcx_xcap_result_t res;
    static const struct {
        const char *body;
        mcx_xcap_err_t err;
    } bad[] = {
        {"<notes xmlns=\"urn:example:notes\">", MCX_XCAP_ERR_NOT_WELL_FORMED},
        {"", MCX_XCAP_ERR_NOT_WELL_FORMED},
        {"<?xml version=\"1.0\"?><!DOCTYPE notes [<!ENTITY a \"aaaa\">]>"
         "<notes xmlns=\"urn:example:notes\">&a;</notes>",
         MCX_XCAP_ERR_NOT_WELL_FORMED},
        {"<!doctype notes SYSTEM \"file:///etc/passwd\"><notes xmlns=\"urn:example:notes\"/>",
         MCX_XCAP_ERR_NOT_WELL_FORMED},
        {"<other xmlns=\"urn:example:notes\"/>", MCX_XCAP_ERR_SCHEMA},
        {"<notes/>", MCX_XCAP_ERR_SCHEMA},
        {"<notes xmlns=\"urn:example:other\"/>", MCX_XCAP_ERR_SCHEMA},
        {"<notes xmlns=\"urn:example:notes\" title=\"bad\"/>", MCX_XCAP_ERR_CONSTRAINT},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&res, 0, sizeof(res));
        assert_int_equal(mcx_xcap_put(x, &loc, bad[i].body, strlen(bad[i].body), NULL, NULL,
                                      NULL, NULL, NULL, &res),
                         -EINVAL);
        assert_int_equal(res.status, 409);
        assert_int_equal(res.err, bad[i].err);
        assert_true(res.phrase[0] != '\0');
    }
    assert_int_equal(count_docs(x), 0);
    /* unknown AUID and a tree the AUID does not have */
    mcx_xcap_loc_t u;
    mcx_xcap_loc_set(&u, "org.unknown", MCX_XCAP_GLOBAL, NULL, "d");
    assert_int_equal(mcx_xcap_put(x, &u, good, strlen(good), NULL, NULL, NULL, NULL, NULL, &res),
                     -ENOENT);
    assert_int_equal(count_docs(x), 0);
}

static void test_etags_and_preconditions(void **state)
{
    mcx_xcap_t *x = *state;
    mcx_xcap_loc_t loc = user_loc("n.xml");
    mcx_xcap_result_t res;
    char e1[MCX_XCAP_ETAG_MAX], e2[MCX_XCAP_ETAG_MAX], e3[MCX_XCAP_ETAG_MAX], eg[MCX_XCAP_ETAG_MAX];
    bool created = false;

    /* If-Match on a missing document fails; If-None-Match: * creates */
    assert_int_equal(mcx_xcap_put(x, &loc, good, strlen(good), "*", NULL, NULL, e1, &created,
                                  &res),
                     -EBUSY);
    assert_int_equal(res.status, 412);
    assert_int_equal(mcx_xcap_put(x, &loc, good, strlen(good), NULL, "*", "sip:alice@alpha.test",
                                  e1, &created, &res),
                     0);
    assert_true(created);
    assert_int_equal(res.status, 201);
    assert_int_equal(e1[0], '"');
    assert_int_equal(e1[strlen(e1) - 1], '"');
    assert_true(strlen(e1) >= 34); /* 128 random bits */

    /* If-None-Match: * on an existing document -> 412, unchanged */
    assert_int_equal(mcx_xcap_put(x, &loc, good2, strlen(good2), NULL, "*", NULL, e2, &created,
                                  &res),
                     -EBUSY);
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(mcx_xcap_get(x, &loc, &body, &len, eg, NULL, 0), 0);
    assert_string_equal(body, good);
    assert_string_equal(eg, e1);
    free(body);

    /* same content again still gets a new ETag */
    assert_int_equal(mcx_xcap_put(x, &loc, good, strlen(good), e1, NULL, NULL, e2, &created,
                                  &res),
                     0);
    assert_false(created);
    assert_int_equal(res.status, 200);
    assert_string_not_equal(e1, e2);

    /* stale If-Match -> 412, nothing changed */
    assert_int_equal(mcx_xcap_put(x, &loc, good2, strlen(good2), e1, NULL, NULL, e3, &created,
                                  &res),
                     -EBUSY);
    assert_int_equal(mcx_xcap_get(x, &loc, &body, &len, eg, NULL, 0), 0);
    assert_string_equal(body, good);
    assert_string_equal(eg, e2);
    free(body);

    /* a list with the current tag matches; weak form too on If-None-Match */
    char list[128];
    snprintf(list, sizeof(list), "\"nope\", %s", e2);
    assert_int_equal(mcx_xcap_put(x, &loc, good2, strlen(good2), list, NULL, NULL, e3, &created,
                                  &res),
                     0);
    snprintf(list, sizeof(list), "W/%s", e3);
    assert_int_equal(mcx_xcap_put(x, &loc, good, strlen(good), NULL, list, NULL, NULL, NULL,
                                  &res),
                     -EBUSY);

    /* delete: stale If-Match refused, then deleted, then 404 */
    assert_int_equal(mcx_xcap_delete(x, &loc, e1, &res), -EBUSY);
    assert_int_equal(count_docs(x), 1);
    assert_int_equal(mcx_xcap_delete(x, &loc, e3, &res), 0);
    assert_int_equal(mcx_xcap_delete(x, &loc, NULL, &res), -ENOENT);
    assert_int_equal(mcx_xcap_get(x, &loc, &body, &len, eg, NULL, 0), -ENOENT);
    assert_int_equal(count_docs(x), 0);
}

typedef struct {
    mcx_xcap_t *x;
    const char *etag;
    int rc;
} racer_t;

static void *race(void *arg)
{
    racer_t *r = arg;
    mcx_xcap_loc_t loc = user_loc("race.xml");
    mcx_xcap_result_t res;
    r->rc = mcx_xcap_put(r->x, &loc, good2, strlen(good2), r->etag, NULL, NULL, NULL, NULL,
                         &res);
    return NULL;
}

static void test_if_match_race(void **state)
{
    mcx_xcap_t *x = *state;
    mcx_xcap_loc_t loc = user_loc("race.xml");
    mcx_xcap_result_t res;
    char e[MCX_XCAP_ETAG_MAX];
    for (int round = 0; round < 20; round++) {
        assert_int_equal(mcx_xcap_put(x, &loc, good, strlen(good), NULL, NULL, NULL, e, NULL,
                                      &res),
                         0);
        racer_t r[4];
        pthread_t t[4];
        for (int i = 0; i < 4; i++) {
            r[i] = (racer_t){.x = x, .etag = e};
            assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
        }
        int wins = 0, lost = 0;
        for (int i = 0; i < 4; i++) {
            pthread_join(t[i], NULL);
            wins += r[i].rc == 0;
            lost += r[i].rc == -EBUSY;
        }
        assert_int_equal(wins, 1);
        assert_int_equal(lost, 3);
    }
}

static int list_cb(void *ud, const mcx_xcap_entry_t *e)
{
    char *out = ud;
    strcat(out, e->loc->doc);
    strcat(out, ";");
    return 0;
}

static void test_list_and_reopen(void **state)
{
    mcx_xcap_t *x = *state;
    mcx_xcap_result_t res;
    mcx_xcap_loc_t a = user_loc("b.xml"), b = user_loc("a.xml"), g;
    mcx_xcap_loc_set(&g, test_au.auid, MCX_XCAP_GLOBAL, NULL, "dir/g.xml");
    char ea[MCX_XCAP_ETAG_MAX], eg[MCX_XCAP_ETAG_MAX];
    assert_int_equal(mcx_xcap_put(x, &a, good, strlen(good), NULL, NULL, NULL, ea, NULL, &res), 0);
    assert_int_equal(mcx_xcap_put(x, &b, good, strlen(good), NULL, NULL, NULL, NULL, NULL, &res), 0);
    assert_int_equal(mcx_xcap_put(x, &g, good, strlen(good), NULL, NULL, NULL, NULL, NULL, &res), 0);
    char out[256] = "";
    assert_int_equal(mcx_xcap_list(x, NULL, "sip:alice@alpha.test", list_cb, out), 0);
    assert_string_equal(out, "a.xml;b.xml;");
    out[0] = '\0';
    assert_int_equal(mcx_xcap_list(x, NULL, "", list_cb, out), 0);
    assert_string_equal(out, "dir/g.xml;");
    out[0] = '\0';
    assert_int_equal(mcx_xcap_list(x, "org.other", NULL, list_cb, out), 0);
    assert_string_equal(out, "");

    mcx_xcap_close(x);
    *state = x = open_x();
    char *body = NULL;
    size_t len;
    assert_int_equal(mcx_xcap_get(x, &a, &body, &len, eg, NULL, 0), 0);
    assert_string_equal(eg, ea);
    assert_int_equal(len, strlen(good));
    free(body);
}

static xmlDocPtr parse(const char *s)
{
    return xmlReadMemory(s, (int)strlen(s), "t.xml", NULL, XML_PARSE_NONET);
}

static void test_gms_validator(void **state)
{
    gms_policy_t pol = {.max_members = 2};
    mcx_xcap_loc_t loc;
    mcx_xcap_loc_set(&loc, GMS_AUID, MCX_XCAP_GLOBAL, NULL, "byGroupID/sip:g1@alpha.test");
    char phrase[MCX_XCAP_PHRASE_MAX];
#define G(body) "<group xmlns=\"urn:oma:xml:poc:list-service\">" body "</group>"
    static const struct {
        const char *xml;
        mcx_xcap_err_t want;
    } cases[] = {
        {G("<list-service uri=\"sip:g1@alpha.test\"><list><entry uri=\"sip:a@alpha.test\"/>"
           "<entry uri=\"tel:+123\"/></list></list-service>"),
         MCX_XCAP_ERR_NONE},
        {G("<list-service uri=\"sip:g2@alpha.test\"/>"), MCX_XCAP_ERR_CONSTRAINT},
        {G(""), MCX_XCAP_ERR_SCHEMA},
        {G("<list-service/>"), MCX_XCAP_ERR_SCHEMA},
        {G("<list-service uri=\"sip:g1@alpha.test\"/><list-service uri=\"sip:g1@alpha.test\"/>"),
         MCX_XCAP_ERR_SCHEMA},
        {G("<list-service uri=\"sip:g1@alpha.test\"><list><entry uri=\"sip:a@alpha.test\"/>"
           "<entry uri=\"sip:a@alpha.test\"/></list></list-service>"),
         MCX_XCAP_ERR_CONSTRAINT},
        {G("<list-service uri=\"sip:g1@alpha.test\"><list><entry uri=\"http://x\"/></list>"
           "</list-service>"),
         MCX_XCAP_ERR_CONSTRAINT},
        {G("<list-service uri=\"sip:g1@alpha.test\"><list><entry/></list></list-service>"),
         MCX_XCAP_ERR_SCHEMA},
        {G("<list-service uri=\"sip:g1@alpha.test\"><list><entry uri=\"sip:a@x\"/>"
           "<entry uri=\"sip:b@x\"/><entry uri=\"sip:c@x\"/></list></list-service>"),
         MCX_XCAP_ERR_CONSTRAINT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        xmlDocPtr d = parse(cases[i].xml);
        assert_non_null(d);
        phrase[0] = '\0';
        mcx_xcap_err_t got = gms_validate(&pol, d, &loc, phrase, sizeof(phrase));
        if (got != cases[i].want)
            fprintf(stderr, "case %zu: got %d (%s)\n", i, got, phrase);
        assert_int_equal(got, cases[i].want);
        xmlFreeDoc(d);
    }
    /* a document outside byGroupID/ */
    mcx_xcap_loc_set(&loc, GMS_AUID, MCX_XCAP_GLOBAL, NULL, "sip:g1@alpha.test");
    xmlDocPtr d = parse(cases[0].xml);
    assert_int_equal(gms_validate(&pol, d, &loc, phrase, sizeof(phrase)), MCX_XCAP_ERR_CONSTRAINT);
    xmlFreeDoc(d);
}

static void test_gms_access(void **state)
{
    gms_policy_t pol = {.n_admins = 1};
    strcpy(pol.administrators[0], "sip:admin@alpha.test");
    const char *doc = G("<list-service uri=\"sip:g1@alpha.test\"><list>"
                        "<entry uri=\"sip:alice@alpha.test\"/></list></list-service>");
    mcx_xcap_caller_t admin = {.mcptt_id = "sip:admin@alpha.test"};
    mcx_xcap_caller_t alice = {.mcptt_id = "sip:alice@alpha.test"};
    mcx_xcap_caller_t bob = {.mcptt_id = "sip:bob@alpha.test"};
    mcx_xcap_caller_t anon = {0};
    mcx_xcap_access_t a = {.exists = true, .content = doc, .content_len = strlen(doc),
                           .creator = "sip:admin@alpha.test"};
    a.op = MCX_XCAP_OP_GET;
    a.caller = &alice;
    assert_int_equal(gms_access(&pol, &a), 0);
    a.caller = &bob;
    assert_int_equal(gms_access(&pol, &a), -EACCES);
    a.caller = &anon;
    assert_int_equal(gms_access(&pol, &a), -EACCES);
    a.op = MCX_XCAP_OP_PUT;
    a.caller = &alice; /* a member may read, not write */
    assert_int_equal(gms_access(&pol, &a), -EACCES);
    a.caller = &admin;
    assert_int_equal(gms_access(&pol, &a), 0);
    a.op = MCX_XCAP_OP_DELETE;
    a.caller = &alice;
    assert_int_equal(gms_access(&pol, &a), -EACCES);
    /* the creator of a group owns it */
    a.creator = "sip:bob@alpha.test";
    a.caller = &bob;
    assert_int_equal(gms_access(&pol, &a), 0);
    /* creating: administrators only, unless allow_user_create */
    a.exists = false;
    a.content = NULL;
    a.op = MCX_XCAP_OP_PUT;
    assert_int_equal(gms_access(&pol, &a), -EACCES);
    pol.allow_user_create = true;
    assert_int_equal(gms_access(&pol, &a), 0);
#undef G
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refusals_store_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_etags_and_preconditions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_if_match_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_and_reopen, setup, teardown),
        cmocka_unit_test(test_gms_validator),
        cmocka_unit_test(test_gms_access),
    };
    mcx_log_init("test-xcap-store", MCX_LOG_ERROR);
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Helpers shared by the lib/store unit tests (see test-store-common.h).
 * Each test gets its own directory so that tests run in parallel.
 */
#include "test-store-common.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

void tmpdb_init(tmpdb_t *t)
{
    const char *base = getenv("TMPDIR");
    snprintf(t->dir, sizeof(t->dir), "%s/mcx-store-test-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/store.sqlite", t->dir);
}

void tmpdb_final(tmpdb_t *t)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char p[700];
        snprintf(p, sizeof(p), "%s%s", t->path, suffixes[i]);
        unlink(p);
    }
    rmdir(t->dir);
}

mcx_store_t *tmpdb_open(const tmpdb_t *t)
{
    mcx_store_config_t cfg = {.backend = "sqlite", .sync = MCX_STORE_SYNC_NORMAL};
    snprintf(cfg.path, sizeof(cfg.path), "%s", t->path);
    mcx_store_t *st = NULL;
    char err[256] = "";
    int rv = mcx_store_open(&cfg, &st, err, sizeof(err));
    if (rv != 0)
        print_error("mcx_store_open: %d %s\n", rv, err);
    assert_int_equal(rv, 0);
    assert_non_null(st);
    return st;
}

void example_subscriber(mcx_subscriber_t *s, const char *name, uint8_t seed)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->impi, sizeof(s->impi), "%s@alpha.example", name);
    s->n_impus = 2;
    snprintf(s->impus[0].impu, sizeof(s->impus[0].impu), "sip:%s@alpha.example", name);
    snprintf(s->impus[1].impu, sizeof(s->impus[1].impu), "sips:%s.old@alpha.example", name);
    s->impus[1].barred = true;
    s->has_aka = true;
    for (int i = 0; i < 16; i++) {
        s->k[i] = (uint8_t)(seed + i);
        s->opc[i] = (uint8_t)(seed * 3 + 0x40 + i);
    }
    s->amf[0] = 0x80;
    s->amf[1] = 0x00;
    s->sqn = 0;
    s->has_digest = true;
    snprintf(s->digest_realm, sizeof(s->digest_realm), "alpha.example");
    snprintf(s->ha1_md5, sizeof(s->ha1_md5), "%032x", seed);
    snprintf(s->ha1_sha256, sizeof(s->ha1_sha256), "%064x", seed + 1);
    s->default_scheme = MCX_SCHEME_AKAV1_MD5;
    snprintf(s->ifc_xml, sizeof(s->ifc_xml),
             "<InitialFilterCriteria><Priority>0</Priority>"
             "<ApplicationServer><ServerName>sip:as.alpha.example</ServerName>"
             "</ApplicationServer></InitialFilterCriteria>");
}

mcx_subscriber_t *sub_new(void)
{
    mcx_subscriber_t *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    return s;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Fuzz target for mcx-sipdb's whole Cx path short of the network: raw bytes
 * -> freeDiameter parse (buffer, dictionary, rules) -> the daemon's own
 * handler (decode, decide against an in-memory store, encode) -> the answer
 * serialised again. Built for libFuzzer with -Dfuzz=true (clang); the
 * standalone driver fuzz-driver.c runs it over generated seeds and
 * deterministic mutations as a unit test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx/mcx-diameter-cx.h"
#include "sipdb-context.h"
#include "sipdb-fd-path.h"

static sipdb_config_t cfg;
static sipdb_context_t ctx;

/* Inputs that reached the handler and produced a serialisable answer. */
unsigned long fuzz_sipdb_answered;

static void provision(void)
{
    mcx_subscriber_t *s = calloc(1, sizeof(*s));
    if (!s)
        abort();
    strcpy(s->impi, "alice@alpha.test");
    strcpy(s->impus[0].impu, "sip:alice@alpha.test");
    strcpy(s->impus[1].impu, "tel:+4911");
    s->n_impus = 2;
    s->has_aka = true;
    memset(s->k, 0x11, 16);
    memset(s->opc, 0x22, 16);
    s->amf[0] = 0x80;
    s->has_digest = true;
    strcpy(s->digest_realm, "alpha.test");
    memset(s->ha1_md5, 'a', 32);
    char err[256];
    if (mcx_store_subscriber_add(ctx.store, s, err, sizeof(err)))
        abort();
    free(s);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    mcx_log_init("fuzz-sipdb-cx", MCX_LOG_ERROR);
    /* Refusals are logged at warn/notice: keep the fuzzer's output clean. */
    mcx_log_set_level(MCX_LOG_ERROR);
    if (mcx_diam_init_offline("sipdb.fuzz.test", "fuzz.test") || mcx_cx_dict_init())
        abort();
    strcpy(cfg.store.backend, "sqlite");
    strcpy(cfg.store.path, ":memory:");
    cfg.sipdb.max_vectors = 5;
    cfg.sipdb.ind_bits = 5;
    strcpy(cfg.sipdb.digest_qop, "auth");
    strcpy(cfg.sipdb.server_names[0], "sip:scscf.alpha.test");
    cfg.sipdb.n_server_names = 1;
    ctx.cfg = &cfg;
    char err[256];
    if (mcx_store_open(&cfg.store, &ctx.store, err, sizeof(err)))
        abort();
    provision();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 20 || size > 65536)
        return 0;
    uint8_t *buf = malloc(size);
    if (!buf)
        return 0;
    memcpy(buf, data, size);

    struct msg *msg = NULL;
    if (fd_msg_parse_buffer(&buf, size, &msg)) {
        free(buf);
        return 0;
    }
    /* What freeDiameter checks before it dispatches to us. */
    struct fd_pei pei;
    memset(&pei, 0, sizeof(pei));
    struct msg_hdr *h = NULL;
    if (fd_msg_parse_dict(msg, fd_g_config->cnf_dict, &pei) ||
        fd_msg_parse_rules(msg, fd_g_config->cnf_dict, &pei) || fd_msg_hdr(msg, &h) ||
        !(h->msg_flags & CMD_FLAG_REQUEST) || h->msg_appl != MCX_CX_APP_ID) {
        if (getenv("FUZZ_DEBUG"))
            fprintf(stderr, "not dispatched: %s\n", pei.pei_errcode ? pei.pei_errcode : "?");
        if (pei.pei_avp_free && pei.pei_avp)
            fd_msg_free((msg_or_avp *)pei.pei_avp);
        fd_msg_free(msg);
        return 0;
    }
    int rv = sipdb_fd_answer(&ctx, &msg);
    if (rv && getenv("FUZZ_DEBUG"))
        fprintf(stderr, "handler: %s\n", strerror(rv));
    if (rv == 0) {
        uint8_t *out = NULL;
        size_t len = 0;
        rv = fd_msg_bufferize(msg, &out, &len);
        if (rv && getenv("FUZZ_DEBUG"))
            fprintf(stderr, "bufferize: %s\n", strerror(rv));
        if (rv == 0) {
            fuzz_sipdb_answered++;
            free(out);
        }
    }
    fd_msg_free(msg);
    return 0;
}

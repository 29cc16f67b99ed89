/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * A deterministic stand-in for libFuzzer, so every build runs the fuzz
 * target: it builds valid MAR/SAR/UAR/LIR requests as seeds, then feeds the
 * target each seed and many mutations of it (bit flips, byte overwrites,
 * truncations, AVP length corruption, spliced tails). With file arguments it
 * runs those files instead (a saved crash or corpus). Under the sanitizer
 * build any memory error aborts the run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx/mcx-diameter-cx.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern unsigned long fuzz_sipdb_answered;

#define MAX_SEEDS 16

typedef struct {
    uint8_t *buf;
    size_t len;
} seed_t;

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next_rand(void)
{
    /* xorshift64*: reproducible, so a failure is reproducible too. */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}

static int build(struct dict_object *cmd, int kind, seed_t *out)
{
    struct msg *m = NULL;
    int rv = fd_msg_new(cmd, MSGFL_ALLOC_ETEID, &m);
    rv = rv ? rv : -mcx_diam_add_str(m, mcx_diam_avp_session_id, "cx.fuzz.test;1;2;seed");
    rv = rv ? rv : -mcx_diam_add_vsai(m, MCX_3GPP_VENDOR_ID, MCX_CX_APP_ID);
    rv = rv ? rv : -mcx_diam_add_i32(m, mcx_diam_avp_auth_session_state, 1);
    rv = rv ? rv : -mcx_diam_add_str(m, mcx_diam_avp_origin_host, "cx.fuzz.test");
    rv = rv ? rv : -mcx_diam_add_str(m, mcx_diam_avp_origin_realm, "fuzz.test");
    rv = rv ? rv : -mcx_diam_add_str(m, mcx_diam_avp_destination_realm, "fuzz.test");
    if (kind != 3)
        rv = rv ? rv : -mcx_diam_add_str(m, mcx_diam_avp_user_name, "alice@alpha.test");
    rv = rv ? rv : -mcx_diam_add_str(m, mcx_cx_avp_public_identity, "sip:alice@alpha.test");
    if (kind == 0 || kind == 4 || kind == 5) { /* MAR: AKA, resync, SIP Digest */
        struct avp *item = NULL;
        rv = rv ? rv : -mcx_diam_add_u32(m, mcx_cx_avp_sip_number_auth_items, 3);
        rv = rv ? rv : -mcx_diam_add_str(m, mcx_cx_avp_server_name, "sip:scscf.alpha.test");
        rv = rv ? rv : -mcx_diam_add_grouped(m, mcx_cx_avp_sip_auth_data_item, &item);
        rv = rv ? rv
                : -mcx_diam_add_str(item, mcx_cx_avp_sip_authentication_scheme,
                                    kind == 5 ? "SIP Digest" : "Digest-AKAv1-MD5");
        if (kind == 4) {
            uint8_t ra[30];
            memset(ra, 0x5a, sizeof(ra));
            rv = rv ? rv : -mcx_diam_add_os(item, mcx_cx_avp_sip_authorization, ra, sizeof(ra));
        }
    } else if (kind == 1) { /* SAR */
        rv = rv ? rv : -mcx_diam_add_str(m, mcx_cx_avp_server_name, "sip:scscf.alpha.test");
        rv = rv ? rv : -mcx_diam_add_i32(m, mcx_cx_avp_server_assignment_type, 1);
        rv = rv ? rv : -mcx_diam_add_i32(m, mcx_cx_avp_user_data_already_available, 0);
    } else if (kind == 2) { /* UAR */
        rv = rv ? rv : -mcx_diam_add_str(m, mcx_cx_avp_visited_network_identifier, "fuzz.test");
        rv = rv ? rv : -mcx_diam_add_i32(m, mcx_cx_avp_user_authorization_type, 0);
    }
    if (!rv)
        rv = fd_msg_bufferize(m, &out->buf, &out->len);
    fd_msg_free(m);
    return rv;
}

static void mutate_and_run(const seed_t *s, unsigned rounds)
{
    uint8_t *b = malloc(s->len + 64);
    if (!b)
        abort();
    for (unsigned r = 0; r < rounds; r++) {
        memcpy(b, s->buf, s->len);
        size_t len = s->len;
        switch (next_rand() % 5) {
        case 0: /* a few bit flips */
            for (int i = 0, n = 1 + (int)(next_rand() % 4); i < n; i++) {
                size_t bit = next_rand() % (len * 8);
                b[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            }
            break;
        case 1: /* overwrite one byte past the header */
            b[20 + next_rand() % (len - 20)] = (uint8_t)next_rand();
            break;
        case 2: /* truncate, fixing the header length so parsing goes deep */
            len = 20 + next_rand() % (len - 20);
            b[1] = (uint8_t)(len >> 16);
            b[2] = (uint8_t)(len >> 8);
            b[3] = (uint8_t)len;
            break;
        case 3: { /* corrupt one AVP length field (AVPs start at 20, length at +5) */
            size_t at = 20;
            for (int hop = (int)(next_rand() % 8); hop > 0 && at + 8 <= len; hop--) {
                size_t alen = (size_t)b[at + 5] << 16 | (size_t)b[at + 6] << 8 | b[at + 7];
                if (alen < 8)
                    break;
                at += (alen + 3) & ~(size_t)3;
            }
            if (at + 8 <= len)
                b[at + 7 - next_rand() % 3] = (uint8_t)next_rand();
            break;
        }
        default: /* append garbage and fix the header length */
            for (int i = 0; i < 32; i++)
                b[len + (size_t)i] = (uint8_t)next_rand();
            len += 4 * (1 + next_rand() % 8);
            b[1] = (uint8_t)(len >> 16);
            b[2] = (uint8_t)(len >> 8);
            b[3] = (uint8_t)len;
            break;
        }
        LLVMFuzzerTestOneInput(b, len);
    }
    free(b);
}

int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            FILE *fp = fopen(argv[i], "rb");
            if (!fp) {
                perror(argv[i]);
                return 1;
            }
            static uint8_t data[65536];
            size_t n = fread(data, 1, sizeof(data), fp);
            fclose(fp);
            LLVMFuzzerTestOneInput(data, n);
        }
        printf("%d input file(s) ran without a crash\n", argc - 1);
        return 0;
    }

    struct dict_object *cmds[] = {mcx_cx_cmd_mar, mcx_cx_cmd_sar, mcx_cx_cmd_uar, mcx_cx_cmd_lir,
                                  mcx_cx_cmd_mar, mcx_cx_cmd_mar};
    seed_t seeds[MAX_SEEDS];
    unsigned n = 0, runs = 0;
    for (int kind = 0; kind < 6; kind++) {
        if (build(cmds[kind], kind, &seeds[n])) {
            fprintf(stderr, "cannot build seed %d\n", kind);
            return 1;
        }
        unsigned long before = fuzz_sipdb_answered;
        LLVMFuzzerTestOneInput(seeds[n].buf, seeds[n].len);
        if (fuzz_sipdb_answered != before + 1) {
            /* A seed that never reaches the handler makes the run meaningless. */
            fprintf(stderr, "seed %d was not answered by the handler\n", kind);
            return 1;
        }
        n++;
    }
    const unsigned rounds = 20000;
    for (unsigned i = 0; i < n; i++) {
        mutate_and_run(&seeds[i], rounds);
        runs += rounds + 1;
        free(seeds[i].buf);
    }
    printf("%u inputs (%u seeds and their mutations) ran without a crash; %lu answered\n",
           runs, n, fuzz_sipdb_answered);
    return 0;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * aka-check: the UE side of IMS AKA for integration tests, on lib/auth.
 * It lets a Python test check a vector from mcx-sipdb against the
 * subscriber's K/OPc (the standard library has no AES) and build AUTS for
 * resynchronisation. Test material only: it prints keys on purpose.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/mcx-auth.h"
#include "core/mcx-core.h"

static int usage(void)
{
    fprintf(stderr,
            "Usage: aka-check challenge K OPC RAND AUTN\n"
            "         -> {\"mac_ok\":true,\"sqn\":N,\"amf\":\"HEX\",\"res\":\"HEX\",\"ck\":..,\"ik\":..}\n"
            "       aka-check auts K OPC RAND SQN_MS\n"
            "         -> {\"auts\":\"HEX\"}\n"
            "       aka-check vector K OPC AMF SQN RAND\n"
            "         -> {\"autn\":..,\"xres\":..,\"ck\":..,\"ik\":..}\n"
            "All values hex except SQN (decimal or 0x hex). Exit 0 ok, 1 MAC failure, 2 usage.\n");
    return 2;
}

static int hex_arg(const char *name, const char *s, uint8_t *out, size_t len)
{
    if (mcx_hex_decode(s, out, len)) {
        fprintf(stderr, "aka-check: %s: expected %zu hex octets\n", name, len);
        return -EINVAL;
    }
    return 0;
}

static int sqn_arg(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end || v > MCX_SQN_MAX) {
        fprintf(stderr, "aka-check: SQN: expected 0..2^48-1\n");
        return -EINVAL;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    uint8_t k[16], opc[16], rand[16];
    char h1[65], h2[65], h3[65], h4[65];
    if (argc < 2)
        return usage();
    if (!strcmp(argv[1], "challenge") && argc == 6) {
        uint8_t autn[16], res[8], ck[16], ik[16];
        uint64_t sqn = 0;
        if (hex_arg("K", argv[2], k, 16) || hex_arg("OPC", argv[3], opc, 16) ||
            hex_arg("RAND", argv[4], rand, 16) || hex_arg("AUTN", argv[5], autn, 16))
            return 2;
        int rv = mcx_aka_ue_challenge(k, opc, rand, autn, &sqn, res, ck, ik);
        if (rv) {
            printf("{\"mac_ok\":false}\n");
            return 1;
        }
        printf("{\"mac_ok\":true,\"sqn\":%" PRIu64 ",\"amf\":\"%02x%02x\",\"res\":\"%s\","
               "\"ck\":\"%s\",\"ik\":\"%s\"}\n",
               sqn, autn[6], autn[7], mcx_hex_encode(res, 8, h1), mcx_hex_encode(ck, 16, h2),
               mcx_hex_encode(ik, 16, h3));
        return 0;
    }
    if (!strcmp(argv[1], "auts") && argc == 6) {
        uint8_t auts[14];
        uint64_t sqn_ms;
        if (hex_arg("K", argv[2], k, 16) || hex_arg("OPC", argv[3], opc, 16) ||
            hex_arg("RAND", argv[4], rand, 16) || sqn_arg(argv[5], &sqn_ms))
            return 2;
        if (mcx_aka_ue_auts(k, opc, rand, sqn_ms, auts))
            return 2;
        printf("{\"auts\":\"%s\"}\n", mcx_hex_encode(auts, 14, h1));
        return 0;
    }
    if (!strcmp(argv[1], "vector") && argc == 7) {
        uint8_t amf[2];
        uint64_t sqn;
        mcx_aka_vector_t v;
        if (hex_arg("K", argv[2], k, 16) || hex_arg("OPC", argv[3], opc, 16) ||
            hex_arg("AMF", argv[4], amf, 2) || sqn_arg(argv[5], &sqn) ||
            hex_arg("RAND", argv[6], rand, 16))
            return 2;
        if (mcx_aka_vector(k, opc, amf, sqn, rand, &v))
            return 2;
        printf("{\"autn\":\"%s\",\"xres\":\"%s\",\"ck\":\"%s\",\"ik\":\"%s\"}\n",
               mcx_hex_encode(v.autn, 16, h1), mcx_hex_encode(v.xres, 8, h2),
               mcx_hex_encode(v.ck, 16, h3), mcx_hex_encode(v.ik, 16, h4));
        return 0;
    }
    return usage();
}

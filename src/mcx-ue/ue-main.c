/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-ue: the MC service UE's signalling user agent (TS 23.280 SIP-1) as a
 * command-line program: registers with the SIP core using IMS AKA or SIP
 * Digest, keeps the registration fresh, de-registers on request or SIGTERM,
 * and prints every SIP step it takes.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ue-config.h"
#include "ue-isim.h"
#include "ue-reg.h"

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: mcx-ue -c FILE [--once] [--sqn-ahead N] [--transport udp|tcp]\n"
                "\n"
                "The MC service UE's SIP user agent: REGISTER with IMS AKA (RFC 3310) or SIP\n"
                "Digest, refresh at half the granted expiry, de-register on SIGTERM/SIGINT.\n"
                "Each SIP step is printed to stdout.\n"
                "\n"
                "  -c, --config FILE    YAML configuration (see configs/mcx-ue.yaml)\n"
                "      --once           register, print, de-register, exit\n"
                "      --sqn-ahead N    before registering, make the ISIM believe it has\n"
                "                       accepted SQNs N steps beyond its highest (forces a\n"
                "                       resynchronisation; saved to isim.sqn_file)\n"
                "      --transport T    override sip.transport (udp or tcp)\n"
                "      --check          load the configuration and the SQN state, then exit\n"
                "  -h, --help           this text\n"
                "\n"
                "Exit status: 0 registered (and de-registered when asked), 1 refused or no\n"
                "answer (one line on stderr says why), 2 usage or configuration error.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"once", no_argument, NULL, 'o'},
        {"sqn-ahead", required_argument, NULL, 'a'},
        {"transport", required_argument, NULL, 't'},
        {"check", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *path = NULL, *transport = NULL;
    bool once = false, check_only = false;
    uint64_t ahead = 0;
    int c;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'o':
            once = true;
            break;
        case 'a': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (errno || *end || optarg[0] < '0' || optarg[0] > '9' || v == 0) {
                fprintf(stderr, "mcx-ue: --sqn-ahead: '%s' is not a positive number\n", optarg);
                return 2;
            }
            ahead = v;
            break;
        }
        case 't':
            transport = optarg;
            break;
        case 'k':
            check_only = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!path || optind != argc) {
        usage(stderr);
        return 2;
    }

    mcx_log_init("mcx-ue", MCX_LOG_NOTICE);
    static ue_config_t cfg;
    char err[600];
    if (ue_config_load(path, &cfg, err, sizeof(err))) {
        fprintf(stderr, "mcx-ue: %s\n", err);
        return 2;
    }
    mcx_log_set_level((mcx_log_level_t)cfg.log_level);
    if (transport) {
        if (!strcmp(transport, "udp")) {
            cfg.sip.transport = UE_TRANSPORT_UDP;
        } else if (!strcmp(transport, "tcp")) {
            cfg.sip.transport = UE_TRANSPORT_TCP;
        } else {
            fprintf(stderr, "mcx-ue: --transport: '%s' is not udp or tcp\n", transport);
            return 2;
        }
    }

    static ue_isim_t isim;
    ue_isim_t *isimp = NULL;
    if (cfg.have_aka) {
        if (ue_isim_open(&isim, cfg.k, cfg.opc, cfg.isim.sqn_file, cfg.isim.ind_bits,
                         cfg.isim.delta_log2, err, sizeof(err))) {
            fprintf(stderr, "mcx-ue: %s\n", err);
            ue_config_wipe(&cfg);
            return 2;
        }
        isimp = &isim;
    }
    if (ahead) {
        if (!isimp) {
            fprintf(stderr, "mcx-ue: --sqn-ahead needs AKA keys in the configuration\n");
            ue_config_wipe(&cfg);
            return 2;
        }
        int rv = ue_isim_advance(isimp, ahead);
        if (rv) {
            fprintf(stderr, "mcx-ue: --sqn-ahead %" PRIu64 ": %s\n", ahead,
                    rv == -EINVAL ? "SEQ_MS would pass 2^48" : strerror(-rv));
            ue_isim_close(isimp);
            ue_config_wipe(&cfg);
            return 2;
        }
        printf("ISIM: SEQ_MS of every slot set to %" PRIu64 " (SQN_MS %" PRIu64 ")\n",
               isimp->seq_ms[0], ue_isim_sqn_ms(isimp));
    }
    if (check_only) {
        printf("%s: configuration is valid (%s%s)\n", path, cfg.have_aka ? "AKA" : "",
               cfg.isim.password[0] ? (cfg.have_aka ? ", Digest" : "Digest") : "");
        if (isimp)
            ue_isim_close(isimp);
        ue_config_wipe(&cfg);
        return 0;
    }

    if (mcx_signals_block()) {
        fprintf(stderr, "mcx-ue: cannot block signals\n");
        return 1;
    }
    ue_reg_opts_t ro = {.once = once, .out = stdout};
    int code = ue_reg_run(&cfg, isimp, &ro);
    if (isimp)
        ue_isim_close(isimp);
    ue_config_wipe(&cfg);
    return code;
}

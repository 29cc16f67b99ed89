/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-ue: the MC service UE (TS 23.280 10.1.1.1, on-network lifecycle) as a
 * command-line program: user authentication at the IdMS, configuration from
 * the CMS, groups from the GMS, SIP registration (IMS AKA or SIP Digest) and
 * service authorization at the MC service server; prints every step.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>

#include "ue-cmc.h"
#include "ue-config.h"
#include "ue-gmc.h"
#include "ue-http.h"
#include "ue-idm.h"
#include "ue-isim.h"
#include "ue-reg.h"
#include "ue-svcauth.h"

enum {
    PH_IDM = 1,
    PH_CMC = 2,
    PH_GMC = 4,
    PH_REGISTER = 8,
    PH_SVCAUTH = 16,
};

static const struct {
    const char *name;
    unsigned bit;
} phase_names[] = {{"idm", PH_IDM},
                   {"cmc", PH_CMC},
                   {"gmc", PH_GMC},
                   {"register", PH_REGISTER},
                   {"svcauth", PH_SVCAUTH}};
#define N_PHASES (sizeof(phase_names) / sizeof(phase_names[0]))

/* "idm,cmc,..." or "all" -> bits; 0 on an unknown name. */
static unsigned parse_phases(const char *arg, unsigned all)
{
    if (!strcmp(arg, "all"))
        return all;
    unsigned bits = 0;
    char buf[256];
    if (mcx_strlcpy(buf, arg, sizeof(buf)))
        return 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        unsigned b = 0;
        for (size_t i = 0; i < N_PHASES; i++)
            if (!strcmp(t, phase_names[i].name))
                b = phase_names[i].bit;
        if (!b)
            return 0;
        bits |= b;
    }
    return bits;
}

static void phases_text(unsigned bits, char *out, size_t outlen)
{
    out[0] = '\0';
    for (size_t i = 0; i < N_PHASES; i++)
        if (bits & phase_names[i].bit)
            snprintf(out + strlen(out), outlen - strlen(out), "%s%s", out[0] ? "," : "",
                     phase_names[i].name);
}

/* Which phases need what; a message for the first unmet need, else NULL. */
static const char *phases_unmet(unsigned ph, const ue_config_t *cfg)
{
    const ue_mc_conf_t *mc = &cfg->mc;
    if ((ph & PH_IDM) && !mc->idms_url[0])
        return "phase idm needs mc.idms_url";
    if ((ph & PH_CMC) && !mc->cms_url[0])
        return "phase cmc needs mc.cms_url";
    if ((ph & PH_GMC) && !mc->gms_url[0])
        return "phase gmc needs mc.gms_url";
    if ((ph & (PH_CMC | PH_GMC | PH_SVCAUTH)) && !(ph & PH_IDM))
        return "phases cmc, gmc and svcauth need phase idm (the access token)";
    if ((ph & PH_GMC) && !(ph & PH_CMC))
        return "phase gmc needs phase cmc (the groups come from the user profile)";
    if ((ph & PH_SVCAUTH) && !(ph & PH_REGISTER))
        return "phase svcauth needs phase register";
    return NULL;
}

static void step(const char *what)
{
    printf("== %s ==\n", what);
    fflush(stdout);
}

/* The HTTP phases (CSC-1, CSC-4, CSC-2). Returns a UE_EXIT_* status. */
static int http_phases(const ue_config_t *cfg, unsigned ph, ue_idm_t *idm, bool refresh)
{
    if (!(ph & PH_IDM))
        return UE_EXIT_OK;
    step("TS 23.280 10.1.1.1: MC service user authentication (IdM client, CSC-1)");
    ue_idm_init(idm, &cfg->mc, stdout);
    if (ue_idm_discover(idm) || ue_idm_login(idm))
        return UE_EXIT_REFUSED;
    if (refresh && ue_idm_refresh(idm))
        return UE_EXIT_REFUSED;
    char xui[UE_ID_MAX];
    mcx_strlcpy(xui, cfg->mc.mcptt_id[0] ? cfg->mc.mcptt_id
                     : idm->mcptt_id[0]  ? idm->mcptt_id
                                         : cfg->isim.impu,
                sizeof(xui));
    if (!(ph & PH_CMC))
        return UE_EXIT_OK;
    step("TS 23.280 10.1.1.1: configuration download (configuration management client, CSC-4)");
    static ue_cmc_t cmc;
    ue_cmc_init(&cmc, &cfg->mc, stdout, idm->access_token, xui);
    if (ue_cmc_run(&cmc))
        return UE_EXIT_REFUSED;
    if (!(ph & PH_GMC))
        return UE_EXIT_OK;
    step("TS 23.280 10.1.1.1: group configuration (group management client, CSC-2)");
    if (ue_gmc_run(&cfg->mc, stdout, idm->access_token, (const char(*)[UE_ID_MAX])cmc.groups,
                   cmc.n_groups))
        return UE_EXIT_REFUSED;
    return UE_EXIT_OK;
}

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: mcx-ue -c FILE [--phases LIST] [--once] [--refresh-token]\n"
                "              [--sqn-ahead N] [--transport udp|tcp]\n"
                "\n"
                "The MC service UE (TS 23.280 10.1.1.1): user authentication at the IdMS\n"
                "(OIDC, PKCE S256), configuration from the CMS and groups from the GMS (XCAP),\n"
                "SIP REGISTER with IMS AKA (RFC 3310) or SIP Digest, service authorization by\n"
                "PUBLISH to the MC service server. Registration and publication are refreshed\n"
                "until SIGTERM/SIGINT, which removes both. Each step is printed to stdout.\n"
                "\n"
                "  -c, --config FILE    YAML configuration (see configs/mcx-ue.yaml)\n"
                "      --phases LIST    comma-separated subset of idm,cmc,gmc,register,svcauth\n"
                "                       (or all); default: every phase the config enables\n"
                "                       (without register: the HTTP phases, then exit)\n"
                "      --once           do the lifecycle, print, de-register, exit\n"
                "      --refresh-token  after the token request, also use the refresh_token grant\n"
                "      --sqn-ahead N    before registering, make the ISIM believe it has\n"
                "                       accepted SQNs N steps beyond its highest (forces a\n"
                "                       resynchronisation; saved to isim.sqn_file)\n"
                "      --transport T    override sip.transport (udp or tcp)\n"
                "      --check          load the configuration and the SQN state, then exit\n"
                "  -h, --help           this text\n"
                "\n"
                "Exit status: 0 success, 1 a step refused or unanswered (the FAILED line and\n"
                "one line on stderr name it), 2 usage or configuration error.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"once", no_argument, NULL, 'o'},
        {"sqn-ahead", required_argument, NULL, 'a'},
        {"transport", required_argument, NULL, 't'},
        {"check", no_argument, NULL, 'k'},
        {"phases", required_argument, NULL, 'p'},
        {"refresh-token", no_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *path = NULL, *transport = NULL, *phases_arg = NULL;
    bool once = false, check_only = false, refresh = false;
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
        case 'p':
            phases_arg = optarg;
            break;
        case 'r':
            refresh = true;
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

    bool mc = ue_config_has_mc(&cfg);
    unsigned all = PH_REGISTER | (mc ? PH_IDM | PH_SVCAUTH : 0) |
                   (mc && cfg.mc.cms_url[0] ? PH_CMC : 0) |
                   (mc && cfg.mc.cms_url[0] && cfg.mc.gms_url[0] ? PH_GMC : 0);
    unsigned ph = all;
    if (phases_arg) {
        ph = parse_phases(phases_arg, all);
        if (!ph) {
            fprintf(stderr, "mcx-ue: --phases: '%s' is not a list of idm,cmc,gmc,register,svcauth\n",
                    phases_arg);
            ue_config_wipe(&cfg);
            return 2;
        }
    }
    const char *unmet = phases_unmet(ph, &cfg);
    if (unmet) {
        fprintf(stderr, "mcx-ue: %s\n", unmet);
        ue_config_wipe(&cfg);
        return 2;
    }
    if (refresh && !(ph & PH_IDM)) {
        fprintf(stderr, "mcx-ue: --refresh-token needs phase idm\n");
        ue_config_wipe(&cfg);
        return 2;
    }

    static ue_isim_t isim;
    ue_isim_t *isimp = NULL;
    if (cfg.have_aka && (ph & PH_REGISTER)) {
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
        char pt[80];
        phases_text(ph, pt, sizeof(pt));
        printf("%s: configuration is valid (%s%s; phases %s)\n", path, cfg.have_aka ? "AKA" : "",
               cfg.isim.password[0] ? (cfg.have_aka ? ", Digest" : "Digest") : "", pt);
        if (isimp)
            ue_isim_close(isimp);
        ue_config_wipe(&cfg);
        return 0;
    }

    if (mcx_signals_block()) {
        fprintf(stderr, "mcx-ue: cannot block signals\n");
        return 1;
    }
    xmlInitParser();
    if (ue_http_global_init()) {
        fprintf(stderr, "mcx-ue: cannot initialise libcurl\n");
        return 1;
    }
    static ue_idm_t idm;
    int code = http_phases(&cfg, ph, &idm, refresh);
    if (code == UE_EXIT_OK && (ph & PH_REGISTER)) {
        step("TS 23.280 10.1.1.1: SIP registration (signalling user agent, SIP-1)");
        ue_reg_hooks_t hooks;
        ue_reg_opts_t ro = {.once = once, .out = stdout};
        if (ph & PH_SVCAUTH) {
            ue_svcauth_setup(&hooks, &cfg, &idm, stdout, once);
            ro.hooks = &hooks;
        }
        code = ue_reg_run(&cfg, isimp, &ro);
    } else if (code == UE_EXIT_OK) {
        printf("DONE phases without SIP registration\n");
    }
    if (ph & PH_IDM)
        ue_idm_final(&idm);
    ue_http_global_final();
    xmlCleanupParser();
    if (isimp)
        ue_isim_close(isimp);
    ue_config_wipe(&cfg);
    return code;
}

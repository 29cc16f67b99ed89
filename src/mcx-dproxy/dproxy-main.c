/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-dproxy: the Diameter proxy of an MC system (TS 23.280 §7.4.3.1.4), an
 * RFC 6733 proxy agent on libfdcore. main() loads the YAML configuration,
 * starts the stack with relaying on, and runs until SIGTERM/SIGINT.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cx/mcx-diameter-cx.h"
#include "dproxy-context.h"
#include "dproxy-route.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: mcx-dproxy -c FILE [--check]\n"
            "Diameter proxy agent of an MC system (RFC 6733 relaying, routing by\n"
            "Destination-Host/-Realm, application and identity; see docs/dproxy.md).\n\n"
            "  -c, --config FILE  YAML configuration (sample: configs/mcx-dproxy.yaml)\n"
            "      --check        validate FILE, print the rendered freeDiameter and\n"
            "                     rt_default configuration, and exit\n"
            "  -h, --help         this text\n");
}

int main(int argc, char **argv)
{
    const char *conf_path;
    bool check;
    int ex = mcx_daemon_args(argc, argv, usage, &conf_path, &check);
    if (ex >= 0)
        return ex;

    mcx_log_init("mcx-dproxy", MCX_LOG_NOTICE);
    dproxy_config_t *cfg = calloc(1, sizeof(*cfg));
    if (!cfg) {
        MCX_ERR("out of memory");
        return 1;
    }
    char err[768];
    if (dproxy_config_load(conf_path, cfg, err, sizeof(err))) {
        MCX_ERR("%s", err);
        free(cfg);
        return 1;
    }
    mcx_log_set_level((mcx_log_level_t)cfg->dproxy.log_level);

    int rc = 1;
    int rv = dproxy_route_ext_prepare(cfg);
    if (rv) {
        MCX_ERR("cannot prepare routing extensions: %s", strerror(-rv));
        goto out;
    }
    if (check) {
        char *fd = mcx_diam_render(&cfg->diameter, "<tmp>");
        printf("%s", fd ? fd : "");
        free(fd);
        for (unsigned i = 0; i < cfg->diameter.n_ext; i++)
            if (cfg->diameter.ext[i].conf_text)
                printf("# ---- <tmp>/ext%u.conf (%s)\n%s", i, cfg->diameter.ext[i].path,
                       cfg->diameter.ext[i].conf_text);
        rc = 0;
        goto out;
    }

    /* Threads started by freeDiameter inherit the blocked signal mask. */
    rv = mcx_signals_block();
    if (!rv)
        rv = mcx_diam_init(&cfg->diameter);
    if (rv)
        goto out;
    /* Cx AVPs must be in the dictionary for Public-Identity routes. */
    rv = mcx_cx_dict_init();
    if (!rv)
        rv = dproxy_route_init(&cfg->dproxy);
    if (!rv)
        rv = mcx_diam_start();
    if (!rv) {
        MCX_NOTICE("%s (realm %s) relaying with %u route(s)", cfg->diameter.identity,
                   cfg->diameter.realm, cfg->dproxy.n_routes);
        int sig = mcx_signals_wait();
        MCX_NOTICE("signal %d: shutting down", sig);
        rc = 0;
    }
    mcx_diam_final();
    dproxy_route_final();

out:
    dproxy_route_ext_free(cfg);
    dproxy_config_final(cfg);
    free(cfg);
    return rc;
}

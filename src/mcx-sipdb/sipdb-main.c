/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-sipdb: the SIP database of an MC system (TS 23.280 §7.4.3.1.3), an
 * HSS-like Cx server (TS 29.228/29.229): MAR with IMS AKA and SIP Digest,
 * SAR, UAR and LIR over a SQLite subscriber store.
 */
#include "sipdb-context.h"
#include "sipdb-fd-path.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: mcx-sipdb -c FILE [--check]\n"
            "\n"
            "The SIP database of an MC system: a Diameter Cx server (TS 29.229) answering\n"
            "MAR (IMS AKA, SIP Digest), SAR, UAR and LIR from an S-CSCF or a Diameter proxy.\n"
            "\n"
            "  -c, --config FILE  YAML configuration (see configs/mcx-sipdb.yaml)\n"
            "      --check        load and check the configuration and the store, then exit\n"
            "  -h, --help         this text\n"
            "\n"
            "Subscribers are provisioned with `mcxctl --db <store.path> subscriber add ...`.\n"
            "SIGTERM or SIGINT stops it cleanly.\n");
}

int main(int argc, char **argv)
{
    const char *path;
    bool check_only;
    int ex = mcx_daemon_args(argc, argv, usage, &path, &check_only);
    if (ex >= 0)
        return ex;

    mcx_log_init("mcx-sipdb", MCX_LOG_INFO);
    static sipdb_config_t cfg;
    char err[600];
    if (sipdb_config_load(path, &cfg, err, sizeof(err))) {
        MCX_ERR("%s", err);
        return 1;
    }
    mcx_log_set_level((mcx_log_level_t)cfg.sipdb.log_level);

    sipdb_context_t ctx = {.cfg = &cfg};
    if (mcx_store_open(&cfg.store, &ctx.store, err, sizeof(err))) {
        MCX_ERR("store %s: %s", cfg.store.path, err);
        return 1;
    }
    if (check_only) {
        printf("%s: configuration and store (schema %d) are valid\n", path,
               mcx_store_schema_version(ctx.store));
        mcx_store_close(ctx.store);
        return 0;
    }

    if (mcx_signals_block()) {
        MCX_ERR("cannot block signals");
        mcx_store_close(ctx.store);
        return 1;
    }
    if (sipdb_fd_init(&ctx)) {
        MCX_ERR("cannot start the Diameter stack");
        mcx_store_close(ctx.store);
        return 1;
    }
    MCX_NOTICE("serving Cx as %s (realm %s) on %s:%u, store %s", cfg.diameter.identity,
               cfg.diameter.realm, cfg.diameter.listen[0] ? cfg.diameter.listen : "*",
               cfg.diameter.port, cfg.store.path);

    int sig = mcx_signals_wait();
    MCX_NOTICE("%s: shutting down (MAR %lu, SAR %lu, UAR %lu, LIR %lu, refused %lu)",
               strsignal(sig), atomic_load(&ctx.stats.mar), atomic_load(&ctx.stats.sar),
               atomic_load(&ctx.stats.uar), atomic_load(&ctx.stats.lir),
               atomic_load(&ctx.stats.errors));
    sipdb_fd_final();
    mcx_store_close(ctx.store);
    return 0;
}

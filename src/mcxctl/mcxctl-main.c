/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcxctl: the operator's provisioning and inspection tool. main() reads the
 * global options and hands the rest of the command line to the noun named by
 * the first word; each noun lives in its own mcxctl-<noun>.c.
 */
#include "mcxctl-nouns.h"

#include "mcx-core.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>

typedef struct {
    const char *name;
    mcxctl_noun_fn main;
    const char *summary;
} noun_t;

static const noun_t nouns[] = {
    {"subscriber", mcxctl_subscriber_main,
     "provision and inspect SIP database subscribers (IMPI, IMPUs, AKA, Digest, iFC)"},
    {"user", mcxctl_user_main, "provision identity management users (password, MC service IDs)"},
    {"client", mcxctl_client_main, "register OIDC clients of the identity management server"},
    {"xcap", mcxctl_xcap_main, "put, get, list and delete documents of a CMS or GMS store"},
};

#define N_NOUNS (sizeof(nouns) / sizeof(nouns[0]))

void mcxctl_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mcxctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: mcxctl [--db PATH] [--verbose] NOUN VERB [OPTIONS]\n"
               "\n"
               "Provision and inspect the stores of an mcxcore deployment.\n"
               "\n"
               "Global options:\n"
               "  --db PATH      the store to work on (SQLite file); may also follow the verb\n"
               "  --verbose      log what the store does (to stderr)\n"
               "  -h, --help     this text; `mcxctl NOUN --help` documents a noun\n"
               "\n"
               "Nouns:\n");
    for (size_t i = 0; i < N_NOUNS; i++)
        fprintf(f, "  %-14s %s\n", nouns[i].name, nouns[i].summary);
    fprintf(f, "\n"
               "Exit status: 0 done; 1 a bad value or a refused operation (one line on stderr,\n"
               "nothing changed); 2 usage error.\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    mcxctl_t ctl = {0};
    mcx_log_init("mcxctl", MCX_LOG_WARN);

    opterr = 0;
    int c;
    /* "+": stop at the noun; what follows belongs to it. */
    while ((c = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            ctl.db = optarg;
            break;
        case 'v':
            mcx_log_set_level(MCX_LOG_DEBUG);
            break;
        case 'h':
            usage(stdout);
            return MCXCTL_OK;
        default:
            mcxctl_err("%s: %s; try 'mcxctl --help'", argv[optind - 1],
                       c == ':' ? "needs a value" : "unknown option");
            return MCXCTL_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return MCXCTL_USAGE;
    }
    const char *noun = argv[optind];
    for (size_t i = 0; i < N_NOUNS; i++) {
        if (strcmp(nouns[i].name, noun) == 0)
            return nouns[i].main(&ctl, argc - optind, argv + optind);
    }
    mcxctl_err("unknown command '%s'; try 'mcxctl --help'", noun);
    return MCXCTL_USAGE;
}

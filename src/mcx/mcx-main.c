/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx: start, inspect and stop a whole MC system on loopback from one
 * topology file (`mcx up`, `mcx status`, `mcx down`), and run the demo
 * (`mcx demo`). Parses the command line and dispatches; the work is in
 * mcx-up.c, mcx-proc.c and mcx-demo.c.
 */
#include "mcx-orch.h"

#include <errno.h>
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: mcx up TOPOLOGY.yaml [--run-dir DIR] [--timeout S]\n"
            "       mcx status [TOPOLOGY.yaml] [--run-dir DIR]\n"
            "       mcx down [TOPOLOGY.yaml] [--run-dir DIR]\n"
            "       mcx check TOPOLOGY.yaml\n"
            "       mcx demo [--keep] [--no-capture] [--wrong-password]\n"
            "\n"
            "Start a whole MC system on loopback from one topology file: SIP databases\n"
            "(mcx-sipdb), the Diameter proxy (mcx-dproxy), the Kamailio S-CSCF, the\n"
            "identity, configuration and group management servers (mcx-idms, mcx-cms,\n"
            "mcx-gms), the MC service server (mcx-server) and nginx as the HTTP proxy,\n"
            "with the subscribers, MC users and groups it lists provisioned (see\n"
            "configs/topology-alpha.yaml).\n"
            "\n"
            "  up       render every configuration under the run directory, provision,\n"
            "           start every daemon, wait until each one is healthy, print\n"
            "           what runs where. Processes are recorded in RUN_DIR/mcx.state.\n"
            "  status   each recorded process: pid, alive or not, port, health probe\n"
            "           (exit 0 only when everything is alive and healthy)\n"
            "  down     stop exactly what `up` started (SIGTERM, then SIGKILL after 10 s)\n"
            "  check    load and check a topology file, start nothing\n"
            "  demo     a system with built-in defaults in a temporary run directory:\n"
            "           IMS AKA and SIP Digest registrations, an AKA resynchronisation,\n"
            "           then one MC service user's on-network lifecycle (authentication,\n"
            "           configuration, groups, registration, service authorization,\n"
            "           de-registration), each step with the reference points it crossed\n"
            "\n"
            "  --run-dir DIR  default ./run/<name of the first system>; for status and\n"
            "                 down without a topology, the only ./run/* with a state file\n"
            "  --timeout S    how long `up` waits for health (default 40)\n"
            "  --keep         demo: keep the run directory (logs, pcap) afterwards\n"
            "  --no-capture   demo: do not run tshark; show the UEs' and mcx-sipdb's view\n"
            "  --wrong-password  demo: the MC user logs in with a wrong password; the\n"
            "                 lifecycle must stop at step 1 (exit 1)\n"
            "\n"
            "Exit status: 0 done; 1 a failure (one line on stderr says what); 2 usage or\n"
            "topology error (the line names the key).\n");
}

static void on_signal(int sig)
{
    (void)sig;
    mcx_interrupted = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: waits return EINTR */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

typedef struct {
    const char *topology;
    const char *run_dir;
    unsigned timeout_s;
} args_t;

static int parse(int argc, char **argv, args_t *a)
{
    static const struct option opts[] = {
        {"run-dir", required_argument, NULL, 'r'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    memset(a, 0, sizeof(*a));
    a->timeout_s = 40;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "r:t:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            a->run_dir = optarg;
            break;
        case 't': {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*end || v == 0 || v > 3600) {
                fprintf(stderr, "mcx: --timeout: '%s' is not 1..3600 seconds\n", optarg);
                return 2;
            }
            a->timeout_s = (unsigned)v;
            break;
        }
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc)
        a->topology = argv[optind++];
    if (optind < argc) {
        fprintf(stderr, "mcx: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    return 0;
}

static mcx_topo_t *load_topology(const char *path)
{
    mcx_topo_t *t = calloc(1, sizeof(*t));
    char err[1024];
    if (!t) {
        fprintf(stderr, "mcx: out of memory\n");
        return NULL;
    }
    if (mcx_topo_load_file(path, t, err, sizeof(err)) != 0) {
        fprintf(stderr, "mcx: %s\n", err);
        free(t);
        return NULL;
    }
    return t;
}

/* --run-dir, else ./run/<system>, else the only ./run/<x> holding a state file. */
static int resolve_run_dir(const args_t *a, const mcx_topo_t *t, char *out, size_t len)
{
    if (a->run_dir) {
        snprintf(out, len, "%s", a->run_dir);
        return 0;
    }
    if (t) {
        snprintf(out, len, "run/%s", t->systems[0].name);
        return 0;
    }
    DIR *d = opendir("run");
    unsigned found = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            char st[PATH_MAX];
            if (e->d_name[0] == '.')
                continue;
            snprintf(st, sizeof(st), "run/%s/mcx.state", e->d_name);
            if (access(st, F_OK) == 0) {
                if (found++ == 0)
                    snprintf(out, len, "run/%s", e->d_name);
            }
        }
        closedir(d);
    }
    if (found == 1)
        return 0;
    fprintf(stderr, "mcx: %s; give --run-dir DIR or the topology file\n",
            found ? "several run directories under ./run" : "no run directory under ./run");
    return -ENOENT;
}

static int cmd_up(int argc, char **argv)
{
    args_t a;
    int rv = parse(argc, argv, &a);
    if (rv)
        return rv;
    if (!a.topology) {
        fprintf(stderr, "mcx up: a topology file is required\n");
        return 2;
    }
    mcx_topo_t *t = load_topology(a.topology);
    if (!t)
        return 2;
    char err[PATH_MAX + 512];
    mcx_up_opts_t o = {.timeout_s = a.timeout_s};
    resolve_run_dir(&a, t, o.run_dir, sizeof(o.run_dir));
    if (mcx_topo_assign_ports(t, mcx_free_port, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "mcx: %s: %s\n", a.topology, err);
        free(t);
        return 2;
    }
    /* Paths in the generated configs must not depend on the daemons' cwd. */
    char abs[PATH_MAX];
    if (mkdir(o.run_dir, 0755) != 0 && errno != EEXIST) {
        /* the parent may be missing: ./run */
        char parent[PATH_MAX];
        snprintf(parent, sizeof(parent), "%s", o.run_dir);
        char *sl = strrchr(parent, '/');
        if (sl) {
            *sl = '\0';
            mkdir(parent, 0755);
        }
        mkdir(o.run_dir, 0755);
    }
    if (!realpath(o.run_dir, abs)) {
        fprintf(stderr, "mcx: %s: %s\n", o.run_dir, strerror(errno));
        free(t);
        return 1;
    }
    if (strlen(abs) > MCX_RUN_DIR_MAX) {
        fprintf(stderr, "mcx: %s: run directory path too long\n", abs);
        free(t);
        return 2;
    }
    snprintf(o.run_dir, sizeof(o.run_dir), "%s", abs);

    install_signals();
    mcx_state_t *st = calloc(1, sizeof(*st));
    if (!st) {
        free(t);
        return 1;
    }
    printf("mcx: starting %u system(s) from %s in %s\n", t->n_systems, a.topology, o.run_dir);
    fflush(stdout);
    rv = mcx_up(t, &o, st, err, sizeof(err));
    if (rv) {
        fprintf(stderr, "mcx up: %s\n", err);
    } else {
        mcx_print_table(stdout, st, true);
        printf("\nUp. Logs and configs: %s/<system>/. Stop with: mcx down --run-dir %s\n",
               o.run_dir, o.run_dir);
    }
    free(st);
    free(t);
    return rv ? 1 : 0;
}

static int cmd_status_down(int argc, char **argv, bool down)
{
    args_t a;
    int rv = parse(argc, argv, &a);
    if (rv)
        return rv;
    mcx_topo_t *t = NULL;
    if (a.topology && !(t = load_topology(a.topology)))
        return 2;
    char run_dir[PATH_MAX];
    rv = resolve_run_dir(&a, t, run_dir, sizeof(run_dir));
    free(t);
    if (rv)
        return 1;
    if (down)
        return mcx_down(run_dir, true) ? 1 : 0;

    mcx_state_t *st = calloc(1, sizeof(*st));
    char err[PATH_MAX + 256];
    if (!st)
        return 1;
    if (mcx_state_load(run_dir, st, err, sizeof(err)) != 0) {
        fprintf(stderr, "mcx status: nothing is up: %s\n", err);
        free(st);
        return 1;
    }
    mcx_print_table(stdout, st, true);
    bool all = st->n > 0;
    for (unsigned i = 0; i < st->n; i++) {
        char h[128];
        all = mcx_proc_probe(&st->procs[i], h, sizeof(h)) && all;
    }
    free(st);
    return all ? 0 : 1;
}

static int cmd_check(int argc, char **argv)
{
    args_t a;
    int rv = parse(argc, argv, &a);
    if (rv)
        return rv;
    if (!a.topology) {
        fprintf(stderr, "mcx check: a topology file is required\n");
        return 2;
    }
    mcx_topo_t *t = load_topology(a.topology);
    if (!t)
        return 2;
    char err[512];
    /* Ports picked here are only for the check; `up` picks its own. */
    rv = mcx_topo_assign_ports(t, mcx_free_port, NULL, err, sizeof(err));
    if (rv)
        fprintf(stderr, "mcx: %s: %s\n", a.topology, err);
    else
        printf("%s: %u system(s), ok\n", a.topology, t->n_systems);
    free(t);
    return rv ? 2 : 0;
}

int main(int argc, char **argv)
{
    mcx_log_init("mcx", MCX_LOG_NOTICE);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "up"))
        return cmd_up(argc - 1, argv + 1);
    if (!strcmp(cmd, "status"))
        return cmd_status_down(argc - 1, argv + 1, false);
    if (!strcmp(cmd, "down"))
        return cmd_status_down(argc - 1, argv + 1, true);
    if (!strcmp(cmd, "check"))
        return cmd_check(argc - 1, argv + 1);
    if (!strcmp(cmd, "demo")) {
        install_signals();
        return mcx_demo(argc - 1, argv + 1);
    }
    fprintf(stderr, "mcx: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}

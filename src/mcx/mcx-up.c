/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `mcx up` and `mcx down`: render and provision every system of a topology,
 * start its SIP databases, S-CSCF (Kamailio), Diameter proxy, then the
 * application plane (IdMS, CMS, GMS, MC service server, nginx) in that order,
 * record each in the state file as it starts, and wait until each is
 * healthy; and stop exactly those processes again, newest first.
 */
#include "mcx-orch.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

volatile int mcx_interrupted;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Print the last lines of a log (to show why a daemon did not come up). */
static void log_tail(FILE *fp, const char *path, unsigned lines)
{
    FILE *in = fopen(path, "r");
    if (!in)
        return;
    static char ring[40][512];
    unsigned n = 0;
    if (lines > 40)
        lines = 40;
    while (fgets(ring[n % lines], sizeof(ring[0]), in))
        n++;
    fclose(in);
    fprintf(fp, "--- last lines of %s ---\n", path);
    for (unsigned i = n > lines ? n - lines : 0; i < n; i++) {
        const char *l = ring[i % lines];
        fprintf(fp, "%s%s", l, l[strlen(l) - 1] == '\n' ? "" : "\n");
    }
}

static int record(const mcx_up_opts_t *o, mcx_state_t *st, const mcx_proc_t *p, char *const argv[],
                  char *err, size_t errlen)
{
    if (st->n >= MCX_STATE_MAX) {
        snprintf(err, errlen, "too many processes");
        return -E2BIG;
    }
    mcx_proc_t *slot = &st->procs[st->n];
    *slot = *p;
    int rv = mcx_proc_spawn(slot, argv);
    if (rv) {
        snprintf(err, errlen, "%s: cannot start: %s", argv[0], strerror(-rv));
        return rv;
    }
    st->n++;
    rv = mcx_state_save(o->run_dir, st);
    if (rv)
        snprintf(err, errlen, "%s: cannot write the state file: %s", o->run_dir, strerror(-rv));
    return rv;
}

/* Run `kamailio -c -f cfg`: a rendered file Kamailio refuses is reported now. */
static int kamailio_check(const char *kam, const char *cfg, const char *log, char *err,
                          size_t errlen)
{
    mcx_proc_t p = {0};
    mcx_pathf(p.log, sizeof(p.log), "%s", log);
    char *const argv[] = {(char *)kam, "-c", "-f", (char *)cfg, NULL};
    int rv = mcx_proc_spawn(&p, argv);
    if (rv) {
        snprintf(err, errlen, "%s: cannot start: %s", kam, strerror(-rv));
        return rv;
    }
    int status = 0;
    while (waitpid(p.pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "kamailio -c refused %s (see %s)", cfg, log);
        log_tail(stderr, log, 15);
        return -EINVAL;
    }
    return 0;
}

static void stop_all(mcx_state_t *st, const char *run_dir)
{
    for (unsigned i = st->n; i-- > 0;)
        mcx_proc_stop(&st->procs[i], 10000);
    char path[PATH_MAX];
    mcx_state_path(run_dir, path, sizeof(path));
    unlink(path);
    st->n = 0;
}

/* A process of ours died, or the run was interrupted: say which. */
static int check_alive(const mcx_state_t *st, char *err, size_t errlen)
{
    if (mcx_interrupted) {
        snprintf(err, errlen, "interrupted");
        return -EINTR;
    }
    for (unsigned i = 0; i < st->n; i++) {
        const mcx_proc_t *p = &st->procs[i];
        if (!mcx_proc_alive(p)) {
            snprintf(err, errlen, "%s %s (pid %d) exited during start-up; log %s", p->system,
                     p->name, (int)p->pid, p->log);
            log_tail(stderr, p->log, 20);
            return -ECHILD;
        }
    }
    return 0;
}

static int wait_tcp(const mcx_state_t *st, unsigned port, uint64_t deadline, const char *what,
                    char *err, size_t errlen)
{
    for (;;) {
        int rv = check_alive(st, err, errlen);
        if (rv)
            return rv;
        if (mcx_tcp_open(port))
            return 0;
        if (mcx_now_us() > deadline) {
            snprintf(err, errlen, "%s: nothing accepts on 127.0.0.1:%u", what, port);
            return -ETIMEDOUT;
        }
        sleep_ms(50);
    }
}

/* Wait until the proxy's connection to `id` is open now (its log says so). */
static int wait_peer_open(const mcx_sys_paths_t *paths, const mcx_state_t *st, const char *id,
                          uint64_t deadline, char *err, size_t errlen)
{
    int rv;
    while (!mcx_fd_peer_open(paths->dproxy_log, id)) {
        if ((rv = check_alive(st, err, errlen)))
            return rv;
        if (mcx_now_us() > deadline) {
            snprintf(err, errlen, "mcx-dproxy has no open connection to %s (log %s)", id,
                     paths->dproxy_log);
            return -ETIMEDOUT;
        }
        sleep_ms(50);
    }
    return 0;
}

/*
 * Healthy: every SIP database accepts, the proxy's connections to each of
 * them and to the S-CSCF are open now (freeDiameter's state lines in its
 * log), and the S-CSCF answers OPTIONS with 200, which its configuration
 * does once Cx is up. The S-CSCF's own view is not enough: cdp calls the
 * peer open once it has answered the proxy's CER, while the proxy, after a
 * first attempt that broke, holds the connection in REOPEN and loses the
 * answers it should relay back.
 */
static int wait_healthy(const mcx_topo_system_t *s, const mcx_sys_paths_t *paths,
                        const mcx_state_t *st, uint64_t deadline, char *err, size_t errlen)
{
    int rv;
    for (unsigned i = 0; i < s->sipdb.count; i++)
        if ((rv = wait_tcp(st, s->sipdb_ports[i], deadline, "mcx-sipdb", err, errlen)))
            return rv;
    if ((rv = wait_tcp(st, s->dproxy.port, deadline, "mcx-dproxy", err, errlen)))
        return rv;
    for (unsigned i = 0; i < s->sipdb.count; i++) {
        char id[MCX_TOPO_ID];
        mcx_topo_sipdb_id(s, i, id, sizeof(id));
        if ((rv = wait_peer_open(paths, st, id, deadline, err, errlen)))
            return rv;
    }
    char host[MCX_TOPO_ID];
    mcx_topo_scscf_host(s, host, sizeof(host));
    if ((rv = wait_peer_open(paths, st, host, deadline, err, errlen)))
        return rv;
    int code = -1;
    while ((code = mcx_sip_options(s->scscf.sip_port, host, s->realm, 300)) != 200) {
        if ((rv = check_alive(st, err, errlen)))
            return rv;
        if (mcx_now_us() > deadline) {
            snprintf(err, errlen, "the S-CSCF of %s is not ready (last OPTIONS answer: %d; log %s)",
                     s->name, code, paths->scscf_log);
            return -ETIMEDOUT;
        }
        sleep_ms(100);
    }
    return 0;
}

/* Run `argv` to completion (a --check / -t run), output into `log`. */
static int run_check(char *const argv[], const char *log, const char *what, char *err,
                     size_t errlen)
{
    mcx_proc_t p = {0};
    mcx_pathf(p.log, sizeof(p.log), "%s", log);
    unlink(log);
    int rv = mcx_proc_spawn(&p, argv);
    if (rv) {
        snprintf(err, errlen, "%s: cannot start: %s", argv[0], strerror(-rv));
        return rv;
    }
    int status = 0;
    while (waitpid(p.pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "%s refused its configuration (see %s)", what, log);
        log_tail(stderr, log, 10);
        return -EINVAL;
    }
    return 0;
}

/* Wait until the probe of the newest process says healthy (and `file` exists). */
static int wait_probe(const mcx_state_t *st, const char *file, uint64_t deadline, char *err,
                      size_t errlen)
{
    const mcx_proc_t *p = &st->procs[st->n - 1];
    char health[160] = "";
    for (;;) {
        int rv = check_alive(st, err, errlen);
        if (rv)
            return rv;
        bool have = !file || access(file, F_OK) == 0;
        if (have && mcx_proc_probe(p, health, sizeof(health)))
            return 0;
        if (mcx_now_us() > deadline) {
            snprintf(err, errlen, "%s %s is not healthy: %s (log %s)", p->system, p->name,
                     have ? health : "no JWKS file yet", p->log);
            return -ETIMEDOUT;
        }
        sleep_ms(100);
    }
}

typedef struct {
    char idms[PATH_MAX], cms[PATH_MAX], gms[PATH_MAX], server[PATH_MAX], nginx[PATH_MAX];
} app_bins_t;

/* An HTTP daemon: `--check`, start, wait for /healthz (and the JWKS of the IdMS). */
static int start_http_daemon(const mcx_topo_system_t *s, const mcx_up_opts_t *o,
                             mcx_state_t *st, const char *bin, const char *name,
                             const char *identity, unsigned port, const char *conf,
                             const char *log, const char *wait_file, uint64_t deadline, char *err,
                             size_t errlen)
{
    if (!bin[0]) {
        printf("mcx: %s: %s not built: skipping\n", s->name, name);
        fflush(stdout);
        return 0;
    }
    char check_log[PATH_MAX + 16];
    mcx_pathf(check_log, sizeof(check_log), "%s.check", log);
    char *const check[] = {(char *)bin, "--check", "-c", (char *)conf, NULL};
    int rv = run_check(check, check_log, name, err, errlen);
    if (rv)
        return rv;
    mcx_proc_t p = {.probe = MCX_PROBE_HTTP, .port = port};
    snprintf(p.system, sizeof(p.system), "%s", s->name);
    snprintf(p.name, sizeof(p.name), "%s", name);
    snprintf(p.identity, sizeof(p.identity), "%s", identity);
    snprintf(p.realm, sizeof(p.realm), "%s", s->realm);
    snprintf(p.log, sizeof(p.log), "%s", log);
    char *const argv[] = {(char *)bin, "-c", (char *)conf, NULL};
    if ((rv = record(o, st, &p, argv, err, errlen)))
        return rv;
    return wait_probe(st, wait_file, deadline, err, errlen);
}

static int up_app_plane(const mcx_topo_system_t *s, const mcx_sys_paths_t *paths,
                        const mcx_up_opts_t *o, mcx_state_t *st, const app_bins_t *b,
                        uint64_t deadline, char *err, size_t errlen)
{
    char id[MCX_TOPO_ID + 32];
    mcx_topo_public_url(s, "idms", id, sizeof(id));
    int rv = start_http_daemon(s, o, st, b->idms, "mcx-idms", id, s->idms.port, paths->idms_conf,
                               paths->idms_log, paths->idms_jwks, deadline, err, errlen);
    mcx_topo_public_url(s, "cms", id, sizeof(id));
    if (!rv)
        rv = start_http_daemon(s, o, st, b->cms, "mcx-cms", id, s->cms.port, paths->cms_conf,
                               paths->cms_log, NULL, deadline, err, errlen);
    mcx_topo_public_url(s, "gms", id, sizeof(id));
    if (!rv)
        rv = start_http_daemon(s, o, st, b->gms, "mcx-gms", id, s->gms.port, paths->gms_conf,
                               paths->gms_log, NULL, deadline, err, errlen);
    mcx_topo_server_psi(s, id, sizeof(id));
    if (!rv)
        rv = start_http_daemon(s, o, st, b->server, "mcx-server", id, s->server.http_port,
                               paths->server_conf, paths->server_log, NULL, deadline, err,
                               errlen);
    if (rv)
        return rv;
    if (!b->nginx[0]) {
        printf("mcx: %s: nginx not installed (Debian nginx-light): skipping\n", s->name);
        return 0;
    }
    /* -e: the error log before the configuration is read (the built-in
     * default is under /var/log); -p: the prefix for relative paths. */
    char check_log[PATH_MAX + 16];
    mcx_pathf(check_log, sizeof(check_log), "%s.check", paths->nginx_log);
    char *const check[] = {(char *)b->nginx, "-t", "-q", "-e", (char *)paths->nginx_error_log, "-p",
                           (char *)paths->nginx_dir, "-c", (char *)paths->nginx_conf, NULL};
    if ((rv = run_check(check, check_log, "nginx -t", err, errlen)))
        return rv;
    /* Behind nginx the IdMS answers the health GET; without one any answer counts. */
    bool idms_up = b->idms[0] != '\0';
    mcx_proc_t p = {.probe = idms_up ? MCX_PROBE_HTTPS : MCX_PROBE_TLS, .port = s->https_port,
                    .group = true}; /* master and workers */
    snprintf(p.system, sizeof(p.system), "%s", s->name);
    snprintf(p.name, sizeof(p.name), "nginx");
    mcx_pathf(p.identity, sizeof(p.identity), "https://127.0.0.1:%u", s->https_port);
    snprintf(p.realm, sizeof(p.realm), "%s", s->realm);
    snprintf(p.log, sizeof(p.log), "%s", paths->nginx_log);
    snprintf(p.ca, sizeof(p.ca), "%s", paths->certs.ca_cert);
    char *const argv[] = {(char *)b->nginx, "-e", (char *)paths->nginx_error_log, "-p",
                          (char *)paths->nginx_dir,
                          "-c", (char *)paths->nginx_conf, "-g", "daemon off;", NULL};
    if ((rv = record(o, st, &p, argv, err, errlen)))
        return rv;
    return wait_probe(st, NULL, deadline, err, errlen);
}

/* Certificates, the MC iFC, subscribers, IdMS accounts, XCAP documents. */
static int prepare_system(const mcx_topo_system_t *s, const mcx_sys_paths_t *paths, char *err,
                          size_t errlen)
{
    bool made = false;
    int rv = mcx_certs_ensure(&paths->certs, s->realm, &made, err, errlen);
    if (rv)
        return rv;
    printf("mcx: %s: TLS: %s (CA %s)\n", s->name, made ? "certificates made" : "certificates reused",
           paths->certs.ca_cert);
    char *ifc = NULL;
    if (s->n_users) {
        char why[PATH_MAX + 256];
        ifc = mcx_render_mc_ifc(s, why, sizeof(why));
        if (!ifc)
            printf("mcx: %s: MC iFC template missing (%s): subscribers get no iFC\n", s->name,
                   why);
    }
    rv = mcx_provision_system(s, paths->db, ifc, err, errlen);
    free(ifc);
    if (!rv)
        rv = mcx_provision_idms(s, paths, stdout, err, errlen);
    if (!rv)
        rv = mcx_provision_xcap(s, paths, stdout, err, errlen);
    fflush(stdout);
    return rv;
}

static int up_system(const mcx_topo_system_t *s, const mcx_up_opts_t *o, mcx_state_t *st,
                     const char *bins[4], const app_bins_t *app, char *err, size_t errlen)
{
    mcx_sys_paths_t *paths = calloc(1, sizeof(*paths));
    if (!paths)
        return -ENOMEM;
    mcx_render_paths(o->run_dir, s, paths);
    int rv = mcx_render_system(s, paths, mcx_kamailio_dir(), err, errlen);
    if (!rv)
        rv = prepare_system(s, paths, err, errlen);
    char check_log[PATH_MAX + 16];
    mcx_pathf(check_log, sizeof(check_log), "%s/scscf-check.log", paths->dir);
    if (!rv) {
        unlink(check_log);
        rv = kamailio_check(bins[2], paths->scscf_cfg, check_log, err, errlen);
    }

    uint64_t deadline = mcx_now_us() + (uint64_t)o->timeout_s * 1000000;
    char host[MCX_TOPO_ID], proxy[MCX_TOPO_ID];
    mcx_topo_scscf_host(s, host, sizeof(host));
    mcx_topo_dproxy_id(s, proxy, sizeof(proxy));

    for (unsigned i = 0; !rv && i < s->sipdb.count; i++) {
        mcx_proc_t p = {.probe = MCX_PROBE_DIAMETER, .port = s->sipdb_ports[i]};
        snprintf(p.system, sizeof(p.system), "%s", s->name);
        snprintf(p.name, sizeof(p.name), "mcx-sipdb");
        mcx_topo_sipdb_id(s, i, p.identity, sizeof(p.identity));
        snprintf(p.realm, sizeof(p.realm), "%s", s->realm);
        snprintf(p.log, sizeof(p.log), "%s", paths->sipdb_log[i]);
        char *const argv[] = {(char *)bins[0], "-c", paths->sipdb_conf[i], NULL};
        rv = record(o, st, &p, argv, err, errlen);
    }
    if (!rv) {
        mcx_proc_t p = {.probe = MCX_PROBE_SIP, .port = s->scscf.sip_port, .group = true};
        snprintf(p.system, sizeof(p.system), "%s", s->name);
        snprintf(p.name, sizeof(p.name), "kamailio");
        snprintf(p.identity, sizeof(p.identity), "%s", host);
        snprintf(p.realm, sizeof(p.realm), "%s", s->realm);
        snprintf(p.log, sizeof(p.log), "%s", paths->scscf_log);
        char *const argv[] = {(char *)bins[2], "-f", paths->scscf_cfg, "-DD", "-E",
                              "-Y", paths->scscf_run, "-P", paths->scscf_pid,
                              "-m", "64", "-M", "8", NULL};
        rv = record(o, st, &p, argv, err, errlen);
    }
    /* The proxy connects to cdp: let cdp listen first, or the first CER is lost
     * until the proxy's reconnect timer fires. */
    if (!rv)
        rv = wait_tcp(st, s->scscf.diameter_port, deadline, "kamailio (cdp)", err, errlen);
    if (!rv) {
        mcx_proc_t p = {.probe = MCX_PROBE_DIAMETER, .port = s->dproxy.port};
        snprintf(p.system, sizeof(p.system), "%s", s->name);
        snprintf(p.name, sizeof(p.name), "mcx-dproxy");
        snprintf(p.identity, sizeof(p.identity), "%s", proxy);
        snprintf(p.realm, sizeof(p.realm), "%s", s->realm);
        snprintf(p.log, sizeof(p.log), "%s", paths->dproxy_log);
        char *const argv[] = {(char *)bins[1], "-c", paths->dproxy_conf, NULL};
        rv = record(o, st, &p, argv, err, errlen);
    }
    if (!rv)
        rv = wait_healthy(s, paths, st, deadline, err, errlen);
    if (!rv)
        rv = up_app_plane(s, paths, o, st, app, deadline, err, errlen);
    free(paths);
    return rv;
}

int mcx_up(mcx_topo_t *topo, const mcx_up_opts_t *o, mcx_state_t *st, char *err, size_t errlen)
{
    static char bin[3][PATH_MAX];
    static const char *names[] = {"mcx-sipdb", "mcx-dproxy", "kamailio"};
    const char *bins[4] = {0};
    for (int i = 0; i < 3; i++) {
        if (mcx_find_program(names[i], bin[i], sizeof(bin[i]))) {
            snprintf(err, errlen, "%s: not found (build it, or install it%s)", names[i],
                     i == 2 ? ": Debian kamailio kamailio-ims-modules kamailio-presence-modules"
                            : "");
            return -ENOENT;
        }
        bins[i] = bin[i];
    }

    /* Refuse to start over processes a previous `up` left running here. */
    mcx_state_t *old = calloc(1, sizeof(*old));
    if (!old)
        return -ENOMEM;
    char why[512];
    if (mcx_state_load(o->run_dir, old, why, sizeof(why)) == 0) {
        for (unsigned i = 0; i < old->n; i++) {
            if (mcx_proc_alive(&old->procs[i])) {
                snprintf(err, errlen, "%s: already up (%s pid %d); run `mcx down --run-dir %s` first",
                         o->run_dir, old->procs[i].name, (int)old->procs[i].pid, o->run_dir);
                free(old);
                return -EBUSY;
            }
        }
    }
    free(old);

    /* The application plane: whatever is built runs, the rest is skipped. */
    static app_bins_t app;
    memset(&app, 0, sizeof(app));
    mcx_find_program("mcx-idms", app.idms, sizeof(app.idms));
    mcx_find_program("mcx-cms", app.cms, sizeof(app.cms));
    mcx_find_program("mcx-gms", app.gms, sizeof(app.gms));
    mcx_find_program("mcx-server", app.server, sizeof(app.server));
    mcx_find_program("nginx", app.nginx, sizeof(app.nginx));

    memset(st, 0, sizeof(*st));
    int rv = 0;
    for (unsigned i = 0; !rv && i < topo->n_systems; i++)
        rv = up_system(&topo->systems[i], o, st, bins, &app, err, errlen);
    if (rv)
        stop_all(st, o->run_dir);
    return rv;
}

int mcx_down(const char *run_dir, bool verbose)
{
    mcx_state_t *st = calloc(1, sizeof(*st));
    if (!st)
        return -ENOMEM;
    char err[PATH_MAX + 256];
    int rv = mcx_state_load(run_dir, st, err, sizeof(err));
    if (rv) {
        fprintf(stderr, "mcx: nothing to stop: %s\n", err);
        free(st);
        return rv;
    }
    for (unsigned i = st->n; i-- > 0;) {
        const mcx_proc_t *p = &st->procs[i];
        int r = mcx_proc_stop(p, 10000);
        if (verbose)
            printf("%-8s %-11s pid %-7d %s\n", p->system, p->name, (int)p->pid,
                   r == 0 ? "stopped" : "was not running");
    }
    char path[PATH_MAX];
    mcx_state_path(run_dir, path, sizeof(path));
    unlink(path);
    free(st);
    return 0;
}

void mcx_print_table(FILE *fp, const mcx_state_t *st, bool probe)
{
    fprintf(fp, "%-8s %-11s %-30s %-7s %-7s %-28s %s\n", "SYSTEM", "PROCESS", "IDENTITY", "PID",
            "STATE", "LISTENS ON", "HEALTH");
    for (unsigned i = 0; i < st->n; i++) {
        const mcx_proc_t *p = &st->procs[i];
        char where[64], health[128] = "-";
        static const char *const kind[] = {"Diameter", "SIP udp+tcp", "HTTP", "HTTPS", "HTTPS"};
        snprintf(where, sizeof(where), "127.0.0.1:%u %s", p->port,
                 p->probe <= MCX_PROBE_TLS ? kind[p->probe] : "?");
        bool alive = mcx_proc_alive(p);
        if (probe)
            mcx_proc_probe(p, health, sizeof(health));
        fprintf(fp, "%-8s %-11s %-30s %-7d %-7s %-28s %s\n", p->system, p->name, p->identity,
                (int)p->pid, alive ? "alive" : "dead", where, health);
    }
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `mcx demo`: the MC service user's lifecycle (TS 23.280 10.1.1.1) with
 * mcx-ue against the application plane of `mcx up`: user authentication,
 * configuration, groups, SIP registration, service authorization with the MC
 * server's verdict from its status API, then de-registration. Each step is
 * printed with its reference points and judged; the first failure is named.
 */
#include "mcx-demo-mc.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UE_WAIT_S 40   /* registration + authorization must be done by then */
#define UE_STOP_S 20   /* de-registration after SIGTERM */

static const char *const titles[MCX_MC_N] = {
    "", "user authentication", "configuration", "groups", "SIP registration",
    "service authorization", "de-registration",
};

static const char *const refs[MCX_MC_N] = {
    "",
    "CSC-1 IdM client -> IdMS: OIDC authorization code + PKCE S256, tokens; "
    "HTTP-1 UE -> nginx (TLS), HTTP-2 nginx -> mcx-idms",
    "CSC-4 configuration management client -> CMS: XCAP directory, user profile(s), "
    "UE configuration, service configuration; HTTP-1 + HTTP-2",
    "CSC-2 group management client -> GMS: XCAP group document of each group of the "
    "profile; HTTP-1 + HTTP-2",
    "SIP-1 UE -> S-CSCF: REGISTER with IMS AKA; AAA-1 S-CSCF -> dproxy -> sipdb: Cx MAR, SAR",
    "SIP-2 S-CSCF -> MC service server: third-party REGISTER (iFC), PUBLISH poc-settings "
    "with mcptt-info + access token; CSC-5 MC server -> CMS: the user's profile",
    "SIP-1/SIP-2: PUBLISH Expires 0, REGISTER Expires 0 (SAR USER_DEREGISTRATION), "
    "third-party REGISTER Expires 0",
};

const char *mcx_demo_mc_title(int step)
{
    return step > 0 && step < MCX_MC_N ? titles[step] : "";
}

static const char *const short_refs[MCX_MC_N] = {
    "", "CSC-1, HTTP-1/HTTP-2", "CSC-4, HTTP-1/HTTP-2", "CSC-2, HTTP-1/HTTP-2", "SIP-1, AAA-1",
    "SIP-2", "SIP-1/SIP-2",
};

const char *mcx_demo_mc_ref(int step)
{
    return step > 0 && step < MCX_MC_N ? short_refs[step] : "";
}

const char *mcx_demo_mc_refs(int step)
{
    return step > 0 && step < MCX_MC_N ? refs[step] : "";
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int mcx_demo_mc_write_conf(FILE *fp, const mcx_topo_system_t *s, const mcx_topo_user_t *u,
                           const char *run_dir)
{
    char idms[512], cms[512], gms[512];
    mcx_topo_public_url(s, "idms", idms, sizeof(idms));
    mcx_topo_public_url(s, "cms", cms, sizeof(cms));
    mcx_topo_public_url(s, "gms", gms, sizeof(gms));
    fprintf(fp,
            "mc:\n"
            "  idms_url: \"%s\"\n"
            "  cms_url: \"%s\"\n"
            "  gms_url: \"%s\"\n"
            "  ca_file: \"%s/ca.pem\"\n"
            "  username: \"%s\"\n"
            "  password: \"%s\"\n"
            "  state_dir: \"%s/ue-%s-state\"\n"
            "  http_timeout_s: 10\n",
            idms, cms, gms, run_dir, u->username, u->password, run_dir, u->username);
    return ferror(fp) ? -EIO : 0;
}

/* The MC server's view of the user: HTTP status; *authorized from the JSON. */
static int ask_server(const mcx_topo_system_t *s, const char *id, char *body, size_t len,
                      bool *authorized)
{
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/users/%s", s->server.http_port, id);
    int st = mcx_http_get(url, NULL, 5000, body, len);
    body[strcspn(body, "\r\n")] = '\0';
    *authorized = st == 200 && strstr(body, "\"authorized\":true") != NULL;
    return st;
}

/* Which step a line of mcx-ue's output starts (0: the same as before). */
static int line_step(const char *l)
{
    if (!strncmp(l, "== TS 23.280", 12)) {
        if (strstr(l, "user authentication"))
            return MCX_MC_IDM;
        if (strstr(l, "configuration download"))
            return MCX_MC_CMC;
        if (strstr(l, "group configuration"))
            return MCX_MC_GMC;
        if (strstr(l, "SIP registration"))
            return MCX_MC_REGISTER;
    }
    if (!strncmp(l, "SIP-2 service authorization", 27))
        return MCX_MC_SVCAUTH;
    if (!strncmp(l, "signal ", 7))
        return MCX_MC_DEREG;
    if (!strncmp(l, "--> PUBLISH", 11) && strstr(l, "(remove)"))
        return MCX_MC_DEREG;
    if (!strncmp(l, "--> REGISTER", 12) && strstr(l, "Expires 0 "))
        return MCX_MC_DEREG;
    return 0;
}

typedef struct {
    bool done[MCX_MC_N];
    char fail_line[512];   /* the UE's stderr line naming the step, else its FAILED line */
    char failed_out[512];
} ue_view_t;

/* Read the UE's output: which steps it reports done, its failure line. */
static void ue_judge(const char *path, ue_view_t *v)
{
    memset(v, 0, sizeof(*v));
    FILE *fp = fopen(path, "r");
    if (!fp)
        return;
    char l[2048];
    while (fgets(l, sizeof(l), fp)) {
        l[strcspn(l, "\n")] = '\0';
        if (strstr(l, "CSC-1 IdM client -> IdMS: token 200"))
            v->done[MCX_MC_IDM] = true;
        else if (!strncmp(l, "CSC-4 configuration management client: ", 39) &&
                 strstr(l, "profile(s)"))
            v->done[MCX_MC_CMC] = true;
        else if (!strncmp(l, "CSC-2 group management client: ", 31) &&
                 strstr(l, "group document(s)"))
            v->done[MCX_MC_GMC] = true;
        else if (!strncmp(l, "REGISTERED ", 11))
            v->done[MCX_MC_REGISTER] = true;
        else if (!strncmp(l, "SERVICE AUTHORIZATION accepted", 30))
            v->done[MCX_MC_SVCAUTH] = true;
        else if (!strncmp(l, "DEREGISTERED ", 13))
            v->done[MCX_MC_DEREG] = true;
        else if (!strncmp(l, "mcx-ue: ", 8) && !v->fail_line[0])
            snprintf(v->fail_line, sizeof(v->fail_line), "%.500s", l + 8);
        else if (!strncmp(l, "FAILED", 6) && !v->failed_out[0])
            snprintf(v->failed_out, sizeof(v->failed_out), "%.500s", l);
    }
    fclose(fp);
    if (!v->fail_line[0])
        memcpy(v->fail_line, v->failed_out, sizeof(v->fail_line));
}

/* Print the UE's lines of step `want` (its section headers are ours). */
static void print_ue_lines(const char *path, int want)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return;
    char l[2048];
    int cur = MCX_MC_IDM;
    while (fgets(l, sizeof(l), fp)) {
        int st = line_step(l);
        if (st)
            cur = st;
        if (cur != want || !strncmp(l, "== ", 3))
            continue;
        printf("   %s", l);
        if (!strchr(l, '\n'))
            printf("\n");
    }
    fclose(fp);
}

static void fail(mcx_demo_mc_t *r, int step, const char *fmt, const char *arg)
{
    if (r->failed)
        return;
    r->failed = step;
    snprintf(r->reason, sizeof(r->reason), fmt, arg);
}

static int wait_exit(pid_t pid, unsigned timeout_s, int *status)
{
    uint64_t deadline = mcx_now_us() + (uint64_t)timeout_s * 1000000;
    for (;;) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid)
            return 0;
        if (w < 0)
            return -errno;
        if (mcx_now_us() > deadline)
            return -ETIMEDOUT;
        sleep_ms(20);
    }
}

int mcx_demo_mc_run(const mcx_topo_system_t *s, const mcx_topo_user_t *u, const char *ue_bin,
                    const char *cfg, const char *run_dir, mcx_demo_mc_t *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->mcptt_id, sizeof(r->mcptt_id), "%s", u->mcptt_id);
    mcx_pathf(r->ue_out, sizeof(r->ue_out), "%s/ue-4-%s-mc.out", run_dir, u->username);
    unlink(r->ue_out);

    mcx_proc_t p = {0};
    snprintf(p.name, sizeof(p.name), "mcx-ue");
    mcx_pathf(p.log, sizeof(p.log), "%s", r->ue_out);
    char *const argv[] = {(char *)ue_bin, "-c", (char *)cfg, NULL};
    r->t_start = wall_now();
    if (mcx_proc_spawn(&p, argv)) {
        fail(r, MCX_MC_IDM, "%s could not be started", ue_bin);
        goto report;
    }
    /* Up to the service authorization (or the UE giving up). */
    int status = 0;
    bool exited = false;
    uint64_t deadline = mcx_now_us() + (uint64_t)UE_WAIT_S * 1000000;
    while (!mcx_interrupted) {
        if (mcx_file_contains(r->ue_out, "SERVICE AUTHORIZATION accepted") ||
            mcx_file_contains(r->ue_out, "service authorization refused"))
            break;
        if (waitpid(p.pid, &status, WNOHANG) == p.pid) {
            exited = true;
            break;
        }
        if (mcx_now_us() > deadline)
            break;
        sleep_ms(20);
    }
    bool authorized = false;
    if (!exited && !mcx_interrupted) {
        sleep_ms(100); /* the server answered the PUBLISH; its store has it */
        r->t_status = wall_now();
        r->status_during = ask_server(s, r->mcptt_id, r->body_during, sizeof(r->body_during),
                                      &authorized);
    }
    /* De-registration: SIGTERM makes the UE remove its publication, then REGISTER Expires 0. */
    r->t_dereg = wall_now();
    if (!exited) {
        kill(p.pid, SIGTERM);
        if (wait_exit(p.pid, UE_STOP_S, &status)) {
            mcx_proc_stop(&p, 2000);
            waitpid(p.pid, &status, 0);
            fail(r, MCX_MC_DEREG, "%s", "mcx-ue did not finish its de-registration in time");
        }
    }
    r->t_end = wall_now();
    if (mcx_interrupted) {
        fail(r, MCX_MC_IDM, "%s", "interrupted");
        goto report;
    }
    bool after_auth = false;
    sleep_ms(100);
    r->status_after = ask_server(s, r->mcptt_id, r->body_after, sizeof(r->body_after),
                                 &after_auth);

    ue_view_t v;
    ue_judge(r->ue_out, &v);
    int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    for (int st = MCX_MC_IDM; st <= MCX_MC_SVCAUTH; st++)
        if (!v.done[st])
            fail(r, st, "%s", v.fail_line[0] ? v.fail_line : "mcx-ue did not report it");
    if (!authorized)
        fail(r, MCX_MC_SVCAUTH, "the MC server's status API does not show the user authorized: %.300s",
             r->status_during > 0 ? r->body_during : "no answer");
    if (!v.done[MCX_MC_DEREG])
        fail(r, MCX_MC_DEREG, "%s", v.fail_line[0] ? v.fail_line : "mcx-ue did not de-register");
    if (rc != 0) {
        char why[64];
        snprintf(why, sizeof(why), "mcx-ue exited with status %d", rc);
        fail(r, MCX_MC_DEREG, "%s", why);
    }
    if (after_auth || (r->status_after != 404 && r->status_after != 200))
        fail(r, MCX_MC_DEREG, "the MC server still shows the user authorized (or did not answer): %.300s",
             r->body_after);

report:
    for (int st = MCX_MC_IDM; st < MCX_MC_N; st++) {
        printf("\n-- [%d] %s\n   %s\n", st, titles[st], refs[st]);
        print_ue_lines(r->ue_out, st);
        if (st == MCX_MC_SVCAUTH && r->status_during)
            printf("   MC server status API: GET /users/%s -> %d %s\n", r->mcptt_id,
                   r->status_during, r->body_during);
        if (st == MCX_MC_DEREG && r->status_after)
            printf("   MC server status API: GET /users/%s -> %d %s%s\n", r->mcptt_id,
                   r->status_after, r->body_after,
                   r->status_after == 404 ? " (not registered, not authorized)" : "");
        if (r->failed == st) {
            printf("   => FAILED: %s\n", r->reason);
            break;
        }
        printf("   => ok%s\n", st == MCX_MC_SVCAUTH ? ": authorized true" :
                               st == MCX_MC_DEREG ? ": not authorized any more" : "");
    }
    fflush(stdout);
    return mcx_interrupted ? -EINTR : r->failed;
}

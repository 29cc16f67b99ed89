/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * `mcx demo`: one MC system with built-in defaults in a temporary run
 * directory, two subscribers, and mcx-ue registering with IMS AKA, with SIP
 * Digest, and once more after forcing an AKA resynchronisation. The wire view
 * (tshark on lo, decoded afterwards) becomes a ladder of SIP-1 and AAA-1 with
 * ports mapped to entity names; without a capture the UEs' own steps and
 * mcx-sipdb's log are shown instead. Everything started is stopped at the
 * end, on error and on Ctrl-C.
 */
#include "mcx-orch.h"

#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* TS 35.208-style keys for the demo only; the UE and the database share them. */
#define DEMO_K "0123456789abcdef0123456789abcdef"
#define DEMO_OP "fedcba9876543210fedcba9876543210"
#define DEMO_PW "bob-secret"
#define DEMO_SQN_AHEAD "1000"

static const char demo_topology[] =
    "systems:\n"
    "  - name: alpha\n"
    "    realm: alpha.test\n"
    "    subscribers:\n"
    "      - impi: alice@alpha.test\n"
    "        impus: [sip:alice@alpha.test]\n"
    "        k: " DEMO_K "\n"
    "        op: " DEMO_OP "\n"
    "        scheme: aka\n"
    "      - impi: bob@alpha.test\n"
    "        impus: [sip:bob@alpha.test]\n"
    "        password: " DEMO_PW "\n"
    "        scheme: digest\n";

typedef struct {
    char run_dir[PATH_MAX];
    bool keep, capture_wanted, capturing;
    char capture_why[256];
    mcx_topo_t *topo;
    mcx_state_t *st;
    bool up;
    mcx_proc_t tshark;
    char pcap[PATH_MAX];
    unsigned alice_port, bob_port;
    char ue_bin[PATH_MAX];
    /* Step marks (wall clock) and outputs. */
    double step_t[4];
    const char *step_title[4];
    char step_out[4][PATH_MAX];
    unsigned n_steps;
} demo_t;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void heading(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void heading(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("\n== ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

/*
 * Run argv to completion with stdout+stderr into `out`. Returns the exit
 * status, 128+signal, or -EINTR when mcx was interrupted (the child is then
 * sent SIGTERM, which makes mcx-ue de-register, and reaped).
 */
static int run_wait(char *const argv[], const char *out, unsigned timeout_s)
{
    mcx_proc_t p = {0};
    mcx_pathf(p.log, sizeof(p.log), "%s", out);
    int rv = mcx_proc_spawn(&p, argv);
    if (rv)
        return rv;
    uint64_t deadline = mcx_now_us() + (uint64_t)timeout_s * 1000000;
    for (;;) {
        int status;
        pid_t r = waitpid(p.pid, &status, WNOHANG);
        if (r == p.pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (mcx_interrupted || mcx_now_us() > deadline) {
            mcx_proc_stop(&p, 5000);
            waitpid(p.pid, NULL, 0);
            return mcx_interrupted ? -EINTR : -ETIMEDOUT;
        }
        sleep_ms(20);
    }
}

static void print_file(const char *path, const char *indent)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return;
    char line[2048];
    while (fgets(line, sizeof(line), fp))
        printf("%s%s", indent, line);
    fclose(fp);
}

static int write_ue_config(demo_t *d, const char *name, bool aka, unsigned local_port,
                           char *path, size_t len)
{
    const mcx_topo_system_t *s = &d->topo->systems[0];
    mcx_pathf(path, len, "%s/ue-%s.yaml", d->run_dir, name);
    FILE *fp = fopen(path, "w");
    if (!fp)
        return -errno;
    fprintf(fp, "# mcx demo: UE %s\nisim:\n  impi: %s@%s\n  impu: sip:%s@%s\n", name, name,
            s->realm, name, s->realm);
    if (aka)
        fprintf(fp, "  k: %s\n  op: %s\n  sqn_file: \"%s/ue-%s.sqn\"\n", DEMO_K, DEMO_OP,
                d->run_dir, name);
    else
        fprintf(fp, "  password: %s\n", DEMO_PW);
    fprintf(fp, "sip:\n  proxy: 127.0.0.1\n  port: %u\n  transport: udp\n"
                "  local_port: %u\n  expires: 600\n  timeout_seconds: 15\n",
            s->scscf.sip_port, local_port);
    return fclose(fp) == 0 ? 0 : -EIO;
}

/* ------------------------------------------------------------------------ */
/* Capture                                                                  */
/* ------------------------------------------------------------------------ */

static void capture_start(demo_t *d)
{
    const mcx_topo_system_t *s = &d->topo->systems[0];
    char tshark[PATH_MAX];
    if (!d->capture_wanted) {
        snprintf(d->capture_why, sizeof(d->capture_why), "--no-capture given");
        return;
    }
    if (mcx_find_program("tshark", tshark, sizeof(tshark))) {
        snprintf(d->capture_why, sizeof(d->capture_why), "tshark is not installed");
        return;
    }
    char filter[512];
    int n = snprintf(filter, sizeof(filter), "udp port %u or tcp port %u or tcp port %u",
                     s->scscf.sip_port, s->scscf.sip_port, s->scscf.diameter_port);
    for (unsigned i = 0; i < s->sipdb.count && n > 0 && (size_t)n < sizeof(filter); i++)
        n += snprintf(filter + n, sizeof(filter) - (size_t)n, " or tcp port %u", s->sipdb_ports[i]);
    mcx_pathf(d->pcap, sizeof(d->pcap), "%s/demo.pcap", d->run_dir);
    mcx_pathf(d->tshark.log, sizeof(d->tshark.log), "%s/tshark.log", d->run_dir);
    snprintf(d->tshark.name, sizeof(d->tshark.name), "tshark");
    char *const argv[] = {tshark, "-i", "lo", "-f", filter, "-w", d->pcap, NULL};
    if (mcx_proc_spawn(&d->tshark, argv) != 0) {
        snprintf(d->capture_why, sizeof(d->capture_why), "tshark could not be started");
        return;
    }
    uint64_t deadline = mcx_now_us() + 15000000;
    while (mcx_now_us() < deadline && !mcx_interrupted) {
        if (mcx_file_contains(d->tshark.log, "Capturing on")) {
            sleep_ms(300); /* the filter is attached just after that line */
            d->capturing = true;
            return;
        }
        if (!mcx_proc_alive(&d->tshark))
            break;
        sleep_ms(50);
    }
    mcx_proc_stop(&d->tshark, 3000);
    d->tshark.pid = 0;
    mcx_pathf(d->capture_why, sizeof(d->capture_why),
              "tshark cannot capture on lo here (needs root or dumpcap's capabilities; see %s)",
              d->tshark.log);
}

static void capture_stop(demo_t *d)
{
    if (d->tshark.pid <= 0)
        return;
    if (mcx_proc_alive(&d->tshark)) {
        sleep_ms(300); /* let the last packets reach the capture */
        kill(d->tshark.pid, SIGINT);
        for (int i = 0; i < 250 && mcx_proc_alive(&d->tshark); i++)
            sleep_ms(20);
        mcx_proc_stop(&d->tshark, 2000);
    }
    waitpid(d->tshark.pid, NULL, WNOHANG);
    d->tshark.pid = 0;
}

/* ------------------------------------------------------------------------ */
/* Ladder                                                                   */
/* ------------------------------------------------------------------------ */

enum {
    F_TIME, F_USRC, F_UDST, F_TSRC, F_TDST, F_METHOD, F_STATUS, F_CSEQ, F_ALG, F_AUTS,
    F_EXPIRES, F_CMD, F_REQ, F_RC, F_ERC, F_SAT, F_SCHEME, F_SCHEME3, F_USER, F_HBH, F_AUTHZ,
    F_AUTHZ3, F_REASON, F_CALLID, F_N
};

static const char *const fields[F_N] = {
    "frame.time_epoch", "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport",
    "sip.Method", "sip.Status-Code", "sip.CSeq.seq", "sip.auth.algorithm", "sip.auth.auts",
    "sip.Expires", "diameter.cmd.code", "diameter.flags.request", "diameter.Result-Code",
    "diameter.Experimental-Result-Code", "diameter.Server-Assignment-Type",
    "diameter.SIP-Authentication-Scheme", "diameter.3GPP-SIP-Authentication-Scheme",
    "diameter.User-Name", "diameter.hopbyhopid", "diameter.SIP-Authorization",
    "diameter.3GPP-SIP-Authorization", "sip.Status-Line", "sip.Call-ID",
};

static const char *sat_name(long v)
{
    static const char *const n[] = {
        "NO_ASSIGNMENT", "REGISTRATION", "RE_REGISTRATION", "UNREGISTERED_USER",
        "TIMEOUT_DEREGISTRATION", "USER_DEREGISTRATION", "TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME",
        "USER_DEREGISTRATION_STORE_SERVER_NAME", "ADMINISTRATIVE_DEREGISTRATION",
        "AUTHENTICATION_FAILURE", "AUTHENTICATION_TIMEOUT", "DEREGISTRATION_TOO_MUCH_DATA",
        "AAA_USER_DATA_REQUEST", "PGW_UPDATE", "RESTORATION"};
    return v >= 0 && v < (long)(sizeof(n) / sizeof(n[0])) ? n[v] : "?";
}

static const char *rc_name(long v, bool experimental)
{
    if (!experimental) {
        switch (v) {
        case 2001: return "DIAMETER_SUCCESS";
        case 3002: return "DIAMETER_UNABLE_TO_DELIVER";
        case 3003: return "DIAMETER_REALM_NOT_SERVED";
        case 5004: return "DIAMETER_INVALID_AVP_VALUE";
        case 5005: return "DIAMETER_MISSING_AVP";
        case 5012: return "DIAMETER_UNABLE_TO_COMPLY";
        default: return "";
        }
    }
    switch (v) {
    case 2001: return "DIAMETER_FIRST_REGISTRATION";
    case 2002: return "DIAMETER_SUBSEQUENT_REGISTRATION";
    case 5001: return "DIAMETER_ERROR_USER_UNKNOWN";
    case 5002: return "DIAMETER_ERROR_IDENTITIES_DONT_MATCH";
    case 5003: return "DIAMETER_ERROR_IDENTITY_NOT_REGISTERED";
    case 5006: return "DIAMETER_ERROR_AUTH_SCHEME_NOT_SUPPORTED";
    default: return "";
    }
}

static const char *cmd_name(long code, bool req)
{
    switch (code) {
    case 300: return req ? "UAR" : "UAA";
    case 301: return req ? "SAR" : "SAA";
    case 302: return req ? "LIR" : "LIA";
    case 303: return req ? "MAR" : "MAA";
    default: return req ? "request" : "answer";
    }
}

static const char *entity(const demo_t *d, unsigned port, bool diameter)
{
    const mcx_topo_system_t *s = &d->topo->systems[0];
    if (port == s->scscf.sip_port || port == s->scscf.diameter_port)
        return "S-CSCF";
    if (port == d->alice_port)
        return "UE alice";
    if (port == d->bob_port)
        return "UE bob";
    for (unsigned i = 0; i < s->sipdb.count; i++)
        if (port == s->sipdb_ports[i])
            return "sipdb";
    if (port == s->dproxy.port || diameter)
        return "dproxy"; /* the proxy is the one that connects out on AAA-1 */
    return "?";
}

/* Split a tab-separated line into F_N fields (empty when missing). */
static void split_fields(char *line, char *f[F_N])
{
    unsigned i = 0;
    char *p = line;
    for (; i < F_N; i++) {
        f[i] = p;
        char *tab = p ? strchr(p, '\t') : NULL;
        if (tab) {
            *tab = '\0';
            p = tab + 1;
        } else {
            p = NULL;
            for (unsigned j = i + 1; j < F_N; j++)
                f[j] = "";
            break;
        }
    }
    for (unsigned k = 0; k < F_N; k++)
        if (!f[k])
            f[k] = "";
}

/* The i-th of a comma-separated multi-value field (several PDUs in a frame). */
static void nth(const char *v, unsigned i, char *out, size_t len)
{
    out[0] = '\0';
    for (unsigned k = 0; v; k++) {
        const char *c = strchr(v, ',');
        size_t n = c ? (size_t)(c - v) : strlen(v);
        if (k == i) {
            snprintf(out, len, "%.*s", (int)n, v);
            return;
        }
        v = c ? c + 1 : NULL;
    }
}

#define SEEN_MAX 512

static int decode_and_print(demo_t *d)
{
    char tshark[PATH_MAX], out[PATH_MAX];
    const mcx_topo_system_t *s = &d->topo->systems[0];
    if (mcx_find_program("tshark", tshark, sizeof(tshark)))
        return -ENOENT;
    mcx_pathf(out, sizeof(out), "%s/ladder.tsv", d->run_dir);
    char *argv[80];
    char dec[MCX_TOPO_MAX_SIPDB + 3][48];
    unsigned a = 0, nd = 0;
    argv[a++] = tshark;
    argv[a++] = "-r";
    argv[a++] = d->pcap;
    snprintf(dec[nd], sizeof(dec[0]), "udp.port==%u,sip", s->scscf.sip_port);
    argv[a++] = "-d";
    argv[a++] = dec[nd++];
    snprintf(dec[nd], sizeof(dec[0]), "tcp.port==%u,sip", s->scscf.sip_port);
    argv[a++] = "-d";
    argv[a++] = dec[nd++];
    snprintf(dec[nd], sizeof(dec[0]), "tcp.port==%u,diameter", s->scscf.diameter_port);
    argv[a++] = "-d";
    argv[a++] = dec[nd++];
    for (unsigned i = 0; i < s->sipdb.count; i++) {
        snprintf(dec[nd], sizeof(dec[0]), "tcp.port==%u,diameter", s->sipdb_ports[i]);
        argv[a++] = "-d";
        argv[a++] = dec[nd++];
    }
    argv[a++] = "-Y";
    argv[a++] = "sip || diameter.applicationId == 16777216";
    argv[a++] = "-T";
    argv[a++] = "fields";
    for (unsigned i = 0; i < F_N; i++) {
        argv[a++] = "-e";
        argv[a++] = (char *)fields[i];
    }
    argv[a] = NULL;
    /* tshark's own warnings go to the same file; only lines with a time parse. */
    unlink(out);
    int rv = run_wait(argv, out, 60);
    if (rv != 0)
        return rv < 0 ? rv : -EIO;

    FILE *fp = fopen(out, "r");
    if (!fp)
        return -errno;
    static char seen[SEEN_MAX][96];
    unsigned n_seen = 0, step = 0, shown = 0;
    double t0 = d->n_steps ? d->step_t[0] : 0;
    char line[8192];
    printf("\n   time    from        to          ref    message\n");
    while (fgets(line, sizeof(line), fp)) {
        line[strcspn(line, "\n")] = '\0';
        char *f[F_N];
        split_fields(line, f);
        char *end;
        double t = strtod(f[F_TIME], &end);
        if (end == f[F_TIME] || t <= 0)
            continue;
        while (step < d->n_steps && t >= d->step_t[step]) {
            printf("\n-- %s\n", d->step_title[step]);
            step++;
        }
        bool udp = f[F_USRC][0] != '\0';
        unsigned sp = (unsigned)strtoul(udp ? f[F_USRC] : f[F_TSRC], NULL, 10);
        unsigned dp = (unsigned)strtoul(udp ? f[F_UDST] : f[F_TDST], NULL, 10);
        bool diameter = f[F_CMD][0] != '\0';
        unsigned pdus = 1;
        if (diameter)
            for (const char *c = f[F_CMD]; (c = strchr(c, ',')); c++)
                pdus++;
        for (unsigned k = 0; k < pdus; k++) {
            char key[96], msg[512], v[256], w[256];
            msg[0] = '\0';
            if (diameter) {
                char code[16], req[16], hbh[32];
                nth(f[F_CMD], k, code, sizeof(code));
                nth(f[F_REQ], k, req, sizeof(req));
                nth(f[F_HBH], k, hbh, sizeof(hbh));
                bool isreq = !strcmp(req, "1") || !strcasecmp(req, "True");
                snprintf(key, sizeof(key), "D%u>%u/%s/%s/%d", sp, dp, code, hbh, isreq);
                long cc = strtol(code, NULL, 10);
                int m = snprintf(msg, sizeof(msg), "%s", cmd_name(cc, isreq));
                if (isreq) {
                    nth(f[F_USER], pdus > 1 ? k : 0, v, sizeof(v));
                    if (v[0])
                        m += snprintf(msg + m, sizeof(msg) - (size_t)m, " %s", v);
                    if (cc == 303) {
                        nth(f[F_SCHEME3][0] ? f[F_SCHEME3] : f[F_SCHEME], pdus > 1 ? k : 0, w,
                            sizeof(w));
                        m += snprintf(msg + m, sizeof(msg) - (size_t)m, "  scheme %s%s",
                                      w[0] ? w : "?",
                                      strcasecmp(w, "unknown") ? "" : " (the SIP database picks)");
                        if (f[F_AUTHZ][0] || f[F_AUTHZ3][0])
                            m += snprintf(msg + m, sizeof(msg) - (size_t)m,
                                          "  + SIP-Authorization (RAND||AUTS): resynchronisation");
                    } else if (cc == 301) {
                        nth(f[F_SAT], pdus > 1 ? k : 0, w, sizeof(w));
                        long sat = strtol(w, NULL, 10);
                        m += snprintf(msg + m, sizeof(msg) - (size_t)m,
                                      "  Server-Assignment-Type %s (%ld)", sat_name(sat), sat);
                    }
                } else {
                    nth(f[F_RC], pdus > 1 ? k : 0, v, sizeof(v));
                    nth(f[F_ERC], pdus > 1 ? k : 0, w, sizeof(w));
                    if (v[0])
                        m += snprintf(msg + m, sizeof(msg) - (size_t)m, "  Result-Code %s %s", v,
                                      rc_name(strtol(v, NULL, 10), false));
                    if (w[0])
                        m += snprintf(msg + m, sizeof(msg) - (size_t)m,
                                      "  Experimental-Result %s %s", w,
                                      rc_name(strtol(w, NULL, 10), true));
                    nth(f[F_SCHEME3][0] ? f[F_SCHEME3] : f[F_SCHEME], pdus > 1 ? k : 0, w,
                        sizeof(w));
                    if (cc == 303 && w[0])
                        m += snprintf(msg + m, sizeof(msg) - (size_t)m, "  scheme %s", w);
                }
            } else if (f[F_METHOD][0] || f[F_STATUS][0]) {
                snprintf(key, sizeof(key), "S%u>%u/%.40s/%s/%s/%s", sp, dp, f[F_CALLID],
                         f[F_CSEQ], f[F_METHOD], f[F_STATUS]);
                nth(f[F_ALG], 0, v, sizeof(v));
                if (f[F_METHOD][0]) {
                    int m = snprintf(msg, sizeof(msg), "%s  CSeq %s", f[F_METHOD], f[F_CSEQ]);
                    if (f[F_EXPIRES][0])
                        m += snprintf(msg + m, sizeof(msg) - (size_t)m, "  Expires %s",
                                      f[F_EXPIRES]);
                    if (v[0])
                        m += snprintf(msg + m, sizeof(msg) - (size_t)m, "  algorithm=%s", v);
                    if (f[F_AUTS][0])
                        snprintf(msg + m, sizeof(msg) - (size_t)m,
                                 "  auts=... (resynchronisation)");
                } else {
                    const char *reason = strchr(f[F_REASON], ' ');
                    reason = reason ? strchr(reason + 1, ' ') : NULL;
                    int m = snprintf(msg, sizeof(msg), "%s %s  CSeq %s", f[F_STATUS],
                                     reason ? reason + 1 : "", f[F_CSEQ]);
                    if (v[0])
                        snprintf(msg + m, sizeof(msg) - (size_t)m, "  challenge algorithm=%s", v);
                }
            } else {
                continue;
            }
            /* A segment seen twice on lo (retransmission) decodes twice: once is enough. */
            bool dup = false;
            for (unsigned i = 0; i < n_seen && !dup; i++)
                dup = !strcmp(seen[i], key);
            if (dup)
                continue;
            if (n_seen < SEEN_MAX)
                snprintf(seen[n_seen++], sizeof(seen[0]), "%s", key);
            printf("  %7.3f  %-10s  %-10s  %-5s  %s\n", t - t0, entity(d, sp, diameter),
                   entity(d, dp, diameter), diameter ? "AAA-1" : "SIP-1", msg);
            shown++;
        }
    }
    fclose(fp);
    printf("\n(%u messages; capture %s)\n", shown, d->pcap);
    return 0;
}

/*
 * Without a capture: what mcx-sipdb logged (each SAR it answered, each
 * request it refused; it does not log the MARs it answers).
 */
static void print_sipdb_log(demo_t *d)
{
    const mcx_topo_system_t *s = &d->topo->systems[0];
    mcx_sys_paths_t *p = calloc(1, sizeof(*p));
    if (!p)
        return;
    mcx_render_paths(d->run_dir, s, p);
    heading("mcx-sipdb's log: the SARs it answered, the MARs/SARs it refused");
    for (unsigned i = 0; i < s->sipdb.count; i++) {
        FILE *fp = fopen(p->sipdb_log[i], "r");
        char line[2048];
        while (fp && fgets(line, sizeof(line), fp))
            if (strstr(line, " SAR ") || strstr(line, " MAR "))
                printf("   %s", line);
        if (fp)
            fclose(fp);
    }
    free(p);
}

/* ------------------------------------------------------------------------ */
/* The demo                                                                 */
/* ------------------------------------------------------------------------ */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int step(demo_t *d, const char *title, char *const argv[], const char *out_name)
{
    unsigned i = d->n_steps;
    heading("%s", title);
    d->step_title[i] = title;
    mcx_pathf(d->step_out[i], sizeof(d->step_out[i]), "%s/%s", d->run_dir, out_name);
    d->step_t[i] = wall_now();
    d->n_steps++;
    int rc = run_wait(argv, d->step_out[i], 60);
    if (!d->capturing) {
        printf("   (mcx-ue's own view of SIP-1)\n");
        print_file(d->step_out[i], "   ");
        return rc;
    }
    /* The ladder comes later; here just the UE's outcome lines. */
    FILE *fp = fopen(d->step_out[i], "r");
    char line[2048];
    while (fp && fgets(line, sizeof(line), fp)) {
        if (!strncmp(line, "REGISTERED", 10) || !strncmp(line, "DEREGISTERED", 12) ||
            strstr(line, "synchronisation failure") || strstr(line, "Digest ") ||
            strstr(line, "mcx-ue:"))
            printf("   mcx-ue: %s", line);
    }
    if (fp)
        fclose(fp);
    return rc;
}

static int run_steps(demo_t *d)
{
    char alice_cfg[PATH_MAX], bob_cfg[PATH_MAX], check_out[PATH_MAX];
    int rv;
    d->alice_port = mcx_free_port(NULL);
    do
        d->bob_port = mcx_free_port(NULL);
    while (d->bob_port == d->alice_port);
    if ((rv = write_ue_config(d, "alice", true, d->alice_port, alice_cfg, sizeof(alice_cfg))) ||
        (rv = write_ue_config(d, "bob", false, d->bob_port, bob_cfg, sizeof(bob_cfg)))) {
        fprintf(stderr, "mcx demo: cannot write the UE configurations: %s\n", strerror(-rv));
        return 1;
    }
    char *const a1[] = {d->ue_bin, "-c", alice_cfg, "--once", NULL};
    rv = step(d, "1. UE alice registers with IMS AKA, then de-registers", a1, "ue-1-alice-aka.out");
    if (rv) {
        fprintf(stderr, "mcx demo: alice's AKA registration failed (%d)\n", rv);
        return 1;
    }
    char *const a2[] = {d->ue_bin, "-c", bob_cfg, "--once", NULL};
    rv = step(d, "2. UE bob registers with SIP Digest, then de-registers", a2,
              "ue-2-bob-digest.out");
    if (rv) {
        fprintf(stderr, "mcx demo: bob's Digest registration failed (%d)\n", rv);
        return 1;
    }
    /* The ISIM now believes it accepted SQNs far beyond the network's: the next
     * challenge fails the freshness check and the UE answers with AUTS. */
    mcx_pathf(check_out, sizeof(check_out), "%s/ue-3-alice-sqn-ahead.out", d->run_dir);
    char *const a3[] = {d->ue_bin, "-c", alice_cfg, "--check", "--sqn-ahead", DEMO_SQN_AHEAD, NULL};
    if ((rv = run_wait(a3, check_out, 30)) != 0) {
        fprintf(stderr, "mcx demo: mcx-ue --sqn-ahead failed (%d)\n", rv);
        return 1;
    }
    rv = step(d, "3. UE alice's ISIM is " DEMO_SQN_AHEAD " SQNs ahead: AKA resynchronisation, "
                 "then de-registration", a1, "ue-3-alice-resync.out");
    if (rv) {
        fprintf(stderr, "mcx demo: alice's resynchronisation failed (%d)\n", rv);
        return 1;
    }
    if (!mcx_file_contains(d->step_out[2], "answering with auts")) {
        fprintf(stderr, "mcx demo: no resynchronisation happened (see %s)\n", d->step_out[2]);
        return 1;
    }
    return 0;
}

int mcx_demo(int argc, char **argv)
{
    demo_t *d = calloc(1, sizeof(*d));
    if (!d)
        return 1;
    d->capture_wanted = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--keep")) {
            d->keep = true;
        } else if (!strcmp(argv[i], "--no-capture")) {
            d->capture_wanted = false;
        } else {
            fprintf(stderr, "mcx demo: unknown option '%s' (--keep, --no-capture)\n", argv[i]);
            free(d);
            return 2;
        }
    }
    int rc = 1;
    char err[PATH_MAX + 512];
    d->topo = calloc(1, sizeof(*d->topo));
    d->st = calloc(1, sizeof(*d->st));
    if (!d->topo || !d->st)
        goto out;
    if (mcx_find_program("mcx-ue", d->ue_bin, sizeof(d->ue_bin))) {
        fprintf(stderr, "mcx demo: mcx-ue not found (build it first)\n");
        goto out;
    }
    if (mcx_topo_load_string("(demo)", demo_topology, d->topo, err, sizeof(err)) ||
        mcx_topo_assign_ports(d->topo, mcx_free_port, NULL, err, sizeof(err))) {
        fprintf(stderr, "mcx demo: %s\n", err);
        goto out;
    }
    const char *tmp = getenv("TMPDIR");
    mcx_pathf(d->run_dir, sizeof(d->run_dir), "%s/mcx-demo-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(d->run_dir)) {
        fprintf(stderr, "mcx demo: %s: %s\n", d->run_dir, strerror(errno));
        goto out;
    }

    const mcx_topo_system_t *s = &d->topo->systems[0];
    heading("mcx demo: one MC system (%s, realm %s) on loopback, run directory %s", s->name,
            s->realm, d->run_dir);
    printf("Subscribers: alice@%s (IMS AKA, Milenage K/OP), bob@%s (SIP Digest).\n"
           "SIP-1: UE <-> S-CSCF (Kamailio).  AAA-1: S-CSCF <-> dproxy <-> sipdb (Cx).\n",
           s->realm, s->realm);
    mcx_up_opts_t o = {.timeout_s = 40};
    snprintf(o.run_dir, sizeof(o.run_dir), "%s", d->run_dir);
    d->up = true;
    if (mcx_up(d->topo, &o, d->st, err, sizeof(err))) {
        fprintf(stderr, "mcx demo: %s\n", err);
        d->up = false;
        d->keep = true;
        goto out;
    }
    mcx_print_table(stdout, d->st, false);

    capture_start(d);
    if (d->capturing)
        printf("\nCapturing SIP-1 and AAA-1 on lo with tshark (%s).\n", d->pcap);
    else
        printf("\nNo capture: %s. Showing the UEs' own steps and mcx-sipdb's log instead.\n",
               d->capture_why);

    rc = run_steps(d);
    capture_stop(d);
    if (mcx_interrupted) {
        fprintf(stderr, "mcx demo: interrupted\n");
        rc = 1;
    }

    if (mcx_interrupted) {
        /* no ladder: stop at once */
    } else if (d->capturing) {
        heading("What crossed SIP-1 (UE <-> S-CSCF) and AAA-1 (S-CSCF <-> dproxy <-> sipdb)");
        if (decode_and_print(d) != 0) {
            printf("(decoding %s failed; the UEs' own view follows)\n", d->pcap);
            for (unsigned i = 0; i < d->n_steps; i++) {
                printf("\n-- %s\n", d->step_title[i]);
                print_file(d->step_out[i], "   ");
            }
            print_sipdb_log(d);
        }
    } else {
        print_sipdb_log(d);
    }
    if (rc) {
        d->keep = true;
        printf("\nmcx demo: FAILED; logs kept in %s\n", d->run_dir);
    }

out:
    capture_stop(d);
    if (d->up) {
        heading("Stopping everything the demo started");
        mcx_down(d->run_dir, true);
    }
    if (d->run_dir[0] && !d->keep)
        nftw(d->run_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else if (d->run_dir[0])
        printf("Run directory kept: %s\n", d->run_dir);
    if (!rc)
        printf("\nmcx demo: done.\n");
    free(d->topo);
    free(d->st);
    free(d);
    return rc;
}

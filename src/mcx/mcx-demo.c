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
#include "mcx-demo-mc.h"

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
#define DEMO_MC_PW "alice-mc-secret"

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
    "        scheme: digest\n"
    "    users:\n"
    "      - username: alice\n"
    "        password: " DEMO_MC_PW "\n"
    "        sip_identity: alice@alpha.test\n"
    "        groups: [sip:fire@alpha.test]\n"
    "      - username: bob\n"
    "        password: bob-mc-secret\n"
    "        sip_identity: bob@alpha.test\n"
    "        groups: [sip:fire@alpha.test]\n"
    "    groups:\n"
    "      - uri: sip:fire@alpha.test\n"
    "        display_name: Fire brigade\n"
    "        members: [alice, bob]\n";

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
    /* The MC service user's lifecycle (mcx-demo-mc.c). */
    bool mc_ran;
    bool wrong_password; /* --wrong-password: the lifecycle is refused at step 1 */
    mcx_demo_mc_t mc;
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
                           const mcx_topo_user_t *mc_user, char *path, size_t len)
{
    const mcx_topo_system_t *s = &d->topo->systems[0];
    mcx_pathf(path, len, "%s/ue-%s%s.yaml", d->run_dir, name, mc_user ? "-mc" : "");
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
    if (mc_user)
        mcx_demo_mc_write_conf(fp, s, mc_user, d->run_dir);
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
    char filter[1024];
    int n = snprintf(filter, sizeof(filter), "udp port %u or tcp port %u or tcp port %u",
                     s->scscf.sip_port, s->scscf.sip_port, s->scscf.diameter_port);
    for (unsigned i = 0; i < s->sipdb.count && n > 0 && (size_t)n < sizeof(filter); i++)
        n += snprintf(filter + n, sizeof(filter) - (size_t)n, " or tcp port %u", s->sipdb_ports[i]);
    /* The application plane: SIP-2, HTTP-1 (TLS), HTTP-2 to each daemon. */
    if (n > 0 && (size_t)n < sizeof(filter))
        n += snprintf(filter + n, sizeof(filter) - (size_t)n,
                      " or port %u or tcp port %u or tcp port %u or tcp port %u or tcp port %u",
                      s->server.sip_port, s->https_port, s->idms.port, s->cms.port, s->gms.port);
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
    F_AUTHZ3, F_REASON, F_CALLID,
    /* the application plane: HTTP-1 (TLS handshakes only), HTTP-2 and CSC-5 in clear, SIP-2 */
    F_HMETHOD, F_HURI, F_HCODE, F_HPHRASE, F_XFF, F_STREAM, F_TSEQ, F_HAUTHZ, F_HLOC, F_HWWWA,
    F_HCTYPE, F_TLSTYPE, F_ALPN, F_EVENT, F_SCTYPE, F_CSEQM, F_N
};

static const char *const fields[F_N] = {
    "frame.time_epoch", "udp.srcport", "udp.dstport", "tcp.srcport", "tcp.dstport",
    "sip.Method", "sip.Status-Code", "sip.CSeq.seq", "sip.auth.algorithm", "sip.auth.auts",
    "sip.Expires", "diameter.cmd.code", "diameter.flags.request", "diameter.Result-Code",
    "diameter.Experimental-Result-Code", "diameter.Server-Assignment-Type",
    "diameter.SIP-Authentication-Scheme", "diameter.3GPP-SIP-Authentication-Scheme",
    "diameter.User-Name", "diameter.hopbyhopid", "diameter.SIP-Authorization",
    "diameter.3GPP-SIP-Authorization", "sip.Status-Line", "sip.Call-ID",
    "http.request.method", "http.request.uri", "http.response.code", "http.response.phrase",
    "http.x_forwarded_for", "tcp.stream", "tcp.seq", "http.authorization", "http.location",
    "http.www_authenticate", "http.content_type", "tls.handshake.type",
    "tls.handshake.extensions_alpn_str", "sip.Event", "sip.Content-Type", "sip.CSeq.method",
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
    if (port == s->server.sip_port)
        return "MC server";
    if (port == s->https_port)
        return "nginx";
    if (port == s->idms.port)
        return "mcx-idms";
    if (port == s->cms.port)
        return "mcx-cms";
    if (port == s->gms.port)
        return "mcx-gms";
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

#define SEEN_MAX 1024
#define ROWS_MAX 1024

typedef struct {
    double t;
    const char *from, *to;
    char ref[8];
    char msg[320];
    int phase;      /* MC lifecycle step, 0 outside it */
    bool tls;       /* its step is the one of the next HTTP message */
} row_t;

/* The client end of each TCP stream to a daemon's plain HTTP port. */
#define STREAMS_MAX 256
typedef struct {
    long stream[STREAMS_MAX];
    const char *client[STREAMS_MAX];
    unsigned n;
} streams_t;

static const char *stream_client(streams_t *st, long id, const char *set)
{
    for (unsigned i = 0; i < st->n; i++)
        if (st->stream[i] == id) {
            if (set)
                st->client[i] = set;
            return st->client[i];
        }
    if (set && st->n < STREAMS_MAX) {
        st->stream[st->n] = id;
        st->client[st->n++] = set;
    }
    return set;
}

/* One HTTP or TLS message of the application plane; false if it is not one. */
static bool http_row(demo_t *d, char *f[F_N], unsigned sp, unsigned dp, streams_t *st, row_t *r,
                     char *key, size_t keylen)
{
    const mcx_topo_system_t *s = &d->topo->systems[0];
    long stream = strtol(f[F_STREAM], NULL, 10);
    if (f[F_TLSTYPE][0]) {
        char v[16];
        nth(f[F_TLSTYPE], 0, v, sizeof(v));
        bool hello = !strcmp(v, "1");
        if (strcmp(v, "1") && strcmp(v, "2"))
            return false;
        snprintf(key, keylen, "T%ld/%s/%s", stream, f[F_TSEQ], v);
        r->from = sp == s->https_port ? "nginx" : "UE alice";
        r->to = dp == s->https_port ? "nginx" : "UE alice";
        snprintf(r->ref, sizeof(r->ref), "HTTP-1");
        snprintf(r->msg, sizeof(r->msg), "TLS %s%s%s%s", hello ? "ClientHello" : "ServerHello",
                 f[F_ALPN][0] ? "  ALPN " : "", f[F_ALPN],
                 hello ? "" : "  (what follows is encrypted; the proxy forwards it in clear)");
        r->tls = true;
        r->phase = MCX_MC_IDM; /* placeholder: the next HTTP message's step */
        return true;
    }
    if (!f[F_HMETHOD][0] && !f[F_HCODE][0])
        return false;
    unsigned daemon = dp == s->idms.port || dp == s->cms.port || dp == s->gms.port ? dp : sp;
    const char *client;
    if (f[F_HMETHOD][0])
        client = stream_client(st, stream, f[F_XFF][0] ? "nginx" : "MC server");
    else
        client = stream_client(st, stream, NULL);
    if (!client)
        client = "?";
    bool req = f[F_HMETHOD][0] != '\0';
    r->from = req ? client : entity(d, daemon, false);
    r->to = req ? entity(d, daemon, false) : client;
    snprintf(r->ref, sizeof(r->ref), "%s", strcmp(client, "nginx") ? "CSC-5" : "HTTP-2");
    snprintf(key, keylen, "H%ld/%s/%u/%s", stream, f[F_TSEQ], sp, f[F_HMETHOD]);
    if (req) {
        char uri[200];
        snprintf(uri, sizeof(uri), "%s", f[F_HURI]);
        char *q = strchr(uri, '?');
        bool s256 = q && strstr(q, "code_challenge_method=S256");
        if (q)
            snprintf(q, sizeof(uri) - (size_t)(q - uri), "?...");
        snprintf(r->msg, sizeof(r->msg), "%s %s%s%s", f[F_HMETHOD], uri,
                 s256 ? "  (PKCE code_challenge S256)" : "",
                 !strncasecmp(f[F_HAUTHZ], "Bearer ", 7) ? "  Authorization: Bearer" : "");
    } else {
        int m = snprintf(r->msg, sizeof(r->msg), "%s %s", f[F_HCODE], f[F_HPHRASE]);
        if (f[F_HCTYPE][0])
            m += snprintf(r->msg + m, sizeof(r->msg) - (size_t)m, "  %s", f[F_HCTYPE]);
        if (f[F_HLOC][0]) {
            char loc[120];
            snprintf(loc, sizeof(loc), "%s", f[F_HLOC]);
            char *c = strstr(loc, "code=");
            if (c && strlen(c) > 9)
                snprintf(c + 5, sizeof(loc) - (size_t)(c + 5 - loc), "...");
            m += snprintf(r->msg + m, sizeof(r->msg) - (size_t)m, "  Location %s", loc);
        }
        if (f[F_HWWWA][0])
            snprintf(r->msg + m, sizeof(r->msg) - (size_t)m, "  WWW-Authenticate %.80s",
                     f[F_HWWWA]);
    }
    /* Steps of the lifecycle by the server the message is for. */
    if (daemon == s->idms.port)
        r->phase = MCX_MC_IDM;
    else if (daemon == s->gms.port)
        r->phase = MCX_MC_GMC;
    else
        r->phase = strcmp(client, "nginx") ? MCX_MC_SVCAUTH : MCX_MC_CMC;
    return true;
}

static int decode_and_print(demo_t *d)
{
    char tshark[PATH_MAX], out[PATH_MAX];
    const mcx_topo_system_t *s = &d->topo->systems[0];
    if (mcx_find_program("tshark", tshark, sizeof(tshark)))
        return -ENOENT;
    mcx_pathf(out, sizeof(out), "%s/ladder.tsv", d->run_dir);
    char *argv[120];
    char dec[MCX_TOPO_MAX_SIPDB + 12][48];
    unsigned a = 0, nd = 0;
    argv[a++] = tshark;
    argv[a++] = "-r";
    argv[a++] = d->pcap;
#define DECODE(...)                                                                                \
    do {                                                                                           \
        snprintf(dec[nd], sizeof(dec[0]), __VA_ARGS__);                                            \
        argv[a++] = "-d";                                                                          \
        argv[a++] = dec[nd++];                                                                     \
    } while (0)
    DECODE("udp.port==%u,sip", s->scscf.sip_port);
    DECODE("tcp.port==%u,sip", s->scscf.sip_port);
    DECODE("tcp.port==%u,diameter", s->scscf.diameter_port);
    for (unsigned i = 0; i < s->sipdb.count; i++)
        DECODE("tcp.port==%u,diameter", s->sipdb_ports[i]);
    if (d->mc_ran) {
        DECODE("udp.port==%u,sip", s->server.sip_port);
        DECODE("tcp.port==%u,sip", s->server.sip_port);
        DECODE("tcp.port==%u,tls", s->https_port);
        DECODE("tcp.port==%u,http", s->idms.port);
        DECODE("tcp.port==%u,http", s->cms.port);
        DECODE("tcp.port==%u,http", s->gms.port);
    }
#undef DECODE
    argv[a++] = "-Y";
    argv[a++] = "sip || diameter.applicationId == 16777216 || http.request || http.response || "
                "tls.handshake.type == 1 || tls.handshake.type == 2";
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
    static row_t rows[ROWS_MAX];
    static streams_t streams;
    memset(&streams, 0, sizeof(streams));
    unsigned n_seen = 0, n_rows = 0;
    char line[8192];
    while (fgets(line, sizeof(line), fp) && n_rows < ROWS_MAX) {
        line[strcspn(line, "\n")] = '\0';
        char *f[F_N];
        split_fields(line, f);
        char *end;
        double t = strtod(f[F_TIME], &end);
        if (end == f[F_TIME] || t <= 0)
            continue;
        bool udp = f[F_USRC][0] != '\0';
        unsigned sp = (unsigned)strtoul(udp ? f[F_USRC] : f[F_TSRC], NULL, 10);
        unsigned dp = (unsigned)strtoul(udp ? f[F_UDST] : f[F_TDST], NULL, 10);
        bool diameter = f[F_CMD][0] != '\0';
        bool in_mc = d->mc_ran && t >= d->mc.t_start;
        unsigned pdus = 1;
        if (diameter)
            for (const char *c = f[F_CMD]; (c = strchr(c, ',')); c++)
                pdus++;
        for (unsigned k = 0; k < pdus && n_rows < ROWS_MAX; k++) {
            char key[96], v[256], w[256];
            row_t *r = &rows[n_rows];
            memset(r, 0, sizeof(*r));
            r->t = t;
            char *msg = r->msg;
            const size_t msglen = sizeof(r->msg);
            if (!diameter && !f[F_METHOD][0] && !f[F_STATUS][0]) {
                if (!http_row(d, f, sp, dp, &streams, r, key, sizeof(key)))
                    continue;
                if (!in_mc)
                    r->phase = 0;
            } else if (diameter) {
                char code[16], req[16], hbh[32];
                nth(f[F_CMD], k, code, sizeof(code));
                nth(f[F_REQ], k, req, sizeof(req));
                nth(f[F_HBH], k, hbh, sizeof(hbh));
                bool isreq = !strcmp(req, "1") || !strcasecmp(req, "True");
                snprintf(key, sizeof(key), "D%u>%u/%s/%s/%d", sp, dp, code, hbh, isreq);
                long cc = strtol(code, NULL, 10);
                int m = snprintf(msg, msglen, "%s", cmd_name(cc, isreq));
                if (isreq) {
                    nth(f[F_USER], pdus > 1 ? k : 0, v, sizeof(v));
                    if (v[0])
                        m += snprintf(msg + m, msglen - (size_t)m, " %s", v);
                    if (cc == 303) {
                        nth(f[F_SCHEME3][0] ? f[F_SCHEME3] : f[F_SCHEME], pdus > 1 ? k : 0, w,
                            sizeof(w));
                        m += snprintf(msg + m, msglen - (size_t)m, "  scheme %s%s",
                                      w[0] ? w : "?",
                                      strcasecmp(w, "unknown") ? "" : " (the SIP database picks)");
                        if (f[F_AUTHZ][0] || f[F_AUTHZ3][0])
                            m += snprintf(msg + m, msglen - (size_t)m,
                                          "  + SIP-Authorization (RAND||AUTS): resynchronisation");
                    } else if (cc == 301) {
                        nth(f[F_SAT], pdus > 1 ? k : 0, w, sizeof(w));
                        long sat = strtol(w, NULL, 10);
                        m += snprintf(msg + m, msglen - (size_t)m,
                                      "  Server-Assignment-Type %s (%ld)", sat_name(sat), sat);
                    }
                } else {
                    nth(f[F_RC], pdus > 1 ? k : 0, v, sizeof(v));
                    nth(f[F_ERC], pdus > 1 ? k : 0, w, sizeof(w));
                    if (v[0])
                        m += snprintf(msg + m, msglen - (size_t)m, "  Result-Code %s %s", v,
                                      rc_name(strtol(v, NULL, 10), false));
                    if (w[0])
                        m += snprintf(msg + m, msglen - (size_t)m,
                                      "  Experimental-Result %s %s", w,
                                      rc_name(strtol(w, NULL, 10), true));
                    nth(f[F_SCHEME3][0] ? f[F_SCHEME3] : f[F_SCHEME], pdus > 1 ? k : 0, w,
                        sizeof(w));
                    if (cc == 303 && w[0])
                        m += snprintf(msg + m, msglen - (size_t)m, "  scheme %s", w);
                }
                r->from = entity(d, sp, true);
                r->to = entity(d, dp, true);
                snprintf(r->ref, sizeof(r->ref), "AAA-1");
                r->phase = in_mc ? MCX_MC_REGISTER : 0;
            } else {
                snprintf(key, sizeof(key), "S%u>%u/%.40s/%s/%s/%s", sp, dp, f[F_CALLID],
                         f[F_CSEQ], f[F_METHOD], f[F_STATUS]);
                nth(f[F_ALG], 0, v, sizeof(v));
                int m;
                if (f[F_METHOD][0]) {
                    m = snprintf(msg, msglen, "%s  CSeq %s", f[F_METHOD], f[F_CSEQ]);
                    if (f[F_EVENT][0])
                        m += snprintf(msg + m, msglen - (size_t)m, "  Event %s", f[F_EVENT]);
                    if (f[F_EXPIRES][0])
                        m += snprintf(msg + m, msglen - (size_t)m, "  Expires %s", f[F_EXPIRES]);
                    if (v[0])
                        m += snprintf(msg + m, msglen - (size_t)m, "  algorithm=%s", v);
                    if (f[F_AUTS][0])
                        m += snprintf(msg + m, msglen - (size_t)m,
                                      "  auts=... (resynchronisation)");
                } else {
                    const char *reason = strchr(f[F_REASON], ' ');
                    reason = reason ? strchr(reason + 1, ' ') : NULL;
                    m = snprintf(msg, msglen, "%s %s  CSeq %s %s", f[F_STATUS],
                                 reason ? reason + 1 : "", f[F_CSEQ], f[F_CSEQM]);
                    if (v[0])
                        m += snprintf(msg + m, msglen - (size_t)m, "  challenge algorithm=%s", v);
                }
                if (f[F_SCTYPE][0] && m > 0 && (size_t)m < msglen) {
                    char ct[96];
                    snprintf(ct, sizeof(ct), "%s", f[F_SCTYPE]);
                    ct[strcspn(ct, ";")] = '\0';
                    snprintf(msg + m, msglen - (size_t)m, "  body %s", ct);
                }
                r->from = entity(d, sp, false);
                r->to = entity(d, dp, false);
                bool sip2 = sp == s->server.sip_port || dp == s->server.sip_port;
                snprintf(r->ref, sizeof(r->ref), "%s", sip2 ? "SIP-2" : "SIP-1");
                r->phase = !in_mc ? 0
                           : (sip2 || !strcmp(f[F_CSEQM], "PUBLISH"))
                               ? MCX_MC_SVCAUTH
                               : MCX_MC_REGISTER;
            }
            if (in_mc && t >= d->mc.t_dereg)
                r->phase = MCX_MC_DEREG;
            /* A segment seen twice on lo (retransmission) decodes twice: once is enough. */
            bool dup = false;
            for (unsigned i = 0; i < n_seen && !dup; i++)
                dup = !strcmp(seen[i], key);
            if (dup)
                continue;
            if (n_seen < SEEN_MAX)
                snprintf(seen[n_seen++], sizeof(seen[0]), "%s", key);
            n_rows++;
        }
    }
    fclose(fp);
    /* A TLS handshake belongs to the step of the next HTTP message. */
    for (unsigned i = n_rows; i-- > 0;)
        if (rows[i].tls && rows[i].phase && rows[i].phase != MCX_MC_DEREG)
            rows[i].phase = i + 1 < n_rows ? rows[i + 1].phase : rows[i].phase;
    /* The lifecycle's messages grouped by step, in time order within each: the
     * S-CSCF sends the third-party REGISTER (step 5) while it still completes
     * the registration (step 4). The time column keeps the true order. */
    unsigned i0 = 0;
    while (i0 < n_rows && !rows[i0].phase)
        i0++;
    static row_t sorted[ROWS_MAX];
    unsigned ns = 0;
    for (int ph = MCX_MC_IDM; ph < MCX_MC_N; ph++)
        for (unsigned i = i0; i < n_rows; i++)
            if (rows[i].phase == ph)
                sorted[ns++] = rows[i];
    memcpy(rows + i0, sorted, ns * sizeof(row_t));

    double t0 = d->n_steps ? d->step_t[0] : 0;
    unsigned step = 0;
    int phase = 0;
    bool status_shown = false;
    printf("\n   time    from        to          ref     message\n");
    for (unsigned i = 0; i < n_rows; i++) {
        row_t *r = &rows[i];
        while (step < d->n_steps && r->t >= d->step_t[step]) {
            printf("\n-- %s\n", d->step_title[step]);
            step++;
        }
        if (d->mc_ran && !status_shown && d->mc.t_status > 0 && r->phase == MCX_MC_DEREG) {
            printf("  %7.3f  %-10s  %-10s  %-6s  GET /users/%s -> %d%s\n", d->mc.t_status - t0,
                   "mcx demo", "MC server", "status", d->mc.mcptt_id, d->mc.status_during,
                   strstr(d->mc.body_during, "\"authorized\":true") ? "  authorized true" : "");
            status_shown = true;
        }
        if (r->phase && r->phase != phase) {
            if (phase == 0)
                printf("\n-- MC service user alice: the on-network lifecycle (TS 23.280 10.1.1.1)\n");
            printf("  [%d] %s\n", r->phase, mcx_demo_mc_title(r->phase));
            phase = r->phase;
        }
        printf("  %7.3f  %-10s  %-10s  %-6s  %s\n", r->t - t0, r->from, r->to, r->ref, r->msg);
    }
    if (d->mc_ran && d->mc.status_after)
        printf("  %7.3f  %-10s  %-10s  %-6s  GET /users/%s -> %d%s\n", d->mc.t_end - t0,
               "mcx demo", "MC server", "status", d->mc.mcptt_id, d->mc.status_after,
               strstr(d->mc.body_after, "\"authorized\":true") ? "  authorized true"
                                                               : "  not authorized");
    printf("\n(%u messages; capture %s)\n", n_rows, d->pcap);
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
    char alice_cfg[PATH_MAX], bob_cfg[PATH_MAX], mc_cfg[PATH_MAX], check_out[PATH_MAX];
    int rv;
    d->alice_port = mcx_free_port(NULL);
    do
        d->bob_port = mcx_free_port(NULL);
    while (d->bob_port == d->alice_port);
    const mcx_topo_user_t *mc_user = mcx_topo_user_of_impi(&d->topo->systems[0], "alice@alpha.test");
    if (!mc_user) {
        fprintf(stderr, "mcx demo: the topology has no MC service user for alice\n");
        return 1;
    }
    mcx_topo_user_t login = *mc_user;
    if (d->wrong_password)
        snprintf(login.password, sizeof(login.password), "not-%.100s", mc_user->password);
    if ((rv = write_ue_config(d, "alice", true, d->alice_port, NULL, alice_cfg,
                              sizeof(alice_cfg))) ||
        (rv = write_ue_config(d, "bob", false, d->bob_port, NULL, bob_cfg, sizeof(bob_cfg))) ||
        (rv = write_ue_config(d, "alice", true, d->alice_port, &login, mc_cfg, sizeof(mc_cfg)))) {
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

    /* The whole lifecycle of an MC service user, against the application plane. */
    const mcx_topo_system_t *s = &d->topo->systems[0];
    heading("MC service user %s (%s): the on-network lifecycle of TS 23.280 10.1.1.1",
            mc_user->username, mc_user->mcptt_id);
    char idms_url[512];
    mcx_topo_public_url(s, "idms", idms_url, sizeof(idms_url));
    printf("   mcx-ue -c %s\n"
           "   (it stays registered until the MC server's status API has been asked, then\n"
           "   SIGTERM: it removes its publication and de-registers)\n"
           "   IdMS %s, CMS .../cms, GMS .../gms through nginx (TLS, CA %s/ca.pem);\n"
           "   MC server status API http://127.0.0.1:%u/users/<MCPTT ID>\n",
           mc_cfg, idms_url, d->run_dir, s->server.http_port);
    d->mc_ran = true;
    rv = mcx_demo_mc_run(s, mc_user, d->ue_bin, mc_cfg, d->run_dir, &d->mc);
    if (rv < 0)
        return 1;
    if (rv > 0) {
        fprintf(stderr, "mcx demo: FAILED at step %d, %s (%s): %s\n", rv,
                mcx_demo_mc_title(rv), mcx_demo_mc_ref(rv), d->mc.reason);
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
        } else if (!strcmp(argv[i], "--wrong-password")) {
            d->wrong_password = true;
        } else if (!strcmp(argv[i], "--no-capture")) {
            d->capture_wanted = false;
        } else {
            fprintf(stderr, "mcx demo: unknown option '%s' (--keep, --no-capture, --wrong-password)\n", argv[i]);
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
        heading("What crossed SIP-1 (UE <-> S-CSCF) and AAA-1 (S-CSCF <-> dproxy <-> sipdb)%s",
                d->mc_ran ? ", SIP-2 (S-CSCF <-> MC server), HTTP-1 (UE <-> nginx, TLS: "
                            "handshakes only), HTTP-2 (nginx <-> mcx-idms/cms/gms) and CSC-5 "
                            "(MC server <-> CMS)" : "");
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

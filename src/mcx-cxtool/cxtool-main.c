/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-cxtool: a Cx client for tests and demos. It joins the Diameter network
 * described by its YAML file, waits for its peers, then turns JSON request
 * lines from stdin into MAR/SAR/UAR/LIR and prints every answer as one JSON
 * line (or, with --ladder, as a readable ladder). Requests go one at a time.
 */
#include "cxtool.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define C(f) offsetof(cxtool_opts_t, f)

static const char *const wait_names[] = {"any", "all", NULL};

static const mcx_conf_field_t cx_fields[] = {
    {.key = "destination_realm", .type = MCX_CONF_STRING, .offset = C(destination_realm),
     .size = MCX_DIAM_NAME_MAX, .help = "default Destination-Realm (default: own realm)"},
    {.key = "destination_host", .type = MCX_CONF_STRING, .offset = C(destination_host),
     .size = MCX_DIAM_NAME_MAX, .help = "default Destination-Host (default: none)"},
    {.key = "server_name", .type = MCX_CONF_STRING, .offset = C(server_name),
     .size = MCX_DIAM_NAME_MAX, .help = "default Server-Name (default: sip:scscf.<realm>)"},
    {.key = "connect_timeout_ms", .type = MCX_CONF_UINT, .offset = C(connect_timeout_ms),
     .def = "10000", .min = 1, .max = 600000},
    {.key = "answer_timeout_ms", .type = MCX_CONF_UINT, .offset = C(answer_timeout_ms),
     .def = "5000", .min = 1, .max = 600000},
    {.key = "wait", .type = MCX_CONF_ENUM, .offset = C(wait), .def = "all",
     .enum_names = wait_names, .help = "wait for any or all peers to be open"},
    {0},
};

static const mcx_conf_field_t top_fields[] = {
    {.key = "diameter", .type = MCX_CONF_MAP, .offset = offsetof(cxtool_config_t, diam),
     .sub = mcx_diam_conf_fields, .required = true},
    {.key = "cxtool", .type = MCX_CONF_MAP, .offset = offsetof(cxtool_config_t, cx), .sub = cx_fields},
    {0},
};

static void usage(FILE *fp)
{
    fprintf(fp,
"Usage: mcx-cxtool -c FILE.yaml [--ladder | --ladder-stderr] [--timeout MS]\n"
"\n"
"A Cx (TS 29.229) client for tests and demos. Reads one JSON request per line\n"
"on stdin, sends it, waits for the answer, and prints one JSON line per answer\n"
"on stdout, in order.\n"
"\n"
"Options:\n"
"  -c, --config FILE     YAML with a `diameter:` section (identity, realm, port,\n"
"                        peers, ...) and an optional `cxtool:` section\n"
"                        (destination_realm, destination_host, server_name,\n"
"                        connect_timeout_ms, answer_timeout_ms, wait: any|all)\n"
"      --ladder          print a readable ladder on stdout instead of JSON\n"
"      --ladder-stderr   print the ladder on stderr, JSON still on stdout\n"
"  -t, --timeout MS      answer timeout per request (overrides the config)\n"
"  -v, --verbose         timings on stderr; twice: debug\n"
"  -h, --help            this text\n"
"\n"
"Request fields: cmd (MAR|SAR|UAR|LIR), destination_realm, destination_host,\n"
"  user_name, public_identity (string or list), server_name, scheme, items,\n"
"  authorization_hex (SIP-Authorization for resync: RAND||AUTS), \n"
"  server_assignment_type, user_data_already_available,\n"
"  visited_network_identifier, user_authorization_type, originating_request,\n"
"  omit: [AVP names to leave out], empty: [AVP names sent with no data],\n"
"  comment (ignored).\n"
"Defaults: MAR scheme Digest-AKAv1-MD5, items 1; SAR type 1 (REGISTRATION),\n"
"  user_data_already_available 0; UAR visited network = own realm.\n"
"\n"
"Answer: {\"cmd\":\"MAA\",\"result_code\":2001|null,\"experimental_result_code\":..,\n"
"  \"experimental_vendor\":..,\"e_bit\":false,\"avps\":[{\"name\",\"code\",\"vendor\",\n"
"  \"flags\":\"MV\",\"value\"|\"hex\"|\"avps\"}...]}; binary octet strings carry \"hex\".\n"
"  No answer in time: {\"cmd\":\"MAR\",\"error\":\"timeout\"}.\n"
"\n"
"Exit status: 0 every request was answered; 1 usage, configuration or\n"
"  transport failure (no peer open in time); 2 some request was invalid or\n"
"  not answered (its output line says why).\n");
}

/*
 * One outstanding request at a time: the answer callback fills this. Each
 * request has a sequence number passed as callback data, so a callback
 * for a request we stopped waiting for is recognised and dropped.
 */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    uintptr_t seq;      /* the request waited for */
    bool done;
    struct msg *answer; /* owned once done; NULL on timeout */
} pending = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, false, NULL};

static void answer_cb(void *data, struct msg **msg)
{
    pthread_mutex_lock(&pending.lock);
    if ((uintptr_t)data == pending.seq && !pending.done) {
        pending.answer = *msg;
        *msg = NULL;
        pending.done = true;
        pthread_cond_signal(&pending.cond);
    }
    pthread_mutex_unlock(&pending.lock);
    if (*msg) {
        fd_msg_free(*msg); /* late: already reported as a timeout */
        *msg = NULL;
    }
}

static void expire_cb(void *data, DiamId_t sentto, size_t senttolen, struct msg **req)
{
    fd_msg_free(*req);
    *req = NULL;
    pthread_mutex_lock(&pending.lock);
    if ((uintptr_t)data == pending.seq && !pending.done) {
        pending.answer = NULL;
        pending.done = true;
        pthread_cond_signal(&pending.cond);
    }
    pthread_mutex_unlock(&pending.lock);
}

/*
 * Routing: a client sends everything to its configured peers. freeDiameter
 * alone scores a peer only when its realm is the Destination-Realm, which a
 * proxy's is not; give every candidate the DEFAULT score on top.
 */
static int rt_out_cb(void *cbdata, struct msg **pmsg, struct fd_list *candidates)
{
    for (struct fd_list *li = candidates->next; li != candidates; li = li->next) {
        struct rtd_candidate *c = (struct rtd_candidate *)li;
        c->score += FD_SCORE_DEFAULT;
    }
    return 0;
}

static bool peer_open(const mcx_diam_peer_t *p)
{
    struct peer_hdr *ph = NULL;
    if (fd_peer_getbyid((DiamId_t)p->identity, strlen(p->identity), 0, &ph) || !ph)
        return false;
    return fd_peer_get_state(ph) == STATE_OPEN;
}

/* Wait for the configured peers. Returns the number open. */
static unsigned wait_peers(const cxtool_config_t *cfg)
{
    uint64_t deadline = mcx_now_us() + (uint64_t)cfg->cx.connect_timeout_ms * 1000;
    unsigned open = 0;
    for (;;) {
        open = 0;
        for (unsigned i = 0; i < cfg->diam.n_peers; i++)
            open += peer_open(&cfg->diam.peers[i]);
        if (open == cfg->diam.n_peers || (open && cfg->cx.wait == CXTOOL_WAIT_ANY))
            return open;
        if (mcx_now_us() >= deadline)
            return open;
        usleep(20000);
    }
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    fflush(stdout);
}

typedef struct {
    const cxtool_config_t *cfg;
    const char *self;
    FILE *ladder;  /* NULL: no ladder */
    bool json;     /* print JSON answers on stdout */
    uint32_t timeout_ms;
} run_t;

static void report_error(run_t *r, const char *cmd, const char *error)
{
    if (r->json) {
        json_t *o = json_object();
        json_object_set_new(o, "cmd", json_string(cmd));
        json_object_set_new(o, "error", json_string(error));
        print_json(o);
        json_decref(o);
    }
    if (r->ladder)
        cxtool_ladder_error(r->ladder, r->self, cmd, error);
}

/* Send one request line. Returns 0 when answered, 1 otherwise. */
static int run_one(run_t *r, const char *line)
{
    json_error_t jerr;
    char err[256] = "";
    json_t *req = json_loads(line, 0, &jerr);
    if (!req) {
        snprintf(err, sizeof(err), "bad JSON: %s", jerr.text);
        report_error(r, "?", err);
        return 1;
    }
    struct msg *m = NULL;
    const char *cmd;
    int rv = cxtool_request_build(req, r->cfg, &m, &cmd, err, sizeof(err));
    json_decref(req);
    if (rv) {
        char msg[300];
        snprintf(msg, sizeof(msg), "bad request: %s", err);
        report_error(r, cmd, msg);
        return 1;
    }
    if (r->ladder) {
        json_t *d = cxtool_msg_dump(m);
        cxtool_ladder_request(r->ladder, r->self, d);
        json_decref(d);
    }

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += r->timeout_ms / 1000;
    ts.tv_nsec += (long)(r->timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&pending.lock);
    uintptr_t seq = ++pending.seq;
    pending.done = false;
    pending.answer = NULL;
    pthread_mutex_unlock(&pending.lock);

    uint64_t sent_us = mcx_now_us();
    rv = fd_msg_send_timeout(&m, answer_cb, (void *)seq, expire_cb, &ts);
    if (rv) {
        MCX_ERR("cannot send %s: %s", cmd, strerror(rv));
        if (m)
            fd_msg_free(m);
        report_error(r, cmd, "send failed");
        return 1;
    }
    /*
     * freeDiameter calls expire_cb at the deadline, except when an answer
     * came and failed its dictionary rules: it then drops the request
     * silently (1.2.1). So stop waiting shortly after the deadline anyway.
     */
    struct timespec hard = ts;
    hard.tv_nsec += 200000000L;
    if (hard.tv_nsec >= 1000000000L) {
        hard.tv_sec++;
        hard.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&pending.lock);
    while (!pending.done) {
        if (pthread_cond_timedwait(&pending.cond, &pending.lock, &hard) == ETIMEDOUT)
            break;
    }
    bool done = pending.done;
    pending.done = true; /* from now on, callbacks for this request are late */
    MCX_INFO("%s: %s after %llu ms", cmd, pending.answer ? "answer" : "no answer",
             (unsigned long long)((mcx_now_us() - sent_us) / 1000));
    struct msg *ans = pending.answer;
    pending.answer = NULL;
    pthread_mutex_unlock(&pending.lock);

    if (!done || !ans) {
        report_error(r, cmd, "timeout");
        return 1;
    }
    json_t *d = cxtool_msg_dump(ans);
    fd_msg_free(ans); /* frees the request too */
    if (!d) {
        report_error(r, cmd, "out of memory");
        return 1;
    }
    if (r->json)
        print_json(d);
    if (r->ladder)
        cxtool_ladder_answer(r->ladder, r->self, d);
    json_decref(d);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"ladder", no_argument, NULL, 'L'},
        {"ladder-stderr", no_argument, NULL, 'E'},
        {"timeout", required_argument, NULL, 't'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *conf_path = NULL;
    int ladder = 0; /* 0 none, 1 stdout, 2 stderr */
    long timeout_ms = -1;
    mcx_log_level_t level = MCX_LOG_WARN;
    int c;
    while ((c = getopt_long(argc, argv, "c:t:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            conf_path = optarg;
            break;
        case 'L':
            ladder = 1;
            break;
        case 'E':
            ladder = 2;
            break;
        case 't': {
            char *end;
            timeout_ms = strtol(optarg, &end, 10);
            if (*end || timeout_ms < 1 || timeout_ms > 600000) {
                fprintf(stderr, "mcx-cxtool: --timeout: expected 1..600000 ms\n");
                return 1;
            }
            break;
        }
        case 'v':
            level = level == MCX_LOG_WARN ? MCX_LOG_INFO : MCX_LOG_DEBUG;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (!conf_path || optind != argc) {
        usage(stderr);
        return 1;
    }
    mcx_log_init("mcx-cxtool", level);

    static cxtool_config_t cfg;
    char err[512];
    if (mcx_conf_load_file(conf_path, top_fields, &cfg, err, sizeof(err))) {
        MCX_ERR("%s", err);
        return 1;
    }
    if (timeout_ms > 0)
        cfg.cx.answer_timeout_ms = (uint32_t)timeout_ms;
    if (cfg.diam.n_peers == 0) {
        MCX_ERR("%s: diameter.peers: a client needs at least one peer", conf_path);
        return 1;
    }
    cfg.diam.relay = false;

    if (mcx_diam_init(&cfg.diam) || mcx_cx_dict_init())
        return 1;
    int rv = fd_disp_app_support(mcx_cx_app, mcx_cx_vendor, 1, 0);
    struct fd_rt_out_hdl *rt = NULL;
    if (!rv)
        rv = fd_rt_out_register(rt_out_cb, NULL, 1, &rt);
    if (rv) {
        MCX_ERR("cannot register the Cx application: %s", strerror(rv));
        return 1;
    }
    if (mcx_diam_start())
        return 1;

    uint64_t t0 = mcx_now_us();
    unsigned open = wait_peers(&cfg);
    MCX_INFO("%u of %u peers open after %llu ms", open, cfg.diam.n_peers,
             (unsigned long long)((mcx_now_us() - t0) / 1000));
    if (!open) {
        MCX_ERR("no Diameter peer became open within %u ms (peers: %s%s); giving up",
                cfg.cx.connect_timeout_ms, cfg.diam.peers[0].identity,
                cfg.diam.n_peers > 1 ? ", ..." : "");
        mcx_diam_final_status(1);
        return 1;
    }
    if (open < cfg.diam.n_peers)
        MCX_WARN("only %u of %u peers are open; sending anyway", open, cfg.diam.n_peers);

    /* The ladder labels us with the first label of our identity. */
    char self[64];
    mcx_strlcpy(self, cfg.diam.identity, sizeof(self));
    char *dot = strchr(self, '.');
    if (dot)
        *dot = '\0';

    run_t r = {
        .cfg = &cfg,
        .self = self,
        .ladder = ladder == 1 ? stdout : ladder == 2 ? stderr : NULL,
        .json = ladder != 1,
        .timeout_ms = cfg.cx.answer_timeout_ms,
    };
    int status = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = '\0';
        size_t skip = strspn(line, " \t");
        if (!line[skip] || line[skip] == '#')
            continue;
        if (run_one(&r, line + skip))
            status = 2;
    }
    free(line);
    fflush(stdout);
    fd_rt_out_unregister(rt, NULL);
    /* Every answer is printed: a freeDiameter abort in shutdown keeps this status. */
    mcx_diam_final_status(status);
    return status;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-dproxy-testpeer: a small Diameter node for testing the proxy on
 * loopback. `server` answers every Cx request with DIAMETER_SUCCESS (after an
 * optional delay, to keep requests pending); `client` sends Cx MARs with
 * chosen routing AVPs and prints one line per answer:
 *   answer <n> rc=<Result-Code> origin=<Origin-Host> ebit=<0|1>
 * then "summary sent=.. answered=.. timeout=..". Not installed.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cx/mcx-diameter-cx.h"

typedef struct {
    const char *dest_realm, *dest_host, *user_name, *public_identity, *route_record;
    unsigned count, interval_ms, timeout_ms, delay_ms;
} tp_opts_t;

static tp_opts_t g_opt;

/* ---------------------------------------------------------------- server */

static int server_cb(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                     enum disp_action *act)
{
    struct msg *ans = *msg;
    MCX_NOTICE("request received");
    if (g_opt.delay_ms)
        usleep(g_opt.delay_ms * 1000u);
    int rv = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, &ans, 0);
    if (rv)
        return rv;
    *msg = NULL;
    rv = mcx_diam_add_vsai(ans, MCX_3GPP_VENDOR_ID, MCX_CX_APP_ID);
    if (!rv)
        rv = mcx_diam_add_u32(ans, mcx_diam_avp_auth_session_state, 1);
    if (!rv)
        rv = fd_msg_rescode_set(ans, "DIAMETER_SUCCESS", NULL, NULL, 1);
    if (!rv)
        rv = fd_msg_send(&ans, NULL, NULL);
    if (rv && ans)
        fd_msg_free(ans);
    *act = DISP_ACT_SEND;
    return 0;
}

static int run_server(void)
{
    struct disp_when w = {.app = mcx_cx_app};
    struct dict_object *cmds[] = {mcx_cx_cmd_mar, mcx_cx_cmd_sar, mcx_cx_cmd_uar,
                                  mcx_cx_cmd_lir};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        w.command = cmds[i];
        int rv = fd_disp_register(server_cb, DISP_HOW_CC, &w, NULL, NULL);
        if (rv)
            return -rv;
    }
    return -fd_disp_app_support(mcx_cx_app, mcx_cx_vendor, 1, 0);
}

/* ---------------------------------------------------------------- client */

static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static unsigned n_answered, n_timeout;

static void print_answer(unsigned n, struct msg *ans)
{
    struct msg_hdr *h;
    struct avp *a;
    struct avp_hdr *ah;
    unsigned rc = 0;
    char origin[256] = "-";
    fd_msg_hdr(ans, &h);
    if (mcx_diam_find(ans, MCX_AVP_RESULT_CODE, 0, &a) == 0 && fd_msg_avp_hdr(a, &ah) == 0 &&
        ah->avp_value)
        rc = ah->avp_value->u32;
    if (mcx_diam_find(ans, MCX_AVP_ORIGIN_HOST, 0, &a) == 0 && fd_msg_avp_hdr(a, &ah) == 0 &&
        ah->avp_value)
        snprintf(origin, sizeof(origin), "%.*s", (int)ah->avp_value->os.len,
                 (const char *)ah->avp_value->os.data);
    printf("answer %u rc=%u origin=%s ebit=%d\n", n, rc, origin,
           (h->msg_flags & CMD_FLAG_ERROR) ? 1 : 0);
    fflush(stdout);
}

static void ans_cb(void *data, struct msg **ans)
{
    print_answer((unsigned)(uintptr_t)data, *ans);
    fd_msg_free(*ans);
    *ans = NULL;
    pthread_mutex_lock(&mtx);
    n_answered++;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&mtx);
}

static void exp_cb(void *data, DiamId_t sentto, size_t senttolen, struct msg **req)
{
    printf("answer %u timeout\n", (unsigned)(uintptr_t)data);
    fflush(stdout);
    fd_msg_free(*req);
    *req = NULL;
    pthread_mutex_lock(&mtx);
    n_timeout++;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&mtx);
}

/*
 * The client's only peer is the proxy: make it the default route. With
 * --route-record naming the proxy, freeDiameter has removed it from the
 * candidates (it never sends into a loop itself); put it back so that the
 * proxy sees a looping request, as a non-freeDiameter sender could send.
 */
static int client_out_cb(void *cbdata, struct msg **pmsg, struct fd_list *candidates)
{
    const char *proxy = cbdata;
    bool found = false;
    for (struct fd_list *li = candidates->next; li != candidates; li = li->next) {
        struct rtd_candidate *c = (struct rtd_candidate *)li;
        c->score += FD_SCORE_DEFAULT;
        found |= c->diamidlen == strlen(proxy) && !strncasecmp(c->diamid, proxy, c->diamidlen);
    }
    if (!found && g_opt.route_record) {
        struct rtd_candidate *c = calloc(1, sizeof(*c));
        if (!c || !(c->diamid = strdup(proxy))) {
            free(c);
            return ENOMEM;
        }
        c->diamidlen = strlen(proxy);
        c->score = FD_SCORE_DEFAULT;
        fd_list_init(&c->chain, c);
        fd_list_insert_before(candidates, &c->chain);
    }
    return 0;
}

static int send_mar(unsigned n)
{
    struct msg *req = NULL;
    struct avp *item;
    int rv = fd_msg_new(mcx_cx_cmd_mar, MSGFL_ALLOC_ETEID, &req);
    if (rv)
        return -rv;
    rv = fd_msg_new_session(req, (os0_t) "dproxy-testpeer", 15);
    if (!rv)
        rv = mcx_diam_add_vsai(req, MCX_3GPP_VENDOR_ID, MCX_CX_APP_ID);
    if (!rv)
        rv = mcx_diam_add_u32(req, mcx_diam_avp_auth_session_state, 1);
    if (!rv)
        rv = fd_msg_add_origin(req, 0);
    if (!rv)
        rv = mcx_diam_add_str(req, mcx_diam_avp_destination_realm, g_opt.dest_realm);
    if (!rv && g_opt.dest_host)
        rv = mcx_diam_add_str(req, mcx_diam_avp_destination_host, g_opt.dest_host);
    if (!rv)
        rv = mcx_diam_add_str(req, mcx_diam_avp_user_name,
                              g_opt.user_name ? g_opt.user_name : "alice@alpha.test");
    if (!rv)
        rv = mcx_diam_add_str(req, mcx_cx_avp_public_identity,
                              g_opt.public_identity ? g_opt.public_identity
                                                    : "sip:alice@alpha.test");
    if (!rv)
        rv = mcx_diam_add_grouped(req, mcx_cx_avp_sip_auth_data_item, &item);
    if (!rv)
        rv = mcx_diam_add_str(item, mcx_cx_avp_sip_authentication_scheme, MCX_CX_SCHEME_AKAV1);
    if (!rv)
        rv = mcx_diam_add_u32(req, mcx_cx_avp_sip_number_auth_items, 1);
    if (!rv)
        rv = mcx_diam_add_str(req, mcx_cx_avp_server_name, "sip:scscf.test:6060");
    if (!rv && g_opt.route_record)
        rv = mcx_diam_add_str(req, mcx_diam_avp_route_record, g_opt.route_record);
    if (rv) {
        fd_msg_free(req);
        return rv < 0 ? rv : -rv;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += g_opt.timeout_ms / 1000;
    ts.tv_nsec += (long)(g_opt.timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    rv = fd_msg_send_timeout(&req, ans_cb, (void *)(uintptr_t)n, exp_cb, &ts);
    if (rv) {
        if (req)
            fd_msg_free(req);
        return -rv;
    }
    return 0;
}

static int wait_open(const char *id, unsigned seconds)
{
    for (unsigned i = 0; i < seconds * 10; i++) {
        struct peer_hdr *p = NULL;
        if (fd_peer_getbyid((DiamId_t)id, strlen(id), 1, &p) == 0 && p &&
            fd_peer_get_state(p) == STATE_OPEN)
            return 0;
        usleep(100000);
    }
    return -ETIMEDOUT;
}

static int run_client(const char *peer_id)
{
    int rv = wait_open(peer_id, 15);
    if (rv) {
        MCX_ERR("peer %s did not open", peer_id);
        return rv;
    }
    for (unsigned n = 1; n <= g_opt.count; n++) {
        rv = send_mar(n);
        if (rv) {
            MCX_ERR("send %u: %s", n, strerror(-rv));
            return rv;
        }
        if (g_opt.interval_ms && n < g_opt.count)
            usleep(g_opt.interval_ms * 1000u);
    }
    pthread_mutex_lock(&mtx);
    while (n_answered + n_timeout < g_opt.count)
        pthread_cond_wait(&cond, &mtx);
    printf("summary sent=%u answered=%u timeout=%u\n", g_opt.count, n_answered, n_timeout);
    rv = n_timeout ? 1 : 0;
    pthread_mutex_unlock(&mtx);
    fflush(stdout);
    return rv;
}

/* ---------------------------------------------------------------- main */

static int parse_peer(const char *s, mcx_diam_peer_t *p)
{
    /* ID@ADDR:PORT */
    const char *at = strchr(s, '@'), *colon = strrchr(s, ':');
    if (!at || !colon || colon < at)
        return -EINVAL;
    snprintf(p->identity, sizeof(p->identity), "%.*s", (int)(at - s), s);
    snprintf(p->address, sizeof(p->address), "%.*s", (int)(colon - at - 1), at + 1);
    p->port = (uint32_t)atoi(colon + 1);
    return p->port ? 0 : -EINVAL;
}

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: mcx-dproxy-testpeer server|client [options]\n"
            "  --identity ID --realm R     this node (required)\n"
            "  --port P                    listen port (0: none; default 0)\n"
            "  --connect ID@ADDR:PORT      a peer to connect to (repeatable)\n"
            "  --accept ID                 a peer allowed to connect (repeatable)\n"
            "  --delay-ms N                server: answer after N ms\n"
            "  --dest-realm R [--dest-host H] [--user-name U] [--public-identity PI]\n"
            "  [--route-record ID] [--count N] [--interval-ms N] [--timeout-ms N]   client\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"identity", required_argument, NULL, 'i'}, {"realm", required_argument, NULL, 'r'},
        {"port", required_argument, NULL, 'p'},     {"connect", required_argument, NULL, 'c'},
        {"accept", required_argument, NULL, 'a'},   {"delay-ms", required_argument, NULL, 'd'},
        {"dest-realm", required_argument, NULL, 'R'}, {"dest-host", required_argument, NULL, 'H'},
        {"user-name", required_argument, NULL, 'u'},
        {"public-identity", required_argument, NULL, 'P'},
        {"route-record", required_argument, NULL, 'x'}, {"count", required_argument, NULL, 'n'},
        {"interval-ms", required_argument, NULL, 'I'},
        {"timeout-ms", required_argument, NULL, 'T'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    bool server = !strcmp(argv[1], "server");
    if (!server && strcmp(argv[1], "client")) {
        usage(stderr);
        return 2;
    }
    mcx_diam_config_t *cfg = calloc(1, sizeof(*cfg));
    char err[256];
    if (!cfg || mcx_conf_apply_defaults(mcx_diam_conf_fields, cfg, err, sizeof(err)))
        return 1;
    cfg->port = 0;
    cfg->app_threads = 16; /* fD 1.2.1 aborts at shutdown (fifo.c:192) with many more */
    cfg->tw_timer = 6;
    cfg->tc_timer = 1;
    g_opt.count = 1;
    g_opt.timeout_ms = 10000;
    int ch;
    optind = 2;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'i': mcx_strlcpy(cfg->identity, optarg, sizeof(cfg->identity)); break;
        case 'r': mcx_strlcpy(cfg->realm, optarg, sizeof(cfg->realm)); break;
        case 'p': cfg->port = (uint32_t)atoi(optarg); break;
        case 'c':
            if (cfg->n_peers >= MCX_DIAM_MAX_PEERS || parse_peer(optarg, &cfg->peers[cfg->n_peers])) {
                fprintf(stderr, "bad --connect %s\n", optarg);
                return 2;
            }
            cfg->n_peers++;
            break;
        case 'a':
            if (cfg->n_accept >= MCX_DIAM_MAX_ACCEPT)
                return 2;
            mcx_strlcpy(cfg->accept[cfg->n_accept++], optarg, MCX_DIAM_NAME_MAX);
            break;
        case 'd': g_opt.delay_ms = (unsigned)atoi(optarg); break;
        case 'R': g_opt.dest_realm = optarg; break;
        case 'H': g_opt.dest_host = optarg; break;
        case 'u': g_opt.user_name = optarg; break;
        case 'P': g_opt.public_identity = optarg; break;
        case 'x': g_opt.route_record = optarg; break;
        case 'n': g_opt.count = (unsigned)atoi(optarg); break;
        case 'I': g_opt.interval_ms = (unsigned)atoi(optarg); break;
        case 'T': g_opt.timeout_ms = (unsigned)atoi(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!server && (!g_opt.dest_realm || cfg->n_peers != 1)) {
        fprintf(stderr, "client needs --dest-realm and exactly one --connect\n");
        return 2;
    }
    mcx_log_init(server ? "testpeer-server" : "testpeer-client", MCX_LOG_NOTICE);
    int rv = mcx_signals_block();
    if (!rv)
        rv = mcx_diam_init(cfg);
    if (!rv)
        rv = mcx_cx_dict_init();
    if (!rv)
        rv = server ? run_server() : -fd_rt_out_register(client_out_cb, cfg->peers[0].identity, 1, NULL);
    if (!rv)
        rv = mcx_diam_start();
    int rc = 1;
    if (!rv) {
        if (server) {
            MCX_NOTICE("%s serving Cx on port %u", cfg->identity, cfg->port);
            mcx_signals_wait();
            rc = 0;
        } else {
            rc = run_client(cfg->peers[0].identity) ? 1 : 0;
        }
    }
    mcx_diam_final();
    free(cfg);
    return rc;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-cx-load: the Cx load generator of the benchmarks. One freeDiameter
 * client (lib/diameter, the Cx dictionary) keeps a window of IMS AKA MARs
 * outstanding towards its configured peer, times each one with mcx_now_us,
 * and prints one JSON line: requests, ok (Result-Code 2001 only), errors,
 * seconds, answers per second and p50/p99 latency.
 *
 * Threading: main sends; freeDiameter's threads run the answer and expiry
 * callbacks, which only touch their own request's slot, atomics and the
 * window semaphore.
 */
#include "cx/mcx-diameter-cx.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    mcx_diam_config_t diameter;
} load_config_t;

static const mcx_conf_field_t top_fields[] = {
    {.key = "diameter",
     .type = MCX_CONF_MAP,
     .offset = offsetof(load_config_t, diameter),
     .sub = mcx_diam_conf_fields,
     .required = true},
    {0},
};

typedef struct {
    const char *impi, *impu, *realm, *server_name;
    unsigned requests, window, warmup, timeout_ms, ready_ms;
} load_opts_t;

typedef struct phase_s phase_t;

/* One request: what its callbacks need. */
typedef struct {
    phase_t *ph;
    uint64_t t0;     /* send time, us */
    uint32_t lat_us; /* answer latency; valid when answered */
    bool answered;
} slot_t;

struct phase_s {
    unsigned n;
    slot_t *slots;
    sem_t window;
    atomic_uint done, ok, errors, timeouts;
    atomic_uint first_error; /* first non-2001 code seen (Experimental: +100000) */
    atomic_uint_fast64_t t_end;
    pthread_mutex_t lock;
    pthread_cond_t cond;
};

/* Result-Code, or 100000 + Experimental-Result-Code, or 0 when neither is there. */
static unsigned answer_code(struct msg *ans)
{
    struct avp *a, *e;
    const union avp_value *v;
    if (mcx_diam_find(ans, MCX_AVP_RESULT_CODE, 0, &a) == 0 && (v = mcx_diam_value(a)))
        return v->u32;
    if (mcx_diam_find(ans, MCX_AVP_EXPERIMENTAL_RESULT, 0, &a) == 0 &&
        mcx_diam_find(a, MCX_AVP_EXPERIMENTAL_RESULT_CODE, 0, &e) == 0 && (v = mcx_diam_value(e)))
        return 100000 + v->u32;
    return 0;
}

static void finish(phase_t *ph, unsigned code)
{
    if (code != MCX_DIAM_SUCCESS) {
        unsigned none = 0;
        atomic_fetch_add(&ph->errors, 1);
        atomic_compare_exchange_strong(&ph->first_error, &none, code ? code : 1);
    } else {
        atomic_fetch_add(&ph->ok, 1);
    }
    sem_post(&ph->window);
    if (atomic_fetch_add(&ph->done, 1) + 1 == ph->n) {
        atomic_store(&ph->t_end, mcx_now_us());
        pthread_mutex_lock(&ph->lock);
        pthread_cond_signal(&ph->cond);
        pthread_mutex_unlock(&ph->lock);
    }
}

static void answer_cb(void *data, struct msg **msg)
{
    slot_t *s = data;
    uint64_t now = mcx_now_us();
    unsigned code = answer_code(*msg);
    fd_msg_free(*msg); /* the request goes with it */
    *msg = NULL;
    s->lat_us = (uint32_t)(now - s->t0);
    s->answered = true;
    finish(s->ph, code);
}

static void expire_cb(void *data, DiamId_t sentto, size_t senttolen, struct msg **req)
{
    slot_t *s = data;
    fd_msg_free(*req);
    *req = NULL;
    atomic_fetch_add(&s->ph->timeouts, 1);
    finish(s->ph, 2); /* "2": no answer in time */
}

/* A MAR as a Kamailio S-CSCF sends it for a first REGISTER with IMS AKA. */
static int build_mar(const load_opts_t *o, struct msg **out)
{
    static const char opt[] = "bench";
    struct msg *m = NULL;
    struct avp *item = NULL;
    int rv = fd_msg_new(mcx_cx_cmd_mar, MSGFL_ALLOC_ETEID, &m);
    if (rv)
        return -rv;
    rv = -fd_msg_new_session(m, (os0_t)opt, sizeof(opt) - 1);
    if (!rv)
        rv = mcx_diam_add_vsai(m, MCX_3GPP_VENDOR_ID, MCX_CX_APP_ID);
    if (!rv)
        rv = mcx_diam_add_i32(m, mcx_diam_avp_auth_session_state, 1);
    if (!rv)
        rv = -fd_msg_add_origin(m, 0);
    if (!rv)
        rv = mcx_diam_add_str(m, mcx_diam_avp_destination_realm, o->realm);
    if (!rv)
        rv = mcx_diam_add_str(m, mcx_diam_avp_user_name, o->impi);
    if (!rv)
        rv = mcx_diam_add_str(m, mcx_cx_avp_public_identity, o->impu);
    if (!rv)
        rv = mcx_diam_add_u32(m, mcx_cx_avp_sip_number_auth_items, 1);
    if (!rv)
        rv = mcx_diam_add_grouped(m, mcx_cx_avp_sip_auth_data_item, &item);
    if (!rv)
        rv = mcx_diam_add_str(item, mcx_cx_avp_sip_authentication_scheme, MCX_CX_SCHEME_AKAV1);
    if (!rv)
        rv = mcx_diam_add_str(m, mcx_cx_avp_server_name, o->server_name);
    if (rv) {
        fd_msg_free(m);
        return rv;
    }
    *out = m;
    return 0;
}

static phase_t *phase_new(unsigned n, unsigned window)
{
    phase_t *ph = calloc(1, sizeof(*ph));
    if (!ph)
        return NULL;
    ph->slots = calloc(n, sizeof(slot_t));
    if (!ph->slots || sem_init(&ph->window, 0, window)) {
        free(ph->slots);
        free(ph);
        return NULL;
    }
    ph->n = n;
    pthread_mutex_init(&ph->lock, NULL);
    pthread_cond_init(&ph->cond, NULL);
    for (unsigned i = 0; i < n; i++)
        ph->slots[i].ph = ph;
    return ph;
}

static void phase_free(phase_t *ph)
{
    sem_destroy(&ph->window);
    pthread_mutex_destroy(&ph->lock);
    pthread_cond_destroy(&ph->cond);
    free(ph->slots);
    free(ph);
}

/*
 * Send ph->n MARs keeping at most `window` outstanding; wait for every
 * answer or expiry. Returns 0, or -ETIMEDOUT if freeDiameter did not call
 * back in time (the phase must then be leaked: callbacks may still come).
 */
static int phase_run(phase_t *ph, const load_opts_t *o, uint64_t *t_start)
{
    *t_start = mcx_now_us();
    for (unsigned i = 0; i < ph->n; i++) {
        while (sem_wait(&ph->window) && errno == EINTR)
            ;
        struct msg *m = NULL;
        int rv = build_mar(o, &m);
        if (rv) {
            MCX_ERR("cannot build a MAR: %s", strerror(-rv));
            finish(ph, 0);
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += o->timeout_ms / 1000;
        ts.tv_nsec += (long)(o->timeout_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        slot_t *s = &ph->slots[i];
        s->t0 = mcx_now_us();
        rv = fd_msg_send_timeout(&m, answer_cb, s, expire_cb, &ts);
        if (rv) {
            MCX_ERR("cannot send a MAR: %s", strerror(rv));
            if (m)
                fd_msg_free(m);
            finish(ph, 0);
        }
    }
    /* Expiry callbacks come at the deadline; allow freeDiameter's timer some slack. */
    struct timespec hard;
    clock_gettime(CLOCK_REALTIME, &hard);
    hard.tv_sec += o->timeout_ms / 1000 + 10;
    pthread_mutex_lock(&ph->lock);
    while (atomic_load(&ph->done) < ph->n) {
        if (pthread_cond_timedwait(&ph->cond, &ph->lock, &hard) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&ph->lock);
    return atomic_load(&ph->done) < ph->n ? -ETIMEDOUT : 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of the sorted `v` of `k` values. */
static uint32_t percentile(const uint32_t *v, size_t k, unsigned p)
{
    if (!k)
        return 0;
    size_t rank = (k * p + 99) / 100;
    return v[rank ? rank - 1 : 0];
}

static void print_result(const phase_t *ph, const load_opts_t *o, uint64_t t_start)
{
    uint32_t *lat = malloc((ph->n ? ph->n : 1) * sizeof(uint32_t));
    size_t k = 0;
    for (unsigned i = 0; lat && i < ph->n; i++)
        if (ph->slots[i].answered)
            lat[k++] = ph->slots[i].lat_us;
    if (lat)
        qsort(lat, k, sizeof(uint32_t), cmp_u32);
    uint64_t t_end = atomic_load(&ph->t_end);
    double secs = (t_end > t_start ? t_end - t_start : 1) / 1e6;
    unsigned ok = atomic_load(&ph->ok);
    printf("{\"requests\":%u,\"ok\":%u,\"errors\":%u,\"timeouts\":%u,\"first_error\":%u,"
           "\"window\":%u,\"seconds\":%.4f,\"rps\":%.1f,\"p50_us\":%u,\"p99_us\":%u}\n",
           ph->n, ok, atomic_load(&ph->errors), atomic_load(&ph->timeouts),
           atomic_load(&ph->first_error), o->window, secs, ok / secs,
           lat ? percentile(lat, k, 50) : 0, lat ? percentile(lat, k, 99) : 0);
    fflush(stdout);
    free(lat);
}

/* Send everything to the configured peer, whatever its realm (as mcx-cxtool). */
static int rt_out_cb(void *cbdata, struct msg **pmsg, struct fd_list *candidates)
{
    for (struct fd_list *li = candidates->next; li != candidates; li = li->next)
        ((struct rtd_candidate *)li)->score += FD_SCORE_DEFAULT;
    return 0;
}

static bool peers_open(const mcx_diam_config_t *d)
{
    for (unsigned i = 0; i < d->n_peers; i++) {
        struct peer_hdr *ph = NULL;
        if (fd_peer_getbyid((DiamId_t)d->peers[i].identity, strlen(d->peers[i].identity), 0, &ph) ||
            !ph || fd_peer_get_state(ph) != STATE_OPEN)
            return false;
    }
    return true;
}

/*
 * Ready: the peer is open and one MAR came back 2001 (behind a proxy, the
 * proxy's own peers may still be connecting). Returns 0 or -ETIMEDOUT.
 */
static int wait_ready(const load_config_t *cfg, const load_opts_t *o, unsigned *probes)
{
    uint64_t deadline = mcx_now_us() + (uint64_t)o->ready_ms * 1000;
    while (!peers_open(&cfg->diameter)) {
        if (mcx_now_us() >= deadline) {
            MCX_ERR("peer %s did not open within %u ms", cfg->diameter.peers[0].identity,
                    o->ready_ms);
            return -ETIMEDOUT;
        }
        usleep(10000);
    }
    unsigned last = 0;
    for (*probes = 1;; (*probes)++) {
        phase_t *ph = phase_new(1, 1);
        uint64_t t0;
        if (!ph)
            return -ENOMEM;
        if (phase_run(ph, o, &t0))
            return -ETIMEDOUT; /* ph leaked on purpose */
        bool ok = atomic_load(&ph->ok) == 1;
        last = atomic_load(&ph->first_error);
        phase_free(ph);
        if (ok)
            return 0;
        if (mcx_now_us() >= deadline) {
            MCX_ERR("no MAR was answered 2001 within %u ms (last: %u)", o->ready_ms, last);
            return -ETIMEDOUT;
        }
        usleep(50000);
    }
}

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: mcx-cx-load -c FILE.yaml --impi IMPI --impu IMPU --realm REALM\n"
                "                   [--requests N] [--window W] [--warmup N] [--timeout-ms MS]\n"
                "                   [--ready-ms MS] [--server-name URI]\n"
                "\n"
                "Cx load generator: connects to the peer of the `diameter:` section, waits\n"
                "until a MAR is answered 2001, sends --warmup MARs, then N MARs (IMS AKA,\n"
                "one vector) keeping W outstanding, and prints one JSON line:\n"
                "  {\"requests\",\"ok\",\"errors\",\"timeouts\",\"first_error\",\"window\",\n"
                "   \"seconds\",\"rps\",\"p50_us\",\"p99_us\"}\n"
                "ok counts answers with Result-Code 2001 only; rps = ok / seconds;\n"
                "latencies are over all answers; first_error is the first other code\n"
                "(100000 + Experimental-Result-Code, 2 = timeout, 1 = not sent).\n"
                "\n"
                "  --requests N      measured requests (default 10000)\n"
                "  --window W        requests outstanding at once (default 32)\n"
                "  --warmup N        unmeasured requests first (default 500)\n"
                "  --realm REALM     Destination-Realm\n"
                "  --impi, --impu    User-Name and Public-Identity\n"
                "  --server-name URI Server-Name (default sip:scscf.<realm>:6060)\n"
                "  --timeout-ms MS   answer timeout per request (default 5000)\n"
                "  --ready-ms MS     time to get the first 2001 (default 15000)\n"
                "\n"
                "Exit status: 0 measured (errors are in the JSON); 1 usage, configuration or\n"
                "  not ready; 3 answers still missing long after their timeout.\n");
}

static int parse_uint(const char *name, const char *s, unsigned min, unsigned max, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || !*s || v < min || v > max) {
        fprintf(stderr, "mcx-cx-load: --%s: expected %u..%u\n", name, min, max);
        return -EINVAL;
    }
    *out = (unsigned)v;
    return 0;
}

int main(int argc, char **argv)
{
    enum { O_REQ = 256, O_WIN, O_WARM, O_IMPI, O_IMPU, O_REALM, O_SN, O_TMO, O_READY };
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"requests", required_argument, NULL, O_REQ},
        {"window", required_argument, NULL, O_WIN},
        {"warmup", required_argument, NULL, O_WARM},
        {"impi", required_argument, NULL, O_IMPI},
        {"impu", required_argument, NULL, O_IMPU},
        {"realm", required_argument, NULL, O_REALM},
        {"server-name", required_argument, NULL, O_SN},
        {"timeout-ms", required_argument, NULL, O_TMO},
        {"ready-ms", required_argument, NULL, O_READY},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    load_opts_t o = {
        .requests = 10000, .window = 32, .warmup = 500, .timeout_ms = 5000, .ready_ms = 15000};
    const char *path = NULL;
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case O_REQ:
            bad |= parse_uint("requests", optarg, 1, 10000000, &o.requests);
            break;
        case O_WIN:
            bad |= parse_uint("window", optarg, 1, 4096, &o.window);
            break;
        case O_WARM:
            bad |= parse_uint("warmup", optarg, 0, 10000000, &o.warmup);
            break;
        case O_IMPI:
            o.impi = optarg;
            break;
        case O_IMPU:
            o.impu = optarg;
            break;
        case O_REALM:
            o.realm = optarg;
            break;
        case O_SN:
            o.server_name = optarg;
            break;
        case O_TMO:
            bad |= parse_uint("timeout-ms", optarg, 1, 600000, &o.timeout_ms);
            break;
        case O_READY:
            bad |= parse_uint("ready-ms", optarg, 1, 600000, &o.ready_ms);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (bad || !path || !o.impi || !o.impu || !o.realm || optind != argc) {
        usage(stderr);
        return 1;
    }
    char sn[MCX_DIAM_NAME_MAX + 32];
    if (!o.server_name) {
        snprintf(sn, sizeof(sn), "sip:scscf.%s:6060", o.realm);
        o.server_name = sn;
    }
    mcx_log_init("mcx-cx-load", MCX_LOG_WARN);

    static load_config_t cfg;
    char err[600];
    if (mcx_conf_load_file(path, top_fields, &cfg, err, sizeof(err))) {
        MCX_ERR("%s", err);
        return 1;
    }
    if (cfg.diameter.n_peers == 0) {
        MCX_ERR("%s: diameter.peers: the load generator needs its target as a peer", path);
        return 1;
    }
    cfg.diameter.relay = false;
    if (mcx_diam_init(&cfg.diameter) || mcx_cx_dict_init())
        return 1;
    struct fd_rt_out_hdl *rt = NULL;
    int rv = fd_disp_app_support(mcx_cx_app, mcx_cx_vendor, 1, 0);
    if (!rv)
        rv = fd_rt_out_register(rt_out_cb, NULL, 1, &rt);
    if (rv) {
        MCX_ERR("cannot register the Cx application: %s", strerror(rv));
        return 1;
    }
    if (mcx_diam_start())
        return 1;

    int status = 0;
    unsigned probes = 0;
    if (wait_ready(&cfg, &o, &probes)) {
        status = 1;
        goto out;
    }
    uint64_t t0;
    if (o.warmup) {
        phase_t *w = phase_new(o.warmup, o.window);
        if (!w || phase_run(w, &o, &t0)) {
            MCX_ERR("warm-up did not complete");
            status = 3;
            goto out;
        }
        if (atomic_load(&w->errors))
            MCX_WARN("warm-up: %u of %u MARs failed (first code %u)", atomic_load(&w->errors),
                     o.warmup, atomic_load(&w->first_error));
        phase_free(w);
    }
    phase_t *ph = phase_new(o.requests, o.window);
    if (!ph) {
        status = 1;
        goto out;
    }
    if (phase_run(ph, &o, &t0)) {
        MCX_ERR("%u of %u MARs neither answered nor expired", o.requests - atomic_load(&ph->done),
                o.requests);
        status = 3;
        goto out;
    }
    print_result(ph, &o, t0);
    phase_free(ph);

out:
    fd_rt_out_unregister(rt, NULL);
    mcx_diam_final();
    return status;
}

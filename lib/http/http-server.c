/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-http server: libmicrohttpd with its own polling thread and a worker
 * pool. Each request is read completely into one bounded buffer, then the
 * daemon's handler runs once; /healthz and /metrics are answered here, and
 * every answer is counted per status code for /metrics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http-private.h"
#include "mcx-http.h"

#define HTTP_STATUS_MIN 100
#define HTTP_STATUS_MAX 599
#define HTTP_METRICS_BUF 65536

struct mcx_http_server {
    struct MHD_Daemon *mhd;
    char name[64];
    size_t max_body;
    unsigned port;
    mcx_http_handler_fn handler;
    mcx_http_metrics_fn metrics;
    void *ud;
    atomic_uint_fast64_t by_code[HTTP_STATUS_MAX - HTTP_STATUS_MIN + 1];
    atomic_uint_fast64_t too_large;
    atomic_uint_fast64_t malformed;
};

#define O(f) offsetof(mcx_http_conf_t, f)
const mcx_conf_field_t mcx_http_conf_fields[] = {
    {.key = "listen", .type = MCX_CONF_STRING, .offset = O(listen),
     .size = sizeof(((mcx_http_conf_t *)0)->listen), .def = "127.0.0.1",
     .help = "address to bind (numeric IPv4 or IPv6, or a host name)"},
    {.key = "port", .type = MCX_CONF_UINT, .offset = O(port), .def = "0", .min = 0,
     .max = 65535, .help = "TCP port; 0 picks a free one"},
    {.key = "threads", .type = MCX_CONF_UINT, .offset = O(threads), .def = "4", .min = 1,
     .max = 64, .help = "worker threads"},
    {.key = "max_body", .type = MCX_CONF_UINT, .offset = O(max_body), .def = "1048576",
     .min = 1024, .max = 67108864, .help = "largest request body in bytes; larger gets 413"},
    {.key = "timeout_s", .type = MCX_CONF_UINT, .offset = O(timeout_s), .def = "30",
     .min = 1, .max = 3600, .help = "idle connection timeout in seconds"},
    {0},
};
#undef O

/* A peer-chosen string made fit for one log line: printable ASCII, at most 80. */
static const char *log_safe(const char *in, char *out, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; in && in[i] && o + 4 < len && i < 80; i++) {
        unsigned char c = (unsigned char)in[i];
        out[o++] = (c < 0x20 || c > 0x7e) ? '?' : (char)c;
    }
    if (in && strlen(in) > 80 && o + 4 < len) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

/* ---- per-request state -------------------------------------------------- */

static void req_free(http_req_state_t *st)
{
    if (!st)
        return;
    free(st->raw_url);
    free(st->body);
    for (unsigned i = 0; i < st->n_form; i++) {
        free(st->form[i].name);
        free(st->form[i].value);
    }
    free(st->form);
    free(st->bearer);
    free(st->resp.body);
    free(st->resp.ctype);
    for (unsigned i = 0; i < st->resp.n_headers; i++) {
        free(st->resp.headers[i].name);
        free(st->resp.headers[i].value);
    }
    free(st->resp.headers);
    free(st);
}

static void *uri_log_cb(void *cls, const char *uri, struct MHD_Connection *conn)
{
    http_req_state_t *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->raw_url = strdup(uri ? uri : "");
    if (!st->raw_url) {
        free(st);
        return NULL;
    }
    return st;
}

static void client_addr(struct MHD_Connection *conn, char *out, size_t len);

static void completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    mcx_http_server_t *srv = cls;
    http_req_state_t *st = *con_cls;
    /* A request that never reached the access handler but was answered:
     * libmicrohttpd refused it as malformed (400 and friends). */
    if (st && !st->started &&
        (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK || toe == MHD_REQUEST_TERMINATED_WITH_ERROR)) {
        char addr[80];
        client_addr(conn, addr, sizeof(addr));
        atomic_fetch_add_explicit(&srv->malformed, 1, memory_order_relaxed);
        char target[96];
        MCX_NOTICE("http: malformed request from %s refused (target %s)", addr,
                   log_safe(st->raw_url, target, sizeof(target)));
    }
    req_free(*con_cls);
    *con_cls = NULL;
}

static void client_addr(struct MHD_Connection *conn, char *out, size_t len)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET) {
            const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
            port = ntohs(in->sin_port);
        } else if (sa->sa_family == AF_INET6) {
            const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
            port = ntohs(in6->sin6_port);
            snprintf(out, len, "[%s]:%u", host, port);
            return;
        }
    }
    snprintf(out, len, "%s:%u", host, port);
}

/* ---- answering ---------------------------------------------------------- */

static void count(mcx_http_server_t *srv, unsigned status)
{
    if (status >= HTTP_STATUS_MIN && status <= HTTP_STATUS_MAX)
        atomic_fetch_add_explicit(&srv->by_code[status - HTTP_STATUS_MIN], 1,
                                  memory_order_relaxed);
}

/* Queue `r`; the body is handed to MHD (freed by it). */
static enum MHD_Result send_resp(mcx_http_server_t *srv, struct MHD_Connection *conn,
                                 struct mcx_http_resp *r, bool close)
{
    struct MHD_Response *mr =
        MHD_create_response_from_buffer(r->len, r->body ? r->body : (void *)"",
                                        r->body ? MHD_RESPMEM_MUST_FREE
                                                : MHD_RESPMEM_PERSISTENT);
    if (!mr)
        return MHD_NO;
    r->body = NULL; /* now MHD's */
    if (r->ctype)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
    for (unsigned i = 0; i < r->n_headers; i++)
        MHD_add_response_header(mr, r->headers[i].name, r->headers[i].value);
    if (close)
        MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result rv = MHD_queue_response(conn, r->status, mr);
    MHD_destroy_response(mr);
    if (rv == MHD_YES)
        count(srv, r->status);
    return rv;
}

static enum MHD_Result send_text(mcx_http_server_t *srv, struct MHD_Connection *conn,
                                 unsigned status, const char *text, bool close)
{
    struct mcx_http_resp r = {0};
    if (mcx_http_reply(&r, status, "text/plain; charset=utf-8", text, strlen(text)))
        return MHD_NO;
    enum MHD_Result rv = send_resp(srv, conn, &r, close);
    free(r.body);
    free(r.ctype);
    return rv;
}

static enum MHD_Result send_too_large(mcx_http_server_t *srv, struct MHD_Connection *conn,
                                      const char *method, const char *path)
{
    char addr[80];
    client_addr(conn, addr, sizeof(addr));
    atomic_fetch_add_explicit(&srv->too_large, 1, memory_order_relaxed);
    char m[96], p[96];
    MCX_NOTICE("http: %s %s from %s refused: body larger than %zu bytes (413)",
               log_safe(method, m, sizeof(m)), log_safe(path, p, sizeof(p)), addr,
               srv->max_body);
    return send_text(srv, conn, 413, "request body too large\n", true);
}

static enum MHD_Result send_metrics(mcx_http_server_t *srv, struct MHD_Connection *conn)
{
    char *buf = malloc(HTTP_METRICS_BUF);
    if (!buf)
        return send_text(srv, conn, 500, "out of memory\n", false);
    size_t n = 0;
    n += (size_t)snprintf(buf + n, HTTP_METRICS_BUF - n,
                          "# TYPE %s_http_requests_total counter\n", srv->name);
    for (unsigned c = HTTP_STATUS_MIN; c <= HTTP_STATUS_MAX; c++) {
        uint64_t v = atomic_load_explicit(&srv->by_code[c - HTTP_STATUS_MIN],
                                          memory_order_relaxed);
        if (v && n < HTTP_METRICS_BUF)
            n += (size_t)snprintf(buf + n, HTTP_METRICS_BUF - n,
                                  "%s_http_requests_total{code=\"%u\"} %llu\n", srv->name, c,
                                  (unsigned long long)v);
    }
    if (n < HTTP_METRICS_BUF)
        n += (size_t)snprintf(buf + n, HTTP_METRICS_BUF - n,
                              "# TYPE %s_http_request_body_too_large_total counter\n"
                              "%s_http_request_body_too_large_total %llu\n",
                              srv->name, srv->name,
                              (unsigned long long)atomic_load_explicit(&srv->too_large,
                                                                       memory_order_relaxed));
    if (n < HTTP_METRICS_BUF)
        n += (size_t)snprintf(buf + n, HTTP_METRICS_BUF - n,
                              "# TYPE %s_http_requests_malformed_total counter\n"
                              "%s_http_requests_malformed_total %llu\n",
                              srv->name, srv->name,
                              (unsigned long long)atomic_load_explicit(&srv->malformed,
                                                                       memory_order_relaxed));
    if (n >= HTTP_METRICS_BUF)
        n = HTTP_METRICS_BUF - 1;
    if (srv->metrics && n < HTTP_METRICS_BUF - 1) {
        size_t room = HTTP_METRICS_BUF - 1 - n;
        size_t w = srv->metrics(srv->ud, buf + n, room);
        n += w > room ? room : w;
    }
    struct mcx_http_resp r = {.status = 200, .body = buf, .len = n};
    r.ctype = strdup("text/plain; version=0.0.4");
    enum MHD_Result rv = send_resp(srv, conn, &r, false);
    free(r.body);
    free(r.ctype);
    return rv;
}

/* ---- the access handler ------------------------------------------------- */

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    mcx_http_server_t *srv = cls;
    http_req_state_t *st = *con_cls;

    if (!st) /* the URI log callback could not allocate */
        return MHD_NO;

    if (!st->started) {
        st->started = true;
        st->conn = conn;
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(cl, &end, 10);
            if (errno || end == cl || *end || v > srv->max_body) {
                st->refused = true;
                return send_too_large(srv, conn, method, url);
            }
            st->expect_len = (size_t)v;
        }
        return MHD_YES;
    }

    if (st->refused) { /* answer queued on the first call; drop what still comes */
        *upload_data_size = 0;
        return MHD_YES;
    }

    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (st->too_large) {
            /* Chunked body past the limit: libmicrohttpd 0.9 only lets us
             * answer once the upload ends, so the rest is read and dropped
             * (never stored), up to a bound; past it the connection is cut. */
            st->discarded += n;
            if (st->discarded > 2 * srv->max_body + 65536) {
                char addr[80];
                client_addr(conn, addr, sizeof(addr));
                atomic_fetch_add_explicit(&srv->too_large, 1, memory_order_relaxed);
                char m[96], p[96];
                MCX_NOTICE("http: %s %s from %s refused: body larger than %zu bytes keeps "
                           "coming, connection closed",
                           log_safe(method, m, sizeof(m)), log_safe(url, p, sizeof(p)), addr,
                           srv->max_body);
                return MHD_NO;
            }
            return MHD_YES;
        }
        if (n > srv->max_body - st->body_len) {
            st->too_large = true;
            free(st->body);
            st->body = NULL;
            st->discarded = st->body_len + n;
            st->body_len = 0;
            return MHD_YES;
        }
        if (!st->body) {
            /* One allocation of the announced size when known, else grow. */
            st->body_cap = (st->expect_len > n ? st->expect_len : n) + 1;
            st->body = malloc(st->body_cap);
            if (!st->body)
                return MHD_NO;
        } else if (st->body_len + n + 1 > st->body_cap) {
            size_t cap = st->body_cap * 2;
            if (cap < st->body_len + n + 1)
                cap = st->body_len + n + 1;
            if (cap > srv->max_body + 1)
                cap = srv->max_body + 1;
            char *nb = realloc(st->body, cap);
            if (!nb)
                return MHD_NO;
            st->body = nb;
            st->body_cap = cap;
        }
        memcpy(st->body + st->body_len, upload_data, n);
        st->body_len += n;
        st->body[st->body_len] = '\0';
        return MHD_YES;
    }

    /* The request is complete. */
    if (st->too_large)
        return send_too_large(srv, conn, method, url);

    if (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) {
        if (strcmp(url, "/healthz") == 0)
            return send_text(srv, conn, 200, "ok\n", false);
        if (strcmp(url, "/metrics") == 0)
            return send_metrics(srv, conn);
    }

    char addr[80];
    client_addr(conn, addr, sizeof(addr));
    mcx_http_req_t req = {
        .method = method,
        .path = url,
        .url = st->raw_url,
        .body = st->body ? st->body : "",
        .body_len = st->body_len,
        .client = addr,
        .priv = st,
    };
    srv->handler(srv->ud, &req, &st->resp);
    if (st->resp.status < HTTP_STATUS_MIN || st->resp.status > HTTP_STATUS_MAX) {
        char m[96], p[96];
        MCX_ERR("http: handler set no reply for %s %s from %s, answering 500",
                log_safe(method, m, sizeof(m)), log_safe(url, p, sizeof(p)), addr);
        return send_text(srv, conn, 500, "internal error\n", false);
    }
    return send_resp(srv, conn, &st->resp, false);
}

static void mhd_logger(void *cls, const char *fm, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof(line), fm, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    /* libmicrohttpd's own words, without the client: detail for debugging.
     * The refusal itself is logged at NOTICE by completed_cb. */
    MCX_INFO("http: libmicrohttpd: %s", line);
}

/* ---- lifecycle ---------------------------------------------------------- */

mcx_http_server_t *mcx_http_start(const mcx_http_conf_t *conf, const char *name,
                                  mcx_http_handler_fn handler, mcx_http_metrics_fn metrics,
                                  void *ud, char *err, size_t errlen)
{
    if (!conf || !name || !handler) {
        snprintf(err, errlen, "http: missing configuration, name or handler");
        return NULL;
    }
    if (conf->max_body == 0 || conf->threads == 0 || conf->threads > 64 ||
        conf->port > 65535) {
        snprintf(err, errlen, "http: bad configuration (threads 1..64, max_body > 0)");
        return NULL;
    }

    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
    struct addrinfo *ai = NULL;
    char port[8];
    snprintf(port, sizeof(port), "%u", conf->port);
    int g = getaddrinfo(conf->listen[0] ? conf->listen : "127.0.0.1", port, &hints, &ai);
    if (g || !ai) {
        snprintf(err, errlen, "http: listen address '%s': %s", conf->listen,
                 g ? gai_strerror(g) : "no address");
        return NULL;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    int family = ai->ai_family;
    freeaddrinfo(ai);

    mcx_http_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv) {
        snprintf(err, errlen, "http: out of memory");
        return NULL;
    }
    mcx_strlcpy(srv->name, name, sizeof(srv->name));
    srv->max_body = conf->max_body;
    srv->handler = handler;
    srv->metrics = metrics;
    srv->ud = ud;

    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;
    srv->mhd = MHD_start_daemon(
        flags, (uint16_t)conf->port, NULL, NULL, access_cb, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, srv,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(conf->threads > 1 ? conf->threads : 0),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)conf->timeout_s,
        MHD_OPTION_URI_LOG_CALLBACK, uri_log_cb, srv,
        MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv,
        MHD_OPTION_END);
    if (!srv->mhd) {
        snprintf(err, errlen, "http: cannot listen on %s port %u: %s", conf->listen,
                 conf->port, errno ? strerror(errno) : "libmicrohttpd refused to start");
        free(srv);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = di ? di->port : conf->port;
    MCX_INFO("http: %s listening on %s port %u (%u threads, max body %u bytes)", name,
             conf->listen, srv->port, conf->threads, conf->max_body);
    return srv;
}

unsigned mcx_http_port(const mcx_http_server_t *srv)
{
    return srv ? srv->port : 0;
}

void mcx_http_stop(mcx_http_server_t *srv)
{
    if (!srv)
        return;
    if (srv->mhd)
        MHD_stop_daemon(srv->mhd);
    free(srv);
}

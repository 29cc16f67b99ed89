/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * lib/http against a real server on 127.0.0.1, port 0, driven with libcurl:
 * what the handler sees (method, path, query, body, form fields with their
 * counts), 413 before the handler, /healthz, /metrics, bearer parsing and
 * RFC 6750 WWW-Authenticate text, 500 when the handler sets no reply.
 */
#include <curl/curl.h>
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mcx-http.h"

/* What the handler saw last (requests are sequential in these tests). */
static struct {
    pthread_mutex_t lock;
    unsigned calls;
    char method[16], path[256], url[256], body[4096];
    size_t body_len;
    char q_x[64], q_y[64];
    bool has_q_x;
    unsigned q_state_n; /* how often "state" is in the query */
    bool q_state_null;
    char q_state[16];
    char hdr[64];
    char form[8][64];
    bool form_null[8];
    unsigned form_count[8];
    char bearer[256];
    bool bearer_null;
    char client[80];
} seen = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const char *const form_names[8] = {"n", "s", "e", "flag", "missing", "sp ace", "u", "z"};

static void cp(char *dst, size_t len, const char *src)
{
    mcx_strlcpy(dst, src ? src : "", len);
}

static void handler(void *ud, const mcx_http_req_t *req, mcx_http_resp_t *resp)
{
    pthread_mutex_lock(&seen.lock);
    seen.calls++;
    cp(seen.method, sizeof(seen.method), req->method);
    cp(seen.path, sizeof(seen.path), req->path);
    cp(seen.url, sizeof(seen.url), req->url);
    cp(seen.body, sizeof(seen.body), req->body);
    seen.body_len = req->body_len;
    seen.has_q_x = mcx_http_query(req, "x", NULL) != NULL;
    cp(seen.q_x, sizeof(seen.q_x), mcx_http_query(req, "x", NULL));
    cp(seen.q_y, sizeof(seen.q_y), mcx_http_query(req, "y", NULL));
    const char *st = mcx_http_query(req, "state", &seen.q_state_n);
    seen.q_state_null = st == NULL;
    cp(seen.q_state, sizeof(seen.q_state), st);
    cp(seen.hdr, sizeof(seen.hdr), mcx_http_header(req, "x-test-header"));
    for (int i = 0; i < 8; i++) {
        const char *v = mcx_http_form(req, form_names[i], &seen.form_count[i]);
        seen.form_null[i] = v == NULL;
        cp(seen.form[i], sizeof(seen.form[i]), v);
    }
    const char *b = mcx_http_bearer(req);
    seen.bearer_null = b == NULL;
    cp(seen.bearer, sizeof(seen.bearer), b);
    cp(seen.client, sizeof(seen.client), req->client);
    pthread_mutex_unlock(&seen.lock);

    if (strcmp(req->path, "/noreply") == 0)
        return;
    if (strcmp(req->path, "/bearer/missing") == 0) {
        mcx_http_reply_bearer_error(resp, 401, "alpha.test", NULL, NULL, NULL);
        return;
    }
    if (strcmp(req->path, "/bearer/invalid") == 0) {
        mcx_http_reply_bearer_error(resp, 401, "al\"pha\\", "invalid_token",
                                    "token \"x\" expired\\ 42 s ago", NULL);
        return;
    }
    if (strcmp(req->path, "/bearer/scope") == 0) {
        mcx_http_reply_bearer_error(resp, 403, "alpha.test", "insufficient_scope",
                                    "scope missing", "3gpp:mc:ptt_service openid");
        return;
    }
    /* Header injection is refused; the reply then says so. */
    bool refused = mcx_http_reply_header(resp, "X-Bad", "a\r\nInjected: 1") == -EINVAL;
    mcx_http_reply_header(resp, "X-Reply", refused ? "yes" : "injection accepted");
    mcx_http_reply(resp, 200, "application/octet-stream", "0123456789", 10);
}

static size_t metrics_cb(void *ud, char *buf, size_t len)
{
    int n = snprintf(buf, len, "mcx_t_extra_total 7\n");
    return n < 0 ? 0 : (size_t)n;
}

/* ---- client side -------------------------------------------------------- */

typedef struct {
    long status;
    char body[65536];
    size_t len;
    char www_auth[1024];
    char x_reply[64];
    long content_length;
} result_t;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    result_t *r = ud;
    size_t k = sz * n;
    if (r->len + k < sizeof(r->body)) {
        memcpy(r->body + r->len, p, k);
        r->len += k;
        r->body[r->len] = '\0';
    }
    return k;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    result_t *r = ud;
    size_t k = sz * n;
    char line[1200];
    snprintf(line, sizeof(line), "%.*s", (int)k, p);
    line[strcspn(line, "\r\n")] = '\0';
    if (strncasecmp(line, "WWW-Authenticate: ", 18) == 0)
        cp(r->www_auth, sizeof(r->www_auth), line + 18);
    if (strncasecmp(line, "X-Reply: ", 9) == 0)
        cp(r->x_reply, sizeof(r->x_reply), line + 9);
    if (strncasecmp(line, "Content-Length: ", 16) == 0)
        r->content_length = atol(line + 16);
    return k;
}

typedef struct {
    const char *data;
    size_t len, off;
} upload_t;

static size_t on_read(char *buf, size_t sz, size_t n, void *ud)
{
    upload_t *u = ud;
    size_t k = sz * n;
    if (k > 700)
        k = 700;
    if (k > u->len - u->off)
        k = u->len - u->off;
    memcpy(buf, u->data + u->off, k);
    u->off += k;
    return k;
}

static unsigned port;

/* body NULL: no body. chunked: Transfer-Encoding: chunked instead of Content-Length. */
static void request(const char *method, const char *target, const char *const *headers,
                    const char *body, size_t len, bool chunked, result_t *r)
{
    memset(r, 0, sizeof(*r));
    r->content_length = -1;
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[1024];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, target);
    struct curl_slist *hl = NULL;
    hl = curl_slist_append(hl, "Expect:");
    for (int i = 0; headers && headers[i]; i++)
        hl = curl_slist_append(hl, headers[i]);
    upload_t up = {body, len, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    if (body && chunked) {
        hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
    } else if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        print_error("curl: %s\n", curl_easy_strerror(rc));
    assert_int_equal(rc, CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
}

/* Send raw bytes, read the answer until the server closes or 2 s pass. */
static void raw(const char *req, char *resp, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    size_t got = 0;
    resp[0] = '\0';
    for (;;) {
        ssize_t k = read(fd, resp + got, len - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
        resp[got] = '\0';
    }
    close(fd);
}

static mcx_http_server_t *srv;

static int setup(void **state)
{
    mcx_http_conf_t conf;
    memset(&conf, 0, sizeof(conf));
    char err[256];
    /* The configuration table's defaults, then a small body limit. */
    assert_int_equal(mcx_conf_load_string("t", "max_body: 1024\nthreads: 2\n",
                                          mcx_http_conf_fields, &conf, err, sizeof(err)),
                     0);
    assert_string_equal(conf.listen, "127.0.0.1");
    assert_int_equal(conf.port, 0);
    assert_int_equal(conf.timeout_s, 30);
    srv = mcx_http_start(&conf, "mcx_t", handler, metrics_cb, NULL, err, sizeof(err));
    assert_non_null(srv);
    port = mcx_http_port(srv);
    assert_true(port > 0);
    return 0;
}

static int teardown(void **state)
{
    mcx_http_stop(srv);
    srv = NULL;
    return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void test_request_seen(void **state)
{
    static const char form[] = "n=1&n=2&s=a+b%2Bc%26%3D&e=&flag&sp+ace=%C3%A9&u=%41%62";
    const char *h[] = {"Content-Type: application/x-www-form-urlencoded; charset=UTF-8",
                       "X-Test-Header: hello", NULL};
    result_t r;
    unsigned before = seen.calls;
    request("POST", "/a%20b/c?x=1%2B1&y=a+b", h, form, strlen(form), false, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "0123456789");
    assert_int_equal(r.content_length, 10);
    assert_string_equal(r.x_reply, "yes");
    assert_int_equal(seen.calls, before + 1);
    assert_string_equal(seen.method, "POST");
    assert_string_equal(seen.path, "/a b/c");
    assert_string_equal(seen.url, "/a%20b/c?x=1%2B1&y=a+b");
    assert_string_equal(seen.q_x, "1+1");
    assert_string_equal(seen.q_y, "a b");
    assert_string_equal(seen.hdr, "hello");
    assert_string_equal(seen.body, form);
    assert_int_equal(seen.body_len, strlen(form));
    assert_string_equal(seen.form[0], "1");
    assert_int_equal(seen.form_count[0], 2);
    assert_string_equal(seen.form[1], "a b+c&=");
    assert_int_equal(seen.form_count[1], 1);
    assert_false(seen.form_null[2]);
    assert_string_equal(seen.form[2], "");
    assert_false(seen.form_null[3]);
    assert_string_equal(seen.form[3], "");
    assert_true(seen.form_null[4]);
    assert_int_equal(seen.form_count[4], 0);
    assert_string_equal(seen.form[5], "\xc3\xa9");
    assert_string_equal(seen.form[6], "Ab");
    assert_non_null(strstr(seen.client, "127.0.0.1:"));

    /* Not a form: no fields, the body is still there. */
    const char *json[] = {"Content-Type: application/json", NULL};
    request("PUT", "/doc", json, "n=1", 3, false, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(seen.method, "PUT");
    assert_true(seen.form_null[0]);
    assert_int_equal(seen.form_count[0], 0);
    assert_string_equal(seen.body, "n=1");
    assert_false(seen.has_q_x);

    /* Repeated query arguments are counted (OAuth refuses them), names
     * compared decoded; the value is the first one's. */
    static const struct {
        const char *target;
        unsigned n;
        const char *first; /* NULL: no value */
    } q[] = {
        {"/q?state=1&scope=x&state=2", 2, "1"},
        {"/q?sta%74e=1&state=2", 2, "1"},
        {"/q?states=1&xstate=2", 0, NULL},
        {"/q", 0, NULL},
        {"/q?state", 1, NULL},
        {"/q?a=1&&state=&", 1, ""},
        {"/q?%", 0, NULL},
    };
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
        request("GET", q[i].target, NULL, NULL, 0, false, &r);
        assert_int_equal(r.status, 200);
        assert_string_equal(seen.url, q[i].target);
        assert_int_equal(seen.q_state_n, q[i].n);
        assert_int_equal(seen.q_state_null, q[i].first == NULL);
        assert_string_equal(seen.q_state, q[i].first ? q[i].first : "");
    }

    /* A bad escape makes the whole form unusable; so does an encoded NUL. */
    request("POST", "/f", h, "n=1&s=%zz", 9, false, &r);
    assert_true(seen.form_null[0]);
    request("POST", "/f", h, "n=%00", 5, false, &r);
    assert_true(seen.form_null[0]);
    request("POST", "/f", h, "n=%4", 4, false, &r);
    assert_true(seen.form_null[0]);

    /* GET: empty body, NUL-terminated. */
    request("GET", "/g", NULL, NULL, 0, false, &r);
    assert_string_equal(seen.method, "GET");
    assert_string_equal(seen.body, "");
    assert_int_equal(seen.body_len, 0);
}

static void test_body_limit(void **state)
{
    char *big = malloc(5000);
    memset(big, 'a', 5000);
    result_t r;
    unsigned before = seen.calls;

    /* Exactly the limit is fine. */
    request("POST", "/exact", NULL, big, 1024, false, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(seen.body_len, 1024);
    assert_int_equal(seen.calls, before + 1);

    /* Content-Length over the limit: 413 and no handler call. */
    request("POST", "/big", NULL, big, 1025, false, &r);
    assert_int_equal(r.status, 413);
    assert_int_equal(seen.calls, before + 1);

    /* Chunked, no Content-Length: counted while reading. */
    request("POST", "/chunked", NULL, big, 2000, true, &r);
    assert_int_equal(r.status, 413);
    assert_int_equal(seen.calls, before + 1);

    /* Expect: 100-continue with a too large Content-Length: 413 at once,
     * no "100 Continue", the body never sent. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    static const char hdrs[] = "POST /expect HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
                               "Expect: 100-continue\r\n\r\n";
    assert_int_equal(write(fd, hdrs, sizeof(hdrs) - 1), (ssize_t)(sizeof(hdrs) - 1));
    char resp[512] = "";
    size_t got = 0;
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    for (;;) {
        ssize_t k = read(fd, resp + got, sizeof(resp) - 1 - got);
        if (k <= 0)
            break;
        got += (size_t)k;
        resp[got] = '\0';
    }
    close(fd);
    assert_int_equal(strncmp(resp, "HTTP/1.1 413 ", 13), 0);
    assert_null(strstr(resp, "100 Continue"));
    assert_int_equal(seen.calls, before + 1);

    /* A chunked stream far past the limit is cut off, still unseen. */
    char *huge = malloc(200000);
    memset(huge, 'h', 200000);
    CURL *c = curl_easy_init();
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/huge", port);
    struct curl_slist *hl = curl_slist_append(NULL, "Transfer-Encoding: chunked");
    hl = curl_slist_append(hl, "Expect:");
    upload_t up = {huge, 200000, 0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    memset(&r, 0, sizeof(r));
    CURLcode rc = curl_easy_perform(c);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    assert_true(rc != CURLE_OK || st == 413);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    free(huge);
    assert_int_equal(seen.calls, before + 1);

    /* Chunked within the limit arrives whole. */
    request("POST", "/chunked-ok", NULL, big, 1000, true, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(seen.body_len, 1000);
    assert_int_equal(seen.calls, before + 2);
    free(big);
}

static void test_builtin_and_metrics(void **state)
{
    result_t r;
    unsigned before = seen.calls;
    request("GET", "/healthz", NULL, NULL, 0, false, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "ok\n");
    assert_int_equal(seen.calls, before);

    request("GET", "/noreply", NULL, NULL, 0, false, &r);
    assert_int_equal(r.status, 500);

    char big[2048];
    memset(big, 'b', sizeof(big));
    request("POST", "/big", NULL, big, sizeof(big), false, &r);
    assert_int_equal(r.status, 413);
    request("GET", "/x", NULL, NULL, 0, false, &r);
    request("GET", "/x", NULL, NULL, 0, false, &r);

    request("GET", "/metrics", NULL, NULL, 0, false, &r);
    assert_int_equal(r.status, 200);
    /* healthz + two /x = 3 answered 200 before this scrape. */
    assert_non_null(strstr(r.body, "mcx_t_http_requests_total{code=\"200\"} 3\n"));
    assert_non_null(strstr(r.body, "mcx_t_http_requests_total{code=\"500\"} 1\n"));
    assert_non_null(strstr(r.body, "mcx_t_http_requests_total{code=\"413\"} 1\n"));
    assert_non_null(strstr(r.body, "mcx_t_http_request_body_too_large_total 1\n"));
    assert_non_null(strstr(r.body, "mcx_t_extra_total 7\n"));
    assert_null(strstr(r.body, "code=\"404\""));
    request("GET", "/metrics", NULL, NULL, 0, false, &r);
    assert_non_null(strstr(r.body, "mcx_t_http_requests_total{code=\"200\"} 4\n"));

    /* The built-ins are GET only: a POST goes to the daemon. */
    request("POST", "/healthz", NULL, "x", 1, false, &r);
    assert_int_equal(seen.calls, before + 4);
}

static void test_malformed(void **state)
{
    char resp[2048];
    unsigned before = seen.calls;
    raw("GET /x HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n", resp, sizeof(resp));
    assert_int_equal(strncmp(resp, "HTTP/1.1 400 ", 13), 0);
    raw("GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", resp, sizeof(resp));
    assert_int_equal(strncmp(resp, "HTTP/1.1 4", 10), 0);
    raw("GET /x HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        resp, sizeof(resp));
    assert_int_equal(strncmp(resp, "HTTP/1.1 4", 10), 0);
    raw("GET /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", resp,
        sizeof(resp));
    assert_int_equal(seen.calls, before);
    /* Keep-alive: two requests on one connection, each answered. */
    raw("GET /k1 HTTP/1.1\r\nHost: x\r\n\r\nGET /k2 HTTP/1.1\r\nHost: x\r\n"
        "Connection: close\r\n\r\n", resp, sizeof(resp));
    assert_int_equal(seen.calls, before + 2);
    assert_string_equal(seen.path, "/k2");
    result_t r;
    request("GET", "/metrics", NULL, NULL, 0, false, &r);
    if (!strstr(r.body, "mcx_t_http_requests_malformed_total 3\n"))
        print_error("%s", r.body);
    assert_non_null(strstr(r.body, "mcx_t_http_requests_malformed_total 3\n"));
}

static void test_bearer_parsing(void **state)
{
    static const struct {
        const char *hdr; /* NULL: no Authorization header */
        const char *want; /* NULL: mcx_http_bearer gives NULL */
    } cases[] = {
        {"Authorization: Bearer abc.def-ghi_jk~+/", "abc.def-ghi_jk~+/"},
        {"Authorization: bearer x", "x"},
        {"Authorization: BEARER tok==", "tok=="},
        {"Authorization: Bearer", NULL},
        {"Authorization: Bearer ", NULL},
        {"Authorization: Basic YWxhZGRpbjpvcGVuc2VzYW1l", NULL},
        {"Authorization: Bearer a b", NULL},
        {"Authorization: Bearer a,b", NULL},
        {"Authorization: Bearertoken", NULL},
        {"Authorization: Bearer ==", NULL},
        {"Authorization: Bearer a=b", NULL},
        {"Authorization: Bearer \"abc\"", NULL},
        {"Authorization: MAC abc", NULL},
        {NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *h[] = {cases[i].hdr, NULL};
        result_t r;
        request("GET", "/b", cases[i].hdr ? h : NULL, NULL, 0, false, &r);
        assert_int_equal(r.status, 200);
        if (cases[i].want) {
            assert_false(seen.bearer_null);
            assert_string_equal(seen.bearer, cases[i].want);
        } else {
            if (!seen.bearer_null)
                print_error("case %zu: got '%s'\n", i, seen.bearer);
            assert_true(seen.bearer_null);
        }
    }
}

static void test_bearer_errors(void **state)
{
    result_t r;
    request("GET", "/bearer/missing", NULL, NULL, 0, false, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(r.www_auth, "Bearer realm=\"alpha.test\"");

    request("GET", "/bearer/invalid", NULL, NULL, 0, false, &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(r.www_auth, "Bearer realm=\"al\\\"pha\\\\\", error=\"invalid_token\", "
                                    "error_description=\"token 'x' expired/ 42 s ago\"");
    assert_string_equal(r.body, "token \"x\" expired\\ 42 s ago\n"); /* body as given */

    request("GET", "/bearer/scope", NULL, NULL, 0, false, &r);
    assert_int_equal(r.status, 403);
    assert_string_equal(r.www_auth, "Bearer realm=\"alpha.test\", error=\"insufficient_scope\", "
                                    "error_description=\"scope missing\", "
                                    "scope=\"3gpp:mc:ptt_service openid\"");
}

static void test_start_errors(void **state)
{
    mcx_http_conf_t conf = {.listen = "999.1.1.1", .threads = 1, .max_body = 1024,
                            .timeout_s = 5};
    char err[256];
    assert_null(mcx_http_start(&conf, "x", handler, NULL, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "999.1.1.1"));
    /* The port of a running server is taken. */
    mcx_http_conf_t c2 = {.listen = "127.0.0.1", .threads = 1, .max_body = 1024,
                          .timeout_s = 5};
    mcx_http_server_t *a = mcx_http_start(&c2, "a", handler, NULL, NULL, err, sizeof(err));
    assert_non_null(a);
    c2.port = mcx_http_port(a);
    assert_null(mcx_http_start(&c2, "b", handler, NULL, NULL, err, sizeof(err)));
    mcx_http_stop(a);
    mcx_http_stop(NULL);
}

int main(void)
{
    mcx_log_init("test-http", getenv("TEST_HTTP_LOG") ? MCX_LOG_DEBUG : MCX_LOG_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_request_seen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_body_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_builtin_and_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bearer_parsing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bearer_errors, setup, teardown),
        cmocka_unit_test(test_start_errors),
    };
    int rv = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rv;
}

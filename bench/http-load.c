/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-http-load: closed-loop HTTP load generator over libcurl's multi
 * interface, for the application-plane benchmarks. N requests are always in
 * flight (one per easy handle, each keeping its own keep-alive connection);
 * it prints one JSON line with the rate and latency percentiles.
 *
 * Two modes: a fixed GET (--url, optional --header, e.g. a bearer token),
 * or refresh-token chains (--refresh FILE): each handle POSTs
 * grant_type=refresh_token with its own token and carries on with the
 * rotated one from the answer, as an OAuth client would.
 */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CONC 1024
#define MAX_HEADERS 8

typedef struct {
    CURL *easy;
    char *body;   /* response being received */
    size_t len, cap;
    char *post;   /* refresh mode: the form we send */
    char token[4096];
    double started;
} slot_t;

static struct {
    const char *url, *cacert, *refresh_file, *client_id;
    const char *headers[MAX_HEADERS];
    int n_headers, conc;
    double seconds, warmup;
    int http2;
} opt = {.conc = 16, .seconds = 5, .warmup = 1, .client_id = "mcx-ue"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_data(char *p, size_t sz, size_t n, void *ud)
{
    slot_t *s = ud;
    size_t add = sz * n;
    if (s->len + add + 1 > s->cap) {
        size_t cap = (s->len + add + 1) * 2;
        char *b = realloc(s->body, cap);
        if (!b)
            return 0;
        s->body = b;
        s->cap = cap;
    }
    memcpy(s->body + s->len, p, add);
    s->len += add;
    s->body[s->len] = '\0';
    return add;
}

static int set_refresh_body(slot_t *s)
{
    char *esc = curl_easy_escape(s->easy, s->token, 0);
    if (!esc)
        return -ENOMEM;
    free(s->post);
    if (asprintf(&s->post, "grant_type=refresh_token&refresh_token=%s&client_id=%s", esc,
                 opt.client_id) < 0)
        s->post = NULL;
    curl_free(esc);
    if (!s->post)
        return -ENOMEM;
    curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->post);
    return 0;
}

/* Refresh mode: take the rotated refresh token from the answer. */
static int next_token(slot_t *s)
{
    json_error_t jerr;
    json_t *j = json_loads(s->body ? s->body : "", 0, &jerr);
    const char *rt = j ? json_string_value(json_object_get(j, "refresh_token")) : NULL;
    const char *at = j ? json_string_value(json_object_get(j, "access_token")) : NULL;
    int ok = rt && at && strlen(rt) < sizeof(s->token);
    if (ok)
        snprintf(s->token, sizeof(s->token), "%s", rt);
    json_decref(j);
    return ok ? set_refresh_body(s) : -EPROTO;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mcx-http-load --url URL [options]\n"
            "  --url URL           target (GET, or the token endpoint with --refresh)\n"
            "  --header 'H: v'     extra request header (repeatable)\n"
            "  --cacert FILE       CA for https\n"
            "  --http2             negotiate HTTP/2 over TLS (default HTTP/1.1)\n"
            "  --refresh FILE      refresh-token chains: one token per line, one per\n"
            "                      concurrent handle (concurrency = number of lines)\n"
            "  --client-id ID      client_id sent with --refresh (default mcx-ue)\n"
            "  --concurrency N     requests in flight (default 16)\n"
            "  --seconds S         measured time (default 5)\n"
            "  --warmup S          unmeasured time first (default 1)\n"
            "Prints {\"ok\":..,\"failed\":..,\"rate\":..,\"p50_ms\":..,\"p99_ms\":..}.\n");
}

static int load_tokens(slot_t *slots)
{
    FILE *f = fopen(opt.refresh_file, "r");
    if (!f) {
        fprintf(stderr, "mcx-http-load: %s: %s\n", opt.refresh_file, strerror(errno));
        return -1;
    }
    int n = 0;
    char line[4096];
    while (n < MAX_CONC && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0])
            snprintf(slots[n++].token, sizeof(slots[0].token), "%s", line);
    }
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"url", required_argument, NULL, 'u'},     {"header", required_argument, NULL, 'H'},
        {"cacert", required_argument, NULL, 'C'},  {"refresh", required_argument, NULL, 'r'},
        {"client-id", required_argument, NULL, 'i'}, {"concurrency", required_argument, NULL, 'c'},
        {"seconds", required_argument, NULL, 's'}, {"warmup", required_argument, NULL, 'w'},
        {"http2", no_argument, NULL, '2'},         {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'u': opt.url = optarg; break;
        case 'H':
            if (opt.n_headers == MAX_HEADERS) {
                fprintf(stderr, "mcx-http-load: at most %d headers\n", MAX_HEADERS);
                return 2;
            }
            opt.headers[opt.n_headers++] = optarg;
            break;
        case 'C': opt.cacert = optarg; break;
        case 'r': opt.refresh_file = optarg; break;
        case 'i': opt.client_id = optarg; break;
        case 'c': opt.conc = atoi(optarg); break;
        case 's': opt.seconds = atof(optarg); break;
        case 'w': opt.warmup = atof(optarg); break;
        case '2': opt.http2 = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!opt.url || opt.conc < 1 || opt.conc > MAX_CONC || opt.seconds <= 0 || opt.warmup < 0) {
        usage(stderr);
        return 2;
    }
    static slot_t slots[MAX_CONC];
    if (opt.refresh_file) {
        opt.conc = load_tokens(slots);
        if (opt.conc < 1) {
            fprintf(stderr, "mcx-http-load: no refresh tokens\n");
            return 2;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    struct curl_slist *hdrs = NULL;
    for (int i = 0; i < opt.n_headers; i++)
        hdrs = curl_slist_append(hdrs, opt.headers[i]);
    for (int i = 0; i < opt.conc; i++) {
        slot_t *s = &slots[i];
        s->easy = curl_easy_init();
        curl_easy_setopt(s->easy, CURLOPT_URL, opt.url);
        curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
        curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
        curl_easy_setopt(s->easy, CURLOPT_HTTP_VERSION,
                         opt.http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
        curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
        if (hdrs)
            curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, hdrs);
        if (opt.cacert)
            curl_easy_setopt(s->easy, CURLOPT_CAINFO, opt.cacert);
        if (opt.refresh_file && set_refresh_body(s) < 0)
            return 1;
        s->started = now_s();
        curl_multi_add_handle(multi, s->easy);
    }

    size_t lat_cap = 1 << 20, n_lat = 0;
    double *lat = malloc(lat_cap * sizeof(double));
    long ok = 0, failed = 0;
    double t0 = now_s(), measure_from = t0 + opt.warmup, end = measure_from + opt.seconds;
    int running = 1;
    while (running) {
        int still;
        curl_multi_perform(multi, &still);
        CURLMsg *m;
        int left;
        double t = now_s();
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            slot_t *s;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
            long code = 0;
            curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &code);
            int good = m->data.result == CURLE_OK && code == 200;
            if (good && opt.refresh_file)
                good = next_token(s) == 0;
            if (t >= measure_from && t < end) {
                if (good) {
                    ok++;
                    if (n_lat < lat_cap)
                        lat[n_lat++] = (t - s->started) * 1e3;
                } else {
                    failed++;
                }
            }
            if (!good && failed <= 3 && t >= measure_from)
                fprintf(stderr, "mcx-http-load: HTTP %ld, curl %d: %.200s\n", code,
                        (int)m->data.result, s->body ? s->body : "");
            curl_multi_remove_handle(multi, s->easy);
            s->len = 0;
            if (t < end && (good || !opt.refresh_file)) {
                s->started = t;
                curl_multi_add_handle(multi, s->easy);
            }
        }
        if (t >= end && still == 0)
            running = 0;
        else if (t >= end + 10)
            running = 0; /* stragglers: give up */
        else
            curl_multi_poll(multi, NULL, 0, 10, NULL);
    }
    qsort(lat, n_lat, sizeof(double), cmp_double);
    double p50 = n_lat ? lat[n_lat / 2] : 0, p99 = n_lat ? lat[(n_lat * 99) / 100] : 0;
    printf("{\"ok\":%ld,\"failed\":%ld,\"seconds\":%.3f,\"rate\":%.1f,\"p50_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"concurrency\":%d}\n",
           ok, failed, opt.seconds, ok / opt.seconds, p50, p99, opt.conc);
    for (int i = 0; i < opt.conc; i++) {
        curl_multi_remove_handle(multi, slots[i].easy);
        curl_easy_cleanup(slots[i].easy);
        free(slots[i].body);
        free(slots[i].post);
    }
    curl_slist_free_all(hdrs);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    free(lat);
    return failed && !ok ? 1 : 0;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-ue's HTTP client over libcurl: a blocking request with our headers,
 * the response body and the few response headers the clients need
 * (Location, ETag, WWW-Authenticate, Content-Type), redirects never followed.
 */
#include "ue-http.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "core/mcx-core.h"

#define UE_HTTP_BODY_MAX (4u << 20) /* no document we fetch is near this */

int ue_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void ue_http_global_final(void)
{
    curl_global_cleanup();
}

static size_t body_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
    ue_http_resp_t *r = arg;
    size_t n = size * nmemb;
    if (r->body_len + n > UE_HTTP_BODY_MAX)
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    char *nb = realloc(r->body, r->body_len + n + 1);
    if (!nb)
        return 0;
    memcpy(nb + r->body_len, ptr, n);
    r->body = nb;
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return n;
}

/* Copy the value of header line `line` into out when its name is `name`. */
static void take_header(const char *line, size_t len, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    size_t n = (size_t)(end - v);
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static size_t header_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
    ue_http_resp_t *r = arg;
    size_t n = size * nmemb;
    take_header(ptr, n, "Location", r->location, sizeof(r->location));
    take_header(ptr, n, "ETag", r->etag, sizeof(r->etag));
    take_header(ptr, n, "WWW-Authenticate", r->www_authenticate, sizeof(r->www_authenticate));
    take_header(ptr, n, "Content-Type", r->content_type, sizeof(r->content_type));
    return n;
}

int ue_http_request(const ue_http_t *h, const char *method, const char *url,
                    const char *const *headers, const char *body, size_t body_len,
                    ue_http_resp_t *resp)
{
    char errbuf[CURL_ERROR_SIZE] = "";
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(resp->err, sizeof(resp->err), "cannot create a curl handle");
        return -EIO;
    }
    struct curl_slist *hl = NULL;
    for (size_t i = 0; headers && headers[i]; i++) {
        struct curl_slist *n = curl_slist_append(hl, headers[i]);
        if (!n) {
            curl_slist_free_all(hl);
            curl_easy_cleanup(c);
            snprintf(resp->err, sizeof(resp->err), "out of memory");
            return -ENOMEM;
        }
        hl = n;
    }
    /* curl adds "Expect: 100-continue" to larger POSTs; our servers need no such round trip. */
    struct curl_slist *n = curl_slist_append(hl, "Expect:");
    if (n)
        hl = n;

    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else if (!strcmp(method, "GET")) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->ca_file && h->ca_file[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, h->timeout_s > 0 ? h->timeout_s : 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "mcx-ue");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);

    CURLcode rc = curl_easy_perform(c);
    int ret = 0;
    if (rc != CURLE_OK) {
        resp->tls_error = rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
                          rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SSL_CERTPROBLEM;
        snprintf(resp->err, sizeof(resp->err), "%s%s%s", resp->tls_error ? "TLS: " : "",
                 errbuf[0] ? errbuf : curl_easy_strerror(rc),
                 rc == CURLE_PEER_FAILED_VERIFICATION ? " (server certificate not verified)"
                                                       : "");
        resp->status = 0;
        ret = -EIO;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
        if (!resp->body) {
            resp->body = calloc(1, 1);
            if (!resp->body)
                ret = -ENOMEM;
        }
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    return ret;
}

void ue_http_resp_free(ue_http_resp_t *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
}

int ue_http_escape(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            if (o + 1 >= outlen)
                return -ENOSPC;
            out[o++] = (char)*p;
        } else {
            if (o + 3 >= outlen)
                return -ENOSPC;
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    if (o >= outlen)
        return -ENOSPC;
    out[o] = '\0';
    return 0;
}

int ue_http_unescape(const char *in, size_t len, bool form, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (ch == '%' && i + 2 < len) {
            int a = mcx_hex_digit((unsigned char)in[i + 1]);
            int b = mcx_hex_digit((unsigned char)in[i + 2]);
            if (a >= 0 && b >= 0) {
                ch = (char)(a * 16 + b);
                i += 2;
            }
        } else if (ch == '+' && form) {
            ch = ' ';
        }
        if (o + 1 >= outlen)
            return -ENOSPC;
        out[o++] = ch;
    }
    out[o] = '\0';
    return 0;
}

int ue_http_query_param(const char *query, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    const char *p = query;
    while (p && *p) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > nl && !strncmp(p, name, nl) && p[nl] == '=')
            return ue_http_unescape(p + nl + 1, len - nl - 1, true, out, outlen);
        p = amp ? amp + 1 : NULL;
    }
    return -ENOENT;
}

void ue_say(FILE *out, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* The test keeps GCC 12's -fsanitize=undefined from seeing a NULL format. */
    if (fmt)
        vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
    fflush(out);
}

void ue_fail(FILE *out, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(out, "FAILED %s\n", line);
    fflush(out);
    fprintf(stderr, "mcx-ue: %s\n", line);
}

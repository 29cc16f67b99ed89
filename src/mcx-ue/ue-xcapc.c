/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * XCAP GET with a kept copy: the copy of <rel> lives in <cache_dir>/<rel with
 * every byte outside [A-Za-z0-9._-] percent-encoded>, its ETag next to it in
 * "<name>.etag". Written to a temporary file and renamed.
 */
#include "ue-xcapc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ue_xcapc_segment(const char *in, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        bool keep = isalnum(*p) || strchr("-._~:@!$&'()*+,;=", *p);
        if (o + (keep ? 1 : 3) >= outlen)
            return -ENOSPC;
        if (keep) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

static int cache_name(const ue_xcapc_t *x, const char *rel, char *out, size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    int n = snprintf(out, outlen, "%s/", x->cache_dir);
    if (n < 0 || (size_t)n >= outlen)
        return -ENOSPC;
    size_t o = (size_t)n;
    for (const unsigned char *p = (const unsigned char *)rel; *p; p++) {
        bool keep = isalnum(*p) || *p == '.' || *p == '_' || *p == '-';
        if (o + 4 + 6 >= outlen)
            return -ENOSPC;
        if (keep) {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return NULL;
    char *buf = NULL;
    if (fseek(fp, 0, SEEK_END) == 0) {
        long n = ftell(fp);
        if (n >= 0 && n < (8l << 20) && fseek(fp, 0, SEEK_SET) == 0) {
            buf = malloc((size_t)n + 1);
            if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
                free(buf);
                buf = NULL;
            } else if (buf) {
                buf[n] = '\0';
                *len = (size_t)n;
            }
        }
    }
    fclose(fp);
    return buf;
}

static int write_file(const char *path, const char *data, size_t len)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENOSPC;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rv = 0;
    if (write(fd, data, len) != (ssize_t)len || fsync(fd))
        rv = -EIO;
    close(fd);
    if (!rv && rename(tmp, path))
        rv = -errno;
    if (rv)
        unlink(tmp);
    return rv;
}

int ue_xcapc_get(const ue_xcapc_t *x, const char *rel, const char *what, bool optional,
                 ue_xcapc_doc_t *doc)
{
    memset(doc, 0, sizeof(*doc));
    char url[UE_HTTP_URL_MAX * 2];
    if (snprintf(url, sizeof(url), "%s/%s", x->root, rel) >= (int)sizeof(url)) {
        ue_fail(x->out, "%s: %s: URL too long", x->label, what);
        return -EACCES;
    }
    char path[4096] = "", etag_path[4200] = "";
    char kept_etag[256] = "";
    char *kept = NULL;
    size_t kept_len = 0;
    bool cache = x->cache_dir && x->cache_dir[0];
    if (cache && (mkdir(x->cache_dir, 0700) == 0 || errno == EEXIST) &&
        !cache_name(x, rel, path, sizeof(path))) {
        snprintf(etag_path, sizeof(etag_path), "%s.etag", path);
        size_t n = 0;
        char *e = read_file(etag_path, &n);
        kept = e ? read_file(path, &kept_len) : NULL;
        if (e && kept && n > 0 && n < sizeof(kept_etag)) {
            memcpy(kept_etag, e, n);
            kept_etag[strcspn(kept_etag, "\r\n")] = '\0';
        }
        free(e);
        if (!kept_etag[0]) {
            free(kept);
            kept = NULL;
        }
    } else {
        cache = false;
    }

    char auth[8300], inm[300];
    if (snprintf(auth, sizeof(auth), "Authorization: Bearer %s", x->token) >= (int)sizeof(auth)) {
        free(kept);
        ue_fail(x->out, "%s: access token too long", x->label);
        return -EACCES;
    }
    snprintf(inm, sizeof(inm), "If-None-Match: %s", kept_etag);
    const char *hdrs[] = {auth, kept ? inm : NULL, NULL};
    ue_http_resp_t r = {0};
    int rv = ue_http_request(x->http, "GET", url, hdrs, NULL, 0, &r);
    if (rv) {
        ue_fail(x->out, "%s: GET %s (%s): %s", x->label, url, what, r.err);
        goto refused;
    }
    if (r.status == 304 && kept) {
        ue_say(x->out, "%s: GET %s (%s) If-None-Match %s: 304 not modified, kept copy used",
               x->label, rel, what, kept_etag);
        doc->body = kept;
        doc->len = kept_len;
        doc->status = 304;
        snprintf(doc->etag, sizeof(doc->etag), "%s", kept_etag);
        ue_http_resp_free(&r);
        return 0;
    }
    if (r.status == 200) {
        ue_say(x->out, "%s: GET %s (%s) 200: %zu bytes, ETag %s%s%s", x->label, rel, what,
               r.body_len, r.etag[0] ? r.etag : "(none)", kept ? " (changed since the kept copy)" : "",
               cache ? ", saved" : "");
        if (cache) {
            write_file(path, r.body, r.body_len);
            if (r.etag[0])
                write_file(etag_path, r.etag, strlen(r.etag));
            else
                unlink(etag_path);
        }
        free(kept);
        doc->body = r.body;
        doc->len = r.body_len;
        doc->status = 200;
        snprintf(doc->etag, sizeof(doc->etag), "%s", r.etag);
        r.body = NULL;
        return 0;
    }
    if (r.status == 404 && optional) {
        ue_say(x->out, "%s: GET %s (%s) 404: not provisioned (optional, skipped)", x->label, rel,
               what);
        free(kept);
        ue_http_resp_free(&r);
        return -ENOENT;
    }
    ue_fail(x->out, "%s: GET %s (%s) refused: %ld%s%s", x->label, rel, what, r.status,
            r.www_authenticate[0] ? " WWW-Authenticate: " : "", r.www_authenticate);
refused:
    free(kept);
    ue_http_resp_free(&r);
    return -EACCES;
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Text helpers of mcx-idms (see idms-text.h): escaping for the login page
 * and redirects, base64url for codes and tokens, OAuth parameter syntax.
 */
#include "idms-text.h"

#include "mcx-core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool grow(idms_buf_t *b, size_t more)
{
    if (b->oom)
        return false;
    if (b->len + more + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->oom = true;
        return false;
    }
    b->s = s;
    b->cap = cap;
    return true;
}

static void put(idms_buf_t *b, const char *s, size_t n)
{
    if (!grow(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void idms_buf_puts(idms_buf_t *b, const char *s)
{
    put(b, s, strlen(s));
}

void idms_buf_printf(idms_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !grow(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void idms_buf_html(idms_buf_t *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            idms_buf_puts(b, "&amp;");
            break;
        case '<':
            idms_buf_puts(b, "&lt;");
            break;
        case '>':
            idms_buf_puts(b, "&gt;");
            break;
        case '"':
            idms_buf_puts(b, "&quot;");
            break;
        case '\'':
            idms_buf_puts(b, "&#39;");
            break;
        default:
            put(b, s, 1);
        }
    }
}

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

void idms_buf_urlenc(idms_buf_t *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (unreserved(c)) {
            put(b, (const char *)&c, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            put(b, e, 3);
        }
    }
}

void idms_buf_free(idms_buf_t *b)
{
    free(b->s);
    memset(b, 0, sizeof(*b));
}

void idms_b64url(const uint8_t *in, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
    }
    out[o] = '\0';
}

bool idms_pkce_syntax_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 43 || n > 128)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!unreserved((unsigned char)s[i]))
            return false;
    }
    return true;
}

bool idms_param_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n >= max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return false;
    }
    return true;
}

void idms_log_safe(const char *s, char *out, size_t outlen)
{
    size_t o = 0;
    for (; s && *s && o + 1 < outlen && o < 64; s++) {
        unsigned char c = (unsigned char)*s;
        out[o++] = (c < 0x20 || c >= 0x7f || c == '\'') ? '?' : (char)c;
    }
    if (s && *s && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

bool idms_scope_has(const char *list, const char *scope, size_t scope_len)
{
    const char *p = list;
    while (*p) {
        p += strspn(p, " ");
        size_t len = strcspn(p, " ");
        if (len && len == scope_len && strncmp(p, scope, len) == 0)
            return true;
        p += len;
    }
    return false;
}

void idms_scope_intersect(const char *req, const char *allowed, char *out, size_t outlen)
{
    size_t o = 0;
    out[0] = '\0';
    const char *p = req;
    while (*p) {
        p += strspn(p, " ");
        size_t len = strcspn(p, " ");
        if (len && idms_scope_has(allowed, p, len) && !idms_scope_has(out, p, len) &&
            o + len + 2 <= outlen) {
            if (o)
                out[o++] = ' ';
            memcpy(out + o, p, len);
            o += len;
            out[o] = '\0';
        }
        p += len;
    }
}

bool idms_scope_subset(const char *sub, const char *list)
{
    const char *p = sub;
    while (*p) {
        p += strspn(p, " ");
        size_t len = strcspn(p, " ");
        if (len && !idms_scope_has(list, p, len))
            return false;
        p += len;
    }
    return true;
}

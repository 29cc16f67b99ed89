/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-http request accessors (headers, query, urlencoded form, bearer
 * token) and response builders, including RFC 6750 bearer refusals. All of
 * them work on the state of the request the calling handler is serving.
 */
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http-private.h"
#include "mcx-http.h"

char *mcx_http_decode(const char *in, size_t len, bool plus_space)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '%') {
            int h, l;
            if (i + 2 >= len || (h = mcx_hex_digit((unsigned char)in[i + 1])) < 0 ||
                (l = mcx_hex_digit((unsigned char)in[i + 2])) < 0 || (h == 0 && l == 0)) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(h * 16 + l);
            i += 2;
        } else if (c == '+' && plus_space) {
            out[o++] = ' ';
        } else if (c == '\0') {
            free(out);
            return NULL;
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
    return out;
}

const char *mcx_http_header(const mcx_http_req_t *req, const char *name)
{
    if (!req || !req->priv || !name)
        return NULL;
    const http_req_state_t *st = req->priv;
    return MHD_lookup_connection_value(st->conn, MHD_HEADER_KIND, name);
}

typedef struct {
    const char *name;
    unsigned n;
} arg_count_t;

static enum MHD_Result count_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    arg_count_t *c = cls;
    (void)kind;
    (void)value;
    if (key && strcmp(key, c->name) == 0)
        c->n++;
    return MHD_YES;
}

const char *mcx_http_query(const mcx_http_req_t *req, const char *name, unsigned *count)
{
    if (count)
        *count = 0;
    if (!req || !req->priv || !name)
        return NULL;
    const http_req_state_t *st = req->priv;
    if (count) {
        /* libmicrohttpd keeps every argument, repeated ones included, with
         * its key already decoded. */
        arg_count_t c = {.name = name};
        MHD_get_connection_values(st->conn, MHD_GET_ARGUMENT_KIND, count_arg, &c);
        *count = c.n;
    }
    return MHD_lookup_connection_value(st->conn, MHD_GET_ARGUMENT_KIND, name);
}

static bool is_form(const mcx_http_req_t *req)
{
    const char *ct = mcx_http_header(req, MHD_HTTP_HEADER_CONTENT_TYPE);
    static const char form[] = "application/x-www-form-urlencoded";
    if (!ct)
        return false;
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, form, sizeof(form) - 1) != 0)
        return false;
    char n = ct[sizeof(form) - 1];
    return n == '\0' || n == ';' || n == ' ' || n == '\t';
}

/* Parse the whole body once; an undecodable pair makes the form invalid. */
static void form_parse(http_req_state_t *st, const char *body, size_t len)
{
    st->form_parsed = true;
    unsigned cap = 1;
    for (size_t i = 0; i < len; i++)
        cap += body[i] == '&';
    st->form = calloc(cap, sizeof(*st->form));
    if (!st->form)
        return;
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && body[e] != '&')
            e++;
        if (e > i) {
            const char *eq = memchr(body + i, '=', e - i);
            size_t nlen = eq ? (size_t)(eq - (body + i)) : e - i;
            char *name = mcx_http_decode(body + i, nlen, true);
            char *value = eq ? mcx_http_decode(eq + 1, (size_t)(body + e - eq - 1), true)
                             : strdup("");
            if (!name || !value) {
                free(name);
                free(value);
                goto bad;
            }
            st->form[st->n_form].name = name;
            st->form[st->n_form].value = value;
            st->n_form++;
        }
        i = e + 1;
    }
    return;
bad:
    for (unsigned k = 0; k < st->n_form; k++) {
        free(st->form[k].name);
        free(st->form[k].value);
    }
    free(st->form);
    st->form = NULL;
    st->n_form = 0;
}

const char *mcx_http_form(const mcx_http_req_t *req, const char *name, unsigned *count)
{
    if (count)
        *count = 0;
    if (!req || !req->priv || !name)
        return NULL;
    http_req_state_t *st = req->priv;
    if (!st->form_parsed) {
        if (!is_form(req)) {
            st->form_parsed = true;
            return NULL;
        }
        form_parse(st, req->body, req->body_len);
    }
    const char *first = NULL;
    unsigned n = 0;
    for (unsigned i = 0; i < st->n_form; i++) {
        if (strcmp(st->form[i].name, name) == 0) {
            if (!first)
                first = st->form[i].value;
            n++;
        }
    }
    if (count)
        *count = n;
    return first;
}

/* RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
static bool b64token_ok(const char *t)
{
    size_t i = 0;
    while (t[i] && (isalnum((unsigned char)t[i]) || strchr("-._~+/", t[i])))
        i++;
    if (i == 0)
        return false;
    while (t[i] == '=')
        i++;
    return t[i] == '\0';
}

const char *mcx_http_bearer(const mcx_http_req_t *req)
{
    const char *h = mcx_http_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h)
        return NULL;
    if (strncasecmp(h, "Bearer", 6) != 0 || h[6] != ' ')
        return NULL;
    const char *t = h + 7;
    while (*t == ' ')
        t++;
    return b64token_ok(t) ? t : NULL;
}

/* ---- responses ---------------------------------------------------------- */

int mcx_http_reply(mcx_http_resp_t *resp, unsigned status, const char *ctype, const void *body,
                   size_t len)
{
    if (!resp || status < 100 || status > 599 || (len && !body))
        return -EINVAL;
    if (ctype && strpbrk(ctype, "\r\n"))
        return -EINVAL;
    char *b = malloc(len + 1);
    char *c = ctype ? strdup(ctype) : NULL;
    if (!b || (ctype && !c)) {
        free(b);
        free(c);
        return -ENOMEM;
    }
    if (len)
        memcpy(b, body, len);
    b[len] = '\0';
    free(resp->body);
    free(resp->ctype);
    resp->body = b;
    resp->len = len;
    resp->ctype = c;
    resp->status = status;
    return 0;
}

int mcx_http_replyf(mcx_http_resp_t *resp, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -ENOMEM;
    int rv = mcx_http_reply(resp, status, "text/plain; charset=utf-8", text, (size_t)n);
    free(text);
    return rv;
}

int mcx_http_reply_header(mcx_http_resp_t *resp, const char *name, const char *value)
{
    if (!resp || !name || !value || !*name || strpbrk(name, "\r\n: \t") ||
        strpbrk(value, "\r\n"))
        return -EINVAL;
    http_pair_t *nh = realloc(resp->headers, (resp->n_headers + 1) * sizeof(*nh));
    if (!nh)
        return -ENOMEM;
    resp->headers = nh;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return -ENOMEM;
    }
    nh[resp->n_headers].name = n;
    nh[resp->n_headers].value = v;
    resp->n_headers++;
    return 0;
}

/*
 * Append name="value" to buf. Quotes and backslashes are escaped as
 * quoted-pairs (RFC 9110 §5.6.4); for error_description, whose RFC 6750
 * grammar allows neither, they are replaced, as are control characters.
 */
static void add_param(char *buf, size_t len, size_t *o, const char *name, const char *value,
                      bool first, bool no_quote_chars)
{
    int n = snprintf(buf + *o, len - *o, "%s%s=\"", first ? " " : ", ", name);
    if (n < 0 || (size_t)n >= len - *o) {
        *o = len - 1;
        return;
    }
    *o += (size_t)n;
    for (const unsigned char *p = (const unsigned char *)value; *p && *o + 3 < len; p++) {
        unsigned char c = *p;
        if (c < 0x20 || c == 0x7f || (no_quote_chars && c > 0x7e)) {
            buf[(*o)++] = '?';
        } else if (c == '"' || c == '\\') {
            if (no_quote_chars) {
                buf[(*o)++] = c == '"' ? '\'' : '/';
            } else {
                buf[(*o)++] = '\\';
                buf[(*o)++] = (char)c;
            }
        } else {
            buf[(*o)++] = (char)c;
        }
    }
    if (*o + 1 < len)
        buf[(*o)++] = '"';
    buf[*o] = '\0';
}

int mcx_http_reply_bearer_error(mcx_http_resp_t *resp, unsigned status, const char *realm,
                                const char *error, const char *desc, const char *scope)
{
    char h[1024] = "Bearer";
    size_t o = strlen(h);
    add_param(h, sizeof(h), &o, "realm", realm ? realm : "mcxcore", true, false);
    if (error) {
        add_param(h, sizeof(h), &o, "error", error, false, true);
        if (desc)
            add_param(h, sizeof(h), &o, "error_description", desc, false, true);
        if (scope)
            add_param(h, sizeof(h), &o, "scope", scope, false, true);
    }
    int rv = mcx_http_reply_header(resp, "WWW-Authenticate", h);
    if (rv)
        return rv;
    const char *text = desc ? desc : (error ? error : "authorization required");
    return mcx_http_replyf(resp, status, "%s\n", text);
}

/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Parsers for the bodies mcx-server reads: Content-Type, multipart/mixed
 * (RFC 2046 §5.1), message/sip and mcptt-info (TS 24.379 Annex F). Every
 * access is bounded by the given length; nothing here trusts a NUL.
 */
#include "server-body.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

static bool is_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 2045 tspecials excluded from a token. */
static bool is_tchar(char c)
{
    return c > 32 && c < 127 && !strchr("()<>@,;:\\\"/[]?=", c);
}

int server_ctype_parse(const char *s, size_t len, char *mime, size_t mimelen, char *boundary,
                       size_t blen)
{
    size_t i = 0, o = 0;
    if (!s || mimelen < 2 || blen < 1)
        return -EINVAL;
    boundary[0] = '\0';
    while (i < len && is_ws(s[i]))
        i++;
    /* type "/" subtype, both tokens */
    size_t start = i;
    bool slash = false;
    while (i < len && (is_tchar(s[i]) || (s[i] == '/' && !slash))) {
        if (s[i] == '/')
            slash = true;
        if (o + 1 >= mimelen)
            return -EINVAL;
        mime[o++] = (char)tolower((unsigned char)s[i]);
        i++;
    }
    mime[o] = '\0';
    if (!slash || i == start || mime[0] == '/' || mime[o - 1] == '/')
        return -EINVAL;
    /* parameters */
    for (;;) {
        while (i < len && is_ws(s[i]))
            i++;
        if (i >= len)
            return 0;
        if (s[i] != ';')
            return -EINVAL;
        i++;
        while (i < len && is_ws(s[i]))
            i++;
        size_t ns = i;
        while (i < len && is_tchar(s[i]))
            i++;
        size_t nl = i - ns;
        while (i < len && is_ws(s[i]))
            i++;
        if (nl == 0 || i >= len || s[i] != '=')
            return -EINVAL;
        i++;
        while (i < len && is_ws(s[i]))
            i++;
        char val[SERVER_BOUNDARY_MAX + 1];
        size_t vl = 0;
        bool too_long = false;
        if (i < len && s[i] == '"') {
            i++;
            while (i < len && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < len)
                    i++;
                if (vl + 1 < sizeof(val))
                    val[vl++] = s[i];
                else
                    too_long = true;
                i++;
            }
            if (i >= len)
                return -EINVAL; /* unterminated quoted string */
            i++;
        } else {
            while (i < len && is_tchar(s[i])) {
                if (vl + 1 < sizeof(val))
                    val[vl++] = s[i];
                else
                    too_long = true;
                i++;
            }
        }
        val[vl] = '\0';
        if (nl == 8 && strncasecmp(s + ns, "boundary", 8) == 0) {
            /* RFC 2046: 1 to 70 characters, not ending in a space. */
            if (too_long || vl == 0 || vl > 70 || val[vl - 1] == ' ' || vl + 1 > blen)
                return -EINVAL;
            memcpy(boundary, val, vl + 1);
        }
    }
}

/* Is there a delimiter line "--boundary" at i (start of a line)? */
static bool delim_at(const char *b, size_t len, size_t i, const char *bd, size_t bl)
{
    if (i + 2 + bl > len || (i > 0 && b[i - 1] != '\n'))
        return false;
    if (b[i] != '-' || b[i + 1] != '-' || memcmp(b + i + 2, bd, bl) != 0)
        return false;
    size_t j = i + 2 + bl;
    return j == len || b[j] == '-' || b[j] == '\r' || b[j] == '\n' || is_ws(b[j]);
}

/* The next delimiter at or after `from`, or len when there is none. */
static size_t find_delim(const char *b, size_t len, size_t from, const char *bd, size_t bl)
{
    for (size_t i = from; i + 2 + bl <= len; i++) {
        if ((i == 0 || b[i - 1] == '\n') && delim_at(b, len, i, bd, bl))
            return i;
        /* jump to the next line start */
        const char *nl = memchr(b + i, '\n', len - i);
        if (!nl)
            break;
        i = (size_t)(nl - b); /* loop's i++ moves past the LF */
    }
    return len;
}

/* End of the line starting at i (index of the LF or len) and the start of the next. */
static size_t line_end(const char *b, size_t len, size_t i, size_t *next)
{
    const char *nl = memchr(b + i, '\n', len - i);
    if (!nl) {
        *next = len;
        return len;
    }
    size_t e = (size_t)(nl - b);
    *next = e + 1;
    if (e > i && b[e - 1] == '\r')
        e--;
    return e;
}

/*
 * Headers of a part (or of an embedded message) in [i, end): Content-Type
 * into part->mime/boundary; returns the offset of the content or -EBADMSG.
 */
static long part_headers(const char *b, size_t end, size_t i, server_part_t *part, char *boundary,
                         size_t blen)
{
    bool have_ctype = false;
    while (i < end) {
        size_t next, e = line_end(b, end, i, &next);
        if (e == i) /* blank line: content follows */
            return (long)next;
        if (next >= end && e == end && b[end - 1] != '\n')
            return -EBADMSG; /* headers never ended */
        if (is_ws(b[i])) {   /* folded continuation: ignored */
            i = next;
            continue;
        }
        const char *colon = memchr(b + i, ':', e - i);
        if (!colon)
            return -EBADMSG;
        size_t nl = (size_t)(colon - (b + i));
        while (nl > 0 && is_ws(b[i + nl - 1]))
            nl--;
        bool is_ct = (nl == 12 && strncasecmp(b + i, "Content-Type", 12) == 0) ||
                     (nl == 1 && (b[i] == 'c' || b[i] == 'C'));
        if (is_ct) {
            if (have_ctype)
                return -EBADMSG;
            size_t vs = (size_t)(colon - b) + 1;
            char bd[SERVER_BOUNDARY_MAX + 1];
            if (server_ctype_parse(b + vs, e - vs, part->mime, sizeof(part->mime), bd, sizeof(bd)))
                return -EBADMSG;
            if (boundary && blen) {
                if (strlen(bd) + 1 > blen)
                    return -EBADMSG;
                memcpy(boundary, bd, strlen(bd) + 1);
            }
            have_ctype = true;
        }
        i = next;
    }
    return -EBADMSG; /* no blank line */
}

int server_multipart_split(const char *body, size_t len, const char *boundary, server_part_t *parts,
                           unsigned max, unsigned *n)
{
    *n = 0;
    size_t bl = boundary ? strlen(boundary) : 0;
    if (!body || bl == 0 || bl > 70)
        return -EBADMSG;
    size_t pos = find_delim(body, len, 0, boundary, bl);
    if (pos >= len)
        return -EBADMSG;
    for (;;) {
        size_t p = pos + 2 + bl;
        if (p + 2 <= len && body[p] == '-' && body[p + 1] == '-')
            return *n > 0 ? 0 : -EBADMSG; /* close delimiter; epilogue ignored */
        while (p < len && is_ws(body[p]))
            p++;
        if (p < len && body[p] == '\r')
            p++;
        if (p >= len || body[p] != '\n')
            return -EBADMSG;
        size_t start = p + 1;
        size_t next = find_delim(body, len, start, boundary, bl);
        if (next >= len)
            return -EBADMSG; /* no close delimiter */
        /* The line break before the delimiter belongs to the delimiter. */
        size_t end = next;
        if (end > start && body[end - 1] == '\n')
            end--;
        if (end > start && body[end - 1] == '\r')
            end--;
        if (*n >= max)
            return -E2BIG;
        server_part_t *pt = &parts[*n];
        memset(pt, 0, sizeof(*pt));
        strcpy(pt->mime, "text/plain");
        long c;
        if (end == start || (body[start] == '\r' || body[start] == '\n')) {
            /* no headers at all */
            size_t nx;
            line_end(body, end, start, &nx);
            c = (long)(end == start ? start : nx);
        } else {
            c = part_headers(body, end, start, pt, NULL, 0);
            if (c < 0) {
                /* a part that is only headers, ending at the delimiter */
                return -EBADMSG;
            }
        }
        pt->body = body + c;
        pt->len = end - (size_t)c;
        (*n)++;
        pos = next;
    }
}

int server_sipfrag_body(const char *msg, size_t len, server_part_t *part, char *boundary,
                        size_t blen)
{
    memset(part, 0, sizeof(*part));
    if (boundary && blen)
        boundary[0] = '\0';
    if (!msg || len == 0)
        return -EBADMSG;
    /* Request line: METHOD SP Request-URI SP SIP/2.0 */
    size_t next, e = line_end(msg, len, 0, &next);
    if (e < 14 || e >= len || memcmp(msg + e - 7, "SIP/2.0", 7) != 0 || !memchr(msg, ' ', e))
        return -EBADMSG;
    long c = part_headers(msg, len, next, part, boundary, blen);
    if (c < 0)
        return -EBADMSG;
    part->body = msg + c;
    part->len = len - (size_t)c;
    return 0;
}

int server_find_mcptt_info(const char *mime, const char *boundary, const char *body, size_t len,
                           const char **xml, size_t *xlen)
{
    if (!strcmp(mime, MIME_MCPTT_INFO)) {
        *xml = body;
        *xlen = len;
        return 0;
    }
    if (!strcmp(mime, MIME_MULTIPART)) {
        server_part_t parts[SERVER_MAX_PARTS];
        unsigned n;
        int rv = server_multipart_split(body, len, boundary, parts, SERVER_MAX_PARTS, &n);
        if (rv)
            return -EBADMSG;
        for (unsigned i = 0; i < n; i++) {
            if (!strcmp(parts[i].mime, MIME_MCPTT_INFO)) {
                *xml = parts[i].body;
                *xlen = parts[i].len;
                return 0;
            }
        }
        return -ENOENT;
    }
    return -ENOENT;
}

/* ---- mcptt-info ----------------------------------------------------------- */

static bool in_ns(const xmlNode *n)
{
    return n->ns && n->ns->href && !strcmp((const char *)n->ns->href, NS_MCPTT_INFO);
}

static const xmlNode *child(const xmlNode *parent, const char *name)
{
    for (const xmlNode *c = parent->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && in_ns(c) && !strcmp((const char *)c->name, name))
            return c;
    return NULL;
}

/* Trimmed text of <mcpttString> under el into out; -ENOENT, -E2BIG. */
static int string_of(const xmlNode *el, char *out, size_t outlen)
{
    const xmlNode *s = child(el, "mcpttString");
    if (!s)
        return -ENOENT;
    xmlChar *t = xmlNodeGetContent(s);
    if (!t)
        return -ENOENT;
    const char *p = (const char *)t;
    while (*p && isspace((unsigned char)*p))
        p++;
    size_t l = strlen(p);
    while (l > 0 && isspace((unsigned char)p[l - 1]))
        l--;
    int rv = 0;
    if (l == 0)
        rv = -ENOENT;
    else if (l + 1 > outlen)
        rv = -E2BIG;
    else {
        memcpy(out, p, l);
        out[l] = '\0';
    }
    xmlFree(t);
    return rv;
}

/* The type attribute: "Normal" (default when absent), "Encrypted", other. */
static int type_of(const xmlNode *el)
{
    xmlChar *t = xmlGetProp(el, (const xmlChar *)"type");
    int r = 0;
    if (t && !strcmp((const char *)t, "Encrypted"))
        r = 1;
    else if (t && strcmp((const char *)t, "Normal") != 0)
        r = 2;
    if (t)
        xmlFree(t);
    return r;
}

server_info_status_t server_mcptt_info_parse(const char *xml, size_t len, char *token,
                                             size_t toklen, char *client_id, size_t cidlen,
                                             char *why, size_t whylen)
{
    token[0] = '\0';
    client_id[0] = '\0';
    if (!xml || len == 0 || len > 65536) {
        snprintf(why, whylen, "mcptt-info is empty or too large");
        return SERVER_INFO_MALFORMED;
    }
    xmlDocPtr doc = xmlReadMemory(xml, (int)len, "mcptt-info.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        snprintf(why, whylen, "mcptt-info is not well-formed XML");
        return SERVER_INFO_MALFORMED;
    }
    server_info_status_t st = SERVER_INFO_OK;
    const xmlNode *root = xmlDocGetRootElement(doc);
    const xmlNode *params, *tok, *cid;
    if (doc->intSubset) {
        snprintf(why, whylen, "mcptt-info must not carry a DTD");
        st = SERVER_INFO_MALFORMED;
    } else if (!root || strcmp((const char *)root->name, "mcpttinfo") != 0 || !in_ns(root)) {
        snprintf(why, whylen, "mcptt-info root is not <mcpttinfo> in %s", NS_MCPTT_INFO);
        st = SERVER_INFO_MALFORMED;
    } else if (!(params = child(root, "mcptt-Params")) ||
               !(tok = child(params, "mcptt-access-token"))) {
        snprintf(why, whylen, "no access token in mcptt-info");
        st = SERVER_INFO_NO_TOKEN;
    } else if (type_of(tok) == 1) {
        snprintf(why, whylen, "encrypted mcptt-info not supported");
        st = SERVER_INFO_ENCRYPTED;
    } else if (type_of(tok) != 0) {
        snprintf(why, whylen, "mcptt-access-token has an unknown type");
        st = SERVER_INFO_MALFORMED;
    } else {
        int rv = string_of(tok, token, toklen);
        if (rv == -E2BIG) {
            snprintf(why, whylen, "access token longer than %zu bytes", toklen - 1);
            st = SERVER_INFO_MALFORMED;
        } else if (rv) {
            snprintf(why, whylen, "empty access token in mcptt-info");
            st = SERVER_INFO_NO_TOKEN;
        } else if ((cid = child(params, "mcptt-client-id")) != NULL) {
            if (type_of(cid) == 1) {
                snprintf(why, whylen, "encrypted mcptt-info not supported");
                st = SERVER_INFO_ENCRYPTED;
            } else if (type_of(cid) != 0 || string_of(cid, client_id, cidlen) == -E2BIG) {
                snprintf(why, whylen, "mcptt-client-id is malformed");
                st = SERVER_INFO_MALFORMED;
            }
        }
    }
    xmlFreeDoc(doc);
    if (st != SERVER_INFO_OK)
        token[0] = '\0';
    return st;
}

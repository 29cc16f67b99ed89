/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-server as an XCAP client of the CMS (libcurl): with the user's own
 * access token, read the user's XCAP directory and the user-profile
 * documents it lists, and decide whether a usable profile exists. Runs on
 * the SIP thread, blocking for at most cms_timeout_ms per request.
 */
#include "server-context.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#define AUID_DIR "org.openmobilealliance.xcap-directory"
#define AUID_PROFILE "org.3gpp.mcptt.user-profile"
#define NS_PROFILE "urn:3gpp:mcptt:user-profile:1.0"
#define CMS_BODY_MAX (512 * 1024)
#define CMS_MAX_PROFILES 8
#define CMS_PATH_MAX 1024 /* a document path relative to the XCAP root */

typedef struct {
    char *buf;
    size_t len;
    bool too_big;
} body_t;

static size_t on_data(char *p, size_t sz, size_t n, void *arg)
{
    body_t *b = arg;
    size_t add = sz * n;
    if (b->len + add > CMS_BODY_MAX) {
        b->too_big = true;
        return 0; /* abort the transfer */
    }
    char *nb = realloc(b->buf, b->len + add + 1);
    if (!nb)
        return 0;
    memcpy(nb + b->len, p, add);
    b->buf = nb;
    b->len += add;
    b->buf[b->len] = '\0';
    return add;
}

/* GET url with the bearer token; *status the HTTP status, 0 on transport failure. */
static int cms_get(const server_opts_t *o, const char *url, const char *token, long *status,
                   body_t *body, char *why, size_t whylen)
{
    *status = 0;
    memset(body, 0, sizeof(*body));
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(why, whylen, "cannot create an HTTP client");
        return -ENOMEM;
    }
    char auth[SERVER_TOKEN_MAX + 32];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    struct curl_slist *h = curl_slist_append(NULL, auth);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)o->cms_timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)o->cms_timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "mcx-server");
    CURLcode rc = curl_easy_perform(c);
    int rv = 0;
    if (rc != CURLE_OK) {
        snprintf(why, whylen, "CMS %s: %s", url,
                 body->too_big ? "answer too large" : curl_easy_strerror(rc));
        free(body->buf);
        body->buf = NULL;
        rv = -EIO;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rv;
}

/* Percent-encode an XUI for a path segment (keeps unreserved, ':' and '@'). */
static int encode_xui(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
        bool keep = isalnum(*p) || strchr("-._~:@+", *p);
        if (o + (keep ? 1 : 3) + 1 > outlen)
            return -ENAMETOOLONG;
        if (keep)
            out[o++] = (char)*p;
        else
            o += (size_t)snprintf(out + o, outlen - o, "%%%02X", *p);
    }
    out[o] = '\0';
    return 0;
}

static bool local_is(const xmlNode *n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && !strcmp((const char *)n->name, name);
}

/* First element named `name` at any depth under n (document order). */
static const xmlNode *find_el(const xmlNode *n, const char *name, unsigned depth)
{
    if (depth > 64)
        return NULL;
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (local_is(c, name))
            return c;
        const xmlNode *f = find_el(c, name, depth + 1);
        if (f)
            return f;
    }
    return NULL;
}

static xmlDocPtr parse(const char *xml, size_t len)
{
    if (len == 0 || len > CMS_BODY_MAX)
        return NULL;
    xmlDocPtr d = xmlReadMemory(xml, (int)len, "cms.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (d && d->intSubset) { /* no DTDs from the network */
        xmlFreeDoc(d);
        return NULL;
    }
    return d;
}

server_cms_result_t server_cms_profile_usable(const char *xml, size_t len, char *why, size_t whylen)
{
    xmlDocPtr d = parse(xml, len);
    if (!d) {
        snprintf(why, whylen, "user profile is not well-formed XML");
        return SERVER_CMS_UNAVAILABLE;
    }
    const xmlNode *root = xmlDocGetRootElement(d);
    server_cms_result_t r = SERVER_CMS_OK;
    if (!root || !local_is(root, "mcptt-user-profile") || !root->ns ||
        strcmp((const char *)root->ns->href, NS_PROFILE) != 0) {
        snprintf(why, whylen, "document is not an mcptt-user-profile");
        r = SERVER_CMS_NO_PROFILE;
    } else {
        /* <Status> (TS 24.484 user profile): enabled unless it says otherwise. */
        const xmlNode *s = find_el(root, "Status", 0);
        if (s) {
            xmlChar *t = xmlNodeGetContent(s);
            const char *v = t ? (const char *)t : "";
            while (isspace((unsigned char)*v))
                v++;
            if (!strncasecmp(v, "false", 5) || !strncasecmp(v, "disabled", 8) ||
                !strncmp(v, "0", 1)) {
                snprintf(why, whylen, "user profile is disabled");
                r = SERVER_CMS_DISABLED;
            }
            if (t)
                xmlFree(t);
        }
    }
    xmlFreeDoc(d);
    return r;
}

/* Profile document paths (relative to the XCAP root) listed in a directory. */
static unsigned directory_profiles(const char *xml, size_t len, char paths[][CMS_PATH_MAX],
                                   unsigned max)
{
    xmlDocPtr d = parse(xml, len);
    if (!d)
        return 0;
    unsigned n = 0;
    const xmlNode *root = xmlDocGetRootElement(d);
    for (const xmlNode *f = root ? root->children : NULL; f && n < max; f = f->next) {
        if (!local_is(f, "folder"))
            continue;
        xmlChar *auid = xmlGetProp(f, (const xmlChar *)"auid");
        bool ours = auid && !strcmp((const char *)auid, AUID_PROFILE);
        if (auid)
            xmlFree(auid);
        if (!ours)
            continue;
        for (const xmlNode *e = f->children; e && n < max; e = e->next) {
            if (!local_is(e, "entry"))
                continue;
            xmlChar *uri = xmlGetProp(e, (const xmlChar *)"uri");
            const char *at = uri ? strstr((const char *)uri, AUID_PROFILE "/") : NULL;
            if (at && !strstr(at, "..") && !strpbrk(at, " ?#\r\n") && strlen(at) < CMS_PATH_MAX)
                mcx_strlcpy(paths[n++], at, CMS_PATH_MAX);
            if (uri)
                xmlFree(uri);
        }
    }
    xmlFreeDoc(d);
    return n;
}

server_cms_result_t server_cms_check(const server_opts_t *o, const char *mcptt_id,
                                     const char *token, char *why, size_t whylen)
{
    char xui[SERVER_ID_MAX * 3];
    char url[SERVER_URL_MAX + CMS_PATH_MAX + 16];
    if (encode_xui(mcptt_id, xui, sizeof(xui))) {
        snprintf(why, whylen, "MCPTT ID too long");
        return SERVER_CMS_NO_PROFILE;
    }
    snprintf(url, sizeof(url), "%s/" AUID_DIR "/users/%s/directory.xml", o->cms_url, xui);
    long status;
    body_t b;
    if (cms_get(o, url, token, &status, &b, why, whylen))
        return SERVER_CMS_UNAVAILABLE;

    static char paths[CMS_MAX_PROFILES][CMS_PATH_MAX]; /* SIP thread only */
    unsigned n = 0;
    if (status == 200) {
        n = directory_profiles(b.buf, b.len, paths, CMS_MAX_PROFILES);
    } else if (status == 404) {
        /* A CMS without the directory AUID: try the first profile by name. */
        snprintf(paths[0], CMS_PATH_MAX, AUID_PROFILE "/users/%s/user-profile-0.xml", xui);
        n = 1;
    } else if (status == 401 || status == 403) {
        snprintf(why, whylen, "CMS refused the token (HTTP %ld)", status);
        free(b.buf);
        return SERVER_CMS_DENIED;
    } else {
        snprintf(why, whylen, "CMS answered HTTP %ld to the directory request", status);
        free(b.buf);
        return SERVER_CMS_UNAVAILABLE;
    }
    free(b.buf);
    if (n == 0) {
        snprintf(why, whylen, "no user profile for %s in the CMS", mcptt_id);
        return SERVER_CMS_NO_PROFILE;
    }
    server_cms_result_t best = SERVER_CMS_NO_PROFILE;
    snprintf(why, whylen, "no user profile for %s in the CMS", mcptt_id);
    for (unsigned i = 0; i < n; i++) {
        int k = snprintf(url, sizeof(url), "%s/%s", o->cms_url, paths[i]);
        if (k < 0 || (size_t)k >= sizeof(url))
            continue;
        char w[SERVER_REASON_MAX];
        if (cms_get(o, url, token, &status, &b, w, sizeof(w))) {
            mcx_strlcpy(why, w, whylen);
            return SERVER_CMS_UNAVAILABLE;
        }
        server_cms_result_t r;
        if (status == 200) {
            r = server_cms_profile_usable(b.buf, b.len, w, sizeof(w));
        } else if (status == 404) {
            r = SERVER_CMS_NO_PROFILE;
        } else if (status == 401 || status == 403) {
            snprintf(w, sizeof(w), "CMS refused the token (HTTP %ld)", status);
            r = SERVER_CMS_DENIED;
        } else {
            snprintf(w, sizeof(w), "CMS answered HTTP %ld to a profile request", status);
            r = SERVER_CMS_UNAVAILABLE;
        }
        free(b.buf);
        if (r == SERVER_CMS_OK)
            return r;
        if (r != SERVER_CMS_NO_PROFILE) {
            best = r;
            mcx_strlcpy(why, w, whylen);
            if (r == SERVER_CMS_UNAVAILABLE || r == SERVER_CMS_DENIED)
                return r;
        }
    }
    return best;
}

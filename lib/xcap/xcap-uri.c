/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * XCAP URI parsing (RFC 4825 §6): /<auid>/users/<XUI>/<doc> and
 * /<auid>/global/<doc>, each segment percent-decoded on its own, with the
 * refusals listed in mcx-xcap.h. Node selectors are not supported.
 */
#include <stdio.h>
#include <string.h>

#include "xcap-internal.h"

#define XCAP_MAX_SEGS 32

/* Decode raw[0..n) into out (size cap). 0, or a status with why. */
static unsigned seg_decode(const char *raw, size_t n, char *out, size_t cap, char *why,
                           size_t whylen)
{
    size_t o = 0;
    if (n == 0) {
        snprintf(why, whylen, "empty path segment");
        return 400;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c == '%') {
            int hi = i + 1 < n ? mcx_hex_digit((unsigned char)raw[i + 1]) : -1;
            int lo = i + 2 < n ? mcx_hex_digit((unsigned char)raw[i + 2]) : -1;
            int h = (hi >= 0 && lo >= 0) ? hi * 16 + lo : -1;
            if (h < 0) {
                snprintf(why, whylen, "bad percent-encoding");
                return 400;
            }
            c = (unsigned char)h;
            i += 2;
            if (c == '/') {
                snprintf(why, whylen, "encoded '/' in a path segment");
                return 400;
            }
        }
        if (c < 0x20 || c == 0x7f) {
            snprintf(why, whylen, "control character in the path");
            return 400;
        }
        if (o + 1 >= cap) {
            snprintf(why, whylen, "path segment too long");
            return 414;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0) {
        snprintf(why, whylen, "'.' or '..' segment");
        return 400;
    }
    return 0;
}

unsigned mcx_xcap_parse_uri(const mcx_xcap_t *x, const char *target, mcx_xcap_loc_t *loc,
                            char *why, size_t whylen)
{
    char segs[XCAP_MAX_SEGS][MCX_XCAP_DOC_MAX];
    unsigned nseg = 0;
    memset(loc, 0, sizeof(*loc));
    if (target == NULL || target[0] != '/') {
        snprintf(why, whylen, "path does not start with '/'");
        return 400;
    }
    size_t len = strcspn(target, "?#");
    if (len > MCX_XCAP_PATH_MAX) {
        snprintf(why, whylen, "path longer than %d bytes", MCX_XCAP_PATH_MAX);
        return 414;
    }
    size_t pos = 1;
    while (pos <= len) {
        size_t end = pos;
        while (end < len && target[end] != '/')
            end++;
        if (nseg >= XCAP_MAX_SEGS) {
            snprintf(why, whylen, "too many path segments");
            return 414;
        }
        unsigned st = seg_decode(target + pos, end - pos, segs[nseg], sizeof(segs[nseg]), why,
                                 whylen);
        if (st)
            return st;
        nseg++;
        pos = end + 1;
    }
    for (unsigned i = 0; i < nseg; i++) {
        if (strcmp(segs[i], "~~") == 0) {
            snprintf(why, whylen, "node selectors are not supported");
            return 501;
        }
    }
    if (strlen(segs[0]) >= sizeof(loc->auid)) {
        snprintf(why, whylen, "AUID too long");
        return 414;
    }
    mcx_strlcpy(loc->auid, segs[0], sizeof(loc->auid));
    const mcx_xcap_auid_t *au = x ? mcx_xcap_find(x, loc->auid) : NULL;
    if (x != NULL && au == NULL) {
        snprintf(why, whylen, "unknown AUID");
        return 404;
    }
    if (nseg < 2) {
        snprintf(why, whylen, "no users/ or global/ tree");
        return 404;
    }
    unsigned first_doc;
    if (strcmp(segs[1], "users") == 0) {
        loc->tree = MCX_XCAP_USERS;
        if (au && !au->users_tree) {
            snprintf(why, whylen, "AUID has no users tree");
            return 404;
        }
        if (nseg < 3) {
            snprintf(why, whylen, "no XUI");
            return 404;
        }
        if (mcx_strlcpy(loc->xui, segs[2], sizeof(loc->xui))) {
            snprintf(why, whylen, "XUI too long");
            return 414;
        }
        first_doc = 3;
    } else if (strcmp(segs[1], "global") == 0) {
        loc->tree = MCX_XCAP_GLOBAL;
        if (au && !au->global_tree) {
            snprintf(why, whylen, "AUID has no global tree");
            return 404;
        }
        first_doc = 2;
    } else {
        snprintf(why, whylen, "tree is neither users nor global");
        return 404;
    }
    if (nseg <= first_doc) {
        snprintf(why, whylen, "no document name");
        return 404;
    }
    size_t o = 0;
    for (unsigned i = first_doc; i < nseg; i++) {
        size_t l = strlen(segs[i]);
        if (o + l + 2 > sizeof(loc->doc)) {
            snprintf(why, whylen, "document name too long");
            return 414;
        }
        if (i > first_doc)
            loc->doc[o++] = '/';
        memcpy(loc->doc + o, segs[i], l);
        o += l;
    }
    loc->doc[o] = '\0';
    return 0;
}

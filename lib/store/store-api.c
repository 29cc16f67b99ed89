/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The public face of lib/store: argument checks, subscriber validation
 * (including the well-formedness of iFC XML with libxml2), the SQN
 * arithmetic every backend shares, names, and dispatch to the backend chosen
 * by mcx_store_config_t.backend. Owns the mcx_store_t handle.
 */
#include "store-backend.h"

#include "mcx-auth.h"
#include "mcx-core.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>

struct mcx_store {
    const mcx_store_backend_t *ops;
    void *be;
};

static const mcx_store_backend_t *const backends[] = {
    &mcx_store_sqlite_backend,
};

/* TS 33.102 Annex C.3.2 lets IND take at most a few bits; mcx_sqn_next allows 0..10. */
#define IND_BITS_MAX 10

#define IFC_ROOT_OPEN "<mcx-ifc-set>"
#define IFC_ROOT_CLOSE "</mcx-ifc-set>"
#define IFC_ELEMENT "InitialFilterCriteria"

void mcx_store_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------------------ */
/* Validation                                                               */
/* ------------------------------------------------------------------------ */

/* Length of `s` if it is NUL-terminated within `cap` bytes, else -1. */
static long bounded_len(const char *s, size_t cap)
{
    const char *nul = memchr(s, '\0', cap);
    return nul ? (long)(nul - s) : -1;
}

/* A byte that may not appear in an identity: controls, space, DEL. */
static bool bad_id_byte(unsigned char c)
{
    return c <= 0x20 || c == 0x7f;
}

static int check_identity(const char *what, const char *s, char *err, size_t errlen)
{
    long n = bounded_len(s, MCX_STORE_ID_MAX);
    if (n < 0) {
        mcx_store_errf(err, errlen, "%s: longer than %d bytes", what, MCX_STORE_ID_MAX - 1);
        return -EINVAL;
    }
    if (n == 0) {
        mcx_store_errf(err, errlen, "%s: empty", what);
        return -EINVAL;
    }
    for (long i = 0; i < n; i++) {
        if (bad_id_byte((unsigned char)s[i])) {
            mcx_store_errf(err, errlen, "%s: contains a space or control character at byte %ld",
                           what, i);
            return -EINVAL;
        }
    }
    return 0;
}

static bool impu_scheme_ok(const char *impu)
{
    static const char *const schemes[] = {"sip:", "sips:", "tel:"};
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t n = strlen(schemes[i]);
        /* URI schemes are case-insensitive (RFC 3986 §3.1); something must follow. */
        if (strncasecmp(impu, schemes[i], n) == 0 && impu[n] != '\0')
            return true;
    }
    return false;
}

static int check_ha1(const char *what, const char *hex, size_t cap, char *err, size_t errlen)
{
    long n = bounded_len(hex, cap);
    if (n < 0) {
        mcx_store_errf(err, errlen, "%s: not NUL-terminated", what);
        return -EINVAL;
    }
    if (n == 0)
        return 0;
    if ((size_t)n != cap - 1) {
        mcx_store_errf(err, errlen, "%s: expected %zu lower-case hex digits, got %ld", what,
                       cap - 1, n);
        return -EINVAL;
    }
    for (long i = 0; i < n; i++) {
        char c = hex[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            mcx_store_errf(err, errlen, "%s: character %ld is not a lower-case hex digit", what,
                           i + 1);
            return -EINVAL;
        }
    }
    return 0;
}

/*
 * libxml2 reports errors through a handler as well as in the context's
 * lastError; we read the latter and keep stderr quiet.
 */
static void xml_silent(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    (void)e;
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    /* Must run once before threads parse concurrently (libxml2 2.9 is not lazy-safe). */
    xmlInitParser();
}

/* Copy libxml2's message without its trailing newline. */
static void xml_reason(xmlParserCtxtPtr ctxt, char *err, size_t errlen)
{
    xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
    char msg[160] = "parse error";
    int line = 0;
    if (e && e->message) {
        snprintf(msg, sizeof(msg), "%s", e->message);
        size_t n = strlen(msg);
        while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            msg[--n] = '\0';
        line = e->line;
    }
    mcx_store_errf(err, errlen, "ifc_xml: not well-formed XML (line %d): %s", line, msg);
}

/*
 * The iFC text is a sequence of elements, not a document, so it is parsed
 * inside a wrapper element (on the same line, so line numbers stay right).
 * No network, no entity substitution: a DOCTYPE cannot appear inside an
 * element, so only the predefined entities exist.
 */
static int check_ifc(const char *xml, char *err, size_t errlen)
{
    long n = bounded_len(xml, MCX_STORE_IFC_MAX);
    if (n < 0) {
        mcx_store_errf(err, errlen, "ifc_xml: longer than %d bytes", MCX_STORE_IFC_MAX - 1);
        return -EINVAL;
    }
    if (n == 0)
        return 0;

    size_t len = strlen(IFC_ROOT_OPEN) + (size_t)n + strlen(IFC_ROOT_CLOSE);
    char *buf = malloc(len + 1);
    if (!buf)
        return -ENOMEM;
    snprintf(buf, len + 1, "%s%s%s", IFC_ROOT_OPEN, xml, IFC_ROOT_CLOSE);

    pthread_once(&xml_once, xml_init);
    int rv = 0;
    xmlParserCtxtPtr ctxt = xmlNewParserCtxt();
    if (!ctxt) {
        free(buf);
        return -ENOMEM;
    }
    ctxt->sax->serror = xml_silent;
    xmlDocPtr doc = xmlCtxtReadMemory(ctxt, buf, (int)len, "ifc.xml", "UTF-8",
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        xml_reason(ctxt, err, errlen);
        rv = -EINVAL;
        goto out;
    }

    unsigned count = 0;
    for (xmlNodePtr c = xmlDocGetRootElement(doc)->children; c && rv == 0; c = c->next) {
        switch (c->type) {
        case XML_ELEMENT_NODE:
            if (xmlStrcmp(c->name, (const xmlChar *)IFC_ELEMENT) != 0) {
                mcx_store_errf(err, errlen, "ifc_xml: line %d: <%s> where <%s> was expected",
                               c->line, (const char *)c->name, IFC_ELEMENT);
                rv = -EINVAL;
            }
            count++;
            break;
        case XML_TEXT_NODE:
            if (!xmlIsBlankNode(c)) {
                mcx_store_errf(err, errlen, "ifc_xml: text outside <%s>", IFC_ELEMENT);
                rv = -EINVAL;
            }
            break;
        case XML_COMMENT_NODE:
            break;
        default:
            mcx_store_errf(err, errlen, "ifc_xml: only <%s> elements and comments allowed",
                           IFC_ELEMENT);
            rv = -EINVAL;
            break;
        }
    }
    if (rv == 0 && count == 0) {
        mcx_store_errf(err, errlen, "ifc_xml: no <%s> element (use \"\" for none)", IFC_ELEMENT);
        rv = -EINVAL;
    }
    xmlFreeDoc(doc);
out:
    xmlFreeParserCtxt(ctxt);
    free(buf);
    return rv;
}

int mcx_store_subscriber_validate(const mcx_subscriber_t *sub, char *err, size_t errlen)
{
    if (!sub) {
        mcx_store_errf(err, errlen, "no subscriber");
        return -EINVAL;
    }
    int rv = check_identity("impi", sub->impi, err, errlen);
    if (rv)
        return rv;

    if (sub->n_impus < 1 || sub->n_impus > MCX_STORE_MAX_IMPU) {
        mcx_store_errf(err, errlen, "impus: %u given, 1..%d allowed", sub->n_impus,
                       MCX_STORE_MAX_IMPU);
        return -EINVAL;
    }
    for (unsigned i = 0; i < sub->n_impus; i++) {
        char what[32];
        snprintf(what, sizeof(what), "impus[%u]", i);
        const char *impu = sub->impus[i].impu;
        rv = check_identity(what, impu, err, errlen);
        if (rv)
            return rv;
        if (!impu_scheme_ok(impu)) {
            mcx_store_errf(err, errlen, "%s: '%s' is not a sip:, sips: or tel: URI", what, impu);
            return -EINVAL;
        }
        for (unsigned j = 0; j < i; j++) {
            if (strcmp(sub->impus[j].impu, impu) == 0) {
                mcx_store_errf(err, errlen, "%s: '%s' is listed twice", what, impu);
                return -EINVAL;
            }
        }
    }

    if (!sub->has_aka && !sub->has_digest) {
        mcx_store_errf(err, errlen, "no credentials: neither AKA nor digest");
        return -EINVAL;
    }
    if (sub->has_aka && sub->sqn > MCX_SQN_MAX) {
        mcx_store_errf(err, errlen, "sqn: %llu is more than 48 bits", (unsigned long long)sub->sqn);
        return -EINVAL;
    }
    if (sub->has_digest) {
        long n = bounded_len(sub->digest_realm, sizeof(sub->digest_realm));
        if (n <= 0) {
            mcx_store_errf(err, errlen, "digest_realm: %s", n == 0 ? "empty" : "too long");
            return -EINVAL;
        }
        /* The realm is sent as a quoted-string (RFC 2617 §1.2). */
        for (long i = 0; i < n; i++) {
            unsigned char c = (unsigned char)sub->digest_realm[i];
            if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
                mcx_store_errf(err, errlen,
                               "digest_realm: control character, quote or backslash at byte %ld",
                               i);
                return -EINVAL;
            }
        }
        rv = check_ha1("ha1_md5", sub->ha1_md5, sizeof(sub->ha1_md5), err, errlen);
        if (rv)
            return rv;
        rv = check_ha1("ha1_sha256", sub->ha1_sha256, sizeof(sub->ha1_sha256), err, errlen);
        if (rv)
            return rv;
        if (sub->ha1_md5[0] == '\0' && sub->ha1_sha256[0] == '\0') {
            mcx_store_errf(err, errlen, "digest: neither ha1_md5 nor ha1_sha256 given");
            return -EINVAL;
        }
    }

    switch (sub->default_scheme) {
    case MCX_SCHEME_AKAV1_MD5:
        if (!sub->has_aka) {
            mcx_store_errf(err, errlen, "default_scheme: %s without AKA credentials",
                           mcx_store_scheme_name(sub->default_scheme));
            return -EINVAL;
        }
        break;
    case MCX_SCHEME_SIP_DIGEST:
        if (!sub->has_digest) {
            mcx_store_errf(err, errlen, "default_scheme: %s without digest credentials",
                           mcx_store_scheme_name(sub->default_scheme));
            return -EINVAL;
        }
        break;
    default:
        mcx_store_errf(err, errlen, "default_scheme: unknown value %d", (int)sub->default_scheme);
        return -EINVAL;
    }

    return check_ifc(sub->ifc_xml, err, errlen);
}

/* A lookup key: NULL, empty or over-long cannot name anything stored. */
static bool key_ok(const char *s)
{
    return s && s[0] != '\0' && strnlen(s, MCX_STORE_ID_MAX) < MCX_STORE_ID_MAX;
}

/* ------------------------------------------------------------------------ */
/* SQN arithmetic (TS 33.102 Annex C)                                       */
/* ------------------------------------------------------------------------ */

void mcx_store_sqn_fill(uint64_t start, unsigned count, unsigned ind_bits, unsigned ind,
                        uint64_t *sqns)
{
    uint64_t last = start;
    for (unsigned i = 0; i < count; i++) {
        last = mcx_sqn_next(last, ind_bits, ind);
        sqns[i] = last;
    }
}

/* ------------------------------------------------------------------------ */
/* Handle and dispatch                                                      */
/* ------------------------------------------------------------------------ */

int mcx_store_open(const mcx_store_config_t *cfg, mcx_store_t **out, char *err, size_t errlen)
{
    if (!cfg || !out) {
        mcx_store_errf(err, errlen, "no configuration");
        return -EINVAL;
    }
    *out = NULL;
    const char *name = cfg->backend;
    if (bounded_len(name, sizeof(cfg->backend)) < 0) {
        mcx_store_errf(err, errlen, "backend: not NUL-terminated");
        return -EINVAL;
    }
    if (name[0] == '\0')
        name = "sqlite";
    const mcx_store_backend_t *ops = NULL;
    for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
        if (strcmp(backends[i]->name, name) == 0)
            ops = backends[i];
    }
    if (!ops) {
        mcx_store_errf(err, errlen, "backend: unknown '%s' (known: sqlite)", name);
        return -EINVAL;
    }
    long plen = bounded_len(cfg->path, sizeof(cfg->path));
    if (plen <= 0) {
        mcx_store_errf(err, errlen, "path: %s", plen == 0 ? "empty" : "too long");
        return -EINVAL;
    }
    if (cfg->sync != MCX_STORE_SYNC_NORMAL && cfg->sync != MCX_STORE_SYNC_FULL) {
        mcx_store_errf(err, errlen, "sync: unknown value %d", (int)cfg->sync);
        return -EINVAL;
    }

    pthread_once(&xml_once, xml_init);

    mcx_store_t *st = calloc(1, sizeof(*st));
    if (!st) {
        mcx_store_errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    st->ops = ops;
    int rv = ops->open(cfg, &st->be, err, errlen);
    if (rv) {
        free(st);
        return rv;
    }
    *out = st;
    return 0;
}

void mcx_store_close(mcx_store_t *st)
{
    if (!st)
        return;
    st->ops->close(st->be);
    free(st);
}

int mcx_store_schema_version(mcx_store_t *st)
{
    if (!st)
        return -EINVAL;
    return st->ops->schema_version(st->be);
}

int mcx_store_schema_latest(void)
{
    /* Every backend carries the same logical schema; SQLite is the reference. */
    return mcx_store_sqlite_backend.schema_latest();
}

int mcx_store_subscriber_add(mcx_store_t *st, const mcx_subscriber_t *sub, char *err, size_t errlen)
{
    if (!st) {
        mcx_store_errf(err, errlen, "no store");
        return -EINVAL;
    }
    int rv = mcx_store_subscriber_validate(sub, err, errlen);
    if (rv)
        return rv;
    return st->ops->subscriber_add(st->be, sub, err, errlen);
}

int mcx_store_subscriber_update(mcx_store_t *st, const mcx_subscriber_t *sub, char *err,
                                size_t errlen)
{
    if (!st) {
        mcx_store_errf(err, errlen, "no store");
        return -EINVAL;
    }
    int rv = mcx_store_subscriber_validate(sub, err, errlen);
    if (rv)
        return rv;
    return st->ops->subscriber_update(st->be, sub, err, errlen);
}

int mcx_store_subscriber_delete(mcx_store_t *st, const char *impi)
{
    if (!st || !key_ok(impi))
        return -EINVAL;
    return st->ops->subscriber_delete(st->be, impi);
}

int mcx_store_subscriber_get(mcx_store_t *st, const char *impi, mcx_subscriber_t *out)
{
    if (!st || !key_ok(impi) || !out)
        return -EINVAL;
    return st->ops->subscriber_get(st->be, impi, out);
}

int mcx_store_impi_by_impu(mcx_store_t *st, const char *impu, char *impi, size_t impilen)
{
    if (!st || !key_ok(impu) || !impi || impilen == 0)
        return -EINVAL;
    return st->ops->impi_by_impu(st->be, impu, impi, impilen);
}

/*
 * Page through the backend so that no lock is held while `cb` runs: a
 * callback may itself read from the store (mcxctl's list does).
 */
int mcx_store_subscriber_list(mcx_store_t *st, int (*cb)(void *arg, const char *impi), void *arg)
{
    if (!st || !cb)
        return -EINVAL;
    char(*page)[MCX_STORE_ID_MAX] = malloc(MCX_STORE_LIST_PAGE * sizeof(*page));
    if (!page)
        return -ENOMEM;
    char after[MCX_STORE_ID_MAX] = "";
    int rv = 0;
    for (;;) {
        unsigned n = 0;
        rv = st->ops->subscriber_list_page(st->be, after, page, MCX_STORE_LIST_PAGE, &n);
        if (rv)
            break;
        for (unsigned i = 0; i < n && rv == 0; i++)
            rv = cb(arg, page[i]);
        if (rv || n < MCX_STORE_LIST_PAGE)
            break;
        memcpy(after, page[n - 1], sizeof(after));
    }
    free(page);
    return rv;
}

int mcx_store_sqn_reserve(mcx_store_t *st, const char *impi, unsigned count, unsigned ind_bits,
                          unsigned ind, const uint64_t *resync_sqn_ms, uint64_t *sqns)
{
    if (!st || !key_ok(impi) || !sqns)
        return -EINVAL;
    if (count < 1 || count > MCX_STORE_MAX_SQN_BATCH)
        return -EINVAL;
    if (ind_bits > IND_BITS_MAX || (ind >> ind_bits) != 0)
        return -EINVAL;
    if (resync_sqn_ms && *resync_sqn_ms > MCX_SQN_MAX)
        return -EINVAL;
    return st->ops->sqn_reserve(st->be, impi, count, ind_bits, ind, resync_sqn_ms, sqns);
}

int mcx_store_sqn_set(mcx_store_t *st, const char *impi, uint64_t sqn)
{
    if (!st || !key_ok(impi) || sqn > MCX_SQN_MAX)
        return -EINVAL;
    return st->ops->sqn_set(st->be, impi, sqn);
}

int mcx_store_reg_set(mcx_store_t *st, const char *impi, const char *impu, mcx_reg_state_t state,
                      const char *scscf_name)
{
    if (!st || !key_ok(impi) || (impu && !key_ok(impu)))
        return -EINVAL;
    if (state != MCX_REG_NOT_REGISTERED && state != MCX_REG_REGISTERED &&
        state != MCX_REG_UNREGISTERED)
        return -EINVAL;
    if (scscf_name && scscf_name[0] != '\0' &&
        check_identity("scscf_name", scscf_name, NULL, 0) != 0)
        return -EINVAL;
    return st->ops->reg_set(st->be, impi, impu, state, scscf_name);
}

/* ------------------------------------------------------------------------ */
/* Names                                                                    */
/* ------------------------------------------------------------------------ */

const char *mcx_store_scheme_name(mcx_auth_scheme_t s)
{
    switch (s) {
    case MCX_SCHEME_AKAV1_MD5:
        return "Digest-AKAv1-MD5";
    case MCX_SCHEME_SIP_DIGEST:
        return "SIP Digest";
    }
    return "unknown";
}

int mcx_store_scheme_parse(const char *s, mcx_auth_scheme_t *out)
{
    if (!s || !out)
        return -EINVAL;
    /* TS 29.229 §6.3.2 spells the values; accept any case, as operators type them. */
    if (strcasecmp(s, "Digest-AKAv1-MD5") == 0 || strcasecmp(s, "aka") == 0) {
        *out = MCX_SCHEME_AKAV1_MD5;
        return 0;
    }
    if (strcasecmp(s, "SIP Digest") == 0 || strcasecmp(s, "digest") == 0) {
        *out = MCX_SCHEME_SIP_DIGEST;
        return 0;
    }
    return -EINVAL;
}

const char *mcx_store_reg_state_name(mcx_reg_state_t s)
{
    switch (s) {
    case MCX_REG_NOT_REGISTERED:
        return "not registered";
    case MCX_REG_REGISTERED:
        return "registered";
    case MCX_REG_UNREGISTERED:
        return "unregistered";
    }
    return "unknown";
}

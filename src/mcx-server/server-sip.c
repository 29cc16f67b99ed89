/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-server's SIP side (SIP-2) on libre: a UAS for the third-party
 * REGISTER of the S-CSCF (TS 24.229 §5.4.1.7, TS 24.379 §7.3.1 option a)
 * and PUBLISH of poc-settings (option b, RFC 3903). Threading: everything
 * here runs on the main thread inside re_main; the store is the only thing
 * shared with the HTTP workers.
 */
#include "server-context.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Not <re.h>: its re_json.h clashes with jansson (through mcx-jose.h). */
#include <re_types.h>
#include <re_fmt.h>
#include <re_mem.h>
#include <re_mbuf.h>
#include <re_list.h>
#include <re_sa.h>
#include <re_tmr.h>
#include <re_main.h>
#include <re_msg.h>
#include <re_uri.h>
#include <re_sip.h>
#include <re_sys.h>

#include "server-body.h"

#define ALLOW "Allow: REGISTER, PUBLISH, OPTIONS\r\n"
#define ACCEPT "Accept: " MIME_MULTIPART ", " MIME_MCPTT_INFO "\r\n"

typedef struct {
    server_ctx_t *ctx;
    struct sip *sip;
    struct sip_lsnr *lsnr;
    struct tmr sweep;
    struct uri psi;
    struct pl psi_pl;
    int sfd;
} server_sip_t;

/* ---- replies ---------------------------------------------------------------- */

/* A quoted-string-safe copy of text (for Warning and reason phrases). */
static void sanitize(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (; *in && o + 1 < outlen; in++)
        out[o++] = (*in == '"' || *in == '\\' || (unsigned char)*in < 32) ? '\'' : *in;
    out[o] = '\0';
}

/* Final response with optional extra header lines (each ending CRLF), no body. */
static void reply(server_sip_t *s, const struct sip_msg *msg, uint16_t code, const char *phrase,
                  const char *extra)
{
    int err = sip_treplyf(NULL, NULL, s->sip, msg, false, code, phrase,
                          "%sContent-Length: 0\r\n\r\n", extra ? extra : "");
    if (err)
        MCX_WARN("cannot answer %.*s: %s", (int)msg->met.l, msg->met.p, strerror(err));
}

/* A refusal: status, a phrase, Warning: 399 <host> "<why>", one log line. */
static void refuse(server_sip_t *s, const struct sip_msg *msg, uint16_t code, const char *phrase,
                   const char *extra, const char *who, const char *why)
{
    char w[SERVER_REASON_MAX], hdrs[SERVER_REASON_MAX + 512];
    sanitize(why, w, sizeof(w));
    snprintf(hdrs, sizeof(hdrs), "%sWarning: 399 %s \"%s\"\r\n", extra ? extra : "",
             s->ctx->warn_host, w);
    char src[64];
    re_snprintf(src, sizeof(src), "%J", &msg->src);
    MCX_NOTICE("%.*s from %s (%s): %u %s: %s", (int)msg->met.l, msg->met.p, src,
               who && who[0] ? who : "?", code, phrase, w);
    if (!strncmp(msg->met.p, "PUBLISH", 7))
        atomic_fetch_add(&s->ctx->stats.publish_refused, 1);
    else
        atomic_fetch_add(&s->ctx->stats.other_refused, 1);
    reply(s, msg, code, phrase, hdrs);
}

/* ---- identities ------------------------------------------------------------ */

/* addr-spec without parameters or headers into out. */
static int uri_of(const struct pl *auri, char *out, size_t outlen)
{
    size_t l = auri->l;
    for (size_t i = 0; i < auri->l; i++)
        if (auri->p[i] == ';' || auri->p[i] == '?') {
            l = i;
            break;
        }
    if (l == 0 || l >= outlen)
        return -EINVAL;
    memcpy(out, auri->p, l);
    out[l] = '\0';
    return 0;
}

typedef struct {
    char *out;
    size_t len;
    bool found;
} pai_t;

static bool pai_cb(const struct sip_hdr *hdr, const struct sip_msg *msg, void *arg)
{
    pai_t *p = arg;
    struct sip_addr a;
    (void)msg;
    if (sip_addr_decode(&a, &hdr->val))
        return false;
    if (a.auri.l >= 4 && !strncasecmp(a.auri.p, "sip:", 4) && !uri_of(&a.auri, p->out, p->len)) {
        p->found = true;
        return true; /* stop: first SIP URI */
    }
    return false;
}

/* Served user (TS 24.229): P-Asserted-Identity's SIP URI, else From. */
static int served_user(const struct sip_msg *msg, char *out, size_t len)
{
    pai_t p = {.out = out, .len = len};
    sip_msg_xhdr_apply(msg, true, "P-Asserted-Identity", pai_cb, &p);
    if (p.found)
        return 0;
    return uri_of(&msg->from.auri, out, len);
}

/* Content-Type of the request: media type and boundary; -ENOENT when absent. */
static int content_type(const struct sip_msg *msg, char *mime, size_t ml, char *bd, size_t bl)
{
    const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_CONTENT_TYPE);
    if (!h)
        return -ENOENT;
    return server_ctype_parse(h->val.p, h->val.l, mime, ml, bd, bl);
}

static bool expires_of(const struct pl *pl, uint32_t *out)
{
    if (!pl_isset(pl) || pl->l == 0 || pl->l > 10)
        return false;
    for (size_t i = 0; i < pl->l; i++)
        if (pl->p[i] < '0' || pl->p[i] > '9')
            return false;
    uint64_t v = pl_u64(pl);
    *out = v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
    return true;
}

static void new_etag(char *out)
{
    uint8_t b[16];
    if (mcx_random_bytes(b, sizeof(b)))
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = (uint8_t)(mcx_now_us() >> (i % 8));
    mcx_hex_encode(b, sizeof(b), out);
}

/* ---- REGISTER (third-party) ---------------------------------------------------- */

typedef struct {
    uint32_t e;
    bool found;
} contact_exp_t;

static bool contact_cb(const struct sip_hdr *hdr, const struct sip_msg *msg, void *arg)
{
    contact_exp_t *c = arg;
    struct sip_addr a;
    struct pl v;
    (void)msg;
    if (!sip_addr_decode(&a, &hdr->val) && !msg_param_decode(&a.params, "expires", &v) &&
        expires_of(&v, &c->e)) {
        c->found = true;
        return true;
    }
    return false;
}

/*
 * mcptt-info in a third-party REGISTER body (option a): message/sip, alone
 * or as a part of multipart/mixed. Returns 0 with xml set, -ENOENT when
 * there is none, -EBADMSG when the body is malformed.
 */
static int register_mcptt_info(const struct sip_msg *msg, const char **xml, size_t *xlen)
{
    const char *body = (const char *)mbuf_buf(msg->mb);
    size_t len = mbuf_get_left(msg->mb);
    char mime[SERVER_MIME_MAX], bd[SERVER_BOUNDARY_MAX + 1];
    if (len == 0)
        return -ENOENT;
    int rv = content_type(msg, mime, sizeof(mime), bd, sizeof(bd));
    if (rv == -ENOENT)
        return -ENOENT;
    if (rv)
        return -EBADMSG;
    server_part_t one, parts[SERVER_MAX_PARTS];
    unsigned n = 0;
    if (!strcmp(mime, MIME_MULTIPART)) {
        if (server_multipart_split(body, len, bd, parts, SERVER_MAX_PARTS, &n))
            return -EBADMSG;
    } else {
        mcx_strlcpy(one.mime, mime, sizeof(one.mime));
        one.body = body;
        one.len = len;
        parts[0] = one;
        n = 1;
    }
    for (unsigned i = 0; i < n; i++) {
        if (!strcmp(parts[i].mime, MIME_MESSAGE_SIP)) {
            server_part_t inner;
            char ibd[SERVER_BOUNDARY_MAX + 1];
            if (server_sipfrag_body(parts[i].body, parts[i].len, &inner, ibd, sizeof(ibd)))
                return -EBADMSG;
            if (!inner.mime[0] || inner.len == 0)
                continue;
            rv = server_find_mcptt_info(inner.mime, ibd, inner.body, inner.len, xml, xlen);
            if (rv != -ENOENT)
                return rv;
        } else if (!strcmp(parts[i].mime, MIME_MCPTT_INFO)) {
            *xml = parts[i].body;
            *xlen = parts[i].len;
            return 0;
        }
        /* application/3gpp-ims+xml (service-info) and others: accepted, ignored */
    }
    return -ENOENT;
}

static void on_register(server_sip_t *s, const struct sip_msg *msg)
{
    server_ctx_t *ctx = s->ctx;
    char impu[SERVER_ID_MAX];
    if (uri_of(&msg->to.auri, impu, sizeof(impu))) {
        refuse(s, msg, 400, "Bad Request - no usable To URI", NULL, NULL, "no usable To URI");
        return;
    }
    uint32_t exp = 3600;
    contact_exp_t ce = {0};
    const struct sip_hdr *contact = sip_msg_hdr(msg, SIP_HDR_CONTACT);
    if (!expires_of(&msg->expires, &exp)) {
        if (pl_isset(&msg->expires)) {
            refuse(s, msg, 400, "Bad Request - bad Expires", NULL, impu, "bad Expires value");
            return;
        }
        sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_cb, &ce);
        if (ce.found)
            exp = ce.e;
    }
    char extra[2048];
    int64_t now = server_now();
    if (exp == 0) {
        bool had;
        if (server_store_deregister(&ctx->store, impu, &had)) {
            reply(s, msg, 500, "Server Internal Error", NULL);
            return;
        }
        atomic_fetch_add(&ctx->stats.deregister, 1);
        MCX_NOTICE("REGISTER %s: de-registered%s", impu,
                   had ? "; service authorization dropped" : "");
        if (contact)
            snprintf(extra, sizeof(extra), "Contact: %.*s;expires=0\r\nExpires: 0\r\n",
                     (int)contact->val.l, contact->val.p);
        else
            snprintf(extra, sizeof(extra), "Expires: 0\r\n");
        reply(s, msg, 200, "OK", extra);
        return;
    }

    /* Option (a): the UE's REGISTER inside, with its mcptt-info. */
    const char *xml = NULL;
    size_t xlen = 0;
    int rv = register_mcptt_info(msg, &xml, &xlen);
    if (rv == -EBADMSG) {
        refuse(s, msg, 400, "Bad Request - malformed body", NULL, impu,
               "malformed message/sip or multipart body");
        return;
    }
    server_authz_t a;
    server_verdict_t v = {.code = 0};
    if (rv == 0)
        server_authorize(ctx, impu, xml, xlen, &a, &v);

    bool pending;
    if (server_store_register(&ctx->store, impu, now + exp, now, &pending)) {
        reply(s, msg, 500, "Server Internal Error", NULL);
        return;
    }
    atomic_fetch_add(&ctx->stats.register_ok, 1);
    char warn[SERVER_REASON_MAX + 256] = "";
    if (v.code == 200) {
        mcx_strlcpy(a.via, "register", sizeof(a.via));
        a.pub_exp = a.token_exp;
        if (server_store_put_authz(&ctx->store, &a)) {
            reply(s, msg, 500, "Server Internal Error", NULL);
            return;
        }
        MCX_NOTICE("REGISTER %s: registered for %u s; service authorized as %s (mcptt-info "
                   "in the REGISTER body)",
                   impu, exp, a.mcptt_id);
    } else if (v.code) {
        char w[SERVER_REASON_MAX];
        sanitize(v.reason, w, sizeof(w));
        snprintf(warn, sizeof(warn), "Warning: 399 %s \"service authorization refused: %s\"\r\n",
                 ctx->warn_host, w);
        MCX_NOTICE("REGISTER %s: registered for %u s; service authorization refused: %s", impu, exp,
                   w);
    } else {
        MCX_NOTICE("REGISTER %s: registered for %u s%s", impu, exp,
                   pending ? "; pending service authorization now in force" : "");
    }
    /* RFC 3261 §10.3 step 8: the binding and its expiry go back in the 200. */
    if (contact)
        snprintf(extra, sizeof(extra), "Contact: %.*s;expires=%u\r\nExpires: %u\r\n%s",
                 (int)contact->val.l, contact->val.p, exp, exp, warn);
    else
        snprintf(extra, sizeof(extra), "Expires: %u\r\n%s", exp, warn);
    reply(s, msg, 200, "OK", extra);
}

/* ---- PUBLISH (poc-settings) ------------------------------------------------------ */

static bool event_is_poc_settings(const struct sip_msg *msg)
{
    const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_EVENT);
    if (!h)
        return false;
    struct pl v = h->val;
    size_t l = 0;
    while (l < v.l && v.p[l] != ';' && v.p[l] != ' ' && v.p[l] != '\t')
        l++;
    return l == 12 && !strncasecmp(v.p, "poc-settings", 12);
}

static bool ruri_is_psi(server_sip_t *s, const struct sip_msg *msg)
{
    return !pl_casecmp(&msg->uri.user, &s->psi.user) && !pl_casecmp(&msg->uri.host, &s->psi.host);
}

static void on_publish(server_sip_t *s, const struct sip_msg *msg)
{
    server_ctx_t *ctx = s->ctx;
    const server_opts_t *o = &ctx->cfg->server;
    char impu[SERVER_ID_MAX];
    if (served_user(msg, impu, sizeof(impu))) {
        refuse(s, msg, 400, "Bad Request - no served user", NULL, NULL,
               "no usable P-Asserted-Identity or From");
        return;
    }
    if (!ruri_is_psi(s, msg)) {
        refuse(s, msg, 404, "Not Found", NULL, impu, "Request-URI is not this server's PSI");
        return;
    }
    if (!event_is_poc_settings(msg)) {
        refuse(s, msg, 489, "Bad Event", "Allow-Events: poc-settings\r\n", impu,
               "only Event: poc-settings is accepted");
        return;
    }
    uint32_t exp = o->publish_expires;
    if (pl_isset(&msg->expires) && !expires_of(&msg->expires, &exp)) {
        refuse(s, msg, 400, "Bad Request - bad Expires", NULL, impu, "bad Expires value");
        return;
    }
    if (exp > o->publish_max_expires)
        exp = o->publish_max_expires;

    const char *body = (const char *)mbuf_buf(msg->mb);
    size_t blen = mbuf_get_left(msg->mb);
    const struct sip_hdr *ifm = sip_msg_xhdr(msg, "SIP-If-Match");
    char etag[40] = "", extra[256];
    int64_t now = server_now();
    server_authz_t old;
    if (ifm) {
        if (ifm->val.l == 0 || ifm->val.l >= sizeof(etag)) {
            refuse(s, msg, 412, "Conditional Request Failed", NULL, impu, "unknown entity tag");
            return;
        }
        memcpy(etag, ifm->val.p, ifm->val.l);
        etag[ifm->val.l] = '\0';
        if (server_store_get_by_etag(&ctx->store, etag, &old) || strcmp(old.impu, impu) != 0) {
            refuse(s, msg, 412, "Conditional Request Failed", NULL, impu, "unknown entity tag");
            return;
        }
        if (blen == 0) {
            if (exp == 0) { /* RFC 3903 §4.5: removal */
                server_store_remove_etag(&ctx->store, etag);
                MCX_NOTICE("PUBLISH %s: publication removed; service authorization ended", impu);
                snprintf(extra, sizeof(extra), "SIP-ETag: %s\r\nExpires: 0\r\n", etag);
                reply(s, msg, 200, "OK", extra);
                return;
            }
            char fresh[40];
            new_etag(fresh);
            if (server_store_refresh(&ctx->store, etag, fresh, now + exp)) {
                refuse(s, msg, 412, "Conditional Request Failed", NULL, impu, "unknown entity tag");
                return;
            }
            atomic_fetch_add(&ctx->stats.refresh, 1);
            MCX_INFO("PUBLISH %s: publication refreshed for %u s", impu, exp);
            snprintf(extra, sizeof(extra), "SIP-ETag: %s\r\nExpires: %u\r\n", fresh, exp);
            reply(s, msg, 200, "OK", extra);
            return;
        }
        /* a body with SIP-If-Match: modify, i.e. authorize afresh below */
    } else if (blen == 0) {
        refuse(s, msg, 400, "Bad Request - no body", NULL, impu,
               "PUBLISH without a body needs SIP-If-Match");
        return;
    }
    if (exp == 0) {
        refuse(s, msg, 400, "Bad Request - Expires 0", NULL, impu,
               "Expires 0 is only meaningful with SIP-If-Match");
        return;
    }

    char mime[SERVER_MIME_MAX], bd[SERVER_BOUNDARY_MAX + 1];
    int rv = content_type(msg, mime, sizeof(mime), bd, sizeof(bd));
    if (rv == -ENOENT ||
        (rv == 0 && strcmp(mime, MIME_MULTIPART) != 0 && strcmp(mime, MIME_MCPTT_INFO) != 0)) {
        refuse(s, msg, 415, "Unsupported Media Type", ACCEPT, impu,
               "body must be multipart/mixed or mcptt-info");
        return;
    }
    if (rv) {
        refuse(s, msg, 400, "Bad Request - malformed Content-Type", NULL, impu,
               "malformed Content-Type");
        return;
    }
    if (!strcmp(mime, MIME_MULTIPART) && !bd[0]) {
        refuse(s, msg, 400, "Bad Request - multipart without boundary", NULL, impu,
               "multipart/mixed without a boundary");
        return;
    }
    const char *xml;
    size_t xlen;
    rv = server_find_mcptt_info(mime, bd, body, blen, &xml, &xlen);
    if (rv == -EBADMSG) {
        refuse(s, msg, 400, "Bad Request - malformed multipart", NULL, impu,
               "malformed multipart body");
        return;
    }
    if (rv) {
        refuse(s, msg, 403, "Forbidden", NULL, impu, "no mcptt-info (no access token)");
        return;
    }
    server_authz_t a;
    server_verdict_t v;
    server_authorize(ctx, impu, xml, xlen, &a, &v);
    if (v.code != 200) {
        const char *phrase = v.code == 400   ? "Bad Request - malformed mcptt-info"
                             : v.code == 503 ? "Service Unavailable"
                                             : "Forbidden";
        refuse(s, msg, (uint16_t)v.code, phrase, v.code == 503 ? "Retry-After: 5\r\n" : NULL, impu,
               v.reason);
        return;
    }
    new_etag(a.etag);
    a.pub_exp = now + exp;
    mcx_strlcpy(a.via, "publish", sizeof(a.via));
    if (etag[0])
        server_store_remove_etag(&ctx->store, etag);
    if (server_store_put_authz(&ctx->store, &a)) {
        reply(s, msg, 500, "Server Internal Error", NULL);
        return;
    }
    atomic_fetch_add(&ctx->stats.publish_ok, 1);
    bool reg = server_store_registered(&ctx->store, impu, now);
    MCX_NOTICE("PUBLISH %s: service %s as %s (client %s, token valid %lld s)", impu,
               reg ? "authorized" : "authorization pending registration", a.mcptt_id,
               a.client_id[0] ? a.client_id : "-", (long long)(a.token_exp - now));
    snprintf(extra, sizeof(extra), "SIP-ETag: %s\r\nExpires: %u\r\n", a.etag, exp);
    reply(s, msg, 200, "OK", extra);
}

/* ---- dispatch ------------------------------------------------------------------ */

static bool method_is(const struct sip_msg *msg, const char *m)
{
    return !pl_strcmp(&msg->met, m);
}

static bool on_request(const struct sip_msg *msg, void *arg)
{
    server_sip_t *s = arg;
    if (method_is(msg, "ACK"))
        return true;
    if (method_is(msg, "REGISTER")) {
        on_register(s, msg);
    } else if (method_is(msg, "PUBLISH")) {
        on_publish(s, msg);
    } else if (method_is(msg, "OPTIONS")) {
        reply(s, msg, 200, "OK",
              ALLOW "Accept: " MIME_MULTIPART ", " MIME_MCPTT_INFO ", " MIME_MESSAGE_SIP "\r\n");
    } else if (method_is(msg, "CANCEL")) {
        reply(s, msg, 481, "Call/Transaction Does Not Exist", NULL);
    } else {
        static const char *const known[] = {"INVITE", "BYE",   "PRACK",   "SUBSCRIBE", "NOTIFY",
                                            "INFO",   "REFER", "MESSAGE", "UPDATE",    NULL};
        bool k = false;
        for (unsigned i = 0; known[i]; i++)
            k |= method_is(msg, known[i]);
        /* RFC 3261 §8.2.1: 405 for a method we know but do not serve, 501 otherwise. */
        if (k)
            refuse(s, msg, 405, "Method Not Allowed", ALLOW, NULL, "method not served here");
        else
            refuse(s, msg, 501, "Not Implemented", ALLOW, NULL, "unknown method");
    }
    return true;
}

/* ---- loop --------------------------------------------------------------------- */

static void sweep_due(void *arg)
{
    server_sip_t *s = arg;
    server_store_sweep(&s->ctx->store, server_now());
    tmr_start(&s->sweep, 1000, sweep_due, s);
}

static void signal_readable(int flags, void *arg)
{
    server_sip_t *s = arg;
    struct signalfd_siginfo si;
    (void)flags;
    if (read(s->sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return;
    MCX_NOTICE("%s: shutting down", strsignal((int)si.ssi_signo));
    re_cancel();
}

static void sip_exit(void *arg)
{
    (void)arg;
}

int server_sip_run(server_ctx_t *ctx, int (*ready)(server_ctx_t *ctx))
{
    static server_sip_t sipst;
    server_sip_t *s = &sipst;
    const server_sip_conf_t *c = &ctx->cfg->sip;
    memset(s, 0, sizeof(*s));
    s->ctx = ctx;
    s->sfd = -1;
    tmr_init(&s->sweep);
    int rv = libre_init();
    if (rv) {
        MCX_ERR("libre_init: %s", strerror(rv));
        return -rv;
    }
    int ret = -EINVAL;
    pl_set_str(&s->psi_pl, ctx->cfg->server.psi);
    if (uri_decode(&s->psi, &s->psi_pl)) {
        MCX_ERR("server.psi '%s' is not a SIP URI", ctx->cfg->server.psi);
        goto out;
    }
    struct sa laddr;
    if (sa_set_str(&laddr, c->listen, (uint16_t)c->port)) {
        MCX_ERR("sip.listen '%s' is not an IP address", c->listen);
        goto out;
    }
    rv = sip_alloc(&s->sip, NULL, 32, 32, 32, "mcx-server", sip_exit, s);
    if (!rv && (c->tp_mask & SERVER_TP_UDP))
        rv = sip_transp_add(s->sip, SIP_TRANSP_UDP, &laddr);
    if (!rv && (c->tp_mask & SERVER_TP_TCP))
        rv = sip_transp_add(s->sip, SIP_TRANSP_TCP, &laddr);
    if (!rv)
        rv = sip_listen(&s->lsnr, s->sip, true, on_request, s);
    if (rv) {
        MCX_ERR("SIP on %s:%u: %s", c->listen, c->port, strerror(rv));
        ret = -rv;
        goto out;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    s->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (s->sfd < 0 || fd_listen(s->sfd, FD_READ, signal_readable, s)) {
        MCX_ERR("signalfd: %s", strerror(errno));
        ret = -errno;
        goto out;
    }
    if (ready(ctx)) {
        ret = -EIO;
        goto out;
    }
    tmr_start(&s->sweep, 0, sweep_due, s);
    MCX_NOTICE("SIP on %s:%u (%s%s%s), PSI %s", c->listen, c->port,
               (c->tp_mask & SERVER_TP_UDP) ? "udp" : "",
               (c->tp_mask & SERVER_TP_UDP) && (c->tp_mask & SERVER_TP_TCP) ? ", " : "",
               (c->tp_mask & SERVER_TP_TCP) ? "tcp" : "", ctx->cfg->server.psi);
    re_main(NULL);
    ret = 0;
out:
    tmr_cancel(&s->sweep);
    if (s->sfd >= 0) {
        fd_close(s->sfd);
        close(s->sfd);
    }
    s->lsnr = mem_deref(s->lsnr);
    if (s->sip) {
        sip_close(s->sip, true);
        s->sip = mem_deref(s->sip);
    }
    libre_close();
    return ret;
}

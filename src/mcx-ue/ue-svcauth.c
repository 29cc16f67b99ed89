/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * Service authorization by PUBLISH (TS 24.379 7.3.1 (b), RFC 3903): one
 * publication per run, one transaction at a time; a wanted operation waits
 * for the one in flight. Never prints the access token (only its prefix).
 */
#include "ue-svcauth.h"

#include <errno.h>
#include <string.h>

#include <re.h>

#include "ue-http.h"

#define BOUNDARY "mcx-ue-b7c1"
#define MCPTT_INFO_NS "urn:3gpp:ns:mcpttInfo:1.0"
#define POC_SETTINGS_NS "urn:oma:xml:poc:poc-settings"

typedef enum {
    OP_NONE,
    OP_INITIAL, /* full body, no SIP-If-Match */
    OP_REFRESH, /* SIP-If-Match, no body (RFC 3903 4.1) */
    OP_MODIFY,  /* SIP-If-Match, new body (new token) */
    OP_REMOVE,  /* SIP-If-Match, Expires 0 */
} op_t;

typedef struct {
    const ue_config_t *cfg;
    ue_idm_t *idm;
    FILE *out;
    bool once;

    ue_reg_t *reg;
    struct sip *sip;
    struct uri next_hop;
    char route[1024];
    char call_id[40];
    char from_tag[20];
    char entity[40];
    uint32_t cseq;

    struct sip_request *req;
    op_t inflight;
    op_t wanted;      /* to send when the one in flight ends */
    bool dereg_held;  /* the de-registration waits for our removal */
    bool published;   /* a publication exists (we hold its entity-tag) */
    bool retried_423;
    char etag[128];
    uint32_t expires; /* asked for */
    uint32_t granted;
    struct tmr tmr_refresh;
    struct tmr tmr_token;
} svc_t;

static svc_t svc;

static const char *op_name(op_t op)
{
    switch (op) {
    case OP_INITIAL:
        return "initial";
    case OP_REFRESH:
        return "refresh";
    case OP_MODIFY:
        return "modify (new access token)";
    case OP_REMOVE:
        return "remove";
    default:
        return "-";
    }
}

/* XML text escaping for element content. */
static int xml_esc(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    for (; *in; in++) {
        const char *rep = NULL;
        char one[2] = {*in, 0};
        switch (*in) {
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '&':
            rep = "&amp;";
            break;
        case '"':
            rep = "&quot;";
            break;
        default:
            rep = one;
        }
        size_t l = strlen(rep);
        if (o + l >= outlen)
            return -ENOSPC;
        memcpy(out + o, rep, l);
        o += l;
    }
    out[o] = '\0';
    return 0;
}

int ue_svcauth_body(char *out, size_t outlen, const char *boundary, const char *token,
                    const char *client_id, const char *entity)
{
    char tok[8192], cid[512], ent[256];
    if (xml_esc(token, tok, sizeof(tok)) || xml_esc(client_id, cid, sizeof(cid)) ||
        xml_esc(entity, ent, sizeof(ent)))
        return -ENOSPC;
    int n = snprintf(out, outlen,
                     "--%s\r\n"
                     "Content-Type: application/vnd.3gpp.mcptt-info+xml\r\n"
                     "\r\n"
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
                     "<mcpttinfo xmlns=\"" MCPTT_INFO_NS "\">\r\n"
                     "  <mcptt-Params>\r\n"
                     "    <mcptt-access-token type=\"Normal\"><mcpttString>%s</mcpttString>"
                     "</mcptt-access-token>\r\n"
                     "    <mcptt-client-id type=\"Normal\"><mcpttString>%s</mcpttString>"
                     "</mcptt-client-id>\r\n"
                     "  </mcptt-Params>\r\n"
                     "</mcpttinfo>\r\n"
                     "--%s\r\n"
                     "Content-Type: application/poc-settings+xml\r\n"
                     "\r\n"
                     "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n"
                     "<poc-settings xmlns=\"" POC_SETTINGS_NS "\">\r\n"
                     "  <entity id=\"%s\">\r\n"
                     "    <am-settings><answer-mode>automatic</answer-mode></am-settings>\r\n"
                     "  </entity>\r\n"
                     "</poc-settings>\r\n"
                     "--%s--\r\n",
                     boundary, tok, cid, boundary, ent, boundary);
    return n < 0 || (size_t)n >= outlen ? -ENOSPC : n;
}

static void send_op(svc_t *s, op_t op);

static void stop_timers(svc_t *s)
{
    tmr_cancel(&s->tmr_refresh);
    tmr_cancel(&s->tmr_token);
}

/* Our part is over: let the registration go (exit status `code`). */
static void release(svc_t *s, int code)
{
    stop_timers(s);
    s->dereg_held = false;
    ue_reg_deregister(s->reg, code);
}

static void refresh_due(void *arg)
{
    svc_t *s = arg;
    send_op(s, OP_REFRESH);
}

static void schedule_token(svc_t *s);

static void token_due(void *arg)
{
    svc_t *s = arg;
    ue_say(s->out, "access token expires in %u s: refreshing it",
           ue_idm_seconds_left(s->idm));
    if (ue_idm_refresh(s->idm)) {
        release(s, UE_EXIT_REFUSED);
        return;
    }
    schedule_token(s);
    send_op(s, OP_MODIFY);
}

/* Refresh the access token at 4/5 of its lifetime (at least 5 s before it ends). */
static void schedule_token(svc_t *s)
{
    if (s->once || !s->idm->expires_in || !s->idm->refresh_token)
        return; /* lifetime unknown or nothing to refresh with: keep the token */
    uint32_t left = ue_idm_seconds_left(s->idm);
    uint32_t margin = s->idm->expires_in / 5;
    if (margin < 5)
        margin = 5;
    uint32_t in = left > margin ? left - margin : 1;
    ue_say(s->out, "    access token refresh in %u s", in);
    tmr_start(&s->tmr_token, (uint64_t)in * 1000, token_due, s);
}

static bool warn_cb(const struct sip_hdr *hdr, const struct sip_msg *msg, void *arg)
{
    char *buf = arg;
    size_t used = strlen(buf);
    snprintf(buf + used, 600 - used, "%s%.*s", used ? "; " : "", (int)hdr->val.l, hdr->val.p);
    return false;
}

static void resp_handler(int err, const struct sip_msg *msg, void *arg)
{
    svc_t *s = arg;
    if (!err && msg && msg->scode < 200)
        return;
    s->req = NULL; /* libre ends the request after a final response or an error */
    op_t op = s->inflight;
    s->inflight = OP_NONE;
    const char *psi = s->cfg->mc.server_psi;
    if (err || !msg) {
        ue_fail(s->out, "SIP-2 service authorization: PUBLISH (%s) to %s: %s", op_name(op), psi,
                err ? strerror(err) : "no response");
        release(s, UE_EXIT_REFUSED);
        return;
    }
    ue_say(s->out, "<-- %u %.*s  CSeq %u PUBLISH", msg->scode, (int)msg->reason.l,
           msg->reason.p, msg->cseq.num);
    char warning[600] = "";
    bool handled = false; /* the answer is handled: 2xx, or a retry is set up */
    sip_msg_xhdr_apply(msg, true, "Warning", warn_cb, warning);
    if (warning[0])
        ue_say(s->out, "    Warning: %s", warning);

    if (msg->scode >= 200 && msg->scode < 300) {
        const struct sip_hdr *et = sip_msg_xhdr(msg, "SIP-ETag");
        if (et && et->val.l < sizeof(s->etag)) {
            memcpy(s->etag, et->val.p, et->val.l);
            s->etag[et->val.l] = '\0';
        }
        if (op == OP_REMOVE) {
            s->published = false;
            ue_say(s->out, "SERVICE AUTHORIZATION removed at %s", psi);
            release(s, 0);
            return;
        }
        s->published = true;
        s->granted = pl_isset(&msg->expires) ? pl_u32(&msg->expires) : s->expires;
        if (s->granted == 0)
            s->granted = s->expires;
        ue_say(s->out, "    SIP-ETag: %s", s->etag[0] ? s->etag : "(none)");
        ue_say(s->out, "SERVICE AUTHORIZATION %s at %s: publication expires in %u s",
               op == OP_INITIAL ? "accepted" : "refreshed", psi, s->granted);
        if (!s->once && !s->dereg_held) {
            uint32_t half = s->granted / 2 ? s->granted / 2 : 1;
            ue_say(s->out, "    publication refresh in %u s", half);
            tmr_start(&s->tmr_refresh, (uint64_t)half * 1000, refresh_due, s);
        }
        handled = true;
    } else if (msg->scode == 412 && op != OP_INITIAL) {
        /* RFC 3903 §4.1: the server forgot our entity-tag. */
        s->published = false;
        s->etag[0] = '\0';
        if (op == OP_REMOVE || s->dereg_held) {
            ue_say(s->out, "    the publication is already gone");
            release(s, 0);
            return;
        }
        ue_say(s->out, "    entity-tag unknown: publishing afresh");
        s->wanted = OP_INITIAL;
        handled = true;
    } else if (msg->scode == 423 && !s->retried_423) {
        const struct sip_hdr *me = sip_msg_hdr(msg, SIP_HDR_MIN_EXPIRES);
        uint32_t min = me ? pl_u32(&me->val) : 0;
        s->retried_423 = true;
        if (min > s->expires && min < 86400 * 7) {
            ue_say(s->out, "    Min-Expires %u: asking again", min);
            s->expires = min;
            s->wanted = op;
            handled = true;
        }
    }
    if (!handled) {
        ue_fail(s->out, "SIP-2 service authorization refused by %s: %u %.*s%s%s", psi,
                msg->scode, (int)msg->reason.l, msg->reason.p, warning[0] ? " - " : "", warning);
        release(s, UE_EXIT_REFUSED);
        return;
    }
    if (s->dereg_held && s->wanted != OP_INITIAL && s->wanted != OP_REMOVE) {
        if (s->published) {
            s->wanted = OP_REMOVE;
        } else {
            release(s, 0);
            return;
        }
    }
    if (s->wanted != OP_NONE) {
        op_t w = s->wanted;
        s->wanted = OP_NONE;
        send_op(s, w);
    }
}

static void send_op(svc_t *s, op_t op)
{
    if (s->inflight != OP_NONE) {
        if (op == OP_REMOVE || s->wanted != OP_REMOVE)
            s->wanted = op;
        return;
    }
    if (op != OP_INITIAL && !s->published) {
        if (op == OP_REMOVE) {
            release(s, 0);
            return;
        }
        op = OP_INITIAL;
    }
    const char *token = s->idm->access_token ? s->idm->access_token : "";
    static char body[12000];
    int blen = 0;
    if (op == OP_INITIAL || op == OP_MODIFY) {
        blen = ue_svcauth_body(body, sizeof(body), BOUNDARY, token, s->cfg->mc.client_id,
                               s->entity);
        if (blen < 0) {
            ue_fail(s->out, "SIP-2 service authorization: the access token is too long");
            release(s, UE_EXIT_REFUSED);
            return;
        }
    }
    uint32_t expires = op == OP_REMOVE ? 0 : s->expires;
    char ifmatch[200] = "", ctype[120] = "", route[1100] = "";
    if (op != OP_INITIAL)
        snprintf(ifmatch, sizeof(ifmatch), "SIP-If-Match: %s\r\n", s->etag);
    if (blen > 0)
        snprintf(ctype, sizeof(ctype), "Content-Type: multipart/mixed;boundary=%s\r\n", BOUNDARY);
    if (s->route[0])
        snprintf(route, sizeof(route), "Route: %s\r\n", s->route);
    s->cseq++;
    const char *psi = s->cfg->mc.server_psi;
    int err = sip_requestf(&s->req, s->sip, true, "PUBLISH", psi, &s->next_hop, NULL, NULL,
                           resp_handler, s,
                           "%s"
                           "To: <%s>\r\n"
                           "From: <%s>;tag=%s\r\n"
                           "Call-ID: %s\r\n"
                           "CSeq: %u PUBLISH\r\n"
                           "Event: poc-settings\r\n"
                           "Expires: %u\r\n"
                           "%s"
                           "P-Preferred-Service: urn:urn-7:3gpp-service.ims.icsi.mcptt\r\n"
                           "Accept-Contact: *;+g.3gpp.mcptt;require;explicit\r\n"
                           "User-Agent: %s\r\n"
                           "%s"
                           "Content-Length: %d\r\n"
                           "\r\n"
                           "%s",
                           route, psi, s->cfg->isim.impu, s->from_tag, s->call_id, s->cseq,
                           expires, ifmatch, s->cfg->sip.user_agent, ctype, blen,
                           blen > 0 ? body : "");
    if (err) {
        ue_fail(s->out, "SIP-2 service authorization: cannot send PUBLISH: %s", strerror(err));
        release(s, UE_EXIT_REFUSED);
        return;
    }
    s->inflight = op;
    ue_say(s->out, "--> PUBLISH %s  CSeq %u  Event poc-settings  Expires %u  (%s)", psi, s->cseq,
           expires, op_name(op));
    if (s->route[0])
        ue_say(s->out, "    Route: %s", s->route);
    if (op != OP_INITIAL)
        ue_say(s->out, "    SIP-If-Match: %s", s->etag);
    if (blen > 0)
        ue_say(s->out,
               "    multipart/mixed: mcptt-info (access token %.10s... jti %s, client id %s), "
               "poc-settings (entity %s)",
               token, s->idm->jti[0] ? s->idm->jti : "(none)", s->cfg->mc.client_id, s->entity);
}

/* ----------------------------------------------------------------------- */
/* hooks                                                                   */
/* ----------------------------------------------------------------------- */

static void on_registered(void *arg, ue_reg_t *reg, struct sip *sip, const struct uri *next_hop,
                          const char *service_route, bool refresh)
{
    svc_t *s = arg;
    s->reg = reg;
    s->sip = sip;
    s->next_hop = *next_hop;
    if (refresh)
        return; /* the publication has its own refresh */
    /* TS 24.229 5.1.2A.1.1: requests go along the Service-Route learnt at registration. */
    mcx_strlcpy(s->route, service_route, sizeof(s->route));
    ue_say(s->out, "SIP-2 service authorization: PUBLISH to the MC service server %s",
           s->cfg->mc.server_psi);
    schedule_token(s);
    send_op(s, OP_INITIAL);
}

static bool on_before_dereg(void *arg, ue_reg_t *reg)
{
    svc_t *s = arg;
    (void)reg;
    stop_timers(s);
    if (s->inflight == OP_NONE && !s->published)
        return false;
    s->dereg_held = true;
    if (s->inflight == OP_NONE)
        send_op(s, OP_REMOVE);
    else
        s->wanted = OP_REMOVE;
    return true;
}

static void on_stopped(void *arg)
{
    svc_t *s = arg;
    stop_timers(s);
    s->req = mem_deref(s->req);
    s->inflight = OP_NONE;
}

static void hexrand(char *out, size_t bytes)
{
    uint8_t b[16];
    if (bytes > sizeof(b))
        bytes = sizeof(b);
    if (mcx_random_bytes(b, bytes))
        memset(b, 0x6b, bytes); /* not secret: Call-ID, tag, entity id */
    mcx_hex_encode(b, bytes, out);
}

void ue_svcauth_setup(ue_reg_hooks_t *hooks, const ue_config_t *cfg, ue_idm_t *idm, FILE *out,
                      bool once)
{
    svc_t *s = &svc;
    memset(s, 0, sizeof(*s));
    s->cfg = cfg;
    s->idm = idm;
    s->out = out;
    s->once = once;
    s->expires = cfg->mc.publish_expires;
    hexrand(s->call_id, 16);
    hexrand(s->from_tag, 8);
    char id[20];
    hexrand(id, 8);
    snprintf(s->entity, sizeof(s->entity), "mcx-ue-%s", id);
    tmr_init(&s->tmr_refresh);
    tmr_init(&s->tmr_token);
    memset(hooks, 0, sizeof(*hooks));
    hooks->arg = s;
    hooks->registered = on_registered;
    hooks->before_dereg = on_before_dereg;
    hooks->stopped = on_stopped;
}

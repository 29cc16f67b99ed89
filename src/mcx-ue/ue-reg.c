/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-ue registration on libre (RFC 3261 §10, TS 24.229 §5.1.1): one
 * REGISTER transaction at a time, 401 answered with IMS AKA (RFC 3310) or
 * SIP Digest, refresh at half the granted expiry, de-registration with
 * Expires 0. Prints a readable ladder of every step to the `out` stream;
 * never prints RES, CK, IK, AUTS, passwords or digest responses.
 */
#include "ue-reg.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <re.h>

#include <openssl/crypto.h>

#include "ue-auth.h"

typedef enum {
    ST_REGISTERING,   /* initial registration in progress */
    ST_REGISTERED,    /* registered; a refresh may be in flight */
    ST_DEREG_PENDING, /* registered; a hook finishes before we de-register */
    ST_DEREGISTERING, /* REGISTER with Expires 0 in flight */
    ST_DONE,
} ue_state_t;

struct ue_reg_s {
    const ue_config_t *cfg;
    ue_isim_t *isim;
    bool once;
    FILE *out;
    const ue_reg_hooks_t *hooks;
    int pending_code; /* exit status asked for by a hook */
    char service_route[1024];

    struct sip *sip;
    struct sip_request *req;
    struct uri route;
    char route_str[300];
    char ruri[300];
    char user[128]; /* user part of our Contact */
    char call_id[48];
    char from_tag[24];
    uint32_t cseq;
    uint32_t expires; /* asked for in the request in flight */

    ue_state_t state;
    bool refreshing;
    unsigned challenges; /* 401/407 answered in the current attempt */
    char auth_name[32];  /* "Authorization" or "Proxy-Authorization" */
    char auth[2048];     /* its value for the next REGISTER */
    char auth_summary[768];

    /* The last nonce answered and what it needs to answer it again
     * (Kamailio may repeat a challenge, DESIGN.md §7). */
    char last_nonce[512];
    uint32_t last_nc;
    uint8_t last_pw[256];
    size_t last_pw_len;
    bool last_valid;
    bool mac_failed;

    char contact_uri[160];
    uint32_t granted;
    unsigned retried;        /* retries since the last 2xx */
    struct tmr tmr_refresh;  /* the next refresh, or the wait before a retry */
    struct tmr tmr_guard;
    int sfd;
    int exit_code;
};

static void say(ue_reg_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(ue_reg_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(r->out, fmt, ap);
    va_end(ap);
    fputc('\n', r->out);
    fflush(r->out);
}

/* End the run with `code`; a non-zero code gets one clear line on stderr. */
static void finish(ue_reg_t *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void finish(ue_reg_t *r, int code, const char *fmt, ...)
{
    if (fmt) {
        char line[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        say(r, "%s %s", code ? "FAILED" : "DONE", line);
        if (code)
            fprintf(stderr, "mcx-ue: %s\n", line);
    }
    r->exit_code = code;
    r->state = ST_DONE;
    if (r->hooks && r->hooks->stopped)
        r->hooks->stopped(r->hooks->arg);
    tmr_cancel(&r->tmr_refresh);
    tmr_cancel(&r->tmr_guard);
    r->req = mem_deref(r->req);
    re_cancel();
}

static void hexrand(char *out, size_t bytes)
{
    uint8_t b[32];
    if (bytes > sizeof(b))
        bytes = sizeof(b);
    if (mcx_random_bytes(b, bytes))
        memset(b, 0x5a, bytes); /* not secret: Call-ID, tags, cnonce */
    mcx_hex_encode(b, bytes, out);
}

static const char *tp_name(const ue_reg_t *r)
{
    return r->cfg->sip.transport == UE_TRANSPORT_TCP ? "tcp" : "udp";
}

static void resp_handler(int err, const struct sip_msg *msg, void *arg);

static int send_handler(enum sip_transp tp, const struct sa *src, const struct sa *dst,
                        struct mbuf *mb, void *arg)
{
    ue_reg_t *r = arg;
    re_snprintf(r->contact_uri, sizeof(r->contact_uri), "sip:%s@%J%s", r->user, src,
                tp == SIP_TRANSP_TCP ? ";transport=tcp" : "");
    return mbuf_printf(mb, "Contact: <%s>;expires=%u\r\n", r->contact_uri, r->expires);
}

static void guard_expired(void *arg)
{
    ue_reg_t *r = arg;
    finish(r, UE_EXIT_REFUSED, "no final answer from %s:%u within %u s", r->cfg->sip.proxy,
           r->cfg->sip.port, r->cfg->sip.timeout_seconds);
}

static int send_register(ue_reg_t *r)
{
    r->cseq++;
    r->req = mem_deref(r->req);
    int err = sip_requestf(&r->req, r->sip, true, "REGISTER", r->ruri, &r->route, NULL,
                           send_handler, resp_handler, r,
                           "To: <%s>\r\n"
                           "From: <%s>;tag=%s\r\n"
                           "Call-ID: %s\r\n"
                           "CSeq: %u REGISTER\r\n"
                           "Expires: %u\r\n"
                           "%s: %s\r\n"
                           "Supported: path\r\n"
                           "User-Agent: %s\r\n"
                           "Content-Length: 0\r\n"
                           "\r\n",
                           r->cfg->isim.impu, r->cfg->isim.impu, r->from_tag, r->call_id, r->cseq,
                           r->expires, r->auth_name, r->auth, r->cfg->sip.user_agent);
    if (err) {
        finish(r, UE_EXIT_REFUSED, "cannot send REGISTER to %s: %s", r->route_str, strerror(err));
        return -err;
    }
    say(r, "--> REGISTER %s  CSeq %u  Expires %u  (%s %s:%u)", r->ruri, r->cseq, r->expires,
        tp_name(r), r->cfg->sip.proxy, r->cfg->sip.port);
    say(r, "    %s: %s", r->auth_name, r->auth_summary);
    return 0;
}

/* Start a new attempt (initial, refresh, de-registration): unprotected
 * Authorization, no challenge answered yet, a fresh guard timer. */
static void start_attempt(ue_reg_t *r, uint32_t expires)
{
    r->expires = expires;
    r->challenges = 0;
    r->mac_failed = false;
    mcx_strlcpy(r->auth_name, "Authorization", sizeof(r->auth_name));
    /* No algorithm: the S-CSCF (or the HSS) chooses AKA or Digest per subscriber. */
    if (ue_auth_initial_header(r->cfg->isim.impi, r->cfg->isim.domain, r->ruri, NULL, r->auth,
                               sizeof(r->auth))) {
        finish(r, UE_EXIT_USAGE, "identities do not fit in an Authorization header");
        return;
    }
    snprintf(r->auth_summary, sizeof(r->auth_summary),
             "username=\"%s\" realm=\"%s\" nonce=\"\" (unprotected, TS 24.229 5.1.1.2)",
             r->cfg->isim.impi, r->cfg->isim.domain);
    tmr_start(&r->tmr_guard, (uint64_t)r->cfg->sip.timeout_seconds * 1000, guard_expired, r);
    send_register(r);
}

/* ----------------------------------------------------------------------- */
/* 401 / 407                                                               */
/* ----------------------------------------------------------------------- */

typedef struct {
    ue_challenge_t best;
    bool have;
    int last_err;
} chall_pick_t;

static bool chall_cb(const struct sip_hdr *hdr, const struct sip_msg *msg, void *arg)
{
    chall_pick_t *pick = arg;
    ue_challenge_t c;
    int err = ue_challenge_parse(hdr->val.p, hdr->val.l, &c);
    if (err) {
        pick->last_err = err;
        return false;
    }
    if (!pick->have || ue_challenge_better(&c, &pick->best)) {
        pick->best = c;
        pick->have = true;
    }
    return false; /* keep walking */
}

static void remember(ue_reg_t *r, const char *nonce, const uint8_t *pw, size_t len)
{
    mcx_strlcpy(r->last_nonce, nonce, sizeof(r->last_nonce));
    OPENSSL_cleanse(r->last_pw, sizeof(r->last_pw));
    if (len)
        memcpy(r->last_pw, pw, len);
    r->last_pw_len = len;
    r->last_nc = 1;
    r->last_valid = true;
}

static void forget(ue_reg_t *r)
{
    OPENSSL_cleanse(r->last_pw, sizeof(r->last_pw));
    r->last_pw_len = 0;
    r->last_valid = false;
}

/* Run an AKA challenge through the ISIM. Returns 0 with in->password / auts set. */
static int aka_answer(ue_reg_t *r, const ue_challenge_t *ch, ue_auth_input_t *in,
                      ue_aka_result_t *res)
{
    if (!r->isim) {
        finish(r, UE_EXIT_REFUSED, "challenged with %s but no AKA keys are configured",
               ch->algorithm);
        return -EINVAL;
    }
    if (r->last_valid && !strcmp(ch->nonce, r->last_nonce)) {
        /* Same RAND/AUTN again: the ISIM would now call it a replay; the
         * network only repeated itself, so answer with the RES we have. */
        in->password = r->last_pw;
        in->password_len = r->last_pw_len;
        in->nc = ++r->last_nc;
        say(r, "    AKA: same challenge again; answering with the same RES, nc=%08x", in->nc);
        return 0;
    }
    uint8_t rand[16], autn[16];
    if (ue_aka_nonce_decode(ch->nonce, rand, autn)) {
        finish(r, UE_EXIT_REFUSED, "401 nonce is not base64(RAND || AUTN)");
        return -EINVAL;
    }
    int rv = ue_isim_challenge(r->isim, rand, autn, res);
    if (rv) {
        finish(r, UE_EXIT_REFUSED, "ISIM failure: %s", strerror(-rv));
        return rv;
    }
    uint64_t seq = res->sqn >> r->isim->ind_bits;
    uint64_t ind = res->sqn & ((UINT64_C(1) << r->isim->ind_bits) - 1);
    in->nc = 1;
    switch (res->verdict) {
    case UE_AKA_OK:
        say(r,
            "    AKA: MAC-A ok, SQN %llu (SEQ %llu, IND %llu) fresh; SEQ_MS saved; "
            "answering with RES",
            (unsigned long long)res->sqn, (unsigned long long)seq, (unsigned long long)ind);
        in->password = res->res;
        in->password_len = MCX_AKA_RES_LEN;
        remember(r, ch->nonce, res->res, MCX_AKA_RES_LEN);
        break;
    case UE_AKA_SYNC_FAILURE:
        say(r,
            "    AKA: MAC-A ok, SQN %llu (SEQ %llu, IND %llu) NOT fresh; synchronisation "
            "failure, answering with auts (SQN_MS %llu)",
            (unsigned long long)res->sqn, (unsigned long long)seq, (unsigned long long)ind,
            (unsigned long long)res->sqn_ms);
        in->auts = res->auts;
        forget(r);
        break;
    case UE_AKA_MAC_FAILURE:
        say(r, "    AKA: MAC-A WRONG: the network is not authentic; answering with an "
               "empty password, no auts (RFC 3310 §3.4)");
        r->mac_failed = true;
        forget(r);
        break;
    }
    return 0;
}

static void handle_challenge(ue_reg_t *r, const struct sip_msg *msg)
{
    if (++r->challenges > r->cfg->sip.max_challenges) {
        finish(r, UE_EXIT_REFUSED, "challenged %u times in a row; giving up", r->challenges - 1);
        return;
    }
    bool proxy = msg->scode == 407;
    chall_pick_t pick = {0};
    sip_msg_hdr_apply(msg, true, proxy ? SIP_HDR_PROXY_AUTHENTICATE : SIP_HDR_WWW_AUTHENTICATE,
                      chall_cb, &pick);
    if (!pick.have) {
        finish(r, UE_EXIT_REFUSED, "%u without a challenge we can answer (%s)", msg->scode,
               pick.last_err == -ENOTSUP ? "unsupported algorithm or qop" : "malformed");
        return;
    }
    const ue_challenge_t *ch = &pick.best;
    say(r, "    %s: realm=\"%s\" algorithm=%s qop=\"%s\"%s%s",
        proxy ? "Proxy-Authenticate" : "WWW-Authenticate", ch->realm,
        ch->algorithm[0] ? ch->algorithm : "(none: MD5)", ch->qop_offered,
        ch->has_ck_ik ? " (ck/ik present)" : "", ch->stale ? " stale=true" : "");

    char cnonce[17];
    hexrand(cnonce, 8);
    ue_auth_input_t in = {.username = r->cfg->isim.impi,
                          .uri = r->ruri,
                          .method = "REGISTER",
                          .ch = ch,
                          .cnonce = cnonce};
    ue_aka_result_t res;
    memset(&res, 0, sizeof(res));
    if (ch->scheme == UE_SCHEME_AKAV1_MD5) {
        if (aka_answer(r, ch, &in, &res))
            return;
    } else {
        if (!r->cfg->isim.password[0]) {
            finish(r, UE_EXIT_REFUSED, "challenged with Digest %s but no password is configured",
                   mcx_digest_alg_name(ch->alg));
            return;
        }
        in.password = (const uint8_t *)r->cfg->isim.password;
        in.password_len = strlen(r->cfg->isim.password);
        if (r->last_valid && !strcmp(ch->nonce, r->last_nonce)) {
            in.nc = ++r->last_nc;
        } else {
            remember(r, ch->nonce, NULL, 0);
            in.nc = 1;
        }
        say(r, "    Digest %s with the configured password", mcx_digest_alg_name(ch->alg));
    }

    mcx_strlcpy(r->auth_name, proxy ? "Proxy-Authorization" : "Authorization",
                sizeof(r->auth_name));
    int rv = ue_auth_header(&in, r->auth, sizeof(r->auth));
    ue_aka_result_wipe(&res);
    if (rv) {
        finish(r, UE_EXIT_REFUSED, "cannot build the %s header: %s", r->auth_name, strerror(-rv));
        return;
    }
    char nc[9];
    snprintf(nc, sizeof(nc), "%08x", in.nc);
    snprintf(r->auth_summary, sizeof(r->auth_summary),
             "username=\"%s\" realm=\"%s\" nonce=\"%.16s...\" uri=\"%s\" algorithm=%s%s%s%s%s%s "
             "response=(hidden)%s",
             in.username, ch->realm, ch->nonce, in.uri, ch->algorithm[0] ? ch->algorithm : "(none)",
             ch->qop[0] ? " qop=" : "", ch->qop, ch->qop[0] ? " nc=" : "", ch->qop[0] ? nc : "",
             ch->qop[0] ? " cnonce=..." : "", in.auts ? " auts=(14 octets)" : "");
    send_register(r);
}

/* ----------------------------------------------------------------------- */
/* 2xx                                                                     */
/* ----------------------------------------------------------------------- */

typedef struct {
    ue_reg_t *r;
    int ours; /* expires of our Contact, -1 = not found */
    int count;
    int any; /* expires of the only/first Contact */
} contact_scan_t;

static bool contact_cb(const struct sip_hdr *hdr, const struct sip_msg *msg, void *arg)
{
    contact_scan_t *cs = arg;
    struct sip_addr addr;
    say(cs->r, "    Contact: %.*s", (int)hdr->val.l, hdr->val.p);
    if (sip_addr_decode(&addr, &hdr->val))
        return false;
    struct pl v;
    int e = -1;
    if (msg_param_decode(&addr.params, "expires", &v) == 0 && v.l > 0 && v.l < 10)
        e = (int)pl_u32(&v);
    if (cs->count++ == 0)
        cs->any = e;
    if (pl_strcmp(&addr.auri, cs->r->contact_uri) == 0)
        cs->ours = e;
    return false;
}

static bool print_cb(const struct sip_hdr *hdr, const struct sip_msg *msg, void *arg)
{
    say(arg, "    %.*s: %.*s", (int)hdr->name.l, hdr->name.p, (int)hdr->val.l, hdr->val.p);
    return false;
}

static bool route_cb(const struct sip_hdr *hdr, const struct sip_msg *msg, void *arg)
{
    ue_reg_t *r = arg;
    size_t used = strlen(r->service_route);
    if (used + hdr->val.l + 3 < sizeof(r->service_route))
        snprintf(r->service_route + used, sizeof(r->service_route) - used, "%s%.*s",
                 used ? ", " : "", (int)hdr->val.l, hdr->val.p);
    return false;
}

static void refresh_due(void *arg);

/* De-register, unless a hook holds it (it then calls ue_reg_deregister). */
static void begin_dereg(ue_reg_t *r)
{
    tmr_cancel(&r->tmr_refresh);
    if (r->hooks && r->hooks->before_dereg && r->hooks->before_dereg(r->hooks->arg, r)) {
        r->state = ST_DEREG_PENDING;
        return;
    }
    r->state = ST_DEREGISTERING;
    start_attempt(r, 0);
}

void ue_reg_deregister(ue_reg_t *r, int exit_code)
{
    if (exit_code > r->pending_code)
        r->pending_code = exit_code;
    if (r->state != ST_REGISTERED && r->state != ST_DEREG_PENDING)
        return;
    tmr_cancel(&r->tmr_refresh);
    tmr_cancel(&r->tmr_guard);
    r->req = mem_deref(r->req);
    r->refreshing = false;
    r->state = ST_DEREGISTERING;
    start_attempt(r, 0);
}

static void handle_ok(ue_reg_t *r, const struct sip_msg *msg)
{
    tmr_cancel(&r->tmr_guard);
    r->retried = 0;
    if (r->state == ST_DEREGISTERING) {
        forget(r);
        say(r, "DEREGISTERED %s", r->cfg->isim.impu);
        finish(r, r->pending_code, NULL);
        return;
    }
    sip_msg_xhdr_apply(msg, true, "Service-Route", print_cb, r);
    r->service_route[0] = '\0';
    sip_msg_xhdr_apply(msg, true, "Service-Route", route_cb, r);
    sip_msg_xhdr_apply(msg, true, "P-Associated-URI", print_cb, r);
    sip_msg_xhdr_apply(msg, true, "Path", print_cb, r);
    contact_scan_t cs = {.r = r, .ours = -1, .any = -1};
    sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_cb, &cs);
    if (pl_isset(&msg->expires))
        say(r, "    Expires: %.*s", (int)msg->expires.l, msg->expires.p);

    /* RFC 3261 §10.2.4: the Contact's expires, else the Expires header. */
    long granted = cs.ours >= 0 ? cs.ours : (cs.count == 1 && cs.any >= 0) ? cs.any : -1;
    if (granted < 0 && pl_isset(&msg->expires))
        granted = (long)pl_u32(&msg->expires);
    if (granted < 0)
        granted = r->expires;
    if (granted == 0) {
        finish(r, UE_EXIT_REFUSED, "registrar answered 2xx but granted no time (expires 0)");
        return;
    }
    r->granted = (uint32_t)granted;
    uint32_t refresh = r->granted / 2 ? r->granted / 2 : 1;
    say(r, "%s %s expires %u s", r->refreshing ? "REREGISTERED" : "REGISTERED", r->cfg->isim.impu,
        r->granted);
    bool was_refresh = r->refreshing;
    bool held = r->state == ST_DEREG_PENDING;
    r->state = held ? ST_DEREG_PENDING : ST_REGISTERED;
    r->refreshing = false;
    if (r->hooks && r->hooks->registered)
        r->hooks->registered(r->hooks->arg, r, r->sip, &r->route, r->service_route, was_refresh);
    if (r->state != ST_REGISTERED && r->state != ST_DEREG_PENDING)
        return; /* the hook de-registered or ended the run */
    if (held)
        return;
    if (r->once) {
        begin_dereg(r);
        return;
    }
    say(r, "    refresh in %u s", refresh);
    tmr_start(&r->tmr_refresh, (uint64_t)refresh * 1000, refresh_due, r);
}

static void refresh_due(void *arg)
{
    ue_reg_t *r = arg;
    r->refreshing = true;
    start_attempt(r, r->cfg->sip.expires);
}

static void retry_due(void *arg)
{
    ue_reg_t *r = arg;
    start_attempt(r, r->cfg->sip.expires);
}

/* The leading delta-seconds of Retry-After (RFC 3261 §20.33), or -1. */
static long retry_after(const struct sip_msg *msg)
{
    const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_RETRY_AFTER);
    if (!h)
        return -1;
    struct pl num = {h->val.p, 0};
    while (num.l < h->val.l && num.l < 10 && h->val.p[num.l] >= '0' && h->val.p[num.l] <= '9')
        num.l++;
    return num.l == 0 || num.l == 10 ? -1 : (long)pl_u32(&num);
}

/*
 * A registration or refresh answered 408, 500, 503 or 504 is sent again
 * (RFC 3261 §21.4.9 and §21.5.4; back-off as in RFC 5626 §4.5): after
 * Retry-After if given, else after retry_seconds, doubled each time.
 * True when a retry is set up.
 */
static bool schedule_retry(ue_reg_t *r, const struct sip_msg *msg)
{
    unsigned c = msg->scode;
    if (r->state != ST_REGISTERING && !(r->state == ST_REGISTERED && r->refreshing))
        return false;
    if ((c != 408 && c != 500 && c != 503 && c != 504) || r->retried >= r->cfg->sip.retries)
        return false;
    long ra = retry_after(msg);
    uint64_t wait = ra >= 0 ? (uint64_t)ra : (uint64_t)r->cfg->sip.retry_seconds << r->retried;
    r->retried++;
    tmr_cancel(&r->tmr_guard);
    say(r, "    retry %u of %u in %llu s%s", r->retried, r->cfg->sip.retries,
        (unsigned long long)wait, ra >= 0 ? " (Retry-After)" : "");
    tmr_start(&r->tmr_refresh, wait * 1000, retry_due, r);
    return true;
}

static void resp_handler(int err, const struct sip_msg *msg, void *arg)
{
    ue_reg_t *r = arg;
    if (err || !msg || msg->scode >= 200)
        r->req = NULL; /* libre ends the request after a final response or an error */
    if (r->state == ST_DONE)
        return;
    if (err || !msg) {
        finish(r, UE_EXIT_REFUSED, "REGISTER to %s: %s", r->route_str,
               err ? strerror(err) : "no response");
        return;
    }
    if (msg->scode < 200)
        return;
    say(r, "<-- %u %.*s  CSeq %u", msg->scode, (int)msg->reason.l, msg->reason.p, msg->cseq.num);

    if (msg->scode == 401 || msg->scode == 407) {
        handle_challenge(r, msg);
    } else if (msg->scode >= 200 && msg->scode < 300) {
        handle_ok(r, msg);
    } else if (!schedule_retry(r, msg)) {
        const char *what = r->state == ST_DEREGISTERING ? "de-registration"
                           : r->refreshing              ? "re-registration"
                                                        : "registration";
        finish(r, UE_EXIT_REFUSED, "%s refused: %u %.*s%s", what, msg->scode, (int)msg->reason.l,
               msg->reason.p, r->mac_failed ? " (after the UE found MAC-A wrong)" : "");
    }
}

/* ----------------------------------------------------------------------- */
/* signals                                                                 */
/* ----------------------------------------------------------------------- */

static void signal_readable(int flags, void *arg)
{
    ue_reg_t *r = arg;
    struct signalfd_siginfo si;
    if (read(r->sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
        return;
    say(r, "signal %s", strsignal((int)si.ssi_signo));
    switch (r->state) {
    case ST_REGISTERED:
        /* Drop any refresh in flight and de-register (RFC 3261 §10.2.2). */
        tmr_cancel(&r->tmr_refresh);
        tmr_cancel(&r->tmr_guard);
        r->req = mem_deref(r->req);
        r->refreshing = false;
        begin_dereg(r);
        break;
    case ST_DEREG_PENDING:
        /* A second signal: do not wait for the hook any longer. */
        ue_reg_deregister(r, r->pending_code);
        break;
    case ST_REGISTERING:
        finish(r, UE_EXIT_REFUSED, "interrupted before the registration completed");
        break;
    case ST_DEREGISTERING:
        finish(r, UE_EXIT_REFUSED, "interrupted during de-registration");
        break;
    case ST_DONE:
        break;
    }
}

/* ----------------------------------------------------------------------- */

static void sip_exit(void *arg)
{
    (void)arg;
}

int ue_reg_run(const ue_config_t *cfg, ue_isim_t *isim, const ue_reg_opts_t *opts)
{
    static ue_reg_t reg; /* large; one per process */
    ue_reg_t *r = &reg;
    memset(r, 0, sizeof(*r));
    r->cfg = cfg;
    r->isim = isim;
    r->once = opts->once;
    r->out = opts->out ? opts->out : stdout;
    r->hooks = opts->hooks;
    r->sfd = -1;
    r->exit_code = UE_EXIT_REFUSED;
    tmr_init(&r->tmr_refresh);
    tmr_init(&r->tmr_guard);

    /* Contact user part: the IMPU's user part, else the IMPI's. */
    const char *u = strncmp(cfg->isim.impu, "sip:", 4) == 0 ? cfg->isim.impu + 4 : cfg->isim.impi;
    size_t ulen = strcspn(u, "@;:>");
    if (ulen == 0 || ulen >= sizeof(r->user))
        ulen = strcspn(cfg->isim.impi, "@");
    if (ulen == 0 || ulen >= sizeof(r->user))
        ulen = 1;
    memcpy(r->user, ulen == 1 && !u[0] ? "ue" : u, ulen);

    snprintf(r->ruri, sizeof(r->ruri), "sip:%s", cfg->isim.domain);
    hexrand(r->call_id, 16);
    hexrand(r->from_tag, 8);

    int rv = libre_init();
    if (rv) {
        fprintf(stderr, "mcx-ue: libre_init: %s\n", strerror(rv));
        return UE_EXIT_REFUSED;
    }
    int code = UE_EXIT_REFUSED;
    struct sa laddr;
    if (sa_set_str(&laddr, cfg->sip.local_address, (uint16_t)cfg->sip.local_port)) {
        fprintf(stderr, "mcx-ue: sip.local_address '%s' is not an IP address\n",
                cfg->sip.local_address);
        code = UE_EXIT_USAGE;
        goto out;
    }
    struct sa proxy;
    if (sa_set_str(&proxy, cfg->sip.proxy, (uint16_t)cfg->sip.port)) {
        fprintf(stderr, "mcx-ue: sip.proxy '%s' is not an IP address\n", cfg->sip.proxy);
        code = UE_EXIT_USAGE;
        goto out;
    }
    snprintf(r->route_str, sizeof(r->route_str), "sip:%s:%u;transport=%s", cfg->sip.proxy,
             cfg->sip.port, tp_name(r));
    struct pl rpl;
    pl_set_str(&rpl, r->route_str);
    if (uri_decode(&r->route, &rpl)) {
        fprintf(stderr, "mcx-ue: cannot form the route %s\n", r->route_str);
        code = UE_EXIT_USAGE;
        goto out;
    }

    rv = sip_alloc(&r->sip, NULL, 8, 8, 8, cfg->sip.user_agent, sip_exit, r);
    if (!rv)
        rv = sip_transp_add(
            r->sip, cfg->sip.transport == UE_TRANSPORT_TCP ? SIP_TRANSP_TCP : SIP_TRANSP_UDP,
            &laddr);
    if (rv) {
        fprintf(stderr, "mcx-ue: SIP transport on %s:%u/%s: %s\n", cfg->sip.local_address,
                cfg->sip.local_port, tp_name(r), strerror(rv));
        goto out;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    r->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (r->sfd < 0 || fd_listen(r->sfd, FD_READ, signal_readable, r)) {
        fprintf(stderr, "mcx-ue: signalfd: %s\n", strerror(errno));
        goto out;
    }

    r->state = ST_REGISTERING;
    start_attempt(r, cfg->sip.expires);
    if (r->state != ST_DONE)
        re_main(NULL);
    code = r->exit_code;

out:
    forget(r);
    tmr_cancel(&r->tmr_refresh);
    tmr_cancel(&r->tmr_guard);
    r->req = mem_deref(r->req);
    if (r->sfd >= 0) {
        fd_close(r->sfd);
        close(r->sfd);
    }
    if (r->sip) {
        sip_close(r->sip, true);
        r->sip = mem_deref(r->sip);
    }
    libre_close();
    return code;
}

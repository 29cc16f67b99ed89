/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-dproxy routing callbacks on libfdcore. Threading: freeDiameter calls
 * the FWD callback on its Routing-IN thread and the OUT callback on its
 * Routing-OUT thread; both only read the immutable dproxy_options_t and the
 * message they are given, so they need no locks.
 *
 * Everything else an RFC 6733 agent does (Route-Record, Hop-by-Hop
 * replacement, 3005 loop detection, failover of pending requests, the
 * watchdog) is freeDiameter's own; see docs/dproxy.md.
 */
#include "dproxy-route.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cx/mcx-diameter-cx.h"

static struct fd_rt_out_hdl *out_hdl;
static struct fd_rt_fwd_hdl *fwd_hdl;

/* OUT callbacks run from the highest priority down; scores only add up, so
 * the order does not change the result. */
#define DPROXY_OUT_PRIORITY 5

int dproxy_route_ext_prepare(dproxy_config_t *cfg)
{
    dproxy_options_t *o = &cfg->dproxy;
    mcx_diam_config_t *d = &cfg->diameter;
    d->relay = true; /* an agent: forwards what is not for itself */

    bool any_stock = false;
    for (unsigned i = 0; i < o->n_routes; i++)
        any_stock |= o->routes[i].stock;
    if (any_stock) {
        if (d->n_ext >= MCX_DIAM_MAX_EXT - 1)
            return -E2BIG;
        char *text = dproxy_render_rt_default(o);
        if (!text)
            return -ENOMEM;
        mcx_diam_ext_t *e = &d->ext[d->n_ext++];
        mcx_strlcpy(e->path, "rt_default.fdx", sizeof(e->path));
        e->conf_text = text;
    }
    if (o->load_balance) {
        if (d->n_ext >= MCX_DIAM_MAX_EXT - 1)
            return -E2BIG;
        mcx_diam_ext_t *e = &d->ext[d->n_ext++];
        mcx_strlcpy(e->path, "rt_load_balance.fdx", sizeof(e->path));
        e->conf_text = NULL;
    }
    return 0;
}

void dproxy_route_ext_free(dproxy_config_t *cfg)
{
    for (unsigned i = 0; i < cfg->diameter.n_ext; i++) {
        free(cfg->diameter.ext[i].conf_text);
        cfg->diameter.ext[i].conf_text = NULL;
    }
    cfg->diameter.n_ext = 0;
}

/* The value of a top-level AVP, parsing it with the dictionary if needed. */
static const union avp_value *avp_val(struct avp *avp, struct avp_hdr *h)
{
    if (!h->avp_value && fd_msg_parse_dict(avp, fd_g_config->cnf_dict, NULL) != 0)
        return NULL;
    return h->avp_value;
}

/* A NUL-terminated copy of an OctetString-like value; NULL on ENOMEM. */
static char *os_dup(const union avp_value *v)
{
    char *s = malloc(v->os.len + 1);
    if (s) {
        memcpy(s, v->os.data, v->os.len);
        s[v->os.len] = '\0';
        /* An embedded NUL makes regexec see a prefix only; refuse to match on it. */
        if (memchr(s, '\0', v->os.len)) {
            free(s);
            return NULL;
        }
    }
    return s;
}

static void view_free(dproxy_msg_view_t *m)
{
    free((char *)m->dest_realm);
    free((char *)m->dest_host);
    free((char *)m->user_name);
    for (unsigned i = 0; i < m->n_public_identity; i++)
        free((char *)m->public_identity[i]);
    memset(m, 0, sizeof(*m));
}

/* Decode what routes look at: header app id and a few top-level AVPs. */
static int view_build(struct msg *msg, dproxy_msg_view_t *m)
{
    struct msg_hdr *mh;
    struct avp *avp;
    memset(m, 0, sizeof(*m));
    int rv = fd_msg_hdr(msg, &mh);
    if (rv)
        return rv;
    m->app_id = mh->msg_appl;
    rv = fd_msg_browse(msg, MSG_BRW_FIRST_CHILD, &avp, NULL);
    while (!rv && avp) {
        struct avp_hdr *h;
        if (fd_msg_avp_hdr(avp, &h) == 0) {
            const char **slot = NULL;
            if (!(h->avp_flags & AVP_FLAG_VENDOR)) {
                if (h->avp_code == MCX_AVP_DESTINATION_REALM && !m->dest_realm)
                    slot = &m->dest_realm;
                else if (h->avp_code == MCX_AVP_DESTINATION_HOST && !m->dest_host)
                    slot = &m->dest_host;
                else if (h->avp_code == MCX_AVP_USER_NAME && !m->user_name)
                    slot = &m->user_name;
            } else if (h->avp_vendor == MCX_3GPP_VENDOR_ID &&
                       h->avp_code == MCX_CX_AVP_PUBLIC_IDENTITY &&
                       m->n_public_identity < sizeof(m->public_identity) /
                                                  sizeof(m->public_identity[0])) {
                slot = &m->public_identity[m->n_public_identity];
            }
            if (slot) {
                const union avp_value *v = avp_val(avp, h);
                /* A malformed value is treated as absent: no route can match it. */
                if (v) {
                    *slot = os_dup(v);
                    if (*slot && slot == &m->public_identity[m->n_public_identity])
                        m->n_public_identity++;
                }
            }
        }
        rv = fd_msg_browse(avp, MSG_BRW_NEXT, &avp, NULL);
    }
    return 0;
}

static bool cand_is(const struct rtd_candidate *c, const char *id)
{
    return strlen(id) == c->diamidlen && !strncasecmp(c->diamid, id, c->diamidlen);
}

/*
 * Score routes rt_default cannot express (application, Public-Identity,
 * several criteria at once) and, in strict mode, keep away every peer that
 * no matching route names and that is not the Destination-Host.
 */
static int out_cb(void *cbdata, struct msg **pmsg, struct fd_list *candidates)
{
    const dproxy_options_t *o = cbdata;
    struct msg_hdr *mh;
    if (!*pmsg || fd_msg_hdr(*pmsg, &mh) || !(mh->msg_flags & CMD_FLAG_REQUEST))
        return 0;
    dproxy_msg_view_t m;
    int rv = view_build(*pmsg, &m);
    if (rv)
        return rv;

    for (struct fd_list *li = candidates->next; li != candidates; li = li->next) {
        struct rtd_candidate *c = (struct rtd_candidate *)li;
        bool eligible = m.dest_host && cand_is(c, m.dest_host);
        int add = 0;
        for (unsigned i = 0; i < o->n_routes; i++) {
            const dproxy_route_t *r = &o->routes[i];
            if (!cand_is(c, r->peer) || !dproxy_route_matches(r, &m))
                continue;
            eligible = true;
            if (!r->stock) /* rt_default scores the stock routes */
                add += (int)r->priority;
        }
        c->score += add;
        if (o->strict && !eligible)
            c->score += FD_SCORE_NO_DELIVERY;
        MCX_DEBUG("route: app %u realm %s pi %s: candidate %.*s score %d%s", m.app_id,
                  m.dest_realm ? m.dest_realm : "-",
                  m.n_public_identity ? m.public_identity[0] : "-", (int)c->diamidlen,
                  c->diamid, c->score, eligible ? "" : " (no route)");
    }
    view_free(&m);
    return 0;
}

/* RFC 6733 §6.1.6: a Destination-Host that is one of our open peers is delivered directly. */
static bool dest_host_is_open_peer(struct msg *msg)
{
    struct avp *avp;
    struct avp_hdr *h;
    if (fd_msg_search_avp(msg, mcx_diam_avp_destination_host, &avp) || !avp ||
        fd_msg_avp_hdr(avp, &h))
        return false;
    const union avp_value *v = avp_val(avp, h);
    if (!v)
        return false;
    struct peer_hdr *peer = NULL;
    if (fd_peer_getbyid((DiamId_t)v->os.data, v->os.len, 1, &peer) || !peer)
        return false;
    return fd_peer_get_state(peer) == STATE_OPEN;
}

/*
 * Forwarded requests only (freeDiameter already answered 3005 for loops and
 * handled requests for this node): answer 3003 when the Destination-Realm is
 * not one we route. We take ownership of the request by turning it into the
 * answer.
 */
static int fwd_cb(void *cbdata, struct msg **pmsg)
{
    const dproxy_options_t *o = cbdata;
    struct avp *avp;
    struct avp_hdr *h;
    if (!*pmsg)
        return 0;
    /* No Destination-Realm: freeDiameter has already answered such requests. */
    if (fd_msg_search_avp(*pmsg, mcx_diam_avp_destination_realm, &avp) || !avp ||
        fd_msg_avp_hdr(avp, &h))
        return 0;
    const union avp_value *v = avp_val(avp, h);
    if (!v || dproxy_realm_served(o, v->os.data, v->os.len) || dest_host_is_open_peer(*pmsg))
        return 0;

    char realm[MCX_DIAM_NAME_MAX];
    size_t n = v->os.len < sizeof(realm) - 1 ? v->os.len : sizeof(realm) - 1;
    memcpy(realm, v->os.data, n);
    realm[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)realm[i] < 0x20 || (unsigned char)realm[i] == 0x7f)
            realm[i] = '?';

    struct msg *ans = *pmsg;
    int rv = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, &ans, MSGFL_ANSW_ERROR);
    if (rv)
        return rv; /* freeDiameter logs and drops the request */
    *pmsg = NULL; /* the request now hangs off the answer */
    rv = fd_msg_rescode_set(ans, "DIAMETER_REALM_NOT_SERVED",
                            "Destination-Realm is not served by this proxy", NULL, 1);
    if (!rv)
        rv = fd_msg_send(&ans, NULL, NULL);
    if (rv) {
        MCX_WARN("route: cannot answer 3003 for realm %s: %s", realm, strerror(rv));
        if (ans)
            fd_msg_free(ans);
        return 0;
    }
    MCX_NOTICE("route: 3003 DIAMETER_REALM_NOT_SERVED for Destination-Realm %s", realm);
    return 0;
}

int dproxy_route_init(const dproxy_options_t *opt)
{
    int rv;
    for (unsigned i = 0; i < opt->n_advertise; i++) {
        /* Only "cx" passes dproxy_config_prepare. Kamailio's cdp only sends
         * Cx to a peer whose CEA lists the Cx application. */
        rv = fd_disp_app_support(mcx_cx_app, mcx_cx_vendor, 1, 0);
        if (rv) {
            MCX_ERR("route: cannot advertise %s: %s", opt->advertise[i], strerror(rv));
            return -rv;
        }
    }
    rv = fd_rt_out_register(out_cb, (void *)opt, DPROXY_OUT_PRIORITY, &out_hdl);
    if (!rv)
        rv = fd_rt_fwd_register(fwd_cb, (void *)opt, RT_FWD_REQ, &fwd_hdl);
    if (rv) {
        MCX_ERR("route: cannot register routing callbacks: %s", strerror(rv));
        if (out_hdl)
            fd_rt_out_unregister(out_hdl, NULL);
        out_hdl = NULL;
        return -rv;
    }
    return 0;
}

void dproxy_route_final(void)
{
    /* fd_core_wait_shutdown_complete() has already unregistered and freed
     * every routing callback; only forget the handles. */
    out_hdl = NULL;
    fwd_hdl = NULL;
}

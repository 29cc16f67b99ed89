/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * mcx-sipdb's freeDiameter glue: one dispatch callback per Cx command, each
 * decode -> decide -> encode, and the answer sent from the same callback.
 *
 * Threading: freeDiameter runs these callbacks on its AppServThreads
 * (diameter.threads), several at once. They share only the read-only config
 * and the store, which is thread-safe, and count with atomics. Nothing here
 * blocks on the network; the store is the only wait.
 */
#include "sipdb-fd-path.h"
#include "sipdb-decode.h"
#include "cx/mcx-diameter-cx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static struct disp_hdl *hdl_mar, *hdl_sar, *hdl_uar, *hdl_lir, *hdl_fallback;

static const char *session_of(struct msg *m, char *buf, size_t len)
{
    struct avp *sid;
    const union avp_value *v;
    buf[0] = '\0';
    if (mcx_diam_find(m, MCX_AVP_SESSION_ID, 0, &sid) == 0 && (v = mcx_diam_value(sid))) {
        size_t n = v->os.len < len - 1 ? v->os.len : len - 1;
        memcpy(buf, v->os.data, n);
        buf[n] = '\0';
    }
    return buf;
}

/* One line per refused request, at a level that says whose fault it is. */
static void log_outcome(sipdb_context_t *ctx, const char *cmd, struct msg *req,
                        const sipdb_outcome_t *o)
{
    if (o->result_code == MCX_DIAM_SUCCESS || (o->exp_result && o->exp_result < 3000))
        return;
    atomic_fetch_add(&ctx->stats.errors, 1);
    char sid[128];
    session_of(req, sid, sizeof(sid));
    bool malformed = o->result_code >= 5004 && o->result_code <= 5009;
    mcx_log(malformed ? MCX_LOG_WARN : MCX_LOG_NOTICE, "%s %s: %s %u: %s", cmd, sid,
            o->exp_result ? "Experimental-Result" : "Result-Code",
            o->exp_result ? o->exp_result : o->result_code, o->why);
}

/*
 * Turn *msg (the request) into the answer, let `fill` add the specific AVPs,
 * and hand it to freeDiameter to send. On an internal failure the request
 * is answered with 5012 by freeDiameter (we return an error).
 */
static int finish(struct msg **msg, enum disp_action *act, const sipdb_outcome_t *o,
                  int (*fill)(struct msg *ans, const void *a, const void *b), const void *a,
                  const void *b)
{
    int rv = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0);
    if (rv)
        return rv;
    rv = -sipdb_encode_outcome(*msg, o);
    if (!rv && fill)
        rv = -fill(*msg, a, b);
    if (rv)
        return rv;
    *act = DISP_ACT_SEND;
    return 0;
}

static int fill_maa(struct msg *ans, const void *req, const void *a)
{
    return sipdb_encode_maa(ans, req, a);
}

static int mar_cb(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                  enum disp_action *act)
{
    sipdb_context_t *ctx = opaque;
    atomic_fetch_add(&ctx->stats.mar, 1);
    sipdb_mar_req_t req;
    sipdb_mar_ans_t *ans = calloc(1, sizeof(*ans));
    memset(&req, 0, sizeof(req));
    if (!ans)
        return ENOMEM;
    if (sipdb_decode_mar(*msg, &req, &ans->out) == 0)
        sipdb_mar_decide(ctx, &req, ans);
    log_outcome(ctx, "MAR", *msg, &ans->out);
    int rv = finish(msg, act, &ans->out, fill_maa, &req, ans);
    /* CK, IK and XRES must not linger in freed memory. */
    explicit_bzero(ans, sizeof(*ans));
    free(ans);
    return rv;
}

static int fill_saa(struct msg *ans, const void *a, const void *unused)
{
    return sipdb_encode_saa(ans, a);
}

static int sar_cb(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                  enum disp_action *act)
{
    sipdb_context_t *ctx = opaque;
    atomic_fetch_add(&ctx->stats.sar, 1);
    sipdb_sar_req_t req;
    sipdb_sar_ans_t ans;
    memset(&req, 0, sizeof(req));
    memset(&ans, 0, sizeof(ans));
    if (sipdb_decode_sar(*msg, &req, &ans.out) == 0) {
        sipdb_sar_decide(ctx, &req, &ans);
        if (ans.out.result_code == MCX_DIAM_SUCCESS)
            MCX_INFO("SAR %s %s by %s", mcx_cx_sat_name(req.sat), ans.impi, req.server_name.s);
    }
    log_outcome(ctx, "SAR", *msg, &ans.out);
    int rv = finish(msg, act, &ans.out, fill_saa, &ans, NULL);
    free(ans.user_data);
    return rv;
}

static int fill_loc(struct msg *ans, const void *cfg, const void *a)
{
    return sipdb_encode_loc(ans, cfg, a);
}

static int uar_cb(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                  enum disp_action *act)
{
    sipdb_context_t *ctx = opaque;
    atomic_fetch_add(&ctx->stats.uar, 1);
    sipdb_uar_req_t req;
    sipdb_loc_ans_t ans;
    memset(&req, 0, sizeof(req));
    memset(&ans, 0, sizeof(ans));
    if (sipdb_decode_uar(*msg, &req, &ans.out) == 0)
        sipdb_uar_decide(ctx, &req, &ans);
    log_outcome(ctx, "UAR", *msg, &ans.out);
    return finish(msg, act, &ans.out, fill_loc, ctx->cfg, &ans);
}

static int lir_cb(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                  enum disp_action *act)
{
    sipdb_context_t *ctx = opaque;
    atomic_fetch_add(&ctx->stats.lir, 1);
    sipdb_lir_req_t req;
    sipdb_loc_ans_t ans;
    memset(&req, 0, sizeof(req));
    memset(&ans, 0, sizeof(ans));
    if (sipdb_decode_lir(*msg, &req, &ans.out) == 0)
        sipdb_lir_decide(ctx, &req, &ans);
    log_outcome(ctx, "LIR", *msg, &ans.out);
    return finish(msg, act, &ans.out, fill_loc, ctx->cfg, &ans);
}

/* Any other Cx command (RTR, PPR are ours to send, not to receive). */
static int fallback_cb(struct msg **msg, struct avp *avp, struct session *sess, void *opaque,
                       enum disp_action *act)
{
    sipdb_context_t *ctx = opaque;
    sipdb_outcome_t o;
    memset(&o, 0, sizeof(o));
    struct msg_hdr *h = NULL;
    fd_msg_hdr(*msg, &h);
    sipdb_fail(&o, MCX_DIAM_COMMAND_UNSUPPORTED, 0, "command %u is not served by a SIP database",
               h ? h->msg_code : 0);
    log_outcome(ctx, "Cx", *msg, &o);
    int rv = fd_msg_new_answer_from_req(fd_g_config->cnf_dict, msg, 0);
    if (rv)
        return rv;
    rv = fd_msg_rescode_set(*msg, "DIAMETER_COMMAND_UNSUPPORTED", o.why, NULL, 1);
    if (rv)
        return rv;
    *act = DISP_ACT_SEND;
    return 0;
}

int sipdb_fd_answer(sipdb_context_t *ctx, struct msg **msg)
{
    struct msg_hdr *h = NULL;
    enum disp_action act = DISP_ACT_CONT;
    int rv = fd_msg_hdr(*msg, &h);
    if (rv)
        return rv;
    switch (h->msg_code) {
    case MCX_CX_CMD_MAR:
        return mar_cb(msg, NULL, NULL, ctx, &act);
    case MCX_CX_CMD_SAR:
        return sar_cb(msg, NULL, NULL, ctx, &act);
    case MCX_CX_CMD_UAR:
        return uar_cb(msg, NULL, NULL, ctx, &act);
    case MCX_CX_CMD_LIR:
        return lir_cb(msg, NULL, NULL, ctx, &act);
    default:
        return fallback_cb(msg, NULL, NULL, ctx, &act);
    }
}

int sipdb_fd_init(sipdb_context_t *ctx)
{
    int rv = mcx_diam_init(&ctx->cfg->diameter);
    if (rv)
        return rv;
    rv = mcx_cx_dict_init();
    if (rv)
        return rv;

    struct {
        struct dict_object *cmd;
        int (*cb)(struct msg **, struct avp *, struct session *, void *, enum disp_action *);
        struct disp_hdl **hdl;
    } handlers[] = {
        {mcx_cx_cmd_mar, mar_cb, &hdl_mar},
        {mcx_cx_cmd_sar, sar_cb, &hdl_sar},
        {mcx_cx_cmd_uar, uar_cb, &hdl_uar},
        {mcx_cx_cmd_lir, lir_cb, &hdl_lir},
    };
    for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++) {
        struct disp_when when = {.app = mcx_cx_app, .command = handlers[i].cmd};
        rv = fd_disp_register(handlers[i].cb, DISP_HOW_CC, &when, ctx, handlers[i].hdl);
        if (rv) {
            MCX_ERR("cannot register a Cx handler: %s", strerror(rv));
            return -rv;
        }
    }
    struct disp_when app = {.app = mcx_cx_app};
    rv = fd_disp_register(fallback_cb, DISP_HOW_APPID, &app, ctx, &hdl_fallback);
    if (!rv)
        /* Advertised in CER/CEA as Vendor-Specific-Application-Id {10415, Cx}:
         * a Kamailio S-CSCF routes Cx only to such a peer. */
        rv = fd_disp_app_support(mcx_cx_app, mcx_cx_vendor, 1, 0);
    if (rv) {
        MCX_ERR("cannot announce the Cx application: %s", strerror(rv));
        return -rv;
    }
    return mcx_diam_start();
}

void sipdb_fd_final(void)
{
    /* Shutting the stack down stops its dispatch threads: after this no
     * callback runs, and the handlers go with the stack. */
    mcx_diam_final();
}

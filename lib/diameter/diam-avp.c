/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * AVP helpers over libfdproto: add typed AVPs, find children of messages
 * and grouped AVPs, result codes and Failed-AVP. No logging: callers log
 * once at their boundary.
 */
#include "mcx-diameter.h"

#include <errno.h>
#include <string.h>

static int add_value(msg_or_avp *parent, struct dict_object *model, union avp_value *val,
                     struct avp **out)
{
    struct avp *avp = NULL;
    int rv = fd_msg_avp_new(model, 0, &avp);
    if (rv)
        return -rv;
    if (val) {
        rv = fd_msg_avp_setvalue(avp, val);
        if (rv) {
            fd_msg_free((msg_or_avp *)avp);
            return -rv;
        }
    }
    rv = fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, avp);
    if (rv) {
        fd_msg_free((msg_or_avp *)avp);
        return -rv;
    }
    if (out)
        *out = avp;
    return 0;
}

int mcx_diam_add_u32(msg_or_avp *parent, struct dict_object *model, uint32_t v)
{
    union avp_value val = {.u32 = v};
    return add_value(parent, model, &val, NULL);
}

int mcx_diam_add_i32(msg_or_avp *parent, struct dict_object *model, int32_t v)
{
    union avp_value val = {.i32 = v};
    return add_value(parent, model, &val, NULL);
}

int mcx_diam_add_os(msg_or_avp *parent, struct dict_object *model, const uint8_t *data,
                    size_t len)
{
    union avp_value val;
    /* freeDiameter copies the octets in fd_msg_avp_setvalue. */
    val.os.data = (uint8_t *)(uintptr_t)data;
    val.os.len = len;
    return add_value(parent, model, &val, NULL);
}

int mcx_diam_add_str(msg_or_avp *parent, struct dict_object *model, const char *s)
{
    return mcx_diam_add_os(parent, model, (const uint8_t *)s, strlen(s));
}

int mcx_diam_add_grouped(msg_or_avp *parent, struct dict_object *model, struct avp **out)
{
    return add_value(parent, model, NULL, out);
}

int mcx_diam_find(msg_or_avp *parent, uint32_t code, uint32_t vendor, struct avp **out)
{
    msg_or_avp *it = NULL;
    if (fd_msg_browse(parent, MSG_BRW_FIRST_CHILD, &it, NULL))
        return -ENOENT;
    while (it) {
        struct avp_hdr *h = NULL;
        if (fd_msg_avp_hdr((struct avp *)it, &h) == 0 && h->avp_code == code &&
            ((h->avp_flags & AVP_FLAG_VENDOR) ? h->avp_vendor : 0) == vendor) {
            *out = (struct avp *)it;
            return 0;
        }
        if (fd_msg_browse(it, MSG_BRW_NEXT, &it, NULL))
            break;
    }
    return -ENOENT;
}

unsigned mcx_diam_count(msg_or_avp *parent, uint32_t code, uint32_t vendor)
{
    unsigned n = 0;
    msg_or_avp *it = NULL;
    if (fd_msg_browse(parent, MSG_BRW_FIRST_CHILD, &it, NULL))
        return 0;
    while (it) {
        struct avp_hdr *h = NULL;
        if (fd_msg_avp_hdr((struct avp *)it, &h) == 0 && h->avp_code == code &&
            ((h->avp_flags & AVP_FLAG_VENDOR) ? h->avp_vendor : 0) == vendor)
            n++;
        if (fd_msg_browse(it, MSG_BRW_NEXT, &it, NULL))
            break;
    }
    return n;
}

const union avp_value *mcx_diam_value(struct avp *avp)
{
    struct avp_hdr *h = NULL;
    if (!avp || fd_msg_avp_hdr(avp, &h) || !h)
        return NULL;
    return h->avp_value;
}

int mcx_diam_add_origin(struct msg *m)
{
    /* As fd_msg_add_origin(), which also works only once the stack has started. */
    int rv = mcx_diam_add_os(m, mcx_diam_avp_origin_host,
                             (const uint8_t *)fd_g_config->cnf_diamid,
                             fd_g_config->cnf_diamid_len);
    if (!rv)
        rv = mcx_diam_add_os(m, mcx_diam_avp_origin_realm,
                             (const uint8_t *)fd_g_config->cnf_diamrlm,
                             fd_g_config->cnf_diamrlm_len);
    return rv;
}

int mcx_diam_add_vsai(msg_or_avp *parent, uint32_t vendor, uint32_t auth_app)
{
    struct avp *g = NULL;
    int rv = mcx_diam_add_grouped(parent, mcx_diam_avp_vsai, &g);
    if (!rv)
        rv = mcx_diam_add_u32(g, mcx_diam_avp_vendor_id, vendor);
    if (!rv)
        rv = mcx_diam_add_u32(g, mcx_diam_avp_auth_application_id, auth_app);
    return rv;
}

int mcx_diam_add_exp_result(msg_or_avp *parent, uint32_t vendor, uint32_t code)
{
    struct avp *g = NULL;
    int rv = mcx_diam_add_grouped(parent, mcx_diam_avp_experimental_result, &g);
    if (!rv)
        rv = mcx_diam_add_u32(g, mcx_diam_avp_vendor_id, vendor);
    if (!rv)
        rv = mcx_diam_add_u32(g, mcx_diam_avp_experimental_result_code, code);
    return rv;
}

int mcx_diam_add_failed_avp(struct msg *ans, struct avp *offending, struct dict_object *model,
                            const union avp_value *example)
{
    struct avp *fa = NULL;
    int rv = mcx_diam_add_grouped(ans, mcx_diam_avp_failed_avp, &fa);
    if (rv)
        return rv;

    if (offending) {
        /* Copy by model and value: the AVP itself belongs to the request. */
        struct dict_object *m = NULL;
        struct avp_hdr *h = NULL;
        if (fd_msg_model(offending, &m) == 0 && m && fd_msg_avp_hdr(offending, &h) == 0 &&
            h->avp_value) {
            struct dict_avp_data d;
            if (fd_dict_getval(m, &d) == 0 && d.avp_basetype != AVP_TYPE_GROUPED)
                return add_value(fa, m, h->avp_value, NULL);
        }
        if (!m)
            return 0; /* unknown AVP: an empty Failed-AVP is the best we can say */
        model = m;
        example = NULL;
    }
    if (!model)
        return 0;

    struct dict_avp_data d;
    if (fd_dict_getval(model, &d))
        return -EINVAL;
    if (d.avp_basetype == AVP_TYPE_GROUPED)
        return add_value(fa, model, NULL, NULL);
    union avp_value zero;
    memset(&zero, 0, sizeof(zero));
    if (example)
        return add_value(fa, model, (union avp_value *)(uintptr_t)example, NULL);
    return add_value(fa, model, &zero, NULL);
}

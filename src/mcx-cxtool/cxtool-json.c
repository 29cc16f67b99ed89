/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * JSON <-> Diameter for mcx-cxtool: turn one JSON request line into a Cx
 * request (with deliberate omissions and empty values for negative tests),
 * and dump any message, AVP by AVP, as JSON that tests assert on.
 */
#include "cxtool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Request building                                                         */
/* ------------------------------------------------------------------------ */

typedef struct {
    json_t *omit;  /* array of AVP names, or NULL */
    json_t *empty; /* array of AVP names, or NULL */
    char *err;
    size_t errlen;
} build_ctx_t;

static bool name_listed(json_t *list, const char *name)
{
    size_t i;
    json_t *v;
    if (!list)
        return false;
    json_array_foreach(list, i, v) {
        if (json_is_string(v) && !strcasecmp(json_string_value(v), name))
            return true;
    }
    return false;
}

static const char *model_name(struct dict_object *model)
{
    struct dict_avp_data ad;
    if (!model || fd_dict_getval(model, &ad))
        return "?";
    return ad.avp_name;
}

/* Nonzero when the AVP is to be left out. */
static bool omitted(build_ctx_t *c, struct dict_object *model)
{
    return name_listed(c->omit, model_name(model));
}

/*
 * Add an AVP unless omitted. `data`/`len` for octet strings, `u` for
 * integers. Listed in `empty`: zero-length value (octet strings and grouped
 * only: freeDiameter cannot encode a zero-length integer).
 * *grp receives the grouped AVP (or NULL when omitted).
 */
static int add_avp(build_ctx_t *c, msg_or_avp *parent, struct dict_object *model,
                   const void *data, size_t len, int64_t u, struct avp **grp)
{
    struct dict_avp_data ad;
    if (grp)
        *grp = NULL;
    if (!model || fd_dict_getval(model, &ad)) {
        snprintf(c->err, c->errlen, "internal: dictionary object missing");
        return -EIO;
    }
    if (omitted(c, model))
        return 0;
    bool empty = name_listed(c->empty, ad.avp_name);
    struct avp *avp = NULL;
    int rv = fd_msg_avp_new(model, 0, &avp);
    if (rv)
        return -ENOMEM;
    union avp_value v;
    memset(&v, 0, sizeof(v));
    switch (ad.avp_basetype) {
    case AVP_TYPE_GROUPED:
        break;
    case AVP_TYPE_OCTETSTRING:
        v.os.data = (uint8_t *)(empty ? (const void *)"" : data);
        v.os.len = empty ? 0 : len;
        rv = fd_msg_avp_setvalue(avp, &v);
        break;
    case AVP_TYPE_INTEGER32:
        v.i32 = (int32_t)u;
        rv = empty ? -1 : fd_msg_avp_setvalue(avp, &v);
        break;
    case AVP_TYPE_UNSIGNED32:
        v.u32 = (uint32_t)u;
        rv = empty ? -1 : fd_msg_avp_setvalue(avp, &v);
        break;
    default:
        rv = -1;
        break;
    }
    if (rv) {
        fd_msg_free((struct msg *)avp);
        if (empty)
            snprintf(c->err, c->errlen,
                     "%s cannot be sent empty (integer AVP): use diamraw for that", ad.avp_name);
        else
            snprintf(c->err, c->errlen, "cannot set %s", ad.avp_name);
        return -EINVAL;
    }
    rv = fd_msg_avp_add(parent, MSG_BRW_LAST_CHILD, avp);
    if (rv) {
        fd_msg_free((struct msg *)avp);
        return -ENOMEM;
    }
    if (grp)
        *grp = avp;
    return 0;
}

static int add_str(build_ctx_t *c, msg_or_avp *parent, struct dict_object *model, const char *s)
{
    return add_avp(c, parent, model, s, strlen(s), 0, NULL);
}

static int add_num(build_ctx_t *c, msg_or_avp *parent, struct dict_object *model, int64_t v)
{
    return add_avp(c, parent, model, NULL, 0, v, NULL);
}

/* Fetch an optional string field; -EINVAL if present with another type. */
static int get_str(build_ctx_t *c, json_t *req, const char *key, const char **out)
{
    json_t *v = json_object_get(req, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        snprintf(c->err, c->errlen, "field %s: expected a string", key);
        return -EINVAL;
    }
    *out = json_string_value(v);
    return 0;
}

/* Fetch an optional integer field into *out (unchanged when absent). */
static int get_int(build_ctx_t *c, json_t *req, const char *key, int64_t min, int64_t max,
                   int64_t *out, bool *present)
{
    json_t *v = json_object_get(req, key);
    if (present)
        *present = false;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        snprintf(c->err, c->errlen, "field %s: expected an integer in %lld..%lld", key,
                 (long long)min, (long long)max);
        return -EINVAL;
    }
    *out = json_integer_value(v);
    if (present)
        *present = true;
    return 0;
}

static int add_public_identities(build_ctx_t *c, struct msg *m, json_t *req, bool many)
{
    json_t *v = json_object_get(req, "public_identity");
    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v))
        return add_str(c, m, mcx_cx_avp_public_identity, json_string_value(v));
    if (!json_is_array(v)) {
        snprintf(c->err, c->errlen, "field public_identity: expected a string or a list");
        return -EINVAL;
    }
    if (!many && json_array_size(v) > 1) {
        /* Still sent: a test may want to see the server reject repeated AVPs. */
    }
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e)) {
            snprintf(c->err, c->errlen, "field public_identity[%zu]: expected a string", i);
            return -EINVAL;
        }
        int rv = add_str(c, m, mcx_cx_avp_public_identity, json_string_value(e));
        if (rv)
            return rv;
    }
    return 0;
}

static const struct {
    const char *name;
    struct dict_object **cmd;
} cmd_table[] = {
    {"UAR", &mcx_cx_cmd_uar},
    {"SAR", &mcx_cx_cmd_sar},
    {"LIR", &mcx_cx_cmd_lir},
    {"MAR", &mcx_cx_cmd_mar},
};

static const char *const known_fields[] = {
    "cmd", "destination_realm", "destination_host", "user_name", "public_identity",
    "server_name", "scheme", "items", "authorization_hex", "server_assignment_type",
    "user_data_already_available", "visited_network_identifier", "user_authorization_type",
    "originating_request", "omit", "empty", "comment", NULL,
};

static int build_body(build_ctx_t *c, struct msg *m, const char *cmd, json_t *req,
                      const cxtool_config_t *cfg)
{
    int rv;
    const char *s;
    char server_name[MCX_DIAM_NAME_MAX + 16];

    if (cfg->cx.server_name[0])
        mcx_strlcpy(server_name, cfg->cx.server_name, sizeof(server_name));
    else
        snprintf(server_name, sizeof(server_name), "sip:scscf.%s", cfg->diam.realm);

    /* User-Name: MAR, SAR, UAR. */
    if (strcmp(cmd, "LIR")) {
        if ((rv = get_str(c, req, "user_name", &s)))
            return rv;
        if (s && (rv = add_str(c, m, mcx_diam_avp_user_name, s)))
            return rv;
    }
    if ((rv = add_public_identities(c, m, req, !strcmp(cmd, "SAR"))))
        return rv;

    if (!strcmp(cmd, "MAR")) {
        int64_t items = 1;
        const char *scheme = MCX_CX_SCHEME_AKAV1, *authz_hex = NULL;
        if ((rv = get_int(c, req, "items", 0, UINT32_MAX, &items, NULL)))
            return rv;
        if ((rv = get_str(c, req, "scheme", &s)))
            return rv;
        if (s)
            scheme = s;
        if ((rv = get_str(c, req, "authorization_hex", &authz_hex)))
            return rv;
        struct avp *item;
        if ((rv = add_avp(c, m, mcx_cx_avp_sip_auth_data_item, NULL, 0, 0, &item)))
            return rv;
        if (item) {
            if ((rv = add_str(c, item, mcx_cx_avp_sip_authentication_scheme, scheme)))
                return rv;
            if (authz_hex) {
                size_t hl = strlen(authz_hex);
                uint8_t *bin = malloc(hl / 2 + 1);
                if (!bin)
                    return -ENOMEM;
                if (hl % 2 || mcx_hex_decode(authz_hex, bin, hl / 2)) {
                    free(bin);
                    snprintf(c->err, c->errlen, "field authorization_hex: not hex");
                    return -EINVAL;
                }
                rv = add_avp(c, item, mcx_cx_avp_sip_authorization, bin, hl / 2, 0, NULL);
                free(bin);
                if (rv)
                    return rv;
            }
        }
        if ((rv = add_num(c, m, mcx_cx_avp_sip_number_auth_items, items)))
            return rv;
        if ((rv = get_str(c, req, "server_name", &s)))
            return rv;
        return add_str(c, m, mcx_cx_avp_server_name, s ? s : server_name);
    }
    if (!strcmp(cmd, "SAR")) {
        int64_t sat = MCX_SAT_REGISTRATION, udaa = 0;
        if ((rv = get_str(c, req, "server_name", &s)))
            return rv;
        if ((rv = add_str(c, m, mcx_cx_avp_server_name, s ? s : server_name)))
            return rv;
        if ((rv = get_int(c, req, "server_assignment_type", INT32_MIN, INT32_MAX, &sat, NULL)))
            return rv;
        if ((rv = add_num(c, m, mcx_cx_avp_server_assignment_type, sat)))
            return rv;
        if ((rv = get_int(c, req, "user_data_already_available", INT32_MIN, INT32_MAX, &udaa,
                          NULL)))
            return rv;
        return add_num(c, m, mcx_cx_avp_user_data_already_available, udaa);
    }
    if (!strcmp(cmd, "UAR")) {
        int64_t uat = 0;
        bool have_uat;
        if ((rv = get_str(c, req, "visited_network_identifier", &s)))
            return rv;
        if ((rv = add_str(c, m, mcx_cx_avp_visited_network_identifier, s ? s : cfg->diam.realm)))
            return rv;
        if ((rv = get_int(c, req, "user_authorization_type", INT32_MIN, INT32_MAX, &uat,
                          &have_uat)))
            return rv;
        if (have_uat)
            return add_num(c, m, mcx_cx_avp_user_authorization_type, uat);
        return 0;
    }
    /* LIR */
    int64_t v = 0;
    bool have;
    if ((rv = get_int(c, req, "originating_request", INT32_MIN, INT32_MAX, &v, &have)))
        return rv;
    if (have && (rv = add_num(c, m, mcx_cx_avp_originating_request, v)))
        return rv;
    if ((rv = get_int(c, req, "user_authorization_type", INT32_MIN, INT32_MAX, &v, &have)))
        return rv;
    if (have && (rv = add_num(c, m, mcx_cx_avp_user_authorization_type, v)))
        return rv;
    return 0;
}

int cxtool_request_build(json_t *req, const cxtool_config_t *cfg, struct msg **out,
                         const char **cmd_out, char *err, size_t errlen)
{
    build_ctx_t c = {.err = err, .errlen = errlen};
    struct msg *m = NULL;
    int rv;
    const char *s;

    *out = NULL;
    *cmd_out = "?";
    if (!json_is_object(req)) {
        snprintf(err, errlen, "a request must be a JSON object");
        return -EINVAL;
    }
    const char *key;
    json_t *val;
    json_object_foreach(req, key, val) {
        bool known = false;
        for (size_t i = 0; known_fields[i]; i++)
            known = known || !strcmp(known_fields[i], key);
        if (!known) {
            snprintf(err, errlen, "unknown field '%s'", key);
            return -EINVAL;
        }
    }
    json_t *jc = json_object_get(req, "cmd");
    struct dict_object *cmd_model = NULL;
    for (size_t i = 0; jc && json_is_string(jc) && i < sizeof(cmd_table) / sizeof(cmd_table[0]);
         i++) {
        if (!strcasecmp(json_string_value(jc), cmd_table[i].name)) {
            cmd_model = *cmd_table[i].cmd;
            *cmd_out = cmd_table[i].name;
        }
    }
    if (!cmd_model) {
        snprintf(err, errlen, "field cmd: expected one of MAR, SAR, UAR, LIR");
        return -EINVAL;
    }
    for (int k = 0; k < 2; k++) {
        json_t *l = json_object_get(req, k ? "empty" : "omit");
        if (l && !json_is_array(l)) {
            snprintf(err, errlen, "field %s: expected a list of AVP names", k ? "empty" : "omit");
            return -EINVAL;
        }
        if (k)
            c.empty = l;
        else
            c.omit = l;
    }

    if (fd_msg_new(cmd_model, MSGFL_ALLOC_ETEID, &m))
        return -ENOMEM;

    /* Session-Id first (fixed head). */
    if (!omitted(&c, mcx_diam_avp_session_id)) {
        static const char opt[] = "cxtool";
        if (name_listed(c.empty, "Session-Id"))
            rv = add_avp(&c, m, mcx_diam_avp_session_id, "", 0, 0, NULL);
        else
            rv = fd_msg_new_session(m, (os0_t)opt, sizeof(opt) - 1) ? -ENOMEM : 0;
        if (rv)
            goto fail;
    }
    struct avp *vsai;
    if ((rv = add_avp(&c, m, mcx_diam_avp_vsai, NULL, 0, 0, &vsai)))
        goto fail;
    if (vsai) {
        if ((rv = add_num(&c, vsai, mcx_diam_avp_vendor_id, MCX_3GPP_VENDOR_ID)) ||
            (rv = add_num(&c, vsai, mcx_diam_avp_auth_application_id, MCX_CX_APP_ID)))
            goto fail;
    }
    if ((rv = add_num(&c, m, mcx_diam_avp_auth_session_state, 1)))
        goto fail;
    if ((rv = add_str(&c, m, mcx_diam_avp_origin_host, cfg->diam.identity)) ||
        (rv = add_str(&c, m, mcx_diam_avp_origin_realm, cfg->diam.realm)))
        goto fail;

    if ((rv = get_str(&c, req, "destination_realm", &s)))
        goto fail;
    if (!s)
        s = cfg->cx.destination_realm[0] ? cfg->cx.destination_realm : cfg->diam.realm;
    if ((rv = add_str(&c, m, mcx_diam_avp_destination_realm, s)))
        goto fail;
    if ((rv = get_str(&c, req, "destination_host", &s)))
        goto fail;
    if (!s && cfg->cx.destination_host[0])
        s = cfg->cx.destination_host;
    if (s && (rv = add_str(&c, m, mcx_diam_avp_destination_host, s)))
        goto fail;

    if ((rv = build_body(&c, m, *cmd_out, req, cfg)))
        goto fail;
    *out = m;
    return 0;

fail:
    if (rv == -ENOMEM && !err[0])
        snprintf(err, errlen, "out of memory");
    fd_msg_free(m);
    return rv;
}

/* ------------------------------------------------------------------------ */
/* Dumping                                                                  */
/* ------------------------------------------------------------------------ */

const char *cxtool_cmd_name(uint32_t code, bool request, char *buf, size_t len)
{
    static const char *const names[][2] = {
        {"UAA", "UAR"}, {"SAA", "SAR"}, {"LIA", "LIR"}, {"MAA", "MAR"},
        {"RTA", "RTR"}, {"PPA", "PPR"},
    };
    if (code >= MCX_CX_CMD_UAR && code <= MCX_CX_CMD_PPR)
        return names[code - MCX_CX_CMD_UAR][request ? 1 : 0];
    switch (code) {
    case CC_CAPABILITIES_EXCHANGE:
        return request ? "CER" : "CEA";
    case CC_DEVICE_WATCHDOG:
        return request ? "DWR" : "DWA";
    default:
        snprintf(buf, len, "CMD-%u-%c", code, request ? 'R' : 'A');
        return buf;
    }
}

/* Printable text: no control characters other than CR, LF and TAB. */
static bool printable_text(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\r' && p[i] != '\t') || p[i] == 0x7f)
            return false;
    return true;
}

static json_t *hex_string(const uint8_t *p, size_t n)
{
    char *h = malloc(2 * n + 1);
    if (!h)
        return NULL;
    mcx_hex_encode(p, n, h);
    json_t *j = json_string(h);
    free(h);
    return j;
}

static bool textual_type(const char *tname)
{
    static const char *const text[] = {"UTF8String", "DiameterIdentity", "DiameterURI",
                                       "IPFilterRule", "QoSFilterRule", NULL};
    for (size_t i = 0; tname && text[i]; i++)
        if (!strcmp(tname, text[i]))
            return true;
    return false;
}

static json_t *dump_children(msg_or_avp *parent);

static void set_flags(json_t *o, uint8_t flags)
{
    char f[4];
    size_t n = 0;
    if (flags & AVP_FLAG_MANDATORY)
        f[n++] = 'M';
    if (flags & AVP_FLAG_VENDOR)
        f[n++] = 'V';
    if (flags & AVP_FLAG_RESERVED3)
        f[n++] = 'P';
    f[n] = '\0';
    json_object_set_new(o, "flags", json_string(f));
}

static json_t *dump_avp(struct avp *avp)
{
    struct avp_hdr *h;
    if (fd_msg_avp_hdr(avp, &h))
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    struct dict_object *model = NULL;
    struct dict_avp_data ad;
    bool known = fd_msg_model(avp, &model) == 0 && model && fd_dict_getval(model, &ad) == 0;
    json_object_set_new(o, "name", known ? json_string(ad.avp_name) : json_null());
    json_object_set_new(o, "code", json_integer(h->avp_code));
    json_object_set_new(o, "vendor", json_integer(h->avp_flags & AVP_FLAG_VENDOR ? h->avp_vendor : 0));
    set_flags(o, h->avp_flags);

    if (known && ad.avp_basetype == AVP_TYPE_GROUPED) {
        json_object_set_new(o, "avps", dump_children(avp));
        return o;
    }
    union avp_value *v = h->avp_value;
    if (!known || !v) {
        /* freeDiameter keeps no value for AVPs it could not decode. */
        json_object_set_new(o, "value", json_null());
        json_object_set_new(o, "length", json_integer(h->avp_len));
        return o;
    }
    struct dict_object *type = NULL;
    struct dict_type_data td;
    const char *tname = NULL;
    if (fd_dict_search(fd_g_config->cnf_dict, DICT_TYPE, TYPE_OF_AVP, model, &type, 0) == 0 &&
        type && fd_dict_getval(type, &td) == 0)
        tname = td.type_name;

    switch (ad.avp_basetype) {
    case AVP_TYPE_OCTETSTRING: {
        /* jansson validates UTF-8: NULL means "not valid UTF-8". */
        json_t *text = json_stringn((const char *)v->os.data, v->os.len);
        if (textual_type(tname) && text) {
            json_object_set_new(o, "value", text);
        } else {
            /* Binary material always as hex, so a test never depends on luck. */
            json_object_set_new(o, "hex", hex_string(v->os.data, v->os.len));
            if (text && printable_text(v->os.data, v->os.len))
                json_object_set_new(o, "value", text);
            else
                json_decref(text);
        }
        break;
    }
    case AVP_TYPE_INTEGER32:
        json_object_set_new(o, "value", json_integer(v->i32));
        if (type && tname && !strncmp(tname, "Enumerated", 10)) {
            struct dict_enumval_request er = {.type_obj = type};
            er.search.enum_value.i32 = v->i32;
            struct dict_object *ev = NULL;
            struct dict_enumval_data ed;
            if (fd_dict_search(fd_g_config->cnf_dict, DICT_ENUMVAL, ENUMVAL_BY_STRUCT, &er, &ev,
                               0) == 0 &&
                ev && fd_dict_getval(ev, &ed) == 0)
                json_object_set_new(o, "enum", json_string(ed.enum_name));
        }
        break;
    case AVP_TYPE_INTEGER64:
        json_object_set_new(o, "value", json_integer(v->i64));
        break;
    case AVP_TYPE_UNSIGNED32:
        json_object_set_new(o, "value", json_integer(v->u32));
        break;
    case AVP_TYPE_UNSIGNED64:
        json_object_set_new(o, "value", json_integer((json_int_t)v->u64));
        break;
    case AVP_TYPE_FLOAT32:
        json_object_set_new(o, "value", json_real(v->f32));
        break;
    case AVP_TYPE_FLOAT64:
        json_object_set_new(o, "value", json_real(v->f64));
        break;
    default:
        json_object_set_new(o, "value", json_null());
        break;
    }
    return o;
}

static json_t *dump_children(msg_or_avp *parent)
{
    json_t *arr = json_array();
    struct avp *a = NULL;
    if (!arr)
        return NULL;
    if (fd_msg_browse(parent, MSG_BRW_FIRST_CHILD, &a, NULL))
        return arr;
    while (a) {
        json_t *d = dump_avp(a);
        if (d)
            json_array_append_new(arr, d);
        if (fd_msg_browse(a, MSG_BRW_NEXT, &a, NULL))
            break;
    }
    return arr;
}

/* The first direct child (code, vendor) as an integer, or JSON null. */
static json_t *child_int(json_t *avps, uint32_t code, uint32_t vendor, json_t **group)
{
    size_t i;
    json_t *a;
    json_array_foreach(avps, i, a) {
        if (json_integer_value(json_object_get(a, "code")) == code &&
            json_integer_value(json_object_get(a, "vendor")) == vendor) {
            if (group) {
                *group = json_object_get(a, "avps");
                return NULL;
            }
            json_t *v = json_object_get(a, "value");
            return json_is_integer(v) ? json_incref(v) : json_null();
        }
    }
    return group ? NULL : json_null();
}

json_t *cxtool_msg_dump(struct msg *msg)
{
    struct msg_hdr *h;
    char buf[32];
    if (fd_msg_hdr(msg, &h))
        return NULL;
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_t *avps = dump_children(msg);
    json_object_set_new(o, "cmd",
                        json_string(cxtool_cmd_name(h->msg_code, h->msg_flags & CMD_FLAG_REQUEST,
                                                    buf, sizeof(buf))));
    if (!(h->msg_flags & CMD_FLAG_REQUEST)) {
        json_object_set_new(o, "result_code", child_int(avps, MCX_AVP_RESULT_CODE, 0, NULL));
        json_t *er = NULL;
        child_int(avps, MCX_AVP_EXPERIMENTAL_RESULT, 0, &er);
        json_object_set_new(o, "experimental_result_code",
                            er ? child_int(er, MCX_AVP_EXPERIMENTAL_RESULT_CODE, 0, NULL)
                               : json_null());
        json_object_set_new(o, "experimental_vendor",
                            er ? child_int(er, MCX_AVP_VENDOR_ID, 0, NULL) : json_null());
        json_object_set_new(o, "e_bit", json_boolean(h->msg_flags & CMD_FLAG_ERROR));
    }
    json_object_set_new(o, "avps", avps ? avps : json_array());
    return o;
}

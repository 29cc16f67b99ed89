/* SPDX-License-Identifier: AGPL-3.0-or-later */
/*
 * The Cx dictionary, from tables: AVPs (TS 29.229 §6.3 and the IETF Digest
 * AVPs inside SIP-Digest-Authenticate), commands and their rules. Command
 * rules are deliberately permissive (only the fixed head and Origin-*): our
 * decoders check presence themselves and answer 5005/5004 naming the AVP, and
 * strict rules would make freeDiameter drop answers silently (1.2.1).
 */
#include "mcx-diameter-cx.h"

#include <errno.h>
#include <string.h>

struct dict_object *mcx_cx_vendor, *mcx_cx_app;
struct dict_object *mcx_cx_cmd_uar, *mcx_cx_cmd_uaa, *mcx_cx_cmd_sar, *mcx_cx_cmd_saa,
    *mcx_cx_cmd_lir, *mcx_cx_cmd_lia, *mcx_cx_cmd_mar, *mcx_cx_cmd_maa;
struct dict_object *mcx_cx_avp_visited_network_identifier, *mcx_cx_avp_public_identity,
    *mcx_cx_avp_server_name, *mcx_cx_avp_server_capabilities,
    *mcx_cx_avp_mandatory_capability, *mcx_cx_avp_optional_capability, *mcx_cx_avp_user_data,
    *mcx_cx_avp_sip_number_auth_items, *mcx_cx_avp_sip_authentication_scheme,
    *mcx_cx_avp_sip_authenticate, *mcx_cx_avp_sip_authorization,
    *mcx_cx_avp_sip_authentication_context, *mcx_cx_avp_sip_auth_data_item,
    *mcx_cx_avp_sip_item_number, *mcx_cx_avp_server_assignment_type,
    *mcx_cx_avp_user_authorization_type, *mcx_cx_avp_user_data_already_available,
    *mcx_cx_avp_confidentiality_key, *mcx_cx_avp_integrity_key,
    *mcx_cx_avp_supported_features, *mcx_cx_avp_feature_list_id, *mcx_cx_avp_feature_list,
    *mcx_cx_avp_associated_identities, *mcx_cx_avp_originating_request,
    *mcx_cx_avp_wildcarded_public_identity, *mcx_cx_avp_sip_digest_authenticate,
    *mcx_cx_avp_uar_flags, *mcx_cx_avp_multiple_registration_indication,
    *mcx_cx_avp_session_priority, *mcx_cx_avp_deregistration_reason, *mcx_cx_avp_reason_code,
    *mcx_cx_avp_reason_info, *mcx_cx_avp_alternate_digest_algorithm,
    *mcx_cx_avp_alternate_digest_ha1, *mcx_avp_digest_realm, *mcx_avp_digest_qop,
    *mcx_avp_digest_algorithm, *mcx_avp_digest_ha1;

typedef enum { T_OS, T_UTF8, T_U32, T_ENUM, T_GROUPED } avp_kind_t;

typedef struct {
    uint32_t code;
    uint32_t vendor;
    const char *name;
    avp_kind_t kind;
    bool mandatory; /* M bit set (TS 29.229 Table 6.3.1) */
    struct dict_object **handle;
} avp_def_t;

#define V3 MCX_3GPP_VENDOR_ID

static const avp_def_t avp_defs[] = {
    {600, V3, "Visited-Network-Identifier", T_OS, true, &mcx_cx_avp_visited_network_identifier},
    {601, V3, "Public-Identity", T_UTF8, true, &mcx_cx_avp_public_identity},
    {602, V3, "Server-Name", T_UTF8, true, &mcx_cx_avp_server_name},
    {603, V3, "Server-Capabilities", T_GROUPED, true, &mcx_cx_avp_server_capabilities},
    {604, V3, "Mandatory-Capability", T_U32, true, &mcx_cx_avp_mandatory_capability},
    {605, V3, "Optional-Capability", T_U32, true, &mcx_cx_avp_optional_capability},
    {606, V3, "User-Data", T_OS, true, &mcx_cx_avp_user_data},
    {607, V3, "SIP-Number-Auth-Items", T_U32, true, &mcx_cx_avp_sip_number_auth_items},
    {608, V3, "SIP-Authentication-Scheme", T_UTF8, true,
     &mcx_cx_avp_sip_authentication_scheme},
    {609, V3, "SIP-Authenticate", T_OS, true, &mcx_cx_avp_sip_authenticate},
    {610, V3, "SIP-Authorization", T_OS, true, &mcx_cx_avp_sip_authorization},
    {611, V3, "SIP-Authentication-Context", T_OS, true,
     &mcx_cx_avp_sip_authentication_context},
    {612, V3, "SIP-Auth-Data-Item", T_GROUPED, true, &mcx_cx_avp_sip_auth_data_item},
    {613, V3, "SIP-Item-Number", T_U32, true, &mcx_cx_avp_sip_item_number},
    {614, V3, "Server-Assignment-Type", T_ENUM, true, &mcx_cx_avp_server_assignment_type},
    {615, V3, "Deregistration-Reason", T_GROUPED, true, &mcx_cx_avp_deregistration_reason},
    {616, V3, "Reason-Code", T_ENUM, true, &mcx_cx_avp_reason_code},
    {617, V3, "Reason-Info", T_UTF8, true, &mcx_cx_avp_reason_info},
    {623, V3, "User-Authorization-Type", T_ENUM, true, &mcx_cx_avp_user_authorization_type},
    {624, V3, "User-Data-Already-Available", T_ENUM, true,
     &mcx_cx_avp_user_data_already_available},
    {625, V3, "Confidentiality-Key", T_OS, true, &mcx_cx_avp_confidentiality_key},
    {626, V3, "Integrity-Key", T_OS, true, &mcx_cx_avp_integrity_key},
    {628, V3, "Supported-Features", T_GROUPED, false, &mcx_cx_avp_supported_features},
    {629, V3, "Feature-List-ID", T_U32, false, &mcx_cx_avp_feature_list_id},
    {630, V3, "Feature-List", T_U32, false, &mcx_cx_avp_feature_list},
    {632, V3, "Associated-Identities", T_GROUPED, false, &mcx_cx_avp_associated_identities},
    {633, V3, "Originating-Request", T_ENUM, true, &mcx_cx_avp_originating_request},
    {634, V3, "Wildcarded-Public-Identity", T_UTF8, false,
     &mcx_cx_avp_wildcarded_public_identity},
    {635, V3, "SIP-Digest-Authenticate", T_GROUPED, false,
     &mcx_cx_avp_sip_digest_authenticate},
    {637, V3, "UAR-Flags", T_U32, false, &mcx_cx_avp_uar_flags},
    {648, V3, "Multiple-Registration-Indication", T_ENUM, false,
     &mcx_cx_avp_multiple_registration_indication},
    {650, V3, "Session-Priority", T_ENUM, false, &mcx_cx_avp_session_priority},
    /* RFC 8760 algorithms (TS 29.229 §6.3.63, §6.3.64); not in freeDiameter 1.2.1. */
    {662, V3, "Alternate-Digest-Algorithm", T_UTF8, false,
     &mcx_cx_avp_alternate_digest_algorithm},
    {663, V3, "Alternate-Digest-HA1", T_UTF8, false, &mcx_cx_avp_alternate_digest_ha1},
    /* IETF AVPs (vendor 0) as Kamailio and TS 29.229 §6.3.36 use them. */
    {104, 0, "Digest-Realm", T_UTF8, true, &mcx_avp_digest_realm},
    {110, 0, "Digest-QoP", T_UTF8, true, &mcx_avp_digest_qop},
    {111, 0, "Digest-Algorithm", T_UTF8, true, &mcx_avp_digest_algorithm},
    {121, 0, "Digest-HA1", T_UTF8, true, &mcx_avp_digest_ha1},
};

typedef struct {
    uint32_t code;
    const char *name;
    bool request;
    struct dict_object **handle;
} cmd_def_t;

static const cmd_def_t cmd_defs[] = {
    {300, "Cx-User-Authorization-Request", true, &mcx_cx_cmd_uar},
    {300, "Cx-User-Authorization-Answer", false, &mcx_cx_cmd_uaa},
    {301, "Cx-Server-Assignment-Request", true, &mcx_cx_cmd_sar},
    {301, "Cx-Server-Assignment-Answer", false, &mcx_cx_cmd_saa},
    {302, "Cx-Location-Info-Request", true, &mcx_cx_cmd_lir},
    {302, "Cx-Location-Info-Answer", false, &mcx_cx_cmd_lia},
    {303, "Cx-Multimedia-Auth-Request", true, &mcx_cx_cmd_mar},
    {303, "Cx-Multimedia-Auth-Answer", false, &mcx_cx_cmd_maa},
};

static const char *const sat_names[] = {
    "NO_ASSIGNMENT",
    "REGISTRATION",
    "RE_REGISTRATION",
    "UNREGISTERED_USER",
    "TIMEOUT_DEREGISTRATION",
    "USER_DEREGISTRATION",
    "TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME",
    "USER_DEREGISTRATION_STORE_SERVER_NAME",
    "ADMINISTRATIVE_DEREGISTRATION",
    "AUTHENTICATION_FAILURE",
    "AUTHENTICATION_TIMEOUT",
    "DEREGISTRATION_TOO_MUCH_DATA",
    "AAA_USER_DATA_REQUEST",
    "PGW_UPDATE",
    "RESTORATION",
};

const char *mcx_cx_sat_name(int32_t sat)
{
    if (sat < 0 || sat > MCX_SAT_MAX)
        return "?";
    return sat_names[sat];
}

static int define_enum_type(struct dictionary *dict, const char *avp_name,
                            struct dict_object **out)
{
    char tname[128];
    snprintf(tname, sizeof(tname), "Enumerated(3GPP/%s)", avp_name);
    if (fd_dict_search(dict, DICT_TYPE, TYPE_BY_NAME, tname, out, ENOENT) == 0)
        return 0;
    struct dict_type_data td = {.type_base = AVP_TYPE_INTEGER32, .type_name = tname};
    int rv = fd_dict_new(dict, DICT_TYPE, &td, NULL, out);
    if (rv)
        return rv;
    /* Names for readable dumps of the values we use most. */
    if (!strcmp(avp_name, "Server-Assignment-Type")) {
        for (int i = 0; i <= MCX_SAT_MAX; i++) {
            struct dict_enumval_data ev = {.enum_name = (char *)sat_names[i],
                                           .enum_value = {.i32 = i}};
            rv = fd_dict_new(dict, DICT_ENUMVAL, &ev, *out, NULL);
            if (rv && rv != EEXIST)
                return rv;
        }
    }
    return 0;
}

static int define_avp(struct dictionary *dict, const avp_def_t *d, struct dict_object *utf8)
{
    struct dict_avp_request req = {.avp_vendor = d->vendor, .avp_code = d->code};
    if (fd_dict_search(dict, DICT_AVP, AVP_BY_CODE_AND_VENDOR, &req, d->handle, ENOENT) == 0)
        return 0; /* already there (base dictionary or an extension) */

    struct dict_avp_data ad = {
        .avp_code = d->code,
        .avp_vendor = d->vendor,
        .avp_name = (char *)d->name,
        .avp_flag_mask = AVP_FLAG_VENDOR | AVP_FLAG_MANDATORY,
        .avp_flag_val = (d->vendor ? AVP_FLAG_VENDOR : 0) | (d->mandatory ? AVP_FLAG_MANDATORY : 0),
    };
    struct dict_object *type = NULL;
    switch (d->kind) {
    case T_OS:
        ad.avp_basetype = AVP_TYPE_OCTETSTRING;
        break;
    case T_UTF8:
        ad.avp_basetype = AVP_TYPE_OCTETSTRING;
        type = utf8;
        break;
    case T_U32:
        ad.avp_basetype = AVP_TYPE_UNSIGNED32;
        break;
    case T_ENUM: {
        ad.avp_basetype = AVP_TYPE_INTEGER32;
        int rv = define_enum_type(dict, d->name, &type);
        if (rv)
            return rv;
        break;
    }
    case T_GROUPED:
        ad.avp_basetype = AVP_TYPE_GROUPED;
        break;
    }
    return fd_dict_new(dict, DICT_AVP, &ad, type, d->handle);
}

static int add_rule(struct dictionary *dict, struct dict_object *parent, struct dict_object *avp,
                    enum rule_position pos, int order, int min, int max)
{
    struct dict_rule_data r = {.rule_avp = avp, .rule_position = pos, .rule_order = (unsigned)order,
                               .rule_min = min, .rule_max = max};
    int rv = fd_dict_new(dict, DICT_RULE, &r, parent, NULL);
    return rv == EEXIST ? 0 : rv;
}

int mcx_cx_dict_init(void)
{
    struct dictionary *dict = fd_g_config->cnf_dict;
    int rv;

    vendor_id_t vid = MCX_3GPP_VENDOR_ID;
    if (fd_dict_search(dict, DICT_VENDOR, VENDOR_BY_ID, &vid, &mcx_cx_vendor, ENOENT)) {
        struct dict_vendor_data vd = {MCX_3GPP_VENDOR_ID, "3GPP"};
        rv = fd_dict_new(dict, DICT_VENDOR, &vd, NULL, &mcx_cx_vendor);
        if (rv)
            goto fail;
    }
    application_id_t aid = MCX_CX_APP_ID;
    if (fd_dict_search(dict, DICT_APPLICATION, APPLICATION_BY_ID, &aid, &mcx_cx_app, ENOENT)) {
        struct dict_application_data ad = {MCX_CX_APP_ID, "3GPP Cx"};
        rv = fd_dict_new(dict, DICT_APPLICATION, &ad, mcx_cx_vendor, &mcx_cx_app);
        if (rv)
            goto fail;
    }

    struct dict_object *utf8 = NULL;
    rv = fd_dict_search(dict, DICT_TYPE, TYPE_BY_NAME, "UTF8String", &utf8, ENOENT);
    if (rv)
        goto fail;
    for (size_t i = 0; i < sizeof(avp_defs) / sizeof(avp_defs[0]); i++) {
        rv = define_avp(dict, &avp_defs[i], utf8);
        if (rv) {
            MCX_ERR("diameter: cannot define AVP %s: %s", avp_defs[i].name, strerror(rv));
            return -rv;
        }
    }

    for (size_t i = 0; i < sizeof(cmd_defs) / sizeof(cmd_defs[0]); i++) {
        const cmd_def_t *c = &cmd_defs[i];
        struct dict_cmd_data cd = {
            .cmd_code = c->code,
            .cmd_name = (char *)c->name,
            .cmd_flag_mask = CMD_FLAG_REQUEST | CMD_FLAG_PROXIABLE | (c->request ? CMD_FLAG_ERROR : 0),
            .cmd_flag_val = (c->request ? CMD_FLAG_REQUEST : 0) | CMD_FLAG_PROXIABLE,
        };
        rv = fd_dict_new(dict, DICT_COMMAND, &cd, mcx_cx_app, c->handle);
        if (rv) {
            MCX_ERR("diameter: cannot define command %s: %s", c->name, strerror(rv));
            return -rv;
        }
        rv = add_rule(dict, *c->handle, mcx_diam_avp_session_id, RULE_FIXED_HEAD, 1, -1, 1);
        if (!rv)
            rv = add_rule(dict, *c->handle, mcx_diam_avp_origin_host, RULE_REQUIRED, 0, -1, 1);
        if (!rv)
            rv = add_rule(dict, *c->handle, mcx_diam_avp_origin_realm, RULE_REQUIRED, 0, -1, 1);
        if (rv)
            goto fail;
    }

    /* Grouped AVPs: every member optional, so a decoder sees what came. */
    struct {
        struct dict_object **group;
        struct dict_object **members[12];
    } groups[] = {
        {&mcx_cx_avp_sip_auth_data_item,
         {&mcx_cx_avp_sip_item_number, &mcx_cx_avp_sip_authentication_scheme,
          &mcx_cx_avp_sip_authenticate, &mcx_cx_avp_sip_authorization,
          &mcx_cx_avp_sip_authentication_context, &mcx_cx_avp_confidentiality_key,
          &mcx_cx_avp_integrity_key, &mcx_cx_avp_sip_digest_authenticate, NULL}},
        {&mcx_cx_avp_sip_digest_authenticate,
         {&mcx_avp_digest_realm, &mcx_avp_digest_algorithm, &mcx_avp_digest_qop,
          &mcx_avp_digest_ha1, &mcx_cx_avp_alternate_digest_algorithm,
          &mcx_cx_avp_alternate_digest_ha1, NULL}},
        {&mcx_cx_avp_server_capabilities,
         {&mcx_cx_avp_mandatory_capability, &mcx_cx_avp_optional_capability,
          &mcx_cx_avp_server_name, NULL}},
        {&mcx_cx_avp_supported_features,
         {&mcx_diam_avp_vendor_id, &mcx_cx_avp_feature_list_id, &mcx_cx_avp_feature_list,
          NULL}},
        {&mcx_cx_avp_associated_identities, {&mcx_diam_avp_user_name, NULL}},
        {&mcx_cx_avp_deregistration_reason,
         {&mcx_cx_avp_reason_code, &mcx_cx_avp_reason_info, NULL}},
    };
    for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
        for (size_t m = 0; groups[g].members[m]; m++) {
            rv = add_rule(dict, *groups[g].group, *groups[g].members[m], RULE_OPTIONAL, 0, -1,
                          -1);
            if (rv)
                goto fail;
        }
    }
    return 0;

fail:
    MCX_ERR("diameter: cannot define the Cx dictionary: %s", strerror(rv));
    return -rv;
}
